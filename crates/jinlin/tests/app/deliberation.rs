//! Compound matters through the five deliberations, and owners' votes.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use chrono::{Duration, Utc};
use jinlin_deliberation::entity::{ballot, matter, setting, vote};
use jinlin_kernel::auth::{Role, entity::account, session};
use jinlin_people::entity::{dwelling_owner, person};
use jinlin_places::entity::dwelling;
use jinlin_testkit::fixtures::{Tree, account, tree};
use jinlin_testkit::{TestDb, db_test};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::client::Client;
use crate::support::{TestApp, api_error};

/// A compound set up for deliberations: two dwellings of 89.50 m² and
/// 120.00 m², each owned by a resident with an account; a secretary, a
/// community worker, a street admin; and people outside.
pub(crate) struct Setup {
    pub(crate) t: Tree,
    pub(crate) app: TestApp,
    pub(crate) secretary: i64,
    pub(crate) worker: i64,
    pub(crate) street: i64,
    pub(crate) far_street: i64,
    pub(crate) owner_a: i64,
    pub(crate) owner_b: i64,
    pub(crate) neighbour: i64,
    pub(crate) committee: i64,
}

pub(crate) async fn register_owner(
    app: &TestApp,
    dwelling_id: i64,
    compound_id: i64,
    area: i64,
    name: &str,
) -> i64 {
    set_area(app, dwelling_id, compound_id, area, "register").await;
    let person_id = register_person(app, name).await;
    add_owner(app, dwelling_id, compound_id, person_id).await;
    person_id
}

/// A dwelling's particulars: its area and where the figure came from.
async fn set_area(app: &TestApp, dwelling_id: i64, compound_id: i64, area: i64, source: &str) {
    dwelling::Entity::insert(dwelling::ActiveModel {
        place_id: Set(dwelling_id),
        district_code: Set("350104".into()),
        compound_id: Set(compound_id),
        area_centi_m2: Set(area),
        area_source: Set(source.into()),
    })
    .exec(app.db.db.conn())
    .await
    .unwrap();
}

