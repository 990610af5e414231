//! The I/O part of seeding: loads the communities, plans, and writes the
//! plan in one write transaction with multi-row inserts whose ids are
//! assigned here (above each table's largest id), so children name their
//! parents without asking the database.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::Arc;

use chrono::Utc;
use jinlin_kernel::auth::{Role, hash_password};
use jinlin_kernel::crypto::Secrets;
use jinlin_kernel::place::entity as place;
use jinlin_kernel::{Database, instance};
use jinlin_places::names;
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, Statement, Value,
};

use crate::plan::{self, Anchor, Community, Holder, Ids, MaxIds, Plan, Scale};

/// The password of every seeded account.
pub const DEMO_PASSWORD: &str = "jinlin-demo-2026";

/// The instance fact recorded by a seed; its presence refuses another.
pub const SEEDED_FACT: &str = "seeded";

/// Bound values per INSERT on SQLite: half of its limit of 32,766.
pub const MAX_PARAMS: usize = 16_000;

/// Rows per INSERT on PostgreSQL (a few bound arrays each).
pub const POSTGRES_CHUNK_ROWS: usize = 10_000;

#[derive(Debug, Clone)]
pub struct Options {
    pub scale: Scale,
    pub seed: u64,
    /// Seed only the communities whose code starts with this prefix.
    pub within: Option<String>,
    /// Another instance fact to record in the same transaction.
    pub extra_fact: Option<(String, String)>,
}

/// Where a seed stands: `done` of `total` rows of `phase` written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub phase: &'static str,
    pub done: usize,
    pub total: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(
        "this database has been seeded already ({0}); seeding runs once per database \
         (start from a new data directory or database)"
    )]
    AlreadySeeded(String),
    #[error("--within {0}: expected a division code prefix of 2 to 12 digits, e.g. 350104")]
    Within(String),
    #[error(
        "no communities{0} in the place tree: import the division codes first, e.g. \
         `jinlin import divisions data/divisions --within 350104`"
    )]
    NoCommunities(String),
    #[error("accounts named {0} exist already; seed into a database without them")]
    UsernameTaken(String),
    #[error("hashing the demo password failed")]
    Password,
    #[error("planning failed: {0}")]
    Task(String),
    #[error("database: {0}")]
    Db(#[from] DbErr),
}

/// A seeded account worth showing: a representative of its role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    pub role: Role,
    pub username: String,
    pub place_id: i64,
    /// What the place is, for people: a code or a name.
    pub place: String,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub communities: usize,
    pub compounds: usize,
    pub buildings: usize,
    pub entrances: usize,
    pub dwellings: usize,
    pub people: usize,
    pub owners: usize,
    pub residents: usize,
    pub accounts: usize,
    /// District admin, street admin, community worker, compound secretary,
    /// resident and party member of one community and compound.
    pub samples: Vec<Sample>,
}

/// The communities under `within` (all when none), by code.
pub async fn load_communities(
    db: &impl ConnectionTrait,
    within: Option<&str>,
) -> Result<Vec<Community>, DbErr> {
    let mut query = place::Entity::find().filter(place::Column::Kind.eq("community"));
    if let Some(within) = within {
        query = query.filter(place::Column::Code.starts_with(within));
    }
    let rows = query.order_by_asc(place::Column::Code).all(db).await?;
    Ok(rows
        .into_iter()
        .filter_map(|p| {
            let code = p.code.filter(|c| c.len() == 12)?;
            let district_code = p.district_code.filter(|d| d.len() == 6)?;
            Some(Community {
                id: p.id,
                code,
                name: p.name,
                street_id: p.street_id,
                district_code,
            })
        })
        .collect())
}

