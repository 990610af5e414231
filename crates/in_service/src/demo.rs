//! Demo data, loaded once by `serve --demo` after the places, accounts and
//! the capabilities before this one.
//!
//! Every party-member account reports to the compound of its dwelling
//! (most confirmed by the compound's secretary, some still pending); a
//! member whose agency (an `agency_member` row naming the account or its
//! person) is paired with a compound also reports there. Members confirmed
//! at home take some or all of the three ones, and serve: records with
//! hours, a few linked to the compound's public residents' matters, most
//! confirmed with points by the default scheme. Deterministic: the same
//! tree and agencies give the same rows. Without agencies or matters (the
//! small demo, or a database without them) it writes what it can.

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, Utc};
use jinlin_agencies::entity::{agency_member, agency_pairing};
use jinlin_kernel::ApiError;
use jinlin_kernel::auth::Role;
use jinlin_kernel::auth::entity::{account, role_grant};
use jinlin_kernel::place::entity as place;
use jinlin_resident_matters::entity::matter;
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::entity::{service_record, service_report, three_ones};
use crate::rules::{self, OneKind, RecordState, ReportKind, ReportState, ServiceKind};

const TEAMS: &[&str] = &[
    "萤火虫巡逻队",
    "党员先锋志愿服务队",
    "邻里互助队",
    "夕阳红文艺队",
    "文明劝导队",
];

const ZONES: &[&str] = &[
    "1号楼至3号楼绿化带",
    "小区东门至南门主干道",
    "2号楼架空层",
    "地下车库出入口",
    "儿童游乐场周边",
];

const ACTIVITIES: &[(ServiceKind, &str)] = &[
    (ServiceKind::Volunteer, "清理楼道杂物，张贴文明养犬提示"),
    (ServiceKind::Patrol, "夜间安全巡逻，检查消防通道"),
    (
        ServiceKind::MatterCoordination,
        "协调物业与业主解决停车纠纷",
    ),
    (ServiceKind::Other, "参加小区党群议事会，收集居民意见"),
    (ServiceKind::Volunteer, "为独居老人上门送餐、测血压"),
    (ServiceKind::MatterCoordination, "协调维修单元门禁"),
];

/// Rows of `ids`, a few hundred per statement.
async fn places_of(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, place::Model>, ApiError> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        for p in place::Entity::find()
            .filter(place::Column::Id.is_in(chunk.iter().copied()))
            .all(db)
            .await?
        {
            out.insert(p.id, p);
        }
    }
    Ok(out)
}

async fn persons_of(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, Option<i64>>, ApiError> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(i64, Option<i64>)> = account::Entity::find()
            .select_only()
            .column(account::Column::Id)
            .column(account::Column::PersonId)
            .filter(account::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(rows);
    }
    Ok(out)
}

/// One member's place in the demo.
struct Member {
    account: i64,
    person: Option<i64>,
    dwelling: place::Model,
    /// A compound paired with the member's agency: (agency, pairing).
    work: Option<(i64, agency_pairing::Model)>,
}

