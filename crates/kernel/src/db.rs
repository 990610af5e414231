//! The database: one connection type for SQLite and PostgreSQL.
//!
//! SQLite runs in WAL mode with a busy timeout, and every write transaction
//! starts with `BEGIN IMMEDIATE` so it holds the write lock from the first
//! statement (a deferred transaction that reads and then writes can fail
//! with SQLITE_BUSY without waiting).
//!
//! SQLite allows one writer at a time, so its write transactions take their
//! own single connection and queue for it in the process, first come first
//! served. Left to SQLite's busy handler, writers that find the lock taken
//! sleep and retry, and under contention spend more time asleep than
//! writing.
//!
//! Commits do not checkpoint SQLite's write-ahead log: a task does, every
//! second, off the writer ([`CHECKPOINT_EVERY`]).
//!
//! A PostgreSQL database may have a streaming replica for heavy read-only
//! reporting ([`Database::reads`]); see [`replica`].

pub mod changes;
pub mod epoch;
pub mod kept;
pub mod replica;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use jinlin_migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};

/// The bound values of a hand-written statement, with placeholders
/// numbered in order of appearance: `$n` on PostgreSQL, `?` on SQLite
/// (whose anonymous placeholders bind in the same order).
pub struct Params {
    backend: DbBackend,
    values: Vec<sea_orm::Value>,
}

impl Params {
    pub fn new(backend: DbBackend) -> Self {
        Params {
            backend,
            values: Vec::new(),
        }
    }

    /// Binds `v` and returns its placeholder.
    pub fn bind(&mut self, v: impl Into<sea_orm::Value>) -> String {
        self.values.push(v.into());
        match self.backend {
            DbBackend::Postgres => format!("${}", self.values.len()),
            _ => "?".into(),
        }
    }

    pub fn statement(self, sql: String) -> Statement {
        Statement::from_sql_and_values(self.backend, sql, self.values)
    }
}

/// Every statement is logged with its time at debug level (target
/// `sqlx::query`: `RUST_LOG=info,sqlx::query=debug` shows which of a
/// request's statements take the time); a statement over a second is
/// logged at warn, which the default filter shows.
fn statement_logging(options: &mut ConnectOptions) {
    options
        .sqlx_logging(true)
        .sqlx_logging_level(log::LevelFilter::Debug)
        .sqlx_slow_statements_logging_settings(log::LevelFilter::Warn, Duration::from_secs(1));
}

/// The pool size when none is configured. SQLite: four connections per
/// core. Each is a thread of its own; reads are CPU work on pages in
/// memory, and more threads than that only switch between each other
/// (measured on 2 cores: `board` 8,836–9,019 requests/s with 8 connections,
/// 5,769–8,017/s with 16). PostgreSQL: 16, each a server process.
pub fn default_max_connections(url: &str) -> u32 {
    if url.starts_with("sqlite:") {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        (4 * cores).clamp(4, 64) as u32
    } else {
        16
    }
}

/// How long a pooled PostgreSQL connection may sit idle before it is
/// tested on its way out of the pool.
pub const TEST_IF_IDLE_FOR: Duration = Duration::from_secs(5);

/// When a pooled connection is tested before use. sqlx tests every one it
/// hands out by default: a round trip before each statement (to the
/// connection's thread on SQLite, to the server on PostgreSQL), and another
/// when it is given back, which sqlx always does (a connection that fails
/// it is dropped). A SQLite connection is a file in this process and never
/// breaks, so it is not tested on the way out. A PostgreSQL connection is
/// tested only after `TEST_IF_IDLE_FOR` idle, when a restart or a proxy may
/// have dropped it since it was given back; one in steady use that breaks
/// fails its statement (answered 503) and is dropped when given back.
fn pool_checks(options: &mut ConnectOptions, url: &str) {
    if url.starts_with("sqlite:") {
        options.test_before_acquire(false);
    } else {
        options.test_before_acquire_if_idle_for(TEST_IF_IDLE_FOR);
    }
}

