//! The rules of cohesion pilots, pure: pilot types, the catalogue of
//! indicators and how each is computed from a compound's records, and the
//! comparison of pilots with the other compounds of a scope.
//!
//! Indicators are never typed in: each is a figure of records the system
//! already keeps (party organisations, their members, agency pairings,
//! residents' matters, deliberations), computed per compound. A
//! comparison takes the mean over the pilot compounds and the mean over
//! the other compounds of the same scope — overall, and per pilot type:
//! pilots designated with a type against the other compounds whose
//! registry classification matches it (commercial or resettlement housing
//! by compound type, new or old town by town area). A compound for which
//! an indicator has no value (no dwellings, no matters, no party
//! organisation for a share of its members) counts in neither mean.

use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Residents' matters count when raised in the last this many days.
pub const WINDOW_DAYS: i64 = 90;

/// Why an input is refused: `key` names the message, `item` fills its
/// `%{item}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub key: &'static str,
    pub item: Option<String>,
}

fn invalid<T>(key: &'static str, item: Option<&dyn fmt::Display>) -> Result<T, Invalid> {
    Err(Invalid {
        key,
        item: item.map(|i| i.to_string()),
    })
}

macro_rules! str_enum {
    ($(#[$m:meta])* $name:ident as $schema:ident { $($v:ident => $s:tt),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
        #[schema(as = $schema)]
        pub enum $name { $(#[serde(rename = $s)] $v),* }

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
    /// The kind of compound a pilot stands for.
    PilotType as CohesionPilotType {
        Commercial => "commercial",
        Resettlement => "resettlement",
        NewTown => "new_town",
        OldTown => "old_town",
    }
);

str_enum!(
    /// The catalogue of indicators a street may track.
    Indicator as CohesionPilotIndicator {
        PartyOrg => "party_org",
        CrossMembership => "cross_membership",
        AgenciesPaired => "agencies_paired",
        MattersPer100Dwellings => "matters_per_100_dwellings",
        MattersClosedShare => "matters_closed_share",
        Satisfaction => "satisfaction",
        DeliberationsConcluded => "deliberations_concluded",
    }
);

/// How an indicator's value reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = CohesionPilotUnit)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// A share from 0 to 1, shown as a percentage.
    Share,
    /// A count or a rate, shown with two decimals.
    Number,
}

impl Indicator {
    pub fn unit(self) -> Unit {
        match self {
            Indicator::PartyOrg
            | Indicator::CrossMembership
            | Indicator::MattersClosedShare
            | Indicator::Satisfaction => Unit::Share,
            Indicator::AgenciesPaired
            | Indicator::MattersPer100Dwellings
            | Indicator::DeliberationsConcluded => Unit::Number,
        }
    }
}

/// The pilot types a compound's registry classification matches: its
/// compound type (`commercial`, `resettlement`, `old`) and its town area
/// (`new`, `old`).
pub fn registry_types(compound_type: Option<&str>, town_area: Option<&str>) -> Vec<PilotType> {
    let mut out = Vec::new();
    match compound_type {
        Some("commercial") => out.push(PilotType::Commercial),
        Some("resettlement") => out.push(PilotType::Resettlement),
        _ => {}
    }
    match town_area {
        Some("new") => out.push(PilotType::NewTown),
        Some("old") => out.push(PilotType::OldTown),
        _ => {}
    }
    out
}

/// What the records say of one compound.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Facts {
    pub has_party_org: bool,
    /// The party organisation meets the cross-membership rule.
    pub covers: bool,
    /// Agencies currently paired.
    pub agencies_paired: u32,
    pub dwellings: u32,
    /// Residents' matters raised in the window (merged duplicates and
    /// withdrawn ones left out).
    pub matters: u32,
    /// Of those, how many are closed.
    pub matters_closed: u32,
    /// Verdicts on those matters.
    pub satisfied: u32,
    pub basically: u32,
    pub not_satisfied: u32,
    /// Deliberations (five-step matters) concluded.
    pub deliberations_concluded: u32,
}

/// One indicator's value for one compound, if it has one. Satisfaction
/// scores a satisfied verdict 1, a basic one ½ and an unsatisfied one 0.
pub fn value(i: Indicator, f: &Facts) -> Option<f64> {
    let share = |n: u32, d: u32| (d > 0).then(|| f64::from(n) / f64::from(d));
    match i {
        Indicator::PartyOrg => Some(if f.has_party_org { 1.0 } else { 0.0 }),
        Indicator::CrossMembership => f.has_party_org.then_some(if f.covers { 1.0 } else { 0.0 }),
        Indicator::AgenciesPaired => Some(f64::from(f.agencies_paired)),
        Indicator::MattersPer100Dwellings => {
            (f.dwellings > 0).then(|| 100.0 * f64::from(f.matters) / f64::from(f.dwellings))
        }
        Indicator::MattersClosedShare => share(f.matters_closed, f.matters),
        Indicator::Satisfaction => {
            let rated = f.satisfied + f.basically + f.not_satisfied;
            (rated > 0)
                .then(|| (f64::from(f.satisfied) + 0.5 * f64::from(f.basically)) / f64::from(rated))
        }
        Indicator::DeliberationsConcluded => Some(f64::from(f.deliberations_concluded)),
    }
}

/// One compound in a comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Its current designation, if it is a pilot.
    pub pilot: Option<PilotType>,
    /// The types its registry classification matches.
    pub types: Vec<PilotType>,
    pub value: Option<f64>,
}

/// The mean of a group of compounds, over those with a value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, ToSchema)]
#[schema(as = CohesionPilotGroup)]
pub struct Group {
    /// Compounds with a value.
    pub n: u64,
    pub mean: Option<f64>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Acc {
    n: u64,
    sum: f64,
}

impl Acc {
    fn add(&mut self, v: f64) {
        self.n += 1;
        self.sum += v;
    }

    fn group(self) -> Group {
        Group {
            n: self.n,
            mean: (self.n > 0).then(|| self.sum / self.n as f64),
        }
    }
}

/// Pilots against the rest.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Row {
    pub pilots: Group,
    pub rest: Group,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub all: Row,
    /// Every pilot type, in catalogue order.
    pub by_type: Vec<(PilotType, Row)>,
}

/// Compares pilots with the other compounds: overall, and per type.
pub fn compare(samples: &[Sample]) -> Comparison {
    let mut pilots = Acc::default();
    let mut rest = Acc::default();
    let mut typed = vec![(Acc::default(), Acc::default()); PilotType::ALL.len()];
    let idx = |t: PilotType| PilotType::ALL.iter().position(|x| *x == t).unwrap_or(0);
    for s in samples {
        let Some(v) = s.value.filter(|v| v.is_finite()) else {
            continue;
        };
        match s.pilot {
            Some(t) => {
                pilots.add(v);
                typed[idx(t)].0.add(v);
            }
            None => {
                rest.add(v);
                let types: HashSet<PilotType> = s.types.iter().copied().collect();
                for t in types {
                    typed[idx(t)].1.add(v);
                }
            }
        }
    }
    Comparison {
        all: Row {
            pilots: pilots.group(),
            rest: rest.group(),
        },
        by_type: PilotType::ALL
            .iter()
            .zip(typed)
            .map(|(t, (p, r))| {
                (
                    *t,
                    Row {
                        pilots: p.group(),
                        rest: r.group(),
                    },
                )
            })
            .collect(),
    }
}

/// A value as shown: "62.5%" for shares, "1.25" for numbers.
pub fn display(unit: Unit, v: f64) -> String {
    match unit {
        Unit::Share => format!("{:.1}%", v * 100.0),
        Unit::Number => format!("{v:.2}"),
    }
}

pub fn parse_type(s: &str) -> Result<PilotType, Invalid> {
    PilotType::parse(s.trim())
        .map_or_else(|| invalid("pilots.error.unknown_type", Some(&s.trim())), Ok)
}

/// A street's choice of indicators: known codes, none twice; kept in the
/// order given.
pub fn check_indicators(codes: &[String]) -> Result<Vec<Indicator>, Invalid> {
    let mut out = Vec::with_capacity(codes.len());
    for c in codes {
        let Some(i) = Indicator::parse(c.trim()) else {
            return invalid("pilots.error.unknown_indicator", Some(&c.trim()));
        };
        if out.contains(&i) {
            return invalid("pilots.error.indicator_twice", Some(&c.trim()));
        }
        out.push(i);
    }
    Ok(out)
}

/// An optional note: none when empty, at most `max` characters.
pub fn check_optional(text: Option<&str>, max: usize) -> Result<Option<String>, Invalid> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) if t.chars().count() > max => invalid("pilots.error.too_long", None),
        Some(t) => Ok(Some(t.to_string())),
    }
}

