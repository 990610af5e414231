//! Pure rules of social organisations and their services: the unified
//! social credit code, organisation types, the admission state machine, the
//! catalogue of service kinds, session times and capacity, registration,
//! check-in, feedback and the roll-up of the figures.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A refused input: the translation key of its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid {
    pub key: &'static str,
}

fn invalid<T>(key: &'static str) -> Result<T, Invalid> {
    Err(Invalid { key })
}

// ---------------------------------------------------------------- credit code

/// The 31 characters of GB 32100-2015 (no I, O, S, V, Z), by value.
const CODE_CHARS: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weights of positions 1–17: 3^(i) mod 31.
const CODE_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

fn code_value(c: u8) -> Option<u32> {
    CODE_CHARS.iter().position(|&x| x == c).map(|p| p as u32)
}

/// The check character of the first 17 characters of a unified social
/// credit code, or `None` when one of them is outside the code's alphabet.
pub fn credit_code_check_char(body: &str) -> Option<char> {
    let bytes = body.as_bytes();
    if bytes.len() != 17 {
        return None;
    }
    let mut sum = 0;
    for (b, w) in bytes.iter().zip(CODE_WEIGHTS) {
        sum += code_value(*b)? * w;
    }
    let check = (31 - sum % 31) % 31;
    Some(CODE_CHARS[check as usize] as char)
}

/// Validates and normalises (trimmed, upper case) a unified social credit
/// code: 18 characters of the code's alphabet, positions 3–8 an
/// administrative division code (digits), the 18th the check character.
pub fn check_credit_code(input: &str) -> Result<String, Invalid> {
    let code = input.trim().to_ascii_uppercase();
    if code.len() != 18 || !code.is_ascii() {
        return invalid("social_services.error.code_length");
    }
    if !code.bytes().all(|b| code_value(b).is_some()) {
        return invalid("social_services.error.code_chars");
    }
    if !code.as_bytes()[2..8].iter().all(u8::is_ascii_digit) {
        return invalid("social_services.error.code_division");
    }
    match credit_code_check_char(&code[..17]) {
        Some(c) if code.as_bytes()[17] == c as u8 => Ok(code),
        _ => invalid("social_services.error.code_check"),
    }
}

// ---------------------------------------------------------------- types

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrgType {
    /// 社会团体
    SocialGroup,
    /// 民办非企业单位 (社会服务机构)
    PrivateNonEnterprise,
    /// 基金会
    Foundation,
    /// Community-level organisations filed with the street (社区社会组织).
    CommunityFiled,
}

impl OrgType {
    pub const ALL: [OrgType; 4] = [
        OrgType::SocialGroup,
        OrgType::PrivateNonEnterprise,
        OrgType::Foundation,
        OrgType::CommunityFiled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrgType::SocialGroup => "social_group",
            OrgType::PrivateNonEnterprise => "private_non_enterprise",
            OrgType::Foundation => "foundation",
            OrgType::CommunityFiled => "community_filed",
        }
    }

    pub fn parse(s: &str) -> Option<OrgType> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

