//! Personal data rights: a person's export (themself, and officials at
//! `Personal` at one of their dwellings) and erasure (officials at `Edit`),
//! every route for each role inside and outside its scope, bad input in
//! both languages, and an erasure that leaves the person's name, phone and
//! ID number nowhere while their ballots still count and verify.

use axum::http::{Method, StatusCode};
use chrono::{Duration, Utc};
use jinlin_kernel::auth::Role;
use jinlin_kernel::auth::entity::account as account_table;
use jinlin_places::entity::dwelling;
use jinlin_testkit::fixtures::{Tree, account, tree};
use jinlin_testkit::{TestDb, TestResponse, db_test};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement};
use serde_json::{Value, json};

use crate::client::Client;
use crate::support::{TestApp, api_error, has_cjk};

const NAME: &str = "欧阳静怡";
const PHONE: &str = "13912345678";

fn id_number() -> String {
    let body = "35010419850317242";
    format!(
        "{body}{}",
        jinlin_people::rules::id_check_character(body).unwrap()
    )
}

struct Setup {
    t: Tree,
    app: TestApp,
    person: i64,
    /// The person's own account (a resident of dwelling 0, linked).
    own: i64,
    district: i64,
    street: i64,
    worker: i64,
    secretary: i64,
    committee: i64,
    property: i64,
    agency: i64,
    /// A party member at dwelling 1 of the same compound.
    member: i64,
    /// Another resident of the person's dwelling, not the person.
    tenant: i64,
    /// A resident of the neighbouring compound.
    neighbour: i64,
    neighbour_secretary: i64,
    far_street: i64,
    far_worker: i64,
}

fn ok(r: &TestResponse, status: StatusCode) -> Value {
    assert_eq!(r.status, status, "{}", r.text());
    r.json()
}

async fn set_area(app: &TestApp, dwelling_id: i64, compound_id: i64, area: i64) {
    dwelling::Entity::insert(dwelling::ActiveModel {
        place_id: Set(dwelling_id),
        district_code: Set("350104".into()),
        compound_id: Set(compound_id),
        area_centi_m2: Set(area),
        area_source: Set("register".into()),
    })
    .exec(app.db.db.conn())
    .await
    .unwrap();
}

async fn link(app: &TestApp, account_id: i64, person_id: i64, display_name: &str) {
    account_table::Entity::update_many()
        .col_expr(account_table::Column::PersonId, Expr::value(person_id))
        .col_expr(
            account_table::Column::DisplayName,
            Expr::value(display_name.to_string()),
        )
        .filter(account_table::Column::Id.eq(account_id))
        .exec(app.db.db.conn())
        .await
        .unwrap();
}

async fn add_owner(w: &Client<'_>, dwelling: i64, person: Value) -> i64 {
    let r = w
        .json(
            Method::POST,
            &format!("/api/v1/places/{dwelling}/owners"),
            &json!({"owner_kind": "person", "person": person}).to_string(),
        )
        .await;
    ok(&r, StatusCode::CREATED)["person_id"].as_i64().unwrap()
}

