//! Facts about this installation: when it was set up, which data sets it has
//! loaded (so `serve --demo` loads the demo only into an empty database).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum InstanceFact {
    Table,
    Name,
    Value,
    RecordedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(InstanceFact::Table)
                    .col(
                        ColumnDef::new(InstanceFact::Name)
                            .string_len(64)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(InstanceFact::Value).text().not_null())
                    .col(
                        ColumnDef::new(InstanceFact::RecordedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(InstanceFact::Table).to_owned())
            .await
    }
}
