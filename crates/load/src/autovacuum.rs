//! A stand-in for PostgreSQL's autovacuum, for a server that runs without it.
//!
//! No PostgreSQL in service runs without autovacuum; a test machine's may.
//! Without it the planner keeps the tables' sizes of the start of a run, and
//! the row versions the load's updates leave behind are never cleared, so as
//! the minutes pass the plans go stale and the scans read more dead rows
//! (docs/performance.md, "PostgreSQL over minutes"). The stand-in does what
//! that server's own autovacuum would do if it were on, as one worker: every
//! `autovacuum_naptime` it vacuums and analyses each table past the server's
//! thresholds (the rule is [`due`]), throttled by the server's autovacuum
//! cost settings, on a connection of its own, one process per table as
//! autovacuum's (no parallel workers). Not modelled: several workers
//! at once, per-table storage parameters, and autovacuum's giving way to a
//! conflicting lock. The statistics it reads need PostgreSQL 13 or later.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use jinlin_kernel::Database;
use sea_orm::ConnectionTrait;

use crate::activity::VacuumClock;
use crate::world::rows;

/// The server's autovacuum settings, from `pg_settings`.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub naptime: Duration,
    pub vacuum_threshold: f64,
    pub vacuum_scale_factor: f64,
    /// `None` where inserts alone never start a vacuum (the setting is -1).
    pub insert_threshold: Option<f64>,
    pub insert_scale_factor: f64,
    pub analyze_threshold: f64,
    pub analyze_scale_factor: f64,
    /// Autovacuum's own cost delay and limit, which a manual `VACUUM` and
    /// `ANALYZE` follow only when the session sets them.
    pub cost_delay_ms: f64,
    pub cost_limit: i64,
}

impl Settings {
    /// From `pg_settings`' `name` → `setting`. An autovacuum cost of -1
    /// means "as for a manual vacuum", as the server reads it.
    pub fn from_pg_settings(s: &HashMap<String, String>) -> anyhow::Result<Self> {
        let num = |name: &str| -> anyhow::Result<f64> {
            s.get(name)
                .with_context(|| format!("the server has no setting {name}"))?
                .parse::<f64>()
                .with_context(|| format!("the server's setting {name}"))
        };
        let insert_threshold = match s.get("autovacuum_vacuum_insert_threshold") {
            Some(_) => Some(num("autovacuum_vacuum_insert_threshold")?).filter(|t| *t >= 0.0),
            None => None,
        };
        let or_manual = |auto: f64, manual: &str| -> anyhow::Result<f64> {
            if auto < 0.0 { num(manual) } else { Ok(auto) }
        };
        Ok(Settings {
            naptime: Duration::from_secs_f64(num("autovacuum_naptime")?.max(1.0)),
            vacuum_threshold: num("autovacuum_vacuum_threshold")?,
            vacuum_scale_factor: num("autovacuum_vacuum_scale_factor")?,
            insert_threshold,
            insert_scale_factor: if insert_threshold.is_some() {
                num("autovacuum_vacuum_insert_scale_factor")?
            } else {
                0.0
            },
            analyze_threshold: num("autovacuum_analyze_threshold")?,
            analyze_scale_factor: num("autovacuum_analyze_scale_factor")?,
            cost_delay_ms: or_manual(num("autovacuum_vacuum_cost_delay")?, "vacuum_cost_delay")?,
            cost_limit: or_manual(num("autovacuum_vacuum_cost_limit")?, "vacuum_cost_limit")?
                as i64,
        })
    }
}

/// A table's counters, from `pg_stat_user_tables` and `pg_class`.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub name: String,
    /// The planner's row count; -1 before the table is first analysed.
    pub reltuples: f64,
    pub dead: f64,
    pub inserted_since_vacuum: f64,
    pub modified_since_analyze: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub vacuum: bool,
    pub analyze: bool,
}

