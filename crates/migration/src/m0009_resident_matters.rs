//! Residents' matters (事项/诉求): the service catalogue, matters with their
//! place, holder and deadline, the append-only timeline, photos, every
//! reporter of a matter (merges keep them all) and party members' credits.
//!
//! Each matter row carries its district, street, community and compound
//! ids so a queue for any level is one indexed comparison. The catalogue is
//! seeded here with the categories every community handles.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ResidentMatterCategory {
    Table,
    Id,
    Code,
    NameZh,
    NameEn,
    DefaultHandler,
    EmergencyMinutes,
    NormalMinutes,
    ComplexMinutes,
    Position,
    Active,
}

#[derive(DeriveIden)]
enum ResidentMatter {
    Table,
    Id,
    DistrictCode,
    StreetId,
    CommunityId,
    CompoundId,
    PlaceId,
    Address,
    LatitudeE6,
    LongitudeE6,
    ReporterAccountId,
    ReporterPersonId,
    ReporterRole,
    CategoryId,
    Urgency,
    Title,
    Description,
    Public,
    State,
    HolderKind,
    HolderPlaceId,
    HolderAccountId,
    HolderOrg,
    ReceivedBy,
    DispatchedAt,
    DueAt,
    WarnAt,
    WarnedAt,
    EscalationLevel,
    MergedInto,
    ReopenedCount,
    Satisfaction,
    SatisfactionComment,
    ClosedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ResidentMatterEvent {
    Table,
    Id,
    MatterId,
    DistrictCode,
    At,
    ActorAccountId,
    ActorRole,
    Action,
    FromState,
    ToState,
    Note,
    Reason,
    Detail,
}

#[derive(DeriveIden)]
enum ResidentMatterPhoto {
    Table,
    Id,
    MatterId,
    EventId,
    DistrictCode,
    Path,
    ContentType,
    SizeBytes,
    Sha256,
    UploadedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ResidentMatterReporter {
    Table,
    Id,
    MatterId,
    DistrictCode,
    AccountId,
    PersonId,
    OriginalMatterId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ResidentMatterCredit {
    Table,
    Id,
    MatterId,
    DistrictCode,
    PersonId,
    Role,
    CreatedBy,
    CreatedAt,
}

fn matter_fk(name: &str, table: impl IntoIden, col: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, col)
        .to(ResidentMatter::Table, ResidentMatter::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

async fn index(
    m: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden,
    cols: Vec<DynIden>,
    unique: bool,
) -> Result<(), DbErr> {
    let mut ix = Index::create();
    ix.name(name).table(table);
    for c in cols {
        ix.col(c);
    }
    if unique {
        ix.unique();
    }
    m.create_index(ix.to_owned()).await
}

/// The seeded catalogue: code, names, default handler, and the feedback
/// allowance in minutes for emergency, normal and complex matters.
const CATALOGUE: &[(&str, &str, &str, &str, i32, i32, i32)] = &[
    (
        "utilities",
        "水电气",
        "Water, power and gas",
        "property_company",
        120,
        1440,
        21600,
    ),
    (
        "sanitation",
        "环境卫生",
        "Sanitation",
        "property_company",
        120,
        4320,
        21600,
    ),
    (
        "facility_repair",
        "公共设施维修",
        "Facility repair",
        "property_company",
        120,
        10080,
        21600,
    ),
    (
        "parking",
        "停车",
        "Parking",
        "property_company",
        120,
        10080,
        21600,
    ),
    (
        "neighbour_dispute",
        "邻里纠纷",
        "Neighbour dispute",
        "community",
        120,
        10080,
        21600,
    ),
    (
        "property_service",
        "物业服务",
        "Property service",
        "owners_committee",
        120,
        10080,
        21600,
    ),
    (
        "safety_hazard",
        "安全隐患",
        "Safety hazard",
        "community",
        120,
        1440,
        21600,
    ),
    ("other", "其他", "Other", "community", 120, 10080, 21600),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use ResidentMatterCategory as C;
        m.create_table(
            Table::create()
                .table(C::Table)
                .col(big_pk_auto(C::Id))
                .col(string_len(C::Code, 32).unique_key())
                .col(string_len(C::NameZh, 64))
                .col(string_len(C::NameEn, 64))
                .col(string_len(C::DefaultHandler, 32))
                .col(integer(C::EmergencyMinutes))
                .col(integer(C::NormalMinutes))
                .col(integer(C::ComplexMinutes))
                .col(integer(C::Position))
                .col(boolean(C::Active))
                .to_owned(),
        )
        .await?;
        let mut insert = Query::insert();
        insert.into_table(C::Table).columns([
            C::Code,
            C::NameZh,
            C::NameEn,
            C::DefaultHandler,
            C::EmergencyMinutes,
            C::NormalMinutes,
            C::ComplexMinutes,
            C::Position,
            C::Active,
        ]);
        for (i, (code, zh, en, handler, e, n, c)) in CATALOGUE.iter().enumerate() {
            insert.values_panic([
                (*code).into(),
                (*zh).into(),
                (*en).into(),
                (*handler).into(),
                (*e).into(),
                (*n).into(),
                (*c).into(),
                (i as i32).into(),
                true.into(),
            ]);
        }
        m.exec_stmt(insert).await?;

        use ResidentMatter as M;
        m.create_table(
            Table::create()
                .table(M::Table)
                .col(big_pk_auto(M::Id))
                .col(string_len(M::DistrictCode, 6))
                .col(big_integer_null(M::StreetId))
                .col(big_integer_null(M::CommunityId))
                .col(big_integer(M::CompoundId))
                .col(big_integer(M::PlaceId))
                .col(string_len_null(M::Address, 256))
                .col(integer_null(M::LatitudeE6))
                .col(integer_null(M::LongitudeE6))
                .col(big_integer_null(M::ReporterAccountId))
                .col(big_integer_null(M::ReporterPersonId))
                .col(string_len(M::ReporterRole, 32))
                .col(big_integer(M::CategoryId))
                .col(string_len(M::Urgency, 16))
                .col(string_len(M::Title, 128))
                .col(text(M::Description))
                .col(boolean(M::Public))
                .col(string_len(M::State, 16))
                .col(string_len(M::HolderKind, 32))
                .col(big_integer_null(M::HolderPlaceId))
                .col(big_integer_null(M::HolderAccountId))
                .col(string_len_null(M::HolderOrg, 128))
                .col(big_integer_null(M::ReceivedBy))
                .col(timestamp_with_time_zone_null(M::DispatchedAt))
                .col(timestamp_with_time_zone_null(M::DueAt))
                .col(timestamp_with_time_zone_null(M::WarnAt))
                .col(timestamp_with_time_zone_null(M::WarnedAt))
                .col(integer(M::EscalationLevel))
                .col(big_integer_null(M::MergedInto))
                .col(integer(M::ReopenedCount))
                .col(string_len_null(M::Satisfaction, 16))
                .col(text_null(M::SatisfactionComment))
                .col(timestamp_with_time_zone_null(M::ClosedAt))
                .col(timestamp_with_time_zone(M::CreatedAt))
                .col(timestamp_with_time_zone(M::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_resident_matter_category")
                        .from(M::Table, M::CategoryId)
                        .to(C::Table, C::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;
        // The overdue queue of a street and the sweep of running clocks.
        index(
            m,
            "ix_resident_matter_street_due",
            M::Table,
            vec![
                M::StreetId.into_iden(),
                M::State.into_iden(),
                M::DueAt.into_iden(),
            ],
            false,
        )
        .await?;
        index(
            m,
            "ix_resident_matter_reporter",
            M::Table,
            vec![M::ReporterAccountId.into_iden(), M::CreatedAt.into_iden()],
            false,
        )
        .await?;
        index(
            m,
            "ix_resident_matter_state_due",
            M::Table,
            vec![M::State.into_iden(), M::DueAt.into_iden()],
            false,
        )
        .await?;
        for (name, col) in [
            ("ix_resident_matter_compound", M::CompoundId),
            ("ix_resident_matter_community", M::CommunityId),
            ("ix_resident_matter_district", M::DistrictCode),
            ("ix_resident_matter_holder_account", M::HolderAccountId),
        ] {
            index(
                m,
                name,
                M::Table,
                vec![col.into_iden(), M::CreatedAt.into_iden()],
                false,
            )
            .await?;
        }

        use ResidentMatterEvent as E;
        m.create_table(
            Table::create()
                .table(E::Table)
                .col(big_pk_auto(E::Id))
                .col(big_integer(E::MatterId))
                .col(string_len(E::DistrictCode, 6))
                .col(timestamp_with_time_zone(E::At))
                .col(big_integer_null(E::ActorAccountId))
                .col(string_len_null(E::ActorRole, 32))
                .col(string_len(E::Action, 32))
                .col(string_len_null(E::FromState, 16))
                .col(string_len_null(E::ToState, 16))
                .col(text_null(E::Note))
                .col(text_null(E::Reason))
                .col(text(E::Detail))
                .foreign_key(&mut matter_fk(
                    "fk_resident_matter_event_matter",
                    E::Table,
                    E::MatterId,
                ))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_resident_matter_event_matter",
            E::Table,
            vec![E::MatterId.into_iden(), E::Id.into_iden()],
            false,
        )
        .await?;

        use ResidentMatterPhoto as P;
        m.create_table(
            Table::create()
                .table(P::Table)
                .col(big_pk_auto(P::Id))
                .col(big_integer(P::MatterId))
                .col(big_integer_null(P::EventId))
                .col(string_len(P::DistrictCode, 6))
                .col(string_len(P::Path, 256))
                .col(string_len(P::ContentType, 32))
                .col(big_integer(P::SizeBytes))
                .col(string_len(P::Sha256, 64))
                .col(big_integer_null(P::UploadedBy))
                .col(timestamp_with_time_zone(P::CreatedAt))
                .foreign_key(&mut matter_fk(
                    "fk_resident_matter_photo_matter",
                    P::Table,
                    P::MatterId,
                ))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_resident_matter_photo_matter",
            P::Table,
            vec![P::MatterId.into_iden()],
            false,
        )
        .await?;

        use ResidentMatterReporter as R;
        m.create_table(
            Table::create()
                .table(R::Table)
                .col(big_pk_auto(R::Id))
                .col(big_integer(R::MatterId))
                .col(string_len(R::DistrictCode, 6))
                .col(big_integer_null(R::AccountId))
                .col(big_integer_null(R::PersonId))
                .col(big_integer(R::OriginalMatterId))
                .col(timestamp_with_time_zone(R::CreatedAt))
                .foreign_key(&mut matter_fk(
                    "fk_resident_matter_reporter_matter",
                    R::Table,
                    R::MatterId,
                ))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_resident_matter_reporter_account",
            R::Table,
            vec![R::AccountId.into_iden(), R::MatterId.into_iden()],
            false,
        )
        .await?;
        index(
            m,
            "ix_resident_matter_reporter_matter",
            R::Table,
            vec![R::MatterId.into_iden()],
            false,
        )
        .await?;

        use ResidentMatterCredit as K;
        m.create_table(
            Table::create()
                .table(K::Table)
                .col(big_pk_auto(K::Id))
                .col(big_integer(K::MatterId))
                .col(string_len(K::DistrictCode, 6))
                .col(big_integer(K::PersonId))
                .col(string_len(K::Role, 32))
                .col(big_integer_null(K::CreatedBy))
                .col(timestamp_with_time_zone(K::CreatedAt))
                .foreign_key(&mut matter_fk(
                    "fk_resident_matter_credit_matter",
                    K::Table,
                    K::MatterId,
                ))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ux_resident_matter_credit",
            K::Table,
            vec![K::MatterId.into_iden(), K::PersonId.into_iden()],
            true,
        )
        .await?;
        index(
            m,
            "ix_resident_matter_credit_person",
            K::Table,
            vec![K::PersonId.into_iden(), K::CreatedAt.into_iden()],
            false,
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            ResidentMatterCredit::Table.into_iden(),
            ResidentMatterReporter::Table.into_iden(),
            ResidentMatterPhoto::Table.into_iden(),
            ResidentMatterEvent::Table.into_iden(),
            ResidentMatter::Table.into_iden(),
            ResidentMatterCategory::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
