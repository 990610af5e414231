//! The durable job queue: deadlines, escalations, reminders and outbound
//! notifications run from rows of the `job` table, so they survive a
//! restart and run once however many nodes share the database.
//!
//! - A capability enqueues with [`enqueue`] on its own write transaction,
//!   so the job exists exactly when the write that caused it commits.
//! - Each node runs one [`JobRunner`]. It claims due jobs with a lease
//!   (`locked_by`, `locked_until`): on PostgreSQL with `FOR UPDATE SKIP
//!   LOCKED`, so nodes never wait for or take each other's jobs; on SQLite
//!   inside a `BEGIN IMMEDIATE` transaction, which serialises the claims.
//!   A running job's lease is renewed; a node that dies stops renewing, the
//!   lease runs out and another node takes the job.
//! - A failed job is retried with exponential backoff until it has used
//!   `max_attempts`, then marked failed and kept for inspection.
//! - Recurring work ([`JobHandlers::every`]) is enqueued once per period
//!   under a dedupe key naming the period, so several nodes never run the
//!   same period twice.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, PaginatorTrait, QueryFilter, Set,
    Statement, TryInsertResult,
};
use serde::{Deserialize, Serialize};

use crate::Database;

pub mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "job")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub kind: String,
        /// JSON text.
        pub payload: String,
        pub run_at: DateTimeUtc,
        /// Claims so far (a claim whose node died counts too).
        pub attempts: i32,
        pub max_attempts: i32,
        pub locked_by: Option<String>,
        pub locked_until: Option<DateTimeUtc>,
        pub last_error: Option<String>,
        pub done_at: Option<DateTimeUtc>,
        pub failed_at: Option<DateTimeUtc>,
        pub dedupe_key: Option<String>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

use entity::{ActiveModel, Column, Entity, Model};

/// Attempts a job gets unless its enqueuer says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 8;
/// The first retry waits this long; each later one twice the one before.
pub const BACKOFF_BASE: Duration = Duration::from_secs(10);
/// No retry waits longer than this.
pub const BACKOFF_CAP: Duration = Duration::from_secs(3600);

/// How long to wait before the next attempt after `attempts` failed ones:
/// 10 s, 20 s, 40 s, … capped at an hour.
pub fn backoff(attempts: i32) -> Duration {
    let exponent = attempts.saturating_sub(1).clamp(0, 20) as u32;
    BACKOFF_BASE
        .saturating_mul(1u32 << exponent)
        .min(BACKOFF_CAP)
}

/// A job to enqueue. [`enqueue`] covers the common case.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: String,
    pub payload: serde_json::Value,
    pub run_at: DateTime<Utc>,
    /// A job whose key is already in the table (done or not) is not
    /// enqueued again.
    pub dedupe_key: Option<String>,
    pub max_attempts: i32,
}

