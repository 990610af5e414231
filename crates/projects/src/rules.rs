//! The life of a party-building project (党建项目), as pure code.
//!
//! planned 待审核 → approved 已批准 → in progress 实施中 → done 已完成,
//! with returned 退回修改 (the street sent the plan back with a reason; the
//! agency revises it, which submits it again), rejected 未通过 and
//! cancelled 已取消 as the other ends. Once done, the compound's party
//! organisation and its residents evaluate it (评议), one score 1–5 each.
//!
//! [`next`] is the whole table of who may do what in which state; every
//! refusal names its reason (a locale key) and whether it is the actor's
//! lack of power (403) or the project's state (409). [`tally`] computes the
//! figures from the records: counts by state, the share of finished
//! projects that were evaluated, and mean scores, in integers until the one
//! rounding at the end.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Longest title, in characters.
pub const MAX_TITLE: usize = 128;
/// Longest plan, summary or update text, in characters.
pub const MAX_TEXT: usize = 4000;
/// Longest reason or comment, in characters.
pub const MAX_REASON: usize = 1000;
/// Longest need description, in characters.
pub const MAX_NEED: usize = 1000;
/// Longest planned duration of a project, in days (three years).
pub const MAX_PLAN_DAYS: i64 = 3 * 366;
/// Lowest and highest evaluation score.
pub const MIN_SCORE: i64 = 1;
pub const MAX_SCORE: i64 = 5;

/// Why an input is refused; `key` names the message in the locale file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid {
    pub key: &'static str,
}

fn invalid<T>(key: &'static str) -> Result<T, Invalid> {
    Err(Invalid { key })
}

/// Where a project stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[schema(as = ProjectState)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Submitted by the agency, waiting for the street's review.
    Planned,
    /// Sent back by the street with a reason; the agency revises it.
    Returned,
    /// Approved by the street; the agency may start it.
    Approved,
    /// Under way; the agency posts updates.
    InProgress,
    /// Finished with a summary; open to evaluation.
    Done,
    /// Refused by the street.
    Rejected,
    /// Called off by the agency before it started.
    Cancelled,
}

impl State {
    pub const ALL: [State; 7] = [
        State::Planned,
        State::Returned,
        State::Approved,
        State::InProgress,
        State::Done,
        State::Rejected,
        State::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Planned => "planned",
            State::Returned => "returned",
            State::Approved => "approved",
            State::InProgress => "in_progress",
            State::Done => "done",
            State::Rejected => "rejected",
            State::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// States nothing leaves and nothing is added to.
    pub fn is_closed(self) -> bool {
        matches!(self, State::Rejected | State::Cancelled)
    }

    /// Position in [`State::ALL`], for counting.
    pub fn index(self) -> usize {
        State::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }
}

/// What an actor asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[schema(as = ProjectAction)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The agency submits a new plan (the first step of every project).
    Submit,
    /// The agency changes the plan; a returned plan is submitted again.
    Revise,
    Approve,
    /// Send the plan back to the agency with a reason.
    Return,
    Reject,
    Start,
    /// A progress update (date, text, photos).
    Update,
    /// Finish with a summary.
    Complete,
    /// Call the project off before it starts, with a reason.
    Cancel,
    Evaluate,
}

impl Action {
    pub const ALL: [Action; 10] = [
        Action::Submit,
        Action::Revise,
        Action::Approve,
        Action::Return,
        Action::Reject,
        Action::Start,
        Action::Update,
        Action::Complete,
        Action::Cancel,
        Action::Evaluate,
    ];

    /// The actions taken through `POST /projects/{id}/actions`.
    pub const STEPS: [Action; 6] = [
        Action::Approve,
        Action::Return,
        Action::Reject,
        Action::Start,
        Action::Complete,
        Action::Cancel,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Submit => "submit",
            Action::Revise => "revise",
            Action::Approve => "approve",
            Action::Return => "return",
            Action::Reject => "reject",
            Action::Start => "start",
            Action::Update => "update",
            Action::Complete => "complete",
            Action::Cancel => "cancel",
            Action::Evaluate => "evaluate",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether the step must carry a reason.
    pub fn needs_reason(self) -> bool {
        matches!(self, Action::Return | Action::Reject | Action::Cancel)
    }

    /// Whether the step must carry a summary.
    pub fn needs_summary(self) -> bool {
        self == Action::Complete
    }
}

/// Who acts, as far as the project is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[schema(as = ProjectActor)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// An admin of the project's agency.
    Agency,
    /// A street admin of the compound's street, or a district admin above it.
    Reviewer,
    /// The compound's party organisation (its secretary).
    PartyOrg,
    /// A resident, party member or owners' committee member of the compound.
    Resident,
}

