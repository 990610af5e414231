//! Personal data: ID numbers unreadable in the stored database, phones
//! masked in every page and API response for roles below `Personal`, and
//! every plain read of a phone written to the audit log.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use jinlin_kernel::auth::Role;
use jinlin_testkit::fixtures::{account, tree};
use jinlin_testkit::{TestDb, db_test};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Statement};

use crate::client::Client;
use crate::support::TestApp;

const MOBILE: &str = "13812341234";
const MOBILE_MASKED: &str = "138****1234";
const LANDLINE: &str = "0591-87654321";
/// The part of the landline its mask hides (`0591-******21`).
const LANDLINE_HIDDEN: &str = "876543";

fn id_number(body: &str) -> String {
    format!(
        "{body}{}",
        jinlin_people::rules::id_check_character(body).unwrap()
    )
}

/// What a reader must never find of an ID number: the whole of it, and
/// the eleven characters its mask hides (`350***********123X`).
fn hidden_parts(id: &str) -> [String; 2] {
    [id.to_string(), id[3..14].to_string()]
}

async fn audits(app: &TestApp, action: &str) -> u64 {
    jinlin_kernel::audit::entity::Entity::find()
        .filter(jinlin_kernel::audit::entity::Column::Action.eq(action))
        .count(app.db.db.conn())
        .await
        .unwrap()
}

