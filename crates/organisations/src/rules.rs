//! Pure rules of compound organisations: the kinds of party organisation,
//! validation of terms, fees and unified social credit codes, and the
//! cross-membership (交叉任职) coverage rule with its figures per level.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A refused value: which field, and the locale key of the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid {
    pub field: &'static str,
    pub key: &'static str,
}

fn invalid(field: &'static str, key: &'static str) -> Invalid {
    Invalid { field, key }
}

/// The form of a compound's party organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    /// 支部
    Branch,
    /// 党小组
    Group,
    /// 联合支部 (several small compounds share one)
    JointBranch,
}

impl OrgKind {
    pub const ALL: [OrgKind; 3] = [OrgKind::Branch, OrgKind::Group, OrgKind::JointBranch];

    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::Branch => "branch",
            OrgKind::Group => "group",
            OrgKind::JointBranch => "joint_branch",
        }
    }

    pub fn parse(s: &str) -> Option<OrgKind> {
        OrgKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Positions on an owners' committee.
pub const COMMITTEE_POSITIONS: [&str; 3] = ["chair", "vice_chair", "member"];

pub fn check_position(s: &str) -> Result<&'static str, Invalid> {
    COMMITTEE_POSITIONS
        .into_iter()
        .find(|p| *p == s)
        .ok_or(invalid("position", "organisations.error.position"))
}

/// A name of an organisation or company: 1–128 characters after trimming.
pub fn check_name(s: &str) -> Result<String, Invalid> {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > 128 {
        return Err(invalid("name", "organisations.error.name"));
    }
    Ok(s.to_string())
}

/// A term (of a committee or a contract) must end after it starts.
pub fn check_term(start: NaiveDate, end: NaiveDate) -> Result<(), Invalid> {
    if end <= start {
        return Err(invalid("term_end", "organisations.error.term"));
    }
    Ok(())
}

/// A date that happened already (founding, election) cannot lie ahead.
/// The date in China Standard Time (UTC+8), in which founding and election
/// dates are given.
pub fn china_today(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&jinlin_kernel::time::china())
        .date_naive()
}

pub fn check_past(field: &'static str, date: NaiveDate, today: NaiveDate) -> Result<(), Invalid> {
    if date > today {
        return Err(invalid(field, "organisations.error.future_date"));
    }
    Ok(())
}

/// Highest property fee accepted: 1,000 yuan per m² per month, in fen.
pub const MAX_FEE_FEN: i64 = 100_000;

/// A property fee in fen per m² per month: 0 < fee ≤ 100,000.
pub fn check_fee(fen: i64) -> Result<i64, Invalid> {
    if fen <= 0 || fen > MAX_FEE_FEN {
        return Err(invalid("fee_fen_per_m2", "organisations.error.fee"));
    }
    Ok(fen)
}

