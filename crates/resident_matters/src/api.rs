//! JSON API of residents' matters: `/api/v1/resident-matters/…`.
//!
//! Reads follow [`crate::matters::visible`] (404 outside); steps follow the
//! transition table (403 for a part that may not act, 409 for a state that
//! does not allow it, 422 for a bad value). Every refused write stores
//! nothing.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, Utc};
use jinlin_kernel::ApiError;
use jinlin_kernel::auth::{Principal, User};
use jinlin_kernel::error::ErrorBody;
use jinlin_kernel::place::entity as place;
use jinlin_kernel::web::{ApiJson, ApiQuery, AppState};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::entity::{category, event, matter, photo};
use crate::matters::{self, Action, NewMatter};
use crate::photos::{self, FsStore, ObjectStore, Upload};
use crate::rules::{self, ActionKind, Escalation, HandlerKind, State as MatterState, Urgency};
use crate::store::{self, QueueFilter};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_categories))
        .routes(routes!(update_category))
        .routes(routes!(queue, create))
        .routes(routes!(mine))
        .routes(routes!(get_matter))
        .routes(routes!(act))
        .routes(routes!(upload_photos))
        .routes(routes!(get_photo))
        .routes(routes!(add_credit))
        .routes(routes!(service_record))
}

// ---------------------------------------------------------------- shapes

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ResidentMatterCategory)]
pub struct CategoryView {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub default_handler: HandlerKind,
    pub allowances: rules::Allowances,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ResidentMatterSummary)]
pub struct Summary {
    pub id: i64,
    pub title: String,
    pub category: String,
    pub urgency: Urgency,
    pub state: MatterState,
    pub public: bool,
    pub compound_id: i64,
    pub compound_name: String,
    pub holder_kind: HandlerKind,
    pub holder_org: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
    pub overdue: bool,
    pub escalation: Escalation,
    pub merged_into: Option<i64>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ResidentMatterEvent)]
pub struct EventView {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// `raise`, a step (`dispatch`, `accept`, …), `photo`, `credit`,
    /// `merged_in`, `warn` or `escalate`.
    pub action: String,
    /// `reporter`, `holder`, `supervisor`; none for the system.
    pub actor_role: Option<String>,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub note: Option<String>,
    pub reason: Option<String>,
    pub detail: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ResidentMatterPhoto)]
pub struct PhotoView {
    pub id: i64,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    /// Where to fetch it.
    pub url: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ResidentMatterCredit)]
pub struct CreditView {
    pub matter_id: i64,
    pub person_id: i64,
    pub role: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ResidentMatterView)]
pub struct MatterView {
    #[serde(flatten)]
    pub summary: Summary,
    pub description: String,
    pub place_id: i64,
    pub place_name: String,
    pub street_id: Option<i64>,
    pub community_id: Option<i64>,
    pub address: Option<String>,
    pub latitude_e6: Option<i32>,
    pub longitude_e6: Option<i32>,
    pub dispatched_at: Option<DateTime<Utc>>,
    pub warn_at: Option<DateTime<Utc>>,
    pub reopened_count: i32,
    pub satisfaction: Option<rules::Satisfaction>,
    pub satisfaction_comment: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Every reporter, including those of merged duplicates.
    pub reporters: usize,
    /// Whether the reader is one of them.
    pub is_reporter: bool,
    /// The steps the reader may take now.
    pub actions: Vec<ActionKind>,
    pub timeline: Vec<EventView>,
    pub photos: Vec<PhotoView>,
    pub credits: Vec<CreditView>,
}

#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
#[schema(as = ResidentMatterQueueQuery)]
pub struct QueueQuery {
    pub state: Option<MatterState>,
    /// A category code.
    pub category: Option<String>,
    /// A street, community or compound (or the place itself).
    pub place_id: Option<i64>,
    /// Only matters past their deadline, most overdue first.
    #[serde(default)]
    pub overdue: bool,
    /// Paging: matters with a smaller id.
    pub before_id: Option<i64>,
    /// At most 500 (default 100).
    pub limit: Option<u64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MineQuery {
    /// Paging: matters with a smaller id.
    pub before_id: Option<i64>,
    /// At most 200 (default 20).
    pub limit: Option<u64>,
}

/// A page of one's own matters: the default suits a phone's screen, the
/// limit a desktop's.
pub const MINE_PAGE: u64 = 20;
const MINE_MAX: u64 = 200;

impl MineQuery {
    pub fn limit(&self) -> u64 {
        self.limit.unwrap_or(MINE_PAGE).clamp(1, MINE_MAX)
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ResidentMatterCreated)]
pub struct Created {
    pub id: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = ResidentMatterNewCredit)]
