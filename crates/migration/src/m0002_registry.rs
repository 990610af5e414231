//! The registry: the place tree (district down to dwelling), compounds' and
//! dwellings' particulars, people, owners and residents.
//!
//! Every place row carries its district code and the ids of its ancestors
//! (street, community, compound, building, entrance), so a scope check or a
//! per-level count is one indexed comparison, never a walk up the tree.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Place {
    Table,
    Id,
    Kind,
    ParentId,
    Code,
    Name,
    Initials,
    DistrictCode,
    StreetId,
    CommunityId,
    CompoundId,
    BuildingId,
    EntranceId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
#[allow(clippy::enum_variant_names)] // variants name the columns
enum Compound {
    Table,
    PlaceId,
    DistrictCode,
    CompoundType,
    TownArea,
    Address,
    LatitudeE6,
    LongitudeE6,
    OwnersCommittee,
    PropertyCompany,
}

#[derive(DeriveIden)]
enum Dwelling {
    Table,
    PlaceId,
    DistrictCode,
    CompoundId,
    AreaCentiM2,
    AreaSource,
}

#[derive(DeriveIden)]
pub enum Person {
    Table,
    Id,
    DistrictCode,
    Name,
    Phone,
    IdNumberCipher,
    IdNumberDigest,
    PartyMember,
    Employer,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DwellingOwner {
    Table,
    Id,
    DwellingId,
    DistrictCode,
    CompoundId,
    OwnerKind,
    PersonId,
    CompanyName,
    CreatedAt,
}

#[derive(DeriveIden)]
enum DwellingResident {
    Table,
    Id,
    DwellingId,
    DistrictCode,
    CompoundId,
    PersonId,
    Relation,
    CreatedAt,
}

fn place_fk(table: impl IntoIden, col: impl IntoIden, name: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, col)
        .to(Place::Table, Place::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Place::Table)
                .col(big_pk_auto(Place::Id))
                .col(string_len(Place::Kind, 16))
                .col(big_integer_null(Place::ParentId))
                .col(string_len_null(Place::Code, 12).unique_key())
                .col(string_len(Place::Name, 128))
                .col(string_len(Place::Initials, 64))
                .col(string_len_null(Place::DistrictCode, 6))
                .col(big_integer_null(Place::StreetId))
                .col(big_integer_null(Place::CommunityId))
                .col(big_integer_null(Place::CompoundId))
                .col(big_integer_null(Place::BuildingId))
                .col(big_integer_null(Place::EntranceId))
                .col(timestamp_with_time_zone(Place::CreatedAt))
                .col(timestamp_with_time_zone(Place::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_place_parent")
                        .from(Place::Table, Place::ParentId)
                        .to(Place::Table, Place::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            ("ix_place_parent", vec![Place::ParentId, Place::Kind]),
            (
                "ix_place_district_kind",
                vec![Place::DistrictCode, Place::Kind],
            ),
            ("ix_place_street", vec![Place::StreetId]),
            ("ix_place_community", vec![Place::CommunityId]),
            ("ix_place_compound", vec![Place::CompoundId]),
            ("ix_place_building", vec![Place::BuildingId]),
            ("ix_place_name", vec![Place::Name]),
            ("ix_place_initials", vec![Place::Initials]),
        ] {
            let mut index = Index::create();
            index.name(name).table(Place::Table);
            for col in cols {
                index.col(col);
            }
            m.create_index(index.to_owned()).await?;
        }

        m.create_table(
            Table::create()
                .table(Compound::Table)
                .col(big_integer(Compound::PlaceId).primary_key())
                .col(string_len(Compound::DistrictCode, 6))
                .col(string_len(Compound::CompoundType, 16))
                .col(string_len(Compound::TownArea, 8))
                .col(string_len(Compound::Address, 256))
                .col(integer_null(Compound::LatitudeE6))
                .col(integer_null(Compound::LongitudeE6))
                .col(string_len_null(Compound::OwnersCommittee, 128))
                .col(string_len_null(Compound::PropertyCompany, 128))
                .foreign_key(&mut place_fk(
                    Compound::Table,
                    Compound::PlaceId,
                    "fk_compound_place",
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Dwelling::Table)
                .col(big_integer(Dwelling::PlaceId).primary_key())
                .col(string_len(Dwelling::DistrictCode, 6))
                .col(big_integer(Dwelling::CompoundId))
                .col(big_integer(Dwelling::AreaCentiM2))
                .col(string_len(Dwelling::AreaSource, 16))
                .foreign_key(&mut place_fk(
                    Dwelling::Table,
                    Dwelling::PlaceId,
                    "fk_dwelling_place",
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_dwelling_compound")
                .table(Dwelling::Table)
                .col(Dwelling::CompoundId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Person::Table)
                .col(big_pk_auto(Person::Id))
                .col(string_len_null(Person::DistrictCode, 6))
                .col(string_len(Person::Name, 64))
                .col(string_len_null(Person::Phone, 20))
                .col(text_null(Person::IdNumberCipher))
                .col(string_len_null(Person::IdNumberDigest, 64).unique_key())
                .col(boolean(Person::PartyMember).default(false))
                .col(string_len_null(Person::Employer, 128))
                .col(timestamp_with_time_zone(Person::CreatedAt))
                .col(timestamp_with_time_zone(Person::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_person_district_name")
                .table(Person::Table)
                .col(Person::DistrictCode)
                .col(Person::Name)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_person_phone")
                .table(Person::Table)
                .col(Person::Phone)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(DwellingOwner::Table)
                .col(big_pk_auto(DwellingOwner::Id))
                .col(big_integer(DwellingOwner::DwellingId))
                .col(string_len(DwellingOwner::DistrictCode, 6))
                .col(big_integer(DwellingOwner::CompoundId))
                .col(string_len(DwellingOwner::OwnerKind, 16))
                .col(big_integer_null(DwellingOwner::PersonId))
                .col(string_len_null(DwellingOwner::CompanyName, 128))
                .col(timestamp_with_time_zone(DwellingOwner::CreatedAt))
                .foreign_key(&mut place_fk(
                    DwellingOwner::Table,
                    DwellingOwner::DwellingId,
                    "fk_owner_dwelling",
                ))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_owner_person")
                        .from(DwellingOwner::Table, DwellingOwner::PersonId)
                        .to(Person::Table, Person::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("ix_owner_dwelling", DwellingOwner::DwellingId),
            ("ix_owner_person", DwellingOwner::PersonId),
            ("ix_owner_compound", DwellingOwner::CompoundId),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table(DwellingOwner::Table)
                    .col(col)
                    .to_owned(),
            )
            .await?;
        }

        m.create_table(
            Table::create()
                .table(DwellingResident::Table)
                .col(big_pk_auto(DwellingResident::Id))
                .col(big_integer(DwellingResident::DwellingId))
                .col(string_len(DwellingResident::DistrictCode, 6))
                .col(big_integer(DwellingResident::CompoundId))
                .col(big_integer(DwellingResident::PersonId))
                .col(string_len(DwellingResident::Relation, 16))
                .col(timestamp_with_time_zone(DwellingResident::CreatedAt))
                .foreign_key(&mut place_fk(
                    DwellingResident::Table,
                    DwellingResident::DwellingId,
                    "fk_resident_dwelling",
                ))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_resident_person")
                        .from(DwellingResident::Table, DwellingResident::PersonId)
                        .to(Person::Table, Person::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("ix_resident_dwelling", DwellingResident::DwellingId),
            ("ix_resident_person", DwellingResident::PersonId),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table(DwellingResident::Table)
                    .col(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            DwellingResident::Table.into_iden(),
            DwellingOwner::Table.into_iden(),
            Person::Table.into_iden(),
            Dwelling::Table.into_iden(),
            Compound::Table.into_iden(),
            Place::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
