//! JSON API of cohesion pilots.
//!
//! Scope: a designation belongs to a street. The street's admins and the
//! district admins above it designate pilots, end designations and choose
//! the indicators the street tracks. Pilots and the tracked indicators are
//! read by those admins and by the community workers and compound
//! secretaries inside the street; the comparison of pilots with the rest
//! needs the registry of the place (district and street admins). Anyone
//! else gets 404.

use std::collections::{HashMap, HashSet};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use jinlin_kernel::ApiError;
use jinlin_kernel::audit::{self, Entry};
use jinlin_kernel::auth::{Access, Principal, Role, User};
use jinlin_kernel::error::ErrorBody;
use jinlin_kernel::i18n;
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::place::entity as place;
use jinlin_kernel::web::{ApiJson, AppState};
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::entity::{pilot_compound, pilot_indicator};
use crate::rules::{self, Group, Indicator, Invalid, PilotType, Sample, Unit};
use crate::store;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_pilots, designate_pilot))
        .routes(routes!(end_pilot))
        .routes(routes!(get_indicators, set_indicators))
        .routes(routes!(get_comparison))
}

// ---------------------------------------------------------------- errors

pub fn invalid(e: Invalid) -> ApiError {
    let lang = i18n::current();
    let text = match &e.item {
        Some(item) => lang.tf(e.key, &[("item", item)]),
        None => lang.t(e.key).into_owned(),
    };
    ApiError::invalid(text)
}

fn invalid_key(key: &'static str) -> ApiError {
    invalid(Invalid { key, item: None })
}

fn conflict(key: &str) -> ApiError {
    ApiError::with_message(StatusCode::CONFLICT, "conflict", i18n::current().t(key))
}

// ---------------------------------------------------------------- scope

/// District and street admins whose scope holds the street manage its
/// pilots.
pub fn manages(user: &Principal, street: &place::Model) -> bool {
    user.roles_for(Access::Edit, &street.position())
        .iter()
        .any(|r| matches!(r, Role::DistrictAdmin | Role::StreetAdmin))
}

/// Whether the principal reads the pilots of a place: whoever sees it,
/// and the community workers and compound secretaries inside it.
pub fn reaches(user: &Principal, p: &place::Model) -> bool {
    let pos = p.position();
    jinlin_places::store::visible(user, p)
        || user.grants.iter().any(|g| {
            matches!(g.role, Role::CommunityWorker | Role::CompoundSecretary)
                && g.place.is_within(&pos)
        })
}

fn is_scope_kind(p: &place::Model) -> bool {
    p.kind == PlaceKind::Street.as_str() || p.kind == PlaceKind::District.as_str()
}

/// A street or district whose pilots the principal may read.
pub async fn readable_scope(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<place::Model, ApiError> {
    match store::place(db, id).await? {
        Some(p) if reaches(user, &p) => {
            if !is_scope_kind(&p) {
                return Err(invalid_key("pilots.error.scope"));
            }
            Ok(p)
        }
        _ => Err(ApiError::not_found()),
    }
}

/// A street whose pilots the principal manages: 404 outside, 422 for a
/// place that is no street, 403 inside without the power.
pub async fn managed_street(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<place::Model, ApiError> {
    let p = match store::place(db, id).await? {
        Some(p) if reaches(user, &p) => p,
        _ => return Err(ApiError::not_found()),
    };
    if p.kind != PlaceKind::Street.as_str() {
        return Err(invalid_key("pilots.error.not_street"));
    }
    if !manages(user, &p) {
        return Err(ApiError::forbidden());
    }
    Ok(p)
}

// ---------------------------------------------------------------- shapes

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CohesionPilotCreated)]
pub struct Created {
    pub id: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[schema(as = NewCohesionPilot)]
#[serde(deny_unknown_fields)]
pub struct NewPilot {
    /// A compound of the street.
    pub compound_id: i64,
    /// `commercial`, `resettlement`, `new_town` or `old_town`.
    #[serde(rename = "type", default)]
    pub pilot_type: String,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[schema(as = EndCohesionPilot)]
#[serde(deny_unknown_fields)]
pub struct EndPilot {
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[schema(as = CohesionPilotIndicatorsInput)]
#[serde(deny_unknown_fields)]
pub struct IndicatorsInput {
    /// Codes from the catalogue, in the order to show them.
    pub indicators: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CohesionPilotView)]
pub struct PilotView {
    pub id: i64,
    pub compound_id: i64,
    pub compound_name: String,
    pub street_id: i64,
    pub street_name: String,
    #[serde(rename = "type")]
    pub pilot_type: PilotType,
    pub note: Option<String>,
    pub designated_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub end_reason: Option<String>,
    pub current: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CohesionPilotCatalogueEntry)]
pub struct CatalogueEntry {
    pub indicator: Indicator,
    pub unit: Unit,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CohesionPilotIndicators)]
