//! Tests of in-service party members: the journey from dual reporting
//! through the three ones and service records to points, the employer's
//! view and the figures; who may do what on every route; refused input
//! that stores nothing; the pages in both languages.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use chrono::Utc;
use jinlin_in_service::entity::{
    service_points_scheme, service_record, service_report, three_ones,
};
use jinlin_kernel::auth::Role;
use jinlin_kernel::auth::entity::account;
use jinlin_kernel::place::entity as place;
use jinlin_testkit::fixtures::{Tree, account, far_district, tree};
use jinlin_testkit::{TestDb, db_test};
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::support::{TestApp, api_error, has_cjk};

struct People {
    district: i64,
    street: i64,
    other_street: i64,
    worker: i64,
    secretary: i64,
    secretary_n: i64,
    secretary_far: i64,
    resident: i64,
    /// A party member living in 金山花园, on agency A's list by account.
    member: i64,
    /// A party member living in 榕城小区, on agency A's list by person.
    member_n: i64,
    /// A district admin of another district.
    far_district: i64,
    agency_a: i64,
    agency_b: i64,
}

struct Agencies {
    /// 区住建局, paired with 城门小区.
    a: i64,
    /// 区卫健局, paired with nothing, without members.
    b: i64,
}

macro_rules! count {
    ($app:expr, $entity:ty) => {
        <$entity>::find().count($app.db.db.conn()).await.unwrap()
    };
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

/// A call that must answer `status`; returns the body.
async fn ok(
    app: &TestApp,
    who: i64,
    method: Method,
    path: &str,
    body: &str,
    status: StatusCode,
) -> Value {
    let (s, v) = call(app, who, method.clone(), path, body).await;
    assert_eq!(s, status, "{method} {path} {body}: {v}");
    v
}

async fn setup(db: TestDb) -> (TestApp, Tree, People, Agencies) {
    let t = tree(&db.db).await;
    let now = Utc::now();
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
        secretary_far: account(d, "secretary-far", Role::CompoundSecretary, t.far.compound).await,
        resident: account(d, "resident", Role::Resident, t.compound.dwellings[0]).await,
        member: account(d, "member", Role::PartyMember, t.compound.dwellings[1]).await,
        member_n: account(d, "member-n", Role::PartyMember, t.neighbour.dwellings[0]).await,
        far_district: account(d, "far-district", Role::DistrictAdmin, other).await,
        agency_a: account(d, "agency-a", Role::AgencyAdmin, t.district).await,
        agency_b: account(d, "agency-b", Role::AgencyAdmin, t.district).await,
    };
    // member-n's account is linked to a person, the way the seed links them.
    let person = jinlin_people::entity::person::ActiveModel {
        district_code: Set(Some("350104".into())),
        name: Set("陈在职".into()),
        party_member: Set(true),
        employer: Set(Some("区住建局".into())),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db.db.conn())
    .await
    .unwrap();
    account::ActiveModel {
        id: Set(p.member_n),
        person_id: Set(Some(person.id)),
        ..Default::default()
    }
    .update(db.db.conn())
    .await
    .unwrap();
    let app = TestApp::new(db);

    let mut ids = Vec::new();
    for (name, category) in [("区住建局", "housing"), ("区卫健局", "health")] {
        let v = ok(
            &app,
            p.district,
            Method::POST,
            "/api/v1/agencies",
            &format!(
                r#"{{"district_id": {}, "name": "{name}", "category": "{category}", "party_org_name": "{name}机关党支部"}}"#,
                t.district
            ),
            StatusCode::CREATED,
        )
        .await;
        ids.push(v["id"].as_i64().unwrap());
    }
    let g = Agencies {
        a: ids[0],
        b: ids[1],
    };
    for (agency, admin) in [(g.a, p.agency_a), (g.b, p.agency_b)] {
        ok(
            &app,
            p.district,
            Method::POST,
            &format!("/api/v1/agencies/{agency}/accounts"),
            &format!(r#"{{"account_id": {admin}}}"#),
            StatusCode::NO_CONTENT,
        )
        .await;
    }
    ok(
        &app,
        p.district,
        Method::POST,
        &format!("/api/v1/agencies/{}/pairings", g.a),
        &format!(r#"{{"compound_id": {}}}"#, t.far.compound),
        StatusCode::CREATED,
    )
    .await;
    for body in [
        format!(
            r#"{{"name": "林在职", "role": "member", "account_id": {}}}"#,
            p.member
        ),
        format!(
            r#"{{"name": "陈在职", "role": "member", "person_id": {}}}"#,
            person.id
        ),
    ] {
        ok(
            &app,
            p.agency_a,
            Method::POST,
            &format!("/api/v1/agencies/{}/members", g.a),
            &body,
            StatusCode::CREATED,
        )
        .await;
    }
    (app, t, p, g)
}

async fn report(app: &TestApp, who: i64, kind: &str, compound: i64) -> (StatusCode, Value) {
    call(
        app,
        who,
        Method::POST,
        "/api/v1/in-service/reports",
        &format!(r#"{{"kind": "{kind}", "compound_id": {compound}}}"#),
    )
    .await
}

async fn reported(app: &TestApp, who: i64, kind: &str, compound: i64) -> i64 {
    let (s, v) = report(app, who, kind, compound).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_i64().unwrap()
}

async fn confirm_report(app: &TestApp, who: i64, id: i64) {
    let v = ok(
        app,
        who,
        Method::POST,
        &format!("/api/v1/in-service/reports/{id}/confirm"),
        "",
        StatusCode::OK,
    )
    .await;
    assert_eq!(v["state"], "confirmed");
}

async fn take(app: &TestApp, who: i64, body: &str) -> (StatusCode, Value) {
    call(
        app,
        who,
        Method::POST,
        "/api/v1/in-service/three-ones",
        body,
    )
    .await
}

fn today() -> String {
    jinlin_in_service::rules::china_today(Utc::now())
        .format("%Y-%m-%d")
        .to_string()
}

fn record_body(compound: i64, hours: &str, kind: &str, matter: Option<i64>) -> String {
    let matter = matter.map_or("null".to_string(), |m| m.to_string());
    format!(
        r#"{{"compound_id": {compound}, "served_on": "{}", "hours": {hours}, "kind": "{kind}",
            "activity": "清理楼道杂物，劝导规范停车", "matter_id": {matter}}}"#,
        today()
    )
}

async fn record(app: &TestApp, who: i64, body: &str) -> (StatusCode, Value) {
    call(
        app,
        who,
        Method::POST,
        "/api/v1/in-service/service-records",
        body,
    )
    .await
}

async fn recorded(app: &TestApp, who: i64, body: &str) -> i64 {
    let (s, v) = record(app, who, body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_i64().unwrap()
}

/// A public matter of 金山花园 raised by its resident.
async fn matter(app: &TestApp, p: &People, t: &Tree) -> i64 {
    ok(
        app,
        p.resident,
        Method::POST,
        "/api/v1/resident-matters",
        &format!(
            r#"{{"category": "parking", "title": "消防通道被占用", "description": "北侧消防通道长期停车。",
                "place_id": {}, "public": true}}"#,
            t.compound.compound
        ),
        StatusCode::CREATED,
    )
    .await["id"]
        .as_i64()
        .unwrap()
}