/// Fen as yuan with two decimals ("2.35").
pub fn format_fen(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

/// Parses yuan with at most two decimals ("2.5", "2.35") into fen.
pub fn parse_yuan(s: &str) -> Option<i64> {
    let s = s.trim();
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() && frac.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
        || frac.len() > 2
        || whole.len() > 9
    {
        return None;
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let frac: i64 = format!("{frac:0<2}").parse().ok()?;
    Some(whole * 100 + frac)
}

/// The 31 characters of a unified social credit code (GB 32100-2015):
/// digits and capitals without I, O, Z, S, V.
const CREDIT_CHARS: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

fn credit_value(c: char) -> Option<u32> {
    CREDIT_CHARS.find(c).map(|i| i as u32)
}

/// The check character of the first 17 characters of a unified social
/// credit code: weights 3^i mod 31, check = 31 − (Σ mod 31), 31 ↦ 0.
pub fn credit_check_character(first17: &str) -> Option<char> {
    if first17.chars().count() != 17 {
        return None;
    }
    let mut sum = 0u32;
    let mut weight = 1u32;
    for c in first17.chars() {
        sum += credit_value(c)? * weight;
        weight = weight * 3 % 31;
    }
    let check = (31 - sum % 31) % 31;
    CREDIT_CHARS.chars().nth(check as usize)
}

/// A validated unified social credit code (统一社会信用代码).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditCode(String);

impl CreditCode {
    /// 18 characters of the code's alphabet (lower case accepted), the
    /// last one the check character of the others.
    pub fn parse(s: &str) -> Result<CreditCode, Invalid> {
        let code = s.trim().to_ascii_uppercase();
        let bad = invalid("credit_code", "organisations.error.credit_code");
        if code.chars().count() != 18 || !code.chars().all(|c| credit_value(c).is_some()) {
            return Err(bad);
        }
        let (body, check) = code.split_at(17);
        if credit_check_character(body).map(String::from).as_deref() != Some(check) {
            return Err(bad);
        }
        Ok(CreditCode(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One member's cross-memberships.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemberFlags {
    pub in_owners_committee: bool,
    pub in_property_company: bool,
    pub owner_representative: bool,
}

/// What a compound has for its party organisation to reach into.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Presence {
    pub owners_committee: bool,
    pub property_company: bool,
}

/// The cross-membership rule. A compound party organisation covers when
/// its members include at least one owner representative (every compound
/// has owners), at least one member of the owners' committee if the
/// compound has one, and at least one of the property company's staff if
/// a company serves it. One member may count on several sides. An
/// organisation without members never covers.
pub fn covers(presence: Presence, members: impl IntoIterator<Item = MemberFlags>) -> bool {
    let mut committee = false;
    let mut company = false;
    let mut representative = false;
    for m in members {
        committee |= m.in_owners_committee;
        company |= m.in_property_company;
        representative |= m.owner_representative;
    }
    representative
        && (committee || !presence.owners_committee)
        && (company || !presence.property_company)
}

/// The coverage figure of a place: compounds below it, party
/// organisations among them, and how many of those cover.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Coverage {
    pub compounds: u64,
    pub party_orgs: u64,
    pub covering: u64,
}

impl Coverage {
    pub fn add(&mut self, other: Coverage) {
        self.compounds += other.compounds;
        self.party_orgs += other.party_orgs;
        self.covering += other.covering;
    }

    /// covering / party_orgs in lowest terms, none without organisations.
    pub fn fraction(&self) -> Option<(u64, u64)> {
        if self.party_orgs == 0 {
            return None;
        }
        let g = gcd(self.covering, self.party_orgs);
        Some((self.covering / g, self.party_orgs / g))
    }

    /// The share in tenths of a percent, rounded half up.
    pub fn per_mille(&self) -> Option<u64> {
        (self.party_orgs > 0)
            .then(|| (self.covering * 2000 + self.party_orgs) / (2 * self.party_orgs))
    }

    /// "80.4%", or none without organisations.
    pub fn percent(&self) -> Option<String> {
        self.per_mille().map(|p| format!("{}.{}%", p / 10, p % 10))
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a.max(1) } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn today_is_the_date_in_china() {
        let late = "2026-12-01T16:00:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(
            china_today(late),
            NaiveDate::from_ymd_opt(2026, 12, 2).unwrap()
        );
        // Founding "today" in Fuzhou is not a future date, though UTC is a day behind.
        assert!(check_past("founded_on", china_today(late), china_today(late)).is_ok());
    }

    fn m(oc: bool, pc: bool, rep: bool) -> MemberFlags {
        MemberFlags {
            in_owners_committee: oc,
            in_property_company: pc,
            owner_representative: rep,
        }
    }

    const BOTH: Presence = Presence {
        owners_committee: true,
        property_company: true,
    };

    #[test]
    fn coverage_needs_every_side_the_compound_has() {
        assert!(covers(BOTH, [m(true, false, false), m(false, true, true)]));
        assert!(covers(BOTH, [m(true, true, true)]));
        assert!(!covers(BOTH, [m(true, false, true)]));
        assert!(!covers(BOTH, [m(false, true, true)]));
        assert!(!covers(BOTH, [m(true, true, false)]));
        assert!(!covers(BOTH, []));
        let no_committee = Presence {
            owners_committee: false,
            property_company: true,
        };
        assert!(covers(no_committee, [m(false, true, true)]));
        assert!(!covers(no_committee, [m(false, false, true)]));
        let no_company = Presence {
            owners_committee: true,
            property_company: false,
        };
        assert!(covers(no_company, [m(true, false, true)]));
        let neither = Presence::default();
        assert!(covers(neither, [m(false, false, true)]));
        assert!(!covers(neither, [m(false, false, false)]));
        assert!(!covers(neither, []));
    }

    #[test]
    fn a_known_credit_code_checks() {
        // Published example codes of GB 32100-2015.
        assert!(CreditCode::parse("91350100M000100Y43").is_ok());
        assert!(CreditCode::parse("91350100m000100y43").is_ok());
        assert!(CreditCode::parse("91350100M000100Y44").is_err());
        assert!(CreditCode::parse("91350100M000100Y4").is_err());
        assert!(CreditCode::parse("91350100I000100Y43").is_err());
    }

    #[test]
    fn terms_fees_and_kinds() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert!(check_term(d("2024-01-01"), d("2029-01-01")).is_ok());
        assert!(check_term(d("2024-01-01"), d("2024-01-01")).is_err());
        assert!(check_term(d("2024-01-02"), d("2024-01-01")).is_err());
        assert!(check_fee(0).is_err());
        assert!(check_fee(1).is_ok());
        assert!(check_fee(MAX_FEE_FEN).is_ok());
        assert!(check_fee(MAX_FEE_FEN + 1).is_err());
        assert_eq!(parse_yuan("2.5"), Some(250));
        assert_eq!(parse_yuan("2.35"), Some(235));
        assert_eq!(parse_yuan("2.355"), None);
        assert_eq!(parse_yuan("x"), None);
        assert_eq!(format_fen(235), "2.35");
        for k in OrgKind::ALL {
            assert_eq!(OrgKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(OrgKind::parse("cell"), None);
    }

    #[test]
    fn figures_are_exact() {
        let c = Coverage {
            compounds: 209,
            party_orgs: 209,
            covering: 167,
        };
        assert_eq!(c.fraction(), Some((167, 209)));
        assert_eq!(c.percent().as_deref(), Some("79.9%"));
        let half = Coverage {
            compounds: 4,
            party_orgs: 4,
            covering: 2,
        };
        assert_eq!(half.fraction(), Some((1, 2)));
        assert_eq!(half.percent().as_deref(), Some("50.0%"));
        assert_eq!(Coverage::default().percent(), None);
        assert_eq!(Coverage::default().fraction(), None);
    }

    fn credit_char() -> impl Strategy<Value = char> {
        (0..31usize).prop_map(|i| CREDIT_CHARS.chars().nth(i).unwrap())
    }

    proptest! {
        #[test]
        fn every_code_with_its_check_character_parses(body in proptest::collection::vec(credit_char(), 17)) {
            let body: String = body.into_iter().collect();
            let check = credit_check_character(&body).unwrap();
            let code = format!("{body}{check}");
            prop_assert!(CreditCode::parse(&code).is_ok());
            // Any other last character is refused.
            for other in CREDIT_CHARS.chars().filter(|c| *c != check) {
                let wrong = format!("{body}{other}");
                prop_assert!(CreditCode::parse(&wrong).is_err());
            }
        }

        #[test]
        fn fees_inside_the_range_pass(fen in -1_000i64..200_000) {
            prop_assert_eq!(check_fee(fen).is_ok(), fen > 0 && fen <= MAX_FEE_FEN);
            if fen >= 0 {
                prop_assert_eq!(parse_yuan(&format_fen(fen)), Some(fen));
            }
        }

        #[test]
        fn the_percentage_is_the_fraction_rounded(orgs in 1u64..100_000, covering_share in 0u64..=1000) {
            let covering = orgs * covering_share / 1000;
            let c = Coverage { compounds: orgs, party_orgs: orgs, covering };
            let (n, d) = c.fraction().unwrap();
            prop_assert_eq!(n * orgs, covering * d);
            prop_assert_eq!(gcd(n, d), 1);
            let pm = c.per_mille().unwrap();
            prop_assert!(pm <= 1000);
            // |pm/1000 − covering/orgs| ≤ 1/2000
            let diff = (pm as i128 * orgs as i128 * 2) - (covering as i128 * 2000);
            prop_assert!(diff.abs() <= orgs as i128);
        }

        #[test]
        fn adding_a_member_never_uncovers(flags in proptest::collection::vec((any::<bool>(), any::<bool>(), any::<bool>()), 0..8),
                                          extra in (any::<bool>(), any::<bool>(), any::<bool>()),
                                          oc in any::<bool>(), pc in any::<bool>()) {
            let presence = Presence { owners_committee: oc, property_company: pc };
            let mut members: Vec<MemberFlags> = flags.iter().map(|(a, b, c)| m(*a, *b, *c)).collect();
            let before = covers(presence, members.clone());
            members.push(m(extra.0, extra.1, extra.2));
            prop_assert!(!before || covers(presence, members.clone()));
            // Fewer sides to cover is never harder.
            prop_assert!(!covers(BOTH, members.clone()) || covers(presence, members));
        }
    }
}