/// Seeds the database: plans from the communities under `options.within`
/// and writes everything in one transaction. Refuses a database that has
/// been seeded before. ID numbers are recorded encrypted with `secrets`;
/// without them, people are recorded without ID numbers.
pub async fn seed(
    db: &Database,
    secrets: Option<&Secrets>,
    options: &Options,
    mut progress: impl FnMut(Progress),
) -> Result<Report, SeedError> {
    if let Some(w) = &options.within
        && !((2..=12).contains(&w.len()) && w.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(SeedError::Within(w.clone()));
    }
    if let Some(value) = instance::get(db.conn(), SEEDED_FACT).await? {
        return Err(SeedError::AlreadySeeded(value));
    }
    let communities = load_communities(db.conn(), options.within.as_deref()).await?;
    if communities.is_empty() {
        return Err(SeedError::NoCommunities(
            options
                .within
                .as_deref()
                .map(|w| format!(" under {w}"))
                .unwrap_or_default(),
        ));
    }
    progress(Progress {
        phase: "planning",
        done: 0,
        total: communities.len(),
    });
    let (scale, seed) = (options.scale, options.seed);
    let (plan, hash) = tokio::task::spawn_blocking(move || {
        let plan = plan::plan(&communities, scale, seed);
        (plan, hash_password(DEMO_PASSWORD))
    })
    .await
    .map_err(|e| SeedError::Task(e.to_string()))?;
    let hash = hash.map_err(|_| SeedError::Password)?;
    progress(Progress {
        phase: "planning",
        done: plan.communities.len(),
        total: plan.communities.len(),
    });

    let txn = db.write().await?;
    // Checked again under the write lock; the plain insert of the fact
    // makes a concurrent second seed fail on its key.
    if let Some(value) = instance::get(&txn, SEEDED_FACT).await? {
        return Err(SeedError::AlreadySeeded(value));
    }
    let description = format!(
        "scale {}, seed {}{}",
        options.scale.name(),
        options.seed,
        options
            .within
            .as_deref()
            .map(|w| format!(", within {w}"))
            .unwrap_or_default()
    );
    instance::Entity::insert(instance::ActiveModel {
        name: Set(SEEDED_FACT.to_string()),
        value: Set(description),
        recorded_at: Set(Utc::now()),
    })
    .exec(&txn)
    .await?;
    if let Some((name, value)) = &options.extra_fact {
        instance::set(&txn, name, value).await?;
    }

    // A larger SQLite page cache while the indexes of millions of rows grow
    // (the connection's own setting comes back before the commit).
    let sqlite_cache = match txn.get_database_backend() {
        DbBackend::Sqlite => Some(sqlite_cache_size(&txn, SEED_CACHE_KIB).await?),
        _ => None,
    };
    let written = write_all(&txn, secrets, plan, hash, &mut progress).await;
    if let Some(previous) = sqlite_cache {
        sqlite_cache_size(&txn, previous).await?;
    }
    let report = written?;
    txn.commit().await?;
    db.refresh_statistics().await?;
    Ok(report)
}

/// SQLite page cache during a seed: 256 MiB (as a negative size in KiB).
const SEED_CACHE_KIB: i64 = -256 * 1024;

/// Sets SQLite's page cache size; returns the previous one.
async fn sqlite_cache_size(txn: &DatabaseTransaction, size: i64) -> Result<i64, DbErr> {
    let backend = txn.get_database_backend();
    let previous = txn
        .query_one_raw(Statement::from_string(backend, "PRAGMA cache_size"))
        .await?
        .map(|row| row.try_get_by_index::<i64>(0))
        .transpose()?
        .unwrap_or(-2000);
    txn.execute_unprepared(&format!("PRAGMA cache_size = {size}"))
        .await?;
    Ok(previous)
}

