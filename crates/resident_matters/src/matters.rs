//! The operations on residents' matters, with their access checks: what
//! the JSON API, the pages and Open311 all call. Writes take the caller's
//! transaction and `now`, so tests choose the time.
//!
//! Access: the reporters of a matter always see it; the community, street
//! and district over its compound see and supervise it; the compound's
//! property staff, owners' committee and party secretary see every matter
//! of their compound; an agency admin sees the matters dispatched to them;
//! residents and party members of the compound see its public matters.
//! Outside that, 404; inside without the power to act, 403.

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use jinlin_kernel::ApiError;
use jinlin_kernel::audit::{self, Entry};
use jinlin_kernel::auth::{Principal, Role};
use jinlin_kernel::i18n;
use jinlin_kernel::place::entity as place;
use jinlin_kernel::place::{PlaceKind, Position};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, SqlErr};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::entity::{category, matter};
use crate::rules::{
    self, ActionKind, Actor, Allowances, Clock, Escalation, HandlerKind, Invalid, MergeSide,
    Satisfaction, State, TransitionError, Urgency,
};
use crate::store::{self, EventNew};

pub fn invalid(e: Invalid) -> ApiError {
    ApiError::invalid(i18n::current().t(e.key))
}

pub fn conflict(code: &'static str, key: &str) -> ApiError {
    ApiError::with_message(StatusCode::CONFLICT, code, i18n::current().t(key))
}

fn transition_error(e: TransitionError) -> ApiError {
    match e {
        TransitionError::Forbidden => ApiError::forbidden(),
        TransitionError::Final => conflict("matter_ended", "resident_matters.error.ended"),
        TransitionError::Unavailable => {
            conflict("matter_state", "resident_matters.error.transition")
        }
    }
}

// ---------------------------------------------------------------- shapes

/// A matter as raised by its reporter.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(as = ResidentMatterNew)]
#[serde(deny_unknown_fields)]
pub struct NewMatter {
    /// A category code of the catalogue, e.g. `utilities`.
    pub category: String,
    #[serde(default = "normal")]
    pub urgency: Urgency,
    pub title: String,
    pub description: String,
    /// The compound, building, entrance or dwelling concerned.
    pub place_id: i64,
    pub address: Option<String>,
    /// Millionths of a degree; both or neither.
    pub latitude_e6: Option<i64>,
    pub longitude_e6: Option<i64>,
    /// Public matters are seen by the compound's residents.
    #[serde(default)]
    pub public: bool,
}

fn normal() -> Urgency {
    Urgency::Normal
}

/// One step asked of a matter.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(as = ResidentMatterAction)]
#[serde(deny_unknown_fields)]
pub struct Action {
    pub action: ActionKind,
    /// Dispatch and transfer: the handler (dispatch defaults to the
    /// category's).
    pub to: Option<HandlerKind>,
    /// Dispatch or transfer to an agency: its admin's account.
    pub agency_account_id: Option<i64>,
    /// A note, the reply to the reporter, or the rating's comment.
    pub note: Option<String>,
    /// Why: required for transfer and reopen.
    pub reason: Option<String>,
    /// Rate: the verdict.
    pub satisfaction: Option<Satisfaction>,
    /// Merge: the matter this one duplicates.
    pub into: Option<i64>,
}

impl Action {
    pub fn new(action: ActionKind) -> Action {
        Action {
            action,
            to: None,
            agency_account_id: None,
            note: None,
            reason: None,
            satisfaction: None,
            into: None,
        }
    }
}

// ---------------------------------------------------------------- access

/// A matter's compound as a place position, for scope checks.
pub fn compound_position(m: &matter::Model) -> Position {
    Position {
        id: m.compound_id,
        kind: Some(PlaceKind::Compound),
        code: None,
        district_code: Some(m.district_code.clone()),
        street_id: m.street_id,
        community_id: m.community_id,
        compound_id: None,
        building_id: None,
        entrance_id: None,
    }
}

fn has_role_over(user: &Principal, roles: &[Role], target: &Position) -> bool {
    user.grants
        .iter()
        .any(|g| roles.contains(&g.role) && target.is_within(&g.place))
}

/// The community, street or district over the compound.
pub fn supervises(user: &Principal, m: &matter::Model) -> bool {
    has_role_over(
        user,
        &[
            Role::CommunityWorker,
            Role::StreetAdmin,
            Role::DistrictAdmin,
        ],
        &compound_position(m),
    )
}

