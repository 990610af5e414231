//! The rows of each ledger, read from the registers of the other
//! capabilities one page of places at a time.
//!
//! A ledger's scope is a node of the tree. The streets, communities and
//! compounds under it are read once (a district holds about a thousand)
//! and put in the tree's order; the rows are then read for a page of
//! [`PAGE`] of those places at a time, with `… IN (page)` on the column
//! that ties each record to its place, so only records under the node can
//! be read and memory stays bounded by one page.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use jinlin_agencies::entity::{agency, agency_pairing};
use jinlin_joint_meetings::entity::{joint_meeting, joint_meeting_action, joint_meeting_invitee};
use jinlin_kernel::auth::entity::account;
use jinlin_kernel::i18n::Lang;
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::place::entity as place;
use jinlin_kernel::time::china;
use jinlin_micro_grids::entity::{
    contact_group, micro_grid, micro_grid_building, micro_grid_member,
};
use jinlin_organisations::entity::{
    owners_committee, party_org, party_org_member, property_company_contract,
};
use jinlin_people::entity::person;
use jinlin_places::entity::compound;
use jinlin_projects::entity::project;
use jinlin_resident_matters::entity::{category, matter};
use jinlin_social_services::entity::{service, service_session, social_org, social_org_admission};
use jinlin_volunteers::entity::{volunteer_activity, volunteer_member, volunteer_team};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::export::{Cell, Row};
use crate::rules::{self, Ledger};

/// Places read per query.
pub const PAGE: usize = 200;

/// The streets, communities and compounds under a node, in the tree's
/// order, with the names of the node's own ancestors.
pub struct Tree {
    pub scope: place::Model,
    pub streets: Vec<place::Model>,
    pub communities: Vec<place::Model>,
    pub compounds: Vec<place::Model>,
    names: HashMap<i64, String>,
    street_rank: HashMap<i64, usize>,
    community_rank: HashMap<i64, usize>,
    /// street and community of every place read.
    up: HashMap<i64, (Option<i64>, Option<i64>)>,
    compound_ids: HashSet<i64>,
}

fn is(kind: PlaceKind, p: &place::Model) -> bool {
    p.kind == kind.as_str()
}

/// The condition on `place` for the subtree of `scope`, itself included.
pub fn subtree(scope: &place::Model) -> Condition {
    match PlaceKind::parse(&scope.kind) {
        Some(PlaceKind::Street) => Condition::any()
            .add(place::Column::Id.eq(scope.id))
            .add(place::Column::StreetId.eq(scope.id)),
        Some(PlaceKind::Community) => Condition::any()
            .add(place::Column::Id.eq(scope.id))
            .add(place::Column::CommunityId.eq(scope.id)),
        Some(PlaceKind::District) => Condition::all()
            .add(place::Column::DistrictCode.eq(scope.district_code.clone().unwrap_or_default())),
        _ => Condition::all().add(place::Column::Id.eq(scope.id)),
    }
}

impl Tree {
    pub async fn load(db: &impl ConnectionTrait, scope: &place::Model) -> Result<Tree, DbErr> {
        let mut all = place::Entity::find()
            .filter(subtree(scope))
            .filter(place::Column::Kind.is_in([
                PlaceKind::Street.as_str(),
                PlaceKind::Community.as_str(),
                PlaceKind::Compound.as_str(),
            ]))
            .all(db)
            .await?;
        let above = jinlin_places::store::by_ids(
            db,
            [scope.street_id, scope.community_id].into_iter().flatten(),
        )
        .await?;
        all.sort_by(|a, b| (&a.code, a.id).cmp(&(&b.code, b.id)));
        let mut t = Tree {
            scope: scope.clone(),
            streets: Vec::new(),
            communities: Vec::new(),
            compounds: Vec::new(),
            names: above.values().map(|p| (p.id, p.name.clone())).collect(),
            street_rank: HashMap::new(),
            community_rank: HashMap::new(),
            up: HashMap::new(),
            compound_ids: HashSet::new(),
        };
        for p in all {
            t.names.insert(p.id, p.name.clone());
            let street = if is(PlaceKind::Street, &p) {
                Some(p.id)
            } else {
                p.street_id
            };
            let community = if is(PlaceKind::Community, &p) {
                Some(p.id)
            } else {
                p.community_id
            };
            t.up.insert(p.id, (street, community));
            if is(PlaceKind::Street, &p) {
                t.street_rank.insert(p.id, t.streets.len());
                t.streets.push(p);
            } else if is(PlaceKind::Community, &p) {
                t.community_rank.insert(p.id, t.communities.len());
                t.communities.push(p);
            } else {
                t.compound_ids.insert(p.id);
                t.compounds.push(p);
            }
        }
        let mut compounds = std::mem::take(&mut t.compounds);
        compounds.sort_by_cached_key(|p| t.order_key(p));
        t.compounds = compounds;
        Ok(t)
    }

