//! The rules of joint meetings, pure: quarters in China time, the reminder
//! date, the life of a meeting and of an action item, a street's
//! compliance for a quarter, and the checks of what is submitted.
//!
//! Every street holds a party-building joint meeting once a quarter. A
//! quarter is a calendar quarter in China Standard Time (UTC+8, no daylight
//! saving): a meeting at 2026-12-31 20:00 UTC is held on 2027-01-01 in
//! Fuzhou and counts for 2027Q1. The reminder goes out two weeks before the
//! quarter ends: on the day that lies 14 days before the first day of the
//! next quarter.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Most invitees of one meeting.
pub const MAX_INVITEES: usize = 100;
/// Most resolutions recorded for one meeting.
pub const MAX_RESOLUTIONS: usize = 50;
/// Days before the end of a quarter that the reminder goes out.
pub const REMINDER_DAYS: i64 = 14;

/// Why an input is refused: `key` names the message in the locale file,
/// `item` (if any) fills its `%{item}` (a resolution's number, an
/// invitee's reference).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub key: &'static str,
    pub item: Option<String>,
}

fn invalid<T>(key: &'static str) -> Result<T, Invalid> {
    Err(Invalid { key, item: None })
}

fn invalid_item<T>(key: &'static str, item: impl fmt::Display) -> Result<T, Invalid> {
    Err(Invalid {
        key,
        item: Some(item.to_string()),
    })
}

/// China Standard Time.
pub fn china() -> FixedOffset {
    jinlin_kernel::time::china()
}

/// The calendar date in China at `t`.
pub fn china_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&china()).date_naive()
}

/// Midnight at the start of `day` in China, as a UTC instant.
pub fn china_midnight(day: NaiveDate) -> DateTime<Utc> {
    china()
        .from_local_datetime(&day.and_time(NaiveTime::MIN))
        .single()
        .expect("a fixed offset has no gaps")
        .with_timezone(&Utc)
}

/// A calendar quarter: `q` is 1–4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quarter {
    pub year: i32,
    pub q: u8,
}

impl Quarter {
    /// The quarter of a calendar date.
    pub fn of_date(d: NaiveDate) -> Quarter {
        Quarter {
            year: d.year(),
            q: (d.month0() / 3 + 1) as u8,
        }
    }

    /// The quarter an instant falls in, in China time.
    pub fn of(t: DateTime<Utc>) -> Quarter {
        Quarter::of_date(china_date(t))
    }

    pub fn new(year: i32, q: u8) -> Option<Quarter> {
        ((1..=4).contains(&q) && (1900..=9998).contains(&year)).then_some(Quarter { year, q })
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, u32::from(self.q - 1) * 3 + 1, 1)
            .expect("the first day of a quarter exists")
    }

    pub fn next(self) -> Quarter {
        if self.q == 4 {
            Quarter {
                year: self.year + 1,
                q: 1,
            }
        } else {
            Quarter {
                year: self.year,
                q: self.q + 1,
            }
        }
    }

    pub fn prev(self) -> Quarter {
        if self.q == 1 {
            Quarter {
                year: self.year - 1,
                q: 4,
            }
        } else {
            Quarter {
                year: self.year,
                q: self.q - 1,
            }
        }
    }

    /// The last day of the quarter.
    pub fn last_day(self) -> NaiveDate {
        self.next().first_day() - Duration::days(1)
    }

    /// The first instant of the quarter (00:00 of its first day in China).
    pub fn starts_at(self) -> DateTime<Utc> {
        china_midnight(self.first_day())
    }

    /// The first instant after the quarter: its end, exclusive.
    pub fn ends_at(self) -> DateTime<Utc> {
        self.next().starts_at()
    }

    pub fn contains(self, t: DateTime<Utc>) -> bool {
        self.starts_at() <= t && t < self.ends_at()
    }

    /// The day the reminder goes out: two weeks before the quarter ends.
    pub fn reminder_on(self) -> NaiveDate {
        self.next().first_day() - Duration::days(REMINDER_DAYS)
    }

    /// Whether `today` (in China) is on or after the reminder date and
    /// still inside the quarter.
    pub fn reminder_due(self, today: NaiveDate) -> bool {
        self.reminder_on() <= today && today <= self.last_day()
    }
}

