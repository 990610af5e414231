//! The figures of social services at district scale, on SQLite: 1,000
//! compounds (15 streets, 150 communities), 300 organisations with 600
//! services, 50,000 sessions over thirteen months, 500,000 registrations
//! (four in five checked in at sessions held) and 200,000 feedback scores.
//! The rows are generated once per run with recursive CTEs.
//!
//! cargo bench -p jinlin-social-services --bench figures

use std::sync::OnceLock;

use chrono::{DateTime, Duration, TimeZone, Utc};
use divan::Bencher;
use jinlin_kernel::Database;
use jinlin_kernel::auth::{AuthVia, Grant, Principal, Role};
use jinlin_kernel::place::entity as place;
use jinlin_social_services::api;
use sea_orm::{ConnectionTrait, EntityTrait, Statement};
use tokio::runtime::Runtime;

fn main() {
    divan::main();
}

const STREETS: i64 = 15;
const COMMUNITIES: i64 = 150;
const COMPOUNDS: i64 = 1_000;
const ORGS: i64 = 300;
const SERVICES: i64 = 600;
const SESSIONS: i64 = 50_000;
/// Registrations per session.
const PER_SESSION: i64 = 10;

/// Place ids: the district is 1, then the streets, communities, compounds.
const FIRST_STREET: i64 = 2;
const FIRST_COMMUNITY: i64 = FIRST_STREET + STREETS;
const FIRST_COMPOUND: i64 = FIRST_COMMUNITY + COMMUNITIES;

fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| Runtime::new().expect("tokio runtime"))
}

/// Sessions start from here, one every 691 seconds (about thirteen months).
fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 7, 1, 0, 0, 0).unwrap()
}

/// The figures are read a month before the last session: most are held.
fn now() -> DateTime<Utc> {
    base() + Duration::seconds(SESSIONS * 691) - Duration::days(30)
}

struct Fixture {
    db: Database,
    admin: Principal,
    _dir: tempfile::TempDir,
}

/// A timestamp as SeaORM writes it to SQLite (RFC 3339), `secs` after the
/// base, so the database compares it with bound values as the app does.
fn ts(secs: &str) -> String {
    format!(
        "strftime('%Y-%m-%dT%H:%M:%S', '2025-07-01 00:00:00', '+' || ({secs}) || ' seconds') || '+00:00'"
    )
}

fn places_sql() -> String {
    let now = ts("0");
    format!(
        "INSERT INTO place (id, kind, parent_id, code, name, initials, district_code, street_id,
           community_id, compound_id, created_at, updated_at)
         VALUES (1, 'district', NULL, '350104000000', '仓山区', 'csq', '350104', NULL, NULL, NULL, {now}, {now});
         WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < {STREETS} - 1)
         INSERT INTO place (id, kind, parent_id, code, name, initials, district_code, street_id,
           community_id, compound_id, created_at, updated_at)
         SELECT {FIRST_STREET} + n, 'street', 1, printf('350104%03d000', n + 1), '街道' || n, 'jd', '350104',
           NULL, NULL, NULL, {now}, {now} FROM s;
         WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < {COMMUNITIES} - 1)
         INSERT INTO place (id, kind, parent_id, code, name, initials, district_code, street_id,
           community_id, compound_id, created_at, updated_at)
         SELECT {FIRST_COMMUNITY} + n, 'community', {FIRST_STREET} + n / 10,
           printf('350104%03d%03d', n / 10 + 1, n % 10 + 1), '社区' || n, 'sq', '350104',
           {FIRST_STREET} + n / 10, NULL, NULL, {now}, {now} FROM s;
         WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < {COMPOUNDS} - 1)
         INSERT INTO place (id, kind, parent_id, code, name, initials, district_code, street_id,
           community_id, compound_id, created_at, updated_at)
         SELECT {FIRST_COMPOUND} + n, 'compound', {FIRST_COMMUNITY} + n * {COMMUNITIES} / {COMPOUNDS}, NULL,
           '小区' || n, 'xq', '350104', {FIRST_STREET} + (n * {COMMUNITIES} / {COMPOUNDS}) / 10,
           {FIRST_COMMUNITY} + n * {COMMUNITIES} / {COMPOUNDS}, NULL, {now}, {now} FROM s;"
    )
}

