//! Queries of joint meetings, invitees, action items and reminders.

use std::collections::{HashMap, HashSet};

use jinlin_agencies::entity::agency_account;
use jinlin_kernel::auth::entity::{account, role_grant};
use jinlin_kernel::auth::{Principal, Role};
use jinlin_kernel::place::entity as place;
use jinlin_kernel::place::{PlaceKind, Position};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::entity::{joint_meeting, joint_meeting_action, joint_meeting_invitee};
use crate::rules::{ActionState, InviteeKind, Quarter};

pub async fn place(db: &impl ConnectionTrait, id: i64) -> Result<Option<place::Model>, DbErr> {
    place::Entity::find_by_id(id).one(db).await
}

pub async fn places(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = i64>,
) -> Result<HashMap<i64, place::Model>, DbErr> {
    jinlin_places::store::by_ids(db, ids).await
}

/// The streets of a district or of a larger area (by code prefix), or the
/// street itself; in division order.
pub async fn streets_in(
    db: &impl ConnectionTrait,
    scope: &place::Model,
) -> Result<Vec<place::Model>, DbErr> {
    if scope.kind == PlaceKind::Street.as_str() {
        return Ok(vec![scope.clone()]);
    }
    let kind = PlaceKind::parse(&scope.kind);
    let digits = kind.and_then(PlaceKind::code_digits).unwrap_or(6);
    let prefix: String = scope
        .code
        .clone()
        .unwrap_or_default()
        .chars()
        .take(digits)
        .collect();
    if prefix.is_empty() {
        return Ok(Vec::new());
    }
    place::Entity::find()
        .filter(place::Column::Kind.eq(PlaceKind::Street.as_str()))
        .filter(place::Column::Code.starts_with(&prefix))
        .order_by_asc(place::Column::Code)
        .order_by_asc(place::Column::Id)
        .all(db)
        .await
}

/// Every street of every district (the reminder's round).
pub async fn all_streets(db: &impl ConnectionTrait) -> Result<Vec<place::Model>, DbErr> {
    place::Entity::find()
        .filter(place::Column::Kind.eq(PlaceKind::Street.as_str()))
        .order_by_asc(place::Column::Id)
        .all(db)
        .await
}

