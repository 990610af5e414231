//! Demo data, loaded once by `serve --demo` after the places, accounts and
//! the capabilities before this one.
//!
//! The agencies of a district are the employers its in-service party
//! members name, so the demo's dual reporting finds its agencies. Every
//! agency is paired (directed) with a few compounds spread over the
//! district; the first agency is paired with the compound of the demo's
//! sample accounts and administered by the demo's agency admin.
//! One street holds an open two-way selection round with the other
//! agencies' preferences in, waiting for the demo agency's.

use std::collections::{BTreeSet, HashMap};

use chrono::Utc;
use jinlin_kernel::ApiError;
use jinlin_kernel::auth::Role;
use jinlin_kernel::auth::entity::{account, role_grant};
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::place::entity as place;
use jinlin_people::entity::person;
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::entity::{
    agency, agency_account, agency_member, round_agency_preference, round_compound_preference,
    selection_round,
};
use crate::rules::{Category, RoundState, Route};
use crate::store;

/// Compounds each agency is paired with.
const PAIRINGS_PER_AGENCY: usize = 3;
/// Members listed per agency besides those with an account.
const MEMBERS_PER_AGENCY: usize = 12;

/// The functional category an employer's name suggests.
fn category_of(name: &str) -> Category {
    let has = |words: &[&str]| words.iter().any(|w| name.contains(w));
    if has(&["卫生", "医院"]) {
        Category::Health
    } else if has(&["教育", "大学", "学院", "中学", "小学"]) {
        Category::Education
    } else if has(&["公安"]) {
        Category::PublicSecurity
    } else if has(&["人民政府", "办公厅", "民政"]) {
        Category::CivilAffairs
    } else if has(&["城乡建", "住房", "房管"]) {
        Category::Housing
    } else if has(&["供电", "自来水", "地铁", "港务", "城管", "邮政"]) {
        Category::UrbanManagement
    } else {
        Category::Other
    }
}

/// Fills every district that has compounds and no agencies yet; returns
/// how many records it wrote.
pub async fn seed_demo(db: &impl ConnectionTrait) -> Result<usize, ApiError> {
    let mut written = 0;
    for district in store::districts(db).await?.into_values() {
        written += seed_district(db, &district).await?;
    }
    Ok(written)
}

