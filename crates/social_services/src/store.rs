//! Queries of organisations, admissions, services, sessions and their
//! registrations.

use std::collections::HashMap;

use jinlin_kernel::place::entity as place;
use jinlin_kernel::place::{PlaceKind, Position};
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use crate::entity::{
    service, service_compound, service_kind, service_session, session_feedback,
    session_registration, social_org, social_org_account, social_org_admission,
};
use crate::rules::{AdmissionState, Grouped, Level, Tally};

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

pub async fn places(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, place::Model>, DbErr> {
    jinlin_places::store::by_ids(db, ids.iter().copied()).await
}

/// Organisations the account works for.
pub async fn orgs_of_account(
    db: &impl ConnectionTrait,
    account_id: i64,
) -> Result<Vec<i64>, DbErr> {
    Ok(social_org_account::Entity::find()
        .filter(social_org_account::Column::AccountId.eq(account_id))
        .all(db)
        .await?
        .into_iter()
        .map(|l| l.org_id)
        .collect())
}

pub async fn accounts_of(
    db: &impl ConnectionTrait,
    org_id: i64,
) -> Result<Vec<social_org_account::Model>, DbErr> {
    social_org_account::Entity::find()
        .filter(social_org_account::Column::OrgId.eq(org_id))
        .order_by_asc(social_org_account::Column::Id)
        .all(db)
        .await
}

pub async fn orgs(db: &impl ConnectionTrait) -> Result<Vec<social_org::Model>, DbErr> {
    social_org::Entity::find()
        .order_by_asc(social_org::Column::DistrictCode)
        .order_by_asc(social_org::Column::Name)
        .all(db)
        .await
}

pub async fn orgs_by_id(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, social_org::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(social_org::Entity::find()
        .filter(social_org::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect())
}

pub async fn code_taken(db: &impl ConnectionTrait, code: &str) -> Result<bool, DbErr> {
    Ok(social_org::Entity::find()
        .filter(social_org::Column::RegistrationNo.eq(code))
        .count(db)
        .await?
        > 0)
}

/// An organisation's admissions, newest first.
pub async fn admissions_of(
    db: &impl ConnectionTrait,
    org_id: i64,
) -> Result<Vec<social_org_admission::Model>, DbErr> {
    social_org_admission::Entity::find()
        .filter(social_org_admission::Column::OrgId.eq(org_id))
        .order_by_desc(social_org_admission::Column::Id)
        .all(db)
        .await
}

/// Admissions in a subtree (of a district, street, community or compound).
pub async fn admissions_under(
    db: &impl ConnectionTrait,
    anchor: &Position,
    state: Option<AdmissionState>,
) -> Result<Vec<social_org_admission::Model>, DbErr> {
    let mut q = social_org_admission::Entity::find().filter(under(
        anchor,
        social_org_admission::Column::DistrictCode,
        social_org_admission::Column::StreetId,
        social_org_admission::Column::CommunityId,
        social_org_admission::Column::CompoundId,
    ));
    if let Some(s) = state {
        q = q.filter(social_org_admission::Column::State.eq(s.as_str()));
    }
    q.order_by_desc(social_org_admission::Column::Id)
        .all(db)
        .await
}

/// The open (applied or approved) admission of an organisation at a compound.
pub async fn open_admission(
    db: &impl ConnectionTrait,
    org_id: i64,
    compound_id: i64,
) -> Result<Option<social_org_admission::Model>, DbErr> {
    social_org_admission::Entity::find()
        .filter(social_org_admission::Column::OrgId.eq(org_id))
        .filter(social_org_admission::Column::CompoundId.eq(compound_id))
        .filter(social_org_admission::Column::State.is_in([
            AdmissionState::Applied.as_str(),
            AdmissionState::Approved.as_str(),
        ]))
        .one(db)
        .await
}

pub async fn admitted(
    db: &impl ConnectionTrait,
    org_id: i64,
    compound_id: i64,
) -> Result<bool, DbErr> {
    Ok(open_admission(db, org_id, compound_id)
        .await?
        .is_some_and(|a| a.state == AdmissionState::Approved.as_str()))
}

/// A filter of rows carrying the place columns to the subtree of `anchor`.
fn under<C: ColumnTrait>(
    anchor: &Position,
    district: C,
    street: C,
    community: C,
    compound: C,
) -> Condition {
    let c = Condition::all();
    match anchor.kind {
        Some(PlaceKind::Street) => c.add(street.eq(anchor.id)),
        Some(PlaceKind::Community) => c.add(community.eq(anchor.id)),
        Some(PlaceKind::Compound) => c.add(compound.eq(anchor.id)),
        Some(PlaceKind::District) => {
            c.add(district.eq(anchor.district_code.clone().unwrap_or_default()))
        }
        Some(PlaceKind::City | PlaceKind::Province) => {
            let digits = anchor.kind.and_then(|k| k.code_digits()).unwrap_or(6);
            let prefix: String = anchor
                .code
                .clone()
                .unwrap_or_default()
                .chars()
                .take(digits)
                .collect();
            c.add(district.starts_with(prefix))
        }
        // Below a compound nothing is held.
        _ => c.add(compound.eq(-1)),
    }
}

pub async fn custom_kinds(
    db: &impl ConnectionTrait,
    district_code: &str,
) -> Result<Vec<service_kind::Model>, DbErr> {
    service_kind::Entity::find()
        .filter(service_kind::Column::DistrictCode.eq(district_code))
        .order_by_asc(service_kind::Column::Id)
        .all(db)
        .await
}

pub async fn services_of_org(
    db: &impl ConnectionTrait,
    org_id: i64,
) -> Result<Vec<service::Model>, DbErr> {
    service::Entity::find()
        .filter(service::Column::OrgId.eq(org_id))
        .order_by_asc(service::Column::Id)
        .all(db)
        .await
}

pub async fn service_compounds(
    db: &impl ConnectionTrait,
    service_ids: &[i64],
) -> Result<HashMap<i64, Vec<i64>>, DbErr> {
    let mut out: HashMap<i64, Vec<i64>> = HashMap::new();
    if service_ids.is_empty() {
        return Ok(out);
    }
    for r in service_compound::Entity::find()
        .filter(service_compound::Column::ServiceId.is_in(service_ids.iter().copied()))
        .order_by_asc(service_compound::Column::Id)
        .all(db)
        .await?
    {
        out.entry(r.service_id).or_default().push(r.compound_id);
    }
    Ok(out)
}

pub async fn services_by_id(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, service::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(service::Entity::find()
        .filter(service::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect())
}

pub async fn sessions_of_service(
    db: &impl ConnectionTrait,
    service_id: i64,
) -> Result<Vec<service_session::Model>, DbErr> {
    service_session::Entity::find()
        .filter(service_session::Column::ServiceId.eq(service_id))
        .order_by_desc(service_session::Column::StartsAt)
        .all(db)
        .await
}

/// Sessions in the given communities (or compounds), ordered by start.
pub async fn sessions_in(
    db: &impl ConnectionTrait,
    communities: &[i64],
    compounds: &[i64],
    from: Option<chrono::DateTime<chrono::Utc>>,
    limit: u64,
) -> Result<Vec<service_session::Model>, DbErr> {
    if communities.is_empty() && compounds.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = service_session::Entity::find().filter(
        Condition::any()
            .add(service_session::Column::CommunityId.is_in(communities.iter().copied()))
            .add(service_session::Column::CompoundId.is_in(compounds.iter().copied())),
    );
    if let Some(f) = from {
        q = q.filter(service_session::Column::EndsAt.gte(f));
    }
    q.order_by_asc(service_session::Column::StartsAt)
        .limit(limit)
        .all(db)
        .await
}

pub async fn sessions_of_orgs(
    db: &impl ConnectionTrait,
    orgs: &[i64],
    limit: u64,
) -> Result<Vec<service_session::Model>, DbErr> {
    if orgs.is_empty() {
        return Ok(Vec::new());
    }
    service_session::Entity::find()
        .filter(service_session::Column::OrgId.is_in(orgs.iter().copied()))
        .order_by_desc(service_session::Column::StartsAt)
        .limit(limit)
        .all(db)
        .await
}

/// Takes the session's row lock for the rest of the transaction
/// (PostgreSQL; SQLite's write transaction already holds the database), so
/// the seat count and the registration row change together.
pub async fn lock_session(tx: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    service_session::Entity::find_by_id(id)
        .select_only()
        .column(service_session::Column::Id)
        .lock_exclusive()
        .into_tuple::<i64>()
        .one(tx)
        .await?;
    Ok(())
}

pub async fn registration_of(
    db: &impl ConnectionTrait,
    session_id: i64,
    account_id: i64,
) -> Result<Option<session_registration::Model>, DbErr> {
    session_registration::Entity::find()
        .filter(session_registration::Column::SessionId.eq(session_id))
        .filter(session_registration::Column::AccountId.eq(account_id))
        .one(db)
        .await
}

pub async fn registrations_of(
    db: &impl ConnectionTrait,
    session_id: i64,
) -> Result<Vec<session_registration::Model>, DbErr> {
    session_registration::Entity::find()
        .filter(session_registration::Column::SessionId.eq(session_id))
        .order_by_asc(session_registration::Column::Id)
        .all(db)
        .await
}

pub async fn registrations_of_account(
    db: &impl ConnectionTrait,
    account_id: i64,
) -> Result<Vec<session_registration::Model>, DbErr> {
    session_registration::Entity::find()
        .filter(session_registration::Column::AccountId.eq(account_id))
        .order_by_desc(session_registration::Column::Id)
        .all(db)
        .await
}

pub async fn feedback_of_registration(
    db: &impl ConnectionTrait,
    registration_id: i64,
) -> Result<Option<session_feedback::Model>, DbErr> {
    session_feedback::Entity::find()
        .filter(session_feedback::Column::RegistrationId.eq(registration_id))
        .one(db)
        .await
}

pub async fn sessions_by_id(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, service_session::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(service_session::Entity::find()
        .filter(service_session::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect())
}

/// The figures of held sessions (not cancelled, ended by `now`) in a
/// subtree or of one organisation, added up by the database per place at
/// `level` (none: one group per organisation) and organisation: sessions
/// held, and the sums of the counters each session keeps (checked in,
/// feedback count and score sum). One grouped query over the sessions
/// alone; a district's is read from `ix_service_session_figures`.
pub async fn tallies(
    db: &impl ConnectionTrait,
    anchor: Option<&Position>,
    org_id: Option<i64>,
    level: Option<Level>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<Grouped>, DbErr> {
    use sea_orm::sea_query::{Alias, ExprTrait, Query};
    use service_session::Column as S;

    let s = service_session::Entity;
    let key = match level {
        Some(Level::Compound) => Some(S::CompoundId),
        Some(Level::Community) => Some(S::CommunityId),
        Some(Level::Street) => Some(S::StreetId),
        Some(Level::District) => Some(S::DistrictCode),
        None => None,
    };
    let mut q = Query::select();
    q.from(s);
    match key {
        Some(k) => q.expr_as(Expr::col((s, k)), Alias::new("place")),
        None => q.expr_as(Expr::val(Option::<String>::None), Alias::new("place")),
    };
    q.expr_as(Expr::col((s, S::OrgId)), Alias::new("org_id"))
        .expr_as(Expr::col((s, S::Id)).count(), Alias::new("held"))
        .expr_as(Expr::col((s, S::Attended)).sum(), Alias::new("attended"))
        .expr_as(Expr::col((s, S::FeedbackCount)).sum(), Alias::new("scored"))
        .expr_as(Expr::col((s, S::FeedbackSum)).sum(), Alias::new("total"))
        .and_where(Expr::col((s, S::State)).eq("scheduled"))
        .and_where(Expr::col((s, S::EndsAt)).lte(now));
    if let Some(a) = anchor {
        q.cond_where(under_in(a));
    }
    if let Some(o) = org_id {
        q.and_where(Expr::col((s, S::OrgId)).eq(o));
    }
    if let Some(k) = key {
        q.add_group_by([Expr::col((s, k))]);
    }
    q.add_group_by([Expr::col((s, S::OrgId))]);
    let backend = db.get_database_backend();
    let count = |row: &sea_orm::QueryResult, col: &str| -> Result<u64, DbErr> {
        Ok(Ord::max(row.try_get::<Option<i64>>("", col)?.unwrap_or(0), 0) as u64)
    };
    let mut out = Vec::new();
    for row in db.query_all_raw(backend.build(&q)).await? {
        let place = match key {
            Some(S::DistrictCode) => row.try_get::<Option<String>>("", "place")?,
            Some(_) => row
                .try_get::<Option<i64>>("", "place")?
                .map(|p| p.to_string()),
            None => None,
        };
        out.push(Grouped {
            place,
            org_id: row.try_get("", "org_id")?,
            tally: Tally {
                sessions_held: count(&row, "held")?,
                person_times: count(&row, "attended")?,
                feedback_count: count(&row, "scored")?,
                feedback_sum: count(&row, "total")?,
            },
        });
    }
    Ok(out)
}

/// [`under`] for a query built with sea-query: the place columns named
/// with the session table.
fn under_in(anchor: &Position) -> Condition {
    use sea_orm::sea_query::ExprTrait;
    use service_session::Column as S;
    let s = service_session::Entity;
    let c = Condition::all();
    match anchor.kind {
        Some(PlaceKind::Street) => c.add(Expr::col((s, S::StreetId)).eq(anchor.id)),
        Some(PlaceKind::Community) => c.add(Expr::col((s, S::CommunityId)).eq(anchor.id)),
        Some(PlaceKind::Compound) => c.add(Expr::col((s, S::CompoundId)).eq(anchor.id)),
        Some(PlaceKind::District) => c.add(
            Expr::col((s, S::DistrictCode)).eq(anchor.district_code.clone().unwrap_or_default()),
        ),
        Some(PlaceKind::City | PlaceKind::Province) => {
            let digits = anchor.kind.and_then(|k| k.code_digits()).unwrap_or(6);
            let prefix: String = anchor
                .code
                .clone()
                .unwrap_or_default()
                .chars()
                .take(digits)
                .collect();
            c.add(Expr::col((s, S::DistrictCode)).like(format!("{prefix}%")))
        }
        _ => c.add(Expr::col((s, S::CompoundId)).eq(-1)),
    }
}

/// Takes an organisation's row lock: its admissions change in turn.
pub async fn lock_org(tx: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    social_org::Entity::find_by_id(id)
        .select_only()
        .column(social_org::Column::Id)
        .lock_exclusive()
        .into_tuple::<i64>()
        .one(tx)
        .await?;
    Ok(())
}

pub async fn feedback_of_session(
    db: &impl ConnectionTrait,
    session_id: i64,
) -> Result<Vec<session_feedback::Model>, DbErr> {
    session_feedback::Entity::find()
        .filter(session_feedback::Column::SessionId.eq(session_id))
        .all(db)
        .await
}

/// Compounds of a district whose name contains `q` or whose pinyin
/// initials start with it, shortest names first (the search of an
/// application's compound).
pub async fn search_compounds(
    db: &impl ConnectionTrait,
    district_code: &str,
    q: &str,
    limit: u64,
) -> Result<Vec<place::Model>, DbErr> {
    let q = q.trim();
    if q.is_empty() {
        return Ok(Vec::new());
    }
    let escaped = q
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    place::Entity::find()
        .filter(place::Column::Kind.eq(PlaceKind::Compound.as_str()))
        .filter(place::Column::DistrictCode.eq(district_code))
        .filter(
            Condition::any()
                .add(place::Column::Name.contains(&escaped))
                .add(place::Column::Initials.starts_with(escaped.to_lowercase())),
        )
        .order_by_asc(Expr::expr(Func::char_length(Expr::col(
            place::Column::Name,
        ))))
        .order_by_asc(place::Column::Name)
        .limit(limit)
        .all(db)
        .await
}

/// Places of a kind under a parent, by name (streets of a district,
/// communities of a street, compounds of a community).
pub async fn children_of_kind(
    db: &impl ConnectionTrait,
    parent_id: i64,
    kind: PlaceKind,
    limit: u64,
) -> Result<Vec<place::Model>, DbErr> {
    place::Entity::find()
        .filter(place::Column::ParentId.eq(parent_id))
        .filter(place::Column::Kind.eq(kind.as_str()))
        .order_by_asc(place::Column::Code)
        .order_by_asc(place::Column::Name)
        .order_by_asc(place::Column::Id)
        .limit(limit)
        .all(db)
        .await
}