/// Figures compared field by field with values counted by hand.
fn assert_figure(v: &Value, expected: Value) {
    for (k, want) in expected.as_object().unwrap() {
        assert_eq!(&v[k], want, "{k} of {}: {v}", v["name"]);
    }
}

fn find<'a>(list: &'a Value, key: &str, id: i64) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|x| x[key] == id)
        .unwrap_or_else(|| panic!("{key} {id} not in {list}"))
}

#[db_test]
async fn members_report_take_the_three_ones_serve_and_earn_points(db: TestDb) {
    let (app, t, p, g) = setup(db).await;

    // Dual reporting: where the member lives, and where the employer is paired.
    let home = reported(&app, p.member, "residence", t.compound.compound).await;
    let (s, v) = call(
        &app,
        p.member,
        Method::POST,
        "/api/v1/in-service/reports",
        &format!(
            r#"{{"kind": "employer_pairing", "compound_id": {}}}"#,
            t.far.compound
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let work = v["id"].as_i64().unwrap();
    let home_n = reported(&app, p.member_n, "residence", t.neighbour.compound).await;
    // The secretaries hear of it.
    let (_, inbox) = call(&app, p.secretary, Method::GET, "/api/v1/notifications", "").await;
    assert!(
        inbox.to_string().contains("in_service.report_submitted"),
        "{inbox}"
    );

    // Each receiving compound's secretary confirms.
    confirm_report(&app, p.secretary, home).await;
    confirm_report(&app, p.secretary_far, work).await;
    confirm_report(&app, p.secretary_n, home_n).await;
    let (_, mine) = call(
        &app,
        p.member,
        Method::GET,
        "/api/v1/in-service/reports",
        "",
    )
    .await;
    let mine = mine.as_array().unwrap();
    assert_eq!(mine.len(), 2);
    let w = mine.iter().find(|r| r["id"] == work).unwrap();
    assert_eq!(w["agency_id"], g.a);
    assert_eq!(w["agency_name"], "区住建局");
    assert_eq!(w["compound_name"], "城门小区");

    // The three ones at home; a zone released and claimed again.
    for body in [
        r#"{"kind": "volunteer_team", "team_name": "萤火虫巡逻队"}"#.to_string(),
        format!(
            r#"{{"kind": "entrance", "entrance_id": {}}}"#,
            t.compound.entrance
        ),
        r#"{"kind": "zone", "zone": "1号楼前绿化带"}"#.to_string(),
    ] {
        let (s, v) = take(&app, p.member, &body).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let (_, ones) = call(
        &app,
        p.member,
        Method::GET,
        "/api/v1/in-service/three-ones",
        "",
    )
    .await;
    let zone = ones
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["kind"] == "zone")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let entrance = ones
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["kind"] == "entrance")
        .unwrap();
    assert_eq!(entrance["entrance_name"], "1号楼 1单元");
    ok(
        &app,
        p.member,
        Method::DELETE,
        &format!("/api/v1/in-service/three-ones/{zone}"),
        "",
        StatusCode::NO_CONTENT,
    )
    .await;
    let (s, v) = take(
        &app,
        p.member,
        r#"{"kind": "zone", "zone": "3号楼至5号楼绿化带"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(count!(app, three_ones::Entity), 4);

    // Service records, one coordinating a residents' matter of the compound.
    let m = matter(&app, &p, &t).await;
    let s1 = recorded(
        &app,
        p.member,
        &record_body(t.compound.compound, "2.5", "volunteer", None),
    )
    .await;
    let s2 = recorded(
        &app,
        p.member,
        &record_body(t.compound.compound, "1", "matter_coordination", Some(m)),
    )
    .await;
    for id in [s1, s2] {
        let v = ok(
            &app,
            p.secretary,
            Method::POST,
            &format!("/api/v1/in-service/service-records/{id}/confirm"),
            "",
            StatusCode::OK,
        )
        .await;
        assert_eq!(v["state"], "confirmed");
    }
    // By the default scheme (1 an activity, 2 an hour, 5 a matter):
    // 1 + 2 × 2.5 = 6 and 1 + 2 × 1 + 5 = 8.
    let (_, list) = call(
        &app,
        p.member,
        Method::GET,
        "/api/v1/in-service/service-records",
        "",
    )
    .await;
    assert_eq!(find(&list, "id", s1)["points"], 6.0);
    assert_eq!(find(&list, "id", s2)["points"], 8.0);
    assert_eq!(find(&list, "id", s2)["matter_title"], "消防通道被占用");

    // The district sets its own scheme; records confirmed before keep theirs.
    let (s, v) = call(
        &app,
        p.district,
        Method::GET,
        &format!("/api/v1/places/{}/service-points-scheme", t.district),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["is_default"], true);
    assert_eq!(v["per_hour"], 2);
    let v = ok(
        &app,
        p.district,
        Method::PUT,
        &format!("/api/v1/places/{}/service-points-scheme", t.district),
        r#"{"per_hour": 4, "per_matter": 10, "per_activity": 0}"#,
        StatusCode::OK,
    )
    .await;
    assert_eq!(v["is_default"], false);
    let s3 = recorded(
        &app,
        p.member,
        &record_body(t.far.compound, "1.5", "patrol", None),
    )
    .await;
    ok(
        &app,
        p.secretary_far,
        Method::POST,
        &format!("/api/v1/in-service/service-records/{s3}/confirm"),
        "",
        StatusCode::OK,
    )
    .await;
    let s4 = recorded(
        &app,
        p.member_n,
        &record_body(t.neighbour.compound, "1", "other", None),
    )
    .await;
    let v = ok(
        &app,
        p.secretary_n,
        Method::POST,
        &format!("/api/v1/in-service/service-records/{s4}/refuse"),
        r#"{"reason": "当天未见到服务记录"}"#,
        StatusCode::OK,
    )
    .await;
    assert_eq!(v["state"], "refused");
    assert_eq!(v["points"], Value::Null);
    let (_, list) = call(
        &app,
        p.member,
        Method::GET,
        "/api/v1/in-service/service-records",
        "",
    )
    .await;
    // 4 × 1.5 = 6 by the new scheme; the first two unchanged.
    assert_eq!(find(&list, "id", s3)["points"], 6.0);
    assert_eq!(find(&list, "id", s1)["points"], 6.0);

    // The employer's view: agency A's members, read only.
    let v = ok(
        &app,
        p.agency_a,
        Method::GET,
        &format!("/api/v1/agencies/{}/in-service", g.a),
        "",
        StatusCode::OK,
    )
    .await;
    let members = &v["members"];
    assert_eq!(members.as_array().unwrap().len(), 2);
    // The work side in full: the pairing report and the record at 城门小区.
    let m1 = find(members, "account_id", p.member);
    assert_eq!(m1["reports"].as_array().unwrap().len(), 1);
    assert_eq!(m1["reports"][0]["id"], work);
    assert_eq!(m1["records"].as_array().unwrap().len(), 1);
    assert_eq!(m1["records"][0]["id"], s3);
    // The home side only as counts; totals over home and work.
    assert_eq!(m1["residence_confirmed"], true);
    assert_eq!(m1["three_ones_held"], 3);
    assert_eq!(m1["hours"], 5.0);
    assert_eq!(m1["points"], 20.0);
    assert!(m1.get("ones").is_none(), "{m1}");
    let m2 = find(members, "account_id", p.member_n);
    assert_eq!(m2["residence_confirmed"], true);
    assert_eq!(m2["three_ones_held"], 0);
    assert_eq!(m2["reports"], json!([]));
    assert_eq!(m2["records"], json!([]));
    assert_eq!(m2["points"], 0.0);
    // Neither the agency's admin nor, through this view, the district's
    // learns where the members live or what they do there.
    for who in [p.agency_a, p.district] {
        let v = ok(
            &app,
            who,
            Method::GET,
            &format!("/api/v1/agencies/{}/in-service", g.a),
            "",
            StatusCode::OK,
        )
        .await;
        let text = v["members"].to_string();
        for secret in ["金山花园", "榕城小区", "绿化带", "萤火虫", "1单元"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }
    // The agency admin's lists are narrowed the same way.
    let (_, seen) = call(
        &app,
        p.agency_a,
        Method::GET,
        "/api/v1/in-service/reports",
        "",
    )
    .await;
    let seen: Vec<i64> = seen
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(seen, vec![work]);
    let (_, seen) = call(
        &app,
        p.agency_a,
        Method::GET,
        "/api/v1/in-service/three-ones",
        "",
    )
    .await;
    assert_eq!(seen, json!([]));
    let (_, seen) = call(
        &app,
        p.agency_a,
        Method::GET,
        "/api/v1/in-service/service-records",
        "",
    )
    .await;
    let seen: Vec<i64> = seen
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(seen, vec![s3]);
    let (s, _) = call(
        &app,
        p.agency_a,
        Method::POST,
        &format!("/api/v1/in-service/service-records/{s1}/confirm"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, seen) = call(
        &app,
        p.agency_b,
        Method::GET,
        "/api/v1/in-service/reports",
        "",
    )
    .await;
    assert_eq!(seen, json!([]));

    // The compound's list: who is reported and what each lacks.
    let v = ok(
        &app,
        p.secretary_n,
        Method::GET,
        &format!("/api/v1/places/{}/in-service", t.neighbour.compound),
        "",
        StatusCode::OK,
    )
    .await;
    assert_eq!(v["residents"][0]["account_id"], p.member_n);
    assert_eq!(v["residents"][0]["completion"], "none");
    assert_eq!(v["residents"][0]["lacking"].as_array().unwrap().len(), 3);
    assert_eq!(v["can_confirm"], true);

    // Figures, counted by hand (see the numbers above).
    let f = ok(
        &app,
        p.district,
        Method::GET,
        &format!("/api/v1/places/{}/in-service-figures", t.district),
        "",
        StatusCode::OK,
    )
    .await;
    assert_figure(
        &f,
        json!({
            "members_reported": 2, "residence_reports": 2, "employer_reports": 1,
            "pending_reports": 0, "three_ones_all": 1, "three_ones_some": 0, "three_ones_none": 1,
            "three_ones_all_percent": "50.0%", "records": 3, "pending_records": 0,
            "matters_coordinated": 1, "hours": 5.0, "points": 20.0
        }),
    );
    assert_figure(
        find(&f["children"], "place_id", t.street),
        json!({
            "members_reported": 2, "residence_reports": 2, "employer_reports": 0,
            "three_ones_all": 1, "records": 2, "matters_coordinated": 1, "hours": 3.5, "points": 14.0
        }),
    );
    assert_figure(
        find(&f["children"], "place_id", t.other_street),
        json!({
            "members_reported": 1, "residence_reports": 0, "employer_reports": 1,
            "three_ones_all": 0, "three_ones_none": 0, "records": 1, "hours": 1.5, "points": 6.0
        }),
    );
    assert_eq!(f["agencies"].as_array().unwrap().len(), 1);
    assert_figure(
        find(&f["agencies"], "agency_id", g.a),
        json!({
            "name": "区住建局", "members_reported": 2, "residence_reports": 2,
            "employer_reports": 1, "three_ones_all": 1, "three_ones_none": 1, "points": 20.0
        }),
    );
    let f = ok(
        &app,
        p.worker,
        Method::GET,
        &format!("/api/v1/places/{}/in-service-figures", t.community),
        "",
        StatusCode::OK,
    )
    .await;
    assert_figure(
        find(&f["children"], "place_id", t.compound.compound),
        json!({"members_reported": 1, "three_ones_all": 1, "records": 2, "hours": 3.5, "points": 14.0}),
    );
    assert_figure(
        find(&f["children"], "place_id", t.neighbour.compound),
        json!({"members_reported": 1, "three_ones_none": 1, "records": 0, "hours": 0.0}),
    );
    let f = ok(
        &app,
        p.secretary_far,
        Method::GET,
        &format!("/api/v1/places/{}/in-service-figures", t.far.compound),
        "",
        StatusCode::OK,
    )
    .await;
    assert_figure(
        &f,
        json!({"members_reported": 1, "employer_reports": 1, "records": 1, "points": 6.0}),
    );

    // Withdrawing the residence report releases the ones resting on it.
    let v = ok(
        &app,
        p.member,
        Method::POST,
        &format!("/api/v1/in-service/reports/{home}/withdraw"),
        "",
        StatusCode::OK,
    )
    .await;
    assert_eq!(v["state"], "withdrawn");
    let (_, ones) = call(
        &app,
        p.member,
        Method::GET,
        "/api/v1/in-service/three-ones",
        "",
    )
    .await;
    assert_eq!(ones, json!([]));
    // A fresh residence report can follow the withdrawn one.
    reported(&app, p.member, "residence", t.compound.compound).await;
    assert_eq!(count!(app, service_report::Entity), 4);
}

/// Every route: anonymous 401, outside the scope 404, inside without the
/// power 403; refusals store nothing.
#[db_test]
async fn every_route_answers_by_scope_and_role(db: TestDb) {
    let (app, t, p, g) = setup(db).await;
    let home = reported(&app, p.member, "residence", t.compound.compound).await;
    let pending = reported(&app, p.member_n, "residence", t.neighbour.compound).await;
    confirm_report(&app, p.secretary, home).await;
    let (_, v) = take(&app, p.member, r#"{"kind": "zone", "zone": "2号楼门前"}"#).await;
    let one = v["id"].as_i64().unwrap();
    let rec = recorded(
        &app,
        p.member,
        &record_body(t.compound.compound, "1", "volunteer", None),
    )
    .await;

    let report_body = format!(
        r#"{{"kind": "residence", "compound_id": {}}}"#,
        t.compound.compound
    );
    let one_body = r#"{"kind": "volunteer_team", "team_name": "舞蹈队"}"#;
    let record_b = record_body(t.compound.compound, "1", "volunteer", None);
    let refuse = r#"{"reason": "信息不实"}"#;
    let scheme = r#"{"per_hour": 3, "per_matter": 6, "per_activity": 1}"#;

    struct Case<'a> {
        method: Method,
        path: String,
        body: &'a str,
        outside: Vec<i64>,
        powerless: Vec<i64>,
    }
    let c = t.compound.compound;
    let cases = vec![
        Case {
            method: Method::GET,
            path: "/api/v1/in-service/reports".into(),
            body: "",
            outside: vec![],
            powerless: vec![],
        },
        Case {
            method: Method::POST,
            path: "/api/v1/in-service/reports".into(),
            body: &report_body,
            outside: vec![],
            powerless: vec![p.resident, p.secretary],
        },
        Case {
            method: Method::POST,
            path: format!("/api/v1/in-service/reports/{pending}/confirm"),
            body: "",
            outside: vec![
                p.other_street,
                p.secretary,
                p.resident,
                p.agency_b,
                p.agency_a,
            ],
            powerless: vec![p.worker, p.member_n],
        },
        Case {
            method: Method::POST,
            path: format!("/api/v1/in-service/reports/{pending}/refuse"),
            body: refuse,
            outside: vec![p.other_street, p.secretary],
            powerless: vec![p.street, p.member_n],
        },
        Case {
            method: Method::POST,
            path: format!("/api/v1/in-service/reports/{home}/withdraw"),
            body: "",
            outside: vec![p.other_street, p.secretary_n, p.member_n, p.agency_a],
            powerless: vec![p.secretary, p.district],
        },
        Case {
            method: Method::GET,
            path: "/api/v1/in-service/three-ones".into(),
            body: "",
            outside: vec![],
            powerless: vec![],
        },
        Case {
            method: Method::POST,
            path: "/api/v1/in-service/three-ones".into(),
            body: one_body,
            outside: vec![],
            powerless: vec![p.resident, p.worker],
        },
        Case {
            method: Method::DELETE,
            path: format!("/api/v1/in-service/three-ones/{one}"),
            body: "",
            outside: vec![p.other_street, p.secretary_n, p.resident, p.agency_a],
            powerless: vec![p.worker],
        },
        Case {
            method: Method::GET,
            path: "/api/v1/in-service/service-records".into(),
            body: "",
            outside: vec![],
            powerless: vec![],
        },
        Case {
            method: Method::POST,
            path: "/api/v1/in-service/service-records".into(),
            body: &record_b,
            outside: vec![],
            powerless: vec![p.resident, p.street],
        },
        Case {
            method: Method::POST,
            path: format!("/api/v1/in-service/service-records/{rec}/confirm"),
            body: "",
            outside: vec![p.other_street, p.secretary_n, p.agency_a],
            powerless: vec![p.worker, p.member],
        },
        Case {
            method: Method::POST,
            path: format!("/api/v1/in-service/service-records/{rec}/refuse"),
            body: refuse,
            outside: vec![p.other_street, p.member_n],
            powerless: vec![p.district, p.member],
        },
        Case {
            method: Method::GET,
            path: format!("/api/v1/places/{c}/in-service"),
            body: "",
            outside: vec![p.other_street, p.secretary_n, p.far_district],
            powerless: vec![p.resident, p.member],
        },
        Case {
            method: Method::GET,
            path: format!("/api/v1/agencies/{}/in-service", g.a),
            body: "",
            outside: vec![p.far_district],
            powerless: vec![p.street, p.agency_b, p.member],
        },
        Case {
            method: Method::GET,
            path: format!("/api/v1/places/{}/in-service-figures", t.street),
            body: "",
            outside: vec![p.other_street, p.far_district],
            powerless: vec![],
        },
        Case {
            method: Method::GET,
            path: format!("/api/v1/places/{c}/in-service-figures"),
            body: "",
            outside: vec![p.secretary_n],
            powerless: vec![p.resident, p.member],
        },
        Case {
            method: Method::GET,
            path: format!("/api/v1/places/{}/service-points-scheme", t.district),
            body: "",
            outside: vec![p.far_district],
            powerless: vec![],
        },
        Case {
            method: Method::PUT,
            path: format!("/api/v1/places/{}/service-points-scheme", t.district),
            body: scheme,
            outside: vec![p.far_district],
            powerless: vec![p.street, p.worker, p.secretary, p.agency_a, p.member],
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
            let (s, v) = call(&app, *who, case.method.clone(), &case.path, case.body).await;
            assert_eq!(
                s,
                StatusCode::NOT_FOUND,
                "outside {who} {} {}: {v}",
                case.method,
                case.path
            );
        }
        for who in &case.powerless {
            let (s, v) = call(&app, *who, case.method.clone(), &case.path, case.body).await;
            assert_eq!(
                s,
                StatusCode::FORBIDDEN,
                "powerless {who} {} {}: {v}",
                case.method,
                case.path
            );
        }
    }
    // Refusals stored and changed nothing.
    assert_eq!(count!(app, service_report::Entity), 2);
    assert_eq!(count!(app, three_ones::Entity), 1);
    assert_eq!(count!(app, service_record::Entity), 1);
    assert_eq!(count!(app, service_points_scheme::Entity), 0);
    let (_, list) = call(
        &app,
        p.district,
        Method::GET,
        "/api/v1/in-service/reports",
        "",
    )
    .await;
    assert_eq!(find(&list, "id", pending)["state"], "submitted");
    assert_eq!(find(&list, "id", home)["state"], "confirmed");

    // Lists follow the scope: nothing of 金山花园 outside it.
    for who in [
        p.other_street,
        p.far_district,
        p.resident,
        p.secretary_far,
        p.agency_b,
        // The agency's members' home side is not the employer's to read.
        p.agency_a,
    ] {
        for path in [
            "/api/v1/in-service/reports",
            "/api/v1/in-service/three-ones",
            "/api/v1/in-service/service-records",
        ] {
            let (_, v) = call(&app, who, Method::GET, path, "").await;
            assert_eq!(v, json!([]), "{who} {path}");
        }
    }
    let (_, v) = call(
        &app,
        p.secretary_n,
        Method::GET,
        "/api/v1/in-service/reports",
        "",
    )
    .await;
    assert_eq!(v.as_array().unwrap().len(), 1);
    let (_, v) = call(
        &app,
        p.worker,
        Method::GET,
        "/api/v1/in-service/reports?state=submitted",
        "",
    )
    .await;
    assert_eq!(v.as_array().unwrap().len(), 1);
    let (_, v) = call(
        &app,
        p.street,
        Method::GET,
        &format!("/api/v1/in-service/reports?compound_id={c}"),
        "",
    )
    .await;
    assert_eq!(v.as_array().unwrap().len(), 1);

    // And the allowed side of each write works.
    ok(
        &app,
        p.secretary,
        Method::POST,
        &format!("/api/v1/in-service/service-records/{rec}/refuse"),
        refuse,
        StatusCode::OK,
    )
    .await;
    ok(
        &app,
        p.secretary_n,
        Method::POST,
        &format!("/api/v1/in-service/reports/{pending}/refuse"),
        refuse,
        StatusCode::OK,
    )
    .await;
    // The secretary releases a member's one.
    ok(
        &app,
        p.secretary,
        Method::DELETE,
        &format!("/api/v1/in-service/three-ones/{one}"),
        "",
        StatusCode::NO_CONTENT,
    )
    .await;
    ok(
        &app,
        p.district,
        Method::PUT,
        &format!("/api/v1/places/{}/service-points-scheme", t.district),
        scheme,
        StatusCode::OK,
    )
    .await;
    let (_, v) = call(
        &app,
        p.resident,
        Method::GET,
        &format!("/api/v1/places/{}/service-points-scheme", t.district),
        "",
    )
    .await;
    assert_eq!(v["per_hour"], 3);
    assert_eq!(v["can_edit"], false);
    ok(
        &app,
        p.member,
        Method::POST,
        &format!("/api/v1/in-service/reports/{home}/withdraw"),
        "",
        StatusCode::OK,
    )
    .await;
    // A district admin reads the employer's view too.
    ok(
        &app,
        p.district,
        Method::GET,
        &format!("/api/v1/agencies/{}/in-service", g.a),
        "",
        StatusCode::OK,
    )
    .await;
}

#[db_test]
async fn bad_input_is_refused_with_a_message_and_nothing_stored(db: TestDb) {
    let (app, t, p, _) = setup(db).await;
    let c = t.compound.compound;

    // A residence report elsewhere, an employer report where the agency is
    // not paired, and one from a member of no agency.
    for (who, kind, compound, fragment) in [
        (p.member, "residence", t.neighbour.compound, "住房所在"),
        (
            p.member,
            "employer_pairing",
            t.neighbour.compound,
            "挂钩结对",
        ),
        (p.member, "employer_pairing", c, "挂钩结对"),
        (p.member, "residence", 999_999, "小区不存在"),
        (p.member, "residence", t.street, "小区不存在"),
    ] {
        let (s, v) = report(&app, who, kind, compound).await;
        assert_eq!(
            s,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{kind} {compound}: {v}"
        );
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.contains(fragment), "{msg}");
    }
    assert_eq!(count!(app, service_report::Entity), 0);

    // A duplicate report: 409, in Chinese, and once in English.
    let home = reported(&app, p.member, "residence", c).await;
    let (s, v) = report(&app, p.member, "residence", c).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(v["error"]["code"], "conflict");
    assert!(has_cjk(v["error"]["message"].as_str().unwrap()), "{v}");
    let client = app.client(p.member).await;
    let cookie = format!("{}; jinlin_lang=en", client.cookie);
    let r = app
        .request(
            Method::POST,
            "/api/v1/in-service/reports",
            &[
                ("cookie", &cookie),
                ("content-type", "application/json"),
                ("x-csrf-token", &client.csrf),
            ],
            Body::from(format!(r#"{{"kind": "residence", "compound_id": {c}}}"#)),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let (_, message) = api_error(&r);
    assert!(message.contains("already reported"), "{message}");
    assert_eq!(count!(app, service_report::Entity), 1);

    // The three ones wait for the confirmation; so do service records.
    let (s, v) = take(&app, p.member, r#"{"kind": "zone", "zone": "东门"}"#).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("确认"));
    let (s, v) = record(&app, p.member, &record_body(c, "1", "volunteer", None)).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    // Refusing needs a reason.
    let (s, v) = call(
        &app,
        p.secretary,
        Method::POST,
        &format!("/api/v1/in-service/reports/{home}/refuse"),
        r#"{"reason": "  "}"#,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    confirm_report(&app, p.secretary, home).await;
    // A second confirmation is refused.
    let (s, _) = call(
        &app,
        p.secretary,
        Method::POST,
        &format!("/api/v1/in-service/reports/{home}/confirm"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);

    // An entrance of another compound; a building instead of an entrance;
    // a one without its field.
    for (body, fragment) in [
        (
            format!(
                r#"{{"kind": "entrance", "entrance_id": {}}}"#,
                t.neighbour.entrance
            ),
            "不在您居住的小区",
        ),
        (
            format!(
                r#"{{"kind": "entrance", "entrance_id": {}}}"#,
                t.compound.building
            ),
            "不在您居住的小区",
        ),
        (r#"{"kind": "volunteer_team"}"#.to_string(), "服务队名称"),
        (r#"{"kind": "zone", "zone": " "}"#.to_string(), "责任区"),
    ] {
        let (s, v) = take(&app, p.member, &body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(fragment),
            "{v}"
        );
    }
    assert_eq!(count!(app, three_ones::Entity), 0);
    // A second one of a kind.
    let (s, _) = take(
        &app,
        p.member,
        r#"{"kind": "volunteer_team", "team_name": "舞蹈队"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = take(
        &app,
        p.member,
        r#"{"kind": "volunteer_team", "team_name": "萤火虫巡逻队"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("解除"),
        "{v}"
    );
    assert_eq!(count!(app, three_ones::Entity), 1);

    // Hours out of range or not in half hours, a day in the future, a
    // matter on a record of another kind, a matter of another compound.
    for hours in ["0", "0.25", "1.3", "24.5", "-2"] {
        let (s, v) = record(&app, p.member, &record_body(c, hours, "volunteer", None)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{hours}: {v}");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.contains("0.5 至 24 小时"), "{msg}");
    }
    let tomorrow = (jinlin_in_service::rules::china_today(Utc::now()) + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let (s, v) = record(
        &app,
        p.member,
        &record_body(c, "1", "volunteer", None).replace(&today(), &tomorrow),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("今天"));
    let m = matter(&app, &p, &t).await;
    let (s, v) = record(&app, p.member, &record_body(c, "1", "volunteer", Some(m))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = record(
        &app,
        p.member,
        &record_body(c, "1", "matter_coordination", Some(999_999)),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = record(
        &app,
        p.member,
        &record_body(t.far.compound, "1", "patrol", None),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (s, v) = record(
        &app,
        p.member,
        r#"{"compound_id": 1, "served_on": "昨天", "hours": 1, "kind": "other", "activity": "x"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(count!(app, service_record::Entity), 0);

    // A scheme out of range, and a scheme on a street.
    let (s, v) = call(
        &app,
        p.district,
        Method::PUT,
        &format!("/api/v1/places/{}/service-points-scheme", t.district),
        r#"{"per_hour": 101, "per_matter": 1, "per_activity": 1}"#,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("0 至 100"));
    let (s, _) = call(
        &app,
        p.district,
        Method::PUT,
        &format!("/api/v1/places/{}/service-points-scheme", t.street),
        r#"{"per_hour": 1, "per_matter": 1, "per_activity": 1}"#,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(count!(app, service_points_scheme::Entity), 0);
    // Figures of a building are not kept.
    let (s, _) = call(
        &app,
        p.district,
        Method::GET,
        &format!("/api/v1/places/{}/in-service-figures", t.compound.building),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

/// A secretary living in their own compound neither confirms nor refuses
/// their own report or record; the community worker above does instead.
#[db_test]
async fn a_secretary_does_not_decide_their_own_report_or_record(db: TestDb) {
    let (app, t, p, _) = setup(db).await;
    let c = t.compound.compound;
    let dwelling = place::Entity::find_by_id(t.compound.dwellings[0])
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    jinlin_kernel::auth::entity::role_grant::ActiveModel {
        account_id: Set(p.secretary),
        role: Set(Role::PartyMember.as_str().into()),
        place_id: Set(dwelling.id),
        district_code: Set(dwelling.district_code.clone()),
        granted_by: Set(None),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(app.db.db.conn())
    .await
    .unwrap();
    let own = reported(&app, p.secretary, "residence", c).await;
    for (action, body) in [("confirm", ""), ("refuse", r#"{"reason": "信息不实"}"#)] {
        let (s, v) = call(
            &app,
            p.secretary,
            Method::POST,
            &format!("/api/v1/in-service/reports/{own}/{action}"),
            body,
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("不能审核自己"),
            "{v}"
        );
    }
    // The compound page offers the worker the decision; the worker makes it.
    let page = app
        .client(p.worker)
        .await
        .get(&format!("/places/{c}/in-service"))
        .await;
    assert!(
        page.text()
            .contains(&format!("/in-service/reports/{own}/confirm")),
        "{}",
        page.text()
    );
    confirm_report(&app, p.worker, own).await;

    let rec = recorded(&app, p.secretary, &record_body(c, "1", "volunteer", None)).await;
    let (s, v) = call(
        &app,
        p.secretary,
        Method::POST,
        &format!("/api/v1/in-service/service-records/{rec}/confirm"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("不能审核自己"),
        "{v}"
    );
    let stored = service_record::Entity::find_by_id(rec)
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.state, "submitted");
    // Another compound's secretary has no such standing.
    let (s, _) = call(
        &app,
        p.secretary_n,
        Method::POST,
        &format!("/api/v1/in-service/service-records/{rec}/confirm"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let v = ok(
        &app,
        p.worker,
        Method::POST,
        &format!("/api/v1/in-service/service-records/{rec}/confirm"),
        "",
        StatusCode::OK,
    )
    .await;
    assert_eq!(v["state"], "confirmed");
}

/// A withdrawal holding the report's lock while a "one" is taken or a record
/// submitted: the taking waits for it and then finds the report withdrawn.
/// (On SQLite the write transaction holds the whole database, so the race
/// cannot arise; there the sequential path is checked.)
#[db_test]
async fn a_withdrawal_racing_a_take_or_record_leaves_nothing_resting_on_it(db: TestDb) {
    use sea_orm::ConnectionTrait;
    let (app, t, p, _) = setup(db).await;
    let c = t.compound.compound;
    let postgres = app.db.db.backend_name() == "postgres";
    for step in ["take", "record"] {
        let home = reported(&app, p.member, "residence", c).await;
        confirm_report(&app, p.secretary, home).await;
        let withdraw = format!(
            "UPDATE service_report SET state = 'withdrawn', withdrawn_at = CURRENT_TIMESTAMP \
             WHERE id = {home}"
        );
        let attempt = async {
            if step == "take" {
                take(&app, p.member, r#"{"kind": "zone", "zone": "东门"}"#).await
            } else {
                record(&app, p.member, &record_body(c, "1", "volunteer", None)).await
            }
        };
        let (s, v) = if postgres {
            let tx = app.db.db.write().await.unwrap();
            tx.execute_unprepared(&withdraw).await.unwrap();
            let commit = async {
                tokio::time::sleep(std::time::Duration::from_millis(400)).await;
                tx.commit().await.unwrap();
            };
            tokio::join!(commit, attempt).1
        } else {
            app.db
                .db
                .conn()
                .execute_unprepared(&withdraw)
                .await
                .unwrap();
            attempt.await
        };
        assert_eq!(s, StatusCode::CONFLICT, "{step}: {v}");
    }
    assert_eq!(count!(app, three_ones::Entity), 0);
    assert_eq!(count!(app, service_record::Entity), 0);
}

/// Once the pairing has ended, a pending employer-pairing report can no
/// longer be confirmed, and no record can be made under a confirmed one.
#[db_test]
async fn an_ended_pairing_takes_no_more_confirmations_or_records(db: TestDb) {
    let (app, t, p, _) = setup(db).await;
    let far = t.far.compound;
    let work = reported(&app, p.member, "employer_pairing", far).await;
    confirm_report(&app, p.secretary_far, work).await;
    let work_n = reported(&app, p.member_n, "employer_pairing", far).await;
    let pairing = jinlin_agencies::entity::agency_pairing::Entity::find()
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap()
        .id;
    ok(
        &app,
        p.district,
        Method::POST,
        &format!("/api/v1/agency-pairings/{pairing}/end"),
        r#"{"reason": "结对期满"}"#,
        StatusCode::NO_CONTENT,
    )
    .await;
    let (s, v) = call(
        &app,
        p.secretary_far,
        Method::POST,
        &format!("/api/v1/in-service/reports/{work_n}/confirm"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("不再结对"),
        "{v}"
    );
    let (s, v) = record(&app, p.member, &record_body(far, "1", "volunteer", None)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(count!(app, service_record::Entity), 0);
    // Refusing the pending report is still possible.
    let v = ok(
        &app,
        p.secretary_far,
        Method::POST,
        &format!("/api/v1/in-service/reports/{work_n}/refuse"),
        r#"{"reason": "结对已结束"}"#,
        StatusCode::OK,
    )
    .await;
    assert_eq!(v["state"], "refused");
}

/// A form's `back` is followed only to a local path; anything that a
/// browser would take to another site goes to `/in-service`.
#[db_test]
async fn a_form_goes_back_only_to_a_local_path(db: TestDb) {
    let (app, t, p, _) = setup(db).await;
    let secretary = app.client(p.secretary).await;
    for back in [
        "/\\evil.example",
        "/\\/evil.example",
        "/in-service\t//evil.example",
    ] {
        let id = reported(&app, p.member, "residence", t.compound.compound).await;
        let r = secretary
            .form(
                &format!("/in-service/reports/{id}/refuse"),
                &[("back", back), ("reason", "信息不实")],
                true,
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        assert_eq!(r.header("location"), Some("/in-service"), "{back:?}");
    }
}

/// Two identical reports at once: one is stored, the other answers 409.
#[db_test]
async fn racing_duplicates_store_one(db: TestDb) {
    let (app, t, p, _) = setup(db).await;
    let body = format!(
        r#"{{"kind": "residence", "compound_id": {}}}"#,
        t.compound.compound
    );
    let c1 = app.client(p.member).await;
    let c2 = app.client(p.member).await;
    let (x, y) = tokio::join!(
        c1.json(Method::POST, "/api/v1/in-service/reports", &body),
        c2.json(Method::POST, "/api/v1/in-service/reports", &body)
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
    assert_eq!(count!(app, service_report::Entity), 1);
}

#[db_test]
async fn pages_serve_members_secretaries_officials_and_agencies_in_both_languages(db: TestDb) {
    let (app, t, p, g) = setup(db).await;
    let member = app.client(p.member).await;

    // A member reports from the page; without the CSRF token nothing happens.
    let zh = member.get("/in-service").await;
    assert_eq!(zh.status, StatusCode::OK);
    assert!(zh.text().contains("我的报到"), "{}", zh.text());
    assert!(zh.text().contains("金山花园"));
    assert!(
        zh.text().contains("城门小区"),
        "the paired compound is offered"
    );
    let target = format!("residence:{}", t.compound.compound);
    let r = member
        .form("/in-service/reports", &[("target", &target)], false)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = member
        .form(
            "/in-service/reports",
            &[("target", &target), ("back", "/in-service")],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let pairing = format!("employer_pairing:{}:{}", t.far.compound, g.a);
    let r = member
        .form("/in-service/reports", &[("target", &pairing)], true)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(count!(app, service_report::Entity), 2);
    let home = service_report::Entity::find()
        .all(app.db.db.conn())
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.kind == "residence")
        .unwrap()
        .id;

    // The secretary confirms from the page.
    let secretary = app.client(p.secretary).await;
    let page = secretary.get("/in-service").await;
    assert!(page.text().contains("待确认的报到"), "{}", page.text());
    let r = secretary
        .form(
            &format!("/in-service/reports/{home}/confirm"),
            &[(
                "back",
                &format!("/places/{}/in-service", t.compound.compound),
            )],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(
        r.header("location"),
        Some(format!("/places/{}/in-service", t.compound.compound).as_str())
    );

    // The member takes the three ones and records a service from the page.
    let page = member.get("/in-service").await;
    assert!(page.text().contains("加入一支志愿服务队"));
    assert!(page.text().contains("1号楼 1单元"));
    for fields in [
        vec![("kind", "volunteer_team"), ("team_name", "萤火虫巡逻队")],
        vec![("kind", "zone"), ("zone", "3号楼至5号楼绿化带")],
    ] {
        let r = member.form("/in-service/three-ones", &fields, true).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    }
    let entrance = t.compound.entrance.to_string();
    let r = member
        .form(
            "/in-service/three-ones",
            &[("kind", "entrance"), ("entrance_id", &entrance)],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let compound = t.compound.compound.to_string();
    let day = today();
    let r = member
        .form(
            "/in-service/service-records",
            &[
                ("compound_id", &compound),
                ("served_on", &day),
                ("hours", "2"),
                ("kind", "patrol"),
                ("activity", "夜间巡逻"),
                ("matter_id", ""),
            ],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    // A refused form shows the message as a page, in Chinese.
    let r = member
        .form(
            "/in-service/service-records",
            &[
                ("compound_id", &compound),
                ("served_on", &day),
                ("hours", "30"),
                ("kind", "patrol"),
                ("activity", "夜间巡逻"),
            ],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("0.5 至 24 小时"));
    let rec = service_record::Entity::find()
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap()
        .id;
    let r = secretary
        .form(
            &format!("/in-service/service-records/{rec}/confirm"),
            &[],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());

    let page = member.get("/in-service").await;
    assert!(page.text().contains("萤火虫巡逻队"));
    assert!(page.text().contains("夜间巡逻"));
    let en = member.get_en("/in-service").await;
    assert!(en.text().contains("My reports"), "{}", en.text());
    assert!(en.text().contains("Join one volunteer team"));

    // The compound's list, in both languages.
    let path = format!("/places/{}/in-service", t.compound.compound);
    let page = secretary.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("三个一已全部完成"), "{}", page.text());
    assert!(
        secretary
            .get_en(&path)
            .await
            .text()
            .contains("All three done")
    );
    assert_eq!(
        app.client(p.resident).await.get(&path).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.client(p.other_street).await.get(&path).await.status,
        StatusCode::NOT_FOUND
    );

    // Officials see figures; the district admin edits the scheme there.
    let district = app.client(p.district).await;
    let page = district.get("/in-service").await;
    assert!(page.text().contains("在职党员统计"), "{}", page.text());
    let path = format!("/places/{}/in-service", t.district);
    let page = district.get(&path).await;
    assert!(page.text().contains("金山街道"));
    assert!(page.text().contains("区住建局"));
    assert!(page.text().contains("服务积分标准"));
    let r = district
        .form(
            &format!("/places/{}/service-points-scheme", t.district),
            &[
                ("per_hour", "3"),
                ("per_matter", "8"),
                ("per_activity", "1"),
            ],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(count!(app, service_points_scheme::Entity), 1);
    assert!(
        district
            .get_en(&path)
            .await
            .text()
            .contains("Points scheme")
    );
    let page = app
        .client(p.street)
        .await
        .get(&format!("/places/{}/in-service", t.street))
        .await;
    assert!(page.text().contains("金山社区"));

    // The employer's view, read only.
    let agency = app.client(p.agency_a).await;
    let page = agency.get("/in-service").await;
    assert!(page.text().contains("区住建局"));
    let path = format!("/agencies/{}/in-service", g.a);
    let page = agency.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("单位在职党员服务情况"));
    // The home side only as counts: not the record at home nor the team.
    assert!(page.text().contains("居住地已报到"), "{}", page.text());
    assert!(page.text().contains("3/3"), "{}", page.text());
    assert!(!page.text().contains("夜间巡逻"), "{}", page.text());
    assert!(!page.text().contains("萤火虫巡逻队"), "{}", page.text());
    assert!(
        !page.text().contains("/confirm\""),
        "no forms on the employer's view"
    );
    assert!(agency.get_en(&path).await.text().contains("Points earned"));
    assert_eq!(
        app.client(p.agency_b).await.get(&path).await.status,
        StatusCode::FORBIDDEN
    );
}

#[db_test]
async fn the_openapi_document_lists_the_in_service_routes(db: TestDb) {
    let app = TestApp::new(db);
    let doc = app.get("/api/v1/openapi.json").await.json();
    for (path, method) in [
        ("/api/v1/in-service/reports", "get"),
        ("/api/v1/in-service/reports", "post"),
        ("/api/v1/in-service/reports/{id}/confirm", "post"),
        ("/api/v1/in-service/reports/{id}/refuse", "post"),
        ("/api/v1/in-service/reports/{id}/withdraw", "post"),
        ("/api/v1/in-service/three-ones", "post"),
        ("/api/v1/in-service/three-ones/{id}", "delete"),
        ("/api/v1/in-service/service-records", "post"),
        ("/api/v1/in-service/service-records/{id}/confirm", "post"),
        ("/api/v1/in-service/service-records/{id}/refuse", "post"),
        ("/api/v1/places/{id}/in-service", "get"),
        ("/api/v1/agencies/{id}/in-service", "get"),
        ("/api/v1/places/{id}/in-service-figures", "get"),
        ("/api/v1/places/{id}/service-points-scheme", "put"),
    ] {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path}");
        assert_eq!(op["tags"][0], "in_service", "{method} {path}");
    }
    assert!(doc["components"]["schemas"]["InServiceFigures"].is_object());
}

/// The demo: party members reported at home (most confirmed), at their
/// agency's compounds, with three ones and service records, some linked to
/// residents' matters; the demo accounts see them.
#[db_test]
async fn the_demo_reports_members_with_ones_and_records(db: TestDb) {
    jinlin::demo::load_once_at(
        &db.db,
        Some(&jinlin_kernel::crypto::Secrets::from_bytes([7; 32])),
        jinlin_seed::plan::Scale::Small,
    )
    .await
    .unwrap();
    let app = TestApp::new(db);
    let conn = app.db.db.conn();
    let reports = service_report::Entity::find().all(conn).await.unwrap();
    let residence: Vec<_> = reports.iter().filter(|r| r.kind == "residence").collect();
    assert!(!residence.is_empty());
    let confirmed = residence.iter().filter(|r| r.state == "confirmed").count();
    assert!(
        confirmed * 10 >= residence.len() * 8,
        "{confirmed} of {}",
        residence.len()
    );
    assert!(residence.iter().any(|r| r.state == "submitted"));
    assert!(
        reports
            .iter()
            .any(|r| r.kind == "employer_pairing" && r.agency_id.is_some()),
        "members of paired agencies report there too"
    );
    assert!(count!(app, three_ones::Entity) > 0);
    let records = service_record::Entity::find().all(conn).await.unwrap();
    assert!(
        records
            .iter()
            .any(|r| r.state == "confirmed" && r.points_x2.unwrap_or(0) > 0)
    );
    assert!(
        records.iter().any(|r| r.matter_id.is_some()),
        "a few coordinate matters"
    );

    let accounts = account::Entity::find().all(conn).await.unwrap();
    let by_name = |name: &str| accounts.iter().find(|a| a.username == name).map(|a| a.id);
    let district = by_name("district").unwrap();
    let root = place::Entity::find()
        .all(conn)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.kind == "district" && p.district_code.as_deref() == Some("350104"))
        .unwrap()
        .id;
    let f = ok(
        &app,
        district,
        Method::GET,
        &format!("/api/v1/places/{root}/in-service-figures"),
        "",
        StatusCode::OK,
    )
    .await;
    assert!(f["members_reported"].as_u64().unwrap() > 0, "{f}");
    assert!(f["three_ones_all"].as_u64().unwrap() > 0, "{f}");
    assert!(f["points"].as_f64().unwrap() > 0.0, "{f}");
    let agency = by_name("agency").unwrap();
    let page = app.client(agency).await.get("/in-service").await;
    assert_eq!(page.status, StatusCode::OK);
    let member = residence[0].account_id;
    let page = app.client(member).await.get("/in-service").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("居住地报到"), "{}", page.text());
}
