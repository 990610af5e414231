//! Queries of teams, members, activities and patrols.

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use crate::entity::{
    patrol_log, patrol_shift, patrol_signup, volunteer_activity, volunteer_activity_credit,
    volunteer_member, volunteer_team,
};

/// Active members of a team, in joining order.
pub async fn members(
    db: &impl ConnectionTrait,
    team_id: i64,
) -> Result<Vec<volunteer_member::Model>, DbErr> {
    volunteer_member::Entity::find()
        .filter(volunteer_member::Column::TeamId.eq(team_id))
        .filter(volunteer_member::Column::LeftOn.is_null())
        .order_by_asc(volunteer_member::Column::Id)
        .all(db)
        .await
}

/// The account's active membership of a team.
pub async fn membership(
    db: &impl ConnectionTrait,
    team_id: i64,
    account_id: i64,
) -> Result<Option<volunteer_member::Model>, DbErr> {
    volunteer_member::Entity::find()
        .filter(volunteer_member::Column::TeamId.eq(team_id))
        .filter(volunteer_member::Column::AccountId.eq(account_id))
        .filter(volunteer_member::Column::LeftOn.is_null())
        .one(db)
        .await
}

/// The account's active memberships, any team.
pub async fn memberships_of(
    db: &impl ConnectionTrait,
    account_id: i64,
) -> Result<Vec<volunteer_member::Model>, DbErr> {
    volunteer_member::Entity::find()
        .filter(volunteer_member::Column::AccountId.eq(account_id))
        .filter(volunteer_member::Column::LeftOn.is_null())
        .all(db)
        .await
}

pub async fn teams(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<Vec<volunteer_team::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    volunteer_team::Entity::find()
        .filter(volunteer_team::Column::Id.is_in(ids.iter().copied()))
        .order_by_asc(volunteer_team::Column::Id)
        .all(db)
        .await
}

/// Teams of some districts (all districts when `codes` is `None`).
pub async fn teams_in(
    db: &impl ConnectionTrait,
    codes: Option<&[String]>,
) -> Result<Vec<volunteer_team::Model>, DbErr> {
    let mut q = volunteer_team::Entity::find();
    if let Some(codes) = codes {
        q = q.filter(volunteer_team::Column::DistrictCode.is_in(codes.iter().cloned()));
    }
    q.order_by_asc(volunteer_team::Column::Id).all(db).await
}

pub async fn activities(
    db: &impl ConnectionTrait,
    team_ids: &[i64],
) -> Result<Vec<volunteer_activity::Model>, DbErr> {
    volunteer_activity::Entity::find()
        .filter(volunteer_activity::Column::TeamId.is_in(team_ids.iter().copied()))
        .order_by_desc(volunteer_activity::Column::HeldOn)
        .order_by_desc(volunteer_activity::Column::Id)
        .all(db)
        .await
}

pub async fn credits_of_activities(
    db: &impl ConnectionTrait,
    activity_ids: &[i64],
) -> Result<Vec<volunteer_activity_credit::Model>, DbErr> {
    if activity_ids.is_empty() {
        return Ok(Vec::new());
    }
    volunteer_activity_credit::Entity::find()
        .filter(volunteer_activity_credit::Column::ActivityId.is_in(activity_ids.iter().copied()))
        .all(db)
        .await
}