async fn add_owner(app: &TestApp, dwelling_id: i64, compound_id: i64, person_id: i64) {
    dwelling_owner::Entity::insert(dwelling_owner::ActiveModel {
        dwelling_id: Set(dwelling_id),
        district_code: Set("350104".into()),
        compound_id: Set(compound_id),
        owner_kind: Set("person".into()),
        person_id: Set(Some(person_id)),
        company_name: Set(None),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(app.db.db.conn())
    .await
    .unwrap();
}

pub(crate) async fn link_person(app: &TestApp, account_id: i64, person_id: i64) {
    account::Entity::update_many()
        .col_expr(account::Column::PersonId, Expr::value(person_id))
        .filter(account::Column::Id.eq(account_id))
        .exec(app.db.db.conn())
        .await
        .unwrap();
}

pub(crate) async fn setup(db: TestDb) -> Setup {
    let t = tree(&db.db).await;
    let secretary = account(
        &db.db,
        "secretary",
        Role::CompoundSecretary,
        t.compound.compound,
    )
    .await;
    let worker = account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let street = account(&db.db, "street", Role::StreetAdmin, t.street).await;
    let far_street = account(&db.db, "far", Role::StreetAdmin, t.other_street).await;
    let owner_a = account(&db.db, "owner-a", Role::Resident, t.compound.dwellings[0]).await;
    let owner_b = account(&db.db, "owner-b", Role::Resident, t.compound.dwellings[1]).await;
    let neighbour = account(
        &db.db,
        "neighbour",
        Role::Resident,
        t.neighbour.dwellings[0],
    )
    .await;
    let committee = account(
        &db.db,
        "committee",
        Role::OwnersCommittee,
        t.compound.compound,
    )
    .await;
    let app = TestApp::new(db);
    let c = t.compound.compound;
    let a = register_owner(&app, t.compound.dwellings[0], c, 8950, "林美华").await;
    let b = register_owner(&app, t.compound.dwellings[1], c, 12000, "陈建国").await;
    link_person(&app, owner_a, a).await;
    link_person(&app, owner_b, b).await;
    Setup {
        t,
        app,
        secretary,
        worker,
        street,
        far_street,
        owner_a,
        owner_b,
        neighbour,
        committee,
    }
}

pub(crate) fn ok(r: &jinlin_testkit::TestResponse, status: StatusCode) -> Value {
    assert_eq!(r.status, status, "{}", r.text());
    r.json()
}

pub(crate) async fn propose(c: &Client<'_>, compound: i64) -> i64 {
    let r = c
        .json(
            Method::POST,
            &format!("/api/v1/places/{compound}/matters"),
            r#"{"title": "更换小区物业服务企业", "description": "现物业服务差，建议重新选聘。"}"#,
        )
        .await;
    ok(&r, StatusCode::CREATED)["id"].as_i64().unwrap()
}

async fn act(c: &Client<'_>, matter: i64, body: Value) -> jinlin_testkit::TestResponse {
    c.json(
        Method::POST,
        &format!("/api/v1/matters/{matter}/actions"),
        &body.to_string(),
    )
    .await
}

/// Takes a matter from proposal to public review as the party organisation,
/// with a plan on art. 278 matter `joint`.
pub(crate) async fn to_public_review(s: &Setup, matter: i64, joint: Option<u8>) {
    let sec = s.app.client(s.secretary).await;
    ok(
        &act(
            &sec,
            matter,
            json!({"action": "advance", "summary": "业主反映集中，党支部牵头动议"}),
        )
        .await,
        StatusCode::OK,
    );
    ok(
        &act(
            &sec,
            matter,
            json!({"action": "advance", "plan": "召开业主大会表决解聘现物业、选聘新物业", "joint_decision": joint}),
        )
        .await,
        StatusCode::OK,
    );
    let held_at = (Utc::now() - Duration::hours(2)).to_rfc3339();
    let r = act(
        &sec,
        matter,
        json!({"action": "advance", "held_at": held_at, "minutes": "四方一致同意提交业主表决。",
        "attendees": [
            {"party": "compound_party_org", "name": "王书记"},
            {"party": "community", "name": "社区李主任"}
        ]}),
    )
    .await;
    assert_eq!(ok(&r, StatusCode::OK)["state"], "public_review");
}

pub(crate) async fn open_vote(c: &Client<'_>, matter: i64) -> jinlin_testkit::TestResponse {
    open_vote_for(c, matter, Duration::hours(24)).await
}

pub(crate) async fn open_vote_for(
    c: &Client<'_>,
    matter: i64,
    lasting: Duration,
) -> jinlin_testkit::TestResponse {
    let closes_at = (Utc::now() + lasting).to_rfc3339();
    c.json(
        Method::POST,
        &format!("/api/v1/matters/{matter}/votes"),
        &json!({"closes_at": closes_at}).to_string(),
    )
    .await
}

async fn cast(c: &Client<'_>, vote: i64, body: Value) -> jinlin_testkit::TestResponse {
    c.json(
        Method::POST,
        &format!("/api/v1/votes/{vote}/ballots"),
        &body.to_string(),
    )
    .await
}

async fn ballots(app: &TestApp, vote_id: i64) -> u64 {
    ballot::Entity::find()
        .filter(ballot::Column::VoteId.eq(vote_id))
        .count(app.db.db.conn())
        .await
        .unwrap()
}

/// A compound's board counts its matters with its page; pages past the
/// end still say how many there are, and the community's list agrees.
#[db_test]
async fn a_boards_pages_say_how_many_matters_there_are(db: TestDb) {
    let s = setup(db).await;
    let c = s.t.compound.compound;
    let a = s.app.client(s.owner_a).await;
    let first = propose(&a, c).await;
    // 51 more matters like the first, written directly: proposing is
    // limited per owner.
    let model = matter::Entity::find_by_id(first)
        .one(s.app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    for _ in 0..51 {
        let mut copy: matter::ActiveModel = model.clone().into();
        copy.id = sea_orm::ActiveValue::NotSet;
        matter::Entity::insert(copy)
            .exec(s.app.db.db.conn())
            .await
            .unwrap();
    }
    let board = |place: i64, page: u64| {
        let a = &a;
        async move {
            ok(
                &a.get(&format!("/api/v1/places/{place}/matters?page={page}"))
                    .await,
                StatusCode::OK,
            )
        }
    };
    for (page, shown) in [(1, 50), (2, 2), (3, 0)] {
        let b = board(c, page).await;
        assert_eq!(b["total"], 52, "page {page}");
        assert_eq!(b["items"].as_array().unwrap().len(), shown, "page {page}");
    }
    let b = board(c, 2).await;
    assert_eq!(
        b["items"][1]["id"], first,
        "newest first: the first is last"
    );
    // Filtered by state: all of them, or none on an empty board.
    for (state, total, shown) in [("propose", 52, 50), ("public_review", 0, 0)] {
        let b = ok(
            &a.get(&format!("/api/v1/places/{c}/matters?state={state}"))
                .await,
            StatusCode::OK,
        );
        assert_eq!(b["total"], total, "{state}");
        assert_eq!(b["items"].as_array().unwrap().len(), shown, "{state}");
    }
    // A page far past the last is an empty page, not an error.
    let far_page = ok(
        &a.get(&format!("/api/v1/places/{c}/matters?page={}", u64::MAX))
            .await,
        StatusCode::OK,
    );
    assert_eq!(far_page["total"], 52);
    assert_eq!(far_page["items"].as_array().unwrap().len(), 0);
    // Outside the reader's scope, or no place at all: 404 on every page.
    let far = s.app.client(s.far_street).await;
    for page in [1, 3, u64::MAX] {
        let path = format!("/api/v1/places/{c}/matters?page={page}");
        assert_eq!(far.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
        let path = format!("/api/v1/places/{}/matters?page={page}", c + 1_000_000);
        assert_eq!(a.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    let worker = s.app.client(s.worker).await;
    let listed = ok(
        &worker
            .get(&format!("/api/v1/places/{}/matters?page=2", s.t.community))
            .await,
        StatusCode::OK,
    );
    assert_eq!(listed["total"], 52);
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
}

#[db_test]
async fn a_matter_goes_from_proposal_to_a_published_vote_result(db: TestDb) {
    let s = setup(db).await;
    let c = s.t.compound.compound;
    let a = s.app.client(s.owner_a).await;
    let b = s.app.client(s.owner_b).await;
    let sec = s.app.client(s.secretary).await;

    let matter = propose(&a, c).await;
    let board = ok(
        &a.get(&format!("/api/v1/places/{c}/matters")).await,
        StatusCode::OK,
    );
    assert_eq!(board["total"], 1);
    assert_eq!(board["items"][0]["state"], "propose");

    to_public_review(&s, matter, Some(4)).await;
    let opened = ok(&open_vote(&sec, matter).await, StatusCode::CREATED);
    let vote_id = opened["id"].as_i64().unwrap();
    assert_eq!(opened["unit_count"], 2);
    assert_eq!(opened["total_heads"], 2);
    assert_eq!(opened["total_area_centi_m2"], 20950);

    // A votes for, changes to against, then back to for: the last counts.
    for choice in ["for", "against", "for"] {
        ok(
            &cast(&a, vote_id, json!({"choice": choice})).await,
            StatusCode::CREATED,
        );
    }
    // The party organisation sees participation, not ballots.
    let live = ok(
        &sec.get(&format!("/api/v1/votes/{vote_id}")).await,
        StatusCode::OK,
    );
    assert_eq!(live["live"]["voters"], 1);
    assert_eq!(
        live["live"]["participation_heads"]["fraction"]["numerator"],
        1
    );
    assert!(live["result"].is_null());
    assert!(live["my_ballots"].as_array().unwrap().is_empty());
    // An owner sees only their own ballot, and no live count.
    let mine = ok(
        &a.get(&format!("/api/v1/votes/{vote_id}")).await,
        StatusCode::OK,
    );
    assert!(mine["live"].is_null());
    assert_eq!(mine["my_ballots"][0]["choice"], "for");
    assert_eq!(mine["my_ballots"][0]["sequence"], 3);

    // Not everyone has voted and the closing time is ahead: not yet.
    let early = sec
        .json(Method::POST, &format!("/api/v1/votes/{vote_id}/close"), "")
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.text());
    assert_eq!(api_error(&early).0, "vote_not_due");

    ok(
        &cast(&b, vote_id, json!({"choice": "for"})).await,
        StatusCode::CREATED,
    );
    let closed = ok(
        &sec.json(Method::POST, &format!("/api/v1/votes/{vote_id}/close"), "")
            .await,
        StatusCode::OK,
    );
    let result = &closed["result"];
    assert_eq!(result["cast"]["outcome"], "passed");
    assert_eq!(
        result["cast"]["participation_area"]["fraction"]["numerator"],
        20950
    );
    assert_eq!(result["cast"]["participation_area"]["percent"], "100.00");
    assert_eq!(
        result["cast"]["approval_heads"]["fraction"]["denominator"],
        2
    );
    assert!(result["deemed"].is_null());

    // Every resident of the compound reads the published result.
    let public = ok(
        &a.get(&format!("/api/v1/matters/{matter}")).await,
        StatusCode::OK,
    );
    assert_eq!(public["votes"][0]["result"]["cast"]["outcome"], "passed");
    assert!(!public["full"].as_bool().unwrap());
    // The joint meeting's minutes are for the party organisation and above.
    assert!(
        public["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|st| st["record"]["step"] != "consult")
    );
    let full = ok(
        &s.app
            .client(s.worker)
            .await
            .get(&format!("/api/v1/matters/{matter}"))
            .await,
        StatusCode::OK,
    );
    assert!(
        full["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|st| st["record"]["minutes"] == "四方一致同意提交业主表决。")
    );

    // Anyone of the compound can have the log recomputed.
    let verified = ok(
        &a.get(&format!("/api/v1/votes/{vote_id}/verify")).await,
        StatusCode::OK,
    );
    assert_eq!(verified["chain_valid"], true);
    assert_eq!(verified["ballots"], 4);
    assert_eq!(verified["tally_matches"], true);
    assert_eq!(verified["head_hash"], mine_hash(&s.app, vote_id).await);

    // Public review lasts its seven days before it can be completed.
    let too_soon = act(&sec, matter, json!({"action": "advance"})).await;
    assert_eq!(
        too_soon.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        too_soon.text()
    );
    assert!(api_error(&too_soon).1.contains("7"));
}

async fn mine_hash(app: &TestApp, vote_id: i64) -> String {
    vote::Entity::find_by_id(vote_id)
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap()
        .head_hash
}

#[db_test]
async fn evaluation_closes_a_matter_after_public_review(db: TestDb) {
    let s = setup(db).await;
    let c = s.t.compound.compound;
    let a = s.app.client(s.owner_a).await;
    let sec = s.app.client(s.secretary).await;
    let matter = propose(&a, c).await;
    to_public_review(&s, matter, None).await;
    // Comments are taken during public review.
    let said = a
        .json(
            Method::POST,
            &format!("/api/v1/matters/{matter}/comments"),
            r#"{"body": "同意，建议尽快实施。"}"#,
        )
        .await;
    ok(&said, StatusCode::CREATED);
    // Eight days of publication have passed.
    matter::Entity::update_many()
        .col_expr(
            matter::Column::ReviewFrom,
            Expr::value(Utc::now() - Duration::days(8)),
        )
        .filter(matter::Column::Id.eq(matter))
        .exec(s.app.db.db.conn())
        .await
        .unwrap();
    assert_eq!(
        ok(
            &act(&sec, matter, json!({"action": "advance"})).await,
            StatusCode::OK
        )["state"],
        "evaluate"
    );
    // No evaluation yet: the matter cannot close.
    let early = act(&sec, matter, json!({"action": "advance"})).await;
    assert_eq!(early.status, StatusCode::UNPROCESSABLE_ENTITY);
    let evaluated = a
        .json(
            Method::POST,
            &format!("/api/v1/matters/{matter}/evaluations"),
            r#"{"satisfied": true, "comment": "满意"}"#,
        )
        .await;
    ok(&evaluated, StatusCode::CREATED);
    let twice = a
        .json(
            Method::POST,
            &format!("/api/v1/matters/{matter}/evaluations"),
            r#"{"satisfied": false}"#,
        )
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert_eq!(
        ok(
            &act(&sec, matter, json!({"action": "advance"})).await,
            StatusCode::OK
        )["state"],
        "closed"
    );
    let view = ok(
        &a.get(&format!("/api/v1/matters/{matter}")).await,
        StatusCode::OK,
    );
    assert_eq!(view["evaluations"]["respondents"], 1);
    assert_eq!(view["evaluations"]["satisfied"], 1);
    assert_eq!(view["comments"][0]["body"], "同意，建议尽快实施。");
    // Closed is the end.
    let after = act(&sec, matter, json!({"action": "reject", "reason": "x"})).await;
    assert_eq!(api_error(&after).0, "matter_ended");
}

#[db_test]
async fn who_may_move_a_matter_follows_the_roles(db: TestDb) {
    let s = setup(db).await;
    let c = s.t.compound.compound;
    let a = s.app.client(s.owner_a).await;
    let b = s.app.client(s.owner_b).await;
    let sec = s.app.client(s.secretary).await;
    let street = s.app.client(s.street).await;
    let worker = s.app.client(s.worker).await;
    let matter = propose(&a, c).await;

    // A resident cannot take up a proposal; another resident cannot withdraw it.
    let r = act(&b, matter, json!({"action": "advance", "summary": "x"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = act(&b, matter, json!({"action": "withdraw"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The street oversees: it may not advance, and needs a reason to send back.
    let r = act(
        &street,
        matter,
        json!({"action": "advance", "summary": "x"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    ok(
        &act(
            &sec,
            matter,
            json!({"action": "advance", "summary": "受理"}),
        )
        .await,
        StatusCode::OK,
    );
    let r = act(
        &street,
        matter,
        json!({"action": "send_back", "reason": "  "}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let back = ok(
        &act(
            &street,
            matter,
            json!({"action": "send_back", "reason": "请先征求业主意见"}),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(back["state"], "propose");
    // The proposer withdraws; then nothing more happens.
    ok(
        &act(&a, matter, json!({"action": "withdraw"})).await,
        StatusCode::OK,
    );
    let r = act(
        &worker,
        matter,
        json!({"action": "reject", "reason": "重复"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let view = ok(
        &a.get(&format!("/api/v1/matters/{matter}")).await,
        StatusCode::OK,
    );
    let steps = view["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 4);
    assert_eq!(steps[2]["reason"], "请先征求业主意见");
    assert_eq!(steps[2]["actor"], "street");
    assert_eq!(steps[3]["to_state"], "withdrawn");
}

#[db_test]
async fn the_electorate_is_fixed_when_the_vote_opens(db: TestDb) {
    let s = setup(db).await;
    let c = s.t.compound.compound;
    let a = s.app.client(s.owner_a).await;
    let sec = s.app.client(s.secretary).await;
    let matter = propose(&a, c).await;
    to_public_review(&s, matter, Some(6)).await;
    let vote_id = ok(&open_vote(&sec, matter).await, StatusCode::CREATED)["id"]
        .as_i64()
        .unwrap();

    // Owner B sells to a buyer, who registers after the vote opened; the
    // area of A's flat is corrected.
    let buyer = account(
        &s.app.db.db,
        "buyer",
        Role::Resident,
        s.t.compound.dwellings[1],
    )
    .await;
    let buyer_person = register_person(&s.app, "赵新").await;
    add_owner(&s.app, s.t.compound.dwellings[1], c, buyer_person).await;
    link_person(&s.app, buyer, buyer_person).await;
    dwelling::Entity::update_many()
        .col_expr(dwelling::Column::AreaCentiM2, Expr::value(50_000))
        .filter(dwelling::Column::PlaceId.eq(s.t.compound.dwellings[0]))
        .exec(s.app.db.db.conn())
        .await
        .unwrap();

    let v = ok(
        &sec.get(&format!("/api/v1/votes/{vote_id}")).await,
        StatusCode::OK,
    );
    assert_eq!(v["total_area_centi_m2"], 20950);
    assert_eq!(v["total_heads"], 2);
    let r = cast(
        &s.app.client(buyer).await,
        vote_id,
        json!({"choice": "for"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert_eq!(ballots(&s.app, vote_id).await, 0);
}

async fn register_person(app: &TestApp, name: &str) -> i64 {
    let now = Utc::now();
    person::Entity::insert(person::ActiveModel {
        district_code: Set(Some("350104".into())),
        name: Set(name.into()),
        phone: Set(None),
        id_number_cipher: Set(None),
        id_number_digest: Set(None),
        party_member: Set(false),
        employer: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec(app.db.db.conn())
    .await
    .unwrap()
    .last_insert_id
}

#[db_test]
async fn bad_ballots_and_settings_are_refused_and_store_nothing(db: TestDb) {
    let s = setup(db).await;
    let c = s.t.compound.compound;
    let a = s.app.client(s.owner_a).await;
    let sec = s.app.client(s.secretary).await;
    let worker = s.app.client(s.worker).await;
    let matter = propose(&a, c).await;
    to_public_review(&s, matter, Some(9)).await;
    let vote_id = ok(&open_vote(&sec, matter).await, StatusCode::CREATED)["id"]
        .as_i64()
        .unwrap();
    ok(
        &cast(&a, vote_id, json!({"choice": "against"})).await,
        StatusCode::CREATED,
    );

    // Double submit: the same ballot again.
    let again = cast(&a, vote_id, json!({"choice": "against"})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(api_error(&again).0, "ballot_unchanged");
    // A non-owner.
    let r = cast(&worker, vote_id, json!({"choice": "for"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(api_error(&r).1.contains("业主"));
    // A unit outside the electorate, and a unit of another owner.
    let r = cast(
        &a,
        vote_id,
        json!({"choice": "for", "unit_id": s.t.neighbour.dwellings[0]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = cast(
        &a,
        vote_id,
        json!({"choice": "for", "unit_id": s.t.compound.dwellings[1]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // A choice that is none.
    let r = cast(&a, vote_id, json!({"choice": "maybe"})).await;
    assert!(r.status.is_client_error());
    assert_eq!(ballots(&s.app, vote_id).await, 1);

    // The closing time passes and the vote is closed: no more ballots.
    close_later(&s.app, vote_id, Duration::days(2)).await;
    let late = cast(
        &s.app.client(s.owner_b).await,
        vote_id,
        json!({"choice": "for"}),
    )
    .await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert_eq!(api_error(&late).0, "vote_closed");
    let closed = ok(
        &sec.get(&format!("/api/v1/votes/{vote_id}")).await,
        StatusCode::OK,
    );
    // One of two owners, 89.50 of 209.50 m²: too few took part.
    assert_eq!(closed["result"]["cast"]["outcome"], "failed_participation");
    assert_eq!(
        closed["result"]["cast"]["participation_area"]["percent"],
        "42.72"
    );
    let r = sec
        .json(Method::POST, &format!("/api/v1/votes/{vote_id}/close"), "")
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(ballots(&s.app, vote_id).await, 1);

    // Malformed settings.
    for body in [
        r#"{"deemed_votes": true, "min_publication_days": 0, "min_evaluation_respondents": 1}"#,
        r#"{"deemed_votes": true, "min_publication_days": 7, "min_evaluation_respondents": -3}"#,
        r#"{"deemed_votes": "yes", "min_publication_days": 7, "min_evaluation_respondents": 1}"#,
        r#"{"deemed_votes": true, "min_publication_days": 7, "min_evaluation_respondents": 1, "threshold": "1/2"}"#,
    ] {
        let r = sec
            .json(
                Method::PUT,
                &format!("/api/v1/places/{c}/deliberation-settings"),
                body,
            )
            .await;
        assert!(r.status.is_client_error(), "{body}: {}", r.status);
        assert!(!api_error(&r).1.is_empty());
    }
    assert_eq!(
        setting::Entity::find()
            .count(s.app.db.db.conn())
            .await
            .unwrap(),
        0
    );

    // Bad matters and actions.
    let r = a
        .json(
            Method::POST,
            &format!("/api/v1/places/{c}/matters"),
            r#"{"title": " ", "description": "x"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        matter::Entity::find()
            .count(s.app.db.db.conn())
            .await
            .unwrap(),
        1
    );
    let other = propose(&a, c).await;
    ok(
        &act(&sec, other, json!({"action": "advance", "summary": "受理"})).await,
        StatusCode::OK,
    );
    let r = act(
        &sec,
        other,
        json!({"action": "advance", "plan": "方案", "joint_decision": 10}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = act(&sec, other, json!({"action": "advance", "plan": ""})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let view = ok(
        &sec.get(&format!("/api/v1/matters/{other}")).await,
        StatusCode::OK,
    );
    assert_eq!(view["state"], "motion");
    assert_eq!(view["steps"].as_array().unwrap().len(), 2);
}

#[db_test]
async fn deemed_votes_are_counted_apart_when_the_compound_says_so(db: TestDb) {
    let s = setup(db).await;
    let c = s.t.compound.compound;
    let a = s.app.client(s.owner_a).await;
    let sec = s.app.client(s.secretary).await;
    let r = sec
        .json(
            Method::PUT,
            &format!("/api/v1/places/{c}/deliberation-settings"),
            r#"{"deemed_votes": true, "min_publication_days": 7, "min_evaluation_respondents": 1}"#,
        )
        .await;
    ok(&r, StatusCode::OK);
    let matter = propose(&a, c).await;
    to_public_review(&s, matter, Some(4)).await;
    let vote_id = ok(
        &open_vote_for(&sec, matter, Duration::days(16)).await,
        StatusCode::CREATED,
    )["id"]
        .as_i64()
        .unwrap();
    ok(
        &cast(&a, vote_id, json!({"choice": "for"})).await,
        StatusCode::CREATED,
    );
    close_later(&s.app, vote_id, Duration::days(17)).await;
    let closed = ok(
        &sec.get(&format!("/api/v1/votes/{vote_id}")).await,
        StatusCode::OK,
    );
    let result = &closed["result"];
    assert_eq!(closed["deemed_votes"], true);
    assert_eq!(result["cast"]["outcome"], "failed_participation");
    assert_eq!(result["deemed"]["choice"], "for");
    assert_eq!(result["deemed"]["count"]["heads"], 1);
    assert_eq!(result["deemed"]["assessment"]["outcome"], "passed");
}

#[db_test]
async fn concurrent_ballots_are_all_recorded(db: TestDb) {
    let s = setup(db).await;
    let c = s.t.compound.compound;
    // Twenty more flats in the entrance, each with an owner who has an account.
    let mut voters = vec![s.owner_a, s.owner_b];
    for i in 0..20 {
        let flat = insert_dwelling(&s.app, &s.t, &format!("2{i:02}")).await;
        let person = register_owner(&s.app, flat, c, 9000 + i, &format!("业主{i}")).await;
        let acc = account(&s.app.db.db, &format!("owner-{i}"), Role::Resident, flat).await;
        link_person(&s.app, acc, person).await;
        voters.push(acc);
    }
    let a = s.app.client(s.owner_a).await;
    let sec = s.app.client(s.secretary).await;
    let matter = propose(&a, c).await;
    to_public_review(&s, matter, Some(4)).await;
    let vote_id = ok(&open_vote(&sec, matter).await, StatusCode::CREATED)["id"]
        .as_i64()
        .unwrap();

    let mut tasks = tokio::task::JoinSet::new();
    for voter in &voters {
        let session = session::create(s.app.db.db.conn(), *voter, None, None)
            .await
            .unwrap();
        let router = s.app.router.clone();
        tasks.spawn(async move {
            let request = Request::builder()
                .method(Method::POST)
                .uri(format!("/api/v1/votes/{vote_id}/ballots"))
                .header(
                    "cookie",
                    format!("{}={}", session::SESSION_COOKIE, session.token),
                )
                .header("x-csrf-token", session.csrf_token)
                .header("content-type", "application/json")
                .body(Body::from(r#"{"choice": "for"}"#))
                .unwrap();
            jinlin_testkit::send(&router, request).await.status
        });
    }
    let statuses = tasks.join_all().await;
    assert!(
        statuses.iter().all(|st| *st == StatusCode::CREATED),
        "{statuses:?}"
    );
    assert_eq!(ballots(&s.app, vote_id).await, voters.len() as u64);
    let verified = ok(
        &sec.get(&format!("/api/v1/votes/{vote_id}/verify")).await,
        StatusCode::OK,
    );
    assert_eq!(verified["chain_valid"], true, "{verified}");
    assert_eq!(verified["ballots"], voters.len());
    let closed = ok(
        &sec.json(Method::POST, &format!("/api/v1/votes/{vote_id}/close"), "")
            .await,
        StatusCode::OK,
    );
    assert_eq!(
        closed["result"]["cast"]["participating"]["heads"],
        voters.len()
    );
}

/// A ballot that would wait past `WRITE_WAIT` for its turn (SQLite's one
/// writer, or the vote's row on PostgreSQL, held here by another
/// transaction) is refused as overloaded with Retry-After, and nothing of
/// it is stored; once the way is clear the same
/// ballot is taken.
#[db_test]
async fn a_ballot_that_waits_too_long_is_refused_and_stores_nothing(db: TestDb) {
    use sea_orm::ConnectionTrait;
    let s = setup(db).await;
    let a = s.app.client(s.owner_a).await;
    let sec = s.app.client(s.secretary).await;
    let matter = propose(&a, s.t.compound.compound).await;
    to_public_review(&s, matter, Some(4)).await;
    let vote_id = ok(&open_vote(&sec, matter).await, StatusCode::CREATED)["id"]
        .as_i64()
        .unwrap();

    let hold = s.app.db.db.write().await.unwrap();
    if hold.get_database_backend() == sea_orm::DbBackend::Postgres {
        vote::Entity::update_many()
            .col_expr(
                vote::Column::BallotCount,
                Expr::col(vote::Column::BallotCount),
            )
            .filter(vote::Column::Id.eq(vote_id))
            .exec(&hold)
            .await
            .unwrap();
    }
    let refused = cast(&a, vote_id, json!({"choice": "for"})).await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        refused.text()
    );
    assert_eq!(api_error(&refused).0, "overloaded");
    assert_eq!(refused.headers["retry-after"], "1");
    hold.rollback().await.unwrap();
    assert_eq!(ballots(&s.app, vote_id).await, 0);

    ok(
        &cast(&a, vote_id, json!({"choice": "for"})).await,
        StatusCode::CREATED,
    );
    assert_eq!(ballots(&s.app, vote_id).await, 1);
    let verified = ok(
        &sec.get(&format!("/api/v1/votes/{vote_id}/verify")).await,
        StatusCode::OK,
    );
    assert_eq!(verified["chain_valid"], true, "{verified}");
}

pub(crate) async fn insert_dwelling(app: &TestApp, t: &Tree, name: &str) -> i64 {
    use jinlin_kernel::place::entity as place;
    let now = Utc::now();
    place::Entity::insert(place::ActiveModel {
        kind: Set("dwelling".into()),
        parent_id: Set(Some(t.compound.entrance)),
        code: Set(None),
        name: Set(name.into()),
        initials: Set(String::new()),
        district_code: Set(Some("350104".into())),
        street_id: Set(Some(t.street)),
        community_id: Set(Some(t.community)),
        compound_id: Set(Some(t.compound.compound)),
        building_id: Set(Some(t.compound.building)),
        entrance_id: Set(Some(t.compound.entrance)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec(app.db.db.conn())
    .await
    .unwrap()
    .last_insert_id
}

#[db_test]
async fn every_route_checks_scope_and_role(db: TestDb) {
    let s = setup(db).await;
    let c = s.t.compound.compound;
    let a = s.app.client(s.owner_a).await;
    let sec = s.app.client(s.secretary).await;
    let far = s.app.client(s.far_street).await;
    let neighbour = s.app.client(s.neighbour).await;
    let committee = s.app.client(s.committee).await;
    let matter = propose(&a, c).await;
    to_public_review(&s, matter, Some(4)).await;
    let vote_id = ok(&open_vote(&sec, matter).await, StatusCode::CREATED)["id"]
        .as_i64()
        .unwrap();

    let reads = [
        format!("/api/v1/places/{c}/matters"),
        format!("/api/v1/matters/{matter}"),
        format!("/api/v1/votes/{vote_id}"),
        format!("/api/v1/places/{c}/deliberation-settings"),
    ];
    for path in &reads {
        assert_eq!(
            s.app.get(path).await.status,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
        assert_eq!(far.get(path).await.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            neighbour.get(path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
        assert_eq!(a.get(path).await.status, StatusCode::OK, "{path}");
        assert_eq!(sec.get(path).await.status, StatusCode::OK, "{path}");
    }
    // The street's and district's boards reach the compound; a resident's do not.
    let street = s.app.client(s.street).await;
    let board = ok(
        &street
            .get(&format!("/api/v1/places/{}/matters", s.t.street))
            .await,
        StatusCode::OK,
    );
    assert_eq!(board["total"], 1);
    assert_eq!(
        far.get(&format!("/api/v1/places/{}/matters", s.t.street))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        a.get(&format!("/api/v1/places/{}/matters", s.t.street))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    let writes: [(Method, String, &str); 8] = [
        (
            Method::POST,
            format!("/api/v1/places/{c}/matters"),
            r#"{"title": "t", "description": "d"}"#,
        ),
        (
            Method::POST,
            format!("/api/v1/matters/{matter}/actions"),
            r#"{"action": "reject", "reason": "r"}"#,
        ),
        (
            Method::POST,
            format!("/api/v1/matters/{matter}/comments"),
            r#"{"body": "b"}"#,
        ),
        (
            Method::POST,
            format!("/api/v1/matters/{matter}/evaluations"),
            r#"{"satisfied": true}"#,
        ),
        (
            Method::POST,
            format!("/api/v1/matters/{matter}/votes"),
            r#"{"closes_at": "2099-01-01T00:00:00Z"}"#,
        ),
        (
            Method::POST,
            format!("/api/v1/votes/{vote_id}/ballots"),
            r#"{"choice": "for"}"#,
        ),
        (Method::POST, format!("/api/v1/votes/{vote_id}/close"), ""),
        (
            Method::PUT,
            format!("/api/v1/places/{c}/deliberation-settings"),
            r#"{"deemed_votes": true, "min_publication_days": 7, "min_evaluation_respondents": 1}"#,
        ),
    ];
    for (method, path, body) in &writes {
        let anon = s.app.json(method.clone(), path, body).await;
        assert_eq!(anon.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(
            far.json(method.clone(), path, body).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
        assert_eq!(
            neighbour.json(method.clone(), path, body).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    // Inside the compound without the power to act: 403.
    for (method, path, body) in &writes[4..] {
        if path.ends_with("/ballots") {
            continue;
        }
        let r = committee.json(method.clone(), path, body).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.text());
    }
    let r = committee
        .json(Method::POST, &writes[1].1, writes[1].2)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = committee
        .json(Method::POST, &writes[5].1, writes[5].2)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = committee
        .json(Method::POST, &writes[3].1, writes[3].2)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Verification of an open vote: the party organisation, not residents.
    assert_eq!(
        a.get(&format!("/api/v1/votes/{vote_id}/verify"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        sec.get(&format!("/api/v1/votes/{vote_id}/verify"))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        far.get(&format!("/api/v1/votes/{vote_id}/verify"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // Nothing was stored by any refused write.
    assert_eq!(
        matter::Entity::find()
            .count(s.app.db.db.conn())
            .await
            .unwrap(),
        1
    );
    assert_eq!(ballots(&s.app, vote_id).await, 0);
    assert_eq!(
        setting::Entity::find()
            .count(s.app.db.db.conn())
            .await
            .unwrap(),
        0
    );
}

fn location(r: &jinlin_testkit::TestResponse) -> String {
    r.header("location").unwrap_or_default().to_string()
}

#[db_test]
async fn the_pages_walk_a_matter_to_its_published_result_in_both_languages(db: TestDb) {
    let s = setup(db).await;
    let c = s.t.compound.compound;
    let a = s.app.client(s.owner_a).await;
    let b = s.app.client(s.owner_b).await;
    let sec = s.app.client(s.secretary).await;

    // A resident proposes on the board.
    let fields = [
        ("title", "增设电动自行车充电棚"),
        ("description", "楼道充电有火灾隐患。"),
    ];
    let refused = a.form(&format!("/places/{c}/board"), &fields, false).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let empty = a
        .form(
            &format!("/places/{c}/board"),
            &[("title", ""), ("description", "x")],
            true,
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.text().contains("请填写标题"), "{}", empty.text());
    let posted = a.form(&format!("/places/{c}/board"), &fields, true).await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.text());
    let page = location(&posted);
    let id: i64 = page.rsplit('/').next().unwrap().parse().unwrap();
    let board = a.get(&format!("/places/{c}/board")).await;
    assert!(board.text().contains("增设电动自行车充电棚"));
    assert!(board.text().contains("五议公示栏"));
    assert!(
        a.get_en(&format!("/places/{c}/board"))
            .await
            .text()
            .contains("public board")
    );

    // The party organisation takes it through motion and consult.
    let act_path = format!("/matters/{id}/act");
    let r = sec
        .form(&act_path, &[("action", "advance"), ("summary", "")], true)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("动议说明"), "{}", r.text());
    for fields in [
        vec![("action", "advance"), ("summary", "受理")],
        vec![
            ("action", "advance"),
            ("plan", "北侧空地建充电棚"),
            ("joint_decision", "8"),
        ],
    ] {
        let r = sec.form(&act_path, &fields, true).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    }
    let held = (Utc::now() + Duration::hours(8) - Duration::hours(3))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let r = sec
        .form(
            &act_path,
            &[
                ("action", "advance"),
                ("held_at", &held),
                ("att_compound_party_org", "王书记"),
                ("att_community", "李主任、张网格员"),
                ("minutes", "同意提交业主表决"),
            ],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());

    // The vote opens, both owners vote on the page, the secretary closes it.
    let closes = (Utc::now() + Duration::hours(8) + Duration::days(3))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let r = sec
        .form(
            &format!("/matters/{id}/vote"),
            &[("closes_at", &closes)],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let vote_id = vote::Entity::find()
        .one(s.app.db.db.conn())
        .await
        .unwrap()
        .unwrap()
        .id;
    let ballot_path = format!("/votes/{vote_id}/ballot");
    let matter_field = id.to_string();
    let mine = a.get(&page).await.text();
    assert!(mine.contains("您的表决意见"), "{mine}");
    for (client, choice) in [(&a, "for"), (&b, "for")] {
        let r = client
            .form(
                &ballot_path,
                &[("matter_id", &matter_field), ("choice", choice)],
                true,
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    }
    let twice = a
        .form(
            &ballot_path,
            &[("matter_id", &matter_field), ("choice", "for")],
            true,
        )
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert!(twice.text().contains("同样的票"));
    assert!(sec.get(&page).await.text().contains("当前参与情况"));
    let r = sec
        .form(
            &format!("/votes/{vote_id}/close"),
            &[("matter_id", &matter_field)],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());

    // Published: every resident reads the result, in either language.
    let zh = a.get(&page).await.text();
    assert!(zh.contains("表决通过"), "{zh}");
    assert!(zh.contains("20950/20950"));
    assert!(zh.contains("您的选票：赞成"));
    assert!(
        zh.contains("1号楼 1单元 101"),
        "{}",
        &zh[zh.find("您的选票").unwrap()..][..300]
    );
    let en = a.get_en(&page).await.text();
    assert!(en.contains("Passed"));
    assert!(en.contains("three quarters or more"));

    // Outside the compound the page does not exist.
    let far = s.app.client(s.far_street).await;
    assert_eq!(far.get(&page).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        far.get(&format!("/places/{c}/board")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[db_test]
async fn the_settings_page_keeps_bad_values_out(db: TestDb) {
    let s = setup(db).await;
    let c = s.t.compound.compound;
    let sec = s.app.client(s.secretary).await;
    let a = s.app.client(s.owner_a).await;
    let path = format!("/places/{c}/deliberation-settings");
    assert_eq!(a.get(&path).await.status, StatusCode::FORBIDDEN);
    assert!(sec.get(&path).await.text().contains("最短公示天数"));
    let bad = sec
        .form(
            &path,
            &[
                ("min_publication_days", "abc"),
                ("min_evaluation_respondents", "1"),
            ],
            true,
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().contains("公示期须为"));
    assert_eq!(
        setting::Entity::find()
            .count(s.app.db.db.conn())
            .await
            .unwrap(),
        0
    );
    let good = sec
        .form(
            &path,
            &[
                ("deemed_votes", "on"),
                ("min_publication_days", "15"),
                ("min_evaluation_respondents", "3"),
            ],
            true,
        )
        .await;
    assert_eq!(good.status, StatusCode::OK);
    let saved = setting::Entity::find_by_id(c)
        .one(s.app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    assert!(saved.deemed_votes);
    assert_eq!(saved.min_publication_days, 15);
}

#[db_test]
async fn the_openapi_document_lists_the_deliberation_routes(db: TestDb) {
    let app = TestApp::new(db);
    let doc = app.get("/api/v1/openapi.json").await.json();
    for (path, method) in [
        ("/api/v1/places/{id}/matters", "get"),
        ("/api/v1/places/{id}/matters", "post"),
        ("/api/v1/matters/{id}", "get"),
        ("/api/v1/matters/{id}/actions", "post"),
        ("/api/v1/matters/{id}/comments", "post"),
        ("/api/v1/matters/{id}/evaluations", "post"),
        ("/api/v1/matters/{id}/votes", "post"),
        ("/api/v1/votes/{id}", "get"),
        ("/api/v1/votes/{id}/ballots", "post"),
        ("/api/v1/votes/{id}/close", "post"),
        ("/api/v1/votes/{id}/verify", "get"),
        ("/api/v1/places/{id}/deliberation-settings", "get"),
        ("/api/v1/places/{id}/deliberation-settings", "put"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
    }
    for schema in [
        "MatterView",
        "VoteView",
        "Tally",
        "Receipt",
        "Verification",
        "ActionInput",
    ] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
}

#[db_test]
async fn jinlin_verify_vote_recomputes_the_log_and_finds_tampering(db: TestDb) {
    let s = setup(db).await;
    let c = s.t.compound.compound;
    let a = s.app.client(s.owner_a).await;
    let b = s.app.client(s.owner_b).await;
    let sec = s.app.client(s.secretary).await;
    let matter = propose(&a, c).await;
    to_public_review(&s, matter, Some(4)).await;
    let vote_id = ok(&open_vote(&sec, matter).await, StatusCode::CREATED)["id"]
        .as_i64()
        .unwrap();
    ok(
        &cast(&a, vote_id, json!({"choice": "for"})).await,
        StatusCode::CREATED,
    );
    ok(
        &cast(&b, vote_id, json!({"choice": "against"})).await,
        StatusCode::CREATED,
    );
    ok(
        &sec.json(Method::POST, &format!("/api/v1/votes/{vote_id}/close"), "")
            .await,
        StatusCode::OK,
    );
    let verify = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_jinlin"))
            .args([
                "verify-vote",
                &vote_id.to_string(),
                "--database-url",
                &s.app.db.url,
            ])
            .output()
            .unwrap()
    };
    let good = verify();
    let out = String::from_utf8_lossy(&good.stdout).to_string();
    assert!(
        good.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&good.stderr)
    );
    assert!(out.contains("chain        valid"), "{out}");
    assert!(out.contains("matches the published result"), "{out}");

    // Someone changes B's ballot in the database: the chain breaks there.
    ballot::Entity::update_many()
        .col_expr(ballot::Column::Choice, Expr::value("for"))
        .filter(ballot::Column::Sequence.eq(2))
        .filter(ballot::Column::VoteId.eq(vote_id))
        .exec(s.app.db.db.conn())
        .await
        .unwrap();
    let bad = verify();
    let out = String::from_utf8_lossy(&bad.stdout).to_string();
    assert!(!bad.status.success());
    assert!(out.contains("INVALID: ballot log entry 1"), "{out}");
    let api = ok(
        &a.get(&format!("/api/v1/votes/{vote_id}/verify")).await,
        StatusCode::OK,
    );
    assert_eq!(api["chain_valid"], false);
    assert_eq!(api["tally_matches"], false);
}

#[db_test]
async fn a_vote_does_not_open_on_a_register_with_gaps(db: TestDb) {
    let s = setup(db).await;
    let c = s.t.compound.compound;
    let a = s.app.client(s.owner_a).await;
    let sec = s.app.client(s.secretary).await;
    let matter = propose(&a, c).await;
    to_public_review(&s, matter, Some(4)).await;
    // A flat entered in the tree without its area.
    let flat = insert_dwelling(&s.app, &s.t, "301").await;
    let r = open_vote(&sec, matter).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(api_error(&r).1.contains(&flat.to_string()), "{}", r.text());
    assert_eq!(
        vote::Entity::find()
            .count(s.app.db.db.conn())
            .await
            .unwrap(),
        0
    );
    // With its area on record but no owner, still not: nothing is guessed.
    set_area(&s.app, flat, c, 7_000, "survey").await;
    let r = open_vote(&sec, matter).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(api_error(&r).1.contains("没有登记业主"), "{}", r.text());
    // Entered as the developer's unsold unit, it opens.
    add_developer(&s.app, flat, c).await;
    let opened = ok(&open_vote(&sec, matter).await, StatusCode::CREATED);
    assert_eq!(opened["unit_count"], 3);
    assert_eq!(opened["total_heads"], 3);
    assert_eq!(opened["total_area_centi_m2"], 27_950);
}

async fn add_developer(app: &TestApp, dwelling_id: i64, compound_id: i64) {
    dwelling_owner::Entity::insert(dwelling_owner::ActiveModel {
        dwelling_id: Set(dwelling_id),
        district_code: Set("350104".into()),
        compound_id: Set(compound_id),
        owner_kind: Set("developer".into()),
        person_id: Set(None),
        company_name: Set(Some("福州金山置业有限公司".into())),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(app.db.db.conn())
    .await
    .unwrap();
}

/// A flat with its area, not yet owned by anyone in the register.
async fn add_flat(s: &Setup, name: &str, area: i64) -> i64 {
    let flat = insert_dwelling(&s.app, &s.t, name).await;
    set_area(&s.app, flat, s.t.compound.compound, area, "register").await;
    flat
}

#[db_test]
async fn owner_groups_are_counted_as_the_law_counts_them(db: TestDb) {
    let s = setup(db).await;
    let c = s.t.compound.compound;
    let a = s.app.client(s.owner_a).await;
    let b = s.app.client(s.owner_b).await;
    let sec = s.app.client(s.secretary).await;
    // B also holds flat 201 jointly with A: a group {A, B} of its own.
    let joint = add_flat(&s, "201", 10_000).await;
    let person_a = account::Entity::find_by_id(s.owner_a)
        .one(s.app.db.db.conn())
        .await
        .unwrap()
        .unwrap()
        .person_id
        .unwrap();
    let person_b = account::Entity::find_by_id(s.owner_b)
        .one(s.app.db.db.conn())
        .await
        .unwrap()
        .unwrap()
        .person_id
        .unwrap();
    add_owner(&s.app, joint, c, person_a).await;
    add_owner(&s.app, joint, c, person_b).await;
    // A owns 202 too: one head with 101. The developer holds 301 and 302: one head.
    let second = add_flat(&s, "202", 5_000).await;
    add_owner(&s.app, second, c, person_a).await;
    let unsold: Vec<i64> = vec![
        add_flat(&s, "301", 9_000).await,
        add_flat(&s, "302", 9_000).await,
    ];
    for u in &unsold {
        add_developer(&s.app, *u, c).await;
    }
    let matter = propose(&a, c).await;
    to_public_review(&s, matter, Some(4)).await;
    let opened = ok(&open_vote(&sec, matter).await, StatusCode::CREATED);
    let vote_id = opened["id"].as_i64().unwrap();
    assert_eq!(opened["unit_count"], 6);
    // {A}: 101+202, {B}: 102, {A,B}: 201, developer: 301+302.
    assert_eq!(opened["total_heads"], 4);

    // A belongs to two groups and must say which one a ballot is for.
    let r = cast(&a, vote_id, json!({"choice": "for"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let mine = ok(
        &a.get(&format!("/api/v1/votes/{vote_id}")).await,
        StatusCode::OK,
    );
    assert_eq!(mine["my_units"].as_array().unwrap().len(), 2);
    let r = ok(
        &cast(&a, vote_id, json!({"choice": "for", "unit_id": second})).await,
        StatusCode::CREATED,
    );
    assert_eq!(r["unit_ids"], json!([s.t.compound.dwellings[0], second]));
    // Co-owners share one ballot: A casts it, B changes it, the last stands.
    ok(
        &cast(&a, vote_id, json!({"choice": "for", "unit_id": joint})).await,
        StatusCode::CREATED,
    );
    ok(
        &cast(&b, vote_id, json!({"choice": "against", "unit_id": joint})).await,
        StatusCode::CREATED,
    );
    ok(
        &cast(
            &b,
            vote_id,
            json!({"choice": "for", "unit_id": s.t.compound.dwellings[1]}),
        )
        .await,
        StatusCode::CREATED,
    );
    // The developer has no account: the party organisation enters its
    // written ballot, which is audited; a resident cannot.
    let r = cast(&a, vote_id, json!({"choice": "for", "unit_id": unsold[0]})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    ok(
        &cast(
            &sec,
            vote_id,
            json!({"choice": "abstain", "unit_id": unsold[1]}),
        )
        .await,
        StatusCode::CREATED,
    );
    let closed = ok(
        &sec.json(Method::POST, &format!("/api/v1/votes/{vote_id}/close"), "")
            .await,
        StatusCode::OK,
    );
    let cast_counts = &closed["result"]["cast"]["counts"];
    assert_eq!(cast_counts["for"]["heads"], 2);
    assert_eq!(cast_counts["against"]["heads"], 1);
    assert_eq!(cast_counts["abstain"]["heads"], 1);
    assert_eq!(cast_counts["abstain"]["area_centi_m2"], 18_000);
    assert_eq!(cast_counts["against"]["area_centi_m2"], 10_000);
    let entered = jinlin_kernel::audit::entity::Entity::find()
        .filter(jinlin_kernel::audit::entity::Column::Action.eq("vote.ballot_entered"))
        .count(s.app.db.db.conn())
        .await
        .unwrap();
    assert_eq!(entered, 1);
}

#[db_test]
async fn sending_a_matter_back_cancels_its_open_vote(db: TestDb) {
    let s = setup(db).await;
    let c = s.t.compound.compound;
    let a = s.app.client(s.owner_a).await;
    let sec = s.app.client(s.secretary).await;
    let street = s.app.client(s.street).await;
    let matter = propose(&a, c).await;
    to_public_review(&s, matter, Some(4)).await;
    let vote_id = ok(&open_vote(&sec, matter).await, StatusCode::CREATED)["id"]
        .as_i64()
        .unwrap();
    ok(
        &cast(&a, vote_id, json!({"choice": "against"})).await,
        StatusCode::CREATED,
    );
    let back = act(
        &street,
        matter,
        json!({"action": "send_back", "reason": "方案需补充费用测算"}),
    )
    .await;
    ok(&back, StatusCode::OK);
    let v = ok(
        &a.get(&format!("/api/v1/votes/{vote_id}")).await,
        StatusCode::OK,
    );
    assert_eq!(v["state"], "cancelled");
    assert_eq!(v["cancel_reason"], "方案需补充费用测算");
    let late = cast(
        &s.app.client(s.owner_b).await,
        vote_id,
        json!({"choice": "for"}),
    )
    .await;
    assert_eq!(api_error(&late).0, "vote_closed");
    // Back in public review, a new vote opens; the old one stays cancelled.
    let held_at = (Utc::now() - Duration::hours(1)).to_rfc3339();
    ok(
        &act(&sec, matter, json!({"action": "advance", "held_at": held_at, "minutes": "补充费用测算后再议。",
            "attendees": [{"party": "compound_party_org", "name": "王书记"}, {"party": "community", "name": "李主任"}]})).await,
        StatusCode::OK,
    );
    let second = ok(&open_vote(&sec, matter).await, StatusCode::CREATED)["id"]
        .as_i64()
        .unwrap();
    assert_ne!(second, vote_id);
    let page = a.get(&format!("/matters/{matter}")).await.text();
    assert!(page.contains("方案需补充费用测算"));
}

#[db_test]
async fn deemed_votes_need_a_full_voting_period(db: TestDb) {
    let s = setup(db).await;
    let c = s.t.compound.compound;
    let a = s.app.client(s.owner_a).await;
    let sec = s.app.client(s.secretary).await;
    ok(
        &sec.json(
            Method::PUT,
            &format!("/api/v1/places/{c}/deliberation-settings"),
            r#"{"deemed_votes": true, "min_publication_days": 7, "min_evaluation_respondents": 1}"#,
        )
        .await,
        StatusCode::OK,
    );
    let matter = propose(&a, c).await;
    to_public_review(&s, matter, Some(4)).await;
    let r = open_vote(&sec, matter).await; // one day
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(api_error(&r).1.contains("15"), "{}", r.text());
    assert_eq!(
        vote::Entity::find()
            .count(s.app.db.db.conn())
            .await
            .unwrap(),
        0
    );
}

#[db_test]
async fn a_changed_electorate_or_term_is_caught_by_verification(db: TestDb) {
    let s = setup(db).await;
    let c = s.t.compound.compound;
    let a = s.app.client(s.owner_a).await;
    let sec = s.app.client(s.secretary).await;
    let matter = propose(&a, c).await;
    to_public_review(&s, matter, Some(4)).await;
    let vote_id = ok(&open_vote(&sec, matter).await, StatusCode::CREATED)["id"]
        .as_i64()
        .unwrap();
    ok(
        &cast(&a, vote_id, json!({"choice": "for"})).await,
        StatusCode::CREATED,
    );
    let fine = ok(
        &sec.get(&format!("/api/v1/votes/{vote_id}/verify")).await,
        StatusCode::OK,
    );
    assert_eq!(fine["chain_valid"], true, "{fine}");
    // Someone enlarges A's flat in the vote's electorate.
    jinlin_deliberation::entity::vote_unit::Entity::update_many()
        .col_expr(
            jinlin_deliberation::entity::vote_unit::Column::AreaCentiM2,
            Expr::value(50_000),
        )
        .filter(
            jinlin_deliberation::entity::vote_unit::Column::DwellingId
                .eq(s.t.compound.dwellings[0]),
        )
        .exec(s.app.db.db.conn())
        .await
        .unwrap();
    let bad = ok(
        &sec.get(&format!("/api/v1/votes/{vote_id}/verify")).await,
        StatusCode::OK,
    );
    assert_eq!(bad["chain_valid"], false);
    // It cannot be closed either.
    ok(
        &cast(
            &s.app.client(s.owner_b).await,
            vote_id,
            json!({"choice": "for"}),
        )
        .await,
        StatusCode::CREATED,
    );
    let r = sec
        .json(Method::POST, &format!("/api/v1/votes/{vote_id}/close"), "")
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(api_error(&r).0, "vote_record_invalid");
    // Residents never see the head of an open vote.
    let open = ok(
        &a.get(&format!("/api/v1/votes/{vote_id}")).await,
        StatusCode::OK,
    );
    assert!(open["head_hash"].is_null());
}

/// Closes a vote as the system would once `later` has passed.
async fn close_later(app: &TestApp, vote_id: i64, later: Duration) {
    let tx = app.db.db.write().await.unwrap();
    jinlin_deliberation::votes::close_at(&tx, vote_id, Utc::now() + later)
        .await
        .unwrap_or_else(|e| panic!("close: {}", e.message));
    tx.commit().await.unwrap();
}
