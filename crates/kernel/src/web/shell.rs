//! The shell's own routes: home, language switch, health, metrics, static
//! assets, the OpenAPI document and the API's language preference.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiJson, AppState, Ctx, PageError};
use crate::auth::MaybePrincipal;
use crate::auth::entity::account;
use crate::error::{ApiError, ErrorBody};
use crate::i18n::{LANG_COOKIE, Lang};

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(meta))
        .routes(routes!(set_language))
}

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/lang/{code}", get(switch_language))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/assets/{file}", get(asset))
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    lang: Lang,
    backend: &'static str,
}

async fn home(ctx: Ctx, State(state): State<AppState>) -> Response {
    let page = HomePage {
        lang: ctx.lang,
        backend: state.db.backend_name(),
    };
    ctx.page(&ctx.lang.t("home.title"), page)
}

#[derive(Deserialize)]
struct Next {
    next: Option<String>,
}

/// Only local paths: never redirect a visitor off the site. Visible ASCII
/// only, so a tab or a non-ASCII byte cannot smuggle in `//host` or break
/// the `Location` header.
pub fn local_path(next: Option<&str>) -> String {
    match next {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && p.bytes().all(|b| (0x21..=0x7e).contains(&b)) =>
        {
            p.to_string()
        }
        _ => "/".to_string(),
    }
}

fn lang_cookie(lang: Lang) -> Cookie<'static> {
    Cookie::build((LANG_COOKIE, lang.code()))
        .path("/")
        .same_site(SameSite::Lax)
        .http_only(true)
        .permanent()
        .build()
}

/// Chooses the language: kept in a cookie, and on the account of a
/// signed-in user so it follows them to other devices.
async fn switch_language(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(next): Query<Next>,
    MaybePrincipal(user): MaybePrincipal,
    jar: CookieJar,
) -> Result<(CookieJar, Redirect), PageError> {
    let lang = Lang::from_tag(&code)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "unknown_language"))?;
    if let Some(user) = user {
        remember_language(&state, user.account_id, lang).await?;
    }
    Ok((
        jar.add(lang_cookie(lang)),
        Redirect::to(&local_path(next.next.as_deref())),
    ))
}

#[derive(Serialize, ToSchema)]
struct Meta {
    /// Always `jinlin`.
    name: &'static str,
    version: &'static str,
    /// Languages the interface and API messages speak, the default first.
    languages: Vec<&'static str>,
    /// The request's language.
    language: &'static str,
    /// `sqlite` or `postgres`.
    database: &'static str,
}

/// Facts about this server: version, languages, database backend.
#[utoipa::path(get, path = "/meta", tag = "shell",
    responses((status = 200, description = "Server facts", body = Meta)))]
async fn meta(State(state): State<AppState>) -> Json<Meta> {
    Json(Meta {
        name: "jinlin",
        version: env!("CARGO_PKG_VERSION"),
        languages: Lang::ALL.iter().map(|l| l.code()).collect(),
        language: crate::i18n::current().code(),
        database: state.db.backend_name(),
    })
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LanguagePreference {
    /// `zh-CN` or `en`.
    #[schema(example = "en")]
    language: String,
}

/// Chooses the language of pages and API messages for this client (kept in
/// a cookie).
#[utoipa::path(put, path = "/preferences/language", tag = "shell",
    request_body = LanguagePreference,
    responses(
        (status = 200, description = "Language chosen", body = LanguagePreference),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Unknown language", body = ErrorBody),
    ))]
