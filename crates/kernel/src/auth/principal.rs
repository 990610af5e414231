//! The signed-in account behind a request, loaded once per request by a
//! middleware from the session cookie or a bearer token.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryResult};

use super::cache::{Cached, Clock, Credential};
use super::entity::api_token;
use super::role::{Access, Role};
use super::session::{self, Freshness, SESSION_COOKIE};
use super::token::hash_token;
use crate::db::Params;
use crate::error::ApiError;
use crate::i18n::Lang;
use crate::place::{PlaceKind, Position, entity as place};
use crate::web::AppState;

/// A role held at a place.
#[derive(Debug, Clone)]
pub struct Grant {
    pub role: Role,
    pub place: Position,
    pub place_name: String,
}

/// How the request proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthVia {
    /// A browser session; writes must carry its CSRF token.
    Session { csrf_token: String },
    /// An API token; writes need a token issued with write access.
    Token { can_write: bool },
}

#[derive(Debug, Clone)]
pub struct Principal {
    pub account_id: i64,
    pub username: String,
    pub display_name: String,
    pub person_id: Option<i64>,
    pub language: Option<Lang>,
    pub grants: Vec<Grant>,
    /// Compounds paired with the agencies this account administers.
    pub paired_compounds: Vec<Position>,
    pub via: AuthVia,
}

impl Principal {
    /// The roles that give at least `access` to the place at `target`.
    pub fn roles_for(&self, access: Access, target: &Position) -> Vec<Role> {
        let mut roles = Vec::new();
        for grant in &self.grants {
            if self.grant_reaches(grant, access, target) && !roles.contains(&grant.role) {
                roles.push(grant.role);
            }
        }
        roles
    }

    /// An official of the place: an admin or community worker over it, or
    /// the party secretary of its compound (who may act for it: cockpits,
    /// mobilisations, volunteer teams).
    pub fn is_official_at(&self, pos: &Position) -> bool {
        self.roles_for(Access::Edit, pos).iter().any(|r| {
            matches!(
                r,
                Role::DistrictAdmin | Role::StreetAdmin | Role::CommunityWorker
            )
        }) || self
            .roles_for(Access::Personal, pos)
            .contains(&Role::CompoundSecretary)
    }

    /// The one scope question: may this principal have `access` to `target`?
    pub fn can(&self, access: Access, target: &Position) -> bool {
        !self.roles_for(access, target).is_empty()
    }

    fn grant_reaches(&self, grant: &Grant, access: Access, target: &Position) -> bool {
        match grant.role {
            // Residents and party members see their compound's public face
            // and their own dwelling's record, nothing of their neighbours'.
            Role::Resident | Role::PartyMember => match access {
                Access::Public => match grant.place.compound_id {
                    Some(compound) => {
                        target.id == compound
                            || target.compound_id == Some(compound)
                                && target
                                    .kind
                                    .is_some_and(|k| k < crate::place::PlaceKind::Dwelling)
                            || target.id == grant.place.id
                    }
                    None => target.id == grant.place.id,
                },
                // Their dwelling's record with phones masked: a tenant does
                // not read the owner's phone or ID number.
                Access::Registry => target.id == grant.place.id,
                Access::Personal | Access::Edit => false,
            },
            Role::AgencyAdmin => {
                access == Access::Public
                    && self.paired_compounds.iter().any(|c| target.is_within(c))
            }
            role => role.max_access() >= access && target.is_within(&grant.place),
        }
    }

    /// Whether any grant at all reaches `target` (reads of public items).
    pub fn sees(&self, target: &Position) -> bool {
        self.can(Access::Public, target)
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.grants.iter().any(|g| g.role == role)
    }

    /// Places where this principal's grants are anchored, for navigation.
    pub fn anchors(&self) -> impl Iterator<Item = &Grant> {
        self.grants.iter()
    }

    /// Checks the CSRF token a form carried against this session's: 403 on
    /// a mismatch (and always for API tokens, which have no forms).
    pub fn check_csrf(&self, sent: Option<&str>) -> Result<(), ApiError> {
        match self.csrf_token() {
            Some(expected) if sent == Some(expected) => Ok(()),
            _ => Err(ApiError::new(StatusCode::FORBIDDEN, "csrf")),
        }
    }

