//! Owners' joint decisions (业主共同决定) under art. 278 of the PRC Civil Code
//! and the Supreme People's Court interpretation on building division
//! ownership.
//!
//! An [`Electorate`] is fixed when a vote opens; ballots go into a
//! [`BallotBox`], a later ballot of the same voter replacing the earlier one
//! until the box is closed; [`BallotBox::tally`] then applies the four tests:
//!
//! | test | area | headcount |
//! |---|---|---|
//! | participation | ≥ 2/3 of the total area | ≥ 2/3 of the total headcount |
//! | approval, matters 6–8 | ≥ 3/4 of the participating area | ≥ 3/4 of the participating headcount |
//! | approval, other matters | > 1/2 of the participating area | > 1/2 of the participating headcount |
//!
//! "以上" includes the boundary, "过半数" does not: exactly two thirds and
//! exactly three quarters pass, exactly half fails. Every comparison is made
//! on integers (areas in hundredths of a square metre), cross-multiplied in
//! `u128`; no floating point is involved anywhere.
//!
//! # Who is one owner
//!
//! The interpretation counts one exclusive unit as one owner, except that all
//! units the developer still holds (unsold, or sold but not delivered) count
//! together as one, and several units of the same buyer count as one. Units
//! bought jointly have co-owners; the buyer of such a unit is the co-owners
//! together. So the voting owner is an [`OwnerGroup`]: the set of owners
//! entered for a unit. Every unit belongs to exactly one group, every
//! distinct group is one head and casts one ballot for all of its units, and
//! the total headcount is the number of distinct groups.
//!
//! A person who co-owns one unit with someone else and owns another unit
//! alone belongs to two groups, `{A, B}` and `{A}`, which are two buyers and
//! two heads: A votes alone for the second unit and, with B, for the first.
//! This keeps "one owner, one vote" for every buyer, and no unit is ever
//! counted twice or left to depend on another buyer's ballot. Merging the
//! two groups instead would let A's own unit follow B's wishes, or B's share
//! follow A's, which the law gives no ground for.
//!
//! Who among co-owners casts the group's ballot is for them to settle (any
//! of them may cast it; the latest ballot stands).
//!
//! # Deemed votes (少数服从多数)
//!
//! Some compounds' covenants or rules of procedure say that owners who do not
//! vote are counted with the majority of those who did. This is contested,
//! so it is off by default ([`DeemedVotes::Off`]) and, when switched on, the
//! tally reports the cast and the deemed figures apart and gives the outcome
//! both without and with the deemed votes. The reading implemented:
//!
//! - The majority is the choice (for, against or abstain) that leads every
//!   other choice on BOTH the cast area and the cast headcount, strictly.
//!   The law weighs every decision on both measures, so a choice that leads
//!   on one and not the other is no majority; a tie is none either. With no
//!   majority, nobody is deemed, and the outcome with deemed votes is the
//!   outcome of the cast ballots.
//! - Abstention can be the majority: non-voters then join the abstainers,
//!   which counts them as taking part without approving. Following only the
//!   larger of "for" and "against" would let a handful of approvals carry
//!   every non-voter with them while most who voted declined to approve.
//! - Deemed owners count as participating, in the majority's choice, with
//!   their area and their heads.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The matters of art. 278, numbered as in the article.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Matter {
    /// 1. make or amend the owners' assembly rules of procedure
    RulesOfProcedure = 1,
    /// 2. make or amend the management covenant (管理规约)
    Covenant = 2,
    /// 3. elect or replace the owners' committee
    OwnersCommittee = 3,
    /// 4. hire or dismiss the property service company or another manager
    PropertyManager = 4,
    /// 5. use the building maintenance fund (维修资金)
    UseMaintenanceFund = 5,
    /// 6. raise the maintenance fund
    RaiseMaintenanceFund = 6,
    /// 7. rebuild or reconstruct buildings and their facilities
    Rebuild = 7,
    /// 8. change the use of common parts, or run a business on them
    CommonParts = 8,
    /// 9. other major matters of co-ownership and joint management
    OtherMajor = 9,
}

