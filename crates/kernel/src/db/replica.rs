//! A streaming replica for heavy read-only reporting.
//!
//! A watcher checks the replica every [`CHECK_EVERY`] and decides whether
//! reporting reads go to it. How far it lags is measured against the
//! primary, not against the clock of the last replayed transaction (which
//! grows on an idle primary without any lag): each check notes the
//! primary's WAL position, and the lag is the age of the oldest position
//! the replica has not replayed yet. Beyond the limit, and while the
//! replica cannot be reached or is no standby, reads go to the primary.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};

/// How often the replica is checked.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);

/// How long one check waits for either server: longer than the interval,
/// so a replica that is merely busy is not left (a stopped one refuses
/// the connection at once).
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Primary positions kept while the replica lags: at one a second, more
/// than an hour, far beyond any sensible limit (dropping the oldest only
/// ever understates a lag that is over the limit anyway).
const MAX_SAMPLES: usize = 4096;

/// Whether the replica serves reads now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaState {
    /// Not checked yet: reads go to the primary.
    Starting,
    /// Reachable, a standby, within the lag limit: reads go to it.
    Ok,
    /// Beyond the lag limit: reads go to the primary until it catches up.
    Lagging,
    /// Unreachable, or not a standby: reads go to the primary.
    Unavailable,
}

impl ReplicaState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplicaState::Starting => "starting",
            ReplicaState::Ok => "ok",
            ReplicaState::Lagging => "lagging",
            ReplicaState::Unavailable => "unavailable",
        }
    }
}

/// The outcome of the last check.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaStatus {
    pub state: ReplicaState,
    /// How far behind the primary the replica was; none when it could not
    /// be measured.
    pub lag: Option<Duration>,
    pub max_lag: Duration,
    pub error: Option<String>,
}

/// The primary's WAL positions the replica had not replayed when last
/// looked at, with when each was seen, oldest first.
#[derive(Debug, Default, Clone)]
pub struct Lag {
    samples: VecDeque<(Instant, u64)>,
}

impl Lag {
    /// Notes the primary's position at `at`.
    pub fn observe_primary(&mut self, at: Instant, lsn: u64) {
        // Only a position past the newest kept one says anything new.
        if self.samples.back().is_some_and(|&(_, l)| l >= lsn) {
            return;
        }
        if self.samples.len() == MAX_SAMPLES {
            self.samples.pop_front();
        }
        self.samples.push_back((at, lsn));
    }

    /// How far the replica, having replayed up to `replayed`, lags at
    /// `now`: since the first moment the primary was seen at a position
    /// it has not replayed; zero when it has replayed every one.
    pub fn behind(&mut self, now: Instant, replayed: u64) -> Duration {
        while self.samples.front().is_some_and(|&(_, l)| l <= replayed) {
            self.samples.pop_front();
        }
        self.samples
            .front()
            .map_or(Duration::ZERO, |&(at, _)| now.saturating_duration_since(at))
    }
}

/// What the replica says of itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    pub standby: bool,
    pub replayed: Option<u64>,
    pub received: Option<u64>,
    /// Seconds since the last replayed transaction committed.
    pub replay_age: Option<f64>,
}

/// The rule: whether the replica serves reads, and the lag measured.
/// `primary_seen` is false when the primary could not be asked this time;
/// the lag is then at least what the replica itself shows (the age of the
/// last transaction it replayed, when it has received more than that).
pub fn decide(
    observed: Result<Observation, String>,
    lag: &mut Lag,
    primary_seen: bool,
    now: Instant,
    max_lag: Duration,
) -> ReplicaStatus {
    let status = |state, lag, error| ReplicaStatus {
        state,
        lag,
        max_lag,
        error,
    };
    let o = match observed {
        Ok(o) => o,
        Err(e) => return status(ReplicaState::Unavailable, None, Some(e)),
    };
    let Some(replayed) = o.replayed.filter(|_| o.standby) else {
        return status(
            ReplicaState::Unavailable,
            None,
            Some("not a standby: pg_is_in_recovery() is false".into()),
        );
    };
    let mut behind = lag.behind(now, replayed);
    if !primary_seen && o.received.is_some_and(|r| r > replayed) {
        let age = o.replay_age.filter(|a| a.is_finite() && *a > 0.0);
        behind = behind.max(age.map_or(Duration::ZERO, Duration::from_secs_f64));
    }
    let state = if behind > max_lag {
        ReplicaState::Lagging
    } else {
        ReplicaState::Ok
    };
    status(state, Some(behind), None)
}

