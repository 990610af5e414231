//! JSON API of the cockpit.
//!
//! Scope: the officials of a node read its cockpit: district and street
//! admins and community workers over it, and the party secretary of a
//! compound for the compound. Anyone else, and any node outside their
//! scope, gets 404. A place that is no district, street, community or
//! compound, and an unknown figure, get 422.

use axum::extract::{Path, State};
use chrono::Utc;
use jinlin_kernel::ApiError;
use jinlin_kernel::auth::{Access, Principal, Role, User};
use jinlin_kernel::error::ErrorBody;
use jinlin_kernel::i18n::{self, Lang};
use jinlin_kernel::place::entity as place;
use jinlin_kernel::place::{PlaceKind, Position};
use jinlin_kernel::web::{ApiJson, ApiQuery, AppState};
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::board::{self, Board};
use crate::rules::{self, Key, Numbers, Section};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_cockpit))
        .routes(routes!(get_children))
}

fn invalid_key(key: &str) -> ApiError {
    ApiError::invalid(i18n::current().t(key))
}

// ---------------------------------------------------------------- scope

/// Officials of a place: admins and community workers over it, and the
/// party secretary of its compound (the rule of
/// `jinlin_mobilisation::api::official_at`).
pub fn official_at(user: &Principal, pos: &Position) -> bool {
    user.roles_for(Access::Edit, pos).iter().any(|r| {
        matches!(
            r,
            Role::DistrictAdmin | Role::StreetAdmin | Role::CommunityWorker
        )
    }) || user
        .roles_for(Access::Personal, pos)
        .contains(&Role::CompoundSecretary)
}

fn official_role(r: Role) -> bool {
    matches!(
        r,
        Role::DistrictAdmin | Role::StreetAdmin | Role::CommunityWorker | Role::CompoundSecretary
    )
}

fn node_kind(k: Option<PlaceKind>) -> bool {
    matches!(
        k,
        Some(PlaceKind::District | PlaceKind::Street | PlaceKind::Community | PlaceKind::Compound)
    )
}

/// The places the user's cockpit opens at: their highest official grants
/// (district before street before community before compound), as
/// `(place id, name)`.
pub fn top_nodes(user: &Principal) -> Vec<(i64, String)> {
    let mut grants: Vec<(PlaceKind, i64, String)> = user
        .grants
        .iter()
        .filter(|g| official_role(g.role) && node_kind(g.place.kind))
        .filter_map(|g| Some((g.place.kind?, g.place.id, g.place_name.clone())))
        .collect();
    grants.sort_by_key(|g| (g.0, g.1));
    grants.dedup_by_key(|g| g.1);
    let Some(top) = grants.first().map(|g| g.0) else {
        return Vec::new();
    };
    grants
        .into_iter()
        .filter(|g| g.0 == top)
        .map(|g| (g.1, g.2))
        .collect()
}

/// A node whose cockpit the user reads: 404 outside their scope (or for
/// no place), 422 for a place that is no district, street, community or
/// compound.
pub async fn node(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<place::Model, ApiError> {
    let p = match jinlin_places::store::find(db, id).await? {
        Some(p) if official_at(user, &p.position()) => p,
        _ => return Err(ApiError::not_found()),
    };
    if !board::is_node(&p) {
        return Err(invalid_key("cockpit.error.node"));
    }
    Ok(p)
}

/// The chosen figure (the default when none): 422 for an unknown key.
pub fn figure_key(s: Option<&str>) -> Result<Key, ApiError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(rules::DEFAULT_KEY),
        Some(s) => Key::parse(s).ok_or_else(|| invalid_key("cockpit.error.figure")),
    }
}

/// The way down to the node from the highest place the user is an
/// official of: `(id, name)` from the top.
pub async fn trail(
    db: &impl ConnectionTrait,
    user: &Principal,
    p: &place::Model,
) -> Result<Vec<(i64, String)>, ApiError> {
    let mut out = Vec::new();
    for a in jinlin_places::store::ancestors(db, p).await? {
        if node_kind(PlaceKind::parse(&a.kind)) && official_at(user, &a.position()) {
            out.push((a.id, a.name));
        }
    }
    out.push((p.id, p.name.clone()));
    Ok(out)
}

// ---------------------------------------------------------------- shapes

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CockpitPart)]
pub struct Part {
    /// A project state or a deliberation step.
    pub name: String,
    pub label: String,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CockpitFigure)]
pub struct FigureView {
    pub key: Key,
    pub section: Section,
    pub label: String,
    /// The number as shown (a count, a percent, a mean), rounded down;
    /// none where the figure has nothing to show (a share of nothing).
    pub value: Option<f64>,
    /// e.g. "12", "83.3%", "4.2".
    pub display: Option<String>,
    /// For shares: "5/6".
    pub fraction: Option<String>,
    /// Projects by state, deliberations by step.
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CockpitChild)]
pub struct ChildView {
    pub place_id: i64,
    pub name: String,
    pub kind: PlaceKind,
    pub figures: Vec<FigureView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CockpitCrumb)]
pub struct Crumb {
    pub place_id: i64,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CockpitView)]
