//! Facts about this installation (e.g. which data sets were loaded), kept in
//! the `instance_fact` table.

use chrono::Utc;
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, sea_query::OnConflict};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "instance_fact")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    pub value: String,
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The value recorded under `name`, if any.
pub async fn get(db: &impl ConnectionTrait, name: &str) -> Result<Option<String>, DbErr> {
    Ok(Entity::find_by_id(name.to_string())
        .one(db)
        .await?
        .map(|m| m.value))
}

/// Records `value` under `name`, replacing what was there.
pub async fn set(db: &impl ConnectionTrait, name: &str, value: &str) -> Result<(), DbErr> {
    Entity::insert(ActiveModel {
        name: Set(name.to_string()),
        value: Set(value.to_string()),
        recorded_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(Column::Name)
            .update_columns([Column::Value, Column::RecordedAt])
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}
