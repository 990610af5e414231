//! The life of a residents' matter, as pure code.
//!
//! intake 受理 → dispatched 派遣 → handling 办理 → replied 答复 → closed
//! 办结, with reopening (once) after an unsatisfied verdict or a failed
//! verification, merging of duplicates, and withdrawal by the reporter
//! before anyone has accepted it.
//!
//! [`allowed`] is the whole table of who may do what in which state. The
//! holder is whoever the matter sits with: the first contact that received
//! it until it is dispatched (首接负责), then the handler it was dispatched
//! or transferred to. The supervisor is the community, street or district
//! over the compound; it may dispatch, transfer, verify and close, or
//! reopen, but never accepts or replies in the handler's place. The
//! reporter may add to the matter, withdraw it before it is accepted, and
//! rate the result.
//!
//! Deadlines: the catalogue gives each category an allowance per urgency;
//! the clock starts at dispatch (and again at reopening), a warning falls
//! due at [`WARN_PERCENT`] of the allowance, and once the deadline passes
//! the matter escalates up the tree: community at the deadline, street
//! half an allowance later, district a whole allowance later.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where a matter stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ResidentMatterState)]
pub enum State {
    /// 受理: received, held by the first contact until dispatched.
    Intake,
    /// 已派遣: with a handler, not yet accepted; the clock runs.
    Dispatched,
    /// 办理中: accepted and being handled; the clock runs.
    Handling,
    /// 已答复: the handler has replied to the reporter.
    Replied,
    /// 已办结: verified and closed (the reporter may still rate it).
    Closed,
    /// Merged into another matter as a duplicate.
    Merged,
    /// Withdrawn by the reporter.
    Withdrawn,
}

impl State {
    pub const ALL: [State; 7] = [
        State::Intake,
        State::Dispatched,
        State::Handling,
        State::Replied,
        State::Closed,
        State::Merged,
        State::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Intake => "intake",
            State::Dispatched => "dispatched",
            State::Handling => "handling",
            State::Replied => "replied",
            State::Closed => "closed",
            State::Merged => "merged",
            State::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// States nothing leaves.
    pub fn is_final(self) -> bool {
        matches!(self, State::Merged | State::Withdrawn)
    }

    /// States whose deadline clock runs.
    pub fn clock_runs(self) -> bool {
        matches!(self, State::Dispatched | State::Handling)
    }

    /// States that still need someone's work.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            State::Intake | State::Dispatched | State::Handling | State::Replied
        )
    }
}

/// What an actor asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ResidentMatterActionKind)]
pub enum ActionKind {
    Dispatch,
    Accept,
    /// Hand the matter to another handler, with a reason.
    Transfer,
    /// A progress note (or the reporter's addition).
    Note,
    Reply,
    /// Verify and close.
    Close,
    Reopen,
    Rate,
    Withdraw,
    /// Merge this matter into another as a duplicate.
    Merge,
}

impl ActionKind {
    pub const ALL: [ActionKind; 10] = [
        ActionKind::Dispatch,
        ActionKind::Accept,
        ActionKind::Transfer,
        ActionKind::Note,
        ActionKind::Reply,
        ActionKind::Close,
        ActionKind::Reopen,
        ActionKind::Rate,
        ActionKind::Withdraw,
        ActionKind::Merge,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Dispatch => "dispatch",
            ActionKind::Accept => "accept",
            ActionKind::Transfer => "transfer",
            ActionKind::Note => "note",
            ActionKind::Reply => "reply",
            ActionKind::Close => "close",
            ActionKind::Reopen => "reopen",
            ActionKind::Rate => "rate",
            ActionKind::Withdraw => "withdraw",
            ActionKind::Merge => "merge",
        }
    }

    pub fn parse(s: &str) -> Option<ActionKind> {
        ActionKind::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// Who acts, as far as the process is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    Reporter,
    /// Whoever holds the matter now.
    Holder,
    /// The community, street or district over the compound.
    Supervisor,
}

