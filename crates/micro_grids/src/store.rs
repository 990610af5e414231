//! Queries of micro-grids. Reachability and coverage are counted in SQL, one
//! grouped query per level, never one query per dwelling.

use std::collections::HashMap;

use jinlin_kernel::db::Params;
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::place::entity as place;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement, Value,
};

use crate::entity::{micro_grid, micro_grid_building};
use crate::rules::{Reach, Tally};

/// The grid of dwelling `p`: its building's grid, else its compound's
/// whole-compound grid (`rules::grid_of`).
pub const GRID: &str = "COALESCE((SELECT b.grid_id FROM micro_grid_building b WHERE b.building_id = p.building_id), \
     (SELECT MIN(g.id) FROM micro_grid g WHERE g.compound_id = p.compound_id AND g.whole_compound))";

/// The rule of [`GRID`] as joins, for statements over the many dwellings
/// under one place: the planner hashes the buildings' grids and the
/// compounds' whole-compound grids once instead of looking both up for every
/// dwelling. `column` is a scope column `place` and `micro_grid` share
/// (`district_code`, `street_id`, `community_id` or `compound_id`) and
/// `placeholder` its bound value: the whole-compound grids are gathered under
/// that place only (unscoped, a community's count gathered a city's grids
/// each time). Put it after `FROM place p`, filter `p.{column}` to the same
/// value and select [`GRID_JOINED`].
pub fn grid_joins_under(column: &str, placeholder: &str) -> String {
    format!(
        "LEFT JOIN micro_grid_building gb ON gb.building_id = p.building_id \
         LEFT JOIN (SELECT compound_id, MIN(id) AS grid_id FROM micro_grid \
                    WHERE whole_compound AND {column} = {placeholder} \
                    GROUP BY compound_id) gw ON gw.compound_id = p.compound_id"
    )
}

/// The scope column of `place` and `micro_grid` for the dwellings under
/// `node` and the value it must have; none for kinds without dwellings under
/// them in one district.
pub fn scope_column(node: &place::Model) -> Option<(&'static str, Value)> {
    Some(match PlaceKind::parse(&node.kind)? {
        PlaceKind::District => (
            "district_code",
            node.district_code.clone().unwrap_or_default().into(),
        ),
        PlaceKind::Street => ("street_id", node.id.into()),
        PlaceKind::Community => ("community_id", node.id.into()),
        PlaceKind::Compound => ("compound_id", node.id.into()),
        _ => return None,
    })
}

/// The grid of dwelling `p` under [`grid_joins_under`].
pub const GRID_JOINED: &str = "COALESCE(gb.grid_id, gw.grid_id)";

/// How dwelling `p` is reached: 2 by a contact group, 1 by phone, 0 not at
/// all. Kept on the dwelling's row by the triggers of migration m0029, as
/// writes to contact groups, owners, residents and phones land.
const REACH: &str = "CAST(p.reach AS BIGINT)";

fn ph(backend: DbBackend, n: usize) -> String {
    if backend == DbBackend::Postgres {
        format!("${n}")
    } else {
        "?".into()
    }
}

fn reach_of(n: i64) -> Reach {
    match n {
        2 => Reach::Group,
        1 => Reach::Phone,
        _ => Reach::None,
    }
}

/// Tallies of the dwellings under a district, street, community or compound,
/// grouped by child: streets, communities, compounds, or grids (`None` for
/// dwellings in no grid). Other kinds give nothing.
///
/// The dwellings are counted by building first, and each building's counts
/// are then joined to its grid: a building's dwellings share their grid, so
/// the joins see a row per building, not per dwelling. At a community the
/// first count reads `ix_place_community_reach` alone.
pub async fn coverage(
    db: &impl ConnectionTrait,
    node: &place::Model,
) -> Result<Vec<(Option<i64>, Tally)>, DbErr> {
    // The child column kept through the count by building, if the child is
    // not the compound or the grid, which the building gives.
    let (child, key) = match PlaceKind::parse(&node.kind) {
        Some(PlaceKind::District) => ("street_id, ", "p.street_id"),
        Some(PlaceKind::Street) => ("community_id, ", "p.community_id"),
        Some(PlaceKind::Community) => ("", "p.compound_id"),
        _ => ("", GRID_JOINED),
    };
    Ok(tallies(db, node, child, &[key])
        .await?
        .into_iter()
        .map(|(k, t)| (k[0], t))
        .collect())
}

