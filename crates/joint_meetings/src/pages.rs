//! Pages of joint meetings: the compliance of the reader's scope with the
//! meetings they may see, one meeting with its record-held form and action
//! items, and a street's meetings with the schedule form. Every write goes
//! through the same functions as the API.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use jinlin_kernel::auth::{Principal, Role, User};
use jinlin_kernel::i18n::Lang;
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::place::entity as place;
use jinlin_kernel::web::{AppState, Ctx, PageError};
use jinlin_organisations::entity::party_org;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Deserialize;

use crate::api::{
    self, AttendanceInput, DoneInput, HeldInput, InviteeRef, JointMeetingActionView,
    JointMeetingCompliance, JointMeetingInput, JointMeetingSummary, JointMeetingView,
    ResolutionInput,
};
use crate::rules::{self, InviteeKind, MeetingState};

/// Empty resolution rows offered by the record-held form.
pub const RESOLUTION_ROWS: usize = 5;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/joint-meetings", get(index))
        .route("/joint-meetings/{id}", get(show))
        .route("/joint-meetings/{id}/held", post(held))
        .route("/joint-meetings/{id}/cancel", post(cancel))
        .route("/joint-meeting-actions/{id}/done", post(done))
        .route("/places/{id}/joint-meetings", get(street).post(create))
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

    fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .collect()
    }

    fn check_csrf(&self, user: &Principal) -> Result<(), PageError> {
        user.check_csrf(Some(self.get("csrf")))?;
        Ok(())
    }
}

fn bad_field(key: &'static str) -> PageError {
    api::invalid(rules::Invalid { key, item: None }).into()
}

/// A `datetime-local` value, read in China time.
fn local_time(text: &str) -> Result<Option<DateTime<Utc>>, PageError> {
    if text.is_empty() {
        return Ok(None);
    }
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| bad_field("joint_meetings.error.date"))?;
    Ok(rules::china()
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.with_timezone(&Utc)))
}

fn date(text: &str) -> Result<Option<NaiveDate>, PageError> {
    if text.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| bad_field("joint_meetings.error.date"))
}

