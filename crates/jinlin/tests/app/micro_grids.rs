//! Tests of micro-grids: the journey from a whole-compound grid through a
//! split, contact groups and reachability to coverage at every level, who
//! may do what on every route, and refused input that stores nothing.

use axum::http::{Method, StatusCode};
use chrono::Utc;
use jinlin_kernel::auth::Role;
use jinlin_kernel::place::entity as place;
use jinlin_micro_grids::entity::{
    contact_group, contact_group_member, micro_grid, micro_grid_building, micro_grid_member,
};
use jinlin_people::entity::{dwelling_owner, dwelling_resident, person};
use jinlin_testkit::fixtures::{Tree, account, tree};
use jinlin_testkit::{TestDb, db_test};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Statement};
use serde_json::Value;

use crate::support::{TestApp, api_error, has_cjk};

struct People {
    district: i64,
    street: i64,
    other_street: i64,
    worker: i64,
    /// A second worker of the community, the second grid's worker.
    worker2: i64,
    far_worker: i64,
    secretary: i64,
    secretary_n: i64,
    committee: i64,
    resident: i64,
}

/// 金山花园's second building: 2号楼 with 201, 202, 203.
struct Second {
    building: i64,
    dwellings: [i64; 3],
}

macro_rules! count {
    ($app:expr, $entity:ty) => {
        <$entity>::find().count($app.db.db.conn()).await.unwrap()
    };
}

async fn add_place(
    app: &TestDb,
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
    .exec(app.db.conn())
    .await
    .unwrap()
    .last_insert_id
}

