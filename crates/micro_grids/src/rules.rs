//! Pure rules of micro-grids: which grid a dwelling belongs to, how a
//! dwelling is reached, checks of a building split, and coverage figures.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A refusal with the locale key of its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid {
    pub key: &'static str,
}

/// Trimmed, non-empty text of at most `max` characters.
pub fn check_text(s: &str, max: usize) -> Result<String, Invalid> {
    let t = s.trim();
    if t.is_empty() {
        return Err(Invalid {
            key: "micro_grids.error.empty",
        });
    }
    if t.chars().count() > max {
        return Err(Invalid {
            key: "micro_grids.error.too_long",
        });
    }
    Ok(t.to_string())
}

/// Where an owner contact group lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Wechat,
    Wecom,
    Dingtalk,
    Other,
}

impl Channel {
    pub const ALL: [Channel; 4] = [
        Channel::Wechat,
        Channel::Wecom,
        Channel::Dingtalk,
        Channel::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Wechat => "wechat",
            Channel::Wecom => "wecom",
            Channel::Dingtalk => "dingtalk",
            Channel::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// How a dwelling can be reached.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Reach {
    /// Neither a contact group nor a phone on file: listed first.
    None,
    /// Only a phone of an owner or resident on file.
    Phone,
    /// Some contact group of its grid holds it.
    Group,
}

impl Reach {
    pub fn as_str(self) -> &'static str {
        match self {
            Reach::None => "none",
            Reach::Phone => "phone",
            Reach::Group => "group",
        }
    }

    pub fn parse(s: &str) -> Option<Reach> {
        [Reach::None, Reach::Phone, Reach::Group]
            .into_iter()
            .find(|r| r.as_str() == s)
    }

    pub fn reachable(self) -> bool {
        self != Reach::None
    }
}

/// A group wins over a phone; a phone over nothing.
pub fn reach(in_group: bool, has_phone: bool) -> Reach {
    if in_group {
        Reach::Group
    } else if has_phone {
        Reach::Phone
    } else {
        Reach::None
    }
}

/// The grid of a dwelling: its building's grid, else the compound's
/// whole-compound grid, else none.
pub fn grid_of(building_grid: Option<i64>, whole_grid: Option<i64>) -> Option<i64> {
    building_grid.or(whole_grid)
}

/// Why a building assignment is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitError {
    /// A building that is not one of the compound's (422).
    OutsideCompound(i64),
    /// A building already in another grid (409).
    Taken(i64),
    /// The same building twice in the request (422).
    Repeated(i64),
}

/// Checks giving `grid` exactly `wanted` buildings, when `assigned` maps the
/// compound's assigned buildings to their grids.
pub fn check_split(
    grid: Option<i64>,
    wanted: &[i64],
    compound_buildings: &HashSet<i64>,
    assigned: &HashMap<i64, i64>,
) -> Result<(), SplitError> {
    let mut seen = HashSet::new();
    for &b in wanted {
        if !seen.insert(b) {
            return Err(SplitError::Repeated(b));
        }
        if !compound_buildings.contains(&b) {
            return Err(SplitError::OutsideCompound(b));
        }
    }
    for &b in wanted {
        if let Some(&g) = assigned.get(&b)
            && Some(g) != grid
        {
            return Err(SplitError::Taken(b));
        }
    }
    Ok(())
}

/// Reachability counts of a set of dwellings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = GridTally)]
pub struct Tally {
    pub dwellings: u64,
    /// Dwellings that belong to a grid.
    pub gridded: u64,
    pub by_group: u64,
    pub by_phone: u64,
}

impl Tally {
    pub fn add(&mut self, gridded: bool, r: Reach) {
        self.dwellings += 1;
        self.gridded += u64::from(gridded);
        match r {
            Reach::Group => self.by_group += 1,
            Reach::Phone => self.by_phone += 1,
            Reach::None => {}
        }
    }

    pub fn merge(&mut self, other: &Tally) {
        self.dwellings += other.dwellings;
        self.gridded += other.gridded;
        self.by_group += other.by_group;
        self.by_phone += other.by_phone;
    }

    pub fn sum<'a>(tallies: impl IntoIterator<Item = &'a Tally>) -> Tally {
        let mut t = Tally::default();
        for x in tallies {
            t.merge(x);
        }
        t
    }

    pub fn reachable(&self) -> u64 {
        self.by_group + self.by_phone
    }

    pub fn unreachable(&self) -> u64 {
        self.dwellings.saturating_sub(self.reachable())
    }

    /// Reachable share in tenths of a percent, rounded half up; none for no dwellings.
    pub fn coverage_permille(&self) -> Option<u64> {
        ratio_permille(self.reachable(), self.dwellings)
    }

    /// Share reached through contact groups, in tenths of a percent.
    pub fn group_permille(&self) -> Option<u64> {
        ratio_permille(self.by_group, self.dwellings)
    }
}

fn ratio_permille(n: u64, d: u64) -> Option<u64> {
    (d > 0).then(|| (n * 1000 * 2 + d) / (d * 2))
}

