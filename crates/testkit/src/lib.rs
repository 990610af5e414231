//! Test support shared by every capability.
//!
//! `#[db_test]` runs one test body on SQLite and on PostgreSQL. PostgreSQL
//! tests take their server from `JINLIN_TEST_POSTGRES_URL` and fail (never
//! skip) when it is not set or not reachable. Each test gets its own freshly
//! migrated database, dropped when the test ends.

use std::fmt::Debug;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use jinlin_kernel::Database;
use sea_orm::{ConnectionTrait, Statement};
use tower::ServiceExt;

pub use jinlin_testkit_macros::db_test;

pub mod fixtures;

/// The environment variable naming the PostgreSQL server for tests.
pub const POSTGRES_URL_VAR: &str = "JINLIN_TEST_POSTGRES_URL";

pub struct TestDb {
    pub db: Database,
    /// The URL the test database was opened with, for a process started by
    /// the test (the binary, say).
    pub url: String,
    /// Keeps the SQLite file's directory alive for the test.
    _dir: Option<tempfile::TempDir>,
    /// PostgreSQL: the admin URL and the test database to drop at the end.
    drop_pg: Option<(String, String)>,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("test.sqlite").display()
        );
        let db = Database::connect(&url, 4)
            .await
            .expect("open SQLite test database");
        db.migrate().await.expect("migrate SQLite test database");
        TestDb {
            db,
            url,
            _dir: Some(dir),
            drop_pg: None,
        }
    }

    pub async fn postgres() -> TestDb {
        let admin_url = std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| {
            panic!(
                "{POSTGRES_URL_VAR} is not set: PostgreSQL tests need a server, e.g. \
                 {POSTGRES_URL_VAR}=postgres://postgres@127.0.0.1:5432/test (scripts/test sets it)"
            )
        });
        let name = format!("jinlin_t_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(&admin_url, 1)
            .await
            .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {POSTGRES_URL_VAR}: {e}"));
        admin
            .conn()
            .execute_raw(Statement::from_string(
                admin.backend(),
                format!("CREATE DATABASE {name}"),
            ))
            .await
            .expect("create test database");
        admin.close().await.ok();
        let url = with_database(&admin_url, &name);
        let db = Database::connect(&url, 4)
            .await
            .expect("connect test database");
        db.migrate()
            .await
            .expect("migrate PostgreSQL test database");
        TestDb {
            db,
            url,
            _dir: None,
            drop_pg: Some((admin_url, name)),
        }
    }

    /// A second connection to this test's database, as another node of
    /// the server opens it; the database stays when it is dropped.
    pub async fn another_node(&self) -> TestDb {
        let db = Database::connect(&self.url, 4)
            .await
            .expect("a second connection to the test database");
        TestDb {
            db,
            url: self.url.clone(),
            _dir: None,
            drop_pg: None,
        }
    }

    /// The kind of database under test, for the rare test that must know.
    pub fn is_postgres(&self) -> bool {
        self.drop_pg.is_some()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.drop_pg.take() else {
            return;
        };
        // Drop runs inside the test's runtime; do the async clean-up on a
        // thread of its own.
        let cleanup = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("clean-up runtime");
            rt.block_on(async {
                if let Ok(admin) = Database::connect(&admin_url, 1).await {
                    let _ = admin
                        .conn()
                        .execute_raw(Statement::from_string(
                            admin.backend(),
                            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                        ))
                        .await;
                    let _ = admin.close().await;
                }
            });
        });
        let _ = cleanup.join();
    }
}

/// `postgres://user@host:port/db?opts` with the database name replaced.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let root = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    }
}

/// What a `#[db_test]` body may return: nothing, or a `Result` whose error
/// fails the test.
pub trait Outcome {
    fn check(self);
}

impl Outcome for () {
    fn check(self) {}
}

impl<E: Debug> Outcome for Result<(), E> {
    fn check(self) {
        if let Err(e) = self {
            panic!("test returned an error: {e:?}");
        }
    }
}

/// A response read whole, for assertions.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl TestResponse {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends one request through the router in process.
pub async fn send(app: &Router, request: Request<Body>) -> TestResponse {
    let response = app
        .clone()
        .oneshot(request)
        .await
        .expect("the router is infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("read body")
        .to_bytes()
        .to_vec();
    TestResponse {
        status,
        headers,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_the_database_name() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/test?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h:5432", "x"),
            "postgres://h:5432/x"
        );
    }
}
