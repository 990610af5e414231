//! Pure rules of sign-in and accounts: the lockout policy, usernames and
//! names, where a sign-in may send the visitor next, how long invitations
//! last and who may invite whom, and how far an administrator sees into the
//! audit log. No I/O here.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use jinlin_kernel::auth::{Access, Principal, Role};
use jinlin_kernel::place::{PlaceKind, Position};

/// Consecutive failed sign-ins that lock an account.
pub const MAX_FAILED_LOGINS: i32 = 5;
/// How long a lock lasts.
pub const LOCKOUT: Duration = Duration::minutes(15);
/// Sign-in attempts one client address may make per minute.
pub const LOGIN_ATTEMPTS_PER_MINUTE: u32 = 10;
/// How long an invitation link stays valid.
pub const INVITATION_LIFETIME: Duration = Duration::days(7);
pub const USERNAME_MIN_CHARS: usize = 3;
pub const USERNAME_MAX_CHARS: usize = 32;
/// Longest display name, invitee name or token name (the column widths).
pub const NAME_MAX_CHARS: usize = 64;
/// What every API token handed out starts with, so it can be recognised
/// (e.g. by secret scanners).
pub const TOKEN_PREFIX: &str = "jl_";
/// Audit entries per page.
pub const AUDIT_PAGE_SIZE: u64 = 50;

/// Whether an account may try to sign in now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockState {
    /// Sign-in allowed; `failures` consecutive failures so far.
    Open { failures: i32 },
    /// Refused until `until`; `minutes_left` is rounded up and at least 1.
    Locked {
        until: DateTime<Utc>,
        minutes_left: i64,
    },
}

/// The lock state of an account from its stored counters.
pub fn lock_state(
    failed_logins: i32,
    locked_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> LockState {
    match locked_until {
        Some(until) if until > now => LockState::Locked {
            until,
            minutes_left: minutes_rounded_up(until - now),
        },
        // A lock that has run out wipes the slate.
        Some(_) => LockState::Open { failures: 0 },
        None => LockState::Open {
            failures: failed_logins.max(0),
        },
    }
}

fn minutes_rounded_up(d: Duration) -> i64 {
    let secs = d.num_seconds().max(0);
    ((secs + 59) / 60).max(1)
}

/// The counters to store on an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    pub failed_logins: i32,
    pub locked_until: Option<DateTime<Utc>>,
}

impl Counters {
    /// After a successful sign-in.
    pub const CLEAR: Counters = Counters {
        failed_logins: 0,
        locked_until: None,
    };

    pub fn state(&self, now: DateTime<Utc>) -> LockState {
        lock_state(self.failed_logins, self.locked_until, now)
    }
}

/// The counters after one more failed sign-in: the fifth consecutive
/// failure locks the account for [`LOCKOUT`]. A failure while locked
/// changes nothing (the attempt is refused before the password is checked).
pub fn after_failure(
    failed_logins: i32,
    locked_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Counters {
    match lock_state(failed_logins, locked_until, now) {
        LockState::Locked { until, .. } => Counters {
            failed_logins,
            locked_until: Some(until),
        },
        LockState::Open { failures } => {
            let failures = failures.saturating_add(1);
            Counters {
                failed_logins: failures,
                locked_until: (failures >= MAX_FAILED_LOGINS).then(|| now + LOCKOUT),
            }
        }
    }
}

/// Why a username is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsernameError {
    Length,
    Characters,
}

impl UsernameError {
    pub fn message_key(self) -> &'static str {
        match self {
            UsernameError::Length => "accounts.error.username_length",
            UsernameError::Characters => "accounts.error.username_characters",
        }
    }
}

/// Usernames are kept in lower case without surrounding spaces.
pub fn normalize_username(input: &str) -> String {
    input.trim().to_lowercase()
}

/// 3–32 characters from `a`–`z`, `0`–`9`, `_`, `.` and `-`.
pub fn check_username(username: &str) -> Result<(), UsernameError> {
    let len = username.chars().count();
    if !(USERNAME_MIN_CHARS..=USERNAME_MAX_CHARS).contains(&len) {
        return Err(UsernameError::Length);
    }
    if !username
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-'))
    {
        return Err(UsernameError::Characters);
    }
    Ok(())
}

