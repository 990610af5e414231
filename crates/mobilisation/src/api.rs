//! JSON API of mobilisations.
//!
//! Scope: district and street admins, community workers and compound party
//! secretaries send a notice to a place they are officials of, and follow
//! it at that place or any place under it. An official whose own place lies
//! inside a wider mobilisation follows it at their place. A grid's worker
//! follows their grid's households and marks them reached; officials over a
//! compound may mark its households too. Residents and party members see
//! the notices that reached their dwelling and acknowledge them. Anyone
//! else learns nothing (404).

use std::collections::{BTreeMap, HashMap, HashSet};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use jinlin_kernel::ApiError;
use jinlin_kernel::audit::{self, Entry};
use jinlin_kernel::auth::entity::account;
use jinlin_kernel::auth::{Principal, Role, User};
use jinlin_kernel::error::ErrorBody;
use jinlin_kernel::i18n;
use jinlin_kernel::notify::{self, Message};
use jinlin_kernel::place::entity as place;
use jinlin_kernel::place::{PlaceKind, Position};
use jinlin_kernel::web::{ApiJson, ApiQuery, AppState};
use jinlin_micro_grids::entity::micro_grid;
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::entity::{mobilisation, mobilisation_household, mobilisation_unit};
use crate::group::{self, Check, Outcome};
use crate::rules::{self, Coverage, Invalid, Method};
use crate::store;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, send))
        .routes(routes!(get_one))
        .routes(routes!(coverage))
        .routes(routes!(unit_households))
        .routes(routes!(mark_reached))
        .routes(routes!(mark_unreached))
        .routes(routes!(acknowledge))
        .routes(routes!(close))
}

// ---------------------------------------------------------------- errors

pub fn invalid(e: Invalid) -> ApiError {
    ApiError::invalid(i18n::current().t(e.key))
}

pub fn invalid_key(key: &'static str) -> ApiError {
    invalid(Invalid { key })
}

fn conflict(key: &str) -> ApiError {
    ApiError::with_message(StatusCode::CONFLICT, "conflict", i18n::current().t(key))
}

fn forbidden(key: &str) -> ApiError {
    ApiError::with_message(StatusCode::FORBIDDEN, "forbidden", i18n::current().t(key))
}

// ---------------------------------------------------------------- scope

const OFFICIALS: [Role; 4] = [
    Role::DistrictAdmin,
    Role::StreetAdmin,
    Role::CommunityWorker,
    Role::CompoundSecretary,
];

