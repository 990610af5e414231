//! Queries of pilots and tracked indicators, and the records the
//! indicators are computed from.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use jinlin_agencies::entity::agency_pairing;
use jinlin_deliberation::entity::matter as deliberation;
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::place::entity as place;
use jinlin_places::entity::{compound, dwelling};
use jinlin_resident_matters::entity::matter as resident_matter;
use jinlin_resident_matters::rules::{Satisfaction, State as MatterState};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::entity::{pilot_compound, pilot_indicator};
use crate::rules::{self, Facts, Indicator, PilotType};

/// Ids per `IN (…)` list.
const CHUNK: usize = 500;

pub async fn place(db: &impl ConnectionTrait, id: i64) -> Result<Option<place::Model>, DbErr> {
    place::Entity::find_by_id(id).one(db).await
}

pub async fn places(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = i64>,
) -> Result<HashMap<i64, place::Model>, DbErr> {
    jinlin_places::store::by_ids(db, ids).await
}

fn is_street(p: &place::Model) -> bool {
    p.kind == PlaceKind::Street.as_str()
}

/// Compounds of a street or a district, by id.
pub async fn compounds_in(
    db: &impl ConnectionTrait,
    scope: &place::Model,
) -> Result<Vec<place::Model>, DbErr> {
    let q = place::Entity::find().filter(place::Column::Kind.eq(PlaceKind::Compound.as_str()));
    let q = if is_street(scope) {
        q.filter(place::Column::StreetId.eq(scope.id))
    } else {
        q.filter(place::Column::DistrictCode.eq(scope.district_code.clone()))
    };
    q.order_by_asc(place::Column::Id).all(db).await
}

/// Streets of a district in division order (or the street itself).
pub async fn streets_in(
    db: &impl ConnectionTrait,
    scope: &place::Model,
) -> Result<Vec<place::Model>, DbErr> {
    if is_street(scope) {
        return Ok(vec![scope.clone()]);
    }
    place::Entity::find()
        .filter(place::Column::Kind.eq(PlaceKind::Street.as_str()))
        .filter(place::Column::DistrictCode.eq(scope.district_code.clone()))
        .order_by_asc(place::Column::Code)
        .order_by_asc(place::Column::Id)
        .all(db)
        .await
}

/// Designations in a street or a district: current first, newest first.
pub async fn pilots_in(
    db: &impl ConnectionTrait,
    scope: &place::Model,
    current_only: bool,
) -> Result<Vec<pilot_compound::Model>, DbErr> {
    let mut q = pilot_compound::Entity::find();
    q = if is_street(scope) {
        q.filter(pilot_compound::Column::StreetId.eq(scope.id))
    } else {
        q.filter(pilot_compound::Column::DistrictCode.eq(scope.district_code.clone()))
    };
    if current_only {
        q = q.filter(pilot_compound::Column::EndedAt.is_null());
    }
    let mut rows = q
        .order_by_desc(pilot_compound::Column::DesignatedAt)
        .order_by_desc(pilot_compound::Column::Id)
        .all(db)
        .await?;
    rows.sort_by_key(|p| p.ended_at.is_some());
    Ok(rows)
}

pub async fn current_pilot(
    db: &impl ConnectionTrait,
    compound_id: i64,
) -> Result<Option<pilot_compound::Model>, DbErr> {
    pilot_compound::Entity::find()
        .filter(pilot_compound::Column::CompoundId.eq(compound_id))
        .filter(pilot_compound::Column::EndedAt.is_null())
        .one(db)
        .await
}

/// Takes a compound's place row lock for the rest of the transaction
/// (PostgreSQL; SQLite's write transaction holds the database), so two
/// designations of one compound run in turn.
pub async fn lock_compound(tx: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    place::Entity::find_by_id(id)
        .select_only()
        .column(place::Column::Id)
        .lock_exclusive()
        .into_tuple::<i64>()
        .one(tx)
        .await?;
    Ok(())
}

pub async fn lock_pilot(tx: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    pilot_compound::Entity::find_by_id(id)
        .select_only()
        .column(pilot_compound::Column::Id)
        .lock_exclusive()
        .into_tuple::<i64>()
        .one(tx)
        .await?;
    Ok(())
}

/// The indicators each street tracks, in its order.
pub async fn tracked(
    db: &impl ConnectionTrait,
    street_ids: &[i64],
) -> Result<HashMap<i64, Vec<Indicator>>, DbErr> {
    let mut out: HashMap<i64, Vec<Indicator>> = HashMap::new();
    for chunk in street_ids.chunks(CHUNK) {
        for row in pilot_indicator::Entity::find()
            .filter(pilot_indicator::Column::StreetId.is_in(chunk.iter().copied()))
            .order_by_asc(pilot_indicator::Column::StreetId)
            .order_by_asc(pilot_indicator::Column::Position)
            .all(db)
            .await?
        {
            if let Some(i) = Indicator::parse(&row.indicator) {
                out.entry(row.street_id).or_default().push(i);
            }
        }
    }
    Ok(out)
}

