//! Tests of the cockpit: a small known data set with every figure checked
//! at every level (district, both streets, both communities, the three
//! compounds) against values computed by hand; the children ranked; who
//! may read which node on every route; bad input; the pages.

use axum::http::StatusCode;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use jinlin_agencies::entity::{agency, agency_pairing};
use jinlin_cockpit::rules::{self as cockpit_rules, By, Period};
use jinlin_deliberation::entity::{matter as deliberation, vote};
use jinlin_in_service::entity::{service_record, service_report, three_ones};
use jinlin_joint_meetings::entity::joint_meeting;
use jinlin_joint_meetings::rules::Quarter;
use jinlin_kernel::auth::Role;
use jinlin_micro_grids::entity::{contact_group, contact_group_member, micro_grid};
use jinlin_organisations::entity::{party_org, party_org_member};
use jinlin_people::entity::person;
use jinlin_pilots::entity::pilot_compound;
use jinlin_projects::entity::{compound_need, project};
use jinlin_ratings::entity::{campaign, result as rating_result, subject};
use jinlin_resident_matters::entity::{category, event, matter as resident_matter};
use jinlin_social_services::entity::{service, service_session, social_org, social_org_admission};
use jinlin_testkit::fixtures::{Tree, account, far_district, tree};
use jinlin_testkit::{TestDb, db_test};
use jinlin_volunteers::entity::{volunteer_member, volunteer_team};
use sea_orm::ActiveValue::Set;
use sea_orm::EntityTrait;
use serde_json::Value;

use crate::support::{TestApp, api_error, has_cjk};

const D: &str = "350104";

struct People {
    district: i64,
    far_district: i64,
    street: i64,
    other_street: i64,
    worker: i64,
    other_worker: i64,
    secretary: i64,
    neighbour_secretary: i64,
    resident: i64,
    agency: i64,
}

async fn setup(db: TestDb) -> (TestApp, Tree, People) {
    let t = tree(&db.db).await;
    let far = far_district(&db.db).await;
    let d = &db.db;
    let p = People {
        district: account(d, "district", Role::DistrictAdmin, t.district).await,
        far_district: account(d, "far-district", Role::DistrictAdmin, far).await,
        street: account(d, "street", Role::StreetAdmin, t.street).await,
        other_street: account(d, "other-street", Role::StreetAdmin, t.other_street).await,
        worker: account(d, "worker", Role::CommunityWorker, t.community).await,
        other_worker: account(d, "other-worker", Role::CommunityWorker, t.other_community).await,
        secretary: account(d, "secretary", Role::CompoundSecretary, t.compound.compound).await,
        neighbour_secretary: account(
            d,
            "neighbour-secretary",
            Role::CompoundSecretary,
            t.neighbour.compound,
        )
        .await,
        resident: account(d, "resident", Role::Resident, t.compound.dwellings[0]).await,
        agency: account(d, "agency", Role::AgencyAdmin, t.district).await,
    };
    (TestApp::new(db), t, p)
}

/// Where a compound lies: (street, community).
fn above(t: &Tree, c: i64) -> (i64, i64) {
    if c == t.far.compound {
        (t.other_street, t.other_community)
    } else {
        (t.street, t.community)
    }
}