/// Writes the plan: ids above the tables' largest, then every row.
async fn write_all(
    txn: &DatabaseTransaction,
    secrets: Option<&Secrets>,
    plan: Plan,
    hash: String,
    progress: &mut impl FnMut(Progress),
) -> Result<Report, SeedError> {
    let ids = Ids::after(max_ids(txn).await?, &plan);
    let usernames: Vec<String> = plan
        .accounts
        .iter()
        .map(|a| plan.username(a, &ids))
        .collect();
    check_usernames(txn, &usernames).await?;
    let districts = district_ids(txn, &plan).await?;

    let existing = existing_digests(txn).await?;

    let backend = txn.get_database_backend();
    let plan = Arc::new(plan);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Batch>(4);
    let producer = {
        let plan = plan.clone();
        let secrets = secrets.cloned();
        let usernames = usernames.clone();
        let districts = districts.clone();
        tokio::task::spawn_blocking(move || {
            let out = Out { tx, backend };
            write_places(&out, &plan, &ids)?;
            write_particulars(&out, &plan, &ids)?;
            write_people(&out, secrets.as_ref(), &plan, &ids, &existing)?;
            write_links(&out, &plan, &ids)?;
            write_accounts(&out, &plan, &ids, &usernames, &hash, &districts)
        })
    };
    let mut written = Ok(());
    while let Some(batch) = rx.recv().await {
        if let Some((sql, values)) = batch.statement
            && let Err(e) = txn
                .execute_raw(Statement::from_sql_and_values(backend, sql, values))
                .await
        {
            written = Err(e);
            break;
        }
        progress(Progress {
            phase: batch.phase,
            done: batch.done,
            total: batch.total,
        });
    }
    drop(rx);
    let built = producer.await.map_err(|e| SeedError::Task(e.to_string()))?;
    written?;
    built.map_err(|_| SeedError::Task("the statements stopped short".into()))?;
    if txn.get_database_backend() == DbBackend::Postgres {
        for table in [
            "place",
            "person",
            "dwelling_owner",
            "dwelling_resident",
            "account",
            "role_grant",
        ] {
            txn.execute_raw(Statement::from_string(
                DbBackend::Postgres,
                format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                     (SELECT MAX(id) FROM {table}))"
                ),
            ))
            .await?;
        }
    }
    let mut samples = samples(&plan, &ids, &usernames, &districts);
    name_divisions(txn, &mut samples).await?;
    Ok(Report {
        communities: plan.communities.len(),
        compounds: plan.compounds.len(),
        buildings: plan.buildings.len(),
        entrances: plan.entrances.len(),
        dwellings: plan.dwellings.len(),
        people: plan.people.len(),
        owners: plan.owners.len(),
        residents: plan.residents.len(),
        accounts: plan.accounts.len(),
        samples,
    })
}

async fn max_ids(txn: &DatabaseTransaction) -> Result<MaxIds, DbErr> {
    let backend = txn.get_database_backend();
    let max = |table: &str| {
        Statement::from_string(
            backend,
            format!("SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM {table}"),
        )
    };
    let mut out = [0i64; 6];
    for (slot, table) in out.iter_mut().zip([
        "place",
        "person",
        "dwelling_owner",
        "dwelling_resident",
        "account",
        "role_grant",
    ]) {
        if let Some(row) = txn.query_one_raw(max(table)).await? {
            *slot = row.try_get_by_index(0)?;
        }
    }
    Ok(MaxIds {
        place: out[0],
        person: out[1],
        owner: out[2],
        resident: out[3],
        account: out[4],
        grant: out[5],
    })
}

async fn check_usernames(txn: &DatabaseTransaction, planned: &[String]) -> Result<(), SeedError> {
    let rows = txn
        .query_all_raw(Statement::from_string(
            txn.get_database_backend(),
            "SELECT username FROM account",
        ))
        .await?;
    if rows.is_empty() {
        return Ok(());
    }
    let existing: HashSet<String> = rows
        .iter()
        .filter_map(|r| r.try_get_by_index::<String>(0).ok())
        .collect();
    let taken: Vec<&str> = planned
        .iter()
        .filter(|u| existing.contains(*u))
        .map(String::as_str)
        .take(5)
        .collect();
    if taken.is_empty() {
        Ok(())
    } else {
        Err(SeedError::UsernameTaken(taken.join(", ")))
    }
}

/// The place id of each district of the plan, by 6-digit code.
async fn district_ids(
    txn: &DatabaseTransaction,
    plan: &Plan,
) -> Result<HashMap<String, i64>, DbErr> {
    let codes: Vec<String> = plan
        .district_codes()
        .iter()
        .map(|c| format!("{c}000000"))
        .collect();
    let rows = place::Entity::find()
        .filter(place::Column::Kind.eq("district"))
        .filter(place::Column::Code.is_in(codes))
        .all(txn)
        .await?;
    let found: HashMap<String, i64> = rows
        .into_iter()
        .filter_map(|p| Some((p.code?[..6].to_string(), p.id)))
        .collect();
    for code in plan.district_codes() {
        if !found.contains_key(code) {
            return Err(DbErr::Custom(format!(
                "the place tree has communities of district {code} but no district row for it"
            )));
        }
    }
    Ok(found)
}

