//! The request context of a page (language, path, whether htmx asked for a
//! fragment) and the one responder that wraps a page body in the layout.

use std::any::Any;

use askama::Template;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::CookieJar;

use std::sync::Arc;

use crate::auth::{MaybePrincipal, Principal};
use crate::error::ApiError;
use crate::i18n::{self, LANG_COOKIE, Lang};

/// Everything a page handler needs to know about who is asking and how.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub lang: Lang,
    /// Path and query of this request, for links back to it.
    pub path: String,
    /// htmx asked for a fragment: answer the body without the layout.
    pub htmx: bool,
    /// The signed-in account, if any.
    pub user: Option<Arc<Principal>>,
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Ctx::from_parts(parts))
    }
}

impl Ctx {
    fn from_parts(parts: &Parts) -> Ctx {
        let lang = parts
            .extensions
            .get::<Lang>()
            .copied()
            .unwrap_or_else(|| request_lang(parts));
        let header_is = |name: &str| {
            parts
                .headers
                .get(name)
                .is_some_and(|v| v.as_bytes() == b"true")
        };
        Ctx {
            lang,
            path: parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "/".into()),
            htmx: header_is("hx-request") && !header_is("hx-boosted"),
            user: parts
                .extensions
                .get::<MaybePrincipal>()
                .and_then(|p| p.0.clone()),
        }
    }

    /// The CSRF token forms of this page must carry (signed-in sessions).
    pub fn csrf(&self) -> &str {
        self.user
            .as_ref()
            .and_then(|u| u.csrf_token())
            .unwrap_or("")
    }

    /// Renders `body` as a page titled `title`: the bare body for htmx, the
    /// full layout otherwise.
    pub fn page(&self, title: &str, body: impl Template) -> Response {
        self.page_with_status(StatusCode::OK, title, body)
    }

    pub fn page_with_status(
        &self,
        status: StatusCode,
        title: &str,
        body: impl Template,
    ) -> Response {
        let content = match body.render() {
            Ok(html) => html,
            Err(e) => return PageError::internal(e).into_response(),
        };
        let html = if self.htmx {
            content
        } else {
            let layout = Layout {
                lang: self.lang,
                title,
                content: &content,
                switches: self.language_switches(),
                user: self.user.as_deref(),
                csrf: self.csrf(),
                path: &self.path,
            };
            match layout.render() {
                Ok(html) => html,
                Err(e) => return PageError::internal(e).into_response(),
            }
        };
        let mut response = (status, Html(html)).into_response();
        response.headers_mut().insert(
            header::VARY,
            HeaderValue::from_static("HX-Request, Cookie, Accept-Language"),
        );
        response
    }

    fn language_switches(&self) -> Vec<LangSwitch> {
        Lang::ALL
            .into_iter()
            .filter(|l| *l != self.lang)
            .map(|l| LangSwitch {
                code: l.code(),
                name: l.native_name(),
                href: format!(
                    "/lang/{}?{}",
                    l.code(),
                    serde_urlencoded::to_string([("next", self.path.as_str())]).unwrap_or_default()
                ),
            })
            .collect()
    }
}

struct LangSwitch {
    code: &'static str,
    name: &'static str,
    href: String,
}

#[derive(Template)]
#[template(path = "layout.html")]
struct Layout<'a> {
    lang: Lang,
    title: &'a str,
    content: &'a str,
    switches: Vec<LangSwitch>,
    user: Option<&'a Principal>,
    csrf: &'a str,
    path: &'a str,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorBodyPage<'a> {
    lang: Lang,
    message: &'a str,
}

/// An error shown as a page in the requester's language.
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub message: String,
    /// `Retry-After`, when the server shed the request.
    pub retry_after: Option<&'static str>,
}

impl PageError {
    pub fn not_found() -> Self {
        ApiError::not_found().into()
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError::internal(cause).into()
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        PageError {
            status: e.status,
            retry_after: e.retry_after(),
            message: e.message,
        }
    }
}

impl From<sea_orm::DbErr> for PageError {
    fn from(e: sea_orm::DbErr) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let lang = i18n::current();
        let ctx = Ctx {
            lang,
            path: "/".into(),
            htmx: false,
            user: None,
        };
        let body = ErrorBodyPage {
            lang,
            message: &self.message,
        };
        let mut response = match body.render() {
            Ok(_) => ctx.page_with_status(self.status, &lang.t("error.page_title"), body),
            // The error page itself failed: say so plainly rather than loop.
            Err(_) => (self.status, self.message).into_response(),
        };
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static(secs));
        }
        response
    }
}

/// Chooses the request's language (cookie, then Accept-Language, then
/// Chinese) and runs the rest of the stack in it.
pub async fn language(mut req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let account_lang = parts
        .extensions
        .get::<MaybePrincipal>()
        .and_then(|p| p.0.as_ref())
        .and_then(|p| p.language);
    let lang = account_lang.unwrap_or_else(|| request_lang(&parts));
    parts.extensions.insert(lang);
    req = Request::from_parts(parts, body);
    let mut response = i18n::scope(lang, next.run(req)).await;
    response.headers_mut().insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(lang.code()),
    );
    response
}

fn request_lang(parts: &Parts) -> Lang {
    let jar = CookieJar::from_headers(&parts.headers);
    jar.get(LANG_COOKIE)
        .and_then(|c| Lang::from_tag(c.value()))
        .or_else(|| {
            parts
                .headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::negotiate)
        })
        .unwrap_or_default()
}

/// An error answered before the language middleware has run (the request
/// is refused early): in the API shape under `/api`, a page elsewhere, in
/// the language the request asks for.
pub async fn early_error(parts: &Parts, error: fn() -> ApiError) -> Response {
    let lang = request_lang(parts);
    let api = is_api(parts.uri.path());
    let mut response = i18n::scope(lang, async move {
        if api {
            error().into_response()
        } else {
            PageError::from(error()).into_response()
        }
    })
    .await;
    response.headers_mut().insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(lang.code()),
    );
    response
}

fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// Unknown routes: the API error shape under `/api`, a page elsewhere.
pub async fn fallback(req: Request) -> Response {
    if is_api(req.uri().path()) {
        ApiError::not_found().into_response()
    } else {
        PageError::not_found().into_response()
    }
}

pub async fn method_not_allowed(req: Request) -> Response {
    let err = ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    if is_api(req.uri().path()) {
        err.into_response()
    } else {
        PageError::from(err).into_response()
    }
}

pub fn panic_response(cause: Box<dyn Any + Send + 'static>) -> Response {
    let detail = cause
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| cause.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    ApiError::internal(format_args!("handler panicked: {detail}")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page for a request the server shed (a full write queue) tells the
    /// browser when to try again, as the API answer does; other errors do not.
    #[test]
    fn a_shed_page_carries_retry_after() {
        let shed = PageError::from(ApiError::overloaded()).into_response();
        assert_eq!(shed.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(shed.headers()[header::RETRY_AFTER], "1");

        let missing = PageError::not_found().into_response();
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert!(!missing.headers().contains_key(header::RETRY_AFTER));

        let away = PageError::from(ApiError::database_unavailable()).into_response();
        assert!(!away.headers().contains_key(header::RETRY_AFTER));
    }
}
