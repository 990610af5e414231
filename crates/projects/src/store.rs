//! Queries of needs, projects, their history, updates, photos and
//! evaluations.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use jinlin_agencies::entity::agency_account;
use jinlin_kernel::auth::entity::role_grant;
use jinlin_kernel::auth::{Principal, Role};
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::place::entity as place;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait,
};

use crate::entity::{
    compound_need, project, project_evaluation, project_photo, project_step, project_update,
};
use crate::rules::{Action, Actor, Facts, State};

/// Takes a project's row lock for the rest of the transaction (PostgreSQL;
/// SQLite's write transaction already holds the database), so steps,
/// updates and evaluations of one project run in turn.
pub async fn lock_project(tx: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    project::Entity::find_by_id(id)
        .select_only()
        .column(project::Column::Id)
        .lock_exclusive()
        .into_tuple::<i64>()
        .one(tx)
        .await?;
    Ok(())
}

/// Takes a need's row lock: a withdrawal and a project set on the need
/// run in turn.
pub async fn lock_need(tx: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    compound_need::Entity::find_by_id(id)
        .select_only()
        .column(compound_need::Column::Id)
        .lock_exclusive()
        .into_tuple::<i64>()
        .one(tx)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------- needs

/// A compound's needs, open ones first, newest first.
pub async fn needs_of(
    db: &impl ConnectionTrait,
    compound_ids: &[i64],
) -> Result<Vec<compound_need::Model>, DbErr> {
    if compound_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows = compound_need::Entity::find()
        .filter(compound_need::Column::CompoundId.is_in(compound_ids.iter().copied()))
        .order_by_desc(compound_need::Column::Id)
        .all(db)
        .await?;
    rows.sort_by_key(|n| n.withdrawn_at.is_some());
    Ok(rows)
}

pub async fn need(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<compound_need::Model>, DbErr> {
    compound_need::Entity::find_by_id(id).one(db).await
}

pub async fn needs_by_id(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, compound_need::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(compound_need::Entity::find()
        .filter(compound_need::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|n| (n.id, n))
        .collect())
}

pub async fn insert_need(
    db: &impl ConnectionTrait,
    compound: &place::Model,
    category: &str,
    description: &str,
    by: Option<i64>,
    at: DateTime<Utc>,
) -> Result<compound_need::Model, DbErr> {
    compound_need::Entity::insert(compound_need::ActiveModel {
        district_code: Set(compound.district_code.clone().unwrap_or_default()),
        street_id: Set(compound.street_id),
        community_id: Set(compound.community_id),
        compound_id: Set(compound.id),
        category: Set(category.into()),
        description: Set(description.into()),
        created_by: Set(by),
        created_at: Set(at),
        withdrawn_at: Set(None),
        withdrawn_by: Set(None),
        ..Default::default()
    })
    .exec_with_returning(db)
    .await
}

// ---------------------------------------------------------------- projects

pub async fn project(db: &impl ConnectionTrait, id: i64) -> Result<Option<project::Model>, DbErr> {
    project::Entity::find_by_id(id).one(db).await
}

/// What a new project holds.
pub struct NewRow<'a> {
    pub compound: &'a place::Model,
    pub agency_id: i64,
    pub need_id: i64,
    pub function: &'a str,
    pub title: &'a str,
    pub plan: &'a str,
    pub planned_start: NaiveDate,
    pub planned_end: NaiveDate,
    pub by: Option<i64>,
    pub at: DateTime<Utc>,
}

pub async fn insert_project(
    db: &impl ConnectionTrait,
    n: NewRow<'_>,
) -> Result<project::Model, DbErr> {
    project::Entity::insert(project::ActiveModel {
        district_code: Set(n.compound.district_code.clone().unwrap_or_default()),
        street_id: Set(n.compound.street_id),
        community_id: Set(n.compound.community_id),
        compound_id: Set(n.compound.id),
        agency_id: Set(n.agency_id),
        need_id: Set(n.need_id),
        function: Set(n.function.into()),
        title: Set(n.title.into()),
        plan: Set(n.plan.into()),
        planned_start: Set(n.planned_start),
        planned_end: Set(n.planned_end),
        state: Set(State::Planned.as_str().into()),
        summary: Set(None),
        created_by: Set(n.by),
        created_at: Set(n.at),
        updated_at: Set(n.at),
        started_at: Set(None),
        completed_at: Set(None),
        ..Default::default()
    })
    .exec_with_returning(db)
    .await
}

/// One step to append to a project's history.
pub struct StepRow<'a> {
    pub action: Action,
    pub actor: Actor,
    pub from: Option<State>,
    pub to: State,
    pub account_id: Option<i64>,
    pub actor_name: &'a str,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

/// Appends a step; the sequence follows the project's last step (the
/// caller holds the project's lock).
pub async fn record_step(
    db: &impl ConnectionTrait,
    project_id: i64,
    s: StepRow<'_>,
) -> Result<project_step::Model, DbErr> {
    let last: Option<i32> = project_step::Entity::find()
        .select_only()
        .column_as(project_step::Column::Sequence.max(), "m")
        .filter(project_step::Column::ProjectId.eq(project_id))
        .into_tuple::<Option<i32>>()
        .one(db)
        .await?
        .flatten();
    project_step::Entity::insert(project_step::ActiveModel {
        project_id: Set(project_id),
        sequence: Set(last.unwrap_or(0) + 1),
        action: Set(s.action.as_str().into()),
        actor: Set(s.actor.as_str().into()),
        from_state: Set(s.from.map(|x| x.as_str().to_string())),
        to_state: Set(s.to.as_str().into()),
        account_id: Set(s.account_id),
        actor_name: Set(s.actor_name.chars().take(128).collect()),
        reason: Set(s.reason),
        at: Set(s.at),
        ..Default::default()
    })
    .exec_with_returning(db)
    .await
}

pub async fn steps(
    db: &impl ConnectionTrait,
    project_id: i64,
) -> Result<Vec<project_step::Model>, DbErr> {
    project_step::Entity::find()
        .filter(project_step::Column::ProjectId.eq(project_id))
        .order_by_asc(project_step::Column::Sequence)
        .all(db)
        .await
}

pub async fn updates(
    db: &impl ConnectionTrait,
    project_id: i64,
) -> Result<Vec<project_update::Model>, DbErr> {
    project_update::Entity::find()
        .filter(project_update::Column::ProjectId.eq(project_id))
        .order_by_asc(project_update::Column::HappenedOn)
        .order_by_asc(project_update::Column::Id)
        .all(db)
        .await
}

pub async fn insert_update(
    db: &impl ConnectionTrait,
    project_id: i64,
    happened_on: NaiveDate,
    body: &str,
    account_id: Option<i64>,
    author_name: &str,
    at: DateTime<Utc>,
) -> Result<project_update::Model, DbErr> {
    project_update::Entity::insert(project_update::ActiveModel {
        project_id: Set(project_id),
        happened_on: Set(happened_on),
        body: Set(body.into()),
        account_id: Set(account_id),
        author_name: Set(author_name.chars().take(128).collect()),
        created_at: Set(at),
        ..Default::default()
    })
    .exec_with_returning(db)
    .await
}

pub async fn photos(
    db: &impl ConnectionTrait,
    project_id: i64,
) -> Result<Vec<project_photo::Model>, DbErr> {
    project_photo::Entity::find()
        .filter(project_photo::Column::ProjectId.eq(project_id))
        .order_by_asc(project_photo::Column::Id)
        .all(db)
        .await
}

pub async fn photo(
    db: &impl ConnectionTrait,
    project_id: i64,
    photo_id: i64,
) -> Result<Option<project_photo::Model>, DbErr> {
    project_photo::Entity::find_by_id(photo_id)
        .filter(project_photo::Column::ProjectId.eq(project_id))
        .one(db)
        .await
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_photo(
    db: &impl ConnectionTrait,
    project_id: i64,
    update_id: i64,
    path: &str,
    content_type: &str,
    size: usize,
    sha256: &str,
    by: Option<i64>,
    at: DateTime<Utc>,
) -> Result<project_photo::Model, DbErr> {
    project_photo::Entity::insert(project_photo::ActiveModel {
        project_id: Set(project_id),
        update_id: Set(update_id),
        path: Set(path.into()),
        content_type: Set(content_type.into()),
        size_bytes: Set(size as i64),
        sha256: Set(sha256.into()),
        created_by: Set(by),
        created_at: Set(at),
        ..Default::default()
    })
    .exec_with_returning(db)
    .await
}

pub async fn evaluations(
    db: &impl ConnectionTrait,
    project_id: i64,
) -> Result<Vec<project_evaluation::Model>, DbErr> {
    project_evaluation::Entity::find()
        .filter(project_evaluation::Column::ProjectId.eq(project_id))
        .order_by_asc(project_evaluation::Column::Id)
        .all(db)
        .await
}

pub async fn evaluation_by_key(
    db: &impl ConnectionTrait,
    project_id: i64,
    key: &str,
) -> Result<Option<project_evaluation::Model>, DbErr> {
    project_evaluation::Entity::find()
        .filter(project_evaluation::Column::ProjectId.eq(project_id))
        .filter(project_evaluation::Column::VoterKey.eq(key))
        .one(db)
        .await
}

/// Evaluations per project, for lists.
pub async fn evaluation_counts(
    db: &impl ConnectionTrait,
    project_ids: &[i64],
) -> Result<HashMap<i64, u64>, DbErr> {
    if project_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, i64)> = project_evaluation::Entity::find()
        .select_only()
        .column(project_evaluation::Column::ProjectId)
        .column_as(project_evaluation::Column::Id.count(), "n")
        .filter(project_evaluation::Column::ProjectId.is_in(project_ids.iter().copied()))
        .group_by(project_evaluation::Column::ProjectId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|(p, n)| (p, n as u64)).collect())
}

