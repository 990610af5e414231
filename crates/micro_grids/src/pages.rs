//! Pages of micro-grids: the reader's own grids and the coverage table of a
//! place with drill-down to its children, one grid with its work group,
//! contact groups and dwellings, and a compound's grids with the new-grid
//! and split forms. They read and write through the same functions as the
//! API.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jinlin_kernel::ApiError;
use jinlin_kernel::auth::{Principal, User};
use jinlin_kernel::i18n::Lang;
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::web::{AppState, Ctx, PageError};
use serde::Deserialize;

use crate::api::{
    self, ContactGroupInput, DwellingQuery, GridCoverage, GridView, GroupDwelling, MemberView,
    NewGrid, NewMember, ReachFigures,
};
use crate::entity::{contact_group, micro_grid, micro_grid_member};
use crate::rules::{Channel, Reach};
use crate::{rules, store};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/micro-grids", get(index))
        .route("/micro-grids/{id}", get(grid))
        .route("/micro-grids/{id}/members", post(add_member))
        .route("/micro-grid-members/{id}/delete", post(remove_member))
        .route("/micro-grids/{id}/contact-groups", post(create_group))
        .route("/micro-grids/{id}/group-dwellings", post(add_to_group))
        .route("/micro-grids/{id}/buildings", post(set_buildings))
        .route("/contact-groups/{id}", post(update_group))
        .route("/contact-groups/{id}/delete", post(delete_group))
        .route("/places/{id}/micro-grids", get(compound).post(create_grid))
}

#[derive(Deserialize)]
struct IndexQuery {
    place: Option<i64>,
}

#[derive(Template)]
#[template(path = "micro_grids_index.html")]
struct IndexPage {
    lang: Lang,
    /// (compound id, compound, grid id, grid, coverage) of the grids the
    /// reader works.
    mine: Vec<(i64, String, i64, String, String)>,
    coverage: Option<GridCoverage>,
}

async fn index(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Query(q): Query<IndexQuery>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let db = state.db.conn();
    let mut mine = Vec::new();
    for g in micro_grid::Entity::find()
        .filter(micro_grid::Column::WorkerAccountId.eq(user.account_id))
        .order_by_asc(micro_grid::Column::Id)
        .all(db)
        .await?
    {
        let Some(c) = jinlin_places::store::find(db, g.compound_id).await? else {
            continue;
        };
        let tally = store::coverage(db, &c)
            .await?
            .into_iter()
            .find(|(k, _)| *k == Some(g.id))
            .map(|(_, t)| t)
            .unwrap_or_default();
        mine.push((
            c.id,
            c.name,
            g.id,
            g.name,
            rules::percent(tally.coverage_permille()).unwrap_or_default(),
        ));
    }
    // The asked place, else the first anchor where coverage is counted.
    let place = q.place.or_else(|| {
        user.grants
            .iter()
            .find(|g| {
                matches!(
                    g.place.kind,
                    Some(
                        PlaceKind::District
                            | PlaceKind::Street
                            | PlaceKind::Community
                            | PlaceKind::Compound
                    )
                )
            })
            .map(|g| g.place.id)
    });
    let coverage = match place {
        Some(id) => match api::coverage_of(db, &user, id).await {
            Ok(c) => Some(c),
            Err(e) if q.place.is_some() => return Err(e.into()),
            Err(_) => None,
        },
        None => None,
    };
    let body = IndexPage {
        lang,
        mine,
        coverage,
    };
    Ok(ctx.page(&lang.t("micro_grids.title"), body))
}

// ---------------------------------------------------------------- forms

/// Posted fields, in order, with repeated names kept (checkboxes).
struct Fields(Vec<(String, String)>);

impl Fields {
    fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .unwrap_or("")
    }

    fn numbers(&self, name: &str) -> Result<Vec<i64>, PageError> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim().parse().map_err(|_| number_error()))
            .collect()
    }

    fn number(&self, name: &str) -> Result<i64, PageError> {
        self.get(name).parse().map_err(|_| number_error())
    }

    fn optional(&self, name: &str) -> Result<Option<i64>, PageError> {
        match self.get(name) {
            "" => Ok(None),
            s => s.parse().map(Some).map_err(|_| number_error()),
        }
    }

    fn check_csrf(&self, user: &Principal) -> Result<(), PageError> {
        user.check_csrf(Some(self.get("csrf")))?;
        Ok(())
    }
}

