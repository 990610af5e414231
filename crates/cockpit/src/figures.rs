//! Maintained figures. Gathering a district's board reads every record of
//! its compounds (household reach alone tests every dwelling), which at a
//! city's 12,000 compounds and 3 million dwellings takes seconds, not the
//! tens of milliseconds a page may take. So the figures of a street and
//! above are computed off the request path and kept in `cockpit_figures`
//! (each node's counts and the time they were computed), with the day's
//! counts in `cockpit_snapshot` (one row per node per China date, the last
//! refresh of the day winning) for the trends of the standing figures.
//!
//! The recurring job `cockpit.refresh` begins each period's refresh: it
//! queues one `cockpit.refresh.district` job per district, spread over the
//! period's first half, which any node may run. Each gathers its
//! district's board and each street's (a street's gives its communities
//! too), and sums the districts of the city and province above it into
//! theirs (distinct agencies and organisations counted from the items
//! themselves). The cockpit of a street and above then reads two indexed
//! queries: the node's row and its children's.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use jinlin_kernel::jobs::{self, JobHandlers, NewJob};
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::place::entity as place;
use jinlin_kernel::{ApiError, Database};
use jinlin_micro_grids::rules::Tally;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    EntityTrait, QueryFilter, QueryOrder, Statement, TransactionTrait, Value,
};
use serde::{Deserialize, Serialize};

use crate::board;
use crate::rules::{self, Numbers, RefreshAt};

/// The job that begins a period's refresh.
pub const KIND: &str = "cockpit.refresh";

/// The job that refreshes one district, and the city and province above.
pub const DISTRICT_KIND: &str = "cockpit.refresh.district";

/// How often the figures are refreshed; a node's cockpit shows when they
/// were computed.
pub const EVERY: Duration = Duration::from_secs(10 * 60);

/// When a node's figures are older than this, its cockpit asks for a
/// refresh. A period's districts are spread over its first half, so
/// figures are up to one and a half periods old in the normal course;
/// asking sooner would only queue a write for nothing on every read.
pub const STALE_AFTER: Duration = Duration::from_secs(2 * EVERY.as_secs());

/// The kinds whose cockpits read maintained figures; communities and
/// compounds are read live (a few hundred dwellings each).
pub fn maintained(kind: Option<PlaceKind>) -> bool {
    matches!(
        kind,
        Some(PlaceKind::Province | PlaceKind::City | PlaceKind::District | PlaceKind::Street)
    )
}

pub fn job_handlers() -> JobHandlers {
    JobHandlers::new()
        .every(KIND, EVERY, |db, payload| async move {
            // Never before the period's start (a node whose clock is
            // behind), so the plan and the dedupe keys are the period's.
            let now = match jobs::Period::of(&payload) {
                Some(p) => Utc::now().max(p.start),
                None => Utc::now(),
            };
            let districts = start(&db, now).await.map_err(|e| e.to_string())?;
            tracing::info!(districts, "cockpit refresh begun");
            Ok(())
        })
        .add(DISTRICT_KIND, |db, payload| async move {
            let job: DistrictJob = serde_json::from_value(payload)
                .map_err(|e| format!("cockpit.refresh.district payload: {e}"))?;
            let Some(district) = jinlin_places::store::find(db.conn(), job.district_id)
                .await
                .map_err(|e| e.to_string())?
            else {
                // Gone from the tree since the refresh began.
                return Ok(());
            };
            let started = Instant::now();
            let report = refresh_district(&db, &district, Utc::now(), job.since, job.districts)
                .await
                .map_err(|e| e.to_string())?;
            tracing::info!(
                district = district.district_code.as_deref().unwrap_or_default(),
                nodes = report.nodes,
                ms = started.elapsed().as_millis() as u64,
                gather_ms = report.gathering.as_millis() as u64,
                write_ms = report.writing.as_millis() as u64,
                "district figures refreshed"
            );
            if let Some(nodes) = report.whole {
                tracing::info!(
                    nodes,
                    districts = job.districts,
                    ms = (Utc::now() - job.since).num_milliseconds(),
                    "cockpit figures refreshed"
                );
            }
            Ok(())
        })
}

