//! Tests of ledgers (台账): a small known data set exported and read back
//! with calamine (headings in Chinese and in English, rows, masked and
//! plain phones), a street admin's export never holding another street's
//! rows, who may export what on every route, refused input with a message
//! in the reader's language, and the audit log.

use std::io::Cursor;

use axum::http::StatusCode;
use calamine::{Data, Reader, Xlsx};
use chrono::{Duration, NaiveDate, Utc};
use jinlin_agencies::entity::{agency, agency_pairing};
use jinlin_kernel::audit::entity as audit_log;
use jinlin_kernel::auth::Role;
use jinlin_organisations::entity::{party_org, party_org_member};
use jinlin_people::entity::person;
use jinlin_places::entity::compound;
use jinlin_resident_matters::entity::{category, matter as resident_matter};
use jinlin_testkit::fixtures::{Tree, account, far_district, tree};
use jinlin_testkit::{TestDb, TestResponse, db_test};
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::support::{TestApp, api_error, has_cjk};

struct People {
    district: i64,
    far_district: i64,
    street: i64,
    other_street: i64,
    worker: i64,
    far_worker: i64,
    secretary: i64,
    neighbour_secretary: i64,
    committee: i64,
    property: i64,
    agency: i64,
    member: i64,
    resident: i64,
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
        far_worker: account(d, "far-worker", Role::CommunityWorker, t.other_community).await,
        secretary: account(d, "secretary", Role::CompoundSecretary, t.compound.compound).await,
        neighbour_secretary: account(
            d,
            "n-secretary",
            Role::CompoundSecretary,
            t.neighbour.compound,
        )
        .await,
        committee: account(d, "committee", Role::OwnersCommittee, t.compound.compound).await,
        property: account(d, "property", Role::PropertyStaff, t.compound.compound).await,
        agency: account(d, "agency", Role::AgencyAdmin, t.district).await,
        member: account(d, "member", Role::PartyMember, t.compound.dwellings[1]).await,
        resident: account(d, "resident", Role::Resident, t.compound.dwellings[0]).await,
    };
    let app = TestApp::new(db);
    records(&app, &t).await;
    (app, t, p)
}

