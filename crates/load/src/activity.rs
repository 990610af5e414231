//! What the database did beside the measured requests during a phase: the
//! districts whose cockpit refresh committed (both databases) and, on
//! PostgreSQL, the write-ahead log written, its full-page images (each
//! page's first change after a checkpoint begins writes the whole page),
//! the checkpoints begun and the harness's own vacuum. A phase's tail is
//! read against these.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use jinlin_kernel::Database;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

/// Time the harness's autovacuum stand-in spent in its statements, in
/// microseconds, shared with the meter. A statement's time is added when
/// it ends, so a vacuum that spans two phases counts in the second.
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
    /// Each district's figures by the time the refresh stamped them: a
    /// refresh stamps its start and commits seconds later, so a district
    /// counts as refreshed in the phase its new stamp became visible in.
    pub districts: HashMap<i64, DateTime<Utc>>,
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
    /// Districts whose cockpit refresh committed.
    pub districts_refreshed: usize,
    pub wal_mib: Option<f64>,
    pub full_page_images: Option<i64>,
    pub checkpoints_begun: Option<i64>,
    pub vacuum_seconds: Option<f64>,
}

impl Activity {
    /// What changed from `before` to `after`. A counter that went back
    /// (the server's statistics were reset) counts from zero.
    pub fn between(before: &Reading, after: &Reading) -> Activity {
        let grew = |a: i64, b: i64| if b >= a { b - a } else { b };
        let wal = before.wal.zip(after.wal);
        Activity {
            districts_refreshed: after
                .districts
                .iter()
                .filter(|(id, at)| before.districts.get(id) != Some(at))
                .count(),
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
            "districts' cockpit figures refreshed: {}",
            self.districts_refreshed
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
    /// Where this server counts its checkpoints (PostgreSQL only).
    checkpoints: Option<&'static str>,
}

impl Meter {
    pub async fn connect(database_url: &str, vacuum: VacuumClock) -> anyhow::Result<Meter> {
        let db = Database::connect(database_url, 1).await?;
        let checkpoints = match db.backend() {
            DbBackend::Postgres => {
                let version: i64 = one(
                    &db,
                    "SELECT CAST(current_setting('server_version_num') AS BIGINT)",
                )
                .await?
                .try_get_by_index(0)?;
                Some(if version >= 170_000 {
                    "SELECT num_timed + num_requested FROM pg_stat_checkpointer"
                } else {
                    "SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter"
                })
            }
            _ => None,
        };
        Ok(Meter {
            db,
            vacuum,
            checkpoints,
        })
    }

    pub async fn read(&self) -> anyhow::Result<Reading> {
        let rows = self
            .db
            .conn()
            .query_all_raw(Statement::from_string(
                self.db.backend(),
                "SELECT place_id, computed_at FROM cockpit_figures WHERE kind = 'district'",
            ))
            .await?;
        let districts = rows
            .iter()
            .map(|r| Ok((r.try_get("", "place_id")?, r.try_get("", "computed_at")?)))
            .collect::<Result<_, sea_orm::DbErr>>()?;
        let wal = match self.checkpoints {
            Some(checkpoints) => Some(self.wal(checkpoints).await?),
            None => None,
        };
        Ok(Reading {
            districts,
            wal,
            vacuum_micros: self.vacuum.micros(),
        })
    }

    /// The log's position is exact at once; the full-page images and the
    /// checkpoints are the statistics' (PostgreSQL 14 or later; from 17
    /// the checkpoints are in `pg_stat_checkpointer`), which a backend
    /// reports when idle, up to about ten seconds late.
    async fn wal(&self, checkpoints: &str) -> anyhow::Result<Wal> {
        let row = one(
            &self.db,
            &format!(
                "SELECT CAST(pg_current_wal_insert_lsn() - '0/0'::pg_lsn AS DOUBLE PRECISION), \
                 wal_fpi, ({checkpoints}) FROM pg_stat_wal"
            ),
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
        Ok(Activity::between(before, &self.read().await?))
    }
}

/// The one row of `sql`.
async fn one(db: &Database, sql: &str) -> anyhow::Result<sea_orm::QueryResult> {
    db.conn()
        .query_one_raw(Statement::from_string(db.backend(), sql))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no row from {sql}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jinlin_testkit::{TestDb, db_test};

    fn at(minute: u32) -> DateTime<Utc> {
        use chrono::TimeZone;
        Utc.with_ymd_and_hms(2026, 12, 5, 4, minute, 0).unwrap()
    }

    fn reading(
        districts: &[(i64, u32)],
        bytes: f64,
        fpi: i64,
        checkpoints: i64,
        vacuum_micros: u64,
    ) -> Reading {
        Reading {
            districts: districts.iter().map(|(d, m)| (*d, at(*m))).collect(),
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
            &reading(&[(1, 0), (2, 0), (3, 0)], 1048576.0, 10, 3, 500_000),
            &reading(
                &[(1, 0), (2, 5), (3, 7), (4, 7)],
                5.0 * 1048576.0,
                25,
                4,
                2_000_000,
            ),
        );
        assert_eq!(a.districts_refreshed, 3, "two stamped anew, one new");
        assert_eq!(a.wal_mib, Some(4.0));
        assert_eq!(a.full_page_images, Some(15));
        assert_eq!(a.checkpoints_begun, Some(1));
        assert_eq!(a.vacuum_seconds, Some(1.5));
        assert_eq!(
            a.describe(),
            "districts' cockpit figures refreshed: 3; write-ahead log 4.0 MiB, \
             15 full-page images; checkpoints begun: 1; the harness's vacuum 1.5 s"
        );
    }

    #[test]
    fn a_reset_counts_from_zero_and_sqlite_has_no_log() {
        let a = Activity::between(
            &reading(&[], 9.0 * 1048576.0, 50, 7, 0),
            &reading(&[], 1048576.0, 4, 1, 0),
        );
        assert_eq!(
            (a.wal_mib, a.full_page_images, a.checkpoints_begun),
            (Some(1.0), Some(4), Some(1))
        );
        let sqlite = Reading {
            districts: HashMap::from([(1, at(0))]),
            wal: None,
            vacuum_micros: 0,
        };
        let a = Activity::between(&sqlite, &sqlite);
        assert_eq!(a.wal_mib, None);
        assert_eq!(a.vacuum_seconds, None);
        assert_eq!(a.describe(), "districts' cockpit figures refreshed: 0");
    }

    /// A district stamped anew, or stamped for the first time, after the
    /// first reading counts; one left alone does not. PostgreSQL's log
    /// grows with the writes.
    #[db_test]
    async fn the_meter_counts_the_refresh_and_the_log(t: TestDb) {
        let db = &t.db;
        let run = |sql: String| async move {
            db.conn()
                .execute_raw(Statement::from_string(db.backend(), sql))
                .await
                .unwrap();
        };
        let insert = |place: i64, at: &str| {
            format!(
                "INSERT INTO cockpit_figures (place_id, kind, district_code, numbers, computed_at) \
                 VALUES ({place}, 'district', '35010{place}', '{{}}', '{at}')"
            )
        };
        run(insert(1, "2026-12-05 04:00:00+00:00")).await;
        run(insert(2, "2026-12-05 04:00:00+00:00")).await;
        let vacuum = VacuumClock::default();
        let meter = Meter::connect(&t.url, vacuum.clone()).await.unwrap();
        let before = meter.read().await.unwrap();
        assert_eq!(before.districts.len(), 2);
        assert_eq!(before.wal.is_some(), t.is_postgres());
        run(
            "UPDATE cockpit_figures SET computed_at = '2026-12-05 04:05:00+00:00' \
             WHERE place_id = 2"
                .into(),
        )
        .await;
        run(insert(3, "2026-12-05 04:05:00+00:00")).await;
        vacuum.add(Duration::from_millis(250));
        let a = meter.since(&before).await.unwrap();
        assert_eq!(a.districts_refreshed, 2, "{a:?}");
        if t.is_postgres() {
            assert!(a.wal_mib.unwrap() > 0.0, "{a:?}");
            assert_eq!(a.vacuum_seconds, Some(0.25));
        } else {
            assert_eq!(a.wal_mib, None);
        }
    }
}
