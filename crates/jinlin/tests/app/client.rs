//! A signed-in client: a real session row and its cookie, as a browser
//! would hold them after signing in.

use axum::body::Body;
use axum::http::Method;
use jinlin_kernel::auth::session;
use jinlin_testkit::TestResponse;

use crate::support::TestApp;

pub struct Client<'a> {
    pub app: &'a TestApp,
    pub cookie: String,
    pub csrf: String,
}

impl TestApp {
    /// A client signed in as `account_id`.
    pub async fn client(&self, account_id: i64) -> Client<'_> {
        let s = session::create(self.db.db.conn(), account_id, None, None)
            .await
            .expect("create session");
        Client {
            app: self,
            cookie: format!("{}={}", session::SESSION_COOKIE, s.token),
            csrf: s.csrf_token,
        }
    }
}

impl Client<'_> {
    pub async fn get(&self, path: &str) -> TestResponse {
        self.app
            .request(
                Method::GET,
                path,
                &[("cookie", &self.cookie)],
                Body::empty(),
            )
            .await
    }

    pub async fn get_en(&self, path: &str) -> TestResponse {
        let cookie = format!("{}; jinlin_lang=en", self.cookie);
        self.app
            .request(Method::GET, path, &[("cookie", &cookie)], Body::empty())
            .await
    }

    /// A JSON API call carrying the session's CSRF token.
    pub async fn json(&self, method: Method, path: &str, body: &str) -> TestResponse {
        self.app
            .request(
                method,
                path,
                &[
                    ("cookie", &self.cookie),
                    ("content-type", "application/json"),
                    ("x-csrf-token", &self.csrf),
                ],
                Body::from(body.to_string()),
            )
            .await
    }

    pub async fn delete(&self, path: &str) -> TestResponse {
        self.app
            .request(
                Method::DELETE,
                path,
                &[("cookie", &self.cookie), ("x-csrf-token", &self.csrf)],
                Body::empty(),
            )
            .await
    }

    /// A form post; `with_csrf` adds the session's token as the form does.
    pub async fn form(&self, path: &str, fields: &[(&str, &str)], with_csrf: bool) -> TestResponse {
        let mut fields: Vec<(&str, &str)> = fields.to_vec();
        if with_csrf {
            fields.push(("csrf", &self.csrf));
        }
        let body = serde_urlencoded::to_string(&fields).unwrap();
        self.app
            .request(
                Method::POST,
                path,
                &[
                    ("cookie", &self.cookie),
                    ("content-type", "application/x-www-form-urlencoded"),
                ],
                Body::from(body),
            )
            .await
    }
}
