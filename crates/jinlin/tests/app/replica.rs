//! Reporting reads from a streaming replica. A primary and a hot standby
//! of it run on loopback ports (throw-away clusters, as in `outage`), and
//! the real binary runs against both. The cockpit of a community is
//! computed live, so it shows what the database it reads holds: with the
//! replica's replay paused, a matter raised through the API is on the
//! primary, absent from the replica, and absent from the cockpit of a
//! server that reads the replica; a server whose lag limit is passed reads
//! the primary and shows it; when replay resumes it appears everywhere;
//! when the replica stops, the cockpit reads the primary without errors.

use std::process::{Command, Stdio};

use jinlin_kernel::Database;
use jinlin_kernel::auth::Role;
use jinlin_testkit::fixtures::{PASSWORD, account, tree};
use sea_orm::{ConnectionTrait, Statement};

use crate::hardening::{Server, json_body};
use crate::outage::{PgCluster, eventually};

/// Signs in; the session cookie and CSRF token (sessions live in the
/// primary, so they serve every server).
fn sign_in(server: &Server, username: &str) -> (String, String) {
    let body = format!(r#"{{"username": "{username}", "password": "{PASSWORD}"}}"#);
    let (status, response) = server.request(
        "POST",
        "/api/v1/session",
        &[("content-type", "application/json")],
        &body,
    );
    assert_eq!(status, 200, "{response}");
    let cookie = response
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie: jinlin_session=")
                .then(|| l["set-cookie: ".len()..].split(';').next().unwrap())
        })
        .unwrap()
        .to_string();
    let csrf = json_body(&response)["csrf_token"]
        .as_str()
        .unwrap()
        .to_string();
    (cookie, csrf)
}