/// The known data set:
///
/// | compound | street | type | party organisation | members (phone) | pairings | matters |
/// |---|---|---|---|---|---|---|
/// | 金山花园 | 金山街道 | commercial | 金山花园党支部 | 张三 13812345678 (committee), 李四 none | 区住建局 (current) | 1 closed on time, satisfied |
/// | 榕城小区 | 金山街道 | resettlement | none | — | none | none |
/// | 城门小区 | 仓山镇 | old | 城门小区党支部 | 王五 13900001111 (owner rep.) | 区卫健局 (ended) | 1 handling, late |
async fn records(app: &TestApp, t: &Tree) {
    let db = app.db.db.conn();
    let now = Utc::now();
    for (c, kind, company) in [
        (t.compound.compound, "commercial", Some("金山物业")),
        (t.neighbour.compound, "resettlement", None),
        (t.far.compound, "old", Some("城门物业")),
    ] {
        compound::Entity::insert(compound::ActiveModel {
            place_id: Set(c),
            district_code: Set("350104".into()),
            compound_type: Set(kind.into()),
            town_area: Set("old".into()),
            address: Set("仓山区某路1号".into()),
            latitude_e6: Set(None),
            longitude_e6: Set(None),
            owners_committee: Set(None),
            property_company: Set(company.map(Into::into)),
        })
        .exec(db)
        .await
        .unwrap();
    }
    let mut orgs = Vec::new();
    for (c, street, community, name) in [
        (t.compound.compound, t.street, t.community, "金山花园党支部"),
        (
            t.far.compound,
            t.other_street,
            t.other_community,
            "城门小区党支部",
        ),
    ] {
        orgs.push(
            party_org::Entity::insert(party_org::ActiveModel {
                district_code: Set("350104".into()),
                street_id: Set(Some(street)),
                community_id: Set(Some(community)),
                compound_id: Set(c),
                parent_place_id: Set(Some(community)),
                kind: Set("branch".into()),
                name: Set(name.into()),
                founded_on: Set(NaiveDate::from_ymd_opt(2021, 7, 1).unwrap()),
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
    for (org, c, name, phone, committee, rep) in [
        (
            orgs[0],
            t.compound.compound,
            "张三",
            Some("13812345678"),
            true,
            false,
        ),
        (orgs[0], t.compound.compound, "李四", None, false, false),
        (
            orgs[1],
            t.far.compound,
            "王五",
            Some("13900001111"),
            false,
            true,
        ),
    ] {
        let person = person::Entity::insert(person::ActiveModel {
            district_code: Set(Some("350104".into())),
            name: Set(name.into()),
            phone: Set(phone.map(Into::into)),
            id_number_cipher: Set(Some("secret-cipher".into())),
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
            org_id: Set(org),
            district_code: Set("350104".into()),
            compound_id: Set(c),
            person_id: Set(person),
            in_owners_committee: Set(committee),
            in_property_company: Set(false),
            owner_representative: Set(rep),
            created_at: Set(now),
            ..Default::default()
        })
        .exec(db)
        .await
        .unwrap();
    }
    for (name, c, ended) in [
        ("区住建局", t.compound.compound, false),
        ("区卫健局", t.far.compound, true),
    ] {
        let a = agency::Entity::insert(agency::ActiveModel {
            district_code: Set("350104".into()),
            name: Set(name.into()),
            category: Set("housing".into()),
            party_org_name: Set(format!("{name}机关党支部")),
            contact: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .exec(db)
        .await
        .unwrap()
        .last_insert_id;
        agency_pairing::Entity::insert(agency_pairing::ActiveModel {
            agency_id: Set(a),
            compound_id: Set(c),
            district_code: Set("350104".into()),
            street_id: Set(None),
            community_id: Set(None),
            route: Set("directed".into()),
            round_id: Set(None),
            started_at: Set(now - Duration::days(100)),
            ended_at: Set(ended.then_some(now - Duration::days(10))),
            end_reason: Set(ended.then(|| "调整".to_string())),
            created_by: Set(None),
            ended_by: Set(None),
            ..Default::default()
        })
        .exec(db)
        .await
        .unwrap();
    }
    let category = category::Entity::find()
        .one(db)
        .await
        .unwrap()
        .expect("the catalogue of categories")
        .id;
    for (c, street, title, state, closed) in [
        (t.compound.compound, t.street, "楼道灯不亮", "closed", true),
        (
            t.far.compound,
            t.other_street,
            "路面破损",
            "handling",
            false,
        ),
    ] {
        let at = now - Duration::days(5);
        resident_matter::Entity::insert(resident_matter::ActiveModel {
            district_code: Set("350104".into()),
            street_id: Set(Some(street)),
            community_id: Set(None),
            compound_id: Set(c),
            place_id: Set(c),
            address: Set(None),
            latitude_e6: Set(None),
            longitude_e6: Set(None),
            reporter_account_id: Set(None),
            reporter_person_id: Set(None),
            reporter_role: Set("resident".into()),
            category_id: Set(category),
            urgency: Set("normal".into()),
            title: Set(title.into()),
            description: Set("说明".into()),
            public: Set(true),
            state: Set(state.into()),
            holder_kind: Set("property".into()),
            holder_place_id: Set(None),
            holder_account_id: Set(None),
            holder_org: Set(None),
            received_by: Set(None),
            dispatched_at: Set(Some(at)),
            due_at: Set(Some(at + Duration::days(2))),
            warn_at: Set(None),
            warned_at: Set(None),
            escalation_level: Set(0),
            merged_into: Set(None),
            reopened_count: Set(0),
            satisfaction: Set(closed.then(|| "satisfied".to_string())),
            satisfaction_comment: Set(None),
            closed_at: Set(closed.then_some(at + Duration::days(1))),
            created_at: Set(at),
            updated_at: Set(at),
            ..Default::default()
        })
        .exec(db)
        .await
        .unwrap();
    }
}

/// The first sheet of a workbook as text rows (numbers without ".0").
fn sheet(r: &TestResponse) -> Vec<Vec<String>> {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.header("content-type"),
        Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    );
    let mut book = Xlsx::new(Cursor::new(r.body.clone())).expect("an xlsx workbook");
    let names = book.sheet_names();
    let range = book.worksheet_range(&names[0]).expect("the first sheet");
    range
        .rows()
        .map(|row| {
            row.iter()
                .map(|c| match c {
                    Data::Empty => String::new(),
                    Data::Float(f) if f.fract() == 0.0 => format!("{}", *f as i64),
                    Data::DateTime(d) => excel_date_text(d.as_f64()),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect()
}

/// An Excel serial date as `2026-12-01`, or `2026-12-01 09:30` with a time.
fn excel_date_text(serial: f64) -> String {
    let epoch = NaiveDate::from_ymd_opt(1899, 12, 30)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let t = epoch + Duration::seconds((serial * 86_400.0).round() as i64);
    if serial.fract() == 0.0 {
        t.format("%Y-%m-%d").to_string()
    } else {
        t.format("%Y-%m-%d %H:%M").to_string()
    }
}

fn col(rows: &[Vec<String>], heading: &str) -> Vec<String> {
    let i = rows[0]
        .iter()
        .position(|h| h == heading)
        .unwrap_or_else(|| panic!("no column {heading} in {:?}", rows[0]));
    rows[1..].iter().map(|r| r[i].clone()).collect()
}

async fn export(app: &TestApp, who: i64, key: &str, place: i64) -> TestResponse {
    app.client(who)
        .await
        .get(&format!("/api/v1/ledgers/{key}.xlsx?place={place}"))
        .await
}

#[db_test]
async fn party_members_are_exported_with_chinese_headings_and_masked_phones(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let rows = sheet(&export(&app, p.district, "party_members", t.district).await);
    assert_eq!(
        rows[0],
        [
            "街道（镇）",
            "社区（村）",
            "小区",
            "小区党组织",
            "姓名",
            "联系电话",
            "业委会任职",
            "物业企业任职",
            "业主代表"
        ]
    );
    assert_eq!(rows.len(), 4);
    assert_eq!(col(&rows, "姓名"), ["张三", "李四", "王五"]);
    assert_eq!(col(&rows, "小区"), ["金山花园", "金山花园", "城门小区"]);
    assert_eq!(col(&rows, "街道（镇）"), ["金山街道", "金山街道", "仓山镇"]);
    assert_eq!(col(&rows, "联系电话"), ["138****5678", "", "139****1111"]);
    assert_eq!(col(&rows, "业委会任职"), ["是", "否", "否"]);
    assert_eq!(col(&rows, "业主代表"), ["否", "否", "是"]);
    // No ID number, cipher or digest reaches the file.
    let all: String = rows.iter().flatten().cloned().collect();
    assert!(!all.contains("secret-cipher"));

    // Plain phones when asked for, audited as such.
    let r = app
        .client(p.district)
        .await
        .get(&format!(
            "/api/v1/ledgers/party_members.xlsx?place={}&phones=plain",
            t.district
        ))
        .await;
    let rows = sheet(&r);
    assert_eq!(col(&rows, "联系电话"), ["13812345678", "", "13900001111"]);
    let audits = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("ledger.export"))
        .all(app.db.db.conn())
        .await
        .unwrap();
    assert_eq!(audits.len(), 2);
    assert!(audits.iter().all(|a| a.actor_account_id == Some(p.district)
        && a.object_id.as_deref() == Some(&t.district.to_string())));
    let detail: serde_json::Value = serde_json::from_str(&audits[1].detail).unwrap();
    assert_eq!(detail["ledger"], "party_members");
    assert_eq!(detail["rows"], 3);
    assert_eq!(detail["plain_phones"], true);
}

#[db_test]
async fn ledgers_hold_the_hand_computed_rows(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let rows = sheet(&export(&app, p.district, "compounds", t.district).await);
    assert_eq!(col(&rows, "小区"), ["金山花园", "榕城小区", "城门小区"]);
    assert_eq!(col(&rows, "户数"), ["2", "1", "1"]);
    assert_eq!(
        col(&rows, "小区党组织"),
        ["金山花园党支部", "", "城门小区党支部"]
    );
    assert_eq!(col(&rows, "物业服务企业"), ["金山物业", "", "城门物业"]);
    assert_eq!(col(&rows, "社区（村）"), ["金山社区", "金山社区", "仓山村"]);

    let rows = sheet(&export(&app, p.district, "party_orgs", t.district).await);
    assert_eq!(
        col(&rows, "小区党组织"),
        ["金山花园党支部", "城门小区党支部"]
    );
    assert_eq!(col(&rows, "人数"), ["2", "1"]);
    assert_eq!(col(&rows, "业委会任职"), ["1", "0"]);
    assert_eq!(col(&rows, "业主代表"), ["0", "1"]);

    let rows = sheet(&export(&app, p.district, "pairings", t.district).await);
    assert_eq!(col(&rows, "机关单位"), ["区住建局", "区卫健局"]);
    assert_eq!(col(&rows, "结束原因"), ["", "调整"]);
    assert_eq!(col(&rows, "结束日期")[0], "");
    assert!(!col(&rows, "结束日期")[1].is_empty());

    let rows = sheet(&export(&app, p.district, "matters", t.district).await);
    assert_eq!(col(&rows, "事项"), ["楼道灯不亮", "路面破损"]);
    assert_eq!(col(&rows, "按期办结"), ["是", "否"]);
    // Times are Excel date-times, read back as China Standard Time.
    for t in col(&rows, "提出时间").iter().chain(&col(&rows, "办理时限")) {
        assert!(t.len() == 16 && t.as_bytes()[13] == b':', "{t}");
    }
    assert_eq!(col(&rows, "满意度")[1], "");

    // A ledger with no records is a sheet of headings.
    let rows = sheet(&export(&app, p.district, "volunteer_teams", t.district).await);
    assert_eq!(rows.len(), 1);
    assert!(rows[0].contains(&"队伍名称".to_string()));
    for key in [
        "projects",
        "joint_meetings",
        "micro_grids",
        "social_orgs",
        "sessions",
    ] {
        let rows = sheet(&export(&app, p.district, key, t.district).await);
        assert_eq!(rows.len(), 1, "{key}");
    }
}

#[db_test]
async fn headings_are_english_for_an_english_reader(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let r = app
        .client(p.district)
        .await
        .get_en(&format!(
            "/api/v1/ledgers/party_orgs.xlsx?place={}",
            t.district
        ))
        .await;
    let rows = sheet(&r);
    assert_eq!(
        rows[0],
        [
            "Street",
            "Community",
            "Compound",
            "Party organisation",
            "Kind",
            "Founded",
            "Secretary",
            "Members",
            "On the owners' committee",
            "In the property company",
            "Owner representatives"
        ]
    );
    assert_eq!(col(&rows, "Founded"), ["2021-07-01", "2021-07-01"]);
    assert!(!has_cjk(&col(&rows, "Kind")[0]));
    let list = app
        .client(p.district)
        .await
        .get_en(&format!("/api/v1/ledgers?place={}", t.district))
        .await;
    assert_eq!(list.status, StatusCode::OK);
    let v = list.json();
    let titles: Vec<&str> = v["ledgers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["title"].as_str().unwrap())
        .collect();
    assert!(titles.contains(&"Compound party organisations"));
}

#[db_test]
async fn a_street_admin_exports_only_their_street(db: TestDb) {
    let (app, t, p) = setup(db).await;
    for key in [
        "compounds",
        "party_orgs",
        "party_members",
        "pairings",
        "matters",
    ] {
        let rows = sheet(&export(&app, p.street, key, t.street).await);
        assert!(rows.len() > 1, "{key}");
        let streets = col(&rows, "街道（镇）");
        assert!(
            streets.iter().all(|s| s == "金山街道"),
            "{key}: {streets:?}"
        );
        let all: String = rows.iter().flatten().cloned().collect();
        assert!(!all.contains("城门") && !all.contains("王五"), "{key}");
        // The other street's admin sees the other street only.
        let rows = sheet(&export(&app, p.other_street, key, t.other_street).await);
        let all: String = rows.iter().flatten().cloned().collect();
        assert!(!all.contains("金山"), "{key}");
        // And cannot reach this street, nor the district.
        assert_eq!(
            export(&app, p.other_street, key, t.street).await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            export(&app, p.street, key, t.district).await.status,
            StatusCode::NOT_FOUND
        );
    }
    // A community worker's and a secretary's exports stop at their node.
    let rows = sheet(&export(&app, p.worker, "compounds", t.community).await);
    assert_eq!(col(&rows, "小区"), ["金山花园", "榕城小区"]);
    let rows = sheet(&export(&app, p.secretary, "party_members", t.compound.compound).await);
    assert_eq!(col(&rows, "姓名"), ["张三", "李四"]);
    // The district admin drills down to one compound.
    let rows = sheet(&export(&app, p.district, "party_members", t.far.compound).await);
    assert_eq!(col(&rows, "姓名"), ["王五"]);
}

#[db_test]
async fn every_route_answers_each_role_by_scope(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let ok = StatusCode::OK;
    let nf = StatusCode::NOT_FOUND;
    let fb = StatusCode::FORBIDDEN;
    // (who, place, expected)
    let cases = [
        (p.district, t.district, ok),
        (p.district, t.far.compound, ok),
        (p.far_district, t.district, nf),
        (p.far_district, t.compound.compound, nf),
        (p.street, t.street, ok),
        (p.street, t.compound.compound, ok),
        (p.street, t.other_street, nf),
        (p.street, t.district, nf),
        (p.other_street, t.compound.compound, nf),
        (p.worker, t.community, ok),
        (p.worker, t.neighbour.compound, ok),
        (p.worker, t.street, nf),
        (p.far_worker, t.community, nf),
        (p.secretary, t.compound.compound, ok),
        (p.secretary, t.neighbour.compound, nf),
        (p.secretary, t.community, nf),
        (p.neighbour_secretary, t.compound.compound, nf),
        (p.committee, t.compound.compound, fb),
        (p.committee, t.neighbour.compound, nf),
        (p.property, t.compound.compound, fb),
        (p.agency, t.compound.compound, nf),
        (p.member, t.compound.compound, fb),
        (p.resident, t.compound.compound, fb),
        (p.resident, t.far.compound, nf),
    ];
    for (who, place, want) in cases {
        let c = app.client(who).await;
        for path in [
            format!("/api/v1/ledgers?place={place}"),
            format!("/api/v1/ledgers/compounds.xlsx?place={place}"),
            format!("/api/v1/ledgers/party_members.xlsx?place={place}&phones=plain"),
        ] {
            let r = c.get(&path).await;
            assert_eq!(r.status, want, "{who} {path}: {}", r.text());
            if want != ok {
                api_error(&r);
            }
        }
        let page = c.get(&format!("/ledgers?place={place}")).await;
        assert_eq!(page.status, want, "{who} page at {place}");
    }
    // Without a place: the reader's top node, or 403 without one.
    let r = app.client(p.street).await.get("/api/v1/ledgers").await;
    assert_eq!(r.status, ok);
    assert_eq!(r.json()["place"]["id"], t.street);
    let r = app.client(p.resident).await.get("/api/v1/ledgers").await;
    assert_eq!(r.status, fb);
    let page = app.client(p.resident).await.get("/ledgers").await;
    assert_eq!(page.status, ok);
    // Anonymous: 401 from the API, the sign-in page from pages.
    for path in [
        format!("/api/v1/ledgers?place={}", t.district),
        format!("/api/v1/ledgers/compounds.xlsx?place={}", t.district),
    ] {
        let r = app.get(&path).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
    }
    let r = app.get(&format!("/ledgers?place={}", t.district)).await;
    assert!(r.status.is_redirection(), "{}", r.status);
    // Refused exports write nothing to the audit log.
    let audits = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("ledger.export"))
        .all(app.db.db.conn())
        .await
        .unwrap();
    let allowed = cases.iter().filter(|c| c.2 == ok).count();
    assert_eq!(audits.len(), allowed * 2);
}

#[db_test]
async fn bad_input_is_refused_in_the_readers_language(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let c = app.client(p.district).await;
    let cases = [
        (
            format!("/api/v1/ledgers/nothing.xlsx?place={}", t.district),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("/api/v1/ledgers/compounds.csv?place={}", t.district),
            StatusCode::NOT_FOUND,
        ),
        (
            format!(
                "/api/v1/ledgers/compounds.xlsx?place={}",
                t.compound.building
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            format!("/api/v1/ledgers?place={}", t.compound.dwellings[0]),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            format!("/api/v1/ledgers/joint_meetings.xlsx?place={}", t.community),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            format!(
                "/api/v1/ledgers/party_members.xlsx?place={}&phones=all",
                t.district
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/api/v1/ledgers/compounds.xlsx?place=999999".to_string(),
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/ledgers/compounds.xlsx?place=abc".to_string(),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (path, want) in &cases {
        let r = c.get(path).await;
        assert_eq!(r.status, *want, "{path}: {}", r.text());
        let (_, message) = api_error(&r);
        assert!(has_cjk(&message), "{path}: {message}");
        let r = c.get_en(path).await;
        assert_eq!(r.status, *want, "{path}");
        let (_, message) = api_error(&r);
        if *want != StatusCode::BAD_REQUEST {
            assert!(!has_cjk(&message), "{path}: {message}");
        }
    }
    // A building outside the reader's scope is not there at all.
    let r = app
        .client(p.street)
        .await
        .get(&format!(
            "/api/v1/ledgers/compounds.xlsx?place={}",
            t.far.building
        ))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let audits = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("ledger.export"))
        .all(app.db.db.conn())
        .await
        .unwrap();
    assert!(audits.is_empty());
}

#[db_test]
async fn the_page_lists_ledgers_and_places_to_drill_into(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let c = app.client(p.district).await;
    let page = c.get("/ledgers").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("小区党组织台账"));
    assert!(html.contains("联席会议台账"));
    assert!(html.contains(&format!("/ledgers?place={}", t.street)));
    assert!(html.contains(&format!(
        "/api/v1/ledgers/party_orgs.xlsx?place={}",
        t.district
    )));
    let page = c
        .get(&format!("/ledgers?place={}", t.compound.compound))
        .await;
    let html = page.text();
    assert!(html.contains("金山花园"));
    // The way back up, and no joint meetings below a street.
    assert!(html.contains(&format!("/ledgers?place={}", t.community)));
    assert!(!html.contains("联席会议台账"));
    let page = c
        .get_en(&format!("/ledgers?place={}", t.compound.compound))
        .await;
    assert!(page.text().contains("Compound party organisations"));
    let list = c
        .get(&format!("/api/v1/ledgers?place={}", t.community))
        .await
        .json();
    let kids: Vec<i64> = list["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(kids, [t.compound.compound, t.neighbour.compound]);
    let path: Vec<i64> = list["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(path, [t.district, t.street]);
    // The OpenAPI document describes both routes and the binary answer.
    let doc = app.get("/api/v1/openapi.json").await.json();
    assert!(doc["paths"]["/api/v1/ledgers"].is_object());
    let dl = &doc["paths"]["/api/v1/ledgers/{file}"]["get"]["responses"]["200"]["content"];
    assert!(
        dl["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"].is_object(),
        "{dl}"
    );
}
