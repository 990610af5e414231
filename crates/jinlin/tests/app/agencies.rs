//! Tests of agencies and their pairing with compounds: the journey from
//! agencies through directed pairing and a solved two-way round, who may
//! do what on every route, refused input that stores nothing, and the
//! agency admin's reach over the paired compounds.

use axum::http::{Method, StatusCode};
use jinlin_agencies::entity::{
    agency, agency_member, agency_pairing, round_agency_preference, round_compound_preference,
};
use jinlin_kernel::auth::Role;
use jinlin_testkit::fixtures::{Tree, account, far_district, tree};
use jinlin_testkit::{TestDb, db_test};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::Value;

use crate::support::{TestApp, api_error, has_cjk};

struct People {
    district: i64,
    street: i64,
    other_street: i64,
    worker: i64,
    secretary: i64,
    secretary_n: i64,
    resident: i64,
    /// A district admin of another district.
    far_district: i64,
    agency_a: i64,
    agency_b: i64,
}

macro_rules! count {
    ($app:expr, $entity:ty) => {
        <$entity>::find().count($app.db.db.conn()).await.unwrap()
    };
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
        secretary_n: account(
            d,
            "secretary-n",
            Role::CompoundSecretary,
            t.neighbour.compound,
        )
        .await,
        resident: account(d, "resident", Role::Resident, t.compound.dwellings[0]).await,
        far_district: account(d, "far-district", Role::DistrictAdmin, other).await,
        agency_a: account(d, "agency-a", Role::AgencyAdmin, t.district).await,
        agency_b: account(d, "agency-b", Role::AgencyAdmin, t.district).await,
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

async fn new_agency(app: &TestApp, p: &People, t: &Tree, name: &str, category: &str) -> i64 {
    let (s, v) = call(
        app,
        p.district,
        Method::POST,
        "/api/v1/agencies",
        &format!(
            r#"{{"district_id": {}, "name": "{name}", "category": "{category}", "party_org_name": "{name}机关党支部", "contact": "0591-88000000"}}"#,
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

async fn pair(app: &TestApp, who: i64, agency: i64, compound: i64) -> (StatusCode, Value) {
    call(
        app,
        who,
        Method::POST,
        &format!("/api/v1/agencies/{agency}/pairings"),
        &format!(r#"{{"compound_id": {compound}}}"#),
    )
    .await
}

async fn place_status(app: &TestApp, who: i64, id: i64) -> StatusCode {
    app.client(who)
        .await
        .get(&format!("/api/v1/places/{id}"))
        .await
        .status
}

#[db_test]
async fn agencies_are_paired_directly_and_by_a_solved_round(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let a = new_agency(&app, &p, &t, "区住建局", "housing").await;
    let b = new_agency(&app, &p, &t, "区卫健局", "health").await;
    let c = new_agency(&app, &p, &t, "区教育局", "education").await;
    link(&app, &p, a, p.agency_a).await;
    link(&app, &p, b, p.agency_b).await;

    // Before any pairing the agency admin reaches no compound.
    assert_eq!(
        place_status(&app, p.agency_a, t.compound.compound).await,
        StatusCode::NOT_FOUND
    );

    // Directed pairing by the street admin.
    let (s, v) = pair(&app, p.street, a, t.compound.compound).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let pairing_a = v["id"].as_i64().unwrap();
    // The agency admin's principal now reaches exactly the paired compound.
    assert_eq!(
        place_status(&app, p.agency_a, t.compound.compound).await,
        StatusCode::OK
    );
    assert_eq!(
        place_status(&app, p.agency_a, t.neighbour.compound).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        place_status(&app, p.agency_a, t.far.compound).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        place_status(&app, p.agency_b, t.compound.compound).await,
        StatusCode::NOT_FOUND
    );

    // A district round: agency B and 榕城小区 choose each other; C states
    // nothing and is paired by directed fill with a compound no agency serves.
    let (s, v) = call(
        &app,
        p.district,
        Method::POST,
        "/api/v1/selection-rounds",
        &format!(
            r#"{{"scope_place_id": {}, "name": "2026年双向选择"}}"#,
            t.district
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let round = v["id"].as_i64().unwrap();
    let (s, v) = call(
        &app,
        p.agency_b,
        Method::PUT,
        &format!("/api/v1/selection-rounds/{round}/agencies/{b}"),
        &format!(
            r#"{{"capacity": 1, "compound_ids": [{}, {}]}}"#,
            t.neighbour.compound, t.far.compound
        ),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (s, v) = call(
        &app,
        p.secretary_n,
        Method::PUT,
        &format!(
            "/api/v1/selection-rounds/{round}/compounds/{}",
            t.neighbour.compound
        ),
        &format!(r#"{{"agency_ids": [{b}, {c}], "needs": "老人较多，需要健康义诊"}}"#),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    // The secretary sees her own preferences, not the agency's.
    let (_, mine) = call(
        &app,
        p.secretary_n,
        Method::GET,
        &format!("/api/v1/selection-rounds/{round}"),
        "",
    )
    .await;
    assert_eq!(mine["compound_preferences"].as_array().unwrap().len(), 1);
    assert!(mine["agency_preferences"].as_array().unwrap().is_empty());
    assert_eq!(
        mine["my_compounds"],
        serde_json::json!([t.neighbour.compound])
    );

    let (s, v) = call(
        &app,
        p.district,
        Method::POST,
        &format!("/api/v1/selection-rounds/{round}/solve"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["state"], "solved");
    let pairs = v["report"]["pairs"].as_array().unwrap();
    assert!(pairs.iter().any(|x| x["agency"]["id"] == b
        && x["compound"]["id"] == t.neighbour.compound
        && x["route"] == "two_way"));
    assert!(pairs.iter().any(|x| x["agency"]["id"] == c
        && x["compound"]["id"] == t.far.compound
        && x["route"] == "directed"));
    let agencies = v["report"]["agencies"].as_array().unwrap();
    let line = |id: i64| agencies.iter().find(|l| l["id"] == id).unwrap().clone();
    assert_eq!(line(a)["reason"], "no_preferences");
    assert_eq!(line(a)["directed"], false);
    assert_eq!(line(c)["reason"], "no_preferences");
    assert_eq!(line(c)["directed"], true);
    // A second solve is refused.
    let (s, _) = call(
        &app,
        p.district,
        Method::POST,
        &format!("/api/v1/selection-rounds/{round}/solve"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);

    // Every agency holds at least one compound.
    let (_, list) = call(&app, p.district, Method::GET, "/api/v1/agencies", "").await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 3);
    assert!(
        list.iter()
            .all(|x| x["current_pairings"].as_u64() >= Some(1))
    );
    let (s, f) = call(
        &app,
        p.district,
        Method::GET,
        &format!("/api/v1/agency-figures/{}", t.district),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{f}");
    assert_eq!(f["agencies"], 3);
    assert_eq!(f["agencies_paired"], 3);
    assert_eq!(f["agencies_paired_percent"], "100.0%");
    assert_eq!(f["compounds_paired"], 3);
    assert_eq!(f["children"].as_array().unwrap().len(), 2);
    let (s, f) = call(
        &app,
        p.street,
        Method::GET,
        &format!("/api/v1/agency-figures/{}", t.street),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{f}");
    assert_eq!(f["compounds"], 2);
    assert_eq!(f["compounds_paired"], 2);

    // Agency B reaches 榕城小区 after the round.
    assert_eq!(
        place_status(&app, p.agency_b, t.neighbour.compound).await,
        StatusCode::OK
    );

    // Ending a pairing keeps it as history and takes the reach away.
    let (s, v) = call(
        &app,
        p.street,
        Method::POST,
        &format!("/api/v1/agency-pairings/{pairing_a}/end"),
        r#"{"reason": "机构改革，职能调整"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    assert_eq!(
        place_status(&app, p.agency_a, t.compound.compound).await,
        StatusCode::NOT_FOUND
    );
    let (s, history) = call(
        &app,
        p.resident,
        Method::GET,
        &format!("/api/v1/places/{}/agencies", t.compound.compound),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{history}");
    let h = history.as_array().unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!(h[0]["agency_name"], "区住建局");
    assert_eq!(h[0]["end_reason"], "机构改革，职能调整");
    assert!(h[0]["ended_at"].is_string());
    let (_, view) = call(
        &app,
        p.district,
        Method::GET,
        &format!("/api/v1/agencies/{a}"),
        "",
    )
    .await;
    assert_eq!(view["pairings"].as_array().unwrap().len(), 1);
    assert_eq!(view["accounts"][0]["username"], "agency-a");
    assert_eq!(count!(app, agency_pairing::Entity), 3);
}

/// Every route: anonymous 401, outside the scope 404, inside without the
/// power 403.
#[db_test]
async fn every_route_answers_by_scope_and_role(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let a = new_agency(&app, &p, &t, "区城管局", "urban_management").await;
    let spare = new_agency(&app, &p, &t, "区民政局", "civil_affairs").await;
    link(&app, &p, a, p.agency_a).await;
    let (_, v) = pair(&app, p.street, a, t.compound.compound).await;
    let pairing = v["id"].as_i64().unwrap();
    let (_, v) = call(
        &app,
        p.street,
        Method::POST,
        "/api/v1/selection-rounds",
        &format!(
            r#"{{"scope_place_id": {}, "name": "金山街道双向选择"}}"#,
            t.street
        ),
    )
    .await;
    let round = v["id"].as_i64().unwrap();

    let agency_body = format!(
        r#"{{"district_id": {}, "name": "区司法局", "category": "other", "party_org_name": "区司法局党支部"}}"#,
        t.district
    );
    let pair_body = format!(r#"{{"compound_id": {}}}"#, t.neighbour.compound);
    let link_body = format!(r#"{{"account_id": {}}}"#, p.agency_b);
    let round_body = format!(r#"{{"scope_place_id": {}, "name": "另一轮"}}"#, t.street);
    let apref = format!(
        r#"{{"capacity": 1, "compound_ids": [{}]}}"#,
        t.compound.compound
    );
    let cpref = format!(r#"{{"agency_ids": [{a}], "needs": "停车难"}}"#);
    let end_body = r#"{"reason": "调整"}"#;
    let member_body = r#"{"name": "林志强", "role": "liaison"}"#;

    struct Case<'a> {
        method: Method,
        path: String,
        body: &'a str,
        outside: i64,
        /// Inside the scope without the power to act (403), if any.
        powerless: Option<i64>,
    }
    let cases = vec![
        Case {
            method: Method::GET,
            path: "/api/v1/agencies".into(),
            body: "",
            outside: 0,
            powerless: None,
        },
        Case {
            method: Method::POST,
            path: "/api/v1/agencies".into(),
            body: &agency_body,
            outside: p.far_district,
            powerless: Some(p.street),
        },
        Case {
            method: Method::GET,
            path: format!("/api/v1/agencies/{a}"),
            body: "",
            outside: p.far_district,
            powerless: None,
        },
        Case {
            method: Method::PUT,
            path: format!("/api/v1/agencies/{a}"),
            body: &agency_body,
            outside: p.far_district,
            powerless: Some(p.street),
        },
        Case {
            method: Method::DELETE,
            path: format!("/api/v1/agencies/{spare}"),
            body: "",
            outside: p.far_district,
            powerless: Some(p.agency_a),
        },
        Case {
            method: Method::POST,
            path: format!("/api/v1/agencies/{a}/accounts"),
            body: &link_body,
            outside: p.far_district,
            powerless: Some(p.street),
        },
        Case {
            method: Method::DELETE,
            path: format!("/api/v1/agencies/{a}/accounts/{}", p.agency_a),
            body: "",
            outside: p.far_district,
            powerless: Some(p.agency_a),
        },
        Case {
            method: Method::GET,
            path: format!("/api/v1/agencies/{a}/members"),
            body: "",
            outside: p.far_district,
            powerless: None,
        },
        Case {
            method: Method::POST,
            path: format!("/api/v1/agencies/{a}/members"),
            body: member_body,
            outside: p.far_district,
            powerless: Some(p.agency_b),
        },
        Case {
            method: Method::DELETE,
            path: format!("/api/v1/agencies/{a}/members/1"),
            body: "",
            outside: p.far_district,
            powerless: Some(p.street),
        },
        Case {
            method: Method::GET,
            path: format!("/api/v1/agencies/{a}/pairings"),
            body: "",
            outside: p.far_district,
            powerless: None,
        },
        Case {
            method: Method::POST,
            path: format!("/api/v1/agencies/{a}/pairings"),
            body: &pair_body,
            outside: p.far_district,
            powerless: Some(p.worker),
        },
        Case {
            method: Method::POST,
            path: format!("/api/v1/agency-pairings/{pairing}/end"),
            body: end_body,
            outside: p.other_street,
            powerless: Some(p.worker),
        },
        Case {
            method: Method::GET,
            path: format!("/api/v1/places/{}/agencies", t.compound.compound),
            body: "",
            outside: p.other_street,
            powerless: None,
        },
        Case {
            method: Method::GET,
            path: "/api/v1/selection-rounds".into(),
            body: "",
            outside: 0,
            powerless: None,
        },
        Case {
            method: Method::POST,
            path: "/api/v1/selection-rounds".into(),
            body: &round_body,
            outside: p.other_street,
            powerless: Some(p.worker),
        },
        Case {
            method: Method::GET,
            path: format!("/api/v1/selection-rounds/{round}"),
            body: "",
            outside: p.other_street,
            powerless: None,
        },
        Case {
            method: Method::PUT,
            path: format!("/api/v1/selection-rounds/{round}/agencies/{a}"),
            body: &apref,
            outside: p.other_street,
            powerless: Some(p.street),
        },
        Case {
            method: Method::PUT,
            path: format!(
                "/api/v1/selection-rounds/{round}/compounds/{}",
                t.compound.compound
            ),
            body: &cpref,
            outside: p.secretary_n,
            powerless: Some(p.worker),
        },
        Case {
            method: Method::POST,
            path: format!("/api/v1/selection-rounds/{round}/solve"),
            body: "",
            outside: p.other_street,
            powerless: Some(p.agency_a),
        },
        Case {
            method: Method::POST,
            path: format!("/api/v1/selection-rounds/{round}/close"),
            body: "",
            outside: p.other_street,
            powerless: Some(p.agency_a),
        },
        Case {
            method: Method::GET,
            path: format!("/api/v1/agency-figures/{}", t.street),
            body: "",
            outside: p.other_street,
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
        if case.outside != 0 {
            let (s, v) = call(
                &app,
                case.outside,
                case.method.clone(),
                &case.path,
                case.body,
            )
            .await;
            assert_eq!(
                s,
                StatusCode::NOT_FOUND,
                "outside {} {}: {v}",
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
    assert_eq!(count!(app, agency::Entity), 2);
    assert_eq!(count!(app, agency_member::Entity), 0);
    assert_eq!(count!(app, agency_pairing::Entity), 1);
    assert_eq!(count!(app, round_agency_preference::Entity), 0);
    assert_eq!(count!(app, round_compound_preference::Entity), 0);
    // Outside the district, the list is empty.
    let (_, list) = call(&app, p.far_district, Method::GET, "/api/v1/agencies", "").await;
    assert_eq!(list, serde_json::json!([]));

    // And the allowed side of each write works: the agency's own admin
    // keeps its members.
    let (s, v) = call(
        &app,
        p.agency_a,
        Method::POST,
        &format!("/api/v1/agencies/{a}/members"),
        member_body,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let member = v["id"].as_i64().unwrap();
    let (_, members) = call(
        &app,
        p.resident,
        Method::GET,
        &format!("/api/v1/agencies/{a}/members"),
        "",
    )
    .await;
    assert_eq!(members[0]["name"], "林志强");
    // A member is someone of the agency's district: an account from
    // elsewhere is refused like one that does not exist, and nothing is
    // stored; an account of the district is taken.
    let before = count!(app, agency_member::Entity);
    let (s, v) = call(
        &app,
        p.agency_a,
        Method::POST,
        &format!("/api/v1/agencies/{a}/members"),
        &format!(
            r#"{{"name": "外区人员", "role": "党员", "account_id": {}}}"#,
            p.far_district
        ),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["message"], "输入有误：账号不存在");
    assert_eq!(count!(app, agency_member::Entity), before);
    let (s, v) = call(
        &app,
        p.agency_a,
        Method::POST,
        &format!("/api/v1/agencies/{a}/members"),
        &format!(
            r#"{{"name": "本区党员", "role": "党员", "account_id": {}}}"#,
            p.resident
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, _) = call(
        &app,
        p.agency_a,
        Method::DELETE,
        &format!("/api/v1/agencies/{a}/members/{member}"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = call(
        &app,
        p.agency_a,
        Method::PUT,
        &format!("/api/v1/selection-rounds/{round}/agencies/{a}"),
        &apref,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (s, v) = call(
        &app,
        p.secretary,
        Method::PUT,
        &format!(
            "/api/v1/selection-rounds/{round}/compounds/{}",
            t.compound.compound
        ),
        &cpref,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (s, v) = call(
        &app,
        p.street,
        Method::POST,
        &format!("/api/v1/selection-rounds/{round}/solve"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = call(
        &app,
        p.district,
        Method::DELETE,
        &format!("/api/v1/agencies/{spare}"),
        "",
    )
    .await;
    // 区民政局 was paired by the round's directed fill: its history stays.
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
}

#[db_test]
async fn bad_input_is_refused_with_a_message_and_nothing_stored(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let a = new_agency(&app, &p, &t, "区住建局", "housing").await;
    link(&app, &p, a, p.agency_a).await;

    // An unknown compound, and one outside the street admin's scope.
    for (who, compound) in [
        (p.street, 999_999),
        (p.street, t.far.compound),
        (p.district, t.street),
    ] {
        let r = app
            .client(who)
            .await
            .json(
                Method::POST,
                &format!("/api/v1/agencies/{a}/pairings"),
                &format!(r#"{{"compound_id": {compound}}}"#),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
        let (_, message) = api_error(&r);
        assert!(message.contains("小区"), "{message}");
    }
    assert_eq!(count!(app, agency_pairing::Entity), 0);

    // An agency without a name, in English.
    let r = app
        .client(p.district)
        .await
        .json(
            Method::POST,
            "/api/v1/agencies",
            &format!(
                r#"{{"district_id": {}, "name": "  ", "category": "housing", "party_org_name": "x"}}"#,
                t.district
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(count!(app, agency::Entity), 1);

    let (_, v) = call(
        &app,
        p.district,
        Method::POST,
        "/api/v1/selection-rounds",
        &format!(r#"{{"scope_place_id": {}, "name": "第一轮"}}"#, t.district),
    )
    .await;
    let round = v["id"].as_i64().unwrap();
    let agency_pref = format!("/api/v1/selection-rounds/{round}/agencies/{a}");
    let c = t.compound.compound;
    for (body, fragment) in [
        (
            format!(r#"{{"capacity": 0, "compound_ids": [{c}]}}"#),
            "1 至 100",
        ),
        (
            format!(r#"{{"capacity": 2, "compound_ids": [{c}, {c}]}}"#),
            "重复",
        ),
        (
            r#"{"capacity": 1, "compound_ids": [999999]}"#.to_string(),
            "小区不存在",
        ),
    ] {
        let r = app
            .client(p.agency_a)
            .await
            .json(Method::PUT, &agency_pref, &body)
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
        let (_, message) = api_error(&r);
        assert!(message.contains(fragment), "{message}");
    }
    let r = app
        .client(p.secretary)
        .await
        .json(
            Method::PUT,
            &format!("/api/v1/selection-rounds/{round}/compounds/{c}"),
            &format!(r#"{{"agency_ids": [{a}, {a}]}}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(count!(app, round_agency_preference::Entity), 0);
    assert_eq!(count!(app, round_compound_preference::Entity), 0);

    // A round called off takes no preferences and cannot be solved.
    let (s, _) = call(
        &app,
        p.district,
        Method::POST,
        &format!("/api/v1/selection-rounds/{round}/close"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let r = app
        .client(p.agency_a)
        .await
        .json(
            Method::PUT,
            &agency_pref,
            &format!(r#"{{"capacity": 1, "compound_ids": [{c}]}}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    let (s, _) = call(
        &app,
        p.district,
        Method::POST,
        &format!("/api/v1/selection-rounds/{round}/solve"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(count!(app, round_agency_preference::Entity), 0);
    assert_eq!(count!(app, agency_pairing::Entity), 0);

    // Ending a pairing twice: the second is refused, the first reason stays.
    let (_, v) = pair(&app, p.street, a, c).await;
    let id = v["id"].as_i64().unwrap();
    let end = format!("/api/v1/agency-pairings/{id}/end");
    let empty = app
        .client(p.street)
        .await
        .json(Method::POST, &end, r#"{"reason": " "}"#)
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = call(&app, p.street, Method::POST, &end, r#"{"reason": "到期"}"#).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let again = app
        .client(p.street)
        .await
        .json(Method::POST, &end, r#"{"reason": "再次"}"#)
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let (code, message) = api_error(&again);
    assert_eq!(code, "conflict");
    assert!(has_cjk(&message), "{message}");
    let stored = agency_pairing::Entity::find_by_id(id)
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.end_reason.as_deref(), Some("到期"));
    // Pairing the same agency and compound twice while current is refused.
    let (s, _) = pair(&app, p.street, a, t.neighbour.compound).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = pair(&app, p.street, a, t.neighbour.compound).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(count!(app, agency_pairing::Entity), 2);
}

#[db_test]
async fn pages_show_agencies_pairings_and_a_round_in_both_languages(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let a = new_agency(&app, &p, &t, "区住建局", "housing").await;
    link(&app, &p, a, p.agency_a).await;
    let district = app.client(p.district).await;

    // A form creates an agency, another pairs it.
    let r = district
        .form(
            "/agencies",
            &[
                ("district_id", &t.district.to_string()),
                ("name", "区卫健局"),
                ("category", "health"),
                ("party_org_name", "区卫健局机关党委"),
                ("contact", ""),
            ],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let street = app.client(p.street).await;
    let r = street
        .form(
            &format!("/agencies/{a}/pair"),
            &[("compound_id", &t.compound.compound.to_string())],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    // Without the CSRF token nothing happens.
    let r = street
        .form(
            &format!("/agencies/{a}/pair"),
            &[("compound_id", &t.neighbour.compound.to_string())],
            false,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(count!(app, agency_pairing::Entity), 1);

    let zh = district.get("/agencies").await;
    assert_eq!(zh.status, StatusCode::OK);
    assert!(zh.text().contains("机关单位挂钩联系"));
    assert!(zh.text().contains("区卫健局"));
    let en = district.get_en("/agencies").await;
    assert!(en.text().contains("Agencies and pairing"));
    assert!(en.text().contains("New selection round"));

    let page = street.get(&format!("/agencies/{a}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("金山花园"));
    assert!(page.text().contains("定向结对"));
    let page = street.get_en(&format!("/agencies/{a}")).await;
    assert!(page.text().contains("Directed"));

    let page = app
        .client(p.agency_a)
        .await
        .get(&format!("/places/{}/agencies", t.compound.compound))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("区住建局"));
    let far = app
        .client(p.agency_a)
        .await
        .get(&format!("/places/{}/agencies", t.neighbour.compound))
        .await;
    assert_eq!(far.status, StatusCode::NOT_FOUND);

    // A round from the page, preferences from its forms, solved.
    let r = street
        .form(
            "/selection-rounds",
            &[
                ("scope_place_id", &t.street.to_string()),
                ("name", "金山街道第一轮"),
            ],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let round = r
        .header("location")
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .parse::<i64>()
        .unwrap();
    let agency_page = app
        .client(p.agency_a)
        .await
        .get(&format!("/selection-rounds/{round}"))
        .await;
    assert!(
        agency_page.text().contains("可联系小区数"),
        "{}",
        agency_page.text()
    );
    let r = app
        .client(p.agency_a)
        .await
        .form(
            &format!("/selection-rounds/{round}/agencies/{a}"),
            &[
                ("capacity", "1"),
                ("ranks", &t.neighbour.compound.to_string()),
            ],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let r = app
        .client(p.secretary_n)
        .await
        .form(
            &format!(
                "/selection-rounds/{round}/compounds/{}",
                t.neighbour.compound
            ),
            &[("ranks", &a.to_string()), ("needs", "加装电梯")],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let r = street
        .form(&format!("/selection-rounds/{round}/solve"), &[], true)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let zh = street.get(&format!("/selection-rounds/{round}")).await;
    assert!(zh.text().contains("匹配结果"), "{}", zh.text());
    assert!(zh.text().contains("加装电梯"));
    assert!(zh.text().contains("双向选择"));
    let en = street.get_en(&format!("/selection-rounds/{round}")).await;
    assert!(en.text().contains("Solve report"));
    assert!(en.text().contains("Two-way selection"));
}

#[db_test]
async fn the_openapi_document_lists_the_agency_routes(db: TestDb) {
    let app = TestApp::new(db);
    let doc = app.get("/api/v1/openapi.json").await.json();
    for (path, method) in [
        ("/api/v1/agencies", "post"),
        ("/api/v1/agencies/{id}", "put"),
        ("/api/v1/agencies/{id}/accounts", "post"),
        ("/api/v1/agencies/{id}/members", "post"),
        ("/api/v1/agencies/{id}/members/{member_id}", "delete"),
        ("/api/v1/agencies/{id}/pairings", "post"),
        ("/api/v1/agency-pairings/{id}/end", "post"),
        ("/api/v1/places/{id}/agencies", "get"),
        ("/api/v1/selection-rounds/{id}/agencies/{agency_id}", "put"),
        (
            "/api/v1/selection-rounds/{id}/compounds/{compound_id}",
            "put",
        ),
        ("/api/v1/selection-rounds/{id}/solve", "post"),
        ("/api/v1/agency-figures/{place_id}", "get"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
    }
    assert!(doc["components"]["schemas"]["SelectionRoundView"].is_object());
}

/// Two solves of one round, or two ends of one pairing, run in turn: one
/// succeeds, the other is refused, and nothing is stored twice.
#[db_test]
async fn concurrent_solves_and_ends_run_in_turn(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let a = new_agency(&app, &p, &t, "区住建局", "housing").await;
    new_agency(&app, &p, &t, "区卫健局", "health").await;
    let (_, v) = call(
        &app,
        p.district,
        Method::POST,
        "/api/v1/selection-rounds",
        &format!(r#"{{"scope_place_id": {}, "name": "并发"}}"#, t.district),
    )
    .await;
    let round = v["id"].as_i64().unwrap();
    let solve = format!("/api/v1/selection-rounds/{round}/solve");
    let c1 = app.client(p.district).await;
    let c2 = app.client(p.district).await;
    let (x, y) = tokio::join!(
        c1.json(Method::POST, &solve, ""),
        c2.json(Method::POST, &solve, "")
    );
    let mut statuses = [x.status, y.status];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CONFLICT],
        "{} {}",
        x.text(),
        y.text()
    );
    assert_eq!(count!(app, agency_pairing::Entity), 2);

    let id = agency_pairing::Entity::find()
        .all(app.db.db.conn())
        .await
        .unwrap()
        .into_iter()
        .find(|x| x.agency_id == a)
        .unwrap()
        .id;
    let end = format!("/api/v1/agency-pairings/{id}/end");
    let (x, y) = tokio::join!(
        c1.json(Method::POST, &end, r#"{"reason": "甲"}"#),
        c2.json(Method::POST, &end, r#"{"reason": "乙"}"#)
    );
    let mut statuses = [x.status, y.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::NO_CONTENT, StatusCode::CONFLICT]);
}

/// The demo: every agency is paired, the demo agency admin reaches the
/// compound of the demo secretary, and a street's round waits for the
/// demo agency's preferences.
#[db_test]
async fn the_demo_pairs_every_agency_and_links_the_agency_admin(db: TestDb) {
    jinlin::demo::load_once_at(
        &db.db,
        Some(&jinlin_kernel::crypto::Secrets::from_bytes([7; 32])),
        jinlin_seed::plan::Scale::Small,
    )
    .await
    .unwrap();
    let app = TestApp::new(db);
    let conn = app.db.db.conn();
    let agencies = agency::Entity::find().all(conn).await.unwrap();
    assert!(agencies.len() >= 5, "{} agencies", agencies.len());
    let pairings = agency_pairing::Entity::find().all(conn).await.unwrap();
    for a in &agencies {
        assert!(
            pairings.iter().any(|p| p.agency_id == a.id),
            "{} is not paired",
            a.name
        );
    }
    assert!(count!(app, agency_member::Entity) > 0);

    let admin = jinlin_kernel::auth::entity::account::Entity::find()
        .all(conn)
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.username == "agency")
        .unwrap()
        .id;
    let (s, mine) = call(&app, admin, Method::GET, "/api/v1/agencies", "").await;
    assert_eq!(s, StatusCode::OK, "{mine}");
    let first = &agencies[0];
    let (s, paired) = call(
        &app,
        admin,
        Method::GET,
        &format!("/api/v1/agencies/{}/pairings", first.id),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{paired}");
    let compound = pairings
        .iter()
        .find(|p| p.agency_id == first.id)
        .unwrap()
        .compound_id;
    let (s, v) = call(
        &app,
        admin,
        Method::GET,
        &format!("/api/v1/places/{compound}"),
        "",
    )
    .await;
    assert_eq!(
        s,
        StatusCode::OK,
        "the agency admin reaches its compound: {v}"
    );

    let (s, rounds) = call(&app, admin, Method::GET, "/api/v1/selection-rounds", "").await;
    assert_eq!(s, StatusCode::OK, "{rounds}");
    assert!(
        rounds
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["state"] == "open"),
        "{rounds}"
    );
    assert!(count!(app, round_agency_preference::Entity) > 0);
    assert!(count!(app, round_compound_preference::Entity) > 0);
}