/// Asks for a refresh (the node's figures are missing or stale): the
/// current period's run of the recurring job, enqueued unless a node
/// already did, so asking twice costs one insert that does nothing.
pub async fn request_refresh(db: &Database, now: DateTime<Utc>) -> Result<(), DbErr> {
    let tx = db.write().await?;
    jobs::schedule_every(&tx, KIND, EVERY, now).await?;
    tx.commit().await
}

/// A node's counts as last computed.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub place_id: i64,
    pub numbers: Numbers,
    pub computed_at: DateTime<Utc>,
}

fn ph(backend: DbBackend, n: usize) -> String {
    if backend == DbBackend::Postgres {
        format!("${n}")
    } else {
        "?".into()
    }
}

/// `n` placeholders after the `base` first, comma-separated.
fn phs(backend: DbBackend, base: usize, n: usize) -> String {
    (base + 1..=base + n)
        .map(|i| ph(backend, i))
        .collect::<Vec<_>>()
        .join(", ")
}

fn parse_numbers(text: &str) -> Result<Numbers, DbErr> {
    serde_json::from_str(text).map_err(|e| DbErr::Custom(format!("cockpit figures: {e}")))
}

/// The node's stored counts and its children's (by place id), in one
/// indexed query; none when the node has none yet.
pub async fn read(
    db: &impl ConnectionTrait,
    node_id: i64,
) -> Result<Option<(Stored, HashMap<i64, Stored>)>, DbErr> {
    let backend = db.get_database_backend();
    let sql = format!(
        "SELECT place_id, numbers, computed_at FROM cockpit_figures \
         WHERE place_id = {} OR parent_id = {}",
        ph(backend, 1),
        ph(backend, 2)
    );
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [node_id.into(), node_id.into()],
        ))
        .await?;
    let mut node = None;
    let mut children = HashMap::new();
    for r in &rows {
        let s = Stored {
            place_id: r.try_get("", "place_id")?,
            numbers: parse_numbers(&r.try_get::<String>("", "numbers")?)?,
            computed_at: r.try_get("", "computed_at")?,
        };
        if s.place_id == node_id {
            node = Some(s);
        } else {
            children.insert(s.place_id, s);
        }
    }
    Ok(node.map(|n| (n, children)))
}

/// The node's snapshots with a day in `[from, to)` (China dates,
/// `YYYY-MM-DD`), oldest first.
pub async fn snapshots(
    db: &impl ConnectionTrait,
    node_id: i64,
    from: &str,
    to: &str,
) -> Result<Vec<(String, Numbers)>, DbErr> {
    let backend = db.get_database_backend();
    let sql = format!(
        "SELECT day, numbers FROM cockpit_snapshot \
         WHERE place_id = {} AND day >= {} AND day < {} ORDER BY day",
        ph(backend, 1),
        ph(backend, 2),
        ph(backend, 3)
    );
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [node_id.into(), from.into(), to.into()],
        ))
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get::<String>("", "day")?,
                parse_numbers(&r.try_get::<String>("", "numbers")?)?,
            ))
        })
        .collect()
}

/// One node's row to write.
struct Row {
    place_id: i64,
    parent_id: Option<i64>,
    kind: &'static str,
    district_code: Option<String>,
    numbers: Numbers,
    /// When the counts were taken: the refresh's time, or for a sum the
    /// time of its oldest part, as the sum is no fresher than that.
    computed_at: DateTime<Utc>,
}

/// What a refresh of every district did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Report {
    pub nodes: usize,
}

/// What one district's refresh did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DistrictReport {
    /// Rows written: the district's, its streets' and communities', and
    /// the city and province above it when all their districts have rows.
    pub nodes: usize,
    /// Once every district's figures were computed since the refresh
    /// began: the number of nodes computed since, the whole tree's.
    pub whole: Option<usize>,
    /// How long the boards took to gather.
    pub gathering: Duration,
    /// How long the write took to commit, its waits for the writer and
    /// its retries included.
    pub writing: Duration,
}

/// A district's refresh, as queued by [`start`].
#[derive(Debug, Serialize, Deserialize)]
struct DistrictJob {
    district_id: i64,
    /// When the period's refresh began.
    since: DateTime<Utc>,
    /// The districts it began for: it is whole when all have figures
    /// computed since.
    districts: usize,
}

