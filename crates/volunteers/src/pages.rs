//! Pages of volunteer teams and patrols, phone first: my volunteering (my
//! teams, my next shifts with their buttons, my hours, and the figures of
//! an official's scope), one team with its management forms, one patrol
//! shift with sign-up, check-in and out and its log, and a place's teams
//! with the new-team form. Every write goes through the same functions as
//! the API.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use jinlin_kernel::auth::entity::account;
use jinlin_kernel::auth::{Access, Principal, Role, User};
use jinlin_kernel::i18n::Lang;
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::web::{AppState, Ctx, PageError};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::api::{
    self, Credit, Figure, NewActivity, NewLog, NewMember, NewShift, NewTeam, RaiseIncident,
    ShiftView, TeamSummary,
};
use crate::rules::{self, TeamKind};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/volunteers", get(index))
        .route("/volunteer-teams", post(create_team))
        .route("/volunteer-teams/{id}", get(team))
        .route("/volunteer-teams/{id}/members", post(add_member))
        .route("/volunteer-teams/{id}/activities", post(record_activity))
        .route("/volunteer-teams/{id}/shifts", post(new_shift))
        .route("/patrol-shifts/{id}", get(shift))
        .route("/patrol-shifts/{id}/signup", post(sign_up))
        .route("/patrol-shifts/{id}/check-in", post(check_in))
        .route("/patrol-shifts/{id}/check-out", post(check_out))
        .route("/patrol-shifts/{id}/logs", post(write_log))
        .route("/places/{id}/volunteer-teams", get(place_teams))
}

/// Rows of credits in the activity form.
const CREDIT_ROWS: usize = 8;

type Fields = HashMap<String, String>;

fn field<'a>(f: &'a Fields, name: &str) -> &'a str {
    f.get(name).map(|s| s.trim()).unwrap_or("")
}

fn check_csrf(user: &Principal, f: &Fields) -> Result<(), PageError> {
    user.check_csrf(Some(field(f, "csrf")))?;
    Ok(())
}

fn refused(key: &'static str) -> PageError {
    api::invalid(rules::Invalid { key }).into()
}

fn number(text: &str) -> Result<i64, PageError> {
    text.parse().map_err(|_| refused("volunteers.error.number"))
}

fn china() -> FixedOffset {
    jinlin_kernel::time::china()
}

/// A `datetime-local` value, read in China time.
fn local_time(text: &str) -> Result<DateTime<Utc>, PageError> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .ok()
        .and_then(|n| china().from_local_datetime(&n).single())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| refused("volunteers.error.time"))
}

fn when(t: DateTime<Utc>) -> String {
    t.with_timezone(&china()).format("%m-%d %H:%M").to_string()
}

fn clock(t: DateTime<Utc>) -> String {
    t.with_timezone(&china()).format("%H:%M").to_string()
}

/// Minutes as hours with one decimal.
fn hours(minutes: i64) -> String {
    format!("{:.1}", minutes as f64 / 60.0)
}

fn kind_name(lang: Lang, k: TeamKind) -> String {
    lang.t(&format!("volunteers.kind.{}", k.as_str()))
        .into_owned()
}

/// Where to go after a post: a local path from the form, or `fallback`.
fn back(f: &Fields, fallback: String) -> String {
    match field(f, "back") {
        b if b.starts_with('/') && !b.starts_with("//") => b.to_string(),
        _ => fallback,
    }
}

struct TeamRow {
    id: i64,
    name: String,
    kind: String,
    place_id: i64,
    place: String,
    members: u64,
}

fn team_rows(lang: Lang, teams: Vec<TeamSummary>) -> Vec<TeamRow> {
    teams
        .into_iter()
        .map(|t| TeamRow {
            kind: kind_name(lang, t.kind),
            id: t.id,
            name: t.name,
            place_id: t.place_id,
            place: t.place_name,
            members: t.members,
        })
        .collect()
}

