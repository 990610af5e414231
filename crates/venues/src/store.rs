//! Queries of venues and bookings.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::place::entity as place;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::entity::{venue, venue_booking};
use crate::rules::BookingState;

/// Venues at a place or anywhere under it, by id.
pub async fn venues_under(
    db: &impl ConnectionTrait,
    p: &place::Model,
) -> Result<Vec<venue::Model>, DbErr> {
    let q = venue::Entity::find();
    let q = match PlaceKind::parse(&p.kind) {
        Some(PlaceKind::Compound) => q.filter(venue::Column::CompoundId.eq(p.id)),
        Some(PlaceKind::Community) => q.filter(venue::Column::CommunityId.eq(p.id)),
        Some(PlaceKind::Street) => q.filter(venue::Column::StreetId.eq(p.id)),
        Some(PlaceKind::District) => {
            q.filter(venue::Column::DistrictCode.eq(p.district_code.clone().unwrap_or_default()))
        }
        Some(PlaceKind::Province | PlaceKind::City) => {
            let digits = PlaceKind::parse(&p.kind)
                .and_then(PlaceKind::code_digits)
                .unwrap_or(6);
            let prefix: String = p
                .code
                .clone()
                .unwrap_or_default()
                .chars()
                .take(digits)
                .collect();
            q.filter(venue::Column::DistrictCode.starts_with(prefix))
        }
        // Buildings and below hold no venues.
        _ => q.filter(venue::Column::Id.eq(-1)),
    };
    q.order_by_asc(venue::Column::Id).all(db).await
}

pub async fn places(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, place::Model>, DbErr> {
    jinlin_places::store::by_ids(db, ids.iter().copied()).await
}

/// Bookings of the venues meeting `[from, to)`, by start; confirmed only
/// unless `cancelled` too.
pub async fn bookings_between(
    db: &impl ConnectionTrait,
    venue_ids: &[i64],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    cancelled: bool,
) -> Result<Vec<venue_booking::Model>, DbErr> {
    if venue_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = venue_booking::Entity::find()
        .filter(venue_booking::Column::VenueId.is_in(venue_ids.iter().copied()))
        .filter(venue_booking::Column::StartsAt.lt(to))
        .filter(venue_booking::Column::EndsAt.gt(from));
    if !cancelled {
        q = q.filter(venue_booking::Column::State.eq(BookingState::Confirmed.as_str()));
    }
    q.order_by_asc(venue_booking::Column::StartsAt)
        .order_by_asc(venue_booking::Column::Id)
        .all(db)
        .await
}

/// Bookings an account organises meeting `[from, to)`.
pub async fn bookings_of_organiser(
    db: &impl ConnectionTrait,
    account_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<venue_booking::Model>, DbErr> {
    venue_booking::Entity::find()
        .filter(venue_booking::Column::OrganiserAccountId.eq(account_id))
        .filter(venue_booking::Column::StartsAt.lt(to))
        .filter(venue_booking::Column::EndsAt.gt(from))
        .order_by_asc(venue_booking::Column::StartsAt)
        .all(db)
        .await
}

/// Takes a venue's row lock for the rest of the transaction (PostgreSQL;
/// SQLite's write transaction already holds the database), so the
/// conflict check and the insert of one venue's bookings run in turn.
pub async fn lock_venue(tx: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    venue::Entity::find_by_id(id)
        .select_only()
        .column(venue::Column::Id)
        .lock_exclusive()
        .into_tuple::<i64>()
        .one(tx)
        .await?;
    Ok(())
}