impl Matter {
    pub const ALL: [Matter; 9] = [
        Matter::RulesOfProcedure,
        Matter::Covenant,
        Matter::OwnersCommittee,
        Matter::PropertyManager,
        Matter::UseMaintenanceFund,
        Matter::RaiseMaintenanceFund,
        Matter::Rebuild,
        Matter::CommonParts,
        Matter::OtherMajor,
    ];

    /// The item's number in art. 278 (1–9).
    pub fn number(self) -> u8 {
        self as u8
    }

    pub fn from_number(number: u8) -> Option<Matter> {
        Matter::ALL.into_iter().find(|m| m.number() == number)
    }

    /// Matters 6, 7 and 8 need three quarters of the participants' area and
    /// headcount; the others need more than half.
    pub fn requires_supermajority(self) -> bool {
        matches!(
            self,
            Matter::RaiseMaintenanceFund | Matter::Rebuild | Matter::CommonParts
        )
    }

    /// The approval threshold of this matter.
    pub fn approval_threshold(self) -> Threshold {
        if self.requires_supermajority() {
            Threshold::AtLeastThreeQuarters
        } else {
            Threshold::MoreThanHalf
        }
    }
}

/// One owner as the register names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum OwnerKey {
    /// A natural person, by person id.
    Person(i64),
    /// A company or other organisation, by its registered name or unified
    /// social credit code, as the register holds it.
    Company(String),
    /// The developer, for every unit it has not sold, or sold and not yet
    /// delivered.
    Developer,
}

/// The owners entered for one unit: one voting owner, whatever the number of
/// its units. Sorted and without repeats, so equal sets compare equal.
///
/// The developer holds its units alone: a group with the developer and
/// anyone else is refused.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "Vec<OwnerKey>", into = "Vec<OwnerKey>")]
pub struct OwnerGroup(Vec<OwnerKey>);

/// Why a set of owners is no owner group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GroupError {
    #[error("an owner group has at least one owner")]
    Empty,
    #[error("the developer holds its units alone")]
    DeveloperCoOwned,
}

impl OwnerGroup {
    pub fn new(keys: impl IntoIterator<Item = OwnerKey>) -> Result<OwnerGroup, GroupError> {
        let keys: Vec<OwnerKey> = keys
            .into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if keys.is_empty() {
            return Err(GroupError::Empty);
        }
        if keys.len() > 1 && keys.contains(&OwnerKey::Developer) {
            return Err(GroupError::DeveloperCoOwned);
        }
        Ok(OwnerGroup(keys))
    }

    /// A unit with a single owner.
    pub fn sole(key: OwnerKey) -> OwnerGroup {
        OwnerGroup(vec![key])
    }

    pub fn developer() -> OwnerGroup {
        OwnerGroup::sole(OwnerKey::Developer)
    }

    pub fn keys(&self) -> &[OwnerKey] {
        &self.0
    }

    pub fn contains(&self, key: &OwnerKey) -> bool {
        self.0.binary_search(key).is_ok()
    }
}

impl From<OwnerKey> for OwnerGroup {
    fn from(key: OwnerKey) -> OwnerGroup {
        OwnerGroup::sole(key)
    }
}

impl TryFrom<Vec<OwnerKey>> for OwnerGroup {
    type Error = GroupError;

    fn try_from(keys: Vec<OwnerKey>) -> Result<OwnerGroup, GroupError> {
        OwnerGroup::new(keys)
    }
}

impl From<OwnerGroup> for Vec<OwnerKey> {
    fn from(group: OwnerGroup) -> Vec<OwnerKey> {
        group.0
    }
}

/// An exclusive unit (专有部分) of the compound, with its area in hundredths
/// of a square metre on the compound's area basis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    pub unit_id: i64,
    pub area_centi_m2: u64,
    pub owner: OwnerGroup,
}

/// One voting owner of an electorate and what it votes for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Voter {
    pub owner: OwnerGroup,
    /// The sum of the areas of its units.
    pub area_centi_m2: u64,
    /// Its units' ids, ascending.
    pub unit_ids: Vec<i64>,
}

