//! JSON API of agencies and their pairing with compounds.
//!
//! Scope: an agency belongs to a district and is seen by every account
//! holding a role in that district (or above it); district admins manage
//! agencies. Directed pairing and its end are for district and street
//! admins whose scope holds the compound. A selection round covers a
//! street or the district: its agencies' admins and the secretaries of its
//! compounds state preferences, an admin of the scope solves it.

use std::collections::{HashMap, HashSet};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use jinlin_kernel::ApiError;
use jinlin_kernel::audit::{self, Entry};
use jinlin_kernel::auth::entity::{account, role_grant};
use jinlin_kernel::auth::{Access, Principal, Role, User};
use jinlin_kernel::error::ErrorBody;
use jinlin_kernel::i18n;
use jinlin_kernel::place::entity as place;
use jinlin_kernel::place::{PlaceKind, Position};
use jinlin_kernel::web::{ApiJson, AppState};
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::entity::{
    agency, agency_account, agency_member, agency_pairing, round_agency_preference,
    round_compound_preference, selection_round,
};
use crate::rules::{self, AgencyPrefs, Category, CompoundPrefs, Invalid, RoundState, Route};
use crate::store;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_agencies, create_agency))
        .routes(routes!(get_agency, update_agency, delete_agency))
        .routes(routes!(link_account))
        .routes(routes!(unlink_account))
        .routes(routes!(list_members, add_member))
        .routes(routes!(remove_member))
        .routes(routes!(agency_pairings, pair_directed))
        .routes(routes!(end_pairing))
        .routes(routes!(compound_pairings))
        .routes(routes!(list_rounds, create_round))
        .routes(routes!(get_round))
        .routes(routes!(agency_preference))
        .routes(routes!(compound_preference))
        .routes(routes!(solve_round))
        .routes(routes!(close_round))
        .routes(routes!(figures))
}

// ---------------------------------------------------------------- errors

pub fn invalid(e: Invalid) -> ApiError {
    ApiError::invalid(i18n::current().t(e.key))
}

fn invalid_key(key: &'static str) -> ApiError {
    invalid(Invalid { key })
}

fn conflict(key: &str) -> ApiError {
    ApiError::with_message(StatusCode::CONFLICT, "conflict", i18n::current().t(key))
}

// ---------------------------------------------------------------- scope

/// Whether the user holds any role in the district (or above it).
pub fn reaches_district(user: &Principal, district: &place::Model) -> bool {
    user.sees(&district.position())
        || user
            .grants
            .iter()
            .any(|g| g.place.district_code == district.district_code)
}

/// Whether the user may manage the district's agencies.
pub fn manages_district(user: &Principal, district: &place::Model) -> bool {
    user.can(Access::Edit, &district.position())
}

/// An agency the user may see (404 otherwise) with its district.
pub async fn visible_agency(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<(agency::Model, place::Model), ApiError> {
    let Some(a) = agency::Entity::find_by_id(id).one(db).await? else {
        return Err(ApiError::not_found());
    };
    let Some(d) = store::district(db, &a.district_code).await? else {
        return Err(ApiError::not_found());
    };
    if !reaches_district(user, &d) {
        return Err(ApiError::not_found());
    }
    Ok((a, d))
}

/// A compound the user may see (404 otherwise, and for other kinds).
pub async fn visible_compound(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<place::Model, ApiError> {
    match jinlin_places::store::find(db, id).await? {
        Some(p)
            if p.kind == PlaceKind::Compound.as_str()
                && jinlin_places::store::visible(user, &p) =>
        {
            Ok(p)
        }
        _ => Err(ApiError::not_found()),
    }
}

/// District and street admins whose scope holds the place pair agencies.
pub fn pairs_at(user: &Principal, target: &Position) -> bool {
    user.roles_for(Access::Edit, target)
        .iter()
        .any(|r| matches!(r, Role::DistrictAdmin | Role::StreetAdmin))
}

fn is_secretary_of(user: &Principal, compound: &place::Model) -> bool {
    user.roles_for(Access::Personal, &compound.position())
        .contains(&Role::CompoundSecretary)
}

// ---------------------------------------------------------------- shapes

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AgencyCreated)]
pub struct Created {
    pub id: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgencyInput {
    /// The district the agency belongs to (a place id); ignored on update.
    pub district_id: Option<i64>,
    pub name: String,
    pub category: Category,
    /// Name of the agency's party organisation.
    pub party_org_name: String,
    pub contact: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgencySummary {
    pub id: i64,
    pub district_code: String,
    pub name: String,
    pub category: Category,
    pub party_org_name: String,
    pub contact: Option<String>,
    /// Compounds currently paired.
    pub current_pairings: u64,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AgencyPairingView)]
pub struct PairingView {
    pub id: i64,
    pub agency_id: i64,
    pub agency_name: String,
    pub compound_id: i64,
    pub compound_name: String,
    pub route: Route,
    pub round_id: Option<i64>,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub end_reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgencyView {
    #[serde(flatten)]
    pub agency: AgencySummary,
    /// Accounts linked as the agency's admins (district admins only).
    pub accounts: Option<Vec<AccountLink>>,
    /// Current pairings first, then the history.
    pub pairings: Vec<PairingView>,
    /// Whether the reader may change the agency.
    pub can_manage: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AgencyAccountLink)]
pub struct AccountLink {
    pub account_id: i64,
    pub username: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = AgencyLinkAccount)]
#[serde(deny_unknown_fields)]
pub struct LinkAccount {
    pub account_id: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = NewAgencyPairing)]
#[serde(deny_unknown_fields)]
pub struct NewPairing {
    pub compound_id: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = EndAgencyPairing)]
#[serde(deny_unknown_fields)]
pub struct EndPairing {
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = NewSelectionRound)]
#[serde(deny_unknown_fields)]
pub struct NewRound {
    /// A street (district or street admin) or the district (district admin).
    pub scope_place_id: i64,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = SelectionRoundSummary)]
pub struct RoundSummary {
    pub id: i64,
    pub name: String,
    pub scope_place_id: i64,
    pub scope_name: String,
    pub state: RoundState,
    pub created_at: DateTime<Utc>,
    pub solved_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgencyPreferenceInput {
    /// How many compounds the agency offers to serve, 1–100.
    pub capacity: i64,
    /// Compounds of the round, most wanted first.
    pub compound_ids: Vec<i64>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompoundPreferenceInput {
    /// Agencies of the round's district, most wanted first.
    pub agency_ids: Vec<i64>,
    /// The needs the compound states.
    #[serde(default)]
    pub needs: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AgencyNamedId)]
pub struct NamedId {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgencyPreferenceView {
    pub agency: NamedId,
    pub capacity: i64,
    pub compounds: Vec<NamedId>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompoundPreferenceView {
    pub compound: NamedId,
    pub agencies: Vec<NamedId>,
    pub needs: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RoundReportLine)]
pub struct ReportLine {
    pub id: i64,
    pub name: String,
    pub reason: rules::Reason,
    /// Paired afterwards by directed pairing.
    pub directed: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RoundPairLine)]
pub struct PairLine {
    pub agency: NamedId,
    pub compound: NamedId,
    pub route: Route,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = SelectionRoundReport)]
