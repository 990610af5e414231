//! JSON API of the cockpit.
//!
//! Scope: the officials of a node read its cockpit: district and street
//! admins and community workers over it, and the party secretary of a
//! compound for the compound. Anyone else, and any node outside their
//! scope, gets 404. A place that is no district, street, community or
//! compound, and an unknown figure, get 422.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use jinlin_kernel::ApiError;
use jinlin_kernel::auth::{Principal, Role, User};
use jinlin_kernel::error::ErrorBody;
use jinlin_kernel::i18n::{self, Lang};
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::place::entity as place;
use jinlin_kernel::web::{ApiJson, ApiQuery, AppState};
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::board::{self, Board};
use crate::figures;
use crate::rules::{self, By, Key, Numbers, Period, Section};
use crate::store;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_cockpit))
        .routes(routes!(get_children))
        .routes(routes!(get_trend))
        .routes(routes!(get_open_data_csv))
        .routes(routes!(get_open_data_json))
}

fn invalid_key(key: &str) -> ApiError {
    ApiError::invalid(i18n::current().t(key))
}

// ---------------------------------------------------------------- scope

fn official_role(r: Role) -> bool {
    matches!(
        r,
        Role::DistrictAdmin | Role::StreetAdmin | Role::CommunityWorker | Role::CompoundSecretary
    )
}

fn node_kind(k: Option<PlaceKind>) -> bool {
    k.is_some_and(|k| k <= PlaceKind::Compound)
}

/// The places the user's cockpit opens at: their highest official grants
/// (province before city before district before street before community
/// before compound), as
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
        Some(p) if user.is_official_at(&p.position()) => p,
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
    // Up the parents by primary key: the tree's ancestor search by code
    // prefix scans the place table at a city's millions of dwellings. No
    // place above the user's highest official grant can be on the way, so
    // the walk stops level with it (a community worker's own community
    // reads nothing more).
    let highest = user
        .grants
        .iter()
        .filter(|g| official_role(g.role))
        .filter_map(|g| g.place.kind)
        .min();
    let below_highest = |k: Option<PlaceKind>| matches!((k, highest), (Some(k), Some(h)) if h < k);
    let mut out = vec![(p.id, p.name.clone())];
    let mut at = PlaceKind::parse(&p.kind);
    let mut parent = p.parent_id;
    while let Some(id) = parent.filter(|_| below_highest(at)) {
        let Some(a) = jinlin_places::store::find(db, id).await? else {
            break;
        };
        if node_kind(PlaceKind::parse(&a.kind)) && user.is_official_at(&a.position()) {
            out.push((a.id, a.name.clone()));
        }
        at = PlaceKind::parse(&a.kind);
        parent = a.parent_id;
    }
    out.reverse();
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

/// A child whose maintained figures were not refreshed on time: its
/// parent's sums hold its older figures (or, never computed, lack it).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CockpitBehind)]
pub struct BehindView {
    pub place_id: i64,
    pub name: String,
    /// When its figures were last computed; none if never.
    pub computed_at: Option<DateTime<Utc>>,
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
    /// When the figures were computed (截至): a street's and above are
    /// the maintained figures, refreshed by a recurring job; none for a
    /// community's or compound's, gathered at the moment of reading.
    pub computed_at: Option<DateTime<Utc>>,
    /// The way down from the reader's top node.
    pub trail: Vec<Crumb>,
    pub figures: Vec<FigureView>,
    /// Cities of a province, districts of a city, streets of a district,
    /// communities of a street, compounds of a community (none for a
    /// compound), in division order.
    pub children: Vec<ChildView>,
    /// Children whose figures are out of date: not refreshed within 20
    /// minutes, or never. Empty below a street (gathered at reading).
    pub behind: Vec<BehindView>,
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
        computed_at: b.computed_at,
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
        behind: b
            .behind
            .iter()
            .map(|x| BehindView {
                place_id: x.place_id,
                name: x.name.clone(),
                computed_at: x.computed_at,
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
    let b = figures::board(&state.db, &p, Utc::now()).await?;
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
    let b = figures::board(&state.db, &p, Utc::now()).await?;
    Ok(ApiJson(ranking(i18n::current(), &b, key)))
}

// ---------------------------------------------------------------- trends

#[derive(Debug, Deserialize, IntoParams)]
pub struct TrendQuery {
    /// A figure with a trend, e.g. `matters_raised` (see `TREND_KEYS`).
    pub figure: Option<String>,
    /// `month` (the last 12 months, the default) or `quarter` (the last 8).
    pub by: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CockpitTrendPoint)]
pub struct TrendPoint {
    /// `2026-11` or `2026-Q4`.
    pub period: String,
    /// Its first instant (midnight in China) and the first after it.
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// A dated figure: the records counted in the period. A standing
    /// count (teams, grids …): its value in the period's last snapshot.
    /// None for a share or mean, and for a period without a snapshot.
    pub count: Option<u64>,
    /// The number as shown (a count, a percent, a mean; rounded down);
    /// none where there is nothing to show, or no snapshot in the period
    /// (before the first: no value, not zero).
    pub value: Option<f64>,
    /// e.g. "12", "83.3%", "4.2".
    pub display: Option<String>,
    /// For shares: "5/6".
    pub fraction: Option<String>,
}

impl TrendPoint {
    fn new(per: &Period, v: Option<rules::Value>) -> TrendPoint {
        TrendPoint {
            period: per.label(),
            start: per.start(),
            end: per.end(),
            count: match v {
                Some(rules::Value::Count(n)) => Some(n),
                _ => None,
            },
            value: v.and_then(rules::Value::number),
            display: v.and_then(rules::Value::display),
            fraction: v.and_then(rules::Value::fraction),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CockpitTrend)]
pub struct TrendView {
    pub place_id: i64,
    pub name: String,
    pub figure: Key,
    pub label: String,
    pub by: By,
    /// `records` for a dated figure (counted by the date of each record),
    /// `snapshots` for a standing one (the last daily snapshot of each
    /// period).
    pub source: String,
    /// Oldest first; the current period last.
    pub points: Vec<TrendPoint>,
}

/// The figure of a trend: 422 for a missing or unknown one.
pub fn trend_key(s: Option<&str>) -> Result<Key, ApiError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Err(invalid_key("cockpit.error.figure")),
        Some(s) => Key::parse(s).ok_or_else(|| invalid_key("cockpit.error.figure")),
    }
}

