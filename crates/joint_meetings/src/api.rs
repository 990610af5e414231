//! JSON API of joint meetings.
//!
//! Scope: a meeting belongs to a street. District admins above the street
//! and the street's admins see and manage its meetings. The bodies invited
//! see the meetings they were invited to and their action items: community
//! workers of an invited community, the secretary of an invited compound
//! party organisation, the admins of an invited agency. Everyone else gets
//! 404. An action item is marked done by the street's admins or by those
//! who answer for the body that owns it.

use std::collections::{HashMap, HashSet};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use jinlin_agencies::entity::agency;
use jinlin_kernel::ApiError;
use jinlin_kernel::audit::{self, Entry};
use jinlin_kernel::auth::{Access, Principal, Role, User};
use jinlin_kernel::error::ErrorBody;
use jinlin_kernel::i18n;
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::place::entity as place;
use jinlin_kernel::web::{ApiJson, ApiQuery, AppState};
use jinlin_organisations::entity::party_org;
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::entity::{joint_meeting, joint_meeting_action, joint_meeting_invitee};
use crate::rules::{
    self, ActionState, Compliance, Invalid, InviteeKind, MeetingState, Quarter, Resolution,
};
use crate::store::{self, Bodies};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_meetings, create_meeting))
        .routes(routes!(get_meeting, update_meeting))
        .routes(routes!(hold_meeting))
        .routes(routes!(cancel_meeting))
        .routes(routes!(complete_action))
        .routes(routes!(get_compliance))
}

// ---------------------------------------------------------------- errors

pub fn invalid(e: Invalid) -> ApiError {
    let lang = i18n::current();
    let text = match &e.item {
        Some(item) => lang.tf(e.key, &[("item", item)]),
        None => lang.t(e.key).into_owned(),
    };
    ApiError::invalid(text)
}

fn invalid_key(key: &'static str) -> ApiError {
    invalid(Invalid { key, item: None })
}

fn conflict(key: &str) -> ApiError {
    ApiError::with_message(StatusCode::CONFLICT, "conflict", i18n::current().t(key))
}

// ---------------------------------------------------------------- scope

/// District and street admins whose scope holds the street manage its
/// meetings.
pub fn manages(user: &Principal, street: &place::Model) -> bool {
    user.roles_for(Access::Edit, &street.position())
        .iter()
        .any(|r| matches!(r, Role::DistrictAdmin | Role::StreetAdmin))
}

/// What a principal may do with one meeting.
#[derive(Debug, Clone)]
pub struct Reach {
    pub street: place::Model,
    /// Manages the meeting (admin of the street or above).
    pub manages: bool,
    /// The bodies the principal answers for.
    pub bodies: Bodies,
}

impl Reach {
    /// Whether the principal may mark an item owned by `owner` done.
    pub fn completes(&self, owner: Option<&joint_meeting_invitee::Model>) -> bool {
        self.manages || owner.is_some_and(|o| self.bodies.answers_for(o))
    }
}

