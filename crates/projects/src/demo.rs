//! Demo projects, loaded once by `serve --demo` after the agencies and
//! their pairings: for the first current pairings (those of agencies with
//! an admin account first), the compound states a need and the agency runs
//! a project on it, each at another stage of its life — awaiting review,
//! returned, approved, in progress with updates, done and evaluated by the
//! party organisation and residents. Written with the accounts the demo
//! already has (the agency's admin, the street admin, the compound's
//! secretary and residents) where they exist. Nothing is written when no
//! agency is paired yet, or when projects exist already.

use std::collections::HashSet;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use jinlin_agencies::entity::{agency, agency_account, agency_pairing};
use jinlin_agencies::rules::Category;
use jinlin_kernel::ApiError;
use jinlin_kernel::auth::Role;
use jinlin_kernel::auth::entity::{account, role_grant};
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::place::entity as place;
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait,
};

use crate::api::china_today;
use crate::entity::{project, project_evaluation};
use crate::rules::{Action, Actor, Evaluator, State, voter_key};
use crate::store::{self, NewRow, StepRow};

/// One step to write: action, actor, the state after, who, reason, when.
type Step<'a> = (Action, Actor, State, &'a Who, Option<String>, DateTime<Utc>);

/// Pairings that get a project.
const PROJECTS: usize = 8;

/// How far a demo project has come.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Planned,
    Returned,
    Approved,
    InProgress,
    Done,
    Evaluated,
}

/// (stage, need, title, plan, updates)
const SCENARIOS: &[(Stage, &str, &str, &str, &[&str])] = &[
    (
        Stage::Evaluated,
        "小区老年人较多，希望定期有人上门开展健康咨询和慢病随访。",
        "“银龄关爱”进小区",
        "每月第二个周六在小区党群服务站开展一次健康咨询、慢病随访和防诈骗宣传，组织党员志愿者结对帮扶独居老人。",
        &[
            "首次活动在党群服务站举行，为 46 位老人测量血压血糖，建立随访台账。",
            "党员志愿者与 12 户独居老人结对，完成首轮上门走访。",
        ],
    ),
    (
        Stage::InProgress,
        "楼道堆物多，消防通道常被占用，希望帮助整治。",
        "楼道环境与消防通道整治",
        "联合物业、业委会对全部楼道开展杂物清理，划定消防通道标线，建立楼栋长巡查制度。",
        &[
            "完成 1—4 号楼楼道清理，清运杂物约 3 车。",
            "消防通道标线施划完毕，张贴告知书。",
        ],
    ),
    (
        Stage::Approved,
        "双职工家庭多，孩子放学后无人照看。",
        "“四点钟学校”课后托管",
        "利用小区架空层开设课后托管，机关党员轮流担任志愿辅导员，每周一至周五 16:00—18:00。",
        &[],
    ),
    (
        Stage::Planned,
        "多栋老楼希望加装电梯，居民对政策和流程不了解。",
        "既有住宅加装电梯政策宣讲",
        "组织两场政策宣讲会，解读补助政策和审批流程，为有意向的楼栋提供一对一咨询。",
        &[],
    ),
    (
        Stage::Evaluated,
        "夜间小区照明不足，出行不安全。",
        "“萤火虫”夜间巡逻与照明改善",
        "协调增设 20 盏庭院灯，机关党员与居民志愿者组成夜间巡逻队，每周巡逻三次。",
        &["新增庭院灯全部通电，巡逻队完成首月排班。"],
    ),
    (
        Stage::Returned,
        "垃圾分类投放点设置不合理，居民意见较多。",
        "垃圾分类投放点优化",
        "调整投放点位置，增设洗手池，开展分类指导。",
        &[],
    ),
    (
        Stage::InProgress,
        "社区文化活动少，希望丰富居民业余生活。",
        "邻里文化节",
        "举办邻里文化节，组织广场舞、书画展和亲子游园活动，邀请社会组织参与。",
        &["书画展征集作品 68 件，布展完成。"],
    ),
    (
        Stage::Done,
        "部分居民对电信诈骗识别能力弱。",
        "反诈宣传进楼栋",
        "逐栋张贴反诈提示，开展两场反诈讲座，组建反诈宣传志愿者队伍。",
        &["完成两场讲座，发放宣传资料 500 份。"],
    ),
];

/// An account that acts in the demo: its id and name, or a stand-in name.
struct Who {
    id: Option<i64>,
    name: String,
}

