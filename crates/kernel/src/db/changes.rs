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
//! hook runs after the commit, with the write lock released. So the
//! update hook marks the connection; the commit hook, when it is marked,
//! counts a commit under way, during which nothing is served or kept; the
//! WAL hook then moves the epoch and ends the count. A commit SQLite makes
//! without calling the WAL hook (a statement reset before its last row,
//! which commits on the reset) stays under way until the connection's next
//! hook, which settles it: late, never wrong.
//!
//! It sees the commits of this process only. The server is the one process
//! that writes a SQLite database in service (`jinlin restore` needs it
//! stopped); a write from another process (an import beside the running
//! server, a hand edit) is seen when entries reach their age limit
//! ([`crate::auth::cache::MAX_AGE`]). On PostgreSQL several nodes write,
//! and the epoch is a row they all move ([`super::epoch`]).

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
#[derive(Debug)]
pub struct Changes {
    epoch: AtomicU64,
    /// Commits of the watched tables under way: begun (the commit hook)
    /// and not yet seen done (the WAL hook).
    committing: AtomicU64,
    /// Whether every connection carries the hooks; a connection that could
    /// not (not in WAL mode) turns it off for good.
    watching: AtomicBool,
}

impl Default for Changes {
    fn default() -> Self {
        Self::new()
    }
}

impl Changes {
    pub fn new() -> Self {
        Changes {
            epoch: AtomicU64::new(0),
            committing: AtomicU64::new(0),
            watching: AtomicBool::new(true),
        }
    }

    /// The epoch now; none while a commit of the watched tables is under
    /// way, or if the database's commits are not watched.
    pub fn epoch(&self) -> Option<u64> {
        // The epoch first: a commit that ends between the two loads has
        // moved it past the one returned.
        let epoch = self.epoch.load(Ordering::SeqCst);
        let quiet = self.committing.load(Ordering::SeqCst) == 0;
        (quiet && self.watching.load(Ordering::SeqCst)).then_some(epoch)
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
            committing: AtomicBool::new(false),
        });
        let c = Arc::clone(&connection);
        handle.set_update_hook(move |row| {
            if PRINCIPAL_TABLES.contains(&row.table) {
                c.marked.store(true, Ordering::SeqCst);
            }
        });
        let c = Arc::clone(&connection);
        handle.set_commit_hook(move || {
            c.settle();
            if c.marked.swap(false, Ordering::SeqCst) {
                c.changes.committing.fetch_add(1, Ordering::SeqCst);
                c.committing.store(true, Ordering::SeqCst);
            }
            true
        });
        let c = Arc::clone(&connection);
        handle.set_rollback_hook(move || {
            c.marked.store(false, Ordering::SeqCst);
            c.settle();
        });
        let db = handle.as_raw_handle().as_ptr();
        let context = Arc::into_raw(connection) as *mut c_void;
        // SAFETY: the handle is this connection's, locked for the calls.
        // SQLite owns `context` from here and drops it with the connection
        // (`forget`); the WAL hook, which runs only while the connection
        // is open, only touches atomics through it. WAL mode's automatic
        // checkpoints (the hook this replaces) are off here: a task
        // checkpoints (`CHECKPOINT_EVERY`). Nothing sets
        // `wal_autocheckpoint` after this, which would remove the hook.
        unsafe {
            libsqlite3_sys::sqlite3_set_clientdata(db, CLIENT_DATA.as_ptr(), context, Some(forget));
            libsqlite3_sys::sqlite3_wal_hook(db, Some(after_commit), context);
        }
        Ok(())
    }
}

/// The name under which a connection holds its [`Connection`].
const CLIENT_DATA: &std::ffi::CStr = c"jinlin.changes";

/// One connection's part in its database's changes.
struct Connection {
    changes: Arc<Changes>,
    /// It changed a watched table in the transaction under way.
    marked: AtomicBool,
    /// Its commit of a watched table is under way.
    committing: AtomicBool,
}

impl Connection {
    /// Ends this connection's commit under way, if any: it is done once
    /// the WAL hook runs, or any later hook of the connection.
    fn settle(&self) {
        if self.committing.swap(false, Ordering::SeqCst) {
            // The epoch moves before the count falls: `epoch` reads them
            // in the other order.
            self.changes.epoch.fetch_add(1, Ordering::SeqCst);
            self.changes.committing.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl Drop for Connection {
    /// A connection closed with a commit under way (its WAL hook never
    /// came) ends it: the commit is long done.
    fn drop(&mut self) {
        self.settle();
    }
}

/// SQLite's WAL hook: a transaction of this connection has committed.
unsafe extern "C" fn after_commit(
    context: *mut c_void,
    _db: *mut libsqlite3_sys::sqlite3,
    _database: *const c_char,
    _pages: c_int,
) -> c_int {
    // SAFETY: `context` is the connection's client data, alive while the
    // connection is open.
    let connection = unsafe { &*(context as *const Connection) };
    connection.settle();
    libsqlite3_sys::SQLITE_OK
}

/// Drops a connection's [`Connection`] when SQLite closes the connection.
unsafe extern "C" fn forget(context: *mut c_void) {
    // SAFETY: `context` is the `Arc::into_raw` of `watch`, released once.
    drop(unsafe { Arc::from_raw(context as *const Connection) });
}