/// Every province, city and district, found from the roots of the tree
/// down through the parent index: no index leads with a place's kind,
/// and a scan of the places by kind would read every dwelling.
async fn upper_places(db: &impl ConnectionTrait) -> Result<Vec<place::Model>, DbErr> {
    let sql = "WITH RECURSIVE reach (id, kind) AS ( \
           SELECT id, kind FROM place WHERE parent_id IS NULL \
           UNION ALL \
           SELECT p.id, p.kind FROM place p JOIN reach r ON p.parent_id = r.id \
           WHERE r.kind IN ('province', 'city')) \
         SELECT * FROM place WHERE id IN (SELECT id FROM reach \
           WHERE kind IN ('province', 'city', 'district')) \
         ORDER BY id";
    place::Entity::find()
        .from_raw_sql(Statement::from_string(db.get_database_backend(), sql))
        .all(db)
        .await
}

/// The cities and provinces with no district under them: no district's
/// job sums them, so they are written as empty here.
fn without_districts(upper: &[place::Model]) -> Vec<&place::Model> {
    let is = |p: &place::Model, k: PlaceKind| p.kind == k.as_str();
    let parent_of: HashMap<i64, Option<i64>> = upper.iter().map(|p| (p.id, p.parent_id)).collect();
    let mut summed: HashSet<i64> = HashSet::new();
    for d in upper.iter().filter(|p| is(p, PlaceKind::District)) {
        let mut next = d.parent_id;
        while let Some(id) = next {
            summed.insert(id);
            next = parent_of.get(&id).copied().flatten();
        }
    }
    upper
        .iter()
        .filter(|p| is(p, PlaceKind::City) || is(p, PlaceKind::Province))
        .filter(|p| !summed.contains(&p.id))
        .collect()
}

/// What every period's refresh does before the districts' jobs: drops
/// the rows of places gone from the tree (or moved to another level) and
/// writes the cities and provinces without districts as empty.
async fn prepare(
    tx: &DatabaseTransaction,
    upper: &[place::Model],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    tx.execute_unprepared(
        "DELETE FROM cockpit_figures WHERE NOT EXISTS (SELECT 1 FROM place \
         WHERE place.id = cockpit_figures.place_id AND place.kind = cockpit_figures.kind)",
    )
    .await?;
    let empty: Vec<Row> = without_districts(upper)
        .into_iter()
        .map(|p| Row {
            place_id: p.id,
            parent_id: p.parent_id,
            kind: if p.kind == PlaceKind::City.as_str() {
                "city"
            } else {
                "province"
            },
            district_code: None,
            numbers: Numbers::sum_of_districts(&[], 0, 0),
            computed_at: now,
        })
        .collect();
    write(tx, &empty, now, Replace::All).await
}

/// The districts under a city or province: its own and its cities'
/// (districts right under a province, with no city level, count too),
/// through the parent index.
async fn districts_under(db: &impl ConnectionTrait, top: i64) -> Result<Vec<place::Model>, DbErr> {
    use sea_orm::sea_query::Query;
    let cities = Query::select()
        .column(place::Column::Id)
        .from(place::Entity)
        .and_where(place::Column::ParentId.eq(top))
        .and_where(place::Column::Kind.eq(PlaceKind::City.as_str()))
        .to_owned();
    place::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(place::Column::ParentId.eq(top))
                .add(place::Column::ParentId.in_subquery(cities)),
        )
        .filter(place::Column::Kind.eq(PlaceKind::District.as_str()))
        .order_by_asc(place::Column::Id)
        .all(db)
        .await
}