async fn set_language(
    State(state): State<AppState>,
    MaybePrincipal(user): MaybePrincipal,
    jar: CookieJar,
    ApiJson(pref): ApiJson<LanguagePreference>,
) -> Result<(CookieJar, Json<LanguagePreference>), ApiError> {
    let lang = Lang::from_tag(&pref.language)
        .filter(|l| l.code().eq_ignore_ascii_case(pref.language.trim()))
        .ok_or_else(|| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown_language"))?;
    if let Some(user) = user {
        remember_language(&state, user.account_id, lang).await?;
    }
    Ok((
        jar.add(lang_cookie(lang)),
        Json(LanguagePreference {
            language: lang.code().to_string(),
        }),
    ))
}

async fn remember_language(state: &AppState, account_id: i64, lang: Lang) -> Result<(), ApiError> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    account::Entity::update_many()
        .col_expr(account::Column::Language, Expr::value(lang.code()))
        .filter(account::Column::Id.eq(account_id))
        .exec(state.db.conn())
        .await?;
    Ok(())
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    version: &'static str,
    database: DatabaseHealth,
}

#[derive(Serialize)]
struct DatabaseHealth {
    backend: &'static str,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    latency_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// The streaming replica for reporting reads, when one is configured.
    /// Its trouble degrades nothing: reads go to the primary meanwhile.
    #[serde(skip_serializing_if = "Option::is_none")]
    replica: Option<ReplicaHealth>,
}

#[derive(Serialize)]
struct ReplicaHealth {
    /// `ok` (serving reporting reads), `lagging` (beyond the limit),
    /// `unavailable`, or `starting` (not checked yet).
    status: &'static str,
    /// Whether reporting reads go to it now.
    serving_reads: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    lag_secs: Option<f64>,
    max_lag_secs: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// How long the health check waits for the database: a prober wants its
/// answer at once, not after the pool's acquire timeout.
const HEALTH_DATABASE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let backend = state.db.backend_name();
    let ping = tokio::time::timeout(HEALTH_DATABASE_TIMEOUT, state.db.ping())
        .await
        .unwrap_or_else(|_| {
            Err(sea_orm::DbErr::Custom(format!(
                "no answer within {} s",
                HEALTH_DATABASE_TIMEOUT.as_secs()
            )))
        });
    let replica = state.db.replica_status().map(|r| ReplicaHealth {
        status: r.state.as_str(),
        serving_reads: r.state == crate::db::replica::ReplicaState::Ok,
        lag_secs: r.lag.map(|l| l.as_secs_f64()),
        max_lag_secs: r.max_lag.as_secs_f64(),
        error: r.error,
    });
    let (status, database) = match ping {
        Ok(latency) => (
            StatusCode::OK,
            DatabaseHealth {
                backend,
                status: "ok",
                latency_ms: Some(latency.as_secs_f64() * 1000.0),
                error: None,
                replica,
            },
        ),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            DatabaseHealth {
                backend,
                status: "unavailable",
                latency_ms: None,
                error: Some(e.to_string()),
                replica,
            },
        ),
    };
    let health = Health {
        status: if status.is_success() {
            "ok"
        } else {
            "degraded"
        },
        version: env!("CARGO_PKG_VERSION"),
        database,
    };
    (status, Json(health))
}

async fn metrics() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        super::metrics_handle().render(),
    )
}

pub async fn openapi(doc: Arc<String>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        doc.as_str().to_owned(),
    )
        .into_response()
}

/// Static files compiled into the binary: no CDN, nothing fetched at run time.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/app.css"),
    ),
    (
        "htmx.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/vendor/htmx.min.js"),
    ),
    (
        "echarts.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/vendor/echarts.min.js"),
    ),
    (
        "cockpit.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/cockpit.js"),
    ),
];

async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, bytes)) => {
            let mut response = ([(header::CONTENT_TYPE, *content_type)], *bytes).into_response();
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            );
            response
        }
        None => PageError::not_found().into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn redirects_only_to_local_paths() {
        assert_eq!(local_path(Some("/places/1?x=2")), "/places/1?x=2");
        assert_eq!(local_path(Some("//evil.example")), "/");
        assert_eq!(local_path(Some("https://evil.example")), "/");
        assert_eq!(local_path(Some("/\\evil.example")), "/");
        assert_eq!(local_path(Some("/\t/evil.example")), "/");
        assert_eq!(local_path(Some("/地点")), "/");
        assert_eq!(local_path(None), "/");
    }
}