/// A shift as a card with the buttons the reader may press now.
struct ShiftCard {
    id: i64,
    team_id: i64,
    team: String,
    starts: String,
    ends: String,
    route: String,
    slots: i64,
    signed_up: u64,
    signed: bool,
    can_sign_up: bool,
    can_check_in: bool,
    can_check_out: bool,
    checked_in: String,
    checked_out: String,
    minutes: String,
}

fn shift_card(s: &ShiftView, member: bool, now: DateTime<Utc>) -> ShiftCard {
    let mine = s.mine.as_ref();
    let open_window = rules::check_in_open(s.starts_at, s.ends_at, now);
    ShiftCard {
        id: s.id,
        team_id: s.team_id,
        team: s.team_name.clone(),
        starts: when(s.starts_at),
        ends: clock(s.ends_at),
        route: s.route.clone(),
        slots: s.slots,
        signed_up: s.signed_up,
        signed: mine.is_some(),
        can_sign_up: member
            && mine.is_none()
            && rules::signup_open(s.ends_at, now, s.signed_up, s.slots as i32).is_ok(),
        can_check_in: mine.is_some_and(|m| m.checked_in_at.is_none()) && open_window,
        can_check_out: mine
            .is_some_and(|m| m.checked_in_at.is_some() && m.checked_out_at.is_none()),
        checked_in: mine
            .and_then(|m| m.checked_in_at)
            .map(clock)
            .unwrap_or_default(),
        checked_out: mine
            .and_then(|m| m.checked_out_at)
            .map(clock)
            .unwrap_or_default(),
        minutes: mine.map(|m| m.minutes.to_string()).unwrap_or_default(),
    }
}

struct FigureRow {
    place_id: i64,
    name: String,
    teams: u64,
    patrol_teams: u64,
    members: u64,
    party_members: u64,
    activities: u64,
    hours: String,
    shifts: u64,
    shifts_covered: u64,
}

fn figure_row(f: &Figure) -> FigureRow {
    FigureRow {
        place_id: f.place_id,
        name: f.name.clone(),
        teams: f.teams,
        patrol_teams: f.patrol_teams,
        members: f.members,
        party_members: f.party_members,
        activities: f.activities,
        hours: hours(f.minutes),
        shifts: f.shifts,
        shifts_covered: f.shifts_covered,
    }
}

// ---------------------------------------------------------------- index

struct FigureTable {
    whole: FigureRow,
    children: Vec<FigureRow>,
}

#[derive(Template)]
#[template(path = "vt_index.html")]
struct IndexPage<'a> {
    lang: Lang,
    csrf: &'a str,
    my_teams: Vec<TeamRow>,
    next_shifts: Vec<ShiftCard>,
    open_shifts: Vec<ShiftCard>,
    my_hours: String,
    /// Teams of the reader's places (officials and residents).
    nearby: Vec<TeamRow>,
    figures: Vec<FigureTable>,
}

/// Places where the reader is an official and holds the registry.
fn official_places(user: &Principal) -> Vec<i64> {
    let mut out: Vec<i64> = user
        .grants
        .iter()
        .filter(|g| {
            matches!(
                g.role,
                Role::DistrictAdmin
                    | Role::StreetAdmin
                    | Role::CommunityWorker
                    | Role::CompoundSecretary
            )
        })
        .map(|g| g.place.id)
        .collect();
    out.sort();
    out.dedup();
    out
}

