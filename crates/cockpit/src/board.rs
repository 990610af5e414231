//! The board of a node: the counts of every figure for the node and for
//! each of its children, gathered from the capabilities' own figure
//! functions (each called once for the node, giving the node and its
//! children together) and from the cockpit's grouped queries where a
//! capability counts nothing by place.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use jinlin_joint_meetings::rules::{MeetingState, Quarter};
use jinlin_kernel::ApiError;
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::place::entity as place;
use jinlin_micro_grids::rules::Tally;
use jinlin_organisations::rules::Coverage;
use jinlin_organisations::store::CompoundRow as CoveredCompound;
use sea_orm::{ConnectionTrait, DbErr};
use tokio::sync::Semaphore;

use crate::figures;
use crate::rules::{Numbers, PROJECT_STATES, STEPS};
use crate::store::{self, CompoundRow, Count, MatterTally};

/// Statements a live board has in flight at once. Its dozen reads are
/// independent; one after another, a reader waits for each round trip.
/// Four at a time wait for about a third of them while taking no more
/// than four of the pool's connections.
const LANES: usize = 4;

/// A background read's pause after each statement, in lengths of the
/// statement: with 2, the reads take at most a third of the time.
const PAUSE_PER_READ: u32 = 2;

/// Runs `read`, then waits [`PAUSE_PER_READ`] times as long as it took.
/// For the reads of the background refresh: a district's are a core's
/// work for a second or two, and taken at once, on a machine the requests
/// keep busy, they queue the requests behind them (a stall of a few
/// hundred milliseconds each time); spread out, they fit in the gaps.
pub async fn paced<T>(read: impl Future<Output = T>) -> T {
    let started = std::time::Instant::now();
    let done = read.await;
    tokio::time::sleep(pause_after(started.elapsed())).await;
    done
}

/// The pause after a background read that took `took`.
pub fn pause_after(took: std::time::Duration) -> std::time::Duration {
    took * PAUSE_PER_READ
}

/// The statements of one board in flight at once, and whether each is
/// followed by a pause ([`paced`]).
struct Lanes {
    seats: Semaphore,
    paced: bool,
}

/// Runs `read` once one of `lanes` is free (holding it through the pause,
/// if paced).
async fn in_lane<T, E: Into<ApiError>>(
    lanes: &Lanes,
    read: impl Future<Output = Result<T, E>>,
) -> Result<T, ApiError> {
    // Never closed: a permit always comes.
    let _lane = lanes.seats.acquire().await.ok();
    if lanes.paced {
        paced(read).await.map_err(Into::into)
    } else {
        read.await.map_err(Into::into)
    }
}

/// A node's counts and its children's.
#[derive(Debug, Clone)]
pub struct Board {
    pub node: place::Model,
    pub numbers: Numbers,
    /// Streets of a district, communities of a street, compounds of a
    /// community; none for a compound. In division order.
    pub children: Vec<(place::Model, Numbers)>,
    /// The quarter joint meetings are counted in.
    pub quarter: Quarter,
    /// When the figures were computed, if read from the maintained
    /// figures; none when gathered now.
    pub computed_at: Option<DateTime<Utc>>,
    /// Children whose maintained figures are out of date (not computed
    /// within [`crate::figures::STALE_AFTER`], or never), in division
    /// order; none when gathered now.
    pub behind: Vec<Behind>,
}

/// A child whose maintained figures are out of date.
#[derive(Debug, Clone, PartialEq)]
pub struct Behind {
    pub place_id: i64,
    pub name: String,
    /// When they were last computed; none if never.
    pub computed_at: Option<DateTime<Utc>>,
}

/// The kinds of place a cockpit shows.
pub fn is_node(p: &place::Model) -> bool {
    PlaceKind::parse(&p.kind).is_some_and(|k| k <= PlaceKind::Compound)
}

/// The child of `node` (of kind `kind`) a compound belongs to.
fn child_of(kind: PlaceKind, c: &CompoundRow) -> Option<i64> {
    match kind {
        PlaceKind::District => c.street_id,
        PlaceKind::Street => c.community_id,
        PlaceKind::Community => Some(c.id),
        _ => None,
    }
}

/// Adds per-compound values up to the node and its children.
struct Rollup<'a> {
    kind: PlaceKind,
    compounds: &'a HashMap<i64, CompoundRow>,
}

