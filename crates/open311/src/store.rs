//! Open311's own reads of residents' matters: who sees which matter as a
//! SQL condition, the filtered list, and the places and timeline entries
//! the documents need, loaded in batches.

use std::collections::HashMap;

use jinlin_kernel::auth::Principal;
use jinlin_kernel::place::{PlaceKind, entity as place};
use jinlin_resident_matters::entity::{event, matter, reporter};
use jinlin_resident_matters::matters::scope_condition;
use jinlin_resident_matters::rules::State;
use sea_orm::sea_query::{Query, UnionType};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::rules::{Filter, MAX_RESULTS, Status};

/// States a listing shows as `open`, and as `closed`.
pub fn states_of(status: Status) -> Vec<&'static str> {
    State::ALL
        .into_iter()
        .filter(|s| Status::of_state(s.as_str()) == status)
        .map(State::as_str)
        .collect()
}

/// Whether callers without a key see public matters. Residents are told a
/// public matter is seen by the compound's residents, so the open web does
/// not see it unless that promise changes.
pub const ANONYMOUS_SEES_PUBLIC: bool = false;

/// The matters a caller may read: with a principal, the residents' matters
/// rule (`scope_condition`: the compound's bodies, the community, street
/// and district over it, an agency's dispatched matters, the compound's
/// residents for public matters) and the matters it reported; without one,
/// nothing unless [`ANONYMOUS_SEES_PUBLIC`].
pub fn visible(who: Option<&Principal>) -> Condition {
    let Some(who) = who else {
        return if ANONYMOUS_SEES_PUBLIC {
            Condition::all()
                .add(matter::Column::Public.eq(true))
                .add(matter::Column::State.ne(State::Withdrawn.as_str()))
        } else {
            Condition::all().add(matter::Column::Id.lt(0))
        };
    };
    // One set of ids, not an `OR` of the three: PostgreSQL reads an `OR`
    // with a subquery in it by scanning every matter.
    let mut ids = Query::select()
        .column(matter::Column::Id)
        .from(matter::Entity)
        .cond_where(scope_condition(who))
        .to_owned();
    ids.union(
        UnionType::All,
        Query::select()
            .column(matter::Column::Id)
            .from(matter::Entity)
            .and_where(matter::Column::ReporterAccountId.eq(who.account_id))
            .to_owned(),
    )
    .union(
        UnionType::All,
        Query::select()
            .column(reporter::Column::MatterId)
            .from(reporter::Entity)
            .and_where(reporter::Column::AccountId.eq(who.account_id))
            .to_owned(),
    );
    Condition::all().add(matter::Column::Id.in_subquery(ids))
}

/// The matters `filter` selects among those `scope` lets the caller read,
/// newest first, at most [`MAX_RESULTS`].
pub async fn list(
    db: &impl ConnectionTrait,
    scope: Condition,
    filter: &Filter,
    category_ids: Option<Vec<i64>>,
) -> Result<Vec<matter::Model>, DbErr> {
    let mut q = matter::Entity::find().filter(scope);
    match filter {
        Filter::Ids(ids) => q = q.filter(matter::Column::Id.is_in(ids.clone())),
        Filter::Search {
            statuses,
            start,
            end,
            ..
        } => {
            if let Some(ids) = category_ids {
                q = q.filter(matter::Column::CategoryId.is_in(ids));
            }
            if !statuses.is_empty() {
                let states: Vec<&str> = statuses.iter().flat_map(|s| states_of(*s)).collect();
                q = q.filter(matter::Column::State.is_in(states));
            }
            q = q.filter(matter::Column::CreatedAt.gte(*start));
            if let Some(end) = end {
                q = q.filter(matter::Column::CreatedAt.lte(*end));
            }
        }
    }
    q.order_by_desc(matter::Column::CreatedAt)
        .order_by_desc(matter::Column::Id)
        .limit(MAX_RESULTS)
        .all(db)
        .await
}

/// One matter if the caller may read it.
pub async fn find_visible(
    db: &impl ConnectionTrait,
    scope: Condition,
    id: i64,
) -> Result<Option<matter::Model>, DbErr> {
    matter::Entity::find()
        .filter(scope)
        .filter(matter::Column::Id.eq(id))
        .one(db)
        .await
}

/// Places by id, for addresses and handlers' names.
pub async fn places(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = i64>,
) -> Result<HashMap<i64, place::Model>, DbErr> {
    let mut ids: Vec<i64> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    let mut found = HashMap::new();
    for chunk in ids.chunks(500) {
        for p in place::Entity::find()
            .filter(place::Column::Id.is_in(chunk.to_vec()))
            .all(db)
            .await?
        {
            found.insert(p.id, p);
        }
    }
    Ok(found)
}

/// For each matter, the timeline entry that brought it into the state it
/// is in now (the latest one leading to that state).
pub async fn status_events(
    db: &impl ConnectionTrait,
    matters: &[matter::Model],
) -> Result<HashMap<i64, event::Model>, DbErr> {
    let mut found: HashMap<i64, event::Model> = HashMap::new();
    for chunk in matters.chunks(500) {
        let ids: Vec<i64> = chunk.iter().map(|m| m.id).collect();
        let events = event::Entity::find()
            .filter(event::Column::MatterId.is_in(ids))
            .filter(event::Column::ToState.is_not_null())
            .order_by_asc(event::Column::Id)
            .all(db)
            .await?;
        for e in events {
            let current = chunk
                .iter()
                .find(|m| m.id == e.matter_id)
                .map(|m| m.state.as_str());
            if e.to_state.as_deref() == current {
                found.insert(e.matter_id, e);
            }
        }
    }
    Ok(found)
}

/// Whether `code` is the district code of any place (a known jurisdiction).
pub async fn jurisdiction_exists(db: &impl ConnectionTrait, code: &str) -> Result<bool, DbErr> {
    Ok(place::Entity::find()
        .filter(place::Column::DistrictCode.eq(code))
        .filter(place::Column::Kind.eq(PlaceKind::District.as_str()))
        .one(db)
        .await?
        .is_some())
}
