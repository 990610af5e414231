//! Queries of mobilisations. Opening fills the units and households with
//! two `INSERT … SELECT`s; coverage sums the units, never the households;
//! marking locks the households it marks, in id order, and moves each
//! unit's counter in the same transaction.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use jinlin_kernel::db::Params;
use jinlin_kernel::place::entity as place;
use jinlin_kernel::place::{PlaceKind, Position};
use jinlin_micro_grids::store::{GRID_JOINED, grid_joins_under, scope_column};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect,
};

use crate::entity::{mobilisation, mobilisation_household, mobilisation_unit};
use crate::rules::{Coverage, Method};

/// Fills mobilisation `id` with a unit per grid of the scope (and per
/// compound for its dwellings in no grid) and a row per household; returns
/// the number of households. Run it in the transaction that inserted the
/// mobilisation.
///
/// The dwellings of the scope with their grids are found once: on
/// PostgreSQL in one statement whose first part inserts the units and whose
/// second joins the households to them, with memory enough to hash a
/// district's dwellings; SQLite, which cannot insert inside `WITH`, runs
/// the two parts as two statements.
pub async fn fill(tx: &impl ConnectionTrait, id: i64, scope: &place::Model) -> Result<u64, DbErr> {
    let backend = tx.get_database_backend();
    // Each part binds its values in the order it is written in.
    let dwellings = |p: &mut Params| {
        scope_column(scope).map(|(column, value)| {
            let joins = grid_joins_under(column, &p.bind(value.clone()));
            format!(
                "x AS (SELECT p.id, p.street_id, p.community_id, p.compound_id, {GRID_JOINED} AS g \
                 FROM place p {joins} WHERE p.kind = 'dwelling' AND p.{column} = {})",
                p.bind(value)
            )
        })
    };
    let units = |p: &mut Params| {
        format!(
            "INSERT INTO mobilisation_unit \
               (mobilisation_id, street_id, community_id, compound_id, grid_id, worker_account_id, households, reached) \
             SELECT {}, x.street_id, x.community_id, x.compound_id, x.g, g.worker_account_id, COUNT(*), 0 \
             FROM x LEFT JOIN micro_grid g ON g.id = x.g \
             GROUP BY x.street_id, x.community_id, x.compound_id, x.g, g.worker_account_id",
            p.bind(id)
        )
    };
    let households = |p: &mut Params, units_of: &str| {
        format!(
            "INSERT INTO mobilisation_household (mobilisation_id, unit_id, dwelling_id) \
             SELECT {}, u.id, x.id FROM x JOIN {units_of} u \
               ON u.compound_id = x.compound_id AND COALESCE(u.grid_id, 0) = COALESCE(x.g, 0)",
            p.bind(id)
        )
    };
    let mut p = Params::new(backend);
    let Some(x) = dwellings(&mut p) else {
        return Ok(0);
    };
    let done = if backend == DbBackend::Postgres {
        tx.execute_unprepared("SET LOCAL work_mem = '64MB'").await?;
        let sql = format!(
            "WITH {}, u AS ({} RETURNING id, compound_id, grid_id) {}",
            x.replacen("x AS (", "x AS MATERIALIZED (", 1),
            units(&mut p),
            households(&mut p, "u")
        );
        let done = tx.execute_raw(p.statement(sql)).await?;
        // The marks start the moment the notice is out, before autovacuum
        // has seen the new rows: without fresh statistics the planner takes
        // the households of a district for an empty table and scans it
        // whole for every mark. ANALYZE counts this transaction's rows.
        tx.execute_unprepared("ANALYZE mobilisation_household, mobilisation_unit")
            .await?;
        done
    } else {
        let sql = format!("WITH {x} {}", units(&mut p));
        tx.execute_raw(p.statement(sql)).await?;
        let mut p = Params::new(backend);
        let x = dwellings(&mut p).unwrap_or_default();
        let inserted = households(&mut p, "mobilisation_unit");
        let sql = format!("WITH {x} {inserted} AND u.mobilisation_id = {}", p.bind(id));
        tx.execute_raw(p.statement(sql)).await?
    };
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
    /// Where the compound is, to tell its officials.
    pub compound_code: Option<String>,
    pub compound_district_code: Option<String>,
    pub compound_street_id: Option<i64>,
    pub compound_community_id: Option<i64>,
    pub compound_compound_id: Option<i64>,
}

impl MarkTarget {
    /// The position of the household's compound in the tree.
    pub fn compound_position(&self) -> Position {
        Position {
            id: self.compound_id,
            kind: Some(PlaceKind::Compound),
            code: self.compound_code.clone(),
            district_code: self.compound_district_code.clone(),
            street_id: self.compound_street_id,
            community_id: self.compound_community_id,
            compound_id: self.compound_compound_id,
            building_id: None,
            entrance_id: None,
        }
    }
}

