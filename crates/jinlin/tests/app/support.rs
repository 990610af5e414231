//! Helpers for driving the application in process.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request};
use jinlin_kernel::Config;
use jinlin_kernel::crypto::Secrets;
use jinlin_kernel::web::AppState;
use jinlin_testkit::{TestDb, TestResponse};

pub struct TestApp {
    pub router: Router,
    pub db: TestDb,
    /// The uploads' directory of an app made by `new`, removed with it.
    _data_dir: Option<tempfile::TempDir>,
}

impl TestApp {
    /// The default configuration, with uploads in a directory of the
    /// app's own (not `./jinlin-data` in the source tree).
    pub fn new(db: TestDb) -> TestApp {
        let dir = tempfile::tempdir().expect("a temporary data directory");
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        let mut app = Self::with_config(db, config);
        app._data_dir = Some(dir);
        app
    }

    pub fn with_config(db: TestDb, config: Config) -> TestApp {
        let state = AppState::new(db.db.clone(), config, Secrets::from_bytes([7; 32]));
        TestApp {
            router: jinlin::app(state),
            db,
            _data_dir: None,
        }
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.request(Method::GET, path, &[], Body::empty()).await
    }

    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> TestResponse {
        self.request(Method::GET, path, headers, Body::empty())
            .await
    }

    pub async fn json(&self, method: Method, path: &str, body: &str) -> TestResponse {
        self.request(
            method,
            path,
            &[("content-type", "application/json")],
            Body::from(body.to_string()),
        )
        .await
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Body,
    ) -> TestResponse {
        let mut request = Request::builder().method(method).uri(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        jinlin_testkit::send(&self.router, request.body(body).expect("request")).await
    }
}

/// Asserts the API error shape and returns (code, message).
pub fn api_error(response: &TestResponse) -> (String, String) {
    let body = response.json();
    let error = body
        .get("error")
        .unwrap_or_else(|| panic!("no error object in {body}"));
    let code = error["code"].as_str().expect("error.code").to_string();
    let message = error["message"]
        .as_str()
        .expect("error.message")
        .to_string();
    assert!(!message.is_empty(), "empty error message");
    (code, message)
}

pub fn has_cjk(text: &str) -> bool {
    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}
