//! Queries of mobilisations. Opening fills the units and households with
//! two `INSERT … SELECT`s; coverage sums the units, never the households;
//! marking locks the households it marks, in id order, and moves each
//! unit's counter in the same transaction.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::place::entity as place;
use jinlin_micro_grids::store::GRID;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect, Statement, Value,
};

use crate::entity::{mobilisation, mobilisation_household, mobilisation_unit};
use crate::rules::{Coverage, Method};

/// Placeholders numbered in order of appearance: `$n` on PostgreSQL, `?` on
/// SQLite (whose anonymous placeholders bind in the same order).
struct Params {
    backend: DbBackend,
    values: Vec<Value>,
}

impl Params {
    fn new(backend: DbBackend) -> Self {
        Params {
            backend,
            values: Vec::new(),
        }
    }

    fn bind(&mut self, v: impl Into<Value>) -> String {
        self.values.push(v.into());
        match self.backend {
            DbBackend::Postgres => format!("${}", self.values.len()),
            _ => "?".into(),
        }
    }

    fn statement(self, sql: String) -> Statement {
        Statement::from_sql_and_values(self.backend, sql, self.values)
    }
}

/// The condition on dwelling `p` of being under `scope`, or `None` for a
/// kind that cannot be a scope.
fn under(scope: &place::Model, params: &mut Params) -> Option<String> {
    Some(match PlaceKind::parse(&scope.kind)? {
        PlaceKind::District => format!(
            "p.district_code = {}",
            params.bind(scope.district_code.clone().unwrap_or_default())
        ),
        PlaceKind::Street => format!("p.street_id = {}", params.bind(scope.id)),
        PlaceKind::Community => format!("p.community_id = {}", params.bind(scope.id)),
        PlaceKind::Compound => format!("p.compound_id = {}", params.bind(scope.id)),
        _ => return None,
    })
}

/// Fills mobilisation `id` with a unit per grid of the scope (and per
/// compound for its dwellings in no grid) and a row per household; returns
/// the number of households. Run it in the transaction that inserted the
/// mobilisation.
pub async fn fill(tx: &impl ConnectionTrait, id: i64, scope: &place::Model) -> Result<u64, DbErr> {
    let backend = tx.get_database_backend();
    let mut p = Params::new(backend);
    let m = p.bind(id);
    let Some(cond) = under(scope, &mut p) else {
        return Ok(0);
    };
    tx.execute_raw(p.statement(format!(
        "INSERT INTO mobilisation_unit \
           (mobilisation_id, street_id, community_id, compound_id, grid_id, worker_account_id, households, reached) \
         SELECT {m}, x.street_id, x.community_id, x.compound_id, x.g, g.worker_account_id, COUNT(*), 0 \
         FROM (SELECT p.street_id, p.community_id, p.compound_id, {GRID} AS g \
               FROM place p WHERE p.kind = 'dwelling' AND {cond}) x \
         LEFT JOIN micro_grid g ON g.id = x.g \
         GROUP BY x.street_id, x.community_id, x.compound_id, x.g, g.worker_account_id"
    )))
    .await?;

    let mut p = Params::new(backend);
    let m1 = p.bind(id);
    let cond = under(scope, &mut p).unwrap_or_default();
    let m2 = p.bind(id);
    let done = tx
        .execute_raw(p.statement(format!(
            "INSERT INTO mobilisation_household (mobilisation_id, unit_id, dwelling_id) \
             SELECT {m1}, u.id, x.id \
             FROM (SELECT p.id, p.compound_id, {GRID} AS g \
                   FROM place p WHERE p.kind = 'dwelling' AND {cond}) x \
             JOIN mobilisation_unit u ON u.mobilisation_id = {m2} AND u.compound_id = x.compound_id \
               AND COALESCE(u.grid_id, 0) = COALESCE(x.g, 0)"
        )))
        .await?;
    if backend == DbBackend::Postgres {
        // The marks start the moment the notice is out, before autovacuum
        // has seen the new rows: without fresh statistics the planner takes
        // the households of a district for an empty table and scans it
        // whole for every mark. ANALYZE counts this transaction's rows.
        tx.execute_unprepared("ANALYZE mobilisation_household, mobilisation_unit")
            .await?;
    }
    Ok(done.rows_affected())
}