impl Actor {
    pub const ALL: [Actor; 4] = [
        Actor::Agency,
        Actor::Reviewer,
        Actor::PartyOrg,
        Actor::Resident,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Actor::Agency => "agency",
            Actor::Reviewer => "reviewer",
            Actor::PartyOrg => "party_org",
            Actor::Resident => "resident",
        }
    }

    pub fn parse(s: &str) -> Option<Actor> {
        Actor::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// Whether a refusal is about the actor or about the project's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// The actor may not take this action (403).
    NotYours,
    /// Nobody may take it now (409).
    NotNow,
}

/// Why [`next`] refuses; `key` names the message in the locale file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub kind: RefusalKind,
    pub key: &'static str,
}

/// The rows of the table: the state `action` by `actor` leads to.
fn target(state: State, action: Action, actor: Actor) -> Option<State> {
    use Action::*;
    use Actor::*;
    use State::*;
    match (state, action, actor) {
        (Planned | Returned, Revise, Agency) => Some(Planned),
        (Planned, Approve, Reviewer) => Some(Approved),
        (Planned, Return, Reviewer) => Some(Returned),
        (Planned, Reject, Reviewer) => Some(Rejected),
        (Approved, Start, Agency) => Some(InProgress),
        (InProgress, Update, Agency) => Some(InProgress),
        (InProgress, Complete, Agency) => Some(Done),
        (Planned | Returned | Approved, Cancel, Agency) => Some(Cancelled),
        (Done, Evaluate, PartyOrg | Resident) => Some(Done),
        _ => None,
    }
}

/// The state `action` by `actor` leads to, or why it is refused.
/// `Submit` is never a transition: it creates the project in `planned`.
pub fn next(state: State, action: Action, actor: Actor) -> Result<State, Refusal> {
    if let Some(to) = target(state, action, actor) {
        return Ok(to);
    }
    let refuse = |kind, key| Err(Refusal { kind, key });
    if action == Action::Submit {
        return refuse(RefusalKind::NotNow, "projects.error.not_now");
    }
    if state.is_closed() {
        return refuse(RefusalKind::NotNow, "projects.error.closed");
    }
    if Actor::ALL
        .into_iter()
        .any(|other| target(state, action, other).is_some())
    {
        return refuse(RefusalKind::NotYours, "projects.error.not_yours");
    }
    if action == Action::Evaluate {
        return refuse(RefusalKind::NotNow, "projects.error.not_done");
    }
    refuse(RefusalKind::NotNow, "projects.error.not_now")
}

/// Whether `actor` takes `action` in any state at all: an actor for whom
/// this is false lacks the power (403), whatever the project's state.
pub fn may_ever(action: Action, actor: Actor) -> bool {
    State::ALL
        .into_iter()
        .any(|s| target(s, action, actor).is_some())
}

/// The actions `actors` may take in `state`, in table order.
pub fn available(state: State, actors: &[Actor]) -> Vec<Action> {
    Action::ALL
        .into_iter()
        .filter(|a| actors.iter().any(|w| target(state, *a, *w).is_some()))
        .collect()
}

/// Checks a text: trimmed, 1..=max characters.
pub fn check_text(text: &str, max: usize) -> Result<String, Invalid> {
    let t = text.trim();
    if t.is_empty() {
        return invalid("projects.error.empty");
    }
    if t.chars().count() > max {
        return invalid("projects.error.too_long");
    }
    Ok(t.to_string())
}

/// Checks an optional text: blank is none, else at most `max` characters.
pub fn check_optional(text: Option<&str>, max: usize) -> Result<Option<String>, Invalid> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => check_text(t, max).map(Some),
    }
}