/// One multi-row INSERT being built, row by row, cell by cell.
///
/// SQLite gets `VALUES (?, …), …` with anonymous placeholders, every value
/// bound where it is used: SQLite finds a numbered or named placeholder by
/// a linear scan, which makes a statement of thousands of them quadratic.
///
/// PostgreSQL gets one array per column, `INSERT … SELECT … FROM
/// UNNEST($1::bigint[], $2::text[], …)`, each array bound as the text of
/// an array literal, and the values shared by every row bound once: the
/// server then parses a short statement instead of thousands of
/// placeholders (several times faster than `VALUES`).
struct Chunk {
    table: String,
    columns: Vec<String>,
    shared: Vec<Value>,
    /// SQLite: the statement so far and its values.
    sql: String,
    values: Vec<Value>,
    /// PostgreSQL: each column's cells.
    arrays: Vec<Column>,
    postgres: bool,
    cell: usize,
    rows: usize,
}

/// A column of a PostgreSQL chunk.
#[derive(Default)]
struct Column {
    /// `$n` when every row holds the shared value `n`.
    shared: Option<usize>,
    /// The array's element type, from the first value that is not NULL.
    element: Option<&'static str>,
    /// The array literal so far, without its braces.
    literal: String,
}

impl Chunk {
    fn new(backend: DbBackend, table: &str, columns: &[&str], shared: &[Value]) -> Chunk {
        let postgres = backend == DbBackend::Postgres;
        let mut sql = String::new();
        if !postgres {
            sql.reserve(64 * 1024);
            let _ = write!(sql, "INSERT INTO {table} ({}) VALUES ", columns.join(", "));
        }
        Chunk {
            table: table.to_string(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            shared: shared.to_vec(),
            sql,
            values: Vec::new(),
            arrays: if postgres {
                columns.iter().map(|_| Column::default()).collect()
            } else {
                Vec::new()
            },
            postgres,
            cell: 0,
            rows: 0,
        }
    }

    fn begin_row(&mut self) {
        if !self.postgres {
            if self.rows > 0 {
                self.sql.push_str(", ");
            }
            self.sql.push('(');
        }
        self.cell = 0;
    }

    fn end_row(&mut self) {
        debug_assert_eq!(self.cell, self.columns.len());
        if !self.postgres {
            self.sql.push(')');
        }
        self.rows += 1;
    }

    /// SQLite: the separator before the next cell.
    fn separate(&mut self) {
        if self.cell > 0 {
            self.sql.push_str(", ");
        }
    }

    /// The `n`-th (1-based) value shared by every row.
    fn shared(&mut self, n: usize) {
        if self.postgres {
            self.arrays[self.cell].shared = Some(n);
        } else {
            let value = self.shared[n - 1].clone();
            self.separate();
            self.values.push(value);
            self.sql.push('?');
        }
        self.cell += 1;
    }

    fn val(&mut self, value: impl Into<Value>) {
        let value = value.into();
        if self.postgres {
            let rows = self.rows;
            let column = &mut self.arrays[self.cell];
            if rows > 0 {
                column.literal.push(',');
            }
            if let Some(element) = element_type(&value) {
                column.element.get_or_insert(element);
            }
            push_element(&mut column.literal, &value);
        } else {
            self.separate();
            self.values.push(value);
            self.sql.push('?');
        }
        self.cell += 1;
    }

    fn null(&mut self) {
        if self.postgres {
            let rows = self.rows;
            let column = &mut self.arrays[self.cell];
            if rows > 0 {
                column.literal.push(',');
            }
            column.literal.push_str("NULL");
        } else {
            self.separate();
            self.sql.push_str("NULL");
        }
        self.cell += 1;
    }

    /// The statement and its values.
    fn finish(self) -> (String, Vec<Value>) {
        if !self.postgres {
            return (self.sql, self.values);
        }
        let mut values = self.shared;
        let mut selected = Vec::new();
        let mut arrays = Vec::new();
        let mut names = Vec::new();
        for (i, column) in self.arrays.into_iter().enumerate() {
            match (column.shared, column.element) {
                (Some(n), _) => selected.push(format!("${n}")),
                (None, None) => selected.push("NULL".to_string()),
                (None, Some(element)) => {
                    values.push(Value::from(format!("{{{}}}", column.literal)));
                    arrays.push(format!("${}::{element}[]", values.len()));
                    names.push(format!("c{i}"));
                    selected.push(format!("u.c{i}"));
                }
            }
        }
        let sql = format!(
            "INSERT INTO {} ({}) SELECT {} FROM UNNEST({}) AS u({})",
            self.table,
            self.columns.join(", "),
            selected.join(", "),
            arrays.join(", "),
            names.join(", ")
        );
        (sql, values)
    }
}

/// The PostgreSQL type of an array of such values (none for NULL).
fn element_type(value: &Value) -> Option<&'static str> {
    match value {
        Value::BigInt(Some(_)) => Some("bigint"),
        Value::Int(Some(_)) => Some("integer"),
        Value::Bool(Some(_)) => Some("boolean"),
        Value::String(Some(_)) => Some("text"),
        _ => None,
    }
}

