//! The accounts the load signs in as, found in the database by their
//! roles and places (the demo's usernames follow the tree), and the
//! requests each class of user makes through the JSON API.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use jinlin_kernel::Database;
use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::{Client, RequestBuilder, StatusCode};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::activity::Meter;
use crate::report::{Outcome, Rng};

pub const DEMO_PASSWORD: &str = "jinlin-demo-2026";

/// The classes of requests, each with its share of the default mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// A resident reads their compound's board (its deliberations).
    Board,
    /// A resident reads the matters they raised.
    Mine,
    /// An official (community, street, district) opens their cockpit.
    Cockpit,
    /// A resident raises a matter.
    Raise,
    /// A compound secretary marks a page of households reached.
    Ack,
    /// A compound secretary proposes or moves a deliberation one step.
    Deliberate,
    /// An owner casts (or changes) a ballot in an open vote.
    Vote,
    /// The floor: plain text from a bare axum handler.
    FloorText,
    /// The floor: one place by primary key through the database layer.
    FloorLookup,
}

impl Class {
    pub const ALL: [Class; 9] = [
        Class::Board,
        Class::Mine,
        Class::Cockpit,
        Class::Raise,
        Class::Ack,
        Class::Deliberate,
        Class::Vote,
        Class::FloorText,
        Class::FloorLookup,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Class::Board => "board",
            Class::Mine => "mine",
            Class::Cockpit => "cockpit",
            Class::Raise => "raise",
            Class::Ack => "ack",
            Class::Deliberate => "deliberate",
            Class::Vote => "vote",
            Class::FloorText => "floor_text",
            Class::FloorLookup => "floor_lookup",
        }
    }

    pub fn parse(s: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|c| c.name() == s)
    }
}

/// The default mix: mostly residents reading, then workers marking
/// households, officials' cockpits and the writes of a working day.
pub const DEFAULT_MIX: &str = "board=40,mine=15,cockpit=10,ack=15,raise=8,deliberate=7,vote=5";

/// `class=weight,…` into pairs.
pub fn parse_mix(spec: &str) -> anyhow::Result<Vec<(Class, u32)>> {
    let mut out = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, weight) = part.split_once('=').unwrap_or((part, "1"));
        let class = Class::parse(name.trim()).with_context(|| {
            format!(
                "unknown class {name:?}; one of {}",
                Class::ALL.map(Class::name).join(", ")
            )
        })?;
        let weight: u32 = weight
            .trim()
            .parse()
            .with_context(|| format!("weight of {name}"))?;
        out.push((class, weight));
    }
    if out.iter().all(|(_, w)| *w == 0) {
        bail!("the mix {spec:?} has no weight");
    }
    Ok(out)
}

#[derive(Debug)]
pub struct Account {
    pub username: String,
    cookie: String,
    csrf: String,
}

pub struct Resident {
    pub account: Account,
    pub dwelling: i64,
    pub compound: i64,
}

/// Where a secretary's current deliberation stands.
#[derive(Default)]
struct Deliberation {
    matter: Option<i64>,
    /// Steps completed: 0 proposed, 1 motion, 2 consult; after the
    /// consultation the matter is in public review and a new one starts.
    steps: u8,
}

pub struct Secretary {
    pub account: Account,
    pub compound: i64,
    /// The compound's district: its mobilisation is the one marked.
    pub district_code: String,
    pub dwellings: Vec<i64>,
    page: AtomicUsize,
    deliberation: Mutex<Deliberation>,
}

pub struct Official {
    pub account: Account,
    pub place: i64,
}

pub struct Voter {
    pub account: Account,
    pub vote: i64,
    /// Ballots sent, to alternate the choice.
    ballots: AtomicU64,
}

pub struct World {
    pub client: Client,
    pub base: String,
    pub floor_base: Option<String>,
    pub residents: Vec<Resident>,
    pub secretaries: Vec<Secretary>,
    pub officials: Vec<Official>,
    pub voters: Vec<Voter>,
    /// The open mobilisation of each district with secretaries, by code.
    pub mobilisations: HashMap<String, i64>,
    pub places: Vec<i64>,
    pub raised: AtomicU64,
    /// What the database does beside the requests, read around each phase.
    pub meter: Option<Meter>,
}

/// Households marked per request: a page of a worker's list.
const PAGE: usize = 20;

fn http_client(local: Option<IpAddr>) -> anyhow::Result<Client> {
    Ok(Client::builder()
        .local_address(local)
        .timeout(Duration::from_secs(15))
        .pool_max_idle_per_host(4096)
        .tcp_nodelay(true)
        .build()?)
}

