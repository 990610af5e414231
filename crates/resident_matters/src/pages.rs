//! Pages of residents' matters: a phone-first page to raise and follow
//! one's matters, work queues for each handling role, and a matter with its
//! full timeline and the steps the reader may take.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use jinlin_kernel::ApiError;
use jinlin_kernel::auth::{Principal, User};
use jinlin_kernel::i18n::Lang;
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::place::entity as place;
use jinlin_kernel::web::{AppState, Ctx, PageError};
use sea_orm::EntityTrait;
use serde::Deserialize;

use crate::api::{self, MatterView, QueueQuery, Summary};
use crate::matters::{self, Action, NewMatter};
use crate::photos::{self, FsStore, ObjectStore};
use crate::rules::{ActionKind, HandlerKind, Satisfaction, State as MatterState, Urgency};
use crate::store;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/resident-matters", get(mine))
        .route("/resident-matters/new", get(new_form).post(create))
        .route("/resident-matters/queue", get(queue))
        .route("/resident-matters/{id}", get(show))
        .route("/resident-matters/{id}/act", post(act))
}

fn when(_lang: Lang, t: Option<DateTime<Utc>>) -> String {
    // Shown in China Standard Time, where every district is.
    let tz = jinlin_kernel::time::china();
    match t {
        Some(t) => t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(),
        None => "—".into(),
    }
}

struct Row {
    id: i64,
    title: String,
    category: String,
    state: String,
    state_code: &'static str,
    compound: String,
    holder: String,
    due: String,
    overdue: bool,
    created: String,
}

async fn category_names(
    db: &impl sea_orm::ConnectionTrait,
    lang: Lang,
) -> Result<HashMap<String, String>, PageError> {
    Ok(store::categories(db, true)
        .await?
        .into_iter()
        .map(|c| {
            let name = match lang {
                Lang::En => c.name_en,
                _ => c.name_zh,
            };
            (c.code, name)
        })
        .collect())
}

fn rows(lang: Lang, found: Vec<Summary>, cats: &HashMap<String, String>) -> Vec<Row> {
    found
        .into_iter()
        .map(|s| Row {
            id: s.id,
            category: cats.get(&s.category).cloned().unwrap_or(s.category),
            state: lang
                .t(&format!("resident_matters.state.{}", s.state.as_str()))
                .into_owned(),
            state_code: s.state.as_str(),
            compound: s.compound_name,
            holder: s.holder_org.unwrap_or_else(|| {
                lang.t(&format!(
                    "resident_matters.handler.{}",
                    s.holder_kind.as_str()
                ))
                .into_owned()
            }),
            due: when(lang, s.due_at),
            overdue: s.overdue,
            created: when(lang, Some(s.created_at)),
            title: s.title,
        })
        .collect()
}

// ---------------------------------------------------------------- mine

#[derive(Template)]
#[template(path = "resident_matters_mine.html")]
struct MinePage {
    lang: Lang,
    rows: Vec<Row>,
    works: bool,
    /// The link to the next page, when this one is full.
    earlier: Option<i64>,
}

async fn mine(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let db = state.db.conn();
    // The link's value, or nothing: a malformed one shows the first page.
    let before_id = params
        .iter()
        .find(|(k, _)| k == "before_id")
        .and_then(|(_, v)| v.parse().ok());
    // One more than a page tells whether there are earlier ones.
    let page = api::MINE_PAGE as usize;
    let mut found = store::reported_by(db, user.account_id, before_id, api::MINE_PAGE + 1).await?;
    let earlier = (found.len() > page).then(|| found[page - 1].matter.id);
    found.truncate(page);
    let summaries = api::summaries(&found, Utc::now());
    let cats = category_names(db, lang).await?;
    let body = MinePage {
        lang,
        rows: rows(lang, summaries, &cats),
        works: matters::works_matters(&user),
        earlier,
    };
    Ok(ctx.page(&lang.t("resident_matters.mine"), body))
}

// ---------------------------------------------------------------- raise

#[derive(Template)]
#[template(path = "resident_matters_new.html")]
struct NewPage<'a> {
    lang: Lang,
    csrf: &'a str,
    error: Option<String>,
    categories: Vec<(String, String)>,
    places: Vec<(i64, String)>,
    urgencies: Vec<(&'static str, String)>,
    values: HashMap<String, String>,
}

