//! JSON API of volunteer teams and patrols.
//!
//! Scope: a team belongs to a compound or a community. Whoever sees that
//! place (residents of the compound included) and the team's members see
//! the team and its roster; community workers of the community, the
//! compound's party secretary and street and district admins above manage
//! it, and so does its leader (members, activities, shifts). Only the
//! signed-up member checks in and out of a shift and writes its log.

use std::collections::{HashMap, HashSet};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use jinlin_kernel::ApiError;
use jinlin_kernel::audit::{self, Entry};
use jinlin_kernel::auth::entity::account;
use jinlin_kernel::auth::{Access, Principal, User};
use jinlin_kernel::error::ErrorBody;
use jinlin_kernel::i18n;
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::place::entity as place;
use jinlin_kernel::web::{ApiJson, AppState};
use jinlin_people::entity::person;
use jinlin_resident_matters::matters::{self, NewMatter};
use jinlin_resident_matters::rules::Urgency;
use sea_orm::ActiveValue::Set;
use sea_orm::{ConnectionTrait, EntityTrait};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::entity::{
    patrol_log, patrol_shift, patrol_signup, volunteer_activity, volunteer_activity_credit,
    volunteer_member, volunteer_team,
};
use crate::rules::{self, Invalid, TeamKind};
use crate::store;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_teams, create_team))
        .routes(routes!(get_team))
        .routes(routes!(add_member))
        .routes(routes!(remove_member))
        .routes(routes!(record_activity))
        .routes(routes!(create_shift))
        .routes(routes!(get_shift))
        .routes(routes!(sign_up))
        .routes(routes!(check_in))
        .routes(routes!(check_out))
        .routes(routes!(write_log))
        .routes(routes!(mine))
        .routes(routes!(figures))
}

// ---------------------------------------------------------------- errors

pub fn invalid(e: Invalid) -> ApiError {
    ApiError::invalid(i18n::current().t(e.key))
}

fn invalid_key(key: &'static str) -> ApiError {
    invalid(Invalid { key })
}

fn conflict(key: &str) -> ApiError {
    ApiError::with_message(StatusCode::CONFLICT, "conflict", i18n::current().t(key))
}

fn forbidden(key: &str) -> ApiError {
    ApiError::with_message(StatusCode::FORBIDDEN, "forbidden", i18n::current().t(key))
}

// ---------------------------------------------------------------- scope

/// A team as one reader meets it.
pub struct TeamAccess {
    pub team: volunteer_team::Model,
    pub place: place::Model,
    /// The reader's active membership.
    pub member: Option<volunteer_member::Model>,
    pub official: bool,
    /// Officials and the leader.
    pub manages: bool,
}

