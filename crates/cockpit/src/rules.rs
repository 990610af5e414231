//! Pure arithmetic of the cockpit: which figures there are, how each is
//! derived from the counts the capabilities report, shares rounded down
//! to a tenth of a percent, means rounded down to a tenth, and the ranking
//! of a node's children by one figure. No I/O.

use std::cmp::Ordering;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use jinlin_kernel::time::china;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The three parts of the "123" system the figures belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = CockpitSection)]
pub enum Section {
    /// 一核引领: integrated leadership.
    Leadership,
    /// 双向发力: two-dimensional responsibility.
    Responsibility,
    /// 三方服务: three-part service.
    Service,
}

impl Section {
    pub const ALL: [Section; 3] = [
        Section::Leadership,
        Section::Responsibility,
        Section::Service,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Section::Leadership => "leadership",
            Section::Responsibility => "responsibility",
            Section::Service => "service",
        }
    }
}

macro_rules! figure_keys {
    ($($v:ident => $s:literal, $section:ident;)*) => {
        /// Every figure of the cockpit, in the order it is shown.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        #[schema(as = CockpitFigureKey)]
        pub enum Key { $($v),* }

        impl Key {
            pub const ALL: &'static [Key] = &[$(Key::$v),*];

            pub fn as_str(self) -> &'static str {
                match self { $(Key::$v => $s),* }
            }

            pub fn section(self) -> Section {
                match self { $(Key::$v => Section::$section),* }
            }
        }
    };
}

figure_keys! {
    Compounds => "compounds", Leadership;
    PartyOrgs => "party_orgs", Leadership;
    PartyOrgCoverage => "party_org_coverage", Leadership;
    CrossCoverage => "cross_coverage", Leadership;
    Deliberations => "deliberations", Leadership;
    DeliberationsOpen => "deliberations_open", Leadership;
    VotesHeld => "votes_held", Leadership;
    PropertyStars => "property_stars", Leadership;
    AgenciesPaired => "agencies_paired", Responsibility;
    AgenciesPairedShare => "agencies_paired_share", Responsibility;
    CompoundsPairedShare => "compounds_paired_share", Responsibility;
    Projects => "projects", Responsibility;
    ProjectsDone => "projects_done", Responsibility;
    Pilots => "pilots", Responsibility;
    JointMeetings => "joint_meetings", Responsibility;
    MembersReported => "members_reported", Responsibility;
    ThreeOnes => "three_ones", Responsibility;
    MattersRaised => "matters_raised", Service;
    MattersCoordinated => "matters_coordinated", Service;
    MattersSolved => "matters_solved", Service;
    MattersOnTime => "matters_on_time", Service;
    MattersSatisfaction => "matters_satisfaction", Service;
    MicroGrids => "micro_grids", Service;
    HouseholdReach => "household_reach", Service;
    SocialOrgs => "social_orgs", Service;
    SocialSessions => "social_sessions", Service;
    PersonTimes => "person_times", Service;
    VolunteerTeams => "volunteer_teams", Service;
    VolunteerMembers => "volunteer_members", Service;
}

impl Key {
    pub fn parse(s: &str) -> Option<Key> {
        Key::ALL.iter().copied().find(|k| k.as_str() == s)
    }
}

/// The figure children are ranked by when none is chosen.
pub const DEFAULT_KEY: Key = Key::PartyOrgCoverage;

/// Project states in the order shown (`jinlin_projects::rules::State`).
pub const PROJECT_STATES: [&str; 7] = [
    "planned",
    "returned",
    "approved",
    "in_progress",
    "done",
    "rejected",
    "cancelled",
];

/// Deliberation steps in the order shown (`jinlin_deliberation::process::State`).
pub const STEPS: [&str; 8] = [
    "propose",
    "motion",
    "consult",
    "public_review",
    "evaluate",
    "closed",
    "rejected",
    "withdrawn",
];

/// Steps after which a deliberation is over.
const TERMINAL_STEPS: [&str; 3] = ["closed", "rejected", "withdrawn"];

/// The counts of one node, as the capabilities report them. Kept as JSON
/// in the maintained figures and the daily snapshots; a field added later
/// reads as its default from older rows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Numbers {
    pub compounds: u64,
    /// Compounds with a party organisation.
    pub party_orgs: u64,
    /// Party organisations whose members cover the compound's bodies.
    pub covering: u64,
    /// Agencies of the district (the same at every node of it).
    pub district_agencies: u64,
    /// Agencies currently paired with at least one compound here.
    pub agencies_paired: u64,
    /// Compounds here with at least one agency.
    pub compounds_paired: u64,
    /// Projects by state, in [`PROJECT_STATES`] order.
    pub projects: [u64; 7],
    /// Compounds currently designated cohesion pilots.
    pub pilots: u64,
    /// Joint meetings held this quarter by the streets here; none below a
    /// street (meetings are a street's).
    pub joint_meetings: Option<u64>,
    /// In-service party members with a confirmed report.
    pub members_reported: u64,
    /// Members reported at home, and those with all three ones.
    pub home_reported: u64,
    pub three_ones_all: u64,
    pub matters_coordinated: u64,
    pub matters_raised: u64,
    pub matters_solved: u64,
    pub matters_on_time: u64,
    pub matters_rated: u64,
    pub matters_satisfied: u64,
    pub grids: u64,
    pub dwellings: u64,
    pub reachable: u64,
    pub orgs_admitted: u64,
    pub sessions_held: u64,
    pub person_times: u64,
    pub teams: u64,
    pub team_members: u64,
    /// Deliberations by step, in [`STEPS`] order.
    pub deliberations: [u64; 8],
    pub votes_held: u64,
    /// Compounds whose property company has stars, and their sum.
    pub rated_compounds: u64,
    pub stars_sum: u64,
}