pub struct RoundReport {
    pub pairs: Vec<PairLine>,
    /// Agencies the matching did not place, and why.
    pub agencies: Vec<ReportLine>,
    /// Compounds the matching did not place, and why.
    pub compounds: Vec<ReportLine>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = SelectionRoundView)]
pub struct RoundView {
    #[serde(flatten)]
    pub round: RoundSummary,
    /// Agencies of the district (the choices of a compound).
    pub agencies: Vec<NamedId>,
    /// Compounds of the scope (the choices of an agency).
    pub compounds: Vec<NamedId>,
    /// Preferences the reader may see: all for admins of the scope, their
    /// own for agency admins and compound secretaries.
    pub agency_preferences: Vec<AgencyPreferenceView>,
    pub compound_preferences: Vec<CompoundPreferenceView>,
    /// Agencies whose preferences the reader may state.
    pub my_agencies: Vec<i64>,
    /// Compounds whose preferences the reader may state.
    pub my_compounds: Vec<i64>,
    pub can_solve: bool,
    pub report: Option<RoundReport>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AgencyFigure)]
pub struct Figure {
    pub place_id: i64,
    pub name: String,
    pub kind: PlaceKind,
    /// Agencies of the district (district figures only).
    pub agencies: Option<u64>,
    /// Agencies with at least one compound (district figures only).
    pub agencies_paired: Option<u64>,
    /// e.g. "100.0%".
    pub agencies_paired_percent: Option<String>,
    pub compounds: u64,
    /// Compounds with at least one agency.
    pub compounds_paired: u64,
    pub compounds_paired_percent: Option<String>,
    /// Current pairings in the place.
    pub pairings: u64,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AgencyFigures)]
pub struct Figures {
    #[serde(flatten)]
    pub place: Figure,
    /// The streets of a district (or nothing for a street).
    pub children: Vec<Figure>,
}

fn percent(n: u64, d: u64) -> Option<String> {
    (d > 0).then(|| format!("{:.1}%", n as f64 * 100.0 / d as f64))
}

// ---------------------------------------------------------------- agencies

pub async fn summaries(
    db: &impl ConnectionTrait,
    user: &Principal,
) -> Result<Vec<AgencySummary>, ApiError> {
    let districts = store::districts(db).await?;
    let mut out = Vec::new();
    for (code, d) in &districts {
        if !reaches_district(user, d) {
            continue;
        }
        // One query for the district's current pairings, counted here.
        let mut counts: HashMap<i64, u64> = HashMap::new();
        for p in store::current_pairings_in(db, code).await? {
            *counts.entry(p.agency_id).or_default() += 1;
        }
        for a in store::agencies_of_district(db, code).await? {
            let n = counts.get(&a.id).copied().unwrap_or(0);
            out.push(summary_with(a, n));
        }
    }
    out.sort_by(|a, b| (&a.district_code, &a.name).cmp(&(&b.district_code, &b.name)));
    Ok(out)
}

fn summary_with(a: agency::Model, current: u64) -> AgencySummary {
    AgencySummary {
        id: a.id,
        district_code: a.district_code,
        name: a.name,
        category: Category::parse(&a.category).unwrap_or(Category::Other),
        party_org_name: a.party_org_name,
        contact: a.contact,
        current_pairings: current,
    }
}

async fn summary(db: &impl ConnectionTrait, a: agency::Model) -> Result<AgencySummary, ApiError> {
    let current = agency_pairing::Entity::find()
        .filter(agency_pairing::Column::AgencyId.eq(a.id))
        .filter(agency_pairing::Column::EndedAt.is_null())
        .count(db)
        .await?;
    Ok(summary_with(a, current))
}

pub async fn pairing_views(
    db: &impl ConnectionTrait,
    rows: Vec<agency_pairing::Model>,
) -> Result<Vec<PairingView>, ApiError> {
    let ids: Vec<i64> = rows.iter().map(|p| p.compound_id).collect();
    let places = store::places(db, &ids).await?;
    let agency_ids: Vec<i64> = rows.iter().map(|p| p.agency_id).collect();
    let agencies: HashMap<i64, String> = agency::Entity::find()
        .filter(agency::Column::Id.is_in(agency_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    Ok(rows
        .into_iter()
        .map(|p| PairingView {
            id: p.id,
            agency_id: p.agency_id,
            agency_name: agencies.get(&p.agency_id).cloned().unwrap_or_default(),
            compound_id: p.compound_id,
            compound_name: places
                .get(&p.compound_id)
                .map(|c| c.name.clone())
                .unwrap_or_default(),
            route: Route::parse(&p.route).unwrap_or(Route::Directed),
            round_id: p.round_id,
            started_at: p.started_at,
            ended_at: p.ended_at,
            end_reason: p.end_reason,
        })
        .collect())
}

pub async fn agency_view(
    db: &impl ConnectionTrait,
    user: &Principal,
    a: agency::Model,
    d: &place::Model,
) -> Result<AgencyView, ApiError> {
    let can_manage = manages_district(user, d);
    let accounts = if can_manage {
        let links = store::accounts_of(db, a.id).await?;
        let ids: Vec<i64> = links.iter().map(|l| l.account_id).collect();
        let names: HashMap<i64, String> = account::Entity::find()
            .filter(account::Column::Id.is_in(ids))
            .all(db)
            .await?
            .into_iter()
            .map(|a| (a.id, a.username))
            .collect();
        Some(
            links
                .iter()
                .map(|l| AccountLink {
                    account_id: l.account_id,
                    username: names.get(&l.account_id).cloned().unwrap_or_default(),
                })
                .collect(),
        )
    } else {
        None
    };
    let rows = store::pairings(db, Some(a.id), None).await?;
    let pairings = pairing_views(db, rows).await?;
    Ok(AgencyView {
        agency: summary(db, a).await?,
        accounts,
        pairings,
        can_manage,
    })
}

fn checked(input: &AgencyInput) -> Result<(String, String, Option<String>), ApiError> {
    let name = rules::check_text(&input.name, 128).map_err(invalid)?;
    let org = rules::check_text(&input.party_org_name, 128).map_err(invalid)?;
    let contact = match input.contact.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(c) => Some(rules::check_text(c, 128).map_err(invalid)?),
    };
    Ok((name, org, contact))
}

pub async fn create(
    db: &impl ConnectionTrait,
    user: &Principal,
    input: &AgencyInput,
) -> Result<i64, ApiError> {
    let Some(district_id) = input.district_id else {
        return Err(invalid_key("agencies.error.district"));
    };
    let d = match jinlin_places::store::find(db, district_id).await? {
        Some(p) if p.kind == PlaceKind::District.as_str() && reaches_district(user, &p) => p,
        _ => return Err(ApiError::not_found()),
    };
    if !manages_district(user, &d) {
        return Err(ApiError::forbidden());
    }
    let (name, org, contact) = checked(input)?;
    let code = d.district_code.clone().unwrap_or_default();
    if store::name_taken(db, &code, &name, None).await? {
        return Err(conflict("agencies.error.name_taken"));
    }
    let now = Utc::now();
    let id = agency::Entity::insert(agency::ActiveModel {
        district_code: Set(code.clone()),
        name: Set(name),
        category: Set(input.category.as_str().into()),
        party_org_name: Set(org),
        contact: Set(contact),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec(db)
    .await?
    .last_insert_id;
    audit::record(
        db,
        Entry::new(Some(user), "agency.create", "agency")
            .object(id)
            .district(Some(code)),
    )
    .await?;
    Ok(id)
}

/// Agencies the reader may see.
#[utoipa::path(get, path = "/agencies", tag = "agencies",
    responses((status = 200, body = Vec<AgencySummary>), (status = 401, body = ErrorBody)))]
async fn list_agencies(
    State(state): State<AppState>,
    user: User,
) -> Result<ApiJson<Vec<AgencySummary>>, ApiError> {
    Ok(ApiJson(summaries(state.db.conn(), &user).await?))
}

/// Registers an agency of a district (district admin).
#[utoipa::path(post, path = "/agencies", tag = "agencies", request_body = AgencyInput,
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_agency(
    State(state): State<AppState>,
    user: User,
    ApiJson(input): ApiJson<AgencyInput>,
) -> Result<(StatusCode, ApiJson<Created>), ApiError> {
    let tx = state.db.write().await?;
    let id = create(&tx, &user, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(Created { id })))
}