/// Why a list of units is no electorate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ElectorateError {
    #[error("an electorate has at least one unit")]
    Empty,
    #[error("unit {0} is listed twice")]
    DuplicateUnit(i64),
    #[error("unit {0} has no area")]
    ZeroArea(i64),
    #[error("the total area does not fit in 64 bits")]
    AreaOverflow,
}

/// The units and voting owners of a vote, fixed when it opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Electorate {
    /// Sorted by owner group.
    voters: Vec<Voter>,
    total_area_centi_m2: u64,
    unit_count: usize,
}

impl Electorate {
    /// Groups the units by owner. Refuses an empty list, a unit listed twice,
    /// a unit without area and a total area beyond `u64`.
    pub fn new(units: impl IntoIterator<Item = Unit>) -> Result<Electorate, ElectorateError> {
        let mut units: Vec<Unit> = units.into_iter().collect();
        if units.is_empty() {
            return Err(ElectorateError::Empty);
        }
        units.sort_unstable_by_key(|u| u.unit_id);
        if let Some(w) = units.windows(2).find(|w| w[0].unit_id == w[1].unit_id) {
            return Err(ElectorateError::DuplicateUnit(w[0].unit_id));
        }
        if let Some(u) = units.iter().find(|u| u.area_centi_m2 == 0) {
            return Err(ElectorateError::ZeroArea(u.unit_id));
        }
        let unit_count = units.len();
        // Stable: each voter's unit ids stay ascending.
        units.sort_by(|a, b| a.owner.cmp(&b.owner));
        let mut voters: Vec<Voter> = Vec::new();
        let mut total: u64 = 0;
        for unit in units {
            total = total
                .checked_add(unit.area_centi_m2)
                .ok_or(ElectorateError::AreaOverflow)?;
            match voters.last_mut() {
                Some(v) if v.owner == unit.owner => {
                    v.area_centi_m2 += unit.area_centi_m2;
                    v.unit_ids.push(unit.unit_id);
                }
                _ => voters.push(Voter {
                    owner: unit.owner,
                    area_centi_m2: unit.area_centi_m2,
                    unit_ids: vec![unit.unit_id],
                }),
            }
        }
        Ok(Electorate {
            voters,
            total_area_centi_m2: total,
            unit_count,
        })
    }

    /// The voting owners, sorted by owner group.
    pub fn voters(&self) -> &[Voter] {
        &self.voters
    }

    /// The total headcount: the number of distinct voting owners.
    pub fn headcount(&self) -> u64 {
        self.voters.len() as u64
    }

    /// The total exclusive area.
    pub fn total_area_centi_m2(&self) -> u64 {
        self.total_area_centi_m2
    }

    pub fn unit_count(&self) -> usize {
        self.unit_count
    }

    /// The position of a voter in [`Electorate::voters`].
    pub fn position(&self, owner: &OwnerGroup) -> Option<usize> {
        self.voters.binary_search_by(|v| v.owner.cmp(owner)).ok()
    }

    pub fn voter(&self, owner: &OwnerGroup) -> Option<&Voter> {
        self.position(owner).map(|i| &self.voters[i])
    }

    /// The voting owners that a person or company belongs to: the groups it
    /// may cast a ballot for.
    pub fn groups_of(&self, key: &OwnerKey) -> impl Iterator<Item = &Voter> {
        let key = key.clone();
        self.voters.iter().filter(move |v| v.owner.contains(&key))
    }
}

/// A ballot's choice.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    For,
    Against,
    Abstain,
}

impl Choice {
    pub const ALL: [Choice; 3] = [Choice::For, Choice::Against, Choice::Abstain];

    pub fn as_str(self) -> &'static str {
        match self {
            Choice::For => "for",
            Choice::Against => "against",
            Choice::Abstain => "abstain",
        }
    }

    fn code(self) -> u8 {
        match self {
            Choice::For => 1,
            Choice::Against => 2,
            Choice::Abstain => 3,
        }
    }
}

/// Why a ballot is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BallotError {
    #[error("the voter is not in the vote's electorate")]
    NotInElectorate,
    #[error("the vote is closed")]
    Closed,
}

/// Why a vote cannot be tallied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TallyError {
    #[error("the vote is still open")]
    StillOpen,
}

