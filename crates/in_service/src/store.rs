//! Queries of reports, the three ones, service records, the points scheme,
//! and of the agencies and accounts around them.

use std::collections::{HashMap, HashSet};

use jinlin_agencies::entity::{agency, agency_account, agency_member, agency_pairing};
use jinlin_kernel::auth::entity::{account, role_grant};
use jinlin_kernel::auth::{Principal, Role};
use jinlin_kernel::db::Params;
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::place::entity as place;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Value,
};

use crate::entity::{service_points_scheme, service_record, service_report, three_ones};
use crate::rules::{self, OneKind, RecordState, ReportKind, ReportState, Scheme, ServiceKind};

/// Which of the three tables a scope is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rows {
    Reports,
    Ones,
    Records,
}

/// The rows a user's grants reach, as a condition on the shared columns
/// (`district_code`, `street_id`, `community_id`, `compound_id`,
/// `account_id`) of the three tables: their own, the compounds they
/// oversee, and for the admins of `agencies` their work side only (see
/// `agency_reach`).
pub fn scope(user: &Principal, agencies: &[i64], rows: Rows) -> Condition {
    let col = |name: &str| Expr::col(Alias::new(name));
    let mut any = Condition::any().add(col("account_id").eq(user.account_id));
    for g in &user.grants {
        let p = &g.place;
        any = match g.role {
            Role::DistrictAdmin => match p.kind {
                Some(PlaceKind::District) => {
                    any.add(col("district_code").eq(p.district_code.clone().unwrap_or_default()))
                }
                _ => match p.code.as_deref() {
                    Some(code) => {
                        let digits = p.kind.and_then(|k| k.code_digits()).unwrap_or(6);
                        let prefix = code.get(..digits).unwrap_or(code);
                        any.add(col("district_code").like(format!("{prefix}%")))
                    }
                    None => any,
                },
            },
            Role::StreetAdmin => any.add(col("street_id").eq(p.id)),
            Role::CommunityWorker => any.add(col("community_id").eq(p.id)),
            Role::CompoundSecretary => any.add(col("compound_id").eq(p.id)),
            _ => any,
        };
    }
    if let Some(c) = agency_reach(agencies, rows) {
        any = any.add(c);
    }
    any
}

/// What the admins of `agencies` read of their members' service: the
/// employer-pairing reports made to these agencies, and the records at the
/// compounds of those reports that were confirmed (still live or withdrawn
/// since). Nothing of the home side: no residence reports, no three ones.
pub fn agency_reach(agencies: &[i64], rows: Rows) -> Option<Condition> {
    if agencies.is_empty() {
        return None;
    }
    let ids = agencies.to_vec();
    match rows {
        Rows::Ones => None,
        Rows::Reports => Some(
            Condition::all()
                .add(Expr::col(Alias::new("kind")).eq(ReportKind::EmployerPairing.as_str()))
                .add(Expr::col(Alias::new("agency_id")).is_in(ids)),
        ),
        Rows::Records => {
            let w = Alias::new("w");
            let work = Query::select()
                .expr(Expr::val(1))
                .from_as(service_report::Entity, w.clone())
                .and_where(
                    Expr::col((w.clone(), service_report::Column::AccountId))
                        .equals((service_record::Entity, service_record::Column::AccountId)),
                )
                .and_where(
                    Expr::col((w.clone(), service_report::Column::CompoundId))
                        .equals((service_record::Entity, service_record::Column::CompoundId)),
                )
                .and_where(
                    Expr::col((w.clone(), service_report::Column::Kind))
                        .eq(ReportKind::EmployerPairing.as_str()),
                )
                .and_where(Expr::col((w.clone(), service_report::Column::AgencyId)).is_in(ids))
                .and_where(
                    Expr::col((w.clone(), service_report::Column::State)).is_in([
                        ReportState::Confirmed.as_str(),
                        ReportState::Withdrawn.as_str(),
                    ]),
                )
                .and_where(Expr::col((w, service_report::Column::DecidedAt)).is_not_null())
                .to_owned();
            Some(Condition::all().add(Expr::exists(work)))
        }
    }
}

