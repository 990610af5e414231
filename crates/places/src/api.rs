//! JSON API of the place tree: `/api/v1/places/…`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use jinlin_kernel::ApiError;
use jinlin_kernel::audit::{self, Entry};
use jinlin_kernel::auth::{Access, User};
use jinlin_kernel::error::ErrorBody;
use jinlin_kernel::i18n;
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::place::entity as place;
use jinlin_kernel::web::{ApiJson, ApiQuery, AppState};
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::rules::{self, AreaSource, CompoundType, Invalid, TownArea};
use crate::store::{self, CompoundInput, DwellingInput};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_place, update_place, delete_place))
        .routes(routes!(list_children, create_child))
        .routes(routes!(search_places))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlaceSummary {
    pub id: i64,
    pub kind: PlaceKind,
    pub name: String,
    /// 12-digit national statistical code (down to community).
    pub code: Option<String>,
}

impl From<&place::Model> for PlaceSummary {
    fn from(p: &place::Model) -> Self {
        PlaceSummary {
            id: p.id,
            kind: PlaceKind::parse(&p.kind).unwrap_or(PlaceKind::Dwelling),
            name: p.name.clone(),
            code: p.code.clone(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct CompoundDetails {
    pub compound_type: CompoundType,
    pub town_area: TownArea,
    #[serde(default)]
    pub address: String,
    /// Latitude in millionths of a degree.
    pub latitude_e6: Option<i32>,
    /// Longitude in millionths of a degree.
    pub longitude_e6: Option<i32>,
    pub owners_committee: Option<String>,
    pub property_company: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct DwellingDetails {
    /// Registered exclusive area in hundredths of a square metre.
    pub area_centi_m2: i64,
    pub area_source: AreaSource,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlaceDetail {
    #[serde(flatten)]
    pub place: PlaceSummary,
    pub parent_id: Option<i64>,
    pub district_code: Option<String>,
    /// From the top of the tree down to the parent.
    pub ancestors: Vec<PlaceSummary>,
    pub children: u64,
    pub compound: Option<CompoundDetails>,
    pub dwelling: Option<DwellingDetails>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlacePage {
    pub items: Vec<PlaceSummary>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct PageQuery {
    /// 1-based page number.
    pub page: Option<u64>,
    /// Items per page, 1–500 (default 100).
    pub per_page: Option<u64>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct SearchQuery {
    /// Chinese name (part of it), pinyin initials, or the start of a code.
    pub q: String,
    /// At most this many results, 1–100 (default 20).
    pub limit: Option<u64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPlace {
    pub name: String,
    /// Required when the new place is a compound.
    pub compound: Option<CompoundDetails>,
    /// Required when the new place is a dwelling.
    pub dwelling: Option<DwellingDetails>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceChange {
    pub name: Option<String>,
    pub compound: Option<CompoundDetails>,
    pub dwelling: Option<DwellingDetails>,
}

fn invalid(e: Invalid) -> ApiError {
    let lang = i18n::current();
    ApiError::invalid(format!("{} ({})", lang.t(e.key), e.field))
}

/// Loads a place the user may see, or 404 (whether or not it exists).
pub async fn visible_place(
    db: &impl ConnectionTrait,
    user: &User,
    id: i64,
) -> Result<place::Model, ApiError> {
    let found = store::find(db, id).await?;
    match found {
        Some(p) if store::visible(user, &p) => Ok(p),
        _ => Err(ApiError::not_found()),
    }
}

/// Loads a place the user may change: 404 if they cannot see it, 403 if
/// they can see but not change it.
pub async fn editable_place(
    db: &impl ConnectionTrait,
    user: &User,
    id: i64,
) -> Result<place::Model, ApiError> {
    let p = visible_place(db, user, id).await?;
    if !user.can(Access::Edit, &p.position()) {
        return Err(ApiError::forbidden());
    }
    Ok(p)
}

pub fn compound_input(d: &CompoundDetails) -> Result<CompoundInput, Invalid> {
    rules::check_coordinates(d.latitude_e6, d.longitude_e6)?;
    let optional_name = |v: &Option<String>| -> Result<Option<String>, Invalid> {
        match v.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(s) => rules::check_name(s).map(Some),
        }
    };
    Ok(CompoundInput {
        compound_type: d.compound_type,
        town_area: d.town_area,
        address: rules::check_address(&d.address)?,
        latitude_e6: d.latitude_e6,
        longitude_e6: d.longitude_e6,
        owners_committee: optional_name(&d.owners_committee)?,
        property_company: optional_name(&d.property_company)?,
    })
}

pub fn dwelling_input(d: &DwellingDetails) -> Result<DwellingInput, Invalid> {
    rules::check_area(d.area_centi_m2)?;
    Ok(DwellingInput {
        area_centi_m2: d.area_centi_m2,
        area_source: d.area_source,
    })
}

pub async fn detail(db: &impl ConnectionTrait, p: &place::Model) -> Result<PlaceDetail, ApiError> {
    let ancestors = store::ancestors(db, p).await?;
    let compound = store::compound_of(db, p.id)
        .await?
        .map(|c| CompoundDetails {
            compound_type: CompoundType::parse(&c.compound_type)
                .unwrap_or(CompoundType::Commercial),
            town_area: TownArea::parse(&c.town_area).unwrap_or(TownArea::New),
            address: c.address,
            latitude_e6: c.latitude_e6,
            longitude_e6: c.longitude_e6,
            owners_committee: c.owners_committee,
            property_company: c.property_company,
        });
    let dwelling = store::dwelling_of(db, p.id)
        .await?
        .map(|d| DwellingDetails {
            area_centi_m2: d.area_centi_m2,
            area_source: AreaSource::parse(&d.area_source).unwrap_or(AreaSource::Register),
        });
    Ok(PlaceDetail {
        place: PlaceSummary::from(p),
        parent_id: p.parent_id,
        district_code: p.district_code.clone(),
        ancestors: ancestors.iter().map(PlaceSummary::from).collect(),
        children: store::child_count(db, p.id).await?,
        compound,
        dwelling,
    })
}

/// One place with its ancestors and particulars.
#[utoipa::path(get, path = "/places/{id}", tag = "places",
    params(("id" = i64, Path, description = "Place id")),
    responses(
        (status = 200, body = PlaceDetail),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
    ))]
async fn get_place(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<PlaceDetail>, ApiError> {
    let db = state.db.conn();
    let p = visible_place(db, &user, id).await?;
    Ok(ApiJson(detail(db, &p).await?))
}

/// The children of a place the user may see, a page at a time.
#[utoipa::path(get, path = "/places/{id}/children", tag = "places",
    params(("id" = i64, Path, description = "Place id"), PageQuery),
    responses(
        (status = 200, body = PlacePage),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
    ))]
async fn list_children(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<ApiJson<PlacePage>, ApiError> {
    let db = state.db.conn();
    let p = visible_place(db, &user, id).await?;
    let per_page = q.per_page.unwrap_or(100);
    if !(1..=500).contains(&per_page) || q.page == Some(0) {
        return Err(ApiError::invalid(i18n::current().t("place.error.paging")));
    }
    let page = store::children(db, p.id, q.page.unwrap_or(1), per_page).await?;
    Ok(ApiJson(PlacePage {
        items: page
            .items
            .iter()
            .filter(|c| store::visible(&user, c))
            .map(PlaceSummary::from)
            .collect(),
        total: page.total,
        page: page.page,
        per_page: page.per_page,
    }))
}

/// Search places within the user's reach by name, pinyin initials or code.
#[utoipa::path(get, path = "/places/search", tag = "places",
    params(SearchQuery),
    responses(
        (status = 200, body = Vec<PlaceSummary>),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
    ))]
async fn search_places(
    State(state): State<AppState>,
    user: User,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> Result<ApiJson<Vec<PlaceSummary>>, ApiError> {
    let limit = q.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) || q.q.chars().count() > 64 {
        return Err(ApiError::invalid(
            i18n::current().t("place.error.search_limits"),
        ));
    }
    let found = store::search(state.db.conn(), &user, &q.q, limit).await?;
    Ok(ApiJson(found.iter().map(PlaceSummary::from).collect()))
}

/// Creates a compound under a community, a building under a compound, an
/// entrance under a building or a dwelling under an entrance.
#[utoipa::path(post, path = "/places/{id}/children", tag = "places",
    params(("id" = i64, Path, description = "Parent place id")),
    request_body = NewPlace,
    responses(
        (status = 201, body = PlaceDetail),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
    ))]
async fn create_child(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(new): ApiJson<NewPlace>,
) -> Result<(StatusCode, ApiJson<PlaceDetail>), ApiError> {
    let tx = state.db.write().await?;
    let parent = editable_place(&tx, &user, id).await?;
    let created = create_under(&tx, &user, &parent, &new).await?;
    let body = detail(&tx, &created).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(body)))
}

/// Validates and inserts a child of `parent` in the caller's transaction.
pub async fn create_under(
    tx: &impl ConnectionTrait,
    user: &User,
    parent: &place::Model,
    new: &NewPlace,
) -> Result<place::Model, ApiError> {
    let parent_kind = PlaceKind::parse(&parent.kind).ok_or_else(ApiError::not_found)?;
    let kind = rules::creatable_child(parent_kind).ok_or_else(|| {
        ApiError::with_message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            i18n::current().t("place.error.no_children_here"),
        )
    })?;
    let name = rules::check_name(&new.name).map_err(invalid)?;
    let compound = match (kind, &new.compound) {
        (PlaceKind::Compound, Some(d)) => Some(compound_input(d).map_err(invalid)?),
        (PlaceKind::Compound, None) => {
            return Err(invalid(Invalid {
                field: "compound",
                key: "place.error.compound_required",
            }));
        }
        _ => None,
    };
    let dwelling = match (kind, &new.dwelling) {
        (PlaceKind::Dwelling, Some(d)) => Some(dwelling_input(d).map_err(invalid)?),
        (PlaceKind::Dwelling, None) => {
            return Err(invalid(Invalid {
                field: "dwelling",
                key: "place.error.dwelling_required",
            }));
        }
        _ => None,
    };
    let created = store::insert_child(tx, parent, kind, &name).await?;
    if let Some(c) = &compound {
        store::insert_compound(tx, &created, c).await?;
    }
    if let Some(d) = &dwelling {
        store::insert_dwelling(tx, &created, d).await?;
    }
    audit::record(
        tx,
        Entry::new(Some(user), "place.create", "place")
            .object(created.id)
            .district(created.district_code.clone())
            .detail(
                serde_json::json!({"kind": kind.as_str(), "name": name, "parent_id": parent.id}),
            ),
    )
    .await?;
    Ok(created)
}

/// Renames a place or changes its particulars.
#[utoipa::path(patch, path = "/places/{id}", tag = "places",
    params(("id" = i64, Path, description = "Place id")),
    request_body = PlaceChange,
    responses(
        (status = 200, body = PlaceDetail),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
    ))]