pub async fn meeting(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<joint_meeting::Model>, DbErr> {
    joint_meeting::Entity::find_by_id(id).one(db).await
}

/// Meetings of some streets, newest first.
pub async fn meetings_of_streets(
    db: &impl ConnectionTrait,
    street_ids: &[i64],
) -> Result<Vec<joint_meeting::Model>, DbErr> {
    if street_ids.is_empty() {
        return Ok(Vec::new());
    }
    joint_meeting::Entity::find()
        .filter(joint_meeting::Column::StreetId.is_in(street_ids.iter().copied()))
        .order_by_desc(joint_meeting::Column::ScheduledAt)
        .order_by_desc(joint_meeting::Column::Id)
        .all(db)
        .await
}

/// Meetings of some streets in one quarter.
pub async fn meetings_in_quarter(
    db: &impl ConnectionTrait,
    street_ids: &[i64],
    q: Quarter,
) -> Result<Vec<joint_meeting::Model>, DbErr> {
    if street_ids.is_empty() {
        return Ok(Vec::new());
    }
    joint_meeting::Entity::find()
        .filter(joint_meeting::Column::StreetId.is_in(street_ids.iter().copied()))
        .filter(joint_meeting::Column::Year.eq(q.year))
        .filter(joint_meeting::Column::Quarter.eq(i16::from(q.q)))
        .order_by_asc(joint_meeting::Column::ScheduledAt)
        .all(db)
        .await
}

pub async fn meetings_by_id(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<Vec<joint_meeting::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    joint_meeting::Entity::find()
        .filter(joint_meeting::Column::Id.is_in(ids.iter().copied()))
        .order_by_desc(joint_meeting::Column::ScheduledAt)
        .order_by_desc(joint_meeting::Column::Id)
        .all(db)
        .await
}

pub async fn invitees(
    db: &impl ConnectionTrait,
    meeting_ids: &[i64],
) -> Result<Vec<joint_meeting_invitee::Model>, DbErr> {
    if meeting_ids.is_empty() {
        return Ok(Vec::new());
    }
    joint_meeting_invitee::Entity::find()
        .filter(joint_meeting_invitee::Column::MeetingId.is_in(meeting_ids.iter().copied()))
        .order_by_asc(joint_meeting_invitee::Column::Id)
        .all(db)
        .await
}

pub async fn actions(
    db: &impl ConnectionTrait,
    meeting_ids: &[i64],
) -> Result<Vec<joint_meeting_action::Model>, DbErr> {
    if meeting_ids.is_empty() {
        return Ok(Vec::new());
    }
    joint_meeting_action::Entity::find()
        .filter(joint_meeting_action::Column::MeetingId.is_in(meeting_ids.iter().copied()))
        .order_by_asc(joint_meeting_action::Column::MeetingId)
        .order_by_asc(joint_meeting_action::Column::Position)
        .all(db)
        .await
}

/// Open action items of some streets.
pub async fn open_actions_of_streets(
    db: &impl ConnectionTrait,
    street_ids: &[i64],
) -> Result<Vec<joint_meeting_action::Model>, DbErr> {
    if street_ids.is_empty() {
        return Ok(Vec::new());
    }
    joint_meeting_action::Entity::find()
        .filter(joint_meeting_action::Column::State.eq(ActionState::Open.as_str()))
        .filter(joint_meeting_action::Column::StreetId.is_in(street_ids.iter().copied()))
        .order_by_asc(joint_meeting_action::Column::DueOn)
        .order_by_asc(joint_meeting_action::Column::Id)
        .all(db)
        .await
}

pub async fn invitees_by_id(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = i64>,
) -> Result<HashMap<i64, joint_meeting_invitee::Model>, DbErr> {
    let ids: Vec<i64> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(joint_meeting_invitee::Entity::find()
        .filter(joint_meeting_invitee::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|i| (i.id, i))
        .collect())
}

/// Takes a meeting's row lock for the rest of the transaction (PostgreSQL;
/// SQLite's write transaction already holds the database), so its
/// changes, record and cancellation run in turn.
pub async fn lock_meeting(tx: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    joint_meeting::Entity::find_by_id(id)
        .select_only()
        .column(joint_meeting::Column::Id)
        .lock_exclusive()
        .into_tuple::<i64>()
        .one(tx)
        .await?;
    Ok(())
}

pub async fn lock_action(tx: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    joint_meeting_action::Entity::find_by_id(id)
        .select_only()
        .column(joint_meeting_action::Column::Id)
        .lock_exclusive()
        .into_tuple::<i64>()
        .one(tx)
        .await?;
    Ok(())
}

/// Agencies the account administers.
pub async fn agencies_of_account(
    db: &impl ConnectionTrait,
    account_id: i64,
) -> Result<HashSet<i64>, DbErr> {
    Ok(agency_account::Entity::find()
        .filter(agency_account::Column::AccountId.eq(account_id))
        .all(db)
        .await?
        .into_iter()
        .map(|a| a.agency_id)
        .collect())
}

/// The bodies a principal answers for: the communities it works in, the
/// compounds whose party organisation it leads, the agencies it
/// administers.
#[derive(Debug, Clone, Default)]
pub struct Bodies {
    pub communities: HashSet<i64>,
    pub compounds: HashSet<i64>,
    pub agencies: HashSet<i64>,
}

impl Bodies {
    pub async fn of(db: &impl ConnectionTrait, user: &Principal) -> Result<Bodies, DbErr> {
        let mut b = Bodies::default();
        for g in &user.grants {
            match g.role {
                Role::CommunityWorker => {
                    b.communities.insert(g.place.id);
                }
                Role::CompoundSecretary => {
                    b.compounds.insert(g.place.id);
                }
                _ => {}
            }
        }
        if user.has_role(Role::AgencyAdmin) {
            b.agencies = agencies_of_account(db, user.account_id).await?;
        }
        Ok(b)
    }

    pub fn is_empty(&self) -> bool {
        self.communities.is_empty() && self.compounds.is_empty() && self.agencies.is_empty()
    }

    /// Whether the principal answers for this invitee.
    pub fn answers_for(&self, i: &joint_meeting_invitee::Model) -> bool {
        match InviteeKind::parse(&i.kind) {
            Some(InviteeKind::Agency) => self.agencies.contains(&i.ref_id),
            Some(InviteeKind::Community) => {
                i.place_id.is_some_and(|p| self.communities.contains(&p))
            }
            Some(InviteeKind::PartyOrg) => i.place_id.is_some_and(|p| self.compounds.contains(&p)),
            None => false,
        }
    }
}

/// Meetings to which one of `bodies` was invited.
pub async fn meetings_invited(
    db: &impl ConnectionTrait,
    bodies: &Bodies,
) -> Result<Vec<i64>, DbErr> {
    if bodies.is_empty() {
        return Ok(Vec::new());
    }
    let mut any = Condition::any();
    if !bodies.agencies.is_empty() {
        any = any.add(
            Condition::all()
                .add(joint_meeting_invitee::Column::Kind.eq(InviteeKind::Agency.as_str()))
                .add(joint_meeting_invitee::Column::RefId.is_in(bodies.agencies.iter().copied())),
        );
    }
    if !bodies.communities.is_empty() {
        any = any.add(
            Condition::all()
                .add(joint_meeting_invitee::Column::Kind.eq(InviteeKind::Community.as_str()))
                .add(
                    joint_meeting_invitee::Column::PlaceId
                        .is_in(bodies.communities.iter().copied()),
                ),
        );
    }
    if !bodies.compounds.is_empty() {
        any = any.add(
            Condition::all()
                .add(joint_meeting_invitee::Column::Kind.eq(InviteeKind::PartyOrg.as_str()))
                .add(
                    joint_meeting_invitee::Column::PlaceId.is_in(bodies.compounds.iter().copied()),
                ),
        );
    }
    let mut ids: Vec<i64> = joint_meeting_invitee::Entity::find()
        .select_only()
        .column(joint_meeting_invitee::Column::MeetingId)
        .filter(any)
        .into_tuple::<i64>()
        .all(db)
        .await?;
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// Meetings of the streets a principal administers (as district or
/// street admin), newest first, at most `limit`.
pub async fn meetings_administered(
    db: &impl ConnectionTrait,
    user: &Principal,
    limit: u64,
) -> Result<Vec<joint_meeting::Model>, DbErr> {
    let mut any = Condition::any();
    let mut some = false;
    for g in &user.grants {
        match (g.role, g.place.kind) {
            (Role::StreetAdmin, Some(PlaceKind::Street)) => {
                any = any.add(joint_meeting::Column::StreetId.eq(g.place.id));
                some = true;
            }
            (Role::DistrictAdmin, Some(k)) => {
                let digits = k.code_digits().unwrap_or(6);
                let prefix: String = g
                    .place
                    .code
                    .clone()
                    .unwrap_or_default()
                    .chars()
                    .take(digits.min(6))
                    .collect();
                if !prefix.is_empty() {
                    any = any.add(joint_meeting::Column::DistrictCode.starts_with(&prefix));
                    some = true;
                }
            }
            _ => {}
        }
    }
    if !some {
        return Ok(Vec::new());
    }
    joint_meeting::Entity::find()
        .filter(any)
        .order_by_desc(joint_meeting::Column::ScheduledAt)
        .order_by_desc(joint_meeting::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Enabled accounts holding `role` at one of `places`.
pub async fn accounts_with_role(
    db: &impl ConnectionTrait,
    role: Role,
    places: &[i64],
) -> Result<Vec<i64>, DbErr> {
    if places.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = role_grant::Entity::find()
        .select_only()
        .column(role_grant::Column::AccountId)
        .filter(role_grant::Column::Role.eq(role.as_str()))
        .filter(role_grant::Column::PlaceId.is_in(places.iter().copied()))
        .into_tuple::<i64>()
        .all(db)
        .await?;
    enabled(db, ids).await
}

async fn enabled(db: &impl ConnectionTrait, mut ids: Vec<i64>) -> Result<Vec<i64>, DbErr> {
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(ids);
    }
    account::Entity::find()
        .select_only()
        .column(account::Column::Id)
        .filter(account::Column::Id.is_in(ids))
        .filter(account::Column::Disabled.eq(false))
        .order_by_asc(account::Column::Id)
        .into_tuple::<i64>()
        .all(db)
        .await
}

/// The accounts that answer for an invited body: the agency's admins, the
/// community's workers, the compound party secretary.
pub async fn owner_accounts(
    db: &impl ConnectionTrait,
    i: &joint_meeting_invitee::Model,
) -> Result<Vec<i64>, DbErr> {
    match InviteeKind::parse(&i.kind) {
        Some(InviteeKind::Agency) => {
            let ids = agency_account::Entity::find()
                .filter(agency_account::Column::AgencyId.eq(i.ref_id))
                .all(db)
                .await?
                .into_iter()
                .map(|a| a.account_id)
                .collect();
            enabled(db, ids).await
        }
        Some(InviteeKind::Community) => match i.place_id {
            Some(p) => accounts_with_role(db, Role::CommunityWorker, &[p]).await,
            None => Ok(Vec::new()),
        },
        Some(InviteeKind::PartyOrg) => match i.place_id {
            Some(p) => accounts_with_role(db, Role::CompoundSecretary, &[p]).await,
            None => Ok(Vec::new()),
        },
        None => Ok(Vec::new()),
    }
}

/// Languages chosen by accounts (none: the default).
pub async fn languages(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, Option<String>>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(account::Entity::find()
        .filter(account::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a.language))
        .collect())
}

/// Marks an overdue item as notified unless another run did; true if this
/// run is the one that notifies.
pub async fn claim_overdue_notice(
    db: &impl ConnectionTrait,
    id: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, DbErr> {
    let r = joint_meeting_action::Entity::update_many()
        .col_expr(
            joint_meeting_action::Column::OverdueNotifiedAt,
            Expr::value(now),
        )
        .filter(joint_meeting_action::Column::Id.eq(id))
        .filter(joint_meeting_action::Column::OverdueNotifiedAt.is_null())
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Open items past their due date whose owners were not told yet.
pub async fn overdue_unnotified(
    db: &impl ConnectionTrait,
    today: chrono::NaiveDate,
) -> Result<Vec<joint_meeting_action::Model>, DbErr> {
    joint_meeting_action::Entity::find()
        .filter(joint_meeting_action::Column::State.eq(ActionState::Open.as_str()))
        .filter(joint_meeting_action::Column::DueOn.lt(today))
        .filter(joint_meeting_action::Column::OverdueNotifiedAt.is_null())
        .order_by_asc(joint_meeting_action::Column::Id)
        .all(db)
        .await
}

/// Whether `p` lies in or below `scope`.
pub fn within(p: &place::Model, scope: &Position) -> bool {
    p.position().is_within(scope)
}
