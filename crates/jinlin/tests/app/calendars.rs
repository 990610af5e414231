//! Tests of the iCalendar feeds of places, teams and people: every feed
//! read by the `icalendar` parser holding the venue bookings, service
//! sessions, patrol shifts, volunteer activities and joint meetings its
//! reader sees; who gets 404; feed tokens (shown once, replaced, wrong or
//! malformed); and the calendars page.

use axum::http::{Method, StatusCode};
use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use icalendar::{Calendar, CalendarComponent, CalendarDateTime, Component, DatePerhapsTime};
use jinlin_kernel::auth::Role;
use jinlin_social_services::entity::service_session;
use jinlin_social_services::rules::credit_code_check_char;
use jinlin_testkit::fixtures::{Tree, account, tree};
use jinlin_testkit::{TestDb, db_test};
use sea_orm::ActiveValue::Set;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::support::{TestApp, has_cjk};

struct People {
    street: i64,
    other_street: i64,
    worker: i64,
    secretary: i64,
    secretary_n: i64,
    /// Lives in 金山花园, a member of its patrol team.
    resident: i64,
    /// Lives in 金山花园 and leads its patrol team.
    leader: i64,
    /// Lives in 榕城小区, the neighbouring compound of the same community.
    neighbour: i64,
    /// Lives in another street.
    outsider: i64,
    /// Staff of the social organisation (living elsewhere).
    staff: i64,
}

async fn setup(db: TestDb) -> (TestApp, Tree, People) {
    let t = tree(&db.db).await;
    let d = &db.db;
    let c = t.compound;
    let p = People {
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
        neighbour: account(d, "neighbour", Role::Resident, t.neighbour.dwellings[0]).await,
        outsider: account(d, "outsider", Role::Resident, t.far.dwellings[0]).await,
        staff: account(d, "staff", Role::Resident, t.far.dwellings[0]).await,
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

/// Posts and returns the new id, asserting 201.
async fn create(app: &TestApp, who: i64, path: &str, body: &str) -> i64 {
    let (s, v) = call(app, who, Method::POST, path, body).await;
    assert_eq!(s, StatusCode::CREATED, "{path}: {v}");
    v["id"].as_i64().unwrap()
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

/// A venue open Monday to Friday 08:30–12:00 and 14:00–21:00.
async fn new_venue(app: &TestApp, who: i64, place: i64, name: &str, kind: &str) -> i64 {
    let mut hours = Vec::new();
    for d in 1..=5 {
        hours.push(json!({"weekday": d, "open": "08:30", "close": "12:00"}));
        hours.push(json!({"weekday": d, "open": "14:00", "close": "21:00"}));
    }
    let body = json!({"name": name, "kind": kind, "capacity": 60, "opening_hours": hours});
    create(
        app,
        who,
        &format!("/api/v1/places/{place}/venues"),
        &body.to_string(),
    )
    .await
}

async fn book(
    app: &TestApp,
    who: i64,
    venue: i64,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    title: &str,
) -> i64 {
    let body = json!({
        "starts_at": start, "ends_at": end, "purpose": "meeting", "title": title,
        "organiser_name": "金山社区党委", "expected_attendance": 20
    });
    create(
        app,
        who,
        &format!("/api/v1/venues/{venue}/bookings"),
        &body.to_string(),
    )
    .await
}

async fn token(app: &TestApp, who: i64) -> String {
    let (s, v) = call(app, who, Method::POST, "/api/v1/calendar-token", "").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["token"].as_str().unwrap().to_string()
}

/// When an event starts or ends, as the parser reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    Utc(DateTime<Utc>),
    Day(NaiveDate),
}

#[derive(Debug)]
struct Event {
    uid: String,
    summary: String,
    start: At,
    end: At,
    status: String,
    location: String,
    description: String,
}

/// Each event of a feed, via the parser.
fn parse(text: &str) -> Vec<Event> {
    assert!(text.starts_with("BEGIN:VCALENDAR\r\n"), "{text}");
    assert!(text.lines().all(|l| l.len() <= 76), "{text}");
    let cal: Calendar = text.parse().expect("a valid iCalendar");
    let at = |d: Option<DatePerhapsTime>| match d {
        Some(DatePerhapsTime::DateTime(CalendarDateTime::Utc(t))) => At::Utc(t),
        Some(DatePerhapsTime::Date(d)) => At::Day(d),
        other => panic!("not a UTC date-time or a date: {other:?}"),
    };
    cal.components
        .iter()
        .filter_map(|c| match c {
            CalendarComponent::Event(e) => Some(Event {
                uid: e.get_uid().unwrap().to_string(),
                summary: e.get_summary().unwrap().to_string(),
                start: at(e.get_start()),
                end: at(e.get_end()),
                status: e.property_value("STATUS").unwrap().to_string(),
                location: e.property_value("LOCATION").unwrap_or("").to_string(),
                description: e.property_value("DESCRIPTION").unwrap_or("").to_string(),
            }),
            _ => None,
        })
        .collect()
}

/// A feed read with a cookie (`who`) or anonymously (token URLs).
async fn feed(app: &TestApp, who: Option<i64>, path: &str) -> Vec<Event> {
    let r = match who {
        Some(w) => app.client(w).await.get(path).await,
        None => app.get(path).await,
    };
    assert_eq!(r.status, StatusCode::OK, "{path}");
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/calendar"),
        "{path}"
    );
    parse(std::str::from_utf8(&r.body).unwrap())
}

async fn status(app: &TestApp, who: Option<i64>, path: &str) -> StatusCode {
    match who {
        Some(w) => app.client(w).await.get(path).await.status,
        None => app.get(path).await.status,
    }
}

fn uids(events: &[Event]) -> Vec<&str> {
    let mut out: Vec<&str> = events.iter().map(|e| e.uid.as_str()).collect();
    out.sort_unstable();
    out
}

fn find<'a>(events: &'a [Event], uid: &str) -> &'a Event {
    events
        .iter()
        .find(|e| e.uid == uid)
        .unwrap_or_else(|| panic!("{uid} missing from {events:?}"))
}