/// Checks what a step carries: a reason where the step needs one, a
/// summary to complete. Returns (reason, summary), trimmed.
pub fn check_step(
    action: Action,
    reason: Option<&str>,
    summary: Option<&str>,
) -> Result<(Option<String>, Option<String>), Invalid> {
    let reason = check_optional(reason, MAX_REASON).map_err(|e| match e.key {
        "projects.error.too_long" => e,
        _ => Invalid {
            key: "projects.error.reason",
        },
    })?;
    let summary = check_optional(summary, MAX_TEXT)?;
    if action.needs_reason() && reason.is_none() {
        return invalid("projects.error.reason");
    }
    if action.needs_summary() && summary.is_none() {
        return invalid("projects.error.summary");
    }
    Ok((reason, summary))
}

/// Checks planned dates: the end not before the start, at most
/// [`MAX_PLAN_DAYS`] apart.
pub fn check_dates(start: NaiveDate, end: NaiveDate) -> Result<(), Invalid> {
    if end < start {
        return invalid("projects.error.dates");
    }
    if (end - start).num_days() > MAX_PLAN_DAYS {
        return invalid("projects.error.plan_too_long");
    }
    Ok(())
}

/// Checks an update's date: not after today (in China) and not before the
/// day the project started.
pub fn check_update_date(
    date: NaiveDate,
    today: NaiveDate,
    started_on: Option<NaiveDate>,
) -> Result<(), Invalid> {
    if date > today {
        return invalid("projects.error.future_date");
    }
    if started_on.is_some_and(|s| date < s) {
        return invalid("projects.error.before_start");
    }
    Ok(())
}

/// Checks a score: a whole number 1–5.
pub fn check_score(score: i64) -> Result<i16, Invalid> {
    if !(MIN_SCORE..=MAX_SCORE).contains(&score) {
        return invalid("projects.error.score");
    }
    Ok(score as i16)
}

/// Who is evaluating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[schema(as = ProjectEvaluator)]
#[serde(rename_all = "snake_case")]
pub enum Evaluator {
    /// The compound's party organisation: one evaluation per project.
    PartyOrg,
    /// A household of the compound: one evaluation per dwelling (or per
    /// account for owners' committee members without a dwelling role).
    Resident,
}

impl Evaluator {
    pub fn as_str(self) -> &'static str {
        match self {
            Evaluator::PartyOrg => "party_org",
            Evaluator::Resident => "resident",
        }
    }

    pub fn parse(s: &str) -> Option<Evaluator> {
        [Evaluator::PartyOrg, Evaluator::Resident]
            .into_iter()
            .find(|x| x.as_str() == s)
    }

    pub fn actor(self) -> Actor {
        match self {
            Evaluator::PartyOrg => Actor::PartyOrg,
            Evaluator::Resident => Actor::Resident,
        }
    }
}

/// The key that makes an evaluation unique in its project: the party
/// organisation once, each dwelling once, else each account once.
pub fn voter_key(who: Evaluator, dwelling_id: Option<i64>, account_id: i64) -> String {
    match (who, dwelling_id) {
        (Evaluator::PartyOrg, _) => "party_org".to_string(),
        (Evaluator::Resident, Some(d)) => format!("dwelling:{d}"),
        (Evaluator::Resident, None) => format!("account:{account_id}"),
    }
}

/// What the figures need to know of one project.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Facts {
    pub state: Option<State>,
    /// The party organisation's score, if it evaluated.
    pub party_org_score: Option<i16>,
    /// Residents' scores.
    pub resident_scores: Vec<i16>,
}

/// Counts and sums over a set of projects; additive, so a district's tally
/// is the sum of its streets'.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    pub total: u64,
    /// Projects per state, in the order of [`State::ALL`].
    pub by_state: [u64; 7],
    /// Done projects with at least one evaluation.
    pub evaluated: u64,
    pub party_org_n: u64,
    pub party_org_sum: u64,
    pub resident_n: u64,
    pub resident_sum: u64,
}

