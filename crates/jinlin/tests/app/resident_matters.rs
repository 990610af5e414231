//! Tests of residents' matters: a matter from a resident's report to a
//! satisfied verdict, deadlines swept at chosen times, merges, who may do
//! what on every route, and refused input that stores nothing.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use chrono::{Duration, Utc};
use jinlin_kernel::Config;
use jinlin_kernel::auth::Role;
use jinlin_resident_matters::entity::{event, matter, photo, reporter};
use jinlin_resident_matters::sweep_deadlines;
use jinlin_testkit::fixtures::{Tree, account, tree};
use jinlin_testkit::{TestDb, TestResponse, db_test};
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, EntityTrait, PaginatorTrait};

use crate::client::Client;
use crate::support::{TestApp, api_error, has_cjk};

struct People {
    street: i64,
    other_street: i64,
    worker: i64,
    secretary: i64,
    property: i64,
    property_n: i64,
    committee: i64,
    resident: i64,
    neighbour: i64,
    resident_n: i64,
    resident_far: i64,
    agency: i64,
    agency_other: i64,
}

const API: &str = "/api/v1/resident-matters";

async fn setup(db: TestDb) -> (TestApp, Tree, People, tempfile::TempDir) {
    let t = tree(&db.db).await;
    let d = &db.db;
    let p = People {
        street: account(d, "street", Role::StreetAdmin, t.street).await,
        other_street: account(d, "other-street", Role::StreetAdmin, t.other_street).await,
        worker: account(d, "worker", Role::CommunityWorker, t.community).await,
        secretary: account(d, "secretary", Role::CompoundSecretary, t.compound.compound).await,
        property: account(d, "property", Role::PropertyStaff, t.compound.compound).await,
        property_n: account(d, "property-n", Role::PropertyStaff, t.neighbour.compound).await,
        committee: account(d, "committee", Role::OwnersCommittee, t.compound.compound).await,
        resident: account(d, "resident", Role::Resident, t.compound.dwellings[0]).await,
        neighbour: account(d, "neighbour", Role::Resident, t.compound.dwellings[1]).await,
        resident_n: account(d, "resident-n", Role::Resident, t.neighbour.dwellings[0]).await,
        resident_far: account(d, "resident-far", Role::Resident, t.far.dwellings[0]).await,
        agency: account(d, "agency", Role::AgencyAdmin, t.district).await,
        agency_other: account(d, "agency-other", Role::AgencyAdmin, t.district).await,
    };
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    (TestApp::with_config(db, config), t, p, dir)
}

fn new_matter(place: i64, category: &str, public: bool) -> String {
    format!(
        r#"{{"category": "{category}", "title": "3号楼停水", "description": "从早上起没有自来水。",
            "place_id": {place}, "public": {public}}}"#
    )
}

async fn raise(app: &TestApp, who: i64, place: i64, category: &str, public: bool) -> i64 {
    let r = app
        .client(who)
        .await
        .json(Method::POST, API, &new_matter(place, category, public))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    r.json()["id"].as_i64().unwrap()
}

async fn step(app: &TestApp, who: i64, id: i64, body: &str) -> TestResponse {
    app.client(who)
        .await
        .json(Method::POST, &format!("{API}/{id}/actions"), body)
        .await
}

async fn ok_step(app: &TestApp, who: i64, id: i64, body: &str) -> serde_json::Value {
    let r = step(app, who, id, body).await;
    assert_eq!(r.status, StatusCode::OK, "{body}: {}", r.text());
    r.json()
}

/// The kinds of notification in an account's inbox, oldest first.
async fn inbox(app: &TestApp, account: i64) -> Vec<String> {
    use jinlin_kernel::notify::entity as note;
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
    note::Entity::find()
        .filter(note::Column::AccountId.eq(account))
        .order_by_asc(note::Column::Id)
        .all(app.db.db.conn())
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.kind)
        .collect()
}

macro_rules! count {
    ($app:expr, $entity:ty) => {
        <$entity>::find().count($app.db.db.conn()).await.unwrap()
    };
}

const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0, 1,
];

async fn upload(c: &Client<'_>, id: i64, files: &[&[u8]]) -> TestResponse {
    let boundary = "XyZboundary";
    let mut body = Vec::new();
    for f in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(f);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n现场照片\r\n--{boundary}--\r\n").as_bytes(),
    );
    let ct = format!("multipart/form-data; boundary={boundary}");
    c.app
        .request(
            Method::POST,
            &format!("{API}/{id}/photos"),
            &[
                ("cookie", &c.cookie),
                ("content-type", &ct),
                ("x-csrf-token", &c.csrf),
            ],
            Body::from(body),
        )
        .await
}

