//! Group commit of marks. When a district is mobilised, thousands of
//! households acknowledge within minutes, each request one household. Each
//! in a transaction of its own, the commits (one writer on SQLite, a log
//! flush each on PostgreSQL) bound the rate. Here the marks that arrive
//! while the transactions in flight are being written wait for the next
//! one, and each transaction writes everything waiting in two statements
//! per mobilisation, so a burst of single marks costs a few transactions.
//! SQLite has one writer, so one group is written at a time. PostgreSQL
//! writes [`PG_WRITERS`] groups at once: with one, a mark arriving just
//! after a group began waited for that group's whole transaction, and at
//! 200 marks a second those waits set the slowest answers (p99 58–64 ms;
//! 11–24 ms with two writers, 18–27 ms with four). Smaller groups cost
//! throughput when every client marks without pause (16 at a time: 5,494
//! marks/s with one writer, 4,592/s with two, 4,206/s with four).
//!
//! Each request still gets its own answer: how many of its households it
//! marked, how many were marked already (by anyone earlier, in this
//! transaction or before), or that the mobilisation is closed. If a group's
//! transaction fails, every request in it is told to write on its own, so
//! one failure never becomes another's.
//!
//! The common checks are made in the group too: a grid worker marking their
//! own households (or an official of the households' compounds), and a
//! resident acknowledging for their own dwellings, are checked against the
//! households read in the group's transaction, one query for the group
//! instead of one per request. A request that does not plainly pass is sent
//! back to be checked in full, which finds the exact refusal.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Instant;

use chrono::Utc;
use jinlin_kernel::Database;
use jinlin_kernel::auth::Principal;
use jinlin_kernel::db::WRITE_WAIT;
use sea_orm::DbErr;
use tokio::sync::oneshot;

use crate::rules::{self, GroupRequest, Method};
use crate::store::{self, Claim};

/// Households written in one transaction at most; more wait for the next.
const GROUP_MAX: usize = 500;

/// Groups written at once on PostgreSQL. Two groups marking one household
/// take its row lock in the same order (mobilisation, then household id),
/// and the second finds it reached and counts it as such.
pub const PG_WRITERS: usize = 2;

/// Groups written at once on `db`.
fn writers_for(db: &Database) -> usize {
    match db.backend() {
        sea_orm::DbBackend::Postgres => PG_WRITERS,
        _ => 1,
    }
}

/// Households that may wait for a group at once. Past this a request is
/// refused at once (503 overloaded) instead of joining a queue that grows
/// faster than groups are written: the ones that wait then wait for at
/// most a few groups. A request still waiting after `WRITE_WAIT` is
/// refused too, when the next group is drawn.
pub const WAITING_MAX: usize = 4 * GROUP_MAX;

/// What became of one request's marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Newly marked by this request, and those reached before.
    Marked { marked: u64, already: u64 },
    /// Nothing marked: the mobilisation is closed (or gone).
    Closed,
    /// The group's transaction failed; write these marks on your own.
    Alone,
    /// Not plainly allowed: check the request in full, then write.
    Unchecked,
    /// None of the reader's own dwellings is in the mobilisation.
    NoneOwn,
    /// `WAITING_MAX` households were already waiting, or this request
    /// waited `WRITE_WAIT` for its group: nothing written.
    Overloaded,
}

/// What the group checks before it writes a request's marks.
pub enum Check {
    /// Checked by the caller.
    Done,
    /// Every household must be in the mobilisation and in a grid the
    /// reader works, or in a compound the reader is an official of.
    Worker(Principal),
    /// The reader's own dwellings: those in the mobilisation are marked.
    Own,
}

struct Request {
    mobilisation: i64,
    /// Sorted, without repeats.
    dwellings: Vec<i64>,
    by: i64,
    method: Method,
    check: Check,
    answer: oneshot::Sender<Outcome>,
    arrived: Instant,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Request>,
    /// The households of the waiting requests.
    households: usize,
    /// Groups being written (`write_while_waiting` tasks running).
    writers: usize,
}

/// The queues of the databases connected in this process.
static QUEUES: LazyLock<Mutex<HashMap<u64, Arc<Mutex<Queue>>>>> = LazyLock::new(Default::default);

fn queue_of(db: &Database) -> Arc<Mutex<Queue>> {
    QUEUES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(db.id())
        .or_default()
        .clone()
}

