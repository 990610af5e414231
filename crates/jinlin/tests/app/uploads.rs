//! Every route that takes a file (`multipart/form-data`): a form that
//! cannot be read, a file of the wrong type and a file too large are each
//! refused with a 4xx whose message is in the reader's language, and
//! store nothing.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use jinlin_kernel::auth::Role;
use jinlin_testkit::fixtures::{account, tree};
use jinlin_testkit::{TestDb, TestResponse, db_test};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::json;

use crate::client::Client;
use crate::support::{api_error, has_cjk};

const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0, 1,
];

/// Posts `body` as `content_type`, in `lang`, as the client's session.
async fn post(
    c: &Client<'_>,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
    lang: &str,
) -> TestResponse {
    let cookie = format!("{}; jinlin_lang={lang}", c.cookie);
    c.app
        .request(
            Method::POST,
            path,
            &[
                ("cookie", &cookie),
                ("content-type", content_type),
                ("x-csrf-token", &c.csrf),
            ],
            Body::from(body),
        )
        .await
}

/// A form with one file part named `field` holding `bytes`.
fn form_with(field: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "JinlinBoundary7MA4YWxk";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; \
         filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Forms that cannot be read: no boundary, and a part cut off before its
/// end.
fn broken_forms() -> Vec<(&'static str, String, Vec<u8>)> {
    let boundary = "JinlinBoundary7MA4YWxk";
    vec![
        (
            "no boundary",
            "multipart/form-data".to_string(),
            b"photo=1".to_vec(),
        ),
        (
            "cut off",
            format!("multipart/form-data; boundary={boundary}"),
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; \
                 filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n\u{FF}\u{D8}"
            )
            .into_bytes(),
        ),
    ]
}

#[db_test]
async fn every_upload_refuses_an_unreadable_form_in_the_readers_language(db: TestDb) {
    let t = tree(&db.db).await;
    let resident = account(&db.db, "resident", Role::Resident, t.compound.dwellings[0]).await;
    let worker = account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let app = crate::support::TestApp::new(db);
    let r = app
        .client(resident)
        .await
        .json(
            Method::POST,
            "/api/v1/resident-matters",
            &json!({"category": "utilities", "title": "楼道灯坏了", "description": "三楼楼道灯不亮。",
                "place_id": t.compound.dwellings[0]})
            .to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let matter = r.json()["id"].as_i64().unwrap();
    let c = t.compound.compound;
    // (route, who, API or page). The form is read before the project is
    // looked up, so any project id shows the refusal.
    let routes = [
        (
            format!("/api/v1/resident-matters/{matter}/photos"),
            resident,
            true,
        ),
        ("/api/v1/projects/1/updates".to_string(), worker, true),
        ("/resident-matters/new".to_string(), resident, false),
        ("/projects/1/updates".to_string(), worker, false),
        (format!("/places/{c}/import"), worker, false),
    ];
    for (path, who, api) in &routes {
        let client = app.client(*who).await;
        for (what, content_type, body) in broken_forms() {
            for (lang, says) in [
                ("zh-CN", "上传的表单无法读取"),
                ("en", "The upload cannot be read"),
            ] {
                let r = post(&client, path, &content_type, body.clone(), lang).await;
                assert_eq!(
                    r.status,
                    StatusCode::BAD_REQUEST,
                    "{path}, {what}, {lang}: {}",
                    r.text()
                );
                let message = if *api {
                    let (code, message) = api_error(&r);
                    assert_eq!(code, "malformed_body", "{path}, {what}");
                    assert_eq!(has_cjk(&message), lang == "zh-CN", "{message}");
                    message
                } else {
                    r.text()
                };
                assert!(message.contains(says), "{path}, {what}, {lang}: {message}");
                assert!(message.contains("multipart/form-data"), "{message}");
            }
        }
    }
    let photos = jinlin_resident_matters::entity::photo::Entity::find()
        .count(app.db.db.conn())
        .await
        .unwrap();
    assert_eq!(photos, 0);
}

#[db_test]
async fn a_photo_of_the_wrong_type_or_size_is_refused_in_english_too(db: TestDb) {
    let t = tree(&db.db).await;
    let resident = account(&db.db, "resident", Role::Resident, t.compound.dwellings[0]).await;
    let app = crate::support::TestApp::new(db);
    let c = app.client(resident).await;
    let r = c
        .json(
            Method::POST,
            "/api/v1/resident-matters",
            &json!({"category": "utilities", "title": "楼道灯坏了", "description": "三楼楼道灯不亮。",
                "place_id": t.compound.dwellings[0]})
            .to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let path = format!("/api/v1/resident-matters/{}/photos", r.json()["id"]);
    let mut big = JPEG.to_vec();
    big.resize(5 * 1024 * 1024 + 1, 0);
    for (bytes, zh, en) in [
        (
            b"%PDF-1.7 not a photo".to_vec(),
            "照片须为 JPEG、PNG 或 WebP 图片",
            "A photo must be a JPEG, PNG or WebP image",
        ),
        (big, "照片不能超过 5 MB", "A photo may be at most 5 MB"),
    ] {
        let (content_type, body) = form_with("photo", &bytes);
        for (lang, says) in [("zh-CN", zh), ("en", en)] {
            let r = post(&c, &path, &content_type, body.clone(), lang).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
            let (code, message) = api_error(&r);
            assert_eq!(code, "invalid_input");
            assert!(message.contains(says), "{lang}: {message}");
        }
    }
    // A real photo is taken.
    let (content_type, body) = form_with("photo", JPEG);
    let r = post(&c, &path, &content_type, body, "en").await;
    assert!(r.status.is_success(), "{}", r.text());
    let photos = jinlin_resident_matters::entity::photo::Entity::find()
        .count(app.db.db.conn())
        .await
        .unwrap();
    assert_eq!(photos, 1);
}
