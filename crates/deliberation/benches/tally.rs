//! Tallies a compound of 10,000 units with every ballot cast.
//!
//! cargo bench -p jinlin-deliberation --bench tally

use divan::{Bencher, black_box};
use jinlin_deliberation::vote::{
    BallotBox, Choice, DeemedVotes, Electorate, Matter, OwnerGroup, OwnerKey, Unit,
};

const UNITS: i64 = 10_000;

fn main() {
    divan::main();
}

/// 10,000 units: 200 still held by the developer, 1,000 bought jointly by
/// couples, 800 as second units of 800 owners, the rest owned alone.
fn units() -> Vec<Unit> {
    (0..UNITS)
        .map(|i| {
            let owner = match i {
                0..200 => OwnerGroup::developer(),
                200..1_200 => {
                    OwnerGroup::new([OwnerKey::Person(i), OwnerKey::Person(i + 1_000_000)]).unwrap()
                }
                1_200..2_000 => OwnerGroup::sole(OwnerKey::Person(i + 800)),
                _ => OwnerGroup::sole(OwnerKey::Person(i)),
            };
            Unit {
                unit_id: i + 1,
                area_centi_m2: 6_000 + (i as u64 * 7_919) % 9_000,
                owner,
            }
        })
        .collect()
}

fn choice(i: usize) -> Choice {
    match i % 10 {
        0..7 => Choice::For,
        7..9 => Choice::Against,
        _ => Choice::Abstain,
    }
}

fn full_box() -> BallotBox {
    let electorate = Electorate::new(units()).unwrap();
    let voters: Vec<OwnerGroup> = electorate
        .voters()
        .iter()
        .map(|v| v.owner.clone())
        .collect();
    let mut ballots = BallotBox::open(electorate);
    for (i, v) in voters.iter().enumerate() {
        ballots.cast(v, choice(i)).unwrap();
    }
    ballots.close();
    ballots
}

#[divan::bench]
fn tally(bencher: Bencher) {
    let ballots = full_box();
    bencher.bench(|| {
        black_box(&ballots)
            .tally(Matter::RaiseMaintenanceFund, DeemedVotes::Off)
            .unwrap()
    });
}

#[divan::bench]
fn tally_with_deemed_votes(bencher: Bencher) {
    let ballots = full_box();
    bencher.bench(|| {
        black_box(&ballots)
            .tally(Matter::RaiseMaintenanceFund, DeemedVotes::FollowMajority)
            .unwrap()
    });
}

/// Building the electorate from the units.
#[divan::bench]
fn electorate(bencher: Bencher) {
    bencher
        .with_inputs(units)
        .bench_values(|units| Electorate::new(units).unwrap());
}

/// Casting every voter's ballot into an open box, closing it and tallying.
#[divan::bench]
fn cast_all_and_tally(bencher: Bencher) {
    let electorate = Electorate::new(units()).unwrap();
    let voters: Vec<OwnerGroup> = electorate
        .voters()
        .iter()
        .map(|v| v.owner.clone())
        .collect();
    bencher
        .with_inputs(|| BallotBox::open(electorate.clone()))
        .bench_values(|mut ballots| {
            for (i, v) in voters.iter().enumerate() {
                ballots.cast(v, choice(i)).unwrap();
            }
            ballots.close();
            ballots
                .tally(Matter::OwnersCommittee, DeemedVotes::Off)
                .unwrap()
        });
}
