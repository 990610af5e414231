//! The cockpit's maintained figures: each node's counts (district and above,
//! streets and communities) as the refresh job last computed them, so a
//! city's cockpit reads a handful of rows instead of every record of
//! 12,000 compounds; and one snapshot per node per day (China date), from
//! which the standing figures get their trends.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CockpitFigures {
    Table,
    PlaceId,
    ParentId,
    Kind,
    DistrictCode,
    Numbers,
    ComputedAt,
}

#[derive(DeriveIden)]
enum CockpitSnapshot {
    Table,
    Id,
    PlaceId,
    Day,
    Numbers,
    ComputedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(CockpitFigures::Table)
                .col(big_integer(CockpitFigures::PlaceId).primary_key())
                .col(big_integer_null(CockpitFigures::ParentId))
                .col(string_len(CockpitFigures::Kind, 16))
                .col(string_len_null(CockpitFigures::DistrictCode, 6))
                .col(text(CockpitFigures::Numbers))
                .col(timestamp_with_time_zone(CockpitFigures::ComputedAt))
                .to_owned(),
        )
        .await?;
        // A node's children are read by their parent.
        m.create_index(
            Index::create()
                .name("ix_cockpit_figures_parent")
                .table(CockpitFigures::Table)
                .col(CockpitFigures::ParentId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(CockpitSnapshot::Table)
                .col(big_pk_auto(CockpitSnapshot::Id))
                .col(big_integer(CockpitSnapshot::PlaceId))
                // China date, YYYY-MM-DD: text orders as the calendar does.
                .col(string_len(CockpitSnapshot::Day, 10))
                .col(text(CockpitSnapshot::Numbers))
                .col(timestamp_with_time_zone(CockpitSnapshot::ComputedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_cockpit_snapshot_place_day")
                .table(CockpitSnapshot::Table)
                .col(CockpitSnapshot::PlaceId)
                .col(CockpitSnapshot::Day)
                .unique()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(CockpitSnapshot::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(CockpitFigures::Table).to_owned())
            .await
    }
}
