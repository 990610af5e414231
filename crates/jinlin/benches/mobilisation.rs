//! Mobilisation of the whole demo district: the time to open it (about
//! 400,000 households) and acknowledgements per second with the coverage
//! staying exact.
//!
//! cargo bench -p jinlin --bench mobilisation
//! cargo bench -p jinlin --bench mobilisation -- --database-url postgres://postgres@127.0.0.1:5432/jinlin_bench
//!
//! The PostgreSQL database must exist and be empty. The demo district is
//! loaded first (about 20 s on SQLite, 30 s on PostgreSQL, not timed).
//! Acknowledgements run from 16 concurrent tasks, as 16 grid workers or
//! residents would: first one household per request (a resident's
//! acknowledgement), then a page of 20 (a worker marking their list),
//! through the same function as `POST /api/v1/mobilisations/{id}/reached`
//! (access checks read first, then the group commit: requests arriving
//! together share a write transaction); HTTP parsing and sessions are not
//! counted here.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use jinlin_kernel::Database;
use jinlin_kernel::auth::{self, AuthVia, Principal, Role};
use jinlin_mobilisation::api::{self, Marks, NewMobilisation};
use jinlin_mobilisation::rules::Method;
use jinlin_seed::Scale;
use sea_orm::{ConnectionTrait, Statement};

/// Concurrent requests (`JINLIN_BENCH_TASKS`, default 16): grid workers or
/// residents acknowledging at the same moment.
fn tasks() -> usize {
    std::env::var("JINLIN_BENCH_TASKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16)
}
/// Households on one page of a grid worker's list.
const PAGE: usize = 20;

/// Runs every batch of `work` through `mark_on` from `tasks()` tasks at once;
/// returns the seconds it took.
async fn drive(db: &Arc<Database>, admin: &Arc<Principal>, m: i64, work: Vec<Vec<i64>>) -> f64 {
    let work = Arc::new(work);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut running = Vec::new();
    for _ in 0..tasks() {
        let (work, next, db, admin) = (work.clone(), next.clone(), db.clone(), admin.clone());
        running.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= work.len() {
                    break;
                }
                let done = api::mark_on(
                    &db,
                    &admin,
                    m,
                    &Marks {
                        dwelling_ids: work[i].clone(),
                        method: Method::Phone,
                    },
                )
                .await
                .expect("mark");
                assert_eq!(done.marked as usize, work[i].len());
            }
        }));
    }
    for t in running {
        t.await.expect("task");
    }
    started.elapsed().as_secs_f64()
}

