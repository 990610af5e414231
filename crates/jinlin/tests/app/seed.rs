//! `jinlin seed` and the demo: generated compounds, dwellings, people and
//! accounts on the imported Cangshan tree, written as planned.

use std::collections::HashSet;
use std::process::Command;

use axum::http::StatusCode;
use jinlin::demo;
use jinlin_kernel::Database;
use jinlin_kernel::auth::entity::account;
use jinlin_kernel::auth::verify_password;
use jinlin_kernel::crypto::Secrets;
use jinlin_kernel::place::PlaceKind;
use jinlin_people::rules::IdNumber;
use jinlin_seed::plan::{self, Scale, Shape};
use jinlin_seed::{DEMO_PASSWORD, Options, SeedError};
use jinlin_testkit::{TestDb, db_test};
use sea_orm::sea_query::value::prelude::chrono::NaiveDate;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement};

use crate::support::TestApp;

const BIN: &str = env!("CARGO_BIN_EXE_jinlin");

/// 仓前街道: five communities.
const STREET: &str = "350104001";

/// Two compounds of about eight dwellings per community.
const TINY: Scale = Scale::Custom(Shape {
    compounds: 2,
    per_communities: 1,
    dwellings_per_compound: 8,
});

/// The key `TestApp` encrypts with.
fn secrets() -> Secrets {
    Secrets::from_bytes([7; 32])
}

fn options(seed: u64) -> Options {
    Options {
        scale: TINY,
        seed,
        within: Some(STREET.to_string()),
        extra_fact: None,
    }
}