/// A loopback source address per account: the server limits sign-ins per
/// client address, and all of 127.0.0.0/8 reaches the local server.
fn source_address(i: usize) -> IpAddr {
    let i = i + 1;
    IpAddr::V4(Ipv4Addr::new(
        127,
        10 + (i / 62_500) as u8,
        ((i / 250) % 250) as u8,
        (i % 250 + 1) as u8,
    ))
}

async fn sign_in(base: &str, username: &str, i: usize) -> anyhow::Result<Account> {
    let client = http_client(Some(source_address(i)))?;
    let resp = client
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"username": username, "password": DEMO_PASSWORD}))
        .send()
        .await
        .with_context(|| format!("signing in as {username}"))?;
    let status = resp.status();
    let cookie = resp
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("jinlin_session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_string);
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    match (status, cookie) {
        (StatusCode::OK, Some(cookie)) => Ok(Account {
            username: username.to_string(),
            cookie,
            csrf: body["csrf_token"].as_str().unwrap_or_default().to_string(),
        }),
        _ => bail!("signing in as {username}: {status} {body}"),
    }
}

pub(crate) async fn rows(db: &Database, sql: &str) -> anyhow::Result<Vec<sea_orm::QueryResult>> {
    db.conn()
        .query_all_raw(Statement::from_string(db.backend(), sql.to_string()))
        .await
        .with_context(|| sql.to_string())
}

/// Writes the setup's pages out before anything is measured. Opening a
/// district's mobilisation writes a row per household (about 500 MB of
/// write-ahead log for the demo district), and PostgreSQL's checkpoint of
/// it would otherwise run through the first measured minutes, as no
/// steady load makes it. Needs a superuser or `pg_checkpoint`; without
/// one the run goes on and says so.
async fn settle(db: &Database) {
    if db.backend() != sea_orm::DbBackend::Postgres {
        return;
    }
    let started = std::time::Instant::now();
    match db.conn().execute_unprepared("CHECKPOINT").await {
        Ok(_) => eprintln!(
            "checkpointed the setup's writes in {:.1} s",
            started.elapsed().as_secs_f64()
        ),
        Err(e) => eprintln!(
            "could not checkpoint the setup's writes ({e}); the first minutes measured may carry PostgreSQL's checkpoint of them"
        ),
    }
}

fn spread<T>(all: Vec<T>, n: usize) -> Vec<T> {
    if all.len() <= n || n == 0 {
        return all;
    }
    let step = all.len() as f64 / n as f64;
    let mut all: Vec<Option<T>> = all.into_iter().map(Some).collect();
    (0..n)
        .filter_map(|i| all[(i as f64 * step) as usize].take())
        .collect()
}

/// An account holding a role, with the place its grant is at.
struct Granted {
    username: String,
    place: i64,
    /// The place's compound (none above a compound).
    compound: Option<i64>,
    district_code: String,
}

/// Accounts of `role`, spread evenly over the tree.
async fn grants(db: &Database, role: &str, n: usize) -> anyhow::Result<Vec<Granted>> {
    let all = rows(
        db,
        &format!(
            "SELECT a.username, g.place_id, p.compound_id, p.district_code FROM role_grant g \
             JOIN account a ON a.id = g.account_id JOIN place p ON p.id = g.place_id \
             WHERE g.role = '{role}' AND NOT a.disabled ORDER BY g.place_id, a.id"
        ),
    )
    .await?
    .into_iter()
    .map(|r| {
        Ok(Granted {
            username: r.try_get_by_index(0)?,
            place: r.try_get_by_index(1)?,
            compound: r.try_get_by_index(2)?,
            district_code: r.try_get_by_index(3)?,
        })
    })
    .collect::<Result<Vec<_>, sea_orm::DbErr>>()?;
    Ok(spread(all, n))
}

pub struct Sizes {
    pub residents: usize,
    pub secretaries: usize,
    pub officials: usize,
}