/// The dwellings under `node` counted by `keys` (columns of the count by
/// building `p`, kept through it by `child`, or [`GRID_JOINED`]).
async fn tallies(
    db: &impl ConnectionTrait,
    node: &place::Model,
    child: &str,
    keys: &[&str],
) -> Result<Vec<(Vec<Option<i64>>, Tally)>, DbErr> {
    let Some((column, value)) = scope_column(node) else {
        return Ok(Vec::new());
    };
    let mut params = Params::new(db.get_database_backend());
    // Bound in the order the statement reads them (SQLite's `?`).
    let scope = params.bind(value.clone());
    let joins = grid_joins_under(column, &params.bind(value));
    let names: Vec<String> = (0..keys.len()).map(|i| format!("k{i}")).collect();
    let selected = keys
        .iter()
        .zip(&names)
        .map(|(k, n)| format!("{k} AS {n}, "))
        .collect::<String>();
    let grouped = keys.join(", ");
    let sql = format!(
        "SELECT {selected}CAST(SUM(p.n) AS BIGINT) AS n, \
           CAST(SUM(CASE WHEN {GRID_JOINED} IS NULL THEN 0 ELSE p.n END) AS BIGINT) AS gridded, \
           CAST(SUM(p.by_group) AS BIGINT) AS by_group, \
           CAST(SUM(p.by_phone) AS BIGINT) AS by_phone \
         FROM (SELECT {child}compound_id, building_id, COUNT(*) AS n, \
                 SUM(CASE WHEN reach = 2 THEN 1 ELSE 0 END) AS by_group, \
                 SUM(CASE WHEN reach = 1 THEN 1 ELSE 0 END) AS by_phone \
               FROM place WHERE kind = 'dwelling' AND {column} = {scope} \
               GROUP BY {child}compound_id, building_id) p {joins} \
         GROUP BY {grouped}",
    );
    let rows = db.query_all_raw(params.statement(sql)).await?;
    rows.iter()
        .map(|r| {
            let n = |c: &str| -> Result<u64, DbErr> {
                Ok(r.try_get::<Option<i64>>("", c)?.unwrap_or(0).max(0) as u64)
            };
            let key = names
                .iter()
                .map(|k| r.try_get::<Option<i64>>("", k))
                .collect::<Result<_, _>>()?;
            Ok((
                key,
                Tally {
                    dwellings: n("n")?,
                    gridded: n("gridded")?,
                    by_group: n("by_group")?,
                    by_phone: n("by_phone")?,
                },
            ))
        })
        .collect()
}

/// One dwelling of a grid with how it is reached.
#[derive(Debug, Clone)]
pub struct DwellingRow {
    pub id: i64,
    pub name: String,
    pub building: Option<String>,
    pub entrance: Option<String>,
    pub reach: Reach,
}

/// A page of a grid's dwellings, unreachable first, and how many there are.
pub async fn grid_dwellings(
    db: &impl ConnectionTrait,
    grid: &micro_grid::Model,
    only: Option<Reach>,
    limit: u64,
    offset: u64,
) -> Result<(u64, Vec<DwellingRow>), DbErr> {
    let backend = db.get_database_backend();
    let mut values: Vec<Value> = vec![grid.compound_id.into(), grid.id.into()];
    let mut filter = String::new();
    if let Some(r) = only {
        let n = match r {
            Reach::Group => 2i64,
            Reach::Phone => 1,
            Reach::None => 0,
        };
        filter = format!("WHERE reach = {}", ph(backend, 3));
        values.push(n.into());
    }
    let inner = format!(
        "SELECT p.id, p.name, bp.name AS building, ep.name AS entrance, {REACH} AS reach \
         FROM place p LEFT JOIN place bp ON bp.id = p.building_id \
         LEFT JOIN place ep ON ep.id = p.entrance_id \
         WHERE p.kind = 'dwelling' AND p.compound_id = {p1} AND {GRID} = {p2}",
        p1 = ph(backend, 1),
        p2 = ph(backend, 2),
    );
    let total = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            format!("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM ({inner}) x {filter}"),
            values.clone(),
        ))
        .await?
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0) as u64;
    let at = values.len();
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    values.extend([count(limit).into(), count(offset).into()]);
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT * FROM ({inner}) x {filter} ORDER BY reach, id LIMIT {} OFFSET {}",
                ph(backend, at + 1),
                ph(backend, at + 2)
            ),
            values,
        ))
        .await?;
    let items = rows
        .iter()
        .map(|r| {
            Ok(DwellingRow {
                id: r.try_get("", "id")?,
                name: r.try_get("", "name")?,
                building: r.try_get("", "building")?,
                entrance: r.try_get("", "entrance")?,
                reach: reach_of(r.try_get::<i64>("", "reach")?),
            })
        })
        .collect::<Result<_, DbErr>>()?;
    Ok((total, items))
}

/// Every dwelling of a compound with its grid.
pub async fn compound_dwelling_grids(
    db: &impl ConnectionTrait,
    compound_id: i64,
) -> Result<HashMap<i64, Option<i64>>, DbErr> {
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT p.id, {GRID} AS g FROM place p WHERE p.kind = 'dwelling' AND p.compound_id = {}",
                ph(backend, 1)
            ),
            [compound_id.into()],
        ))
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("", "id")?, r.try_get::<Option<i64>>("", "g")?)))
        .collect()
}

