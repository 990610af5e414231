//! Demo data, loaded once by `serve --demo` after the places, accounts and
//! the capabilities before this one: in every community of the demo
//! district a "firefly" night patrol team at its first compound, with the
//! compound's party members and residents, and a community team of another
//! kind; past activities with credited hours, past shifts checked in and
//! out with log entries, and this week's shifts with sign-ups; the first
//! patrol team also has a shift about to start with every place free.

use chrono::{Duration, NaiveTime, Utc};
use jinlin_kernel::ApiError;
use jinlin_kernel::auth::Role;
use jinlin_kernel::auth::entity::{account, role_grant};
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::place::entity as place;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::entity::{
    patrol_log, patrol_shift, patrol_signup, volunteer_activity, volunteer_activity_credit,
    volunteer_member, volunteer_team,
};
use crate::rules::{self, TeamKind};

const DISTRICT: &str = "350104";
const OTHER_KINDS: [(TeamKind, &str); 4] = [
    (TeamKind::Dance, "广场舞队"),
    (TeamKind::Environment, "环境卫生志愿队"),
    (TeamKind::ElderCare, "关爱老人志愿队"),
    (TeamKind::Culture, "文化宣传队"),
];
const LOGS: [(&str, bool); 3] = [
    ("巡查一圈，门岗、车棚正常。", false),
    ("2号楼消防通道有电动车停放，已提醒车主挪走。", true),
    ("东门路灯已修复，夜间照明正常。", false),
];

struct Person {
    account_id: i64,
    name: String,
    party: bool,
}

async fn people_of(db: &impl ConnectionTrait, compound: i64) -> Result<Vec<Person>, ApiError> {
    let in_compound = Query::select()
        .column(place::Column::Id)
        .from(place::Entity)
        .and_where(place::Column::CompoundId.eq(compound))
        .to_owned();
    let grants = role_grant::Entity::find()
        .filter(
            role_grant::Column::Role.is_in([Role::PartyMember.as_str(), Role::Resident.as_str()]),
        )
        .filter(role_grant::Column::PlaceId.in_subquery(in_compound))
        .order_by_asc(role_grant::Column::Id)
        .limit(40)
        .all(db)
        .await?;
    // Party members first, then residents; a few of each.
    let mut party: Vec<&role_grant::Model> = grants
        .iter()
        .filter(|g| g.role == Role::PartyMember.as_str())
        .take(4)
        .collect();
    party.extend(
        grants
            .iter()
            .filter(|g| g.role == Role::Resident.as_str())
            .take(3),
    );
    let ids: Vec<i64> = party.iter().map(|g| g.account_id).collect();
    let names: std::collections::HashMap<i64, String> = account::Entity::find()
        .filter(account::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a.display_name))
        .collect();
    let mut seen = std::collections::HashSet::new();
    Ok(party
        .into_iter()
        .filter(|g| seen.insert(g.account_id))
        .map(|g| Person {
            account_id: g.account_id,
            name: names.get(&g.account_id).cloned().unwrap_or_default(),
            party: g.role == Role::PartyMember.as_str(),
        })
        .collect())
}

/// Ten to fifteen minutes from now, on a five-minute mark.
fn soon() -> chrono::DateTime<Utc> {
    use chrono::DurationRound;
    let at = Utc::now() + Duration::minutes(15);
    at.duration_trunc(Duration::minutes(5)).unwrap_or(at)
}