async fn seed_district(
    db: &impl ConnectionTrait,
    district: &place::Model,
) -> Result<usize, ApiError> {
    let Some(code) = district.district_code.clone() else {
        return Ok(0);
    };
    if !store::agencies_of_district(db, &code).await?.is_empty() {
        return Ok(0);
    }
    let compounds = store::compounds_in(db, district).await?;
    if compounds.is_empty() {
        return Ok(0);
    }
    let employers: BTreeSet<String> = person::Entity::find()
        .select_only()
        .column(person::Column::Employer)
        .filter(person::Column::DistrictCode.eq(code.as_str()))
        .filter(person::Column::PartyMember.eq(true))
        .filter(person::Column::Employer.is_not_null())
        .distinct()
        .into_tuple::<Option<String>>()
        .all(db)
        .await?
        .into_iter()
        .flatten()
        .collect();
    if employers.is_empty() {
        return Ok(0);
    }
    let now = Utc::now();
    let mut written = 0;

    // The compound of the demo's sample accounts (the first with a
    // resident) comes first, so the demo agency admin, secretary and
    // resident meet over one pairing.
    let first_resident = role_grant::Entity::find()
        .filter(role_grant::Column::Role.eq(Role::Resident.as_str()))
        .filter(role_grant::Column::DistrictCode.eq(code.as_str()))
        .order_by_asc(role_grant::Column::PlaceId)
        .one(db)
        .await?;
    let sample_compound = match first_resident {
        Some(g) => place::Entity::find_by_id(g.place_id)
            .one(db)
            .await?
            .and_then(|d| d.compound_id),
        None => None,
    };
    let mut order: Vec<&place::Model> = compounds.iter().collect();
    if let Some(id) = sample_compound
        && let Some(i) = order.iter().position(|c| c.id == id)
    {
        let c = order.remove(i);
        order.insert(0, c);
    }

    let mut agencies = Vec::new();
    for name in &employers {
        let a = agency::Entity::insert(agency::ActiveModel {
            district_code: Set(code.clone()),
            name: Set(name.clone()),
            category: Set(category_of(name).as_str().into()),
            party_org_name: Set(format!("中共{name}委员会")),
            contact: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .exec_with_returning(db)
        .await?;
        agencies.push(a);
        written += 1;
    }

    // Directed pairings: agency i takes compounds i, i + n, i + 2n, … of
    // the order above (wrapping), so pairings spread over the streets.
    let n = agencies.len();
    let admin = role_grant::Entity::find()
        .filter(role_grant::Column::Role.eq(Role::DistrictAdmin.as_str()))
        .filter(role_grant::Column::PlaceId.eq(district.id))
        .one(db)
        .await?
        .map(|g| g.account_id);
    for (i, a) in agencies.iter().enumerate() {
        let mut taken = BTreeSet::new();
        for k in 0..PAIRINGS_PER_AGENCY {
            let c = order[(i + k * n) % order.len()];
            if taken.insert(c.id) {
                store::pair(db, a, c, Route::Directed, None, admin.unwrap_or(0)).await?;
                written += 1;
            }
        }
    }

    // The demo agency admin administers the first agency.
    let agency_admins = role_grant::Entity::find()
        .filter(role_grant::Column::Role.eq(Role::AgencyAdmin.as_str()))
        .filter(role_grant::Column::PlaceId.eq(district.id))
        .all(db)
        .await?;
    for g in &agency_admins {
        agency_account::Entity::insert(agency_account::ActiveModel {
            agency_id: Set(agencies[0].id),
            district_code: Set(code.clone()),
            account_id: Set(g.account_id),
            created_at: Set(now),
            ..Default::default()
        })
        .exec(db)
        .await?;
        written += 1;
    }

    written += seed_members(db, &code, &agencies).await?;
    written += seed_round(db, &order, &agencies, admin).await?;
    Ok(written)
}

/// Members: every party member with an account whose employer is an
/// agency, then a few more party members per agency.
async fn seed_members(
    db: &impl ConnectionTrait,
    code: &str,
    agencies: &[agency::Model],
) -> Result<usize, ApiError> {
    let by_name: HashMap<&str, i64> = agencies.iter().map(|a| (a.name.as_str(), a.id)).collect();
    let member_grants = role_grant::Entity::find()
        .filter(role_grant::Column::Role.eq(Role::PartyMember.as_str()))
        .filter(role_grant::Column::DistrictCode.eq(code))
        .all(db)
        .await?;
    let accounts: HashMap<i64, i64> = account::Entity::find()
        .filter(account::Column::Id.is_in(member_grants.iter().map(|g| g.account_id)))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|a| Some((a.person_id?, a.id)))
        .collect();
    let mut people = person::Entity::find()
        .filter(person::Column::Id.is_in(accounts.keys().copied()))
        .all(db)
        .await?;
    let mut per_agency: HashMap<i64, usize> = HashMap::new();
    for p in person::Entity::find()
        .filter(person::Column::DistrictCode.eq(code))
        .filter(person::Column::PartyMember.eq(true))
        .filter(person::Column::Employer.is_not_null())
        .order_by_asc(person::Column::Id)
        .limit((agencies.len() * MEMBERS_PER_AGENCY * 4) as u64)
        .all(db)
        .await?
    {
        let Some(&agency_id) = p.employer.as_deref().and_then(|e| by_name.get(e)) else {
            continue;
        };
        let seen = per_agency.entry(agency_id).or_default();
        if *seen < MEMBERS_PER_AGENCY && !accounts.contains_key(&p.id) {
            *seen += 1;
            people.push(p);
        }
    }
    let now = Utc::now();
    let rows: Vec<agency_member::ActiveModel> = people
        .iter()
        .filter_map(|p| {
            let agency_id = *by_name.get(p.employer.as_deref()?)?;
            Some(agency_member::ActiveModel {
                agency_id: Set(agency_id),
                district_code: Set(code.to_string()),
                person_id: Set(Some(p.id)),
                account_id: Set(accounts.get(&p.id).copied()),
                name: Set(p.name.clone()),
                role: Set("党员".into()),
                created_at: Set(now),
                ..Default::default()
            })
        })
        .collect();
    let written = rows.len();
    for chunk in rows.chunks(500) {
        agency_member::Entity::insert_many(chunk.to_vec())
            .exec(db)
            .await?;
    }
    Ok(written)
}

/// An open round on the street of the first compound: every agency but
/// the demo's has ranked compounds of the street, and so has every
/// compound but the first (whose secretary is a demo account).
async fn seed_round(
    db: &impl ConnectionTrait,
    order: &[&place::Model],
    agencies: &[agency::Model],
    admin: Option<i64>,
) -> Result<usize, ApiError> {
    let Some(street_id) = order[0].street_id else {
        return Ok(0);
    };
    let Some(street) = place::Entity::find_by_id(street_id).one(db).await? else {
        return Ok(0);
    };
    let compounds: Vec<i64> = store::compounds_in(db, &street)
        .await?
        .iter()
        .map(|c| c.id)
        .collect();
    let now = Utc::now();
    let round = selection_round::Entity::insert(selection_round::ActiveModel {
        district_code: Set(street.district_code.clone().unwrap_or_default()),
        scope_place_id: Set(street.id),
        scope_kind: Set(PlaceKind::Street.as_str().into()),
        name: Set(format!("{}双向选择（第四季度）", street.name)),
        state: Set(RoundState::Open.as_str().into()),
        report: Set(None),
        created_by: Set(admin),
        created_at: Set(now),
        solved_at: Set(None),
        ..Default::default()
    })
    .exec_with_returning(db)
    .await?;
    let mut written = 1;
    let district_code = round.district_code.clone();
    for (i, a) in agencies.iter().enumerate().skip(1).take(8) {
        let ranks: Vec<i64> = compounds
            .iter()
            .cycle()
            .skip(i % compounds.len())
            .take(compounds.len().min(3))
            .copied()
            .collect();
        round_agency_preference::Entity::insert(round_agency_preference::ActiveModel {
            round_id: Set(round.id),
            district_code: Set(district_code.clone()),
            agency_id: Set(a.id),
            capacity: Set(1),
            ranks: Set(serde_json::to_string(&ranks).unwrap_or_default()),
            submitted_by: Set(None),
            updated_at: Set(now),
            ..Default::default()
        })
        .exec(db)
        .await?;
        written += 1;
    }
    let ranked: Vec<i64> = agencies.iter().take(4).map(|a| a.id).collect();
    for (i, &c) in compounds.iter().enumerate().skip(1).take(8) {
        let mut ranks = ranked.clone();
        let shift = i % ranks.len();
        ranks.rotate_left(shift);
        round_compound_preference::Entity::insert(round_compound_preference::ActiveModel {
            round_id: Set(round.id),
            district_code: Set(district_code.clone()),
            compound_id: Set(c),
            ranks: Set(serde_json::to_string(&ranks).unwrap_or_default()),
            needs: Set(NEEDS[i % NEEDS.len()].into()),
            submitted_by: Set(None),
            updated_at: Set(now),
            ..Default::default()
        })
        .exec(db)
        .await?;
        written += 1;
    }
    Ok(written)
}

const NEEDS: [&str; 4] = [
    "老旧小区加装电梯协调，停车位不足",
    "四点钟学校缺少辅导老师",
    "老年人慢病随访和义诊",
    "夜间治安巡逻力量不足",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn employers_fall_into_the_category_their_name_suggests() {
        assert_eq!(category_of("福州市教育局"), Category::Education);
        assert_eq!(category_of("福建医科大学"), Category::Education);
        assert_eq!(category_of("福建医科大学附属协和医院"), Category::Health);
        assert_eq!(category_of("福州市第一医院"), Category::Health);
        assert_eq!(category_of("福州市公安局"), Category::PublicSecurity);
        assert_eq!(category_of("福州市仓山区人民政府"), Category::CivilAffairs);
        assert_eq!(
            category_of("福州地铁集团有限公司"),
            Category::UrbanManagement
        );
        assert_eq!(category_of("兴业银行福州分行"), Category::Other);
    }
}
