//! JSON API of rating campaigns: `/api/v1/ratings/…`.
//!
//! A campaign is seen by everyone whose roles reach its scope (a street or
//! the district) or lie inside it, residents included: its ranking is
//! public within the scope. Outside the scope every route answers 404.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{NaiveDate, Utc};
use jinlin_kernel::ApiError;
use jinlin_kernel::audit::{self, Entry};
use jinlin_kernel::auth::{Access, Principal, Role, User};
use jinlin_kernel::error::ErrorBody;
use jinlin_kernel::i18n;
use jinlin_kernel::place::entity as place;
use jinlin_kernel::place::{PlaceKind, Position};
use jinlin_kernel::web::{ApiJson, AppState};
use sea_orm::{ConnectionTrait, DbErr, SqlErr};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::entity::{campaign, rectification, subject};
use crate::rules::{self, CampaignState, Invalid, ListMark, Scheme, SubjectKind};
use crate::store;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_campaigns, create_campaign))
        .routes(routes!(get_campaign))
        .routes(routes!(open_campaign))
        .routes(routes!(close_campaign))
        .routes(routes!(respond))
        .routes(routes!(get_results))
        .routes(routes!(list_rectifications))
        .routes(routes!(set_panel_scores))
        .routes(routes!(create_rectification))
        .routes(routes!(complete_rectification))
}

// ---------------------------------------------------------------- shapes

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[schema(as = RatingNewItem)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    pub name_zh: String,
    pub name_en: String,
    /// Whole number 1–100.
    pub weight: i64,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(as = RatingNewCampaign)]
#[serde(deny_unknown_fields)]
pub struct NewCampaign {
    /// A street (street admin or above) or the district (district admin).
    pub scope_place_id: i64,
    /// The period rated, e.g. "2026年下半年".
    pub period: String,
    pub subject_kind: SubjectKind,
    pub opens_on: NaiveDate,
    pub closes_on: NaiveDate,
    /// Residents' share of the total in percent (0–100); the panel has the rest.
    pub residents_weight: i64,
    /// Red list at or above this total, in hundredths of a point (0–10000).
    pub red_threshold_centi: i64,
    /// Black list below this total, in hundredths of a point; below the red threshold.
    pub black_threshold_centi: i64,
    /// 1–20 items.
    pub items: Vec<NewItem>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RatingItemView)]
pub struct ItemView {
    pub id: i64,
    pub name_zh: String,
    pub name_en: String,
    pub weight: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RatingCampaignSummary)]
pub struct CampaignSummary {
    pub id: i64,
    pub scope_place_id: i64,
    pub scope_kind: String,
    pub scope_name: String,
    pub period: String,
    pub subject_kind: SubjectKind,
    pub opens_on: NaiveDate,
    pub closes_on: NaiveDate,
    pub state: CampaignState,
}

/// The signed-in resident's part in a campaign.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RatingMyPart)]
pub struct MyPart {
    pub subject_id: i64,
    pub dwelling_id: i64,
    pub responded: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RatingCampaignView)]
pub struct CampaignView {
    #[serde(flatten)]
    pub summary: CampaignSummary,
    pub residents_weight: i64,
    pub red_threshold_centi: i64,
    pub black_threshold_centi: i64,
    pub items: Vec<ItemView>,
    pub subjects: usize,
    /// Whether the reader may open, close and set rectification items.
    pub can_manage: bool,
    pub my: Option<MyPart>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[schema(as = RatingItemScore)]
#[serde(deny_unknown_fields)]
pub struct ItemScore {
    pub item_id: i64,
    /// Whole points 0–100.
    pub score: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = RatingNewResponse)]
#[serde(deny_unknown_fields)]
pub struct NewResponse {
    /// The dwelling answering, when the account lives in several.
    pub dwelling_id: Option<i64>,
    /// One score for every item of the campaign.
    pub scores: Vec<ItemScore>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = RatingPanelScores)]
#[serde(deny_unknown_fields)]
pub struct PanelScores {
    /// One score for every item of the campaign.
    pub scores: Vec<ItemScore>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RatingCreated)]