fn services_sql() -> String {
    let now = ts("0");
    format!(
        "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {ORGS})
         INSERT INTO social_org (id, district_code, name, registration_no, org_type, contact_name,
           contact_phone, has_party_org, created_by, created_at, updated_at)
         SELECT n, '350104', '社会组织' || n, printf('52350104MJD%07d', n), 'social_group', '联系人',
           NULL, n % 2, NULL, {now}, {now} FROM s;
         WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {SERVICES})
         INSERT INTO service (id, org_id, district_code, kind, title, description, created_by, created_at)
         SELECT n, 1 + (n - 1) % {ORGS}, '350104', 'elder_course', '服务' || n, '', NULL, {now} FROM s;"
    )
}

/// Sessions: each service's sessions move round the compounds; one in
/// fifty cancelled.
fn sessions_sql() -> String {
    let compound = format!("(n * 7919) % {COMPOUNDS}");
    let community = format!("{FIRST_COMMUNITY} + ({compound}) * {COMMUNITIES} / {COMPOUNDS}");
    let street = format!("{FIRST_STREET} + (({compound}) * {COMMUNITIES} / {COMPOUNDS}) / 10");
    let service = format!("1 + n % {SERVICES}");
    format!(
        "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {SESSIONS})
         INSERT INTO service_session (id, service_id, org_id, district_code, street_id, community_id,
           compound_id, starts_at, ends_at, venue_id, venue_booking_id, location, capacity, registered,
           state, created_by, created_at)
         SELECT n, {service}, 1 + ({service} - 1) % {ORGS}, '350104', {street}, {community},
           {FIRST_COMPOUND} + {compound}, {starts}, {ends}, NULL, NULL, '活动室', 20, {PER_SESSION},
           CASE WHEN n % 50 = 0 THEN 'cancelled' ELSE 'scheduled' END, NULL, {starts} FROM s",
        starts = ts("n * 691"),
        ends = ts("n * 691 + 5400"),
    )
}

/// Registrations: ten accounts per session, distinct within it; four in
/// five checked in where the session has been held; four in ten scored;
/// then each session's counters, as migration m0021 counts existing rows.
fn registrations_sql() -> String {
    let held = now().signed_duration_since(base()).num_seconds();
    let session = format!("1 + (n - 1) / {PER_SESSION}");
    let k = format!("(n - 1) % {PER_SESSION}");
    format!(
        "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {total})
         INSERT INTO session_registration (id, session_id, account_id, name, phone, state, attended_at,
           checked_in_by, created_at, cancelled_at)
         SELECT n, {session}, 1 + {k} * 10000 + (({session}) * 37) % 10000, '居民', NULL, 'registered',
           CASE WHEN {k} < 8 AND ({session}) * 691 + 5400 <= {held} THEN {attended} END,
           NULL, {attended}, NULL FROM s;
         INSERT INTO session_feedback (session_id, registration_id, account_id, score, comment, created_at)
         SELECT session_id, id, account_id, 1 + id % 5, '', attended_at FROM session_registration
         WHERE attended_at IS NOT NULL AND (id - 1) % {PER_SESSION} < 4;
         UPDATE service_session SET
           attended = (SELECT COUNT(*) FROM session_registration r
             WHERE r.session_id = service_session.id AND r.attended_at IS NOT NULL),
           feedback_count = (SELECT COUNT(*) FROM session_feedback f
             WHERE f.session_id = service_session.id),
           feedback_sum = (SELECT COALESCE(SUM(f.score), 0) FROM session_feedback f
             WHERE f.session_id = service_session.id);",
        total = SESSIONS * PER_SESSION,
        attended = ts(&format!("({session}) * 691 + 300")),
    )
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        runtime().block_on(async {
            let dir = tempfile::tempdir().expect("temporary directory");
            let url = format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("bench.sqlite").display()
            );
            let db = Database::connect(&url, 2).await.expect("connect");
            db.migrate().await.expect("migrate");
            let started = std::time::Instant::now();
            let conn = db.conn();
            conn.execute_unprepared("PRAGMA synchronous = OFF")
                .await
                .unwrap();
            for (what, sql) in [
                ("places", places_sql()),
                ("organisations", services_sql()),
                ("sessions", sessions_sql()),
                ("registrations", registrations_sql()),
            ] {
                conn.execute_unprepared(&sql)
                    .await
                    .unwrap_or_else(|e| panic!("generate {what}: {e}"));
            }
            conn.execute_unprepared("ANALYZE").await.unwrap();
            let count = |table: &str| {
                let sql = format!("SELECT COUNT(*) AS n FROM {table}");
                async move {
                    conn.query_one_raw(Statement::from_string(conn.get_database_backend(), sql))
                        .await
                        .unwrap()
                        .unwrap()
                        .try_get::<i64>("", "n")
                        .unwrap()
                }
            };
            eprintln!(
                "generated {} compounds, {} sessions, {} registrations, {} feedback in {:.1} s",
                count("place WHERE kind = 'compound'").await,
                count("service_session").await,
                count("session_registration").await,
                count("session_feedback").await,
                started.elapsed().as_secs_f64()
            );
            let district = place::Entity::find_by_id(1)
                .one(conn)
                .await
                .unwrap()
                .unwrap();
            let admin = Principal {
                account_id: 1,
                username: "district".into(),
                display_name: "district".into(),
                person_id: None,
                language: None,
                grants: vec![Grant {
                    role: Role::DistrictAdmin,
                    place: district.position(),
                    place_name: district.name.clone(),
                }],
                paired_compounds: Vec::new(),
                via: AuthVia::Token { can_write: false },
            };
            // How SQLite answers the figures of the district and a street.
            let held = format!(
                "state = 'scheduled' AND ends_at <= '{}'",
                now().to_rfc3339()
            );
            for (what, scope, key) in [
                ("district", "district_code = '350104'".to_string(), "street_id"),
                ("street", format!("street_id = {FIRST_STREET}"), "community_id"),
            ] {
                let sql = format!(
                    "EXPLAIN QUERY PLAN SELECT {key}, org_id, COUNT(id), SUM(attended), SUM(feedback_count), \
                     SUM(feedback_sum) FROM service_session WHERE {held} AND {scope} GROUP BY {key}, org_id"
                );
                for row in conn
                    .query_all_raw(Statement::from_string(conn.get_database_backend(), sql))
                    .await
                    .unwrap()
                {
                    let detail: String = row.try_get("", "detail").unwrap_or_default();
                    eprintln!("plan ({what}): {detail}");
                }
            }
            let f = api::figures_of(conn, &admin, 1, now()).await.unwrap();
            eprintln!(
                "district: {} sessions held, {} person-times, mean {:?}; {} streets, {} organisations",
                f.place.sessions_held,
                f.place.person_times,
                f.place.mean_feedback,
                f.children.len(),
                f.orgs.len()
            );
            assert!(f.place.sessions_held > 40_000 && f.place.person_times > 300_000);
            assert_eq!(f.children.len() as i64, STREETS);
            // Every session of one organisation in fifty is cancelled.
            assert_eq!(f.orgs.len() as i64, ORGS - ORGS / 50);
            Fixture {
                db,
                admin,
                _dir: dir,
            }
        })
    })
}

