//! Compound party organisations, owners' committees, property contracts,
//! cross-membership coverage per level, and who may do what.

use axum::http::{Method, StatusCode};
use jinlin_kernel::auth::Role;
use jinlin_testkit::fixtures::{Tree, account, tree};
use jinlin_testkit::{TestDb, db_test};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Statement};

use crate::client::Client;
use crate::support::{TestApp, api_error, has_cjk};

/// A unified social credit code with a correct check character.
const CODE: &str = "91350100M000100Y43";

fn contract_body(code: &str, start: &str, end: &str, fee: i64) -> String {
    format!(
        r#"{{"company_name": "福州金山物业服务有限公司", "credit_code": "{code}", "contract_start": "{start}", "contract_end": "{end}", "fee_fen_per_m2": {fee}}}"#
    )
}

fn committee_body(start: &str, end: &str, chair: i64) -> String {
    format!(
        r#"{{"name": "金山花园业主委员会", "term_start": "{start}", "term_end": "{end}", "elected_on": "2023-03-18", "election_record": "2023年3月18日业主大会选举产生，到会 312 户。", "members": [{{"person_id": {chair}, "position": "chair"}}]}}"#
    )
}

fn org_body(secretary: Option<i64>) -> String {
    let s = secretary.map_or("null".to_string(), |s| s.to_string());
    format!(
        r#"{{"kind": "branch", "name": "金山花园党支部", "founded_on": "2021-07-01", "secretary_person_id": {s}}}"#
    )
}

