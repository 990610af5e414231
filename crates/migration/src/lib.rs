//! The one migration source. Every migration runs unchanged on SQLite and
//! PostgreSQL, so schema code sticks to the subset both share: integer ids,
//! UTC timestamps, text (JSON as text), integers for money and areas.

pub use sea_orm_migration::prelude::*;

mod m0001_instance;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m0001_instance::Migration)]
    }
}
