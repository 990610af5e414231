//! A community's household reach (its cockpit, its mobilisations) counts
//! its dwellings by compound and building from `place`. With the index
//! on `community_id` alone every dwelling's row was fetched from the
//! table; an index led by the community and the kind that also holds the
//! compound, the building and the reach answers the count from the index
//! alone, and serves every other read of a community's places by kind.
//! It replaces `ix_place_community`, which it leads with.
//!
//! `reach` changes only when a dwelling's contact group, owners, residents
//! or their phones change (the triggers of m0029), so keeping it in an
//! index costs the writes little.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Place {
    Table,
    CommunityId,
    Kind,
    CompoundId,
    BuildingId,
    Reach,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name("ix_place_community_reach")
                .table(Place::Table)
                .col(Place::CommunityId)
                .col(Place::Kind)
                .col(Place::CompoundId)
                .col(Place::BuildingId)
                .col(Place::Reach)
                .to_owned(),
        )
        .await?;
        m.drop_index(
            Index::drop()
                .name("ix_place_community")
                .table(Place::Table)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name("ix_place_community")
                .table(Place::Table)
                .col(Place::CommunityId)
                .to_owned(),
        )
        .await?;
        m.drop_index(
            Index::drop()
                .name("ix_place_community_reach")
                .table(Place::Table)
                .to_owned(),
        )
        .await
    }
}