async fn setup(db: TestDb) -> Setup {
    let t = tree(&db.db).await;
    let c = t.compound.compound;
    let own = account(&db.db, "own", Role::Resident, t.compound.dwellings[0]).await;
    let district = account(&db.db, "district", Role::DistrictAdmin, t.district).await;
    let street = account(&db.db, "street", Role::StreetAdmin, t.street).await;
    let worker = account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let secretary = account(&db.db, "secretary", Role::CompoundSecretary, c).await;
    let committee = account(&db.db, "committee", Role::OwnersCommittee, c).await;
    let property = account(&db.db, "property", Role::PropertyStaff, c).await;
    let agency = account(&db.db, "agency", Role::AgencyAdmin, t.district).await;
    let member = account(&db.db, "member", Role::PartyMember, t.compound.dwellings[1]).await;
    let tenant = account(&db.db, "tenant", Role::Resident, t.compound.dwellings[0]).await;
    let neighbour = account(
        &db.db,
        "neighbour",
        Role::Resident,
        t.neighbour.dwellings[0],
    )
    .await;
    let neighbour_secretary = account(
        &db.db,
        "neighbour-secretary",
        Role::CompoundSecretary,
        t.neighbour.compound,
    )
    .await;
    let far_street = account(&db.db, "far-street", Role::StreetAdmin, t.other_street).await;
    let far_worker = account(
        &db.db,
        "far-worker",
        Role::CommunityWorker,
        t.other_community,
    )
    .await;
    let app = TestApp::new(db);
    set_area(&app, t.compound.dwellings[0], c, 8950).await;
    set_area(&app, t.compound.dwellings[1], c, 12000).await;
    let w = app.client(worker).await;
    let person = add_owner(
        &w,
        t.compound.dwellings[0],
        json!({"name": NAME, "phone": PHONE, "id_number": id_number(), "employer": "福州市仓山区某公司"}),
    )
    .await;
    add_owner(&w, t.compound.dwellings[1], json!({"name": "陈建国"})).await;
    link(&app, own, person, NAME).await;
    Setup {
        t,
        app,
        person,
        own,
        district,
        street,
        worker,
        secretary,
        committee,
        property,
        agency,
        member,
        tenant,
        neighbour,
        neighbour_secretary,
        far_street,
        far_worker,
    }
}

