//! The maintained figures are read by `kind` (a period's districts, and
//! how many of them are done after each district's job) and by
//! `district_code` (a district's streets and communities gone from the
//! tree), which no index led with: each such read scanned every figure
//! of the tree, once per district job (3,223 rows at city scale, about
//! 665,000 at national scale).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CockpitFigures {
    Table,
    Kind,
    ComputedAt,
    DistrictCode,
}

const BY_KIND: &str = "ix_cockpit_figures_kind_computed";
const BY_DISTRICT: &str = "ix_cockpit_figures_district_kind";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name(BY_KIND)
                .table(CockpitFigures::Table)
                .col(CockpitFigures::Kind)
                .col(CockpitFigures::ComputedAt)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name(BY_DISTRICT)
                .table(CockpitFigures::Table)
                .col(CockpitFigures::DistrictCode)
                .col(CockpitFigures::Kind)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for name in [BY_DISTRICT, BY_KIND] {
            m.drop_index(
                Index::drop()
                    .name(name)
                    .table(CockpitFigures::Table)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
