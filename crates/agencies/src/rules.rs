//! The pairing rules, pure: categories, round states and the two-way
//! selection solver.
//!
//! A round is a many-to-one matching problem ("hospitals/residents"): each
//! agency offers to serve up to `capacity` compounds and ranks the compounds
//! it offers; each compound, through its party organisation, ranks the
//! agencies whose functions fit its stated needs and is paired with at most
//! one agency in the round. A pair is acceptable only when both sides ranked
//! each other.
//!
//! The solver runs deferred acceptance with **compounds proposing**. The
//! result is the stable matching best for every compound among all stable
//! matchings, and stating true preferences is a dominant strategy for the
//! proposing side. Compounds are the side the system serves (residents'
//! needs drive the pairing), and their party organisations are the side
//! least able to play tactics, so the guarantee goes to them.
//!
//! Then directed pairing fills what is left so that every agency ends with
//! at least one compound whenever any compound is in the round: an agency
//! the matching left empty takes, in order, an unpaired compound it ranked,
//! any unpaired compound (lowest id first), and when none is unpaired a
//! compound it ranked or else the one with fewest agencies (a compound may
//! have two agencies; an agency never goes without).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Most compounds or agencies one side may rank.
pub const MAX_RANKS: usize = 50;
/// Highest capacity an agency may offer in one round.
pub const MAX_CAPACITY: u32 = 100;

/// Why an input is refused; `key` names the message in the locale file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid {
    pub key: &'static str,
}

fn invalid<T>(key: &'static str) -> Result<T, Invalid> {
    Err(Invalid { key })
}

/// An agency's function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = AgencyCategory)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Housing,
    UrbanManagement,
    Health,
    Education,
    PublicSecurity,
    CivilAffairs,
    Other,
}

impl Category {
    pub const ALL: [Category; 7] = [
        Category::Housing,
        Category::UrbanManagement,
        Category::Health,
        Category::Education,
        Category::PublicSecurity,
        Category::CivilAffairs,
        Category::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Housing => "housing",
            Category::UrbanManagement => "urban_management",
            Category::Health => "health",
            Category::Education => "education",
            Category::PublicSecurity => "public_security",
            Category::CivilAffairs => "civil_affairs",
            Category::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// How a pairing came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = PairingRoute)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    Directed,
    TwoWay,
}

impl Route {
    pub fn as_str(self) -> &'static str {
        match self {
            Route::Directed => "directed",
            Route::TwoWay => "two_way",
        }
    }

    pub fn parse(s: &str) -> Option<Route> {
        [Route::Directed, Route::TwoWay]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// A selection round's life: open (preferences accepted) → solved.
/// `closed` stops preferences without solving (a round called off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = SelectionRoundState)]
#[serde(rename_all = "snake_case")]
pub enum RoundState {
    Open,
    Closed,
    Solved,
}

impl RoundState {
    pub fn as_str(self) -> &'static str {
        match self {
            RoundState::Open => "open",
            RoundState::Closed => "closed",
            RoundState::Solved => "solved",
        }
    }

    pub fn parse(s: &str) -> Option<RoundState> {
        [RoundState::Open, RoundState::Closed, RoundState::Solved]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// Checks a name-like text: trimmed, 1..=max characters.
pub fn check_text(text: &str, max: usize) -> Result<String, Invalid> {
    let t = text.trim();
    if t.is_empty() {
        return invalid("agencies.error.empty");
    }
    if t.chars().count() > max {
        return invalid("agencies.error.too_long");
    }
    Ok(t.to_string())
}

/// Checks a capacity: 1..=MAX_CAPACITY.
pub fn check_capacity(capacity: i64) -> Result<u32, Invalid> {
    if capacity < 1 || capacity > i64::from(MAX_CAPACITY) {
        return invalid("agencies.error.capacity");
    }
    Ok(capacity as u32)
}

/// Checks a ranking: no id twice, at most MAX_RANKS.
pub fn check_ranking(ids: &[i64]) -> Result<(), Invalid> {
    if ids.len() > MAX_RANKS {
        return invalid("agencies.error.too_many_ranks");
    }
    let mut seen = HashSet::new();
    if ids.iter().any(|id| !seen.insert(*id)) {
        return invalid("agencies.error.ranked_twice");
    }
    Ok(())
}

/// One agency's side of a round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgencyPrefs {
    pub id: i64,
    pub capacity: u32,
    /// Compounds, most wanted first.
    pub ranks: Vec<i64>,
    /// Already paired outside this round: directed fill leaves it alone.
    pub paired: bool,
}

/// One compound's side of a round (every compound in the round's scope,
/// with an empty ranking when its party organisation stated none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompoundPrefs {
    pub id: i64,
    /// Agencies, most wanted first.
    pub ranks: Vec<i64>,
    /// Already has an agency outside this round: directed fill takes it
    /// only when no compound is free.
    pub paired: bool,
}

/// Why the matching did not place an agency or a compound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = UnplacedReason)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// It ranked nobody.
    NoPreferences,
    /// Nobody it ranked ranked it back.
    NoAcceptablePartner,
    /// Its acceptable partners were taken by ones they preferred (for a
    /// compound: the agencies' capacity was used up).
    Capacity,
    /// The round has no compound at all.
    NoCompounds,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::NoPreferences => "no_preferences",
            Reason::NoAcceptablePartner => "no_acceptable_partner",
            Reason::Capacity => "capacity",
            Reason::NoCompounds => "no_compounds",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = SolvedPair)]