/// Records an owner of a dwelling (as the given editor); returns the person.
async fn owner(c: &Client<'_>, dwelling: i64, name: &str, phone: &str) -> i64 {
    let r = c
        .json(
            Method::POST,
            &format!("/api/v1/places/{dwelling}/owners"),
            &format!(
                r#"{{"owner_kind": "person", "person": {{"name": "{name}", "phone": "{phone}", "party_member": true}}}}"#
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    r.json()["person_id"].as_i64().unwrap()
}

/// Gives a compound its particulars row (the fixture tree has none).
async fn particulars(c: &Client<'_>, compound: i64) {
    let r = c
        .json(
            Method::PATCH,
            &format!("/api/v1/places/{compound}"),
            r#"{"compound": {"compound_type": "commercial", "town_area": "new", "address": "金山大道 8 号", "owners_committee": null, "property_company": null}}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

async fn count(app: &TestApp, table: &str) -> i64 {
    let row = app
        .db
        .db
        .conn()
        .query_one_raw(Statement::from_string(
            app.db.db.backend(),
            format!("SELECT COUNT(*) AS n FROM {table}"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "n").unwrap()
}

async fn audits(app: &TestApp, action: &str, kind: &str) -> u64 {
    use jinlin_kernel::audit::entity as audit;
    audit::Entity::find()
        .filter(audit::Column::Action.eq(action))
        .filter(audit::Column::ObjectKind.eq(kind))
        .count(app.db.db.conn())
        .await
        .unwrap()
}

async fn coverage(c: &Client<'_>, place: i64) -> serde_json::Value {
    let r = c.get(&format!("/api/v1/places/{place}/coverage")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()
}

fn figures(v: &serde_json::Value) -> (i64, i64, i64, String, String) {
    (
        v["compounds"].as_i64().unwrap(),
        v["party_orgs"].as_i64().unwrap(),
        v["covering"].as_i64().unwrap(),
        v["fraction"].as_str().unwrap_or("-").to_string(),
        v["percent"].as_str().unwrap_or("-").to_string(),
    )
}

#[db_test]
async fn a_secretary_records_the_organisations_and_coverage_follows(db: TestDb) {
    let t = tree(&db.db).await;
    let worker = account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let secretary = account(&db.db, "sec", Role::CompoundSecretary, t.compound.compound).await;
    let property = account(&db.db, "prop", Role::PropertyStaff, t.compound.compound).await;
    let resident = account(&db.db, "res", Role::Resident, t.compound.dwellings[1]).await;
    let district = account(&db.db, "district", Role::DistrictAdmin, t.district).await;
    let app = TestApp::new(db);
    let w = app.client(worker).await;
    let s = app.client(secretary).await;
    let c = t.compound.compound;
    let lin = owner(&w, t.compound.dwellings[0], "林建国", "13812341234").await;
    let chen = owner(&w, t.compound.dwellings[1], "陈美玲", "13912345678").await;
    particulars(&w, c).await;

    // Nothing recorded yet.
    let none = s.get(&format!("/api/v1/places/{c}/party-org")).await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
    assert_eq!(api_error(&none).0, "not_recorded");

    // The party organisation, its secretary joining as a member.
    let org = s
        .json(
            Method::PUT,
            &format!("/api/v1/places/{c}/party-org"),
            &org_body(Some(lin)),
        )
        .await;
    assert_eq!(org.status, StatusCode::OK, "{}", org.text());
    let org = org.json();
    assert_eq!(org["secretary"]["name"], "林建国");
    assert_eq!(org["parent"]["name"], "金山社区");
    assert_eq!(org["member_count"], 1);
    assert_eq!(org["covers"], false);

    let added = s
        .json(
            Method::POST,
            &format!("/api/v1/places/{c}/party-org/members"),
            &format!(r#"{{"person_id": {chen}, "owner_representative": true}}"#),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text());
    let staff = s
        .json(
            Method::POST,
            &format!("/api/v1/places/{c}/party-org/members"),
            r#"{"person": {"name": "王海", "phone": "13700001111", "party_member": true}, "in_property_company": true}"#,
        )
        .await;
    assert_eq!(staff.status, StatusCode::CREATED, "{}", staff.text());
    let staff_member = staff.json()["id"].as_i64().unwrap();

    let committee = s
        .json(
            Method::PUT,
            &format!("/api/v1/places/{c}/owners-committee"),
            &committee_body("2023-04-01", "2028-03-31", chen),
        )
        .await;
    assert_eq!(committee.status, StatusCode::OK, "{}", committee.text());
    assert_eq!(committee.json()["chair"]["name"], "陈美玲");
    let contract = s
        .json(
            Method::PUT,
            &format!("/api/v1/places/{c}/property-contract"),
            &contract_body(CODE, "2024-01-01", "2026-12-31", 235),
        )
        .await;
    assert_eq!(contract.status, StatusCode::OK, "{}", contract.text());
    assert_eq!(contract.json()["fee_fen_per_m2"], 235);

    // The compound's particulars name the committee and the company.
    let place = w.get(&format!("/api/v1/places/{c}")).await.json();
    assert_eq!(place["compound"]["owners_committee"], "金山花园业主委员会");
    assert_eq!(
        place["compound"]["property_company"],
        "福州金山物业服务有限公司"
    );

    // The secretary sees phones (audited); property staff masked; a
    // resident the public face only.
    let before = audits(&app, "person.read_phone", "party_org").await;
    let seen = s.get(&format!("/api/v1/places/{c}/party-org")).await.json();
    assert_eq!(seen["covers"], true);
    assert_eq!(seen["member_count"], 3);
    // 陈美玲 chairs the committee recorded after she joined: her seat is
    // read from the committee's member list.
    let chen_row = seen["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["person_id"].as_i64() == Some(chen))
        .unwrap();
    assert_eq!(chen_row["in_owners_committee"], true);
    let phones: Vec<&str> = seen["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["phone"].as_str().unwrap())
        .collect();
    assert!(phones.contains(&"13812341234"), "{phones:?}");
    assert_eq!(
        audits(&app, "person.read_phone", "party_org").await,
        before + 1
    );
    let p = app.client(property).await;
    let masked = p.get(&format!("/api/v1/places/{c}/party-org")).await.json();
    assert_eq!(masked["members"][0]["phone"], "138****1234");
    assert_eq!(masked["members"][0]["phone_masked"], true);
    let r = app.client(resident).await;
    let public = r.get(&format!("/api/v1/places/{c}/party-org")).await.json();
    assert_eq!(public["name"], "金山花园党支部");
    assert_eq!(public["secretary"]["name"], "林建国");
    assert!(public["members"].is_null());
    let public_committee = r
        .get(&format!("/api/v1/places/{c}/owners-committee"))
        .await
        .json();
    assert_eq!(public_committee["chair"]["name"], "陈美玲");
    assert!(public_committee["members"].is_null());
    let public_contract = r
        .get(&format!("/api/v1/places/{c}/property-contract"))
        .await
        .json();
    assert_eq!(public_contract["company_name"], "福州金山物业服务有限公司");

    // Coverage at every level.
    let d = app.client(district).await;
    assert_eq!(
        figures(&coverage(&d, c).await),
        (1, 1, 1, "1/1".into(), "100.0%".into())
    );
    // The neighbour gets an organisation without members: it does not cover.
    let neighbour = w
        .json(
            Method::PUT,
            &format!("/api/v1/places/{}/party-org", t.neighbour.compound),
            r#"{"kind": "group", "name": "榕城小区党小组", "founded_on": "2022-01-10", "secretary_person_id": null}"#,
        )
        .await;
    assert_eq!(neighbour.status, StatusCode::OK, "{}", neighbour.text());
    let community = coverage(&d, t.community).await;
    assert_eq!(figures(&community), (2, 2, 1, "1/2".into(), "50.0%".into()));
    let rows = community["children"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        figures(&coverage(&d, t.street).await),
        (2, 2, 1, "1/2".into(), "50.0%".into())
    );
    let whole = coverage(&d, t.district).await;
    assert_eq!(figures(&whole), (3, 2, 1, "1/2".into(), "50.0%".into()));
    let streets: Vec<(String, i64)> = whole["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["compounds"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(streets.contains(&("金山街道".into(), 2)) && streets.contains(&("仓山镇".into(), 1)));
    assert_eq!(
        figures(&coverage(&d, t.other_street).await),
        (1, 0, 0, "-".into(), "-".into())
    );

    // Without property staff among the members the organisation no longer covers.
    let gone = s
        .delete(&format!(
            "/api/v1/places/{c}/party-org/members/{staff_member}"
        ))
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    assert_eq!(
        figures(&coverage(&d, c).await),
        (1, 1, 0, "0/1".into(), "0.0%".into())
    );
    assert_eq!(
        audits(&app, "party_org.member_remove", "party_org").await,
        1
    );

    // Pages in both languages.
    let page = s.get(&format!("/places/{c}/organisations")).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(
        html.contains("金山花园党支部") && html.contains("业委会成员") && html.contains("2.35"),
        "{html}"
    );
    let en = s.get_en(&format!("/places/{c}/organisations")).await.text();
    assert!(
        en.contains("Owners&#39; committee") || en.contains("Owners' committee"),
        "{en}"
    );
    assert!(en.contains("Cross-membership"));
    let cov = d.get(&format!("/places/{}/coverage", t.district)).await;
    assert_eq!(cov.status, StatusCode::OK);
    assert!(cov.text().contains("金山街道") && cov.text().contains("0.0%"));
    assert!(has_cjk(&cov.text()));
    let cov_en = d
        .get_en(&format!("/places/{}/coverage", t.community))
        .await
        .text();
    assert!(cov_en.contains("Party organisations") && cov_en.contains("榕城小区"));
    let r_page = r.get(&format!("/places/{c}/organisations")).await;
    assert_eq!(r_page.status, StatusCode::OK);
    assert!(
        !r_page.text().contains("138****1234")
            && !r_page
                .text()
                .contains(&format!("action=\"/places/{c}/organisations"))
    );

    // The forms: a bad code shows the form again with the message; a good one redirects.
    let bad = s
        .form(
            &format!("/places/{c}/organisations/contract"),
            &[
                ("company_name", "福州新物业有限公司"),
                ("credit_code", "91350100M000100Y44"),
                ("contract_start", "2025-01-01"),
                ("contract_end", "2027-12-31"),
                ("fee_yuan", "1.80"),
            ],
            true,
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().contains("统一社会信用代码"));
    let good = s
        .form(
            &format!("/places/{c}/organisations/contract"),
            &[
                ("company_name", "福州新物业有限公司"),
                ("credit_code", "91350100m000100y43"),
                ("contract_start", "2025-01-01"),
                ("contract_end", "2027-12-31"),
                ("fee_yuan", "1.80"),
            ],
            true,
        )
        .await;
    assert_eq!(good.status, StatusCode::SEE_OTHER, "{}", good.text());
    let now = s
        .get(&format!("/api/v1/places/{c}/property-contract"))
        .await
        .json();
    assert_eq!(now["fee_fen_per_m2"], 180);
    assert_eq!(now["credit_code"], CODE);
    let no_csrf = s
        .form(
            &format!("/places/{c}/organisations/party-org"),
            &[("kind", "branch")],
            false,
        )
        .await;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN);
    let member_form = s
        .form(
            &format!("/places/{c}/organisations/members"),
            &[
                ("new_name", "赵物业"),
                ("new_phone", "13600002222"),
                ("in_property_company", "1"),
            ],
            true,
        )
        .await;
    assert_eq!(
        member_form.status,
        StatusCode::SEE_OTHER,
        "{}",
        member_form.text()
    );
    assert_eq!(figures(&coverage(&d, c).await).2, 1);
    // Changing the new member's cross-membership (API, then the form).
    let listed = s.get(&format!("/api/v1/places/{c}/party-org")).await.json();
    let zhao = listed["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "赵物业")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let off = s
        .json(
            Method::PATCH,
            &format!("/api/v1/places/{c}/party-org/members/{zhao}"),
            r#"{"in_owners_committee": false, "in_property_company": false, "owner_representative": false}"#,
        )
        .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.text());
    assert_eq!(figures(&coverage(&d, c).await).2, 0);
    let on = s
        .form(
            &format!("/places/{c}/organisations/members/{zhao}/flags"),
            &[("in_property_company", "1")],
            true,
        )
        .await;
    assert_eq!(on.status, StatusCode::SEE_OTHER, "{}", on.text());
    assert_eq!(figures(&coverage(&d, c).await).2, 1);
    assert_eq!(
        audits(&app, "party_org.member_change", "party_org").await,
        2
    );

    // The committee form: the page preselects the chair; saving it with a
    // second member keeps the chair and adds the member.
    let page = s.get(&format!("/places/{c}/organisations")).await.text();
    assert!(
        page.contains(&format!(r#"<option value="{chen}" selected>"#)),
        "{page}"
    );
    let chen_s = chen.to_string();
    let lin_s = lin.to_string();
    let saved = s
        .form(
            &format!("/places/{c}/organisations/committee"),
            &[
                ("name", "金山花园业主委员会"),
                ("term_start", "2023-04-01"),
                ("term_end", "2028-03-31"),
                ("elected_on", "2023-03-18"),
                ("election_record", "换届选举"),
                ("chair_person_id", &chen_s),
                ("member", &chen_s),
                ("member", &lin_s),
            ],
            true,
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    let committee = s
        .get(&format!("/api/v1/places/{c}/owners-committee"))
        .await
        .json();
    assert_eq!(committee["chair"]["name"], "陈美玲");
    assert_eq!(committee["member_count"], 2);
    let bad_term = s
        .form(
            &format!("/places/{c}/organisations/committee"),
            &[
                ("name", "金山花园业主委员会"),
                ("term_start", "2028-04-01"),
                ("term_end", "2023-03-31"),
                ("elected_on", "2023-03-18"),
            ],
            true,
        )
        .await;
    assert_eq!(bad_term.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad_term.text().contains("结束日期须晚于开始日期"));
    let en_page = s.get_en(&format!("/places/{c}/coverage")).await;
    assert_eq!(en_page.status, StatusCode::OK);
    assert!(en_page.text().contains("Cross-membership coverage"));
}

/// Every route, by role and place.
#[db_test]
async fn access_follows_role_and_place(db: TestDb) {
    let t: Tree = tree(&db.db).await;
    let worker = account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let street = account(&db.db, "street", Role::StreetAdmin, t.street).await;
    let secretary = account(&db.db, "sec", Role::CompoundSecretary, t.compound.compound).await;
    let neighbour_sec = account(
        &db.db,
        "nsec",
        Role::CompoundSecretary,
        t.neighbour.compound,
    )
    .await;
    let far = account(&db.db, "far", Role::StreetAdmin, t.other_street).await;
    let resident = account(&db.db, "res", Role::Resident, t.compound.dwellings[1]).await;
    let committee = account(&db.db, "oc", Role::OwnersCommittee, t.compound.compound).await;
    let app = TestApp::new(db);
    let w = app.client(worker).await;
    let c = t.compound.compound;
    let lin = owner(&w, t.compound.dwellings[0], "林建国", "13812341234").await;
    let chen = owner(&w, t.compound.dwellings[1], "陈美玲", "13912345678").await;
    // The street admin records the organisation the others then act on.
    let st = app.client(street).await;
    let first = st
        .json(
            Method::PUT,
            &format!("/api/v1/places/{c}/party-org"),
            &org_body(None),
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());

    let clients = [
        ("street", st),
        ("worker", app.client(worker).await),
        ("secretary", app.client(secretary).await),
        ("neighbour_secretary", app.client(neighbour_sec).await),
        ("far", app.client(far).await),
        ("resident", app.client(resident).await),
        ("committee", app.client(committee).await),
    ];
    let expect_read = |who: &str| match who {
        "neighbour_secretary" | "far" => StatusCode::NOT_FOUND,
        _ => StatusCode::OK,
    };
    let expect_write = |who: &str| match who {
        "street" | "worker" | "secretary" => None,
        "neighbour_secretary" | "far" => Some(StatusCode::NOT_FOUND),
        _ => Some(StatusCode::FORBIDDEN),
    };
    for (who, client) in &clients {
        for path in [
            format!("/api/v1/places/{c}/party-org"),
            format!("/places/{c}/organisations"),
            format!("/api/v1/places/{c}/coverage"),
            format!("/places/{c}/coverage"),
        ] {
            assert_eq!(
                client.get(&path).await.status,
                expect_read(who),
                "{who} GET {path}"
            );
        }
        // Coverage of the community: only those whose reach includes it.
        let street_cov = client
            .get(&format!("/api/v1/places/{}/coverage", t.community))
            .await
            .status;
        let expected = if *who == "worker" || *who == "street" {
            StatusCode::OK
        } else {
            StatusCode::NOT_FOUND
        };
        assert_eq!(street_cov, expected, "{who} community coverage");
        let writes = [
            (
                Method::PUT,
                format!("/api/v1/places/{c}/party-org"),
                org_body(None),
            ),
            (
                Method::PUT,
                format!("/api/v1/places/{c}/owners-committee"),
                committee_body("2023-04-01", "2028-03-31", chen),
            ),
            (
                Method::PUT,
                format!("/api/v1/places/{c}/property-contract"),
                contract_body(CODE, "2024-01-01", "2026-12-31", 200),
            ),
        ];
        for (method, path, body) in writes {
            let r = client.json(method.clone(), &path, &body).await;
            match expect_write(who) {
                None => assert_eq!(
                    r.status,
                    StatusCode::OK,
                    "{who} {method} {path}: {}",
                    r.text()
                ),
                Some(s) => {
                    assert_eq!(r.status, s, "{who} {method} {path}");
                    api_error(&r);
                }
            }
        }
        // Adding and removing a member.
        let add = client
            .json(
                Method::POST,
                &format!("/api/v1/places/{c}/party-org/members"),
                &format!(r#"{{"person_id": {lin}, "owner_representative": true}}"#),
            )
            .await;
        match expect_write(who) {
            None => {
                assert_eq!(add.status, StatusCode::CREATED, "{who}: {}", add.text());
                let id = add.json()["id"].as_i64().unwrap();
                let change = client
                    .json(
                        Method::PATCH,
                        &format!("/api/v1/places/{c}/party-org/members/{id}"),
                        r#"{"in_owners_committee": false, "in_property_company": false, "owner_representative": true}"#,
                    )
                    .await;
                assert_eq!(change.status, StatusCode::OK, "{who}: {}", change.text());
                let del = client
                    .delete(&format!("/api/v1/places/{c}/party-org/members/{id}"))
                    .await;
                assert_eq!(del.status, StatusCode::NO_CONTENT, "{who}");
            }
            Some(s) => {
                assert_eq!(add.status, s, "{who} add member");
                let change = client
                    .json(
                        Method::PATCH,
                        &format!("/api/v1/places/{c}/party-org/members/1"),
                        r#"{"in_owners_committee": false, "in_property_company": false, "owner_representative": true}"#,
                    )
                    .await;
                assert_eq!(change.status, s, "{who} change member");
                let del = client
                    .delete(&format!("/api/v1/places/{c}/party-org/members/1"))
                    .await;
                assert_eq!(del.status, s, "{who} remove member");
            }
        }
        // Form posts follow the same rule (page errors, not JSON).
        let form = client
            .form(
                &format!("/places/{c}/organisations/party-org"),
                &[
                    ("kind", "branch"),
                    ("name", "金山花园党支部"),
                    ("founded_on", "2021-07-01"),
                ],
                true,
            )
            .await;
        match expect_write(who) {
            None => assert_eq!(form.status, StatusCode::SEE_OTHER, "{who} form"),
            Some(s) => assert_eq!(form.status, s, "{who} form"),
        }
    }
    // Reads of the committee and contract (recorded above) follow the read rule.
    for (who, client) in &clients {
        for path in [
            format!("/api/v1/places/{c}/owners-committee"),
            format!("/api/v1/places/{c}/property-contract"),
        ] {
            assert_eq!(
                client.get(&path).await.status,
                expect_read(who),
                "{who} GET {path}"
            );
        }
    }
    // Not a compound: 404 for the compound routes.
    assert_eq!(
        w.get(&format!("/api/v1/places/{}/party-org", t.community))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // Anonymous: 401 from the API, a redirect to sign in from pages.
    for path in [
        format!("/api/v1/places/{c}/party-org"),
        format!("/api/v1/places/{c}/owners-committee"),
        format!("/api/v1/places/{c}/property-contract"),
        format!("/api/v1/places/{c}/coverage"),
    ] {
        assert_eq!(
            app.get(&path).await.status,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
    }
    for (method, path) in [
        (Method::PUT, format!("/api/v1/places/{c}/party-org")),
        (
            Method::POST,
            format!("/api/v1/places/{c}/party-org/members"),
        ),
        (Method::PUT, format!("/api/v1/places/{c}/owners-committee")),
        (Method::PUT, format!("/api/v1/places/{c}/property-contract")),
        (
            Method::DELETE,
            format!("/api/v1/places/{c}/party-org/members/1"),
        ),
        (
            Method::PATCH,
            format!("/api/v1/places/{c}/party-org/members/1"),
        ),
    ] {
        let r = app.json(method.clone(), &path, "{}").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{method} {path}");
    }
    let page = app.get(&format!("/places/{c}/organisations")).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.header("location").unwrap().starts_with("/login"));
}

#[db_test]
async fn bad_input_is_refused_and_nothing_is_stored(db: TestDb) {
    let t = tree(&db.db).await;
    let secretary = account(&db.db, "sec", Role::CompoundSecretary, t.compound.compound).await;
    let district = account(&db.db, "district", Role::DistrictAdmin, t.district).await;
    let app = TestApp::new(db);
    let d = app.client(district).await;
    let s = app.client(secretary).await;
    let c = t.compound.compound;
    let lin = owner(&d, t.compound.dwellings[0], "林建国", "13812341234").await;
    let stranger = owner(&d, t.far.dwellings[0], "郑远方", "13512345678").await;
    assert_eq!(
        s.json(
            Method::PUT,
            &format!("/api/v1/places/{c}/party-org"),
            &org_body(None)
        )
        .await
        .status,
        StatusCode::OK
    );
    let contract = format!("/api/v1/places/{c}/property-contract");
    let committee = format!("/api/v1/places/{c}/owners-committee");
    let members = format!("/api/v1/places/{c}/party-org/members");
    let cases: Vec<(Method, &str, String, StatusCode)> = vec![
        (
            Method::PUT,
            &contract,
            contract_body("91350100M000100Y44", "2024-01-01", "2026-12-31", 235),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::PUT,
            &contract,
            contract_body("91350100M000100Y4", "2024-01-01", "2026-12-31", 235),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::PUT,
            &contract,
            contract_body(CODE, "2026-12-31", "2024-01-01", 235),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::PUT,
            &contract,
            contract_body(CODE, "2024-01-01", "2026-12-31", 0),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::PUT,
            &contract,
            contract_body(CODE, "2024-01-01", "2026-12-31", 100_001),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::PUT,
            &committee,
            committee_body("2028-03-31", "2023-04-01", lin),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::PUT,
            &committee,
            committee_body("2023-04-01", "2028-03-31", stranger),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::PUT,
            &committee,
            committee_body("2023-04-01", "2028-03-31", 999_999),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            &members,
            format!(r#"{{"person_id": {stranger}}}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            &members,
            r#"{"person_id": 999999}"#.to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            &members,
            r#"{}"#.to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            &members,
            r#"{"person": {"name": "王海", "phone": "123"}}"#.to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (method, path, body, status) in &cases {
        let r = s.json(method.clone(), path, body).await;
        assert_eq!(r.status, *status, "{method} {path} {body}: {}", r.text());
        let (_, message) = api_error(&r);
        assert!(has_cjk(&message), "{message}");
    }
    let two_chairs = format!(
        r#"{{"name": "业委会", "term_start": "2023-04-01", "term_end": "2028-03-31", "elected_on": "2023-03-18", "members": [{{"person_id": {lin}, "position": "chair"}}, {{"person": {{"name": "王海"}}, "position": "chair"}}]}}"#
    );
    assert_eq!(
        s.json(Method::PUT, &committee, &two_chairs).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let bad_kind =
        r#"{"kind": "cell", "name": "x", "founded_on": "2021-07-01", "secretary_person_id": null}"#;
    assert_eq!(
        s.json(
            Method::PUT,
            &format!("/api/v1/places/{c}/party-org"),
            bad_kind
        )
        .await
        .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let future = r#"{"kind": "branch", "name": "x", "founded_on": "2999-01-01", "secretary_person_id": null}"#;
    assert_eq!(
        s.json(
            Method::PUT,
            &format!("/api/v1/places/{c}/party-org"),
            future
        )
        .await
        .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // A member twice: the second is refused.
    let body = format!(r#"{{"person_id": {lin}, "owner_representative": true}}"#);
    assert_eq!(
        s.json(Method::POST, &members, &body).await.status,
        StatusCode::CREATED
    );
    let twice = s.json(Method::POST, &members, &body).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert_eq!(api_error(&twice).0, "conflict");
    // English messages too.
    let en = app
        .request(
            Method::PUT,
            &contract,
            &[
                ("cookie", &format!("{}; jinlin_lang=en", s.cookie)),
                ("content-type", "application/json"),
                ("x-csrf-token", &s.csrf),
            ],
            axum::body::Body::from(contract_body(CODE, "2024-01-01", "2026-12-31", 0)),
        )
        .await;
    assert!(api_error(&en).1.contains("property fee"), "{}", en.text());

    // Nothing of the refused requests was stored.
    assert_eq!(count(&app, "property_company_contract").await, 0);
    assert_eq!(count(&app, "owners_committee").await, 0);
    assert_eq!(count(&app, "owners_committee_member").await, 0);
    assert_eq!(count(&app, "party_org_member").await, 1);
    assert_eq!(count(&app, "party_org").await, 1);
    // The new person of the refused member was not kept either.
    let people: i64 = count(&app, "person").await;
    assert_eq!(people, 2);
    let name: String = app
        .db
        .db
        .conn()
        .query_one_raw(Statement::from_string(
            app.db.db.backend(),
            "SELECT name FROM party_org",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "name")
        .unwrap();
    assert_eq!(name, "金山花园党支部");
}

#[db_test]
async fn the_demo_seed_fills_a_district_deterministically(db: TestDb) {
    let t = tree(&db.db).await;
    let district = account(&db.db, "district", Role::DistrictAdmin, t.district).await;
    let app = TestApp::new(db);
    let d = app.client(district).await;
    owner(&d, t.compound.dwellings[0], "林建国", "13812341234").await;
    owner(&d, t.compound.dwellings[1], "陈美玲", "13912345678").await;
    owner(&d, t.neighbour.dwellings[0], "黄志强", "13612345678").await;
    owner(&d, t.far.dwellings[0], "郑远方", "13512345678").await;
    let r = d
        .json(
            Method::PATCH,
            &format!("/api/v1/places/{}", t.compound.compound),
            r#"{"compound": {"compound_type": "commercial", "town_area": "new", "address": "", "owners_committee": "金山花园业主委员会", "property_company": "福州金山物业服务有限公司"}}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    let summary = jinlin_organisations::seed_demo(app.db.db.conn(), "350104")
        .await
        .unwrap();
    assert_eq!(summary.compounds, 3);
    assert_eq!(summary.party_orgs, 3);
    assert_eq!(summary.covering, 2);
    assert_eq!(summary.committees, 1);
    assert_eq!(summary.contracts, 1);
    // A second run writes nothing.
    let again = jinlin_organisations::seed_demo(app.db.db.conn(), "350104")
        .await
        .unwrap();
    assert_eq!(again, jinlin_organisations::SeedSummary::default());
    assert_eq!(count(&app, "party_org").await, 3);

    let whole = coverage(&d, t.district).await;
    assert_eq!(figures(&whole), (3, 3, 2, "2/3".into(), "66.7%".into()));
    let contract = d
        .get(&format!(
            "/api/v1/places/{}/property-contract",
            t.compound.compound
        ))
        .await
        .json();
    assert!(
        jinlin_organisations::rules::CreditCode::parse(contract["credit_code"].as_str().unwrap())
            .is_ok()
    );
    let committee = d
        .get(&format!(
            "/api/v1/places/{}/owners-committee",
            t.compound.compound
        ))
        .await
        .json();
    assert_eq!(
        committee["name"],
        "金山业主委员会".replace("金山", "金山花园")
    );
    assert!(committee["chair"]["name"].is_string());
}

/// A valid identity number (check character computed by the rules).
fn id_number(body: &str) -> String {
    format!(
        "{body}{}",
        jinlin_people::rules::id_check_character(body).unwrap()
    )
}

/// Records an owner with an identity number; returns the person.
async fn owner_with_id(c: &Client<'_>, dwelling: i64, name: &str, id: &str) -> i64 {
    let r = c
        .json(
            Method::POST,
            &format!("/api/v1/places/{dwelling}/owners"),
            &format!(
                r#"{{"owner_kind": "person", "person": {{"name": "{name}", "phone": "13512345678", "id_number": "{id}"}}}}"#
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    r.json()["person_id"].as_i64().unwrap()
}

#[db_test]
async fn an_identity_number_of_another_compound_is_refused(db: TestDb) {
    let t = tree(&db.db).await;
    let secretary = account(&db.db, "sec", Role::CompoundSecretary, t.compound.compound).await;
    let district = account(&db.db, "district", Role::DistrictAdmin, t.district).await;
    let app = TestApp::new(db);
    let d = app.client(district).await;
    let s = app.client(secretary).await;
    let c = t.compound.compound;
    let far_id = id_number("35010419750303123");
    let own_id = id_number("35010419800101123");
    owner_with_id(&d, t.far.dwellings[0], "郑远方", &far_id).await;
    let lin = owner_with_id(&d, t.compound.dwellings[0], "林建国", &own_id).await;
    let org = s
        .json(
            Method::PUT,
            &format!("/api/v1/places/{c}/party-org"),
            &org_body(None),
        )
        .await;
    assert_eq!(org.status, StatusCode::OK, "{}", org.text());
    let people = count(&app, "person").await;

    // The far compound's owner, named by identity number: refused as an
    // unknown person, and nothing of them is shown or stored.
    let members = format!("/api/v1/places/{c}/party-org/members");
    let r = s
        .json(
            Method::POST,
            &members,
            &format!(r#"{{"person": {{"name": "某某", "id_number": "{far_id}"}}}}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let (code, message) = api_error(&r);
    assert_eq!(code, "invalid_input");
    assert!(message.contains("不在本小区"), "{message}");
    assert!(!r.text().contains("郑远方") && !r.text().contains("13512345678"));
    let committee = format!(
        r#"{{"name": "金山花园业主委员会", "term_start": "2023-04-01", "term_end": "2028-03-31", "elected_on": "2023-03-18", "members": [{{"person": {{"name": "某某", "id_number": "{far_id}"}}, "position": "chair"}}]}}"#
    );
    let r = s
        .json(
            Method::PUT,
            &format!("/api/v1/places/{c}/owners-committee"),
            &committee,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(count(&app, "party_org_member").await, 0);
    assert_eq!(count(&app, "owners_committee").await, 0);
    assert_eq!(count(&app, "person").await, people);
    let listed = s.get(&format!("/api/v1/places/{c}/party-org")).await;
    assert!(!listed.text().contains("郑远方"));

    // An owner of this compound named by identity number is the same person.
    let r = s
        .json(
            Method::POST,
            &members,
            &format!(r#"{{"person": {{"name": "林建国", "id_number": "{own_id}"}}}}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["person_id"].as_i64(), Some(lin));
    assert_eq!(count(&app, "person").await, people);
}

#[db_test]
async fn cross_memberships_are_checked_against_the_records(db: TestDb) {
    let t = tree(&db.db).await;
    let secretary = account(&db.db, "sec", Role::CompoundSecretary, t.compound.compound).await;
    let district = account(&db.db, "district", Role::DistrictAdmin, t.district).await;
    let app = TestApp::new(db);
    let d = app.client(district).await;
    let s = app.client(secretary).await;
    let c = t.compound.compound;
    let lin = owner(&d, t.compound.dwellings[0], "林建国", "13812341234").await;
    let chen = owner(&d, t.compound.dwellings[1], "陈美玲", "13912345678").await;
    particulars(&d, c).await;
    let put = s
        .json(
            Method::PUT,
            &format!("/api/v1/places/{c}/party-org"),
            &org_body(None),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text());
    let members = format!("/api/v1/places/{c}/party-org/members");
    let people = count(&app, "person").await;

    // A seat on a committee that does not list the person, and an owner
    // representative who owns nothing here: refused, nothing stored.
    let r = s
        .json(
            Method::POST,
            &members,
            &format!(r#"{{"person_id": {chen}, "in_owners_committee": true}}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(api_error(&r).1.contains("业委会成员名单"));
    let r = s
        .json(
            Method::POST,
            &members,
            r#"{"person": {"name": "王海", "phone": "13700001111"}, "in_property_company": true, "owner_representative": true}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(api_error(&r).1.contains("业主代表"));
    assert_eq!(count(&app, "party_org_member").await, 0);
    assert_eq!(count(&app, "person").await, people);

    // 陈美玲 chairs the committee; 林建国 represents the owners; 王海 works
    // for the property company.
    let add = |body: String| {
        let s = &s;
        let members = &members;
        async move {
            let r = s.json(Method::POST, members, &body).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
            r.json()["id"].as_i64().unwrap()
        }
    };
    add(format!(r#"{{"person_id": {chen}}}"#)).await;
    add(format!(
        r#"{{"person_id": {lin}, "owner_representative": true}}"#
    ))
    .await;
    let staff = add(
        r#"{"person": {"name": "王海", "phone": "13700001111"}, "in_property_company": true}"#
            .to_string(),
    )
    .await;
    let committee = format!("/api/v1/places/{c}/owners-committee");
    let r = s
        .json(
            Method::PUT,
            &committee,
            &committee_body("2023-04-01", "2028-03-31", chen),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = s
        .json(
            Method::PUT,
            &format!("/api/v1/places/{c}/property-contract"),
            &contract_body(CODE, "2024-01-01", "2026-12-31", 235),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        figures(&coverage(&d, c).await),
        (1, 1, 1, "1/1".into(), "100.0%".into())
    );
    let seen = s.get(&format!("/api/v1/places/{c}/party-org")).await.json();
    assert_eq!(seen["covers"], true);

    // The staff member is no owner.
    let r = s
        .json(
            Method::PATCH,
            &format!("{members}/{staff}"),
            r#"{"in_owners_committee": false, "in_property_company": true, "owner_representative": true}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());

    // A new committee without any member of the organisation: the seat is
    // gone, whatever flag a member row still carries.
    let newcomer = r#"{"name": "金山花园业主委员会", "term_start": "2023-04-01", "term_end": "2028-03-31", "elected_on": "2023-03-18", "members": [{"person": {"name": "周业主"}, "position": "chair"}]}"#;
    let r = s.json(Method::PUT, &committee, newcomer).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    app.db
        .db
        .conn()
        .execute_raw(Statement::from_string(
            app.db.db.backend(),
            "UPDATE party_org_member SET in_owners_committee = TRUE",
        ))
        .await
        .unwrap();
    assert_eq!(
        figures(&coverage(&d, c).await),
        (1, 1, 0, "0/1".into(), "0.0%".into())
    );
    let seen = s.get(&format!("/api/v1/places/{c}/party-org")).await.json();
    assert_eq!(seen["covers"], false);
    assert!(
        seen["members"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["in_owners_committee"] == false),
        "{seen}"
    );
}

/// Writes to one compound's organisations run in turn: two at once both
/// land (one record, the later wins) or, for the same member, answer 409.
#[db_test]
async fn concurrent_writes_to_a_compound_run_in_turn(db: TestDb) {
    let t = tree(&db.db).await;
    let secretary = account(&db.db, "sec", Role::CompoundSecretary, t.compound.compound).await;
    let worker = account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let app = TestApp::new(db);
    let s = app.client(secretary).await;
    let w = app.client(worker).await;
    let c = t.compound.compound;
    let lin = owner(&w, t.compound.dwellings[0], "林建国", "13812341234").await;
    particulars(&w, c).await;

    let org = format!("/api/v1/places/{c}/party-org");
    let body = org_body(None);
    let (a, b) = tokio::join!(
        s.json(Method::PUT, &org, &body),
        w.json(Method::PUT, &org, &body)
    );
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(b.status, StatusCode::OK, "{}", b.text());
    assert_eq!(count(&app, "party_org").await, 1);

    let contract = format!("/api/v1/places/{c}/property-contract");
    let (first, second) = (
        contract_body(CODE, "2024-01-01", "2026-12-31", 235),
        contract_body(CODE, "2024-01-01", "2026-12-31", 240),
    );
    let (a, b) = tokio::join!(
        s.json(Method::PUT, &contract, &first),
        w.json(Method::PUT, &contract, &second)
    );
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(b.status, StatusCode::OK, "{}", b.text());
    assert_eq!(count(&app, "property_company_contract").await, 1);

    let committee = format!("/api/v1/places/{c}/owners-committee");
    let body = committee_body("2023-04-01", "2028-03-31", lin);
    let (a, b) = tokio::join!(
        s.json(Method::PUT, &committee, &body),
        w.json(Method::PUT, &committee, &body)
    );
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(b.status, StatusCode::OK, "{}", b.text());
    assert_eq!(count(&app, "owners_committee").await, 1);
    assert_eq!(count(&app, "owners_committee_member").await, 1);

    let members = format!("/api/v1/places/{c}/party-org/members");
    let body = format!(r#"{{"person_id": {lin}}}"#);
    let (a, b) = tokio::join!(
        s.json(Method::POST, &members, &body),
        w.json(Method::POST, &members, &body)
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::CREATED, StatusCode::CONFLICT],
        "{} {}",
        a.text(),
        b.text()
    );
    let loser = if a.status == StatusCode::CONFLICT {
        &a
    } else {
        &b
    };
    assert_eq!(api_error(loser).0, "conflict");
    assert_eq!(count(&app, "party_org_member").await, 1);
}
