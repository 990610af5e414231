//! Pages of agencies and pairing: the list with selection rounds, one
//! agency with its pairings and history, a compound's paired agencies, and
//! a selection round with its preference forms and solve report. Every
//! write goes through the same functions as the API.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jinlin_kernel::ApiError;
use jinlin_kernel::auth::{Principal, Role, User};
use jinlin_kernel::i18n::Lang;
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::web::{AppState, Ctx, PageError};

use crate::api::{
    self, AgencyInput, AgencyPreferenceInput, AgencySummary, CompoundPreferenceInput, NewRound,
    PairingView, RoundView,
};
use crate::rules::Category;
use crate::store;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/agencies", get(index).post(create))
        .route("/agencies/{id}", get(show))
        .route("/agencies/{id}/pair", post(pair))
        .route("/agency-pairings/{id}/end", post(end))
        .route("/places/{id}/agencies", get(compound))
        .route("/selection-rounds", post(create_round))
        .route("/selection-rounds/{id}", get(round))
        .route(
            "/selection-rounds/{id}/agencies/{agency_id}",
            post(agency_preference),
        )
        .route(
            "/selection-rounds/{id}/compounds/{compound_id}",
            post(compound_preference),
        )
        .route("/selection-rounds/{id}/solve", post(solve))
}

type Fields = HashMap<String, String>;

fn field<'a>(f: &'a Fields, name: &str) -> &'a str {
    f.get(name).map(|s| s.trim()).unwrap_or("")
}

fn check_csrf(user: &Principal, f: &Fields) -> Result<(), PageError> {
    user.check_csrf(Some(field(f, "csrf")))?;
    Ok(())
}

fn number(f: &Fields, name: &str) -> Result<i64, PageError> {
    field(f, name).parse().map_err(|_| {
        ApiError::invalid(jinlin_kernel::i18n::current().t("agencies.error.number")).into()
    })
}

/// "12, 7 13" → [12, 7, 13]; anything else is refused.
fn ids(text: &str) -> Result<Vec<i64>, PageError> {
    text.split(|c: char| c == ',' || c == '，' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse().map_err(|_| {
                ApiError::invalid(jinlin_kernel::i18n::current().t("agencies.error.number")).into()
            })
        })
        .collect()
}

struct PairingRow {
    id: i64,
    agency_id: i64,
    agency: String,
    compound_id: i64,
    compound: String,
    route: String,
    started: String,
    ended: String,
    reason: String,
    current: bool,
}

fn rows(lang: Lang, pairings: Vec<PairingView>) -> Vec<PairingRow> {
    pairings
        .into_iter()
        .map(|p| PairingRow {
            id: p.id,
            agency_id: p.agency_id,
            agency: p.agency_name,
            compound_id: p.compound_id,
            compound: p.compound_name,
            route: lang
                .t(&format!("agencies.route.{}", p.route.as_str()))
                .into_owned(),
            started: p.started_at.format("%Y-%m-%d").to_string(),
            ended: p
                .ended_at
                .map(|t| t.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            reason: p.end_reason.unwrap_or_default(),
            current: p.ended_at.is_none(),
        })
        .collect()
}

fn category(lang: Lang, c: Category) -> String {
    lang.t(&format!("agencies.category.{}", c.as_str()))
        .into_owned()
}

/// Places where the user may run a round: district and street admins.
fn admin_scopes(user: &Principal) -> Vec<(i64, String)> {
    user.grants
        .iter()
        .filter(|g| matches!(g.role, Role::DistrictAdmin | Role::StreetAdmin))
        .filter(|g| matches!(g.place.kind, Some(PlaceKind::District | PlaceKind::Street)))
        .map(|g| (g.place.id, g.place_name.clone()))
        .collect()
}

// ---------------------------------------------------------------- index

struct RoundRow {
    id: i64,
    name: String,
    scope: String,
    state: String,
}

#[derive(Template)]
#[template(path = "agencies_index.html")]
struct IndexPage<'a> {
    lang: Lang,
    csrf: &'a str,
    agencies: Vec<(AgencySummary, String)>,
    rounds: Vec<RoundRow>,
    /// Districts where the user registers agencies.
    districts: Vec<(i64, String)>,
    scopes: Vec<(i64, String)>,
    categories: Vec<(&'static str, String)>,
}

async fn index(ctx: Ctx, user: User, State(state): State<AppState>) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let db = state.db.conn();
    let agencies = api::summaries(db, &user)
        .await?
        .into_iter()
        .map(|a| {
            let c = category(lang, a.category);
            (a, c)
        })
        .collect();
    let rounds = api::round_summaries(db, &user)
        .await?
        .into_iter()
        .map(|r| RoundRow {
            id: r.id,
            name: r.name,
            scope: r.scope_name,
            state: lang
                .t(&format!("agencies.state.{}", r.state.as_str()))
                .into_owned(),
        })
        .collect();
    let scopes = admin_scopes(&user);
    let districts = user
        .grants
        .iter()
        .filter(|g| g.role == Role::DistrictAdmin && g.place.kind == Some(PlaceKind::District))
        .map(|g| (g.place.id, g.place_name.clone()))
        .collect();
    let body = IndexPage {
        lang,
        csrf: ctx.csrf(),
        agencies,
        rounds,
        districts,
        scopes,
        categories: Category::ALL
            .into_iter()
            .map(|c| (c.as_str(), category(lang, c)))
            .collect(),
    };
    Ok(ctx.page(&lang.t("agencies.title"), body))
}