/// Appends a value to an array literal: numbers as they are, text quoted
/// with backslashes and double quotes escaped, NULL bare.
fn push_element(literal: &mut String, value: &Value) {
    match value {
        Value::BigInt(Some(n)) => {
            let _ = write!(literal, "{n}");
        }
        Value::Int(Some(n)) => {
            let _ = write!(literal, "{n}");
        }
        Value::Bool(Some(b)) => literal.push(if *b { 't' } else { 'f' }),
        Value::String(Some(text)) => {
            literal.push('"');
            for ch in text.chars() {
                if ch == '"' || ch == '\\' {
                    literal.push('\\');
                }
                literal.push(ch);
            }
            literal.push('"');
        }
        Value::BigInt(None) | Value::Int(None) | Value::Bool(None) | Value::String(None) => {
            literal.push_str("NULL")
        }
        other => unreachable!("no array of {other:?} in a seed"),
    }
}

/// A statement for the transaction, and where the seed stands once it ran.
struct Batch {
    phase: &'static str,
    done: usize,
    total: usize,
    statement: Option<(String, Vec<Value>)>,
}

/// The statements of a seed, built on a thread of their own while the
/// transaction executes the ones before (so building and writing overlap).
struct Out {
    tx: tokio::sync::mpsc::Sender<Batch>,
    backend: DbBackend,
}

/// The transaction stopped taking statements (it failed).
#[derive(Debug)]
struct Stopped;

impl Out {
    fn send(&self, batch: Batch) -> Result<(), Stopped> {
        self.tx.blocking_send(batch).map_err(|_| Stopped)
    }

    /// Inserts `items` in chunks of at most [`MAX_PARAMS`] bound values.
    /// `row` writes the cells of the item at an index.
    fn insert<T>(
        &self,
        phase: &'static str,
        table: &str,
        columns: &[&str],
        shared: &[Value],
        items: &[T],
        mut row: impl FnMut(usize, &T, &mut Chunk),
    ) -> Result<(), Stopped> {
        let per_chunk = match self.backend {
            DbBackend::Postgres => POSTGRES_CHUNK_ROWS,
            _ => (MAX_PARAMS / columns.len()).max(1),
        };
        let total = items.len();
        self.send(Batch {
            phase,
            done: 0,
            total,
            statement: None,
        })?;
        for (n, part) in items.chunks(per_chunk).enumerate() {
            let start = n * per_chunk;
            let mut chunk = Chunk::new(self.backend, table, columns, shared);
            for (i, item) in part.iter().enumerate() {
                chunk.begin_row();
                row(start + i, item, &mut chunk);
                chunk.end_row();
            }
            self.send(Batch {
                phase,
                done: start + part.len(),
                total,
                statement: Some(chunk.finish()),
            })?;
        }
        Ok(())
    }
}

const PLACE_COLUMNS: &[&str] = &[
    "id",
    "kind",
    "parent_id",
    "code",
    "name",
    "initials",
    "district_code",
    "street_id",
    "community_id",
    "compound_id",
    "building_id",
    "entrance_id",
    "created_at",
    "updated_at",
];

