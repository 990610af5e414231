//! The epoch of the principals' tables on PostgreSQL, where several nodes
//! write one database: a row that every commit changing those tables moves
//! on, in the same transaction (the triggers of migration m0031).
//!
//! A request may be served a principal kept at epoch `e` when a read of the
//! row that *began after the request arrived* still finds `e`: every commit
//! that ended before the request arrived, on any node, is in that read's
//! snapshot, so none of them changed what the principal was read from.
//!
//! One read serves every request waiting when it begins, so the row costs
//! one statement per round trip of the database, not one per request: a
//! request asks for the next read to begin, and waits for its answer. The
//! reads run on a connection of their own, so that a busy pool does not
//! hold them up.

use std::sync::Mutex;
use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use tokio::sync::{Notify, watch};

/// The statement that reads the epoch.
pub const READ_EPOCH: &str = "SELECT value FROM principal_epoch WHERE id = 1";

/// How long a request waits for a read before it reads its principal as
/// if nothing were kept.
const READ_TIMEOUT: Duration = Duration::from_secs(2);

/// The reads of one database's epoch.
#[derive(Debug)]
pub struct EpochReads {
    /// How many reads have begun, and whether a request waits for the next.
    begun: Mutex<Begun>,
    wake: Notify,
    /// The last read that ended: its number and what it found.
    ended: watch::Sender<Ended>,
}

#[derive(Debug, Default)]
struct Begun {
    count: u64,
    wanted: bool,
}

#[derive(Debug, Clone, Copy, Default)]
struct Ended {
    number: u64,
    epoch: Option<u64>,
}

/// The task that reads the epoch; stopped when dropped.
#[derive(Debug)]
pub struct Reader(tokio::task::JoinHandle<()>);

impl Drop for Reader {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl EpochReads {
    /// Starts reading the epoch of `conn` (a pool of its own) whenever a
    /// request asks; the reads stop when the [`Reader`] is dropped.
    pub fn start(conn: DatabaseConnection) -> (std::sync::Arc<Self>, Reader) {
        let reads = std::sync::Arc::new(EpochReads {
            begun: Mutex::new(Begun::default()),
            wake: Notify::new(),
            ended: watch::channel(Ended::default()).0,
        });
        let task = {
            let reads = std::sync::Arc::clone(&reads);
            tokio::spawn(async move {
                loop {
                    reads.wake.notified().await;
                    let number = {
                        let Ok(mut begun) = reads.begun.lock() else {
                            return;
                        };
                        if !begun.wanted {
                            continue;
                        }
                        begun.wanted = false;
                        begun.count += 1;
                        begun.count
                    };
                    let epoch = match tokio::time::timeout(READ_TIMEOUT, read(&conn)).await {
                        Ok(Ok(epoch)) => Some(epoch),
                        Ok(Err(error)) => {
                            tracing::debug!(%error, "the principals' epoch was not read");
                            None
                        }
                        Err(_) => None,
                    };
                    metrics::counter!("jinlin_principal_epoch_reads_total").increment(1);
                    reads.ended.send_replace(Ended { number, epoch });
                }
            })
        };
        (reads, Reader(task))
    }

    /// The epoch as a read begun after this call found it; none if the
    /// read failed.
    pub async fn epoch(&self) -> Option<u64> {
        let mut ended = self.ended.subscribe();
        let wanted = {
            let mut begun = self.begun.lock().ok()?;
            begun.wanted = true;
            // A read under way began before this call: the next one.
            begun.count + 1
        };
        self.wake.notify_one();
        let found = tokio::time::timeout(READ_TIMEOUT, ended.wait_for(|e| e.number >= wanted))
            .await
            .ok()?
            .ok()?;
        found.epoch
    }
}

impl EpochReads {
    /// How many reads have begun.
    pub fn reads_begun(&self) -> u64 {
        self.begun.lock().map_or(0, |b| b.count)
    }
}

async fn read(conn: &DatabaseConnection) -> Result<u64, sea_orm::DbErr> {
    let row = conn
        .query_one_raw(Statement::from_string(DbBackend::Postgres, READ_EPOCH))
        .await?
        .ok_or_else(|| sea_orm::DbErr::Custom("principal_epoch has no row".into()))?;
    let value: i64 = row.try_get_by_index(0)?;
    Ok(value as u64)
}

/// How a database tells whether a kept principal is still true.
#[derive(Debug, Clone)]
pub enum Epochs {
    /// SQLite: this process's commits, watched as they end.
    Commits(std::sync::Arc<super::changes::Changes>),
    /// PostgreSQL: the epoch's row, read for the requests waiting.
    Reads(std::sync::Arc<EpochReads>),
}