/// A required text, trimmed, 1..=max characters.
pub fn check_text(text: &str, max: usize, empty_key: &'static str) -> Result<String, Invalid> {
    match check_optional(Some(text), max)? {
        Some(t) => Ok(t),
        None => invalid(empty_key, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9)
    }

    #[test]
    fn values_come_from_the_records() {
        let f = Facts {
            has_party_org: true,
            covers: false,
            agencies_paired: 2,
            dwellings: 40,
            matters: 6,
            matters_closed: 3,
            satisfied: 2,
            basically: 1,
            not_satisfied: 1,
            deliberations_concluded: 4,
        };
        assert_eq!(value(Indicator::PartyOrg, &f), Some(1.0));
        assert_eq!(value(Indicator::CrossMembership, &f), Some(0.0));
        assert_eq!(value(Indicator::AgenciesPaired, &f), Some(2.0));
        assert_eq!(value(Indicator::MattersPer100Dwellings, &f), Some(15.0));
        assert_eq!(value(Indicator::MattersClosedShare, &f), Some(0.5));
        assert_eq!(value(Indicator::Satisfaction, &f), Some(0.625));
        assert_eq!(value(Indicator::DeliberationsConcluded, &f), Some(4.0));
        // Without a party organisation, without dwellings, without matters.
        let empty = Facts::default();
        assert_eq!(value(Indicator::PartyOrg, &empty), Some(0.0));
        assert_eq!(value(Indicator::CrossMembership, &empty), None);
        assert_eq!(value(Indicator::MattersPer100Dwellings, &empty), None);
        assert_eq!(value(Indicator::MattersClosedShare, &empty), None);
        assert_eq!(value(Indicator::Satisfaction, &empty), None);
    }

    #[test]
    fn a_hand_computed_comparison() {
        use PilotType::*;
        let s = |pilot, types: &[PilotType], value| Sample {
            pilot,
            types: types.to_vec(),
            value,
        };
        let samples = [
            s(Some(Commercial), &[Commercial, NewTown], Some(4.0)),
            s(Some(OldTown), &[Resettlement, OldTown], Some(1.0)),
            s(None, &[Commercial, NewTown], Some(2.0)),
            s(None, &[Commercial, OldTown], Some(0.0)),
            s(None, &[Resettlement, OldTown], Some(3.0)),
            s(None, &[Commercial], None),
        ];
        let c = compare(&samples);
        assert_eq!(c.all.pilots.n, 2);
        assert!(close(c.all.pilots.mean, 2.5));
        assert_eq!(c.all.rest.n, 3);
        assert!(close(c.all.rest.mean, 5.0 / 3.0));
        let row = |t| c.by_type.iter().find(|(x, _)| *x == t).unwrap().1;
        assert_eq!(row(Commercial).pilots.n, 1);
        assert!(close(row(Commercial).pilots.mean, 4.0));
        assert_eq!(row(Commercial).rest.n, 2);
        assert!(close(row(Commercial).rest.mean, 1.0));
        assert_eq!(row(Resettlement).pilots, Group { n: 0, mean: None });
        assert!(close(row(Resettlement).rest.mean, 3.0));
        assert!(close(row(OldTown).pilots.mean, 1.0));
        assert!(close(row(OldTown).rest.mean, 1.5));
        assert!(close(row(NewTown).rest.mean, 2.0));
        assert_eq!(display(Unit::Share, 0.625), "62.5%");
        assert_eq!(display(Unit::Number, 5.0 / 3.0), "1.67");
    }

    #[test]
    fn wire_names_are_the_codes() {
        for i in Indicator::ALL {
            assert_eq!(serde_json::to_value(i).unwrap(), i.as_str());
        }
        for t in PilotType::ALL {
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
    }

    #[test]
    fn types_and_indicators_are_checked() {
        assert_eq!(parse_type(" new_town "), Ok(PilotType::NewTown));
        let e = parse_type("villa").unwrap_err();
        assert_eq!(e.key, "pilots.error.unknown_type");
        assert_eq!(e.item.as_deref(), Some("villa"));
        assert_eq!(
            check_indicators(&["satisfaction".into(), "party_org".into()]),
            Ok(vec![Indicator::Satisfaction, Indicator::PartyOrg])
        );
        assert_eq!(
            check_indicators(&["happiness".into()]).unwrap_err().key,
            "pilots.error.unknown_indicator"
        );
        assert_eq!(
            check_indicators(&["party_org".into(), "party_org".into()])
                .unwrap_err()
                .key,
            "pilots.error.indicator_twice"
        );
        assert_eq!(
            registry_types(Some("commercial"), Some("old")),
            vec![PilotType::Commercial, PilotType::OldTown]
        );
        assert_eq!(registry_types(Some("old"), None), vec![]);
    }

    fn sample() -> impl Strategy<Value = Sample> {
        (
            proptest::option::of(0usize..4),
            proptest::collection::vec(0usize..4, 0..3),
            proptest::option::of(0.0f64..1000.0),
        )
            .prop_map(|(p, types, value)| Sample {
                pilot: p.map(|i| PilotType::ALL[i]),
                types: types.into_iter().map(|i| PilotType::ALL[i]).collect(),
                value,
            })
    }

    fn facts() -> impl Strategy<Value = Facts> {
        (
            any::<(bool, bool)>(),
            (0u32..5, 0u32..500),
            (0u32..50, 0u32..50),
            (0u32..20, 0u32..20, 0u32..20),
            0u32..30,
        )
            .prop_map(
                |((org, covers), (agencies, dwellings), (m, c), (s, b, n), d)| Facts {
                    has_party_org: org,
                    covers,
                    agencies_paired: agencies,
                    dwellings,
                    matters: m.max(c),
                    matters_closed: c.min(m),
                    satisfied: s,
                    basically: b,
                    not_satisfied: n,
                    deliberations_concluded: d,
                },
            )
    }

    proptest! {
        #[test]
        fn pilots_and_rest_split_the_compounds_with_a_value(samples in proptest::collection::vec(sample(), 0..40)) {
            let c = compare(&samples);
            let valued = samples.iter().filter(|s| s.value.is_some()).count() as u64;
            prop_assert_eq!(c.all.pilots.n + c.all.rest.n, valued);
            let pilots = samples.iter().filter(|s| s.value.is_some() && s.pilot.is_some()).count() as u64;
            prop_assert_eq!(c.all.pilots.n, pilots);
            // Each pilot counts under exactly its own type.
            let typed: u64 = c.by_type.iter().map(|(_, r)| r.pilots.n).sum();
            prop_assert_eq!(typed, pilots);
            // The rest of a type is the other compounds the registry gives that type.
            for (t, r) in &c.by_type {
                let n = samples.iter().filter(|s| s.value.is_some() && s.pilot.is_none() && s.types.contains(t)).count() as u64;
                prop_assert_eq!(r.rest.n, n);
                prop_assert_eq!(r.rest.mean.is_some(), n > 0);
            }
        }

        #[test]
        fn a_mean_lies_between_its_values_and_types_add_up(samples in proptest::collection::vec(sample(), 0..40)) {
            let c = compare(&samples);
            let within = |g: Group, pilot: bool| {
                let vals: Vec<f64> = samples
                    .iter()
                    .filter(|s| s.pilot.is_some() == pilot)
                    .filter_map(|s| s.value)
                    .collect();
                match g.mean {
                    None => vals.is_empty(),
                    Some(m) => {
                        let lo = vals.iter().copied().fold(f64::INFINITY, f64::min);
                        let hi = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                        lo - 1e-9 <= m && m <= hi + 1e-9
                    }
                }
            };
            prop_assert!(within(c.all.pilots, true));
            prop_assert!(within(c.all.rest, false));
            // The overall pilot mean is the by-type means weighted by count.
            if let Some(m) = c.all.pilots.mean {
                let (n, sum) = c.by_type.iter().fold((0u64, 0.0), |(n, s), (_, r)| {
                    (n + r.pilots.n, s + r.pilots.mean.unwrap_or(0.0) * r.pilots.n as f64)
                });
                prop_assert!((sum / n as f64 - m).abs() < 1e-6);
            }
        }

        #[test]
        fn the_order_of_compounds_does_not_matter(mut samples in proptest::collection::vec(sample(), 0..40)) {
            let a = compare(&samples);
            samples.reverse();
            let b = compare(&samples);
            let same = |x: Group, y: Group| {
                x.n == y.n && match (x.mean, y.mean) {
                    (Some(p), Some(q)) => (p - q).abs() < 1e-6,
                    (None, None) => true,
                    _ => false,
                }
            };
            prop_assert!(same(a.all.pilots, b.all.pilots));
            prop_assert!(same(a.all.rest, b.all.rest));
            for ((_, x), (_, y)) in a.by_type.iter().zip(&b.by_type) {
                prop_assert!(same(x.pilots, y.pilots) && same(x.rest, y.rest));
            }
        }

        #[test]
        fn shares_stay_between_zero_and_one(f in facts()) {
            for i in Indicator::ALL {
                if let Some(v) = value(*i, &f) {
                    prop_assert!(v >= 0.0 && v.is_finite());
                    if i.unit() == Unit::Share {
                        prop_assert!(v <= 1.0, "{:?} {}", i, v);
                    }
                }
            }
        }
    }
}
