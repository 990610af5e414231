//! Tests of mobilisation: a notice to a street reaching every household
//! through its grids, live coverage at every level with the time to full
//! coverage, who may do what on every route, idempotent and exact marks,
//! and refused input that stores nothing.

use axum::http::{Method, StatusCode};
use chrono::Utc;
use futures_util::future::join_all;
use jinlin_kernel::audit::entity as audit_log;
use jinlin_kernel::auth::Role;
use jinlin_kernel::place::entity as place;
use jinlin_mobilisation::entity::{mobilisation, mobilisation_household, mobilisation_unit};
use jinlin_people::entity::{dwelling_owner, person};
use jinlin_testkit::fixtures::{Tree, account, tree};
use jinlin_testkit::{TestDb, db_test};
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::Value;

use crate::support::{TestApp, api_error, has_cjk};

struct People {
    district: i64,
    street: i64,
    other_street: i64,
    worker: i64,
    worker2: i64,
    far_worker: i64,
    secretary: i64,
    /// The secretary of 榕城小区, inside the street but not 金山花园.
    secretary_n: i64,
    committee: i64,
    /// Lives in 金山花园 101.
    resident: i64,
    /// Lives in 城门小区, another street.
    far_resident: i64,
}

struct Fixture {
    app: TestApp,
    t: Tree,
    p: People,
    /// 金山花园's 2号楼 dwellings 201, 202, 203.
    second: [i64; 3],
    /// Grid A (1号楼, worker) and grid B (2号楼, worker2).
    grid_a: i64,
    grid_b: i64,
}

