//! Signed-in principals kept between requests, so that a request whose
//! credential was seen before skips the statement that loads it.
//!
//! An entry is true while no commit has changed the tables it was read
//! from. Each is stored with the epoch of those tables it was read at, and
//! the whole cache is dropped when the epoch moves. On SQLite the epoch is
//! this process's commits, watched ([`crate::db::changes`]), taken before
//! the statement runs. On PostgreSQL it is a row every commit to those
//! tables moves, on any node ([`crate::db::epoch`]): read in the
//! principal's own statement when it is kept, and read again, once for all
//! the requests waiting, before one is served. On both an entry is also
//! read again once it is [`MAX_AGE`] old, for a write no epoch sees
//! (another process's on SQLite; on PostgreSQL one made with the triggers
//! off).
//! Those tables change rarely against the reads (a sign-out, a grant), so
//! most requests find their principal here.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::principal::Principal;
use crate::db::epoch::Epochs;

/// A credential, by the hash of its secret.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Credential {
    Session(String),
    Token(String),
}

/// A credential's own clock, which the request checks against the time of
/// day (a session ends, a use is due to be recorded) without the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clock {
    Session {
        expires_at: DateTime<Utc>,
        last_seen_at: DateTime<Utc>,
    },
    Token {
        token_id: i64,
        last_used_at: Option<DateTime<Utc>>,
    },
}

#[derive(Debug, Clone)]
pub struct Cached {
    pub principal: std::sync::Arc<Principal>,
    pub clock: Clock,
}

/// How long an entry is served: the longest a write of another process to
/// the principals' tables (an import run beside the server, a hand edit)
/// goes unseen. Every signed-in credential in use pays one statement in
/// this time, against one per request without the cache.
pub const MAX_AGE: Duration = Duration::from_secs(10);

/// More credentials than this seen within one epoch are read each time:
/// it bounds the memory (an entry is a few hundred bytes).
pub const MAX_ENTRIES: usize = 100_000;

/// The principals of one database.
#[derive(Debug)]
pub struct PrincipalCache {
    epochs: Option<Epochs>,
    entries: Mutex<Entries<Credential, Cached>>,
}

impl PrincipalCache {
    /// A cache over `epochs`; with none it keeps nothing.
    pub fn new(epochs: Option<Epochs>) -> Self {
        PrincipalCache {
            epochs,
            entries: Mutex::new(Entries::new(MAX_ENTRIES, MAX_AGE)),
        }
    }

    /// The epoch now, for [`PrincipalCache::get`] of `credential` (and on
    /// SQLite for [`PrincipalCache::put`], taken before a principal's
    /// statement runs); none when nothing is served. On PostgreSQL a
    /// credential with nothing kept does not wait for the epoch's read: its
    /// statement reads the epoch it is kept at.
    pub async fn epoch_for(&self, credential: &Credential) -> Option<u64> {
        match self.epochs.as_ref()? {
            Epochs::Commits(changes) => changes.epoch(),
            Epochs::Reads(reads) => {
                if !self.entries.lock().ok()?.holds(credential) {
                    return None;
                }
                reads.epoch().await
            }
        }
    }

    /// Whether a principal's statement reads the epoch it is true at
    /// (PostgreSQL's row, [`crate::db::epoch::READ_EPOCH`]).
    pub fn epoch_in_statement(&self) -> bool {
        matches!(self.epochs, Some(Epochs::Reads(_)))
    }

    /// The principal of `credential` if it was read at epoch `now`.
    pub fn get(&self, credential: &Credential, now: Option<u64>) -> Option<Cached> {
        let now = now?;
        self.entries
            .lock()
            .ok()?
            .get(credential, now, Instant::now())
    }

    /// Keeps what was read at epoch `read_at`: on SQLite the epoch taken
    /// before the statement, kept if it has not moved since; on PostgreSQL
    /// the epoch the statement itself read, in its own snapshot.
    pub fn put(&self, credential: Credential, cached: Cached, read_at: Option<u64>) {
        let Some(read_at) = read_at else {
            return;
        };
        let now = match &self.epochs {
            Some(Epochs::Commits(changes)) => changes.epoch(),
            Some(Epochs::Reads(_)) => Some(read_at),
            None => None,
        };
        let Some(now) = now else {
            return;
        };
        if let Ok(mut entries) = self.entries.lock() {
            entries.put(credential, cached, read_at, now, Instant::now());
        }
    }

    /// Records in a kept entry that its credential's use was written (a
    /// session's last visit, a token's last use), so that the next request
    /// does not find the write due again. PostgreSQL's epoch does not move
    /// for those columns; SQLite's does, and drops the entry anyway.
    pub fn used(&self, credential: &Credential, at: DateTime<Utc>) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.update(credential, |cached| match &mut cached.clock {
                Clock::Session { last_seen_at, .. } => *last_seen_at = at,
                Clock::Token { last_used_at, .. } => *last_used_at = Some(at),
            });
        }
    }
}

/// The rules of the cache, apart from its lock and its clock: entries of
/// one epoch, dropped together when it moves, each served until it is
/// `max_age` old.
#[derive(Debug)]
pub struct Entries<K, V> {
    epoch: u64,
    map: HashMap<K, (V, Instant)>,
    max: usize,
    max_age: Duration,
}

impl<K: std::hash::Hash + Eq, V: Clone> Entries<K, V> {
    pub fn new(max: usize, max_age: Duration) -> Self {
        Entries {
            epoch: 0,
            map: HashMap::new(),
            max,
            max_age,
        }
    }