impl Rollup<'_> {
    fn sum(&self, per_compound: &HashMap<i64, u64>) -> (u64, HashMap<i64, u64>) {
        let mut total = 0;
        let mut by: HashMap<i64, u64> = HashMap::new();
        for (c, n) in per_compound {
            let Some(row) = self.compounds.get(c) else {
                continue;
            };
            total += n;
            if let Some(k) = child_of(self.kind, row) {
                *by.entry(k).or_default() += n;
            }
        }
        (total, by)
    }

    /// Distinct `items` of compounds (e.g. agencies paired with them).
    fn distinct(&self, pairs: &[(i64, i64)]) -> (u64, HashMap<i64, u64>) {
        let mut total: HashSet<i64> = HashSet::new();
        let mut by: HashMap<i64, HashSet<i64>> = HashMap::new();
        for (c, item) in pairs {
            let Some(row) = self.compounds.get(c) else {
                continue;
            };
            total.insert(*item);
            if let Some(k) = child_of(self.kind, row) {
                by.entry(k).or_default().insert(*item);
            }
        }
        (
            total.len() as u64,
            by.into_iter().map(|(k, s)| (k, s.len() as u64)).collect(),
        )
    }
}

/// Counts of the node (key `None`) and of each child (`Some(id)`).
type Counts = HashMap<Option<i64>, Numbers>;

fn at(counts: &mut Counts, k: Option<i64>) -> &mut Numbers {
    counts.entry(k).or_default()
}

/// Adds to the node's numbers and, above a compound, to those of child
/// `k` (a row whose child is none, or not one of the node's children,
/// counts for the node alone).
fn add(counts: &mut Counts, kind: PlaceKind, k: Option<i64>, f: impl Fn(&mut Numbers)) {
    f(at(counts, None));
    if kind != PlaceKind::Compound
        && k.is_some()
        && let Some(c) = counts.get_mut(&k)
    {
        f(c);
    }
}

/// Puts a node total and per-child values into `field`.
fn put(
    counts: &mut Counts,
    total: u64,
    by: HashMap<i64, u64>,
    field: fn(&mut Numbers) -> &mut u64,
) {
    *field(at(counts, None)) = total;
    for (k, n) in by {
        *field(at(counts, Some(k))) = n;
    }
}

/// Reads of a node's board its caller already holds, taken as they are
/// instead of read again: a district's refresh reads its compounds and
/// dwellings once and hands each street its share.
#[derive(Debug, Clone, Default)]
pub struct Known {
    /// Follow each read with a pause ([`paced`]): the background refresh's
    /// boards only, which read one statement at a time (a live board's
    /// four lanes would read through each other's pauses).
    pub paced: bool,
    /// The compounds under the node with their party organisation's
    /// coverage (`organisations::api::coverage_by_compound`).
    pub covered: Option<Vec<(CoveredCompound, Coverage)>>,
    /// The dwellings' tallies by child (`micro_grids::store::coverage`).
    pub reach: Option<Vec<(Option<i64>, Tally)>>,
}

/// Gathers every figure of `node` and its children as of `now`. The
/// caller has checked that the reader is an official of the node.
pub async fn gather(
    db: &impl ConnectionTrait,
    node: &place::Model,
    now: DateTime<Utc>,
) -> Result<Board, ApiError> {
    gather_knowing(db, node, now, Known::default()).await
}

