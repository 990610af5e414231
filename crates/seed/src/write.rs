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

/// Bound values per INSERT: half of SQLite's limit of 32,766.
pub const MAX_PARAMS: usize = 16_000;

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
/// been seeded before.
pub async fn seed(
    db: &Database,
    secrets: &Secrets,
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

    let ids = Ids::after(max_ids(&txn).await?, &plan);
    let usernames: Vec<String> = plan
        .accounts
        .iter()
        .map(|a| plan.username(a, &ids))
        .collect();
    check_usernames(&txn, &usernames).await?;
    let districts = district_ids(&txn, &plan).await?;

    let existing = existing_digests(&txn).await?;

    let backend = txn.get_database_backend();
    let plan = Arc::new(plan);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Batch>(4);
    let producer = {
        let plan = plan.clone();
        let secrets = secrets.clone();
        let usernames = usernames.clone();
        let districts = districts.clone();
        tokio::task::spawn_blocking(move || {
            let out = Out { tx, backend };
            write_places(&out, &plan, &ids)?;
            write_particulars(&out, &plan, &ids)?;
            write_people(&out, &secrets, &plan, &ids, &existing)?;
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
    txn.commit().await?;

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
        samples: samples(&plan, &ids, &usernames, &districts),
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

/// One multi-row INSERT being built. On PostgreSQL the values shared by
/// every row are bound once as `$1…$k`. SQLite gets anonymous `?`
/// placeholders only, each value bound where it is used: it looks a
/// numbered or named placeholder up by a linear scan, which makes a
/// statement of thousands of them quadratic.
struct Chunk {
    sql: String,
    values: Vec<Value>,
    shared: Vec<Value>,
    numbered: bool,
    first_in_row: bool,
}

impl Chunk {
    fn new(backend: DbBackend, table: &str, columns: &[&str], shared: &[Value]) -> Chunk {
        let mut sql = String::with_capacity(64 * 1024);
        let _ = write!(sql, "INSERT INTO {table} ({}) VALUES ", columns.join(", "));
        let numbered = backend == DbBackend::Postgres;
        Chunk {
            sql,
            values: if numbered {
                shared.to_vec()
            } else {
                Vec::new()
            },
            shared: shared.to_vec(),
            numbered,
            first_in_row: true,
        }
    }

    fn begin_row(&mut self, first: bool) {
        if !first {
            self.sql.push_str(", ");
        }
        self.sql.push('(');
        self.first_in_row = true;
    }

    fn end_row(&mut self) {
        self.sql.push(')');
    }

    fn separate(&mut self) {
        if !self.first_in_row {
            self.sql.push_str(", ");
        }
        self.first_in_row = false;
    }

    /// The `n`-th (1-based) value shared by every row.
    fn shared(&mut self, n: usize) {
        if self.numbered {
            self.separate();
            let _ = write!(self.sql, "${n}");
        } else {
            let value = self.shared[n - 1].clone();
            self.val(value);
        }
    }

    fn val(&mut self, value: impl Into<Value>) {
        self.separate();
        self.values.push(value.into());
        if self.numbered {
            let _ = write!(self.sql, "${}", self.values.len());
        } else {
            self.sql.push('?');
        }
    }

    fn null(&mut self) {
        self.separate();
        self.sql.push_str("NULL");
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
        let per_chunk = (MAX_PARAMS / columns.len()).max(1);
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
                chunk.begin_row(i == 0);
                row(start + i, item, &mut chunk);
                chunk.end_row();
            }
            self.send(Batch {
                phase,
                done: start + part.len(),
                total,
                statement: Some((chunk.sql, chunk.values)),
            })?;
        }
        Ok(())
    }
}

/// Pinyin initials, computed once per distinct name (building, entrance
/// and dwelling names repeat thousands of times).
#[derive(Default)]
struct Initials(HashMap<String, String>);

impl Initials {
    fn of(&mut self, name: &str) -> String {
        if let Some(found) = self.0.get(name) {
            return found.clone();
        }
        let computed = names::initials(name);
        self.0.insert(name.to_string(), computed.clone());
        computed
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
    let mut initials = Initials::default();
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
            let initials = initials.of(&name);
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
            let initials = initials.of(&name);
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

    out.insert(
        "dwellings",
        "place",
        PLACE_COLUMNS,
        &[now.into(), "dwelling".into()],
        &plan.dwellings,
        |i, d, chunk| {
            let name = d.name();
            chunk.val(ids.dwelling + i as i64);
            chunk.shared(2);
            chunk.val(ids.entrance + i64::from(d.entrance));
            chunk.null();
            let initials = initials.of(&name);
            chunk.val(name);
            chunk.val(initials);
            compound_ancestors(chunk, d.compound);
            chunk.val(ids.compound + i64::from(d.compound));
            chunk.val(ids.building + i64::from(d.building));
            chunk.val(ids.entrance + i64::from(d.entrance));
            chunk.shared(1);
            chunk.shared(1);
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
    secrets: &Secrets,
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
                .map(|n| (n, secrets.digest(n)))
                .filter(|(_, digest)| !existing.contains(digest));
            match id_number {
                Some((number, digest)) => {
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
        (Anchor::District(code), Role::DistrictAdmin) => *code == community.district_code,
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
