//! Data access: accounts' sign-in counters and passwords, API tokens,
//! invitations and the audit log. Every function takes a connection or a
//! transaction, so callers decide what is written together.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use jinlin_kernel::audit::entity as audit_log;
use jinlin_kernel::auth::entity::{account, api_token, invitation};
use jinlin_kernel::place::entity as place;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, LikeExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use crate::rules::{self, Counters};

pub async fn account_by_username(
    db: &impl ConnectionTrait,
    username: &str,
) -> Result<Option<account::Model>, DbErr> {
    account::Entity::find()
        .filter(account::Column::Username.eq(username))
        .one(db)
        .await
}

pub async fn account_by_id(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<account::Model>, DbErr> {
    account::Entity::find_by_id(id).one(db).await
}

/// The account row, locked until the transaction ends (PostgreSQL; on
/// SQLite the write transaction already holds the database's write lock),
/// so concurrent sign-ins count every failure.
pub async fn account_for_update(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<account::Model>, DbErr> {
    account::Entity::find_by_id(id)
        .lock_exclusive()
        .one(db)
        .await
}

pub async fn set_counters(
    db: &impl ConnectionTrait,
    account_id: i64,
    counters: Counters,
) -> Result<(), DbErr> {
    account::Entity::update_many()
        .col_expr(
            account::Column::FailedLogins,
            Expr::value(counters.failed_logins),
        )
        .col_expr(
            account::Column::LockedUntil,
            Expr::value(counters.locked_until),
        )
        .filter(account::Column::Id.eq(account_id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn set_password(
    db: &impl ConnectionTrait,
    account_id: i64,
    password_hash: String,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    account::Entity::update_many()
        .col_expr(account::Column::PasswordHash, Expr::value(password_hash))
        .col_expr(account::Column::PasswordChangedAt, Expr::value(now))
        .filter(account::Column::Id.eq(account_id))
        .exec(db)
        .await?;
    Ok(())
}

/// An account's API tokens that still work, newest first.
pub async fn live_tokens(
    db: &impl ConnectionTrait,
    account_id: i64,
) -> Result<Vec<api_token::Model>, DbErr> {
    api_token::Entity::find()
        .filter(api_token::Column::AccountId.eq(account_id))
        .filter(api_token::Column::RevokedAt.is_null())
        .order_by_desc(api_token::Column::CreatedAt)
        .order_by_desc(api_token::Column::Id)
        .all(db)
        .await
}

pub async fn insert_token(
    db: &impl ConnectionTrait,
    account_id: i64,
    name: &str,
    token_hash: String,
    can_write: bool,
    now: DateTime<Utc>,
) -> Result<i64, DbErr> {
    let inserted = api_token::Entity::insert(api_token::ActiveModel {
        account_id: Set(account_id),
        name: Set(name.to_string()),
        token_hash: Set(token_hash),
        can_write: Set(can_write),
        created_at: Set(now),
        last_used_at: Set(None),
        revoked_at: Set(None),
        ..Default::default()
    })
    .exec(db)
    .await?;
    Ok(inserted.last_insert_id)
}

/// Revokes one of the account's live tokens; `None` if it has no such token.
pub async fn revoke_token(
    db: &impl ConnectionTrait,
    account_id: i64,
    token_id: i64,
    now: DateTime<Utc>,
) -> Result<Option<api_token::Model>, DbErr> {
    let Some(found) = api_token::Entity::find_by_id(token_id)
        .filter(api_token::Column::AccountId.eq(account_id))
        .filter(api_token::Column::RevokedAt.is_null())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let revoked = api_token::Entity::update_many()
        .col_expr(api_token::Column::RevokedAt, Expr::value(now))
        .filter(api_token::Column::Id.eq(token_id))
        .filter(api_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok((revoked.rows_affected == 1).then_some(found))
}

pub async fn place_by_id(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<place::Model>, DbErr> {
    place::Entity::find_by_id(id).one(db).await
}

pub async fn place_names(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = i64>,
) -> Result<HashMap<i64, String>, DbErr> {
    let mut ids: Vec<i64> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, String)> = place::Entity::find()
        .select_only()
        .column(place::Column::Id)
        .column(place::Column::Name)
        .filter(place::Column::Id.is_in(ids))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

pub struct NewInvitation<'a> {
    pub token_hash: String,
    pub role: &'a str,
    pub place_id: i64,
    pub district_code: Option<String>,
    pub invitee_name: &'a str,
    pub created_by: i64,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert_invitation(
    db: &impl ConnectionTrait,
    new: NewInvitation<'_>,
) -> Result<i64, DbErr> {
    let inserted = invitation::Entity::insert(invitation::ActiveModel {
        token_hash: Set(new.token_hash),
        role: Set(new.role.to_string()),
        place_id: Set(new.place_id),
        district_code: Set(new.district_code),
        invitee_name: Set(new.invitee_name.to_string()),
        created_by: Set(new.created_by),
        created_at: Set(new.created_at),
        expires_at: Set(new.expires_at),
        accepted_account_id: Set(None),
        accepted_at: Set(None),
        ..Default::default()
    })
    .exec(db)
    .await?;
    Ok(inserted.last_insert_id)
}

/// The invitation behind a link's token, if it can still be accepted.
pub async fn open_invitation(
    db: &impl ConnectionTrait,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<invitation::Model>, DbErr> {
    let found = invitation::Entity::find()
        .filter(invitation::Column::TokenHash.eq(token_hash))
        .one(db)
        .await?;
    Ok(found.filter(|i| {
        rules::invitation_status(i.expires_at, i.accepted_at, now)
            == rules::InvitationStatus::Pending
    }))
}

/// Marks an invitation accepted unless someone got there first; whether it
/// was this call that accepted it.
pub async fn mark_accepted(
    db: &impl ConnectionTrait,
    invitation_id: i64,
    account_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = invitation::Entity::update_many()
        .col_expr(
            invitation::Column::AcceptedAccountId,
            Expr::value(account_id),
        )
        .col_expr(invitation::Column::AcceptedAt, Expr::value(now))
        .filter(invitation::Column::Id.eq(invitation_id))
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::ExpiresAt.gt(now))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Invitations an account has sent, newest first.
pub async fn invitations_by(
    db: &impl ConnectionTrait,
    account_id: i64,
) -> Result<Vec<invitation::Model>, DbErr> {
    invitation::Entity::find()
        .filter(invitation::Column::CreatedBy.eq(account_id))
        .order_by_desc(invitation::Column::CreatedAt)
        .order_by_desc(invitation::Column::Id)
        .limit(200)
        .all(db)
        .await
}

/// What the audit viewer asks for.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action_prefix: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// District-code prefixes the reader may see (entries without a
    /// district code are always visible).
    pub reach: Vec<String>,
}

pub struct AuditRow {
    pub entry: audit_log::Model,
    pub actor_username: Option<String>,
}

/// One page (1-based) of matching entries, newest first, and how many
/// entries match in all.
pub async fn audit_page(
    db: &impl ConnectionTrait,
    filter: &AuditFilter,
    page: u64,
) -> Result<(Vec<AuditRow>, u64), DbErr> {
    let mut query = audit_log::Entity::find();
    if let Some(actor) = &filter.actor {
        match account_by_username(db, actor).await? {
            Some(account) => {
                query = query.filter(audit_log::Column::ActorAccountId.eq(account.id));
            }
            None => return Ok((Vec::new(), 0)),
        }
    }
    if let Some(prefix) = &filter.action_prefix {
        query = query.filter(
            audit_log::Column::Action.like(LikeExpr::new(rules::like_prefix(prefix)).escape('\\')),
        );
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_log::Column::At.gte(from));
    }
    if let Some(until) = filter.until {
        query = query.filter(audit_log::Column::At.lt(until));
    }
    let mut reach = Condition::any().add(audit_log::Column::DistrictCode.is_null());
    for prefix in &filter.reach {
        reach = reach.add(
            audit_log::Column::DistrictCode
                .like(LikeExpr::new(rules::like_prefix(prefix)).escape('\\')),
        );
    }
    query = query.filter(reach);

    let total = query.clone().count(db).await?;
    let entries = query
        .order_by_desc(audit_log::Column::At)
        .order_by_desc(audit_log::Column::Id)
        .offset(
            page.saturating_sub(1)
                .saturating_mul(rules::AUDIT_PAGE_SIZE),
        )
        .limit(rules::AUDIT_PAGE_SIZE)
        .all(db)
        .await?;
    let mut ids: Vec<i64> = entries.iter().filter_map(|e| e.actor_account_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let names: HashMap<i64, String> = if ids.is_empty() {
        HashMap::new()
    } else {
        account::Entity::find()
            .select_only()
            .column(account::Column::Id)
            .column(account::Column::Username)
            .filter(account::Column::Id.is_in(ids))
            .into_tuple::<(i64, String)>()
            .all(db)
            .await?
            .into_iter()
            .collect()
    };
    let rows = entries
        .into_iter()
        .map(|entry| AuditRow {
            actor_username: entry
                .actor_account_id
                .and_then(|id| names.get(&id).cloned()),
            entry,
        })
        .collect();
    Ok((rows, total))
}