/// Dwellings where the user lives (resident and party member grants).
pub fn own_dwellings(user: &Principal) -> Vec<i64> {
    let mut ids: Vec<i64> = user
        .grants
        .iter()
        .filter(|g| matches!(g.role, Role::Resident | Role::PartyMember))
        .map(|g| g.place.id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// A mobilisation as one reader meets it.
pub struct Seen {
    pub m: mobilisation::Model,
    pub scope: place::Model,
    /// Officials of the whole scope.
    pub over_scope: bool,
    /// Places inside the scope the reader is an official of (when not of
    /// the whole scope).
    pub anchors_inside: Vec<Position>,
    /// Units whose grid the reader works.
    pub worker_units: Vec<mobilisation_unit::Model>,
    /// The reader's own households in it.
    pub own: Vec<mobilisation_household::Model>,
}

impl Seen {
    /// Whether the reader may follow coverage at `node` (inside the scope).
    pub fn follows(&self, user: &Principal, node: &place::Model) -> bool {
        let pos = node.position();
        if !(pos.id == self.scope.id || pos.is_within(&self.scope.position())) {
            return false;
        }
        self.over_scope
            || user.is_official_at(&pos)
            || self.worker_units.iter().any(|u| u.compound_id == node.id)
    }

    /// Whether the reader follows any coverage (officials and workers).
    pub fn follows_any(&self) -> bool {
        self.over_scope || !self.anchors_inside.is_empty() || !self.worker_units.is_empty()
    }

    /// The place the reader follows first.
    pub fn home_place(&self) -> Option<i64> {
        if self.over_scope {
            return Some(self.scope.id);
        }
        self.anchors_inside
            .first()
            .map(|p| p.id)
            .or_else(|| self.worker_units.first().map(|u| u.compound_id))
    }
}

/// A mobilisation the user may see (404 otherwise).
pub async fn seen(db: &impl ConnectionTrait, user: &Principal, id: i64) -> Result<Seen, ApiError> {
    let m = mobilisation::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(ApiError::not_found)?;
    seen_of(db, user, m).await
}

async fn seen_of(
    db: &impl ConnectionTrait,
    user: &Principal,
    m: mobilisation::Model,
) -> Result<Seen, ApiError> {
    let scope = jinlin_places::store::find(db, m.place_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let spos = scope.position();
    let over_scope = user.is_official_at(&spos);
    let anchors_inside: Vec<Position> = if over_scope {
        Vec::new()
    } else {
        user.grants
            .iter()
            .filter(|g| OFFICIALS.contains(&g.role) && g.place.is_within(&spos))
            .map(|g| g.place.clone())
            .collect()
    };
    let worker_units = mobilisation_unit::Entity::find()
        .filter(mobilisation_unit::Column::MobilisationId.eq(m.id))
        .filter(mobilisation_unit::Column::WorkerAccountId.eq(user.account_id))
        .all(db)
        .await?;
    let dwellings = own_dwellings(user);
    let own = if dwellings.is_empty() {
        Vec::new()
    } else {
        mobilisation_household::Entity::find()
            .filter(mobilisation_household::Column::MobilisationId.eq(m.id))
            .filter(mobilisation_household::Column::DwellingId.is_in(dwellings))
            .all(db)
            .await?
    };
    if !over_scope && anchors_inside.is_empty() && worker_units.is_empty() && own.is_empty() {
        return Err(ApiError::not_found());
    }
    Ok(Seen {
        m,
        scope,
        over_scope,
        anchors_inside,
        worker_units,
        own,
    })
}

/// A unit with its mobilisation, for its grid's worker (then or now) and
/// officials of its compound (404 for anyone else).
pub async fn unit_access(
    db: &impl ConnectionTrait,
    user: &Principal,
    unit_id: i64,
) -> Result<(mobilisation_unit::Model, mobilisation::Model, place::Model), ApiError> {
    let unit = mobilisation_unit::Entity::find_by_id(unit_id)
        .one(db)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let compound = jinlin_places::store::find(db, unit.compound_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if !works(db, user, &unit, &compound).await? {
        return Err(ApiError::not_found());
    }
    let m = mobilisation::Entity::find_by_id(unit.mobilisation_id)
        .one(db)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok((unit, m, compound))
}

/// Whether the user may mark the unit's households.
async fn works(
    db: &impl ConnectionTrait,
    user: &Principal,
    unit: &mobilisation_unit::Model,
    compound: &place::Model,
) -> Result<bool, ApiError> {
    if unit.worker_account_id == Some(user.account_id) || user.is_official_at(&compound.position())
    {
        return Ok(true);
    }
    // The grid's worker now, if it changed hands since the notice went out.
    Ok(match unit.grid_id {
        Some(g) => micro_grid::Entity::find_by_id(g)
            .one(db)
            .await?
            .is_some_and(|g| g.worker_account_id == Some(user.account_id)),
        None => false,
    })
}

// ---------------------------------------------------------------- shapes

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMobilisation {
    /// A district, street, community or compound.
    pub place_id: i64,
    /// At most 100 characters.
    pub title: String,
    /// At most 2,000 characters.
    pub body: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Sent {
    pub id: i64,
    pub households: u64,
    /// Grids (and compounds' dwellings in no grid) the notice went to.
    pub units: u64,
    /// Grid workers notified in the app.
    pub workers_notified: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CoverageFigures {
    pub households: u64,
    pub reached: u64,
    pub remaining: u64,
    /// Rounded down: "100.0%" only when every household is reached.
    pub percent: Option<String>,
    /// When the last household was reached.
    pub full_at: Option<DateTime<Utc>>,
    /// Minutes from sending to full coverage, rounded up.
    pub minutes_to_full: Option<i64>,
}

impl CoverageFigures {
    pub fn of(c: &Coverage, sent_at: DateTime<Utc>) -> Self {
        CoverageFigures {
            households: c.households,
            reached: c.reached,
            remaining: c.remaining(),
            percent: c.percent(),
            full_at: c.full_at,
            minutes_to_full: c.minutes_to_full(sent_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MobilisationSummary {
    pub id: i64,
    pub title: String,
    pub place_id: i64,
    pub place_name: String,
    pub sent_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The whole mobilisation, for those who follow coverage.
    pub coverage: Option<CoverageFigures>,
    /// For residents: whether their household has been reached.
    pub my_household_reached: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OwnHousehold {
    pub dwelling_id: i64,
    pub reached_at: Option<DateTime<Utc>>,
    pub method: Option<Method>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkerUnit {
    pub unit_id: i64,
    pub compound_id: i64,
    pub compound_name: String,
    pub grid_name: Option<String>,
    #[serde(flatten)]
    pub coverage: CoverageFigures,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MobilisationView {
    pub id: i64,
    pub title: String,
    pub body: String,
    pub place_id: i64,
    pub place_name: String,
    pub place_kind: String,
    pub sent_by_name: String,
    pub sent_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The place the reader follows first (officials and workers).
    pub follow_place_id: Option<i64>,
    pub can_close: bool,
    /// The reader's grids in it.
    pub my_units: Vec<WorkerUnit>,
    /// The reader's own households in it.
    pub my_households: Vec<OwnHousehold>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CoverageLine {
    /// A street, community or compound; for a compound's lines, the unit.
    pub id: i64,
    pub name: String,
    /// For units: the grid (none for dwellings in no grid).
    pub grid_id: Option<i64>,
    pub worker_name: Option<String>,
    /// Whether the reader may drill down to (or open) it.
    pub open: bool,
    #[serde(flatten)]
    pub coverage: CoverageFigures,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CoverageView {
    pub mobilisation_id: i64,
    pub place_id: i64,
    pub place_name: String,
    pub place_kind: String,
    /// The level above, when the reader follows it.
    pub parent_id: Option<i64>,
    pub closed: bool,
    #[serde(flatten)]
    pub coverage: CoverageFigures,
    /// Children: streets, communities, compounds, or a compound's grids
    /// (kind `unit`).
    pub lines: Vec<CoverageLine>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CoverageQuery {
    /// The place to break down; the reader's first place by default.
    pub place: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HouseholdQuery {
    /// `false`: only those not reached yet; `true`: only those reached.
    pub reached: Option<bool>,
    /// 1-based page, default 1.
    pub page: Option<u64>,
    /// 1–200, default 50.
    pub per_page: Option<u64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Contact {
    pub name: String,
    pub phone: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HouseholdView {
    pub dwelling_id: i64,
    /// "building · entrance · room" as far as known.
    pub label: String,
    pub reached_at: Option<DateTime<Utc>>,
    pub method: Option<Method>,
    pub reached_by_name: Option<String>,
    /// Contact groups of the grid that hold the dwelling.
    pub groups: Vec<String>,
    /// Owners' and residents' phones on file (the reader's role needs
    /// them to follow up; every such read is audited).
    pub contacts: Vec<Contact>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnitHouseholds {
    pub unit_id: i64,
    pub mobilisation_id: i64,
    pub title: String,
    pub compound_id: i64,
    pub compound_name: String,
    pub grid_name: Option<String>,
    pub closed: bool,
    #[serde(flatten)]
    pub coverage: CoverageFigures,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
    /// Not reached first, in registry order.
    pub items: Vec<HouseholdView>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Marks {
    /// 1 to 500 dwellings of the mobilisation.
    pub dwelling_ids: Vec<i64>,
    /// `group`, `phone` or `door`.
    pub method: Method,
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct Marked {
    /// Households reached by this request.
    pub marked: u64,
    /// Households that had already been reached (counted once).
    pub already: u64,
}

// ---------------------------------------------------------------- send

async fn names_of(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = i64>,
) -> Result<HashMap<i64, place::Model>, ApiError> {
    Ok(jinlin_places::store::by_ids(db, ids).await?)
}

async fn account_names(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = i64>,
) -> Result<HashMap<i64, String>, ApiError> {
    let ids: HashSet<i64> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(account::Entity::find()
        .filter(account::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a.display_name))
        .collect())
}

/// Sends a notice to every household of the place: fills its units and
/// households and notifies the grid workers, all in the caller's
/// transaction.
pub async fn open(
    tx: &impl ConnectionTrait,
    user: &Principal,
    input: &NewMobilisation,
) -> Result<Sent, ApiError> {
    let scope = jinlin_places::store::find(tx, input.place_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let pos = scope.position();
    if !user.sees(&pos) {
        return Err(ApiError::not_found());
    }
    if !rules::scope_allowed(PlaceKind::parse(&scope.kind)) {
        return Err(invalid_key("mobilisation.error.scope"));
    }
    if !user.is_official_at(&pos) {
        return Err(ApiError::forbidden());
    }
    let title = rules::check_text(&input.title, rules::TITLE_MAX).map_err(invalid)?;
    let body = rules::check_text(&input.body, rules::BODY_MAX).map_err(invalid)?;
    let now = Utc::now();
    let id = store::insert(
        tx,
        mobilisation::ActiveModel {
            district_code: Set(scope.district_code.clone().unwrap_or_default()),
            place_id: Set(scope.id),
            place_kind: Set(scope.kind.clone()),
            street_id: Set(pos.ancestor_id(PlaceKind::Street)),
            community_id: Set(pos.ancestor_id(PlaceKind::Community)),
            compound_id: Set(pos.ancestor_id(PlaceKind::Compound)),
            title: Set(title.clone()),
            body: Set(body.clone()),
            households: Set(0),
            sent_by: Set(user.account_id),
            sent_at: Set(now),
            closed_at: Set(None),
            closed_by: Set(None),
            ..Default::default()
        },
    )
    .await?;
    let households = store::fill(tx, id, &scope).await?;
    if households == 0 {
        return Err(invalid_key("mobilisation.error.no_households"));
    }
    store::set_households(tx, id, households).await?;
    let units = mobilisation_unit::Entity::find()
        .filter(mobilisation_unit::Column::MobilisationId.eq(id))
        .count(tx)
        .await?;
    let workers: Vec<i64> = mobilisation_unit::Entity::find()
        .select_only()
        .column(mobilisation_unit::Column::WorkerAccountId)
        .filter(mobilisation_unit::Column::MobilisationId.eq(id))
        .filter(mobilisation_unit::Column::WorkerAccountId.is_not_null())
        .distinct()
        .into_tuple::<Option<i64>>()
        .all(tx)
        .await?
        .into_iter()
        .flatten()
        .filter(|w| *w != user.account_id)
        .collect();
    let t = i18n::current();
    let message = Message::new(
        "mobilisation.sent",
        t.tf("mobilisation.notify.title", &[("title", &title)]),
        body.chars().take(200).collect::<String>(),
    )
    .link(format!("/mobilisations/{id}"));
    notify::notify_parties(tx, &workers, &message).await?;
    audit::record(
        tx,
        Entry::new(Some(user), "mobilisation.send", "mobilisation")
            .object(id)
            .district(scope.district_code.clone())
            .detail(serde_json::json!({ "place_id": scope.id, "households": households })),
    )
    .await?;
    Ok(Sent {
        id,
        households,
        units,
        workers_notified: workers.len() as u64,
    })
}

#[utoipa::path(post, path = "/mobilisations", tag = "mobilisation", request_body = NewMobilisation,
    responses((status = 201, body = Sent), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn send(
    State(state): State<AppState>,
    user: User,
    ApiJson(input): ApiJson<NewMobilisation>,
) -> Result<(StatusCode, ApiJson<Sent>), ApiError> {
    let tx = state.db.write().await?;
    let sent = open(&tx, &user, &input).await?;
    tx.commit().await?;
    tracing::info!(
        mobilisation = sent.id,
        households = sent.households,
        units = sent.units,
        "mobilisation sent"
    );
    Ok((StatusCode::CREATED, ApiJson(sent)))
}

// ---------------------------------------------------------------- read

/// Mobilisations the user meets, newest first (at most 100).
pub async fn visible(
    db: &impl ConnectionTrait,
    user: &Principal,
) -> Result<Vec<MobilisationSummary>, ApiError> {
    let mut districts: Vec<String> = user
        .grants
        .iter()
        .filter(|g| OFFICIALS.contains(&g.role))
        .filter_map(|g| g.place.district_code.clone())
        .collect();
    districts.sort();
    districts.dedup();
    let mut found: BTreeMap<i64, mobilisation::Model> = BTreeMap::new();
    for m in store::of_districts(db, &districts, 200).await? {
        found.insert(m.id, m);
    }
    let worked: HashSet<i64> = store::worked_by(db, user.account_id)
        .await?
        .into_iter()
        .collect();
    let mut extra: Vec<i64> = worked.iter().copied().collect();
    let own = store::of_dwellings(db, &own_dwellings(user)).await?;
    extra.extend(own.iter().map(|h| h.mobilisation_id));
    extra.retain(|id| !found.contains_key(id));
    if !extra.is_empty() {
        for m in mobilisation::Entity::find()
            .filter(mobilisation::Column::Id.is_in(extra))
            .all(db)
            .await?
        {
            found.insert(m.id, m);
        }
    }
    let places = names_of(db, found.values().map(|m| m.place_id)).await?;
    let mut out = Vec::new();
    let mut follows: Vec<i64> = Vec::new();
    for m in found.values().rev() {
        let Some(scope) = places.get(&m.place_id) else {
            continue;
        };
        let spos = scope.position();
        let official = user.is_official_at(&spos)
            || user
                .grants
                .iter()
                .any(|g| OFFICIALS.contains(&g.role) && g.place.is_within(&spos));
        let worker = worked.contains(&m.id);
        let mine: Vec<&mobilisation_household::Model> =
            own.iter().filter(|h| h.mobilisation_id == m.id).collect();
        if !official && !worker && mine.is_empty() {
            continue;
        }
        if official || worker {
            follows.push(m.id);
        }
        out.push(MobilisationSummary {
            id: m.id,
            title: m.title.clone(),
            place_id: m.place_id,
            place_name: scope.name.clone(),
            sent_at: m.sent_at,
            closed_at: m.closed_at,
            coverage: None,
            my_household_reached: (!mine.is_empty())
                .then(|| mine.iter().all(|h| h.reached_at.is_some())),
        });
        if out.len() == 100 {
            break;
        }
    }
    let totals = store::totals(db, &follows).await?;
    for s in &mut out {
        if let Some(c) = totals.get(&s.id) {
            s.coverage = Some(CoverageFigures::of(c, s.sent_at));
        }
    }
    Ok(out)
}

#[utoipa::path(get, path = "/mobilisations", tag = "mobilisation",
    responses((status = 200, body = Vec<MobilisationSummary>), (status = 401, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    user: User,
) -> Result<ApiJson<Vec<MobilisationSummary>>, ApiError> {
    Ok(ApiJson(visible(state.db.conn(), &user).await?))
}

pub async fn view(
    db: &impl ConnectionTrait,
    user: &Principal,
    s: &Seen,
) -> Result<MobilisationView, ApiError> {
    let compounds = names_of(db, s.worker_units.iter().map(|u| u.compound_id)).await?;
    let grids = grid_names(db, s.worker_units.iter().filter_map(|u| u.grid_id)).await?;
    let sender = account_names(db, [s.m.sent_by]).await?;
    Ok(MobilisationView {
        id: s.m.id,
        title: s.m.title.clone(),
        body: s.m.body.clone(),
        place_id: s.scope.id,
        place_name: s.scope.name.clone(),
        place_kind: s.scope.kind.clone(),
        sent_by_name: sender.get(&s.m.sent_by).cloned().unwrap_or_default(),
        sent_at: s.m.sent_at,
        closed_at: s.m.closed_at,
        follow_place_id: s.home_place(),
        can_close: s.m.closed_at.is_none() && (s.over_scope || s.m.sent_by == user.account_id),
        my_units: s
            .worker_units
            .iter()
            .map(|u| WorkerUnit {
                unit_id: u.id,
                compound_id: u.compound_id,
                compound_name: compounds
                    .get(&u.compound_id)
                    .map(|p| p.name.clone())
                    .unwrap_or_default(),
                grid_name: u.grid_id.and_then(|g| grids.get(&g).cloned()),
                coverage: CoverageFigures::of(&unit_coverage(u), s.m.sent_at),
            })
            .collect(),
        my_households: s
            .own
            .iter()
            .map(|h| OwnHousehold {
                dwelling_id: h.dwelling_id,
                reached_at: h.reached_at,
                method: h.method.as_deref().and_then(Method::parse),
            })
            .collect(),
    })
}

pub fn unit_coverage(u: &mobilisation_unit::Model) -> Coverage {
    Coverage {
        households: u.households.max(0) as u64,
        reached: u.reached.max(0) as u64,
        full_at: u.full_at,
    }
}

async fn grid_names(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = i64>,
) -> Result<HashMap<i64, String>, ApiError> {
    let ids: HashSet<i64> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(micro_grid::Entity::find()
        .filter(micro_grid::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|g| (g.id, g.name))
        .collect())
}

#[utoipa::path(get, path = "/mobilisations/{id}", tag = "mobilisation",
    params(("id" = i64, Path, description = "Mobilisation id")),
    responses((status = 200, body = MobilisationView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_one(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<MobilisationView>, ApiError> {
    let db = state.db.conn();
    let s = seen(db, &user, id).await?;
    Ok(ApiJson(view(db, &user, &s).await?))
}

/// Coverage of mobilisation `id` at a place the reader follows, broken down
/// by its children.
pub async fn coverage_at(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
    place_id: Option<i64>,
) -> Result<CoverageView, ApiError> {
    let s = seen(db, user, id).await?;
    let node_id = place_id
        .or_else(|| s.home_place())
        .ok_or_else(ApiError::not_found)?;
    let node = jinlin_places::store::find(db, node_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if !s.follows(user, &node) {
        return Err(ApiError::not_found());
    }
    let sent_at = s.m.sent_at;
    let by_child = store::coverage_by_child(db, id, &node).await?;
    let total = Coverage::sum(by_child.iter().map(|(_, c)| c));
    let mut lines = Vec::new();
    if node.kind == PlaceKind::Compound.as_str() {
        let units = store::units_of_compound(db, id, node.id).await?;
        let grids = grid_names(db, units.iter().filter_map(|u| u.grid_id)).await?;
        let workers = account_names(db, units.iter().filter_map(|u| u.worker_account_id)).await?;
        let t = i18n::current();
        for u in units {
            let open = works(db, user, &u, &node).await?;
            lines.push(CoverageLine {
                id: u.id,
                name: match u.grid_id {
                    Some(g) => grids.get(&g).cloned().unwrap_or_else(|| {
                        t.tf("mobilisation.grid_gone", &[("id", &g.to_string())])
                    }),
                    None => t.t("mobilisation.no_grid").into_owned(),
                },
                grid_id: u.grid_id,
                worker_name: u.worker_account_id.and_then(|w| workers.get(&w).cloned()),
                open,
                coverage: CoverageFigures::of(&unit_coverage(&u), sent_at),
            });
        }
    } else {
        let places = names_of(db, by_child.iter().map(|(k, _)| *k)).await?;
        for (k, c) in &by_child {
            let Some(p) = places.get(k) else { continue };
            lines.push(CoverageLine {
                id: *k,
                name: p.name.clone(),
                grid_id: None,
                worker_name: None,
                open: s.follows(user, p),
                coverage: CoverageFigures::of(c, sent_at),
            });
        }
    }
    let parent_id = match node.parent_id {
        Some(pid) if node.id != s.scope.id => jinlin_places::store::find(db, pid)
            .await?
            .filter(|p| s.follows(user, p))
            .map(|p| p.id),
        _ => None,
    };
    Ok(CoverageView {
        mobilisation_id: id,
        place_id: node.id,
        place_name: node.name.clone(),
        place_kind: node.kind.clone(),
        parent_id,
        closed: s.m.closed_at.is_some(),
        coverage: CoverageFigures::of(&total, sent_at),
        lines,
    })
}

#[utoipa::path(get, path = "/mobilisations/{id}/coverage", tag = "mobilisation",
    params(("id" = i64, Path, description = "Mobilisation id"), CoverageQuery),
    responses((status = 200, body = CoverageView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn coverage(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<CoverageQuery>,
) -> Result<ApiJson<CoverageView>, ApiError> {
    Ok(ApiJson(
        coverage_at(state.db.conn(), &user, id, q.place).await?,
    ))
}

/// A page of a unit's households with how to reach each.
pub async fn households_of(
    db: &impl ConnectionTrait,
    user: &Principal,
    unit_id: i64,
    q: &HouseholdQuery,
) -> Result<UnitHouseholds, ApiError> {
    let (unit, m, compound) = unit_access(db, user, unit_id).await?;
    let per_page = q.per_page.unwrap_or(50);
    if !(1..=200).contains(&per_page) {
        return Err(invalid_key("mobilisation.error.per_page"));
    }
    let page = q.page.unwrap_or(1).max(1);
    let (total, rows) =
        store::households(db, unit.id, q.reached, per_page, (page - 1) * per_page).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.dwelling_id).collect();
    let mut groups: HashMap<i64, Vec<String>> = HashMap::new();
    for (d, _, name) in jinlin_micro_grids::store::groups_of_dwellings(db, &ids).await? {
        groups.entry(d).or_default().push(name);
    }
    let mut contacts: HashMap<i64, Vec<Contact>> = HashMap::new();
    let phones = store::phones_of(db, &ids).await?;
    let shown = phones.len();
    for (d, name, phone) in phones {
        contacts.entry(d).or_default().push(Contact { name, phone });
    }
    if shown > 0 {
        audit::record(
            db,
            Entry::new(
                Some(user),
                "mobilisation.households.phones",
                "mobilisation_unit",
            )
            .object(unit.id)
            .district(Some(m.district_code.clone()))
            .detail(serde_json::json!({ "phones": shown, "page": page })),
        )
        .await?;
    }
    let reachers = account_names(db, rows.iter().filter_map(|r| r.reached_by)).await?;
    let grid_name = match unit.grid_id {
        Some(g) => grid_names(db, [g]).await?.remove(&g),
        None => None,
    };
    Ok(UnitHouseholds {
        unit_id: unit.id,
        mobilisation_id: m.id,
        title: m.title.clone(),
        compound_id: compound.id,
        compound_name: compound.name.clone(),
        grid_name,
        closed: m.closed_at.is_some(),
        coverage: CoverageFigures::of(&unit_coverage(&unit), m.sent_at),
        total,
        page,
        per_page,
        items: rows
            .into_iter()
            .map(|r| HouseholdView {
                label: [r.building.clone(), r.entrance.clone(), Some(r.name.clone())]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" · "),
                groups: groups.remove(&r.dwelling_id).unwrap_or_default(),
                contacts: contacts.remove(&r.dwelling_id).unwrap_or_default(),
                reached_by_name: r.reached_by.and_then(|a| reachers.get(&a).cloned()),
                dwelling_id: r.dwelling_id,
                reached_at: r.reached_at,
                method: r.method,
            })
            .collect(),
    })
}

#[utoipa::path(get, path = "/mobilisation-units/{id}/households", tag = "mobilisation",
    params(("id" = i64, Path, description = "Unit id (a grid of the mobilisation)"), HouseholdQuery),
    responses((status = 200, body = UnitHouseholds), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn unit_households(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<HouseholdQuery>,
) -> Result<ApiJson<UnitHouseholds>, ApiError> {
    Ok(ApiJson(
        households_of(state.db.conn(), &user, id, &q).await?,
    ))
}

// ---------------------------------------------------------------- marks

/// Marks households reached by a grid worker or an official of their
/// compound. Households already reached count once and are reported as
/// such; a dwelling outside the mobilisation refuses the whole batch. A
/// well-formed batch is checked in the group's transaction (`group`); one
/// that does not plainly pass there is checked in full, read before its
/// write transaction begins, so the write lock is held only to lock, mark
/// and count.
pub async fn mark_on(
    db: &jinlin_kernel::Database,
    user: &Principal,
    id: i64,
    marks: &Marks,
) -> Result<Marked, ApiError> {
    if let Some(ids) = well_formed(&marks.dwelling_ids, Some(marks.method)) {
        let check = Check::Worker(user.clone());
        match group::mark(db, id, ids, user.account_id, marks.method, check).await {
            Outcome::Marked { marked, already } => return Ok(Marked { marked, already }),
            Outcome::Closed => return Err(conflict("mobilisation.error.closed")),
            Outcome::Overloaded => return Err(ApiError::overloaded()),
            Outcome::Alone | Outcome::Unchecked | Outcome::NoneOwn => {}
        }
    }
    let ids = check_marks(db.conn(), user, id, marks).await?;
    write_marks(db, user, id, ids, marks.method).await
}

/// The batch's dwellings, sorted and without repeats, when it has the
/// shape a worker's marks must have; `None` leaves the exact refusal to
/// the full check.
fn well_formed(dwelling_ids: &[i64], method: Option<Method>) -> Option<Vec<i64>> {
    let mut ids = dwelling_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let shaped = !ids.is_empty()
        && ids.len() <= rules::BATCH_MAX
        && method.is_none_or(|m| Method::BY_WORKER.contains(&m));
    shaped.then_some(ids)
}

/// Writes checked marks with whatever else is waiting (`group`), or on
/// their own if that group's transaction failed.
async fn write_marks(
    db: &jinlin_kernel::Database,
    user: &Principal,
    id: i64,
    ids: Vec<i64>,
    method: Method,
) -> Result<Marked, ApiError> {
    match group::mark(db, id, ids.clone(), user.account_id, method, Check::Done).await {
        Outcome::Marked { marked, already } => Ok(Marked { marked, already }),
        Outcome::Closed => Err(conflict("mobilisation.error.closed")),
        Outcome::Overloaded => Err(ApiError::overloaded()),
        Outcome::Alone | Outcome::Unchecked | Outcome::NoneOwn => {
            let tx = db.write().await?;
            let done = apply_marks(&tx, user, id, &ids, method).await?;
            tx.commit().await?;
            Ok(done)
        }
    }
}

/// Everything a batch of marks is refused for; gives its dwellings, sorted
/// and without repeats.
async fn check_marks(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
    marks: &Marks,
) -> Result<Vec<i64>, ApiError> {
    check_batch(db, user, id, &marks.dwelling_ids, Some(marks.method)).await
}

/// The access and shape checks of a batch of marks (with their method) or
/// of undoing one (without).
async fn check_batch(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
    dwelling_ids: &[i64],
    method: Option<Method>,
) -> Result<Vec<i64>, ApiError> {
    if let Some(ids) = plainly_allowed(db, user, id, dwelling_ids, method).await? {
        return Ok(ids);
    }
    let s = seen(db, user, id).await?;
    if !s.follows_any() {
        return Err(ApiError::forbidden());
    }
    if method.is_some_and(|m| !Method::BY_WORKER.contains(&m)) {
        return Err(invalid_key("mobilisation.error.method"));
    }
    let mut ids = dwelling_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Err(invalid_key("mobilisation.error.none_chosen"));
    }
    if ids.len() > rules::BATCH_MAX {
        return Err(invalid_key("mobilisation.error.batch"));
    }
    if s.m.closed_at.is_some() {
        return Err(conflict("mobilisation.error.closed"));
    }
    let rows = store::households_of(db, id, &ids).await?;
    if rows.len() != ids.len() {
        let found: HashSet<i64> = rows.iter().map(|h| h.dwelling_id).collect();
        let missing = ids
            .iter()
            .find(|d| !found.contains(d))
            .copied()
            .unwrap_or(0);
        return Err(ApiError::invalid(i18n::current().tf(
            "mobilisation.error.not_in_mobilisation",
            &[("id", &missing.to_string())],
        )));
    }
    let unit_ids: HashSet<i64> = rows.iter().map(|h| h.unit_id).collect();
    let units = mobilisation_unit::Entity::find()
        .filter(mobilisation_unit::Column::Id.is_in(unit_ids))
        .all(db)
        .await?;
    let compounds = names_of(db, units.iter().map(|u| u.compound_id)).await?;
    for u in &units {
        let Some(c) = compounds.get(&u.compound_id) else {
            return Err(ApiError::not_found());
        };
        if !works(db, user, u, c).await? {
            return Err(forbidden("mobilisation.error.not_your_grid"));
        }
    }
    Ok(ids)
}

/// The batch's dwellings when the batch is well formed and the reader
/// works every grid it touches, read in at most two queries; `None` sends
/// the batch through the full check, which finds the exact refusal. Most
/// marks are a worker's own households and pass here.
async fn plainly_allowed(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
    dwelling_ids: &[i64],
    method: Option<Method>,
) -> Result<Option<Vec<i64>>, ApiError> {
    let Some(ids) = well_formed(dwelling_ids, method) else {
        return Ok(None);
    };
    let targets = store::mark_targets(db, id, &ids).await?;
    if targets.len() != ids.len() {
        return Ok(None);
    }
    // Households of other workers' grids: the reader must be an official of
    // their compounds, whose places came with the targets.
    let official = targets
        .iter()
        .filter(|t| t.worker_account_id != Some(user.account_id))
        .all(|t| user.is_official_at(&t.compound_position()));
    Ok(official.then_some(ids))
}

/// Marks the checked households not yet reached and moves
/// their units' counters; refused once the mobilisation is closed.
async fn apply_marks(
    tx: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
    ids: &[i64],
    method: Method,
) -> Result<Marked, ApiError> {
    let marked = store::mark(tx, id, ids, user.account_id, method, Utc::now()).await?;
    if marked == 0 && store::is_closed(tx, id).await? != Some(false) {
        return Err(conflict("mobilisation.error.closed"));
    }
    Ok(Marked {
        marked,
        already: ids.len() as u64 - marked,
    })
}

#[utoipa::path(post, path = "/mobilisations/{id}/reached", tag = "mobilisation", request_body = Marks,
    params(("id" = i64, Path, description = "Mobilisation id")),
    responses((status = 200, body = Marked), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn mark_reached(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(marks): ApiJson<Marks>,
) -> Result<ApiJson<Marked>, ApiError> {
    Ok(ApiJson(mark_on(&state.db, &user, id, &marks).await?))
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Unmark {
    /// A dwelling a grid worker marked reached by mistake.
    pub dwelling_id: i64,
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct Unmarked {
    /// 1 when the mark was taken back, 0 when the household was not marked.
    pub undone: u64,
}

/// Takes back a grid worker's mark made by mistake: the household counts as
/// not reached again and its unit's counter (and full time) moves back.
/// Whoever may mark the household may; a household's own acknowledgement
/// in the app is theirs and stays.
pub async fn unmark_on(
    db: &jinlin_kernel::Database,
    user: &Principal,
    id: i64,
    input: &Unmark,
) -> Result<Unmarked, ApiError> {
    let ids = check_batch(db.conn(), user, id, &[input.dwelling_id], None).await?;
    let tx = db.write().await?;
    match store::is_closed(&tx, id).await? {
        None => return Err(ApiError::not_found()),
        Some(true) => return Err(conflict("mobilisation.error.closed")),
        Some(false) => {}
    }
    let rows = store::lock_households(&tx, id, &ids).await?;
    let Some(row) = rows.first() else {
        return Err(ApiError::not_found());
    };
    let undone = match row.method.as_deref().and_then(Method::parse) {
        None => 0,
        Some(m) if !rules::undoable(m) => {
            return Err(conflict("mobilisation.error.own_acknowledgement"));
        }
        Some(m) => {
            store::unmark(&tx, row).await?;
            let district = mobilisation::Entity::find_by_id(id)
                .one(&tx)
                .await?
                .map(|m| m.district_code);
            audit::record(
                &tx,
                Entry::new(Some(user), "mobilisation.unmark", "mobilisation")
                    .object(id)
                    .district(district)
                    .detail(serde_json::json!({
                        "dwelling_id": row.dwelling_id,
                        "method": m.as_str(),
                        "reached_by": row.reached_by,
                        "reached_at": row.reached_at,
                    })),
            )
            .await?;
            1
        }
    };
    tx.commit().await?;
    Ok(Unmarked { undone })
}

#[utoipa::path(post, path = "/mobilisations/{id}/unreached", tag = "mobilisation", request_body = Unmark,
    params(("id" = i64, Path, description = "Mobilisation id")),
    responses((status = 200, body = Unmarked), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn mark_unreached(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<Unmark>,
) -> Result<ApiJson<Unmarked>, ApiError> {
    Ok(ApiJson(unmark_on(&state.db, &user, id, &input).await?))
}

/// The reader acknowledges the notice for their own households: those of
/// their dwellings in the mobilisation, found in the group's transaction.
pub async fn acknowledge_own(
    db: &jinlin_kernel::Database,
    user: &Principal,
    id: i64,
) -> Result<Marked, ApiError> {
    let own = own_dwellings(user);
    if own.is_empty() {
        return Err(ApiError::not_found());
    }
    match group::mark(db, id, own, user.account_id, Method::App, Check::Own).await {
        Outcome::Marked { marked, already } => return Ok(Marked { marked, already }),
        Outcome::Closed => return Err(conflict("mobilisation.error.closed")),
        Outcome::NoneOwn => return Err(ApiError::not_found()),
        Outcome::Overloaded => return Err(ApiError::overloaded()),
        Outcome::Alone | Outcome::Unchecked => {}
    }
    // The group's transaction failed: read and write on our own.
    let m = mobilisation::Entity::find_by_id(id)
        .one(db.conn())
        .await?
        .ok_or_else(ApiError::not_found)?;
    let rows = store::households_of(db.conn(), id, &own_dwellings(user)).await?;
    if rows.is_empty() {
        return Err(ApiError::not_found());
    }
    if m.closed_at.is_some() {
        return Err(conflict("mobilisation.error.closed"));
    }
    let mut ids: Vec<i64> = rows.iter().map(|h| h.dwelling_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let tx = db.write().await?;
    let done = apply_marks(&tx, user, id, &ids, Method::App).await?;
    tx.commit().await?;
    Ok(done)
}

#[utoipa::path(post, path = "/mobilisations/{id}/acknowledge", tag = "mobilisation",
    params(("id" = i64, Path, description = "Mobilisation id")),
    responses((status = 200, body = Marked), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
async fn acknowledge(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<Marked>, ApiError> {
    Ok(ApiJson(acknowledge_own(&state.db, &user, id).await?))
}

/// Closes the mobilisation: no more marks. The sender and officials of the
/// whole scope may.
pub async fn close_one(
    tx: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<(), ApiError> {
    let s = seen(tx, user, id).await?;
    if !(s.over_scope || s.m.sent_by == user.account_id) {
        return Err(ApiError::forbidden());
    }
    let m = store::lock(tx, id).await?.ok_or_else(ApiError::not_found)?;
    if m.closed_at.is_some() {
        return Err(conflict("mobilisation.error.closed"));
    }
    mobilisation::Entity::update(mobilisation::ActiveModel {
        id: Set(id),
        closed_at: Set(Some(Utc::now())),
        closed_by: Set(Some(user.account_id)),
        ..Default::default()
    })
    .exec(tx)
    .await?;
    audit::record(
        tx,
        Entry::new(Some(user), "mobilisation.close", "mobilisation")
            .object(id)
            .district(Some(m.district_code)),
    )
    .await?;
    Ok(())
}

#[utoipa::path(post, path = "/mobilisations/{id}/close", tag = "mobilisation",
    params(("id" = i64, Path, description = "Mobilisation id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn close(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    close_one(&tx, &user, id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
