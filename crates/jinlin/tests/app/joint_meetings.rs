//! Tests of quarterly party-building joint meetings: the journey from
//! scheduling through the record of the meeting to action items done, who
//! may do what on every route, refused input that stores nothing, the
//! compliance view, the reminders (once per street and quarter, never to
//! a street that held its meeting) and the pages.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use jinlin_agencies::entity::{agency, agency_account};
use jinlin_joint_meetings::entity::{
    joint_meeting, joint_meeting_action, joint_meeting_invitee, joint_meeting_reminder,
};
use jinlin_joint_meetings::rules::Quarter;
use jinlin_kernel::auth::Role;
use jinlin_kernel::notify::entity as notification;
use jinlin_organisations::entity::party_org;
use jinlin_testkit::fixtures::{Tree, account, tree};
use jinlin_testkit::{TestDb, db_test};
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::support::{TestApp, api_error, has_cjk};

struct People {
    district: i64,
    street: i64,
    other_street: i64,
    worker: i64,
    far_worker: i64,
    secretary: i64,
    secretary_n: i64,
    resident: i64,
    agency_a: i64,
    agency_b: i64,
}

struct Bodies {
    /// 区住建局, administered by `agency_a`.
    agency_a: i64,
    /// 区卫健局, administered by `agency_b`.
    agency_b: i64,
    /// An agency of another district.
    far_agency: i64,
    /// The party organisations of 金山花园, 榕城小区 and 城门小区.
    org: i64,
    org_n: i64,
    org_far: i64,
}

macro_rules! count {
    ($app:expr, $entity:ty) => {
        <$entity>::find().count($app.db.db.conn()).await.unwrap()
    };
}

