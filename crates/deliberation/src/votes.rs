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
    BallotBox, BallotRecord, Choice, DeemedVotes, Electorate, ElectorateError, LoggedBallot,
    Matter, OwnerGroup, OwnerKey, Tally, Unit, VoteHeader, verify_chain_from,
};
use crate::{error, settings};

/// The longest a vote may stay open.
pub const MAX_OPEN_DAYS: i64 = 90;

pub const OPEN: &str = "open";
pub const CLOSED: &str = "closed";
pub const CANCELLED: &str = "cancelled";

/// Lower-case hex of a hash.
pub fn hex<const N: usize>(bytes: &[u8; N]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of a hex string of exactly `N` bytes.
fn unhex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    if s.len() != 2 * N {
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
/// groups of the Civil Code's count. A dwelling without its area or its
/// owners on record stops the vote (422 naming it): nothing is guessed.
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
    let mut malformed = Vec::new();
    for (dwelling_id, kind, person, company) in owners {
        let company = company
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty());
        let key = match (kind.as_str(), person, company) {
            ("person", Some(id), _) => OwnerKey::Person(id),
            ("developer", _, _) => OwnerKey::Developer,
            ("company", _, Some(name)) => OwnerKey::Company(name),
            _ => {
                malformed.push(dwelling_id);
                continue;
            }
        };
        keys.entry(dwelling_id).or_default().push(key);
    }
    let mut units = Vec::with_capacity(dwellings.len());
    for (id, area, source) in dwellings {
        let named = [("id", id.to_string())];
        let named: Vec<(&str, &str)> = named.iter().map(|(k, v)| (*k, v.as_str())).collect();
        if area <= 0 {
            return Err(error::invalid_with(
                "deliberation.error.unit_without_area",
                &named,
            ));
        }
        // Every unit has an owner in law; one the register does not name
        // (not even the developer, for unsold units) must be entered first,
        // or the headcount would be a guess.
        if malformed.contains(&id) {
            return Err(error::invalid_with(
                "deliberation.error.unit_owner_malformed",
                &named,
            ));
        }
        let Some(k) = keys.remove(&id) else {
            return Err(error::invalid_with(
                "deliberation.error.unit_without_owner",
                &named,
            ));
        };
        let owner = OwnerGroup::new(k)
            .map_err(|_| error::invalid_with("deliberation.error.developer_co_owned", &named))?;
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
    // Take the matter's row first: two openings at once, or an opening and
    // a send-back, are ordered here; the second sees the first's work.
    let locked = matter::Entity::update_many()
        .col_expr(matter::Column::UpdatedAt, Expr::value(now))
        .filter(matter::Column::Id.eq(m.id))
        .filter(matter::Column::State.eq(crate::process::State::PublicReview.as_str()))
        .exec(tx)
        .await?;
    if locked.rows_affected == 0 {
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
    let deemed = settings::load(tx, m.compound_id).await?.deemed_votes;
    // Counting non-voters with the majority is only fair when owners had
    // the time to vote: the guidance rules give 15 days' notice.
    if deemed && closes_at < now + Duration::days(DEEMED_MIN_DAYS) {
        return Err(error::invalid_with(
            "deliberation.error.deemed_short",
            &[("days", &DEEMED_MIN_DAYS.to_string())],
        ));
    }
    let units = electorate_units(tx, m.compound_id).await?;
    let electorate =
        Electorate::new(units.iter().map(|(u, _)| u.clone())).map_err(|e| match e {
            ElectorateError::Empty => error::conflict("empty_electorate"),
            other => ApiError::internal(other),
        })?;
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
        opening_hash: Set(String::new()),
        head_hash: Set(String::new()),
        result: Set(None),
        cancel_reason: Set(None),
        ..Default::default()
    })
    .exec(tx)
    .await?;
    let vote_id = inserted.last_insert_id;
    let opening = hex(&header(vote_id, article, deemed, now, closes_at)
        .opening_hash(&units.iter().map(|(u, _)| u.clone()).collect::<Vec<_>>()));
    vote::Entity::update_many()
        .col_expr(vote::Column::OpeningHash, Expr::value(opening.clone()))
        .col_expr(vote::Column::HeadHash, Expr::value(opening))
        .filter(vote::Column::Id.eq(vote_id))
        .exec(tx)
        .await?;
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
    let owner_rows = owner_rows(vote_id, &electorate);
    for chunk in owner_rows.chunks(1000) {
        vote_owner::Entity::insert_many(chunk.to_vec())
            .exec(tx)
            .await?;
    }
    notify_owners(tx, m, vote_id, closes_at, &owner_rows).await?;
    vote::Entity::find_by_id(vote_id)
        .one(tx)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// The shortest vote when non-voters are counted with the majority.
pub const DEEMED_MIN_DAYS: i64 = 15;

fn header(
    vote_id: i64,
    matter: Matter,
    deemed: bool,
    opened_at: DateTime<Utc>,
    closes_at: DateTime<Utc>,
) -> VoteHeader {
    VoteHeader {
        vote_id,
        matter,
        deemed: if deemed {
            DeemedVotes::FollowMajority
        } else {
            DeemedVotes::Off
        },
        opened_at: opened_at.timestamp(),
        closes_at: closes_at.timestamp(),
    }
}

/// The terms of a stored vote, as hashed at its opening.
pub fn header_of(v: &vote::Model) -> Result<VoteHeader, ApiError> {
    Ok(header(
        v.id,
        article(v)?,
        v.deemed_votes,
        v.opened_at,
        v.closes_at,
    ))
}

/// Which owner groups each person of the electorate belongs to.
fn owner_rows(vote_id: i64, electorate: &Electorate) -> Vec<vote_owner::ActiveModel> {
    let mut rows = Vec::new();
    for voter in electorate.voters() {
        for key in voter.owner.keys() {
            if let OwnerKey::Person(person_id) = key {
                rows.push(vote_owner::ActiveModel {
                    vote_id: Set(vote_id),
                    person_id: Set(*person_id),
                    voter: Set(voter_key(&voter.owner)),
                });
            }
        }
    }
    rows
}

/// Tells every owner with an account that the vote is open: a notice in
/// the system counts as served.
async fn notify_owners(
    tx: &impl ConnectionTrait,
    m: &matter::Model,
    vote_id: i64,
    closes_at: DateTime<Utc>,
    owners: &[vote_owner::ActiveModel],
) -> Result<(), ApiError> {
    use jinlin_kernel::auth::entity::account;
    use jinlin_kernel::notify::{Message, notify_parties};
    let people: Vec<i64> = owners
        .iter()
        .filter_map(|o| match &o.person_id {
            sea_orm::ActiveValue::Set(p) => Some(*p),
            _ => None,
        })
        .collect();
    let mut accounts: Vec<i64> = Vec::new();
    for chunk in people.chunks(1000) {
        accounts.extend(
            account::Entity::find()
                .select_only()
                .column(account::Column::Id)
                .filter(account::Column::PersonId.is_in(chunk.to_vec()))
                .into_tuple::<i64>()
                .all(tx)
                .await?,
        );
    }
    if accounts.is_empty() {
        return Ok(());
    }
    let lang = jinlin_kernel::i18n::Lang::ZhCn;
    let message = Message::new(
        "vote.opened",
        lang.tf("deliberation.notice.vote_opened", &[("title", &m.title)]),
        lang.tf(
            "deliberation.notice.vote_opened_body",
            &[
                ("at", &crate::format_time(closes_at)),
                ("id", &vote_id.to_string()),
            ],
        ),
    )
    .link(format!("/matters/{}", m.id));
    notify_parties(tx, &accounts, &message).await?;
    Ok(())
}

/// Cancels the open vote of a matter that leaves public review (sent back
/// or rejected): no more ballots, and the reason shown with it.
pub async fn cancel_open(
    tx: &impl ConnectionTrait,
    matter_id: i64,
    reason: &str,
) -> Result<(), ApiError> {
    vote::Entity::update_many()
        .col_expr(vote::Column::State, Expr::value(CANCELLED))
        .col_expr(vote::Column::ClosedAt, Expr::value(Utc::now()))
        .col_expr(vote::Column::CancelReason, Expr::value(reason))
        .filter(vote::Column::MatterId.eq(matter_id))
        .filter(vote::Column::State.eq(OPEN))
        .exec(tx)
        .await?;
    Ok(())
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

/// Who a ballot is for.
pub struct BallotFor {
    /// The owner group's key.
    pub voter: String,
    /// Set when the party organisation enters the written ballot of a
    /// company or the developer, which have no account of their own.
    pub entered_by: Option<i64>,
}

/// The voter a person casts for: the group of `unit_id` when given, else
/// their only group. `runs_votes` says whether the user may enter the
/// written ballot of an owner group without a person in it (a company, the
/// developer); such a ballot names its unit.
pub async fn voter_for(
    db: &impl ConnectionTrait,
    user: &Principal,
    vote_id: i64,
    unit_id: Option<i64>,
    runs_votes: bool,
) -> Result<BallotFor, ApiError> {
    let groups = match user.person_id {
        Some(person) => groups_of_person(db, vote_id, person).await?,
        None => Vec::new(),
    };
    let own = |voter: String| BallotFor {
        voter,
        entered_by: None,
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
            if groups.contains(&found.voter) {
                return Ok(own(found.voter));
            }
            let group: OwnerGroup =
                serde_json::from_str(&found.voter).map_err(ApiError::internal)?;
            let without_person = !group
                .keys()
                .iter()
                .any(|k| matches!(k, OwnerKey::Person(_)));
            if runs_votes && without_person {
                return Ok(BallotFor {
                    voter: found.voter,
                    entered_by: Some(user.account_id),
                });
            }
            Err(error::forbidden_key("deliberation.error.not_owner_of_unit"))
        }
        None => match groups.as_slice() {
            [] => Err(error::forbidden_key("deliberation.error.not_an_owner")),
            [only] => Ok(own(only.clone())),
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
    ballot_for: BallotFor,
    choice: Choice,
) -> Result<Receipt, ApiError> {
    let now = Utc::now();
    let voter = ballot_for.voter;
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
    let mut nonce = [0u8; 16];
    rand::fill(&mut nonce);
    let record = BallotRecord {
        vote_id,
        voter: group,
        choice,
        sequence: v.ballot_count as u64,
        cast_at: now.timestamp(),
        nonce,
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
        nonce: Set(hex(&nonce)),
        hash: Set(hash.clone()),
        entered_by: Set(ballot_for.entered_by),
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

/// A vote's electorate and ballot log as stored.
pub struct Loaded {
    pub units: Vec<Unit>,
    pub electorate: Electorate,
    pub log: Vec<LoggedBallot>,
}

/// Reads a vote's electorate and its ballot log up to the vote's recorded
/// count (ballots committed since `v` was read are left for the next
/// look), parsing each owner group once.
pub async fn load(db: &impl ConnectionTrait, v: &vote::Model) -> Result<Loaded, ApiError> {
    let vote_id = v.id;
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
    let ballots: Vec<(i64, String, String, i64, String, String)> = ballot::Entity::find()
        .select_only()
        .columns([
            ballot::Column::Sequence,
            ballot::Column::Voter,
            ballot::Column::Choice,
            ballot::Column::CastAt,
            ballot::Column::Nonce,
            ballot::Column::Hash,
        ])
        .filter(ballot::Column::VoteId.eq(vote_id))
        .filter(ballot::Column::Sequence.lte(v.ballot_count))
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
    let electorate = Electorate::new(electorate_units.clone()).map_err(ApiError::internal)?;
    let mut log = Vec::with_capacity(ballots.len());
    for (sequence, voter, choice, cast_at, nonce, hash) in &ballots {
        log.push(LoggedBallot {
            record: BallotRecord {
                vote_id,
                voter: group(voter)?,
                choice: parse_choice(choice).ok_or_else(|| ApiError::internal("choice"))?,
                sequence: *sequence as u64,
                cast_at: *cast_at,
                // A malformed nonce or hash fails verification rather than the read.
                nonce: unhex(nonce).unwrap_or([0xff; 16]),
            },
            hash: unhex(hash).unwrap_or([0xff; 32]),
        });
    }
    Ok(Loaded {
        units: electorate_units,
        electorate,
        log,
    })
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

    /// What does not hold of the stored vote: the electorate, header and
    /// totals fixed at the opening, every ballot's hash from the opening
    /// hash on, the head and the count, and every ballot in time.
    pub fn fault(&self, v: &vote::Model) -> Result<Option<String>, ApiError> {
        let opening = header_of(v)?.opening_hash(&self.units);
        if hex(&opening) != v.opening_hash {
            return Ok(Some(
                "the electorate or the vote's terms differ from what was fixed at the opening"
                    .into(),
            ));
        }
        if self.electorate.unit_count() as i64 != v.unit_count
            || self.electorate.total_area_centi_m2() as i64 != v.total_area_centi_m2
            || self.electorate.headcount() as i64 != v.total_heads
        {
            return Ok(Some(
                "the electorate's totals differ from the vote's".into(),
            ));
        }
        if let Err(e) = verify_chain_from(&opening, &self.log) {
            return Ok(Some(e.to_string()));
        }
        let head = self.log.last().map(|b| b.hash).unwrap_or(opening);
        if hex(&head) != v.head_hash {
            return Ok(Some("the last hash is not the vote's head".into()));
        }
        if self.log.len() as i64 != v.ballot_count {
            return Ok(Some("the number of ballots is not the vote's count".into()));
        }
        if let Some(late) = self
            .log
            .iter()
            .find(|b| b.record.cast_at > v.closes_at.timestamp())
        {
            return Ok(Some(format!(
                "ballot {} was cast after the vote's closing time",
                late.record.sequence
            )));
        }
        Ok(None)
    }
}

pub fn article(v: &vote::Model) -> Result<Matter, ApiError> {
    Matter::from_number(v.article_matter as u8).ok_or_else(|| ApiError::internal("article"))
}

/// Closes a vote and publishes its tally, in the caller's transaction. A
/// vote closes once its closing time has passed, or earlier when every
/// voting owner has cast a ballot. A vote whose record does not verify is
/// not closed: the fault is reported (and audited by the caller).
pub async fn close(tx: &impl ConnectionTrait, vote_id: i64) -> Result<Tally, ApiError> {
    close_at(tx, vote_id, Utc::now()).await
}

/// [`close`] as at `now`.
pub async fn close_at(
    tx: &impl ConnectionTrait,
    vote_id: i64,
    now: DateTime<Utc>,
) -> Result<Tally, ApiError> {
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
    let v = vote::Entity::find_by_id(vote_id)
        .one(tx)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let loaded = load(tx, &v).await?;
    let tally = loaded.tally(article(&v)?, v.deemed_votes)?;
    if v.closes_at > now && tally.cast.participating.heads < tally.total.heads {
        return Err(error::conflict_with(
            "vote_not_due",
            &[("at", &crate::format_time(v.closes_at))],
        ));
    }
    if let Some(fault) = loaded.fault(&v)? {
        tracing::error!(vote_id, %fault, "a vote's record does not verify");
        return Err(error::conflict_with(
            "vote_record_invalid",
            &[("fault", &fault)],
        ));
    }
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
    /// The electorate and terms match what was fixed at the opening, every
    /// hash, sequence number and vote id of the log checks out, the last
    /// hash is the vote's recorded head, and no ballot is late.
    pub chain_valid: bool,
    /// What does not hold, when something does not.
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
    let loaded = load(db, v).await?;
    let fault = loaded.fault(v)?;
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