/// Whether a node keeps daily snapshots (a community and above).
pub fn has_snapshots(p: &place::Model) -> bool {
    PlaceKind::parse(&p.kind).is_some_and(|k| k <= PlaceKind::Community)
}

/// `month` (the default) or `quarter`; 422 otherwise.
pub fn trend_by(s: Option<&str>) -> Result<By, ApiError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(By::Month),
        Some(s) => By::parse(s).ok_or_else(|| invalid_key("cockpit.error.by")),
    }
}

/// The trend of one figure at a node as of `now`.
pub async fn trend(
    db: &impl ConnectionTrait,
    lang: Lang,
    p: &place::Model,
    key: Key,
    by: By,
    now: DateTime<Utc>,
) -> Result<TrendView, ApiError> {
    let periods = rules::periods(by, now);
    let label = lang
        .t(&format!("cockpit.figure.{}", key.as_str()))
        .into_owned();
    if !key.has_trend() {
        if !has_snapshots(p) {
            return Err(invalid_key("cockpit.error.no_snapshot_here"));
        }
        let (Some(first), Some(last)) = (periods.first(), periods.last()) else {
            return Err(invalid_key("cockpit.error.by"));
        };
        let rows = figures::snapshots(
            db,
            p.id,
            &first.days().0.to_string(),
            &last.days().1.to_string(),
        )
        .await?;
        let snaps: Vec<(chrono::NaiveDate, Numbers)> = rows
            .into_iter()
            .filter_map(|(d, n)| Some((d.parse().ok()?, n)))
            .collect();
        let shown = rules::last_in_each(&periods, &snaps);
        return Ok(TrendView {
            place_id: p.id,
            name: p.name.clone(),
            figure: key,
            label,
            by,
            source: "snapshots".into(),
            points: periods
                .iter()
                .zip(shown)
                .map(|(per, n)| TrendPoint::new(per, n.and_then(|n| n.value(key))))
                .collect(),
        });
    }
    let Some(counts) = store::trend(db, p, key, &periods, false, now).await? else {
        return Err(invalid_key("cockpit.error.no_trend_here"));
    };
    let counts = counts.into_values().next().unwrap_or_default();
    Ok(TrendView {
        place_id: p.id,
        name: p.name.clone(),
        figure: key,
        label,
        by,
        source: "records".into(),
        points: periods
            .iter()
            .enumerate()
            .map(|(i, per)| {
                TrendPoint::new(
                    per,
                    Some(rules::Value::Count(counts.get(i).copied().unwrap_or(0))),
                )
            })
            .collect(),
    })
}

