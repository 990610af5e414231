//! Reading and writing compound organisations, and the per-compound rows
//! the coverage figures are counted from.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, Utc};
use jinlin_kernel::place::entity as place;
use jinlin_kernel::place::{PlaceKind, Position};
use jinlin_people::entity::{dwelling_owner, dwelling_resident, person};
use jinlin_places::entity::compound;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement,
};

use crate::entity::{
    owners_committee, owners_committee_member, party_org, party_org_member,
    property_company_contract,
};
use crate::rules::{MemberFlags, OrgKind, Presence};

/// Takes the compound's place row lock for the rest of the transaction
/// (PostgreSQL; SQLite's write transaction already holds the database), so
/// writes to one compound's organisations run in turn.
pub async fn lock_compound(tx: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    place::Entity::find_by_id(id)
        .select_only()
        .column(place::Column::Id)
        .lock_exclusive()
        .into_tuple::<i64>()
        .one(tx)
        .await?;
    Ok(())
}

/// The people on the compound's owners' committee.
pub async fn committee_people(
    db: &impl ConnectionTrait,
    compound_id: i64,
) -> Result<HashSet<i64>, DbErr> {
    let Some(c) = committee_of(db, compound_id).await? else {
        return Ok(HashSet::new());
    };
    Ok(committee_members(db, c.id)
        .await?
        .into_iter()
        .map(|m| m.person_id)
        .collect())
}

/// Whether a person owns a dwelling of the compound.
pub async fn owns_in_compound(
    db: &impl ConnectionTrait,
    person_id: i64,
    compound_id: i64,
) -> Result<bool, DbErr> {
    Ok(dwelling_owner::Entity::find()
        .filter(dwelling_owner::Column::PersonId.eq(person_id))
        .filter(dwelling_owner::Column::CompoundId.eq(compound_id))
        .count(db)
        .await?
        > 0)
}

pub async fn org_of(
    db: &impl ConnectionTrait,
    compound_id: i64,
) -> Result<Option<party_org::Model>, DbErr> {
    party_org::Entity::find()
        .filter(party_org::Column::CompoundId.eq(compound_id))
        .one(db)
        .await
}

pub async fn members_of(
    db: &impl ConnectionTrait,
    org_id: i64,
) -> Result<Vec<party_org_member::Model>, DbErr> {
    party_org_member::Entity::find()
        .filter(party_org_member::Column::OrgId.eq(org_id))
        .order_by_asc(party_org_member::Column::Id)
        .all(db)
        .await
}

pub async fn committee_of(
    db: &impl ConnectionTrait,
    compound_id: i64,
) -> Result<Option<owners_committee::Model>, DbErr> {
    owners_committee::Entity::find()
        .filter(owners_committee::Column::CompoundId.eq(compound_id))
        .one(db)
        .await
}

pub async fn committee_members(
    db: &impl ConnectionTrait,
    committee_id: i64,
) -> Result<Vec<owners_committee_member::Model>, DbErr> {
    owners_committee_member::Entity::find()
        .filter(owners_committee_member::Column::CommitteeId.eq(committee_id))
        .order_by_asc(owners_committee_member::Column::Id)
        .all(db)
        .await
}

pub async fn contract_of(
    db: &impl ConnectionTrait,
    compound_id: i64,
) -> Result<Option<property_company_contract::Model>, DbErr> {
    property_company_contract::Entity::find()
        .filter(property_company_contract::Column::CompoundId.eq(compound_id))
        .one(db)
        .await
}

