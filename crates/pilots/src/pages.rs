//! Pages of cohesion pilots: the pilots and the comparison table of each
//! district or street the reader administers, and a street's page with
//! its pilots, the designation form and the choice of indicators. Every
//! write goes through the same functions as the API.

use std::collections::HashSet;

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use jinlin_kernel::auth::{Principal, Role, User};
use jinlin_kernel::i18n::Lang;
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::web::{AppState, Ctx, PageError};

use crate::api::{self, GroupView, IndicatorsInput, NewPilot, PilotComparison, PilotView};
use crate::rules::{self, Indicator, PilotType};
use crate::store;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/pilots", get(index))
        .route("/pilots/{id}/end", post(end))
        .route("/places/{id}/pilots", get(street).post(designate))
        .route("/places/{id}/pilot-indicators", post(indicators))
}

/// A submitted form, keeping repeated fields (checkboxes).
struct Fields(Vec<(String, String)>);

impl Fields {
    fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .unwrap_or("")
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .collect()
    }

    fn check_csrf(&self, user: &Principal) -> Result<(), PageError> {
        user.check_csrf(Some(self.get("csrf")))?;
        Ok(())
    }
}

fn type_label(lang: Lang, t: PilotType) -> String {
    lang.t(&format!("pilots.type.{}", t.as_str())).into_owned()
}

fn indicator_label(lang: Lang, i: Indicator) -> String {
    lang.t(&format!("pilots.indicator.{}", i.as_str()))
        .into_owned()
}

struct PilotRow {
    id: i64,
    compound: String,
    street_id: i64,
    street: String,
    kind: String,
    note: String,
    since: String,
    ended: String,
    reason: String,
    current: bool,
}

fn pilot_rows(lang: Lang, list: Vec<PilotView>) -> Vec<PilotRow> {
    list.into_iter()
        .map(|p| PilotRow {
            id: p.id,
            compound: p.compound_name,
            street_id: p.street_id,
            street: p.street_name,
            kind: type_label(lang, p.pilot_type),
            note: p.note.unwrap_or_default(),
            since: p.designated_at.format("%Y-%m-%d").to_string(),
            ended: p
                .ended_at
                .map(|t| t.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            reason: p.end_reason.unwrap_or_default(),
            current: p.ended_at.is_none(),
        })
        .collect()
}

/// A mean as shown, with the number of compounds behind it.
struct Cell {
    value: String,
    n: u64,
}

fn cell(g: &GroupView) -> Cell {
    Cell {
        value: g.display.clone().unwrap_or_else(|| "—".into()),
        n: g.n,
    }
}

struct CompareRow {
    label: String,
    /// A type's line under its indicator.
    sub: bool,
    pilots: Cell,
    rest: Cell,
}

struct StreetCard {
    id: i64,
    name: String,
    pilots: u64,
    compounds: u64,
    lines: Vec<(String, Cell, Cell)>,
}

struct Block {
    name: String,
    is_street: bool,
    place_id: i64,
    pilots: Vec<PilotRow>,
    compounds: u64,
    rows: Vec<CompareRow>,
    streets: Vec<StreetCard>,
}

fn block(lang: Lang, c: PilotComparison, pilots: Vec<PilotRow>) -> Block {
    let mut rows = Vec::new();
    for ind in &c.indicators {
        rows.push(CompareRow {
            label: indicator_label(lang, ind.indicator),
            sub: false,
            pilots: cell(&ind.pilots),
            rest: cell(&ind.rest),
        });
        for t in &ind.by_type {
            if t.pilots.n == 0 && t.rest.n == 0 {
                continue;
            }
            rows.push(CompareRow {
                label: type_label(lang, t.pilot_type),
                sub: true,
                pilots: cell(&t.pilots),
                rest: cell(&t.rest),
            });
        }
    }
    let streets = c
        .streets
        .iter()
        .map(|s| StreetCard {
            id: s.street_id,
            name: s.street_name.clone(),
            pilots: s.pilots,
            compounds: s.compounds,
            lines: s
                .indicators
                .iter()
                .map(|i| {
                    (
                        indicator_label(lang, i.indicator),
                        cell(&i.pilots),
                        cell(&i.rest),
                    )
                })
                .collect(),
        })
        .collect();
    Block {
        name: c.name,
        is_street: c.kind == PlaceKind::Street,
        place_id: c.place_id,
        pilots,
        compounds: c.compounds,
        rows,
        streets,
    }
}

// ---------------------------------------------------------------- index

#[derive(Template)]
#[template(path = "pilots_index.html")]
struct IndexPage {
    lang: Lang,
    window: String,
    blocks: Vec<Block>,
}

/// Districts and streets the user administers.
fn admin_scopes(user: &Principal) -> Vec<i64> {
    let mut ids: Vec<i64> = user
        .grants
        .iter()
        .filter(|g| {
            matches!(
                (g.role, g.place.kind),
                (Role::StreetAdmin, Some(PlaceKind::Street))
                    | (Role::DistrictAdmin, Some(PlaceKind::District))
            )
        })
        .map(|g| g.place.id)
        .collect();
    ids.dedup();
    ids
}

async fn index(ctx: Ctx, user: User, State(state): State<AppState>) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let db = state.db.conn();
    let now = Utc::now();
    let mut blocks = Vec::new();
    for id in admin_scopes(&user) {
        let scope = api::readable_scope(db, &user, id).await?;
        let pilots = pilot_rows(
            lang,
            api::pilot_views(db, &store::pilots_in(db, &scope, true).await?).await?,
        );
        let c = api::comparison(db, &scope, now).await?;
        blocks.push(block(lang, c, pilots));
    }
    let body = IndexPage {
        lang,
        window: lang.tf(
            "pilots.window",
            &[("days", &rules::WINDOW_DAYS.to_string())],
        ),
        blocks,
    };
    Ok(ctx.page(&lang.t("pilots.title"), body))
}