impl Tally {
    pub fn add(&mut self, f: &Facts) {
        let Some(state) = f.state else { return };
        self.total += 1;
        self.by_state[state.index()] += 1;
        if state == State::Done && (f.party_org_score.is_some() || !f.resident_scores.is_empty()) {
            self.evaluated += 1;
        }
        if let Some(s) = f.party_org_score {
            self.party_org_n += 1;
            self.party_org_sum += s.clamp(0, MAX_SCORE as i16) as u64;
        }
        for s in &f.resident_scores {
            self.resident_n += 1;
            self.resident_sum += (*s).clamp(0, MAX_SCORE as i16) as u64;
        }
    }

    pub fn merge(&mut self, o: &Tally) {
        self.total += o.total;
        for (a, b) in self.by_state.iter_mut().zip(o.by_state) {
            *a += b;
        }
        self.evaluated += o.evaluated;
        self.party_org_n += o.party_org_n;
        self.party_org_sum += o.party_org_sum;
        self.resident_n += o.resident_n;
        self.resident_sum += o.resident_sum;
    }

    pub fn count(&self, s: State) -> u64 {
        self.by_state[s.index()]
    }

    /// Share of done projects evaluated, e.g. "50.0%"; none without any.
    pub fn evaluated_percent(&self) -> Option<String> {
        percent(self.evaluated, self.count(State::Done))
    }

    /// The party organisation's mean score, e.g. "4.50".
    pub fn party_org_mean(&self) -> Option<String> {
        mean(self.party_org_sum, self.party_org_n)
    }

    /// The residents' mean score, e.g. "3.67".
    pub fn resident_mean(&self) -> Option<String> {
        mean(self.resident_sum, self.resident_n)
    }
}

/// Adds up the facts of many projects.
pub fn tally<'a>(facts: impl IntoIterator<Item = &'a Facts>) -> Tally {
    let mut t = Tally::default();
    for f in facts {
        t.add(f);
    }
    t
}

/// `n / d` as a percentage with one decimal, rounded half up.
pub fn percent(n: u64, d: u64) -> Option<String> {
    (d > 0).then(|| {
        let tenths = (n * 2000 + d) / (2 * d);
        format!("{}.{}%", tenths / 10, tenths % 10)
    })
}

