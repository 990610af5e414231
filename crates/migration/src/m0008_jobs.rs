//! The durable job queue (deadlines, escalations, reminders, outbound
//! notifications) and the in-app notification inbox.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Job {
    Table,
    Id,
    Kind,
    Payload,
    RunAt,
    Attempts,
    MaxAttempts,
    LockedBy,
    LockedUntil,
    LastError,
    DoneAt,
    FailedAt,
    DedupeKey,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Notification {
    Table,
    Id,
    AccountId,
    Kind,
    Title,
    Body,
    Link,
    ReadAt,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Job::Table)
                .col(big_pk_auto(Job::Id))
                .col(string_len(Job::Kind, 100))
                .col(text(Job::Payload))
                .col(timestamp_with_time_zone(Job::RunAt))
                .col(integer(Job::Attempts).default(0))
                .col(integer(Job::MaxAttempts))
                .col(string_len_null(Job::LockedBy, 200))
                .col(timestamp_with_time_zone_null(Job::LockedUntil))
                .col(text_null(Job::LastError))
                .col(timestamp_with_time_zone_null(Job::DoneAt))
                .col(timestamp_with_time_zone_null(Job::FailedAt))
                .col(string_len_null(Job::DedupeKey, 300))
                .col(timestamp_with_time_zone(Job::CreatedAt))
                .to_owned(),
        )
        .await?;
        // Several NULL keys are allowed on both backends.
        m.create_index(
            Index::create()
                .name("job_dedupe_key")
                .table(Job::Table)
                .col(Job::DedupeKey)
                .unique()
                .to_owned(),
        )
        .await?;
        // The claim: open jobs by due time.
        m.create_index(
            Index::create()
                .name("job_open_run_at")
                .table(Job::Table)
                .col(Job::DoneAt)
                .col(Job::FailedAt)
                .col(Job::RunAt)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Notification::Table)
                .col(big_pk_auto(Notification::Id))
                .col(big_integer(Notification::AccountId))
                .col(string_len(Notification::Kind, 100))
                .col(string_len(Notification::Title, 300))
                .col(text(Notification::Body))
                .col(string_len_null(Notification::Link, 500))
                .col(timestamp_with_time_zone_null(Notification::ReadAt))
                .col(timestamp_with_time_zone(Notification::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("notification_account")
                        .from(Notification::Table, Notification::AccountId)
                        .to(Alias::new("account"), Alias::new("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("notification_account_id")
                .table(Notification::Table)
                .col(Notification::AccountId)
                .col(Notification::Id)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Notification::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Job::Table).to_owned())
            .await
    }
}