    /// The entry of `key`, if the epoch is still `now` and the entry was
    /// kept less than `max_age` before `at`.
    pub fn get(&mut self, key: &K, now: u64, at: Instant) -> Option<V> {
        if !self.turn_to(now) {
            return None;
        }
        match self.map.get(key) {
            Some((value, kept)) if at.saturating_duration_since(*kept) < self.max_age => {
                Some(value.clone())
            }
            _ => None,
        }
    }

    /// Keeps `value`, read at `read_at`, when that is still the epoch
    /// `now`: what was read before a commit may say what the commit
    /// changed.
    pub fn put(&mut self, key: K, value: V, read_at: u64, now: u64, at: Instant) {
        if read_at != now || !self.turn_to(now) {
            return;
        }
        if self.map.len() < self.max || self.map.contains_key(&key) {
            self.map.insert(key, (value, at));
        }
    }

    /// Whether an entry of `key` is kept, of whatever epoch or age.
    pub fn holds(&self, key: &K) -> bool {
        self.map.contains_key(key)
    }

    /// Changes the entry of `key` in place, if there is one, keeping its age.
    pub fn update(&mut self, key: &K, change: impl FnOnce(&mut V)) {
        if let Some((value, _)) = self.map.get_mut(key) {
            change(value);
        }
    }

    /// Moves the entries on to epoch `now`, empty; false if `now` is older
    /// than theirs (a request that took the epoch before another moved
    /// them on), which leaves them be.
    fn turn_to(&mut self, now: u64) -> bool {
        if now > self.epoch {
            self.map.clear();
            self.epoch = now;
        }
        now == self.epoch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Step {
        /// A reader takes the epoch before its statement.
        Begin(u8),
        /// The reader's statement returns what the table said at its
        /// snapshot, and the reader keeps it.
        Put(u8),
        /// A commit changes the key's row and moves the epoch.
        Commit(u8),
        Get(u8),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (0u8..3).prop_map(Step::Begin),
            (0u8..3).prop_map(Step::Put),
            (0u8..3).prop_map(Step::Commit),
            (0u8..3).prop_map(Step::Get),
        ]
    }

    proptest! {
        /// Whatever the order of readers and commits, a cached value is
        /// the row as it stands: one read before a commit is never
        /// served after it.
        #[test]
        fn never_serves_a_row_older_than_the_last_commit(steps in prop::collection::vec(step(), 1..60)) {
            let mut entries = Entries::new(2, MAX_AGE);
            let at = Instant::now();
            let mut epoch = 0u64;
            // Each key's row, by version, and each reader's epoch and the
            // version it will read (its snapshot).
            let mut rows = [0u32; 3];
            let mut readers: [Option<(u64, u32)>; 3] = [None; 3];
            for step in steps {
                match step {
                    Step::Begin(k) => readers[k as usize] = Some((epoch, rows[k as usize])),
                    Step::Put(k) => {
                        if let Some((read_at, version)) = readers[k as usize].take() {
                            entries.put(k, version, read_at, epoch, at);
                        }
                    }
                    Step::Commit(k) => {
                        rows[k as usize] += 1;
                        epoch += 1;
                    }
                    Step::Get(k) => {
                        if let Some(v) = entries.get(&k, epoch, at) {
                            prop_assert_eq!(v, rows[k as usize]);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn keeps_at_most_its_bound_of_credentials() {
        let at = Instant::now();
        let mut entries = Entries::new(2, MAX_AGE);
        for k in 0..3 {
            entries.put(k, k, 0, 0, at);
        }
        assert_eq!(entries.get(&0, 0, at), Some(0));
        assert_eq!(entries.get(&1, 0, at), Some(1));
        assert_eq!(entries.get(&2, 0, at), None);
        // A kept key is refreshed; a new epoch starts empty.
        entries.put(1, 10, 0, 0, at);
        assert_eq!(entries.get(&1, 0, at), Some(10));
        assert_eq!(entries.get(&1, 1, at), None);
        entries.put(2, 2, 1, 1, at);
        assert_eq!(entries.get(&2, 1, at), Some(2));
    }

    /// A request that took an older epoch neither finds nor disturbs the
    /// entries of a newer one.
    #[test]
    fn an_older_epoch_leaves_the_newer_entries_be() {
        let at = Instant::now();
        let mut entries = Entries::new(2, MAX_AGE);
        entries.put(0, 0, 3, 3, at);
        assert_eq!(entries.get(&0, 2, at), None);
        entries.put(1, 1, 2, 2, at);
        assert_eq!(entries.get(&0, 3, at), Some(0));
        assert_eq!(entries.get(&1, 3, at), None);
    }

    /// A use recorded in an entry changes it in place and keeps its age;
    /// one not kept stays not kept.
    #[test]
    fn an_update_keeps_the_entry_and_its_age() {
        let at = Instant::now();
        let mut entries = Entries::new(2, Duration::from_secs(10));
        entries.put(0, 0, 0, 0, at);
        entries.update(&0, |v| *v = 5);
        entries.update(&1, |v| *v = 5);
        assert_eq!(entries.get(&0, 0, at + Duration::from_secs(9)), Some(5));
        assert_eq!(entries.get(&0, 0, at + Duration::from_secs(10)), None);
        assert_eq!(entries.get(&1, 0, at), None);
    }

    /// An entry is read again once it reaches its age limit.
    #[test]
    fn an_entry_is_served_until_its_age_limit() {
        let at = Instant::now();
        let mut entries = Entries::new(2, Duration::from_secs(10));
        entries.put(0, 0, 0, 0, at);
        assert_eq!(entries.get(&0, 0, at + Duration::from_secs(9)), Some(0));
        assert_eq!(entries.get(&0, 0, at + Duration::from_secs(10)), None);
    }
}
