//! Tests of party-building projects: the journey from a compound's need
//! through review, progress with photos and completion to evaluations and
//! figures; who may do what on every route; refused input that stores
//! nothing; figures against values computed by hand; the pages in both
//! languages; and the demo over the agencies' pairings.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use chrono::{Duration, Utc};
use jinlin_agencies::entity::agency_pairing;
use jinlin_kernel::Config;
use jinlin_kernel::auth::Role;
use jinlin_kernel::place::entity as place;
use jinlin_projects::entity::{
    compound_need, project, project_evaluation, project_photo, project_step, project_update,
};
use jinlin_testkit::fixtures::{Tree, account, far_district, tree};
use jinlin_testkit::{TestDb, TestResponse, db_test};
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::Value;

use crate::client::Client;
use crate::support::{TestApp, api_error, has_cjk};

struct People {
    district: i64,
    street: i64,
    other_street: i64,
    worker: i64,
    secretary: i64,
    secretary_n: i64,
    committee: i64,
    resident: i64,
    member: i64,
    resident_n: i64,
    far_district: i64,
    agency_a: i64,
    agency_b: i64,
}

/// Agencies of the fixtures: A (civil affairs) paired with 金山花园 and
/// 城门小区, B (health) paired with 榕城小区.
struct Agencies {
    a: i64,
    b: i64,
}

macro_rules! count {
    ($app:expr, $entity:ty) => {
        <$entity>::find().count($app.db.db.conn()).await.unwrap()
    };
}

async fn setup(db: TestDb) -> (TestApp, Tree, People, Agencies, tempfile::TempDir) {
    let t = tree(&db.db).await;
    let other = far_district(&db.db).await;
    let d = &db.db;
    let p = People {
        district: account(d, "district", Role::DistrictAdmin, t.district).await,
        street: account(d, "street", Role::StreetAdmin, t.street).await,
        other_street: account(d, "other-street", Role::StreetAdmin, t.other_street).await,
        worker: account(d, "worker", Role::CommunityWorker, t.community).await,
        secretary: account(d, "secretary", Role::CompoundSecretary, t.compound.compound).await,
        secretary_n: account(
            d,
            "secretary-n",
            Role::CompoundSecretary,
            t.neighbour.compound,
        )
        .await,
        committee: account(d, "committee", Role::OwnersCommittee, t.compound.compound).await,
        resident: account(d, "resident", Role::Resident, t.compound.dwellings[0]).await,
        member: account(d, "member", Role::PartyMember, t.compound.dwellings[1]).await,
        resident_n: account(d, "resident-n", Role::Resident, t.neighbour.dwellings[0]).await,
        far_district: account(d, "far-district", Role::DistrictAdmin, other).await,
        agency_a: account(d, "agency-a", Role::AgencyAdmin, t.district).await,
        agency_b: account(d, "agency-b", Role::AgencyAdmin, t.district).await,
    };
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    let app = TestApp::with_config(db, config);
    let a = new_agency(&app, &p, &t, "区民政局", "civil_affairs").await;
    let b = new_agency(&app, &p, &t, "区卫健局", "health").await;
    link(&app, &p, a, p.agency_a).await;
    link(&app, &p, b, p.agency_b).await;
    pair(&app, p.district, a, t.compound.compound).await;
    pair(&app, p.district, a, t.far.compound).await;
    pair(&app, p.district, b, t.neighbour.compound).await;
    (app, t, p, Agencies { a, b }, dir)
}

async fn call(
    app: &TestApp,
    who: i64,
    method: Method,
    path: &str,
    body: &str,
) -> (StatusCode, Value) {
    let c = app.client(who).await;
    let r = if method == Method::GET {
        c.get(path).await
    } else if method == Method::DELETE {
        c.delete(path).await
    } else {
        c.json(method, path, body).await
    };
    let v = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (r.status, v)
}

