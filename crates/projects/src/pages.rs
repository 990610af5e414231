//! Pages of party-building projects: the list with figures and, for an
//! agency's admins, the form that sets a project; one project with its
//! history, updates, evaluations and the forms of whoever may act; a
//! compound's needs and projects. Every write goes through the same
//! functions as the API.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path, Query, State as AxState};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, Utc};
use jinlin_agencies::entity::agency;
use jinlin_agencies::rules::Category;
use jinlin_kernel::ApiError;
use jinlin_kernel::auth::{Principal, Role, User};
use jinlin_kernel::i18n::{self, Lang};
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::web::{AppState, Ctx, PageError};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;

use crate::api::{
    self, FigureLine, ListQuery, NeedView, NewEvaluation, NewNeed, NewProject, ProjectActionInput,
    ProjectRevision, ProjectSummary, ProjectView,
};
use crate::rules::{Action, Evaluator, State};
use crate::store;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/projects", get(index).post(create))
        .route("/projects/{id}", get(show))
        .route("/projects/{id}/act", post(act))
        .route("/projects/{id}/revise", post(revise))
        .route("/projects/{id}/updates", post(update))
        .route("/projects/{id}/evaluate", post(evaluate))
        .route("/places/{id}/projects", get(compound))
        .route("/places/{id}/needs", post(add_need))
        .route("/needs/{id}/withdraw", post(withdraw_need))
}

type Fields = HashMap<String, String>;

fn field<'a>(f: &'a Fields, name: &str) -> &'a str {
    f.get(name).map(|s| s.trim()).unwrap_or("")
}

fn check_csrf(user: &Principal, f: &Fields) -> Result<(), PageError> {
    user.check_csrf(Some(field(f, "csrf")))?;
    Ok(())
}

fn date(f: &Fields, name: &str) -> Result<NaiveDate, PageError> {
    NaiveDate::parse_from_str(field(f, name), "%Y-%m-%d")
        .map_err(|_| api::invalid_key("projects.error.date_format").into())
}

fn optional(f: &Fields, name: &str) -> Option<String> {
    Some(field(f, name).to_string()).filter(|s| !s.is_empty())
}

fn state_label(lang: Lang, s: State) -> String {
    lang.t(&format!("projects.state.{}", s.as_str()))
        .into_owned()
}

fn category_label(lang: Lang, c: Category) -> String {
    lang.t(&format!("agencies.category.{}", c.as_str()))
        .into_owned()
}

fn day(t: DateTime<Utc>) -> String {
    api::china_today(t).format("%Y-%m-%d").to_string()
}

fn minute(t: DateTime<Utc>) -> String {
    t.with_timezone(&jinlin_kernel::time::china())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// A project as a card in a list.
struct Card {
    id: i64,
    title: String,
    agency: String,
    compound_id: i64,
    compound: String,
    state: &'static str,
    state_label: String,
    dates: String,
    evaluations: u64,
}

fn cards(lang: Lang, rows: Vec<ProjectSummary>) -> Vec<Card> {
    rows.into_iter()
        .map(
            |ProjectSummary {
                 head: p,
                 evaluations,
             }| Card {
                id: p.id,
                title: p.title,
                agency: p.agency_name,
                compound_id: p.compound_id,
                compound: p.compound_name,
                state: p.state.as_str(),
                state_label: state_label(lang, p.state),
                dates: format!("{} — {}", p.planned_start, p.planned_end),
                evaluations,
            },
        )
        .collect()
}

/// A table of figures: a heading and its lines.
struct FigureTable {
    title: String,
    /// Whether the first line is the total of the others.
    total_first: bool,
    lines: Vec<FigureRow>,
}

/// One line of figures, as shown.
struct FigureRow {
    name: String,
    total: u64,
    /// Planned or returned: waiting for the street or the agency.
    waiting: u64,
    approved: u64,
    in_progress: u64,
    done: u64,
    /// Rejected or cancelled.
    ended: u64,
    evaluated: String,
    party_org_mean: String,
    resident_mean: String,
}

fn dash(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "—".into())
}

fn row(l: &FigureLine) -> FigureRow {
    FigureRow {
        name: l.name.clone(),
        total: l.total,
        waiting: l.planned + l.returned,
        approved: l.approved,
        in_progress: l.in_progress,
        done: l.done,
        ended: l.rejected + l.cancelled,
        evaluated: dash(&l.evaluated_percent),
        party_org_mean: dash(&l.party_org_mean),
        resident_mean: dash(&l.resident_mean),
    }
}

// ---------------------------------------------------------------- index

#[derive(Debug, Deserialize)]
struct IndexParams {
    state: Option<String>,
}

/// One choice of the new-project form: an agency, a compound it is paired
/// with and one of the compound's open needs.
struct Choice {
    value: String,
    label: String,
}