/// A figure's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    Count(u64),
    /// `n` of `d`; no share without a denominator.
    Share {
        n: u64,
        d: u64,
    },
    /// A mean of `n` values summing to `sum`.
    Mean {
        sum: u64,
        n: u64,
    },
}

impl Numbers {
    /// Adds the counts of a node disjoint from this one (another district
    /// of the city). Counts of distinct things (agencies paired,
    /// organisations admitted) are only right when no item is in both;
    /// the caller sets them from the items themselves where it may be.
    pub fn add(&mut self, o: &Numbers) {
        let add = |a: &mut [u64], b: &[u64]| a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
        self.compounds += o.compounds;
        self.party_orgs += o.party_orgs;
        self.covering += o.covering;
        self.district_agencies += o.district_agencies;
        self.agencies_paired += o.agencies_paired;
        self.compounds_paired += o.compounds_paired;
        add(&mut self.projects, &o.projects);
        self.pilots += o.pilots;
        self.joint_meetings = match (self.joint_meetings, o.joint_meetings) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
        };
        self.members_reported += o.members_reported;
        self.home_reported += o.home_reported;
        self.three_ones_all += o.three_ones_all;
        self.matters_coordinated += o.matters_coordinated;
        self.matters_raised += o.matters_raised;
        self.matters_solved += o.matters_solved;
        self.matters_on_time += o.matters_on_time;
        self.matters_rated += o.matters_rated;
        self.matters_satisfied += o.matters_satisfied;
        self.grids += o.grids;
        self.dwellings += o.dwellings;
        self.reachable += o.reachable;
        self.orgs_admitted += o.orgs_admitted;
        self.sessions_held += o.sessions_held;
        self.person_times += o.person_times;
        self.teams += o.teams;
        self.team_members += o.team_members;
        add(&mut self.deliberations, &o.deliberations);
        self.votes_held += o.votes_held;
        self.rated_compounds += o.rated_compounds;
        self.stars_sum += o.stars_sum;
    }

    /// A city's or province's counts: its districts' (each with when it
    /// was computed) added up, with the distinct agencies paired and
    /// organisations admitted counted from the items over all of them (one
    /// serving two districts counts once), and the joint meetings of its
    /// streets (none held is zero). Meetings are counted by quarter: while
    /// one district's figures are still of the last quarter and another's
    /// of this one, their sum is no quarter's count, and it is left out
    /// until the late district is counted again.
    pub fn sum_of_districts(
        districts: &[(&Numbers, DateTime<Utc>)],
        agencies_paired: u64,
        orgs_admitted: u64,
    ) -> Numbers {
        let mut n = Numbers::default();
        for (d, _) in districts {
            n.add(d);
        }
        n.agencies_paired = agencies_paired;
        n.orgs_admitted = orgs_admitted;
        let quarter = |(_, at): &(&Numbers, DateTime<Utc>)| Period::of(By::Quarter, *at);
        let one_quarter = districts
            .first()
            .is_none_or(|first| districts.iter().all(|d| quarter(d) == quarter(first)));
        n.joint_meetings = one_quarter.then(|| n.joint_meetings.unwrap_or(0));
        n
    }

    pub fn value(&self, key: Key) -> Option<Value> {
        use Value::{Count, Share};
        let share = |n, d| Some(Share { n, d });
        let count = |n| Some(Count(n));
        match key {
            Key::Compounds => count(self.compounds),
            Key::PartyOrgs => count(self.party_orgs),
            Key::PartyOrgCoverage => share(self.party_orgs, self.compounds),
            Key::CrossCoverage => share(self.covering, self.party_orgs),
            Key::Deliberations => count(self.deliberations.iter().sum()),
            Key::DeliberationsOpen => count(
                STEPS
                    .iter()
                    .zip(self.deliberations)
                    .filter(|(s, _)| !TERMINAL_STEPS.contains(s))
                    .map(|(_, n)| n)
                    .sum(),
            ),
            Key::VotesHeld => count(self.votes_held),
            Key::PropertyStars => Some(Value::Mean {
                sum: self.stars_sum,
                n: self.rated_compounds,
            }),
            Key::AgenciesPaired => count(self.agencies_paired),
            Key::AgenciesPairedShare => share(self.agencies_paired, self.district_agencies),
            Key::CompoundsPairedShare => share(self.compounds_paired, self.compounds),
            Key::Projects => count(self.projects.iter().sum()),
            Key::ProjectsDone => count(self.projects[4]),
            Key::Pilots => count(self.pilots),
            Key::JointMeetings => self.joint_meetings.map(Count),
            Key::MembersReported => count(self.members_reported),
            Key::ThreeOnes => share(self.three_ones_all, self.home_reported),
            Key::MattersRaised => count(self.matters_raised),
            Key::MattersCoordinated => count(self.matters_coordinated),
            Key::MattersSolved => count(self.matters_solved),
            Key::MattersOnTime => share(self.matters_on_time, self.matters_solved),
            Key::MattersSatisfaction => share(self.matters_satisfied, self.matters_rated),
            Key::MicroGrids => count(self.grids),
            Key::HouseholdReach => share(self.reachable, self.dwellings),
            Key::SocialOrgs => count(self.orgs_admitted),
            Key::SocialSessions => count(self.sessions_held),
            Key::PersonTimes => count(self.person_times),
            Key::VolunteerTeams => count(self.teams),
            Key::VolunteerMembers => count(self.team_members),
        }
    }

    /// A figure's parts by state or step (projects, deliberations), zeros
    /// left out.
    pub fn breakdown(&self, key: Key) -> Vec<(&'static str, u64)> {
        let pick = |names: &[&'static str], counts: &[u64]| {
            names
                .iter()
                .zip(counts)
                .filter(|(_, n)| **n > 0)
                .map(|(s, n)| (*s, *n))
                .collect()
        };
        match key {
            Key::Projects => pick(&PROJECT_STATES, &self.projects),
            Key::Deliberations => pick(&STEPS, &self.deliberations),
            _ => Vec::new(),
        }
    }
}