impl fmt::Display for Quarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}Q{}", self.year, self.q)
    }
}

impl FromStr for Quarter {
    type Err = Invalid;

    /// "2026Q4" (or "2026q4").
    fn from_str(s: &str) -> Result<Quarter, Invalid> {
        let s = s.trim();
        let Some((y, q)) = s.split_once(['Q', 'q']) else {
            return invalid("joint_meetings.error.quarter");
        };
        match (y.parse::<i32>(), q.parse::<u8>()) {
            (Ok(y), Ok(q)) => Quarter::new(y, q).ok_or(Invalid {
                key: "joint_meetings.error.quarter",
                item: None,
            }),
            _ => invalid("joint_meetings.error.quarter"),
        }
    }
}

macro_rules! str_enum {
    ($(#[$m:meta])* $name:ident as $schema:ident { $($v:ident => $s:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        #[schema(as = $schema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($v),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v),*];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s),* }
            }

            pub fn parse(s: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|x| x.as_str() == s)
            }
        }
    };
}

str_enum!(
    /// A meeting's life: scheduled → held, or scheduled → cancelled.
    MeetingState as JointMeetingState { Scheduled => "scheduled", Held => "held", Cancelled => "cancelled" }
);

str_enum!(
    /// Who is invited: an agency of the district, a community under the
    /// street, or a compound party organisation under the street.
    InviteeKind as JointMeetingInviteeKind { Agency => "agency", Community => "community", PartyOrg => "party_org" }
);

str_enum!(
    /// An action item: open → done. Overdue is derived (open, past due).
    ActionState as JointMeetingActionState { Open => "open", Done => "done" }
);

str_enum!(
    /// A street's standing for a quarter.
    Compliance as JointMeetingStanding { Held => "held", Scheduled => "scheduled", None => "none" }
);

impl MeetingState {
    /// Only a scheduled meeting may be changed, held or cancelled.
    pub fn is_open(self) -> bool {
        self == MeetingState::Scheduled
    }
}

/// A street's compliance for a quarter from the states of its meetings in
/// that quarter: held if any was held, else scheduled if any is still
/// scheduled, else none (cancelled meetings count for nothing).
pub fn compliance(states: impl IntoIterator<Item = MeetingState>) -> Compliance {
    let mut out = Compliance::None;
    for s in states {
        match s {
            MeetingState::Held => return Compliance::Held,
            MeetingState::Scheduled => out = Compliance::Scheduled,
            MeetingState::Cancelled => {}
        }
    }
    out
}

/// An open item is overdue from the day after its due date (in China).
pub fn is_overdue(state: ActionState, due_on: NaiveDate, today: NaiveDate) -> bool {
    state == ActionState::Open && today > due_on
}

/// A name-like text: trimmed, 1..=max characters.
pub fn check_text(text: &str, max: usize, empty_key: &'static str) -> Result<String, Invalid> {
    let t = text.trim();
    if t.is_empty() {
        return invalid(empty_key);
    }
    if t.chars().count() > max {
        return invalid("joint_meetings.error.too_long");
    }
    Ok(t.to_string())
}

/// An optional text: none when empty, at most `max` characters.
pub fn check_optional(text: Option<&str>, max: usize) -> Result<Option<String>, Invalid> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) if t.chars().count() > max => invalid("joint_meetings.error.too_long"),
        Some(t) => Ok(Some(t.to_string())),
    }
}

/// A meeting date: within a sensible range of years.
pub fn check_schedule(at: DateTime<Utc>) -> Result<Quarter, Invalid> {
    let q = Quarter::of(at);
    if !(2000..=2100).contains(&q.year) {
        return invalid("joint_meetings.error.date");
    }
    Ok(q)
}