pub struct CockpitView {
    pub place_id: i64,
    pub name: String,
    pub kind: PlaceKind,
    /// The quarter joint meetings are counted in, e.g. "2026Q4".
    pub quarter: String,
    /// The way down from the reader's top node.
    pub trail: Vec<Crumb>,
    pub figures: Vec<FigureView>,
    /// Streets of a district, communities of a street, compounds of a
    /// community (none for a compound), in division order.
    pub children: Vec<ChildView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CockpitRankedChild)]
pub struct RankedChild {
    pub place_id: i64,
    pub name: String,
    pub kind: PlaceKind,
    /// 1 for the greatest; equal values share a rank; none when the
    /// figure has nothing to show for this child.
    pub rank: Option<usize>,
    pub value: Option<f64>,
    pub display: Option<String>,
    pub fraction: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CockpitRanking)]
pub struct Ranking {
    pub place_id: i64,
    pub name: String,
    pub figure: Key,
    pub label: String,
    /// Greatest first.
    pub children: Vec<RankedChild>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct RankQuery {
    /// A figure key, e.g. `party_org_coverage` (the default) or
    /// `matters_raised`.
    pub figure: Option<String>,
}

// ---------------------------------------------------------------- views

fn kind_of(p: &place::Model) -> PlaceKind {
    PlaceKind::parse(&p.kind).unwrap_or(PlaceKind::Compound)
}

pub fn figure_view(lang: Lang, n: &Numbers, key: Key) -> FigureView {
    let v = n.value(key);
    let prefix = if key == Key::Projects {
        "cockpit.project_state."
    } else {
        "cockpit.step."
    };
    FigureView {
        key,
        section: key.section(),
        label: lang
            .t(&format!("cockpit.figure.{}", key.as_str()))
            .into_owned(),
        value: v.and_then(rules::Value::number),
        display: v.and_then(rules::Value::display),
        fraction: v.and_then(rules::Value::fraction),
        parts: n
            .breakdown(key)
            .into_iter()
            .map(|(name, count)| Part {
                name: name.into(),
                label: lang.t(&format!("{prefix}{name}")).into_owned(),
                count,
            })
            .collect(),
    }
}

pub fn figures(lang: Lang, n: &Numbers) -> Vec<FigureView> {
    Key::ALL.iter().map(|k| figure_view(lang, n, *k)).collect()
}

pub fn view(lang: Lang, b: &Board, trail: Vec<(i64, String)>) -> CockpitView {
    CockpitView {
        place_id: b.node.id,
        name: b.node.name.clone(),
        kind: kind_of(&b.node),
        quarter: format!("{}Q{}", b.quarter.year, b.quarter.q),
        trail: trail
            .into_iter()
            .map(|(place_id, name)| Crumb { place_id, name })
            .collect(),
        figures: figures(lang, &b.numbers),
        children: b
            .children
            .iter()
            .map(|(c, n)| ChildView {
                place_id: c.id,
                name: c.name.clone(),
                kind: kind_of(c),
                figures: figures(lang, n),
            })
            .collect(),
    }
}

pub fn ranking(lang: Lang, b: &Board, key: Key) -> Ranking {
    let values: Vec<Option<rules::Value>> = b.children.iter().map(|(_, n)| n.value(key)).collect();
    Ranking {
        place_id: b.node.id,
        name: b.node.name.clone(),
        figure: key,
        label: lang
            .t(&format!("cockpit.figure.{}", key.as_str()))
            .into_owned(),
        children: rules::rank(&values)
            .into_iter()
            .map(|(i, rank)| {
                let (c, _) = &b.children[i];
                let v = values[i];
                RankedChild {
                    place_id: c.id,
                    name: c.name.clone(),
                    kind: kind_of(c),
                    rank,
                    value: v.and_then(rules::Value::number),
                    display: v.and_then(rules::Value::display),
                    fraction: v.and_then(rules::Value::fraction),
                }
            })
            .collect(),
    }
}

// ---------------------------------------------------------------- handlers

/// Every figure of a district, street, community or compound, and of each
/// of its children, computed from the records (the node's officials).
#[utoipa::path(get, path = "/cockpit/{place_id}", tag = "cockpit",
    params(("place_id" = i64, Path, description = "A district, street, community or compound")),
    responses((status = 200, body = CockpitView), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get_cockpit(
    State(state): State<AppState>,
    user: User,
    Path(place_id): Path<i64>,
) -> Result<ApiJson<CockpitView>, ApiError> {
    let db = state.db.conn();
    let p = node(db, &user, place_id).await?;
    let b = board::gather(db, &user, &p, Utc::now()).await?;
    let t = trail(db, &user, &p).await?;
    Ok(ApiJson(view(i18n::current(), &b, t)))
}

/// The node's children ranked by one figure, greatest first, each with
/// its value (the node's officials).
#[utoipa::path(get, path = "/cockpit/{place_id}/children", tag = "cockpit",
    params(("place_id" = i64, Path, description = "A district, street or community"), RankQuery),
    responses((status = 200, body = Ranking), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get_children(
    State(state): State<AppState>,
    user: User,
    Path(place_id): Path<i64>,
    ApiQuery(q): ApiQuery<RankQuery>,
) -> Result<ApiJson<Ranking>, ApiError> {
    let db = state.db.conn();
    let p = node(db, &user, place_id).await?;
    let key = figure_key(q.figure.as_deref())?;
    let b = board::gather(db, &user, &p, Utc::now()).await?;
    Ok(ApiJson(ranking(i18n::current(), &b, key)))
}
