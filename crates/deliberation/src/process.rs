//! The five deliberations (五议) of a compound matter as a state machine:
//! propose 提议 → motion 动议 → consult 商议 → public review 公议 →
//! evaluate 评议 → closed, with rejected and withdrawn as the other ends.
//!
//! [`allowed`] is the whole table of who may do what in which state. The
//! compound party organisation leads a deliberation forward; the community
//! and the street, which oversee the compound, may send it back a step or
//! reject it but never move it on; the proposer (a resident or an owner) may
//! withdraw it until it goes to public review, when the owners and residents
//! have been asked to look at it.
//!
//! [`Deliberation::apply`] adds what the table does not hold: every step is
//! left with a record of the step ([`Record`]) that meets the step's
//! [`requirements`], and sending back or rejecting needs a reason.
//!
//! # A vote that fails
//!
//! When the matter is an owners' joint decision, public review cannot be
//! completed without a closed vote whose outcome is
//! [`Passed`](crate::vote::Outcome::Passed). A failed vote does not move
//! the deliberation by itself: it stays in public review, where the only ways
//! on are back to consult (to rework the plan and open a new vote) or
//! rejection, each by an actor who records the reason. Rejecting outright on
//! a failed vote would be wrong when too few owners took part, which says
//! nothing about what the owners want; advancing is never possible.

use serde::{Deserialize, Serialize};

use crate::vote::{Matter, Outcome};

/// Where a deliberation stands.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// 提议: a resident or owner has proposed something.
    Propose,
    /// 动议: the compound party organisation has taken it up.
    Motion,
    /// 商议: the joint meeting consults on the plan.
    Consult,
    /// 公议: the plan is published and, where the law requires, voted on.
    PublicReview,
    /// 评议: residents judge the result once it is done.
    Evaluate,
    Closed,
    Rejected,
    Withdrawn,
}

impl State {
    pub const ALL: [State; 8] = [
        State::Propose,
        State::Motion,
        State::Consult,
        State::PublicReview,
        State::Evaluate,
        State::Closed,
        State::Rejected,
        State::Withdrawn,
    ];

    pub fn is_terminal(self) -> bool {
        matches!(self, State::Closed | State::Rejected | State::Withdrawn)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            State::Propose => "propose",
            State::Motion => "motion",
            State::Consult => "consult",
            State::PublicReview => "public_review",
            State::Evaluate => "evaluate",
            State::Closed => "closed",
            State::Rejected => "rejected",
            State::Withdrawn => "withdrawn",
        }
    }
}

/// What an actor asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Complete the current step and go to the next.
    Advance,
    /// Go back to the previous step.
    SendBack,
    Reject,
    Withdraw,
}

impl ActionKind {
    pub const ALL: [ActionKind; 4] = [
        ActionKind::Advance,
        ActionKind::SendBack,
        ActionKind::Reject,
        ActionKind::Withdraw,
    ];
}

/// Who acts, as far as the process is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// The resident or owner who made the proposal.
    Proposer,
    /// The compound's party organisation (小区党组织), which leads.
    CompoundPartyOrg,
    /// The community (社区) the compound belongs to.
    Community,
    /// The street or town (街道/镇) above the community.
    Street,
}

impl Actor {
    pub const ALL: [Actor; 4] = [
        Actor::Proposer,
        Actor::CompoundPartyOrg,
        Actor::Community,
        Actor::Street,
    ];
}

/// Why the table refuses a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransitionError {
    #[error("the deliberation has ended")]
    Terminal,
    #[error("this action is not possible at this step")]
    Unavailable,
    #[error("this actor may not take this action at this step")]
    Forbidden,
}