#[serde(deny_unknown_fields)]
pub struct NewCredit {
    /// A party member who coordinated the matter.
    pub person_id: i64,
}

/// The multipart body of a photo upload.
#[derive(Debug, ToSchema)]
#[schema(as = ResidentMatterPhotoUpload)]
#[allow(dead_code)]
pub struct PhotoUpload {
    /// One or more JPEG, PNG or WebP files of at most 5 MiB.
    #[schema(value_type = Vec<String>, format = Binary)]
    photo: Vec<u8>,
    /// What the photos show.
    note: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = ResidentMatterCategoryChange)]
#[serde(deny_unknown_fields)]
pub struct CategoryChange {
    pub default_handler: HandlerKind,
    pub allowances: rules::Allowances,
    pub active: bool,
}

// ---------------------------------------------------------------- views

async fn names(
    db: &impl ConnectionTrait,
    mut ids: Vec<i64>,
) -> Result<HashMap<i64, String>, DbErr> {
    ids.sort_unstable();
    ids.dedup();
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        for p in place::Entity::find()
            .filter(place::Column::Id.is_in(chunk.to_vec()))
            .all(db)
            .await?
        {
            out.insert(p.id, p.name);
        }
    }
    Ok(out)
}

async fn category_codes(db: &impl ConnectionTrait) -> Result<HashMap<i64, String>, DbErr> {
    Ok(store::categories(db, true)
        .await?
        .into_iter()
        .map(|c| (c.id, c.code))
        .collect())
}

fn summary_of(
    m: &matter::Model,
    category: &str,
    compound_name: &str,
    now: DateTime<Utc>,
) -> Summary {
    Summary {
        id: m.id,
        title: m.title.clone(),
        category: category.to_string(),
        urgency: Urgency::parse(&m.urgency).unwrap_or(Urgency::Normal),
        state: MatterState::parse(&m.state).unwrap_or(MatterState::Intake),
        public: m.public,
        compound_id: m.compound_id,
        compound_name: compound_name.to_string(),
        holder_kind: HandlerKind::parse(&m.holder_kind).unwrap_or(HandlerKind::Community),
        // Rows from before agencies were named by kind carry the admin's
        // name: never shown.
        holder_org: m
            .holder_org
            .clone()
            .filter(|_| m.holder_kind != HandlerKind::Agency.as_str()),
        due_at: m.due_at,
        overdue: matters::is_overdue(m, now),
        escalation: matters::escalation(m),
        merged_into: m.merged_into,
        created_at: m.created_at,
    }
}

/// Summaries of listed matters (read with their names, one statement).
pub fn summaries(found: &[store::Listed], now: DateTime<Utc>) -> Vec<Summary> {
    found
        .iter()
        .map(|l| {
            summary_of(
                &l.matter,
                l.category_code.as_deref().unwrap_or_default(),
                l.compound_name.as_deref().unwrap_or_default(),
                now,
            )
        })
        .collect()
}

fn event_view(e: event::Model) -> EventView {
    EventView {
        id: e.id,
        at: e.at,
        action: e.action,
        actor_role: e.actor_role,
        from_state: e.from_state,
        to_state: e.to_state,
        note: e.note,
        reason: e.reason,
        detail: serde_json::from_str(&e.detail).unwrap_or(serde_json::Value::Null),
    }
}

fn photo_view(p: photo::Model) -> PhotoView {
    PhotoView {
        url: format!("/api/v1/resident-matters/{}/photos/{}", p.matter_id, p.id),
        id: p.id,
        content_type: p.content_type,
        size_bytes: p.size_bytes,
        sha256: p.sha256,
        created_at: p.created_at,
    }
}

