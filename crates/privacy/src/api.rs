//! JSON API of personal data rights: a person's export (by the person, or
//! an official at `Personal` at one of their dwellings) and erasure (by an
//! official at `Edit` there, with a reason, confirmed).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use jinlin_kernel::ApiError;
use jinlin_kernel::audit::{self, Entry};
use jinlin_kernel::auth::entity::account;
use jinlin_kernel::auth::{Access, Principal, User};
use jinlin_kernel::crypto::Secrets;
use jinlin_kernel::error::ErrorBody;
use jinlin_kernel::i18n;
use jinlin_kernel::place::Position;
use jinlin_kernel::web::{ApiJson, AppState};
use jinlin_people::entity::person;
use sea_orm::{ConnectionTrait, EntityTrait, JsonValue};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::entity::person_erasure;
use crate::rules;
use crate::store::{self, DwellingLink, EraseError, Section};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(export_person))
        .routes(routes!(my_data))
        .routes(routes!(get_erasure, erase_person))
}

/// Why the reader may see the person's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entitled {
    /// The person themself, signed in with a linked account.
    Own,
    /// An official whose role reaches `Personal` at one of their dwellings.
    Official,
}

impl Entitled {
    pub fn as_str(self) -> &'static str {
        match self {
            Entitled::Own => "own",
            Entitled::Official => "official",
        }
    }
}

/// A person as one reader may reach them.
pub struct Subject {
    pub person: person::Model,
    pub dwellings: Vec<Position>,
    pub entitled: Entitled,
    /// The reader's role reaches `Edit` at one of the person's dwellings.
    pub can_erase: bool,
}

