//! The signed-in account behind a request, loaded once per request by a
//! middleware from the session cookie or a bearer token.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use chrono::Utc;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::entity::{account, api_token, role_grant};
use super::role::{Access, Role};
use super::session::{self, SESSION_COOKIE};
use super::token::hash_token;
use crate::error::ApiError;
use crate::i18n::Lang;
use crate::place::{Position, entity as place};
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

/// Loads the principal of a request, if it carries valid credentials.
async fn authenticate(state: &AppState, parts: &Parts) -> Result<Option<Principal>, DbErr> {
    let db = state.db.conn();
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let (account_id, via) = if let Some(token) = bearer {
        let found = api_token::Entity::find()
            .filter(api_token::Column::TokenHash.eq(hash_token(token)))
            .filter(api_token::Column::RevokedAt.is_null())
            .one(db)
            .await?;
        let Some(found) = found else { return Ok(None) };
        let now = Utc::now();
        if found
            .last_used_at
            .is_none_or(|t| t + session::TOUCH_EVERY <= now)
        {
            api_token::Entity::update_many()
                .col_expr(
                    api_token::Column::LastUsedAt,
                    sea_orm::sea_query::Expr::value(now),
                )
                .filter(api_token::Column::Id.eq(found.id))
                .exec(db)
                .await?;
        }
        (
            found.account_id,
            AuthVia::Token {
                can_write: found.can_write,
            },
        )
    } else {
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(cookie) = jar.get(SESSION_COOKIE) else {
            return Ok(None);
        };
        let Some(found) = session::find(db, cookie.value()).await? else {
            return Ok(None);
        };
        (
            found.account_id,
            AuthVia::Session {
                csrf_token: found.csrf_token,
            },
        )
    };
    load(db, account_id, via).await
}

/// Builds the principal of an account (None if it is disabled or gone).
pub async fn load(
    db: &impl ConnectionTrait,
    account_id: i64,
    via: AuthVia,
) -> Result<Option<Principal>, DbErr> {
    let Some(account) = account::Entity::find_by_id(account_id).one(db).await? else {
        return Ok(None);
    };
    if account.disabled {
        return Ok(None);
    }
    // Every request loads its principal: the grants and their places in
    // one joined query.
    let grants: Vec<Grant> = role_grant::Entity::find()
        .filter(role_grant::Column::AccountId.eq(account_id))
        .find_also_related(place::Entity)
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(g, place)| {
            let role = Role::parse(&g.role)?;
            let place = place?;
            Some(Grant {
                role,
                place: place.position(),
                place_name: place.name,
            })
        })
        .collect();
    Ok(Some(Principal {
        account_id: account.id,
        username: account.username,
        display_name: account.display_name,
        person_id: account.person_id,
        language: account.language.as_deref().and_then(Lang::from_tag),
        paired_compounds: if grants.iter().any(|g| g.role == Role::AgencyAdmin) {
            paired_compounds(db, account.id).await?
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
        Ok(p) => p.map(Arc::new),
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
