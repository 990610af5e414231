//! Owners' votes in the database: the electorate copied at opening, ballots
//! appended to a hash chain under a lock on the vote row, the tally at
//! close, and the recomputation that checks both.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use jinlin_kernel::ApiError;
use jinlin_kernel::auth::{Access, Principal};
use jinlin_kernel::place::entity as place;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::entity::{ballot, matter, vote, vote_owner, vote_unit};
use crate::vote::{
    BallotBox, BallotRecord, Choice, DeemedVotes, Electorate, GENESIS, LoggedBallot, Matter,
    OwnerGroup, OwnerKey, Tally, Unit, verify_chain,
};
use crate::{error, settings};

/// The longest a vote may stay open.
pub const MAX_OPEN_DAYS: i64 = 90;

pub const OPEN: &str = "open";
pub const CLOSED: &str = "closed";

/// Lower-case hex of a hash.
pub fn hex(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if s.len() != 64 {
        return None;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The canonical text of an owner group, as stored.
pub fn voter_key(group: &OwnerGroup) -> String {
    serde_json::to_string(group).expect("an owner group serialises")
}

fn parse_choice(s: &str) -> Option<Choice> {
    Choice::ALL.into_iter().find(|c| c.as_str() == s)
}

/// The units of a compound as the register holds them now, with the owner
/// groups of the Civil Code's count. A dwelling with no owner entered is
/// counted with the developer's unsold units.
pub async fn electorate_units(
    db: &impl ConnectionTrait,
    compound_id: i64,
) -> Result<Vec<(Unit, String)>, ApiError> {
    use jinlin_people::entity::dwelling_owner;
    use jinlin_places::entity::dwelling;
    // Every dwelling of the tree counts, whether or not its particulars
    // (area) were entered: one without is an error, never left out.
    let places: Vec<i64> = place::Entity::find()
        .select_only()
        .column(place::Column::Id)
        .filter(place::Column::CompoundId.eq(compound_id))
        .filter(place::Column::Kind.eq("dwelling"))
        .order_by_asc(place::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let mut particulars: HashMap<i64, (i64, String)> = dwelling::Entity::find()
        .select_only()
        .columns([
            dwelling::Column::PlaceId,
            dwelling::Column::AreaCentiM2,
            dwelling::Column::AreaSource,
        ])
        .filter(dwelling::Column::CompoundId.eq(compound_id))
        .into_tuple::<(i64, i64, String)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(id, area, source)| (id, (area, source)))
        .collect();
    let dwellings: Vec<(i64, i64, String)> = places
        .into_iter()
        .map(|id| {
            let (area, source) = particulars.remove(&id).unwrap_or((0, String::new()));
            (id, area, source)
        })
        .collect();
    let owners: Vec<(i64, String, Option<i64>, Option<String>)> = dwelling_owner::Entity::find()
        .select_only()
        .columns([
            dwelling_owner::Column::DwellingId,
            dwelling_owner::Column::OwnerKind,
            dwelling_owner::Column::PersonId,
            dwelling_owner::Column::CompanyName,
        ])
        .filter(dwelling_owner::Column::CompoundId.eq(compound_id))
        .into_tuple()
        .all(db)
        .await?;
    let mut keys: HashMap<i64, Vec<OwnerKey>> = HashMap::new();
    for (dwelling_id, kind, person, company) in owners {
        let key = match (kind.as_str(), person, company) {
            ("person", Some(id), _) => OwnerKey::Person(id),
            ("developer", _, _) => OwnerKey::Developer,
            (_, _, Some(name)) => OwnerKey::Company(name),
            _ => continue,
        };
        keys.entry(dwelling_id).or_default().push(key);
    }
    let mut units = Vec::with_capacity(dwellings.len());
    for (id, area, source) in dwellings {
        if area <= 0 {
            return Err(error::invalid_with(
                "deliberation.error.unit_without_area",
                &[("id", &id.to_string())],
            ));
        }
        let owner = match keys.remove(&id) {
            Some(k) => OwnerGroup::new(k).map_err(|_| {
                error::invalid_with(
                    "deliberation.error.developer_co_owned",
                    &[("id", &id.to_string())],
                )
            })?,
            None => OwnerGroup::developer(),
        };
        units.push((
            Unit {
                unit_id: id,
                area_centi_m2: area as u64,
                owner,
            },
            source,
        ));
    }
    Ok(units)
}

/// Opens the owners' vote of a matter in public review, fixing its
/// electorate from the register as it stands. In the caller's transaction.
pub async fn open(
    tx: &impl ConnectionTrait,
    user: &Principal,
    m: &matter::Model,
    closes_at: DateTime<Utc>,
) -> Result<vote::Model, ApiError> {
    let now = Utc::now();
    if closes_at <= now || closes_at > now + Duration::days(MAX_OPEN_DAYS) {
        return Err(error::invalid_with(
            "deliberation.error.closes_at",
            &[("days", &MAX_OPEN_DAYS.to_string())],
        ));
    }
    let Some(article) = m.joint_decision.and_then(|n| Matter::from_number(n as u8)) else {
        return Err(error::conflict("no_joint_decision"));
    };
    if m.state != crate::process::State::PublicReview.as_str() {
        return Err(error::conflict("vote_not_in_review"));
    }
    let since = m.review_from.unwrap_or(m.created_at);
    let earlier = vote::Entity::find()
        .filter(vote::Column::MatterId.eq(m.id))
        .filter(vote::Column::OpenedAt.gte(since))
        .count(tx)
        .await?;
    if earlier > 0 {
        return Err(error::conflict("vote_exists"));
    }
    let units = electorate_units(tx, m.compound_id).await?;
    let electorate = Electorate::new(units.iter().map(|(u, _)| u.clone()))
        .map_err(|_| error::conflict("empty_electorate"))?;
    let deemed = settings::load(tx, m.compound_id).await?.deemed_votes;
    let inserted = vote::Entity::insert(vote::ActiveModel {
        matter_id: Set(m.id),
        district_code: Set(m.district_code.clone()),
        compound_id: Set(m.compound_id),
        article_matter: Set(i16::from(article.number())),
        state: Set(OPEN.into()),
        deemed_votes: Set(deemed),
        opened_by: Set(user.account_id),
        opened_at: Set(now),
        closes_at: Set(closes_at),
        closed_at: Set(None),
        unit_count: Set(electorate.unit_count() as i64),
        total_area_centi_m2: Set(electorate.total_area_centi_m2() as i64),
        total_heads: Set(electorate.headcount() as i64),
        ballot_count: Set(0),
        head_hash: Set(hex(&GENESIS)),
        result: Set(None),
        ..Default::default()
    })
    .exec(tx)
    .await?;
    let vote_id = inserted.last_insert_id;
    let mut unit_rows = Vec::with_capacity(units.len());
    for (unit, source) in &units {
        unit_rows.push(vote_unit::ActiveModel {
            vote_id: Set(vote_id),
            dwelling_id: Set(unit.unit_id),
            area_centi_m2: Set(unit.area_centi_m2 as i64),
            area_source: Set(source.clone()),
            voter: Set(voter_key(&unit.owner)),
        });
    }
    for chunk in unit_rows.chunks(1000) {
        vote_unit::Entity::insert_many(chunk.to_vec())
            .exec(tx)
            .await?;
    }
    let mut owner_rows = Vec::new();
    for voter in electorate.voters() {
        for key in voter.owner.keys() {
            if let OwnerKey::Person(person_id) = key {
                owner_rows.push(vote_owner::ActiveModel {
                    vote_id: Set(vote_id),
                    person_id: Set(*person_id),
                    voter: Set(voter_key(&voter.owner)),
                });
            }
        }
    }
    for chunk in owner_rows.chunks(1000) {
        vote_owner::Entity::insert_many(chunk.to_vec())
            .exec(tx)
            .await?;
    }
    vote::Entity::find_by_id(vote_id)
        .one(tx)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// The voting owners a person belongs to in a vote.
pub async fn groups_of_person(
    db: &impl ConnectionTrait,
    vote_id: i64,
    person_id: i64,
) -> Result<Vec<String>, DbErr> {
    vote_owner::Entity::find()
        .select_only()
        .column(vote_owner::Column::Voter)
        .filter(vote_owner::Column::VoteId.eq(vote_id))
        .filter(vote_owner::Column::PersonId.eq(person_id))
        .into_tuple()
        .all(db)
        .await
}

/// A voter's receipt: its ballot's place in the chain.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Receipt {
    pub vote_id: i64,
    pub sequence: i64,
    pub choice: Choice,
    /// The ballot's chain hash (hex): the voter can find it in the
    /// verification of the log.
    pub hash: String,
    /// The units the ballot is cast for.
    pub unit_ids: Vec<i64>,
}

/// The voter a person casts for: the group of `unit_id` when given, else
/// their only group.
pub async fn voter_for(
    db: &impl ConnectionTrait,
    user: &Principal,
    vote_id: i64,
    unit_id: Option<i64>,
) -> Result<String, ApiError> {
    let groups = match user.person_id {
        Some(person) => groups_of_person(db, vote_id, person).await?,
        None => Vec::new(),
    };
    match unit_id {
        Some(unit) => {
            let found = vote_unit::Entity::find_by_id((vote_id, unit))
                .one(db)
                .await?;
            let Some(found) = found else {
                return Err(error::invalid_key(
                    "deliberation.error.unit_not_in_electorate",
                ));
            };
            if !groups.contains(&found.voter) {
                return Err(error::forbidden_key("deliberation.error.not_owner_of_unit"));
            }
            Ok(found.voter)
        }
        None => match groups.as_slice() {
            [] => Err(error::forbidden_key("deliberation.error.not_an_owner")),
            [only] => Ok(only.clone()),
            _ => Err(error::invalid_key("deliberation.error.choose_unit")),
        },
    }
}

/// Appends a ballot to the vote's chain, in the caller's transaction. The
/// conditional update of the vote row is both the check that the vote is
/// open and the lock that orders concurrent ballots.
pub async fn cast(
    tx: &impl ConnectionTrait,
    user: &Principal,
    vote_id: i64,
    voter: String,
    choice: Choice,
) -> Result<Receipt, ApiError> {
    let now = Utc::now();
    let locked = vote::Entity::update_many()
        .col_expr(
            vote::Column::BallotCount,
            Expr::col(vote::Column::BallotCount).add(1),
        )
        .filter(vote::Column::Id.eq(vote_id))
        .filter(vote::Column::State.eq(OPEN))
        .filter(vote::Column::ClosesAt.gt(now))
        .exec(tx)
        .await?;
    if locked.rows_affected == 0 {
        return Err(error::conflict("vote_closed"));
    }
    let v = vote::Entity::find_by_id(vote_id)
        .one(tx)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let last = ballot::Entity::find()
        .filter(ballot::Column::VoteId.eq(vote_id))
        .filter(ballot::Column::Voter.eq(voter.as_str()))
        .order_by_desc(ballot::Column::Sequence)
        .one(tx)
        .await?;
    if last.is_some_and(|b| b.choice == choice.as_str()) {
        return Err(error::conflict("ballot_unchanged"));
    }
    let group: OwnerGroup = serde_json::from_str(&voter).map_err(ApiError::internal)?;
    let prev = unhex(&v.head_hash).ok_or_else(|| ApiError::internal("bad head hash"))?;
    let record = BallotRecord {
        vote_id,
        voter: group,
        choice,
        sequence: v.ballot_count as u64,
        cast_at: now.timestamp(),
    };
    let sealed = LoggedBallot::seal(&prev, record);
    let hash = hex(&sealed.hash);
    ballot::Entity::insert(ballot::ActiveModel {
        vote_id: Set(vote_id),
        sequence: Set(v.ballot_count),
        voter: Set(voter.clone()),
        choice: Set(choice.as_str().into()),
        cast_at: Set(now.timestamp()),
        account_id: Set(user.account_id),
        hash: Set(hash.clone()),
        ..Default::default()
    })
    .exec(tx)
    .await?;
    vote::Entity::update_many()
        .col_expr(vote::Column::HeadHash, Expr::value(hash.clone()))
        .filter(vote::Column::Id.eq(vote_id))
        .exec(tx)
        .await?;
    let unit_ids = units_of_voter(tx, vote_id, &voter).await?;
    Ok(Receipt {
        vote_id,
        sequence: v.ballot_count,
        choice,
        hash,
        unit_ids,
    })
}

/// The units of one voting owner, ascending.
pub async fn units_of_voter(
    db: &impl ConnectionTrait,
    vote_id: i64,
    voter: &str,
) -> Result<Vec<i64>, DbErr> {
    vote_unit::Entity::find()
        .select_only()
        .column(vote_unit::Column::DwellingId)
        .filter(vote_unit::Column::VoteId.eq(vote_id))
        .filter(vote_unit::Column::Voter.eq(voter))
        .order_by_asc(vote_unit::Column::DwellingId)
        .into_tuple()
        .all(db)
        .await
}

/// A person's current ballots in a vote (one per group they belong to).
pub async fn receipts_of(
    db: &impl ConnectionTrait,
    vote_id: i64,
    person_id: i64,
) -> Result<Vec<Receipt>, ApiError> {
    let mut out = Vec::new();
    for voter in groups_of_person(db, vote_id, person_id).await? {
        let last = ballot::Entity::find()
            .filter(ballot::Column::VoteId.eq(vote_id))
            .filter(ballot::Column::Voter.eq(voter.as_str()))
            .order_by_desc(ballot::Column::Sequence)
            .one(db)
            .await?;
        if let Some(b) = last {
            out.push(Receipt {
                vote_id,
                sequence: b.sequence,
                choice: parse_choice(&b.choice).ok_or_else(|| ApiError::internal("choice"))?,
                hash: b.hash,
                unit_ids: units_of_voter(db, vote_id, &voter).await?,
            });
        }
    }
    Ok(out)
}

/// The vote's electorate and ballot log as stored.
pub struct Loaded {
    pub electorate: Electorate,
    pub log: Vec<LoggedBallot>,
}

/// Reads a vote's electorate and its whole ballot log, parsing each owner
/// group once.
pub async fn load(db: &impl ConnectionTrait, vote_id: i64) -> Result<Loaded, ApiError> {
    let units: Vec<(i64, i64, String)> = vote_unit::Entity::find()
        .select_only()
        .columns([
            vote_unit::Column::DwellingId,
            vote_unit::Column::AreaCentiM2,
            vote_unit::Column::Voter,
        ])
        .filter(vote_unit::Column::VoteId.eq(vote_id))
        .into_tuple()
        .all(db)
        .await?;
    let ballots: Vec<(i64, String, String, i64, String)> = ballot::Entity::find()
        .select_only()
        .columns([
            ballot::Column::Sequence,
            ballot::Column::Voter,
            ballot::Column::Choice,
            ballot::Column::CastAt,
            ballot::Column::Hash,
        ])
        .filter(ballot::Column::VoteId.eq(vote_id))
        .order_by_asc(ballot::Column::Sequence)
        .into_tuple()
        .all(db)
        .await?;
    let mut groups: HashMap<String, OwnerGroup> = HashMap::new();
    let mut group = |key: &str| -> Result<OwnerGroup, ApiError> {
        if let Some(g) = groups.get(key) {
            return Ok(g.clone());
        }
        let g: OwnerGroup = serde_json::from_str(key).map_err(ApiError::internal)?;
        groups.insert(key.to_string(), g.clone());
        Ok(g)
    };
    let mut electorate_units = Vec::with_capacity(units.len());
    for (id, area, voter) in &units {
        electorate_units.push(Unit {
            unit_id: *id,
            area_centi_m2: *area as u64,
            owner: group(voter)?,
        });
    }
    let electorate = Electorate::new(electorate_units).map_err(ApiError::internal)?;
    let mut log = Vec::with_capacity(ballots.len());
    for (sequence, voter, choice, cast_at, hash) in &ballots {
        log.push(LoggedBallot {
            record: BallotRecord {
                vote_id,
                voter: group(voter)?,
                choice: parse_choice(choice).ok_or_else(|| ApiError::internal("choice"))?,
                sequence: *sequence as u64,
                cast_at: *cast_at,
            },
            // A malformed hash fails verification rather than the read.
            hash: unhex(hash).unwrap_or([0xff; 32]),
        });
    }
    Ok(Loaded { electorate, log })
}

impl Loaded {
    /// The ballot box after every ballot of the log, the last of each
    /// voter standing. A ballot of a voter outside the electorate is an
    /// error of the store, not of a voter.
    pub fn ballot_box(&self) -> Result<BallotBox, ApiError> {
        let mut b = BallotBox::open(self.electorate.clone());
        for entry in &self.log {
            b.cast(&entry.record.voter, entry.record.choice)
                .map_err(ApiError::internal)?;
        }
        Ok(b)
    }

    pub fn tally(&self, matter: Matter, deemed: bool) -> Result<Tally, ApiError> {
        let mut b = self.ballot_box()?;
        b.close();
        let deemed = if deemed {
            DeemedVotes::FollowMajority
        } else {
            DeemedVotes::Off
        };
        b.tally(matter, deemed).map_err(ApiError::internal)
    }
}

pub fn article(v: &vote::Model) -> Result<Matter, ApiError> {
    Matter::from_number(v.article_matter as u8).ok_or_else(|| ApiError::internal("article"))
}

/// Closes a vote and publishes its tally, in the caller's transaction. A
/// vote closes once its closing time has passed, or earlier when every
/// voting owner has cast a ballot.
pub async fn close(tx: &impl ConnectionTrait, vote_id: i64) -> Result<Tally, ApiError> {
    let now = Utc::now();
    let v = vote::Entity::find_by_id(vote_id)
        .one(tx)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if v.state != OPEN {
        return Err(error::conflict("vote_closed"));
    }
    // Lock the row before counting so no ballot slips in between.
    let locked = vote::Entity::update_many()
        .col_expr(vote::Column::State, Expr::value(CLOSED))
        .col_expr(vote::Column::ClosedAt, Expr::value(now))
        .filter(vote::Column::Id.eq(vote_id))
        .filter(vote::Column::State.eq(OPEN))
        .exec(tx)
        .await?;
    if locked.rows_affected == 0 {
        return Err(error::conflict("vote_closed"));
    }
    let loaded = load(tx, vote_id).await?;
    let tally = loaded.tally(article(&v)?, v.deemed_votes)?;
    if v.closes_at > now && tally.cast.participating.heads < tally.total.heads {
        return Err(error::conflict_with(
            "vote_not_due",
            &[("at", &crate::format_time(v.closes_at))],
        ));
    }
    verify_chain(&loaded.log).map_err(ApiError::internal)?;
    vote::Entity::update_many()
        .col_expr(
            vote::Column::Result,
            Expr::value(serde_json::to_string(&tally).map_err(ApiError::internal)?),
        )
        .filter(vote::Column::Id.eq(vote_id))
        .exec(tx)
        .await?;
    Ok(tally)
}

/// What a recomputation of a vote's log finds.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Verification {
    pub vote_id: i64,
    /// Every hash, sequence number and vote id of the log checks out, and
    /// the last hash is the vote's recorded head.
    pub chain_valid: bool,
    /// The first entry that does not verify (0-based) and why.
    pub fault: Option<String>,
    pub ballots: usize,
    pub head_hash: String,
    /// For a closed vote: whether the tally recomputed from the log equals
    /// the published one.
    pub tally_matches: Option<bool>,
}

impl Verification {
    pub fn ok(&self) -> bool {
        self.chain_valid && self.tally_matches != Some(false)
    }
}

/// Recomputes a vote's chain and, once closed, its tally.
pub async fn verify(db: &impl ConnectionTrait, v: &vote::Model) -> Result<Verification, ApiError> {
    let loaded = load(db, v.id).await?;
    let chain = verify_chain(&loaded.log);
    let head = loaded
        .log
        .last()
        .map(|b| hex(&b.hash))
        .unwrap_or(hex(&GENESIS));
    let fault = match &chain {
        Err(e) => Some(e.to_string()),
        Ok(()) if head != v.head_hash => Some("the last hash is not the vote's head".into()),
        Ok(()) if loaded.log.len() as i64 != v.ballot_count => {
            Some("the number of ballots is not the vote's count".into())
        }
        Ok(()) => None,
    };
    let tally_matches = match &v.result {
        Some(published) => {
            let published: Tally = serde_json::from_str(published).map_err(ApiError::internal)?;
            Some(loaded.tally(article(v)?, v.deemed_votes).ok() == Some(published))
        }
        None => None,
    };
    Ok(Verification {
        vote_id: v.id,
        chain_valid: fault.is_none(),
        fault,
        ballots: loaded.log.len(),
        head_hash: v.head_hash.clone(),
        tally_matches,
    })
}

/// The published tally of a closed vote.
pub fn published(v: &vote::Model) -> Option<Tally> {
    v.result
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok())
}

/// Whether a reader sees the live participation of an open vote: the
/// party organisation and the levels above, never individual ballots.
pub fn sees_live(user: &Principal, compound: &place::Model) -> bool {
    user.can(Access::Registry, &compound.position())
}