/// A display name, invitee name or token name: trimmed, 1–64 characters,
/// no control characters. `None` when it does not qualify.
pub fn clean_name(input: &str) -> Option<String> {
    let name = input.trim();
    let len = name.chars().count();
    ((1..=NAME_MAX_CHARS).contains(&len) && !name.chars().any(char::is_control))
        .then(|| name.to_string())
}

pub use jinlin_kernel::web::local_path;

/// Compares two secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() || a.is_empty() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The API token handed to a client, from fresh random hex.
pub fn api_token(random: &str) -> String {
    format!("{TOKEN_PREFIX}{random}")
}

pub fn invitation_expires_at(created: DateTime<Utc>) -> DateTime<Utc> {
    created + INVITATION_LIFETIME
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Expired,
}

impl InvitationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InvitationStatus::Pending => "pending",
            InvitationStatus::Accepted => "accepted",
            InvitationStatus::Expired => "expired",
        }
    }

    pub fn label_key(self) -> String {
        format!("accounts.invitations.status.{}", self.as_str())
    }
}

pub fn invitation_status(
    expires_at: DateTime<Utc>,
    accepted_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> InvitationStatus {
    if accepted_at.is_some() {
        InvitationStatus::Accepted
    } else if expires_at <= now {
        InvitationStatus::Expired
    } else {
        InvitationStatus::Pending
    }
}

/// The verdict on an invitation to `role` at a place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteCheck {
    /// Allowed through the inviter's `via` role.
    Allowed { via: Role },
    /// The inviter cannot see the place at all (answer as if it did not exist).
    NotVisible,
    /// The role cannot be held at a place of this kind.
    WrongKind,
    /// The inviter sees the place but may not invite that role there.
    Forbidden,
}

/// The access an inviter needs at the target place: administrators must be
/// able to edit it; compound-level roles (a compound's party secretary
/// inviting residents and party members) need its personal records.
pub fn access_needed_to_invite(inviter: Role) -> Access {
    if inviter.granted_at().contains(&PlaceKind::Compound) {
        Access::Personal
    } else {
        Access::Edit
    }
}

/// Whether `inviter` may invite someone to `role` at `target`.
pub fn check_invitation(inviter: &Principal, role: Role, target: &Position) -> InviteCheck {
    if !inviter.sees(target) {
        return InviteCheck::NotVisible;
    }
    if !target.kind.is_some_and(|k| role.granted_at().contains(&k)) {
        return InviteCheck::WrongKind;
    }
    let candidates = inviter.roles_for(Access::Personal, target);
    candidates
        .into_iter()
        .filter(|r| r.may_invite(role))
        .find(|r| {
            inviter
                .roles_for(access_needed_to_invite(*r), target)
                .contains(r)
        })
        .map_or(InviteCheck::Forbidden, |via| InviteCheck::Allowed { via })
}

/// The roles a principal could invite somewhere (for the form's choices).
pub fn invitable_roles(principal: &Principal) -> Vec<Role> {
    Role::ALL
        .into_iter()
        .filter(|r| principal.grants.iter().any(|g| g.role.may_invite(*r)))
        .collect()
}

/// The district-code prefixes of the audit entries a principal may read:
/// `None` unless they are a district administrator. Entries without a
/// district code are readable by every district administrator.
pub fn audit_reach(principal: &Principal) -> Option<Vec<String>> {
    let mut prefixes = Vec::new();
    let mut is_admin = false;
    for grant in principal
        .grants
        .iter()
        .filter(|g| g.role == Role::DistrictAdmin)
    {
        is_admin = true;
        let place = &grant.place;
        let digits = place
            .kind
            .and_then(PlaceKind::code_digits)
            .unwrap_or(6)
            .min(6);
        let code = place.code.as_deref().or(place.district_code.as_deref());
        if let Some(code) = code
            && code.len() >= digits
            && code.bytes().all(|b| b.is_ascii_digit())
        {
            let prefix = code[..digits].to_string();
            if !prefixes.contains(&prefix) {
                prefixes.push(prefix);
            }
        }
    }
    is_admin.then_some(prefixes)
}

