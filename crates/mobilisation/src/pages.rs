//! Pages of mobilisations: the list with the send form, one mobilisation
//! with its live coverage (htmx polls the coverage fragment), the reader's
//! own acknowledgement and grids, and a grid's households for its worker,
//! phone first. They read and write through the same functions as the API.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jinlin_kernel::auth::{Principal, Role, User};
use jinlin_kernel::i18n::Lang;
use jinlin_kernel::time::china;
use jinlin_kernel::web::{AppState, Ctx, PageError};
use serde::Deserialize;

use crate::api::{
    self, CoverageView, HouseholdQuery, Marks, MobilisationSummary, MobilisationView,
    NewMobilisation, UnitHouseholds,
};
use crate::rules::{self, Method};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/mobilisations", get(index).post(send))
        .route("/mobilisations/{id}", get(show))
        .route("/mobilisations/{id}/live", get(live))
        .route("/mobilisations/{id}/acknowledge", post(acknowledge))
        .route("/mobilisations/{id}/close", post(close))
        .route("/mobilisation-units/{id}", get(unit).post(mark))
        .route("/mobilisation-units/{id}/undo", post(undo))
}

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

    fn check_csrf(&self, user: &Principal) -> Result<(), PageError> {
        user.check_csrf(Some(self.get("csrf")))?;
        Ok(())
    }
}

fn number_error() -> PageError {
    api::invalid_key("mobilisation.error.number").into()
}

fn see(path: String) -> Response {
    Redirect::to(&path).into_response()
}

fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&china())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn method_label(lang: Lang, m: Method) -> String {
    lang.t(&format!("mobilisation.method.{}", m.as_str()))
        .into_owned()
}

// ---------------------------------------------------------------- list

#[derive(Template)]
#[template(path = "mobilisation_index.html")]
struct IndexPage<'a> {
    lang: Lang,
    csrf: &'a str,
    /// Places the reader may send to: (id, name).
    scopes: Vec<(i64, String)>,
    items: Vec<(MobilisationSummary, String)>,
}

/// The reader's own places where they may send a notice.
fn scopes_of(user: &Principal) -> Vec<(i64, String)> {
    let mut out: Vec<(i64, String)> = user
        .grants
        .iter()
        .filter(|g| {
            matches!(
                g.role,
                Role::DistrictAdmin
                    | Role::StreetAdmin
                    | Role::CommunityWorker
                    | Role::CompoundSecretary
            ) && rules::scope_allowed(g.place.kind)
        })
        .map(|g| (g.place.id, g.place_name.clone()))
        .collect();
    out.dedup_by_key(|(id, _)| *id);
    out
}

async fn index(ctx: Ctx, user: User, State(state): State<AppState>) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let items = api::visible(state.db.conn(), &user)
        .await?
        .into_iter()
        .map(|s| {
            let at = when(s.sent_at);
            (s, at)
        })
        .collect();
    let body = IndexPage {
        lang,
        csrf: ctx.csrf(),
        scopes: scopes_of(&user),
        items,
    };
    Ok(ctx.page(&lang.t("mobilisation.title"), body))
}

async fn send(
    user: User,
    State(state): State<AppState>,
    axum::Form(f): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields(f);
    f.check_csrf(&user)?;
    let place_id = f.get("place_id").parse().map_err(|_| number_error())?;
    let input = NewMobilisation {
        place_id,
        title: f.get("title").into(),
        body: f.get("body").into(),
    };
    let tx = state.db.write().await?;
    let sent = api::open(&tx, &user, &input).await?;
    tx.commit().await?;
    Ok(see(format!("/mobilisations/{}", sent.id)))
}

// ---------------------------------------------------------------- one

/// The live coverage section; htmx replaces it every few seconds while the
/// mobilisation is open and not yet complete.
#[derive(Template)]
#[template(path = "mobilisation_live.html")]
struct LivePart {
    lang: Lang,
    c: CoverageView,
    full_in: String,
    /// Per line: the time to full coverage, if reached.
    line_full_in: Vec<String>,
    polls: bool,
}

fn minutes(lang: Lang, m: Option<i64>) -> String {
    m.map(|n| lang.tf("mobilisation.minutes", &[("n", &n.to_string())]))
        .unwrap_or_default()
}

fn live_part(lang: Lang, c: CoverageView) -> LivePart {
    let polls = !c.closed && c.coverage.remaining > 0;
    LivePart {
        lang,
        full_in: minutes(lang, c.coverage.minutes_to_full),
        line_full_in: c
            .lines
            .iter()
            .map(|l| minutes(lang, l.coverage.minutes_to_full))
            .collect(),
        polls,
        c,
    }
}

#[derive(Template)]
#[template(path = "mobilisation_show.html")]
struct ShowPage<'a> {
    lang: Lang,
    csrf: &'a str,
    v: MobilisationView,
    sent_at: String,
    closed_at: String,
    /// The reader's households: (label, reached, how).
    own: Vec<(bool, String)>,
    any_unreached_own: bool,
    live: Option<LivePart>,
}

#[derive(Deserialize)]
struct PlaceQuery {
    place: Option<i64>,
}