// ---------------------------------------------------------------- street

/// An indicator of the catalogue, ticked when the street tracks it.
struct Choice {
    code: &'static str,
    label: String,
    on: bool,
}

#[derive(Template)]
#[template(path = "pilots_street.html")]
struct StreetPage<'a> {
    lang: Lang,
    csrf: &'a str,
    street_id: i64,
    name: String,
    current: Vec<PilotRow>,
    history: Vec<PilotRow>,
    can_manage: bool,
    /// Compounds of the street that are not pilots now.
    compounds: Vec<(i64, String)>,
    types: Vec<(&'static str, String)>,
    catalogue: Vec<Choice>,
    tracked: Vec<String>,
}

async fn street(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let db = state.db.conn();
    let street = api::readable_scope(db, &user, id).await?;
    if street.kind != PlaceKind::Street.as_str() {
        return Err(api::invalid(rules::Invalid {
            key: "pilots.error.not_street",
            item: None,
        })
        .into());
    }
    let rows = store::pilots_in(db, &street, false).await?;
    let current_ids: HashSet<i64> = rows
        .iter()
        .filter(|p| p.ended_at.is_none())
        .map(|p| p.compound_id)
        .collect();
    let (current, history): (Vec<PilotRow>, Vec<PilotRow>) =
        pilot_rows(lang, api::pilot_views(db, &rows).await?)
            .into_iter()
            .partition(|p| p.current);
    let view = api::indicators_view(db, &user, &street).await?;
    let compounds = if view.can_manage {
        store::compounds_in(db, &street)
            .await?
            .into_iter()
            .filter(|c| !current_ids.contains(&c.id))
            .map(|c| (c.id, c.name))
            .collect()
    } else {
        Vec::new()
    };
    let title = format!("{} · {}", street.name, lang.t("pilots.title"));
    let body = StreetPage {
        lang,
        csrf: ctx.csrf(),
        street_id: street.id,
        name: street.name.clone(),
        current,
        history,
        can_manage: view.can_manage,
        compounds,
        types: PilotType::ALL
            .iter()
            .map(|t| (t.as_str(), type_label(lang, *t)))
            .collect(),
        catalogue: Indicator::ALL
            .iter()
            .map(|i| Choice {
                code: i.as_str(),
                label: indicator_label(lang, *i),
                on: view.tracked.contains(i),
            })
            .collect(),
        tracked: view
            .tracked
            .iter()
            .map(|i| indicator_label(lang, *i))
            .collect(),
    };
    Ok(ctx.page(&title, body))
}

async fn designate(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields(f);
    f.check_csrf(&user)?;
    let Ok(compound_id) = f.get("compound_id").parse() else {
        return Err(api::invalid(rules::Invalid {
            key: "pilots.error.unknown_compound",
            item: Some(f.get("compound_id").to_string()),
        })
        .into());
    };
    let input = NewPilot {
        compound_id,
        pilot_type: f.get("type").to_string(),
        note: Some(f.get("note").to_string()),
    };
    let tx = state.db.write().await?;
    api::designate(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/places/{id}/pilots")).into_response())
}

async fn end(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields(f);
    f.check_csrf(&user)?;
    let tx = state.db.write().await?;
    let street = api::end(&tx, &user, id, f.get("reason")).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/places/{street}/pilots")).into_response())
}

async fn indicators(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields(f);
    f.check_csrf(&user)?;
    let input = IndicatorsInput {
        indicators: f.all("indicator"),
    };
    let tx = state.db.write().await?;
    api::track(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/places/{id}/pilots")).into_response())
}