/// The replica's pools and what the watcher last found.
#[derive(Debug)]
pub(super) struct Replica {
    /// The pool reporting reads use.
    pub(super) conn: DatabaseConnection,
    /// One connection of its own for the checks, so a busy reporting pool
    /// does not make the replica look unreachable.
    probe: DatabaseConnection,
    in_use: AtomicBool,
    status: Mutex<ReplicaStatus>,
}

impl Replica {
    pub(super) fn new(
        conn: DatabaseConnection,
        probe: DatabaseConnection,
        max_lag: Duration,
    ) -> Replica {
        Replica {
            conn,
            probe,
            in_use: AtomicBool::new(false),
            status: Mutex::new(ReplicaStatus {
                state: ReplicaState::Starting,
                lag: None,
                max_lag,
                error: None,
            }),
        }
    }

    pub(super) fn in_use(&self) -> bool {
        self.in_use.load(Ordering::Relaxed)
    }

    pub(super) fn status(&self) -> ReplicaStatus {
        self.status
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    fn set(&self, new: ReplicaStatus) {
        let mut status = self.status.lock().unwrap_or_else(|e| e.into_inner());
        if status.state != new.state {
            match new.state {
                ReplicaState::Ok => tracing::info!(
                    lag_ms = new.lag.map(|l| l.as_millis() as u64),
                    "database replica serves reporting reads"
                ),
                _ => tracing::warn!(
                    state = new.state.as_str(),
                    lag_ms = new.lag.map(|l| l.as_millis() as u64),
                    error = new.error.as_deref(),
                    "reporting reads go to the primary"
                ),
            }
        }
        self.in_use
            .store(new.state == ReplicaState::Ok, Ordering::Relaxed);
        metrics::gauge!("jinlin_database_replica_in_use").set(if new.state == ReplicaState::Ok {
            1.0
        } else {
            0.0
        });
        if let Some(lag) = new.lag {
            metrics::gauge!("jinlin_database_replica_lag_seconds").set(lag.as_secs_f64());
        }
        *status = new;
    }

    pub(super) async fn close(&self) {
        let _ = self.conn.clone().close().await;
        let _ = self.probe.clone().close().await;
    }
}

/// Checks the replica every [`CHECK_EVERY`] until the database is dropped.
pub(super) fn watch(replica: &Arc<Replica>, primary: DatabaseConnection) {
    let replica = Arc::downgrade(replica);
    tokio::spawn(async move {
        let mut lag = Lag::default();
        let mut tick = tokio::time::interval(CHECK_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if !check(&replica, &primary, &mut lag).await {
                return;
            }
        }
    });
}

/// One check; false when the database is gone.
async fn check(replica: &Weak<Replica>, primary: &DatabaseConnection, lag: &mut Lag) -> bool {
    let seen_at = Instant::now();
    let primary_lsn = timed(
        primary,
        "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint AS lsn",
    )
    .await
    .and_then(|r| r.try_get::<i64>("", "lsn").map_err(|e| e.to_string()));
    let Some(r) = replica.upgrade() else {
        return false;
    };
    if let Ok(lsn) = primary_lsn {
        lag.observe_primary(seen_at, lsn as u64);
    }
    let observed = timed(
        &r.probe,
        "SELECT pg_is_in_recovery() AS standby, \
           (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint AS replayed, \
           (pg_last_wal_receive_lsn() - '0/0'::pg_lsn)::bigint AS received, \
           EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8 AS replay_age",
    )
    .await
    .and_then(|row| {
        let get = |e: DbErr| e.to_string();
        Ok(Observation {
            standby: row.try_get("", "standby").map_err(get)?,
            replayed: row
                .try_get::<Option<i64>>("", "replayed")
                .map_err(get)?
                .map(|l| l as u64),
            received: row
                .try_get::<Option<i64>>("", "received")
                .map_err(get)?
                .map(|l| l as u64),
            replay_age: row.try_get("", "replay_age").map_err(get)?,
        })
    });
    let status = decide(
        observed,
        lag,
        primary_lsn.is_ok(),
        Instant::now(),
        r.status().max_lag,
    );
    r.set(status);
    true
}

async fn timed(conn: &DatabaseConnection, sql: &str) -> Result<sea_orm::QueryResult, String> {
    let query = conn.query_one_raw(Statement::from_string(DbBackend::Postgres, sql.to_string()));
    match tokio::time::timeout(CHECK_TIMEOUT, query).await {
        Ok(Ok(Some(row))) => Ok(row),
        Ok(Ok(None)) => Err("no row".into()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {} s", CHECK_TIMEOUT.as_secs())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MAX: Duration = Duration::from_secs(30);

    fn standby(replayed: u64, received: u64, replay_age: f64) -> Result<Observation, String> {
        Ok(Observation {
            standby: true,
            replayed: Some(replayed),
            received: Some(received),
            replay_age: Some(replay_age),
        })
    }

    #[test]
    fn an_idle_primary_is_no_lag() {
        // The last transaction replayed an hour ago, but the primary has
        // written nothing since: the replica is current.
        let t0 = Instant::now();
        let mut lag = Lag::default();
        lag.observe_primary(t0, 100);
        let s = decide(
            standby(100, 100, 3600.0),
            &mut lag,
            true,
            t0 + Duration::from_secs(5),
            MAX,
        );
        assert_eq!(s.state, ReplicaState::Ok);
        assert_eq!(s.lag, Some(Duration::ZERO));
    }

    #[test]
    fn lag_counts_from_the_first_position_not_replayed() {
        let t0 = Instant::now();
        let mut lag = Lag::default();
        lag.observe_primary(t0, 100);
        lag.observe_primary(t0 + Duration::from_secs(10), 200);
        lag.observe_primary(t0 + Duration::from_secs(20), 300);
        let at = |s| t0 + Duration::from_secs(s);
        let s = decide(standby(150, 300, 1.0), &mut lag, true, at(25), MAX);
        assert_eq!(
            (s.state, s.lag),
            (ReplicaState::Ok, Some(Duration::from_secs(15)))
        );
        let s = decide(standby(150, 300, 1.0), &mut lag, true, at(41), MAX);
        assert_eq!(s.state, ReplicaState::Lagging);
        // It catches up: back to the replica.
        let s = decide(standby(300, 300, 1.0), &mut lag, true, at(42), MAX);
        assert_eq!((s.state, s.lag), (ReplicaState::Ok, Some(Duration::ZERO)));
    }

    #[test]
    fn unreachable_or_promoted_replicas_serve_nothing() {
        let mut lag = Lag::default();
        let now = Instant::now();
        let s = decide(Err("connection refused".into()), &mut lag, true, now, MAX);
        assert_eq!(s.state, ReplicaState::Unavailable);
        assert_eq!(s.error.as_deref(), Some("connection refused"));
        let promoted = Ok(Observation {
            standby: false,
            replayed: None,
            received: None,
            replay_age: None,
        });
        let s = decide(promoted, &mut lag, true, now, MAX);
        assert_eq!(s.state, ReplicaState::Unavailable);
    }

    #[test]
    fn without_the_primary_the_replicas_own_replay_age_counts() {
        let mut lag = Lag::default();
        let now = Instant::now();
        // Received more than replayed, the last replayed commit 60 s old.
        let s = decide(standby(100, 200, 60.0), &mut lag, false, now, MAX);
        assert_eq!(s.state, ReplicaState::Lagging);
        // Everything received replayed: an old commit is an idle primary.
        let s = decide(standby(200, 200, 60.0), &mut lag, false, now, MAX);
        assert_eq!(s.state, ReplicaState::Ok);
    }

    proptest! {
        /// The lag is the age of the oldest primary position beyond the
        /// replayed one, whatever order the checks saw.
        #[test]
        fn lag_is_the_age_of_the_oldest_position_not_replayed(
            steps in proptest::collection::vec((0u64..5, 0u64..1000), 1..60),
            replayed in 0u64..1000,
            later in 0u64..100,
        ) {
            let t0 = Instant::now();
            let mut lag = Lag::default();
            let mut seen = Vec::new();
            let mut t = 0;
            for (dt, lsn) in steps {
                t += dt;
                lag.observe_primary(t0 + Duration::from_secs(t), lsn);
                seen.push((t, lsn));
            }
            let now = t + later;
            // The kept positions rise; a position at or below one already
            // kept adds nothing, so the oldest one beyond `replayed` among
            // those kept is the first seen beyond it.
            let expected = seen
                .iter()
                .find(|&&(_, l)| l > replayed)
                .map_or(0, |&(at, _)| now - at);
            prop_assert_eq!(
                lag.behind(t0 + Duration::from_secs(now), replayed),
                Duration::from_secs(expected)
            );
        }
    }
}
