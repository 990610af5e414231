//! Pages of social organisations and their services, phone first: the
//! index (sessions near me, my registrations, my organisations, waiting
//! admissions and figures), one organisation with its management forms,
//! and one session (register, cancel, roll call, feedback). Every write
//! goes through the same functions as the API.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use jinlin_kernel::ApiError;
use jinlin_kernel::auth::{Access, Principal, Role, User};
use jinlin_kernel::i18n::{self, Lang};
use jinlin_kernel::web::{AppState, Ctx, PageError};
use jinlin_venues::api::span_text;
use jinlin_venues::rules::china;

use crate::api::{
    self, AdmissionInput, AdmissionView, DecisionInput, FeedbackInput, FigureLine, RegisterInput,
    ServiceInput, SessionInput, SessionSummary, SocialOrgInput,
};
use crate::rules::{AdmissionAction, OrgType};
use crate::store;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/social-services", get(index))
        .route("/social-orgs", post(create_org))
        .route("/social-orgs/{id}", get(org))
        .route("/social-orgs/{id}/accounts", post(link))
        .route("/social-orgs/{id}/admissions", post(apply))
        .route("/social-orgs/{id}/services", post(new_service))
        .route("/social-admissions/{id}/decision", post(decide))
        .route("/services/{id}/sessions", post(new_session))
        .route("/service-sessions/{id}", get(session))
        .route("/service-sessions/{id}/register", post(register))
        .route("/service-sessions/{id}/cancel", post(cancel))
        .route(
            "/service-sessions/{id}/registrations/{rid}/check-in",
            post(check_in),
        )
        .route("/service-sessions/{id}/feedback", post(feedback))
        .route("/service-sessions/{id}/cancellation", post(cancel_session))
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
    field(f, name)
        .parse()
        .map_err(|_| ApiError::invalid(i18n::current().t("social_services.error.number")).into())
}

/// A `datetime-local` value read as China time.
fn local_time(f: &Fields, name: &str) -> Result<DateTime<Utc>, PageError> {
    NaiveDateTime::parse_from_str(field(f, name), "%Y-%m-%dT%H:%M")
        .ok()
        .and_then(|t| china().from_local_datetime(&t).single())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| ApiError::invalid(i18n::current().t("social_services.error.time")).into())
}

fn back(f: &Fields, default: String) -> String {
    match field(f, "back") {
        b if b.starts_with('/') && !b.starts_with("//") => b.to_string(),
        _ => default,
    }
}

struct SessionRow {
    id: i64,
    title: String,
    kind: String,
    org: String,
    compound: String,
    time: String,
    location: String,
    seats: String,
    cancelled: bool,
}

fn session_row(s: &SessionSummary) -> SessionRow {
    SessionRow {
        id: s.id,
        title: s.title.clone(),
        kind: s.kind_name.clone(),
        org: s.org_name.clone(),
        compound: s.compound_name.clone(),
        time: span_text(s.starts_at, s.ends_at),
        location: s.location.clone(),
        seats: format!("{}/{}", s.registered, s.capacity),
        cancelled: s.cancelled,
    }
}

struct AdmissionRow {
    id: i64,
    org_id: i64,
    org: String,
    compound: String,
    state: String,
    open: bool,
    approved: bool,
    note: String,
    reason: String,
    can_decide: bool,
}

fn admission_rows(lang: Lang, rows: Vec<AdmissionView>) -> Vec<AdmissionRow> {
    rows.into_iter()
        .map(|a| AdmissionRow {
            id: a.id,
            org_id: a.org_id,
            org: a.org_name,
            compound: a.compound_name,
            state: lang
                .t(&format!("social_services.state.{}", a.state.as_str()))
                .into_owned(),
            open: a.state == crate::rules::AdmissionState::Applied,
            approved: a.state == crate::rules::AdmissionState::Approved,
            note: a.note.unwrap_or_default(),
            reason: a.reason.unwrap_or_default(),
            can_decide: a.can_decide,
        })
        .collect()
}

/// What became of a registration, in the reader's words.
fn registration_state(lang: Lang, active: bool, attended: bool) -> String {
    if attended {
        lang.t("social_services.attended")
    } else if active {
        lang.t("social_services.registered")
    } else {
        lang.t("social_services.cancelled")
    }
    .into_owned()
}

