//! Queries of agencies, pairings and selection rounds.

use std::collections::HashMap;

use chrono::Utc;
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::place::entity as place;
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::entity::{
    agency, agency_account, agency_pairing, round_agency_preference, round_compound_preference,
    selection_round,
};
use crate::rules::Route;

/// District places by their district code.
pub async fn districts(db: &impl ConnectionTrait) -> Result<HashMap<String, place::Model>, DbErr> {
    Ok(place::Entity::find()
        .filter(place::Column::Kind.eq(PlaceKind::District.as_str()))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|p| Some((p.district_code.clone()?, p)))
        .collect())
}

pub async fn district(
    db: &impl ConnectionTrait,
    code: &str,
) -> Result<Option<place::Model>, DbErr> {
    place::Entity::find()
        .filter(place::Column::Kind.eq(PlaceKind::District.as_str()))
        .filter(place::Column::DistrictCode.eq(code))
        .one(db)
        .await
}

pub async fn agencies_of_district(
    db: &impl ConnectionTrait,
    code: &str,
) -> Result<Vec<agency::Model>, DbErr> {
    agency::Entity::find()
        .filter(agency::Column::DistrictCode.eq(code))
        .order_by_asc(agency::Column::Id)
        .all(db)
        .await
}

pub async fn name_taken(
    db: &impl ConnectionTrait,
    code: &str,
    name: &str,
    except: Option<i64>,
) -> Result<bool, DbErr> {
    let mut q = agency::Entity::find()
        .filter(agency::Column::DistrictCode.eq(code))
        .filter(agency::Column::Name.eq(name));
    if let Some(id) = except {
        q = q.filter(agency::Column::Id.ne(id));
    }
    Ok(q.count(db).await? > 0)
}

/// Whether the account is linked to the agency.
pub async fn administers(
    db: &impl ConnectionTrait,
    account_id: i64,
    agency_id: i64,
) -> Result<bool, DbErr> {
    Ok(agency_account::Entity::find()
        .filter(agency_account::Column::AccountId.eq(account_id))
        .filter(agency_account::Column::AgencyId.eq(agency_id))
        .count(db)
        .await?
        > 0)
}

pub async fn accounts_of(
    db: &impl ConnectionTrait,
    agency_id: i64,
) -> Result<Vec<agency_account::Model>, DbErr> {
    agency_account::Entity::find()
        .filter(agency_account::Column::AgencyId.eq(agency_id))
        .order_by_asc(agency_account::Column::Id)
        .all(db)
        .await
}

/// Pairings of an agency (or a compound), current first, newest first.
pub async fn pairings(
    db: &impl ConnectionTrait,
    agency_id: Option<i64>,
    compound_id: Option<i64>,
) -> Result<Vec<agency_pairing::Model>, DbErr> {
    let mut q = agency_pairing::Entity::find();
    if let Some(a) = agency_id {
        q = q.filter(agency_pairing::Column::AgencyId.eq(a));
    }
    if let Some(c) = compound_id {
        q = q.filter(agency_pairing::Column::CompoundId.eq(c));
    }
    let mut rows = q.order_by_desc(agency_pairing::Column::Id).all(db).await?;
    rows.sort_by_key(|p| p.ended_at.is_some());
    Ok(rows)
}

pub async fn current_pairing(
    db: &impl ConnectionTrait,
    agency_id: i64,
    compound_id: i64,
) -> Result<Option<agency_pairing::Model>, DbErr> {
    agency_pairing::Entity::find()
        .filter(agency_pairing::Column::AgencyId.eq(agency_id))
        .filter(agency_pairing::Column::CompoundId.eq(compound_id))
        .filter(agency_pairing::Column::EndedAt.is_null())
        .one(db)
        .await
}