/// A team the user may see (404 otherwise).
pub async fn team_access(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<TeamAccess, ApiError> {
    let team = volunteer_team::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let place = jinlin_places::store::find(db, team.place_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let member = store::membership(db, team.id, user.account_id).await?;
    if member.is_none() && !user.sees(&place.position()) {
        return Err(ApiError::not_found());
    }
    let official = user.is_official_at(&place.position());
    let manages = official || team.leader_account_id == Some(user.account_id);
    Ok(TeamAccess {
        team,
        place,
        member,
        official,
        manages,
    })
}

/// A shift with its team as the user meets it (404 outside).
pub async fn shift_access(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<(patrol_shift::Model, TeamAccess), ApiError> {
    let shift = patrol_shift::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let access = team_access(db, user, shift.team_id).await?;
    Ok((shift, access))
}

// ---------------------------------------------------------------- shapes

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = VolunteerCreated)]
pub struct Created {
    pub id: i64,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTeam {
    /// A compound or community.
    pub place_id: i64,
    pub name: String,
    pub kind: TeamKind,
    /// The leader's account; joins the team as its first member.
    pub leader_account_id: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(as = NewVolunteerMember)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    /// The member's account; the party-member flag follows its person.
    pub account_id: Option<i64>,
    /// Required without an account.
    pub name: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credit {
    pub member_id: i64,
    /// 1 to 1440.
    pub minutes: i64,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(as = NewVolunteerActivity)]
#[serde(deny_unknown_fields)]
pub struct NewActivity {
    pub held_on: NaiveDate,
    pub title: String,
    pub credits: Vec<Credit>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(as = NewPatrolShift)]
#[serde(deny_unknown_fields)]
pub struct NewShift {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub route: String,
    pub slots: i64,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RaiseIncident {
    /// A category of residents' matters; `safety_hazard` when left out.
    pub category: Option<String>,
    pub title: String,
    /// The compound, building, entrance or dwelling concerned; the team's
    /// compound when left out.
    pub place_id: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(as = NewPatrolLog)]
#[serde(deny_unknown_fields)]
pub struct NewLog {
    pub body: String,
    #[serde(default)]
    pub incident: bool,
    /// Raises the incident as a residents' matter in the same step.
    pub raise: Option<RaiseIncident>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LogCreated {
    pub id: i64,
    pub matter_id: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamSummary {
    pub id: i64,
    pub name: String,
    pub kind: TeamKind,
    pub place_id: i64,
    pub place_name: String,
    pub members: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    pub id: i64,
    pub name: String,
    pub account_id: Option<i64>,
    pub party_member: bool,
    pub joined_on: NaiveDate,
    /// Credited minutes (activities and patrols); shown to managers and
    /// to the member themself.
    pub minutes: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityView {
    pub id: i64,
    pub held_on: NaiveDate,
    pub title: String,
    pub members: u64,
    pub minutes: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignupView {
    pub member_id: i64,
    pub name: String,
    pub signed_at: DateTime<Utc>,
    pub checked_in_at: Option<DateTime<Utc>>,
    pub checked_out_at: Option<DateTime<Utc>>,
    pub minutes: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShiftView {
    pub id: i64,
    pub team_id: i64,
    pub team_name: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub route: String,
    pub slots: i64,
    pub signed_up: u64,
    /// The reader's own sign-up.
    pub mine: Option<SignupView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamView {
    #[serde(flatten)]
    pub team: TeamSummary,
    pub leader_account_id: Option<i64>,
    pub leader_name: Option<String>,
    pub members: Vec<MemberView>,
    pub activities: Vec<ActivityView>,
    /// Patrol teams: their shifts, soonest first.
    pub shifts: Vec<ShiftView>,
    pub can_manage: bool,
    pub my_member_id: Option<i64>,
    /// All credited minutes of the team (managers only).
    pub team_minutes: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LogView {
    pub id: i64,
    pub member_id: i64,
    pub name: String,
    pub at: DateTime<Utc>,
    pub body: String,
    pub incident: bool,
    pub matter_id: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShiftDetail {
    #[serde(flatten)]
    pub shift: ShiftView,
    pub roster: Vec<SignupView>,
    pub logs: Vec<LogView>,
    pub can_manage: bool,
    /// The reader is a member who may still sign up.
    pub can_sign_up: bool,
    /// The check-in window is open now.
    pub check_in_open: bool,
    /// The team's compound, where incidents are raised by default.
    pub compound_id: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MyVolunteering {
    pub teams: Vec<TeamSummary>,
    /// The reader's sign-ups that have not ended, soonest first.
    pub next_shifts: Vec<ShiftView>,
    /// The reader's credited minutes across teams.
    pub minutes: i64,
}

#[derive(Debug, Default, Serialize, ToSchema)]
#[schema(as = VolunteerFigure)]
pub struct Figure {
    pub place_id: i64,
    pub name: String,
    pub teams: u64,
    pub patrol_teams: u64,
    pub members: u64,
    pub party_members: u64,
    pub activities: u64,
    /// Credited minutes, activities and patrols.
    pub minutes: i64,
    pub shifts: u64,
    /// Shifts whose every place is taken.
    pub shifts_covered: u64,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = VolunteerFigures)]
pub struct Figures {
    #[serde(flatten)]
    pub place: Figure,
    /// The place's streets, communities or compounds.
    pub children: Vec<Figure>,
}

// ---------------------------------------------------------------- teams

async fn place_names(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = i64>,
) -> Result<HashMap<i64, String>, ApiError> {
    let ids: Vec<i64> = ids
        .into_iter()
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    use sea_orm::{ColumnTrait, QueryFilter};
    Ok(place::Entity::find()
        .filter(place::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect())
}

pub async fn summaries(
    db: &impl ConnectionTrait,
    teams: Vec<volunteer_team::Model>,
) -> Result<Vec<TeamSummary>, ApiError> {
    let names = place_names(db, teams.iter().map(|t| t.place_id)).await?;
    let mut counts: HashMap<i64, u64> = HashMap::new();
    if !teams.is_empty() {
        use sea_orm::{ColumnTrait, QueryFilter, QuerySelect};
        let rows: Vec<i64> = volunteer_member::Entity::find()
            .select_only()
            .column(volunteer_member::Column::TeamId)
            .filter(volunteer_member::Column::TeamId.is_in(teams.iter().map(|t| t.id)))
            .filter(volunteer_member::Column::LeftOn.is_null())
            .into_tuple()
            .all(db)
            .await?;
        for t in rows {
            *counts.entry(t).or_default() += 1;
        }
    }
    Ok(teams
        .into_iter()
        .map(|t| TeamSummary {
            id: t.id,
            members: counts.get(&t.id).copied().unwrap_or(0),
            place_name: names.get(&t.place_id).cloned().unwrap_or_default(),
            name: t.name,
            kind: TeamKind::parse(&t.kind).unwrap_or(TeamKind::Other),
            place_id: t.place_id,
        })
        .collect())
}

/// Teams the user sees: those of places in scope, and their own.
pub async fn visible_teams(
    db: &impl ConnectionTrait,
    user: &Principal,
) -> Result<Vec<volunteer_team::Model>, ApiError> {
    let codes: Option<Vec<String>> = user
        .grants
        .iter()
        .map(|g| g.place.district_code.clone())
        .collect();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    if !user.grants.is_empty() {
        let teams = store::teams_in(db, codes.as_deref()).await?;
        let ids: Vec<i64> = teams.iter().map(|t| t.place_id).collect();
        let places = store::places(db, &ids).await?;
        for t in teams {
            if places
                .get(&t.place_id)
                .is_some_and(|p| user.sees(&p.position()))
            {
                seen.insert(t.id);
                out.push(t);
            }
        }
    }
    let own: Vec<i64> = store::memberships_of(db, user.account_id)
        .await?
        .into_iter()
        .map(|m| m.team_id)
        .filter(|id| !seen.contains(id))
        .collect();
    out.extend(store::teams(db, &own).await?);
    out.sort_by_key(|t| t.id);
    Ok(out)
}

/// Teams the reader may see.
#[utoipa::path(get, path = "/volunteer-teams", tag = "volunteers",
    responses((status = 200, body = Vec<TeamSummary>), (status = 401, body = ErrorBody)))]
async fn list_teams(
    State(state): State<AppState>,
    user: User,
) -> Result<ApiJson<Vec<TeamSummary>>, ApiError> {
    let db = state.db.conn();
    let teams = visible_teams(db, &user).await?;
    Ok(ApiJson(summaries(db, teams).await?))
}

async fn account_member(
    db: &impl ConnectionTrait,
    account_id: i64,
) -> Result<(account::Model, bool), ApiError> {
    let a = account::Entity::find_by_id(account_id)
        .one(db)
        .await?
        .ok_or_else(|| invalid_key("volunteers.error.unknown_account"))?;
    let party = match a.person_id {
        Some(p) => person::Entity::find_by_id(p)
            .one(db)
            .await?
            .is_some_and(|p| p.party_member),
        None => false,
    };
    Ok((a, party))
}

async fn insert_member(
    db: &impl ConnectionTrait,
    team: &volunteer_team::Model,
    account_id: Option<i64>,
    name: Option<&str>,
    today: NaiveDate,
) -> Result<i64, ApiError> {
    let (name, person_id, party) = match account_id {
        Some(id) => {
            if store::membership(db, team.id, id).await?.is_some() {
                return Err(conflict("volunteers.error.already_member"));
            }
            let (a, party) = account_member(db, id).await?;
            let name = match name.map(str::trim) {
                Some(n) if !n.is_empty() => rules::check_text(n, 64).map_err(invalid)?,
                _ => a.display_name.clone(),
            };
            (name, a.person_id, party)
        }
        None => {
            let n = rules::check_text(name.unwrap_or(""), 64).map_err(invalid)?;
            (n, None, false)
        }
    };
    Ok(
        volunteer_member::Entity::insert(volunteer_member::ActiveModel {
            team_id: Set(team.id),
            district_code: Set(team.district_code.clone()),
            account_id: Set(account_id),
            person_id: Set(person_id),
            name: Set(name),
            party_member: Set(party),
            joined_on: Set(today),
            left_on: Set(None),
            ..Default::default()
        })
        .exec(db)
        .await?
        .last_insert_id,
    )
}

pub async fn create(
    db: &impl ConnectionTrait,
    user: &Principal,
    input: &NewTeam,
) -> Result<i64, ApiError> {
    let p = match jinlin_places::store::find(db, input.place_id).await? {
        Some(p) if jinlin_places::store::visible(user, &p) => p,
        _ => return Err(ApiError::not_found()),
    };
    if p.kind != PlaceKind::Compound.as_str() && p.kind != PlaceKind::Community.as_str() {
        return Err(invalid_key("volunteers.error.place_kind"));
    }
    if !user.is_official_at(&p.position()) {
        return Err(ApiError::forbidden());
    }
    let name = rules::check_text(&input.name, 128).map_err(invalid)?;
    if let Some(l) = input.leader_account_id {
        account_member(db, l).await?;
    }
    let now = Utc::now();
    let code = p
        .district_code
        .clone()
        .ok_or_else(|| invalid_key("volunteers.error.place_kind"))?;
    let team = volunteer_team::ActiveModel {
        district_code: Set(code.clone()),
        street_id: Set(p.street_id),
        community_id: Set(if p.kind == PlaceKind::Community.as_str() {
            Some(p.id)
        } else {
            p.community_id
        }),
        compound_id: Set((p.kind == PlaceKind::Compound.as_str()).then_some(p.id)),
        place_id: Set(p.id),
        name: Set(name),
        kind: Set(input.kind.as_str().into()),
        leader_account_id: Set(input.leader_account_id),
        created_by: Set(Some(user.account_id)),
        created_at: Set(now),
        ..Default::default()
    };
    let id = volunteer_team::Entity::insert(team)
        .exec(db)
        .await?
        .last_insert_id;
    let team = volunteer_team::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if let Some(l) = input.leader_account_id {
        insert_member(db, &team, Some(l), None, now.date_naive()).await?;
    }
    audit::record(
        db,
        Entry::new(Some(user), "volunteer_team.create", "volunteer_team")
            .object(id)
            .district(Some(code)),
    )
    .await?;
    Ok(id)
}

/// Forms a team at a compound or community (its officials).
#[utoipa::path(post, path = "/volunteer-teams", tag = "volunteers", request_body = NewTeam,
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_team(
    State(state): State<AppState>,
    user: User,
    ApiJson(input): ApiJson<NewTeam>,
) -> Result<(StatusCode, ApiJson<Created>), ApiError> {
    let tx = state.db.write().await?;
    let id = create(&tx, &user, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(Created { id })))
}

fn signup_view(s: &patrol_signup::Model, names: &HashMap<i64, String>) -> SignupView {
    SignupView {
        member_id: s.member_id,
        name: names.get(&s.member_id).cloned().unwrap_or_default(),
        signed_at: s.signed_at,
        checked_in_at: s.checked_in_at,
        checked_out_at: s.checked_out_at,
        minutes: s.minutes as i64,
    }
}

/// Views of shifts with their counts and the reader's own sign-up.
pub async fn shift_views(
    db: &impl ConnectionTrait,
    shifts: Vec<patrol_shift::Model>,
    team_names: &HashMap<i64, String>,
    my_members: &HashSet<i64>,
) -> Result<Vec<ShiftView>, ApiError> {
    let ids: Vec<i64> = shifts.iter().map(|s| s.id).collect();
    let signups = store::signups(db, &ids).await?;
    let mut counts: HashMap<i64, u64> = HashMap::new();
    let mut mine: HashMap<i64, &patrol_signup::Model> = HashMap::new();
    for s in &signups {
        *counts.entry(s.shift_id).or_default() += 1;
        if my_members.contains(&s.member_id) {
            mine.insert(s.shift_id, s);
        }
    }
    let names = HashMap::new();
    Ok(shifts
        .into_iter()
        .map(|s| ShiftView {
            id: s.id,
            team_id: s.team_id,
            team_name: team_names.get(&s.team_id).cloned().unwrap_or_default(),
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            slots: s.slots as i64,
            signed_up: counts.get(&s.id).copied().unwrap_or(0),
            mine: mine.get(&s.id).map(|m| signup_view(m, &names)),
            route: s.route,
        })
        .collect())
}

pub async fn team_view(db: &impl ConnectionTrait, a: &TeamAccess) -> Result<TeamView, ApiError> {
    let t = &a.team;
    let members = store::members(db, t.id).await?;
    let member_ids: Vec<i64> = members.iter().map(|m| m.id).collect();
    let minutes = store::minutes_of_members(db, &member_ids).await?;
    let my_id = a.member.as_ref().map(|m| m.id);
    let leader_name = members
        .iter()
        .find(|m| m.account_id.is_some() && m.account_id == t.leader_account_id)
        .map(|m| m.name.clone());
    let members_view: Vec<MemberView> = members
        .iter()
        .map(|m| MemberView {
            id: m.id,
            name: m.name.clone(),
            account_id: m.account_id,
            party_member: m.party_member,
            joined_on: m.joined_on,
            minutes: (a.manages || Some(m.id) == my_id)
                .then(|| minutes.get(&m.id).copied().unwrap_or(0)),
        })
        .collect();
    let activities = store::activities(db, &[t.id]).await?;
    let credits =
        store::credits_of_activities(db, &activities.iter().map(|x| x.id).collect::<Vec<_>>())
            .await?;
    let mut per: HashMap<i64, (u64, i64)> = HashMap::new();
    for c in &credits {
        let e = per.entry(c.activity_id).or_default();
        e.0 += 1;
        e.1 += c.minutes as i64;
    }
    let activities = activities
        .into_iter()
        .map(|x| {
            let (n, min) = per.get(&x.id).copied().unwrap_or_default();
            ActivityView {
                id: x.id,
                held_on: x.held_on,
                title: x.title,
                members: n,
                minutes: min,
            }
        })
        .collect();
    let shifts = if t.kind == TeamKind::Patrol.as_str() {
        let names = HashMap::from([(t.id, t.name.clone())]);
        let mine: HashSet<i64> = my_id.into_iter().collect();
        shift_views(db, store::shifts(db, &[t.id]).await?, &names, &mine).await?
    } else {
        Vec::new()
    };
    let team_minutes = a.manages.then(|| minutes.values().sum());
    let summary = summaries(db, vec![t.clone()])
        .await?
        .pop()
        .ok_or_else(ApiError::not_found)?;
    Ok(TeamView {
        team: summary,
        leader_account_id: t.leader_account_id,
        leader_name,
        members: members_view,
        activities,
        shifts,
        can_manage: a.manages,
        my_member_id: my_id,
        team_minutes,
    })
}

/// One team: members, activities and, for patrols, the roster of shifts.
#[utoipa::path(get, path = "/volunteer-teams/{id}", tag = "volunteers",
    params(("id" = i64, Path, description = "Team id")),
    responses((status = 200, body = TeamView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_team(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<TeamView>, ApiError> {
    let db = state.db.conn();
    let a = team_access(db, &user, id).await?;
    Ok(ApiJson(team_view(db, &a).await?))
}

pub async fn add(
    db: &impl ConnectionTrait,
    user: &Principal,
    team_id: i64,
    input: &NewMember,
) -> Result<i64, ApiError> {
    let a = team_access(db, user, team_id).await?;
    if !a.manages {
        return Err(ApiError::forbidden());
    }
    let id = insert_member(
        db,
        &a.team,
        input.account_id,
        input.name.as_deref(),
        Utc::now().date_naive(),
    )
    .await?;
    audit::record(
        db,
        Entry::new(Some(user), "volunteer_member.add", "volunteer_member")
            .object(id)
            .district(Some(a.team.district_code.clone())),
    )
    .await?;
    Ok(id)
}

/// Adds a member (the leader or an official).
#[utoipa::path(post, path = "/volunteer-teams/{id}/members", tag = "volunteers", request_body = NewMember,
    params(("id" = i64, Path, description = "Team id")),
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_member(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<NewMember>,
) -> Result<(StatusCode, ApiJson<Created>), ApiError> {
    let tx = state.db.write().await?;
    let id = add(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(Created { id })))
}

/// Marks a member as having left; their hours stay (the leader or an
/// official).
#[utoipa::path(delete, path = "/volunteer-members/{id}", tag = "volunteers",
    params(("id" = i64, Path, description = "Member id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn remove_member(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    let m = volunteer_member::Entity::find_by_id(id)
        .one(&tx)
        .await?
        .filter(|m| m.left_on.is_none())
        .ok_or_else(ApiError::not_found)?;
    let a = team_access(&tx, &user, m.team_id).await?;
    if !a.manages {
        return Err(ApiError::forbidden());
    }
    let code = m.district_code.clone();
    let mut am: volunteer_member::ActiveModel = m.into();
    am.left_on = Set(Some(Utc::now().date_naive()));
    volunteer_member::Entity::update(am).exec(&tx).await?;
    audit::record(
        &tx,
        Entry::new(Some(&user), "volunteer_member.leave", "volunteer_member")
            .object(id)
            .district(Some(code)),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn activity(
    db: &impl ConnectionTrait,
    user: &Principal,
    team_id: i64,
    input: &NewActivity,
) -> Result<i64, ApiError> {
    let a = team_access(db, user, team_id).await?;
    if !a.manages {
        return Err(ApiError::forbidden());
    }
    let title = rules::check_text(&input.title, 128).map_err(invalid)?;
    let pairs: Vec<(i64, i64)> = input
        .credits
        .iter()
        .map(|c| (c.member_id, c.minutes))
        .collect();
    let credits = rules::check_credits(&pairs).map_err(invalid)?;
    let members: HashSet<i64> = store::members(db, team_id)
        .await?
        .into_iter()
        .map(|m| m.id)
        .collect();
    if credits.iter().any(|(m, _)| !members.contains(m)) {
        return Err(invalid_key("volunteers.error.not_a_member"));
    }
    // Days are China's: an activity held this morning is not in the future
    // while UTC still shows yesterday.
    let china = jinlin_kernel::time::china();
    if input.held_on > Utc::now().with_timezone(&china).date_naive() {
        return Err(invalid_key("volunteers.error.future_activity"));
    }
    let code = a.team.district_code.clone();
    let id = volunteer_activity::Entity::insert(volunteer_activity::ActiveModel {
        team_id: Set(team_id),
        district_code: Set(code.clone()),
        held_on: Set(input.held_on),
        title: Set(title),
        recorded_by: Set(Some(user.account_id)),
        created_at: Set(Utc::now()),
        minutes: Set(credits.iter().map(|&(_, min)| min).sum()),
        ..Default::default()
    })
    .exec(db)
    .await?
    .last_insert_id;
    volunteer_activity_credit::Entity::insert_many(credits.iter().map(|&(m, min)| {
        volunteer_activity_credit::ActiveModel {
            activity_id: Set(id),
            member_id: Set(m),
            district_code: Set(code.clone()),
            minutes: Set(min),
            ..Default::default()
        }
    }))
    .exec(db)
    .await?;
    audit::record(
        db,
        Entry::new(
            Some(user),
            "volunteer_activity.record",
            "volunteer_activity",
        )
        .object(id)
        .district(Some(code)),
    )
    .await?;
    Ok(id)
}

/// Records an activity with each member's credited minutes (the leader or
/// an official).
#[utoipa::path(post, path = "/volunteer-teams/{id}/activities", tag = "volunteers", request_body = NewActivity,
    params(("id" = i64, Path, description = "Team id")),
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn record_activity(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<NewActivity>,
) -> Result<(StatusCode, ApiJson<Created>), ApiError> {
    let tx = state.db.write().await?;
    let id = activity(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(Created { id })))
}

// ---------------------------------------------------------------- patrols

pub async fn shift(
    db: &impl ConnectionTrait,
    user: &Principal,
    team_id: i64,
    input: &NewShift,
) -> Result<i64, ApiError> {
    let a = team_access(db, user, team_id).await?;
    if !a.manages {
        return Err(ApiError::forbidden());
    }
    if a.team.kind != TeamKind::Patrol.as_str() {
        return Err(invalid_key("volunteers.error.not_patrol"));
    }
    let slots = rules::check_shift(input.starts_at, input.ends_at, input.slots).map_err(invalid)?;
    let route = rules::check_text(&input.route, 500).map_err(invalid)?;
    let code = a.team.district_code.clone();
    let id = patrol_shift::Entity::insert(patrol_shift::ActiveModel {
        team_id: Set(team_id),
        district_code: Set(code.clone()),
        starts_at: Set(input.starts_at),
        ends_at: Set(input.ends_at),
        route: Set(route),
        slots: Set(slots),
        created_by: Set(Some(user.account_id)),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(db)
    .await?
    .last_insert_id;
    audit::record(
        db,
        Entry::new(Some(user), "patrol_shift.create", "patrol_shift")
            .object(id)
            .district(Some(code)),
    )
    .await?;
    Ok(id)
}

/// Puts a shift on a patrol team's roster (the leader or an official).
#[utoipa::path(post, path = "/volunteer-teams/{id}/shifts", tag = "volunteers", request_body = NewShift,
    params(("id" = i64, Path, description = "Team id")),
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_shift(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<NewShift>,
) -> Result<(StatusCode, ApiJson<Created>), ApiError> {
    let tx = state.db.write().await?;
    let id = shift(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(Created { id })))
}

pub async fn shift_detail(
    db: &impl ConnectionTrait,
    s: patrol_shift::Model,
    a: &TeamAccess,
    now: DateTime<Utc>,
) -> Result<ShiftDetail, ApiError> {
    let members = store::members(db, a.team.id).await?;
    let mut names: HashMap<i64, String> = members.iter().map(|m| (m.id, m.name.clone())).collect();
    let signups = store::signups(db, &[s.id]).await?;
    // Members who left keep their place in the roster by name.
    let missing: Vec<i64> = signups
        .iter()
        .map(|x| x.member_id)
        .filter(|m| !names.contains_key(m))
        .collect();
    if !missing.is_empty() {
        use sea_orm::{ColumnTrait, QueryFilter};
        for m in volunteer_member::Entity::find()
            .filter(volunteer_member::Column::Id.is_in(missing))
            .all(db)
            .await?
        {
            names.insert(m.id, m.name);
        }
    }
    let logs = store::logs(db, s.id)
        .await?
        .into_iter()
        .map(|l| LogView {
            id: l.id,
            member_id: l.member_id,
            name: names.get(&l.member_id).cloned().unwrap_or_default(),
            at: l.at,
            body: l.body,
            incident: l.incident,
            matter_id: l.matter_id,
        })
        .collect();
    let my_id = a.member.as_ref().map(|m| m.id);
    let roster: Vec<SignupView> = signups.iter().map(|x| signup_view(x, &names)).collect();
    let mine = signups
        .iter()
        .find(|x| Some(x.member_id) == my_id)
        .map(|x| signup_view(x, &names));
    let can_sign_up = my_id.is_some()
        && mine.is_none()
        && rules::signup_open(s.ends_at, now, signups.len() as u64, s.slots).is_ok();
    Ok(ShiftDetail {
        shift: ShiftView {
            id: s.id,
            team_id: s.team_id,
            team_name: a.team.name.clone(),
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            route: s.route.clone(),
            slots: s.slots as i64,
            signed_up: signups.len() as u64,
            mine,
        },
        roster,
        logs,
        can_manage: a.manages,
        can_sign_up,
        check_in_open: rules::check_in_open(s.starts_at, s.ends_at, now),
        compound_id: a.team.compound_id,
    })
}

/// One shift: its roster, the reader's sign-up and its log.
#[utoipa::path(get, path = "/patrol-shifts/{id}", tag = "volunteers",
    params(("id" = i64, Path, description = "Shift id")),
    responses((status = 200, body = ShiftDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_shift(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<ShiftDetail>, ApiError> {
    let db = state.db.conn();
    let (s, a) = shift_access(db, &user, id).await?;
    Ok(ApiJson(shift_detail(db, s, &a, Utc::now()).await?))
}

/// Signs the user up for a shift; an existing sign-up is returned as it is.
/// Returns whether a new row was made.
pub async fn signup(
    tx: &impl ConnectionTrait,
    user: &Principal,
    shift_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    let (s, a) = shift_access(tx, user, shift_id).await?;
    let Some(me) = a.member else {
        return Err(forbidden("volunteers.error.not_member"));
    };
    store::lock_shift(tx, s.id).await?;
    if store::signup(tx, s.id, me.id).await?.is_some() {
        return Ok(false);
    }
    let taken = store::signup_count(tx, s.id).await?;
    match rules::signup_open(s.ends_at, now, taken, s.slots) {
        Ok(()) => {}
        Err(e) if e.key == "volunteers.error.shift_full" => return Err(conflict(e.key)),
        Err(e) => return Err(invalid(e)),
    }
    patrol_signup::Entity::insert(patrol_signup::ActiveModel {
        shift_id: Set(s.id),
        member_id: Set(me.id),
        district_code: Set(s.district_code.clone()),
        signed_at: Set(now),
        checked_in_at: Set(None),
        checked_out_at: Set(None),
        minutes: Set(0),
        ..Default::default()
    })
    .exec(tx)
    .await?;
    let mut am: patrol_shift::ActiveModel = s.into();
    am.signed_up = Set(taken as i32 + 1);
    patrol_shift::Entity::update(am).exec(tx).await?;
    Ok(true)
}

/// Signs the reader up for a shift (a member of the team); 409 when every
/// place is taken, 200 when already signed up.
#[utoipa::path(post, path = "/patrol-shifts/{id}/signup", tag = "volunteers",
    params(("id" = i64, Path, description = "Shift id")),
    responses((status = 200, body = ShiftDetail), (status = 201, body = ShiftDetail), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn sign_up(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<(StatusCode, ApiJson<ShiftDetail>), ApiError> {
    let now = Utc::now();
    let tx = state.db.write().await?;
    let made = signup(&tx, &user, id, now).await?;
    let (s, a) = shift_access(&tx, &user, id).await?;
    let view = shift_detail(&tx, s, &a, now).await?;
    tx.commit().await?;
    let status = if made {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, ApiJson(view)))
}

/// The reader's own sign-up of a shift: 403 with a message when the reader
/// did not sign up for it.
async fn own_signup(
    tx: &impl ConnectionTrait,
    user: &Principal,
    shift_id: i64,
) -> Result<(patrol_shift::Model, TeamAccess, patrol_signup::Model), ApiError> {
    let (s, a) = shift_access(tx, user, shift_id).await?;
    let mine = match &a.member {
        Some(me) => store::signup(tx, s.id, me.id).await?,
        None => None,
    };
    let Some(mine) = mine else {
        return Err(forbidden("volunteers.error.not_your_shift"));
    };
    Ok((s, a, mine))
}

/// Checks the user in; a second check-in changes nothing.
pub async fn check_in_at(
    tx: &impl ConnectionTrait,
    user: &Principal,
    shift_id: i64,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let (s, _, mine) = own_signup(tx, user, shift_id).await?;
    if mine.checked_in_at.is_some() {
        return Ok(());
    }
    if !rules::check_in_open(s.starts_at, s.ends_at, now) {
        return Err(invalid_key("volunteers.error.check_in_window"));
    }
    let mut am: patrol_signup::ActiveModel = mine.into();
    am.checked_in_at = Set(Some(now));
    patrol_signup::Entity::update(am).exec(tx).await?;
    Ok(())
}

/// Checks the user out and credits the minutes patrolled within the shift;
/// a second check-out changes nothing.
pub async fn check_out_at(
    tx: &impl ConnectionTrait,
    user: &Principal,
    shift_id: i64,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let (s, _, mine) = own_signup(tx, user, shift_id).await?;
    // Under the shift's lock the sign-up is read again, so a double tap
    // credits the shift's minutes once.
    store::lock_shift(tx, s.id).await?;
    let Some(mine) = store::signup(tx, s.id, mine.member_id).await? else {
        return Err(forbidden("volunteers.error.not_your_shift"));
    };
    if mine.checked_out_at.is_some() {
        return Ok(());
    }
    let Some(inn) = mine.checked_in_at else {
        return Err(invalid_key("volunteers.error.not_checked_in"));
    };
    let minutes = rules::patrolled_minutes(s.starts_at, s.ends_at, inn, now);
    let mut am: patrol_signup::ActiveModel = mine.into();
    am.checked_out_at = Set(Some(now));
    am.minutes = Set(minutes);
    patrol_signup::Entity::update(am).exec(tx).await?;
    {
        use sea_orm::sea_query::{Expr, ExprTrait};
        use sea_orm::{ColumnTrait, QueryFilter};
        patrol_shift::Entity::update_many()
            .col_expr(
                patrol_shift::Column::Minutes,
                Expr::col(patrol_shift::Column::Minutes).add(minutes),
            )
            .filter(patrol_shift::Column::Id.eq(s.id))
            .exec(tx)
            .await?;
    }
    Ok(())
}

/// Checks the reader in to a shift they signed up for, from half an hour
/// before it starts to its end.
#[utoipa::path(post, path = "/patrol-shifts/{id}/check-in", tag = "volunteers",
    params(("id" = i64, Path, description = "Shift id")),
    responses((status = 200, body = ShiftDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn check_in(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<ShiftDetail>, ApiError> {
    let now = Utc::now();
    let tx = state.db.write().await?;
    check_in_at(&tx, &user, id, now).await?;
    let (s, a) = shift_access(&tx, &user, id).await?;
    let view = shift_detail(&tx, s, &a, now).await?;
    tx.commit().await?;
    Ok(ApiJson(view))
}

/// Checks the reader out of a shift after checking in; the minutes within
/// the shift are credited.
#[utoipa::path(post, path = "/patrol-shifts/{id}/check-out", tag = "volunteers",
    params(("id" = i64, Path, description = "Shift id")),
    responses((status = 200, body = ShiftDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn check_out(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<ShiftDetail>, ApiError> {
    let now = Utc::now();
    let tx = state.db.write().await?;
    check_out_at(&tx, &user, id, now).await?;
    let (s, a) = shift_access(&tx, &user, id).await?;
    let view = shift_detail(&tx, s, &a, now).await?;
    tx.commit().await?;
    Ok(ApiJson(view))
}

/// Writes a log entry of a shift, raising its incident as a residents'
/// matter in the same transaction when asked.
pub async fn log(
    tx: &impl ConnectionTrait,
    user: &Principal,
    shift_id: i64,
    input: &NewLog,
    now: DateTime<Utc>,
) -> Result<LogCreated, ApiError> {
    let (s, a, mine) = own_signup(tx, user, shift_id).await?;
    let body = rules::check_text(&input.body, 2000).map_err(invalid)?;
    let incident = input.incident || input.raise.is_some();
    let id = patrol_log::Entity::insert(patrol_log::ActiveModel {
        shift_id: Set(s.id),
        member_id: Set(mine.member_id),
        district_code: Set(s.district_code.clone()),
        at: Set(now),
        body: Set(body.clone()),
        incident: Set(incident),
        matter_id: Set(None),
        ..Default::default()
    })
    .exec(tx)
    .await?
    .last_insert_id;
    let mut matter_id = None;
    if let Some(r) = &input.raise {
        let place_id = r
            .place_id
            .or(a.team.compound_id)
            .ok_or_else(|| invalid_key("volunteers.error.incident_place"))?;
        let m = matters::raise(
            tx,
            user,
            &NewMatter {
                category: r.category.clone().unwrap_or_else(|| "safety_hazard".into()),
                urgency: Urgency::Normal,
                title: r.title.clone(),
                description: body,
                place_id,
                address: None,
                latitude_e6: None,
                longitude_e6: None,
                public: false,
            },
            now,
        )
        .await?;
        patrol_log::Entity::update(patrol_log::ActiveModel {
            id: Set(id),
            matter_id: Set(Some(m.id)),
            ..Default::default()
        })
        .exec(tx)
        .await?;
        matter_id = Some(m.id);
    }
    audit::record(
        tx,
        Entry::new(Some(user), "patrol_log.write", "patrol_log")
            .object(id)
            .district(Some(s.district_code.clone())),
    )
    .await?;
    Ok(LogCreated { id, matter_id })
}

/// Writes a patrol log entry (the signed-up member); an incident may be
/// raised as a residents' matter in the same step, the entry keeping its id.
#[utoipa::path(post, path = "/patrol-shifts/{id}/logs", tag = "volunteers", request_body = NewLog,
    params(("id" = i64, Path, description = "Shift id")),
    responses((status = 201, body = LogCreated), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn write_log(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<NewLog>,
) -> Result<(StatusCode, ApiJson<LogCreated>), ApiError> {
    let tx = state.db.write().await?;
    let out = log(&tx, &user, id, &input, Utc::now()).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(out)))
}

// ---------------------------------------------------------------- mine

pub async fn my_volunteering(
    db: &impl ConnectionTrait,
    user: &Principal,
    now: DateTime<Utc>,
) -> Result<MyVolunteering, ApiError> {
    let members = store::memberships_of(db, user.account_id).await?;
    let team_ids: Vec<i64> = members.iter().map(|m| m.team_id).collect();
    let teams = store::teams(db, &team_ids).await?;
    let names: HashMap<i64, String> = teams.iter().map(|t| (t.id, t.name.clone())).collect();
    let member_ids: Vec<i64> = members.iter().map(|m| m.id).collect();
    let minutes = store::minutes_of_members(db, &member_ids)
        .await?
        .values()
        .sum();
    let mine: HashSet<i64> = member_ids.iter().copied().collect();
    let signed: HashSet<i64> = {
        use sea_orm::{ColumnTrait, QueryFilter};
        patrol_signup::Entity::find()
            .filter(patrol_signup::Column::MemberId.is_in(member_ids.clone()))
            .all(db)
            .await?
            .into_iter()
            .map(|s| s.shift_id)
            .collect()
    };
    let shifts: Vec<patrol_shift::Model> = store::shifts(db, &team_ids)
        .await?
        .into_iter()
        .filter(|s| signed.contains(&s.id) && s.ends_at > now)
        .collect();
    Ok(MyVolunteering {
        teams: summaries(db, teams).await?,
        next_shifts: shift_views(db, shifts, &names, &mine).await?,
        minutes,
    })
}

/// The reader's teams, coming shifts and credited minutes.
#[utoipa::path(get, path = "/volunteers/me", tag = "volunteers",
    responses((status = 200, body = MyVolunteering), (status = 401, body = ErrorBody)))]
async fn mine(
    State(state): State<AppState>,
    user: User,
) -> Result<ApiJson<MyVolunteering>, ApiError> {
    Ok(ApiJson(
        my_volunteering(state.db.conn(), &user, Utc::now()).await?,
    ))
}

// ---------------------------------------------------------------- figures

/// The id of the child of `p` a team falls under, if any.
fn child_of(p: &place::Model, t: &volunteer_team::Model) -> Option<i64> {
    match PlaceKind::parse(&p.kind) {
        Some(PlaceKind::District) => t.street_id,
        Some(PlaceKind::Street) => t.community_id,
        Some(PlaceKind::Community) => t.compound_id,
        _ => None,
    }
}

/// The teams a place's figures count, as a condition on `volunteer_team`.
fn scope_of(p: &place::Model) -> sea_orm::Condition {
    use sea_orm::{ColumnTrait, Condition};
    use volunteer_team::Column as T;
    let c = Condition::all();
    match PlaceKind::parse(&p.kind) {
        Some(PlaceKind::District) => {
            c.add(T::DistrictCode.eq(p.district_code.clone().unwrap_or_default()))
        }
        Some(PlaceKind::Street) => c.add(T::StreetId.eq(p.id)),
        Some(PlaceKind::Community) => c.add(T::CommunityId.eq(p.id)),
        Some(PlaceKind::Compound) => c.add(T::CompoundId.eq(p.id)),
        _ => c.add(T::Id.eq(-1)),
    }
}

pub async fn figures_of(db: &impl ConnectionTrait, p: &place::Model) -> Result<Figures, ApiError> {
    let scope = scope_of(p);
    let teams = store::teams_where(db, scope.clone()).await?;
    let mut per_team: HashMap<i64, Figure> = store::team_tallies(db, scope)
        .await?
        .into_iter()
        .map(|(team, t)| {
            (
                team,
                Figure {
                    members: t.members,
                    party_members: t.party_members,
                    activities: t.activities,
                    minutes: t.minutes,
                    shifts: t.shifts,
                    shifts_covered: t.shifts_covered,
                    ..Default::default()
                },
            )
        })
        .collect();
    let children_ids: Vec<i64> = teams.iter().filter_map(|t| child_of(p, t)).collect();
    let names = place_names(db, children_ids).await?;
    let mut whole = Figure {
        place_id: p.id,
        name: p.name.clone(),
        ..Default::default()
    };
    let mut children: HashMap<i64, Figure> = HashMap::new();
    for t in &teams {
        let f = per_team.remove(&t.id).unwrap_or_default();
        let patrol = (t.kind == TeamKind::Patrol.as_str()) as u64;
        let mut targets = vec![&mut whole];
        let child = child_of(p, t).map(|c| {
            children.entry(c).or_insert_with(|| Figure {
                place_id: c,
                name: names.get(&c).cloned().unwrap_or_default(),
                ..Default::default()
            })
        });
        if let Some(c) = child {
            targets.push(c);
        }
        for g in targets {
            g.teams += 1;
            g.patrol_teams += patrol;
            g.members += f.members;
            g.party_members += f.party_members;
            g.activities += f.activities;
            g.minutes += f.minutes;
            g.shifts += f.shifts;
            g.shifts_covered += f.shifts_covered;
        }
    }
    let mut children: Vec<Figure> = children.into_values().collect();
    children.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Figures {
        place: whole,
        children,
    })
}

/// Teams, members (party members among them), activities, hours and
/// patrol shifts covered in a compound, community, street or district,
/// with its children (officials of the place).
#[utoipa::path(get, path = "/volunteers/figures/{place_id}", tag = "volunteers",
    params(("place_id" = i64, Path, description = "A district, street, community or compound")),
    responses((status = 200, body = Figures), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn figures(
    State(state): State<AppState>,
    user: User,
    Path(place_id): Path<i64>,
) -> Result<ApiJson<Figures>, ApiError> {
    let db = state.db.conn();
    let p = match jinlin_places::store::find(db, place_id).await? {
        Some(p) if jinlin_places::store::visible(&user, &p) => p,
        _ => return Err(ApiError::not_found()),
    };
    if !user.can(Access::Registry, &p.position()) {
        return Err(ApiError::forbidden());
    }
    Ok(ApiJson(figures_of(db, &p).await?))
}
