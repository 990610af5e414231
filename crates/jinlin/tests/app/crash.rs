//! Nothing acknowledged is lost: clients write through the real binary,
//! which is killed with SIGKILL at random moments and started again,
//! several times. Three kinds of writes run at once: residents raise
//! matters, two owners keep changing their ballots in an open owners'
//! vote, and two grid workers mark the households of their grids reached
//! (through the group commit of `jinlin_mobilisation::group`).
//!
//! Afterwards:
//! - every matter a client saw acknowledged (201 with its id) is stored,
//!   with its reporter, first timeline event and audit entry;
//! - every ballot a client saw accepted (201 with its receipt) is in the
//!   vote's ballot log at its sequence number with its hash; the log
//!   verifies; closed, the tally counts each owner once, with their last
//!   ballot, and matches the published result;
//! - every household a worker saw acknowledged (200) is marked, with who
//!   and how; each unit's counters equal a recount of its households.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{Method, StatusCode};
use chrono::Utc;
use jinlin_kernel::auth::{Role, entity::account as account_row};
use jinlin_kernel::place::entity as place;
use jinlin_people::entity::{dwelling_owner, person};
use jinlin_places::entity::dwelling;
use jinlin_testkit::fixtures::{PASSWORD, Tree, account, tree};
use jinlin_testkit::{TestDb, db_test};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Statement};
use serde_json::{Value, json};

use crate::hardening::{Server, json_body};
use crate::support::TestApp;

const ROUNDS: usize = 10;
/// Clients raising matters.
const RAISERS: usize = 2;
/// Dwellings in each grid worker's grid.
const GRID_DWELLINGS: usize = 1200;

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

/// Everything the clients saw acknowledged, across all rounds.
#[derive(Default)]
struct Acknowledged {
    matters: Vec<i64>,
    /// (account, sequence, hash, choice) of each accepted ballot.
    ballots: Vec<(i64, i64, String, String)>,
    households: HashSet<i64>,
}

impl Acknowledged {
    fn total(&self) -> usize {
        self.matters.len() + self.ballots.len() + self.households.len()
    }
}