/// Begins a period's refresh: one [`DISTRICT_KIND`] job per district,
/// under a dedupe key naming the district and the period, so any node may
/// take any of them and none runs twice. When each runs is
/// [`rules::plan_refreshes`]: at once for a district without figures or
/// with stale ones, the others spread over what is left of the period's
/// first half. Returns the number of districts queued.
pub async fn start(db: &Database, now: DateTime<Utc>) -> Result<usize, DbErr> {
    let conn = db.conn();
    let backend = db.backend();
    let upper = upper_places(conn).await?;
    let districts: Vec<&place::Model> = upper
        .iter()
        .filter(|p| p.kind == PlaceKind::District.as_str())
        .collect();
    let computed: HashMap<i64, DateTime<Utc>> = conn
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT place_id, computed_at FROM cockpit_figures WHERE kind = 'district'",
        ))
        .await?
        .iter()
        .map(|r| Ok((r.try_get("", "place_id")?, r.try_get("", "computed_at")?)))
        .collect::<Result<_, DbErr>>()?;
    let (period, period_start) = jobs::period_key(KIND, EVERY, now);
    let plan = rules::plan_refreshes(
        &districts
            .iter()
            .map(|d| computed.get(&d.id).copied())
            .collect::<Vec<_>>(),
        period_start,
        now,
        EVERY,
        STALE_AFTER,
    );
    let queued: Vec<(&place::Model, DateTime<Utc>)> = districts
        .iter()
        .zip(plan)
        .filter_map(|(d, at)| match at {
            RefreshAt::Now => Some((*d, now)),
            RefreshAt::After(offset) => Some((
                *d,
                now + chrono::Duration::from_std(offset).unwrap_or_default(),
            )),
            RefreshAt::NextPeriod => None,
        })
        .collect();
    let tx = db.write().await?;
    prepare(&tx, &upper, now).await?;
    for (d, run_at) in &queued {
        let job = DistrictJob {
            district_id: d.id,
            since: now,
            districts: queued.len(),
        };
        let payload = serde_json::to_value(&job)
            .map_err(|e| DbErr::Custom(format!("cockpit refresh: {e}")))?;
        NewJob::new(DISTRICT_KIND, payload, *run_at)
            .dedupe(format!("{period}:{}", d.id))
            // A missed district is not worth retrying long: the next
            // period refreshes it.
            .max_attempts(3)
            .enqueue(&tx)
            .await?;
    }
    tx.commit().await?;
    Ok(queued.len())
}

/// Recomputes every figure as of `now` in one call, the districts one
/// after another: what a period's jobs do, for tests and tools.
pub async fn refresh(db: &Database, now: DateTime<Utc>) -> Result<Report, ApiError> {
    let upper = upper_places(db.conn()).await?;
    let tx = db.write().await?;
    prepare(&tx, &upper, now).await?;
    tx.commit().await?;
    let districts: Vec<&place::Model> = upper
        .iter()
        .filter(|p| p.kind == PlaceKind::District.as_str())
        .collect();
    let mut nodes = 0;
    for d in &districts {
        let r = refresh_district(db, d, now, now, districts.len()).await?;
        nodes = r.whole.unwrap_or(nodes);
    }
    Ok(Report { nodes })
}

/// The district's board, its streets' and their communities', gathered
/// as the district's own admin would see them. The district's compounds
/// and dwellings, the largest reads, are read once: each street's board
/// takes its share of them.
async fn gather_district(
    conn: &impl ConnectionTrait,
    d: &place::Model,
    now: DateTime<Utc>,
) -> Result<Vec<Row>, ApiError> {
    let covered = board::paced(jinlin_organisations::api::coverage_by_compound(conn, d)).await?;
    // The dwellings, a child at a time (a district's at once is a
    // statement of a second and more at the city): each street's by
    // community, and the whole of any other child (a community where the
    // division codes merge a street into its district), whose dwellings
    // have no street. The district's figures are their sums by street.
    let children = board::paced(jinlin_places::store::all_children(conn, d.id)).await?;
    let mut reach = Vec::new();
    for c in &children {
        let tallies = board::paced(jinlin_micro_grids::store::coverage(conn, c)).await?;
        if c.kind == PlaceKind::Street.as_str() {
            reach.extend(tallies.into_iter().map(|(k, t)| ((Some(c.id), k), t)));
        } else {
            let whole = Tally::sum(tallies.iter().map(|(_, t)| t));
            reach.push(((None, Some(c.id)), whole));
        }
    }
    let mut by_street: BTreeMap<Option<i64>, Tally> = BTreeMap::new();
    for ((street, _), t) in &reach {
        by_street.entry(*street).or_default().merge(t);
    }
    let known = board::Known {
        paced: true,
        covered: Some(covered.clone()),
        reach: Some(by_street.into_iter().collect()),
    };
    let b = board::gather_knowing(conn, d, now, known).await?;
    let mut rows = vec![Row {
        place_id: d.id,
        parent_id: d.parent_id,
        kind: "district",
        district_code: d.district_code.clone(),
        numbers: b.numbers,
        computed_at: now,
    }];
    for (s, _) in &b.children {
        let known = board::Known {
            paced: true,
            covered: Some(
                covered
                    .iter()
                    .filter(|(c, _)| c.street_id == Some(s.id))
                    .cloned()
                    .collect(),
            ),
            reach: Some(
                reach
                    .iter()
                    .filter(|((street, _), _)| *street == Some(s.id))
                    .map(|((_, community), t)| (*community, *t))
                    .collect(),
            ),
        };
        let sb = board::gather_knowing(conn, s, now, known).await?;
        rows.push(Row {
            place_id: s.id,
            parent_id: s.parent_id,
            kind: "street",
            district_code: s.district_code.clone(),
            numbers: sb.numbers,
            computed_at: now,
        });
        for (c, n) in sb.children {
            rows.push(Row {
                place_id: c.id,
                parent_id: c.parent_id,
                kind: "community",
                district_code: c.district_code.clone(),
                numbers: n,
                computed_at: now,
            });
        }
    }
    Ok(rows)
}

