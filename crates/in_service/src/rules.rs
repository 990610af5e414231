//! The rules of in-service party members, pure: report and record states,
//! the three ones, input checks, points and the figures.
//!
//! A member reports twice (双报到): to the compound of their dwelling
//! (`residence`) and to a compound currently paired with their employer
//! agency (`employer_pairing`). The receiving compound's party secretary
//! confirms or refuses a report; the member may withdraw it. At the
//! residence compound, once that report is confirmed, the member takes
//! the "three ones" (三个一): one volunteer team, one building entrance,
//! one responsibility zone; at most one live "one" of each kind, released
//! before it is replaced. Service records (hours, activity, matters
//! coordinated) are confirmed or refused by the compound's secretary, and
//! a confirmed record earns points by the district's scheme.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Shortest and longest service on one day, in half hours.
pub const MIN_HALF_HOURS: i32 = 1;
pub const MAX_HALF_HOURS: i32 = 48;
/// How far back a service may be recorded.
pub const MAX_AGE_DAYS: i64 = 366;
/// Highest value of any scheme item.
pub const MAX_SCHEME_POINTS: i32 = 100;

/// Why an input is refused; `key` names the message in the locale file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid {
    pub key: &'static str,
}

fn invalid<T>(key: &'static str) -> Result<T, Invalid> {
    Err(Invalid { key })
}

macro_rules! codes {
    ($(#[$m:meta])* $name:ident as $schema:ident { $($v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
        #[schema(as = $schema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($v),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$v => $s),+
                }
            }

            pub fn parse(s: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|x| x.as_str() == s)
            }
        }
    };
}

codes! {
    /// Where a member reports to.
    ReportKind as InServiceReportKind {
        Residence = "residence",
        EmployerPairing = "employer_pairing",
    }
}

codes! {
    /// A report's life: submitted → confirmed | refused; a submitted or
    /// confirmed report may be withdrawn by the member.
    ReportState as InServiceReportState {
        Submitted = "submitted",
        Confirmed = "confirmed",
        Refused = "refused",
        Withdrawn = "withdrawn",
    }
}

codes! {
    /// What is done to a report.
    ReportAction as InServiceReportAction {
        Confirm = "confirm",
        Refuse = "refuse",
        Withdraw = "withdraw",
    }
}

codes! {
    /// The three ones (三个一).
    OneKind as InServiceOneKind {
        VolunteerTeam = "volunteer_team",
        Entrance = "entrance",
        Zone = "zone",
    }
}

codes! {
    /// What a service was.
    ServiceKind as InServiceServiceKind {
        Volunteer = "volunteer",
        Patrol = "patrol",
        MatterCoordination = "matter_coordination",
        Other = "other",
    }
}

codes! {
    /// A service record's life: submitted → confirmed | refused.
    RecordState as InServiceRecordState {
        Submitted = "submitted",
        Confirmed = "confirmed",
        Refused = "refused",
    }
}

impl ReportState {
    /// Live reports count against the one-per-compound rule.
    pub fn is_live(self) -> bool {
        matches!(self, ReportState::Submitted | ReportState::Confirmed)
    }
}

/// Who acts on a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportActor {
    /// The member who reported.
    Member,
    /// The receiving compound's party secretary.
    Secretary,
}

/// Why a report action is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The actor may not take this action (403).
    Forbidden,
    /// Not in this state (409).
    State,
}

/// The whole table of report actions: the state `action` by `actor` leads
/// to from `state`.
pub fn report_action(
    state: ReportState,
    action: ReportAction,
    actor: ReportActor,
) -> Result<ReportState, Refusal> {
    use ReportAction::*;
    use ReportState::*;
    let by = match action {
        Confirm | Refuse => ReportActor::Secretary,
        Withdraw => ReportActor::Member,
    };
    if by != actor {
        return Err(Refusal::Forbidden);
    }
    match (state, action) {
        (Submitted, Confirm) => Ok(Confirmed),
        (Submitted, Refuse) => Ok(Refused),
        (Submitted | Confirmed, Withdraw) => Ok(Withdrawn),
        _ => Err(Refusal::State),
    }
}