impl World {
    /// Finds the accounts, signs them in, and opens a district-wide
    /// mobilisation in each secretary's district for them to mark (when
    /// `ack` is wanted).
    pub async fn build(
        db: &Database,
        base: &str,
        floor_base: Option<String>,
        sizes: &Sizes,
        open_mobilisation: bool,
    ) -> anyhow::Result<World> {
        let mut next = 0usize;
        let mut ip = || {
            next += 1;
            next
        };
        let mut residents = Vec::new();
        for g in grants(db, "resident", sizes.residents).await? {
            residents.push(Resident {
                account: sign_in(base, &g.username, ip()).await?,
                dwelling: g.place,
                compound: g.compound.context("a resident's dwelling has a compound")?,
            });
        }
        let mut secretaries = Vec::new();
        for g in grants(db, "compound_secretary", sizes.secretaries).await? {
            let compound = g.place;
            let dwellings = rows(
                db,
                &format!("SELECT id FROM place WHERE kind = 'dwelling' AND compound_id = {compound} ORDER BY id"),
            )
            .await?
            .into_iter()
            .map(|r| r.try_get_by_index::<i64>(0))
            .collect::<Result<Vec<_>, _>>()?;
            secretaries.push(Secretary {
                account: sign_in(base, &g.username, ip()).await?,
                compound,
                district_code: g.district_code,
                dwellings,
                page: AtomicUsize::new(0),
                deliberation: Mutex::new(Deliberation::default()),
            });
        }
        let mut officials = Vec::new();
        let mut official_grants = grants(db, "community_worker", sizes.officials).await?;
        official_grants.extend(grants(db, "street_admin", sizes.officials / 2).await?);
        official_grants.extend(grants(db, "district_admin", 1).await?);
        for g in official_grants {
            officials.push(Official {
                account: sign_in(base, &g.username, ip()).await?,
                place: g.place,
            });
        }
        let mut voters = Vec::new();
        for r in rows(
            db,
            "SELECT id, compound_id FROM owner_vote WHERE state = 'open' ORDER BY id",
        )
        .await?
        {
            let (vote, compound) = (r.try_get_by_index::<i64>(0)?, r.try_get_by_index::<i64>(1)?);
            for role in ["resident", "party_member"] {
                for r in rows(
                    db,
                    &format!(
                        "SELECT a.username FROM role_grant g JOIN account a ON a.id = g.account_id \
                         JOIN place p ON p.id = g.place_id WHERE g.role = '{role}' AND p.compound_id = {compound}"
                    ),
                )
                .await?
                {
                    let username = r.try_get_by_index::<String>(0)?;
                    voters.push(Voter {
                        account: sign_in(base, &username, ip()).await?,
                        vote,
                        ballots: AtomicU64::new(0),
                    });
                }
            }
        }
        let places = rows(db, "SELECT id FROM place ORDER BY id LIMIT 100000")
            .await?
            .into_iter()
            .map(|r| r.try_get_by_index::<i64>(0))
            .collect::<Result<Vec<_>, _>>()?;
        let mut world = World {
            client: http_client(None)?,
            base: base.to_string(),
            floor_base,
            residents,
            secretaries,
            officials,
            voters,
            mobilisations: HashMap::new(),
            places,
            raised: AtomicU64::new(0),
            meter: None,
        };
        if open_mobilisation {
            let codes: BTreeSet<String> = world
                .secretaries
                .iter()
                .map(|s| s.district_code.clone())
                .collect();
            for (i, code) in codes.into_iter().enumerate() {
                let id = world.open_mobilisation(db, &code, 60_000 + i).await?;
                world.mobilisations.insert(code, id);
            }
            settle(db).await;
        }
        // The voters may not be in the electorate: keep those whose ballot counts.
        let mut usable = Vec::new();
        for v in std::mem::take(&mut world.voters) {
            let (outcome, what) = world.vote(&v).await;
            if outcome == Outcome::Ok {
                usable.push(v);
            } else {
                eprintln!(
                    "{} cannot vote in vote {}: {what}",
                    v.account.username, v.vote
                );
            }
        }
        world.voters = usable;
        Ok(world)
    }

