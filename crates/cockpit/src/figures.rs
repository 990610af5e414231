//! Maintained figures. Gathering a district's board reads every record of
//! its compounds (household reach alone tests every dwelling), which at a
//! city's 12,000 compounds and 3 million dwellings takes seconds, not the
//! tens of milliseconds a page may take. So the recurring job
//! `cockpit.refresh` gathers each district's and each street's board (a
//! street's gives its communities too) off the request path, sums the
//! districts into their city and the cities into their province (distinct
//! agencies and organisations counted from the items themselves), and
//! keeps each node's counts in `cockpit_figures` with the time they were
//! computed, and the day's counts in `cockpit_snapshot` (one row per node
//! per China date, the last refresh of the day winning) for the trends of
//! the standing figures. The cockpit of a street and above then reads two
//! indexed queries: the node's row and its children's.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use jinlin_kernel::auth::{AuthVia, Grant, Principal, Role};
use jinlin_kernel::jobs::{self, JobHandlers};
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::place::entity as place;
use jinlin_kernel::{ApiError, Database};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Statement, Value,
};

use crate::board;
use crate::rules::Numbers;

/// The job that refreshes every node's figures.
pub const KIND: &str = "cockpit.refresh";

/// How often the figures are refreshed; a node's cockpit shows when they
/// were computed, so at most this old (plus the refresh's own run).
pub const EVERY: Duration = Duration::from_secs(10 * 60);

/// The kinds whose cockpits read maintained figures; communities and
/// compounds are read live (a few hundred dwellings each).
pub fn maintained(kind: Option<PlaceKind>) -> bool {
    matches!(
        kind,
        Some(PlaceKind::Province | PlaceKind::City | PlaceKind::District | PlaceKind::Street)
    )
}