/// What the world below holds.
struct World {
    /// The worker's booking of the community centre, and a cancelled one.
    booking: i64,
    cancelled_booking: i64,
    /// Sessions at 金山花园: at the community centre (booked with it), in
    /// the compound's ground floor (the resident withdrew), and one
    /// cancelled.
    session: i64,
    session_booking: i64,
    withdrawn: i64,
    cancelled_session: i64,
    team: i64,
    shift: i64,
    activity: i64,
    activity_day: NaiveDate,
    /// Joint meetings of 金山街道 inviting the community; one cancelled.
    meeting: i64,
    meeting_at: DateTime<Utc>,
    cancelled_meeting: i64,
}

fn code(body: &str) -> String {
    format!("{body}{}", credit_code_check_char(body).unwrap())
}

async fn world(app: &TestApp, t: &Tree, p: &People) -> World {
    let district = account(&app.db.db, "district", Role::DistrictAdmin, t.district).await;
    let mon = next_monday();

    // Venues: the community centre, two bookings by the worker.
    let centre = new_venue(
        app,
        p.worker,
        t.community,
        "金山社区党群服务中心",
        "service_centre",
    )
    .await;
    let booking = book(
        app,
        p.worker,
        centre,
        local(mon, 14, 0),
        local(mon, 16, 0),
        "主题党日",
    )
    .await;
    let cancelled_booking = book(
        app,
        p.worker,
        centre,
        local(mon, 17, 0),
        local(mon, 18, 0),
        "健康讲座",
    )
    .await;
    let (s, _) = call(
        app,
        p.worker,
        Method::POST,
        &format!("/api/v1/venue-bookings/{cancelled_booking}/cancel"),
        r#"{"reason": "讲师请假"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    // A social organisation admitted to 金山花园 with a service.
    let org = create(
        app,
        district,
        "/api/v1/social-orgs",
        &json!({
            "district_id": t.district, "name": "仓山区阳光社工服务中心",
            "registration_no": code("52350104MJD572815"), "org_type": "private_non_enterprise",
            "contact_name": "林老师", "contact_phone": "13812345678", "has_party_org": true
        })
        .to_string(),
    )
    .await;
    let (s, _) = call(
        app,
        district,
        Method::POST,
        &format!("/api/v1/social-orgs/{org}/accounts"),
        &json!({"account_id": p.staff}).to_string(),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let adm = create(
        app,
        p.staff,
        &format!("/api/v1/social-orgs/{org}/admissions"),
        &json!({"compound_id": t.compound.compound}).to_string(),
    )
    .await;
    let (s, _) = call(
        app,
        p.worker,
        Method::POST,
        &format!("/api/v1/social-admissions/{adm}/decision"),
        r#"{"action": "approve"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let svc = create(
        app,
        p.staff,
        &format!("/api/v1/social-orgs/{org}/services"),
        &json!({"kind": "after_school", "title": "四点钟学校", "description": "作业辅导",
            "compound_ids": [t.compound.compound]})
        .to_string(),
    )
    .await;
    let session_at = |start: DateTime<Utc>, venue: Option<i64>| {
        json!({
            "compound_id": t.compound.compound, "starts_at": start,
            "ends_at": start + Duration::minutes(90), "capacity": 30,
            "venue_id": venue, "location": venue.is_none().then_some("金山花园架空层")
        })
        .to_string()
    };
    let sessions = format!("/api/v1/services/{svc}/sessions");
    let session = create(
        app,
        p.staff,
        &sessions,
        &session_at(local(mon, 9, 0), Some(centre)),
    )
    .await;
    let withdrawn = create(
        app,
        p.staff,
        &sessions,
        &session_at(local(mon + Duration::days(1), 16, 0), None),
    )
    .await;
    let cancelled_session = create(
        app,
        p.staff,
        &sessions,
        &session_at(local(mon + Duration::days(2), 16, 0), None),
    )
    .await;
    let row = service_session::Entity::find_by_id(session)
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    let session_booking = row.venue_booking_id.expect("the session booked the centre");
    // Cancelling a whole session has no route yet; the state says so.
    let row = service_session::Entity::find_by_id(cancelled_session)
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    let mut m: service_session::ActiveModel = row.into();
    m.state = Set("cancelled".into());
    service_session::Entity::update(m)
        .exec(app.db.db.conn())
        .await
        .unwrap();
    for s in [session, withdrawn] {
        let (st, v) = call(
            app,
            p.resident,
            Method::POST,
            &format!("/api/v1/service-sessions/{s}/registrations"),
            "{}",
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
    }
    let (st, _) = call(
        app,
        p.resident,
        Method::DELETE,
        &format!("/api/v1/service-sessions/{withdrawn}/registrations"),
        "",
    )
    .await;
    assert!(st.is_success(), "{st}");

    // A patrol team at 金山花园: the resident signs up for a shift and is
    // credited for today's activity.
    let team = create(
        app,
        p.worker,
        "/api/v1/volunteer-teams",
        &json!({"place_id": t.compound.compound, "name": "萤火虫巡逻队", "kind": "patrol",
            "leader_account_id": p.leader})
        .to_string(),
    )
    .await;
    let member = create(
        app,
        p.leader,
        &format!("/api/v1/volunteer-teams/{team}/members"),
        &json!({"account_id": p.resident}).to_string(),
    )
    .await;
    let shift_start = local(mon + Duration::days(3), 19, 0);
    let shift = create(
        app,
        p.leader,
        &format!("/api/v1/volunteer-teams/{team}/shifts"),
        &json!({"starts_at": shift_start, "ends_at": shift_start + Duration::hours(2),
            "route": "1号楼—3号楼—东门", "slots": 4})
        .to_string(),
    )
    .await;
    let (s, v) = call(
        app,
        p.resident,
        Method::POST,
        &format!("/api/v1/patrol-shifts/{shift}/signup"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let activity_day = Utc::now().date_naive();
    let activity = create(
        app,
        p.leader,
        &format!("/api/v1/volunteer-teams/{team}/activities"),
        &json!({"held_on": activity_day, "title": "楼道清理",
            "credits": [{"member_id": member, "minutes": 60}]})
        .to_string(),
    )
    .await;

    // Joint meetings of 金山街道 inviting 金山社区; the second is cancelled.
    let meeting_at =
        DateTime::from_timestamp(local(mon + Duration::days(4), 15, 0).timestamp(), 0).unwrap();
    let body = |at: DateTime<Utc>| {
        json!({"scheduled_at": at, "venue": "金山街道党群服务中心", "agenda": "物业管理; 停车",
            "invitees": [{"kind": "community", "ref_id": t.community}]})
        .to_string()
    };
    let path = format!("/api/v1/places/{}/joint-meetings", t.street);
    let meeting = create(app, p.street, &path, &body(meeting_at)).await;
    let cancelled_meeting =
        create(app, p.street, &path, &body(meeting_at + Duration::days(7))).await;
    let (s, v) = call(
        app,
        p.street,
        Method::POST,
        &format!("/api/v1/joint-meetings/{cancelled_meeting}/cancel"),
        r#"{"reason": "台风"}"#,
    )
    .await;
    assert!(s.is_success(), "{s} {v}");

    World {
        booking,
        cancelled_booking,
        session,
        session_booking,
        withdrawn,
        cancelled_session,
        team,
        shift,
        activity,
        activity_day,
        meeting,
        meeting_at,
        cancelled_meeting,
    }
}

#[db_test]
async fn place_and_team_feeds_hold_what_their_reader_sees(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let w = world(&app, &t, &p).await;
    let mon = next_monday();
    let booking = format!("venue-booking-{}@jinlin", w.booking);
    let cancelled_booking = format!("venue-booking-{}@jinlin", w.cancelled_booking);
    let session = format!("service-session-{}@jinlin", w.session);
    let withdrawn = format!("service-session-{}@jinlin", w.withdrawn);
    let cancelled_session = format!("service-session-{}@jinlin", w.cancelled_session);
    let shift = format!("patrol-shift-{}@jinlin", w.shift);
    let activity = format!("volunteer-activity-{}@jinlin", w.activity);

    // The community, by the resident's token: the centre's bookings, the
    // sessions of the compound (the session's own booking appears once, as
    // the session), the compound team's shift and activity.
    let rt = token(&app, p.resident).await;
    let events = feed(
        &app,
        None,
        &format!("/calendars/{rt}/places/{}.ics", t.community),
    )
    .await;
    let mut expected = vec![
        booking.as_str(),
        cancelled_booking.as_str(),
        session.as_str(),
        withdrawn.as_str(),
        cancelled_session.as_str(),
        shift.as_str(),
        activity.as_str(),
    ];
    expected.sort_unstable();
    assert_eq!(uids(&events), expected);
    assert!(
        events
            .iter()
            .all(|e| e.uid != format!("venue-booking-{}@jinlin", w.session_booking))
    );
    let b = find(&events, &booking);
    assert_eq!(b.summary, "主题党日");
    assert_eq!(b.start, At::Utc(local(mon, 14, 0)));
    assert_eq!(b.end, At::Utc(local(mon, 16, 0)));
    assert_eq!(b.status, "CONFIRMED");
    assert_eq!(find(&events, &cancelled_booking).status, "CANCELLED");
    let s = find(&events, &session);
    assert_eq!(s.summary, "四点钟学校");
    assert_eq!(s.start, At::Utc(local(mon, 9, 0)));
    assert_eq!(s.end, At::Utc(local(mon, 10, 30)));
    assert_eq!(s.status, "CONFIRMED");
    assert!(s.location.contains("金山社区党群服务中心"), "{s:?}");
    assert_eq!(s.description, "仓山区阳光社工服务中心");
    // Withdrawing one's registration does not cancel the session for the place.
    assert_eq!(find(&events, &withdrawn).status, "CONFIRMED");
    assert_eq!(find(&events, &cancelled_session).status, "CANCELLED");
    let sh = find(&events, &shift);
    assert_eq!(sh.summary, "巡逻 · 萤火虫巡逻队");
    assert_eq!(sh.start, At::Utc(local(mon + Duration::days(3), 19, 0)));
    assert!(sh.location.contains("1号楼—3号楼—东门"), "{sh:?}");
    let a = find(&events, &activity);
    assert_eq!(a.summary, "楼道清理");
    assert_eq!(a.start, At::Day(w.activity_day));
    assert_eq!(a.end, At::Day(w.activity_day + Duration::days(1)));
    assert_eq!(a.description, "萤火虫巡逻队");

    // In English for a reader who chose it.
    let r = app
        .client(p.resident)
        .await
        .get_en(&format!("/calendars/places/{}.ics", t.community))
        .await;
    let en = parse(std::str::from_utf8(&r.body).unwrap());
    assert_eq!(find(&en, &shift).summary, "Patrol · 萤火虫巡逻队");

    // The compound, by the secretary's cookie: its sessions and team, not
    // the community's centre.
    let events = feed(
        &app,
        Some(p.secretary),
        &format!("/calendars/places/{}.ics", t.compound.compound),
    )
    .await;
    let mut expected = vec![
        session.as_str(),
        withdrawn.as_str(),
        cancelled_session.as_str(),
        shift.as_str(),
        activity.as_str(),
    ];
    expected.sort_unstable();
    assert_eq!(uids(&events), expected);

    // A resident of 榕城小区 reads the community's bookings and sessions
    // (services are for the whole community) but not 金山花园's team.
    let events = feed(
        &app,
        Some(p.neighbour),
        &format!("/calendars/places/{}.ics", t.community),
    )
    .await;
    assert!(events.iter().any(|e| e.uid == session));
    assert!(events.iter().any(|e| e.uid == booking));
    assert!(events.iter().all(|e| e.uid != shift && e.uid != activity));
    // The organisation's staff, living elsewhere, read the compound's
    // sessions in their own feed, not the compound's feed.
    assert_eq!(
        status(
            &app,
            Some(p.staff),
            &format!("/calendars/places/{}.ics", t.compound.compound)
        )
        .await,
        StatusCode::NOT_FOUND
    );

    // The team: its shift and activity, for members and whoever sees its
    // compound.
    for (who, path) in [
        (None, format!("/calendars/{rt}/teams/{}.ics", w.team)),
        (
            Some(p.secretary),
            format!("/calendars/teams/{}.ics", w.team),
        ),
        (Some(p.worker), format!("/calendars/teams/{}.ics", w.team)),
    ] {
        let events = feed(&app, who, &path).await;
        let mut expected = vec![shift.as_str(), activity.as_str()];
        expected.sort_unstable();
        assert_eq!(uids(&events), expected, "{path}");
    }

    // Outside the scope: 404, with a cookie or a token.
    let ot = token(&app, p.outsider).await;
    for path in [
        format!("/calendars/places/{}.ics", t.community),
        format!("/calendars/places/{}.ics", t.compound.compound),
        format!("/calendars/teams/{}.ics", w.team),
        format!("/calendars/places/{}.ics", t.street),
    ] {
        assert_eq!(
            status(&app, Some(p.outsider), &path).await,
            StatusCode::NOT_FOUND,
            "{path}"
        );
        let by_token = path.replacen("/calendars/", &format!("/calendars/{ot}/"), 1);
        assert_eq!(
            status(&app, None, &by_token).await,
            StatusCode::NOT_FOUND,
            "{by_token}"
        );
    }
    // 榕城小区's secretary does not see 金山花园 or its team.
    for path in [
        format!("/calendars/places/{}.ics", t.compound.compound),
        format!("/calendars/teams/{}.ics", w.team),
    ] {
        assert_eq!(
            status(&app, Some(p.secretary_n), &path).await,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    // Places without a feed, unknown ids and other file names: 404.
    for path in [
        format!("/calendars/places/{}.ics", t.compound.building),
        format!("/calendars/places/{}.ics", t.compound.dwellings[0]),
        "/calendars/places/999999.ics".to_string(),
        "/calendars/teams/999999.ics".to_string(),
        format!("/calendars/places/{}", t.community),
        "/calendars/places/x.ics".to_string(),
    ] {
        assert_eq!(
            status(&app, Some(p.worker), &path).await,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}

#[db_test]
async fn a_street_feed_holds_its_joint_meetings_for_those_who_may_list_them(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let w = world(&app, &t, &p).await;
    let path = format!("/calendars/places/{}.ics", t.street);
    let meeting = format!("joint-meeting-{}@jinlin", w.meeting);
    let cancelled = format!("joint-meeting-{}@jinlin", w.cancelled_meeting);

    let events = feed(&app, Some(p.street), &path).await;
    let mut expected = vec![meeting.as_str(), cancelled.as_str()];
    expected.sort_unstable();
    assert_eq!(uids(&events), expected);
    let m = find(&events, &meeting);
    assert_eq!(m.summary, "金山街道党建联席会议");
    assert_eq!(m.start, At::Utc(w.meeting_at));
    assert_eq!(m.end, At::Utc(w.meeting_at + Duration::hours(2)));
    assert_eq!(m.location, "金山街道党群服务中心");
    // The agenda's ";" comes back unescaped.
    assert_eq!(m.description, "物业管理; 停车");
    assert_eq!(m.status, "CONFIRMED");
    assert_eq!(find(&events, &cancelled).status, "CANCELLED");

    // The invited community's worker, by token.
    let wt = token(&app, p.worker).await;
    let events = feed(
        &app,
        None,
        &format!("/calendars/{wt}/places/{}.ics", t.street),
    )
    .await;
    assert_eq!(uids(&events), expected);
    // A secretary of the street whose body was not invited sees none.
    let events = feed(&app, Some(p.secretary), &path).await;
    assert!(events.is_empty());
    // Residents and another street's admin: 404.
    for who in [p.resident, p.other_street, p.outsider] {
        assert_eq!(
            status(&app, Some(who), &path).await,
            StatusCode::NOT_FOUND,
            "{who}"
        );
    }
}

#[db_test]
async fn my_feed_holds_what_i_booked_signed_up_for_ran_and_was_invited_to(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let w = world(&app, &t, &p).await;

    // The resident: the sessions registered for (the withdrawn one
    // cancelled), the shift signed up for, the activity credited.
    let rt = token(&app, p.resident).await;
    let events = feed(&app, None, &format!("/calendars/{rt}/me.ics")).await;
    let session = format!("service-session-{}@jinlin", w.session);
    let withdrawn = format!("service-session-{}@jinlin", w.withdrawn);
    let shift = format!("patrol-shift-{}@jinlin", w.shift);
    let activity = format!("volunteer-activity-{}@jinlin", w.activity);
    let mut expected = vec![
        session.as_str(),
        withdrawn.as_str(),
        shift.as_str(),
        activity.as_str(),
    ];
    expected.sort_unstable();
    assert_eq!(uids(&events), expected);
    assert_eq!(find(&events, &session).status, "CONFIRMED");
    assert_eq!(find(&events, &withdrawn).status, "CANCELLED");
    assert_eq!(find(&events, &activity).start, At::Day(w.activity_day));

    // The worker: the bookings organised and the meetings the community
    // was invited to.
    let events = feed(&app, Some(p.worker), "/calendars/me.ics").await;
    let mut expected = vec![
        format!("venue-booking-{}@jinlin", w.booking),
        format!("venue-booking-{}@jinlin", w.cancelled_booking),
        format!("joint-meeting-{}@jinlin", w.meeting),
        format!("joint-meeting-{}@jinlin", w.cancelled_meeting),
    ];
    expected.sort_unstable();
    assert_eq!(uids(&events), expected);

    // The organisation's staff: every session they run, none cancelled by
    // a resident's withdrawal; the street admin: the street's meetings.
    let events = feed(&app, Some(p.staff), "/calendars/me.ics").await;
    assert_eq!(events.len(), 3);
    assert_eq!(
        find(&events, &withdrawn).status,
        "CONFIRMED",
        "a registrant's withdrawal does not cancel the staff's session"
    );
    assert_eq!(
        find(
            &events,
            &format!("service-session-{}@jinlin", w.cancelled_session)
        )
        .status,
        "CANCELLED"
    );
    let events = feed(&app, Some(p.street), "/calendars/me.ics").await;
    assert_eq!(events.len(), 2);
    // Someone with nothing: a valid, empty calendar.
    assert!(
        feed(&app, Some(p.outsider), "/calendars/me.ics")
            .await
            .is_empty()
    );
}

#[db_test]
async fn feed_tokens_are_shown_once_replaced_and_never_guessed(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let centre = new_venue(
        &app,
        p.worker,
        t.community,
        "金山社区党群服务中心",
        "service_centre",
    )
    .await;
    let canteen = new_venue(
        &app,
        p.secretary_n,
        t.neighbour.compound,
        "榕城小区长者食堂",
        "elder_canteen",
    )
    .await;
    let mon = next_monday();
    // A title with the characters iCalendar escapes and a long one that folds.
    let tricky =
        "议题：物业费, 停车位; 电梯\\加装 与 二〇二六年第一季度党建联席会议暨近邻党建工作推进会";
    let a = book(
        &app,
        p.worker,
        centre,
        local(mon, 9, 0),
        local(mon, 11, 30),
        tricky,
    )
    .await;
    let c = book(
        &app,
        p.secretary_n,
        canteen,
        local(mon, 10, 0),
        local(mon, 11, 0),
        "榕城长者生日会",
    )
    .await;

    let (s, v) = call(&app, p.worker, Method::POST, "/api/v1/calendar-token", "").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let token = v["token"].as_str().unwrap().to_string();
    assert_eq!(token.len(), 64);
    assert_eq!(v["me_url"], format!("/calendars/{token}/me.ics"));
    assert_eq!(
        v["place_url"],
        format!("/calendars/{token}/places/{{id}}.ics")
    );
    assert_eq!(
        v["team_url"],
        format!("/calendars/{token}/teams/{{id}}.ics")
    );

    let events = feed(
        &app,
        None,
        &format!("/calendars/{token}/places/{}.ics", t.community),
    )
    .await;
    assert_eq!(events.len(), 2);
    assert_eq!(
        find(&events, &format!("venue-booking-{a}@jinlin")).summary,
        tricky
    );
    find(&events, &format!("venue-booking-{c}@jinlin"));

    // Wrong, malformed and replaced tokens find nothing.
    let wrong = "0".repeat(64);
    for path in [
        format!("/calendars/{wrong}/places/{}.ics", t.community),
        format!("/calendars/{wrong}/me.ics"),
        format!("/calendars/{wrong}/teams/1.ics"),
        "/calendars/short/me.ics".to_string(),
    ] {
        assert_eq!(
            status(&app, None, &path).await,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let (_, v) = call(&app, p.worker, Method::POST, "/api/v1/calendar-token", "").await;
    let fresh = v["token"].as_str().unwrap();
    assert_ne!(fresh, token);
    assert_eq!(
        status(&app, None, &format!("/calendars/{token}/me.ics")).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status(&app, None, &format!("/calendars/{fresh}/me.ics")).await,
        StatusCode::OK
    );
    // Signed out, the cookie feeds and the token API are closed.
    assert_eq!(
        app.json(Method::POST, "/api/v1/calendar-token", "")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_ne!(
        status(&app, None, "/calendars/me.ics").await,
        StatusCode::OK
    );

    // The token API is in the OpenAPI document, under its own tag.
    let doc = app.get("/api/v1/openapi.json").await.json();
    assert_eq!(
        doc["paths"]["/api/v1/calendar-token"]["post"]["tags"][0],
        "calendars"
    );
}

#[db_test]
async fn the_calendars_page_lists_my_feeds_and_shows_their_addresses_once(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let w = world(&app, &t, &p).await;
    let c = app.client(p.resident).await;

    let html = String::from_utf8(c.get("/calendars").await.body.to_vec()).unwrap();
    assert!(has_cjk(&html));
    for text in [
        "我的日程",
        "金山花园",
        "金山社区",
        "萤火虫巡逻队",
        r#"href="/calendars/me.ics""#,
    ] {
        assert!(html.contains(text), "{text} missing");
    }
    assert!(html.contains(&format!(r#"href="/calendars/teams/{}.ics""#, w.team)));
    let en = String::from_utf8(c.get_en("/calendars").await.body.to_vec()).unwrap();
    assert!(en.contains("My calendar") && en.contains("Create feed addresses"));

    // A new token: its addresses, once.
    let r = c.form("/calendars", &[], true).await;
    assert_eq!(r.status, StatusCode::OK);
    let html = String::from_utf8(r.body.to_vec()).unwrap();
    let start = html.find("<code>/calendars/").unwrap() + "<code>/calendars/".len();
    let token: String = html[start..].chars().take(64).collect();
    assert!(token.chars().all(|ch| ch.is_ascii_hexdigit()), "{token}");
    for path in [
        "me.ics".to_string(),
        format!("places/{}.ics", t.community),
        format!("teams/{}.ics", w.team),
    ] {
        let url = format!("/calendars/{token}/{path}");
        assert!(html.contains(&url), "{url} missing");
        assert_eq!(app.get(&url).await.status, StatusCode::OK, "{url}");
    }
    let again = String::from_utf8(c.get("/calendars").await.body.to_vec()).unwrap();
    assert!(!again.contains(&token));
    assert!(again.contains("重新生成订阅地址"));
    // Without the form's csrf field nothing is issued.
    assert_eq!(
        c.form("/calendars", &[], false).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(&format!("/calendars/{token}/me.ics")).await.status,
        StatusCode::OK
    );

    // The team page links to its feed; opened for the team, the page
    // lists it also to a reader who is not a member.
    let team_page = String::from_utf8(
        c.get(&format!("/volunteer-teams/{}", w.team))
            .await
            .body
            .to_vec(),
    )
    .unwrap();
    let link = format!("/calendars?team={}", w.team);
    assert!(team_page.contains(&link), "{team_page}");
    let s = app.client(p.street).await;
    let html = String::from_utf8(s.get(&link).await.body.to_vec()).unwrap();
    assert!(html.contains(&format!("teams/{}.ics", w.team)));
    assert!(html.contains(&format!("places/{}.ics", t.street)));
    // … and not a team the reader does not see.
    let o = app.client(p.outsider).await;
    let html = String::from_utf8(o.get(&link).await.body.to_vec()).unwrap();
    assert!(!html.contains(&format!("teams/{}.ics", w.team)));

    // The account page and /venues/calendar lead here.
    let account = String::from_utf8(c.get("/account").await.body.to_vec()).unwrap();
    assert!(account.contains(r#"href="/calendars""#));
    let r = c.get("/venues/calendar").await;
    assert_eq!(r.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(r.headers["location"], "/calendars");
}