/// One figure of a node counted by month (the last 12) or quarter (the
/// last 8), China time, from the dated records (the node's officials).
#[utoipa::path(get, path = "/cockpit/{place_id}/trend", tag = "cockpit",
    params(("place_id" = i64, Path, description = "A district, street, community or compound"), TrendQuery),
    responses((status = 200, body = TrendView), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get_trend(
    State(state): State<AppState>,
    user: User,
    Path(place_id): Path<i64>,
    ApiQuery(q): ApiQuery<TrendQuery>,
) -> Result<ApiJson<TrendView>, ApiError> {
    let p = node(state.db.conn(), &user, place_id).await?;
    let key = trend_key(q.figure.as_deref())?;
    let by = trend_by(q.by.as_deref())?;
    Ok(ApiJson(
        trend(state.db.reads(), i18n::current(), &p, key, by, Utc::now()).await?,
    ))
}

// ---------------------------------------------------------------- open data

#[derive(Debug, Deserialize, IntoParams)]
pub struct OpenDataQuery {
    /// `YYYY-MM` or `YYYY-Qn`; the current month (China time) when none.
    pub period: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CockpitOpenPlace)]
pub struct OpenPlace {
    pub place_id: i64,
    /// The administrative division code, where the place has one.
    pub code: Option<String>,
    pub name: String,
    pub kind: PlaceKind,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CockpitOpenRow)]
pub struct OpenRow {
    pub place: OpenPlace,
    /// Figure key to value: the dated figures counted in the period, the
    /// standing ones as of now (shares in percent, rounded down to a
    /// tenth); null where a figure has nothing to show.
    #[schema(value_type = Object)]
    pub figures: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CockpitOpenData)]
pub struct OpenData {
    pub place: OpenPlace,
    /// `2026-11` or `2026-Q4`.
    pub period: String,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    /// The keys counted in the period; the others are standing figures.
    pub period_figures: Vec<Key>,
    #[schema(value_type = Object)]
    pub figures: BTreeMap<String, serde_json::Value>,
    /// The node's children, in division order.
    pub children: Vec<OpenRow>,
}

/// The period asked for: the current month when none; 422 otherwise.
pub fn open_period(s: Option<&str>, now: DateTime<Utc>) -> Result<Period, ApiError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(Period::of(By::Month, now)),
        Some(s) => Period::parse(s).ok_or_else(|| invalid_key("cockpit.error.period")),
    }
}

fn open_place(p: &place::Model) -> OpenPlace {
    OpenPlace {
        place_id: p.id,
        code: p.code.clone(),
        name: p.name.clone(),
        kind: kind_of(p),
    }
}

/// A standing value as published: a count, or a share in percent or a
/// mean, rounded down to a tenth.
fn open_value(v: Option<rules::Value>) -> serde_json::Value {
    match v {
        Some(rules::Value::Count(n)) => n.into(),
        Some(v) => v
            .number()
            .map(Into::into)
            .unwrap_or(serde_json::Value::Null),
        None => serde_json::Value::Null,
    }
}

/// The open data of a node for a period: aggregate figures only.
pub async fn open_data(
    database: &jinlin_kernel::Database,
    p: &place::Model,
    period: Period,
    now: DateTime<Utc>,
) -> Result<OpenData, ApiError> {
    // The figures come from the replica when one keeps up; the node was
    // checked against the reader's access on the primary.
    let db = database.reads();
    let b = figures::board(database, p, now).await?;
    // Above a district the rows are told apart by district code, not by a
    // child's id: each child (a district, a city) is counted on its own.
    let one_by_one = matches!(
        PlaceKind::parse(&p.kind),
        Some(PlaceKind::Province | PlaceKind::City)
    );
    let standing = |n: &Numbers| -> BTreeMap<String, serde_json::Value> {
        Key::ALL
            .iter()
            .filter(|k| !k.has_trend())
            .map(|k| (k.as_str().to_string(), open_value(n.value(*k))))
            .collect()
    };
    let mut node_figures = standing(&b.numbers);
    let mut child_figures: Vec<BTreeMap<String, serde_json::Value>> =
        b.children.iter().map(|(_, n)| standing(n)).collect();
    for key in rules::TREND_KEYS {
        let name = key.as_str().to_string();
        let whole = store::trend(db, p, key, &[period], false, now).await?;
        node_figures.insert(
            name.clone(),
            whole
                .map(|m| m.values().flatten().sum::<u64>().into())
                .unwrap_or(serde_json::Value::Null),
        );
        if b.children.is_empty() {
            continue;
        }
        let by: Option<HashMap<Option<i64>, Vec<u64>>> = if one_by_one {
            let mut m = HashMap::new();
            for (c, _) in &b.children {
                if let Some(t) = store::trend(db, c, key, &[period], false, now).await? {
                    m.insert(Some(c.id), t.values().flatten().copied().collect());
                }
            }
            Some(m)
        } else {
            store::trend(db, p, key, &[period], true, now).await?
        };
        for ((c, _), f) in b.children.iter().zip(child_figures.iter_mut()) {
            let v = match &by {
                Some(m) if store::counted_at(key, c) => m
                    .get(&Some(c.id))
                    .and_then(|v| v.first().copied())
                    .unwrap_or(0)
                    .into(),
                _ => serde_json::Value::Null,
            };
            f.insert(name.clone(), v);
        }
    }
    Ok(OpenData {
        place: open_place(p),
        period: period.label(),
        period_start: period.start(),
        period_end: period.end(),
        period_figures: rules::TREND_KEYS.to_vec(),
        figures: node_figures,
        children: b
            .children
            .iter()
            .zip(child_figures)
            .map(|((c, _), figures)| OpenRow {
                place: open_place(c),
                figures,
            })
            .collect(),
    })
}