impl Actor {
    pub const ALL: [Actor; 3] = [Actor::Reporter, Actor::Holder, Actor::Supervisor];

    pub fn as_str(self) -> &'static str {
        match self {
            Actor::Reporter => "reporter",
            Actor::Holder => "holder",
            Actor::Supervisor => "supervisor",
        }
    }
}

/// Why the table refuses a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransitionError {
    #[error("the matter has ended")]
    Final,
    #[error("this action is not possible in this state")]
    Unavailable,
    #[error("this actor may not take this action in this state")]
    Forbidden,
}

/// The rows of the table: the state `action` by `actor` leads to.
fn target(state: State, action: ActionKind, actor: Actor) -> Option<State> {
    use ActionKind::*;
    use Actor::*;
    use State::*;
    match (state, action, actor) {
        (Intake, Dispatch, Holder | Supervisor) => Some(Dispatched),
        (Dispatched, Accept, Holder) => Some(Handling),
        (Dispatched | Handling, Transfer, Holder | Supervisor) => Some(Dispatched),
        (Intake | Dispatched | Handling | Replied, Note, _) => Some(state),
        (Handling, Reply, Holder) => Some(Replied),
        (Replied, Close, Holder | Supervisor) => Some(Closed),
        (Replied | Closed, Reopen, Supervisor) => Some(Handling),
        // The verdict decides between closed and handling: see [`after_rating`].
        (Replied | Closed, Rate, Reporter) => Some(Closed),
        (Intake | Dispatched, Withdraw, Reporter) => Some(Withdrawn),
        (Intake | Dispatched | Handling, Merge, Holder | Supervisor) => Some(Merged),
        _ => None,
    }
}

/// The transition table: the state `action` by `actor` leads to from
/// `state`, or why it is refused (no actor may do it here: unavailable;
/// another actor could: forbidden).
pub fn allowed(state: State, action: ActionKind, actor: Actor) -> Result<State, TransitionError> {
    if state.is_final() {
        return Err(TransitionError::Final);
    }
    match target(state, action, actor) {
        Some(to) => Ok(to),
        None if Actor::ALL
            .iter()
            .any(|a| target(state, action, *a).is_some()) =>
        {
            Err(TransitionError::Forbidden)
        }
        None => Err(TransitionError::Unavailable),
    }
}

/// The first of `actors` the table lets take `action`, with the state it
/// leads to; otherwise the error of the most telling refusal.
pub fn allowed_for_any(
    state: State,
    action: ActionKind,
    actors: &[Actor],
) -> Result<(Actor, State), TransitionError> {
    let mut err = TransitionError::Forbidden;
    for a in actors {
        match allowed(state, action, *a) {
            Ok(to) => return Ok((*a, to)),
            Err(e) => err = e,
        }
    }
    if actors.is_empty() {
        return allowed(state, action, Actor::Reporter)
            .and(Err(TransitionError::Forbidden))
            .map(|s| (Actor::Reporter, s));
    }
    Err(err)
}

/// Who a matter may be dispatched or transferred to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ResidentMatterHandlerKind)]
pub enum HandlerKind {
    /// 物业: the compound's property company.
    PropertyCompany,
    /// 业委会: the compound's owners' committee.
    OwnersCommittee,
    /// 小区党组织: the compound's party organisation.
    PartyOrg,
    /// 社区: the community over the compound.
    Community,
    /// 机关单位: a paired agency (named by its admin's account for now).
    Agency,
}