/// [`gather`], taking what `known` holds as read. What it holds must be
/// `node`'s own: nothing here can tell another node's rows from its own.
pub async fn gather_knowing(
    db: &impl ConnectionTrait,
    node: &place::Model,
    now: DateTime<Utc>,
    known: Known,
) -> Result<Board, ApiError> {
    let kind = PlaceKind::parse(&node.kind).unwrap_or(PlaceKind::Compound);
    let code = node.district_code.clone().unwrap_or_default();
    let child_kind = match kind {
        PlaceKind::District => Some(PlaceKind::Street),
        PlaceKind::Street => Some(PlaceKind::Community),
        PlaceKind::Community => Some(PlaceKind::Compound),
        _ => None,
    };
    // A live board (a community's, a compound's) is read a few statements
    // at a time, as a reader waits for it; the maintained figures one at
    // a time, so a refresh never holds more than one connection.
    let lanes = Lanes {
        seats: Semaphore::new(if figures::maintained(Some(kind)) {
            1
        } else {
            LANES
        }),
        paced: known.paced,
    };
    let lanes = &lanes;
    // The children, and the compounds under the node, each with its party
    // organisation's coverage.
    let (children, covered) = tokio::try_join!(
        in_lane(lanes, async {
            Ok::<_, DbErr>(match child_kind {
                Some(ck) => jinlin_places::store::all_children(db, node.id)
                    .await?
                    .into_iter()
                    .filter(|c| c.kind == ck.as_str())
                    .collect(),
                None => Vec::<place::Model>::new(),
            })
        }),
        in_lane(lanes, async {
            match known.covered {
                Some(covered) => Ok(covered),
                None => jinlin_organisations::api::coverage_by_compound(db, node).await,
            }
        }),
    )?;
    let compounds: HashMap<i64, CompoundRow> = covered
        .iter()
        .map(|(c, _)| {
            let row = CompoundRow {
                id: c.compound_id,
                street_id: c.street_id,
                community_id: c.community_id,
            };
            (row.id, row)
        })
        .collect();
    let compound_ids: HashSet<i64> = compounds.keys().copied().collect();
    let quarter = Quarter::of(now);
    let streets: Vec<i64> = match kind {
        PlaceKind::District => children.iter().map(|c| c.id).collect(),
        PlaceKind::Street => vec![node.id],
        _ => Vec::new(),
    };
    // Everything else, each read apart from the others.
    let (
        (district_agencies, agency_pairs),
        [projects, grids, deliberations],
        designated,
        meetings,
        in_service,
        matters,
        reach,
        admitted,
        (social, social_by),
        teams,
        votes,
        stars,
    ) = tokio::try_join!(
        in_lane(lanes, store::agencies_and_pairings(db, node)),
        // Projects and deliberations by step, and micro-grids, counted in
        // one statement; projects first.
        in_lane(
            lanes,
            store::counts_by(
                db,
                node,
                [
                    Count {
                        table: "project",
                        by: Some("state"),
                    },
                    Count {
                        table: "micro_grid",
                        by: None,
                    },
                    Count {
                        table: "matter",
                        by: Some("state"),
                    },
                ],
            )
        ),
        in_lane(lanes, jinlin_pilots::store::pilots_in(db, node, true)),
        in_lane(lanes, async {
            if streets.is_empty() {
                return Ok(Vec::new());
            }
            jinlin_joint_meetings::store::meetings_in_quarter(db, &streets, quarter).await
        }),
        in_lane(lanes, jinlin_in_service::api::headline_tallies(db, node)),
        in_lane(lanes, store::matters(db, node)),
        in_lane(lanes, async {
            match known.reach {
                Some(reach) => Ok(reach),
                None => jinlin_micro_grids::store::coverage(db, node).await,
            }
        }),
        in_lane(lanes, store::orgs_admitted(db, node)),
        in_lane(
            lanes,
            jinlin_social_services::api::tallies_by_child(db, node, now)
        ),
        in_lane(lanes, store::teams_and_members(db, node)),
        in_lane(lanes, store::votes_held(db, &code, &compound_ids)),
        in_lane(lanes, store::property_stars(db, &code, &compound_ids)),
    )?;
    let roll = Rollup {
        kind,
        compounds: &compounds,
    };
    let mut counts: Counts = HashMap::new();
    at(&mut counts, None);
    for c in &children {
        at(&mut counts, Some(c.id));
    }

    // Compound party organisations and cross-membership coverage.
    for (row, c) in &covered {
        let child = compounds
            .get(&row.compound_id)
            .and_then(|r| child_of(kind, r));
        for k in std::iter::once(None).chain(child.map(Some)) {
            let n = at(&mut counts, k);
            n.compounds += c.compounds;
            n.party_orgs += c.party_orgs;
            n.covering += c.covering;
        }
    }

    // Agencies paired with compounds here.
    let compound_pairs: Vec<(i64, i64)> = agency_pairs.iter().map(|(c, _)| (*c, *c)).collect();
    let (total, by) = roll.distinct(&agency_pairs);
    put(&mut counts, total, by, |n| &mut n.agencies_paired);
    let (total, by) = roll.distinct(&compound_pairs);
    put(&mut counts, total, by, |n| &mut n.compounds_paired);
    for n in counts.values_mut() {
        n.district_agencies = district_agencies;
    }

    // Projects by state.
    for (k, state, n) in projects {
        if let Some(i) = PROJECT_STATES.iter().position(|s| *s == state) {
            add(&mut counts, kind, k, |c| c.projects[i] += n);
        }
    }

    // Cohesion pilots designated now.
    let mut pilots: HashMap<i64, u64> = HashMap::new();
    for p in designated {
        pilots.insert(p.compound_id, 1);
    }
    let (total, by) = roll.sum(&pilots);
    put(&mut counts, total, by, |n| &mut n.pilots);

    // Joint meetings held this quarter, a street's.
    if !streets.is_empty() {
        let mut held: HashMap<i64, u64> = streets.iter().map(|s| (*s, 0)).collect();
        for m in meetings {
            if m.state == MeetingState::Held.as_str() {
                *held.entry(m.street_id).or_default() += 1;
            }
        }
        at(&mut counts, None).joint_meetings = Some(held.values().sum());
        if kind == PlaceKind::District {
            for (s, n) in held {
                at(&mut counts, Some(s)).joint_meetings = Some(n);
            }
        }
    }

    // In-service party members.
    for (g, f) in in_service {
        // The place's own tallies come under key 0, no place's id.
        let k = (g != 0).then_some(g);
        let Some(n) = counts.get_mut(&k) else {
            continue;
        };
        n.members_reported = f.members_reported;
        n.three_ones_all = f.three_ones_all;
        n.home_reported = f.three_ones_all + f.three_ones_some + f.three_ones_none;
        n.matters_coordinated = f.matters_coordinated;
    }

    // Residents' matters.
    let mut whole = MatterTally::default();
    for (k, t) in &matters {
        whole.add(*t);
        if kind != PlaceKind::Compound
            && let Some(k) = k
            && let Some(n) = counts.get_mut(&Some(*k))
        {
            set_matters(n, *t);
        }
    }
    set_matters(at(&mut counts, None), whole);

    // Micro-grids and the households they reach.
    let all = Tally::sum(reach.iter().map(|(_, t)| t));
    {
        let n = at(&mut counts, None);
        n.dwellings = all.dwellings;
        n.reachable = all.reachable();
    }
    if kind != PlaceKind::Compound {
        for (k, t) in &reach {
            if let Some(n) = counts.get_mut(k).filter(|_| k.is_some()) {
                n.dwellings = t.dwellings;
                n.reachable = t.reachable();
            }
        }
    }
    for (k, _, n) in grids {
        add(&mut counts, kind, k, |c| c.grids += n);
    }

    // Social organisations admitted, sessions held and person-times.
    let mut orgs: HashSet<i64> = HashSet::new();
    let mut orgs_by: HashMap<i64, HashSet<i64>> = HashMap::new();
    for (k, org) in &admitted {
        orgs.insert(*org);
        if let Some(k) = k {
            orgs_by.entry(*k).or_default().insert(*org);
        }
    }
    at(&mut counts, None).orgs_admitted = orgs.len() as u64;
    if kind != PlaceKind::Compound {
        for (k, s) in orgs_by {
            if let Some(n) = counts.get_mut(&Some(k)) {
                n.orgs_admitted = s.len() as u64;
            }
        }
    }
    for (k, l) in
        std::iter::once((None, &social)).chain(social_by.iter().map(|(id, l)| (Some(*id), l)))
    {
        if let Some(n) = counts.get_mut(&k) {
            n.sessions_held = l.sessions_held;
            n.person_times = l.person_times;
        }
    }

    // Volunteer teams and their members.
    for (k, teams, members) in teams {
        add(&mut counts, kind, k, |c| {
            c.teams += teams;
            c.team_members += members;
        });
    }

    // Deliberations by step.
    for (k, state, n) in deliberations {
        if let Some(i) = STEPS.iter().position(|s| *s == state) {
            add(&mut counts, kind, k, |c| c.deliberations[i] += n);
        }
    }

    // Owners' votes held, and property companies' stars.
    let (total, by) = roll.sum(&votes);
    put(&mut counts, total, by, |n| &mut n.votes_held);
    let (total, by) = roll.sum(&stars);
    put(&mut counts, total, by, |n| &mut n.stars_sum);
    let rated: HashMap<i64, u64> = stars.keys().map(|c| (*c, 1)).collect();
    let (total, by) = roll.sum(&rated);
    put(&mut counts, total, by, |n| &mut n.rated_compounds);

    let numbers = counts.remove(&None).unwrap_or_default();
    let children = children
        .into_iter()
        .map(|c| {
            let n = counts.remove(&Some(c.id)).unwrap_or_default();
            (c, n)
        })
        .collect();
    Ok(Board {
        node: node.clone(),
        numbers,
        children,
        quarter,
        computed_at: None,
        behind: Vec::new(),
    })
}

fn set_matters(n: &mut Numbers, t: MatterTally) {
    n.matters_raised = t.raised;
    n.matters_solved = t.solved;
    n.matters_on_time = t.on_time;
    n.matters_rated = t.rated;
    n.matters_satisfied = t.satisfied;
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use proptest::prelude::*;

    use super::pause_after;

    proptest! {
        /// However long a read takes, reading is a third of the time.
        #[test]
        fn a_background_read_takes_a_third_of_the_time(micros in 0u64..10_000_000) {
            let took = Duration::from_micros(micros);
            let whole = took + pause_after(took);
            prop_assert_eq!(whole, took * 3);
        }
    }
}