impl NewJob {
    pub fn new(kind: impl Into<String>, payload: serde_json::Value, run_at: DateTime<Utc>) -> Self {
        NewJob {
            kind: kind.into(),
            payload,
            run_at,
            dedupe_key: None,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }

    pub fn dedupe(mut self, key: impl Into<String>) -> Self {
        self.dedupe_key = Some(key.into());
        self
    }

    pub fn max_attempts(mut self, attempts: i32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Inserts the job on `conn` (a transaction, to enqueue atomically
    /// with the write that causes it). `None` when the dedupe key was taken.
    pub async fn enqueue(self, conn: &impl ConnectionTrait) -> Result<Option<i64>, DbErr> {
        let now = Utc::now();
        let row = ActiveModel {
            kind: Set(self.kind),
            payload: Set(self.payload.to_string()),
            run_at: Set(self.run_at),
            attempts: Set(0),
            max_attempts: Set(self.max_attempts),
            locked_by: Set(None),
            locked_until: Set(None),
            last_error: Set(None),
            done_at: Set(None),
            failed_at: Set(None),
            dedupe_key: Set(self.dedupe_key),
            created_at: Set(now),
            ..Default::default()
        };
        match Entity::insert(row)
            .on_conflict_do_nothing_on([Column::DedupeKey])
            .exec(conn)
            .await?
        {
            TryInsertResult::Inserted(r) => Ok(Some(r.last_insert_id)),
            TryInsertResult::Conflicted | TryInsertResult::Empty => Ok(None),
        }
    }
}

/// Enqueues a job of `kind` to run at `run_at` (now or later). Call it on
/// the caller's transaction so the job commits or rolls back with the write
/// that causes it. Returns the job's id, or `None` when `dedupe_key` was
/// already used.
pub async fn enqueue(
    conn: &impl ConnectionTrait,
    kind: &str,
    payload: &impl Serialize,
    run_at: DateTime<Utc>,
    dedupe_key: Option<&str>,
) -> Result<Option<i64>, DbErr> {
    let payload = serde_json::to_value(payload)
        .map_err(|e| DbErr::Custom(format!("job payload does not serialize: {e}")))?;
    let mut job = NewJob::new(kind, payload, run_at);
    job.dedupe_key = dedupe_key.map(str::to_string);
    job.enqueue(conn).await
}

/// The dedupe key of the period of `every` that contains `now`, e.g.
/// `escalate-overdue:29442131` for a one-minute period.
pub fn period_key(kind: &str, every: Duration, now: DateTime<Utc>) -> (String, DateTime<Utc>) {
    let secs = every.as_secs().max(1) as i64;
    let slot = now.timestamp().div_euclid(secs);
    let start = DateTime::<Utc>::from_timestamp(slot * secs, 0).unwrap_or(now);
    (format!("{kind}:{slot}"), start)
}

/// The payload of a recurring job's run: the period it runs for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub start: DateTime<Utc>,
}

impl Period {
    /// The period a recurring job's payload names (none in a run queued
    /// before periods were recorded).
    pub fn of(payload: &serde_json::Value) -> Option<Period> {
        serde_json::from_value(payload.clone()).ok()
    }
}

/// Enqueues the run of recurring `kind` for the period of `every` that
/// contains `now`, unless some node already did. Its payload is the
/// [`Period`].
pub async fn schedule_every(
    conn: &impl ConnectionTrait,
    kind: &str,
    every: Duration,
    now: DateTime<Utc>,
) -> Result<Option<i64>, DbErr> {
    let (key, start) = period_key(kind, every, now);
    let payload = serde_json::to_value(Period { start })
        .map_err(|e| DbErr::Custom(format!("recurring job {kind}: {e}")))?;
    NewJob::new(kind, payload, start)
        .dedupe(key)
        // A missed period is not worth retrying long: the next one comes.
        .max_attempts(3)
        .enqueue(conn)
        .await
}

/// How far `now` is from this node's clock, in seconds: zero in service,
/// the shift a test applies when it drives time through `now`.
fn shift_secs(now: DateTime<Utc>) -> f64 {
    (now - Utc::now()).num_microseconds().unwrap_or(0) as f64 / 1e6
}

/// Claims up to `limit` due jobs for `node` until `now + lease`, counting
/// an attempt for each. A job is due when it is neither done nor failed,
/// its `run_at` has come and nobody holds a lease on it.
///
/// On PostgreSQL leases are set and compared on the database's clock
/// (`now()`, shifted by however far `now` is from this node's clock), so
/// nodes whose clocks disagree still agree on when a lease runs out. On
/// SQLite (one node) the node's clock is used.
pub async fn claim(
    db: &Database,
    node: &str,
    now: DateTime<Utc>,
    lease: Duration,
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(5));
    let limit = limit.max(1) as i64;
    const COLUMNS: &str = "id, kind, payload, run_at, attempts, max_attempts, locked_by, \
        locked_until, last_error, done_at, failed_at, dedupe_key, created_at";
    match db.backend() {
        DbBackend::Postgres => {
            let shift = shift_secs(now);
            let sql = format!(
                "UPDATE job SET locked_by = $1, \
                   locked_until = now() + make_interval(secs => $2), attempts = attempts + 1 \
                 WHERE id IN (SELECT id FROM job WHERE done_at IS NULL AND failed_at IS NULL \
                   AND run_at <= $3 AND (locked_until IS NULL \
                     OR locked_until < now() + make_interval(secs => $4)) \
                   ORDER BY run_at, id LIMIT $5 FOR UPDATE SKIP LOCKED) \
                 RETURNING {COLUMNS}"
            );
            let stmt = Statement::from_sql_and_values(
                DbBackend::Postgres,
                sql,
                [
                    node.into(),
                    (shift + lease.as_secs_f64()).into(),
                    now.into(),
                    shift.into(),
                    limit.into(),
                ],
            );
            let mut jobs = Entity::find().from_raw_sql(stmt).all(db.conn()).await?;
            jobs.sort_by_key(|j| (j.run_at, j.id));
            Ok(jobs)
        }
        _ => {
            // BEGIN IMMEDIATE: one claimer at a time, so no row is taken twice.
            let tx = db.write().await?;
            let sql = format!(
                "UPDATE job SET locked_by = ?, locked_until = ?, attempts = attempts + 1 \
                 WHERE id IN (SELECT id FROM job WHERE done_at IS NULL AND failed_at IS NULL \
                   AND run_at <= ? AND (locked_until IS NULL OR locked_until < ?) \
                   ORDER BY run_at, id LIMIT ?) \
                 RETURNING {COLUMNS}"
            );
            let stmt = Statement::from_sql_and_values(
                DbBackend::Sqlite,
                sql,
                [
                    node.into(),
                    until.into(),
                    now.into(),
                    now.into(),
                    limit.into(),
                ],
            );
            let mut jobs = Entity::find().from_raw_sql(stmt).all(&tx).await?;
            tx.commit().await?;
            jobs.sort_by_key(|j| (j.run_at, j.id));
            Ok(jobs)
        }
    }
}

/// The rows of one claim: the job as claimed (its id, node and attempt
/// number identify the claim; a node whose lease ran out finds its
/// updates refused).
fn this_claim(job: &Model) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(Column::Id.eq(job.id))
        .add(Column::LockedBy.eq(job.locked_by.clone()))
        .add(Column::Attempts.eq(job.attempts))
        .add(Column::DoneAt.is_null())
        .add(Column::FailedAt.is_null())
}