/// Whether owners who did not vote are counted with the majority; a
/// per-compound setting from its covenant or rules of procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeemedVotes {
    #[default]
    Off,
    /// Non-voters count with the majority of cast ballots (see the module
    /// documentation for what the majority is).
    FollowMajority,
}

/// The ballots of one vote: one current choice per voter.
#[derive(Debug, Clone)]
pub struct BallotBox {
    electorate: Electorate,
    choices: Vec<Option<Choice>>,
    closed: bool,
}

impl BallotBox {
    pub fn open(electorate: Electorate) -> BallotBox {
        let choices = vec![None; electorate.voters.len()];
        BallotBox {
            electorate,
            choices,
            closed: false,
        }
    }

    pub fn electorate(&self) -> &Electorate {
        &self.electorate
    }

    /// Records a voter's ballot for all of its units, replacing any earlier
    /// one; returns the choice it replaced.
    pub fn cast(
        &mut self,
        voter: &OwnerGroup,
        choice: Choice,
    ) -> Result<Option<Choice>, BallotError> {
        if self.closed {
            return Err(BallotError::Closed);
        }
        let i = self
            .electorate
            .position(voter)
            .ok_or(BallotError::NotInElectorate)?;
        Ok(self.choices[i].replace(choice))
    }

    /// The voter's current choice, if it has cast a ballot.
    pub fn choice_of(&self, voter: &OwnerGroup) -> Option<Choice> {
        self.electorate
            .position(voter)
            .and_then(|i| self.choices[i])
    }

    /// Closes the box: no more ballots.
    pub fn close(&mut self) {
        self.closed = true;
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The result of a closed vote on `matter`.
    pub fn tally(&self, matter: Matter, deemed: DeemedVotes) -> Result<Tally, TallyError> {
        if !self.closed {
            return Err(TallyError::StillOpen);
        }
        let mut cast = Counts::default();
        for (voter, choice) in self.electorate.voters.iter().zip(&self.choices) {
            if let Some(choice) = choice {
                cast.add(*choice, voter.area_centi_m2, 1);
            }
        }
        let total = Count {
            area_centi_m2: self.electorate.total_area_centi_m2,
            heads: self.electorate.headcount(),
        };
        let deemed = match deemed {
            DeemedVotes::Off => None,
            DeemedVotes::FollowMajority => Some(Deemed::follow_majority(matter, total, &cast)),
        };
        Ok(Tally {
            matter,
            total,
            cast: Assessment::new(matter, total, cast),
            deemed,
        })
    }
}

/// An area and a headcount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Count {
    pub area_centi_m2: u64,
    pub heads: u64,
}

/// Area and headcount by choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Counts {
    #[serde(rename = "for")]
    pub for_: Count,
    pub against: Count,
    pub abstain: Count,
}

impl Counts {
    pub fn get(&self, choice: Choice) -> Count {
        match choice {
            Choice::For => self.for_,
            Choice::Against => self.against,
            Choice::Abstain => self.abstain,
        }
    }

    fn add(&mut self, choice: Choice, area_centi_m2: u64, heads: u64) {
        let count = match choice {
            Choice::For => &mut self.for_,
            Choice::Against => &mut self.against,
            Choice::Abstain => &mut self.abstain,
        };
        count.area_centi_m2 += area_centi_m2;
        count.heads += heads;
    }

    /// Everyone who took part, abstainers included.
    pub fn participating(&self) -> Count {
        Count {
            area_centi_m2: self.for_.area_centi_m2
                + self.against.area_centi_m2
                + self.abstain.area_centi_m2,
            heads: self.for_.heads + self.against.heads + self.abstain.heads,
        }
    }

    /// The choice that leads every other on both area and headcount,
    /// strictly; none on a tie or a split.
    pub fn majority(&self) -> Option<Choice> {
        Choice::ALL.into_iter().find(|&c| {
            let lead = self.get(c);
            Choice::ALL.into_iter().filter(|&o| o != c).all(|o| {
                let other = self.get(o);
                lead.area_centi_m2 > other.area_centi_m2 && lead.heads > other.heads
            })
        })
    }
}

