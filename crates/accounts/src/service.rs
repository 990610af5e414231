//! The operations behind both the API and the pages: signing in and out,
//! changing a password, API tokens, invitations and reading the audit log.
//! Each write and its audit entry share one transaction.

use std::sync::OnceLock;

use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use jinlin_kernel::audit::{self, Entry};
use jinlin_kernel::auth::entity::invitation;
use jinlin_kernel::auth::session::{self, NewSession};
use jinlin_kernel::auth::{
    self, AuthVia, Principal, Role, accounts, hash_password, hash_token, new_token, verify_password,
};
use jinlin_kernel::web::AppState;
use jinlin_kernel::{ApiError, i18n};
use sea_orm::{DbErr, SqlErr};
use serde_json::json;

use crate::common::{self, Client, LoginLimiter, blocking, error, invalid};
use crate::rules::{self, InviteCheck, LockState};
use crate::store::{self, AuditFilter, AuditRow};

/// A new session and the principal it belongs to.
pub struct SignedIn {
    pub principal: Principal,
    pub session: NewSession,
}

/// A hash to check passwords of unknown usernames against, so they take
/// as long as known ones.
fn decoy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_password(&new_token()).unwrap_or_default())
}

fn failure<'a>(client: &Client, username: &str, reason: &str) -> Entry<'a> {
    let username: String = username.chars().take(64).collect();
    Entry::new(None, "auth.login_failed", "account")
        .ip(client.ip.clone())
        .detail(json!({ "username": username, "reason": reason }))
}

/// Checks a username and password and starts a session. Unknown usernames
/// and wrong passwords get the same answer; the fifth consecutive failure
/// locks the account. `carried` is a session the request already had: it
/// ends.
pub async fn sign_in(
    state: &AppState,
    limiter: &LoginLimiter,
    client: &Client,
    username: &str,
    password: &str,
    carried: Option<&str>,
) -> Result<SignedIn, ApiError> {
    if !limiter.allow(client) {
        return Err(common::throttled());
    }
    let db = &state.db;
    let username = username.trim();
    let found = if username.is_empty() || username.chars().count() > rules::NAME_MAX_CHARS {
        None
    } else {
        store::account_by_username(db.conn(), username).await?
    };
    let password = password.to_string();
    let Some(account) = found else {
        blocking(move || verify_password(&password, decoy_hash())).await?;
        audit::record(db.conn(), failure(client, username, "unknown_user")).await?;
        return Err(common::bad_credentials());
    };
    let entry = |reason| {
        failure(client, username, reason)
            .object(account.id)
            .detail(json!({ "username": account.username, "reason": reason }))
    };
    if let LockState::Locked { minutes_left, .. } =
        rules::lock_state(account.failed_logins, account.locked_until, Utc::now())
    {
        audit::record(db.conn(), entry("locked")).await?;
        return Err(common::locked(minutes_left));
    }
    let hash = account.password_hash.clone();
    let matches = blocking(move || verify_password(&password, &hash)).await?;

    let tx = db.write().await?;
    let Some(current) = store::account_for_update(&tx, account.id).await? else {
        return Err(common::bad_credentials());
    };
    let now = Utc::now();
    if let LockState::Locked { minutes_left, .. } =
        rules::lock_state(current.failed_logins, current.locked_until, now)
    {
        return Err(common::locked(minutes_left));
    }
    if !matches || current.disabled {
        let reason = if matches {
            "disabled"
        } else {
            "wrong_password"
        };
        let counters = if matches {
            rules::Counters {
                failed_logins: current.failed_logins,
                locked_until: current.locked_until,
            }
        } else {
            rules::after_failure(current.failed_logins, current.locked_until, now)
        };
        store::set_counters(&tx, current.id, counters).await?;
        audit::record(&tx, entry(reason)).await?;
        tx.commit().await?;
        return Err(match counters.state(now) {
            LockState::Locked { minutes_left, .. } => common::locked(minutes_left),
            LockState::Open { .. } => common::bad_credentials(),
        });
    }
    store::set_counters(&tx, current.id, rules::Counters::CLEAR).await?;
    let signed_in = start_session(&tx, current.id, client, carried).await?;
    audit::record(
        &tx,
        Entry::new(Some(&signed_in.principal), "auth.login", "account")
            .object(current.id)
            .district(rules::home_district(&signed_in.principal))
            .ip(client.ip.clone())
            .detail(json!({ "via": "password" })),
    )
    .await?;
    tx.commit().await?;
    Ok(signed_in)
}