async fn who(db: &impl ConnectionTrait, id: Option<i64>, fallback: &str) -> Result<Who, ApiError> {
    let name = match id {
        Some(id) => account::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(|a| a.display_name),
        None => None,
    };
    Ok(Who {
        id,
        name: name.unwrap_or_else(|| fallback.to_string()),
    })
}

/// Accounts living in the compound (resident or party member), with their
/// dwelling.
async fn households(
    db: &impl ConnectionTrait,
    compound_id: i64,
) -> Result<Vec<(i64, i64)>, ApiError> {
    let dwellings = place::Entity::find()
        .select_only()
        .column(place::Column::Id)
        .filter(place::Column::CompoundId.eq(compound_id))
        .filter(place::Column::Kind.eq(PlaceKind::Dwelling.as_str()))
        .into_query();
    let grants = role_grant::Entity::find()
        .filter(
            role_grant::Column::Role.is_in([Role::Resident.as_str(), Role::PartyMember.as_str()]),
        )
        .filter(role_grant::Column::PlaceId.in_subquery(dwellings))
        .order_by_asc(role_grant::Column::Id)
        .limit(4)
        .all(db)
        .await?;
    let mut seen = HashSet::new();
    Ok(grants
        .into_iter()
        .filter(|g| seen.insert(g.place_id))
        .map(|g| (g.account_id, g.place_id))
        .collect())
}

fn days(n: i64) -> Duration {
    Duration::days(n)
}

/// Fills the demo district; returns how many records it wrote.
pub async fn seed_demo(db: &impl ConnectionTrait) -> Result<usize, ApiError> {
    if project::Entity::find().count(db).await? > 0 {
        return Ok(0);
    }
    let mut pairings = agency_pairing::Entity::find()
        .filter(agency_pairing::Column::EndedAt.is_null())
        .order_by_asc(agency_pairing::Column::Id)
        .all(db)
        .await?;
    if pairings.is_empty() {
        return Ok(0);
    }
    let administered: HashSet<i64> = agency_account::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|l| l.agency_id)
        .collect();
    // Agencies someone can sign in for come first, so the demo's agency
    // admin finds projects of their own.
    pairings.sort_by_key(|p| !administered.contains(&p.agency_id));
    let mut used = HashSet::new();
    let mut written = 0;
    let now = Utc::now();
    for p in pairings {
        if used.len() >= PROJECTS {
            break;
        }
        if !used.insert(p.compound_id) {
            continue;
        }
        let i = used.len() - 1;
        written += seed_one(db, &p, SCENARIOS[i % SCENARIOS.len()], i, now).await?;
    }
    Ok(written)
}

