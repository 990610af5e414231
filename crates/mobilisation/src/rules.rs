//! Pure rules of mobilisations: what may be a scope, how a household is
//! reached, the notice's text, and coverage figures of units and levels.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use jinlin_kernel::place::PlaceKind;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A refusal with the locale key of its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid {
    pub key: &'static str,
}

pub const TITLE_MAX: usize = 100;
pub const BODY_MAX: usize = 2000;
/// Households marked in one request.
pub const BATCH_MAX: usize = 500;

/// Trimmed, non-empty text of at most `max` characters.
pub fn check_text(s: &str, max: usize) -> Result<String, Invalid> {
    let t = s.trim();
    if t.is_empty() {
        return Err(Invalid {
            key: "mobilisation.error.empty",
        });
    }
    if t.chars().count() > max {
        return Err(Invalid {
            key: "mobilisation.error.too_long",
        });
    }
    Ok(t.to_string())
}

/// A notice goes to a compound, a community, a street or a whole district.
pub fn scope_allowed(kind: Option<PlaceKind>) -> bool {
    matches!(
        kind,
        Some(PlaceKind::District | PlaceKind::Street | PlaceKind::Community | PlaceKind::Compound)
    )
}

/// How a household was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Someone of the household acknowledged the notice in the app.
    App,
    /// Answered in the owners' contact group.
    Group,
    /// Reached by phone.
    Phone,
    /// Reached at the door.
    Door,
}

impl Method {
    pub const ALL: [Method; 4] = [Method::App, Method::Group, Method::Phone, Method::Door];
    /// What a grid worker records; `App` is the household's own.
    pub const BY_WORKER: [Method; 3] = [Method::Group, Method::Phone, Method::Door];

    pub fn as_str(self) -> &'static str {
        match self {
            Method::App => "app",
            Method::Group => "group",
            Method::Phone => "phone",
            Method::Door => "door",
        }
    }

    pub fn parse(s: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// Households reached of those in a unit or level, and when the last one
/// was reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Coverage {
    pub households: u64,
    pub reached: u64,
    /// Set exactly when every household is reached (and there is one).
    pub full_at: Option<DateTime<Utc>>,
}

impl Coverage {
    /// Reached share in tenths of a percent, rounded down so that 100.0 %
    /// means every household.
    pub fn permille(&self) -> Option<u64> {
        (self.households > 0).then(|| self.reached * 1000 / self.households)
    }

    pub fn percent(&self) -> Option<String> {
        self.permille().map(|p| format!("{}.{}%", p / 10, p % 10))
    }

    pub fn is_full(&self) -> bool {
        self.households > 0 && self.reached >= self.households
    }

    pub fn remaining(&self) -> u64 {
        self.households.saturating_sub(self.reached)
    }

    /// A level from its parts: sums, and full when every part is full, at
    /// the moment the last part became full.
    pub fn sum<'a>(parts: impl IntoIterator<Item = &'a Coverage>) -> Coverage {
        let mut total = Coverage::default();
        let mut last: Option<DateTime<Utc>> = None;
        let mut all_full = true;
        for p in parts {
            total.households += p.households;
            total.reached += p.reached;
            if p.households > 0 {
                match p.full_at {
                    Some(t) => last = Some(last.map_or(t, |l| l.max(t))),
                    None => all_full = false,
                }
            }
        }
        total.full_at = (all_full && total.households > 0).then_some(last).flatten();
        total
    }

    /// Minutes from sending to full coverage, rounded up (a grid done in
    /// 20 s took "1 minute").
    pub fn minutes_to_full(&self, sent_at: DateTime<Utc>) -> Option<i64> {
        self.full_at
            .map(|t| ((t - sent_at).num_seconds().max(0) + 59) / 60)
    }
}

/// A unit's counters after `newly` more households are reached at `now`:
/// the same arithmetic the marking statement does in SQL.
pub fn after_marks(unit: Coverage, newly: u64, now: DateTime<Utc>) -> Coverage {
    let reached = (unit.reached + newly).min(unit.households);
    Coverage {
        households: unit.households,
        reached,
        full_at: if unit.households > 0 && reached >= unit.households {
            unit.full_at.or(Some(now))
        } else {
            unit.full_at
        },
    }
}

/// A unit's counters after one reached household's mark is taken back: it
/// is no longer full, and becomes full again only when the household is
/// reached again (the same arithmetic the undo statement does in SQL).
pub fn after_unmark(unit: Coverage) -> Coverage {
    Coverage {
        households: unit.households,
        reached: unit.reached.saturating_sub(1),
        full_at: None,
    }
}

