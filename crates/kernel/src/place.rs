//! The place tree as every capability sees it: the kinds of node, and a
//! node's position (its ancestors at each level), which is all a scope check
//! needs.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Levels of the tree, top down. Province and city sit above the district
/// so the national division codes import whole.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PlaceKind {
    Province,
    City,
    District,
    Street,
    Community,
    Compound,
    Building,
    Entrance,
    Dwelling,
}

impl PlaceKind {
    pub const ALL: [PlaceKind; 9] = [
        PlaceKind::Province,
        PlaceKind::City,
        PlaceKind::District,
        PlaceKind::Street,
        PlaceKind::Community,
        PlaceKind::Compound,
        PlaceKind::Building,
        PlaceKind::Entrance,
        PlaceKind::Dwelling,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PlaceKind::Province => "province",
            PlaceKind::City => "city",
            PlaceKind::District => "district",
            PlaceKind::Street => "street",
            PlaceKind::Community => "community",
            PlaceKind::Compound => "compound",
            PlaceKind::Building => "building",
            PlaceKind::Entrance => "entrance",
            PlaceKind::Dwelling => "dwelling",
        }
    }

    pub fn parse(s: &str) -> Option<PlaceKind> {
        PlaceKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The kind of a node's children, if it has any.
    pub fn child(self) -> Option<PlaceKind> {
        let i = PlaceKind::ALL.iter().position(|k| *k == self)?;
        PlaceKind::ALL.get(i + 1).copied()
    }

    /// The kind of a node's parent, if it has one.
    pub fn parent(self) -> Option<PlaceKind> {
        let i = PlaceKind::ALL.iter().position(|k| *k == self)?;
        i.checked_sub(1).map(|i| PlaceKind::ALL[i])
    }

    /// Levels that carry a national statistical division code.
    pub fn has_division_code(self) -> bool {
        self <= PlaceKind::Community
    }

    /// Digits of the national code that identify a node of this kind.
    pub fn code_digits(self) -> Option<usize> {
        match self {
            PlaceKind::Province => Some(2),
            PlaceKind::City => Some(4),
            PlaceKind::District => Some(6),
            PlaceKind::Street => Some(9),
            PlaceKind::Community => Some(12),
            _ => None,
        }
    }

    /// Translation key of the kind's name.
    pub fn label_key(self) -> String {
        format!("place.kind.{}", self.as_str())
    }
}

/// Where a node sits: its own id and kind, and its ancestors' ids. The
/// database keeps these columns on every place row.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Position {
    pub id: i64,
    pub kind: Option<PlaceKind>,
    /// 12-digit national code (down to community).
    pub code: Option<String>,
    /// 6-digit district code; none above the district.
    pub district_code: Option<String>,
    pub street_id: Option<i64>,
    pub community_id: Option<i64>,
    pub compound_id: Option<i64>,
    pub building_id: Option<i64>,
    pub entrance_id: Option<i64>,
}

impl Position {
    /// Whether this node is `anchor` or lies in its subtree.
    pub fn is_within(&self, anchor: &Position) -> bool {
        if self.id == anchor.id {
            return true;
        }
        let (Some(kind), Some(anchor_kind)) = (self.kind, anchor.kind) else {
            return false;
        };
        if kind <= anchor_kind {
            return false;
        }
        match anchor_kind {
            PlaceKind::Province | PlaceKind::City | PlaceKind::District => {
                let digits = anchor_kind.code_digits().unwrap_or(6);
                let own = self
                    .code
                    .as_deref()
                    .or(self.district_code.as_deref())
                    .unwrap_or("");
                match anchor.code.as_deref() {
                    Some(code) if code.len() >= digits && own.len() >= digits => {
                        own[..digits] == code[..digits]
                    }
                    _ => false,
                }
            }
            PlaceKind::Street => self.street_id == Some(anchor.id),
            PlaceKind::Community => self.community_id == Some(anchor.id),
            PlaceKind::Compound => self.compound_id == Some(anchor.id),
            PlaceKind::Building => self.building_id == Some(anchor.id),
            PlaceKind::Entrance => self.entrance_id == Some(anchor.id),
            PlaceKind::Dwelling => false,
        }
    }

    /// The id of this node's ancestor of `kind` (itself if of that kind).
    pub fn ancestor_id(&self, kind: PlaceKind) -> Option<i64> {
        if self.kind == Some(kind) {
            return Some(self.id);
        }
        match kind {
            PlaceKind::Street => self.street_id,
            PlaceKind::Community => self.community_id,
            PlaceKind::Compound => self.compound_id,
            PlaceKind::Building => self.building_id,
            PlaceKind::Entrance => self.entrance_id,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn district() -> Position {
        Position {
            id: 1,
            kind: Some(PlaceKind::District),
            code: Some("350104000000".into()),
            district_code: Some("350104".into()),
            ..Default::default()
        }
    }

    fn dwelling(compound: i64, street: i64) -> Position {
        Position {
            id: 99,
            kind: Some(PlaceKind::Dwelling),
            district_code: Some("350104".into()),
            street_id: Some(street),
            community_id: Some(20),
            compound_id: Some(compound),
            building_id: Some(40),
            entrance_id: Some(50),
            ..Default::default()
        }
    }

    #[test]
    fn subtree_membership_follows_the_ancestor_columns() {
        let compound = Position {
            id: 30,
            kind: Some(PlaceKind::Compound),
            district_code: Some("350104".into()),
            street_id: Some(10),
            community_id: Some(20),
            ..Default::default()
        };
        assert!(dwelling(30, 10).is_within(&compound));
        assert!(!dwelling(31, 10).is_within(&compound));
        assert!(dwelling(31, 10).is_within(&district()));
        let other_district = Position {
            id: 2,
            kind: Some(PlaceKind::District),
            code: Some("350105000000".into()),
            district_code: Some("350105".into()),
            ..Default::default()
        };
        assert!(!dwelling(31, 10).is_within(&other_district));
        // A node is within itself, never within its own descendants.
        assert!(compound.is_within(&compound));
        assert!(!compound.is_within(&dwelling(30, 10)));
    }

    #[test]
    fn kinds_chain_up_and_down() {
        assert_eq!(PlaceKind::Community.child(), Some(PlaceKind::Compound));
        assert_eq!(PlaceKind::Dwelling.child(), None);
        assert_eq!(PlaceKind::Province.parent(), None);
        for kind in PlaceKind::ALL {
            assert_eq!(PlaceKind::parse(kind.as_str()), Some(kind));
        }
    }
}

/// The `place` table, shared by every capability that reads positions.
pub mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "place")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub kind: String,
        pub parent_id: Option<i64>,
        pub code: Option<String>,
        pub name: String,
        pub initials: String,
        pub district_code: Option<String>,
        pub street_id: Option<i64>,
        pub community_id: Option<i64>,
        pub compound_id: Option<i64>,
        pub building_id: Option<i64>,
        pub entrance_id: Option<i64>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    impl Model {
        pub fn position(&self) -> super::Position {
            super::Position {
                id: self.id,
                kind: super::PlaceKind::parse(&self.kind),
                code: self.code.clone(),
                district_code: self.district_code.clone(),
                street_id: self.street_id,
                community_id: self.community_id,
                compound_id: self.compound_id,
                building_id: self.building_id,
                entrance_id: self.entrance_id,
            }
        }
    }
}
