//! One integration test binary for the whole application (one link, many
//! tests). Each module covers one capability; `#[db_test]` tests run on
//! SQLite and on PostgreSQL.

mod support;

mod accounts;
mod agencies;
mod backup;
mod binary;
mod calendars;
mod client;
mod cockpit;
mod crash;
mod deliberation;
mod hardening;
mod import;
mod in_service;
mod jobs;
mod joint_meetings;
mod ledgers;
mod micro_grids;
mod mobilisation;
mod nodes;
mod open311;
mod organisations;
mod outage;
mod people;
mod personal_data;
mod pilots;
mod places;
mod privacy;
mod projects;
mod ratings;
mod registry_import;
mod replica;
mod resident_matters;
mod seed;
mod shell;
mod social_services;
mod uploads;
mod venues;
mod volunteers;
