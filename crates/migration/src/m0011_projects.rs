//! Party-building projects an agency runs for its paired compounds: the
//! compounds' stated needs, projects with their append-only history of
//! steps, progress updates with photos, and evaluations.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CompoundNeed {
    Table,
    Id,
    DistrictCode,
    StreetId,
    CommunityId,
    CompoundId,
    Category,
    Description,
    CreatedBy,
    CreatedAt,
    WithdrawnAt,
    WithdrawnBy,
}

#[derive(DeriveIden)]
enum Project {
    Table,
    Id,
    DistrictCode,
    StreetId,
    CommunityId,
    CompoundId,
    AgencyId,
    NeedId,
    Function,
    Title,
    Plan,
    PlannedStart,
    PlannedEnd,
    State,
    Summary,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    StartedAt,
    CompletedAt,
}

#[derive(DeriveIden)]
enum ProjectStep {
    Table,
    Id,
    ProjectId,
    Sequence,
    Action,
    Actor,
    FromState,
    ToState,
    AccountId,
    ActorName,
    Reason,
    At,
}

#[derive(DeriveIden)]
enum ProjectUpdate {
    Table,
    Id,
    ProjectId,
    HappenedOn,
    Body,
    AccountId,
    AuthorName,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ProjectPhoto {
    Table,
    Id,
    ProjectId,
    UpdateId,
    Path,
    ContentType,
    SizeBytes,
    Sha256,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ProjectEvaluation {
    Table,
    Id,
    ProjectId,
    DistrictCode,
    Evaluator,
    VoterKey,
    DwellingId,
    AccountId,
    Score,
    Comment,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Agency {
    Table,
    Id,
}

fn fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
    cascade: bool,
) -> ForeignKeyCreateStatement {
    let mut f = ForeignKey::create();
    f.name(name).from(from.0, from.1).to(to.0, to.1);
    if cascade {
        f.on_delete(ForeignKeyAction::Cascade);
    }
    f.to_owned()
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
        use CompoundNeed as N;
        m.create_table(
            Table::create()
                .table(N::Table)
                .col(big_pk_auto(N::Id))
                .col(string_len(N::DistrictCode, 6))
                .col(big_integer_null(N::StreetId))
                .col(big_integer_null(N::CommunityId))
                .col(big_integer(N::CompoundId))
                .col(string_len(N::Category, 32))
                .col(text(N::Description))
                .col(big_integer_null(N::CreatedBy))
                .col(timestamp_with_time_zone(N::CreatedAt))
                // Withdrawn needs are kept, marked.
                .col(timestamp_with_time_zone_null(N::WithdrawnAt))
                .col(big_integer_null(N::WithdrawnBy))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_compound_need_compound",
            N::Table,
            &[&|| N::CompoundId.into_iden(), &|| {
                N::WithdrawnAt.into_iden()
            }],
            false,
        ))
        .await?;

        use Project as P;
        m.create_table(
            Table::create()
                .table(P::Table)
                .col(big_pk_auto(P::Id))
                .col(string_len(P::DistrictCode, 6))
                .col(big_integer_null(P::StreetId))
                .col(big_integer_null(P::CommunityId))
                .col(big_integer(P::CompoundId))
                .col(big_integer(P::AgencyId))
                .col(big_integer(P::NeedId))
                .col(string_len(P::Function, 32))
                .col(string_len(P::Title, 128))
                .col(text(P::Plan))
                .col(date(P::PlannedStart))
                .col(date(P::PlannedEnd))
                .col(string_len(P::State, 16))
                .col(text_null(P::Summary))
                .col(big_integer_null(P::CreatedBy))
                .col(timestamp_with_time_zone(P::CreatedAt))
                .col(timestamp_with_time_zone(P::UpdatedAt))
                .col(timestamp_with_time_zone_null(P::StartedAt))
                .col(timestamp_with_time_zone_null(P::CompletedAt))
                // No cascade: an agency with projects has pairings, and an
                // agency with pairings is never deleted.
                .foreign_key(&mut fk(
                    "fk_project_agency",
                    (P::Table, P::AgencyId),
                    (Agency::Table, Agency::Id),
                    false,
                ))
                .foreign_key(&mut fk(
                    "fk_project_need",
                    (P::Table, P::NeedId),
                    (N::Table, N::Id),
                    false,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_project_agency",
            P::Table,
            &[&|| P::AgencyId.into_iden(), &|| P::State.into_iden()],
            false,
        ))
        .await?;
        m.create_index(index(
            "ix_project_compound",
            P::Table,
            &[&|| P::CompoundId.into_iden()],
            false,
        ))
        .await?;
        m.create_index(index(
            "ix_project_street",
            P::Table,
            &[&|| P::DistrictCode.into_iden(), &|| P::StreetId.into_iden()],
            false,
        ))
        .await?;
        m.create_index(index(
            "ix_project_need",
            P::Table,
            &[&|| P::NeedId.into_iden()],
            false,
        ))
        .await?;

        use ProjectStep as S;
        m.create_table(
            Table::create()
                .table(S::Table)
                .col(big_pk_auto(S::Id))
                .col(big_integer(S::ProjectId))
                .col(integer(S::Sequence))
                .col(string_len(S::Action, 16))
                .col(string_len(S::Actor, 16))
                .col(string_len_null(S::FromState, 16))
                .col(string_len(S::ToState, 16))
                .col(big_integer_null(S::AccountId))
                .col(string_len(S::ActorName, 128))
                .col(text_null(S::Reason))
                .col(timestamp_with_time_zone(S::At))
                .foreign_key(&mut fk(
                    "fk_project_step_project",
                    (S::Table, S::ProjectId),
                    (P::Table, P::Id),
                    true,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ux_project_step_sequence",
            S::Table,
            &[&|| S::ProjectId.into_iden(), &|| S::Sequence.into_iden()],
            true,
        ))
        .await?;

        use ProjectUpdate as U;
        m.create_table(
            Table::create()
                .table(U::Table)
                .col(big_pk_auto(U::Id))
                .col(big_integer(U::ProjectId))
                .col(date(U::HappenedOn))
                .col(text(U::Body))
                .col(big_integer_null(U::AccountId))
                .col(string_len(U::AuthorName, 128))
                .col(timestamp_with_time_zone(U::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_project_update_project",
                    (U::Table, U::ProjectId),
                    (P::Table, P::Id),
                    true,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_project_update_project",
            U::Table,
            &[&|| U::ProjectId.into_iden()],
            false,
        ))
        .await?;

        use ProjectPhoto as F;
        m.create_table(
            Table::create()
                .table(F::Table)
                .col(big_pk_auto(F::Id))
                .col(big_integer(F::ProjectId))
                .col(big_integer(F::UpdateId))
                .col(string_len(F::Path, 255))
                .col(string_len(F::ContentType, 32))
                .col(big_integer(F::SizeBytes))
                .col(string_len(F::Sha256, 64))
                .col(big_integer_null(F::CreatedBy))
                .col(timestamp_with_time_zone(F::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_project_photo_update",
                    (F::Table, F::UpdateId),
                    (U::Table, U::Id),
                    true,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_project_photo_project",
            F::Table,
            &[&|| F::ProjectId.into_iden()],
            false,
        ))
        .await?;

        use ProjectEvaluation as E;
        m.create_table(
            Table::create()
                .table(E::Table)
                .col(big_pk_auto(E::Id))
                .col(big_integer(E::ProjectId))
                .col(string_len(E::DistrictCode, 6))
                .col(string_len(E::Evaluator, 16))
                // `party_org`, `dwelling:<id>` or `account:<id>`: one
                // evaluation each per project.
                .col(string_len(E::VoterKey, 40))
                .col(big_integer_null(E::DwellingId))
                .col(big_integer(E::AccountId))
                .col(small_integer(E::Score))
                .col(text(E::Comment))
                .col(timestamp_with_time_zone(E::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_project_evaluation_project",
                    (E::Table, E::ProjectId),
                    (P::Table, P::Id),
                    true,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ux_project_evaluation_voter",
            E::Table,
            &[&|| E::ProjectId.into_iden(), &|| E::VoterKey.into_iden()],
            true,
        ))
        .await?;
        m.create_index(index(
            "ix_project_evaluation_district",
            E::Table,
            &[&|| E::DistrictCode.into_iden()],
            false,
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ProjectEvaluation::Table.into_iden(),
            ProjectPhoto::Table.into_iden(),
            ProjectUpdate::Table.into_iden(),
            ProjectStep::Table.into_iden(),
            Project::Table.into_iden(),
            CompoundNeed::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