/// The moment a meeting is recorded as held: given, or the scheduled time
/// (or now, if that lies ahead); never in the future.
pub fn held_at(
    given: Option<DateTime<Utc>>,
    scheduled: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, Invalid> {
    let at = given.unwrap_or(scheduled.min(now));
    if at > now {
        return invalid("joint_meetings.error.held_in_future");
    }
    check_schedule(at)?;
    Ok(at)
}

/// An invitee named twice, or too many of them.
pub fn check_invitees<T: Eq + std::hash::Hash + Clone + fmt::Display>(
    refs: &[T],
) -> Result<(), Invalid> {
    if refs.is_empty() {
        return invalid("joint_meetings.error.no_invitees");
    }
    if refs.len() > MAX_INVITEES {
        return invalid("joint_meetings.error.too_many_invitees");
    }
    let mut seen = HashSet::new();
    for r in refs {
        if !seen.insert(r.clone()) {
            return invalid_item("joint_meetings.error.invited_twice", r);
        }
    }
    Ok(())
}

/// A resolution as submitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    pub text: String,
    pub owner: Option<i64>,
    pub responsible: Option<String>,
    pub due_on: Option<NaiveDate>,
}

/// A resolution that passed the checks: it becomes an action item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedResolution {
    pub text: String,
    pub owner: i64,
    pub responsible: Option<String>,
    pub due_on: NaiveDate,
}

/// Checks every resolution of a meeting: a text, an owner that is one of
/// the meeting's invitees (`owners`), a due date not before the day the
/// meeting was held. The first failure names the resolution (1-based).
pub fn check_resolutions(
    list: &[Resolution],
    owners: &HashSet<i64>,
    held_on: NaiveDate,
) -> Result<Vec<CheckedResolution>, Invalid> {
    if list.len() > MAX_RESOLUTIONS {
        return invalid("joint_meetings.error.too_many_resolutions");
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, r) in list.iter().enumerate() {
        let n = i + 1;
        let text = r.text.trim();
        if text.is_empty() {
            return invalid_item("joint_meetings.error.resolution_text", n);
        }
        if text.chars().count() > 2000 {
            return invalid_item("joint_meetings.error.resolution_too_long", n);
        }
        let Some(owner) = r.owner else {
            return invalid_item("joint_meetings.error.resolution_owner", n);
        };
        if !owners.contains(&owner) {
            return invalid_item("joint_meetings.error.resolution_unknown_owner", n);
        }
        let Some(due_on) = r.due_on else {
            return invalid_item("joint_meetings.error.resolution_due", n);
        };
        if due_on < held_on {
            return invalid_item("joint_meetings.error.resolution_due_early", n);
        }
        let responsible = check_optional(r.responsible.as_deref(), 64).map_err(|_| Invalid {
            key: "joint_meetings.error.resolution_too_long",
            item: Some(n.to_string()),
        })?;
        out.push(CheckedResolution {
            text: text.to_string(),
            owner,
            responsible,
            due_on,
        });
    }
    Ok(out)
}