fn write_places(out: &Out, plan: &Plan, ids: &Ids) -> Result<(), Stopped> {
    let now = Utc::now();
    let community = |c: u32| &plan.communities[c as usize];
    let compound_ancestors = |chunk: &mut Chunk, compound: u32| {
        let c = community(plan.compounds[compound as usize].community);
        chunk.val(c.district_code.clone());
        chunk.val(c.street_id);
        chunk.val(c.id);
    };

    out.insert(
        "compounds",
        "place",
        PLACE_COLUMNS,
        &[now.into(), "compound".into()],
        &plan.compounds,
        |i, c, chunk| {
            chunk.val(ids.compound + i as i64);
            chunk.shared(2);
            chunk.val(community(c.community).id);
            chunk.null();
            chunk.val(c.name.clone());
            chunk.val(names::initials(&c.name));
            compound_ancestors(chunk, i as u32);
            chunk.null();
            chunk.null();
            chunk.null();
            chunk.shared(1);
            chunk.shared(1);
        },
    )?;

    out.insert(
        "buildings",
        "place",
        PLACE_COLUMNS,
        &[now.into(), "building".into()],
        &plan.buildings,
        |i, b, chunk| {
            let name = b.name();
            chunk.val(ids.building + i as i64);
            chunk.shared(2);
            chunk.val(ids.compound + i64::from(b.compound));
            chunk.null();
            let initials = names::initials(&name);
            chunk.val(name);
            chunk.val(initials);
            compound_ancestors(chunk, b.compound);
            chunk.val(ids.compound + i64::from(b.compound));
            chunk.null();
            chunk.null();
            chunk.shared(1);
            chunk.shared(1);
        },
    )?;

    out.insert(
        "entrances",
        "place",
        PLACE_COLUMNS,
        &[now.into(), "entrance".into()],
        &plan.entrances,
        |i, e, chunk| {
            let name = e.name();
            chunk.val(ids.entrance + i as i64);
            chunk.shared(2);
            chunk.val(ids.building + i64::from(e.building));
            chunk.null();
            let initials = names::initials(&name);
            chunk.val(name);
            chunk.val(initials);
            compound_ancestors(chunk, e.compound);
            chunk.val(ids.compound + i64::from(e.compound));
            chunk.val(ids.building + i64::from(e.building));
            chunk.null();
            chunk.shared(1);
            chunk.shared(1);
        },
    )?;

    let phoned = plan.phoned_dwellings();
    let dwelling_columns = [PLACE_COLUMNS, &["reach"]].concat();
    out.insert(
        "dwellings",
        "place",
        &dwelling_columns,
        &[now.into(), "dwelling".into()],
        &plan.dwellings,
        |i, d, chunk| {
            let name = d.name();
            chunk.val(ids.dwelling + i as i64);
            chunk.shared(2);
            chunk.val(ids.entrance + i64::from(d.entrance));
            chunk.null();
            let initials = names::initials(&name);
            chunk.val(name);
            chunk.val(initials);
            compound_ancestors(chunk, d.compound);
            chunk.val(ids.compound + i64::from(d.compound));
            chunk.val(ids.building + i64::from(d.building));
            chunk.val(ids.entrance + i64::from(d.entrance));
            chunk.shared(1);
            chunk.shared(1);
            chunk.val(i32::from(phoned[i]));
        },
    )
}

fn write_particulars(out: &Out, plan: &Plan, ids: &Ids) -> Result<(), Stopped> {
    out.insert(
        "compound particulars",
        "compound",
        &[
            "place_id",
            "district_code",
            "compound_type",
            "town_area",
            "address",
            "owners_committee",
            "property_company",
        ],
        &[],
        &plan.compounds,
        |i, c, chunk| {
            chunk.val(ids.compound + i as i64);
            chunk.val(plan.compound_district(i as u32).to_string());
            chunk.val(c.compound_type.as_str());
            chunk.val(c.town_area.as_str());
            chunk.val(c.address.clone());
            chunk.val(c.owners_committee.clone());
            chunk.val(c.property_company.clone());
        },
    )?;
    out.insert(
        "dwelling particulars",
        "dwelling",
        &[
            "place_id",
            "district_code",
            "compound_id",
            "area_centi_m2",
            "area_source",
        ],
        &[],
        &plan.dwellings,
        |i, d, chunk| {
            chunk.val(ids.dwelling + i as i64);
            chunk.val(plan.compound_district(d.compound).to_string());
            chunk.val(ids.compound + i64::from(d.compound));
            chunk.val(i64::from(d.area_centi_m2));
            chunk.val(d.area_source.as_str());
        },
    )
}

