//! The one error shape of the JSON API: `{"error": {"code", "message"}}`,
//! with the message in the requester's language.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sea_orm::DbErr;
use serde::Serialize;
use utoipa::ToSchema;

use crate::i18n;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

/// The body of every API error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable code, e.g. `not_found`.
    #[schema(example = "not_found")]
    pub code: String,
    /// Human-readable explanation in the request's language.
    pub message: String,
}

impl ApiError {
    /// An error whose message is the translation of `error.<code>`.
    pub fn new(status: StatusCode, code: &'static str) -> Self {
        let message = i18n::current().t(&format!("error.{code}")).into_owned();
        ApiError {
            status,
            code,
            message,
        }
    }

    /// An error with a message already written for the requester.
    pub fn with_message(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found")
    }

    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden")
    }

    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized")
    }

    /// The request was understood but a value is not acceptable; `detail`
    /// is already in the requester's language.
    pub fn invalid(detail: impl Into<String>) -> Self {
        let lang = i18n::current();
        Self::with_message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            lang.tf("error.invalid_input_detail", &[("detail", &detail.into())]),
        )
    }

    /// Something failed on our side; the cause goes to the log, not the client.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal")
    }
}

impl From<DbErr> for ApiError {
    fn from(err: DbErr) -> Self {
        if crate::db::is_overloaded(&err) {
            Self::overloaded()
        } else if database_unavailable(&err) {
            tracing::error!(cause = %err, "database unavailable");
            Self::database_unavailable()
        } else {
            Self::internal(err)
        }
    }
}

impl ApiError {
    /// 503: the server is busy (too many requests, or writes, at once);
    /// sent with `Retry-After`, and counted in `http_requests_shed_total`.
    pub fn overloaded() -> Self {
        metrics::counter!("http_requests_shed_total").increment(1);
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "overloaded")
    }

    /// The `Retry-After` an answer carries: a second, for a server that shed
    /// the request (API answers and pages alike).
    pub fn retry_after(&self) -> Option<&'static str> {
        (self.code == "overloaded").then_some("1")
    }

    /// 503: the database cannot be reached; try again shortly.
    pub fn database_unavailable() -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "database_unavailable")
    }

    /// 400: an upload's body is not a readable `multipart/form-data` form
    /// (no boundary, cut short, a part that does not parse). Same code as
    /// a JSON body that does not parse; axum's own text is English only.
    pub fn malformed_upload() -> Self {
        let message = i18n::current().t("error.malformed_upload").into_owned();
        Self::with_message(StatusCode::BAD_REQUEST, "malformed_body", message)
    }
}

/// Whether `err` says the database cannot be reached (down, restarting,
/// refusing or dropping connections, the pool timed out) rather than that
/// the statement was wrong. Such requests answer 503, not 500.
pub fn database_unavailable(err: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    use sea_orm::sqlx::Error as Sqlx;
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            match e.as_ref() {
                Sqlx::Io(_)
                | Sqlx::Tls(_)
                | Sqlx::Protocol(_)
                | Sqlx::PoolTimedOut
                | Sqlx::PoolClosed
                | Sqlx::WorkerCrashed => true,
                // PostgreSQL's classes 08 (connection exception) and 57P
                // (shutting down, cannot connect now).
                Sqlx::Database(db) => db
                    .code()
                    .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
                _ => false,
            }
        }
        _ => false,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry = self.retry_after().map(|secs| [(header::RETRY_AFTER, secs)]);
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
            },
        };
        (self.status, retry, Json(body)).into_response()
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}