fn number_error() -> PageError {
    api::invalid_key("micro_grids.error.number").into()
}

fn see(path: String) -> Response {
    Redirect::to(&path).into_response()
}

fn channel_label(lang: Lang, c: Channel) -> String {
    lang.t(&format!("micro_grids.channel.{}", c.as_str()))
        .into_owned()
}

fn reach_label(lang: Lang, r: Reach) -> String {
    lang.t(&format!("micro_grids.reach.{}", r.as_str()))
        .into_owned()
}

fn group_input(f: &Fields) -> Result<ContactGroupInput, PageError> {
    let channel = Channel::parse(f.get("channel"))
        .ok_or_else(|| PageError::from(api::invalid_key("micro_grids.error.channel")))?;
    Ok(ContactGroupInput {
        name: f.get("name").into(),
        channel,
        link: Some(f.get("link").into()),
        building_id: f.optional("building_id")?,
    })
}

// ---------------------------------------------------------------- one grid

const PER_PAGE: u64 = 50;

struct GroupRow {
    id: i64,
    name: String,
    channel: &'static str,
    channel_label: String,
    link: String,
    building_id: i64,
    building: String,
    count: u64,
    reached: Vec<String>,
}

struct DwellingLine {
    id: i64,
    label: String,
    reach: &'static str,
    reach_label: String,
    groups: String,
    selectable: bool,
}