/// Marks `dwellings` (sorted, without repeats) of mobilisation `id`
/// reached by `by`, after `check`, in the next group transaction.
pub async fn mark(
    db: &Database,
    id: i64,
    dwellings: Vec<i64>,
    by: i64,
    method: Method,
    check: Check,
) -> Outcome {
    let (answer, outcome) = oneshot::channel();
    let queue = queue_of(db);
    let start = {
        let mut q = queue.lock().unwrap_or_else(|e| e.into_inner());
        q.households += dwellings.len();
        if q.households > WAITING_MAX && !q.waiting.is_empty() {
            q.households -= dwellings.len();
            metrics::counter!("jinlin_marks_refused_total", "why" => "queue_full").increment(1);
            return Outcome::Overloaded;
        }
        q.waiting.push(Request {
            mobilisation: id,
            dwellings,
            by,
            method,
            check,
            answer,
            arrived: Instant::now(),
        });
        let start = q.writers < writers_for(db);
        if start {
            q.writers += 1;
        }
        start
    };
    if start {
        // The writer runs apart from any request, so a caller that goes
        // away (a closed connection) never strands the others.
        tokio::spawn(write_while_waiting(db.clone(), queue));
    }
    // A writer that panicked dropped the answer: write alone.
    outcome.await.unwrap_or(Outcome::Alone)
}

/// Counts the writer out if it panics, so the next request starts a new
/// one. (A writer that finds nothing waiting counts itself out, under the
/// same lock as it looked, so no request is left waiting.)
struct Writing(Arc<Mutex<Queue>>);

impl Drop for Writing {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut q = self.0.lock().unwrap_or_else(|e| e.into_inner());
            // The waiting requests' answers drop with them: each writes alone.
            q.waiting.clear();
            q.households = 0;
            q.writers = q.writers.saturating_sub(1);
        }
    }
}

async fn write_while_waiting(db: Database, queue: Arc<Mutex<Queue>>) {
    let _writing = Writing(queue.clone());
    loop {
        let group = {
            let mut q = queue.lock().unwrap_or_else(|e| e.into_inner());
            // Those that waited their time for a group are refused rather
            // than written late: under overload the queue then holds what
            // can be written in time, not everything that came.
            let now = Instant::now();
            let late: Vec<Request> = q
                .waiting
                .extract_if(.., |r| now.duration_since(r.arrived) >= WRITE_WAIT)
                .collect();
            for r in late {
                q.households -= r.dwellings.len();
                metrics::histogram!("jinlin_mark_group_wait_seconds")
                    .record(now.duration_since(r.arrived).as_secs_f64());
                metrics::counter!("jinlin_marks_refused_total", "why" => "waited").increment(1);
                let _ = r.answer.send(Outcome::Overloaded);
            }
            if q.waiting.is_empty() {
                q.writers -= 1;
                return;
            }
            let mut households = 0;
            let take = q
                .waiting
                .iter()
                .take_while(|r| {
                    households += r.dwellings.len();
                    households <= GROUP_MAX
                })
                .count()
                .max(1);
            let group = q.waiting.drain(..take).collect::<Vec<_>>();
            q.households -= group.iter().map(|r| r.dwellings.len()).sum::<usize>();
            group
        };
        for r in &group {
            metrics::histogram!("jinlin_mark_group_wait_seconds")
                .record(r.arrived.elapsed().as_secs_f64());
        }
        let started = Instant::now();
        let written = write(&db, &group).await;
        metrics::histogram!("jinlin_mark_group_write_seconds")
            .record(started.elapsed().as_secs_f64());
        metrics::histogram!("jinlin_mark_group_requests").record(group.len() as f64);
        match written {
            Ok(outcomes) => {
                for (r, o) in group.into_iter().zip(outcomes) {
                    let _ = r.answer.send(o);
                }
            }
            // Refused for load: each request alone would only be refused
            // again, after reads of its own.
            Err(e) if jinlin_kernel::db::is_overloaded(&e) => {
                metrics::counter!("jinlin_marks_refused_total", "why" => "database")
                    .increment(group.len() as u64);
                for r in group {
                    let _ = r.answer.send(Outcome::Overloaded);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, requests = group.len(), "group of marks failed; each writes alone");
                for r in group {
                    let _ = r.answer.send(Outcome::Alone);
                }
            }
        }
    }
}

