//! Reading everything about a person, and erasing their personal data.

use chrono::{DateTime, Utc};
use jinlin_kernel::auth::entity::account;
use jinlin_kernel::place::entity as place;
use jinlin_people::entity::{dwelling_owner, dwelling_resident, person};
use sea_orm::sea_query::{
    Alias, Asterisk, Condition, Expr, ExprTrait, Func, Order, Query, SelectStatement,
    UpdateStatement,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, JsonValue, QueryFilter,
    QueryOrder,
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::catalogue::{By, SOURCES, Source};
use crate::entity::person_erasure;
use crate::rules::{self, Scrub};

/// The accounts linked to a person.
pub async fn account_ids(db: &impl ConnectionTrait, person_id: i64) -> Result<Vec<i64>, DbErr> {
    Ok(account::Entity::find()
        .filter(account::Column::PersonId.eq(person_id))
        .order_by_asc(account::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|a| a.id)
        .collect())
}

fn col(name: &str) -> Expr {
    Expr::col(Alias::new(name))
}

fn member_ids(person_id: i64, accounts: &[i64]) -> SelectStatement {
    Query::select()
        .column(Alias::new("id"))
        .from(Alias::new("volunteer_member"))
        .cond_where(
            Condition::any()
                .add(col("person_id").eq(person_id))
                .add(col("account_id").is_in(accounts.to_vec())),
        )
        .to_owned()
}

/// The rows of `source` that are about the person.
fn condition(source: &Source, person_id: i64, accounts: &[i64]) -> Condition {
    let c = col(source.column);
    match source.by {
        By::Person => Condition::all().add(c.eq(person_id)),
        By::Account => Condition::all().add(c.is_in(accounts.to_vec())),
        By::VolunteerMember => Condition::all().add(c.in_subquery(member_ids(person_id, accounts))),
        By::RatingResponse => Condition::all().add(
            c.in_subquery(
                Query::select()
                    .column(Alias::new("id"))
                    .from(Alias::new("rating_response"))
                    .and_where(col("account_id").is_in(accounts.to_vec()))
                    .to_owned(),
            ),
        ),
        By::AuditObject => Condition::all()
            .add(col("object_kind").eq("person"))
            .add(c.eq(person_id.to_string())),
    }
}

/// One kind of record about the person, every column as stored (less the
/// system's secrets).
#[derive(Debug, Serialize, ToSchema)]
pub struct Section {
    pub key: String,
    pub table: String,
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<JsonValue>,
}

pub async fn sections(
    db: &impl ConnectionTrait,
    person_id: i64,
    accounts: &[i64],
) -> Result<Vec<Section>, DbErr> {
    let backend = db.get_database_backend();
    let mut out = Vec::with_capacity(SOURCES.len());
    for source in SOURCES {
        let mut q = Query::select();
        q.column(Asterisk)
            .from(Alias::new(source.table))
            .cond_where(condition(source, person_id, accounts));
        if let Some(limit) = source.limit {
            q.order_by(Alias::new("id"), Order::Desc).limit(limit);
        }
        let mut rows = JsonValue::find_by_statement(backend.build(&q))
            .all(db)
            .await?;
        for row in &mut rows {
            if let JsonValue::Object(map) = row {
                for c in source.omit {
                    map.remove(*c);
                }
            }
        }
        out.push(Section {
            key: source.key.to_string(),
            table: source.table.to_string(),
            rows,
        });
    }
    Ok(out)
}

/// A dwelling the person owns or lives in.
#[derive(Debug, Serialize, ToSchema)]
pub struct DwellingLink {
    pub dwelling_id: i64,
    /// `owner`, `tenant` or `family`.
    pub relation: String,
    /// Compound, building, entrance and dwelling, e.g. `金山花园 1号楼 1单元 101`.
    pub address: String,
}

pub async fn dwellings(
    db: &impl ConnectionTrait,
    person_id: i64,
) -> Result<Vec<DwellingLink>, DbErr> {
    let mut links: Vec<(i64, String)> = dwelling_owner::Entity::find()
        .filter(dwelling_owner::Column::PersonId.eq(person_id))
        .order_by_asc(dwelling_owner::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.dwelling_id, "owner".to_string()))
        .collect();
    links.extend(
        dwelling_resident::Entity::find()
            .filter(dwelling_resident::Column::PersonId.eq(person_id))
            .order_by_asc(dwelling_resident::Column::Id)
            .all(db)
            .await?
            .into_iter()
            .map(|r| (r.dwelling_id, r.relation)),
    );
    let ids: Vec<i64> = links.iter().map(|(id, _)| *id).collect();
    let dwellings = place::Entity::find()
        .filter(place::Column::Id.is_in(ids))
        .all(db)
        .await?;
    let mut above: Vec<i64> = dwellings
        .iter()
        .flat_map(|d| [d.compound_id, d.building_id, d.entrance_id])
        .flatten()
        .collect();
    above.sort_unstable();
    above.dedup();
    let names: std::collections::HashMap<i64, String> = place::Entity::find()
        .filter(place::Column::Id.is_in(above))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    Ok(links
        .into_iter()
        .filter_map(|(id, relation)| {
            let d = dwellings.iter().find(|d| d.id == id)?;
            let mut parts: Vec<&str> = [d.compound_id, d.building_id, d.entrance_id]
                .into_iter()
                .flatten()
                .filter_map(|p| names.get(&p).map(String::as_str))
                .collect();
            parts.push(&d.name);
            Some(DwellingLink {
                dwelling_id: id,
                relation,
                address: parts.join(" "),
            })
        })
        .collect())
}