/// Groups holding each of `dwellings` (a page: at most a few hundred, one
/// bound value each): (dwelling, group id, group name).
pub async fn groups_of_dwellings(
    db: &impl ConnectionTrait,
    dwellings: &[i64],
) -> Result<Vec<(i64, i64, String)>, DbErr> {
    if dwellings.is_empty() {
        return Ok(Vec::new());
    }
    let backend = db.get_database_backend();
    let marks: Vec<String> = (1..=dwellings.len()).map(|i| ph(backend, i)).collect();
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT cm.dwelling_id, cg.id, cg.name FROM contact_group_member cm \
                 JOIN contact_group cg ON cg.id = cm.group_id \
                 WHERE cm.dwelling_id IN ({}) ORDER BY cg.id",
                marks.join(",")
            ),
            dwellings
                .iter()
                .map(|d| (*d).into())
                .collect::<Vec<sea_orm::Value>>(),
        ))
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("", "dwelling_id")?,
                r.try_get("", "id")?,
                r.try_get("", "name")?,
            ))
        })
        .collect()
}

pub async fn grids_of_compound(
    db: &impl ConnectionTrait,
    compound_id: i64,
) -> Result<Vec<micro_grid::Model>, DbErr> {
    micro_grid::Entity::find()
        .filter(micro_grid::Column::CompoundId.eq(compound_id))
        .order_by_asc(micro_grid::Column::Id)
        .all(db)
        .await
}

/// Buildings of a compound, in registry order.
pub async fn buildings_of(
    db: &impl ConnectionTrait,
    compound_id: i64,
) -> Result<Vec<place::Model>, DbErr> {
    place::Entity::find()
        .filter(place::Column::Kind.eq(PlaceKind::Building.as_str()))
        .filter(place::Column::CompoundId.eq(compound_id))
        .order_by_asc(place::Column::Id)
        .all(db)
        .await
}

/// Assigned buildings of a compound: building → grid.
pub async fn assigned(
    db: &impl ConnectionTrait,
    compound_id: i64,
) -> Result<HashMap<i64, i64>, DbErr> {
    Ok(micro_grid_building::Entity::find()
        .filter(micro_grid_building::Column::CompoundId.eq(compound_id))
        .all(db)
        .await?
        .into_iter()
        .map(|b| (b.building_id, b.grid_id))
        .collect())
}

pub async fn places(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, place::Model>, DbErr> {
    jinlin_places::store::by_ids(db, ids.iter().copied()).await
}

/// Takes the compound's row lock (PostgreSQL; SQLite's write transaction
/// already holds the database), so its grids change in turn.
pub async fn lock_compound(tx: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    place::Entity::find_by_id(id)
        .select_only()
        .column(place::Column::Id)
        .lock_exclusive()
        .into_tuple::<i64>()
        .one(tx)
        .await?;
    Ok(())
}

/// Dwellings held by the grid's contact groups: (group, dwelling, label),
/// the label being "building · entrance · room" as far as known.
pub async fn group_dwellings(
    db: &impl ConnectionTrait,
    grid_id: i64,
) -> Result<Vec<(i64, i64, String)>, DbErr> {
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT cm.group_id, p.id, p.name, bp.name AS building, ep.name AS entrance \
                 FROM contact_group_member cm JOIN place p ON p.id = cm.dwelling_id \
                 LEFT JOIN place bp ON bp.id = p.building_id \
                 LEFT JOIN place ep ON ep.id = p.entrance_id \
                 WHERE cm.grid_id = {} ORDER BY cm.group_id, p.id",
                ph(backend, 1)
            ),
            [grid_id.into()],
        ))
        .await?;
    rows.iter()
        .map(|r| {
            let parts: Vec<String> = [
                r.try_get::<Option<String>>("", "building")?,
                r.try_get::<Option<String>>("", "entrance")?,
                Some(r.try_get::<String>("", "name")?),
            ]
            .into_iter()
            .flatten()
            .collect();
            Ok((
                r.try_get("", "group_id")?,
                r.try_get("", "id")?,
                parts.join(" · "),
            ))
        })
        .collect()
}

/// Accounts holding the community worker role at the community: (id, name).
pub async fn community_workers(
    db: &impl ConnectionTrait,
    community_id: i64,
) -> Result<Vec<(i64, String)>, DbErr> {
    use jinlin_kernel::auth::Role;
    use jinlin_kernel::auth::entity::{account, role_grant};
    let ids: Vec<i64> = role_grant::Entity::find()
        .filter(role_grant::Column::Role.eq(Role::CommunityWorker.as_str()))
        .filter(role_grant::Column::PlaceId.eq(community_id))
        .all(db)
        .await?
        .into_iter()
        .map(|g| g.account_id)
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(account::Entity::find()
        .filter(account::Column::Id.is_in(ids))
        .order_by_asc(account::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a.display_name))
        .collect())
}
