//! Demo data, loaded once by `serve --demo` after the places, accounts and
//! the capabilities before this one.
//!
//! Every compound gets one grid covering it whole (two for compounds of
//! many buildings: the second takes the later half), staffed by a community
//! worker of its community, a work group of two or three names, and one
//! owner contact group per building reaching most of its dwellings; the
//! rest are reached by a phone on file, or not at all. Rows go in by bulk
//! inserts of 500, so the full-scale district (about 400,000 dwellings)
//! costs seconds.

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use jinlin_kernel::ApiError;
use jinlin_kernel::auth::Role;
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    Statement,
};

use crate::entity::{
    contact_group, contact_group_member, micro_grid, micro_grid_building, micro_grid_member,
};
use crate::rules::Channel;

/// A compound with this many buildings or more is split in two grids.
const SPLIT_AT: usize = 8;
const CHUNK: usize = 500;

/// Inserts rows of an entity in chunks of [`CHUNK`]; gives how many.
macro_rules! insert_chunks {
    ($db:expr, $entity:ty, $rows:expr) => {{
        let rows = $rows;
        let n = rows.len();
        for chunk in rows.chunks(CHUNK) {
            <$entity>::insert_many(chunk.to_vec()).exec($db).await?;
        }
        n
    }};
}

const SURNAMES: [&str; 12] = [
    "林", "陈", "黄", "郑", "王", "张", "李", "吴", "刘", "杨", "蔡", "许",
];
const GIVEN: [&str; 10] = [
    "建华", "秀英", "志强", "美玲", "国平", "丽萍", "文斌", "玉兰", "明辉", "淑珍",
];

struct Compound {
    id: i64,
    district_code: String,
    street_id: Option<i64>,
    community_id: Option<i64>,
}

/// Whether the demo leaves a dwelling out of its building's group: about
/// one in six, spread evenly.
fn left_out(dwelling_id: i64) -> bool {
    dwelling_id.rem_euclid(6) == 0
}

