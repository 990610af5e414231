//! The errors of matters and votes, in the requester's language.

use axum::http::StatusCode;
use jinlin_kernel::ApiError;
use jinlin_kernel::i18n;

/// 422 with the message of `key`.
pub fn invalid_key(key: &str) -> ApiError {
    ApiError::invalid(i18n::current().t(key))
}

/// 422 with the message of `key`, filled in.
pub fn invalid_with(key: &str, args: &[(&str, &str)]) -> ApiError {
    ApiError::invalid(i18n::current().tf(key, args))
}

/// 403 saying why.
pub fn forbidden_key(key: &str) -> ApiError {
    ApiError::with_message(StatusCode::FORBIDDEN, "forbidden", i18n::current().t(key))
}

/// 409: the request does not fit the matter's or the vote's state
/// (message `error.<code>`).
pub fn conflict(code: &'static str) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, code)
}

/// 409 with a message filled in.
pub fn conflict_with(code: &'static str, args: &[(&str, &str)]) -> ApiError {
    let message = i18n::current().tf(&format!("error.{code}"), args);
    ApiError::with_message(StatusCode::CONFLICT, code, message)
}