/// One of the reader's registrations.
struct MineRow {
    s: SessionRow,
    state: String,
    /// The score the reader gave, if any.
    score: String,
    /// Attended, ended and not yet judged.
    to_judge: bool,
}

// ---------------------------------------------------------------- index

#[derive(Template)]
#[template(path = "social_index.html")]
struct IndexPage<'a> {
    lang: Lang,
    csrf: &'a str,
    near: Vec<SessionRow>,
    mine: Vec<MineRow>,
    my_orgs: Vec<(i64, String)>,
    orgs: Vec<(i64, String, String)>,
    waiting: Vec<AdmissionRow>,
    figures: Vec<(FigureLine, Vec<FigureLine>)>,
    districts: Vec<(i64, String)>,
    types: Vec<(&'static str, String)>,
}

async fn index(ctx: Ctx, user: User, State(state): State<AppState>) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let db = state.db.conn();
    let now = Utc::now();
    let near = api::sessions_near(db, &user, now)
        .await?
        .iter()
        .map(session_row)
        .collect();
    let mine = api::mine(db, &user)
        .await?
        .into_iter()
        .map(|m| {
            let r = &m.registration;
            MineRow {
                s: session_row(&m.session),
                state: registration_state(lang, r.active, r.attended_at.is_some()),
                score: r.feedback_score.map(|s| s.to_string()).unwrap_or_default(),
                to_judge: r.active
                    && r.attended_at.is_some()
                    && r.feedback_score.is_none()
                    && now >= m.session.ends_at,
            }
        })
        .collect();
    let my_ids = store::orgs_of_account(db, user.account_id).await?;
    let all = api::org_summaries(db, &user).await?;
    let my_orgs = all
        .iter()
        .filter(|o| my_ids.contains(&o.id))
        .map(|o| (o.id, o.name.clone()))
        .collect();
    let orgs = all
        .iter()
        .map(|o| {
            (
                o.id,
                o.name.clone(),
                lang.t(&format!("social_services.type.{}", o.org_type.as_str()))
                    .into_owned(),
            )
        })
        .collect();
    let waiting = admission_rows(
        lang,
        api::admissions_for(db, &user, Some(crate::rules::AdmissionState::Applied))
            .await?
            .into_iter()
            .filter(|a| a.can_decide)
            .collect(),
    );
    // Figures of the places where the reader holds an official role.
    let mut figures = Vec::new();
    for g in &user.grants {
        if matches!(
            g.role,
            Role::DistrictAdmin
                | Role::StreetAdmin
                | Role::CommunityWorker
                | Role::CompoundSecretary
        ) && user.can(Access::Registry, &g.place)
            && let Ok(f) = api::figures_of(db, &user, g.place.id, now).await
        {
            figures.push((f.place, f.children));
        }
    }
    let districts = user
        .grants
        .iter()
        .filter(|g| matches!(g.role, Role::DistrictAdmin | Role::StreetAdmin))
        .filter_map(|g| {
            let code = g.place.district_code.clone()?;
            Some(code)
        })
        .collect::<Vec<_>>();
    let mut district_places = Vec::new();
    for code in districts {
        if let Some(d) = store::district(db, &code).await?
            && !district_places.iter().any(|(id, _)| *id == d.id)
        {
            district_places.push((d.id, d.name));
        }
    }
    let body = IndexPage {
        lang,
        csrf: ctx.csrf(),
        near,
        mine,
        my_orgs,
        orgs,
        waiting,
        figures,
        districts: district_places,
        types: OrgType::ALL
            .into_iter()
            .map(|t| {
                (
                    t.as_str(),
                    lang.t(&format!("social_services.type.{}", t.as_str()))
                        .into_owned(),
                )
            })
            .collect(),
    };
    Ok(ctx.page(&lang.t("social_services.title"), body))
}

async fn create_org(
    user: User,
    State(state): State<AppState>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let input = SocialOrgInput {
        district_id: number(&f, "district_id")?,
        name: field(&f, "name").into(),
        registration_no: field(&f, "registration_no").into(),
        org_type: OrgType::parse(field(&f, "org_type")).unwrap_or(OrgType::SocialGroup),
        contact_name: field(&f, "contact_name").into(),
        contact_phone: Some(field(&f, "contact_phone").into()),
        has_party_org: field(&f, "has_party_org") == "on",
    };
    let tx = state.db.write().await?;
    let id = api::create(&tx, &user, &input).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/social-orgs/{id}")).into_response())
}

