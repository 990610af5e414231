//! The vote rules: electorates, ballots, the four tests at their boundaries,
//! deemed votes, and the ballot log; property tests compare the tally with
//! a reference written apart from it.

use jinlin_deliberation::vote::*;
use proptest::prelude::*;

fn person(id: i64) -> OwnerKey {
    OwnerKey::Person(id)
}

fn sole(id: i64) -> OwnerGroup {
    OwnerGroup::sole(person(id))
}

fn unit(unit_id: i64, area: u64, owner: OwnerGroup) -> Unit {
    Unit {
        unit_id,
        area_centi_m2: area,
        owner,
    }
}

/// One unit per person `0..areas.len()`, with the given areas.
fn electorate(areas: &[u64]) -> Electorate {
    Electorate::new(
        areas
            .iter()
            .enumerate()
            .map(|(i, &a)| unit(i as i64 + 1, a, sole(i as i64))),
    )
    .unwrap()
}

/// Casts `choices[i]` for person `i` (skipping `None`) and tallies.
fn tally_of(areas: &[u64], choices: &[Option<Choice>], matter: Matter) -> Tally {
    let mut ballots = BallotBox::open(electorate(areas));
    for (i, c) in choices.iter().enumerate() {
        if let Some(c) = c {
            ballots.cast(&sole(i as i64), *c).unwrap();
        }
    }
    ballots.close();
    ballots.tally(matter, DeemedVotes::Off).unwrap()
}

const F: Option<Choice> = Some(Choice::For);
const A: Option<Choice> = Some(Choice::Against);
const X: Option<Choice> = Some(Choice::Abstain);
const N: Option<Choice> = None;

// ---------------------------------------------------------------------------
// Matters and owner groups

#[test]
fn matters_are_numbered_as_in_article_278() {
    for (i, m) in Matter::ALL.into_iter().enumerate() {
        assert_eq!(m.number() as usize, i + 1);
        assert_eq!(Matter::from_number(m.number()), Some(m));
        assert_eq!(m.requires_supermajority(), matches!(i + 1, 6..=8));
    }
    assert_eq!(Matter::from_number(0), None);
    assert_eq!(Matter::from_number(10), None);
}

#[test]
fn an_owner_group_is_a_sorted_set() {
    let g = OwnerGroup::new([
        person(3),
        OwnerKey::Company("c".into()),
        person(1),
        person(3),
    ])
    .unwrap();
    assert_eq!(
        g.keys(),
        &[person(1), person(3), OwnerKey::Company("c".into())]
    );
    assert_eq!(
        g,
        OwnerGroup::new([person(1), OwnerKey::Company("c".into()), person(3)]).unwrap()
    );
    assert_eq!(OwnerGroup::new([]), Err(GroupError::Empty));
    assert_eq!(
        OwnerGroup::new([OwnerKey::Developer, person(1)]),
        Err(GroupError::DeveloperCoOwned)
    );
    assert_eq!(
        OwnerGroup::new([OwnerKey::Developer, OwnerKey::Developer]).unwrap(),
        OwnerGroup::developer()
    );
}