/// [`gather_district`] as background work, on one core.
async fn gather_on_one_core(
    conn: &DatabaseConnection,
    d: &place::Model,
    now: DateTime<Utc>,
) -> Result<Vec<Row>, ApiError> {
    match one_core_reads(conn).await? {
        Some(tx) => {
            let rows = gather_district(&tx, d, now).await?;
            tx.commit().await?;
            Ok(rows)
        }
        None => gather_district(conn, d, now).await,
    }
}

/// On PostgreSQL, a read-only transaction that plans no parallel workers,
/// so reads in the background take one core: a district's aggregates
/// would otherwise run as a leader and two workers, every core of a small
/// machine, while the requests wait. None on SQLite (one thread anyway).
pub async fn one_core_reads(
    conn: &DatabaseConnection,
) -> Result<Option<DatabaseTransaction>, DbErr> {
    if conn.get_database_backend() != DbBackend::Postgres {
        return Ok(None);
    }
    let tx = conn.begin().await?;
    tx.execute_unprepared("SET TRANSACTION READ ONLY").await?;
    tx.execute_unprepared("SET LOCAL max_parallel_workers_per_gather = 0")
        .await?;
    Ok(Some(tx))
}

/// The PostgreSQL advisory locks that serialise the sums of one tree of
/// districts (this plus the id of the province or city at its top), so
/// that a city's sum sees every district written before it.
const ROLL_UP_LOCK: i64 = 0x6a69_6e6c_696e_c0c7;

/// How long a district's write waits on PostgreSQL for another district
/// of its tree to finish its sums; past it the write is retried.
const ROLL_UP_WAIT: &str = "30s";

/// District refreshes one node runs at once: each holds a pooled
/// connection and a core while it gathers, and requests need them too
/// (on a new database every district is due at once).
static AT_ONCE: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Writes of a district's figures refused for load before the job gives
/// up (the gathering is not done again); a second apart, then two, four…
const WRITE_TRIES: u32 = 5;

/// Recomputes one district's figures as of `now` and writes them, with
/// the day's snapshots, and the sums of the city and province above it
/// when all their districts have figures, in one transaction. The boards
/// are gathered first, outside it, so readers and writers are not held
/// up while it reads. `since` and `districts` say when the period's
/// refresh began and for how many districts, to tell when it is whole.
pub async fn refresh_district(
    db: &Database,
    district: &place::Model,
    now: DateTime<Utc>,
    since: DateTime<Utc>,
    districts: usize,
) -> Result<DistrictReport, ApiError> {
    // The heaviest read of all: from the replica when one keeps up (the
    // figures are then at most its lag limit older than `now` says).
    let (rows, gathering) = {
        let _turn = AT_ONCE.acquire().await;
        let started = Instant::now();
        let rows = gather_on_one_core(db.reads(), district, now).await?;
        (rows, started.elapsed())
    };
    let tops = above(db.conn(), district).await?;
    let started = Instant::now();
    let mut tries = 0;
    let written = loop {
        match write_district(db, district, &tops, &rows, now).await {
            Err(e) if jinlin_kernel::db::is_overloaded(&e) && tries + 1 < WRITE_TRIES => {
                tokio::time::sleep(Duration::from_secs(1 << tries)).await;
                tries += 1;
            }
            result => break result?,
        }
    };
    let writing = started.elapsed();
    Ok(DistrictReport {
        nodes: rows.len() + written,
        whole: whole_since(db.conn(), since, districts).await?,
        gathering,
        writing,
    })
}

