//! A small known place tree and accounts on it, for tests of every
//! capability.
//!
//! ```text
//! 350104 仓山区 (district)
//! ├── 金山街道 (street)
//! │   └── 金山社区 (community)
//! │       ├── 金山花园 (compound)  ── 1号楼 ── 1单元 ── 101, 102
//! │       └── 榕城小区 (compound)  ── 1号楼 ── 1单元 ── 101
//! └── 仓山镇 (street)
//!     └── 仓山村 (community)
//!         └── 城门小区 (compound)  ── 1号楼 ── 1单元 ── 101
//! ```

use chrono::Utc;
use jinlin_kernel::Database;
use jinlin_kernel::auth::{Role, accounts, hash_password};
use jinlin_kernel::place::entity as place;
use sea_orm::ActiveValue::Set;
use sea_orm::EntityTrait;

/// The password of every fixture account.
pub const PASSWORD: &str = "jinlin-test-pw";

#[derive(Debug, Clone, Copy)]
pub struct CompoundIds {
    pub compound: i64,
    pub building: i64,
    pub entrance: i64,
    pub dwellings: [i64; 2],
}

#[derive(Debug, Clone, Copy)]
pub struct Tree {
    pub district: i64,
    pub street: i64,
    pub community: i64,
    /// 金山花园: the compound most tests act on.
    pub compound: CompoundIds,
    /// 榕城小区: a neighbour in the same community.
    pub neighbour: CompoundIds,
    pub other_street: i64,
    pub other_community: i64,
    /// 城门小区: in another street.
    pub far: CompoundIds,
}

struct Ancestors {
    street: Option<i64>,
    community: Option<i64>,
    compound: Option<i64>,
    building: Option<i64>,
    entrance: Option<i64>,
}

async fn insert(
    db: &Database,
    kind: &str,
    parent: Option<i64>,
    code: Option<&str>,
    name: &str,
    a: &Ancestors,
) -> i64 {
    let now = Utc::now();
    place::Entity::insert(place::ActiveModel {
        kind: Set(kind.into()),
        parent_id: Set(parent),
        code: Set(code.map(Into::into)),
        name: Set(name.into()),
        initials: Set(String::new()),
        district_code: Set(Some("350104".into())),
        street_id: Set(a.street),
        community_id: Set(a.community),
        compound_id: Set(a.compound),
        building_id: Set(a.building),
        entrance_id: Set(a.entrance),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec(db.conn())
    .await
    .expect("insert fixture place")
    .last_insert_id
}

async fn compound(
    db: &Database,
    street: i64,
    community: i64,
    name: &str,
    rooms: usize,
) -> CompoundIds {
    let mut a = Ancestors {
        street: Some(street),
        community: Some(community),
        compound: None,
        building: None,
        entrance: None,
    };
    let compound = insert(db, "compound", Some(community), None, name, &a).await;
    a.compound = Some(compound);
    let building = insert(db, "building", Some(compound), None, "1号楼", &a).await;
    a.building = Some(building);
    let entrance = insert(db, "entrance", Some(building), None, "1单元", &a).await;
    a.entrance = Some(entrance);
    let mut dwellings = [0; 2];
    for (i, room) in ["101", "102"].iter().take(rooms).enumerate() {
        dwellings[i] = insert(db, "dwelling", Some(entrance), None, room, &a).await;
    }
    if rooms == 1 {
        dwellings[1] = dwellings[0];
    }
    CompoundIds {
        compound,
        building,
        entrance,
        dwellings,
    }
}

/// A second district, 350102 鼓楼区, with nothing under it: the place of
/// "outside the district" accounts. Returns its id.
pub async fn far_district(db: &Database) -> i64 {
    let now = Utc::now();
    place::Entity::insert(place::ActiveModel {
        kind: Set("district".into()),
        parent_id: Set(None),
        code: Set(Some("350102000000".into())),
        name: Set("鼓楼区".into()),
        initials: Set("glq".into()),
        district_code: Set(Some("350102".into())),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec(db.conn())
    .await
    .expect("insert the far district")
    .last_insert_id
}

/// Builds the tree above.
pub async fn tree(db: &Database) -> Tree {
    let none = Ancestors {
        street: None,
        community: None,
        compound: None,
        building: None,
        entrance: None,
    };
    let district = insert(db, "district", None, Some("350104000000"), "仓山区", &none).await;
    let street = insert(
        db,
        "street",
        Some(district),
        Some("350104008000"),
        "金山街道",
        &none,
    )
    .await;
    let in_street = Ancestors {
        street: Some(street),
        ..none
    };
    let community = insert(
        db,
        "community",
        Some(street),
        Some("350104008001"),
        "金山社区",
        &in_street,
    )
    .await;
    let main = compound(db, street, community, "金山花园", 2).await;
    let neighbour = compound(db, street, community, "榕城小区", 1).await;
    let other_street = insert(
        db,
        "street",
        Some(district),
        Some("350104100000"),
        "仓山镇",
        &Ancestors {
            street: None,
            community: None,
            compound: None,
            building: None,
            entrance: None,
        },
    )
    .await;
    let other_community = insert(
        db,
        "community",
        Some(other_street),
        Some("350104100201"),
        "仓山村",
        &Ancestors {
            street: Some(other_street),
            community: None,
            compound: None,
            building: None,
            entrance: None,
        },
    )
    .await;
    let far = compound(db, other_street, other_community, "城门小区", 1).await;
    Tree {
        district,
        street,
        community,
        compound: main,
        neighbour,
        other_street,
        other_community,
        far,
    }
}

/// Creates an account `username` (password [`PASSWORD`]) holding `role` at
/// `place_id`; returns the account id.
pub async fn account(db: &Database, username: &str, role: Role, place_id: i64) -> i64 {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let hash = HASH
        .get_or_init(|| hash_password(PASSWORD).expect("hash fixture password"))
        .clone();
    let id = accounts::create(
        db.conn(),
        accounts::NewAccount {
            username,
            display_name: username,
            password_hash: hash,
            person_id: None,
        },
    )
    .await
    .expect("create fixture account");
    // The grant carries the district of its place, as the real grant does.
    let district_code = place::Entity::find_by_id(place_id)
        .one(db.conn())
        .await
        .expect("read the fixture place")
        .and_then(|p| p.district_code);
    accounts::grant(db.conn(), id, role, place_id, district_code, None)
        .await
        .expect("grant fixture role");
    id
}