#[test]
fn an_owner_group_deserializes_only_when_valid() {
    let g: OwnerGroup =
        serde_json::from_str(r#"[{"kind":"person","id":2},{"kind":"person","id":1}]"#).unwrap();
    assert_eq!(g.keys(), &[person(1), person(2)]);
    assert_eq!(
        serde_json::to_string(&g).unwrap(),
        r#"[{"kind":"person","id":1},{"kind":"person","id":2}]"#
    );
    assert!(serde_json::from_str::<OwnerGroup>("[]").is_err());
    assert!(
        serde_json::from_str::<OwnerGroup>(r#"[{"kind":"developer"},{"kind":"person","id":1}]"#)
            .is_err()
    );
}

// ---------------------------------------------------------------------------
// The electorate and headcount

#[test]
fn an_empty_electorate_is_an_error_not_a_pass() {
    assert_eq!(Electorate::new([]), Err(ElectorateError::Empty));
}

#[test]
fn bad_units_are_refused() {
    assert_eq!(
        Electorate::new([unit(1, 10, sole(1)), unit(1, 20, sole(2))]),
        Err(ElectorateError::DuplicateUnit(1))
    );
    assert_eq!(
        Electorate::new([unit(1, 10, sole(1)), unit(2, 0, sole(2))]),
        Err(ElectorateError::ZeroArea(2))
    );
    assert_eq!(
        Electorate::new([unit(1, u64::MAX, sole(1)), unit(2, 1, sole(2))]),
        Err(ElectorateError::AreaOverflow)
    );
}

#[test]
fn developer_units_count_as_one_head() {
    let e = Electorate::new([
        unit(1, 9_000, OwnerGroup::developer()),
        unit(2, 8_000, OwnerGroup::developer()),
        unit(3, 7_000, OwnerGroup::developer()),
        unit(4, 10_000, sole(1)),
    ])
    .unwrap();
    assert_eq!(e.headcount(), 2);
    assert_eq!(e.total_area_centi_m2(), 34_000);
    assert_eq!(e.unit_count(), 4);
    let dev = e.voter(&OwnerGroup::developer()).unwrap();
    assert_eq!(dev.area_centi_m2, 24_000);
    assert_eq!(dev.unit_ids, vec![1, 2, 3]);

    // Its one ballot carries all of its area and one head.
    let mut ballots = BallotBox::open(e);
    ballots.cast(&OwnerGroup::developer(), Choice::For).unwrap();
    ballots.close();
    let t = ballots.tally(Matter::OtherMajor, DeemedVotes::Off).unwrap();
    assert_eq!(
        t.cast.counts.for_,
        Count {
            area_centi_m2: 24_000,
            heads: 1
        }
    );
    assert_eq!(t.cast.participation_heads.fraction, Fraction::new(1, 2));
}

#[test]
fn several_units_of_one_owner_count_as_one_head() {
    let company = OwnerGroup::sole(OwnerKey::Company("91350100MA2XXXXXX1".into()));
    let e = Electorate::new([
        unit(10, 5_000, sole(7)),
        unit(11, 6_000, sole(7)),
        unit(12, 7_000, company.clone()),
        unit(13, 8_000, company.clone()),
        unit(14, 9_000, sole(8)),
    ])
    .unwrap();
    assert_eq!(e.headcount(), 3);
    assert_eq!(e.voter(&sole(7)).unwrap().area_centi_m2, 11_000);
    assert_eq!(e.voter(&company).unwrap().unit_ids, vec![12, 13]);
}

#[test]
fn co_owners_are_one_head_and_a_co_owner_with_a_unit_of_their_own_is_another() {
    let couple = OwnerGroup::new([person(1), person(2)]).unwrap();
    let e = Electorate::new([
        unit(1, 9_000, couple.clone()),
        unit(2, 9_000, OwnerGroup::new([person(2), person(1)]).unwrap()),
        unit(3, 6_000, sole(1)),
        unit(4, 6_000, sole(3)),
    ])
    .unwrap();
    // {1,2} with units 1 and 2, {1} with unit 3, {3} with unit 4.
    assert_eq!(e.headcount(), 3);
    assert_eq!(e.voter(&couple).unwrap().unit_ids, vec![1, 2]);
    let of_1: Vec<&OwnerGroup> = e.groups_of(&person(1)).map(|v| &v.owner).collect();
    assert_eq!(of_1, vec![&sole(1), &couple]);
    assert_eq!(e.groups_of(&person(2)).count(), 1);

    // Person 1 alone cannot cast the couple's ballot as their own: the two
    // ballots are separate.
    let mut ballots = BallotBox::open(e);
    ballots.cast(&sole(1), Choice::Against).unwrap();
    ballots.cast(&couple, Choice::For).unwrap();
    assert_eq!(ballots.choice_of(&sole(1)), Some(Choice::Against));
    assert_eq!(ballots.choice_of(&couple), Some(Choice::For));
    assert_eq!(ballots.choice_of(&sole(2)), None);
}

// ---------------------------------------------------------------------------
// Ballots

#[test]
fn a_voter_outside_the_electorate_is_refused() {
    let mut ballots = BallotBox::open(electorate(&[100, 100]));
    assert_eq!(
        ballots.cast(&sole(99), Choice::For),
        Err(BallotError::NotInElectorate)
    );
    // A co-owner alone is not the group.
    let mut b2 = BallotBox::open(
        Electorate::new([unit(
            1,
            100,
            OwnerGroup::new([person(1), person(2)]).unwrap(),
        )])
        .unwrap(),
    );
    assert_eq!(
        b2.cast(&sole(1), Choice::For),
        Err(BallotError::NotInElectorate)
    );
    assert_eq!(
        b2.cast(&OwnerGroup::developer(), Choice::For),
        Err(BallotError::NotInElectorate)
    );
    ballots.close();
    let t = ballots.tally(Matter::Covenant, DeemedVotes::Off).unwrap();
    assert_eq!(t.cast.participating, Count::default());
}

#[test]
fn the_last_ballot_counts() {
    let mut ballots = BallotBox::open(electorate(&[100, 100, 100]));
    assert_eq!(ballots.cast(&sole(0), Choice::Against), Ok(None));
    assert_eq!(
        ballots.cast(&sole(0), Choice::Abstain),
        Ok(Some(Choice::Against))
    );
    assert_eq!(
        ballots.cast(&sole(0), Choice::For),
        Ok(Some(Choice::Abstain))
    );
    ballots.cast(&sole(1), Choice::For).unwrap();
    ballots.cast(&sole(2), Choice::For).unwrap();
    ballots.cast(&sole(2), Choice::Against).unwrap();
    ballots.close();
    let t = ballots.tally(Matter::Covenant, DeemedVotes::Off).unwrap();
    assert_eq!(t.cast.counts.for_.heads, 2);
    assert_eq!(t.cast.counts.against.heads, 1);
    assert_eq!(t.cast.counts.abstain.heads, 0);
    assert_eq!(t.cast.participating.heads, 3);
    assert_eq!(t.outcome(), Outcome::Passed);
}

#[test]
fn a_closed_box_takes_no_ballot_and_an_open_one_has_no_tally() {
    let mut ballots = BallotBox::open(electorate(&[100]));
    assert_eq!(
        ballots.tally(Matter::Covenant, DeemedVotes::Off),
        Err(TallyError::StillOpen)
    );
    ballots.cast(&sole(0), Choice::For).unwrap();
    ballots.close();
    assert!(ballots.is_closed());
    assert_eq!(
        ballots.cast(&sole(0), Choice::Against),
        Err(BallotError::Closed)
    );
    assert_eq!(ballots.choice_of(&sole(0)), Some(Choice::For));
}

#[test]
fn abstainers_take_part_without_approving() {
    let t = tally_of(&[100, 100, 100, 100], &[F, F, X, N], Matter::Covenant);
    assert_eq!(t.cast.participating.heads, 3);
    assert!(t.cast.participation_heads.passed);
    assert_eq!(t.cast.approval_heads.fraction, Fraction::new(2, 3));
    assert_eq!(t.outcome(), Outcome::Passed);
    let t = tally_of(&[100, 100, 100, 100], &[F, X, X, N], Matter::Covenant);
    assert_eq!(t.outcome(), Outcome::FailedApproval);
}

// ---------------------------------------------------------------------------
// Boundaries of the four tests

#[test]
fn participation_at_exactly_two_thirds_passes_on_both_measures() {
    let t = tally_of(&[100, 100, 100], &[F, F, N], Matter::Covenant);
    assert_eq!(t.cast.participation_area.fraction, Fraction::new(200, 300));
    assert_eq!(t.cast.participation_area.percent, "66.67");
    assert!(t.cast.participation_area.passed);
    assert_eq!(t.cast.participation_heads.fraction, Fraction::new(2, 3));
    assert!(t.cast.participation_heads.passed);
    assert_eq!(t.outcome(), Outcome::Passed);
}

#[test]
fn participation_one_hundredth_of_a_square_metre_under_two_thirds_fails() {
    // Heads 2/3, area 20000/30001.
    let t = tally_of(&[10_000, 10_000, 10_001], &[F, F, N], Matter::Covenant);
    assert!(t.cast.participation_heads.passed);
    assert!(!t.cast.participation_area.passed);
    assert_eq!(t.cast.participation_area.percent, "66.66");
    assert_eq!(t.outcome(), Outcome::FailedParticipation);
    // One over: 20001/30001.
    let t = tally_of(&[10_000, 10_001, 10_000], &[F, F, N], Matter::Covenant);
    assert!(t.cast.participation_area.passed);
    assert_eq!(t.outcome(), Outcome::Passed);
}

#[test]
fn participation_one_head_under_two_thirds_fails_however_large_the_area() {
    // 6 heads of 9 take part → exactly 2/3 passes; 5 of 9 fails even with
    // almost all the area.
    let areas = [1_000_000, 1, 1, 1, 1, 1, 1, 1, 1];
    let t = tally_of(&areas, &[F, F, F, F, F, F, N, N, N], Matter::Covenant);
    assert_eq!(t.cast.participation_heads.fraction, Fraction::new(6, 9));
    assert_eq!(t.outcome(), Outcome::Passed);
    let t = tally_of(&areas, &[F, F, F, F, F, N, N, N, N], Matter::Covenant);
    assert!(t.cast.participation_area.passed);
    assert!(!t.cast.participation_heads.passed);
    assert_eq!(t.outcome(), Outcome::FailedParticipation);
    // One head over: 7 of 10.
    let t = tally_of(&[1; 10], &[F, F, F, F, F, F, F, N, N, N], Matter::Covenant);
    assert_eq!(t.outcome(), Outcome::Passed);
}

#[test]
fn approval_at_exactly_three_quarters_passes_for_matters_six_to_eight() {
    for matter in [
        Matter::RaiseMaintenanceFund,
        Matter::Rebuild,
        Matter::CommonParts,
    ] {
        let t = tally_of(&[100, 100, 100, 100], &[F, F, F, A], matter);
        assert_eq!(t.cast.approval_area.fraction, Fraction::new(300, 400));
        assert_eq!(t.cast.approval_area.percent, "75.00");
        assert_eq!(
            t.cast.approval_heads.threshold,
            Threshold::AtLeastThreeQuarters
        );
        assert_eq!(t.outcome(), Outcome::Passed, "{matter:?}");
        // One hundredth of a m² under three quarters on area: 29999/39999.
        let t = tally_of(&[10_000, 10_000, 9_999, 10_000], &[F, F, F, A], matter);
        assert_eq!(t.cast.approval_area.fraction, Fraction::new(29_999, 39_999));
        assert!(!t.cast.approval_area.passed);
        assert!(t.cast.approval_heads.passed);
        assert_eq!(t.outcome(), Outcome::FailedApproval);
        // One over on area: 30001/40001.
        let t = tally_of(&[10_000, 10_000, 10_001, 10_000], &[F, F, F, A], matter);
        assert!(t.cast.approval_area.passed);
        assert_eq!(t.outcome(), Outcome::Passed);
    }
}

#[test]
fn approval_one_head_under_three_quarters_fails() {
    // 5 of 7 heads (71.43%) approve with nearly all the area.
    let t = tally_of(
        &[1_000, 1_000, 1_000, 1_000, 1_000, 1, 1],
        &[F, F, F, F, F, A, A],
        Matter::Rebuild,
    );
    assert!(t.cast.approval_area.passed);
    assert!(!t.cast.approval_heads.passed);
    assert_eq!(t.cast.approval_heads.percent, "71.43");
    assert_eq!(t.outcome(), Outcome::FailedApproval);
    // The same ballots pass an ordinary matter.
    let t = tally_of(
        &[1_000, 1_000, 1_000, 1_000, 1_000, 1, 1],
        &[F, F, F, F, F, A, A],
        Matter::OwnersCommittee,
    );
    assert_eq!(t.outcome(), Outcome::Passed);
}

#[test]
fn approval_at_exactly_half_fails_for_other_matters() {
    for matter in [
        Matter::RulesOfProcedure,
        Matter::Covenant,
        Matter::OwnersCommittee,
        Matter::PropertyManager,
        Matter::UseMaintenanceFund,
        Matter::OtherMajor,
    ] {
        // Half on both measures.
        let t = tally_of(&[100, 100, 100, 100], &[F, F, A, A], matter);
        assert_eq!(t.cast.approval_area.percent, "50.00");
        assert!(!t.cast.approval_area.passed);
        assert!(!t.cast.approval_heads.passed);
        assert_eq!(t.outcome(), Outcome::FailedApproval);
        // Half the heads, more than half the area: still fails.
        let t = tally_of(&[100, 101, 100, 100], &[F, F, A, A], matter);
        assert!(t.cast.approval_area.passed);
        assert!(!t.cast.approval_heads.passed);
        assert_eq!(t.outcome(), Outcome::FailedApproval);
        // Half the area (200 of 400) with 3 of 4 heads: fails.
        let t = tally_of(&[100, 50, 50, 200], &[F, F, F, A], matter);
        assert_eq!(t.cast.approval_area.fraction, Fraction::new(200, 400));
        assert!(t.cast.approval_heads.passed);
        assert_eq!(t.outcome(), Outcome::FailedApproval);
        // One hundredth of a m² over half, one head over half.
        let t = tally_of(&[100, 101, 100], &[F, F, A], matter);
        assert_eq!(t.outcome(), Outcome::Passed);
        let t = tally_of(&[10_001, 10_000], &[F, A], matter);
        assert_eq!(t.cast.approval_area.percent, "50.00");
        assert!(t.cast.approval_area.passed);
        assert!(
            !t.cast.approval_heads.passed,
            "1 of 2 heads is not more than half"
        );
        // Thin area lead, clear head lead: 10001 of 20001, 2 of 3.
        let t = tally_of(&[5_000, 5_001, 10_000], &[F, F, A], matter);
        assert_eq!(t.cast.approval_area.percent, "50.00");
        assert_eq!(t.outcome(), Outcome::Passed);
    }
}

#[test]
fn failed_participation_is_reported_before_failed_approval() {
    let t = tally_of(&[100, 100, 100], &[A, N, N], Matter::Covenant);
    assert!(!t.cast.approval_area.passed);
    assert_eq!(t.outcome(), Outcome::FailedParticipation);
}

#[test]
fn nobody_voting_fails_participation_and_shows_zero_percent() {
    let t = tally_of(&[100, 100], &[N, N], Matter::Covenant);
    assert_eq!(t.cast.approval_area.fraction, Fraction::new(0, 0));
    assert_eq!(t.cast.approval_area.percent, "0.00");
    assert!(!t.cast.approval_area.passed);
    assert_eq!(t.outcome(), Outcome::FailedParticipation);
}

#[test]
fn percentages_are_exact_with_two_decimals_rounded_half_up() {
    let cases = [
        (0, 1, "0.00"),
        (1, 1, "100.00"),
        (2, 3, "66.67"),
        (1, 3, "33.33"),
        (1, 8, "12.50"),
        (1, 20_000, "0.01"),        // 0.005 → up
        (1, 20_001, "0.00"),        // just under 0.005
        (1, 16_000, "0.01"),        // 0.00625
        (1, 80_000, "0.00"),        // 0.00125
        (66_665, 100_000, "66.67"), // 66.665 → up
        (6_666, 10_000, "66.66"),
        (50_001, 100_000, "50.00"),
        (u64::MAX - 1, u64::MAX, "100.00"),
        (u64::MAX / 2, u64::MAX, "50.00"),
    ];
    for (n, d, s) in cases {
        assert_eq!(Fraction::new(n, d).percent(), s, "{n}/{d}");
    }
}

#[test]
fn thresholds_compare_exactly_near_u64_max() {
    let d = u64::MAX;
    // 2/3 of u64::MAX is an integer (u64::MAX is divisible by 3).
    assert!(Threshold::AtLeastTwoThirds.met_by(Fraction::new(d / 3 * 2, d)));
    assert!(!Threshold::AtLeastTwoThirds.met_by(Fraction::new(d / 3 * 2 - 1, d)));
    assert!(Threshold::MoreThanHalf.met_by(Fraction::new(d / 2 + 1, d)));
    assert!(!Threshold::MoreThanHalf.met_by(Fraction::new(d / 2, d)));
    assert!(!Threshold::MoreThanHalf.met_by(Fraction::new(0, 0)));
}

// ---------------------------------------------------------------------------
// Deemed votes

fn tally_deemed(areas: &[u64], choices: &[Option<Choice>], matter: Matter) -> Tally {
    let mut ballots = BallotBox::open(electorate(areas));
    for (i, c) in choices.iter().enumerate() {
        if let Some(c) = c {
            ballots.cast(&sole(i as i64), *c).unwrap();
        }
    }
    ballots.close();
    ballots.tally(matter, DeemedVotes::FollowMajority).unwrap()
}

#[test]
fn deemed_votes_are_off_by_default() {
    assert_eq!(DeemedVotes::default(), DeemedVotes::Off);
    let t = tally_of(
        &[100; 10],
        &[F, F, F, N, N, N, N, N, N, N],
        Matter::Covenant,
    );
    assert_eq!(t.deemed, None);
    assert_eq!(t.outcome(), Outcome::FailedParticipation);
}

#[test]
fn non_voters_follow_the_majority_and_are_shown_apart() {
    let t = tally_deemed(
        &[100; 10],
        &[F, F, F, A, N, N, N, N, N, N],
        Matter::Covenant,
    );
    assert_eq!(t.cast.outcome, Outcome::FailedParticipation);
    assert_eq!(t.cast.counts.for_.heads, 3);
    let d = t.deemed.as_ref().unwrap();
    assert_eq!(d.choice, Some(Choice::For));
    assert_eq!(
        d.count,
        Count {
            area_centi_m2: 600,
            heads: 6
        }
    );
    assert_eq!(d.assessment.counts.for_.heads, 9);
    assert_eq!(d.assessment.participating.heads, 10);
    assert_eq!(d.assessment.outcome, Outcome::Passed);
    assert_eq!(t.outcome(), Outcome::Passed);
}

#[test]
fn with_no_majority_on_both_measures_nobody_is_deemed() {
    // For leads on area, against on heads.
    let t = tally_deemed(
        &[500, 100, 100, 100, 100, 100],
        &[F, A, A, N, N, N],
        Matter::Covenant,
    );
    let d = t.deemed.as_ref().unwrap();
    assert_eq!(d.choice, None);
    assert_eq!(d.count, Count::default());
    assert_eq!(d.assessment, t.cast);
    // A tie.
    let t = tally_deemed(&[100; 4], &[F, A, N, N], Matter::Covenant);
    assert_eq!(t.deemed.unwrap().choice, None);
}

#[test]
fn when_abstention_leads_non_voters_abstain() {
    let t = tally_deemed(
        &[100; 10],
        &[F, X, X, X, N, N, N, N, N, N],
        Matter::Covenant,
    );
    let d = t.deemed.unwrap();
    assert_eq!(d.choice, Some(Choice::Abstain));
    assert!(d.assessment.participation_heads.passed);
    assert_eq!(d.assessment.outcome, Outcome::FailedApproval);
}

#[test]
fn against_majority_carries_non_voters_against() {
    let t = tally_deemed(&[100; 6], &[A, A, F, N, N, N], Matter::RaiseMaintenanceFund);
    let d = t.deemed.unwrap();
    assert_eq!(d.choice, Some(Choice::Against));
    assert_eq!(d.assessment.counts.against.heads, 5);
    assert_eq!(d.assessment.outcome, Outcome::FailedApproval);
}

// ---------------------------------------------------------------------------
// Property tests against a reference tally

mod reference {
    //! A second tally, written apart: owners grouped through a map keyed by
    //! sorted owner lists, ballots replayed into a map, fractions compared by
    //! continued-fraction expansion (no multiplication), percentages by long
    //! division.

    use std::cmp::Ordering;
    use std::collections::{BTreeMap, BTreeSet};

    use jinlin_deliberation::vote::{Choice, Matter, OwnerKey};

    /// Compares a/b with c/d (b, d > 0) by their continued fractions.
    pub fn cmp_ratio(a: u128, b: u128, c: u128, d: u128) -> Ordering {
        let (qa, qc) = (a / b, c / d);
        if qa != qc {
            return qa.cmp(&qc);
        }
        let (ra, rc) = (a % b, c % d);
        match (ra, rc) {
            (0, 0) => Ordering::Equal,
            (0, _) => Ordering::Less,
            (_, 0) => Ordering::Greater,
            // ra/b vs rc/d is d/rc vs b/ra.
            _ => cmp_ratio(d, rc, b, ra),
        }
    }

    pub fn percent(n: u128, d: u128) -> String {
        if d == 0 {
            return "0.00".into();
        }
        let mut digits = Vec::new();
        let whole = 100 * n / d;
        let mut rem = 100 * n % d;
        for _ in 0..2 {
            rem *= 10;
            digits.push(rem / d);
            rem %= d;
        }
        // Half up: the rest is at least half a hundredth.
        let mut value = whole * 100 + digits[0] * 10 + digits[1];
        if rem * 10 / d >= 5 {
            value += 1;
        }
        format!("{}.{}{}", value / 100, (value / 10) % 10, value % 10)
    }

    #[derive(Debug, PartialEq, Eq)]
    pub struct Figures {
        pub participation: [(u128, u128, bool); 2],
        pub approval: [(u128, u128, bool); 2],
        pub percents: [String; 4],
        pub passed: bool,
        pub failed_participation: bool,
    }

    pub struct Result {
        pub total: (u128, u128),
        pub cast: [(u128, u128); 3],
        pub plain: Figures,
        pub deemed_choice: Option<Choice>,
        pub deemed: Figures,
    }

    fn figures(matter: Matter, total: (u128, u128), by: [(u128, u128); 3]) -> Figures {
        let part = (by[0].0 + by[1].0 + by[2].0, by[0].1 + by[1].1 + by[2].1);
        let at_least = |n, d, a, b| d > 0 && cmp_ratio(n, d, a, b) != Ordering::Less;
        let above = |n, d, a, b| d > 0 && cmp_ratio(n, d, a, b) == Ordering::Greater;
        let p_area = at_least(part.0, total.0, 2, 3);
        let p_heads = at_least(part.1, total.1, 2, 3);
        let six_to_eight = matches!(matter.number(), 6..=8);
        let approve = |n, d| {
            if six_to_eight {
                at_least(n, d, 3, 4)
            } else {
                above(n, d, 1, 2)
            }
        };
        let a_area = approve(by[0].0, part.0);
        let a_heads = approve(by[0].1, part.1);
        Figures {
            participation: [(part.0, total.0, p_area), (part.1, total.1, p_heads)],
            approval: [(by[0].0, part.0, a_area), (by[0].1, part.1, a_heads)],
            percents: [
                percent(part.0, total.0),
                percent(part.1, total.1),
                percent(by[0].0, part.0),
                percent(by[0].1, part.1),
            ],
            passed: p_area && p_heads && a_area && a_heads,
            failed_participation: !(p_area && p_heads),
        }
    }

    /// `units`: (area, owners); `ballots`: (owners, choice), outsiders
    /// included (they must be ignored).
    pub fn tally(
        matter: Matter,
        units: &[(u64, Vec<OwnerKey>)],
        ballots: &[(Vec<OwnerKey>, Choice)],
    ) -> Result {
        let key = |owners: &Vec<OwnerKey>| owners.iter().cloned().collect::<BTreeSet<_>>();
        let mut area_of: BTreeMap<BTreeSet<OwnerKey>, u128> = BTreeMap::new();
        for (area, owners) in units {
            *area_of.entry(key(owners)).or_default() += u128::from(*area);
        }
        let mut latest: BTreeMap<BTreeSet<OwnerKey>, Choice> = BTreeMap::new();
        for (owners, choice) in ballots {
            let k = key(owners);
            if area_of.contains_key(&k) {
                latest.insert(k, *choice);
            }
        }
        let total = (area_of.values().sum::<u128>(), area_of.len() as u128);
        let order = [Choice::For, Choice::Against, Choice::Abstain];
        let mut cast = [(0u128, 0u128); 3];
        for (k, choice) in &latest {
            let i = order.iter().position(|c| c == choice).unwrap();
            cast[i].0 += area_of[k];
            cast[i].1 += 1;
        }
        let plain = figures(matter, total, cast);
        let mut leader = None;
        for i in 0..3 {
            let beats_all = (0..3)
                .filter(|&j| j != i)
                .all(|j| cast[i].0 > cast[j].0 && cast[i].1 > cast[j].1);
            if beats_all {
                leader = Some(i);
            }
        }
        let mut with = cast;
        if let Some(i) = leader {
            let voted: (u128, u128) = latest
                .keys()
                .fold((0, 0), |acc, k| (acc.0 + area_of[k], acc.1 + 1));
            with[i].0 += total.0 - voted.0;
            with[i].1 += total.1 - voted.1;
        }
        Result {
            total,
            cast,
            plain,
            deemed_choice: leader.map(|i| order[i]),
            deemed: figures(matter, total, with),
        }
    }
}

fn figures_of(a: &Assessment) -> reference::Figures {
    let w = |c: &Check| {
        (
            u128::from(c.fraction.numerator),
            u128::from(c.fraction.denominator),
            c.passed,
        )
    };
    reference::Figures {
        participation: [w(&a.participation_area), w(&a.participation_heads)],
        approval: [w(&a.approval_area), w(&a.approval_heads)],
        percents: [
            a.participation_area.percent.clone(),
            a.participation_heads.percent.clone(),
            a.approval_area.percent.clone(),
            a.approval_heads.percent.clone(),
        ],
        passed: a.outcome == Outcome::Passed,
        failed_participation: a.outcome == Outcome::FailedParticipation,
    }
}

fn owner_key() -> impl Strategy<Value = OwnerKey> {
    prop_oneof![
        4 => (0i64..6).prop_map(OwnerKey::Person),
        1 => (0u8..3).prop_map(|i| OwnerKey::Company(format!("company {i}"))),
    ]
}

/// A unit's owners: the developer alone, or one to three people and
/// companies (shared by other units often, as the pools are small).
fn owners() -> impl Strategy<Value = Vec<OwnerKey>> {
    prop_oneof![
        1 => Just(vec![OwnerKey::Developer]),
        4 => prop::collection::vec(owner_key(), 1..=3),
    ]
}

fn area() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => 1u64..=3,
        6 => 1u64..=20_000,
        1 => 1u64..=10_000_000,
    ]
}