/// `n / d` in tenths of a percent, rounded down; none when `d` is 0.
pub fn permille(n: u64, d: u64) -> Option<u64> {
    (d > 0).then(|| (u128::from(n) * 1000 / u128::from(d)) as u64)
}

/// A mean in tenths, rounded down; none without values.
pub fn mean_tenths(sum: u64, n: u64) -> Option<u64> {
    (n > 0).then(|| (u128::from(sum) * 10 / u128::from(n)) as u64)
}

fn tenths(t: u64) -> String {
    format!("{}.{}", t / 10, t % 10)
}

impl Value {
    /// As shown: "12", "83.3%", "4.2"; none when there is nothing to show.
    pub fn display(self) -> Option<String> {
        match self {
            Value::Count(n) => Some(n.to_string()),
            Value::Share { n, d } => permille(n, d).map(|p| format!("{}%", tenths(p))),
            Value::Mean { sum, n } => mean_tenths(sum, n).map(tenths),
        }
    }

    /// "5/6" for a share with a denominator.
    pub fn fraction(self) -> Option<String> {
        match self {
            Value::Share { n, d } if d > 0 => Some(format!("{n}/{d}")),
            _ => None,
        }
    }

    /// The number a chart plots: the count, the percent or the mean, as
    /// shown (rounded down).
    pub fn number(self) -> Option<f64> {
        match self {
            Value::Count(n) => Some(n as f64),
            Value::Share { n, d } => permille(n, d).map(|p| p as f64 / 10.0),
            Value::Mean { sum, n } => mean_tenths(sum, n).map(|t| t as f64 / 10.0),
        }
    }

    /// The exact value as a fraction (numerator, denominator), for ranking.
    fn ratio(self) -> Option<(u128, u128)> {
        match self {
            Value::Count(n) => Some((u128::from(n), 1)),
            Value::Share { n, d } | Value::Mean { sum: n, n: d } => {
                (d > 0).then_some((u128::from(n), u128::from(d)))
            }
        }
    }
}

/// Orders two values exactly, greatest first; values with nothing to show
/// come last.
pub fn compare(a: Option<Value>, b: Option<Value>) -> Ordering {
    match (a.and_then(Value::ratio), b.and_then(Value::ratio)) {
        (Some((an, ad)), Some((bn, bd))) => (bn * ad).cmp(&(an * bd)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// Ranks `values` greatest first. Returns, in ranked order, each item's
/// index in `values` and its rank: equal values share a rank and the next
/// rank skips (1, 2, 2, 4); items with nothing to show are unranked
/// (none) and come last. Ties keep their input order.
pub fn rank(values: &[Option<Value>]) -> Vec<(usize, Option<usize>)> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| compare(values[a], values[b]).then(a.cmp(&b)));
    let mut out: Vec<(usize, Option<usize>)> = Vec::with_capacity(order.len());
    for (pos, &i) in order.iter().enumerate() {
        let shown = values[i].and_then(Value::ratio).is_some();
        let r = if !shown {
            None
        } else {
            match out.last() {
                Some(&(prev, Some(r))) if compare(values[prev], values[i]) == Ordering::Equal => {
                    Some(r)
                }
                _ => Some(pos + 1),
            }
        };
        out.push((i, r));
    }
    out
}

// ---------------------------------------------------------------- periods

/// The figures kept as dated records, each counted in the period its
/// record is dated in (see `store::trend`); the others are standing
/// figures, a state as of now with no history kept.
pub const TREND_KEYS: [Key; 10] = [
    Key::Deliberations,
    Key::VotesHeld,
    Key::Projects,
    Key::ProjectsDone,
    Key::JointMeetings,
    Key::MattersRaised,
    Key::MattersSolved,
    Key::SocialOrgs,
    Key::SocialSessions,
    Key::PersonTimes,
];

impl Key {
    /// Whether the figure has a trend (its records carry dates).
    pub fn has_trend(self) -> bool {
        TREND_KEYS.contains(&self)
    }
}

/// How a trend is bucketed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = CockpitTrendBy)]
pub enum By {
    /// The last 12 months, the current one included.
    Month,
    /// The last 8 quarters, the current one included.
    Quarter,
}

impl By {
    pub fn parse(s: &str) -> Option<By> {
        match s {
            "month" => Some(By::Month),
            "quarter" => Some(By::Quarter),
            _ => None,
        }
    }

    /// How many periods a trend shows.
    pub fn span(self) -> usize {
        match self {
            By::Month => 12,
            By::Quarter => 8,
        }
    }
}

/// A calendar month or quarter in China time: `months` months from the
/// month numbered `first` (year × 12 + month − 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    first: i64,
    months: i64,
}