pub async fn erasure_of(
    db: &impl ConnectionTrait,
    person_id: i64,
) -> Result<Option<person_erasure::Model>, DbErr> {
    person_erasure::Entity::find()
        .filter(person_erasure::Column::PersonId.eq(person_id))
        .one(db)
        .await
}

/// Why an erasure did not happen.
#[derive(Debug)]
pub enum EraseError {
    AlreadyErased,
    Db(DbErr),
}

impl From<DbErr> for EraseError {
    fn from(e: DbErr) -> Self {
        EraseError::Db(e)
    }
}

async fn update(
    db: &impl ConnectionTrait,
    table: &str,
    values: Vec<(&str, Expr)>,
    cond: Condition,
) -> Result<u64, DbErr> {
    let mut q: UpdateStatement = Query::update();
    q.table(Alias::new(table));
    for (c, v) in values {
        q.value(Alias::new(c), v);
    }
    q.cond_where(cond);
    let stmt = db.get_database_backend().build(&q);
    Ok(db.execute_raw(stmt).await?.rows_affected())
}

async fn delete(db: &impl ConnectionTrait, table: &str, cond: Condition) -> Result<u64, DbErr> {
    let q = Query::delete()
        .from_table(Alias::new(table))
        .cond_where(cond)
        .to_owned();
    let stmt = db.get_database_backend().build(&q);
    Ok(db.execute_raw(stmt).await?.rows_affected())
}

/// `REPLACE(REPLACE(column, phone, ''), name, label)`: [`Scrub::apply`]
/// done by the database.
fn scrubbed(column: &str, scrub: &Scrub) -> Expr {
    let mut e = col(column);
    if let Some(phone) = &scrub.phone {
        e = Func::cust(Alias::new("REPLACE"))
            .arg(e)
            .arg(Expr::val(phone.clone()))
            .arg(Expr::val(""))
            .into();
    }
    if let Some(name) = &scrub.name {
        e = Func::cust(Alias::new("REPLACE"))
            .arg(e)
            .arg(Expr::val(name.clone()))
            .arg(Expr::val(scrub.label.clone()))
            .into();
    }
    e
}