/// The children a level's coverage is broken down by, and the condition of
/// being under it, on `mobilisation_unit` columns.
fn level(node: &place::Model, params: &mut Params) -> Option<(&'static str, String)> {
    Some(match PlaceKind::parse(&node.kind)? {
        PlaceKind::District => ("street_id", "1 = 1".into()),
        PlaceKind::Street => (
            "community_id",
            format!("street_id = {}", params.bind(node.id)),
        ),
        PlaceKind::Community => (
            "compound_id",
            format!("community_id = {}", params.bind(node.id)),
        ),
        PlaceKind::Compound => ("id", format!("compound_id = {}", params.bind(node.id))),
        _ => return None,
    })
}

/// Coverage of each child of `node` within mobilisation `id`: streets,
/// communities, compounds, or (for a compound) units.
pub async fn coverage_by_child(
    db: &impl ConnectionTrait,
    id: i64,
    node: &place::Model,
) -> Result<Vec<(i64, Coverage)>, DbErr> {
    let mut p = Params::new(db.get_database_backend());
    let m = p.bind(id);
    let Some((key, cond)) = level(node, &mut p) else {
        return Ok(Vec::new());
    };
    let rows = db
        .query_all_raw(p.statement(format!(
            "SELECT {key} AS k, CAST(SUM(households) AS BIGINT) AS n, CAST(SUM(reached) AS BIGINT) AS r, \
               MAX(full_at) AS f, CAST(SUM(CASE WHEN full_at IS NULL THEN 1 ELSE 0 END) AS BIGINT) AS open \
             FROM mobilisation_unit WHERE mobilisation_id = {m} AND {cond} \
             GROUP BY {key} ORDER BY {key}"
        )))
        .await?;
    rows.iter()
        .filter_map(|r| {
            let k = match r.try_get::<Option<i64>>("", "k") {
                Ok(Some(k)) => k,
                Ok(None) => return None,
                Err(e) => return Some(Err(e)),
            };
            Some(coverage_row(r).map(|c| (k, c)))
        })
        .collect()
}

fn coverage_row(r: &sea_orm::QueryResult) -> Result<Coverage, DbErr> {
    let n = r.try_get::<Option<i64>>("", "n")?.unwrap_or(0).max(0) as u64;
    let reached = r.try_get::<Option<i64>>("", "r")?.unwrap_or(0).max(0) as u64;
    let open = r.try_get::<Option<i64>>("", "open")?.unwrap_or(0);
    let last: Option<DateTime<Utc>> = r.try_get("", "f")?;
    Ok(Coverage {
        households: n,
        reached,
        full_at: if open == 0 && n > 0 { last } else { None },
    })
}

/// The units of mobilisation `id` in `compound`, in id order.
pub async fn units_of_compound(
    db: &impl ConnectionTrait,
    id: i64,
    compound: i64,
) -> Result<Vec<mobilisation_unit::Model>, DbErr> {
    mobilisation_unit::Entity::find()
        .filter(mobilisation_unit::Column::MobilisationId.eq(id))
        .filter(mobilisation_unit::Column::CompoundId.eq(compound))
        .order_by_asc(mobilisation_unit::Column::Id)
        .all(db)
        .await
}

/// A household of a unit, as its grid worker follows it up.
#[derive(Debug, Clone)]
pub struct HouseholdRow {
    pub dwelling_id: i64,
    pub name: String,
    pub building: Option<String>,
    pub entrance: Option<String>,
    pub reached_at: Option<DateTime<Utc>>,
    pub reached_by: Option<i64>,
    pub method: Option<Method>,
}