impl Period {
    /// The month of a day.
    pub fn month(year: i32, month: u32) -> Option<Period> {
        ((1..=12).contains(&month) && (1900..=9998).contains(&year)).then_some(Period {
            first: i64::from(year) * 12 + i64::from(month) - 1,
            months: 1,
        })
    }

    /// The `q`th quarter of `year`.
    pub fn quarter(year: i32, q: u32) -> Option<Period> {
        ((1..=4).contains(&q)).then_some(())?;
        Period::month(year, (q - 1) * 3 + 1).map(|p| Period { months: 3, ..p })
    }

    /// The period of `by` that holds the instant `t` (China time).
    pub fn of(by: By, t: DateTime<Utc>) -> Period {
        let d = t.with_timezone(&china());
        let m = Period {
            first: i64::from(d.year()) * 12 + i64::from(d.month0()),
            months: 1,
        };
        match by {
            By::Month => m,
            By::Quarter => Period {
                first: m.first - m.first.rem_euclid(3),
                months: 3,
            },
        }
    }

    /// Parses `2026-11` (a month) or `2026-Q4` / `2026Q4` (a quarter).
    pub fn parse(s: &str) -> Option<Period> {
        let s = s.trim();
        let (y, rest) = s.split_at_checked(4)?;
        let year: i32 = y
            .parse()
            .ok()
            .filter(|_| y.bytes().all(|b| b.is_ascii_digit()))?;
        let rest = rest.strip_prefix('-').unwrap_or(rest);
        if let Some(q) = rest.strip_prefix('Q').or_else(|| rest.strip_prefix('q')) {
            if q.len() != 1 {
                return None;
            }
            return Period::quarter(year, q.parse().ok()?);
        }
        if rest.len() != 2 || !rest.bytes().all(|b| b.is_ascii_digit()) || !s.contains('-') {
            return None;
        }
        Period::month(year, rest.parse().ok()?)
    }

    pub fn by(self) -> By {
        if self.months == 3 {
            By::Quarter
        } else {
            By::Month
        }
    }

    pub fn year(self) -> i32 {
        self.first.div_euclid(12) as i32
    }

    /// 1–12, the period's first month.
    pub fn first_month(self) -> u32 {
        self.first.rem_euclid(12) as u32 + 1
    }

    /// `2026-11` or `2026-Q4`.
    pub fn label(self) -> String {
        match self.by() {
            By::Month => format!("{}-{:02}", self.year(), self.first_month()),
            By::Quarter => format!("{}-Q{}", self.year(), (self.first_month() - 1) / 3 + 1),
        }
    }

    fn month_start(index: i64) -> DateTime<Utc> {
        let y = index.div_euclid(12) as i32;
        let m = index.rem_euclid(12) as u32 + 1;
        let day = NaiveDate::from_ymd_opt(y, m, 1).expect("the first of a month exists");
        day.and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_local_timezone(china())
            .single()
            .expect("China time has no gaps")
            .with_timezone(&Utc)
    }

    /// Midnight of its first day in China, as an instant.
    pub fn start(self) -> DateTime<Utc> {
        Period::month_start(self.first)
    }

    /// Midnight of the first day after it, in China (exclusive).
    pub fn end(self) -> DateTime<Utc> {
        Period::month_start(self.first + self.months)
    }

    /// The period before.
    pub fn prev(self) -> Period {
        Period {
            first: self.first - self.months,
            ..self
        }
    }

    pub fn contains(self, t: DateTime<Utc>) -> bool {
        self.start() <= t && t < self.end()
    }
}

/// The periods of a trend as of `now`, oldest first, the current one last:
/// 12 months or 8 quarters.
impl Period {
    /// Its first day and the first day after it, China dates.
    pub fn days(self) -> (NaiveDate, NaiveDate) {
        let day = |t: DateTime<Utc>| t.with_timezone(&china()).date_naive();
        (day(self.start()), day(self.end()))
    }
}

/// For each period, the last of the dated `snapshots` (oldest first) whose
/// China date falls in it; none for a period without one (before the
/// first snapshot, or a gap), which is not zero.
pub fn last_in_each<'a, T>(
    periods: &[Period],
    snapshots: &'a [(NaiveDate, T)],
) -> Vec<Option<&'a T>> {
    periods
        .iter()
        .map(|p| {
            let (from, to) = p.days();
            snapshots
                .iter()
                .rev()
                .find(|(d, _)| *d >= from && *d < to)
                .map(|(_, t)| t)
        })
        .collect()
}

pub fn periods(by: By, now: DateTime<Utc>) -> Vec<Period> {
    let mut p = Period::of(by, now);
    let mut out = vec![p];
    while out.len() < by.span() {
        p = p.prev();
        out.push(p);
    }
    out.reverse();
    out
}

/// The bucket an instant falls in among consecutive `periods`: none
/// outside them.
pub fn bucket_of(t: DateTime<Utc>, periods: &[Period]) -> Option<usize> {
    periods.iter().position(|p| p.contains(t))
}

/// Counts instants by bucket (a reference for the grouped query).
pub fn tally(times: &[DateTime<Utc>], periods: &[Period]) -> Vec<u64> {
    let mut out = vec![0; periods.len()];
    for t in times {
        if let Some(i) = bucket_of(*t, periods) {
            out[i] += 1;
        }
    }
    out
}

/// When a district's figures are refreshed in a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshAt {
    /// At once: the district has no figures, or they are stale.
    Now,
    /// This long after the period's job ran.
    After(std::time::Duration),
    /// Not in this period: the next one is near and its figures will do
    /// until then.
    NextPeriod,
}