async fn new_agency(app: &TestApp, p: &People, t: &Tree, name: &str, category: &str) -> i64 {
    let (s, v) = call(
        app,
        p.district,
        Method::POST,
        "/api/v1/agencies",
        &format!(
            r#"{{"district_id": {}, "name": "{name}", "category": "{category}", "party_org_name": "{name}机关党委"}}"#,
            t.district
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_i64().unwrap()
}

async fn link(app: &TestApp, p: &People, agency: i64, account: i64) {
    let (s, v) = call(
        app,
        p.district,
        Method::POST,
        &format!("/api/v1/agencies/{agency}/accounts"),
        &format!(r#"{{"account_id": {account}}}"#),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
}

async fn pair(app: &TestApp, who: i64, agency: i64, compound: i64) -> i64 {
    let (s, v) = call(
        app,
        who,
        Method::POST,
        &format!("/api/v1/agencies/{agency}/pairings"),
        &format!(r#"{{"compound_id": {compound}}}"#),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_i64().unwrap()
}

async fn need(app: &TestApp, who: i64, compound: i64, description: &str) -> i64 {
    let (s, v) = call(
        app,
        who,
        Method::POST,
        &format!("/api/v1/places/{compound}/needs"),
        &format!(r#"{{"category": "civil_affairs", "description": "{description}"}}"#),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_i64().unwrap()
}

fn project_body(compound: i64, need: i64, title: &str) -> String {
    format!(
        r#"{{"compound_id": {compound}, "need_id": {need}, "title": "{title}",
            "plan": "每月一次上门走访独居老人，建立关爱台账。",
            "planned_start": "2026-03-01", "planned_end": "2026-12-31"}}"#
    )
}

async fn new_project(app: &TestApp, who: i64, compound: i64, need: i64, title: &str) -> i64 {
    let (s, v) = call(
        app,
        who,
        Method::POST,
        "/api/v1/projects",
        &project_body(compound, need, title),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_i64().unwrap()
}

async fn act(app: &TestApp, who: i64, id: i64, body: &str) -> (StatusCode, Value) {
    call(
        app,
        who,
        Method::POST,
        &format!("/api/v1/projects/{id}/actions"),
        body,
    )
    .await
}

async fn ok_act(app: &TestApp, who: i64, id: i64, body: &str) -> Value {
    let (s, v) = act(app, who, id, body).await;
    assert_eq!(s, StatusCode::OK, "{body}: {v}");
    v
}

async fn evaluate(app: &TestApp, who: i64, id: i64, body: &str) -> (StatusCode, Value) {
    call(
        app,
        who,
        Method::POST,
        &format!("/api/v1/projects/{id}/evaluations"),
        body,
    )
    .await
}

async fn ok_evaluate(app: &TestApp, who: i64, id: i64, score: i64) {
    let (s, v) = evaluate(app, who, id, &format!(r#"{{"score": {score}}}"#)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
}

const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0, 1,
];

/// A multipart update: fields, then photos.
async fn post_update(
    c: &Client<'_>,
    id: i64,
    fields: &[(&str, &str)],
    files: &[&[u8]],
) -> TestResponse {
    let boundary = "PjBoundary7";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
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
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let ct = format!("multipart/form-data; boundary={boundary}");
    c.app
        .request(
            Method::POST,
            &format!("/api/v1/projects/{id}/updates"),
            &[
                ("cookie", &c.cookie),
                ("content-type", &ct),
                ("x-csrf-token", &c.csrf),
            ],
            Body::from(body),
        )
        .await
}

fn today() -> String {
    (Utc::now() + Duration::hours(8))
        .date_naive()
        .format("%Y-%m-%d")
        .to_string()
}

/// The kinds of notification in an account's inbox, oldest first.
async fn inbox(app: &TestApp, account: i64) -> Vec<String> {
    use jinlin_kernel::notify::entity as note;
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

fn files_under(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() { files_under(&p) } else { 1 }
        })
        .sum()
}

#[db_test]
async fn a_project_from_a_need_to_evaluations_and_figures(db: TestDb) {
    let (app, t, p, ag, dir) = setup(db).await;
    let c = t.compound.compound;

    // The party organisation states the compound's need.
    let n = need(&app, p.secretary, c, "独居老人较多，需要定期走访关爱").await;
    let (s, needs) = call(
        &app,
        p.resident,
        Method::GET,
        &format!("/api/v1/places/{c}/needs"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{needs}");
    assert_eq!(needs[0]["category"], "civil_affairs");
    assert_eq!(needs[0]["projects"], 0);

    // The paired agency sets a project on it; the street is told.
    let id = new_project(&app, p.agency_a, c, n, "银龄关爱行动").await;
    assert_eq!(inbox(&app, p.street).await, vec!["project.submitted"]);
    let (_, v) = call(
        &app,
        p.agency_a,
        Method::GET,
        &format!("/api/v1/projects/{id}"),
        "",
    )
    .await;
    assert_eq!(v["state"], "planned");
    assert_eq!(v["function"], "civil_affairs");
    assert_eq!(v["agency_name"], "区民政局");
    assert_eq!(v["compound_name"], "金山花园");
    assert_eq!(v["my_actions"], serde_json::json!(["revise", "cancel"]));

    // The street sends it back; the agency revises, which submits it again.
    let v = ok_act(
        &app,
        p.street,
        id,
        r#"{"action": "return", "reason": "请补充走访人员安排"}"#,
    )
    .await;
    assert_eq!(v["state"], "returned");
    assert_eq!(inbox(&app, p.agency_a).await, vec!["project.returned"]);
    let (s, v) = call(
        &app,
        p.agency_a,
        Method::PUT,
        &format!("/api/v1/projects/{id}"),
        r#"{"title": "银龄关爱行动", "plan": "机关党员 12 人分 4 组，每月一次上门走访。",
            "planned_start": "2026-03-01", "planned_end": "2026-12-31"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    assert_eq!(
        inbox(&app, p.street).await,
        vec!["project.submitted", "project.submitted"]
    );

    // Approved, started: the agency and the secretary are told.
    ok_act(&app, p.street, id, r#"{"action": "approve"}"#).await;
    let v = ok_act(&app, p.agency_a, id, r#"{"action": "start"}"#).await;
    assert_eq!(v["state"], "in_progress");
    assert_eq!(
        inbox(&app, p.agency_a).await,
        vec!["project.returned", "project.approved"]
    );
    assert_eq!(inbox(&app, p.secretary).await, vec!["project.started"]);

    // An update with a photo, readable by a resident of the compound.
    let agency = app.client(p.agency_a).await;
    let r = post_update(
        &agency,
        id,
        &[
            ("happened_on", &today()),
            ("body", "首次走访 12 户独居老人"),
        ],
        &[JPEG],
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = post_update(
        &agency,
        id,
        &[("happened_on", &today()), ("body", "建立关爱台账")],
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(files_under(&dir.path().join("projects")), 1);
    let (_, v) = call(
        &app,
        p.resident,
        Method::GET,
        &format!("/api/v1/projects/{id}"),
        "",
    )
    .await;
    let updates = v["updates"].as_array().unwrap();
    assert_eq!(updates.len(), 2);
    let url = updates[0]["photos"][0]["url"].as_str().unwrap().to_string();
    let photo = app.client(p.resident).await.get(&url).await;
    assert_eq!(photo.status, StatusCode::OK);
    assert_eq!(photo.header("content-type"), Some("image/jpeg"));
    assert_eq!(&photo.body[..], JPEG);
    // Residents see what was done, not who did it.
    assert!(updates[0]["author_name"].is_null());
    assert!(v["created_by_name"].is_null());
    assert!(v["steps"][0]["actor_name"].is_null());
    let (_, full) = call(
        &app,
        p.district,
        Method::GET,
        &format!("/api/v1/projects/{id}"),
        "",
    )
    .await;
    assert_eq!(full["created_by_name"], "agency-a");
    assert_eq!(full["updates"][0]["author_name"], "agency-a");

    // Completed with a summary; the secretary is told.
    let v = ok_act(
        &app,
        p.agency_a,
        id,
        r#"{"action": "complete", "summary": "全年走访 48 户次，解决实际困难 9 件。"}"#,
    )
    .await;
    assert_eq!(v["state"], "done");
    assert_eq!(
        inbox(&app, p.secretary).await,
        vec!["project.started", "project.done"]
    );

    // Evaluations: the party organisation once, each household once, the
    // owners' committee member for their account.
    let (_, v) = call(
        &app,
        p.resident,
        Method::GET,
        &format!("/api/v1/projects/{id}"),
        "",
    )
    .await;
    assert_eq!(v["may_evaluate_as"], serde_json::json!(["resident"]));
    let (s, v) = evaluate(
        &app,
        p.secretary,
        id,
        r#"{"score": 5, "comment": "贴合小区需求"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    ok_evaluate(&app, p.resident, id, 4).await;
    ok_evaluate(&app, p.member, id, 3).await;
    ok_evaluate(&app, p.committee, id, 4).await;
    let (_, v) = call(
        &app,
        p.resident,
        Method::GET,
        &format!("/api/v1/projects/{id}"),
        "",
    )
    .await;
    assert_eq!(v["party_org_score"], 5);
    assert_eq!(v["resident_count"], 3);
    // (4 + 3 + 4) / 3 = 3.666… → 3.67
    assert_eq!(v["resident_mean"], "3.67");
    assert_eq!(v["evaluations"][0]["evaluator"], "party_org");
    assert_eq!(v["evaluations"][0]["comment"], "贴合小区需求");
    assert_eq!(v["may_evaluate_as"], serde_json::json!([]));
    assert_eq!(v["completion"], "全年走访 48 户次，解决实际困难 9 件。");
    let actions: Vec<&str> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["submit", "return", "revise", "approve", "start", "complete"]
    );
    assert_eq!(v["steps"][1]["reason"], "请补充走访人员安排");
    assert_eq!(v["need"]["projects"], 1);

    // Figures of the street, the district and the agency.
    let (s, f) = call(
        &app,
        p.street,
        Method::GET,
        &format!("/api/v1/places/{}/project-figures", t.street),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{f}");
    assert_eq!(f["total"], 1);
    assert_eq!(f["done"], 1);
    assert_eq!(f["evaluated"], 1);
    assert_eq!(f["evaluated_percent"], "100.0%");
    assert_eq!(f["party_org_mean"], "5.00");
    assert_eq!(f["resident_mean"], "3.67");
    assert_eq!(f["agencies"][0]["name"], "区民政局");
    let (_, f) = call(
        &app,
        p.district,
        Method::GET,
        &format!("/api/v1/places/{}/project-figures", t.district),
        "",
    )
    .await;
    assert_eq!(f["total"], 1);
    assert_eq!(f["children"].as_array().unwrap().len(), 2);
    let (s, f) = call(
        &app,
        p.agency_a,
        Method::GET,
        &format!("/api/v1/agencies/{}/project-figures", ag.a),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{f}");
    assert_eq!(f["total"], 1);
    assert_eq!(f["resident_evaluations"], 3);

    // The lists follow each reader's scope.
    for (who, n) in [
        (p.resident, 1),
        (p.agency_a, 1),
        (p.agency_b, 0),
        (p.secretary_n, 0),
        (p.resident_n, 0),
        (p.far_district, 0),
        (p.worker, 1),
    ] {
        let (_, list) = call(&app, who, Method::GET, "/api/v1/projects", "").await;
        assert_eq!(list.as_array().unwrap().len(), n, "account {who}: {list}");
    }
    let (_, list) = call(
        &app,
        p.district,
        Method::GET,
        &format!("/api/v1/projects?state=done&place_id={c}"),
        "",
    )
    .await;
    assert_eq!(list[0]["id"], id);
    let (_, list) = call(
        &app,
        p.district,
        Method::GET,
        "/api/v1/projects?state=planned",
        "",
    )
    .await;
    assert_eq!(list, serde_json::json!([]));
    assert_eq!(count!(app, project_step::Entity), 6);
    assert_eq!(count!(app, project_evaluation::Entity), 4);

    // Ending the pairing takes the agency's reach over the compound away,
    // not over its own project; no new project can be set there.
    let pairing = agency_pairing::Entity::find()
        .filter(agency_pairing::Column::AgencyId.eq(ag.a))
        .filter(agency_pairing::Column::CompoundId.eq(c))
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    let (s, _) = call(
        &app,
        p.district,
        Method::POST,
        &format!("/api/v1/agency-pairings/{}/end", pairing.id),
        r#"{"reason": "调整"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = call(
        &app,
        p.agency_a,
        Method::GET,
        &format!("/api/v1/projects/{id}"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = call(
        &app,
        p.agency_a,
        Method::GET,
        &format!("/api/v1/places/{c}/needs"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let n2 = need(&app, p.secretary, c, "新的需求").await;
    let (s, v) = call(
        &app,
        p.agency_a,
        Method::POST,
        "/api/v1/projects",
        &project_body(c, n2, "第二个项目"),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    assert_eq!(count!(app, project::Entity), 1);
}

/// Once the pairing has ended, a project can no longer be revised,
/// approved or started; one in progress is still completed and evaluated.
#[db_test]
async fn an_ended_pairing_stops_new_work_but_lets_running_projects_finish(db: TestDb) {
    let (app, t, p, ag, _dir) = setup(db).await;
    let c = t.compound.compound;
    let n1 = need(&app, p.secretary, c, "独居老人较多，需要定期走访关爱").await;
    let n2 = need(&app, p.secretary, c, "老人就餐不便").await;
    let n3 = need(&app, p.secretary, c, "楼道照明不足").await;
    let planned = new_project(&app, p.agency_a, c, n1, "走访关爱").await;
    let approved = new_project(&app, p.agency_a, c, n2, "助餐服务").await;
    ok_act(&app, p.street, approved, r#"{"action": "approve"}"#).await;
    let running = new_project(&app, p.agency_a, c, n3, "楼道亮灯").await;
    ok_act(&app, p.street, running, r#"{"action": "approve"}"#).await;
    ok_act(&app, p.agency_a, running, r#"{"action": "start"}"#).await;
    let pairing = agency_pairing::Entity::find()
        .filter(agency_pairing::Column::AgencyId.eq(ag.a))
        .filter(agency_pairing::Column::CompoundId.eq(c))
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    let (s, _) = call(
        &app,
        p.district,
        Method::POST,
        &format!("/api/v1/agency-pairings/{}/end", pairing.id),
        r#"{"reason": "调整"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let steps = count!(app, project_step::Entity);

    let (s, v) = call(
        &app,
        p.agency_a,
        Method::PUT,
        &format!("/api/v1/projects/{planned}"),
        r#"{"title": "走访关爱（修订）", "plan": "每月两次上门走访。",
            "planned_start": "2026-03-01", "planned_end": "2026-12-31"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("不再"),
        "{v}"
    );
    let (s, v) = act(&app, p.street, planned, r#"{"action": "approve"}"#).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = act(&app, p.agency_a, approved, r#"{"action": "start"}"#).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(count!(app, project_step::Entity), steps);
    let (_, v) = call(
        &app,
        p.agency_a,
        Method::GET,
        &format!("/api/v1/projects/{planned}"),
        "",
    )
    .await;
    assert_eq!(v["title"], "走访关爱");

    // The project in progress is completed and evaluated all the same.
    let v = ok_act(
        &app,
        p.agency_a,
        running,
        r#"{"action": "complete", "summary": "更换楼道灯 24 盏。"}"#,
    )
    .await;
    assert_eq!(v["state"], "done");
    ok_evaluate(&app, p.resident, running, 5).await;
}

/// Every route: anonymous 401, outside the scope 404, inside without the
/// power 403.
#[db_test]
async fn every_route_answers_by_scope_and_role(db: TestDb) {
    let (app, t, p, ag, _dir) = setup(db).await;
    let c = t.compound.compound;
    let n = need(&app, p.secretary, c, "停车难").await;
    let id = new_project(&app, p.agency_a, c, n, "停车秩序整治").await;

    let need_body = r#"{"category": "housing", "description": "加装电梯"}"#;
    let project = project_body(c, n, "另一个项目");
    let revision = r#"{"title": "停车秩序整治", "plan": "划线", "planned_start": "2026-03-01", "planned_end": "2026-06-30"}"#;
    let approve = r#"{"action": "approve"}"#;
    let evaluation = r#"{"score": 5}"#;

    struct Case<'a> {
        method: Method,
        path: String,
        body: &'a str,
        outside: Vec<i64>,
        /// Inside the scope without the power to act (403).
        powerless: Vec<i64>,
    }
    let cases = vec![
        Case {
            method: Method::GET,
            path: format!("/api/v1/places/{c}/needs"),
            body: "",
            outside: vec![p.other_street, p.secretary_n, p.agency_b],
            powerless: vec![],
        },
        Case {
            method: Method::POST,
            path: format!("/api/v1/places/{c}/needs"),
            body: need_body,
            outside: vec![p.other_street, p.resident_n],
            powerless: vec![p.resident, p.committee, p.agency_a],
        },
        Case {
            method: Method::DELETE,
            path: format!("/api/v1/needs/{n}"),
            body: "",
            outside: vec![p.other_street, p.far_district],
            powerless: vec![p.resident, p.agency_a],
        },
        Case {
            method: Method::GET,
            path: "/api/v1/projects".into(),
            body: "",
            outside: vec![],
            powerless: vec![],
        },
        Case {
            method: Method::POST,
            path: "/api/v1/projects".into(),
            body: &project,
            outside: vec![p.other_street, p.far_district],
            powerless: vec![p.street, p.secretary, p.resident],
        },
        Case {
            method: Method::GET,
            path: format!("/api/v1/projects/{id}"),
            body: "",
            outside: vec![p.other_street, p.agency_b, p.secretary_n, p.resident_n],
            powerless: vec![],
        },
        Case {
            method: Method::PUT,
            path: format!("/api/v1/projects/{id}"),
            body: revision,
            outside: vec![p.other_street, p.agency_b],
            powerless: vec![p.street, p.secretary, p.resident],
        },
        Case {
            method: Method::POST,
            path: format!("/api/v1/projects/{id}/actions"),
            body: approve,
            outside: vec![p.other_street, p.agency_b],
            powerless: vec![p.worker, p.secretary, p.agency_a, p.resident],
        },
        Case {
            method: Method::POST,
            path: format!("/api/v1/projects/{id}/updates"),
            body: "",
            outside: vec![p.other_street, p.agency_b],
            powerless: vec![p.street, p.secretary],
        },
        Case {
            method: Method::GET,
            path: format!("/api/v1/projects/{id}/photos/1"),
            body: "",
            outside: vec![p.other_street, p.resident_n],
            powerless: vec![],
        },
        Case {
            method: Method::POST,
            path: format!("/api/v1/projects/{id}/evaluations"),
            body: evaluation,
            outside: vec![p.other_street, p.resident_n],
            powerless: vec![p.street, p.worker, p.agency_a],
        },
        Case {
            method: Method::GET,
            path: format!("/api/v1/places/{}/project-figures", t.street),
            body: "",
            outside: vec![p.other_street, p.worker, p.secretary, p.agency_a],
            powerless: vec![],
        },
        Case {
            method: Method::GET,
            path: format!("/api/v1/agencies/{}/project-figures", ag.a),
            body: "",
            outside: vec![p.far_district],
            powerless: vec![p.street, p.resident, p.agency_b],
        },
    ];
    for case in &cases {
        let anonymous = app.json(case.method.clone(), &case.path, case.body).await;
        assert_eq!(
            anonymous.status,
            StatusCode::UNAUTHORIZED,
            "{} {}",
            case.method,
            case.path
        );
        for who in &case.outside {
            let r = if case.path.ends_with("/updates") {
                post_update(&app.client(*who).await, id, &[], &[]).await
            } else {
                let c = app.client(*who).await;
                match case.method {
                    Method::GET => c.get(&case.path).await,
                    Method::DELETE => c.delete(&case.path).await,
                    _ => c.json(case.method.clone(), &case.path, case.body).await,
                }
            };
            assert_eq!(
                r.status,
                StatusCode::NOT_FOUND,
                "outside ({who}) {} {}: {}",
                case.method,
                case.path,
                r.text()
            );
        }
        for who in &case.powerless {
            let r = if case.path.ends_with("/updates") {
                post_update(
                    &app.client(*who).await,
                    id,
                    &[("happened_on", &today()), ("body", "x")],
                    &[],
                )
                .await
            } else {
                let c = app.client(*who).await;
                match case.method {
                    Method::GET => c.get(&case.path).await,
                    Method::DELETE => c.delete(&case.path).await,
                    _ => c.json(case.method.clone(), &case.path, case.body).await,
                }
            };
            assert_eq!(
                r.status,
                StatusCode::FORBIDDEN,
                "powerless ({who}) {} {}: {}",
                case.method,
                case.path,
                r.text()
            );
            let (_, message) = api_error(&r);
            assert!(has_cjk(&message), "{message}");
        }
    }
    // Refusals stored nothing.
    assert_eq!(count!(app, compound_need::Entity), 1);
    assert_eq!(count!(app, project::Entity), 1);
    assert_eq!(count!(app, project_step::Entity), 1);
    assert_eq!(count!(app, project_update::Entity), 0);
    assert_eq!(count!(app, project_evaluation::Entity), 0);
    let need_row = compound_need::Entity::find_by_id(n)
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    assert!(need_row.withdrawn_at.is_none());

    // The pages answer the same way.
    for path in [
        "/projects".to_string(),
        format!("/projects/{id}"),
        format!("/places/{c}/projects"),
    ] {
        let outside = app.client(p.other_street).await.get(&path).await;
        let expected = if path == "/projects" {
            StatusCode::OK
        } else {
            StatusCode::NOT_FOUND
        };
        assert_eq!(outside.status, expected, "{path}");
    }
    let outside = app
        .client(p.other_street)
        .await
        .get("/projects")
        .await
        .text();
    assert!(!outside.contains("停车秩序整治"));

    // The allowed side of each write works: the community worker and the
    // district admin keep needs, the district admin reviews.
    let (s, v) = call(
        &app,
        p.worker,
        Method::POST,
        &format!("/api/v1/places/{c}/needs"),
        need_body,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, _) = call(
        &app,
        p.district,
        Method::DELETE,
        &format!("/api/v1/needs/{}", v["id"]),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let v = ok_act(&app, p.district, id, approve).await;
    assert_eq!(v["state"], "approved");
    // A step the reader may take, but not now: 409.
    let (s, v) = act(&app, p.district, id, approve).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let r = post_update(
        &app.client(p.agency_a).await,
        id,
        &[("happened_on", &today()), ("body", "x")],
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    let (s, _) = evaluate(&app, p.resident, id, evaluation).await;
    assert_eq!(s, StatusCode::CONFLICT);
}

#[db_test]
async fn bad_input_is_refused_with_a_message_and_nothing_stored(db: TestDb) {
    let (app, t, p, _ag, dir) = setup(db).await;
    let c = t.compound.compound;
    let n = need(&app, p.secretary, c, "楼道照明不足").await;
    let n_neighbour = need(&app, p.secretary_n, t.neighbour.compound, "缺少活动场地").await;

    let refused = |r: &TestResponse, status: StatusCode, fragment: &str| {
        assert_eq!(r.status, status, "{}", r.text());
        let (_, message) = api_error(r);
        assert!(has_cjk(&message), "{message}");
        assert!(message.contains(fragment), "{fragment} not in {message}");
    };

    // Agency B is not paired with 金山花园, so its admin does not see it:
    // 404, and nothing learned about the pairing.
    let r = app
        .client(p.agency_b)
        .await
        .json(
            Method::POST,
            "/api/v1/projects",
            &project_body(c, n, "照明改善"),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    assert!(!r.text().contains("挂钩"), "{}", r.text());
    // A need of another compound.
    let a = app.client(p.agency_a).await;
    let r = a
        .json(
            Method::POST,
            "/api/v1/projects",
            &project_body(c, n_neighbour, "照明改善"),
        )
        .await;
    refused(&r, StatusCode::UNPROCESSABLE_ENTITY, "需求");
    // An empty title, dates the wrong way round, a plan of four years.
    let r = a
        .json(Method::POST, "/api/v1/projects", &project_body(c, n, "  "))
        .await;
    refused(&r, StatusCode::UNPROCESSABLE_ENTITY, "不能为空");
    for (start, end, fragment) in [
        ("2026-05-01", "2026-04-30", "早于"),
        ("2026-01-01", "2030-01-01", "三年"),
    ] {
        let body = format!(
            r#"{{"compound_id": {c}, "need_id": {n}, "title": "照明改善", "plan": "增设路灯",
                "planned_start": "{start}", "planned_end": "{end}"}}"#
        );
        let r = a.json(Method::POST, "/api/v1/projects", &body).await;
        refused(&r, StatusCode::UNPROCESSABLE_ENTITY, fragment);
    }
    // A need that was withdrawn.
    let gone = need(&app, p.secretary, c, "已解决的需求").await;
    let (s, _) = call(
        &app,
        p.secretary,
        Method::DELETE,
        &format!("/api/v1/needs/{gone}"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let r = app
        .client(p.secretary)
        .await
        .delete(&format!("/api/v1/needs/{gone}"))
        .await;
    refused(&r, StatusCode::CONFLICT, "撤回");
    let r = a
        .json(
            Method::POST,
            "/api/v1/projects",
            &project_body(c, gone, "照明改善"),
        )
        .await;
    refused(&r, StatusCode::UNPROCESSABLE_ENTITY, "需求");
    // A need without a description, in English too.
    let r = app
        .client(p.secretary)
        .await
        .json(
            Method::POST,
            &format!("/api/v1/places/{c}/needs"),
            r#"{"category": "health", "description": " "}"#,
        )
        .await;
    refused(&r, StatusCode::UNPROCESSABLE_ENTITY, "不能为空");
    assert_eq!(count!(app, project::Entity), 0);
    assert_eq!(count!(app, compound_need::Entity), 3);

    let id = new_project(&app, p.agency_a, c, n, "照明改善").await;
    // Returning or rejecting needs a reason; an update is not a step.
    for body in [
        r#"{"action": "return"}"#,
        r#"{"action": "reject", "reason": "  "}"#,
    ] {
        let r = app
            .client(p.street)
            .await
            .json(
                Method::POST,
                &format!("/api/v1/projects/{id}/actions"),
                body,
            )
            .await;
        refused(&r, StatusCode::UNPROCESSABLE_ENTITY, "理由");
    }
    let r = a
        .json(
            Method::POST,
            &format!("/api/v1/projects/{id}/actions"),
            r#"{"action": "update"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let r = a
        .json(
            Method::POST,
            &format!("/api/v1/projects/{id}/actions"),
            r#"{"action": "fly"}"#,
        )
        .await;
    assert!(r.status.is_client_error(), "{}", r.text());
    ok_act(&app, p.street, id, r#"{"action": "approve"}"#).await;
    ok_act(&app, p.agency_a, id, r#"{"action": "start"}"#).await;
    // Cancelling after the start is refused.
    let r = a
        .json(
            Method::POST,
            &format!("/api/v1/projects/{id}/actions"),
            r#"{"action": "cancel", "reason": "经费不足"}"#,
        )
        .await;
    refused(&r, StatusCode::CONFLICT, "状态");

    // Updates: a future date, a bad date, no text, a photo that is no image.
    let tomorrow = (Utc::now() + Duration::hours(8) + Duration::days(1))
        .date_naive()
        .to_string();
    for (fields, files, fragment) in [
        (
            vec![("happened_on", tomorrow.as_str()), ("body", "x")],
            vec![],
            "今天",
        ),
        (
            vec![("happened_on", "2026/05/01"), ("body", "x")],
            vec![],
            "日期",
        ),
        (
            vec![("happened_on", &today()[..]), ("body", " ")],
            vec![],
            "不能为空",
        ),
        (
            vec![("happened_on", &today()[..]), ("body", "照片")],
            vec![JPEG, b"GIF89a....".as_slice()],
            "",
        ),
    ] {
        let r = post_update(&a, id, &fields, &files).await;
        refused(&r, StatusCode::UNPROCESSABLE_ENTITY, fragment);
    }
    assert_eq!(count!(app, project_update::Entity), 0);
    assert_eq!(count!(app, project_photo::Entity), 0);
    assert_eq!(files_under(&dir.path().join("projects")), 0);

    // Completing needs a summary.
    let r = a
        .json(
            Method::POST,
            &format!("/api/v1/projects/{id}/actions"),
            r#"{"action": "complete"}"#,
        )
        .await;
    refused(&r, StatusCode::UNPROCESSABLE_ENTITY, "总结");
    ok_act(
        &app,
        p.agency_a,
        id,
        r#"{"action": "complete", "summary": "新增路灯 20 盏"}"#,
    )
    .await;

    // Scores out of range; a second evaluation by one household.
    for score in ["0", "6", "-1"] {
        let r = app
            .client(p.resident)
            .await
            .json(
                Method::POST,
                &format!("/api/v1/projects/{id}/evaluations"),
                &format!(r#"{{"score": {score}}}"#),
            )
            .await;
        refused(&r, StatusCode::UNPROCESSABLE_ENTITY, "1 至 5");
    }
    ok_evaluate(&app, p.resident, id, 4).await;
    let r = app
        .client(p.resident)
        .await
        .json(
            Method::POST,
            &format!("/api/v1/projects/{id}/evaluations"),
            r#"{"score": 5}"#,
        )
        .await;
    refused(&r, StatusCode::CONFLICT, "已评议");
    // The secretary evaluates for the party organisation only once, and
    // may not claim a household.
    ok_evaluate(&app, p.secretary, id, 5).await;
    let (s, _) = evaluate(&app, p.secretary, id, r#"{"score": 5}"#).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = evaluate(
        &app,
        p.secretary,
        id,
        r#"{"score": 5, "evaluator": "resident"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A resident naming someone else's dwelling.
    let r = app
        .client(p.member)
        .await
        .json(
            Method::POST,
            &format!("/api/v1/projects/{id}/evaluations"),
            &format!(
                r#"{{"score": 3, "dwelling_id": {}}}"#,
                t.compound.dwellings[0]
            ),
        )
        .await;
    refused(&r, StatusCode::UNPROCESSABLE_ENTITY, "房屋");
    let stored = project_evaluation::Entity::find()
        .all(app.db.db.conn())
        .await
        .unwrap();
    assert_eq!(stored.len(), 2);
    assert!(
        stored
            .iter()
            .any(|e| e.score == 4 && e.evaluator == "resident")
    );

    // Figures only for a district or a street.
    let r = app
        .client(p.district)
        .await
        .get(&format!("/api/v1/places/{c}/project-figures"))
        .await;
    refused(&r, StatusCode::UNPROCESSABLE_ENTITY, "街道");
}

/// Seven projects in three compounds of two streets and two agencies, with
/// the figures worked out by hand.
#[db_test]
async fn figures_match_a_count_by_hand(db: TestDb) {
    let (app, t, p, ag, _dir) = setup(db).await;
    let c = t.compound.compound;
    let nb = t.neighbour.compound;
    let far = t.far.compound;
    let n_c = need(&app, p.secretary, c, "需求甲").await;
    let n_nb = need(&app, p.secretary_n, nb, "需求乙").await;
    let n_far = need(&app, p.district, far, "需求丙").await;
    let resident_far = account(
        &app.db.db,
        "resident-far",
        Role::Resident,
        t.far.dwellings[0],
    )
    .await;

    async fn finish(app: &TestApp, reviewer: i64, agency: i64, id: i64) {
        ok_act(app, reviewer, id, r#"{"action": "approve"}"#).await;
        ok_act(app, agency, id, r#"{"action": "start"}"#).await;
        ok_act(
            app,
            agency,
            id,
            r#"{"action": "complete", "summary": "完成"}"#,
        )
        .await;
    }

    // P1 (A, 金山花园): done; party 4, households 5 and 2.
    let p1 = new_project(&app, p.agency_a, c, n_c, "P1").await;
    finish(&app, p.street, p.agency_a, p1).await;
    ok_evaluate(&app, p.secretary, p1, 4).await;
    ok_evaluate(&app, p.resident, p1, 5).await;
    ok_evaluate(&app, p.member, p1, 2).await;
    // P2 (A, 金山花园): done, not evaluated.
    let p2 = new_project(&app, p.agency_a, c, n_c, "P2").await;
    finish(&app, p.street, p.agency_a, p2).await;
    // P3 (A, 城门小区): rejected.
    let p3 = new_project(&app, p.agency_a, far, n_far, "P3").await;
    ok_act(
        &app,
        p.other_street,
        p3,
        r#"{"action": "reject", "reason": "与已有项目重复"}"#,
    )
    .await;
    // P4 (B, 榕城小区): done; party 2, one household 3.
    let p4 = new_project(&app, p.agency_b, nb, n_nb, "P4").await;
    finish(&app, p.street, p.agency_b, p4).await;
    ok_evaluate(&app, p.secretary_n, p4, 2).await;
    ok_evaluate(&app, p.resident_n, p4, 3).await;
    // P5 (B, 榕城小区): waiting for review.
    new_project(&app, p.agency_b, nb, n_nb, "P5").await;
    // P6 (A, 城门小区): cancelled after approval.
    let p6 = new_project(&app, p.agency_a, far, n_far, "P6").await;
    ok_act(&app, p.district, p6, r#"{"action": "approve"}"#).await;
    ok_act(
        &app,
        p.agency_a,
        p6,
        r#"{"action": "cancel", "reason": "经费调整"}"#,
    )
    .await;
    // P7 (A, 城门小区): in progress.
    let p7 = new_project(&app, p.agency_a, far, n_far, "P7").await;
    ok_act(&app, p.district, p7, r#"{"action": "approve"}"#).await;
    ok_act(&app, p.agency_a, p7, r#"{"action": "start"}"#).await;
    // Residents elsewhere cannot evaluate a project that is not done.
    let (s, _) = evaluate(&app, resident_far, p7, r#"{"score": 5}"#).await;
    assert_eq!(s, StatusCode::CONFLICT);

    let (s, f) = call(
        &app,
        p.district,
        Method::GET,
        &format!("/api/v1/places/{}/project-figures", t.district),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{f}");
    let expect = |l: &Value, want: &[(&str, Value)]| {
        for (k, v) in want {
            assert_eq!(&l[*k], v, "{k} of {l}");
        }
    };
    use serde_json::json;
    expect(
        &f,
        &[
            ("total", json!(7)),
            ("planned", json!(1)),
            ("returned", json!(0)),
            ("approved", json!(0)),
            ("in_progress", json!(1)),
            ("done", json!(3)),
            ("rejected", json!(1)),
            ("cancelled", json!(1)),
            ("evaluated", json!(2)),
            // 2 of 3 done projects evaluated.
            ("evaluated_percent", json!("66.7%")),
            // (4 + 2) / 2
            ("party_org_mean", json!("3.00")),
            ("party_org_evaluations", json!(2)),
            // (5 + 2 + 3) / 3 = 3.333…
            ("resident_mean", json!("3.33")),
            ("resident_evaluations", json!(3)),
        ],
    );
    let child = |name: &str| {
        f["children"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["name"] == name)
            .unwrap()
            .clone()
    };
    expect(
        &child("金山街道"),
        &[
            ("total", json!(4)),
            ("planned", json!(1)),
            ("done", json!(3)),
            ("evaluated_percent", json!("66.7%")),
            ("party_org_mean", json!("3.00")),
            ("resident_mean", json!("3.33")),
        ],
    );
    expect(
        &child("仓山镇"),
        &[
            ("total", json!(3)),
            ("rejected", json!(1)),
            ("cancelled", json!(1)),
            ("in_progress", json!(1)),
            ("done", json!(0)),
            ("evaluated_percent", Value::Null),
            ("party_org_mean", Value::Null),
            ("resident_mean", Value::Null),
        ],
    );
    let agency = |id: i64| {
        f["agencies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["id"] == id)
            .unwrap()
            .clone()
    };
    let a_line = [
        ("total", json!(5)),
        ("done", json!(2)),
        ("evaluated", json!(1)),
        ("evaluated_percent", json!("50.0%")),
        ("party_org_mean", json!("4.00")),
        // (5 + 2) / 2
        ("resident_mean", json!("3.50")),
    ];
    expect(&agency(ag.a), &a_line);
    expect(
        &agency(ag.b),
        &[
            ("total", json!(2)),
            ("planned", json!(1)),
            ("done", json!(1)),
            ("evaluated_percent", json!("100.0%")),
            ("party_org_mean", json!("2.00")),
            ("resident_mean", json!("3.00")),
        ],
    );
    let (s, f) = call(
        &app,
        p.agency_a,
        Method::GET,
        &format!("/api/v1/agencies/{}/project-figures", ag.a),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{f}");
    expect(&f, &a_line);
    // The street's figures hold only its own projects, by community.
    let (_, f) = call(
        &app,
        p.street,
        Method::GET,
        &format!("/api/v1/places/{}/project-figures", t.street),
        "",
    )
    .await;
    expect(&f, &[("total", json!(4)), ("resident_mean", json!("3.33"))]);
    assert_eq!(f["children"][0]["name"], "金山社区");
    assert_eq!(f["children"][0]["total"], 4);
    assert_eq!(f["agencies"].as_array().unwrap().len(), 2);
}

#[db_test]
async fn pages_show_needs_projects_and_forms_in_both_languages(db: TestDb) {
    let (app, t, p, ag, _dir) = setup(db).await;
    let c = t.compound.compound;
    let secretary = app.client(p.secretary).await;

    // The secretary states a need from the compound's page.
    let page = secretary.get(&format!("/places/{c}/projects")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("登记新需求"), "{}", page.text());
    let r = secretary
        .form(
            &format!("/places/{c}/needs"),
            &[("category", "health"), ("description", "需要健康义诊")],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let r = secretary
        .form(
            &format!("/places/{c}/needs"),
            &[("category", "health"), ("description", "无令牌")],
            false,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // An unknown or missing category is refused, not stored as "other".
    for fields in [
        vec![("category", "flying"), ("description", "类别不明")],
        vec![("description", "没有类别")],
    ] {
        let r = secretary
            .form(&format!("/places/{c}/needs"), &fields, true)
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
        assert!(r.text().contains("类别"), "{}", r.text());
    }
    // Someone outside the compound learns nothing from a bad category.
    let r = app
        .client(p.other_street)
        .await
        .form(
            &format!("/places/{c}/needs"),
            &[("category", "flying"), ("description", "x")],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(count!(app, compound_need::Entity), 1);
    let n = compound_need::Entity::find()
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap()
        .id;

    // The agency's admin finds the need on the list page and sets a project.
    let agency = app.client(p.agency_a).await;
    let list = agency.get("/projects").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.text().contains("设立新项目"));
    assert!(list.text().contains("需要健康义诊"), "{}", list.text());
    let r = agency
        .form(
            "/projects",
            &[
                ("choice", &format!("{}-{c}-{n}", ag.a)),
                ("title", "健康义诊进小区"),
                ("plan", "每季度一次义诊"),
                ("planned_start", "2026-03-01"),
                ("planned_end", "2026-12-31"),
            ],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let id = r
        .header("location")
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .parse::<i64>()
        .unwrap();

    // The street approves from the project's page; the agency starts it,
    // posts an update and completes it from theirs.
    let street = app.client(p.street).await;
    let page = street.get(&format!("/projects/{id}")).await;
    assert!(page.text().contains("待街道审核"), "{}", page.text());
    assert!(page.text().contains("退回修改"));
    let r = street
        .form(
            &format!("/projects/{id}/act"),
            &[("action", "approve"), ("reason", "")],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let r = agency
        .form(&format!("/projects/{id}/act"), &[("action", "start")], true)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let page = agency.get(&format!("/projects/{id}")).await;
    assert!(page.text().contains("发布进展"), "{}", page.text());
    let r = post_update(
        &agency,
        id,
        &[("happened_on", &today()), ("body", "首场义诊服务 60 人")],
        &[JPEG],
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = agency
        .form(
            &format!("/projects/{id}/act"),
            &[("action", "complete"), ("summary", "全年义诊 4 场")],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());

    // A resident evaluates from the page, in Chinese and in English.
    let resident = app.client(p.resident).await;
    let zh = resident.get(&format!("/projects/{id}")).await;
    assert_eq!(zh.status, StatusCode::OK);
    let text = zh.text();
    assert!(text.contains("已完成"));
    assert!(text.contains("首场义诊服务 60 人"));
    assert!(text.contains("居民评议（本户）"), "{text}");
    assert!(!text.contains("agency-a"), "residents do not see who acted");
    let en = resident.get_en(&format!("/projects/{id}")).await;
    assert!(en.text().contains("Done"));
    assert!(en.text().contains("Evaluate"));
    let r = resident
        .form(
            &format!("/projects/{id}/evaluate"),
            &[
                ("evaluator", "resident"),
                ("score", "4"),
                ("comment", "很好"),
            ],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let again = resident
        .form(&format!("/projects/{id}/evaluate"), &[("score", "4")], true)
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(has_cjk(&again.text()));

    // The lists and figures in both languages.
    let zh = app.client(p.district).await.get("/projects").await;
    assert!(zh.text().contains("党建共建项目"));
    assert!(zh.text().contains("仓山区项目统计"), "{}", zh.text());
    assert!(zh.text().contains("健康义诊进小区"));
    let en = app.client(p.district).await.get_en("/projects").await;
    assert!(en.text().contains("Party-building projects"));
    assert!(
        en.text().contains("Residents&#39; mean score")
            || en.text().contains("Residents' mean score")
    );
    let filtered = app
        .client(p.district)
        .await
        .get("/projects?state=planned")
        .await;
    assert!(!filtered.text().contains("健康义诊进小区"));
    let compound = app
        .client(p.resident)
        .await
        .get_en(&format!("/places/{c}/projects"))
        .await;
    assert!(
        compound.text().contains("The compound&#39;s needs")
            || compound.text().contains("The compound's needs")
    );
    assert!(compound.text().contains("健康义诊进小区"));
    assert!(!compound.text().contains("State a need"));

    // The need is withdrawn from the page.
    let r = secretary
        .form(&format!("/needs/{n}/withdraw"), &[], true)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let page = secretary.get(&format!("/places/{c}/projects")).await;
    assert!(page.text().contains("撤回于"));
}

/// A household with two homes in the compound evaluates from the page once
/// for each: the form goes to the first home not yet evaluated.
#[db_test]
async fn a_household_with_two_homes_evaluates_each_from_the_page(db: TestDb) {
    use sea_orm::ActiveModelTrait;
    let (app, t, p, _ag, _dir) = setup(db).await;
    let c = t.compound.compound;
    let second = place::Entity::find_by_id(t.compound.dwellings[1])
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    jinlin_kernel::auth::entity::role_grant::ActiveModel {
        account_id: Set(p.resident),
        role: Set(Role::Resident.as_str().into()),
        place_id: Set(second.id),
        district_code: Set(second.district_code.clone()),
        granted_by: Set(None),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(app.db.db.conn())
    .await
    .unwrap();
    let n = need(&app, p.secretary, c, "楼道照明不足").await;
    let id = new_project(&app, p.agency_a, c, n, "楼道亮灯").await;
    ok_act(&app, p.street, id, r#"{"action": "approve"}"#).await;
    ok_act(&app, p.agency_a, id, r#"{"action": "start"}"#).await;
    ok_act(
        &app,
        p.agency_a,
        id,
        r#"{"action": "complete", "summary": "更换楼道灯 24 盏。"}"#,
    )
    .await;
    let resident = app.client(p.resident).await;
    for score in ["4", "5"] {
        let r = resident
            .form(
                &format!("/projects/{id}/evaluate"),
                &[("evaluator", "resident"), ("score", score)],
                true,
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    }
    let mut homes: Vec<Option<i64>> = project_evaluation::Entity::find()
        .all(app.db.db.conn())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.dwelling_id)
        .collect();
    homes.sort();
    assert_eq!(
        homes,
        vec![Some(t.compound.dwellings[0]), Some(t.compound.dwellings[1])]
    );
    // Both homes done: a third answers 409.
    let again = resident
        .form(&format!("/projects/{id}/evaluate"), &[("score", "3")], true)
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
}

#[db_test]
async fn the_openapi_document_lists_the_project_routes(db: TestDb) {
    let app = TestApp::new(db);
    let doc = app.get("/api/v1/openapi.json").await.json();
    for (path, method) in [
        ("/api/v1/places/{id}/needs", "get"),
        ("/api/v1/places/{id}/needs", "post"),
        ("/api/v1/needs/{id}", "delete"),
        ("/api/v1/projects", "get"),
        ("/api/v1/projects", "post"),
        ("/api/v1/projects/{id}", "get"),
        ("/api/v1/projects/{id}", "put"),
        ("/api/v1/projects/{id}/actions", "post"),
        ("/api/v1/projects/{id}/updates", "post"),
        ("/api/v1/projects/{id}/photos/{photo_id}", "get"),
        ("/api/v1/projects/{id}/evaluations", "post"),
        ("/api/v1/places/{id}/project-figures", "get"),
        ("/api/v1/agencies/{id}/project-figures", "get"),
    ] {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path}");
        assert_eq!(op["tags"][0], "projects", "{method} {path}");
    }
    assert!(doc["components"]["schemas"]["ProjectView"].is_object());
    assert!(doc["components"]["schemas"]["PlaceProjectFigures"].is_object());
    // Schema names of their own: nothing of another capability is overwritten.
    let schemas = &doc["components"]["schemas"];
    assert!(schemas["NewProjectEvaluation"]["properties"]["score"].is_object());
    assert!(schemas["NewEvaluation"]["properties"]["satisfied"].is_object());
    assert!(schemas["ProjectState"]["enum"].is_array());
}

/// Two evaluations by one household at once: one is stored, the other
/// answers 409.
#[db_test]
async fn one_household_evaluates_once_even_at_the_same_moment(db: TestDb) {
    let (app, t, p, _ag, _dir) = setup(db).await;
    let c = t.compound.compound;
    let n = need(&app, p.secretary, c, "并发").await;
    let id = new_project(&app, p.agency_a, c, n, "并发评议").await;
    ok_act(&app, p.street, id, r#"{"action": "approve"}"#).await;
    ok_act(&app, p.agency_a, id, r#"{"action": "start"}"#).await;
    ok_act(
        &app,
        p.agency_a,
        id,
        r#"{"action": "complete", "summary": "完成"}"#,
    )
    .await;
    // A second account of the same dwelling.
    let spouse = account(
        &app.db.db,
        "spouse",
        Role::Resident,
        t.compound.dwellings[0],
    )
    .await;
    let c1 = app.client(p.resident).await;
    let c2 = app.client(spouse).await;
    let path = format!("/api/v1/projects/{id}/evaluations");
    let (x, y) = tokio::join!(
        c1.json(Method::POST, &path, r#"{"score": 5}"#),
        c2.json(Method::POST, &path, r#"{"score": 3}"#)
    );
    let mut statuses = [x.status, y.status];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::CREATED, StatusCode::CONFLICT],
        "{} {}",
        x.text(),
        y.text()
    );
    assert_eq!(count!(app, project_evaluation::Entity), 1);
}

#[db_test]
async fn the_demo_fills_paired_compounds_and_waits_for_pairings(db: TestDb) {
    let t = tree(&db.db).await;
    let conn = db.db.conn();
    // Without any pairing nothing is written.
    assert_eq!(jinlin_projects::demo::seed_demo(conn).await.unwrap(), 0);
    let app = TestApp::new(db);
    let d = &app.db.db;
    let district = account(d, "district", Role::DistrictAdmin, t.district).await;
    account(d, "street", Role::StreetAdmin, t.street).await;
    account(d, "secretary", Role::CompoundSecretary, t.compound.compound).await;
    account(d, "resident", Role::Resident, t.compound.dwellings[0]).await;
    let agency_admin = account(d, "agency", Role::AgencyAdmin, t.district).await;
    let p = People {
        district,
        street: 0,
        other_street: 0,
        worker: 0,
        secretary: 0,
        secretary_n: 0,
        committee: 0,
        resident: 0,
        member: 0,
        resident_n: 0,
        far_district: 0,
        agency_a: agency_admin,
        agency_b: 0,
    };
    let a = new_agency(&app, &p, &t, "区民政局", "civil_affairs").await;
    let b = new_agency(&app, &p, &t, "区卫健局", "health").await;
    link(&app, &p, a, agency_admin).await;
    pair(&app, district, b, t.far.compound).await;
    pair(&app, district, a, t.compound.compound).await;
    pair(&app, district, a, t.neighbour.compound).await;

    let tx = app.db.db.write().await.unwrap();
    let written = jinlin_projects::demo::seed_demo(&tx).await.unwrap();
    tx.commit().await.unwrap();
    assert!(written > 0);
    let projects = project::Entity::find()
        .order_by_asc(project::Column::Id)
        .all(app.db.db.conn())
        .await
        .unwrap();
    assert_eq!(projects.len(), 3);
    // The administered agency's compounds come first.
    assert_eq!(projects[0].agency_id, a);
    assert_eq!(projects[0].compound_id, t.compound.compound);
    let states: Vec<&str> = projects.iter().map(|p| p.state.as_str()).collect();
    assert_eq!(states, ["done", "in_progress", "approved"]);
    // The evaluated project has the secretary's and the resident's scores.
    let evaluations = project_evaluation::Entity::find()
        .filter(project_evaluation::Column::ProjectId.eq(projects[0].id))
        .all(app.db.db.conn())
        .await
        .unwrap();
    assert_eq!(evaluations.len(), 2);
    assert!(count!(app, project_update::Entity) >= 3);
    // The demo agency admin sees its projects through the API, with figures.
    let (s, list) = call(&app, agency_admin, Method::GET, "/api/v1/projects", "").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 2);
    let (_, f) = call(
        &app,
        district,
        Method::GET,
        &format!("/api/v1/places/{}/project-figures", t.district),
        "",
    )
    .await;
    assert_eq!(f["total"], 3);
    assert_eq!(f["evaluated"], 1);
    // A second run writes nothing.
    assert_eq!(
        jinlin_projects::demo::seed_demo(app.db.db.conn())
            .await
            .unwrap(),
        0
    );
}