/// A record's decision by the compound's secretary.
pub fn record_decision(state: RecordState, confirm: bool) -> Result<RecordState, Refusal> {
    match state {
        RecordState::Submitted if confirm => Ok(RecordState::Confirmed),
        RecordState::Submitted => Ok(RecordState::Refused),
        _ => Err(Refusal::State),
    }
}

/// Checks a text: trimmed, 1..=max characters.
pub fn check_text(text: &str, max: usize) -> Result<String, Invalid> {
    let t = text.trim();
    if t.is_empty() {
        return invalid("in_service.error.empty");
    }
    if t.chars().count() > max {
        return invalid("in_service.error.too_long");
    }
    Ok(t.to_string())
}

/// Checks a refusal reason.
pub fn check_reason(reason: Option<&str>) -> Result<String, Invalid> {
    match reason.map(str::trim) {
        None | Some("") => invalid("in_service.error.reason"),
        Some(r) => check_text(r, 500),
    }
}

/// Hours of a service: 0.5 to 24 in half hours; returns half hours.
pub fn check_hours(hours: f64) -> Result<i32, Invalid> {
    if !hours.is_finite() {
        return invalid("in_service.error.hours");
    }
    let halves = hours * 2.0;
    if halves.fract() != 0.0 {
        return invalid("in_service.error.hours");
    }
    if halves < f64::from(MIN_HALF_HOURS) || halves > f64::from(MAX_HALF_HOURS) {
        return invalid("in_service.error.hours");
    }
    Ok(halves as i32)
}

/// The day of a service: not after today (China time), at most a year
/// before it.
pub fn check_served_on(day: NaiveDate, today: NaiveDate) -> Result<NaiveDate, Invalid> {
    if day > today {
        return invalid("in_service.error.future");
    }
    if today - day > Duration::days(MAX_AGE_DAYS) {
        return invalid("in_service.error.too_old");
    }
    Ok(day)
}

/// Today's date in China (UTC+8), the calendar service days follow.
pub fn china_today(now: chrono::DateTime<chrono::Utc>) -> NaiveDate {
    now.with_timezone(&jinlin_kernel::time::china())
        .date_naive()
}

/// What a member claims as one of the three ones, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum One {
    VolunteerTeam { name: String },
    Entrance { entrance_id: i64 },
    Zone { description: String },
}

impl One {
    pub fn kind(&self) -> OneKind {
        match self {
            One::VolunteerTeam { .. } => OneKind::VolunteerTeam,
            One::Entrance { .. } => OneKind::Entrance,
            One::Zone { .. } => OneKind::Zone,
        }
    }
}

/// Checks the fields of a "one": a team name, an entrance, or a zone's
/// description, as its kind needs.
pub fn check_one(
    kind: OneKind,
    team_name: Option<&str>,
    entrance_id: Option<i64>,
    zone: Option<&str>,
) -> Result<One, Invalid> {
    match kind {
        OneKind::VolunteerTeam => match team_name {
            Some(n) if !n.trim().is_empty() => Ok(One::VolunteerTeam {
                name: check_text(n, 64)?,
            }),
            _ => invalid("in_service.error.team_name"),
        },
        OneKind::Entrance => match entrance_id {
            Some(id) => Ok(One::Entrance { entrance_id: id }),
            None => invalid("in_service.error.entrance"),
        },
        OneKind::Zone => match zone {
            Some(z) if !z.trim().is_empty() => Ok(One::Zone {
                description: check_text(z, 200)?,
            }),
            _ => invalid("in_service.error.zone"),
        },
    }
}

/// How far a member is with the three ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = InServiceCompletion)]
#[serde(rename_all = "snake_case")]
pub enum Completion {
    All,
    Some,
    None,
}

/// The completion of a member holding `held` (live ones).
pub fn completion(held: &BTreeSet<OneKind>) -> Completion {
    match held.len() {
        0 => Completion::None,
        n if n >= OneKind::ALL.len() => Completion::All,
        _ => Completion::Some,
    }
}