async fn count(db: &Database, sql: &str) -> i64 {
    let row = db
        .conn()
        .query_one_raw(Statement::from_string(db.backend(), sql.to_string()))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

async fn kind_count(db: &Database, kind: PlaceKind) -> usize {
    count(
        db,
        &format!(
            "SELECT COUNT(*) FROM place WHERE kind = '{}'",
            kind.as_str()
        ),
    )
    .await as usize
}

/// Counts and id sums of every table a seed writes.
async fn snapshot(db: &Database) -> Vec<i64> {
    let mut out = Vec::new();
    for table in [
        "place",
        "compound",
        "dwelling",
        "person",
        "dwelling_owner",
        "dwelling_resident",
        "account",
        "role_grant",
        "instance_fact",
    ] {
        out.push(count(db, &format!("SELECT COUNT(*) FROM {table}")).await);
    }
    out
}

async fn seeded(t: &TestDb) -> (plan::Plan, jinlin_seed::Report) {
    demo::import_divisions(&t.db).await.unwrap();
    let communities = jinlin_seed::load_communities(t.db.conn(), Some(STREET))
        .await
        .unwrap();
    assert_eq!(communities.len(), 5);
    let planned = plan::plan(&communities, TINY, 3);
    let report = jinlin_seed::seed(&t.db, Some(&secrets()), &options(3), |_| {})
        .await
        .unwrap();
    (planned, report)
}

#[db_test]
async fn a_seed_writes_its_plan(t: TestDb) {
    let (planned, report) = seeded(&t).await;
    let db = &t.db;
    assert_eq!(report.compounds, planned.compounds.len());
    assert_eq!(report.dwellings, planned.dwellings.len());
    assert_eq!(planned.compounds.len(), 10);
    assert!(planned.dwellings.len() >= 80, "{}", planned.dwellings.len());

    assert_eq!(
        kind_count(db, PlaceKind::Compound).await,
        planned.compounds.len()
    );
    assert_eq!(
        kind_count(db, PlaceKind::Building).await,
        planned.buildings.len()
    );
    assert_eq!(
        kind_count(db, PlaceKind::Entrance).await,
        planned.entrances.len()
    );
    assert_eq!(
        kind_count(db, PlaceKind::Dwelling).await,
        planned.dwellings.len()
    );
    // Each dwelling is written with the reach its owners' and residents'
    // phones give it, as a recount finds it; some have one, some not.
    let phoned = planned.phoned_dwellings().iter().filter(|p| **p).count();
    assert!(phoned > 0 && phoned < planned.dwellings.len(), "{phoned}");
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM place p WHERE p.kind = 'dwelling' AND p.reach = 1"
        )
        .await as usize,
        phoned
    );
    let recount = "CASE WHEN EXISTS (SELECT 1 FROM dwelling_owner o JOIN person pe \
                     ON pe.id = o.person_id WHERE o.dwelling_id = p.id AND COALESCE(pe.phone, '') <> '') \
                   OR EXISTS (SELECT 1 FROM dwelling_resident r JOIN person pr \
                     ON pr.id = r.person_id WHERE r.dwelling_id = p.id AND COALESCE(pr.phone, '') <> '') \
                   THEN 1 ELSE 0 END";
    assert_eq!(
        count(
            db,
            &format!(
                "SELECT COUNT(*) FROM place p WHERE p.kind = 'dwelling' AND p.reach <> {recount}"
            )
        )
        .await,
        0
    );
    let rows = |table: &str| format!("SELECT COUNT(*) FROM {table}");
    assert_eq!(
        count(db, &rows("compound")).await as usize,
        planned.compounds.len()
    );
    assert_eq!(
        count(db, &rows("dwelling")).await as usize,
        planned.dwellings.len()
    );
    assert_eq!(
        count(db, &rows("person")).await as usize,
        planned.people.len()
    );
    assert_eq!(
        count(db, &rows("dwelling_owner")).await as usize,
        planned.owners.len()
    );
    assert_eq!(
        count(db, &rows("dwelling_resident")).await as usize,
        planned.residents.len()
    );
    assert_eq!(
        count(db, &rows("account")).await as usize,
        planned.accounts.len()
    );
    assert_eq!(
        count(db, &rows("role_grant")).await as usize,
        planned.accounts.len()
    );

    // Ancestor columns: a dwelling's compound is a compound of the same
    // community, street and district; its entrance and building chain up to
    // that compound; its parent is its entrance.
    let dwellings = planned.dwellings.len() as i64;
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM place d \
             JOIN place c ON c.id = d.compound_id AND c.kind = 'compound' \
             JOIN place e ON e.id = d.entrance_id AND e.kind = 'entrance' \
             JOIN place b ON b.id = d.building_id AND b.kind = 'building' \
             JOIN dwelling p ON p.place_id = d.id AND p.compound_id = d.compound_id \
             WHERE d.kind = 'dwelling' AND d.parent_id = d.entrance_id \
             AND c.community_id = d.community_id AND c.street_id = d.street_id \
             AND c.district_code = d.district_code AND d.district_code = '350104' \
             AND e.building_id = d.building_id AND e.compound_id = d.compound_id \
             AND e.parent_id = b.id AND b.compound_id = d.compound_id \
             AND b.parent_id = c.id AND d.initials <> ''"
        )
        .await,
        dwellings
    );
    // A compound hangs under its community, in that community's street.
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM place c \
             JOIN place m ON m.id = c.parent_id AND m.kind = 'community' \
             JOIN compound p ON p.place_id = c.id \
             WHERE c.kind = 'compound' AND c.community_id = m.id \
             AND c.street_id = m.street_id AND c.compound_id IS NULL \
             AND c.initials <> '' AND p.district_code = '350104'"
        )
        .await as usize,
        planned.compounds.len()
    );
    // Owners and residents point at dwellings of the compound they name.
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM dwelling_owner o JOIN place d ON d.id = o.dwelling_id \
             WHERE d.compound_id = o.compound_id \
             AND (o.owner_kind = 'person') = (o.person_id IS NOT NULL) \
             AND (o.owner_kind = 'person') = (o.company_name IS NULL)"
        )
        .await as usize,
        planned.owners.len()
    );
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM place d WHERE d.kind = 'dwelling' AND NOT EXISTS \
             (SELECT 1 FROM dwelling_owner o WHERE o.dwelling_id = d.id)"
        )
        .await,
        0
    );

    // ID numbers: encrypted (the stored text does not hold the number),
    // decrypting to the planned numbers, with the keyed digest beside them.
    let secrets = secrets();
    let rows = db
        .conn()
        .query_all_raw(Statement::from_string(
            db.backend(),
            "SELECT id_number_cipher, id_number_digest FROM person \
             WHERE id_number_cipher IS NOT NULL"
                .to_string(),
        ))
        .await
        .unwrap();
    let today = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let mut stored = HashSet::new();
    for row in &rows {
        let cipher: String = row.try_get_by_index(0).unwrap();
        let digest: String = row.try_get_by_index(1).unwrap();
        let number = secrets.decrypt(&cipher).unwrap();
        assert!(!cipher.contains(&number));
        assert!(!cipher.contains(&number[..14]));
        assert_eq!(digest, secrets.digest(&number));
        assert!(IdNumber::parse(&number, today).is_ok(), "{number}");
        stored.insert(number);
    }
    let expected: HashSet<String> = planned
        .people
        .iter()
        .filter_map(|p| p.id_number_text().map(str::to_string))
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(stored, expected);
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM person WHERE id_number_cipher IS NOT NULL \
             AND (id_number_digest IS NULL OR id_number_cipher NOT LIKE 'v1:%')"
        )
        .await,
        0
    );

    // New rows after the seed get fresh ids (PostgreSQL's sequences were
    // moved past the seeded ids).
    let community = jinlin_places::store::find(db.conn(), planned.communities[0].id)
        .await
        .unwrap()
        .unwrap();
    let max_place = count(db, "SELECT MAX(id) FROM place").await;
    let added =
        jinlin_places::store::insert_child(db.conn(), &community, PlaceKind::Compound, "新建小区")
            .await
            .unwrap();
    assert!(added.id > max_place);
    let max_account = count(db, "SELECT MAX(id) FROM account").await;
    let new_account = jinlin_kernel::auth::accounts::create(
        db.conn(),
        jinlin_kernel::auth::accounts::NewAccount {
            username: "after-seed",
            display_name: "after-seed",
            password_hash: "x".into(),
            person_id: None,
        },
    )
    .await
    .unwrap();
    assert!(new_account > max_account);
}

