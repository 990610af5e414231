//! Tests of social organisations and their services: the journey from
//! registering an organisation through admission, a service, a session,
//! registration, check-in and feedback to the figures; who may do what on
//! every route; refused input that stores nothing; racing registrations for
//! the last seat.

use axum::http::{Method, StatusCode};
use chrono::{Duration, TimeZone, Utc};
use jinlin_kernel::auth::Role;
use jinlin_kernel::place::entity as place;
use jinlin_social_services::entity::{
    service, service_session, session_feedback, session_registration, social_org,
    social_org_admission,
};
use jinlin_social_services::rules::credit_code_check_char;
use jinlin_testkit::fixtures::{Tree, account, far_district, tree};
use jinlin_testkit::{TestDb, db_test};
use sea_orm::ActiveValue::Set;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::Value;

use crate::support::{TestApp, has_cjk};

struct People {
    district: i64,
    street: i64,
    other_street: i64,
    worker: i64,
    secretary: i64,
    resident: i64,
    resident2: i64,
    /// Lives in the neighbouring compound of the same community.
    neighbour: i64,
    /// Lives in another street.
    far: i64,
    /// The organisation's staff (an account living elsewhere).
    staff: i64,
    far_district: i64,
}

macro_rules! count {
    ($app:expr, $entity:ty) => {
        <$entity>::find().count($app.db.db.conn()).await.unwrap()
    };
}

fn code(body: &str) -> String {
    format!("{body}{}", credit_code_check_char(body).unwrap())
}