/// Fills the demo district; returns how many records it wrote.
pub async fn seed_demo(db: &impl ConnectionTrait) -> Result<usize, ApiError> {
    let communities = place::Entity::find()
        .filter(place::Column::Kind.eq(PlaceKind::Community.as_str()))
        .filter(place::Column::DistrictCode.eq(DISTRICT))
        .order_by_asc(place::Column::Id)
        .all(db)
        .await?;
    let now = Utc::now();
    let today = now.date_naive();
    let mut made = 0;
    for (n, community) in communities.iter().enumerate() {
        let Some(compound) = place::Entity::find()
            .filter(place::Column::Kind.eq(PlaceKind::Compound.as_str()))
            .filter(place::Column::CommunityId.eq(community.id))
            .order_by_asc(place::Column::Id)
            .one(db)
            .await?
        else {
            continue;
        };
        let people = people_of(db, compound.id).await?;
        let (kind, kind_name) = OTHER_KINDS[n % OTHER_KINDS.len()];
        let teams = [
            (
                &compound,
                TeamKind::Patrol,
                format!("{}萤火虫巡逻队", compound.name),
            ),
            (community, kind, format!("{}{}", community.name, kind_name)),
        ];
        for (at, kind, name) in teams {
            let leader = people.first().map(|p| p.account_id);
            let team = volunteer_team::Entity::insert(volunteer_team::ActiveModel {
                district_code: Set(DISTRICT.into()),
                street_id: Set(at.street_id),
                community_id: Set(Some(community.id)),
                compound_id: Set((at.id == compound.id).then_some(compound.id)),
                place_id: Set(at.id),
                name: Set(name),
                kind: Set(kind.as_str().into()),
                leader_account_id: Set(leader),
                created_by: Set(None),
                created_at: Set(now - Duration::days(60)),
                ..Default::default()
            })
            .exec(db)
            .await?
            .last_insert_id;
            made += 1;
            let mut members = Vec::new();
            for p in &people {
                members.push(
                    volunteer_member::Entity::insert(volunteer_member::ActiveModel {
                        team_id: Set(team),
                        district_code: Set(DISTRICT.into()),
                        account_id: Set(Some(p.account_id)),
                        person_id: Set(None),
                        name: Set(p.name.clone()),
                        party_member: Set(p.party),
                        joined_on: Set(today - Duration::days(60)),
                        left_on: Set(None),
                        ..Default::default()
                    })
                    .exec(db)
                    .await?
                    .last_insert_id,
                );
            }
            if members.is_empty() {
                members.push(
                    volunteer_member::Entity::insert(volunteer_member::ActiveModel {
                        team_id: Set(team),
                        district_code: Set(DISTRICT.into()),
                        account_id: Set(None),
                        person_id: Set(None),
                        name: Set("王阿姨".into()),
                        party_member: Set(false),
                        joined_on: Set(today - Duration::days(60)),
                        left_on: Set(None),
                        ..Default::default()
                    })
                    .exec(db)
                    .await?
                    .last_insert_id,
                );
            }
            made += members.len();
            for (i, title) in ["月度集中服务", "节日志愿活动"].into_iter().enumerate() {
                let credit = |k: usize| 60 + 30 * ((k + i) % 4) as i32;
                let activity =
                    volunteer_activity::Entity::insert(volunteer_activity::ActiveModel {
                        team_id: Set(team),
                        district_code: Set(DISTRICT.into()),
                        held_on: Set(today - Duration::days(7 + 14 * i as i64)),
                        title: Set(title.into()),
                        recorded_by: Set(leader),
                        created_at: Set(now - Duration::days(7 + 14 * i as i64)),
                        minutes: Set((0..members.len()).map(credit).sum()),
                        ..Default::default()
                    })
                    .exec(db)
                    .await?
                    .last_insert_id;
                volunteer_activity_credit::Entity::insert_many(members.iter().enumerate().map(
                    |(k, m)| volunteer_activity_credit::ActiveModel {
                        activity_id: Set(activity),
                        member_id: Set(*m),
                        district_code: Set(DISTRICT.into()),
                        minutes: Set(credit(k)),
                        ..Default::default()
                    },
                ))
                .exec(db)
                .await?;
                made += 1 + members.len();
            }
            if kind != TeamKind::Patrol {
                continue;
            }
            // Night shifts 19:00–21:00 China time (11:00–13:00 UTC): three
            // past, checked in and out with a log, three to come with sign-ups.
            let eleven = NaiveTime::from_hms_opt(11, 0, 0).unwrap_or_default();
            let mut times: Vec<(i64, chrono::DateTime<Utc>)> = [-3i64, -2, -1, 1, 2, 3]
                .into_iter()
                .map(|d| (d, (today + Duration::days(d)).and_time(eleven).and_utc()))
                .collect();
            // The first patrol team also has a shift about to start, with
            // every place free: members sign up and check in at once
            // (check-in opens 30 minutes before the start).
            if n == 0 {
                times.push((0, soon()));
            }
            for (d, starts) in times {
                let ends = starts + Duration::hours(2);
                let past = d < 0;
                let taking = if d == 0 { 0 } else { 2 };
                // Who signs up, with their check-in and out and minutes.
                let signups: Vec<_> = members
                    .iter()
                    .take(taking)
                    .enumerate()
                    .map(|(k, m)| {
                        let (inn, out) = if past {
                            let inn = starts - Duration::minutes(5 * k as i64);
                            (Some(inn), Some(ends - Duration::minutes(10 * k as i64)))
                        } else {
                            (None, None)
                        };
                        let minutes = match (inn, out) {
                            (Some(i), Some(o)) => rules::patrolled_minutes(starts, ends, i, o),
                            _ => 0,
                        };
                        (k, *m, inn, out, minutes)
                    })
                    .collect();
                let shift = patrol_shift::Entity::insert(patrol_shift::ActiveModel {
                    team_id: Set(team),
                    district_code: Set(DISTRICT.into()),
                    starts_at: Set(starts),
                    ends_at: Set(ends),
                    route: Set("东门—1号楼—车棚—北门".into()),
                    slots: Set(3),
                    created_by: Set(leader),
                    created_at: Set(now - Duration::days(7)),
                    signed_up: Set(signups.len() as i32),
                    minutes: Set(signups.iter().map(|x| x.4).sum()),
                    ..Default::default()
                })
                .exec(db)
                .await?
                .last_insert_id;
                made += 1;
                for (k, m, inn, out, minutes) in signups {
                    patrol_signup::Entity::insert(patrol_signup::ActiveModel {
                        shift_id: Set(shift),
                        member_id: Set(m),
                        district_code: Set(DISTRICT.into()),
                        signed_at: Set(starts - Duration::days(2)),
                        checked_in_at: Set(inn),
                        checked_out_at: Set(out),
                        minutes: Set(minutes),
                        ..Default::default()
                    })
                    .exec(db)
                    .await?;
                    made += 1;
                    if past && k == 0 {
                        let (body, incident) = LOGS[(d + 3) as usize % LOGS.len()];
                        patrol_log::Entity::insert(patrol_log::ActiveModel {
                            shift_id: Set(shift),
                            member_id: Set(m),
                            district_code: Set(DISTRICT.into()),
                            at: Set(starts + Duration::minutes(50)),
                            body: Set(body.into()),
                            incident: Set(incident),
                            matter_id: Set(None),
                            ..Default::default()
                        })
                        .exec(db)
                        .await?;
                        made += 1;
                    }
                }
            }
        }
    }
    Ok(made)
}
