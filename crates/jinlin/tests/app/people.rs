//! Owners and residents of dwellings, and how personal data is protected.

use axum::http::{Method, StatusCode};
use jinlin_kernel::auth::Role;
use jinlin_testkit::fixtures::{account, tree};
use jinlin_testkit::{TestDb, db_test};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Statement};

use crate::support::{TestApp, api_error};

/// A valid identity number (check character computed by the rules).
fn id_number() -> String {
    let body = "35010419800101123";
    format!(
        "{body}{}",
        jinlin_people::rules::id_check_character(body).unwrap()
    )
}

fn owner_body(phone: &str, id: &str) -> String {
    format!(
        r#"{{"owner_kind": "person", "person": {{"name": "林美华", "phone": "{phone}", "id_number": "{id}", "party_member": true, "employer": "仓山区住建局"}}}}"#
    )
}

async fn audit_count(app: &TestApp, action: &str) -> u64 {
    jinlin_kernel::audit::entity::Entity::find()
        .filter(jinlin_kernel::audit::entity::Column::Action.eq(action))
        .count(app.db.db.conn())
        .await
        .unwrap()
}

#[db_test]
async fn owners_are_recorded_and_phones_masked_by_role(db: TestDb) {
    let t = tree(&db.db).await;
    let worker = account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let property = account(&db.db, "property", Role::PropertyStaff, t.compound.compound).await;
    let resident = account(&db.db, "resident", Role::Resident, t.compound.dwellings[1]).await;
    let far = account(&db.db, "far", Role::StreetAdmin, t.other_street).await;
    let app = TestApp::new(db);
    let d = t.compound.dwellings[0];
    let w = app.client(worker).await;

    let added = w
        .json(
            Method::POST,
            &format!("/api/v1/places/{d}/owners"),
            &owner_body("13812341234", &id_number()),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text());
    let person = added.json()["person_id"].as_i64().unwrap();
    // The same person owns a second dwelling: found by ID number, not duplicated.
    let again = w
        .json(
            Method::POST,
            &format!("/api/v1/places/{}/owners", t.compound.dwellings[1]),
            &owner_body("13812341234", &id_number()),
        )
        .await;
    assert_eq!(again.json()["person_id"].as_i64(), Some(person));
    let developer = w
        .json(
            Method::POST,
            &format!("/api/v1/places/{d}/owners"),
            r#"{"owner_kind": "developer", "company_name": "福州某置业有限公司"}"#,
        )
        .await;
    assert_eq!(developer.status, StatusCode::CREATED);
    let tenant = w
        .json(
            Method::POST,
            &format!("/api/v1/places/{d}/residents"),
            r#"{"relation": "tenant", "person": {"name": "张伟", "phone": "0591-87654321"}}"#,
        )
        .await;
    assert_eq!(tenant.status, StatusCode::CREATED, "{}", tenant.text());

    // The community worker needs phones: shown, and the read is audited.
    let before = audit_count(&app, "person.read_phone").await;
    let seen = w.get(&format!("/api/v1/places/{d}/occupants")).await.json();
    assert_eq!(seen["owners"][0]["person"]["phone"], "13812341234");
    assert_eq!(audit_count(&app, "person.read_phone").await, before + 1);

    // Property staff see the registry with phones masked.
    let p = app.client(property).await;
    let masked = p.get(&format!("/api/v1/places/{d}/occupants")).await.json();
    assert_eq!(masked["owners"][0]["person"]["phone"], "138****1234");
    assert_eq!(masked["owners"][0]["person"]["phone_masked"], true);
    assert_eq!(masked["owners"][1]["owner_kind"], "developer");
    assert_eq!(masked["residents"][0]["person"]["phone"], "0591-******21");
    let page = p.get(&format!("/places/{d}")).await.text();
    assert!(page.contains("138****1234") && !page.contains("13812341234"));
    let registry = p
        .get(&format!("/places/{}/registry", t.compound.compound))
        .await;
    assert_eq!(registry.status, StatusCode::OK);
    assert!(
        registry.text().contains("林美华 138****1234"),
        "{}",
        registry.text()
    );
    assert!(!registry.text().contains("13812341234"));
    // …and cannot reach the unmasked record.
    assert_eq!(
        p.get(&format!("/api/v1/people/{person}/personal"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // A resident of the next dwelling reads their own record, not this one.
    let r = app.client(resident).await;
    assert_eq!(
        r.get(&format!("/api/v1/places/{d}/occupants")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        r.get(&format!("/places/{}/registry", t.compound.compound))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // Another street knows nothing of it.
    let f = app.client(far).await;
    assert_eq!(
        f.get(&format!("/api/v1/places/{d}/occupants")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        f.get(&format!("/api/v1/people/{person}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        f.get(&format!("/api/v1/people/{person}/personal"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // The ID number is unreadable in the database, readable (audited) by the worker.
    let stored = app
        .db
        .db
        .conn()
        .query_one_raw(Statement::from_string(
            app.db.db.backend(),
            "SELECT id_number_cipher FROM person WHERE name = '林美华'",
        ))
        .await
        .unwrap()
        .unwrap();
    let cipher: String = stored.try_get("", "id_number_cipher").unwrap();
    assert!(!cipher.contains(&id_number()[..10]));
    let personal = w.get(&format!("/api/v1/people/{person}/personal")).await;
    assert_eq!(personal.status, StatusCode::OK);
    assert_eq!(personal.json()["id_number"], id_number());
    assert_eq!(audit_count(&app, "person.read_personal").await, 1);

    // Removing the tenant: property staff may not, another street sees nothing.
    let tenant_id = tenant.json()["id"].as_i64().unwrap();
    let path = format!("/api/v1/residents/{tenant_id}");
    assert_eq!(p.delete(&path).await.status, StatusCode::FORBIDDEN);
    assert_eq!(f.delete(&path).await.status, StatusCode::NOT_FOUND);
    assert_eq!(w.delete(&path).await.status, StatusCode::NO_CONTENT);
    assert_eq!(w.delete(&path).await.status, StatusCode::NOT_FOUND);
    assert_eq!(audit_count(&app, "resident.remove").await, 1);
    let left = w.get(&format!("/api/v1/places/{d}/occupants")).await.json();
    assert!(left["residents"].as_array().unwrap().is_empty());
}

#[db_test]
async fn bad_people_input_is_refused_and_nothing_is_stored(db: TestDb) {
    let t = tree(&db.db).await;
    let worker = account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let secretary = account(
        &db.db,
        "secretary",
        Role::CompoundSecretary,
        t.compound.compound,
    )
    .await;
    let app = TestApp::new(db);
    let w = app.client(worker).await;
    let d = t.compound.dwellings[0];
    let mut bad_check = id_number();
    let last = if bad_check.ends_with('0') { '1' } else { '0' };
    bad_check.pop();
    bad_check.push(last);
    let cases = [
        (
            owner_body("12345", &id_number()),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            owner_body("13812341234", &bad_check),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            owner_body("13812341234", "123"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"owner_kind": "landlord", "company_name": "x"}"#.to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"owner_kind": "company"}"#.to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"owner_kind": "person"}"#.to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"owner_kind": "person", "person": {"name": "  "}}"#.to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"owner_kind": "person", "person_id": 424242}"#.to_string(),
            StatusCode::NOT_FOUND,
        ),
        ("{".to_string(), StatusCode::BAD_REQUEST),
    ];
    for (body, expected) in cases {
        let r = w
            .json(Method::POST, &format!("/api/v1/places/{d}/owners"), &body)
            .await;
        assert_eq!(r.status, expected, "{body}: {}", r.text());
        api_error(&r);
    }
    // Owners go on dwellings only; a secretary may not edit the registry.
    let on_building = w
        .json(
            Method::POST,
            &format!("/api/v1/places/{}/owners", t.compound.building),
            &owner_body("13812341234", &id_number()),
        )
        .await;
    assert_eq!(on_building.status, StatusCode::NOT_FOUND);
    let s = app.client(secretary).await;
    let refused = s
        .json(
            Method::POST,
            &format!("/api/v1/places/{d}/owners"),
            &owner_body("13812341234", &id_number()),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let people = jinlin_people::entity::person::Entity::find()
        .count(app.db.db.conn())
        .await
        .unwrap();
    assert_eq!(people, 0);
    // A duplicate owner is a conflict.
    let first = w
        .json(
            Method::POST,
            &format!("/api/v1/places/{d}/owners"),
            &owner_body("13812341234", &id_number()),
        )
        .await;
    let pid = first.json()["person_id"].as_i64().unwrap();
    let dup = w
        .json(
            Method::POST,
            &format!("/api/v1/places/{d}/owners"),
            &format!(r#"{{"owner_kind": "person", "person_id": {pid}}}"#),
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    // A dwelling with an owner cannot be deleted; removing the owner frees it.
    assert_eq!(
        w.delete(&format!("/api/v1/places/{d}")).await.status,
        StatusCode::CONFLICT
    );
    let owner = first.json()["id"].as_i64().unwrap();
    assert_eq!(
        s.delete(&format!("/api/v1/owners/{owner}")).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        w.delete(&format!("/api/v1/owners/{owner}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        w.delete(&format!("/api/v1/places/{d}")).await.status,
        StatusCode::NO_CONTENT
    );
}

#[db_test]
async fn the_language_follows_the_account(db: TestDb) {
    let t = tree(&db.db).await;
    let worker = account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let app = TestApp::new(db);
    let w = app.client(worker).await;
    let switched = w.get("/lang/en?next=/places").await;
    assert_eq!(switched.status, StatusCode::SEE_OTHER);
    // Another device (a fresh session, no language cookie) gets English.
    let other = app.client(worker).await;
    let page = other.get("/places").await;
    assert!(
        page.text().contains("<html lang=\"en\">"),
        "{}",
        page.text()
    );
}

#[db_test]
async fn an_id_number_alone_never_brings_someone_elses_record_into_view(db: TestDb) {
    let t = tree(&db.db).await;
    let far_worker = account(
        &db.db,
        "far-worker",
        Role::CommunityWorker,
        t.other_community,
    )
    .await;
    let worker = account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let app = TestApp::new(db);
    // Registered in another street, with a phone.
    let far = app.client(far_worker).await;
    let r = far
        .json(
            Method::POST,
            &format!("/api/v1/places/{}/owners", t.far.dwellings[0]),
            &owner_body("13812341234", &id_number()),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let person = r.json()["person_id"].as_i64().unwrap();
    // Here, someone types the same ID number with another name: refused,
    // and nothing of the record is shown or linked.
    let w = app.client(worker).await;
    let d = t.compound.dwellings[0];
    let wrong = w
        .json(
            Method::POST,
            &format!("/api/v1/places/{d}/owners"),
            &format!(
                r#"{{"owner_kind": "person", "person": {{"name": "某某", "id_number": "{}"}}}}"#,
                id_number()
            ),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!wrong.text().contains("13812341234"));
    assert!(!wrong.text().contains("林美华"));
    let occupants = w.get(&format!("/api/v1/places/{d}/occupants")).await.json();
    assert!(occupants["owners"].as_array().unwrap().is_empty());
    // With the registered name, it is the same person buying here too.
    let right = w
        .json(
            Method::POST,
            &format!("/api/v1/places/{d}/owners"),
            &owner_body("13812341234", &id_number()),
        )
        .await;
    assert_eq!(right.status, StatusCode::CREATED, "{}", right.text());
    assert_eq!(right.json()["person_id"].as_i64(), Some(person));
}