async fn setup(db: TestDb) -> (TestApp, Tree, People) {
    let t = tree(&db.db).await;
    let other = far_district(&db.db).await;
    let d = &db.db;
    let p = People {
        district: account(d, "district", Role::DistrictAdmin, t.district).await,
        street: account(d, "street", Role::StreetAdmin, t.street).await,
        other_street: account(d, "other-street", Role::StreetAdmin, t.other_street).await,
        worker: account(d, "worker", Role::CommunityWorker, t.community).await,
        secretary: account(d, "secretary", Role::CompoundSecretary, t.compound.compound).await,
        resident: account(d, "resident", Role::Resident, t.compound.dwellings[0]).await,
        resident2: account(d, "resident2", Role::Resident, t.compound.dwellings[1]).await,
        neighbour: account(d, "neighbour", Role::PartyMember, t.neighbour.dwellings[0]).await,
        far: account(d, "far", Role::Resident, t.far.dwellings[0]).await,
        staff: account(d, "staff", Role::Resident, t.far.dwellings[1]).await,
        far_district: account(d, "far-district", Role::DistrictAdmin, other).await,
    };
    (TestApp::new(db), t, p)
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

fn message(v: &Value) -> String {
    v["error"]["message"].as_str().unwrap_or("").to_string()
}

async fn new_org(
    app: &TestApp,
    t: &Tree,
    who: i64,
    name: &str,
    body17: &str,
) -> (StatusCode, Value) {
    call(
        app,
        who,
        Method::POST,
        "/api/v1/social-orgs",
        &format!(
            r#"{{"district_id": {}, "name": "{name}", "registration_no": "{}", "org_type": "private_non_enterprise", "contact_name": "林老师", "contact_phone": "13812345678", "has_party_org": true}}"#,
            t.district,
            code(body17)
        ),
    )
    .await
}

/// An organisation with staff, admitted to the compound, with a service:
/// (org, service).
async fn admitted_org(app: &TestApp, t: &Tree, p: &People) -> (i64, i64) {
    let (s, v) = new_org(
        app,
        t,
        p.district,
        "仓山区阳光社工服务中心",
        "52350104MJD572815",
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let org = v["id"].as_i64().unwrap();
    let (s, _) = call(
        app,
        p.district,
        Method::POST,
        &format!("/api/v1/social-orgs/{org}/accounts"),
        &format!(r#"{{"account_id": {}}}"#, p.staff),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = call(
        app,
        p.staff,
        Method::POST,
        &format!("/api/v1/social-orgs/{org}/admissions"),
        &format!(
            r#"{{"compound_id": {}, "note": "四点钟学校"}}"#,
            t.compound.compound
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let adm = v["id"].as_i64().unwrap();
    let (s, v) = call(
        app,
        p.worker,
        Method::POST,
        &format!("/api/v1/social-admissions/{adm}/decision"),
        r#"{"action": "approve"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (s, v) = call(app, p.staff, Method::POST, &format!("/api/v1/social-orgs/{org}/services"),
        &format!(r#"{{"kind": "after_school", "title": "四点钟学校", "description": "作业辅导", "compound_ids": [{}]}}"#, t.compound.compound)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    (org, v["id"].as_i64().unwrap())
}

fn session_body(compound: i64, capacity: i64, days: i64) -> String {
    let start = Utc::now() + Duration::days(days);
    let end = start + Duration::hours(2);
    format!(
        r#"{{"compound_id": {compound}, "starts_at": "{}", "ends_at": "{}", "capacity": {capacity}, "location": "金山花园架空层"}}"#,
        start.to_rfc3339(),
        end.to_rfc3339()
    )
}

async fn new_session(app: &TestApp, p: &People, svc: i64, compound: i64, capacity: i64) -> i64 {
    let (s, v) = call(
        app,
        p.staff,
        Method::POST,
        &format!("/api/v1/services/{svc}/sessions"),
        &session_body(compound, capacity, 2),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_i64().unwrap()
}

/// Moves a session into the past (it has been held).
async fn hold(app: &TestApp, id: i64) {
    let s = service_session::Entity::find_by_id(id)
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    let mut m: service_session::ActiveModel = s.into();
    m.starts_at = Set(Utc::now() - Duration::hours(3));
    m.ends_at = Set(Utc::now() - Duration::hours(1));
    service_session::Entity::update(m)
        .exec(app.db.db.conn())
        .await
        .unwrap();
}

#[db_test]
async fn the_journey_from_registration_to_figures(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let (org, svc) = admitted_org(&app, &t, &p).await;
    // A second application to the neighbour is refused with a reason.
    let (s, v) = call(
        &app,
        p.staff,
        Method::POST,
        &format!("/api/v1/social-orgs/{org}/admissions"),
        &format!(r#"{{"compound_id": {}}}"#, t.neighbour.compound),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let refused = v["id"].as_i64().unwrap();
    let (s, v) = call(
        &app,
        p.worker,
        Method::POST,
        &format!("/api/v1/social-admissions/{refused}/decision"),
        r#"{"action": "refuse"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(has_cjk(&message(&v)));
    let (s, _) = call(
        &app,
        p.worker,
        Method::POST,
        &format!("/api/v1/social-admissions/{refused}/decision"),
        r#"{"action": "refuse", "reason": "小区已有同类服务"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    // The organisation's page shows both admissions to the worker.
    let (s, v) = call(
        &app,
        p.worker,
        Method::GET,
        &format!("/api/v1/social-orgs/{org}"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["admissions"].as_array().unwrap().len(), 2);
    assert_eq!(v["contact_phone"], "13812345678");
    // A resident sees the phone masked and only the approved admission.
    let (_, v) = call(
        &app,
        p.resident,
        Method::GET,
        &format!("/api/v1/social-orgs/{org}"),
        "",
    )
    .await;
    assert_eq!(v["contact_phone"], "138****5678");
    assert_eq!(v["admissions"].as_array().unwrap().len(), 1);

    let session = new_session(&app, &p, svc, t.compound.compound, 2).await;
    // Residents find it near them, in the compound and its community.
    for who in [p.resident, p.neighbour] {
        let (s, v) = call(&app, who, Method::GET, "/api/v1/service-sessions", "").await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            v.as_array().unwrap().iter().any(|x| x["id"] == session),
            "{v}"
        );
    }
    let (_, v) = call(&app, p.far, Method::GET, "/api/v1/service-sessions", "").await;
    assert!(v.as_array().unwrap().is_empty());
    // Register, twice: one registration.
    let path = format!("/api/v1/service-sessions/{session}/registrations");
    let (s, v1) = call(
        &app,
        p.resident,
        Method::POST,
        &path,
        r#"{"phone": "13900001111"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v1}");
    let (s, v2) = call(&app, p.resident, Method::POST, &path, "{}").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v1["id"], v2["id"]);
    let (s, _) = call(&app, p.neighbour, Method::POST, &path, "{}").await;
    assert_eq!(s, StatusCode::CREATED);
    // Staff see the roll with phones masked; the worker in full.
    let (_, v) = call(
        &app,
        p.staff,
        Method::GET,
        &format!("/api/v1/service-sessions/{session}"),
        "",
    )
    .await;
    assert_eq!(v["registered"], 2);
    assert_eq!(v["registrations"][0]["phone"], "139****1111");
    let (_, v) = call(
        &app,
        p.worker,
        Method::GET,
        &format!("/api/v1/service-sessions/{session}"),
        "",
    )
    .await;
    assert_eq!(v["registrations"][0]["phone"], "13900001111");
    let (_, v) = call(
        &app,
        p.resident,
        Method::GET,
        &format!("/api/v1/service-sessions/{session}"),
        "",
    )
    .await;
    assert!(v["registrations"].is_null());
    assert_eq!(v["mine"]["phone"], "13900001111");
    // The neighbour cancels before the start.
    let (s, _) = call(&app, p.neighbour, Method::DELETE, &path, "").await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, v) = call(
        &app,
        p.resident,
        Method::GET,
        "/api/v1/my-service-registrations",
        "",
    )
    .await;
    assert_eq!(v.as_array().unwrap().len(), 1);

    hold(&app, session).await;
    let reg = v1["id"].as_i64().unwrap();
    // Staff and the worker both mark the resident: counted once.
    for who in [p.staff, p.worker] {
        let (s, v) = call(
            &app,
            who,
            Method::POST,
            &format!("/api/v1/service-sessions/{session}/registrations/{reg}/check-in"),
            "",
        )
        .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    }
    let fb = format!("/api/v1/service-sessions/{session}/feedback");
    let (s, v) = call(
        &app,
        p.resident,
        Method::POST,
        &fb,
        r#"{"score": 5, "comment": "孩子很喜欢"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    // Figures by hand: one session held, one person-time, mean 5.0.
    for place in [t.compound.compound, t.community, t.street, t.district] {
        let (s, v) = call(
            &app,
            p.district,
            Method::GET,
            &format!("/api/v1/social-figures?place_id={place}"),
            "",
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["sessions_held"], 1);
        assert_eq!(v["person_times"], 1);
        assert_eq!(v["mean_feedback"], "5.0");
        assert_eq!(v["orgs"][0]["id"], org);
    }
    let (_, v) = call(
        &app,
        p.district,
        Method::GET,
        &format!("/api/v1/social-figures?place_id={}", t.community),
        "",
    )
    .await;
    let kids = v["children"].as_array().unwrap();
    let c = kids
        .iter()
        .find(|k| k["id"] == t.compound.compound)
        .unwrap();
    assert_eq!(c["person_times"], 1);
    let n = kids
        .iter()
        .find(|k| k["id"] == t.neighbour.compound)
        .unwrap();
    assert_eq!(n["sessions_held"], 0);
    let (_, v) = call(
        &app,
        p.district,
        Method::GET,
        &format!("/api/v1/social-figures?place_id={}", t.other_street),
        "",
    )
    .await;
    assert_eq!(v["sessions_held"], 0);
    let (_, v) = call(
        &app,
        p.resident,
        Method::GET,
        &format!("/api/v1/social-orgs/{org}"),
        "",
    )
    .await;
    assert_eq!(v["figures"]["person_times"], 1);

    // Withdrawn: no more sessions there; history kept.
    let adm = social_org_admission::Entity::find()
        .all(app.db.db.conn())
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.state == "approved")
        .unwrap()
        .id;
    let (s, _) = call(
        &app,
        p.street,
        Method::POST,
        &format!("/api/v1/social-admissions/{adm}/decision"),
        r#"{"action": "withdraw", "reason": "服务暂停"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = call(
        &app,
        p.staff,
        Method::POST,
        &format!("/api/v1/services/{svc}/sessions"),
        &session_body(t.compound.compound, 5, 3),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(has_cjk(&message(&v)));
    assert_eq!(count!(app, social_org_admission::Entity), 2);
    let (_, v) = call(&app, p.worker, Method::GET, "/api/v1/social-admissions", "").await;
    assert_eq!(v.as_array().unwrap().len(), 2);
}

#[db_test]
async fn refused_input_stores_nothing(db: TestDb) {
    let (app, t, p) = setup(db).await;
    // A code with a wrong check character, a short one, a bad phone.
    let good = code("52350104MJD572815");
    let bad = format!(
        "{}{}",
        &good[..17],
        if good.ends_with('1') { '2' } else { '1' }
    );
    for reg in [bad.as_str(), "5235010", "52350104MJD57281I0"] {
        let (s, v) = call(&app, p.district, Method::POST, "/api/v1/social-orgs",
            &format!(r#"{{"district_id": {}, "name": "某协会", "registration_no": "{reg}", "org_type": "social_group", "contact_name": "张", "has_party_org": false}}"#, t.district)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{reg} {v}");
        assert!(has_cjk(&message(&v)));
    }
    assert_eq!(count!(app, social_org::Entity), 0);
    let (org, svc) = admitted_org(&app, &t, &p).await;
    // The same code twice.
    let (s, _) = new_org(&app, &t, p.district, "另一个", "52350104MJD572815").await;
    assert_eq!(s, StatusCode::CONFLICT);
    // A service or session where the organisation is not admitted.
    let (s, v) = call(
        &app,
        p.staff,
        Method::POST,
        &format!("/api/v1/social-orgs/{org}/services"),
        &format!(
            r#"{{"kind": "elder_course", "title": "老年课堂", "compound_ids": [{}]}}"#,
            t.far.compound
        ),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(has_cjk(&message(&v)));
    let (s, v) = call(
        &app,
        p.staff,
        Method::POST,
        &format!("/api/v1/services/{svc}/sessions"),
        &session_body(t.neighbour.compound, 5, 2),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(has_cjk(&message(&v)));
    // Unknown kind, past start, zero capacity.
    let (s, _) = call(
        &app,
        p.staff,
        Method::POST,
        &format!("/api/v1/social-orgs/{org}/services"),
        &format!(
            r#"{{"kind": "karaoke", "title": "K歌", "compound_ids": [{}]}}"#,
            t.compound.compound
        ),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = call(
        &app,
        p.staff,
        Method::POST,
        &format!("/api/v1/services/{svc}/sessions"),
        &session_body(t.compound.compound, 5, -1),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = call(
        &app,
        p.staff,
        Method::POST,
        &format!("/api/v1/services/{svc}/sessions"),
        &session_body(t.compound.compound, 0, 2),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(count!(app, service::Entity), 1);
    assert_eq!(count!(app, service_session::Entity), 0);

    // Past capacity: 409, nothing stored, nothing counted.
    let session = new_session(&app, &p, svc, t.compound.compound, 1).await;
    let path = format!("/api/v1/service-sessions/{session}/registrations");
    let (s, _) = call(&app, p.resident, Method::POST, &path, "{}").await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = call(&app, p.resident2, Method::POST, &path, "{}").await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(has_cjk(&message(&v)), "{v}");
    assert_eq!(count!(app, session_registration::Entity), 1);
    let row = service_session::Entity::find_by_id(session)
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.registered, 1);
    // Already registered at a full session: the same registration.
    let (s, _) = call(&app, p.resident, Method::POST, &path, "{}").await;
    assert_eq!(s, StatusCode::OK);
    // Feedback before attending, and before the end.
    let fb = format!("/api/v1/service-sessions/{session}/feedback");
    let (s, v) = call(&app, p.resident, Method::POST, &fb, r#"{"score": 4}"#).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(has_cjk(&message(&v)));
    hold(&app, session).await;
    let (s, _) = call(&app, p.resident, Method::POST, &fb, r#"{"score": 4}"#).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let reg = session_registration::Entity::find()
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap()
        .id;
    let (s, _) = call(
        &app,
        p.worker,
        Method::POST,
        &format!("/api/v1/service-sessions/{session}/registrations/{reg}/check-in"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = call(&app, p.resident, Method::POST, &fb, r#"{"score": 6}"#).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = call(
        &app,
        p.resident,
        Method::POST,
        &fb,
        r#"{"score": 4, "comment": "好"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = call(&app, p.resident, Method::POST, &fb, r#"{"score": 1}"#).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(has_cjk(&message(&v)));
    assert_eq!(count!(app, session_feedback::Entity), 1);
    // Registering or cancelling once started.
    let (s, _) = call(&app, p.resident2, Method::POST, &path, "{}").await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = call(&app, p.resident, Method::DELETE, &path, "").await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(count!(app, session_registration::Entity), 1);
}

#[db_test]
async fn two_registrations_for_the_last_seat_leave_one(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let (_, svc) = admitted_org(&app, &t, &p).await;
    let session = new_session(&app, &p, svc, t.compound.compound, 1).await;
    let path = format!("/api/v1/service-sessions/{session}/registrations");
    let x = app.client(p.resident).await;
    let y = app.client(p.neighbour).await;
    let (rx, ry) = tokio::join!(
        x.json(Method::POST, &path, "{}"),
        y.json(Method::POST, &path, "{}")
    );
    let mut statuses = [rx.status, ry.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::CREATED, StatusCode::CONFLICT]);
    assert_eq!(count!(app, session_registration::Entity), 1);
    let row = service_session::Entity::find_by_id(session)
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.registered, 1);
}

#[db_test]
async fn every_route_answers_by_scope_and_role(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let (org, svc) = admitted_org(&app, &t, &p).await;
    let session = new_session(&app, &p, svc, t.compound.compound, 10).await;
    let (_, v) = call(
        &app,
        p.staff,
        Method::POST,
        &format!("/api/v1/social-orgs/{org}/admissions"),
        &format!(r#"{{"compound_id": {}}}"#, t.neighbour.compound),
    )
    .await;
    let adm = v["id"].as_i64().unwrap();
    let reg_path = format!("/api/v1/service-sessions/{session}/registrations");
    let (_, v) = call(&app, p.resident, Method::POST, &reg_path, "{}").await;
    let reg = v["id"].as_i64().unwrap();
    let new_org_body = |n: &str| {
        format!(
            r#"{{"district_id": {}, "name": "{n}", "registration_no": "{}", "org_type": "foundation", "contact_name": "王", "has_party_org": false}}"#,
            t.district,
            code("53350104MJD57281X")
        )
    };
    let cases: Vec<(i64, Method, String, String, StatusCode)> = vec![
        // Registering organisations: district and street admins.
        (
            p.far_district,
            Method::POST,
            "/api/v1/social-orgs".into(),
            new_org_body("甲"),
            StatusCode::NOT_FOUND,
        ),
        (
            p.worker,
            Method::POST,
            "/api/v1/social-orgs".into(),
            new_org_body("甲"),
            StatusCode::FORBIDDEN,
        ),
        (
            p.resident,
            Method::POST,
            "/api/v1/social-orgs".into(),
            new_org_body("甲"),
            StatusCode::FORBIDDEN,
        ),
        (
            p.street,
            Method::POST,
            "/api/v1/social-orgs".into(),
            new_org_body("甲"),
            StatusCode::CREATED,
        ),
        // Reading an organisation.
        (
            p.far_district,
            Method::GET,
            format!("/api/v1/social-orgs/{org}"),
            String::new(),
            StatusCode::NOT_FOUND,
        ),
        (
            p.far,
            Method::GET,
            format!("/api/v1/social-orgs/{org}"),
            String::new(),
            StatusCode::OK,
        ),
        (
            p.staff,
            Method::GET,
            format!("/api/v1/social-orgs/{org}"),
            String::new(),
            StatusCode::OK,
        ),
        // Linking staff.
        (
            p.far_district,
            Method::POST,
            format!("/api/v1/social-orgs/{org}/accounts"),
            format!(r#"{{"account_id": {}}}"#, p.far),
            StatusCode::NOT_FOUND,
        ),
        (
            p.worker,
            Method::POST,
            format!("/api/v1/social-orgs/{org}/accounts"),
            format!(r#"{{"account_id": {}}}"#, p.far),
            StatusCode::FORBIDDEN,
        ),
        (
            p.other_street,
            Method::POST,
            format!("/api/v1/social-orgs/{org}/accounts"),
            "{\"account_id\": 999999}".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        // Applying: staff and registrars only.
        (
            p.resident,
            Method::POST,
            format!("/api/v1/social-orgs/{org}/admissions"),
            format!(r#"{{"compound_id": {}}}"#, t.far.compound),
            StatusCode::FORBIDDEN,
        ),
        (
            p.far_district,
            Method::POST,
            format!("/api/v1/social-orgs/{org}/admissions"),
            format!(r#"{{"compound_id": {}}}"#, t.far.compound),
            StatusCode::NOT_FOUND,
        ),
        (
            p.staff,
            Method::POST,
            format!("/api/v1/social-orgs/{org}/admissions"),
            format!(r#"{{"compound_id": {}}}"#, t.neighbour.compound),
            StatusCode::CONFLICT,
        ),
        // Deciding: the community worker, street and district admins.
        (
            p.resident,
            Method::POST,
            format!("/api/v1/social-admissions/{adm}/decision"),
            r#"{"action": "approve"}"#.into(),
            StatusCode::NOT_FOUND,
        ),
        (
            p.other_street,
            Method::POST,
            format!("/api/v1/social-admissions/{adm}/decision"),
            r#"{"action": "approve"}"#.into(),
            StatusCode::NOT_FOUND,
        ),
        (
            p.secretary,
            Method::POST,
            format!("/api/v1/social-admissions/{adm}/decision"),
            r#"{"action": "approve"}"#.into(),
            StatusCode::NOT_FOUND,
        ),
        (
            p.staff,
            Method::POST,
            format!("/api/v1/social-admissions/{adm}/decision"),
            r#"{"action": "approve"}"#.into(),
            StatusCode::FORBIDDEN,
        ),
        (
            p.worker,
            Method::POST,
            format!("/api/v1/social-admissions/{adm}/decision"),
            r#"{"action": "withdraw", "reason": "x"}"#.into(),
            StatusCode::CONFLICT,
        ),
        (
            p.district,
            Method::POST,
            format!("/api/v1/social-admissions/{adm}/decision"),
            r#"{"action": "approve"}"#.into(),
            StatusCode::NO_CONTENT,
        ),
        // Kinds: the district admin extends the catalogue.
        (
            p.resident,
            Method::GET,
            format!("/api/v1/service-kinds?district_id={}", t.district),
            String::new(),
            StatusCode::OK,
        ),
        (
            p.far_district,
            Method::GET,
            format!("/api/v1/service-kinds?district_id={}", t.district),
            String::new(),
            StatusCode::NOT_FOUND,
        ),
        (
            p.street,
            Method::POST,
            "/api/v1/service-kinds".into(),
            format!(
                r#"{{"district_id": {}, "code": "dance", "name_zh": "广场舞", "name_en": "Square dance"}}"#,
                t.district
            ),
            StatusCode::FORBIDDEN,
        ),
        (
            p.district,
            Method::POST,
            "/api/v1/service-kinds".into(),
            format!(
                r#"{{"district_id": {}, "code": "dance", "name_zh": "广场舞", "name_en": "Square dance"}}"#,
                t.district
            ),
            StatusCode::CREATED,
        ),
        (
            p.district,
            Method::POST,
            "/api/v1/service-kinds".into(),
            format!(
                r#"{{"district_id": {}, "code": "dance", "name_zh": "广场舞", "name_en": "Square dance"}}"#,
                t.district
            ),
            StatusCode::CONFLICT,
        ),
        // Services: staff run them; others in scope 403, outside 404.
        (
            p.worker,
            Method::POST,
            format!("/api/v1/social-orgs/{org}/services"),
            format!(
                r#"{{"kind": "other", "title": "x", "compound_ids": [{}]}}"#,
                t.compound.compound
            ),
            StatusCode::FORBIDDEN,
        ),
        (
            p.far_district,
            Method::POST,
            format!("/api/v1/social-orgs/{org}/services"),
            format!(
                r#"{{"kind": "other", "title": "x", "compound_ids": [{}]}}"#,
                t.compound.compound
            ),
            StatusCode::NOT_FOUND,
        ),
        (
            p.staff,
            Method::POST,
            format!("/api/v1/social-orgs/{org}/services"),
            format!(
                r#"{{"kind": "dance", "title": "广场舞教学", "compound_ids": [{}]}}"#,
                t.compound.compound
            ),
            StatusCode::CREATED,
        ),
        (
            p.resident,
            Method::GET,
            format!("/api/v1/services/{svc}"),
            String::new(),
            StatusCode::OK,
        ),
        (
            p.far,
            Method::GET,
            format!("/api/v1/services/{svc}"),
            String::new(),
            StatusCode::NOT_FOUND,
        ),
        (
            p.resident,
            Method::POST,
            format!("/api/v1/services/{svc}/sessions"),
            session_body(t.compound.compound, 5, 2),
            StatusCode::FORBIDDEN,
        ),
        (
            p.far,
            Method::POST,
            format!("/api/v1/services/{svc}/sessions"),
            session_body(t.compound.compound, 5, 2),
            StatusCode::NOT_FOUND,
        ),
        // Sessions: the compound's community sees them.
        (
            p.neighbour,
            Method::GET,
            format!("/api/v1/service-sessions/{session}"),
            String::new(),
            StatusCode::OK,
        ),
        (
            p.secretary,
            Method::GET,
            format!("/api/v1/service-sessions/{session}"),
            String::new(),
            StatusCode::OK,
        ),
        (
            p.far,
            Method::GET,
            format!("/api/v1/service-sessions/{session}"),
            String::new(),
            StatusCode::NOT_FOUND,
        ),
        (
            p.other_street,
            Method::GET,
            format!("/api/v1/service-sessions/{session}"),
            String::new(),
            StatusCode::NOT_FOUND,
        ),
        // Registering: those living in the community.
        (
            p.far,
            Method::POST,
            reg_path.clone(),
            "{}".into(),
            StatusCode::NOT_FOUND,
        ),
        (
            p.worker,
            Method::POST,
            reg_path.clone(),
            "{}".into(),
            StatusCode::FORBIDDEN,
        ),
        (
            p.secretary,
            Method::POST,
            reg_path.clone(),
            "{}".into(),
            StatusCode::FORBIDDEN,
        ),
        (
            p.neighbour,
            Method::POST,
            reg_path.clone(),
            r#"{"phone": "12"}"#.into(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            p.far,
            Method::DELETE,
            reg_path.clone(),
            String::new(),
            StatusCode::NOT_FOUND,
        ),
        (
            p.resident2,
            Method::DELETE,
            reg_path.clone(),
            String::new(),
            StatusCode::NOT_FOUND,
        ),
        // Check-in: staff and overseers (the session has not opened yet: 409).
        (
            p.resident,
            Method::POST,
            format!("{reg_path}/{reg}/check-in"),
            String::new(),
            StatusCode::FORBIDDEN,
        ),
        (
            p.secretary,
            Method::POST,
            format!("{reg_path}/{reg}/check-in"),
            String::new(),
            StatusCode::FORBIDDEN,
        ),
        (
            p.far,
            Method::POST,
            format!("{reg_path}/{reg}/check-in"),
            String::new(),
            StatusCode::NOT_FOUND,
        ),
        (
            p.staff,
            Method::POST,
            format!("{reg_path}/{reg}/check-in"),
            String::new(),
            StatusCode::CONFLICT,
        ),
        // Feedback: outside 404.
        (
            p.far,
            Method::POST,
            format!("/api/v1/service-sessions/{session}/feedback"),
            r#"{"score": 5}"#.into(),
            StatusCode::NOT_FOUND,
        ),
        // Figures: registry readers of the place.
        (
            p.resident,
            Method::GET,
            format!("/api/v1/social-figures?place_id={}", t.compound.compound),
            String::new(),
            StatusCode::FORBIDDEN,
        ),
        (
            p.far,
            Method::GET,
            format!("/api/v1/social-figures?place_id={}", t.compound.compound),
            String::new(),
            StatusCode::NOT_FOUND,
        ),
        (
            p.secretary,
            Method::GET,
            format!("/api/v1/social-figures?place_id={}", t.compound.compound),
            String::new(),
            StatusCode::OK,
        ),
        (
            p.secretary,
            Method::GET,
            format!("/api/v1/social-figures?place_id={}", t.community),
            String::new(),
            StatusCode::NOT_FOUND,
        ),
        (
            p.other_street,
            Method::GET,
            format!("/api/v1/social-figures?place_id={}", t.community),
            String::new(),
            StatusCode::NOT_FOUND,
        ),
        (
            p.street,
            Method::GET,
            format!("/api/v1/social-figures?place_id={}", t.street),
            String::new(),
            StatusCode::OK,
        ),
        // Lists answer everyone signed in, with what they see.
        (
            p.far_district,
            Method::GET,
            "/api/v1/social-orgs".into(),
            String::new(),
            StatusCode::OK,
        ),
        (
            p.far,
            Method::GET,
            "/api/v1/social-admissions?state=applied".into(),
            String::new(),
            StatusCode::OK,
        ),
        (
            p.far,
            Method::GET,
            "/api/v1/my-service-registrations".into(),
            String::new(),
            StatusCode::OK,
        ),
    ];
    for (who, method, path, body, want) in cases {
        let (s, v) = call(&app, who, method.clone(), &path, &body).await;
        assert_eq!(s, want, "{method} {path} as {who}: {v}");
    }
    let (_, v) = call(&app, p.far_district, Method::GET, "/api/v1/social-orgs", "").await;
    assert!(v.as_array().unwrap().is_empty());
    let (_, v) = call(&app, p.far, Method::GET, "/api/v1/social-admissions", "").await;
    assert!(v.as_array().unwrap().is_empty());
    let (_, v) = call(
        &app,
        p.worker,
        Method::GET,
        "/api/v1/social-admissions?state=applied",
        "",
    )
    .await;
    assert!(v.as_array().unwrap().is_empty());
    // Signed out: 401.
    assert_eq!(
        app.get("/api/v1/social-orgs").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[db_test]
async fn pages_in_both_languages_and_forms_that_write(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let (org, svc) = admitted_org(&app, &t, &p).await;
    let session = new_session(&app, &p, svc, t.compound.compound, 5).await;
    let resident = app.client(p.resident).await;
    let r = resident.get("/social-services").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("身边的服务"));
    assert!(r.text().contains(&format!("/service-sessions/{session}")));
    let r = resident.get_en("/social-services").await;
    assert!(r.text().contains("Services near me"));
    // Register through the form, then see it on the session page.
    let r = resident
        .form(
            &format!("/service-sessions/{session}/register"),
            &[("phone", "")],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(count!(app, session_registration::Entity), 1);
    let r = resident.get(&format!("/service-sessions/{session}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("已报名"));
    // Without the CSRF field nothing is written.
    let r = app
        .client(p.resident2)
        .await
        .form(&format!("/service-sessions/{session}/register"), &[], false)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(count!(app, session_registration::Entity), 1);
    // Staff see the roll and the roll-call code; the worker the figures.
    let r = app
        .client(p.staff)
        .await
        .get(&format!("/service-sessions/{session}"))
        .await;
    assert!(r.text().contains("报名名单"));
    let r = app
        .client(p.staff)
        .await
        .get(&format!("/social-orgs/{org}"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("安排场次"));
    let r = app.client(p.worker).await.get("/social-services").await;
    assert!(r.text().contains("服务统计"));
    // Outside the scope: 404 pages.
    let far = app.client(p.far).await;
    assert_eq!(
        far.get(&format!("/service-sessions/{session}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let r = app
        .client(p.far_district)
        .await
        .get(&format!("/social-orgs/{org}"))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // A registration number refused through the form: 422, nothing stored.
    let r = app
        .client(p.district)
        .await
        .form(
            "/social-orgs",
            &[
                ("district_id", &t.district.to_string()),
                ("name", "某协会"),
                ("registration_no", "52350104MJD57281I5"),
                ("org_type", "social_group"),
                ("contact_name", "张"),
            ],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(count!(app, social_org::Entity), 1);
}

#[db_test]
async fn pages_show_the_check_in_and_the_feedback_due(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let (_, svc) = admitted_org(&app, &t, &p).await;
    let session = new_session(&app, &p, svc, t.compound.compound, 5).await;
    let path = format!("/api/v1/service-sessions/{session}/registrations");
    let (s, v) = call(&app, p.resident, Method::POST, &path, "{}").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let rid = v["id"].as_i64().unwrap();
    // Running: checked in by staff, feedback waits for the end.
    let s_row = service_session::Entity::find_by_id(session)
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    let mut m: service_session::ActiveModel = s_row.into();
    m.starts_at = Set(Utc::now() - Duration::minutes(10));
    m.ends_at = Set(Utc::now() + Duration::hours(1));
    service_session::Entity::update(m)
        .exec(app.db.db.conn())
        .await
        .unwrap();
    let r = app
        .client(p.staff)
        .await
        .form(
            &format!("/service-sessions/{session}/registrations/{rid}/check-in"),
            &[],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let resident = app.client(p.resident).await;
    let page = resident
        .get(&format!("/service-sessions/{session}"))
        .await
        .text();
    assert!(page.contains("已签到"));
    assert!(page.contains("活动结束后可以在这里评价"));
    assert!(!page.contains("/feedback\""));
    let index = resident.get("/social-services").await.text();
    assert!(!index.contains("待评价"));
    // Over: the form, and the index says feedback is due.
    hold(&app, session).await;
    let page = resident
        .get(&format!("/service-sessions/{session}"))
        .await
        .text();
    assert!(!page.contains("活动结束后可以在这里评价"));
    assert!(page.contains(&format!("/service-sessions/{session}/feedback")));
    assert!(page.contains("非常满意"));
    let index = resident.get("/social-services").await.text();
    assert!(index.contains("待评价"));
    let r = resident.get_en("/social-services").await.text();
    assert!(r.contains("Feedback due"));
    let r = resident
        .form(
            &format!("/service-sessions/{session}/feedback"),
            &[("score", "5"), ("comment", "很好")],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let index = resident.get("/social-services").await.text();
    assert!(!index.contains("待评价"));
    assert!(index.contains("评价 5"));
    assert_eq!(count!(app, session_feedback::Entity), 1);
}

/// A query value as a browser sends it.
fn enc(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

#[db_test]
async fn the_apply_form_finds_a_compound_by_name_or_by_street_and_community(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let (org, _) = admitted_org(&app, &t, &p).await;
    // A compound of the same name in another district is never offered.
    let other = place::Entity::find()
        .all(app.db.db.conn())
        .await
        .unwrap()
        .into_iter()
        .find(|x| x.kind == "district" && x.district_code.as_deref() == Some("350102"))
        .unwrap()
        .id;
    let now = Utc::now();
    place::Entity::insert(place::ActiveModel {
        kind: Set("compound".into()),
        parent_id: Set(Some(other)),
        name: Set("城门小区".into()),
        initials: Set("cmxq".into()),
        district_code: Set(Some("350102".into())),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec(app.db.db.conn())
    .await
    .unwrap();
    let radio = |id: i64| format!(r#"type="radio" name="compound_id" value="{id}""#);
    let staff = app.client(p.staff).await;
    let base = format!("/social-orgs/{org}");
    // At first: the search and the streets, no list of every compound.
    let page = staff.get(&base).await.text();
    assert!(page.contains("查找小区"));
    assert!(page.contains("仓山镇"));
    assert!(!page.contains(&radio(t.far.compound)));
    assert!(!page.contains("name=\"community\""));
    // By name: the one match, with its street and community.
    let page = staff.get(&format!("{base}?q={}", enc("城门"))).await.text();
    assert_eq!(
        page.matches(r#"type="radio" name="compound_id""#).count(),
        1,
        "{page}"
    );
    assert!(page.contains(&radio(t.far.compound)));
    assert!(page.contains("仓山镇 · 仓山村"));
    // Where the organisation is already admitted: shown, not offered.
    let page = staff.get(&format!("{base}?q={}", enc("金山"))).await.text();
    assert!(page.contains(&format!("{} required disabled", radio(t.compound.compound))));
    assert!(page.contains("已申请或已入驻"));
    let page = staff
        .get(&format!("{base}?q={}", enc("没有这个")))
        .await
        .text();
    assert!(page.contains("没有找到小区"));
    // Street, then community, then its compounds.
    let page = staff
        .get(&format!("{base}?street={}", t.street))
        .await
        .text();
    assert!(page.contains(&format!(
        r#"<option value="{}">金山社区</option>"#,
        t.community
    )));
    assert!(!page.contains(r#"type="radio" name="compound_id""#));
    let page = staff
        .get(&format!(
            "{base}?street={}&community={}",
            t.street, t.community
        ))
        .await
        .text();
    assert_eq!(
        page.matches(r#"type="radio" name="compound_id""#).count(),
        2
    );
    assert!(page.contains(&format!("{} required>", radio(t.neighbour.compound))));
    // A community of another street, or garbled numbers: nothing chosen.
    for q in [
        format!("street={}&community={}", t.other_street, t.community),
        "street=x&community=".to_string(),
    ] {
        let r = staff.get(&format!("{base}?{q}")).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(!r.text().contains(r#"type="radio" name="compound_id""#));
    }
    // The radio form applies.
    let r = staff
        .form(
            &format!("{base}/admissions"),
            &[
                ("compound_id", &t.neighbour.compound.to_string()),
                ("note", "老年课堂"),
            ],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(count!(app, social_org_admission::Entity), 2);
    // In English; and residents have no form.
    let r = staff.get_en(&format!("{base}?q={}", enc("城门"))).await;
    assert!(r.text().contains("Find a compound"));
    let r = app.client(p.resident).await.get(&base).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.text().contains("查找小区"));
}

#[db_test]
async fn a_whole_session_is_cancelled_with_a_reason_told_to_its_registrants(db: TestDb) {
    use jinlin_kernel::notify::entity as note;
    let (app, t, p) = setup(db).await;
    let (_, svc) = admitted_org(&app, &t, &p).await;
    let session = new_session(&app, &p, svc, t.compound.compound, 5).await;
    let regs = format!("/api/v1/service-sessions/{session}/registrations");
    for who in [p.resident, p.neighbour, p.resident2] {
        let (s, v) = call(&app, who, Method::POST, &regs, "{}").await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    // One changed their mind: they are not told.
    let (s, _) = call(&app, p.resident2, Method::DELETE, &regs, "").await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let path = format!("/api/v1/service-sessions/{session}/cancellation");
    let body = r#"{"reason": "台风预警，活动改期"}"#;
    // Who may not: a registrant (403), someone outside (404); no reason: 422.
    let (s, _) = call(&app, p.resident, Method::POST, &path, body).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = call(&app, p.far, Method::POST, &path, body).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = call(&app, p.staff, Method::POST, &path, r#"{"reason": "  "}"#).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(has_cjk(&message(&v)));
    assert_eq!(count!(app, note::Entity), 0);
    let row = |app: &TestApp, id: i64| {
        let conn = app.db.db.conn().clone();
        async move {
            service_session::Entity::find_by_id(id)
                .one(&conn)
                .await
                .unwrap()
                .unwrap()
        }
    };
    assert_eq!(row(&app, session).await.state, "scheduled");
    // The staff cancel it: the two still registered are told, once each.
    let (s, v) = call(&app, p.staff, Method::POST, &path, body).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let r = row(&app, session).await;
    assert_eq!(r.state, "cancelled");
    assert_eq!(r.cancel_reason.as_deref(), Some("台风预警，活动改期"));
    assert_eq!(r.cancelled_by, Some(p.staff));
    let notes = note::Entity::find().all(app.db.db.conn()).await.unwrap();
    let mut told: Vec<i64> = notes.iter().map(|n| n.account_id).collect();
    told.sort_unstable();
    let mut expected = vec![p.resident, p.neighbour];
    expected.sort_unstable();
    assert_eq!(told, expected);
    for n in &notes {
        assert_eq!(n.kind, "service_session.cancelled");
        assert!(
            n.body.contains("四点钟学校") && n.body.contains("台风预警"),
            "{}",
            n.body
        );
        assert_eq!(
            n.link.as_deref(),
            Some(format!("/service-sessions/{session}").as_str())
        );
    }
    // Once only; no registration, check-in or cancelling a registration after.
    let (s, v) = call(&app, p.worker, Method::POST, &path, body).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(has_cjk(&message(&v)));
    let (s, _) = call(&app, p.resident2, Method::POST, &regs, "{}").await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (_, v) = call(
        &app,
        p.staff,
        Method::GET,
        &format!("/api/v1/service-sessions/{session}"),
        "",
    )
    .await;
    assert_eq!(v["cancelled"], true);
    assert_eq!(v["cancel_reason"], "台风预警，活动改期");
    assert_eq!(v["can_cancel"], false);
    assert_eq!(v["can_check_in"], false);
    let rid = v["registrations"][0]["id"].as_i64().unwrap();
    let mut m: service_session::ActiveModel = row(&app, session).await.into();
    m.starts_at = Set(Utc::now() + Duration::minutes(10));
    service_session::Entity::update(m)
        .exec(app.db.db.conn())
        .await
        .unwrap();
    let (s, _) = call(
        &app,
        p.staff,
        Method::POST,
        &format!("/api/v1/service-sessions/{session}/registrations/{rid}/check-in"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    // The registrant reads it on the session page and in the inbox.
    let resident = app.client(p.resident).await;
    let page = resident
        .get(&format!("/service-sessions/{session}"))
        .await
        .text();
    assert!(page.contains("场次已取消") && page.contains("台风预警，活动改期"));
    assert!(!page.contains("取消报名"));
    assert!(!page.contains("取消本场次"));
    let inbox = resident.get("/notifications").await.text();
    assert!(inbox.contains("您报名的服务场次已取消"), "{inbox}");
    let en = resident
        .get_en(&format!("/service-sessions/{session}"))
        .await
        .text();
    assert!(en.contains("Session cancelled") && en.contains("Cancelled because"));

    // Through the page: the box must be ticked; the community worker may cancel.
    let second = new_session(&app, &p, svc, t.compound.compound, 5).await;
    let staff_page = app
        .client(p.staff)
        .await
        .get(&format!("/service-sessions/{second}"))
        .await
        .text();
    assert!(staff_page.contains("取消本场次") && staff_page.contains("通知已报名的 0 人"));
    let worker = app.client(p.worker).await;
    let form = format!("/service-sessions/{second}/cancellation");
    let r = worker.form(&form, &[("reason", "场地维修")], true).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(row(&app, second).await.state, "scheduled");
    let r = worker
        .form(&form, &[("reason", "场地维修"), ("confirm", "on")], true)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(row(&app, second).await.state, "cancelled");
    // Once started, it stands: 409.
    let third = new_session(&app, &p, svc, t.compound.compound, 5).await;
    hold(&app, third).await;
    let (s, _) = call(
        &app,
        p.staff,
        Method::POST,
        &format!("/api/v1/service-sessions/{third}/cancellation"),
        body,
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(row(&app, third).await.state, "scheduled");
}

#[db_test]
async fn cancelling_a_session_releases_its_venue(db: TestDb) {
    use jinlin_venues::entity::venue_booking;
    let (app, t, p) = setup(db).await;
    let (_, svc) = admitted_org(&app, &t, &p).await;
    let hours: Vec<Value> = (1..=7)
        .map(|d| serde_json::json!({"weekday": d, "open": "00:00", "close": "23:59"}))
        .collect();
    let body = serde_json::json!({
        "name": "金山社区党群服务中心", "kind": "service_centre", "capacity": 30,
        "opening_hours": hours, "facilities": []
    });
    let (s, v) = call(
        &app,
        p.worker,
        Method::POST,
        &format!("/api/v1/places/{}/venues", t.community),
        &body.to_string(),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let venue = v["id"].as_i64().unwrap();
    // Tomorrow 10:00–11:00 China time, inside the opening hours.
    let china = jinlin_venues::rules::china();
    let day = Utc::now().with_timezone(&china).date_naive() + Duration::days(1);
    let start = china
        .from_local_datetime(&day.and_hms_opt(10, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc);
    let session = serde_json::json!({
        "compound_id": t.compound.compound, "starts_at": start, "ends_at": start + Duration::hours(1),
        "capacity": 10, "venue_id": venue
    })
    .to_string();
    let path = format!("/api/v1/services/{svc}/sessions");
    let (s, v) = call(&app, p.staff, Method::POST, &path, &session).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_i64().unwrap();
    let (s, _) = call(&app, p.staff, Method::POST, &path, &session).await;
    assert_eq!(s, StatusCode::CONFLICT, "the venue is taken");
    let (s, v) = call(
        &app,
        p.staff,
        Method::POST,
        &format!("/api/v1/service-sessions/{id}/cancellation"),
        r#"{"reason": "老师临时生病"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let b = venue_booking::Entity::find()
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.state, "cancelled");
    assert_eq!(b.cancel_reason.as_deref(), Some("老师临时生病"));
    // The hour is free again for another session.
    let (s, v) = call(&app, p.staff, Method::POST, &path, &session).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
}

#[db_test]
async fn the_small_demo_has_organisations_sessions_and_figures(t: TestDb) {
    let secrets = jinlin_kernel::crypto::Secrets::from_bytes([7; 32]);
    jinlin::demo::load_once_at(&t.db, Some(&secrets), jinlin_seed::plan::Scale::Small)
        .await
        .unwrap();
    let db = t.db.conn();
    let orgs = social_org::Entity::find().all(db).await.unwrap();
    assert_eq!(orgs.len(), 4);
    let admissions = social_org_admission::Entity::find().all(db).await.unwrap();
    for state in ["approved", "refused", "withdrawn"] {
        assert!(admissions.iter().any(|a| a.state == state), "{state}");
    }
    let sessions = service_session::Entity::find().all(db).await.unwrap();
    let now = Utc::now();
    assert!(sessions.iter().any(|s| s.ends_at < now));
    assert!(
        sessions
            .iter()
            .any(|s| s.starts_at > now && s.registered > 0)
    );
    assert!(session_feedback::Entity::find().count(db).await.unwrap() > 0);
    // A session about to start with places left, whose roll staff may
    // call already; and an attendance still waiting for feedback.
    assert!(sessions.iter().any(|s| {
        s.starts_at > now && s.starts_at <= now + Duration::minutes(30) && s.registered < s.capacity
    }));
    let regs = session_registration::Entity::find().all(db).await.unwrap();
    let judged: Vec<i64> = session_feedback::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.registration_id)
        .collect();
    assert!(
        regs.iter()
            .any(|r| r.attended_at.is_some() && !judged.contains(&r.id))
    );
    // The counters match the rows.
    let all_feedback = session_feedback::Entity::find().all(db).await.unwrap();
    for s in &sessions {
        let mine = regs.iter().filter(|r| r.session_id == s.id);
        let active = mine.clone().filter(|r| r.state == "registered").count();
        assert_eq!(active as i32, s.registered);
        let came = mine.filter(|r| r.attended_at.is_some()).count();
        assert_eq!(came as i32, s.attended);
        let scores: Vec<i32> = all_feedback
            .iter()
            .filter(|f| f.session_id == s.id)
            .map(|f| f.score)
            .collect();
        assert_eq!(scores.len() as i32, s.feedback_count);
        assert_eq!(scores.iter().sum::<i32>(), s.feedback_sum);
    }
    let district = place::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.kind == "district")
        .unwrap()
        .id;
    let admin = jinlin_kernel::auth::entity::account::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.username == "district")
        .unwrap()
        .id;
    let app = TestApp::new(t);
    let (s, v) = call(
        &app,
        admin,
        Method::GET,
        &format!("/api/v1/social-figures?place_id={district}"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["sessions_held"].as_u64().unwrap() > 0);
    assert!(v["person_times"].as_u64().unwrap() > 0);
    let r = app.client(admin).await.get("/social-services").await;
    assert_eq!(r.status, StatusCode::OK);

    // The database's sums match a count by hand at every level, with a
    // past session cancelled (it counts nowhere).
    let db = app.db.db.conn();
    let past = sessions.iter().find(|s| s.ends_at < now).unwrap().clone();
    let mut m: service_session::ActiveModel = past.into();
    m.state = Set("cancelled".into());
    service_session::Entity::update(m).exec(db).await.unwrap();
    let sessions = service_session::Entity::find().all(db).await.unwrap();
    let feedback = session_feedback::Entity::find().all(db).await.unwrap();
    let now = Utc::now();
    let by_hand = |keep: &dyn Fn(&service_session::Model) -> bool| {
        let held: Vec<i64> = sessions
            .iter()
            .filter(|s| s.state == "scheduled" && s.ends_at <= now && keep(s))
            .map(|s| s.id)
            .collect();
        let attended = regs
            .iter()
            .filter(|r| held.contains(&r.session_id) && r.attended_at.is_some())
            .count();
        let scores: Vec<i32> = feedback
            .iter()
            .filter(|f| held.contains(&f.session_id))
            .map(|f| f.score)
            .collect();
        let mean = (!scores.is_empty()).then(|| {
            format!(
                "{:.1}",
                scores.iter().sum::<i32>() as f64 / scores.len() as f64
            )
        });
        (held.len() as u64, attended as u64, mean)
    };
    let of = |v: &Value| {
        (
            v["sessions_held"].as_u64().unwrap(),
            v["person_times"].as_u64().unwrap(),
            v["mean_feedback"].as_str().map(str::to_string),
        )
    };
    let figures = |id: i64| {
        let app = &app;
        async move {
            let (s, v) = call(
                app,
                admin,
                Method::GET,
                &format!("/api/v1/social-figures?place_id={id}"),
                "",
            )
            .await;
            assert_eq!(s, StatusCode::OK, "{v}");
            v
        }
    };
    let v = figures(district).await;
    assert_eq!(of(&v), by_hand(&|_| true));
    for o in v["orgs"].as_array().unwrap() {
        let id = o["id"].as_i64().unwrap();
        assert_eq!(of(o), by_hand(&|s| s.org_id == id), "organisation {id}");
    }
    for street in v["children"].as_array().unwrap() {
        let sid = street["id"].as_i64().unwrap();
        assert_eq!(of(street), by_hand(&|s| s.street_id == Some(sid)));
        let v = figures(sid).await;
        assert_eq!(of(&v), by_hand(&|s| s.street_id == Some(sid)));
        for c in v["children"].as_array().unwrap() {
            let cid = c["id"].as_i64().unwrap();
            assert_eq!(of(c), by_hand(&|s| s.community_id == Some(cid)));
            let v = figures(cid).await;
            for k in v["children"].as_array().unwrap() {
                let kid = k["id"].as_i64().unwrap();
                assert_eq!(of(k), by_hand(&|s| s.compound_id == kid));
            }
        }
    }
}

#[db_test]
async fn a_session_books_its_venue_in_the_same_step(db: TestDb) {
    use chrono::Datelike;
    use jinlin_venues::entity::venue_booking;
    let (app, t, p) = setup(db).await;
    let (_, svc) = admitted_org(&app, &t, &p).await;
    let hours: Vec<Value> = (1..=7)
        .map(|d| serde_json::json!({"weekday": d, "open": "08:00", "close": "21:00"}))
        .collect();
    let body = serde_json::json!({
        "name": "金山社区党群服务中心", "kind": "service_centre", "capacity": 30,
        "opening_hours": hours, "facilities": []
    });
    let (s, v) = call(
        &app,
        p.worker,
        Method::POST,
        &format!("/api/v1/places/{}/venues", t.community),
        &body.to_string(),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let venue = v["id"].as_i64().unwrap();
    let china = jinlin_venues::rules::china();
    let today = Utc::now().with_timezone(&china).date_naive();
    let monday = today + Duration::days(7 - today.weekday().num_days_from_monday() as i64);
    let at = |h| {
        china
            .from_local_datetime(&monday.and_hms_opt(h, 0, 0).unwrap())
            .unwrap()
            .with_timezone(&Utc)
    };
    let session = |start: chrono::DateTime<Utc>, capacity: i64| {
        serde_json::json!({
        "compound_id": t.compound.compound, "starts_at": start, "ends_at": start + Duration::minutes(90),
        "capacity": capacity, "venue_id": venue
    }).to_string()
    };
    let path = format!("/api/v1/services/{svc}/sessions");
    let (s, v) = call(&app, p.staff, Method::POST, &path, &session(at(16), 20)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let row = service_session::Entity::find()
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.location, "金山社区党群服务中心");
    assert!(row.venue_booking_id.is_some());
    assert_eq!(count!(app, venue_booking::Entity), 1);
    // Overlapping the first, over the venue's capacity, outside its hours: nothing stored.
    let (s, v) = call(&app, p.staff, Method::POST, &path, &session(at(17), 20)).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(has_cjk(&message(&v)));
    let (s, _) = call(&app, p.staff, Method::POST, &path, &session(at(10), 50)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = call(&app, p.staff, Method::POST, &path, &session(at(21), 10)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(count!(app, venue_booking::Entity), 1);
    assert_eq!(count!(app, service_session::Entity), 1);
}

#[db_test]
async fn the_openapi_document_lists_the_social_service_routes(db: TestDb) {
    let app = TestApp::new(db);
    let doc = app.get("/api/v1/openapi.json").await.json();
    for (path, method) in [
        ("/api/v1/social-orgs", "post"),
        ("/api/v1/social-orgs/{id}", "get"),
        ("/api/v1/social-orgs/{id}/accounts", "post"),
        ("/api/v1/social-orgs/{id}/admissions", "post"),
        ("/api/v1/social-admissions", "get"),
        ("/api/v1/social-admissions/{id}/decision", "post"),
        ("/api/v1/service-kinds", "post"),
        ("/api/v1/social-orgs/{id}/services", "post"),
        ("/api/v1/services/{id}", "get"),
        ("/api/v1/services/{id}/sessions", "post"),
        ("/api/v1/service-sessions", "get"),
        ("/api/v1/service-sessions/{id}", "get"),
        ("/api/v1/service-sessions/{id}/registrations", "post"),
        ("/api/v1/service-sessions/{id}/registrations", "delete"),
        ("/api/v1/my-service-registrations", "get"),
        (
            "/api/v1/service-sessions/{id}/registrations/{registration_id}/check-in",
            "post",
        ),
        ("/api/v1/service-sessions/{id}/feedback", "post"),
        ("/api/v1/service-sessions/{id}/cancellation", "post"),
        ("/api/v1/social-figures", "get"),
    ] {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path}");
        assert_eq!(op["tags"][0], "social_services", "{method} {path}");
    }
    let schemas = &doc["components"]["schemas"];
    assert!(schemas["ServiceSessionView"].is_object());
    // The accounts' own session view is not overwritten.
    assert!(schemas["SessionView"].is_object());
    assert!(schemas["SocialFigures"].is_object());
}
