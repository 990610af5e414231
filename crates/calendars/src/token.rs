//! Feed tokens: calendar apps send no cookies, so every feed is also
//! served under a secret token of its reader. One token per account; the
//! database keeps only its SHA-256 (table `calendar_token`, created by
//! `m0016_venues`).

use chrono::Utc;
use jinlin_kernel::auth::{hash_token, new_token};
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

pub mod calendar_token {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "calendar_token")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub account_id: i64,
        /// SHA-256 of the token in the feed URL.
        pub token_hash: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A new feed token for the account, replacing its earlier one.
pub async fn issue(db: &impl ConnectionTrait, account_id: i64) -> Result<String, DbErr> {
    let token = new_token();
    calendar_token::Entity::delete_many()
        .filter(calendar_token::Column::AccountId.eq(account_id))
        .exec(db)
        .await?;
    calendar_token::Entity::insert(calendar_token::ActiveModel {
        account_id: Set(account_id),
        token_hash: Set(hash_token(&token)),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(db)
    .await?;
    Ok(token)
}

/// The account a feed token belongs to.
pub async fn owner(db: &impl ConnectionTrait, token: &str) -> Result<Option<i64>, DbErr> {
    // Tokens are 64 hex characters; anything else is not looked up.
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    Ok(calendar_token::Entity::find()
        .filter(calendar_token::Column::TokenHash.eq(hash_token(token)))
        .one(db)
        .await?
        .map(|t| t.account_id))
}

pub async fn exists(db: &impl ConnectionTrait, account_id: i64) -> Result<bool, DbErr> {
    Ok(calendar_token::Entity::find()
        .filter(calendar_token::Column::AccountId.eq(account_id))
        .one(db)
        .await?
        .is_some())
}