/// The compound's own bodies: property staff, owners' committee, secretary.
pub fn serves_compound(user: &Principal, m: &matter::Model) -> bool {
    user.grants.iter().any(|g| {
        matches!(
            g.role,
            Role::PropertyStaff | Role::OwnersCommittee | Role::CompoundSecretary
        ) && g.place.id == m.compound_id
    })
}

/// Whether the user acts for the handler holding the matter.
pub fn holds(user: &Principal, m: &matter::Model) -> bool {
    let at_compound = |role: Role| {
        user.grants
            .iter()
            .any(|g| g.role == role && g.place.id == m.compound_id)
    };
    match HandlerKind::parse(&m.holder_kind) {
        Some(HandlerKind::PropertyCompany) => at_compound(Role::PropertyStaff),
        Some(HandlerKind::OwnersCommittee) => at_compound(Role::OwnersCommittee),
        Some(HandlerKind::PartyOrg) => at_compound(Role::CompoundSecretary),
        Some(HandlerKind::Community) => user
            .grants
            .iter()
            .any(|g| g.role == Role::CommunityWorker && Some(g.place.id) == m.community_id),
        Some(HandlerKind::Agency) => {
            user.has_role(Role::AgencyAdmin) && m.holder_account_id == Some(user.account_id)
        }
        None => false,
    }
}

fn lives_in_compound(user: &Principal, compound_id: i64) -> bool {
    user.grants.iter().any(|g| {
        matches!(g.role, Role::Resident | Role::PartyMember)
            && g.place.compound_id == Some(compound_id)
    })
}

/// What the user is to a matter they can see.
#[derive(Debug, Clone)]
pub struct Seen {
    pub matter: matter::Model,
    pub actors: Vec<Actor>,
    /// The reporter who raised this very matter (not a merged duplicate).
    pub reporter: bool,
    /// Whether the reader sees where the matter is (place, address,
    /// coordinates, photos): its reporter and the people who work it. The
    /// compound's residents and the reporters of merged duplicates see
    /// only the compound.
    pub full: bool,
}

/// Whether the user works the matter: holds, supervises or serves its
/// compound.
pub fn works(user: &Principal, m: &matter::Model) -> bool {
    holds(user, m) || supervises(user, m) || serves_compound(user, m)
}