pub struct IndicatorsView {
    pub street_id: i64,
    pub street_name: String,
    pub tracked: Vec<Indicator>,
    pub catalogue: Vec<CatalogueEntry>,
    pub can_manage: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CohesionPilotGroupView)]
pub struct GroupView {
    /// Compounds with a value.
    pub n: u64,
    pub mean: Option<f64>,
    /// The mean as shown: "62.5%" or "1.25".
    pub display: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CohesionPilotTypeRow)]
pub struct TypeRow {
    #[serde(rename = "type")]
    pub pilot_type: PilotType,
    pub pilots: GroupView,
    /// The other compounds whose registry classification has this type.
    pub rest: GroupView,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CohesionPilotIndicatorComparison)]
pub struct IndicatorComparison {
    pub indicator: Indicator,
    pub unit: Unit,
    pub pilots: GroupView,
    pub rest: GroupView,
    pub by_type: Vec<TypeRow>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CohesionPilotStreetIndicator)]
pub struct StreetIndicator {
    pub indicator: Indicator,
    pub unit: Unit,
    pub pilots: GroupView,
    pub rest: GroupView,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CohesionPilotStreetComparison)]
pub struct StreetComparison {
    pub street_id: i64,
    pub street_name: String,
    pub compounds: u64,
    pub pilots: u64,
    /// The street's own tracked indicators, over its compounds.
    pub indicators: Vec<StreetIndicator>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CohesionPilotComparison)]
pub struct PilotComparison {
    pub place_id: i64,
    pub name: String,
    pub kind: PlaceKind,
    /// Residents' matters count when raised in the last this many days.
    pub window_days: i64,
    pub compounds: u64,
    pub pilots: u64,
    /// For a street, the indicators it tracks; for a district, those any
    /// of its streets tracks.
    pub indicators: Vec<IndicatorComparison>,
    /// A district's streets (empty for a street).
    pub streets: Vec<StreetComparison>,
}

// ---------------------------------------------------------------- reads

pub async fn pilot_views(
    db: &impl ConnectionTrait,
    rows: &[pilot_compound::Model],
) -> Result<Vec<PilotView>, ApiError> {
    let names = store::places(
        db,
        rows.iter()
            .flat_map(|p| [p.compound_id, p.street_id])
            .collect::<HashSet<i64>>(),
    )
    .await?;
    let name = |id: i64| names.get(&id).map(|p| p.name.clone()).unwrap_or_default();
    Ok(rows
        .iter()
        .map(|p| PilotView {
            id: p.id,
            compound_id: p.compound_id,
            compound_name: name(p.compound_id),
            street_id: p.street_id,
            street_name: name(p.street_id),
            pilot_type: PilotType::parse(&p.pilot_type).unwrap_or(PilotType::Commercial),
            note: p.note.clone(),
            designated_at: p.designated_at,
            ended_at: p.ended_at,
            end_reason: p.end_reason.clone(),
            current: p.ended_at.is_none(),
        })
        .collect())
}

pub async fn indicators_view(
    db: &impl ConnectionTrait,
    user: &Principal,
    street: &place::Model,
) -> Result<IndicatorsView, ApiError> {
    let tracked = store::tracked(db, &[street.id])
        .await?
        .remove(&street.id)
        .unwrap_or_default();
    Ok(IndicatorsView {
        street_id: street.id,
        street_name: street.name.clone(),
        tracked,
        catalogue: Indicator::ALL
            .iter()
            .map(|i| CatalogueEntry {
                indicator: *i,
                unit: i.unit(),
            })
            .collect(),
        can_manage: manages(user, street),
    })
}

