//! Cohesion pilots (邻聚力工程): pilot compounds designated by streets, by type, with tracked indicators compared with the rest.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PilotCompound {
    Table,
    Id,
    DistrictCode,
    StreetId,
    CommunityId,
    CompoundId,
    PilotType,
    Note,
    DesignatedAt,
    DesignatedBy,
    EndedAt,
    EndedBy,
    EndReason,
}

#[derive(DeriveIden)]
enum PilotIndicator {
    Table,
    Id,
    DistrictCode,
    StreetId,
    Indicator,
    Position,
    UpdatedBy,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use PilotCompound as P;
        m.create_table(
            Table::create()
                .table(P::Table)
                .col(big_pk_auto(P::Id))
                .col(string_len(P::DistrictCode, 6))
                .col(big_integer(P::StreetId))
                .col(big_integer_null(P::CommunityId))
                .col(big_integer(P::CompoundId))
                .col(string_len(P::PilotType, 16))
                .col(string_len_null(P::Note, 500))
                .col(timestamp_with_time_zone(P::DesignatedAt))
                .col(big_integer_null(P::DesignatedBy))
                .col(timestamp_with_time_zone_null(P::EndedAt))
                .col(big_integer_null(P::EndedBy))
                .col(string_len_null(P::EndReason, 500))
                .to_owned(),
        )
        .await?;
        // One current designation per compound; ended ones stay as history.
        m.create_index(
            Index::create()
                .name("ux_pilot_compound_current")
                .table(P::Table)
                .col(P::CompoundId)
                .unique()
                .and_where(Expr::col(P::EndedAt).is_null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_pilot_compound_street")
                .table(P::Table)
                .col(P::StreetId)
                .col(P::EndedAt)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_pilot_compound_district")
                .table(P::Table)
                .col(P::DistrictCode)
                .col(P::EndedAt)
                .to_owned(),
        )
        .await?;

        use PilotIndicator as I;
        m.create_table(
            Table::create()
                .table(I::Table)
                .col(big_pk_auto(I::Id))
                .col(string_len(I::DistrictCode, 6))
                .col(big_integer(I::StreetId))
                .col(string_len(I::Indicator, 32))
                .col(integer(I::Position))
                .col(big_integer_null(I::UpdatedBy))
                .col(timestamp_with_time_zone(I::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_pilot_indicator")
                .table(I::Table)
                .col(I::StreetId)
                .col(I::Indicator)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_pilot_indicator_district")
                .table(I::Table)
                .col(I::DistrictCode)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            PilotIndicator::Table.into_iden(),
            PilotCompound::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
