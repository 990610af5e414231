//! The catalogue of ledgers and the pure rules of exporting them: which
//! ledgers exist, their columns, at which levels of the tree each is
//! offered, who may export, and how a request's file name is read.

use chrono::{DateTime, Utc};
use jinlin_kernel::auth::Role;
use jinlin_kernel::place::PlaceKind;
use serde::Serialize;
use utoipa::ToSchema;

/// One ledger (台账): a register of the system as an Excel sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Ledger {
    /// 小区基本情况台账: compounds with type, street, community, party
    /// organisation, owners' committee, property company.
    Compounds,
    /// 小区党组织台账.
    PartyOrgs,
    /// 小区党组织党员名册.
    PartyMembers,
    /// 机关单位挂钩小区台账.
    Pairings,
    /// 党建项目台账.
    Projects,
    /// 联席会议台账 (streets only).
    JointMeetings,
    /// 小区事项台账 (residents' matters).
    Matters,
    /// 微网格台账.
    MicroGrids,
    /// 社会组织服务台账 (admissions of social organisations).
    SocialOrgs,
    /// 社会组织服务活动台账 (service sessions).
    Sessions,
    /// 志愿服务队台账.
    VolunteerTeams,
}

impl Ledger {
    pub const ALL: [Ledger; 11] = [
        Ledger::Compounds,
        Ledger::PartyOrgs,
        Ledger::PartyMembers,
        Ledger::Pairings,
        Ledger::Projects,
        Ledger::JointMeetings,
        Ledger::Matters,
        Ledger::MicroGrids,
        Ledger::SocialOrgs,
        Ledger::Sessions,
        Ledger::VolunteerTeams,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Ledger::Compounds => "compounds",
            Ledger::PartyOrgs => "party_orgs",
            Ledger::PartyMembers => "party_members",
            Ledger::Pairings => "pairings",
            Ledger::Projects => "projects",
            Ledger::JointMeetings => "joint_meetings",
            Ledger::Matters => "matters",
            Ledger::MicroGrids => "micro_grids",
            Ledger::SocialOrgs => "social_orgs",
            Ledger::Sessions => "sessions",
            Ledger::VolunteerTeams => "volunteer_teams",
        }
    }

    pub fn parse(s: &str) -> Option<Ledger> {
        Ledger::ALL.into_iter().find(|l| l.as_str() == s)
    }

    /// Translation key of the ledger's title.
    pub fn title_key(self) -> String {
        format!("ledgers.ledger.{}", self.as_str())
    }

    /// Whether the ledger is offered for a node of `kind`: joint meetings
    /// are held by streets, so their ledger is one of a district or a
    /// street; every other ledger is offered from the district down to a
    /// compound.
    pub fn offered_at(self, kind: PlaceKind) -> bool {
        match self {
            Ledger::JointMeetings => matches!(kind, PlaceKind::District | PlaceKind::Street),
            _ => is_scope_kind(kind),
        }
    }

    /// Whether the ledger holds phone numbers (masked unless asked for
    /// and allowed).
    pub fn has_phones(self) -> bool {
        matches!(self, Ledger::PartyMembers | Ledger::SocialOrgs)
    }

    /// The columns, in order: each a translation key suffix
    /// (`ledgers.col.<name>`) and a width in characters.
    pub fn columns(self) -> &'static [(&'static str, f64)] {
        const PLACE: [(&str, f64); 3] = [("street", 14.0), ("community", 14.0), ("compound", 18.0)];
        match self {
            Ledger::Compounds => &[
                PLACE[0],
                PLACE[1],
                PLACE[2],
                ("compound_type", 10.0),
                ("town_area", 8.0),
                ("address", 24.0),
                ("dwellings", 8.0),
                ("party_org", 22.0),
                ("owners_committee", 22.0),
                ("property_company", 22.0),
            ],
            Ledger::PartyOrgs => &[
                PLACE[0],
                PLACE[1],
                PLACE[2],
                ("party_org", 22.0),
                ("org_kind", 10.0),
                ("founded_on", 11.0),
                ("secretary", 10.0),
                ("members", 8.0),
                ("in_owners_committee", 10.0),
                ("in_property_company", 10.0),
                ("owner_representatives", 10.0),
            ],
            Ledger::PartyMembers => &[
                PLACE[0],
                PLACE[1],
                PLACE[2],
                ("party_org", 22.0),
                ("name", 10.0),
                ("phone", 14.0),
                ("in_owners_committee", 10.0),
                ("in_property_company", 10.0),
                ("owner_representative", 10.0),
            ],
            Ledger::Pairings => &[
                PLACE[0],
                PLACE[1],
                PLACE[2],
                ("agency", 22.0),
                ("agency_category", 12.0),
                ("agency_party_org", 22.0),
                ("route", 10.0),
                ("started_on", 11.0),
                ("ended_on", 11.0),
                ("end_reason", 20.0),
            ],
            Ledger::Projects => &[
                PLACE[0],
                PLACE[1],
                PLACE[2],
                ("project", 24.0),
                ("agency", 22.0),
                ("function", 14.0),
                ("state", 10.0),
                ("planned_start", 11.0),
                ("planned_end", 11.0),
                ("started_on", 11.0),
                ("completed_on", 11.0),
            ],
            Ledger::JointMeetings => &[
                PLACE[0],
                ("year", 6.0),
                ("quarter", 6.0),
                ("scheduled_at", 16.0),
                ("venue", 18.0),
                ("agenda", 30.0),
                ("state", 10.0),
                ("held_at", 16.0),
                ("invited", 8.0),
                ("attended", 8.0),
                ("actions", 8.0),
                ("actions_done", 8.0),
            ],
            Ledger::Matters => &[
                ("number", 8.0),
                PLACE[0],
                PLACE[1],
                PLACE[2],
                ("title", 24.0),
                ("category", 12.0),
                ("urgency", 8.0),
                ("state", 10.0),
                ("raised_at", 16.0),
                ("due_at", 16.0),
                ("closed_at", 16.0),
                ("on_time", 8.0),
                ("satisfaction", 10.0),
            ],
            Ledger::MicroGrids => &[
                PLACE[0],
                PLACE[1],
                PLACE[2],
                ("grid", 16.0),
                ("grid_worker", 10.0),
                ("coverage", 10.0),
                ("buildings", 8.0),
                ("members", 8.0),
                ("contact_groups", 8.0),
            ],
            Ledger::SocialOrgs => &[
                PLACE[0],
                PLACE[1],
                PLACE[2],
                ("social_org", 24.0),
                ("registration_no", 20.0),
                ("org_type", 12.0),
                ("has_party_org", 8.0),
                ("contact", 10.0),
                ("phone", 14.0),
                ("admission", 10.0),
                ("applied_on", 11.0),
                ("decided_on", 11.0),
                ("sessions", 8.0),
                ("person_times", 8.0),
            ],
            Ledger::Sessions => &[
                PLACE[0],
                PLACE[1],
                PLACE[2],
                ("social_org", 24.0),
                ("service", 22.0),
                ("starts_at", 16.0),
                ("ends_at", 16.0),
                ("location", 16.0),
                ("capacity", 8.0),
                ("registered", 8.0),
                ("attended", 8.0),
                ("state", 8.0),
                ("mean_feedback", 8.0),
            ],
            Ledger::VolunteerTeams => &[
                PLACE[0],
                PLACE[1],
                PLACE[2],
                ("team", 20.0),
                ("team_kind", 10.0),
                ("leader", 10.0),
                ("members", 8.0),
                ("party_members", 8.0),
                ("activities", 8.0),
                ("hours", 8.0),
            ],
        }
    }
}