// ---------------------------------------------------------------- admission

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdmissionState {
    Applied,
    Approved,
    Refused,
    Withdrawn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdmissionAction {
    Approve,
    Refuse,
    Withdraw,
}

impl AdmissionState {
    pub const ALL: [AdmissionState; 4] = [
        AdmissionState::Applied,
        AdmissionState::Approved,
        AdmissionState::Refused,
        AdmissionState::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AdmissionState::Applied => "applied",
            AdmissionState::Approved => "approved",
            AdmissionState::Refused => "refused",
            AdmissionState::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<AdmissionState> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Whether the row still counts: an open application or an admission.
    /// A closed row is history; the organisation may apply again.
    pub fn is_open(self) -> bool {
        matches!(self, AdmissionState::Applied | AdmissionState::Approved)
    }
}

impl AdmissionAction {
    pub const ALL: [AdmissionAction; 3] = [
        AdmissionAction::Approve,
        AdmissionAction::Refuse,
        AdmissionAction::Withdraw,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AdmissionAction::Approve => "approve",
            AdmissionAction::Refuse => "refuse",
            AdmissionAction::Withdraw => "withdraw",
        }
    }

    pub fn parse(s: &str) -> Option<AdmissionAction> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub fn needs_reason(self) -> bool {
        !matches!(self, AdmissionAction::Approve)
    }
}

/// The state an action leads to, or `None` when it does not apply.
pub fn admission_next(state: AdmissionState, action: AdmissionAction) -> Option<AdmissionState> {
    use AdmissionAction as A;
    use AdmissionState as S;
    match (state, action) {
        (S::Applied, A::Approve) => Some(S::Approved),
        (S::Applied, A::Refuse) => Some(S::Refused),
        (S::Approved, A::Withdraw) => Some(S::Withdrawn),
        _ => None,
    }
}

// ---------------------------------------------------------------- kinds

/// The kinds every district starts with: code, Chinese and English names.
pub const DEFAULT_KINDS: [(&str, &str, &str); 6] = [
    ("after_school", "四点钟学校", "After-school care"),
    ("elder_course", "老年课堂", "Elder course"),
    ("performance", "文艺演出", "Cultural performance"),
    ("counselling", "心理咨询", "Psychological counselling"),
    ("health", "健康义诊", "Free health clinic"),
    ("other", "其他服务", "Other service"),
];

/// A kind code: 2–32 lower-case letters, digits and underscores, starting
/// with a letter.
pub fn check_kind_code(code: &str) -> Result<String, Invalid> {
    let c = code.trim();
    let ok = (2..=32).contains(&c.len())
        && c.as_bytes()[0].is_ascii_lowercase()
        && c.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !ok {
        return invalid("social_services.error.kind_code");
    }
    if DEFAULT_KINDS.iter().any(|(k, _, _)| *k == c) {
        return invalid("social_services.error.kind_taken");
    }
    Ok(c.to_string())
}

// ---------------------------------------------------------------- text

/// A trimmed, non-empty text of at most `max` characters.
pub fn check_text(text: &str, max: usize) -> Result<String, Invalid> {
    let t = text.trim();
    if t.is_empty() {
        return invalid("social_services.error.empty");
    }
    if t.chars().count() > max {
        return invalid("social_services.error.too_long");
    }
    Ok(t.to_string())
}

/// An optional text: empty means none.
pub fn check_optional(text: Option<&str>, max: usize) -> Result<Option<String>, Invalid> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => check_text(t, max).map(Some),
    }
}

// ---------------------------------------------------------------- sessions

pub const MAX_CAPACITY: i64 = 500;
pub const MAX_SESSION_HOURS: i64 = 12;
/// Staff may mark attendance from this long before the start …
pub const CHECK_IN_BEFORE_MINUTES: i64 = 30;
/// … until this long after the end (records made after the fact).
pub const CHECK_IN_AFTER_DAYS: i64 = 7;

/// A session's times and capacity: end after start, at most 12 hours, a
/// capacity of 1–500, not in the past when scheduled.
pub fn check_session(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    capacity: i64,
    now: DateTime<Utc>,
) -> Result<i32, Invalid> {
    if end <= start {
        return invalid("social_services.error.end_before_start");
    }
    if end - start > Duration::hours(MAX_SESSION_HOURS) {
        return invalid("social_services.error.too_long_session");
    }
    if start < now {
        return invalid("social_services.error.in_past");
    }
    if !(1..=MAX_CAPACITY).contains(&capacity) {
        return invalid("social_services.error.capacity");
    }
    Ok(capacity as i32)
}

/// What a registration request comes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registering {
    /// Already registered: the same registration, counted once.
    Same,
    /// A cancelled registration taken up again (one seat more).
    Renew,
    /// A new registration (one seat more).
    New,
}

/// Why a registration is refused (each a 409).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Full,
    Started,
    Cancelled,
}