/// The cities and provinces above `district`, nearest first.
async fn above(
    db: &impl ConnectionTrait,
    district: &place::Model,
) -> Result<Vec<place::Model>, DbErr> {
    let mut tops = Vec::new();
    let mut next = district.parent_id;
    while let Some(id) = next {
        let Some(p) = jinlin_places::store::find(db, id).await? else {
            break;
        };
        next = p.parent_id;
        if matches!(
            PlaceKind::parse(&p.kind),
            Some(PlaceKind::City | PlaceKind::Province)
        ) {
            tops.push(p);
        }
    }
    Ok(tops)
}

/// The write of [`refresh_district`], one transaction; returns the
/// number of cities and provinces summed.
async fn write_district(
    db: &Database,
    district: &place::Model,
    tops: &[place::Model],
    rows: &[Row],
    now: DateTime<Utc>,
) -> Result<usize, DbErr> {
    let backend = db.backend();
    let tx = db.write().await?;
    if let (DbBackend::Postgres, Some(top)) = (backend, tops.last()) {
        tx.execute_unprepared(&format!("SET LOCAL lock_timeout = '{ROLL_UP_WAIT}'"))
            .await?;
        tx.execute_raw(Statement::from_sql_and_values(
            backend,
            "SELECT pg_advisory_xact_lock($1)",
            [ROLL_UP_LOCK.wrapping_add(top.id).into()],
        ))
        .await?;
    }
    write(&tx, rows, now, Replace::Older).await?;
    if let Some(code) = &district.district_code {
        // The district's streets and communities gone from the tree.
        let sql = format!(
            "DELETE FROM cockpit_figures WHERE district_code = {} \
             AND kind IN ('street', 'community') AND computed_at < {}",
            ph(backend, 1),
            ph(backend, 2)
        );
        tx.execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [code.clone().into(), now.into()],
        ))
        .await?;
    }
    let sums = roll_up(&tx, tops, now).await?;
    write(&tx, &sums, now, Replace::All).await?;
    tx.commit().await?;
    Ok(sums.len())
}

/// The number of nodes computed since `since`, once `districts` districts
/// have been. Every district's job asks; only the last counts the nodes.
async fn whole_since(
    db: &impl ConnectionTrait,
    since: DateTime<Utc>,
    districts: usize,
) -> Result<Option<usize>, DbErr> {
    let backend = db.get_database_backend();
    // Rows of `cockpit_figures` computed since, among those `also` allows.
    let count = |also: &'static str| async move {
        let sql = format!(
            "SELECT COUNT(*) AS n FROM cockpit_figures WHERE computed_at >= {}{also}",
            ph(backend, 1)
        );
        let row = db
            .query_one_raw(Statement::from_sql_and_values(backend, sql, [since.into()]))
            .await?;
        Ok::<_, DbErr>(
            row.map(|r| r.try_get::<i64>("", "n"))
                .transpose()?
                .unwrap_or(0) as usize,
        )
    };
    // Through the index on (kind, computed_at): the districts' rows only.
    if count(" AND kind = 'district'").await? < districts {
        return Ok(None);
    }
    Ok(Some(count("").await?))
}

