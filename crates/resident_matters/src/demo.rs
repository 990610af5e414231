//! Demo matters: for the first compounds that have property staff, a
//! resident account and a community worker, one matter at each stage of
//! its life, some of them late, raised and moved through the same
//! operations the pages use. Deterministic: the same tree gives the same
//! matters.

use chrono::{Duration, Utc};
use jinlin_kernel::ApiError;
use jinlin_kernel::auth::entity::role_grant;
use jinlin_kernel::auth::{AuthVia, Principal, Role, load};
use jinlin_kernel::place::entity as place;
use sea_orm::sea_query::{Query, SelectStatement};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::matters::{self, Action, NewMatter};
use crate::rules::{ActionKind, HandlerKind, Satisfaction, Urgency};

const COMPOUNDS: usize = 12;

/// (category, urgency, title, description, public)
const TOPICS: &[(&str, Urgency, &str, &str, bool)] = &[
    (
        "utilities",
        Urgency::Normal,
        "3号楼停水",
        "3号楼从早上起停水，没有收到停水通知。",
        true,
    ),
    (
        "sanitation",
        Urgency::Normal,
        "垃圾分类点清运不及时",
        "东门垃圾分类点已两天未清运，气味很大。",
        true,
    ),
    (
        "facility_repair",
        Urgency::Normal,
        "单元门禁损坏",
        "2单元门禁无法刷卡开门，老人出入不便。",
        false,
    ),
    (
        "parking",
        Urgency::Complex,
        "消防通道被占用",
        "小区北侧消防通道长期停放车辆。",
        true,
    ),
    (
        "neighbour_dispute",
        Urgency::Normal,
        "楼上漏水影响我家",
        "楼上卫生间漏水，协商未果，请社区协调。",
        false,
    ),
    (
        "safety_hazard",
        Urgency::Emergency,
        "楼道电线裸露",
        "5号楼1单元楼道电线裸露，存在触电危险。",
        true,
    ),
    (
        "property_service",
        Urgency::Normal,
        "物业维修响应慢",
        "报修一周仍无人上门。",
        false,
    ),
];

async fn principal(db: &impl ConnectionTrait, account_id: i64) -> Result<Principal, ApiError> {
    load(db, account_id, AuthVia::Token { can_write: true })
        .await?
        .ok_or_else(|| ApiError::internal("demo account"))
}

async fn first_grant(
    db: &impl ConnectionTrait,
    role: Role,
    place_ids: SelectStatement,
) -> Result<Option<role_grant::Model>, ApiError> {
    Ok(role_grant::Entity::find()
        .filter(role_grant::Column::Role.eq(role.as_str()))
        .filter(role_grant::Column::PlaceId.in_subquery(place_ids))
        .order_by_asc(role_grant::Column::Id)
        .one(db)
        .await?)
}

/// Fills the first compounds with matters at every stage. In the
/// caller's transaction; returns the matters made.
pub async fn seed_demo(db: &impl ConnectionTrait) -> Result<usize, ApiError> {
    let staff = role_grant::Entity::find()
        .filter(role_grant::Column::Role.eq(Role::PropertyStaff.as_str()))
        .order_by_asc(role_grant::Column::PlaceId)
        .all(db)
        .await?;
    let mut made = 0;
    let mut used = 0;
    let start = Utc::now() - Duration::days(12);
    for grant in staff {
        if used == COMPOUNDS {
            break;
        }
        let Some(compound) = place::Entity::find_by_id(grant.place_id).one(db).await? else {
            continue;
        };
        let Some(community) = compound.community_id else {
            continue;
        };
        let in_compound = Query::select()
            .column(place::Column::Id)
            .from(place::Entity)
            .and_where(place::Column::CompoundId.eq(compound.id))
            .to_owned();
        let Some(resident) = first_grant(db, Role::Resident, in_compound).await? else {
            continue;
        };
        let Some(worker) = role_grant::Entity::find()
            .filter(role_grant::Column::Role.eq(Role::CommunityWorker.as_str()))
            .filter(role_grant::Column::PlaceId.eq(community))
            .one(db)
            .await?
        else {
            continue;
        };
        let resident = principal(db, resident.account_id).await?;
        let worker = principal(db, worker.account_id).await?;
        let property = principal(db, grant.account_id).await?;
        let home = resident
            .grants
            .iter()
            .find(|g| g.role == Role::Resident)
            .map(|g| g.place.id)
            .unwrap_or(compound.id);
        for stage in 0..6 {
            let (category, urgency, title, description, public) =
                TOPICS[(used + stage) % TOPICS.len()];
            let at = start + Duration::hours((used * 7 + stage * 29) as i64);
            let m = matters::raise(
                db,
                &resident,
                &NewMatter {
                    category: category.into(),
                    urgency,
                    title: title.into(),
                    description: description.into(),
                    place_id: if public { compound.id } else { home },
                    address: None,
                    latitude_e6: None,
                    longitude_e6: None,
                    public,
                },
                at,
            )
            .await?;
            made += 1;
            let steps: &[(&Principal, Action, i64)] = &[
                (
                    &worker,
                    Action {
                        to: Some(HandlerKind::PropertyCompany),
                        ..Action::new(ActionKind::Dispatch)
                    },
                    1,
                ),
                (&property, Action::new(ActionKind::Accept), 3),
                (
                    &property,
                    Action {
                        note: Some("已安排人员上门处理。".into()),
                        ..Action::new(ActionKind::Reply)
                    },
                    20,
                ),
                (
                    &resident,
                    Action {
                        satisfaction: Some(Satisfaction::Satisfied),
                        note: Some("处理及时，谢谢。".into()),
                        ..Action::new(ActionKind::Rate)
                    },
                    30,
                ),
            ];
            // Stage 0 stays in intake; 5 is accepted and left to run late.
            let take = match stage {
                5 => 2,
                s => s.min(steps.len()),
            };
            for (who, action, hours) in &steps[..take] {
                matters::act(db, who, m.id, action, at + Duration::hours(*hours)).await?;
            }
        }
        used += 1;
    }
    Ok(made)
}
