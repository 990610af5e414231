//! The two queries that must stay fast at city scale, on SQLite with
//! 1,000,000 matters (150 streets, 1,500 communities, 15,000 compounds,
//! 300,000 reporters, one of them, a patrol member, the reporter of every
//! hundredth matter): a street's overdue queue and a reporter's list.
//! The matters are generated once per run with recursive CTEs.
//!
//! cargo bench -p jinlin-resident-matters --bench queues
//! JINLIN_BENCH_MATTERS=100000 cargo bench -p jinlin-resident-matters --bench queues

use std::sync::OnceLock;

use chrono::{DateTime, Duration, TimeZone, Utc};
use divan::Bencher;
use jinlin_kernel::Database;
use jinlin_resident_matters::store;
use sea_orm::{ConnectionTrait, Statement};
use tokio::runtime::Runtime;

fn main() {
    divan::main();
}

const STREETS: i64 = 150;
const COMMUNITIES: i64 = 1_500;
const COMPOUNDS: i64 = 15_000;
const REPORTERS: i64 = 300_000;
/// The patrol member who raised every hundredth matter.
const PATROL: i64 = REPORTERS + 1;

fn matters() -> i64 {
    std::env::var("JINLIN_BENCH_MATTERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| Runtime::new().expect("tokio runtime"))
}

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

/// The moment the queues are read: about half the running clocks are late.
fn now() -> DateTime<Utc> {
    base() + Duration::days(200)
}

struct Fixture {
    db: Database,
    _dir: tempfile::TempDir,
}

/// Timestamps as SeaORM writes them to SQLite, so comparisons with bound
/// values hold.
const TS: &str = "strftime('%Y-%m-%d %H:%M:%S', '2026-01-01 00:00:00', '+' || (n * 30) || ' seconds') || '+00:00'";
const DUE: &str = "strftime('%Y-%m-%d %H:%M:%S', '2026-01-01 00:00:00', '+' || (n * 30 + 7 * 86400) || ' seconds') || '+00:00'";

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
            let n = matters();
            // Every tenth matter is in each state; 6 and 7 have running clocks.
            let sql = format!(
                "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {n})
                 INSERT INTO resident_matter (id, district_code, street_id, community_id, compound_id,
                   place_id, reporter_account_id, reporter_role, category_id, urgency, title, description,
                   public, state, holder_kind, holder_place_id, dispatched_at, due_at, warn_at,
                   escalation_level, reopened_count, created_at, updated_at)
                 SELECT n, '350104',
                   1 + (n % {COMPOUNDS}) / ({COMPOUNDS} / {STREETS}),
                   1 + (n % {COMPOUNDS}) / ({COMPOUNDS} / {COMMUNITIES}),
                   1 + (n % {COMPOUNDS}), 1 + (n % {COMPOUNDS}),
                   1 + (n * 7919) % {REPORTERS}, 'resident', 1 + n % 8, 'normal', '停水', '停水',
                   n % 3 = 0,
                   CASE n % 10 WHEN 6 THEN 'dispatched' WHEN 7 THEN 'handling' WHEN 8 THEN 'replied'
                     WHEN 9 THEN 'intake' ELSE 'closed' END,
                   'property_company', 1 + (n % {COMPOUNDS}),
                   {TS}, {DUE}, {DUE}, 0, 0, {TS}, {TS}
                 FROM seq"
            );
            let conn = db.conn();
            conn.execute_unprepared("PRAGMA synchronous = OFF").await.unwrap();
            conn.execute_unprepared(&sql).await.expect("generate matters");
            conn.execute_unprepared(&format!(
                "UPDATE resident_matter SET reporter_account_id = {PATROL}, reporter_role = 'patrol' \
                 WHERE id % 100 = 0"
            ))
            .await
            .expect("the patrol member's matters");
            conn.execute_unprepared(
                "INSERT INTO resident_matter_reporter (matter_id, district_code, account_id, original_matter_id, created_at)
                 SELECT id, district_code, reporter_account_id, id, created_at FROM resident_matter",
            )
            .await
            .expect("generate reporters");
            conn.execute_unprepared("ANALYZE").await.unwrap();
            eprintln!(
                "generated {n} matters in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            let late = store::count_overdue_in_street(conn, 7, now()).await.unwrap();
            let mine = store::reported_by(conn, 4242, None, 50).await.unwrap();
            eprintln!("street 7: {late} overdue; reporter 4242: {} matters", mine.len());
            assert!(late > 0 && !mine.is_empty(), "the generated rows do not match the queries");
            let plan = conn
                .query_all_raw(Statement::from_string(
                    conn.get_database_backend(),
                    format!(
                        "EXPLAIN QUERY PLAN SELECT id FROM resident_matter WHERE street_id = 7 \
                         AND state IN ('dispatched', 'handling') AND due_at <= '{}' ORDER BY due_at LIMIT 50",
                        now().format("%Y-%m-%d %H:%M:%S+00:00")
                    ),
                ))
                .await
                .unwrap();
            for row in plan {
                let detail: String = row.try_get("", "detail").unwrap_or_default();
                eprintln!("plan: {detail}");
            }
            Fixture { db, _dir: dir }
        })
    })
}

/// The 50 most overdue matters of one street.
#[divan::bench(sample_count = 100)]
fn overdue_queue_of_a_street(bencher: Bencher) {
    let f = fixture();
    let mut street = 0;
    bencher.bench_local(|| {
        street = street % STREETS + 1;
        runtime().block_on(async {
            let found = store::overdue_in_street(f.db.conn(), street, now(), 50)
                .await
                .unwrap();
            divan::black_box(found)
        })
    });
}

/// A reporter's newest 50 matters (their own and those merged into ones
/// they follow).
#[divan::bench(sample_count = 100)]
fn a_reporters_list(bencher: Bencher) {
    let f = fixture();
    let mut account = 1000;
    bencher.bench_local(|| {
        account = (account * 31 + 7) % REPORTERS + 1;
        runtime().block_on(async {
            let found = store::reported_by(f.db.conn(), account, None, 50)
                .await
                .unwrap();
            divan::black_box(found)
        })
    });
}

/// The patrol member's newest 20 matters, and 20 from the middle of theirs
/// (a hundredth of the matters generated): the page's cost does not grow with
/// the reporter's matters.
#[divan::bench(args = ["newest", "middle"], sample_count = 100)]
fn a_patrol_members_page(bencher: Bencher, page: &str) {
    let f = fixture();
    let before_id = (page == "middle").then(|| matters() / 2);
    bencher.bench_local(|| {
        runtime().block_on(async {
            let found = store::reported_by(f.db.conn(), PATROL, before_id, 20)
                .await
                .unwrap();
            assert_eq!(found.len(), 20);
            divan::black_box(found)
        })
    });
}

/// Counting a street's overdue matters (the queue's badge).
#[divan::bench(sample_count = 100)]
fn overdue_count_of_a_street(bencher: Bencher) {
    let f = fixture();
    let mut street = 0;
    bencher.bench_local(|| {
        street = street % STREETS + 1;
        runtime().block_on(async {
            divan::black_box(
                store::count_overdue_in_street(f.db.conn(), street, now())
                    .await
                    .unwrap(),
            )
        })
    });
}
