//! Tests of cohesion pilots (邻聚力工程): designation and its end with the
//! history kept, the indicators a street tracks, the comparison of pilots
//! with the rest checked against figures computed by hand, who may do what
//! on every route, refused input that stores nothing, the pages and the
//! demo.

use axum::http::{Method, StatusCode};
use chrono::{Duration, NaiveDate, Utc};
use jinlin_agencies::entity::{agency, agency_pairing};
use jinlin_deliberation::entity::matter as deliberation;
use jinlin_kernel::auth::Role;
use jinlin_organisations::entity::party_org;
use jinlin_pilots::entity::{pilot_compound, pilot_indicator};
use jinlin_places::entity::{compound, dwelling};
use jinlin_resident_matters::entity::{category, matter as resident_matter};
use jinlin_testkit::fixtures::{Tree, account, tree};
use jinlin_testkit::{TestDb, db_test};
use sea_orm::ActiveValue::Set;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::support::{TestApp, api_error, has_cjk};

struct People {
    district: i64,
    street: i64,
    other_street: i64,
    worker: i64,
    far_worker: i64,
    secretary: i64,
    resident: i64,
    agency: i64,
}

macro_rules! count {
    ($app:expr, $entity:ty) => {
        <$entity>::find().count($app.db.db.conn()).await.unwrap()
    };
}

async fn setup(db: TestDb) -> (TestApp, Tree, People) {
    let t = tree(&db.db).await;
    let d = &db.db;
    let p = People {
        district: account(d, "district", Role::DistrictAdmin, t.district).await,
        street: account(d, "street", Role::StreetAdmin, t.street).await,
        other_street: account(d, "other-street", Role::StreetAdmin, t.other_street).await,
        worker: account(d, "worker", Role::CommunityWorker, t.community).await,
        far_worker: account(d, "far-worker", Role::CommunityWorker, t.other_community).await,
        secretary: account(d, "secretary", Role::CompoundSecretary, t.compound.compound).await,
        resident: account(d, "resident", Role::Resident, t.compound.dwellings[0]).await,
        agency: account(d, "agency", Role::AgencyAdmin, t.district).await,
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
    } else {
        c.json(method, path, body).await
    };
    let v = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (r.status, v)
}

async fn designate(
    app: &TestApp,
    who: i64,
    street: i64,
    compound: i64,
    kind: &str,
) -> (StatusCode, Value) {
    call(
        app,
        who,
        Method::POST,
        &format!("/api/v1/places/{street}/pilots"),
        &json!({"compound_id": compound, "type": kind, "note": "试点"}).to_string(),
    )
    .await
}

async fn track(app: &TestApp, who: i64, street: i64, indicators: &[&str]) -> (StatusCode, Value) {
    call(
        app,
        who,
        Method::PUT,
        &format!("/api/v1/places/{street}/pilot-indicators"),
        &json!({ "indicators": indicators }).to_string(),
    )
    .await
}