async fn person_with(db: &TestDb, name: &str, phone: Option<&str>) -> i64 {
    let now = Utc::now();
    person::Entity::insert(person::ActiveModel {
        district_code: Set(Some("350104".into())),
        name: Set(name.into()),
        phone: Set(phone.map(Into::into)),
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
    .last_insert_id
}

async fn owner(db: &TestDb, dwelling: i64, compound: i64, person: i64) {
    dwelling_owner::Entity::insert(dwelling_owner::ActiveModel {
        dwelling_id: Set(dwelling),
        district_code: Set("350104".into()),
        compound_id: Set(compound),
        owner_kind: Set("person".into()),
        person_id: Set(Some(person)),
        company_name: Set(None),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(db.db.conn())
    .await
    .unwrap();
}

async fn resident(db: &TestDb, dwelling: i64, compound: i64, person: i64) {
    dwelling_resident::Entity::insert(dwelling_resident::ActiveModel {
        dwelling_id: Set(dwelling),
        district_code: Set("350104".into()),
        compound_id: Set(compound),
        person_id: Set(person),
        relation: Set("tenant".into()),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(db.db.conn())
    .await
    .unwrap();
}

/// The fixture tree, a second building in 金山花园, phones on file for 102
/// (an owner), 201 and 202 (tenants), none for 101 and 203 (an owner
/// without a phone in 101), and accounts of every kind.
async fn setup(db: TestDb) -> (TestApp, Tree, Second, People) {
    let t = tree(&db.db).await;
    let c = t.compound.compound;
    let b = add_place(&db, "building", c, "2号楼", &t, None, None).await;
    let e = add_place(&db, "entrance", b, "1单元", &t, Some(b), None).await;
    let mut ds = [0; 3];
    for (i, room) in ["201", "202", "203"].iter().enumerate() {
        ds[i] = add_place(&db, "dwelling", e, room, &t, Some(b), Some(e)).await;
    }
    let a = person_with(&db, "张三", None).await;
    owner(&db, t.compound.dwellings[0], c, a).await;
    let b2 = person_with(&db, "李四", Some("13800000002")).await;
    owner(&db, t.compound.dwellings[1], c, b2).await;
    let r1 = person_with(&db, "王五", Some("13800000003")).await;
    resident(&db, ds[0], c, r1).await;
    let r2 = person_with(&db, "赵六", Some("13800000004")).await;
    resident(&db, ds[1], c, r2).await;
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
    };
    (
        TestApp::new(db),
        t,
        Second {
            building: b,
            dwellings: ds,
        },
        p,
    )
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

async fn created(app: &TestApp, who: i64, path: &str, body: &str) -> i64 {
    let (s, v) = call(app, who, Method::POST, path, body).await;
    assert_eq!(s, StatusCode::CREATED, "{path}: {v}");
    v["id"].as_i64().unwrap()
}

async fn no_content(app: &TestApp, who: i64, method: Method, path: &str, body: &str) {
    let (s, v) = call(app, who, method, path, body).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{path}: {v}");
}

struct Built {
    a: i64,
    b: i64,
    g1: i64,
    g2: i64,
}

/// Grid A (whole compound, worker) and grid B (2号楼, worker2), a group in
/// each: g1 reaches 101, g2 reaches 201.
async fn build(app: &TestApp, t: &Tree, s: &Second, p: &People) -> Built {
    let c = t.compound.compound;
    let a = created(
        app,
        p.worker,
        &format!("/api/v1/places/{c}/micro-grids"),
        &format!(
            r#"{{"name": "1号网格", "worker_account_id": {}}}"#,
            p.worker
        ),
    )
    .await;
    let b = created(
        app,
        p.street,
        &format!("/api/v1/places/{c}/micro-grids"),
        &format!(
            r#"{{"name": "2号网格", "worker_account_id": {}, "building_ids": [{}]}}"#,
            p.worker2, s.building
        ),
    )
    .await;
    let g1 = created(
        app,
        p.worker,
        &format!("/api/v1/micro-grids/{a}/contact-groups"),
        &format!(
            r#"{{"name": "1号楼业主群", "channel": "wechat", "link": "https://weixin.qq.com/g/abc", "building_id": {}}}"#,
            t.compound.building
        ),
    )
    .await;
    let g2 = created(
        app,
        p.worker2,
        &format!("/api/v1/micro-grids/{b}/contact-groups"),
        r#"{"name": "2号楼业主群", "channel": "wecom", "link": null, "building_id": null}"#,
    )
    .await;
    no_content(
        app,
        p.worker,
        Method::PUT,
        &format!("/api/v1/contact-groups/{g1}/dwellings"),
        &format!(
            r#"{{"dwellings": [{{"dwelling_id": {}, "person_name": "张三"}}]}}"#,
            t.compound.dwellings[0]
        ),
    )
    .await;
    no_content(
        app,
        p.worker2,
        Method::PUT,
        &format!("/api/v1/contact-groups/{g2}/dwellings"),
        &format!(
            r#"{{"dwellings": [{{"dwelling_id": {}}}]}}"#,
            s.dwellings[0]
        ),
    )
    .await;
    Built { a, b, g1, g2 }
}

fn figures(v: &Value) -> (u64, u64, u64, u64, String) {
    (
        v["dwellings"].as_u64().unwrap(),
        v["gridded"].as_u64().unwrap(),
        v["by_group"].as_u64().unwrap(),
        v["by_phone"].as_u64().unwrap(),
        v["coverage_percent"].as_str().unwrap_or("").to_string(),
    )
}

#[db_test]
async fn journey_and_coverage(db: TestDb) {
    let (app, t, s, p) = setup(db).await;
    let built = build(&app, &t, &s, &p).await;
    let c = t.compound.compound;

    // The compound's grids: A keeps 1号楼, B has 2号楼.
    let (st, v) = call(
        &app,
        p.secretary,
        Method::GET,
        &format!("/api/v1/places/{c}/micro-grids"),
        "",
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["can_manage"], false);
    let grids = v["grids"].as_array().unwrap();
    assert_eq!(grids.len(), 2);
    assert_eq!(grids[0]["whole_compound"], true);
    assert_eq!(grids[1]["buildings"][0]["id"].as_i64(), Some(s.building));
    let bs = v["buildings"].as_array().unwrap();
    assert_eq!(bs[0]["grid_id"].as_i64(), Some(built.a));
    assert_eq!(bs[1]["grid_id"].as_i64(), Some(built.b));
    assert!(!v.to_string().contains("1380000"), "no phone is ever shown");

    // Work group.
    created(
        &app,
        p.worker,
        &format!("/api/v1/micro-grids/{}/members", built.a),
        r#"{"name": "陈党员", "role": "组长", "person_id": null, "account_id": null}"#,
    )
    .await;
    let (_, v) = call(
        &app,
        p.worker,
        Method::GET,
        &format!("/api/v1/micro-grids/{}", built.a),
        "",
    )
    .await;
    assert_eq!(v["members"].as_array().unwrap().len(), 1);
    assert_eq!(v["worker"]["account_id"].as_i64(), Some(p.worker));
    assert_eq!(v["contact_groups"][0]["dwellings"], 1);
    assert_eq!(v["can_work"], true);

    // Grid B's dwellings: 203 (none) first, then 202 (phone), then 201 (group).
    let (st, v) = call(
        &app,
        p.worker2,
        Method::GET,
        &format!("/api/v1/micro-grids/{}/dwellings", built.b),
        "",
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["total"], 3);
    let items = v["items"].as_array().unwrap();
    let order: Vec<(i64, &str)> = items
        .iter()
        .map(|i| (i["id"].as_i64().unwrap(), i["reach"].as_str().unwrap()))
        .collect();
    assert_eq!(
        order,
        vec![
            (s.dwellings[2], "none"),
            (s.dwellings[1], "phone"),
            (s.dwellings[0], "group")
        ]
    );
    assert_eq!(items[2]["groups"][0]["name"], "2号楼业主群");
    let (_, v) = call(
        &app,
        p.worker2,
        Method::GET,
        &format!(
            "/api/v1/micro-grids/{}/dwellings?reach=none&per_page=1",
            built.b
        ),
        "",
    )
    .await;
    assert_eq!(v["total"], 1);
    assert_eq!(v["items"][0]["id"].as_i64(), Some(s.dwellings[2]));

    // Coverage, counted by hand:
    //   A: 101 group, 102 phone                       → 2 of 2 = 100.0%
    //   B: 201 group, 202 phone, 203 none             → 2 of 3 = 66.7%
    //   金山花园: 2 group + 2 phone of 5              → 80.0%
    //   金山社区: + 榕城小区 101 (no grid, no phone)   → 4 of 6 = 66.7%, 5 gridded
    //   金山街道: the same as its one community
    //   仓山区: + 城门小区 101                         → 4 of 7 = 57.1%
    let (st, v) = call(
        &app,
        p.secretary,
        Method::GET,
        &format!("/api/v1/places/{c}/grid-coverage"),
        "",
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(figures(&v["figures"]), (5, 5, 2, 2, "80.0%".into()));
    let kids = v["children"].as_array().unwrap();
    assert_eq!(kids.len(), 2);
    assert_eq!(kids[0]["grid_id"].as_i64(), Some(built.a));
    assert_eq!(figures(&kids[0]["figures"]), (2, 2, 1, 1, "100.0%".into()));
    assert_eq!(figures(&kids[1]["figures"]), (3, 3, 1, 1, "66.7%".into()));

    let (_, v) = call(
        &app,
        p.worker,
        Method::GET,
        &format!("/api/v1/places/{}/grid-coverage", t.community),
        "",
    )
    .await;
    assert_eq!(figures(&v["figures"]), (6, 5, 2, 2, "66.7%".into()));
    let kids = v["children"].as_array().unwrap();
    assert_eq!(kids[0]["place_id"].as_i64(), Some(c));
    assert_eq!(figures(&kids[0]["figures"]), (5, 5, 2, 2, "80.0%".into()));
    assert_eq!(figures(&kids[1]["figures"]), (1, 0, 0, 0, "0.0%".into()));

    let (_, v) = call(
        &app,
        p.street,
        Method::GET,
        &format!("/api/v1/places/{}/grid-coverage", t.street),
        "",
    )
    .await;
    assert_eq!(figures(&v["figures"]), (6, 5, 2, 2, "66.7%".into()));
    assert_eq!(
        figures(&v["children"][0]["figures"]),
        (6, 5, 2, 2, "66.7%".into())
    );

    let (_, v) = call(
        &app,
        p.district,
        Method::GET,
        &format!("/api/v1/places/{}/grid-coverage", t.district),
        "",
    )
    .await;
    assert_eq!(figures(&v["figures"]), (7, 5, 2, 2, "57.1%".into()));
    assert_eq!(v["children"].as_array().unwrap().len(), 2);

    // Moving 2号楼 back to A (B gets no building would make a second whole
    // grid: refused), then deleting B: 201 leaves group 2 and is reached by
    // its tenant's phone only.
    let (st, v) = call(
        &app,
        p.worker,
        Method::PUT,
        &format!("/api/v1/micro-grids/{}/buildings", built.b),
        r#"{"building_ids": []}"#,
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    no_content(
        &app,
        p.worker,
        Method::PUT,
        &format!("/api/v1/micro-grids/{}/buildings", built.a),
        &format!(r#"{{"building_ids": [{}]}}"#, t.compound.building),
    )
    .await;
    let (_, v) = call(
        &app,
        p.secretary,
        Method::GET,
        &format!("/api/v1/places/{c}/grid-coverage"),
        "",
    )
    .await;
    assert_eq!(
        figures(&v["figures"]),
        (5, 5, 2, 2, "80.0%".into()),
        "A now holds 1号楼 only; still a partition"
    );
    no_content(
        &app,
        p.worker,
        Method::DELETE,
        &format!("/api/v1/micro-grids/{}", built.b),
        "",
    )
    .await;
    let (_, v) = call(
        &app,
        p.secretary,
        Method::GET,
        &format!("/api/v1/places/{c}/grid-coverage"),
        "",
    )
    .await;
    // 2号楼 is in no grid now: 201 and 202 by phone, 203 none; 101 group, 102 phone.
    assert_eq!(figures(&v["figures"]), (5, 2, 1, 3, "80.0%".into()));
    assert_eq!(count!(app, contact_group_member::Entity), 1);
    assert_eq!(count!(app, contact_group::Entity), 1);
    let _ = built.g2;
    // A becomes the whole-compound grid again and takes 2号楼 back.
    no_content(
        &app,
        p.worker,
        Method::PUT,
        &format!("/api/v1/micro-grids/{}/buildings", built.a),
        r#"{"building_ids": []}"#,
    )
    .await;
    let (_, v) = call(
        &app,
        p.secretary,
        Method::GET,
        &format!("/api/v1/places/{c}/grid-coverage"),
        "",
    )
    .await;
    assert_eq!(figures(&v["figures"]), (5, 5, 1, 3, "80.0%".into()));

    // A group's dwellings are replaced, and a group can be renamed and removed.
    no_content(&app, p.worker, Method::PUT, &format!("/api/v1/contact-groups/{}", built.g1), r#"{"name": "1号楼业主一群", "channel": "dingtalk", "link": "dd-123", "building_id": null}"#).await;
    no_content(
        &app,
        p.worker,
        Method::PUT,
        &format!("/api/v1/contact-groups/{}/dwellings", built.g1),
        &format!(
            r#"{{"dwellings": [{{"dwelling_id": {}}}, {{"dwelling_id": {}}}]}}"#,
            s.dwellings[2], s.dwellings[2]
        ),
    )
    .await;
    let (_, v) = call(
        &app,
        p.secretary,
        Method::GET,
        &format!("/api/v1/places/{c}/grid-coverage"),
        "",
    )
    .await;
    // 101 owner without phone → none; 203 group; 102, 201, 202 phone.
    assert_eq!(figures(&v["figures"]), (5, 5, 1, 3, "80.0%".into()));
    no_content(
        &app,
        p.worker,
        Method::DELETE,
        &format!("/api/v1/contact-groups/{}", built.g1),
        "",
    )
    .await;
    assert_eq!(count!(app, contact_group_member::Entity), 0);
}

#[db_test]
async fn refused_input_stores_nothing(db: TestDb) {
    let (app, t, s, p) = setup(db).await;
    let built = build(&app, &t, &s, &p).await;
    let c = t.compound.compound;
    let before = (
        count!(app, micro_grid::Entity),
        count!(app, micro_grid_building::Entity),
        count!(app, contact_group_member::Entity),
    );
    let cases: Vec<(Method, String, String, StatusCode)> = vec![
        // 2号楼 is already in grid B.
        (
            Method::POST,
            format!("/api/v1/places/{c}/micro-grids"),
            format!(r#"{{"name": "3号网格", "building_ids": [{}]}}"#, s.building),
            StatusCode::CONFLICT,
        ),
        (
            Method::PUT,
            format!("/api/v1/micro-grids/{}/buildings", built.a),
            format!(
                r#"{{"building_ids": [{}, {}]}}"#,
                t.compound.building, s.building
            ),
            StatusCode::CONFLICT,
        ),
        // A second whole-compound grid.
        (
            Method::POST,
            format!("/api/v1/places/{c}/micro-grids"),
            r#"{"name": "3号网格"}"#.into(),
            StatusCode::CONFLICT,
        ),
        // A worker of another community.
        (
            Method::POST,
            format!("/api/v1/places/{c}/micro-grids"),
            format!(
                r#"{{"name": "3号网格", "worker_account_id": {}, "building_ids": [{}]}}"#,
                p.far_worker, t.compound.building
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::PUT,
            format!("/api/v1/micro-grids/{}", built.a),
            format!(
                r#"{{"name": "1号网格", "worker_account_id": {}}}"#,
                p.secretary
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        // A building of the neighbour compound.
        (
            Method::PUT,
            format!("/api/v1/micro-grids/{}/buildings", built.b),
            format!(r#"{{"building_ids": [{}]}}"#, t.neighbour.building),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        // A dwelling of grid B into grid A's group.
        (
            Method::PUT,
            format!("/api/v1/contact-groups/{}/dwellings", built.g1),
            format!(
                r#"{{"dwellings": [{{"dwelling_id": {}}}, {{"dwelling_id": {}}}]}}"#,
                t.compound.dwellings[1], s.dwellings[1]
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        // A dwelling of another compound.
        (
            Method::PUT,
            format!("/api/v1/contact-groups/{}/dwellings", built.g1),
            format!(
                r#"{{"dwellings": [{{"dwelling_id": {}}}]}}"#,
                t.neighbour.dwellings[0]
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        // A group's building outside its grid.
        (
            Method::POST,
            format!("/api/v1/micro-grids/{}/contact-groups", built.a),
            format!(
                r#"{{"name": "群", "channel": "wechat", "building_id": {}}}"#,
                s.building
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            format!("/api/v1/places/{c}/micro-grids"),
            r#"{"name": "  "}"#.into(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            format!("/api/v1/micro-grids/{}/members", built.a),
            r#"{"name": "", "role": "组员"}"#.into(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (method, path, body, want) in cases {
        let (st, v) = call(&app, p.worker, method, &path, &body).await;
        assert_eq!(st, want, "{path} {body}: {v}");
        assert!(
            has_cjk(v["error"]["message"].as_str().unwrap_or("")),
            "{path}: {v}"
        );
    }
    let (st, v) = call(
        &app,
        p.worker,
        Method::GET,
        &format!("/api/v1/micro-grids/{}/dwellings?reach=maybe", built.a),
        "",
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (st, _) = call(
        &app,
        p.worker,
        Method::GET,
        &format!("/api/v1/places/{}/grid-coverage", t.compound.building),
        "",
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        (
            count!(app, micro_grid::Entity),
            count!(app, micro_grid_building::Entity),
            count!(app, contact_group_member::Entity),
        ),
        before
    );
    assert_eq!(count!(app, micro_grid_member::Entity), 0);
    let r = app
        .client(p.worker)
        .await
        .app
        .request(
            Method::POST,
            &format!("/api/v1/places/{c}/micro-grids"),
            &[
                ("cookie", &app.client(p.worker).await.cookie),
                ("content-type", "application/json"),
                ("accept-language", "en"),
            ],
            axum::body::Body::from(format!(
                r#"{{"name": "x", "building_ids": [{}]}}"#,
                s.building
            )),
        )
        .await;
    // Without the CSRF token the write is refused before any check.
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let _ = api_error(&r);
}

#[db_test]
async fn access_on_every_route(db: TestDb) {
    let (app, t, s, p) = setup(db).await;
    let built = build(&app, &t, &s, &p).await;
    let member = created(
        &app,
        p.worker,
        &format!("/api/v1/micro-grids/{}/members", built.a),
        r#"{"name": "陈党员", "role": "组长"}"#,
    )
    .await;
    let c = t.compound.compound;
    let (a, g1) = (built.a, built.g1);
    use StatusCode as S;
    let readers_ok = [p.district, p.street, p.worker, p.worker2, p.secretary];
    let inside_403 = [p.committee, p.resident];
    let outside_404 = [p.other_street, p.far_worker, p.secretary_n];

    // Reads.
    for path in [
        format!("/api/v1/places/{c}/micro-grids"),
        format!("/api/v1/micro-grids/{a}"),
        format!("/api/v1/micro-grids/{a}/contact-groups"),
        format!("/api/v1/micro-grids/{a}/members"),
        format!("/api/v1/micro-grids/{a}/dwellings"),
        format!("/api/v1/places/{c}/grid-coverage"),
    ] {
        for who in readers_ok {
            let (st, v) = call(&app, who, Method::GET, &path, "").await;
            assert_eq!(st, S::OK, "{path} as {who}: {v}");
        }
        for who in inside_403 {
            assert_eq!(
                call(&app, who, Method::GET, &path, "").await.0,
                S::FORBIDDEN,
                "{path} as {who}"
            );
        }
        for who in outside_404 {
            assert_eq!(
                call(&app, who, Method::GET, &path, "").await.0,
                S::NOT_FOUND,
                "{path} as {who}"
            );
        }
    }
    // Coverage above the compound: the secretary does not reach it.
    let path = format!("/api/v1/places/{}/grid-coverage", t.community);
    assert_eq!(
        call(&app, p.secretary, Method::GET, &path, "").await.0,
        S::NOT_FOUND
    );
    assert_eq!(
        call(&app, p.other_street, Method::GET, &path, "").await.0,
        S::NOT_FOUND
    );
    assert_eq!(call(&app, p.worker, Method::GET, &path, "").await.0, S::OK);
    assert_eq!(
        call(
            &app,
            p.street,
            Method::GET,
            &format!("/api/v1/places/{}/grid-coverage", t.district),
            ""
        )
        .await
        .0,
        S::NOT_FOUND
    );
    assert_eq!(
        call(
            &app,
            p.worker,
            Method::GET,
            "/api/v1/micro-grids/999999",
            ""
        )
        .await
        .0,
        S::NOT_FOUND
    );

    // Writes: the secretary reads but does not write; outsiders learn nothing.
    let writes: Vec<(Method, String, String)> = vec![
        (
            Method::PUT,
            format!("/api/v1/micro-grids/{a}"),
            r#"{"name": "改名"}"#.into(),
        ),
        (
            Method::PUT,
            format!("/api/v1/micro-grids/{a}/buildings"),
            format!(r#"{{"building_ids": [{}]}}"#, t.compound.building),
        ),
        (
            Method::POST,
            format!("/api/v1/places/{c}/micro-grids"),
            r#"{"name": "9号网格"}"#.into(),
        ),
        (
            Method::DELETE,
            format!("/api/v1/micro-grids/{a}"),
            String::new(),
        ),
        (
            Method::POST,
            format!("/api/v1/micro-grids/{a}/contact-groups"),
            r#"{"name": "群", "channel": "other"}"#.into(),
        ),
        (
            Method::PUT,
            format!("/api/v1/contact-groups/{g1}"),
            r#"{"name": "群", "channel": "other"}"#.into(),
        ),
        (
            Method::PUT,
            format!("/api/v1/contact-groups/{g1}/dwellings"),
            r#"{"dwellings": []}"#.into(),
        ),
        (
            Method::DELETE,
            format!("/api/v1/contact-groups/{g1}"),
            String::new(),
        ),
        (
            Method::POST,
            format!("/api/v1/micro-grids/{a}/members"),
            r#"{"name": "某", "role": "组员"}"#.into(),
        ),
        (
            Method::DELETE,
            format!("/api/v1/micro-grid-members/{member}"),
            String::new(),
        ),
    ];
    let before = (
        count!(app, micro_grid::Entity),
        count!(app, contact_group::Entity),
        count!(app, contact_group_member::Entity),
        count!(app, micro_grid_member::Entity),
    );
    for (method, path, body) in &writes {
        for who in [p.secretary, p.committee, p.resident] {
            let (st, v) = call(&app, who, method.clone(), path, body).await;
            assert_eq!(st, S::FORBIDDEN, "{method} {path} as {who}: {v}");
        }
        for who in outside_404 {
            let (st, v) = call(&app, who, method.clone(), path, body).await;
            assert_eq!(st, S::NOT_FOUND, "{method} {path} as {who}: {v}");
        }
    }
    assert_eq!(
        before,
        (
            count!(app, micro_grid::Entity),
            count!(app, contact_group::Entity),
            count!(app, contact_group_member::Entity),
            count!(app, micro_grid_member::Entity)
        )
    );

    // The grid's own worker runs its groups and members; district admins all of it.
    let (st, v) = call(
        &app,
        p.worker2,
        Method::POST,
        &format!("/api/v1/micro-grids/{}/members", built.b),
        r#"{"name": "林党员", "role": "组员"}"#,
    )
    .await;
    assert_eq!(st, S::CREATED, "{v}");
    // Deletes last, the grid's last of all.
    let (deletes, others): (Vec<_>, Vec<_>) =
        writes.into_iter().partition(|w| w.0 == Method::DELETE);
    for (method, path, body) in others.into_iter().chain(deletes.into_iter().rev()) {
        let (st, v) = call(&app, p.district, method.clone(), &path, &body).await;
        assert!(st.is_success(), "{method} {path} as district: {st} {v}");
    }
    // Unsigned: 401.
    assert_eq!(
        app.get(&format!("/api/v1/places/{c}/micro-grids"))
            .await
            .status,
        S::UNAUTHORIZED
    );
}

#[db_test]
async fn the_small_demo_has_grids_groups_and_gaps(t: TestDb) {
    let secrets = jinlin_kernel::crypto::Secrets::from_bytes([7; 32]);
    jinlin::demo::load_once_at(&t.db, Some(&secrets), jinlin_seed::plan::Scale::Small)
        .await
        .unwrap();
    let db = t.db.conn();
    let grids = micro_grid::Entity::find().all(db).await.unwrap();
    assert!(!grids.is_empty());
    assert!(grids.iter().all(|g| g.worker_account_id.is_some()));
    assert!(contact_group::Entity::find().count(db).await.unwrap() > 0);
    assert!(micro_grid_member::Entity::find().count(db).await.unwrap() >= 2 * grids.len() as u64);
    // Every compound's coverage holds reachable and unreachable dwellings.
    let app = TestApp::new(t);
    let district = place::Entity::find()
        .all(app.db.db.conn())
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.kind == "district" && p.district_code.as_deref() == Some("350104"))
        .unwrap();
    let admin = jinlin_kernel::auth::entity::account::Entity::find()
        .all(app.db.db.conn())
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.username == "district")
        .unwrap();
    let (st, v) = call(
        &app,
        admin.id,
        Method::GET,
        &format!("/api/v1/places/{}/grid-coverage", district.id),
        "",
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let f = &v["figures"];
    assert_eq!(
        f["gridded"], f["dwellings"],
        "every demo dwelling is in a grid"
    );
    assert!(f["by_group"].as_u64().unwrap() > 0);
    assert!(f["unreachable"].as_u64().unwrap() + f["by_phone"].as_u64().unwrap() > 0);
    assert!(f["by_group"].as_u64().unwrap() < f["dwellings"].as_u64().unwrap());
    coverage_matches_each_dwelling(app.db.db.conn()).await;
}

/// Every level's coverage, counted by SQL (`micro_grids::store::coverage`),
/// equals the tallies of its dwellings one by one under the rule of
/// `rules::grid_of`, child by child.
async fn coverage_matches_each_dwelling(db: &sea_orm::DatabaseConnection) {
    use std::collections::{BTreeMap, HashMap};

    use jinlin_micro_grids::rules::{Reach, Tally, grid_of};

    let building_grid: HashMap<i64, i64> = micro_grid_building::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|b| (b.building_id, b.grid_id))
        .collect();
    let mut whole_grid: HashMap<i64, i64> = HashMap::new();
    for g in micro_grid::Entity::find().all(db).await.unwrap() {
        if g.whole_compound {
            let e = whole_grid.entry(g.compound_id).or_insert(g.id);
            *e = (*e).min(g.id);
        }
    }
    let dwellings = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT district_code, street_id, community_id, compound_id, building_id, \
             CAST(reach AS BIGINT) AS reach FROM place WHERE kind = 'dwelling'",
        ))
        .await
        .unwrap();
    let places = place::Entity::find().all(db).await.unwrap();
    let mut levels = 0;
    for node in places.iter().filter(|p| {
        matches!(
            p.kind.as_str(),
            "district" | "street" | "community" | "compound"
        )
    }) {
        let mut want: BTreeMap<Option<i64>, Tally> = BTreeMap::new();
        for d in &dwellings {
            let col = |c: &str| d.try_get::<Option<i64>>("", c).unwrap();
            let (street, community, compound) =
                (col("street_id"), col("community_id"), col("compound_id"));
            let grid = grid_of(
                col("building_id").and_then(|b| building_grid.get(&b).copied()),
                compound.and_then(|c| whole_grid.get(&c).copied()),
            );
            let (under, key) = match node.kind.as_str() {
                "district" => (
                    d.try_get::<Option<String>>("", "district_code").unwrap() == node.district_code,
                    street,
                ),
                "street" => (street == Some(node.id), community),
                "community" => (community == Some(node.id), compound),
                _ => (compound == Some(node.id), grid),
            };
            let reach = match col("reach") {
                Some(2) => Reach::Group,
                Some(1) => Reach::Phone,
                _ => Reach::None,
            };
            if under {
                want.entry(key).or_default().add(grid.is_some(), reach);
            }
        }
        let got: BTreeMap<Option<i64>, Tally> = jinlin_micro_grids::store::coverage(db, node)
            .await
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(got, want, "{} {}", node.kind, node.name);
        levels += 1;
    }
    assert!(levels > 10, "{levels} places compared");
}

#[db_test]
async fn the_coverage_page_in_both_languages(db: TestDb) {
    let (app, t, s, p) = setup(db).await;
    build(&app, &t, &s, &p).await;
    let c = app.client(p.worker).await;
    let r = c.get("/micro-grids").await;
    assert_eq!(r.status, StatusCode::OK);
    let html = r.text();
    assert!(
        html.contains("我负责的网格") && html.contains("1号网格"),
        "{html}"
    );
    assert!(html.contains("金山花园") && html.contains("66.7%"));
    let r = c
        .get_en(&format!("/micro-grids?place={}", t.compound.compound))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let html = r.text();
    assert!(html.contains("Coverage") && html.contains("80.0%") && html.contains("2号网格"));
    let outsider = app.client(p.other_street).await;
    assert_eq!(
        outsider
            .get(&format!("/micro-grids?place={}", t.compound.compound))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[db_test]
async fn grid_and_compound_pages_in_both_languages(db: TestDb) {
    let (app, t, s, p) = setup(db).await;
    let built = build(&app, &t, &s, &p).await;
    let c = t.compound.compound;
    created(
        &app,
        p.worker2,
        &format!("/api/v1/micro-grids/{}/members", built.b),
        r#"{"name": "陈党员", "role": "组长", "person_id": null, "account_id": null}"#,
    )
    .await;

    // Grid B's worker: work group, groups, dwellings with 203 unreachable
    // and first, a form to add it to a group, and never a phone.
    let w2 = app.client(p.worker2).await;
    let r = w2.get(&format!("/micro-grids/{}", built.b)).await;
    assert_eq!(r.status, StatusCode::OK);
    let html = r.text();
    assert!(
        html.contains("党员工作组") && html.contains("陈党员"),
        "{html}"
    );
    assert!(html.contains("2号楼业主群") && html.contains("企业微信群"));
    assert!(html.contains("无法触达") && html.contains("203"));
    let list = &html[html.find("mg-dwellings").unwrap()..];
    assert!(list.find("203").unwrap() < list.find("201").unwrap());
    assert!(html.contains(&format!(r#"name="dwelling_id" value="{}""#, s.dwellings[2])));
    assert!(!html.contains(&format!(r#"name="dwelling_id" value="{}""#, s.dwellings[1])));
    assert!(html.contains(&format!(r#"<option value="{}">"#, built.g2)));
    assert!(html.contains(r#"name="csrf""#));
    assert!(!html.contains("1380000"), "no phone is ever shown");
    assert!(
        !html.contains("<script>") && !html.contains("onclick"),
        "no inline script"
    );
    let r = w2
        .get_en(&format!("/micro-grids/{}?reach=none", built.b))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let html = r.text();
    assert!(html.contains("Party work group") && html.contains("Unreachable"));
    assert!(html.contains("203") && !html.contains(">201<"), "{html}");

    // The compound page: grids with buildings and coverage, forms for managers.
    let w = app.client(p.worker).await;
    let r = w.get(&format!("/places/{c}/micro-grids")).await;
    assert_eq!(r.status, StatusCode::OK);
    let html = r.text();
    assert!(html.contains("本小区的网格") && html.contains("1号网格") && html.contains("2号网格"));
    assert!(html.contains("新建网格") && html.contains("划分楼栋") && html.contains("66.7%"));
    assert!(html.contains(&format!("/micro-grids/{}", built.a)));
    let r = w.get_en(&format!("/places/{c}/micro-grids")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("Grids of the compound") && r.text().contains("New grid"));
    // The secretary reads without the forms.
    let r = app
        .client(p.secretary)
        .await
        .get(&format!("/places/{c}/micro-grids"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.text().contains("新建网格"));

    // The coverage page links grids and compounds to their pages.
    let r = w.get(&format!("/micro-grids?place={c}")).await;
    assert!(
        r.text()
            .contains(&format!(r#"href="/micro-grids/{}""#, built.b))
    );
    let r = w.get(&format!("/micro-grids?place={}", t.community)).await;
    assert!(
        r.text()
            .contains(&format!(r#"href="/places/{c}/micro-grids""#))
    );

    // Outsiders learn nothing; inside without the power: 403.
    for who in [p.other_street, p.far_worker, p.secretary_n] {
        let o = app.client(who).await;
        assert_eq!(
            o.get(&format!("/micro-grids/{}", built.b)).await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            o.get(&format!("/places/{c}/micro-grids")).await.status,
            StatusCode::NOT_FOUND
        );
    }
    let committee = app.client(p.committee).await;
    assert_eq!(
        committee
            .get(&format!("/micro-grids/{}", built.b))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

#[db_test]
async fn page_forms_go_through_the_api(db: TestDb) {
    let (app, t, s, p) = setup(db).await;
    let built = build(&app, &t, &s, &p).await;
    let c = t.compound.compound;
    let w2 = app.client(p.worker2).await;
    let unreachable = |v: &Value| v["total"].as_u64().unwrap();
    let path = format!("/api/v1/micro-grids/{}/dwellings?reach=none", built.b);

    // Without the csrf field nothing happens.
    let add = format!("/micro-grids/{}/group-dwellings", built.b);
    let fields = [
        ("group_id", built.g2.to_string()),
        ("dwelling_id", s.dwellings[2].to_string()),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = w2.form(&add, &fields, false).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let (_, v) = call(&app, p.worker2, Method::GET, &path, "").await;
    assert_eq!(unreachable(&v), 1);

    // With it, 203 joins 2号楼业主群 and the grid has no gap left.
    let r = w2.form(&add, &fields, true).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let (_, v) = call(&app, p.worker2, Method::GET, &path, "").await;
    assert_eq!(unreachable(&v), 0);
    let (_, v) = call(
        &app,
        p.worker2,
        Method::GET,
        &format!("/api/v1/micro-grids/{}/contact-groups", built.b),
        "",
    )
    .await;
    assert_eq!(v[0]["dwellings"].as_u64(), Some(2));
    // Nothing ticked: refused with a message.
    let r = w2
        .form(&add, &[("group_id", &built.g2.to_string())], true)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("请至少勾选一户"));

    // Contact group and work group forms.
    let r = w2
        .form(
            &format!("/micro-grids/{}/contact-groups", built.b),
            &[
                ("name", "2号楼租户群"),
                ("channel", "wechat"),
                ("link", ""),
                ("building_id", &s.building.to_string()),
            ],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let r = w2
        .form(
            &format!("/contact-groups/{}", built.g2),
            &[
                ("name", "2号楼业主一群"),
                ("channel", "dingtalk"),
                ("link", "abc123"),
                ("building_id", ""),
            ],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let (_, v) = call(
        &app,
        p.worker2,
        Method::GET,
        &format!("/api/v1/micro-grids/{}/contact-groups", built.b),
        "",
    )
    .await;
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert_eq!(v[0]["name"], "2号楼业主一群");
    assert_eq!(v[0]["channel"], "dingtalk");
    let new_group = v[1]["id"].as_i64().unwrap();
    let r = w2
        .form(&format!("/contact-groups/{new_group}/delete"), &[], true)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = w2
        .form(
            &format!("/micro-grids/{}/members", built.b),
            &[("name", "林党员"), ("role", "组员")],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let (_, v) = call(
        &app,
        p.worker2,
        Method::GET,
        &format!("/api/v1/micro-grids/{}/members", built.b),
        "",
    )
    .await;
    let member = v[0]["id"].as_i64().unwrap();
    let r = w2
        .form(&format!("/micro-grid-members/{member}/delete"), &[], true)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(count!(app, micro_grid_member::Entity), 0);
    assert_eq!(count!(app, contact_group::Entity), 2);
    // Grid A's worker may not touch grid B's groups.
    let r = app.client(p.worker).await.form(&add, &fields, true).await;
    assert_eq!(
        r.status,
        StatusCode::SEE_OTHER,
        "a community worker manages"
    );
    let r = app
        .client(p.secretary)
        .await
        .form(&add, &fields, true)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // The split form: grid B takes 1号楼 too; grid A is left empty.
    let w = app.client(p.worker).await;
    let split = format!("/micro-grids/{}/buildings", built.b);
    let r = w
        .form(
            &split,
            &[
                ("building_id", &s.building.to_string()),
                ("building_id", &t.compound.building.to_string()),
            ],
            false,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = w
        .form(
            &split,
            &[
                ("building_id", &s.building.to_string()),
                ("building_id", &t.compound.building.to_string()),
            ],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(
        r.header("location").unwrap(),
        format!("/places/{c}/micro-grids")
    );
    let (_, v) = call(
        &app,
        p.worker,
        Method::GET,
        &format!("/api/v1/places/{c}/micro-grids"),
        "",
    )
    .await;
    let bs = v["buildings"].as_array().unwrap();
    assert!(
        bs.iter().all(|b| b["grid_id"].as_i64() == Some(built.b)),
        "{v}"
    );
    assert_eq!(v["grids"][0]["figures"]["dwellings"].as_u64(), Some(0));
    assert_eq!(count!(app, micro_grid_building::Entity), 2);

    // A building of another grid: the API's 409 message on the error page.
    let r = w
        .form(
            &format!("/places/{c}/micro-grids"),
            &[
                ("name", "3号网格"),
                ("worker_account_id", ""),
                ("building_id", &s.building.to_string()),
            ],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.text().contains("该楼栋已划入另一个网格"), "{}", r.text());
    assert_eq!(count!(app, micro_grid::Entity), 2);
    // The new-grid form: B gives 1号楼 back first, then a grid takes it.
    let r = w
        .form(&split, &[("building_id", &s.building.to_string())], true)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = w
        .form(
            &format!("/places/{c}/micro-grids"),
            &[
                ("name", "3号网格"),
                ("worker_account_id", &p.worker.to_string()),
                ("building_id", &t.compound.building.to_string()),
            ],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let (_, v) = call(
        &app,
        p.worker,
        Method::GET,
        &format!("/api/v1/places/{c}/micro-grids"),
        "",
    )
    .await;
    assert_eq!(v["grids"].as_array().unwrap().len(), 3);
    assert_eq!(v["grids"][2]["name"], "3号网格");
    assert_eq!(
        v["buildings"][0]["grid_id"].as_i64(),
        v["grids"][2]["id"].as_i64()
    );
    // Street admins of elsewhere: 404, nothing stored.
    let r = app
        .client(p.other_street)
        .await
        .form(
            &format!("/places/{c}/micro-grids"),
            &[("name", "4号网格")],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(count!(app, micro_grid::Entity), 3);
}

/// The stored reach of each dwelling, in the order asked.
async fn stored_reach(app: &TestApp, ids: &[i64]) -> Vec<i64> {
    let conn = app.db.db.conn();
    let list = ids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let rows = conn
        .query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            format!("SELECT id, CAST(reach AS BIGINT) AS reach FROM place WHERE id IN ({list})"),
        ))
        .await
        .unwrap();
    let by_id: std::collections::HashMap<i64, i64> = rows
        .iter()
        .map(|r| {
            (
                r.try_get("", "id").unwrap(),
                r.try_get("", "reach").unwrap(),
            )
        })
        .collect();
    ids.iter().map(|id| by_id[id]).collect()
}

/// How each dwelling is reached is kept on its row as contact groups,
/// owners, residents and phones change, whichever path writes them: the
/// API, or a plain statement as an import or the seed would issue.
#[db_test]
async fn the_stored_reach_follows_every_write(db: TestDb) {
    let (app, t, s, p) = setup(db).await;
    let conn = app.db.db.conn();
    let [d101, d102] = [t.compound.dwellings[0], t.compound.dwellings[1]];
    let [d201, d202, d203] = s.dwellings;
    let all = [d101, d102, d201, d202, d203];
    // 2: a contact group; 1: a phone of an owner or resident; 0: neither.
    assert_eq!(stored_reach(&app, &all).await, [0, 1, 1, 1, 0]);

    let built = build(&app, &t, &s, &p).await;
    assert_eq!(stored_reach(&app, &all).await, [2, 1, 2, 1, 0]);

    // 李四, 102's owner, loses the phone, then has another.
    let li = dwelling_owner::Entity::find()
        .filter(dwelling_owner::Column::DwellingId.eq(d102))
        .one(conn)
        .await
        .unwrap()
        .unwrap();
    let set_phone = |phone: Option<&'static str>| {
        person::Entity::update_many()
            .col_expr(person::Column::Phone, Expr::value(phone.map(String::from)))
            .filter(person::Column::Id.eq(li.person_id.unwrap()))
            .exec(conn)
    };
    set_phone(Some("")).await.unwrap();
    assert_eq!(stored_reach(&app, &all).await, [2, 0, 2, 1, 0]);
    set_phone(Some("13800000009")).await.unwrap();
    assert_eq!(stored_reach(&app, &all).await, [2, 1, 2, 1, 0]);

    // 赵六 moves from 202 to 203.
    dwelling_resident::Entity::update_many()
        .col_expr(dwelling_resident::Column::DwellingId, Expr::value(d203))
        .filter(dwelling_resident::Column::DwellingId.eq(d202))
        .exec(conn)
        .await
        .unwrap();
    assert_eq!(stored_reach(&app, &all).await, [2, 1, 2, 0, 1]);

    // 102's owner is removed.
    dwelling_owner::Entity::delete_by_id(li.id)
        .exec(conn)
        .await
        .unwrap();
    assert_eq!(stored_reach(&app, &all).await, [2, 0, 2, 0, 1]);

    // Group 1 drops 101, whose owner has no phone.
    no_content(
        &app,
        p.worker,
        Method::PUT,
        &format!("/api/v1/contact-groups/{}/dwellings", built.g1),
        r#"{"dwellings": []}"#,
    )
    .await;
    assert_eq!(stored_reach(&app, &all).await, [0, 0, 2, 0, 1]);

    // Group 2's member row is moved from 201 to 202; 201 keeps its
    // tenant's phone.
    contact_group_member::Entity::update_many()
        .col_expr(contact_group_member::Column::DwellingId, Expr::value(d202))
        .filter(contact_group_member::Column::DwellingId.eq(d201))
        .exec(conn)
        .await
        .unwrap();
    assert_eq!(stored_reach(&app, &all).await, [0, 0, 1, 2, 1]);

    // Deleting group 2 takes its members with it.
    no_content(
        &app,
        p.worker2,
        Method::DELETE,
        &format!("/api/v1/contact-groups/{}", built.g2),
        "",
    )
    .await;
    assert_eq!(stored_reach(&app, &all).await, [0, 0, 1, 0, 1]);

    // The compound's coverage counts what is stored: 201 and 203 by phone.
    let (st, v) = call(
        &app,
        p.secretary,
        Method::GET,
        &format!("/api/v1/places/{}/grid-coverage", t.compound.compound),
        "",
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(figures(&v["figures"]), (5, 5, 0, 2, "40.0%".into()));
}

/// The reach migration taken down and up again on a database with
/// households in it: the column comes back filled from what is stored, and
/// its triggers work again.
#[db_test]
async fn the_reach_migration_fills_the_column_and_goes_down_cleanly(db: TestDb) {
    use jinlin_migration::{Migrator, MigratorTrait};
    let (app, t, s, p) = setup(db).await;
    let conn = app.db.db.conn();
    let built = build(&app, &t, &s, &p).await;
    let all = [
        t.compound.dwellings[0],
        t.compound.dwellings[1],
        s.dwellings[0],
        s.dwellings[1],
        s.dwellings[2],
    ];
    assert_eq!(stored_reach(&app, &all).await, [2, 1, 2, 1, 0]);
    let applied = Migrator::get_applied_migrations(conn).await.unwrap();
    let last: Vec<&str> = applied.iter().rev().take(3).map(|m| m.name()).collect();
    assert_eq!(
        last,
        [
            "m0031_principal_epoch",
            "m0030_place_community_reach",
            "m0029_dwelling_reach"
        ],
        "this test takes down the reach and the index that holds it, and the principals' \
         epoch after them"
    );
    Migrator::down(conn, Some(3)).await.unwrap();
    // Without the triggers a group is emptied (by hand: without the
    // principals' epoch a PostgreSQL server serves no signed-in request).
    sea_orm::ConnectionTrait::execute_unprepared(
        conn,
        &format!(
            "DELETE FROM contact_group_member WHERE group_id = {}",
            built.g1
        ),
    )
    .await
    .unwrap();
    Migrator::up(conn, None).await.unwrap();
    assert_eq!(stored_reach(&app, &all).await, [0, 1, 2, 1, 0]);
    let qian = person_with(&app.db, "钱七", Some("13800000007")).await;
    resident(&app.db, all[4], t.compound.compound, qian).await;
    assert_eq!(stored_reach(&app, &all).await, [0, 1, 2, 1, 1]);
}
