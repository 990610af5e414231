//! Demo data, loaded once by `serve --demo` after the places, accounts and
//! the capabilities before this one.
//!
//! In the first district with compounds: four organisations (one with a
//! staff account `social-<n>`, same password as every demo account),
//! admitted to the first compounds (one application refused, one
//! admission withdrawn), services of several kinds with past sessions
//! (attendance and feedback) and upcoming ones with registrations by the
//! residents and party members of the compounds' communities.

use chrono::{Duration, DurationRound, Utc};
use jinlin_kernel::ApiError;
use jinlin_kernel::auth::Role;
use jinlin_kernel::auth::entity::{account, role_grant};
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::place::entity as place;
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::entity::{
    service, service_compound, service_session, session_feedback, session_registration, social_org,
    social_org_account, social_org_admission,
};
use crate::rules::{AdmissionState, OrgType, credit_code_check_char};

struct Org {
    name: &'static str,
    kind: OrgType,
    party: bool,
    contact: &'static str,
    phone: &'static str,
    /// (compound index, final state)
    admissions: &'static [(usize, AdmissionState)],
    /// (kind, title, compound index)
    services: &'static [(&'static str, &'static str, usize)],
}

const ORGS: [Org; 4] = [
    Org {
        name: "仓山区阳光社会工作服务中心",
        kind: OrgType::PrivateNonEnterprise,
        party: true,
        contact: "林晓华",
        phone: "13805910001",
        admissions: &[(0, AdmissionState::Approved), (1, AdmissionState::Approved)],
        services: &[
            ("after_school", "四点钟学校·作业辅导", 0),
            ("counselling", "心理咨询进小区", 1),
        ],
    },
    Org {
        name: "仓山区夕阳红老年协会",
        kind: OrgType::SocialGroup,
        party: true,
        contact: "陈秀英",
        phone: "13805910002",
        admissions: &[(0, AdmissionState::Approved), (2, AdmissionState::Approved)],
        services: &[
            ("elder_course", "老年课堂·智能手机使用", 0),
            ("health", "健康义诊", 2),
        ],
    },
    Org {
        name: "仓山区百姓艺术团",
        kind: OrgType::SocialGroup,
        party: false,
        contact: "王丽",
        phone: "13805910003",
        admissions: &[(1, AdmissionState::Approved), (3, AdmissionState::Refused)],
        services: &[("performance", "邻里文艺演出", 1)],
    },
    Org {
        name: "仓山区邻里互助公益基金会",
        kind: OrgType::Foundation,
        party: false,
        contact: "郑明",
        phone: "13805910004",
        admissions: &[(2, AdmissionState::Withdrawn)],
        services: &[],
    },
];

fn code_for(kind: OrgType, district: &str, n: usize) -> String {
    let category = match kind {
        OrgType::SocialGroup => '1',
        OrgType::PrivateNonEnterprise => '2',
        OrgType::Foundation => '3',
        OrgType::CommunityFiled => '9',
    };
    let body = format!("5{category}{district}MJD{:06}", 100 + n);
    let check = credit_code_check_char(&body).unwrap_or('0');
    format!("{body}{check}")
}

