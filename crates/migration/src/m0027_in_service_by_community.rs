//! A community's in-service figures (its cockpit, its workers' lists) read
//! `service_report` and `service_record` by `community_id`, which no index
//! led with: every community cockpit scanned both tables, ten statements of
//! 2–4 ms each on the Fuzhou seed, most of the cockpit's time.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ServiceReport {
    Table,
    CommunityId,
    State,
}

#[derive(DeriveIden)]
enum ServiceRecord {
    Table,
    CommunityId,
    State,
    Kind,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name("ix_service_report_community")
                .table(ServiceReport::Table)
                .col(ServiceReport::CommunityId)
                .col(ServiceReport::State)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_service_record_community")
                .table(ServiceRecord::Table)
                .col(ServiceRecord::CommunityId)
                .col(ServiceRecord::State)
                .col(ServiceRecord::Kind)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("ix_service_record_community")
                .table(ServiceRecord::Table)
                .to_owned(),
        )
        .await?;
        m.drop_index(
            Index::drop()
                .name("ix_service_report_community")
                .table(ServiceReport::Table)
                .to_owned(),
        )
        .await
    }
}
