//! What the database did beside the measured requests during a phase: the
//! server's cockpit refresh (both databases) and, on PostgreSQL, the
//! write-ahead log written, its full-page images (each page's first change
//! after a checkpoint begins writes the whole page), the checkpoints begun
//! and the harness's own vacuum. A phase's tail is read against these.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use jinlin_kernel::Database;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

/// Time the harness's autovacuum stand-in spent in its statements, in
/// microseconds, shared with the meter.
#[derive(Clone, Default)]
pub struct VacuumClock(Arc<AtomicU64>);

impl VacuumClock {
    pub fn add(&self, spent: Duration) {
        self.0
            .fetch_add(spent.as_micros() as u64, Ordering::Relaxed);
    }

    fn micros(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The database's counters at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub at: DateTime<Utc>,
    /// PostgreSQL's: `None` on SQLite.
    pub wal: Option<Wal>,
    pub vacuum_micros: u64,
}

/// PostgreSQL's cumulative write-ahead log and checkpoint counters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Wal {
    /// The log's insert position, in bytes from its start.
    pub bytes: f64,
    pub full_page_images: i64,
    pub checkpoints: i64,
}

/// What happened between two readings.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Activity {
    /// Districts (and places) whose cockpit figures the server computed.
    pub districts_refreshed: i64,
    pub places_refreshed: i64,
    pub wal_mib: Option<f64>,
    pub full_page_images: Option<i64>,
    pub checkpoints_begun: Option<i64>,
    pub vacuum_seconds: Option<f64>,
}

impl Activity {
    /// The counters' growth from `before` to `after`, with the refreshes
    /// counted between them. A counter that went back (the server's
    /// statistics were reset) counts from zero.
    pub fn between(before: &Reading, after: &Reading, districts: i64, places: i64) -> Activity {
        let grew = |a: i64, b: i64| if b >= a { b - a } else { b };
        let wal = before.wal.zip(after.wal);
        Activity {
            districts_refreshed: districts,
            places_refreshed: places,
            wal_mib: wal.map(|(a, b)| {
                let d = if b.bytes >= a.bytes {
                    b.bytes - a.bytes
                } else {
                    b.bytes
                };
                d / (1024.0 * 1024.0)
            }),
            full_page_images: wal.map(|(a, b)| grew(a.full_page_images, b.full_page_images)),
            checkpoints_begun: wal.map(|(a, b)| grew(a.checkpoints, b.checkpoints)),
            vacuum_seconds: after
                .wal
                .map(|_| after.vacuum_micros.saturating_sub(before.vacuum_micros) as f64 / 1e6),
        }
    }

    /// One line for the report.
    pub fn describe(&self) -> String {
        let mut parts = vec![format!(
            "cockpit figures refreshed: {} districts, {} places",
            self.districts_refreshed, self.places_refreshed
        )];
        if let (Some(mib), Some(fpi), Some(c)) =
            (self.wal_mib, self.full_page_images, self.checkpoints_begun)
        {
            parts.push(format!(
                "write-ahead log {mib:.1} MiB, {fpi} full-page images; checkpoints begun: {c}"
            ));
        }
        if let Some(v) = self.vacuum_seconds {
            parts.push(format!("the harness's vacuum {v:.1} s"));
        }
        parts.join("; ")
    }
}

/// Reads the counters on a connection of its own.
pub struct Meter {
    db: Database,
    vacuum: VacuumClock,
}

impl Meter {
    pub async fn connect(database_url: &str, vacuum: VacuumClock) -> anyhow::Result<Meter> {
        Ok(Meter {
            db: Database::connect(database_url, 1).await?,
            vacuum,
        })
    }

    pub async fn read(&self) -> anyhow::Result<Reading> {
        let at = Utc::now();
        let wal = match self.db.backend() {
            DbBackend::Postgres => Some(self.wal().await?),
            _ => None,
        };
        Ok(Reading {
            at,
            wal,
            vacuum_micros: self.vacuum.micros(),
        })
    }

    /// The log's position is exact at once; the full-page images and the
    /// checkpoints are the statistics' (PostgreSQL 14 or later; from 17
    /// the checkpoints are in `pg_stat_checkpointer`), which a backend
    /// reports when idle, up to about ten seconds late.
    async fn wal(&self) -> anyhow::Result<Wal> {
        let version: i64 = self
            .one(
                "SELECT CAST(current_setting('server_version_num') AS BIGINT)",
                vec![],
            )
            .await?
            .try_get_by_index(0)?;
        let checkpoints = if version >= 170_000 {
            "SELECT num_timed + num_requested FROM pg_stat_checkpointer"
        } else {
            "SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter"
        };
        let row = self
            .one(
                &format!(
                    "SELECT CAST(pg_current_wal_insert_lsn() - '0/0'::pg_lsn AS DOUBLE PRECISION), \
                     wal_fpi, ({checkpoints}) FROM pg_stat_wal"
                ),
                vec![],
            )
            .await?;
        Ok(Wal {
            bytes: row.try_get_by_index(0)?,
            full_page_images: row.try_get_by_index(1)?,
            checkpoints: row.try_get_by_index(2)?,
        })
    }