async fn create(
    user: User,
    State(state): State<AppState>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let input = AgencyInput {
        district_id: Some(number(&f, "district_id")?),
        name: field(&f, "name").into(),
        category: Category::parse(field(&f, "category")).unwrap_or(Category::Other),
        party_org_name: field(&f, "party_org_name").into(),
        contact: Some(field(&f, "contact").into()),
    };
    let tx = state.db.write().await?;
    let id = api::create(&tx, &user, &input).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/agencies/{id}")).into_response())
}

// ---------------------------------------------------------------- agency

#[derive(Template)]
#[template(path = "agencies_show.html")]
struct AgencyPage<'a> {
    lang: Lang,
    csrf: &'a str,
    a: &'a AgencySummary,
    category: String,
    accounts: Vec<String>,
    pairings: Vec<PairingRow>,
    /// Compounds the user may pair the agency with.
    compounds: Vec<(i64, String)>,
    can_pair: bool,
    can_end: bool,
    back: String,
}

async fn show(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let db = state.db.conn();
    let (a, d) = api::visible_agency(db, &user, id).await?;
    let view = api::agency_view(db, &user, a, &d).await?;
    let compounds: Vec<(i64, String)> = store::compounds_in(db, &d)
        .await?
        .into_iter()
        .filter(|c| api::pairs_at(&user, &c.position()))
        .map(|c| (c.id, c.name))
        .collect();
    let body = AgencyPage {
        lang,
        csrf: ctx.csrf(),
        a: &view.agency,
        category: category(lang, view.agency.category),
        accounts: view
            .accounts
            .iter()
            .flatten()
            .map(|l| l.username.clone())
            .collect(),
        pairings: rows(lang, view.pairings),
        can_pair: !compounds.is_empty(),
        can_end: !compounds.is_empty(),
        back: format!("/agencies/{id}"),
        compounds,
    };
    Ok(ctx.page(&view.agency.name, body))
}

async fn pair(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let compound = number(&f, "compound_id")?;
    let tx = state.db.write().await?;
    api::directed(&tx, &user, id, compound).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/agencies/{id}")).into_response())
}

async fn end(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let tx = state.db.write().await?;
    api::end(&tx, &user, id, field(&f, "reason")).await?;
    tx.commit().await?;
    let back = match field(&f, "back") {
        b if b.starts_with('/') && !b.starts_with("//") => b.to_string(),
        _ => "/agencies".to_string(),
    };
    Ok(Redirect::to(&back).into_response())
}

// ---------------------------------------------------------------- compound

#[derive(Template)]
#[template(path = "agencies_compound.html")]
struct CompoundPage<'a> {
    lang: Lang,
    csrf: &'a str,
    compound_id: i64,
    name: String,
    pairings: Vec<PairingRow>,
    can_end: bool,
    back: String,
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
    let pairings = api::pairing_views(db, store::pairings(db, None, Some(c.id)).await?).await?;
    let title = format!("{} · {}", c.name, lang.t("agencies.compound_agencies"));
    let body = CompoundPage {
        lang,
        csrf: ctx.csrf(),
        compound_id: c.id,
        back: format!("/places/{}/agencies", c.id),
        can_end: api::pairs_at(&user, &c.position()),
        name: c.name,
        pairings: rows(lang, pairings),
    };
    Ok(ctx.page(&title, body))
}

// ---------------------------------------------------------------- rounds

async fn create_round(
    user: User,
    State(state): State<AppState>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let input = NewRound {
        scope_place_id: number(&f, "scope_place_id")?,
        name: field(&f, "name").into(),
    };
    let tx = state.db.write().await?;
    let id = api::new_round(&tx, &user, &input).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/selection-rounds/{id}")).into_response())
}