/// The kinds a member still lacks, in the fixed order.
pub fn lacking(held: &BTreeSet<OneKind>) -> Vec<OneKind> {
    OneKind::ALL
        .iter()
        .copied()
        .filter(|k| !held.contains(k))
        .collect()
}

// ---------------------------------------------------------------- points

/// A district's points scheme: points per hour of service, per matter
/// coordinated and per confirmed activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = ServicePoints)]
#[serde(deny_unknown_fields)]
pub struct Scheme {
    pub per_hour: i32,
    pub per_matter: i32,
    pub per_activity: i32,
}

/// The scheme of a district that has not set its own.
pub const DEFAULT_SCHEME: Scheme = Scheme {
    per_hour: 2,
    per_matter: 5,
    per_activity: 1,
};

/// Checks a scheme: every item 0..=MAX_SCHEME_POINTS.
pub fn check_scheme(s: Scheme) -> Result<Scheme, Invalid> {
    let ok = |v: i32| (0..=MAX_SCHEME_POINTS).contains(&v);
    if ok(s.per_hour) && ok(s.per_matter) && ok(s.per_activity) {
        Ok(s)
    } else {
        invalid("in_service.error.scheme")
    }
}

/// Twice the points a record earns (half hours make half points exact):
/// nothing unless confirmed; otherwise the activity's points, the hours'
/// points and, for a matter coordinated, the matter's points.
pub fn points_x2(scheme: Scheme, state: RecordState, kind: ServiceKind, half_hours: i32) -> i64 {
    if state != RecordState::Confirmed {
        return 0;
    }
    let matter = i64::from(kind == ServiceKind::MatterCoordination);
    2 * i64::from(scheme.per_activity)
        + i64::from(scheme.per_hour) * i64::from(half_hours.max(0))
        + 2 * i64::from(scheme.per_matter) * matter
}

/// A doubled quantity (half hours, twice the points) as a number: exact
/// in binary floating point.
pub fn halved(x2: i64) -> f64 {
    x2 as f64 / 2.0
}

// ---------------------------------------------------------------- figures

/// A report, as the figures see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFact {
    pub member: i64,
    pub compound: i64,
    pub kind: ReportKind,
    pub state: ReportState,
}

/// A live "one".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneFact {
    pub member: i64,
    pub compound: i64,
    pub kind: OneKind,
}

/// A service record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFact {
    pub member: i64,
    pub compound: i64,
    pub kind: ServiceKind,
    pub state: RecordState,
    pub matter: Option<i64>,
    pub half_hours: i32,
    pub points_x2: i64,
}

/// The figures of a place (or an agency's members within it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Distinct members with a confirmed report of either kind.
    pub members_reported: u64,
    /// Confirmed reports by kind.
    pub residence_reports: u64,
    pub employer_reports: u64,
    /// Reports awaiting the compound's confirmation.
    pub pending_reports: u64,
    /// Members reported at their residence, by three-ones completion.
    pub three_ones_all: u64,
    pub three_ones_some: u64,
    pub three_ones_none: u64,
    /// Confirmed service records.
    pub records: u64,
    pub pending_records: u64,
    /// Matters coordinated: distinct residents' matters linked, plus
    /// confirmed coordination records without a link.
    pub matters_coordinated: u64,
    pub half_hours: i64,
    pub points_x2: i64,
}

