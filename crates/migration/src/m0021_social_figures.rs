//! The figures of social services at district scale
//! (`crates/social_services/benches/figures.rs`): each session keeps how
//! many were checked in and the count and sum of its feedback scores,
//! kept under the session's row lock like `registered`, so the figures of
//! a district read its sessions alone, from one covering index, instead
//! of joining half a million registrations. Existing rows are counted
//! once here. Sessions are also found by street, compound and
//! organisation from an index.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ServiceSession {
    Table,
    DistrictCode,
    StreetId,
    CompoundId,
    OrgId,
    StartsAt,
    EndsAt,
    State,
    Attended,
    FeedbackCount,
    FeedbackSum,
}

const INDEXES: [&str; 4] = [
    "ix_service_session_figures",
    "ix_service_session_street_end",
    "ix_service_session_compound_end",
    "ix_service_session_org_start",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one change at a time.
        for col in [
            ServiceSession::Attended,
            ServiceSession::FeedbackCount,
            ServiceSession::FeedbackSum,
        ] {
            m.alter_table(
                Table::alter()
                    .table(ServiceSession::Table)
                    .add_column(integer(col).default(0))
                    .to_owned(),
            )
            .await?;
        }
        m.get_connection()
            .execute_unprepared(
                "UPDATE service_session SET
                   attended = (SELECT COUNT(*) FROM session_registration r
                     WHERE r.session_id = service_session.id AND r.attended_at IS NOT NULL),
                   feedback_count = (SELECT COUNT(*) FROM session_feedback f
                     WHERE f.session_id = service_session.id),
                   feedback_sum = (SELECT COALESCE(SUM(f.score), 0) FROM session_feedback f
                     WHERE f.session_id = service_session.id)",
            )
            .await?;
        let indexes = [
            // A district's (or city's) held sessions, read from the index alone.
            Index::create()
                .name(INDEXES[0])
                .table(ServiceSession::Table)
                .col(ServiceSession::DistrictCode)
                .col(ServiceSession::State)
                .col(ServiceSession::EndsAt)
                .col(ServiceSession::StreetId)
                .col(ServiceSession::OrgId)
                .col(ServiceSession::Attended)
                .col(ServiceSession::FeedbackCount)
                .col(ServiceSession::FeedbackSum)
                .to_owned(),
            Index::create()
                .name(INDEXES[1])
                .table(ServiceSession::Table)
                .col(ServiceSession::StreetId)
                .col(ServiceSession::EndsAt)
                .to_owned(),
            Index::create()
                .name(INDEXES[2])
                .table(ServiceSession::Table)
                .col(ServiceSession::CompoundId)
                .col(ServiceSession::EndsAt)
                .to_owned(),
            Index::create()
                .name(INDEXES[3])
                .table(ServiceSession::Table)
                .col(ServiceSession::OrgId)
                .col(ServiceSession::StartsAt)
                .to_owned(),
        ];
        for i in indexes {
            m.create_index(i).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for name in INDEXES {
            m.drop_index(
                Index::drop()
                    .name(name)
                    .table(ServiceSession::Table)
                    .to_owned(),
            )
            .await?;
        }
        for col in [
            ServiceSession::Attended,
            ServiceSession::FeedbackCount,
            ServiceSession::FeedbackSum,
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
