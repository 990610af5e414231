//! Erasures of people's personal data (PIPL art. 47): one row per person
//! erased, saying who erased them, when and why. The unique person id makes
//! a second erasure of the same person fail inside its transaction, so two
//! officials erasing at once cannot both go through.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PersonErasure {
    Table,
    Id,
    PersonId,
    DistrictCode,
    ErasedBy,
    ErasedAt,
    Reason,
    /// JSON: how many rows of each kind were anonymised, disabled or ended.
    Summary,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use PersonErasure as E;
        m.create_table(
            Table::create()
                .table(E::Table)
                .col(big_pk_auto(E::Id))
                .col(big_integer(E::PersonId))
                .col(string_len_null(E::DistrictCode, 6))
                .col(big_integer(E::ErasedBy))
                .col(timestamp_with_time_zone(E::ErasedAt))
                .col(text(E::Reason))
                .col(text(E::Summary))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_person_erasure_person")
                .table(E::Table)
                .col(E::PersonId)
                .unique()
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(PersonErasure::Table).to_owned())
            .await
    }
}
