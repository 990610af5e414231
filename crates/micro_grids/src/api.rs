//! JSON API of micro-grids.
//!
//! Scope: a grid belongs to a compound. District and street admins and the
//! community workers whose scope holds the compound manage its grids; the
//! grid's own worker manages its contact groups and work group; the
//! compound's party secretary reads. Anyone else who sees the compound gets
//! 403, anyone who does not 404. Phones are never shown, only whether one
//! is on file.

use std::collections::{HashMap, HashSet};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::Utc;
use jinlin_kernel::ApiError;
use jinlin_kernel::audit::{self, Entry};
use jinlin_kernel::auth::entity::{account, role_grant};
use jinlin_kernel::auth::{Access, Principal, Role, User};
use jinlin_kernel::error::ErrorBody;
use jinlin_kernel::i18n;
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::place::entity as place;
use jinlin_kernel::web::{ApiJson, ApiQuery, AppState};
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::entity::{
    contact_group, contact_group_member, micro_grid, micro_grid_building, micro_grid_member,
};
use crate::rules::{self, Channel, Invalid, Reach, SplitError, Tally};
use crate::store;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(compound_grids, create_grid))
        .routes(routes!(get_grid, update_grid, delete_grid))
        .routes(routes!(set_buildings))
        .routes(routes!(list_groups, create_group))
        .routes(routes!(update_group, delete_group))
        .routes(routes!(set_group_dwellings))
        .routes(routes!(list_members, add_member))
        .routes(routes!(delete_member))
        .routes(routes!(grid_dwellings))
        .routes(routes!(grid_coverage))
}

// ---------------------------------------------------------------- errors

pub fn invalid_key(key: &'static str) -> ApiError {
    ApiError::invalid(i18n::current().t(key))
}

fn invalid(e: Invalid) -> ApiError {
    invalid_key(e.key)
}

fn conflict(key: &str) -> ApiError {
    ApiError::with_message(StatusCode::CONFLICT, "conflict", i18n::current().t(key))
}

fn split_error(e: SplitError) -> ApiError {
    match e {
        SplitError::OutsideCompound(_) => invalid_key("micro_grids.error.building_outside"),
        SplitError::Repeated(_) => invalid_key("micro_grids.error.building_repeated"),
        SplitError::Taken(_) => conflict("micro_grids.error.building_taken"),
    }
}

// ---------------------------------------------------------------- scope

/// Whether the user reads grids and coverage at the place: admins and
/// community workers of its scope, and a compound's party secretary.
pub fn reads(user: &Principal, p: &place::Model) -> bool {
    user.roles_for(Access::Registry, &p.position())
        .iter()
        .any(|r| {
            matches!(
                r,
                Role::DistrictAdmin
                    | Role::StreetAdmin
                    | Role::CommunityWorker
                    | Role::CompoundSecretary
            )
        })
}

/// Whether the user creates, splits and staffs the compound's grids.
pub fn manages(user: &Principal, compound: &place::Model) -> bool {
    user.roles_for(Access::Edit, &compound.position())
        .iter()
        .any(|r| {
            matches!(
                r,
                Role::DistrictAdmin | Role::StreetAdmin | Role::CommunityWorker
            )
        })
}

/// Whether the user runs the grid's contact groups and work group.
pub fn works(user: &Principal, grid: &micro_grid::Model, compound: &place::Model) -> bool {
    manages(user, compound) || grid.worker_account_id == Some(user.account_id)
}

