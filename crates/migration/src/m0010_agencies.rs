//! Agencies and their pairing with compounds: agencies, their members and
//! admin accounts, pairings with history, and two-way selection rounds with
//! both sides' preferences.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Agency {
    Table,
    Id,
    DistrictCode,
    Name,
    Category,
    PartyOrgName,
    Contact,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AgencyMember {
    Table,
    Id,
    AgencyId,
    DistrictCode,
    PersonId,
    AccountId,
    Name,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AgencyAccount {
    Table,
    Id,
    AgencyId,
    DistrictCode,
    AccountId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AgencyPairing {
    Table,
    Id,
    AgencyId,
    CompoundId,
    DistrictCode,
    StreetId,
    CommunityId,
    Route,
    RoundId,
    StartedAt,
    EndedAt,
    EndReason,
    CreatedBy,
    EndedBy,
}

#[derive(DeriveIden)]
enum SelectionRound {
    Table,
    Id,
    DistrictCode,
    ScopePlaceId,
    ScopeKind,
    Name,
    State,
    Report,
    CreatedBy,
    CreatedAt,
    SolvedAt,
}

#[derive(DeriveIden)]
enum RoundAgencyPreference {
    Table,
    Id,
    RoundId,
    DistrictCode,
    AgencyId,
    Capacity,
    Ranks,
    SubmittedBy,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RoundCompoundPreference {
    Table,
    Id,
    RoundId,
    DistrictCode,
    CompoundId,
    Ranks,
    Needs,
    SubmittedBy,
    UpdatedAt,
}

fn fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn index(
    name: &str,
    table: impl IntoIden,
    cols: &[&dyn Fn() -> DynIden],
    unique: bool,
) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(c());
    }
    if unique {
        i.unique();
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use Agency as A;
        m.create_table(
            Table::create()
                .table(A::Table)
                .col(big_pk_auto(A::Id))
                .col(string_len(A::DistrictCode, 6))
                .col(string_len(A::Name, 128))
                .col(string_len(A::Category, 32))
                .col(string_len(A::PartyOrgName, 128))
                .col(string_len_null(A::Contact, 128))
                .col(timestamp_with_time_zone(A::CreatedAt))
                .col(timestamp_with_time_zone(A::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ux_agency_name",
            A::Table,
            &[&|| A::DistrictCode.into_iden(), &|| A::Name.into_iden()],
            true,
        ))
        .await?;

        use AgencyMember as M;
        m.create_table(
            Table::create()
                .table(M::Table)
                .col(big_pk_auto(M::Id))
                .col(big_integer(M::AgencyId))
                .col(string_len(M::DistrictCode, 6))
                .col(big_integer_null(M::PersonId))
                .col(big_integer_null(M::AccountId))
                .col(string_len(M::Name, 64))
                .col(string_len(M::Role, 32))
                .col(timestamp_with_time_zone(M::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_agency_member_agency",
                    (M::Table, M::AgencyId),
                    (A::Table, A::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_agency_member_agency",
            M::Table,
            &[&|| M::AgencyId.into_iden()],
            false,
        ))
        .await?;

        use AgencyAccount as U;
        m.create_table(
            Table::create()
                .table(U::Table)
                .col(big_pk_auto(U::Id))
                .col(big_integer(U::AgencyId))
                .col(string_len(U::DistrictCode, 6))
                .col(big_integer(U::AccountId))
                .col(timestamp_with_time_zone(U::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_agency_account_agency",
                    (U::Table, U::AgencyId),
                    (A::Table, A::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ux_agency_account",
            U::Table,
            &[&|| U::AgencyId.into_iden(), &|| U::AccountId.into_iden()],
            true,
        ))
        .await?;
        // The principal's lookup: an account's agencies.
        m.create_index(index(
            "ix_agency_account_account",
            U::Table,
            &[&|| U::AccountId.into_iden()],
            false,
        ))
        .await?;

        use SelectionRound as R;
        m.create_table(
            Table::create()
                .table(R::Table)
                .col(big_pk_auto(R::Id))
                .col(string_len(R::DistrictCode, 6))
                .col(big_integer(R::ScopePlaceId))
                .col(string_len(R::ScopeKind, 16))
                .col(string_len(R::Name, 128))
                .col(string_len(R::State, 16))
                .col(text_null(R::Report))
                .col(big_integer_null(R::CreatedBy))
                .col(timestamp_with_time_zone(R::CreatedAt))
                .col(timestamp_with_time_zone_null(R::SolvedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_selection_round_scope",
            R::Table,
            &[&|| R::DistrictCode.into_iden(), &|| {
                R::ScopePlaceId.into_iden()
            }],
            false,
        ))
        .await?;

        use AgencyPairing as P;
        m.create_table(
            Table::create()
                .table(P::Table)
                .col(big_pk_auto(P::Id))
                .col(big_integer(P::AgencyId))
                .col(big_integer(P::CompoundId))
                .col(string_len(P::DistrictCode, 6))
                .col(big_integer_null(P::StreetId))
                .col(big_integer_null(P::CommunityId))
                .col(string_len(P::Route, 16))
                .col(big_integer_null(P::RoundId))
                .col(timestamp_with_time_zone(P::StartedAt))
                .col(timestamp_with_time_zone_null(P::EndedAt))
                .col(string_len_null(P::EndReason, 500))
                .col(big_integer_null(P::CreatedBy))
                .col(big_integer_null(P::EndedBy))
                .foreign_key(&mut fk(
                    "fk_agency_pairing_agency",
                    (P::Table, P::AgencyId),
                    (A::Table, A::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_agency_pairing_agency",
            P::Table,
            &[&|| P::AgencyId.into_iden(), &|| P::EndedAt.into_iden()],
            false,
        ))
        .await?;
        m.create_index(index(
            "ix_agency_pairing_compound",
            P::Table,
            &[&|| P::CompoundId.into_iden(), &|| P::EndedAt.into_iden()],
            false,
        ))
        .await?;
        m.create_index(index(
            "ix_agency_pairing_street",
            P::Table,
            &[&|| P::DistrictCode.into_iden(), &|| P::StreetId.into_iden()],
            false,
        ))
        .await?;

        use RoundAgencyPreference as AP;
        m.create_table(
            Table::create()
                .table(AP::Table)
                .col(big_pk_auto(AP::Id))
                .col(big_integer(AP::RoundId))
                .col(string_len(AP::DistrictCode, 6))
                .col(big_integer(AP::AgencyId))
                .col(integer(AP::Capacity))
                // JSON array of compound ids, most wanted first.
                .col(text(AP::Ranks))
                .col(big_integer_null(AP::SubmittedBy))
                .col(timestamp_with_time_zone(AP::UpdatedAt))
                .foreign_key(&mut fk(
                    "fk_round_agency_preference_round",
                    (AP::Table, AP::RoundId),
                    (R::Table, R::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ux_round_agency_preference",
            AP::Table,
            &[&|| AP::RoundId.into_iden(), &|| AP::AgencyId.into_iden()],
            true,
        ))
        .await?;

        use RoundCompoundPreference as CP;
        m.create_table(
            Table::create()
                .table(CP::Table)
                .col(big_pk_auto(CP::Id))
                .col(big_integer(CP::RoundId))
                .col(string_len(CP::DistrictCode, 6))
                .col(big_integer(CP::CompoundId))
                // JSON array of agency ids, most wanted first.
                .col(text(CP::Ranks))
                .col(text(CP::Needs))
                .col(big_integer_null(CP::SubmittedBy))
                .col(timestamp_with_time_zone(CP::UpdatedAt))
                .foreign_key(&mut fk(
                    "fk_round_compound_preference_round",
                    (CP::Table, CP::RoundId),
                    (R::Table, R::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ux_round_compound_preference",
            CP::Table,
            &[&|| CP::RoundId.into_iden(), &|| CP::CompoundId.into_iden()],
            true,
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            RoundCompoundPreference::Table.into_iden(),
            RoundAgencyPreference::Table.into_iden(),
            AgencyPairing::Table.into_iden(),
            SelectionRound::Table.into_iden(),
            AgencyAccount::Table.into_iden(),
            AgencyMember::Table.into_iden(),
            Agency::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
