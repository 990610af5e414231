//! Roles and what each may do where. A role is granted at a node of the
//! place tree and reaches that node's subtree, except where noted.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::place::PlaceKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// District organisation department (or the same power at a city or
    /// province node): everything in the subtree.
    DistrictAdmin,
    /// A street or town party committee.
    StreetAdmin,
    /// A community worker of a community (or village).
    CommunityWorker,
    /// The secretary of a compound's party organisation.
    CompoundSecretary,
    /// A member of a compound's owners' committee.
    OwnersCommittee,
    /// Staff of the property company serving a compound.
    PropertyStaff,
    /// The admin of an agency: reaches the compounds paired with the agency.
    AgencyAdmin,
    /// A party member, granted at the dwelling where they live.
    PartyMember,
    /// An owner or resident, granted at their dwelling.
    Resident,
}

/// How deep an action goes into the records of a place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// What the compound's public board shows: names, types, the committee
    /// and company serving it.
    Public,
    /// The registry: buildings, dwellings, owners (phones masked).
    Registry,
    /// Unmasked personal data (phones, ID numbers); every such read is audited.
    Personal,
    /// Creating and changing registry records.
    Edit,
}

impl Role {
    pub const ALL: [Role; 9] = [
        Role::DistrictAdmin,
        Role::StreetAdmin,
        Role::CommunityWorker,
        Role::CompoundSecretary,
        Role::OwnersCommittee,
        Role::PropertyStaff,
        Role::AgencyAdmin,
        Role::PartyMember,
        Role::Resident,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::DistrictAdmin => "district_admin",
            Role::StreetAdmin => "street_admin",
            Role::CommunityWorker => "community_worker",
            Role::CompoundSecretary => "compound_secretary",
            Role::OwnersCommittee => "owners_committee",
            Role::PropertyStaff => "property_staff",
            Role::AgencyAdmin => "agency_admin",
            Role::PartyMember => "party_member",
            Role::Resident => "resident",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label_key(self) -> String {
        format!("role.{}", self.as_str())
    }

    /// The kinds of node this role may be granted at.
    pub fn granted_at(self) -> &'static [PlaceKind] {
        match self {
            Role::DistrictAdmin => &[PlaceKind::Province, PlaceKind::City, PlaceKind::District],
            Role::StreetAdmin => &[PlaceKind::Street],
            Role::CommunityWorker => &[PlaceKind::Community],
            Role::CompoundSecretary | Role::OwnersCommittee | Role::PropertyStaff => {
                &[PlaceKind::Compound]
            }
            Role::AgencyAdmin => &[PlaceKind::District],
            Role::PartyMember | Role::Resident => &[PlaceKind::Dwelling],
        }
    }

    /// The deepest access this role has within its reach.
    pub fn max_access(self) -> Access {
        match self {
            Role::DistrictAdmin | Role::StreetAdmin | Role::CommunityWorker => Access::Edit,
            Role::CompoundSecretary => Access::Personal,
            Role::OwnersCommittee | Role::PropertyStaff => Access::Registry,
            Role::AgencyAdmin | Role::PartyMember | Role::Resident => Access::Public,
        }
    }

    /// Whether a holder of this role may invite someone to `other` (within
    /// their own reach): administrators invite the levels below them.
    pub fn may_invite(self, other: Role) -> bool {
        match self {
            Role::DistrictAdmin => true,
            Role::StreetAdmin => other != Role::DistrictAdmin && other != Role::AgencyAdmin,
            Role::CommunityWorker => matches!(
                other,
                Role::CompoundSecretary
                    | Role::OwnersCommittee
                    | Role::PropertyStaff
                    | Role::PartyMember
                    | Role::Resident
            ),
            Role::CompoundSecretary => matches!(other, Role::PartyMember | Role::Resident),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn nobody_invites_above_themselves() {
        assert!(!Role::StreetAdmin.may_invite(Role::DistrictAdmin));
        assert!(!Role::Resident.may_invite(Role::Resident));
        assert!(Role::CommunityWorker.may_invite(Role::CompoundSecretary));
        assert!(!Role::CommunityWorker.may_invite(Role::StreetAdmin));
    }
}