/// The levels a ledger is exported for.
pub fn is_scope_kind(kind: PlaceKind) -> bool {
    matches!(
        kind,
        PlaceKind::District | PlaceKind::Street | PlaceKind::Community | PlaceKind::Compound
    )
}

/// The roles that export ledgers, each for the node it is granted at and
/// below: the officials of the tree. Owners' committees, property staff,
/// agencies, party members and residents export nothing.
pub fn exports(role: Role) -> bool {
    matches!(
        role,
        Role::DistrictAdmin | Role::StreetAdmin | Role::CommunityWorker | Role::CompoundSecretary
    )
}

/// The ledger named by a request's file name, `<key>.xlsx`.
pub fn parse_file(file: &str) -> Option<Ledger> {
    Ledger::parse(file.strip_suffix(".xlsx")?)
}

/// The name of the downloaded file: `<place>-<ledger>-<date>.xlsx`, with
/// characters a file system refuses replaced.
pub fn file_name(place: &str, title: &str, date: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_control() || "/\\:*?\"<>|".contains(c) {
                    '_'
                } else {
                    c
                }
            })
            .collect()
    };
    format!("{}-{}-{}.xlsx", clean(place), clean(title), date)
}

/// Whether a matter was closed by its deadline: `None` while it is open
/// and not yet late, or when it never had a deadline.
pub fn on_time(
    due: Option<DateTime<Utc>>,
    closed: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<bool> {
    let due = due?;
    match closed {
        Some(c) => Some(c <= due),
        None if now > due => Some(false),
        None => None,
    }
}

/// A mean score with one decimal, or `None` without any score.
pub fn mean(sum: i64, count: i64) -> Option<f64> {
    (count > 0).then(|| (sum as f64 / count as f64 * 10.0).round() / 10.0)
}

/// RFC 5987 encoding of a file name for `Content-Disposition`.
pub fn encode_filename(name: &str) -> String {
    let mut out = String::with_capacity(name.len() * 3);
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use proptest::prelude::*;

    #[test]
    fn every_ledger_parses_back_and_has_place_columns() {
        for l in Ledger::ALL {
            assert_eq!(Ledger::parse(l.as_str()), Some(l));
            assert_eq!(parse_file(&format!("{}.xlsx", l.as_str())), Some(l));
            assert!(l.columns().iter().any(|(c, _)| *c == "street"));
            assert!(l.offered_at(PlaceKind::District) && l.offered_at(PlaceKind::Street));
        }
        assert_eq!(parse_file("compounds"), None);
        assert_eq!(parse_file("compounds.csv"), None);
        assert_eq!(parse_file("nothing.xlsx"), None);
    }

    #[test]
    fn joint_meetings_are_a_street_ledger() {
        assert!(!Ledger::JointMeetings.offered_at(PlaceKind::Community));
        assert!(!Ledger::JointMeetings.offered_at(PlaceKind::Compound));
        assert!(Ledger::Matters.offered_at(PlaceKind::Compound));
        for l in Ledger::ALL {
            assert!(!l.offered_at(PlaceKind::Building));
            assert!(!l.offered_at(PlaceKind::City));
        }
    }

    #[test]
    fn only_officials_export() {
        let yes: Vec<Role> = Role::ALL.into_iter().filter(|r| exports(*r)).collect();
        assert_eq!(
            yes,
            [
                Role::DistrictAdmin,
                Role::StreetAdmin,
                Role::CommunityWorker,
                Role::CompoundSecretary
            ]
        );
    }

    #[test]
    fn on_time_reads_the_deadline() {
        let now = Utc::now();
        let due = now - Duration::hours(1);
        assert_eq!(on_time(None, Some(now), now), None);
        assert_eq!(on_time(Some(due), Some(due), now), Some(true));
        assert_eq!(on_time(Some(due), Some(now), now), Some(false));
        assert_eq!(on_time(Some(due), None, now), Some(false));
        assert_eq!(on_time(Some(now + Duration::hours(1)), None, now), None);
        assert_eq!(mean(0, 0), None);
        assert_eq!(mean(9, 2), Some(4.5));
    }

    proptest! {
        #[test]
        fn file_names_are_safe(place in "\\PC{0,20}", title in "\\PC{0,20}") {
            let name = file_name(&place, &title, "2026-12-01");
            prop_assert!(name.ends_with("-2026-12-01.xlsx"));
            prop_assert!(!name.chars().any(|c| c.is_control() || "/\\:*?\"<>|".contains(c)));
            let enc = encode_filename(&name);
            prop_assert!(enc.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)));
        }

        #[test]
        fn a_file_name_names_a_ledger_only_with_its_suffix(s in "[a-z_]{0,20}") {
            let parsed = parse_file(&s);
            prop_assert_eq!(parsed, None);
            prop_assert_eq!(parse_file(&format!("{s}.xlsx")), Ledger::parse(&s));
        }
    }
}