pub struct Pair {
    pub agency_id: i64,
    pub compound_id: i64,
    pub route: Route,
}

/// An agency or compound the matching did not place, and whether directed
/// pairing then did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = UnplacedParty)]
pub struct Unplaced {
    pub id: i64,
    pub reason: Reason,
    /// Paired afterwards by directed pairing.
    pub directed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, ToSchema)]
#[schema(as = RoundSolution)]
pub struct Solution {
    /// Two-way pairs first, then directed ones, each by agency then compound.
    pub pairs: Vec<Pair>,
    pub agencies: Vec<Unplaced>,
    pub compounds: Vec<Unplaced>,
}

/// Validates a round's input: capacities, rankings without repeats and
/// naming only parties of the round, no id twice.
pub fn validate(agencies: &[AgencyPrefs], compounds: &[CompoundPrefs]) -> Result<(), Invalid> {
    let agency_ids: HashSet<i64> = agencies.iter().map(|a| a.id).collect();
    let compound_ids: HashSet<i64> = compounds.iter().map(|c| c.id).collect();
    if agency_ids.len() != agencies.len() || compound_ids.len() != compounds.len() {
        return invalid("agencies.error.duplicate_party");
    }
    for a in agencies {
        check_capacity(i64::from(a.capacity))?;
        check_ranking(&a.ranks)?;
        if a.ranks.iter().any(|c| !compound_ids.contains(c)) {
            return invalid("agencies.error.unknown_compound");
        }
    }
    for c in compounds {
        check_ranking(&c.ranks)?;
        if c.ranks.iter().any(|a| !agency_ids.contains(a)) {
            return invalid("agencies.error.unknown_agency");
        }
    }
    Ok(())
}

