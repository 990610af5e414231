//! The web shell: application state, how capabilities plug their routes in,
//! and the middleware every request passes through.

mod api;
pub mod client_addr;
mod ctx;
mod notifications;
mod observe;
mod security;
mod server;
mod shed;
mod shell;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request, StatusCode};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::crypto::Secrets;
use crate::{Config, Database};

pub use api::{ApiJson, ApiQuery};
pub use ctx::{Ctx, PageError, early_error};
pub use observe::metrics_handle;
pub use security::CONTENT_SECURITY_POLICY;
pub use server::{serve, shutdown_signal};
pub use shell::local_path;

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Database,
    pub config: Arc<Config>,
    /// Keys for personal data (ID numbers).
    pub secrets: Arc<Secrets>,
    /// Signed-in principals read before, while still true.
    pub principals: Arc<crate::auth::cache::PrincipalCache>,
}

impl AppState {
    pub fn new(db: Database, config: Config, secrets: Secrets) -> Self {
        AppState {
            principals: Arc::new(crate::auth::cache::PrincipalCache::new(
                db.epochs().cloned(),
            )),
            db,
            config: Arc::new(config),
            secrets: Arc::new(secrets),
        }
    }
}

/// The routes one capability contributes: JSON API routes (documented in
/// the OpenAPI document, mounted under `/api/v1`) and pages.
pub struct Routes {
    pub api: OpenApiRouter<AppState>,
    pub pages: Router<AppState>,
}

impl Default for Routes {
    fn default() -> Self {
        Routes {
            api: OpenApiRouter::new(),
            pages: Router::new(),
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "jinlin API",
        description = "The JSON API of jinlin, the neighbourhood party-building platform. \
            Errors always have the shape {\"error\": {\"code\", \"message\"}}, the message in \
            the request's language (Accept-Language, zh-CN by default).",
    ),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorDetail))
)]
struct ApiDoc;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Builds the whole application from the shell and the capabilities' routes.
pub fn app(state: AppState, capabilities: impl IntoIterator<Item = Routes>) -> Router {
    let mut api = shell::api().merge(notifications::api());
    let mut pages = shell::pages().merge(notifications::pages());
    for routes in capabilities {
        api = api.merge(routes.api);
        pages = pages.merge(routes.pages);
    }
    let (api_router, mut openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", api)
        .split_for_parts();
    api::document_rejections(&mut openapi);
    let api_router = api_router.layer(axum::middleware::map_response(api::json_rejections));
    openapi.info.version = env!("CARGO_PKG_VERSION").to_string();
    let openapi_json = Arc::new(
        openapi
            .to_pretty_json()
            .expect("OpenAPI document serializes"),
    );

    let timeout = Duration::from_secs(state.config.request_timeout_secs.max(1));
    let body_limit = state.config.max_body_bytes;
    let in_flight = shed::InFlight::new(state.config.max_in_flight_requests);
    let tls = security::Tls(state.config.behind_tls);
    // `serve` has refused a bad list already; a test's config may not have.
    let trusted = state.config.trusted_proxies().unwrap_or_default();

    Router::new()
        .merge(api_router)
        .merge(pages)
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(move || shell::openapi(openapi_json.clone())),
        )
        .fallback(ctx::fallback)
        .method_not_allowed_fallback(ctx::method_not_allowed)
        .with_state(state.clone())
        // Innermost first: everything below sees the request language,
        // which may come from the signed-in account.
        .layer(axum::middleware::from_fn(ctx::language))
        .layer(axum::middleware::from_fn_with_state(
            state,
            crate::auth::load_principal,
        ))
        .layer(axum::middleware::from_fn_with_state(
            trusted,
            client_addr::resolve,
        ))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(CompressionLayer::new())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(in_flight, shed::shed))
        .layer(axum::middleware::from_fn(observe::record_metrics))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    let id = req
                        .headers()
                        .get(&REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!(
                        "request",
                        request_id = %id,
                        method = %req.method(),
                        path = %req.uri().path(),
                    )
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(CatchPanicLayer::custom(ctx::panic_response))
        .layer(axum::middleware::from_fn_with_state(tls, security::headers))
}