/// PostgreSQL's JIT off for this pool's sessions. It compiles a
/// statement's expressions once the plan's cost passes `jit_above_cost`,
/// which the cockpit's counts over a community's dwellings do: measured on
/// the demo district, the household-reach count took 98 ms of which 56 ms
/// was compiling, and 18 ms without. Every statement here is short; none
/// runs long enough to repay the compiling.
fn no_jit(options: &mut ConnectOptions) {
    options.map_sqlx_postgres_opts(|o| o.options([("jit", "off")]));
}

#[derive(Clone, Debug)]
pub struct Database {
    conn: DatabaseConnection,
    /// SQLite's one writer; PostgreSQL writes through the pool.
    writer: Option<DatabaseConnection>,
    /// Tells this connected database from others in the same process.
    id: u64,
    /// A streaming replica for reporting reads, when configured.
    replica: Option<Arc<replica::Replica>>,
    /// Callers waiting in `write` for their transaction to begin.
    waiting_writers: Arc<AtomicUsize>,
    /// SQLite's checkpoints, stopped with the last clone.
    checkpoints: Option<Arc<Checkpoints>>,
    /// How a kept principal is known to be still true: SQLite's commits
    /// watched, PostgreSQL's epoch row read.
    epochs: Option<epoch::Epochs>,
    /// PostgreSQL's reads of the epoch, stopped with the last clone, and
    /// their connection.
    epoch_reader: Option<(Arc<epoch::Reader>, DatabaseConnection)>,
}

/// How often SQLite's write-ahead log is copied into the database file.
/// Left to SQLite, the commit that takes the log past 1,000 pages does it
/// inside that commit: on the one writer, under load one write in a few
/// hundred waited for the copy and its sync, and every write queued
/// behind it. Here commits never checkpoint (`wal_autocheckpoint = 0`);
/// a task does, on a pooled read connection, in PASSIVE mode (it waits
/// for no reader and no writer, and copies what no reader still needs).
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// The task that checkpoints a SQLite database; aborted when dropped.
#[derive(Debug)]
struct Checkpoints(tokio::task::JoinHandle<()>);

impl Drop for Checkpoints {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What one checkpoint found and did, in pages of the write-ahead log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// Pages in the log.
    pub logged: i64,
    /// Pages of it now in the database file.
    pub copied: i64,
}

/// Checkpoints `conn` every [`CHECKPOINT_EVERY`] until aborted.
fn checkpoint_in_background(conn: DatabaseConnection) -> Checkpoints {
    Checkpoints(tokio::spawn(async move {
        let mut every = tokio::time::interval(CHECKPOINT_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            match checkpoint(&conn).await {
                Ok(c) => {
                    metrics::gauge!("jinlin_sqlite_wal_pages").set(c.logged as f64);
                }
                Err(error) => tracing::debug!(%error, "SQLite checkpoint did not run"),
            }
        }
    }))
}

/// One PASSIVE checkpoint of a SQLite database.
async fn checkpoint(conn: &DatabaseConnection) -> Result<Checkpoint, DbErr> {
    let row = conn
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA wal_checkpoint(PASSIVE)",
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("wal_checkpoint returned no row".into()))?;
    Ok(Checkpoint {
        logged: row.try_get_by_index(1)?,
        copied: row.try_get_by_index(2)?,
    })
}

static CONNECTED: AtomicU64 = AtomicU64::new(0);

/// How many callers may wait at once for a write transaction. Under
/// overload a queue without bound makes every write wait for all those
/// before it (on SQLite, seconds, until the busy timeout) and then fail;
/// past this many the write is refused at once (`is_overloaded`,
/// answered 503 `overloaded` with Retry-After), and the ones admitted are
/// served in the usual few milliseconds each.
pub const MAX_WAITING_WRITERS: usize = 64;