// ---------------------------------------------------------------- org

struct ServiceRow {
    id: i64,
    title: String,
    kind: String,
    description: String,
    compounds: Vec<(i64, String)>,
    sessions: Vec<SessionRow>,
}

#[derive(Template)]
#[template(path = "social_org.html")]
struct OrgPage<'a> {
    lang: Lang,
    csrf: &'a str,
    o: &'a api::SocialOrgView,
    org_type: String,
    admissions: Vec<AdmissionRow>,
    services: Vec<ServiceRow>,
    accounts: Vec<String>,
    /// Whether the reader may apply for the organisation (staff, registrars).
    can_apply: bool,
    pick: Pick,
    /// Compounds where the organisation is admitted.
    admitted: Vec<(i64, String)>,
    kinds: Vec<(String, String)>,
    back: String,
}

/// How the compound of an application is found among a district's
/// thousand: by name (or pinyin initials), or street → community.
#[derive(Debug, Default)]
struct PickQuery {
    q: Option<String>,
    street: Option<i64>,
    community: Option<i64>,
}

impl PickQuery {
    /// Lenient: an empty or garbled choice is no choice.
    fn from(f: &Fields) -> PickQuery {
        PickQuery {
            q: f.get("q").cloned(),
            street: field(f, "street").parse().ok(),
            community: field(f, "community").parse().ok(),
        }
    }
}

/// A compound offered for an application.
struct PickChoice {
    id: i64,
    name: String,
    /// Its community (and street), to tell same-named compounds apart.
    within: String,
    /// The organisation already applied for it or serves it.
    taken: bool,
}

#[derive(Default)]
struct Pick {
    /// Whether the reader asked for anything (the section opens).
    open: bool,
    q: String,
    streets: Vec<(i64, String)>,
    street: Option<i64>,
    communities: Vec<(i64, String)>,
    community: Option<i64>,
    choices: Vec<PickChoice>,
    /// A search or a community chosen that offered nothing.
    nothing: bool,
    /// The search found more than it lists.
    more: bool,
}

const PICK_LIMIT: u64 = 50;

async fn pick(
    db: &impl sea_orm::ConnectionTrait,
    district: &jinlin_kernel::place::entity::Model,
    taken: &[i64],
    query: &PickQuery,
) -> Result<Pick, ApiError> {
    use jinlin_kernel::place::PlaceKind;
    let code = district.district_code.clone().unwrap_or_default();
    let q = query
        .q
        .as_deref()
        .unwrap_or("")
        .trim()
        .chars()
        .take(32)
        .collect::<String>();
    let streets = store::children_of_kind(db, district.id, PlaceKind::Street, 500).await?;
    // Only this district's street, and a community of that street.
    let street = query.street.filter(|s| streets.iter().any(|x| x.id == *s));
    let communities = match street {
        Some(s) => store::children_of_kind(db, s, PlaceKind::Community, 500).await?,
        None => Vec::new(),
    };
    let community = query
        .community
        .filter(|c| communities.iter().any(|x| x.id == *c));
    let found = if !q.is_empty() {
        store::search_compounds(db, &code, &q, PICK_LIMIT).await?
    } else if let Some(c) = community {
        store::children_of_kind(db, c, PlaceKind::Compound, 1000).await?
    } else {
        Vec::new()
    };
    let above: Vec<i64> = found
        .iter()
        .flat_map(|c| [c.community_id, c.street_id])
        .flatten()
        .collect();
    let names = store::places(db, &above).await?;
    let name_of = |id: Option<i64>| {
        id.and_then(|i| names.get(&i))
            .map(|p| p.name.clone())
            .unwrap_or_default()
    };
    let choices = found
        .into_iter()
        .map(|c| PickChoice {
            within: [name_of(c.street_id), name_of(c.community_id)]
                .into_iter()
                .filter(|n| !n.is_empty())
                .collect::<Vec<_>>()
                .join(" · "),
            taken: taken.contains(&c.id),
            id: c.id,
            name: c.name,
        })
        .collect::<Vec<_>>();
    Ok(Pick {
        more: !q.is_empty() && choices.len() as u64 >= PICK_LIMIT,
        open: !q.is_empty() || street.is_some(),
        nothing: choices.is_empty() && (!q.is_empty() || community.is_some()),
        q,
        streets: streets.into_iter().map(|p| (p.id, p.name)).collect(),
        street,
        communities: communities.into_iter().map(|p| (p.id, p.name)).collect(),
        community,
        choices,
    })
}