    pub fn csrf_token(&self) -> Option<&str> {
        match &self.via {
            AuthVia::Session { csrf_token } => Some(csrf_token),
            AuthVia::Token { .. } => None,
        }
    }
}

/// The account and its grants with their places, selected after the
/// credential's own columns; `a` is the account, `g` a grant, `p` its place.
/// One row per grant, one row with empty grant columns for an account
/// without grants.
const ACCOUNT_AND_GRANTS: &str = "a.id AS account_id, a.username, a.display_name, \
    a.person_id, a.language, a.disabled, g.role, p.id AS place_id, p.kind AS place_kind, \
    p.code AS place_code, p.name AS place_name, p.district_code AS place_district_code, \
    p.street_id, p.community_id, p.compound_id, p.building_id, p.entrance_id";
const GRANTS_JOINED: &str = "LEFT JOIN role_grant g ON g.account_id = a.id \
    LEFT JOIN place p ON p.id = g.place_id";

/// Loads the principal of a request, if it carries valid credentials. The
/// credential, its account and the account's grants are one statement,
/// which a request whose credential is in the cache ([`super::cache`])
/// does not run (on PostgreSQL it waits instead for a read of the epoch,
/// which it shares with the other requests waiting). The pairings of an
/// agency admin are a second statement, in a later snapshot: a commit it
/// sees that the first did not moved the epoch past the one kept.
async fn authenticate(state: &AppState, parts: &Parts) -> Result<Option<Arc<Principal>>, DbErr> {
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let credential = match bearer {
        Some(token) => Credential::Token(hash_token(token)),
        None => match CookieJar::from_headers(&parts.headers).get(SESSION_COOKIE) {
            Some(cookie) => Credential::Session(hash_token(cookie.value())),
            None => return Ok(None),
        },
    };
    let now = Utc::now();
    // On SQLite, taken before the statement: a commit the statement does
    // not see moves the epoch past it, and what it read is not kept.
    let read_at = state.principals.epoch_for(&credential).await;
    if let Some(cached) = state.principals.get(&credential, read_at) {
        match cached.clock {
            Clock::Session {
                expires_at,
                last_seen_at,
            } => match session::freshness(expires_at, last_seen_at, now) {
                // Ended: read again below, which removes it.
                Freshness::Ended => {}
                Freshness::Live { touch } => {
                    if let (true, Credential::Session(id)) = (touch, &credential) {
                        touch_later(state, Touch::Session(id.clone()), now, Some(&credential));
                    }
                    metrics::counter!("jinlin_principals_total", "from" => "cache").increment(1);
                    return Ok(Some(cached.principal));
                }
            },
            Clock::Token {
                token_id,
                last_used_at,
            } => {
                note_use(state, token_id, last_used_at, now, Some(&credential));
                metrics::counter!("jinlin_principals_total", "from" => "cache").increment(1);
                return Ok(Some(cached.principal));
            }
        }
    }
    metrics::counter!("jinlin_principals_total", "from" => "database").increment(1);
    let Some((cached, true_at)) = read_principal(state, &credential, now).await? else {
        return Ok(None);
    };
    let principal = Arc::clone(&cached.principal);
    // SQLite: the epoch taken before; PostgreSQL: the statement's own.
    let kept_at = if state.principals.epoch_in_statement() {
        true_at
    } else {
        read_at
    };
    state.principals.put(credential, cached, kept_at);
    Ok(Some(principal))
}