impl NewPage<'_> {
    fn v(&self, name: &str) -> &str {
        self.values.get(name).map(String::as_str).unwrap_or("")
    }
}

/// Places the user may raise a matter at: their homes and compounds, and
/// the compounds or buildings they are granted.
async fn places_for(
    db: &impl sea_orm::ConnectionTrait,
    user: &Principal,
) -> Result<Vec<(i64, String)>, PageError> {
    let mut out: Vec<(i64, String)> = Vec::new();
    for g in &user.grants {
        let Some(kind) = g.place.kind else { continue };
        if kind < PlaceKind::Compound {
            continue;
        }
        if let Some(c) = g.place.compound_id
            && !out.iter().any(|(id, _)| *id == c)
            && let Some(p) = place::Entity::find_by_id(c).one(db).await?
        {
            out.push((p.id, p.name));
        }
        if !out.iter().any(|(id, _)| *id == g.place.id) {
            out.push((g.place.id, g.place_name.clone()));
        }
    }
    Ok(out)
}

async fn render_new(
    ctx: &Ctx,
    state: &AppState,
    user: &Principal,
    values: HashMap<String, String>,
    error: Option<(StatusCode, String)>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let db = state.db.conn();
    let categories = category_names(db, lang).await?;
    let mut categories: Vec<(String, String)> = store::categories(db, false)
        .await?
        .into_iter()
        .map(|c| {
            let name = categories.get(&c.code).cloned().unwrap_or_default();
            (c.code, name)
        })
        .collect();
    categories.dedup();
    let body = NewPage {
        lang,
        csrf: ctx.csrf(),
        error: error.as_ref().map(|e| e.1.clone()),
        categories,
        places: places_for(db, user).await?,
        urgencies: Urgency::ALL
            .into_iter()
            .map(|u| {
                (
                    u.as_str(),
                    lang.t(&format!("resident_matters.urgency.{}", u.as_str()))
                        .into_owned(),
                )
            })
            .collect(),
        values,
    };
    let status = error.map(|e| e.0).unwrap_or(StatusCode::OK);
    Ok(ctx.page_with_status(status, &lang.t("resident_matters.raise"), body))
}

async fn new_form(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    render_new(&ctx, &state, &user, HashMap::new(), None).await
}

/// Raises a matter with its photos in one transaction: the photos are
/// checked first, so a bad photo stores nothing.
async fn create(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    let (uploads, mut values) = api::read_photos(multipart).await?;
    user.check_csrf(values.get("csrf").map(String::as_str))?;
    values.remove("csrf");
    let v = |k: &str| values.get(k).cloned().unwrap_or_default();
    let new = NewMatter {
        category: v("category"),
        urgency: Urgency::parse(&v("urgency")).unwrap_or(Urgency::Normal),
        title: v("title"),
        description: v("description"),
        place_id: v("place_id").trim().parse().unwrap_or(0),
        address: Some(v("address")),
        latitude_e6: None,
        longitude_e6: None,
        public: values.contains_key("public"),
    };
    let refuse = |e: ApiError| (e.status, e.message);
    if !uploads.is_empty()
        && let Err(e) = photos::check_all(uploads.clone(), 0)
    {
        return render_new(&ctx, &state, &user, values, Some(refuse(e))).await;
    }
    let objects = FsStore::in_data_dir(&state.config.data_dir);
    let now = Utc::now();
    let tx = state.db.write().await?;
    let m = match matters::raise(&tx, &user, &new, now).await {
        Ok(m) => m,
        Err(e) if e.status.is_client_error() && e.status != StatusCode::NOT_FOUND => {
            drop(tx);
            return render_new(&ctx, &state, &user, values, Some(refuse(e))).await;
        }
        Err(e) => return Err(e.into()),
    };
    let mut written = Vec::new();
    if !uploads.is_empty() {
        let (_, w) = photos::attach(&tx, &objects, &user, m.id, uploads, None, now).await?;
        written = w;
    }
    if let Err(e) = tx.commit().await {
        for k in &written {
            let _ = objects.delete(k);
        }
        return Err(e.into());
    }
    Ok(Redirect::to(&format!("/resident-matters/{}", m.id)).into_response())
}

// ---------------------------------------------------------------- queue

#[derive(Debug, Deserialize)]
struct QueueParams {
    state: Option<String>,
    category: Option<String>,
    place_id: Option<String>,
    overdue: Option<String>,
    /// A matter the reader just handed on and no longer sees.
    handed: Option<String>,
}