/// How long a write waits for its turn: on SQLite for the one writer, on
/// PostgreSQL for any lock it needs (a vote's row, say, which every ballot
/// in that vote takes). A write that would wait longer is refused as
/// overloaded, so under overload writes fail fast instead of every one
/// waiting for all those queued before it. Unloaded, a write waits
/// milliseconds.
pub const WRITE_WAIT: Duration = Duration::from_secs(2);

const WRITE_QUEUE_FULL: &str = "the write queue is full";
const WRITE_WAITED_TOO_LONG: &str = "the write waited too long for its turn";

/// Whether `err` is a write refused for load: `MAX_WAITING_WRITERS` were
/// already waiting, or it waited `WRITE_WAIT` for the SQLite writer or for
/// a PostgreSQL lock (SQLSTATE 55P03, lock_not_available, which
/// `lock_timeout` raises). Answered 503 `overloaded` with Retry-After.
pub fn is_overloaded(err: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    match err {
        DbErr::Custom(m) => m == WRITE_QUEUE_FULL || m == WRITE_WAITED_TOO_LONG,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            matches!(e.as_ref(), sea_orm::sqlx::Error::Database(db) if db.code().as_deref() == Some("55P03"))
        }
        _ => false,
    }
}

/// A place in the write queue, given up when dropped.
struct WaitingWriter<'a>(&'a AtomicUsize);

impl Drop for WaitingWriter<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// How long a SQLite writer waits for the lock before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a PostgreSQL request waits for a connection by default.
pub const POSTGRES_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

impl Database {
    /// Connects to `postgres://…` or `sqlite://…` (creating the SQLite file
    /// and its directory when missing).
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, DbErr> {
        Self::connect_with(url, max_connections, POSTGRES_ACQUIRE_TIMEOUT).await
    }

    /// As [`Database::connect`], with the time a PostgreSQL request waits
    /// for a pooled connection. While the server is down each new connection
    /// is refused and retried until then, so this bounds how long a request
    /// hangs before it answers 503. SQLite waits for its write lock instead
    /// (`SQLITE_BUSY_TIMEOUT`).
    pub async fn connect_with(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> Result<Self, DbErr> {
        let acquire_timeout = if url.starts_with("sqlite:") {
            SQLITE_BUSY_TIMEOUT
        } else {
            acquire_timeout.max(Duration::from_millis(100))
        };
        let changes = url
            .starts_with("sqlite:")
            .then(|| Arc::new(changes::Changes::new()));
        let options = |connections: u32| {
            let mut options = ConnectOptions::new(url.to_string());
            options
                .max_connections(connections)
                .min_connections(1)
                .acquire_timeout(acquire_timeout);
            if let Some(changes) = &changes {
                let changes = Arc::clone(changes);
                options.map_sqlx_sqlite_pool_opts(move |o| {
                    let changes = Arc::clone(&changes);
                    o.after_connect(move |conn, _| {
                        let changes = Arc::clone(&changes);
                        Box::pin(async move { changes.watch(conn).await })
                    })
                });
            }
            pool_checks(&mut options, url);
            statement_logging(&mut options);
            if url.starts_with("postgres") {
                no_jit(&mut options);
            }
            if url.starts_with("sqlite:") {
                options.map_sqlx_sqlite_opts(|o| {
                    o.journal_mode(SqliteJournalMode::Wal)
                        // Checkpoints run off the writer (`checkpoints`).
                        .pragma("wal_autocheckpoint", "0")
                        .synchronous(SqliteSynchronous::Normal)
                        .busy_timeout(SQLITE_BUSY_TIMEOUT)
                        .foreign_keys(true)
                        .create_if_missing(true)
                });
            }
            options
        };
        let mut writer = None;
        if url.starts_with("sqlite:") {
            if let Some(dir) = sqlite_file(url).and_then(|f| f.parent().map(|p| p.to_path_buf()))
                && !dir.as_os_str().is_empty()
            {
                std::fs::create_dir_all(&dir).map_err(|e| {
                    DbErr::Custom(format!(
                        "cannot create data directory {}: {e}",
                        dir.display()
                    ))
                })?;
            }
            if sqlite_file(url).is_none() {
                return Err(DbErr::Custom(format!(
                    "{url} names no file: give the SQLite database a file path"
                )));
            }
            // Waiting for the writer is waiting for one's turn to write.
            let mut writer_options = options(1);
            writer_options.acquire_timeout(WRITE_WAIT);
            writer = Some(sea_orm::Database::connect(writer_options).await?);
        } else if !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
            return Err(DbErr::Custom(format!(
                "unsupported database URL {}: use postgres://… or leave it empty for the embedded SQLite file",
                crate::config::redact_url(url)
            )));
        }
        let conn = sea_orm::Database::connect(options(max_connections.max(1))).await?;
        let checkpoints = writer
            .is_some()
            .then(|| Arc::new(checkpoint_in_background(conn.clone())));
        let (epochs, epoch_reader) = match &changes {
            Some(changes) => (Some(epoch::Epochs::Commits(Arc::clone(changes))), None),
            None => {
                // A connection of its own, made at the first read.
                let mut reads = options(1);
                reads
                    .min_connections(0)
                    .connect_lazy(true)
                    .idle_timeout(Duration::from_secs(60));
                let reads_conn = sea_orm::Database::connect(reads).await?;
                let (reads, reader) = epoch::EpochReads::start(reads_conn.clone());
                (
                    Some(epoch::Epochs::Reads(reads)),
                    Some((Arc::new(reader), reads_conn)),
                )
            }
        };
        Ok(Database {
            conn,
            writer,
            id: CONNECTED.fetch_add(1, Ordering::Relaxed),
            replica: None,
            waiting_writers: Arc::new(AtomicUsize::new(0)),
            checkpoints,
            epochs,
            epoch_reader,
        })
    }