#[db_test]
async fn a_second_seed_is_refused_and_changes_nothing(t: TestDb) {
    seeded(&t).await;
    let before = snapshot(&t.db).await;
    for seed in [3, 4] {
        let err = jinlin_seed::seed(&t.db, Some(&secrets()), &options(seed), |_| {})
            .await
            .unwrap_err();
        assert!(matches!(err, SeedError::AlreadySeeded(_)), "{err}");
        let message = err.to_string();
        assert!(message.contains("seeded already"), "{message}");
        assert!(message.contains("seed 3"), "{message}");
    }
    assert_eq!(snapshot(&t.db).await, before);
}

#[db_test]
async fn seeding_needs_the_division_tree(t: TestDb) {
    let err = jinlin_seed::seed(&t.db, Some(&secrets()), &options(1), |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, SeedError::NoCommunities(_)), "{err}");
    assert!(err.to_string().contains("jinlin import divisions"), "{err}");
    assert_eq!(snapshot(&t.db).await.iter().sum::<i64>(), 0);
}

/// The accounts the demo prints sign in and reach their places.
#[db_test]
async fn the_demo_accounts_sign_in(t: TestDb) {
    let report = demo::load_once_at(&t.db, Some(&secrets()), Scale::Small)
        .await
        .unwrap();
    assert!(report.loaded_now);
    let users: Vec<&str> = report
        .accounts
        .iter()
        .map(|a| a.username.as_str())
        .collect();
    assert_eq!(users[0], "district");
    assert_eq!(users[1], "agency");
    assert!(users[2].starts_with("street-350104"), "{users:?}");
    assert!(users[3].starts_with("worker-350104"), "{users:?}");
    assert!(users[4].starts_with("secretary-"), "{users:?}");
    assert!(
        users.iter().any(|u| u.starts_with("resident-")),
        "{users:?}"
    );
    assert!(report.accounts.iter().all(|a| a.password == DEMO_PASSWORD));

    // Loading again writes nothing and lists the same accounts.
    let before = snapshot(&t.db).await;
    let again = demo::load_once_at(&t.db, Some(&secrets()), Scale::Small)
        .await
        .unwrap();
    assert!(!again.loaded_now);
    assert_eq!(again.accounts, report.accounts);
    assert_eq!(snapshot(&t.db).await, before);

    let app = TestApp::new(t);
    let db = &app.db.db;
    let mut checked_password = false;
    for jinlin::demo::DemoAccount { username, .. } in &report.accounts {
        let found = account::Entity::find()
            .filter(account::Column::Username.eq(username.clone()))
            .one(db.conn())
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no account {username}"));
        if !checked_password {
            assert!(verify_password(DEMO_PASSWORD, &found.password_hash));
            checked_password = true;
        }
        let place: i64 = db
            .conn()
            .query_one_raw(Statement::from_string(
                db.backend(),
                format!(
                    "SELECT place_id FROM role_grant WHERE account_id = {}",
                    found.id
                ),
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index(0)
            .unwrap();
        let client = app.client(found.id).await;
        // An agency admin's grant sits at the district, but it reaches only
        // the agency's paired compounds: it reads its district's agencies.
        let path = if username == "agency" {
            "/api/v1/agencies".to_string()
        } else {
            format!("/api/v1/places/{place}")
        };
        let response = client.get(&path).await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "{username}: {}",
            response.text()
        );
    }
    // Every account shares the one hash.
    assert_eq!(
        count(db, "SELECT COUNT(DISTINCT password_hash) FROM account").await,
        1
    );
}

#[test]
fn the_binary_seeds_once() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .arg("--data-dir")
            .arg(dir.path())
            .output()
            .unwrap()
    };
    let fuzhou = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/divisions");
    let import = run(&["import", "divisions", fuzhou, "--within", STREET]);
    assert!(import.status.success());

    let first = run(&[
        "seed", "--scale", "small", "--seed", "5", "--within", STREET,
    ]);
    let stdout = String::from_utf8_lossy(&first.stdout);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("communities          5"), "{stdout}");
    assert!(stdout.contains("jinlin-demo-2026"), "{stdout}");
    assert!(stdout.contains("district"), "{stdout}");
    assert!(stderr.contains("dwellings: "), "{stderr}");

    let second = run(&["seed", "--scale", "small", "--seed", "5"]);
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("seeded already"), "{err}");
}