async fn add_place(
    db: &TestDb,
    kind: &str,
    parent: i64,
    name: &str,
    t: &Tree,
    building: Option<i64>,
    entrance: Option<i64>,
) -> i64 {
    let now = Utc::now();
    place::Entity::insert(place::ActiveModel {
        kind: Set(kind.into()),
        parent_id: Set(Some(parent)),
        code: Set(None),
        name: Set(name.into()),
        initials: Set(String::new()),
        district_code: Set(Some("350104".into())),
        street_id: Set(Some(t.street)),
        community_id: Set(Some(t.community)),
        compound_id: Set(Some(t.compound.compound)),
        building_id: Set(building),
        entrance_id: Set(entrance),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec(db.db.conn())
    .await
    .unwrap()
    .last_insert_id
}

async fn owner_with_phone(db: &TestDb, dwelling: i64, compound: i64, name: &str, phone: &str) {
    let now = Utc::now();
    let person = person::Entity::insert(person::ActiveModel {
        district_code: Set(Some("350104".into())),
        name: Set(name.into()),
        phone: Set(Some(phone.into())),
        id_number_cipher: Set(None),
        id_number_digest: Set(None),
        party_member: Set(false),
        employer: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec(db.db.conn())
    .await
    .unwrap()
    .last_insert_id;
    dwelling_owner::Entity::insert(dwelling_owner::ActiveModel {
        dwelling_id: Set(dwelling),
        district_code: Set("350104".into()),
        compound_id: Set(compound),
        owner_kind: Set("person".into()),
        person_id: Set(Some(person)),
        company_name: Set(None),
        created_at: Set(now),
        ..Default::default()
    })
    .exec(db.db.conn())
    .await
    .unwrap();
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

async fn created(app: &TestApp, who: i64, path: &str, body: &str) -> Value {
    let (s, v) = call(app, who, Method::POST, path, body).await;
    assert_eq!(s, StatusCode::CREATED, "{path}: {v}");
    v
}

/// The fixture tree with a second building of three dwellings in 金山花园
/// (five households there, one in 榕城小区: six in the street), grids A and
/// B in 金山花园 and none in 榕城小区, a phone on file for 102.
async fn setup(db: TestDb) -> Fixture {
    let t = tree(&db.db).await;
    let c = t.compound.compound;
    let b = add_place(&db, "building", c, "2号楼", &t, None, None).await;
    let e = add_place(&db, "entrance", b, "1单元", &t, Some(b), None).await;
    let mut second = [0; 3];
    for (i, room) in ["201", "202", "203"].iter().enumerate() {
        second[i] = add_place(&db, "dwelling", e, room, &t, Some(b), Some(e)).await;
    }
    owner_with_phone(&db, t.compound.dwellings[1], c, "李四", "13800000002").await;
    let d = &db.db;
    let p = People {
        district: account(d, "district", Role::DistrictAdmin, t.district).await,
        street: account(d, "street", Role::StreetAdmin, t.street).await,
        other_street: account(d, "other-street", Role::StreetAdmin, t.other_street).await,
        worker: account(d, "worker", Role::CommunityWorker, t.community).await,
        worker2: account(d, "worker2", Role::CommunityWorker, t.community).await,
        far_worker: account(d, "far-worker", Role::CommunityWorker, t.other_community).await,
        secretary: account(d, "secretary", Role::CompoundSecretary, c).await,
        secretary_n: account(
            d,
            "secretary-n",
            Role::CompoundSecretary,
            t.neighbour.compound,
        )
        .await,
        committee: account(d, "committee", Role::OwnersCommittee, c).await,
        resident: account(d, "resident", Role::Resident, t.compound.dwellings[0]).await,
        far_resident: account(d, "far-resident", Role::Resident, t.far.dwellings[0]).await,
    };
    let app = TestApp::new(db);
    let grid_a = created(
        &app,
        p.worker,
        &format!("/api/v1/places/{c}/micro-grids"),
        &format!(
            r#"{{"name": "1号网格", "worker_account_id": {}}}"#,
            p.worker
        ),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let grid_b = created(
        &app,
        p.worker,
        &format!("/api/v1/places/{c}/micro-grids"),
        &format!(
            r#"{{"name": "2号网格", "worker_account_id": {}, "building_ids": [{b}]}}"#,
            p.worker2
        ),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    Fixture {
        app,
        t,
        p,
        second,
        grid_a,
        grid_b,
    }
}

const NOTICE: &str =
    r#""title": "台风防御紧急通知", "body": "今晚台风登陆，请关好门窗，低洼住户请转移。""#;

async fn send_to_street(f: &Fixture) -> i64 {
    let v = created(
        &f.app,
        f.p.district,
        "/api/v1/mobilisations",
        &format!(r#"{{"place_id": {}, {NOTICE}}}"#, f.t.street),
    )
    .await;
    assert_eq!(v["households"], 6, "{v}");
    assert_eq!(v["units"], 3, "grids A and B, and 榕城小区 in no grid: {v}");
    assert_eq!(v["workers_notified"], 2, "{v}");
    v["id"].as_i64().unwrap()
}

fn line<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == name)
        .unwrap_or_else(|| panic!("no line {name} in {v}"))
}

async fn unit_of(app: &TestApp, m: i64, grid: Option<i64>, compound: i64) -> i64 {
    mobilisation_unit::Entity::find()
        .filter(mobilisation_unit::Column::MobilisationId.eq(m))
        .filter(mobilisation_unit::Column::CompoundId.eq(compound))
        .all(app.db.db.conn())
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.grid_id == grid)
        .unwrap()
        .id
}

/// The maintained counters equal the households marked, unit by unit.
async fn assert_counters_exact(app: &TestApp, m: i64) {
    let db = app.db.db.conn();
    for u in mobilisation_unit::Entity::find()
        .filter(mobilisation_unit::Column::MobilisationId.eq(m))
        .all(db)
        .await
        .unwrap()
    {
        let reached = mobilisation_household::Entity::find()
            .filter(mobilisation_household::Column::UnitId.eq(u.id))
            .filter(mobilisation_household::Column::ReachedAt.is_not_null())
            .count(db)
            .await
            .unwrap();
        let all = mobilisation_household::Entity::find()
            .filter(mobilisation_household::Column::UnitId.eq(u.id))
            .count(db)
            .await
            .unwrap();
        assert_eq!(u.reached as u64, reached, "unit {}", u.id);
        assert_eq!(u.households as u64, all, "unit {}", u.id);
        assert_eq!(u.full_at.is_some(), reached == all, "unit {}", u.id);
    }
}

#[db_test]
async fn a_notice_to_a_street_reaches_every_household_through_its_grids(db: TestDb) {
    let f = setup(db).await;
    let (app, t, p) = (&f.app, &f.t, &f.p);
    let m = send_to_street(&f).await;

    // The grid workers find it in their inbox.
    let (_, inbox) = call(app, p.worker2, Method::GET, "/api/v1/notifications", "").await;
    assert!(
        inbox.to_string().contains("台风防御紧急通知"),
        "worker2's inbox: {inbox}"
    );

    // The sender follows the street, then drills down.
    let (s, v) = call(
        app,
        p.district,
        Method::GET,
        &format!("/api/v1/mobilisations/{m}/coverage"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["place_id"], t.street);
    assert_eq!(
        (v["households"].as_u64(), v["reached"].as_u64()),
        (Some(6), Some(0))
    );
    assert_eq!(v["percent"], "0.0%");
    assert_eq!(line(&v, "金山社区")["households"], 6);
    let (_, v) = call(
        app,
        p.district,
        Method::GET,
        &format!("/api/v1/mobilisations/{m}/coverage?place={}", t.community),
        "",
    )
    .await;
    assert_eq!(line(&v, "金山花园")["households"], 5);
    assert_eq!(line(&v, "榕城小区")["households"], 1);
    let (_, v) = call(
        app,
        p.district,
        Method::GET,
        &format!(
            "/api/v1/mobilisations/{m}/coverage?place={}",
            t.compound.compound
        ),
        "",
    )
    .await;
    assert_eq!(line(&v, "1号网格")["households"], 2);
    assert_eq!(line(&v, "2号网格")["households"], 3);
    assert_eq!(line(&v, "2号网格")["worker_name"], "worker2");

    // Grid A's worker follows up: 101 without contact, 102 with a phone.
    let unit_a = unit_of(app, m, Some(f.grid_a), t.compound.compound).await;
    let (s, v) = call(
        app,
        p.worker,
        Method::GET,
        &format!("/api/v1/mobilisation-units/{unit_a}/households?reached=false"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["total"], 2);
    let items = v["items"].as_array().unwrap();
    assert_eq!(items[0]["dwelling_id"], t.compound.dwellings[0]);
    assert!(items[0]["contacts"].as_array().unwrap().is_empty());
    assert_eq!(items[1]["contacts"][0]["phone"], "13800000002");
    let audited = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("mobilisation.households.phones"))
        .count(app.db.db.conn())
        .await
        .unwrap();
    assert_eq!(audited, 1, "the phones read is audited");

    // At the door for 101; then 101 again with 102: 101 counts once.
    let reached = format!("/api/v1/mobilisations/{m}/reached");
    let (s, v) = call(
        app,
        p.worker,
        Method::POST,
        &reached,
        &format!(
            r#"{{"dwelling_ids": [{}], "method": "door"}}"#,
            t.compound.dwellings[0]
        ),
    )
    .await;
    assert_eq!((s, v["marked"].as_u64()), (StatusCode::OK, Some(1)), "{v}");
    let (_, v) = call(
        app,
        p.worker,
        Method::POST,
        &reached,
        &format!(
            r#"{{"dwelling_ids": [{}, {}], "method": "phone"}}"#,
            t.compound.dwellings[0], t.compound.dwellings[1]
        ),
    )
    .await;
    assert_eq!(
        (v["marked"].as_u64(), v["already"].as_u64()),
        (Some(1), Some(1)),
        "{v}"
    );

    // The resident of 101 acknowledges in the app: already reached, a success.
    let ack = format!("/api/v1/mobilisations/{m}/acknowledge");
    let (s, v) = call(app, p.resident, Method::POST, &ack, "").await;
    assert_eq!(
        (s, v["marked"].as_u64(), v["already"].as_u64()),
        (StatusCode::OK, Some(0), Some(1)),
        "{v}"
    );
    let (_, v) = call(
        app,
        p.resident,
        Method::GET,
        &format!("/api/v1/mobilisations/{m}"),
        "",
    )
    .await;
    assert_eq!(v["my_households"][0]["method"], "door", "{v}");

    // Grid B, all three in one go; grid A and B full, 金山花园 full.
    let (_, v) = call(
        app,
        p.worker2,
        Method::POST,
        &reached,
        &format!(r#"{{"dwelling_ids": {:?}, "method": "group"}}"#, f.second),
    )
    .await;
    assert_eq!(v["marked"], 3, "{v}");
    let (_, v) = call(
        app,
        p.district,
        Method::GET,
        &format!(
            "/api/v1/mobilisations/{m}/coverage?place={}",
            t.compound.compound
        ),
        "",
    )
    .await;
    assert_eq!(v["percent"], "100.0%");
    assert!(
        line(&v, "2号网格")["minutes_to_full"].as_i64().is_some(),
        "{v}"
    );
    let (_, v) = call(
        app,
        p.district,
        Method::GET,
        &format!("/api/v1/mobilisations/{m}/coverage"),
        "",
    )
    .await;
    assert_eq!(
        (v["reached"].as_u64(), v["remaining"].as_u64()),
        (Some(5), Some(1))
    );
    assert_eq!(v["percent"], "83.3%");
    assert!(v["full_at"].is_null());

    // 榕城小区 has no grid: the street admin reaches its household.
    let (_, v) = call(
        app,
        p.street,
        Method::POST,
        &reached,
        &format!(
            r#"{{"dwelling_ids": [{}], "method": "door"}}"#,
            t.neighbour.dwellings[0]
        ),
    )
    .await;
    assert_eq!(v["marked"], 1, "{v}");
    let (_, v) = call(
        app,
        p.district,
        Method::GET,
        &format!("/api/v1/mobilisations/{m}/coverage"),
        "",
    )
    .await;
    assert_eq!(v["percent"], "100.0%");
    assert!(
        v["full_at"].is_string() && v["minutes_to_full"].is_number(),
        "{v}"
    );
    assert_counters_exact(app, m).await;

    // Closing ends marking.
    let close = format!("/api/v1/mobilisations/{m}/close");
    let (s, _) = call(app, p.worker, Method::POST, &close, "").await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "a worker inside the scope does not close the sender's notice"
    );
    let (s, _) = call(app, p.district, Method::POST, &close, "").await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = call(app, p.district, Method::POST, &close, "").await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, v) = call(
        app,
        p.worker,
        Method::POST,
        &reached,
        &format!(
            r#"{{"dwelling_ids": [{}], "method": "door"}}"#,
            t.compound.dwellings[0]
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (s, _) = call(app, p.resident, Method::POST, &ack, "").await;
    assert_eq!(s, StatusCode::CONFLICT);
}

#[db_test]
async fn who_may_send_follow_mark_and_close(db: TestDb) {
    let f = setup(db).await;
    let (app, t, p) = (&f.app, &f.t, &f.p);
    let send = |place: i64| format!(r#"{{"place_id": {place}, {NOTICE}}}"#);
    let c = t.compound.compound;
    // Sending: officials of the place only.
    for (who, place, want) in [
        (p.resident, c, StatusCode::FORBIDDEN),
        (p.committee, c, StatusCode::FORBIDDEN),
        (p.far_worker, c, StatusCode::NOT_FOUND),
        (p.other_street, t.street, StatusCode::NOT_FOUND),
        (p.secretary, t.street, StatusCode::NOT_FOUND),
        (p.secretary_n, c, StatusCode::NOT_FOUND),
    ] {
        let (s, v) = call(
            app,
            who,
            Method::POST,
            "/api/v1/mobilisations",
            &send(place),
        )
        .await;
        assert_eq!(s, want, "sender {who} to {place}: {v}");
    }
    let (s, v) = call(
        app,
        p.secretary,
        Method::POST,
        "/api/v1/mobilisations",
        &send(c),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::CREATED,
        "a compound's secretary mobilises it: {v}"
    );
    let m = send_to_street(&f).await;
    let one = format!("/api/v1/mobilisations/{m}");

    // Reading: officials over or inside the scope, grid workers, residents reached.
    for who in [p.other_street, p.far_worker, p.committee, p.far_resident] {
        let (s, _) = call(app, who, Method::GET, &one, "").await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{who} learns nothing");
        let (s, _) = call(app, who, Method::GET, &format!("{one}/coverage"), "").await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (_, list) = call(app, who, Method::GET, "/api/v1/mobilisations", "").await;
        assert!(!list.to_string().contains("台风"), "{who}'s list: {list}");
    }
    for who in [p.street, p.worker, p.secretary, p.secretary_n, p.resident] {
        let (s, v) = call(app, who, Method::GET, &one, "").await;
        assert_eq!(s, StatusCode::OK, "{who}: {v}");
        let (_, list) = call(app, who, Method::GET, "/api/v1/mobilisations", "").await;
        assert!(list.to_string().contains("台风"), "{who}'s list: {list}");
    }
    // The neighbour's secretary follows their compound, not 金山花园.
    let (_, v) = call(
        app,
        p.secretary_n,
        Method::GET,
        &format!("{one}/coverage"),
        "",
    )
    .await;
    assert_eq!(v["place_id"], t.neighbour.compound, "{v}");
    let (s, _) = call(
        app,
        p.secretary_n,
        Method::GET,
        &format!("{one}/coverage?place={c}"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call(
        app,
        p.secretary_n,
        Method::GET,
        &format!("{one}/coverage?place={}", t.street),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A place outside the scope, even one the reader governs.
    let (s, _) = call(
        app,
        p.district,
        Method::GET,
        &format!("{one}/coverage?place={}", t.far.compound),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Residents see the notice and their own household, not coverage.
    let (s, _) = call(app, p.resident, Method::GET, &format!("{one}/coverage"), "").await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // A grid's households: its worker and officials of the compound.
    let unit_a = unit_of(app, m, Some(f.grid_a), c).await;
    let path = format!("/api/v1/mobilisation-units/{unit_a}/households");
    for who in [p.worker, p.street, p.district, p.secretary] {
        let (s, v) = call(app, who, Method::GET, &path, "").await;
        assert_eq!(s, StatusCode::OK, "{who}: {v}");
    }
    for who in [
        p.secretary_n,
        p.resident,
        p.committee,
        p.far_worker,
        p.other_street,
    ] {
        let (s, _) = call(app, who, Method::GET, &path, "").await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{who}");
    }

    // Marking: the neighbour's secretary follows but not 金山花园's grids.
    let reached = format!("{one}/reached");
    let body = format!(
        r#"{{"dwelling_ids": [{}], "method": "door"}}"#,
        t.compound.dwellings[0]
    );
    let (s, v) = call(app, p.secretary_n, Method::POST, &reached, &body).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert!(
        has_cjk(&v["detail"].to_string()) || has_cjk(&v.to_string()),
        "{v}"
    );
    for who in [p.far_worker, p.other_street, p.committee] {
        let (s, _) = call(app, who, Method::POST, &reached, &body).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{who}");
    }
    let (s, _) = call(app, p.resident, Method::POST, &reached, &body).await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "residents acknowledge, they do not mark"
    );
    let (s, _) = call(
        app,
        p.far_resident,
        Method::POST,
        &format!("{one}/acknowledge"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let untouched = mobilisation_household::Entity::find()
        .filter(mobilisation_household::Column::ReachedAt.is_not_null())
        .count(app.db.db.conn())
        .await
        .unwrap();
    assert_eq!(untouched, 0);

    // Closing: the sender and officials of the whole scope.
    for who in [p.worker, p.secretary, p.secretary_n] {
        let (s, _) = call(app, who, Method::POST, &format!("{one}/close"), "").await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{who}");
    }
    let (s, _) = call(
        app,
        p.other_street,
        Method::POST,
        &format!("{one}/close"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call(app, p.street, Method::POST, &format!("{one}/close"), "").await;
    assert_eq!(
        s,
        StatusCode::NO_CONTENT,
        "the street's admin governs the whole scope"
    );
}

#[db_test]
async fn refused_input_stores_nothing(db: TestDb) {
    let f = setup(db).await;
    let (app, t, p) = (&f.app, &f.t, &f.p);
    let count = || async {
        mobilisation::Entity::find()
            .count(app.db.db.conn())
            .await
            .unwrap()
    };
    for (body, why) in [
        (
            format!(r#"{{"place_id": {}, "title": " ", "body": "x"}}"#, t.street),
            "empty title",
        ),
        (
            format!(
                r#"{{"place_id": {}, "title": "{}", "body": "x"}}"#,
                t.street,
                "通".repeat(101)
            ),
            "long title",
        ),
        (
            format!(
                r#"{{"place_id": {}, "title": "通知", "body": "{}"}}"#,
                t.street,
                "通".repeat(2001)
            ),
            "long body",
        ),
        (
            format!(r#"{{"place_id": {}, {NOTICE}}}"#, t.compound.building),
            "a building",
        ),
        (
            format!(r#"{{"place_id": {}, {NOTICE}, "urgent": true}}"#, t.street),
            "unknown field",
        ),
    ] {
        let r = app
            .client(p.district)
            .await
            .json(Method::POST, "/api/v1/mobilisations", &body)
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{why}");
        if why != "unknown field" {
            assert!(has_cjk(&api_error(&r).1), "{why}: a message in Chinese");
        }
    }
    assert_eq!(count().await, 0);

    let m = send_to_street(&f).await;
    let reached = format!("/api/v1/mobilisations/{m}/reached");
    let d0 = t.compound.dwellings[0];
    for (body, want) in [
        (
            format!(r#"{{"dwelling_ids": [{d0}], "method": "app"}}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            format!(r#"{{"dwelling_ids": [{d0}], "method": "fax"}}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"dwelling_ids": [], "method": "door"}"#.to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            format!(
                r#"{{"dwelling_ids": {:?}, "method": "door"}}"#,
                (1..=501).collect::<Vec<i64>>()
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        // One dwelling outside the mobilisation refuses the whole batch.
        (
            format!(
                r#"{{"dwelling_ids": [{d0}, {}], "method": "door"}}"#,
                t.far.dwellings[0]
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (s, v) = call(app, p.worker, Method::POST, &reached, &body).await;
        assert_eq!(s, want, "{body}: {v}");
    }
    let unit_a = unit_of(app, m, Some(f.grid_a), t.compound.compound).await;
    let (s, _) = call(
        app,
        p.worker,
        Method::GET,
        &format!("/api/v1/mobilisation-units/{unit_a}/households?per_page=0"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "a page of no rows");
    let marked = mobilisation_household::Entity::find()
        .filter(mobilisation_household::Column::ReachedAt.is_not_null())
        .count(app.db.db.conn())
        .await
        .unwrap();
    assert_eq!(marked, 0, "nothing was marked");
    assert_counters_exact(app, m).await;

    // A place with no households.
    let now = Utc::now();
    let empty = place::Entity::insert(place::ActiveModel {
        kind: Set("compound".into()),
        parent_id: Set(Some(t.community)),
        code: Set(None),
        name: Set("空小区".into()),
        initials: Set(String::new()),
        district_code: Set(Some("350104".into())),
        street_id: Set(Some(t.street)),
        community_id: Set(Some(t.community)),
        compound_id: Set(None),
        building_id: Set(None),
        entrance_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec(app.db.db.conn())
    .await
    .unwrap()
    .last_insert_id;
    let (s, v) = call(
        app,
        p.district,
        Method::POST,
        "/api/v1/mobilisations",
        &format!(r#"{{"place_id": {empty}, {NOTICE}}}"#),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(count().await, 1, "only the street's mobilisation");
}

#[db_test]
async fn overlapping_marks_at_once_count_each_household_once(db: TestDb) {
    let f = setup(db).await;
    let (app, t, p) = (&f.app, &f.t, &f.p);
    let m = send_to_street(&f).await;
    let reached = format!("/api/v1/mobilisations/{m}/reached");
    let all: Vec<i64> = t
        .compound
        .dwellings
        .iter()
        .chain(f.second.iter())
        .copied()
        .collect();
    let a = format!(r#"{{"dwelling_ids": {:?}, "method": "door"}}"#, &all[..3]);
    let b = format!(r#"{{"dwelling_ids": {:?}, "method": "phone"}}"#, &all[2..]);
    let c = format!(r#"{{"dwelling_ids": {:?}, "method": "group"}}"#, all);
    let (ca, cb, cc, cd) = (
        app.client(p.worker).await,
        app.client(p.worker2).await,
        app.client(p.street).await,
        app.client(p.resident).await,
    );
    let ack = format!("/api/v1/mobilisations/{m}/acknowledge");
    let (ra, rb, rc, rd) = tokio::join!(
        ca.json(Method::POST, &reached, &a),
        cb.json(Method::POST, &reached, &b),
        cc.json(Method::POST, &reached, &c),
        cd.json(Method::POST, &ack, ""),
    );
    let mut marked = 0;
    for r in [&ra, &rb, &rc, &rd] {
        assert_eq!(r.status, StatusCode::OK);
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        marked += v["marked"].as_u64().unwrap();
    }
    assert_eq!(marked, 5, "each of 金山花园's five households counted once");
    assert_counters_exact(app, m).await;
    let (_, v) = call(
        app,
        p.district,
        Method::GET,
        &format!(
            "/api/v1/mobilisations/{m}/coverage?place={}",
            t.compound.compound
        ),
        "",
    )
    .await;
    assert_eq!(v["percent"], "100.0%");
    let _ = f.grid_b;
}

/// A burst of one-household marks, as when a district is mobilised: many
/// arrive while one transaction is being written and are written together,
/// yet each is answered for itself and every household counts once.
#[db_test]
async fn a_burst_of_single_marks_is_written_together_and_counted_once(db: TestDb) {
    jinlin_kernel::web::metrics_handle();
    let f = setup(db).await;
    let (app, t, p) = (&f.app, &f.t, &f.p);
    let m = send_to_street(&f).await;
    let reached = format!("/api/v1/mobilisations/{m}/reached");
    let all: Vec<i64> = t
        .compound
        .dwellings
        .iter()
        .chain(f.second.iter())
        .copied()
        .collect();
    let street = app.client(p.street).await;
    // Each household named by six requests at once, in two methods.
    let bodies: Vec<String> = (0..6)
        .flat_map(|round| {
            let method = if round % 2 == 0 { "phone" } else { "door" };
            all.iter()
                .map(move |d| format!(r#"{{"dwelling_ids": [{d}], "method": "{method}"}}"#))
        })
        .collect();
    let answers = join_all(
        bodies
            .iter()
            .map(|b| street.json(Method::POST, &reached, b)),
    )
    .await;
    let mut marked = 0;
    for r in &answers {
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            v["marked"].as_u64().unwrap() + v["already"].as_u64().unwrap(),
            1,
            "each request is answered for its own household"
        );
        marked += v["marked"].as_u64().unwrap();
    }
    assert_eq!(
        marked,
        all.len() as u64,
        "each household counted for one request"
    );
    assert_counters_exact(app, m).await;
    let rows = mobilisation_household::Entity::find()
        .filter(mobilisation_household::Column::MobilisationId.eq(m))
        .filter(mobilisation_household::Column::DwellingId.is_in(all.clone()))
        .all(app.db.db.conn())
        .await
        .unwrap();
    assert!(rows.iter().all(|h| h.reached_at.is_some()
        && h.reached_by == Some(p.street)
        && matches!(h.method.as_deref(), Some("phone" | "door"))));
    // The group commit is watched on /metrics: the wait, the write, the size.
    let metrics = app.get("/metrics").await.text();
    for series in [
        "jinlin_mark_group_wait_seconds_bucket",
        "jinlin_mark_group_write_seconds_bucket",
        "jinlin_mark_group_requests",
        "jinlin_database_write_begin_seconds_bucket",
    ] {
        assert!(metrics.contains(series), "{series} in {metrics}");
    }

    // Once closed, a burst is refused as a whole, each with its own 409.
    let (s, _) = call(
        app,
        p.district,
        Method::POST,
        &format!("/api/v1/mobilisations/{m}/close"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    // (Those households are reached already: only the closing can refuse.)
    let answers = join_all(
        bodies
            .iter()
            .map(|b| street.json(Method::POST, &reached, b)),
    )
    .await;
    for r in &answers {
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    }
    assert_counters_exact(app, m).await;
}

/// Refusals in a burst: the common checks are made in the group's
/// transaction, and whoever does not plainly pass is checked in full and
/// refused for themself, while the others' marks in the same group land.
#[db_test]
async fn refused_marks_in_a_burst_are_refused_each_for_itself(db: TestDb) {
    let f = setup(db).await;
    let (app, t, p) = (&f.app, &f.t, &f.p);
    let m = send_to_street(&f).await;
    let reached = format!("/api/v1/mobilisations/{m}/reached");
    let ack = format!("/api/v1/mobilisations/{m}/acknowledge");
    let mark = |d: i64| format!(r#"{{"dwelling_ids": [{d}], "method": "door"}}"#);
    let [own, other] = [t.compound.dwellings[0], f.second[0]];
    let street = app.client(p.street).await;
    let resident = app.client(p.resident).await;
    let far_resident = app.client(p.far_resident).await;
    let secretary_n = app.client(p.secretary_n).await;
    let far_worker = app.client(p.far_worker).await;
    let (street_body, refused_body) = (mark(other), mark(f.second[1]));
    let mut calls = Vec::new();
    for _ in 0..4 {
        calls.push((
            StatusCode::OK,
            street.json(Method::POST, &reached, &street_body),
        ));
        calls.push((StatusCode::OK, resident.json(Method::POST, &ack, "")));
        calls.push((
            StatusCode::NOT_FOUND,
            far_resident.json(Method::POST, &ack, ""),
        ));
        calls.push((
            StatusCode::FORBIDDEN,
            secretary_n.json(Method::POST, &reached, &refused_body),
        ));
        calls.push((
            StatusCode::NOT_FOUND,
            far_worker.json(Method::POST, &reached, &refused_body),
        ));
        calls.push((
            StatusCode::FORBIDDEN,
            resident.json(Method::POST, &reached, &refused_body),
        ));
    }
    let (expected, requests): (Vec<_>, Vec<_>) = calls.into_iter().unzip();
    for (want, r) in expected.into_iter().zip(join_all(requests).await) {
        assert_eq!(r.status, want, "{}", r.text());
    }
    let rows = mobilisation_household::Entity::find()
        .filter(mobilisation_household::Column::MobilisationId.eq(m))
        .filter(mobilisation_household::Column::ReachedAt.is_not_null())
        .all(app.db.db.conn())
        .await
        .unwrap();
    let mut reached_now: Vec<(i64, Option<i64>)> =
        rows.iter().map(|h| (h.dwelling_id, h.reached_by)).collect();
    reached_now.sort_unstable();
    let mut want = vec![(own, Some(p.resident)), (other, Some(p.street))];
    want.sort_unstable();
    assert_eq!(reached_now, want, "only the allowed marks landed");
    assert_counters_exact(app, m).await;
}

#[db_test]
async fn pages_send_follow_live_mark_and_acknowledge(db: TestDb) {
    let f = setup(db).await;
    let (app, t, p) = (&f.app, &f.t, &f.p);
    let district = app.client(p.district).await;
    let zh = district.get("/mobilisations").await;
    assert_eq!(zh.status, StatusCode::OK);
    assert!(zh.text().contains("发出动员"), "the send form");
    let en = district.get_en("/mobilisations").await;
    assert!(en.text().contains("Send the notice"));
    let r = district
        .form(
            "/mobilisations",
            &[
                ("place_id", &t.street.to_string()),
                ("title", "停水通知"),
                ("body", "明日 8 点至 12 点停水。"),
            ],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let to = r.header("location").unwrap().to_string();
    let m: i64 = to.rsplit('/').next().unwrap().parse().unwrap();
    let page = district.get(&to).await;
    assert!(
        page.text().contains("停水通知") && page.text().contains("hx-trigger"),
        "live coverage polls"
    );
    let live = district.get(&format!("/mobilisations/{m}/live")).await;
    assert!(live.text().starts_with("<section") && live.text().contains("0.0%"));
    assert!(!live.text().contains("<html"), "a fragment");

    // The worker's grid page, then the whole page marked at once.
    let unit_a = unit_of(app, m, Some(f.grid_a), t.compound.compound).await;
    let worker = app.client(p.worker).await;
    let page = worker.get(&format!("/mobilisation-units/{unit_a}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("13800000002") && page.text().contains("标记为已送达"));
    let en = worker
        .get_en(&format!("/mobilisation-units/{unit_a}"))
        .await;
    assert!(en.text().contains("Mark reached"));
    let d0 = t.compound.dwellings[0].to_string();
    let d1 = t.compound.dwellings[1].to_string();
    let r = worker
        .form(
            &format!("/mobilisation-units/{unit_a}"),
            &[
                ("dwelling_id", &d0),
                ("dwelling_id", &d1),
                ("method", "door"),
            ],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let page = worker.get(r.header("location").unwrap()).await;
    assert!(page.text().contains("已标记 2 户"), "{}", page.text());
    assert!(page.text().contains("本网格全部送达"));
    let r = worker
        .form(
            &format!("/mobilisation-units/{unit_a}"),
            &[("dwelling_id", &d0), ("method", "door")],
            false,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no CSRF token, no mark");

    // The resident's page: the notice and the household already reached.
    let resident = app.client(p.resident).await;
    let page = resident.get(&format!("/mobilisations/{m}")).await;
    assert!(page.text().contains("明日 8 点至 12 点停水") && page.text().contains("已确认知悉"));
    assert!(
        !page.text().contains("hx-trigger"),
        "residents do not follow coverage"
    );
    let live = resident.get(&format!("/mobilisations/{m}/live")).await;
    assert_eq!(live.status, StatusCode::NOT_FOUND);
    // A household not yet reached acknowledges with the button.
    let neighbour = account(
        &app.db.db,
        "neighbour",
        Role::Resident,
        t.neighbour.dwellings[0],
    )
    .await;
    let n = app.client(neighbour).await;
    assert!(
        n.get(&format!("/mobilisations/{m}"))
            .await
            .text()
            .contains("我已知悉")
    );
    let r = n
        .form(&format!("/mobilisations/{m}/acknowledge"), &[], true)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = n.get(&format!("/mobilisations/{m}")).await;
    assert!(page.text().contains("本人在线确认"), "{}", page.text());

    // Closing from the page.
    let r = district
        .form(&format!("/mobilisations/{m}/close"), &[], true)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = district.get(&format!("/mobilisations/{m}")).await;
    assert!(page.text().contains("已结束") && !page.text().contains("hx-trigger"));
}

#[db_test]
async fn a_mistaken_mark_is_taken_back_and_counted_again(db: TestDb) {
    let f = setup(db).await;
    let (app, t, p) = (&f.app, &f.t, &f.p);
    let m = send_to_street(&f).await;
    let (d0, d1) = (t.compound.dwellings[0], t.compound.dwellings[1]);
    let unit_a = unit_of(app, m, Some(f.grid_a), t.compound.compound).await;
    let reached = format!("/api/v1/mobilisations/{m}/reached");
    let unreached = format!("/api/v1/mobilisations/{m}/unreached");
    let (s, _) = call(
        app,
        p.resident,
        Method::POST,
        &format!("/api/v1/mobilisations/{m}/acknowledge"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = call(
        app,
        p.worker,
        Method::POST,
        &reached,
        &format!(r#"{{"dwelling_ids": [{d1}], "method": "phone"}}"#),
    )
    .await;
    assert_eq!((s, v["marked"].as_u64()), (StatusCode::OK, Some(1)), "{v}");
    let unit = |id| async move {
        mobilisation_unit::Entity::find_by_id(id)
            .one(app.db.db.conn())
            .await
            .unwrap()
            .unwrap()
    };
    assert!(unit(unit_a).await.full_at.is_some(), "grid A is full");

    // Outsiders learn nothing; a secretary of another compound may not.
    let body = format!(r#"{{"dwelling_id": {d1}}}"#);
    let (s, _) = call(app, p.far_worker, Method::POST, &unreached, &body).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call(app, p.far_resident, Method::POST, &unreached, &body).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call(app, p.secretary_n, Method::POST, &unreached, &body).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // The household's own acknowledgement stays.
    let (s, v) = call(
        app,
        p.worker,
        Method::POST,
        &unreached,
        &format!(r#"{{"dwelling_id": {d0}}}"#),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(has_cjk(&v.to_string()), "{v}");
    // Bad input.
    let (s, _) = call(
        app,
        p.worker,
        Method::POST,
        &unreached,
        &format!(r#"{{"dwelling_id": {}}}"#, t.far.dwellings[0]),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a dwelling outside the mobilisation"
    );
    let (s, _) = call(
        app,
        p.worker,
        Method::POST,
        &unreached,
        &format!(r#"{{"dwelling_id": {d1}, "reason": "x"}}"#),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "unknown field");
    assert_counters_exact(app, m).await;
    assert_eq!(
        unit(unit_a).await.reached,
        2,
        "nothing refused moved a counter"
    );

    // The worker takes the phone mark back: not full, counted again on a new mark.
    let (s, v) = call(app, p.worker, Method::POST, &unreached, &body).await;
    assert_eq!((s, v["undone"].as_u64()), (StatusCode::OK, Some(1)), "{v}");
    let u = unit(unit_a).await;
    assert_eq!((u.reached, u.full_at), (1, None));
    assert_counters_exact(app, m).await;
    let (s, v) = call(app, p.worker, Method::POST, &unreached, &body).await;
    assert_eq!(
        (s, v["undone"].as_u64()),
        (StatusCode::OK, Some(0)),
        "a second undo changes nothing"
    );
    assert_eq!(unit(unit_a).await.reached, 1);
    let logged = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("mobilisation.unmark"))
        .count(app.db.db.conn())
        .await
        .unwrap();
    assert_eq!(logged, 1, "the undo is in the audit log");
    let (s, v) = call(
        app,
        p.worker,
        Method::POST,
        &reached,
        &format!(r#"{{"dwelling_ids": [{d1}], "method": "door"}}"#),
    )
    .await;
    assert_eq!((s, v["marked"].as_u64()), (StatusCode::OK, Some(1)), "{v}");
    assert!(unit(unit_a).await.full_at.is_some());
    assert_counters_exact(app, m).await;

    // From the reached list of the grid page.
    let worker = app.client(p.worker).await;
    let page = worker
        .get(&format!("/mobilisation-units/{unit_a}?reached=true"))
        .await;
    assert!(page.text().contains("撤销标记"), "{}", page.text());
    let r = worker
        .form(
            &format!("/mobilisation-units/{unit_a}/undo"),
            &[("dwelling_id", &d1.to_string())],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let page = worker.get(r.header("location").unwrap()).await;
    assert!(page.text().contains("已撤销 1 户"), "{}", page.text());
    assert_eq!(unit(unit_a).await.reached, 1);

    // Closed: no undo.
    let (s, _) = call(
        app,
        p.district,
        Method::POST,
        &format!("/api/v1/mobilisations/{m}/close"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = call(app, p.worker, Method::POST, &unreached, &body).await;
    assert_eq!(s, StatusCode::CONFLICT);
}

#[db_test]
async fn the_openapi_document_lists_the_mobilisation_routes(db: TestDb) {
    let app = TestApp::new(db);
    let r = app.get("/api/v1/openapi.json").await;
    let doc: Value = serde_json::from_slice(&r.body).unwrap();
    for path in [
        "/api/v1/mobilisations",
        "/api/v1/mobilisations/{id}",
        "/api/v1/mobilisations/{id}/coverage",
        "/api/v1/mobilisations/{id}/reached",
        "/api/v1/mobilisations/{id}/unreached",
        "/api/v1/mobilisations/{id}/acknowledge",
        "/api/v1/mobilisations/{id}/close",
        "/api/v1/mobilisation-units/{id}/households",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
}

/// Marks past what the group commit lets wait (`WAITING_MAX` households)
/// are refused at once with 503 overloaded and Retry-After, while the
/// group's transaction is held up; once it goes on, those that waited are
/// answered, and nothing was marked for a refused request.
#[db_test]
async fn marks_beyond_the_waiting_limit_are_refused_at_once(db: TestDb) {
    use sea_orm::ConnectionTrait;
    use std::sync::atomic::{AtomicUsize, Ordering};
    jinlin_kernel::web::metrics_handle();
    let f = setup(db).await;
    let (app, p) = (&f.app, &f.p);
    let m = send_to_street(&f).await;
    let reached = format!("/api/v1/mobilisations/{m}/reached");
    let street = app.client(p.street).await;
    // Hold the group up: SQLite's one writer, or PostgreSQL's households.
    let hold = app.db.db.write().await.unwrap();
    if hold.get_database_backend() == sea_orm::DbBackend::Postgres {
        hold.execute_unprepared("LOCK TABLE mobilisation_household IN ACCESS EXCLUSIVE MODE")
            .await
            .unwrap();
    }
    let batch = jinlin_mobilisation::rules::BATCH_MAX as i64;
    let requests = 2 * jinlin_mobilisation::group::WAITING_MAX as i64 / batch + 4;
    // Dwellings no mobilisation has: whatever waits is refused in the end
    // by the full check (422), so no household is written.
    let bodies: Vec<String> = (0..requests)
        .map(|i| {
            let ids: Vec<String> = (0..batch)
                .map(|k| (90_000_000 + i * 10_000 + k).to_string())
                .collect();
            format!(
                r#"{{"dwelling_ids": [{}], "method": "door"}}"#,
                ids.join(",")
            )
        })
        .collect();
    let refused = AtomicUsize::new(0);
    let calls = join_all(bodies.iter().map(|b| {
        let (street, reached, refused) = (&street, &reached, &refused);
        async move {
            let r = street.json(Method::POST, reached, b).await;
            if r.status == StatusCode::SERVICE_UNAVAILABLE {
                refused.fetch_add(1, Ordering::SeqCst);
            }
            r
        }
    }));
    let release = async {
        // Until the first refusal (or, on a machine far too slow, a while).
        for _ in 0..3000 {
            if refused.load(Ordering::SeqCst) > 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        hold.commit().await.unwrap();
    };
    let (answers, ()) = tokio::join!(calls, release);
    assert!(
        refused.load(Ordering::SeqCst) > 0,
        "some marks were refused"
    );
    for r in &answers {
        match r.status {
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(api_error(r).0, "overloaded");
                assert_eq!(r.headers["retry-after"], "1");
            }
            StatusCode::UNPROCESSABLE_ENTITY => {}
            other => panic!("{other}: {}", r.text()),
        }
    }
    let marked = mobilisation_household::Entity::find()
        .filter(mobilisation_household::Column::MobilisationId.eq(m))
        .filter(mobilisation_household::Column::ReachedAt.is_not_null())
        .count(app.db.db.conn())
        .await
        .unwrap();
    assert_eq!(marked, 0);
    assert_counters_exact(app, m).await;
    // Each refusal of the group commit is counted on /metrics by its cause
    // (a 503 may also come from a full check's own write).
    let metrics = app.get("/metrics").await.text();
    let count = |why: &str| -> usize {
        let series = format!("jinlin_marks_refused_total{{why=\"{why}\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&series))
            .map_or(0, |n| n.parse().unwrap())
    };
    let counted = count("queue_full") + count("waited") + count("database");
    assert!(count("queue_full") > 0, "{metrics}");
    assert!(counted <= refused.load(Ordering::SeqCst), "{metrics}");
}