/// Digests of the ID numbers already on record (the digest is unique, so
/// the seed leaves those numbers out).
async fn existing_digests(txn: &DatabaseTransaction) -> Result<HashSet<String>, DbErr> {
    Ok(txn
        .query_all_raw(Statement::from_string(
            txn.get_database_backend(),
            "SELECT id_number_digest FROM person WHERE id_number_digest IS NOT NULL",
        ))
        .await?
        .iter()
        .filter_map(|r| r.try_get_by_index::<String>(0).ok())
        .collect())
}

fn write_people(
    out: &Out,
    secrets: Option<&Secrets>,
    plan: &Plan,
    ids: &Ids,
    existing: &HashSet<String>,
) -> Result<(), Stopped> {
    let now = Utc::now();
    out.insert(
        "people",
        "person",
        &[
            "id",
            "district_code",
            "name",
            "phone",
            "id_number_cipher",
            "id_number_digest",
            "party_member",
            "employer",
            "created_at",
            "updated_at",
        ],
        &[now.into()],
        &plan.people,
        |i, p, chunk| {
            chunk.val(ids.person + i as i64);
            chunk.val(plan.communities[p.community as usize].district_code.clone());
            chunk.val(p.name.clone());
            chunk.val(p.phone_text());
            let id_number = p
                .id_number_text()
                .zip(secrets)
                .map(|(n, secrets)| (n, secrets, secrets.digest(n)))
                .filter(|(_, _, digest)| !existing.contains(digest));
            match id_number {
                Some((number, secrets, digest)) => {
                    chunk.val(secrets.encrypt(number));
                    chunk.val(digest);
                }
                None => {
                    chunk.null();
                    chunk.null();
                }
            }
            chunk.val(p.party_member);
            chunk.val(p.employer_name().map(str::to_string));
            chunk.shared(1);
            chunk.shared(1);
        },
    )
}

fn write_links(out: &Out, plan: &Plan, ids: &Ids) -> Result<(), Stopped> {
    let now = Utc::now();
    out.insert(
        "owners",
        "dwelling_owner",
        &[
            "id",
            "dwelling_id",
            "district_code",
            "compound_id",
            "owner_kind",
            "person_id",
            "company_name",
            "created_at",
        ],
        &[now.into()],
        &plan.owners,
        |i, o, chunk| {
            let d = &plan.dwellings[o.dwelling as usize];
            chunk.val(ids.owner + i as i64);
            chunk.val(ids.dwelling + i64::from(o.dwelling));
            chunk.val(plan.compound_district(d.compound).to_string());
            chunk.val(ids.compound + i64::from(d.compound));
            chunk.val(o.holder.kind());
            match o.holder {
                Holder::Person(p) => chunk.val(ids.person + i64::from(p)),
                _ => chunk.null(),
            }
            chunk.val(plan.company_name(o));
            chunk.shared(1);
        },
    )?;
    out.insert(
        "residents",
        "dwelling_resident",
        &[
            "id",
            "dwelling_id",
            "district_code",
            "compound_id",
            "person_id",
            "relation",
            "created_at",
        ],
        &[now.into()],
        &plan.residents,
        |i, r, chunk| {
            let d = &plan.dwellings[r.dwelling as usize];
            chunk.val(ids.resident + i as i64);
            chunk.val(ids.dwelling + i64::from(r.dwelling));
            chunk.val(plan.compound_district(d.compound).to_string());
            chunk.val(ids.compound + i64::from(d.compound));
            chunk.val(ids.person + i64::from(r.person));
            chunk.val(r.relation.as_str());
            chunk.shared(1);
        },
    )
}

/// The place id an account's role is granted at.
fn anchor_place(anchor: &Anchor, plan: &Plan, ids: &Ids, districts: &HashMap<String, i64>) -> i64 {
    match anchor {
        Anchor::District(code) => districts[code],
        Anchor::Street { id, .. } => *id,
        Anchor::Community(c) => plan.communities[*c as usize].id,
        Anchor::Compound(c) => ids.compound + i64::from(*c),
        Anchor::Dwelling(d) => ids.dwelling + i64::from(*d),
    }
}