/// The records the hand-computed figures come from:
///
/// | compound | registry | party org | agencies | dwellings | matters (90 days) | deliberations concluded |
/// |---|---|---|---|---|---|---|
/// | 金山花园 | commercial, new town | yes | 2 | 2 | 2: one closed satisfied, one in hand | 1 |
/// | 榕城小区 | resettlement, old town | no | 1 | 1 | 1 closed basically satisfied (and one too old, one merged) | 0 |
/// | 城门小区 | commercial, old town | yes | 0 | 1 | none | 2 |
async fn records(app: &TestApp, t: &Tree) {
    let db = app.db.db.conn();
    let now = Utc::now();
    for (c, kind, area) in [
        (t.compound.compound, "commercial", "new"),
        (t.neighbour.compound, "resettlement", "old"),
        (t.far.compound, "commercial", "old"),
    ] {
        compound::Entity::insert(compound::ActiveModel {
            place_id: Set(c),
            district_code: Set("350104".into()),
            compound_type: Set(kind.into()),
            town_area: Set(area.into()),
            address: Set("仓山区".into()),
            latitude_e6: Set(None),
            longitude_e6: Set(None),
            owners_committee: Set(None),
            property_company: Set(None),
        })
        .exec(db)
        .await
        .unwrap();
    }
    for (c, list) in [
        (
            t.compound.compound,
            vec![t.compound.dwellings[0], t.compound.dwellings[1]],
        ),
        (t.neighbour.compound, vec![t.neighbour.dwellings[0]]),
        (t.far.compound, vec![t.far.dwellings[0]]),
    ] {
        for d in list {
            dwelling::Entity::insert(dwelling::ActiveModel {
                place_id: Set(d),
                district_code: Set("350104".into()),
                compound_id: Set(c),
                area_centi_m2: Set(9000),
                area_source: Set("register".into()),
            })
            .exec(db)
            .await
            .unwrap();
        }
    }
    for (street, community, c, name) in [
        (t.street, t.community, t.compound.compound, "金山花园党支部"),
        (
            t.other_street,
            t.other_community,
            t.far.compound,
            "城门小区党支部",
        ),
    ] {
        party_org::Entity::insert(party_org::ActiveModel {
            district_code: Set("350104".into()),
            street_id: Set(Some(street)),
            community_id: Set(Some(community)),
            compound_id: Set(c),
            parent_place_id: Set(Some(community)),
            kind: Set("branch".into()),
            name: Set(name.into()),
            founded_on: Set(NaiveDate::from_ymd_opt(2021, 7, 1).unwrap()),
            secretary_person_id: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .exec(db)
        .await
        .unwrap();
    }
    let mut agencies = Vec::new();
    for name in ["区住建局", "区卫健局"] {
        agencies.push(
            agency::Entity::insert(agency::ActiveModel {
                district_code: Set("350104".into()),
                name: Set(name.into()),
                category: Set("other".into()),
                party_org_name: Set(format!("{name}党支部")),
                contact: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            })
            .exec(db)
            .await
            .unwrap()
            .last_insert_id,
        );
    }
    for (a, c, ended) in [
        (agencies[0], t.compound.compound, false),
        (agencies[1], t.compound.compound, false),
        (agencies[0], t.neighbour.compound, false),
        // An ended pairing counts for nothing.
        (agencies[1], t.far.compound, true),
    ] {
        agency_pairing::Entity::insert(agency_pairing::ActiveModel {
            agency_id: Set(a),
            compound_id: Set(c),
            district_code: Set("350104".into()),
            street_id: Set(None),
            community_id: Set(None),
            route: Set("directed".into()),
            round_id: Set(None),
            started_at: Set(now - Duration::days(100)),
            ended_at: Set(ended.then_some(now - Duration::days(10))),
            end_reason: Set(None),
            created_by: Set(None),
            ended_by: Set(None),
            ..Default::default()
        })
        .exec(db)
        .await
        .unwrap();
    }
    let category = category::Entity::find()
        .one(db)
        .await
        .unwrap()
        .expect("the catalogue of categories")
        .id;
    for (c, street, days_ago, state, satisfaction) in [
        (
            t.compound.compound,
            t.street,
            10,
            "closed",
            Some("satisfied"),
        ),
        (t.compound.compound, t.street, 10, "handling", None),
        (
            t.neighbour.compound,
            t.street,
            5,
            "closed",
            Some("basically"),
        ),
        (
            t.neighbour.compound,
            t.street,
            100,
            "closed",
            Some("satisfied"),
        ),
        (t.neighbour.compound, t.street, 3, "merged", None),
    ] {
        let at = now - Duration::days(days_ago);
        resident_matter::Entity::insert(resident_matter::ActiveModel {
            district_code: Set("350104".into()),
            street_id: Set(Some(street)),
            community_id: Set(Some(t.community)),
            compound_id: Set(c),
            place_id: Set(c),
            address: Set(None),
            latitude_e6: Set(None),
            longitude_e6: Set(None),
            reporter_account_id: Set(None),
            reporter_person_id: Set(None),
            reporter_role: Set("resident".into()),
            category_id: Set(category),
            urgency: Set("normal".into()),
            title: Set("楼道灯不亮".into()),
            description: Set("三楼楼道灯坏了".into()),
            public: Set(true),
            state: Set(state.into()),
            holder_kind: Set("property".into()),
            holder_place_id: Set(None),
            holder_account_id: Set(None),
            holder_org: Set(None),
            received_by: Set(None),
            dispatched_at: Set(None),
            due_at: Set(None),
            warn_at: Set(None),
            warned_at: Set(None),
            escalation_level: Set(0),
            merged_into: Set(None),
            reopened_count: Set(0),
            satisfaction: Set(satisfaction.map(Into::into)),
            satisfaction_comment: Set(None),
            closed_at: Set(None),
            created_at: Set(at),
            updated_at: Set(at),
            ..Default::default()
        })
        .exec(db)
        .await
        .unwrap();
    }
    for (c, street, community, state) in [
        (t.compound.compound, t.street, t.community, "closed"),
        (t.compound.compound, t.street, t.community, "consult"),
        (t.far.compound, t.other_street, t.other_community, "closed"),
        (t.far.compound, t.other_street, t.other_community, "closed"),
    ] {
        deliberation::Entity::insert(deliberation::ActiveModel {
            district_code: Set("350104".into()),
            street_id: Set(Some(street)),
            community_id: Set(Some(community)),
            compound_id: Set(c),
            title: Set("加装电梯".into()),
            description: Set("2号楼加装电梯".into()),
            state: Set(state.into()),
            joint_decision: Set(None),
            proposer_account_id: Set(None),
            proposer_name: Set("业主".into()),
            review_from: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .exec(db)
        .await
        .unwrap();
    }
}

fn close(v: &Value, expected: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - expected).abs() < 1e-9)
}

#[db_test]
async fn pilots_are_designated_ended_and_compared_with_the_rest(db: TestDb) {
    let (app, t, p) = setup(db).await;
    records(&app, &t).await;

    // 金山花园 is a commercial pilot of 金山街道; 城门小区 an old-town
    // pilot of 仓山镇 (designated by the district admin).
    let (s, v) = designate(&app, p.street, t.street, t.compound.compound, "commercial").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let first = v["id"].as_i64().unwrap();
    let (s, v) = designate(&app, p.district, t.other_street, t.far.compound, "old_town").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    // Ending keeps the history; the compound may be designated again.
    let end = format!("/api/v1/pilots/{first}/end");
    let (s, v) = call(
        &app,
        p.street,
        Method::POST,
        &end,
        r#"{"reason": "调整试点类型"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (s, _) = call(&app, p.street, Method::POST, &end, r#"{"reason": "再次"}"#).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, v) = designate(&app, p.street, t.street, t.compound.compound, "commercial").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, list) = call(
        &app,
        p.worker,
        Method::GET,
        &format!("/api/v1/places/{}/pilots", t.street),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["current"], true);
    assert_eq!(list[0]["type"], "commercial");
    assert_eq!(list[0]["compound_name"], "金山花园");
    assert_eq!(list[1]["current"], false);
    assert_eq!(list[1]["end_reason"], "调整试点类型");
    let (_, all) = call(
        &app,
        p.district,
        Method::GET,
        &format!("/api/v1/places/{}/pilots", t.district),
        "",
    )
    .await;
    assert_eq!(all.as_array().unwrap().len(), 3);

    // The indicators each street tracks.
    let (s, v) = track(
        &app,
        p.street,
        t.street,
        &[
            "party_org",
            "matters_per_100_dwellings",
            "satisfaction",
            "agencies_paired",
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["tracked"][1], "matters_per_100_dwellings");
    assert_eq!(v["catalogue"].as_array().unwrap().len(), 7);
    let (s, _) = track(
        &app,
        p.other_street,
        t.other_street,
        &["party_org", "deliberations_concluded"],
    )
    .await;
    assert_eq!(s, StatusCode::OK);

    // The district view, against the figures of `records` by hand.
    let (s, c) = call(
        &app,
        p.district,
        Method::GET,
        &format!("/api/v1/places/{}/pilot-comparison", t.district),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["compounds"], 3);
    assert_eq!(c["pilots"], 2);
    assert_eq!(c["window_days"], 90);
    let order: Vec<&str> = c["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["indicator"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        [
            "party_org",
            "agencies_paired",
            "matters_per_100_dwellings",
            "satisfaction",
            "deliberations_concluded"
        ]
    );
    let ind = |code: &str| {
        c["indicators"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["indicator"] == code)
            .unwrap()
            .clone()
    };
    // Party organisations: both pilots have one, 榕城小区 none.
    let po = ind("party_org");
    assert_eq!(po["unit"], "share");
    assert!(close(&po["pilots"]["mean"], 1.0));
    assert_eq!(po["pilots"]["n"], 2);
    assert_eq!(po["pilots"]["display"], "100.0%");
    assert!(close(&po["rest"]["mean"], 0.0));
    assert_eq!(po["rest"]["display"], "0.0%");
    let by = |i: &Value, kind: &str| {
        i["by_type"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["type"] == kind)
            .unwrap()
            .clone()
    };
    // By type: the commercial pilot against the other commercial compounds
    // (none); the old-town pilot against 榕城小区 (old town).
    assert_eq!(by(&po, "commercial")["pilots"]["n"], 1);
    assert_eq!(by(&po, "commercial")["rest"]["n"], 0);
    assert_eq!(by(&po, "commercial")["rest"]["mean"], Value::Null);
    assert!(close(&by(&po, "old_town")["pilots"]["mean"], 1.0));
    assert!(close(&by(&po, "old_town")["rest"]["mean"], 0.0));
    assert_eq!(by(&po, "resettlement")["pilots"]["n"], 0);
    assert_eq!(by(&po, "resettlement")["rest"]["n"], 1);
    assert_eq!(by(&po, "new_town")["rest"]["n"], 0);
    // Agencies currently paired: (2 + 0) / 2 against 1.
    let ag = ind("agencies_paired");
    assert!(close(&ag["pilots"]["mean"], 1.0));
    assert!(close(&ag["rest"]["mean"], 1.0));
    assert_eq!(ag["rest"]["display"], "1.00");
    // Matters per 100 dwellings: (100·2/2 + 100·0/1) / 2 = 50 against 100·1/1.
    let mp = ind("matters_per_100_dwellings");
    assert!(close(&mp["pilots"]["mean"], 50.0));
    assert!(close(&mp["rest"]["mean"], 100.0));
    assert_eq!(mp["pilots"]["display"], "50.00");
    // Satisfaction: 金山花园 satisfied (1); 城门小区 has no rated matter;
    // 榕城小区 basically satisfied (½).
    let sa = ind("satisfaction");
    assert_eq!(sa["pilots"]["n"], 1);
    assert!(close(&sa["pilots"]["mean"], 1.0));
    assert!(close(&sa["rest"]["mean"], 0.5));
    assert_eq!(sa["rest"]["display"], "50.0%");
    // Deliberations concluded: (1 + 2) / 2 against 0.
    let de = ind("deliberations_concluded");
    assert!(close(&de["pilots"]["mean"], 1.5));
    assert!(close(&de["rest"]["mean"], 0.0));
    // Each street with its own indicators over its own compounds.
    let streets = c["streets"].as_array().unwrap();
    let jinshan = streets.iter().find(|s| s["street_id"] == t.street).unwrap();
    assert_eq!(jinshan["compounds"], 2);
    assert_eq!(jinshan["pilots"], 1);
    let codes: Vec<&str> = jinshan["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["indicator"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "party_org",
            "matters_per_100_dwellings",
            "satisfaction",
            "agencies_paired"
        ]
    );
    assert!(close(&jinshan["indicators"][1]["pilots"]["mean"], 100.0));
    assert!(close(&jinshan["indicators"][1]["rest"]["mean"], 100.0));
    assert!(close(&jinshan["indicators"][3]["pilots"]["mean"], 2.0));
    let town = streets
        .iter()
        .find(|s| s["street_id"] == t.other_street)
        .unwrap();
    assert!(close(&town["indicators"][1]["pilots"]["mean"], 2.0));
    assert_eq!(town["indicators"][1]["rest"]["n"], 0);

    // The street view: the street's own indicators, no street rows.
    let (s, c) = call(
        &app,
        p.street,
        Method::GET,
        &format!("/api/v1/places/{}/pilot-comparison", t.street),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["compounds"], 2);
    assert_eq!(c["pilots"], 1);
    assert_eq!(c["indicators"].as_array().unwrap().len(), 4);
    assert!(c["streets"].as_array().unwrap().is_empty());
    assert!(close(&c["indicators"][2]["pilots"]["mean"], 1.0));
    assert!(close(&c["indicators"][2]["rest"]["mean"], 0.5));
}

/// Every route: anonymous 401, outside the scope 404, inside without the
/// power 403.
#[db_test]
async fn every_route_answers_by_scope_and_role(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let (_, v) = designate(&app, p.street, t.street, t.compound.compound, "commercial").await;
    let pilot = v["id"].as_i64().unwrap();
    let new_pilot =
        json!({"compound_id": t.neighbour.compound, "type": "resettlement"}).to_string();
    let indicators = r#"{"indicators": ["party_org"]}"#;
    let end = r#"{"reason": "调整"}"#;

    struct Case<'a> {
        method: Method,
        path: String,
        body: &'a str,
        outside: Vec<i64>,
        powerless: Vec<i64>,
    }
    let cases = vec![
        Case {
            method: Method::GET,
            path: format!("/api/v1/places/{}/pilots", t.street),
            body: "",
            outside: vec![p.other_street, p.resident, p.far_worker, p.agency],
            powerless: vec![],
        },
        Case {
            method: Method::POST,
            path: format!("/api/v1/places/{}/pilots", t.street),
            body: &new_pilot,
            outside: vec![p.other_street, p.resident, p.agency],
            powerless: vec![p.worker, p.secretary],
        },
        Case {
            method: Method::POST,
            path: format!("/api/v1/pilots/{pilot}/end"),
            body: end,
            outside: vec![p.other_street, p.far_worker, p.resident],
            powerless: vec![p.worker],
        },
        Case {
            method: Method::GET,
            path: format!("/api/v1/places/{}/pilot-indicators", t.street),
            body: "",
            outside: vec![p.other_street, p.resident],
            powerless: vec![],
        },
        Case {
            method: Method::PUT,
            path: format!("/api/v1/places/{}/pilot-indicators", t.street),
            body: indicators,
            outside: vec![p.other_street, p.far_worker],
            powerless: vec![p.worker, p.secretary],
        },
        Case {
            method: Method::GET,
            path: format!("/api/v1/places/{}/pilot-comparison", t.street),
            body: "",
            outside: vec![p.other_street, p.resident, p.agency],
            powerless: vec![p.worker, p.secretary],
        },
        Case {
            method: Method::GET,
            path: format!("/api/v1/places/{}/pilot-comparison", t.district),
            body: "",
            outside: vec![p.street, p.resident],
            powerless: vec![p.worker],
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
    // Refusals stored nothing.
    assert_eq!(count!(app, pilot_compound::Entity), 1);
    assert_eq!(count!(app, pilot_indicator::Entity), 0);
    let stored = pilot_compound::Entity::find_by_id(pilot)
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.ended_at, None);

    // The allowed side of each write works.
    let (s, v) = call(
        &app,
        p.district,
        Method::POST,
        &format!("/api/v1/places/{}/pilots", t.street),
        &new_pilot,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = track(&app, p.district, t.street, &["party_org"]).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _) = call(
        &app,
        p.district,
        Method::POST,
        &format!("/api/v1/pilots/{pilot}/end"),
        end,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    // A district designates nothing itself: pilots belong to streets.
    let (s, _) = designate(&app, p.district, t.district, t.far.compound, "old_town").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = call(
        &app,
        p.district,
        Method::GET,
        &format!("/api/v1/places/{}/pilot-comparison", t.compound.compound),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

#[db_test]
async fn bad_input_is_refused_with_a_message_and_nothing_stored(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let (s, _) = designate(&app, p.street, t.street, t.compound.compound, "commercial").await;
    assert_eq!(s, StatusCode::CREATED);

    // A second current designation of one compound.
    let (s, v) = designate(&app, p.street, t.street, t.compound.compound, "new_town").await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(has_cjk(v["error"]["message"].as_str().unwrap()));
    // An unknown type, a compound of another street, one that does not
    // exist, a place that is no compound.
    let path = format!("/api/v1/places/{}/pilots", t.street);
    for (body, fragment) in [
        (
            json!({"compound_id": t.neighbour.compound, "type": "villa"}),
            "“villa”",
        ),
        (json!({"compound_id": t.neighbour.compound}), "试点类型"),
        (
            json!({"compound_id": t.far.compound, "type": "old_town"}),
            "不存在或不在本街道",
        ),
        (
            json!({"compound_id": 999_999, "type": "old_town"}),
            "#999999",
        ),
        (
            json!({"compound_id": t.community, "type": "old_town"}),
            "不存在或不在本街道",
        ),
    ] {
        let r = app
            .client(p.street)
            .await
            .json(Method::POST, &path, &body.to_string())
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
        let (code, message) = api_error(&r);
        assert_eq!(code, "invalid_input");
        assert!(message.contains(fragment), "{message}");
    }
    let c = app.client(p.street).await;
    let cookie = format!("{}; jinlin_lang=en", c.cookie);
    let r = app
        .request(
            Method::POST,
            &path,
            &[
                ("cookie", &cookie),
                ("content-type", "application/json"),
                ("x-csrf-token", &c.csrf),
            ],
            axum::body::Body::from(
                json!({"compound_id": t.neighbour.compound, "type": "villa"}).to_string(),
            ),
        )
        .await;
    let (_, message) = api_error(&r);
    assert!(message.contains("is not a pilot type"), "{message}");
    assert_eq!(count!(app, pilot_compound::Entity), 1);

    // Indicators outside the catalogue, or chosen twice.
    for (list, fragment) in [
        (vec!["party_org", "happiness"], "“happiness”"),
        (vec!["satisfaction", "satisfaction"], "重复"),
    ] {
        let (s, v) = track(&app, p.street, t.street, &list).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(fragment),
            "{v}"
        );
    }
    assert_eq!(count!(app, pilot_indicator::Entity), 0);
    // A choice replaces the earlier one; an empty choice clears it.
    let (s, _) = track(&app, p.street, t.street, &["party_org", "satisfaction"]).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = track(&app, p.street, t.street, &["satisfaction"]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["tracked"], json!(["satisfaction"]));
    assert_eq!(count!(app, pilot_indicator::Entity), 1);
    let (_, v) = track(&app, p.street, t.street, &[]).await;
    assert_eq!(v["tracked"], json!([]));

    // Ending needs a reason.
    let id = pilot_compound::Entity::find()
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap()
        .id;
    let (s, _) = call(
        &app,
        p.street,
        Method::POST,
        &format!("/api/v1/pilots/{id}/end"),
        r#"{"reason": "  "}"#,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let stored = pilot_compound::Entity::find_by_id(id)
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.ended_at, None);
}

/// Two designations of one compound at once: one is stored, the other
/// refused.
#[db_test]
async fn concurrent_designations_of_one_compound_run_in_turn(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let path = format!("/api/v1/places/{}/pilots", t.street);
    let body = json!({"compound_id": t.compound.compound, "type": "commercial"}).to_string();
    let c1 = app.client(p.street).await;
    let c2 = app.client(p.district).await;
    let (x, y) = tokio::join!(
        c1.json(Method::POST, &path, &body),
        c2.json(Method::POST, &path, &body)
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
    assert_eq!(count!(app, pilot_compound::Entity), 1);
}

#[db_test]
async fn pages_designate_track_and_compare_in_both_languages(db: TestDb) {
    let (app, t, p) = setup(db).await;
    records(&app, &t).await;
    let street = app.client(p.street).await;
    let page = street.get(&format!("/places/{}/pilots", t.street)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("确定试点小区"), "{}", page.text());
    assert!(page.text().contains("榕城小区"));

    let compound = t.compound.compound.to_string();
    let r = street
        .form(
            &format!("/places/{}/pilots", t.street),
            &[
                ("compound_id", compound.as_str()),
                ("type", "commercial"),
                ("note", "示范"),
            ],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    // Without the CSRF token nothing happens.
    let neighbour = t.neighbour.compound.to_string();
    let r = street
        .form(
            &format!("/places/{}/pilots", t.street),
            &[
                ("compound_id", neighbour.as_str()),
                ("type", "resettlement"),
            ],
            false,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // An unknown type from a crafted form.
    let r = street
        .form(
            &format!("/places/{}/pilots", t.street),
            &[("compound_id", neighbour.as_str()), ("type", "villa")],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(count!(app, pilot_compound::Entity), 1);
    let r = street
        .form(
            &format!("/places/{}/pilot-indicators", t.street),
            &[
                ("indicator", "party_org"),
                ("indicator", "matters_per_100_dwellings"),
            ],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(count!(app, pilot_indicator::Entity), 2);

    let zh = street.get("/pilots").await;
    assert_eq!(zh.status, StatusCode::OK);
    assert!(zh.text().contains("邻聚力工程试点"));
    assert!(zh.text().contains("建有小区党组织"));
    // 金山花园 has a party organisation, 榕城小区 none; 100·2/2 against 100·1/1.
    assert!(zh.text().contains("100.0%"), "{}", zh.text());
    assert!(zh.text().contains("0.0%"));
    assert!(zh.text().contains("100.00"));
    let en = street.get_en("/pilots").await;
    assert!(en.text().contains("Neighbour cohesion pilots"));
    assert!(
        en.text()
            .contains("Residents&#39; matters per 100 dwellings")
            || en.text().contains("Residents' matters per 100 dwellings"),
        "{}",
        en.text()
    );
    let district = app.client(p.district).await.get("/pilots").await;
    assert!(district.text().contains("仓山镇"), "{}", district.text());
    assert!(district.text().contains("各街道"));

    // The pilot ends from its page.
    let id = pilot_compound::Entity::find()
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap()
        .id;
    let r = street
        .form(
            &format!("/pilots/{id}/end"),
            &[("reason", "试点期满")],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let page = street.get(&format!("/places/{}/pilots", t.street)).await;
    assert!(page.text().contains("试点期满"));
    assert!(page.text().contains("历史试点"));
    // A resident learns nothing.
    let r = app
        .client(p.resident)
        .await
        .get(&format!("/places/{}/pilots", t.street))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[db_test]
async fn the_openapi_document_lists_the_pilot_routes(db: TestDb) {
    let app = TestApp::new(db);
    let doc = app.get("/api/v1/openapi.json").await.json();
    for (path, method) in [
        ("/api/v1/places/{id}/pilots", "get"),
        ("/api/v1/places/{id}/pilots", "post"),
        ("/api/v1/pilots/{id}/end", "post"),
        ("/api/v1/places/{id}/pilot-indicators", "get"),
        ("/api/v1/places/{id}/pilot-indicators", "put"),
        ("/api/v1/places/{id}/pilot-comparison", "get"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
        assert_eq!(doc["paths"][path][method]["tags"][0], "pilots");
    }
    assert!(doc["components"]["schemas"]["CohesionPilotComparison"].is_object());
}

/// The demo: sixteen current pilots across the four types, every street
/// tracking indicators, and a district comparison with figures.
#[db_test]
async fn the_demo_designates_sixteen_pilots(db: TestDb) {
    jinlin::demo::load_once_at(
        &db.db,
        Some(&jinlin_kernel::crypto::Secrets::from_bytes([7; 32])),
        jinlin_seed::plan::Scale::Small,
    )
    .await
    .unwrap();
    let app = TestApp::new(db);
    let conn = app.db.db.conn();
    let pilots = pilot_compound::Entity::find().all(conn).await.unwrap();
    let current: Vec<_> = pilots.iter().filter(|p| p.ended_at.is_none()).collect();
    assert_eq!(current.len(), 16);
    assert!(pilots.iter().any(|p| p.ended_at.is_some()));
    let kinds: std::collections::HashSet<&str> =
        current.iter().map(|p| p.pilot_type.as_str()).collect();
    assert_eq!(kinds.len(), 4, "{kinds:?}");
    use sea_orm::{ColumnTrait, QueryFilter};
    let district = jinlin_kernel::auth::entity::account::Entity::find()
        .filter(jinlin_kernel::auth::entity::account::Column::Username.eq("district"))
        .one(conn)
        .await
        .unwrap()
        .unwrap()
        .id;
    let place = jinlin_kernel::place::entity::Entity::find()
        .filter(jinlin_kernel::place::entity::Column::Kind.eq("district"))
        .one(conn)
        .await
        .unwrap()
        .unwrap()
        .id;
    let (s, c) = call(
        &app,
        district,
        Method::GET,
        &format!("/api/v1/places/{place}/pilot-comparison"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["pilots"], 16);
    assert_eq!(c["indicators"].as_array().unwrap().len(), 7);
    assert!(c["indicators"][0]["pilots"]["mean"].is_number(), "{c}");
    assert!(
        c["streets"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["indicators"].as_array().unwrap().len() >= 5)
    );
    let page = app.client(district).await.get("/pilots").await;
    assert_eq!(page.status, StatusCode::OK);
}
