//! The rating rules, pure: item weights, the weighted total in hundredths of
//! a point, ranking, star bands by rank percentile, red and black lists.
//!
//! Scores are whole points 0–100 (residents and panel alike). Totals are
//! kept in hundredths of a point (0–10,000) and computed exactly from
//! integer sums, rounded half up once at the end, so equal inputs always
//! give equal totals and a boundary is never missed by a float error.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The date in China Standard Time (UTC+8), in which deadlines are set
/// and read.
pub fn china_today(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&jinlin_kernel::time::china())
        .date_naive()
}

/// Highest score of one item.
pub const MAX_SCORE: i64 = 100;
/// Highest total, in hundredths of a point.
pub const MAX_TOTAL_CENTI: i64 = MAX_SCORE * 100;
/// Items a campaign may have.
pub const MAX_ITEMS: usize = 20;
/// Highest weight of one item.
pub const MAX_WEIGHT: i64 = 100;

/// Why an input is refused; `key` names the message in the locale file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid {
    pub key: &'static str,
}

fn invalid<T>(key: &'static str) -> Result<T, Invalid> {
    Err(Invalid { key })
}

/// Whom a campaign rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = RatingSubjectKind)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    OwnersCommittee,
    PropertyCompany,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::OwnersCommittee => "owners_committee",
            SubjectKind::PropertyCompany => "property_company",
        }
    }

    pub fn parse(s: &str) -> Option<SubjectKind> {
        [SubjectKind::OwnersCommittee, SubjectKind::PropertyCompany]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// A campaign's life: draft (items editable) → open (responses and panel
/// scores) → closed (results computed and stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = RatingCampaignState)]
#[serde(rename_all = "snake_case")]
pub enum CampaignState {
    Draft,
    Open,
    Closed,
}

impl CampaignState {
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignState::Draft => "draft",
            CampaignState::Open => "open",
            CampaignState::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<CampaignState> {
        [
            CampaignState::Draft,
            CampaignState::Open,
            CampaignState::Closed,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// Red list (commended) or black list (to rectify).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = RatingListMark)]
#[serde(rename_all = "snake_case")]
pub enum ListMark {
    Red,
    Black,
}

impl ListMark {
    pub fn as_str(self) -> &'static str {
        match self {
            ListMark::Red => "red",
            ListMark::Black => "black",
        }
    }

    pub fn parse(s: &str) -> Option<ListMark> {
        match s {
            "red" => Some(ListMark::Red),
            "black" => Some(ListMark::Black),
            _ => None,
        }
    }
}

/// The weighting and list thresholds of a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scheme {
    /// Residents' share of the total in percent; the panel has the rest.
    pub residents_weight: i64,
    /// A total at or above this (hundredths) puts a subject on the red list.
    pub red_threshold_centi: i64,
    /// A total below this (hundredths) puts a subject on the black list.
    pub black_threshold_centi: i64,
}

impl Scheme {
    pub fn check(self) -> Result<Scheme, Invalid> {
        if !(0..=100).contains(&self.residents_weight) {
            return invalid("ratings.error.residents_weight");
        }
        let in_range = |t: i64| (0..=MAX_TOTAL_CENTI).contains(&t);
        if !in_range(self.red_threshold_centi) || !in_range(self.black_threshold_centi) {
            return invalid("ratings.error.threshold_range");
        }
        if self.black_threshold_centi >= self.red_threshold_centi {
            return invalid("ratings.error.black_below_red");
        }
        Ok(self)
    }

    pub fn panel_weight(self) -> i64 {
        100 - self.residents_weight
    }

    /// The list a total puts a subject on, if any.
    pub fn list(self, total_centi: i64) -> Option<ListMark> {
        if total_centi >= self.red_threshold_centi {
            Some(ListMark::Red)
        } else if total_centi < self.black_threshold_centi {
            Some(ListMark::Black)
        } else {
            None
        }
    }
}

pub fn check_weight(w: i64) -> Result<i64, Invalid> {
    if (1..=MAX_WEIGHT).contains(&w) {
        Ok(w)
    } else {
        invalid("ratings.error.weight")
    }
}

pub fn check_score(s: i64) -> Result<i64, Invalid> {
    if (0..=MAX_SCORE).contains(&s) {
        Ok(s)
    } else {
        invalid("ratings.error.score_range")
    }
}

/// Checks a name (item or period label): trimmed, 1–64 characters.
pub fn check_label(s: &str) -> Result<String, Invalid> {
    let t = s.trim();
    if t.is_empty() || t.chars().count() > 64 {
        return invalid("ratings.error.label");
    }
    Ok(t.to_string())
}

/// Checks one set of scores against the campaign's items: every item scored
/// exactly once, no unknown item, each score 0–100. Returns the scores in
/// the order of `item_ids`.
pub fn check_scores(item_ids: &[i64], given: &[(i64, i64)]) -> Result<Vec<i64>, Invalid> {
    for (item, score) in given {
        if !item_ids.contains(item) {
            return invalid("ratings.error.unknown_item");
        }
        check_score(*score)?;
    }
    let mut out = Vec::with_capacity(item_ids.len());
    for id in item_ids {
        let mut found = given.iter().filter(|(i, _)| i == id);
        match (found.next(), found.next()) {
            (Some((_, s)), None) => out.push(*s),
            (None, _) => return invalid("ratings.error.item_missing"),
            (Some(_), Some(_)) => return invalid("ratings.error.item_twice"),
        }
    }
    Ok(out)
}

/// Parses points written by a person ("85", "85.5", "85.25") into
/// hundredths of a point.
pub fn parse_points(s: &str) -> Option<i64> {
    let s = s.trim();
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, f),
        None => (s, ""),
    };
    if whole.is_empty()
        || whole.len() > 3
        || frac.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let frac: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<2}").parse().ok()?
    };
    Some(whole * 100 + frac)
}