/// Extends a running job's lease to `now + lease` (on PostgreSQL, on the
/// database's clock as in [`claim`]); false if the claim was lost.
pub async fn renew(
    db: &Database,
    job: &Model,
    now: DateTime<Utc>,
    lease: Duration,
) -> Result<bool, DbErr> {
    let until = match db.backend() {
        DbBackend::Postgres => Expr::cust_with_values(
            "now() + make_interval(secs => $1)",
            [shift_secs(now) + lease.as_secs_f64()],
        ),
        _ => Expr::value(
            now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(5)),
        ),
    };
    let r = Entity::update_many()
        .col_expr(Column::LockedUntil, until)
        .filter(this_claim(job))
        .exec(db.conn())
        .await?;
    Ok(r.rows_affected == 1)
}

/// Gives back `node`'s unfinished claims (on shutdown, once its runner
/// has stopped), so other nodes take them at once rather than after the
/// lease. The interrupted attempt is not counted.
pub async fn release(db: &impl ConnectionTrait, node: &str) -> Result<u64, DbErr> {
    let r = Entity::update_many()
        .col_expr(Column::LockedBy, Expr::value(Option::<String>::None))
        .col_expr(
            Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            Column::Attempts,
            sea_orm::sea_query::ExprTrait::sub(Expr::col(Column::Attempts), 1),
        )
        .filter(Column::LockedBy.eq(node))
        .filter(Column::DoneAt.is_null())
        .filter(Column::FailedAt.is_null())
        .exec(db)
        .await?;
    Ok(r.rows_affected)
}

/// Marks a claimed job done; false if the claim was lost meanwhile.
pub async fn complete(db: &Database, job: &Model, now: DateTime<Utc>) -> Result<bool, DbErr> {
    let r = Entity::update_many()
        .col_expr(Column::DoneAt, Expr::value(now))
        .col_expr(Column::LockedBy, Expr::value(Option::<String>::None))
        .col_expr(
            Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(Column::LastError, Expr::value(Option::<String>::None))
        .filter(this_claim(job))
        .exec(db.conn())
        .await?;
    Ok(r.rows_affected == 1)
}

/// What became of a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Another attempt at this time.
    Retry(DateTime<Utc>),
    /// No attempts left: marked failed.
    Failed,
    /// The claim was lost (the lease ran out and another node took it).
    Lost,
}