/// The person with this id, if the reader is entitled to their data: 404
/// outside the reader's scope (as if there were no such person), 403 to a
/// reader who sees the dwelling's register but not personal data.
pub async fn subject(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<Subject, ApiError> {
    let found = jinlin_people::store::find(db, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let dwellings = jinlin_people::store::dwellings_of(db, id).await?;
    let can_erase = dwellings.iter().any(|d| user.can(Access::Edit, d));
    let entitled = if user.person_id == Some(id) {
        Entitled::Own
    } else {
        if !dwellings.iter().any(|d| user.can(Access::Registry, d)) {
            return Err(ApiError::not_found());
        }
        if !dwellings.iter().any(|d| user.can(Access::Personal, d)) {
            return Err(ApiError::forbidden());
        }
        Entitled::Official
    };
    Ok(Subject {
        person: found,
        dwellings,
        entitled,
        can_erase,
    })
}

/// The person's particulars, the ID number decrypted.
#[derive(Debug, Serialize, ToSchema)]
pub struct Particulars {
    pub id: i64,
    pub name: String,
    pub phone: Option<String>,
    pub id_number: Option<String>,
    pub party_member: bool,
    pub employer: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Who erased a person's personal data, when and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErasureView {
    pub person_id: i64,
    pub erased_at: DateTime<Utc>,
    /// The official's account id.
    pub erased_by: i64,
    pub erased_by_name: String,
    pub reason: String,
    /// Rows changed, by kind (`person`, `accounts_disabled`,
    /// `sessions_ended`, `names_replaced`, `texts_scrubbed` …).
    #[schema(value_type = Object)]
    pub summary: JsonValue,
}

/// Everything the system holds about one person (PIPL art. 45).
#[derive(Debug, Serialize, ToSchema)]
pub struct Export {
    pub generated_at: DateTime<Utc>,
    pub person: Particulars,
    /// Set when the person's personal data was erased.
    pub erasure: Option<ErasureView>,
    /// The dwellings the person owns or lives in.
    pub dwellings: Vec<DwellingLink>,
    /// Every record naming the person or one of their accounts, by kind.
    pub sections: Vec<Section>,
}

pub async fn erasure_view(
    db: &impl ConnectionTrait,
    e: person_erasure::Model,
) -> Result<ErasureView, ApiError> {
    let by = account::Entity::find_by_id(e.erased_by).one(db).await?;
    Ok(ErasureView {
        person_id: e.person_id,
        erased_at: e.erased_at,
        erased_by: e.erased_by,
        erased_by_name: by.map(|a| a.display_name).unwrap_or_default(),
        reason: e.reason,
        summary: serde_json::from_str(&e.summary).unwrap_or(JsonValue::Null),
    })
}

/// The export of a person the reader is entitled to, written to the audit
/// log in the caller's transaction.
pub async fn export(
    db: &impl ConnectionTrait,
    secrets: &Secrets,
    user: &Principal,
    s: &Subject,
    format: &str,
) -> Result<Export, ApiError> {
    let p = &s.person;
    let id_number = match &p.id_number_cipher {
        Some(cipher) => Some(
            secrets
                .decrypt(cipher)
                .map_err(|e| ApiError::internal(format!("{e:?}")))?,
        ),
        None => None,
    };
    let accounts = store::account_ids(db, p.id).await?;
    let sections = store::sections(db, p.id, &accounts).await?;
    let erasure = match store::erasure_of(db, p.id).await? {
        Some(e) => Some(erasure_view(db, e).await?),
        None => None,
    };
    let dwellings = store::dwellings(db, p.id).await?;
    audit::record(
        db,
        Entry::new(Some(user), "person.export", "person")
            .object(p.id)
            .district(p.district_code.clone())
            .detail(serde_json::json!({"via": s.entitled.as_str(), "format": format})),
    )
    .await?;
    Ok(Export {
        generated_at: Utc::now(),
        person: Particulars {
            id: p.id,
            name: p.name.clone(),
            phone: p.phone.clone(),
            id_number,
            party_member: p.party_member,
            employer: p.employer.clone(),
            created_at: p.created_at,
            updated_at: p.updated_at,
        },
        erasure,
        dwellings,
        sections,
    })
}

/// Everything held about a person, as JSON: for the person themself and
/// for officials at `Personal` at one of their dwellings. Audited.
#[utoipa::path(get, path = "/people/{id}/export", tag = "privacy",
    params(("id" = i64, Path, description = "Person id")),
    responses((status = 200, body = Export), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn export_person(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<Export>, ApiError> {
    let tx = state.db.write().await?;
    let s = subject(&tx, &user, id).await?;
    let out = export(&tx, &state.secrets, &user, &s, "json").await?;
    tx.commit().await?;
    Ok(ApiJson(out))
}

/// The signed-in account's own person: everything held about them, as
/// JSON (404 when the account is linked to no person). Audited.
#[utoipa::path(get, path = "/account/my-data", tag = "privacy",
    responses((status = 200, body = Export), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn my_data(State(state): State<AppState>, user: User) -> Result<ApiJson<Export>, ApiError> {
    let id = user.person_id.ok_or_else(ApiError::not_found)?;
    let tx = state.db.write().await?;
    let s = subject(&tx, &user, id).await?;
    let out = export(&tx, &state.secrets, &user, &s, "json").await?;
    tx.commit().await?;
    Ok(ApiJson(out))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErasureRequest {
    /// Why (the person's request, its date and how it was made); required,
    /// at most 500 characters.
    #[serde(default)]
    pub reason: Option<String>,
    /// Must be `true`: erasure cannot be undone.
    #[serde(default)]
    pub confirm: bool,
}

fn invalid(key: &str) -> ApiError {
    ApiError::invalid(i18n::current().t(key))
}

/// Validates an erasure request and erases, in the caller's transaction,
/// with its audit entry. Shared by the API and the page.
pub async fn erase(
    tx: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
    reason: Option<&str>,
    confirm: bool,
) -> Result<person_erasure::Model, ApiError> {
    let s = subject(tx, user, id).await?;
    if !s.can_erase {
        return Err(ApiError::forbidden());
    }
    let reason = rules::reason(reason.unwrap_or("")).map_err(|e| invalid(e.message_key()))?;
    if !confirm {
        return Err(invalid("privacy.error.confirm"));
    }
    let record = match store::erase(tx, &s.person, user.account_id, &reason, Utc::now()).await {
        Ok(r) => r,
        Err(EraseError::AlreadyErased) => {
            return Err(ApiError::new(StatusCode::CONFLICT, "already_erased"));
        }
        Err(EraseError::Db(e)) => return Err(e.into()),
    };
    audit::record(
        tx,
        Entry::new(Some(user), "person.erase", "person")
            .object(id)
            .district(s.person.district_code.clone())
            .detail(serde_json::json!({"erasure_id": record.id})),
    )
    .await?;
    tracing::info!(
        person_id = id,
        erasure_id = record.id,
        "personal data erased"
    );
    Ok(record)
}

/// Erases a person's personal data on their request (PIPL art. 47):
/// particulars anonymised, linked accounts disabled and signed out, their
/// name and phone taken out of what they wrote. Ballots, ownership and the
/// audit log stay. For officials at `Edit` at one of the person's
/// dwellings; a second erasure is 409.
#[utoipa::path(post, path = "/people/{id}/erasure", tag = "privacy",
    params(("id" = i64, Path, description = "Person id")), request_body = ErasureRequest,
    responses((status = 201, body = ErasureView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn erase_person(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<ErasureRequest>,
) -> Result<(StatusCode, ApiJson<ErasureView>), ApiError> {
    let tx = state.db.write().await?;
    let record = erase(&tx, &user, id, body.reason.as_deref(), body.confirm).await?;
    let view = erasure_view(&tx, record).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(view)))
}

/// The record of a person's erasure (404 when they were not erased).
#[utoipa::path(get, path = "/people/{id}/erasure", tag = "privacy",
    params(("id" = i64, Path, description = "Person id")),
    responses((status = 200, body = ErasureView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_erasure(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<ErasureView>, ApiError> {
    let db = state.db.conn();
    subject(db, &user, id).await?;
    let record = store::erasure_of(db, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(ApiJson(erasure_view(db, record).await?))
}
