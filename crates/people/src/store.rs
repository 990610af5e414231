//! Reading and writing people and their links to dwellings.

use std::collections::HashMap;

use chrono::Utc;
use jinlin_kernel::crypto::Secrets;
use jinlin_kernel::place::Position;
use jinlin_kernel::place::entity as place;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

use crate::entity::{dwelling_owner, dwelling_resident, person};
use crate::rules::{IdNumber, Phone};

/// A person as submitted, already validated.
#[derive(Debug, Clone)]
pub struct PersonInput {
    pub name: String,
    pub phone: Option<Phone>,
    pub id_number: Option<IdNumber>,
    pub party_member: bool,
    pub employer: Option<String>,
}

/// Finds the person with this ID number, or records a new one. Returns the
/// id and whether it was created.
pub async fn find_or_create(
    db: &impl ConnectionTrait,
    secrets: &Secrets,
    district_code: Option<String>,
    input: &PersonInput,
) -> Result<(i64, bool), DbErr> {
    let digest = input.id_number.as_ref().map(|n| secrets.digest(n.as_str()));
    if let Some(digest) = &digest
        && let Some(found) = person::Entity::find()
            .filter(person::Column::IdNumberDigest.eq(digest.clone()))
            .one(db)
            .await?
    {
        return Ok((found.id, false));
    }
    let now = Utc::now();
    let inserted = person::Entity::insert(person::ActiveModel {
        district_code: Set(district_code),
        name: Set(input.name.clone()),
        phone: Set(input.phone.as_ref().map(|p| p.as_str().to_string())),
        id_number_cipher: Set(input
            .id_number
            .as_ref()
            .map(|n| secrets.encrypt(n.as_str()))),
        id_number_digest: Set(digest),
        party_member: Set(input.party_member),
        employer: Set(input.employer.clone()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec(db)
    .await?;
    Ok((inserted.last_insert_id, true))
}

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<person::Model>, DbErr> {
    person::Entity::find_by_id(id).one(db).await
}

/// Owner kinds: a person, a company, or the developer (unsold or
/// undelivered units, which count together as one owner in votes).
pub const OWNER_KINDS: [&str; 3] = ["person", "company", "developer"];
pub const RESIDENT_RELATIONS: [&str; 2] = ["tenant", "family"];

pub async fn add_owner(
    db: &impl ConnectionTrait,
    dwelling: &place::Model,
    kind: &str,
    person_id: Option<i64>,
    company_name: Option<String>,
) -> Result<i64, DbErr> {
    let inserted = dwelling_owner::Entity::insert(dwelling_owner::ActiveModel {
        dwelling_id: Set(dwelling.id),
        district_code: Set(dwelling.district_code.clone().unwrap_or_default()),
        compound_id: Set(dwelling.compound_id.unwrap_or_default()),
        owner_kind: Set(kind.to_string()),
        person_id: Set(person_id),
        company_name: Set(company_name),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(db)
    .await?;
    Ok(inserted.last_insert_id)
}

pub async fn add_resident(
    db: &impl ConnectionTrait,
    dwelling: &place::Model,
    person_id: i64,
    relation: &str,
) -> Result<i64, DbErr> {
    let inserted = dwelling_resident::Entity::insert(dwelling_resident::ActiveModel {
        dwelling_id: Set(dwelling.id),
        district_code: Set(dwelling.district_code.clone().unwrap_or_default()),
        compound_id: Set(dwelling.compound_id.unwrap_or_default()),
        person_id: Set(person_id),
        relation: Set(relation.to_string()),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(db)
    .await?;
    Ok(inserted.last_insert_id)
}

pub async fn owners_of(
    db: &impl ConnectionTrait,
    dwelling_ids: &[i64],
) -> Result<Vec<dwelling_owner::Model>, DbErr> {
    if dwelling_ids.is_empty() {
        return Ok(Vec::new());
    }
    dwelling_owner::Entity::find()
        .filter(dwelling_owner::Column::DwellingId.is_in(dwelling_ids.to_vec()))
        // In the order of the dwelling index, so no plan walks the whole table.
        .order_by_asc(dwelling_owner::Column::DwellingId)
        .order_by_asc(dwelling_owner::Column::Id)
        .all(db)
        .await
}

pub async fn residents_of(
    db: &impl ConnectionTrait,
    dwelling_id: i64,
) -> Result<Vec<dwelling_resident::Model>, DbErr> {
    dwelling_resident::Entity::find()
        .filter(dwelling_resident::Column::DwellingId.eq(dwelling_id))
        .order_by_asc(dwelling_resident::Column::Id)
        .all(db)
        .await
}

/// People by id, in one query.
pub async fn people(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, person::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(person::Entity::find()
        .filter(person::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect())
}

/// The dwellings a person owns or lives in, as positions for scope checks.
pub async fn dwellings_of(
    db: &impl ConnectionTrait,
    person_id: i64,
) -> Result<Vec<Position>, DbErr> {
    let mut ids: Vec<i64> = dwelling_owner::Entity::find()
        .filter(dwelling_owner::Column::PersonId.eq(person_id))
        .all(db)
        .await?
        .into_iter()
        .map(|o| o.dwelling_id)
        .collect();
    ids.extend(
        dwelling_resident::Entity::find()
            .filter(dwelling_resident::Column::PersonId.eq(person_id))
            .all(db)
            .await?
            .into_iter()
            .map(|r| r.dwelling_id),
    );
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(place::Entity::find()
        .filter(place::Column::Id.is_in(ids))
        .all(db)
        .await?
        .iter()
        .map(place::Model::position)
        .collect())
}

pub async fn delete_owner(db: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    dwelling_owner::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

pub async fn delete_resident(db: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    dwelling_resident::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

pub async fn find_owner(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<dwelling_owner::Model>, DbErr> {
    dwelling_owner::Entity::find_by_id(id).one(db).await
}

pub async fn find_resident(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<dwelling_resident::Model>, DbErr> {
    dwelling_resident::Entity::find_by_id(id).one(db).await
}

/// Changes a person's particulars.
pub async fn update(
    db: &impl ConnectionTrait,
    secrets: &Secrets,
    id: i64,
    input: &PersonInput,
) -> Result<(), DbErr> {
    let mut update = person::Entity::update_many()
        .col_expr(person::Column::Name, Expr::value(input.name.clone()))
        .col_expr(
            person::Column::Phone,
            Expr::value(input.phone.as_ref().map(|p| p.as_str().to_string())),
        )
        .col_expr(person::Column::PartyMember, Expr::value(input.party_member))
        .col_expr(
            person::Column::Employer,
            Expr::value(input.employer.clone()),
        )
        .col_expr(person::Column::UpdatedAt, Expr::value(Utc::now()));
    if let Some(n) = &input.id_number {
        update = update
            .col_expr(
                person::Column::IdNumberCipher,
                Expr::value(secrets.encrypt(n.as_str())),
            )
            .col_expr(
                person::Column::IdNumberDigest,
                Expr::value(secrets.digest(n.as_str())),
            );
    }
    update.filter(person::Column::Id.eq(id)).exec(db).await?;
    Ok(())
}