fn main() {
    let url = std::env::args()
        .skip_while(|a| a != "--database-url")
        .nth(1);
    let acks: usize = std::env::var("JINLIN_BENCH_ACKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(url, acks));
}

async fn scalar(db: &Database, sql: &str) -> i64 {
    db.conn()
        .query_one_raw(Statement::from_string(db.backend(), sql.to_string()))
        .await
        .expect(sql)
        .expect("a row")
        .try_get_by_index::<i64>(0)
        .expect("a number")
}

async fn principal(db: &Database, role: Role) -> Principal {
    let id = scalar(
        db,
        &format!(
            "SELECT MIN(account_id) FROM role_grant WHERE role = '{}'",
            role.as_str()
        ),
    )
    .await;
    auth::load(db.conn(), id, AuthVia::Token { can_write: true })
        .await
        .expect("principal")
        .expect("an account")
}

async fn run(url: Option<String>, acks: usize) {
    let temp = tempfile::tempdir().expect("temporary directory");
    let url = url.unwrap_or_else(|| {
        format!(
            "sqlite://{}?mode=rwc",
            temp.path().join("bench.sqlite").display()
        )
    });
    let db = Database::connect(&url, tasks() as u32)
        .await
        .expect("connect");
    db.migrate().await.expect("migrate");
    let started = Instant::now();
    jinlin::demo::load_once_at(&db, None, Scale::District)
        .await
        .expect("demo data");
    db.refresh_statistics().await.expect("statistics");
    println!(
        "{}: demo district loaded in {:.1} s",
        db.backend_name(),
        started.elapsed().as_secs_f64()
    );
    let admin = principal(&db, Role::DistrictAdmin).await;
    let district = scalar(
        &db,
        "SELECT MIN(id) FROM place WHERE kind = 'district' AND code LIKE '350104%'",
    )
    .await;

    let started = Instant::now();
    let tx = db.write().await.expect("transaction");
    let sent = api::open(
        &tx,
        &admin,
        &NewMobilisation {
            place_id: district,
            title: "全区紧急动员".into(),
            body: "演练：请每户确认收到。".into(),
        },
    )
    .await
    .expect("open");
    tx.commit().await.expect("commit");
    println!(
        "open a mobilisation of the district: {} households in {} units, {} workers notified: {:.2} s",
        sent.households,
        sent.units,
        sent.workers_notified,
        started.elapsed().as_secs_f64()
    );
    let m = sent.id;

    // Households in a shuffled but fixed order, so the tasks hit many units.
    let mut dwellings: Vec<i64> = db
        .conn()
        .query_all_raw(Statement::from_string(
            db.backend(),
            format!("SELECT dwelling_id FROM mobilisation_household WHERE mobilisation_id = {m} ORDER BY dwelling_id"),
        ))
        .await
        .expect("households")
        .iter()
        .map(|r| r.try_get_by_index::<i64>(0).expect("id"))
        .collect();
    let n = dwellings.len();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in (1..n).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        dwellings.swap(i, (x % (i as u64 + 1)) as usize);
    }
    let acks = acks.min(n / 2);
    let db = Arc::new(db);
    let admin = Arc::new(admin);
    // One household per request, as residents acknowledging in the app.
    let singles: Vec<Vec<i64>> = dwellings[..acks].iter().map(|d| vec![*d]).collect();
    let secs = drive(&db, &admin, m, singles).await;
    println!(
        "{acks} acknowledgements, one household per request, {} at a time: {:.1} s, {:.0}/s",
        tasks(),
        secs,
        acks as f64 / secs
    );
    // A page of households per request, as grid workers mark their list:
    // neighbouring dwellings, mostly of one grid.
    let mut listed = dwellings[acks..2 * acks].to_vec();
    listed.sort_unstable();
    let pages: Vec<Vec<i64>> = listed.chunks(PAGE).map(|c| c.to_vec()).collect();
    let requests = pages.len();
    let secs = drive(&db, &admin, m, pages).await;
    println!(
        "{acks} households marked {PAGE} per request, {} at a time: {:.1} s, {:.0} households/s ({:.0} requests/s)",
        tasks(),
        secs,
        acks as f64 / secs,
        requests as f64 / secs
    );
    let acks = 2 * acks;

    // Exact: the counters equal the households marked, and coverage says so.
    let counted = scalar(
        &db,
        &format!("SELECT COUNT(*) FROM mobilisation_household WHERE mobilisation_id = {m} AND reached_at IS NOT NULL"),
    )
    .await;
    let summed = scalar(
        &db,
        &format!(
            "SELECT CAST(SUM(reached) AS BIGINT) FROM mobilisation_unit WHERE mobilisation_id = {m}"
        ),
    )
    .await;
    let started = Instant::now();
    let coverage = api::coverage_at(db.conn(), &admin, m, None)
        .await
        .expect("coverage");
    println!(
        "coverage of the district (by street): {:.1} ms; reached {} = counters {} = households marked {} of {}",
        started.elapsed().as_secs_f64() * 1000.0,
        coverage.coverage.reached,
        summed,
        counted,
        coverage.coverage.households
    );
    assert_eq!(counted as usize, acks);
    assert_eq!(summed, counted);
    assert_eq!(coverage.coverage.reached as i64, counted);
}