#[derive(Template)]
#[template(path = "micro_grids_grid.html")]
struct GridPage<'a> {
    lang: Lang,
    csrf: &'a str,
    v: &'a GridView,
    coverage: String,
    worker: String,
    buildings: String,
    members: &'a [MemberView],
    groups: Vec<GroupRow>,
    channels: Vec<(&'static str, String)>,
    /// Buildings whose dwellings belong to the grid (a group's building).
    grid_buildings: Vec<(i64, String)>,
    dwellings: Vec<DwellingLine>,
    total: u64,
    page: u64,
    pages: u64,
    reach: String,
    filters: Vec<(&'static str, String)>,
    any_selectable: bool,
}

#[derive(Deserialize)]
struct GridQuery {
    page: Option<u64>,
    reach: Option<String>,
}

async fn grid(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<GridQuery>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let db = state.db.conn();
    let (g, c) = api::readable_grid(db, &user, id).await?;
    let view = api::grid_view(db, &user, &g, &c).await?;
    let reach = q.reach.unwrap_or_default();
    let dq = DwellingQuery {
        page: q.page,
        per_page: Some(PER_PAGE),
        reach: Some(reach.clone()),
    };
    let page = api::dwelling_page(db, &g, &dq).await?;
    let mut reached: HashMap<i64, Vec<String>> = HashMap::new();
    for (group, _, label) in store::group_dwellings(db, g.id).await? {
        reached.entry(group).or_default().push(label);
    }
    let assigned = store::assigned(db, c.id).await?;
    let whole = g.whole_compound.then_some(g.id);
    let grid_buildings = store::buildings_of(db, c.id)
        .await?
        .into_iter()
        .filter(|b| rules::grid_of(assigned.get(&b.id).copied(), whole) == Some(g.id))
        .map(|b| (b.id, b.name))
        .collect();
    let groups = view
        .contact_groups
        .iter()
        .map(|cg| GroupRow {
            id: cg.id,
            name: cg.name.clone(),
            channel: cg.channel.as_str(),
            channel_label: channel_label(lang, cg.channel),
            link: cg.link.clone().unwrap_or_default(),
            building_id: cg.building.as_ref().map_or(0, |b| b.id),
            building: cg
                .building
                .as_ref()
                .map(|b| b.name.clone())
                .unwrap_or_default(),
            count: cg.dwellings,
            reached: reached.remove(&cg.id).unwrap_or_default(),
        })
        .collect();
    let dwellings: Vec<DwellingLine> = page
        .items
        .iter()
        .map(|d| DwellingLine {
            id: d.id,
            label: [d.building.clone(), d.entrance.clone(), Some(d.name.clone())]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · "),
            reach: d.reach.as_str(),
            reach_label: reach_label(lang, d.reach),
            groups: d
                .groups
                .iter()
                .map(|n| n.name.as_str())
                .collect::<Vec<_>>()
                .join("、"),
            selectable: view.can_work && d.reach == Reach::None,
        })
        .collect();
    let f = &view.grid.figures;
    let body = GridPage {
        lang,
        csrf: ctx.csrf(),
        coverage: f.coverage_percent.clone().unwrap_or_default(),
        worker: view
            .grid
            .worker
            .as_ref()
            .map(|w| w.display_name.clone())
            .unwrap_or_default(),
        buildings: if view.grid.whole_compound {
            lang.t("micro_grids.whole_compound").into_owned()
        } else {
            view.grid
                .buildings
                .iter()
                .map(|b| b.name.as_str())
                .collect::<Vec<_>>()
                .join("、")
        },
        members: &view.members,
        groups,
        channels: Channel::ALL
            .into_iter()
            .map(|c| (c.as_str(), channel_label(lang, c)))
            .collect(),
        grid_buildings,
        any_selectable: dwellings.iter().any(|d| d.selectable),
        dwellings,
        total: page.total,
        page: page.page,
        pages: page.total.div_ceil(PER_PAGE).max(1),
        reach,
        filters: [Reach::None, Reach::Phone, Reach::Group]
            .into_iter()
            .map(|r| (r.as_str(), reach_label(lang, r)))
            .collect(),
        v: &view,
    };
    let title = format!("{} · {}", c.name, view.grid.name);
    Ok(ctx.page(&title, body))
}

async fn add_member(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields(f);
    f.check_csrf(&user)?;
    let input = NewMember {
        name: f.get("name").into(),
        role: f.get("role").into(),
        person_id: None,
        account_id: None,
    };
    let tx = state.db.write().await?;
    api::add_work_group_member(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok(see(format!("/micro-grids/{id}")))
}

async fn remove_member(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields(f);
    f.check_csrf(&user)?;
    let tx = state.db.write().await?;
    let grid = micro_grid_member::Entity::find_by_id(id)
        .one(&tx)
        .await?
        .map(|m| m.grid_id);
    api::remove_work_group_member(&tx, &user, id).await?;
    tx.commit().await?;
    Ok(see(format!("/micro-grids/{}", grid.unwrap_or_default())))
}

async fn create_group(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields(f);
    f.check_csrf(&user)?;
    let input = group_input(&f)?;
    let tx = state.db.write().await?;
    api::create_contact_group(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok(see(format!("/micro-grids/{id}")))
}

async fn grid_of_group(tx: &impl ConnectionTrait, id: i64) -> Result<i64, PageError> {
    Ok(contact_group::Entity::find_by_id(id)
        .one(tx)
        .await?
        .map(|g| g.grid_id)
        .unwrap_or_default())
}

async fn update_group(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields(f);
    f.check_csrf(&user)?;
    let input = group_input(&f)?;
    let tx = state.db.write().await?;
    let grid = grid_of_group(&tx, id).await?;
    api::update_contact_group(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok(see(format!("/micro-grids/{grid}")))
}

async fn delete_group(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields(f);
    f.check_csrf(&user)?;
    let tx = state.db.write().await?;
    let grid = grid_of_group(&tx, id).await?;
    api::delete_contact_group(&tx, &user, id).await?;
    tx.commit().await?;
    Ok(see(format!("/micro-grids/{grid}")))
}

/// Adds the ticked dwellings to the chosen contact group.
async fn add_to_group(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields(f);
    f.check_csrf(&user)?;
    let group = f.number("group_id")?;
    let list: Vec<GroupDwelling> = f
        .numbers("dwelling_id")?
        .into_iter()
        .map(|d| GroupDwelling {
            dwelling_id: d,
            person_name: None,
        })
        .collect();
    if list.is_empty() {
        return Err(api::invalid_key("micro_grids.error.none_selected").into());
    }
    let tx = state.db.write().await?;
    api::put_dwellings(&tx, &user, group, &list, false).await?;
    tx.commit().await?;
    Ok(see(format!("/micro-grids/{id}")))
}

// ---------------------------------------------------------------- compound

struct BuildingCheck {
    id: i64,
    name: String,
    checked: bool,
    /// The grid the building's dwellings belong to now.
    grid: String,
}

struct GridCard {
    id: i64,
    name: String,
    whole: bool,
    worker: String,
    buildings: String,
    figures: ReachFigures,
    coverage: String,
    contact_groups: u64,
    members: u64,
    checks: Vec<BuildingCheck>,
}

#[derive(Template)]
#[template(path = "micro_grids_compound.html")]
struct CompoundPage<'a> {
    lang: Lang,
    csrf: &'a str,
    compound_id: i64,
    name: String,
    grids: Vec<GridCard>,
    ungridded: u64,
    can_manage: bool,
    workers: Vec<(i64, String)>,
    /// Every building with its current grid, for the new-grid form.
    buildings: Vec<BuildingCheck>,
}

async fn compound(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let db = state.db.conn();
    let c = api::visible_compound(db, &user, id).await?;
    if !api::reads(&user, &c) {
        return Err(ApiError::forbidden().into());
    }
    let view = api::compound_view(db, &user, &c).await?;
    let none = lang.t("micro_grids.ungridded").into_owned();
    let grid_name = |gid: Option<i64>| {
        gid.and_then(|g| view.grids.iter().find(|x| x.id == g))
            .map(|x| x.name.clone())
            .unwrap_or_else(|| none.clone())
    };
    let buildings: Vec<BuildingCheck> = view
        .buildings
        .iter()
        .map(|b| BuildingCheck {
            id: b.id,
            name: b.name.clone(),
            checked: false,
            grid: grid_name(b.grid_id),
        })
        .collect();
    let grids = view
        .grids
        .iter()
        .map(|g| GridCard {
            id: g.id,
            name: g.name.clone(),
            whole: g.whole_compound,
            worker: g
                .worker
                .as_ref()
                .map(|w| w.display_name.clone())
                .unwrap_or_default(),
            buildings: view
                .buildings
                .iter()
                .filter(|b| b.grid_id == Some(g.id))
                .map(|b| b.name.as_str())
                .collect::<Vec<_>>()
                .join("、"),
            coverage: g.figures.coverage_percent.clone().unwrap_or_default(),
            figures: g.figures.clone(),
            contact_groups: g.contact_groups,
            members: g.members,
            checks: view
                .buildings
                .iter()
                .map(|b| BuildingCheck {
                    id: b.id,
                    name: b.name.clone(),
                    checked: b.assigned && b.grid_id == Some(g.id),
                    grid: grid_name(b.grid_id),
                })
                .collect(),
        })
        .collect();
    let workers = match (view.can_manage, c.community_id) {
        (true, Some(community)) => store::community_workers(db, community).await?,
        _ => Vec::new(),
    };
    let title = format!("{} · {}", c.name, lang.t("micro_grids.title"));
    let body = CompoundPage {
        lang,
        csrf: ctx.csrf(),
        compound_id: c.id,
        name: c.name.clone(),
        grids,
        ungridded: view.ungridded,
        can_manage: view.can_manage,
        workers,
        buildings,
    };
    Ok(ctx.page(&title, body))
}

async fn create_grid(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields(f);
    f.check_csrf(&user)?;
    let input = NewGrid {
        name: f.get("name").into(),
        worker_account_id: f.optional("worker_account_id")?,
        building_ids: f.numbers("building_id")?,
    };
    let tx = state.db.write().await?;
    api::create(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok(see(format!("/places/{id}/micro-grids")))
}

/// The split: the grid's buildings become exactly the ticked ones.
async fn set_buildings(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields(f);
    f.check_csrf(&user)?;
    let wanted = f.numbers("building_id")?;
    let tx = state.db.write().await?;
    api::set_building_list(&tx, &user, id, &wanted).await?;
    let compound = micro_grid::Entity::find_by_id(id)
        .one(&tx)
        .await?
        .map(|g| g.compound_id)
        .unwrap_or_default();
    tx.commit().await?;
    Ok(see(format!("/places/{compound}/micro-grids")))
}
