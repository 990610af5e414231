//! The web shell: pages, languages, the API's error shape, health, metrics.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use jinlin_kernel::{Config, instance};
use jinlin_testkit::{TestDb, db_test};
use sea_orm::TransactionTrait;

use crate::support::{TestApp, api_error, has_cjk};

#[db_test]
async fn health_reports_the_database(db: TestDb) {
    let backend = if db.is_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    let app = TestApp::new(db);
    let response = app.get("/healthz").await;
    assert_eq!(response.status, StatusCode::OK);
    let body = response.json();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"]["status"], "ok");
    assert_eq!(body["database"]["backend"], backend);
    assert!(
        response
            .header("x-request-id")
            .is_some_and(|id| id.len() >= 32)
    );
}

#[db_test]
async fn health_is_503_when_the_database_is_gone(db: TestDb) {
    let app = TestApp::new(db);
    app.db.db.clone().close().await.unwrap();
    let response = app.get("/healthz").await;
    assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.json()["database"]["status"], "unavailable");
}

#[db_test]
async fn home_page_speaks_chinese_by_default_and_english_on_request(db: TestDb) {
    let app = TestApp::new(db);
    let zh = app.get("/").await;
    assert_eq!(zh.status, StatusCode::OK);
    assert!(zh.text().contains("<html lang=\"zh-CN\">"));
    assert!(zh.text().contains("近邻党建工作平台"));
    assert_eq!(zh.header("content-language"), Some("zh-CN"));

    let en = app
        .get_with("/", &[("accept-language", "en-GB,en;q=0.9")])
        .await;
    assert!(en.text().contains("<html lang=\"en\">"));
    assert!(en.text().contains("Neighbourhood party-building platform"));

    // A chosen language (cookie) beats the browser's preference.
    let chosen = app
        .get_with(
            "/",
            &[("accept-language", "en"), ("cookie", "jinlin_lang=zh-CN")],
        )
        .await;
    assert!(chosen.text().contains("<html lang=\"zh-CN\">"));
}

#[db_test]
async fn htmx_requests_get_the_fragment_only(db: TestDb) {
    let app = TestApp::new(db);
    let fragment = app.get_with("/", &[("hx-request", "true")]).await;
    assert_eq!(fragment.status, StatusCode::OK);
    assert!(!fragment.text().contains("<html"));
    assert!(fragment.text().contains("<h1>"));
}

#[db_test]
async fn switching_language_sets_a_cookie_and_stays_on_site(db: TestDb) {
    let app = TestApp::new(db);
    let response = app.get("/lang/en?next=%2Fplaces%3Fq%3D1").await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.header("location"), Some("/places?q=1"));
    let cookie = response.header("set-cookie").unwrap();
    assert!(cookie.starts_with("jinlin_lang=en"), "{cookie}");
    assert!(cookie.contains("HttpOnly"));

    let offsite = app.get("/lang/zh-CN?next=https%3A%2F%2Fevil.example").await;
    assert_eq!(offsite.header("location"), Some("/"));

    let unknown = app.get("/lang/fr").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.header("set-cookie").is_none());
}

#[db_test]
async fn unknown_routes_get_404_in_the_right_shape(db: TestDb) {
    let app = TestApp::new(db);
    let api = app.get("/api/v1/no-such-thing").await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    let (code, message) = api_error(&api);
    assert_eq!(code, "not_found");
    assert!(has_cjk(&message), "{message}");

    let api_en = app
        .get_with("/api/v1/no-such-thing", &[("accept-language", "en")])
        .await;
    let (_, message) = api_error(&api_en);
    assert!(!has_cjk(&message), "{message}");

    let page = app
        .get_with("/no/such/page", &[("accept-language", "en")])
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.text().contains("<html lang=\"en\">"));
    assert!(page.text().contains("does not exist"));

    let asset = app.get("/assets/nope.js").await;
    assert_eq!(asset.status, StatusCode::NOT_FOUND);
}

