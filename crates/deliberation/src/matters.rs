//! Compound matters in the database: proposing, acting on a matter under
//! the rules of [`crate::process`], comments in public review, residents'
//! evaluations, and what each reader may see. API and pages both call
//! these, each in one transaction.

use chrono::{DateTime, Utc};
use jinlin_kernel::ApiError;
use jinlin_kernel::auth::{Access, Principal, Role};
use jinlin_kernel::db::kept::KeptStatements;
use jinlin_kernel::i18n;
use jinlin_kernel::place::{PlaceKind, entity as place};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::DynIden;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, IdenStatic,
    JoinType, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, SelectA, SelectB,
    Statement, Value,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::entity::{comment, evaluation, matter, step, vote};
use crate::process::{
    Action, ActionKind, Actor, Attendee, Deliberation, ProcessError, Record, Requirement, State,
    TransitionError, allowed,
};
use crate::vote::Matter;
use crate::{error, settings, votes};

const TITLE_MAX: usize = 100;
const DESCRIPTION_MAX: usize = 5_000;
const TEXT_MAX: usize = 10_000;
const REASON_MAX: usize = 1_000;
const COMMENT_MAX: usize = 1_000;
const NAME_MAX: usize = 64;
const ATTENDEES_MAX: usize = 200;

/// The compound `id`, if the user may see it; 404 otherwise.
pub async fn visible_compound(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<place::Model, ApiError> {
    let found = place::Entity::find_by_id(id).one(db).await?;
    match found {
        Some(p) if p.kind == PlaceKind::Compound.as_str() && user.sees(&p.position()) => Ok(p),
        _ => Err(ApiError::not_found()),
    }
}

/// A matter and its compound, if the user may see the compound; 404
/// otherwise.
pub async fn visible_matter(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<(matter::Model, place::Model), ApiError> {
    let m = matter::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let compound = visible_compound(db, user, m.compound_id).await?;
    Ok((m, compound))
}

/// The parts the user plays in a compound's deliberations.
pub fn actors(user: &Principal, compound: &place::Model, m: Option<&matter::Model>) -> Vec<Actor> {
    let roles = user.roles_for(Access::Public, &compound.position());
    let mut out = Vec::new();
    if m.is_some_and(|m| m.proposer_account_id == Some(user.account_id)) {
        out.push(Actor::Proposer);
    }
    if roles.contains(&Role::CompoundSecretary) {
        out.push(Actor::CompoundPartyOrg);
    }
    if roles.contains(&Role::CommunityWorker) {
        out.push(Actor::Community);
    }
    if roles.contains(&Role::StreetAdmin) || roles.contains(&Role::DistrictAdmin) {
        out.push(Actor::Street);
    }
    out
}

/// Whether the user reads the full record (meeting minutes, attendees, live
/// participation): the party organisation and the levels above.
pub fn full_reader(user: &Principal, compound: &place::Model) -> bool {
    user.can(Access::Registry, &compound.position())
}

/// Whether the user may open or close a compound's votes: its party
/// organisation, or the community, street or district above it.
pub fn runs_votes(user: &Principal, compound: &place::Model) -> bool {
    let pos = compound.position();
    user.roles_for(Access::Public, &pos)
        .contains(&Role::CompoundSecretary)
        || user.can(Access::Edit, &pos)
}

fn text(value: &str, max: usize, key: &str) -> Result<String, ApiError> {
    let t = value.trim();
    if t.is_empty() || t.chars().count() > max {
        return Err(error::invalid_with(key, &[("max", &max.to_string())]));
    }
    Ok(t.to_string())
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMatter {
    /// At most 100 characters.
    pub title: String,
    /// What is proposed and why; at most 5,000 characters.
    pub description: String,
}

/// Records a proposal (提议) of a resident, owner or anyone serving the
/// compound; returns the new matter.
pub async fn propose(
    tx: &impl ConnectionTrait,
    user: &Principal,
    compound: &place::Model,
    new: &NewMatter,
) -> Result<matter::Model, ApiError> {
    let title = text(&new.title, TITLE_MAX, "deliberation.error.title")?;
    let description = text(
        &new.description,
        DESCRIPTION_MAX,
        "deliberation.error.description",
    )?;
    let now = Utc::now();
    let id = matter::Entity::insert(matter::ActiveModel {
        district_code: Set(compound.district_code.clone().unwrap_or_default()),
        street_id: Set(compound.street_id),
        community_id: Set(compound.community_id),
        compound_id: Set(compound.id),
        title: Set(title),
        description: Set(description),
        state: Set(State::Propose.as_str().into()),
        joint_decision: Set(None),
        proposer_account_id: Set(Some(user.account_id)),
        proposer_name: Set(user.display_name.chars().take(NAME_MAX).collect()),
        review_from: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec(tx)
    .await?
    .last_insert_id;
    step::Entity::insert(step::ActiveModel {
        matter_id: Set(id),
        sequence: Set(1),
        action: Set("propose".into()),
        actor: Set("proposer".into()),
        from_state: Set(None),
        to_state: Set(State::Propose.as_str().into()),
        account_id: Set(Some(user.account_id)),
        actor_name: Set(user.display_name.chars().take(NAME_MAX).collect()),
        reason: Set(None),
        record: Set(None),
        at: Set(now),
        ..Default::default()
    })
    .exec(tx)
    .await?;
    matter::Entity::find_by_id(id)
        .one(tx)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// What an actor submits to move a matter.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ActionInput {
    /// Complete the current step. The fields the step needs: propose →
    /// `summary`; motion → `plan` and `joint_decision` (the art. 278 matter
    /// 1–9 when the plan is an owners' joint decision); consult → `held_at`,
    /// `attendees`, `minutes`. Public review and evaluate take no fields:
    /// their records are the publication, the vote and the evaluations.
    Advance(AdvanceInput),
    SendBack {
        reason: String,
    },
    Reject {
        reason: String,
    },
    Withdraw,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct AdvanceInput {
    pub summary: Option<String>,
    pub plan: Option<String>,
    pub joint_decision: Option<u8>,
    pub held_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub attendees: Vec<Attendee>,
    pub minutes: Option<String>,
}

/// The actors to try for an action, in order of who normally takes it.
fn preference(kind: ActionKind) -> &'static [Actor] {
    match kind {
        ActionKind::Advance => &[Actor::CompoundPartyOrg],
        ActionKind::SendBack | ActionKind::Reject => {
            &[Actor::CompoundPartyOrg, Actor::Community, Actor::Street]
        }
        ActionKind::Withdraw => &[Actor::Proposer],
    }
}

/// The actor the user acts as, or why the table refuses them all.
fn acting_as(state: State, kind: ActionKind, held: &[Actor]) -> Result<Actor, TransitionError> {
    let mut first_error = None;
    for actor in preference(kind).iter().filter(|a| held.contains(a)) {
        match allowed(state, kind, *actor) {
            Ok(_) => return Ok(*actor),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    // Without a part to play: the matter has ended, nobody may take the
    // action at this step, or someone else may.
    Err(first_error.unwrap_or_else(|| {
        if state.is_terminal() {
            TransitionError::Terminal
        } else if Actor::ALL
            .iter()
            .all(|a| allowed(state, kind, *a) == Err(TransitionError::Unavailable))
        {
            TransitionError::Unavailable
        } else {
            TransitionError::Forbidden
        }
    }))
}

/// The actions the user may take on the matter now.
pub fn available(user: &Principal, compound: &place::Model, m: &matter::Model) -> Vec<ActionKind> {
    let Some(state) = parse_state(&m.state) else {
        return Vec::new();
    };
    let held = actors(user, compound, Some(m));
    ActionKind::ALL
        .into_iter()
        .filter(|k| acting_as(state, *k, &held).is_ok())
        .collect()
}

pub fn parse_state(s: &str) -> Option<State> {
    State::ALL.into_iter().find(|st| st.as_str() == s)
}

fn requirement_text(r: &Requirement) -> String {
    let lang = i18n::current();
    match r {
        Requirement::Summary => lang.t("deliberation.requirement.summary").into_owned(),
        Requirement::Plan => lang.t("deliberation.requirement.plan").into_owned(),
        Requirement::Attendance(party) => lang.tf(
            "deliberation.requirement.attendance",
            &[("party", &lang.t(&party_key(*party)))],
        ),
        Requirement::Minutes => lang.t("deliberation.requirement.minutes").into_owned(),
        Requirement::PublicationDays(days) => lang.tf(
            "deliberation.requirement.publication_days",
            &[("days", &days.to_string())],
        ),
        Requirement::VotePassed => lang.t("deliberation.requirement.vote_passed").into_owned(),
        Requirement::Respondents(n) => lang.tf(
            "deliberation.requirement.respondents",
            &[("n", &n.to_string())],
        ),
    }
}

pub fn party_key(p: crate::process::Party) -> String {
    let code = serde_json::to_value(p)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    format!("deliberation.party.{code}")
}

fn process_error(e: ProcessError) -> ApiError {
    match e {
        ProcessError::Transition(TransitionError::Terminal) => error::conflict("matter_ended"),
        ProcessError::Transition(TransitionError::Unavailable) => {
            error::conflict("action_unavailable")
        }
        ProcessError::Transition(TransitionError::Forbidden) => {
            error::forbidden_key("deliberation.error.actor_forbidden")
        }
        ProcessError::WrongRecord { .. } => error::conflict("matter_changed"),
        ProcessError::Unmet(reqs) => {
            let list: Vec<String> = reqs.iter().map(requirement_text).collect();
            error::invalid_with(
                "deliberation.error.unmet",
                &[(
                    "list",
                    &list.join(i18n::current().t("deliberation.list_separator").as_ref()),
                )],
            )
        }
        ProcessError::ReasonRequired => error::invalid_key("deliberation.error.reason_required"),
    }
}

/// The latest vote of the matter's current public review, if any.
pub async fn current_vote(
    db: &impl ConnectionTrait,
    m: &matter::Model,
) -> Result<Option<vote::Model>, ApiError> {
    let since = m.review_from.unwrap_or(m.created_at);
    Ok(vote::Entity::find()
        .filter(vote::Column::MatterId.eq(m.id))
        .filter(vote::Column::OpenedAt.gte(since))
        .order_by_desc(vote::Column::Id)
        .one(db)
        .await?)
}

/// The record that completes the matter's current step: from the actor's
/// input for the first three steps, from what the system holds for the
/// last two.
async fn record_for(
    db: &impl ConnectionTrait,
    m: &matter::Model,
    state: State,
    input: &AdvanceInput,
    now: DateTime<Utc>,
) -> Result<Record, ApiError> {
    let opt = |s: &Option<String>, max: usize, key: &str| -> Result<String, ApiError> {
        match s.as_deref().map(str::trim) {
            Some(t) if t.chars().count() > max => {
                Err(error::invalid_with(key, &[("max", &max.to_string())]))
            }
            Some(t) => Ok(t.to_string()),
            None => Ok(String::new()),
        }
    };
    Ok(match state {
        State::Propose => Record::Propose {
            summary: opt(&input.summary, TEXT_MAX, "deliberation.error.too_long")?,
        },
        State::Motion => {
            let joint_decision = match input.joint_decision {
                None => None,
                Some(n) => Some(
                    Matter::from_number(n)
                        .ok_or_else(|| error::invalid_key("deliberation.error.joint_decision"))?,
                ),
            };
            Record::Motion {
                plan: opt(&input.plan, TEXT_MAX, "deliberation.error.too_long")?,
                joint_decision,
            }
        }
        State::Consult => {
            let Some(held_at) = input.held_at else {
                return Err(error::invalid_key("deliberation.error.held_at"));
            };
            if held_at > now {
                return Err(error::invalid_key("deliberation.error.held_at"));
            }
            if input.attendees.len() > ATTENDEES_MAX
                || input
                    .attendees
                    .iter()
                    .any(|a| a.name.trim().chars().count() > NAME_MAX)
            {
                return Err(error::invalid_key("deliberation.error.attendees"));
            }
            Record::Consult {
                held_at: held_at.timestamp(),
                attendees: input
                    .attendees
                    .iter()
                    .filter(|a| !a.name.trim().is_empty())
                    .map(|a| Attendee {
                        party: a.party,
                        name: a.name.trim().to_string(),
                    })
                    .collect(),
                minutes: opt(&input.minutes, 20_000, "deliberation.error.too_long")?,
            }
        }
        State::PublicReview => {
            let vote = match current_vote(db, m).await? {
                Some(v) if v.state == votes::OPEN => {
                    return Err(error::conflict("vote_still_open"));
                }
                Some(v) => votes::published(&v).map(|t| t.outcome()),
                None => None,
            };
            Record::PublicReview {
                published_from: m.review_from.unwrap_or(m.updated_at).timestamp(),
                published_until: now.timestamp(),
                vote,
            }
        }
        State::Evaluate => {
            let all = evaluation::Entity::find()
                .filter(evaluation::Column::MatterId.eq(m.id))
                .count(db)
                .await?;
            let satisfied = evaluation::Entity::find()
                .filter(evaluation::Column::MatterId.eq(m.id))
                .filter(evaluation::Column::Satisfied.eq(true))
                .count(db)
                .await?;
            Record::Evaluate {
                respondents: all as u32,
                satisfied: satisfied as u32,
            }
        }
        State::Closed | State::Rejected | State::Withdrawn => {
            return Err(error::conflict("matter_ended"));
        }
    })
}

/// Applies an action to a matter, in the caller's transaction: the rules
/// decide, then the matter moves (only from the state it was read in) and
/// the step is appended to its history.
pub async fn act(
    tx: &impl ConnectionTrait,
    user: &Principal,
    compound: &place::Model,
    m: &matter::Model,
    input: &ActionInput,
) -> Result<matter::Model, ApiError> {
    let now = Utc::now();
    let state = parse_state(&m.state).ok_or_else(|| ApiError::internal("matter state"))?;
    let held = actors(user, compound, Some(m));
    let kind = match input {
        ActionInput::Advance(_) => ActionKind::Advance,
        ActionInput::SendBack { .. } => ActionKind::SendBack,
        ActionInput::Reject { .. } => ActionKind::Reject,
        ActionInput::Withdraw => ActionKind::Withdraw,
    };
    let actor = acting_as(state, kind, &held).map_err(|e| process_error(e.into()))?;
    let action = match input {
        ActionInput::Advance(a) => Action::Advance {
            record: record_for(tx, m, state, a, now).await?,
        },
        ActionInput::SendBack { reason } => Action::SendBack {
            reason: bounded(reason)?,
        },
        ActionInput::Reject { reason } => Action::Reject {
            reason: bounded(reason)?,
        },
        ActionInput::Withdraw => Action::Withdraw,
    };
    let joint = m.joint_decision.and_then(|n| Matter::from_number(n as u8));
    let has = compound_partners(tx, compound.id).await?;
    let process = settings::load(tx, compound.id).await?.process(has.0, has.1);
    let before = Deliberation {
        state,
        joint_decision: joint,
    };
    let after = before
        .apply(&action, actor, &process)
        .map_err(process_error)?;

    let mut update = matter::Entity::update_many()
        .col_expr(matter::Column::State, Expr::value(after.state.as_str()))
        .col_expr(
            matter::Column::JointDecision,
            Expr::value(after.joint_decision.map(|j| i16::from(j.number()))),
        )
        .col_expr(matter::Column::UpdatedAt, Expr::value(now));
    if after.state == State::PublicReview && state == State::Consult {
        update = update.col_expr(matter::Column::ReviewFrom, Expr::value(now));
    }
    let moved = update
        .filter(matter::Column::Id.eq(m.id))
        .filter(matter::Column::State.eq(m.state.as_str()))
        .exec(tx)
        .await?;
    if moved.rows_affected == 0 {
        return Err(error::conflict("matter_changed"));
    }
    // Leaving public review backwards ends its vote: no ballot may go on
    // counting for a plan that is being reworked or was rejected.
    if state == State::PublicReview
        && let Action::SendBack { reason } | Action::Reject { reason } = &action
    {
        votes::cancel_open(tx, m.id, reason).await?;
    }
    let sequence = step::Entity::find()
        .filter(step::Column::MatterId.eq(m.id))
        .count(tx)
        .await? as i32
        + 1;
    let (reason, record) = match &action {
        Action::SendBack { reason } | Action::Reject { reason } => (Some(reason.clone()), None),
        Action::Advance { record } => (
            None,
            Some(serde_json::to_string(record).map_err(ApiError::internal)?),
        ),
        Action::Withdraw => (None, None),
    };
    step::Entity::insert(step::ActiveModel {
        matter_id: Set(m.id),
        sequence: Set(sequence),
        action: Set(action_code(kind).into()),
        actor: Set(actor_code(actor).into()),
        from_state: Set(Some(state.as_str().into())),
        to_state: Set(after.state.as_str().into()),
        account_id: Set(Some(user.account_id)),
        actor_name: Set(user.display_name.chars().take(NAME_MAX).collect()),
        reason: Set(reason),
        record: Set(record),
        at: Set(now),
        ..Default::default()
    })
    .exec(tx)
    .await?;
    matter::Entity::find_by_id(m.id)
        .one(tx)
        .await?
        .ok_or_else(ApiError::not_found)
}

fn bounded(reason: &str) -> Result<String, ApiError> {
    let r = reason.trim();
    if r.chars().count() > REASON_MAX {
        return Err(error::invalid_with(
            "deliberation.error.too_long",
            &[("max", &REASON_MAX.to_string())],
        ));
    }
    Ok(r.to_string())
}

pub fn action_code(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::Advance => "advance",
        ActionKind::SendBack => "send_back",
        ActionKind::Reject => "reject",
        ActionKind::Withdraw => "withdraw",
    }
}

pub fn actor_code(actor: Actor) -> &'static str {
    match actor {
        Actor::Proposer => "proposer",
        Actor::CompoundPartyOrg => "compound_party_org",
        Actor::Community => "community",
        Actor::Street => "street",
    }
}

/// Whether the compound has an owners' committee and a property company.
pub async fn compound_partners(
    db: &impl ConnectionTrait,
    compound_id: i64,
) -> Result<(bool, bool), ApiError> {
    use jinlin_places::entity::compound;
    let c = compound::Entity::find_by_id(compound_id).one(db).await?;
    Ok(
        c.map(|c| (c.owners_committee.is_some(), c.property_company.is_some()))
            .unwrap_or((false, false)),
    )
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    /// At most 1,000 characters.
    pub body: String,
}

/// A comment on a plan in public review.
pub async fn add_comment(
    tx: &impl ConnectionTrait,
    user: &Principal,
    m: &matter::Model,
    new: &NewComment,
) -> Result<i64, ApiError> {
    if m.state != State::PublicReview.as_str() {
        return Err(error::conflict("comments_closed"));
    }
    let body = text(&new.body, COMMENT_MAX, "deliberation.error.comment")?;
    Ok(comment::Entity::insert(comment::ActiveModel {
        matter_id: Set(m.id),
        account_id: Set(user.account_id),
        author_name: Set(user.display_name.chars().take(NAME_MAX).collect()),
        body: Set(body),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(tx)
    .await?
    .last_insert_id)
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEvaluation {
    pub satisfied: bool,
    /// Optional, at most 1,000 characters.
    #[serde(default)]
    pub comment: String,
}

/// A household's judgement of a matter after it was carried out: one per
/// dwelling, by a resident or party member living in the compound.
pub async fn add_evaluation(
    tx: &impl ConnectionTrait,
    user: &Principal,
    m: &matter::Model,
    new: &NewEvaluation,
) -> Result<i64, ApiError> {
    let dwelling = user
        .grants
        .iter()
        .find(|g| {
            matches!(g.role, Role::Resident | Role::PartyMember)
                && g.place.compound_id == Some(m.compound_id)
        })
        .map(|g| g.place.id)
        .ok_or_else(|| error::forbidden_key("deliberation.error.not_a_household"))?;
    if m.state != State::Evaluate.as_str() {
        return Err(error::conflict("evaluation_closed"));
    }
    let comment = new.comment.trim();
    if comment.chars().count() > COMMENT_MAX {
        return Err(error::invalid_with(
            "deliberation.error.too_long",
            &[("max", &COMMENT_MAX.to_string())],
        ));
    }
    let exists = evaluation::Entity::find()
        .filter(evaluation::Column::MatterId.eq(m.id))
        .filter(evaluation::Column::DwellingId.eq(dwelling))
        .count(tx)
        .await?;
    if exists > 0 {
        return Err(error::conflict("already_evaluated"));
    }
    let inserted = evaluation::Entity::insert(evaluation::ActiveModel {
        matter_id: Set(m.id),
        dwelling_id: Set(dwelling),
        account_id: Set(user.account_id),
        satisfied: Set(new.satisfied),
        comment: Set(comment.to_string()),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(tx)
    .await;
    match inserted {
        Ok(done) => Ok(done.last_insert_id),
        // A double submit that raced the check above.
        Err(e)
            if matches!(
                e.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) =>
        {
            Err(error::conflict("already_evaluated"))
        }
        Err(e) => Err(e.into()),
    }
}

/// One line of a board.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MatterSummary {
    pub id: i64,
    pub compound_id: i64,
    pub title: String,
    /// propose, motion, consult, public_review, evaluate, closed, rejected
    /// or withdrawn.
    pub state: String,
    /// The art. 278 matter (1–9) when the plan is an owners' joint decision.
    pub joint_decision: Option<i16>,
    pub proposer_name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&matter::Model> for MatterSummary {
    fn from(m: &matter::Model) -> MatterSummary {
        MatterSummary {
            id: m.id,
            compound_id: m.compound_id,
            title: m.title.clone(),
            state: m.state.clone(),
            joint_decision: m.joint_decision,
            proposer_name: m.proposer_name.clone(),
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// The matters of a place's subtree, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    within: &place::Model,
    state: Option<State>,
    page: u64,
    per_page: u64,
) -> Result<(Vec<matter::Model>, u64), ApiError> {
    let kind = PlaceKind::parse(&within.kind).ok_or_else(ApiError::not_found)?;
    let district = within.district_code.clone().unwrap_or_default();
    let code = within.code.clone().unwrap_or_default();
    let scope = match kind {
        PlaceKind::Compound => Condition::all().add(matter::Column::CompoundId.eq(within.id)),
        PlaceKind::Community => Condition::all().add(matter::Column::CommunityId.eq(within.id)),
        PlaceKind::Street => Condition::all().add(matter::Column::StreetId.eq(within.id)),
        // A level without its code lists nothing rather than everything.
        PlaceKind::District if district.len() == 6 => {
            Condition::all().add(matter::Column::DistrictCode.eq(district))
        }
        PlaceKind::City if code.len() >= 4 => {
            Condition::all().add(matter::Column::DistrictCode.starts_with(&code[..4]))
        }
        PlaceKind::Province if code.len() >= 2 => {
            Condition::all().add(matter::Column::DistrictCode.starts_with(&code[..2]))
        }
        PlaceKind::District | PlaceKind::City | PlaceKind::Province => {
            return Ok((Vec::new(), 0));
        }
        _ => return Err(ApiError::not_found()),
    };
    let mut q = matter::Entity::find().filter(scope);
    if let Some(s) = state {
        q = q.filter(matter::Column::State.eq(s.as_str()));
    }
    let q = q.order_by_desc(matter::Column::Id);
    if kind == PlaceKind::Compound {
        return compound_page(db, q, page, per_page).await;
    }
    let paginator = q.paginate(db, per_page);
    let total = paginator.num_items().await?;
    let items = paginator.fetch_page(page.saturating_sub(1)).await?;
    Ok((items, total))
}

/// The highest page a board is asked for (further pages read as this one,
/// past the last).
const LAST_PAGE: u64 = 1 << 32;

/// A place's board as `user` sees it: the place (404 unless they see it),
/// a page of the matters of its subtree, newest first, and their number.
///
/// A compound's board, the residents' commonest read, is one statement:
/// the place's row with the page joined on and counted alongside, so the
/// place costs no statement of its own. The matters are read before the
/// place is checked and dropped unseen when the user may not see it. The
/// levels above a compound, and a page past a compound's last, read the
/// place again and go through [`list`].
pub async fn board(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
    state: Option<State>,
    page: u64,
    per_page: u64,
) -> Result<(place::Model, Vec<matter::Model>, u64), ApiError> {
    // Any page this far is past the last; held here, its offset still
    // fits the databases' 64-bit signed integers.
    let page = page.min(LAST_PAGE);
    let offset = page.saturating_sub(1).saturating_mul(per_page);
    let select = board_statement(
        &BOARD_SQL,
        db.get_database_backend(),
        id,
        state,
        offset,
        per_page,
    );
    let rows = db.query_all_raw(select).await?;
    let Some(first) = rows.first() else {
        // No place, or a page past the last: the window saw no row.
        let p = visible_place(db, user, id).await?;
        let (items, total) = list(db, &p, state, page, per_page).await?;
        return Ok((p, items, total));
    };
    let p = place::Model::from_query_result(first, SelectA.as_str())?;
    if !user.sees(&p.position()) {
        return Err(ApiError::not_found());
    }
    if p.kind != PlaceKind::Compound.as_str() {
        let (items, total) = list(db, &p, state, page, per_page).await?;
        return Ok((p, items, total));
    }
    let total: i64 = first.try_get("", "board_total")?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        // An empty board is the place's row with no matter joined.
        if let Some(m) = matter::Model::from_query_result_optional(row, SelectB.as_str())? {
            items.push(m);
        }
    }
    Ok((p, items, total.max(0) as u64))
}

/// A compound's board as one statement: the place's row with a page of
/// its matters joined on, counted alongside (`COUNT("matter"."id") OVER
/// ()`, which counts no matter on an empty board's one row).
fn build_board_statement(
    backend: DbBackend,
    id: i64,
    state: Option<State>,
    offset: u64,
    limit: u64,
) -> Statement {
    let on_state = move |_: DynIden, m: DynIden| {
        use sea_orm::sea_query::ExprTrait;
        match state {
            Some(s) => Condition::all().add(Expr::col((m, matter::Column::State)).eq(s.as_str())),
            None => Condition::all(),
        }
    };
    let with_page = place::Entity::belongs_to(matter::Entity)
        .from(place::Column::Id)
        .to(matter::Column::CompoundId)
        .on_condition(on_state)
        .into();
    place::Entity::find_by_id(id)
        .join(JoinType::LeftJoin, with_page)
        .select_also(matter::Entity)
        // The matters joined, none for an empty board's one row.
        .expr_as(Expr::cust(r#"COUNT("matter"."id") OVER ()"#), "board_total")
        .order_by_desc(matter::Column::Id)
        .offset(offset)
        .limit(limit)
        .build(backend)
}

/// The board's statement texts, by database and whether a state filter is
/// present (which state is a value): in the profile of a board on SQLite,
/// building the statement took about 8 % of the server's time, SQLite's
/// running it 13.5 %.
static BOARD_SQL: KeptStatements<bool> = KeptStatements::new();

/// [`build_board_statement`] with its text kept in `kept` and the values
/// bound in the order the builder puts them: the state filter (in the
/// join's condition), the place, the limit, the offset.
fn board_statement(
    kept: &KeptStatements<bool>,
    backend: DbBackend,
    id: i64,
    state: Option<State>,
    offset: u64,
    limit: u64,
) -> Statement {
    let values = || {
        let mut values: Vec<Value> = Vec::with_capacity(4);
        if let Some(s) = state {
            values.push(s.as_str().into());
        }
        values.extend([id.into(), limit.into(), offset.into()]);
        values
    };
    kept.statement(backend, state.is_some(), values, || {
        build_board_statement(backend, id, state, offset, limit)
    })
}

/// The place `id` if the user sees it (any level from a compound up).
async fn visible_place(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<place::Model, ApiError> {
    match place::Entity::find_by_id(id).one(db).await? {
        Some(p) if user.sees(&p.position()) => Ok(p),
        _ => Err(ApiError::not_found()),
    }
}

/// A matter of a board's page with the number of matters on the board.
#[derive(FromQueryResult)]
struct Counted {
    #[sea_orm(nested)]
    matter: matter::Model,
    board_total: i64,
}

/// A compound's page and its count in one statement: a compound's board is
/// small, so counting it alongside the page (`COUNT(*) OVER ()`) costs less
/// than a second statement. Above a compound the count stays separate,
/// read from an index alone, where the window would read every row.
async fn compound_page(
    db: &impl ConnectionTrait,
    q: sea_orm::Select<matter::Entity>,
    page: u64,
    per_page: u64,
) -> Result<(Vec<matter::Model>, u64), ApiError> {
    let rows = q
        .clone()
        .expr_as(Expr::cust("COUNT(*) OVER ()"), "board_total")
        .offset(page.saturating_sub(1) * per_page)
        .limit(per_page)
        .into_model::<Counted>()
        .all(db)
        .await?;
    let total = match rows.first() {
        Some(r) => r.board_total.max(0) as u64,
        // Past the last page: the window saw no row, so count apart.
        None if page > 1 => q.count(db).await?,
        None => 0,
    };
    Ok((rows.into_iter().map(|r| r.matter).collect(), total))
}

/// A step of a matter's history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StepView {
    pub sequence: i32,
    /// propose, advance, send_back, reject or withdraw.
    pub action: String,
    /// proposer, compound_party_org, community or street.
    pub actor: String,
    pub actor_name: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub reason: Option<String>,
    /// The record that completed the step ([`Record`]); the joint meeting's
    /// attendees and minutes only for full readers.
    #[schema(value_type = Option<Object>)]
    pub record: Option<serde_json::Value>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommentView {
    pub id: i64,
    pub author_name: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Evaluations {
    pub respondents: u64,
    pub satisfied: u64,
    /// Whether the reader's household has evaluated.
    pub mine: bool,
}

/// Participation in an open vote against the thresholds: the count of
/// voters and their area, never who voted how.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Live {
    pub voters: u64,
    pub area_centi_m2: u64,
    pub participation_area: crate::vote::Check,
    pub participation_heads: crate::vote::Check,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VoteView {
    pub id: i64,
    pub matter_id: i64,
    /// The art. 278 matter, 1–9.
    pub article_matter: i16,
    /// open or closed.
    pub state: String,
    pub deemed_votes: bool,
    pub opened_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub unit_count: i64,
    pub total_area_centi_m2: i64,
    pub total_heads: i64,
    /// For the party organisation and the levels above while open.
    pub live: Option<Live>,
    /// The published result, once closed.
    pub result: Option<crate::vote::Tally>,
    /// The reader's own current ballots (one per owner group they are in).
    pub my_ballots: Vec<votes::Receipt>,
    /// Whether the reader is a voting owner of this vote.
    pub is_voter: bool,
    /// When the reader belongs to several voting owners: one unit of each,
    /// to name with the ballot.
    pub my_units: Vec<i64>,
    /// The chain's head: once the vote is closed, or for the party
    /// organisation and above.
    pub head_hash: Option<String>,
    /// Why the vote was cancelled (state `cancelled`).
    pub cancel_reason: Option<String>,
}

pub async fn vote_view(
    db: &impl ConnectionTrait,
    user: &Principal,
    compound: &place::Model,
    v: &vote::Model,
) -> Result<VoteView, ApiError> {
    let live = if v.state == votes::OPEN && full_reader(user, compound) {
        let loaded = votes::load(db, v).await?;
        let tally = loaded.tally(votes::article(v)?, false)?;
        Some(Live {
            voters: tally.cast.participating.heads,
            area_centi_m2: tally.cast.participating.area_centi_m2,
            participation_area: tally.cast.participation_area,
            participation_heads: tally.cast.participation_heads,
        })
    } else {
        None
    };
    let (my_ballots, groups) = match user.person_id {
        Some(p) => (
            votes::receipts_of(db, v.id, p).await?,
            votes::groups_of_person(db, v.id, p).await?,
        ),
        None => (Vec::new(), Vec::new()),
    };
    let mut my_units = Vec::new();
    if groups.len() > 1 {
        for g in &groups {
            if let Some(first) = votes::units_of_voter(db, v.id, g).await?.first() {
                my_units.push(*first);
            }
        }
    }
    Ok(VoteView {
        id: v.id,
        matter_id: v.matter_id,
        article_matter: v.article_matter,
        state: v.state.clone(),
        deemed_votes: v.deemed_votes,
        opened_at: v.opened_at,
        closes_at: v.closes_at,
        closed_at: v.closed_at,
        unit_count: v.unit_count,
        total_area_centi_m2: v.total_area_centi_m2,
        total_heads: v.total_heads,
        live,
        result: votes::published(v),
        my_ballots,
        is_voter: !groups.is_empty(),
        my_units,
        // While ballots come in, the head would let a reader test guesses
        // against the chain; it is published with the result.
        head_hash: (v.state != votes::OPEN || full_reader(user, compound))
            .then(|| v.head_hash.clone()),
        cancel_reason: v.cancel_reason.clone(),
    })
}

/// A matter as a reader sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MatterView {
    #[serde(flatten)]
    pub summary: MatterSummary,
    pub description: String,
    pub compound_name: String,
    pub review_from: Option<DateTime<Utc>>,
    /// Whether the reader sees the full record.
    pub full: bool,
    pub steps: Vec<StepView>,
    pub comments: Vec<CommentView>,
    pub votes: Vec<VoteView>,
    pub evaluations: Evaluations,
    /// What the reader may do now: advance, send_back, reject, withdraw.
    pub actions: Vec<ActionKind>,
    /// Whether the reader may open a vote now.
    pub can_open_vote: bool,
    /// Whether the reader may close the open vote.
    pub can_close_vote: bool,
}

pub async fn view(
    db: &impl ConnectionTrait,
    user: &Principal,
    compound: &place::Model,
    m: &matter::Model,
) -> Result<MatterView, ApiError> {
    let full = full_reader(user, compound);
    let steps = step::Entity::find()
        .filter(step::Column::MatterId.eq(m.id))
        .order_by_asc(step::Column::Sequence)
        .all(db)
        .await?
        .into_iter()
        .map(|s| {
            let record = s
                .record
                .as_deref()
                .and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok())
                .filter(|r| full || r.get("step").and_then(|v| v.as_str()) != Some("consult"));
            StepView {
                sequence: s.sequence,
                action: s.action,
                actor: s.actor,
                actor_name: s.actor_name,
                from_state: s.from_state,
                to_state: s.to_state,
                reason: s.reason,
                record,
                at: s.at,
            }
        })
        .collect();
    let comments = comment::Entity::find()
        .filter(comment::Column::MatterId.eq(m.id))
        .order_by_asc(comment::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|c| CommentView {
            id: c.id,
            author_name: c.author_name,
            body: c.body,
            created_at: c.created_at,
        })
        .collect();
    let mut vote_views = Vec::new();
    for v in vote::Entity::find()
        .filter(vote::Column::MatterId.eq(m.id))
        .order_by_asc(vote::Column::Id)
        .all(db)
        .await?
    {
        vote_views.push(vote_view(db, user, compound, &v).await?);
    }
    let respondents = evaluation::Entity::find()
        .filter(evaluation::Column::MatterId.eq(m.id))
        .count(db)
        .await?;
    let satisfied = evaluation::Entity::find()
        .filter(evaluation::Column::MatterId.eq(m.id))
        .filter(evaluation::Column::Satisfied.eq(true))
        .count(db)
        .await?;
    let my_dwellings: Vec<i64> = user
        .grants
        .iter()
        .filter(|g| matches!(g.role, Role::Resident | Role::PartyMember))
        .map(|g| g.place.id)
        .collect();
    let mine = !my_dwellings.is_empty()
        && evaluation::Entity::find()
            .filter(evaluation::Column::MatterId.eq(m.id))
            .filter(evaluation::Column::DwellingId.is_in(my_dwellings))
            .count(db)
            .await?
            > 0;
    let current = current_vote(db, m).await?;
    let in_review = m.state == State::PublicReview.as_str();
    let party_org = actors(user, compound, Some(m)).contains(&Actor::CompoundPartyOrg);
    Ok(MatterView {
        summary: m.into(),
        description: m.description.clone(),
        compound_name: compound.name.clone(),
        review_from: m.review_from,
        full,
        steps,
        comments,
        votes: vote_views,
        evaluations: Evaluations {
            respondents,
            satisfied,
            mine,
        },
        actions: available(user, compound, m),
        can_open_vote: in_review && party_org && m.joint_decision.is_some() && current.is_none(),
        can_close_vote: current.as_ref().is_some_and(|v| v.state == votes::OPEN)
            && runs_votes(user, compound),
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn a_state() -> impl Strategy<Value = Option<State>> {
        proptest::option::of(proptest::sample::select(State::ALL.to_vec()))
    }

    proptest! {
        /// The board's statement from a text kept by an earlier request,
        /// with other values, is the statement the builder makes, values
        /// and their order included, on both databases.
        #[test]
        fn the_kept_board_statement_is_the_built_one(
            postgres in any::<bool>(),
            earlier in (any::<i64>(), proptest::sample::select(State::ALL.to_vec()), any::<u64>(), any::<u64>()),
            (id, state, offset, limit) in (any::<i64>(), a_state(), any::<u64>(), any::<u64>()),
        ) {
            let backend = if postgres { DbBackend::Postgres } else { DbBackend::Sqlite };
            let kept = KeptStatements::new();
            let (id0, state0, offset0, limit0) = earlier;
            // The same shape, a state filter present or not, with other values.
            board_statement(&kept, backend, id0, state.map(|_| state0), offset0, limit0);
            prop_assert_eq!(
                board_statement(&kept, backend, id, state, offset, limit),
                build_board_statement(backend, id, state, offset, limit)
            );
        }
    }
}
