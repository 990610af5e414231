//! Sessions kept in the database, so any node can serve any request. The
//! browser holds a random token; the table holds its SHA-256.

use chrono::{DateTime, Duration, Utc};
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

/// What a session's clock says at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Past its lifetime or idle too long: remove it.
    Ended,
    /// Live; `touch` when `last_seen_at` is due for a refresh.
    Live { touch: bool },
}

/// Whether a session with these times is still live at `now`.
pub fn freshness(
    expires_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Freshness {
    if expires_at <= now || last_seen_at + SESSION_IDLE <= now {
        Freshness::Ended
    } else {
        Freshness::Live {
            touch: last_seen_at + TOUCH_EVERY <= now,
        }
    }
}

/// Removes an ended session, by the hash of its token.
pub async fn remove(db: &impl ConnectionTrait, id: &str) -> Result<(), DbErr> {
    session::Entity::delete_by_id(id.to_string())
        .exec(db)
        .await?;
    Ok(())
}

/// Records that a live session was used at `now`, by the hash of its token.
pub async fn touch(db: &impl ConnectionTrait, id: &str, now: DateTime<Utc>) -> Result<(), DbErr> {
    session::Entity::update_many()
        .col_expr(
            session::Column::LastSeenAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(session::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
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

/// Removes the sessions ended at `now` (past their lifetime or idle too
/// long): one presented again is removed then, but one never presented
/// again would otherwise stay. Returns how many.
pub async fn prune(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, DbErr> {
    let r = session::Entity::delete_many()
        .filter(
            sea_orm::Condition::any()
                .add(session::Column::ExpiresAt.lte(now))
                .add(session::Column::LastSeenAt.lte(now - SESSION_IDLE)),
        )
        .exec(db)
        .await?;
    Ok(r.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Once ended, a session stays ended; while live it is within both
        /// limits.
        #[test]
        fn an_ended_session_never_comes_back(
            lifetime_left in -600i64..600,
            seen_ago in 0i64..(13 * 60),
            later in 0i64..600,
        ) {
            let now = Utc::now();
            let expires = now + Duration::minutes(lifetime_left);
            let seen = now - Duration::minutes(seen_ago);
            let then = now + Duration::minutes(later);
            if freshness(expires, seen, now) == Freshness::Ended {
                prop_assert_eq!(freshness(expires, seen, then), Freshness::Ended);
            }
            if let Freshness::Live { touch } = freshness(expires, seen, now) {
                prop_assert!(now < expires && now - seen < SESSION_IDLE);
                prop_assert_eq!(touch, now - seen >= TOUCH_EVERY);
            }
        }
    }

    #[test]
    fn session_boundaries() {
        let now = Utc::now();
        let live = now + Duration::hours(1);
        assert_eq!(freshness(now, now, now), Freshness::Ended);
        assert_eq!(freshness(live, now - SESSION_IDLE, now), Freshness::Ended);
        assert_eq!(
            freshness(live, now - TOUCH_EVERY, now),
            Freshness::Live { touch: true }
        );
        assert_eq!(
            freshness(live, now - Duration::minutes(4), now),
            Freshness::Live { touch: false }
        );
    }
}
