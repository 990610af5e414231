//! Demo data, loaded once by `serve --demo` after the places, accounts and
//! the capabilities before this one.
//!
//! Every street of a district held last quarter's meeting; its action
//! items are one done and one left open past its due date. This quarter
//! most streets held theirs (with items open, done and, where the quarter
//! is old enough, overdue), one has it scheduled, and two have none, so
//! the compliance view and the reminder have something to show. Invitees
//! are the street's first communities and compound party organisations
//! and an agency paired with one of its compounds (or any agency of the
//! district), whichever exist.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use jinlin_agencies::entity::{agency, agency_pairing};
use jinlin_kernel::ApiError;
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::place::entity as place;
use jinlin_organisations::entity::party_org;
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::entity::{joint_meeting, joint_meeting_action, joint_meeting_invitee};
use crate::rules::{self, ActionState, InviteeKind, MeetingState, Quarter};
use crate::store;

const AGENDA: &str =
    "一、通报本季度近邻党建工作情况；\n二、研究小区治理中的难点问题；\n三、部署下季度重点任务。";

const MINUTES: &str = "会议由街道党工委书记主持。各社区、小区党组织和挂钩机关单位汇报了本季度工作，\
会议逐项研究了居民反映集中的问题，形成决议如下，由责任单位按期办结并报街道党工委。";

/// What the demo resolutions ask for.
const RESOLUTIONS: &[&str] = &[
    "推动老旧小区加装电梯意见征集和方案公示",
    "整治小区消防通道占用问题，设置禁停标识",
    "完善小区党组织与业委会、物业交叉任职",
    "组织在职党员进小区开展志愿服务",
    "协调解决小区停车难问题，增设临时停车位",
    "在小区架空层建设党群服务驿站",
];

const VENUES: &[&str] = &[
    "街道党群服务中心会议室",
    "社区党群活动服务中心",
    "街道办事处三楼会议室",
];

/// Fills every district that has streets and no meetings yet; returns how
/// many records it wrote.
pub async fn seed_demo(db: &impl ConnectionTrait) -> Result<usize, ApiError> {
    let now = Utc::now();
    let districts = place::Entity::find()
        .filter(place::Column::Kind.eq(PlaceKind::District.as_str()))
        .all(db)
        .await?;
    let mut written = 0;
    for d in districts {
        let Some(code) = d.district_code.clone() else {
            continue;
        };
        let existing = joint_meeting::Entity::find()
            .filter(joint_meeting::Column::DistrictCode.eq(code.clone()))
            .count(db)
            .await?;
        if existing > 0 {
            continue;
        }
        written += seed_district(db, &d, &code, now).await?;
    }
    Ok(written)
}

struct Body {
    kind: InviteeKind,
    ref_id: i64,
    place_id: Option<i64>,
    name: String,
}

async fn bodies_of(
    db: &impl ConnectionTrait,
    street: &place::Model,
    agency: Option<&agency::Model>,
) -> Result<Vec<Body>, ApiError> {
    let mut out = Vec::new();
    for c in place::Entity::find()
        .filter(place::Column::Kind.eq(PlaceKind::Community.as_str()))
        .filter(place::Column::StreetId.eq(street.id))
        .order_by_asc(place::Column::Code)
        .order_by_asc(place::Column::Id)
        .limit(2)
        .all(db)
        .await?
    {
        out.push(Body {
            kind: InviteeKind::Community,
            ref_id: c.id,
            place_id: Some(c.id),
            name: c.name,
        });
    }
    for o in party_org::Entity::find()
        .filter(party_org::Column::StreetId.eq(street.id))
        .order_by_asc(party_org::Column::Id)
        .limit(2)
        .all(db)
        .await?
    {
        out.push(Body {
            kind: InviteeKind::PartyOrg,
            ref_id: o.id,
            place_id: Some(o.compound_id),
            name: o.name.chars().take(128).collect(),
        });
    }
    if let Some(a) = agency {
        out.push(Body {
            kind: InviteeKind::Agency,
            ref_id: a.id,
            place_id: None,
            name: a.name.chars().take(128).collect(),
        });
    }
    Ok(out)
}

