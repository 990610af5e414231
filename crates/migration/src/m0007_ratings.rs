//! Rating campaigns of owners' committees and property companies: items,
//! subjects, residents' responses and their scores, the panel's scores,
//! results computed at close, and rectification items.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RatingCampaign {
    Table,
    Id,
    DistrictCode,
    ScopePlaceId,
    ScopeKind,
    Period,
    SubjectKind,
    OpensOn,
    ClosesOn,
    State,
    ResidentsWeight,
    RedThresholdCenti,
    BlackThresholdCenti,
    CreatedBy,
    CreatedAt,
    ClosedAt,
}

#[derive(DeriveIden)]
enum RatingItem {
    Table,
    Id,
    CampaignId,
    DistrictCode,
    Position,
    NameZh,
    NameEn,
    Weight,
}

#[derive(DeriveIden)]
enum RatingSubject {
    Table,
    Id,
    CampaignId,
    DistrictCode,
    CompoundId,
    StreetId,
    Name,
}

#[derive(DeriveIden)]
enum RatingResponse {
    Table,
    Id,
    CampaignId,
    SubjectId,
    DwellingId,
    DistrictCode,
    AccountId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RatingScore {
    Table,
    ResponseId,
    ItemId,
    CampaignId,
    SubjectId,
    DistrictCode,
    Score,
}

#[derive(DeriveIden)]
enum RatingPanelScore {
    Table,
    Id,
    CampaignId,
    SubjectId,
    ItemId,
    DistrictCode,
    Score,
    AccountId,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RatingResult {
    Table,
    SubjectId,
    CampaignId,
    DistrictCode,
    Responses,
    ResidentsCenti,
    PanelCenti,
    TotalCenti,
    RankInStreet,
    RankInDistrict,
    Stars,
    List,
}

#[derive(DeriveIden)]
enum RatingRectification {
    Table,
    Id,
    CampaignId,
    SubjectId,
    DistrictCode,
    CompoundId,
    Text,
    DueOn,
    DoneAt,
    DoneNote,
    CreatedBy,
    CreatedAt,
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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use RatingCampaign as C;
        m.create_table(
            Table::create()
                .table(C::Table)
                .col(big_pk_auto(C::Id))
                .col(string_len(C::DistrictCode, 6))
                .col(big_integer(C::ScopePlaceId))
                .col(string_len(C::ScopeKind, 16))
                .col(string_len(C::Period, 64))
                .col(string_len(C::SubjectKind, 32))
                .col(date(C::OpensOn))
                .col(date(C::ClosesOn))
                .col(string_len(C::State, 16))
                .col(integer(C::ResidentsWeight))
                .col(integer(C::RedThresholdCenti))
                .col(integer(C::BlackThresholdCenti))
                .col(big_integer_null(C::CreatedBy))
                .col(timestamp_with_time_zone(C::CreatedAt))
                .col(timestamp_with_time_zone_null(C::ClosedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_rating_campaign_district")
                .table(C::Table)
                .col(C::DistrictCode)
                .col(C::ScopePlaceId)
                .to_owned(),
        )
        .await?;

        use RatingItem as I;
        m.create_table(
            Table::create()
                .table(I::Table)
                .col(big_pk_auto(I::Id))
                .col(big_integer(I::CampaignId))
                .col(string_len(I::DistrictCode, 6))
                .col(integer(I::Position))
                .col(string_len(I::NameZh, 64))
                .col(string_len(I::NameEn, 64))
                .col(integer(I::Weight))
                .foreign_key(&mut fk(
                    "fk_rating_item_campaign",
                    (I::Table, I::CampaignId),
                    (C::Table, C::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_rating_item_campaign")
                .table(I::Table)
                .col(I::CampaignId)
                .col(I::Position)
                .to_owned(),
        )
        .await?;

        use RatingSubject as S;
        m.create_table(
            Table::create()
                .table(S::Table)
                .col(big_pk_auto(S::Id))
                .col(big_integer(S::CampaignId))
                .col(string_len(S::DistrictCode, 6))
                .col(big_integer(S::CompoundId))
                .col(big_integer_null(S::StreetId))
                .col(string_len(S::Name, 128))
                .foreign_key(&mut fk(
                    "fk_rating_subject_campaign",
                    (S::Table, S::CampaignId),
                    (C::Table, C::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_rating_subject_compound")
                .table(S::Table)
                .col(S::CampaignId)
                .col(S::CompoundId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_rating_subject_compound")
                .table(S::Table)
                .col(S::CompoundId)
                .to_owned(),
        )
        .await?;

        use RatingResponse as R;
        m.create_table(
            Table::create()
                .table(R::Table)
                .col(big_pk_auto(R::Id))
                .col(big_integer(R::CampaignId))
                .col(big_integer(R::SubjectId))
                .col(big_integer(R::DwellingId))
                .col(string_len(R::DistrictCode, 6))
                .col(big_integer_null(R::AccountId))
                .col(timestamp_with_time_zone(R::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_rating_response_subject",
                    (R::Table, R::SubjectId),
                    (S::Table, S::Id),
                ))
                .to_owned(),
        )
        .await?;
        // One response per dwelling per campaign and subject.
        m.create_index(
            Index::create()
                .name("ux_rating_response_dwelling")
                .table(R::Table)
                .col(R::CampaignId)
                .col(R::DwellingId)
                .col(R::SubjectId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_rating_response_subject")
                .table(R::Table)
                .col(R::SubjectId)
                .to_owned(),
        )
        .await?;

        use RatingScore as Sc;
        m.create_table(
            Table::create()
                .table(Sc::Table)
                .col(big_integer(Sc::ResponseId))
                .col(big_integer(Sc::ItemId))
                .col(big_integer(Sc::CampaignId))
                .col(big_integer(Sc::SubjectId))
                .col(string_len(Sc::DistrictCode, 6))
                .col(integer(Sc::Score))
                .primary_key(Index::create().col(Sc::ResponseId).col(Sc::ItemId))
                .foreign_key(&mut fk(
                    "fk_rating_score_response",
                    (Sc::Table, Sc::ResponseId),
                    (R::Table, R::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_rating_score_campaign")
                .table(Sc::Table)
                .col(Sc::CampaignId)
                .col(Sc::SubjectId)
                .col(Sc::ItemId)
                .to_owned(),
        )
        .await?;

        use RatingPanelScore as P;
        m.create_table(
            Table::create()
                .table(P::Table)
                .col(big_pk_auto(P::Id))
                .col(big_integer(P::CampaignId))
                .col(big_integer(P::SubjectId))
                .col(big_integer(P::ItemId))
                .col(string_len(P::DistrictCode, 6))
                .col(integer(P::Score))
                .col(big_integer_null(P::AccountId))
                .col(timestamp_with_time_zone(P::UpdatedAt))
                .foreign_key(&mut fk(
                    "fk_rating_panel_subject",
                    (P::Table, P::SubjectId),
                    (S::Table, S::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_rating_panel_item")
                .table(P::Table)
                .col(P::SubjectId)
                .col(P::ItemId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_rating_panel_campaign")
                .table(P::Table)
                .col(P::CampaignId)
                .to_owned(),
        )
        .await?;

        use RatingResult as Re;
        m.create_table(
            Table::create()
                .table(Re::Table)
                .col(big_integer(Re::SubjectId).primary_key())
                .col(big_integer(Re::CampaignId))
                .col(string_len(Re::DistrictCode, 6))
                .col(integer(Re::Responses))
                .col(integer_null(Re::ResidentsCenti))
                .col(integer_null(Re::PanelCenti))
                .col(integer_null(Re::TotalCenti))
                .col(integer_null(Re::RankInStreet))
                .col(integer_null(Re::RankInDistrict))
                .col(integer(Re::Stars))
                .col(string_len_null(Re::List, 8))
                .foreign_key(&mut fk(
                    "fk_rating_result_subject",
                    (Re::Table, Re::SubjectId),
                    (S::Table, S::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_rating_result_campaign")
                .table(Re::Table)
                .col(Re::CampaignId)
                .col(Re::TotalCenti)
                .to_owned(),
        )
        .await?;

        use RatingRectification as X;
        m.create_table(
            Table::create()
                .table(X::Table)
                .col(big_pk_auto(X::Id))
                .col(big_integer(X::CampaignId))
                .col(big_integer(X::SubjectId))
                .col(string_len(X::DistrictCode, 6))
                .col(big_integer(X::CompoundId))
                .col(string_len(X::Text, 500))
                .col(date(X::DueOn))
                .col(timestamp_with_time_zone_null(X::DoneAt))
                .col(string_len_null(X::DoneNote, 500))
                .col(big_integer_null(X::CreatedBy))
                .col(timestamp_with_time_zone(X::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_rating_rectification_subject",
                    (X::Table, X::SubjectId),
                    (S::Table, S::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_rating_rectification_campaign")
                .table(X::Table)
                .col(X::CampaignId)
                .col(X::SubjectId)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            RatingRectification::Table.into_iden(),
            RatingResult::Table.into_iden(),
            RatingPanelScore::Table.into_iden(),
            RatingScore::Table.into_iden(),
            RatingResponse::Table.into_iden(),
            RatingSubject::Table.into_iden(),
            RatingItem::Table.into_iden(),
            RatingCampaign::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