#[db_test]
async fn a_matter_from_report_to_a_satisfied_verdict(db: TestDb) {
    let (app, t, p, dir) = setup(db).await;
    let id = raise(
        &app,
        p.resident,
        t.compound.dwellings[0],
        "utilities",
        false,
    )
    .await;
    let view = app
        .client(p.resident)
        .await
        .get(&format!("{API}/{id}"))
        .await
        .json();
    assert_eq!(view["state"], "intake");
    // First contact: the community receives a resident's report.
    assert_eq!(view["holder_kind"], "community");
    assert_eq!(view["actions"], serde_json::json!(["note", "withdraw"]));

    // The community worker dispatches to the catalogue's default handler.
    let before = Utc::now();
    let v = ok_step(&app, p.worker, id, r#"{"action": "dispatch"}"#).await;
    assert_eq!(v["state"], "dispatched");
    assert_eq!(v["holder_kind"], "property_company");
    let due: chrono::DateTime<Utc> = serde_json::from_value(v["due_at"].clone()).unwrap();
    assert!(due >= before + Duration::hours(24) && due <= Utc::now() + Duration::hours(24));

    assert_eq!(inbox(&app, p.property).await, ["resident_matter.assigned"]);
    assert!(inbox(&app, p.resident).await.is_empty());
    ok_step(&app, p.property, id, r#"{"action": "accept"}"#).await;
    ok_step(
        &app,
        p.property,
        id,
        r#"{"action": "note", "note": "已联系自来水公司"}"#,
    )
    .await;
    let c = app.client(p.property).await;
    let up = upload(&c, id, &[JPEG]).await;
    assert_eq!(up.status, StatusCode::CREATED, "{}", up.text());
    let url = up.json()[0]["url"].as_str().unwrap().to_string();
    let got = app.client(p.resident).await.get(&url).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.header("content-type"), Some("image/jpeg"));
    assert!(std::fs::read_dir(dir.path().join("resident_matters")).is_ok());

    ok_step(
        &app,
        p.property,
        id,
        r#"{"action": "reply", "note": "管道已修复，已恢复供水"}"#,
    )
    .await;
    assert_eq!(inbox(&app, p.resident).await, ["resident_matter.replied"]);
    // Not satisfied: reopened once, the clock starts again.
    let v = ok_step(
        &app,
        p.resident,
        id,
        r#"{"action": "rate", "satisfaction": "not_satisfied", "note": "水压仍然很低"}"#,
    )
    .await;
    assert_eq!(v["state"], "handling");
    assert_eq!(v["reopened_count"], 1);
    ok_step(
        &app,
        p.property,
        id,
        r#"{"action": "reply", "note": "已更换加压泵"}"#,
    )
    .await;
    let v = ok_step(
        &app,
        p.resident,
        id,
        r#"{"action": "rate", "satisfaction": "satisfied"}"#,
    )
    .await;
    assert_eq!(v["state"], "closed");
    assert_eq!(v["satisfaction"], "satisfied");
    let actions: Vec<&str> = v["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "raise", "dispatch", "accept", "note", "photo", "reply", "rate", "reply", "rate"
        ]
    );
    // A second rating is refused.
    let again = step(
        &app,
        p.resident,
        id,
        r#"{"action": "rate", "satisfaction": "basically"}"#,
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    // A party member who coordinated it is credited.
    let person = jinlin_people::entity::person::ActiveModel {
        district_code: Set(Some("350104".into())),
        name: Set("林党员".into()),
        party_member: Set(true),
        created_at: Set(Utc::now()),
        updated_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(app.db.db.conn())
    .await
    .unwrap();
    let r = app
        .client(p.worker)
        .await
        .json(
            Method::POST,
            &format!("{API}/{id}/credits"),
            &format!(r#"{{"person_id": {}}}"#, person.id),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let record = app
        .client(p.worker)
        .await
        .get(&format!("{API}/service-record/{}", person.id))
        .await
        .json();
    assert_eq!(record[0]["matter_id"], id);
    let dup = app
        .client(p.worker)
        .await
        .json(
            Method::POST,
            &format!("{API}/{id}/credits"),
            &format!(r#"{{"person_id": {}}}"#, person.id),
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);

    let mine = app
        .client(p.resident)
        .await
        .get(&format!("{API}/mine"))
        .await
        .json();
    assert_eq!(mine[0]["id"], id);
}

#[db_test]
async fn deadlines_warn_and_escalate_up_the_tree(db: TestDb) {
    let (app, t, p, _dir) = setup(db).await;
    let r = app
        .client(p.resident)
        .await
        .json(
            Method::POST,
            API,
            &format!(
                r#"{{"category": "safety_hazard", "urgency": "emergency", "title": "电线裸露",
                    "description": "楼道电线裸露", "place_id": {}}}"#,
                t.compound.entrance
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["id"].as_i64().unwrap();
    ok_step(
        &app,
        p.worker,
        id,
        r#"{"action": "dispatch", "to": "property_company"}"#,
    )
    .await;
    let m = matter::Entity::find_by_id(id)
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    let start = m.dispatched_at.unwrap();
    assert_eq!(m.due_at, Some(start + Duration::hours(2)));
    let db = &app.db.db;
    let at = |min: i64| start + Duration::minutes(min);
    assert_eq!(sweep_deadlines(db, at(90)).await.unwrap().warned, 0);
    let r = sweep_deadlines(db, at(97)).await.unwrap();
    assert_eq!((r.warned, r.escalated), (1, 0));
    assert_eq!(
        sweep_deadlines(db, at(98)).await.unwrap(),
        Default::default()
    );
    let r = sweep_deadlines(db, at(121)).await.unwrap();
    assert_eq!((r.warned, r.escalated), (0, 1));
    assert_eq!(
        sweep_deadlines(db, at(150)).await.unwrap(),
        Default::default()
    );
    sweep_deadlines(db, at(181)).await.unwrap();
    sweep_deadlines(db, at(241)).await.unwrap();
    let m = matter::Entity::find_by_id(id)
        .one(db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.escalation_level, 3);
    assert_eq!(inbox(&app, p.street).await, ["resident_matter.escalated"]);
    assert_eq!(
        inbox(&app, p.property).await,
        [
            "resident_matter.assigned",
            "resident_matter.warned",
            "resident_matter.escalated",
            "resident_matter.escalated",
            "resident_matter.escalated"
        ]
    );
    let levels: Vec<i64> = jinlin_resident_matters::store::timeline(db.conn(), id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "escalate")
        .map(|e| {
            serde_json::from_str::<serde_json::Value>(&e.detail).unwrap()["level"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(levels, [1, 2, 3]);
    let overdue =
        jinlin_resident_matters::store::overdue_in_street(db.conn(), t.street, at(241), 50)
            .await
            .unwrap();
    assert_eq!(overdue.len(), 1);
    assert!(
        jinlin_resident_matters::store::overdue_in_street(db.conn(), t.other_street, at(241), 50)
            .await
            .unwrap()
            .is_empty()
    );
    // The runner's handler is the same sweep, on the wall clock.
    let handlers = jinlin_resident_matters::job_handlers();
    assert!(
        handlers
            .kinds()
            .any(|k| k == "resident_matters.sweep_deadlines")
    );
    // Replied matters stop the clock: nothing more happens.
    ok_step(&app, p.property, id, r#"{"action": "accept"}"#).await;
    ok_step(
        &app,
        p.property,
        id,
        r#"{"action": "reply", "note": "已处理"}"#,
    )
    .await;
    assert_eq!(
        sweep_deadlines(db, at(10_000)).await.unwrap(),
        Default::default()
    );
}

#[db_test]
async fn duplicates_merge_without_losing_a_reporter(db: TestDb) {
    let (app, t, p, _dir) = setup(db).await;
    let a = raise(&app, p.resident, t.compound.building, "sanitation", true).await;
    let b = raise(&app, p.neighbour, t.compound.building, "sanitation", false).await;
    let other = raise(
        &app,
        p.resident_n,
        t.neighbour.building,
        "sanitation",
        false,
    )
    .await;
    let bad = step(
        &app,
        p.worker,
        b,
        &format!(r#"{{"action": "merge", "into": {other}}}"#),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let self_merge = step(
        &app,
        p.worker,
        b,
        &format!(r#"{{"action": "merge", "into": {b}}}"#),
    )
    .await;
    assert_eq!(self_merge.status, StatusCode::UNPROCESSABLE_ENTITY);
    let v = ok_step(
        &app,
        p.worker,
        b,
        &format!(r#"{{"action": "merge", "into": {a}}}"#),
    )
    .await;
    assert_eq!(v["state"], "merged");
    assert_eq!(v["merged_into"], a);
    let survivor = app
        .client(p.worker)
        .await
        .get(&format!("{API}/{a}"))
        .await
        .json();
    assert_eq!(survivor["reporters"], 2);
    // The neighbour follows the surviving matter.
    let mine = app
        .client(p.neighbour)
        .await
        .get(&format!("{API}/mine"))
        .await
        .json();
    let ids: Vec<i64> = mine
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert!(ids.contains(&a) && ids.contains(&b));
    assert_eq!(ids.len(), 2, "each matter once: {ids:?}");
    ok_step(&app, p.worker, a, r#"{"action": "dispatch"}"#).await;
    ok_step(&app, p.property, a, r#"{"action": "accept"}"#).await;
    ok_step(
        &app,
        p.property,
        a,
        r#"{"action": "reply", "note": "已清理"}"#,
    )
    .await;
    // Only the reporter who raised it rates it; a merged-in one follows.
    let r = step(
        &app,
        p.neighbour,
        a,
        r#"{"action": "rate", "satisfaction": "not_satisfied"}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let seen = app
        .client(p.neighbour)
        .await
        .get(&format!("{API}/{a}"))
        .await
        .json();
    assert_eq!(seen["is_reporter"], false);
    assert!(seen["actions"].as_array().unwrap().is_empty(), "{seen}");
    let v = ok_step(
        &app,
        p.resident,
        a,
        r#"{"action": "rate", "satisfaction": "basically"}"#,
    )
    .await;
    assert_eq!(v["state"], "closed");
    // A merged matter takes no more steps.
    let r = step(&app, p.worker, b, r#"{"action": "note", "note": "x"}"#).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(count!(app, reporter::Entity), 4);
}

#[db_test]
async fn transfers_need_a_reason_and_agencies_see_only_their_own(db: TestDb) {
    let (app, t, p, _dir) = setup(db).await;
    let id = raise(&app, p.resident, t.compound.compound, "other", false).await;
    ok_step(
        &app,
        p.worker,
        id,
        r#"{"action": "dispatch", "to": "owners_committee"}"#,
    )
    .await;
    let no_reason = step(
        &app,
        p.committee,
        id,
        r#"{"action": "transfer", "to": "agency"}"#,
    )
    .await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    let no_agency = step(
        &app,
        p.committee,
        id,
        r#"{"action": "transfer", "to": "agency", "reason": "需要机关协调"}"#,
    )
    .await;
    assert_eq!(no_agency.status, StatusCode::UNPROCESSABLE_ENTITY);
    pair_agency(&app, p.agency, &t).await;
    // An agency not paired with the compound cannot be handed the matter.
    let unpaired = step(
        &app,
        p.committee,
        id,
        &format!(
            r#"{{"action": "transfer", "to": "agency", "agency_account_id": {}, "reason": "需要机关协调"}}"#,
            p.agency_other
        ),
    )
    .await;
    assert_eq!(unpaired.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        api_error(&unpaired).1.contains("挂钩"),
        "{}",
        unpaired.text()
    );
    let v = ok_step(
        &app,
        p.committee,
        id,
        &format!(
            r#"{{"action": "transfer", "to": "agency", "agency_account_id": {}, "reason": "需要机关协调"}}"#,
            p.agency
        ),
    )
    .await;
    assert_eq!(v["holder_kind"], "agency");
    // The agency admin's display name is a person's name: not shown.
    assert_eq!(v["holder_org"], serde_json::Value::Null);
    let page = app
        .client(p.resident)
        .await
        .get(&format!("/resident-matters/{id}"))
        .await
        .text();
    assert!(!page.contains(">agency<"), "{page}");
    // The committee no longer holds it, but still sees its compound's matter.
    let r = step(&app, p.committee, id, r#"{"action": "accept"}"#).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.client(p.agency_other)
            .await
            .get(&format!("{API}/{id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    ok_step(&app, p.agency, id, r#"{"action": "accept"}"#).await;
    let q = app.client(p.agency).await.get(API).await.json();
    assert_eq!(q.as_array().unwrap().len(), 1);
    assert!(
        app.client(p.agency_other)
            .await
            .get(API)
            .await
            .json()
            .as_array()
            .unwrap()
            .is_empty()
    );
    // The agency hands it back to the community: the transfer holds even
    // though the agency no longer sees the matter.
    let r = step(
        &app,
        p.agency,
        id,
        r#"{"action": "transfer", "to": "community", "reason": "不属本单位职责"}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.json(),
        serde_json::json!({"id": id, "state": "dispatched", "visible": false})
    );
    let m = matter::Entity::find_by_id(id)
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (m.holder_kind.as_str(), m.holder_account_id),
        ("community", None)
    );
    // By page: the agency is sent to its queue with a notice, not to a 404.
    ok_step(
        &app,
        p.worker,
        id,
        &format!(
            r#"{{"action": "transfer", "to": "agency", "agency_account_id": {}, "reason": "需要机关协调"}}"#,
            p.agency
        ),
    )
    .await;
    let a = app.client(p.agency).await;
    let r = a
        .form(
            &format!("/resident-matters/{id}/act"),
            &[
                ("action", "transfer"),
                ("to", "community"),
                ("reason", "不属本单位职责"),
            ],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let to = r.header("location").unwrap().to_string();
    assert_eq!(to, format!("/resident-matters/queue?handed={id}"));
    let queue = a.get(&to).await;
    assert_eq!(queue.status, StatusCode::OK);
    assert!(queue.text().contains(&format!("#{id}")), "{}", queue.text());
    let m = matter::Entity::find_by_id(id)
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.holder_kind, "community");
}

#[db_test]
async fn every_route_by_scope_and_role(db: TestDb) {
    let (app, t, p, _dir) = setup(db).await;
    let private = raise(&app, p.resident, t.compound.dwellings[0], "parking", false).await;
    let public = raise(&app, p.resident, t.compound.building, "parking", true).await;
    let get = |who: i64, id: i64| {
        let app = &app;
        async move {
            app.client(who)
                .await
                .get(&format!("{API}/{id}"))
                .await
                .status
        }
    };
    // Reading a private matter.
    for (who, want) in [
        (p.resident, StatusCode::OK),
        (p.worker, StatusCode::OK),
        (p.street, StatusCode::OK),
        (p.property, StatusCode::OK),
        (p.secretary, StatusCode::OK),
        (p.committee, StatusCode::OK),
        (p.neighbour, StatusCode::NOT_FOUND),
        (p.resident_n, StatusCode::NOT_FOUND),
        (p.property_n, StatusCode::NOT_FOUND),
        (p.other_street, StatusCode::NOT_FOUND),
        (p.agency, StatusCode::NOT_FOUND),
    ] {
        assert_eq!(get(who, private).await, want, "account {who}");
    }
    // A public matter is seen by the compound's residents only.
    assert_eq!(get(p.neighbour, public).await, StatusCode::OK);
    assert_eq!(get(p.resident_n, public).await, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get(&format!("{API}/{private}")).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Queues: workers inside scope, residents 403, anonymous 401.
    let q = app.client(p.property).await.get(API).await;
    assert_eq!(q.status, StatusCode::OK);
    assert_eq!(q.json().as_array().unwrap().len(), 2);
    assert!(
        app.client(p.property_n)
            .await
            .get(API)
            .await
            .json()
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        app.client(p.other_street)
            .await
            .get(API)
            .await
            .json()
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        app.client(p.resident).await.get(API).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.get(API).await.status, StatusCode::UNAUTHORIZED);
    let far_place = app
        .client(p.worker)
        .await
        .get(&format!("{API}?place_id={}", t.far.compound))
        .await;
    assert_eq!(far_place.status, StatusCode::NOT_FOUND);
    let filtered = app
        .client(p.street)
        .await
        .get(&format!(
            "{API}?state=intake&category=parking&place_id={}",
            t.compound.compound
        ))
        .await;
    assert_eq!(filtered.json().as_array().unwrap().len(), 2);
    let overdue = app
        .client(p.street)
        .await
        .get(&format!("{API}?overdue=true"))
        .await;
    assert!(overdue.json().as_array().unwrap().is_empty());

    // Raising: a place outside the reader's reach is 404.
    let r = app
        .client(p.resident)
        .await
        .json(
            Method::POST,
            API,
            &new_matter(t.far.compound, "parking", false),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.json(
            Method::POST,
            API,
            &new_matter(t.compound.compound, "parking", false)
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );

    // Steps: outside 404, inside without the power 403.
    for (who, want) in [
        (p.other_street, StatusCode::NOT_FOUND),
        (p.property_n, StatusCode::NOT_FOUND),
        (p.resident, StatusCode::FORBIDDEN),
        (p.property, StatusCode::FORBIDDEN),
    ] {
        let r = step(&app, who, private, r#"{"action": "dispatch"}"#).await;
        assert_eq!(r.status, want, "account {who}: {}", r.text());
    }
    let r = step(
        &app,
        p.neighbour,
        public,
        r#"{"action": "note", "note": "我也遇到"}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.json(
            Method::POST,
            &format!("{API}/{private}/actions"),
            r#"{"action": "accept"}"#
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );

    // Photos.
    assert_eq!(
        upload(&app.client(p.property_n).await, private, &[JPEG])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        upload(&app.client(p.neighbour).await, public, &[JPEG])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        upload(&app.client(p.resident).await, private, &[JPEG])
            .await
            .status,
        StatusCode::CREATED
    );
    let ph = photo::Entity::find()
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    let url = format!("{API}/{private}/photos/{}", ph.id);
    assert_eq!(
        app.client(p.property).await.get(&url).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.client(p.neighbour).await.get(&url).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.get(&url).await.status, StatusCode::UNAUTHORIZED);

    // Credits: the holder or a supervisor; residents 403; outside 404.
    let body = r#"{"person_id": 1}"#;
    let credit = |who: i64| {
        let app = &app;
        async move {
            app.client(who)
                .await
                .json(Method::POST, &format!("{API}/{private}/credits"), body)
                .await
                .status
        }
    };
    assert_eq!(credit(p.resident).await, StatusCode::FORBIDDEN);
    assert_eq!(credit(p.other_street).await, StatusCode::NOT_FOUND);
    assert_eq!(credit(p.worker).await, StatusCode::UNPROCESSABLE_ENTITY);

    // Catalogue and "mine": any signed-in user; anonymous 401.
    let cats = app
        .client(p.resident_far)
        .await
        .get(&format!("{API}/categories"))
        .await
        .json();
    assert!(
        cats.as_array()
            .unwrap()
            .iter()
            .any(|c| c["code"] == "utilities")
    );
    assert_eq!(
        app.get(&format!("{API}/categories")).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert!(
        app.client(p.resident_far)
            .await
            .get(&format!("{API}/mine"))
            .await
            .json()
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        app.get(&format!("{API}/mine")).await.status,
        StatusCode::UNAUTHORIZED
    );
    // A service record shows only credits on matters the reader may see.
    assert_eq!(
        app.get(&format!("{API}/service-record/1")).await.status,
        StatusCode::UNAUTHORIZED
    );
    let record = app
        .client(p.resident_far)
        .await
        .get(&format!("{API}/service-record/1"))
        .await;
    assert_eq!(record.status, StatusCode::OK);
    assert!(record.json().as_array().unwrap().is_empty());
}

#[db_test]
async fn refused_input_stores_nothing(db: TestDb) {
    let (app, t, p, dir) = setup(db).await;
    let c = app.client(p.resident).await;
    for body in [
        new_matter(t.compound.dwellings[0], "no_such_category", false),
        format!(
            r#"{{"category": "utilities", "title": " ", "description": "x", "place_id": {}}}"#,
            t.compound.compound
        ),
        format!(
            r#"{{"category": "utilities", "title": "t", "description": "x", "place_id": {}, "latitude_e6": 1}}"#,
            t.compound.compound
        ),
    ] {
        let r = c.json(Method::POST, API, &body).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.text()
        );
        api_error(&r);
    }
    // A community is no place for a matter, even for its worker.
    let r = app
        .client(p.worker)
        .await
        .json(
            Method::POST,
            API,
            &new_matter(t.community, "utilities", false),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(count!(app, matter::Entity), 0);

    let id = raise(
        &app,
        p.resident,
        t.compound.dwellings[0],
        "utilities",
        false,
    )
    .await;
    let events = count!(app, event::Entity);
    // Oversize and non-image photos.
    let mut big = JPEG.to_vec();
    big.resize(5 * 1024 * 1024 + 1, 0);
    for files in [
        vec![&big[..]],
        vec![JPEG, b"GIF89a....".as_slice()],
        vec![b"%PDF-1.7".as_slice()],
    ] {
        let r = upload(&c, id, &files).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
        let (code, msg) = api_error(&r);
        assert_eq!(code, "invalid_input");
        assert!(has_cjk(&msg));
    }
    assert_eq!(count!(app, photo::Entity), 0);
    assert!(std::fs::read_dir(dir.path().join("resident_matters")).is_err());

    // A step the state does not allow, a close by someone who does not hold it.
    let r = step(&app, p.worker, id, r#"{"action": "accept"}"#).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = step(&app, p.worker, id, r#"{"action": "reply", "note": "x"}"#).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = step(&app, p.property, id, r#"{"action": "dispatch"}"#).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = step(&app, p.worker, id, r#"{"action": "close"}"#).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    api_error(&r);
    ok_step(&app, p.worker, id, r#"{"action": "dispatch"}"#).await;
    ok_step(&app, p.property, id, r#"{"action": "accept"}"#).await;
    ok_step(
        &app,
        p.property,
        id,
        r#"{"action": "reply", "note": "已修复"}"#,
    )
    .await;
    let events = events + 3;
    for (who, body, want) in [
        (p.committee, r#"{"action": "close"}"#, StatusCode::FORBIDDEN),
        (p.resident, r#"{"action": "close"}"#, StatusCode::FORBIDDEN),
        (p.property, r#"{"action": "accept"}"#, StatusCode::CONFLICT),
        (
            p.property,
            r#"{"action": "note"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            p.resident,
            r#"{"action": "rate"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            p.worker,
            r#"{"action": "reopen"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            p.worker,
            r#"{"action": "fly"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let r = step(&app, who, id, body).await;
        assert_eq!(r.status, want, "{body}: {}", r.text());
    }
    assert_eq!(count!(app, event::Entity), events);
    let m = matter::Entity::find_by_id(id)
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.state, "replied");
    // The holder closes; the supervisor reopens once, never twice.
    ok_step(
        &app,
        p.property,
        id,
        r#"{"action": "close", "note": "已核实"}"#,
    )
    .await;
    ok_step(
        &app,
        p.worker,
        id,
        r#"{"action": "reopen", "reason": "复查仍有问题"}"#,
    )
    .await;
    ok_step(
        &app,
        p.property,
        id,
        r#"{"action": "reply", "note": "再次修复"}"#,
    )
    .await;
    let r = step(
        &app,
        p.worker,
        id,
        r#"{"action": "reopen", "reason": "again"}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
}

#[db_test]
async fn the_openapi_document_lists_the_matter_routes(db: TestDb) {
    let (app, _t, _p, _dir) = setup(db).await;
    let doc = app.get("/api/v1/openapi.json").await.json();
    for path in [
        "/api/v1/resident-matters",
        "/api/v1/resident-matters/categories",
        "/api/v1/resident-matters/categories/{code}",
        "/api/v1/resident-matters/mine",
        "/api/v1/resident-matters/{id}",
        "/api/v1/resident-matters/{id}/actions",
        "/api/v1/resident-matters/{id}/photos",
        "/api/v1/resident-matters/{id}/photos/{photo_id}",
        "/api/v1/resident-matters/{id}/credits",
        "/api/v1/resident-matters/service-record/{person_id}",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
}

async fn post_new_form(
    c: &Client<'_>,
    fields: &[(&str, &str)],
    photo: Option<&[u8]>,
) -> TestResponse {
    let boundary = "PageBoundary42";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    if let Some(p) = photo {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"p.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(p);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let ct = format!("multipart/form-data; boundary={boundary}");
    c.app
        .request(
            Method::POST,
            "/resident-matters/new",
            &[("cookie", &c.cookie), ("content-type", &ct)],
            Body::from(body),
        )
        .await
}

#[db_test]
async fn pages_in_both_languages(db: TestDb) {
    let (app, t, p, _dir) = setup(db).await;
    let c = app.client(p.resident).await;
    let home = t.compound.dwellings[0].to_string();
    let fields = |csrf: &str| {
        vec![
            ("csrf", csrf.to_string()),
            ("category", "facility_repair".to_string()),
            ("place_id", home.clone()),
            ("title", "路灯不亮".to_string()),
            ("description", "3号楼前路灯坏了".to_string()),
            ("urgency", "normal".to_string()),
        ]
    };
    // A bad photo: the form comes back with the message, nothing stored.
    let f = fields(&c.csrf);
    let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = post_new_form(&c, &refs, Some(b"not an image")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.text().contains("JPEG"));
    assert_eq!(count!(app, matter::Entity), 0);
    // Without the CSRF token: refused.
    let f = fields("wrong");
    let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        post_new_form(&c, &refs, None).await.status,
        StatusCode::FORBIDDEN
    );
    // With a photo: stored and shown.
    let f = fields(&c.csrf);
    let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = post_new_form(&c, &refs, Some(JPEG)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let id = matter::Entity::find()
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap()
        .id;
    assert_eq!(count!(app, photo::Entity), 1);

    for (path, zh, en) in [
        ("/resident-matters".to_string(), "我的诉求", "My matters"),
        (
            "/resident-matters/new".to_string(),
            "我要反映",
            "Raise a matter",
        ),
        (format!("/resident-matters/{id}"), "办理过程", "Timeline"),
    ] {
        let r = c.get(&path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(r.text().contains(zh), "{path}");
        let r = c.get_en(&path).await;
        assert!(r.text().contains(en), "{path} en");
    }
    let w = app.client(p.worker).await;
    let q = w.get("/resident-matters/queue?state=intake&overdue=").await;
    assert_eq!(q.status, StatusCode::OK);
    assert!(q.text().contains("路灯不亮"));
    assert!(
        w.get_en("/resident-matters/queue")
            .await
            .text()
            .contains("Work queue")
    );
    assert_eq!(
        c.get("/resident-matters/queue").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.client(p.resident_far)
            .await
            .get(&format!("/resident-matters/{id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let anon = app.get("/resident-matters").await;
    assert!(anon.status.is_redirection());

    // Steps by form: dispatch, then a refused close shows the message.
    let r = w
        .form(
            &format!("/resident-matters/{id}/act"),
            &[("action", "dispatch"), ("to", "property_company")],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let r = w
        .form(
            &format!("/resident-matters/{id}/act"),
            &[("action", "close")],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(has_cjk(&r.text()));
    let r = w
        .form(
            &format!("/resident-matters/{id}/act"),
            &[("action", "note"), ("note", "x")],
            false,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let m = matter::Entity::find_by_id(id)
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.state, "dispatched");
}

#[db_test]
async fn the_demo_seed_leaves_a_matter_at_every_stage(db: TestDb) {
    let (app, t, _p, _dir) = setup(db).await;
    let tx = app.db.db.write().await.unwrap();
    let made = jinlin_resident_matters::seed_demo(&tx).await.unwrap();
    tx.commit().await.unwrap();
    // Two compounds of the fixture have property staff, a resident and a
    // community worker; the far one has no property staff.
    assert_eq!(made, 12);
    let mut states: Vec<String> = matter::Entity::find()
        .all(app.db.db.conn())
        .await
        .unwrap()
        .into_iter()
        .inspect(|m| assert_ne!(m.compound_id, t.far.compound))
        .filter(|m| m.compound_id == t.compound.compound)
        .map(|m| m.state)
        .collect();
    states.sort();
    assert_eq!(
        states,
        [
            "closed",
            "dispatched",
            "handling",
            "handling",
            "intake",
            "replied"
        ]
    );
    // The late one escalates when the sweep runs.
    let r = sweep_deadlines(&app.db.db, Utc::now()).await.unwrap();
    assert!(r.escalated >= 1, "{r:?}");
}

#[db_test]
async fn district_admins_configure_the_catalogue(db: TestDb) {
    let (app, t, p, _dir) = setup(db).await;
    let district = account(&app.db.db, "district", Role::DistrictAdmin, t.district).await;
    let path = format!("{API}/categories/utilities");
    let body = r#"{"default_handler": "community", "allowances":
        {"emergency_minutes": 60, "normal_minutes": 720, "complex_minutes": 14400}, "active": true}"#;
    for (who, want) in [
        (p.street, StatusCode::FORBIDDEN),
        (p.resident, StatusCode::FORBIDDEN),
    ] {
        let r = app.client(who).await.json(Method::PUT, &path, body).await;
        assert_eq!(r.status, want);
    }
    assert_eq!(
        app.json(Method::PUT, &path, body).await.status,
        StatusCode::UNAUTHORIZED
    );
    let c = app.client(district).await;
    let bad = body.replace("\"emergency_minutes\": 60", "\"emergency_minutes\": 0");
    assert_eq!(
        c.json(Method::PUT, &path, &bad).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        c.json(Method::PUT, &format!("{API}/categories/nope"), body)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let r = c.json(Method::PUT, &path, body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // The new allowance and default apply to the next dispatch.
    let id = raise(&app, p.resident, t.compound.compound, "utilities", false).await;
    let v = ok_step(&app, p.worker, id, r#"{"action": "dispatch"}"#).await;
    assert_eq!(v["holder_kind"], "community");
    let m = matter::Entity::find_by_id(id)
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        m.due_at.unwrap() - m.dispatched_at.unwrap(),
        Duration::minutes(720)
    );
    // An inactive category is refused like an unknown one.
    let off = body.replace("\"active\": true", "\"active\": false");
    assert_eq!(
        c.json(Method::PUT, &path, &off).await.status,
        StatusCode::OK
    );
    let r = app
        .client(p.resident)
        .await
        .json(
            Method::POST,
            API,
            &new_matter(t.compound.compound, "utilities", false),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[db_test]
async fn merging_never_opens_a_private_matter(db: TestDb) {
    let (app, t, p, _dir) = setup(db).await;
    let mine = raise(
        &app,
        p.resident,
        t.compound.dwellings[0],
        "sanitation",
        false,
    )
    .await;
    let theirs = raise(
        &app,
        p.neighbour,
        t.compound.dwellings[1],
        "sanitation",
        false,
    )
    .await;
    let reporters_before = count!(app, reporter::Entity);
    // Neither direction lets one resident read the other's private matter.
    for (dup, into) in [(theirs, mine), (mine, theirs)] {
        let r = step(
            &app,
            p.worker,
            dup,
            &format!(r#"{{"action": "merge", "into": {into}}}"#),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
        let (_, message) = api_error(&r);
        assert!(has_cjk(&message), "{message}");
    }
    assert_eq!(count!(app, reporter::Entity), reporters_before);
    for id in [mine, theirs] {
        let m = matter::Entity::find_by_id(id)
            .one(app.db.db.conn())
            .await
            .unwrap()
            .unwrap();
        assert_eq!((m.state.as_str(), m.merged_into), ("intake", None));
    }
    assert_eq!(
        app.client(p.neighbour)
            .await
            .get(&format!("{API}/{mine}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // The same reporter's second report merges into their private one.
    let again = raise(
        &app,
        p.resident,
        t.compound.dwellings[0],
        "sanitation",
        false,
    )
    .await;
    ok_step(
        &app,
        p.worker,
        again,
        &format!(r#"{{"action": "merge", "into": {mine}}}"#),
    )
    .await;
}

#[db_test]
async fn neighbours_see_the_compound_not_the_home(db: TestDb) {
    let (app, t, p, _dir) = setup(db).await;
    let r = app
        .client(p.resident)
        .await
        .json(
            Method::POST,
            API,
            &format!(
                r#"{{"category": "sanitation", "title": "门口堆放垃圾", "description": "楼道堆满杂物",
                    "place_id": {}, "address": "3号楼2单元501", "latitude_e6": 26038000,
                    "longitude_e6": 119304000, "public": true}}"#,
                t.compound.dwellings[0]
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["id"].as_i64().unwrap();
    assert_eq!(
        upload(&app.client(p.resident).await, id, &[JPEG])
            .await
            .status,
        StatusCode::CREATED
    );
    // A duplicate from the neighbour, merged in: they follow it too.
    let dup = raise(&app, p.neighbour, t.compound.building, "sanitation", false).await;
    ok_step(
        &app,
        p.worker,
        dup,
        &format!(r#"{{"action": "merge", "into": {id}}}"#),
    )
    .await;
    let full = app
        .client(p.property)
        .await
        .get(&format!("{API}/{id}"))
        .await
        .json();
    assert_eq!(full["place_id"], t.compound.dwellings[0]);
    assert_eq!(full["address"], "3号楼2单元501");
    assert_eq!(full["latitude_e6"], 26038000);
    let photo_url = full["photos"][0]["url"].as_str().unwrap().to_string();
    for who in [p.neighbour, p.committee] {
        let c = app.client(who).await;
        let v = c.get(&format!("{API}/{id}")).await.json();
        if who == p.committee {
            // The compound's own bodies work it: they see it in full.
            assert_eq!(v["address"], "3号楼2单元501");
            continue;
        }
        assert_eq!(v["place_id"], t.compound.compound, "{v}");
        assert_eq!(v["place_name"], v["compound_name"]);
        assert_eq!(v["address"], serde_json::Value::Null);
        assert_eq!(v["latitude_e6"], serde_json::Value::Null);
        assert_eq!(v["longitude_e6"], serde_json::Value::Null);
        assert!(v["photos"].as_array().unwrap().is_empty());
        assert_eq!(c.get(&photo_url).await.status, StatusCode::NOT_FOUND);
        let page = c.get(&format!("/resident-matters/{id}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(!page.text().contains("3号楼2单元501"));
        assert!(!page.text().contains(&photo_url));
        let r = step(&app, who, id, r#"{"action": "withdraw"}"#).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
    // A resident of the compound who never reported it: the same.
    let other = account(&app.db.db, "other", Role::Resident, t.compound.building).await;
    let v = app
        .client(other)
        .await
        .get(&format!("{API}/{id}"))
        .await
        .json();
    assert_eq!(v["place_id"], t.compound.compound);
    assert_eq!(v["address"], serde_json::Value::Null);
}

/// A reporter's own list and a worker's queue name each matter's category
/// and compound as the matter's own page does, and a reporter's list holds
/// the matters merged into one they follow.
#[db_test]
async fn the_lists_name_each_matters_category_and_compound(db: TestDb) {
    let (app, t, p, _dir) = setup(db).await;
    let resident = t.compound.dwellings[0];
    let id = raise(&app, p.resident, resident, "sanitation", true).await;
    let dup = raise(&app, p.neighbour, t.compound.building, "parking", false).await;
    let next_door = raise(
        &app,
        p.resident_n,
        t.neighbour.dwellings[0],
        "utilities",
        true,
    )
    .await;
    ok_step(
        &app,
        p.worker,
        dup,
        &format!(r#"{{"action": "merge", "into": {id}}}"#),
    )
    .await;
    let worker = app.client(p.worker).await;
    // Each matter's category and compound, as its own page names them.
    let mut expected = Vec::new();
    for m in [id, dup, next_door] {
        let v = worker.get(&format!("{API}/{m}")).await.json();
        let named = |k: &str| v[k].as_str().unwrap().to_string();
        expected.push((m, named("category"), named("compound_name")));
    }
    assert_eq!(expected[0].1, "sanitation");
    assert_eq!(expected[1].1, "parking");
    assert_ne!(expected[0].2, expected[2].2, "two compounds: {expected:?}");
    let listed = |list: &serde_json::Value| -> Vec<(i64, String, String)> {
        let mut rows: Vec<_> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                let named = |k: &str| m[k].as_str().unwrap().to_string();
                (
                    m["id"].as_i64().unwrap(),
                    named("category"),
                    named("compound_name"),
                )
            })
            .collect();
        rows.sort();
        rows
    };
    let mine = app
        .client(p.neighbour)
        .await
        .get(&format!("{API}/mine"))
        .await;
    assert_eq!(mine.status, StatusCode::OK);
    assert_eq!(listed(&mine.json()), expected[..2]);
    let queue = worker.get(API).await;
    assert_eq!(queue.status, StatusCode::OK);
    assert_eq!(listed(&queue.json()), expected);
}

#[db_test]
async fn staff_do_not_rate_their_own_work(db: TestDb) {
    let (app, t, p, _dir) = setup(db).await;
    // Property staff raise it, so the property company holds it.
    let id = raise(
        &app,
        p.property,
        t.compound.building,
        "facility_repair",
        false,
    )
    .await;
    ok_step(
        &app,
        p.property,
        id,
        r#"{"action": "dispatch", "to": "property_company"}"#,
    )
    .await;
    ok_step(&app, p.property, id, r#"{"action": "accept"}"#).await;
    let v = ok_step(
        &app,
        p.property,
        id,
        r#"{"action": "reply", "note": "已修好"}"#,
    )
    .await;
    assert!(
        !v["actions"].as_array().unwrap().contains(&"rate".into()),
        "{v}"
    );
    let r = step(
        &app,
        p.property,
        id,
        r#"{"action": "rate", "satisfaction": "satisfied"}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let m = matter::Entity::find_by_id(id)
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((m.state.as_str(), m.satisfaction), ("replied", None));
}

#[db_test]
async fn a_late_sweep_tells_every_level_it_passes(db: TestDb) {
    let (app, t, p, _dir) = setup(db).await;
    let id = raise(&app, p.resident, t.compound.building, "sanitation", false).await;
    ok_step(
        &app,
        p.worker,
        id,
        r#"{"action": "dispatch", "to": "property_company"}"#,
    )
    .await;
    let m = matter::Entity::find_by_id(id)
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    // The first sweep after a long outage finds it a whole allowance late.
    let late = m.due_at.unwrap() + (m.due_at.unwrap() - m.dispatched_at.unwrap()) * 2;
    let r = sweep_deadlines(&app.db.db, late).await.unwrap();
    assert_eq!(r.escalated, 1);
    let m = matter::Entity::find_by_id(id)
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.escalation_level, 3);
    for who in [p.worker, p.street] {
        assert_eq!(
            inbox(&app, who).await,
            ["resident_matter.escalated"],
            "account {who}"
        );
    }
    assert!(inbox(&app, p.other_street).await.is_empty());
}

#[db_test]
async fn photos_keep_their_own_files_and_are_served_inert(db: TestDb) {
    let (app, t, p, dir) = setup(db).await;
    let id = raise(&app, p.resident, t.compound.building, "sanitation", false).await;
    let c = app.client(p.resident).await;
    assert_eq!(upload(&c, id, &[JPEG]).await.status, StatusCode::CREATED);
    assert_eq!(upload(&c, id, &[JPEG]).await.status, StatusCode::CREATED);
    let photos = photo::Entity::find().all(app.db.db.conn()).await.unwrap();
    assert_eq!(photos.len(), 2);
    // Identical bytes, two files: removing one never loses the other.
    assert_eq!(photos[0].sha256, photos[1].sha256);
    assert_ne!(photos[0].path, photos[1].path);
    let first = dir.path().join("resident_matters").join(&photos[0].path);
    std::fs::remove_file(&first).unwrap_or_else(|e| panic!("{}: {e}", first.display()));
    let url = format!("{API}/{id}/photos/{}", photos[1].id);
    let r = c.get(&url).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("content-security-policy"), Some("sandbox"));
    let disposition = r.header("content-disposition").unwrap();
    assert!(
        disposition.starts_with("inline; filename="),
        "{disposition}"
    );
    assert!(disposition.ends_with(".jpg\""), "{disposition}");
}

#[db_test]
async fn webhooks_never_carry_a_private_title(db: TestDb) {
    use jinlin_kernel::jobs::entity as job;
    let (app, t, p, _dir) = setup(db).await;
    let body = |title: &str, public: bool| {
        format!(
            r#"{{"category": "utilities", "title": "{title}", "description": "厨房漏水",
                "place_id": {}, "public": {public}}}"#,
            t.compound.dwellings[0]
        )
    };
    let c = app.client(p.resident).await;
    let private = c
        .json(Method::POST, API, &body("家中漏水", false))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    let public = c
        .json(Method::POST, API, &body("路灯不亮", true))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    for id in [private, public] {
        ok_step(
            &app,
            p.worker,
            id,
            r#"{"action": "dispatch", "to": "property_company"}"#,
        )
        .await;
    }
    let payloads: Vec<String> = job::Entity::find()
        .all(app.db.db.conn())
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.payload)
        .collect();
    let of = |id: i64| {
        payloads
            .iter()
            .find(|p| p.contains(&format!("/resident-matters/{id}\"")))
            .unwrap_or_else(|| panic!("no delivery for {id}: {payloads:?}"))
    };
    assert!(!of(private).contains("家中漏水"), "{}", of(private));
    assert!(of(public).contains("路灯不亮"), "{}", of(public));
    // The inbox keeps the private title.
    use jinlin_kernel::notify::entity as note;
    use sea_orm::{ColumnTrait, QueryFilter};
    let notes = note::Entity::find()
        .filter(note::Column::AccountId.eq(p.property))
        .all(app.db.db.conn())
        .await
        .unwrap();
    assert!(notes.iter().any(|n| n.body.contains("家中漏水")));
}

/// Pairs a new agency administered by `account` with the test compound.
async fn pair_agency(app: &TestApp, account: i64, t: &Tree) {
    use jinlin_agencies::entity::{agency, agency_account, agency_pairing};
    let conn = app.db.db.conn();
    let now = chrono::Utc::now();
    let a = agency::Entity::insert(agency::ActiveModel {
        district_code: Set("350104".into()),
        name: Set(format!("挂钩单位{account}")),
        category: Set("housing".into()),
        party_org_name: Set("机关党支部".into()),
        contact: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec(conn)
    .await
    .unwrap()
    .last_insert_id;
    agency_account::Entity::insert(agency_account::ActiveModel {
        agency_id: Set(a),
        district_code: Set("350104".into()),
        account_id: Set(account),
        created_at: Set(now),
        ..Default::default()
    })
    .exec(conn)
    .await
    .unwrap();
    agency_pairing::Entity::insert(agency_pairing::ActiveModel {
        agency_id: Set(a),
        compound_id: Set(t.compound.compound),
        district_code: Set("350104".into()),
        street_id: Set(Some(t.street)),
        community_id: Set(Some(t.community)),
        route: Set("directed".into()),
        round_id: Set(None),
        started_at: Set(now),
        ended_at: Set(None),
        end_reason: Set(None),
        created_by: Set(None),
        ended_by: Set(None),
        ..Default::default()
    })
    .exec(conn)
    .await
    .unwrap();
}

/// The ids of a list of matters answered 200.
fn ids(r: &TestResponse) -> Vec<i64> {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect()
}

/// One's own matters come a page at a time, newest first: twenty by default
/// (on the API and on the page, which links to the earlier ones), a limit
/// of up to 200, and `before_id` for the next page. A malformed query is
/// refused in the reader's language; another reporter's matters never show.
#[db_test]
async fn ones_own_matters_come_a_page_at_a_time(db: TestDb) {
    let (app, t, p, _dir) = setup(db).await;
    let home = t.compound.dwellings[0];
    let mut raised = Vec::new();
    for _ in 0..23 {
        raised.push(raise(&app, p.resident, home, "utilities", false).await);
    }
    raise(
        &app,
        p.neighbour,
        t.compound.dwellings[1],
        "utilities",
        false,
    )
    .await;
    raised.reverse();
    let c = app.client(p.resident).await;
    let first = ids(&c.get(&format!("{API}/mine")).await);
    assert_eq!(first, raised[..20]);
    let next = ids(&c.get(&format!("{API}/mine?before_id={}", first[19])).await);
    assert_eq!(next, raised[20..]);
    assert_eq!(
        ids(&c.get(&format!("{API}/mine?limit=5")).await),
        raised[..5]
    );
    assert_eq!(ids(&c.get(&format!("{API}/mine?limit=1000")).await), raised);
    assert_eq!(
        ids(&c.get(&format!("{API}/mine?limit=0")).await),
        raised[..1]
    );
    let bad = c.get(&format!("{API}/mine?before_id=abc")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad.json()["error"]["code"],
        "invalid_query",
        "{}",
        bad.text()
    );
    assert!(
        bad.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("查询参数有误")
    );

    let page = c.get("/resident-matters").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let earlier = format!("/resident-matters?before_id={}", raised[19]);
    assert!(page.text().contains(&earlier), "{}", page.text());
    assert!(page.text().contains("更早的诉求"));
    assert!(
        c.get_en("/resident-matters")
            .await
            .text()
            .contains("Earlier matters")
    );
    let last = c.get(&earlier).await;
    assert_eq!(last.status, StatusCode::OK);
    assert!(!last.text().contains("更早的诉求"));
    assert_eq!(last.text().matches("class=\"rm-card\"").count(), 3);
    // Exactly a page left: no link to an empty one.
    let full = c
        .get(&format!("/resident-matters?before_id={}", raised[2]))
        .await;
    assert_eq!(full.text().matches("class=\"rm-card\"").count(), 20);
    assert!(!full.text().contains("更早的诉求"));
    // A malformed or repeated link shows a page rather than an error.
    for odd in [
        "/resident-matters?before_id=x",
        "/resident-matters?before_id=x&before_id=5",
    ] {
        let r = c.get(odd).await;
        assert_eq!(r.status, StatusCode::OK, "{odd}");
        assert_eq!(r.text().matches("class=\"rm-card\"").count(), 20, "{odd}");
    }
}

/// A reporter copied twice onto one matter (two duplicates merged into it
/// at the same moment, each adding the reporter it found missing) still
/// sees it once, and their pages stay full.
#[db_test]
async fn a_reporter_copied_twice_onto_a_matter_sees_it_once(db: TestDb) {
    let (app, t, p, _dir) = setup(db).await;
    let home = t.compound.dwellings[0];
    let mut raised = Vec::new();
    for _ in 0..3 {
        raised.push(raise(&app, p.resident, home, "utilities", false).await);
    }
    raised.reverse();
    let m = matter::Entity::find_by_id(raised[0])
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    reporter::ActiveModel {
        matter_id: Set(m.id),
        district_code: Set(m.district_code.clone()),
        account_id: Set(Some(p.resident)),
        original_matter_id: Set(m.id),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(app.db.db.conn())
    .await
    .unwrap();
    let c = app.client(p.resident).await;
    assert_eq!(ids(&c.get(&format!("{API}/mine")).await), raised);
    assert_eq!(
        ids(&c.get(&format!("{API}/mine?limit=2")).await),
        raised[..2]
    );
}