/// Fills the demo district; returns how many records it wrote.
pub async fn seed_demo(db: &impl ConnectionTrait) -> Result<usize, ApiError> {
    let Some(district) = place::Entity::find()
        .filter(place::Column::Kind.eq(PlaceKind::District.as_str()))
        .order_by_asc(place::Column::Id)
        .one(db)
        .await?
    else {
        return Ok(0);
    };
    let Some(code) = district.district_code.clone() else {
        return Ok(0);
    };
    let compounds = place::Entity::find()
        .filter(place::Column::Kind.eq(PlaceKind::Compound.as_str()))
        .filter(place::Column::DistrictCode.eq(code.clone()))
        .order_by_asc(place::Column::Id)
        .limit(4)
        .all(db)
        .await?;
    if compounds.len() < 4 {
        return Ok(0);
    }
    // Every demo account has the same password: reuse a hash.
    let Some(hash) = account::Entity::find()
        .order_by_asc(account::Column::Id)
        .one(db)
        .await?
        .map(|a| a.password_hash)
    else {
        return Ok(0);
    };
    let now = Utc::now()
        .duration_trunc(Duration::hours(1))
        .unwrap_or_else(|_| Utc::now());
    let mut written = 0;
    for (n, o) in ORGS.iter().enumerate() {
        let org_id = social_org::Entity::insert(social_org::ActiveModel {
            district_code: Set(code.clone()),
            name: Set(o.name.into()),
            registration_no: Set(code_for(o.kind, &code, n)),
            org_type: Set(o.kind.as_str().into()),
            contact_name: Set(o.contact.into()),
            contact_phone: Set(Some(o.phone.into())),
            has_party_org: Set(o.party),
            created_by: Set(None),
            created_at: Set(now - Duration::days(120)),
            updated_at: Set(now - Duration::days(120)),
            ..Default::default()
        })
        .exec(db)
        .await?
        .last_insert_id;
        let username = format!("social-{}", n + 1);
        let staff = jinlin_kernel::auth::accounts::create(
            db,
            jinlin_kernel::auth::accounts::NewAccount {
                username: &username,
                display_name: o.contact,
                password_hash: hash.clone(),
                person_id: None,
            },
        )
        .await?;
        social_org_account::Entity::insert(social_org_account::ActiveModel {
            org_id: Set(org_id),
            district_code: Set(code.clone()),
            account_id: Set(staff),
            created_at: Set(now - Duration::days(120)),
            ..Default::default()
        })
        .exec(db)
        .await?;
        written += 3;
        for (ci, st) in o.admissions {
            let c = &compounds[*ci];
            let decider = worker_of(db, c).await?;
            let reason = match st {
                AdmissionState::Refused => Some("小区已有同类文艺队伍，暂不需要".to_string()),
                AdmissionState::Withdrawn => Some("项目资金到期，服务暂停".to_string()),
                _ => None,
            };
            social_org_admission::Entity::insert(social_org_admission::ActiveModel {
                org_id: Set(org_id),
                compound_id: Set(c.id),
                district_code: Set(code.clone()),
                street_id: Set(c.street_id),
                community_id: Set(c.community_id),
                state: Set(st.as_str().into()),
                note: Set(Some("为小区居民提供常态化服务".into())),
                reason: Set(reason),
                applied_by: Set(Some(staff)),
                applied_at: Set(now - Duration::days(100)),
                decided_by: Set(decider),
                decided_at: Set(Some(now - Duration::days(95))),
                withdrawn_by: Set((*st == AdmissionState::Withdrawn)
                    .then_some(decider)
                    .flatten()),
                withdrawn_at: Set(
                    (*st == AdmissionState::Withdrawn).then_some(now - Duration::days(10))
                ),
                ..Default::default()
            })
            .exec(db)
            .await?;
            written += 1;
        }
        for (si, (kind, title, ci)) in o.services.iter().enumerate() {
            let c = &compounds[*ci];
            let sid = service::Entity::insert(service::ActiveModel {
                org_id: Set(org_id),
                district_code: Set(code.clone()),
                kind: Set((*kind).into()),
                title: Set((*title).into()),
                description: Set(format!("{}在{}开展的常态化服务。", o.name, c.name)),
                created_by: Set(Some(staff)),
                created_at: Set(now - Duration::days(90)),
                ..Default::default()
            })
            .exec(db)
            .await?
            .last_insert_id;
            service_compound::Entity::insert(service_compound::ActiveModel {
                service_id: Set(sid),
                compound_id: Set(c.id),
                ..Default::default()
            })
            .exec(db)
            .await?;
            written += 2;
            let people = residents_near(db, c).await?;
            // Three weeks past, two ahead, at 16:00 China time (08:00 UTC);
            // the first service also has one about to start, whose roll
            // staff can call at once (check-in opens 30 minutes before).
            let mut times: Vec<(i64, chrono::DateTime<Utc>)> = [-3i64, -2, -1, 1, 2]
                .into_iter()
                .map(|week| {
                    let day = (now + Duration::weeks(week) + Duration::days(si as i64))
                        .duration_trunc(Duration::days(1))
                        .unwrap_or(now);
                    (week, day + Duration::hours(8))
                })
                .collect();
            if n == 0 && si == 0 {
                times.push((0, soon()));
            }
            for (week, start) in times {
                let end = start + Duration::minutes(90);
                let past = week < 0;
                let capacity = 20;
                // The community's first resident has not registered for
                // what is coming: a place is left for them to take.
                let taking: Vec<i64> = people
                    .iter()
                    .copied()
                    .skip(if past { 0 } else { 1 })
                    .take(if past {
                        people.len()
                    } else {
                        people.len() / 2 + 1
                    })
                    .take(capacity as usize)
                    .collect();
                // One in five registered for a past session did not come;
                // half of those who came give feedback (the first resident
                // has yet to judge the latest session they attended).
                let came = |k: usize| past && k % 5 != 4;
                let score = |k: usize| {
                    (came(k) && (k as i64 + week).rem_euclid(2) == 0)
                        .then_some(if k.is_multiple_of(3) { 4 } else { 5 })
                };
                let session = service_session::Entity::insert(service_session::ActiveModel {
                    service_id: Set(sid),
                    org_id: Set(org_id),
                    district_code: Set(code.clone()),
                    street_id: Set(c.street_id),
                    community_id: Set(c.community_id),
                    compound_id: Set(c.id),
                    starts_at: Set(start),
                    ends_at: Set(end),
                    venue_id: Set(None),
                    venue_booking_id: Set(None),
                    location: Set(format!("{}架空层", c.name)),
                    capacity: Set(capacity),
                    registered: Set(taking.len() as i32),
                    state: Set("scheduled".into()),
                    created_by: Set(Some(staff)),
                    created_at: Set(start - Duration::days(7)),
                    attended: Set((0..taking.len()).filter(|k| came(*k)).count() as i32),
                    feedback_count: Set(
                        (0..taking.len()).filter(|k| score(*k).is_some()).count() as i32
                    ),
                    feedback_sum: Set((0..taking.len()).filter_map(score).sum()),
                    ..Default::default()
                })
                .exec(db)
                .await?
                .last_insert_id;
                written += 1;
                for (k, who) in taking.iter().enumerate() {
                    let came = came(k);
                    let rid =
                        session_registration::Entity::insert(session_registration::ActiveModel {
                            session_id: Set(session),
                            account_id: Set(*who),
                            name: Set(name_of(db, *who).await?),
                            phone: Set(None),
                            state: Set("registered".into()),
                            attended_at: Set(came.then_some(start + Duration::minutes(5))),
                            checked_in_by: Set(came.then_some(staff)),
                            created_at: Set(start - Duration::days(3)),
                            cancelled_at: Set(None),
                            ..Default::default()
                        })
                        .exec(db)
                        .await?
                        .last_insert_id;
                    written += 1;
                    if let Some(score) = score(k) {
                        session_feedback::Entity::insert(session_feedback::ActiveModel {
                            session_id: Set(session),
                            registration_id: Set(rid),
                            account_id: Set(*who),
                            score: Set(score),
                            comment: Set("服务很贴心，希望常来".into()),
                            created_at: Set(end + Duration::hours(2)),
                            ..Default::default()
                        })
                        .exec(db)
                        .await?;
                        written += 1;
                    }
                }
            }
        }
    }
    Ok(written)
}