async fn show(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<PlaceQuery>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let db = state.db.conn();
    let s = api::seen(db, &user, id).await?;
    let v = api::view(db, &user, &s).await?;
    let live = if s.follows_any() {
        Some(live_part(
            lang,
            api::coverage_at(db, &user, id, q.place).await?,
        ))
    } else {
        None
    };
    let own: Vec<(bool, String)> = v
        .my_households
        .iter()
        .map(|h| match (h.reached_at, h.method) {
            (Some(t), Some(m)) => (true, format!("{} · {}", when(t), method_label(lang, m))),
            (Some(t), None) => (true, when(t)),
            _ => (false, lang.t("mobilisation.not_acknowledged").into_owned()),
        })
        .collect();
    let body = ShowPage {
        lang,
        csrf: ctx.csrf(),
        sent_at: when(v.sent_at),
        closed_at: v.closed_at.map(when).unwrap_or_default(),
        any_unreached_own: own.iter().any(|(r, _)| !r),
        own,
        live,
        v,
    };
    let title = body.v.title.clone();
    Ok(ctx.page(&title, body))
}

async fn live(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<PlaceQuery>,
) -> Result<Response, PageError> {
    let c = api::coverage_at(state.db.conn(), &user, id, q.place).await?;
    let html = live_part(ctx.lang, c)
        .render()
        .map_err(PageError::internal)?;
    Ok(Html(html).into_response())
}

async fn acknowledge(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields(f);
    f.check_csrf(&user)?;
    api::acknowledge_own(&state.db, &user, id).await?;
    Ok(see(format!("/mobilisations/{id}")))
}

async fn close(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields(f);
    f.check_csrf(&user)?;
    let tx = state.db.write().await?;
    api::close_one(&tx, &user, id).await?;
    tx.commit().await?;
    Ok(see(format!("/mobilisations/{id}")))
}

// ---------------------------------------------------------------- a grid

const PER_PAGE: u64 = 50;

struct HouseholdLine {
    id: i64,
    label: String,
    groups: String,
    contacts: Vec<(String, String)>,
    done: String,
    /// A worker's mark that can be taken back.
    undo: bool,
}

#[derive(Template)]
#[template(path = "mobilisation_unit.html")]
struct UnitPage<'a> {
    lang: Lang,
    csrf: &'a str,
    u: UnitHouseholds,
    reached: bool,
    lines: Vec<HouseholdLine>,
    methods: Vec<(&'static str, String)>,
    pages: u64,
    message: String,
}

#[derive(Deserialize)]
struct UnitQuery {
    page: Option<u64>,
    reached: Option<bool>,
    marked: Option<u64>,
    already: Option<u64>,
    undone: Option<u64>,
}

async fn unit(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<UnitQuery>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let reached = q.reached.unwrap_or(false);
    let u = api::households_of(
        state.db.conn(),
        &user,
        id,
        &HouseholdQuery {
            reached: Some(reached),
            page: q.page,
            per_page: Some(PER_PAGE),
        },
    )
    .await?;
    let lines = u
        .items
        .iter()
        .map(|h| HouseholdLine {
            id: h.dwelling_id,
            label: h.label.clone(),
            groups: h.groups.join("、"),
            contacts: h
                .contacts
                .iter()
                .map(|c| (c.name.clone(), c.phone.clone()))
                .collect(),
            done: match (h.reached_at, h.method) {
                (Some(t), Some(m)) => format!(
                    "{} · {}{}",
                    when(t),
                    method_label(lang, m),
                    h.reached_by_name
                        .as_ref()
                        .map(|n| format!(" · {n}"))
                        .unwrap_or_default()
                ),
                _ => String::new(),
            },
            undo: !u.closed && h.method.is_some_and(rules::undoable),
        })
        .collect();
    let message = match (q.marked, q.already, q.undone) {
        (Some(m), Some(a), _) => lang.tf(
            "mobilisation.marked",
            &[("marked", &m.to_string()), ("already", &a.to_string())],
        ),
        (_, _, Some(n)) => lang.tf("mobilisation.undone", &[("n", &n.to_string())]),
        _ => String::new(),
    };
    let body = UnitPage {
        lang,
        csrf: ctx.csrf(),
        pages: u.total.div_ceil(PER_PAGE).max(1),
        reached,
        lines,
        methods: Method::BY_WORKER
            .iter()
            .map(|m| (m.as_str(), method_label(lang, *m)))
            .collect(),
        message,
        u,
    };
    let title = body.u.title.clone();
    Ok(ctx.page(&title, body))
}

async fn mark(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields(f);
    f.check_csrf(&user)?;
    let method = Method::parse(f.get("method"))
        .ok_or_else(|| PageError::from(api::invalid_key("mobilisation.error.method")))?;
    let marks = Marks {
        dwelling_ids: f.numbers("dwelling_id")?,
        method,
    };
    let (unit, m, _) = api::unit_access(state.db.conn(), &user, id).await?;
    let done = api::mark_on(&state.db, &user, m.id, &marks).await?;
    Ok(see(format!(
        "/mobilisation-units/{}?marked={}&already={}",
        unit.id, done.marked, done.already
    )))
}

/// Takes back one mistaken mark from the unit's reached list.
async fn undo(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields(f);
    f.check_csrf(&user)?;
    let dwelling_id = f
        .numbers("dwelling_id")?
        .first()
        .copied()
        .ok_or_else(|| PageError::from(api::invalid_key("mobilisation.error.none_chosen")))?;
    let (unit, m, _) = api::unit_access(state.db.conn(), &user, id).await?;
    let done = api::unmark_on(&state.db, &user, m.id, &api::Unmark { dwelling_id }).await?;
    Ok(see(format!(
        "/mobilisation-units/{}?reached=true&undone={}",
        unit.id, done.undone
    )))
}
