//! The epoch of the principals' tables on PostgreSQL, where several nodes
//! write one database: a row that every commit changing those tables moves
//! on, in the same transaction (the triggers of migration m0031). Its values
//! never repeat (each is past the last and past the clock in microseconds),
//! so one value names one state of those tables, after a restore too.
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
//! hold them up. While the database does not answer, requests do not wait
//! for the row: they read their principals, and fail, as without it.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};
use tokio::sync::{Notify, watch};

/// The statement that reads the epoch.
pub const READ_EPOCH: &str = "SELECT value FROM principal_epoch WHERE id = 1";

/// How long a request waits for a read before it reads its principal as
/// if nothing were kept.
const READ_TIMEOUT: Duration = Duration::from_secs(1);

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
    pub fn start(conn: DatabaseConnection) -> (Arc<Self>, Reader) {
        Self::start_with(move || {
            let conn = conn.clone();
            async move { read(&conn).await }
        })
    }

    /// As [`EpochReads::start`], with the read given.
    pub fn start_with<R, F>(read: R) -> (Arc<Self>, Reader)
    where
        R: Fn() -> F + Send + 'static,
        F: Future<Output = Result<u64, DbErr>> + Send,
    {
        let reads = Arc::new(EpochReads {
            begun: Mutex::new(Begun::default()),
            wake: Notify::new(),
            ended: watch::channel(Ended::default()).0,
        });
        let task = {
            let reads = Arc::clone(&reads);
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
                    let epoch = match tokio::time::timeout(READ_TIMEOUT, read()).await {
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

    /// The epoch as a read begun after this call found it; none if that
    /// read failed, or at once if the last one did (the next read is asked
    /// for all the same).
    pub async fn epoch(&self) -> Option<u64> {
        let mut ended = self.ended.subscribe();
        let last = *ended.borrow_and_update();
        let wanted = {
            let mut begun = self.begun.lock().ok()?;
            begun.wanted = true;
            // A read under way began before this call: the next one.
            begun.count + 1
        };
        self.wake.notify_one();
        if last.number > 0 && last.epoch.is_none() {
            return None;
        }
        let found = tokio::time::timeout(READ_TIMEOUT, ended.wait_for(|e| e.number >= wanted))
            .await
            .ok()?
            .ok()?;
        found.epoch
    }

    /// How many reads have begun.
    pub fn reads_begun(&self) -> u64 {
        self.begun.lock().map_or(0, |b| b.count)
    }
}

async fn read(conn: &DatabaseConnection) -> Result<u64, DbErr> {
    let row = conn
        .query_one_raw(Statement::from_string(DbBackend::Postgres, READ_EPOCH))
        .await?
        .ok_or_else(|| DbErr::Custom("principal_epoch has no row".into()))?;
    let value: i64 = row.try_get_by_index(0)?;
    Ok(value as u64)
}

/// How a database tells whether a kept principal is still true.
#[derive(Debug, Clone)]
pub enum Epochs {
    /// SQLite: this process's commits, watched as they end.
    Commits(Arc<super::changes::Changes>),
    /// PostgreSQL: the epoch's row, read for the requests waiting.
    Reads(Arc<EpochReads>),
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc;

    /// Reads held open until the test answers them, each with the value
    /// given.
    fn held_reads() -> (
        Arc<EpochReads>,
        Reader,
        mpsc::Receiver<()>,
        mpsc::Sender<u64>,
    ) {
        let (began_tx, began) = mpsc::channel(8);
        let (answer, answers) = mpsc::channel::<u64>(8);
        let answers = Arc::new(tokio::sync::Mutex::new(answers));
        let (reads, reader) = EpochReads::start_with(move || {
            let began_tx = began_tx.clone();
            let answers = Arc::clone(&answers);
            async move {
                began_tx.send(()).await.ok();
                let value = answers.lock().await.recv().await;
                value.ok_or_else(|| DbErr::Custom("no answer".into()))
            }
        });
        (reads, reader, began, answer)
    }

    /// A request that arrives while a read is under way does not take
    /// that read's answer: it waits for the next read, begun after it.
    #[tokio::test]
    async fn a_read_under_way_does_not_answer_a_later_request() {
        let (reads, _reader, mut began, answer) = held_reads();
        let first = tokio::spawn({
            let reads = Arc::clone(&reads);
            async move { reads.epoch().await }
        });
        began.recv().await.unwrap();
        let later = tokio::spawn({
            let reads = Arc::clone(&reads);
            async move { reads.epoch().await }
        });
        // The later request has asked before the first read ends.
        while !reads.begun.lock().unwrap().wanted {
            tokio::task::yield_now().await;
        }
        answer.send(5).await.unwrap();
        assert_eq!(first.await.unwrap(), Some(5));
        began.recv().await.unwrap();
        assert!(!later.is_finished());
        answer.send(6).await.unwrap();
        assert_eq!(later.await.unwrap(), Some(6));
        assert_eq!(reads.reads_begun(), 2);
    }

    /// After a failed read requests do not wait for the row until one
    /// succeeds again.
    #[tokio::test]
    async fn after_a_failed_read_requests_do_not_wait() {
        let (reads, _reader, mut began, answer) = held_reads();
        let first = tokio::spawn({
            let reads = Arc::clone(&reads);
            async move { reads.epoch().await }
        });
        began.recv().await.unwrap();
        drop(answer);
        assert_eq!(first.await.unwrap(), None);
        // Answered at once, and the next read is under way.
        assert_eq!(reads.epoch().await, None);
        began.recv().await.unwrap();
    }
}