#[derive(Template)]
#[template(path = "resident_matters_queue.html")]
struct QueuePage {
    lang: Lang,
    rows: Vec<Row>,
    states: Vec<(&'static str, String)>,
    categories: Vec<(String, String)>,
    places: Vec<(i64, String)>,
    state: String,
    category: String,
    place_id: String,
    overdue: bool,
    notice: Option<String>,
}

async fn queue(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Query(q): Query<QueueParams>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let db = state.db.conn();
    let query = QueueQuery {
        state: q.state.as_deref().and_then(MatterState::parse),
        category: q.category.clone().filter(|c| !c.is_empty()),
        place_id: q.place_id.as_deref().and_then(|p| p.parse().ok()),
        overdue: q.overdue.as_deref().is_some_and(|v| !v.is_empty()),
        before_id: None,
        limit: Some(200),
    };
    let found = api::queue_for(db, &user, &query, Utc::now()).await?;
    let cats = category_names(db, lang).await?;
    let mut categories: Vec<(String, String)> = cats.clone().into_iter().collect();
    categories.sort();
    let body = QueuePage {
        lang,
        rows: rows(lang, found, &cats),
        states: MatterState::ALL
            .into_iter()
            .map(|s| {
                (
                    s.as_str(),
                    lang.t(&format!("resident_matters.state.{}", s.as_str()))
                        .into_owned(),
                )
            })
            .collect(),
        categories,
        places: user
            .grants
            .iter()
            .filter(|g| {
                g.place
                    .kind
                    .is_some_and(|k| k >= PlaceKind::Street && k <= PlaceKind::Compound)
            })
            .map(|g| (g.place.id, g.place_name.clone()))
            .collect(),
        state: query
            .state
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        category: query.category.unwrap_or_default(),
        place_id: query.place_id.map(|p| p.to_string()).unwrap_or_default(),
        overdue: query.overdue,
        notice: q
            .handed
            .as_deref()
            .and_then(|h| h.parse::<i64>().ok())
            .map(|h| lang.tf("resident_matters.handed_on", &[("id", &h.to_string())])),
    };
    Ok(ctx.page(&lang.t("resident_matters.queue"), body))
}

// ---------------------------------------------------------------- matter

struct EventRow {
    at: String,
    action: String,
    actor: String,
    state: String,
    note: String,
    reason: String,
}

struct ActionForm {
    code: &'static str,
    label: String,
    needs_to: bool,
    needs_note: bool,
    needs_reason: bool,
    needs_rating: bool,
    needs_into: bool,
}

#[derive(Template)]
#[template(path = "resident_matters_show.html")]
struct ShowPage<'a> {
    lang: Lang,
    csrf: &'a str,
    error: Option<String>,
    m: MatterView,
    category: String,
    state: String,
    holder: String,
    urgency: String,
    escalation: String,
    satisfaction: String,
    due: String,
    created: String,
    events: Vec<EventRow>,
    forms: Vec<ActionForm>,
    handlers: Vec<(&'static str, String)>,
    verdicts: Vec<(&'static str, String)>,
}

async fn render_show(
    ctx: &Ctx,
    state: &AppState,
    user: &Principal,
    id: i64,
    error: Option<(StatusCode, String)>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let db = state.db.conn();
    let m = api::matter_view(db, user, id, Utc::now()).await?;
    let cats = category_names(db, lang).await?;
    let t = |k: String| lang.t(&k).into_owned();
    let events = m
        .timeline
        .iter()
        .map(|e| EventRow {
            at: when(lang, Some(e.at)),
            action: t(format!("resident_matters.action.{}", e.action)),
            // A step names the part played; raising a matter names the
            // reporter's role (resident, party member, community worker …).
            actor: match e.actor_role.as_deref() {
                Some(r @ ("reporter" | "holder" | "supervisor")) => {
                    t(format!("resident_matters.actor.{r}"))
                }
                Some(r) => jinlin_kernel::auth::Role::parse(r)
                    .map(|role| t(role.label_key()))
                    .unwrap_or_default(),
                None => String::new(),
            },
            state: e
                .to_state
                .as_ref()
                .map(|s| t(format!("resident_matters.state.{s}")))
                .unwrap_or_default(),
            note: e.note.clone().unwrap_or_default(),
            reason: e.reason.clone().unwrap_or_default(),
        })
        .collect();
    let forms = m
        .actions
        .iter()
        .map(|a| ActionForm {
            code: a.as_str(),
            label: t(format!("resident_matters.action.{}", a.as_str())),
            needs_to: matches!(a, ActionKind::Dispatch | ActionKind::Transfer),
            needs_note: !matches!(a, ActionKind::Merge | ActionKind::Withdraw),
            needs_reason: matches!(
                a,
                ActionKind::Transfer | ActionKind::Reopen | ActionKind::Withdraw
            ),
            needs_rating: *a == ActionKind::Rate,
            needs_into: *a == ActionKind::Merge,
        })
        .collect();
    let body = ShowPage {
        lang,
        csrf: ctx.csrf(),
        error: error.as_ref().map(|e| e.1.clone()),
        category: cats
            .get(&m.summary.category)
            .cloned()
            .unwrap_or_else(|| m.summary.category.clone()),
        state: t(format!(
            "resident_matters.state.{}",
            m.summary.state.as_str()
        )),
        holder: m.summary.holder_org.clone().unwrap_or_else(|| {
            t(format!(
                "resident_matters.handler.{}",
                m.summary.holder_kind.as_str()
            ))
        }),
        urgency: t(format!(
            "resident_matters.urgency.{}",
            m.summary.urgency.as_str()
        )),
        escalation: t(format!(
            "resident_matters.escalation.{}",
            m.summary.escalation.as_str()
        )),
        satisfaction: m
            .satisfaction
            .map(|s| t(format!("resident_matters.satisfaction.{}", s.as_str())))
            .unwrap_or_default(),
        due: when(lang, m.summary.due_at),
        created: when(lang, Some(m.summary.created_at)),
        events,
        forms,
        handlers: HandlerKind::ALL
            .into_iter()
            .map(|h| {
                (
                    h.as_str(),
                    t(format!("resident_matters.handler.{}", h.as_str())),
                )
            })
            .collect(),
        verdicts: Satisfaction::ALL
            .into_iter()
            .map(|s| {
                (
                    s.as_str(),
                    t(format!("resident_matters.satisfaction.{}", s.as_str())),
                )
            })
            .collect(),
        m,
    };
    let status = error.map(|e| e.0).unwrap_or(StatusCode::OK);
    let title = body.m.summary.title.clone();
    Ok(ctx.page_with_status(status, &title, body))
}

async fn show(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    render_show(&ctx, &state, &user, id, None).await
}

#[derive(Debug, Deserialize)]
struct ActForm {
    #[serde(default)]
    csrf: String,
    action: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    agency_account_id: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    satisfaction: String,
    #[serde(default)]
    into: String,
}

async fn act(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<ActForm>,
) -> Result<Response, PageError> {
    user.check_csrf(Some(&f.csrf))?;
    let Some(kind) = ActionKind::parse(&f.action) else {
        return render_show(
            &ctx,
            &state,
            &user,
            id,
            Some((
                StatusCode::UNPROCESSABLE_ENTITY,
                ctx.lang.t("resident_matters.error.transition").into_owned(),
            )),
        )
        .await;
    };
    let opt = |s: &str| Some(s.to_string()).filter(|s| !s.trim().is_empty());
    let a = Action {
        action: kind,
        to: HandlerKind::parse(&f.to),
        agency_account_id: f.agency_account_id.trim().parse().ok(),
        note: opt(&f.note),
        reason: opt(&f.reason),
        satisfaction: Satisfaction::parse(&f.satisfaction),
        into: f.into.trim().parse().ok(),
    };
    let tx = state.db.write().await?;
    match matters::act(&tx, &user, id, &a, Utc::now()).await {
        Ok(_) => {
            tx.commit().await?;
            // A transfer can take the matter out of the actor's sight.
            match matters::visible(state.db.conn(), &user, id).await {
                Ok(_) => Ok(Redirect::to(&format!("/resident-matters/{id}")).into_response()),
                Err(e) if e.status == StatusCode::NOT_FOUND => Ok(Redirect::to(&format!(
                    "/resident-matters/queue?handed={id}"
                ))
                .into_response()),
                Err(e) => Err(e.into()),
            }
        }
        Err(e) if e.status != StatusCode::NOT_FOUND && e.status.is_client_error() => {
            drop(tx);
            render_show(&ctx, &state, &user, id, Some((e.status, e.message))).await
        }
        Err(e) => Err(e.into()),
    }
}