    fn order_key(&self, p: &place::Model) -> (usize, usize, u8, i64) {
        let (street, community) = self.up.get(&p.id).copied().unwrap_or_default();
        let rank = |m: &HashMap<i64, usize>, id: Option<i64>| {
            id.and_then(|i| m.get(&i).copied()).unwrap_or(usize::MAX)
        };
        (
            rank(&self.street_rank, street),
            rank(&self.community_rank, community),
            u8::from(is(PlaceKind::Compound, p)),
            p.id,
        )
    }

    pub fn name(&self, id: Option<i64>) -> Cell {
        Cell::opt(id.and_then(|i| self.names.get(&i).cloned()))
    }

    /// Street, community and compound cells of a place of the tree.
    pub fn place_cells(&self, id: i64) -> [Cell; 3] {
        let (street, community) = self.up.get(&id).copied().unwrap_or_default();
        let compound = self.compound_ids.contains(&id).then_some(id);
        [self.name(street), self.name(community), self.name(compound)]
    }

    /// The places a ledger's records hang from, in order: streets for
    /// joint meetings, communities and their compounds for volunteer
    /// teams, compounds for every other ledger.
    pub fn owners(&self, ledger: Ledger) -> Vec<i64> {
        match ledger {
            Ledger::JointMeetings => self.streets.iter().map(|p| p.id).collect(),
            Ledger::VolunteerTeams => {
                let mut both: Vec<&place::Model> = self
                    .communities
                    .iter()
                    .chain(self.compounds.iter())
                    .collect();
                both.sort_by_cached_key(|p| self.order_key(p));
                both.iter().map(|p| p.id).collect()
            }
            _ => self.compounds.iter().map(|p| p.id).collect(),
        }
    }
}

/// What the rows of an export need besides the records.
pub struct Job<'a> {
    pub tree: &'a Tree,
    pub lang: Lang,
    pub plain_phones: bool,
    pub now: DateTime<Utc>,
}