async fn org(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(query): Query<Fields>,
) -> Result<Response, PageError> {
    let query = PickQuery::from(&query);
    let lang = ctx.lang;
    let db = state.db.conn();
    let (o, d, staff) = api::visible_org(db, &user, id).await?;
    let view = api::org_view(db, &user, o, &d, staff).await?;
    let mut services = Vec::new();
    for s in &view.services {
        let sessions = store::sessions_of_service(db, s.id).await?;
        let sessions = api::session_summaries(db, sessions.into_iter().take(10).collect())
            .await?
            .iter()
            .map(session_row)
            .collect();
        services.push(ServiceRow {
            id: s.id,
            title: s.title.clone(),
            kind: s.kind_name.clone(),
            description: s.description.clone(),
            compounds: s.compounds.iter().map(|c| (c.id, c.name.clone())).collect(),
            sessions,
        });
    }
    let admitted: Vec<(i64, String)> = view
        .admissions
        .iter()
        .filter(|a| a.state == crate::rules::AdmissionState::Approved)
        .map(|a| (a.compound_id, a.compound_name.clone()))
        .collect();
    let can_apply = staff || view.can_register;
    let pick = if can_apply {
        let taken: Vec<i64> = view
            .admissions
            .iter()
            .filter(|a| a.state.is_open())
            .map(|a| a.compound_id)
            .collect();
        pick(db, &d, &taken, &query).await?
    } else {
        Pick::default()
    };
    let kinds = api::kinds(db, &view.org.district_code)
        .await?
        .into_iter()
        .map(|k| {
            let name = if lang == Lang::ZhCn {
                k.name_zh
            } else {
                k.name_en
            };
            (k.code, name)
        })
        .collect();
    let body = OrgPage {
        lang,
        csrf: ctx.csrf(),
        org_type: lang
            .t(&format!(
                "social_services.type.{}",
                view.org.org_type.as_str()
            ))
            .into_owned(),
        admissions: admission_rows(lang, view.admissions.clone()),
        services,
        accounts: view
            .accounts
            .iter()
            .flatten()
            .map(|a| a.name.clone())
            .collect(),
        can_apply,
        pick,
        admitted,
        kinds,
        back: format!("/social-orgs/{id}"),
        o: &view,
    };
    Ok(ctx.page(&view.org.name, body))
}

async fn link(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let account = number(&f, "account_id")?;
    let tx = state.db.write().await?;
    api::link(&tx, &user, id, account).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/social-orgs/{id}")).into_response())
}