/// The community's `matters_raised` as its cockpit shows it.
fn matters_raised(server: &Server, cookie: &str, community: i64) -> u64 {
    let (status, response) = server.get(
        &format!("/api/v1/cockpit/{community}"),
        &[("cookie", cookie)],
    );
    assert_eq!(status, 200, "{response}");
    let view = json_body(&response);
    view["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "matters_raised")
        .and_then(|f| f["value"].as_f64())
        .unwrap_or_else(|| panic!("no matters_raised in {view}")) as u64
}

/// The replica's entry in `/healthz` (which answers 200 whatever it says).
fn replica_health(server: &Server) -> serde_json::Value {
    let (status, response) = server.get("/healthz", &[]);
    assert_eq!(status, 200, "{response}");
    json_body(&response)["database"]["replica"].clone()
}

fn count(rt: &tokio::runtime::Runtime, url: &str, sql: &str) -> i64 {
    rt.block_on(async {
        let db = Database::connect(url, 1).await.unwrap();
        let row = db
            .conn()
            .query_one_raw(Statement::from_string(db.backend(), sql.to_string()))
            .await
            .unwrap()
            .unwrap();
        let n: i64 = row.try_get_by_index(0).unwrap();
        db.close().await.unwrap();
        n
    })
}

fn execute(rt: &tokio::runtime::Runtime, url: &str, sql: &str) {
    rt.block_on(async {
        let db = Database::connect(url, 1).await.unwrap();
        db.conn().execute_unprepared(sql).await.unwrap();
        db.close().await.unwrap();
    })
}

#[test]
fn reporting_reads_follow_the_replica_and_fall_back_to_the_primary() {
    let primary = PgCluster::init();
    primary.start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (community, dwelling) = rt.block_on(async {
        let db = Database::connect(&primary.url(), 2).await.unwrap();
        db.migrate().await.unwrap();
        let t = tree(&db).await;
        account(&db, "worker", Role::CommunityWorker, t.community).await;
        account(&db, "resident", Role::Resident, t.compound.dwellings[0]).await;
        db.close().await.unwrap();
        (t.community, t.compound.dwellings[0])
    });
    let replica = PgCluster::replica_of(&primary);
    replica.start();

    // Two servers on the same pair: one that keeps reading the replica
    // however far it lags, one that leaves it after a second.
    let (primary_url, replica_url) = (primary.url(), replica.url());
    let patient_dir = tempfile::tempdir().unwrap();
    let patient = Server::start(
        patient_dir.path(),
        &["--database-url", &primary_url],
        &[
            ("JINLIN_DATABASE_REPLICA_URL", &replica_url),
            ("JINLIN_DATABASE_REPLICA_MAX_LAG_SECS", "3600"),
        ],
    );
    let strict_dir = tempfile::tempdir().unwrap();
    let strict = Server::start(
        strict_dir.path(),
        &["--database-url", &primary_url],
        &[
            ("JINLIN_DATABASE_REPLICA_URL", &replica_url),
            ("JINLIN_DATABASE_REPLICA_MAX_LAG_SECS", "1"),
        ],
    );
    for server in [&patient, &strict] {
        assert!(
            eventually(120, || replica_health(server)["status"] == "ok"),
            "the replica never came into use: {}",
            replica_health(server)
        );
    }
    let (worker, _) = sign_in(&patient, "worker");
    let (resident, csrf) = sign_in(&patient, "resident");
    assert_eq!(matters_raised(&patient, &worker, community), 0);

    // Replay stops on the replica; a matter is raised. The write goes to
    // the primary (a standby refuses writes) and only the primary has it.
    execute(&rt, &replica_url, "SELECT pg_wal_replay_pause()");
    let body = format!(
        r#"{{"category": "utilities", "title": "停水", "description": "从早上起没有自来水。", "place_id": {dwelling}}}"#
    );
    let raise = |server: &Server| {
        let (status, response) = server.request(
            "POST",
            "/api/v1/resident-matters",
            &[
                ("content-type", "application/json"),
                ("cookie", &resident),
                ("x-csrf-token", &csrf),
            ],
            &body,
        );
        assert_eq!(status, 201, "{response}");
    };
    raise(&patient);
    let matters = "SELECT count(*) FROM resident_matter";
    assert_eq!(count(&rt, &primary_url, matters), 1);
    assert_eq!(count(&rt, &replica_url, matters), 0);

    // The patient server's cockpit reads the replica: not there yet.
    assert_eq!(matters_raised(&patient, &worker, community), 0);
    assert_eq!(replica_health(&patient)["serving_reads"], true);

    // The strict server finds the replica beyond its limit and reads the
    // primary: the figure is current.
    assert!(
        eventually(120, || replica_health(&strict)["status"] == "lagging"),
        "the lag was never noticed: {}",
        replica_health(&strict)
    );
    assert_eq!(replica_health(&strict)["serving_reads"], false);
    assert_eq!(matters_raised(&strict, &worker, community), 1);

    // Replay resumes: the replica catches up, the strict server returns
    // to it, and the patient server's cockpit shows the matter.
    execute(&rt, &replica_url, "SELECT pg_wal_replay_resume()");
    assert!(
        eventually(120, || matters_raised(&patient, &worker, community) == 1),
        "the replica never caught up"
    );
    assert!(
        eventually(120, || replica_health(&strict)["status"] == "ok"),
        "the strict server never returned to the replica: {}",
        replica_health(&strict)
    );

    // Open data reads the same way.
    let (status, csv) = patient.get(
        &format!("/api/v1/cockpit/{community}/open-data.csv"),
        &[("cookie", &worker)],
    );
    assert_eq!(status, 200, "{csv}");

    // Each server counts where its reads went.
    let (_, metrics) = patient.get("/metrics", &[]);
    assert!(
        metrics.contains("jinlin_database_reads_total{served_by=\"replica\"}"),
        "{metrics}"
    );
    let (_, metrics) = strict.get("/metrics", &[]);
    assert!(
        metrics.contains("jinlin_database_reads_total{served_by=\"primary\"}"),
        "{metrics}"
    );

    // The replica stops: the servers notice, stay healthy, and read the
    // primary; a new matter shows at once.
    replica.stop();
    for server in [&patient, &strict] {
        assert!(
            eventually(120, || replica_health(server)["status"] == "unavailable"),
            "the stopped replica was never noticed: {}",
            replica_health(server)
        );
    }
    raise(&strict);
    assert_eq!(matters_raised(&patient, &worker, community), 2);
    assert_eq!(matters_raised(&strict, &worker, community), 2);
    let (status, csv) = patient.get(
        &format!("/api/v1/cockpit/{community}/open-data.csv"),
        &[("cookie", &worker)],
    );
    assert_eq!(status, 200, "{csv}");
}

/// The embedded SQLite database has no replicas: a replica URL with it
/// stops the server at start with a clear message.
#[test]
fn sqlite_refuses_a_replica() {
    let data_dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_jinlin"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir.path())
        .env(
            "JINLIN_DATABASE_REPLICA_URL",
            "postgres://postgres@127.0.0.1:1/replica",
        )
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("database_replica_url needs a PostgreSQL database_url"),
        "{said}"
    );
}