async fn update_place(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(change): ApiJson<PlaceChange>,
) -> Result<ApiJson<PlaceDetail>, ApiError> {
    let tx = state.db.write().await?;
    let p = editable_place(&tx, &user, id).await?;
    apply_change(&tx, &user, &p, &change).await?;
    let updated = store::find(&tx, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let body = detail(&tx, &updated).await?;
    tx.commit().await?;
    Ok(ApiJson(body))
}

pub async fn apply_change(
    tx: &impl ConnectionTrait,
    user: &User,
    p: &place::Model,
    change: &PlaceChange,
) -> Result<(), ApiError> {
    let kind = PlaceKind::parse(&p.kind).ok_or_else(ApiError::not_found)?;
    if kind.has_division_code() && change.name.is_some() {
        // Division names follow the national data; change them by import.
        return Err(ApiError::with_message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            i18n::current().t("place.error.division_by_import"),
        ));
    }
    if change.compound.is_some() && kind != PlaceKind::Compound
        || change.dwelling.is_some() && kind != PlaceKind::Dwelling
    {
        return Err(ApiError::invalid(
            i18n::current().t("place.error.details_kind"),
        ));
    }
    let name = change
        .name
        .as_deref()
        .map(rules::check_name)
        .transpose()
        .map_err(invalid)?;
    let compound = change
        .compound
        .as_ref()
        .map(compound_input)
        .transpose()
        .map_err(invalid)?;
    let dwelling = change
        .dwelling
        .as_ref()
        .map(dwelling_input)
        .transpose()
        .map_err(invalid)?;
    if let Some(name) = &name {
        store::rename(tx, p.id, name).await?;
    }
    if let Some(c) = &compound {
        store::upsert_compound(tx, p, c).await?;
    }
    if let Some(d) = &dwelling {
        store::upsert_dwelling(tx, p, d).await?;
    }
    audit::record(
        tx,
        Entry::new(Some(user), "place.update", "place")
            .object(p.id)
            .district(p.district_code.clone())
            .detail(serde_json::json!({"name": name})),
    )
    .await?;
    Ok(())
}