/// Records a failed attempt: a retry after [`backoff`], or failure once
/// `max_attempts` are used.
pub async fn fail(
    db: &Database,
    job: &Model,
    error: &str,
    now: DateTime<Utc>,
) -> Result<Failure, DbErr> {
    let error: String = error.chars().take(2000).collect();
    let unlocked = Entity::update_many()
        .col_expr(Column::LockedBy, Expr::value(Option::<String>::None))
        .col_expr(
            Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(Column::LastError, Expr::value(error));
    let (update, outcome) = if job.attempts >= job.max_attempts {
        (
            unlocked.col_expr(Column::FailedAt, Expr::value(now)),
            Failure::Failed,
        )
    } else {
        let at = now
            + chrono::Duration::from_std(backoff(job.attempts))
                .unwrap_or(chrono::Duration::hours(1));
        (
            unlocked.col_expr(Column::RunAt, Expr::value(at)),
            Failure::Retry(at),
        )
    };
    let r = update.filter(this_claim(job)).exec(db.conn()).await?;
    Ok(if r.rows_affected == 1 {
        outcome
    } else {
        Failure::Lost
    })
}

/// Jobs due at `now` that nobody holds (the `jinlin_jobs_due` gauge).
pub async fn count_due(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, DbErr> {
    Entity::find()
        .filter(Column::DoneAt.is_null())
        .filter(Column::FailedAt.is_null())
        .filter(Column::RunAt.lte(now))
        .filter(
            sea_orm::Condition::any()
                .add(Column::LockedUntil.is_null())
                .add(Column::LockedUntil.lt(now)),
        )
        .count(db)
        .await
}

/// Deletes jobs done before `done_before` and failed before
/// `failed_before` (the table would otherwise grow by every recurring run).
pub async fn prune(
    db: &impl ConnectionTrait,
    done_before: DateTime<Utc>,
    failed_before: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let r = Entity::delete_many()
        .filter(
            sea_orm::Condition::any()
                .add(Column::DoneAt.lt(done_before))
                .add(Column::FailedAt.lt(failed_before)),
        )
        .exec(db)
        .await?;
    Ok(r.rows_affected)
}

/// The future a handler returns.
pub type JobFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;
type Handler = Arc<dyn Fn(Database, i64, serde_json::Value) -> JobFuture + Send + Sync>;

/// The handlers of job kinds, collected from every capability (as `Routes`
/// collects their routes) and handed to the node's [`JobRunner`].
#[derive(Clone, Default)]
pub struct JobHandlers {
    handlers: HashMap<String, Handler>,
    recurring: Vec<(String, Duration)>,
}

impl JobHandlers {
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs jobs of `kind` with `handler(db, payload)`. An `Err` is
    /// retried with backoff; its text is kept in `last_error`.
    pub fn add<F, Fut>(mut self, kind: &str, handler: F) -> Self
    where
        F: Fn(Database, serde_json::Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.handlers.insert(
            kind.to_string(),
            Arc::new(move |db, _id, payload| Box::pin(handler(db, payload)) as JobFuture),
        );
        self
    }

    /// As [`JobHandlers::add`], the handler also given the job's id (the
    /// same on every attempt: an idempotency key for the outside world).
    pub fn add_with_id<F, Fut>(mut self, kind: &str, handler: F) -> Self
    where
        F: Fn(Database, i64, serde_json::Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.handlers.insert(
            kind.to_string(),
            Arc::new(move |db, id, payload| Box::pin(handler(db, id, payload)) as JobFuture),
        );
        self
    }

    /// Runs `handler` once every `every` (across all nodes): each runner
    /// enqueues the current period's job under a dedupe key.
    pub fn every<F, Fut>(mut self, kind: &str, every: Duration, handler: F) -> Self
    where
        F: Fn(Database, serde_json::Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.recurring.push((kind.to_string(), every));
        self.add(kind, handler)
    }

    /// Both sets; `other`'s handler wins a kind both define.
    pub fn merge(mut self, other: JobHandlers) -> Self {
        self.handlers.extend(other.handlers);
        self.recurring.extend(other.recurring);
        self
    }

    pub fn kinds(&self) -> impl Iterator<Item = &str> {
        self.handlers.keys().map(String::as_str)
    }
}

/// The recurring job that removes ended sessions.
pub const SESSIONS_PRUNE: &str = "sessions.prune";

/// The kernel's own recurring jobs: seal new audit entries into the hash
/// chain every ten seconds, remove ended sessions every hour, and drop old
/// finished jobs once a day.
pub fn kernel_handlers() -> JobHandlers {
    JobHandlers::new()
        .every(
            crate::audit::chain::SEAL_JOB,
            crate::audit::chain::SEAL_EVERY,
            |db, _| async move {
                crate::audit::chain::seal(&db)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            },
        )
        .every(
            SESSIONS_PRUNE,
            Duration::from_secs(3600),
            |db, _| async move {
                let tx = db.write().await.map_err(|e| e.to_string())?;
                let removed = crate::auth::session::prune(&tx, Utc::now())
                    .await
                    .map_err(|e| e.to_string())?;
                tx.commit().await.map_err(|e| e.to_string())?;
                tracing::debug!(removed, "ended sessions removed");
                Ok(())
            },
        )
        .every(
            "jobs.prune",
            Duration::from_secs(24 * 3600),
            |db, _| async move {
                let now = Utc::now();
                prune(
                    db.conn(),
                    now - chrono::Duration::days(7),
                    now - chrono::Duration::days(30),
                )
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
            },
        )
}

/// How a node's runner behaves.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Names this node in `locked_by`.
    pub node: String,
    pub poll_interval: Duration,
    /// How long a claim holds before another node may take the job; a
    /// running job's lease is renewed every third of it.
    pub lease: Duration,
    /// Jobs claimed at once.
    pub batch: u64,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        RunnerConfig {
            node: format!(
                "{}-{}",
                std::env::var("HOSTNAME").unwrap_or_else(|_| "node".into()),
                uuid::Uuid::new_v4().simple()
            ),
            poll_interval: Duration::from_millis(1000),
            lease: Duration::from_secs(300),
            batch: 16,
        }
    }
}