/// The households of mobilisation `id` among `dwellings` with their units
/// and compounds, in one query: all a batch of marks is checked against.
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
        "SELECT h.dwelling_id, u.id AS unit_id, u.compound_id, u.grid_id, u.worker_account_id, \
                c.code AS compound_code, c.district_code AS compound_district_code, \
                c.street_id AS compound_street_id, c.community_id AS compound_community_id, \
                c.compound_id AS compound_compound_id \
         FROM mobilisation_household h JOIN mobilisation_unit u ON u.id = h.unit_id \
              JOIN place c ON c.id = u.compound_id \
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
/// moves each unit's counter (and full time) by as many. Returns how many
/// were newly reached.
pub async fn mark(
    tx: &impl ConnectionTrait,
    id: i64,
    dwellings: &[i64],
    by: i64,
    method: Method,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let claims: Vec<Claim> = dwellings
        .iter()
        .map(|d| Claim {
            dwelling_id: *d,
            by,
            method,
        })
        .collect();
    Ok(mark_all(tx, id, &claims, now).await?.len() as u64)
}

/// One household to mark, by whom and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    pub dwelling_id: i64,
    pub by: i64,
    pub method: Method,
}

/// Marks the households of mobilisation `id` claimed in `claims` (each
/// dwelling at most once) that are not yet reached, each by its claimant,
/// if the mobilisation is open; moves the units' counters (and full times)
/// by as many. Returns the dwellings newly reached.
///
/// Two statements whatever the number of claims. On PostgreSQL the
/// households and then the units are locked in id order, so overlapping
/// writers queue instead of deadlocking, and the outer conditions are
/// checked again once the locks are held; SQLite's write transaction
/// already holds the whole database.
pub async fn mark_all(
    tx: &impl ConnectionTrait,
    id: i64,
    claims: &[Claim],
    now: DateTime<Utc>,
) -> Result<Vec<i64>, DbErr> {
    if claims.is_empty() {
        return Ok(Vec::new());
    }
    let backend = tx.get_database_backend();
    let lock = if backend == DbBackend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let mut p = Params::new(backend);
    let rows: Vec<String> = claims
        .iter()
        .map(|c| {
            format!(
                "({}, {}, {})",
                p.bind(c.dwelling_id),
                p.bind(c.by),
                p.bind(c.method.as_str())
            )
        })
        .collect();
    let (t, m0, m1, m2) = (p.bind(now), p.bind(id), p.bind(id), p.bind(id));
    let marked: Vec<(i64, i64)> = tx
        .query_all_raw(p.statement(format!(
            "WITH claim (claimed, by_account, how) AS (VALUES {}) \
             UPDATE mobilisation_household AS h \
             SET reached_at = {t}, reached_by = claim.by_account, method = claim.how \
             FROM claim \
             WHERE h.dwelling_id = claim.claimed AND h.mobilisation_id = {m0} \
               AND h.id IN (SELECT id FROM mobilisation_household \
                            WHERE mobilisation_id = {m1} \
                              AND dwelling_id IN (SELECT claimed FROM claim) \
                            ORDER BY id{lock}) \
               AND h.reached_at IS NULL \
               AND EXISTS (SELECT 1 FROM mobilisation WHERE id = {m2} AND closed_at IS NULL) \
             RETURNING dwelling_id, unit_id",
            rows.join(", ")
        )))
        .await?
        .iter()
        .map(|r| Ok((r.try_get_by_index::<i64>(0)?, r.try_get_by_index::<i64>(1)?)))
        .collect::<Result<_, DbErr>>()?;
    let mut per_unit: BTreeMap<i64, i64> = BTreeMap::new();
    for (_, u) in &marked {
        *per_unit.entry(*u).or_default() += 1;
    }
    if !per_unit.is_empty() {
        if backend == DbBackend::Postgres {
            let mut p = Params::new(backend);
            let list: Vec<String> = per_unit.keys().map(|u| p.bind(*u)).collect();
            tx.execute_raw(p.statement(format!(
                "SELECT id FROM mobilisation_unit WHERE id IN ({}) ORDER BY id FOR UPDATE",
                list.join(", ")
            )))
            .await?;
        }
        let mut p = Params::new(backend);
        let rows: Vec<String> = per_unit
            .iter()
            .map(|(u, n)| format!("({}, {})", p.bind(*u), p.bind(*n)))
            .collect();
        let t = p.bind(now);
        tx.execute_raw(p.statement(format!(
            "WITH moved (unit_id, n) AS (VALUES {}) \
             UPDATE mobilisation_unit \
             SET reached = reached + moved.n, \
                 full_at = CASE WHEN reached + moved.n >= households \
                           THEN COALESCE(full_at, {t}) ELSE full_at END \
             FROM moved WHERE mobilisation_unit.id = moved.unit_id",
            rows.join(", ")
        )))
        .await?;
    }
    Ok(marked.into_iter().map(|(d, _)| d).collect())
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