#[derive(Template)]
#[template(path = "projects_index.html")]
struct IndexPage<'a> {
    lang: Lang,
    csrf: &'a str,
    projects: Vec<Card>,
    states: Vec<(&'static str, String)>,
    state: String,
    figures: Vec<FigureTable>,
    is_agency_admin: bool,
    choices: Vec<Choice>,
    /// Paired compounds (id, name), linked to their needs.
    paired: Vec<(i64, String)>,
    today: String,
}

/// Figures the reader oversees: the districts and streets of their admin
/// grants, and the agencies they administer.
async fn figure_tables(
    db: &impl sea_orm::ConnectionTrait,
    lang: Lang,
    user: &Principal,
) -> Result<Vec<FigureTable>, ApiError> {
    let mut out = Vec::new();
    for g in &user.grants {
        let admin = matches!(g.role, Role::DistrictAdmin | Role::StreetAdmin);
        if !admin || !matches!(g.place.kind, Some(PlaceKind::District | PlaceKind::Street)) {
            continue;
        }
        let Some(p) = jinlin_places::store::find(db, g.place.id).await? else {
            continue;
        };
        let f = api::figures_for(db, &p).await?;
        let mut lines = vec![row(&f.place)];
        lines.extend(f.children.iter().filter(|l| l.total > 0).map(row));
        out.push(FigureTable {
            title: lang.tf("projects.figures_of", &[("name", &p.name)]),
            total_first: true,
            lines,
        });
        if !f.agencies.is_empty() {
            out.push(FigureTable {
                title: lang.tf("projects.figures_agencies", &[("name", &p.name)]),
                total_first: false,
                lines: f.agencies.iter().map(row).collect(),
            });
        }
    }
    if user.has_role(Role::AgencyAdmin) {
        let ids = store::agencies_of_account(db, user.account_id).await?;
        let mut lines = Vec::new();
        for a in agency::Entity::find()
            .filter(agency::Column::Id.is_in(ids))
            .all(db)
            .await?
        {
            lines.push(row(&api::agency_figures_for(db, &a).await?));
        }
        if !lines.is_empty() {
            out.push(FigureTable {
                title: lang.t("projects.figures_mine").into_owned(),
                total_first: false,
                lines,
            });
        }
    }
    Ok(out)
}

/// The new-project choices of an agency admin: every open need of every
/// compound currently paired with one of their agencies.
async fn choices(
    db: &impl sea_orm::ConnectionTrait,
    lang: Lang,
    user: &Principal,
) -> Result<(Vec<Choice>, Vec<(i64, String)>), ApiError> {
    let ids = store::agencies_of_account(db, user.account_id).await?;
    let agencies = agency::Entity::find()
        .filter(agency::Column::Id.is_in(ids))
        .all(db)
        .await?;
    let mut out = Vec::new();
    let mut paired = Vec::new();
    for a in &agencies {
        let pairings = jinlin_agencies::store::pairings(db, Some(a.id), None).await?;
        let compound_ids: Vec<i64> = pairings
            .iter()
            .filter(|p| p.ended_at.is_none())
            .map(|p| p.compound_id)
            .collect();
        let places = jinlin_agencies::store::places(db, &compound_ids).await?;
        let needs = store::needs_of(db, &compound_ids).await?;
        for cid in &compound_ids {
            let name = places.get(cid).map(|c| c.name.clone()).unwrap_or_default();
            if !paired.iter().any(|(id, _)| id == cid) {
                paired.push((*cid, name.clone()));
            }
            for n in needs
                .iter()
                .filter(|n| n.compound_id == *cid && n.withdrawn_at.is_none())
            {
                let short: String = n.description.chars().take(40).collect();
                let category = Category::parse(&n.category).unwrap_or(Category::Other);
                out.push(Choice {
                    value: format!("{}-{}-{}", a.id, cid, n.id),
                    label: format!(
                        "{} · {} · {}：{}",
                        a.name,
                        name,
                        category_label(lang, category),
                        short
                    ),
                });
            }
        }
    }
    Ok((out, paired))
}

async fn index(
    ctx: Ctx,
    user: User,
    AxState(state): AxState<AppState>,
    Query(params): Query<IndexParams>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let db = state.db.conn();
    let wanted = params.state.as_deref().and_then(State::parse);
    let rows = api::list(
        db,
        &user,
        &ListQuery {
            state: wanted,
            ..Default::default()
        },
    )
    .await?;
    let is_agency_admin = user.has_role(Role::AgencyAdmin);
    let (choices, paired) = if is_agency_admin {
        choices(db, lang, &user).await?
    } else {
        (Vec::new(), Vec::new())
    };
    let body = IndexPage {
        lang,
        csrf: ctx.csrf(),
        projects: cards(lang, rows),
        states: State::ALL
            .into_iter()
            .map(|s| (s.as_str(), state_label(lang, s)))
            .collect(),
        state: wanted.map(|s| s.as_str().to_string()).unwrap_or_default(),
        figures: figure_tables(db, lang, &user).await?,
        is_agency_admin,
        choices,
        paired,
        today: api::china_today(Utc::now()).to_string(),
    };
    Ok(ctx.page(&lang.t("projects.title"), body))
}