/// The district an account's audit entries belong to: the one district
/// all its grants lie in, or none when they span several (or it has none).
pub fn home_district(principal: &Principal) -> Option<String> {
    let mut codes = principal
        .grants
        .iter()
        .map(|g| g.place.district_code.as_deref());
    let first = codes.next().flatten()?;
    codes.all(|c| c == Some(first)).then(|| first.to_string())
}

/// Whether an entry's district code lies within `reach`.
pub fn within_reach(reach: &[String], district_code: Option<&str>) -> bool {
    district_code.is_none_or(|code| reach.iter().any(|p| code.starts_with(p.as_str())))
}

/// A `LIKE` pattern matching everything that starts with `prefix`, with
/// `\` as the escape character.
pub fn like_prefix(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The offset of the calendar the district works in (China Standard Time).
pub fn local_offset() -> FixedOffset {
    jinlin_kernel::time::china()
}

/// The instants bounding the calendar days `from` to `to` (both included)
/// in local time: `[start, end)`.
pub fn day_bounds(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let start_of = |day: NaiveDate| {
        local_offset()
            .from_local_datetime(&day.and_time(chrono::NaiveTime::MIN))
            .single()
            .map(|t| t.with_timezone(&Utc))
    };
    (
        from.and_then(start_of),
        to.and_then(|d| d.succ_opt()).and_then(start_of),
    )
}

/// A moment as the district reads it: `2026-11-26 07:39:09`.
pub fn local_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&local_offset())
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Pages needed for `total` entries (at least one).
pub fn page_count(total: u64, per_page: u64) -> u64 {
    total.div_ceil(per_page.max(1)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jinlin_kernel::auth::{AuthVia, Grant};
    use proptest::prelude::*;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn five_failures_lock_for_fifteen_minutes() {
        let now = t0();
        let mut c = Counters::CLEAR;
        for i in 1..MAX_FAILED_LOGINS {
            c = after_failure(c.failed_logins, c.locked_until, now);
            assert_eq!(c.state(now), LockState::Open { failures: i });
        }
        c = after_failure(c.failed_logins, c.locked_until, now);
        assert_eq!(c.locked_until, Some(now + LOCKOUT));
        assert_eq!(
            c.state(now),
            LockState::Locked {
                until: now + LOCKOUT,
                minutes_left: 15
            }
        );
        let later = now + Duration::minutes(14) + Duration::seconds(1);
        assert!(matches!(
            c.state(later),
            LockState::Locked {
                minutes_left: 1,
                ..
            }
        ));
        // A failure while locked changes nothing.
        assert_eq!(after_failure(c.failed_logins, c.locked_until, later), c);
        // Once the lock runs out the count starts again.
        let after = now + LOCKOUT;
        assert_eq!(c.state(after), LockState::Open { failures: 0 });
        let next = after_failure(c.failed_logins, c.locked_until, after);
        assert_eq!(
            next,
            Counters {
                failed_logins: 1,
                locked_until: None
            }
        );
    }

    #[test]
    fn minutes_left_round_up() {
        let now = t0();
        let state = |secs| lock_state(5, Some(now + Duration::seconds(secs)), now);
        assert!(matches!(
            state(1),
            LockState::Locked {
                minutes_left: 1,
                ..
            }
        ));
        assert!(matches!(
            state(60),
            LockState::Locked {
                minutes_left: 1,
                ..
            }
        ));
        assert!(matches!(
            state(61),
            LockState::Locked {
                minutes_left: 2,
                ..
            }
        ));
        assert_eq!(state(0), LockState::Open { failures: 0 });
    }

    proptest! {
        #[test]
        fn a_lock_never_outlasts_the_lockout(failed in 0i32..20, offset in -2000i64..=900, secs in 0i64..3000) {
            let now = t0();
            let until = (offset != 0).then(|| now + Duration::seconds(offset));
            let c = after_failure(failed, until, now);
            if let Some(until) = c.locked_until {
                prop_assert!(until <= now + LOCKOUT);
            }
            match c.state(now + Duration::seconds(secs)) {
                LockState::Locked { minutes_left, .. } => prop_assert!((1..=15).contains(&minutes_left)),
                LockState::Open { failures } => prop_assert!(failures < MAX_FAILED_LOGINS),
            }
        }

        #[test]
        fn local_paths_never_leave_the_site(next in "\\PC{0,20}") {
            let path = local_path(Some(&next));
            prop_assert!(path.starts_with('/'));
            prop_assert!(!path.starts_with("//"));
            prop_assert!(!path.contains('\\'));
        }

        #[test]
        fn valid_usernames_survive_normalising(name in "[a-z0-9_.-]{3,32}") {
            prop_assert_eq!(check_username(&name), Ok(()));
            prop_assert_eq!(normalize_username(&format!("  {}\t", name.to_uppercase())), name);
        }
    }

    #[test]
    fn usernames_follow_the_rules() {
        assert_eq!(check_username("li.wei_01-a"), Ok(()));
        assert_eq!(check_username("ab"), Err(UsernameError::Length));
        assert_eq!(check_username(&"a".repeat(33)), Err(UsernameError::Length));
        assert_eq!(check_username("Li"), Err(UsernameError::Length));
        assert_eq!(check_username("Liwei"), Err(UsernameError::Characters));
        assert_eq!(check_username("li wei"), Err(UsernameError::Characters));
        assert_eq!(check_username("李伟伟"), Err(UsernameError::Characters));
        assert_eq!(normalize_username("  LiWei "), "liwei");
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(clean_name("  王芳 "), Some("王芳".to_string()));
        assert_eq!(clean_name("   "), None);
        assert_eq!(
            clean_name(&"名".repeat(64)).map(|s| s.chars().count()),
            Some(64)
        );
        assert_eq!(clean_name(&"名".repeat(65)), None);
        assert_eq!(clean_name("a\u{0}b"), None);
    }

    #[test]
    fn redirects_only_to_local_paths() {
        assert_eq!(local_path(Some("/places/1?x=2")), "/places/1?x=2");
        assert_eq!(local_path(Some("//evil.example")), "/");
        assert_eq!(local_path(Some("https://evil.example")), "/");
        assert_eq!(local_path(Some("/\\evil.example")), "/");
        assert_eq!(local_path(Some("/\t/evil.example")), "/");
        assert_eq!(local_path(Some("/地点")), "/");
        assert_eq!(local_path(Some("")), "/");
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
        assert!(!same_secret("", ""));
    }

    #[test]
    fn invitations_last_seven_days() {
        let now = t0();
        let expires = invitation_expires_at(now);
        assert_eq!(expires - now, Duration::days(7));
        assert_eq!(
            invitation_status(expires, None, now),
            InvitationStatus::Pending
        );
        assert_eq!(
            invitation_status(expires, None, expires),
            InvitationStatus::Expired
        );
        assert_eq!(
            invitation_status(expires, Some(now), now),
            InvitationStatus::Accepted
        );
    }

    fn position(id: i64, kind: PlaceKind, street: i64, community: Option<i64>) -> Position {
        Position {
            id,
            kind: Some(kind),
            code: None,
            district_code: Some("350104".into()),
            street_id: Some(street),
            community_id: community,
            ..Default::default()
        }
    }

    fn principal(role: Role, place: Position) -> Principal {
        Principal {
            account_id: 1,
            username: "u".into(),
            display_name: "u".into(),
            person_id: None,
            language: None,
            grants: vec![Grant {
                role,
                place,
                place_name: "p".into(),
            }],
            paired_compounds: Vec::new(),
            via: AuthVia::Token { can_write: true },
        }
    }

    #[test]
    fn who_may_invite_whom_where() {
        let community = position(20, PlaceKind::Community, 10, None);
        let compound = position(30, PlaceKind::Compound, 10, Some(20));
        let far = position(31, PlaceKind::Compound, 11, Some(21));
        let worker = principal(Role::CommunityWorker, community.clone());
        assert_eq!(
            check_invitation(&worker, Role::CompoundSecretary, &compound),
            InviteCheck::Allowed {
                via: Role::CommunityWorker
            }
        );
        assert_eq!(
            check_invitation(&worker, Role::CompoundSecretary, &far),
            InviteCheck::NotVisible
        );
        assert_eq!(
            check_invitation(&worker, Role::CompoundSecretary, &community),
            InviteCheck::WrongKind
        );
        assert_eq!(
            check_invitation(
                &worker,
                Role::StreetAdmin,
                &position(10, PlaceKind::Street, 10, None)
            ),
            InviteCheck::NotVisible
        );
        assert_eq!(
            check_invitation(&worker, Role::CommunityWorker, &community),
            InviteCheck::Forbidden
        );

        let mut dwelling = position(60, PlaceKind::Dwelling, 10, Some(20));
        dwelling.compound_id = Some(30);
        let secretary = principal(Role::CompoundSecretary, compound.clone());
        assert_eq!(
            check_invitation(&secretary, Role::Resident, &dwelling),
            InviteCheck::Allowed {
                via: Role::CompoundSecretary
            }
        );
        assert_eq!(
            check_invitation(&secretary, Role::OwnersCommittee, &compound),
            InviteCheck::Forbidden
        );

        let resident = principal(Role::Resident, dwelling.clone());
        assert_eq!(
            check_invitation(&resident, Role::Resident, &dwelling),
            InviteCheck::Forbidden
        );
        assert_eq!(
            check_invitation(&resident, Role::CompoundSecretary, &compound),
            InviteCheck::Forbidden
        );
        assert!(invitable_roles(&resident).is_empty());
        assert_eq!(
            invitable_roles(&secretary),
            vec![Role::PartyMember, Role::Resident]
        );
    }

    #[test]
    fn audit_reach_follows_district_admin_grants() {
        let district = Position {
            id: 1,
            kind: Some(PlaceKind::District),
            code: Some("350104000000".into()),
            district_code: Some("350104".into()),
            ..Default::default()
        };
        let admin = principal(Role::DistrictAdmin, district.clone());
        let reach = audit_reach(&admin).unwrap();
        assert_eq!(reach, vec!["350104".to_string()]);
        assert!(within_reach(&reach, Some("350104")));
        assert!(within_reach(&reach, None));
        assert!(!within_reach(&reach, Some("350105")));

        let city = Position {
            id: 2,
            kind: Some(PlaceKind::City),
            code: Some("350100000000".into()),
            ..Default::default()
        };
        assert_eq!(
            audit_reach(&principal(Role::DistrictAdmin, city)).unwrap(),
            vec!["3501".to_string()]
        );
        assert_eq!(audit_reach(&principal(Role::AgencyAdmin, district)), None);
        assert_eq!(
            audit_reach(&principal(
                Role::StreetAdmin,
                position(10, PlaceKind::Street, 10, None)
            )),
            None
        );
    }

    #[test]
    fn like_prefixes_escape_wildcards() {
        assert_eq!(like_prefix("auth."), "auth.%");
        assert_eq!(like_prefix("a_b%c\\"), "a\\_b\\%c\\\\%");
    }

    #[test]
    fn days_are_local_calendar_days() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let (from, to) = day_bounds(Some(day), Some(day));
        assert_eq!(from.unwrap().to_rfc3339(), "2026-02-28T16:00:00+00:00");
        assert_eq!(to.unwrap().to_rfc3339(), "2026-03-01T16:00:00+00:00");
        assert_eq!(local_time(t0()), "2026-03-01 16:00:00");
        assert_eq!(page_count(0, 50), 1);
        assert_eq!(page_count(50, 50), 1);
        assert_eq!(page_count(51, 50), 2);
    }
}
