//! Tests of volunteer teams and patrols: the journey from a team through
//! credited activities and a patrol shift whose incident becomes a
//! residents' matter, who may do what on every route, refused input that
//! stores nothing, and racing sign-ups for the last place.

use axum::http::{Method, StatusCode};
use chrono::{Duration, SecondsFormat, Utc};
use jinlin_kernel::auth::Role;
use jinlin_resident_matters::entity::matter;
use jinlin_testkit::fixtures::{Tree, account, tree};
use jinlin_testkit::{TestDb, db_test};
use jinlin_volunteers::entity::{
    patrol_log, patrol_shift, patrol_signup, volunteer_activity, volunteer_activity_credit,
    volunteer_member, volunteer_team,
};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::Value;

use crate::support::{TestApp, has_cjk};

struct People {
    district: i64,
    street: i64,
    other_street: i64,
    worker: i64,
    secretary: i64,
    secretary_n: i64,
    /// A resident of the compound who is not in the team.
    resident: i64,
    /// The leader, a party member of the compound.
    leader: i64,
    /// A member, resident of the compound.
    member: i64,
    /// A resident of a compound in another street.
    outsider: i64,
}

macro_rules! count {
    ($app:expr, $entity:ty) => {
        <$entity>::find().count($app.db.db.conn()).await.unwrap()
    };
}

async fn setup(db: TestDb) -> (TestApp, Tree, People) {
    let t = tree(&db.db).await;
    let d = &db.db;
    let c = t.compound;
    let p = People {
        district: account(d, "district", Role::DistrictAdmin, t.district).await,
        street: account(d, "street", Role::StreetAdmin, t.street).await,
        other_street: account(d, "other-street", Role::StreetAdmin, t.other_street).await,
        worker: account(d, "worker", Role::CommunityWorker, t.community).await,
        secretary: account(d, "secretary", Role::CompoundSecretary, c.compound).await,
        secretary_n: account(
            d,
            "secretary-n",
            Role::CompoundSecretary,
            t.neighbour.compound,
        )
        .await,
        resident: account(d, "resident", Role::Resident, c.dwellings[0]).await,
        leader: account(d, "leader", Role::PartyMember, c.dwellings[1]).await,
        member: account(d, "member", Role::Resident, c.dwellings[0]).await,
        outsider: account(d, "outsider", Role::Resident, t.far.dwellings[0]).await,
    };
    (TestApp::new(db), t, p)
}

async fn call(
    app: &TestApp,
    who: i64,
    method: Method,
    path: &str,
    body: &str,
) -> (StatusCode, Value) {
    let c = app.client(who).await;
    let r = if method == Method::GET {
        c.get(path).await
    } else if method == Method::DELETE {
        c.delete(path).await
    } else {
        c.json(method, path, body).await
    };
    let v = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (r.status, v)
}