/// One agency with its admins and its pairings, current and past.
#[utoipa::path(get, path = "/agencies/{id}", tag = "agencies",
    params(("id" = i64, Path, description = "Agency id")),
    responses((status = 200, body = AgencyView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_agency(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<AgencyView>, ApiError> {
    let db = state.db.conn();
    let (a, d) = visible_agency(db, &user, id).await?;
    Ok(ApiJson(agency_view(db, &user, a, &d).await?))
}

/// Changes an agency (district admin).
#[utoipa::path(put, path = "/agencies/{id}", tag = "agencies", request_body = AgencyInput,
    params(("id" = i64, Path, description = "Agency id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_agency(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<AgencyInput>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    let (a, d) = visible_agency(&tx, &user, id).await?;
    if !manages_district(&user, &d) {
        return Err(ApiError::forbidden());
    }
    let (name, org, contact) = checked(&input)?;
    if store::name_taken(&tx, &a.district_code, &name, Some(a.id)).await? {
        return Err(conflict("agencies.error.name_taken"));
    }
    let code = a.district_code.clone();
    let mut m: agency::ActiveModel = a.into();
    m.name = Set(name);
    m.category = Set(input.category.as_str().into());
    m.party_org_name = Set(org);
    m.contact = Set(contact);
    m.updated_at = Set(Utc::now());
    agency::Entity::update(m).exec(&tx).await?;
    audit::record(
        &tx,
        Entry::new(Some(&user), "agency.update", "agency")
            .object(id)
            .district(Some(code)),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes an agency that was never paired (district admin); a paired
/// agency keeps its history (409).
#[utoipa::path(delete, path = "/agencies/{id}", tag = "agencies",
    params(("id" = i64, Path, description = "Agency id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn delete_agency(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    let (a, d) = visible_agency(&tx, &user, id).await?;
    if !manages_district(&user, &d) {
        return Err(ApiError::forbidden());
    }
    let paired = agency_pairing::Entity::find()
        .filter(agency_pairing::Column::AgencyId.eq(id))
        .count(&tx)
        .await?;
    if paired > 0 {
        return Err(conflict("agencies.error.has_pairings"));
    }
    agency::Entity::delete_by_id(id).exec(&tx).await?;
    audit::record(
        &tx,
        Entry::new(Some(&user), "agency.delete", "agency")
            .object(id)
            .district(Some(a.district_code)),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Links an account to the agency as its admin and grants it the agency
/// admin role at the district (district admin).
#[utoipa::path(post, path = "/agencies/{id}/accounts", tag = "agencies", request_body = LinkAccount,
    params(("id" = i64, Path, description = "Agency id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn link_account(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<LinkAccount>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    link(&tx, &user, id, body.account_id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn link(
    db: &impl ConnectionTrait,
    user: &Principal,
    agency_id: i64,
    account_id: i64,
) -> Result<(), ApiError> {
    let (a, d) = visible_agency(db, user, agency_id).await?;
    if !manages_district(user, &d) {
        return Err(ApiError::forbidden());
    }
    if account::Entity::find_by_id(account_id)
        .one(db)
        .await?
        .is_none()
    {
        return Err(invalid_key("agencies.error.unknown_account"));
    }
    if store::administers(db, account_id, a.id).await? {
        return Ok(());
    }
    let now = Utc::now();
    agency_account::Entity::insert(agency_account::ActiveModel {
        agency_id: Set(a.id),
        district_code: Set(a.district_code.clone()),
        account_id: Set(account_id),
        created_at: Set(now),
        ..Default::default()
    })
    .exec(db)
    .await?;
    let granted = role_grant::Entity::find()
        .filter(role_grant::Column::AccountId.eq(account_id))
        .filter(role_grant::Column::Role.eq(Role::AgencyAdmin.as_str()))
        .filter(role_grant::Column::PlaceId.eq(d.id))
        .count(db)
        .await?;
    if granted == 0 {
        role_grant::Entity::insert(role_grant::ActiveModel {
            account_id: Set(account_id),
            role: Set(Role::AgencyAdmin.as_str().into()),
            place_id: Set(d.id),
            district_code: Set(d.district_code.clone()),
            granted_by: Set(Some(user.account_id)),
            created_at: Set(now),
            ..Default::default()
        })
        .exec(db)
        .await?;
    }
    audit::record(
        db,
        Entry::new(Some(user), "agency.link_account", "agency")
            .object(a.id)
            .district(Some(a.district_code))
            .detail(serde_json::json!({ "account_id": account_id })),
    )
    .await?;
    Ok(())
}

/// Unlinks an account from the agency (district admin). The role grant
/// stays for the account's other agencies; without any it reaches nothing.
#[utoipa::path(delete, path = "/agencies/{id}/accounts/{account_id}", tag = "agencies",
    params(("id" = i64, Path, description = "Agency id"), ("account_id" = i64, Path, description = "Account id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn unlink_account(
    State(state): State<AppState>,
    user: User,
    Path((id, account_id)): Path<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    let (a, d) = visible_agency(&tx, &user, id).await?;
    if !manages_district(&user, &d) {
        return Err(ApiError::forbidden());
    }
    let gone = agency_account::Entity::delete_many()
        .filter(agency_account::Column::AgencyId.eq(id))
        .filter(agency_account::Column::AccountId.eq(account_id))
        .exec(&tx)
        .await?;
    if gone.rows_affected == 0 {
        return Err(ApiError::not_found());
    }
    audit::record(
        &tx,
        Entry::new(Some(&user), "agency.unlink_account", "agency")
            .object(id)
            .district(Some(a.district_code))
            .detail(serde_json::json!({ "account_id": account_id })),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- members

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AgencyMemberView)]
pub struct MemberView {
    pub id: i64,
    pub name: String,
    /// e.g. `secretary`, `member`, `liaison`.
    pub role: String,
    pub person_id: Option<i64>,
    pub account_id: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = NewAgencyMember)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    pub name: String,
    pub role: String,
    pub person_id: Option<i64>,
    pub account_id: Option<i64>,
}

/// Who may change an agency's members: district admins and its own admins.
async fn manages_agency(
    db: &impl ConnectionTrait,
    user: &Principal,
    a: &agency::Model,
    d: &place::Model,
) -> Result<bool, ApiError> {
    Ok(manages_district(user, d)
        || user.has_role(Role::AgencyAdmin)
            && store::administers(db, user.account_id, a.id).await?)
}

/// An agency's members (party organisation and liaisons).
#[utoipa::path(get, path = "/agencies/{id}/members", tag = "agencies",
    params(("id" = i64, Path, description = "Agency id")),
    responses((status = 200, body = Vec<MemberView>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_members(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<Vec<MemberView>>, ApiError> {
    let db = state.db.conn();
    let (a, _) = visible_agency(db, &user, id).await?;
    let rows = agency_member::Entity::find()
        .filter(agency_member::Column::AgencyId.eq(a.id))
        .all(db)
        .await?;
    Ok(ApiJson(
        rows.into_iter()
            .map(|m| MemberView {
                id: m.id,
                name: m.name,
                role: m.role,
                person_id: m.person_id,
                account_id: m.account_id,
            })
            .collect(),
    ))
}

/// Adds a member (district admin or the agency's admin).
#[utoipa::path(post, path = "/agencies/{id}/members", tag = "agencies", request_body = NewMember,
    params(("id" = i64, Path, description = "Agency id")),
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_member(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<NewMember>,
) -> Result<(StatusCode, ApiJson<Created>), ApiError> {
    let tx = state.db.write().await?;
    let (a, d) = visible_agency(&tx, &user, id).await?;
    if !manages_agency(&tx, &user, &a, &d).await? {
        return Err(ApiError::forbidden());
    }
    let name = rules::check_text(&body.name, 64).map_err(invalid)?;
    let role = rules::check_text(&body.role, 32).map_err(invalid)?;
    // Members are people of the agency's own district: being listed as a
    // member lets the agency see that person's service, so an id from
    // elsewhere is refused exactly like an id that does not exist.
    let district = a.district_code.as_str();
    let mut person_id = body.person_id;
    if let Some(acc) = body.account_id {
        let Some(found) = account::Entity::find_by_id(acc).one(&tx).await? else {
            return Err(invalid_key("agencies.error.unknown_account"));
        };
        let person_here = match found.person_id {
            Some(p) => jinlin_people::store::find(&tx, p)
                .await?
                .is_some_and(|p| p.district_code.as_deref() == Some(district)),
            None => false,
        };
        let granted_here = role_grant::Entity::find()
            .filter(role_grant::Column::AccountId.eq(acc))
            .filter(role_grant::Column::DistrictCode.eq(district))
            .count(&tx)
            .await?
            > 0;
        if !person_here && !granted_here {
            return Err(invalid_key("agencies.error.unknown_account"));
        }
        match (person_id, found.person_id) {
            (Some(given), Some(own)) if given != own => {
                return Err(invalid_key("agencies.error.unknown_person"));
            }
            (None, own) => person_id = own,
            _ => {}
        }
    }
    if let Some(person) = person_id
        && jinlin_people::store::find(&tx, person)
            .await?
            .is_none_or(|p| p.district_code.as_deref() != Some(district))
    {
        return Err(invalid_key("agencies.error.unknown_person"));
    }
    let mid = agency_member::Entity::insert(agency_member::ActiveModel {
        agency_id: Set(a.id),
        district_code: Set(a.district_code.clone()),
        person_id: Set(person_id),
        account_id: Set(body.account_id),
        name: Set(name),
        role: Set(role),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(&tx)
    .await?
    .last_insert_id;
    audit::record(
        &tx,
        Entry::new(Some(&user), "agency.add_member", "agency")
            .object(a.id)
            .district(Some(a.district_code)),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(Created { id: mid })))
}

/// Removes a member (district admin or the agency's admin).
#[utoipa::path(delete, path = "/agencies/{id}/members/{member_id}", tag = "agencies",
    params(("id" = i64, Path, description = "Agency id"), ("member_id" = i64, Path, description = "Member id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn remove_member(
    State(state): State<AppState>,
    user: User,
    Path((id, member_id)): Path<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    let (a, d) = visible_agency(&tx, &user, id).await?;
    if !manages_agency(&tx, &user, &a, &d).await? {
        return Err(ApiError::forbidden());
    }
    let gone = agency_member::Entity::delete_many()
        .filter(agency_member::Column::AgencyId.eq(a.id))
        .filter(agency_member::Column::Id.eq(member_id))
        .exec(&tx)
        .await?;
    if gone.rows_affected == 0 {
        return Err(ApiError::not_found());
    }
    audit::record(
        &tx,
        Entry::new(Some(&user), "agency.remove_member", "agency")
            .object(a.id)
            .district(Some(a.district_code)),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- pairings

/// An agency's pairings, current first, then the history.
#[utoipa::path(get, path = "/agencies/{id}/pairings", tag = "agencies",
    params(("id" = i64, Path, description = "Agency id")),
    responses((status = 200, body = Vec<PairingView>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn agency_pairings(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<Vec<PairingView>>, ApiError> {
    let db = state.db.conn();
    let (a, _) = visible_agency(db, &user, id).await?;
    let rows = store::pairings(db, Some(a.id), None).await?;
    Ok(ApiJson(pairing_views(db, rows).await?))
}

pub async fn directed(
    db: &impl ConnectionTrait,
    user: &Principal,
    agency_id: i64,
    compound_id: i64,
) -> Result<i64, ApiError> {
    store::lock_agency(db, agency_id).await?;
    let (a, _) = visible_agency(db, user, agency_id).await?;
    let c = match jinlin_places::store::find(db, compound_id).await? {
        Some(p) if jinlin_places::store::visible(user, &p) => p,
        // A compound that does not exist or lies outside the user's scope.
        _ => return Err(invalid_key("agencies.error.unknown_compound")),
    };
    if c.kind != PlaceKind::Compound.as_str() {
        return Err(invalid_key("agencies.error.unknown_compound"));
    }
    if !pairs_at(user, &c.position()) {
        return Err(ApiError::forbidden());
    }
    if c.district_code.as_deref() != Some(a.district_code.as_str()) {
        return Err(invalid_key("agencies.error.other_district"));
    }
    if store::current_pairing(db, a.id, c.id).await?.is_some() {
        return Err(conflict("agencies.error.already_paired"));
    }
    let id = store::pair(db, &a, &c, Route::Directed, None, user.account_id).await?;
    audit::record(
        db,
        Entry::new(Some(user), "agency.pair", "agency_pairing")
            .object(id)
            .district(Some(a.district_code))
            .detail(serde_json::json!({ "agency_id": a.id, "compound_id": c.id })),
    )
    .await?;
    Ok(id)
}

/// Directed pairing: a district or street admin pairs the agency with a
/// compound of their scope.
#[utoipa::path(post, path = "/agencies/{id}/pairings", tag = "agencies", request_body = NewPairing,
    params(("id" = i64, Path, description = "Agency id")),
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn pair_directed(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<NewPairing>,
) -> Result<(StatusCode, ApiJson<Created>), ApiError> {
    let tx = state.db.write().await?;
    let pid = directed(&tx, &user, id, body.compound_id).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(Created { id: pid })))
}

pub async fn end(
    db: &impl ConnectionTrait,
    user: &Principal,
    pairing_id: i64,
    reason: &str,
) -> Result<(), ApiError> {
    let Some(p) = agency_pairing::Entity::find_by_id(pairing_id)
        .one(db)
        .await?
    else {
        return Err(ApiError::not_found());
    };
    store::lock_agency(db, p.agency_id).await?;
    // Read again under the lock, so a concurrent end is seen.
    let Some(p) = agency_pairing::Entity::find_by_id(pairing_id)
        .one(db)
        .await?
    else {
        return Err(ApiError::not_found());
    };
    let c = visible_compound(db, user, p.compound_id).await?;
    if !pairs_at(user, &c.position()) {
        return Err(ApiError::forbidden());
    }
    if p.ended_at.is_some() {
        return Err(conflict("agencies.error.already_ended"));
    }
    let reason = rules::check_text(reason, 500).map_err(invalid)?;
    let code = p.district_code.clone();
    let mut m: agency_pairing::ActiveModel = p.into();
    m.ended_at = Set(Some(Utc::now()));
    m.end_reason = Set(Some(reason));
    m.ended_by = Set(Some(user.account_id));
    agency_pairing::Entity::update(m).exec(db).await?;
    audit::record(
        db,
        Entry::new(Some(user), "agency.end_pairing", "agency_pairing")
            .object(pairing_id)
            .district(Some(code)),
    )
    .await?;
    Ok(())
}

/// Ends a pairing with a reason; the row stays as history.
#[utoipa::path(post, path = "/agency-pairings/{id}/end", tag = "agencies", request_body = EndPairing,
    params(("id" = i64, Path, description = "Pairing id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn end_pairing(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<EndPairing>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    end(&tx, &user, id, &body.reason).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A compound's agencies, current first, then the history.
#[utoipa::path(get, path = "/places/{id}/agencies", tag = "agencies",
    params(("id" = i64, Path, description = "Compound (place) id")),
    responses((status = 200, body = Vec<PairingView>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn compound_pairings(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<Vec<PairingView>>, ApiError> {
    let db = state.db.conn();
    let c = visible_compound(db, &user, id).await?;
    let rows = store::pairings(db, None, Some(c.id)).await?;
    Ok(ApiJson(pairing_views(db, rows).await?))
}

// ---------------------------------------------------------------- rounds

/// Whether the user takes part in or oversees a round of `scope`: roles
/// reaching the scope or inside it, and the district's agency admins.
fn reaches_scope(user: &Principal, scope: &place::Model) -> bool {
    let pos = scope.position();
    user.sees(&pos)
        || user.grants.iter().any(|g| {
            g.place.is_within(&pos)
                || g.role == Role::AgencyAdmin && g.place.district_code == scope.district_code
        })
}

/// A round the user may see, with its scope (404 otherwise).
pub async fn visible_round(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<(selection_round::Model, place::Model), ApiError> {
    let Some(r) = selection_round::Entity::find_by_id(id).one(db).await? else {
        return Err(ApiError::not_found());
    };
    let Some(scope) = jinlin_places::store::find(db, r.scope_place_id).await? else {
        return Err(ApiError::not_found());
    };
    if !reaches_scope(user, &scope) {
        return Err(ApiError::not_found());
    }
    Ok((r, scope))
}

fn round_summary(r: &selection_round::Model, scope: &place::Model) -> RoundSummary {
    RoundSummary {
        id: r.id,
        name: r.name.clone(),
        scope_place_id: scope.id,
        scope_name: scope.name.clone(),
        state: RoundState::parse(&r.state).unwrap_or(RoundState::Closed),
        created_at: r.created_at,
        solved_at: r.solved_at,
    }
}

pub async fn round_summaries(
    db: &impl ConnectionTrait,
    user: &Principal,
) -> Result<Vec<RoundSummary>, ApiError> {
    let rows = store::rounds(db).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.scope_place_id).collect();
    let scopes = store::places(db, &ids).await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let s = scopes.get(&r.scope_place_id)?;
            reaches_scope(user, s).then(|| round_summary(r, s))
        })
        .collect())
}

/// Whether the user may create and solve rounds of `scope`.
fn runs_round(user: &Principal, scope: &place::Model) -> bool {
    let pos = scope.position();
    if scope.kind == PlaceKind::District.as_str() {
        user.roles_for(Access::Edit, &pos)
            .contains(&Role::DistrictAdmin)
    } else {
        pairs_at(user, &pos)
    }
}

/// Selection rounds the reader takes part in or oversees.
#[utoipa::path(get, path = "/selection-rounds", tag = "agencies",
    responses((status = 200, body = Vec<RoundSummary>), (status = 401, body = ErrorBody)))]
async fn list_rounds(
    State(state): State<AppState>,
    user: User,
) -> Result<ApiJson<Vec<RoundSummary>>, ApiError> {
    Ok(ApiJson(round_summaries(state.db.conn(), &user).await?))
}

pub async fn new_round(
    db: &impl ConnectionTrait,
    user: &Principal,
    input: &NewRound,
) -> Result<i64, ApiError> {
    // Anyone with a role in the scope learns it exists (403 below); others 404.
    let scope = match jinlin_places::store::find(db, input.scope_place_id).await? {
        Some(p) if reaches_scope(user, &p) => p,
        _ => return Err(ApiError::not_found()),
    };
    if scope.kind != PlaceKind::Street.as_str() && scope.kind != PlaceKind::District.as_str() {
        return Err(invalid_key("agencies.error.scope"));
    }
    if !runs_round(user, &scope) {
        return Err(ApiError::forbidden());
    }
    let name = rules::check_text(&input.name, 128).map_err(invalid)?;
    let code = scope.district_code.clone().unwrap_or_default();
    let id = selection_round::Entity::insert(selection_round::ActiveModel {
        district_code: Set(code.clone()),
        scope_place_id: Set(scope.id),
        scope_kind: Set(scope.kind.clone()),
        name: Set(name),
        state: Set(RoundState::Open.as_str().into()),
        report: Set(None),
        created_by: Set(Some(user.account_id)),
        created_at: Set(Utc::now()),
        solved_at: Set(None),
        ..Default::default()
    })
    .exec(db)
    .await?
    .last_insert_id;
    audit::record(
        db,
        Entry::new(Some(user), "selection_round.create", "selection_round")
            .object(id)
            .district(Some(code)),
    )
    .await?;
    Ok(id)
}

/// Opens a two-way selection round for a street (district or street admin)
/// or the district (district admin); it accepts preferences at once.
#[utoipa::path(post, path = "/selection-rounds", tag = "agencies", request_body = NewRound,
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_round(
    State(state): State<AppState>,
    user: User,
    ApiJson(input): ApiJson<NewRound>,
) -> Result<(StatusCode, ApiJson<Created>), ApiError> {
    let tx = state.db.write().await?;
    let id = new_round(&tx, &user, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(Created { id })))
}

fn named(names: &HashMap<i64, String>, id: i64) -> NamedId {
    NamedId {
        id,
        name: names.get(&id).cloned().unwrap_or_default(),
    }
}

pub async fn round_view(
    db: &impl ConnectionTrait,
    user: &Principal,
    r: &selection_round::Model,
    scope: &place::Model,
) -> Result<RoundView, ApiError> {
    let agencies = store::agencies_of_district(db, &r.district_code).await?;
    let compounds = store::compounds_in(db, scope).await?;
    let mut agency_names: HashMap<i64, String> =
        agencies.iter().map(|a| (a.id, a.name.clone())).collect();
    let mut compound_names: HashMap<i64, String> =
        compounds.iter().map(|c| (c.id, c.name.clone())).collect();
    let can_solve = runs_round(user, scope);
    let mut my_agencies = Vec::new();
    if user.has_role(Role::AgencyAdmin) {
        for a in &agencies {
            if store::administers(db, user.account_id, a.id).await? {
                my_agencies.push(a.id);
            }
        }
    }
    let my_compounds: Vec<i64> = compounds
        .iter()
        .filter(|c| is_secretary_of(user, c))
        .map(|c| c.id)
        .collect();
    let aps = store::agency_preferences(db, r.id).await?;
    let cps = store::compound_preferences(db, r.id).await?;
    // Names of parties that left the scope since they were ranked.
    let extra: Vec<i64> = aps
        .iter()
        .flat_map(|p| store::ranks(&p.ranks))
        .filter(|c| !compound_names.contains_key(c))
        .collect();
    for (id, p) in store::places(db, &extra).await? {
        compound_names.insert(id, p.name);
    }
    for a in agency::Entity::find().all(db).await? {
        agency_names.entry(a.id).or_insert(a.name);
    }
    let agency_preferences = aps
        .iter()
        .filter(|p| can_solve || my_agencies.contains(&p.agency_id))
        .map(|p| AgencyPreferenceView {
            agency: named(&agency_names, p.agency_id),
            capacity: i64::from(p.capacity),
            compounds: store::ranks(&p.ranks)
                .into_iter()
                .map(|c| named(&compound_names, c))
                .collect(),
        })
        .collect();
    let compound_preferences = cps
        .iter()
        .filter(|p| can_solve || my_compounds.contains(&p.compound_id))
        .map(|p| CompoundPreferenceView {
            compound: named(&compound_names, p.compound_id),
            agencies: store::ranks(&p.ranks)
                .into_iter()
                .map(|a| named(&agency_names, a))
                .collect(),
            needs: p.needs.clone(),
        })
        .collect();
    let report = r
        .report
        .as_deref()
        .and_then(|j| serde_json::from_str::<StoredReport>(j).ok())
        .map(|s| RoundReport {
            pairs: s
                .pairs
                .iter()
                .map(|p| PairLine {
                    agency: named(&agency_names, p.agency_id),
                    compound: named(&compound_names, p.compound_id),
                    route: p.route,
                })
                .collect(),
            agencies: s
                .agencies
                .iter()
                .map(|u| ReportLine {
                    id: u.id,
                    name: agency_names.get(&u.id).cloned().unwrap_or_default(),
                    reason: u.reason,
                    directed: u.directed,
                })
                .collect(),
            compounds: s
                .compounds
                .iter()
                .map(|u| ReportLine {
                    id: u.id,
                    name: compound_names.get(&u.id).cloned().unwrap_or_default(),
                    reason: u.reason,
                    directed: u.directed,
                })
                .collect(),
        });
    Ok(RoundView {
        round: round_summary(r, scope),
        agencies: agencies
            .iter()
            .map(|a| NamedId {
                id: a.id,
                name: a.name.clone(),
            })
            .collect(),
        compounds: compounds
            .iter()
            .map(|c| NamedId {
                id: c.id,
                name: c.name.clone(),
            })
            .collect(),
        agency_preferences,
        compound_preferences,
        my_agencies,
        my_compounds,
        can_solve,
        report,
    })
}

/// The stored form of a solve report.
#[derive(Debug, Serialize, Deserialize)]
struct StoredReport {
    pairs: Vec<StoredPair>,
    agencies: Vec<StoredUnplaced>,
    compounds: Vec<StoredUnplaced>,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredPair {
    agency_id: i64,
    compound_id: i64,
    route: Route,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredUnplaced {
    id: i64,
    reason: rules::Reason,
    directed: bool,
}

/// One round: its parties, the preferences the reader may see, and the
/// report once solved.
#[utoipa::path(get, path = "/selection-rounds/{id}", tag = "agencies",
    params(("id" = i64, Path, description = "Round id")),
    responses((status = 200, body = RoundView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_round(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<RoundView>, ApiError> {
    let db = state.db.conn();
    let (r, scope) = visible_round(db, &user, id).await?;
    Ok(ApiJson(round_view(db, &user, &r, &scope).await?))
}

fn must_be_open(r: &selection_round::Model) -> Result<(), ApiError> {
    if r.state != RoundState::Open.as_str() {
        return Err(conflict("agencies.error.round_not_open"));
    }
    Ok(())
}

pub async fn set_agency_preference(
    db: &impl ConnectionTrait,
    user: &Principal,
    round_id: i64,
    agency_id: i64,
    input: &AgencyPreferenceInput,
) -> Result<(), ApiError> {
    store::lock_round(db, round_id).await?;
    let (r, scope) = visible_round(db, user, round_id).await?;
    let Some(a) = agency::Entity::find_by_id(agency_id)
        .one(db)
        .await?
        .filter(|a| a.district_code == r.district_code)
    else {
        return Err(ApiError::not_found());
    };
    if !(user.has_role(Role::AgencyAdmin) && store::administers(db, user.account_id, a.id).await?) {
        return Err(ApiError::forbidden());
    }
    must_be_open(&r)?;
    let capacity = rules::check_capacity(input.capacity).map_err(invalid)?;
    rules::check_ranking(&input.compound_ids).map_err(invalid)?;
    let in_scope: HashSet<i64> = store::compounds_in(db, &scope)
        .await?
        .iter()
        .map(|c| c.id)
        .collect();
    if input.compound_ids.iter().any(|c| !in_scope.contains(c)) {
        return Err(invalid_key("agencies.error.unknown_compound"));
    }
    let ranks = serde_json::to_string(&input.compound_ids).map_err(ApiError::internal)?;
    let m = round_agency_preference::ActiveModel {
        round_id: Set(r.id),
        district_code: Set(r.district_code.clone()),
        agency_id: Set(a.id),
        capacity: Set(capacity as i32),
        ranks: Set(ranks),
        submitted_by: Set(Some(user.account_id)),
        updated_at: Set(Utc::now()),
        ..Default::default()
    };
    round_agency_preference::Entity::insert(m)
        .on_conflict(
            sea_orm::sea_query::OnConflict::columns([
                round_agency_preference::Column::RoundId,
                round_agency_preference::Column::AgencyId,
            ])
            .update_columns([
                round_agency_preference::Column::Capacity,
                round_agency_preference::Column::Ranks,
                round_agency_preference::Column::SubmittedBy,
                round_agency_preference::Column::UpdatedAt,
            ])
            .to_owned(),
        )
        .exec(db)
        .await?;
    audit::record(
        db,
        Entry::new(
            Some(user),
            "selection_round.agency_preference",
            "selection_round",
        )
        .object(r.id)
        .district(Some(r.district_code))
        .detail(serde_json::json!({ "agency_id": a.id })),
    )
    .await?;
    Ok(())
}

/// An agency's preferences in a round (the agency's admin): capacity and
/// the compounds it offers to serve, most wanted first. Replaces earlier ones.
#[utoipa::path(put, path = "/selection-rounds/{id}/agencies/{agency_id}", tag = "agencies",
    request_body = AgencyPreferenceInput,
    params(("id" = i64, Path, description = "Round id"), ("agency_id" = i64, Path, description = "Agency id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn agency_preference(
    State(state): State<AppState>,
    user: User,
    Path((id, agency_id)): Path<(i64, i64)>,
    ApiJson(input): ApiJson<AgencyPreferenceInput>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    set_agency_preference(&tx, &user, id, agency_id, &input).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn set_compound_preference(
    db: &impl ConnectionTrait,
    user: &Principal,
    round_id: i64,
    compound_id: i64,
    input: &CompoundPreferenceInput,
) -> Result<(), ApiError> {
    store::lock_round(db, round_id).await?;
    let (r, scope) = visible_round(db, user, round_id).await?;
    let c = visible_compound(db, user, compound_id).await?;
    if !c.position().is_within(&scope.position()) {
        return Err(ApiError::not_found());
    }
    if !is_secretary_of(user, &c) {
        return Err(ApiError::forbidden());
    }
    must_be_open(&r)?;
    rules::check_ranking(&input.agency_ids).map_err(invalid)?;
    let known: HashSet<i64> = store::agencies_of_district(db, &r.district_code)
        .await?
        .iter()
        .map(|a| a.id)
        .collect();
    if input.agency_ids.iter().any(|a| !known.contains(a)) {
        return Err(invalid_key("agencies.error.unknown_agency"));
    }
    let needs = input.needs.trim().to_string();
    if needs.chars().count() > 2000 {
        return Err(invalid_key("agencies.error.too_long"));
    }
    let ranks = serde_json::to_string(&input.agency_ids).map_err(ApiError::internal)?;
    round_compound_preference::Entity::insert(round_compound_preference::ActiveModel {
        round_id: Set(r.id),
        district_code: Set(r.district_code.clone()),
        compound_id: Set(c.id),
        ranks: Set(ranks),
        needs: Set(needs),
        submitted_by: Set(Some(user.account_id)),
        updated_at: Set(Utc::now()),
        ..Default::default()
    })
    .on_conflict(
        sea_orm::sea_query::OnConflict::columns([
            round_compound_preference::Column::RoundId,
            round_compound_preference::Column::CompoundId,
        ])
        .update_columns([
            round_compound_preference::Column::Ranks,
            round_compound_preference::Column::Needs,
            round_compound_preference::Column::SubmittedBy,
            round_compound_preference::Column::UpdatedAt,
        ])
        .to_owned(),
    )
    .exec(db)
    .await?;
    audit::record(
        db,
        Entry::new(
            Some(user),
            "selection_round.compound_preference",
            "selection_round",
        )
        .object(r.id)
        .district(Some(r.district_code))
        .detail(serde_json::json!({ "compound_id": c.id })),
    )
    .await?;
    Ok(())
}

/// A compound's preferences in a round (its party secretary): agencies most
/// wanted first, with the needs it states. Replaces earlier ones.
#[utoipa::path(put, path = "/selection-rounds/{id}/compounds/{compound_id}", tag = "agencies",
    request_body = CompoundPreferenceInput,
    params(("id" = i64, Path, description = "Round id"), ("compound_id" = i64, Path, description = "Compound (place) id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn compound_preference(
    State(state): State<AppState>,
    user: User,
    Path((id, compound_id)): Path<(i64, i64)>,
    ApiJson(input): ApiJson<CompoundPreferenceInput>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    set_compound_preference(&tx, &user, id, compound_id, &input).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Solves an open round in one transaction: the stable matching, then
/// directed pairing for agencies left without any compound; stores the
/// pairings and the report.
pub async fn solve(
    db: &impl ConnectionTrait,
    user: &Principal,
    round_id: i64,
) -> Result<(), ApiError> {
    store::lock_round(db, round_id).await?;
    let (r, scope) = visible_round(db, user, round_id).await?;
    if !runs_round(user, &scope) {
        return Err(ApiError::forbidden());
    }
    must_be_open(&r)?;
    let agencies = store::agencies_of_district(db, &r.district_code).await?;
    let compounds = store::compounds_in(db, &scope).await?;
    let compound_ids: HashSet<i64> = compounds.iter().map(|c| c.id).collect();
    let agency_ids: HashSet<i64> = agencies.iter().map(|a| a.id).collect();
    let aps: HashMap<i64, round_agency_preference::Model> = store::agency_preferences(db, r.id)
        .await?
        .into_iter()
        .map(|p| (p.agency_id, p))
        .collect();
    let cps: HashMap<i64, round_compound_preference::Model> = store::compound_preferences(db, r.id)
        .await?
        .into_iter()
        .map(|p| (p.compound_id, p))
        .collect();
    let pairings_now = store::current_pairings_in(db, &r.district_code).await?;
    let current: HashSet<i64> = pairings_now.iter().map(|p| p.agency_id).collect();
    let served: HashSet<i64> = pairings_now.iter().map(|p| p.compound_id).collect();
    let agency_prefs: Vec<AgencyPrefs> = agencies
        .iter()
        .map(|a| {
            let p = aps.get(&a.id);
            AgencyPrefs {
                id: a.id,
                capacity: p.map_or(1, |p| p.capacity.max(1) as u32),
                // Compounds that left the scope since they were ranked drop out.
                ranks: p
                    .map(|p| store::ranks(&p.ranks))
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|c| compound_ids.contains(c))
                    .collect(),
                paired: current.contains(&a.id),
            }
        })
        .collect();
    let compound_prefs: Vec<CompoundPrefs> = compounds
        .iter()
        .map(|c| CompoundPrefs {
            id: c.id,
            paired: served.contains(&c.id),
            ranks: cps
                .get(&c.id)
                .map(|p| store::ranks(&p.ranks))
                .unwrap_or_default()
                .into_iter()
                .filter(|a| agency_ids.contains(a))
                .collect(),
        })
        .collect();
    let solution = rules::solve(&agency_prefs, &compound_prefs).map_err(invalid)?;
    let by_id: HashMap<i64, &agency::Model> = agencies.iter().map(|a| (a.id, a)).collect();
    let places: HashMap<i64, &place::Model> = compounds.iter().map(|c| (c.id, c)).collect();
    for p in &solution.pairs {
        if store::current_pairing(db, p.agency_id, p.compound_id)
            .await?
            .is_some()
        {
            continue;
        }
        store::pair(
            db,
            by_id[&p.agency_id],
            places[&p.compound_id],
            p.route,
            Some(r.id),
            user.account_id,
        )
        .await?;
    }
    let stored = StoredReport {
        pairs: solution
            .pairs
            .iter()
            .map(|p| StoredPair {
                agency_id: p.agency_id,
                compound_id: p.compound_id,
                route: p.route,
            })
            .collect(),
        agencies: solution
            .agencies
            .iter()
            .map(|u| StoredUnplaced {
                id: u.id,
                reason: u.reason,
                directed: u.directed,
            })
            .collect(),
        compounds: solution
            .compounds
            .iter()
            .map(|u| StoredUnplaced {
                id: u.id,
                reason: u.reason,
                directed: u.directed,
            })
            .collect(),
    };
    let code = r.district_code.clone();
    let mut m: selection_round::ActiveModel = r.into();
    m.state = Set(RoundState::Solved.as_str().into());
    m.report = Set(Some(
        serde_json::to_string(&stored).map_err(ApiError::internal)?,
    ));
    m.solved_at = Set(Some(Utc::now()));
    selection_round::Entity::update(m).exec(db).await?;
    audit::record(
        db,
        Entry::new(Some(user), "selection_round.solve", "selection_round")
            .object(round_id)
            .district(Some(code))
            .detail(serde_json::json!({ "pairs": solution.pairs.len() })),
    )
    .await?;
    Ok(())
}

/// Solves an open round (an admin of its scope) and answers with the round
/// and its report.
#[utoipa::path(post, path = "/selection-rounds/{id}/solve", tag = "agencies",
    params(("id" = i64, Path, description = "Round id")),
    responses((status = 200, body = RoundView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn solve_round(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<RoundView>, ApiError> {
    let tx = state.db.write().await?;
    solve(&tx, &user, id).await?;
    let (r, scope) = visible_round(&tx, &user, id).await?;
    let view = round_view(&tx, &user, &r, &scope).await?;
    tx.commit().await?;
    Ok(ApiJson(view))
}

/// Calls off an open round without solving it (who may solve it).
#[utoipa::path(post, path = "/selection-rounds/{id}/close", tag = "agencies",
    params(("id" = i64, Path, description = "Round id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn close_round(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    store::lock_round(&tx, id).await?;
    let (r, scope) = visible_round(&tx, &user, id).await?;
    if !runs_round(&user, &scope) {
        return Err(ApiError::forbidden());
    }
    must_be_open(&r)?;
    let code = r.district_code.clone();
    let mut m: selection_round::ActiveModel = r.into();
    m.state = Set(RoundState::Closed.as_str().into());
    selection_round::Entity::update(m).exec(&tx).await?;
    audit::record(
        &tx,
        Entry::new(Some(&user), "selection_round.close", "selection_round")
            .object(id)
            .district(Some(code)),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- figures

fn street_figure(
    p: &place::Model,
    compounds: &[place::Model],
    pairings: &[agency_pairing::Model],
) -> Figure {
    let inside: Vec<&place::Model> = compounds
        .iter()
        .filter(|c| c.street_id == Some(p.id))
        .collect();
    let ids: HashSet<i64> = inside.iter().map(|c| c.id).collect();
    let here: Vec<&agency_pairing::Model> = pairings
        .iter()
        .filter(|x| ids.contains(&x.compound_id))
        .collect();
    let paired: HashSet<i64> = here.iter().map(|x| x.compound_id).collect();
    Figure {
        place_id: p.id,
        name: p.name.clone(),
        kind: PlaceKind::Street,
        agencies: None,
        agencies_paired: None,
        agencies_paired_percent: None,
        compounds: inside.len() as u64,
        compounds_paired: paired.len() as u64,
        compounds_paired_percent: percent(paired.len() as u64, inside.len() as u64),
        pairings: here.len() as u64,
    }
}

pub async fn figures_for(db: &impl ConnectionTrait, p: &place::Model) -> Result<Figures, ApiError> {
    let code = p.district_code.clone().unwrap_or_default();
    let pairings = store::current_pairings_in(db, &code).await?;
    let compounds = place::Entity::find()
        .filter(place::Column::Kind.eq(PlaceKind::Compound.as_str()))
        .filter(place::Column::DistrictCode.eq(code.clone()))
        .all(db)
        .await?;
    if p.kind == PlaceKind::Street.as_str() {
        return Ok(Figures {
            place: street_figure(p, &compounds, &pairings),
            children: Vec::new(),
        });
    }
    let agencies = store::agencies_of_district(db, &code).await?;
    let paired_agencies: HashSet<i64> = pairings.iter().map(|x| x.agency_id).collect();
    let paired_compounds: HashSet<i64> = pairings.iter().map(|x| x.compound_id).collect();
    let streets = place::Entity::find()
        .filter(place::Column::Kind.eq(PlaceKind::Street.as_str()))
        .filter(place::Column::DistrictCode.eq(code))
        .all(db)
        .await?;
    let n_agencies = agencies.len() as u64;
    let n_paired = agencies
        .iter()
        .filter(|a| paired_agencies.contains(&a.id))
        .count() as u64;
    Ok(Figures {
        place: Figure {
            place_id: p.id,
            name: p.name.clone(),
            kind: PlaceKind::District,
            agencies: Some(n_agencies),
            agencies_paired: Some(n_paired),
            agencies_paired_percent: percent(n_paired, n_agencies),
            compounds: compounds.len() as u64,
            compounds_paired: paired_compounds.len() as u64,
            compounds_paired_percent: percent(
                paired_compounds.len() as u64,
                compounds.len() as u64,
            ),
            pairings: pairings.len() as u64,
        },
        children: streets
            .iter()
            .map(|s| street_figure(s, &compounds, &pairings))
            .collect(),
    })
}

/// Pairing figures of a district (agencies paired and their share, and its
/// streets) or of a street (compounds paired and their share); for readers
/// of the place's registry.
#[utoipa::path(get, path = "/agency-figures/{place_id}", tag = "agencies",
    params(("place_id" = i64, Path, description = "A district or street")),
    responses((status = 200, body = Figures), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn figures(
    State(state): State<AppState>,
    user: User,
    Path(place_id): Path<i64>,
) -> Result<ApiJson<Figures>, ApiError> {
    let db = state.db.conn();
    let p = match jinlin_places::store::find(db, place_id).await? {
        Some(p) if jinlin_places::store::visible(&user, &p) => p,
        _ => return Err(ApiError::not_found()),
    };
    if p.kind != PlaceKind::Street.as_str() && p.kind != PlaceKind::District.as_str() {
        return Err(invalid_key("agencies.error.scope"));
    }
    if !user.can(Access::Registry, &p.position()) {
        return Err(ApiError::forbidden());
    }
    Ok(ApiJson(figures_for(db, &p).await?))
}