/// Reads a credential's principal from the database, with the credential's
/// clock and, on PostgreSQL, the epoch it is true at; a session found ended
/// is removed.
async fn read_principal(
    state: &AppState,
    credential: &Credential,
    now: DateTime<Utc>,
) -> Result<Option<(Cached, Option<u64>)>, DbErr> {
    let db = state.db.conn();
    let mut params = Params::new(db.get_database_backend());
    // Read in the statement's snapshot, so the epoch is the one its rows
    // are true at.
    let epoch = if state.principals.epoch_in_statement() {
        format!("({}) AS principal_epoch, ", crate::db::epoch::READ_EPOCH)
    } else {
        String::new()
    };
    let true_at = |row: &QueryResult| -> Result<Option<u64>, DbErr> {
        Ok(if epoch.is_empty() {
            None
        } else {
            Some(row.try_get::<i64>("", "principal_epoch")? as u64)
        })
    };
    let id = match credential {
        Credential::Token(hash) => {
            let sql = format!(
                "SELECT {epoch}t.id AS token_id, t.can_write, t.last_used_at, {ACCOUNT_AND_GRANTS} \
                 FROM api_token t JOIN account a ON a.id = t.account_id {GRANTS_JOINED} \
                 WHERE t.token_hash = {} AND t.revoked_at IS NULL ORDER BY g.id",
                params.bind(hash.clone())
            );
            let rows = db.query_all_raw(params.statement(sql)).await?;
            let Some(first) = rows.first() else {
                return Ok(None);
            };
            let token_id = first.try_get("", "token_id")?;
            let last_used_at = first.try_get("", "last_used_at")?;
            note_use(state, token_id, last_used_at, now, Some(credential));
            let clock = Clock::Token {
                token_id,
                last_used_at,
            };
            let via = AuthVia::Token {
                can_write: first.try_get("", "can_write")?,
            };
            let true_at = true_at(first)?;
            return Ok(principal_of(db, &rows, via).await?.map(|p| {
                let principal = Arc::new(p);
                (Cached { principal, clock }, true_at)
            }));
        }
        Credential::Session(id) => id,
    };
    let sql = format!(
        "SELECT {epoch}s.csrf_token, s.expires_at, s.last_seen_at, {ACCOUNT_AND_GRANTS} \
         FROM session s JOIN account a ON a.id = s.account_id {GRANTS_JOINED} \
         WHERE s.id = {} ORDER BY g.id",
        params.bind(id.clone())
    );
    let rows = db.query_all_raw(params.statement(sql)).await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let expires_at = first.try_get("", "expires_at")?;
    let last_seen_at = first.try_get("", "last_seen_at")?;
    match session::freshness(expires_at, last_seen_at, now) {
        Freshness::Ended => {
            // Rare (once per session), so it may wait for the writer. The
            // session is ended whether or not its row goes now: a refused
            // removal (a full write queue) still signs nobody in, and the
            // row goes with the next request that carries it.
            let removed = async {
                let tx = state.db.write().await?;
                session::remove(&tx, id).await?;
                tx.commit().await
            }
            .await;
            if let Err(error) = removed {
                tracing::debug!(%error, "an ended session was not removed yet");
            }
            return Ok(None);
        }
        Freshness::Live { touch: true } => {
            touch_later(state, Touch::Session(id.clone()), now, Some(credential))
        }
        Freshness::Live { touch: false } => {}
    }
    let via = AuthVia::Session {
        csrf_token: first.try_get("", "csrf_token")?,
    };
    let true_at = true_at(first)?;
    Ok(principal_of(db, &rows, via).await?.map(|p| {
        let cached = Cached {
            principal: Arc::new(p),
            clock: Clock::Session {
                expires_at,
                last_seen_at,
            },
        };
        (cached, true_at)
    }))
}

/// Records that an API token was used, when its last recorded use is old
/// enough to be worth a write; the write happens after the answer.
pub fn note_token_use(
    state: &AppState,
    token_id: i64,
    last_used: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) {
    note_use(state, token_id, last_used, now, None);
}

/// As [`note_token_use`], for a token whose principal may be kept.
fn note_use(
    state: &AppState,
    token_id: i64,
    last_used: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    kept: Option<&Credential>,
) {
    if last_used.is_none_or(|t| t + session::TOUCH_EVERY <= now) {
        touch_later(state, Touch::Token(token_id), now, kept);
    }
}

/// A credential whose use is due to be recorded.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Touch {
    /// A session, by the hash of its token.
    Session(String),
    /// An API token, by id.
    Token(i64),
}

/// Touches under way, so that a burst of one credential's requests writes
/// once.
static TOUCHING: std::sync::LazyLock<std::sync::Mutex<std::collections::HashSet<Touch>>> =
    std::sync::LazyLock::new(Default::default);