/// One node's worker: polls for due jobs, runs them, records the outcome.
#[derive(Clone)]
pub struct JobRunner {
    db: Database,
    handlers: Arc<JobHandlers>,
    config: RunnerConfig,
    /// Set when the node shuts down: claim nothing more.
    stop: Arc<tokio::sync::watch::Sender<bool>>,
    /// The period of each recurring kind this node has seen queued, so
    /// each poll does not try the insert again: on SQLite even an insert
    /// that does nothing waits for the write lock, beside the writer.
    scheduled: Arc<std::sync::Mutex<HashMap<String, String>>>,
}

/// What one pass of the runner did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub claimed: usize,
    pub done: usize,
    pub retried: usize,
    pub failed: usize,
}

impl JobRunner {
    pub fn new(db: Database, handlers: JobHandlers, config: RunnerConfig) -> Self {
        JobRunner {
            db,
            handlers: Arc::new(handlers),
            config,
            stop: Arc::new(tokio::sync::watch::Sender::new(false)),
            scheduled: Arc::default(),
        }
    }

    fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    pub fn node(&self) -> &str {
        &self.config.node
    }

    /// Enqueues the current period of every recurring kind (idempotent
    /// across nodes).
    pub async fn schedule_recurring(&self, now: DateTime<Utc>) -> Result<(), DbErr> {
        for (kind, every) in &self.handlers.recurring {
            let (period, _) = period_key(kind, *every, now);
            let scheduled = || self.scheduled.lock().unwrap_or_else(|e| e.into_inner());
            if scheduled().get(kind) == Some(&period) {
                continue;
            }
            schedule_every(self.db.conn(), kind, *every, now).await?;
            scheduled().insert(kind.clone(), period);
        }
        Ok(())
    }