/// The steps the reader's part allows now.
pub fn actions_for(seen: &matters::Seen) -> Vec<ActionKind> {
    let state = MatterState::parse(&seen.matter.state).unwrap_or(MatterState::Intake);
    ActionKind::ALL
        .into_iter()
        .filter(|a| rules::allowed_for_any(state, *a, &seen.actors).is_ok())
        .filter(|a| match a {
            ActionKind::Reopen => rules::may_reopen(seen.matter.reopened_count),
            ActionKind::Rate => seen.matter.satisfaction.is_none() && matters::may_rate(seen),
            _ => true,
        })
        .collect()
}

/// A matter the user may see, with its timeline, photos and credits.
pub async fn matter_view(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
    now: DateTime<Utc>,
) -> Result<MatterView, ApiError> {
    let seen = matters::visible(db, user, id).await?;
    let m = &seen.matter;
    let codes = category_codes(db).await?;
    let names = names(db, vec![m.compound_id, m.place_id]).await?;
    // Readers who only share the compound see the compound, not the place
    // (often the reporter's home).
    let place_id = if seen.full { m.place_id } else { m.compound_id };
    Ok(MatterView {
        summary: summary_of(
            m,
            codes.get(&m.category_id).map_or("", String::as_str),
            names.get(&m.compound_id).map_or("", String::as_str),
            now,
        ),
        description: m.description.clone(),
        place_id,
        place_name: names.get(&place_id).cloned().unwrap_or_default(),
        street_id: m.street_id,
        community_id: m.community_id,
        address: m.address.clone().filter(|_| seen.full),
        latitude_e6: m.latitude_e6.filter(|_| seen.full),
        longitude_e6: m.longitude_e6.filter(|_| seen.full),
        dispatched_at: m.dispatched_at,
        warn_at: m.warn_at,
        reopened_count: m.reopened_count,
        satisfaction: m
            .satisfaction
            .as_deref()
            .and_then(rules::Satisfaction::parse),
        satisfaction_comment: m.satisfaction_comment.clone(),
        closed_at: m.closed_at,
        reporters: store::reporters(db, m.id).await?.len(),
        is_reporter: seen.reporter,
        actions: actions_for(&seen),
        timeline: store::timeline(db, m.id)
            .await?
            .into_iter()
            .map(event_view)
            .collect(),
        photos: if seen.full {
            store::photos(db, m.id)
                .await?
                .into_iter()
                .map(photo_view)
                .collect()
        } else {
            Vec::new()
        },
        credits: store::credits(db, m.id)
            .await?
            .into_iter()
            .map(|c| CreditView {
                matter_id: c.matter_id,
                person_id: c.person_id,
                role: c.role,
                created_at: c.created_at,
            })
            .collect(),
    })
}

/// A work queue: the matters within the user's scope that pass the
/// filter. Residents and party members have no queue (403): they follow
/// their own matters.
pub async fn queue_for(
    db: &impl ConnectionTrait,
    user: &Principal,
    q: &QueueQuery,
    now: DateTime<Utc>,
) -> Result<Vec<Summary>, ApiError> {
    if !matters::works_matters(user) {
        return Err(ApiError::forbidden());
    }
    let category_id = match q.category.as_deref().filter(|c| !c.is_empty()) {
        Some(code) => Some(
            store::category_by_code(db, code)
                .await?
                .ok_or_else(|| {
                    matters::invalid(rules::Invalid::new("resident_matters.error.category"))
                })?
                .id,
        ),
        None => None,
    };
    let place = match q.place_id {
        Some(id) => {
            let p = place::Entity::find_by_id(id)
                .one(db)
                .await?
                .ok_or_else(ApiError::not_found)?;
            if !user.sees(&p.position()) {
                return Err(ApiError::not_found());
            }
            Some(p.position())
        }
        None => None,
    };
    let filter = QueueFilter {
        state: q.state,
        category_id,
        place,
        overdue_at: q.overdue.then_some(now),
        before_id: q.before_id,
        limit: q.limit.unwrap_or(100),
    };
    let found = store::queue(db, matters::scope_condition(user), &filter).await?;
    Ok(summaries(&found, now))
}