pub fn job_handlers() -> JobHandlers {
    JobHandlers::new().every(KIND, EVERY, |db, _| async move {
        let started = std::time::Instant::now();
        let report = refresh(&db, Utc::now()).await.map_err(|e| e.to_string())?;
        tracing::info!(
            nodes = report.nodes,
            ms = started.elapsed().as_millis() as u64,
            "cockpit figures refreshed"
        );
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

/// Who the refresh reads as: a district admin of the district, the
/// reader every capability's figure function answers in full.
pub fn reader(district: &place::Model) -> Principal {
    Principal {
        account_id: 0,
        username: KIND.into(),
        display_name: KIND.into(),
        person_id: None,
        language: None,
        grants: vec![Grant {
            role: Role::DistrictAdmin,
            place: district.position(),
            place_name: district.name.clone(),
        }],
        paired_compounds: Vec::new(),
        via: AuthVia::Token { can_write: false },
    }
}

/// One node's row to write.
struct Row {
    place_id: i64,
    parent_id: Option<i64>,
    kind: &'static str,
    district_code: Option<String>,
    numbers: Numbers,
}

/// What a refresh did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Report {
    pub nodes: usize,
}

async fn places_of(db: &impl ConnectionTrait, kind: PlaceKind) -> Result<Vec<place::Model>, DbErr> {
    place::Entity::find()
        .filter(place::Column::Kind.eq(kind.as_str()))
        .order_by_asc(place::Column::Id)
        .all(db)
        .await
}

/// `(district code, item)` pairs, each once: agencies currently paired, or
/// organisations admitted.
async fn distinct_by_district(
    db: &impl ConnectionTrait,
    sql: &str,
) -> Result<HashMap<String, HashSet<i64>>, DbErr> {
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_string(backend, sql.to_string()))
        .await?;
    let mut out: HashMap<String, HashSet<i64>> = HashMap::new();
    for r in &rows {
        let code: String = r.try_get("", "code")?;
        let item: i64 = r.try_get("", "item")?;
        out.entry(code).or_default().insert(item);
    }
    Ok(out)
}

/// Recomputes every node's figures as of `now` and writes them, with the
/// day's snapshot, in one transaction. The boards are gathered first,
/// outside it, so readers and writers are not held up while it reads.
pub async fn refresh(db: &Database, now: DateTime<Utc>) -> Result<Report, ApiError> {
    // The heaviest read of all: from the replica when one keeps up (the
    // figures are then at most its lag limit older than `now` says).
    let conn = db.reads();
    let mut rows: Vec<Row> = Vec::new();
    let mut by_district: HashMap<i64, (Option<String>, Numbers)> = HashMap::new();
    for d in places_of(conn, PlaceKind::District).await? {
        let who = reader(&d);
        let b = board::gather(conn, &who, &d, now).await?;
        by_district.insert(d.id, (d.district_code.clone(), b.numbers.clone()));
        rows.push(Row {
            place_id: d.id,
            parent_id: d.parent_id,
            kind: "district",
            district_code: d.district_code.clone(),
            numbers: b.numbers,
        });
        for (s, _) in &b.children {
            let sb = board::gather(conn, &who, s, now).await?;
            rows.push(Row {
                place_id: s.id,
                parent_id: s.parent_id,
                kind: "street",
                district_code: s.district_code.clone(),
                numbers: sb.numbers,
            });
            for (c, n) in sb.children {
                rows.push(Row {
                    place_id: c.id,
                    parent_id: c.parent_id,
                    kind: "community",
                    district_code: c.district_code.clone(),
                    numbers: n,
                });
            }
        }
    }

    // Cities and provinces: their districts summed, and the distinct
    // things counted over the union of the districts' items.
    let agencies = distinct_by_district(
        conn,
        "SELECT DISTINCT district_code AS code, agency_id AS item FROM agency_pairing \
         WHERE ended_at IS NULL",
    )
    .await?;
    let orgs = distinct_by_district(
        conn,
        "SELECT DISTINCT district_code AS code, org_id AS item FROM social_org_admission \
         WHERE state = 'approved'",
    )
    .await?;
    let cities = places_of(conn, PlaceKind::City).await?;
    let mut city_districts: HashMap<i64, Vec<i64>> = HashMap::new();
    for d in places_of(conn, PlaceKind::District).await? {
        if let Some(p) = d.parent_id {
            city_districts.entry(p).or_default().push(d.id);
        }
    }
    let sum = |districts: &[i64]| {
        let mut n = Numbers::default();
        let mut a: HashSet<i64> = HashSet::new();
        let mut o: HashSet<i64> = HashSet::new();
        for id in districts {
            if let Some((code, d)) = by_district.get(id) {
                n.add(d);
                let code = code.clone().unwrap_or_default();
                a.extend(agencies.get(&code).into_iter().flatten());
                o.extend(orgs.get(&code).into_iter().flatten());
            }
        }
        n.agencies_paired = a.len() as u64;
        n.orgs_admitted = o.len() as u64;
        if n.joint_meetings.is_none() {
            n.joint_meetings = Some(0);
        }
        n
    };
    let mut province_districts: HashMap<i64, Vec<i64>> = HashMap::new();
    for c in &cities {
        let ds = city_districts.get(&c.id).cloned().unwrap_or_default();
        if let Some(p) = c.parent_id {
            province_districts.entry(p).or_default().extend(&ds);
        }
        rows.push(Row {
            place_id: c.id,
            parent_id: c.parent_id,
            kind: "city",
            district_code: None,
            numbers: sum(&ds),
        });
    }
    for p in places_of(conn, PlaceKind::Province).await? {
        // Districts right under a province (no city level) count too.
        let mut ds = province_districts.remove(&p.id).unwrap_or_default();
        ds.extend(city_districts.get(&p.id).into_iter().flatten());
        rows.push(Row {
            place_id: p.id,
            parent_id: p.parent_id,
            kind: "province",
            district_code: None,
            numbers: sum(&ds),
        });
    }

    write(db, &rows, now).await?;
    Ok(Report { nodes: rows.len() })
}

/// Rows per INSERT: well under SQLite's 32,766 bound parameters.
const CHUNK: usize = 500;

async fn write(db: &Database, rows: &[Row], now: DateTime<Utc>) -> Result<(), DbErr> {
    let backend = db.backend();
    let day = now
        .with_timezone(&jinlin_kernel::time::china())
        .date_naive()
        .to_string();
    let tx = db.write().await?;
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
                now.into(),
            ]);
            tuples.push(format!(
                "({})",
                (1..=6)
                    .map(|i| ph(backend, base + i))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            let base = snap_values.len();
            snap_values.extend([
                r.place_id.into(),
                day.clone().into(),
                numbers.into(),
                now.into(),
            ]);
            snaps.push(format!(
                "({})",
                (1..=4)
                    .map(|i| ph(backend, base + i))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let sql = format!(
            "INSERT INTO cockpit_figures \
               (place_id, parent_id, kind, district_code, numbers, computed_at) \
             VALUES {} ON CONFLICT (place_id) DO UPDATE SET \
               parent_id = excluded.parent_id, kind = excluded.kind, \
               district_code = excluded.district_code, numbers = excluded.numbers, \
               computed_at = excluded.computed_at",
            tuples.join(", ")
        );
        tx.execute_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
        let sql = format!(
            "INSERT INTO cockpit_snapshot (place_id, day, numbers, computed_at) \
             VALUES {} ON CONFLICT (place_id, day) DO UPDATE SET \
               numbers = excluded.numbers, computed_at = excluded.computed_at",
            snaps.join(", ")
        );
        tx.execute_raw(Statement::from_sql_and_values(backend, sql, snap_values))
            .await?;
    }
    // Places gone from the tree since the last refresh.
    let sql = format!(
        "DELETE FROM cockpit_figures WHERE computed_at < {}",
        ph(backend, 1)
    );
    tx.execute_raw(Statement::from_sql_and_values(backend, sql, [now.into()]))
        .await?;
    tx.commit().await
}

/// The board a reader sees. At a street and above: the maintained figures
/// (the node's row and its children's), with the time they were computed,
/// and a refresh asked of the job queue when they are older than
/// [`EVERY`]. Missing (a new database, before the first refresh): a
/// district or street is gathered live this once, a city or province
/// waits for the refresh (`503`, "being computed"). Below a street: live.
pub async fn board(
    db: &Database,
    user: &Principal,
    node: &place::Model,
    now: DateTime<Utc>,
) -> Result<board::Board, ApiError> {
    // Figures only: the caller checked the node against the reader's
    // access on the primary.
    let conn = db.reads();
    let kind = PlaceKind::parse(&node.kind);
    if !maintained(kind) {
        return board::gather(conn, user, node, now).await;
    }
    let Some((own, stored)) = read(conn, node.id).await? else {
        request_refresh(db, now).await?;
        if matches!(kind, Some(PlaceKind::District | PlaceKind::Street)) {
            return board::gather(conn, user, node, now).await;
        }
        return Err(ApiError::with_message(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "figures_pending",
            jinlin_kernel::i18n::current()
                .t("cockpit.error.pending")
                .into_owned(),
        ));
    };
    if own.computed_at + chrono::Duration::from_std(EVERY).unwrap_or_default() < now {
        request_refresh(db, now).await?;
    }
    let child_kind = kind.and_then(PlaceKind::child);
    let children = match child_kind {
        Some(ck) => jinlin_places::store::children(conn, node.id, 1, 100_000)
            .await?
            .items
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
    Ok(board::Board {
        node: node.clone(),
        numbers: own.numbers,
        children,
        quarter: jinlin_joint_meetings::rules::Quarter::of(own.computed_at),
        computed_at: Some(own.computed_at),
    })
}