    /// One pass as if the clock read `now`: claims a batch of due jobs and
    /// runs them concurrently. Tests drive time through `now`.
    pub async fn run_due_at(&self, now: DateTime<Utc>) -> Result<Pass, DbErr> {
        // The lease is measured from before the claim, never from later.
        let claimed_at = tokio::time::Instant::now();
        let jobs = claim(
            &self.db,
            &self.config.node,
            now,
            self.config.lease,
            self.config.batch,
        )
        .await?;
        let mut pass = Pass {
            claimed: jobs.len(),
            ..Pass::default()
        };
        let mut running = tokio::task::JoinSet::new();
        for job in jobs {
            let runner = self.clone();
            running.spawn(async move { runner.run_one(job, now, claimed_at).await });
        }
        // Every job of the batch runs to its end even if recording one
        // outcome failed (dropping the set would abort the others).
        let mut error = None;
        while let Some(outcome) = running.join_next().await {
            match outcome {
                Ok(Ok(Outcome::Done)) => pass.done += 1,
                Ok(Ok(Outcome::Retry)) => pass.retried += 1,
                Ok(Ok(Outcome::Failed)) => pass.failed += 1,
                Ok(Ok(Outcome::Lost)) => {}
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "cannot record a job's outcome");
                    error.get_or_insert(e);
                }
                Err(e) => tracing::error!(error = %e, "job task panicked or was cancelled"),
            }
        }
        match error {
            Some(e) => Err(e),
            None => Ok(pass),
        }
    }

    /// One pass at the current time.
    pub async fn run_due(&self) -> Result<Pass, DbErr> {
        self.run_due_at(Utc::now()).await
    }

    async fn run_one(
        &self,
        job: Model,
        now: DateTime<Utc>,
        claimed_at: tokio::time::Instant,
    ) -> Result<Outcome, DbErr> {
        let kind = job.kind.clone();
        let result = if job.attempts > job.max_attempts {
            // Its last attempt's node died: do not run it again.
            Err("lease expired on the last attempt".to_string())
        } else if let Some(handler) = self.handlers.handlers.get(&job.kind).cloned() {
            match serde_json::from_str(&job.payload) {
                Ok(payload) => {
                    let work = handler(self.db.clone(), job.id, payload);
                    match self.run_with_lease(&job, work, now, claimed_at).await {
                        Some(result) => result,
                        None => {
                            // Whoever holds the job now records its outcome.
                            tracing::warn!(job = job.id, kind, "job's lease lost; stopped");
                            return Ok(Outcome::Lost);
                        }
                    }
                }
                Err(e) => Err(format!("payload is not JSON: {e}")),
            }
        } else {
            Err(format!("no handler for job kind {kind}"))
        };
        // The clock moved on while the handler ran (real time), or stands
        // still (tests); never record before the claim.
        let finished = Utc::now().max(now);
        match result {
            Ok(()) => {
                if complete(&self.db, &job, finished).await? {
                    metrics::counter!("jinlin_jobs_done_total", "kind" => kind).increment(1);
                    Ok(Outcome::Done)
                } else {
                    tracing::warn!(job = job.id, kind, "job finished after its lease was lost");
                    Ok(Outcome::Lost)
                }
            }
            Err(error) => match fail(&self.db, &job, &error, finished).await? {
                Failure::Retry(at) => {
                    tracing::warn!(job = job.id, kind, attempt = job.attempts, %error, retry_at = %at, "job failed; retrying");
                    metrics::counter!("jinlin_jobs_retried_total", "kind" => kind).increment(1);
                    Ok(Outcome::Retry)
                }
                Failure::Failed => {
                    tracing::error!(job = job.id, kind, attempts = job.attempts, %error, "job failed for good");
                    metrics::counter!("jinlin_jobs_failed_total", "kind" => kind).increment(1);
                    Ok(Outcome::Failed)
                }
                Failure::Lost => Ok(Outcome::Lost),
            },
        }
    }

    /// Runs the handler while renewing the lease. `None` when the claim
    /// is lost: another node took the job, or the lease is about to run out
    /// because renewals failed. The work is then dropped, and the job left
    /// to whoever holds it next.
    async fn run_with_lease(
        &self,
        job: &Model,
        work: JobFuture,
        now: DateTime<Utc>,
        claimed_at: tokio::time::Instant,
    ) -> Option<Result<(), String>> {
        let lease = self.config.lease;
        let every = (lease / 3).max(Duration::from_millis(10));
        // Stop a sixth of the lease before it ends: another node may take
        // the job from then on.
        let margin = lease / 6;
        let mut held_until = claimed_at + lease;
        tokio::pin!(work);
        let mut ticker = tokio::time::interval(every);
        ticker.tick().await;
        loop {
            tokio::select! {
                result = &mut work => return Some(result),
                _ = tokio::time::sleep_until(held_until - margin) => return None,
                _ = ticker.tick() => {
                    let asked = tokio::time::Instant::now();
                    let at = now + chrono::Duration::from_std(asked - claimed_at).unwrap_or_default();
                    match renew(&self.db, job, at, lease).await {
                        Ok(true) => held_until = asked + lease,
                        Ok(false) => return None,
                        Err(e) => tracing::warn!(job = job.id, error = %e, "cannot renew a job's lease"),
                    }
                }
            }
        }
    }

    /// One poll as if the clock read `now`: schedules recurring work,
    /// updates the due-jobs gauge, then runs batches until none is full.
    pub async fn tick_at(&self, now: DateTime<Utc>) -> Result<Pass, DbErr> {
        // Neither stops the due jobs from running.
        if let Err(e) = self.schedule_recurring(now).await {
            tracing::warn!(error = %e, "cannot schedule recurring jobs");
        }
        match count_due(self.db.conn(), now).await {
            Ok(due) => metrics::gauge!("jinlin_jobs_due").set(due as f64),
            Err(e) => tracing::warn!(error = %e, "cannot count due jobs"),
        }
        let mut total = Pass::default();
        loop {
            if self.stopping() {
                return Ok(total);
            }
            let pass = self.run_due_at(now.max(Utc::now())).await?;
            total.claimed += pass.claimed;
            total.done += pass.done;
            total.retried += pass.retried;
            total.failed += pass.failed;
            if (pass.claimed as u64) < self.config.batch {
                return Ok(total);
            }
        }
    }

    /// Polls until told to stop (see [`JobRunner::start`]), or until the
    /// task is dropped or aborted.
    pub async fn run(self) {
        let mut ticker = tokio::time::interval(self.config.poll_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut stop = self.stop.subscribe();
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop.wait_for(|stop| *stop) => return,
            }
            if self.stopping() {
                return;
            }
            if let Err(e) = self.tick_at(Utc::now()).await {
                tracing::warn!(error = %e, "job runner poll failed");
            }
        }
    }

    /// Starts [`JobRunner::run`] on the runtime; aborting the handle stops
    /// it (a job in flight is then taken again after its lease). Prefer
    /// [`JobRunner::start`], which can stop cleanly.
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tracing::info!(node = %self.config.node, kinds = ?self.handlers.kinds().collect::<Vec<_>>(), "job runner started");
        tokio::spawn(self.run())
    }

    /// Starts the runner; [`RunningJobs::shutdown`] stops it.
    pub fn start(self) -> RunningJobs {
        let stop = self.stop.clone();
        let db = self.db.clone();
        let node = self.config.node.clone();
        RunningJobs {
            task: self.spawn(),
            stop,
            db,
            node,
        }
    }
}

