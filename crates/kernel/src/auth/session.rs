//! Sessions kept in the database, so any node can serve any request. The
//! browser holds a random token; the table holds its SHA-256.

use chrono::{Duration, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::entity::session;
use super::token::{hash_token, new_token};

pub const SESSION_COOKIE: &str = "jinlin_session";
/// A session ends this long after sign-in, however active.
pub const SESSION_LIFETIME: Duration = Duration::days(7);
/// Or after this long without a request.
pub const SESSION_IDLE: Duration = Duration::hours(12);
/// `last_seen_at` is refreshed at most this often (one write, not one per request).
pub const TOUCH_EVERY: Duration = Duration::minutes(5);

pub struct NewSession {
    /// The cookie value: shown once, never stored.
    pub token: String,
    pub csrf_token: String,
}

/// Starts a session for `account_id`.
pub async fn create(
    db: &impl ConnectionTrait,
    account_id: i64,
    ip: Option<String>,
    user_agent: Option<String>,
) -> Result<NewSession, DbErr> {
    let token = new_token();
    let csrf_token = new_token();
    let now = Utc::now();
    session::Entity::insert(session::ActiveModel {
        id: Set(hash_token(&token)),
        account_id: Set(account_id),
        csrf_token: Set(csrf_token.clone()),
        created_at: Set(now),
        expires_at: Set(now + SESSION_LIFETIME),
        last_seen_at: Set(now),
        ip: Set(ip.map(|s| s.chars().take(64).collect())),
        user_agent: Set(user_agent.map(|s| s.chars().take(256).collect())),
    })
    .exec(db)
    .await?;
    Ok(NewSession { token, csrf_token })
}

/// The live session for a cookie token, if any (expired ones are removed).
pub async fn find(db: &impl ConnectionTrait, token: &str) -> Result<Option<session::Model>, DbErr> {
    let Some(found) = session::Entity::find_by_id(hash_token(token))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let now = Utc::now();
    if found.expires_at <= now || found.last_seen_at + SESSION_IDLE <= now {
        session::Entity::delete_by_id(found.id).exec(db).await?;
        return Ok(None);
    }
    if found.last_seen_at + TOUCH_EVERY <= now {
        session::Entity::update_many()
            .col_expr(
                session::Column::LastSeenAt,
                sea_orm::sea_query::Expr::value(now),
            )
            .filter(session::Column::Id.eq(found.id.clone()))
            .exec(db)
            .await?;
    }
    Ok(Some(found))
}

/// Ends the session of a cookie token.
pub async fn delete(db: &impl ConnectionTrait, token: &str) -> Result<(), DbErr> {
    session::Entity::delete_by_id(hash_token(token))
        .exec(db)
        .await?;
    Ok(())
}

/// Ends every session of an account except `keep` (a token), e.g. after a
/// password change.
pub async fn delete_others(
    db: &impl ConnectionTrait,
    account_id: i64,
    keep: Option<&str>,
) -> Result<u64, DbErr> {
    let mut query =
        session::Entity::delete_many().filter(session::Column::AccountId.eq(account_id));
    if let Some(keep) = keep {
        query = query.filter(session::Column::Id.ne(hash_token(keep)));
    }
    Ok(query.exec(db).await?.rows_affected)
}
