//! A social service session cancelled by its organisation or the
//! community keeps why, when and by whom (shown to its registrants).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ServiceSession {
    Table,
    CancelReason,
    CancelledAt,
    CancelledBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one change at a time.
        for col in [
            string_len_null(ServiceSession::CancelReason, 500),
            timestamp_with_time_zone_null(ServiceSession::CancelledAt),
            big_integer_null(ServiceSession::CancelledBy),
        ] {
            let mut col = col;
            m.alter_table(
                Table::alter()
                    .table(ServiceSession::Table)
                    .add_column(&mut col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            ServiceSession::CancelReason,
            ServiceSession::CancelledAt,
            ServiceSession::CancelledBy,
        ] {
            m.alter_table(
                Table::alter()
                    .table(ServiceSession::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
