//! The JSON API: sessions, the password, API tokens, invitations and the
//! audit log. Paths are relative to `/api/v1`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum_extra::extract::CookieJar;
use chrono::{DateTime, Utc};
use jinlin_kernel::ApiError;
use jinlin_kernel::auth::{AuthVia, Principal, Role, User};
use jinlin_kernel::error::ErrorBody;
use jinlin_kernel::web::{ApiJson, ApiQuery, AppState};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::common::{Client, LoginLimiter, carried_session, session_cookie, without_session};
use crate::rules;
use crate::service::{self, AuditQuery};
use crate::store;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_session, current_session, end_session))
        .routes(routes!(change_password))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
        .routes(routes!(list_invitations, create_invitation))
        .routes(routes!(accept_invitation))
        .routes(routes!(audit_log))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    #[schema(example = "liwei")]
    pub username: String,
    pub password: String,
}

/// A role held at a place.
#[derive(Serialize, ToSchema)]
pub struct RoleView {
    pub role: Role,
    pub place_id: i64,
    pub place_name: String,
}

#[derive(Serialize, ToSchema)]
pub struct AccountView {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub roles: Vec<RoleView>,
}

#[derive(Serialize, ToSchema)]
pub struct SessionView {
    pub account: AccountView,
    /// Send it back as `X-CSRF-Token` on every write made with the session
    /// cookie. Null when the request was made with an API token.
    pub csrf_token: Option<String>,
}

fn session_view(principal: &Principal) -> SessionView {
    SessionView {
        account: AccountView {
            id: principal.account_id,
            username: principal.username.clone(),
            display_name: principal.display_name.clone(),
            roles: principal
                .grants
                .iter()
                .map(|g| RoleView {
                    role: g.role,
                    place_id: g.place.id,
                    place_name: g.place_name.clone(),
                })
                .collect(),
        },
        csrf_token: principal.csrf_token().map(str::to_string),
    }
}

/// Signs in with a username and password. Sets the `jinlin_session`
/// cookie; writes made with it must send the returned CSRF token.
#[utoipa::path(post, path = "/session", tag = "accounts",
    request_body = Credentials,
    responses(
        (status = 200, description = "Signed in; the session cookie is set", body = SessionView),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Wrong username or password", body = ErrorBody),
        (status = 422, description = "Missing or mistyped fields", body = ErrorBody),
        (status = 423, description = "The account is locked for some minutes", body = ErrorBody),
        (status = 429, description = "Too many attempts from this address", body = ErrorBody),
    ))]
async fn create_session(
    State(state): State<AppState>,
    Extension(limiter): Extension<Arc<LoginLimiter>>,
    client: Client,
    jar: CookieJar,
    ApiJson(body): ApiJson<Credentials>,
) -> Result<(CookieJar, Json<SessionView>), ApiError> {
    let carried = carried_session(&jar);
    let signed_in = service::sign_in(
        &state,
        &limiter,
        &client,
        &body.username,
        &body.password,
        carried.as_deref(),
    )
    .await?;
    Ok((
        jar.add(session_cookie(signed_in.session.token)),
        Json(session_view(&signed_in.principal)),
    ))
}

/// Who is signed in: the account, its roles and the session's CSRF token.
#[utoipa::path(get, path = "/session", tag = "accounts",
    responses(
        (status = 200, description = "The signed-in account", body = SessionView),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
async fn current_session(user: User) -> Json<SessionView> {
    Json(session_view(&user))
}

/// Signs out: ends the session and clears its cookie.
#[utoipa::path(delete, path = "/session", tag = "accounts",
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Missing or wrong X-CSRF-Token", body = ErrorBody),
    ))]
async fn end_session(
    State(state): State<AppState>,
    user: User,
    client: Client,
    jar: CookieJar,
) -> Result<(CookieJar, StatusCode), ApiError> {
    let carried = carried_session(&jar);
    service::sign_out(&state, &user, &client, carried.as_deref()).await?;
    let jar = match user.via {
        AuthVia::Session { .. } => without_session(jar),
        AuthVia::Token { .. } => jar,
    };
    Ok((jar, StatusCode::NO_CONTENT))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    /// 8 to 128 characters.
    pub new_password: String,
}

/// Changes the password. Every other session of the account ends.
#[utoipa::path(put, path = "/account/password", tag = "accounts",
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed"),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Wrong current password, or missing CSRF token", body = ErrorBody),
        (status = 422, description = "The new password breaks the policy", body = ErrorBody),
    ))]