/// Every row of every table of the database, as text.
async fn every_row(app: &TestApp) -> String {
    let conn = app.db.db.conn();
    let backend = app.db.db.backend();
    let tables_sql = if app.db.is_postgres() {
        "SELECT table_name AS name FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
    } else {
        "SELECT name FROM sqlite_master WHERE type = 'table'"
    };
    let tables: Vec<String> = conn
        .query_all_raw(Statement::from_string(backend, tables_sql))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String>("", "name").unwrap())
        .collect();
    assert!(tables.iter().any(|t| t == "person"), "{tables:?}");
    let mut all = String::new();
    for table in tables {
        let sql = if app.db.is_postgres() {
            format!(r#"SELECT row_to_json(t)::text AS row FROM "{table}" t"#)
        } else {
            // Every column of the row, whatever its type, as text.
            let columns: Vec<String> = conn
                .query_all_raw(Statement::from_string(
                    backend,
                    format!(r#"SELECT name FROM pragma_table_info('{table}')"#),
                ))
                .await
                .unwrap()
                .iter()
                .map(|r| r.try_get::<String>("", "name").unwrap())
                .map(|c| format!(r#"COALESCE(CAST("{c}" AS TEXT), '')"#))
                .collect();
            format!(
                r#"SELECT {} AS row FROM "{table}""#,
                columns.join(" || '|' || ")
            )
        };
        for r in conn
            .query_all_raw(Statement::from_string(backend, sql))
            .await
            .unwrap()
        {
            all.push_str(&r.try_get::<String>("", "row").unwrap());
            all.push('\n');
        }
    }
    all
}

/// The bytes of the SQLite database file and its write-ahead log.
fn sqlite_files(app: &TestApp) -> Vec<(String, Vec<u8>)> {
    let path = app
        .db
        .url
        .strip_prefix("sqlite://")
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();
    [path.clone(), format!("{path}-wal")]
        .into_iter()
        .filter_map(|p| std::fs::read(&p).ok().map(|bytes| (p, bytes)))
        .collect()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn import_csv(rows: &[String]) -> Vec<u8> {
    let mut text =
        "楼栋,单元,房号,面积,面积来源,业主类型,业主,电话,身份证号,党员,工作单位\n".to_string();
    for r in rows {
        text.push_str(r);
        text.push('\n');
    }
    text.into_bytes()
}

#[db_test]
async fn id_numbers_are_unreadable_in_the_stored_database(db: TestDb) {
    let t = tree(&db.db).await;
    let worker = account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let app = TestApp::new(db);
    let w = app.client(worker).await;
    let owner_id = id_number("35010419800101123");
    let tenant_id = id_number("35010219910704556");
    let corrected_id = id_number("35010319720228781");
    let imported = [
        id_number("35010419780512201"),
        id_number("35012119650930317"),
    ];

    // Registered through each way in: an owner, a resident, a correction
    // of a person's particulars, and the registry import.
    let owner = w
        .json(
            Method::POST,
            &format!("/api/v1/places/{}/owners", t.compound.dwellings[0]),
            &format!(
                r#"{{"owner_kind": "person", "person": {{"name": "林美华", "phone": "{MOBILE}", "id_number": "{owner_id}"}}}}"#
            ),
        )
        .await;
    assert_eq!(owner.status, StatusCode::CREATED, "{}", owner.text());
    let tenant = w
        .json(
            Method::POST,
            &format!("/api/v1/places/{}/residents", t.compound.dwellings[0]),
            &format!(
                r#"{{"relation": "tenant", "person": {{"name": "张伟", "phone": "{LANDLINE}", "id_number": "{tenant_id}"}}}}"#
            ),
        )
        .await;
    assert_eq!(tenant.status, StatusCode::CREATED, "{}", tenant.text());
    let corrected = w
        .json(
            Method::POST,
            &format!("/api/v1/places/{}/owners", t.compound.dwellings[1]),
            r#"{"owner_kind": "person", "person": {"name": "王芳"}}"#,
        )
        .await;
    assert_eq!(
        corrected.status,
        StatusCode::CREATED,
        "{}",
        corrected.text()
    );
    let person = corrected.json()["person_id"].as_i64().unwrap();
    let updated = w
        .json(
            Method::PUT,
            &format!("/api/v1/people/{person}"),
            &format!(r#"{{"name": "王芳", "id_number": "{corrected_id}"}}"#),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text());
    let file = import_csv(&[
        format!(
            "3号楼,1单元,101,88,登记,个人,陈建国,13900001111,{},否,",
            imported[0]
        ),
        format!(
            "3号楼,1单元,102,88,登记,个人,郑秀英,13900002222,{},是,",
            imported[1]
        ),
    ]);
    let import = app
        .request(
            Method::POST,
            &format!(
                "/api/v1/places/{}/registry-import?mode=apply",
                t.compound.compound
            ),
            &[
                ("cookie", &w.cookie),
                ("content-type", "text/csv"),
                ("x-csrf-token", &w.csrf),
            ],
            Body::from(file),
        )
        .await;
    assert_eq!(import.status, StatusCode::OK, "{}", import.text());

    // The records hold them: the worker reads each back (audited).
    let stored = jinlin_people::entity::person::Entity::find()
        .all(app.db.db.conn())
        .await
        .unwrap();
    let mut read_back = Vec::new();
    for p in &stored {
        let personal = w.get(&format!("/api/v1/people/{}/personal", p.id)).await;
        assert_eq!(personal.status, StatusCode::OK, "{}", personal.text());
        if let Some(id) = personal.json()["id_number"].as_str() {
            read_back.push(id.to_string());
        }
    }
    let mut ids = vec![
        owner_id.clone(),
        tenant_id.clone(),
        corrected_id.clone(),
        imported[0].clone(),
        imported[1].clone(),
    ];
    ids.sort();
    read_back.sort();
    assert_eq!(read_back, ids);

    // Yet no row of any table shows any of them, whole or the hidden part.
    let rows = every_row(&app).await;
    assert!(rows.contains("林美华"), "the dump reads the tables");
    for id in &ids {
        for part in hidden_parts(id) {
            assert!(!rows.contains(&part), "{part} is stored in clear");
        }
    }
    // On SQLite, neither do the bytes of the file and its log, before and
    // after the log is folded into the file.
    if !app.db.is_postgres() {
        for checkpoint in [false, true] {
            if checkpoint {
                app.db
                    .db
                    .conn()
                    .execute_raw(Statement::from_string(
                        app.db.db.backend(),
                        "PRAGMA wal_checkpoint(TRUNCATE)",
                    ))
                    .await
                    .unwrap();
            }
            let files = sqlite_files(&app);
            assert!(
                files.iter().any(|(_, bytes)| contains(bytes, "林美华")),
                "the files hold the records"
            );
            for (path, bytes) in &files {
                for id in &ids {
                    for part in hidden_parts(id) {
                        assert!(
                            !contains(bytes, &part),
                            "{part} is in {path} (checkpointed: {checkpoint})"
                        );
                    }
                }
            }
        }
    }
}

/// Every route that shows the people of 金山花园 1号楼 101 with their
/// phones.
fn phone_routes(t: &jinlin_testkit::fixtures::Tree, person: i64) -> Vec<String> {
    let d = t.compound.dwellings[0];
    let c = t.compound.compound;
    vec![
        format!("/api/v1/places/{d}/occupants"),
        format!("/api/v1/people/{person}"),
        format!("/api/v1/people/{person}/personal"),
        format!("/api/v1/places/{c}/party-org"),
        format!("/places/{d}"),
        format!("/places/{c}/registry"),
        format!("/places/{c}/organisations"),
    ]
}

fn assert_no_plain_phone(who: &str, path: &str, body: &str) {
    assert!(
        !body.contains(MOBILE) && !body.contains(LANDLINE_HIDDEN),
        "{who} reads a plain phone at {path}: {body}"
    );
}

#[db_test]
async fn phones_are_masked_for_every_role_that_does_not_need_them(db: TestDb) {
    let t = tree(&db.db).await;
    let d = t.compound.dwellings[0];
    let c = t.compound.compound;
    let worker = account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let secretary = account(&db.db, "sec", Role::CompoundSecretary, c).await;
    let street = account(&db.db, "street", Role::StreetAdmin, t.street).await;
    let district = account(&db.db, "district", Role::DistrictAdmin, t.district).await;
    let below = [
        (
            "owners' committee",
            account(&db.db, "committee", Role::OwnersCommittee, c).await,
        ),
        (
            "property staff",
            account(&db.db, "property", Role::PropertyStaff, c).await,
        ),
        (
            "agency admin",
            account(&db.db, "agency", Role::AgencyAdmin, t.district).await,
        ),
        (
            "party member here",
            account(&db.db, "member", Role::PartyMember, d).await,
        ),
        (
            "resident here",
            account(&db.db, "resident", Role::Resident, d).await,
        ),
        (
            "resident next door",
            account(&db.db, "neighbour", Role::Resident, t.compound.dwellings[1]).await,
        ),
        (
            "worker of another street",
            account(&db.db, "far", Role::CommunityWorker, t.other_community).await,
        ),
    ];
    let app = TestApp::new(db);
    let w = app.client(worker).await;
    let owner = w
        .json(
            Method::POST,
            &format!("/api/v1/places/{d}/owners"),
            &format!(
                r#"{{"owner_kind": "person", "person": {{"name": "林美华", "phone": "{MOBILE}", "party_member": true}}}}"#
            ),
        )
        .await;
    assert_eq!(owner.status, StatusCode::CREATED, "{}", owner.text());
    let person = owner.json()["person_id"].as_i64().unwrap();
    let tenant = w
        .json(
            Method::POST,
            &format!("/api/v1/places/{d}/residents"),
            &format!(
                r#"{{"relation": "tenant", "person": {{"name": "张伟", "phone": "{LANDLINE}"}}}}"#
            ),
        )
        .await;
    assert_eq!(tenant.status, StatusCode::CREATED, "{}", tenant.text());
    // The compound's party organisation, 林美华 a member of it.
    let particulars = w
        .json(
            Method::PATCH,
            &format!("/api/v1/places/{c}"),
            r#"{"compound": {"compound_type": "commercial", "town_area": "new", "address": "金山大道 8 号", "owners_committee": null, "property_company": null}}"#,
        )
        .await;
    assert_eq!(particulars.status, StatusCode::OK, "{}", particulars.text());
    let s = app.client(secretary).await;
    let org = s
        .json(
            Method::PUT,
            &format!("/api/v1/places/{c}/party-org"),
            &format!(
                r#"{{"kind": "branch", "name": "金山花园党支部", "founded_on": "2021-07-01", "secretary_person_id": {person}}}"#
            ),
        )
        .await;
    assert_eq!(org.status, StatusCode::OK, "{}", org.text());

    // Roles below `Personal`: a masked phone where they may read the
    // registry, nothing at all elsewhere, never the number.
    let mut saw_masked = 0;
    for (who, id) in below.iter().copied() {
        let client: Client<'_> = app.client(id).await;
        for path in phone_routes(&t, person) {
            let r = client.get(&path).await;
            let body = r.text();
            assert_no_plain_phone(who, &path, &body);
            if body.contains(MOBILE_MASKED) {
                saw_masked += 1;
            }
        }
    }
    assert!(saw_masked > 0, "the masked phone is shown where allowed");
    // A resident of the dwelling reads its record, masked, and cannot
    // reach the owner's unmasked particulars (phone and ID number).
    let here = app.client(below[4].1).await;
    let own = here.get(&format!("/api/v1/places/{d}/occupants")).await;
    assert_eq!(own.status, StatusCode::OK);
    assert_eq!(own.json()["owners"][0]["person"]["phone"], MOBILE_MASKED);
    assert_eq!(
        own.json()["residents"][0]["person"]["phone"],
        "0591-******21"
    );
    assert_eq!(
        here.get(&format!("/api/v1/people/{person}/personal"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // The roles that need them read them plain, and each read is audited.
    for (who, id) in [
        ("community worker", worker),
        ("compound secretary", secretary),
        ("street admin", street),
        ("district admin", district),
    ] {
        let client = app.client(id).await;
        for path in phone_routes(&t, person) {
            if path.ends_with("/registry") {
                // The registry lists every dwelling, phones masked for all.
                continue;
            }
            let before = audits(&app, "person.read_phone").await
                + audits(&app, "person.read_personal").await;
            let r = client.get(&path).await;
            assert_eq!(r.status, StatusCode::OK, "{who} {path}: {}", r.text());
            assert!(
                r.text().contains(MOBILE),
                "{who} reads the phone at {path}: {}",
                r.text()
            );
            let after = audits(&app, "person.read_phone").await
                + audits(&app, "person.read_personal").await;
            assert!(after > before, "{who}'s read of {path} is audited");
        }
    }
}