/// Whether autovacuum would vacuum or analyse the table now: PostgreSQL's
/// rule as of versions 13 to 17 ("The Autovacuum Daemon" in its manual),
/// each count past its threshold plus its scale factor times the table's
/// rows. (Version 18 also caps the vacuum threshold and scales the insert
/// threshold by the unfrozen pages.)
pub fn due(t: &Table, s: &Settings) -> Due {
    let rows = t.reltuples.max(0.0);
    let dead = t.dead > s.vacuum_threshold + s.vacuum_scale_factor * rows;
    let inserted = s
        .insert_threshold
        .is_some_and(|base| t.inserted_since_vacuum > base + s.insert_scale_factor * rows);
    Due {
        vacuum: dead || inserted,
        analyze: t.modified_since_analyze > s.analyze_threshold + s.analyze_scale_factor * rows,
    }
}

/// The statement for a table that is due, if any. Without `PARALLEL 0` a
/// manual `VACUUM` hands a table's indexes to up to
/// `max_parallel_maintenance_workers` parallel workers (two by default),
/// three processes at once where autovacuum, which never vacuums in
/// parallel, is one: on a small machine under load that is the requests'
/// CPU taken for as long as it lasts.
pub fn statement(name: &str, due: Due) -> Option<String> {
    match (due.vacuum, due.analyze) {
        (true, true) => Some(format!("VACUUM (PARALLEL 0, ANALYZE) {name}")),
        (true, false) => Some(format!("VACUUM (PARALLEL 0) {name}")),
        (false, true) => Some(format!("ANALYZE {name}")),
        (false, false) => None,
    }
}

async fn settings(db: &Database) -> anyhow::Result<HashMap<String, String>> {
    let rows = rows(
        db,
        "SELECT name, setting FROM pg_settings \
         WHERE name LIKE 'autovacuum%' OR name IN ('vacuum_cost_delay', 'vacuum_cost_limit')",
    )
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get_by_index(0)?, r.try_get_by_index(1)?)))
        .collect()
}

async fn tables(db: &Database) -> anyhow::Result<Vec<Table>> {
    let rows = rows(
        db,
        "SELECT quote_ident(s.schemaname) || '.' || quote_ident(s.relname), \
                c.reltuples::float8, s.n_dead_tup::float8, \
                s.n_ins_since_vacuum::float8, s.n_mod_since_analyze::float8 \
         FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid",
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Table {
                name: r.try_get_by_index(0)?,
                reltuples: r.try_get_by_index(1)?,
                dead: r.try_get_by_index(2)?,
                inserted_since_vacuum: r.try_get_by_index(3)?,
                modified_since_analyze: r.try_get_by_index(4)?,
            })
        })
        .collect()
}

/// `url` with autovacuum's throttle as session settings, so that every
/// connection the pool opens carries them (a `SET` would be lost with a
/// connection the pool replaces).
fn throttled(url: &str, s: &Settings) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!(
        "{url}{sep}options[vacuum_cost_delay]={}ms&options[vacuum_cost_limit]={}",
        s.cost_delay_ms, s.cost_limit
    )
}

/// One round over the database, as one autovacuum worker makes it; returns
/// what it did, for the log. A table that fails is reported and the round
/// goes on, as autovacuum's does.
async fn round(db: &Database, s: &Settings, clock: &VacuumClock) -> anyhow::Result<Vec<String>> {
    let mut done = Vec::new();
    for t in tables(db).await? {
        let Some(sql) = statement(&t.name, due(&t, s)) else {
            continue;
        };
        let started = Instant::now();
        let result = db.conn().execute_unprepared(&sql).await;
        clock.add(started.elapsed());
        let outcome = match result {
            Ok(_) => format!("{:.1} s", started.elapsed().as_secs_f64()),
            Err(e) => format!("failed: {e}"),
        };
        done.push(format!(
            "{sql} ({:.0} dead, {:.0} inserted, {:.0} changed of {:.0} rows) {outcome}",
            t.dead, t.inserted_since_vacuum, t.modified_since_analyze, t.reltuples,
        ));
    }
    Ok(done)
}

