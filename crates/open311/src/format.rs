//! Format negotiation by the path's suffix (`services.json`,
//! `requests/12.xml`) and the responses in either format.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::model::{Errors, Open311ErrorItem, ToXml};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    /// Splits `name.json` / `name.xml` into its name and format.
    pub fn split(segment: &str) -> Option<(&str, Format)> {
        let (name, ext) = segment.rsplit_once('.')?;
        let format = match ext {
            "json" => Format::Json,
            "xml" => Format::Xml,
            _ => return None,
        };
        (!name.is_empty()).then_some((name, format))
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json; charset=utf-8",
            Format::Xml => "text/xml; charset=utf-8",
        }
    }

    /// Renders `doc` in this format.
    pub fn render<T: Serialize + ToXml>(self, status: StatusCode, doc: &T) -> Response {
        let body = match self {
            Format::Json => match serde_json::to_string(doc) {
                Ok(body) => body,
                Err(e) => {
                    tracing::error!(cause = %e, "cannot serialize an Open311 document");
                    return Open311Error::internal(self).into_response();
                }
            },
            Format::Xml => doc.to_xml(),
        };
        (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(self.content_type()),
            )],
            body,
        )
            .into_response()
    }
}

/// An error in the spec's shape, `[{"code": 400, "description": "…"}]` or
/// `<errors><error>…</error></errors>`, with the HTTP status as its code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open311Error {
    pub status: StatusCode,
    pub description: String,
    pub format: Format,
}

impl Open311Error {
    pub fn new(format: Format, status: StatusCode, description: impl Into<String>) -> Self {
        Open311Error {
            status,
            description: description.into(),
            format,
        }
    }

    /// An error whose description is the translation of `open311.error.<key>`.
    pub fn keyed(format: Format, status: StatusCode, key: &str) -> Self {
        let text = jinlin_kernel::i18n::current().t(&format!("open311.error.{key}"));
        Self::new(format, status, text.into_owned())
    }

    pub fn internal(format: Format) -> Self {
        Self::keyed(format, StatusCode::INTERNAL_SERVER_ERROR, "internal")
    }

    pub fn db(format: Format) -> impl FnOnce(sea_orm::DbErr) -> Self {
        move |err| {
            if jinlin_kernel::db::is_overloaded(&err) {
                metrics::counter!("http_requests_shed_total").increment(1);
                return Self::keyed(format, StatusCode::SERVICE_UNAVAILABLE, "overloaded");
            }
            tracing::error!(cause = %err, "Open311 database error");
            match err {
                sea_orm::DbErr::ConnectionAcquire(_) | sea_orm::DbErr::Conn(_) => {
                    Self::keyed(format, StatusCode::SERVICE_UNAVAILABLE, "unavailable")
                }
                _ => Self::internal(format),
            }
        }
    }
}

impl IntoResponse for Open311Error {
    fn into_response(self) -> Response {
        let errors = Errors(vec![Open311ErrorItem {
            code: self.status.as_u16(),
            description: self.description,
        }]);
        self.format.render(self.status, &errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes() {
        assert_eq!(
            Format::split("services.json"),
            Some(("services", Format::Json))
        );
        assert_eq!(Format::split("12.xml"), Some(("12", Format::Xml)));
        assert_eq!(Format::split("a.b.xml"), Some(("a.b", Format::Xml)));
        assert_eq!(Format::split("12"), None);
        assert_eq!(Format::split(".json"), None);
        assert_eq!(Format::split("12.html"), None);
    }
}
