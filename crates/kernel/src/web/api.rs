//! Extractors for the JSON API that turn every rejection into the API error
//! shape, in the requester's language.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
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

/// axum's own extractors answer in English plain text: `Path` when a
/// parameter does not parse (`/places/abc`, an id past `i64`), the body
/// limit when a body is too large. Under `/api` every error is in the API
/// shape and the requester's language, so such answers are rewritten.
pub(crate) async fn json_rejections(response: Response) -> Response {
    let status = response.status();
    let plain_text = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if !status.is_client_error() || !plain_text {
        return response;
    }
    let text = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let lang = i18n::current();
    let error = if let Some(detail) = text.strip_prefix("Invalid URL: ") {
        ApiError::with_message(
            status,
            "invalid_path",
            lang.tf("error.invalid_path", &[("detail", detail)]),
        )
    } else if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(status, "payload_too_large")
    } else {
        ApiError::new(status, "invalid_request")
    };
    error.into_response()
}

/// Completes the OpenAPI document with the answers its extractors give on
/// every operation, which the operations' own annotations leave out: 400
/// where a path parameter, query or body can fail to parse, and for JSON
/// bodies 415 (not sent as JSON) and 422 (fields missing or mistyped).
pub(crate) fn document_rejections(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

    let error = |description: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build(),
        )
    };
    for item in doc.paths.paths.values_mut() {
        let shared_parameters = item.parameters.as_ref().is_some_and(|p| !p.is_empty());
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in operations.into_iter().flatten() {
            let json_body = op.request_body.as_ref().is_some_and(
                |b| matches!(b, RefOr::T(b) if b.content.contains_key("application/json")),
            );
            let takes_input = shared_parameters
                || op.parameters.as_ref().is_some_and(|p| !p.is_empty())
                || op.request_body.is_some();
            let responses = &mut op.responses.responses;
            if takes_input {
                responses.entry("400".into()).or_insert_with(|| {
                    error("A path parameter, the query or the body cannot be read")
                });
            }
            if json_body {
                responses
                    .entry("415".into())
                    .or_insert_with(|| error("The body is not sent as application/json"));
                responses
                    .entry("422".into())
                    .or_insert_with(|| error("Fields are missing or of the wrong type"));
            }
        }
    }
}