fn objects(state: &AppState) -> FsStore {
    FsStore::in_data_dir(&state.config.data_dir)
}

/// Reads the photos (and an optional note) of a multipart body.
pub async fn read_photos(
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(Vec<Upload>, HashMap<String, String>), ApiError> {
    let mut multipart = multipart.map_err(|_| ApiError::malformed_upload())?;
    let failed = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            matters::invalid(rules::Invalid::new("resident_matters.error.photo_size"))
        } else {
            ApiError::malformed_upload()
        }
    };
    let mut uploads = Vec::new();
    let mut fields = HashMap::new();
    while let Some(field) = multipart.next_field().await.map_err(failed)? {
        let name = field.name().unwrap_or("").to_string();
        if name == "photo" {
            if field.file_name().is_some_and(str::is_empty) {
                // An empty file input on a form.
                let _ = field.bytes().await.map_err(failed)?;
                continue;
            }
            let bytes = field.bytes().await.map_err(failed)?;
            if bytes.is_empty() {
                continue;
            }
            uploads.push(Upload {
                bytes: bytes.to_vec(),
            });
        } else if !name.is_empty() {
            fields.insert(name, field.text().await.map_err(failed)?);
        }
    }
    Ok((uploads, fields))
}

/// Stores checked photos on a matter in one transaction; the files of a
/// failed commit are removed again.
pub async fn store_photos(
    state: &AppState,
    user: &Principal,
    id: i64,
    uploads: Vec<Upload>,
    note: Option<&str>,
) -> Result<Vec<photo::Model>, ApiError> {
    let objects = objects(state);
    let tx = state.db.write().await?;
    let (saved, written) =
        photos::attach(&tx, &objects, user, id, uploads, note, Utc::now()).await?;
    if let Err(e) = tx.commit().await {
        for k in &written {
            let _ = objects.delete(k);
        }
        return Err(e.into());
    }
    Ok(saved)
}

// ---------------------------------------------------------------- handlers

/// The service catalogue: categories, default handlers and allowances.
#[utoipa::path(get, path = "/resident-matters/categories", tag = "resident_matters",
    responses((status = 200, body = Vec<CategoryView>), (status = 401, body = ErrorBody)))]
async fn list_categories(
    State(state): State<AppState>,
    _user: User,
) -> Result<ApiJson<Vec<CategoryView>>, ApiError> {
    let found = store::categories(state.db.conn(), false).await?;
    Ok(ApiJson(found.into_iter().map(category_view).collect()))
}