/// Erases a person's personal data in the caller's transaction, recording
/// the erasure. What the law requires stays: their ownership records (the
/// shares votes are counted by), their ballots (the hash chain holds only
/// the person's id), and the audit log.
pub async fn erase(
    tx: &impl ConnectionTrait,
    p: &person::Model,
    by: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<person_erasure::Model, EraseError> {
    if erasure_of(tx, p.id).await?.is_some() {
        return Err(EraseError::AlreadyErased);
    }
    let label = rules::erased_label(p.id);
    let scrub = Scrub::new(&p.name, p.phone.as_deref(), label.clone());
    let accounts = account_ids(tx, p.id).await?;
    let in_accounts = |c: &str| Condition::all().add(col(c).is_in(accounts.clone()));
    let of_person = |c: &str| Condition::all().add(col(c).eq(p.id));
    let mut summary = serde_json::Map::new();
    let mut note = |k: &str, n: u64| {
        if n > 0 {
            summary.insert(k.to_string(), n.into());
        }
    };
    // The record goes in first: a second erasure racing this one meets the
    // unique index and fails with its transaction.
    let record = person_erasure::ActiveModel {
        person_id: sea_orm::ActiveValue::Set(p.id),
        district_code: sea_orm::ActiveValue::Set(p.district_code.clone()),
        erased_by: sea_orm::ActiveValue::Set(by),
        erased_at: sea_orm::ActiveValue::Set(now),
        // The reason may name the person ("at 林美华's request").
        reason: sea_orm::ActiveValue::Set(scrub.apply(reason)),
        summary: sea_orm::ActiveValue::Set(String::new()),
        ..Default::default()
    };
    let inserted = match person_erasure::Entity::insert(record).exec(tx).await {
        Ok(r) => r.last_insert_id,
        Err(e)
            if matches!(
                e.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) =>
        {
            return Err(EraseError::AlreadyErased);
        }
        Err(e) => return Err(e.into()),
    };

    // The person's particulars.
    note(
        "person",
        update(
            tx,
            "person",
            vec![
                ("name", Expr::val(label.clone())),
                ("phone", Expr::val(Option::<String>::None)),
                ("id_number_cipher", Expr::val(Option::<String>::None)),
                ("id_number_digest", Expr::val(Option::<String>::None)),
                ("employer", Expr::val(Option::<String>::None)),
                ("updated_at", Expr::val(now)),
            ],
            of_person("id"),
        )
        .await?,
    );

    // Their accounts: disabled, unable to sign in, every session and token
    // ended, their roles gone.
    for &id in &accounts {
        update(
            tx,
            "account",
            vec![
                ("username", Expr::val(rules::erased_username(id))),
                ("display_name", Expr::val(label.clone())),
                // No password hash has this form, so none verifies.
                ("password_hash", Expr::val("!erased")),
                ("language", Expr::val(Option::<String>::None)),
                ("disabled", Expr::val(true)),
            ],
            of_person_account(id),
        )
        .await?;
    }
    note("accounts_disabled", accounts.len() as u64);
    note(
        "sessions_ended",
        delete(tx, "session", in_accounts("account_id")).await?,
    );
    note(
        "api_tokens_revoked",
        update(
            tx,
            "api_token",
            vec![("revoked_at", Expr::val(now))],
            in_accounts("account_id").add(col("revoked_at").is_null()),
        )
        .await?,
    );
    note(
        "calendar_tokens_ended",
        delete(tx, "calendar_token", in_accounts("account_id")).await?,
    );
    note(
        "roles_removed",
        delete(tx, "role_grant", in_accounts("account_id")).await?,
    );
    note(
        "notifications_deleted",
        delete(tx, "notification", in_accounts("account_id")).await?,
    );

    // Copies of the name kept beside records, for display.
    let names: [(&str, &str, Condition); 7] = [
        (
            "matter",
            "proposer_name",
            in_accounts("proposer_account_id"),
        ),
        ("matter_step", "actor_name", in_accounts("account_id")),
        ("matter_comment", "author_name", in_accounts("account_id")),
        ("project_step", "actor_name", in_accounts("account_id")),
        ("project_update", "author_name", in_accounts("account_id")),
        (
            "venue_booking",
            "organiser_name",
            in_accounts("organiser_account_id"),
        ),
        (
            "invitation",
            "invitee_name",
            in_accounts("accepted_account_id"),
        ),
    ];
    let mut renamed = 0;
    for (table, column, cond) in names {
        renamed += update(tx, table, vec![(column, Expr::val(label.clone()))], cond).await?;
    }
    for table in ["volunteer_member", "micro_grid_member", "agency_member"] {
        renamed += update(
            tx,
            table,
            vec![("name", Expr::val(label.clone()))],
            Condition::any()
                .add(col("person_id").eq(p.id))
                .add(col("account_id").is_in(accounts.clone())),
        )
        .await?;
    }
    renamed += update(
        tx,
        "session_registration",
        vec![
            ("name", Expr::val(label.clone())),
            ("phone", Expr::val(Option::<String>::None)),
        ],
        in_accounts("account_id"),
    )
    .await?;
    // Contact groups list households by name, not by person: the entries
    // of the person's dwellings under their name.
    let dwelling_ids = dwellings(tx, p.id)
        .await?
        .into_iter()
        .map(|d| d.dwelling_id)
        .collect::<Vec<_>>();
    renamed += update(
        tx,
        "contact_group_member",
        vec![("person_name", Expr::val(label.clone()))],
        Condition::all()
            .add(col("dwelling_id").is_in(dwelling_ids))
            .add(col("person_name").eq(p.name.clone())),
    )
    .await?;
    note("names_replaced", renamed);

    // What the person wrote: kept, as others answered it, but without their
    // name or phone.
    let mut texts = 0;
    if scrub.name.is_some() || scrub.phone.is_some() {
        let written: [(&str, &[&str], Condition); 11] = [
            (
                "matter",
                &["title", "description"],
                in_accounts("proposer_account_id"),
            ),
            ("matter_comment", &["body"], in_accounts("account_id")),
            ("matter_evaluation", &["comment"], in_accounts("account_id")),
            (
                "resident_matter",
                &["title", "description", "address", "satisfaction_comment"],
                Condition::any()
                    .add(col("reporter_account_id").is_in(accounts.clone()))
                    .add(col("reporter_person_id").eq(p.id)),
            ),
            (
                "resident_matter_event",
                &["note", "reason"],
                in_accounts("actor_account_id"),
            ),
            // Credits name the person credited in the event's detail.
            (
                "resident_matter_event",
                &["detail"],
                Condition::all().add(col("action").eq("credit")).add(
                    col("matter_id").in_subquery(
                        Query::select()
                            .column(Alias::new("matter_id"))
                            .from(Alias::new("resident_matter_credit"))
                            .and_where(col("person_id").eq(p.id))
                            .to_owned(),
                    ),
                ),
            ),
            ("session_feedback", &["comment"], in_accounts("account_id")),
            ("project_update", &["body"], in_accounts("account_id")),
            (
                "project_evaluation",
                &["comment"],
                in_accounts("account_id"),
            ),
            (
                "patrol_log",
                &["body"],
                Condition::all().add(col("member_id").in_subquery(member_ids(p.id, &accounts))),
            ),
            (
                "venue_booking",
                &["title"],
                in_accounts("organiser_account_id"),
            ),
        ];
        for (table, columns, cond) in written {
            let values = columns.iter().map(|c| (*c, scrubbed(c, &scrub))).collect();
            texts += update(tx, table, values, cond).await?;
        }
    }
    note("texts_scrubbed", texts);

    let summary = serde_json::Value::Object(summary).to_string();
    update(
        tx,
        "person_erasure",
        vec![("summary", Expr::val(summary))],
        Condition::all().add(col("id").eq(inserted)),
    )
    .await?;
    Ok(person_erasure::Entity::find_by_id(inserted)
        .one(tx)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("person_erasure".into()))?)
}

fn of_person_account(id: i64) -> Condition {
    Condition::all().add(col("id").eq(id))
}