/// A figure as numerator over denominator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Fraction {
    pub numerator: u64,
    pub denominator: u64,
}

impl Fraction {
    pub fn new(numerator: u64, denominator: u64) -> Fraction {
        Fraction {
            numerator,
            denominator,
        }
    }

    /// The fraction as a percentage with two decimals, rounded half up:
    /// 2/3 → "66.67", 1/8 → "12.50", 1/20000 → "0.01". A zero denominator
    /// (nobody took part) reads "0.00".
    ///
    /// For display only: the tests compare the exact fractions, so 6666/10000
    /// shows "66.66" and fails two thirds, 66665/100000 shows "66.67" and still
    /// fails, and 50001/100000 shows "50.00" and is more than half.
    pub fn percent(&self) -> String {
        if self.denominator == 0 {
            return "0.00".to_string();
        }
        let (n, d) = (u128::from(self.numerator), u128::from(self.denominator));
        // Hundredths of a per cent, rounded half up: floor(10000·n/d + 1/2).
        let hundredths = (20_000 * n + d) / (2 * d);
        format!("{}.{:02}", hundredths / 100, hundredths % 100)
    }
}

impl fmt::Display for Fraction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.numerator, self.denominator)
    }
}

/// The thresholds of the law.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Threshold {
    /// "三分之二以上": two thirds or more.
    AtLeastTwoThirds,
    /// "四分之三以上": three quarters or more.
    AtLeastThreeQuarters,
    /// "过半数": more than half.
    MoreThanHalf,
}

impl Threshold {
    /// Whether the fraction meets the threshold; never with a zero
    /// denominator.
    pub fn met_by(self, f: Fraction) -> bool {
        if f.denominator == 0 {
            return false;
        }
        let (n, d) = (u128::from(f.numerator), u128::from(f.denominator));
        match self {
            Threshold::AtLeastTwoThirds => 3 * n >= 2 * d,
            Threshold::AtLeastThreeQuarters => 4 * n >= 3 * d,
            Threshold::MoreThanHalf => 2 * n > d,
        }
    }
}

/// One of the four tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Check {
    pub fraction: Fraction,
    /// [`Fraction::percent`]: for display, the test uses the fraction.
    pub percent: String,
    pub threshold: Threshold,
    pub passed: bool,
}

impl Check {
    fn new(fraction: Fraction, threshold: Threshold) -> Check {
        Check {
            fraction,
            percent: fraction.percent(),
            threshold,
            passed: threshold.met_by(fraction),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Passed,
    /// Too few took part; said first when both participation and approval
    /// fail.
    FailedParticipation,
    FailedApproval,
}

/// The four tests on one set of counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Assessment {
    pub counts: Counts,
    pub participating: Count,
    /// Participating area over the total area.
    pub participation_area: Check,
    /// Participating heads over the total headcount.
    pub participation_heads: Check,
    /// Approving area over the participating area.
    pub approval_area: Check,
    /// Approving heads over the participating heads.
    pub approval_heads: Check,
    pub outcome: Outcome,
}

impl Assessment {
    fn new(matter: Matter, total: Count, counts: Counts) -> Assessment {
        let participating = counts.participating();
        let approval = matter.approval_threshold();
        let participation_area = Check::new(
            Fraction::new(participating.area_centi_m2, total.area_centi_m2),
            Threshold::AtLeastTwoThirds,
        );
        let participation_heads = Check::new(
            Fraction::new(participating.heads, total.heads),
            Threshold::AtLeastTwoThirds,
        );
        let approval_area = Check::new(
            Fraction::new(counts.for_.area_centi_m2, participating.area_centi_m2),
            approval,
        );
        let approval_heads = Check::new(
            Fraction::new(counts.for_.heads, participating.heads),
            approval,
        );
        let outcome = if !(participation_area.passed && participation_heads.passed) {
            Outcome::FailedParticipation
        } else if !(approval_area.passed && approval_heads.passed) {
            Outcome::FailedApproval
        } else {
            Outcome::Passed
        };
        Assessment {
            counts,
            participating,
            participation_area,
            participation_heads,
            approval_area,
            approval_heads,
            outcome,
        }
    }
}

/// The non-voters deemed to follow the majority, and the result with them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Deemed {
    /// The majority of cast ballots; `None` when no choice leads on both
    /// area and headcount, and then nobody is deemed.
    pub choice: Option<Choice>,
    /// The non-voters counted in `choice` (zero when `choice` is `None`).
    pub count: Count,
    /// The four tests on cast and deemed votes together.
    pub assessment: Assessment,
}

