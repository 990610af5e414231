//! Open311's own reads of residents' matters: who sees which matter as a
//! SQL condition, the filtered list, and the places and timeline entries
//! the documents need, loaded in batches.

use std::collections::HashMap;

use jinlin_kernel::auth::{Principal, Role};
use jinlin_kernel::place::{PlaceKind, entity as place};
use jinlin_resident_matters::entity::{event, matter, reporter};
use jinlin_resident_matters::rules::State;
use sea_orm::sea_query::Query;
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

/// The matters a caller may read: every public matter that was not
/// withdrawn; with a principal, also the matters its grants reach at the
/// registry level (the compound's own bodies and the levels above, a
/// resident's own dwelling) and those it reported.
pub fn visible(who: Option<&Principal>) -> Condition {
    let public = Condition::all()
        .add(matter::Column::Public.eq(true))
        .add(matter::Column::State.ne(State::Withdrawn.as_str()));
    let mut any = Condition::any().add(public);
    let Some(who) = who else { return any };
    for grant in &who.grants {
        let anchor = &grant.place;
        let Some(kind) = anchor.kind else { continue };
        let reach = match (grant.role, kind) {
            (Role::AgencyAdmin, _) => continue,
            (Role::Resident | Role::PartyMember, _) => matter::Column::PlaceId.eq(anchor.id),
            (_, PlaceKind::Province | PlaceKind::City | PlaceKind::District) => {
                let digits = kind.code_digits().unwrap_or(6);
                let prefix = anchor
                    .code
                    .as_deref()
                    .map(|c| c[..digits.min(c.len())].to_string())
                    .or_else(|| anchor.district_code.clone())
                    .unwrap_or_else(|| "-".into());
                matter::Column::DistrictCode.starts_with(prefix)
            }
            (_, PlaceKind::Street) => matter::Column::StreetId.eq(anchor.id),
            (_, PlaceKind::Community) => matter::Column::CommunityId.eq(anchor.id),
            (_, PlaceKind::Compound) => matter::Column::CompoundId.eq(anchor.id),
            (_, _) => matter::Column::PlaceId.eq(anchor.id),
        };
        any = any.add(reach);
    }
    let followed = Query::select()
        .column(reporter::Column::MatterId)
        .from(reporter::Entity)
        .and_where(reporter::Column::AccountId.eq(who.account_id))
        .to_owned();
    any.add(matter::Column::ReporterAccountId.eq(who.account_id))
        .add(matter::Column::Id.in_subquery(followed))
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