/// Writes a group in one transaction; the outcomes in the group's order.
async fn write(db: &Database, group: &[Request]) -> Result<Vec<Outcome>, DbErr> {
    let now = Utc::now();
    let tx = db.write().await?;
    // The requests' households as checked; a refused request marks none.
    let (checked, mut refused) = check(&tx, group).await?;
    let requests: Vec<GroupRequest<'_>> = group
        .iter()
        .zip(&checked)
        .map(|(r, d)| (r.mobilisation, d.as_slice()))
        .collect();
    let owners = rules::first_claims(&requests);
    // By mobilisation in id order, so every writer locks in the same order;
    // each household claimed by its first request.
    let mut claims: BTreeMap<i64, Vec<Claim>> = BTreeMap::new();
    for (i, (r, dwellings)) in group.iter().zip(&checked).enumerate() {
        for d in dwellings {
            if owners.get(&(r.mobilisation, *d)) == Some(&i) {
                claims.entry(r.mobilisation).or_default().push(Claim {
                    dwelling_id: *d,
                    by: r.by,
                    method: r.method,
                });
            }
        }
    }
    let mut reached: HashSet<(i64, i64)> = HashSet::new();
    for (m, claims) in &claims {
        for d in store::mark_all(&tx, *m, claims, now).await? {
            reached.insert((*m, d));
        }
    }
    let marked = rules::marked_by_each(&requests, &reached);
    let mut closed: HashMap<i64, bool> = HashMap::new();
    let mut outcomes = Vec::with_capacity(group.len());
    for (i, ((r, dwellings), marked)) in group.iter().zip(&checked).zip(marked).enumerate() {
        if let Some(refusal) = refused.remove(&i) {
            outcomes.push(refusal);
            continue;
        }
        // Nothing marked may mean the mobilisation was closed: read in this
        // transaction, so no mark lands after a close has committed.
        if marked == 0 {
            let shut = match closed.get(&r.mobilisation) {
                Some(c) => *c,
                None => {
                    let c = store::is_closed(&tx, r.mobilisation).await? != Some(false);
                    closed.insert(r.mobilisation, c);
                    c
                }
            };
            if shut {
                outcomes.push(Outcome::Closed);
                continue;
            }
        }
        outcomes.push(Outcome::Marked {
            marked,
            already: dwellings.len() as u64 - marked,
        });
    }
    tx.commit().await?;
    Ok(outcomes)
}

/// The households each request of the group may mark, and the answers of
/// those refused (by their place in the group). The households named by
/// requests still to be checked are read in one query per mobilisation.
async fn check(
    tx: &impl sea_orm::ConnectionTrait,
    group: &[Request],
) -> Result<(Vec<Vec<i64>>, HashMap<usize, Outcome>), DbErr> {
    let mut named: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for r in group.iter().filter(|r| !matches!(r.check, Check::Done)) {
        named
            .entry(r.mobilisation)
            .or_default()
            .extend(&r.dwellings);
    }
    let mut targets = HashMap::new();
    for (m, mut dwellings) in named {
        dwellings.sort_unstable();
        dwellings.dedup();
        for t in store::mark_targets(tx, m, &dwellings).await? {
            targets.insert((m, t.dwelling_id), t);
        }
    }
    let mut checked = Vec::with_capacity(group.len());
    let mut refused = HashMap::new();
    for (i, r) in group.iter().enumerate() {
        let target = |d: &i64| targets.get(&(r.mobilisation, *d));
        let (dwellings, refusal) = match &r.check {
            Check::Done => (r.dwellings.clone(), None),
            Check::Worker(user) => {
                let allowed = r.dwellings.iter().all(|d| {
                    target(d).is_some_and(|t| {
                        t.worker_account_id == Some(user.account_id)
                            || user.is_official_at(&t.compound_position())
                    })
                });
                if allowed {
                    (r.dwellings.clone(), None)
                } else {
                    (Vec::new(), Some(Outcome::Unchecked))
                }
            }
            Check::Own => {
                let own: Vec<i64> = r
                    .dwellings
                    .iter()
                    .copied()
                    .filter(|d| target(d).is_some())
                    .collect();
                let refusal = own.is_empty().then_some(Outcome::NoneOwn);
                (own, refusal)
            }
        };
        if let Some(refusal) = refusal {
            refused.insert(i, refusal);
        }
        checked.push(dwellings);
    }
    Ok((checked, refused))
}