/// Records a credential's use without holding up its request: the write
/// goes through the write queue in the background. A request must not wait
/// for it: when every session signed in together comes due at once, on
/// SQLite the touches would queue for the one writer behind the writes and
/// stall the reads that carry them. A touch refused under load is dropped;
/// the next request is due again, and a session is idle only after hours.
/// Once written, the use is recorded in the principal kept for `kept`.
fn touch_later(state: &AppState, what: Touch, now: DateTime<Utc>, kept: Option<&Credential>) {
    let Ok(mut touching) = TOUCHING.lock() else {
        return;
    };
    if !touching.insert(what.clone()) {
        return;
    }
    drop(touching);
    let db = state.db.clone();
    let principals = Arc::clone(&state.principals);
    let kept = kept.cloned();
    tokio::spawn(async move {
        let written = async {
            let tx = db.write().await?;
            match &what {
                Touch::Session(id) => session::touch(&tx, id, now).await?,
                Touch::Token(id) => {
                    api_token::Entity::update_many()
                        .col_expr(
                            api_token::Column::LastUsedAt,
                            sea_orm::sea_query::Expr::value(now),
                        )
                        .filter(api_token::Column::Id.eq(*id))
                        .exec(&tx)
                        .await?;
                }
            }
            tx.commit().await
        }
        .await;
        match written {
            Ok(()) => {
                if let Some(kept) = &kept {
                    principals.used(kept, now);
                }
            }
            Err(error) => {
                tracing::debug!(%error, "a credential's use was not recorded; the next request retries")
            }
        }
        if let Ok(mut touching) = TOUCHING.lock() {
            touching.remove(&what);
        }
    });
}

/// Builds the principal of an account (None if it is disabled or gone).
pub async fn load(
    db: &impl ConnectionTrait,
    account_id: i64,
    via: AuthVia,
) -> Result<Option<Principal>, DbErr> {
    let mut params = Params::new(db.get_database_backend());
    let sql = format!(
        "SELECT {ACCOUNT_AND_GRANTS} FROM account a {GRANTS_JOINED} \
         WHERE a.id = {} ORDER BY g.id",
        params.bind(account_id)
    );
    let rows = db.query_all_raw(params.statement(sql)).await?;
    principal_of(db, &rows, via).await
}

/// The principal of rows selected with [`ACCOUNT_AND_GRANTS`] (None if
/// there are none or the account is disabled).
async fn principal_of(
    db: &impl ConnectionTrait,
    rows: &[QueryResult],
    via: AuthVia,
) -> Result<Option<Principal>, DbErr> {
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    if first.try_get::<bool>("", "disabled")? {
        return Ok(None);
    }
    let mut grants = Vec::with_capacity(rows.len());
    for row in rows {
        let role: Option<String> = row.try_get("", "role")?;
        let place_id: Option<i64> = row.try_get("", "place_id")?;
        let (Some(role), Some(id)) = (role.as_deref().and_then(Role::parse), place_id) else {
            continue;
        };
        let kind: String = row.try_get("", "place_kind")?;
        grants.push(Grant {
            role,
            place: Position {
                id,
                kind: PlaceKind::parse(&kind),
                code: row.try_get("", "place_code")?,
                district_code: row.try_get("", "place_district_code")?,
                street_id: row.try_get("", "street_id")?,
                community_id: row.try_get("", "community_id")?,
                compound_id: row.try_get("", "compound_id")?,
                building_id: row.try_get("", "building_id")?,
                entrance_id: row.try_get("", "entrance_id")?,
            },
            place_name: row.try_get("", "place_name")?,
        });
    }
    let account_id: i64 = first.try_get("", "account_id")?;
    let language: Option<String> = first.try_get("", "language")?;
    Ok(Some(Principal {
        account_id,
        username: first.try_get("", "username")?,
        display_name: first.try_get("", "display_name")?,
        person_id: first.try_get("", "person_id")?,
        language: language.as_deref().and_then(Lang::from_tag),
        paired_compounds: if grants.iter().any(|g| g.role == Role::AgencyAdmin) {
            paired_compounds(db, account_id).await?
        } else {
            Vec::new()
        },
        grants,
        via,
    }))
}