pub struct Created {
    pub id: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RatingResultRow)]
pub struct ResultRow {
    pub subject_id: i64,
    /// The owners' committee or property company.
    pub name: String,
    pub compound_id: i64,
    pub compound_name: String,
    pub street_id: Option<i64>,
    pub street_name: String,
    pub responses: i64,
    /// Hundredths of a point; none until the campaign closes.
    pub residents_centi: Option<i64>,
    pub panel_centi: Option<i64>,
    pub total_centi: Option<i64>,
    pub rank_in_street: Option<i64>,
    /// Only for campaigns spanning the district.
    pub rank_in_district: Option<i64>,
    /// 5 … 2, or 0 (unrated).
    pub stars: i64,
    pub list: Option<ListMark>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RatingResults)]
pub struct Results {
    pub campaign_id: i64,
    pub state: CampaignState,
    /// Ranked subjects first (by total, high to low; ties by name), then the
    /// unrated ones.
    pub rows: Vec<ResultRow>,
    /// The reader's own compound's subject, for residents.
    pub my_subject_id: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = RatingNewRectification)]
#[serde(deny_unknown_fields)]
pub struct NewRectification {
    pub text: String,
    pub due_on: NaiveDate,
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = RatingRectificationDone)]
#[serde(deny_unknown_fields)]
pub struct RectificationDone {
    pub note: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RatingRectificationView)]
pub struct RectificationView {
    pub id: i64,
    pub subject_id: i64,
    pub subject_name: String,
    pub compound_id: i64,
    pub compound_name: String,
    pub text: String,
    pub due_on: NaiveDate,
    pub done_at: Option<chrono::DateTime<Utc>>,
    pub done_note: Option<String>,
    /// Not done and past its due date.
    pub overdue: bool,
    /// Whether the reader may mark it done.
    pub can_complete: bool,
}

// ---------------------------------------------------------------- access

fn invalid(e: Invalid) -> ApiError {
    ApiError::invalid(i18n::current().t(e.key))
}

fn conflict(code: &'static str, key: &str) -> ApiError {
    ApiError::with_message(StatusCode::CONFLICT, code, i18n::current().t(key))
}

/// A write that lost a race on a unique index answers 409, not 500.
fn db_write(e: DbErr) -> ApiError {
    if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) {
        conflict("conflict", "ratings.error.conflict")
    } else {
        e.into()
    }
}

/// Whether the principal sees campaigns of `scope`: a role reaching it, or
/// a role granted somewhere inside it (down to a resident's dwelling).
pub fn sees_scope(user: &Principal, scope: &Position) -> bool {
    user.can(Access::Public, scope) || user.grants.iter().any(|g| g.place.is_within(scope))
}

/// Street admins manage their street's campaigns, district admins all of
/// the district's.
pub fn manages(user: &Principal, scope: &Position) -> bool {
    user.roles_for(Access::Edit, scope)
        .iter()
        .any(|r| matches!(r, Role::DistrictAdmin | Role::StreetAdmin))
}