fn group_view(unit: Unit, g: Group) -> GroupView {
    GroupView {
        n: g.n,
        mean: g.mean,
        display: g.mean.map(|m| rules::display(unit, m)),
    }
}

/// What a comparison knows of each compound.
struct Known<'a> {
    pilots: &'a HashMap<i64, PilotType>,
    types: &'a HashMap<i64, Vec<PilotType>>,
    facts: &'a HashMap<i64, rules::Facts>,
}

impl Known<'_> {
    fn samples<'p>(
        &self,
        ind: Indicator,
        of: impl Iterator<Item = &'p place::Model>,
    ) -> Vec<Sample> {
        of.map(|c| Sample {
            pilot: self.pilots.get(&c.id).copied(),
            types: self.types.get(&c.id).cloned().unwrap_or_default(),
            value: self.facts.get(&c.id).and_then(|f| rules::value(ind, f)),
        })
        .collect()
    }
}

/// Pilots against the other compounds of a street or a district, for the
/// indicators tracked there, as of `now`.
pub async fn comparison(
    db: &impl ConnectionTrait,
    scope: &place::Model,
    now: DateTime<Utc>,
) -> Result<PilotComparison, ApiError> {
    let compounds = store::compounds_in(db, scope).await?;
    let ids: Vec<i64> = compounds.iter().map(|c| c.id).collect();
    let pilots: HashMap<i64, PilotType> = store::pilots_in(db, scope, true)
        .await?
        .iter()
        .filter_map(|p| Some((p.compound_id, PilotType::parse(&p.pilot_type)?)))
        .collect();
    let types = store::registry_types(db, &ids).await?;
    let facts = store::facts(db, scope, &ids, now).await?;
    let streets = store::streets_in(db, scope).await?;
    let street_ids: Vec<i64> = streets.iter().map(|s| s.id).collect();
    let tracked = store::tracked(db, &street_ids).await?;
    let is_street = scope.kind == PlaceKind::Street.as_str();
    let shown: Vec<Indicator> = if is_street {
        tracked.get(&scope.id).cloned().unwrap_or_default()
    } else {
        let any: HashSet<Indicator> = tracked.values().flatten().copied().collect();
        Indicator::ALL
            .iter()
            .copied()
            .filter(|i| any.contains(i))
            .collect()
    };
    let known = Known {
        pilots: &pilots,
        types: &types,
        facts: &facts,
    };
    let indicators = shown
        .iter()
        .map(|ind| {
            let unit = ind.unit();
            let c = rules::compare(&known.samples(*ind, compounds.iter()));
            IndicatorComparison {
                indicator: *ind,
                unit,
                pilots: group_view(unit, c.all.pilots),
                rest: group_view(unit, c.all.rest),
                by_type: c
                    .by_type
                    .into_iter()
                    .map(|(t, r)| TypeRow {
                        pilot_type: t,
                        pilots: group_view(unit, r.pilots),
                        rest: group_view(unit, r.rest),
                    })
                    .collect(),
            }
        })
        .collect();
    let mut street_rows = Vec::new();
    if !is_street {
        for s in &streets {
            let mine: Vec<&place::Model> = compounds
                .iter()
                .filter(|c| c.street_id == Some(s.id))
                .collect();
            let n_pilots = mine.iter().filter(|c| pilots.contains_key(&c.id)).count() as u64;
            let own = tracked.get(&s.id).cloned().unwrap_or_default();
            street_rows.push(StreetComparison {
                street_id: s.id,
                street_name: s.name.clone(),
                compounds: mine.len() as u64,
                pilots: n_pilots,
                indicators: own
                    .iter()
                    .map(|ind| {
                        let unit = ind.unit();
                        let c = rules::compare(&known.samples(*ind, mine.iter().copied()));
                        StreetIndicator {
                            indicator: *ind,
                            unit,
                            pilots: group_view(unit, c.all.pilots),
                            rest: group_view(unit, c.all.rest),
                        }
                    })
                    .collect(),
            });
        }
    }
    Ok(PilotComparison {
        place_id: scope.id,
        name: scope.name.clone(),
        kind: PlaceKind::parse(&scope.kind).unwrap_or(PlaceKind::District),
        window_days: rules::WINDOW_DAYS,
        compounds: compounds.len() as u64,
        pilots: pilots.len() as u64,
        indicators,
        streets: street_rows,
    })
}