/// Current pairings of a district's agencies.
pub async fn current_pairings_in(
    db: &impl ConnectionTrait,
    district_code: &str,
) -> Result<Vec<agency_pairing::Model>, DbErr> {
    agency_pairing::Entity::find()
        .filter(agency_pairing::Column::DistrictCode.eq(district_code))
        .filter(agency_pairing::Column::EndedAt.is_null())
        .all(db)
        .await
}

/// Starts a pairing of an agency with a compound.
pub async fn pair(
    db: &impl ConnectionTrait,
    agency: &agency::Model,
    compound: &place::Model,
    route: Route,
    round_id: Option<i64>,
    by: i64,
) -> Result<i64, DbErr> {
    let row = agency_pairing::Entity::insert(agency_pairing::ActiveModel {
        agency_id: Set(agency.id),
        compound_id: Set(compound.id),
        district_code: Set(agency.district_code.clone()),
        street_id: Set(compound.street_id),
        community_id: Set(compound.community_id),
        route: Set(route.as_str().into()),
        round_id: Set(round_id),
        started_at: Set(Utc::now()),
        ended_at: Set(None),
        end_reason: Set(None),
        created_by: Set(Some(by)),
        ended_by: Set(None),
        ..Default::default()
    })
    .exec(db)
    .await?;
    Ok(row.last_insert_id)
}

/// Compounds of a round's scope (a street, or a whole district).
pub async fn compounds_in(
    db: &impl ConnectionTrait,
    scope: &place::Model,
) -> Result<Vec<place::Model>, DbErr> {
    let mut q = place::Entity::find().filter(place::Column::Kind.eq(PlaceKind::Compound.as_str()));
    q = if scope.kind == PlaceKind::Street.as_str() {
        q.filter(place::Column::StreetId.eq(scope.id))
    } else {
        q.filter(place::Column::DistrictCode.eq(scope.district_code.clone()))
    };
    q.order_by_asc(place::Column::Id).all(db).await
}

pub async fn places(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, place::Model>, DbErr> {
    jinlin_places::store::by_ids(db, ids.iter().copied()).await
}

pub async fn rounds(db: &impl ConnectionTrait) -> Result<Vec<selection_round::Model>, DbErr> {
    selection_round::Entity::find()
        .order_by_desc(selection_round::Column::Id)
        .all(db)
        .await
}

pub async fn agency_preferences(
    db: &impl ConnectionTrait,
    round_id: i64,
) -> Result<Vec<round_agency_preference::Model>, DbErr> {
    round_agency_preference::Entity::find()
        .filter(round_agency_preference::Column::RoundId.eq(round_id))
        .order_by_asc(round_agency_preference::Column::AgencyId)
        .all(db)
        .await
}

pub async fn compound_preferences(
    db: &impl ConnectionTrait,
    round_id: i64,
) -> Result<Vec<round_compound_preference::Model>, DbErr> {
    round_compound_preference::Entity::find()
        .filter(round_compound_preference::Column::RoundId.eq(round_id))
        .order_by_asc(round_compound_preference::Column::CompoundId)
        .all(db)
        .await
}

/// A JSON id list as stored in a preference row.
pub fn ranks(json: &str) -> Vec<i64> {
    serde_json::from_str(json).unwrap_or_default()
}

/// Takes a round's row lock for the rest of the transaction (PostgreSQL;
/// SQLite's write transaction already holds the database), so preferences
/// and the solve of one round run in turn.
pub async fn lock_round(tx: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    selection_round::Entity::find_by_id(id)
        .select_only()
        .column(selection_round::Column::Id)
        .lock_exclusive()
        .into_tuple::<i64>()
        .one(tx)
        .await?;
    Ok(())
}

/// Takes an agency's row lock: its pairings start and end in turn.
pub async fn lock_agency(tx: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    agency::Entity::find_by_id(id)
        .select_only()
        .column(agency::Column::Id)
        .lock_exclusive()
        .into_tuple::<i64>()
        .one(tx)
        .await?;
    Ok(())
}