/// The compounds currently paired with the agencies an account administers
/// (tables of the agencies capability, named here because the kernel
/// cannot depend on it): one query, places whose id is a current pairing's
/// compound for an agency linked to the account.
async fn paired_compounds(
    db: &impl ConnectionTrait,
    account_id: i64,
) -> Result<Vec<Position>, DbErr> {
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
    let pairing = Alias::new("agency_pairing");
    let link = Alias::new("agency_account");
    let compounds = Query::select()
        .column((pairing.clone(), Alias::new("compound_id")))
        .from(pairing.clone())
        .inner_join(
            link.clone(),
            Expr::col((link.clone(), Alias::new("agency_id")))
                .equals((pairing.clone(), Alias::new("agency_id"))),
        )
        .and_where(Expr::col((link, Alias::new("account_id"))).eq(account_id))
        .and_where(Expr::col((pairing, Alias::new("ended_at"))).is_null())
        .to_owned();
    Ok(place::Entity::find()
        .filter(place::Column::Id.in_subquery(compounds))
        .all(db)
        .await?
        .iter()
        .map(place::Model::position)
        .collect())
}

/// Middleware: puts `Option<Arc<Principal>>` into the request's extensions.
/// Paths that never need an identity are passed through untouched.
pub async fn load_principal(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path.starts_with("/assets/") || path == "/healthz" || path == "/metrics" {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let principal = match authenticate(&state, &parts).await {
        Ok(p) => p,
        // Treated as anonymous, a signed-in user would be told to sign in
        // again (401, or the sign-in page) while the database is down.
        Err(e) if crate::error::database_unavailable(&e) => {
            tracing::error!(cause = %e, "database unavailable");
            return crate::web::early_error(&parts, ApiError::database_unavailable).await;
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot load the principal; treating the request as anonymous");
            None
        }
    };
    parts.extensions.insert(MaybePrincipal(principal));
    next.run(Request::from_parts(parts, body)).await
}

/// The principal if signed in, `None` for anonymous requests.
#[derive(Debug, Clone, Default)]
pub struct MaybePrincipal(pub Option<Arc<Principal>>);

impl<S: Send + Sync> FromRequestParts<S> for MaybePrincipal {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<MaybePrincipal>()
            .cloned()
            .unwrap_or_default())
    }
}

/// A signed-in principal. As an extractor: API requests without one get 401,
/// pages redirect to the sign-in page and come back afterwards. API writes by
/// a browser session must carry its CSRF token (`X-CSRF-Token`); writes by an
/// API token need a token with write access.
#[derive(Debug, Clone)]
pub struct User(pub Arc<Principal>);

impl std::ops::Deref for User {
    type Target = Principal;

    fn deref(&self) -> &Principal {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for User {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let principal = parts
            .extensions
            .get::<MaybePrincipal>()
            .and_then(|p| p.0.clone());
        // Nested routers see their path without the prefix; ask for the
        // original one.
        let uri = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map(|u| u.0.clone())
            .unwrap_or_else(|| parts.uri.clone());
        let is_api = uri.path().starts_with("/api/");
        let Some(principal) = principal else {
            return Err(if is_api {
                ApiError::unauthorized().into_response()
            } else {
                let next = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/");
                let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
                Redirect::to(&format!("/login?{query}")).into_response()
            });
        };
        let writes = !parts.method.is_safe();
        if writes && is_api {
            match &principal.via {
                AuthVia::Session { csrf_token } => {
                    let sent = parts
                        .headers
                        .get("x-csrf-token")
                        .and_then(|v| v.to_str().ok());
                    if sent != Some(csrf_token.as_str()) {
                        return Err(ApiError::new(StatusCode::FORBIDDEN, "csrf").into_response());
                    }
                }
                AuthVia::Token { can_write } => {
                    if !can_write {
                        return Err(
                            ApiError::new(StatusCode::FORBIDDEN, "token_read_only").into_response()
                        );
                    }
                }
            }
        }
        Ok(User(principal))
    }
}