/// "87.5%" from tenths of a percent.
pub fn percent(permille: Option<u64>) -> Option<String> {
    permille.map(|p| format!("{}.{}%", p / 10, p % 10))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn group_beats_phone_beats_nothing() {
        assert_eq!(reach(true, true), Reach::Group);
        assert_eq!(reach(true, false), Reach::Group);
        assert_eq!(reach(false, true), Reach::Phone);
        assert_eq!(reach(false, false), Reach::None);
        assert!(Reach::None < Reach::Phone && Reach::Phone < Reach::Group);
    }

    #[test]
    fn hand_computed_coverage() {
        // 8 dwellings: 5 in groups, 2 by phone only, 1 unreachable; 7 gridded.
        let mut t = Tally::default();
        for _ in 0..5 {
            t.add(true, Reach::Group);
        }
        t.add(true, Reach::Phone);
        t.add(false, Reach::Phone);
        t.add(true, Reach::None);
        assert_eq!(t.reachable(), 7);
        assert_eq!(t.unreachable(), 1);
        assert_eq!(t.gridded, 7);
        assert_eq!(percent(t.coverage_permille()).as_deref(), Some("87.5%"));
        assert_eq!(percent(t.group_permille()).as_deref(), Some("62.5%"));
        // 2 of 3 is 66.666…%, rounded to 66.7%.
        let two_of_three = Tally {
            dwellings: 3,
            gridded: 3,
            by_group: 2,
            by_phone: 0,
        };
        assert_eq!(
            percent(two_of_three.coverage_permille()).as_deref(),
            Some("66.7%")
        );
        assert_eq!(Tally::default().coverage_permille(), None);
    }

    #[test]
    fn split_refusals() {
        let compound: HashSet<i64> = [1, 2, 3].into();
        let assigned: HashMap<i64, i64> = [(1, 10), (2, 11)].into();
        assert_eq!(check_split(Some(10), &[1, 3], &compound, &assigned), Ok(()));
        assert_eq!(
            check_split(Some(10), &[2], &compound, &assigned),
            Err(SplitError::Taken(2))
        );
        assert_eq!(
            check_split(None, &[1], &compound, &assigned),
            Err(SplitError::Taken(1))
        );
        assert_eq!(
            check_split(None, &[4], &compound, &assigned),
            Err(SplitError::OutsideCompound(4))
        );
        assert_eq!(
            check_split(None, &[3, 3], &compound, &assigned),
            Err(SplitError::Repeated(3))
        );
    }

    #[test]
    fn channels_round_trip() {
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(c));
        }
        assert_eq!(Channel::parse("qq"), None);
    }

    proptest! {
        /// Merging the tallies of any partition gives the tally of the whole,
        /// and reachable plus unreachable is every dwelling.
        #[test]
        fn aggregation_is_a_sum(dwellings in prop::collection::vec((0usize..5, any::<bool>(), any::<bool>(), any::<bool>()), 0..200)) {
            let mut parts = vec![Tally::default(); 5];
            let mut whole = Tally::default();
            for &(part, gridded, group, phone) in &dwellings {
                let r = reach(group, phone);
                parts[part].add(gridded, r);
                whole.add(gridded, r);
            }
            prop_assert_eq!(Tally::sum(&parts), whole);
            prop_assert_eq!(whole.reachable() + whole.unreachable(), whole.dwellings);
            prop_assert_eq!(whole.dwellings, dwellings.len() as u64);
            prop_assert_eq!(whole.by_group, dwellings.iter().filter(|d| d.2).count() as u64);
            prop_assert_eq!(whole.by_phone, dwellings.iter().filter(|d| !d.2 && d.3).count() as u64);
            if let Some(p) = whole.coverage_permille() {
                prop_assert!(p <= 1000);
                // Within half a tenth of a percent of the exact share.
                let exact = whole.reachable() as f64 * 1000.0 / whole.dwellings as f64;
                prop_assert!((p as f64 - exact).abs() <= 0.5 + 1e-9);
            }
        }

        /// With at most one whole-compound grid, every dwelling gets exactly one
        /// grid when there is a whole grid, and its building's grid wins.
        #[test]
        fn grids_partition_dwellings(
            building_grid in prop::collection::vec(prop::option::of(1i64..4), 1..30),
            whole in prop::option::of(9i64..10),
        ) {
            for b in &building_grid {
                let g = grid_of(*b, whole);
                match (b, whole) {
                    (Some(x), _) => prop_assert_eq!(g, Some(*x)),
                    (None, Some(w)) => prop_assert_eq!(g, Some(w)),
                    (None, None) => prop_assert_eq!(g, None),
                }
            }
        }

        /// An accepted split never takes another grid's building nor one outside
        /// the compound, and a refusal names such a building.
        #[test]
        fn split_check_is_exact(
            wanted in prop::collection::vec(0i64..12, 0..8),
            assigned in prop::collection::hash_map(0i64..12, 1i64..4, 0..8),
            grid in prop::option::of(1i64..4),
        ) {
            let compound: HashSet<i64> = (0..10).collect();
            match check_split(grid, &wanted, &compound, &assigned) {
                Ok(()) => {
                    let distinct: HashSet<_> = wanted.iter().collect();
                    prop_assert_eq!(distinct.len(), wanted.len());
                    for b in &wanted {
                        prop_assert!(compound.contains(b));
                        prop_assert!(assigned.get(b).is_none_or(|g| Some(*g) == grid));
                    }
                }
                Err(SplitError::OutsideCompound(b)) => prop_assert!(!compound.contains(&b)),
                Err(SplitError::Taken(b)) => {
                    prop_assert!(compound.contains(&b));
                    prop_assert!(assigned.get(&b).is_some_and(|g| Some(*g) != grid));
                }
                Err(SplitError::Repeated(b)) => {
                    prop_assert!(wanted.iter().filter(|x| **x == b).count() > 1);
                }
            }
        }
    }
}
