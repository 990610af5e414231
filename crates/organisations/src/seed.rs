//! Demo data: party organisations for most compounds of a district (about
//! four in five of them with cross-membership), owners' committees and
//! property contracts where the compound's particulars name them, members
//! drawn from the people already registered at each compound. The same on
//! every run: choices follow the compounds' order, nothing is random.

use std::collections::HashMap;

use chrono::{Datelike, Months, NaiveDate, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    Statement,
};

use crate::entity::{
    owners_committee, owners_committee_member, party_org, party_org_member,
    property_company_contract,
};
use crate::rules::{OrgKind, credit_check_character};

/// What the demo seed wrote.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SeedSummary {
    pub compounds: u64,
    pub party_orgs: u64,
    pub covering: u64,
    pub members: u64,
    pub committees: u64,
    pub contracts: u64,
}

const CHUNK: usize = 500;

struct CompoundInfo {
    id: i64,
    name: String,
    street_id: Option<i64>,
    community_id: Option<i64>,
    owners_committee: Option<String>,
    property_company: Option<String>,
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

/// A valid unified social credit code for the n-th company of a district.
pub fn demo_credit_code(district_code: &str, n: usize) -> String {
    let region: String = format!("{district_code:0<6}").chars().take(6).collect();
    let body = format!("91{region}MA{:07}", n % 10_000_000);
    let check = credit_check_character(&body).unwrap_or('0');
    format!("{body}{check}")
}

/// Fills the demo district's organisations (nothing if it has some already).
pub async fn seed_demo(
    db: &impl ConnectionTrait,
    district_code: &str,
) -> Result<SeedSummary, DbErr> {
    let existing = party_org::Entity::find()
        .filter(party_org::Column::DistrictCode.eq(district_code))
        .count(db)
        .await?;
    if existing > 0 {
        return Ok(SeedSummary::default());
    }
    let backend = db.get_database_backend();
    let p1 = if backend == DbBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    let compounds: Vec<CompoundInfo> = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT p.id, p.name, p.street_id, p.community_id, c.owners_committee, c.property_company \
                 FROM place p LEFT JOIN compound c ON c.place_id = p.id \
                 WHERE p.kind = 'compound' AND p.district_code = {p1} ORDER BY p.id"
            ),
            [district_code.into()],
        ))
        .await?
        .iter()
        .map(|r| {
            Ok(CompoundInfo {
                id: r.try_get("", "id")?,
                name: r.try_get("", "name")?,
                street_id: r.try_get("", "street_id")?,
                community_id: r.try_get("", "community_id")?,
                owners_committee: r.try_get("", "owners_committee")?,
                property_company: r.try_get("", "property_company")?,
            })
        })
        .collect::<Result<_, DbErr>>()?;
    // Up to eight people per compound, party members first, in registry order.
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT compound_id, person_id FROM ( \
                   SELECT o.compound_id, o.person_id, ROW_NUMBER() OVER ( \
                     PARTITION BY o.compound_id ORDER BY p.party_member DESC, o.id) AS rn \
                   FROM dwelling_owner o JOIN person p ON p.id = o.person_id \
                   WHERE o.district_code = {p1} AND o.person_id IS NOT NULL) x \
                 WHERE rn <= 8 ORDER BY compound_id, rn"
            ),
            [district_code.into()],
        ))
        .await?;
    let mut people: HashMap<i64, Vec<i64>> = HashMap::new();
    for r in &rows {
        let compound: i64 = r.try_get("", "compound_id")?;
        let person: i64 = r.try_get("", "person_id")?;
        let list = people.entry(compound).or_default();
        if !list.contains(&person) {
            list.push(person);
        }
    }

    let now = Utc::now();
    let today = now.date_naive();
    let mut summary = SeedSummary {
        compounds: compounds.len() as u64,
        ..Default::default()
    };
    // Which compounds get what, decided up front.
    struct Plan {
        compound: usize,
        covering: bool,
    }
    let mut orgs: Vec<Plan> = Vec::new();
    let mut org_rows = Vec::new();
    let mut committee_rows = Vec::new();
    let mut contract_rows = Vec::new();
    for (i, c) in compounds.iter().enumerate() {
        let folks = people.get(&c.id).map(Vec::as_slice).unwrap_or(&[]);
        // Four in five compounds with at least one registered owner.
        if !folks.is_empty() && i % 5 != 3 {
            let n = orgs.len();
            let covering = n % 5 != 2;
            let kind = if folks.len() < 3 {
                OrgKind::Group
            } else if n % 11 == 7 {
                OrgKind::JointBranch
            } else {
                OrgKind::Branch
            };
            let suffix = match kind {
                OrgKind::Branch => "党支部",
                OrgKind::Group => "党小组",
                OrgKind::JointBranch => "联合党支部",
            };
            let founded = date(2018, 1, 1) + chrono::Duration::days(((i * 53) % 2000) as i64);
            org_rows.push(party_org::ActiveModel {
                district_code: Set(district_code.to_string()),
                street_id: Set(c.street_id),
                community_id: Set(c.community_id),
                compound_id: Set(c.id),
                parent_place_id: Set(c.community_id),
                kind: Set(kind.as_str().into()),
                name: Set(format!("{}{suffix}", c.name)),
                founded_on: Set(founded.min(today)),
                secretary_person_id: Set(folks.first().copied()),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            });
            orgs.push(Plan {
                compound: i,
                covering,
            });
        }
        if let Some(name) = c.owners_committee.as_ref().filter(|s| !s.is_empty()) {
            let start = date(2020, 1, 1) + Months::new((i % 48) as u32);
            committee_rows.push(owners_committee::ActiveModel {
                district_code: Set(district_code.to_string()),
                compound_id: Set(c.id),
                name: Set(name.clone()),
                term_start: Set(start),
                term_end: Set(start + Months::new(60)),
                elected_on: Set(start - chrono::Duration::days(14)),
                election_record: Set(format!(
                    "{}年{}月业主大会选举产生，参加表决的业主专有面积和人数均过半数。",
                    (start - chrono::Duration::days(14)).year(),
                    (start - chrono::Duration::days(14)).month()
                )),
                chair_person_id: Set(folks.get(1).or(folks.first()).copied()),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            });
        }
        if let Some(name) = c.property_company.as_ref().filter(|s| !s.is_empty()) {
            let start = date(2022, 1, 1) + Months::new((i % 24) as u32);
            contract_rows.push(property_company_contract::ActiveModel {
                district_code: Set(district_code.to_string()),
                compound_id: Set(c.id),
                company_name: Set(name.clone()),
                credit_code: Set(demo_credit_code(district_code, i + 1)),
                contract_start: Set(start),
                contract_end: Set(start + Months::new(36)),
                fee_fen_per_m2: Set(80 + ((i * 37) % 270) as i64),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            });
        }
    }
    summary.party_orgs = org_rows.len() as u64;
    summary.committees = committee_rows.len() as u64;
    summary.contracts = contract_rows.len() as u64;
    insert_chunks(db, org_rows, party_org::Entity::insert_many).await?;
    insert_chunks(db, committee_rows, owners_committee::Entity::insert_many).await?;
    insert_chunks(
        db,
        contract_rows,
        property_company_contract::Entity::insert_many,
    )
    .await?;

    let org_ids: HashMap<i64, i64> = party_org::Entity::find()
        .filter(party_org::Column::DistrictCode.eq(district_code))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.compound_id, o.id))
        .collect();
    let committees: HashMap<i64, (i64, Option<i64>)> = owners_committee::Entity::find()
        .filter(owners_committee::Column::DistrictCode.eq(district_code))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.compound_id, (c.id, c.chair_person_id)))
        .collect();

    let mut member_rows = Vec::new();
    for plan in &orgs {
        let c = &compounds[plan.compound];
        let Some(&org_id) = org_ids.get(&c.id) else {
            continue;
        };
        let folks = people.get(&c.id).map(Vec::as_slice).unwrap_or(&[]);
        let has_committee = c.owners_committee.as_ref().is_some_and(|s| !s.is_empty());
        let has_company = c.property_company.as_ref().is_some_and(|s| !s.is_empty());
        let count = folks.len().min(5);
        for (k, person) in folks.iter().take(count).enumerate() {
            // The sides are spread over the first members; one member takes
            // several sides in small organisations. A non-covering
            // organisation lacks the owner representatives.
            let representative = plan.covering && k == 0;
            let committee = has_committee && k == 1.min(count - 1);
            let company = has_company && k == 2.min(count - 1);
            member_rows.push(party_org_member::ActiveModel {
                org_id: Set(org_id),
                district_code: Set(district_code.to_string()),
                compound_id: Set(c.id),
                person_id: Set(*person),
                in_owners_committee: Set(committee),
                in_property_company: Set(company),
                owner_representative: Set(representative || (plan.covering && k == 3)),
                created_at: Set(now),
                ..Default::default()
            });
        }
        if plan.covering {
            summary.covering += 1;
        }
    }
    summary.members = member_rows.len() as u64;
    insert_chunks(db, member_rows, party_org_member::Entity::insert_many).await?;

    let positions = ["chair", "vice_chair", "member"];
    let mut committee_members = Vec::new();
    for c in &compounds {
        let Some(&(committee_id, chair)) = committees.get(&c.id) else {
            continue;
        };
        let folks = people.get(&c.id).map(Vec::as_slice).unwrap_or(&[]);
        let mut chosen: Vec<i64> = chair.into_iter().collect();
        chosen.extend(
            folks
                .iter()
                .skip(2)
                .copied()
                .filter(|p| Some(*p) != chair)
                .take(2),
        );
        for (k, person) in chosen.into_iter().enumerate() {
            committee_members.push(owners_committee_member::ActiveModel {
                committee_id: Set(committee_id),
                district_code: Set(district_code.to_string()),
                person_id: Set(person),
                position: Set(positions[k.min(2)].into()),
                ..Default::default()
            });
        }
    }
    insert_chunks(
        db,
        committee_members,
        owners_committee_member::Entity::insert_many,
    )
    .await?;
    Ok(summary)
}