/// The transition table: the state `action` by `actor` leads to from
/// `state`, or why it is refused.
pub fn allowed(state: State, action: ActionKind, actor: Actor) -> Result<State, TransitionError> {
    use ActionKind::*;
    use Actor::*;
    use State::*;
    use TransitionError::*;
    match (state, action, actor) {
        (Closed | Rejected | Withdrawn, _, _) => Err(Terminal),

        (Propose, Advance, CompoundPartyOrg) => Ok(Motion),
        (Motion, Advance, CompoundPartyOrg) => Ok(Consult),
        (Consult, Advance, CompoundPartyOrg) => Ok(PublicReview),
        (PublicReview, Advance, CompoundPartyOrg) => Ok(Evaluate),
        (Evaluate, Advance, CompoundPartyOrg) => Ok(Closed),
        (_, Advance, Proposer | Community | Street) => Err(Forbidden),

        (Propose, SendBack, _) => Err(Unavailable),
        (Motion, SendBack, CompoundPartyOrg | Community | Street) => Ok(Propose),
        (Consult, SendBack, CompoundPartyOrg | Community | Street) => Ok(Motion),
        (PublicReview, SendBack, CompoundPartyOrg | Community | Street) => Ok(Consult),
        (Evaluate, SendBack, CompoundPartyOrg | Community | Street) => Ok(PublicReview),
        (_, SendBack, Proposer) => Err(Forbidden),

        (Evaluate, Reject, _) => Err(Unavailable),
        (_, Reject, CompoundPartyOrg | Community | Street) => Ok(Rejected),
        (_, Reject, Proposer) => Err(Forbidden),

        (Propose | Motion | Consult, Withdraw, Proposer) => Ok(Withdrawn),
        (Propose | Motion | Consult, Withdraw, _) => Err(Forbidden),
        (PublicReview | Evaluate, Withdraw, _) => Err(Unavailable),
    }
}

/// A party at the consultation meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    CompoundPartyOrg,
    OwnersCommittee,
    PropertyCompany,
    Community,
    OwnerRepresentative,
    Resident,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attendee {
    pub party: Party,
    pub name: String,
}

/// The record that completes the current step. Times are seconds since the
/// Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Record {
    /// Propose → motion: why the party organisation takes the proposal up.
    Propose { summary: String },
    /// Motion → consult: the plan to consult on, and whether it is an
    /// owners' joint decision (and which matter of art. 278).
    Motion {
        plan: String,
        joint_decision: Option<Matter>,
    },
    /// Consult → public review: the joint meeting.
    Consult {
        held_at: i64,
        attendees: Vec<Attendee>,
        minutes: String,
    },
    /// Public review → evaluate: the publication (公示) and the outcome of
    /// the owners' vote, if one was held.
    PublicReview {
        published_from: i64,
        published_until: i64,
        vote: Option<Outcome>,
    },
    /// Evaluate → closed: how residents judged the result.
    Evaluate { respondents: u32, satisfied: u32 },
}

impl Record {
    /// The step this record completes.
    pub fn step(&self) -> State {
        match self {
            Record::Propose { .. } => State::Propose,
            Record::Motion { .. } => State::Motion,
            Record::Consult { .. } => State::Consult,
            Record::PublicReview { .. } => State::PublicReview,
            Record::Evaluate { .. } => State::Evaluate,
        }
    }
}

/// What completing a step needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Requirement {
    /// A non-empty summary of why the proposal is taken up.
    Summary,
    /// A non-empty plan.
    Plan,
    /// Someone of this party at the meeting, by name.
    Attendance(Party),
    /// Non-empty minutes of the meeting.
    Minutes,
    /// A publication lasting at least this many days (of 86,400 s).
    PublicationDays(u32),
    /// A closed owners' vote that passed; any vote held must have passed.
    VotePassed,
    /// At least this many residents' evaluations, no more of them satisfied
    /// than there are evaluations.
    Respondents(u32),
}

/// A compound's settings for the process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessSettings {
    /// The shortest publication in public review, in days.
    pub min_publication_days: u32,
    /// The parties that must attend the consultation meeting. A compound
    /// without an owners' committee or a property company drops them here.
    pub consult_parties: Vec<Party>,
    /// The fewest evaluations that close a deliberation.
    pub min_evaluation_respondents: u32,
}

impl Default for ProcessSettings {
    fn default() -> ProcessSettings {
        ProcessSettings {
            min_publication_days: 7,
            consult_parties: vec![
                Party::CompoundPartyOrg,
                Party::OwnersCommittee,
                Party::PropertyCompany,
                Party::Community,
            ],
            min_evaluation_respondents: 1,
        }
    }
}

/// What completing `step` needs, for a deliberation whose plan is (or is
/// not) an owners' joint decision. Empty for the terminal states.
pub fn requirements(
    step: State,
    joint_decision: Option<Matter>,
    settings: &ProcessSettings,
) -> Vec<Requirement> {
    match step {
        State::Propose => vec![Requirement::Summary],
        State::Motion => vec![Requirement::Plan],
        State::Consult => settings
            .consult_parties
            .iter()
            .map(|p| Requirement::Attendance(*p))
            .chain([Requirement::Minutes])
            .collect(),
        State::PublicReview => {
            let mut r = vec![Requirement::PublicationDays(settings.min_publication_days)];
            if joint_decision.is_some() {
                r.push(Requirement::VotePassed);
            }
            r
        }
        State::Evaluate => vec![Requirement::Respondents(
            settings.min_evaluation_respondents,
        )],
        State::Closed | State::Rejected | State::Withdrawn => Vec::new(),
    }
}