fn choice() -> impl Strategy<Value = Choice> {
    prop::sample::select(Choice::ALL.to_vec())
}

fn matter() -> impl Strategy<Value = Matter> {
    prop::sample::select(Matter::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn the_tally_agrees_with_the_reference(
        units in prop::collection::vec((area(), owners()), 1..25),
        ballots in prop::collection::vec((owners(), choice()), 0..60),
        matter in matter(),
    ) {
        let electorate = Electorate::new(units.iter().enumerate().map(|(i, (a, o))| Unit {
            unit_id: i as i64 * 7 + 3,
            area_centi_m2: *a,
            owner: OwnerGroup::new(o.clone()).unwrap(),
        }))
        .unwrap();
        let mut ballots_box = BallotBox::open(electorate);
        for (owners, choice) in &ballots {
            let group = OwnerGroup::new(owners.clone()).unwrap();
            let known = units.iter().any(|(_, o)| OwnerGroup::new(o.clone()).unwrap() == group);
            let r = ballots_box.cast(&group, *choice);
            prop_assert_eq!(r.is_ok(), known);
            if !known {
                prop_assert_eq!(r, Err(BallotError::NotInElectorate));
            }
        }
        ballots_box.close();
        let t = ballots_box.tally(matter, DeemedVotes::FollowMajority).unwrap();
        let plain = ballots_box.tally(matter, DeemedVotes::Off).unwrap();
        let r = reference::tally(matter, &units, &ballots);

        prop_assert_eq!(
            (u128::from(t.total.area_centi_m2), u128::from(t.total.heads)),
            r.total
        );
        let c = t.cast.counts;
        let counts = [c.for_, c.against, c.abstain]
            .map(|x| (u128::from(x.area_centi_m2), u128::from(x.heads)));
        prop_assert_eq!(counts, r.cast);
        prop_assert_eq!(figures_of(&t.cast), r.plain);
        prop_assert_eq!(&plain.cast, &t.cast);
        prop_assert_eq!(&plain.deemed, &None);
        prop_assert_eq!(plain.outcome(), t.cast.outcome);

        let d = t.deemed.as_ref().unwrap();
        prop_assert_eq!(d.choice, r.deemed_choice);
        prop_assert_eq!(figures_of(&d.assessment), r.deemed);
        prop_assert_eq!(t.outcome(), d.assessment.outcome);
        // Deemed figures are apart: cast plus deemed make the combined counts.
        let deemed_in = |ch: Choice| if d.choice == Some(ch) { d.count } else { Count::default() };
        for ch in Choice::ALL {
            let (cast, with, extra) = (t.cast.counts.get(ch), d.assessment.counts.get(ch), deemed_in(ch));
            prop_assert_eq!(with.area_centi_m2, cast.area_centi_m2 + extra.area_centi_m2);
            prop_assert_eq!(with.heads, cast.heads + extra.heads);
        }
    }

    #[test]
    fn percent_agrees_with_long_division(n in any::<u64>(), d in 1u64..) {
        let (n, d) = (n.min(d), d);
        prop_assert_eq!(
            Fraction::new(n, d).percent(),
            reference::percent(u128::from(n), u128::from(d))
        );
    }

    #[test]
    fn percent_agrees_with_long_division_on_small_and_halfway_fractions(
        n in 0u64..=100_000,
        d in 1u64..=100_000,
        hundredths in 0u64..10_000,
        k in 1u64..1_000_000,
    ) {
        let (n, d) = (n.min(d), d);
        prop_assert_eq!(
            Fraction::new(n, d).percent(),
            reference::percent(u128::from(n), u128::from(d))
        );
        // Exactly halfway between two hundredths of a per cent: rounds up.
        let halfway = Fraction::new((2 * hundredths + 1) * k, 20_000 * k);
        let up = hundredths + 1;
        prop_assert_eq!(halfway.percent(), format!("{}.{:02}", up / 100, up % 100));
        prop_assert_eq!(
            halfway.percent(),
            reference::percent(u128::from(halfway.numerator), u128::from(halfway.denominator))
        );
    }

    #[test]
    fn thresholds_agree_with_continued_fractions(n in any::<u64>(), d in 1u64..) {
        use std::cmp::Ordering::*;
        let (n, d) = (u128::from(n.min(d)), u128::from(d));
        let f = Fraction::new(n as u64, d as u64);
        prop_assert_eq!(Threshold::AtLeastTwoThirds.met_by(f), reference::cmp_ratio(n, d, 2, 3) != Less);
        prop_assert_eq!(Threshold::AtLeastThreeQuarters.met_by(f), reference::cmp_ratio(n, d, 3, 4) != Less);
        prop_assert_eq!(Threshold::MoreThanHalf.met_by(f), reference::cmp_ratio(n, d, 1, 2) == Greater);
    }
}

// ---------------------------------------------------------------------------
// The ballot log

fn record(seq: u64, voter: OwnerGroup, choice: Choice) -> BallotRecord {
    BallotRecord {
        vote_id: 42,
        voter,
        choice,
        sequence: seq,
        cast_at: 1_700_000_000 + seq as i64 * 61,
        nonce: [seq as u8; 16],
    }
}

fn log(records: Vec<BallotRecord>) -> Vec<LoggedBallot> {
    let mut prev = GENESIS;
    records
        .into_iter()
        .map(|r| {
            let entry = LoggedBallot::seal(&prev, r);
            prev = entry.hash;
            entry
        })
        .collect()
}

fn sample_log() -> Vec<LoggedBallot> {
    log(vec![
        record(1, sole(1), Choice::For),
        record(
            2,
            OwnerGroup::new([person(2), person(3)]).unwrap(),
            Choice::Against,
        ),
        record(3, OwnerGroup::developer(), Choice::Abstain),
        record(
            4,
            OwnerGroup::sole(OwnerKey::Company("公司".into())),
            Choice::For,
        ),
        record(5, sole(1), Choice::Against),
    ])
}

#[test]
fn chain_hash_is_sha256_of_prev_and_bytes() {
    // SHA-256 of 32 zero bytes.
    assert_eq!(
        hex_of(&chain_hash(&GENESIS, b"")),
        "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925"
    );
    let h = chain_hash(&GENESIS, b"abc");
    assert_ne!(h, chain_hash(&[1; 32], b"abc"));
    assert_ne!(h, chain_hash(&GENESIS, b"abd"));
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn canonical_bytes_are_fixed() {
    let r = BallotRecord {
        vote_id: 1,
        voter: OwnerGroup::new([person(2), OwnerKey::Company("ab".into())]).unwrap(),
        choice: Choice::Against,
        sequence: 3,
        cast_at: -1,
        nonce: [7; 16],
    };
    let mut expected = b"jinlin-ballot-v2".to_vec();
    expected.extend([0, 0, 0, 0, 0, 0, 0, 1]);
    expected.extend([0, 0, 0, 2]);
    expected.extend([1, 0, 0, 0, 0, 0, 0, 0, 2]);
    expected.extend([2, 0, 0, 0, 2, b'a', b'b']);
    expected.push(2);
    expected.extend([0, 0, 0, 0, 0, 0, 0, 3]);
    expected.extend([0xff; 8]);
    expected.extend([7; 16]);
    assert_eq!(r.canonical_bytes(), expected);
}

#[test]
fn an_intact_log_verifies() {
    assert_eq!(verify_chain(&[]), Ok(()));
    assert_eq!(verify_chain(&sample_log()), Ok(()));
}

#[test]
fn changing_any_field_of_any_record_is_detected_at_that_record() {
    let good = sample_log();
    type Change = fn(&mut BallotRecord);
    let changes: [Change; 8] = [
        |r| r.nonce[3] ^= 1,
        |r| r.vote_id += 1,
        |r| r.voter = sole(999),
        |r| r.voter = OwnerGroup::new([person(2)]).unwrap(),
        |r| {
            r.choice = match r.choice {
                Choice::For => Choice::Against,
                _ => Choice::For,
            }
        },
        |r| r.sequence += 1,
        |r| r.cast_at += 1,
        |r| r.cast_at = -r.cast_at,
    ];
    for index in 0..good.len() {
        for change in changes {
            let mut bad = good.clone();
            change(&mut bad[index].record);
            if bad[index].record == good[index].record {
                continue;
            }
            let err = verify_chain(&bad).unwrap_err();
            assert_eq!(err.index, index);
        }
        let mut bad = good.clone();
        bad[index].hash[7] ^= 1;
        assert_eq!(
            verify_chain(&bad),
            Err(ChainError {
                index,
                fault: ChainFault::Hash
            })
        );
    }
}

#[test]
fn reordering_removing_or_inserting_records_is_detected() {
    let good = sample_log();
    for i in 0..good.len() {
        for j in i + 1..good.len() {
            let mut bad = good.clone();
            bad.swap(i, j);
            assert_eq!(verify_chain(&bad).unwrap_err().index, i);
        }
        let mut bad = good.clone();
        bad.remove(i);
        if i < bad.len() {
            assert_eq!(verify_chain(&bad).unwrap_err().index, i);
        } else {
            // Dropping the tail leaves a valid shorter log: the published
            // head hash is what shows it.
            assert_eq!(verify_chain(&bad), Ok(()));
            assert_ne!(bad.last().unwrap().hash, good.last().unwrap().hash);
        }
    }
    // Records resequenced and resealed after a change give another head.
    let mut records: Vec<BallotRecord> = good.iter().map(|e| e.record.clone()).collect();
    records[1].choice = Choice::For;
    let forged = log(records);
    assert_eq!(verify_chain(&forged), Ok(()));
    assert_ne!(forged.last().unwrap().hash, good.last().unwrap().hash);
}

proptest! {
    #[test]
    fn any_change_to_a_random_log_is_detected(
        entries in prop::collection::vec((owners(), choice(), 0i64..1_000_000), 1..20),
        at in any::<prop::sample::Index>(),
        what in 0u8..5,
        other in owners(),
    ) {
        let records: Vec<BallotRecord> = entries
            .iter()
            .enumerate()
            .map(|(i, (o, c, t))| BallotRecord {
                vote_id: 9,
                voter: OwnerGroup::new(o.clone()).unwrap(),
                choice: *c,
                sequence: i as u64 + 1,
                cast_at: *t,
                nonce: [i as u8; 16],
            })
            .collect();
        let good = log(records);
        prop_assert_eq!(verify_chain(&good), Ok(()));
        let i = at.index(good.len());
        let mut bad = good.clone();
        let r = &mut bad[i].record;
        match what {
            0 => r.voter = OwnerGroup::new(other).unwrap(),
            1 => r.choice = Choice::ALL[(Choice::ALL.iter().position(|c| *c == r.choice).unwrap() + 1) % 3],
            2 => r.cast_at ^= 1 << 20,
            3 => r.sequence = r.sequence.wrapping_add(1),
            _ => r.vote_id = 10,
        }
        prop_assume!(bad[i].record != good[i].record);
        prop_assert_eq!(verify_chain(&bad).unwrap_err().index, i);
    }
}

#[test]
fn the_opening_hash_changes_with_anything_fixed_at_the_opening() {
    let header = VoteHeader {
        vote_id: 7,
        matter: Matter::PropertyManager,
        deemed: DeemedVotes::Off,
        opened_at: 1_700_000_000,
        closes_at: 1_700_600_000,
    };
    let units = vec![
        unit(1, 8_950, sole(1)),
        unit(2, 12_000, OwnerGroup::developer()),
    ];
    let base = header.opening_hash(&units);
    // The order units are listed in does not matter; their contents do.
    let mut reversed = units.clone();
    reversed.reverse();
    assert_eq!(header.opening_hash(&reversed), base);
    let mut changed = units.clone();
    changed[0].area_centi_m2 += 1;
    assert_ne!(header.opening_hash(&changed), base);
    let mut changed = units.clone();
    changed[1].owner = sole(3);
    assert_ne!(header.opening_hash(&changed), base);
    assert_ne!(header.opening_hash(&units[..1]), base);
    for other in [
        VoteHeader {
            vote_id: 8,
            ..header.clone()
        },
        VoteHeader {
            matter: Matter::Rebuild,
            ..header.clone()
        },
        VoteHeader {
            deemed: DeemedVotes::FollowMajority,
            ..header.clone()
        },
        VoteHeader {
            opened_at: 1_700_000_001,
            ..header.clone()
        },
        VoteHeader {
            closes_at: 1_700_000_001,
            ..header.clone()
        },
    ] {
        assert_ne!(other.opening_hash(&units), base);
    }
    // A log sealed after the opening hash verifies from it, not from zero.
    let mut prev = base;
    let sealed: Vec<LoggedBallot> = (1..=3)
        .map(|i| {
            let entry = LoggedBallot::seal(&prev, record(i, sole(1), Choice::For));
            prev = entry.hash;
            entry
        })
        .collect();
    assert_eq!(verify_chain_from(&base, &sealed), Ok(()));
    assert_eq!(verify_chain(&sealed).unwrap_err().index, 0);
}