/// Twenty to twenty-five minutes from now, on a five-minute mark.
fn soon() -> chrono::DateTime<Utc> {
    let at = Utc::now() + Duration::minutes(25);
    at.duration_trunc(Duration::minutes(5)).unwrap_or(at)
}

/// The community worker account of the compound's community, if any.
async fn worker_of(db: &impl ConnectionTrait, c: &place::Model) -> Result<Option<i64>, ApiError> {
    let Some(community) = c.community_id else {
        return Ok(None);
    };
    Ok(role_grant::Entity::find()
        .filter(role_grant::Column::PlaceId.eq(community))
        .filter(role_grant::Column::Role.eq(Role::CommunityWorker.as_str()))
        .one(db)
        .await?
        .map(|g| g.account_id))
}

/// Accounts of residents and party members of the compound's community.
async fn residents_near(db: &impl ConnectionTrait, c: &place::Model) -> Result<Vec<i64>, ApiError> {
    let Some(community) = c.community_id else {
        return Ok(Vec::new());
    };
    let dwellings: Vec<i64> = place::Entity::find()
        .select_only()
        .column(place::Column::Id)
        .filter(place::Column::CommunityId.eq(community))
        .filter(place::Column::Kind.eq(PlaceKind::Dwelling.as_str()))
        .into_tuple()
        .all(db)
        .await?;
    let mut out = Vec::new();
    for chunk in dwellings.chunks(5000) {
        let ids: Vec<i64> = role_grant::Entity::find()
            .select_only()
            .column(role_grant::Column::AccountId)
            .filter(role_grant::Column::PlaceId.is_in(chunk.iter().copied()))
            .filter(
                role_grant::Column::Role
                    .is_in([Role::Resident.as_str(), Role::PartyMember.as_str()]),
            )
            .into_tuple()
            .all(db)
            .await?;
        out.extend(ids);
    }
    out.sort_unstable();
    out.dedup();
    out.truncate(12);
    Ok(out)
}

async fn name_of(db: &impl ConnectionTrait, id: i64) -> Result<String, ApiError> {
    Ok(account::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(|a| a.display_name.chars().take(64).collect())
        .unwrap_or_default())
}