/// Every row of every table of the database, as text.
async fn every_row(app: &TestApp) -> String {
    let conn = app.db.db.conn();
    let backend = app.db.db.backend();
    let tables_sql = if app.db.is_postgres() {
        "SELECT table_name AS name FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
    } else {
        "SELECT name FROM sqlite_master WHERE type = 'table'"
    };
    let tables: Vec<String> = conn
        .query_all_raw(Statement::from_string(backend, tables_sql))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String>("", "name").unwrap())
        .collect();
    assert!(tables.iter().any(|t| t == "person_erasure"), "{tables:?}");
    let mut all = String::new();
    for table in tables {
        let sql = if app.db.is_postgres() {
            format!(r#"SELECT row_to_json(t)::text AS row FROM "{table}" t"#)
        } else {
            let columns: Vec<String> = conn
                .query_all_raw(Statement::from_string(
                    backend,
                    format!(r#"SELECT name FROM pragma_table_info('{table}')"#),
                ))
                .await
                .unwrap()
                .iter()
                .map(|r| r.try_get::<String>("", "name").unwrap())
                .map(|c| format!(r#"COALESCE(CAST("{c}" AS TEXT), '')"#))
                .collect();
            format!(
                r#"SELECT {} AS row FROM "{table}""#,
                columns.join(" || '|' || ")
            )
        };
        for r in conn
            .query_all_raw(Statement::from_string(backend, sql))
            .await
            .unwrap()
        {
            all.push_str(&format!("{table}: "));
            all.push_str(&r.try_get::<String>("", "row").unwrap());
            all.push('\n');
        }
    }
    all
}

/// The lines of `text` holding any of `needles`.
fn traces(text: &str, needles: &[&str]) -> Vec<String> {
    text.lines()
        .filter(|l| needles.iter().any(|n| l.contains(n)))
        .map(str::to_string)
        .collect()
}

async fn audits(app: &TestApp, action: &str) -> usize {
    jinlin_kernel::audit::entity::Entity::find()
        .filter(jinlin_kernel::audit::entity::Column::Action.eq(action))
        .all(app.db.db.conn())
        .await
        .unwrap()
        .len()
}

#[db_test]
async fn export_and_erasure_answer_by_role_and_scope(db: TestDb) {
    let s = setup(db).await;
    let p = s.person;
    let export = format!("/api/v1/people/{p}/export");
    let page = format!("/people/{p}/data");
    let erasure = format!("/api/v1/people/{p}/erasure");
    let erase_form = format!("/people/{p}/erase");

    // Not signed in: 401 from the API, the sign-in page from pages.
    for path in [&export, &erasure, &"/api/v1/account/my-data".to_string()] {
        let r = s.app.get(path).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(api_error(&r).0, "unauthorized");
    }
    let r = s
        .app
        .json(
            Method::POST,
            &erasure,
            r#"{"reason": "x", "confirm": true}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    for path in [&page, &"/account/my-data".to_string()] {
        let r = s.app.get(path).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
        assert!(
            r.header("location").unwrap().starts_with("/login?next="),
            "{path}"
        );
    }

    // Who reads the export: (account, export and page, erasure record,
    // erasure itself).
    let ok_ = StatusCode::OK;
    let nf = StatusCode::NOT_FOUND;
    let fb = StatusCode::FORBIDDEN;
    let table = [
        ("own", s.own, ok_, fb),
        (
            "district",
            s.district,
            ok_,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        ("street", s.street, ok_, StatusCode::UNPROCESSABLE_ENTITY),
        ("worker", s.worker, ok_, StatusCode::UNPROCESSABLE_ENTITY),
        ("secretary", s.secretary, ok_, fb),
        ("committee", s.committee, fb, fb),
        ("property", s.property, fb, fb),
        ("tenant", s.tenant, fb, fb),
        ("agency", s.agency, nf, nf),
        ("member", s.member, nf, nf),
        ("neighbour", s.neighbour, nf, nf),
        ("neighbour-secretary", s.neighbour_secretary, nf, nf),
        ("far-street", s.far_street, nf, nf),
        ("far-worker", s.far_worker, nf, nf),
    ];
    for (who, id, read, erase) in table {
        let c = s.app.client(id).await;
        let r = c.get(&export).await;
        assert_eq!(r.status, read, "{who} export: {}", r.text());
        let r = c.get(&page).await;
        assert_eq!(r.status, read, "{who} page");
        if read == StatusCode::OK {
            assert!(r.text().contains(NAME), "{who} page shows the name");
            assert!(r.text().contains(&id_number()), "{who} page shows the ID");
        } else {
            assert!(!r.text().contains(NAME), "{who} learns the name");
        }
        // Nobody was erased yet: the record is 404 to those who may read.
        let r = c.get(&erasure).await;
        let expected = if read == StatusCode::OK { nf } else { read };
        assert_eq!(r.status, expected, "{who} erasure record");
        // Officials who may erase are stopped here by the missing reason;
        // everyone else before that.
        let r = c.json(Method::POST, &erasure, r#"{"confirm": true}"#).await;
        assert_eq!(r.status, erase, "{who} erase: {}", r.text());
        let r = c.form(&erase_form, &[("confirm", "1")], true).await;
        assert_eq!(r.status, erase, "{who} erase form");
    }

    // The person reads their own data at /account/my-data, others read
    // that they have none.
    let own = s.app.client(s.own).await;
    let mine = ok(&own.get("/api/v1/account/my-data").await, StatusCode::OK);
    assert_eq!(mine["person"]["name"], NAME);
    assert_eq!(mine["person"]["id_number"], id_number().as_str());
    let r = own.get("/account/my-data").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains(PHONE));
    let worker = s.app.client(s.worker).await;
    let r = worker.get("/api/v1/account/my-data").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = worker.get("/account/my-data").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.text().contains(NAME));

    // Every export and every page view is audited.
    assert!(audits(&s.app, "person.export").await >= 12);

    // Bad input, in both languages.
    let unknown = "/api/v1/people/999999/export";
    let r = worker.get(unknown).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(has_cjk(&api_error(&r).1));
    let r = worker.get_en(unknown).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(!has_cjk(&api_error(&r).1));
    let r = worker.get("/people/999999/data").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    for (body, code_zh) in [
        (r#"{"confirm": true}"#, "填写删除理由"),
        (r#"{"reason": "   ", "confirm": true}"#, "填写删除理由"),
        (r#"{"reason": "本人申请"}"#, "确认删除"),
        (r#"{"reason": "本人申请", "confirm": false}"#, "确认删除"),
    ] {
        let r = worker.json(Method::POST, &erasure, body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let (code, message) = api_error(&r);
        assert_eq!(code, "invalid_input");
        assert!(message.contains(code_zh), "{message}");
    }
    let long = json!({"reason": "字".repeat(501), "confirm": true}).to_string();
    let r = worker.json(Method::POST, &erasure, &long).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let en_cookie = format!("{}; jinlin_lang=en", worker.cookie);
    let en = s
        .app
        .request(
            Method::POST,
            &erasure,
            &[
                ("cookie", en_cookie.as_str()),
                ("content-type", "application/json"),
                ("x-csrf-token", worker.csrf.as_str()),
            ],
            axum::body::Body::from(r#"{"confirm": true}"#),
        )
        .await;
    assert_eq!(en.status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, message) = api_error(&en);
    assert!(message.contains("reason"), "{message}");
    assert!(!has_cjk(&message), "{message}");
    let r = worker
        .json(
            Method::POST,
            "/api/v1/people/999999/erasure",
            r#"{"reason": "本人申请", "confirm": true}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = worker
        .json(
            Method::POST,
            &erasure,
            r#"{"reason": "x", "confirm": true, "extra": 1}"#,
        )
        .await;
    assert!(r.status.is_client_error(), "{}", r.status);
    // A form without the session's CSRF token is refused.
    let r = worker
        .form(
            &erase_form,
            &[("reason", "本人申请"), ("confirm", "1")],
            false,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Nothing was erased by any of it.
    assert_eq!(audits(&s.app, "person.erase").await, 0);

    // The erasure itself, by form; then a second one is 409.
    let reason = format!("{NAME}本人书面申请");
    let r = worker
        .form(
            &erase_form,
            &[("reason", reason.as_str()), ("confirm", "1")],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(r.header("location").unwrap(), page);
    let record = ok(&worker.get(&erasure).await, StatusCode::OK);
    assert_eq!(record["reason"], format!("已删除 #{p}本人书面申请"));
    assert_eq!(record["erased_by"], s.worker);
    let again = worker
        .json(
            Method::POST,
            &erasure,
            r#"{"reason": "重复", "confirm": true}"#,
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(api_error(&again).0, "already_erased");
    let again = s
        .app
        .client(s.district)
        .await
        .form(&erase_form, &[("reason", "重复"), ("confirm", "1")], true)
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(audits(&s.app, "person.erase").await, 1);
    // The person's account is disabled: its session no longer signs in.
    let r = own.get("/api/v1/account/my-data").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // The scope rules still hold for the anonymised record.
    for (who, id, status) in [
        ("district", s.district, StatusCode::OK),
        ("secretary", s.secretary, StatusCode::OK),
        ("committee", s.committee, StatusCode::FORBIDDEN),
        ("far-worker", s.far_worker, StatusCode::NOT_FOUND),
    ] {
        let r = s.app.client(id).await.get(&erasure).await;
        assert_eq!(r.status, status, "{who}");
    }
    let _ = &s.t;
}

async fn to_public_review(sec: &Client<'_>, matter: i64) {
    for body in [
        json!({"action": "advance", "summary": "业主反映集中，党支部牵头动议"}),
        json!({"action": "advance", "plan": "召开业主大会表决续聘物业", "joint_decision": 4}),
        json!({"action": "advance", "held_at": (Utc::now() - Duration::hours(2)).to_rfc3339(),
            "minutes": "四方一致同意提交业主表决。",
            "attendees": [{"party": "compound_party_org", "name": "王书记"},
                {"party": "community", "name": "社区李主任"}]}),
    ] {
        ok(
            &sec.json(
                Method::POST,
                &format!("/api/v1/matters/{matter}/actions"),
                &body.to_string(),
            )
            .await,
            StatusCode::OK,
        );
    }
}

#[db_test]
async fn erasure_leaves_no_trace_of_the_person_and_the_vote_unchanged(db: TestDb) {
    let s = setup(db).await;
    let p = s.person;
    let c = s.t.compound.compound;
    let own = s.app.client(s.own).await;
    let sec = s.app.client(s.secretary).await;
    let worker = s.app.client(s.worker).await;
    let other = account(
        &s.app.db.db,
        "owner-b",
        Role::Resident,
        s.t.compound.dwellings[1],
    )
    .await;
    let other_person = ok(
        &worker
            .get(&format!(
                "/api/v1/places/{}/occupants",
                s.t.compound.dwellings[1]
            ))
            .await,
        StatusCode::OK,
    )["owners"][0]["person"]["id"]
        .as_i64()
        .unwrap();
    link(&s.app, other, other_person, "陈建国").await;
    let b = s.app.client(other).await;

    // The person proposes a matter (naming themself and their phone in
    // it), comments, and votes on it.
    let matter = ok(
        &own.json(
            Method::POST,
            &format!("/api/v1/places/{c}/matters"),
            &json!({"title": "续聘物业服务企业", "description": format!("我是{NAME}，联系电话{PHONE}，建议续聘。")}).to_string(),
        )
        .await,
        StatusCode::CREATED,
    )["id"]
        .as_i64()
        .unwrap();
    to_public_review(&sec, matter).await;
    let vote = ok(
        &sec.json(
            Method::POST,
            &format!("/api/v1/matters/{matter}/votes"),
            &json!({"closes_at": (Utc::now() + Duration::hours(24)).to_rfc3339()}).to_string(),
        )
        .await,
        StatusCode::CREATED,
    )["id"]
        .as_i64()
        .unwrap();
    for (client, choice) in [(&own, "against"), (&b, "against"), (&own, "for")] {
        ok(
            &client
                .json(
                    Method::POST,
                    &format!("/api/v1/votes/{vote}/ballots"),
                    &json!({"choice": choice}).to_string(),
                )
                .await,
            StatusCode::CREATED,
        );
    }
    let closed = ok(
        &sec.json(Method::POST, &format!("/api/v1/votes/{vote}/close"), "")
            .await,
        StatusCode::OK,
    );

    // Before: the person's export holds all of it.
    let before = ok(&own.get("/api/v1/account/my-data").await, StatusCode::OK);
    assert_eq!(before["person"]["phone"], PHONE);
    let section = |e: &Value, key: &str| -> Vec<Value> {
        e["sections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["key"] == key)
            .unwrap_or_else(|| panic!("no section {key}"))["rows"]
            .as_array()
            .unwrap()
            .clone()
    };
    assert_eq!(section(&before, "ballots").len(), 2);
    assert_eq!(section(&before, "ballots")[1]["choice"], "for");
    assert_eq!(section(&before, "matters").len(), 1);
    assert_eq!(section(&before, "owned").len(), 1);
    assert_eq!(section(&before, "electorates").len(), 1);
    assert_eq!(before["dwellings"][0]["relation"], "owner");
    for e in section(&before, "accounts") {
        assert!(e.get("password_hash").is_none());
    }
    for e in section(&before, "ballots") {
        assert!(e.get("nonce").is_none());
    }
    let verify_before = ok(
        &sec.get(&format!("/api/v1/votes/{vote}/verify")).await,
        StatusCode::OK,
    );
    let vote_before = ok(
        &sec.get(&format!("/api/v1/votes/{vote}")).await,
        StatusCode::OK,
    );

    let sealed_before = jinlin_kernel::audit::chain::seal(&s.app.db.db)
        .await
        .unwrap() as i64;
    assert!(sealed_before > 0);
    let erased = ok(
        &worker
            .json(
                Method::POST,
                &format!("/api/v1/people/{p}/erasure"),
                r#"{"reason": "本人于 2026-12-01 书面申请删除", "confirm": true}"#,
            )
            .await,
        StatusCode::CREATED,
    );
    assert_eq!(erased["summary"]["accounts_disabled"], 1);
    assert!(erased["summary"]["sessions_ended"].as_u64().unwrap() >= 1);

    // The vote: the same result, the same tally, the chain verifies.
    let verify_after = ok(
        &sec.get(&format!("/api/v1/votes/{vote}/verify")).await,
        StatusCode::OK,
    );
    assert_eq!(verify_after, verify_before);
    let vote_after = ok(
        &sec.get(&format!("/api/v1/votes/{vote}")).await,
        StatusCode::OK,
    );
    assert_eq!(vote_after["result"], vote_before["result"]);
    assert_eq!(vote_after["result"], closed["result"]);
    assert_eq!(vote_after["ballot_count"], vote_before["ballot_count"]);
    // What `jinlin verify-vote` runs.
    let model = jinlin_deliberation::entity::vote::Entity::find_by_id(vote)
        .one(s.app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    let check = jinlin_deliberation::votes::verify(s.app.db.db.conn(), &model)
        .await
        .unwrap();
    assert!(check.ok(), "{:?}", check.fault);
    assert_eq!(check.ballots, 3);
    // The audit log sealed before the erasure still verifies after it, with
    // the erasure's own entries sealed on top.
    jinlin_kernel::audit::chain::seal(&s.app.db.db)
        .await
        .unwrap();
    let audit = jinlin_kernel::audit::chain::verify(&s.app.db.db)
        .await
        .unwrap();
    assert!(audit.ok(), "{:?}", audit.breaks);
    assert!(audit.head_seq > sealed_before);

    // The export after: anonymised, the ballots still there.
    let after = ok(
        &worker.get(&format!("/api/v1/people/{p}/export")).await,
        StatusCode::OK,
    );
    let label = format!("已删除 #{p}");
    assert_eq!(after["person"]["name"], label.as_str());
    assert!(after["person"]["phone"].is_null());
    assert!(after["person"]["id_number"].is_null());
    assert!(after["person"]["employer"].is_null());
    assert_eq!(section(&after, "ballots").len(), 2);
    assert_eq!(section(&after, "owned").len(), 1);
    assert_eq!(after["erasure"]["erased_by"], s.worker);
    let id = id_number();
    let needles = [NAME, PHONE, id.as_str(), &id[3..14]];
    assert_eq!(traces(&after.to_string(), &needles), Vec::<String>::new());

    // The registry pages and APIs show the label.
    for path in [
        format!("/places/{}", s.t.compound.dwellings[0]),
        format!("/places/{c}/registry"),
        format!("/api/v1/places/{}/occupants", s.t.compound.dwellings[0]),
        format!("/api/v1/people/{p}"),
        format!("/api/v1/people/{p}/personal"),
        format!("/people/{p}/data"),
        format!("/api/v1/matters/{matter}"),
        format!("/matters/{matter}"),
    ] {
        let r = worker.get(&path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert_eq!(traces(&r.text(), &needles), Vec::<String>::new(), "{path}");
    }
    let r = worker.get(&format!("/api/v1/matters/{matter}")).await;
    assert!(r.text().contains(&label), "{}", r.text());

    // Nowhere in the database, the audit log included.
    let rows = every_row(&s.app).await;
    assert!(rows.contains(&label));
    assert_eq!(traces(&rows, &needles), Vec::<String>::new());

    // The account cannot sign in again.
    let login = s
        .app
        .request(
            Method::POST,
            "/api/v1/session",
            &[("content-type", "application/json")],
            axum::body::Body::from(
                json!({"username": "own", "password": jinlin_testkit::fixtures::PASSWORD})
                    .to_string(),
            ),
        )
        .await;
    assert!(login.status.is_client_error(), "{}", login.status);
}