impl Job<'_> {
    fn label(&self, prefix: &str, value: &str) -> Cell {
        if value.is_empty() {
            return Cell::Empty;
        }
        Cell::Text(self.lang.t(&format!("{prefix}.{value}")).into_owned())
    }

    fn yes_no(&self, b: bool) -> Cell {
        Cell::Text(
            self.lang
                .t(if b { "ledgers.yes" } else { "ledgers.no" })
                .into_owned(),
        )
    }

    fn phone(&self, raw: Option<&str>) -> Cell {
        match raw {
            None | Some("") => Cell::Empty,
            Some(p) if self.plain_phones => Cell::text(p),
            Some(p) => Cell::Text(
                jinlin_people::rules::Phone::parse(p)
                    .map(|p| p.masked())
                    .unwrap_or_else(|_| "****".into()),
            ),
        }
    }

    /// The rows of `ledger` for a page of its places, in their order.
    pub async fn rows(
        &self,
        db: &impl ConnectionTrait,
        ledger: Ledger,
        ids: &[i64],
    ) -> Result<Vec<Row>, DbErr> {
        match ledger {
            Ledger::Compounds => self.compounds(db, ids).await,
            Ledger::PartyOrgs => self.party_orgs(db, ids).await,
            Ledger::PartyMembers => self.party_members(db, ids).await,
            Ledger::Pairings => self.pairings(db, ids).await,
            Ledger::Projects => self.projects(db, ids).await,
            Ledger::JointMeetings => self.joint_meetings(db, ids).await,
            Ledger::Matters => self.matters(db, ids).await,
            Ledger::MicroGrids => self.micro_grids(db, ids).await,
            Ledger::SocialOrgs => self.social_orgs(db, ids).await,
            Ledger::Sessions => self.sessions(db, ids).await,
            Ledger::VolunteerTeams => self.volunteer_teams(db, ids).await,
        }
    }

    async fn compounds(&self, db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<Row>, DbErr> {
        let info: HashMap<i64, compound::Model> = compound::Entity::find()
            .filter(compound::Column::PlaceId.is_in(ids.iter().copied()))
            .all(db)
            .await?
            .into_iter()
            .map(|c| (c.place_id, c))
            .collect();
        let dwellings: HashMap<i64, i64> = place::Entity::find()
            .select_only()
            .column(place::Column::CompoundId)
            .column_as(place::Column::Id.count(), "n")
            .filter(place::Column::CompoundId.is_in(ids.iter().copied()))
            .filter(place::Column::Kind.eq(PlaceKind::Dwelling.as_str()))
            .group_by(place::Column::CompoundId)
            .into_tuple::<(Option<i64>, i64)>()
            .all(db)
            .await?
            .into_iter()
            .filter_map(|(c, n)| Some((c?, n)))
            .collect();
        let orgs = grouped(
            party_org::Entity::find()
                .filter(party_org::Column::CompoundId.is_in(ids.iter().copied()))
                .order_by_asc(party_org::Column::Id)
                .all(db)
                .await?,
            |o| o.compound_id,
        );
        let committees = grouped(
            owners_committee::Entity::find()
                .filter(owners_committee::Column::CompoundId.is_in(ids.iter().copied()))
                .order_by_desc(owners_committee::Column::TermEnd)
                .all(db)
                .await?,
            |c| c.compound_id,
        );
        let today = self.now.with_timezone(&china()).date_naive();
        let companies = grouped(
            property_company_contract::Entity::find()
                .filter(property_company_contract::Column::CompoundId.is_in(ids.iter().copied()))
                .filter(property_company_contract::Column::ContractEnd.gte(today))
                .order_by_desc(property_company_contract::Column::ContractStart)
                .all(db)
                .await?,
            |c| c.compound_id,
        );
        let mut rows = Vec::with_capacity(ids.len());
        for id in ids {
            let c = info.get(id);
            let [s, cm, cp] = self.tree.place_cells(*id);
            let committee = c.and_then(|c| c.owners_committee.clone()).or_else(|| {
                committees
                    .get(id)
                    .and_then(|v| v.first())
                    .map(|m| m.name.clone())
            });
            let company = c.and_then(|c| c.property_company.clone()).or_else(|| {
                companies
                    .get(id)
                    .and_then(|v| v.first())
                    .map(|m| m.company_name.clone())
            });
            rows.push(vec![
                s,
                cm,
                cp,
                c.map(|c| self.label("place.compound_type", &c.compound_type))
                    .unwrap_or(Cell::Empty),
                c.map(|c| self.label("place.town_area", &c.town_area))
                    .unwrap_or(Cell::Empty),
                Cell::opt(c.map(|c| c.address.clone())),
                Cell::Int(dwellings.get(id).copied().unwrap_or(0)),
                Cell::opt(orgs.get(id).map(|v| {
                    v.iter()
                        .map(|o| o.name.as_str())
                        .collect::<Vec<_>>()
                        .join("、")
                })),
                Cell::opt(committee),
                Cell::opt(company),
            ]);
        }
        Ok(rows)
    }

    async fn party_orgs(&self, db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<Row>, DbErr> {
        let orgs = party_org::Entity::find()
            .filter(party_org::Column::CompoundId.is_in(ids.iter().copied()))
            .order_by_asc(party_org::Column::Id)
            .all(db)
            .await?;
        let members = grouped(
            party_org_member::Entity::find()
                .filter(party_org_member::Column::OrgId.is_in(orgs.iter().map(|o| o.id)))
                .all(db)
                .await?,
            |m| m.org_id,
        );
        let people = persons(db, orgs.iter().filter_map(|o| o.secretary_person_id)).await?;
        let orgs = grouped(orgs, |o| o.compound_id);
        let mut rows = Vec::new();
        for id in ids {
            for o in orgs.get(id).into_iter().flatten() {
                let m = members.get(&o.id).map(Vec::as_slice).unwrap_or_default();
                let count = |f: fn(&party_org_member::Model) -> bool| {
                    Cell::Int(m.iter().filter(|x| f(x)).count() as i64)
                };
                let [s, cm, cp] = self.tree.place_cells(*id);
                rows.push(vec![
                    s,
                    cm,
                    cp,
                    Cell::text(&o.name),
                    self.label("organisations.kind", &o.kind),
                    Cell::date(o.founded_on),
                    Cell::opt(
                        o.secretary_person_id
                            .and_then(|p| people.get(&p))
                            .map(|p| p.name.clone()),
                    ),
                    Cell::Int(m.len() as i64),
                    count(|x| x.in_owners_committee),
                    count(|x| x.in_property_company),
                    count(|x| x.owner_representative),
                ]);
            }
        }
        Ok(rows)
    }

    async fn party_members(
        &self,
        db: &impl ConnectionTrait,
        ids: &[i64],
    ) -> Result<Vec<Row>, DbErr> {
        let members = party_org_member::Entity::find()
            .filter(party_org_member::Column::CompoundId.is_in(ids.iter().copied()))
            .order_by_asc(party_org_member::Column::OrgId)
            .order_by_asc(party_org_member::Column::Id)
            .all(db)
            .await?;
        let orgs: HashMap<i64, String> = party_org::Entity::find()
            .filter(party_org::Column::CompoundId.is_in(ids.iter().copied()))
            .all(db)
            .await?
            .into_iter()
            .map(|o| (o.id, o.name))
            .collect();
        let people = persons(db, members.iter().map(|m| m.person_id)).await?;
        let members = grouped(members, |m| m.compound_id);
        let mut rows = Vec::new();
        for id in ids {
            for m in members.get(id).into_iter().flatten() {
                let p = people.get(&m.person_id);
                let [s, cm, cp] = self.tree.place_cells(*id);
                rows.push(vec![
                    s,
                    cm,
                    cp,
                    Cell::opt(orgs.get(&m.org_id).cloned()),
                    Cell::opt(p.map(|p| p.name.clone())),
                    self.phone(p.and_then(|p| p.phone.as_deref())),
                    self.yes_no(m.in_owners_committee),
                    self.yes_no(m.in_property_company),
                    self.yes_no(m.owner_representative),
                ]);
            }
        }
        Ok(rows)
    }

    async fn pairings(&self, db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<Row>, DbErr> {
        let pairings = agency_pairing::Entity::find()
            .filter(agency_pairing::Column::CompoundId.is_in(ids.iter().copied()))
            .order_by_asc(agency_pairing::Column::StartedAt)
            .order_by_asc(agency_pairing::Column::Id)
            .all(db)
            .await?;
        let agencies = agencies(db, pairings.iter().map(|p| p.agency_id)).await?;
        let pairings = grouped(pairings, |p| p.compound_id);
        let mut rows = Vec::new();
        for id in ids {
            for p in pairings.get(id).into_iter().flatten() {
                let a = agencies.get(&p.agency_id);
                let [s, cm, cp] = self.tree.place_cells(*id);
                rows.push(vec![
                    s,
                    cm,
                    cp,
                    Cell::opt(a.map(|a| a.name.clone())),
                    a.map(|a| self.label("agencies.category", &a.category))
                        .unwrap_or(Cell::Empty),
                    Cell::opt(a.map(|a| a.party_org_name.clone())),
                    self.label("agencies.route", &p.route),
                    Cell::day(p.started_at),
                    p.ended_at.map(Cell::day).unwrap_or(Cell::Empty),
                    Cell::opt(p.end_reason.clone()),
                ]);
            }
        }
        Ok(rows)
    }

    async fn projects(&self, db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<Row>, DbErr> {
        let projects = project::Entity::find()
            .filter(project::Column::CompoundId.is_in(ids.iter().copied()))
            .order_by_asc(project::Column::Id)
            .all(db)
            .await?;
        let agencies = agencies(db, projects.iter().map(|p| p.agency_id)).await?;
        let projects = grouped(projects, |p| p.compound_id);
        let mut rows = Vec::new();
        for id in ids {
            for p in projects.get(id).into_iter().flatten() {
                let [s, cm, cp] = self.tree.place_cells(*id);
                rows.push(vec![
                    s,
                    cm,
                    cp,
                    Cell::text(&p.title),
                    Cell::opt(agencies.get(&p.agency_id).map(|a| a.name.clone())),
                    Cell::text(&p.function),
                    self.label("projects.state", &p.state),
                    Cell::date(p.planned_start),
                    Cell::date(p.planned_end),
                    p.started_at.map(Cell::day).unwrap_or(Cell::Empty),
                    p.completed_at.map(Cell::day).unwrap_or(Cell::Empty),
                ]);
            }
        }
        Ok(rows)
    }

    async fn joint_meetings(
        &self,
        db: &impl ConnectionTrait,
        ids: &[i64],
    ) -> Result<Vec<Row>, DbErr> {
        let meetings = joint_meeting::Entity::find()
            .filter(joint_meeting::Column::StreetId.is_in(ids.iter().copied()))
            .order_by_asc(joint_meeting::Column::ScheduledAt)
            .order_by_asc(joint_meeting::Column::Id)
            .all(db)
            .await?;
        let meeting_ids: Vec<i64> = meetings.iter().map(|m| m.id).collect();
        let invitees = grouped(
            joint_meeting_invitee::Entity::find()
                .filter(joint_meeting_invitee::Column::MeetingId.is_in(meeting_ids.clone()))
                .all(db)
                .await?,
            |i| i.meeting_id,
        );
        let actions = grouped(
            joint_meeting_action::Entity::find()
                .filter(joint_meeting_action::Column::MeetingId.is_in(meeting_ids))
                .all(db)
                .await?,
            |a| a.meeting_id,
        );
        let meetings = grouped(meetings, |m| m.street_id);
        let mut rows = Vec::new();
        for id in ids {
            for m in meetings.get(id).into_iter().flatten() {
                let inv = invitees.get(&m.id).map(Vec::as_slice).unwrap_or_default();
                let act = actions.get(&m.id).map(Vec::as_slice).unwrap_or_default();
                rows.push(vec![
                    self.tree.name(Some(*id)),
                    Cell::Int(m.year.into()),
                    Cell::Int(m.quarter.into()),
                    Cell::time(m.scheduled_at),
                    Cell::text(&m.venue),
                    Cell::text(&m.agenda),
                    self.label("joint_meetings.state", &m.state),
                    m.held_at.map(Cell::time).unwrap_or(Cell::Empty),
                    Cell::Int(inv.len() as i64),
                    Cell::Int(inv.iter().filter(|i| i.attended == Some(true)).count() as i64),
                    Cell::Int(act.len() as i64),
                    Cell::Int(act.iter().filter(|a| a.done_on.is_some()).count() as i64),
                ]);
            }
        }
        Ok(rows)
    }

    async fn matters(&self, db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<Row>, DbErr> {
        let matters = matter::Entity::find()
            .filter(matter::Column::CompoundId.is_in(ids.iter().copied()))
            .order_by_asc(matter::Column::Id)
            .all(db)
            .await?;
        let wanted: HashSet<i64> = matters.iter().map(|m| m.category_id).collect();
        let categories: HashMap<i64, category::Model> = category::Entity::find()
            .filter(category::Column::Id.is_in(wanted))
            .all(db)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let matters = grouped(matters, |m| m.compound_id);
        let mut rows = Vec::new();
        for id in ids {
            for m in matters.get(id).into_iter().flatten() {
                let [s, cm, cp] = self.tree.place_cells(*id);
                let on_time = rules::on_time(m.due_at, m.closed_at, self.now);
                rows.push(vec![
                    Cell::Int(m.id),
                    s,
                    cm,
                    cp,
                    Cell::text(&m.title),
                    Cell::opt(categories.get(&m.category_id).map(|c| match self.lang {
                        Lang::En => c.name_en.clone(),
                        _ => c.name_zh.clone(),
                    })),
                    self.label("resident_matters.urgency", &m.urgency),
                    self.label("resident_matters.state", &m.state),
                    Cell::time(m.created_at),
                    m.due_at.map(Cell::time).unwrap_or(Cell::Empty),
                    m.closed_at.map(Cell::time).unwrap_or(Cell::Empty),
                    on_time.map(|b| self.yes_no(b)).unwrap_or(Cell::Empty),
                    m.satisfaction
                        .as_deref()
                        .map(|s| self.label("resident_matters.satisfaction", s))
                        .unwrap_or(Cell::Empty),
                ]);
            }
        }
        Ok(rows)
    }

    async fn micro_grids(&self, db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<Row>, DbErr> {
        let grids = micro_grid::Entity::find()
            .filter(micro_grid::Column::CompoundId.is_in(ids.iter().copied()))
            .order_by_asc(micro_grid::Column::Id)
            .all(db)
            .await?;
        let grid_ids: Vec<i64> = grids.iter().map(|g| g.id).collect();
        let buildings = counts(
            micro_grid_building::Entity::find()
                .filter(micro_grid_building::Column::GridId.is_in(grid_ids.clone()))
                .all(db)
                .await?
                .iter()
                .map(|b| b.grid_id),
        );
        let members = counts(
            micro_grid_member::Entity::find()
                .filter(micro_grid_member::Column::GridId.is_in(grid_ids.clone()))
                .all(db)
                .await?
                .iter()
                .map(|m| m.grid_id),
        );
        let groups = counts(
            contact_group::Entity::find()
                .filter(contact_group::Column::GridId.is_in(grid_ids))
                .all(db)
                .await?
                .iter()
                .map(|g| g.grid_id),
        );
        let workers = accounts(db, grids.iter().filter_map(|g| g.worker_account_id)).await?;
        let grids = grouped(grids, |g| g.compound_id);
        let mut rows = Vec::new();
        for id in ids {
            for g in grids.get(id).into_iter().flatten() {
                let [s, cm, cp] = self.tree.place_cells(*id);
                let n = |m: &HashMap<i64, i64>| Cell::Int(m.get(&g.id).copied().unwrap_or(0));
                rows.push(vec![
                    s,
                    cm,
                    cp,
                    Cell::text(&g.name),
                    Cell::opt(g.worker_account_id.and_then(|a| workers.get(&a).cloned())),
                    Cell::Text(
                        self.lang
                            .t(if g.whole_compound {
                                "ledgers.coverage.whole"
                            } else {
                                "ledgers.coverage.buildings"
                            })
                            .into_owned(),
                    ),
                    n(&buildings),
                    n(&members),
                    n(&groups),
                ]);
            }
        }
        Ok(rows)
    }

    async fn social_orgs(&self, db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<Row>, DbErr> {
        let admissions = social_org_admission::Entity::find()
            .filter(social_org_admission::Column::CompoundId.is_in(ids.iter().copied()))
            .order_by_asc(social_org_admission::Column::AppliedAt)
            .order_by_asc(social_org_admission::Column::Id)
            .all(db)
            .await?;
        let wanted: HashSet<i64> = admissions.iter().map(|a| a.org_id).collect();
        let orgs: HashMap<i64, social_org::Model> = social_org::Entity::find()
            .filter(social_org::Column::Id.is_in(wanted))
            .all(db)
            .await?
            .into_iter()
            .map(|o| (o.id, o))
            .collect();
        let mut held: HashMap<(i64, i64), (i64, i64)> = HashMap::new();
        for s in service_session::Entity::find()
            .filter(service_session::Column::CompoundId.is_in(ids.iter().copied()))
            .filter(service_session::Column::State.ne("cancelled"))
            .filter(service_session::Column::StartsAt.lte(self.now))
            .all(db)
            .await?
        {
            let e = held.entry((s.org_id, s.compound_id)).or_default();
            e.0 += 1;
            e.1 += i64::from(s.attended);
        }
        let admissions = grouped(admissions, |a| a.compound_id);
        let mut rows = Vec::new();
        for id in ids {
            for a in admissions.get(id).into_iter().flatten() {
                let o = orgs.get(&a.org_id);
                let (sessions, person_times) = held
                    .get(&(a.org_id, a.compound_id))
                    .copied()
                    .unwrap_or_default();
                let [s, cm, cp] = self.tree.place_cells(*id);
                rows.push(vec![
                    s,
                    cm,
                    cp,
                    Cell::opt(o.map(|o| o.name.clone())),
                    Cell::opt(o.map(|o| o.registration_no.clone())),
                    o.map(|o| self.label("social_services.type", &o.org_type))
                        .unwrap_or(Cell::Empty),
                    o.map(|o| self.yes_no(o.has_party_org))
                        .unwrap_or(Cell::Empty),
                    Cell::opt(o.map(|o| o.contact_name.clone())),
                    self.phone(o.and_then(|o| o.contact_phone.as_deref())),
                    self.label("social_services.state", &a.state),
                    Cell::day(a.applied_at),
                    a.decided_at.map(Cell::day).unwrap_or(Cell::Empty),
                    Cell::Int(sessions),
                    Cell::Int(person_times),
                ]);
            }
        }
        Ok(rows)
    }

    async fn sessions(&self, db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<Row>, DbErr> {
        let sessions = service_session::Entity::find()
            .filter(service_session::Column::CompoundId.is_in(ids.iter().copied()))
            .order_by_asc(service_session::Column::StartsAt)
            .order_by_asc(service_session::Column::Id)
            .all(db)
            .await?;
        let wanted: HashSet<i64> = sessions.iter().map(|s| s.service_id).collect();
        let services: HashMap<i64, String> = service::Entity::find()
            .filter(service::Column::Id.is_in(wanted))
            .all(db)
            .await?
            .into_iter()
            .map(|s| (s.id, s.title))
            .collect();
        let wanted: HashSet<i64> = sessions.iter().map(|s| s.org_id).collect();
        let orgs: HashMap<i64, String> = social_org::Entity::find()
            .filter(social_org::Column::Id.is_in(wanted))
            .all(db)
            .await?
            .into_iter()
            .map(|o| (o.id, o.name))
            .collect();
        let sessions = grouped(sessions, |s| s.compound_id);
        let mut rows = Vec::new();
        for id in ids {
            for x in sessions.get(id).into_iter().flatten() {
                let [s, cm, cp] = self.tree.place_cells(*id);
                let state = if x.state == "cancelled" {
                    "cancelled"
                } else if x.ends_at <= self.now {
                    "held"
                } else {
                    "scheduled"
                };
                rows.push(vec![
                    s,
                    cm,
                    cp,
                    Cell::opt(orgs.get(&x.org_id).cloned()),
                    Cell::opt(services.get(&x.service_id).cloned()),
                    Cell::time(x.starts_at),
                    Cell::time(x.ends_at),
                    Cell::text(&x.location),
                    Cell::Int(x.capacity.into()),
                    Cell::Int(x.registered.into()),
                    Cell::Int(x.attended.into()),
                    self.label("ledgers.session_state", state),
                    rules::mean(x.feedback_sum.into(), x.feedback_count.into())
                        .map(Cell::Num)
                        .unwrap_or(Cell::Empty),
                ]);
            }
        }
        Ok(rows)
    }

    async fn volunteer_teams(
        &self,
        db: &impl ConnectionTrait,
        ids: &[i64],
    ) -> Result<Vec<Row>, DbErr> {
        let teams = volunteer_team::Entity::find()
            .filter(volunteer_team::Column::PlaceId.is_in(ids.iter().copied()))
            .order_by_asc(volunteer_team::Column::Id)
            .all(db)
            .await?;
        let team_ids: Vec<i64> = teams.iter().map(|t| t.id).collect();
        let mut members: HashMap<i64, (i64, i64)> = HashMap::new();
        for m in volunteer_member::Entity::find()
            .filter(volunteer_member::Column::TeamId.is_in(team_ids.clone()))
            .filter(volunteer_member::Column::LeftOn.is_null())
            .all(db)
            .await?
        {
            let e = members.entry(m.team_id).or_default();
            e.0 += 1;
            e.1 += i64::from(m.party_member);
        }
        let mut activities: HashMap<i64, (i64, i64)> = HashMap::new();
        for a in volunteer_activity::Entity::find()
            .filter(volunteer_activity::Column::TeamId.is_in(team_ids))
            .all(db)
            .await?
        {
            let e = activities.entry(a.team_id).or_default();
            e.0 += 1;
            e.1 += i64::from(a.minutes);
        }
        let leaders = accounts(db, teams.iter().filter_map(|t| t.leader_account_id)).await?;
        let teams = grouped(teams, |t| t.place_id);
        let mut rows = Vec::new();
        for id in ids {
            for t in teams.get(id).into_iter().flatten() {
                let [s, cm, cp] = self.tree.place_cells(*id);
                let (n, party) = members.get(&t.id).copied().unwrap_or_default();
                let (held, minutes) = activities.get(&t.id).copied().unwrap_or_default();
                rows.push(vec![
                    s,
                    cm,
                    cp,
                    Cell::text(&t.name),
                    self.label("volunteers.kind", &t.kind),
                    Cell::opt(t.leader_account_id.and_then(|a| leaders.get(&a).cloned())),
                    Cell::Int(n),
                    Cell::Int(party),
                    Cell::Int(held),
                    Cell::Num((minutes as f64 / 6.0).round() / 10.0),
                ]);
            }
        }
        Ok(rows)
    }
}

/// Records grouped by the place (or parent) they hang from, each group in
/// the order read.
fn grouped<T>(rows: Vec<T>, key: impl Fn(&T) -> i64) -> HashMap<i64, Vec<T>> {
    let mut out: HashMap<i64, Vec<T>> = HashMap::new();
    for r in rows {
        out.entry(key(&r)).or_default().push(r);
    }
    out
}

fn counts(keys: impl Iterator<Item = i64>) -> HashMap<i64, i64> {
    let mut out = HashMap::new();
    for k in keys {
        *out.entry(k).or_default() += 1;
    }
    out
}

async fn persons(
    db: &impl ConnectionTrait,
    ids: impl Iterator<Item = i64>,
) -> Result<HashMap<i64, person::Model>, DbErr> {
    let mut ids: Vec<i64> = ids.collect();
    ids.sort_unstable();
    ids.dedup();
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        for p in person::Entity::find()
            .filter(person::Column::Id.is_in(chunk.iter().copied()))
            .all(db)
            .await?
        {
            out.insert(p.id, p);
        }
    }
    Ok(out)
}

async fn agencies(
    db: &impl ConnectionTrait,
    ids: impl Iterator<Item = i64>,
) -> Result<HashMap<i64, agency::Model>, DbErr> {
    let ids: HashSet<i64> = ids.collect();
    Ok(agency::Entity::find()
        .filter(agency::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect())
}

/// Display names of accounts.
async fn accounts(
    db: &impl ConnectionTrait,
    ids: impl Iterator<Item = i64>,
) -> Result<HashMap<i64, String>, DbErr> {
    let ids: HashSet<i64> = ids.collect();
    Ok(account::Entity::find()
        .filter(account::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a.display_name))
        .collect())
}

/// The streets, communities or compounds directly under a node, for
/// drilling down.
pub async fn children(
    db: &impl ConnectionTrait,
    p: &place::Model,
) -> Result<Vec<place::Model>, DbErr> {
    let Some(kind) = PlaceKind::parse(&p.kind).and_then(PlaceKind::child) else {
        return Ok(Vec::new());
    };
    if !rules::is_scope_kind(kind) {
        return Ok(Vec::new());
    }
    place::Entity::find()
        .filter(place::Column::ParentId.eq(p.id))
        .filter(place::Column::Kind.eq(kind.as_str()))
        .order_by_asc(place::Column::Code)
        .order_by_asc(place::Column::Id)
        .all(db)
        .await
}