async fn change_password(
    State(state): State<AppState>,
    user: User,
    client: Client,
    jar: CookieJar,
    ApiJson(body): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let keep = carried_session(&jar);
    service::change_password(
        &state,
        &user,
        &client,
        &body.current_password,
        &body.new_password,
        keep.as_deref(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    pub can_write: bool,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// 1 to 64 characters, e.g. what the token is for.
    #[schema(example = "nightly report")]
    pub name: String,
    /// Whether the token may change data (default: read only).
    #[serde(default)]
    pub can_write: bool,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedTokenView {
    pub id: i64,
    pub name: String,
    pub can_write: bool,
    /// Send as `Authorization: Bearer <token>`. Shown only in this answer.
    #[schema(example = "jl_3f6c…")]
    pub token: String,
}

/// The signed-in account's API tokens that still work.
#[utoipa::path(get, path = "/tokens", tag = "accounts",
    responses(
        (status = 200, description = "Live tokens, newest first", body = Vec<TokenView>),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
async fn list_tokens(
    State(state): State<AppState>,
    user: User,
) -> Result<Json<Vec<TokenView>>, ApiError> {
    let tokens = store::live_tokens(state.db.conn(), user.account_id).await?;
    Ok(Json(
        tokens
            .into_iter()
            .map(|t| TokenView {
                id: t.id,
                name: t.name,
                can_write: t.can_write,
                created_at: t.created_at,
                last_used_at: t.last_used_at,
            })
            .collect(),
    ))
}

/// Creates an API token for the signed-in account. The token is in this
/// answer only.
#[utoipa::path(post, path = "/tokens", tag = "accounts",
    request_body = NewToken,
    responses(
        (status = 201, description = "Created", body = CreatedTokenView),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Missing CSRF token, or a read-only token", body = ErrorBody),
        (status = 422, description = "Missing fields or an unusable name", body = ErrorBody),
    ))]
async fn create_token(
    State(state): State<AppState>,
    user: User,
    client: Client,
    ApiJson(body): ApiJson<NewToken>,
) -> Result<(StatusCode, Json<CreatedTokenView>), ApiError> {
    let created = service::create_token(&state, &user, &client, &body.name, body.can_write).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedTokenView {
            id: created.id,
            name: created.name,
            can_write: created.can_write,
            token: created.token,
        }),
    ))
}

/// Revokes one of the signed-in account's tokens.
#[utoipa::path(delete, path = "/tokens/{id}", tag = "accounts",
    params(("id" = i64, Path, description = "The token's id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Missing CSRF token, or a read-only token", body = ErrorBody),
        (status = 404, description = "No such live token of this account", body = ErrorBody),
    ))]
async fn revoke_token(
    State(state): State<AppState>,
    user: User,
    client: Client,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = id.parse::<i64>().map_err(|_| ApiError::not_found())?;
    service::revoke_token(&state, &user, &client, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct InvitationView {
    pub id: i64,
    pub role: Role,
    pub place_id: i64,
    pub place_name: Option<String>,
    pub invitee_name: String,
    /// `pending`, `accepted` or `expired`.
    #[schema(example = "pending")]
    pub status: &'static str,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInvitation {
    #[schema(value_type = Role, example = "compound_secretary")]
    pub role: String,
    /// The place where the role will be held.
    pub place_id: i64,
    #[schema(example = "王芳")]
    pub invitee_name: String,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedInvitationView {
    pub id: i64,
    /// The secret of the link; shown only in this answer.
    pub token: String,
    /// The page the invitee opens: `/invite/<token>`.
    pub path: String,
    pub expires_at: DateTime<Utc>,
}

/// Invitations the signed-in account has sent, newest first.
#[utoipa::path(get, path = "/invitations", tag = "accounts",
    responses(
        (status = 200, description = "Sent invitations", body = Vec<InvitationView>),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
async fn list_invitations(
    State(state): State<AppState>,
    user: User,
) -> Result<Json<Vec<InvitationView>>, ApiError> {
    let sent = store::invitations_by(state.db.conn(), user.account_id).await?;
    let names = store::place_names(state.db.conn(), sent.iter().map(|i| i.place_id)).await?;
    let now = Utc::now();
    Ok(Json(
        sent.into_iter()
            .filter_map(|i| {
                Some(InvitationView {
                    id: i.id,
                    role: Role::parse(&i.role)?,
                    place_id: i.place_id,
                    place_name: names.get(&i.place_id).cloned(),
                    invitee_name: i.invitee_name,
                    status: rules::invitation_status(i.expires_at, i.accepted_at, now).as_str(),
                    created_at: i.created_at,
                    expires_at: i.expires_at,
                    accepted_at: i.accepted_at,
                })
            })
            .collect(),
    ))
}

/// Invites someone to hold a role at a place. Allowed when one of the
/// inviter's roles reaching the place may invite that role there.
#[utoipa::path(post, path = "/invitations", tag = "accounts",
    request_body = NewInvitation,
    responses(
        (status = 201, description = "Created; the link is in this answer only", body = CreatedInvitationView),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not allowed to invite that role there, or missing CSRF token", body = ErrorBody),
        (status = 404, description = "No such place within reach", body = ErrorBody),
        (status = 422, description = "Unknown role, a role not held at that kind of place, or a bad name", body = ErrorBody),
    ))]
async fn create_invitation(
    State(state): State<AppState>,
    user: User,
    client: Client,
    ApiJson(body): ApiJson<NewInvitation>,
) -> Result<(StatusCode, Json<CreatedInvitationView>), ApiError> {
    let created = service::create_invitation(
        &state,
        &user,
        &client,
        &body.role,
        body.place_id,
        &body.invitee_name,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedInvitationView {
            id: created.id,
            path: format!("/invite/{}", created.token),
            token: created.token,
            expires_at: created.expires_at,
        }),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Acceptance {
    /// 3 to 32 characters: a–z, 0–9, `_`, `.`, `-` (stored in lower case).
    #[schema(example = "wangfang")]
    pub username: String,
    #[schema(example = "王芳")]
    pub display_name: String,
    /// 8 to 128 characters.
    pub password: String,
}

/// Accepts an invitation: creates the account with the invited role and
/// signs it in (sets the session cookie).
#[utoipa::path(post, path = "/invitations/{token}/accept", tag = "accounts",
    params(("token" = String, Path, description = "The invitation link's secret")),
    request_body = Acceptance,
    responses(
        (status = 201, description = "Account created and signed in", body = SessionView),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 404, description = "Unknown, used or expired invitation", body = ErrorBody),
        (status = 409, description = "The username is taken", body = ErrorBody),
        (status = 422, description = "Missing fields, or a username, name or password breaking the rules", body = ErrorBody),
    ))]