fn figures(place_id: i64) -> api::SocialFigures {
    let f = fixture();
    runtime().block_on(async {
        api::figures_of(f.db.conn(), &f.admin, place_id, now())
            .await
            .unwrap()
    })
}

/// The district's figures with its 15 streets and 300 organisations.
#[divan::bench(sample_count = 20)]
fn figures_of_the_district(bencher: Bencher) {
    fixture();
    bencher.bench_local(|| divan::black_box(figures(1)));
}

/// A street's figures with its ten communities.
#[divan::bench(sample_count = 50)]
fn figures_of_a_street(bencher: Bencher) {
    fixture();
    let mut street = 0;
    bencher.bench_local(|| {
        street = (street + 1) % STREETS;
        divan::black_box(figures(FIRST_STREET + street))
    });
}

/// A community's figures with its compounds.
#[divan::bench(sample_count = 100)]
fn figures_of_a_community(bencher: Bencher) {
    fixture();
    let mut community = 0;
    bencher.bench_local(|| {
        community = (community + 7) % COMMUNITIES;
        divan::black_box(figures(FIRST_COMMUNITY + community))
    });
}

/// An organisation's page: its figures across the district.
#[divan::bench(sample_count = 100)]
fn figures_of_an_organisation(bencher: Bencher) {
    let f = fixture();
    let mut org = 0;
    bencher.bench_local(|| {
        org = org % ORGS + 1;
        runtime().block_on(async {
            let o = jinlin_social_services::entity::social_org::Entity::find_by_id(org)
                .one(f.db.conn())
                .await
                .unwrap()
                .unwrap();
            let d = place::Entity::find_by_id(1)
                .one(f.db.conn())
                .await
                .unwrap()
                .unwrap();
            divan::black_box(
                api::org_view(f.db.conn(), &f.admin, o, &d, false)
                    .await
                    .unwrap(),
            )
        })
    });
}