/// The day an item is marked done: given or today, not in the future and
/// not before the meeting.
pub fn done_on(
    given: Option<NaiveDate>,
    today: NaiveDate,
    held_on: NaiveDate,
) -> Result<NaiveDate, Invalid> {
    let d = given.unwrap_or(today);
    if d > today {
        return invalid("joint_meetings.error.done_in_future");
    }
    if d < held_on {
        return invalid("joint_meetings.error.done_before_meeting");
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn quarters_follow_china_time() {
        // 20:00 UTC on New Year's Eve is already 2027 in Fuzhou.
        assert_eq!(
            Quarter::of(utc("2026-12-31T15:59:59Z")),
            Quarter { year: 2026, q: 4 }
        );
        assert_eq!(
            Quarter::of(utc("2026-12-31T16:00:00Z")),
            Quarter { year: 2027, q: 1 }
        );
        let q4 = Quarter { year: 2026, q: 4 };
        assert_eq!(q4.first_day(), day("2026-10-01"));
        assert_eq!(q4.last_day(), day("2026-12-31"));
        assert_eq!(q4.starts_at(), utc("2026-09-30T16:00:00Z"));
        assert_eq!(q4.ends_at(), utc("2026-12-31T16:00:00Z"));
        assert_eq!(q4.reminder_on(), day("2026-12-18"));
        assert_eq!(
            Quarter { year: 2026, q: 1 }.reminder_on(),
            day("2026-03-18")
        );
        assert!(!q4.reminder_due(day("2026-12-17")));
        assert!(q4.reminder_due(day("2026-12-18")));
        assert!(q4.reminder_due(day("2026-12-31")));
        assert!(!q4.reminder_due(day("2027-01-01")));
    }

    #[test]
    fn quarters_print_and_parse() {
        let q = Quarter { year: 2026, q: 4 };
        assert_eq!(q.to_string(), "2026Q4");
        assert_eq!("2026Q4".parse::<Quarter>(), Ok(q));
        assert_eq!(" 2026q4 ".parse::<Quarter>(), Ok(q));
        for bad in ["2026Q5", "2026Q0", "2026", "Q4", "2026-Q4", "abcdQ1", ""] {
            assert!(bad.parse::<Quarter>().is_err(), "{bad}");
        }
        assert_eq!(q.next(), Quarter { year: 2027, q: 1 });
        assert_eq!(Quarter { year: 2027, q: 1 }.prev(), q);
    }

    #[test]
    fn compliance_is_held_then_scheduled_then_none() {
        use MeetingState::*;
        assert_eq!(compliance([]), Compliance::None);
        assert_eq!(compliance([Cancelled]), Compliance::None);
        assert_eq!(compliance([Cancelled, Scheduled]), Compliance::Scheduled);
        assert_eq!(compliance([Scheduled, Held, Cancelled]), Compliance::Held);
    }

    #[test]
    fn overdue_starts_the_day_after_the_due_date() {
        let due = day("2026-11-30");
        assert!(!is_overdue(ActionState::Open, due, due));
        assert!(is_overdue(ActionState::Open, due, day("2026-12-01")));
        assert!(!is_overdue(ActionState::Done, due, day("2027-01-01")));
    }

    #[test]
    fn resolutions_need_text_owner_and_due_date() {
        let owners: HashSet<i64> = [1, 2].into();
        let held = day("2026-11-10");
        let ok = Resolution {
            text: " 推进加装电梯 ".into(),
            owner: Some(1),
            responsible: Some("林志强".into()),
            due_on: Some(day("2026-12-31")),
        };
        let checked = check_resolutions(std::slice::from_ref(&ok), &owners, held).unwrap();
        assert_eq!(checked[0].text, "推进加装电梯");
        let cases = [
            (
                Resolution {
                    owner: None,
                    ..ok.clone()
                },
                "joint_meetings.error.resolution_owner",
            ),
            (
                Resolution {
                    owner: Some(9),
                    ..ok.clone()
                },
                "joint_meetings.error.resolution_unknown_owner",
            ),
            (
                Resolution {
                    due_on: None,
                    ..ok.clone()
                },
                "joint_meetings.error.resolution_due",
            ),
            (
                Resolution {
                    due_on: Some(day("2026-11-09")),
                    ..ok.clone()
                },
                "joint_meetings.error.resolution_due_early",
            ),
            (
                Resolution {
                    text: "  ".into(),
                    ..ok.clone()
                },
                "joint_meetings.error.resolution_text",
            ),
        ];
        for (bad, key) in cases {
            let e = check_resolutions(&[ok.clone(), bad], &owners, held).unwrap_err();
            assert_eq!(e.key, key);
            // The second resolution is named.
            assert_eq!(e.item.as_deref(), Some("2"));
        }
    }

    #[test]
    fn held_and_done_dates() {
        let now = utc("2026-12-01T08:00:00Z");
        let past = utc("2026-11-20T06:00:00Z");
        let ahead = utc("2026-12-20T06:00:00Z");
        assert_eq!(held_at(None, past, now), Ok(past));
        // A meeting recorded before its scheduled time was held now.
        assert_eq!(held_at(None, ahead, now), Ok(now));
        assert!(held_at(Some(ahead), past, now).is_err());
        let today = day("2026-12-01");
        assert_eq!(done_on(None, today, day("2026-11-20")), Ok(today));
        assert!(done_on(Some(day("2026-12-02")), today, day("2026-11-20")).is_err());
        assert!(done_on(Some(day("2026-11-19")), today, day("2026-11-20")).is_err());
    }

    #[test]
    fn invitees_are_named_once() {
        assert!(check_invitees::<i64>(&[]).is_err());
        assert!(check_invitees(&["agency:1", "community:1"]).is_ok());
        let e = check_invitees(&["agency:1", "agency:1"]).unwrap_err();
        assert_eq!(e.item.as_deref(), Some("agency:1"));
    }

    fn instant() -> impl Strategy<Value = DateTime<Utc>> {
        // 1990 to 2100, to the second.
        (631_152_000i64..4_102_444_800).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap())
    }

    proptest! {
        #[test]
        fn every_instant_belongs_to_exactly_one_quarter(t in instant()) {
            let q = Quarter::of(t);
            prop_assert!(q.contains(t));
            prop_assert!(!q.prev().contains(t));
            prop_assert!(!q.next().contains(t));
            prop_assert!((1..=4).contains(&q.q));
        }

        #[test]
        fn quarters_tile_the_timeline(t in instant()) {
            let q = Quarter::of(t);
            prop_assert_eq!(q.ends_at(), q.next().starts_at());
            prop_assert_eq!(q.next().prev(), q);
            prop_assert_eq!(Quarter::of(q.starts_at()), q);
            prop_assert_eq!(Quarter::of(q.ends_at() - Duration::seconds(1)), q);
            // A quarter lasts 90 to 92 days.
            let days = (q.ends_at() - q.starts_at()).num_days();
            prop_assert!((90..=92).contains(&days));
        }

        #[test]
        fn the_reminder_date_lies_inside_its_quarter(t in instant()) {
            let q = Quarter::of(t);
            let r = q.reminder_on();
            prop_assert_eq!(Quarter::of_date(r), q);
            prop_assert_eq!((q.last_day() - r).num_days(), REMINDER_DAYS - 1);
            prop_assert!(q.reminder_due(r));
            prop_assert!(!q.reminder_due(r - Duration::days(1)));
            prop_assert!(!q.reminder_due(q.next().first_day()));
            // Exactly one quarter's reminder is due on any day.
            let d = china_date(t);
            let due = [q.prev(), q, q.next()].iter().filter(|x| x.reminder_due(d)).count();
            prop_assert_eq!(due, usize::from(q.reminder_due(d)));
        }

        #[test]
        fn quarter_text_round_trips(year in 1900i32..9999, quarter in 1u8..=4) {
            let q = Quarter::new(year, quarter).unwrap();
            prop_assert_eq!(q.to_string().parse::<Quarter>(), Ok(q));
        }

        #[test]
        fn compliance_does_not_depend_on_order(states in proptest::collection::vec(0usize..3, 0..8)) {
            let mut list: Vec<MeetingState> = states.iter().map(|i| MeetingState::ALL[*i]).collect();
            let a = compliance(list.clone());
            list.reverse();
            prop_assert_eq!(a, compliance(list.clone()));
            let expected = if list.contains(&MeetingState::Held) {
                Compliance::Held
            } else if list.contains(&MeetingState::Scheduled) {
                Compliance::Scheduled
            } else {
                Compliance::None
            };
            prop_assert_eq!(a, expected);
        }

        #[test]
        fn an_overdue_item_stays_overdue_until_done(due in 0i64..3000, a in 0i64..3000, b in 0i64..3000) {
            let base = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
            let due = base + Duration::days(due);
            let (early, late) = (base + Duration::days(a.min(b)), base + Duration::days(a.max(b)));
            if is_overdue(ActionState::Open, due, early) {
                prop_assert!(is_overdue(ActionState::Open, due, late));
            }
            prop_assert!(!is_overdue(ActionState::Done, due, late));
        }
    }
}