/// What the load runs on, set up through the in-process application
/// before the binary starts.
struct Load {
    place: i64,
    secretary: i64,
    vote: i64,
    mobilisation: i64,
    /// (username, account id) of the two voting owners.
    owners: [(&'static str, i64); 2],
    /// Each grid worker's username and their grid's dwellings.
    workers: Vec<(&'static str, Vec<i64>)>,
    /// The owners' dwelling areas (centi-m²), by account.
    areas: HashMap<i64, u64>,
}

fn ok(r: &jinlin_testkit::TestResponse, status: StatusCode) -> Value {
    assert_eq!(r.status, status, "{}", r.text());
    r.json()
}

fn new_place(
    t: &Tree,
    compound: i64,
    kind: &str,
    parent: i64,
    name: &str,
    up: (Option<i64>, Option<i64>),
) -> place::ActiveModel {
    let now = Utc::now();
    place::ActiveModel {
        kind: Set(kind.into()),
        parent_id: Set(Some(parent)),
        code: Set(None),
        name: Set(name.into()),
        initials: Set(String::new()),
        district_code: Set(Some("350104".into())),
        street_id: Set(Some(t.street)),
        community_id: Set(Some(t.community)),
        compound_id: Set(Some(compound)),
        building_id: Set(up.0),
        entrance_id: Set(up.1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

/// A building of 榕城小区 with `rooms` dwellings; gives its id and theirs.
/// (Not in 金山花园, where every dwelling would need an area on the
/// register for the vote.)
async fn building(db: &TestDb, t: &Tree, name: &str, rooms: usize) -> (i64, Vec<i64>) {
    let c = t.neighbour.compound;
    let conn = db.db.conn();
    let b = place::Entity::insert(new_place(t, c, "building", c, name, (None, None)))
        .exec(conn)
        .await
        .unwrap()
        .last_insert_id;
    let e = place::Entity::insert(new_place(t, c, "entrance", b, "1单元", (Some(b), None)))
        .exec(conn)
        .await
        .unwrap()
        .last_insert_id;
    let mut rows = Vec::with_capacity(rooms);
    for i in 0..rooms {
        let name = format!("{}", 1000 + i);
        rows.push(new_place(t, c, "dwelling", e, &name, (Some(b), Some(e))));
    }
    for chunk in rows.chunks(500) {
        place::Entity::insert_many(chunk.to_vec())
            .exec(conn)
            .await
            .unwrap();
    }
    let dwellings = place::Entity::find()
        .filter(place::Column::EntranceId.eq(e))
        .filter(place::Column::Kind.eq("dwelling"))
        .all(conn)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    (b, dwellings)
}

/// An owner of `dwelling_id` (with its area on the register) whose person
/// is the account's.
async fn owner(db: &TestDb, t: &Tree, account_id: i64, dwelling_id: i64, area: i64, name: &str) {
    let conn = db.db.conn();
    let c = t.compound.compound;
    dwelling::Entity::insert(dwelling::ActiveModel {
        place_id: Set(dwelling_id),
        district_code: Set("350104".into()),
        compound_id: Set(c),
        area_centi_m2: Set(area),
        area_source: Set("register".into()),
    })
    .exec(conn)
    .await
    .unwrap();
    let now = Utc::now();
    let person_id = person::Entity::insert(person::ActiveModel {
        district_code: Set(Some("350104".into())),
        name: Set(name.into()),
        phone: Set(None),
        id_number_cipher: Set(None),
        id_number_digest: Set(None),
        party_member: Set(false),
        employer: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec(conn)
    .await
    .unwrap()
    .last_insert_id;
    dwelling_owner::Entity::insert(dwelling_owner::ActiveModel {
        dwelling_id: Set(dwelling_id),
        district_code: Set("350104".into()),
        compound_id: Set(c),
        owner_kind: Set("person".into()),
        person_id: Set(Some(person_id)),
        company_name: Set(None),
        created_at: Set(now),
        ..Default::default()
    })
    .exec(conn)
    .await
    .unwrap();
    account_row::Entity::update_many()
        .col_expr(account_row::Column::PersonId, Expr::value(person_id))
        .filter(account_row::Column::Id.eq(account_id))
        .exec(conn)
        .await
        .unwrap();
}

/// The accounts, an open owners' vote in 金山花园 and a mobilisation of
/// households through two grids of `GRID_DWELLINGS` dwellings each.
async fn set_up(app: &TestApp, t: &Tree) -> Load {
    let db = &app.db;
    let d = &db.db;
    let c = t.compound.compound;
    account(d, "resident", Role::Resident, t.compound.dwellings[0]).await;
    let owner_a = account(d, "owner-a", Role::Resident, t.compound.dwellings[0]).await;
    let owner_b = account(d, "owner-b", Role::Resident, t.compound.dwellings[1]).await;
    let secretary = account(d, "secretary", Role::CompoundSecretary, c).await;
    let district = account(d, "district", Role::DistrictAdmin, t.district).await;
    let worker = account(d, "worker", Role::CommunityWorker, t.community).await;
    let worker2 = account(d, "worker2", Role::CommunityWorker, t.community).await;
    owner(db, t, owner_a, t.compound.dwellings[0], 8950, "林美华").await;
    owner(db, t, owner_b, t.compound.dwellings[1], 12000, "陈建国").await;
    let (b2, grid_a) = building(db, t, "2号楼", GRID_DWELLINGS).await;
    let (b3, grid_b) = building(db, t, "3号楼", GRID_DWELLINGS).await;

    // The vote: a matter taken to public review by the party organisation.
    let sec = app.client(secretary).await;
    let r = sec
        .json(
            Method::POST,
            &format!("/api/v1/places/{c}/matters"),
            r#"{"title": "更换小区物业服务企业", "description": "现物业服务差，建议重新选聘。"}"#,
        )
        .await;
    let matter = ok(&r, StatusCode::CREATED)["id"].as_i64().unwrap();
    let held_at = (Utc::now() - chrono::Duration::hours(2)).to_rfc3339();
    for body in [
        json!({"action": "advance", "summary": "业主反映集中，党支部牵头动议"}),
        json!({"action": "advance", "plan": "召开业主大会表决解聘现物业、选聘新物业", "joint_decision": 4}),
        json!({"action": "advance", "held_at": held_at, "minutes": "四方一致同意提交业主表决。",
        "attendees": [
            {"party": "compound_party_org", "name": "王书记"},
            {"party": "community", "name": "社区李主任"}
        ]}),
    ] {
        let r = sec
            .json(
                Method::POST,
                &format!("/api/v1/matters/{matter}/actions"),
                &body.to_string(),
            )
            .await;
        ok(&r, StatusCode::OK);
    }
    let closes_at = (Utc::now() + chrono::Duration::hours(24)).to_rfc3339();
    let r = sec
        .json(
            Method::POST,
            &format!("/api/v1/matters/{matter}/votes"),
            &json!({"closes_at": closes_at}).to_string(),
        )
        .await;
    let vote = ok(&r, StatusCode::CREATED)["id"].as_i64().unwrap();

    // The mobilisation: one grid per new building, sent to 榕城小区.
    let n = t.neighbour.compound;
    let wc = app.client(worker).await;
    for (name, who, b) in [("2号网格", worker, b2), ("3号网格", worker2, b3)] {
        let r = wc
            .json(
                Method::POST,
                &format!("/api/v1/places/{n}/micro-grids"),
                &json!({"name": name, "worker_account_id": who, "building_ids": [b]}).to_string(),
            )
            .await;
        ok(&r, StatusCode::CREATED);
    }
    let r = app
        .client(district)
        .await
        .json(
            Method::POST,
            "/api/v1/mobilisations",
            &json!({"place_id": n, "title": "台风防御紧急通知",
                "body": "今晚台风登陆，请关好门窗，低洼住户请转移。"})
            .to_string(),
        )
        .await;
    let sent = ok(&r, StatusCode::CREATED);
    assert_eq!(sent["households"], 1 + 2 * GRID_DWELLINGS as u64, "{sent}");
    Load {
        place: t.compound.dwellings[0],
        secretary,
        vote,
        mobilisation: sent["id"].as_i64().unwrap(),
        owners: [("owner-a", owner_a), ("owner-b", owner_b)],
        workers: vec![("worker", grid_a), ("worker2", grid_b)],
        areas: HashMap::from([(owner_a, 8950), (owner_b, 12000)]),
    }
}

/// Signs in through the binary: the session cookie and CSRF token.
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

/// One write as `session`: `None` once the server is gone or the answer
/// was cut off (only a whole answer acknowledges anything). A write the
/// server shed for load (503 overloaded: nothing stored) is sent again, as
/// its Retry-After asks.
fn post(addr: &str, session: &(String, String), path: &str, body: &str) -> Option<(u16, Value)> {
    loop {
        let (status, response) = Server::try_request(
            addr,
            "POST",
            path,
            &[
                ("content-type", "application/json"),
                ("cookie", &session.0),
                ("x-csrf-token", &session.1),
            ],
            body,
        )?;
        let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        let value = serde_json::from_str::<Value>(body).ok()?;
        if status == 503 && value["error"]["code"] == "overloaded" {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        }
        return Some((status, value));
    }
}

fn query(backend: DbBackend, sql: &str, values: Vec<sea_orm::Value>) -> Statement {
    // `$n` on PostgreSQL, `?` in the same order on SQLite.
    let sql = if backend == DbBackend::Postgres {
        sql.to_string()
    } else {
        let mut out = String::new();
        let mut chars = sql.chars().peekable();
        while let Some(ch) = chars.next() {
            if ch == '$' {
                while chars.peek().is_some_and(char::is_ascii_digit) {
                    chars.next();
                }
                out.push('?');
            } else {
                out.push(ch);
            }
        }
        out
    };
    Statement::from_sql_and_values(backend, sql, values)
}

async fn ids(db: &TestDb, sql: &str, values: Vec<sea_orm::Value>) -> Vec<i64> {
    db.db
        .conn()
        .query_all_raw(query(db.db.backend(), sql, values))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get_by_index::<i64>(0).unwrap())
        .collect()
}

#[db_test]
async fn acknowledged_writes_survive_sigkill(db: TestDb) {
    let t = tree(&db.db).await;
    let url = db.url.clone();
    let app = TestApp::new(db);
    let load = Arc::new(set_up(&app, &t).await);
    let data_dir = tempfile::tempdir().unwrap();
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut rng = Rng(seed);
    let acknowledged = Arc::new(Mutex::new(Acknowledged::default()));
    // How far each grid worker got through their dwellings.
    let progress = Arc::new(Mutex::new(vec![0usize; load.workers.len()]));
    // The next choice each owner sends.
    let choices = Arc::new(Mutex::new([0usize; 2]));

    // Sessions live in the database: one sign-in serves every round.
    let mut sessions: HashMap<&str, (String, String)> = HashMap::new();
    let mut kills = 0;
    for round in 0..ROUNDS {
        let dir = data_dir.path().to_path_buf();
        let url = url.clone();
        let server = tokio::task::spawn_blocking(move || {
            Server::start(&dir, &["--database-url", &url], &[])
        })
        .await
        .unwrap();
        if sessions.is_empty() {
            let names = ["resident", "owner-a", "owner-b", "worker", "worker2"];
            for name in names {
                sessions.insert(name, sign_in(&server, name));
            }
        }

        let addr = server.addr.clone();
        let mut writers = Vec::new();
        for w in 0..RAISERS {
            let (addr, session) = (addr.clone(), sessions["resident"].clone());
            let (acknowledged, place) = (acknowledged.clone(), load.place);
            writers.push(std::thread::spawn(move || {
                for n in 0.. {
                    let body = format!(
                        r#"{{"category": "utilities", "title": "第{round}轮 {w}-{n} 停水",
                            "description": "从早上起没有自来水。", "place_id": {place}}}"#
                    );
                    let Some((status, v)) =
                        post(&addr, &session, "/api/v1/resident-matters", &body)
                    else {
                        return;
                    };
                    assert_eq!(status, 201, "{v}");
                    let Some(id) = v["id"].as_i64() else { return };
                    acknowledged.lock().unwrap().matters.push(id);
                }
            }));
        }
        for (o, (name, account_id)) in load.owners.into_iter().enumerate() {
            let (addr, session) = (addr.clone(), sessions[name].clone());
            let (acknowledged, choices) = (acknowledged.clone(), choices.clone());
            let path = format!("/api/v1/votes/{}/ballots", load.vote);
            writers.push(std::thread::spawn(move || {
                loop {
                    let choice = ["for", "against", "abstain"][choices.lock().unwrap()[o] % 3];
                    let body = json!({"choice": choice}).to_string();
                    let Some((status, v)) = post(&addr, &session, &path, &body) else {
                        return;
                    };
                    choices.lock().unwrap()[o] += 1;
                    match status {
                        201 => {
                            assert_eq!(v["choice"], choice, "{v}");
                            acknowledged.lock().unwrap().ballots.push((
                                account_id,
                                v["sequence"].as_i64().unwrap(),
                                v["hash"].as_str().unwrap().to_string(),
                                choice.to_string(),
                            ));
                        }
                        // The same choice as the ballot that counts: one
                        // whose answer a kill cut off. Nothing stored.
                        409 => {}
                        _ => panic!("ballot: {status} {v}"),
                    }
                }
            }));
        }
        for (k, (name, dwellings)) in load.workers.iter().enumerate() {
            let (addr, session) = (addr.clone(), sessions[*name].clone());
            let (acknowledged, progress) = (acknowledged.clone(), progress.clone());
            let dwellings = dwellings.clone();
            let path = format!("/api/v1/mobilisations/{}/reached", load.mobilisation);
            writers.push(std::thread::spawn(move || {
                loop {
                    // One household at a time mostly, as at the door; some
                    // small batches.
                    let from = progress.lock().unwrap()[k];
                    let to = (from + [1, 1, 2, 1, 3][from % 5]).min(dwellings.len());
                    if from == to {
                        return;
                    }
                    let batch = &dwellings[from..to];
                    let body = json!({"dwelling_ids": batch, "method": "door"}).to_string();
                    let Some((status, v)) = post(&addr, &session, &path, &body) else {
                        return;
                    };
                    assert_eq!(status, 200, "{v}");
                    assert_eq!(
                        v["marked"].as_u64().unwrap() + v["already"].as_u64().unwrap(),
                        batch.len() as u64,
                        "{v}"
                    );
                    acknowledged
                        .lock()
                        .unwrap()
                        .households
                        .extend(batch.iter().copied());
                    progress.lock().unwrap()[k] = to;
                }
            }));
        }

        // Let the writers run for a random while (the first round long
        // enough for the server to warm up), then kill it without warning.
        let before = acknowledged.lock().unwrap().total();
        let wait = Duration::from_millis(300 + rng.next() % 1200);
        tokio::time::sleep(wait).await;
        // Make sure some writes are in flight or done in every round.
        for _ in 0..200 {
            if acknowledged.lock().unwrap().total() > before {
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

    let acknowledged = std::mem::take(&mut *acknowledged.lock().unwrap());
    let db = &app.db;
    let backend = db.db.backend();
    let conn = db.db.conn();
    assert!(
        acknowledged.matters.len() >= ROUNDS
            && acknowledged.ballots.len() >= ROUNDS
            && acknowledged.households.len() >= ROUNDS,
        "seed {seed}: too few writes to prove anything ({} matters, {} ballots, {} households)",
        acknowledged.matters.len(),
        acknowledged.ballots.len(),
        acknowledged.households.len()
    );

    // Matters: all acknowledged ones stored, none half-written.
    let stored: HashSet<i64> = ids(db, "SELECT id FROM resident_matter", vec![])
        .await
        .into_iter()
        .collect();
    let lost: Vec<_> = acknowledged
        .matters
        .iter()
        .filter(|id| !stored.contains(id))
        .collect();
    assert!(
        lost.is_empty(),
        "seed {seed}: acknowledged but lost after {kills} kills: {lost:?}"
    );
    let half_written = ids(
        db,
        "SELECT m.id FROM resident_matter m
         WHERE NOT EXISTS (SELECT 1 FROM resident_matter_reporter r WHERE r.matter_id = m.id)
            OR NOT EXISTS (SELECT 1 FROM resident_matter_event e WHERE e.matter_id = m.id)
            OR NOT EXISTS (SELECT 1 FROM audit_log a
                           WHERE a.action = 'resident_matter.raise'
                             AND a.object_id = CAST(m.id AS TEXT))",
        vec![],
    )
    .await;
    assert!(
        half_written.is_empty(),
        "seed {seed}: matters without their reporter, event or audit entry: {half_written:?}"
    );
    // Writes the server finished but whose answer the kill cut off may
    // also be stored; nothing else is.
    assert!(stored.len() >= acknowledged.matters.len());

    // Ballots: every accepted one in the log, where its receipt says.
    let rows = conn
        .query_all_raw(query(
            backend,
            "SELECT account_id, sequence, hash, choice, voter FROM vote_ballot \
             WHERE vote_id = $1 ORDER BY sequence",
            vec![load.vote.into()],
        ))
        .await
        .unwrap();
    let mut log: HashMap<i64, (i64, String, String)> = HashMap::new();
    let mut last: HashMap<String, (i64, String)> = HashMap::new();
    for r in &rows {
        let account_id: i64 = r.try_get("", "account_id").unwrap();
        let sequence: i64 = r.try_get("", "sequence").unwrap();
        let choice: String = r.try_get("", "choice").unwrap();
        log.insert(
            sequence,
            (account_id, r.try_get("", "hash").unwrap(), choice.clone()),
        );
        last.insert(r.try_get("", "voter").unwrap(), (account_id, choice));
    }
    for (account_id, sequence, hash, choice) in &acknowledged.ballots {
        assert_eq!(
            log.get(sequence),
            Some(&(*account_id, hash.clone(), choice.clone())),
            "seed {seed}: accepted ballot {sequence} of account {account_id} not in the log"
        );
    }
    assert!(log.len() >= acknowledged.ballots.len());
    let v = jinlin_deliberation::entity::vote::Entity::find_by_id(load.vote)
        .one(conn)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v.ballot_count as usize, log.len(), "seed {seed}");
    let check = jinlin_deliberation::votes::verify(conn, &v).await.unwrap();
    assert!(check.chain_valid, "seed {seed}: {:?}", check.fault);
    assert_eq!(check.ballots, log.len());
    // Closed (every owner has voted), the published tally counts each
    // owner once, with their last ballot, and verifies against the log.
    let sec = app.client(load.secretary).await;
    let r = sec
        .json(
            Method::POST,
            &format!("/api/v1/votes/{}/close", load.vote),
            "",
        )
        .await;
    let closed = ok(&r, StatusCode::OK);
    let cast = &closed["result"]["cast"];
    assert_eq!(last.len(), 2, "seed {seed}: {last:?}");
    assert_eq!(cast["participating"]["heads"], 2, "seed {seed}: {cast}");
    for choice in ["for", "against", "abstain"] {
        let (mut heads, mut area) = (0u64, 0u64);
        for (account_id, c) in last.values() {
            if c == choice {
                heads += 1;
                area += load.areas[account_id];
            }
        }
        assert_eq!(
            cast["counts"][choice]["heads"], heads,
            "seed {seed}: {cast}"
        );
        assert_eq!(
            cast["counts"][choice]["area_centi_m2"], area,
            "seed {seed}: {cast}"
        );
    }
    let r = sec
        .get(&format!("/api/v1/votes/{}/verify", load.vote))
        .await;
    let verified = ok(&r, StatusCode::OK);
    assert_eq!(verified["chain_valid"], true, "seed {seed}: {verified}");
    assert_eq!(verified["tally_matches"], true, "seed {seed}: {verified}");
    assert_eq!(verified["ballots"], log.len(), "seed {seed}: {verified}");

    // Households: every acknowledged one marked, with who and how; the
    // units' counters equal a recount.
    let m = load.mobilisation;
    let marked: HashSet<i64> = ids(
        db,
        "SELECT dwelling_id FROM mobilisation_household \
         WHERE mobilisation_id = $1 AND reached_at IS NOT NULL",
        vec![m.into()],
    )
    .await
    .into_iter()
    .collect();
    let unmarked: Vec<_> = acknowledged
        .households
        .iter()
        .filter(|d| !marked.contains(d))
        .collect();
    assert!(
        unmarked.is_empty(),
        "seed {seed}: acknowledged households not marked: {unmarked:?}"
    );
    let half_marked = ids(
        db,
        "SELECT dwelling_id FROM mobilisation_household WHERE mobilisation_id = $1 \
         AND (CASE WHEN reached_at IS NULL THEN 0 ELSE 1 END \
              <> CASE WHEN reached_by IS NULL THEN 0 ELSE 1 END \
           OR CASE WHEN reached_at IS NULL THEN 0 ELSE 1 END \
              <> CASE WHEN method IS NULL THEN 0 ELSE 1 END)",
        vec![m.into()],
    )
    .await;
    assert!(
        half_marked.is_empty(),
        "seed {seed}: households marked without who or how: {half_marked:?}"
    );
    let miscounted = ids(
        db,
        "SELECT u.id FROM mobilisation_unit u WHERE u.mobilisation_id = $1 AND ( \
           u.reached <> (SELECT COUNT(*) FROM mobilisation_household h \
                         WHERE h.unit_id = u.id AND h.reached_at IS NOT NULL) \
           OR u.households <> (SELECT COUNT(*) FROM mobilisation_household h \
                               WHERE h.unit_id = u.id) \
           OR CASE WHEN u.full_at IS NULL THEN 0 ELSE 1 END \
              <> CASE WHEN u.reached = u.households THEN 1 ELSE 0 END)",
        vec![m.into()],
    )
    .await;
    assert!(
        miscounted.is_empty(),
        "seed {seed}: units whose counters differ from a recount: {miscounted:?}"
    );

    println!(
        "{} backend: {kills} SIGKILLs; matters {} acknowledged, {} stored; ballots {} \
         accepted, {} in the log; households {} acknowledged, {} marked; none lost",
        db.db.backend_name(),
        acknowledged.matters.len(),
        stored.len(),
        acknowledged.ballots.len(),
        log.len(),
        acknowledged.households.len(),
        marked.len()
    );
}