impl Deemed {
    fn follow_majority(matter: Matter, total: Count, cast: &Counts) -> Deemed {
        let choice = cast.majority();
        let participating = cast.participating();
        let mut counts = *cast;
        let count = match choice {
            Some(choice) => {
                let count = Count {
                    area_centi_m2: total.area_centi_m2 - participating.area_centi_m2,
                    heads: total.heads - participating.heads,
                };
                counts.add(choice, count.area_centi_m2, count.heads);
                count
            }
            None => Count::default(),
        };
        Deemed {
            choice,
            count,
            assessment: Assessment::new(matter, total, counts),
        }
    }
}

/// The result of a closed vote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tally {
    pub matter: Matter,
    /// The total area and headcount of the electorate.
    pub total: Count,
    /// The cast ballots alone.
    pub cast: Assessment,
    /// Present when the compound counts deemed votes.
    pub deemed: Option<Deemed>,
}

impl Tally {
    /// The outcome that decides: with the deemed votes when the compound
    /// counts them, else of the cast ballots.
    pub fn outcome(&self) -> Outcome {
        match &self.deemed {
            Some(d) => d.assessment.outcome,
            None => self.cast.outcome,
        }
    }
}

// ---------------------------------------------------------------------------
// The ballot log

/// The hash before the first record of a log.
pub const GENESIS: [u8; 32] = [0; 32];

/// One entry of a vote's ballot log. Sequence numbers start at 1 and have no
/// gaps; the timestamp is in seconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BallotRecord {
    pub vote_id: i64,
    pub voter: OwnerGroup,
    pub choice: Choice,
    pub sequence: u64,
    pub cast_at: i64,
    /// Random bytes drawn for this ballot. Without them every field could be
    /// guessed (a few thousand owners, three choices, the second of casting),
    /// and anyone who sees the chain's head could find out who voted how by
    /// trying each guess.
    pub nonce: [u8; 16],
}

impl BallotRecord {
    /// The canonical bytes of the record, which the chain hashes:
    ///
    /// ```text
    /// "jinlin-ballot-v2"  16 bytes
    /// vote_id             i64, big-endian
    /// owner count         u32, big-endian, then per owner in group order:
    ///   0x01 person id    i64, big-endian
    ///   0x02 company      u32 byte length, big-endian, then UTF-8
    ///   0x03 developer
    /// choice              u8: 1 for, 2 against, 3 abstain
    /// sequence            u64, big-endian
    /// cast_at             i64, big-endian
    /// nonce               16 bytes
    /// ```
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(80);
        out.extend_from_slice(b"jinlin-ballot-v2");
        out.extend_from_slice(&self.vote_id.to_be_bytes());
        write_group(&mut out, &self.voter);
        out.push(self.choice.code());
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.cast_at.to_be_bytes());
        out.extend_from_slice(&self.nonce);
        out
    }
}

/// An owner group's bytes: the count, then each owner (see
/// [`BallotRecord::canonical_bytes`]).
fn write_group(out: &mut Vec<u8>, group: &OwnerGroup) {
    out.extend_from_slice(&(group.keys().len() as u32).to_be_bytes());
    for key in group.keys() {
        match key {
            OwnerKey::Person(id) => {
                out.push(1);
                out.extend_from_slice(&id.to_be_bytes());
            }
            OwnerKey::Company(name) => {
                out.push(2);
                out.extend_from_slice(&(name.len() as u32).to_be_bytes());
                out.extend_from_slice(name.as_bytes());
            }
            OwnerKey::Developer => out.push(3),
        }
    }
}