/// Minutes per member: activity credits plus patrol minutes.
pub async fn minutes_of_members(
    db: &impl ConnectionTrait,
    member_ids: &[i64],
) -> Result<HashMap<i64, i64>, DbErr> {
    let mut out: HashMap<i64, i64> = HashMap::new();
    if member_ids.is_empty() {
        return Ok(out);
    }
    let credits: Vec<(i64, i32)> = volunteer_activity_credit::Entity::find()
        .select_only()
        .column(volunteer_activity_credit::Column::MemberId)
        .column(volunteer_activity_credit::Column::Minutes)
        .filter(volunteer_activity_credit::Column::MemberId.is_in(member_ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    let patrols: Vec<(i64, i32)> = patrol_signup::Entity::find()
        .select_only()
        .column(patrol_signup::Column::MemberId)
        .column(patrol_signup::Column::Minutes)
        .filter(patrol_signup::Column::MemberId.is_in(member_ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    for (m, min) in credits.into_iter().chain(patrols) {
        *out.entry(m).or_default() += min as i64;
    }
    Ok(out)
}

pub async fn shifts(
    db: &impl ConnectionTrait,
    team_ids: &[i64],
) -> Result<Vec<patrol_shift::Model>, DbErr> {
    patrol_shift::Entity::find()
        .filter(patrol_shift::Column::TeamId.is_in(team_ids.iter().copied()))
        .order_by_asc(patrol_shift::Column::StartsAt)
        .all(db)
        .await
}

pub async fn signups(
    db: &impl ConnectionTrait,
    shift_ids: &[i64],
) -> Result<Vec<patrol_signup::Model>, DbErr> {
    if shift_ids.is_empty() {
        return Ok(Vec::new());
    }
    patrol_signup::Entity::find()
        .filter(patrol_signup::Column::ShiftId.is_in(shift_ids.iter().copied()))
        .order_by_asc(patrol_signup::Column::Id)
        .all(db)
        .await
}

pub async fn signup(
    db: &impl ConnectionTrait,
    shift_id: i64,
    member_id: i64,
) -> Result<Option<patrol_signup::Model>, DbErr> {
    patrol_signup::Entity::find()
        .filter(patrol_signup::Column::ShiftId.eq(shift_id))
        .filter(patrol_signup::Column::MemberId.eq(member_id))
        .one(db)
        .await
}

pub async fn signup_count(db: &impl ConnectionTrait, shift_id: i64) -> Result<u64, DbErr> {
    patrol_signup::Entity::find()
        .filter(patrol_signup::Column::ShiftId.eq(shift_id))
        .count(db)
        .await
}

pub async fn logs(
    db: &impl ConnectionTrait,
    shift_id: i64,
) -> Result<Vec<patrol_log::Model>, DbErr> {
    patrol_log::Entity::find()
        .filter(patrol_log::Column::ShiftId.eq(shift_id))
        .order_by_asc(patrol_log::Column::At)
        .order_by_asc(patrol_log::Column::Id)
        .all(db)
        .await
}

/// Takes a shift's row lock for the rest of the transaction (PostgreSQL;
/// SQLite's write transaction already holds the database), so sign-ups for
/// its last places run in turn.
pub async fn lock_shift(tx: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    patrol_shift::Entity::find_by_id(id)
        .select_only()
        .column(patrol_shift::Column::Id)
        .lock_exclusive()
        .into_tuple::<i64>()
        .one(tx)
        .await?;
    Ok(())
}

/// Places by id.
pub async fn places(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, jinlin_kernel::place::entity::Model>, DbErr> {
    jinlin_places::store::by_ids(db, ids.iter().copied()).await
}

/// Teams matching a condition on `volunteer_team`'s place columns.
pub async fn teams_where(
    db: &impl ConnectionTrait,
    scope: Condition,
) -> Result<Vec<volunteer_team::Model>, DbErr> {
    volunteer_team::Entity::find()
        .filter(scope)
        .order_by_asc(volunteer_team::Column::Id)
        .all(db)
        .await
}

/// One team's figures as the database adds them up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TeamTally {
    /// Current members (not left), and party members among them.
    pub members: u64,
    pub party_members: u64,
    pub activities: u64,
    /// Credited minutes: activities' and patrols'.
    pub minutes: i64,
    pub shifts: u64,
    /// Shifts whose every place is taken.
    pub shifts_covered: u64,
}

fn count(n: Option<i64>) -> u64 {
    n.unwrap_or(0).max(0) as u64
}

/// The figures of every team matching `scope` (a condition on
/// `volunteer_team`), keyed by team: three queries grouped by team, over
/// members, activities (each keeping its credits' sum) and shifts (each
/// keeping its sign-ups and minutes), answered from covering indexes.
pub async fn team_tallies(
    db: &impl ConnectionTrait,
    scope: Condition,
) -> Result<HashMap<i64, TeamTally>, DbErr> {
    let teams = Query::select()
        .column(volunteer_team::Column::Id)
        .from(volunteer_team::Entity)
        .cond_where(scope)
        .to_owned();
    let mut out: HashMap<i64, TeamTally> = HashMap::new();
    let rows: Vec<(i64, Option<i64>, Option<i64>)> = volunteer_member::Entity::find()
        .select_only()
        .column(volunteer_member::Column::TeamId)
        .column_as(
            Expr::cust("SUM(CASE WHEN left_on IS NULL THEN 1 ELSE 0 END)"),
            "members",
        )
        .column_as(
            Expr::cust("SUM(CASE WHEN left_on IS NULL AND party_member THEN 1 ELSE 0 END)"),
            "party",
        )
        .filter(volunteer_member::Column::TeamId.in_subquery(teams.clone()))
        .group_by(volunteer_member::Column::TeamId)
        .into_tuple()
        .all(db)
        .await?;
    for (team, members, party) in rows {
        let t = out.entry(team).or_default();
        t.members = count(members);
        t.party_members = count(party);
    }
    let rows: Vec<(i64, i64, Option<i64>)> = volunteer_activity::Entity::find()
        .select_only()
        .column(volunteer_activity::Column::TeamId)
        .column_as(volunteer_activity::Column::Id.count(), "activities")
        .column_as(volunteer_activity::Column::Minutes.sum(), "minutes")
        .filter(volunteer_activity::Column::TeamId.in_subquery(teams.clone()))
        .group_by(volunteer_activity::Column::TeamId)
        .into_tuple()
        .all(db)
        .await?;
    for (team, activities, minutes) in rows {
        let t = out.entry(team).or_default();
        t.activities = count(Some(activities));
        t.minutes += minutes.unwrap_or(0);
    }
    let rows: Vec<(i64, i64, Option<i64>, Option<i64>)> = patrol_shift::Entity::find()
        .select_only()
        .column(patrol_shift::Column::TeamId)
        .column_as(patrol_shift::Column::Id.count(), "shifts")
        .column_as(
            Expr::cust("SUM(CASE WHEN signed_up >= slots THEN 1 ELSE 0 END)"),
            "covered",
        )
        .column_as(patrol_shift::Column::Minutes.sum(), "minutes")
        .filter(patrol_shift::Column::TeamId.in_subquery(teams))
        .group_by(patrol_shift::Column::TeamId)
        .into_tuple()
        .all(db)
        .await?;
    for (team, shifts, covered, minutes) in rows {
        let t = out.entry(team).or_default();
        t.shifts = count(Some(shifts));
        t.shifts_covered = count(covered);
        t.minutes += minutes.unwrap_or(0);
    }
    Ok(out)
}
