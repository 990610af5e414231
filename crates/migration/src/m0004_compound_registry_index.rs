//! Lists a compound's dwellings in building, entrance and room order
//! straight from an index (the registry page, a page at a time), with no
//! sort of the compound's dwellings on every request.

use sea_orm_migration::prelude::*;

use crate::m0002_registry::Place;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEX: &str = "ix_place_compound_order";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name(INDEX)
                .table(Place::Table)
                .col(Place::CompoundId)
                .col(Place::Kind)
                .col(Place::BuildingId)
                .col(Place::EntranceId)
                .col(Place::Name)
                .col(Place::Id)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name(INDEX).table(Place::Table).to_owned())
            .await
    }
}
