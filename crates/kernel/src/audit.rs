//! The append-only audit log: every write and every read of unmasked
//! personal data, with who, when, what and from where. Entries are sealed
//! into a hash chain shortly after they are written (see [`chain`]).

use chrono::Utc;
use sea_orm::ActiveValue::Set;
use sea_orm::entity::prelude::*;

use crate::auth::Principal;

pub mod chain;

pub mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_log")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub at: DateTimeUtc,
        pub actor_account_id: Option<i64>,
        pub actor_ip: Option<String>,
        pub action: String,
        pub object_kind: String,
        pub object_id: Option<String>,
        pub district_code: Option<String>,
        pub detail: String,
        /// The entry's place in the hash chain; `None` until sealed.
        pub chain_seq: Option<i64>,
        /// Hex SHA-256 over the entry and the previous place's hash.
        pub chain_hash: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// One audit entry. Write it in the same transaction as the change it
/// describes, so the log and the data never disagree.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub actor: Option<&'a Principal>,
    pub ip: Option<String>,
    /// e.g. `place.create`, `person.read_personal`, `auth.login_failed`.
    pub action: &'a str,
    pub object_kind: &'a str,
    pub object_id: Option<String>,
    pub district_code: Option<String>,
    pub detail: serde_json::Value,
}

impl<'a> Entry<'a> {
    pub fn new(actor: Option<&'a Principal>, action: &'a str, object_kind: &'a str) -> Self {
        Entry {
            actor,
            ip: None,
            action,
            object_kind,
            object_id: None,
            district_code: None,
            detail: serde_json::Value::Null,
        }
    }

    pub fn object(mut self, id: impl ToString) -> Self {
        self.object_id = Some(id.to_string());
        self
    }

    pub fn district(mut self, code: Option<String>) -> Self {
        self.district_code = code;
        self
    }

    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }

    pub fn ip(mut self, ip: Option<String>) -> Self {
        self.ip = ip;
        self
    }
}

pub async fn record(db: &impl ConnectionTrait, entry: Entry<'_>) -> Result<(), DbErr> {
    entity::Entity::insert(entity::ActiveModel {
        at: Set(Utc::now()),
        actor_account_id: Set(entry.actor.map(|p| p.account_id)),
        actor_ip: Set(entry.ip),
        action: Set(entry.action.to_string()),
        object_kind: Set(entry.object_kind.to_string()),
        object_id: Set(entry.object_id),
        district_code: Set(entry.district_code),
        detail: Set(entry.detail.to_string()),
        ..Default::default()
    })
    .exec(db)
    .await?;
    Ok(())
}