/// The requirements of the record's step that the record does not meet.
pub fn unmet(
    record: &Record,
    joint_decision: Option<Matter>,
    settings: &ProcessSettings,
) -> Vec<Requirement> {
    let filled = |s: &str| !s.trim().is_empty();
    let met = |req: &Requirement| match (req, record) {
        (Requirement::Summary, Record::Propose { summary }) => filled(summary),
        (Requirement::Plan, Record::Motion { plan, .. }) => filled(plan),
        (Requirement::Attendance(party), Record::Consult { attendees, .. }) => attendees
            .iter()
            .any(|a| a.party == *party && filled(&a.name)),
        (Requirement::Minutes, Record::Consult { minutes, .. }) => filled(minutes),
        (
            Requirement::PublicationDays(days),
            Record::PublicReview {
                published_from,
                published_until,
                ..
            },
        ) => {
            let lasted = i128::from(*published_until) - i128::from(*published_from);
            lasted >= i128::from(*days) * 86_400
        }
        (Requirement::VotePassed, Record::PublicReview { vote, .. }) => {
            *vote == Some(Outcome::Passed)
        }
        (
            Requirement::Respondents(min),
            Record::Evaluate {
                respondents,
                satisfied,
            },
        ) => respondents >= min && satisfied <= respondents,
        _ => false,
    };
    let mut required = requirements(record.step(), joint_decision, settings);
    // A vote held on a matter that is no joint decision must have passed too.
    if let Record::PublicReview { vote: Some(_), .. } = record
        && !required.contains(&Requirement::VotePassed)
    {
        required.push(Requirement::VotePassed);
    }
    required.into_iter().filter(|r| !met(r)).collect()
}

/// An action with what it carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Advance { record: Record },
    SendBack { reason: String },
    Reject { reason: String },
    Withdraw,
}

impl Action {
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::Advance { .. } => ActionKind::Advance,
            Action::SendBack { .. } => ActionKind::SendBack,
            Action::Reject { .. } => ActionKind::Reject,
            Action::Withdraw => ActionKind::Withdraw,
        }
    }
}

/// Why an action is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcessError {
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error("the record is for another step than {}", .expected.as_str())]
    WrongRecord { expected: State },
    #[error("the step's requirements are not met: {0:?}")]
    Unmet(Vec<Requirement>),
    #[error("a reason is required")]
    ReasonRequired,
}

/// A deliberation as the process sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deliberation {
    pub state: State,
    /// Set by the plan at the motion step: whether public review needs an
    /// owners' vote, and on which matter.
    pub joint_decision: Option<Matter>,
}

impl Default for Deliberation {
    fn default() -> Deliberation {
        Deliberation::new()
    }
}

impl Deliberation {
    /// A new proposal.
    pub fn new() -> Deliberation {
        Deliberation {
            state: State::Propose,
            joint_decision: None,
        }
    }

    /// The deliberation after `action` by `actor`: the table first, then
    /// the reason or the record.
    pub fn apply(
        &self,
        action: &Action,
        actor: Actor,
        settings: &ProcessSettings,
    ) -> Result<Deliberation, ProcessError> {
        let state = allowed(self.state, action.kind(), actor)?;
        let mut next = Deliberation { state, ..*self };
        match action {
            Action::SendBack { reason } | Action::Reject { reason } => {
                if reason.trim().is_empty() {
                    return Err(ProcessError::ReasonRequired);
                }
            }
            Action::Withdraw => {}
            Action::Advance { record } => {
                if record.step() != self.state {
                    return Err(ProcessError::WrongRecord {
                        expected: self.state,
                    });
                }
                if let Record::Motion { joint_decision, .. } = record {
                    next.joint_decision = *joint_decision;
                }
                let unmet = unmet(record, next.joint_decision, settings);
                if !unmet.is_empty() {
                    return Err(ProcessError::Unmet(unmet));
                }
            }
        }
        Ok(next)
    }
}
