//! PostgreSQL checks a foreign key with a query per inserted row: opening a
//! mobilisation of a district writes 400,000 households, and the check of
//! each household's unit took a quarter of the time. Households are written
//! only when the notice goes out, by the statement that inserts their units
//! and joins each household to one of them, and they never move or go, so
//! the check re-proves what that join already guarantees. SQLite's check is
//! a lookup inside the same write and costs little, and dropping it there
//! would mean rebuilding the table, so SQLite keeps it.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() == sea_orm_migration::sea_orm::DbBackend::Postgres {
            m.get_connection()
                .execute_unprepared(
                    "ALTER TABLE mobilisation_household \
                     DROP CONSTRAINT IF EXISTS fk_mobilisation_household_unit",
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() == sea_orm_migration::sea_orm::DbBackend::Postgres {
            m.get_connection()
                .execute_unprepared(
                    "ALTER TABLE mobilisation_household \
                     ADD CONSTRAINT fk_mobilisation_household_unit FOREIGN KEY (unit_id) \
                     REFERENCES mobilisation_unit (id) ON DELETE CASCADE",
                )
                .await?;
        }
        Ok(())
    }
}