/// Each of `tops` (the cities and provinces above a district) summed from
/// the stored figures of all its districts, as of the oldest of them (a
/// district whose refresh keeps failing leaves its city's figures marked
/// as old as its own, not as fresh as the rest); one whose districts do
/// not all have figures yet is left as it was (it would count only some).
async fn roll_up(
    tx: &DatabaseTransaction,
    tops: &[place::Model],
    now: DateTime<Utc>,
) -> Result<Vec<Row>, DbErr> {
    let mut rows = Vec::new();
    for top in tops {
        let ds = districts_under(tx, top.id).await?;
        let stored = stored_numbers(tx, ds.iter().map(|d| d.id)).await?;
        if ds.iter().any(|d| !stored.contains_key(&d.id)) {
            continue;
        }
        let codes: Vec<String> = ds.iter().filter_map(|d| d.district_code.clone()).collect();
        let agencies = distinct_items(
            tx,
            "SELECT DISTINCT agency_id AS item FROM agency_pairing WHERE ended_at IS NULL",
            &codes,
        )
        .await?;
        let orgs = distinct_items(
            tx,
            "SELECT DISTINCT org_id AS item FROM social_org_admission WHERE state = 'approved'",
            &codes,
        )
        .await?;
        let stored: Vec<&(Numbers, DateTime<Utc>)> =
            ds.iter().filter_map(|d| stored.get(&d.id)).collect();
        let as_of = rules::sum_as_of(stored.iter().map(|(_, at)| *at), now);
        let parts: Vec<(&Numbers, DateTime<Utc>)> = stored.iter().map(|(n, at)| (n, *at)).collect();
        let kind = if top.kind == PlaceKind::City.as_str() {
            "city"
        } else {
            "province"
        };
        rows.push(Row {
            place_id: top.id,
            parent_id: top.parent_id,
            kind,
            district_code: None,
            numbers: Numbers::sum_of_districts(&parts, agencies, orgs),
            computed_at: as_of,
        });
    }
    Ok(rows)
}

/// The stored figures of the given nodes, with when they were computed,
/// by place id.
async fn stored_numbers(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = i64>,
) -> Result<HashMap<i64, (Numbers, DateTime<Utc>)>, DbErr> {
    let backend = db.get_database_backend();
    let ids: Vec<i64> = ids.into_iter().collect();
    let mut out = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let sql = format!(
            "SELECT place_id, numbers, computed_at FROM cockpit_figures WHERE place_id IN ({})",
            phs(backend, 0, chunk.len())
        );
        let values: Vec<Value> = chunk.iter().map(|id| (*id).into()).collect();
        for r in db
            .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?
        {
            out.insert(
                r.try_get::<i64>("", "place_id")?,
                (
                    parse_numbers(&r.try_get::<String>("", "numbers")?)?,
                    r.try_get("", "computed_at")?,
                ),
            );
        }
    }
    Ok(out)
}

/// How many distinct items `select` (`SELECT DISTINCT … AS item … WHERE
/// …`) finds in the districts of `codes`: agencies currently paired, or
/// organisations admitted, each counted once however many districts it
/// serves.
async fn distinct_items(
    db: &impl ConnectionTrait,
    select: &str,
    codes: &[String],
) -> Result<u64, DbErr> {
    let backend = db.get_database_backend();
    let mut items: HashSet<i64> = HashSet::new();
    for chunk in codes.chunks(CHUNK) {
        let sql = format!(
            "{select} AND district_code IN ({})",
            phs(backend, 0, chunk.len())
        );
        let values: Vec<Value> = chunk.iter().map(|c| c.clone().into()).collect();
        for r in db
            .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?
        {
            items.insert(r.try_get("", "item")?);
        }
    }
    Ok(items.len() as u64)
}

/// Rows per INSERT: well under SQLite's 32,766 bound parameters.
const CHUNK: usize = 500;

/// Which stored rows a write replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Replace {
    /// Only rows computed no later: a late retry of an older gathering
    /// does not undo a newer one.
    Older,
    /// Every row: sums, which are written one at a time (the writer, or
    /// the tree's lock), each seeing every district written before it.
    All,
}

