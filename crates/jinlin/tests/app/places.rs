//! The place tree: browsing, search, registry writes, and who may do what.

use axum::http::{Method, StatusCode};
use jinlin_kernel::auth::Role;
use jinlin_testkit::fixtures::{account, tree};
use jinlin_testkit::{TestDb, db_test};
use sea_orm::{EntityTrait, PaginatorTrait};

use crate::support::{TestApp, api_error};

const COMPOUND_BODY: &str = r#"{"name": "滨江花园", "compound": {"compound_type": "commercial", "town_area": "new", "address": "金山大道 1 号", "owners_committee": "滨江花园业委会", "property_company": "福州某物业"}}"#;

async fn place_count(app: &TestApp) -> u64 {
    jinlin_kernel::place::entity::Entity::find()
        .count(app.db.db.conn())
        .await
        .unwrap()
}

#[db_test]
async fn a_district_admin_browses_down_to_a_dwelling(db: TestDb) {
    let t = tree(&db.db).await;
    let admin = account(&db.db, "district", Role::DistrictAdmin, t.district).await;
    let app = TestApp::new(db);
    let c = app.client(admin).await;

    let district = c.get(&format!("/api/v1/places/{}", t.district)).await;
    assert_eq!(district.status, StatusCode::OK, "{}", district.text());
    assert_eq!(district.json()["name"], "仓山区");
    assert_eq!(district.json()["kind"], "district");

    let children = c
        .get(&format!("/api/v1/places/{}/children", t.district))
        .await
        .json();
    let names: Vec<&str> = children["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["金山街道", "仓山镇"]);

    let dwelling = c
        .get(&format!("/api/v1/places/{}", t.compound.dwellings[0]))
        .await
        .json();
    let chain: Vec<&str> = dwelling["ancestors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        chain,
        [
            "仓山区",
            "金山街道",
            "金山社区",
            "金山花园",
            "1号楼",
            "1单元"
        ]
    );

    let page = c.get(&format!("/places/{}", t.compound.entrance)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("金山花园"));
    assert!(page.text().contains("101"));
}

/// Every role, inside and outside its scope, on reads and writes.
#[db_test]
async fn access_follows_role_and_place(db: TestDb) {
    let t = tree(&db.db).await;
    let street = account(&db.db, "street", Role::StreetAdmin, t.street).await;
    let worker = account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let secretary = account(
        &db.db,
        "secretary",
        Role::CompoundSecretary,
        t.compound.compound,
    )
    .await;
    let property = account(&db.db, "property", Role::PropertyStaff, t.compound.compound).await;
    let resident = account(&db.db, "resident", Role::Resident, t.compound.dwellings[0]).await;
    let agency = account(&db.db, "agency", Role::AgencyAdmin, t.district).await;
    let app = TestApp::new(db);

    let read = |id: i64| format!("/api/v1/places/{id}");
    // (account, place, expected read status)
    let cases = [
        (street, t.far.compound, StatusCode::NOT_FOUND),
        (street, t.compound.dwellings[1], StatusCode::OK),
        (street, t.district, StatusCode::NOT_FOUND),
        (worker, t.neighbour.compound, StatusCode::OK),
        (worker, t.far.dwellings[0], StatusCode::NOT_FOUND),
        (secretary, t.compound.dwellings[1], StatusCode::OK),
        (secretary, t.neighbour.compound, StatusCode::NOT_FOUND),
        (property, t.compound.dwellings[0], StatusCode::OK),
        (property, t.neighbour.dwellings[0], StatusCode::NOT_FOUND),
        (resident, t.compound.compound, StatusCode::OK),
        (resident, t.compound.building, StatusCode::OK),
        (resident, t.compound.dwellings[0], StatusCode::OK),
        (resident, t.compound.dwellings[1], StatusCode::NOT_FOUND),
        (resident, t.community, StatusCode::NOT_FOUND),
        (agency, t.compound.compound, StatusCode::NOT_FOUND),
    ];
    for (who, place, expected) in cases {
        let c = app.client(who).await;
        let r = c.get(&read(place)).await;
        assert_eq!(
            r.status,
            expected,
            "account {who} reading place {place}: {}",
            r.text()
        );
        let children = c.get(&format!("{}/children", read(place))).await;
        assert_eq!(children.status, expected, "children of {place} for {who}");
    }

    // Writes: 404 outside the scope, 403 inside it without the power to edit.
    let body = r#"{"name": "2号楼"}"#;
    let writes = [
        (worker, t.compound.compound, StatusCode::CREATED),
        (street, t.neighbour.compound, StatusCode::CREATED),
        (street, t.far.compound, StatusCode::NOT_FOUND),
        (secretary, t.compound.compound, StatusCode::FORBIDDEN),
        (property, t.compound.compound, StatusCode::FORBIDDEN),
        (resident, t.compound.compound, StatusCode::FORBIDDEN),
        (resident, t.neighbour.compound, StatusCode::NOT_FOUND),
        (agency, t.compound.compound, StatusCode::NOT_FOUND),
    ];
    for (who, parent, expected) in writes {
        let c = app.client(who).await;
        let r = c
            .json(
                Method::POST,
                &format!("/api/v1/places/{parent}/children"),
                body,
            )
            .await;
        assert_eq!(
            r.status,
            expected,
            "account {who} adding under {parent}: {}",
            r.text()
        );
        let patch = c
            .json(Method::PATCH, &read(parent), r#"{"name": "改名"}"#)
            .await;
        let expected_patch = if expected == StatusCode::CREATED {
            StatusCode::OK
        } else {
            expected
        };
        assert_eq!(
            patch.status, expected_patch,
            "account {who} renaming {parent}"
        );
    }

    // Without signing in: 401 for the API, a redirect to sign in for pages.
    let anonymous = app.get(&read(t.compound.compound)).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(api_error(&anonymous).0, "unauthorized");
    let page = app.get(&format!("/places/{}", t.compound.compound)).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.header("location").unwrap().starts_with("/login?next="));
    // A page out of scope is a 404 page that names nothing.
    let c = app.client(secretary).await;
    let hidden = c.get(&format!("/places/{}", t.neighbour.compound)).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    assert!(!hidden.text().contains("榕城小区"));
}

#[db_test]
async fn a_community_worker_registers_a_compound_down_to_a_dwelling(db: TestDb) {
    let t = tree(&db.db).await;
    let worker = account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let app = TestApp::new(db);
    let c = app.client(worker).await;

    let created = c
        .json(
            Method::POST,
            &format!("/api/v1/places/{}/children", t.community),
            COMPOUND_BODY,
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let compound = created.json();
    assert_eq!(compound["kind"], "compound");
    assert_eq!(compound["compound"]["compound_type"], "commercial");
    let id = compound["id"].as_i64().unwrap();

    let building = c
        .json(
            Method::POST,
            &format!("/api/v1/places/{id}/children"),
            r#"{"name": "3号楼"}"#,
        )
        .await
        .json();
    let entrance = c
        .json(
            Method::POST,
            &format!("/api/v1/places/{}/children", building["id"]),
            r#"{"name": "2单元"}"#,
        )
        .await
        .json();
    let dwelling = c
        .json(
            Method::POST,
            &format!("/api/v1/places/{}/children", entrance["id"]),
            r#"{"name": "1201", "dwelling": {"area_centi_m2": 8950, "area_source": "register"}}"#,
        )
        .await;
    assert_eq!(dwelling.status, StatusCode::CREATED, "{}", dwelling.text());
    assert_eq!(dwelling.json()["dwelling"]["area_centi_m2"], 8950);
    let dwelling_json = dwelling.json();
    let chain: Vec<&str> = dwelling_json["ancestors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(chain[3..], ["滨江花园", "3号楼", "2单元"]);

    // The compound page shows the registry counts.
    let page = c.get(&format!("/places/{id}")).await;
    assert!(page.text().contains("89.50"), "{}", page.text());

    // Search by Chinese name, pinyin initials and code prefix.
    for q in ["滨江", "bjhy", "BJ"] {
        let found = c
            .get(&format!("/api/v1/places/search?q={}", urlencode(q)))
            .await
            .json();
        assert!(
            found.as_array().unwrap().iter().any(|p| p["id"] == id),
            "search {q}: {found}"
        );
    }
    let by_code = c.get("/api/v1/places/search?q=350104008").await.json();
    assert!(
        by_code
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "金山社区")
    );

    // Deleting: a place with children is refused; a leaf goes.
    let refused = c.delete(&format!("/api/v1/places/{id}")).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(api_error(&refused).0, "place_has_children");
    let gone = c
        .delete(&format!("/api/v1/places/{}", dwelling.json()["id"]))
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);

    // Every write is in the audit log.
    let audited = jinlin_kernel::audit::entity::Entity::find()
        .count(app.db.db.conn())
        .await
        .unwrap();
    assert_eq!(audited, 5);
}

fn urlencode(q: &str) -> String {
    serde_urlencoded::to_string([("q", q)]).unwrap()[2..].to_string()
}

#[db_test]
async fn search_never_leaves_the_scope(db: TestDb) {
    let t = tree(&db.db).await;
    let worker = account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let far = account(&db.db, "far", Role::StreetAdmin, t.other_street).await;
    let app = TestApp::new(db);
    let found = app
        .client(far)
        .await
        .get("/api/v1/places/search?q=%E5%B0%8F%E5%8C%BA")
        .await
        .json();
    let names: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["城门小区"]);
    let found = app
        .client(worker)
        .await
        .get("/api/v1/places/search?q=%E5%B0%8F%E5%8C%BA")
        .await
        .json();
    let names: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["榕城小区"]);
}