// ---------------------------------------------------------------- scope

/// The projects a principal may see, as a condition on the project table
/// (the same rule as `api::visible_project`): the subtree of each
/// administrative grant, the compound of each compound or dwelling grant,
/// and the projects of the agencies an agency admin administers.
pub fn scope_condition(who: &Principal) -> Condition {
    let mut any = Condition::any();
    for grant in &who.grants {
        let anchor = &grant.place;
        let Some(kind) = anchor.kind else { continue };
        let part = match (grant.role, kind) {
            (Role::AgencyAdmin, _) => Condition::all().add(
                project::Column::AgencyId.in_subquery(
                    agency_account::Entity::find()
                        .select_only()
                        .column(agency_account::Column::AgencyId)
                        .filter(agency_account::Column::AccountId.eq(who.account_id))
                        .into_query(),
                ),
            ),
            (Role::Resident | Role::PartyMember, _) => match anchor.compound_id {
                Some(c) => Condition::all().add(project::Column::CompoundId.eq(c)),
                None => Condition::all().add(Expr::value(false)),
            },
            (_, PlaceKind::Province | PlaceKind::City | PlaceKind::District) => {
                let digits = kind.code_digits().unwrap_or(6);
                match anchor.code.as_deref() {
                    Some(code) if code.len() >= digits => Condition::all()
                        .add(project::Column::DistrictCode.starts_with(&code[..digits])),
                    _ => Condition::all().add(Expr::value(false)),
                }
            }
            (_, PlaceKind::Street) => Condition::all().add(project::Column::StreetId.eq(anchor.id)),
            (_, PlaceKind::Community) => {
                Condition::all().add(project::Column::CommunityId.eq(anchor.id))
            }
            (_, PlaceKind::Compound) => {
                Condition::all().add(project::Column::CompoundId.eq(anchor.id))
            }
            (_, _) => match anchor.compound_id {
                Some(c) => Condition::all().add(project::Column::CompoundId.eq(c)),
                None => Condition::all().add(Expr::value(false)),
            },
        };
        any = any.add(part);
    }
    if who.grants.is_empty() {
        any = any.add(Expr::value(false));
    }
    any
}