/// Counts the facts of compounds `in_place` accepts, by members `counts`
/// accepts.
pub fn tally(
    reports: &[ReportFact],
    ones: &[OneFact],
    records: &[RecordFact],
    in_place: impl Fn(i64) -> bool,
    counts: impl Fn(i64) -> bool,
) -> Tally {
    let mut t = Tally::default();
    let mut reported = HashSet::new();
    let mut residents = BTreeSet::new();
    for r in reports
        .iter()
        .filter(|r| in_place(r.compound) && counts(r.member))
    {
        match r.state {
            ReportState::Confirmed => {
                reported.insert(r.member);
                match r.kind {
                    ReportKind::Residence => {
                        t.residence_reports += 1;
                        residents.insert(r.member);
                    }
                    ReportKind::EmployerPairing => t.employer_reports += 1,
                }
            }
            ReportState::Submitted => t.pending_reports += 1,
            ReportState::Refused | ReportState::Withdrawn => {}
        }
    }
    t.members_reported = reported.len() as u64;
    let mut held: BTreeMap<i64, BTreeSet<OneKind>> = BTreeMap::new();
    for o in ones
        .iter()
        .filter(|o| in_place(o.compound) && residents.contains(&o.member))
    {
        held.entry(o.member).or_default().insert(o.kind);
    }
    let none = BTreeSet::new();
    for m in &residents {
        match completion(held.get(m).unwrap_or(&none)) {
            Completion::All => t.three_ones_all += 1,
            Completion::Some => t.three_ones_some += 1,
            Completion::None => t.three_ones_none += 1,
        }
    }
    let mut matters = HashSet::new();
    for r in records
        .iter()
        .filter(|r| in_place(r.compound) && counts(r.member))
    {
        match r.state {
            RecordState::Confirmed => {
                t.records += 1;
                t.half_hours += i64::from(r.half_hours);
                t.points_x2 += r.points_x2;
                if r.kind == ServiceKind::MatterCoordination {
                    match r.matter {
                        Some(m) => {
                            if matters.insert(m) {
                                t.matters_coordinated += 1;
                            }
                        }
                        None => t.matters_coordinated += 1,
                    }
                }
            }
            RecordState::Submitted => t.pending_records += 1,
            RecordState::Refused => {}
        }
    }
    t
}