#[db_test]
async fn bad_input_is_refused_and_nothing_is_stored(db: TestDb) {
    let t = tree(&db.db).await;
    let worker = account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let app = TestApp::new(db);
    let c = app.client(worker).await;
    let before = place_count(&app).await;
    let under = |id: i64| format!("/api/v1/places/{id}/children");
    let cases = [
        (
            under(t.community),
            r#"{"name": "无详情小区"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            under(t.community),
            r#"{"name": "", "compound": {"compound_type": "old", "town_area": "old"}}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            under(t.community),
            r#"{"name": "x", "compound": {"compound_type": "villa", "town_area": "old"}}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            under(t.community),
            r#"{"name": "x", "compound": {"compound_type": "old", "town_area": "old", "latitude_e6": 1}}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            under(t.compound.entrance),
            r#"{"name": "301", "dwelling": {"area_centi_m2": 0, "area_source": "register"}}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            under(t.compound.entrance),
            r#"{"name": "301", "dwelling": {"area_centi_m2": 9000, "area_source": "guess"}}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            under(t.compound.entrance),
            r#"{"name": "301"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            under(t.compound.dwellings[0]),
            r#"{"name": "房中房"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            under(t.compound.compound),
            r#"{"name": "x", "extra": 1}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            under(t.compound.compound),
            r#"{"name": "#,
            StatusCode::BAD_REQUEST,
        ),
        (under(999_999), r#"{"name": "x"}"#, StatusCode::NOT_FOUND),
    ];
    for (path, body, expected) in cases {
        let r = c.json(Method::POST, &path, body).await;
        assert_eq!(r.status, expected, "{path} {body}: {}", r.text());
        api_error(&r);
    }
    let rename = c
        .json(
            Method::PATCH,
            &format!("/api/v1/places/{}", t.community),
            r#"{"name": "新名"}"#,
        )
        .await;
    assert_eq!(rename.status, StatusCode::UNPROCESSABLE_ENTITY);
    let wrong_details = c
        .json(
            Method::PATCH,
            &format!("/api/v1/places/{}", t.compound.building),
            r#"{"dwelling": {"area_centi_m2": 1, "area_source": "survey"}}"#,
        )
        .await;
    assert_eq!(wrong_details.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad_page = c
        .get(&format!(
            "/api/v1/places/{}/children?per_page=0",
            t.community
        ))
        .await;
    assert_eq!(bad_page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad_query = c
        .get(&format!("/api/v1/places/{}/children?page=x", t.community))
        .await;
    assert_eq!(bad_query.status, StatusCode::BAD_REQUEST);
    let no_query = c.get("/api/v1/places/search").await;
    assert_eq!(no_query.status, StatusCode::BAD_REQUEST);
    assert_eq!(place_count(&app).await, before);
}

#[db_test]
async fn forms_create_and_edit_with_csrf(db: TestDb) {
    let t = tree(&db.db).await;
    let worker = account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let app = TestApp::new(db);
    let c = app.client(worker).await;
    let form = c.get(&format!("/places/{}/new", t.compound.entrance)).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.text().contains("name=\"area\""));

    let fields = [("name", "301"), ("area", "88.5"), ("area_source", "survey")];
    let forged = c
        .form(
            &format!("/places/{}/new", t.compound.entrance),
            &fields,
            false,
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let bad = c
        .form(
            &format!("/places/{}/new", t.compound.entrance),
            &[("name", "301"), ("area", "-1"), ("area_source", "survey")],
            true,
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().contains("面积"), "{}", bad.text());

    let made = c
        .form(
            &format!("/places/{}/new", t.compound.entrance),
            &fields,
            true,
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.text());
    let location = made.header("location").unwrap().to_string();
    let page = c.get_en(&location).await;
    assert!(page.text().contains("88.50 m²"), "{}", page.text());
    assert!(page.text().contains("Survey"));

    let id: i64 = location.trim_start_matches("/places/").parse().unwrap();
    let edited = c
        .form(
            &format!("/places/{id}/edit"),
            &[("name", "302"), ("area", "90"), ("area_source", "register")],
            true,
        )
        .await;
    assert_eq!(edited.status, StatusCode::SEE_OTHER);
    let detail = c.get(&format!("/api/v1/places/{id}")).await.json();
    assert_eq!(detail["name"], "302");
    assert_eq!(detail["dwelling"]["area_centi_m2"], 9000);
}
