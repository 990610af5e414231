//! Where the records about a person are: every table that names a person
//! or one of their accounts, with the column that does. The export reads
//! each of them; a table added later that names a person or an account
//! belongs here (the access-matrix test of the export reads them all on
//! both databases, so a wrong name fails it).

/// How a source's rows are tied to the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    /// `column` holds the person's id.
    Person,
    /// `column` holds the id of an account linked to the person.
    Account,
    /// `column` holds the id of one of the person's volunteer memberships.
    VolunteerMember,
    /// `column` holds the id of a rating response given by their accounts.
    RatingResponse,
    /// Audit entries whose object is the person (who read or changed their
    /// record: the processing of their data).
    AuditObject,
}

#[derive(Debug, Clone, Copy)]
pub struct Source {
    /// The section's key (`privacy.section.<key>` is its heading).
    pub key: &'static str,
    pub table: &'static str,
    pub column: &'static str,
    pub by: By,
    /// Columns never exported: secrets of the system (password and token
    /// hashes, CSRF tokens, ballot nonces), not data about the person.
    pub omit: &'static [&'static str],
    /// The newest rows only, for sources that grow without bound.
    pub limit: Option<u64>,
}

const fn s(key: &'static str, table: &'static str, column: &'static str, by: By) -> Source {
    Source {
        key,
        table,
        column,
        by,
        omit: &[],
        limit: None,
    }
}

const fn omitting(mut source: Source, omit: &'static [&'static str]) -> Source {
    source.omit = omit;
    source
}

/// The newest entries kept of sources without bound.
pub const AUDIT_LIMIT: u64 = 1000;

pub const SOURCES: &[Source] = &[
    s("owned", "dwelling_owner", "person_id", By::Person),
    s("lived", "dwelling_resident", "person_id", By::Person),
    omitting(
        s("accounts", "account", "person_id", By::Person),
        &["password_hash"],
    ),
    s("roles", "role_grant", "account_id", By::Account),
    omitting(
        s("sessions", "session", "account_id", By::Account),
        &["id", "csrf_token"],
    ),
    omitting(
        s("api_tokens", "api_token", "account_id", By::Account),
        &["token_hash"],
    ),
    omitting(
        s(
            "calendar_tokens",
            "calendar_token",
            "account_id",
            By::Account,
        ),
        &["token_hash"],
    ),
    omitting(
        s(
            "invitations",
            "invitation",
            "accepted_account_id",
            By::Account,
        ),
        &["token_hash"],
    ),
    s("notifications", "notification", "account_id", By::Account),
    s("matters", "matter", "proposer_account_id", By::Account),
    s("matter_steps", "matter_step", "account_id", By::Account),
    s(
        "matter_comments",
        "matter_comment",
        "account_id",
        By::Account,
    ),
    s(
        "matter_evaluations",
        "matter_evaluation",
        "account_id",
        By::Account,
    ),
    s("electorates", "vote_owner", "person_id", By::Person),
    omitting(
        s("ballots", "vote_ballot", "account_id", By::Account),
        &["nonce"],
    ),
    s(
        "party_orgs_led",
        "party_org",
        "secretary_person_id",
        By::Person,
    ),
    s(
        "party_org_memberships",
        "party_org_member",
        "person_id",
        By::Person,
    ),
    s(
        "committees_chaired",
        "owners_committee",
        "chair_person_id",
        By::Person,
    ),
    s(
        "committee_memberships",
        "owners_committee_member",
        "person_id",
        By::Person,
    ),
    s(
        "rating_responses",
        "rating_response",
        "account_id",
        By::Account,
    ),
    s(
        "rating_scores",
        "rating_score",
        "response_id",
        By::RatingResponse,
    ),
    s(
        "rating_panel_scores",
        "rating_panel_score",
        "account_id",
        By::Account,
    ),
    s(
        "resident_matters",
        "resident_matter",
        "reporter_account_id",
        By::Account,
    ),
    s(
        "resident_matters_for",
        "resident_matter",
        "reporter_person_id",
        By::Person,
    ),
    s(
        "resident_matter_reporters",
        "resident_matter_reporter",
        "person_id",
        By::Person,
    ),
    s(
        "resident_matter_events",
        "resident_matter_event",
        "actor_account_id",
        By::Account,
    ),
    s(
        "resident_matter_credits",
        "resident_matter_credit",
        "person_id",
        By::Person,
    ),
    s(
        "agency_memberships",
        "agency_member",
        "person_id",
        By::Person,
    ),
    s(
        "agency_accounts",
        "agency_account",
        "account_id",
        By::Account,
    ),
    s(
        "project_updates",
        "project_update",
        "account_id",
        By::Account,
    ),
    s(
        "project_evaluations",
        "project_evaluation",
        "account_id",
        By::Account,
    ),
    s(
        "in_service_reports",
        "service_report",
        "person_id",
        By::Person,
    ),
    s("three_ones", "three_ones", "person_id", By::Person),
    s("service_records", "service_record", "person_id", By::Person),
    s(
        "micro_grid_memberships",
        "micro_grid_member",
        "person_id",
        By::Person,
    ),
    s(
        "micro_grids_served",
        "micro_grid",
        "worker_account_id",
        By::Account,
    ),
    s(
        "venue_bookings",
        "venue_booking",
        "organiser_account_id",
        By::Account,
    ),
    s(
        "social_org_accounts",
        "social_org_account",
        "account_id",
        By::Account,
    ),
    s(
        "session_registrations",
        "session_registration",
        "account_id",
        By::Account,
    ),
    s(
        "session_feedback",
        "session_feedback",
        "account_id",
        By::Account,
    ),
    s(
        "volunteer_teams_led",
        "volunteer_team",
        "leader_account_id",
        By::Account,
    ),
    s(
        "volunteer_memberships",
        "volunteer_member",
        "person_id",
        By::Person,
    ),
    s(
        "volunteer_hours",
        "volunteer_activity_credit",
        "member_id",
        By::VolunteerMember,
    ),
    s(
        "patrol_signups",
        "patrol_signup",
        "member_id",
        By::VolunteerMember,
    ),
    s(
        "patrol_logs",
        "patrol_log",
        "member_id",
        By::VolunteerMember,
    ),
    s(
        "mobilisation_marks",
        "mobilisation_household",
        "reached_by",
        By::Account,
    ),
    Source {
        key: "processing",
        table: "audit_log",
        column: "object_id",
        by: By::AuditObject,
        omit: &["chain_hash"],
        limit: Some(AUDIT_LIMIT),
    },
    Source {
        key: "actions",
        table: "audit_log",
        column: "actor_account_id",
        by: By::Account,
        omit: &["chain_hash"],
        limit: Some(AUDIT_LIMIT),
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique() {
        let mut keys: Vec<&str> = SOURCES.iter().map(|s| s.key).collect();
        keys.sort_unstable();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n);
    }

    #[test]
    fn every_section_has_a_heading_in_both_languages() {
        for s in SOURCES {
            let key = format!("privacy.section.{}", s.key);
            for lang in jinlin_kernel::i18n::Lang::ALL {
                assert_ne!(lang.t(&key), key, "{key} in {}", lang.code());
            }
        }
    }
}