impl Refusal {
    pub fn key(self) -> &'static str {
        match self {
            Refusal::Full => "social_services.error.full",
            Refusal::Started => "social_services.error.started",
            Refusal::Cancelled => "social_services.error.session_cancelled",
        }
    }
}

/// Decides a registration. `existing`: whether the account has a row and
/// whether it is active. An account already registered gets the same
/// registration even when the session is full.
pub fn register(
    existing: Option<bool>,
    registered: i32,
    capacity: i32,
    session_cancelled: bool,
    starts_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Registering, Refusal> {
    if existing == Some(true) {
        return Ok(Registering::Same);
    }
    if session_cancelled {
        return Err(Refusal::Cancelled);
    }
    if now >= starts_at {
        return Err(Refusal::Started);
    }
    if registered >= capacity {
        return Err(Refusal::Full);
    }
    Ok(if existing.is_some() {
        Registering::Renew
    } else {
        Registering::New
    })
}

/// Whether a session may be cancelled now: once, and before it starts
/// (after the start it has been held, or was not, and the roll says so).
pub fn cancel_session(
    cancelled: bool,
    starts_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    if cancelled {
        return Err(Refusal::Cancelled);
    }
    if now >= starts_at {
        return Err(Refusal::Started);
    }
    Ok(())
}

/// Whether staff may mark attendance now.
pub fn check_in_open(start: DateTime<Utc>, end: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now >= start - Duration::minutes(CHECK_IN_BEFORE_MINUTES)
        && now <= end + Duration::days(CHECK_IN_AFTER_DAYS)
}

/// Why feedback is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedbackRefusal {
    /// Not checked in (422): only attendees judge a session.
    NotAttended,
    /// The session has not ended (409).
    NotEnded,
    /// Feedback already given (409).
    Given,
    /// A score outside 1–5 or a comment too long (422).
    Input(Invalid),
}

pub fn check_feedback(
    attended: bool,
    given: bool,
    ends_at: DateTime<Utc>,
    now: DateTime<Utc>,
    score: i64,
    comment: &str,
) -> Result<(i32, String), FeedbackRefusal> {
    if !(1..=5).contains(&score) {
        return Err(FeedbackRefusal::Input(Invalid {
            key: "social_services.error.score",
        }));
    }
    let comment = comment.trim();
    if comment.chars().count() > 500 {
        return Err(FeedbackRefusal::Input(Invalid {
            key: "social_services.error.too_long",
        }));
    }
    if !attended {
        return Err(FeedbackRefusal::NotAttended);
    }
    if now < ends_at {
        return Err(FeedbackRefusal::NotEnded);
    }
    if given {
        return Err(FeedbackRefusal::Given);
    }
    Ok((score as i32, comment.to_string()))
}

/// Six digits derived from the session id: the code staff read out for
/// roll call. Not a secret; attendance is marked by staff.
pub fn session_code(id: i64) -> String {
    format!(
        "{:06}",
        (id.wrapping_mul(7919).wrapping_add(104_729)).rem_euclid(1_000_000)
    )
}

// ---------------------------------------------------------------- figures

/// Figures of held sessions: a session is held when it is not cancelled
/// and has ended; person-times are its checked-in registrations; feedback
/// is counted with its scores' sum. The database adds these up per place
/// and organisation (`store::tallies`); the rest is done here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub sessions_held: u64,
    /// Checked-in attendances at held sessions.
    pub person_times: u64,
    pub feedback_count: u64,
    pub feedback_sum: u64,
}

impl Tally {
    pub fn add(&mut self, other: &Tally) {
        self.sessions_held += other.sessions_held;
        self.person_times += other.person_times;
        self.feedback_count += other.feedback_count;
        self.feedback_sum += other.feedback_sum;
    }

    pub fn mean_feedback(&self) -> Option<f64> {
        (self.feedback_count > 0).then(|| self.feedback_sum as f64 / self.feedback_count as f64)
    }
}

