//! The rules of volunteer teams and patrols, pure: team kinds, credits and
//! their totals, shift windows and the minutes a patrol earns.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Longest credit one member may earn from one activity: a day.
pub const MAX_CREDIT_MINUTES: i64 = 24 * 60;
/// Check-in opens this long before a shift starts.
pub const CHECK_IN_EARLY_MINUTES: i64 = 30;
/// Longest shift.
pub const MAX_SHIFT_HOURS: i64 = 24;
/// Most places on one shift.
pub const MAX_SLOTS: i64 = 100;

/// Why an input is refused; `key` names the message in the locale file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid {
    pub key: &'static str,
}

fn invalid<T>(key: &'static str) -> Result<T, Invalid> {
    Err(Invalid { key })
}

/// What a team does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = VolunteerTeamKind)]
#[serde(rename_all = "snake_case")]
pub enum TeamKind {
    Patrol,
    Dance,
    Environment,
    ElderCare,
    Culture,
    Other,
}

impl TeamKind {
    pub const ALL: [TeamKind; 6] = [
        TeamKind::Patrol,
        TeamKind::Dance,
        TeamKind::Environment,
        TeamKind::ElderCare,
        TeamKind::Culture,
        TeamKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TeamKind::Patrol => "patrol",
            TeamKind::Dance => "dance",
            TeamKind::Environment => "environment",
            TeamKind::ElderCare => "elder_care",
            TeamKind::Culture => "culture",
            TeamKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<TeamKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A trimmed, non-empty text of at most `max` characters.
pub fn check_text(text: &str, max: usize) -> Result<String, Invalid> {
    let t = text.trim();
    if t.is_empty() {
        return invalid("volunteers.error.text_empty");
    }
    if t.chars().count() > max {
        return invalid("volunteers.error.text_long");
    }
    Ok(t.to_string())
}

/// One member's credit for one activity: 1 minute to 24 hours.
pub fn check_credit(minutes: i64) -> Result<i32, Invalid> {
    if minutes <= 0 {
        return invalid("volunteers.error.credit_negative");
    }
    if minutes > MAX_CREDIT_MINUTES {
        return invalid("volunteers.error.credit_over_day");
    }
    Ok(minutes as i32)
}

/// The credits of one activity: each valid, each member at most once.
pub fn check_credits(credits: &[(i64, i64)]) -> Result<Vec<(i64, i32)>, Invalid> {
    if credits.is_empty() {
        return invalid("volunteers.error.no_credits");
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(credits.len());
    for &(member, minutes) in credits {
        if !seen.insert(member) {
            return invalid("volunteers.error.credit_twice");
        }
        out.push((member, check_credit(minutes)?));
    }
    Ok(out)
}

/// A shift: ends after it starts, at most a day long, 1–100 places.
pub fn check_shift(
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    slots: i64,
) -> Result<i32, Invalid> {
    if ends_at <= starts_at {
        return invalid("volunteers.error.shift_order");
    }
    if ends_at - starts_at > Duration::hours(MAX_SHIFT_HOURS) {
        return invalid("volunteers.error.shift_long");
    }
    if !(1..=MAX_SLOTS).contains(&slots) {
        return invalid("volunteers.error.slots");
    }
    Ok(slots as i32)
}

/// Whether `now` lies in the check-in window of a shift: from half an hour
/// before it starts to its end.
pub fn check_in_open(starts_at: DateTime<Utc>, ends_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now >= starts_at - Duration::minutes(CHECK_IN_EARLY_MINUTES) && now <= ends_at
}

/// Whether a new sign-up is taken: the shift has not ended and a place is
/// free.
pub fn signup_open(
    ends_at: DateTime<Utc>,
    now: DateTime<Utc>,
    taken: u64,
    slots: i32,
) -> Result<(), Invalid> {
    if now >= ends_at {
        return invalid("volunteers.error.shift_over");
    }
    if taken >= slots.max(0) as u64 {
        return invalid("volunteers.error.shift_full");
    }
    Ok(())
}

/// Minutes patrolled between check-in and check-out, counted only within
/// the shift; never negative.
pub fn patrolled_minutes(
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    checked_in: DateTime<Utc>,
    checked_out: DateTime<Utc>,
) -> i32 {
    let from = checked_in.max(starts_at);
    let to = checked_out.min(ends_at);
    if to <= from {
        return 0;
    }
    (to - from).num_minutes().clamp(0, MAX_SHIFT_HOURS * 60) as i32
}

/// Credited minutes summed per member and for the whole team.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    pub by_member: BTreeMap<i64, i64>,
    pub team: i64,
}

/// Sums `(member, minutes)` credits.
pub fn totals(credits: impl IntoIterator<Item = (i64, i64)>) -> Totals {
    let mut t = Totals::default();
    for (member, minutes) in credits {
        *t.by_member.entry(member).or_default() += minutes;
        t.team += minutes;
    }
    t
}

/// "3.5" hours from minutes, one decimal.
pub fn hours(minutes: i64) -> String {
    format!("{:.1}", minutes as f64 / 60.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(m: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_750_000_000 + m * 60, 0).unwrap()
    }

    #[test]
    fn kinds_round_trip() {
        for k in TeamKind::ALL {
            assert_eq!(TeamKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(TeamKind::parse("firefly"), None);
    }

    #[test]
    fn credit_bounds() {
        assert!(check_credit(0).is_err());
        assert!(check_credit(-5).is_err());
        assert_eq!(check_credit(1440), Ok(1440));
        assert_eq!(
            check_credit(1441),
            Err(Invalid {
                key: "volunteers.error.credit_over_day"
            })
        );
        assert!(check_credits(&[(1, 60), (1, 30)]).is_err());
        assert!(check_credits(&[]).is_err());
    }

    #[test]
    fn window_and_signup() {
        let (s, e) = (at(60), at(180));
        assert!(!check_in_open(s, e, at(29)));
        assert!(check_in_open(s, e, at(30)));
        assert!(check_in_open(s, e, at(180)));
        assert!(!check_in_open(s, e, at(181)));
        assert!(signup_open(e, at(0), 1, 2).is_ok());
        assert!(signup_open(e, at(0), 2, 2).is_err());
        assert!(signup_open(e, at(180), 0, 2).is_err());
        assert!(check_shift(s, s, 1).is_err());
        assert!(check_shift(s, e, 0).is_err());
        assert!(check_shift(s, at(60 + 25 * 60), 1).is_err());
    }

    #[test]
    fn patrol_capped_at_shift() {
        let (s, e) = (at(60), at(180));
        assert_eq!(patrolled_minutes(s, e, at(30), at(200)), 120);
        assert_eq!(patrolled_minutes(s, e, at(90), at(120)), 30);
        assert_eq!(patrolled_minutes(s, e, at(120), at(90)), 0);
    }

    proptest! {
        #[test]
        fn totals_equal_the_sum_of_credits(
            credits in proptest::collection::vec((0i64..20, 1i64..=1440), 0..200)
        ) {
            let t = totals(credits.iter().copied());
            let sum: i64 = credits.iter().map(|c| c.1).sum();
            prop_assert_eq!(t.team, sum);
            prop_assert_eq!(t.by_member.values().sum::<i64>(), sum);
            for (m, v) in &t.by_member {
                let own: i64 = credits.iter().filter(|c| c.0 == *m).map(|c| c.1).sum();
                prop_assert_eq!(*v, own);
            }
        }

        #[test]
        fn credits_accepted_lie_within_a_day(minutes in -3000i64..3000) {
            match check_credit(minutes) {
                Ok(m) => prop_assert!((1..=1440).contains(&(m as i64))),
                Err(_) => prop_assert!(minutes <= 0 || minutes > 1440),
            }
        }

        #[test]
        fn patrolled_never_exceeds_the_shift(
            s in 0i64..1000, len in 1i64..1440, i in -200i64..3000, o in -200i64..3000
        ) {
            let m = patrolled_minutes(at(s), at(s + len), at(i), at(o)) as i64;
            prop_assert!(m >= 0);
            prop_assert!(m <= len);
            prop_assert!(m <= (o - i).max(0));
        }

        #[test]
        fn signups_never_exceed_slots(slots in 1i32..50, taken in 0u64..60) {
            let ok = signup_open(at(100), at(0), taken, slots).is_ok();
            prop_assert_eq!(ok, taken < slots as u64);
        }
    }
}
