//! What the API and the pages share: who the client is, the per-address
//! limit on sign-in attempts, the cookies, and errors in this crate's words.

use std::net::SocketAddr;
use std::num::NonZeroU32;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use jinlin_kernel::auth::session::SESSION_COOKIE;
use jinlin_kernel::web::client_addr::ClientAddr;
use jinlin_kernel::{ApiError, i18n};

use crate::rules;

/// Cookie carrying the double-submit token of the sign-in forms.
pub const LOGIN_CSRF_COOKIE: &str = "jinlin_login_csrf";

/// The client behind a request: its address (when the server knows it)
/// and its user agent.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl Client {
    /// The key the sign-in limit counts attempts under.
    pub fn limit_key(&self) -> &str {
        self.ip.as_deref().unwrap_or("unknown")
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Client {
            // After trusted proxies; a router served without them (tests)
            // has only the peer.
            ip: parts
                .extensions
                .get::<ClientAddr>()
                .map(|c| c.0.to_string())
                .or_else(|| {
                    parts
                        .extensions
                        .get::<ConnectInfo<SocketAddr>>()
                        .map(|c| c.0.ip().to_string())
                }),
            user_agent: parts
                .headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        })
    }
}

/// Sign-in attempts per client address, across the API and the form.
pub struct LoginLimiter {
    limiter: DefaultKeyedRateLimiter<String>,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        let per_minute =
            NonZeroU32::new(rules::LOGIN_ATTEMPTS_PER_MINUTE).expect("a positive attempt limit");
        LoginLimiter {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute)),
        }
    }
}

impl LoginLimiter {
    /// Counts one attempt; false when the address is over its limit.
    pub fn allow(&self, client: &Client) -> bool {
        if self.limiter.len() > 10_000 {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&client.limit_key().to_string())
            .is_ok()
    }
}

/// An API error whose message is `accounts.error.<code>`.
pub fn error(status: StatusCode, code: &'static str) -> ApiError {
    let message = i18n::current()
        .t(&format!("accounts.error.{code}"))
        .into_owned();
    ApiError::with_message(status, code, message)
}

/// A 422 whose detail is the translation of `key`.
pub fn invalid(key: &str) -> ApiError {
    ApiError::invalid(i18n::current().t(key))
}

pub fn bad_credentials() -> ApiError {
    error(StatusCode::UNAUTHORIZED, "bad_credentials")
}

pub fn locked(minutes: i64) -> ApiError {
    let message = i18n::current().tf(
        "accounts.error.locked",
        &[("minutes", &minutes.to_string())],
    );
    ApiError::with_message(StatusCode::LOCKED, "locked", message)
}

pub fn throttled() -> ApiError {
    error(StatusCode::TOO_MANY_REQUESTS, "throttled")
}

pub fn csrf_failed() -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "csrf")
}

/// The session cookie: the browser sends it to every page of the site and
/// never shows it to scripts.
pub fn session_cookie(token: String) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, token))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .build()
}

pub fn without_session(jar: CookieJar) -> CookieJar {
    jar.remove(Cookie::build(SESSION_COOKIE).path("/"))
}

/// The session token the request carries, if any.
pub fn carried_session(jar: &CookieJar) -> Option<String> {
    jar.get(SESSION_COOKIE).map(|c| c.value().to_string())
}

pub fn login_csrf_cookie(token: String) -> Cookie<'static> {
    Cookie::build((LOGIN_CSRF_COOKIE, token))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .build()
}

/// The sign-in forms' token: the one the browser already holds, or a new
/// one to set.
pub fn login_csrf(jar: CookieJar) -> (CookieJar, String) {
    match jar.get(LOGIN_CSRF_COOKIE).map(|c| c.value().to_string()) {
        Some(token) if token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()) => {
            (jar, token)
        }
        _ => {
            let token = jinlin_kernel::auth::new_token();
            (jar.add(login_csrf_cookie(token.clone())), token)
        }
    }
}

/// Whether a sign-in form's field matches the browser's cookie.
pub fn login_csrf_ok(jar: &CookieJar, sent: &str) -> bool {
    jar.get(LOGIN_CSRF_COOKIE)
        .is_some_and(|c| rules::same_secret(c.value(), sent))
}

/// Runs slow, blocking work (password hashing) off the async workers.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(ApiError::internal)
}