async fn create(
    user: User,
    AxState(state): AxState<AppState>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    // "agency-compound-need", as the form's choices are built.
    let parts: Vec<i64> = field(&f, "choice")
        .split('-')
        .filter_map(|s| s.parse().ok())
        .collect();
    let [agency_id, compound_id, need_id] = parts[..] else {
        return Err(api::invalid_key("projects.error.need").into());
    };
    let input = NewProject {
        compound_id,
        need_id,
        agency_id: Some(agency_id),
        title: field(&f, "title").into(),
        plan: field(&f, "plan").into(),
        planned_start: date(&f, "planned_start")?,
        planned_end: date(&f, "planned_end")?,
    };
    let tx = state.db.write().await?;
    let id = api::create(&tx, &user, &input).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/projects/{id}")).into_response())
}

// ---------------------------------------------------------------- project

struct StepLine {
    at: String,
    action: String,
    actor: String,
    name: String,
    state: String,
    reason: String,
}

struct UpdateLine {
    day: String,
    body: String,
    author: String,
    photos: Vec<String>,
}

struct EvaluationLine {
    who: String,
    score: i16,
    comment: String,
    day: String,
}

/// The form of one step the reader may take.
struct StepForm {
    action: &'static str,
    label: String,
    needs_reason: bool,
    needs_summary: bool,
}

#[derive(Template)]
#[template(path = "projects_show.html")]
struct ProjectPage<'a> {
    lang: Lang,
    csrf: &'a str,
    v: &'a ProjectView,
    state: &'static str,
    state_label: String,
    function: String,
    need_category: String,
    need_withdrawn: bool,
    created: String,
    started: String,
    completed: String,
    steps: Vec<StepLine>,
    updates: Vec<UpdateLine>,
    evaluations: Vec<EvaluationLine>,
    forms: Vec<StepForm>,
    can_revise: bool,
    can_update: bool,
    evaluate_as: Vec<(&'static str, String)>,
    today: String,
}

async fn show(
    ctx: Ctx,
    user: User,
    AxState(state): AxState<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let db = state.db.conn();
    let seen = api::visible_project(db, &user, id).await?;
    let v = api::view(db, &user, &seen).await?;
    let steps = v
        .steps
        .iter()
        .rev()
        .map(|s| StepLine {
            at: minute(s.at),
            action: lang
                .t(&format!("projects.action.{}", s.action.as_str()))
                .into_owned(),
            actor: lang
                .t(&format!("projects.actor.{}", s.actor.as_str()))
                .into_owned(),
            name: s.actor_name.clone().unwrap_or_default(),
            state: state_label(lang, s.to_state),
            reason: s.reason.clone().unwrap_or_default(),
        })
        .collect();
    let updates = v
        .updates
        .iter()
        .rev()
        .map(|u| UpdateLine {
            day: u.happened_on.to_string(),
            body: u.body.clone(),
            author: u.author_name.clone().unwrap_or_default(),
            photos: u.photos.iter().map(|p| p.url.clone()).collect(),
        })
        .collect();
    let evaluations = v
        .evaluations
        .iter()
        .map(|e| EvaluationLine {
            who: lang
                .t(&format!("projects.evaluator.{}", e.evaluator.as_str()))
                .into_owned(),
            score: e.score,
            comment: e.comment.clone(),
            day: day(e.created_at),
        })
        .collect();
    let forms = v
        .my_actions
        .iter()
        .filter(|a| Action::STEPS.contains(a))
        .map(|a| StepForm {
            action: a.as_str(),
            label: lang
                .t(&format!("projects.action.{}", a.as_str()))
                .into_owned(),
            needs_reason: a.needs_reason(),
            needs_summary: a.needs_summary(),
        })
        .collect();
    let body = ProjectPage {
        lang,
        csrf: ctx.csrf(),
        state: v.head.state.as_str(),
        state_label: state_label(lang, v.head.state),
        function: category_label(lang, v.head.function),
        need_category: category_label(lang, v.need.category),
        need_withdrawn: v.need.withdrawn_at.is_some(),
        created: day(v.head.created_at),
        started: v.started_at.map(day).unwrap_or_default(),
        completed: v.completed_at.map(day).unwrap_or_default(),
        steps,
        updates,
        evaluations,
        forms,
        can_revise: v.my_actions.contains(&Action::Revise),
        can_update: v.my_actions.contains(&Action::Update),
        evaluate_as: v
            .may_evaluate_as
            .iter()
            .map(|e| {
                (
                    e.as_str(),
                    lang.t(&format!("projects.evaluator.{}", e.as_str()))
                        .into_owned(),
                )
            })
            .collect(),
        today: api::china_today(Utc::now()).to_string(),
        v: &v,
    };
    Ok(ctx.page(&v.head.title, body))
}