async fn index(ctx: Ctx, user: User, State(state): State<AppState>) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let db = state.db.conn();
    let now = Utc::now();
    let mine = api::my_volunteering(db, &user, now).await?;
    let next_shifts = mine
        .next_shifts
        .iter()
        .map(|s| shift_card(s, true, now))
        .collect();
    // Shifts of my patrol teams I could still take.
    let mut open_shifts = Vec::new();
    for t in mine.teams.iter().filter(|t| t.kind == TeamKind::Patrol) {
        let a = api::team_access(db, &user, t.id).await?;
        let view = api::team_view(db, &a).await?;
        open_shifts.extend(
            view.shifts
                .iter()
                .map(|s| shift_card(s, true, now))
                .filter(|c| c.can_sign_up),
        );
    }
    open_shifts.truncate(10);
    let my_ids: Vec<i64> = mine.teams.iter().map(|t| t.id).collect();
    let others: Vec<_> = api::visible_teams(db, &user)
        .await?
        .into_iter()
        .filter(|t| !my_ids.contains(&t.id))
        .collect();
    let nearby = team_rows(lang, api::summaries(db, others).await?);
    let mut figures = Vec::new();
    for id in official_places(&user) {
        let Some(p) = jinlin_places::store::find(db, id).await? else {
            continue;
        };
        if !user.can(Access::Registry, &p.position()) {
            continue;
        }
        let f = api::figures_of(db, &p).await?;
        figures.push(FigureTable {
            whole: figure_row(&f.place),
            children: f.children.iter().map(figure_row).collect(),
        });
    }
    let body = IndexPage {
        lang,
        csrf: ctx.csrf(),
        my_teams: team_rows(lang, mine.teams),
        next_shifts,
        open_shifts,
        my_hours: hours(mine.minutes),
        nearby,
        figures,
    };
    Ok(ctx.page(&lang.t("volunteers.title"), body))
}

// ---------------------------------------------------------------- team

struct MemberRow {
    id: i64,
    name: String,
    party_member: bool,
    leader: bool,
    joined: String,
    hours: String,
}

struct ActivityRow {
    held_on: String,
    title: String,
    members: u64,
    hours: String,
}

#[derive(Template)]
#[template(path = "vt_team.html")]
struct TeamPage<'a> {
    lang: Lang,
    csrf: &'a str,
    team: TeamRow,
    leader: String,
    patrol: bool,
    can_manage: bool,
    team_hours: String,
    members: Vec<MemberRow>,
    activities: Vec<ActivityRow>,
    shifts: Vec<ShiftCard>,
    rows: Vec<usize>,
    today: String,
    back: String,
}

async fn team(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let db = state.db.conn();
    let now = Utc::now();
    let a = api::team_access(db, &user, id).await?;
    let view = api::team_view(db, &a).await?;
    let is_member = view.my_member_id.is_some();
    let members = view
        .members
        .iter()
        .map(|m| MemberRow {
            id: m.id,
            name: m.name.clone(),
            party_member: m.party_member,
            leader: m.account_id.is_some() && m.account_id == view.leader_account_id,
            joined: m.joined_on.to_string(),
            hours: m.minutes.map(hours).unwrap_or_default(),
        })
        .collect();
    let activities = view
        .activities
        .iter()
        .map(|x| ActivityRow {
            held_on: x.held_on.to_string(),
            title: x.title.clone(),
            members: x.members,
            hours: hours(x.minutes),
        })
        .collect();
    // Shifts that ended more than a week ago drop off the roster page.
    let since = now - chrono::Duration::days(7);
    let shifts = view
        .shifts
        .iter()
        .filter(|s| s.ends_at > since)
        .map(|s| shift_card(s, is_member, now))
        .collect();
    let title = view.team.name.clone();
    let body = TeamPage {
        lang,
        csrf: ctx.csrf(),
        leader: view.leader_name.clone().unwrap_or_default(),
        patrol: view.team.kind == TeamKind::Patrol,
        can_manage: view.can_manage,
        team_hours: view.team_minutes.map(hours).unwrap_or_default(),
        members,
        activities,
        shifts,
        rows: (0..CREDIT_ROWS).collect(),
        today: now.with_timezone(&china()).date_naive().to_string(),
        back: format!("/volunteer-teams/{id}"),
        team: team_rows(lang, vec![view.team])
            .pop()
            .ok_or_else(PageError::not_found)?,
    };
    Ok(ctx.page(&title, body))
}