/// The pilot types each compound's registry classification matches.
pub async fn registry_types(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, Vec<PilotType>>, DbErr> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        for c in compound::Entity::find()
            .filter(compound::Column::PlaceId.is_in(chunk.iter().copied()))
            .all(db)
            .await?
        {
            out.insert(
                c.place_id,
                rules::registry_types(Some(&c.compound_type), Some(&c.town_area)),
            );
        }
    }
    Ok(out)
}

async fn counts_by_compound<E, C>(
    db: &impl ConnectionTrait,
    ids: &[i64],
    compound_col: C,
    extra: impl Fn(sea_orm::Select<E>) -> sea_orm::Select<E>,
) -> Result<HashMap<i64, u32>, DbErr>
where
    E: EntityTrait,
    C: ColumnTrait,
{
    let mut out = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let q = extra(E::find())
            .select_only()
            .column(compound_col)
            .column_as(Expr::col(compound_col).count(), "n")
            .filter(compound_col.is_in(chunk.iter().copied()))
            .group_by(compound_col);
        for (id, n) in q.into_tuple::<(i64, i64)>().all(db).await? {
            out.insert(id, u32::try_from(n).unwrap_or(u32::MAX));
        }
    }
    Ok(out)
}

/// What the records say of each compound of `scope` (`ids` are its
/// compounds), as of `now`.
pub async fn facts(
    db: &impl ConnectionTrait,
    scope: &place::Model,
    ids: &[i64],
    now: DateTime<Utc>,
) -> Result<HashMap<i64, Facts>, DbErr> {
    let mut out: HashMap<i64, Facts> = ids.iter().map(|id| (*id, Facts::default())).collect();
    for r in jinlin_organisations::store::coverage_rows(db, &scope.position()).await? {
        if let Some(f) = out.get_mut(&r.compound_id) {
            f.has_party_org = r.has_org;
            f.covers = r.has_org && jinlin_organisations::rules::covers(r.presence, [r.flags]);
        }
    }
    let dwellings =
        counts_by_compound::<dwelling::Entity, _>(db, ids, dwelling::Column::CompoundId, |q| q)
            .await?;
    let paired = counts_by_compound::<agency_pairing::Entity, _>(
        db,
        ids,
        agency_pairing::Column::CompoundId,
        |q| q.filter(agency_pairing::Column::EndedAt.is_null()),
    )
    .await?;
    let concluded = counts_by_compound::<deliberation::Entity, _>(
        db,
        ids,
        deliberation::Column::CompoundId,
        |q| {
            q.filter(
                deliberation::Column::State
                    .eq(jinlin_deliberation::process::State::Closed.as_str()),
            )
        },
    )
    .await?;
    for (id, f) in out.iter_mut() {
        f.dwellings = dwellings.get(id).copied().unwrap_or(0);
        f.agencies_paired = paired.get(id).copied().unwrap_or(0);
        f.deliberations_concluded = concluded.get(id).copied().unwrap_or(0);
    }
    let since = now - Duration::days(rules::WINDOW_DAYS);
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(i64, String, Option<String>)> = resident_matter::Entity::find()
            .select_only()
            .column(resident_matter::Column::CompoundId)
            .column(resident_matter::Column::State)
            .column(resident_matter::Column::Satisfaction)
            .filter(resident_matter::Column::CompoundId.is_in(chunk.iter().copied()))
            .filter(resident_matter::Column::CreatedAt.gte(since))
            .filter(resident_matter::Column::CreatedAt.lte(now))
            .filter(resident_matter::Column::State.is_not_in([
                MatterState::Merged.as_str(),
                MatterState::Withdrawn.as_str(),
            ]))
            .into_tuple()
            .all(db)
            .await?;
        for (id, state, satisfaction) in rows {
            let Some(f) = out.get_mut(&id) else { continue };
            f.matters += 1;
            if state == MatterState::Closed.as_str() {
                f.matters_closed += 1;
            }
            match satisfaction.as_deref().and_then(Satisfaction::parse) {
                Some(Satisfaction::Satisfied) => f.satisfied += 1,
                Some(Satisfaction::Basically) => f.basically += 1,
                Some(Satisfaction::NotSatisfied) => f.not_satisfied += 1,
                None => {}
            }
        }
    }
    Ok(out)
}