    /// What happened since `before`.
    pub async fn since(&self, before: &Reading) -> anyhow::Result<Activity> {
        let after = self.read().await?;
        let backend = self.db.backend();
        let since = if backend == DbBackend::Postgres {
            "$1"
        } else {
            "?"
        };
        let row = self
            .one(
                &format!(
                    "SELECT CAST(COUNT(DISTINCT district_code) AS BIGINT), \
                     CAST(COUNT(*) AS BIGINT) FROM cockpit_figures WHERE computed_at >= {since}"
                ),
                vec![before.at.into()],
            )
            .await?;
        Ok(Activity::between(
            before,
            &after,
            row.try_get_by_index(0)?,
            row.try_get_by_index(1)?,
        ))
    }

    async fn one(
        &self,
        sql: &str,
        values: Vec<sea_orm::Value>,
    ) -> anyhow::Result<sea_orm::QueryResult> {
        let statement = Statement::from_sql_and_values(self.db.backend(), sql, values);
        self.db
            .conn()
            .query_one_raw(statement)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no row from {sql}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jinlin_testkit::{TestDb, db_test};

    fn reading(bytes: f64, fpi: i64, checkpoints: i64, vacuum_micros: u64) -> Reading {
        Reading {
            at: Utc::now(),
            wal: Some(Wal {
                bytes,
                full_page_images: fpi,
                checkpoints,
            }),
            vacuum_micros,
        }
    }

    #[test]
    fn the_counters_growth_is_what_happened() {
        let a = Activity::between(
            &reading(1048576.0, 10, 3, 500_000),
            &reading(5.0 * 1048576.0, 25, 4, 2_000_000),
            2,
            160,
        );
        assert_eq!(a.wal_mib, Some(4.0));
        assert_eq!(a.full_page_images, Some(15));
        assert_eq!(a.checkpoints_begun, Some(1));
        assert_eq!(a.vacuum_seconds, Some(1.5));
        assert_eq!(
            a.describe(),
            "cockpit figures refreshed: 2 districts, 160 places; write-ahead log 4.0 MiB, \
             15 full-page images; checkpoints begun: 1; the harness's vacuum 1.5 s"
        );
    }

    #[test]
    fn a_reset_counts_from_zero_and_sqlite_has_no_log() {
        let a = Activity::between(
            &reading(9.0 * 1048576.0, 50, 7, 0),
            &reading(1048576.0, 4, 1, 0),
            0,
            0,
        );
        assert_eq!(
            (a.wal_mib, a.full_page_images, a.checkpoints_begun),
            (Some(1.0), Some(4), Some(1))
        );
        let sqlite = Reading {
            at: Utc::now(),
            wal: None,
            vacuum_micros: 0,
        };
        let a = Activity::between(&sqlite, &sqlite, 1, 8);
        assert_eq!(a.wal_mib, None);
        assert_eq!(a.vacuum_seconds, None);
        assert_eq!(
            a.describe(),
            "cockpit figures refreshed: 1 districts, 8 places"
        );
    }

    /// Figures computed before the first reading do not count; those
    /// computed after it do, by district; PostgreSQL's log grows with them.
    #[db_test]
    async fn the_meter_counts_the_refresh_and_the_log(t: TestDb) {
        let insert = |place: i64, district: &str, at: DateTime<Utc>| {
            Statement::from_sql_and_values(
                t.db.backend(),
                if t.is_postgres() {
                    "INSERT INTO cockpit_figures (place_id, kind, district_code, numbers, computed_at) \
                     VALUES ($1, 'street', $2, '{}', $3)"
                } else {
                    "INSERT INTO cockpit_figures (place_id, kind, district_code, numbers, computed_at) \
                     VALUES (?, 'street', ?, '{}', ?)"
                },
                [place.into(), district.into(), at.into()],
            )
        };
        let earlier = Utc::now() - chrono::Duration::minutes(10);
        t.db.conn()
            .execute_raw(insert(1, "350104", earlier))
            .await
            .unwrap();
        let vacuum = VacuumClock::default();
        let meter = Meter::connect(&t.url, vacuum.clone()).await.unwrap();
        let before = meter.read().await.unwrap();
        assert_eq!(before.wal.is_some(), t.is_postgres());
        for (place, district) in [(2, "350104"), (3, "350104"), (4, "350102")] {
            t.db.conn()
                .execute_raw(insert(place, district, Utc::now()))
                .await
                .unwrap();
        }
        vacuum.add(Duration::from_millis(250));
        let a = meter.since(&before).await.unwrap();
        assert_eq!((a.districts_refreshed, a.places_refreshed), (2, 3));
        if t.is_postgres() {
            assert!(a.wal_mib.unwrap() > 0.0, "{a:?}");
            assert_eq!(a.vacuum_seconds, Some(0.25));
        } else {
            assert_eq!(a.wal_mib, None);
        }
    }
}