/// Ends the session the request carried (if any) and starts a new one.
async fn start_session(
    tx: &sea_orm::DatabaseTransaction,
    account_id: i64,
    client: &Client,
    carried: Option<&str>,
) -> Result<SignedIn, ApiError> {
    if let Some(old) = carried {
        session::delete(tx, old).await?;
    }
    let new = session::create(tx, account_id, client.ip.clone(), client.user_agent.clone()).await?;
    let principal = auth::load(
        tx,
        account_id,
        AuthVia::Session {
            csrf_token: new.csrf_token.clone(),
        },
    )
    .await?
    .ok_or_else(common::bad_credentials)?;
    Ok(SignedIn {
        principal,
        session: new,
    })
}

/// Ends the browser session `token` of `principal`.
pub async fn sign_out(
    state: &AppState,
    principal: &Principal,
    client: &Client,
    token: Option<&str>,
) -> Result<(), ApiError> {
    let Some(token) = token.filter(|_| matches!(principal.via, AuthVia::Session { .. })) else {
        return Ok(());
    };
    let tx = state.db.write().await?;
    session::delete(&tx, token).await?;
    audit::record(
        &tx,
        Entry::new(Some(principal), "auth.logout", "account")
            .object(principal.account_id)
            .district(rules::home_district(principal))
            .ip(client.ip.clone()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Changes the password after checking the current one, and ends every
/// other session of the account (all of them when `keep` is none).
pub async fn change_password(
    state: &AppState,
    principal: &Principal,
    client: &Client,
    current: &str,
    new: &str,
    keep: Option<&str>,
) -> Result<(), ApiError> {
    let account = store::account_by_id(state.db.conn(), principal.account_id)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    let (current, new, stored) = (current.to_string(), new.to_string(), account.password_hash);
    let outcome = blocking(move || {
        if !verify_password(&current, &stored) {
            return None;
        }
        Some(hash_password(&new))
    })
    .await?;
    let hash = match outcome {
        None => return Err(error(StatusCode::FORBIDDEN, "wrong_password")),
        Some(Err(auth::PasswordError::Hashing)) => {
            return Err(ApiError::internal("password hashing failed"));
        }
        Some(Err(e)) => return Err(invalid(e.message_key())),
        Some(Ok(hash)) => hash,
    };
    let keep = keep.filter(|_| matches!(principal.via, AuthVia::Session { .. }));
    let tx = state.db.write().await?;
    store::set_password(&tx, account.id, hash, Utc::now()).await?;
    let ended = session::delete_others(&tx, account.id, keep).await?;
    audit::record(
        &tx,
        Entry::new(Some(principal), "account.password_change", "account")
            .object(account.id)
            .district(rules::home_district(principal))
            .ip(client.ip.clone())
            .detail(json!({ "sessions_ended": ended })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub struct CreatedToken {
    pub id: i64,
    pub name: String,
    pub can_write: bool,
    /// Shown once; only its hash is kept.
    pub token: String,
}

pub async fn create_token(
    state: &AppState,
    principal: &Principal,
    client: &Client,
    name: &str,
    can_write: bool,
) -> Result<CreatedToken, ApiError> {
    let name = rules::clean_name(name).ok_or_else(|| invalid("accounts.error.token_name"))?;
    let token = rules::api_token(&new_token());
    let tx = state.db.write().await?;
    let id = store::insert_token(
        &tx,
        principal.account_id,
        &name,
        hash_token(&token),
        can_write,
        Utc::now(),
    )
    .await?;
    audit::record(
        &tx,
        Entry::new(Some(principal), "token.create", "api_token")
            .object(id)
            .district(rules::home_district(principal))
            .ip(client.ip.clone())
            .detail(json!({ "name": name, "can_write": can_write })),
    )
    .await?;
    tx.commit().await?;
    Ok(CreatedToken {
        id,
        name,
        can_write,
        token,
    })
}

/// Revokes one of the principal's own tokens; 404 for anything else.
pub async fn revoke_token(
    state: &AppState,
    principal: &Principal,
    client: &Client,
    token_id: i64,
) -> Result<(), ApiError> {
    let tx = state.db.write().await?;
    let Some(token) = store::revoke_token(&tx, principal.account_id, token_id, Utc::now()).await?
    else {
        return Err(ApiError::not_found());
    };
    audit::record(
        &tx,
        Entry::new(Some(principal), "token.revoke", "api_token")
            .object(token.id)
            .district(rules::home_district(principal))
            .ip(client.ip.clone())
            .detail(json!({ "name": token.name })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub struct CreatedInvitation {
    pub id: i64,
    /// Shown once; only its hash is kept.
    pub token: String,
    pub invitee_name: String,
    pub expires_at: DateTime<Utc>,
}

/// Invites someone to `role` at `place_id`. A place the inviter cannot see
/// is 404; one they see but may not invite to is 403.
pub async fn create_invitation(
    state: &AppState,
    principal: &Principal,
    client: &Client,
    role: &str,
    place_id: i64,
    invitee_name: &str,
) -> Result<CreatedInvitation, ApiError> {
    let lang = i18n::current();
    let role_text = role.trim();
    let role = Role::parse(role_text).ok_or_else(|| {
        let shown: String = role_text.chars().take(32).collect();
        ApiError::invalid(lang.tf("accounts.error.unknown_role", &[("role", &shown)]))
    })?;
    let invitee_name =
        rules::clean_name(invitee_name).ok_or_else(|| invalid("accounts.error.invitee_name"))?;
    let place = store::place_by_id(state.db.conn(), place_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let position = place.position();
    let via = match rules::check_invitation(principal, role, &position) {
        InviteCheck::Allowed { via } => via,
        InviteCheck::NotVisible => return Err(ApiError::not_found()),
        InviteCheck::Forbidden => return Err(ApiError::forbidden()),
        InviteCheck::WrongKind => {
            let kind = position
                .kind
                .map(|k| lang.t(&k.label_key()).into_owned())
                .unwrap_or_else(|| place.kind.clone());
            return Err(ApiError::invalid(lang.tf(
                "accounts.error.role_place_kind",
                &[("role", &lang.t(&role.label_key())), ("kind", &kind)],
            )));
        }
    };
    let token = new_token();
    let now = Utc::now();
    let expires_at = rules::invitation_expires_at(now);
    let tx = state.db.write().await?;
    let id = store::insert_invitation(
        &tx,
        store::NewInvitation {
            token_hash: hash_token(&token),
            role: role.as_str(),
            place_id: place.id,
            district_code: place.district_code.clone(),
            invitee_name: &invitee_name,
            created_by: principal.account_id,
            created_at: now,
            expires_at,
        },
    )
    .await?;
    audit::record(
        &tx,
        Entry::new(Some(principal), "invitation.create", "invitation")
            .object(id)
            .district(place.district_code.clone())
            .ip(client.ip.clone())
            .detail(json!({
                "role": role.as_str(),
                "place_id": place.id,
                "invitee_name": invitee_name,
                "via": via.as_str(),
            })),
    )
    .await?;
    tx.commit().await?;
    Ok(CreatedInvitation {
        id,
        token,
        invitee_name,
        expires_at,
    })
}

/// An invitation that can still be accepted, with its place's name.
pub struct OpenInvitation {
    pub invitation: invitation::Model,
    pub role: Role,
    pub place_name: String,
}

/// The open invitation behind a link; 404 for unknown, used or expired ones.
pub async fn open_invitation(state: &AppState, token: &str) -> Result<OpenInvitation, ApiError> {
    let not_found = || error(StatusCode::NOT_FOUND, "invitation_invalid");
    let invitation = store::open_invitation(state.db.conn(), &hash_token(token), Utc::now())
        .await?
        .ok_or_else(not_found)?;
    let role = Role::parse(&invitation.role).ok_or_else(not_found)?;
    let place_name = store::place_by_id(state.db.conn(), invitation.place_id)
        .await?
        .map(|p| p.name)
        .ok_or_else(not_found)?;
    Ok(OpenInvitation {
        invitation,
        role,
        place_name,
    })
}

fn taken_or(e: DbErr) -> ApiError {
    match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => error(StatusCode::CONFLICT, "username_taken"),
        _ => e.into(),
    }
}

/// Creates the invitee's account with the invited role, marks the
/// invitation accepted and signs them in, all in one transaction.
pub async fn accept_invitation(
    state: &AppState,
    client: &Client,
    token: &str,
    username: &str,
    display_name: &str,
    password: &str,
    carried: Option<&str>,
) -> Result<SignedIn, ApiError> {
    let open = open_invitation(state, token).await?;
    let username = rules::normalize_username(username);
    rules::check_username(&username).map_err(|e| invalid(e.message_key()))?;
    let display_name =
        rules::clean_name(display_name).ok_or_else(|| invalid("accounts.error.display_name"))?;
    if store::account_by_username(state.db.conn(), &username)
        .await?
        .is_some()
    {
        return Err(error(StatusCode::CONFLICT, "username_taken"));
    }
    let password = password.to_string();
    let password_hash = match blocking(move || hash_password(&password)).await? {
        Ok(hash) => hash,
        Err(auth::PasswordError::Hashing) => {
            return Err(ApiError::internal("password hashing failed"));
        }
        Err(e) => return Err(invalid(e.message_key())),
    };

    let invitation = &open.invitation;
    let tx = state.db.write().await?;
    let account_id = accounts::create(
        &tx,
        accounts::NewAccount {
            username: &username,
            display_name: &display_name,
            password_hash,
            person_id: None,
        },
    )
    .await
    .map_err(taken_or)?;
    accounts::grant(
        &tx,
        account_id,
        open.role,
        invitation.place_id,
        invitation.district_code.clone(),
        Some(invitation.created_by),
    )
    .await?;
    if !store::mark_accepted(&tx, invitation.id, account_id, Utc::now()).await? {
        return Err(error(StatusCode::NOT_FOUND, "invitation_invalid"));
    }
    let signed_in = start_session(&tx, account_id, client, carried).await?;
    let district = invitation.district_code.clone();
    audit::record(
        &tx,
        Entry::new(
            Some(&signed_in.principal),
            "invitation.accept",
            "invitation",
        )
        .object(invitation.id)
        .district(district.clone())
        .ip(client.ip.clone())
        .detail(json!({
            "account_id": account_id,
            "username": username,
            "role": open.role.as_str(),
            "place_id": invitation.place_id,
            "invited_by": invitation.created_by,
        })),
    )
    .await?;
    audit::record(
        &tx,
        Entry::new(Some(&signed_in.principal), "auth.login", "account")
            .object(account_id)
            .district(district)
            .ip(client.ip.clone())
            .detail(json!({ "via": "invitation" })),
    )
    .await?;
    tx.commit().await?;
    Ok(signed_in)
}

/// The audit viewer's question, as typed (empty fields mean "any").
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub page: Option<String>,
}

pub struct AuditResult {
    pub rows: Vec<AuditRow>,
    pub page: u64,
    pub total: u64,
}

fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// One page of the audit log for a district administrator; 403 for
/// everyone else.
pub async fn read_audit(
    state: &AppState,
    principal: &Principal,
    query: &AuditQuery,
) -> Result<AuditResult, ApiError> {
    let reach = rules::audit_reach(principal).ok_or_else(ApiError::forbidden)?;
    let date = |value: &Option<String>| -> Result<Option<NaiveDate>, ApiError> {
        given(value)
            .map(|v| {
                NaiveDate::parse_from_str(v, "%Y-%m-%d")
                    .map_err(|_| error(StatusCode::BAD_REQUEST, "invalid_date"))
            })
            .transpose()
    };
    let (from, until) = rules::day_bounds(date(&query.from)?, date(&query.to)?);
    let page = match given(&query.page) {
        None => 1,
        Some(p) => p
            .parse::<u64>()
            .ok()
            .filter(|p| (1..=1_000_000).contains(p))
            .ok_or_else(|| error(StatusCode::BAD_REQUEST, "invalid_page"))?,
    };
    let filter = AuditFilter {
        actor: given(&query.actor).map(str::to_string),
        action_prefix: given(&query.action).map(str::to_lowercase),
        from,
        until,
        reach,
    };
    let (rows, total) = store::audit_page(state.db.conn(), &filter, page).await?;
    Ok(AuditResult { rows, page, total })
}