fn write_accounts(
    out: &Out,
    plan: &Plan,
    ids: &Ids,
    usernames: &[String],
    hash: &str,
    districts: &HashMap<String, i64>,
) -> Result<(), Stopped> {
    let now = Utc::now();
    out.insert(
        "accounts",
        "account",
        &[
            "id",
            "username",
            "person_id",
            "display_name",
            "password_hash",
            "created_at",
            "password_changed_at",
        ],
        &[now.into(), hash.into()],
        &plan.accounts,
        |i, a, chunk| {
            chunk.val(ids.account + i as i64);
            chunk.val(usernames[i].clone());
            chunk.val(a.person.map(|p| ids.person + i64::from(p)));
            chunk.val(a.display_name.clone());
            chunk.shared(2);
            chunk.shared(1);
            chunk.shared(1);
        },
    )?;
    out.insert(
        "grants",
        "role_grant",
        &[
            "id",
            "account_id",
            "role",
            "place_id",
            "district_code",
            "created_at",
        ],
        &[now.into()],
        &plan.accounts,
        |i, a, chunk| {
            chunk.val(ids.grant + i as i64);
            chunk.val(ids.account + i as i64);
            chunk.val(a.role.as_str());
            chunk.val(anchor_place(&a.anchor, plan, ids, districts));
            chunk.val(plan.anchor_district(&a.anchor).to_string());
            chunk.shared(1);
        },
    )
}

/// Names the district and street of samples (the plan knows their codes).
async fn name_divisions(txn: &DatabaseTransaction, samples: &mut [Sample]) -> Result<(), DbErr> {
    let wanted: Vec<i64> = samples
        .iter()
        .filter(|s| matches!(s.role, Role::DistrictAdmin | Role::StreetAdmin))
        .map(|s| s.place_id)
        .collect();
    let names: HashMap<i64, String> = place::Entity::find()
        .filter(place::Column::Id.is_in(wanted))
        .all(txn)
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    for sample in samples {
        if let Some(name) = names.get(&sample.place_id) {
            sample.place = name.clone();
        }
    }
    Ok(())
}

/// The representative accounts of the first compound that has a resident
/// account: its community's district, street and worker, its secretary,
/// its resident and (when there is one) its party member.
fn samples(
    plan: &Plan,
    ids: &Ids,
    usernames: &[String],
    districts: &HashMap<String, i64>,
) -> Vec<Sample> {
    let Some(compound) =
        plan.compounds
            .iter()
            .position(|c| c.resident.is_some())
            .or(if plan.compounds.is_empty() {
                None
            } else {
                Some(0)
            })
    else {
        return Vec::new();
    };
    let c = &plan.compounds[compound];
    let community = &plan.communities[c.community as usize];
    let wanted = |a: &plan::Account| match (&a.anchor, a.role) {
        (Anchor::District(code), Role::DistrictAdmin | Role::AgencyAdmin) => {
            *code == community.district_code
        }
        (Anchor::Street { id, .. }, _) => Some(*id) == community.street_id,
        (Anchor::Community(i), _) => *i == c.community,
        (Anchor::Compound(i), Role::CompoundSecretary) => *i as usize == compound,
        (Anchor::Dwelling(d), _) => plan.dwellings[*d as usize].compound as usize == compound,
        _ => false,
    };
    plan.accounts
        .iter()
        .enumerate()
        .filter(|(_, a)| wanted(a))
        .map(|(i, a)| Sample {
            role: a.role,
            username: usernames[i].clone(),
            place_id: anchor_place(&a.anchor, plan, ids, districts),
            place: match &a.anchor {
                Anchor::District(code) => code.clone(),
                Anchor::Street { code, .. } => code.clone(),
                Anchor::Community(_) => community.name.clone(),
                Anchor::Compound(_) => c.name.clone(),
                Anchor::Dwelling(d) => {
                    let d = &plan.dwellings[*d as usize];
                    format!(
                        "{} {} {} {}",
                        c.name,
                        plan.buildings[d.building as usize].name(),
                        plan.entrances[d.entrance as usize].name(),
                        d.name()
                    )
                }
            },
        })
        .collect()
}