async fn new_agency(app_db: &jinlin_kernel::Database, code: &str, name: &str) -> i64 {
    let now = Utc::now();
    agency::Entity::insert(agency::ActiveModel {
        district_code: Set(code.into()),
        name: Set(name.into()),
        category: Set("housing".into()),
        party_org_name: Set(format!("{name}机关党支部")),
        contact: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec(app_db.conn())
    .await
    .unwrap()
    .last_insert_id
}

async fn link(app_db: &jinlin_kernel::Database, agency_id: i64, account_id: i64) {
    agency_account::Entity::insert(agency_account::ActiveModel {
        agency_id: Set(agency_id),
        district_code: Set("350104".into()),
        account_id: Set(account_id),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(app_db.conn())
    .await
    .unwrap();
}

async fn new_org(
    app_db: &jinlin_kernel::Database,
    street: i64,
    community: i64,
    compound: i64,
    name: &str,
) -> i64 {
    let now = Utc::now();
    party_org::Entity::insert(party_org::ActiveModel {
        district_code: Set("350104".into()),
        street_id: Set(Some(street)),
        community_id: Set(Some(community)),
        compound_id: Set(compound),
        parent_place_id: Set(Some(community)),
        kind: Set("branch".into()),
        name: Set(name.into()),
        founded_on: Set(NaiveDate::from_ymd_opt(2020, 7, 1).unwrap()),
        secretary_person_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec(app_db.conn())
    .await
    .unwrap()
    .last_insert_id
}

async fn setup(db: TestDb) -> (TestApp, Tree, People, Bodies) {
    let t = tree(&db.db).await;
    let d = &db.db;
    let p = People {
        district: account(d, "district", Role::DistrictAdmin, t.district).await,
        street: account(d, "street", Role::StreetAdmin, t.street).await,
        other_street: account(d, "other-street", Role::StreetAdmin, t.other_street).await,
        worker: account(d, "worker", Role::CommunityWorker, t.community).await,
        far_worker: account(d, "far-worker", Role::CommunityWorker, t.other_community).await,
        secretary: account(d, "secretary", Role::CompoundSecretary, t.compound.compound).await,
        secretary_n: account(
            d,
            "secretary-n",
            Role::CompoundSecretary,
            t.neighbour.compound,
        )
        .await,
        resident: account(d, "resident", Role::Resident, t.compound.dwellings[0]).await,
        agency_a: account(d, "agency-a", Role::AgencyAdmin, t.district).await,
        agency_b: account(d, "agency-b", Role::AgencyAdmin, t.district).await,
    };
    let b = Bodies {
        agency_a: new_agency(d, "350104", "区住建局").await,
        agency_b: new_agency(d, "350104", "区卫健局").await,
        far_agency: new_agency(d, "350102", "鼓楼区住建局").await,
        org: new_org(
            d,
            t.street,
            t.community,
            t.compound.compound,
            "金山花园党支部",
        )
        .await,
        org_n: new_org(
            d,
            t.street,
            t.community,
            t.neighbour.compound,
            "榕城小区党支部",
        )
        .await,
        org_far: new_org(
            d,
            t.other_street,
            t.other_community,
            t.far.compound,
            "城门小区党支部",
        )
        .await,
    };
    link(d, b.agency_a, p.agency_a).await;
    link(d, b.agency_b, p.agency_b).await;
    (TestApp::new(db), t, p, b)
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
    } else {
        c.json(method, path, body).await
    };
    let v = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (r.status, v)
}

/// A time in the current quarter, an hour ago (or its first minute).
fn this_quarter_past() -> DateTime<Utc> {
    let now = Utc::now();
    let at = (now - Duration::hours(1)).max(Quarter::of(now).starts_at() + Duration::minutes(1));
    // Whole seconds, as the databases give them back.
    DateTime::from_timestamp(at.timestamp(), 0).unwrap()
}

fn meeting_body(at: DateTime<Utc>, invitees: Value) -> String {
    json!({
        "scheduled_at": at.to_rfc3339(),
        "venue": "金山街道党群服务中心",
        "agenda": "研究小区加装电梯和停车难问题",
        "invitees": invitees,
    })
    .to_string()
}

/// Schedules a meeting of 金山街道 inviting 金山社区, 金山花园党支部 and
/// 区住建局; returns its id and the invitee ids in that order.
async fn schedule(
    app: &TestApp,
    t: &Tree,
    p: &People,
    b: &Bodies,
    at: DateTime<Utc>,
) -> (i64, [i64; 3]) {
    let (s, v) = call(
        app,
        p.street,
        Method::POST,
        &format!("/api/v1/places/{}/joint-meetings", t.street),
        &meeting_body(
            at,
            json!([
                {"kind": "community", "ref_id": t.community},
                {"kind": "party_org", "ref_id": b.org},
                {"kind": "agency", "ref_id": b.agency_a},
            ]),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_i64().unwrap();
    let (_, view) = call(
        app,
        p.street,
        Method::GET,
        &format!("/api/v1/joint-meetings/{id}"),
        "",
    )
    .await;
    let inv = view["invitees"].as_array().unwrap();
    let find = |kind: &str| {
        inv.iter().find(|i| i["kind"] == kind).unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    (id, [find("community"), find("party_org"), find("agency")])
}

#[db_test]
async fn a_meeting_is_scheduled_held_and_its_items_tracked_to_done(db: TestDb) {
    let (app, t, p, b) = setup(db).await;
    let at = this_quarter_past();
    let quarter = Quarter::of(at).to_string();
    let (id, _) = schedule(&app, &t, &p, &b, at).await;

    // The street admin changes the venue and adds 榕城小区党支部.
    let (s, v) = call(
        &app,
        p.street,
        Method::PUT,
        &format!("/api/v1/joint-meetings/{id}"),
        &json!({
            "scheduled_at": at.to_rfc3339(),
            "venue": "金山社区党群活动服务中心",
            "agenda": "研究小区加装电梯和停车难问题",
            "invitees": [
                {"kind": "community", "ref_id": t.community},
                {"kind": "party_org", "ref_id": b.org},
                {"kind": "party_org", "ref_id": b.org_n},
                {"kind": "agency", "ref_id": b.agency_a},
            ],
        })
        .to_string(),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (_, view) = call(
        &app,
        p.worker,
        Method::GET,
        &format!("/api/v1/joint-meetings/{id}"),
        "",
    )
    .await;
    assert_eq!(view["state"], "scheduled");
    assert_eq!(view["quarter"], quarter);
    assert_eq!(view["venue"], "金山社区党群活动服务中心");
    assert_eq!(view["can_manage"], false);
    let inv = view["invitees"].as_array().unwrap().clone();
    assert_eq!(inv.len(), 4);
    let id_of = |kind: &str, name: &str| {
        inv.iter()
            .find(|i| i["kind"] == kind && i["name"] == name)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    // Invitees were replaced, their names kept as invited.
    let community = id_of("community", "金山社区");
    let org = id_of("party_org", "金山花园党支部");
    let agency_inv = id_of("agency", "区住建局");
    let org_n = id_of("party_org", "榕城小区党支部");

    // Recorded as held: attendance, minutes and three resolutions.
    let due_soon = (Utc::now() + Duration::days(30)).date_naive();
    let held_on = jinlin_joint_meetings::rules::china_date(at);
    let (s, v) = call(
        &app,
        p.street,
        Method::POST,
        &format!("/api/v1/joint-meetings/{id}/held"),
        &json!({
            "minutes": "会议研究了加装电梯和停车问题，形成三项决议。",
            "attendance": [
                {"invitee_id": community, "attended": true, "attendees": "王社区书记"},
                {"invitee_id": org, "attended": true, "attendees": "李支书"},
                {"invitee_id": agency_inv, "attended": true},
            ],
            "resolutions": [
                {"text": "开展加装电梯意见征集", "owner_invitee_id": community, "responsible": "王芳", "due_on": due_soon},
                {"text": "增设临时停车位", "owner_invitee_id": agency_inv, "due_on": due_soon},
                {"text": "清理消防通道", "owner_invitee_id": org_n, "due_on": held_on},
            ],
        })
        .to_string(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["state"], "held");
    assert_eq!(v["held_at"], json!(at));
    assert_eq!(v["quarter"], quarter);
    let attended: Vec<(String, Value)> = v["invitees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["name"].as_str().unwrap().to_string(),
                i["attended"].clone(),
            )
        })
        .collect();
    assert!(attended.contains(&("榕城小区党支部".into(), json!(false))));
    assert!(attended.contains(&("金山社区".into(), json!(true))));
    let actions = v["actions"].as_array().unwrap().clone();
    assert_eq!(actions.len(), 3);
    assert_eq!(actions[0]["owner_name"], "金山社区");
    assert_eq!(actions[0]["responsible"], "王芳");
    assert_eq!(actions[0]["state"], "open");
    assert_eq!(actions[0]["can_complete"], true);
    let item = |n: usize| actions[n]["id"].as_i64().unwrap();

    // Invited bodies see the meeting; others inside the street do not.
    for who in [p.worker, p.secretary, p.secretary_n, p.agency_a, p.district] {
        let (s, v) = call(
            &app,
            who,
            Method::GET,
            &format!("/api/v1/joint-meetings/{id}"),
            "",
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{who}: {v}");
    }
    for who in [p.agency_b, p.resident, p.other_street, p.far_worker] {
        let (s, _) = call(
            &app,
            who,
            Method::GET,
            &format!("/api/v1/joint-meetings/{id}"),
            "",
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{who}");
    }
    // The agency admin may complete only its own body's item.
    let (_, v) = call(
        &app,
        p.agency_a,
        Method::GET,
        &format!("/api/v1/joint-meetings/{id}"),
        "",
    )
    .await;
    let flags: Vec<bool> = v["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["can_complete"].as_bool().unwrap())
        .collect();
    assert_eq!(flags, [false, true, false]);

    // The community worker marks the community's item done.
    let done = format!("/api/v1/joint-meeting-actions/{}/done", item(0));
    let (s, v) = call(
        &app,
        p.worker,
        Method::POST,
        &done,
        r#"{"note": "已入户征集意见 126 户"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (s, _) = call(&app, p.worker, Method::POST, &done, r#"{"note": "再次"}"#).await;
    assert_eq!(s, StatusCode::CONFLICT);
    // The agency's admin marks its item done; the secretary of 金山花园
    // may not touch the agency's item.
    let agency_done = format!("/api/v1/joint-meeting-actions/{}/done", item(1));
    let (s, _) = call(
        &app,
        p.secretary,
        Method::POST,
        &agency_done,
        r#"{"note": "x"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = call(
        &app,
        p.agency_a,
        Method::POST,
        &agency_done,
        r#"{"note": "已协调增设 20 个车位"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");

    let (_, v) = call(
        &app,
        p.street,
        Method::GET,
        &format!("/api/v1/joint-meetings/{id}"),
        "",
    )
    .await;
    let states: Vec<&str> = v["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["done", "done", "open"]);
    assert_eq!(v["actions"][0]["done_note"], "已入户征集意见 126 户");

    // The meeting's record is final.
    let (s, _) = call(
        &app,
        p.street,
        Method::POST,
        &format!("/api/v1/joint-meetings/{id}/held"),
        r#"{"minutes": "再记一次"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = call(
        &app,
        p.street,
        Method::POST,
        &format!("/api/v1/joint-meetings/{id}/cancel"),
        r#"{"reason": "x"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);

    // Lists: the street admin sees the meeting with its open item; the
    // secretary of 榕城小区 sees it as an invitee; a worker of another
    // street learns nothing.
    let (s, list) = call(
        &app,
        p.street,
        Method::GET,
        &format!("/api/v1/places/{}/joint-meetings", t.street),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(list[0]["open_actions"], 1);
    assert_eq!(list[0]["invitees"], 4);
    let (s, list) = call(
        &app,
        p.secretary_n,
        Method::GET,
        &format!("/api/v1/places/{}/joint-meetings", t.street),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (s, _) = call(
        &app,
        p.far_worker,
        Method::GET,
        &format!("/api/v1/places/{}/joint-meetings", t.street),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // A second meeting is scheduled, then cancelled with a reason.
    let (second, _) = schedule(&app, &t, &p, &b, at).await;
    let (s, v) = call(
        &app,
        p.district,
        Method::POST,
        &format!("/api/v1/joint-meetings/{second}/cancel"),
        r#"{"reason": "与区委会议冲突，改期"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (_, v) = call(
        &app,
        p.street,
        Method::GET,
        &format!("/api/v1/joint-meetings/{second}"),
        "",
    )
    .await;
    assert_eq!(v["state"], "cancelled");
    assert_eq!(v["cancel_reason"], "与区委会议冲突，改期");
}

#[db_test]
async fn compliance_shows_each_street_and_the_overdue_items(db: TestDb) {
    let (app, t, p, b) = setup(db).await;
    // 2026Q1: 金山街道 held its meeting; 仓山镇 held none.
    let at: DateTime<Utc> = "2026-02-10T02:00:00Z".parse().unwrap();
    let (id, [community, org, _]) = schedule(&app, &t, &p, &b, at).await;
    let (s, v) = call(
        &app,
        p.street,
        Method::POST,
        &format!("/api/v1/joint-meetings/{id}/held"),
        &json!({
            "minutes": "会议纪要",
            "resolutions": [
                {"text": "整治消防通道", "owner_invitee_id": org, "due_on": "2026-03-01"},
                {"text": "建设党群驿站", "owner_invitee_id": community, "due_on": "2099-12-31"},
            ],
        })
        .to_string(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["quarter"], "2026Q1");
    // A meeting of 仓山镇 scheduled in the next quarter does not count.
    let (s, v) = call(
        &app,
        p.other_street,
        Method::POST,
        &format!("/api/v1/places/{}/joint-meetings", t.other_street),
        &meeting_body(
            "2026-04-01T01:00:00Z".parse().unwrap(),
            json!([{"kind": "party_org", "ref_id": b.org_far}]),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    let (s, c) = call(
        &app,
        p.district,
        Method::GET,
        &format!(
            "/api/v1/places/{}/joint-meeting-compliance?quarter=2026Q1",
            t.district
        ),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["quarter"], "2026Q1");
    assert_eq!(c["quarter_ends_on"], "2026-03-31");
    assert_eq!(c["reminder_on"], "2026-03-18");
    assert_eq!(
        (c["held"].clone(), c["scheduled"].clone(), c["none"].clone()),
        (json!(1), json!(0), json!(1))
    );
    let streets = c["streets"].as_array().unwrap();
    let line = |id: i64| streets.iter().find(|s| s["street_id"] == id).unwrap();
    assert_eq!(line(t.street)["state"], "held");
    assert_eq!(line(t.street)["meeting_id"], id);
    assert_eq!(line(t.street)["open_actions"], 2);
    assert_eq!(line(t.street)["overdue_actions"], 1);
    assert_eq!(line(t.other_street)["state"], "none");
    assert_eq!(line(t.other_street)["meeting_id"], Value::Null);
    let overdue = c["overdue"].as_array().unwrap();
    assert_eq!(overdue.len(), 1);
    assert_eq!(overdue[0]["text"], "整治消防通道");
    assert_eq!(overdue[0]["owner_name"], "金山花园党支部");
    assert_eq!(overdue[0]["overdue"], true);

    // Next quarter: 仓山镇 has a meeting scheduled.
    let (_, c) = call(
        &app,
        p.other_street,
        Method::GET,
        &format!(
            "/api/v1/places/{}/joint-meeting-compliance?quarter=2026Q2",
            t.other_street
        ),
        "",
    )
    .await;
    assert_eq!(c["streets"].as_array().unwrap().len(), 1);
    assert_eq!(c["streets"][0]["state"], "scheduled");

    // Who may read it.
    let path = format!("/api/v1/places/{}/joint-meeting-compliance", t.street);
    for (who, status) in [
        (p.district, StatusCode::OK),
        (p.street, StatusCode::OK),
        (p.other_street, StatusCode::NOT_FOUND),
        (p.worker, StatusCode::NOT_FOUND),
        (p.agency_a, StatusCode::NOT_FOUND),
    ] {
        let (s, v) = call(&app, who, Method::GET, &path, "").await;
        assert_eq!(s, status, "{who}: {v}");
    }
    let r = app
        .client(p.district)
        .await
        .get(&format!("{path}?quarter=2026Q5"))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, message) = api_error(&r);
    assert!(message.contains("2026Q4"), "{message}");
    let (s, _) = call(
        &app,
        p.district,
        Method::GET,
        &format!(
            "/api/v1/places/{}/joint-meeting-compliance",
            t.compound.compound
        ),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

/// Every route: anonymous 401, outside the scope 404, inside without the
/// power 403.
#[db_test]
async fn every_route_answers_by_scope_and_role(db: TestDb) {
    let (app, t, p, b) = setup(db).await;
    let at = this_quarter_past();
    let (id, [community, _, _]) = schedule(&app, &t, &p, &b, at).await;
    let (held_id, [h_community, _, _]) = schedule(&app, &t, &p, &b, at).await;
    let (s, v) = call(
        &app,
        p.street,
        Method::POST,
        &format!("/api/v1/joint-meetings/{held_id}/held"),
        &json!({
            "minutes": "纪要",
            "resolutions": [{"text": "事项", "owner_invitee_id": h_community, "due_on": "2099-01-01"}],
        })
        .to_string(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let action = v["actions"][0]["id"].as_i64().unwrap();

    let create = meeting_body(at, json!([{"kind": "community", "ref_id": t.community}]));
    let held =
        json!({"minutes": "纪要", "attendance": [{"invitee_id": community, "attended": true}]})
            .to_string();
    let cancel = r#"{"reason": "改期"}"#;
    let done = r#"{"note": "已办结"}"#;

    struct Case<'a> {
        method: Method,
        path: String,
        body: &'a str,
        outside: Vec<i64>,
        powerless: Option<i64>,
    }
    let cases = vec![
        Case {
            method: Method::GET,
            path: format!("/api/v1/places/{}/joint-meetings", t.street),
            body: "",
            outside: vec![p.other_street, p.resident, p.far_worker],
            powerless: None,
        },
        Case {
            method: Method::POST,
            path: format!("/api/v1/places/{}/joint-meetings", t.street),
            body: &create,
            outside: vec![p.other_street, p.resident],
            powerless: Some(p.worker),
        },
        Case {
            method: Method::GET,
            path: format!("/api/v1/joint-meetings/{id}"),
            body: "",
            outside: vec![p.other_street, p.secretary_n, p.agency_b, p.resident],
            powerless: None,
        },
        Case {
            method: Method::PUT,
            path: format!("/api/v1/joint-meetings/{id}"),
            body: &create,
            outside: vec![p.other_street, p.secretary_n],
            powerless: Some(p.worker),
        },
        Case {
            method: Method::POST,
            path: format!("/api/v1/joint-meetings/{id}/held"),
            body: &held,
            outside: vec![p.other_street, p.agency_b],
            powerless: Some(p.secretary),
        },
        Case {
            method: Method::POST,
            path: format!("/api/v1/joint-meetings/{id}/cancel"),
            body: cancel,
            outside: vec![p.other_street, p.resident],
            powerless: Some(p.agency_a),
        },
        Case {
            method: Method::POST,
            path: format!("/api/v1/joint-meeting-actions/{action}/done"),
            body: done,
            outside: vec![p.other_street, p.secretary_n, p.far_worker],
            powerless: Some(p.secretary),
        },
        Case {
            method: Method::GET,
            path: format!("/api/v1/places/{}/joint-meeting-compliance", t.street),
            body: "",
            outside: vec![p.other_street, p.worker, p.secretary],
            powerless: None,
        },
        Case {
            method: Method::GET,
            path: format!("/api/v1/places/{}/joint-meeting-compliance", t.district),
            body: "",
            outside: vec![p.resident, p.street, p.worker],
            powerless: None,
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
        if let Some(who) = case.powerless {
            let (s, v) = call(&app, who, case.method.clone(), &case.path, case.body).await;
            assert_eq!(
                s,
                StatusCode::FORBIDDEN,
                "powerless {} {}: {v}",
                case.method,
                case.path
            );
        }
    }
    // Refusals stored nothing.
    assert_eq!(count!(app, joint_meeting::Entity), 2);
    assert_eq!(count!(app, joint_meeting_action::Entity), 1);
    let (_, v) = call(
        &app,
        p.street,
        Method::GET,
        &format!("/api/v1/joint-meetings/{id}"),
        "",
    )
    .await;
    assert_eq!(v["state"], "scheduled");
    assert_eq!(v["invitees"].as_array().unwrap().len(), 3);

    // The allowed side of each write works.
    let (s, v) = call(
        &app,
        p.district,
        Method::PUT,
        &format!("/api/v1/joint-meetings/{id}"),
        &create,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (s, v) = call(
        &app,
        p.worker,
        Method::POST,
        &format!("/api/v1/joint-meeting-actions/{action}/done"),
        done,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (s, v) = call(
        &app,
        p.district,
        Method::POST,
        &format!("/api/v1/places/{}/joint-meetings", t.street),
        &create,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // A district is no street to hold a meeting.
    let (s, _) = call(
        &app,
        p.district,
        Method::POST,
        &format!("/api/v1/places/{}/joint-meetings", t.district),
        &create,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn en_json(
    app: &TestApp,
    who: i64,
    method: Method,
    path: &str,
    body: &str,
) -> (StatusCode, String) {
    let c = app.client(who).await;
    let cookie = format!("{}; jinlin_lang=en", c.cookie);
    let r = app
        .request(
            method,
            path,
            &[
                ("cookie", &cookie),
                ("content-type", "application/json"),
                ("x-csrf-token", &c.csrf),
            ],
            Body::from(body.to_string()),
        )
        .await;
    let (_, message) = api_error(&r);
    (r.status, message)
}

#[db_test]
async fn bad_input_is_refused_with_a_message_and_nothing_stored(db: TestDb) {
    let (app, t, p, b) = setup(db).await;
    let at = this_quarter_past();
    let create = format!("/api/v1/places/{}/joint-meetings", t.street);

    // Invitees outside the street's scope are named.
    for (invitee, fragment) in [
        (
            json!({"kind": "community", "ref_id": t.other_community}),
            format!("社区 #{}", t.other_community),
        ),
        (
            json!({"kind": "party_org", "ref_id": b.org_far}),
            format!("小区党组织 #{}", b.org_far),
        ),
        (
            json!({"kind": "agency", "ref_id": b.far_agency}),
            format!("机关单位 #{}", b.far_agency),
        ),
        (
            json!({"kind": "community", "ref_id": t.compound.compound}),
            format!("社区 #{}", t.compound.compound),
        ),
        (
            json!({"kind": "party_org", "ref_id": 999_999}),
            "小区党组织 #999999".to_string(),
        ),
    ] {
        let r = app
            .client(p.street)
            .await
            .json(
                Method::POST,
                &create,
                &meeting_body(
                    at,
                    json!([{"kind": "community", "ref_id": t.community}, invitee]),
                ),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
        let (_, message) = api_error(&r);
        assert!(message.contains(&fragment), "{message}");
        assert!(message.contains("不在本街道范围内"), "{message}");
    }
    let (s, message) = en_json(
        &app,
        p.street,
        Method::POST,
        &create,
        &meeting_body(
            at,
            json!([{"kind": "community", "ref_id": t.other_community}]),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        message.contains(&format!("Community #{}", t.other_community)),
        "{message}"
    );
    assert!(message.contains("outside the street"), "{message}");
    // No invitee, the same one twice, no venue.
    for (body, fragment) in [
        (meeting_body(at, json!([])), "至少邀请"),
        (
            meeting_body(
                at,
                json!([{"kind": "party_org", "ref_id": b.org}, {"kind": "party_org", "ref_id": b.org}]),
            ),
            "重复邀请",
        ),
        (
            json!({"scheduled_at": at, "venue": " ", "agenda": "x", "invitees": [{"kind": "community", "ref_id": t.community}]}).to_string(),
            "会议地点",
        ),
    ] {
        let r = app.client(p.street).await.json(Method::POST, &create, &body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
        let (_, message) = api_error(&r);
        assert!(message.contains(fragment), "{message}");
    }
    assert_eq!(count!(app, joint_meeting::Entity), 0);
    assert_eq!(count!(app, joint_meeting_invitee::Entity), 0);

    // A resolution without an owner (or a due date) refuses the whole
    // record: nothing of it is stored.
    let (id, [community, org, _]) = schedule(&app, &t, &p, &b, at).await;
    let held = format!("/api/v1/joint-meetings/{id}/held");
    let good = json!({"text": "清理楼道杂物", "owner_invitee_id": org, "due_on": "2099-01-01"});
    for (bad, fragment) in [
        (json!({"text": "增设充电桩"}), "第 2 项决议没有指定责任单位"),
        (
            json!({"text": "增设充电桩", "owner_invitee_id": null, "due_on": "2099-01-01"}),
            "没有指定责任单位",
        ),
        (
            json!({"text": "增设充电桩", "owner_invitee_id": community}),
            "第 2 项决议没有完成时限",
        ),
        (
            json!({"text": "增设充电桩", "owner_invitee_id": 999_999, "due_on": "2099-01-01"}),
            "不在本次会议的邀请名单中",
        ),
        (
            json!({"text": "增设充电桩", "owner_invitee_id": community, "due_on": "2000-01-01"}),
            "早于会议召开日期",
        ),
        (
            json!({"text": " ", "owner_invitee_id": community, "due_on": "2099-01-01"}),
            "第 2 项决议没有内容",
        ),
    ] {
        let body = json!({
            "minutes": "会议纪要",
            "attendance": [{"invitee_id": community, "attended": true}],
            "resolutions": [good.clone(), bad],
        })
        .to_string();
        let r = app
            .client(p.street)
            .await
            .json(Method::POST, &held, &body)
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
        let (code, message) = api_error(&r);
        assert_eq!(code, "invalid_input");
        assert!(message.contains(fragment), "{message}");
    }
    let (s, message) = en_json(
        &app,
        p.street,
        Method::POST,
        &held,
        &json!({"minutes": "m", "resolutions": [{"text": "x", "due_on": "2099-01-01"}]})
            .to_string(),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(message.contains("Resolution 1 has no owner"), "{message}");
    // Minutes are required; attendance only of invitees; not in the future.
    for (body, fragment) in [
        (json!({"minutes": "  "}), "会议纪要"),
        (
            json!({"minutes": "m", "attendance": [{"invitee_id": 999_999, "attended": true}]}),
            "#999999",
        ),
        (
            json!({"minutes": "m", "held_at": Utc::now() + Duration::days(2)}),
            "不能晚于现在",
        ),
    ] {
        let r = app
            .client(p.street)
            .await
            .json(Method::POST, &held, &body.to_string())
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
        let (_, message) = api_error(&r);
        assert!(message.contains(fragment), "{message}");
        assert!(has_cjk(&message));
    }
    assert_eq!(count!(app, joint_meeting_action::Entity), 0);
    let stored = joint_meeting::Entity::find_by_id(id)
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.state, "scheduled");
    assert_eq!(stored.minutes, None);
    let attended = joint_meeting_invitee::Entity::find()
        .filter(joint_meeting_invitee::Column::MeetingId.eq(id))
        .filter(joint_meeting_invitee::Column::Attended.is_not_null())
        .count(app.db.db.conn())
        .await
        .unwrap();
    assert_eq!(attended, 0);

    // A done item needs a note, and a date neither ahead nor before the
    // meeting.
    let (s, v) = call(
        &app,
        p.street,
        Method::POST,
        &held,
        &json!({"minutes": "m", "resolutions": [good]}).to_string(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let done = format!(
        "/api/v1/joint-meeting-actions/{}/done",
        v["actions"][0]["id"].as_i64().unwrap()
    );
    for body in [
        json!({"note": " "}),
        json!({"note": "好", "done_on": "2099-01-01"}),
        json!({"note": "好", "done_on": "2000-01-01"}),
    ] {
        let r = app
            .client(p.secretary)
            .await
            .json(Method::POST, &done, &body.to_string())
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    }
    let open = joint_meeting_action::Entity::find()
        .filter(joint_meeting_action::Column::State.eq("open"))
        .count(app.db.db.conn())
        .await
        .unwrap();
    assert_eq!(open, 1);
    // Cancelling needs a reason.
    let (second, _) = schedule(&app, &t, &p, &b, at).await;
    let r = app
        .client(p.street)
        .await
        .json(
            Method::POST,
            &format!("/api/v1/joint-meetings/{second}/cancel"),
            r#"{"reason": ""}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn inbox(app: &TestApp, account: i64, kind: &str) -> Vec<notification::Model> {
    notification::Entity::find()
        .filter(notification::Column::AccountId.eq(account))
        .filter(notification::Column::Kind.eq(kind))
        .all(app.db.db.conn())
        .await
        .unwrap()
}

#[db_test]
async fn the_reminder_goes_once_per_street_and_quarter_to_streets_without_a_meeting(db: TestDb) {
    let (app, t, p, b) = setup(db).await;
    // 金山街道 held its 2026Q1 meeting; 仓山镇 only scheduled one and
    // cancelled it.
    let (id, [community, _, agency_inv]) =
        schedule(&app, &t, &p, &b, "2026-02-10T02:00:00Z".parse().unwrap()).await;
    let (s, v) = call(
        &app,
        p.street,
        Method::POST,
        &format!("/api/v1/joint-meetings/{id}/held"),
        &json!({
            "minutes": "纪要",
            "resolutions": [
                {"text": "整治消防通道", "owner_invitee_id": community, "due_on": "2026-03-01"},
                {"text": "协调停车位", "owner_invitee_id": agency_inv, "due_on": "2026-03-20"},
            ],
        })
        .to_string(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = call(
        &app,
        p.other_street,
        Method::POST,
        &format!("/api/v1/places/{}/joint-meetings", t.other_street),
        &meeting_body(
            "2026-03-05T02:00:00Z".parse().unwrap(),
            json!([{"kind": "community", "ref_id": t.other_community}]),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let other = v["id"].as_i64().unwrap();
    let (s, _) = call(
        &app,
        p.other_street,
        Method::POST,
        &format!("/api/v1/joint-meetings/{other}/cancel"),
        r#"{"reason": "台风"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    let db = &app.db.db;
    let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
    // 2026-03-17 23:59 in China: before the reminder date. Only the item
    // due on 2026-03-01 is overdue; its owner (金山社区) hears of it.
    let r = jinlin_joint_meetings::remind(db, at("2026-03-17T15:59:00Z"))
        .await
        .unwrap();
    assert_eq!((r.streets, r.overdue), (0, 1));
    assert_eq!(
        inbox(&app, p.worker, "joint_meeting.action_overdue")
            .await
            .len(),
        1
    );
    assert!(
        inbox(&app, p.other_street, "joint_meeting.reminder")
            .await
            .is_empty()
    );

    // 2026-03-18 00:00 in China: the reminder date of 2026Q1.
    let r = jinlin_joint_meetings::remind(db, at("2026-03-17T16:00:00Z"))
        .await
        .unwrap();
    assert_eq!((r.streets, r.overdue), (1, 0));
    let sent = inbox(&app, p.other_street, "joint_meeting.reminder").await;
    assert_eq!(sent.len(), 1);
    assert!(sent[0].body.contains("仓山镇"), "{}", sent[0].body);
    assert!(sent[0].body.contains("2026Q1"));
    assert!(sent[0].body.contains("2026-03-31"));
    assert_eq!(
        sent[0].link.as_deref(),
        Some(format!("/places/{}/joint-meetings", t.other_street).as_str())
    );
    assert!(
        inbox(&app, p.street, "joint_meeting.reminder")
            .await
            .is_empty()
    );

    // Hourly runs that follow send nothing more, until the agency's item
    // (due 2026-03-20) is late.
    for now in ["2026-03-18T01:00:00Z", "2026-03-20T15:00:00Z"] {
        let r = jinlin_joint_meetings::remind(db, at(now)).await.unwrap();
        assert_eq!((r.streets, r.overdue), (0, 0), "{now}");
    }
    let r = jinlin_joint_meetings::remind(db, at("2026-03-20T16:00:00Z"))
        .await
        .unwrap();
    assert_eq!((r.streets, r.overdue), (0, 1));
    let r = jinlin_joint_meetings::remind(db, at("2026-03-31T15:59:00Z"))
        .await
        .unwrap();
    assert_eq!((r.streets, r.overdue), (0, 0));
    assert_eq!(
        inbox(&app, p.agency_a, "joint_meeting.action_overdue")
            .await
            .len(),
        1
    );
    assert_eq!(
        inbox(&app, p.worker, "joint_meeting.action_overdue")
            .await
            .len(),
        1
    );
    // 2026Q2 opens: no reminder before its own reminder date (06-17).
    let r = jinlin_joint_meetings::remind(db, at("2026-04-10T02:00:00Z"))
        .await
        .unwrap();
    assert_eq!(r.streets, 0);
    let r = jinlin_joint_meetings::remind(db, at("2026-06-17T02:00:00Z"))
        .await
        .unwrap();
    assert_eq!(r.streets, 2);
    assert_eq!(
        inbox(&app, p.street, "joint_meeting.reminder").await.len(),
        1
    );
    assert_eq!(
        inbox(&app, p.other_street, "joint_meeting.reminder")
            .await
            .len(),
        2
    );
    assert_eq!(count!(app, joint_meeting_reminder::Entity), 3);

    // The job is registered with the runner.
    let handlers = jinlin::job_handlers(&jinlin_kernel::Config::default()).unwrap();
    assert!(handlers.kinds().any(|k| k == "joint_meetings.remind"));
}

#[db_test]
async fn pages_schedule_record_and_complete_in_both_languages(db: TestDb) {
    let (app, t, p, b) = setup(db).await;
    let street = app.client(p.street).await;

    let page = street
        .get(&format!("/places/{}/joint-meetings", t.street))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("安排联席会议"), "{}", page.text());
    assert!(page.text().contains("金山花园党支部"));
    assert!(page.text().contains("区住建局"));
    // 城门小区党支部 belongs to another street and is not offered.
    assert!(!page.text().contains("城门小区党支部"));

    let at = this_quarter_past()
        .with_timezone(&jinlin_joint_meetings::rules::china())
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let community = format!("community:{}", t.community);
    let org = format!("party_org:{}", b.org);
    let r = street
        .form(
            &format!("/places/{}/joint-meetings", t.street),
            &[
                ("scheduled_at", at.as_str()),
                ("venue", "街道党群服务中心"),
                ("agenda", "研究停车难"),
                ("invitee", community.as_str()),
                ("invitee", org.as_str()),
            ],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let id: i64 = r
        .header("location")
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let page = street.get(&format!("/joint-meetings/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("记录会议召开"));
    // No inline scripts: only the layout's external ones.
    assert!(!page.text().contains("<script>"));
    let en = street.get_en(&format!("/joint-meetings/{id}")).await;
    assert!(en.text().contains("Record the meeting as held"));

    let (_, v) = call(
        &app,
        p.street,
        Method::GET,
        &format!("/api/v1/joint-meetings/{id}"),
        "",
    )
    .await;
    let inv: Vec<i64> = v["invitees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    let (c_id, o_id) = (inv[0].to_string(), inv[1].to_string());
    // A resolution row without an owner refuses the form; nothing stored.
    let attendees_c = format!("attendees_{c_id}");
    let attendees_o = format!("attendees_{o_id}");
    let mut fields: Vec<(&str, &str)> = vec![
        ("held_at", at.as_str()),
        ("attended", c_id.as_str()),
        (attendees_c.as_str(), "王书记"),
        (attendees_o.as_str(), ""),
        ("minutes", "会议形成两项决议"),
        ("r1_text", "增设停车位"),
        ("r1_owner", c_id.as_str()),
        ("r1_responsible", "王芳"),
        ("r1_due", "2099-06-30"),
        ("r2_text", "清理楼道"),
        ("r2_owner", ""),
        ("r2_due", "2099-06-30"),
        ("r3_text", ""),
        ("r3_owner", ""),
        ("r3_due", ""),
    ];
    let r = street
        .form(&format!("/joint-meetings/{id}/held"), &fields, true)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.text().contains("第 2 项决议没有指定责任单位"),
        "{}",
        r.text()
    );
    assert_eq!(count!(app, joint_meeting_action::Entity), 0);
    fields[10] = ("r2_owner", o_id.as_str());
    // Without the CSRF token nothing happens.
    let r = street
        .form(&format!("/joint-meetings/{id}/held"), &fields, false)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = street
        .form(&format!("/joint-meetings/{id}/held"), &fields, true)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(count!(app, joint_meeting_action::Entity), 2);

    // The secretary of 金山花园 completes her body's item from the page.
    let secretary = app.client(p.secretary).await;
    let page = secretary.get(&format!("/joint-meetings/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("标记办结"));
    assert!(page.text().contains("王书记"));
    let item = joint_meeting_action::Entity::find()
        .filter(joint_meeting_action::Column::Text.eq("清理楼道"))
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    let r = secretary
        .form(
            &format!("/joint-meeting-actions/{}/done", item.id),
            &[("note", "已清理完毕"), ("done_on", "")],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());

    // The compliance page of the district, in both languages.
    let district = app.client(p.district).await;
    let zh = district.get("/joint-meetings").await;
    assert_eq!(zh.status, StatusCode::OK);
    assert!(zh.text().contains("党建联席会议"));
    assert!(zh.text().contains("仓山镇"));
    assert!(zh.text().contains("未安排"));
    assert!(zh.text().contains("已召开"));
    let en = district.get_en("/joint-meetings?quarter=2026Q1").await;
    assert!(en.text().contains("Quarterly compliance"), "{}", en.text());
    assert!(en.text().contains("2026Q1"));
    // The worker's page lists the meeting she was invited to.
    let page = app.client(p.worker).await.get("/joint-meetings").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains(&format!("/joint-meetings/{id}")));
    let page = app
        .client(p.far_worker)
        .await
        .get(&format!("/joint-meetings/{id}"))
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
}

#[db_test]
async fn the_openapi_document_lists_the_joint_meeting_routes(db: TestDb) {
    let app = TestApp::new(db);
    let doc = app.get("/api/v1/openapi.json").await.json();
    for (path, method) in [
        ("/api/v1/places/{street_id}/joint-meetings", "get"),
        ("/api/v1/places/{street_id}/joint-meetings", "post"),
        ("/api/v1/joint-meetings/{id}", "get"),
        ("/api/v1/joint-meetings/{id}", "put"),
        ("/api/v1/joint-meetings/{id}/held", "post"),
        ("/api/v1/joint-meetings/{id}/cancel", "post"),
        ("/api/v1/joint-meeting-actions/{id}/done", "post"),
        ("/api/v1/places/{id}/joint-meeting-compliance", "get"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
        assert_eq!(doc["paths"][path][method]["tags"][0], "joint_meetings");
    }
    for schema in [
        "JointMeetingView",
        "JointMeetingHeld",
        "JointMeetingResolution",
        "JointMeetingAttendance",
        "JointMeetingCompliance",
    ] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
    // The compliance answer and a street's standing are two schemas, not
    // one name for both.
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["JointMeetingCompliance"]["type"], "object");
    assert_eq!(
        schemas["JointMeetingStanding"]["enum"],
        serde_json::json!(["held", "scheduled", "none"])
    );
}

/// The demo: every street held last quarter's meeting, most held this
/// quarter's, two have none; the district admin's compliance view shows
/// them, and the reminder reaches exactly the streets without a held
/// meeting.
#[db_test]
async fn the_demo_holds_meetings_and_leaves_two_streets_to_remind(db: TestDb) {
    jinlin::demo::load_once_at(
        &db.db,
        Some(&jinlin_kernel::crypto::Secrets::from_bytes([7; 32])),
        jinlin_seed::plan::Scale::Small,
    )
    .await
    .unwrap();
    let app = TestApp::new(db);
    let conn = app.db.db.conn();
    let district = jinlin_kernel::auth::entity::account::Entity::find()
        .filter(jinlin_kernel::auth::entity::account::Column::Username.eq("district"))
        .one(conn)
        .await
        .unwrap()
        .unwrap()
        .id;
    let district_place = jinlin_kernel::place::entity::Entity::find()
        .filter(jinlin_kernel::place::entity::Column::Kind.eq("district"))
        .one(conn)
        .await
        .unwrap()
        .unwrap()
        .id;
    let now = Utc::now();
    let q = Quarter::of(now);
    let (s, c) = call(
        &app,
        district,
        Method::GET,
        &format!("/api/v1/places/{district_place}/joint-meeting-compliance"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    let streets = c["streets"].as_array().unwrap().len() as u64;
    assert!(streets >= 5, "{c}");
    assert_eq!(c["none"], 2, "{c}");
    assert_eq!(c["scheduled"], 1, "{c}");
    assert_eq!(c["held"].as_u64().unwrap(), streets - 3);
    // Last quarter's open items are overdue.
    assert!(c["overdue"].as_array().unwrap().len() as u64 >= streets);
    let (_, last) = call(
        &app,
        district,
        Method::GET,
        &format!(
            "/api/v1/places/{district_place}/joint-meeting-compliance?quarter={}",
            q.prev()
        ),
        "",
    )
    .await;
    assert_eq!(last["held"].as_u64().unwrap(), streets, "{last}");

    // The reminder of this quarter: the streets without a held meeting.
    let at = jinlin_joint_meetings::rules::china_midnight(q.reminder_on());
    let r = jinlin_joint_meetings::remind(&app.db.db, at).await.unwrap();
    assert_eq!(r.streets, 3);
    let again = jinlin_joint_meetings::remind(&app.db.db, at).await.unwrap();
    assert_eq!((again.streets, again.overdue), (0, 0));
    let reminded = notification::Entity::find()
        .filter(notification::Column::Kind.eq("joint_meeting.reminder"))
        .count(conn)
        .await
        .unwrap();
    assert!(reminded >= 3, "{reminded}");
}