async fn seed_district(
    db: &impl ConnectionTrait,
    district: &place::Model,
    code: &str,
    now: DateTime<Utc>,
) -> Result<usize, ApiError> {
    let streets = store::streets_in(db, district).await?;
    let agencies = jinlin_agencies::store::agencies_of_district(db, code).await?;
    // An agency already serving the street is the natural guest.
    let mut paired: HashMap<i64, i64> = HashMap::new();
    for p in agency_pairing::Entity::find()
        .filter(agency_pairing::Column::DistrictCode.eq(code))
        .filter(agency_pairing::Column::EndedAt.is_null())
        .order_by_asc(agency_pairing::Column::Id)
        .all(db)
        .await?
    {
        if let Some(s) = p.street_id {
            paired.entry(s).or_insert(p.agency_id);
        }
    }
    let q = Quarter::of(now);
    let prev = q.prev();
    let today = rules::china_date(now);
    let mut written = 0;
    for (i, street) in streets.iter().enumerate() {
        let agency = paired
            .get(&street.id)
            .and_then(|id| agencies.iter().find(|a| a.id == *id))
            .or_else(|| (!agencies.is_empty()).then(|| &agencies[i % agencies.len()]));
        let bodies = bodies_of(db, street, agency).await?;
        if bodies.is_empty() {
            continue;
        }
        let venue = VENUES[i % VENUES.len()];

        // Last quarter: held in its second month; one item done, one open
        // and long past due.
        let held = prev.starts_at() + Duration::days(40) + Duration::hours(7);
        let held_on = rules::china_date(held);
        let (meeting, invitees) = new_meeting(db, street, code, held, venue, &bodies, true).await?;
        written += 1 + invitees.len();
        written += action(
            db,
            street,
            code,
            meeting,
            1,
            RESOLUTIONS[i % RESOLUTIONS.len()],
            invitees[0],
            held_on + Duration::days(20),
            Some((
                held_on + Duration::days(18),
                "已完成意见征集，方案在小区公示栏公示七天。",
            )),
            now,
        )
        .await?;
        written += action(
            db,
            street,
            code,
            meeting,
            2,
            RESOLUTIONS[(i + 1) % RESOLUTIONS.len()],
            invitees[invitees.len() - 1],
            held_on + Duration::days(30),
            None,
            now,
        )
        .await?;

        // This quarter: two streets without a meeting, one scheduled, the
        // rest held.
        match i {
            1 | 4 => {}
            2 => {
                let at = (now + Duration::days(7))
                    .min(q.ends_at() - Duration::hours(10))
                    .max(q.starts_at() + Duration::hours(9));
                let (_, invitees) =
                    new_meeting(db, street, code, at, venue, &bodies, false).await?;
                written += 1 + invitees.len();
            }
            _ => {
                // Half-way between the quarter's start and now.
                let held = q.starts_at() + (now - q.starts_at()) / 2;
                let held_on = rules::china_date(held);
                let (meeting, invitees) =
                    new_meeting(db, street, code, held, venue, &bodies, true).await?;
                written += 1 + invitees.len();
                for (n, due_days) in [(1, 7), (2, 45), (3, 60)] {
                    let owner = invitees[(n as usize - 1) % invitees.len()];
                    let due = held_on + Duration::days(due_days);
                    // The first item is done when its due date has passed
                    // on even streets; on odd ones it is left overdue.
                    let done = (n == 1 && due < today && i % 2 == 0)
                        .then_some((today.min(due), "已按期办结，相关情况已向街道党工委报告。"));
                    written += action(
                        db,
                        street,
                        code,
                        meeting,
                        n,
                        RESOLUTIONS[(i + n as usize + 1) % RESOLUTIONS.len()],
                        owner,
                        due,
                        done,
                        now,
                    )
                    .await?;
                }
            }
        }
    }
    Ok(written)
}

/// A meeting with its invitees; held ones get attendance and minutes.
async fn new_meeting(
    db: &impl ConnectionTrait,
    street: &place::Model,
    code: &str,
    at: DateTime<Utc>,
    venue: &str,
    bodies: &[Body],
    held: bool,
) -> Result<(i64, Vec<i64>), ApiError> {
    let q = Quarter::of(at);
    let state = if held {
        MeetingState::Held
    } else {
        MeetingState::Scheduled
    };
    let id = joint_meeting::Entity::insert(joint_meeting::ActiveModel {
        district_code: Set(code.to_string()),
        street_id: Set(street.id),
        year: Set(q.year),
        quarter: Set(i16::from(q.q)),
        scheduled_at: Set(at),
        venue: Set(venue.to_string()),
        agenda: Set(AGENDA.to_string()),
        state: Set(state.as_str().into()),
        held_at: Set(held.then_some(at)),
        minutes: Set(held.then(|| MINUTES.to_string())),
        cancel_reason: Set(None),
        created_by: Set(None),
        recorded_by: Set(None),
        created_at: Set(at - Duration::days(14)),
        updated_at: Set(at),
        ..Default::default()
    })
    .exec(db)
    .await?
    .last_insert_id;
    let mut invitees = Vec::with_capacity(bodies.len());
    for (n, b) in bodies.iter().enumerate() {
        // Everyone came but the last body invited to a larger meeting.
        let attended = held.then_some(!(bodies.len() > 3 && n == bodies.len() - 1));
        let iid = joint_meeting_invitee::Entity::insert(joint_meeting_invitee::ActiveModel {
            meeting_id: Set(id),
            district_code: Set(code.to_string()),
            kind: Set(b.kind.as_str().into()),
            ref_id: Set(b.ref_id),
            place_id: Set(b.place_id),
            name: Set(b.name.clone()),
            attended: Set(attended),
            attendees: Set((attended == Some(true)).then(|| "党组织书记、联络员".to_string())),
            ..Default::default()
        })
        .exec(db)
        .await?
        .last_insert_id;
        invitees.push(iid);
    }
    Ok((id, invitees))
}

#[allow(clippy::too_many_arguments)]
async fn action(
    db: &impl ConnectionTrait,
    street: &place::Model,
    code: &str,
    meeting: i64,
    position: i32,
    text: &str,
    owner: i64,
    due_on: NaiveDate,
    done: Option<(NaiveDate, &str)>,
    now: DateTime<Utc>,
) -> Result<usize, ApiError> {
    let state = if done.is_some() {
        ActionState::Done
    } else {
        ActionState::Open
    };
    joint_meeting_action::Entity::insert(joint_meeting_action::ActiveModel {
        meeting_id: Set(meeting),
        district_code: Set(code.to_string()),
        street_id: Set(street.id),
        position: Set(position),
        text: Set(text.to_string()),
        owner_invitee_id: Set(owner),
        responsible: Set(None),
        due_on: Set(due_on),
        state: Set(state.as_str().into()),
        done_on: Set(done.map(|(d, _)| d)),
        done_note: Set(done.map(|(_, n)| n.to_string())),
        done_by: Set(None),
        overdue_notified_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    })
    .exec(db)
    .await?;
    Ok(1)
}
