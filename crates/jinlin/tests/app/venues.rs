//! Tests of venues: the journey from venues through bookings, cancellation,
//! usage and the place's calendar feed; who may do what on every route;
//! refused input that stores nothing; two bookings of one slot at once;
//! usage figures by hand. The feeds themselves are tested in calendars.rs.

use axum::http::{Method, StatusCode};
use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use icalendar::{Calendar, CalendarComponent, CalendarDateTime, Component, DatePerhapsTime};
use jinlin_kernel::auth::Role;
use jinlin_testkit::fixtures::{Tree, account, tree};
use jinlin_testkit::{TestDb, db_test};
use jinlin_venues::entity::{venue, venue_booking};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::support::{TestApp, api_error, has_cjk};

struct People {
    district: i64,
    street: i64,
    other_street: i64,
    worker: i64,
    other_worker: i64,
    secretary: i64,
    secretary_n: i64,
    property: i64,
    resident: i64,
    far_resident: i64,
}

macro_rules! count {
    ($app:expr, $entity:ty) => {
        <$entity>::find().count($app.db.db.conn()).await.unwrap()
    };
}

async fn setup(db: TestDb) -> (TestApp, Tree, People) {
    let t = tree(&db.db).await;
    let d = &db.db;
    let p = People {
        district: account(d, "district", Role::DistrictAdmin, t.district).await,
        street: account(d, "street", Role::StreetAdmin, t.street).await,
        other_street: account(d, "other-street", Role::StreetAdmin, t.other_street).await,
        worker: account(d, "worker", Role::CommunityWorker, t.community).await,
        other_worker: account(d, "other-worker", Role::CommunityWorker, t.other_community).await,
        secretary: account(d, "secretary", Role::CompoundSecretary, t.compound.compound).await,
        secretary_n: account(
            d,
            "secretary-n",
            Role::CompoundSecretary,
            t.neighbour.compound,
        )
        .await,
        property: account(d, "property", Role::PropertyStaff, t.compound.compound).await,
        resident: account(d, "resident", Role::Resident, t.compound.dwellings[0]).await,
        far_resident: account(d, "far-resident", Role::Resident, t.far.dwellings[0]).await,
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
    } else {
        c.json(method, path, body).await
    };
    let v = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (r.status, v)
}

fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap()
}

/// Next week's Monday in China time.
fn next_monday() -> NaiveDate {
    let today = Utc::now().with_timezone(&china()).date_naive();
    today + Duration::days(7 - today.weekday().num_days_from_monday() as i64)
}