#[db_test]
async fn bad_request_bodies_get_4xx_in_the_error_shape(db: TestDb) {
    let app = TestApp::new(db);
    let path = "/api/v1/preferences/language";

    let malformed = app.json(Method::PUT, path, "{\"language\": ").await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(api_error(&malformed).0, "malformed_body");

    let wrong_type = app.json(Method::PUT, path, "{\"language\": 5}").await;
    assert_eq!(wrong_type.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(api_error(&wrong_type).0, "invalid_body");

    let unknown_field = app
        .json(Method::PUT, path, "{\"language\": \"en\", \"x\": 1}")
        .await;
    assert_eq!(unknown_field.status, StatusCode::UNPROCESSABLE_ENTITY);

    let unsupported = app
        .request(
            Method::PUT,
            path,
            &[("content-type", "text/plain")],
            Body::from("{\"language\": \"en\"}"),
        )
        .await;
    assert_eq!(unsupported.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(api_error(&unsupported).0, "unsupported_media_type");

    let unknown_language = app.json(Method::PUT, path, "{\"language\": \"fr\"}").await;
    assert_eq!(unknown_language.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(api_error(&unknown_language).0, "unknown_language");

    let wrong_method = app
        .request(Method::DELETE, "/api/v1/meta", &[], Body::empty())
        .await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(api_error(&wrong_method).0, "method_not_allowed");
}

#[db_test]
async fn oversize_bodies_are_refused(db: TestDb) {
    let config = Config {
        max_body_bytes: 64,
        ..Config::default()
    };
    let app = TestApp::with_config(db, config);
    let body = format!("{{\"language\": \"{}\"}}", "x".repeat(200));
    let response = app
        .json(Method::PUT, "/api/v1/preferences/language", &body)
        .await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(api_error(&response).0, "payload_too_large");
}

#[db_test]
async fn language_preference_round_trips(db: TestDb) {
    let app = TestApp::new(db);
    let response = app
        .json(
            Method::PUT,
            "/api/v1/preferences/language",
            "{\"language\": \"en\"}",
        )
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.json()["language"], "en");
    assert!(
        response
            .header("set-cookie")
            .unwrap()
            .starts_with("jinlin_lang=en")
    );

    let meta = app
        .get_with("/api/v1/meta", &[("cookie", "jinlin_lang=en")])
        .await;
    assert_eq!(meta.json()["language"], "en");
    assert_eq!(meta.json()["languages"][0], "zh-CN");
}

#[db_test]
async fn openapi_document_describes_the_api(db: TestDb) {
    let app = TestApp::new(db);
    let response = app.get("/api/v1/openapi.json").await;
    assert_eq!(response.status, StatusCode::OK);
    let doc = response.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["paths"]["/api/v1/meta"]["get"].is_object());
    assert!(doc["paths"]["/api/v1/preferences/language"]["put"].is_object());
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
}

#[db_test]
async fn metrics_count_requests_by_route(db: TestDb) {
    let app = TestApp::new(db);
    jinlin_kernel::web::metrics_handle();
    app.get("/api/v1/meta").await;
    let metrics = app.get("/metrics").await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(
        metrics
            .header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    assert!(
        metrics
            .text()
            .contains("http_requests_total{method=\"GET\",route=\"/api/v1/meta\",status=\"200\"}"),
        "{}",
        metrics.text()
    );
}

#[db_test]
async fn vendored_assets_are_served_from_the_binary(db: TestDb) {
    let app = TestApp::new(db);
    for (path, needle) in [
        ("/assets/htmx.min.js", "htmx"),
        ("/assets/echarts.min.js", "echarts"),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status, StatusCode::OK, "{path}");
        assert!(
            response
                .header("content-type")
                .unwrap()
                .starts_with("text/javascript")
        );
        assert!(response.text().contains(needle));
    }
}

#[db_test]
async fn a_failed_write_transaction_leaves_nothing(db: TestDb) {
    let conn = db.db.conn();
    {
        let tx = db.db.write().await.unwrap();
        instance::set(&tx, "probe", "one").await.unwrap();
        tx.rollback().await.unwrap();
    }
    assert_eq!(instance::get(conn, "probe").await.unwrap(), None);

    let tx = conn.begin().await.unwrap();
    instance::set(&tx, "probe", "two").await.unwrap();
    tx.commit().await.unwrap();
    instance::set(conn, "probe", "three").await.unwrap();
    assert_eq!(
        instance::get(conn, "probe").await.unwrap().as_deref(),
        Some("three")
    );
}

#[db_test]
async fn migrations_are_idempotent(db: TestDb) {
    assert_eq!(db.db.migrate().await.unwrap(), 0);
}

#[db_test]
async fn demo_loads_only_once(db: TestDb) {
    let secrets = jinlin_kernel::crypto::Secrets::from_bytes([7; 32]);
    let small = jinlin_seed::Scale::Small;
    let first = jinlin::demo::load_once_at(&db.db, Some(&secrets), small)
        .await
        .unwrap();
    assert!(first.loaded_now);
    assert!(
        first
            .accounts
            .iter()
            .any(|a| a.role == "compound_secretary")
    );
    let second = jinlin::demo::load_once_at(&db.db, Some(&secrets), small)
        .await
        .unwrap();
    assert!(!second.loaded_now);
    assert_eq!(second.accounts, first.accounts);
}
