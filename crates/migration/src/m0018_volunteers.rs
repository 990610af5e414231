//! Party-and-public volunteer teams with members and credited activity
//! hours, and patrol teams with shift rosters, sign-up, check-in and out,
//! and patrol logs.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum VolunteerTeam {
    Table,
    Id,
    DistrictCode,
    StreetId,
    CommunityId,
    CompoundId,
    PlaceId,
    Name,
    Kind,
    LeaderAccountId,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum VolunteerMember {
    Table,
    Id,
    TeamId,
    DistrictCode,
    AccountId,
    PersonId,
    Name,
    PartyMember,
    JoinedOn,
    LeftOn,
}

#[derive(DeriveIden)]
enum VolunteerActivity {
    Table,
    Id,
    TeamId,
    DistrictCode,
    HeldOn,
    Title,
    RecordedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum VolunteerActivityCredit {
    Table,
    Id,
    ActivityId,
    MemberId,
    DistrictCode,
    Minutes,
}

#[derive(DeriveIden)]
enum PatrolShift {
    Table,
    Id,
    TeamId,
    DistrictCode,
    StartsAt,
    EndsAt,
    Route,
    Slots,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PatrolSignup {
    Table,
    Id,
    ShiftId,
    MemberId,
    DistrictCode,
    SignedAt,
    CheckedInAt,
    CheckedOutAt,
    Minutes,
}

#[derive(DeriveIden)]
enum PatrolLog {
    Table,
    Id,
    ShiftId,
    MemberId,
    DistrictCode,
    At,
    Body,
    Incident,
    MatterId,
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
    cols: Vec<DynIden>,
    unique: bool,
) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(c);
    }
    if unique {
        i.unique();
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use VolunteerTeam as T;
        m.create_table(
            Table::create()
                .table(T::Table)
                .col(big_pk_auto(T::Id))
                .col(string_len(T::DistrictCode, 6))
                .col(big_integer_null(T::StreetId))
                .col(big_integer_null(T::CommunityId))
                .col(big_integer_null(T::CompoundId))
                .col(big_integer(T::PlaceId))
                .col(string_len(T::Name, 128))
                .col(string_len(T::Kind, 32))
                .col(big_integer_null(T::LeaderAccountId))
                .col(big_integer_null(T::CreatedBy))
                .col(timestamp_with_time_zone(T::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_volunteer_team_scope",
            T::Table,
            vec![
                T::DistrictCode.into_iden(),
                T::StreetId.into_iden(),
                T::CommunityId.into_iden(),
            ],
            false,
        ))
        .await?;
        m.create_index(index(
            "ix_volunteer_team_place",
            T::Table,
            vec![T::PlaceId.into_iden()],
            false,
        ))
        .await?;

        use VolunteerMember as M;
        m.create_table(
            Table::create()
                .table(M::Table)
                .col(big_pk_auto(M::Id))
                .col(big_integer(M::TeamId))
                .col(string_len(M::DistrictCode, 6))
                .col(big_integer_null(M::AccountId))
                .col(big_integer_null(M::PersonId))
                .col(string_len(M::Name, 64))
                .col(boolean(M::PartyMember))
                .col(date(M::JoinedOn))
                .col(date_null(M::LeftOn))
                .foreign_key(&mut fk(
                    "fk_volunteer_member_team",
                    (M::Table, M::TeamId),
                    (T::Table, T::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_volunteer_member_team",
            M::Table,
            vec![M::TeamId.into_iden()],
            false,
        ))
        .await?;
        // An account's teams ("my teams").
        m.create_index(index(
            "ix_volunteer_member_account",
            M::Table,
            vec![M::AccountId.into_iden()],
            false,
        ))
        .await?;

        use VolunteerActivity as A;
        m.create_table(
            Table::create()
                .table(A::Table)
                .col(big_pk_auto(A::Id))
                .col(big_integer(A::TeamId))
                .col(string_len(A::DistrictCode, 6))
                .col(date(A::HeldOn))
                .col(string_len(A::Title, 128))
                .col(big_integer_null(A::RecordedBy))
                .col(timestamp_with_time_zone(A::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_volunteer_activity_team",
                    (A::Table, A::TeamId),
                    (T::Table, T::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_volunteer_activity_team",
            A::Table,
            vec![A::TeamId.into_iden(), A::HeldOn.into_iden()],
            false,
        ))
        .await?;

        use VolunteerActivityCredit as C;
        m.create_table(
            Table::create()
                .table(C::Table)
                .col(big_pk_auto(C::Id))
                .col(big_integer(C::ActivityId))
                .col(big_integer(C::MemberId))
                .col(string_len(C::DistrictCode, 6))
                .col(integer(C::Minutes))
                .foreign_key(&mut fk(
                    "fk_volunteer_credit_activity",
                    (C::Table, C::ActivityId),
                    (A::Table, A::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_volunteer_credit_member",
                    (C::Table, C::MemberId),
                    (M::Table, M::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ux_volunteer_credit",
            C::Table,
            vec![C::ActivityId.into_iden(), C::MemberId.into_iden()],
            true,
        ))
        .await?;
        m.create_index(index(
            "ix_volunteer_credit_member",
            C::Table,
            vec![C::MemberId.into_iden()],
            false,
        ))
        .await?;

        use PatrolShift as S;
        m.create_table(
            Table::create()
                .table(S::Table)
                .col(big_pk_auto(S::Id))
                .col(big_integer(S::TeamId))
                .col(string_len(S::DistrictCode, 6))
                .col(timestamp_with_time_zone(S::StartsAt))
                .col(timestamp_with_time_zone(S::EndsAt))
                .col(string_len(S::Route, 500))
                .col(integer(S::Slots))
                .col(big_integer_null(S::CreatedBy))
                .col(timestamp_with_time_zone(S::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_patrol_shift_team",
                    (S::Table, S::TeamId),
                    (T::Table, T::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_patrol_shift_team",
            S::Table,
            vec![S::TeamId.into_iden(), S::StartsAt.into_iden()],
            false,
        ))
        .await?;

        use PatrolSignup as U;
        m.create_table(
            Table::create()
                .table(U::Table)
                .col(big_pk_auto(U::Id))
                .col(big_integer(U::ShiftId))
                .col(big_integer(U::MemberId))
                .col(string_len(U::DistrictCode, 6))
                .col(timestamp_with_time_zone(U::SignedAt))
                .col(timestamp_with_time_zone_null(U::CheckedInAt))
                .col(timestamp_with_time_zone_null(U::CheckedOutAt))
                .col(integer(U::Minutes))
                .foreign_key(&mut fk(
                    "fk_patrol_signup_shift",
                    (U::Table, U::ShiftId),
                    (S::Table, S::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_patrol_signup_member",
                    (U::Table, U::MemberId),
                    (M::Table, M::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ux_patrol_signup",
            U::Table,
            vec![U::ShiftId.into_iden(), U::MemberId.into_iden()],
            true,
        ))
        .await?;
        m.create_index(index(
            "ix_patrol_signup_member",
            U::Table,
            vec![U::MemberId.into_iden()],
            false,
        ))
        .await?;

        use PatrolLog as L;
        m.create_table(
            Table::create()
                .table(L::Table)
                .col(big_pk_auto(L::Id))
                .col(big_integer(L::ShiftId))
                .col(big_integer(L::MemberId))
                .col(string_len(L::DistrictCode, 6))
                .col(timestamp_with_time_zone(L::At))
                .col(string_len(L::Body, 2000))
                .col(boolean(L::Incident))
                // The residents' matter an incident was raised as.
                .col(big_integer_null(L::MatterId))
                .foreign_key(&mut fk(
                    "fk_patrol_log_shift",
                    (L::Table, L::ShiftId),
                    (S::Table, S::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_patrol_log_shift",
            L::Table,
            vec![L::ShiftId.into_iden()],
            false,
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            PatrolLog::Table.into_iden(),
            PatrolSignup::Table.into_iden(),
            PatrolShift::Table.into_iden(),
            VolunteerActivityCredit::Table.into_iden(),
            VolunteerActivity::Table.into_iden(),
            VolunteerMember::Table.into_iden(),
            VolunteerTeam::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