    /// Opens a mobilisation over the district `code` as its admin.
    async fn open_mobilisation(&self, db: &Database, code: &str, ip: usize) -> anyhow::Result<i64> {
        let admin = rows(
            db,
            &format!(
                "SELECT a.username, g.place_id FROM role_grant g \
                 JOIN account a ON a.id = g.account_id JOIN place p ON p.id = g.place_id \
                 WHERE g.role = 'district_admin' AND p.kind = 'district' \
                 AND p.district_code = '{code}' AND NOT a.disabled ORDER BY a.id LIMIT 1"
            ),
        )
        .await?;
        let row = admin
            .first()
            .with_context(|| format!("no admin of district {code}"))?;
        let (username, district) = (
            row.try_get_by_index::<String>(0)?,
            row.try_get_by_index::<i64>(1)?,
        );
        let admin = sign_in(&self.base, &username, ip).await?;
        let resp = self
            .client
            .post(format!("{}/api/v1/mobilisations", self.base))
            .header(COOKIE, &admin.cookie)
            .header("x-csrf-token", &admin.csrf)
            .json(&json!({
                "place_id": district,
                "title": "防汛防台转移通知（负载测试）",
                "body": "台风将至，请各网格逐户通知，确认每户已知晓转移安排。",
            }))
            .timeout(Duration::from_secs(300))
            .send()
            .await?;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        match body["id"].as_i64() {
            Some(id) if status.is_success() => {
                eprintln!(
                    "opened mobilisation {id} of {} households in {code}",
                    body["households"]
                );
                Ok(id)
            }
            _ => bail!("opening a mobilisation: {status} {body}"),
        }
    }

    /// Whether `s` has households to mark in an open mobilisation.
    fn marks(&self, s: &Secretary) -> bool {
        !s.dwellings.is_empty() && self.mobilisations.contains_key(&s.district_code)
    }

    /// Which classes this world can drive (a class with no accounts cannot).
    pub fn can(&self, class: Class) -> bool {
        match class {
            Class::Board | Class::Mine | Class::Raise => !self.residents.is_empty(),
            Class::Cockpit => !self.officials.is_empty(),
            Class::Ack => self.secretaries.iter().any(|s| self.marks(s)),
            Class::Deliberate => !self.secretaries.is_empty(),
            Class::Vote => !self.voters.is_empty(),
            Class::FloorText => self.floor_base.is_some(),
            Class::FloorLookup => self.floor_base.is_some() && !self.places.is_empty(),
        }
    }

    fn get(&self, account: &Account, path: &str) -> RequestBuilder {
        self.client
            .get(format!("{}/api/v1{path}", self.base))
            .header(COOKIE, &account.cookie)
    }

    fn post(&self, account: &Account, path: &str, body: Value) -> RequestBuilder {
        self.client
            .post(format!("{}/api/v1{path}", self.base))
            .header(COOKIE, &account.cookie)
            .header("x-csrf-token", &account.csrf)
            .json(&body)
    }

    /// One request of `class`; the outcome and, on failure, what happened.
    pub async fn exec(&self, class: Class, rng: &mut Rng) -> (Outcome, String) {
        match class {
            Class::Board => {
                let r = &self.residents[rng.below(self.residents.len())];
                send(self.get(&r.account, &format!("/places/{}/matters", r.compound)))
                    .await
                    .0
            }
            Class::Mine => {
                let r = &self.residents[rng.below(self.residents.len())];
                send(self.get(&r.account, "/resident-matters/mine")).await.0
            }
            Class::Cockpit => {
                let o = &self.officials[rng.below(self.officials.len())];
                send(self.get(&o.account, &format!("/cockpit/{}", o.place)))
                    .await
                    .0
            }
            Class::Raise => {
                let r = &self.residents[rng.below(self.residents.len())];
                let n = self.raised.fetch_add(1, Ordering::Relaxed);
                send(self.post(
                    &r.account,
                    "/resident-matters",
                    json!({
                        "category": "utilities",
                        "title": format!("楼道灯不亮（{n}）"),
                        "description": "单元楼道的声控灯坏了，晚上上下楼看不清，请物业尽快维修。",
                        "place_id": r.dwelling,
                    }),
                ))
                .await
                .0
            }
            Class::Ack => {
                let with: Vec<&Secretary> =
                    self.secretaries.iter().filter(|s| self.marks(s)).collect();
                let s = with[rng.below(with.len())];
                let m = self.mobilisations[&s.district_code];
                let pages = s.dwellings.len().div_ceil(PAGE);
                let page = s.page.fetch_add(1, Ordering::Relaxed) % pages;
                let ids: Vec<i64> = s
                    .dwellings
                    .iter()
                    .skip(page * PAGE)
                    .take(PAGE)
                    .copied()
                    .collect();
                send(self.post(
                    &s.account,
                    &format!("/mobilisations/{m}/reached"),
                    json!({"dwelling_ids": ids, "method": "door"}),
                ))
                .await
                .0
            }
            Class::Deliberate => {
                // A secretary moves one matter at a time: take one that is free.
                let start = rng.below(self.secretaries.len());
                let n = self.secretaries.len();
                for k in 0..n {
                    let s = &self.secretaries[(start + k) % n];
                    if let Ok(mut d) = s.deliberation.try_lock() {
                        return self.deliberate(s, &mut d).await;
                    }
                }
                let s = &self.secretaries[start];
                let mut d = s.deliberation.lock().await;
                self.deliberate(s, &mut d).await
            }
            Class::Vote => {
                let v = &self.voters[rng.below(self.voters.len())];
                self.vote(v).await
            }
            Class::FloorText => {
                let base = self.floor_base.as_deref().expect("a floor");
                send(self.client.get(format!("{base}/floor/text"))).await.0
            }
            Class::FloorLookup => {
                let base = self.floor_base.as_deref().expect("a floor");
                let id = self.places[rng.below(self.places.len())];
                send(self.client.get(format!("{base}/floor/place/{id}")))
                    .await
                    .0
            }
        }
    }