struct Reported {
    name: String,
    reason: String,
    directed: bool,
}

#[derive(Template)]
#[template(path = "agencies_round.html")]
struct RoundPage<'a> {
    lang: Lang,
    csrf: &'a str,
    r: &'a RoundView,
    state: String,
    is_open: bool,
    /// (agency id, name, capacity, ranked ids) for the reader's agencies.
    agency_forms: Vec<(i64, String, i64, String)>,
    /// (compound id, name, ranked ids, needs) for the reader's compounds.
    compound_forms: Vec<(i64, String, String, String)>,
    pairs: Vec<(String, String, String)>,
    agencies_left: Vec<Reported>,
    compounds_left: Vec<Reported>,
}

fn joined(ids: impl Iterator<Item = i64>) -> String {
    ids.map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
}

async fn round(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let db = state.db.conn();
    let (r, scope) = api::visible_round(db, &user, id).await?;
    let view = api::round_view(db, &user, &r, &scope).await?;
    let name_of = |list: &[api::NamedId], id: i64| {
        list.iter()
            .find(|n| n.id == id)
            .map(|n| n.name.clone())
            .unwrap_or_default()
    };
    let agency_forms = view
        .my_agencies
        .iter()
        .map(|a| {
            let mine = view.agency_preferences.iter().find(|p| p.agency.id == *a);
            (
                *a,
                name_of(&view.agencies, *a),
                mine.map_or(1, |p| p.capacity),
                mine.map(|p| joined(p.compounds.iter().map(|c| c.id)))
                    .unwrap_or_default(),
            )
        })
        .collect();
    let compound_forms = view
        .my_compounds
        .iter()
        .map(|c| {
            let mine = view
                .compound_preferences
                .iter()
                .find(|p| p.compound.id == *c);
            (
                *c,
                name_of(&view.compounds, *c),
                mine.map(|p| joined(p.agencies.iter().map(|a| a.id)))
                    .unwrap_or_default(),
                mine.map(|p| p.needs.clone()).unwrap_or_default(),
            )
        })
        .collect();
    let reason = |r: crate::rules::Reason| {
        lang.t(&format!("agencies.reason.{}", r.as_str()))
            .into_owned()
    };
    let (pairs, agencies_left, compounds_left) = match &view.report {
        Some(rep) => (
            rep.pairs
                .iter()
                .map(|p| {
                    (
                        p.agency.name.clone(),
                        p.compound.name.clone(),
                        lang.t(&format!("agencies.route.{}", p.route.as_str()))
                            .into_owned(),
                    )
                })
                .collect(),
            rep.agencies
                .iter()
                .map(|l| Reported {
                    name: l.name.clone(),
                    reason: reason(l.reason),
                    directed: l.directed,
                })
                .collect(),
            rep.compounds
                .iter()
                .map(|l| Reported {
                    name: l.name.clone(),
                    reason: reason(l.reason),
                    directed: l.directed,
                })
                .collect(),
        ),
        None => (Vec::new(), Vec::new(), Vec::new()),
    };
    let body = RoundPage {
        lang,
        csrf: ctx.csrf(),
        r: &view,
        state: lang
            .t(&format!("agencies.state.{}", view.round.state.as_str()))
            .into_owned(),
        is_open: view.round.state == crate::rules::RoundState::Open,
        agency_forms,
        compound_forms,
        pairs,
        agencies_left,
        compounds_left,
    };
    Ok(ctx.page(&view.round.name, body))
}

async fn agency_preference(
    user: User,
    State(state): State<AppState>,
    Path((id, agency_id)): Path<(i64, i64)>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let input = AgencyPreferenceInput {
        capacity: number(&f, "capacity")?,
        compound_ids: ids(field(&f, "ranks"))?,
    };
    let tx = state.db.write().await?;
    api::set_agency_preference(&tx, &user, id, agency_id, &input).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/selection-rounds/{id}")).into_response())
}

async fn compound_preference(
    user: User,
    State(state): State<AppState>,
    Path((id, compound_id)): Path<(i64, i64)>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let input = CompoundPreferenceInput {
        agency_ids: ids(field(&f, "ranks"))?,
        needs: field(&f, "needs").into(),
    };
    let tx = state.db.write().await?;
    api::set_compound_preference(&tx, &user, id, compound_id, &input).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/selection-rounds/{id}")).into_response())
}

async fn solve(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let tx = state.db.write().await?;
    api::solve(&tx, &user, id).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/selection-rounds/{id}")).into_response())
}