/// A page of a unit's households, those not yet reached first (in registry
/// order), and how many match.
pub async fn households(
    db: &impl ConnectionTrait,
    unit: i64,
    reached: Option<bool>,
    limit: u64,
    offset: u64,
) -> Result<(u64, Vec<HouseholdRow>), DbErr> {
    let backend = db.get_database_backend();
    let filter = match reached {
        Some(true) => " AND h.reached_at IS NOT NULL",
        Some(false) => " AND h.reached_at IS NULL",
        None => "",
    };
    let mut p = Params::new(backend);
    let u = p.bind(unit);
    let total = db
        .query_one_raw(p.statement(format!(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM mobilisation_household h WHERE h.unit_id = {u}{filter}"
        )))
        .await?
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0) as u64;
    let mut p = Params::new(backend);
    let u = p.bind(unit);
    let rows = db
        .query_all_raw(p.statement(format!(
            "SELECT h.dwelling_id, h.reached_at, h.reached_by, h.method, d.name, bp.name AS building, ep.name AS entrance \
             FROM mobilisation_household h JOIN place d ON d.id = h.dwelling_id \
             LEFT JOIN place bp ON bp.id = d.building_id LEFT JOIN place ep ON ep.id = d.entrance_id \
             WHERE h.unit_id = {u}{filter} \
             ORDER BY CASE WHEN h.reached_at IS NULL THEN 0 ELSE 1 END, h.dwelling_id \
             LIMIT {limit} OFFSET {offset}"
        )))
        .await?;
    let items = rows
        .iter()
        .map(|r| {
            Ok(HouseholdRow {
                dwelling_id: r.try_get("", "dwelling_id")?,
                name: r.try_get("", "name")?,
                building: r.try_get("", "building")?,
                entrance: r.try_get("", "entrance")?,
                reached_at: r.try_get("", "reached_at")?,
                reached_by: r.try_get("", "reached_by")?,
                method: r
                    .try_get::<Option<String>>("", "method")?
                    .and_then(|m| Method::parse(&m)),
            })
        })
        .collect::<Result<_, DbErr>>()?;
    Ok((total, items))
}

/// Phones on file for each of `dwellings`' owners and residents:
/// (dwelling, person's name, phone).
pub async fn phones_of(
    db: &impl ConnectionTrait,
    dwellings: &[i64],
) -> Result<Vec<(i64, String, String)>, DbErr> {
    if dwellings.is_empty() {
        return Ok(Vec::new());
    }
    let mut p = Params::new(db.get_database_backend());
    let list = |p: &mut Params| {
        dwellings
            .iter()
            .map(|d| p.bind(*d))
            .collect::<Vec<_>>()
            .join(",")
    };
    let owners = list(&mut p);
    let residents = list(&mut p);
    let rows = db
        .query_all_raw(p.statement(format!(
            "SELECT o.dwelling_id AS d, pe.name, pe.phone FROM dwelling_owner o JOIN person pe ON pe.id = o.person_id \
             WHERE o.dwelling_id IN ({owners}) AND COALESCE(pe.phone, '') <> '' \
             UNION SELECT r.dwelling_id AS d, pr.name, pr.phone FROM dwelling_resident r JOIN person pr ON pr.id = r.person_id \
             WHERE r.dwelling_id IN ({residents}) AND COALESCE(pr.phone, '') <> '' \
             ORDER BY d, name"
        )))
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("", "d")?,
                r.try_get("", "name")?,
                r.try_get("", "phone")?,
            ))
        })
        .collect()
}

/// The households of mobilisation `id` among `dwellings`, unlocked.
pub async fn households_of(
    db: &impl ConnectionTrait,
    id: i64,
    dwellings: &[i64],
) -> Result<Vec<mobilisation_household::Model>, DbErr> {
    if dwellings.is_empty() {
        return Ok(Vec::new());
    }
    mobilisation_household::Entity::find()
        .filter(mobilisation_household::Column::MobilisationId.eq(id))
        .filter(mobilisation_household::Column::DwellingId.is_in(dwellings.iter().copied()))
        .all(db)
        .await
}

/// A household of a mobilisation with what its unit says about who may
/// mark it.
#[derive(Debug, Clone, FromQueryResult)]
pub struct MarkTarget {
    pub dwelling_id: i64,
    pub unit_id: i64,
    pub compound_id: i64,
    pub grid_id: Option<i64>,
    pub worker_account_id: Option<i64>,
}

/// The households of mobilisation `id` among `dwellings` with their units,
/// in one query: all a batch of marks is checked against.
pub async fn mark_targets(
    db: &impl ConnectionTrait,
    id: i64,
    dwellings: &[i64],
) -> Result<Vec<MarkTarget>, DbErr> {
    if dwellings.is_empty() {
        return Ok(Vec::new());
    }
    let mut p = Params::new(db.get_database_backend());
    let m = p.bind(id);
    let list: Vec<String> = dwellings.iter().map(|d| p.bind(*d)).collect();
    MarkTarget::find_by_statement(p.statement(format!(
        "SELECT h.dwelling_id, u.id AS unit_id, u.compound_id, u.grid_id, u.worker_account_id \
         FROM mobilisation_household h JOIN mobilisation_unit u ON u.id = h.unit_id \
         WHERE h.mobilisation_id = {m} AND h.dwelling_id IN ({})",
        list.join(", ")
    )))
    .all(db)
    .await
}