/// The CSV columns before the figures.
pub const OPEN_COLUMNS: [&str; 8] = [
    "place_id",
    "place_code",
    "place_name",
    "place_kind",
    "level",
    "period",
    "period_start",
    "period_end",
];

/// The open data as CSV: a heading row of English snake_case keys, the
/// node's row, then a row per child.
pub fn open_csv(d: &OpenData) -> Result<Vec<u8>, ApiError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let keys: Vec<&str> = Key::ALL.iter().map(|k| k.as_str()).collect();
    let head: Vec<&str> = OPEN_COLUMNS
        .iter()
        .copied()
        .chain(keys.iter().copied())
        .collect();
    w.write_record(&head).map_err(ApiError::internal)?;
    let china = |t: DateTime<Utc>| {
        t.with_timezone(&jinlin_kernel::time::china())
            .date_naive()
            .to_string()
    };
    // The end is exclusive; the last day is the one before it.
    let last_day = china(d.period_end - chrono::Duration::days(1));
    let rows = std::iter::once(("node", &d.place, &d.figures))
        .chain(d.children.iter().map(|c| ("child", &c.place, &c.figures)));
    for (level, place, figures) in rows {
        let kind = serde_json::to_value(place.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let mut rec = vec![
            place.place_id.to_string(),
            place.code.clone().unwrap_or_default(),
            place.name.clone(),
            kind,
            level.to_string(),
            d.period.clone(),
            china(d.period_start),
            last_day.clone(),
        ];
        for k in &keys {
            rec.push(match figures.get(*k) {
                Some(serde_json::Value::Null) | None => String::new(),
                Some(v) => v.to_string(),
            });
        }
        w.write_record(&rec).map_err(ApiError::internal)?;
    }
    w.into_inner()
        .map_err(|e| ApiError::internal(e.to_string()))
}

/// The node's and each child's aggregate figures for a period, as CSV
/// (the node's officials). No personal data: places and counts only.
#[utoipa::path(get, path = "/cockpit/{place_id}/open-data.csv", tag = "cockpit",
    params(("place_id" = i64, Path, description = "A district, street, community or compound"), OpenDataQuery),
    responses((status = 200, description = "One heading row of figure keys, the node, then its children",
            content_type = "text/csv", body = String),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn get_open_data_csv(
    State(state): State<AppState>,
    user: User,
    Path(place_id): Path<i64>,
    ApiQuery(q): ApiQuery<OpenDataQuery>,
) -> Result<Response, ApiError> {
    let db = state.db.conn();
    let p = node(db, &user, place_id).await?;
    let now = Utc::now();
    let period = open_period(q.period.as_deref(), now)?;
    let d = open_data(&state.db, &p, period, now).await?;
    let body = open_csv(&d)?;
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"cockpit-{}-{}.csv\"",
        p.id, d.period
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

/// The node's and each child's aggregate figures for a period, as JSON
/// (the node's officials). No personal data: places and counts only.
#[utoipa::path(get, path = "/cockpit/{place_id}/open-data.json", tag = "cockpit",
    params(("place_id" = i64, Path, description = "A district, street, community or compound"), OpenDataQuery),
    responses((status = 200, body = OpenData), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get_open_data_json(
    State(state): State<AppState>,
    user: User,
    Path(place_id): Path<i64>,
    ApiQuery(q): ApiQuery<OpenDataQuery>,
) -> Result<ApiJson<OpenData>, ApiError> {
    let db = state.db.conn();
    let p = node(db, &user, place_id).await?;
    let now = Utc::now();
    let period = open_period(q.period.as_deref(), now)?;
    Ok(ApiJson(open_data(&state.db, &p, period, now).await?))
}