fn ts(d: Duration) -> String {
    (Utc::now() + d).to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn message(v: &Value) -> String {
    v["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A patrol team at the compound led by `leader`, with `member` in it;
/// returns (team, leader's member id, member's member id).
async fn patrol_team(app: &TestApp, t: &Tree, p: &People) -> (i64, i64, i64) {
    let (s, v) = call(
        app,
        p.worker,
        Method::POST,
        "/api/v1/volunteer-teams",
        &format!(
            r#"{{"place_id": {}, "name": "萤火虫巡逻队", "kind": "patrol", "leader_account_id": {}}}"#,
            t.compound.compound, p.leader
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let team = v["id"].as_i64().unwrap();
    let (s, v) = call(
        app,
        p.leader,
        Method::POST,
        &format!("/api/v1/volunteer-teams/{team}/members"),
        &format!(r#"{{"account_id": {}}}"#, p.member),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let member = v["id"].as_i64().unwrap();
    let (_, v) = call(
        app,
        p.leader,
        Method::GET,
        &format!("/api/v1/volunteer-teams/{team}"),
        "",
    )
    .await;
    let leader = v["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["account_id"] == p.leader)
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    (team, leader, member)
}

async fn new_shift(app: &TestApp, p: &People, team: i64, start: Duration, slots: i64) -> i64 {
    let (s, v) = call(
        app,
        p.leader,
        Method::POST,
        &format!("/api/v1/volunteer-teams/{team}/shifts"),
        &format!(
            r#"{{"starts_at": "{}", "ends_at": "{}", "route": "1号楼—3号楼—东门", "slots": {slots}}}"#,
            ts(start),
            ts(start + Duration::hours(2))
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_i64().unwrap()
}

#[db_test]
async fn journey(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let (team, leader, member) = patrol_team(&app, &t, &p).await;

    // A name-only member, and an activity credited to three.
    let (s, v) = call(
        &app,
        p.leader,
        Method::POST,
        &format!("/api/v1/volunteer-teams/{team}/members"),
        r#"{"name": "王阿姨"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let auntie = v["id"].as_i64().unwrap();
    let today = Utc::now().date_naive();
    let (s, v) = call(
        &app,
        p.leader,
        Method::POST,
        &format!("/api/v1/volunteer-teams/{team}/activities"),
        &format!(
            r#"{{"held_on": "{today}", "title": "楼道清理", "credits": [{{"member_id": {leader}, "minutes": 90}}, {{"member_id": {member}, "minutes": 60}}, {{"member_id": {auntie}, "minutes": 30}}]}}"#
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    // A shift under way: sign up, check in twice, log an incident raised
    // as a matter, check out.
    let shift = new_shift(&app, &p, team, Duration::minutes(-10), 2).await;
    let base = format!("/api/v1/patrol-shifts/{shift}");
    let (s, v) = call(&app, p.member, Method::POST, &format!("{base}/signup"), "").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["signed_up"], 1);
    let (s, v) = call(&app, p.member, Method::POST, &format!("{base}/signup"), "").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["signed_up"], 1);
    let (s, v) = call(
        &app,
        p.member,
        Method::POST,
        &format!("{base}/check-in"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let first = v["mine"]["checked_in_at"].clone();
    assert!(first.is_string(), "{v}");
    let (s, v) = call(
        &app,
        p.member,
        Method::POST,
        &format!("{base}/check-in"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["mine"]["checked_in_at"], first);
    assert_eq!(count!(app, patrol_signup::Entity), 1);

    let (s, v) = call(
        &app,
        p.member,
        Method::POST,
        &format!("{base}/logs"),
        r#"{"body": "3号楼东侧路灯不亮，地面湿滑。", "raise": {"title": "3号楼东侧路灯损坏"}}"#,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let matter_id = v["matter_id"].as_i64().expect("matter raised");
    let m = matter::Entity::find_by_id(matter_id)
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.compound_id, t.compound.compound);
    assert_eq!(m.title, "3号楼东侧路灯损坏");
    let log = patrol_log::Entity::find()
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(log.matter_id, Some(matter_id));
    assert!(log.incident);

    let (s, v) = call(
        &app,
        p.member,
        Method::POST,
        &format!("{base}/check-out"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let patrolled = v["mine"]["minutes"].as_i64().unwrap();
    assert!((0..=120).contains(&patrolled), "{v}");
    assert_eq!(v["logs"][0]["matter_id"], matter_id);

    // Hours: the member's own, and the team's for the leader.
    let (s, v) = call(&app, p.member, Method::GET, "/api/v1/volunteers/me", "").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["minutes"], 60 + patrolled);
    assert_eq!(v["teams"][0]["id"], team);
    let (_, v) = call(
        &app,
        p.member,
        Method::GET,
        &format!("/api/v1/volunteer-teams/{team}"),
        "",
    )
    .await;
    let own: Vec<&Value> = v["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| !m["minutes"].is_null())
        .collect();
    assert_eq!(own.len(), 1, "a member sees only their own hours: {v}");
    assert!(v["team_minutes"].is_null());
    let (_, v) = call(
        &app,
        p.leader,
        Method::GET,
        &format!("/api/v1/volunteer-teams/{team}"),
        "",
    )
    .await;
    assert_eq!(v["team_minutes"], 180 + patrolled);
    assert_eq!(v["can_manage"], true);

    // Figures at every level.
    for place in [t.compound.compound, t.community, t.street, t.district] {
        let (s, v) = call(
            &app,
            p.district,
            Method::GET,
            &format!("/api/v1/volunteers/figures/{place}"),
            "",
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["teams"], 1, "{v}");
        assert_eq!(v["patrol_teams"], 1);
        assert_eq!(v["members"], 3);
        assert_eq!(v["activities"], 1);
        assert_eq!(v["minutes"], 180 + patrolled);
        assert_eq!(v["shifts"], 1);
        assert_eq!(v["shifts_covered"], 0);
    }
    let (_, v) = call(
        &app,
        p.district,
        Method::GET,
        &format!("/api/v1/volunteers/figures/{}", t.district),
        "",
    )
    .await;
    assert_eq!(v["children"][0]["place_id"], t.street);
}

#[db_test]
async fn access(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let (team, _, member) = patrol_team(&app, &t, &p).await;
    let shift = new_shift(&app, &p, team, Duration::hours(3), 3).await;

    // Forming a team: officials of the place only.
    let new_team = format!(
        r#"{{"place_id": {}, "name": "广场舞队", "kind": "dance"}}"#,
        t.compound.compound
    );
    for (who, want) in [
        (p.district, StatusCode::CREATED),
        (p.street, StatusCode::CREATED),
        (p.worker, StatusCode::CREATED),
        (p.secretary, StatusCode::CREATED),
        (p.resident, StatusCode::FORBIDDEN),
        (p.leader, StatusCode::FORBIDDEN),
        (p.secretary_n, StatusCode::NOT_FOUND),
        (p.other_street, StatusCode::NOT_FOUND),
        (p.outsider, StatusCode::NOT_FOUND),
    ] {
        let (s, v) = call(
            &app,
            who,
            Method::POST,
            "/api/v1/volunteer-teams",
            &new_team,
        )
        .await;
        assert_eq!(s, want, "create by {who}: {v}");
    }

    // Reading the team, its shift and its figures.
    let team_path = format!("/api/v1/volunteer-teams/{team}");
    let shift_path = format!("/api/v1/patrol-shifts/{shift}");
    let figures = format!("/api/v1/volunteers/figures/{}", t.compound.compound);
    for (who, read, fig) in [
        (p.district, StatusCode::OK, StatusCode::OK),
        (p.street, StatusCode::OK, StatusCode::OK),
        (p.worker, StatusCode::OK, StatusCode::OK),
        (p.secretary, StatusCode::OK, StatusCode::OK),
        (p.resident, StatusCode::OK, StatusCode::FORBIDDEN),
        (p.member, StatusCode::OK, StatusCode::FORBIDDEN),
        (p.secretary_n, StatusCode::NOT_FOUND, StatusCode::NOT_FOUND),
        (p.other_street, StatusCode::NOT_FOUND, StatusCode::NOT_FOUND),
        (p.outsider, StatusCode::NOT_FOUND, StatusCode::NOT_FOUND),
    ] {
        let (s, v) = call(&app, who, Method::GET, &team_path, "").await;
        assert_eq!(s, read, "team read by {who}: {v}");
        let (s, v) = call(&app, who, Method::GET, &shift_path, "").await;
        assert_eq!(s, read, "shift read by {who}: {v}");
        let (s, v) = call(&app, who, Method::GET, &figures, "").await;
        assert_eq!(s, fig, "figures by {who}: {v}");
    }
    let (s, _) = call(&app, p.outsider, Method::GET, "/api/v1/volunteer-teams", "").await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = call(&app, p.outsider, Method::GET, "/api/v1/volunteer-teams", "").await;
    assert_eq!(v.as_array().unwrap().len(), 0);

    // Managing: the leader and officials; members and residents 403,
    // outside 404.
    let today = Utc::now().date_naive();
    let activity = format!(
        r#"{{"held_on": "{today}", "title": "巡逻", "credits": [{{"member_id": {member}, "minutes": 30}}]}}"#
    );
    let shift_body = format!(
        r#"{{"starts_at": "{}", "ends_at": "{}", "route": "小区一圈", "slots": 2}}"#,
        ts(Duration::hours(5)),
        ts(Duration::hours(6))
    );
    for (who, want) in [
        (p.leader, StatusCode::CREATED),
        (p.worker, StatusCode::CREATED),
        (p.secretary, StatusCode::CREATED),
        (p.street, StatusCode::CREATED),
        (p.member, StatusCode::FORBIDDEN),
        (p.resident, StatusCode::FORBIDDEN),
        (p.other_street, StatusCode::NOT_FOUND),
        (p.outsider, StatusCode::NOT_FOUND),
    ] {
        let (s, v) = call(
            &app,
            who,
            Method::POST,
            &format!("{team_path}/activities"),
            &activity,
        )
        .await;
        assert_eq!(s, want, "activity by {who}: {v}");
        let (s, v) = call(
            &app,
            who,
            Method::POST,
            &format!("{team_path}/shifts"),
            &shift_body,
        )
        .await;
        assert_eq!(s, want, "shift by {who}: {v}");
        let (s, v) = call(
            &app,
            who,
            Method::POST,
            &format!("{team_path}/members"),
            &format!(r#"{{"name": "队员{who}"}}"#),
        )
        .await;
        assert_eq!(s, want, "member by {who}: {v}");
    }

    // Sign-up, check-in, check-out and logs: members only, and only their
    // own shift; outside 404.
    for (who, want) in [
        (p.resident, StatusCode::FORBIDDEN),
        (p.worker, StatusCode::FORBIDDEN),
        (p.secretary_n, StatusCode::NOT_FOUND),
        (p.outsider, StatusCode::NOT_FOUND),
    ] {
        for action in ["signup", "check-in", "check-out"] {
            let (s, v) = call(
                &app,
                who,
                Method::POST,
                &format!("{shift_path}/{action}"),
                "",
            )
            .await;
            assert_eq!(s, want, "{action} by {who}: {v}");
        }
        let (s, v) = call(
            &app,
            who,
            Method::POST,
            &format!("{shift_path}/logs"),
            r#"{"body": "正常"}"#,
        )
        .await;
        assert_eq!(s, want, "log by {who}: {v}");
    }
    let (s, v) = call(
        &app,
        p.member,
        Method::POST,
        &format!("{shift_path}/signup"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // Check-in opens half an hour before the start.
    let (s, v) = call(
        &app,
        p.member,
        Method::POST,
        &format!("{shift_path}/check-in"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(has_cjk(&message(&v)));

    // Leaving the team: the leader or officials.
    let (s, _) = call(
        &app,
        p.member,
        Method::DELETE,
        &format!("/api/v1/volunteer-members/{member}"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = call(
        &app,
        p.outsider,
        Method::DELETE,
        &format!("/api/v1/volunteer-members/{member}"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call(
        &app,
        p.leader,
        Method::DELETE,
        &format!("/api/v1/volunteer-members/{member}"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    // Unsigned requests.
    let r = app.get(&team_path).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[db_test]
async fn refused_input(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let (team, leader, member) = patrol_team(&app, &t, &p).await;
    let shift = new_shift(&app, &p, team, Duration::minutes(-5), 1).await;
    let base = format!("/api/v1/patrol-shifts/{shift}");

    // Checking in to a shift not yours: a member who did not sign up.
    let (s, v) = call(
        &app,
        p.leader,
        Method::POST,
        &format!("{base}/check-in"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert!(has_cjk(&message(&v)), "{v}");
    assert_eq!(count!(app, patrol_signup::Entity), 0);

    // Checking out before checking in.
    let (s, _) = call(&app, p.member, Method::POST, &format!("{base}/signup"), "").await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = call(
        &app,
        p.member,
        Method::POST,
        &format!("{base}/check-out"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(has_cjk(&message(&v)));
    let row = patrol_signup::Entity::find()
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    assert!(row.checked_out_at.is_none() && row.checked_in_at.is_none());

    // Signing up past the places.
    let (s, v) = call(&app, p.leader, Method::POST, &format!("{base}/signup"), "").await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(has_cjk(&message(&v)));
    assert_eq!(count!(app, patrol_signup::Entity), 1);

    // Credits over a day, negative, twice, or to a stranger.
    let today = Utc::now().date_naive();
    for credits in [
        format!(r#"[{{"member_id": {member}, "minutes": 1441}}]"#),
        format!(r#"[{{"member_id": {member}, "minutes": -30}}]"#),
        format!(
            r#"[{{"member_id": {member}, "minutes": 30}}, {{"member_id": {member}, "minutes": 30}}]"#
        ),
        r#"[{"member_id": 999999, "minutes": 30}]"#.to_string(),
        "[]".to_string(),
    ] {
        let (s, v) = call(
            &app,
            p.leader,
            Method::POST,
            &format!("/api/v1/volunteer-teams/{team}/activities"),
            &format!(r#"{{"held_on": "{today}", "title": "夜巡", "credits": {credits}}}"#),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{credits}: {v}");
        assert!(has_cjk(&message(&v)), "{v}");
    }
    assert_eq!(count!(app, volunteer_activity::Entity), 0);
    assert_eq!(count!(app, volunteer_activity_credit::Entity), 0);
    let _ = leader;

    // A shift that ends before it starts, too many places, on a dance team.
    let (s, v) = call(
        &app,
        p.leader,
        Method::POST,
        &format!("/api/v1/volunteer-teams/{team}/shifts"),
        &format!(
            r#"{{"starts_at": "{}", "ends_at": "{}", "route": "东门", "slots": 2}}"#,
            ts(Duration::hours(2)),
            ts(Duration::hours(1))
        ),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(has_cjk(&message(&v)));

    // An incident whose matter is refused stores no log entry either.
    let (s, _) = call(
        &app,
        p.member,
        Method::POST,
        &format!("{base}/check-in"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = call(
        &app,
        p.member,
        Method::POST,
        &format!("{base}/logs"),
        r#"{"body": "发现可疑人员", "raise": {"title": "可疑人员", "category": "no_such_category"}}"#,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(count!(app, patrol_log::Entity), 0);
    assert_eq!(count!(app, matter::Entity), 0);
}

#[db_test]
async fn racing_for_the_last_place(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let (team, _, _) = patrol_team(&app, &t, &p).await;
    let shift = new_shift(&app, &p, team, Duration::hours(2), 1).await;
    let path = format!("/api/v1/patrol-shifts/{shift}/signup");
    let c1 = app.client(p.leader).await;
    let c2 = app.client(p.member).await;
    let (x, y) = tokio::join!(
        c1.json(Method::POST, &path, ""),
        c2.json(Method::POST, &path, "")
    );
    let mut statuses = [x.status, y.status];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::CREATED, StatusCode::CONFLICT],
        "{} {}",
        x.text(),
        y.text()
    );
    assert_eq!(count!(app, patrol_signup::Entity), 1);
    // The shift is counted once, and covered: its one place is taken.
    let (s, v) = call(
        &app,
        p.district,
        Method::GET,
        &format!("/api/v1/volunteers/figures/{}", t.compound.compound),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["shifts"], 1);
    assert_eq!(v["shifts_covered"], 1);
}

#[db_test]
async fn the_small_demo_has_patrols_with_hours(t: TestDb) {
    let secrets = jinlin_kernel::crypto::Secrets::from_bytes([7; 32]);
    jinlin::demo::load_once_at(&t.db, Some(&secrets), jinlin_seed::plan::Scale::Small)
        .await
        .unwrap();
    let db = t.db.conn();
    let teams = volunteer_team::Entity::find().all(db).await.unwrap();
    let streets: std::collections::HashSet<Option<i64>> = teams
        .iter()
        .filter(|t| t.kind == "patrol")
        .map(|t| t.street_id)
        .collect();
    assert!(streets.len() >= 2, "a patrol team in every street");
    let members = volunteer_member::Entity::find().all(db).await.unwrap();
    assert!(
        members
            .iter()
            .any(|m| m.party_member && m.account_id.is_some())
    );
    assert!(
        members
            .iter()
            .any(|m| !m.party_member && m.account_id.is_some())
    );
    assert!(
        volunteer_activity_credit::Entity::find()
            .count(db)
            .await
            .unwrap()
            > 0
    );
    let now = Utc::now();
    let shifts = patrol_shift::Entity::find().all(db).await.unwrap();
    assert!(shifts.iter().any(|s| s.starts_at > now));
    let signups = patrol_signup::Entity::find().all(db).await.unwrap();
    // A shift about to start, check-in open already, every place free.
    assert!(shifts.iter().any(|s| {
        s.starts_at > now
            && s.starts_at <= now + Duration::minutes(30)
            && !signups.iter().any(|x| x.shift_id == s.id)
    }));
    assert!(
        signups
            .iter()
            .any(|s| s.minutes > 0 && s.checked_out_at.is_some())
    );
    assert!(patrol_log::Entity::find().count(db).await.unwrap() > 0);

    // The counters kept for the figures match the rows.
    let activities = volunteer_activity::Entity::find().all(db).await.unwrap();
    let credits = volunteer_activity_credit::Entity::find()
        .all(db)
        .await
        .unwrap();
    for a in &activities {
        let sum: i32 = credits
            .iter()
            .filter(|c| c.activity_id == a.id)
            .map(|c| c.minutes)
            .sum();
        assert_eq!(a.minutes, sum);
    }
    for s in &shifts {
        let mine = signups.iter().filter(|x| x.shift_id == s.id);
        assert_eq!(s.signed_up, mine.clone().count() as i32);
        assert_eq!(s.minutes, mine.map(|x| x.minutes).sum::<i32>());
    }
    // The database's figures match a count by hand at every level.
    let by_hand = |keep: &dyn Fn(&volunteer_team::Model) -> bool| {
        let ids: Vec<i64> = teams.iter().filter(|t| keep(t)).map(|t| t.id).collect();
        let of_teams: Vec<&volunteer_member::Model> = members
            .iter()
            .filter(|m| ids.contains(&m.team_id))
            .collect();
        let member_ids: Vec<i64> = of_teams.iter().map(|m| m.id).collect();
        let current: Vec<&&volunteer_member::Model> =
            of_teams.iter().filter(|m| m.left_on.is_none()).collect();
        let team_shifts: Vec<&patrol_shift::Model> =
            shifts.iter().filter(|s| ids.contains(&s.team_id)).collect();
        let minutes: i64 = credits
            .iter()
            .filter(|c| member_ids.contains(&c.member_id))
            .map(|c| c.minutes as i64)
            .sum::<i64>()
            + signups
                .iter()
                .filter(|x| member_ids.contains(&x.member_id))
                .map(|x| x.minutes as i64)
                .sum::<i64>();
        (
            ids.len() as u64,
            current.len() as u64,
            current.iter().filter(|m| m.party_member).count() as u64,
            activities
                .iter()
                .filter(|a| ids.contains(&a.team_id))
                .count() as u64,
            minutes,
            team_shifts.len() as u64,
            team_shifts
                .iter()
                .filter(|s| signups.iter().filter(|x| x.shift_id == s.id).count() as i32 >= s.slots)
                .count() as u64,
        )
    };
    let of = |f: &jinlin_volunteers::api::Figure| {
        (
            f.teams,
            f.members,
            f.party_members,
            f.activities,
            f.minutes,
            f.shifts,
            f.shifts_covered,
        )
    };
    let district = jinlin_kernel::place::entity::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.kind == "district")
        .unwrap();
    let f = jinlin_volunteers::api::figures_of(db, &district)
        .await
        .unwrap();
    assert_eq!(of(&f.place), by_hand(&|_| true));
    assert!(f.place.minutes > 0 && f.place.shifts > 0);
    for street in &f.children {
        assert_eq!(
            of(street),
            by_hand(&|t| t.street_id == Some(street.place_id))
        );
        let p = jinlin_places::store::find(db, street.place_id)
            .await
            .unwrap()
            .unwrap();
        let f = jinlin_volunteers::api::figures_of(db, &p).await.unwrap();
        assert_eq!(of(&f.place), by_hand(&|t| t.street_id == Some(p.id)));
        for c in &f.children {
            assert_eq!(of(c), by_hand(&|t| t.community_id == Some(c.place_id)));
        }
    }
}

#[db_test]
async fn pages_render_in_both_languages_for_the_right_roles(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let (team, _, _) = patrol_team(&app, &t, &p).await;
    let shift = new_shift(&app, &p, team, Duration::minutes(-10), 2).await;
    let (s, _) = call(
        &app,
        p.member,
        Method::POST,
        &format!("/api/v1/patrol-shifts/{shift}/signup"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);

    let member = app.client(p.member).await;
    let zh = member.get("/volunteers").await;
    assert_eq!(zh.status, StatusCode::OK);
    assert!(zh.text().contains("我的服务时长"), "{}", zh.text());
    assert!(zh.text().contains("萤火虫巡逻队"));
    assert!(zh.text().contains("签到"));
    let en = member.get_en("/volunteers").await;
    assert!(en.text().contains("My volunteering hours"));
    assert!(en.text().contains("Check in"));

    // Officials see the figures of their scope.
    let worker = app.client(p.worker).await;
    let zh = worker.get("/volunteers").await;
    assert!(zh.text().contains("志愿服务统计"), "{}", zh.text());
    let en = worker.get_en("/volunteers").await;
    assert!(en.text().contains("Volunteering figures"));
    assert!(en.text().contains("Shifts covered"));

    let team_page = format!("/volunteer-teams/{team}");
    let shift_page = format!("/patrol-shifts/{shift}");
    let place_page = format!("/places/{}/volunteer-teams", t.compound.compound);
    for who in [
        p.district,
        p.street,
        p.worker,
        p.secretary,
        p.leader,
        p.member,
        p.resident,
    ] {
        let c = app.client(who).await;
        for path in [&team_page, &shift_page, &place_page] {
            let zh = c.get(path).await;
            assert_eq!(zh.status, StatusCode::OK, "{path} for {who}");
            assert!(zh.text().contains("萤火虫巡逻队"), "{path} for {who}");
            let en = c.get_en(path).await;
            assert_eq!(en.status, StatusCode::OK, "{path} for {who}");
        }
    }
    for who in [p.secretary_n, p.other_street, p.outsider] {
        let c = app.client(who).await;
        for path in [&team_page, &shift_page, &place_page] {
            assert_eq!(
                c.get(path).await.status,
                StatusCode::NOT_FOUND,
                "{path} for {who}"
            );
        }
    }

    // The team page in English with the leader's forms; a resident gets
    // none of them.
    let leader = app.client(p.leader).await;
    let en = leader.get_en(&team_page).await;
    assert!(en.text().contains("Record an activity"));
    assert!(en.text().contains("New shift"));
    assert!(en.text().contains("Leader"));
    let zh = app.client(p.resident).await.get(&team_page).await;
    assert!(!zh.text().contains("记录活动"));
    assert!(zh.text().contains("排班表"));

    // The shift page: the signed-up member gets the log form.
    let zh = member.get(&shift_page).await;
    assert!(zh.text().contains("作为居民诉求上报"), "{}", zh.text());
    let en = member.get_en(&shift_page).await;
    assert!(en.text().contains("Raise as a residents"));
    assert!(en.text().contains("Patrol log"));

    // The place page: officials get the new-team form.
    let zh = worker.get(&place_page).await;
    assert!(zh.text().contains("成立志愿服务队"));
    let en = worker.get_en(&place_page).await;
    assert!(en.text().contains("Form a team"));
    let zh = app.client(p.resident).await.get(&place_page).await;
    assert!(!zh.text().contains("成立志愿服务队"));

    // Signed out: no page.
    let r = app.get("/volunteers").await;
    assert_ne!(r.status, StatusCode::OK);
}

#[db_test]
async fn forms_change_what_my_volunteering_reports(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let worker = app.client(p.worker).await;

    // A team formed from the place page, a member added by username.
    let r = worker
        .form(
            "/volunteer-teams",
            &[
                ("place_id", &t.compound.compound.to_string()),
                ("name", "萤火虫巡逻队"),
                ("kind", "patrol"),
                ("leader", "leader"),
            ],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let team = r
        .header("location")
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .parse::<i64>()
        .unwrap();
    let leader = app.client(p.leader).await;
    let r = leader
        .form(
            &format!("/volunteer-teams/{team}/members"),
            &[("account", "member"), ("name", "")],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());

    // A shift from the form, in China time, under way now.
    let china = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let local = |d: Duration| {
        (Utc::now() + d)
            .with_timezone(&china)
            .format("%Y-%m-%dT%H:%M")
            .to_string()
    };
    let r = leader
        .form(
            &format!("/volunteer-teams/{team}/shifts"),
            &[
                ("starts_at", &local(Duration::minutes(-10))),
                ("ends_at", &local(Duration::minutes(110))),
                ("route", "东门—3号楼"),
                ("slots", "2"),
            ],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let shift = r
        .header("location")
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .parse::<i64>()
        .unwrap();

    // Without the csrf field nothing is signed up.
    let member = app.client(p.member).await;
    let signup = format!("/patrol-shifts/{shift}/signup");
    let r = member.form(&signup, &[], false).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(count!(app, patrol_signup::Entity), 0);
    let (_, me) = call(&app, p.member, Method::GET, "/api/v1/volunteers/me", "").await;
    assert_eq!(me["next_shifts"].as_array().unwrap().len(), 0, "{me}");

    // Sign up, then check in, from the forms.
    let r = member.form(&signup, &[("back", "/volunteers")], true).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(r.header("location").unwrap(), "/volunteers");
    let (_, me) = call(&app, p.member, Method::GET, "/api/v1/volunteers/me", "").await;
    assert_eq!(me["next_shifts"][0]["id"], shift, "{me}");
    assert!(me["next_shifts"][0]["mine"]["checked_in_at"].is_null());
    let check_in = format!("/patrol-shifts/{shift}/check-in");
    let r = member.form(&check_in, &[], false).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = member.form(&check_in, &[], true).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let (_, me) = call(&app, p.member, Method::GET, "/api/v1/volunteers/me", "").await;
    assert!(
        me["next_shifts"][0]["mine"]["checked_in_at"].is_string(),
        "{me}"
    );

    // A log entry raised as a residents' matter, then check out.
    let r = member
        .form(
            &format!("/patrol-shifts/{shift}/logs"),
            &[
                ("body", "3号楼东侧路灯不亮"),
                ("incident", "on"),
                ("raise", "on"),
                ("category", "safety_hazard"),
                ("title", ""),
            ],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(count!(app, matter::Entity), 1);
    let log = patrol_log::Entity::find()
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    assert!(log.incident && log.matter_id.is_some());
    let r = member
        .form(&format!("/patrol-shifts/{shift}/check-out"), &[], true)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let (_, me) = call(&app, p.member, Method::GET, "/api/v1/volunteers/me", "").await;
    assert!(
        me["next_shifts"][0]["mine"]["checked_out_at"].is_string(),
        "{me}"
    );
    let patrolled = me["minutes"].as_i64().unwrap();

    // An activity with credits from the fixed rows adds to the hours.
    let (_, v) = call(
        &app,
        p.leader,
        Method::GET,
        &format!("/api/v1/volunteer-teams/{team}"),
        "",
    )
    .await;
    let member_id = v["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["account_id"] == p.member)
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let today = Utc::now().with_timezone(&china).date_naive().to_string();
    let r = leader
        .form(
            &format!("/volunteer-teams/{team}/activities"),
            &[
                ("held_on", &today),
                ("title", "楼道清理"),
                ("member_0", &member_id.to_string()),
                ("minutes_0", "45"),
                ("member_1", ""),
                ("minutes_1", ""),
            ],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let (_, me) = call(&app, p.member, Method::GET, "/api/v1/volunteers/me", "").await;
    assert_eq!(me["minutes"], patrolled + 45, "{me}");

    // Refused input on a form: a message in the reader's language, nothing
    // stored.
    let r = leader
        .form(
            &format!("/volunteer-teams/{team}/activities"),
            &[
                ("held_on", &today),
                ("title", "夜巡"),
                ("member_0", &member_id.to_string()),
                ("minutes_0", "2000"),
            ],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(has_cjk(&r.text()));
    assert_eq!(count!(app, volunteer_activity::Entity), 1);
    // Members cannot record activities.
    let r = member
        .form(
            &format!("/volunteer-teams/{team}/activities"),
            &[("held_on", &today), ("title", "夜巡")],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[db_test]
async fn the_openapi_document_lists_the_volunteers_routes(db: TestDb) {
    let app = TestApp::new(db);
    let doc = app.get("/api/v1/openapi.json").await.json();
    for (path, method) in [
        ("/api/v1/volunteer-teams", "get"),
        ("/api/v1/volunteer-teams", "post"),
        ("/api/v1/volunteer-teams/{id}", "get"),
        ("/api/v1/volunteer-teams/{id}/members", "post"),
        ("/api/v1/volunteer-members/{id}", "delete"),
        ("/api/v1/volunteer-teams/{id}/activities", "post"),
        ("/api/v1/volunteer-teams/{id}/shifts", "post"),
        ("/api/v1/patrol-shifts/{id}", "get"),
        ("/api/v1/patrol-shifts/{id}/signup", "post"),
        ("/api/v1/patrol-shifts/{id}/check-in", "post"),
        ("/api/v1/patrol-shifts/{id}/check-out", "post"),
        ("/api/v1/patrol-shifts/{id}/logs", "post"),
        ("/api/v1/volunteers/me", "get"),
        ("/api/v1/volunteers/figures/{place_id}", "get"),
    ] {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path}");
        assert_eq!(op["tags"][0], "volunteers", "{method} {path}");
    }
    assert!(doc["components"]["schemas"]["ShiftDetail"].is_object());
    assert!(doc["components"]["schemas"]["MyVolunteering"].is_object());
}