/// Whether a person owns or lives in a dwelling of the compound, or is
/// already recorded in its party organisation or owners' committee.
pub async fn belongs_to_compound(
    db: &impl ConnectionTrait,
    person_id: i64,
    compound_id: i64,
) -> Result<bool, DbErr> {
    let owner = dwelling_owner::Entity::find()
        .filter(dwelling_owner::Column::PersonId.eq(person_id))
        .filter(dwelling_owner::Column::CompoundId.eq(compound_id))
        .count(db)
        .await?;
    if owner > 0 {
        return Ok(true);
    }
    let resident = dwelling_resident::Entity::find()
        .filter(dwelling_resident::Column::PersonId.eq(person_id))
        .filter(dwelling_resident::Column::CompoundId.eq(compound_id))
        .count(db)
        .await?;
    if resident > 0 {
        return Ok(true);
    }
    let member = party_org_member::Entity::find()
        .filter(party_org_member::Column::PersonId.eq(person_id))
        .filter(party_org_member::Column::CompoundId.eq(compound_id))
        .count(db)
        .await?;
    if member > 0 {
        return Ok(true);
    }
    if let Some(c) = committee_of(db, compound_id).await? {
        let on = owners_committee_member::Entity::find()
            .filter(owners_committee_member::Column::CommitteeId.eq(c.id))
            .filter(owners_committee_member::Column::PersonId.eq(person_id))
            .count(db)
            .await?;
        return Ok(on > 0);
    }
    Ok(false)
}

/// People of a compound (owners and residents, party members first) to
/// choose from in forms; at most `limit`.
pub async fn compound_people(
    db: &impl ConnectionTrait,
    compound_id: i64,
    limit: u64,
) -> Result<Vec<person::Model>, DbErr> {
    let mut ids: Vec<i64> = dwelling_owner::Entity::find()
        .select_only()
        .column(dwelling_owner::Column::PersonId)
        .filter(dwelling_owner::Column::CompoundId.eq(compound_id))
        .filter(dwelling_owner::Column::PersonId.is_not_null())
        .limit(limit * 2)
        .into_tuple::<Option<i64>>()
        .all(db)
        .await?
        .into_iter()
        .flatten()
        .collect();
    ids.extend(
        dwelling_resident::Entity::find()
            .select_only()
            .column(dwelling_resident::Column::PersonId)
            .filter(dwelling_resident::Column::CompoundId.eq(compound_id))
            .limit(limit)
            .into_tuple::<i64>()
            .all(db)
            .await?,
    );
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut people = person::Entity::find()
        .filter(person::Column::Id.is_in(ids))
        .all(db)
        .await?;
    people.sort_by(|a, b| {
        b.party_member
            .cmp(&a.party_member)
            .then_with(|| a.name.cmp(&b.name))
            .then(a.id.cmp(&b.id))
    });
    people.truncate(limit as usize);
    Ok(people)
}

pub struct OrgInput {
    pub kind: OrgKind,
    pub name: String,
    pub founded_on: NaiveDate,
    pub secretary_person_id: Option<i64>,
}

/// Records or changes the compound's party organisation.
pub async fn upsert_org(
    db: &impl ConnectionTrait,
    compound: &place::Model,
    input: &OrgInput,
) -> Result<party_org::Model, DbErr> {
    let now = Utc::now();
    match org_of(db, compound.id).await? {
        Some(found) => {
            party_org::Entity::update_many()
                .col_expr(party_org::Column::Kind, Expr::value(input.kind.as_str()))
                .col_expr(party_org::Column::Name, Expr::value(input.name.clone()))
                .col_expr(party_org::Column::FoundedOn, Expr::value(input.founded_on))
                .col_expr(
                    party_org::Column::SecretaryPersonId,
                    Expr::value(input.secretary_person_id),
                )
                .col_expr(party_org::Column::UpdatedAt, Expr::value(now))
                .filter(party_org::Column::Id.eq(found.id))
                .exec(db)
                .await?;
        }
        None => {
            party_org::Entity::insert(party_org::ActiveModel {
                district_code: Set(compound.district_code.clone().unwrap_or_default()),
                street_id: Set(compound.street_id),
                community_id: Set(compound.community_id),
                compound_id: Set(compound.id),
                parent_place_id: Set(compound.community_id),
                kind: Set(input.kind.as_str().into()),
                name: Set(input.name.clone()),
                founded_on: Set(input.founded_on),
                secretary_person_id: Set(input.secretary_person_id),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            })
            .exec(db)
            .await?;
        }
    }
    org_of(db, compound.id)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("party_org".into()))
}