/// Phase one alone: compound-proposing deferred acceptance. Returns, per
/// agency id, the compounds it holds (sorted). Input must be valid.
pub fn stable_matching(
    agencies: &[AgencyPrefs],
    compounds: &[CompoundPrefs],
) -> BTreeMap<i64, Vec<i64>> {
    // rank[agency][compound] = position in the agency's list.
    let rank: HashMap<i64, HashMap<i64, usize>> = agencies
        .iter()
        .map(|a| {
            (
                a.id,
                a.ranks.iter().enumerate().map(|(i, c)| (*c, i)).collect(),
            )
        })
        .collect();
    let capacity: HashMap<i64, usize> = agencies
        .iter()
        .map(|a| (a.id, a.capacity as usize))
        .collect();
    let mut compound_order: Vec<&CompoundPrefs> = compounds.iter().collect();
    compound_order.sort_by_key(|c| c.id);
    let prefs: HashMap<i64, &[i64]> = compound_order
        .iter()
        .map(|c| (c.id, c.ranks.as_slice()))
        .collect();
    let mut next: HashMap<i64, usize> = HashMap::new();
    // Held proposals per agency: (rank, compound), kept sorted, worst last.
    let mut held: BTreeMap<i64, Vec<(usize, i64)>> =
        agencies.iter().map(|a| (a.id, Vec::new())).collect();
    let mut free: VecDeque<i64> = compound_order.iter().map(|c| c.id).collect();
    while let Some(c) = free.pop_front() {
        let list = prefs[&c];
        let i = next.entry(c).or_insert(0);
        while *i < list.len() {
            let a = list[*i];
            *i += 1;
            let Some(r) = rank.get(&a).and_then(|m| m.get(&c)) else {
                continue; // not acceptable to the agency
            };
            let slots = held.get_mut(&a).expect("validated");
            let pos = slots.partition_point(|(x, _)| x < r);
            if slots.len() < capacity[&a] {
                slots.insert(pos, (*r, c));
                break;
            }
            if pos < slots.len() {
                slots.insert(pos, (*r, c));
                let (_, bumped) = slots.pop().expect("over capacity");
                free.push_back(bumped);
                break;
            }
        }
    }
    held.into_iter()
        .map(|(a, slots)| {
            let mut cs: Vec<i64> = slots.into_iter().map(|(_, c)| c).collect();
            cs.sort_unstable();
            (a, cs)
        })
        .collect()
}

/// Solves a round: stable matching, then directed pairing for every agency
/// left without a compound, with a report of what the matching could not
/// place and why.
pub fn solve(agencies: &[AgencyPrefs], compounds: &[CompoundPrefs]) -> Result<Solution, Invalid> {
    validate(agencies, compounds)?;
    let matched = stable_matching(agencies, compounds);
    let mut agency_order: Vec<&AgencyPrefs> = agencies.iter().collect();
    agency_order.sort_by_key(|a| a.id);
    let mut compound_ids: Vec<i64> = compounds.iter().map(|c| c.id).collect();
    compound_ids.sort_unstable();

    let mut pairs = Vec::new();
    let mut partner_of: HashMap<i64, i64> = HashMap::new();
    for (a, cs) in &matched {
        for c in cs {
            partner_of.insert(*c, *a);
            pairs.push(Pair {
                agency_id: *a,
                compound_id: *c,
                route: Route::TwoWay,
            });
        }
    }
    let ranked_by: HashMap<i64, HashSet<i64>> = compounds
        .iter()
        .map(|c| (c.id, c.ranks.iter().copied().collect()))
        .collect();
    let acceptable = |a: &AgencyPrefs, c: i64| ranked_by.get(&c).is_some_and(|r| r.contains(&a.id));

    // Reasons, decided from the matching alone.
    let mut agency_report = Vec::new();
    for a in &agency_order {
        if !matched[&a.id].is_empty() {
            continue;
        }
        let reason = if compound_ids.is_empty() {
            Reason::NoCompounds
        } else if a.ranks.is_empty() {
            Reason::NoPreferences
        } else if !a.ranks.iter().any(|c| acceptable(a, *c)) {
            Reason::NoAcceptablePartner
        } else {
            Reason::Capacity
        };
        agency_report.push(Unplaced {
            id: a.id,
            reason,
            directed: false,
        });
    }
    let agency_ranks: HashMap<i64, &AgencyPrefs> = agencies.iter().map(|a| (a.id, a)).collect();
    let mut compound_report = Vec::new();
    for c in compounds
        .iter()
        .map(|c| c.id)
        .collect::<std::collections::BTreeSet<_>>()
    {
        if partner_of.contains_key(&c) {
            continue;
        }
        let own = &ranked_by[&c];
        let reason = if own.is_empty() {
            Reason::NoPreferences
        } else if !own
            .iter()
            .any(|a| agency_ranks.get(a).is_some_and(|p| p.ranks.contains(&c)))
        {
            Reason::NoAcceptablePartner
        } else {
            Reason::Capacity
        };
        compound_report.push(Unplaced {
            id: c,
            reason,
            directed: false,
        });
    }

    // Directed fill: every empty agency gets one compound.
    let mut agencies_of: HashMap<i64, usize> = compounds
        .iter()
        .map(|c| (c.id, usize::from(c.paired)))
        .collect();
    for c in partner_of.keys() {
        *agencies_of.get_mut(c).expect("known") += 1;
    }
    for entry in agency_report.iter_mut() {
        if compound_ids.is_empty() {
            break;
        }
        let a = agency_ranks[&entry.id];
        if a.paired {
            continue;
        }
        let unpaired = |c: &i64| agencies_of[c] == 0;
        let pick = a
            .ranks
            .iter()
            .copied()
            .find(unpaired)
            .or_else(|| compound_ids.iter().copied().find(unpaired))
            .or_else(|| a.ranks.first().copied())
            .or_else(|| {
                compound_ids
                    .iter()
                    .copied()
                    .min_by_key(|c| (agencies_of[c], *c))
            })
            .expect("a compound exists");
        *agencies_of.get_mut(&pick).expect("known") += 1;
        entry.directed = true;
        pairs.push(Pair {
            agency_id: a.id,
            compound_id: pick,
            route: Route::Directed,
        });
        if let Some(r) = compound_report.iter_mut().find(|r| r.id == pick) {
            r.directed = true;
        }
    }
    Ok(Solution {
        pairs,
        agencies: agency_report,
        compounds: compound_report,
    })
}