/// Whether mobilisation `id` is closed, read in the marking transaction so
/// that no mark lands after a close has committed.
pub async fn is_closed(tx: &impl ConnectionTrait, id: i64) -> Result<Option<bool>, DbErr> {
    Ok(mobilisation::Entity::find_by_id(id)
        .select_only()
        .column(mobilisation::Column::ClosedAt)
        .into_tuple::<Option<DateTime<Utc>>>()
        .one(tx)
        .await?
        .map(|closed| closed.is_some()))
}

/// The households of mobilisation `id` among `dwellings`, in id order,
/// locked until the transaction ends (PostgreSQL; SQLite's write
/// transaction already holds the database), so two marks of one household
/// count once and concurrent batches take their locks in the same order.
pub async fn lock_households(
    tx: &impl ConnectionTrait,
    id: i64,
    dwellings: &[i64],
) -> Result<Vec<mobilisation_household::Model>, DbErr> {
    if dwellings.is_empty() {
        return Ok(Vec::new());
    }
    mobilisation_household::Entity::find()
        .filter(mobilisation_household::Column::MobilisationId.eq(id))
        .filter(mobilisation_household::Column::DwellingId.is_in(dwellings.iter().copied()))
        .order_by_asc(mobilisation_household::Column::Id)
        .lock_exclusive()
        .all(tx)
        .await
}

/// Marks the households of mobilisation `id` among `dwellings` not yet
/// reached as reached by `by` at `now`, if the mobilisation is open, and
/// moves each unit's counter (and full time) by as many, units in id order.
/// Returns how many were newly reached.
///
/// One statement finds, locks and marks: on PostgreSQL the inner select
/// locks the rows in id order, so overlapping batches queue instead of
/// deadlocking, and the outer condition is checked again once the lock is
/// held; SQLite's write transaction already holds the whole database.
pub async fn mark(
    tx: &impl ConnectionTrait,
    id: i64,
    dwellings: &[i64],
    by: i64,
    method: Method,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    if dwellings.is_empty() {
        return Ok(0);
    }
    let backend = tx.get_database_backend();
    let lock = if backend == DbBackend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let mut p = Params::new(backend);
    let (t, b, how) = (p.bind(now), p.bind(by), p.bind(method.as_str()));
    let m1 = p.bind(id);
    let list: Vec<String> = dwellings.iter().map(|d| p.bind(*d)).collect();
    let m2 = p.bind(id);
    let units: Vec<i64> = tx
        .query_all_raw(p.statement(format!(
            "UPDATE mobilisation_household SET reached_at = {t}, reached_by = {b}, method = {how} \
             WHERE id IN (SELECT id FROM mobilisation_household \
                          WHERE mobilisation_id = {m1} AND dwelling_id IN ({}) \
                          ORDER BY id{lock}) \
               AND reached_at IS NULL \
               AND EXISTS (SELECT 1 FROM mobilisation WHERE id = {m2} AND closed_at IS NULL) \
             RETURNING unit_id",
            list.join(", ")
        )))
        .await?
        .iter()
        .map(|r| r.try_get_by_index::<i64>(0))
        .collect::<Result<_, _>>()?;
    let mut per_unit: BTreeMap<i64, i64> = BTreeMap::new();
    for u in &units {
        *per_unit.entry(*u).or_default() += 1;
    }
    for (unit, n) in per_unit {
        let mut p = Params::new(backend);
        let (a, b, t, u) = (p.bind(n), p.bind(n), p.bind(now), p.bind(unit));
        tx.execute_raw(p.statement(format!(
            "UPDATE mobilisation_unit SET reached = reached + {a}, \
               full_at = CASE WHEN reached + {b} >= households THEN COALESCE(full_at, {t}) ELSE full_at END \
             WHERE id = {u}"
        )))
        .await?;
    }
    Ok(units.len() as u64)
}