async fn accept_invitation(
    State(state): State<AppState>,
    client: Client,
    jar: CookieJar,
    Path(token): Path<String>,
    ApiJson(body): ApiJson<Acceptance>,
) -> Result<(StatusCode, CookieJar, Json<SessionView>), ApiError> {
    let carried = carried_session(&jar);
    let signed_in = service::accept_invitation(
        &state,
        &client,
        &token,
        &body.username,
        &body.display_name,
        &body.password,
        carried.as_deref(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        jar.add(session_cookie(signed_in.session.token)),
        Json(session_view(&signed_in.principal)),
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Only entries by this username.
    pub actor: Option<String>,
    /// Only actions starting with this, e.g. `auth.`.
    pub action: Option<String>,
    /// First day (YYYY-MM-DD, China Standard Time), included.
    pub from: Option<String>,
    /// Last day (YYYY-MM-DD, China Standard Time), included.
    pub to: Option<String>,
    /// Page number from 1; 50 entries per page.
    pub page: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditEntryView {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_account_id: Option<i64>,
    pub actor_username: Option<String>,
    pub actor_ip: Option<String>,
    #[schema(example = "auth.login")]
    pub action: String,
    pub object_kind: String,
    pub object_id: Option<String>,
    pub district_code: Option<String>,
    /// What the action touched; null when the entry records nothing more.
    #[schema(value_type = Option<Object>)]
    pub detail: serde_json::Value,
}

#[derive(Serialize, ToSchema)]
pub struct AuditPageView {
    pub entries: Vec<AuditEntryView>,
    pub page: u64,
    pub per_page: u64,
    pub total: u64,
}

/// The audit log within the district administrator's reach, newest first.
#[utoipa::path(get, path = "/audit", tag = "accounts",
    params(AuditParams),
    responses(
        (status = 200, description = "One page of entries", body = AuditPageView),
        (status = 400, description = "A date or page number that cannot be read", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not a district administrator", body = ErrorBody),
    ))]
async fn audit_log(
    State(state): State<AppState>,
    user: User,
    ApiQuery(params): ApiQuery<AuditParams>,
) -> Result<Json<AuditPageView>, ApiError> {
    let query = AuditQuery {
        actor: params.actor,
        action: params.action,
        from: params.from,
        to: params.to,
        page: params.page,
    };
    let result = service::read_audit(&state, &user, &query).await?;
    Ok(Json(AuditPageView {
        entries: result
            .rows
            .into_iter()
            .map(|row| {
                let e = row.entry;
                AuditEntryView {
                    id: e.id,
                    at: e.at,
                    actor_account_id: e.actor_account_id,
                    actor_username: row.actor_username,
                    actor_ip: e.actor_ip,
                    action: e.action,
                    object_kind: e.object_kind,
                    object_id: e.object_id,
                    district_code: e.district_code,
                    detail: serde_json::from_str(&e.detail).unwrap_or(serde_json::Value::Null),
                }
            })
            .collect(),
        page: result.page,
        per_page: rules::AUDIT_PAGE_SIZE,
        total: result.total,
    }))
}