/// The session's value of `name`, as the server shows it.
async fn show(db: &Database, name: &str) -> anyhow::Result<String> {
    let rows = rows(db, &format!("SHOW {name}")).await?;
    let row = rows.first().context("SHOW returned no row")?;
    Ok(row.try_get_by_index(0)?)
}

/// When the server at `database_url` is PostgreSQL with autovacuum off:
/// makes one round at once (the setup's writes, such as a district's
/// mobilisation, would have been seen to before a steady load), then one
/// each naptime for as long as the harness runs, its time on `clock`.
pub async fn stand_in(database_url: &str, clock: VacuumClock) -> anyhow::Result<()> {
    if !database_url.starts_with("postgres") {
        return Ok(());
    }
    let probe = Database::connect(database_url, 1).await?;
    let named = settings(&probe).await?;
    probe.close().await?;
    if named.get("autovacuum").map(String::as_str) != Some("off") {
        return Ok(());
    }
    let s = Settings::from_pg_settings(&named)?;
    let db = Database::connect(&throttled(database_url, &s), 1).await?;
    eprintln!(
        "PostgreSQL's autovacuum is off: the harness vacuums and analyses as it would, every {} s, \
         at a cost delay of {} per {}",
        s.naptime.as_secs(),
        show(&db, "vacuum_cost_delay").await?,
        show(&db, "vacuum_cost_limit").await?
    );
    let started = Instant::now();
    let first = round(&db, &s, &clock).await?;
    if !first.is_empty() {
        // Written out now, as the setup's own writes were.
        db.conn().execute_unprepared("CHECKPOINT").await.ok();
        eprintln!(
            "the setup's vacuum, {:.1} s: {}",
            started.elapsed().as_secs_f64(),
            first.join("; ")
        );
    }
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(s.naptime).await;
            // The round's start, to read against a phase's seconds.
            let began = chrono::Utc::now().format("%H:%M:%S%.3f");
            match round(&db, &s, &clock).await {
                Ok(done) => {
                    for d in done {
                        eprintln!("the harness's autovacuum, a round begun {began}: {d}");
                    }
                }
                Err(e) => eprintln!("the harness's autovacuum: {e:#}"),
            }
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// PostgreSQL 15's defaults.
    fn defaults() -> HashMap<String, String> {
        [
            ("autovacuum", "on"),
            ("autovacuum_naptime", "60"),
            ("autovacuum_vacuum_threshold", "50"),
            ("autovacuum_vacuum_scale_factor", "0.2"),
            ("autovacuum_vacuum_insert_threshold", "1000"),
            ("autovacuum_vacuum_insert_scale_factor", "0.2"),
            ("autovacuum_analyze_threshold", "50"),
            ("autovacuum_analyze_scale_factor", "0.1"),
            ("autovacuum_vacuum_cost_delay", "2"),
            ("autovacuum_vacuum_cost_limit", "-1"),
            ("vacuum_cost_delay", "0"),
            ("vacuum_cost_limit", "200"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn table(reltuples: f64, dead: f64, inserted: f64, modified: f64) -> Table {
        Table {
            name: "public.matter".into(),
            reltuples,
            dead,
            inserted_since_vacuum: inserted,
            modified_since_analyze: modified,
        }
    }

    #[test]
    fn the_servers_defaults_are_read_as_autovacuum_reads_them() {
        let s = Settings::from_pg_settings(&defaults()).unwrap();
        assert_eq!(s.naptime, Duration::from_secs(60));
        assert_eq!(s.insert_threshold, Some(1000.0));
        assert_eq!(s.cost_delay_ms, 2.0);
        assert_eq!(s.cost_limit, 200, "-1 means the manual vacuum's limit");
    }

    #[test]
    fn inserts_alone_start_nothing_when_their_threshold_is_off_or_unknown() {
        let mut named = defaults();
        named.insert("autovacuum_vacuum_insert_threshold".into(), "-1".into());
        let off = Settings::from_pg_settings(&named).unwrap();
        named.remove("autovacuum_vacuum_insert_threshold");
        named.remove("autovacuum_vacuum_insert_scale_factor");
        let unknown = Settings::from_pg_settings(&named).unwrap();
        for s in [off, unknown] {
            assert_eq!(s.insert_threshold, None);
            assert!(!due(&table(0.0, 0.0, 1e9, 0.0), &s).vacuum);
        }
    }

    #[test]
    fn the_throttle_rides_on_every_connection() {
        let s = Settings::from_pg_settings(&defaults()).unwrap();
        assert_eq!(
            throttled("postgres://u@h/db", &s),
            "postgres://u@h/db?options[vacuum_cost_delay]=2ms&options[vacuum_cost_limit]=200"
        );
        assert!(throttled("postgres://u@h/db?sslmode=disable", &s).contains("disable&options["));
    }

    #[test]
    fn a_missing_setting_is_named() {
        let mut named = defaults();
        named.remove("autovacuum_analyze_threshold");
        let e = Settings::from_pg_settings(&named).unwrap_err();
        assert!(
            e.to_string().contains("autovacuum_analyze_threshold"),
            "{e}"
        );
    }

    #[test]
    fn the_thresholds_are_passed_not_reached() {
        let s = Settings::from_pg_settings(&defaults()).unwrap();
        // 3,741 rows: vacuum past 50 + 748.2 dead, analyse past 50 + 374.1 changed.
        let at = table(3741.0, 798.2, 0.0, 424.1);
        assert_eq!(
            due(&at, &s),
            Due {
                vacuum: false,
                analyze: false
            }
        );
        let past = table(3741.0, 799.0, 0.0, 425.0);
        assert_eq!(
            due(&past, &s),
            Due {
                vacuum: true,
                analyze: true
            }
        );
        assert_eq!(
            statement("public.matter", due(&past, &s)).as_deref(),
            Some("VACUUM (PARALLEL 0, ANALYZE) public.matter")
        );
        // A district's mobilisation: 400,535 rows inserted into an empty table.
        let inserted = table(0.0, 0.0, 400_535.0, 0.0);
        assert_eq!(
            statement("m", due(&inserted, &s)).as_deref(),
            Some("VACUUM (PARALLEL 0) m")
        );
    }

    #[test]
    fn a_table_never_analysed_counts_as_empty() {
        let s = Settings::from_pg_settings(&defaults()).unwrap();
        assert_eq!(
            due(&table(-1.0, 51.0, 0.0, 51.0), &s),
            Due {
                vacuum: true,
                analyze: true
            }
        );
        assert_eq!(
            statement("t", due(&table(-1.0, 50.0, 1000.0, 50.0), &s)),
            None
        );
    }

    proptest! {
        /// More dead, inserted or changed rows never make a table less due,
        /// and more rows never make it more due.
        #[test]
        fn due_grows_with_the_counts_and_shrinks_with_the_rows(
            rows in 0.0f64..1e7, dead in 0.0f64..1e6, inserted in 0.0f64..1e6,
            modified in 0.0f64..1e6, more in 0.0f64..1e6,
        ) {
            let s = Settings::from_pg_settings(&defaults()).unwrap();
            let base = due(&table(rows, dead, inserted, modified), &s);
            let counts = due(&table(rows, dead + more, inserted + more, modified + more), &s);
            let bigger = due(&table(rows + more, dead, inserted, modified), &s);
            prop_assert!(counts.vacuum >= base.vacuum && counts.analyze >= base.analyze);
            prop_assert!(bigger.vacuum <= base.vacuum && bigger.analyze <= base.analyze);
        }
    }
}
