//! Creating accounts and granting roles: used by invitations, the seed
//! generator and tests alike.

use chrono::Utc;
use sea_orm::ActiveValue::Set;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait};

use super::entity::{account, role_grant};
use super::role::Role;

pub struct NewAccount<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    /// An argon2id PHC string from `hash_password`.
    pub password_hash: String,
    pub person_id: Option<i64>,
}

/// Inserts an account; returns its id. Usernames are unique (the database
/// refuses a second one).
pub async fn create(db: &impl ConnectionTrait, new: NewAccount<'_>) -> Result<i64, DbErr> {
    let now = Utc::now();
    let inserted = account::Entity::insert(account::ActiveModel {
        username: Set(new.username.to_string()),
        display_name: Set(new.display_name.to_string()),
        password_hash: Set(new.password_hash),
        person_id: Set(new.person_id),
        language: Set(None),
        failed_logins: Set(0),
        locked_until: Set(None),
        disabled: Set(false),
        created_at: Set(now),
        password_changed_at: Set(now),
        ..Default::default()
    })
    .exec(db)
    .await?;
    Ok(inserted.last_insert_id)
}

/// Grants `role` at `place_id` (whose district code is given for sharding).
pub async fn grant(
    db: &impl ConnectionTrait,
    account_id: i64,
    role: Role,
    place_id: i64,
    district_code: Option<String>,
    granted_by: Option<i64>,
) -> Result<i64, DbErr> {
    let inserted = role_grant::Entity::insert(role_grant::ActiveModel {
        account_id: Set(account_id),
        role: Set(role.as_str().to_string()),
        place_id: Set(place_id),
        district_code: Set(district_code),
        granted_by: Set(granted_by),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(db)
    .await?;
    Ok(inserted.last_insert_id)
}
