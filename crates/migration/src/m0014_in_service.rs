//! In-service party members: dual reporting to the residence and the paired
//! compound, the three ones, and service records with points.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ServiceReport {
    Table,
    Id,
    DistrictCode,
    StreetId,
    CommunityId,
    CompoundId,
    AccountId,
    PersonId,
    Kind,
    AgencyId,
    State,
    Reason,
    SubmittedAt,
    DecidedAt,
    DecidedBy,
    WithdrawnAt,
}

#[derive(DeriveIden)]
enum ThreeOnes {
    Table,
    Id,
    DistrictCode,
    StreetId,
    CommunityId,
    CompoundId,
    AccountId,
    PersonId,
    ReportId,
    Kind,
    TeamName,
    TeamId,
    EntranceId,
    Zone,
    CreatedAt,
    ReleasedAt,
    ReleasedBy,
}

#[derive(DeriveIden)]
enum ServiceRecord {
    Table,
    Id,
    DistrictCode,
    StreetId,
    CommunityId,
    CompoundId,
    AccountId,
    PersonId,
    ServedOn,
    Kind,
    Activity,
    HalfHours,
    MatterId,
    State,
    Reason,
    PointsX2,
    CreatedAt,
    DecidedAt,
    DecidedBy,
}

#[derive(DeriveIden)]
enum ServicePointsScheme {
    Table,
    Id,
    DistrictCode,
    PerHour,
    PerMatter,
    PerActivity,
    UpdatedBy,
    UpdatedAt,
}

fn index(name: &str, table: impl IntoIden, cols: Vec<DynIden>) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(c);
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use ServiceReport as R;
        m.create_table(
            Table::create()
                .table(R::Table)
                .col(big_pk_auto(R::Id))
                .col(string_len(R::DistrictCode, 6))
                .col(big_integer_null(R::StreetId))
                .col(big_integer_null(R::CommunityId))
                .col(big_integer(R::CompoundId))
                .col(big_integer(R::AccountId))
                .col(big_integer_null(R::PersonId))
                // `residence` or `employer_pairing`.
                .col(string_len(R::Kind, 24))
                .col(big_integer_null(R::AgencyId))
                // `submitted`, `confirmed`, `refused`, `withdrawn`.
                .col(string_len(R::State, 16))
                .col(string_len_null(R::Reason, 500))
                .col(timestamp_with_time_zone(R::SubmittedAt))
                .col(timestamp_with_time_zone_null(R::DecidedAt))
                .col(big_integer_null(R::DecidedBy))
                .col(timestamp_with_time_zone_null(R::WithdrawnAt))
                .to_owned(),
        )
        .await?;
        // One live report per member, kind and compound; refused and
        // withdrawn reports stay as history and do not count.
        let mut live = index(
            "ux_service_report_live",
            R::Table,
            vec![
                R::AccountId.into_iden(),
                R::Kind.into_iden(),
                R::CompoundId.into_iden(),
            ],
        );
        live.unique()
            .and_where(Expr::col(R::State).is_in(["submitted", "confirmed"]));
        m.create_index(live).await?;
        m.create_index(index(
            "ix_service_report_compound",
            R::Table,
            vec![R::CompoundId.into_iden(), R::State.into_iden()],
        ))
        .await?;
        m.create_index(index(
            "ix_service_report_district",
            R::Table,
            vec![R::DistrictCode.into_iden(), R::StreetId.into_iden()],
        ))
        .await?;

        use ThreeOnes as T;
        m.create_table(
            Table::create()
                .table(T::Table)
                .col(big_pk_auto(T::Id))
                .col(string_len(T::DistrictCode, 6))
                .col(big_integer_null(T::StreetId))
                .col(big_integer_null(T::CommunityId))
                .col(big_integer(T::CompoundId))
                .col(big_integer(T::AccountId))
                .col(big_integer_null(T::PersonId))
                .col(big_integer(T::ReportId))
                // `volunteer_team`, `entrance` or `zone`.
                .col(string_len(T::Kind, 16))
                .col(string_len_null(T::TeamName, 128))
                // Reserved for the volunteer teams capability.
                .col(big_integer_null(T::TeamId))
                .col(big_integer_null(T::EntranceId))
                .col(string_len_null(T::Zone, 200))
                .col(timestamp_with_time_zone(T::CreatedAt))
                .col(timestamp_with_time_zone_null(T::ReleasedAt))
                .col(big_integer_null(T::ReleasedBy))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_three_ones_report")
                        .from(T::Table, T::ReportId)
                        .to(R::Table, R::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // One live "one" of each kind per member.
        let mut live = index(
            "ux_three_ones_live",
            T::Table,
            vec![T::AccountId.into_iden(), T::Kind.into_iden()],
        );
        live.unique().and_where(Expr::col(T::ReleasedAt).is_null());
        m.create_index(live).await?;
        m.create_index(index(
            "ix_three_ones_compound",
            T::Table,
            vec![T::CompoundId.into_iden()],
        ))
        .await?;

        use ServiceRecord as S;
        m.create_table(
            Table::create()
                .table(S::Table)
                .col(big_pk_auto(S::Id))
                .col(string_len(S::DistrictCode, 6))
                .col(big_integer_null(S::StreetId))
                .col(big_integer_null(S::CommunityId))
                .col(big_integer(S::CompoundId))
                .col(big_integer(S::AccountId))
                .col(big_integer_null(S::PersonId))
                .col(date(S::ServedOn))
                // `volunteer`, `patrol`, `matter_coordination`, `other`.
                .col(string_len(S::Kind, 24))
                .col(string_len(S::Activity, 500))
                // Hours in half hours: 1 (0.5 h) to 48 (24 h).
                .col(integer(S::HalfHours))
                .col(big_integer_null(S::MatterId))
                // `submitted`, `confirmed`, `refused`.
                .col(string_len(S::State, 16))
                .col(string_len_null(S::Reason, 500))
                // Twice the points credited, fixed when confirmed.
                .col(integer_null(S::PointsX2))
                .col(timestamp_with_time_zone(S::CreatedAt))
                .col(timestamp_with_time_zone_null(S::DecidedAt))
                .col(big_integer_null(S::DecidedBy))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_service_record_account",
            S::Table,
            vec![S::AccountId.into_iden(), S::ServedOn.into_iden()],
        ))
        .await?;
        m.create_index(index(
            "ix_service_record_compound",
            S::Table,
            vec![S::CompoundId.into_iden(), S::State.into_iden()],
        ))
        .await?;
        m.create_index(index(
            "ix_service_record_district",
            S::Table,
            vec![S::DistrictCode.into_iden(), S::StreetId.into_iden()],
        ))
        .await?;

        use ServicePointsScheme as P;
        m.create_table(
            Table::create()
                .table(P::Table)
                .col(big_pk_auto(P::Id))
                .col(string_len(P::DistrictCode, 6))
                .col(integer(P::PerHour))
                .col(integer(P::PerMatter))
                .col(integer(P::PerActivity))
                .col(big_integer_null(P::UpdatedBy))
                .col(timestamp_with_time_zone(P::UpdatedAt))
                .to_owned(),
        )
        .await?;
        let mut one = index(
            "ux_service_points_scheme_district",
            P::Table,
            vec![P::DistrictCode.into_iden()],
        );
        one.unique();
        m.create_index(one).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ServicePointsScheme::Table.into_iden(),
            ServiceRecord::Table.into_iden(),
            ThreeOnes::Table.into_iden(),
            ServiceReport::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