/// What a vote is about and who may vote in it, fixed when it opens. Its
/// hash ([`VoteHeader::opening_hash`]) starts the ballot chain, so changing
/// an area, an owner, the matter, the deemed-votes setting or the closing
/// time after the opening breaks every ballot's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoteHeader {
    pub vote_id: i64,
    pub matter: Matter,
    pub deemed: DeemedVotes,
    /// Seconds since the Unix epoch.
    pub opened_at: i64,
    pub closes_at: i64,
}

impl VoteHeader {
    /// SHA-256 of:
    ///
    /// ```text
    /// "jinlin-vote-v1"    14 bytes
    /// vote_id             i64, big-endian
    /// matter              u8 (1–9)
    /// deemed              u8: 0 off, 1 follow the majority
    /// opened_at           i64, big-endian
    /// closes_at           i64, big-endian
    /// unit count          u64, big-endian, then per unit by ascending id:
    ///   unit_id           i64, big-endian
    ///   area              u64, big-endian (hundredths of m²)
    ///   owner group       as in a ballot
    /// ```
    pub fn opening_hash(&self, units: &[Unit]) -> [u8; 32] {
        let mut sorted: Vec<&Unit> = units.iter().collect();
        sorted.sort_unstable_by_key(|u| u.unit_id);
        let mut out = Vec::with_capacity(64 + sorted.len() * 40);
        out.extend_from_slice(b"jinlin-vote-v1");
        out.extend_from_slice(&self.vote_id.to_be_bytes());
        out.push(self.matter.number());
        out.push(match self.deemed {
            DeemedVotes::Off => 0,
            DeemedVotes::FollowMajority => 1,
        });
        out.extend_from_slice(&self.opened_at.to_be_bytes());
        out.extend_from_slice(&self.closes_at.to_be_bytes());
        out.extend_from_slice(&(sorted.len() as u64).to_be_bytes());
        for unit in sorted {
            out.extend_from_slice(&unit.unit_id.to_be_bytes());
            out.extend_from_slice(&unit.area_centi_m2.to_be_bytes());
            write_group(&mut out, &unit.owner);
        }
        Sha256::digest(&out).into()
    }
}

/// SHA-256 of the previous hash followed by the record's bytes.
pub fn chain_hash(prev: &[u8; 32], record_bytes: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(prev);
    hasher.update(record_bytes);
    hasher.finalize().into()
}

/// A ballot record with the chain hash that seals it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedBallot {
    pub record: BallotRecord,
    pub hash: [u8; 32],
}

impl LoggedBallot {
    /// Seals `record` after the entry whose hash is `prev` ([`GENESIS`] for
    /// the first).
    pub fn seal(prev: &[u8; 32], record: BallotRecord) -> LoggedBallot {
        let hash = chain_hash(prev, &record.canonical_bytes());
        LoggedBallot { record, hash }
    }
}

/// The first entry of a log that does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("ballot log entry {index}: {fault}")]
pub struct ChainError {
    pub index: usize,
    pub fault: ChainFault,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChainFault {
    #[error("the hash does not match the record and the previous hash")]
    Hash,
    #[error("the sequence number is not the entry's position")]
    Sequence,
    #[error("the record belongs to another vote")]
    Vote,
}

/// Checks a vote's log from its first entry: every hash, the sequence
/// numbers 1, 2, 3, … and one vote id throughout.
pub fn verify_chain(records: &[LoggedBallot]) -> Result<(), ChainError> {
    verify_chain_from(&GENESIS, records)
}

/// [`verify_chain`] for a log whose first entry follows `start` (a vote's
/// [`VoteHeader::opening_hash`]).
pub fn verify_chain_from(start: &[u8; 32], records: &[LoggedBallot]) -> Result<(), ChainError> {
    let mut prev = *start;
    for (index, entry) in records.iter().enumerate() {
        let fault = if entry.record.vote_id != records[0].record.vote_id {
            Some(ChainFault::Vote)
        } else if entry.record.sequence != index as u64 + 1 {
            Some(ChainFault::Sequence)
        } else if entry.hash != chain_hash(&prev, &entry.record.canonical_bytes()) {
            Some(ChainFault::Hash)
        } else {
            None
        };
        if let Some(fault) = fault {
            return Err(ChainError { index, fault });
        }
        prev = entry.hash;
    }
    Ok(())
}