async fn apply(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let input = AdmissionInput {
        compound_id: number(&f, "compound_id")?,
        note: Some(field(&f, "note").into()),
    };
    let tx = state.db.write().await?;
    api::apply_for(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/social-orgs/{id}")).into_response())
}

async fn decide(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let Some(action) = AdmissionAction::parse(field(&f, "action")) else {
        return Err(
            ApiError::invalid(i18n::current().t("social_services.error.admission_state")).into(),
        );
    };
    let input = DecisionInput {
        action,
        reason: Some(field(&f, "reason").into()),
    };
    let tx = state.db.write().await?;
    api::decide_on(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok(Redirect::to(&back(&f, "/social-services".into())).into_response())
}

async fn new_service(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let input = ServiceInput {
        kind: field(&f, "kind").into(),
        title: field(&f, "title").into(),
        description: field(&f, "description").into(),
        compound_ids: vec![number(&f, "compound_id")?],
    };
    let tx = state.db.write().await?;
    api::create_service_for(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/social-orgs/{id}")).into_response())
}

async fn new_session(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let venue_id = match field(&f, "venue_id") {
        "" => None,
        _ => Some(number(&f, "venue_id")?),
    };
    let input = SessionInput {
        compound_id: number(&f, "compound_id")?,
        starts_at: local_time(&f, "starts_at")?,
        ends_at: local_time(&f, "ends_at")?,
        capacity: number(&f, "capacity")?,
        venue_id,
        location: Some(field(&f, "location").into()),
    };
    let tx = state.db.write().await?;
    let sid = api::create_session_for(&tx, &user, id, &input, Utc::now()).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/service-sessions/{sid}")).into_response())
}

// ---------------------------------------------------------------- session

struct RollRow {
    id: i64,
    name: String,
    phone: String,
    active: bool,
    attended: bool,
    score: String,
}

#[derive(Template)]
#[template(path = "social_session.html")]
struct SessionPage<'a> {
    lang: Lang,
    csrf: &'a str,
    s: SessionRow,
    org_id: i64,
    description: String,
    mine_state: String,
    mine_active: bool,
    can_feedback: bool,
    feedback_later: bool,
    scores: Vec<(i64, String)>,
    my_score: String,
    roll: Option<Vec<RollRow>>,
    code: String,
    can_register: bool,
    can_check_in: bool,
    can_cancel: bool,
    /// Registrations still active (who a cancellation tells).
    active: usize,
    cancel_reason: String,
}

async fn session(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let db = state.db.conn();
    let now = Utc::now();
    let sc = api::visible_session(db, &user, id).await?;
    let view = api::session_view(db, &user, sc, now).await?;
    let (mine_state, mine_active, can_feedback, my_score) = match &view.mine {
        Some(m) => (
            registration_state(lang, m.active, m.attended_at.is_some()),
            m.active
                && m.attended_at.is_none()
                && !view.session.cancelled
                && now < view.session.starts_at,
            m.attended_at.is_some() && m.feedback_score.is_none() && now >= view.session.ends_at,
            m.feedback_score.map(|s| s.to_string()).unwrap_or_default(),
        ),
        None => (String::new(), false, false, String::new()),
    };
    // Checked in before the end: feedback opens when it is over.
    let feedback_later = view
        .mine
        .as_ref()
        .is_some_and(|m| m.attended_at.is_some() && now < view.session.ends_at);
    let roll = view.registrations.as_ref().map(|rows| {
        rows.iter()
            .map(|r| RollRow {
                id: r.id,
                name: r.name.clone(),
                phone: r.phone.clone().unwrap_or_default(),
                active: r.active,
                attended: r.attended_at.is_some(),
                score: r.feedback_score.map(|s| s.to_string()).unwrap_or_default(),
            })
            .collect()
    });
    let body = SessionPage {
        lang,
        csrf: ctx.csrf(),
        s: session_row(&view.session),
        org_id: view.session.org_id,
        description: view.description.clone(),
        mine_state,
        mine_active,
        can_feedback,
        feedback_later,
        scores: (1..=5)
            .rev()
            .map(|n| {
                (
                    n,
                    lang.t(&format!("social_services.score_{n}")).into_owned(),
                )
            })
            .collect(),
        my_score,
        roll,
        code: view.code.clone().unwrap_or_default(),
        can_register: view.can_register,
        can_check_in: view.can_check_in,
        can_cancel: view.can_cancel,
        active: view.session.registered.max(0) as usize,
        cancel_reason: view.cancel_reason.clone().unwrap_or_default(),
    };
    Ok(ctx.page(&view.session.title, body))
}

async fn register(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let input = RegisterInput {
        phone: Some(field(&f, "phone").into()),
    };
    let tx = state.db.write().await?;
    api::register(&tx, &user, id, &input, Utc::now()).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/service-sessions/{id}")).into_response())
}

async fn cancel(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let tx = state.db.write().await?;
    api::cancel(&tx, &user, id, Utc::now()).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/service-sessions/{id}")).into_response())
}

async fn cancel_session(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    // The form's box is ticked to confirm; without it nothing happens.
    if field(&f, "confirm") != "on" {
        return Err(
            ApiError::invalid(i18n::current().t("social_services.error.cancel_confirm")).into(),
        );
    }
    let input = crate::api::SessionCancelInput {
        reason: field(&f, "reason").into(),
    };
    let tx = state.db.write().await?;
    api::cancel_session(&tx, &user, id, &input, Utc::now()).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/service-sessions/{id}")).into_response())
}

async fn check_in(
    user: User,
    State(state): State<AppState>,
    Path((id, rid)): Path<(i64, i64)>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let tx = state.db.write().await?;
    api::mark_present(&tx, &user, id, rid, Utc::now()).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/service-sessions/{id}")).into_response())
}

async fn feedback(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let input = FeedbackInput {
        score: number(&f, "score")?,
        comment: field(&f, "comment").into(),
    };
    let tx = state.db.write().await?;
    api::feedback(&tx, &user, id, &input, Utc::now()).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/service-sessions/{id}")).into_response())
}