/// Deletes a registry place that has no children.
#[utoipa::path(delete, path = "/places/{id}", tag = "places",
    params(("id" = i64, Path, description = "Place id")),
    responses(
        (status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
    ))]
async fn delete_place(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    let p = editable_place(&tx, &user, id).await?;
    remove(&tx, &user, &p).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn remove(
    tx: &impl ConnectionTrait,
    user: &User,
    p: &place::Model,
) -> Result<(), ApiError> {
    let kind = PlaceKind::parse(&p.kind).ok_or_else(ApiError::not_found)?;
    if kind.has_division_code() {
        return Err(ApiError::with_message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            i18n::current().t("place.error.division_by_import"),
        ));
    }
    if store::child_count(tx, p.id).await? > 0 {
        return Err(ApiError::new(StatusCode::CONFLICT, "place_has_children"));
    }
    if has_people(tx, p.id).await? {
        return Err(ApiError::new(StatusCode::CONFLICT, "place_has_people"));
    }
    store::delete(tx, p.id).await?;
    audit::record(
        tx,
        Entry::new(Some(user), "place.delete", "place")
            .object(p.id)
            .district(p.district_code.clone())
            .detail(serde_json::json!({"name": p.name, "kind": p.kind})),
    )
    .await?;
    Ok(())
}

/// Owners or residents recorded on a dwelling keep it from being deleted.
async fn has_people(db: &impl ConnectionTrait, dwelling_id: i64) -> Result<bool, ApiError> {
    use sea_orm::{DbBackend, Statement};
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT (SELECT COUNT(*) FROM dwelling_owner WHERE dwelling_id = $1) + \
             (SELECT COUNT(*) FROM dwelling_resident WHERE dwelling_id = $1) AS n"
        }
        _ => {
            "SELECT (SELECT COUNT(*) FROM dwelling_owner WHERE dwelling_id = ?1) + \
             (SELECT COUNT(*) FROM dwelling_resident WHERE dwelling_id = ?1) AS n"
        }
    };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [dwelling_id.into()],
        ))
        .await?;
    let n: i64 = row.map(|r| r.try_get("", "n")).transpose()?.unwrap_or(0);
    Ok(n > 0)
}