impl HandlerKind {
    pub const ALL: [HandlerKind; 5] = [
        HandlerKind::PropertyCompany,
        HandlerKind::OwnersCommittee,
        HandlerKind::PartyOrg,
        HandlerKind::Community,
        HandlerKind::Agency,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HandlerKind::PropertyCompany => "property_company",
            HandlerKind::OwnersCommittee => "owners_committee",
            HandlerKind::PartyOrg => "party_org",
            HandlerKind::Community => "community",
            HandlerKind::Agency => "agency",
        }
    }

    pub fn parse(s: &str) -> Option<HandlerKind> {
        HandlerKind::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether the handler sits at the compound (rather than the community
    /// or an agency).
    pub fn at_compound(self) -> bool {
        matches!(
            self,
            HandlerKind::PropertyCompany | HandlerKind::OwnersCommittee | HandlerKind::PartyOrg
        )
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[schema(as = ResidentMatterUrgency)]
pub enum Urgency {
    /// 紧急: feedback within hours.
    Emergency,
    /// 一般.
    Normal,
    /// 复杂: needs several parties.
    Complex,
}

impl Urgency {
    pub const ALL: [Urgency; 3] = [Urgency::Emergency, Urgency::Normal, Urgency::Complex];

    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::Emergency => "emergency",
            Urgency::Normal => "normal",
            Urgency::Complex => "complex",
        }
    }

    pub fn parse(s: &str) -> Option<Urgency> {
        Urgency::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A category's feedback allowances, in minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = ResidentMatterAllowances)]
pub struct Allowances {
    pub emergency_minutes: i64,
    pub normal_minutes: i64,
    pub complex_minutes: i64,
}

/// The longest allowance the catalogue accepts: one year.
pub const MAX_ALLOWANCE_MINUTES: i64 = 365 * 24 * 60;

impl Allowances {
    pub fn minutes(&self, urgency: Urgency) -> i64 {
        match urgency {
            Urgency::Emergency => self.emergency_minutes,
            Urgency::Normal => self.normal_minutes,
            Urgency::Complex => self.complex_minutes,
        }
    }

    /// Every allowance within 1 minute … one year.
    pub fn check(self) -> Result<Self, Invalid> {
        for m in [
            self.emergency_minutes,
            self.normal_minutes,
            self.complex_minutes,
        ] {
            if !(1..=MAX_ALLOWANCE_MINUTES).contains(&m) {
                return Err(Invalid::new("resident_matters.error.allowance"));
            }
        }
        Ok(self)
    }
}

/// The share of the allowance after which a warning falls due.
pub const WARN_PERCENT: i64 = 80;

/// A running deadline clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    pub started_at: DateTime<Utc>,
    pub warn_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
}

impl Clock {
    /// Starts the clock at `at` for an allowance of `minutes`.
    pub fn start(at: DateTime<Utc>, minutes: i64) -> Clock {
        let minutes = minutes.clamp(1, MAX_ALLOWANCE_MINUTES);
        let allowance = Duration::minutes(minutes);
        let warn = Duration::seconds(minutes * 60 * WARN_PERCENT / 100);
        Clock {
            started_at: at,
            warn_at: at + warn,
            due_at: at + allowance,
        }
    }

    pub fn allowance(&self) -> Duration {
        self.due_at - self.started_at
    }

    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        now >= self.due_at
    }

    /// How far up the tree the matter has gone by `now`.
    pub fn escalation(&self, now: DateTime<Utc>) -> Escalation {
        escalation_level(self.started_at, self.due_at, now)
    }
}

/// How far up the tree a late matter has gone.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[schema(as = ResidentMatterEscalation)]
pub enum Escalation {
    /// Not late: the compound's handler deals with it.
    None,
    Community,
    Street,
    District,
}

impl Escalation {
    pub fn level(self) -> i32 {
        match self {
            Escalation::None => 0,
            Escalation::Community => 1,
            Escalation::Street => 2,
            Escalation::District => 3,
        }
    }

    pub fn from_level(level: i32) -> Escalation {
        match level {
            i32::MIN..=0 => Escalation::None,
            1 => Escalation::Community,
            2 => Escalation::Street,
            _ => Escalation::District,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Escalation::None => "none",
            Escalation::Community => "community",
            Escalation::Street => "street",
            Escalation::District => "district",
        }
    }
}

/// Community at the deadline, street half an allowance after it, district
/// a whole allowance after it.
pub fn escalation_level(
    started_at: DateTime<Utc>,
    due_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Escalation {
    if now < due_at {
        return Escalation::None;
    }
    let allowance = (due_at - started_at).num_seconds().max(1);
    let late = (now - due_at).num_seconds();
    if late * 2 < allowance {
        Escalation::Community
    } else if late < allowance {
        Escalation::Street
    } else {
        Escalation::District
    }
}

/// A matter is reopened at most once.
pub const MAX_REOPENS: i32 = 1;

pub fn may_reopen(reopened_count: i32) -> bool {
    reopened_count < MAX_REOPENS
}

/// The reporter's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ResidentMatterSatisfaction)]
pub enum Satisfaction {
    Satisfied,
    Basically,
    NotSatisfied,
}

impl Satisfaction {
    pub const ALL: [Satisfaction; 3] = [
        Satisfaction::Satisfied,
        Satisfaction::Basically,
        Satisfaction::NotSatisfied,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Satisfaction::Satisfied => "satisfied",
            Satisfaction::Basically => "basically",
            Satisfaction::NotSatisfied => "not_satisfied",
        }
    }

    pub fn parse(s: &str) -> Option<Satisfaction> {
        Satisfaction::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// Where a rating leaves the matter: an unsatisfied verdict reopens it
/// once; otherwise it is closed.
pub fn after_rating(verdict: Satisfaction, reopened_count: i32) -> State {
    if verdict == Satisfaction::NotSatisfied && may_reopen(reopened_count) {
        State::Handling
    } else {
        State::Closed
    }
}

/// One side of a merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MergeSide {
    pub id: i64,
    pub compound_id: i64,
    pub state: State,
}

/// A duplicate goes into another matter of the same compound that still
/// needs work; never into itself.
pub fn check_merge(duplicate: MergeSide, into: MergeSide) -> Result<(), Invalid> {
    if duplicate.id == into.id {
        return Err(Invalid::new("resident_matters.error.merge_self"));
    }
    if duplicate.compound_id != into.compound_id {
        return Err(Invalid::new("resident_matters.error.merge_compound"));
    }
    if !into.state.is_open() {
        return Err(Invalid::new("resident_matters.error.merge_target"));
    }
    Ok(())
}

/// A refused value, named by its locale key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid {
    pub key: &'static str,
}

impl Invalid {
    pub const fn new(key: &'static str) -> Invalid {
        Invalid { key }
    }
}

pub const MAX_TITLE: usize = 128;
pub const MAX_TEXT: usize = 4000;

fn trimmed(s: &str, max: usize, key: &'static str) -> Result<String, Invalid> {
    let t = s.trim();
    if t.is_empty() || t.chars().count() > max {
        return Err(Invalid::new(key));
    }
    Ok(t.to_string())
}

pub fn check_title(s: &str) -> Result<String, Invalid> {
    trimmed(s, MAX_TITLE, "resident_matters.error.title")
}

pub fn check_description(s: &str) -> Result<String, Invalid> {
    trimmed(s, MAX_TEXT, "resident_matters.error.description")
}

/// A note or a reason: required where the action needs it, never too long.
pub fn check_text(s: Option<&str>, required: bool) -> Result<Option<String>, Invalid> {
    match s.map(str::trim).filter(|t| !t.is_empty()) {
        None if required => Err(Invalid::new("resident_matters.error.reason")),
        None => Ok(None),
        Some(t) if t.chars().count() > MAX_TEXT => {
            Err(Invalid::new("resident_matters.error.text_long"))
        }
        Some(t) => Ok(Some(t.to_string())),
    }
}

/// Latitude and longitude in millionths of a degree, both or neither.
pub fn check_coordinates(
    lat: Option<i64>,
    lon: Option<i64>,
) -> Result<Option<(i32, i32)>, Invalid> {
    match (lat, lon) {
        (None, None) => Ok(None),
        (Some(la), Some(lo))
            if (-90_000_000..=90_000_000).contains(&la)
                && (-180_000_000..=180_000_000).contains(&lo) =>
        {
            Ok(Some((la as i32, lo as i32)))
        }
        _ => Err(Invalid::new("resident_matters.error.coordinates")),
    }
}

/// Largest photo accepted.
pub const MAX_PHOTO_BYTES: usize = 5 * 1024 * 1024;
/// Photos on one matter.
pub const MAX_PHOTOS: usize = 12;

/// The image type of `bytes` by its magic numbers: JPEG, PNG or WebP.
pub fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// A photo's content type, or why it is refused.
pub fn check_photo(bytes: &[u8]) -> Result<&'static str, Invalid> {
    if bytes.is_empty() {
        return Err(Invalid::new("resident_matters.error.photo_type"));
    }
    if bytes.len() > MAX_PHOTO_BYTES {
        return Err(Invalid::new("resident_matters.error.photo_size"));
    }
    sniff_image(bytes).ok_or(Invalid::new("resident_matters.error.photo_type"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap()
    }

    #[test]
    fn codes_round_trip() {
        for s in State::ALL {
            assert_eq!(State::parse(s.as_str()), Some(s));
        }
        for a in ActionKind::ALL {
            assert_eq!(ActionKind::parse(a.as_str()), Some(a));
        }
        for h in HandlerKind::ALL {
            assert_eq!(HandlerKind::parse(h.as_str()), Some(h));
        }
        for u in Urgency::ALL {
            assert_eq!(Urgency::parse(u.as_str()), Some(u));
        }
        for s in Satisfaction::ALL {
            assert_eq!(Satisfaction::parse(s.as_str()), Some(s));
        }
        assert_eq!(State::parse("open"), None);
    }

    /// Every legal step, spelled out; everything else is refused.
    const LEGAL: &[(State, ActionKind, Actor, State)] = {
        use ActionKind::*;
        use Actor::*;
        use State::*;
        &[
            (Intake, Dispatch, Holder, Dispatched),
            (Intake, Dispatch, Supervisor, Dispatched),
            (Intake, Note, Reporter, Intake),
            (Intake, Note, Holder, Intake),
            (Intake, Note, Supervisor, Intake),
            (Intake, Withdraw, Reporter, Withdrawn),
            (Intake, Merge, Holder, Merged),
            (Intake, Merge, Supervisor, Merged),
            (Dispatched, Accept, Holder, Handling),
            (Dispatched, Transfer, Holder, Dispatched),
            (Dispatched, Transfer, Supervisor, Dispatched),
            (Dispatched, Note, Reporter, Dispatched),
            (Dispatched, Note, Holder, Dispatched),
            (Dispatched, Note, Supervisor, Dispatched),
            (Dispatched, Withdraw, Reporter, Withdrawn),
            (Dispatched, Merge, Holder, Merged),
            (Dispatched, Merge, Supervisor, Merged),
            (Handling, Transfer, Holder, Dispatched),
            (Handling, Transfer, Supervisor, Dispatched),
            (Handling, Note, Reporter, Handling),
            (Handling, Note, Holder, Handling),
            (Handling, Note, Supervisor, Handling),
            (Handling, Reply, Holder, Replied),
            (Handling, Merge, Holder, Merged),
            (Handling, Merge, Supervisor, Merged),
            (Replied, Note, Reporter, Replied),
            (Replied, Note, Holder, Replied),
            (Replied, Note, Supervisor, Replied),
            (Replied, Close, Holder, Closed),
            (Replied, Close, Supervisor, Closed),
            (Replied, Reopen, Supervisor, Handling),
            (Replied, Rate, Reporter, Closed),
            (Closed, Reopen, Supervisor, Handling),
            (Closed, Rate, Reporter, Closed),
        ]
    };

    #[test]
    fn every_step_of_the_table() {
        for s in State::ALL {
            for a in ActionKind::ALL {
                for who in Actor::ALL {
                    let legal = LEGAL
                        .iter()
                        .find(|(s2, a2, w2, _)| *s2 == s && *a2 == a && *w2 == who);
                    let got = allowed(s, a, who);
                    match legal {
                        Some((_, _, _, to)) => assert_eq!(got, Ok(*to), "{s:?} {a:?} {who:?}"),
                        None if s.is_final() => {
                            assert_eq!(got, Err(TransitionError::Final))
                        }
                        None => {
                            let someone = LEGAL.iter().any(|(s2, a2, _, _)| *s2 == s && *a2 == a);
                            let want = if someone {
                                TransitionError::Forbidden
                            } else {
                                TransitionError::Unavailable
                            };
                            assert_eq!(got, Err(want), "{s:?} {a:?} {who:?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn only_the_holder_accepts_and_replies() {
        assert_eq!(
            allowed(State::Dispatched, ActionKind::Accept, Actor::Supervisor),
            Err(TransitionError::Forbidden)
        );
        assert_eq!(
            allowed(State::Handling, ActionKind::Reply, Actor::Reporter),
            Err(TransitionError::Forbidden)
        );
        assert_eq!(
            allowed(State::Replied, ActionKind::Close, Actor::Reporter),
            Err(TransitionError::Forbidden)
        );
        assert_eq!(
            allowed(State::Intake, ActionKind::Close, Actor::Holder),
            Err(TransitionError::Unavailable)
        );
    }

    #[test]
    fn any_actor_picks_the_allowed_one() {
        assert_eq!(
            allowed_for_any(
                State::Intake,
                ActionKind::Dispatch,
                &[Actor::Reporter, Actor::Supervisor]
            ),
            Ok((Actor::Supervisor, State::Dispatched))
        );
        assert_eq!(
            allowed_for_any(State::Intake, ActionKind::Dispatch, &[]),
            Err(TransitionError::Forbidden)
        );
        assert_eq!(
            allowed_for_any(State::Intake, ActionKind::Reply, &[]),
            Err(TransitionError::Unavailable)
        );
    }

    #[test]
    fn rating_reopens_once() {
        assert_eq!(after_rating(Satisfaction::NotSatisfied, 0), State::Handling);
        assert_eq!(after_rating(Satisfaction::NotSatisfied, 1), State::Closed);
        assert_eq!(after_rating(Satisfaction::Basically, 0), State::Closed);
        assert_eq!(after_rating(Satisfaction::Satisfied, 0), State::Closed);
        assert!(may_reopen(0) && !may_reopen(1));
    }

    #[test]
    fn deadlines_of_the_catalogue() {
        let c = Clock::start(t0(), 120);
        assert_eq!(c.due_at, t0() + Duration::hours(2));
        assert_eq!(c.warn_at, t0() + Duration::minutes(96));
        assert_eq!(
            c.escalation(t0() + Duration::minutes(119)),
            Escalation::None
        );
        assert_eq!(
            c.escalation(t0() + Duration::hours(2)),
            Escalation::Community
        );
        assert_eq!(c.escalation(t0() + Duration::hours(3)), Escalation::Street);
        assert_eq!(
            c.escalation(t0() + Duration::hours(4)),
            Escalation::District
        );
        let week = Clock::start(t0(), 7 * 24 * 60);
        assert_eq!(week.due_at, t0() + Duration::days(7));
        assert_eq!(
            Allowances {
                emergency_minutes: 0,
                normal_minutes: 10,
                complex_minutes: 10
            }
            .check(),
            Err(Invalid::new("resident_matters.error.allowance"))
        );
    }

    #[test]
    fn merges() {
        let a = MergeSide {
            id: 1,
            compound_id: 5,
            state: State::Intake,
        };
        let b = MergeSide {
            id: 2,
            compound_id: 5,
            state: State::Handling,
        };
        assert_eq!(check_merge(a, b), Ok(()));
        assert!(check_merge(a, a).is_err());
        assert!(
            check_merge(
                a,
                MergeSide {
                    compound_id: 6,
                    ..b
                }
            )
            .is_err()
        );
        assert!(
            check_merge(
                a,
                MergeSide {
                    state: State::Closed,
                    ..b
                }
            )
            .is_err()
        );
    }

    #[test]
    fn photos_by_magic_bytes() {
        assert_eq!(check_photo(&[0xFF, 0xD8, 0xFF, 0xE0, 0]), Ok("image/jpeg"));
        assert_eq!(check_photo(b"\x89PNG\r\n\x1a\n...."), Ok("image/png"));
        assert_eq!(check_photo(b"RIFF\0\0\0\0WEBPVP8 "), Ok("image/webp"));
        assert!(check_photo(b"GIF89a").is_err());
        assert!(check_photo(b"").is_err());
        let mut big = vec![0xFF, 0xD8, 0xFF];
        big.resize(MAX_PHOTO_BYTES + 1, 0);
        assert_eq!(
            check_photo(&big),
            Err(Invalid::new("resident_matters.error.photo_size"))
        );
    }

    #[test]
    fn texts_and_coordinates() {
        assert!(check_title("  ").is_err());
        assert_eq!(check_title(" 漏水 ").unwrap(), "漏水");
        assert!(check_text(None, true).is_err());
        assert_eq!(check_text(Some(" "), false), Ok(None));
        assert!(check_coordinates(Some(1), None).is_err());
        assert_eq!(
            check_coordinates(Some(26_050_000), Some(119_300_000)),
            Ok(Some((26_050_000, 119_300_000)))
        );
    }

    fn action() -> impl Strategy<Value = (ActionKind, Actor)> {
        (0..ActionKind::ALL.len(), 0..Actor::ALL.len())
            .prop_map(|(a, w)| (ActionKind::ALL[a], Actor::ALL[w]))
    }

    proptest! {
        /// Any sequence of requests: final states are never left, handling
        /// is entered only by acceptance or reopening, and every accepted
        /// step is in the table.
        #[test]
        fn sequences_follow_the_table(steps in proptest::collection::vec(action(), 0..40)) {
            let mut state = State::Intake;
            let mut reopened = 0;
            for (a, who) in steps {
                let before = state;
                match allowed(state, a, who) {
                    Ok(mut to) => {
                        prop_assert!(!before.is_final());
                        if a == ActionKind::Rate {
                            to = after_rating(Satisfaction::NotSatisfied, reopened);
                        }
                        if a == ActionKind::Reopen && !may_reopen(reopened) {
                            continue;
                        }
                        if to == State::Handling && before != State::Handling {
                            prop_assert!(matches!(a, ActionKind::Accept | ActionKind::Reopen | ActionKind::Rate));
                            if a != ActionKind::Accept { reopened += 1; }
                        }
                        state = to;
                    }
                    Err(TransitionError::Final) => prop_assert!(before.is_final()),
                    Err(_) => prop_assert!(!before.is_final()),
                }
                prop_assert!(reopened <= MAX_REOPENS);
            }
        }

        /// The warning falls inside the allowance, and escalation only
        /// rises with time.
        #[test]
        fn deadline_arithmetic(minutes in 1i64..=MAX_ALLOWANCE_MINUTES, a in 0i64..2_000_000, b in 0i64..2_000_000) {
            let c = Clock::start(t0(), minutes);
            prop_assert!(c.started_at < c.warn_at);
            prop_assert!(c.warn_at < c.due_at);
            prop_assert_eq!(c.allowance(), Duration::minutes(minutes));
            let (early, late) = (a.min(b), a.max(b));
            let e1 = c.escalation(t0() + Duration::minutes(early));
            let e2 = c.escalation(t0() + Duration::minutes(late));
            prop_assert!(e1 <= e2);
            prop_assert_eq!(e2 == Escalation::None, !c.is_overdue(t0() + Duration::minutes(late)));
            prop_assert_eq!(Escalation::from_level(e2.level()), e2);
        }
    }
}