// ---------------------------------------------------------------- writes

/// Designates a compound of the street as a pilot of a type.
pub async fn designate(
    db: &impl ConnectionTrait,
    user: &Principal,
    street_id: i64,
    input: &NewPilot,
) -> Result<i64, ApiError> {
    let street = managed_street(db, user, street_id).await?;
    let pilot_type = rules::parse_type(&input.pilot_type).map_err(invalid)?;
    let compound = match store::place(db, input.compound_id).await? {
        Some(c) if c.kind == PlaceKind::Compound.as_str() && c.street_id == Some(street.id) => c,
        _ => {
            return Err(invalid(Invalid {
                key: "pilots.error.unknown_compound",
                item: Some(input.compound_id.to_string()),
            }));
        }
    };
    let note = rules::check_optional(input.note.as_deref(), 500).map_err(invalid)?;
    store::lock_compound(db, compound.id).await?;
    if store::current_pilot(db, compound.id).await?.is_some() {
        return Err(conflict("pilots.error.already_pilot"));
    }
    let code = street.district_code.clone().unwrap_or_default();
    let id = pilot_compound::Entity::insert(pilot_compound::ActiveModel {
        district_code: Set(code.clone()),
        street_id: Set(street.id),
        community_id: Set(compound.community_id),
        compound_id: Set(compound.id),
        pilot_type: Set(pilot_type.as_str().into()),
        note: Set(note),
        designated_at: Set(Utc::now()),
        designated_by: Set(Some(user.account_id)),
        ended_at: Set(None),
        ended_by: Set(None),
        end_reason: Set(None),
        ..Default::default()
    })
    .exec(db)
    .await?
    .last_insert_id;
    audit::record(
        db,
        Entry::new(Some(user), "pilot.designate", "pilot_compound")
            .object(id)
            .district(Some(code))
            .detail(serde_json::json!({ "compound_id": compound.id, "type": pilot_type.as_str() })),
    )
    .await?;
    Ok(id)
}

/// Ends a current designation with a reason; the row stays as history.
pub async fn end(
    db: &impl ConnectionTrait,
    user: &Principal,
    pilot_id: i64,
    reason: &str,
) -> Result<i64, ApiError> {
    store::lock_pilot(db, pilot_id).await?;
    let Some(p) = pilot_compound::Entity::find_by_id(pilot_id).one(db).await? else {
        return Err(ApiError::not_found());
    };
    let street = match store::place(db, p.street_id).await? {
        Some(s) if reaches(user, &s) => s,
        _ => return Err(ApiError::not_found()),
    };
    if !manages(user, &street) {
        return Err(ApiError::forbidden());
    }
    if p.ended_at.is_some() {
        return Err(conflict("pilots.error.already_ended"));
    }
    let reason = rules::check_text(reason, 500, "pilots.error.reason").map_err(invalid)?;
    let code = p.district_code.clone();
    let mut m: pilot_compound::ActiveModel = p.into();
    m.ended_at = Set(Some(Utc::now()));
    m.ended_by = Set(Some(user.account_id));
    m.end_reason = Set(Some(reason));
    pilot_compound::Entity::update(m).exec(db).await?;
    audit::record(
        db,
        Entry::new(Some(user), "pilot.end", "pilot_compound")
            .object(pilot_id)
            .district(Some(code)),
    )
    .await?;
    Ok(street.id)
}