/// A share as "n.n%" (none of nothing).
pub fn percent(n: u64, d: u64) -> Option<String> {
    (d > 0).then(|| format!("{:.1}%", n as f64 * 100.0 / d as f64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn report_actions_follow_the_table() {
        use ReportAction::*;
        use ReportActor::*;
        use ReportState::*;
        assert_eq!(report_action(Submitted, Confirm, Secretary), Ok(Confirmed));
        assert_eq!(report_action(Submitted, Refuse, Secretary), Ok(Refused));
        assert_eq!(report_action(Confirmed, Withdraw, Member), Ok(Withdrawn));
        assert_eq!(
            report_action(Submitted, Confirm, Member),
            Err(Refusal::Forbidden)
        );
        assert_eq!(
            report_action(Submitted, Withdraw, Secretary),
            Err(Refusal::Forbidden)
        );
        assert_eq!(
            report_action(Confirmed, Confirm, Secretary),
            Err(Refusal::State)
        );
        assert_eq!(
            report_action(Refused, Withdraw, Member),
            Err(Refusal::State)
        );
    }

    #[test]
    fn hours_come_in_half_hours_from_half_an_hour_to_a_day() {
        assert_eq!(check_hours(0.5), Ok(1));
        assert_eq!(check_hours(2.0), Ok(4));
        assert_eq!(check_hours(24.0), Ok(48));
        for bad in [0.0, 0.25, 1.3, 24.5, -1.0, f64::NAN, f64::INFINITY] {
            assert!(check_hours(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn service_days_are_not_in_the_future_nor_over_a_year_old() {
        let today = day("2026-03-10");
        assert!(check_served_on(today, today).is_ok());
        assert!(check_served_on(day("2026-03-11"), today).is_err());
        assert!(check_served_on(day("2025-03-09"), today).is_ok());
        assert!(check_served_on(day("2025-03-08"), today).is_err());
    }

    #[test]
    fn today_is_the_date_in_china() {
        let late = chrono::DateTime::parse_from_rfc3339("2026-03-10T17:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(china_today(late), day("2026-03-11"));
    }

    #[test]
    fn a_one_needs_the_fields_of_its_kind() {
        assert_eq!(
            check_one(OneKind::VolunteerTeam, Some(" 萤火虫巡逻队 "), None, None),
            Ok(One::VolunteerTeam {
                name: "萤火虫巡逻队".into()
            })
        );
        assert!(check_one(OneKind::VolunteerTeam, Some("  "), None, None).is_err());
        assert!(check_one(OneKind::Entrance, Some("x"), None, Some("y")).is_err());
        assert_eq!(
            check_one(OneKind::Entrance, None, Some(7), None).map(|o| o.kind()),
            Ok(OneKind::Entrance)
        );
        assert!(check_one(OneKind::Zone, None, None, None).is_err());
        assert!(check_one(OneKind::Zone, None, None, Some(&"长".repeat(201))).is_err());
    }

    #[test]
    fn completion_and_what_is_lacking() {
        let mut held = BTreeSet::new();
        assert_eq!(completion(&held), Completion::None);
        assert_eq!(lacking(&held), OneKind::ALL.to_vec());
        held.insert(OneKind::Zone);
        assert_eq!(completion(&held), Completion::Some);
        assert_eq!(
            lacking(&held),
            vec![OneKind::VolunteerTeam, OneKind::Entrance]
        );
        held.insert(OneKind::Entrance);
        held.insert(OneKind::VolunteerTeam);
        assert_eq!(completion(&held), Completion::All);
        assert!(lacking(&held).is_empty());
    }

    #[test]
    fn points_by_the_default_scheme() {
        // 2.5 h of coordination: 1 + 2 × 2.5 + 5 = 11.
        let x2 = points_x2(
            DEFAULT_SCHEME,
            RecordState::Confirmed,
            ServiceKind::MatterCoordination,
            5,
        );
        assert_eq!(halved(x2), 11.0);
        // 1.5 h of patrol at 3 a hour: 0 + 4.5 + 0.
        let s = Scheme {
            per_hour: 3,
            per_matter: 9,
            per_activity: 0,
        };
        assert_eq!(
            halved(points_x2(s, RecordState::Confirmed, ServiceKind::Patrol, 3)),
            4.5
        );
        assert!(check_scheme(s).is_ok());
        assert!(check_scheme(Scheme { per_hour: -1, ..s }).is_err());
        assert!(
            check_scheme(Scheme {
                per_matter: 101,
                ..s
            })
            .is_err()
        );
    }

    fn report(member: i64, compound: i64, kind: ReportKind, state: ReportState) -> ReportFact {
        ReportFact {
            member,
            compound,
            kind,
            state,
        }
    }

    fn one(member: i64, compound: i64, kind: OneKind) -> OneFact {
        OneFact {
            member,
            compound,
            kind,
        }
    }

    fn record(
        member: i64,
        compound: i64,
        kind: ServiceKind,
        state: RecordState,
        matter: Option<i64>,
        half_hours: i32,
    ) -> RecordFact {
        RecordFact {
            member,
            compound,
            kind,
            state,
            matter,
            half_hours,
            points_x2: points_x2(DEFAULT_SCHEME, state, kind, half_hours),
        }
    }

    /// Three members over compounds 10 and 20, counted by hand.
    #[test]
    fn figures_match_a_hand_count() {
        use OneKind::*;
        use RecordState as S;
        use ReportKind::*;
        use ReportState::*;
        use ServiceKind::*;
        let reports = vec![
            report(1, 10, Residence, Confirmed),
            report(1, 20, EmployerPairing, Confirmed),
            report(2, 10, Residence, Confirmed),
            report(2, 20, EmployerPairing, Submitted),
            report(3, 20, Residence, Confirmed),
            report(4, 10, Residence, Refused),
            report(5, 10, Residence, Withdrawn),
        ];
        let ones = vec![
            one(1, 10, VolunteerTeam),
            one(1, 10, Entrance),
            one(1, 10, Zone),
            one(2, 10, Zone),
        ];
        let records = vec![
            record(1, 10, Volunteer, S::Confirmed, None, 4),
            record(1, 20, MatterCoordination, S::Confirmed, Some(7), 2),
            record(2, 20, MatterCoordination, S::Confirmed, Some(7), 1),
            record(2, 10, MatterCoordination, S::Confirmed, None, 3),
            record(3, 20, Patrol, S::Refused, None, 6),
            record(3, 20, Patrol, S::Submitted, None, 6),
        ];
        let all = tally(&reports, &ones, &records, |_| true, |_| true);
        assert_eq!(all.members_reported, 3);
        assert_eq!(all.residence_reports, 3);
        assert_eq!(all.employer_reports, 1);
        assert_eq!(all.pending_reports, 1);
        // 1 has all three, 2 one of them, 3 none.
        assert_eq!(
            (all.three_ones_all, all.three_ones_some, all.three_ones_none),
            (1, 1, 1)
        );
        assert_eq!(all.records, 4);
        assert_eq!(all.pending_records, 1);
        // Matter 7 counted once, plus one coordination without a link.
        assert_eq!(all.matters_coordinated, 2);
        assert_eq!(halved(all.half_hours), 5.0);
        // 4 activities × 1 + 5 h × 2 + 3 coordinations × 5 = 29.
        assert_eq!(halved(all.points_x2), 29.0);

        let ten = tally(&reports, &ones, &records, |c| c == 10, |_| true);
        assert_eq!(ten.members_reported, 2);
        assert_eq!(ten.residence_reports, 2);
        assert_eq!(ten.employer_reports, 0);
        assert_eq!((ten.three_ones_all, ten.three_ones_some), (1, 1));
        assert_eq!(ten.records, 2);
        assert_eq!(ten.matters_coordinated, 1);
        assert_eq!(halved(ten.half_hours), 3.5);
        // (1 + 4) + (1 + 3 + 5) = 14.
        assert_eq!(halved(ten.points_x2), 14.0);

        // Member 1 alone (an agency with one member).
        let one_member = tally(&reports, &ones, &records, |_| true, |m| m == 1);
        assert_eq!(one_member.members_reported, 1);
        assert_eq!(one_member.employer_reports, 1);
        assert_eq!(one_member.three_ones_all, 1);
        assert_eq!(one_member.matters_coordinated, 1);
        assert_eq!(halved(one_member.points_x2), 1.0 + 4.0 + 1.0 + 2.0 + 5.0);
    }

    fn scheme() -> impl Strategy<Value = Scheme> {
        (
            0..=MAX_SCHEME_POINTS,
            0..=MAX_SCHEME_POINTS,
            0..=MAX_SCHEME_POINTS,
        )
            .prop_map(|(per_hour, per_matter, per_activity)| Scheme {
                per_hour,
                per_matter,
                per_activity,
            })
    }

    fn kind() -> impl Strategy<Value = ServiceKind> {
        proptest::sample::select(ServiceKind::ALL)
    }

    fn facts() -> impl Strategy<Value = (Vec<ReportFact>, Vec<OneFact>, Vec<RecordFact>)> {
        let report = (
            1..6i64,
            1..5i64,
            proptest::sample::select(ReportKind::ALL),
            proptest::sample::select(ReportState::ALL),
        )
            .prop_map(|(m, c, k, s)| report(m, c, k, s));
        let one = (1..6i64, 1..5i64, proptest::sample::select(OneKind::ALL))
            .prop_map(|(m, c, k)| one(m, c, k));
        let record = (
            1..6i64,
            1..5i64,
            kind(),
            proptest::sample::select(RecordState::ALL),
            proptest::option::of(1..4i64),
            MIN_HALF_HOURS..=MAX_HALF_HOURS,
        )
            .prop_map(|(m, c, k, s, x, h)| record(m, c, k, s, x, h));
        (
            proptest::collection::vec(report, 0..20),
            // One live "one" per member and kind, as the index keeps it.
            proptest::collection::vec(one, 0..20).prop_map(|v| {
                let mut seen = HashSet::new();
                v.into_iter()
                    .filter(|o| seen.insert((o.member, o.kind)))
                    .collect()
            }),
            proptest::collection::vec(record, 0..20),
        )
    }

    proptest! {
        #[test]
        fn points_grow_with_hours(s in scheme(), k in kind(), a in MIN_HALF_HOURS..=MAX_HALF_HOURS, b in MIN_HALF_HOURS..=MAX_HALF_HOURS) {
            let (lo, hi) = (a.min(b), a.max(b));
            let p = |h| points_x2(s, RecordState::Confirmed, k, h);
            prop_assert!(p(lo) <= p(hi));
            prop_assert_eq!(p(hi) - p(lo), i64::from(s.per_hour) * i64::from(hi - lo));
            prop_assert!(p(lo) >= 0);
        }

        #[test]
        fn only_confirmed_records_earn_points(s in scheme(), k in kind(), h in MIN_HALF_HOURS..=MAX_HALF_HOURS) {
            prop_assert_eq!(points_x2(s, RecordState::Refused, k, h), 0);
            prop_assert_eq!(points_x2(s, RecordState::Submitted, k, h), 0);
        }

        #[test]
        fn a_matter_adds_its_points(s in scheme(), h in MIN_HALF_HOURS..=MAX_HALF_HOURS) {
            let with = points_x2(s, RecordState::Confirmed, ServiceKind::MatterCoordination, h);
            let without = points_x2(s, RecordState::Confirmed, ServiceKind::Volunteer, h);
            prop_assert_eq!(with - without, 2 * i64::from(s.per_matter));
        }

        #[test]
        fn checked_hours_are_whole_half_hours_in_range(x in prop_oneof![-10.0f64..30.0, (-20i32..60).prop_map(|h| f64::from(h) / 2.0)]) {
            match check_hours(x) {
                Ok(h) => {
                    prop_assert!((MIN_HALF_HOURS..=MAX_HALF_HOURS).contains(&h));
                    prop_assert_eq!(f64::from(h) / 2.0, x);
                }
                Err(_) => prop_assert!(!(0.5..=24.0).contains(&x) || (x * 2.0).fract() != 0.0),
            }
        }

        #[test]
        fn ended_reports_take_no_action(a in proptest::sample::select(ReportAction::ALL)) {
            for state in [ReportState::Refused, ReportState::Withdrawn] {
                for actor in [ReportActor::Member, ReportActor::Secretary] {
                    prop_assert!(report_action(state, a, actor).is_err());
                }
            }
        }

        #[test]
        fn compounds_add_up_to_the_whole((reports, ones, records) in facts()) {
            let all = tally(&reports, &ones, &records, |_| true, |_| true);
            let parts: Vec<Tally> = (1..5)
                .map(|c| tally(&reports, &ones, &records, |x| x == c, |_| true))
                .collect();
            let sum = |f: fn(&Tally) -> i64| parts.iter().map(f).sum::<i64>();
            prop_assert_eq!(sum(|t| t.residence_reports as i64), all.residence_reports as i64);
            prop_assert_eq!(sum(|t| t.employer_reports as i64), all.employer_reports as i64);
            prop_assert_eq!(sum(|t| t.pending_reports as i64), all.pending_reports as i64);
            prop_assert_eq!(sum(|t| t.records as i64), all.records as i64);
            prop_assert_eq!(sum(|t| t.half_hours), all.half_hours);
            prop_assert_eq!(sum(|t| t.points_x2), all.points_x2);
            // A member may report in several compounds: counted once above.
            prop_assert!(sum(|t| t.members_reported as i64) >= all.members_reported as i64);
            prop_assert!(sum(|t| t.matters_coordinated as i64) >= all.matters_coordinated as i64);
            // Every member reported at home is in exactly one completion band.
            for t in parts.iter().chain([&all]) {
                prop_assert!(t.three_ones_all + t.three_ones_some + t.three_ones_none <= t.residence_reports);
                prop_assert!(t.members_reported <= t.residence_reports + t.employer_reports);
            }
        }

        #[test]
        fn members_split_into_disjoint_groups_add_up((reports, ones, records) in facts()) {
            let all = tally(&reports, &ones, &records, |_| true, |_| true);
            let odd = tally(&reports, &ones, &records, |_| true, |m| m % 2 == 1);
            let even = tally(&reports, &ones, &records, |_| true, |m| m % 2 == 0);
            prop_assert_eq!(odd.members_reported + even.members_reported, all.members_reported);
            prop_assert_eq!(
                odd.three_ones_all + even.three_ones_all,
                all.three_ones_all
            );
            prop_assert_eq!(odd.points_x2 + even.points_x2, all.points_x2);
        }
    }
}