/// Whether a mark may be taken back by a grid worker: theirs may, a
/// household's own acknowledgement in the app may not.
pub fn undoable(method: Method) -> bool {
    Method::BY_WORKER.contains(&method)
}

/// A request in a group of marks written together: its mobilisation and
/// its households.
pub type GroupRequest<'a> = (i64, &'a [i64]);

/// Which request of a group each household (mobilisation, dwelling) is
/// written for: the first that names it. Later requests naming it find it
/// marked already.
pub fn first_claims(group: &[GroupRequest<'_>]) -> HashMap<(i64, i64), usize> {
    let mut owners = HashMap::new();
    for (i, (m, dwellings)) in group.iter().enumerate() {
        for d in dwellings.iter() {
            owners.entry((*m, *d)).or_insert(i);
        }
    }
    owners
}

/// How many households each request of a group newly marked: those it
/// claimed first that the write reached.
pub fn marked_by_each(group: &[GroupRequest<'_>], reached: &HashSet<(i64, i64)>) -> Vec<u64> {
    let owners = first_claims(group);
    group
        .iter()
        .enumerate()
        .map(|(i, (m, dwellings))| {
            let mut mine: Vec<i64> = dwellings
                .iter()
                .copied()
                .filter(|d| owners.get(&(*m, *d)) == Some(&i) && reached.contains(&(*m, *d)))
                .collect();
            mine.sort_unstable();
            mine.dedup();
            mine.len() as u64
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn at(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap()
    }

    #[test]
    fn only_levels_from_compound_up_are_scopes() {
        assert!(scope_allowed(Some(PlaceKind::District)));
        assert!(scope_allowed(Some(PlaceKind::Compound)));
        assert!(!scope_allowed(Some(PlaceKind::Building)));
        assert!(!scope_allowed(Some(PlaceKind::Dwelling)));
        assert!(!scope_allowed(Some(PlaceKind::City)));
        assert!(!scope_allowed(None));
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(check_text("  停水通知 ", 10).unwrap(), "停水通知");
        assert!(check_text("   ", 10).is_err());
        assert!(check_text(&"防".repeat(11), 10).is_err());
        assert!(check_text(&"防".repeat(10), 10).is_ok());
    }

    #[test]
    fn percent_is_rounded_down_so_full_means_everyone() {
        let c = Coverage {
            households: 2000,
            reached: 1999,
            full_at: None,
        };
        assert_eq!(c.percent().unwrap(), "99.9%");
        assert!(!c.is_full());
        assert_eq!(Coverage::default().percent(), None);
    }

    #[test]
    fn a_level_is_full_when_its_last_part_is() {
        let a = Coverage {
            households: 10,
            reached: 10,
            full_at: Some(at(300)),
        };
        let b = Coverage {
            households: 5,
            reached: 5,
            full_at: Some(at(900)),
        };
        let empty = Coverage::default();
        let level = Coverage::sum([&a, &b, &empty]);
        assert_eq!(level.households, 15);
        assert_eq!(level.full_at, Some(at(900)));
        assert_eq!(level.minutes_to_full(at(0)), Some(15));
        let c = Coverage {
            households: 3,
            reached: 2,
            full_at: None,
        };
        assert_eq!(Coverage::sum([&a, &c]).full_at, None);
        assert_eq!(Coverage::sum([&empty]).full_at, None);
    }

    #[test]
    fn minutes_are_rounded_up() {
        let c = Coverage {
            households: 1,
            reached: 1,
            full_at: Some(at(20)),
        };
        assert_eq!(c.minutes_to_full(at(0)), Some(1));
        assert_eq!(c.minutes_to_full(at(20)), Some(0));
    }

    #[test]
    fn methods_round_trip() {
        for m in Method::ALL {
            assert_eq!(Method::parse(m.as_str()), Some(m));
        }
        assert!(!Method::BY_WORKER.contains(&Method::App));
        assert_eq!(Method::parse("fax"), None);
        assert!(!undoable(Method::App));
        assert!(Method::BY_WORKER.iter().all(|m| undoable(*m)));
    }

    proptest! {
        /// Marks arriving in any order, repeated or not, count each
        /// household once; the unit is full exactly when the last distinct
        /// household arrives, and stays full from that moment.
        #[test]
        fn marks_count_each_household_once(
            households in 1u64..40,
            marks in proptest::collection::vec((0u64..40, 0i64..3600), 0..120),
        ) {
            let mut unit = Coverage { households, reached: 0, full_at: None };
            let mut seen = HashSet::new();
            let mut became_full = None;
            let mut sorted = marks.clone();
            sorted.sort_by_key(|(_, t)| *t);
            for (h, t) in sorted {
                if h >= households {
                    continue; // not in the mobilisation: refused before counting
                }
                let newly = u64::from(seen.insert(h));
                unit = after_marks(unit, newly, at(t));
                if seen.len() as u64 == households && became_full.is_none() {
                    became_full = Some(at(t));
                }
            }
            prop_assert_eq!(unit.reached, seen.len() as u64);
            prop_assert_eq!(unit.full_at, became_full);
            prop_assert_eq!(unit.is_full(), became_full.is_some());
        }

        /// Marks and undos in any order: the counter is the number of
        /// households marked now, and the unit is full exactly when all are,
        /// from the moment the last of them was marked.
        #[test]
        fn undos_move_the_counter_back(
            households in 1u64..20,
            events in proptest::collection::vec((0u64..20, any::<bool>()), 0..120),
        ) {
            let mut unit = Coverage { households, reached: 0, full_at: None };
            let mut marked = HashSet::new();
            let mut full_since = None;
            for (t, (h, undo)) in events.into_iter().enumerate() {
                let h = h % households;
                let now = at(t as i64);
                if undo {
                    if marked.remove(&h) {
                        unit = after_unmark(unit);
                        full_since = None;
                    }
                } else {
                    let newly = u64::from(marked.insert(h));
                    unit = after_marks(unit, newly, now);
                    if newly == 1 && marked.len() as u64 == households {
                        full_since = Some(now);
                    }
                }
            }
            prop_assert_eq!(unit.reached, marked.len() as u64);
            prop_assert_eq!(unit.full_at, full_since);
        }

        /// A level's figures are the sums of its parts, and its full time is
        /// the latest of theirs.
        #[test]
        fn levels_sum_their_parts(parts in proptest::collection::vec((0u64..50, 0u64..50, 0i64..1000), 0..20)) {
            let parts: Vec<Coverage> = parts
                .into_iter()
                .map(|(n, r, t)| {
                    let reached = r.min(n);
                    Coverage {
                        households: n,
                        reached,
                        full_at: (n > 0 && reached == n).then(|| at(t)),
                    }
                })
                .collect();
            let level = Coverage::sum(&parts);
            prop_assert_eq!(level.households, parts.iter().map(|p| p.households).sum::<u64>());
            prop_assert_eq!(level.reached, parts.iter().map(|p| p.reached).sum::<u64>());
            prop_assert_eq!(level.full_at.is_some(), level.is_full());
            if let Some(t) = level.full_at {
                prop_assert!(parts.iter().all(|p| p.full_at.is_none_or(|pt| pt <= t)));
            }
        }

        /// However single marks are grouped into one write, each household
        /// is counted for exactly one request, the first naming it, and the
        /// requests' counts add up to the households reached.
        #[test]
        fn a_group_counts_each_household_once(
            group in proptest::collection::vec((1i64..3, proptest::collection::vec(0i64..30, 1..6)), 1..20),
            reached_before in proptest::collection::hash_set((1i64..3, 0i64..30), 0..20),
        ) {
            let requests: Vec<GroupRequest<'_>> = group.iter().map(|(m, d)| (*m, d.as_slice())).collect();
            // The write reaches what was named and not reached before.
            let named: HashSet<(i64, i64)> = group
                .iter()
                .flat_map(|(m, ds)| ds.iter().map(move |d| (*m, *d)))
                .collect();
            let reached: HashSet<(i64, i64)> = named.difference(&reached_before).copied().collect();
            let counts = marked_by_each(&requests, &reached);
            prop_assert_eq!(counts.iter().sum::<u64>(), reached.len() as u64);
            let owners = first_claims(&requests);
            for (key, i) in &owners {
                let first = group.iter().position(|(m, ds)| *m == key.0 && ds.contains(&key.1));
                prop_assert_eq!(first, Some(*i));
            }
            for (c, (_, ds)) in counts.iter().zip(&group) {
                let distinct: HashSet<&i64> = ds.iter().collect();
                prop_assert!(*c <= distinct.len() as u64);
            }
        }
    }
}
