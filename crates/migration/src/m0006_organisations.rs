//! Compound party organisations with their members' cross-memberships,
//! owners' committees with their members, and property service contracts.
//!
//! Each table carries the district code and the compound id; `party_org`
//! also carries the street and community ids, so coverage per level is one
//! indexed comparison. One party organisation, one owners' committee and
//! one property contract per compound (the current ones).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Place {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Person {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum PartyOrg {
    Table,
    Id,
    DistrictCode,
    StreetId,
    CommunityId,
    CompoundId,
    ParentPlaceId,
    Kind,
    Name,
    FoundedOn,
    SecretaryPersonId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PartyOrgMember {
    Table,
    Id,
    OrgId,
    DistrictCode,
    CompoundId,
    PersonId,
    InOwnersCommittee,
    InPropertyCompany,
    OwnerRepresentative,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OwnersCommittee {
    Table,
    Id,
    DistrictCode,
    CompoundId,
    Name,
    TermStart,
    TermEnd,
    ElectedOn,
    ElectionRecord,
    ChairPersonId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OwnersCommitteeMember {
    Table,
    Id,
    CommitteeId,
    DistrictCode,
    PersonId,
    Position,
}

#[derive(DeriveIden)]
enum PropertyCompanyContract {
    Table,
    Id,
    DistrictCode,
    CompoundId,
    CompanyName,
    CreditCode,
    ContractStart,
    ContractEnd,
    FeeFenPerM2,
    CreatedAt,
    UpdatedAt,
}

fn fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(on_delete)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use ForeignKeyAction::{Cascade, Restrict, SetNull};
        m.create_table(
            Table::create()
                .table(PartyOrg::Table)
                .col(big_pk_auto(PartyOrg::Id))
                .col(string_len(PartyOrg::DistrictCode, 6))
                .col(big_integer_null(PartyOrg::StreetId))
                .col(big_integer_null(PartyOrg::CommunityId))
                .col(big_integer(PartyOrg::CompoundId).unique_key())
                .col(big_integer_null(PartyOrg::ParentPlaceId))
                .col(string_len(PartyOrg::Kind, 16))
                .col(string_len(PartyOrg::Name, 128))
                .col(date(PartyOrg::FoundedOn))
                .col(big_integer_null(PartyOrg::SecretaryPersonId))
                .col(timestamp_with_time_zone(PartyOrg::CreatedAt))
                .col(timestamp_with_time_zone(PartyOrg::UpdatedAt))
                .foreign_key(&mut fk(
                    "fk_party_org_compound",
                    (PartyOrg::Table, PartyOrg::CompoundId),
                    (Place::Table, Place::Id),
                    Cascade,
                ))
                .foreign_key(&mut fk(
                    "fk_party_org_secretary",
                    (PartyOrg::Table, PartyOrg::SecretaryPersonId),
                    (Person::Table, Person::Id),
                    SetNull,
                ))
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("ix_party_org_district", PartyOrg::DistrictCode),
            ("ix_party_org_street", PartyOrg::StreetId),
            ("ix_party_org_community", PartyOrg::CommunityId),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table(PartyOrg::Table)
                    .col(col)
                    .to_owned(),
            )
            .await?;
        }

        m.create_table(
            Table::create()
                .table(PartyOrgMember::Table)
                .col(big_pk_auto(PartyOrgMember::Id))
                .col(big_integer(PartyOrgMember::OrgId))
                .col(string_len(PartyOrgMember::DistrictCode, 6))
                .col(big_integer(PartyOrgMember::CompoundId))
                .col(big_integer(PartyOrgMember::PersonId))
                .col(boolean(PartyOrgMember::InOwnersCommittee).default(false))
                .col(boolean(PartyOrgMember::InPropertyCompany).default(false))
                .col(boolean(PartyOrgMember::OwnerRepresentative).default(false))
                .col(timestamp_with_time_zone(PartyOrgMember::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_party_org_member_org",
                    (PartyOrgMember::Table, PartyOrgMember::OrgId),
                    (PartyOrg::Table, PartyOrg::Id),
                    Cascade,
                ))
                .foreign_key(&mut fk(
                    "fk_party_org_member_person",
                    (PartyOrgMember::Table, PartyOrgMember::PersonId),
                    (Person::Table, Person::Id),
                    Restrict,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_party_org_member")
                .table(PartyOrgMember::Table)
                .col(PartyOrgMember::OrgId)
                .col(PartyOrgMember::PersonId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_party_org_member_person")
                .table(PartyOrgMember::Table)
                .col(PartyOrgMember::PersonId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(OwnersCommittee::Table)
                .col(big_pk_auto(OwnersCommittee::Id))
                .col(string_len(OwnersCommittee::DistrictCode, 6))
                .col(big_integer(OwnersCommittee::CompoundId).unique_key())
                .col(string_len(OwnersCommittee::Name, 128))
                .col(date(OwnersCommittee::TermStart))
                .col(date(OwnersCommittee::TermEnd))
                .col(date(OwnersCommittee::ElectedOn))
                .col(text(OwnersCommittee::ElectionRecord))
                .col(big_integer_null(OwnersCommittee::ChairPersonId))
                .col(timestamp_with_time_zone(OwnersCommittee::CreatedAt))
                .col(timestamp_with_time_zone(OwnersCommittee::UpdatedAt))
                .foreign_key(&mut fk(
                    "fk_owners_committee_compound",
                    (OwnersCommittee::Table, OwnersCommittee::CompoundId),
                    (Place::Table, Place::Id),
                    Cascade,
                ))
                .foreign_key(&mut fk(
                    "fk_owners_committee_chair",
                    (OwnersCommittee::Table, OwnersCommittee::ChairPersonId),
                    (Person::Table, Person::Id),
                    SetNull,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_owners_committee_district")
                .table(OwnersCommittee::Table)
                .col(OwnersCommittee::DistrictCode)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(OwnersCommitteeMember::Table)
                .col(big_pk_auto(OwnersCommitteeMember::Id))
                .col(big_integer(OwnersCommitteeMember::CommitteeId))
                .col(string_len(OwnersCommitteeMember::DistrictCode, 6))
                .col(big_integer(OwnersCommitteeMember::PersonId))
                .col(string_len(OwnersCommitteeMember::Position, 16))
                .foreign_key(&mut fk(
                    "fk_committee_member_committee",
                    (
                        OwnersCommitteeMember::Table,
                        OwnersCommitteeMember::CommitteeId,
                    ),
                    (OwnersCommittee::Table, OwnersCommittee::Id),
                    Cascade,
                ))
                .foreign_key(&mut fk(
                    "fk_committee_member_person",
                    (
                        OwnersCommitteeMember::Table,
                        OwnersCommitteeMember::PersonId,
                    ),
                    (Person::Table, Person::Id),
                    Restrict,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_committee_member")
                .table(OwnersCommitteeMember::Table)
                .col(OwnersCommitteeMember::CommitteeId)
                .col(OwnersCommitteeMember::PersonId)
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(PropertyCompanyContract::Table)
                .col(big_pk_auto(PropertyCompanyContract::Id))
                .col(string_len(PropertyCompanyContract::DistrictCode, 6))
                .col(big_integer(PropertyCompanyContract::CompoundId).unique_key())
                .col(string_len(PropertyCompanyContract::CompanyName, 128))
                .col(string_len(PropertyCompanyContract::CreditCode, 18))
                .col(date(PropertyCompanyContract::ContractStart))
                .col(date(PropertyCompanyContract::ContractEnd))
                .col(big_integer(PropertyCompanyContract::FeeFenPerM2))
                .col(timestamp_with_time_zone(PropertyCompanyContract::CreatedAt))
                .col(timestamp_with_time_zone(PropertyCompanyContract::UpdatedAt))
                .foreign_key(&mut fk(
                    "fk_property_contract_compound",
                    (
                        PropertyCompanyContract::Table,
                        PropertyCompanyContract::CompoundId,
                    ),
                    (Place::Table, Place::Id),
                    Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_property_contract_district")
                .table(PropertyCompanyContract::Table)
                .col(PropertyCompanyContract::DistrictCode)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            PropertyCompanyContract::Table.into_iden(),
            OwnersCommitteeMember::Table.into_iden(),
            OwnersCommittee::Table.into_iden(),
            PartyOrgMember::Table.into_iden(),
            PartyOrg::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
