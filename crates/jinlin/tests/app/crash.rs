//! Nothing acknowledged is lost: clients raise residents' matters against
//! the real binary, which is killed with SIGKILL at random moments and
//! started again, several times. Afterwards every matter a client saw
//! acknowledged (201 with its id) is in the database, and no matter is
//! half-written: each has its reporter, its first timeline event and its
//! audit entry, written in the same transaction.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jinlin_kernel::auth::Role;
use jinlin_testkit::fixtures::{PASSWORD, account, tree};
use jinlin_testkit::{TestDb, db_test};
use sea_orm::{ConnectionTrait, Statement};

use crate::hardening::{Server, json_body};

const ROUNDS: usize = 10;
const WRITERS: usize = 4;

/// A small xorshift generator seeded from the clock: the kill moments
/// differ from run to run (the seed is printed for a failing run).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[db_test]
async fn acknowledged_writes_survive_sigkill(db: TestDb) {
    let t = tree(&db.db).await;
    account(&db.db, "resident", Role::Resident, t.compound.dwellings[0]).await;
    let place = t.compound.dwellings[0];
    let data_dir = tempfile::tempdir().unwrap();
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut rng = Rng(seed);
    let acknowledged = Arc::new(Mutex::new(Vec::<i64>::new()));
    let url = db.url.clone();

    let mut session: Option<(String, String)> = None;
    let mut kills = 0;
    for round in 0..ROUNDS {
        let dir = data_dir.path().to_path_buf();
        let url = url.clone();
        let server = tokio::task::spawn_blocking(move || {
            Server::start(&dir, &["--database-url", &url], &[])
        })
        .await
        .unwrap();
        // The session lives in the database: one sign-in serves every round.
        let (cookie, csrf) = match &session {
            Some(s) => s.clone(),
            None => {
                let body = format!(r#"{{"username": "resident", "password": "{PASSWORD}"}}"#);
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
                session = Some((cookie.clone(), csrf.clone()));
                (cookie, csrf)
            }
        };

        let addr = server.addr.clone();
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (addr, cookie, csrf) = (addr.clone(), cookie.clone(), csrf.clone());
                let acknowledged = acknowledged.clone();
                std::thread::spawn(move || {
                    for n in 0.. {
                        let body = format!(
                            r#"{{"category": "utilities", "title": "第{round}轮 {w}-{n} 停水",
                                "description": "从早上起没有自来水。", "place_id": {place}}}"#
                        );
                        let Some((status, response)) = Server::try_request(
                            &addr,
                            "POST",
                            "/api/v1/resident-matters",
                            &[
                                ("content-type", "application/json"),
                                ("cookie", &cookie),
                                ("x-csrf-token", &csrf),
                            ],
                            &body,
                        ) else {
                            // The server is gone: this round is over.
                            return;
                        };
                        assert_eq!(status, 201, "{response}");
                        // Only a whole answer acknowledges the write.
                        let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
                        let Some(id) = serde_json::from_str::<serde_json::Value>(body)
                            .ok()
                            .and_then(|v| v["id"].as_i64())
                        else {
                            return;
                        };
                        acknowledged.lock().unwrap().push(id);
                    }
                })
            })
            .collect();

        // Let the writers run for a random while (the first round long
        // enough for the server to warm up), then kill it without warning.
        let before = acknowledged.lock().unwrap().len();
        let wait = Duration::from_millis(300 + rng.next() % 1200);
        tokio::time::sleep(wait).await;
        // Make sure some writes are in flight or done in every round.
        for _ in 0..200 {
            if acknowledged.lock().unwrap().len() > before {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        server.sigkill();
        kills += 1;
        for writer in writers {
            writer.join().unwrap();
        }
    }

    let acknowledged: Vec<i64> = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= ROUNDS,
        "seed {seed}: too few writes to prove anything ({})",
        acknowledged.len()
    );
    let conn = db.db.conn();
    let backend = db.db.backend();
    let stored: HashSet<i64> = conn
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT id FROM resident_matter",
        ))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get::<i64>("", "id").unwrap())
        .collect();
    let lost: Vec<_> = acknowledged
        .iter()
        .filter(|id| !stored.contains(id))
        .collect();
    assert!(
        lost.is_empty(),
        "seed {seed}: acknowledged but lost after {kills} kills: {lost:?}"
    );
    let half_written = conn
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT m.id FROM resident_matter m
             WHERE NOT EXISTS (SELECT 1 FROM resident_matter_reporter r WHERE r.matter_id = m.id)
                OR NOT EXISTS (SELECT 1 FROM resident_matter_event e WHERE e.matter_id = m.id)
                OR NOT EXISTS (SELECT 1 FROM audit_log a
                               WHERE a.action = 'resident_matter.raise'
                                 AND a.object_id = CAST(m.id AS TEXT))",
        ))
        .await
        .unwrap();
    assert!(
        half_written.is_empty(),
        "seed {seed}: {} matters without their reporter, event or audit entry",
        half_written.len()
    );
    // Writes the server finished but whose answer the kill cut off may
    // also be stored; nothing else is.
    assert!(
        stored.len() >= acknowledged.len(),
        "seed {seed}: {} stored, {} acknowledged",
        stored.len(),
        acknowledged.len()
    );
    println!(
        "{} backend: {kills} SIGKILLs, {} writes acknowledged, {} stored, none lost",
        db.db.backend_name(),
        acknowledged.len(),
        stored.len()
    );
}
