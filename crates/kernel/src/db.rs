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
//! A PostgreSQL database may have a streaming replica for heavy read-only
//! reporting ([`Database::reads`]); see [`replica`].

pub mod replica;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jinlin_migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};

#[derive(Clone, Debug)]
pub struct Database {
    conn: DatabaseConnection,
    /// SQLite's one writer; PostgreSQL writes through the pool.
    writer: Option<DatabaseConnection>,
    /// Tells this connected database from others in the same process.
    id: u64,
    /// A streaming replica for reporting reads, when configured.
    replica: Option<Arc<replica::Replica>>,
}

static CONNECTED: AtomicU64 = AtomicU64::new(0);

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
        let options = |connections: u32| {
            let mut options = ConnectOptions::new(url.to_string());
            // sqlx tests each pooled connection before handing it out, so
            // connections broken by a database restart are replaced.
            options
                .max_connections(connections)
                .min_connections(1)
                .acquire_timeout(acquire_timeout)
                .sqlx_logging(false);
            if url.starts_with("sqlite:") {
                options.map_sqlx_sqlite_opts(|o| {
                    o.journal_mode(SqliteJournalMode::Wal)
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
            writer = Some(sea_orm::Database::connect(options(1)).await?);
        } else if !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
            return Err(DbErr::Custom(format!(
                "unsupported database URL {}: use postgres://… or leave it empty for the embedded SQLite file",
                crate::config::redact_url(url)
            )));
        }
        let conn = sea_orm::Database::connect(options(max_connections.max(1))).await?;
        Ok(Database {
            conn,
            writer,
            id: CONNECTED.fetch_add(1, Ordering::Relaxed),
            replica: None,
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
                .connect_lazy(true)
                .sqlx_logging(false);
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
    pub async fn write(&self) -> Result<DatabaseTransaction, DbErr> {
        self.writer
            .as_ref()
            .unwrap_or(&self.conn)
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
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
    /// comes round, and may scan whole tables meanwhile. SQLite keeps no such
    /// statistics unless asked, and plans well without them.
    pub async fn refresh_statistics(&self) -> Result<(), DbErr> {
        if self.backend() == DbBackend::Postgres {
            self.conn.execute_unprepared("ANALYZE").await?;
        }
        Ok(())
    }

    pub async fn close(self) -> Result<(), DbErr> {
        if let Some(r) = &self.replica {
            r.close().await;
        }
        if let Some(writer) = self.writer {
            writer.close().await?;
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
}