pub async fn add_member(
    db: &impl ConnectionTrait,
    org: &party_org::Model,
    person_id: i64,
    flags: MemberFlags,
) -> Result<i64, DbErr> {
    let inserted = party_org_member::Entity::insert(party_org_member::ActiveModel {
        org_id: Set(org.id),
        district_code: Set(org.district_code.clone()),
        compound_id: Set(org.compound_id),
        person_id: Set(person_id),
        in_owners_committee: Set(flags.in_owners_committee),
        in_property_company: Set(flags.in_property_company),
        owner_representative: Set(flags.owner_representative),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(db)
    .await?;
    Ok(inserted.last_insert_id)
}

pub async fn set_member_flags(
    db: &impl ConnectionTrait,
    id: i64,
    flags: MemberFlags,
) -> Result<(), DbErr> {
    party_org_member::Entity::update_many()
        .col_expr(
            party_org_member::Column::InOwnersCommittee,
            Expr::value(flags.in_owners_committee),
        )
        .col_expr(
            party_org_member::Column::InPropertyCompany,
            Expr::value(flags.in_property_company),
        )
        .col_expr(
            party_org_member::Column::OwnerRepresentative,
            Expr::value(flags.owner_representative),
        )
        .filter(party_org_member::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn delete_member(db: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    party_org_member::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

pub struct CommitteeInput {
    pub name: String,
    pub term_start: NaiveDate,
    pub term_end: NaiveDate,
    pub elected_on: NaiveDate,
    pub election_record: String,
    /// (person, position)
    pub members: Vec<(i64, &'static str)>,
}

/// Records the compound's owners' committee with its members (replacing
/// the previous record) and names it on the compound's particulars.
pub async fn replace_committee(
    db: &impl ConnectionTrait,
    compound: &place::Model,
    input: &CommitteeInput,
) -> Result<owners_committee::Model, DbErr> {
    let now = Utc::now();
    let district = compound.district_code.clone().unwrap_or_default();
    let chair = input
        .members
        .iter()
        .find(|(_, pos)| *pos == "chair")
        .map(|(id, _)| *id);
    let id = match committee_of(db, compound.id).await? {
        Some(found) => {
            owners_committee::Entity::update_many()
                .col_expr(
                    owners_committee::Column::Name,
                    Expr::value(input.name.clone()),
                )
                .col_expr(
                    owners_committee::Column::TermStart,
                    Expr::value(input.term_start),
                )
                .col_expr(
                    owners_committee::Column::TermEnd,
                    Expr::value(input.term_end),
                )
                .col_expr(
                    owners_committee::Column::ElectedOn,
                    Expr::value(input.elected_on),
                )
                .col_expr(
                    owners_committee::Column::ElectionRecord,
                    Expr::value(input.election_record.clone()),
                )
                .col_expr(owners_committee::Column::ChairPersonId, Expr::value(chair))
                .col_expr(owners_committee::Column::UpdatedAt, Expr::value(now))
                .filter(owners_committee::Column::Id.eq(found.id))
                .exec(db)
                .await?;
            owners_committee_member::Entity::delete_many()
                .filter(owners_committee_member::Column::CommitteeId.eq(found.id))
                .exec(db)
                .await?;
            found.id
        }
        None => {
            owners_committee::Entity::insert(owners_committee::ActiveModel {
                district_code: Set(district.clone()),
                compound_id: Set(compound.id),
                name: Set(input.name.clone()),
                term_start: Set(input.term_start),
                term_end: Set(input.term_end),
                elected_on: Set(input.elected_on),
                election_record: Set(input.election_record.clone()),
                chair_person_id: Set(chair),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            })
            .exec(db)
            .await?
            .last_insert_id
        }
    };
    if !input.members.is_empty() {
        owners_committee_member::Entity::insert_many(input.members.iter().map(|(person, pos)| {
            owners_committee_member::ActiveModel {
                committee_id: Set(id),
                district_code: Set(district.clone()),
                person_id: Set(*person),
                position: Set((*pos).into()),
                ..Default::default()
            }
        }))
        .exec(db)
        .await?;
    }
    name_on_compound(
        db,
        compound.id,
        compound::Column::OwnersCommittee,
        &input.name,
    )
    .await?;
    committee_of(db, compound.id)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("owners_committee".into()))
}

pub struct ContractInput {
    pub company_name: String,
    pub credit_code: String,
    pub contract_start: NaiveDate,
    pub contract_end: NaiveDate,
    pub fee_fen_per_m2: i64,
}

/// Records the compound's property service contract and names the
/// company on the compound's particulars.
pub async fn upsert_contract(
    db: &impl ConnectionTrait,
    compound: &place::Model,
    input: &ContractInput,
) -> Result<property_company_contract::Model, DbErr> {
    use property_company_contract as pc;
    let now = Utc::now();
    match contract_of(db, compound.id).await? {
        Some(found) => {
            pc::Entity::update_many()
                .col_expr(
                    pc::Column::CompanyName,
                    Expr::value(input.company_name.clone()),
                )
                .col_expr(
                    pc::Column::CreditCode,
                    Expr::value(input.credit_code.clone()),
                )
                .col_expr(pc::Column::ContractStart, Expr::value(input.contract_start))
                .col_expr(pc::Column::ContractEnd, Expr::value(input.contract_end))
                .col_expr(pc::Column::FeeFenPerM2, Expr::value(input.fee_fen_per_m2))
                .col_expr(pc::Column::UpdatedAt, Expr::value(now))
                .filter(pc::Column::Id.eq(found.id))
                .exec(db)
                .await?;
        }
        None => {
            pc::Entity::insert(pc::ActiveModel {
                district_code: Set(compound.district_code.clone().unwrap_or_default()),
                compound_id: Set(compound.id),
                company_name: Set(input.company_name.clone()),
                credit_code: Set(input.credit_code.clone()),
                contract_start: Set(input.contract_start),
                contract_end: Set(input.contract_end),
                fee_fen_per_m2: Set(input.fee_fen_per_m2),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            })
            .exec(db)
            .await?;
        }
    }
    name_on_compound(
        db,
        compound.id,
        compound::Column::PropertyCompany,
        &input.company_name,
    )
    .await?;
    contract_of(db, compound.id)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("property_company_contract".into()))
}

/// Sets the compound's text column so the rest of the system sees the
/// committee or company (a compound without particulars has no row).
async fn name_on_compound(
    db: &impl ConnectionTrait,
    compound_id: i64,
    column: compound::Column,
    name: &str,
) -> Result<(), DbErr> {
    compound::Entity::update_many()
        .col_expr(column, Expr::value(name.to_string()))
        .filter(compound::Column::PlaceId.eq(compound_id))
        .exec(db)
        .await?;
    Ok(())
}

/// One compound as the coverage figures see it.
#[derive(Debug, Clone)]
pub struct CompoundRow {
    pub compound_id: i64,
    pub district_code: String,
    pub street_id: Option<i64>,
    pub community_id: Option<i64>,
    pub has_org: bool,
    pub presence: Presence,
    /// The members' cross-memberships, folded into one.
    pub flags: MemberFlags,
}

/// Every compound under `scope` with what coverage needs, in one query.
pub async fn coverage_rows(
    db: &impl ConnectionTrait,
    scope: &Position,
) -> Result<Vec<CompoundRow>, DbErr> {
    let backend = db.get_database_backend();
    let p1 = if backend == DbBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    let (condition, value): (String, sea_orm::Value) = match scope.kind {
        Some(PlaceKind::Compound) => (format!("p.id = {p1}"), scope.id.into()),
        Some(PlaceKind::Community) => (format!("p.community_id = {p1}"), scope.id.into()),
        Some(PlaceKind::Street) => (format!("p.street_id = {p1}"), scope.id.into()),
        Some(k @ (PlaceKind::Province | PlaceKind::City | PlaceKind::District)) => {
            let digits = k.code_digits().unwrap_or(6);
            let code = scope.code.clone().unwrap_or_default();
            let prefix: String = code.chars().take(digits).collect();
            (
                format!("p.district_code LIKE {p1}"),
                format!("{prefix}%").into(),
            )
        }
        _ => return Ok(Vec::new()),
    };
    let flag = |col: &str| {
        format!("(SELECT COUNT(*) FROM party_org_member m WHERE m.org_id = o.id AND m.{col})")
    };
    // Committee membership is read from the committee's member list, not
    // from the member's own flag.
    let on_committee = "(SELECT COUNT(*) FROM party_org_member m WHERE m.org_id = o.id AND EXISTS \
         (SELECT 1 FROM owners_committee_member ocm \
          JOIN owners_committee oc ON oc.id = ocm.committee_id \
          WHERE oc.compound_id = p.id AND ocm.person_id = m.person_id))";
    let sql = format!(
        "SELECT p.id AS compound_id, p.district_code, p.street_id, p.community_id, o.id AS org_id, \
         CAST(CASE WHEN EXISTS (SELECT 1 FROM owners_committee oc WHERE oc.compound_id = p.id) \
           OR COALESCE(c.owners_committee, '') <> '' THEN 1 ELSE 0 END AS BIGINT) AS has_oc, \
         CAST(CASE WHEN EXISTS (SELECT 1 FROM property_company_contract pc WHERE pc.compound_id = p.id) \
           OR COALESCE(c.property_company, '') <> '' THEN 1 ELSE 0 END AS BIGINT) AS has_pc, \
         {} AS n_oc, {} AS n_pc, {} AS n_rep \
         FROM place p \
         LEFT JOIN compound c ON c.place_id = p.id \
         LEFT JOIN party_org o ON o.compound_id = p.id \
         WHERE p.kind = 'compound' AND {condition} \
         ORDER BY p.id",
        on_committee,
        flag("in_property_company"),
        flag("owner_representative"),
    );
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, [value]))
        .await?;
    rows.iter()
        .map(|r| {
            let n = |c: &str| -> Result<i64, DbErr> { r.try_get::<i64>("", c) };
            Ok(CompoundRow {
                compound_id: r.try_get("", "compound_id")?,
                district_code: r
                    .try_get::<Option<String>>("", "district_code")?
                    .unwrap_or_default(),
                street_id: r.try_get("", "street_id")?,
                community_id: r.try_get("", "community_id")?,
                has_org: r.try_get::<Option<i64>>("", "org_id")?.is_some(),
                presence: Presence {
                    owners_committee: n("has_oc")? > 0,
                    property_company: n("has_pc")? > 0,
                },
                flags: MemberFlags {
                    in_owners_committee: n("n_oc")? > 0,
                    in_property_company: n("n_pc")? > 0,
                    owner_representative: n("n_rep")? > 0,
                },
            })
        })
        .collect()
}

/// Places by id, for naming rows.
pub async fn places(
    db: &impl ConnectionTrait,
    ids: Vec<i64>,
) -> Result<HashMap<i64, place::Model>, DbErr> {
    jinlin_places::store::by_ids(db, ids).await
}

/// Places by national code (districts under a city or province).
pub async fn places_by_code(
    db: &impl ConnectionTrait,
    codes: Vec<String>,
) -> Result<Vec<place::Model>, DbErr> {
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    place::Entity::find()
        .filter(place::Column::Code.is_in(codes))
        .all(db)
        .await
}