/// Takes back the mark of the locked, reached household `row`: it counts
/// as not reached again, and its unit is no longer full.
pub async fn unmark(
    tx: &impl ConnectionTrait,
    row: &mobilisation_household::Model,
) -> Result<(), DbErr> {
    mobilisation_household::Entity::update_many()
        .col_expr(
            mobilisation_household::Column::ReachedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            mobilisation_household::Column::ReachedBy,
            Expr::value(Option::<i64>::None),
        )
        .col_expr(
            mobilisation_household::Column::Method,
            Expr::value(Option::<String>::None),
        )
        .filter(mobilisation_household::Column::Id.eq(row.id))
        .exec(tx)
        .await?;
    let mut p = Params::new(tx.get_database_backend());
    let u = p.bind(row.unit_id);
    tx.execute_raw(p.statement(format!(
        "UPDATE mobilisation_unit SET reached = reached - 1, full_at = NULL WHERE id = {u}"
    )))
    .await?;
    Ok(())
}

/// Inserts a mobilisation row; returns its id.
pub async fn insert(
    tx: &impl ConnectionTrait,
    row: mobilisation::ActiveModel,
) -> Result<i64, DbErr> {
    Ok(mobilisation::Entity::insert(row)
        .exec(tx)
        .await?
        .last_insert_id)
}

pub async fn set_households(tx: &impl ConnectionTrait, id: i64, n: u64) -> Result<(), DbErr> {
    mobilisation::Entity::update(mobilisation::ActiveModel {
        id: Set(id),
        households: Set(n as i64),
        ..Default::default()
    })
    .exec(tx)
    .await?;
    Ok(())
}

/// Mobilisations of the given districts, newest first.
pub async fn of_districts(
    db: &impl ConnectionTrait,
    districts: &[String],
    limit: u64,
) -> Result<Vec<mobilisation::Model>, DbErr> {
    if districts.is_empty() {
        return Ok(Vec::new());
    }
    mobilisation::Entity::find()
        .filter(mobilisation::Column::DistrictCode.is_in(districts.iter().cloned()))
        .order_by_desc(mobilisation::Column::SentAt)
        .order_by_desc(mobilisation::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Ids of mobilisations with a unit worked by `account`.
pub async fn worked_by(db: &impl ConnectionTrait, account: i64) -> Result<Vec<i64>, DbErr> {
    mobilisation_unit::Entity::find()
        .select_only()
        .column(mobilisation_unit::Column::MobilisationId)
        .filter(mobilisation_unit::Column::WorkerAccountId.eq(account))
        .distinct()
        .into_tuple()
        .all(db)
        .await
}

/// (mobilisation, dwelling, reached) of the given dwellings' households.
pub async fn of_dwellings(
    db: &impl ConnectionTrait,
    dwellings: &[i64],
) -> Result<Vec<mobilisation_household::Model>, DbErr> {
    if dwellings.is_empty() {
        return Ok(Vec::new());
    }
    mobilisation_household::Entity::find()
        .filter(mobilisation_household::Column::DwellingId.is_in(dwellings.iter().copied()))
        .all(db)
        .await
}

/// Totals of many mobilisations at once: id → coverage.
pub async fn totals(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<BTreeMap<i64, Coverage>, DbErr> {
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let mut p = Params::new(db.get_database_backend());
    let list: Vec<String> = ids.iter().map(|i| p.bind(*i)).collect();
    let rows = db
        .query_all_raw(p.statement(format!(
            "SELECT mobilisation_id AS k, CAST(SUM(households) AS BIGINT) AS n, CAST(SUM(reached) AS BIGINT) AS r, \
               MAX(full_at) AS f, CAST(SUM(CASE WHEN full_at IS NULL THEN 1 ELSE 0 END) AS BIGINT) AS open \
             FROM mobilisation_unit WHERE mobilisation_id IN ({}) GROUP BY mobilisation_id",
            list.join(",")
        )))
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get::<i64>("", "k")?, coverage_row(r)?)))
        .collect()
}

/// Takes the mobilisation's row lock (PostgreSQL) so closing is decided
/// once.
pub async fn lock(
    tx: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<mobilisation::Model>, DbErr> {
    mobilisation::Entity::find_by_id(id)
        .lock_exclusive()
        .one(tx)
        .await
}
