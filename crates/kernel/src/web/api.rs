//! Extractors for the JSON API that turn every rejection into the API error
//! shape, in the requester's language.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::i18n;

/// `axum::Json`, with errors in the API shape: 400 for malformed JSON, 415
/// for a missing JSON content type, 413 for an oversize body and 422 for a
/// body whose fields do not fit.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    let lang = i18n::current();
    match rejection {
        JsonRejection::JsonDataError(e) => ApiError::with_message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            lang.tf(
                "error.invalid_body",
                &[("detail", &serde_detail(&e.body_text()))],
            ),
        ),
        JsonRejection::JsonSyntaxError(_) => {
            ApiError::new(StatusCode::BAD_REQUEST, "malformed_body")
        }
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
        }
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
        }
        other => ApiError::with_message(other.status(), "malformed_body", other.body_text()),
    }
}

/// serde's message names the field and what was expected; drop axum's
/// English preamble so only that part is shown.
fn serde_detail(text: &str) -> String {
    text.rsplit_once(": ")
        .map(|(_, tail)| tail)
        .unwrap_or(text)
        .to_string()
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Query`, with a 400 in the API shape on bad parameters.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(query_rejection(rejection)),
        }
    }
}

fn query_rejection(rejection: QueryRejection) -> ApiError {
    let lang = i18n::current();
    ApiError::with_message(
        StatusCode::BAD_REQUEST,
        "invalid_query",
        lang.tf(
            "error.invalid_query",
            &[("detail", &serde_detail(&rejection.body_text()))],
        ),
    )
}
