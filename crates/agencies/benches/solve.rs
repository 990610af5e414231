//! Solves a two-way selection round of a city: 1,500 agencies × 12,000
//! compounds, 10 choices each.
//!
//! cargo bench -p jinlin-agencies --bench solve
//!
//! Preferences are local, as they are in a real round: an agency ranks
//! compounds near the part of the city it serves and a compound ranks the
//! agencies serving its part, so most choices are returned and the
//! matching has long chains of proposals and rejections to work through.

use divan::{Bencher, black_box};
use jinlin_agencies::rules::{AgencyPrefs, CompoundPrefs, solve};

const AGENCIES: i64 = 1_500;
const COMPOUNDS: i64 = 12_000;
const CHOICES: i64 = 10;

fn main() {
    divan::main();
}

/// A deterministic pseudo-random number below `m`.
fn next(state: &mut u64, m: i64) -> i64 {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    ((*state >> 33) % m as u64) as i64
}

/// `CHOICES` distinct values from a window of `width` around `centre`,
/// wrapped into 0..`len`, in a shuffled order.
fn near(state: &mut u64, centre: i64, width: i64, len: i64) -> Vec<i64> {
    let mut picked = Vec::new();
    while (picked.len() as i64) < CHOICES {
        let v = (centre + next(state, width) - width / 2).rem_euclid(len);
        if !picked.contains(&v) {
            picked.push(v);
        }
    }
    picked
}

fn city() -> (Vec<AgencyPrefs>, Vec<CompoundPrefs>) {
    let mut state = 7;
    let per_agency = COMPOUNDS / AGENCIES;
    let agencies = (0..AGENCIES)
        .map(|i| AgencyPrefs {
            id: i + 1,
            capacity: 8,
            paired: false,
            ranks: near(&mut state, i * per_agency, 60, COMPOUNDS)
                .into_iter()
                .map(|c| 100_000 + c)
                .collect(),
        })
        .collect();
    let compounds = (0..COMPOUNDS)
        .map(|i| CompoundPrefs {
            id: 100_000 + i,
            paired: false,
            ranks: near(&mut state, i / per_agency, 24, AGENCIES)
                .into_iter()
                .map(|a| a + 1)
                .collect(),
        })
        .collect();
    (agencies, compounds)
}

#[divan::bench(sample_count = 20)]
fn city_round(bencher: Bencher) {
    let (agencies, compounds) = city();
    let solution = solve(&agencies, &compounds).expect("a valid round");
    assert!(solution.pairs.len() >= AGENCIES as usize);
    bencher.bench(|| solve(black_box(&agencies), black_box(&compounds)));
}
