//! The pure part of seeding: from the communities of the tree and a seed,
//! decide every compound, building, entrance, dwelling, person, owner,
//! resident and account, with no I/O.
//!
//! One ChaCha8 stream, seeded with the seed, drives every choice, and every
//! choice draws integers only (no floating point), so a seed gives the same
//! plan on every machine. Counts are budgeted rather than left to chance:
//! the scale fixes the number of compounds for the number of communities
//! and the number of dwellings for the number of compounds, and the draws
//! only decide how they are spread.
//!
//! Rows are numbered by their index in the plan; the I/O part turns indexes
//! into ids ([`Ids`]).

use std::collections::HashSet;

use jinlin_kernel::auth::Role;
use jinlin_people::rules::id_check_character;
use jinlin_places::rules::{AreaSource, CompoundType, TownArea};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

use crate::words::*;

/// Ages are counted back from this year, so every birth date lies in the
/// past whenever the plan is made.
pub const REFERENCE_YEAR: u32 = 2024;

/// A community of the imported tree, as the plan needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Community {
    pub id: i64,
    /// 12-digit division code.
    pub code: String,
    pub name: String,
    pub street_id: Option<i64>,
    /// 6-digit district code.
    pub district_code: String,
}

impl Community {
    /// Villages (村) have fewer compounds, more of them resettlement.
    pub fn is_village(&self) -> bool {
        self.name.ends_with('村') || self.name.ends_with("村委会")
    }

    /// The name without 社区 / 村委会 / 村 / 居委会, for compound names.
    fn core_name(&self) -> &str {
        let mut core = self.name.as_str();
        for suffix in ["社区居委会", "居委会", "村委会", "社区", "村"] {
            if let Some(stripped) = core.strip_suffix(suffix) {
                core = stripped;
                break;
            }
        }
        core
    }

    /// The 9-digit code of the community's street.
    pub fn street_code(&self) -> &str {
        &self.code[..9.min(self.code.len())]
    }
}

/// How dense a scale is: `compounds` per `per_communities` communities, and
/// `dwellings_per_compound` on average.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub compounds: u32,
    pub per_communities: u32,
    pub dwellings_per_compound: u32,
}

impl Shape {
    /// The number of compounds planned for `communities` communities.
    pub fn compounds_for(&self, communities: usize) -> u64 {
        let per = u64::from(self.per_communities.max(1));
        (communities as u64 * u64::from(self.compounds) + per / 2) / per
    }

    /// The number of dwellings aimed at for `communities` communities.
    pub fn dwellings_for(&self, communities: usize) -> u64 {
        self.compounds_for(communities) * u64::from(self.dwellings_per_compound)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// 3 compounds per community of a dozen dwellings each: a quick demo.
    Small,
    /// Cangshan (350104) as it is: about 1,000 compounds and 400,000
    /// dwellings on its 210 communities.
    District,
    /// Fuzhou (3501): about 12,000 compounds and 3,000,000 dwellings on its
    /// 3,022 communities.
    City,
    Custom(Shape),
}

impl Scale {
    pub fn shape(self) -> Shape {
        match self {
            Scale::Small => Shape {
                compounds: 3,
                per_communities: 1,
                dwellings_per_compound: 12,
            },
            Scale::District => Shape {
                compounds: 1000,
                per_communities: 210,
                dwellings_per_compound: 400,
            },
            Scale::City => Shape {
                compounds: 12_000,
                per_communities: 3022,
                dwellings_per_compound: 250,
            },
            Scale::Custom(shape) => shape,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Scale::Small => "small",
            Scale::District => "district",
            Scale::City => "city",
            Scale::Custom(_) => "custom",
        }
    }