    async fn deliberate(&self, s: &Secretary, d: &mut Deliberation) -> (Outcome, String) {
        let Some(matter) = d.matter else {
            let ((outcome, what), body) = send(self.post(
                &s.account,
                &format!("/places/{}/matters", s.compound),
                json!({
                    "title": "增设电动自行车集中充电棚",
                    "description": "楼道内充电存在火灾隐患，建议在小区北侧空地增设集中充电棚。",
                }),
            ))
            .await;
            if outcome == Outcome::Ok {
                d.matter = body["id"].as_i64();
                d.steps = 0;
            }
            return (outcome, what);
        };
        let action = match d.steps {
            0 => {
                json!({"action": "advance", "summary": "居民反映集中，小区党支部受理并牵头动议。"})
            }
            1 => {
                json!({"action": "advance", "plan": "在北侧空地建设充电棚，费用由物业公共收益列支，方案经联席会议商议后公示。"})
            }
            _ => json!({
                "action": "advance",
                "held_at": (chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339(),
                "attendees": [
                    {"party": "compound_party_org", "name": "党支部书记"},
                    {"party": "owners_committee", "name": "业委会主任"},
                    {"party": "property_company", "name": "物业项目经理"},
                    {"party": "community", "name": "社区网格员"},
                ],
                "minutes": "党组织、业委会、物业、社区四方商议，同意方案，提交公议。",
            }),
        };
        let ((outcome, what), _) =
            send(self.post(&s.account, &format!("/matters/{matter}/actions"), action)).await;
        if outcome == Outcome::Ok {
            d.steps += 1;
            if d.steps == 3 {
                *d = Deliberation::default();
            }
        } else if outcome == Outcome::Error {
            // Start afresh rather than repeat a refused step.
            *d = Deliberation::default();
        }
        (outcome, what)
    }

    /// Alternates the voter's choice, so every ballot changes the count.
    /// A voter's ballots go out as they come, not one after another (a
    /// lock here made the load generator, not the server, queue them): two
    /// in flight at once may reach the server in either order, and one may
    /// then repeat the choice that counts. The server answers that with
    /// 409 `ballot_unchanged` after the whole check, storing nothing: a
    /// served ballot, not an error.
    async fn vote(&self, v: &Voter) -> (Outcome, String) {
        let n = v.ballots.fetch_add(1, Ordering::Relaxed);
        let choice = if n.is_multiple_of(2) {
            "for"
        } else {
            "against"
        };
        let ((outcome, what), _) = send(self.post(
            &v.account,
            &format!("/votes/{}/ballots", v.vote),
            json!({"choice": choice}),
        ))
        .await;
        if what.contains("ballot_unchanged") {
            return (Outcome::Ok, String::new());
        }
        (outcome, what)
    }
}

/// Sends, reads the whole body; the outcome, a description of a failure,
/// and the body as JSON when it is JSON.
async fn send(req: RequestBuilder) -> ((Outcome, String), Value) {
    match req.send().await {
        Ok(resp) => {
            let status = resp.status();
            match resp.bytes().await {
                Ok(body) if status.is_success() => (
                    (Outcome::Ok, String::new()),
                    serde_json::from_slice(&body).unwrap_or(Value::Null),
                ),
                Ok(_) if status == StatusCode::SERVICE_UNAVAILABLE => {
                    ((Outcome::Shed, "503".into()), Value::Null)
                }
                Ok(body) => {
                    let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
                    ((Outcome::Error, format!("{status} {text}")), Value::Null)
                }
                Err(e) => (
                    (Outcome::Error, format!("{status} reading the body: {e}")),
                    Value::Null,
                ),
            }
        }
        Err(e) => ((Outcome::Error, format!("{e:#}")), Value::Null),
    }
}