fn china_text(t: DateTime<Utc>) -> String {
    t.with_timezone(&rules::china())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn china_input(t: DateTime<Utc>) -> String {
    t.with_timezone(&rules::china())
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

fn state_label(lang: Lang, s: MeetingState) -> String {
    lang.t(&format!("joint_meetings.state.{}", s.as_str()))
        .into_owned()
}

fn kind_label(lang: Lang, k: InviteeKind) -> String {
    lang.t(&format!("joint_meetings.kind.{}", k.as_str()))
        .into_owned()
}

// ---------------------------------------------------------------- rows

struct MeetingRow {
    id: i64,
    street: String,
    quarter: String,
    when: String,
    venue: String,
    state: &'static str,
    state_label: String,
    open: u64,
    overdue: u64,
}

fn meeting_rows(lang: Lang, list: Vec<JointMeetingSummary>) -> Vec<MeetingRow> {
    list.into_iter()
        .map(|m| MeetingRow {
            id: m.id,
            street: m.street_name,
            quarter: m.quarter,
            when: china_text(m.held_at.unwrap_or(m.scheduled_at)),
            venue: m.venue,
            state: m.state.as_str(),
            state_label: state_label(lang, m.state),
            open: m.open_actions,
            overdue: m.overdue_actions,
        })
        .collect()
}

struct ActionRow {
    id: i64,
    meeting_id: i64,
    text: String,
    owner: String,
    responsible: String,
    due: String,
    /// `open`, `overdue` or `done`.
    status: &'static str,
    status_label: String,
    done: bool,
    done_on: String,
    done_note: String,
    can_complete: bool,
}

fn action_rows(lang: Lang, list: &[JointMeetingActionView]) -> Vec<ActionRow> {
    list.iter()
        .map(|a| {
            let done = a.state == rules::ActionState::Done;
            let status = if done {
                "done"
            } else if a.overdue {
                "overdue"
            } else {
                "open"
            };
            ActionRow {
                id: a.id,
                meeting_id: a.meeting_id,
                text: a.text.clone(),
                owner: a.owner_name.clone(),
                responsible: a.responsible.clone().unwrap_or_default(),
                due: a.due_on.to_string(),
                status,
                status_label: lang
                    .t(&format!("joint_meetings.action.{status}"))
                    .into_owned(),
                done,
                done_on: a.done_on.map(|d| d.to_string()).unwrap_or_default(),
                done_note: a.done_note.clone().unwrap_or_default(),
                can_complete: a.can_complete,
            }
        })
        .collect()
}

// ---------------------------------------------------------------- index

struct StreetRow {
    id: i64,
    name: String,
    state: &'static str,
    label: String,
    meeting_id: Option<i64>,
    open: u64,
    overdue: u64,
}

struct ComplianceBlock {
    c: JointMeetingCompliance,
    rows: Vec<StreetRow>,
    overdue: Vec<ActionRow>,
}

#[derive(Template)]
#[template(path = "joint_meetings_index.html")]
struct IndexPage {
    lang: Lang,
    quarter: String,
    prev: String,
    next: String,
    blocks: Vec<ComplianceBlock>,
    meetings: Vec<MeetingRow>,
}

#[derive(Deserialize)]
struct QuarterQuery {
    quarter: Option<String>,
}

/// Places where the user administers meetings: district and street admins.
fn admin_scopes(user: &Principal) -> Vec<i64> {
    let mut ids: Vec<i64> = user
        .grants
        .iter()
        .filter(|g| {
            matches!(
                (g.role, g.place.kind),
                (Role::StreetAdmin, Some(PlaceKind::Street))
                    | (
                        Role::DistrictAdmin,
                        Some(PlaceKind::District | PlaceKind::City | PlaceKind::Province)
                    )
            )
        })
        .map(|g| g.place.id)
        .collect();
    ids.dedup();
    ids
}

async fn index(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Query(query): Query<QuarterQuery>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let db = state.db.conn();
    let q = api::quarter_or_now(query.quarter.as_deref())?;
    let mut blocks = Vec::new();
    for id in admin_scopes(&user) {
        let scope = api::compliance_scope(db, &user, id).await?;
        let c = api::compliance(db, &user, &scope, q).await?;
        let rows = c
            .streets
            .iter()
            .map(|s| StreetRow {
                id: s.street_id,
                name: s.street_name.clone(),
                state: s.state.as_str(),
                label: lang
                    .t(&format!("joint_meetings.compliance.{}", s.state.as_str()))
                    .into_owned(),
                meeting_id: s.meeting_id,
                open: s.open_actions,
                overdue: s.overdue_actions,
            })
            .collect();
        let overdue = action_rows(lang, &c.overdue);
        blocks.push(ComplianceBlock { c, rows, overdue });
    }
    let meetings = meeting_rows(lang, api::my_meetings(db, &user, 200).await?);
    let body = IndexPage {
        lang,
        quarter: q.to_string(),
        prev: q.prev().to_string(),
        next: q.next().to_string(),
        blocks,
        meetings,
    };
    Ok(ctx.page(&lang.t("joint_meetings.title"), body))
}

// ---------------------------------------------------------------- meeting

struct InviteeRow {
    id: i64,
    kind: String,
    name: String,
    /// `attended`, `absent`, or empty before the meeting is held.
    attendance: &'static str,
    attendance_label: String,
    attendees: String,
}

#[derive(Template)]
#[template(path = "joint_meetings_show.html")]
struct MeetingPage<'a> {
    lang: Lang,
    csrf: &'a str,
    m: &'a JointMeetingView,
    state: String,
    when: String,
    held: String,
    held_default: String,
    invitees: Vec<InviteeRow>,
    actions: Vec<ActionRow>,
    can_record: bool,
    rows: Vec<usize>,
    today: String,
}

async fn show(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let db = state.db.conn();
    let (m, invitees, reach) = api::visible_meeting(db, &user, id).await?;
    let view = api::meeting_view(db, &m, &invitees, &reach).await?;
    let now = Utc::now();
    let body = MeetingPage {
        lang,
        csrf: ctx.csrf(),
        state: state_label(lang, view.state),
        when: china_text(view.scheduled_at),
        held: view.held_at.map(china_text).unwrap_or_default(),
        held_default: china_input(view.scheduled_at.min(now)),
        invitees: view
            .invitees
            .iter()
            .map(|i| {
                let attendance = match i.attended {
                    Some(true) => "attended",
                    Some(false) => "absent",
                    None => "",
                };
                InviteeRow {
                    id: i.id,
                    kind: kind_label(lang, i.kind),
                    name: i.name.clone(),
                    attendance,
                    attendance_label: if attendance.is_empty() {
                        String::new()
                    } else {
                        lang.t(&format!("joint_meetings.{attendance}")).into_owned()
                    },
                    attendees: i.attendees.clone().unwrap_or_default(),
                }
            })
            .collect(),
        actions: action_rows(lang, &view.actions),
        can_record: view.can_manage && view.state == MeetingState::Scheduled,
        rows: (1..=RESOLUTION_ROWS).collect(),
        today: rules::china_date(now).to_string(),
        m: &view,
    };
    let title = format!("{} · {}", view.street_name, view.quarter);
    Ok(ctx.page(&title, body))
}

async fn held(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields(f);
    f.check_csrf(&user)?;
    let attended: Vec<i64> = f
        .all("attended")
        .iter()
        .filter_map(|v| v.parse().ok())
        .collect();
    // Every invitee listed on the form comes back with its names field.
    let mut attendance = Vec::new();
    for (k, v) in &f.0 {
        if let Some(id) = k
            .strip_prefix("attendees_")
            .and_then(|s| s.parse::<i64>().ok())
        {
            attendance.push(AttendanceInput {
                invitee_id: id,
                attended: attended.contains(&id),
                attendees: Some(v.trim().to_string()),
            });
        }
    }
    let mut resolutions = Vec::new();
    for n in 1..=RESOLUTION_ROWS {
        let text = f.get(&format!("r{n}_text"));
        let owner = f.get(&format!("r{n}_owner"));
        let responsible = f.get(&format!("r{n}_responsible"));
        let due = f.get(&format!("r{n}_due"));
        if text.is_empty() && owner.is_empty() && responsible.is_empty() && due.is_empty() {
            continue;
        }
        resolutions.push(ResolutionInput {
            text: text.to_string(),
            owner_invitee_id: owner.parse().ok(),
            responsible: Some(responsible.to_string()),
            due_on: date(due)?,
        });
    }
    let input = HeldInput {
        held_at: local_time(f.get("held_at"))?,
        minutes: f.get("minutes").to_string(),
        attendance,
        resolutions,
    };
    let tx = state.db.write().await?;
    api::record_held(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/joint-meetings/{id}")).into_response())
}

async fn cancel(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields(f);
    f.check_csrf(&user)?;
    let tx = state.db.write().await?;
    api::cancel(&tx, &user, id, f.get("reason")).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/joint-meetings/{id}")).into_response())
}

async fn done(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields(f);
    f.check_csrf(&user)?;
    let input = DoneInput {
        note: f.get("note").to_string(),
        done_on: date(f.get("done_on"))?,
    };
    let tx = state.db.write().await?;
    let meeting = api::complete(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/joint-meetings/{meeting}")).into_response())
}

// ---------------------------------------------------------------- street

struct Candidate {
    value: String,
    kind: String,
    name: String,
}

#[derive(Template)]
#[template(path = "joint_meetings_street.html")]
struct StreetPage<'a> {
    lang: Lang,
    csrf: &'a str,
    street_id: i64,
    name: String,
    meetings: Vec<MeetingRow>,
    can_schedule: bool,
    candidates: Vec<Candidate>,
}

/// The bodies a street may invite: agencies of its district, its
/// communities, the party organisations of its compounds.
async fn candidates(
    db: &impl ConnectionTrait,
    lang: Lang,
    street: &place::Model,
) -> Result<Vec<Candidate>, PageError> {
    let mut out = Vec::new();
    let communities = place::Entity::find()
        .filter(place::Column::Kind.eq(PlaceKind::Community.as_str()))
        .filter(place::Column::StreetId.eq(street.id))
        .order_by_asc(place::Column::Code)
        .order_by_asc(place::Column::Id)
        .all(db)
        .await?;
    for c in communities {
        out.push(Candidate {
            value: format!("community:{}", c.id),
            kind: kind_label(lang, InviteeKind::Community),
            name: c.name,
        });
    }
    let orgs = party_org::Entity::find()
        .filter(party_org::Column::StreetId.eq(street.id))
        .order_by_asc(party_org::Column::Id)
        .all(db)
        .await?;
    for o in orgs {
        out.push(Candidate {
            value: format!("party_org:{}", o.id),
            kind: kind_label(lang, InviteeKind::PartyOrg),
            name: o.name,
        });
    }
    if let Some(code) = &street.district_code {
        for a in jinlin_agencies::store::agencies_of_district(db, code).await? {
            out.push(Candidate {
                value: format!("agency:{}", a.id),
                kind: kind_label(lang, InviteeKind::Agency),
                name: a.name,
            });
        }
    }
    Ok(out)
}

async fn street(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let db = state.db.conn();
    let (street, list) = api::street_meetings(db, &user, id).await?;
    let can_schedule = api::manages(&user, &street);
    let candidates = if can_schedule {
        candidates(db, lang, &street).await?
    } else {
        Vec::new()
    };
    let title = format!("{} · {}", street.name, lang.t("joint_meetings.title"));
    let body = StreetPage {
        lang,
        csrf: ctx.csrf(),
        street_id: street.id,
        name: street.name.clone(),
        meetings: meeting_rows(lang, list),
        can_schedule,
        candidates,
    };
    Ok(ctx.page(&title, body))
}

async fn create(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let f = Fields(f);
    f.check_csrf(&user)?;
    let Some(scheduled_at) = local_time(f.get("scheduled_at"))? else {
        return Err(bad_field("joint_meetings.error.date"));
    };
    let mut invitees = Vec::new();
    for v in f.all("invitee") {
        let parsed = v.split_once(':').and_then(|(k, id)| {
            Some(InviteeRef {
                kind: InviteeKind::parse(k)?,
                ref_id: id.parse().ok()?,
            })
        });
        match parsed {
            Some(r) => invitees.push(r),
            None => return Err(bad_field("joint_meetings.error.no_invitees")),
        }
    }
    let input = JointMeetingInput {
        scheduled_at,
        venue: f.get("venue").to_string(),
        agenda: f.get("agenda").to_string(),
        invitees,
    };
    let tx = state.db.write().await?;
    let meeting = api::create(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/joint-meetings/{meeting}")).into_response())
}