/// An account by id or by username.
async fn account_id(db: &impl ConnectionTrait, text: &str) -> Result<i64, PageError> {
    if let Ok(id) = text.parse::<i64>() {
        return Ok(id);
    }
    account::Entity::find()
        .filter(account::Column::Username.eq(text))
        .one(db)
        .await?
        .map(|a| a.id)
        .ok_or_else(|| refused("volunteers.error.unknown_account"))
}

async fn add_member(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let tx = state.db.write().await?;
    let account_id = match field(&f, "account") {
        "" => None,
        a => Some(account_id(&tx, a).await?),
    };
    let name = Some(field(&f, "name").to_string()).filter(|n| !n.is_empty());
    api::add(&tx, &user, id, &NewMember { account_id, name }).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/volunteer-teams/{id}")).into_response())
}

async fn record_activity(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let held_on = NaiveDate::parse_from_str(field(&f, "held_on"), "%Y-%m-%d")
        .map_err(|_| refused("volunteers.error.time"))?;
    let mut credits = Vec::new();
    for i in 0..CREDIT_ROWS {
        let member = field(&f, &format!("member_{i}"));
        if member.is_empty() {
            continue;
        }
        credits.push(Credit {
            member_id: number(member)?,
            minutes: number(field(&f, &format!("minutes_{i}")))?,
        });
    }
    let input = NewActivity {
        held_on,
        title: field(&f, "title").into(),
        credits,
    };
    let tx = state.db.write().await?;
    api::activity(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/volunteer-teams/{id}")).into_response())
}

async fn new_shift(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let input = NewShift {
        starts_at: local_time(field(&f, "starts_at"))?,
        ends_at: local_time(field(&f, "ends_at"))?,
        route: field(&f, "route").into(),
        slots: number(field(&f, "slots"))?,
    };
    let tx = state.db.write().await?;
    let shift = api::shift(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/patrol-shifts/{shift}")).into_response())
}

// ---------------------------------------------------------------- shift

struct RosterRow {
    name: String,
    checked_in: String,
    checked_out: String,
    minutes: i64,
}

struct LogRow {
    name: String,
    at: String,
    body: String,
    incident: bool,
    matter_id: Option<i64>,
}

#[derive(Template)]
#[template(path = "vt_shift.html")]
struct ShiftPage<'a> {
    lang: Lang,
    csrf: &'a str,
    s: ShiftCard,
    roster: Vec<RosterRow>,
    logs: Vec<LogRow>,
    categories: Vec<(String, String)>,
    back: String,
}

async fn shift(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let db = state.db.conn();
    let now = Utc::now();
    let (s, a) = api::shift_access(db, &user, id).await?;
    let d = api::shift_detail(db, s, &a, now).await?;
    let card = shift_card(&d.shift, a.member.is_some(), now);
    let roster = d
        .roster
        .iter()
        .map(|r| RosterRow {
            name: r.name.clone(),
            checked_in: r.checked_in_at.map(when).unwrap_or_default(),
            checked_out: r.checked_out_at.map(when).unwrap_or_default(),
            minutes: r.minutes,
        })
        .collect();
    let logs = d
        .logs
        .iter()
        .map(|l| LogRow {
            name: l.name.clone(),
            at: when(l.at),
            body: l.body.clone(),
            incident: l.incident,
            matter_id: l.matter_id,
        })
        .collect();
    let categories = if card.signed {
        jinlin_resident_matters::store::categories(db, false)
            .await?
            .into_iter()
            .map(|c| {
                let name = match lang {
                    Lang::En => c.name_en,
                    _ => c.name_zh,
                };
                (c.code, name)
            })
            .collect()
    } else {
        Vec::new()
    };
    let title = format!("{} · {}", d.shift.team_name, card.starts);
    let body = ShiftPage {
        lang,
        csrf: ctx.csrf(),
        back: format!("/patrol-shifts/{id}"),
        s: card,
        roster,
        logs,
        categories,
    };
    Ok(ctx.page(&title, body))
}

async fn sign_up(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let tx = state.db.write().await?;
    api::signup(&tx, &user, id, Utc::now()).await?;
    tx.commit().await?;
    Ok(Redirect::to(&back(&f, format!("/patrol-shifts/{id}"))).into_response())
}

async fn check_in(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let tx = state.db.write().await?;
    api::check_in_at(&tx, &user, id, Utc::now()).await?;
    tx.commit().await?;
    Ok(Redirect::to(&back(&f, format!("/patrol-shifts/{id}"))).into_response())
}

async fn check_out(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let tx = state.db.write().await?;
    api::check_out_at(&tx, &user, id, Utc::now()).await?;
    tx.commit().await?;
    Ok(Redirect::to(&back(&f, format!("/patrol-shifts/{id}"))).into_response())
}

async fn write_log(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let body = field(&f, "body").to_string();
    let raise = (field(&f, "raise") == "on").then(|| {
        // Without a title the matter is named after the start of the entry.
        let title = match field(&f, "title") {
            "" => body.chars().take(40).collect(),
            t => t.to_string(),
        };
        RaiseIncident {
            category: Some(field(&f, "category").to_string()).filter(|c| !c.is_empty()),
            title,
            place_id: None,
        }
    });
    let input = NewLog {
        incident: field(&f, "incident") == "on",
        body,
        raise,
    };
    let tx = state.db.write().await?;
    api::log(&tx, &user, id, &input, Utc::now()).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/patrol-shifts/{id}")).into_response())
}

// ---------------------------------------------------------------- place

#[derive(Template)]
#[template(path = "vt_place.html")]
struct PlacePage<'a> {
    lang: Lang,
    csrf: &'a str,
    place_id: i64,
    name: String,
    teams: Vec<TeamRow>,
    can_create: bool,
    kinds: Vec<(&'static str, String)>,
}

/// Whether a team falls under a place.
fn under(
    p: &jinlin_kernel::place::entity::Model,
    t: &crate::entity::volunteer_team::Model,
) -> bool {
    match PlaceKind::parse(&p.kind) {
        Some(PlaceKind::District) => Some(&t.district_code) == p.district_code.as_ref(),
        Some(PlaceKind::Street) => t.street_id == Some(p.id),
        Some(PlaceKind::Community) => t.community_id == Some(p.id),
        _ => t.place_id == p.id || t.compound_id == Some(p.id),
    }
}

async fn place_teams(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let db = state.db.conn();
    let p = match jinlin_places::store::find(db, id).await? {
        Some(p) if jinlin_places::store::visible(&user, &p) => p,
        _ => return Err(PageError::not_found()),
    };
    let teams: Vec<_> = api::visible_teams(db, &user)
        .await?
        .into_iter()
        .filter(|t| under(&p, t))
        .collect();
    let can_create = (p.kind == PlaceKind::Compound.as_str()
        || p.kind == PlaceKind::Community.as_str())
        && user.is_official_at(&p.position());
    let title = format!("{} · {}", p.name, lang.t("volunteers.teams"));
    let body = PlacePage {
        lang,
        csrf: ctx.csrf(),
        place_id: p.id,
        name: p.name.clone(),
        teams: team_rows(lang, api::summaries(db, teams).await?),
        can_create,
        kinds: TeamKind::ALL
            .into_iter()
            .map(|k| (k.as_str(), kind_name(lang, k)))
            .collect(),
    };
    Ok(ctx.page(&title, body))
}

async fn create_team(
    user: User,
    State(state): State<AppState>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let tx = state.db.write().await?;
    let leader_account_id = match field(&f, "leader") {
        "" => None,
        a => Some(account_id(&tx, a).await?),
    };
    let input = NewTeam {
        place_id: number(field(&f, "place_id"))?,
        name: field(&f, "name").into(),
        kind: TeamKind::parse(field(&f, "kind")).unwrap_or(TeamKind::Other),
        leader_account_id,
    };
    let id = api::create(&tx, &user, &input).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/volunteer-teams/{id}")).into_response())
}