async fn act(
    user: User,
    AxState(state): AxState<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let Some(action) = Action::parse(field(&f, "action")) else {
        return Err(api::invalid_key("projects.error.action").into());
    };
    let input = ProjectActionInput {
        action,
        reason: optional(&f, "reason"),
        summary: optional(&f, "summary"),
    };
    let tx = state.db.write().await?;
    api::step(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/projects/{id}")).into_response())
}

async fn revise(
    user: User,
    AxState(state): AxState<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let input = ProjectRevision {
        title: field(&f, "title").into(),
        plan: field(&f, "plan").into(),
        planned_start: date(&f, "planned_start")?,
        planned_end: date(&f, "planned_end")?,
    };
    let tx = state.db.write().await?;
    api::revise(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/projects/{id}")).into_response())
}

/// Posts an update with its photos; the photos are checked first, so a bad
/// photo stores nothing.
async fn update(
    user: User,
    AxState(state): AxState<AppState>,
    Path(id): Path<i64>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    let (uploads, fields) = api::read_update(multipart).await?;
    user.check_csrf(fields.get("csrf").map(String::as_str))?;
    api::store_update(&state, &user, id, &fields, uploads).await?;
    Ok(Redirect::to(&format!("/projects/{id}")).into_response())
}

async fn evaluate(
    user: User,
    AxState(state): AxState<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let score = field(&f, "score")
        .parse()
        .map_err(|_| PageError::from(api::invalid_key("projects.error.score")))?;
    let input = NewEvaluation {
        score,
        comment: optional(&f, "comment"),
        evaluator: Evaluator::parse(field(&f, "evaluator")),
        dwelling_id: None,
    };
    let tx = state.db.write().await?;
    api::add_evaluation(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/projects/{id}")).into_response())
}

// ---------------------------------------------------------------- compound

struct NeedLine {
    id: i64,
    category: String,
    description: String,
    day: String,
    withdrawn: String,
    projects: u64,
}

fn need_lines(lang: Lang, needs: Vec<NeedView>) -> Vec<NeedLine> {
    needs
        .into_iter()
        .map(|n| NeedLine {
            id: n.id,
            category: category_label(lang, n.category),
            description: n.description,
            day: day(n.created_at),
            withdrawn: n.withdrawn_at.map(day).unwrap_or_default(),
            projects: n.projects,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "projects_compound.html")]
struct CompoundPage<'a> {
    lang: Lang,
    csrf: &'a str,
    compound_id: i64,
    name: String,
    needs: Vec<NeedLine>,
    can_keep: bool,
    categories: Vec<(&'static str, String)>,
    projects: Vec<Card>,
}

async fn compound(
    ctx: Ctx,
    user: User,
    AxState(state): AxState<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let db = state.db.conn();
    let c = api::visible_compound(db, &user, id).await?;
    let needs = api::needs(db, c.id).await?;
    let rows = api::list(
        db,
        &user,
        &ListQuery {
            place_id: Some(c.id),
            ..Default::default()
        },
    )
    .await?;
    let title = i18n::current().tf("projects.compound_title", &[("name", &c.name)]);
    let body = CompoundPage {
        lang,
        csrf: ctx.csrf(),
        compound_id: c.id,
        can_keep: api::keeps_needs(&user, &c),
        name: c.name,
        needs: need_lines(lang, needs),
        categories: Category::ALL
            .into_iter()
            .map(|x| (x.as_str(), category_label(lang, x)))
            .collect(),
        projects: cards(lang, rows),
    };
    Ok(ctx.page(&title, body))
}

async fn add_need(
    user: User,
    AxState(state): AxState<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let tx = state.db.write().await?;
    let Some(category) = Category::parse(field(&f, "category")) else {
        // Scope and power first, then the refusal of the category.
        let c = api::visible_compound(&tx, &user, id).await?;
        if !api::keeps_needs(&user, &c) {
            return Err(ApiError::forbidden().into());
        }
        return Err(api::invalid_key("projects.error.category").into());
    };
    let input = NewNeed {
        category,
        description: field(&f, "description").into(),
    };
    api::add(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/places/{id}/projects")).into_response())
}

async fn withdraw_need(
    user: User,
    AxState(state): AxState<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let tx = state.db.write().await?;
    let compound = api::withdraw(&tx, &user, id).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/places/{compound}/projects")).into_response())
}