/// A compound the user sees (404 otherwise, and for other kinds).
pub async fn visible_compound(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<place::Model, ApiError> {
    match jinlin_places::store::find(db, id).await? {
        Some(p)
            if p.kind == PlaceKind::Compound.as_str()
                && jinlin_places::store::visible(user, &p) =>
        {
            Ok(p)
        }
        _ => Err(ApiError::not_found()),
    }
}

/// A grid the user may read, with its compound: 404 outside the scope,
/// 403 inside it without the power to read.
pub async fn readable_grid(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<(micro_grid::Model, place::Model), ApiError> {
    let Some(g) = micro_grid::Entity::find_by_id(id).one(db).await? else {
        return Err(ApiError::not_found());
    };
    let c = visible_compound(db, user, g.compound_id).await?;
    if !reads(user, &c) && g.worker_account_id != Some(user.account_id) {
        return Err(ApiError::forbidden());
    }
    Ok((g, c))
}

/// A grid the user manages (admins and community workers of the scope).
async fn managed_grid(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<(micro_grid::Model, place::Model), ApiError> {
    let (g, c) = readable_grid(db, user, id).await?;
    if !manages(user, &c) {
        return Err(ApiError::forbidden());
    }
    Ok((g, c))
}

/// A grid whose groups the user runs (managers and the grid's worker).
async fn worked_grid(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<(micro_grid::Model, place::Model), ApiError> {
    let (g, c) = readable_grid(db, user, id).await?;
    if !works(user, &g, &c) {
        return Err(ApiError::forbidden());
    }
    Ok((g, c))
}

async fn worked_group(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<(contact_group::Model, micro_grid::Model, place::Model), ApiError> {
    let Some(cg) = contact_group::Entity::find_by_id(id).one(db).await? else {
        return Err(ApiError::not_found());
    };
    let (g, c) = worked_grid(db, user, cg.grid_id).await?;
    Ok((cg, g, c))
}

// ---------------------------------------------------------------- shapes

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = MicroGridCreated)]
pub struct Created {
    pub id: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = MicroGridNamedId)]
pub struct NamedId {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GridWorker {
    pub account_id: i64,
    pub username: String,
    pub display_name: String,
}

/// Reachability figures of a set of dwellings.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReachFigures {
    pub dwellings: u64,
    /// Dwellings that belong to a grid.
    pub gridded: u64,
    /// Reached through a contact group of their grid.
    pub by_group: u64,
    /// Reached only by a phone on file.
    pub by_phone: u64,
    pub reachable: u64,
    pub unreachable: u64,
    /// Reachable share, e.g. "87.5%"; none without dwellings.
    pub coverage_percent: Option<String>,
    /// Share reached through contact groups.
    pub group_percent: Option<String>,
}

impl From<Tally> for ReachFigures {
    fn from(t: Tally) -> Self {
        ReachFigures {
            dwellings: t.dwellings,
            gridded: t.gridded,
            by_group: t.by_group,
            by_phone: t.by_phone,
            reachable: t.reachable(),
            unreachable: t.unreachable(),
            coverage_percent: rules::percent(t.coverage_permille()),
            group_percent: rules::percent(t.group_permille()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GridSummary {
    pub id: i64,
    pub compound_id: i64,
    pub compound_name: String,
    pub name: String,
    /// Covers every building of the compound not assigned to another grid.
    pub whole_compound: bool,
    pub worker: Option<GridWorker>,
    /// Buildings assigned to the grid (empty for a whole-compound grid).
    pub buildings: Vec<NamedId>,
    pub contact_groups: u64,
    pub members: u64,
    pub figures: ReachFigures,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GridBuilding {
    pub id: i64,
    pub name: String,
    /// The grid the building's dwellings belong to, if any.
    pub grid_id: Option<i64>,
    /// Assigned explicitly (not through a whole-compound grid).
    pub assigned: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompoundGrids {
    pub compound: NamedId,
    pub grids: Vec<GridSummary>,
    pub buildings: Vec<GridBuilding>,
    /// The compound's dwellings in no grid.
    pub ungridded: u64,
    pub can_manage: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = MicroGridMemberView)]
pub struct MemberView {
    pub id: i64,
    /// `party_work_group`.
    pub kind: String,
    pub name: String,
    pub role: String,
    pub person_id: Option<i64>,
    pub account_id: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContactGroupView {
    pub id: i64,
    pub grid_id: i64,
    pub name: String,
    pub channel: Channel,
    pub link: Option<String>,
    pub building: Option<NamedId>,
    /// Dwellings the group reaches.
    pub dwellings: u64,
}

/// A grid as a summary shows it, less the counts of members and contact
/// groups: the detail lists them under the same names.
#[derive(Debug, Serialize, ToSchema)]
pub struct GridHead {
    pub id: i64,
    pub compound_id: i64,
    pub compound_name: String,
    pub name: String,
    /// Covers every building of the compound not assigned to another grid.
    pub whole_compound: bool,
    pub worker: Option<GridWorker>,
    /// Buildings assigned to the grid (empty for a whole-compound grid).
    pub buildings: Vec<NamedId>,
    pub figures: ReachFigures,
}

impl From<GridSummary> for GridHead {
    fn from(s: GridSummary) -> Self {
        GridHead {
            id: s.id,
            compound_id: s.compound_id,
            compound_name: s.compound_name,
            name: s.name,
            whole_compound: s.whole_compound,
            worker: s.worker,
            buildings: s.buildings,
            figures: s.figures,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GridView {
    #[serde(flatten)]
    pub grid: GridHead,
    pub members: Vec<MemberView>,
    pub contact_groups: Vec<ContactGroupView>,
    /// Whether the reader creates, splits and staffs the compound's grids.
    pub can_manage: bool,
    /// Whether the reader runs the grid's contact groups and work group.
    pub can_work: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DwellingReach {
    pub id: i64,
    pub name: String,
    pub building: Option<String>,
    pub entrance: Option<String>,
    pub reach: Reach,
    /// Contact groups holding the dwelling.
    pub groups: Vec<NamedId>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DwellingPage {
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
    /// Unreachable first, then phone only, then reached through a group.
    pub items: Vec<DwellingReach>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DwellingQuery {
    /// 1-based page, default 1.
    pub page: Option<u64>,
    /// 1–500, default 100.
    pub per_page: Option<u64>,
    /// Only dwellings reached this way: `none`, `phone` or `group`.
    pub reach: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = GridCoverageLine)]
pub struct CoverageLine {
    /// The child place (street, community or compound); none for grids.
    pub place_id: Option<i64>,
    /// The grid, for a compound's children.
    pub grid_id: Option<i64>,
    pub name: String,
    /// `street`, `community`, `compound`, `grid` or `ungridded`.
    pub kind: String,
    pub figures: ReachFigures,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GridCoverage {
    pub place_id: i64,
    pub name: String,
    pub kind: PlaceKind,
    pub figures: ReachFigures,
    /// Streets of a district, communities of a street, compounds of a
    /// community, grids of a compound.
    pub children: Vec<CoverageLine>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGrid {
    /// e.g. "1号网格".
    pub name: String,
    pub worker_account_id: Option<i64>,
    /// Buildings of the compound; none makes a whole-compound grid.
    #[serde(default)]
    pub building_ids: Vec<i64>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GridUpdate {
    pub name: String,
    pub worker_account_id: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GridBuildings {
    /// The grid's buildings; none makes it the whole-compound grid.
    pub building_ids: Vec<i64>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactGroupInput {
    /// e.g. "3号楼业主群".
    pub name: String,
    pub channel: Channel,
    /// The group's external link or id.
    pub link: Option<String>,
    /// A building of the grid the group is for.
    pub building_id: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupDwelling {
    pub dwelling_id: i64,
    /// Who in the dwelling is in the group.
    pub person_name: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupDwellings {
    /// Every dwelling the group reaches (replaces the list).
    pub dwellings: Vec<GroupDwelling>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(as = NewMicroGridMember)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    pub name: String,
    /// e.g. "组长", "组员".
    pub role: String,
    pub person_id: Option<i64>,
    pub account_id: Option<i64>,
}

// ---------------------------------------------------------------- reads

async fn workers(
    db: &impl ConnectionTrait,
    ids: Vec<i64>,
) -> Result<HashMap<i64, GridWorker>, ApiError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(account::Entity::find()
        .filter(account::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|a| {
            (
                a.id,
                GridWorker {
                    account_id: a.id,
                    username: a.username,
                    display_name: a.display_name,
                },
            )
        })
        .collect())
}

/// Summaries of a compound's grids (all of them, or one) with their figures.
pub async fn summaries(
    db: &impl ConnectionTrait,
    compound: &place::Model,
    only: Option<i64>,
) -> Result<(Vec<GridSummary>, u64), ApiError> {
    let grids: Vec<micro_grid::Model> = store::grids_of_compound(db, compound.id)
        .await?
        .into_iter()
        .filter(|g| only.is_none_or(|o| o == g.id))
        .collect();
    let tallies: HashMap<Option<i64>, Tally> =
        store::coverage(db, compound).await?.into_iter().collect();
    let ungridded = tallies.get(&None).map(|t| t.dwellings).unwrap_or(0);
    let ids: Vec<i64> = grids.iter().map(|g| g.id).collect();
    let ws = workers(
        db,
        grids.iter().filter_map(|g| g.worker_account_id).collect(),
    )
    .await?;
    let buildings: HashMap<i64, String> = store::buildings_of(db, compound.id)
        .await?
        .into_iter()
        .map(|b| (b.id, b.name))
        .collect();
    let mut assigned: HashMap<i64, Vec<NamedId>> = HashMap::new();
    for b in micro_grid_building::Entity::find()
        .filter(micro_grid_building::Column::GridId.is_in(ids.clone()))
        .order_by_asc(micro_grid_building::Column::BuildingId)
        .all(db)
        .await?
    {
        assigned.entry(b.grid_id).or_default().push(NamedId {
            id: b.building_id,
            name: buildings.get(&b.building_id).cloned().unwrap_or_default(),
        });
    }
    let mut groups: HashMap<i64, u64> = HashMap::new();
    for g in contact_group::Entity::find()
        .filter(contact_group::Column::GridId.is_in(ids.clone()))
        .all(db)
        .await?
    {
        *groups.entry(g.grid_id).or_default() += 1;
    }
    let mut members: HashMap<i64, u64> = HashMap::new();
    for m in micro_grid_member::Entity::find()
        .filter(micro_grid_member::Column::GridId.is_in(ids))
        .all(db)
        .await?
    {
        *members.entry(m.grid_id).or_default() += 1;
    }
    let out = grids
        .into_iter()
        .map(|g| GridSummary {
            id: g.id,
            compound_id: compound.id,
            compound_name: compound.name.clone(),
            name: g.name.clone(),
            whole_compound: g.whole_compound,
            worker: g.worker_account_id.and_then(|w| ws.get(&w).cloned()),
            buildings: assigned.remove(&g.id).unwrap_or_default(),
            contact_groups: groups.get(&g.id).copied().unwrap_or(0),
            members: members.get(&g.id).copied().unwrap_or(0),
            figures: tallies.get(&Some(g.id)).copied().unwrap_or_default().into(),
        })
        .collect();
    Ok((out, ungridded))
}

pub async fn compound_view(
    db: &impl ConnectionTrait,
    user: &Principal,
    compound: &place::Model,
) -> Result<CompoundGrids, ApiError> {
    let (grids, ungridded) = summaries(db, compound, None).await?;
    let assigned = store::assigned(db, compound.id).await?;
    let whole = grids.iter().find(|g| g.whole_compound).map(|g| g.id);
    let buildings = store::buildings_of(db, compound.id)
        .await?
        .into_iter()
        .map(|b| {
            let a = assigned.get(&b.id).copied();
            GridBuilding {
                id: b.id,
                name: b.name,
                grid_id: rules::grid_of(a, whole),
                assigned: a.is_some(),
            }
        })
        .collect();
    Ok(CompoundGrids {
        compound: NamedId {
            id: compound.id,
            name: compound.name.clone(),
        },
        grids,
        buildings,
        ungridded,
        can_manage: manages(user, compound),
    })
}

pub async fn members_of(
    db: &impl ConnectionTrait,
    grid_id: i64,
) -> Result<Vec<MemberView>, ApiError> {
    Ok(micro_grid_member::Entity::find()
        .filter(micro_grid_member::Column::GridId.eq(grid_id))
        .order_by_asc(micro_grid_member::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|m| MemberView {
            id: m.id,
            kind: m.kind,
            name: m.name,
            role: m.role,
            person_id: m.person_id,
            account_id: m.account_id,
        })
        .collect())
}

pub async fn groups_of(
    db: &impl ConnectionTrait,
    grid_id: i64,
) -> Result<Vec<ContactGroupView>, ApiError> {
    let groups = contact_group::Entity::find()
        .filter(contact_group::Column::GridId.eq(grid_id))
        .order_by_asc(contact_group::Column::Id)
        .all(db)
        .await?;
    let mut counts: HashMap<i64, u64> = HashMap::new();
    for m in contact_group_member::Entity::find()
        .filter(contact_group_member::Column::GridId.eq(grid_id))
        .all(db)
        .await?
    {
        *counts.entry(m.group_id).or_default() += 1;
    }
    let bids: Vec<i64> = groups.iter().filter_map(|g| g.building_id).collect();
    let places = store::places(db, &bids).await?;
    Ok(groups
        .into_iter()
        .map(|g| ContactGroupView {
            id: g.id,
            grid_id: g.grid_id,
            name: g.name,
            channel: Channel::parse(&g.channel).unwrap_or(Channel::Other),
            link: g.link,
            building: g.building_id.map(|b| NamedId {
                id: b,
                name: places.get(&b).map(|p| p.name.clone()).unwrap_or_default(),
            }),
            dwellings: counts.get(&g.id).copied().unwrap_or(0),
        })
        .collect())
}

pub async fn grid_view(
    db: &impl ConnectionTrait,
    user: &Principal,
    g: &micro_grid::Model,
    c: &place::Model,
) -> Result<GridView, ApiError> {
    let (mut s, _) = summaries(db, c, Some(g.id)).await?;
    let Some(grid) = s.pop() else {
        return Err(ApiError::not_found());
    };
    Ok(GridView {
        grid: grid.into(),
        members: members_of(db, g.id).await?,
        contact_groups: groups_of(db, g.id).await?,
        can_manage: manages(user, c),
        can_work: works(user, g, c),
    })
}

pub async fn dwelling_page(
    db: &impl ConnectionTrait,
    g: &micro_grid::Model,
    q: &DwellingQuery,
) -> Result<DwellingPage, ApiError> {
    let page = q.page.unwrap_or(1).max(1);
    let per_page = q.per_page.unwrap_or(100).clamp(1, 500);
    let only = match q.reach.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => Some(Reach::parse(s).ok_or_else(|| invalid_key("micro_grids.error.reach"))?),
    };
    let (total, rows) = store::grid_dwellings(db, g, only, per_page, (page - 1) * per_page).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut groups: HashMap<i64, Vec<NamedId>> = HashMap::new();
    for (d, id, name) in store::groups_of_dwellings(db, &ids).await? {
        groups.entry(d).or_default().push(NamedId { id, name });
    }
    Ok(DwellingPage {
        total,
        page,
        per_page,
        items: rows
            .into_iter()
            .map(|r| DwellingReach {
                groups: groups.remove(&r.id).unwrap_or_default(),
                id: r.id,
                name: r.name,
                building: r.building,
                entrance: r.entrance,
                reach: r.reach,
            })
            .collect(),
    })
}

/// Coverage of a district, street, community or compound and of each child.
pub async fn coverage_of(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<GridCoverage, ApiError> {
    let Some(p) = jinlin_places::store::find(db, id).await? else {
        return Err(ApiError::not_found());
    };
    if !jinlin_places::store::visible(user, &p) {
        return Err(ApiError::not_found());
    }
    let kind = PlaceKind::parse(&p.kind).unwrap_or(PlaceKind::Dwelling);
    if !matches!(
        kind,
        PlaceKind::District | PlaceKind::Street | PlaceKind::Community | PlaceKind::Compound
    ) {
        return Err(invalid_key("micro_grids.error.level"));
    }
    if !reads(user, &p) {
        return Err(ApiError::forbidden());
    }
    let rows = store::coverage(db, &p).await?;
    let total = Tally::sum(rows.iter().map(|(_, t)| t));
    let tallies: HashMap<Option<i64>, Tally> = rows.into_iter().collect();
    let mut children = Vec::new();
    if kind == PlaceKind::Compound {
        for g in store::grids_of_compound(db, p.id).await? {
            children.push(CoverageLine {
                place_id: None,
                grid_id: Some(g.id),
                name: g.name,
                kind: "grid".into(),
                figures: tallies.get(&Some(g.id)).copied().unwrap_or_default().into(),
            });
        }
        if let Some(t) = tallies.get(&None) {
            children.push(CoverageLine {
                place_id: None,
                grid_id: None,
                name: i18n::current().t("micro_grids.ungridded").into_owned(),
                kind: "ungridded".into(),
                figures: (*t).into(),
            });
        }
    } else {
        // Every child place is listed, with or without dwellings.
        let child = kind.child().unwrap_or(PlaceKind::Compound);
        let places = place::Entity::find()
            .filter(place::Column::ParentId.eq(p.id))
            .filter(place::Column::Kind.eq(child.as_str()))
            .order_by_asc(place::Column::Id)
            .all(db)
            .await?;
        for c in places {
            children.push(CoverageLine {
                place_id: Some(c.id),
                grid_id: None,
                figures: tallies.get(&Some(c.id)).copied().unwrap_or_default().into(),
                name: c.name,
                kind: child.as_str().into(),
            });
        }
    }
    Ok(GridCoverage {
        place_id: p.id,
        name: p.name,
        kind,
        figures: total.into(),
        children,
    })
}

// ---------------------------------------------------------------- writes

/// An account holding the community worker role at the compound's community.
async fn check_worker(
    db: &impl ConnectionTrait,
    compound: &place::Model,
    worker: Option<i64>,
) -> Result<(), ApiError> {
    let Some(w) = worker else { return Ok(()) };
    let Some(community) = compound.community_id else {
        return Err(invalid_key("micro_grids.error.worker"));
    };
    let n = role_grant::Entity::find()
        .filter(role_grant::Column::AccountId.eq(w))
        .filter(role_grant::Column::Role.eq(Role::CommunityWorker.as_str()))
        .filter(role_grant::Column::PlaceId.eq(community))
        .count(db)
        .await?;
    if n == 0 {
        return Err(invalid_key("micro_grids.error.worker"));
    }
    Ok(())
}

/// Gives `grid` exactly `wanted` buildings (none: the whole compound), then
/// drops contact group entries of dwellings that left their group's grid.
async fn assign(
    db: &impl ConnectionTrait,
    compound: &place::Model,
    grid: Option<&micro_grid::Model>,
    wanted: &[i64],
) -> Result<(), ApiError> {
    let buildings: HashSet<i64> = store::buildings_of(db, compound.id)
        .await?
        .into_iter()
        .map(|b| b.id)
        .collect();
    let assigned = store::assigned(db, compound.id).await?;
    rules::check_split(grid.map(|g| g.id), wanted, &buildings, &assigned).map_err(split_error)?;
    if wanted.is_empty() {
        let other_whole = store::grids_of_compound(db, compound.id)
            .await?
            .into_iter()
            .any(|g| g.whole_compound && Some(g.id) != grid.map(|x| x.id));
        if other_whole {
            return Err(conflict("micro_grids.error.whole_taken"));
        }
    }
    Ok(())
}

async fn write_buildings(
    db: &impl ConnectionTrait,
    compound: &place::Model,
    grid: &micro_grid::Model,
    wanted: &[i64],
) -> Result<(), ApiError> {
    micro_grid_building::Entity::delete_many()
        .filter(micro_grid_building::Column::GridId.eq(grid.id))
        .exec(db)
        .await?;
    if !wanted.is_empty() {
        micro_grid_building::Entity::insert_many(wanted.iter().map(|&b| {
            micro_grid_building::ActiveModel {
                grid_id: Set(grid.id),
                district_code: Set(grid.district_code.clone()),
                compound_id: Set(compound.id),
                building_id: Set(b),
                ..Default::default()
            }
        }))
        .exec(db)
        .await?;
    }
    let mut m: micro_grid::ActiveModel = grid.clone().into();
    m.whole_compound = Set(wanted.is_empty());
    m.updated_at = Set(Utc::now());
    micro_grid::Entity::update(m).exec(db).await?;
    prune(db, compound.id).await
}

/// A dwelling stays in a contact group only while it belongs to the group's grid.
async fn prune(db: &impl ConnectionTrait, compound_id: i64) -> Result<(), ApiError> {
    let grids: Vec<i64> = store::grids_of_compound(db, compound_id)
        .await?
        .into_iter()
        .map(|g| g.id)
        .collect();
    if grids.is_empty() {
        return Ok(());
    }
    let of = store::compound_dwelling_grids(db, compound_id).await?;
    let stale: Vec<i64> = contact_group_member::Entity::find()
        .filter(contact_group_member::Column::GridId.is_in(grids))
        .all(db)
        .await?
        .into_iter()
        .filter(|m| of.get(&m.dwelling_id).copied().flatten() != Some(m.grid_id))
        .map(|m| m.id)
        .collect();
    if !stale.is_empty() {
        contact_group_member::Entity::delete_many()
            .filter(contact_group_member::Column::Id.is_in(stale))
            .exec(db)
            .await?;
    }
    Ok(())
}

pub async fn create(
    db: &impl ConnectionTrait,
    user: &Principal,
    compound_id: i64,
    input: &NewGrid,
) -> Result<i64, ApiError> {
    let c = visible_compound(db, user, compound_id).await?;
    if !manages(user, &c) {
        return Err(ApiError::forbidden());
    }
    let name = rules::check_text(&input.name, 64).map_err(invalid)?;
    check_worker(db, &c, input.worker_account_id).await?;
    store::lock_compound(db, c.id).await?;
    assign(db, &c, None, &input.building_ids).await?;
    let now = Utc::now();
    let code = c.district_code.clone().unwrap_or_default();
    let id = micro_grid::Entity::insert(micro_grid::ActiveModel {
        district_code: Set(code.clone()),
        street_id: Set(c.street_id),
        community_id: Set(c.community_id),
        compound_id: Set(c.id),
        name: Set(name),
        worker_account_id: Set(input.worker_account_id),
        whole_compound: Set(input.building_ids.is_empty()),
        created_by: Set(Some(user.account_id)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec(db)
    .await?
    .last_insert_id;
    let g = micro_grid::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(ApiError::not_found)?;
    write_buildings(db, &c, &g, &input.building_ids).await?;
    audit::record(
        db,
        Entry::new(Some(user), "micro_grid.create", "micro_grid")
            .object(id)
            .district(Some(code))
            .detail(serde_json::json!({ "compound_id": c.id, "buildings": input.building_ids })),
    )
    .await?;
    Ok(id)
}

pub async fn update(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
    input: &GridUpdate,
) -> Result<(), ApiError> {
    let (g, c) = managed_grid(db, user, id).await?;
    let name = rules::check_text(&input.name, 64).map_err(invalid)?;
    check_worker(db, &c, input.worker_account_id).await?;
    let code = g.district_code.clone();
    let mut m: micro_grid::ActiveModel = g.into();
    m.name = Set(name);
    m.worker_account_id = Set(input.worker_account_id);
    m.updated_at = Set(Utc::now());
    micro_grid::Entity::update(m).exec(db).await?;
    audit::record(
        db,
        Entry::new(Some(user), "micro_grid.update", "micro_grid")
            .object(id)
            .district(Some(code))
            .detail(serde_json::json!({ "worker_account_id": input.worker_account_id })),
    )
    .await?;
    Ok(())
}

pub async fn set_building_list(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
    wanted: &[i64],
) -> Result<(), ApiError> {
    let (g, c) = managed_grid(db, user, id).await?;
    store::lock_compound(db, c.id).await?;
    assign(db, &c, Some(&g), wanted).await?;
    write_buildings(db, &c, &g, wanted).await?;
    audit::record(
        db,
        Entry::new(Some(user), "micro_grid.buildings", "micro_grid")
            .object(id)
            .district(Some(g.district_code))
            .detail(serde_json::json!({ "buildings": wanted })),
    )
    .await?;
    Ok(())
}

fn checked_group(input: &ContactGroupInput) -> Result<(String, Option<String>), ApiError> {
    let name = rules::check_text(&input.name, 128).map_err(invalid)?;
    let link = match input.link.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(l) => Some(rules::check_text(l, 512).map_err(invalid)?),
    };
    Ok((name, link))
}

/// A building of the grid's compound whose dwellings belong to the grid.
async fn check_group_building(
    db: &impl ConnectionTrait,
    g: &micro_grid::Model,
    building: Option<i64>,
) -> Result<(), ApiError> {
    let Some(b) = building else { return Ok(()) };
    let assigned = store::assigned(db, g.compound_id).await?;
    let whole = g.whole_compound.then_some(g.id);
    let in_compound = store::buildings_of(db, g.compound_id)
        .await?
        .iter()
        .any(|x| x.id == b);
    if !in_compound || rules::grid_of(assigned.get(&b).copied(), whole) != Some(g.id) {
        return Err(invalid_key("micro_grids.error.group_building"));
    }
    Ok(())
}

pub async fn create_contact_group(
    db: &impl ConnectionTrait,
    user: &Principal,
    grid_id: i64,
    input: &ContactGroupInput,
) -> Result<i64, ApiError> {
    let (g, _) = worked_grid(db, user, grid_id).await?;
    let (name, link) = checked_group(input)?;
    check_group_building(db, &g, input.building_id).await?;
    let now = Utc::now();
    let id = contact_group::Entity::insert(contact_group::ActiveModel {
        grid_id: Set(g.id),
        district_code: Set(g.district_code.clone()),
        name: Set(name),
        channel: Set(input.channel.as_str().into()),
        link: Set(link),
        building_id: Set(input.building_id),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec(db)
    .await?
    .last_insert_id;
    audit::record(
        db,
        Entry::new(Some(user), "contact_group.create", "contact_group")
            .object(id)
            .district(Some(g.district_code)),
    )
    .await?;
    Ok(id)
}

/// Adds dwellings to a group (or, with `replace`, makes them its list).
/// Every dwelling must belong to the group's grid.
pub async fn put_dwellings(
    db: &impl ConnectionTrait,
    user: &Principal,
    group_id: i64,
    list: &[GroupDwelling],
    replace: bool,
) -> Result<(), ApiError> {
    let (cg, g, _) = worked_group(db, user, group_id).await?;
    let of = store::compound_dwelling_grids(db, g.compound_id).await?;
    let mut seen = HashSet::new();
    let mut rows = Vec::new();
    for d in list {
        if of.get(&d.dwelling_id).copied().flatten() != Some(g.id) {
            return Err(invalid_key("micro_grids.error.dwelling_grid"));
        }
        let person = match d.person_name.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(n) => Some(rules::check_text(n, 64).map_err(invalid)?),
        };
        if seen.insert(d.dwelling_id) {
            rows.push((d.dwelling_id, person));
        }
    }
    let existing: HashSet<i64> = contact_group_member::Entity::find()
        .filter(contact_group_member::Column::GroupId.eq(cg.id))
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.dwelling_id)
        .collect();
    if replace {
        contact_group_member::Entity::delete_many()
            .filter(contact_group_member::Column::GroupId.eq(cg.id))
            .exec(db)
            .await?;
    } else {
        rows.retain(|(d, _)| !existing.contains(d));
    }
    let now = Utc::now();
    for chunk in rows.chunks(500) {
        contact_group_member::Entity::insert_many(chunk.iter().map(|(d, p)| {
            contact_group_member::ActiveModel {
                group_id: Set(cg.id),
                grid_id: Set(g.id),
                district_code: Set(g.district_code.clone()),
                dwelling_id: Set(*d),
                person_name: Set(p.clone()),
                created_at: Set(now),
                ..Default::default()
            }
        }))
        .exec(db)
        .await?;
    }
    audit::record(
        db,
        Entry::new(Some(user), "contact_group.dwellings", "contact_group")
            .object(cg.id)
            .district(Some(g.district_code))
            .detail(serde_json::json!({ "dwellings": seen.len(), "replace": replace })),
    )
    .await?;
    Ok(())
}

pub async fn add_work_group_member(
    db: &impl ConnectionTrait,
    user: &Principal,
    grid_id: i64,
    input: &NewMember,
) -> Result<i64, ApiError> {
    let (g, _) = worked_grid(db, user, grid_id).await?;
    let name = rules::check_text(&input.name, 64).map_err(invalid)?;
    let role = rules::check_text(&input.role, 64).map_err(invalid)?;
    let id = micro_grid_member::Entity::insert(micro_grid_member::ActiveModel {
        grid_id: Set(g.id),
        district_code: Set(g.district_code.clone()),
        kind: Set("party_work_group".into()),
        name: Set(name),
        person_id: Set(input.person_id),
        account_id: Set(input.account_id),
        role: Set(role),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(db)
    .await?
    .last_insert_id;
    audit::record(
        db,
        Entry::new(Some(user), "micro_grid.add_member", "micro_grid")
            .object(g.id)
            .district(Some(g.district_code)),
    )
    .await?;
    Ok(id)
}

pub async fn update_contact_group(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
    input: &ContactGroupInput,
) -> Result<(), ApiError> {
    let (cg, g, _) = worked_group(db, user, id).await?;
    let (name, link) = checked_group(input)?;
    check_group_building(db, &g, input.building_id).await?;
    let mut m: contact_group::ActiveModel = cg.into();
    m.name = Set(name);
    m.channel = Set(input.channel.as_str().into());
    m.link = Set(link);
    m.building_id = Set(input.building_id);
    m.updated_at = Set(Utc::now());
    contact_group::Entity::update(m).exec(db).await?;
    audit::record(
        db,
        Entry::new(Some(user), "contact_group.update", "contact_group")
            .object(id)
            .district(Some(g.district_code)),
    )
    .await?;
    Ok(())
}

/// Deletes a contact group with the entries of the dwellings it reached.
pub async fn delete_contact_group(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<(), ApiError> {
    let (_, g, _) = worked_group(db, user, id).await?;
    contact_group_member::Entity::delete_many()
        .filter(contact_group_member::Column::GroupId.eq(id))
        .exec(db)
        .await?;
    contact_group::Entity::delete_by_id(id).exec(db).await?;
    audit::record(
        db,
        Entry::new(Some(user), "contact_group.delete", "contact_group")
            .object(id)
            .district(Some(g.district_code)),
    )
    .await?;
    Ok(())
}

pub async fn remove_work_group_member(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<(), ApiError> {
    let Some(m) = micro_grid_member::Entity::find_by_id(id).one(db).await? else {
        return Err(ApiError::not_found());
    };
    let (g, _) = worked_grid(db, user, m.grid_id).await?;
    micro_grid_member::Entity::delete_by_id(id).exec(db).await?;
    audit::record(
        db,
        Entry::new(Some(user), "micro_grid.remove_member", "micro_grid")
            .object(g.id)
            .district(Some(g.district_code)),
    )
    .await?;
    Ok(())
}

// ---------------------------------------------------------------- routes

/// A compound's grids with their buildings and figures.
#[utoipa::path(get, path = "/places/{id}/micro-grids", tag = "micro_grids",
    params(("id" = i64, Path, description = "Compound id")),
    responses((status = 200, body = CompoundGrids), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn compound_grids(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<CompoundGrids>, ApiError> {
    let db = state.db.conn();
    let c = visible_compound(db, &user, id).await?;
    if !reads(&user, &c) {
        return Err(ApiError::forbidden());
    }
    Ok(ApiJson(compound_view(db, &user, &c).await?))
}

/// Creates a grid of the compound: the whole compound, or the buildings given.
#[utoipa::path(post, path = "/places/{id}/micro-grids", tag = "micro_grids", request_body = NewGrid,
    params(("id" = i64, Path, description = "Compound id")),
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_grid(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<NewGrid>,
) -> Result<(StatusCode, ApiJson<Created>), ApiError> {
    let tx = state.db.write().await?;
    let id = create(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(Created { id })))
}

/// One grid with its worker, work group and contact groups.
#[utoipa::path(get, path = "/micro-grids/{id}", tag = "micro_grids",
    params(("id" = i64, Path, description = "Grid id")),
    responses((status = 200, body = GridView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_grid(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<GridView>, ApiError> {
    let db = state.db.conn();
    let (g, c) = readable_grid(db, &user, id).await?;
    Ok(ApiJson(grid_view(db, &user, &g, &c).await?))
}

/// Renames a grid and assigns its community worker.
#[utoipa::path(put, path = "/micro-grids/{id}", tag = "micro_grids", request_body = GridUpdate,
    params(("id" = i64, Path, description = "Grid id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_grid(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<GridUpdate>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    update(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes a grid with its work group and contact groups; its buildings
/// fall back to the whole-compound grid, if any.
#[utoipa::path(delete, path = "/micro-grids/{id}", tag = "micro_grids",
    params(("id" = i64, Path, description = "Grid id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn delete_grid(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    let (g, c) = managed_grid(&tx, &user, id).await?;
    store::lock_compound(&tx, c.id).await?;
    // Children first: SQLite cascades only with foreign keys on.
    let groups: Vec<i64> = contact_group::Entity::find()
        .filter(contact_group::Column::GridId.eq(id))
        .all(&tx)
        .await?
        .into_iter()
        .map(|g| g.id)
        .collect();
    contact_group_member::Entity::delete_many()
        .filter(contact_group_member::Column::GroupId.is_in(groups))
        .exec(&tx)
        .await?;
    contact_group::Entity::delete_many()
        .filter(contact_group::Column::GridId.eq(id))
        .exec(&tx)
        .await?;
    micro_grid_member::Entity::delete_many()
        .filter(micro_grid_member::Column::GridId.eq(id))
        .exec(&tx)
        .await?;
    micro_grid_building::Entity::delete_many()
        .filter(micro_grid_building::Column::GridId.eq(id))
        .exec(&tx)
        .await?;
    micro_grid::Entity::delete_by_id(id).exec(&tx).await?;
    prune(&tx, c.id).await?;
    audit::record(
        &tx,
        Entry::new(Some(&user), "micro_grid.delete", "micro_grid")
            .object(id)
            .district(Some(g.district_code)),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets the grid's buildings (splitting the compound); an empty list makes
/// it the whole-compound grid. A building of another grid: 409; a building
/// outside the compound: 422.
#[utoipa::path(put, path = "/micro-grids/{id}/buildings", tag = "micro_grids", request_body = GridBuildings,
    params(("id" = i64, Path, description = "Grid id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_buildings(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<GridBuildings>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    set_building_list(&tx, &user, id, &input.building_ids).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The grid's owner contact groups.
#[utoipa::path(get, path = "/micro-grids/{id}/contact-groups", tag = "micro_grids",
    params(("id" = i64, Path, description = "Grid id")),
    responses((status = 200, body = Vec<ContactGroupView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_groups(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<Vec<ContactGroupView>>, ApiError> {
    let db = state.db.conn();
    let (g, _) = readable_grid(db, &user, id).await?;
    Ok(ApiJson(groups_of(db, g.id).await?))
}

/// Adds an owner contact group to the grid (its managers and its worker).
#[utoipa::path(post, path = "/micro-grids/{id}/contact-groups", tag = "micro_grids", request_body = ContactGroupInput,
    params(("id" = i64, Path, description = "Grid id")),
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_group(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<ContactGroupInput>,
) -> Result<(StatusCode, ApiJson<Created>), ApiError> {
    let tx = state.db.write().await?;
    let id = create_contact_group(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(Created { id })))
}

/// Changes a contact group.
#[utoipa::path(put, path = "/contact-groups/{id}", tag = "micro_grids", request_body = ContactGroupInput,
    params(("id" = i64, Path, description = "Contact group id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_group(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<ContactGroupInput>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    update_contact_group(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes a contact group; the dwellings it reached may become unreachable.
#[utoipa::path(delete, path = "/contact-groups/{id}", tag = "micro_grids",
    params(("id" = i64, Path, description = "Contact group id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn delete_group(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    delete_contact_group(&tx, &user, id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets the dwellings the group reaches; each must belong to the group's
/// grid (422 otherwise, nothing stored).
#[utoipa::path(put, path = "/contact-groups/{id}/dwellings", tag = "micro_grids", request_body = GroupDwellings,
    params(("id" = i64, Path, description = "Contact group id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_group_dwellings(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<GroupDwellings>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    put_dwellings(&tx, &user, id, &input.dwellings, true).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The grid's party work group.
#[utoipa::path(get, path = "/micro-grids/{id}/members", tag = "micro_grids",
    params(("id" = i64, Path, description = "Grid id")),
    responses((status = 200, body = Vec<MemberView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_members(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<Vec<MemberView>>, ApiError> {
    let db = state.db.conn();
    let (g, _) = readable_grid(db, &user, id).await?;
    Ok(ApiJson(members_of(db, g.id).await?))
}

/// Adds a member to the grid's party work group.
#[utoipa::path(post, path = "/micro-grids/{id}/members", tag = "micro_grids", request_body = NewMember,
    params(("id" = i64, Path, description = "Grid id")),
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_member(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<NewMember>,
) -> Result<(StatusCode, ApiJson<Created>), ApiError> {
    let tx = state.db.write().await?;
    let id = add_work_group_member(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(Created { id })))
}

/// Removes a member of a grid's party work group.
#[utoipa::path(delete, path = "/micro-grid-members/{id}", tag = "micro_grids",
    params(("id" = i64, Path, description = "Member id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn delete_member(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    remove_work_group_member(&tx, &user, id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The grid's dwellings with how each is reached, unreachable first.
#[utoipa::path(get, path = "/micro-grids/{id}/dwellings", tag = "micro_grids",
    params(("id" = i64, Path, description = "Grid id"), DwellingQuery),
    responses((status = 200, body = DwellingPage), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn grid_dwellings(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<DwellingQuery>,
) -> Result<ApiJson<DwellingPage>, ApiError> {
    let db = state.db.conn();
    let (g, _) = readable_grid(db, &user, id).await?;
    Ok(ApiJson(dwelling_page(db, &g, &q).await?))
}

/// Coverage of a district, street, community or compound and of each of
/// its children (a compound's children are its grids).
#[utoipa::path(get, path = "/places/{id}/grid-coverage", tag = "micro_grids",
    params(("id" = i64, Path, description = "Place id")),
    responses((status = 200, body = GridCoverage), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn grid_coverage(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<GridCoverage>, ApiError> {
    Ok(ApiJson(coverage_of(state.db.conn(), &user, id).await?))
}