/// A started runner (see [`JobRunner::start`]).
pub struct RunningJobs {
    task: tokio::task::JoinHandle<()>,
    stop: Arc<tokio::sync::watch::Sender<bool>>,
    db: Database,
    node: String,
}

impl RunningJobs {
    /// Stops claiming, lets the jobs in flight finish for up to `grace`
    /// (then drops them), and releases the node's unfinished claims so
    /// other nodes take them at once. Returns how many were released.
    pub async fn shutdown(mut self, grace: Duration) -> Result<u64, DbErr> {
        self.stop.send_replace(true);
        if tokio::time::timeout(grace, &mut self.task).await.is_err() {
            tracing::warn!(node = %self.node, "jobs still running at shutdown; stopping them");
            self.task.abort();
            let _ = (&mut self.task).await;
        }
        let released = release(self.db.conn(), &self.node).await?;
        tracing::info!(node = %self.node, released, "job runner stopped");
        Ok(released)
    }
}

enum Outcome {
    Done,
    Retry,
    Failed,
    Lost,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        assert_eq!(backoff(1), Duration::from_secs(10));
        assert_eq!(backoff(2), Duration::from_secs(20));
        assert_eq!(backoff(3), Duration::from_secs(40));
        assert_eq!(backoff(12), BACKOFF_CAP);
        assert_eq!(backoff(i32::MAX), BACKOFF_CAP);
        assert_eq!(backoff(0), BACKOFF_BASE);
        for n in 1..40 {
            assert!(backoff(n) <= backoff(n + 1));
        }
    }

    #[test]
    fn a_period_has_one_key() {
        let every = Duration::from_secs(60);
        let a = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let b = a + chrono::Duration::seconds(59);
        let c = a + chrono::Duration::seconds(60);
        assert_eq!(period_key("x", every, a), period_key("x", every, b));
        assert_ne!(period_key("x", every, a).0, period_key("x", every, c).0);
        assert_eq!(period_key("x", every, b).1, a);
    }
}