/// Replaces the indicators a street tracks.
pub async fn track(
    db: &impl ConnectionTrait,
    user: &Principal,
    street_id: i64,
    input: &IndicatorsInput,
) -> Result<place::Model, ApiError> {
    let street = managed_street(db, user, street_id).await?;
    let chosen = rules::check_indicators(&input.indicators).map_err(invalid)?;
    let code = street.district_code.clone().unwrap_or_default();
    pilot_indicator::Entity::delete_many()
        .filter(pilot_indicator::Column::StreetId.eq(street.id))
        .exec(db)
        .await?;
    let now = Utc::now();
    if !chosen.is_empty() {
        pilot_indicator::Entity::insert_many(chosen.iter().enumerate().map(|(n, i)| {
            pilot_indicator::ActiveModel {
                district_code: Set(code.clone()),
                street_id: Set(street.id),
                indicator: Set(i.as_str().into()),
                position: Set(n as i32 + 1),
                updated_by: Set(Some(user.account_id)),
                updated_at: Set(now),
                ..Default::default()
            }
        }))
        .exec(db)
        .await?;
    }
    audit::record(
        db,
        Entry::new(Some(user), "pilot.indicators", "place")
            .object(street.id)
            .district(Some(code))
            .detail(serde_json::json!({
                "indicators": chosen.iter().map(|i| i.as_str()).collect::<Vec<_>>()
            })),
    )
    .await?;
    Ok(street)
}

// ---------------------------------------------------------------- handlers

/// Pilots of a street or a district: current first, then the history.
#[utoipa::path(get, path = "/places/{id}/pilots", tag = "pilots",
    params(("id" = i64, Path, description = "Street or district (place) id")),
    responses((status = 200, body = Vec<PilotView>), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_pilots(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<Vec<PilotView>>, ApiError> {
    let db = state.db.conn();
    let scope = readable_scope(db, &user, id).await?;
    let rows = store::pilots_in(db, &scope, false).await?;
    Ok(ApiJson(pilot_views(db, &rows).await?))
}

/// Designates a compound of the street as a cohesion pilot of a type
/// (street admin, or district admin above it); a compound already a pilot
/// is refused (409).
#[utoipa::path(post, path = "/places/{id}/pilots", tag = "pilots", request_body = NewPilot,
    params(("id" = i64, Path, description = "Street (place) id")),
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn designate_pilot(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<NewPilot>,
) -> Result<(StatusCode, ApiJson<Created>), ApiError> {
    let tx = state.db.write().await?;
    let pid = designate(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(Created { id: pid })))
}

/// Ends a designation with a reason; it stays as history.
#[utoipa::path(post, path = "/pilots/{id}/end", tag = "pilots", request_body = EndPilot,
    params(("id" = i64, Path, description = "Designation id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn end_pilot(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<EndPilot>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    end(&tx, &user, id, &input.reason).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The indicators a street tracks, and the catalogue to choose from.
#[utoipa::path(get, path = "/places/{id}/pilot-indicators", tag = "pilots",
    params(("id" = i64, Path, description = "Street (place) id")),
    responses((status = 200, body = IndicatorsView), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get_indicators(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<IndicatorsView>, ApiError> {
    let db = state.db.conn();
    let street = readable_scope(db, &user, id).await?;
    if street.kind != PlaceKind::Street.as_str() {
        return Err(invalid_key("pilots.error.not_street"));
    }
    Ok(ApiJson(indicators_view(db, &user, &street).await?))
}

/// Chooses the indicators the street tracks (its admins); replaces the
/// earlier choice.
#[utoipa::path(put, path = "/places/{id}/pilot-indicators", tag = "pilots", request_body = IndicatorsInput,
    params(("id" = i64, Path, description = "Street (place) id")),
    responses((status = 200, body = IndicatorsView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_indicators(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<IndicatorsInput>,
) -> Result<ApiJson<IndicatorsView>, ApiError> {
    let tx = state.db.write().await?;
    let street = track(&tx, &user, id, &input).await?;
    let view = indicators_view(&tx, &user, &street).await?;
    tx.commit().await?;
    Ok(ApiJson(view))
}

/// Pilots against the other compounds of a district (with each street) or
/// a street: the mean of every tracked indicator, overall and by type
/// (readers of the place's registry).
#[utoipa::path(get, path = "/places/{id}/pilot-comparison", tag = "pilots",
    params(("id" = i64, Path, description = "District or street (place) id")),
    responses((status = 200, body = PilotComparison), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get_comparison(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<PilotComparison>, ApiError> {
    let db = state.db.conn();
    let scope = readable_scope(db, &user, id).await?;
    if !user.can(Access::Registry, &scope.position()) {
        return Err(ApiError::forbidden());
    }
    Ok(ApiJson(comparison(db, &scope, Utc::now()).await?))
}