/// Fills the demo district; returns how many records it wrote.
pub async fn seed_demo(db: &impl ConnectionTrait) -> Result<usize, ApiError> {
    if micro_grid::Entity::find().count(db).await? > 0 {
        return Ok(0);
    }
    let backend = db.get_database_backend();
    let compounds: Vec<Compound> = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT id, district_code, street_id, community_id FROM place \
             WHERE kind = 'compound' AND district_code IS NOT NULL ORDER BY id",
        ))
        .await?
        .iter()
        .map(|r| {
            Ok(Compound {
                id: r.try_get("", "id")?,
                district_code: r.try_get("", "district_code")?,
                street_id: r.try_get("", "street_id")?,
                community_id: r.try_get("", "community_id")?,
            })
        })
        .collect::<Result<_, DbErr>>()?;
    if compounds.is_empty() {
        return Ok(0);
    }
    // The first community worker of each community.
    let mut workers: HashMap<i64, i64> = HashMap::new();
    for r in db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT place_id, MIN(account_id) AS account_id FROM role_grant \
                 WHERE role = {} GROUP BY place_id",
                if backend == DbBackend::Postgres {
                    "$1"
                } else {
                    "?"
                }
            ),
            [Role::CommunityWorker.as_str().into()],
        ))
        .await?
    {
        workers.insert(r.try_get("", "place_id")?, r.try_get("", "account_id")?);
    }
    let mut buildings: BTreeMap<i64, Vec<(i64, String)>> = BTreeMap::new();
    for r in db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT id, compound_id, name FROM place WHERE kind = 'building' ORDER BY id",
        ))
        .await?
    {
        let c: Option<i64> = r.try_get("", "compound_id")?;
        if let Some(c) = c {
            buildings
                .entry(c)
                .or_default()
                .push((r.try_get("", "id")?, r.try_get("", "name")?));
        }
    }
    let now = Utc::now();
    let mut written = 0;

    // Grids: the whole compound, and a second one for large compounds.
    let mut grids = Vec::new();
    for c in &compounds {
        let worker = c.community_id.and_then(|k| workers.get(&k).copied());
        let n = buildings.get(&c.id).map(Vec::len).unwrap_or(0);
        let count = if n >= SPLIT_AT { 2 } else { 1 };
        for i in 0..count {
            grids.push(micro_grid::ActiveModel {
                district_code: Set(c.district_code.clone()),
                street_id: Set(c.street_id),
                community_id: Set(c.community_id),
                compound_id: Set(c.id),
                name: Set(format!("{}号网格", i + 1)),
                worker_account_id: Set(worker),
                whole_compound: Set(i == 0),
                created_by: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            });
        }
    }
    written += insert_chunks!(db, micro_grid::Entity, grids);
    let all = micro_grid::Entity::find().all(db).await?;
    let mut by_compound: HashMap<i64, Vec<micro_grid::Model>> = HashMap::new();
    for g in all {
        by_compound.entry(g.compound_id).or_default().push(g);
    }
    for gs in by_compound.values_mut() {
        gs.sort_by_key(|g| g.id);
    }

    // The second grid of a large compound takes the later half of its buildings.
    let mut building_grid: HashMap<i64, i64> = HashMap::new();
    let mut assigned = Vec::new();
    let mut members = Vec::new();
    for (compound, gs) in &by_compound {
        let bs = buildings.get(compound).cloned().unwrap_or_default();
        for (i, (b, _)) in bs.iter().enumerate() {
            let g = if gs.len() > 1 && i >= bs.len() / 2 {
                let g = &gs[1];
                assigned.push(micro_grid_building::ActiveModel {
                    grid_id: Set(g.id),
                    district_code: Set(g.district_code.clone()),
                    compound_id: Set(*compound),
                    building_id: Set(*b),
                    ..Default::default()
                });
                g.id
            } else {
                gs[0].id
            };
            building_grid.insert(*b, g);
        }
        for g in gs {
            let size = 2 + (g.id % 2) as usize;
            for k in 0..size {
                let seed = (g.id as usize) * 7 + k * 13;
                members.push(micro_grid_member::ActiveModel {
                    grid_id: Set(g.id),
                    district_code: Set(g.district_code.clone()),
                    kind: Set("party_work_group".into()),
                    name: Set(format!(
                        "{}{}",
                        SURNAMES[seed % SURNAMES.len()],
                        GIVEN[(seed / 3) % GIVEN.len()]
                    )),
                    person_id: Set(None),
                    account_id: Set(None),
                    role: Set(if k == 0 { "组长" } else { "组员" }.into()),
                    created_at: Set(now),
                    ..Default::default()
                });
            }
        }
    }
    written += insert_chunks!(db, micro_grid_building::Entity, assigned);
    written += insert_chunks!(db, micro_grid_member::Entity, members);

    // One contact group per building.
    let mut groups = Vec::new();
    let codes: HashMap<i64, String> = by_compound
        .values()
        .flatten()
        .map(|g| (g.id, g.district_code.clone()))
        .collect();
    for bs in buildings.values() {
        for (b, name) in bs {
            let Some(&g) = building_grid.get(b) else {
                continue;
            };
            let channel = [
                Channel::Wechat,
                Channel::Wechat,
                Channel::Wecom,
                Channel::Dingtalk,
            ][(*b % 4) as usize];
            groups.push(contact_group::ActiveModel {
                grid_id: Set(g),
                district_code: Set(codes.get(&g).cloned().unwrap_or_default()),
                name: Set(format!("{name}业主群")),
                channel: Set(channel.as_str().into()),
                link: Set(Some(format!("jinlin-demo-{b}"))),
                building_id: Set(Some(*b)),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            });
        }
    }
    written += insert_chunks!(db, contact_group::Entity, groups);
    let group_of: HashMap<i64, (i64, i64, String)> = contact_group::Entity::find()
        .filter(contact_group::Column::BuildingId.is_not_null())
        .all(db)
        .await?
        .into_iter()
        .filter_map(|g| Some((g.building_id?, (g.id, g.grid_id, g.district_code))))
        .collect();

    // Most dwellings of each building join its group.
    let dwellings = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT id, building_id FROM place WHERE kind = 'dwelling' AND building_id IS NOT NULL",
        ))
        .await?;
    let mut rows = Vec::with_capacity(CHUNK);
    for r in &dwellings {
        let d: i64 = r.try_get("", "id")?;
        let b: i64 = r.try_get("", "building_id")?;
        if left_out(d) {
            continue;
        }
        let Some((group, grid, code)) = group_of.get(&b) else {
            continue;
        };
        rows.push(contact_group_member::ActiveModel {
            group_id: Set(*group),
            grid_id: Set(*grid),
            district_code: Set(code.clone()),
            dwelling_id: Set(d),
            person_name: Set(None),
            created_at: Set(now),
            ..Default::default()
        });
        if rows.len() == CHUNK {
            written += rows.len();
            contact_group_member::Entity::insert_many(std::mem::take(&mut rows))
                .exec(db)
                .await?;
        }
    }
    if !rows.is_empty() {
        written += rows.len();
        contact_group_member::Entity::insert_many(rows)
            .exec(db)
            .await?;
    }
    tracing::info!(written, "demo micro-grids");
    Ok(written)
}