async fn seed_one(
    db: &impl ConnectionTrait,
    pairing: &agency_pairing::Model,
    (stage, need, title, plan, updates): (Stage, &str, &str, &str, &[&str]),
    i: usize,
    now: DateTime<Utc>,
) -> Result<usize, ApiError> {
    let Some(compound) = place::Entity::find_by_id(pairing.compound_id)
        .one(db)
        .await?
    else {
        return Ok(0);
    };
    let Some(a) = agency::Entity::find_by_id(pairing.agency_id)
        .one(db)
        .await?
    else {
        return Ok(0);
    };
    let mut written = 0;
    let admin = store::agency_admins(db, a.id).await?.first().copied();
    let agent = who(db, admin, &a.party_org_name).await?;
    let street_admin = match compound.street_id {
        Some(s) => store::holders(db, Role::StreetAdmin, s)
            .await?
            .first()
            .copied(),
        None => None,
    };
    let reviewer = who(db, street_admin, "街道党工委").await?;
    let secretary_id = store::holders(db, Role::CompoundSecretary, compound.id)
        .await?
        .first()
        .copied();
    let secretary = who(db, secretary_id, "小区党支部").await?;

    // Each project starts a little later than the one before.
    let offset = i as i64 * 3;
    let created = now - days(70 - offset);
    let category = Category::parse(&a.category).unwrap_or(Category::Other);
    let n = store::insert_need(
        db,
        &compound,
        category.as_str(),
        need,
        secretary.id,
        created - days(7),
    )
    .await?;
    written += 1;
    let today = china_today(now);
    let (start, end): (NaiveDate, NaiveDate) = match stage {
        Stage::Planned | Stage::Returned | Stage::Approved => (today + days(10), today + days(100)),
        _ => (china_today(created + days(8)), today + days(30)),
    };
    let p = store::insert_project(
        db,
        NewRow {
            compound: &compound,
            agency_id: a.id,
            need_id: n.id,
            function: category.as_str(),
            title,
            plan,
            planned_start: start,
            planned_end: end,
            by: agent.id,
            at: created,
        },
    )
    .await?;
    written += 1;
    let mut steps: Vec<Step> = vec![(
        Action::Submit,
        Actor::Agency,
        State::Planned,
        &agent,
        None,
        created,
    )];
    let reviewed = created + days(3);
    match stage {
        Stage::Planned => {}
        Stage::Returned => steps.push((
            Action::Return,
            Actor::Reviewer,
            State::Returned,
            &reviewer,
            Some("请补充投放点调整方案与业委会、物业的沟通情况。".into()),
            reviewed,
        )),
        _ => steps.push((
            Action::Approve,
            Actor::Reviewer,
            State::Approved,
            &reviewer,
            None,
            reviewed,
        )),
    }
    let started = created + days(8);
    if matches!(stage, Stage::InProgress | Stage::Done | Stage::Evaluated) {
        steps.push((
            Action::Start,
            Actor::Agency,
            State::InProgress,
            &agent,
            None,
            started,
        ));
    }
    let completed = now - days(6);
    if matches!(stage, Stage::Done | Stage::Evaluated) {
        steps.push((
            Action::Complete,
            Actor::Agency,
            State::Done,
            &agent,
            None,
            completed,
        ));
    }
    let mut from = None;
    for (action, actor, to, w, reason, at) in &steps {
        store::record_step(
            db,
            p.id,
            StepRow {
                action: *action,
                actor: *actor,
                from,
                to: *to,
                account_id: w.id,
                actor_name: &w.name,
                reason: reason.clone(),
                at: *at,
            },
        )
        .await?;
        written += 1;
        from = Some(*to);
    }
    let state = from.unwrap_or(State::Planned);
    if matches!(stage, Stage::InProgress | Stage::Done | Stage::Evaluated) {
        let first = china_today(started);
        for (k, body) in updates.iter().enumerate() {
            let day = (first + days(5 + 12 * k as i64)).min(today);
            store::insert_update(
                db,
                p.id,
                day,
                body,
                agent.id,
                &agent.name,
                started + days(5),
            )
            .await?;
            written += 1;
        }
    }
    let mut m: project::ActiveModel = p.clone().into();
    m.state = Set(state.as_str().into());
    m.updated_at = Set(steps.last().map(|s| s.5).unwrap_or(created));
    if state == State::InProgress || state == State::Done {
        m.started_at = Set(Some(started));
    }
    if state == State::Done {
        m.completed_at = Set(Some(completed));
        m.summary = Set(Some(format!(
            "{title}按计划完成，小区党组织和居民代表参与验收，相关做法已纳入长效机制。"
        )));
    }
    project::Entity::update(m).exec(db).await?;

    if stage == Stage::Evaluated {
        let mut evaluations = Vec::new();
        if let Some(s) = secretary.id {
            evaluations.push((
                Evaluator::PartyOrg,
                None,
                s,
                5 - (i % 2) as i16,
                "项目贴合小区需求，机关党员参与积极。",
            ));
        }
        for (k, (acc, dwelling)) in households(db, compound.id).await?.into_iter().enumerate() {
            evaluations.push((
                Evaluator::Resident,
                Some(dwelling),
                acc,
                [5, 4, 4, 3][k % 4],
                [
                    "很实用，希望长期坚持。",
                    "",
                    "效果不错。",
                    "宣传可以再早一些。",
                ][k % 4],
            ));
        }
        for (evaluator, dwelling, acc, score, comment) in evaluations {
            project_evaluation::Entity::insert(project_evaluation::ActiveModel {
                project_id: Set(p.id),
                district_code: Set(p.district_code.clone()),
                evaluator: Set(evaluator.as_str().into()),
                voter_key: Set(voter_key(evaluator, dwelling, acc)),
                dwelling_id: Set(dwelling),
                account_id: Set(acc),
                score: Set(score),
                comment: Set(comment.into()),
                created_at: Set(completed + days(2)),
                ..Default::default()
            })
            .exec(db)
            .await?;
            written += 1;
        }
    }
    Ok(written)
}