/// A meeting the principal may see (404 otherwise), its invitees and the
/// principal's reach.
pub async fn visible_meeting(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<
    (
        joint_meeting::Model,
        Vec<joint_meeting_invitee::Model>,
        Reach,
    ),
    ApiError,
> {
    let Some(m) = store::meeting(db, id).await? else {
        return Err(ApiError::not_found());
    };
    let Some(street) = store::place(db, m.street_id).await? else {
        return Err(ApiError::not_found());
    };
    let invitees = store::invitees(db, &[m.id]).await?;
    let manages = manages(user, &street);
    let bodies = Bodies::of(db, user).await?;
    if !manages && !invitees.iter().any(|i| bodies.answers_for(i)) {
        return Err(ApiError::not_found());
    }
    Ok((
        m,
        invitees,
        Reach {
            street,
            manages,
            bodies,
        },
    ))
}

/// A street whose meetings the principal may list: its admins, the
/// community workers and compound secretaries inside it, and the agency
/// admins of its district (each of these sees only what its bodies were
/// invited to). 404 for anyone else; 422 for a place that is no street.
async fn reachable_street(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<place::Model, ApiError> {
    let Some(p) = store::place(db, id).await? else {
        return Err(ApiError::not_found());
    };
    let pos = p.position();
    let related = manages(user, &p)
        || user.grants.iter().any(|g| match g.role {
            Role::CommunityWorker | Role::CompoundSecretary => g.place.is_within(&pos),
            Role::AgencyAdmin => g.place.district_code == p.district_code,
            _ => false,
        });
    if !related {
        return Err(ApiError::not_found());
    }
    if p.kind != PlaceKind::Street.as_str() {
        return Err(invalid_key("joint_meetings.error.not_street"));
    }
    Ok(p)
}

// ---------------------------------------------------------------- shapes

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = JointMeetingCreated)]
pub struct Created {
    pub id: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[schema(as = JointMeetingInviteeRef)]
#[serde(deny_unknown_fields)]
pub struct InviteeRef {
    pub kind: InviteeKind,
    /// The agency's id, the community's place id, or the compound party
    /// organisation's id.
    pub ref_id: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JointMeetingInput {
    /// When the meeting takes place; its quarter (in China time) follows.
    pub scheduled_at: DateTime<Utc>,
    pub venue: String,
    pub agenda: String,
    /// Agencies of the district, communities and compound party
    /// organisations of the street.
    pub invitees: Vec<InviteeRef>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[schema(as = JointMeetingAttendance)]
#[serde(deny_unknown_fields)]
pub struct AttendanceInput {
    pub invitee_id: i64,
    pub attended: bool,
    /// Names of those who came for the body.
    #[serde(default)]
    pub attendees: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[schema(as = JointMeetingResolution)]
#[serde(deny_unknown_fields)]
pub struct ResolutionInput {
    #[serde(default)]
    pub text: String,
    /// The invitee (of this meeting) that owns the resulting action item.
    #[serde(default)]
    pub owner_invitee_id: Option<i64>,
    /// The person the owner names as responsible.
    #[serde(default)]
    pub responsible: Option<String>,
    #[serde(default)]
    pub due_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[schema(as = JointMeetingHeld)]
#[serde(deny_unknown_fields)]
pub struct HeldInput {
    /// When it was held; by default the scheduled time (or now, if that
    /// lies ahead). Never in the future.
    #[serde(default)]
    pub held_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub minutes: String,
    /// Invitees not listed did not attend.
    #[serde(default)]
    pub attendance: Vec<AttendanceInput>,
    /// Each becomes an action item; one without an owner or a due date
    /// refuses the whole record.
    #[serde(default)]
    pub resolutions: Vec<ResolutionInput>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[schema(as = JointMeetingCancel)]
#[serde(deny_unknown_fields)]
pub struct CancelInput {
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[schema(as = JointMeetingActionDone)]
#[serde(deny_unknown_fields)]
pub struct DoneInput {
    #[serde(default)]
    pub note: String,
    /// By default today (in China).
    #[serde(default)]
    pub done_on: Option<NaiveDate>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JointMeetingSummary {
    pub id: i64,
    pub street_id: i64,
    pub street_name: String,
    /// e.g. "2026Q4".
    pub quarter: String,
    pub scheduled_at: DateTime<Utc>,
    pub held_at: Option<DateTime<Utc>>,
    pub venue: String,
    pub state: MeetingState,
    pub invitees: u64,
    pub open_actions: u64,
    pub overdue_actions: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JointMeetingInviteeView {
    pub id: i64,
    pub kind: InviteeKind,
    pub ref_id: i64,
    pub name: String,
    /// Recorded when the meeting is held.
    pub attended: Option<bool>,
    pub attendees: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JointMeetingActionView {
    pub id: i64,
    pub meeting_id: i64,
    pub street_id: i64,
    pub text: String,
    pub owner_invitee_id: i64,
    pub owner_name: String,
    pub responsible: Option<String>,
    pub due_on: NaiveDate,
    pub state: ActionState,
    /// Open and past its due date (in China).
    pub overdue: bool,
    pub done_on: Option<NaiveDate>,
    pub done_note: Option<String>,
    /// Whether the reader may mark it done.
    pub can_complete: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JointMeetingView {
    pub id: i64,
    pub street_id: i64,
    pub street_name: String,
    pub district_code: String,
    pub quarter: String,
    pub scheduled_at: DateTime<Utc>,
    pub venue: String,
    pub agenda: String,
    pub state: MeetingState,
    pub held_at: Option<DateTime<Utc>>,
    pub minutes: Option<String>,
    pub cancel_reason: Option<String>,
    pub invitees: Vec<JointMeetingInviteeView>,
    pub actions: Vec<JointMeetingActionView>,
    /// Whether the reader may change, record or cancel it.
    pub can_manage: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = JointMeetingStreetCompliance)]
pub struct StreetCompliance {
    pub street_id: i64,
    pub street_name: String,
    pub state: Compliance,
    /// The held meeting, else the scheduled one.
    pub meeting_id: Option<i64>,
    pub open_actions: u64,
    pub overdue_actions: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JointMeetingCompliance {
    pub place_id: i64,
    pub name: String,
    pub quarter: String,
    pub quarter_starts_on: NaiveDate,
    pub quarter_ends_on: NaiveDate,
    /// The day streets without a held meeting are reminded.
    pub reminder_on: NaiveDate,
    pub held: u64,
    pub scheduled: u64,
    pub none: u64,
    pub streets: Vec<StreetCompliance>,
    /// Open items past their due date, oldest due first.
    pub overdue: Vec<JointMeetingActionView>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ComplianceQuery {
    /// e.g. `2026Q4`; by default the current quarter.
    pub quarter: Option<String>,
}

// ---------------------------------------------------------------- views

fn today() -> NaiveDate {
    rules::china_date(Utc::now())
}

fn quarter_of(m: &joint_meeting::Model) -> Quarter {
    Quarter {
        year: m.year,
        q: m.quarter as u8,
    }
}

fn state_of(m: &joint_meeting::Model) -> MeetingState {
    MeetingState::parse(&m.state).unwrap_or(MeetingState::Cancelled)
}

fn invitee_view(i: &joint_meeting_invitee::Model) -> JointMeetingInviteeView {
    JointMeetingInviteeView {
        id: i.id,
        kind: InviteeKind::parse(&i.kind).unwrap_or(InviteeKind::Community),
        ref_id: i.ref_id,
        name: i.name.clone(),
        attended: i.attended,
        attendees: i.attendees.clone(),
    }
}

fn action_view(
    a: &joint_meeting_action::Model,
    owners: &HashMap<i64, joint_meeting_invitee::Model>,
    can_complete: bool,
    today: NaiveDate,
) -> JointMeetingActionView {
    let state = ActionState::parse(&a.state).unwrap_or(ActionState::Open);
    JointMeetingActionView {
        id: a.id,
        meeting_id: a.meeting_id,
        street_id: a.street_id,
        text: a.text.clone(),
        owner_invitee_id: a.owner_invitee_id,
        owner_name: owners
            .get(&a.owner_invitee_id)
            .map(|o| o.name.clone())
            .unwrap_or_default(),
        responsible: a.responsible.clone(),
        due_on: a.due_on,
        state,
        overdue: rules::is_overdue(state, a.due_on, today),
        done_on: a.done_on,
        done_note: a.done_note.clone(),
        can_complete: can_complete && state == ActionState::Open,
    }
}

pub async fn meeting_view(
    db: &impl ConnectionTrait,
    m: &joint_meeting::Model,
    invitees: &[joint_meeting_invitee::Model],
    reach: &Reach,
) -> Result<JointMeetingView, ApiError> {
    let owners: HashMap<i64, joint_meeting_invitee::Model> =
        invitees.iter().map(|i| (i.id, i.clone())).collect();
    let today = today();
    let actions = store::actions(db, &[m.id])
        .await?
        .iter()
        .map(|a| {
            action_view(
                a,
                &owners,
                reach.completes(owners.get(&a.owner_invitee_id)),
                today,
            )
        })
        .collect();
    Ok(JointMeetingView {
        id: m.id,
        street_id: m.street_id,
        street_name: reach.street.name.clone(),
        district_code: m.district_code.clone(),
        quarter: quarter_of(m).to_string(),
        scheduled_at: m.scheduled_at,
        venue: m.venue.clone(),
        agenda: m.agenda.clone(),
        state: state_of(m),
        held_at: m.held_at,
        minutes: m.minutes.clone(),
        cancel_reason: m.cancel_reason.clone(),
        invitees: invitees.iter().map(invitee_view).collect(),
        actions,
        can_manage: reach.manages,
    })
}

/// Summaries of meetings, with their invitee and action counts.
pub async fn summaries(
    db: &impl ConnectionTrait,
    meetings: &[joint_meeting::Model],
) -> Result<Vec<JointMeetingSummary>, ApiError> {
    let ids: Vec<i64> = meetings.iter().map(|m| m.id).collect();
    let mut invited: HashMap<i64, u64> = HashMap::new();
    for i in store::invitees(db, &ids).await? {
        *invited.entry(i.meeting_id).or_default() += 1;
    }
    let today = today();
    let mut open: HashMap<i64, (u64, u64)> = HashMap::new();
    for a in store::actions(db, &ids).await? {
        let state = ActionState::parse(&a.state).unwrap_or(ActionState::Open);
        if state == ActionState::Open {
            let e = open.entry(a.meeting_id).or_default();
            e.0 += 1;
            e.1 += u64::from(rules::is_overdue(state, a.due_on, today));
        }
    }
    let streets = store::places(db, meetings.iter().map(|m| m.street_id)).await?;
    Ok(meetings
        .iter()
        .map(|m| {
            let (o, late) = open.get(&m.id).copied().unwrap_or_default();
            JointMeetingSummary {
                id: m.id,
                street_id: m.street_id,
                street_name: streets
                    .get(&m.street_id)
                    .map(|s| s.name.clone())
                    .unwrap_or_default(),
                quarter: quarter_of(m).to_string(),
                scheduled_at: m.scheduled_at,
                held_at: m.held_at,
                venue: m.venue.clone(),
                state: state_of(m),
                invitees: invited.get(&m.id).copied().unwrap_or(0),
                open_actions: o,
                overdue_actions: late,
            }
        })
        .collect())
}

/// A street's meetings the principal may see.
pub async fn street_meetings(
    db: &impl ConnectionTrait,
    user: &Principal,
    street_id: i64,
) -> Result<(place::Model, Vec<JointMeetingSummary>), ApiError> {
    let street = reachable_street(db, user, street_id).await?;
    let all = store::meetings_of_streets(db, &[street.id]).await?;
    let shown = if manages(user, &street) {
        all
    } else {
        let bodies = Bodies::of(db, user).await?;
        let invited: HashSet<i64> = store::meetings_invited(db, &bodies)
            .await?
            .into_iter()
            .collect();
        all.into_iter()
            .filter(|m| invited.contains(&m.id))
            .collect()
    };
    let list = summaries(db, &shown).await?;
    Ok((street, list))
}

/// Every meeting the principal may see: those of the streets it
/// administers and those its bodies were invited to, newest first.
pub async fn my_meetings(
    db: &impl ConnectionTrait,
    user: &Principal,
    limit: u64,
) -> Result<Vec<JointMeetingSummary>, ApiError> {
    let mut meetings = store::meetings_administered(db, user, limit).await?;
    let bodies = Bodies::of(db, user).await?;
    let known: HashSet<i64> = meetings.iter().map(|m| m.id).collect();
    let invited: Vec<i64> = store::meetings_invited(db, &bodies)
        .await?
        .into_iter()
        .filter(|id| !known.contains(id))
        .collect();
    meetings.extend(store::meetings_by_id(db, &invited).await?);
    meetings.sort_by_key(|m| std::cmp::Reverse((m.scheduled_at, m.id)));
    meetings.truncate(limit as usize);
    summaries(db, &meetings).await
}

// ---------------------------------------------------------------- writes

/// An invitee checked against the street's scope, with its name.
struct NewInvitee {
    kind: InviteeKind,
    ref_id: i64,
    place_id: Option<i64>,
    name: String,
}

fn outside(r: &InviteeRef) -> ApiError {
    let lang = i18n::current();
    let label = lang.t(&format!("joint_meetings.kind.{}", r.kind.as_str()));
    invalid(Invalid {
        key: "joint_meetings.error.invitee_outside",
        item: Some(format!("{label} #{}", r.ref_id)),
    })
}

/// Resolves invitees: agencies of the street's district, communities
/// under the street, party organisations of compounds under the street;
/// 422 naming the first that is not.
async fn resolve_invitees(
    db: &impl ConnectionTrait,
    street: &place::Model,
    refs: &[InviteeRef],
) -> Result<Vec<NewInvitee>, ApiError> {
    let keys: Vec<String> = refs
        .iter()
        .map(|r| format!("{}:{}", r.kind.as_str(), r.ref_id))
        .collect();
    rules::check_invitees(&keys).map_err(|mut e| {
        // Name a repeated invitee the way the reader knows it.
        if let Some(i) = e
            .item
            .as_ref()
            .and_then(|k| keys.iter().position(|x| x == k))
        {
            let lang = i18n::current();
            e.item = Some(format!(
                "{} #{}",
                lang.t(&format!("joint_meetings.kind.{}", refs[i].kind.as_str())),
                refs[i].ref_id
            ));
        }
        invalid(e)
    })?;
    let mut out = Vec::with_capacity(refs.len());
    for r in refs {
        let found = match r.kind {
            InviteeKind::Agency => agency::Entity::find_by_id(r.ref_id)
                .one(db)
                .await?
                .filter(|a| street.district_code.as_deref() == Some(a.district_code.as_str()))
                .map(|a| (None, a.name)),
            InviteeKind::Community => store::place(db, r.ref_id)
                .await?
                .filter(|p| {
                    p.kind == PlaceKind::Community.as_str() && p.street_id == Some(street.id)
                })
                .map(|p| (Some(p.id), p.name)),
            InviteeKind::PartyOrg => match party_org::Entity::find_by_id(r.ref_id).one(db).await? {
                Some(o) => store::place(db, o.compound_id)
                    .await?
                    .filter(|c| c.street_id == Some(street.id))
                    .map(|c| (Some(c.id), o.name)),
                None => None,
            },
        };
        let Some((place_id, name)) = found else {
            return Err(outside(r));
        };
        out.push(NewInvitee {
            kind: r.kind,
            ref_id: r.ref_id,
            place_id,
            name: name.chars().take(128).collect(),
        });
    }
    Ok(out)
}

struct Checked {
    quarter: Quarter,
    venue: String,
    agenda: String,
}

fn check_input(input: &JointMeetingInput) -> Result<Checked, ApiError> {
    let quarter = rules::check_schedule(input.scheduled_at).map_err(invalid)?;
    let venue =
        rules::check_text(&input.venue, 128, "joint_meetings.error.venue").map_err(invalid)?;
    let agenda =
        rules::check_text(&input.agenda, 5000, "joint_meetings.error.agenda").map_err(invalid)?;
    Ok(Checked {
        quarter,
        venue,
        agenda,
    })
}

async fn insert_invitees(
    db: &impl ConnectionTrait,
    meeting: i64,
    district_code: &str,
    list: Vec<NewInvitee>,
) -> Result<(), ApiError> {
    if list.is_empty() {
        return Ok(());
    }
    joint_meeting_invitee::Entity::insert_many(list.into_iter().map(|i| {
        joint_meeting_invitee::ActiveModel {
            meeting_id: Set(meeting),
            district_code: Set(district_code.to_string()),
            kind: Set(i.kind.as_str().into()),
            ref_id: Set(i.ref_id),
            place_id: Set(i.place_id),
            name: Set(i.name),
            attended: Set(None),
            attendees: Set(None),
            ..Default::default()
        }
    }))
    .exec(db)
    .await?;
    Ok(())
}

/// Schedules a meeting of a street (its admins and the district admins
/// above it).
pub async fn create(
    db: &impl ConnectionTrait,
    user: &Principal,
    street_id: i64,
    input: &JointMeetingInput,
) -> Result<i64, ApiError> {
    let street = reachable_street(db, user, street_id).await?;
    if !manages(user, &street) {
        return Err(ApiError::forbidden());
    }
    let c = check_input(input)?;
    let invitees = resolve_invitees(db, &street, &input.invitees).await?;
    let code = street.district_code.clone().unwrap_or_default();
    let now = Utc::now();
    let id = joint_meeting::Entity::insert(joint_meeting::ActiveModel {
        district_code: Set(code.clone()),
        street_id: Set(street.id),
        year: Set(c.quarter.year),
        quarter: Set(i16::from(c.quarter.q)),
        scheduled_at: Set(input.scheduled_at),
        venue: Set(c.venue),
        agenda: Set(c.agenda),
        state: Set(MeetingState::Scheduled.as_str().into()),
        held_at: Set(None),
        minutes: Set(None),
        cancel_reason: Set(None),
        created_by: Set(Some(user.account_id)),
        recorded_by: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec(db)
    .await?
    .last_insert_id;
    insert_invitees(db, id, &code, invitees).await?;
    audit::record(
        db,
        Entry::new(Some(user), "joint_meeting.create", "joint_meeting")
            .object(id)
            .district(Some(code))
            .detail(
                serde_json::json!({ "street_id": street.id, "quarter": c.quarter.to_string() }),
            ),
    )
    .await?;
    Ok(id)
}

/// A meeting the principal manages, locked, still open to change.
async fn managed_open(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<
    (
        joint_meeting::Model,
        Vec<joint_meeting_invitee::Model>,
        Reach,
    ),
    ApiError,
> {
    store::lock_meeting(db, id).await?;
    let (m, invitees, reach) = visible_meeting(db, user, id).await?;
    if !reach.manages {
        return Err(ApiError::forbidden());
    }
    if !state_of(&m).is_open() {
        return Err(conflict("joint_meetings.error.not_scheduled"));
    }
    Ok((m, invitees, reach))
}

/// Changes a scheduled meeting: time, venue, agenda and invitees.
pub async fn update(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
    input: &JointMeetingInput,
) -> Result<(), ApiError> {
    let (m, _, reach) = managed_open(db, user, id).await?;
    let c = check_input(input)?;
    let invitees = resolve_invitees(db, &reach.street, &input.invitees).await?;
    let code = m.district_code.clone();
    joint_meeting_invitee::Entity::delete_many()
        .filter(joint_meeting_invitee::Column::MeetingId.eq(id))
        .exec(db)
        .await?;
    insert_invitees(db, id, &code, invitees).await?;
    let mut am: joint_meeting::ActiveModel = m.into();
    am.year = Set(c.quarter.year);
    am.quarter = Set(i16::from(c.quarter.q));
    am.scheduled_at = Set(input.scheduled_at);
    am.venue = Set(c.venue);
    am.agenda = Set(c.agenda);
    am.updated_at = Set(Utc::now());
    joint_meeting::Entity::update(am).exec(db).await?;
    audit::record(
        db,
        Entry::new(Some(user), "joint_meeting.update", "joint_meeting")
            .object(id)
            .district(Some(code)),
    )
    .await?;
    Ok(())
}

/// Records a scheduled meeting as held: attendance, minutes and the
/// resolutions, each an action item. All or nothing: a resolution without
/// an owner or a due date refuses the whole record.
pub async fn record_held(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
    input: &HeldInput,
) -> Result<(), ApiError> {
    let (m, invitees, _) = managed_open(db, user, id).await?;
    let now = Utc::now();
    let held_at = rules::held_at(input.held_at, m.scheduled_at, now).map_err(invalid)?;
    let minutes = rules::check_text(&input.minutes, 20_000, "joint_meetings.error.minutes")
        .map_err(invalid)?;
    let ids: HashSet<i64> = invitees.iter().map(|i| i.id).collect();
    let mut attendance: HashMap<i64, (bool, Option<String>)> = HashMap::new();
    for a in &input.attendance {
        if !ids.contains(&a.invitee_id) {
            return Err(invalid(Invalid {
                key: "joint_meetings.error.unknown_invitee",
                item: Some(a.invitee_id.to_string()),
            }));
        }
        let names = rules::check_optional(a.attendees.as_deref(), 500).map_err(invalid)?;
        if attendance
            .insert(a.invitee_id, (a.attended, names))
            .is_some()
        {
            return Err(invalid(Invalid {
                key: "joint_meetings.error.attendance_twice",
                item: Some(a.invitee_id.to_string()),
            }));
        }
    }
    let resolutions: Vec<Resolution> = input
        .resolutions
        .iter()
        .map(|r| Resolution {
            text: r.text.clone(),
            owner: r.owner_invitee_id,
            responsible: r.responsible.clone(),
            due_on: r.due_on,
        })
        .collect();
    let checked = rules::check_resolutions(&resolutions, &ids, rules::china_date(held_at))
        .map_err(invalid)?;

    for i in invitees {
        let (attended, names) = attendance.remove(&i.id).unwrap_or((false, None));
        let mut am: joint_meeting_invitee::ActiveModel = i.into();
        am.attended = Set(Some(attended));
        am.attendees = Set(names);
        joint_meeting_invitee::Entity::update(am).exec(db).await?;
    }
    if !checked.is_empty() {
        joint_meeting_action::Entity::insert_many(checked.iter().enumerate().map(|(n, r)| {
            joint_meeting_action::ActiveModel {
                meeting_id: Set(m.id),
                district_code: Set(m.district_code.clone()),
                street_id: Set(m.street_id),
                position: Set(n as i32 + 1),
                text: Set(r.text.clone()),
                owner_invitee_id: Set(r.owner),
                responsible: Set(r.responsible.clone()),
                due_on: Set(r.due_on),
                state: Set(ActionState::Open.as_str().into()),
                done_on: Set(None),
                done_note: Set(None),
                done_by: Set(None),
                overdue_notified_at: Set(None),
                created_at: Set(now),
                ..Default::default()
            }
        }))
        .exec(db)
        .await?;
    }
    // The meeting counts for the quarter it was actually held in.
    let quarter = Quarter::of(held_at);
    let code = m.district_code.clone();
    let mut am: joint_meeting::ActiveModel = m.into();
    am.state = Set(MeetingState::Held.as_str().into());
    am.held_at = Set(Some(held_at));
    am.year = Set(quarter.year);
    am.quarter = Set(i16::from(quarter.q));
    am.minutes = Set(Some(minutes));
    am.recorded_by = Set(Some(user.account_id));
    am.updated_at = Set(now);
    joint_meeting::Entity::update(am).exec(db).await?;
    audit::record(
        db,
        Entry::new(Some(user), "joint_meeting.held", "joint_meeting")
            .object(id)
            .district(Some(code))
            .detail(serde_json::json!({ "resolutions": checked.len() })),
    )
    .await?;
    Ok(())
}

/// Cancels a scheduled meeting with a reason.
pub async fn cancel(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
    reason: &str,
) -> Result<(), ApiError> {
    let (m, _, _) = managed_open(db, user, id).await?;
    let reason = rules::check_text(reason, 500, "joint_meetings.error.reason").map_err(invalid)?;
    let code = m.district_code.clone();
    let mut am: joint_meeting::ActiveModel = m.into();
    am.state = Set(MeetingState::Cancelled.as_str().into());
    am.cancel_reason = Set(Some(reason));
    am.recorded_by = Set(Some(user.account_id));
    am.updated_at = Set(Utc::now());
    joint_meeting::Entity::update(am).exec(db).await?;
    audit::record(
        db,
        Entry::new(Some(user), "joint_meeting.cancel", "joint_meeting")
            .object(id)
            .district(Some(code)),
    )
    .await?;
    Ok(())
}

/// Marks an open action item done with a note; returns its meeting.
pub async fn complete(
    db: &impl ConnectionTrait,
    user: &Principal,
    action_id: i64,
    input: &DoneInput,
) -> Result<i64, ApiError> {
    store::lock_action(db, action_id).await?;
    let Some(a) = joint_meeting_action::Entity::find_by_id(action_id)
        .one(db)
        .await?
    else {
        return Err(ApiError::not_found());
    };
    let (m, invitees, reach) = visible_meeting(db, user, a.meeting_id).await?;
    let owner = invitees.iter().find(|i| i.id == a.owner_invitee_id);
    if !reach.completes(owner) {
        return Err(ApiError::forbidden());
    }
    if a.state != ActionState::Open.as_str() {
        return Err(conflict("joint_meetings.error.already_done"));
    }
    let note =
        rules::check_text(&input.note, 1000, "joint_meetings.error.done_note").map_err(invalid)?;
    let held_on = rules::china_date(m.held_at.unwrap_or(m.scheduled_at));
    let done_on = rules::done_on(input.done_on, today(), held_on).map_err(invalid)?;
    let code = a.district_code.clone();
    let mut am: joint_meeting_action::ActiveModel = a.into();
    am.state = Set(ActionState::Done.as_str().into());
    am.done_on = Set(Some(done_on));
    am.done_note = Set(Some(note));
    am.done_by = Set(Some(user.account_id));
    joint_meeting_action::Entity::update(am).exec(db).await?;
    audit::record(
        db,
        Entry::new(
            Some(user),
            "joint_meeting.action_done",
            "joint_meeting_action",
        )
        .object(action_id)
        .district(Some(code))
        .detail(serde_json::json!({ "meeting_id": m.id })),
    )
    .await?;
    Ok(m.id)
}

// ---------------------------------------------------------------- compliance

/// Parses an optional quarter; the current one by default.
pub fn quarter_or_now(text: Option<&str>) -> Result<Quarter, ApiError> {
    match text.map(str::trim) {
        None | Some("") => Ok(Quarter::of(Utc::now())),
        Some(t) => t.parse().map_err(invalid),
    }
}

/// A district or street whose compliance the principal may read (its
/// admins): 404 outside the scope, 422 for other kinds, 403 inside
/// without the power.
pub async fn compliance_scope(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<place::Model, ApiError> {
    let p = match store::place(db, id).await? {
        Some(p) if jinlin_places::store::visible(user, &p) => p,
        _ => return Err(ApiError::not_found()),
    };
    let kind = PlaceKind::parse(&p.kind);
    if !matches!(
        kind,
        Some(PlaceKind::Street | PlaceKind::District | PlaceKind::City | PlaceKind::Province)
    ) {
        return Err(invalid_key("joint_meetings.error.scope"));
    }
    if !manages(user, &p) {
        return Err(ApiError::forbidden());
    }
    Ok(p)
}

/// Each street of the scope: this quarter's meeting state and its open
/// and overdue items; and the overdue items themselves.
pub async fn compliance(
    db: &impl ConnectionTrait,
    user: &Principal,
    scope: &place::Model,
    q: Quarter,
) -> Result<JointMeetingCompliance, ApiError> {
    let streets = store::streets_in(db, scope).await?;
    let ids: Vec<i64> = streets.iter().map(|s| s.id).collect();
    let mut states: HashMap<i64, Vec<&joint_meeting::Model>> = HashMap::new();
    let meetings = store::meetings_in_quarter(db, &ids, q).await?;
    for m in &meetings {
        states.entry(m.street_id).or_default().push(m);
    }
    let open = store::open_actions_of_streets(db, &ids).await?;
    let today = today();
    let mut counts: HashMap<i64, (u64, u64)> = HashMap::new();
    for a in &open {
        let e = counts.entry(a.street_id).or_default();
        e.0 += 1;
        e.1 += u64::from(rules::is_overdue(ActionState::Open, a.due_on, today));
    }
    let mut out = JointMeetingCompliance {
        place_id: scope.id,
        name: scope.name.clone(),
        quarter: q.to_string(),
        quarter_starts_on: q.first_day(),
        quarter_ends_on: q.last_day(),
        reminder_on: q.reminder_on(),
        held: 0,
        scheduled: 0,
        none: 0,
        streets: Vec::with_capacity(streets.len()),
        overdue: Vec::new(),
    };
    for s in &streets {
        let list = states.get(&s.id).map(Vec::as_slice).unwrap_or(&[]);
        let state = rules::compliance(list.iter().map(|m| state_of(m)));
        let meeting_id = match state {
            Compliance::Held => list.iter().find(|m| state_of(m) == MeetingState::Held),
            Compliance::Scheduled => list.iter().find(|m| state_of(m) == MeetingState::Scheduled),
            Compliance::None => None,
        }
        .map(|m| m.id);
        match state {
            Compliance::Held => out.held += 1,
            Compliance::Scheduled => out.scheduled += 1,
            Compliance::None => out.none += 1,
        }
        let (o, late) = counts.get(&s.id).copied().unwrap_or_default();
        out.streets.push(StreetCompliance {
            street_id: s.id,
            street_name: s.name.clone(),
            state,
            meeting_id,
            open_actions: o,
            overdue_actions: late,
        });
    }
    let overdue: Vec<&joint_meeting_action::Model> = open
        .iter()
        .filter(|a| rules::is_overdue(ActionState::Open, a.due_on, today))
        .collect();
    let owners = store::invitees_by_id(db, overdue.iter().map(|a| a.owner_invitee_id)).await?;
    let street_by_id: HashMap<i64, &place::Model> = streets.iter().map(|s| (s.id, s)).collect();
    out.overdue = overdue
        .iter()
        .map(|a| {
            let can = street_by_id
                .get(&a.street_id)
                .is_some_and(|s| manages(user, s));
            action_view(a, &owners, can, today)
        })
        .collect();
    Ok(out)
}

// ---------------------------------------------------------------- handlers

/// A street's meetings the reader may see, newest first: all for the
/// street's admins, the ones they were invited to for invited bodies.
#[utoipa::path(get, path = "/places/{street_id}/joint-meetings", tag = "joint_meetings",
    params(("street_id" = i64, Path, description = "Street (place) id")),
    responses((status = 200, body = Vec<JointMeetingSummary>), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_meetings(
    State(state): State<AppState>,
    user: User,
    Path(street_id): Path<i64>,
) -> Result<ApiJson<Vec<JointMeetingSummary>>, ApiError> {
    let (_, list) = street_meetings(state.db.conn(), &user, street_id).await?;
    Ok(ApiJson(list))
}

/// Schedules a joint meeting of the street (street admin, or district
/// admin above it). Invitees must be agencies of the district, or
/// communities and compound party organisations of the street.
#[utoipa::path(post, path = "/places/{street_id}/joint-meetings", tag = "joint_meetings",
    request_body = JointMeetingInput,
    params(("street_id" = i64, Path, description = "Street (place) id")),
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_meeting(
    State(state): State<AppState>,
    user: User,
    Path(street_id): Path<i64>,
    ApiJson(input): ApiJson<JointMeetingInput>,
) -> Result<(StatusCode, ApiJson<Created>), ApiError> {
    let tx = state.db.write().await?;
    let id = create(&tx, &user, street_id, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(Created { id })))
}

/// One meeting: invitees with attendance, minutes, action items.
#[utoipa::path(get, path = "/joint-meetings/{id}", tag = "joint_meetings",
    params(("id" = i64, Path, description = "Meeting id")),
    responses((status = 200, body = JointMeetingView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_meeting(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<JointMeetingView>, ApiError> {
    let db = state.db.conn();
    let (m, invitees, reach) = visible_meeting(db, &user, id).await?;
    Ok(ApiJson(meeting_view(db, &m, &invitees, &reach).await?))
}

/// Changes a scheduled meeting (its managers); a held or cancelled one is
/// refused (409). The invitees given replace the earlier ones.
#[utoipa::path(put, path = "/joint-meetings/{id}", tag = "joint_meetings",
    request_body = JointMeetingInput,
    params(("id" = i64, Path, description = "Meeting id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_meeting(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<JointMeetingInput>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    update(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Records the meeting as held, in one transaction: attendance, minutes
/// (required) and resolutions, each becoming an action item with an owner
/// (an invitee) and a due date. Any refused part stores nothing.
#[utoipa::path(post, path = "/joint-meetings/{id}/held", tag = "joint_meetings",
    request_body = HeldInput,
    params(("id" = i64, Path, description = "Meeting id")),
    responses((status = 200, body = JointMeetingView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn hold_meeting(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<HeldInput>,
) -> Result<ApiJson<JointMeetingView>, ApiError> {
    let tx = state.db.write().await?;
    record_held(&tx, &user, id, &input).await?;
    let (m, invitees, reach) = visible_meeting(&tx, &user, id).await?;
    let view = meeting_view(&tx, &m, &invitees, &reach).await?;
    tx.commit().await?;
    Ok(ApiJson(view))
}

/// Cancels a scheduled meeting with a reason (its managers).
#[utoipa::path(post, path = "/joint-meetings/{id}/cancel", tag = "joint_meetings",
    request_body = CancelInput,
    params(("id" = i64, Path, description = "Meeting id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn cancel_meeting(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<CancelInput>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    cancel(&tx, &user, id, &input.reason).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Marks an action item done with a note and a date: the street's admins,
/// or who answers for the owner body (the agency's admins, the
/// community's workers, the compound's party secretary).
#[utoipa::path(post, path = "/joint-meeting-actions/{id}/done", tag = "joint_meetings",
    request_body = DoneInput,
    params(("id" = i64, Path, description = "Action item id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn complete_action(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<DoneInput>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    complete(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Compliance of a district's streets (or one street) for a quarter: held,
/// scheduled or none, with open and overdue action items (admins of the
/// place).
#[utoipa::path(get, path = "/places/{id}/joint-meeting-compliance", tag = "joint_meetings",
    params(("id" = i64, Path, description = "District or street (place) id"), ComplianceQuery),
    responses((status = 200, body = JointMeetingCompliance), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get_compliance(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiQuery(query): ApiQuery<ComplianceQuery>,
) -> Result<ApiJson<JointMeetingCompliance>, ApiError> {
    let db = state.db.conn();
    let scope = compliance_scope(db, &user, id).await?;
    let q = quarter_or_now(query.quarter.as_deref())?;
    Ok(ApiJson(compliance(db, &user, &scope, q).await?))
}