/// Whether maintained figures computed at `at` (none: never) are fresh at
/// `now`: no older than `stale_after`. A time ahead of `now` (another
/// node's clock) counts as fresh.
pub fn is_fresh(
    at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    stale_after: std::time::Duration,
) -> bool {
    at.is_some_and(|t| (now - t).to_std().unwrap_or_default() <= stale_after)
}

/// When a sum of parts computed at `parts` was true: at the oldest part,
/// and never later than `now`, when it is taken. A city summed from a
/// district whose refresh keeps failing is as old as that district's.
pub fn sum_as_of(
    parts: impl IntoIterator<Item = DateTime<Utc>>,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    parts.into_iter().fold(now, DateTime::min)
}

/// Plans a period's district refreshes, one per entry of `computed` (when
/// each district's figures were computed, if ever). The period began at
/// `start` and lasts `every`; its job runs at `now`. Districts without
/// figures, or with figures older than `stale_after`, are refreshed at
/// once. The others are spread evenly over what is left of the period's
/// first half, so one node gives a district's few seconds at a time to the
/// figures instead of a long stretch at once, and every district is done
/// well before the next period. A job that runs past the first half (a
/// node started late in the period) leaves them to the next period, which
/// would otherwise begin a second wave minutes after this one.
pub fn plan_refreshes(
    computed: &[Option<DateTime<Utc>>],
    start: DateTime<Utc>,
    now: DateTime<Utc>,
    every: std::time::Duration,
    stale_after: std::time::Duration,
) -> Vec<RefreshAt> {
    let is_fresh = |at: &Option<DateTime<Utc>>| is_fresh(*at, now, stale_after);
    let fresh = computed.iter().filter(|c| is_fresh(c)).count() as u64;
    let half_ends = start + chrono::Duration::from_std(every / 2).unwrap_or_default();
    let window = (half_ends - now).to_std().unwrap_or_default();
    let mut spread = 0;
    computed
        .iter()
        .map(|at| {
            if !is_fresh(at) {
                RefreshAt::Now
            } else if window.is_zero() {
                RefreshAt::NextPeriod
            } else {
                let offset = window.as_millis() as u64 * spread / fresh;
                spread += 1;
                RefreshAt::After(std::time::Duration::from_millis(offset))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn shares_and_means_round_down() {
        assert_eq!(Value::Share { n: 2, d: 3 }.display().unwrap(), "66.6%");
        assert_eq!(Value::Share { n: 1, d: 1 }.display().unwrap(), "100.0%");
        assert_eq!(Value::Share { n: 0, d: 7 }.display().unwrap(), "0.0%");
        assert_eq!(Value::Share { n: 1, d: 0 }.display(), None);
        assert_eq!(Value::Mean { sum: 14, n: 3 }.display().unwrap(), "4.6");
        assert_eq!(Value::Mean { sum: 0, n: 0 }.display(), None);
        assert_eq!(Value::Count(0).display().unwrap(), "0");
        assert_eq!(Value::Share { n: 5, d: 6 }.fraction().unwrap(), "5/6");
    }

    #[test]
    fn ranks_share_ties_and_skip() {
        let v = [
            Some(Value::Count(3)),
            Some(Value::Count(5)),
            None,
            Some(Value::Count(3)),
            Some(Value::Count(1)),
        ];
        assert_eq!(
            rank(&v),
            vec![
                (1, Some(1)),
                (0, Some(2)),
                (3, Some(2)),
                (4, Some(4)),
                (2, None)
            ]
        );
        // 1/3 and 2/6 are equal; a share without denominator is unranked.
        let s = [
            Some(Value::Share { n: 1, d: 3 }),
            Some(Value::Share { n: 0, d: 0 }),
            Some(Value::Share { n: 2, d: 6 }),
            Some(Value::Share { n: 1, d: 2 }),
        ];
        assert_eq!(
            rank(&s),
            vec![(3, Some(1)), (0, Some(2)), (2, Some(2)), (1, None)]
        );
    }

    #[test]
    fn every_key_parses_back_and_has_a_value_or_not() {
        let n = Numbers::default();
        for k in Key::ALL {
            assert_eq!(Key::parse(k.as_str()), Some(*k));
        }
        assert_eq!(Key::parse("nope"), None);
        assert_eq!(n.value(Key::JointMeetings), None);
        assert_eq!(n.value(Key::Compounds), Some(Value::Count(0)));
    }

    #[test]
    fn open_deliberations_leave_out_the_terminal_steps() {
        let n = Numbers {
            deliberations: [1, 2, 3, 4, 5, 6, 7, 8],
            projects: [1, 0, 0, 2, 3, 0, 0],
            ..Default::default()
        };
        assert_eq!(n.value(Key::Deliberations), Some(Value::Count(36)));
        assert_eq!(n.value(Key::DeliberationsOpen), Some(Value::Count(15)));
        assert_eq!(n.value(Key::ProjectsDone), Some(Value::Count(3)));
        assert_eq!(
            n.breakdown(Key::Projects),
            vec![("planned", 1), ("in_progress", 2), ("done", 3)]
        );
    }

    fn value() -> impl Strategy<Value = Option<Value>> {
        prop_oneof![
            Just(None),
            (0u64..50).prop_map(|n| Some(Value::Count(n))),
            (0u64..20, 0u64..20).prop_map(|(n, d)| Some(Value::Share { n, d })),
        ]
    }

    proptest! {
        #[test]
        fn permille_is_the_floor(n in 0u64..1_000_000, d in 1u64..1_000_000) {
            let p = permille(n, d).unwrap();
            // p/1000 <= n/d < (p+1)/1000
            prop_assert!(u128::from(p) * u128::from(d) <= u128::from(n) * 1000);
            prop_assert!(u128::from(n) * 1000 < (u128::from(p) + 1) * u128::from(d));
        }

        #[test]
        fn permille_grows_with_the_numerator(n in 0u64..10_000, d in 1u64..10_000) {
            prop_assert!(permille(n, d) <= permille(n + 1, d));
        }

        #[test]
        fn mean_is_the_floor(sum in 0u64..100_000, n in 1u64..1000) {
            let t = mean_tenths(sum, n).unwrap();
            prop_assert!(t * n <= sum * 10);
            prop_assert!(sum * 10 < (t + 1) * n);
        }

        #[test]
        fn ranking_is_a_sorted_permutation(values in proptest::collection::vec(value(), 0..20)) {
            let ranked = rank(&values);
            let mut seen: Vec<usize> = ranked.iter().map(|(i, _)| *i).collect();
            seen.sort_unstable();
            prop_assert_eq!(seen, (0..values.len()).collect::<Vec<_>>());
            for w in ranked.windows(2) {
                let (a, ra) = w[0];
                let (b, rb) = w[1];
                prop_assert_ne!(compare(values[a], values[b]), Ordering::Greater);
                match (ra, rb) {
                    (Some(ra), Some(rb)) => {
                        prop_assert!(ra <= rb);
                        prop_assert_eq!(ra == rb, compare(values[a], values[b]) == Ordering::Equal);
                    }
                    (Some(_), None) | (None, None) => {}
                    (None, Some(_)) => prop_assert!(false, "an unranked item before a ranked one"),
                }
            }
            // A rank is one more than the number of items strictly ahead.
            for (i, r) in &ranked {
                if let Some(r) = r {
                    let ahead = ranked
                        .iter()
                        .filter(|(j, rj)| rj.is_some() && compare(values[*j], values[*i]) == Ordering::Less)
                        .count();
                    prop_assert_eq!(*r, ahead + 1);
                }
            }
        }
    }

    fn instant() -> impl Strategy<Value = DateTime<Utc>> {
        // 2015 – 2035.
        (1_420_070_400i64..2_082_758_400).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap())
    }

    #[test]
    fn periods_are_china_calendar_months_and_quarters() {
        // 2026-11-30 16:00 UTC is 2026-12-01 00:00 in China.
        let t = DateTime::parse_from_rfc3339("2026-11-30T16:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(Period::of(By::Month, t).label(), "2026-12");
        assert_eq!(
            Period::of(By::Month, t - chrono::Duration::seconds(1)).label(),
            "2026-11"
        );
        assert_eq!(Period::of(By::Quarter, t).label(), "2026-Q4");
        let q1 = Period::parse("2027-Q1").unwrap();
        assert_eq!(q1.start().to_rfc3339(), "2026-12-31T16:00:00+00:00");
        assert_eq!(q1.end().to_rfc3339(), "2027-03-31T16:00:00+00:00");
        assert_eq!(Period::parse("2027Q1"), Some(q1));
        assert_eq!(Period::parse("2026-02").unwrap().label(), "2026-02");
        for bad in [
            "", "2026", "2026-13", "2026-00", "2026-Q5", "2026-Q0", "26-01", "2026-1", "x026-01",
            "2026-Q12", "202601",
        ] {
            assert_eq!(Period::parse(bad), None, "{bad}");
        }
        let ps = periods(By::Month, t);
        assert_eq!(ps.len(), 12);
        assert_eq!(ps[0].label(), "2026-01");
        assert_eq!(ps[11].label(), "2026-12");
        let qs = periods(By::Quarter, t);
        assert_eq!(qs.len(), 8);
        assert_eq!(qs[0].label(), "2025-Q1");
        assert!(Key::MattersRaised.has_trend());
        assert!(!Key::PartyOrgCoverage.has_trend());
    }

    proptest! {
        #[test]
        fn periods_are_consecutive_and_end_with_now(now in instant(), q in any::<bool>()) {
            let by = if q { By::Quarter } else { By::Month };
            let ps = periods(by, now);
            prop_assert_eq!(ps.len(), by.span());
            prop_assert!(ps.last().unwrap().contains(now));
            for w in ps.windows(2) {
                prop_assert_eq!(w[0].end(), w[1].start());
                prop_assert!(w[0].start() < w[0].end());
            }
            for p in &ps {
                prop_assert_eq!(Period::parse(&p.label()), Some(*p));
                prop_assert_eq!(p.by(), by);
            }
        }

        #[test]
        fn every_instant_falls_in_exactly_one_bucket_and_buckets_sum_to_the_span(
            now in instant(),
            q in any::<bool>(),
            offsets in proptest::collection::vec(0i64..900 * 86_400, 0..60),
        ) {
            let by = if q { By::Quarter } else { By::Month };
            let ps = periods(by, now);
            let (start, end) = (ps[0].start(), ps.last().unwrap().end());
            let times: Vec<DateTime<Utc>> = offsets
                .iter()
                .map(|o| end - chrono::Duration::seconds(*o))
                .collect();
            for t in &times {
                let holding = ps.iter().filter(|p| p.contains(*t)).count();
                prop_assert_eq!(holding, usize::from(start <= *t && *t < end));
                if let Some(i) = bucket_of(*t, &ps) {
                    prop_assert_eq!(Period::of(by, *t), ps[i]);
                }
            }
            let counts = tally(&times, &ps);
            let inside = times.iter().filter(|t| start <= **t && **t < end).count() as u64;
            prop_assert_eq!(counts.iter().sum::<u64>(), inside);
            // Three months make their quarter.
            if by == By::Quarter {
                let p = ps[3];
                let m = Period::month(p.year(), p.first_month()).unwrap();
                let months = [m, Period { first: m.first + 1, ..m }, Period { first: m.first + 2, ..m }];
                prop_assert_eq!(tally(&times, &months).iter().sum::<u64>(), counts[3]);
            }
        }
    }

    fn numbers(seed: &[u64]) -> Numbers {
        let mut n = Numbers::default();
        let mut it = seed.iter().copied().cycle();
        let mut next = || it.next().unwrap_or(0);
        n.compounds = next();
        n.party_orgs = next();
        n.covering = next();
        n.district_agencies = next();
        n.agencies_paired = next();
        n.compounds_paired = next();
        n.projects = [next(), next(), next(), next(), next(), next(), next()];
        n.pilots = next();
        n.joint_meetings = (next() % 2 == 0).then(&mut next);
        n.members_reported = next();
        n.home_reported = next();
        n.three_ones_all = next();
        n.matters_coordinated = next();
        n.matters_raised = next();
        n.matters_solved = next();
        n.matters_on_time = next();
        n.matters_rated = next();
        n.matters_satisfied = next();
        n.grids = next();
        n.dwellings = next();
        n.reachable = next();
        n.orgs_admitted = next();
        n.sessions_held = next();
        n.person_times = next();
        n.teams = next();
        n.team_members = next();
        n.deliberations = [
            next(),
            next(),
            next(),
            next(),
            next(),
            next(),
            next(),
            next(),
        ];
        n.votes_held = next();
        n.rated_compounds = next();
        n.stars_sum = next();
        n
    }

    proptest! {
        /// Adding up disjoint nodes gives every count of the whole: each
        /// count figure is the sum of the parts' and each share's
        /// numerator and denominator are; adding nothing changes nothing;
        /// and the JSON kept in the table reads back the same.
        #[test]
        fn numbers_add_up_and_keep(
            parts in proptest::collection::vec(proptest::collection::vec(0u64..1000, 1..40), 0..6),
        ) {
            let parts: Vec<Numbers> = parts.iter().map(|p| numbers(p)).collect();
            let mut whole = Numbers::default();
            for p in &parts {
                whole.add(p);
                let back: Numbers = serde_json::from_str(&serde_json::to_string(p).unwrap()).unwrap();
                prop_assert_eq!(&back, p);
            }
            for key in Key::ALL {
                let sum = |f: &dyn Fn(Value) -> u64| -> u64 {
                    parts.iter().filter_map(|p| p.value(*key)).map(f).sum()
                };
                match whole.value(*key) {
                    Some(Value::Count(n)) => prop_assert_eq!(n, sum(&|v| match v { Value::Count(n) => n, _ => 0 })),
                    Some(Value::Share { n, d }) => {
                        prop_assert_eq!(n, sum(&|v| match v { Value::Share { n, .. } => n, _ => 0 }));
                        prop_assert_eq!(d, sum(&|v| match v { Value::Share { d, .. } => d, _ => 0 }));
                    }
                    Some(Value::Mean { sum: s, n }) => {
                        prop_assert_eq!(s, sum(&|v| match v { Value::Mean { sum, .. } => sum, _ => 0 }));
                        prop_assert_eq!(n, sum(&|v| match v { Value::Mean { n, .. } => n, _ => 0 }));
                    }
                    None => prop_assert!(parts.iter().all(|p| p.value(*key).is_none())),
                }
            }
            let mut again = whole.clone();
            again.add(&Numbers::default());
            prop_assert_eq!(again, whole);
        }

        /// The refreshes start in index order, the first at the period's
        /// start, all within its first half, evenly spaced.
        #[test]
        fn refreshes_are_spread_over_what_is_left_of_the_first_half(
            ages in proptest::collection::vec(proptest::option::of(0i64..3_600), 1..300),
            minutes in 1u64..60,
            late_ms in 0u64..3_600_000,
        ) {
            let every = std::time::Duration::from_secs(minutes * 60);
            let stale_after = every * 2;
            let start = DateTime::parse_from_rfc3339("2026-12-03T02:00:00Z").unwrap().with_timezone(&Utc);
            let late = std::time::Duration::from_millis(late_ms % every.as_millis() as u64);
            let now = start + chrono::Duration::from_std(late).unwrap();
            let computed: Vec<Option<DateTime<Utc>>> = ages
                .iter()
                .map(|a| a.map(|secs| now - chrono::Duration::seconds(secs)))
                .collect();
            let plan = plan_refreshes(&computed, start, now, every, stale_after);
            prop_assert_eq!(plan.len(), computed.len());
            let mut offsets = Vec::new();
            for (at, step) in computed.iter().zip(&plan) {
                let fresh = at.is_some_and(|t| now - t <= chrono::Duration::from_std(stale_after).unwrap());
                match step {
                    // Missing or stale figures never wait.
                    RefreshAt::Now => prop_assert!(!fresh),
                    // The others run before the period's first half ends…
                    RefreshAt::After(d) => {
                        prop_assert!(fresh);
                        prop_assert!(late + *d < every / 2);
                        offsets.push(d.as_millis() as u64);
                    }
                    // …or, when the job ran past it, in the next period.
                    RefreshAt::NextPeriod => prop_assert!(fresh && late >= every / 2),
                }
            }
            // Evenly: the first at once, then one gap apart.
            if let Some(first) = offsets.first() {
                prop_assert_eq!(*first, 0);
                let gap = (every / 2 - late).as_millis() as u64 / offsets.len() as u64;
                for w in offsets.windows(2) {
                    let step = w[1] - w[0];
                    prop_assert!(step == gap || step == gap + 1, "step {step}, gap {gap}");
                }
            }
        }

        /// Each period gets the last snapshot dated in it, none before the
        /// first, and every snapshot inside the span is the one shown for
        /// its period or an earlier one of the same period.
        #[test]
        fn the_last_snapshot_of_each_period_is_shown(
            q in any::<bool>(),
            days in proptest::collection::btree_set(0i64..800, 0..40),
        ) {
            let now = DateTime::parse_from_rfc3339("2026-12-02T02:00:00Z").unwrap().with_timezone(&Utc);
            let by = if q { By::Quarter } else { By::Month };
            let ps = periods(by, now);
            let today = now.with_timezone(&china()).date_naive();
            let snaps: Vec<(NaiveDate, i64)> = days
                .iter()
                .rev()
                .map(|d| (today - chrono::Duration::days(*d), *d))
                .collect();
            let shown = last_in_each(&ps, &snaps);
            prop_assert_eq!(shown.len(), ps.len());
            for (p, v) in ps.iter().zip(&shown) {
                let (from, to) = p.days();
                let inside: Vec<&(NaiveDate, i64)> = snaps.iter().filter(|(d, _)| *d >= from && *d < to).collect();
                match inside.last() {
                    Some((_, last)) => prop_assert_eq!(*v, Some(last)),
                    None => prop_assert!(v.is_none()),
                }
            }
            if let Some((first, _)) = snaps.first() {
                for (p, v) in ps.iter().zip(&shown) {
                    if p.days().1 <= *first {
                        prop_assert!(v.is_none());
                    }
                }
            }
        }
    }

    proptest! {
        /// A sum is as old as its oldest part and never newer than when it
        /// is taken; it is fresh exactly when every part is (the parts no
        /// newer than it is taken).
        #[test]
        fn a_sum_is_as_old_as_its_oldest_part(
            ages in proptest::collection::vec(0i64..7_200, 0..20),
            stale_secs in 1u64..3_600,
        ) {
            let now = DateTime::parse_from_rfc3339("2026-12-03T02:00:00Z").unwrap().with_timezone(&Utc);
            let parts: Vec<DateTime<Utc>> = ages.iter().map(|a| now - chrono::Duration::seconds(*a)).collect();
            let at = sum_as_of(parts.iter().copied(), now);
            prop_assert!(at <= now);
            prop_assert!(parts.iter().all(|p| at <= *p));
            prop_assert!(at == now || parts.contains(&at));
            let stale_after = std::time::Duration::from_secs(stale_secs);
            prop_assert_eq!(
                is_fresh(Some(at), now, stale_after),
                parts.iter().all(|p| is_fresh(Some(*p), now, stale_after))
            );
        }
    }

    proptest! {
        /// A city's joint meetings are its districts' added up when all
        /// were counted in one China quarter, and not known otherwise;
        /// every other count is added up whatever the quarters.
        #[test]
        fn a_citys_meetings_are_summed_only_within_one_quarter(
            parts in proptest::collection::vec((proptest::collection::vec(0u64..50, 1..40), 0i64..30), 1..6),
        ) {
            // Two days before and after the turn of 2026's fourth quarter,
            // China time (UTC+8): 2026-10-01T00:00+08:00.
            let turn = DateTime::parse_from_rfc3339("2026-09-30T16:00:00Z").unwrap().with_timezone(&Utc);
            let at = |hours: i64| turn + chrono::Duration::hours(hours * 4 - 60);
            let ns: Vec<Numbers> = parts.iter().map(|(seed, _)| numbers(seed)).collect();
            let ds: Vec<(&Numbers, DateTime<Utc>)> = ns.iter().zip(&parts).map(|(n, (_, h))| (n, at(*h))).collect();
            let sum = Numbers::sum_of_districts(&ds, 7, 3);
            let one_quarter = ds.iter().all(|(_, t)| (*t >= turn) == (ds[0].1 >= turn));
            let meetings: u64 = ns.iter().filter_map(|n| n.joint_meetings).sum();
            prop_assert_eq!(sum.joint_meetings, one_quarter.then_some(meetings));
            prop_assert_eq!(sum.compounds, ns.iter().map(|n| n.compounds).sum::<u64>());
            prop_assert_eq!((sum.agencies_paired, sum.orgs_admitted), (7, 3));
        }
    }

    #[test]
    fn figures_never_computed_are_not_fresh_and_a_clock_ahead_is() {
        let now = DateTime::parse_from_rfc3339("2026-12-03T02:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let twenty = std::time::Duration::from_secs(20 * 60);
        assert!(!is_fresh(None, now, twenty));
        assert!(is_fresh(
            Some(now - chrono::Duration::minutes(20)),
            now,
            twenty
        ));
        assert!(!is_fresh(
            Some(now - chrono::Duration::minutes(21)),
            now,
            twenty
        ));
        assert!(is_fresh(
            Some(now + chrono::Duration::minutes(5)),
            now,
            twenty
        ));
    }
}