    pub fn parse(s: &str) -> Option<Scale> {
        match s {
            "small" => Some(Scale::Small),
            "district" => Some(Scale::District),
            "city" => Some(Scale::City),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compound {
    /// Index into [`Plan::communities`].
    pub community: u32,
    pub name: String,
    pub compound_type: CompoundType,
    pub town_area: TownArea,
    pub address: String,
    pub owners_committee: Option<String>,
    pub property_company: Option<String>,
    /// Holds the unsold units.
    pub developer: String,
    /// A person-owned dwelling and its owner, for a resident account.
    pub resident: Option<(u32, u32)>,
    /// A party member's dwelling and the member, for a party member account.
    pub member: Option<(u32, u32)>,
    /// Secretary, committee member and property staff, for display names.
    pub staff: [String; 3],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Building {
    pub compound: u32,
    pub number: u16,
}

impl Building {
    pub fn name(&self) -> String {
        format!("{}号楼", self.number)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entrance {
    pub compound: u32,
    pub building: u32,
    pub number: u16,
}

impl Entrance {
    pub fn name(&self) -> String {
        format!("{}单元", self.number)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dwelling {
    pub compound: u32,
    pub building: u32,
    pub entrance: u32,
    pub floor: u8,
    pub room: u8,
    /// Exclusive area in hundredths of a square metre.
    pub area_centi_m2: u32,
    pub area_source: AreaSource,
}

impl Dwelling {
    /// Floor and room: floor 12, room 1 → "1201".
    pub fn name(&self) -> String {
        format!("{}{:02}", self.floor, self.room)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Index into [`Plan::communities`] (where the person was met first).
    pub community: u32,
    pub name: String,
    pub female: bool,
    /// An 11-digit mainland mobile.
    pub phone: Option<u64>,
    /// 18 ASCII characters with a correct check character.
    pub id_number: Option<[u8; 18]>,
    pub party_member: bool,
    /// Index into [`EMPLOYERS`] (party members only).
    pub employer: Option<u16>,
}

impl Person {
    pub fn phone_text(&self) -> Option<String> {
        self.phone.map(|p| p.to_string())
    }

    pub fn id_number_text(&self) -> Option<&str> {
        self.id_number
            .as_ref()
            .map(|n| std::str::from_utf8(n).expect("ID numbers are ASCII"))
    }

    pub fn employer_name(&self) -> Option<&'static str> {
        self.employer.map(|e| EMPLOYERS[usize::from(e)])
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    /// Index into [`Plan::people`].
    Person(u32),
    /// A company: the two brand syllables and the kind (see [`company_name`]).
    Company([u8; 3]),
    /// The compound's developer (unsold units).
    Developer,
}

impl Holder {
    pub fn kind(&self) -> &'static str {
        match self {
            Holder::Person(_) => "person",
            Holder::Company(_) => "company",
            Holder::Developer => "developer",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub dwelling: u32,
    pub holder: Holder,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    Tenant,
    Family,
}

impl Relation {
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Tenant => "tenant",
            Relation::Family => "family",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resident {
    pub dwelling: u32,
    pub person: u32,
    pub relation: Relation,
}

/// Where an account's role is granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anchor {
    /// 6-digit district code.
    District(String),
    /// The street's place id and 9-digit code.
    Street { id: i64, code: String },
    /// Index into [`Plan::communities`].
    Community(u32),
    /// Index into [`Plan::compounds`].
    Compound(u32),
    /// Index into [`Plan::dwellings`].
    Dwelling(u32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub role: Role,
    pub anchor: Anchor,
    pub display_name: String,
    /// Index into [`Plan::people`].
    pub person: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// Sorted by code.
    pub communities: Vec<Community>,
    pub compounds: Vec<Compound>,
    pub buildings: Vec<Building>,
    pub entrances: Vec<Entrance>,
    pub dwellings: Vec<Dwelling>,
    pub people: Vec<Person>,
    pub owners: Vec<Owner>,
    pub residents: Vec<Resident>,
    pub accounts: Vec<Account>,
}

/// The first id of each kind of row; the row at index `i` gets `first + i`.
/// Places are numbered compounds, then buildings, entrances, dwellings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ids {
    pub compound: i64,
    pub building: i64,
    pub entrance: i64,
    pub dwelling: i64,
    pub person: i64,
    pub owner: i64,
    pub resident: i64,
    pub account: i64,
    pub grant: i64,
}

/// The largest id already used in each table (0 when empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MaxIds {
    pub place: i64,
    pub person: i64,
    pub owner: i64,
    pub resident: i64,
    pub account: i64,
    pub grant: i64,
}

impl Ids {
    pub fn after(max: MaxIds, plan: &Plan) -> Ids {
        let compound = max.place + 1;
        let building = compound + plan.compounds.len() as i64;
        let entrance = building + plan.buildings.len() as i64;
        let dwelling = entrance + plan.entrances.len() as i64;
        Ids {
            compound,
            building,
            entrance,
            dwelling,
            person: max.person + 1,
            owner: max.owner + 1,
            resident: max.resident + 1,
            account: max.account + 1,
            grant: max.grant + 1,
        }
    }
}

impl Plan {
    /// The district codes of the plan's communities, in order.
    pub fn district_codes(&self) -> Vec<&str> {
        let mut codes: Vec<&str> = self
            .communities
            .iter()
            .map(|c| c.district_code.as_str())
            .collect();
        codes.dedup();
        codes
    }

    /// The account's username: predictable from the tree and the ids.
    ///
    /// `district` and `agency` (with `-<district code>` when the plan spans
    /// several districts), `street-<9-digit code>`, `worker-<12-digit
    /// code>`, `secretary-`, `committee-` and `property-<compound id>`,
    /// `resident-` and `member-<dwelling id>`.
    pub fn username(&self, account: &Account, ids: &Ids) -> String {
        let several = self.district_codes().len() > 1;
        match (&account.anchor, account.role) {
            (Anchor::District(code), role) => {
                let base = if role == Role::AgencyAdmin {
                    "agency"
                } else {
                    "district"
                };
                if several {
                    format!("{base}-{code}")
                } else {
                    base.to_string()
                }
            }
            (Anchor::Street { code, .. }, _) => format!("street-{code}"),
            (Anchor::Community(c), _) => {
                format!("worker-{}", self.communities[*c as usize].code)
            }
            (Anchor::Compound(c), role) => {
                let base = match role {
                    Role::CompoundSecretary => "secretary",
                    Role::OwnersCommittee => "committee",
                    _ => "property",
                };
                format!("{base}-{}", ids.compound + i64::from(*c))
            }
            (Anchor::Dwelling(d), role) => {
                let base = if role == Role::PartyMember {
                    "member"
                } else {
                    "resident"
                };
                format!("{base}-{}", ids.dwelling + i64::from(*d))
            }
        }
    }

    /// The district code an account's grant belongs to.
    pub fn anchor_district<'a>(&'a self, anchor: &'a Anchor) -> &'a str {
        match anchor {
            Anchor::District(code) => code,
            Anchor::Street { code, .. } => &code[..6],
            Anchor::Community(c) => &self.communities[*c as usize].district_code,
            Anchor::Compound(c) => self.compound_district(*c),
            Anchor::Dwelling(d) => self.compound_district(self.dwellings[*d as usize].compound),
        }
    }

    pub fn compound_district(&self, compound: u32) -> &str {
        let community = self.compounds[compound as usize].community;
        &self.communities[community as usize].district_code
    }

    /// Whether each dwelling has an owner or resident with a phone on file:
    /// the reach a dwelling starts with before any contact group holds it
    /// (`place.reach` 1, else 0). Writing it with the dwelling spares the
    /// database raising it once per dwelling as the owners arrive.
    pub fn phoned_dwellings(&self) -> Vec<bool> {
        let mut phoned = vec![false; self.dwellings.len()];
        let has_phone = |p: u32| self.people[p as usize].phone.is_some();
        for o in &self.owners {
            if let Holder::Person(p) = o.holder {
                phoned[o.dwelling as usize] |= has_phone(p);
            }
        }
        for r in &self.residents {
            phoned[r.dwelling as usize] |= has_phone(r.person);
        }
        phoned
    }

    /// The company name of a company or developer owner.
    pub fn company_name(&self, owner: &Owner) -> Option<String> {
        match owner.holder {
            Holder::Person(_) => None,
            Holder::Company(parts) => Some(company_name(parts)),
            Holder::Developer => {
                let compound = self.dwellings[owner.dwelling as usize].compound;
                Some(self.compounds[compound as usize].developer.clone())
            }
        }
    }
}

/// A company that holds flats: 福州 + two brand syllables + a kind.
pub fn company_name(parts: [u8; 3]) -> String {
    format!(
        "福州{}{}{}",
        BRANDS[usize::from(parts[0]) % BRANDS.len()],
        BRANDS[usize::from(parts[1]) % BRANDS.len()],
        COMPANY_KINDS[usize::from(parts[2]) % COMPANY_KINDS.len()]
    )
}

/// Integer draws from one ChaCha8 stream.
struct Rng(ChaCha8Rng);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(ChaCha8Rng::seed_from_u64(seed))
    }

    /// Uniform in `0..n` (Lemire's method, without bias); `n` > 0.
    fn below(&mut self, n: u32) -> u32 {
        debug_assert!(n > 0);
        let mut m = u64::from(self.0.next_u32()) * u64::from(n);
        if (m as u32) < n {
            let threshold = n.wrapping_neg() % n;
            while (m as u32) < threshold {
                m = u64::from(self.0.next_u32()) * u64::from(n);
            }
        }
        (m >> 32) as u32
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `per_10k` / 10,000.
    fn chance(&mut self, per_10k: u32) -> bool {
        self.below(10_000) < per_10k
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u32) as usize]
    }

    /// An index drawn with the given cumulative weights.
    fn weighted(&mut self, cumulative: &[u64]) -> usize {
        let total = *cumulative.last().expect("weights");
        let x = if total <= u64::from(u32::MAX) {
            u64::from(self.below(total as u32))
        } else {
            self.0.next_u64() % total
        };
        cumulative.partition_point(|&c| c <= x)
    }
}

fn cumulative(weights: impl IntoIterator<Item = u64>) -> Vec<u64> {
    let mut sum = 0;
    weights
        .into_iter()
        .map(|w| {
            sum += w;
            sum
        })
        .collect()
}

/// Shares, in hundredths of a percent, that the plan aims at.
pub mod rates {
    /// Dwellings the developer still holds (unsold).
    pub const DEVELOPER: u32 = 200;
    /// Dwellings a company owns.
    pub const COMPANY: u32 = 100;
    /// Person-owned dwellings whose owner already owns another one here.
    pub const SECOND_HOME: u32 = 300;
    /// Person-owned dwellings with a second person owner (≈10% of all).
    pub const CO_OWNED: u32 = 1031;
    /// Dwellings with residents besides the owners.
    pub const RESIDENTS: u32 = 1500;
    /// Adults who are party members.
    pub const PARTY_MEMBER: u32 = 650;
    /// People with an ID number on record (adults; children: half this).
    pub const ID_NUMBER: u32 = 5500;
}

struct Builder {
    rng: Rng,
    plan: Plan,
    surnames: Vec<u64>,
    used_ids: HashSet<[u8; 17]>,
}

/// Plans the data of `communities` at `scale` from `seed`.
pub fn plan(communities: &[Community], scale: Scale, seed: u64) -> Plan {
    let mut communities = communities.to_vec();
    communities.sort_by(|a, b| a.code.cmp(&b.code));
    communities.dedup_by(|a, b| a.code == b.code);
    let shape = scale.shape();
    let mut b = Builder {
        rng: Rng::new(seed),
        plan: Plan::default(),
        surnames: cumulative(SURNAMES.iter().map(|(_, w)| u64::from(*w))),
        used_ids: HashSet::new(),
    };
    if communities.is_empty() {
        return b.plan;
    }

    // Compounds per community: one each (when there are enough), the rest
    // drawn with urban communities four times as likely as villages.
    let n = communities.len();
    let total = shape.compounds_for(n);
    let mut per = vec![0u32; n];
    let mut rest = total;
    if total >= n as u64 {
        per.fill(1);
        rest -= n as u64;
    }
    let weights = cumulative(
        communities
            .iter()
            .map(|c| if c.is_village() { 1 } else { 4 }),
    );
    for _ in 0..rest {
        per[b.rng.weighted(&weights)] += 1;
    }

    // Each compound's type and size weight, then its share of the dwellings.
    struct Draft {
        community: u32,
        compound_type: CompoundType,
        weight: u64,
    }
    let mut drafts = Vec::with_capacity(total as usize);
    for (ci, community) in communities.iter().enumerate() {
        for _ in 0..per[ci] {
            let roll = b.rng.below(100);
            let compound_type = if community.is_village() {
                match roll {
                    0..60 => CompoundType::Resettlement,
                    60..85 => CompoundType::Old,
                    _ => CompoundType::Commercial,
                }
            } else {
                match roll {
                    0..55 => CompoundType::Commercial,
                    55..70 => CompoundType::Resettlement,
                    _ => CompoundType::Old,
                }
            };
            let base = match compound_type {
                CompoundType::Commercial => 140,
                CompoundType::Resettlement => 110,
                CompoundType::Old => 45,
            };
            let factor = b.rng.range(20, 80) + b.rng.range(20, 80);
            drafts.push(Draft {
                community: ci as u32,
                compound_type,
                weight: u64::from(base * factor),
            });
        }
    }
    let dwellings = shape.dwellings_for(n);
    let weight_sum: u64 = drafts.iter().map(|d| d.weight).sum::<u64>().max(1);
    let smallest = u64::from((shape.dwellings_per_compound / 10).max(4));
    b.plan.communities = communities;

    let mut names: HashSet<String> = HashSet::new();
    let mut last_community = u32::MAX;
    for draft in &drafts {
        if draft.community != last_community {
            names.clear();
            last_community = draft.community;
        }
        let share =
            (u128::from(dwellings) * u128::from(draft.weight) / u128::from(weight_sum)) as u64;
        b.compound(
            draft.community,
            draft.compound_type,
            share.max(smallest) as u32,
            &mut names,
        );
    }
    b.accounts();
    b.plan
}

impl Builder {
    fn brand(&mut self) -> String {
        let first = *self.rng.pick(BRANDS);
        let mut second = *self.rng.pick(BRANDS);
        while second == first {
            second = *self.rng.pick(BRANDS);
        }
        format!("{first}{second}")
    }

    fn compound_name(&mut self, community: u32, compound_type: CompoundType) -> String {
        let core = self.plan.communities[community as usize]
            .core_name()
            .to_string();
        match compound_type {
            CompoundType::Commercial => format!(
                "{}{}",
                self.rng.pick(COMPOUND_PREFIXES),
                self.rng.pick(COMMERCIAL_SUFFIXES)
            ),
            CompoundType::Resettlement => {
                let head = if !core.is_empty() && self.rng.chance(7000) {
                    core
                } else {
                    self.rng.pick(COMPOUND_PREFIXES).to_string()
                };
                format!("{head}{}", self.rng.pick(RESETTLEMENT_SUFFIXES))
            }
            CompoundType::Old => {
                if self.rng.chance(6000) {
                    format!(
                        "{}{}",
                        self.rng.pick(WORK_UNITS),
                        self.rng.pick(OLD_SUFFIXES)
                    )
                } else {
                    let road = self.rng.pick(ROADS);
                    let road = road
                        .trim_end_matches("大道")
                        .trim_end_matches('路')
                        .trim_end_matches('街');
                    let tail = if self.rng.chance(5000) {
                        "新村"
                    } else {
                        "小区"
                    };
                    format!("{road}{tail}")
                }
            }
        }
    }

    fn compound(
        &mut self,
        community: u32,
        compound_type: CompoundType,
        target: u32,
        names: &mut HashSet<String>,
    ) {
        let index = self.plan.compounds.len() as u32;
        let mut name = self.compound_name(community, compound_type);
        for _ in 0..8 {
            if !names.contains(&name) {
                break;
            }
            name = self.compound_name(community, compound_type);
        }
        let base = name.clone();
        let mut phase = 2;
        while names.contains(&name) {
            name = format!("{base}{}期", chinese_number(phase));
            phase += 1;
        }
        names.insert(name.clone());

        let town_area = {
            let new_share = match compound_type {
                CompoundType::Commercial => 7500,
                CompoundType::Resettlement => 7000,
                CompoundType::Old => 1500,
            };
            if self.rng.chance(new_share) {
                TownArea::New
            } else {
                TownArea::Old
            }
        };
        let address = format!("{}{}号", self.rng.pick(ROADS), self.rng.range(1, 399));
        let committee_share = match compound_type {
            CompoundType::Commercial => 7000,
            CompoundType::Resettlement => 4000,
            CompoundType::Old => 2000,
        };
        let owners_committee = self
            .rng
            .chance(committee_share)
            .then(|| format!("{name}业主委员会"));
        let company_share = match compound_type {
            CompoundType::Commercial => 10_000,
            CompoundType::Resettlement => 8500,
            CompoundType::Old => 5500,
        };
        let property_company = if self.rng.chance(company_share) {
            Some(format!("福州{}物业服务有限公司", self.brand()))
        } else {
            None
        };
        let developer = match compound_type {
            CompoundType::Resettlement => format!("福州{}城市建设投资有限公司", self.brand()),
            _ if self.rng.chance(5000) => format!("福州{}置业有限公司", self.brand()),
            _ => format!("福州{}房地产开发有限公司", self.brand()),
        };
        let staff = [
            self.person_name(None, None),
            self.person_name(None, None),
            self.person_name(None, None),
        ];
        self.plan.compounds.push(Compound {
            community,
            name,
            compound_type,
            town_area,
            address,
            owners_committee,
            property_company,
            developer,
            resident: None,
            member: None,
            staff,
        });

        // Buildings of one layout each, filled entrance by entrance, floor
        // by floor, until the compound has its share of dwellings.
        let (floors, rooms, entrances, areas) = match compound_type {
            CompoundType::Old => ((5, 7), (2, 3), (1, 4), (45, 95)),
            CompoundType::Resettlement => ((11, 26), (3, 4), (1, 2), (60, 125)),
            CompoundType::Commercial if self.rng.chance(6000) => {
                ((18, 33), (2, 4), (1, 2), (85, 180))
            }
            CompoundType::Commercial => ((8, 17), (2, 3), (1, 3), (80, 160)),
        };
        let mut made = 0u32;
        let mut number = 0u16;
        let mut owners_here: Vec<(u32, u8)> = Vec::new();
        while made < target {
            number += 1;
            let building = self.plan.buildings.len() as u32;
            self.plan.buildings.push(Building {
                compound: index,
                number,
            });
            let floor_count = self.rng.range(floors.0, floors.1) as u8;
            let room_count = self.rng.range(rooms.0, rooms.1) as u8;
            let entrance_count = self.rng.range(entrances.0, entrances.1) as u16;
            let layout: Vec<u32> = (0..room_count)
                .map(|_| self.rng.range(areas.0 * 100, areas.1 * 100))
                .collect();
            for e in 1..=entrance_count {
                if made >= target {
                    break;
                }
                let entrance = self.plan.entrances.len() as u32;
                self.plan.entrances.push(Entrance {
                    compound: index,
                    building,
                    number: e,
                });
                for floor in 1..=floor_count {
                    if made >= target {
                        break;
                    }
                    for room in 1..=room_count {
                        let area_source = match self.rng.below(100) {
                            0..85 => AreaSource::Register,
                            85..95 => AreaSource::Survey,
                            _ => AreaSource::Contract,
                        };
                        let dwelling = self.plan.dwellings.len() as u32;
                        self.plan.dwellings.push(Dwelling {
                            compound: index,
                            building,
                            entrance,
                            floor,
                            room,
                            area_centi_m2: layout[usize::from(room - 1)],
                            area_source,
                        });
                        self.people_of(community, index, dwelling, &mut owners_here);
                        made += 1;
                    }
                }
            }
        }
    }

    /// Owners and residents of one dwelling.
    fn people_of(
        &mut self,
        community: u32,
        compound: u32,
        dwelling: u32,
        owners_here: &mut Vec<(u32, u8)>,
    ) {
        let roll = self.rng.below(10_000);
        if roll < rates::DEVELOPER {
            self.plan.owners.push(Owner {
                dwelling,
                holder: Holder::Developer,
            });
            return;
        }
        let mut primary = None;
        if roll < rates::DEVELOPER + rates::COMPANY {
            // Two different brand syllables, then the kind of company.
            let first = self.rng.below(BRANDS.len() as u32);
            let second =
                (first + 1 + self.rng.below(BRANDS.len() as u32 - 1)) % BRANDS.len() as u32;
            let parts = [
                first as u8,
                second as u8,
                self.rng.below(COMPANY_KINDS.len() as u32) as u8,
            ];
            self.plan.owners.push(Owner {
                dwelling,
                holder: Holder::Company(parts),
            });
        } else {
            // The owner: now and then someone who already owns a dwelling
            // here (at most three).
            let reuse = !owners_here.is_empty() && self.rng.chance(rates::SECOND_HOME);
            let owner = if reuse {
                let at = self.rng.below(owners_here.len() as u32) as usize;
                owners_here[at].1 += 1;
                let person = owners_here[at].0;
                if owners_here[at].1 >= 3 {
                    owners_here.swap_remove(at);
                }
                person
            } else {
                let person = self.person(community, (25, 85), None, None);
                owners_here.push((person, 1));
                person
            };
            self.plan.owners.push(Owner {
                dwelling,
                holder: Holder::Person(owner),
            });
            primary = Some(owner);
            if self.rng.chance(rates::CO_OWNED) {
                let female = !self.plan.people[owner as usize].female;
                let co = self.person(community, (25, 85), Some(female), None);
                self.plan.owners.push(Owner {
                    dwelling,
                    holder: Holder::Person(co),
                });
                self.note_member(compound, dwelling, co);
            }
            self.note_member(compound, dwelling, owner);
            let c = &mut self.plan.compounds[compound as usize];
            if c.resident.is_none() && !self.plan.people[owner as usize].party_member {
                c.resident = Some((dwelling, owner));
            }
        }
        if !self.rng.chance(rates::RESIDENTS) {
            return;
        }
        let family = primary.is_some() && self.rng.chance(4500);
        if family {
            let surname = primary.map(|p| surname_of(&self.plan.people[p as usize].name));
            for _ in 0..self.rng.range(1, 2) {
                let ages = if self.rng.chance(5000) {
                    (0, 17)
                } else {
                    (55, 90)
                };
                let person = self.person(community, ages, None, surname.as_deref());
                self.resident(compound, dwelling, person, Relation::Family);
            }
        } else {
            for _ in 0..self.rng.range(1, 3) {
                let person = self.person(community, (18, 60), None, None);
                self.resident(compound, dwelling, person, Relation::Tenant);
            }
        }
    }

    fn resident(&mut self, compound: u32, dwelling: u32, person: u32, relation: Relation) {
        self.plan.residents.push(Resident {
            dwelling,
            person,
            relation,
        });
        self.note_member(compound, dwelling, person);
    }

    fn note_member(&mut self, compound: u32, dwelling: u32, person: u32) {
        let c = &mut self.plan.compounds[compound as usize];
        if c.member.is_none() && self.plan.people[person as usize].party_member {
            c.member = Some((dwelling, person));
        }
    }

    fn person_name(&mut self, female: Option<bool>, surname: Option<&str>) -> String {
        let female = female.unwrap_or_else(|| self.rng.chance(5000));
        let mut name = match surname {
            Some(s) => s.to_string(),
            None => SURNAMES[self.rng.weighted(&self.surnames)].0.to_string(),
        };
        let chars = if female { GIVEN_FEMALE } else { GIVEN_MALE };
        name.push_str(self.rng.pick::<&str>(chars));
        if self.rng.chance(7000) {
            name.push_str(self.rng.pick::<&str>(chars));
        }
        name
    }

    /// A new person aged `ages.0..=ages.1`.
    fn person(
        &mut self,
        community: u32,
        ages: (u32, u32),
        female: Option<bool>,
        surname: Option<&str>,
    ) -> u32 {
        let female = female.unwrap_or_else(|| self.rng.chance(5000));
        let name = self.person_name(Some(female), surname);
        let age = self.rng.range(ages.0, ages.1);
        let adult = age >= 18;
        let phone = (age >= 16 && self.rng.chance(9500)).then(|| {
            let prefix = u64::from(*self.rng.pick(MOBILE_PREFIXES));
            prefix * 100_000_000 + u64::from(self.rng.below(100_000_000))
        });
        let id_share = if adult {
            rates::ID_NUMBER
        } else {
            rates::ID_NUMBER / 2
        };
        let id_number = if self.rng.chance(id_share) {
            let district = &self.plan.communities[community as usize].district_code;
            let region = if self.rng.chance(7000) {
                district.clone()
            } else {
                self.rng.pick(BIRTH_REGIONS).to_string()
            };
            let year = REFERENCE_YEAR - age;
            let month = self.rng.range(1, 12);
            let day = self.rng.range(1, 28);
            let seq = self.rng.below(500) * 2 + u32::from(!female);
            self.id_number(&region, year, month, day, seq)
        } else {
            None
        };
        let party_member = adult && self.rng.chance(rates::PARTY_MEMBER);
        let employer = party_member.then(|| self.rng.below(EMPLOYERS.len() as u32) as u16);
        let index = self.plan.people.len() as u32;
        self.plan.people.push(Person {
            community,
            name,
            female,
            phone,
            id_number,
            party_member,
            employer,
        });
        index
    }

    /// A unique ID number: on a clash the sequence moves on by two (keeping
    /// the sex digit's parity).
    fn id_number(
        &mut self,
        region: &str,
        year: u32,
        month: u32,
        day: u32,
        mut seq: u32,
    ) -> Option<[u8; 18]> {
        for _ in 0..500 {
            let body = format!("{region}{year:04}{month:02}{day:02}{seq:03}");
            let bytes: [u8; 17] = body.as_bytes().try_into().ok()?;
            if self.used_ids.insert(bytes) {
                let check = id_check_character(&body)?;
                let mut out = [0u8; 18];
                out[..17].copy_from_slice(&bytes);
                out[17] = check as u8;
                return Some(out);
            }
            seq = (seq + 2) % 1000;
        }
        None
    }

    fn accounts(&mut self) {
        let mut accounts = Vec::new();
        let districts: Vec<String> = self
            .plan
            .district_codes()
            .into_iter()
            .map(str::to_string)
            .collect();
        for code in &districts {
            for role in [Role::DistrictAdmin, Role::AgencyAdmin] {
                accounts.push(Account {
                    role,
                    anchor: Anchor::District(code.clone()),
                    display_name: self.person_name(None, None),
                    person: None,
                });
            }
        }
        let mut streets: Vec<(i64, String)> = self
            .plan
            .communities
            .iter()
            .filter_map(|c| c.street_id.map(|id| (id, c.street_code().to_string())))
            .collect();
        streets.dedup();
        for (id, code) in streets {
            accounts.push(Account {
                role: Role::StreetAdmin,
                anchor: Anchor::Street { id, code },
                display_name: self.person_name(None, None),
                person: None,
            });
        }
        for c in 0..self.plan.communities.len() as u32 {
            accounts.push(Account {
                role: Role::CommunityWorker,
                anchor: Anchor::Community(c),
                display_name: self.person_name(None, None),
                person: None,
            });
        }
        for (i, compound) in self.plan.compounds.iter().enumerate() {
            let i = i as u32;
            let roles = [
                Role::CompoundSecretary,
                Role::OwnersCommittee,
                Role::PropertyStaff,
            ];
            for (role, name) in roles.into_iter().zip(&compound.staff) {
                accounts.push(Account {
                    role,
                    anchor: Anchor::Compound(i),
                    display_name: name.clone(),
                    person: None,
                });
            }
            for (role, found) in [
                (Role::Resident, compound.resident),
                (Role::PartyMember, compound.member),
            ] {
                if let Some((dwelling, person)) = found {
                    accounts.push(Account {
                        role,
                        anchor: Anchor::Dwelling(dwelling),
                        display_name: self.plan.people[person as usize].name.clone(),
                        person: Some(person),
                    });
                }
            }
        }
        self.plan.accounts = accounts;
    }
}

fn surname_of(name: &str) -> String {
    SURNAMES
        .iter()
        .map(|(s, _)| *s)
        .filter(|s| name.starts_with(s))
        .max_by_key(|s| s.len())
        .unwrap_or("")
        .to_string()
}

fn chinese_number(n: u32) -> String {
    const DIGITS: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    match n {
        0..=9 => DIGITS[n as usize].to_string(),
        10 => "十".to_string(),
        11..=19 => format!("十{}", DIGITS[(n - 10) as usize]),
        _ => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use chrono::NaiveDate;
    use jinlin_people::rules::{IdNumber, Phone, PhoneKind};
    use proptest::prelude::*;

    use super::*;

    /// `n` communities of district 350104 in streets of up to five, every
    /// fourth a village.
    fn communities(n: usize) -> Vec<Community> {
        (0..n)
            .map(|i| {
                let street = i / 5 + 1;
                let code = format!("350104{street:03}{:03}", i % 5 + 1);
                Community {
                    id: 100 + i as i64,
                    code,
                    name: if i % 4 == 3 {
                        format!("第{i}村")
                    } else {
                        format!("第{i}社区")
                    },
                    street_id: Some(10 + street as i64),
                    district_code: "350104".into(),
                }
            })
            .collect()
    }

    fn scale_strategy() -> impl Strategy<Value = Scale> {
        prop_oneof![
            Just(Scale::Small),
            Just(Scale::District),
            Just(Scale::City),
            (1u32..8, 1u32..4, 1u32..60).prop_map(|(compounds, per, dwellings)| {
                Scale::Custom(Shape {
                    compounds,
                    per_communities: per,
                    dwellings_per_compound: dwellings,
                })
            }),
        ]
    }

    fn within_ten_percent(actual: usize, target: u64) -> bool {
        let (actual, target) = (actual as u64, target);
        actual * 10 >= target * 9 && actual * 10 <= target * 11
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn the_same_seed_gives_the_same_plan(
            n in 1usize..10,
            seed in any::<u64>(),
            scale in scale_strategy(),
        ) {
            let input = communities(n);
            let a = plan(&input, scale, seed);
            let mut reversed = input.clone();
            reversed.reverse();
            let b = plan(&reversed, scale, seed);
            prop_assert!(a == b);
        }

        #[test]
        fn every_dwelling_has_an_owner(
            n in 1usize..10,
            seed in any::<u64>(),
            scale in scale_strategy(),
        ) {
            let p = plan(&communities(n), scale, seed);
            let mut owned = vec![false; p.dwellings.len()];
            for o in &p.owners {
                owned[o.dwelling as usize] = true;
            }
            prop_assert!(owned.iter().all(|o| *o));
        }

        #[test]
        fn counts_land_near_the_targets(
            n in 1usize..25,
            seed in any::<u64>(),
            scale in prop_oneof![Just(Scale::District), Just(Scale::City)],
        ) {
            let p = plan(&communities(n), scale, seed);
            let shape = scale.shape();
            prop_assert!(
                within_ten_percent(p.compounds.len(), shape.compounds_for(n)),
                "{} compounds for {}", p.compounds.len(), shape.compounds_for(n)
            );
            prop_assert!(
                within_ten_percent(p.dwellings.len(), shape.dwellings_for(n)),
                "{} dwellings for {}", p.dwellings.len(), shape.dwellings_for(n)
            );
        }

        #[test]
        fn id_numbers_and_phones_parse(n in 1usize..6, seed in any::<u64>()) {
            let today = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
            let p = plan(&communities(n), Scale::District, seed);
            let mut seen = HashSet::new();
            for person in &p.people {
                if let Some(number) = person.id_number_text() {
                    let parsed = IdNumber::parse(number, today);
                    prop_assert!(parsed.is_ok(), "{}: {:?}", number, parsed);
                    prop_assert!(seen.insert(number.to_string()), "{} twice", number);
                    // The sex digit agrees with the name's sex.
                    let odd = (number.as_bytes()[16] - b'0') % 2 == 1;
                    prop_assert_eq!(odd, !person.female);
                }
                if let Some(phone) = person.phone_text() {
                    let parsed = Phone::parse(&phone);
                    prop_assert!(parsed.is_ok(), "{}", phone);
                    prop_assert_eq!(parsed.unwrap().kind(), PhoneKind::Mobile);
                }
            }
        }
    }

    #[test]
    fn a_district_looks_like_a_district() {
        let n = 40;
        let p = plan(&communities(n), Scale::District, 1);
        let dwellings = p.dwellings.len();
        let share = |count: usize, of: usize| count as f64 / of as f64;

        // Tree: every row's parents belong to the same compound.
        for d in &p.dwellings {
            let e = &p.entrances[d.entrance as usize];
            let b = &p.buildings[d.building as usize];
            assert_eq!(e.building, d.building);
            assert_eq!(e.compound, d.compound);
            assert_eq!(b.compound, d.compound);
            assert!((4_500..=18_000).contains(&d.area_centi_m2), "{d:?}");
            assert!(d.name().len() >= 3);
        }
        let names: HashSet<(u32, &str)> = p
            .compounds
            .iter()
            .map(|c| (c.community, c.name.as_str()))
            .collect();
        assert_eq!(
            names.len(),
            p.compounds.len(),
            "names repeat in a community"
        );

        // Owners: developers ≈2%, co-owned ≈10%, second homes ≈3%.
        let mut per_dwelling = vec![0u32; dwellings];
        let mut dwellings_of: HashMap<u32, u32> = HashMap::new();
        let mut developer = 0;
        for o in &p.owners {
            per_dwelling[o.dwelling as usize] += 1;
            match o.holder {
                Holder::Developer => developer += 1,
                Holder::Person(person) => *dwellings_of.entry(person).or_default() += 1,
                Holder::Company(_) => {}
            }
        }
        let co_owned = per_dwelling.iter().filter(|n| **n == 2).count();
        let several = dwellings_of.values().filter(|n| **n > 1).count();
        assert!((0.015..0.025).contains(&share(developer, dwellings)));
        assert!((0.08..0.12).contains(&share(co_owned, dwellings)));
        assert!((0.02..0.04).contains(&share(several, dwellings_of.len())));

        // Residents in ≈15% of dwellings, party members ≈6% of people.
        let with_residents: HashSet<u32> = p.residents.iter().map(|r| r.dwelling).collect();
        assert!((0.13..0.17).contains(&share(with_residents.len(), dwellings)));
        let members = p.people.iter().filter(|x| x.party_member).count();
        assert!((0.05..0.07).contains(&share(members, p.people.len())));
        assert!(
            p.people
                .iter()
                .all(|x| x.party_member == x.employer.is_some())
        );

        // Accounts: 2 per district, 1 per street and community, 3 per
        // compound, and a resident and a member in nearly every compound.
        let by_role = |role: Role| p.accounts.iter().filter(|a| a.role == role).count();
        assert_eq!(by_role(Role::DistrictAdmin), 1);
        assert_eq!(by_role(Role::AgencyAdmin), 1);
        assert_eq!(by_role(Role::StreetAdmin), n.div_ceil(5));
        assert_eq!(by_role(Role::CommunityWorker), n);
        assert_eq!(by_role(Role::CompoundSecretary), p.compounds.len());
        assert!(by_role(Role::Resident) * 10 >= p.compounds.len() * 9);
        assert!(by_role(Role::PartyMember) * 10 >= p.compounds.len() * 9);
        for a in &p.accounts {
            if let (Anchor::Dwelling(d), Some(person)) = (&a.anchor, a.person) {
                let d = *d;
                let lives_there = p
                    .owners
                    .iter()
                    .any(|o| o.dwelling == d && o.holder == Holder::Person(person))
                    || p.residents
                        .iter()
                        .any(|r| r.dwelling == d && r.person == person);
                assert!(lives_there, "{a:?}");
            }
        }
    }

    #[test]
    fn usernames_follow_the_documented_pattern() {
        let p = plan(&communities(6), Scale::Small, 7);
        let ids = Ids::after(
            MaxIds {
                place: 1000,
                ..MaxIds::default()
            },
            &p,
        );
        let names: Vec<String> = p.accounts.iter().map(|a| p.username(a, &ids)).collect();
        assert_eq!(names[0], "district");
        assert_eq!(names[1], "agency");
        assert!(names.contains(&"street-350104001".to_string()));
        assert!(names.contains(&"worker-350104001001".to_string()));
        assert!(names.contains(&"secretary-1001".to_string()));
        assert!(names.contains(&"committee-1001".to_string()));
        assert!(names.contains(&"property-1001".to_string()));
        let unique: HashSet<&String> = names.iter().collect();
        assert_eq!(unique.len(), names.len());

        let mut two = communities(2);
        two[1].code = "350105001001".into();
        two[1].district_code = "350105".into();
        let p = plan(&two, Scale::Small, 7);
        let names: Vec<String> = p.accounts.iter().map(|a| p.username(a, &ids)).collect();
        assert!(names.contains(&"district-350104".to_string()));
        assert!(names.contains(&"agency-350105".to_string()));
    }

    #[test]
    fn a_different_seed_gives_another_plan() {
        let input = communities(3);
        assert_ne!(
            plan(&input, Scale::Small, 1).compounds,
            plan(&input, Scale::Small, 2).compounds
        );
    }
}