/// `sum / n` with two decimals, rounded half up.
pub fn mean(sum: u64, n: u64) -> Option<String> {
    (n > 0).then(|| {
        let hundredths = (sum * 200 + n) / (2 * n);
        format!("{}.{:02}", hundredths / 100, hundredths % 100)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn codes_round_trip() {
        for s in State::ALL {
            assert_eq!(State::parse(s.as_str()), Some(s));
        }
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(a));
        }
        for a in Actor::ALL {
            assert_eq!(Actor::parse(a.as_str()), Some(a));
        }
        assert_eq!(Evaluator::parse("party_org"), Some(Evaluator::PartyOrg));
        assert_eq!(State::parse("evaluated"), None);
    }

    #[test]
    fn the_happy_path() {
        let mut s = State::Planned;
        for (a, w) in [
            (Action::Return, Actor::Reviewer),
            (Action::Revise, Actor::Agency),
            (Action::Approve, Actor::Reviewer),
            (Action::Start, Actor::Agency),
            (Action::Update, Actor::Agency),
            (Action::Complete, Actor::Agency),
            (Action::Evaluate, Actor::PartyOrg),
            (Action::Evaluate, Actor::Resident),
        ] {
            s = next(s, a, w).unwrap();
        }
        assert_eq!(s, State::Done);
    }

    #[test]
    fn refusals_name_their_reason() {
        let r = next(State::Planned, Action::Approve, Actor::Agency).unwrap_err();
        assert_eq!(r.kind, RefusalKind::NotYours);
        assert_eq!(r.key, "projects.error.not_yours");
        let r = next(State::Approved, Action::Approve, Actor::Reviewer).unwrap_err();
        assert_eq!(r.kind, RefusalKind::NotNow);
        assert_eq!(r.key, "projects.error.not_now");
        let r = next(State::InProgress, Action::Cancel, Actor::Agency).unwrap_err();
        assert_eq!(r.kind, RefusalKind::NotNow);
        let r = next(State::Cancelled, Action::Revise, Actor::Agency).unwrap_err();
        assert_eq!(r.key, "projects.error.closed");
        let r = next(State::InProgress, Action::Evaluate, Actor::Resident).unwrap_err();
        assert_eq!(r.key, "projects.error.not_done");
        let r = next(State::Done, Action::Evaluate, Actor::Agency).unwrap_err();
        assert_eq!(r.kind, RefusalKind::NotYours);
        assert_eq!(
            available(State::Planned, &[Actor::Reviewer]),
            vec![Action::Approve, Action::Return, Action::Reject]
        );
        assert_eq!(
            available(State::Approved, &[Actor::Agency]),
            vec![Action::Start, Action::Cancel]
        );
        assert!(available(State::Rejected, &Actor::ALL).is_empty());
        assert!(may_ever(Action::Update, Actor::Agency));
        assert!(!may_ever(Action::Update, Actor::Reviewer));
        assert!(may_ever(Action::Evaluate, Actor::Resident));
        assert!(!may_ever(Action::Submit, Actor::Agency));
    }

    #[test]
    fn inputs_are_checked() {
        assert_eq!(
            check_text("  ", 10).unwrap_err().key,
            "projects.error.empty"
        );
        assert_eq!(
            check_text("一二三", 2).unwrap_err().key,
            "projects.error.too_long"
        );
        assert_eq!(check_text(" 义诊 ", 10).unwrap(), "义诊");
        assert_eq!(
            check_step(Action::Return, Some(" "), None).unwrap_err().key,
            "projects.error.reason"
        );
        assert_eq!(
            check_step(Action::Complete, None, None).unwrap_err().key,
            "projects.error.summary"
        );
        assert_eq!(
            check_step(Action::Approve, Some(" 同意 "), None).unwrap(),
            (Some("同意".into()), None)
        );
        assert!(check_dates(d("2026-03-01"), d("2026-03-01")).is_ok());
        assert_eq!(
            check_dates(d("2026-03-02"), d("2026-03-01"))
                .unwrap_err()
                .key,
            "projects.error.dates"
        );
        assert_eq!(
            check_dates(d("2026-01-01"), d("2030-01-01"))
                .unwrap_err()
                .key,
            "projects.error.plan_too_long"
        );
        let today = d("2026-05-10");
        assert!(check_update_date(today, today, Some(d("2026-05-01"))).is_ok());
        assert_eq!(
            check_update_date(d("2026-05-11"), today, None)
                .unwrap_err()
                .key,
            "projects.error.future_date"
        );
        assert_eq!(
            check_update_date(d("2026-04-30"), today, Some(d("2026-05-01")))
                .unwrap_err()
                .key,
            "projects.error.before_start"
        );
        assert_eq!(check_score(0).unwrap_err().key, "projects.error.score");
        assert_eq!(check_score(6).unwrap_err().key, "projects.error.score");
        assert_eq!(check_score(5).unwrap(), 5);
        assert_eq!(
            voter_key(Evaluator::Resident, Some(7), 3),
            "dwelling:7".to_string()
        );
        assert_eq!(voter_key(Evaluator::Resident, None, 3), "account:3");
        assert_eq!(voter_key(Evaluator::PartyOrg, Some(7), 3), "party_org");
    }

    #[test]
    fn figures_by_hand() {
        let facts = [
            Facts {
                state: Some(State::Done),
                party_org_score: Some(5),
                resident_scores: vec![4, 5, 3],
            },
            Facts {
                state: Some(State::Done),
                party_org_score: Some(4),
                resident_scores: vec![],
            },
            Facts {
                state: Some(State::Done),
                ..Default::default()
            },
            Facts {
                state: Some(State::Planned),
                ..Default::default()
            },
        ];
        let t = tally(&facts);
        assert_eq!(t.total, 4);
        assert_eq!(t.count(State::Done), 3);
        assert_eq!(t.evaluated, 2);
        assert_eq!(t.evaluated_percent().as_deref(), Some("66.7%"));
        assert_eq!(t.party_org_mean().as_deref(), Some("4.50"));
        assert_eq!(t.resident_mean().as_deref(), Some("4.00"));
        assert_eq!(mean(11, 3).as_deref(), Some("3.67"));
        assert_eq!(mean(0, 0), None);
        assert_eq!(percent(1, 8).as_deref(), Some("12.5%"));
        assert_eq!(percent(0, 0), None);
    }

    fn step() -> impl Strategy<Value = (Action, Actor)> {
        (0..Action::ALL.len(), 0..Actor::ALL.len())
            .prop_map(|(a, w)| (Action::ALL[a], Actor::ALL[w]))
    }

    fn facts() -> impl Strategy<Value = Facts> {
        (
            0..State::ALL.len(),
            proptest::option::of(1i16..=5),
            proptest::collection::vec(1i16..=5, 0..6),
        )
            .prop_map(|(s, p, r)| Facts {
                state: Some(State::ALL[s]),
                party_org_score: p,
                resident_scores: r,
            })
    }

    proptest! {
        /// Whatever anyone tries, a project only moves along the table, and
        /// its history keeps the order the process demands.
        #[test]
        fn no_sequence_of_actions_reaches_an_illegal_state(steps in proptest::collection::vec(step(), 0..40)) {
            let mut state = State::Planned;
            let mut approved = false;
            let mut started = false;
            let mut completed = false;
            for (action, actor) in steps {
                match next(state, action, actor) {
                    Ok(to) => {
                        // Only the table's actors move a project.
                        match action {
                            Action::Approve | Action::Return | Action::Reject => prop_assert_eq!(actor, Actor::Reviewer),
                            Action::Evaluate => prop_assert!(matches!(actor, Actor::PartyOrg | Actor::Resident)),
                            _ => prop_assert_eq!(actor, Actor::Agency),
                        }
                        prop_assert!(!state.is_closed());
                        match to {
                            State::Approved => approved = true,
                            State::InProgress => { prop_assert!(approved); started = true; }
                            State::Done => { prop_assert!(started); completed = true; }
                            State::Cancelled => prop_assert!(!started),
                            State::Planned | State::Returned => prop_assert!(!approved),
                            State::Rejected => prop_assert!(!approved),
                        }
                        if action == Action::Evaluate {
                            prop_assert!(completed);
                        }
                        state = to;
                    }
                    Err(r) => {
                        // Every refusal names a reason from the locale file.
                        prop_assert!(r.key.starts_with("projects.error."));
                        prop_assert!([
                            "projects.error.not_yours",
                            "projects.error.not_now",
                            "projects.error.closed",
                            "projects.error.not_done",
                        ].contains(&r.key));
                        // Refused as "not yours" only when another actor could.
                        if r.kind == RefusalKind::NotYours {
                            prop_assert!(Actor::ALL.iter().any(|w| next(state, action, *w).is_ok()));
                        } else {
                            prop_assert!(Actor::ALL.iter().all(|w| next(state, action, *w).is_err()));
                        }
                    }
                }
            }
            // Closed states take nothing at all.
            if state.is_closed() {
                prop_assert!(available(state, &Actor::ALL).is_empty());
            }
        }

        #[test]
        fn tallies_add_up(parts in proptest::collection::vec(proptest::collection::vec(facts(), 0..8), 0..5)) {
            let mut whole = Tally::default();
            let mut all = Vec::new();
            for p in &parts {
                whole.merge(&tally(p));
                all.extend(p.iter().cloned());
            }
            prop_assert_eq!(whole, tally(&all));
            prop_assert_eq!(whole.by_state.iter().sum::<u64>(), whole.total);
            prop_assert!(whole.evaluated <= whole.count(State::Done));
            for m in [whole.party_org_mean(), whole.resident_mean()].into_iter().flatten() {
                let v: f64 = m.parse().unwrap();
                prop_assert!((1.0..=5.0).contains(&v), "{}", m);
            }
            if let Some(p) = whole.evaluated_percent() {
                let v: f64 = p.trim_end_matches('%').parse().unwrap();
                prop_assert!((0.0..=100.0).contains(&v));
            }
        }

        #[test]
        fn means_round_half_up(sum in 0u64..10_000, n in 1u64..2_000) {
            let m = mean(sum, n).unwrap();
            let shown: f64 = m.parse().unwrap();
            let exact = sum as f64 / n as f64;
            prop_assert!((shown - exact).abs() <= 0.005 + 1e-9, "{} vs {}", m, exact);
        }
    }
}