/// A campaign the user may see, with its scope, or 404.
pub async fn visible_campaign(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<(campaign::Model, place::Model), ApiError> {
    let c = store::find_campaign(db, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let scope = store::find_place(db, c.scope_place_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if !sees_scope(user, &scope.position()) {
        return Err(ApiError::not_found());
    }
    Ok((c, scope))
}

/// A campaign the user manages: 404 outside the scope, 403 inside it.
pub async fn managed_campaign(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<(campaign::Model, place::Model), ApiError> {
    let (c, scope) = visible_campaign(db, user, id).await?;
    if !manages(user, &scope.position()) {
        return Err(ApiError::forbidden());
    }
    Ok((c, scope))
}

/// A subject of a campaign the user may see, with its campaign, scope and
/// compound.
pub async fn visible_subject(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<(subject::Model, campaign::Model, place::Model, place::Model), ApiError> {
    let s = store::find_subject(db, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let (c, scope) = visible_campaign(db, user, s.campaign_id).await?;
    let compound = store::find_place(db, s.compound_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok((s, c, scope, compound))
}

fn has_role_over(user: &Principal, roles: &[Role], target: &Position) -> bool {
    user.grants
        .iter()
        .any(|g| roles.contains(&g.role) && target.is_within(&g.place))
}

/// The party organisation's panel of a compound: its secretary, or the
/// community worker of its community.
pub fn scores_as_panel(user: &Principal, compound: &Position) -> bool {
    has_role_over(
        user,
        &[Role::CompoundSecretary, Role::CommunityWorker],
        compound,
    )
}

/// The rated side marks its rectification items done: the compound's
/// owners' committee for committee campaigns, its property staff for
/// company campaigns.
pub fn completes_rectification(user: &Principal, compound: &Position, kind: SubjectKind) -> bool {
    let role = match kind {
        SubjectKind::OwnersCommittee => Role::OwnersCommittee,
        SubjectKind::PropertyCompany => Role::PropertyStaff,
    };
    has_role_over(user, &[role], compound)
}

fn kind_of(c: &campaign::Model) -> SubjectKind {
    SubjectKind::parse(&c.subject_kind).unwrap_or(SubjectKind::PropertyCompany)
}

/// The dwellings where the user lives (resident or party member) whose
/// compound is a subject of the campaign: (subject, dwelling id).
pub async fn my_dwellings(
    db: &impl ConnectionTrait,
    user: &Principal,
    c: &campaign::Model,
) -> Result<Vec<(subject::Model, i64)>, DbErr> {
    let homes: Vec<&jinlin_kernel::auth::Grant> = user
        .grants
        .iter()
        .filter(|g| matches!(g.role, Role::Resident | Role::PartyMember))
        .filter(|g| g.place.kind == Some(PlaceKind::Dwelling))
        .collect();
    if homes.is_empty() {
        return Ok(Vec::new());
    }
    let subjects = store::subjects(db, c.id).await?;
    let mut out = Vec::new();
    for g in homes {
        if let Some(s) = subjects
            .iter()
            .find(|s| g.place.compound_id == Some(s.compound_id))
        {
            out.push((s.clone(), g.place.id));
        }
    }
    Ok(out)
}

fn state_of(c: &campaign::Model) -> CampaignState {
    CampaignState::parse(&c.state).unwrap_or(CampaignState::Draft)
}

fn summary(c: &campaign::Model, scope: &place::Model) -> CampaignSummary {
    CampaignSummary {
        id: c.id,
        scope_place_id: c.scope_place_id,
        scope_kind: c.scope_kind.clone(),
        scope_name: scope.name.clone(),
        period: c.period.clone(),
        subject_kind: kind_of(c),
        opens_on: c.opens_on,
        closes_on: c.closes_on,
        state: state_of(c),
    }
}

// ---------------------------------------------------------------- operations

/// The campaigns the user may see, newest first.
pub async fn campaigns_for(
    db: &impl ConnectionTrait,
    user: &Principal,
) -> Result<Vec<CampaignSummary>, ApiError> {
    let mut districts: Vec<String> = user
        .grants
        .iter()
        .filter_map(|g| g.place.district_code.clone())
        .collect();
    districts.sort();
    districts.dedup();
    let found = store::campaigns_in(db, districts).await?;
    let scopes = store::places(db, found.iter().map(|c| c.scope_place_id).collect()).await?;
    Ok(found
        .iter()
        .filter_map(|c| {
            let scope = scopes.get(&c.scope_place_id)?;
            sees_scope(user, &scope.position()).then(|| summary(c, scope))
        })
        .collect())
}

pub async fn campaign_view(
    db: &impl ConnectionTrait,
    user: &Principal,
    c: &campaign::Model,
    scope: &place::Model,
) -> Result<CampaignView, ApiError> {
    let items = store::items(db, c.id).await?;
    let subjects = store::subjects(db, c.id).await?;
    let my = match my_dwellings(db, user, c).await?.into_iter().next() {
        Some((s, dwelling)) => Some(MyPart {
            subject_id: s.id,
            dwelling_id: dwelling,
            responded: store::response_of(db, c.id, dwelling).await?.is_some(),
        }),
        None => None,
    };
    Ok(CampaignView {
        summary: summary(c, scope),
        residents_weight: c.residents_weight as i64,
        red_threshold_centi: c.red_threshold_centi as i64,
        black_threshold_centi: c.black_threshold_centi as i64,
        items: items
            .into_iter()
            .map(|i| ItemView {
                id: i.id,
                name_zh: i.name_zh,
                name_en: i.name_en,
                weight: i.weight as i64,
            })
            .collect(),
        subjects: subjects.len(),
        can_manage: manages(user, &scope.position()),
        my,
    })
}

/// Validates and creates a campaign (in the caller's transaction).
pub async fn create(
    tx: &impl ConnectionTrait,
    user: &Principal,
    new: &NewCampaign,
) -> Result<i64, ApiError> {
    let scope = store::find_place(tx, new.scope_place_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let pos = scope.position();
    if !sees_scope(user, &pos) {
        return Err(ApiError::not_found());
    }
    let kind = pos.kind.ok_or_else(ApiError::not_found)?;
    if !matches!(kind, PlaceKind::Street | PlaceKind::District) {
        return Err(invalid(Invalid {
            key: "ratings.error.scope_kind",
        }));
    }
    if !manages(user, &pos) {
        return Err(ApiError::forbidden());
    }
    let period = rules::check_label(&new.period).map_err(invalid)?;
    if new.closes_on < new.opens_on {
        return Err(invalid(Invalid {
            key: "ratings.error.dates",
        }));
    }
    let scheme = Scheme {
        residents_weight: new.residents_weight,
        red_threshold_centi: new.red_threshold_centi,
        black_threshold_centi: new.black_threshold_centi,
    }
    .check()
    .map_err(invalid)?;
    if new.items.is_empty() || new.items.len() > rules::MAX_ITEMS {
        return Err(invalid(Invalid {
            key: "ratings.error.items_count",
        }));
    }
    let mut items = Vec::new();
    for i in &new.items {
        items.push((
            rules::check_label(&i.name_zh).map_err(invalid)?,
            rules::check_label(&i.name_en).map_err(invalid)?,
            rules::check_weight(i.weight).map_err(invalid)?,
        ));
    }
    let district_code = scope
        .district_code
        .clone()
        .ok_or_else(ApiError::not_found)?;
    let id = store::insert_campaign(
        tx,
        &store::NewCampaign {
            district_code: district_code.clone(),
            scope: pos,
            scope_kind: kind,
            period: period.clone(),
            subject_kind: new.subject_kind,
            opens_on: new.opens_on,
            closes_on: new.closes_on,
            scheme,
            items,
            created_by: user.account_id,
        },
    )
    .await?;
    audit::record(
        tx,
        Entry::new(Some(user), "rating.campaign_create", "rating_campaign")
            .object(id)
            .district(Some(district_code))
            .detail(serde_json::json!({"scope": scope.id, "period": period})),
    )
    .await?;
    Ok(id)
}

/// Opens a draft campaign: one subject per compound in scope that has the
/// committee or company rated.
pub async fn open(tx: &impl ConnectionTrait, user: &Principal, id: i64) -> Result<usize, ApiError> {
    store::lock_campaign(tx, id).await?;
    let (c, scope) = managed_campaign(tx, user, id).await?;
    if state_of(&c) != CampaignState::Draft {
        return Err(conflict("campaign_state", "ratings.error.not_draft"));
    }
    let rows = store::compounds_in_scope(tx, &c, &scope.position()).await?;
    if rows.is_empty() {
        return Err(conflict("no_subjects", "ratings.error.no_subjects"));
    }
    store::insert_subjects(tx, &c, &rows)
        .await
        .map_err(db_write)?;
    store::set_state(tx, c.id, CampaignState::Open).await?;
    audit::record(
        tx,
        Entry::new(Some(user), "rating.campaign_open", "rating_campaign")
            .object(c.id)
            .district(Some(c.district_code.clone()))
            .detail(serde_json::json!({"subjects": rows.len()})),
    )
    .await?;
    Ok(rows.len())
}

/// Closes an open campaign and stores its results.
pub async fn close(tx: &impl ConnectionTrait, user: &Principal, id: i64) -> Result<(), ApiError> {
    // Held until commit: no response or panel score lands after the results
    // are computed.
    store::lock_campaign(tx, id).await?;
    let (c, _) = managed_campaign(tx, user, id).await?;
    if state_of(&c) != CampaignState::Open {
        return Err(conflict("campaign_state", "ratings.error.not_open"));
    }
    store::compute_results(tx, &c).await.map_err(db_write)?;
    store::set_state(tx, c.id, CampaignState::Closed).await?;
    audit::record(
        tx,
        Entry::new(Some(user), "rating.campaign_close", "rating_campaign")
            .object(c.id)
            .district(Some(c.district_code.clone())),
    )
    .await?;
    Ok(())
}

fn pairs(scores: &[ItemScore]) -> Vec<(i64, i64)> {
    scores.iter().map(|s| (s.item_id, s.score)).collect()
}

/// Records a resident's response for their dwelling.
pub async fn add_response(
    tx: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
    new: &NewResponse,
) -> Result<i64, ApiError> {
    store::lock_campaign(tx, id).await?;
    let (c, _) = visible_campaign(tx, user, id).await?;
    let mine = my_dwellings(tx, user, &c).await?;
    let Some((s, dwelling)) = mine
        .into_iter()
        .find(|(_, d)| new.dwelling_id.is_none_or(|want| want == *d))
    else {
        return Err(ApiError::with_message(
            StatusCode::FORBIDDEN,
            "forbidden",
            i18n::current().t("ratings.error.not_resident"),
        ));
    };
    if state_of(&c) != CampaignState::Open {
        return Err(conflict("campaign_state", "ratings.error.not_open"));
    }
    let item_ids: Vec<i64> = store::items(tx, c.id).await?.iter().map(|i| i.id).collect();
    let given = pairs(&new.scores);
    let scores = rules::check_scores(&item_ids, &given).map_err(invalid)?;
    if store::response_of(tx, c.id, dwelling).await?.is_some() {
        return Err(conflict(
            "already_responded",
            "ratings.error.already_responded",
        ));
    }
    let ordered: Vec<(i64, i64)> = item_ids.iter().copied().zip(scores).collect();
    let response_id =
        match store::insert_response(tx, &s, dwelling, user.account_id, &ordered).await {
            Ok(id) => id,
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                return Err(conflict(
                    "already_responded",
                    "ratings.error.already_responded",
                ));
            }
            Err(e) => return Err(e.into()),
        };
    audit::record(
        tx,
        Entry::new(Some(user), "rating.respond", "rating_subject")
            .object(s.id)
            .district(Some(c.district_code.clone()))
            .detail(serde_json::json!({"dwelling_id": dwelling, "response_id": response_id})),
    )
    .await?;
    Ok(response_id)
}

/// Sets the panel's scores of a subject while the campaign is open.
pub async fn panel(
    tx: &impl ConnectionTrait,
    user: &Principal,
    subject_id: i64,
    scores: &[ItemScore],
) -> Result<(), ApiError> {
    store::lock_subject_campaign(tx, subject_id).await?;
    let (s, c, _, compound) = visible_subject(tx, user, subject_id).await?;
    if !scores_as_panel(user, &compound.position()) {
        return Err(ApiError::forbidden());
    }
    if state_of(&c) != CampaignState::Open {
        return Err(conflict("campaign_state", "ratings.error.not_open"));
    }
    let item_ids: Vec<i64> = store::items(tx, c.id).await?.iter().map(|i| i.id).collect();
    let checked = rules::check_scores(&item_ids, &pairs(scores)).map_err(invalid)?;
    let ordered: Vec<(i64, i64)> = item_ids.iter().copied().zip(checked).collect();
    store::replace_panel_scores(tx, &s, user.account_id, &ordered)
        .await
        .map_err(db_write)?;
    audit::record(
        tx,
        Entry::new(Some(user), "rating.panel", "rating_subject")
            .object(s.id)
            .district(Some(c.district_code.clone())),
    )
    .await?;
    Ok(())
}

/// The ranking of a campaign: live response counts while it is open, the
/// stored results once it is closed.
pub async fn results(
    db: &impl ConnectionTrait,
    user: &Principal,
    c: &campaign::Model,
) -> Result<Results, ApiError> {
    let subjects = store::subjects(db, c.id).await?;
    let stored = store::results(db, c.id).await?;
    let counts = if stored.is_empty() {
        store::response_counts(db, c.id).await?
    } else {
        HashMap::new()
    };
    let ids: Vec<i64> = subjects
        .iter()
        .flat_map(|s| [Some(s.compound_id), s.street_id])
        .flatten()
        .collect();
    let names = store::place_names(db, ids).await?;
    let name_of = |id: Option<i64>| id.and_then(|i| names.get(&i)).cloned().unwrap_or_default();
    let mut rows: Vec<ResultRow> = subjects
        .iter()
        .map(|s| {
            let r = stored.get(&s.id);
            ResultRow {
                subject_id: s.id,
                name: s.name.clone(),
                compound_id: s.compound_id,
                compound_name: name_of(Some(s.compound_id)),
                street_id: s.street_id,
                street_name: name_of(s.street_id),
                responses: r
                    .map(|r| r.responses as i64)
                    .unwrap_or_else(|| counts.get(&s.id).copied().unwrap_or(0)),
                residents_centi: r.and_then(|r| r.residents_centi).map(i64::from),
                panel_centi: r.and_then(|r| r.panel_centi).map(i64::from),
                total_centi: r.and_then(|r| r.total_centi).map(i64::from),
                rank_in_street: r.and_then(|r| r.rank_in_street).map(i64::from),
                rank_in_district: r.and_then(|r| r.rank_in_district).map(i64::from),
                stars: r.map(|r| r.stars as i64).unwrap_or(0),
                list: r.and_then(|r| r.list.as_deref()).and_then(ListMark::parse),
            }
        })
        .collect();
    // Highest total first; equal totals share a rank and are listed by name.
    rows.sort_by(|a, b| {
        b.total_centi
            .is_some()
            .cmp(&a.total_centi.is_some())
            .then(b.total_centi.cmp(&a.total_centi))
            .then(a.name.cmp(&b.name))
            .then(a.subject_id.cmp(&b.subject_id))
    });
    let my_subject_id = my_dwellings(db, user, c).await?.first().map(|(s, _)| s.id);
    Ok(Results {
        campaign_id: c.id,
        state: state_of(c),
        rows,
        my_subject_id,
    })
}

fn check_text(s: &str) -> Result<String, ApiError> {
    let t = s.trim();
    if t.is_empty() || t.chars().count() > 500 {
        return Err(invalid(Invalid {
            key: "ratings.error.text",
        }));
    }
    Ok(t.to_string())
}

/// Sets a rectification item for a black-listed subject.
pub async fn add_rectification(
    tx: &impl ConnectionTrait,
    user: &Principal,
    subject_id: i64,
    new: &NewRectification,
) -> Result<i64, ApiError> {
    store::lock_subject_campaign(tx, subject_id).await?;
    let (s, c, _, compound) = visible_subject(tx, user, subject_id).await?;
    // The street admin of the subject's street, or a district admin.
    if !manages(user, &compound.position()) {
        return Err(ApiError::forbidden());
    }
    let text = check_text(&new.text)?;
    let black = store::results(tx, c.id)
        .await?
        .get(&s.id)
        .is_some_and(|r| r.list.as_deref() == Some(ListMark::Black.as_str()));
    if !black {
        return Err(conflict(
            "not_black_listed",
            "ratings.error.not_black_listed",
        ));
    }
    let id = store::insert_rectification(tx, &s, &text, new.due_on, user.account_id).await?;
    audit::record(
        tx,
        Entry::new(Some(user), "rating.rectification_create", "rating_subject")
            .object(s.id)
            .district(Some(c.district_code.clone()))
            .detail(serde_json::json!({"rectification_id": id, "due_on": new.due_on})),
    )
    .await?;
    Ok(id)
}

/// Marks a rectification item done.
pub async fn complete(
    tx: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
    note: &str,
) -> Result<(), ApiError> {
    let r = store::find_rectification(tx, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    store::lock_subject_campaign(tx, r.subject_id).await?;
    // Read again under the lock: a concurrent completion has committed by now.
    let r = store::find_rectification(tx, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let (_, c, _, compound) = visible_subject(tx, user, r.subject_id).await?;
    if !completes_rectification(user, &compound.position(), kind_of(&c)) {
        return Err(ApiError::forbidden());
    }
    let note = check_text(note)?;
    if r.done_at.is_some() {
        return Err(conflict("already_done", "ratings.error.already_done"));
    }
    store::mark_done(tx, r.id, &note).await?;
    audit::record(
        tx,
        Entry::new(
            Some(user),
            "rating.rectification_done",
            "rating_rectification",
        )
        .object(r.id)
        .district(Some(c.district_code.clone())),
    )
    .await?;
    Ok(())
}

pub async fn rectification_views(
    db: &impl ConnectionTrait,
    user: &Principal,
    c: &campaign::Model,
) -> Result<Vec<RectificationView>, ApiError> {
    let rows: Vec<rectification::Model> = store::rectifications(db, c.id).await?;
    let subjects: HashMap<i64, subject::Model> = store::subjects(db, c.id)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let compounds = store::places(db, rows.iter().map(|r| r.compound_id).collect()).await?;
    let today = rules::china_today(Utc::now());
    let kind = kind_of(c);
    Ok(rows
        .into_iter()
        .map(|r| {
            let compound = compounds.get(&r.compound_id);
            RectificationView {
                id: r.id,
                subject_id: r.subject_id,
                subject_name: subjects
                    .get(&r.subject_id)
                    .map(|s| s.name.clone())
                    .unwrap_or_default(),
                compound_id: r.compound_id,
                compound_name: compound.map(|p| p.name.clone()).unwrap_or_default(),
                overdue: r.done_at.is_none() && r.due_on < today,
                can_complete: r.done_at.is_none()
                    && compound.is_some_and(|p| completes_rectification(user, &p.position(), kind)),
                text: r.text,
                due_on: r.due_on,
                done_at: r.done_at,
                done_note: r.done_note,
            }
        })
        .collect())
}

// ---------------------------------------------------------------- handlers

/// Campaigns the user may see, newest first.
#[utoipa::path(get, path = "/ratings/campaigns", tag = "ratings",
    responses((status = 200, body = Vec<CampaignSummary>), (status = 401, body = ErrorBody)))]
async fn list_campaigns(
    State(state): State<AppState>,
    user: User,
) -> Result<ApiJson<Vec<CampaignSummary>>, ApiError> {
    Ok(ApiJson(campaigns_for(state.db.conn(), &user).await?))
}

/// Creates a draft campaign for a street (street admin) or the district
/// (district admin).
#[utoipa::path(post, path = "/ratings/campaigns", tag = "ratings", request_body = NewCampaign,
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_campaign(
    State(state): State<AppState>,
    user: User,
    ApiJson(new): ApiJson<NewCampaign>,
) -> Result<(StatusCode, ApiJson<Created>), ApiError> {
    let tx = state.db.write().await?;
    let id = create(&tx, &user, &new).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(Created { id })))
}

/// One campaign: items, weighting, thresholds and the reader's part.
#[utoipa::path(get, path = "/ratings/campaigns/{id}", tag = "ratings",
    params(("id" = i64, Path, description = "Campaign id")),
    responses((status = 200, body = CampaignView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_campaign(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<CampaignView>, ApiError> {
    let db = state.db.conn();
    let (c, scope) = visible_campaign(db, &user, id).await?;
    Ok(ApiJson(campaign_view(db, &user, &c, &scope).await?))
}

/// Opens a draft campaign; its subjects are fixed now.
#[utoipa::path(post, path = "/ratings/campaigns/{id}/open", tag = "ratings",
    params(("id" = i64, Path, description = "Campaign id")),
    responses((status = 200, body = CampaignView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn open_campaign(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<CampaignView>, ApiError> {
    let tx = state.db.write().await?;
    open(&tx, &user, id).await?;
    let (c, scope) = visible_campaign(&tx, &user, id).await?;
    let view = campaign_view(&tx, &user, &c, &scope).await?;
    tx.commit().await?;
    Ok(ApiJson(view))
}

/// Closes an open campaign, computing and storing every result in one
/// transaction.
#[utoipa::path(post, path = "/ratings/campaigns/{id}/close", tag = "ratings",
    params(("id" = i64, Path, description = "Campaign id")),
    responses((status = 200, body = Results), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn close_campaign(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<Results>, ApiError> {
    let tx = state.db.write().await?;
    close(&tx, &user, id).await?;
    let (c, _) = visible_campaign(&tx, &user, id).await?;
    let body = results(&tx, &user, &c).await?;
    tx.commit().await?;
    Ok(ApiJson(body))
}

/// A resident's (or party member's) response for their dwelling: one per
/// dwelling per campaign.
#[utoipa::path(post, path = "/ratings/campaigns/{id}/responses", tag = "ratings",
    params(("id" = i64, Path, description = "Campaign id")), request_body = NewResponse,
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn respond(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(new): ApiJson<NewResponse>,
) -> Result<(StatusCode, ApiJson<Created>), ApiError> {
    let tx = state.db.write().await?;
    let rid = add_response(&tx, &user, id, &new).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(Created { id: rid })))
}

/// The ranking: totals, ranks in the street and the district, stars and lists.
#[utoipa::path(get, path = "/ratings/campaigns/{id}/results", tag = "ratings",
    params(("id" = i64, Path, description = "Campaign id")),
    responses((status = 200, body = Results), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_results(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<Results>, ApiError> {
    let db = state.db.conn();
    let (c, _) = visible_campaign(db, &user, id).await?;
    Ok(ApiJson(results(db, &user, &c).await?))
}

/// Rectification items of a campaign's black-listed subjects, overdue marked.
#[utoipa::path(get, path = "/ratings/campaigns/{id}/rectifications", tag = "ratings",
    params(("id" = i64, Path, description = "Campaign id")),
    responses((status = 200, body = Vec<RectificationView>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_rectifications(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<Vec<RectificationView>>, ApiError> {
    let db = state.db.conn();
    let (c, _) = visible_campaign(db, &user, id).await?;
    Ok(ApiJson(rectification_views(db, &user, &c).await?))
}

/// The party organisation's panel scores of one subject (its compound's
/// secretary or community worker), replaceable until the campaign closes.
#[utoipa::path(put, path = "/ratings/subjects/{id}/panel", tag = "ratings",
    params(("id" = i64, Path, description = "Subject id")), request_body = PanelScores,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_panel_scores(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<PanelScores>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    panel(&tx, &user, id, &body.scores).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A rectification item with a deadline for a black-listed subject
/// (street or district admin).
#[utoipa::path(post, path = "/ratings/subjects/{id}/rectifications", tag = "ratings",
    params(("id" = i64, Path, description = "Subject id")), request_body = NewRectification,
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_rectification(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(new): ApiJson<NewRectification>,
) -> Result<(StatusCode, ApiJson<Created>), ApiError> {
    let tx = state.db.write().await?;
    let rid = add_rectification(&tx, &user, id, &new).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(Created { id: rid })))
}

/// Marks a rectification item done (the compound's property staff, or its
/// owners' committee in a committee campaign).
#[utoipa::path(post, path = "/ratings/rectifications/{id}/done", tag = "ratings",
    params(("id" = i64, Path, description = "Rectification item id")), request_body = RectificationDone,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn complete_rectification(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<RectificationDone>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    complete(&tx, &user, id, &body.note).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