/// Hundredths of a point as text: 8525 → "85.25".
pub fn format_centi(c: i64) -> String {
    format!("{}.{:02}", c / 100, c % 100)
}

/// What one subject collected during the campaign. `resident_sums[i]` is
/// the sum of residents' scores of item `i` over `responses` responses (every
/// response scores every item); `panel[i]` the panel's score of item `i`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collected {
    pub responses: i64,
    pub resident_sums: Vec<i64>,
    pub panel: Option<Vec<i64>>,
}

/// A subject's computed scores, all in hundredths of a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scores {
    pub residents_centi: Option<i64>,
    pub panel_centi: Option<i64>,
    /// None when a part with a weight above zero has no data: unrated.
    pub total_centi: Option<i64>,
}

/// `num / den` rounded half up (both non-negative, `den` > 0).
fn round_div(num: i128, den: i128) -> i64 {
    ((2 * num + den) / (2 * den)) as i64
}

/// The residents' weighted average, the panel's weighted score and the
/// weighted total of one subject, exactly:
///
/// total = [rw · Σ wᵢ·Sᵢ + (100 − rw) · n · Σ wᵢ·pᵢ] / (n · Σ wᵢ), in hundredths,
///
/// where Sᵢ is the sum of residents' scores of item i over n responses, pᵢ the
/// panel's score and rw the residents' weight in percent; one rounding, half
/// up, at the end. A part whose weight is zero is not needed; a part with
/// weight but without data leaves the subject unrated.
pub fn score(weights: &[i64], scheme: Scheme, c: &Collected) -> Scores {
    let w_sum: i128 = weights.iter().map(|w| *w as i128).sum();
    if w_sum == 0 {
        return Scores {
            residents_centi: None,
            panel_centi: None,
            total_centi: None,
        };
    }
    let n = c.responses as i128;
    let resident_num: i128 = weights
        .iter()
        .zip(&c.resident_sums)
        .map(|(w, s)| *w as i128 * *s as i128)
        .sum();
    let panel_num: Option<i128> = c.panel.as_ref().map(|p| {
        weights
            .iter()
            .zip(p)
            .map(|(w, s)| *w as i128 * *s as i128)
            .sum()
    });
    let residents_centi = (n > 0).then(|| round_div(100 * resident_num, n * w_sum));
    let panel_centi = panel_num.map(|p| round_div(100 * p, w_sum));
    let rw = scheme.residents_weight as i128;
    let pw = 100 - rw;
    let total_centi = match (n > 0, panel_num) {
        _ if rw > 0 && n == 0 => None,
        (_, None) if pw > 0 => None,
        (true, p) => {
            let p = p.unwrap_or(0);
            Some(round_div(rw * resident_num + pw * n * p, n * w_sum))
        }
        (false, Some(p)) => Some(round_div(100 * p, w_sum)),
        (false, None) => None,
    };
    Scores {
        residents_centi,
        panel_centi,
        total_centi,
    }
}

