//! Which tables a SQLite database's commits changed, told to the process
//! after each commit, so that a cache of what those tables say (the
//! signed-in principals) can tell whether an entry is still true.
//!
//! A commit that changed a watched table moves the database's epoch on. An
//! entry read at epoch `e` (taken before its statement ran) is true while
//! the epoch is still `e`: any commit the statement did not see ended after
//! the statement's snapshot began, and so after `e` was taken, and moved
//! the epoch past it.
//!
//! The epoch must move only once the commit is visible to other
//! connections. SQLite's update hook (the row's table) runs during the
//! statement and its commit hook before the commit; a reader between them
//! and the commit would read the old rows under the new epoch. The WAL
//! hook runs after the commit, with the write lock released: the update
//! hook marks the connection, the WAL hook moves the epoch, a rollback
//! clears the mark.
//!
//! It sees the commits of this process only. The server is the one process
//! that writes a SQLite database while it runs (`jinlin restore` needs it
//! stopped; `jinlin seed` refuses a seeded database). On PostgreSQL several
//! nodes write, and nothing is cached.

use std::ffi::{c_char, c_int, c_void};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use sea_orm::sqlx::{self, Row, SqliteConnection};

/// The tables whose rows make up a principal: its credential, account,
/// grants, their places, and the pairings of the agencies it administers.
pub const PRINCIPAL_TABLES: &[&str] = &[
    "session",
    "api_token",
    "account",
    "role_grant",
    "place",
    "agency_account",
    "agency_pairing",
];

/// A SQLite database's epoch of changes to [`PRINCIPAL_TABLES`].
#[derive(Debug, Default)]
pub struct Changes {
    epoch: AtomicU64,
    /// Whether every connection carries the hooks; a connection that could
    /// not (not in WAL mode) turns it off for good.
    watching: AtomicBool,
}

impl Changes {
    pub fn new() -> Self {
        Changes {
            epoch: AtomicU64::new(0),
            watching: AtomicBool::new(true),
        }
    }

    /// The epoch now, if the database's commits are watched.
    pub fn epoch(&self) -> Option<u64> {
        let epoch = self.epoch.load(Ordering::SeqCst);
        self.watching.load(Ordering::SeqCst).then_some(epoch)
    }

    fn moved(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// Puts the hooks on a new connection of the database.
    pub async fn watch(self: &Arc<Self>, conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
        let mode: String = sqlx::query("PRAGMA journal_mode")
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)?;
        if !mode.eq_ignore_ascii_case("wal") {
            // No WAL hook outside WAL mode: nothing can be cached.
            self.watching.store(false, Ordering::SeqCst);
            tracing::warn!(mode, "SQLite is not in WAL mode; principals are not cached");
            return Ok(());
        }
        let mut handle = conn.lock_handle().await?;
        let connection = Arc::new(Connection {
            changes: Arc::clone(self),
            marked: AtomicBool::new(false),
        });
        let marks = Arc::clone(&connection);
        handle.set_update_hook(move |row| {
            if PRINCIPAL_TABLES.contains(&row.table) {
                marks.marked.store(true, Ordering::SeqCst);
            }
        });
        let clears = Arc::clone(&connection);
        handle.set_rollback_hook(move || clears.marked.store(false, Ordering::SeqCst));
        // The WAL hook's state lives as long as the process: a connection
        // of this pool is closed only with it, and a few bytes per
        // connection are not worth tracking the close.
        let context = Arc::into_raw(connection) as *mut c_void;
        // SAFETY: the handle is this connection's, locked for the call;
        // `after_commit` only touches atomics through `context`, which is
        // never freed. WAL mode's automatic checkpoints (the hook this
        // replaces) are off here: a task checkpoints (`CHECKPOINT_EVERY`).
        unsafe {
            libsqlite3_sys::sqlite3_wal_hook(
                handle.as_raw_handle().as_ptr(),
                Some(after_commit),
                context,
            );
        }
        Ok(())
    }
}

/// One connection's mark: it changed a watched table in the transaction
/// under way.
struct Connection {
    changes: Arc<Changes>,
    marked: AtomicBool,
}

/// SQLite's WAL hook: a transaction of this connection has committed.
unsafe extern "C" fn after_commit(
    context: *mut c_void,
    _db: *mut libsqlite3_sys::sqlite3,
    _database: *const c_char,
    _pages: c_int,
) -> c_int {
    // SAFETY: `context` is the `Arc::into_raw` of `watch`, never freed.
    let connection = unsafe { &*(context as *const Connection) };
    if connection.marked.swap(false, Ordering::SeqCst) {
        connection.changes.moved();
    }
    libsqlite3_sys::SQLITE_OK
}