/// The records. A = 金山花园 (2 dwellings), B = 榕城小区 (1), both in
/// 金山街道 / 金山社区; C = 城门小区 (1) in 仓山镇 / 仓山村.
///
/// - party organisations: A (one member, an owner representative: covers),
///   C (no members: does not cover)
/// - agencies X, Y, Z; pairings X–A, Y–A, X–C, and Z–B ended
/// - projects: A done and in progress, C planned
/// - pilots: A current, C ended
/// - joint meetings: 金山街道 one held and one scheduled this quarter, one
///   held a year ago; 仓山镇 one held this quarter
/// - in-service: M1 and M2 reported at home in A (M1 all three ones, M2
///   one), M3 only submitted at C, M4 reported by employer at C; M1 one
///   coordination confirmed, M2 one submitted
/// - matters: A closed on time satisfied, closed late not satisfied, in
///   hand, merged; C closed without a deadline, unrated
/// - micro-grids: A and C whole-compound grids, a contact group holding
///   A's first dwelling and C's dwelling
/// - social: O1 admitted to A and C, O2 to A, O3 applied to B; sessions
///   held: O2 at A (5 checked in), O1 at C (3); O1 at A not yet ended and
///   one cancelled
/// - volunteers: a team of A (two members and one who left), a team of
///   仓山村 (one member)
/// - deliberations: A proposed and closed, C in consultation; votes: A
///   closed, C open
/// - ratings of property companies: an older campaign (A 2 stars), the
///   latest (A 4, C 5); an owners' committee campaign (B 5) left out
async fn records(app: &TestApp, t: &Tree) {
    let db = app.db.db.conn();
    let now = Utc::now();
    let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let (a, b, c) = (t.compound.compound, t.neighbour.compound, t.far.compound);

    // Party organisations.
    let mut orgs = Vec::new();
    for x in [a, c] {
        let (s, k) = above(t, x);
        orgs.push(
            party_org::Entity::insert(party_org::ActiveModel {
                district_code: Set(D.into()),
                street_id: Set(Some(s)),
                community_id: Set(Some(k)),
                compound_id: Set(x),
                parent_place_id: Set(Some(k)),
                kind: Set("branch".into()),
                name: Set("党支部".into()),
                founded_on: Set(day),
                secretary_person_id: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            })
            .exec(db)
            .await
            .unwrap()
            .last_insert_id,
        );
    }
    let person = person::Entity::insert(person::ActiveModel {
        district_code: Set(Some(D.into())),
        name: Set("林党员".into()),
        phone: Set(None),
        id_number_cipher: Set(None),
        id_number_digest: Set(None),
        party_member: Set(true),
        employer: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec(db)
    .await
    .unwrap()
    .last_insert_id;
    party_org_member::Entity::insert(party_org_member::ActiveModel {
        org_id: Set(orgs[0]),
        district_code: Set(D.into()),
        compound_id: Set(a),
        person_id: Set(person),
        in_owners_committee: Set(false),
        in_property_company: Set(false),
        owner_representative: Set(true),
        created_at: Set(now),
        ..Default::default()
    })
    .exec(db)
    .await
    .unwrap();

    // Agencies and pairings.
    let mut agencies = Vec::new();
    for name in ["区住建局", "区卫健局", "区教育局"] {
        agencies.push(
            agency::Entity::insert(agency::ActiveModel {
                district_code: Set(D.into()),
                name: Set(name.into()),
                category: Set("other".into()),
                party_org_name: Set(format!("{name}党支部")),
                contact: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            })
            .exec(db)
            .await
            .unwrap()
            .last_insert_id,
        );
    }
    for (ag, x, ended) in [
        (agencies[0], a, false),
        (agencies[1], a, false),
        (agencies[0], c, false),
        (agencies[2], b, true),
    ] {
        agency_pairing::Entity::insert(agency_pairing::ActiveModel {
            agency_id: Set(ag),
            compound_id: Set(x),
            district_code: Set(D.into()),
            street_id: Set(Some(above(t, x).0)),
            community_id: Set(Some(above(t, x).1)),
            route: Set("directed".into()),
            round_id: Set(None),
            started_at: Set(now - Duration::days(100)),
            ended_at: Set(ended.then_some(now - Duration::days(10))),
            end_reason: Set(None),
            created_by: Set(None),
            ended_by: Set(None),
            ..Default::default()
        })
        .exec(db)
        .await
        .unwrap();
    }

    // Projects.
    for (x, state) in [(a, "done"), (a, "in_progress"), (c, "planned")] {
        let (s, k) = above(t, x);
        let need = compound_need::Entity::insert(compound_need::ActiveModel {
            district_code: Set(D.into()),
            street_id: Set(Some(s)),
            community_id: Set(Some(k)),
            compound_id: Set(x),
            category: Set("other".into()),
            description: Set("需要".into()),
            created_by: Set(None),
            created_at: Set(now),
            withdrawn_at: Set(None),
            withdrawn_by: Set(None),
            ..Default::default()
        })
        .exec(db)
        .await
        .unwrap()
        .last_insert_id;
        project::Entity::insert(project::ActiveModel {
            district_code: Set(D.into()),
            street_id: Set(Some(s)),
            community_id: Set(Some(k)),
            compound_id: Set(x),
            agency_id: Set(agencies[0]),
            need_id: Set(need),
            function: Set("organisation".into()),
            title: Set("项目".into()),
            plan: Set("计划".into()),
            planned_start: Set(day),
            planned_end: Set(day),
            state: Set(state.into()),
            summary: Set(None),
            created_by: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            started_at: Set(None),
            completed_at: Set(None),
            ..Default::default()
        })
        .exec(db)
        .await
        .unwrap();
    }

    // Pilots.
    for (x, ended) in [(a, false), (c, true)] {
        let (s, k) = above(t, x);
        pilot_compound::Entity::insert(pilot_compound::ActiveModel {
            district_code: Set(D.into()),
            street_id: Set(s),
            community_id: Set(Some(k)),
            compound_id: Set(x),
            pilot_type: Set("commercial".into()),
            note: Set(None),
            designated_at: Set(now - Duration::days(30)),
            designated_by: Set(None),
            ended_at: Set(ended.then_some(now - Duration::days(1))),
            ended_by: Set(None),
            end_reason: Set(ended.then(|| "结束".into())),
            ..Default::default()
        })
        .exec(db)
        .await
        .unwrap();
    }

    // Joint meetings.
    let q = Quarter::of(now);
    for (s, year, state) in [
        (t.street, q.year, "held"),
        (t.street, q.year, "scheduled"),
        (t.street, q.year - 1, "held"),
        (t.other_street, q.year, "held"),
    ] {
        joint_meeting::Entity::insert(joint_meeting::ActiveModel {
            district_code: Set(D.into()),
            street_id: Set(s),
            year: Set(year),
            quarter: Set(i16::from(q.q)),
            scheduled_at: Set(now),
            venue: Set("会议室".into()),
            agenda: Set("议程".into()),
            state: Set(state.into()),
            held_at: Set((state == "held").then_some(now)),
            minutes: Set(None),
            cancel_reason: Set(None),
            created_by: Set(None),
            recorded_by: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .exec(db)
        .await
        .unwrap();
    }

    // In-service party members.
    let d = &app.db.db;
    let members = [
        account(d, "m1", Role::PartyMember, t.compound.dwellings[0]).await,
        account(d, "m2", Role::PartyMember, t.compound.dwellings[1]).await,
        account(d, "m3", Role::PartyMember, t.far.dwellings[0]).await,
        account(d, "m4", Role::PartyMember, t.far.dwellings[0]).await,
    ];
    let mut reports = Vec::new();
    for (m, x, kind, state) in [
        (members[0], a, "residence", "confirmed"),
        (members[1], a, "residence", "confirmed"),
        (members[2], c, "residence", "submitted"),
        (members[3], c, "employer_pairing", "confirmed"),
    ] {
        let (s, k) = above(t, x);
        reports.push(
            service_report::Entity::insert(service_report::ActiveModel {
                district_code: Set(D.into()),
                street_id: Set(Some(s)),
                community_id: Set(Some(k)),
                compound_id: Set(x),
                account_id: Set(m),
                person_id: Set(None),
                kind: Set(kind.into()),
                agency_id: Set((kind == "employer_pairing").then_some(agencies[0])),
                state: Set(state.into()),
                reason: Set(None),
                submitted_at: Set(now),
                decided_at: Set(None),
                decided_by: Set(None),
                withdrawn_at: Set(None),
                ..Default::default()
            })
            .exec(db)
            .await
            .unwrap()
            .last_insert_id,
        );
    }
    for (m, report, kind) in [
        (members[0], reports[0], "volunteer_team"),
        (members[0], reports[0], "entrance"),
        (members[0], reports[0], "zone"),
        (members[1], reports[1], "zone"),
    ] {
        three_ones::Entity::insert(three_ones::ActiveModel {
            district_code: Set(D.into()),
            street_id: Set(Some(t.street)),
            community_id: Set(Some(t.community)),
            compound_id: Set(a),
            account_id: Set(m),
            person_id: Set(None),
            report_id: Set(report),
            kind: Set(kind.into()),
            team_name: Set((kind == "volunteer_team").then(|| "服务队".into())),
            team_id: Set(None),
            entrance_id: Set((kind == "entrance").then_some(t.compound.entrance)),
            zone: Set((kind == "zone").then(|| "东区".into())),
            created_at: Set(now),
            released_at: Set(None),
            released_by: Set(None),
            ..Default::default()
        })
        .exec(db)
        .await
        .unwrap();
    }
    for (m, state) in [(members[0], "confirmed"), (members[1], "submitted")] {
        service_record::Entity::insert(service_record::ActiveModel {
            district_code: Set(D.into()),
            street_id: Set(Some(t.street)),
            community_id: Set(Some(t.community)),
            compound_id: Set(a),
            account_id: Set(m),
            person_id: Set(None),
            served_on: Set(day),
            kind: Set("matter_coordination".into()),
            activity: Set("协调".into()),
            half_hours: Set(2),
            matter_id: Set(None),
            state: Set(state.into()),
            reason: Set(None),
            points_x2: Set(None),
            created_at: Set(now),
            decided_at: Set(None),
            decided_by: Set(None),
            ..Default::default()
        })
        .exec(db)
        .await
        .unwrap();
    }

    // Residents' matters: (compound, state, due in days, replied in days,
    // satisfaction).
    let category = category::Entity::find()
        .one(db)
        .await
        .unwrap()
        .expect("the catalogue of categories")
        .id;
    let t0 = now - Duration::days(20);
    for (x, state, due, replied, satisfaction) in [
        (a, "closed", Some(2), Some(1), Some("satisfied")),
        (a, "closed", Some(1), Some(2), Some("not_satisfied")),
        (a, "handling", Some(3), None, None),
        (a, "merged", None, None, None),
        (c, "closed", None, Some(1), None),
    ] {
        let (s, k) = above(t, x);
        let id = resident_matter::Entity::insert(resident_matter::ActiveModel {
            district_code: Set(D.into()),
            street_id: Set(Some(s)),
            community_id: Set(Some(k)),
            compound_id: Set(x),
            place_id: Set(x),
            address: Set(None),
            latitude_e6: Set(None),
            longitude_e6: Set(None),
            reporter_account_id: Set(None),
            reporter_person_id: Set(None),
            reporter_role: Set("resident".into()),
            category_id: Set(category),
            urgency: Set("normal".into()),
            title: Set("楼道灯不亮".into()),
            description: Set("三楼楼道灯坏了".into()),
            public: Set(true),
            state: Set(state.into()),
            holder_kind: Set("property".into()),
            holder_place_id: Set(None),
            holder_account_id: Set(None),
            holder_org: Set(None),
            received_by: Set(None),
            dispatched_at: Set(due.map(|_| t0)),
            due_at: Set(due.map(|d| t0 + Duration::days(d))),
            warn_at: Set(None),
            warned_at: Set(None),
            escalation_level: Set(0),
            merged_into: Set(None),
            reopened_count: Set(0),
            satisfaction: Set(satisfaction.map(Into::into)),
            satisfaction_comment: Set(None),
            closed_at: Set((state == "closed").then_some(t0 + Duration::days(4))),
            created_at: Set(t0),
            updated_at: Set(t0),
            ..Default::default()
        })
        .exec(db)
        .await
        .unwrap()
        .last_insert_id;
        if let Some(r) = replied {
            event::Entity::insert(event::ActiveModel {
                matter_id: Set(id),
                district_code: Set(D.into()),
                at: Set(t0 + Duration::days(r)),
                actor_account_id: Set(None),
                actor_role: Set(None),
                action: Set("reply".into()),
                from_state: Set(Some("handling".into())),
                to_state: Set(Some("replied".into())),
                note: Set(Some("已修好".into())),
                reason: Set(None),
                detail: Set("{}".into()),
                ..Default::default()
            })
            .exec(db)
            .await
            .unwrap();
        }
    }

    // Micro-grids and a contact group.
    for (x, dwelling) in [(a, t.compound.dwellings[0]), (c, t.far.dwellings[0])] {
        let (s, k) = above(t, x);
        let grid = micro_grid::Entity::insert(micro_grid::ActiveModel {
            district_code: Set(D.into()),
            street_id: Set(Some(s)),
            community_id: Set(Some(k)),
            compound_id: Set(x),
            name: Set("1号网格".into()),
            worker_account_id: Set(None),
            whole_compound: Set(true),
            created_by: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .exec(db)
        .await
        .unwrap()
        .last_insert_id;
        let group = contact_group::Entity::insert(contact_group::ActiveModel {
            grid_id: Set(grid),
            district_code: Set(D.into()),
            name: Set("业主群".into()),
            channel: Set("wechat".into()),
            link: Set(None),
            building_id: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .exec(db)
        .await
        .unwrap()
        .last_insert_id;
        contact_group_member::Entity::insert(contact_group_member::ActiveModel {
            group_id: Set(group),
            grid_id: Set(grid),
            district_code: Set(D.into()),
            dwelling_id: Set(dwelling),
            person_name: Set(None),
            created_at: Set(now),
            ..Default::default()
        })
        .exec(db)
        .await
        .unwrap();
    }

    // Social organisations.
    let mut sorgs = Vec::new();
    let mut services = Vec::new();
    for (i, name) in ["阳光社工", "夕阳红", "小橘灯"].iter().enumerate() {
        let o = social_org::Entity::insert(social_org::ActiveModel {
            district_code: Set(D.into()),
            name: Set((*name).into()),
            registration_no: Set(format!("52350104MJ000000{i}X")),
            org_type: Set("social_work".into()),
            contact_name: Set("联系人".into()),
            contact_phone: Set(None),
            has_party_org: Set(false),
            created_by: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .exec(db)
        .await
        .unwrap()
        .last_insert_id;
        sorgs.push(o);
        services.push(
            service::Entity::insert(service::ActiveModel {
                org_id: Set(o),
                district_code: Set(D.into()),
                kind: Set("elderly".into()),
                title: Set("助老".into()),
                description: Set("助老服务".into()),
                created_by: Set(None),
                created_at: Set(now),
                ..Default::default()
            })
            .exec(db)
            .await
            .unwrap()
            .last_insert_id,
        );
    }
    for (o, x, state) in [
        (sorgs[0], a, "approved"),
        (sorgs[0], c, "approved"),
        (sorgs[1], a, "approved"),
        (sorgs[2], b, "applied"),
    ] {
        let (s, k) = above(t, x);
        social_org_admission::Entity::insert(social_org_admission::ActiveModel {
            org_id: Set(o),
            compound_id: Set(x),
            district_code: Set(D.into()),
            street_id: Set(Some(s)),
            community_id: Set(Some(k)),
            state: Set(state.into()),
            note: Set(None),
            reason: Set(None),
            applied_by: Set(None),
            applied_at: Set(now),
            decided_by: Set(None),
            decided_at: Set(None),
            withdrawn_by: Set(None),
            withdrawn_at: Set(None),
            ..Default::default()
        })
        .exec(db)
        .await
        .unwrap();
    }
    for (i, x, ends, state, attended) in [
        (1, a, -1, "scheduled", 5),
        (0, c, -2, "scheduled", 3),
        (0, a, 2, "scheduled", 0),
        (0, a, -3, "cancelled", 0),
    ] {
        let (s, k) = above(t, x);
        let end = now + Duration::days(ends);
        service_session::Entity::insert(service_session::ActiveModel {
            service_id: Set(services[i]),
            org_id: Set(sorgs[i]),
            district_code: Set(D.into()),
            street_id: Set(Some(s)),
            community_id: Set(Some(k)),
            compound_id: Set(x),
            starts_at: Set(end - Duration::hours(2)),
            ends_at: Set(end),
            venue_id: Set(None),
            venue_booking_id: Set(None),
            location: Set("活动室".into()),
            capacity: Set(20),
            registered: Set(attended),
            state: Set(state.into()),
            created_by: Set(None),
            created_at: Set(now),
            cancel_reason: Set((state == "cancelled").then(|| "下雨".into())),
            cancelled_at: Set(None),
            cancelled_by: Set(None),
            attended: Set(attended),
            feedback_count: Set(0),
            feedback_sum: Set(0),
            ..Default::default()
        })
        .exec(db)
        .await
        .unwrap();
    }

    // Volunteer teams.
    for (s, k, x, place, names) in [
        (
            t.street,
            t.community,
            Some(a),
            a,
            vec![("甲", false), ("乙", false), ("丙", true)],
        ),
        (
            t.other_street,
            t.other_community,
            None,
            t.other_community,
            vec![("丁", false)],
        ),
    ] {
        let team = volunteer_team::Entity::insert(volunteer_team::ActiveModel {
            district_code: Set(D.into()),
            street_id: Set(Some(s)),
            community_id: Set(Some(k)),
            compound_id: Set(x),
            place_id: Set(place),
            name: Set("志愿服务队".into()),
            kind: Set("volunteer".into()),
            leader_account_id: Set(None),
            created_by: Set(None),
            created_at: Set(now),
            ..Default::default()
        })
        .exec(db)
        .await
        .unwrap()
        .last_insert_id;
        for (name, left) in names {
            volunteer_member::Entity::insert(volunteer_member::ActiveModel {
                team_id: Set(team),
                district_code: Set(D.into()),
                account_id: Set(None),
                person_id: Set(None),
                name: Set(name.into()),
                party_member: Set(false),
                joined_on: Set(day),
                left_on: Set(left.then_some(day)),
                ..Default::default()
            })
            .exec(db)
            .await
            .unwrap();
        }
    }

    // Deliberations and votes.
    for (x, state, vote_state) in [
        (a, "propose", None),
        (a, "closed", Some("closed")),
        (c, "consult", Some("open")),
    ] {
        let (s, k) = above(t, x);
        let m = deliberation::Entity::insert(deliberation::ActiveModel {
            district_code: Set(D.into()),
            street_id: Set(Some(s)),
            community_id: Set(Some(k)),
            compound_id: Set(x),
            title: Set("加装电梯".into()),
            description: Set("2号楼加装电梯".into()),
            state: Set(state.into()),
            joint_decision: Set(None),
            proposer_account_id: Set(None),
            proposer_name: Set("业主".into()),
            review_from: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .exec(db)
        .await
        .unwrap()
        .last_insert_id;
        if let Some(vs) = vote_state {
            vote::Entity::insert(vote::ActiveModel {
                matter_id: Set(m),
                district_code: Set(D.into()),
                compound_id: Set(x),
                article_matter: Set(1),
                state: Set(vs.into()),
                deemed_votes: Set(false),
                opened_by: Set(members[0]),
                opened_at: Set(now - Duration::days(5)),
                closes_at: Set(now - Duration::days(1)),
                closed_at: Set((vs == "closed").then_some(now - Duration::days(1))),
                unit_count: Set(1),
                total_area_centi_m2: Set(9000),
                total_heads: Set(1),
                ballot_count: Set(0),
                opening_hash: Set("00".into()),
                head_hash: Set("00".into()),
                result: Set(None),
                cancel_reason: Set(None),
                ..Default::default()
            })
            .exec(db)
            .await
            .unwrap();
        }
    }

    // Ratings.
    for (kind, rated) in [
        ("property_company", vec![(a, 2)]),
        ("property_company", vec![(a, 4), (c, 5)]),
        ("owners_committee", vec![(b, 5)]),
    ] {
        let camp = campaign::Entity::insert(campaign::ActiveModel {
            district_code: Set(D.into()),
            scope_place_id: Set(t.district),
            scope_kind: Set("district".into()),
            period: Set("2026".into()),
            subject_kind: Set(kind.into()),
            opens_on: Set(day),
            closes_on: Set(day),
            state: Set("closed".into()),
            residents_weight: Set(60),
            red_threshold_centi: Set(9000),
            black_threshold_centi: Set(6000),
            created_by: Set(None),
            created_at: Set(now),
            closed_at: Set(Some(now)),
            ..Default::default()
        })
        .exec(db)
        .await
        .unwrap()
        .last_insert_id;
        for (x, stars) in rated {
            let sub = subject::Entity::insert(subject::ActiveModel {
                campaign_id: Set(camp),
                district_code: Set(D.into()),
                compound_id: Set(x),
                street_id: Set(Some(above(t, x).0)),
                name: Set("物业公司".into()),
                ..Default::default()
            })
            .exec(db)
            .await
            .unwrap()
            .last_insert_id;
            rating_result::Entity::insert(rating_result::ActiveModel {
                subject_id: Set(sub),
                campaign_id: Set(camp),
                district_code: Set(D.into()),
                responses: Set(3),
                residents_centi: Set(None),
                panel_centi: Set(None),
                total_centi: Set(Some(8000)),
                rank_in_street: Set(Some(1)),
                rank_in_district: Set(Some(1)),
                stars: Set(stars),
                list: Set(None),
            })
            .exec(db)
            .await
            .unwrap();
        }
    }
}

/// Nodes in the order of the columns of [`EXPECTED`].
fn nodes(t: &Tree) -> [i64; 8] {
    [
        t.district,
        t.street,
        t.other_street,
        t.community,
        t.other_community,
        t.compound.compound,
        t.neighbour.compound,
        t.far.compound,
    ]
}

/// Every figure by hand: district, 金山街道, 仓山镇, 金山社区, 仓山村, A, B,
/// C ("—" where there is nothing to show).
const EXPECTED: &[(&str, [&str; 8])] = &[
    ("compounds", ["3", "2", "1", "2", "1", "1", "1", "1"]),
    ("party_orgs", ["2", "1", "1", "1", "1", "1", "0", "1"]),
    (
        "party_org_coverage",
        [
            "66.6%", "50.0%", "100.0%", "50.0%", "100.0%", "100.0%", "0.0%", "100.0%",
        ],
    ),
    (
        "cross_coverage",
        [
            "50.0%", "100.0%", "0.0%", "100.0%", "0.0%", "100.0%", "—", "0.0%",
        ],
    ),
    ("deliberations", ["3", "2", "1", "2", "1", "2", "0", "1"]),
    (
        "deliberations_open",
        ["2", "1", "1", "1", "1", "1", "0", "1"],
    ),
    ("votes_held", ["1", "1", "0", "1", "0", "1", "0", "0"]),
    (
        "property_stars",
        ["4.5", "4.0", "5.0", "4.0", "5.0", "4.0", "—", "5.0"],
    ),
    ("agencies_paired", ["2", "2", "1", "2", "1", "2", "0", "1"]),
    (
        "agencies_paired_share",
        [
            "66.6%", "66.6%", "33.3%", "66.6%", "33.3%", "66.6%", "0.0%", "33.3%",
        ],
    ),
    (
        "compounds_paired_share",
        [
            "66.6%", "50.0%", "100.0%", "50.0%", "100.0%", "100.0%", "0.0%", "100.0%",
        ],
    ),
    ("projects", ["3", "2", "1", "2", "1", "2", "0", "1"]),
    ("projects_done", ["1", "1", "0", "1", "0", "1", "0", "0"]),
    ("pilots", ["1", "1", "0", "1", "0", "1", "0", "0"]),
    ("joint_meetings", ["2", "1", "1", "—", "—", "—", "—", "—"]),
    ("members_reported", ["3", "2", "1", "2", "1", "2", "0", "1"]),
    (
        "three_ones",
        ["50.0%", "50.0%", "—", "50.0%", "—", "50.0%", "—", "—"],
    ),
    ("matters_raised", ["4", "3", "1", "3", "1", "3", "0", "1"]),
    (
        "matters_coordinated",
        ["1", "1", "0", "1", "0", "1", "0", "0"],
    ),
    ("matters_solved", ["3", "2", "1", "2", "1", "2", "0", "1"]),
    (
        "matters_on_time",
        [
            "66.6%", "50.0%", "100.0%", "50.0%", "100.0%", "50.0%", "—", "100.0%",
        ],
    ),
    (
        "matters_satisfaction",
        ["50.0%", "50.0%", "—", "50.0%", "—", "50.0%", "—", "—"],
    ),
    ("micro_grids", ["2", "1", "1", "1", "1", "1", "0", "1"]),
    (
        "household_reach",
        [
            "50.0%", "33.3%", "100.0%", "33.3%", "100.0%", "50.0%", "0.0%", "100.0%",
        ],
    ),
    ("social_orgs", ["2", "2", "1", "2", "1", "2", "0", "1"]),
    ("social_sessions", ["2", "1", "1", "1", "1", "1", "0", "1"]),
    ("person_times", ["8", "5", "3", "5", "3", "5", "0", "3"]),
    ("volunteer_teams", ["2", "1", "1", "1", "1", "1", "0", "0"]),
    (
        "volunteer_members",
        ["3", "2", "1", "2", "1", "2", "0", "0"],
    ),
];

fn shown(figures: &Value) -> Vec<(String, String)> {
    figures
        .as_array()
        .expect("figures")
        .iter()
        .map(|f| {
            (
                f["key"].as_str().unwrap().to_string(),
                f["display"].as_str().unwrap_or("—").to_string(),
            )
        })
        .collect()
}

fn expected(col: usize) -> Vec<(String, String)> {
    EXPECTED
        .iter()
        .map(|(k, v)| (k.to_string(), v[col].to_string()))
        .collect()
}

async fn get(app: &TestApp, who: i64, path: &str) -> (StatusCode, Value) {
    let r = app.client(who).await.get(path).await;
    let v = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (r.status, v)
}

#[db_test]
async fn every_figure_at_every_level_matches_the_hand_count(db: TestDb) {
    let (app, t, p) = setup(db).await;
    records(&app, &t).await;
    let ids = nodes(&t);
    assert_eq!(
        EXPECTED.len(),
        jinlin_cockpit::rules::Key::ALL.len(),
        "every figure has a hand count"
    );
    for (col, id) in ids.iter().enumerate() {
        let (status, v) = get(&app, p.district, &format!("/api/v1/cockpit/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        assert_eq!(shown(&v["figures"]), expected(col), "node {col}");
    }
    // A node's children carry the figures their own cockpits show.
    let (_, district) = get(&app, p.district, &format!("/api/v1/cockpit/{}", t.district)).await;
    let kids: Vec<(i64, Vec<(String, String)>)> = district["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["place_id"].as_i64().unwrap(), shown(&c["figures"])))
        .collect();
    assert_eq!(
        kids,
        vec![(t.street, expected(1)), (t.other_street, expected(2))]
    );
    let (_, community) = get(
        &app,
        p.district,
        &format!("/api/v1/cockpit/{}", t.community),
    )
    .await;
    let kids: Vec<i64> = community["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["place_id"].as_i64().unwrap())
        .collect();
    assert_eq!(kids.len(), 2);
    for c in community["children"].as_array().unwrap() {
        let col = if c["place_id"] == t.compound.compound {
            5
        } else {
            6
        };
        assert_eq!(shown(&c["figures"]), expected(col));
    }
    // The streets' children, for the figures a street cannot show below it.
    let (_, street) = get(&app, p.street, &format!("/api/v1/cockpit/{}", t.street)).await;
    let k = &street["children"][0];
    assert_eq!(k["place_id"], t.community);
    assert_eq!(shown(&k["figures"]), expected(3));
    // Projects by state and deliberations by step.
    let proj = district["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "projects")
        .unwrap();
    let parts: Vec<(String, u64)> = proj["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["name"].as_str().unwrap().into(),
                x["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        parts,
        vec![
            ("planned".into(), 1),
            ("in_progress".into(), 1),
            ("done".into(), 1)
        ]
    );
    assert_eq!(
        district["quarter"],
        format!(
            "{}Q{}",
            Quarter::of(Utc::now()).year,
            Quarter::of(Utc::now()).q
        )
    );
}

#[db_test]
async fn children_are_ranked_by_the_chosen_figure(db: TestDb) {
    let (app, t, p) = setup(db).await;
    records(&app, &t).await;
    let rank = |v: &Value| -> Vec<(i64, Option<u64>, String)> {
        v["children"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["place_id"].as_i64().unwrap(),
                    c["rank"].as_u64(),
                    c["display"].as_str().unwrap_or("—").to_string(),
                )
            })
            .collect()
    };
    let (s, v) = get(
        &app,
        p.district,
        &format!(
            "/api/v1/cockpit/{}/children?figure=party_org_coverage",
            t.district
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        rank(&v),
        vec![
            (t.other_street, Some(1), "100.0%".into()),
            (t.street, Some(2), "50.0%".into())
        ]
    );
    // Equal values share a rank.
    let (_, v) = get(
        &app,
        p.district,
        &format!(
            "/api/v1/cockpit/{}/children?figure=joint_meetings",
            t.district
        ),
    )
    .await;
    assert_eq!(
        rank(&v),
        vec![
            (t.street, Some(1), "1".into()),
            (t.other_street, Some(1), "1".into())
        ]
    );
    // A share of nothing is unranked and comes last.
    let (_, v) = get(
        &app,
        p.worker,
        &format!("/api/v1/cockpit/{}/children?figure=three_ones", t.community),
    )
    .await;
    assert_eq!(
        rank(&v),
        vec![
            (t.compound.compound, Some(1), "50.0%".into()),
            (t.neighbour.compound, None, "—".into())
        ]
    );
    // No figure chosen: the default.
    let (_, v) = get(
        &app,
        p.district,
        &format!("/api/v1/cockpit/{}/children", t.district),
    )
    .await;
    assert_eq!(v["figure"], "party_org_coverage");
    // A compound has no children.
    let (_, v) = get(
        &app,
        p.secretary,
        &format!(
            "/api/v1/cockpit/{}/children?figure=pilots",
            t.compound.compound
        ),
    )
    .await;
    assert_eq!(v["children"], Value::Array(vec![]));
}

#[db_test]
async fn officials_read_their_node_and_below_and_nobody_else_reads_anything(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let ids = nodes(&t);
    // Columns as in `nodes`: which nodes each account reads.
    let cases: [(&str, i64, [bool; 8]); 10] = [
        ("district", p.district, [true; 8]),
        ("far district", p.far_district, [false; 8]),
        (
            "street",
            p.street,
            [false, true, false, true, false, true, true, false],
        ),
        (
            "other street",
            p.other_street,
            [false, false, true, false, true, false, false, true],
        ),
        (
            "worker",
            p.worker,
            [false, false, false, true, false, true, true, false],
        ),
        (
            "other worker",
            p.other_worker,
            [false, false, false, false, true, false, false, true],
        ),
        (
            "secretary",
            p.secretary,
            [false, false, false, false, false, true, false, false],
        ),
        (
            "neighbour secretary",
            p.neighbour_secretary,
            [false, false, false, false, false, false, true, false],
        ),
        ("resident", p.resident, [false; 8]),
        ("agency", p.agency, [false; 8]),
    ];
    for (who, account, reads) in cases {
        let c = app.client(account).await;
        for (id, ok) in ids.iter().zip(reads) {
            for path in [
                format!("/api/v1/cockpit/{id}"),
                format!("/api/v1/cockpit/{id}/children?figure=pilots"),
                format!("/cockpit/{id}"),
            ] {
                let r = c.get(&path).await;
                let want = if ok {
                    StatusCode::OK
                } else {
                    StatusCode::NOT_FOUND
                };
                assert_eq!(r.status, want, "{who} {path}");
                if !ok && path.starts_with("/api") {
                    assert_eq!(api_error(&r).0, "not_found", "{who} {path}");
                }
            }
        }
        // Their own cockpit: officials see it (the far district's admin
        // their own district), the others 404.
        let r = c.get("/cockpit").await;
        let official = reads.iter().any(|x| *x) || account == p.far_district;
        assert_eq!(
            r.status,
            if official {
                StatusCode::OK
            } else {
                StatusCode::NOT_FOUND
            },
            "{who} /cockpit"
        );
    }
    // Anonymous: 401 from the API, the login page for pages.
    for id in ids {
        let r = app.get(&format!("/api/v1/cockpit/{id}")).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        let r = app.get(&format!("/api/v1/cockpit/{id}/children")).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        let r = app.get(&format!("/cockpit/{id}")).await;
        assert!(r.status.is_redirection(), "{}", r.status);
        assert!(r.header("location").unwrap_or("").starts_with("/login"));
    }
    // A place that does not exist is as outside.
    let r = app
        .client(p.district)
        .await
        .get("/api/v1/cockpit/999999")
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

/// The way down shown above a compound's cockpit: from the reader's
/// highest official place, each place they are an official of.
#[db_test]
async fn the_trail_leads_down_from_the_readers_highest_place(db: TestDb) {
    let (app, t, p) = setup(db).await;
    // A community worker who is also the admin of the street above.
    let both = jinlin_testkit::fixtures::account(
        &app.db.db,
        "worker-and-street",
        Role::CommunityWorker,
        t.community,
    )
    .await;
    jinlin_kernel::auth::accounts::grant(
        app.db.db.conn(),
        both,
        Role::StreetAdmin,
        t.street,
        Some(D.into()),
        None,
    )
    .await
    .unwrap();
    let c = t.compound.compound;
    for (who, expected) in [
        (p.district, vec![t.district, t.street, t.community, c]),
        (p.street, vec![t.street, t.community, c]),
        (p.worker, vec![t.community, c]),
        (p.secretary, vec![c]),
        (both, vec![t.street, t.community, c]),
    ] {
        let (s, v) = get(&app, who, &format!("/api/v1/cockpit/{c}")).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let trail: Vec<i64> = v["trail"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["place_id"].as_i64().unwrap())
            .collect();
        assert_eq!(trail, expected, "account {who}");
    }
}

#[db_test]
async fn bad_input_is_refused_in_the_readers_language(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let c = app.client(p.district).await;
    // A dwelling or a building is no node.
    for id in [t.compound.dwellings[0], t.compound.building] {
        let r = c.get(&format!("/api/v1/cockpit/{id}")).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let (_, message) = api_error(&r);
        assert!(has_cjk(&message), "{message}");
        let r = c.get_en(&format!("/api/v1/cockpit/{id}")).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let (_, message) = api_error(&r);
        assert!(
            message.contains("district, street, community or compound"),
            "{message}"
        );
        let r = c.get(&format!("/cockpit/{id}")).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    // A dwelling outside the reader's scope is still 404.
    let r = app
        .client(p.street)
        .await
        .get(&format!("/api/v1/cockpit/{}", t.far.dwellings[0]))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // An unknown figure.
    for path in [
        format!("/api/v1/cockpit/{}/children?figure=nope", t.district),
        format!("/cockpit/{}?figure=nope", t.district),
    ] {
        let r = c.get(&path).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
    }
    let r = c
        .get_en(&format!(
            "/api/v1/cockpit/{}/children?figure=nope",
            t.district
        ))
        .await;
    assert!(api_error(&r).1.contains("Unknown figure."));
    // A path that is no id.
    let r = c.get("/api/v1/cockpit/abc").await;
    assert!(r.status.is_client_error());
}

#[db_test]
async fn the_pages_show_cards_ranking_drill_down_wall_and_english(db: TestDb) {
    let (app, t, p) = setup(db).await;
    records(&app, &t).await;
    let c = app.client(p.district).await;
    let r = c.get("/cockpit").await;
    assert_eq!(r.status, StatusCode::OK);
    let html = r.text();
    assert!(html.contains("仓山区 · 近邻党建驾驶舱"), "{html}");
    assert!(html.contains("党组织覆盖率"));
    assert!(html.contains(&format!(
        "href=\"/cockpit/{}?figure=party_org_coverage\"",
        t.street
    )));
    assert!(html.contains("data-chart="));
    assert!(html.contains("/assets/cockpit.js"));
    assert!(!html.contains("<script>"), "no inline script");
    assert!(html.contains("site-header"));
    // Drill down to a compound: no children table.
    let r = c
        .get(&format!(
            "/cockpit/{}?figure=matters_raised",
            t.compound.compound
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let html = r.text();
    assert!(html.contains("金山花园"));
    assert!(
        html.contains(&format!("href=\"/cockpit/{}\"", t.street)),
        "trail: {html}"
    );
    assert!(!html.contains("ck-table"));
    assert!(
        !html.contains("ck-others"),
        "below the top node the trail leads up"
    );
    // The wall: no site header, dark styles.
    let r = c.get(&format!("/cockpit/{}?wall=1", t.district)).await;
    assert_eq!(r.status, StatusCode::OK);
    let html = r.text();
    assert!(html.contains("ck-wall-body"));
    assert!(!html.contains("site-header"));
    // English.
    let r = c.get_en(&format!("/cockpit/{}", t.district)).await;
    let html = r.text();
    assert!(
        html.contains("Compounds with a party organisation"),
        "{html}"
    );
    assert!(html.contains("Neighbourhood party-building cockpit"));
    // The script is served.
    let r = app.get("/assets/cockpit.js").await;
    assert_eq!(r.status, StatusCode::OK);
    // The routes are in the OpenAPI document.
    let doc = app.get("/api/v1/openapi.json").await.json();
    assert!(doc["paths"]["/api/v1/cockpit/{place_id}"].is_object());
    assert!(doc["paths"]["/api/v1/cockpit/{place_id}/children"].is_object());
}

// ---------------------------------------------------------------- trends and open data

/// The periods of a trend as the server will compute them now.
fn months() -> Vec<Period> {
    cockpit_rules::periods(By::Month, Utc::now())
}

fn quarters() -> Vec<Period> {
    cockpit_rules::periods(By::Quarter, Utc::now())
}

/// `n` periods before the current one.
fn back(p: Period, n: usize) -> Period {
    (0..n).fold(p, |p, _| p.prev())
}

fn mid(p: Period) -> DateTime<Utc> {
    p.start() + Duration::days(10)
}

const RESIDENT_NAME: &str = "王秀英";
const RESIDENT_PHONE: &str = "13905918866";

/// A resident's matter raised at `at` in compound `x`.
async fn raised(app: &TestApp, t: &Tree, x: i64, at: DateTime<Utc>, state: &str, who: i64) {
    let db = app.db.db.conn();
    let (s, k) = above(t, x);
    let category = category::Entity::find().one(db).await.unwrap().unwrap().id;
    resident_matter::Entity::insert(resident_matter::ActiveModel {
        district_code: Set(D.into()),
        street_id: Set(Some(s)),
        community_id: Set(Some(k)),
        compound_id: Set(x),
        place_id: Set(x),
        address: Set(Some("金山花园3号楼".into())),
        latitude_e6: Set(None),
        longitude_e6: Set(None),
        reporter_account_id: Set(None),
        reporter_person_id: Set(Some(who)),
        reporter_role: Set("resident".into()),
        category_id: Set(category),
        urgency: Set("normal".into()),
        title: Set(format!("{RESIDENT_NAME}反映水管漏水")),
        description: Set(format!("请联系{RESIDENT_PHONE}")),
        public: Set(false),
        state: Set(state.into()),
        holder_kind: Set("property".into()),
        holder_place_id: Set(None),
        holder_account_id: Set(None),
        holder_org: Set(None),
        received_by: Set(None),
        dispatched_at: Set(None),
        due_at: Set(None),
        warn_at: Set(None),
        warned_at: Set(None),
        escalation_level: Set(0),
        merged_into: Set(None),
        reopened_count: Set(0),
        satisfaction: Set(None),
        satisfaction_comment: Set(None),
        closed_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    })
    .exec(db)
    .await
    .unwrap();
}

/// A five-deliberation matter started at `at` in compound `x`.
async fn deliberation_at(app: &TestApp, t: &Tree, x: i64, at: DateTime<Utc>) {
    let db = app.db.db.conn();
    let (s, k) = above(t, x);
    deliberation::Entity::insert(deliberation::ActiveModel {
        district_code: Set(D.into()),
        street_id: Set(Some(s)),
        community_id: Set(Some(k)),
        compound_id: Set(x),
        title: Set("更换门禁".into()),
        description: Set(format!("{RESIDENT_NAME}提议")),
        state: Set("propose".into()),
        joint_decision: Set(None),
        proposer_account_id: Set(None),
        proposer_name: Set(RESIDENT_NAME.into()),
        review_from: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    })
    .exec(db)
    .await
    .unwrap();
}

/// The known records of `records`, re-dated, and dated matters and
/// deliberations of a named resident. M0 is the current month, M-n the
/// n-th before; Q0 and Q-n likewise.
///
/// - matters raised: A at the first instant of M0, the middle of M-1 and
///   the last second of M-1, the middle of M-3; B at the first instant of
///   M-1 and the middle of M-12 (outside the months); C the middle of
///   M-2; a merged one of A in M-1 left out; `records`' own matters
///   raised in M-30 (outside both spans) and solved (closed) in M-2
/// - deliberations started: A at the first instant of Q0, the first and
///   the last second of Q-1; B at the first instant of Q-7; C the middle
///   of Q-3 and the last second of Q-8 (outside); `records`' own in M-30
/// - projects (A two, C one) set in M-1, A's done one done in M-2
/// - joint meetings: this quarter's held in M-1 (金山街道 one held, one
///   scheduled; 仓山镇 one held), the year-old one in M-30
/// - sessions that ended by now (A 5 checked in, C 3) ended in M-1; the
///   one not yet ended and the cancelled one left out
/// - admissions approved (O1 to A and C, O2 to A) in M-2
/// - votes closed (A) in M-3
async fn dated(app: &TestApp, t: &Tree) -> i64 {
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, QueryFilter};
    records(app, t).await;
    let db = app.db.db.conn();
    let now = Utc::now();
    let (a, b, c) = (t.compound.compound, t.neighbour.compound, t.far.compound);
    let m = months();
    let m0 = m[11];
    let q = quarters();
    let q0 = q[7];
    let long_ago = mid(back(m0, 30));

    resident_matter::Entity::update_many()
        .col_expr(resident_matter::Column::CreatedAt, Expr::value(long_ago))
        .col_expr(
            resident_matter::Column::ClosedAt,
            Expr::value(mid(back(m0, 2))),
        )
        .filter(resident_matter::Column::State.eq("closed"))
        .exec(db)
        .await
        .unwrap();
    resident_matter::Entity::update_many()
        .col_expr(resident_matter::Column::CreatedAt, Expr::value(long_ago))
        .filter(resident_matter::Column::State.ne("closed"))
        .exec(db)
        .await
        .unwrap();
    deliberation::Entity::update_many()
        .col_expr(deliberation::Column::CreatedAt, Expr::value(long_ago))
        .exec(db)
        .await
        .unwrap();
    project::Entity::update_many()
        .col_expr(project::Column::CreatedAt, Expr::value(mid(back(m0, 1))))
        .col_expr(
            project::Column::CompletedAt,
            Expr::value(Some(mid(back(m0, 2)))),
        )
        .exec(db)
        .await
        .unwrap();
    let year = Quarter::of(now).year;
    joint_meeting::Entity::update_many()
        .col_expr(
            joint_meeting::Column::ScheduledAt,
            Expr::value(mid(back(m0, 1))),
        )
        .filter(joint_meeting::Column::Year.eq(year))
        .exec(db)
        .await
        .unwrap();
    joint_meeting::Entity::update_many()
        .col_expr(joint_meeting::Column::ScheduledAt, Expr::value(long_ago))
        .filter(joint_meeting::Column::Year.ne(year))
        .exec(db)
        .await
        .unwrap();
    service_session::Entity::update_many()
        .col_expr(
            service_session::Column::EndsAt,
            Expr::value(mid(back(m0, 1))),
        )
        .filter(service_session::Column::EndsAt.lt(now))
        .exec(db)
        .await
        .unwrap();
    social_org_admission::Entity::update_many()
        .col_expr(
            social_org_admission::Column::DecidedAt,
            Expr::value(Some(mid(back(m0, 2)))),
        )
        .exec(db)
        .await
        .unwrap();
    vote::Entity::update_many()
        .col_expr(vote::Column::ClosedAt, Expr::value(Some(mid(back(m0, 3)))))
        .exec(db)
        .await
        .unwrap();

    let resident = person::Entity::insert(person::ActiveModel {
        district_code: Set(Some(D.into())),
        name: Set(RESIDENT_NAME.into()),
        phone: Set(Some(RESIDENT_PHONE.into())),
        id_number_cipher: Set(None),
        id_number_digest: Set(None),
        party_member: Set(false),
        employer: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec(db)
    .await
    .unwrap()
    .last_insert_id;
    let second = chrono::Duration::seconds(1);
    for (x, at, state) in [
        (a, m0.start(), "submitted"),
        (a, mid(back(m0, 1)), "submitted"),
        (a, m0.start() - second, "handling"),
        (a, mid(back(m0, 3)), "submitted"),
        (a, mid(back(m0, 1)), "merged"),
        (b, back(m0, 1).start(), "submitted"),
        (b, mid(back(m0, 12)), "submitted"),
        (c, mid(back(m0, 2)), "submitted"),
    ] {
        raised(app, t, x, at, state, resident).await;
    }
    for (x, at) in [
        (a, q0.start()),
        (a, back(q0, 1).start()),
        (a, q0.start() - second),
        (b, back(q0, 7).start()),
        (c, mid(back(q0, 3))),
        (c, back(q0, 7).start() - second),
    ] {
        deliberation_at(app, t, x, at).await;
    }
    resident
}

fn counts(v: &Value) -> Vec<u64> {
    v["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["count"].as_u64().unwrap())
        .collect()
}

/// `n` zeros with the given counts at the given indices.
fn series(n: usize, at: &[(usize, u64)]) -> Vec<u64> {
    let mut v = vec![0; n];
    for (i, c) in at {
        v[*i] = *c;
    }
    v
}

#[db_test]
async fn trends_count_each_dated_record_in_its_month_and_quarter(db: TestDb) {
    let (app, t, p) = setup(db).await;
    dated(&app, &t).await;
    let m = months();
    let q = quarters();
    let get_trend = |who, id: i64, figure: &str, by: &str| {
        let app = &app;
        let path = format!("/api/v1/cockpit/{id}/trend?figure={figure}&by={by}");
        async move {
            let (status, v) = get(app, who, &path).await;
            assert_eq!(status, StatusCode::OK, "{path}: {v}");
            v
        }
    };
    // Matters raised by month: index 11 is the current month.
    let (a, b, c) = (t.compound.compound, t.neighbour.compound, t.far.compound);
    for (id, want) in [
        (t.district, series(12, &[(11, 1), (10, 3), (9, 1), (8, 1)])),
        (t.street, series(12, &[(11, 1), (10, 3), (8, 1)])),
        (t.other_street, series(12, &[(9, 1)])),
        (t.community, series(12, &[(11, 1), (10, 3), (8, 1)])),
        (a, series(12, &[(11, 1), (10, 2), (8, 1)])),
        (b, series(12, &[(10, 1)])),
        (c, series(12, &[(9, 1)])),
    ] {
        let v = get_trend(p.district, id, "matters_raised", "month").await;
        assert_eq!(counts(&v), want, "matters_raised at {id}");
        assert_eq!(v["by"], "month");
        let labels: Vec<String> = v["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["period"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(labels, m.iter().map(|p| p.label()).collect::<Vec<_>>());
    }
    // Deliberations started by quarter: index 7 is the current quarter.
    for (id, want) in [
        (t.district, series(8, &[(7, 1), (6, 2), (4, 1), (0, 1)])),
        (t.street, series(8, &[(7, 1), (6, 2), (0, 1)])),
        (t.other_street, series(8, &[(4, 1)])),
        (a, series(8, &[(7, 1), (6, 2)])),
        (b, series(8, &[(0, 1)])),
    ] {
        let v = get_trend(p.district, id, "deliberations", "quarter").await;
        assert_eq!(counts(&v), want, "deliberations at {id}");
        assert_eq!(
            v["points"][0]["period"].as_str().unwrap(),
            q[0].label().as_str()
        );
    }
    // The other dated figures, by month at the district and a street.
    let month = |back: usize, n: u64| (11 - back, n);
    for (figure, district, street) in [
        ("matters_solved", vec![month(2, 3)], vec![month(2, 2)]),
        ("projects", vec![month(1, 3)], vec![month(1, 2)]),
        ("projects_done", vec![month(2, 1)], vec![month(2, 1)]),
        ("joint_meetings", vec![month(1, 2)], vec![month(1, 1)]),
        ("social_sessions", vec![month(1, 2)], vec![month(1, 1)]),
        ("person_times", vec![month(1, 8)], vec![month(1, 5)]),
        ("social_orgs", vec![month(2, 2)], vec![month(2, 2)]),
        ("votes_held", vec![month(3, 1)], vec![month(3, 1)]),
    ] {
        let v = get_trend(p.district, t.district, figure, "month").await;
        assert_eq!(counts(&v), series(12, &district), "{figure} district");
        let v = get_trend(p.street, t.street, figure, "month").await;
        assert_eq!(counts(&v), series(12, &street), "{figure} street");
    }
    // The default is by month; quarters add up their months.
    let v = get(
        &app,
        p.district,
        &format!("/api/v1/cockpit/{}/trend?figure=matters_raised", t.district),
    )
    .await
    .1;
    assert_eq!(v["by"], "month");
    let by_quarter = counts(&get_trend(p.district, t.district, "matters_raised", "quarter").await);
    assert_eq!(
        by_quarter.iter().sum::<u64>(),
        7,
        "every raised matter of the last 8 quarters"
    );
}

#[db_test]
async fn open_data_holds_the_period_counts_and_the_standing_figures_and_no_one(db: TestDb) {
    let (app, t, p) = setup(db).await;
    dated(&app, &t).await;
    let m = months();
    let q = quarters();
    let c = app.client(p.district).await;
    let last_month = m[10].label();
    // JSON: the district and its two streets.
    let (status, v) = get(
        &app,
        p.district,
        &format!(
            "/api/v1/cockpit/{}/open-data.json?period={last_month}",
            t.district
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["period"], last_month.as_str());
    assert_eq!(v["place"]["place_id"], t.district);
    assert_eq!(v["place"]["kind"], "district");
    let kids = v["children"].as_array().unwrap();
    assert_eq!(kids.len(), 2);
    assert_eq!(kids[0]["place"]["place_id"], t.street);
    assert_eq!(kids[1]["place"]["place_id"], t.other_street);
    // (figure, district, 金山街道, 仓山镇) counted in the last month.
    for (figure, d, s, o) in [
        ("matters_raised", 3, 3, 0),
        ("matters_solved", 0, 0, 0),
        ("projects", 3, 2, 1),
        ("projects_done", 0, 0, 0),
        ("joint_meetings", 2, 1, 1),
        ("social_sessions", 2, 1, 1),
        ("person_times", 8, 5, 3),
        ("social_orgs", 0, 0, 0),
        ("votes_held", 0, 0, 0),
    ] {
        assert_eq!(v["figures"][figure], d, "{figure}");
        assert_eq!(kids[0]["figures"][figure], s, "{figure}");
        assert_eq!(kids[1]["figures"][figure], o, "{figure}");
    }
    // Two months ago and the last quarter.
    let (_, v2) = get(
        &app,
        p.district,
        &format!(
            "/api/v1/cockpit/{}/open-data.json?period={}",
            t.district,
            m[9].label()
        ),
    )
    .await;
    for (figure, d, s, o) in [
        ("matters_solved", 3, 2, 1),
        ("projects_done", 1, 1, 0),
        ("social_orgs", 2, 2, 1),
        ("matters_raised", 1, 0, 1),
    ] {
        assert_eq!(v2["figures"][figure], d, "{figure}");
        assert_eq!(v2["children"][0]["figures"][figure], s, "{figure}");
        assert_eq!(v2["children"][1]["figures"][figure], o, "{figure}");
    }
    let (_, vq) = get(
        &app,
        p.district,
        &format!(
            "/api/v1/cockpit/{}/open-data.json?period={}",
            t.district,
            q[6].label()
        ),
    )
    .await;
    assert_eq!(vq["period"], q[6].label().as_str());
    assert_eq!(vq["figures"]["deliberations"], 2);
    assert_eq!(vq["children"][0]["figures"]["deliberations"], 2);
    assert_eq!(vq["children"][1]["figures"]["deliberations"], 0);
    // The standing figures are the cockpit's, as numbers.
    let (_, cockpit) = get(&app, p.district, &format!("/api/v1/cockpit/{}", t.district)).await;
    let standing = |view: &Value| -> Vec<(String, Value)> {
        view["figures"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| {
                !cockpit_rules::Key::parse(f["key"].as_str().unwrap())
                    .unwrap()
                    .has_trend()
            })
            .map(|f| (f["key"].as_str().unwrap().to_string(), f["value"].clone()))
            .collect()
    };
    let num = |x: &Value| x.as_f64();
    for (key, value) in standing(&cockpit) {
        assert_eq!(num(&v["figures"][&key]), num(&value), "{key}");
    }
    for (i, child) in cockpit["children"].as_array().unwrap().iter().enumerate() {
        for (key, value) in standing(child) {
            assert_eq!(
                num(&kids[i]["figures"][&key]),
                num(&value),
                "{key} child {i}"
            );
        }
    }
    assert_eq!(v["figures"]["party_org_coverage"].as_f64(), Some(66.6));
    assert_eq!(v["figures"]["compounds"], 3);

    // CSV: one heading row of keys, the district, then its streets.
    let r = c
        .get(&format!(
            "/api/v1/cockpit/{}/open-data.csv?period={last_month}",
            t.district
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("content-type").unwrap().starts_with("text/csv"));
    assert!(r.header("content-disposition").unwrap().contains(".csv"));
    let csv_text = r.text();
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let head: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(&head[..3], ["place_id", "place_code", "place_name"]);
    for k in cockpit_rules::Key::ALL {
        assert!(head.iter().any(|h| h == k.as_str()), "{}", k.as_str());
    }
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    assert_eq!(rows[0][col("place_id")], t.district.to_string());
    assert_eq!(rows[0][col("level")], *"node");
    assert_eq!(rows[1][col("place_id")], t.street.to_string());
    assert_eq!(rows[1][col("level")], *"child");
    assert_eq!(rows[0][col("period")], last_month);
    assert_eq!(rows[0][col("period_start")], format!("{}-01", last_month));
    for (figure, want) in [
        ("matters_raised", ["3", "3", "0"]),
        ("person_times", ["8", "5", "3"]),
    ] {
        for (row, w) in rows.iter().zip(want) {
            assert_eq!(&row[col(figure)], w, "{figure}");
        }
    }
    assert_eq!(&rows[0][col("party_org_coverage")], "66.6");
    // A community's: joint meetings are a street's, blank below one.
    let r = c
        .get(&format!("/api/v1/cockpit/{}/open-data.csv", t.community))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let text = r.text();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let h2: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let jm = h2.iter().position(|h| h == "joint_meetings").unwrap();
    let rows2: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows2.len(), 3, "the community and its two compounds");
    assert!(rows2.iter().all(|r| r[jm].is_empty()));
    assert_eq!(
        rows2[0][h2.iter().position(|h| h == "period").unwrap()],
        m[11].label()
    );

    // No personal data: names, phones, addresses, titles, free text.
    let json_text = serde_json::to_string(&v).unwrap();
    let (_, community_json) = get(
        &app,
        p.district,
        &format!(
            "/api/v1/cockpit/{}/open-data.json?period={last_month}",
            t.compound.compound
        ),
    )
    .await;
    let community_json = community_json.to_string();
    for text in [&csv_text, &json_text, &community_json, &text] {
        for secret in [
            RESIDENT_NAME,
            RESIDENT_PHONE,
            "漏水",
            "金山花园3号楼",
            "林党员",
            "楼道灯不亮",
            "更换门禁",
        ] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(!text.contains("account"), "{text}");
    }
}

#[db_test]
async fn trend_and_open_data_follow_the_cockpits_scope_and_refuse_bad_input(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let ids = nodes(&t);
    let cases: [(&str, i64, [bool; 8]); 5] = [
        ("district", p.district, [true; 8]),
        ("far district", p.far_district, [false; 8]),
        (
            "street",
            p.street,
            [false, true, false, true, false, true, true, false],
        ),
        (
            "secretary",
            p.secretary,
            [false, false, false, false, false, true, false, false],
        ),
        ("resident", p.resident, [false; 8]),
    ];
    let paths = |id: i64| {
        [
            format!("/api/v1/cockpit/{id}/trend?figure=matters_raised&by=quarter"),
            format!("/api/v1/cockpit/{id}/open-data.csv?period=2026-Q1"),
            format!("/api/v1/cockpit/{id}/open-data.json"),
        ]
    };
    for (who, account, reads) in cases {
        let c = app.client(account).await;
        for (id, ok) in ids.iter().zip(reads) {
            for path in paths(*id) {
                let r = c.get(&path).await;
                let want = if ok {
                    StatusCode::OK
                } else {
                    StatusCode::NOT_FOUND
                };
                assert_eq!(r.status, want, "{who} {path}");
                if !ok {
                    assert_eq!(api_error(&r).0, "not_found", "{who} {path}");
                }
            }
        }
        // Bad input outside the scope is still 404: nothing is learnt.
        if !reads[0] {
            let r = c
                .get(&format!("/api/v1/cockpit/{}/trend?figure=nope", t.district))
                .await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{who}");
        }
    }
    for id in ids {
        for path in paths(id) {
            assert_eq!(
                app.get(&path).await.status,
                StatusCode::UNAUTHORIZED,
                "{path}"
            );
        }
    }
    let c = app.client(p.district).await;
    let d = t.district;
    // (path, words of the English message).
    for (path, en) in [
        (format!("/api/v1/cockpit/{d}/trend"), "Unknown figure."),
        (
            format!("/api/v1/cockpit/{d}/trend?figure=nope"),
            "Unknown figure.",
        ),
        (
            format!(
                "/api/v1/cockpit/{}/trend?figure=party_org_coverage",
                t.compound.compound
            ),
            "kept down to communities",
        ),
        (
            format!("/api/v1/cockpit/{d}/trend?figure=matters_raised&by=week"),
            "by month or by quarter",
        ),
        (
            format!(
                "/api/v1/cockpit/{}/trend?figure=joint_meetings",
                t.community
            ),
            "not counted at this level",
        ),
        (
            format!("/api/v1/cockpit/{d}/open-data.csv?period=2026-13"),
            "YYYY-MM",
        ),
        (
            format!("/api/v1/cockpit/{d}/open-data.json?period=2026-Q5"),
            "YYYY-MM",
        ),
        (
            format!("/api/v1/cockpit/{d}/open-data.json?period=last"),
            "YYYY-MM",
        ),
        (
            format!("/api/v1/cockpit/{}/open-data.json", t.compound.building),
            "district, street, community or compound",
        ),
        (
            format!(
                "/api/v1/cockpit/{}/trend?figure=matters_raised",
                t.compound.dwellings[0]
            ),
            "district, street, community or compound",
        ),
    ] {
        let r = c.get(&path).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        let (_, message) = api_error(&r);
        assert!(has_cjk(&message), "{path}: {message}");
        let r = c.get_en(&path).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        let (_, message) = api_error(&r);
        assert!(message.contains(en), "{path}: {message}");
    }
    // The page refuses a bad `by` too.
    let r = c
        .get(&format!("/cockpit/{d}?figure=matters_raised&by=week"))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[db_test]
async fn the_page_draws_the_chosen_figures_trend_and_links_the_open_data(db: TestDb) {
    let (app, t, p) = setup(db).await;
    dated(&app, &t).await;
    let c = app.client(p.district).await;
    let r = c
        .get(&format!("/cockpit/{}?figure=matters_raised", t.district))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let html = r.text();
    assert!(html.contains("id=\"ck-trend\""), "{html}");
    assert!(html.contains("data-trend=\""));
    assert!(
        html.contains("&#34;counts&#34;:[0,0,0,0,0,0,0,0,1,1,3,1]"),
        "{html}"
    );
    assert!(html.contains(&format!("/api/v1/cockpit/{}/open-data.csv", t.district)));
    assert!(html.contains(&format!("/api/v1/cockpit/{}/open-data.json", t.district)));
    assert!(html.contains("by=quarter"));
    assert!(!html.contains("<script>"), "no inline script");
    let r = c
        .get(&format!(
            "/cockpit/{}?figure=matters_raised&by=quarter",
            t.district
        ))
        .await;
    assert!(r.text().contains("近8个季度"));
    // A standing figure's trend comes from the daily snapshots: none
    // taken yet, so a line of gaps, not of zeros.
    let r = c
        .get(&format!(
            "/cockpit/{}?figure=party_org_coverage",
            t.district
        ))
        .await;
    let html = r.text();
    assert!(html.contains("id=\"ck-trend\""));
    assert!(
        html.contains(
            "&#34;counts&#34;:[null,null,null,null,null,null,null,null,null,null,null,null]"
        ),
        "{html}"
    );
    assert!(html.contains("首次快照之前的统计期无数据"));
    // A compound keeps no snapshots: said, not drawn.
    let r = c
        .get(&format!(
            "/cockpit/{}?figure=party_org_coverage",
            t.compound.compound
        ))
        .await;
    let html = r.text();
    assert!(!html.contains("id=\"ck-trend\""));
    assert!(html.contains("快照只保存到社区"));
    // Joint meetings below a street: no trend either; the page still opens.
    let r = c
        .get(&format!("/cockpit/{}?figure=joint_meetings", t.community))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.text().contains("id=\"ck-trend\""));
    // The wall keeps the chart, without the open-data link.
    let r = c
        .get(&format!(
            "/cockpit/{}?figure=matters_raised&wall=1",
            t.district
        ))
        .await;
    let html = r.text();
    assert!(html.contains("id=\"ck-trend\""));
    assert!(!html.contains("open-data.csv"));
    // The OpenAPI document lists the three routes.
    let doc = app.get("/api/v1/openapi.json").await.text();
    for path in [
        "/cockpit/{place_id}/trend",
        "/cockpit/{place_id}/open-data.csv",
        "/cockpit/{place_id}/open-data.json",
    ] {
        assert!(doc.contains(path), "{path}");
    }
}

// ---------------------------------------------------------------- maintained figures

/// 福建省 / 福州市 above the test tree: both districts made the city's.
/// Returns (province, city).
async fn city_above(app: &TestApp, t: &Tree, far: i64) -> (i64, i64) {
    use jinlin_kernel::place::entity as place;
    use sea_orm::{ColumnTrait, QueryFilter};
    let db = app.db.db.conn();
    let now = Utc::now();
    let mut ids = Vec::new();
    let mut parent = None;
    for (kind, code, name) in [
        ("province", "350000000000", "福建省"),
        ("city", "350100000000", "福州市"),
    ] {
        let id = place::Entity::insert(place::ActiveModel {
            kind: Set(kind.into()),
            parent_id: Set(parent),
            code: Set(Some(code.into())),
            name: Set(name.into()),
            initials: Set(String::new()),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .exec(db)
        .await
        .unwrap()
        .last_insert_id;
        parent = Some(id);
        ids.push(id);
    }
    place::Entity::update_many()
        .col_expr(
            place::Column::ParentId,
            sea_orm::sea_query::Expr::value(ids[1]),
        )
        .filter(place::Column::Id.is_in([t.district, far]))
        .exec(db)
        .await
        .unwrap();
    (ids[0], ids[1])
}

/// The cockpit as shown, without the time it was computed.
fn figures_of(v: &Value) -> (Value, Value) {
    (v["figures"].clone(), v["children"].clone())
}

/// A community right under the district, as the division codes give where a
/// street is merged into its district, with a compound and a dwelling: its
/// dwellings have no street, and the district's figures count them still.
async fn streetless_community(app: &TestApp, district: i64) {
    use jinlin_kernel::place::entity as place;
    use sea_orm::Set;
    let now = Utc::now();
    let mut ids: Vec<i64> = Vec::new();
    for kind in ["community", "compound", "building", "entrance", "dwelling"] {
        let above = |k: usize| ids.get(k).copied();
        let id = place::Entity::insert(place::ActiveModel {
            kind: Set(kind.into()),
            parent_id: Set(Some(ids.last().copied().unwrap_or(district))),
            name: Set(format!("并入区的{kind}")),
            initials: Set(String::new()),
            district_code: Set(Some("350104".into())),
            street_id: Set(None),
            community_id: Set(above(0)),
            compound_id: Set(above(1)),
            building_id: Set(above(2)),
            entrance_id: Set(above(3)),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .exec(app.db.db.conn())
        .await
        .unwrap()
        .last_insert_id;
        ids.push(id);
    }
}
#[db_test]
async fn maintained_figures_equal_the_live_ones_at_every_level_and_follow_a_change(db: TestDb) {
    let (app, t, p) = setup(db).await;
    records(&app, &t).await;
    let far_id = {
        use jinlin_kernel::place::entity as place;
        use sea_orm::{ColumnTrait, QueryFilter};
        place::Entity::find()
            .filter(place::Column::DistrictCode.eq("350102"))
            .one(app.db.db.conn())
            .await
            .unwrap()
            .unwrap()
            .id
    };
    let (province, city) = city_above(&app, &t, far_id).await;
    let city_admin = account(&app.db.db, "city", Role::DistrictAdmin, city).await;
    let province_admin = account(&app.db.db, "province", Role::DistrictAdmin, province).await;
    let maintained = [t.district, t.street, t.other_street];

    // Before any refresh: a district's and a street's are gathered live,
    // a city's is being computed.
    let mut live = Vec::new();
    for id in maintained {
        let (s, v) = get(&app, p.district, &format!("/api/v1/cockpit/{id}")).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert!(v["computed_at"].is_null());
        live.push(figures_of(&v));
    }
    let (s, v) = get(&app, city_admin, &format!("/api/v1/cockpit/{city}")).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert_eq!(v["error"]["code"], "figures_pending", "{v}");
    assert!(has_cjk(v["error"]["message"].as_str().unwrap()), "{v}");

    let now = Utc::now();
    let report = jinlin_cockpit::figures::refresh(&app.db.db, now)
        .await
        .unwrap();
    // Two districts, two streets, two communities, the city, the province.
    assert_eq!(report.nodes, 8);

    // After it: the same figures, read from the maintained rows.
    for (id, before) in maintained.iter().zip(&live) {
        let (s, v) = get(&app, p.district, &format!("/api/v1/cockpit/{id}")).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert!(v["computed_at"].is_string(), "{v}");
        assert_eq!(&figures_of(&v), before, "node {id}");
    }
    // Every stored row against a live gathering of the same node.
    let conn = app.db.db.conn();
    for id in [
        t.district,
        far_id,
        t.street,
        t.other_street,
        t.community,
        t.other_community,
    ] {
        let node = jinlin_places::store::find(conn, id).await.unwrap().unwrap();
        let gathered = jinlin_cockpit::board::gather(conn, &node, now)
            .await
            .unwrap();
        let (stored, _) = jinlin_cockpit::figures::read(conn, id)
            .await
            .unwrap()
            .expect("stored");
        assert_eq!(stored.numbers, gathered.numbers, "node {id}");
    }

    // The city: its districts added up (鼓楼区 holds nothing), each ranked
    // with a drill-down; the province likewise with its city.
    let (s, v) = get(&app, city_admin, &format!("/api/v1/cockpit/{city}")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["kind"], "city");
    assert_eq!(shown(&v["figures"]), expected(0));
    let kids: Vec<i64> = v["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["place_id"].as_i64().unwrap())
        .collect();
    assert_eq!(kids, vec![far_id, t.district], "division order");
    assert_eq!(shown(&v["children"][1]["figures"]), expected(0));
    let (_, r) = get(
        &app,
        city_admin,
        &format!("/api/v1/cockpit/{city}/children?figure=matters_raised"),
    )
    .await;
    assert_eq!(r["children"][0]["place_id"], t.district);
    assert_eq!(r["children"][0]["rank"], 1);
    assert_eq!(r["children"][1]["display"], "0");
    let (s, v) = get(&app, province_admin, &format!("/api/v1/cockpit/{province}")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(shown(&v["figures"]), expected(0));
    assert_eq!(v["children"][0]["place_id"], city);
    // The city admin drills down to the district and reads it.
    let (s, v) = get(&app, city_admin, &format!("/api/v1/cockpit/{}", t.district)).await;
    assert_eq!(s, StatusCode::OK);
    let trail: Vec<i64> = v["trail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["place_id"].as_i64().unwrap())
        .collect();
    assert_eq!(trail, vec![city, t.district]);
    // The page says when the figures were computed.
    let html = app
        .client(city_admin)
        .await
        .get(&format!("/cockpit/{city}"))
        .await
        .text();
    assert!(html.contains("数据截至"), "{html}");
    assert!(html.contains(&format!("href=\"/cockpit/{}", t.district)));

    // A new matter: the stored figures keep the refresh's count (the
    // community, read live, has it at once) until the next refresh.
    raised(&app, &t, t.compound.compound, Utc::now(), "submitted", 1).await;
    let raised_at = |v: &Value| {
        shown(&v["figures"])
            .into_iter()
            .find(|(k, _)| k == "matters_raised")
            .unwrap()
            .1
    };
    let (_, v) = get(&app, p.district, &format!("/api/v1/cockpit/{}", t.district)).await;
    assert_eq!(raised_at(&v), "4");
    let (_, v) = get(
        &app,
        p.district,
        &format!("/api/v1/cockpit/{}", t.community),
    )
    .await;
    assert_eq!(raised_at(&v), "4", "3 before, and the new one");
    jinlin_cockpit::figures::refresh(&app.db.db, Utc::now())
        .await
        .unwrap();
    for (who, id, n) in [
        (p.district, t.district, "5"),
        (p.district, t.street, "4"),
        (city_admin, city, "5"),
        (province_admin, province, "5"),
    ] {
        let (_, v) = get(&app, who, &format!("/api/v1/cockpit/{id}")).await;
        assert_eq!(raised_at(&v), n, "node {id}");
    }

    // A community right under the district: its compound and dwelling are
    // the district's too, though they have no street.
    streetless_community(&app, t.district).await;
    let now = Utc::now();
    jinlin_cockpit::figures::refresh(&app.db.db, now)
        .await
        .unwrap();
    let district = jinlin_places::store::find(conn, t.district)
        .await
        .unwrap()
        .unwrap();
    let gathered = jinlin_cockpit::board::gather(conn, &district, now)
        .await
        .unwrap();
    let (stored, _) = jinlin_cockpit::figures::read(conn, t.district)
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(stored.numbers, gathered.numbers);
    assert_eq!(stored.numbers.compounds, 4, "three in streets, one not");
}

#[db_test]
async fn the_refresh_runs_a_district_at_a_time_on_the_job_queue(db: TestDb) {
    use jinlin_cockpit::figures::{self, DISTRICT_KIND, EVERY};
    use jinlin_kernel::jobs::{JobRunner, RunnerConfig, entity as job};
    use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter, QueryOrder};
    let (app, t, _) = setup(db).await;
    records(&app, &t).await;
    let db = &app.db.db;
    let conn = db.conn();
    let find =
        |id: i64| async move { jinlin_places::store::find(conn, id).await.unwrap().unwrap() };
    let far = jinlin_kernel::place::entity::Entity::find()
        .filter(jinlin_kernel::place::entity::Column::Kind.eq("district"))
        .filter(jinlin_kernel::place::entity::Column::Id.ne(t.district))
        .one(conn)
        .await
        .unwrap()
        .unwrap();
    let (province, city) = city_above(&app, &t, far.id).await;
    // A second city of the province, with no district under it yet.
    let empty_city =
        jinlin_kernel::place::entity::Entity::insert(jinlin_kernel::place::entity::ActiveModel {
            kind: Set("city".into()),
            parent_id: Set(Some(province)),
            code: Set(Some("350200000000".into())),
            name: Set("厦门市".into()),
            initials: Set(String::new()),
            created_at: Set(Utc::now()),
            updated_at: Set(Utc::now()),
            ..Default::default()
        })
        .exec(conn)
        .await
        .unwrap()
        .last_insert_id;
    let raised_at = |id: i64| async move {
        figures::read(conn, id)
            .await
            .unwrap()
            .map(|(own, _)| own.numbers.matters_raised)
    };

    // One district of two refreshed: its own figures are kept, but the
    // city and province are not summed from half of their districts.
    let now = Utc::now();
    let one = figures::refresh_district(db, &find(t.district).await, now, now, 2)
        .await
        .unwrap();
    assert_eq!(
        one.nodes, 5,
        "the district, its two streets and communities"
    );
    assert_eq!(one.whole, None);
    let in_district = raised_at(t.district).await.unwrap();
    assert!(in_district > 0);
    assert_eq!(raised_at(city).await, None);
    // The second completes the refresh: the city and province are summed.
    let two = figures::refresh_district(db, &find(far.id).await, now, now, 2)
        .await
        .unwrap();
    assert_eq!(two.nodes, 3, "the far district, the city, the province");
    assert_eq!(two.whole, Some(8));
    let whole = in_district + raised_at(far.id).await.unwrap();
    assert_eq!(raised_at(city).await, Some(whole));
    assert_eq!(raised_at(province).await, Some(whole));
    let street = raised_at(t.street).await.unwrap();

    // A period later on the job queue: the recurring job queues one job
    // per district, spread over the first half of the period (both have
    // figures, so neither is urgent).
    raised(&app, &t, t.compound.compound, Utc::now(), "submitted", 1).await;
    let runner = JobRunner::new(
        db.clone(),
        jinlin_cockpit::job_handlers(),
        RunnerConfig {
            node: "cockpit-test".into(),
            ..Default::default()
        },
    );
    // The next period's start: the figures are minutes old, not stale.
    let (_, later) = jinlin_kernel::jobs::period_key(
        figures::KIND,
        EVERY,
        Utc::now() + Duration::from_std(EVERY).unwrap(),
    );
    runner.tick_at(later).await.unwrap();
    let queued = job::Entity::find()
        .filter(job::Column::Kind.eq(DISTRICT_KIND))
        .order_by_asc(job::Column::RunAt)
        .all(conn)
        .await
        .unwrap();
    assert_eq!(queued.len(), 2);
    assert!(queued.iter().all(|j| j.done_at.is_none()));
    // The city without districts is written as empty when the period
    // begins (no district's job sums it), so its cockpit opens.
    let (empty, _) = figures::read(conn, empty_city).await.unwrap().unwrap();
    assert_eq!(
        empty.numbers,
        jinlin_cockpit::rules::Numbers::sum_of_districts(&[], 0, 0)
    );
    assert_eq!(empty.numbers.joint_meetings, Some(0));
    assert_eq!(
        (queued[1].run_at - queued[0].run_at).num_seconds(),
        (EVERY / 4).as_secs() as i64,
        "two districts: one at the start, one a quarter into the period"
    );
    // Once due, any node runs them; the sums follow the new matter.
    runner
        .tick_at(later + Duration::from_std(EVERY / 4).unwrap())
        .await
        .unwrap();
    let done = job::Entity::find()
        .filter(job::Column::Kind.eq(DISTRICT_KIND))
        .filter(job::Column::DoneAt.is_not_null())
        .count(conn)
        .await
        .unwrap();
    assert_eq!(done, 2);
    for (id, before) in [
        (t.district, in_district),
        (t.street, street),
        (city, whole),
        (province, whole),
    ] {
        assert_eq!(raised_at(id).await, Some(before + 1), "node {id}");
    }
    // The same period asked again (a stale cockpit asks): nothing more.
    jinlin_cockpit::figures::request_refresh(db, later)
        .await
        .unwrap();
    runner.tick_at(later).await.unwrap();
    let district_jobs = || async {
        job::Entity::find()
            .filter(job::Column::Kind.eq(DISTRICT_KIND))
            .order_by_asc(job::Column::Id)
            .all(conn)
            .await
            .unwrap()
    };
    assert_eq!(district_jobs().await.len(), 2);

    // A period begun late (a node started past its first half): figures
    // that are not stale wait for the next period, which is near.
    let past_half = later + Duration::from_std(EVERY * 6 / 10).unwrap();
    assert_eq!(figures::start(db, past_half).await.unwrap(), 0);
    assert_eq!(district_jobs().await.len(), 2);
    // Stale figures are refreshed at once, whenever the period began.
    let stale = later + Duration::from_std(EVERY * 2 + EVERY / 10).unwrap();
    assert_eq!(figures::start(db, stale).await.unwrap(), 2);
    let queued = district_jobs().await;
    assert_eq!(queued.len(), 4);
    assert!(queued[2..].iter().all(|j| j.run_at == stale), "{queued:?}");
}

#[db_test]
async fn a_city_or_province_cockpit_opens_to_its_admins_only(db: TestDb) {
    let (app, t, p) = setup(db).await;
    records(&app, &t).await;
    let far_id = {
        use jinlin_kernel::place::entity as place;
        use sea_orm::{ColumnTrait, QueryFilter};
        place::Entity::find()
            .filter(place::Column::DistrictCode.eq("350102"))
            .one(app.db.db.conn())
            .await
            .unwrap()
            .unwrap()
            .id
    };
    let (province, city) = city_above(&app, &t, far_id).await;
    let city_admin = account(&app.db.db, "city", Role::DistrictAdmin, city).await;
    jinlin_cockpit::figures::refresh(&app.db.db, Utc::now())
        .await
        .unwrap();
    let paths = |id: i64| {
        [
            format!("/api/v1/cockpit/{id}"),
            format!("/api/v1/cockpit/{id}/children?figure=matters_raised"),
            format!("/api/v1/cockpit/{id}/trend?figure=matters_raised"),
            format!("/api/v1/cockpit/{id}/trend?figure=household_reach&by=quarter"),
            format!("/api/v1/cockpit/{id}/open-data.json"),
            format!("/cockpit/{id}"),
        ]
    };
    for path in paths(city) {
        let r = app.client(city_admin).await.get(&path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        for (who, account) in [
            ("district admin below", p.district),
            ("far district admin", p.far_district),
            ("street admin", p.street),
            ("resident", p.resident),
            ("agency admin", p.agency),
        ] {
            let r = app.client(account).await.get(&path).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{who} {path}");
        }
    }
    // Above the city admin: the province is not theirs.
    for path in paths(province) {
        let r = app.client(city_admin).await.get(&path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(
        app.get(&format!("/api/v1/cockpit/{city}")).await.status,
        StatusCode::UNAUTHORIZED
    );
    // `/cockpit` opens at the city for its admin.
    let html = app.client(city_admin).await.get("/cockpit").await.text();
    assert!(html.contains("福州市"), "{html}");
    // The city's open data: each district's dated counts on its own row.
    let (_, v) = get(
        &app,
        city_admin,
        &format!("/api/v1/cockpit/{city}/open-data.json"),
    )
    .await;
    assert_eq!(v["children"][1]["place"]["place_id"], t.district);
    assert_eq!(
        v["children"][1]["figures"]["matters_raised"],
        v["figures"]["matters_raised"]
    );
    // Bad input at the city: the same 422s, in the reader's language.
    let c = app.client(city_admin).await;
    for path in [
        format!("/api/v1/cockpit/{city}/children?figure=nope"),
        format!("/api/v1/cockpit/{city}/trend?figure=matters_raised&by=week"),
        format!("/api/v1/cockpit/{}", t.compound.building),
    ] {
        let r = c.get(&path).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        assert!(has_cjk(&api_error(&r).1), "{path}");
        assert_eq!(
            c.get_en(&path).await.status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
}

/// A district whose refresh keeps failing: its city's sums go on taking
/// the other districts' new figures, but are dated as of the late
/// district's, and the city's cockpit names it, in both languages, until
/// it is refreshed again.
#[db_test]
async fn a_city_names_a_district_whose_figures_fall_behind(db: TestDb) {
    use jinlin_cockpit::figures;
    let (app, t, _) = setup(db).await;
    records(&app, &t).await;
    let db = &app.db.db;
    let conn = db.conn();
    let find =
        |id: i64| async move { jinlin_places::store::find(conn, id).await.unwrap().unwrap() };
    let far = {
        use jinlin_kernel::place::entity as place;
        use sea_orm::{ColumnTrait, QueryFilter};
        place::Entity::find()
            .filter(place::Column::DistrictCode.eq("350102"))
            .one(conn)
            .await
            .unwrap()
            .unwrap()
    };
    let (_, city) = city_above(&app, &t, far.id).await;
    let city_admin = account(db, "city", Role::DistrictAdmin, city).await;
    let path = format!("/api/v1/cockpit/{city}");
    let second = |t: DateTime<Utc>| t.timestamp();

    // An hour ago both districts were refreshed.
    let now = Utc::now();
    let hour_ago = now - Duration::hours(1);
    for d in [t.district, far.id] {
        figures::refresh_district(db, &find(d).await, hour_ago, hour_ago, 2)
            .await
            .unwrap();
    }
    // Since then a matter was raised, and only the near district was
    // refreshed: the city takes its new figures, but is an hour old.
    raised(&app, &t, t.compound.compound, now, "submitted", 1).await;
    figures::refresh_district(db, &find(t.district).await, now, now, 2)
        .await
        .unwrap();
    let (own, _) = figures::read(conn, city).await.unwrap().unwrap();
    assert_eq!(second(own.computed_at), second(hour_ago));
    let raised_in = |id: i64| async move {
        let (own, _) = figures::read(conn, id).await.unwrap().unwrap();
        own.numbers.matters_raised
    };
    assert_eq!(
        raised_in(city).await,
        raised_in(t.district).await + raised_in(far.id).await
    );
    let (_, v) = get(&app, city_admin, &path).await;
    let at: DateTime<Utc> = serde_json::from_value(v["computed_at"].clone()).unwrap();
    assert_eq!(second(at), second(hour_ago));
    let behind = v["behind"].as_array().unwrap();
    assert_eq!(behind.len(), 1, "{v}");
    assert_eq!(behind[0]["place_id"], far.id);
    assert_eq!(behind[0]["name"], far.name.as_str());
    let at: DateTime<Utc> = serde_json::from_value(behind[0]["computed_at"].clone()).unwrap();
    assert_eq!(second(at), second(hour_ago));
    let c = app.client(city_admin).await;
    let html = c.get(&format!("/cockpit/{city}")).await.text();
    assert!(html.contains("data-testid=\"behind\""), "{html}");
    assert!(html.contains("以下下级的数据未能按时更新"), "{html}");
    let shown = hour_ago
        .with_timezone(&jinlin_kernel::time::china())
        .format("%Y-%m-%d %H:%M")
        .to_string();
    assert!(html.contains(&format!("（更新于 {shown}）")), "{html}");
    let html = c.get_en(&format!("/cockpit/{city}")).await.text();
    assert!(html.contains("not refreshed on time"), "{html}");
    assert!(html.contains(&format!("(as of {shown})")), "{html}");

    // The late district refreshed: the city is current and names none.
    figures::refresh_district(db, &find(far.id).await, now, now, 2)
        .await
        .unwrap();
    let (_, v) = get(&app, city_admin, &path).await;
    assert_eq!(v["behind"], serde_json::json!([]));
    let at: DateTime<Utc> = serde_json::from_value(v["computed_at"].clone()).unwrap();
    assert_eq!(second(at), second(now));
    let html = c.get(&format!("/cockpit/{city}")).await.text();
    assert!(!html.contains("data-testid=\"behind\""), "{html}");
}

#[db_test]
async fn standing_figures_trend_from_the_last_snapshot_of_each_period(db: TestDb) {
    let (app, t, p) = setup(db).await;
    records(&app, &t).await;
    let now = Utc::now();
    let this = Period::of(By::Month, now);
    // A refresh two months back (as if the job ran then), with the
    // records as they stand: its snapshot is that month's.
    let earlier = mid(back(this, 2));
    jinlin_cockpit::figures::refresh(&app.db.db, earlier)
        .await
        .unwrap();
    // Then a matter closed without a deadline (on time): the on-time
    // share moves from 2/3 to 3/4.
    raised(&app, &t, t.compound.compound, now, "closed", 1).await;
    jinlin_cockpit::figures::refresh(&app.db.db, now)
        .await
        .unwrap();
    let (s, v) = get(
        &app,
        p.district,
        &format!(
            "/api/v1/cockpit/{}/trend?figure=matters_on_time",
            t.district
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["source"], "snapshots");
    let shown: Vec<Value> = v["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["display"].clone())
        .collect();
    let mut want = vec![Value::Null; 12];
    want[9] = "66.6%".into();
    want[11] = "75.0%".into();
    assert_eq!(shown, want, "none before the first snapshot, none in a gap");
    assert_eq!(v["points"][11]["fraction"], "3/4");
    // By quarter: the quarter's last snapshot.
    let (_, v) = get(
        &app,
        p.district,
        &format!(
            "/api/v1/cockpit/{}/trend?figure=volunteer_teams&by=quarter",
            t.community
        ),
    )
    .await;
    let last = &v["points"][7];
    assert_eq!(last["count"], 1);
    assert_eq!(last["display"], "1");
    assert!(v["points"][0]["count"].is_null());
    // The dated figures keep counting records.
    let (_, v) = get(
        &app,
        p.district,
        &format!("/api/v1/cockpit/{}/trend?figure=matters_raised", t.district),
    )
    .await;
    assert_eq!(v["source"], "records");
}

/// On PostgreSQL the server's sessions run without JIT compilation, which
/// cost the cockpit's counts more than it saved (`kernel::db::no_jit`).
#[db_test]
async fn postgres_sessions_run_without_jit(db: TestDb) {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    async fn jit(conn: &impl ConnectionTrait) -> String {
        let show = Statement::from_string(DbBackend::Postgres, "SHOW jit");
        let row = conn.query_one_raw(show).await.unwrap().unwrap();
        row.try_get::<String>("", "jit").unwrap()
    }
    if !db.is_postgres() {
        return;
    }
    assert_eq!(jit(db.db.conn()).await, "off");
    assert_eq!(jit(db.db.reads()).await, "off");
    assert_eq!(jit(&db.db.write().await.unwrap()).await, "off");
}

/// The refresh reads on one core: on PostgreSQL a read-only transaction
/// that plans no parallel workers, so a district's aggregates leave the
/// machine's other cores to the requests; on SQLite nothing to set.
#[db_test]
async fn the_refresh_reads_on_one_core(db: TestDb) {
    use jinlin_cockpit::figures;
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    async fn show(conn: &impl ConnectionTrait, setting: &str) -> String {
        let show = Statement::from_string(DbBackend::Postgres, format!("SHOW {setting}"));
        let row = conn.query_one_raw(show).await.unwrap().unwrap();
        row.try_get::<String>("", setting).unwrap()
    }
    if !db.is_postgres() {
        assert!(
            figures::one_core_reads(db.db.reads())
                .await
                .unwrap()
                .is_none()
        );
        return;
    }
    // One connection, so the checks after the transaction see the session
    // it ran on, with parallel workers allowed whatever the server's default.
    let one = jinlin_kernel::Database::connect(&db.url, 1).await.unwrap();
    one.conn()
        .execute_unprepared("SET max_parallel_workers_per_gather = 2")
        .await
        .unwrap();
    let tx = figures::one_core_reads(one.conn())
        .await
        .unwrap()
        .expect("a transaction on PostgreSQL");
    assert_eq!(show(&tx, "max_parallel_workers_per_gather").await, "0");
    assert_eq!(show(&tx, "transaction_read_only").await, "on");
    tx.commit().await.unwrap();
    assert_eq!(
        show(one.conn(), "max_parallel_workers_per_gather").await,
        "2",
        "only the transaction plans without parallel workers"
    );
}