/// A matter the user may see, with what they are to it; 404 otherwise.
pub async fn visible(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<Seen, ApiError> {
    let m = store::find(db, id).await?.ok_or_else(ApiError::not_found)?;
    let reports = store::reports(db, m.id, user.account_id).await?;
    let reporter = reports == Some(true);
    let follower = reports == Some(false);
    let holder = holds(user, &m);
    let supervisor = supervises(user, &m);
    let full = reporter || works(user, &m);
    let sees = full || follower || m.public && lives_in_compound(user, m.compound_id);
    if !sees {
        return Err(ApiError::not_found());
    }
    let mut actors = Vec::new();
    if holder {
        actors.push(Actor::Holder);
    }
    if supervisor {
        actors.push(Actor::Supervisor);
    }
    // Only the reporter who raised it withdraws or rates it; the reporters
    // of merged duplicates follow its state.
    if reporter {
        actors.push(Actor::Reporter);
    }
    Ok(Seen {
        matter: m,
        actors,
        reporter,
        full,
    })
}

/// Whether the reader may rate the result: the reporter who raised it,
/// unless they also hold it (staff do not rate their own work).
pub fn may_rate(seen: &Seen) -> bool {
    seen.reporter && !seen.actors.contains(&Actor::Holder)
}

/// The matters a user's grants reach, as a SQL condition (queues use the
/// same rule as [`visible`], less the reporter's own, which "mine" lists).
pub fn scope_condition(user: &Principal) -> Condition {
    let mut any = Condition::any();
    for g in &user.grants {
        let p = &g.place;
        any = match g.role {
            Role::DistrictAdmin => match p.kind {
                Some(PlaceKind::District) => any.add(
                    matter::Column::DistrictCode.eq(p.district_code.clone().unwrap_or_default()),
                ),
                _ => match p.code.as_deref() {
                    Some(code) => {
                        let digits = p.kind.and_then(|k| k.code_digits()).unwrap_or(6);
                        any.add(
                            matter::Column::DistrictCode
                                .starts_with(code.get(..digits).unwrap_or(code)),
                        )
                    }
                    None => any,
                },
            },
            Role::StreetAdmin => any.add(matter::Column::StreetId.eq(p.id)),
            Role::CommunityWorker => any.add(matter::Column::CommunityId.eq(p.id)),
            Role::PropertyStaff | Role::OwnersCommittee | Role::CompoundSecretary => {
                any.add(matter::Column::CompoundId.eq(p.id))
            }
            Role::AgencyAdmin => any.add(
                Condition::all()
                    .add(matter::Column::HolderKind.eq(HandlerKind::Agency.as_str()))
                    .add(matter::Column::HolderAccountId.eq(user.account_id)),
            ),
            Role::Resident | Role::PartyMember => match p.compound_id {
                Some(c) => any.add(
                    Condition::all()
                        .add(matter::Column::CompoundId.eq(c))
                        .add(matter::Column::Public.eq(true)),
                ),
                None => any,
            },
        };
    }
    if any.is_empty() {
        // Nothing: a condition no row meets.
        return Condition::all().add(matter::Column::Id.lt(0));
    }
    any
}

/// Whether the user has a role that works matters (not only raises them).
pub fn works_matters(user: &Principal) -> bool {
    user.grants
        .iter()
        .any(|g| !matches!(g.role, Role::Resident | Role::PartyMember))
}

// ---------------------------------------------------------------- raise

/// The role a user raises a matter in at a place, and the first contact
/// who holds it until dispatch.
fn first_contact(user: &Principal, pos: &Position, compound_id: i64) -> (String, HandlerKind) {
    let at = |role: Role| {
        user.grants
            .iter()
            .any(|g| g.role == role && g.place.id == compound_id)
    };
    if at(Role::PropertyStaff) {
        return ("property_staff".into(), HandlerKind::PropertyCompany);
    }
    if at(Role::OwnersCommittee) {
        return ("owners_committee".into(), HandlerKind::OwnersCommittee);
    }
    if at(Role::CompoundSecretary) {
        return ("compound_secretary".into(), HandlerKind::PartyOrg);
    }
    let role = [
        Role::CommunityWorker,
        Role::StreetAdmin,
        Role::DistrictAdmin,
        Role::PartyMember,
        Role::Resident,
        Role::AgencyAdmin,
    ]
    .into_iter()
    .find(|r| has_role_over(user, &[*r], pos) || user.has_role(*r))
    .map(|r| r.as_str().to_string())
    .unwrap_or_else(|| "resident".into());
    (role, HandlerKind::Community)
}

/// Raises a matter at a place the user sees (404 otherwise): checks every
/// field, stores the matter in intake with its reporter and first entry.
pub async fn raise(
    tx: &impl ConnectionTrait,
    user: &Principal,
    new: &NewMatter,
    now: DateTime<Utc>,
) -> Result<matter::Model, ApiError> {
    let p = place::Entity::find_by_id(new.place_id)
        .one(tx)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let pos = p.position();
    if !user.sees(&pos) {
        return Err(ApiError::not_found());
    }
    let compound_id = match pos.kind {
        Some(PlaceKind::Compound) => p.id,
        Some(k) if k > PlaceKind::Compound => pos.compound_id.ok_or_else(ApiError::not_found)?,
        _ => {
            return Err(invalid(Invalid::new("resident_matters.error.place_kind")));
        }
    };
    let cat = store::category_by_code(tx, new.category.trim())
        .await?
        .filter(|c| c.active)
        .ok_or_else(|| invalid(Invalid::new("resident_matters.error.category")))?;
    let title = rules::check_title(&new.title).map_err(invalid)?;
    let description = rules::check_description(&new.description).map_err(invalid)?;
    let address = rules::check_text(new.address.as_deref(), false).map_err(invalid)?;
    if address.as_ref().is_some_and(|a| a.chars().count() > 256) {
        return Err(invalid(Invalid::new("resident_matters.error.text_long")));
    }
    let coordinates =
        rules::check_coordinates(new.latitude_e6, new.longitude_e6).map_err(invalid)?;
    let district_code = p
        .district_code
        .clone()
        .ok_or_else(|| invalid(Invalid::new("resident_matters.error.place_kind")))?;
    let (reporter_role, holder_kind) = first_contact(user, &pos, compound_id);
    let holder_place_id = if holder_kind.at_compound() {
        Some(compound_id)
    } else {
        pos.community_id
    };
    let m = store::insert(
        tx,
        &store::NewMatter {
            district_code: district_code.clone(),
            street_id: pos.street_id,
            community_id: pos.community_id,
            compound_id,
            place_id: p.id,
            address,
            coordinates,
            reporter_account_id: Some(user.account_id),
            reporter_person_id: user.person_id,
            reporter_role,
            category_id: cat.id,
            urgency: new.urgency,
            title,
            description,
            public: new.public,
            holder_kind,
            holder_place_id,
            received_by: Some(user.account_id),
            at: now,
        },
    )
    .await?;
    audit::record(
        tx,
        Entry::new(Some(user), "resident_matter.raise", "resident_matter")
            .object(m.id)
            .district(Some(district_code))
            .detail(serde_json::json!({"category": cat.code, "place": p.id})),
    )
    .await?;
    Ok(m)
}

// ---------------------------------------------------------------- act

fn allowances(c: &category::Model) -> Allowances {
    Allowances {
        emergency_minutes: c.emergency_minutes as i64,
        normal_minutes: c.normal_minutes as i64,
        complex_minutes: c.complex_minutes as i64,
    }
}

fn start_clock(m: &mut matter::Model, cat: &category::Model, now: DateTime<Utc>) {
    let urgency = Urgency::parse(&m.urgency).unwrap_or(Urgency::Normal);
    let clock = Clock::start(now, allowances(cat).minutes(urgency));
    m.dispatched_at = Some(clock.started_at);
    m.warn_at = Some(clock.warn_at);
    m.due_at = Some(clock.due_at);
    m.warned_at = None;
    m.escalation_level = 0;
}

/// Sets the holder for a dispatch or transfer.
async fn set_holder(
    tx: &impl ConnectionTrait,
    m: &mut matter::Model,
    to: HandlerKind,
    agency_account_id: Option<i64>,
) -> Result<(), ApiError> {
    m.holder_account_id = None;
    m.holder_org = None;
    match to {
        HandlerKind::Agency => {
            let id = agency_account_id
                .ok_or_else(|| invalid(Invalid::new("resident_matters.error.agency")))?;
            let Some(agency) = jinlin_kernel::auth::load(
                tx,
                id,
                jinlin_kernel::auth::AuthVia::Token { can_write: false },
            )
            .await?
            else {
                return Err(invalid(Invalid::new("resident_matters.error.agency")));
            };
            let in_district = agency.grants.iter().any(|g| {
                g.role == Role::AgencyAdmin
                    && g.place.district_code.as_deref() == Some(m.district_code.as_str())
            });
            if !in_district {
                return Err(invalid(Invalid::new("resident_matters.error.agency")));
            }
            // An agency takes matters only from the compounds it is paired
            // with (its admin's reach); anything else is someone else's.
            if !agency
                .paired_compounds
                .iter()
                .any(|c| c.id == m.compound_id)
            {
                return Err(invalid(Invalid::new(
                    "resident_matters.error.agency_not_paired",
                )));
            }
            m.holder_place_id = None;
            m.holder_account_id = Some(agency.account_id);
            // The admin's display name is a person's name: readers see the
            // handler kind instead.
            m.holder_org = None;
        }
        HandlerKind::Community => m.holder_place_id = m.community_id,
        _ => m.holder_place_id = Some(m.compound_id),
    }
    m.holder_kind = to.as_str().into();
    Ok(())
}

/// Takes one step of a matter's life for the user: the table decides
/// whether their part allows it (403 if not, 409 if the state does not),
/// the step's own checks follow (422), then the change and its timeline
/// entry are written.
pub async fn act(
    tx: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
    a: &Action,
    now: DateTime<Utc>,
) -> Result<matter::Model, ApiError> {
    store::lock(tx, id).await?;
    let seen = visible(tx, user, id).await?;
    let mut m = seen.matter.clone();
    let from = State::parse(&m.state).unwrap_or(State::Intake);
    let (actor, mut to) =
        rules::allowed_for_any(from, a.action, &seen.actors).map_err(transition_error)?;
    if a.action == ActionKind::Rate && !may_rate(&seen) {
        return Err(ApiError::forbidden());
    }
    let note = rules::check_text(
        a.note.as_deref(),
        matches!(a.action, ActionKind::Note | ActionKind::Reply),
    )
    .map_err(|e| {
        if e.key == "resident_matters.error.reason" {
            invalid(Invalid::new("resident_matters.error.note"))
        } else {
            invalid(e)
        }
    })?;
    let reason = rules::check_text(
        a.reason.as_deref(),
        matches!(a.action, ActionKind::Transfer | ActionKind::Reopen),
    )
    .map_err(invalid)?;
    let cat = store::find_category(tx, m.category_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let mut detail = serde_json::json!({});
    let mut merged_into: Option<matter::Model> = None;
    match a.action {
        ActionKind::Dispatch => {
            let kind = match a.to {
                Some(k) => k,
                None => HandlerKind::parse(&cat.default_handler).unwrap_or(HandlerKind::Community),
            };
            set_holder(tx, &mut m, kind, a.agency_account_id).await?;
            start_clock(&mut m, &cat, now);
            detail = serde_json::json!({"to": kind.as_str(), "holder_org": m.holder_org});
        }
        ActionKind::Transfer => {
            let kind =
                a.to.ok_or_else(|| invalid(Invalid::new("resident_matters.error.handler")))?;
            let before = (m.holder_kind.clone(), m.holder_account_id);
            set_holder(tx, &mut m, kind, a.agency_account_id).await?;
            if (m.holder_kind.clone(), m.holder_account_id) == before {
                return Err(invalid(Invalid::new("resident_matters.error.same_handler")));
            }
            detail = serde_json::json!({"from": before.0, "to": kind.as_str(), "holder_org": m.holder_org});
        }
        ActionKind::Close => m.closed_at = Some(now),
        ActionKind::Reopen => {
            if !rules::may_reopen(m.reopened_count) {
                return Err(conflict(
                    "reopen_once",
                    "resident_matters.error.reopen_once",
                ));
            }
            m.reopened_count += 1;
            m.satisfaction = None;
            m.satisfaction_comment = None;
            m.closed_at = None;
            start_clock(&mut m, &cat, now);
        }
        ActionKind::Rate => {
            let verdict = a
                .satisfaction
                .ok_or_else(|| invalid(Invalid::new("resident_matters.error.satisfaction")))?;
            if m.satisfaction.is_some() {
                return Err(conflict(
                    "already_rated",
                    "resident_matters.error.already_rated",
                ));
            }
            to = rules::after_rating(verdict, m.reopened_count);
            detail = serde_json::json!({"satisfaction": verdict.as_str()});
            if to == State::Handling {
                m.reopened_count += 1;
                m.closed_at = None;
                start_clock(&mut m, &cat, now);
                detail["reopened"] = true.into();
            } else {
                m.satisfaction = Some(verdict.as_str().into());
                m.satisfaction_comment = note.clone();
                m.closed_at.get_or_insert(now);
            }
        }
        ActionKind::Merge => {
            let into_id = a
                .into
                .ok_or_else(|| invalid(Invalid::new("resident_matters.error.merge_target")))?;
            let target = visible(tx, user, into_id).await.map_err(|e| {
                if e.status == StatusCode::NOT_FOUND {
                    invalid(Invalid::new("resident_matters.error.merge_target"))
                } else {
                    e
                }
            })?;
            let t = target.matter;
            rules::check_merge(
                MergeSide {
                    id: m.id,
                    compound_id: m.compound_id,
                    state: from,
                },
                MergeSide {
                    id: t.id,
                    compound_id: t.compound_id,
                    state: State::parse(&t.state).unwrap_or(State::Closed),
                },
            )
            .map_err(invalid)?;
            if !t.public && !store::reporters_within(tx, m.id, t.id).await? {
                // The duplicate's reporters would read a private matter
                // that is not theirs.
                return Err(invalid(Invalid::new(
                    "resident_matters.error.merge_private",
                )));
            }
            let added = store::merge_reporters(tx, &m, &t, now).await?;
            m.merged_into = Some(t.id);
            m.closed_at = Some(now);
            detail = serde_json::json!({"into": t.id, "reporters_added": added});
            merged_into = Some(t);
        }
        ActionKind::Withdraw => m.closed_at = Some(now),
        ActionKind::Accept | ActionKind::Note | ActionKind::Reply => {}
    }
    m.state = to.as_str().into();
    m.updated_at = now;
    let m = store::save(tx, m).await?;
    store::record(
        tx,
        &m,
        EventNew {
            at: now,
            actor_account_id: Some(user.account_id),
            actor_role: Some(actor.as_str().into()),
            action: a.action.as_str(),
            from_state: Some(from),
            to_state: Some(to),
            note,
            reason,
            detail: detail.clone(),
        },
    )
    .await?;
    if let Some(t) = merged_into {
        store::record(
            tx,
            &t,
            EventNew {
                at: now,
                actor_account_id: Some(user.account_id),
                actor_role: Some(actor.as_str().into()),
                action: "merged_in",
                from_state: None,
                to_state: None,
                note: None,
                reason: None,
                detail: serde_json::json!({"duplicate": m.id}),
            },
        )
        .await?;
    }
    let (kind, recipients) = match a.action {
        ActionKind::Dispatch | ActionKind::Transfer => ("assigned", holder_accounts(tx, &m).await?),
        ActionKind::Reply | ActionKind::Close => ("replied", reporter_accounts(tx, &m).await?),
        ActionKind::Reopen | ActionKind::Rate if to == State::Handling => {
            ("reopened", holder_accounts(tx, &m).await?)
        }
        _ => ("", Vec::new()),
    };
    let recipients: Vec<i64> = recipients
        .into_iter()
        .filter(|id| *id != user.account_id)
        .collect();
    if !recipients.is_empty() {
        notify(tx, &recipients, kind, &m).await?;
    }
    audit::record(
        tx,
        Entry::new(
            Some(user),
            match a.action {
                ActionKind::Dispatch => "resident_matter.dispatch",
                ActionKind::Accept => "resident_matter.accept",
                ActionKind::Transfer => "resident_matter.transfer",
                ActionKind::Note => "resident_matter.note",
                ActionKind::Reply => "resident_matter.reply",
                ActionKind::Close => "resident_matter.close",
                ActionKind::Reopen => "resident_matter.reopen",
                ActionKind::Rate => "resident_matter.rate",
                ActionKind::Withdraw => "resident_matter.withdraw",
                ActionKind::Merge => "resident_matter.merge",
            },
            "resident_matter",
        )
        .object(m.id)
        .district(Some(m.district_code.clone()))
        .detail(detail),
    )
    .await?;
    Ok(m)
}

/// Credits a party member who coordinated the matter (their service
/// record). The holder or a supervisor credits; the person must be a party
/// member of the matter's district.
pub async fn credit(
    tx: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
    person_id: i64,
    now: DateTime<Utc>,
) -> Result<crate::entity::credit::Model, ApiError> {
    store::lock(tx, id).await?;
    let seen = visible(tx, user, id).await?;
    if !seen
        .actors
        .iter()
        .any(|a| matches!(a, Actor::Holder | Actor::Supervisor))
    {
        return Err(ApiError::forbidden());
    }
    let m = seen.matter;
    let person = jinlin_people::entity::person::Entity::find_by_id(person_id)
        .one(tx)
        .await?
        .filter(|p| p.district_code.as_deref() == Some(m.district_code.as_str()))
        .ok_or_else(|| invalid(Invalid::new("resident_matters.error.person")))?;
    if !person.party_member {
        return Err(invalid(Invalid::new(
            "resident_matters.error.not_party_member",
        )));
    }
    let already = || {
        conflict(
            "already_credited",
            "resident_matters.error.already_credited",
        )
    };
    if store::find_credit(tx, m.id, person_id).await?.is_some() {
        return Err(already());
    }
    // Two credits racing past the check above meet the unique index.
    let c = match store::insert_credit(tx, &m, person_id, "coordinator", Some(user.account_id), now)
        .await
    {
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Err(already());
        }
        other => other?,
    };
    store::record(
        tx,
        &m,
        EventNew {
            at: now,
            actor_account_id: Some(user.account_id),
            actor_role: None,
            action: "credit",
            from_state: None,
            to_state: None,
            note: None,
            reason: None,
            detail: serde_json::json!({"person_id": person_id, "name": person.name}),
        },
    )
    .await?;
    audit::record(
        tx,
        Entry::new(Some(user), "resident_matter.credit", "resident_matter")
            .object(m.id)
            .district(Some(m.district_code.clone()))
            .detail(serde_json::json!({"person_id": person_id})),
    )
    .await?;
    Ok(c)
}

/// Whether a state is "overdue" for the reader at `now`.
pub fn is_overdue(m: &matter::Model, now: DateTime<Utc>) -> bool {
    State::parse(&m.state).is_some_and(State::clock_runs) && m.due_at.is_some_and(|d| d <= now)
}

pub fn escalation(m: &matter::Model) -> Escalation {
    Escalation::from_level(m.escalation_level)
}

// ---------------------------------------------------------------- notify

async fn grant_accounts(
    db: &impl ConnectionTrait,
    role: Role,
    place_id: Option<i64>,
    district_code: Option<&str>,
) -> Result<Vec<i64>, DbErr> {
    use jinlin_kernel::auth::entity::role_grant;
    use sea_orm::QueryFilter;
    let mut q = role_grant::Entity::find().filter(role_grant::Column::Role.eq(role.as_str()));
    if let Some(p) = place_id {
        q = q.filter(role_grant::Column::PlaceId.eq(p));
    }
    if let Some(d) = district_code {
        q = q.filter(role_grant::Column::DistrictCode.eq(d));
    }
    Ok(q.all(db).await?.into_iter().map(|g| g.account_id).collect())
}

/// The accounts acting for the handler that holds the matter.
pub async fn holder_accounts(
    db: &impl ConnectionTrait,
    m: &matter::Model,
) -> Result<Vec<i64>, DbErr> {
    let at_compound = Some(m.compound_id);
    match HandlerKind::parse(&m.holder_kind) {
        Some(HandlerKind::PropertyCompany) => {
            grant_accounts(db, Role::PropertyStaff, at_compound, None).await
        }
        Some(HandlerKind::OwnersCommittee) => {
            grant_accounts(db, Role::OwnersCommittee, at_compound, None).await
        }
        Some(HandlerKind::PartyOrg) => {
            grant_accounts(db, Role::CompoundSecretary, at_compound, None).await
        }
        Some(HandlerKind::Community) => match m.community_id {
            Some(c) => grant_accounts(db, Role::CommunityWorker, Some(c), None).await,
            None => Ok(Vec::new()),
        },
        Some(HandlerKind::Agency) => Ok(m.holder_account_id.into_iter().collect()),
        None => Ok(Vec::new()),
    }
}

/// Every reporter's account (merged duplicates' included).
pub async fn reporter_accounts(
    db: &impl ConnectionTrait,
    m: &matter::Model,
) -> Result<Vec<i64>, DbErr> {
    Ok(store::reporters(db, m.id)
        .await?
        .into_iter()
        .filter_map(|r| r.account_id)
        .collect())
}

/// The accounts of the level a late matter has escalated to.
pub async fn escalation_accounts(
    db: &impl ConnectionTrait,
    m: &matter::Model,
    level: Escalation,
) -> Result<Vec<i64>, DbErr> {
    match level {
        Escalation::None => Ok(Vec::new()),
        Escalation::Community => match m.community_id {
            Some(c) => grant_accounts(db, Role::CommunityWorker, Some(c), None).await,
            None => Ok(Vec::new()),
        },
        Escalation::Street => match m.street_id {
            Some(s) => grant_accounts(db, Role::StreetAdmin, Some(s), None).await,
            None => Ok(Vec::new()),
        },
        Escalation::District => {
            grant_accounts(db, Role::DistrictAdmin, None, Some(&m.district_code)).await
        }
    }
}

/// Puts a notice of the matter in the recipients' inboxes (and the
/// outbound queue), on the caller's transaction. `kind` is one of
/// `assigned`, `replied`, `reopened`, `warned`, `escalated`.
pub async fn notify(
    db: &impl ConnectionTrait,
    recipients: &[i64],
    kind: &str,
    m: &matter::Model,
) -> Result<(), DbErr> {
    let lang = i18n::current();
    let mut message = jinlin_kernel::notify::Message::new(
        &format!("resident_matter.{kind}"),
        lang.t(&format!("resident_matters.notify.{kind}")),
        format!("#{} {}", m.id, m.title),
    )
    .link(format!("/resident-matters/{}", m.id));
    if !m.public {
        // The title of a private matter stays in the inbox; webhooks get
        // only the kind and the link.
        message = message.private();
    }
    jinlin_kernel::notify::notify_parties(db, recipients, &message).await
}