/// Fills the demo district; returns how many records it wrote.
pub async fn seed_demo(db: &impl ConnectionTrait) -> Result<usize, ApiError> {
    let grants = role_grant::Entity::find()
        .filter(role_grant::Column::Role.eq(Role::PartyMember.as_str()))
        .order_by_asc(role_grant::Column::Id)
        .all(db)
        .await?;
    if grants.is_empty() {
        return Ok(0);
    }
    let dwellings = places_of(db, &grants.iter().map(|g| g.place_id).collect::<Vec<_>>()).await?;
    let persons = persons_of(db, &grants.iter().map(|g| g.account_id).collect::<Vec<_>>()).await?;

    // Agencies: who belongs where, and which compounds each is paired with.
    let links = agency_member::Entity::find()
        .order_by_asc(agency_member::Column::Id)
        .all(db)
        .await?;
    let mut by_account: HashMap<i64, i64> = HashMap::new();
    let mut by_person: HashMap<i64, i64> = HashMap::new();
    for l in &links {
        if let Some(a) = l.account_id {
            by_account.entry(a).or_insert(l.agency_id);
        }
        if let Some(p) = l.person_id {
            by_person.entry(p).or_insert(l.agency_id);
        }
    }
    let mut pairings: BTreeMap<i64, Vec<agency_pairing::Model>> = BTreeMap::new();
    for p in agency_pairing::Entity::find()
        .filter(agency_pairing::Column::EndedAt.is_null())
        .order_by_asc(agency_pairing::Column::Id)
        .all(db)
        .await?
    {
        pairings.entry(p.agency_id).or_default().push(p);
    }
    let secretaries: HashMap<i64, i64> = role_grant::Entity::find()
        .filter(role_grant::Column::Role.eq(Role::CompoundSecretary.as_str()))
        .order_by_asc(role_grant::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|g| (g.place_id, g.account_id))
        .collect();
    // Public matters by compound: a member sees those of their own compound.
    let mut matters: HashMap<i64, Vec<i64>> = HashMap::new();
    for (id, compound) in matter::Entity::find()
        .select_only()
        .column(matter::Column::Id)
        .column(matter::Column::CompoundId)
        .filter(matter::Column::Public.eq(true))
        .order_by_asc(matter::Column::Id)
        .into_tuple::<(i64, i64)>()
        .all(db)
        .await?
    {
        matters.entry(compound).or_default().push(id);
    }

    let mut members = Vec::new();
    for g in &grants {
        let Some(d) = dwellings.get(&g.place_id) else {
            continue;
        };
        if d.compound_id.is_none() || d.district_code.is_none() {
            continue;
        }
        let person = persons.get(&g.account_id).copied().flatten();
        let agency = by_account
            .get(&g.account_id)
            .or_else(|| person.and_then(|p| by_person.get(&p)))
            .copied();
        let work = agency.and_then(|a| {
            let list = pairings.get(&a)?;
            // Spread an agency's members over its compounds.
            let p = list.get(members.len() % list.len())?;
            Some((a, p.clone()))
        });
        members.push(Member {
            account: g.account_id,
            person,
            dwelling: d.clone(),
            work,
        });
    }

    let now = Utc::now();
    let today = rules::china_today(now);
    let mut reports = Vec::new();
    for (i, m) in members.iter().enumerate() {
        let d = &m.dwelling;
        let compound = d.compound_id.unwrap_or_default();
        let at = now - Duration::days(40 + (i % 30) as i64);
        let confirmed = i % 10 != 9;
        reports.push(service_report::ActiveModel {
            district_code: Set(d.district_code.clone().unwrap_or_default()),
            street_id: Set(d.street_id),
            community_id: Set(d.community_id),
            compound_id: Set(compound),
            account_id: Set(m.account),
            person_id: Set(m.person),
            kind: Set(ReportKind::Residence.as_str().into()),
            agency_id: Set(None),
            state: Set(if confirmed {
                ReportState::Confirmed
            } else {
                ReportState::Submitted
            }
            .as_str()
            .into()),
            reason: Set(None),
            submitted_at: Set(at),
            decided_at: Set(confirmed.then(|| at + Duration::days(2))),
            decided_by: Set(confirmed
                .then(|| secretaries.get(&compound).copied())
                .flatten()),
            withdrawn_at: Set(None),
            ..Default::default()
        });
        if let Some((agency, p)) = &m.work {
            let confirmed = i % 7 != 6;
            let at = at + Duration::days(3);
            reports.push(service_report::ActiveModel {
                district_code: Set(p.district_code.clone()),
                street_id: Set(p.street_id),
                community_id: Set(p.community_id),
                compound_id: Set(p.compound_id),
                account_id: Set(m.account),
                person_id: Set(m.person),
                kind: Set(ReportKind::EmployerPairing.as_str().into()),
                agency_id: Set(Some(*agency)),
                state: Set(if confirmed {
                    ReportState::Confirmed
                } else {
                    ReportState::Submitted
                }
                .as_str()
                .into()),
                reason: Set(None),
                submitted_at: Set(at),
                decided_at: Set(confirmed.then(|| at + Duration::days(1))),
                decided_by: Set(confirmed
                    .then(|| secretaries.get(&p.compound_id).copied())
                    .flatten()),
                withdrawn_at: Set(None),
                ..Default::default()
            });
        }
    }
    let mut written = reports.len();
    for chunk in reports.chunks(300) {
        service_report::Entity::insert_many(chunk.to_vec())
            .exec(db)
            .await?;
    }
    // The demo starts from empty tables: read the reports back for their ids.
    let stored = service_report::Entity::find()
        .filter(service_report::Column::State.eq(ReportState::Confirmed.as_str()))
        .order_by_asc(service_report::Column::Id)
        .all(db)
        .await?;
    let mut confirmed: HashMap<i64, Vec<service_report::Model>> = HashMap::new();
    for r in stored {
        confirmed.entry(r.account_id).or_default().push(r);
    }

    let scheme = rules::DEFAULT_SCHEME;
    let mut ones = Vec::new();
    let mut records = Vec::new();
    for (i, m) in members.iter().enumerate() {
        let Some(mine) = confirmed.get(&m.account) else {
            continue;
        };
        for r in mine {
            let residence = r.kind == ReportKind::Residence.as_str();
            if residence {
                let take: &[OneKind] = match i % 4 {
                    0 => &[OneKind::VolunteerTeam, OneKind::Entrance, OneKind::Zone],
                    1 => &[OneKind::VolunteerTeam, OneKind::Zone],
                    2 => &[OneKind::VolunteerTeam],
                    _ => &[],
                };
                for kind in take {
                    let entrance = m.dwelling.entrance_id;
                    if *kind == OneKind::Entrance && entrance.is_none() {
                        continue;
                    }
                    ones.push(three_ones::ActiveModel {
                        district_code: Set(r.district_code.clone()),
                        street_id: Set(r.street_id),
                        community_id: Set(r.community_id),
                        compound_id: Set(r.compound_id),
                        account_id: Set(m.account),
                        person_id: Set(m.person),
                        report_id: Set(r.id),
                        kind: Set(kind.as_str().into()),
                        team_name: Set((*kind == OneKind::VolunteerTeam)
                            .then(|| TEAMS[i % TEAMS.len()].to_string())),
                        team_id: Set(None),
                        entrance_id: Set(if *kind == OneKind::Entrance {
                            entrance
                        } else {
                            None
                        }),
                        zone: Set(
                            (*kind == OneKind::Zone).then(|| ZONES[i % ZONES.len()].to_string())
                        ),
                        created_at: Set(r.decided_at.unwrap_or(now)),
                        released_at: Set(None),
                        released_by: Set(None),
                        ..Default::default()
                    });
                }
            }
            let n = if residence { 1 + (i + 1) % 3 } else { 1 };
            for k in 0..n {
                let (mut kind, activity) = ACTIVITIES[(i + k * 2) % ACTIVITIES.len()];
                // Matters link only where the member sees them: public
                // matters of their own compound.
                let matter_id = if kind == ServiceKind::MatterCoordination && residence {
                    matters
                        .get(&r.compound_id)
                        .and_then(|list| list.get((i + k) % list.len().max(1)).copied())
                        .filter(|_| (i + k) % 2 == 0)
                } else {
                    None
                };
                if kind == ServiceKind::MatterCoordination && !residence {
                    kind = ServiceKind::Volunteer;
                }
                let half_hours = 2 + ((i * 3 + k * 5) % 7) as i32;
                // The first member's latest service at home waits for the
                // secretary, so the demo's first compound has one pending.
                let state = if k == n - 1 && (i % 5 == 4 || i == 0 && residence) {
                    RecordState::Submitted
                } else if i % 13 == 12 {
                    RecordState::Refused
                } else {
                    RecordState::Confirmed
                };
                let served_on = today - Duration::days(((i * 7 + k * 11) % 30) as i64);
                let decided = state != RecordState::Submitted;
                records.push(service_record::ActiveModel {
                    district_code: Set(r.district_code.clone()),
                    street_id: Set(r.street_id),
                    community_id: Set(r.community_id),
                    compound_id: Set(r.compound_id),
                    account_id: Set(m.account),
                    person_id: Set(m.person),
                    served_on: Set(served_on),
                    kind: Set(kind.as_str().into()),
                    activity: Set(activity.into()),
                    half_hours: Set(half_hours),
                    matter_id: Set(matter_id),
                    state: Set(state.as_str().into()),
                    reason: Set((state == RecordState::Refused)
                        .then(|| "服务时长与签到记录不符，请核实后重新登记".to_string())),
                    points_x2: Set((state == RecordState::Confirmed)
                        .then(|| rules::points_x2(scheme, state, kind, half_hours) as i32)),
                    created_at: Set(now - Duration::days(((i * 7 + k * 11) % 30) as i64)),
                    decided_at: Set(decided.then_some(now)),
                    decided_by: Set(decided
                        .then(|| secretaries.get(&r.compound_id).copied())
                        .flatten()),
                    ..Default::default()
                });
            }
        }
    }
    written += ones.len() + records.len();
    for chunk in ones.chunks(300) {
        three_ones::Entity::insert_many(chunk.to_vec())
            .exec(db)
            .await?;
    }
    for chunk in records.chunks(300) {
        service_record::Entity::insert_many(chunk.to_vec())
            .exec(db)
            .await?;
    }
    Ok(written)
}
