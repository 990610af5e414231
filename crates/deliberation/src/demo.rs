//! Demo matters: a few compounds' boards filled with matters at every step,
//! moved by the compounds' own demo accounts through the same rules as the
//! pages, with one closed owners' vote and one open. Deterministic: the
//! same register gives the same boards.

use chrono::{Duration, Utc};
use jinlin_kernel::ApiError;
use jinlin_kernel::auth::entity::role_grant;
use jinlin_kernel::auth::{AuthVia, Principal, Role, load};
use jinlin_kernel::place::entity as place;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::entity::{matter, vote};
use crate::matters::{self, ActionInput, AdvanceInput, NewEvaluation, NewMatter};
use crate::process::{Attendee, Party};
use crate::vote::Choice;
use crate::votes;

/// How many compounds get demo matters.
const COMPOUNDS: usize = 12;

const TOPICS: [(&str, &str, Option<u8>); 8] = [
    (
        "加装电梯",
        "3号楼、5号楼多为老年住户，上下楼困难，建议加装电梯，费用按楼层分摊，申请既有住宅加装电梯补助。",
        Some(7),
    ),
    (
        "选聘新的物业服务企业",
        "现物业合同年底到期，服务投诉较多，建议公开选聘新的物业服务企业。",
        Some(4),
    ),
    (
        "增设电动自行车集中充电棚",
        "楼道内充电存在火灾隐患，建议在小区北侧空地增设集中充电棚。",
        Some(8),
    ),
    (
        "使用维修资金修缮屋面防水",
        "顶楼住户反映雨季漏水，建议使用专项维修资金对1至4号楼屋面进行防水修缮。",
        Some(5),
    ),
    (
        "规范小区停车位划线",
        "道路两侧乱停车影响消防通道，建议重新划定停车位并设置消防通道标识。",
        None,
    ),
    (
        "改造垃圾分类投放点",
        "现有投放点异味大、位置不便，建议改造为带洗手池的分类投放亭。",
        None,
    ),
    (
        "修订管理规约",
        "管理规约制定于十年前，宠物管理、装修时间等条款需要更新。",
        Some(2),
    ),
    (
        "增设儿童游乐设施",
        "小区内没有儿童活动场地，建议在中心绿地增设儿童游乐设施。",
        None,
    ),
];

struct Cast {
    secretary: Principal,
    resident: Option<Principal>,
}

async fn principal(db: &impl ConnectionTrait, account_id: i64) -> Result<Principal, ApiError> {
    load(db, account_id, AuthVia::Token { can_write: true })
        .await?
        .ok_or_else(|| ApiError::internal("demo account"))
}

/// Fills the boards of the first compounds that have a secretary and a
/// resident account. In the caller's transaction; returns the matters made.
pub async fn seed_demo(db: &impl ConnectionTrait) -> Result<usize, ApiError> {
    let secretaries = role_grant::Entity::find()
        .filter(role_grant::Column::Role.eq(Role::CompoundSecretary.as_str()))
        .order_by_asc(role_grant::Column::PlaceId)
        .all(db)
        .await?;
    let mut made = 0;
    let mut used = 0;
    for grant in secretaries {
        if used == COMPOUNDS {
            break;
        }
        let Some(compound) = place::Entity::find_by_id(grant.place_id).one(db).await? else {
            continue;
        };
        let resident_grant = role_grant::Entity::find()
            .filter(role_grant::Column::Role.eq(Role::Resident.as_str()))
            .filter(
                role_grant::Column::PlaceId.in_subquery(
                    sea_orm::sea_query::Query::select()
                        .column(place::Column::Id)
                        .from(place::Entity)
                        .and_where(Expr::col(place::Column::CompoundId).eq(compound.id))
                        .to_owned(),
                ),
            )
            .one(db)
            .await?;
        let cast = Cast {
            secretary: principal(db, grant.account_id).await?,
            resident: match resident_grant {
                Some(g) => Some(principal(db, g.account_id).await?),
                None => None,
            },
        };
        made += board(db, &compound, &cast, used).await?;
        used += 1;
    }
    Ok(made)
}

async fn advance(
    db: &impl ConnectionTrait,
    who: &Principal,
    compound: &place::Model,
    m: &matter::Model,
    input: AdvanceInput,
) -> Result<matter::Model, ApiError> {
    matters::act(db, who, compound, m, &ActionInput::Advance(input)).await
}