/// Competition ranks ("1224"): a subject's rank is one more than the number
/// of subjects with a strictly higher total, so equal totals (to the
/// hundredth) share a rank and the next rank is skipped.
pub fn ranks(totals: &[i64]) -> Vec<usize> {
    totals
        .iter()
        .map(|t| 1 + totals.iter().filter(|o| *o > t).count())
        .collect()
}

/// Stars of rank `rank` (1-based) among `n` rated subjects. The percentile
/// of a rank is the share of subjects strictly ahead of it, (rank − 1) / n:
/// below 10 % → 5 stars, below 25 % → 4, below 85 % → 3, below 97 % → 2,
/// the rest 0 (unrated). The first-ranked subject is always five-star; the
/// number of subjects at or above each band's floor is ⌈share · n⌉ when
/// totals differ, so every band holds its share rounded up at the edge.
pub fn stars(rank: usize, n: usize) -> u8 {
    if rank == 0 || n == 0 || rank > n {
        return 0;
    }
    let ahead = (rank as u128 - 1) * 100;
    let n = n as u128;
    if ahead < 10 * n {
        5
    } else if ahead < 25 * n {
        4
    } else if ahead < 85 * n {
        3
    } else if ahead < 97 * n {
        2
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn today_is_the_date_in_china() {
        let late = "2026-12-01T17:30:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(
            china_today(late),
            NaiveDate::from_ymd_opt(2026, 12, 2).unwrap()
        );
        let early = "2026-12-01T15:59:59Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(
            china_today(early),
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
        );
    }

    const SCHEME: Scheme = Scheme {
        residents_weight: 60,
        red_threshold_centi: 9000,
        black_threshold_centi: 6000,
    };

    #[test]
    fn weighted_total_is_exact() {
        // Two items weighted 3 and 1; residents 60 %, panel 40 %.
        let c = Collected {
            responses: 3,
            resident_sums: vec![270, 150], // averages 90 and 50
            panel: Some(vec![80, 100]),
        };
        let s = score(&[3, 1], SCHEME, &c);
        // residents: (3·90 + 50)/4 = 80; panel: (3·80 + 100)/4 = 85.
        assert_eq!(s.residents_centi, Some(8000));
        assert_eq!(s.panel_centi, Some(8500));
        // 0.6·80 + 0.4·85 = 82.
        assert_eq!(s.total_centi, Some(8200));
    }

    #[test]
    fn thirds_round_half_up_once() {
        let c = Collected {
            responses: 3,
            resident_sums: vec![200], // average 66.666…
            panel: None,
        };
        let all_residents = Scheme {
            residents_weight: 100,
            ..SCHEME
        };
        assert_eq!(score(&[1], all_residents, &c).total_centi, Some(6667));
        // The panel has weight but no scores: unrated.
        assert_eq!(score(&[1], SCHEME, &c).total_centi, None);
        let none = Collected {
            responses: 0,
            resident_sums: vec![0],
            panel: Some(vec![70]),
        };
        assert_eq!(score(&[1], SCHEME, &none).total_centi, None);
        let panel_only = Scheme {
            residents_weight: 0,
            ..SCHEME
        };
        assert_eq!(score(&[1], panel_only, &none).total_centi, Some(7000));
    }

    #[test]
    fn bands_for_small_groups() {
        assert_eq!(stars(1, 1), 5);
        assert_eq!(
            (1..=10).map(|r| stars(r, 10)).collect::<Vec<_>>(),
            vec![5, 4, 4, 3, 3, 3, 3, 3, 3, 2]
        );
        assert_eq!(
            // Rank 2 of 4 has exactly 25 % ahead of it: three stars.
            (1..=4).map(|r| stars(r, 4)).collect::<Vec<_>>(),
            vec![5, 3, 3, 3]
        );
        // Exact boundaries at n = 100: rank 11 is 10 % ahead → four stars.
        assert_eq!(stars(10, 100), 5);
        assert_eq!(stars(11, 100), 4);
        assert_eq!(stars(25, 100), 4);
        assert_eq!(stars(26, 100), 3);
        assert_eq!(stars(85, 100), 3);
        assert_eq!(stars(86, 100), 2);
        assert_eq!(stars(97, 100), 2);
        assert_eq!(stars(98, 100), 0);
        assert_eq!(stars(0, 5), 0);
        assert_eq!(stars(6, 5), 0);
    }

    #[test]
    fn ties_share_a_rank() {
        assert_eq!(ranks(&[90, 80, 90, 70, 80]), vec![1, 3, 1, 5, 3]);
    }

    #[test]
    fn lists_and_thresholds() {
        assert_eq!(SCHEME.list(9000), Some(ListMark::Red));
        assert_eq!(SCHEME.list(8999), None);
        assert_eq!(SCHEME.list(6000), None);
        assert_eq!(SCHEME.list(5999), Some(ListMark::Black));
        let bad = Scheme {
            black_threshold_centi: 9000,
            ..SCHEME
        };
        assert_eq!(
            bad.check().unwrap_err().key,
            "ratings.error.black_below_red"
        );
        let weight = Scheme {
            residents_weight: 101,
            ..SCHEME
        };
        assert!(weight.check().is_err());
        assert!(SCHEME.check().is_ok());
    }

    #[test]
    fn scores_must_cover_the_items() {
        assert_eq!(check_scores(&[1, 2], &[(2, 5), (1, 9)]), Ok(vec![9, 5]));
        assert_eq!(
            check_scores(&[1, 2], &[(1, 5)]).unwrap_err().key,
            "ratings.error.item_missing"
        );
        assert_eq!(
            check_scores(&[1, 2], &[(1, 5), (2, 5), (3, 5)])
                .unwrap_err()
                .key,
            "ratings.error.unknown_item"
        );
        assert_eq!(
            check_scores(&[1], &[(1, 101)]).unwrap_err().key,
            "ratings.error.score_range"
        );
        assert_eq!(
            check_scores(&[1], &[(1, 5), (1, 6)]).unwrap_err().key,
            "ratings.error.item_twice"
        );
    }

    #[test]
    fn points_parse_to_hundredths() {
        assert_eq!(parse_points("85"), Some(8500));
        assert_eq!(parse_points("85.5"), Some(8550));
        assert_eq!(parse_points(" 60.25 "), Some(6025));
        assert_eq!(parse_points("6.255"), None);
        assert_eq!(parse_points("-1"), None);
        assert_eq!(parse_points(""), None);
        assert_eq!(format_centi(8505), "85.05");
    }

    proptest! {
        #[test]
        fn bands_are_monotone_in_rank(n in 1usize..400) {
            let mut last = 5u8;
            for r in 1..=n {
                let s = stars(r, n);
                // Unrated (0) ranks below two stars.
                let order = |s: u8| if s == 0 { 1 } else { s + 1 };
                prop_assert!(order(s) <= order(last));
                last = s;
            }
        }

        #[test]
        fn band_shares_follow_the_targets(n in 1usize..1000) {
            let count = |band: u8| (1..=n).filter(|r| stars(*r, n) == band).count() as f64;
            let nf = n as f64;
            for (band, share) in [(5u8, 0.10), (4, 0.15), (3, 0.60), (2, 0.12), (0, 0.03)] {
                let got = count(band);
                prop_assert!((got - share * nf).abs() < 1.0 + 1e-9,
                    "band {} n {} got {} want {}", band, n, got, share * nf);
            }
            // Every subject gets exactly one band.
            let total: f64 = [5u8, 4, 3, 2, 0].iter().map(|b| count(*b)).sum();
            prop_assert_eq!(total, nf);
        }

        #[test]
        fn equal_totals_share_stars(totals in prop::collection::vec(0i64..=20, 1..60)) {
            let rk = ranks(&totals);
            let n = totals.len();
            for i in 0..n {
                for j in 0..n {
                    if totals[i] == totals[j] {
                        prop_assert_eq!(stars(rk[i], n), stars(rk[j], n));
                    }
                    if totals[i] > totals[j] {
                        prop_assert!(rk[i] < rk[j]);
                    }
                }
            }
        }

        #[test]
        fn total_stays_within_range(
            items in prop::collection::vec((1i64..=MAX_WEIGHT, 0i64..=MAX_SCORE, 0i64..=MAX_SCORE), 1..MAX_ITEMS),
            responses in 1i64..500,
            rw in 0i64..=100,
        ) {
            let weights: Vec<i64> = items.iter().map(|i| i.0).collect();
            // Each resident gives the same score here; sums scale with n.
            let sums: Vec<i64> = items.iter().map(|i| i.1 * responses).collect();
            let panel: Vec<i64> = items.iter().map(|i| i.2).collect();
            let scheme = Scheme { residents_weight: rw, ..SCHEME };
            let c = Collected { responses, resident_sums: sums, panel: Some(panel) };
            let s = score(&weights, scheme, &c);
            let t = s.total_centi.unwrap();
            prop_assert!((0..=MAX_TOTAL_CENTI).contains(&t));
            let r = s.residents_centi.unwrap();
            let p = s.panel_centi.unwrap();
            // The total lies between its two parts (within the rounding).
            prop_assert!(t >= r.min(p) - 1 && t <= r.max(p) + 1);
        }
        #[test]
        fn total_matches_the_weighted_mean(
            weights in prop::collection::vec(1i64..=MAX_WEIGHT, 1..8),
            responses in prop::collection::vec(prop::collection::vec(0i64..=MAX_SCORE, 8), 1..40),
            panel in prop::collection::vec(0i64..=MAX_SCORE, 8),
            rw in 0i64..=100,
        ) {
            let k = weights.len();
            let sums: Vec<i64> = (0..k).map(|i| responses.iter().map(|r| r[i]).sum()).collect();
            let n = responses.len() as i64;
            let c = Collected { responses: n, resident_sums: sums, panel: Some(panel[..k].to_vec()) };
            let scheme = Scheme { residents_weight: rw, ..SCHEME };
            let t = score(&weights, scheme, &c).total_centi.unwrap() as f64;
            // The same total in floating point, from per-item averages.
            let w: f64 = weights.iter().map(|w| *w as f64).sum();
            let avg = |i: usize| responses.iter().map(|r| r[i] as f64).sum::<f64>() / n as f64;
            let res: f64 = (0..k).map(|i| weights[i] as f64 * avg(i)).sum::<f64>() / w;
            let pan: f64 = (0..k).map(|i| weights[i] as f64 * panel[i] as f64).sum::<f64>() / w;
            let expected = (rw as f64 * res + (100 - rw) as f64 * pan) / 100.0 * 100.0;
            prop_assert!((t - expected).abs() <= 0.5 + 1e-6, "{} vs {}", t, expected);
        }
    }
}