/// Writes `rows`, and the snapshot of each for the day of `now`.
async fn write(
    tx: &DatabaseTransaction,
    rows: &[Row],
    now: DateTime<Utc>,
    replace: Replace,
) -> Result<(), DbErr> {
    let (figures_if, snapshot_if) = match replace {
        Replace::Older => (
            " WHERE cockpit_figures.computed_at <= excluded.computed_at",
            " WHERE cockpit_snapshot.computed_at <= excluded.computed_at",
        ),
        Replace::All => ("", ""),
    };
    let backend = tx.get_database_backend();
    let day = now
        .with_timezone(&jinlin_kernel::time::china())
        .date_naive()
        .to_string();
    for chunk in rows.chunks(CHUNK) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 6);
        let mut tuples = Vec::with_capacity(chunk.len());
        let mut snaps = Vec::with_capacity(chunk.len());
        let mut snap_values: Vec<Value> = Vec::with_capacity(chunk.len() * 4);
        for r in chunk {
            let numbers = serde_json::to_string(&r.numbers)
                .map_err(|e| DbErr::Custom(format!("cockpit figures: {e}")))?;
            let base = values.len();
            values.extend([
                r.place_id.into(),
                r.parent_id.into(),
                r.kind.into(),
                r.district_code.clone().into(),
                numbers.clone().into(),
                r.computed_at.into(),
            ]);
            tuples.push(format!("({})", phs(backend, base, 6)));
            let base = snap_values.len();
            snap_values.extend([
                r.place_id.into(),
                day.clone().into(),
                numbers.into(),
                r.computed_at.into(),
            ]);
            snaps.push(format!("({})", phs(backend, base, 4)));
        }
        let sql = format!(
            "INSERT INTO cockpit_figures \
               (place_id, parent_id, kind, district_code, numbers, computed_at) \
             VALUES {} ON CONFLICT (place_id) DO UPDATE SET \
               parent_id = excluded.parent_id, kind = excluded.kind, \
               district_code = excluded.district_code, numbers = excluded.numbers, \
               computed_at = excluded.computed_at{figures_if}",
            tuples.join(", ")
        );
        tx.execute_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
        let sql = format!(
            "INSERT INTO cockpit_snapshot (place_id, day, numbers, computed_at) \
             VALUES {} ON CONFLICT (place_id, day) DO UPDATE SET \
               numbers = excluded.numbers, computed_at = excluded.computed_at{snapshot_if}",
            snaps.join(", ")
        );
        tx.execute_raw(Statement::from_sql_and_values(backend, sql, snap_values))
            .await?;
    }
    Ok(())
}

/// The board a reader sees. At a street and above: the maintained figures
/// (the node's row and its children's), with the time they were computed,
/// and a refresh asked of the job queue when they are older than
/// [`STALE_AFTER`]. Missing (a new database, before the first refresh): a
/// district or street is gathered live this once, a city or province
/// waits for the refresh (`503`, "being computed"). Below a street: live.
pub async fn board(
    db: &Database,
    node: &place::Model,
    now: DateTime<Utc>,
) -> Result<board::Board, ApiError> {
    // Figures only: the caller checked the node against the reader's
    // access on the primary.
    let conn = db.reads();
    let kind = PlaceKind::parse(&node.kind);
    if !maintained(kind) {
        return board::gather(conn, node, now).await;
    }
    let Some((own, stored)) = read(conn, node.id).await? else {
        request_refresh(db, now).await?;
        if matches!(kind, Some(PlaceKind::District | PlaceKind::Street)) {
            return board::gather(conn, node, now).await;
        }
        return Err(ApiError::with_message(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "figures_pending",
            jinlin_kernel::i18n::current()
                .t("cockpit.error.pending")
                .into_owned(),
        ));
    };
    if !rules::is_fresh(Some(own.computed_at), now, STALE_AFTER) {
        request_refresh(db, now).await?;
    }
    let child_kind = kind.and_then(PlaceKind::child);
    let children = match child_kind {
        Some(ck) => jinlin_places::store::all_children(conn, node.id)
            .await?
            .into_iter()
            .filter(|c| c.kind == ck.as_str())
            .map(|c| {
                let n = stored
                    .get(&c.id)
                    .map(|s| s.numbers.clone())
                    .unwrap_or_default();
                (c, n)
            })
            .collect(),
        None => Vec::new(),
    };
    let behind = children
        .iter()
        .map(|(c, _)| board::Behind {
            place_id: c.id,
            name: c.name.clone(),
            computed_at: stored.get(&c.id).map(|s| s.computed_at),
        })
        .filter(|b| !rules::is_fresh(b.computed_at, now, STALE_AFTER))
        .collect();
    Ok(board::Board {
        node: node.clone(),
        numbers: own.numbers,
        children,
        quarter: jinlin_joint_meetings::rules::Quarter::of(own.computed_at),
        computed_at: Some(own.computed_at),
        behind,
    })
}
