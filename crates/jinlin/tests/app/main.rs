//! One integration test binary for the whole application (one link, many
//! tests). Each module covers one capability; `#[db_test]` tests run on
//! SQLite and on PostgreSQL.

mod support;

mod accounts;
mod binary;
mod client;
mod import;
mod people;
mod places;
mod registry_import;
mod seed;
mod shell;