    /// Adds a streaming replica of this (PostgreSQL) database for
    /// [`Database::reads`], and starts checking it. It is connected lazily:
    /// an unreachable replica at start leaves the reads on the primary
    /// until it answers. Reads go to it while it lags at most `max_lag`.
    pub async fn with_replica(
        mut self,
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
        max_lag: Duration,
    ) -> Result<Self, DbErr> {
        if self.backend() != DbBackend::Postgres {
            return Err(DbErr::Custom(
                "database_replica_url needs a PostgreSQL database_url: the embedded SQLite \
                 database has no replicas (remove database_replica_url)"
                    .into(),
            ));
        }
        if !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
            return Err(DbErr::Custom(format!(
                "unsupported replica URL {}: use postgres://… of a standby of the primary",
                crate::config::redact_url(url)
            )));
        }
        let options = |connections: u32| {
            let mut options = ConnectOptions::new(url.to_string());
            options
                .max_connections(connections)
                .min_connections(0)
                .acquire_timeout(acquire_timeout.max(Duration::from_millis(100)))
                .connect_lazy(true);
            pool_checks(&mut options, url);
            statement_logging(&mut options);
            no_jit(&mut options);
            options
        };
        // Lazy: this only builds the pools.
        let conn = sea_orm::Database::connect(options(max_connections.max(1))).await?;
        let probe = sea_orm::Database::connect(options(1)).await?;
        let r = Arc::new(replica::Replica::new(conn, probe, max_lag));
        replica::watch(&r, self.conn.clone());
        self.replica = Some(r);
        Ok(self)
    }

    pub fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    pub fn backend_name(&self) -> &'static str {
        match self.backend() {
            DbBackend::Postgres => "postgres",
            DbBackend::Sqlite => "sqlite",
            _ => "other",
        }
    }

    /// This database's number among those connected in the process (its
    /// clones share it), for state a capability keeps per database.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// How a kept principal is known to be still true.
    pub fn epochs(&self) -> Option<&epoch::Epochs> {
        self.epochs.as_ref()
    }

    /// The epochs of commits to the principals' tables, where this
    /// process watches every one (SQLite).
    pub fn changes(&self) -> Option<&Arc<changes::Changes>> {
        match &self.epochs {
            Some(epoch::Epochs::Commits(changes)) => Some(changes),
            _ => None,
        }
    }

    /// The pool, for reads and single-statement writes.
    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// The connection for heavy read-only reporting (the cockpit, open
    /// data, ledger exports): the replica while it is reachable and within
    /// its lag limit, else the primary. Access checks read the primary
    /// (`conn`); only the figures come from here.
    pub fn reads(&self) -> &DatabaseConnection {
        match &self.replica {
            Some(r) if r.in_use() => {
                metrics::counter!("jinlin_database_reads_total", "served_by" => "replica")
                    .increment(1);
                &r.conn
            }
            _ => {
                metrics::counter!("jinlin_database_reads_total", "served_by" => "primary")
                    .increment(1);
                &self.conn
            }
        }
    }

    /// The replica's state as last checked; none without a replica.
    pub fn replica_status(&self) -> Option<replica::ReplicaStatus> {
        self.replica.as_ref().map(|r| r.status())
    }

    /// Starts a write transaction (on SQLite, on the one writer connection
    /// with the write lock taken up front). Every write that spans rows goes
    /// through one of these.
    /// Refused at once while `MAX_WAITING_WRITERS` others wait, and after
    /// `WRITE_WAIT` for the SQLite writer; on PostgreSQL its statements wait
    /// at most `WRITE_WAIT` for a lock (see [`is_overloaded`]).
    pub async fn write(&self) -> Result<DatabaseTransaction, DbErr> {
        if self.waiting_writers.fetch_add(1, Ordering::AcqRel) >= MAX_WAITING_WRITERS {
            self.waiting_writers.fetch_sub(1, Ordering::AcqRel);
            return Err(DbErr::Custom(WRITE_QUEUE_FULL.into()));
        }
        let _waiting = WaitingWriter(&self.waiting_writers);
        let started = Instant::now();
        let tx = self.begin_write().await;
        // Time to a connection and BEGIN: the pool's queue on PostgreSQL,
        // the one writer's on SQLite.
        metrics::histogram!("jinlin_database_write_begin_seconds")
            .record(started.elapsed().as_secs_f64());
        tx
    }

    async fn begin_write(&self) -> Result<DatabaseTransaction, DbErr> {
        let Some(writer) = &self.writer else {
            let tx = self.conn.begin().await?;
            let wait = WRITE_WAIT.as_millis();
            tx.execute_unprepared(&format!("SET LOCAL lock_timeout = {wait}"))
                .await?;
            return Ok(tx);
        };
        writer
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
            .map_err(|e| match e {
                // The writer's pool times out at `WRITE_WAIT`.
                DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout) => {
                    DbErr::Custom(WRITE_WAITED_TOO_LONG.into())
                }
                e => e,
            })
    }

    /// Applies every pending migration; returns how many ran.
    pub async fn migrate(&self) -> Result<usize, DbErr> {
        let pending = Migrator::get_pending_migrations(&self.conn).await?.len();
        Migrator::up(&self.conn, None).await?;
        Ok(pending)
    }

    /// Round-trips a trivial query; returns the latency.
    pub async fn ping(&self) -> Result<Duration, DbErr> {
        let started = Instant::now();
        self.conn
            .query_one_raw(Statement::from_string(self.backend(), "SELECT 1"))
            .await?;
        Ok(started.elapsed())
    }

    /// Refreshes the planner's statistics after a bulk load. PostgreSQL
    /// otherwise plans with the figures of the empty tables until autovacuum
    /// comes round, and may scan whole tables meanwhile. The vacuum clears
    /// the row versions the load's updates left behind (each dwelling's
    /// reach is raised as contact groups arrive) and marks the pages
    /// all-visible, so index-only scans need not visit the table. SQLite
    /// keeps no such statistics unless asked, and plans well without them.
    pub async fn refresh_statistics(&self) -> Result<(), DbErr> {
        if self.backend() == DbBackend::Postgres {
            self.conn.execute_unprepared("VACUUM (ANALYZE)").await?;
        }
        Ok(())
    }

    /// Checkpoints SQLite's write-ahead log now (PASSIVE); none on
    /// PostgreSQL.
    pub async fn checkpoint(&self) -> Result<Option<Checkpoint>, DbErr> {
        match self.writer {
            Some(_) => checkpoint(&self.conn).await.map(Some),
            None => Ok(None),
        }
    }

    pub async fn close(self) -> Result<(), DbErr> {
        drop(self.checkpoints);
        if let Some(r) = &self.replica {
            r.close().await;
        }
        if let Some(writer) = self.writer {
            writer.close().await?;
        }
        if let Some((reader, conn)) = self.epoch_reader {
            drop(reader);
            conn.close().await?;
        }
        self.conn.close().await
    }
}

fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| std::path::PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_sqlite_file_in_a_url() {
        assert_eq!(
            sqlite_file("sqlite://./data/jinlin.sqlite?mode=rwc"),
            Some("./data/jinlin.sqlite".into())
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
    }

    /// A SQLite database in a directory of its own, kept while the test runs.
    async fn sqlite_db() -> (tempfile::TempDir, Database) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("t.sqlite").display()
        );
        let db = Database::connect(&url, 4).await.unwrap();
        (dir, db)
    }

    /// While one write holds SQLite's writer, `MAX_WAITING_WRITERS` more
    /// wait their turn and the next is refused at once; when the first
    /// commits, every waiting one gets its transaction.
    #[tokio::test]
    async fn writers_past_the_queue_limit_are_refused_at_once() {
        let (_dir, db) = sqlite_db().await;
        let first = db.write().await.unwrap();
        let waiting: Vec<_> = (0..MAX_WAITING_WRITERS)
            .map(|_| {
                let db = db.clone();
                tokio::spawn(async move { db.write().await?.commit().await })
            })
            .collect();
        while db.waiting_writers.load(Ordering::Acquire) < MAX_WAITING_WRITERS {
            tokio::task::yield_now().await;
        }
        // Refused while the first still holds the writer: it did not wait.
        let refused = db.write().await.unwrap_err();
        assert!(is_overloaded(&refused), "{refused}");
        first.commit().await.unwrap();
        for w in waiting {
            w.await.unwrap().unwrap();
        }
        assert_eq!(db.waiting_writers.load(Ordering::Acquire), 0);
        db.write().await.unwrap().commit().await.unwrap();
    }

    /// Commits leave SQLite's write-ahead log alone, on the writer and on
    /// the pool; the background task copies it into the database file.
    #[tokio::test]
    async fn commits_do_not_checkpoint_the_task_does() {
        let (dir, db) = sqlite_db().await;
        let autocheckpoint = |c: &DatabaseConnection| {
            let c = c.clone();
            async move {
                c.query_one_raw(Statement::from_string(
                    DbBackend::Sqlite,
                    "PRAGMA wal_autocheckpoint",
                ))
                .await
                .unwrap()
                .unwrap()
                .try_get_by_index::<i64>(0)
                .unwrap()
            }
        };
        assert_eq!(autocheckpoint(db.writer.as_ref().unwrap()).await, 0);
        assert_eq!(autocheckpoint(&db.conn).await, 0);

        let file = dir.path().join("t.sqlite");
        let size = || std::fs::metadata(&file).unwrap().len();
        let before = size();
        let tx = db.write().await.unwrap();
        tx.execute_unprepared(
            "CREATE TABLE t (x TEXT); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL \
             SELECT i + 1 FROM n WHERE i < 5000) INSERT INTO t SELECT hex(randomblob(100)) FROM n",
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        // About a megabyte written, all of it in the log until the task's
        // next checkpoint (a second at most; waited for, not timed).
        while size() <= before + 500_000 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let now = db.checkpoint().await.unwrap().unwrap();
        assert_eq!(now.copied, now.logged, "{now:?}");
        db.close().await.unwrap();
    }

    /// SQLite is built with the query planner stability guarantee
    /// (`.cargo/config.toml`): without it, every statement with a bound
    /// `LIMIT` is compiled again each time it runs with a new value.
    #[tokio::test]
    async fn plans_do_not_depend_on_bound_values() {
        let (_dir, db) = sqlite_db().await;
        let row = db
            .conn()
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                "SELECT sqlite_compileoption_used('ENABLE_QPSG')",
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.try_get_by_index::<i64>(0).unwrap(), 1);
    }

    /// The epoch of the principals' tables moves with a commit that changed
    /// one of them, on the writer or on the pool, and not before the
    /// commit; other tables and rolled-back changes leave it.
    #[tokio::test]
    async fn commits_to_the_principals_tables_move_the_epoch() {
        let (_dir, db) = sqlite_db().await;
        let changes = Arc::clone(db.changes().unwrap());
        let epoch = || changes.epoch().unwrap();
        db.conn()
            .execute_unprepared("CREATE TABLE session (id TEXT); CREATE TABLE matter (id TEXT)")
            .await
            .unwrap();
        let start = epoch();

        let tx = db.write().await.unwrap();
        tx.execute_unprepared("INSERT INTO matter VALUES ('m')")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(epoch(), start, "another table");

        let tx = db.write().await.unwrap();
        tx.execute_unprepared("INSERT INTO session VALUES ('s')")
            .await
            .unwrap();
        assert_eq!(epoch(), start, "not before the commit");
        tx.commit().await.unwrap();
        assert_eq!(epoch(), start + 1, "the writer's commit");

        db.conn()
            .execute_unprepared("DELETE FROM session WHERE id = 's'")
            .await
            .unwrap();
        assert_eq!(epoch(), start + 2, "a single statement on the pool");

        let tx = db.write().await.unwrap();
        tx.execute_unprepared("INSERT INTO session VALUES ('t')")
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        let tx = db.write().await.unwrap();
        tx.execute_unprepared("INSERT INTO matter VALUES ('n')")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(epoch(), start + 2, "a rolled-back change");
    }

    /// A statement reset before its last row commits on the reset, where
    /// SQLite calls no WAL hook: the commit stays under way (no epoch to
    /// serve by) until the connection's next commit settles it.
    #[tokio::test]
    async fn a_commit_without_its_wal_hook_is_never_missed() {
        let (_dir, db) = sqlite_db().await;
        let changes = Arc::clone(db.changes().unwrap());
        let writer = db.writer.as_ref().unwrap();
        writer
            .execute_unprepared("CREATE TABLE session (id TEXT); CREATE TABLE matter (id TEXT)")
            .await
            .unwrap();
        let start = changes.epoch().unwrap();
        let mut conn = writer.get_sqlite_connection_pool().acquire().await.unwrap();
        // Two rows returned, one fetched: the statement is reset.
        sea_orm::sqlx::query("INSERT INTO session VALUES ('a'), ('b') RETURNING id")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_ne!(changes.epoch(), Some(start), "under way (none), or moved");
        sea_orm::sqlx::query("INSERT INTO matter VALUES ('m')")
            .execute(&mut *conn)
            .await
            .unwrap();
        assert!(changes.epoch().unwrap() > start);
    }

    /// A writer that waits `WRITE_WAIT` for SQLite's writer gives up as
    /// overloaded and leaves the queue; the holder's write is unharmed.
    #[tokio::test]
    async fn a_writer_that_waits_too_long_is_refused() {
        let (_dir, db) = sqlite_db().await;
        let first = db.write().await.unwrap();
        first
            .execute_unprepared("CREATE TABLE t (x INTEGER)")
            .await
            .unwrap();
        let refused = db.write().await.unwrap_err();
        assert!(is_overloaded(&refused), "{refused}");
        assert_eq!(db.waiting_writers.load(Ordering::Acquire), 0);
        first.commit().await.unwrap();
        let next = db.write().await.unwrap();
        next.execute_unprepared("INSERT INTO t VALUES (1)")
            .await
            .unwrap();
        next.commit().await.unwrap();
    }
}