async fn insert_chunks<A, E, F>(
    db: &impl ConnectionTrait,
    rows: Vec<A>,
    make: F,
) -> Result<(), DbErr>
where
    A: sea_orm::ActiveModelTrait<Entity = E>,
    E: EntityTrait,
    F: Fn(Vec<A>) -> sea_orm::InsertMany<A>,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(CHUNK).collect();
        make(chunk).exec_without_returning(db).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::CreditCode;

    #[test]
    fn demo_credit_codes_are_valid_and_distinct() {
        let a = demo_credit_code("350104", 1);
        let b = demo_credit_code("350104", 2);
        assert!(CreditCode::parse(&a).is_ok(), "{a}");
        assert!(CreditCode::parse(&b).is_ok(), "{b}");
        assert_ne!(a, b);
    }

    /// Times the seed and the district's coverage on a copy of a demo
    /// database: `JINLIN_ORG_SEED_DB=sqlite:///path/copy.sqlite cargo test
    /// -p jinlin-organisations -- --ignored --nocapture`.
    #[tokio::test]
    #[ignore]
    async fn seed_and_coverage_on_a_demo_copy() {
        let Ok(url) = std::env::var("JINLIN_ORG_SEED_DB") else {
            return;
        };
        let db = sea_orm::Database::connect(&url).await.unwrap();
        let started = std::time::Instant::now();
        let summary = seed_demo(&db, "350104").await.unwrap();
        println!("seed: {summary:?} in {:?}", started.elapsed());
        let district = jinlin_kernel::place::entity::Entity::find()
            .filter(jinlin_kernel::place::entity::Column::Code.eq("350104000000"))
            .one(&db)
            .await
            .unwrap()
            .unwrap();
        let started = std::time::Instant::now();
        let rows = crate::store::coverage_rows(&db, &district.position())
            .await
            .unwrap();
        let covering = rows
            .iter()
            .filter(|r| r.has_org && crate::rules::covers(r.presence, [r.flags]))
            .count();
        let orgs = rows.iter().filter(|r| r.has_org).count();
        println!(
            "coverage: {} compounds, {orgs} orgs, {covering} covering in {:?}",
            rows.len(),
            started.elapsed()
        );
    }
}