/// A pair (agency, compound) that would both rather have each other than
/// what the matching gave them; `None` when the matching is stable.
pub fn blocking_pair(
    agencies: &[AgencyPrefs],
    compounds: &[CompoundPrefs],
    matched: &BTreeMap<i64, Vec<i64>>,
) -> Option<(i64, i64)> {
    let mut partner: HashMap<i64, i64> = HashMap::new();
    for (a, cs) in matched {
        for c in cs {
            partner.insert(*c, *a);
        }
    }
    for c in compounds {
        for (i, a) in c.ranks.iter().enumerate() {
            // Compound c prefers a to its partner (or has none)?
            let prefers = match partner.get(&c.id) {
                None => true,
                Some(p) => c.ranks.iter().position(|x| x == p).is_some_and(|j| i < j),
            };
            if !prefers {
                continue;
            }
            let Some(ap) = agencies.iter().find(|x| x.id == *a) else {
                continue;
            };
            let Some(rc) = ap.ranks.iter().position(|x| *x == c.id) else {
                continue;
            };
            let held = &matched[a];
            let wants = held.len() < ap.capacity as usize
                || held.iter().any(|h| {
                    ap.ranks
                        .iter()
                        .position(|x| x == h)
                        .is_none_or(|rh| rc < rh)
                });
            if wants {
                return Some((*a, c.id));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ag(id: i64, capacity: u32, ranks: &[i64]) -> AgencyPrefs {
        AgencyPrefs {
            id,
            capacity,
            ranks: ranks.to_vec(),
            paired: false,
        }
    }

    fn co(id: i64, ranks: &[i64]) -> CompoundPrefs {
        CompoundPrefs {
            id,
            ranks: ranks.to_vec(),
            paired: false,
        }
    }

    fn two_way(s: &Solution) -> Vec<(i64, i64)> {
        s.pairs
            .iter()
            .filter(|p| p.route == Route::TwoWay)
            .map(|p| (p.agency_id, p.compound_id))
            .collect()
    }

    #[test]
    fn compounds_get_their_first_choice_when_agencies_agree() {
        let agencies = [ag(1, 1, &[10, 11]), ag(2, 1, &[10, 11])];
        let compounds = [co(10, &[1, 2]), co(11, &[2, 1])];
        let s = solve(&agencies, &compounds).unwrap();
        assert_eq!(two_way(&s), vec![(1, 10), (2, 11)]);
        assert!(s.agencies.is_empty() && s.compounds.is_empty());
    }

    #[test]
    fn capacity_lets_an_agency_take_several_and_the_rest_is_reported() {
        // Agency 1 takes two; compound 12 wanted only agency 1, which is full.
        let agencies = [ag(1, 2, &[10, 11, 12]), ag(2, 1, &[13])];
        let compounds = [co(10, &[1]), co(11, &[1]), co(12, &[1]), co(13, &[])];
        let s = solve(&agencies, &compounds).unwrap();
        assert_eq!(two_way(&s), vec![(1, 10), (1, 11)]);
        // Agency 2 ranked 13, which ranked nobody: directed to 13.
        assert_eq!(
            s.agencies,
            vec![Unplaced {
                id: 2,
                reason: Reason::NoAcceptablePartner,
                directed: true
            }]
        );
        assert!(s.pairs.contains(&Pair {
            agency_id: 2,
            compound_id: 13,
            route: Route::Directed
        }));
        assert_eq!(
            s.compounds,
            vec![
                Unplaced {
                    id: 12,
                    reason: Reason::Capacity,
                    directed: false
                },
                Unplaced {
                    id: 13,
                    reason: Reason::NoPreferences,
                    directed: true
                }
            ]
        );
    }

    #[test]
    fn the_proposing_side_gets_its_better_stable_matching() {
        // Two stable matchings exist; compounds propose, so they get theirs.
        let agencies = [ag(1, 1, &[11, 10]), ag(2, 1, &[10, 11])];
        let compounds = [co(10, &[1, 2]), co(11, &[2, 1])];
        let s = solve(&agencies, &compounds).unwrap();
        assert_eq!(two_way(&s), vec![(1, 10), (2, 11)]);
    }

    #[test]
    fn an_agency_without_free_compounds_shares_one() {
        let agencies = [ag(1, 2, &[10, 11]), ag(2, 1, &[])];
        let compounds = [co(10, &[1]), co(11, &[1])];
        let s = solve(&agencies, &compounds).unwrap();
        assert_eq!(s.agencies[0].reason, Reason::NoPreferences);
        assert!(s.pairs.contains(&Pair {
            agency_id: 2,
            compound_id: 10,
            route: Route::Directed
        }));
    }

    #[test]
    fn an_agency_paired_before_the_round_is_not_directed() {
        let mut a = ag(1, 1, &[]);
        a.paired = true;
        let s = solve(&[a], &[co(10, &[])]).unwrap();
        assert!(s.pairs.is_empty());
        assert!(!s.agencies[0].directed);
    }

    #[test]
    fn directed_fill_prefers_a_compound_without_any_agency() {
        let mut busy = co(10, &[]);
        busy.paired = true;
        let s = solve(&[ag(1, 1, &[])], &[busy, co(11, &[])]).unwrap();
        assert_eq!(s.pairs[0].compound_id, 11);
    }

    #[test]
    fn no_compounds_is_reported() {
        let s = solve(&[ag(1, 1, &[])], &[]).unwrap();
        assert_eq!(s.agencies[0].reason, Reason::NoCompounds);
        assert!(!s.agencies[0].directed);
        assert!(s.pairs.is_empty());
    }

    #[test]
    fn bad_input_is_refused() {
        let c = [co(10, &[])];
        assert_eq!(
            solve(&[ag(1, 0, &[])], &c).unwrap_err().key,
            "agencies.error.capacity"
        );
        assert_eq!(
            solve(&[ag(1, 1, &[10, 10])], &c).unwrap_err().key,
            "agencies.error.ranked_twice"
        );
        assert_eq!(
            solve(&[ag(1, 1, &[99])], &c).unwrap_err().key,
            "agencies.error.unknown_compound"
        );
        assert_eq!(
            solve(&[ag(1, 1, &[])], &[co(10, &[7])]).unwrap_err().key,
            "agencies.error.unknown_agency"
        );
        assert_eq!(
            Category::parse("public_security"),
            Some(Category::PublicSecurity)
        );
        assert!(check_text("  ", 10).is_err());
    }

    /// Random rounds: up to 8 agencies (ids 1..) and 12 compounds (ids 100..).
    fn round() -> impl Strategy<Value = (Vec<AgencyPrefs>, Vec<CompoundPrefs>)> {
        (1usize..8, 0usize..12).prop_flat_map(|(na, nc)| {
            let agency_ids: Vec<i64> = (1..=na as i64).collect();
            let compound_ids: Vec<i64> = (100..100 + nc as i64).collect();
            let agencies = proptest::collection::vec(
                (1u32..4, Just(compound_ids.clone()).prop_shuffle(), 0..=nc),
                na,
            )
            .prop_map(|v| {
                v.into_iter()
                    .enumerate()
                    .map(|(i, (cap, mut ranks, keep))| {
                        ranks.truncate(keep);
                        AgencyPrefs {
                            id: i as i64 + 1,
                            capacity: cap,
                            ranks,
                            paired: false,
                        }
                    })
                    .collect::<Vec<_>>()
            });
            let compounds = proptest::collection::vec(
                (
                    Just(agency_ids.clone()).prop_shuffle(),
                    0..=na,
                    any::<bool>(),
                ),
                nc,
            )
            .prop_map(|v| {
                v.into_iter()
                    .enumerate()
                    .map(|(i, (mut ranks, keep, paired))| {
                        ranks.truncate(keep);
                        CompoundPrefs {
                            id: 100 + i as i64,
                            ranks,
                            paired,
                        }
                    })
                    .collect::<Vec<_>>()
            });
            (agencies, compounds)
        })
    }

    proptest! {
        #[test]
        fn the_matching_is_stable_and_within_capacity((agencies, compounds) in round()) {
            let m = stable_matching(&agencies, &compounds);
            prop_assert_eq!(blocking_pair(&agencies, &compounds, &m), None);
            for a in &agencies {
                prop_assert!(m[&a.id].len() <= a.capacity as usize);
                // Only mutually acceptable pairs.
                for c in &m[&a.id] {
                    prop_assert!(a.ranks.contains(c));
                    prop_assert!(compounds.iter().find(|x| x.id == *c).unwrap().ranks.contains(&a.id));
                }
            }
            // A compound is held by at most one agency.
            let mut seen = HashSet::new();
            for cs in m.values() {
                for c in cs {
                    prop_assert!(seen.insert(*c));
                }
            }
        }

        #[test]
        fn every_agency_gets_a_compound_when_any_exists((agencies, compounds) in round()) {
            let s = solve(&agencies, &compounds).unwrap();
            let total: HashMap<i64, usize> = s.pairs.iter().fold(HashMap::new(), |mut m, p| {
                *m.entry(p.agency_id).or_default() += 1;
                m
            });
            for a in &agencies {
                let n = total.get(&a.id).copied().unwrap_or(0);
                if compounds.is_empty() {
                    prop_assert_eq!(n, 0);
                } else {
                    prop_assert!(n >= 1);
                    // Directed pairing adds one only to an empty agency.
                    prop_assert!(n <= a.capacity as usize);
                }
            }
            // Directed pairing shares a compound only when none is unpaired.
            let paired: HashSet<i64> = s.pairs.iter().map(|p| p.compound_id).collect();
            let shared = s.pairs.len() > paired.len();
            if shared {
                prop_assert!(compounds.iter().all(|c| c.paired || paired.contains(&c.id)));
            }
            // Every party without a two-way pair is in the report.
            let two: HashSet<i64> = s.pairs.iter().filter(|p| p.route == Route::TwoWay).map(|p| p.agency_id).collect();
            for a in &agencies {
                prop_assert_eq!(two.contains(&a.id), !s.agencies.iter().any(|u| u.id == a.id));
            }
        }

        #[test]
        fn solving_is_deterministic((agencies, compounds) in round()) {
            let first = solve(&agencies, &compounds).unwrap();
            let mut ra = agencies.clone();
            ra.reverse();
            let mut rc = compounds.clone();
            rc.reverse();
            prop_assert_eq!(&first, &solve(&agencies, &compounds).unwrap());
            // Input order does not matter either.
            prop_assert_eq!(first, solve(&ra, &rc).unwrap());
        }
    }
}