/// What the figures are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Compound,
    Community,
    Street,
    District,
}

/// One group of held sessions as the database adds them up: the place
/// they were held under (the id of a compound, community or street, or a
/// district code; none when the session has no such place) and the
/// organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grouped {
    pub place: Option<String>,
    pub org_id: i64,
    pub tally: Tally,
}

/// The figures of a scope from its groups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rollup {
    pub total: Tally,
    /// By place (groups without one count only in the total).
    pub by_place: BTreeMap<String, Tally>,
    pub by_org: BTreeMap<i64, Tally>,
}

pub fn rollup(groups: &[Grouped]) -> Rollup {
    let mut r = Rollup::default();
    for g in groups {
        r.total.add(&g.tally);
        if let Some(p) = &g.place {
            r.by_place.entry(p.clone()).or_default().add(&g.tally);
        }
        r.by_org.entry(g.org_id).or_default().add(&g.tally);
    }
    r
}

pub fn mean_text(mean: Option<f64>) -> Option<String> {
    mean.map(|m| format!("{m:.1}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn with_check(body: &str) -> String {
        format!("{body}{}", credit_code_check_char(body).unwrap())
    }

    #[test]
    fn known_codes_pass_and_their_typos_fail() {
        // Codes as published on business licences.
        for code in [
            "91350100M000100Y43",
            "91110000600037341L",
            "91440300708461136T",
        ] {
            assert_eq!(check_credit_code(code), Ok(code.to_string()));
        }
        let good = with_check("51350104MJD572815");
        assert_eq!(check_credit_code(&good.to_lowercase()), Ok(good.clone()));
        let mut typo = good.clone().into_bytes();
        typo[17] = if typo[17] == b'1' { b'2' } else { b'1' };
        assert_eq!(
            check_credit_code(std::str::from_utf8(&typo).unwrap()),
            Err(Invalid {
                key: "social_services.error.code_check"
            })
        );
        assert_eq!(
            check_credit_code("5135010"),
            Err(Invalid {
                key: "social_services.error.code_length"
            })
        );
        assert_eq!(
            check_credit_code("51350104MJD57281IO"),
            Err(Invalid {
                key: "social_services.error.code_chars"
            })
        );
        assert_eq!(
            check_credit_code(&with_check("51ABCDEFMJD572815")),
            Err(Invalid {
                key: "social_services.error.code_division"
            })
        );
    }

    #[test]
    fn check_char_follows_the_standard() {
        // Σ value×weight ≡ 0 (mod 31) over all 18 positions, weight 1 at the 18th.
        let code = with_check("91350100M000100Y4");
        let total: u32 = code.as_bytes()[..17]
            .iter()
            .zip(CODE_WEIGHTS)
            .map(|(b, w)| code_value(*b).unwrap() * w)
            .sum::<u32>()
            + code_value(code.as_bytes()[17]).unwrap();
        assert_eq!(total % 31, 0);
        for (i, w) in CODE_WEIGHTS.iter().enumerate() {
            assert_eq!(*w, 3u32.pow(i as u32) % 31);
        }
    }

    fn code_char() -> impl Strategy<Value = u8> {
        (0..31usize).prop_map(|i| CODE_CHARS[i])
    }

    fn body() -> impl Strategy<Value = String> {
        (
            proptest::collection::vec(code_char(), 2),
            proptest::collection::vec(0u8..10, 6),
            proptest::collection::vec(code_char(), 9),
        )
            .prop_map(|(a, d, b)| {
                let mut s: Vec<u8> = a;
                s.extend(d.iter().map(|x| b'0' + x));
                s.extend(b);
                String::from_utf8(s).unwrap()
            })
    }

    proptest! {
        #[test]
        fn every_body_with_its_check_char_passes(b in body()) {
            let code = with_check(&b);
            prop_assert_eq!(check_credit_code(&code), Ok(code.clone()));
        }

        #[test]
        fn any_single_substitution_is_caught(b in body(), pos in 0usize..18, c in code_char()) {
            let code = with_check(&b);
            let mut bytes = code.clone().into_bytes();
            prop_assume!(bytes[pos] != c);
            bytes[pos] = c;
            let typo = String::from_utf8(bytes).unwrap();
            prop_assert!(check_credit_code(&typo).is_err());
        }

        #[test]
        fn adjacent_swaps_of_distinct_chars_are_caught(b in body(), pos in 0usize..17) {
            let code = with_check(&b);
            let mut bytes = code.clone().into_bytes();
            prop_assume!(bytes[pos] != bytes[pos + 1]);
            bytes.swap(pos, pos + 1);
            let typo = String::from_utf8(bytes).unwrap();
            prop_assert!(check_credit_code(&typo).is_err());
        }

        #[test]
        fn registration_never_passes_capacity(
            steps in proptest::collection::vec((0usize..6, any::<bool>()), 0..60),
            capacity in 1i32..8,
        ) {
            // Six accounts registering and cancelling in any order.
            let start = Utc::now() + Duration::days(1);
            let now = Utc::now();
            let mut rows: [Option<bool>; 6] = [None; 6];
            let mut registered = 0;
            for (who, cancel) in steps {
                if cancel {
                    if rows[who] == Some(true) {
                        rows[who] = Some(false);
                        registered -= 1;
                    }
                    continue;
                }
                match register(rows[who], registered, capacity, false, start, now) {
                    Ok(Registering::Same) => prop_assert_eq!(rows[who], Some(true)),
                    Ok(_) => {
                        rows[who] = Some(true);
                        registered += 1;
                    }
                    Err(r) => prop_assert_eq!(r, Refusal::Full),
                }
                prop_assert!(registered <= capacity);
                prop_assert_eq!(registered, rows.iter().filter(|r| **r == Some(true)).count() as i32);
            }
        }

        #[test]
        fn admission_paths_end_in_refused_or_withdrawn(actions in proptest::collection::vec(0usize..3, 0..10)) {
            let mut s = AdmissionState::Applied;
            for a in actions {
                if let Some(n) = admission_next(s, AdmissionAction::ALL[a]) {
                    prop_assert!(matches!((s, n),
                        (AdmissionState::Applied, AdmissionState::Approved | AdmissionState::Refused)
                        | (AdmissionState::Approved, AdmissionState::Withdrawn)));
                    s = n;
                }
            }
            if !s.is_open() {
                for a in AdmissionAction::ALL {
                    prop_assert_eq!(admission_next(s, a), None);
                }
            }
        }

        #[test]
        fn places_and_organisations_add_up_to_the_total(
            groups in proptest::collection::vec(
                (proptest::option::of(0i64..5), 0i64..3, 0u64..20, 0u64..200, 0u64..10),
                0..30,
            )
        ) {
            let groups: Vec<Grouped> = groups
                .into_iter()
                .map(|(place, org, held, attended, scored)| Grouped {
                    place: place.map(|p| p.to_string()),
                    org_id: org,
                    tally: Tally {
                        sessions_held: held,
                        person_times: attended,
                        feedback_count: scored,
                        feedback_sum: scored * 4,
                    },
                })
                .collect();
            let r = rollup(&groups);
            let placed: Tally = groups
                .iter()
                .filter(|g| g.place.is_some())
                .fold(Tally::default(), |mut t, g| { t.add(&g.tally); t });
            let mut by_place = Tally::default();
            for t in r.by_place.values() {
                by_place.add(t);
            }
            prop_assert_eq!(by_place, placed);
            let mut by_org = Tally::default();
            for t in r.by_org.values() {
                by_org.add(t);
            }
            prop_assert_eq!(by_org, r.total);
            prop_assert_eq!(r.total.sessions_held, groups.iter().map(|g| g.tally.sessions_held).sum::<u64>());
        }
    }

    #[test]
    fn figures_by_hand() {
        let g = |place: Option<&str>, org, held, attended, scores: &[u64]| Grouped {
            place: place.map(str::to_string),
            org_id: org,
            tally: Tally {
                sessions_held: held,
                person_times: attended,
                feedback_count: scores.len() as u64,
                feedback_sum: scores.iter().sum(),
            },
        };
        let r = rollup(&[
            g(Some("7"), 1, 1, 12, &[5, 4]),
            g(Some("8"), 1, 1, 3, &[3]),
            g(Some("7"), 2, 1, 0, &[]),
            // A session outside any street: only in the total.
            g(None, 2, 1, 2, &[2]),
        ]);
        assert_eq!(r.by_org[&1].sessions_held, 2);
        assert_eq!(r.by_org[&1].person_times, 15);
        assert_eq!(r.by_org[&1].mean_feedback(), Some(4.0));
        assert_eq!(r.by_org[&2].sessions_held, 2);
        assert_eq!(r.by_org[&2].person_times, 2);
        assert_eq!(r.by_place["7"].person_times, 12);
        assert_eq!(r.by_place["7"].sessions_held, 2);
        assert_eq!(r.by_place["7"].mean_feedback(), Some(4.5));
        assert_eq!(r.by_place.len(), 2);
        assert_eq!((r.total.sessions_held, r.total.person_times), (4, 17));
        assert_eq!(mean_text(r.total.mean_feedback()), Some("3.5".into()));
    }

    #[test]
    fn registration_rules() {
        let now = Utc::now();
        let later = now + Duration::hours(2);
        assert_eq!(
            register(None, 0, 1, false, later, now),
            Ok(Registering::New)
        );
        assert_eq!(register(None, 1, 1, false, later, now), Err(Refusal::Full));
        assert_eq!(
            register(Some(true), 1, 1, false, later, now),
            Ok(Registering::Same)
        );
        assert_eq!(
            register(Some(false), 0, 1, false, later, now),
            Ok(Registering::Renew)
        );
        assert_eq!(register(None, 0, 1, false, now, now), Err(Refusal::Started));
        assert_eq!(
            register(None, 0, 1, true, later, now),
            Err(Refusal::Cancelled)
        );
    }

    #[test]
    fn feedback_rules() {
        let now = Utc::now();
        let ended = now - Duration::hours(1);
        assert_eq!(
            check_feedback(true, false, ended, now, 5, " 好 "),
            Ok((5, "好".into()))
        );
        assert_eq!(
            check_feedback(false, false, ended, now, 5, ""),
            Err(FeedbackRefusal::NotAttended)
        );
        assert_eq!(
            check_feedback(true, true, ended, now, 5, ""),
            Err(FeedbackRefusal::Given)
        );
        assert_eq!(
            check_feedback(true, false, now + Duration::hours(1), now, 5, ""),
            Err(FeedbackRefusal::NotEnded)
        );
        assert!(matches!(
            check_feedback(true, false, ended, now, 6, ""),
            Err(FeedbackRefusal::Input(_))
        ));
        assert!(matches!(
            check_feedback(true, false, ended, now, 0, ""),
            Err(FeedbackRefusal::Input(_))
        ));
    }

    #[test]
    fn a_session_is_cancelled_once_before_it_starts() {
        let now = Utc::now();
        let later = now + Duration::hours(2);
        assert_eq!(cancel_session(false, later, now), Ok(()));
        assert_eq!(cancel_session(true, later, now), Err(Refusal::Cancelled));
        assert_eq!(cancel_session(false, now, now), Err(Refusal::Started));
        assert_eq!(
            cancel_session(false, now - Duration::hours(1), now),
            Err(Refusal::Started)
        );
    }

    #[test]
    fn kind_codes() {
        assert_eq!(check_kind_code("dance_class"), Ok("dance_class".into()));
        assert!(check_kind_code("after_school").is_err());
        assert!(check_kind_code("Dance").is_err());
        assert!(check_kind_code("1a").is_err());
    }
}