/// The projects under a place of the tree.
pub fn under(p: &place::Model) -> Condition {
    let kind = PlaceKind::parse(&p.kind);
    let c = Condition::all();
    match kind {
        Some(PlaceKind::Province | PlaceKind::City | PlaceKind::District) => {
            let digits = kind.and_then(|k| k.code_digits()).unwrap_or(6);
            match p.code.as_deref() {
                Some(code) if code.len() >= digits => {
                    c.add(project::Column::DistrictCode.starts_with(&code[..digits]))
                }
                _ => c.add(Expr::value(false)),
            }
        }
        Some(PlaceKind::Street) => c.add(project::Column::StreetId.eq(p.id)),
        Some(PlaceKind::Community) => c.add(project::Column::CommunityId.eq(p.id)),
        Some(PlaceKind::Compound) => c.add(project::Column::CompoundId.eq(p.id)),
        _ => match p.compound_id {
            Some(id) => c.add(project::Column::CompoundId.eq(id)),
            None => c.add(Expr::value(false)),
        },
    }
}

/// Projects matching `cond`, newest first, at most `limit`, below `before`.
pub async fn list(
    db: &impl ConnectionTrait,
    cond: Condition,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<project::Model>, DbErr> {
    let mut q = project::Entity::find().filter(cond);
    if let Some(b) = before {
        q = q.filter(project::Column::Id.lt(b));
    }
    q.order_by_desc(project::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// The facts of every project matching `cond`, with the project, for
/// figures: two queries, however many projects.
pub async fn facts(
    db: &impl ConnectionTrait,
    cond: Condition,
) -> Result<Vec<(project::Model, Facts)>, DbErr> {
    let projects = project::Entity::find()
        .filter(cond.clone())
        .order_by_asc(project::Column::Id)
        .all(db)
        .await?;
    if projects.is_empty() {
        return Ok(Vec::new());
    }
    let evaluations = project_evaluation::Entity::find()
        .filter(
            project_evaluation::Column::ProjectId.in_subquery(
                project::Entity::find()
                    .select_only()
                    .column(project::Column::Id)
                    .filter(cond)
                    .into_query(),
            ),
        )
        .all(db)
        .await?;
    let mut by_project: HashMap<i64, Facts> = HashMap::new();
    for e in evaluations {
        let f = by_project.entry(e.project_id).or_default();
        if e.evaluator == crate::rules::Evaluator::PartyOrg.as_str() {
            f.party_org_score = Some(e.score);
        } else {
            f.resident_scores.push(e.score);
        }
    }
    Ok(projects
        .into_iter()
        .map(|p| {
            let mut f = by_project.remove(&p.id).unwrap_or_default();
            f.state = State::parse(&p.state);
            (p, f)
        })
        .collect())
}

// ---------------------------------------------------------------- people

/// Accounts holding `role` granted exactly at `place_id`.
pub async fn holders(
    db: &impl ConnectionTrait,
    role: Role,
    place_id: i64,
) -> Result<Vec<i64>, DbErr> {
    role_grant::Entity::find()
        .select_only()
        .column(role_grant::Column::AccountId)
        .filter(role_grant::Column::Role.eq(role.as_str()))
        .filter(role_grant::Column::PlaceId.eq(place_id))
        .order_by_asc(role_grant::Column::AccountId)
        .into_tuple::<i64>()
        .all(db)
        .await
}

/// Accounts administering an agency.
pub async fn agency_admins(db: &impl ConnectionTrait, agency_id: i64) -> Result<Vec<i64>, DbErr> {
    agency_account::Entity::find()
        .select_only()
        .column(agency_account::Column::AccountId)
        .filter(agency_account::Column::AgencyId.eq(agency_id))
        .order_by_asc(agency_account::Column::AccountId)
        .into_tuple::<i64>()
        .all(db)
        .await
}

/// Agencies an account administers.
pub async fn agencies_of_account(
    db: &impl ConnectionTrait,
    account_id: i64,
) -> Result<Vec<i64>, DbErr> {
    agency_account::Entity::find()
        .select_only()
        .column(agency_account::Column::AgencyId)
        .filter(agency_account::Column::AccountId.eq(account_id))
        .order_by_asc(agency_account::Column::AgencyId)
        .into_tuple::<i64>()
        .all(db)
        .await
}