/// The agencies an agency admin administers (none for other accounts).
pub async fn reader_agencies(
    db: &impl ConnectionTrait,
    user: &Principal,
) -> Result<Vec<i64>, DbErr> {
    if !user.has_role(Role::AgencyAdmin) {
        return Ok(Vec::new());
    }
    administered(db, user.account_id).await
}

/// Whether a record lies on the work side of `agencies` (see `agency_reach`).
pub async fn record_reached(
    db: &impl ConnectionTrait,
    agencies: &[i64],
    record_id: i64,
) -> Result<bool, DbErr> {
    let Some(c) = agency_reach(agencies, Rows::Records) else {
        return Ok(false);
    };
    Ok(service_record::Entity::find_by_id(record_id)
        .filter(c)
        .one(db)
        .await?
        .is_some())
}

// ---------------------------------------------------------------- reports

pub async fn find_report(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<service_report::Model>, DbErr> {
    service_report::Entity::find_by_id(id).one(db).await
}

/// Takes a report's row lock for the rest of the transaction
/// (PostgreSQL; SQLite's write transaction already holds the database).
pub async fn lock_report(tx: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    service_report::Entity::find_by_id(id)
        .select_only()
        .column(service_report::Column::Id)
        .lock_exclusive()
        .into_tuple::<i64>()
        .one(tx)
        .await?;
    Ok(())
}

pub async fn live_report(
    db: &impl ConnectionTrait,
    account_id: i64,
    kind: ReportKind,
    compound_id: i64,
) -> Result<Option<service_report::Model>, DbErr> {
    service_report::Entity::find()
        .filter(service_report::Column::AccountId.eq(account_id))
        .filter(service_report::Column::Kind.eq(kind.as_str()))
        .filter(service_report::Column::CompoundId.eq(compound_id))
        .filter(service_report::Column::State.is_in([
            ReportState::Submitted.as_str(),
            ReportState::Confirmed.as_str(),
        ]))
        .one(db)
        .await
}

/// A member's reports, newest first.
pub async fn reports_of(
    db: &impl ConnectionTrait,
    account_id: i64,
) -> Result<Vec<service_report::Model>, DbErr> {
    service_report::Entity::find()
        .filter(service_report::Column::AccountId.eq(account_id))
        .order_by_desc(service_report::Column::Id)
        .all(db)
        .await
}

/// A member's confirmed reports (of one kind, or both).
pub async fn confirmed_reports(
    db: &impl ConnectionTrait,
    account_id: i64,
    kind: Option<ReportKind>,
) -> Result<Vec<service_report::Model>, DbErr> {
    let mut q = service_report::Entity::find()
        .filter(service_report::Column::AccountId.eq(account_id))
        .filter(service_report::Column::State.eq(ReportState::Confirmed.as_str()));
    if let Some(k) = kind {
        q = q.filter(service_report::Column::Kind.eq(k.as_str()));
    }
    q.order_by_asc(service_report::Column::Id).all(db).await
}

/// Reports meeting `cond`, newest first.
pub async fn reports(
    db: &impl ConnectionTrait,
    cond: Condition,
    limit: u64,
    offset: u64,
) -> Result<Vec<service_report::Model>, DbErr> {
    service_report::Entity::find()
        .filter(cond)
        .order_by_desc(service_report::Column::Id)
        .limit(limit)
        .offset(offset)
        .all(db)
        .await
}

// ---------------------------------------------------------------- three ones

pub async fn find_one(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<three_ones::Model>, DbErr> {
    three_ones::Entity::find_by_id(id).one(db).await
}

pub async fn lock_one(tx: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    three_ones::Entity::find_by_id(id)
        .select_only()
        .column(three_ones::Column::Id)
        .lock_exclusive()
        .into_tuple::<i64>()
        .one(tx)
        .await?;
    Ok(())
}

/// A member's live ones.
pub async fn live_ones(
    db: &impl ConnectionTrait,
    account_id: i64,
) -> Result<Vec<three_ones::Model>, DbErr> {
    three_ones::Entity::find()
        .filter(three_ones::Column::AccountId.eq(account_id))
        .filter(three_ones::Column::ReleasedAt.is_null())
        .order_by_asc(three_ones::Column::Id)
        .all(db)
        .await
}

pub async fn ones(
    db: &impl ConnectionTrait,
    cond: Condition,
    live_only: bool,
    limit: u64,
    offset: u64,
) -> Result<Vec<three_ones::Model>, DbErr> {
    let mut q = three_ones::Entity::find().filter(cond);
    if live_only {
        q = q.filter(three_ones::Column::ReleasedAt.is_null());
    }
    q.order_by_desc(three_ones::Column::Id)
        .limit(limit)
        .offset(offset)
        .all(db)
        .await
}

// ---------------------------------------------------------------- records

pub async fn find_record(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<service_record::Model>, DbErr> {
    service_record::Entity::find_by_id(id).one(db).await
}

pub async fn lock_record(tx: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    service_record::Entity::find_by_id(id)
        .select_only()
        .column(service_record::Column::Id)
        .lock_exclusive()
        .into_tuple::<i64>()
        .one(tx)
        .await?;
    Ok(())
}

/// Records meeting `cond`, latest service first.
pub async fn records(
    db: &impl ConnectionTrait,
    cond: Condition,
    limit: u64,
    offset: u64,
) -> Result<Vec<service_record::Model>, DbErr> {
    service_record::Entity::find()
        .filter(cond)
        .order_by_desc(service_record::Column::ServedOn)
        .order_by_desc(service_record::Column::Id)
        .limit(limit)
        .offset(offset)
        .all(db)
        .await
}

// ---------------------------------------------------------------- scheme

pub async fn scheme_row(
    db: &impl ConnectionTrait,
    district_code: &str,
) -> Result<Option<service_points_scheme::Model>, DbErr> {
    service_points_scheme::Entity::find()
        .filter(service_points_scheme::Column::DistrictCode.eq(district_code))
        .one(db)
        .await
}

/// The district's scheme, or the default.
pub async fn scheme(db: &impl ConnectionTrait, district_code: &str) -> Result<Scheme, DbErr> {
    Ok(scheme_row(db, district_code)
        .await?
        .map(|s| Scheme {
            per_hour: s.per_hour,
            per_matter: s.per_matter,
            per_activity: s.per_activity,
        })
        .unwrap_or(rules::DEFAULT_SCHEME))
}

// ---------------------------------------------------------------- agencies

/// Agencies a member belongs to: `agency_member` rows naming the account
/// or its person.
pub async fn member_agencies(
    db: &impl ConnectionTrait,
    account_id: i64,
    person_id: Option<i64>,
) -> Result<Vec<agency::Model>, DbErr> {
    let mut who = Condition::any().add(agency_member::Column::AccountId.eq(account_id));
    if let Some(p) = person_id {
        who = who.add(agency_member::Column::PersonId.eq(p));
    }
    let ids: Vec<i64> = agency_member::Entity::find()
        .filter(who)
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.agency_id)
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    agency::Entity::find()
        .filter(agency::Column::Id.is_in(ids))
        .order_by_asc(agency::Column::Id)
        .all(db)
        .await
}

/// Agencies linked to an account as their admin.
pub async fn administered(db: &impl ConnectionTrait, account_id: i64) -> Result<Vec<i64>, DbErr> {
    Ok(agency_account::Entity::find()
        .filter(agency_account::Column::AccountId.eq(account_id))
        .all(db)
        .await?
        .into_iter()
        .map(|a| a.agency_id)
        .collect())
}

/// The member accounts of agencies, by agency: accounts named in
/// `agency_member`, and accounts of the persons named there. `filter`
/// selects the `agency_member` rows (by agency or by district).
async fn member_accounts_where(
    db: &impl ConnectionTrait,
    filter: Condition,
) -> Result<HashMap<i64, HashSet<i64>>, DbErr> {
    let rows = agency_member::Entity::find()
        .filter(filter.clone())
        .all(db)
        .await?;
    let mut out: HashMap<i64, HashSet<i64>> = HashMap::new();
    let mut by_person: HashMap<i64, Vec<i64>> = HashMap::new();
    for r in &rows {
        if let Some(a) = r.account_id {
            out.entry(r.agency_id).or_default().insert(a);
        }
        if let Some(p) = r.person_id {
            by_person.entry(p).or_default().push(r.agency_id);
        }
    }
    if !by_person.is_empty() {
        // A subquery rather than a list of ids: a district's members may
        // outnumber the bind parameters a statement takes.
        let persons = Query::select()
            .column(agency_member::Column::PersonId)
            .from(agency_member::Entity)
            .cond_where(filter)
            .and_where(agency_member::Column::PersonId.is_not_null())
            .to_owned();
        let accounts: Vec<(i64, Option<i64>)> = account::Entity::find()
            .select_only()
            .column(account::Column::Id)
            .column(account::Column::PersonId)
            .filter(account::Column::PersonId.in_subquery(persons))
            .into_tuple()
            .all(db)
            .await?;
        for (id, person) in accounts {
            for agency in person.and_then(|p| by_person.get(&p)).into_iter().flatten() {
                out.entry(*agency).or_default().insert(id);
            }
        }
    }
    Ok(out)
}

pub async fn member_accounts(
    db: &impl ConnectionTrait,
    agency_ids: &[i64],
) -> Result<HashMap<i64, HashSet<i64>>, DbErr> {
    if agency_ids.is_empty() {
        return Ok(HashMap::new());
    }
    member_accounts_where(
        db,
        Condition::all().add(agency_member::Column::AgencyId.is_in(agency_ids.iter().copied())),
    )
    .await
}

/// Whether the agency is currently paired with the compound.
pub async fn paired(
    db: &impl ConnectionTrait,
    agency_id: i64,
    compound_id: i64,
) -> Result<bool, DbErr> {
    Ok(
        jinlin_agencies::store::current_pairing(db, agency_id, compound_id)
            .await?
            .is_some(),
    )
}

/// Compounds currently paired with any of the agencies.
pub async fn paired_compounds(
    db: &impl ConnectionTrait,
    agency_ids: &[i64],
) -> Result<Vec<agency_pairing::Model>, DbErr> {
    if agency_ids.is_empty() {
        return Ok(Vec::new());
    }
    agency_pairing::Entity::find()
        .filter(agency_pairing::Column::AgencyId.is_in(agency_ids.iter().copied()))
        .filter(agency_pairing::Column::EndedAt.is_null())
        .order_by_asc(agency_pairing::Column::CompoundId)
        .all(db)
        .await
}

// ---------------------------------------------------------------- people

/// The secretaries of a compound's party organisation.
pub async fn secretaries(db: &impl ConnectionTrait, compound_id: i64) -> Result<Vec<i64>, DbErr> {
    Ok(role_grant::Entity::find()
        .filter(role_grant::Column::Role.eq(Role::CompoundSecretary.as_str()))
        .filter(role_grant::Column::PlaceId.eq(compound_id))
        .all(db)
        .await?
        .into_iter()
        .map(|g| g.account_id)
        .collect())
}

/// Display names of accounts.
pub async fn account_names(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = i64>,
) -> Result<HashMap<i64, String>, DbErr> {
    let ids: HashSet<i64> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(account::Entity::find()
        .select_only()
        .column(account::Column::Id)
        .column(account::Column::DisplayName)
        .filter(account::Column::Id.is_in(ids))
        .into_tuple::<(i64, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

pub async fn places(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = i64>,
) -> Result<HashMap<i64, place::Model>, DbErr> {
    jinlin_places::store::by_ids(db, ids).await
}

pub async fn agency_names(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = i64>,
) -> Result<HashMap<i64, String>, DbErr> {
    let ids: HashSet<i64> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(agency::Entity::find()
        .filter(agency::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect())
}

pub async fn matter_titles(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = i64>,
) -> Result<HashMap<i64, String>, DbErr> {
    use jinlin_resident_matters::entity::matter;
    let ids: HashSet<i64> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(matter::Entity::find()
        .select_only()
        .column(matter::Column::Id)
        .column(matter::Column::Title)
        .filter(matter::Column::Id.is_in(ids))
        .into_tuple::<(i64, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

// ---------------------------------------------------------------- figures

/// The rows of a place for the figures: one shared column and its value.
#[derive(Debug, Clone)]
pub struct Within {
    column: &'static str,
    /// A place id, or a district code of digits only; always bound.
    value: Value,
}

impl Within {
    pub fn district(code: &str) -> Option<Within> {
        (!code.is_empty() && code.bytes().all(|b| b.is_ascii_digit())).then(|| Within {
            column: "district_code",
            value: code.to_string().into(),
        })
    }

    pub fn street(id: i64) -> Within {
        Within {
            column: "street_id",
            value: id.into(),
        }
    }

    pub fn community(id: i64) -> Within {
        Within {
            column: "community_id",
            value: id.into(),
        }
    }

    pub fn compound(id: i64) -> Within {
        Within {
            column: "compound_id",
            value: id.into(),
        }
    }

    fn on(&self, alias: &str, p: &mut Params) -> String {
        format!("{alias}.{} = {}", self.column, p.bind(self.value.clone()))
    }
}

/// How the figures group a place's rows.
#[derive(Debug, Clone, Copy)]
pub enum Group {
    /// The place as a whole (one group, key 0).
    Whole,
    /// The whole (key 0) and by a shared column (`street_id`,
    /// `community_id` or `compound_id`), in the same statements.
    WholeAndBy(&'static str),
    /// By the agencies of the district whose members the rows are.
    Agencies,
}

/// Which fields of [`rules::Tally`] to count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parts {
    /// Every one: five statements.
    All,
    /// Members reported, their three-ones completion and the matters
    /// coordinated, what a cockpit shows: three statements; the rest stay
    /// zero.
    Headline,
}

/// The tallies of a place's rows, grouped, counted by the database: the
/// work grows with the groups, not with the history.
pub async fn tallies(
    db: &impl ConnectionTrait,
    within: &Within,
    group: Group,
    parts: Parts,
    district_code: &str,
) -> Result<HashMap<i64, rules::Tally>, DbErr> {
    // The group key of each part of the rows' union: the whole and its
    // children are read together, the whole under key 0 (no place's id).
    let keys: Vec<String> = match group {
        Group::Whole => vec!["0".into()],
        Group::WholeAndBy(column) => vec!["0".into(), format!("t.{column}")],
        Group::Agencies => vec!["m.agency_id".into()],
    };
    let ones_same_group = match group {
        Group::WholeAndBy(column) => format!(" AND (r.g = 0 OR o.{column} = r.g)"),
        Group::Whole | Group::Agencies => String::new(),
    };
    // The grouped rows of a table, its group key as `g`; `extra` adds
    // conditions. Binds in the order the placeholders appear.
    let rows = |p: &mut Params, table: &str, columns: &str, extra: &[(&str, &str)]| {
        let parts: Vec<String> = keys
            .iter()
            .map(|key| {
                let join = match group {
                    Group::Agencies => format!(
                        "JOIN {} m ON m.account_id = t.account_id",
                        members_sql(district_code, p)
                    ),
                    _ => String::new(),
                };
                let mut sql = format!(
                    "SELECT CAST({key} AS BIGINT) AS g, {columns} FROM {table} t {join} WHERE {}",
                    within.on("t", p)
                );
                for (column, value) in extra {
                    sql.push_str(&format!(" AND t.{column} = {}", p.bind(*value)));
                }
                sql
            })
            .collect();
        format!("({})", parts.join(" UNION ALL "))
    };
    let backend = db.get_database_backend();
    let run = |p: Params, sql: String| db.query_all_raw(p.statement(sql));
    let mut out: HashMap<i64, rules::Tally> = HashMap::new();

    let confirmed = ReportState::Confirmed.as_str();
    let submitted = ReportState::Submitted.as_str();
    if parts == Parts::All {
        let mut p = Params::new(backend);
        let sql = format!(
            "SELECT g, state, kind, COUNT(*) AS n FROM {} s GROUP BY g, state, kind",
            rows(&mut p, "service_report", "t.state, t.kind", &[])
        );
        for r in run(p, sql).await? {
            let g: i64 = r.try_get("", "g")?;
            let state: String = r.try_get("", "state")?;
            let kind: String = r.try_get("", "kind")?;
            let n = count(r.try_get("", "n")?);
            let t = out.entry(g).or_default();
            if state == confirmed {
                match ReportKind::parse(&kind) {
                    Some(ReportKind::Residence) => t.residence_reports += n,
                    Some(ReportKind::EmployerPairing) => t.employer_reports += n,
                    None => {}
                }
            } else if state == submitted && ReportKind::parse(&kind).is_some() {
                t.pending_reports += n;
            }
        }
    }
    let mut p = Params::new(backend);
    let sql = format!(
        "SELECT g, COUNT(DISTINCT account_id) AS n FROM {} s GROUP BY g",
        rows(
            &mut p,
            "service_report",
            "t.account_id",
            &[("state", confirmed)]
        )
    );
    for r in run(p, sql).await? {
        out.entry(r.try_get("", "g")?).or_default().members_reported = count(r.try_get("", "n")?);
    }
    // Each member reported at home, with how many kinds of live ones they
    // hold in the place (and the group), then counted by completion.
    let all = OneKind::ALL.len() as i64;
    let mut p = Params::new(backend);
    let (all_1, all_2) = (p.bind(all), p.bind(all));
    let reported = rows(
        &mut p,
        "service_report",
        "t.account_id",
        &[
            ("state", confirmed),
            ("kind", ReportKind::Residence.as_str()),
        ],
    );
    let sql = format!(
        "SELECT g, \
           CAST(SUM(CASE WHEN n >= {all_1} THEN 1 ELSE 0 END) AS BIGINT) AS c_all, \
           CAST(SUM(CASE WHEN n > 0 AND n < {all_2} THEN 1 ELSE 0 END) AS BIGINT) AS c_some, \
           CAST(SUM(CASE WHEN n = 0 THEN 1 ELSE 0 END) AS BIGINT) AS c_none \
         FROM (SELECT r.g, r.account_id, COUNT(DISTINCT o.kind) AS n \
               FROM (SELECT DISTINCT g, account_id FROM {reported} s) r \
               LEFT JOIN three_ones o ON o.account_id = r.account_id \
                 AND o.released_at IS NULL AND {}{ones_same_group} \
               GROUP BY r.g, r.account_id) x \
         GROUP BY g",
        within.on("o", &mut p),
    );
    for r in run(p, sql).await? {
        let t = out.entry(r.try_get("", "g")?).or_default();
        t.three_ones_all = count(r.try_get("", "c_all")?);
        t.three_ones_some = count(r.try_get("", "c_some")?);
        t.three_ones_none = count(r.try_get("", "c_none")?);
    }
    let done = RecordState::Confirmed.as_str();
    if parts == Parts::All {
        let mut p = Params::new(backend);
        let sql = format!(
            "SELECT g, state, COUNT(*) AS n, \
               CAST(COALESCE(SUM(half_hours), 0) AS BIGINT) AS half_hours, \
               CAST(COALESCE(SUM(points_x2), 0) AS BIGINT) AS points_x2 \
             FROM {} s GROUP BY g, state",
            rows(
                &mut p,
                "service_record",
                "t.state, t.half_hours, t.points_x2",
                &[]
            )
        );
        for r in run(p, sql).await? {
            let t = out.entry(r.try_get("", "g")?).or_default();
            let state: String = r.try_get("", "state")?;
            let n = count(r.try_get("", "n")?);
            if state == done {
                t.records += n;
                t.half_hours += r.try_get::<i64>("", "half_hours")?;
                t.points_x2 += r.try_get::<i64>("", "points_x2")?;
            } else if state == RecordState::Submitted.as_str() {
                t.pending_records += n;
            }
        }
    }
    // Matters coordinated: distinct matters linked, plus coordination
    // records without a link.
    let mut p = Params::new(backend);
    let sql = format!(
        "SELECT g, COUNT(DISTINCT matter_id) AS linked, \
           CAST(SUM(CASE WHEN matter_id IS NULL THEN 1 ELSE 0 END) AS BIGINT) AS unlinked \
         FROM {} s GROUP BY g",
        rows(
            &mut p,
            "service_record",
            "t.matter_id",
            &[
                ("state", done),
                ("kind", ServiceKind::MatterCoordination.as_str()),
            ]
        )
    );
    for r in run(p, sql).await? {
        out.entry(r.try_get("", "g")?)
            .or_default()
            .matters_coordinated =
            count(r.try_get("", "linked")?) + count(r.try_get("", "unlinked")?);
    }
    Ok(out)
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Who belongs to which of a district's agencies, as an SQL table of
/// `(agency_id, account_id)`: accounts named, and accounts of persons
/// named, in its `agency_member` rows.
fn members_sql(district_code: &str, p: &mut Params) -> String {
    let first = p.bind(district_code);
    let second = p.bind(district_code);
    format!(
        "(SELECT agency_id, account_id FROM agency_member \
           WHERE district_code = {first} AND account_id IS NOT NULL \
         UNION SELECT am.agency_id, ac.id AS account_id FROM agency_member am \
           JOIN account ac ON ac.person_id = am.person_id \
           WHERE am.district_code = {second} AND am.person_id IS NOT NULL)"
    )
}

/// The agencies of a district with at least one member account.
pub async fn agencies_with_members(
    db: &impl ConnectionTrait,
    district_code: &str,
) -> Result<HashSet<i64>, DbErr> {
    let mut p = Params::new(db.get_database_backend());
    let sql = format!(
        "SELECT DISTINCT agency_id FROM {} m",
        members_sql(district_code, &mut p)
    );
    let rows = db.query_all_raw(p.statement(sql)).await?;
    rows.iter().map(|r| r.try_get("", "agency_id")).collect()
}

/// Places of a kind under a parent (children of a figures page).
pub async fn children(
    db: &impl ConnectionTrait,
    parent: &place::Model,
) -> Result<Vec<place::Model>, DbErr> {
    let Some(kind) = PlaceKind::parse(&parent.kind) else {
        return Ok(Vec::new());
    };
    let q = place::Entity::find();
    let q = match kind {
        PlaceKind::District => q
            .filter(place::Column::Kind.eq(PlaceKind::Street.as_str()))
            .filter(place::Column::DistrictCode.eq(parent.district_code.clone())),
        PlaceKind::Street => q
            .filter(place::Column::Kind.eq(PlaceKind::Community.as_str()))
            .filter(place::Column::StreetId.eq(parent.id)),
        PlaceKind::Community => q
            .filter(place::Column::Kind.eq(PlaceKind::Compound.as_str()))
            .filter(place::Column::CommunityId.eq(parent.id)),
        _ => return Ok(Vec::new()),
    };
    q.order_by_asc(place::Column::Id).all(db).await
}

/// The entrances of a compound, labelled with their building: "1号楼 1单元".
pub async fn entrances(
    db: &impl ConnectionTrait,
    compound_id: i64,
) -> Result<Vec<(i64, String)>, DbErr> {
    let rows = place::Entity::find()
        .filter(place::Column::CompoundId.eq(compound_id))
        .filter(
            place::Column::Kind.is_in([PlaceKind::Building.as_str(), PlaceKind::Entrance.as_str()]),
        )
        .order_by_asc(place::Column::Id)
        .all(db)
        .await?;
    let buildings: HashMap<i64, String> = rows
        .iter()
        .filter(|p| p.kind == PlaceKind::Building.as_str())
        .map(|p| (p.id, p.name.clone()))
        .collect();
    Ok(rows
        .iter()
        .filter(|p| p.kind == PlaceKind::Entrance.as_str())
        .map(|p| {
            let label = match p.building_id.and_then(|b| buildings.get(&b)) {
                Some(b) => format!("{b} {}", p.name),
                None => p.name.clone(),
            };
            (p.id, label)
        })
        .collect())
}