/// Moves a new matter on by `steps` steps (0: left as proposed).
async fn walk(
    db: &impl ConnectionTrait,
    compound: &place::Model,
    cast: &Cast,
    topic: usize,
    steps: usize,
) -> Result<matter::Model, ApiError> {
    let (title, description, joint) = TOPICS[topic % TOPICS.len()];
    let proposer = cast.resident.as_ref().unwrap_or(&cast.secretary);
    let new = NewMatter {
        title: title.into(),
        description: description.into(),
    };
    let mut m = matters::propose(db, proposer, compound, &new).await?;
    let sec = &cast.secretary;
    if steps >= 1 {
        let input = AdvanceInput {
            summary: Some("居民反映集中，小区党支部受理并牵头动议。".into()),
            ..Default::default()
        };
        m = advance(db, sec, compound, &m, input).await?;
    }
    if steps >= 2 {
        let input = AdvanceInput {
            plan: Some(format!("{description}具体方案经联席会议商议后公示。")),
            joint_decision: joint,
            ..Default::default()
        };
        m = advance(db, sec, compound, &m, input).await?;
    }
    if steps >= 3 {
        let (committee, company) = matters::compound_partners(db, compound.id).await?;
        let mut attendees = vec![
            Attendee {
                party: Party::CompoundPartyOrg,
                name: sec.display_name.clone(),
            },
            Attendee {
                party: Party::Community,
                name: "社区网格员".into(),
            },
        ];
        if committee {
            attendees.push(Attendee {
                party: Party::OwnersCommittee,
                name: "业委会主任".into(),
            });
        }
        if company {
            attendees.push(Attendee {
                party: Party::PropertyCompany,
                name: "物业项目经理".into(),
            });
        }
        let input = AdvanceInput {
            held_at: Some(Utc::now() - Duration::days(2)),
            attendees,
            minutes: Some("党组织、业委会、物业、社区四方商议，同意方案，提交公议。".into()),
            ..Default::default()
        };
        m = advance(db, sec, compound, &m, input).await?;
    }
    Ok(m)
}

/// Publication long enough ago for public review to be completed.
async fn publish_since(
    db: &impl ConnectionTrait,
    m: &matter::Model,
    days: i64,
) -> Result<matter::Model, ApiError> {
    let from = Utc::now() - Duration::days(days);
    matter::Entity::update_many()
        .col_expr(matter::Column::ReviewFrom, Expr::value(from))
        .filter(matter::Column::Id.eq(m.id))
        .exec(db)
        .await?;
    matter::Entity::find_by_id(m.id)
        .one(db)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// Ballots of a share of the voters (in per cent), entered by the party
/// organisation from written ballots: most for, some against, a few
/// abstaining.
async fn ballots(
    db: &impl ConnectionTrait,
    sec: &Principal,
    vote_id: i64,
    share: usize,
) -> Result<(), ApiError> {
    let v = vote::Entity::find_by_id(vote_id)
        .one(db)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let loaded = votes::load(db, &v).await?;
    // The largest holdings first (the developer's unsold units among them),
    // so a share of the owners is at least that share of the area.
    let mut voters: Vec<_> = loaded.electorate.voters().iter().collect();
    voters.sort_by_key(|v| std::cmp::Reverse(v.area_centi_m2));
    for (i, voter) in voters.iter().enumerate() {
        if i * 100 >= voters.len() * share {
            break;
        }
        let choice = match i % 20 {
            17 | 18 => Choice::Against,
            19 => Choice::Abstain,
            _ => Choice::For,
        };
        let ballot_for = votes::BallotFor {
            voter: votes::voter_key(&voter.owner),
            entered_by: Some(sec.account_id),
        };
        votes::cast(db, sec, vote_id, ballot_for, choice).await?;
    }
    Ok(())
}

async fn board(
    db: &impl ConnectionTrait,
    compound: &place::Model,
    cast: &Cast,
    index: usize,
) -> Result<usize, ApiError> {
    let sec = &cast.secretary;
    let round = index / 4;
    match index % 4 {
        0 => {
            // A vote closed and passed, the work done and judged.
            let m = walk(db, compound, cast, [1, 3][round % 2], 3).await?;
            // A short vote, closed once its time is up (the demo's clock
            // runs a minute ahead rather than the record being altered).
            let v = votes::open(db, sec, &m, Utc::now() + Duration::minutes(1)).await?;
            ballots(db, sec, v.id, 85).await?;
            votes::close_at(db, v.id, Utc::now() + Duration::minutes(2)).await?;
            let m = publish_since(db, &m, 10).await?;
            let m = advance(db, sec, compound, &m, AdvanceInput::default()).await?;
            if let Some(resident) = &cast.resident {
                let judged = NewEvaluation {
                    satisfied: true,
                    comment: "办得好，效率高。".into(),
                };
                matters::add_evaluation(db, resident, &m, &judged).await?;
                advance(db, sec, compound, &m, AdvanceInput::default()).await?;
            }
        }
        1 => {
            // A vote under way.
            let m = walk(db, compound, cast, [0, 2, 6][round % 3], 3).await?;
            let v = votes::open(db, sec, &m, Utc::now() + Duration::days(10)).await?;
            ballots(db, sec, v.id, 40).await?;
        }
        2 => {
            walk(db, compound, cast, 4, 2).await?;
        }
        _ => {
            let m = walk(db, compound, cast, 5, 1).await?;
            let reason = "该事项属市政道路管理范围，已转交街道城管科办理。";
            matters::act(
                db,
                sec,
                compound,
                &m,
                &ActionInput::Reject {
                    reason: reason.into(),
                },
            )
            .await?;
        }
    }
    walk(db, compound, cast, 7, 0).await?;
    Ok(2)
}