/// Changes a category's default handler, allowances (minutes per urgency)
/// or whether it is offered. District admins only: the catalogue serves
/// every district. New allowances apply to clocks started afterwards.
#[utoipa::path(put, path = "/resident-matters/categories/{code}", tag = "resident_matters",
    params(("code" = String, Path, description = "Category code")), request_body = CategoryChange,
    responses((status = 200, body = CategoryView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_category(
    State(state): State<AppState>,
    user: User,
    Path(code): Path<String>,
    ApiJson(change): ApiJson<CategoryChange>,
) -> Result<ApiJson<CategoryView>, ApiError> {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    if !user.has_role(jinlin_kernel::auth::Role::DistrictAdmin) {
        return Err(ApiError::forbidden());
    }
    let tx = state.db.write().await?;
    let c = store::category_by_code(&tx, &code)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let a = change.allowances.check().map_err(matters::invalid)?;
    let mut am: category::ActiveModel = c.into();
    am.default_handler = Set(change.default_handler.as_str().into());
    am.emergency_minutes = Set(a.emergency_minutes as i32);
    am.normal_minutes = Set(a.normal_minutes as i32);
    am.complex_minutes = Set(a.complex_minutes as i32);
    am.active = Set(change.active);
    let c = am.update(&tx).await?;
    jinlin_kernel::audit::record(
        &tx,
        jinlin_kernel::audit::Entry::new(
            Some(&user),
            "resident_matter.category_change",
            "resident_matter_category",
        )
        .object(&c.code)
        .detail(serde_json::json!({
            "default_handler": c.default_handler,
            "minutes": [c.emergency_minutes, c.normal_minutes, c.complex_minutes],
            "active": c.active,
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(ApiJson(category_view(c)))
}

pub fn category_view(c: category::Model) -> CategoryView {
    CategoryView {
        default_handler: HandlerKind::parse(&c.default_handler).unwrap_or(HandlerKind::Community),
        allowances: rules::Allowances {
            emergency_minutes: c.emergency_minutes as i64,
            normal_minutes: c.normal_minutes as i64,
            complex_minutes: c.complex_minutes as i64,
        },
        code: c.code,
        name_zh: c.name_zh,
        name_en: c.name_en,
    }
}

/// A work queue, filterable by state, category, place and overdue.
#[utoipa::path(get, path = "/resident-matters", tag = "resident_matters", params(QueueQuery),
    responses((status = 200, body = Vec<Summary>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn queue(
    State(state): State<AppState>,
    user: User,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> Result<ApiJson<Vec<Summary>>, ApiError> {
    Ok(ApiJson(
        queue_for(state.db.conn(), &user, &q, Utc::now()).await?,
    ))
}

/// Raises a matter at a compound, building, entrance or dwelling the user
/// sees; it starts in intake, held by its first contact.
#[utoipa::path(post, path = "/resident-matters", tag = "resident_matters", request_body = NewMatter,
    responses((status = 201, body = Created), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    user: User,
    ApiJson(new): ApiJson<NewMatter>,
) -> Result<(StatusCode, ApiJson<Created>), ApiError> {
    let tx = state.db.write().await?;
    let m = matters::raise(&tx, &user, &new, Utc::now()).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(Created { id: m.id })))
}

/// The matters the user reported (or follows after a merge), newest first,
/// a page at a time: the next page is `before_id` = the last one's id.
#[utoipa::path(get, path = "/resident-matters/mine", tag = "resident_matters", params(MineQuery),
    responses((status = 200, body = Vec<Summary>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn mine(
    State(state): State<AppState>,
    user: User,
    ApiQuery(q): ApiQuery<MineQuery>,
) -> Result<ApiJson<Vec<Summary>>, ApiError> {
    let db = state.db.conn();
    let found = store::reported_by(db, user.account_id, q.before_id, q.limit()).await?;
    Ok(ApiJson(summaries(&found, Utc::now())))
}

/// One matter with its full timeline, photos and credits.
#[utoipa::path(get, path = "/resident-matters/{id}", tag = "resident_matters",
    params(("id" = i64, Path, description = "Matter id")),
    responses((status = 200, body = MatterView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_matter(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<MatterView>, ApiError> {
    Ok(ApiJson(
        matter_view(state.db.conn(), &user, id, Utc::now()).await?,
    ))
}

/// Takes a step: dispatch, accept, transfer, note, reply, close, reopen,
/// rate, withdraw or merge.
#[utoipa::path(post, path = "/resident-matters/{id}/actions", tag = "resident_matters",
    params(("id" = i64, Path, description = "Matter id")), request_body = Action,
    responses((status = 200, body = Acted), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn act(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(a): ApiJson<Action>,
) -> Result<ApiJson<Acted>, ApiError> {
    let now = Utc::now();
    let tx = state.db.write().await?;
    let m = matters::act(&tx, &user, id, &a, now).await?;
    tx.commit().await?;
    Ok(ApiJson(acted(&state, &user, &m, now).await?))
}

/// What a step returns: the matter as the actor now sees it, or, once the
/// step took it out of their sight (a transfer away), only that it was done.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
#[schema(as = ResidentMatterActed)]
pub enum Acted {
    Seen(Box<MatterView>),
    Gone(ActedGone),
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ResidentMatterActedGone)]
pub struct ActedGone {
    pub id: i64,
    pub state: MatterState,
    /// Always false: the actor no longer sees the matter.
    pub visible: bool,
}

/// The view of a matter after a committed step.
pub async fn acted(
    state: &AppState,
    user: &Principal,
    m: &matter::Model,
    now: DateTime<Utc>,
) -> Result<Acted, ApiError> {
    match matter_view(state.db.conn(), user, m.id, now).await {
        Ok(v) => Ok(Acted::Seen(Box::new(v))),
        Err(e) if e.status == StatusCode::NOT_FOUND => Ok(Acted::Gone(ActedGone {
            id: m.id,
            state: MatterState::parse(&m.state).unwrap_or(MatterState::Intake),
            visible: false,
        })),
        Err(e) => Err(e),
    }
}

/// Adds photos (multipart, field `photo`, optional `note`): JPEG, PNG or
/// WebP by content, at most 5 MiB each, 12 per matter.
#[utoipa::path(post, path = "/resident-matters/{id}/photos", tag = "resident_matters",
    params(("id" = i64, Path, description = "Matter id")),
    request_body(content = PhotoUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = Vec<PhotoView>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn upload_photos(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, ApiJson<Vec<PhotoView>>), ApiError> {
    let (uploads, fields) = read_photos(multipart).await?;
    let saved = store_photos(
        &state,
        &user,
        id,
        uploads,
        fields.get("note").map(String::as_str),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(saved.into_iter().map(photo_view).collect()),
    ))
}

/// A photo's bytes.
#[utoipa::path(get, path = "/resident-matters/{id}/photos/{photo_id}", tag = "resident_matters",
    params(("id" = i64, Path, description = "Matter id"), ("photo_id" = i64, Path, description = "Photo id")),
    responses((status = 200, content_type = "image/*", body = Vec<u8>), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn get_photo(
    State(state): State<AppState>,
    user: User,
    Path((id, photo_id)): Path<(i64, i64)>,
) -> Result<Response, ApiError> {
    let db = state.db.conn();
    if !matters::visible(db, &user, id).await?.full {
        return Err(ApiError::not_found());
    }
    let p = store::find_photo(db, id, photo_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let bytes = objects(&state).get(&p.path).map_err(ApiError::internal)?;
    let ext = match p.content_type.as_str() {
        "image/png" => "png",
        "image/webp" => "webp",
        _ => "jpg",
    };
    // Uploaded bytes are served as the sniffed image type and nothing else.
    Response::builder()
        .header(header::CONTENT_TYPE, p.content_type)
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(
            header::CONTENT_DISPOSITION,
            format!("inline; filename=\"matter-{id}-photo-{photo_id}.{ext}\""),
        )
        .header(header::CONTENT_SECURITY_POLICY, "sandbox")
        .header(header::CACHE_CONTROL, "private, max-age=86400")
        .body(Body::from(bytes))
        .map_err(ApiError::internal)
}

/// Credits a party member who coordinated the matter.
#[utoipa::path(post, path = "/resident-matters/{id}/credits", tag = "resident_matters",
    params(("id" = i64, Path, description = "Matter id")), request_body = NewCredit,
    responses((status = 201, body = CreditView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_credit(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(new): ApiJson<NewCredit>,
) -> Result<(StatusCode, ApiJson<CreditView>), ApiError> {
    let tx = state.db.write().await?;
    let c = matters::credit(&tx, &user, id, new.person_id, Utc::now()).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(CreditView {
            matter_id: c.matter_id,
            person_id: c.person_id,
            role: c.role,
            created_at: c.created_at,
        }),
    ))
}

/// A party member's service record: the matters they coordinated that the
/// reader may see (all of them for the member themself).
#[utoipa::path(get, path = "/resident-matters/service-record/{person_id}", tag = "resident_matters",
    params(("person_id" = i64, Path, description = "Person id")),
    responses((status = 200, body = Vec<CreditView>), (status = 401, body = ErrorBody)))]
async fn service_record(
    State(state): State<AppState>,
    user: User,
    Path(person_id): Path<i64>,
) -> Result<ApiJson<Vec<CreditView>>, ApiError> {
    let db = state.db.conn();
    let own = user.person_id == Some(person_id);
    let mut out = Vec::new();
    for c in store::credits_of_person(db, person_id).await? {
        if !own && matters::visible(db, &user, c.matter_id).await.is_err() {
            continue;
        }
        out.push(CreditView {
            matter_id: c.matter_id,
            person_id: c.person_id,
            role: c.role,
            created_at: c.created_at,
        });
    }
    Ok(ApiJson(out))
}