/// A China-time instant on `day` at `hh:mm`, in UTC.
fn local(day: NaiveDate, hh: u32, mm: u32) -> DateTime<Utc> {
    china()
        .from_local_datetime(&day.and_hms_opt(hh, mm, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

fn venue_body(name: &str, kind: &str, capacity: i64) -> String {
    // Monday to Friday 08:30–12:00 and 14:00–21:00; Saturday 09:00–17:00.
    let mut hours = Vec::new();
    for d in 1..=5 {
        hours.push(json!({"weekday": d, "open": "08:30", "close": "12:00"}));
        hours.push(json!({"weekday": d, "open": "14:00", "close": "21:00"}));
    }
    hours.push(json!({"weekday": 6, "open": "09:00", "close": "17:00"}));
    json!({
        "name": name, "kind": kind, "capacity": capacity,
        "opening_hours": hours, "facilities": ["投影仪", "音响", "无障碍通道"]
    })
    .to_string()
}

async fn new_venue(app: &TestApp, who: i64, place: i64, name: &str, kind: &str) -> i64 {
    let (s, v) = call(
        app,
        who,
        Method::POST,
        &format!("/api/v1/places/{place}/venues"),
        &venue_body(name, kind, 60),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_i64().unwrap()
}

fn booking_body(start: DateTime<Utc>, end: DateTime<Utc>, title: &str, people: i64) -> String {
    json!({
        "starts_at": start, "ends_at": end, "purpose": "meeting", "title": title,
        "organiser_name": "金山社区党委", "expected_attendance": people
    })
    .to_string()
}

async fn book(
    app: &TestApp,
    who: i64,
    venue: i64,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    title: &str,
) -> (StatusCode, Value) {
    call(
        app,
        who,
        Method::POST,
        &format!("/api/v1/venues/{venue}/bookings"),
        &booking_body(start, end, title, 20),
    )
    .await
}

#[db_test]
async fn venues_are_booked_cancelled_counted_and_published(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let centre = new_venue(
        &app,
        p.worker,
        t.community,
        "金山社区党群服务中心",
        "service_centre",
    )
    .await;
    let floor = new_venue(
        &app,
        p.secretary,
        t.compound.compound,
        "金山花园架空层",
        "open_ground_floor",
    )
    .await;

    // The venue reads back with its schedule in China time.
    let (s, v) = call(
        &app,
        p.resident,
        Method::GET,
        &format!("/api/v1/venues/{centre}"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["kind"], "service_centre");
    assert_eq!(
        v["opening_hours"][0],
        json!({"weekday": 1, "open": "08:30", "close": "12:00"})
    );
    assert_eq!(v["can_book"], false);

    // The community lists both; the compound only its own.
    let (_, v) = call(
        &app,
        p.worker,
        Method::GET,
        &format!("/api/v1/places/{}/venues", t.community),
        "",
    )
    .await;
    assert_eq!(v.as_array().unwrap().len(), 2);
    let (_, v) = call(
        &app,
        p.secretary,
        Method::GET,
        &format!("/api/v1/places/{}/venues", t.compound.compound),
        "",
    )
    .await;
    assert_eq!(v.as_array().unwrap().len(), 1);

    // Bookings: the compound secretary books the community's centre.
    let mon = next_monday();
    let (s, v) = book(
        &app,
        p.secretary,
        centre,
        local(mon, 9, 0),
        local(mon, 11, 0),
        "金山花园党支部主题党日",
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let first = v["id"].as_i64().unwrap();
    // Touching the first booking is no conflict.
    let (s, v) = book(
        &app,
        p.worker,
        centre,
        local(mon, 11, 0),
        local(mon, 12, 0),
        "四点钟学校家长会",
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let second = v["id"].as_i64().unwrap();
    let (s, v) = book(
        &app,
        p.secretary,
        floor,
        local(mon, 14, 0),
        local(mon, 16, 0),
        "长者太极拳",
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    // Residents see titles and times, not organisers.
    let path = format!("/api/v1/venues/{centre}/bookings?from={mon}&to={mon}");
    let (s, v) = call(&app, p.resident, Method::GET, &path, "").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert_eq!(v[0]["title"], "金山花园党支部主题党日");
    assert_eq!(v[0]["organiser_name"], Value::Null);
    assert_eq!(v[0]["organiser_account_id"], Value::Null);
    let (_, v) = call(&app, p.worker, Method::GET, &path, "").await;
    assert_eq!(v[0]["organiser_name"], "金山社区党委");
    assert_eq!(v[0]["organiser_account_id"], p.secretary);

    // Cancelling frees the slot.
    let (s, v) = call(
        &app,
        p.worker,
        Method::POST,
        &format!("/api/v1/venue-bookings/{second}/cancel"),
        r#"{"reason": "家长会改期"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (s, _) = call(
        &app,
        p.worker,
        Method::POST,
        &format!("/api/v1/venue-bookings/{second}/cancel"),
        r#"{"reason": "再次取消"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (_, v) = call(&app, p.worker, Method::GET, &path, "").await;
    assert_eq!(v[1]["state"], "cancelled");
    assert_eq!(v[1]["cancel_reason"], "家长会改期");
    let (s, v) = book(
        &app,
        p.worker,
        centre,
        local(mon, 11, 0),
        local(mon, 11, 45),
        "网格员例会",
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    // Changing a venue.
    let (s, v) = call(
        &app,
        p.worker,
        Method::PUT,
        &format!("/api/v1/venues/{centre}"),
        &venue_body("金山社区党群活动服务中心", "service_centre", 80),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (_, v) = call(
        &app,
        p.worker,
        Method::GET,
        &format!("/api/v1/venues/{centre}"),
        "",
    )
    .await;
    assert_eq!(v["capacity"], 80);
    assert_eq!(v["facilities"], json!(["投影仪", "音响", "无障碍通道"]));

    // Usage of the week at the community: 2 h + 0.75 h at the centre and
    // 2 h on the floor; each venue opens 5 × 10.5 h + 8 h = 60.5 h.
    let sun = mon + Duration::days(6);
    let (s, v) = call(
        &app,
        p.worker,
        Method::GET,
        &format!(
            "/api/v1/places/{}/venue-usage?from={mon}&to={sun}",
            t.community
        ),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["total"]["bookings"], 3);
    assert_eq!(v["total"]["booked_hours"], 4.8);
    assert_eq!(v["total"]["open_hours"], 121.0);
    // 4.75 / 121 = 3.93 %
    assert_eq!(v["total"]["utilisation"], "3.9%");
    let centre_line = v["venues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == centre)
        .unwrap();
    assert_eq!(centre_line["bookings"], 2);
    assert_eq!(centre_line["utilisation"], "4.5%");
    // By compound (and the community itself for its own venue).
    assert_eq!(v["children"].as_array().unwrap().len(), 2);
    // The street sees the same totals under the community.
    let (s, v) = call(
        &app,
        p.street,
        Method::GET,
        &format!(
            "/api/v1/places/{}/venue-usage?from={mon}&to={sun}",
            t.street
        ),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["children"][0]["id"], t.community);
    assert_eq!(v["children"][0]["bookings"], 3);

    // The feed of the community by session, and by token.
    let r = app
        .client(p.resident)
        .await
        .get(&format!("/calendars/places/{}.ics", t.community))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let text = String::from_utf8(r.body.to_vec()).unwrap();
    let events = parse(&text);
    // The resident sees the community's centre and their own compound's floor.
    assert_eq!(events.len(), 4, "{text}");
    let _ = first;
}

/// (uid, summary, start, end, status) of one event.
type Event = (String, String, DateTime<Utc>, DateTime<Utc>, String);

/// Each event of a feed, via the parser.
fn parse(text: &str) -> Vec<Event> {
    assert!(text.contains("\r\n"));
    let cal: Calendar = text.parse().expect("a valid iCalendar");
    let utc = |d: Option<DatePerhapsTime>| match d {
        Some(DatePerhapsTime::DateTime(CalendarDateTime::Utc(t))) => t,
        other => panic!("not a UTC date-time: {other:?}"),
    };
    cal.components
        .iter()
        .filter_map(|c| match c {
            CalendarComponent::Event(e) => Some((
                e.get_uid().unwrap().to_string(),
                e.get_summary().unwrap().to_string(),
                utc(e.get_start()),
                utc(e.get_end()),
                e.property_value("STATUS").unwrap().to_string(),
            )),
            _ => None,
        })
        .collect()
}

#[db_test]
async fn refused_bookings_store_nothing(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let centre = new_venue(
        &app,
        p.worker,
        t.community,
        "金山社区党群服务中心",
        "service_centre",
    )
    .await;
    let mon = next_monday();
    let (s, _) = book(
        &app,
        p.worker,
        centre,
        local(mon, 9, 0),
        local(mon, 11, 0),
        "主题党日",
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let before = count!(app, venue_booking::Entity);
    let c = app.client(p.worker).await;

    // Double booking: 409 naming the booking it meets.
    let r = c
        .json(
            Method::POST,
            &format!("/api/v1/venues/{centre}/bookings"),
            &booking_body(local(mon, 10, 30), local(mon, 11, 30), "另一场会议", 10),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let (code, msg) = api_error(&r);
    assert_eq!(code, "booking_conflict");
    assert!(
        has_cjk(&msg) && msg.contains("主题党日") && msg.contains("09:00–11:00"),
        "{msg}"
    );

    let cases = [
        // Lunch break.
        (
            local(mon, 11, 30),
            local(mon, 14, 30),
            10,
            "不在场地开放时间内",
        ),
        // Sunday is closed.
        (
            local(mon + Duration::days(6), 10, 0),
            local(mon + Duration::days(6), 11, 0),
            10,
            "不在场地开放时间内",
        ),
        (local(mon, 15, 0), local(mon, 16, 0), 61, "超过场地容纳人数"),
        (
            local(mon, 16, 0),
            local(mon, 15, 0),
            10,
            "结束时间须晚于开始时间",
        ),
        (local(mon, 15, 0), local(mon, 15, 10), 10, "至少 15 分钟"),
    ];
    for (start, end, people, text) in cases {
        let r = c
            .json(
                Method::POST,
                &format!("/api/v1/venues/{centre}/bookings"),
                &booking_body(start, end, "活动", people),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{text}");
        let (_, msg) = api_error(&r);
        assert!(msg.contains(text), "{msg}");
    }
    // An unknown purpose and a missing title.
    let r = c
        .json(
            Method::POST,
            &format!("/api/v1/venues/{centre}/bookings"),
            &booking_body(local(mon, 15, 0), local(mon, 16, 0), "活动", 10)
                .replace("meeting", "party"),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = c
        .json(
            Method::POST,
            &format!("/api/v1/venues/{centre}/bookings"),
            &booking_body(local(mon, 15, 0), local(mon, 16, 0), "  ", 10),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(count!(app, venue_booking::Entity), before);

    // Venues: an unknown kind (a Chinese message), bad capacity and hours.
    let venues = count!(app, venue::Entity);
    let path = format!("/api/v1/places/{}/venues", t.community);
    let r = c
        .json(Method::POST, &path, &venue_body("礼堂", "ballroom", 50))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(has_cjk(&api_error(&r).1));
    let r = c
        .json(Method::POST, &path, &venue_body("礼堂", "public_room", 0))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(api_error(&r).1.contains("10000"));
    let r = c
        .json(
            Method::POST,
            &path,
            &venue_body("礼堂", "public_room", 10_001),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad_hours = json!({"name": "礼堂", "kind": "public_room", "capacity": 50,
        "opening_hours": [{"weekday": 1, "open": "08:00", "close": "12:00"}, {"weekday": 1, "open": "11:00", "close": "13:00"}]});
    let r = c.json(Method::POST, &path, &bad_hours.to_string()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(api_error(&r).1.contains("重叠"));
    let bad_day = json!({"name": "礼堂", "kind": "public_room", "capacity": 50,
        "opening_hours": [{"weekday": 8, "open": "08:00", "close": "12:00"}]});
    assert_eq!(
        c.json(Method::POST, &path, &bad_day.to_string())
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // Venues belong to compounds and communities only.
    let r = c
        .json(
            Method::POST,
            &format!("/api/v1/places/{}/venues", t.compound.building),
            &venue_body("楼道", "other", 5),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(count!(app, venue::Entity), venues);

    // A closed venue takes no bookings.
    let mut closed: Value =
        serde_json::from_str(&venue_body("金山社区党群服务中心", "service_centre", 60)).unwrap();
    closed["active"] = json!(false);
    assert_eq!(
        c.json(
            Method::PUT,
            &format!("/api/v1/venues/{centre}"),
            &closed.to_string()
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    let r = c
        .json(
            Method::POST,
            &format!("/api/v1/venues/{centre}/bookings"),
            &booking_body(local(mon, 15, 0), local(mon, 16, 0), "活动", 10),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(count!(app, venue_booking::Entity), before);

    // Date ranges.
    assert_eq!(
        c.get(&format!(
            "/api/v1/venues/{centre}/bookings?from=2026-03-10&to=2026-03-01"
        ))
        .await
        .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        c.get(&format!("/api/v1/venues/{centre}/bookings?from=yesterday"))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
}

#[db_test]
async fn two_bookings_of_one_slot_at_once_leave_one(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let centre = new_venue(
        &app,
        p.worker,
        t.community,
        "金山社区党群服务中心",
        "service_centre",
    )
    .await;
    let mon = next_monday();
    let path = format!("/api/v1/venues/{centre}/bookings");
    let x = app.client(p.worker).await;
    let y = app.client(p.secretary).await;
    let bx = booking_body(local(mon, 9, 0), local(mon, 11, 0), "社区议事会", 10);
    let by = booking_body(local(mon, 10, 0), local(mon, 12, 0), "支部委员会", 10);
    let (rx, ry) = tokio::join!(
        x.json(Method::POST, &path, &bx),
        y.json(Method::POST, &path, &by)
    );
    let mut statuses = [rx.status, ry.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::CREATED, StatusCode::CONFLICT]);
    assert_eq!(count!(app, venue_booking::Entity), 1);
}

#[db_test]
async fn every_route_answers_by_scope_and_role(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let centre = new_venue(
        &app,
        p.worker,
        t.community,
        "金山社区党群服务中心",
        "service_centre",
    )
    .await;
    let floor = new_venue(
        &app,
        p.secretary,
        t.compound.compound,
        "金山花园架空层",
        "open_ground_floor",
    )
    .await;
    let mon = next_monday();
    let mut slot = 0;
    let mut next_slot = || {
        slot += 1;
        let day = mon + Duration::days(slot / 4);
        let h = 14 + (slot % 4) as u32;
        (local(day, h, 0), local(day, h, 45))
    };
    let (s0, e0) = next_slot();
    let (_, v) = book(&app, p.worker, centre, s0, e0, "样例").await;
    let booking = v["id"].as_i64().unwrap();

    use StatusCode as S;
    // (who, reads the centre, reads the floor, books the centre, books the floor, manages the centre, usage at the community)
    let rows = [
        (
            p.district,
            S::OK,
            S::OK,
            S::CREATED,
            S::CREATED,
            S::NO_CONTENT,
            S::OK,
        ),
        (
            p.street,
            S::OK,
            S::OK,
            S::CREATED,
            S::CREATED,
            S::NO_CONTENT,
            S::OK,
        ),
        (
            p.other_street,
            S::NOT_FOUND,
            S::NOT_FOUND,
            S::NOT_FOUND,
            S::NOT_FOUND,
            S::NOT_FOUND,
            S::NOT_FOUND,
        ),
        (
            p.worker,
            S::OK,
            S::OK,
            S::CREATED,
            S::CREATED,
            S::NO_CONTENT,
            S::OK,
        ),
        (
            p.other_worker,
            S::NOT_FOUND,
            S::NOT_FOUND,
            S::NOT_FOUND,
            S::NOT_FOUND,
            S::NOT_FOUND,
            S::NOT_FOUND,
        ),
        (
            p.secretary,
            S::OK,
            S::OK,
            S::CREATED,
            S::CREATED,
            S::FORBIDDEN,
            S::FORBIDDEN,
        ),
        (
            p.secretary_n,
            S::OK,
            S::NOT_FOUND,
            S::CREATED,
            S::NOT_FOUND,
            S::FORBIDDEN,
            S::FORBIDDEN,
        ),
        (
            p.property,
            S::OK,
            S::OK,
            S::FORBIDDEN,
            S::FORBIDDEN,
            S::FORBIDDEN,
            S::FORBIDDEN,
        ),
        (
            p.resident,
            S::OK,
            S::OK,
            S::FORBIDDEN,
            S::FORBIDDEN,
            S::FORBIDDEN,
            S::FORBIDDEN,
        ),
        (
            p.far_resident,
            S::NOT_FOUND,
            S::NOT_FOUND,
            S::NOT_FOUND,
            S::NOT_FOUND,
            S::NOT_FOUND,
            S::NOT_FOUND,
        ),
    ];
    let body = venue_body("金山社区党群服务中心", "service_centre", 60);
    let app_ref = &app;
    for (who, read_c, read_f, book_c, book_f, manage, usage) in rows {
        let get = |path: String| async move { call(app_ref, who, Method::GET, &path, "").await.0 };
        assert_eq!(
            get(format!("/api/v1/venues/{centre}")).await,
            read_c,
            "{who} reads the centre"
        );
        assert_eq!(
            get(format!("/api/v1/venues/{centre}/bookings")).await,
            read_c,
            "{who} lists the centre's bookings"
        );
        assert_eq!(
            get(format!("/api/v1/places/{}/venues", t.community)).await,
            read_c,
            "{who} lists the community"
        );
        assert_eq!(
            get(format!("/api/v1/venues/{floor}")).await,
            read_f,
            "{who} reads the floor"
        );
        let (s, e) = next_slot();
        assert_eq!(
            book(&app, who, centre, s, e, "会议").await.0,
            book_c,
            "{who} books the centre"
        );
        let (s, e) = next_slot();
        assert_eq!(
            book(&app, who, floor, s, e, "会议").await.0,
            book_f,
            "{who} books the floor"
        );
        assert_eq!(
            call(
                &app,
                who,
                Method::PUT,
                &format!("/api/v1/venues/{centre}"),
                &body
            )
            .await
            .0,
            manage,
            "{who} changes the centre"
        );
        let created = if manage == S::NO_CONTENT {
            S::CREATED
        } else {
            manage
        };
        let (s, v) = call(
            &app,
            who,
            Method::POST,
            &format!("/api/v1/places/{}/venues", t.community),
            &body,
        )
        .await;
        assert_eq!(s, created, "{who} adds a venue to the community {v}");
        assert_eq!(
            get(format!("/api/v1/places/{}/venue-usage", t.community)).await,
            usage,
            "{who} reads usage"
        );
        let cancel = if book_c == S::CREATED {
            S::NO_CONTENT
        } else {
            book_c
        };
        // Cancelling the sample booking: the first who may cancels it, the
        // others meet 409.
        let (s, _) = call(
            &app,
            who,
            Method::POST,
            &format!("/api/v1/venue-bookings/{booking}/cancel"),
            r#"{"reason": "测试"}"#,
        )
        .await;
        if cancel == S::NO_CONTENT {
            assert!(s == S::NO_CONTENT || s == S::CONFLICT, "{who} cancels: {s}");
        } else {
            assert_eq!(s, cancel, "{who} cancels");
        }
        // Every signed-in account has a feed token.
        assert_eq!(
            call(&app, who, Method::POST, "/api/v1/calendar-token", "")
                .await
                .0,
            S::CREATED
        );
        let feed = app
            .client(who)
            .await
            .get(&format!("/calendars/places/{}.ics", t.community))
            .await
            .status;
        assert_eq!(
            feed,
            if read_c == S::OK { S::OK } else { S::NOT_FOUND },
            "{who} reads the feed"
        );
    }
    // The compound secretary reads usage of the own compound.
    assert_eq!(
        call(
            &app,
            p.secretary,
            Method::GET,
            &format!("/api/v1/places/{}/venue-usage", t.compound.compound),
            ""
        )
        .await
        .0,
        S::OK
    );
    // Anonymous: 401.
    assert_eq!(
        app.get(&format!("/api/v1/venues/{centre}")).await.status,
        S::UNAUTHORIZED
    );
    assert_eq!(
        app.json(Method::POST, "/api/v1/calendar-token", "")
            .await
            .status,
        S::UNAUTHORIZED
    );
    // Unknown ids: 404.
    assert_eq!(
        call(&app, p.district, Method::GET, "/api/v1/venues/999999", "")
            .await
            .0,
        S::NOT_FOUND
    );
    assert_eq!(
        call(
            &app,
            p.district,
            Method::POST,
            "/api/v1/venue-bookings/999999/cancel",
            r#"{"reason": "x"}"#
        )
        .await
        .0,
        S::NOT_FOUND
    );
}

#[db_test]
async fn pages_show_venues_book_and_give_feed_urls(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let centre = new_venue(
        &app,
        p.worker,
        t.community,
        "金山社区党群服务中心",
        "service_centre",
    )
    .await;
    let c = app.client(p.worker).await;
    for path in [
        "/venues".to_string(),
        format!("/venues/{centre}"),
        format!("/places/{}/venues", t.community),
    ] {
        let r = c.get(&path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(has_cjk(&String::from_utf8_lossy(&r.body)), "{path}");
        let r = c.get_en(&path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
    }
    let en = String::from_utf8(c.get_en(&format!("/venues/{centre}")).await.body.to_vec()).unwrap();
    assert!(
        en.contains("Opening hours") && en.contains("Book the venue"),
        "{en}"
    );

    // The booking form, in China time.
    let mon = next_monday().format("%Y-%m-%d").to_string();
    let form = [
        ("day", mon.as_str()),
        ("start", "09:00"),
        ("end", "10:30"),
        ("purpose", "session"),
        ("title", "四点钟学校"),
        ("organiser_name", "仓山区青少年服务中心"),
        ("expected_attendance", "30"),
    ];
    let r = c
        .form(&format!("/venues/{centre}/bookings"), &form, true)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = c
        .form(&format!("/venues/{centre}/bookings"), &form, true)
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(
        c.form(&format!("/venues/{centre}/bookings"), &form, false)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let b = venue_booking::Entity::find()
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.starts_at, local(next_monday(), 9, 0));
    assert_eq!(count!(app, venue_booking::Entity), 1);

    // A new venue from the place page.
    let r = c
        .form(
            &format!("/places/{}/venues", t.compound.compound),
            &[
                ("name", "金山花园长者食堂"),
                ("kind", "elder_canteen"),
                ("capacity", "40"),
                ("hours", "1-7 10:30-13:00\n1-7 16:30-18:30"),
                ("facilities", "助餐窗口、适老化座椅"),
                ("active", "on"),
            ],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let (_, v) = call(
        &app,
        p.worker,
        Method::GET,
        &format!("/api/v1/places/{}/venues", t.compound.compound),
        "",
    )
    .await;
    assert_eq!(v[0]["opening_hours"].as_array().unwrap().len(), 14);
    assert_eq!(v[0]["facilities"], json!(["助餐窗口", "适老化座椅"]));

    // The feed URLs moved to the calendars page.
    let r = c.get("/venues/calendar").await;
    assert_eq!(r.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(r.headers["location"], "/calendars");
    let index = String::from_utf8(c.get("/venues").await.body.to_vec()).unwrap();
    assert!(index.contains(r#"href="/calendars""#));
}
