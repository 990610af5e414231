//! Demo data, loaded once by `serve --demo` after the places, accounts and
//! the capabilities before this one.
//!
//! Every community gets a party-community service centre, every fifth
//! compound an open ground floor or an elder canteen, and each venue a few
//! bookings on the working days of this week and next, some cancelled,
//! organised by the community's worker where the demo has one.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use jinlin_kernel::ApiError;
use jinlin_kernel::auth::Role;
use jinlin_kernel::auth::entity::role_grant;
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::place::entity as place;
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};

use crate::api;
use crate::entity::{venue, venue_booking};
use crate::rules::{OpeningHours, Purpose, Slot, VenueKind, china};

const TITLES: [(&str, Purpose); 8] = [
    ("主题党日活动", Purpose::Meeting),
    ("四点钟学校", Purpose::Session),
    ("长者健康讲座", Purpose::Session),
    ("网格员例会", Purpose::Meeting),
    ("邻里文艺汇演排练", Purpose::Activity),
    ("心理咨询服务", Purpose::Session),
    ("业委会与物业联席会", Purpose::Meeting),
    ("萤火虫巡逻队集合", Purpose::Activity),
];

fn hours(kind: VenueKind) -> OpeningHours {
    let mut s = Vec::new();
    let slot = |weekday, open: &str, close: &str| Slot {
        weekday,
        open: open.into(),
        close: close.into(),
    };
    match kind {
        VenueKind::ElderCanteen => {
            for d in 1..=7 {
                s.push(slot(d, "10:30", "13:00"));
                s.push(slot(d, "16:30", "18:30"));
            }
        }
        _ => {
            for d in 1..=5 {
                s.push(slot(d, "08:30", "12:00"));
                s.push(slot(d, "14:00", "21:00"));
            }
            s.push(slot(6, "09:00", "17:00"));
        }
    }
    OpeningHours::parse(&s).unwrap_or_default()
}

fn at(day: NaiveDate, h: u32, m: u32) -> chrono::DateTime<Utc> {
    china()
        .from_local_datetime(&day.and_time(NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default()))
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(Utc::now)
}

/// Fills the demo district; returns how many records it wrote.
pub async fn seed_demo(db: &impl ConnectionTrait) -> Result<usize, ApiError> {
    if venue::Entity::find().count(db).await? > 0 {
        return Ok(0);
    }
    let places = place::Entity::find()
        .filter(
            place::Column::Kind
                .is_in([PlaceKind::Community.as_str(), PlaceKind::Compound.as_str()]),
        )
        .order_by_asc(place::Column::Id)
        .all(db)
        .await?;
    let workers: HashMap<i64, i64> = role_grant::Entity::find()
        .filter(role_grant::Column::Role.eq(Role::CommunityWorker.as_str()))
        .all(db)
        .await?
        .into_iter()
        .map(|g| (g.place_id, g.account_id))
        .collect();
    let now = Utc::now();
    let mut rows = Vec::new();
    let mut compound_n = 0usize;
    for p in &places {
        let (kind, name, capacity) = if p.kind == PlaceKind::Community.as_str() {
            (
                VenueKind::ServiceCentre,
                format!("{}党群活动服务中心", p.name),
                120,
            )
        } else {
            compound_n += 1;
            if compound_n % 5 != 1 {
                continue;
            }
            if compound_n % 10 == 1 {
                (VenueKind::OpenGroundFloor, format!("{}架空层", p.name), 60)
            } else {
                (VenueKind::ElderCanteen, format!("{}长者食堂", p.name), 40)
            }
        };
        let pos = p.position();
        rows.push(venue::ActiveModel {
            district_code: Set(p.district_code.clone().unwrap_or_default()),
            place_id: Set(p.id),
            street_id: Set(pos.ancestor_id(PlaceKind::Street)),
            community_id: Set(pos.ancestor_id(PlaceKind::Community)),
            compound_id: Set(pos.ancestor_id(PlaceKind::Compound)),
            name: Set(name),
            kind: Set(kind.as_str().into()),
            capacity: Set(capacity),
            opening_hours: Set(hours(kind).to_json()),
            facilities: Set(match kind {
                VenueKind::ServiceCentre => r#"["投影仪","音响","会议桌椅","无障碍通道"]"#,
                VenueKind::ElderCanteen => r#"["助餐窗口","适老化座椅"]"#,
                _ => r#"["桌椅","电源"]"#,
            }
            .into()),
            active: Set(true),
            created_by: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        });
    }
    let mut written = rows.len();
    for chunk in rows.chunks(500) {
        venue::Entity::insert_many(chunk.to_vec()).exec(db).await?;
    }
    let venues = venue::Entity::find()
        .order_by_asc(venue::Column::Id)
        .all(db)
        .await?;
    let monday = api::week_start(api::today());
    let mut bookings = Vec::new();
    for (i, v) in venues.iter().enumerate() {
        let organiser = v.community_id.and_then(|c| workers.get(&c)).copied();
        let canteen = v.kind == VenueKind::ElderCanteen.as_str();
        for d in 0..12i64 {
            // Working days of this week and next.
            if d % 7 >= 5 || (d + i as i64) % 3 == 2 {
                continue;
            }
            let day = monday + Duration::days(d);
            let n = (i + d as usize) % TITLES.len();
            let (title, purpose) = TITLES[n];
            let (start, end) = if canteen {
                (at(day, 11, 0), at(day, 12, 30))
            } else if n.is_multiple_of(2) {
                (at(day, 9, 0), at(day, 11, 0))
            } else {
                (at(day, 14, 30), at(day, 16, 30))
            };
            let cancelled = (i as i64 + d) % 7 == 3;
            bookings.push(venue_booking::ActiveModel {
                venue_id: Set(v.id),
                district_code: Set(v.district_code.clone()),
                place_id: Set(v.place_id),
                starts_at: Set(start),
                ends_at: Set(end),
                purpose: Set(if canteen { Purpose::Activity } else { purpose }
                    .as_str()
                    .into()),
                title: Set(if canteen { "长者助餐日" } else { title }.into()),
                organiser_account_id: Set(organiser),
                organiser_name: Set("社区党委".into()),
                expected_attendance: Set(if canteen { 30 } else { 25 }),
                state: Set(if cancelled { "cancelled" } else { "confirmed" }.into()),
                cancel_reason: Set(cancelled.then(|| "天气原因改期".into())),
                cancelled_at: Set(cancelled.then_some(now)),
                cancelled_by: Set(if cancelled { organiser } else { None }),
                created_by: Set(organiser),
                created_at: Set(now),
                ..Default::default()
            });
        }
    }
    written += bookings.len();
    for chunk in bookings.chunks(500) {
        venue_booking::Entity::insert_many(chunk.to_vec())
            .exec(db)
            .await?;
    }
    Ok(written)
}
