//! Security headers on every response, the outermost layer so errors,
//! panics, shed requests and assets carry them too.
//!
//! The content security policy allows scripts, styles, images and requests
//! from this origin only: no inline script, no inline style, no `eval`
//! (pages load their scripts from `/assets`, and charts read their data
//! from `data-*` attributes). htmx's own indicator styles, which it would
//! inject as an inline `<style>`, are switched off in the layout and live in
//! `app.css`.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// A year: browsers then refuse plain HTTP to this host for that long.
const HSTS: &str = "max-age=31536000";

/// Whether the server is reached over HTTPS (a TLS-terminating proxy in
/// front of it): then HSTS is sent and every cookie is marked `Secure`.
#[derive(Clone, Copy, Debug)]
pub struct Tls(pub bool);

pub async fn headers(State(Tls(tls)): State<Tls>, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    let mut set = |name: HeaderName, value: &'static str| {
        // A handler that chose its own value keeps it.
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    };
    set(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY);
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    // For browsers that predate frame-ancestors.
    set(header::X_FRAME_OPTIONS, "DENY");
    // Paths carry ids and `next=` targets: tell other sites nothing.
    set(header::REFERRER_POLICY, "same-origin");
    set(
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    if tls {
        set(header::STRICT_TRANSPORT_SECURITY, HSTS);
        secure_cookies(headers);
    }
    response
}

/// Marks every cookie the response sets `Secure`, wherever it was built.
fn secure_cookies(headers: &mut HeaderMap) {
    let cookies: Vec<HeaderValue> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|value| {
            let text = value.to_str().unwrap_or_default();
            let secure = text
                .split(';')
                .skip(1)
                .any(|attr| attr.trim().eq_ignore_ascii_case("secure"));
            if secure || text.is_empty() {
                value.clone()
            } else {
                HeaderValue::from_str(&format!("{text}; Secure")).unwrap_or_else(|_| value.clone())
            }
        })
        .collect();
    if cookies.is_empty() {
        return;
    }
    headers.remove(header::SET_COOKIE);
    for cookie in cookies {
        headers.append(header::SET_COOKIE, cookie);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_cookies_secure_once() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::SET_COOKIE,
            HeaderValue::from_static("a=1; Path=/; HttpOnly"),
        );
        headers.append(
            header::SET_COOKIE,
            HeaderValue::from_static("b=2; Secure; HttpOnly"),
        );
        secure_cookies(&mut headers);
        let cookies: Vec<_> = headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(
            cookies,
            ["a=1; Path=/; HttpOnly; Secure", "b=2; Secure; HttpOnly"]
        );
    }

    #[test]
    fn the_policy_allows_no_inline_script() {
        let script = CONTENT_SECURITY_POLICY
            .split(';')
            .find(|d| d.trim().starts_with("script-src"))
            .unwrap();
        assert!(!script.contains("unsafe-inline") && !script.contains("unsafe-eval"));
        assert!(CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"));
    }
}
