//! Accounts: signing in and out, lockout and throttling, CSRF, passwords,
//! API tokens, invitations and the audit log viewer.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use jinlin_kernel::audit::entity as audit_log;
use jinlin_kernel::auth::Role;
use jinlin_kernel::auth::entity::{account as account_row, api_token, invitation, role_grant};
use jinlin_testkit::fixtures::{PASSWORD, account, tree};
use jinlin_testkit::{TestDb, TestResponse, db_test};
use sea_orm::sea_query::Expr;
use sea_orm::sea_query::value::prelude::chrono::{self, Duration, Utc};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::support::{TestApp, api_error, has_cjk};

/// A browser's or client's sign-in: its cookie header and CSRF token.
struct Session {
    cookie: String,
    csrf: String,
}

/// The value of cookie `name` set by a response, if any.
fn set_cookie(response: &TestResponse, name: &str) -> Option<String> {
    response
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

fn cookie_value(set_cookie: &str) -> String {
    let pair = set_cookie.split(';').next().unwrap();
    pair.split_once('=').unwrap().1.to_string()
}

/// The `value` of the input named `name` in a page.
fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} in {html}"))
        + marker.len();
    let end = start + html[start..].find('"').unwrap();
    html[start..end].to_string()
}

/// The `value` of the input with id `id` in a page.
fn input_value(html: &str, id: &str) -> String {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no input {id} in {html}"));
    let rest = &html[start..];
    let value = rest.find("value=\"").unwrap() + "value=\"".len();
    let end = value + rest[value..].find('"').unwrap();
    rest[value..end].to_string()
}

fn form_body(fields: &[(&str, &str)]) -> Body {
    Body::from(serde_urlencoded::to_string(fields).unwrap())
}

async fn api_login(app: &TestApp, username: &str, password: &str) -> TestResponse {
    let body = serde_json::json!({ "username": username, "password": password }).to_string();
    app.json(Method::POST, "/api/v1/session", &body).await
}

async fn signed_in(app: &TestApp, username: &str) -> Session {
    let response = api_login(app, username, PASSWORD).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let cookie = set_cookie(&response, "jinlin_session").expect("session cookie");
    Session {
        cookie: format!("jinlin_session={}", cookie_value(&cookie)),
        csrf: response.json()["csrf_token"].as_str().unwrap().to_string(),
    }
}

/// An API call with a session (and its CSRF token when `csrf`).
async fn call(
    app: &TestApp,
    session: &Session,
    method: Method,
    path: &str,
    body: Option<&str>,
    csrf: bool,
) -> TestResponse {
    let mut headers = vec![("cookie", session.cookie.as_str())];
    if csrf {
        headers.push(("x-csrf-token", session.csrf.as_str()));
    }
    if body.is_some() {
        headers.push(("content-type", "application/json"));
    }
    let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
    app.request(method, path, &headers, body).await
}

async fn with_token(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<&str>,
) -> TestResponse {
    let auth = format!("Bearer {token}");
    let mut headers = vec![("authorization", auth.as_str())];
    if body.is_some() {
        headers.push(("content-type", "application/json"));
    }
    let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
    app.request(method, path, &headers, body).await
}

/// A form post with a cookie header.
async fn post_form(
    app: &TestApp,
    path: &str,
    cookie: &str,
    fields: &[(&str, &str)],
) -> TestResponse {
    app.request(
        Method::POST,
        path,
        &[
            ("cookie", cookie),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        form_body(fields),
    )
    .await
}

/// Opens the sign-in page and submits it; returns the answer to the post.
async fn page_login(app: &TestApp, username: &str, password: &str, next: &str) -> TestResponse {
    let query = serde_urlencoded::to_string([("next", next)]).unwrap();
    let form = app.get(&format!("/login?{query}")).await;
    assert_eq!(form.status, StatusCode::OK);
    let csrf_cookie = set_cookie(&form, "jinlin_login_csrf").expect("login CSRF cookie");
    let csrf = field(&form.text(), "csrf");
    assert_eq!(csrf, cookie_value(&csrf_cookie));
    let next = field(&form.text(), "next");
    post_form(
        app,
        "/login",
        &format!("jinlin_login_csrf={csrf}"),
        &[
            ("csrf", &csrf),
            ("next", &next),
            ("username", username),
            ("password", password),
        ],
    )
    .await
}

fn page_session(response: &TestResponse) -> String {
    let cookie = set_cookie(response, "jinlin_session").expect("session cookie");
    format!("jinlin_session={}", cookie_value(&cookie))
}

async fn count_actions(app: &TestApp, action: &str) -> u64 {
    audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq(action))
        .count(app.db.db.conn())
        .await
        .unwrap()
}

async fn account_by_name(app: &TestApp, username: &str) -> Option<account_row::Model> {
    account_row::Entity::find()
        .filter(account_row::Column::Username.eq(username))
        .one(app.db.db.conn())
        .await
        .unwrap()
}

#[db_test]
async fn signing_in_through_the_api_starts_a_working_session(db: TestDb) {
    let t = tree(&db.db).await;
    account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let app = TestApp::new(db);

    let response = api_login(&app, "worker", PASSWORD).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let body = response.json();
    assert_eq!(body["account"]["username"], "worker");
    assert_eq!(body["account"]["roles"][0]["role"], "community_worker");
    assert_eq!(body["account"]["roles"][0]["place_id"], t.community);
    assert_eq!(body["account"]["roles"][0]["place_name"], "金山社区");
    let csrf = body["csrf_token"].as_str().unwrap().to_string();
    let cookie = set_cookie(&response, "jinlin_session").unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }

    let session = Session {
        cookie: format!("jinlin_session={}", cookie_value(&cookie)),
        csrf: csrf.clone(),
    };
    let me = call(&app, &session, Method::GET, "/api/v1/session", None, false).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["account"]["username"], "worker");
    assert_eq!(me.json()["csrf_token"], csrf.as_str());
    assert_eq!(count_actions(&app, "auth.login").await, 1);
    let worker = account_by_name(&app, "worker").await.unwrap();
    assert_eq!(worker.failed_logins, 0);
}

#[db_test]
async fn signing_in_through_the_page_goes_to_next(db: TestDb) {
    let t = tree(&db.db).await;
    account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let app = TestApp::new(db);

    let form = app.get("/login?next=%2Faccount").await;
    assert_eq!(form.status, StatusCode::OK);
    let html = form.text();
    assert!(html.contains("<label for=\"login-username\">用户名</label>"));
    assert!(html.contains("autocomplete=\"current-password\""));
    let csrf_cookie = set_cookie(&form, "jinlin_login_csrf").unwrap();
    assert!(csrf_cookie.contains("HttpOnly") && csrf_cookie.contains("SameSite=Lax"));

    let response = page_login(&app, "worker", PASSWORD, "/account").await;
    assert_eq!(
        response.status,
        StatusCode::SEE_OTHER,
        "{}",
        response.text()
    );
    assert_eq!(response.header("location"), Some("/account"));
    let cookie = page_session(&response);

    let page = app.get_with("/account", &[("cookie", &cookie)]).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("社区工作者"), "{html}");
    assert!(html.contains("金山社区"));
    assert!(html.contains("action=\"/logout\""));

    // Off-site destinations are ignored.
    let offsite = page_login(&app, "worker", PASSWORD, "https://evil.example/").await;
    assert_eq!(offsite.header("location"), Some("/"));
    // Signing in again ends the session the browser had.
    let second = {
        let form = app.get_with("/login", &[("cookie", &cookie)]).await;
        let csrf = field(&form.text(), "csrf");
        post_form(
            &app,
            "/login",
            &format!("{cookie}; jinlin_login_csrf={csrf}"),
            &[
                ("csrf", &csrf),
                ("next", "/"),
                ("username", "worker"),
                ("password", PASSWORD),
            ],
        )
        .await
    };
    assert_eq!(second.status, StatusCode::SEE_OTHER);
    let old = app
        .get_with("/api/v1/session", &[("cookie", &cookie)])
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    let new = app
        .get_with("/api/v1/session", &[("cookie", &page_session(&second))])
        .await;
    assert_eq!(new.status, StatusCode::OK);
}

#[db_test]
async fn wrong_passwords_and_unknown_users_get_the_same_answer(db: TestDb) {
    let t = tree(&db.db).await;
    account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let app = TestApp::new(db);

    let wrong = api_login(&app, "worker", "not-the-password").await;
    let unknown = api_login(&app, "nobody", "not-the-password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    let (wrong_code, wrong_message) = api_error(&wrong);
    assert_eq!(wrong_code, "bad_credentials");
    assert_eq!(api_error(&unknown), (wrong_code, wrong_message.clone()));
    assert!(has_cjk(&wrong_message));
    assert!(set_cookie(&wrong, "jinlin_session").is_none());

    let wrong_page = page_login(&app, "worker", "not-the-password", "/").await;
    let unknown_page = page_login(&app, "nobody", "not-the-password", "/").await;
    assert_eq!(wrong_page.status, StatusCode::OK);
    assert_eq!(unknown_page.status, StatusCode::OK);
    assert!(wrong_page.text().contains(&wrong_message));
    assert!(unknown_page.text().contains(&wrong_message));
    assert!(set_cookie(&wrong_page, "jinlin_session").is_none());

    assert_eq!(
        account_by_name(&app, "worker").await.unwrap().failed_logins,
        2
    );
    assert_eq!(count_actions(&app, "auth.login_failed").await, 4);
}

#[db_test]
async fn five_failures_lock_the_account_for_fifteen_minutes(db: TestDb) {
    let t = tree(&db.db).await;
    account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let app = TestApp::new(db);

    for _ in 0..4 {
        let r = api_login(&app, "worker", "wrong-password").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let fifth = api_login(&app, "worker", "wrong-password").await;
    assert_eq!(fifth.status, StatusCode::LOCKED);
    let (code, message) = api_error(&fifth);
    assert_eq!(code, "locked");
    assert!(message.contains("15"), "{message}");

    // The right password does not help while the lock lasts.
    let locked = api_login(&app, "worker", PASSWORD).await;
    assert_eq!(locked.status, StatusCode::LOCKED);
    assert!(set_cookie(&locked, "jinlin_session").is_none());
    let english = app
        .request(
            Method::POST,
            "/api/v1/session",
            &[
                ("content-type", "application/json"),
                ("accept-language", "en"),
            ],
            Body::from(format!(
                r#"{{"username": "worker", "password": "{PASSWORD}"}}"#
            )),
        )
        .await;
    assert!(api_error(&english).1.contains("15 minutes"));
    let page = page_login(&app, "worker", PASSWORD, "/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("15 分钟"), "{}", page.text());
    assert!(set_cookie(&page, "jinlin_session").is_none());

    // Once the lock has run out the right password works and clears the count.
    account_row::Entity::update_many()
        .col_expr(
            account_row::Column::LockedUntil,
            Expr::value(Utc::now() - Duration::seconds(1)),
        )
        .exec(app.db.db.conn())
        .await
        .unwrap();
    let after = api_login(&app, "worker", PASSWORD).await;
    assert_eq!(after.status, StatusCode::OK, "{}", after.text());
    let worker = account_by_name(&app, "worker").await.unwrap();
    assert_eq!(worker.failed_logins, 0);
    assert_eq!(worker.locked_until, None);
}

#[db_test]
async fn too_many_attempts_from_one_address_are_throttled(db: TestDb) {
    let app = TestApp::new(db);
    for _ in 0..10 {
        let r = api_login(&app, "nobody", "whatever-password").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let throttled = api_login(&app, "nobody", "whatever-password").await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(api_error(&throttled).0, "throttled");
    let page = page_login(&app, "nobody", "whatever-password", "/").await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(page.text().contains(&api_error(&throttled).1));
}

#[db_test]
async fn signing_out_ends_the_session(db: TestDb) {
    let t = tree(&db.db).await;
    account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let app = TestApp::new(db);

    // API: DELETE /session needs the CSRF token, then ends the session.
    let session = signed_in(&app, "worker").await;
    let refused = call(
        &app,
        &session,
        Method::DELETE,
        "/api/v1/session",
        None,
        false,
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let out = call(
        &app,
        &session,
        Method::DELETE,
        "/api/v1/session",
        None,
        true,
    )
    .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert!(set_cookie(&out, "jinlin_session").is_some_and(|c| c.contains("Max-Age=0")));
    let after = call(&app, &session, Method::GET, "/api/v1/session", None, false).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);

    // Page: the layout's form posts the session's CSRF token.
    let login = page_login(&app, "worker", PASSWORD, "/account").await;
    let cookie = page_session(&login);
    let account_page = app.get_with("/account", &[("cookie", &cookie)]).await;
    let csrf = field(&account_page.text(), "csrf");
    let forged = post_form(&app, "/logout", &cookie, &[("csrf", "forged")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let missing = post_form(&app, "/logout", &cookie, &[]).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let still = app.get_with("/account", &[("cookie", &cookie)]).await;
    assert_eq!(still.status, StatusCode::OK);

    let out = post_form(&app, "/logout", &cookie, &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.header("location"), Some("/"));
    let gone = app.get_with("/account", &[("cookie", &cookie)]).await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    assert_eq!(count_actions(&app, "auth.logout").await, 2);
}

/// Moves every session of the test's database: `last_seen_at` and
/// `expires_at` set to now plus the given offsets.
async fn age_sessions(app: &TestApp, seen: Duration, expires: Duration) {
    use jinlin_kernel::auth::entity::session as session_row;
    let now = Utc::now();
    session_row::Entity::update_many()
        .col_expr(session_row::Column::LastSeenAt, Expr::value(now + seen))
        .col_expr(session_row::Column::ExpiresAt, Expr::value(now + expires))
        .exec(app.db.db.conn())
        .await
        .unwrap();
}

async fn session_rows(app: &TestApp) -> Vec<jinlin_kernel::auth::entity::session::Model> {
    jinlin_kernel::auth::entity::session::Entity::find()
        .all(app.db.db.conn())
        .await
        .unwrap()
}

async fn me(app: &TestApp, session: &Session) -> TestResponse {
    call(app, session, Method::GET, "/api/v1/session", None, false).await
}

#[db_test]
async fn idle_or_expired_sessions_and_disabled_accounts_sign_nobody_in(db: TestDb) {
    let t = tree(&db.db).await;
    account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let app = TestApp::new(db);

    // Seen six minutes ago: still signed in, and the visit is recorded.
    let session = signed_in(&app, "worker").await;
    age_sessions(&app, Duration::minutes(-6), Duration::days(1)).await;
    let before = session_rows(&app).await[0].last_seen_at;
    let live = me(&app, &session).await;
    assert_eq!(live.status, StatusCode::OK);
    assert_eq!(live.json()["account"]["roles"][0]["place_id"], t.community);
    // The visit is written after the answer, through the write queue.
    let mut waited = 0;
    while session_rows(&app).await[0].last_seen_at <= before {
        waited += 1;
        assert!(waited < 200, "the visit was never recorded");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }

    // Idle for 12 hours: signed out, the session removed.
    age_sessions(&app, Duration::hours(-12), Duration::days(1)).await;
    assert_eq!(me(&app, &session).await.status, StatusCode::UNAUTHORIZED);
    assert!(session_rows(&app).await.is_empty());

    // Past its lifetime, however active: likewise.
    let session = signed_in(&app, "worker").await;
    age_sessions(&app, Duration::zero(), Duration::seconds(-1)).await;
    assert_eq!(me(&app, &session).await.status, StatusCode::UNAUTHORIZED);
    assert!(session_rows(&app).await.is_empty());

    // A disabled account's live session and API token sign nobody in.
    let session = signed_in(&app, "worker").await;
    let created = call(
        &app,
        &session,
        Method::POST,
        "/api/v1/tokens",
        Some(r#"{"name": "report", "can_write": false}"#),
        true,
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let token = created.json()["token"].as_str().unwrap().to_string();
    let by_token = || with_token(&app, &token, Method::GET, "/api/v1/session", None);
    assert_eq!(by_token().await.status, StatusCode::OK);
    account_row::Entity::update_many()
        .col_expr(account_row::Column::Disabled, Expr::value(true))
        .filter(account_row::Column::Username.eq("worker"))
        .exec(app.db.db.conn())
        .await
        .unwrap();
    assert_eq!(me(&app, &session).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(by_token().await.status, StatusCode::UNAUTHORIZED);
}

/// A signed-in principal is kept between requests, and a
/// change to its grants or their places holds from the very next request:
/// a revoked role is never honoured after its commit.
#[db_test]
async fn a_changed_grant_holds_from_the_next_request(db: TestDb) {
    use jinlin_kernel::place::entity as place_row;
    let t = tree(&db.db).await;
    let account_id = account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let app = TestApp::new(db);
    let session = signed_in(&app, "worker").await;
    let cockpit = format!("/api/v1/cockpit/{}", t.community);
    for _ in 0..2 {
        assert_eq!(
            me(&app, &session).await.json()["account"]["roles"][0]["place_name"],
            "金山社区"
        );
        assert_eq!(
            call(&app, &session, Method::GET, &cockpit, None, false)
                .await
                .status,
            StatusCode::OK
        );
    }

    // The place renamed: the next answer names it so.
    place_row::Entity::update_many()
        .col_expr(place_row::Column::Name, Expr::value("金山新社区"))
        .filter(place_row::Column::Id.eq(t.community))
        .exec(app.db.db.conn())
        .await
        .unwrap();
    assert_eq!(
        me(&app, &session).await.json()["account"]["roles"][0]["place_name"],
        "金山新社区"
    );

    // The role revoked: no cockpit from the next request on.
    role_grant::Entity::delete_many()
        .filter(role_grant::Column::AccountId.eq(account_id))
        .exec(app.db.db.conn())
        .await
        .unwrap();
    assert_eq!(
        me(&app, &session).await.json()["account"]["roles"],
        serde_json::json!([])
    );
    let refused = call(&app, &session, Method::GET, &cockpit, None, false).await;
    assert!(
        matches!(
            refused.status,
            StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
        ),
        "{}",
        refused.status
    );

    // Granted elsewhere, inside a transaction: held once it commits.
    let tx = app.db.db.write().await.unwrap();
    jinlin_kernel::auth::accounts::grant(
        &tx,
        account_id,
        Role::CommunityWorker,
        t.other_community,
        None,
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        me(&app, &session).await.json()["account"]["roles"],
        serde_json::json!([])
    );
    tx.commit().await.unwrap();
    let roles = me(&app, &session).await.json()["account"]["roles"].clone();
    assert_eq!(roles[0]["place_id"], t.other_community, "{roles}");
}

/// The epoch of the principals' tables on PostgreSQL: a principal read at
/// one epoch is served only while a read begun after its request arrived
/// finds the same. A request waits for that read, so a test reads it too.
async fn principal_epoch(db: &jinlin_kernel::db::Database) -> u64 {
    use jinlin_kernel::db::epoch::Epochs;
    let Some(Epochs::Reads(reads)) = db.epochs() else {
        panic!("PostgreSQL reads its principals' epoch");
    };
    reads.epoch().await.expect("the epoch is read")
}

/// The epoch moves once with each commit that changes what a principal is
/// read from, and not with a session's or token's last use, a failed
/// sign-in, a dwelling's reach, a new place or a rolled-back change. Its
/// values never repeat.
#[db_test]
async fn postgres_the_principals_epoch_moves_with_what_principals_are_read_from(db: TestDb) {
    use jinlin_kernel::auth::entity::session as session_row;
    use jinlin_kernel::place::entity as place_row;
    use sea_orm::{ActiveModelTrait, ConnectionTrait, Set, TransactionTrait};
    if !db.is_postgres() {
        return;
    }
    let t = tree(&db.db).await;
    let account_id = account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let app = TestApp::new(db);
    signed_in(&app, "worker").await;
    let conn = app.db.db.conn();
    let token = api_token::ActiveModel {
        account_id: Set(account_id),
        name: Set("epoch".into()),
        token_hash: Set("not a real hash".into()),
        can_write: Set(false),
        created_at: Set(Utc::now()),
        last_used_at: Set(None),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(conn)
    .await
    .unwrap();
    let mut last = principal_epoch(&app.db.db).await;
    // Checks the epoch against the last one: moved past it, or not.
    macro_rules! epoch {
        (moved, $what:literal) => {
            let now = principal_epoch(&app.db.db).await;
            assert!(now > last, "{}: {now} after {last}", $what);
            last = now;
        };
        (kept, $what:literal) => {
            assert_eq!(principal_epoch(&app.db.db).await, last, "{}", $what);
        };
    }
    let exec = |sql: String| async move { conn.execute_unprepared(&sql).await.unwrap() };

    // Uses, counts and reach: the epoch stays.
    session_row::Entity::update_many()
        .col_expr(session_row::Column::LastSeenAt, Expr::value(Utc::now()))
        .exec(conn)
        .await
        .unwrap();
    epoch!(kept, "a session's last visit");
    exec(format!(
        "UPDATE api_token SET last_used_at = now() WHERE id = {}",
        token.id
    ))
    .await;
    epoch!(kept, "a token's last use");
    exec(format!(
        "UPDATE account SET failed_logins = 1 WHERE id = {account_id}"
    ))
    .await;
    epoch!(kept, "a failed sign-in's count");
    exec(format!(
        "UPDATE place SET reach = reach WHERE id = {}",
        t.compound.compound
    ))
    .await;
    epoch!(kept, "a dwelling's reach");
    api_login(&app, "worker", "wrong password").await;
    signed_in(&app, "worker").await;
    epoch!(kept, "a failed sign-in and a new session");

    // Two grants in one transaction: not before the commit, once after.
    let tx = conn.begin().await.unwrap();
    for place in [t.other_community, t.street] {
        jinlin_kernel::auth::accounts::grant(
            &tx,
            account_id,
            Role::CommunityWorker,
            place,
            None,
            None,
        )
        .await
        .unwrap();
    }
    epoch!(kept, "grants not yet committed");
    tx.commit().await.unwrap();
    epoch!(moved, "grants committed");

    // Rolled back: nothing.
    let tx = conn.begin().await.unwrap();
    role_grant::Entity::delete_many()
        .filter(role_grant::Column::AccountId.eq(account_id))
        .exec(&tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    epoch!(kept, "a rollback");

    // Each column a principal is read from moves it.
    place_row::Entity::update_many()
        .col_expr(place_row::Column::Name, Expr::value("金山新社区"))
        .filter(place_row::Column::Id.eq(t.community))
        .exec(conn)
        .await
        .unwrap();
    epoch!(moved, "a place renamed");
    exec(format!(
        "UPDATE place SET compound_id = compound_id WHERE id = {}",
        t.compound.building
    ))
    .await;
    epoch!(moved, "a place's position");
    exec(format!(
        "UPDATE account SET disabled = true WHERE id = {account_id}"
    ))
    .await;
    epoch!(moved, "an account disabled");
    exec(format!(
        "UPDATE api_token SET revoked_at = now() WHERE id = {}",
        token.id
    ))
    .await;
    epoch!(moved, "a token revoked");
    session_row::Entity::delete_many().exec(conn).await.unwrap();
    epoch!(moved, "sessions ended");
    exec("TRUNCATE session".to_string()).await;
    epoch!(moved, "sessions truncated");

    // Restored to an older value, the next change moves it past them all.
    let newest = last;
    exec("UPDATE principal_epoch SET value = 1".to_string()).await;
    last = principal_epoch(&app.db.db).await;
    exec(format!(
        "UPDATE account SET disabled = false WHERE id = {account_id}"
    ))
    .await;
    epoch!(moved, "after a restore");
    assert!(last > newest, "{last} after {newest}");
}

/// Requests that wait for the epoch together share one read of it, begun
/// after they all arrived.
#[db_test]
async fn postgres_one_read_of_the_epoch_serves_the_requests_waiting(db: TestDb) {
    use jinlin_kernel::db::epoch::Epochs;
    if !db.is_postgres() {
        return;
    }
    let Some(Epochs::Reads(reads)) = db.db.epochs() else {
        panic!("PostgreSQL reads its principals' epoch");
    };
    let start = reads.epoch().await.unwrap();
    let begun = reads.reads_begun();
    let found = futures_util::future::join_all((0..64).map(|_| reads.epoch())).await;
    assert!(found.iter().all(|e| *e == Some(start)), "{found:?}");
    // One or two: the 64 ask within one poll, far quicker than a read.
    let used = reads.reads_begun() - begun;
    assert!((1..=8).contains(&used), "{used} reads for 64 requests");
}

/// On PostgreSQL each node keeps the principals it has read, and a change
/// made through any node holds on every other from the next request.
#[db_test]
async fn postgres_a_change_through_one_node_holds_on_the_others_at_once(db: TestDb) {
    use sea_orm::ConnectionTrait;
    if !db.is_postgres() {
        return;
    }
    let t = tree(&db.db).await;
    account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let other = TestApp::new(db.another_node().await);
    let app = TestApp::new(db);
    let session = signed_in(&app, "worker").await;
    let name = |r: TestResponse| r.json()["account"]["roles"][0]["place_name"].clone();
    for node in [&app, &other, &app, &other] {
        assert_eq!(name(me(node, &session).await), "金山社区");
    }

    // Kept: a rename the epoch is not told of (its trigger off for the
    // test) is not seen by either node.
    let conn = app.db.db.conn();
    conn.execute_unprepared("ALTER TABLE place DISABLE TRIGGER principal_epoch")
        .await
        .unwrap();
    conn.execute_unprepared(&format!(
        "UPDATE place SET name = '金山新社区' WHERE id = {}",
        t.community
    ))
    .await
    .unwrap();
    conn.execute_unprepared("ALTER TABLE place ENABLE TRIGGER principal_epoch")
        .await
        .unwrap();
    for node in [&app, &other] {
        assert_eq!(name(me(node, &session).await), "金山社区");
    }

    // Signed out through one node: refused by the other from the next
    // request.
    let out = call(
        &app,
        &session,
        Method::DELETE,
        "/api/v1/session",
        None,
        true,
    )
    .await;
    assert!(out.status.is_success(), "{}", out.status);
    assert_eq!(me(&other, &session).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&app, &session).await.status, StatusCode::UNAUTHORIZED);

    // Signed in again, kept on both, then renamed with the epoch told.
    let session = signed_in(&other, "worker").await;
    for node in [&app, &other] {
        assert_eq!(name(me(node, &session).await), "金山新社区");
    }
    conn.execute_unprepared(&format!(
        "UPDATE place SET name = '金山社区' WHERE id = {}",
        t.community
    ))
    .await
    .unwrap();
    for node in [&other, &app] {
        assert_eq!(name(me(node, &session).await), "金山社区");
    }
}

#[db_test]
async fn the_hourly_job_removes_sessions_never_presented_again(db: TestDb) {
    use jinlin_kernel::auth::entity::session as session_row;
    use jinlin_kernel::jobs::{JobRunner, RunnerConfig, SESSIONS_PRUNE, kernel_handlers};
    let t = tree(&db.db).await;
    account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let app = TestApp::new(db);
    let mut sessions = Vec::new();
    for _ in 0..3 {
        sessions.push(signed_in(&app, "worker").await);
    }
    let id_of = |s: &Session| {
        jinlin_kernel::auth::hash_token(s.cookie.trim_start_matches("jinlin_session="))
    };
    // One idle for 12 hours, one past its lifetime, one live; none of
    // them presented again.
    let now = Utc::now();
    for (s, seen, expires) in [
        (
            &sessions[0],
            now - Duration::hours(12),
            now + Duration::days(1),
        ),
        (&sessions[1], now, now - Duration::seconds(1)),
    ] {
        session_row::Entity::update_many()
            .col_expr(session_row::Column::LastSeenAt, Expr::value(seen))
            .col_expr(session_row::Column::ExpiresAt, Expr::value(expires))
            .filter(session_row::Column::Id.eq(id_of(s)))
            .exec(app.db.db.conn())
            .await
            .unwrap();
    }
    let handlers = kernel_handlers();
    assert!(handlers.kinds().any(|k| k == SESSIONS_PRUNE));
    let runner = JobRunner::new(
        app.db.db.clone(),
        handlers,
        RunnerConfig {
            node: "prune-test".into(),
            ..Default::default()
        },
    );
    runner.tick_at(now).await.unwrap();
    let left: Vec<String> = session_rows(&app).await.into_iter().map(|s| s.id).collect();
    assert_eq!(left, vec![id_of(&sessions[2])]);
    assert_eq!(me(&app, &sessions[2]).await.status, StatusCode::OK);
}

#[db_test]
async fn writes_need_the_csrf_token(db: TestDb) {
    let t = tree(&db.db).await;
    account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let app = TestApp::new(db);
    let session = signed_in(&app, "worker").await;

    let body = r#"{"name": "report", "can_write": false}"#;
    let api = call(
        &app,
        &session,
        Method::POST,
        "/api/v1/tokens",
        Some(body),
        false,
    )
    .await;
    assert_eq!(api.status, StatusCode::FORBIDDEN);
    assert_eq!(api_error(&api).0, "csrf");

    for (path, fields) in [
        ("/account/tokens", vec![("name", "report")]),
        ("/account/tokens", vec![("name", "report"), ("csrf", "x")]),
        (
            "/account/password",
            vec![
                ("current", PASSWORD),
                ("new", "another-password"),
                ("confirm", "another-password"),
            ],
        ),
        (
            "/invitations",
            vec![
                ("role", "resident"),
                ("place_id", "1"),
                ("invitee_name", "x"),
            ],
        ),
    ] {
        let page = post_form(&app, path, &session.cookie, &fields).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert!(page.text().contains("<html"), "{path}");
    }
    // The sign-in form needs its own token, in the cookie and the field alike.
    let no_cookie = post_form(
        &app,
        "/login",
        "",
        &[
            ("csrf", "abc"),
            ("username", "worker"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(no_cookie.status, StatusCode::FORBIDDEN);
    assert!(set_cookie(&no_cookie, "jinlin_session").is_none());

    assert_eq!(
        api_token::Entity::find()
            .count(app.db.db.conn())
            .await
            .unwrap(),
        0
    );
    assert_eq!(count_actions(&app, "account.password_change").await, 0);
}

async fn password_form(
    app: &TestApp,
    session: &Session,
    current: &str,
    new: &str,
    confirm: &str,
) -> TestResponse {
    post_form(
        app,
        "/account/password",
        &session.cookie,
        &[
            ("csrf", &session.csrf),
            ("current", current),
            ("new", new),
            ("confirm", confirm),
        ],
    )
    .await
}

#[db_test]
async fn changing_the_password_ends_the_other_sessions(db: TestDb) {
    let t = tree(&db.db).await;
    account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let app = TestApp::new(db);
    let here = signed_in(&app, "worker").await;
    let elsewhere = signed_in(&app, "worker").await;
    let path = "/api/v1/account/password";

    let wrong = call(
        &app,
        &here,
        Method::PUT,
        path,
        Some(r#"{"current_password": "nope-nope", "new_password": "brand-new-pw"}"#),
        true,
    )
    .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert_eq!(api_error(&wrong).0, "wrong_password");
    let short = call(
        &app,
        &here,
        Method::PUT,
        path,
        Some(&format!(
            r#"{{"current_password": "{PASSWORD}", "new_password": "short"}}"#
        )),
        true,
    )
    .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(api_error(&short).1.contains('8'));

    let changed = call(
        &app,
        &here,
        Method::PUT,
        path,
        Some(&format!(
            r#"{{"current_password": "{PASSWORD}", "new_password": "brand-new-pw"}}"#
        )),
        true,
    )
    .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.text());
    let this_one = call(&app, &here, Method::GET, "/api/v1/session", None, false).await;
    assert_eq!(this_one.status, StatusCode::OK);
    let other = call(
        &app,
        &elsewhere,
        Method::GET,
        "/api/v1/session",
        None,
        false,
    )
    .await;
    assert_eq!(other.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        api_login(&app, "worker", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        api_login(&app, "worker", "brand-new-pw").await.status,
        StatusCode::OK
    );
    assert_eq!(count_actions(&app, "account.password_change").await, 1);

    // The page: a mismatch is refused, a change is confirmed.
    let mismatch = password_form(
        &app,
        &here,
        "brand-new-pw",
        "third-password",
        "third-passw0rd",
    )
    .await;
    assert_eq!(mismatch.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(mismatch.text().contains("两次输入的新密码不一致"));
    let done = password_form(
        &app,
        &here,
        "brand-new-pw",
        "third-password",
        "third-password",
    )
    .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    assert!(done.text().contains("密码已修改"));
}

#[db_test]
async fn api_tokens_read_write_and_revoke(db: TestDb) {
    let t = tree(&db.db).await;
    account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    account(&db.db, "other", Role::CommunityWorker, t.other_community).await;
    let app = TestApp::new(db);
    let session = signed_in(&app, "worker").await;

    let created = call(
        &app,
        &session,
        Method::POST,
        "/api/v1/tokens",
        Some(r#"{"name": "nightly report", "can_write": false}"#),
        true,
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let read_only = created.json()["token"].as_str().unwrap().to_string();
    let read_only_id = created.json()["id"].as_i64().unwrap();
    assert!(read_only.starts_with("jl_") && read_only.len() == 67);
    assert_eq!(created.json()["can_write"], false);

    let me = with_token(&app, &read_only, Method::GET, "/api/v1/session", None).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["account"]["username"], "worker");
    assert!(me.json()["csrf_token"].is_null());
    let write = with_token(
        &app,
        &read_only,
        Method::POST,
        "/api/v1/tokens",
        Some(r#"{"name": "sneaky", "can_write": true}"#),
    )
    .await;
    assert_eq!(write.status, StatusCode::FORBIDDEN);
    assert_eq!(api_error(&write).0, "token_read_only");

    let writer = call(
        &app,
        &session,
        Method::POST,
        "/api/v1/tokens",
        Some(r#"{"name": "sync", "can_write": true}"#),
        true,
    )
    .await
    .json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let by_token = with_token(
        &app,
        &writer,
        Method::POST,
        "/api/v1/tokens",
        Some(r#"{"name": "made by a token"}"#),
    )
    .await;
    assert_eq!(by_token.status, StatusCode::CREATED);
    let list = call(&app, &session, Method::GET, "/api/v1/tokens", None, false).await;
    let listed = list.json();
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["made by a token", "sync", "nightly report"]);
    assert!(!list.text().contains(&read_only));

    // Someone else's token, or nonsense, is not found.
    let other = signed_in(&app, "other").await;
    let path = format!("/api/v1/tokens/{read_only_id}");
    let theirs = call(&app, &other, Method::DELETE, &path, None, true).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    let nonsense = call(
        &app,
        &session,
        Method::DELETE,
        "/api/v1/tokens/abc",
        None,
        true,
    )
    .await;
    assert_eq!(nonsense.status, StatusCode::NOT_FOUND);

    let revoked = call(&app, &session, Method::DELETE, &path, None, true).await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let again = call(&app, &session, Method::DELETE, &path, None, true).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let dead = with_token(&app, &read_only, Method::GET, "/api/v1/session", None).await;
    assert_eq!(dead.status, StatusCode::UNAUTHORIZED);
    assert_eq!(count_actions(&app, "token.create").await, 3);
    assert_eq!(count_actions(&app, "token.revoke").await, 1);

    // The page shows a new token once and revokes with a form.
    let page = post_form(
        &app,
        "/account/tokens",
        &session.cookie,
        &[
            ("csrf", &session.csrf),
            ("name", "页面令牌"),
            ("access", "read"),
        ],
    )
    .await;
    assert_eq!(page.status, StatusCode::CREATED, "{}", page.text());
    let shown = input_value(&page.text(), "new-token");
    assert!(shown.starts_with("jl_"), "{shown}");
    let again = call(&app, &session, Method::GET, "/account", None, false).await;
    assert!(!again.text().contains(&shown));
    let id = api_token::Entity::find()
        .filter(api_token::Column::Name.eq("页面令牌"))
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap()
        .id;
    let revoke = post_form(
        &app,
        &format!("/account/tokens/{id}/revoke"),
        &session.cookie,
        &[("csrf", &session.csrf)],
    )
    .await;
    assert_eq!(revoke.status, StatusCode::SEE_OTHER);
    let dead = with_token(&app, &shown, Method::GET, "/api/v1/session", None).await;
    assert_eq!(dead.status, StatusCode::UNAUTHORIZED);
    let bad_name = post_form(
        &app,
        "/account/tokens",
        &session.cookie,
        &[("csrf", &session.csrf), ("name", "  ")],
    )
    .await;
    assert_eq!(bad_name.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn invite(
    app: &TestApp,
    session: &Session,
    role: &str,
    place_id: i64,
    name: &str,
) -> TestResponse {
    let body = serde_json::json!({ "role": role, "place_id": place_id, "invitee_name": name });
    call(
        app,
        session,
        Method::POST,
        "/api/v1/invitations",
        Some(&body.to_string()),
        true,
    )
    .await
}

async fn accept(app: &TestApp, token: &str, username: &str, password: &str) -> TestResponse {
    let body = serde_json::json!({
        "username": username, "display_name": "王芳", "password": password
    });
    app.json(
        Method::POST,
        &format!("/api/v1/invitations/{token}/accept"),
        &body.to_string(),
    )
    .await
}

#[db_test]
async fn an_invited_compound_secretary_signs_up_and_holds_the_role(db: TestDb) {
    let t = tree(&db.db).await;
    account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let app = TestApp::new(db);
    let worker = signed_in(&app, "worker").await;

    let created = invite(
        &app,
        &worker,
        "compound_secretary",
        t.compound.compound,
        "王芳",
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let token = created.json()["token"].as_str().unwrap().to_string();
    assert_eq!(
        created.json()["path"].as_str().unwrap(),
        format!("/invite/{token}")
    );
    let expires = created.json()["expires_at"].as_str().unwrap().to_string();
    let expires = chrono::DateTime::parse_from_rfc3339(&expires).unwrap();
    let days = (expires.with_timezone(&Utc) - Utc::now()).num_hours();
    assert!((167..=168).contains(&days), "{days}");

    let page = app.get(&format!("/invite/{token}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("金山花园"));
    assert!(page.text().contains("小区党组织书记"));

    let accepted = accept(&app, &token, " WangFang ", "wang-fang-pw").await;
    assert_eq!(accepted.status, StatusCode::CREATED, "{}", accepted.text());
    assert_eq!(accepted.json()["account"]["username"], "wangfang");
    assert_eq!(
        accepted.json()["account"]["roles"][0]["role"],
        "compound_secretary"
    );
    let cookie = page_session(&accepted);
    let me = app
        .get_with("/api/v1/session", &[("cookie", &cookie)])
        .await;
    assert_eq!(me.json()["account"]["display_name"], "王芳");

    let login = api_login(&app, "wangfang", "wang-fang-pw").await;
    assert_eq!(login.status, StatusCode::OK);
    let roles = &login.json()["account"]["roles"];
    assert_eq!(roles.as_array().unwrap().len(), 1);
    assert_eq!(roles[0]["role"], "compound_secretary");
    assert_eq!(roles[0]["place_id"], t.compound.compound);

    let used = accept(&app, &token, "someone", "some-password").await;
    assert_eq!(used.status, StatusCode::NOT_FOUND);
    let list = call(
        &app,
        &worker,
        Method::GET,
        "/api/v1/invitations",
        None,
        false,
    )
    .await;
    assert_eq!(list.json()[0]["status"], "accepted");
    assert_eq!(list.json()[0]["place_name"], "金山花园");
    assert_eq!(count_actions(&app, "invitation.create").await, 1);
    assert_eq!(count_actions(&app, "invitation.accept").await, 1);

    // The pages: the worker invites a resident, who accepts with the form.
    let form = app
        .get_with("/invitations", &[("cookie", &worker.cookie)])
        .await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.text().contains("value=\"compound_secretary\""));
    let dwelling = t.compound.dwellings[0].to_string();
    let created = post_form(
        &app,
        "/invitations",
        &worker.cookie,
        &[
            ("csrf", &worker.csrf),
            ("role", "resident"),
            ("place_id", &dwelling),
            ("invitee_name", "陈明"),
        ],
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let link = input_value(&created.text(), "invite-link");
    let invite_page = app.get(&link).await;
    let csrf = field(&invite_page.text(), "csrf");
    assert_eq!(field(&invite_page.text(), "display_name"), "陈明");
    let done = post_form(
        &app,
        &link,
        &format!("jinlin_login_csrf={csrf}"),
        &[
            ("csrf", &csrf),
            ("username", "chenming"),
            ("display_name", "陈明"),
            ("password", "chen-ming-pw"),
            ("confirm", "chen-ming-pw"),
        ],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
    assert_eq!(done.header("location"), Some("/account"));
    let account_page = app
        .get_with("/account", &[("cookie", &page_session(&done))])
        .await;
    assert!(account_page.text().contains("业主 / 居民"));
}

#[db_test]
async fn invitations_stay_within_the_inviters_reach(db: TestDb) {
    let t = tree(&db.db).await;
    account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    account(&db.db, "resident", Role::Resident, t.compound.dwellings[0]).await;
    account(&db.db, "street", Role::StreetAdmin, t.street).await;
    let app = TestApp::new(db);
    let worker = signed_in(&app, "worker").await;
    let resident = signed_in(&app, "resident").await;
    let street = signed_in(&app, "street").await;

    let far = invite(&app, &worker, "compound_secretary", t.far.compound, "某人").await;
    assert_eq!(far.status, StatusCode::NOT_FOUND);
    let missing = invite(&app, &worker, "compound_secretary", 999_999, "某人").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let by_resident = invite(&app, &resident, "resident", t.compound.dwellings[0], "某人").await;
    assert_eq!(by_resident.status, StatusCode::FORBIDDEN);
    let up = invite(
        &app,
        &resident,
        "compound_secretary",
        t.compound.compound,
        "某人",
    )
    .await;
    assert_eq!(up.status, StatusCode::FORBIDDEN);
    let sideways = invite(&app, &worker, "community_worker", t.community, "某人").await;
    assert_eq!(sideways.status, StatusCode::FORBIDDEN);
    let wrong_kind = invite(&app, &worker, "compound_secretary", t.community, "某人").await;
    assert_eq!(wrong_kind.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unknown_role = invite(&app, &worker, "root", t.compound.compound, "某人").await;
    assert_eq!(unknown_role.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(api_error(&unknown_role).1.contains("root"));
    let no_name = invite(&app, &worker, "resident", t.compound.dwellings[0], " ").await;
    assert_eq!(no_name.status, StatusCode::UNPROCESSABLE_ENTITY);
    let allowed = invite(&app, &street, "community_worker", t.community, "某人").await;
    assert_eq!(allowed.status, StatusCode::CREATED);

    // The page answers the same way.
    let far_page = post_form(
        &app,
        "/invitations",
        &worker.cookie,
        &[
            ("csrf", &worker.csrf),
            ("role", "compound_secretary"),
            ("place_id", &t.far.compound.to_string()),
            ("invitee_name", "某人"),
        ],
    )
    .await;
    assert_eq!(far_page.status, StatusCode::NOT_FOUND);
    let resident_page = post_form(
        &app,
        "/invitations",
        &resident.cookie,
        &[
            ("csrf", &resident.csrf),
            ("role", "resident"),
            ("place_id", &t.compound.dwellings[0].to_string()),
            ("invitee_name", "某人"),
        ],
    )
    .await;
    assert_eq!(resident_page.status, StatusCode::FORBIDDEN);
    let bad_place = post_form(
        &app,
        "/invitations",
        &worker.cookie,
        &[
            ("csrf", &worker.csrf),
            ("role", "resident"),
            ("place_id", "abc"),
            ("invitee_name", "某人"),
        ],
    )
    .await;
    assert_eq!(bad_place.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad_place.text().contains("地点编号"));

    assert_eq!(
        invitation::Entity::find()
            .count(app.db.db.conn())
            .await
            .unwrap(),
        1
    );
}

#[db_test]
async fn expired_used_and_unknown_invitations_are_not_found(db: TestDb) {
    let t = tree(&db.db).await;
    account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let app = TestApp::new(db);
    let worker = signed_in(&app, "worker").await;
    let created = invite(&app, &worker, "resident", t.compound.dwellings[1], "某人").await;
    let token = created.json()["token"].as_str().unwrap().to_string();

    invitation::Entity::update_many()
        .col_expr(
            invitation::Column::ExpiresAt,
            Expr::value(Utc::now() - Duration::minutes(1)),
        )
        .exec(app.db.db.conn())
        .await
        .unwrap();
    let page = app.get(&format!("/invite/{token}")).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.text().contains("<html"));
    let api = accept(&app, &token, "someone", "some-password").await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert_eq!(api_error(&api).0, "invitation_invalid");

    let unknown = "0".repeat(64);
    for path in [format!("/invite/{unknown}"), "/invite/zz".to_string()] {
        assert_eq!(app.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    let api = accept(&app, &unknown, "someone", "some-password").await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert!(account_by_name(&app, "someone").await.is_none());
}

#[db_test]
async fn a_taken_username_is_a_conflict_and_nothing_is_created(db: TestDb) {
    let t = tree(&db.db).await;
    account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    account(&db.db, "taken", Role::Resident, t.compound.dwellings[1]).await;
    let app = TestApp::new(db);
    let worker = signed_in(&app, "worker").await;
    let created = invite(&app, &worker, "resident", t.compound.dwellings[0], "某人").await;
    let token = created.json()["token"].as_str().unwrap().to_string();
    let conn = app.db.db.conn();
    let accounts = account_row::Entity::find().count(conn).await.unwrap();
    let grants = role_grant::Entity::find().count(conn).await.unwrap();

    let taken = accept(&app, &token, "taken", "some-password").await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert_eq!(api_error(&taken).0, "username_taken");

    let path = format!("/api/v1/invitations/{token}/accept");
    for (body, status) in [
        (
            r#"{"username": "ab", "display_name": "某人", "password": "long-enough"}"#,
            422,
        ),
        (
            r#"{"username": "Bad Name", "display_name": "某人", "password": "long-enough"}"#,
            422,
        ),
        (
            r#"{"username": "fine", "display_name": " ", "password": "long-enough"}"#,
            422,
        ),
        (
            r#"{"username": "fine", "display_name": "某人", "password": "short"}"#,
            422,
        ),
        (r#"{"username": "fine", "display_name": "某人"}"#, 422),
        (
            r#"{"username": "fine", "display_name": "某人", "password": 5}"#,
            422,
        ),
        (r#"{"username": "fine""#, 400),
    ] {
        let r = app.json(Method::POST, &path, body).await;
        assert_eq!(r.status.as_u16(), status, "{body}: {}", r.text());
        api_error(&r);
    }

    assert_eq!(
        account_row::Entity::find().count(conn).await.unwrap(),
        accounts
    );
    assert_eq!(
        role_grant::Entity::find().count(conn).await.unwrap(),
        grants
    );
    let open = invitation::Entity::find().one(conn).await.unwrap().unwrap();
    assert_eq!(open.accepted_at, None);
    assert_eq!(count_actions(&app, "invitation.accept").await, 0);

    // The invitation still works for a fresh username.
    let ok = accept(&app, &token, "fresh", "some-password").await;
    assert_eq!(ok.status, StatusCode::CREATED);
}

#[db_test]
async fn only_district_admins_read_the_audit_log(db: TestDb) {
    let t = tree(&db.db).await;
    account(&db.db, "admin", Role::DistrictAdmin, t.district).await;
    account(&db.db, "street", Role::StreetAdmin, t.street).await;
    let app = TestApp::new(db);
    let street = signed_in(&app, "street").await;
    api_login(&app, "street", "wrong-password").await;
    let admin = signed_in(&app, "admin").await;
    // An entry of another district stays out of sight.
    jinlin_kernel::audit::record(
        app.db.db.conn(),
        jinlin_kernel::audit::Entry::new(None, "place.create", "place")
            .district(Some("350105".into())),
    )
    .await
    .unwrap();

    let all = call(&app, &admin, Method::GET, "/api/v1/audit", None, false).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text());
    let body = all.json();
    assert_eq!(body["total"], 3);
    assert_eq!(body["per_page"], 50);
    let actions: Vec<&str> = body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["auth.login", "auth.login_failed", "auth.login"]);
    assert_eq!(body["entries"][0]["actor_username"], "admin");
    assert_eq!(body["entries"][1]["detail"]["reason"], "wrong_password");

    let failed = call(
        &app,
        &admin,
        Method::GET,
        "/api/v1/audit?action=auth.login_&actor=",
        None,
        false,
    )
    .await;
    assert_eq!(failed.json()["total"], 1);
    let by_street = call(
        &app,
        &admin,
        Method::GET,
        "/api/v1/audit?actor=street",
        None,
        false,
    )
    .await;
    assert_eq!(by_street.json()["total"], 1);
    let today = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .date_naive();
    let in_range = format!("/api/v1/audit?from={today}&to={today}");
    assert_eq!(
        call(&app, &admin, Method::GET, &in_range, None, false)
            .await
            .json()["total"],
        3
    );
    let before = format!("/api/v1/audit?to={}", today.pred_opt().unwrap());
    assert_eq!(
        call(&app, &admin, Method::GET, &before, None, false)
            .await
            .json()["total"],
        0
    );
    let page_two = call(
        &app,
        &admin,
        Method::GET,
        "/api/v1/audit?page=2",
        None,
        false,
    )
    .await;
    assert_eq!(page_two.json()["entries"].as_array().unwrap().len(), 0);
    for bad in [
        "/api/v1/audit?page=abc",
        "/api/v1/audit?page=0",
        "/api/v1/audit?from=2026-13-01",
    ] {
        let r = call(&app, &admin, Method::GET, bad, None, false).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
        api_error(&r);
    }

    let refused = call(&app, &street, Method::GET, "/api/v1/audit", None, false).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let page = app
        .get_with("/admin/audit", &[("cookie", &street.cookie)])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);

    let page = app
        .get_with("/admin/audit?action=auth.", &[("cookie", &admin.cookie)])
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("auth.login_failed"), "{html}");
    assert!(html.contains("<th scope=\"col\">"));
    assert!(!html.contains("place.create"));
    let bad = app
        .get_with("/admin/audit?from=yesterday", &[("cookie", &admin.cookie)])
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[db_test]
async fn every_route_asks_for_sign_in(db: TestDb) {
    let app = TestApp::new(db);
    for (method, path) in [
        (Method::GET, "/api/v1/session"),
        (Method::DELETE, "/api/v1/session"),
        (Method::PUT, "/api/v1/account/password"),
        (Method::GET, "/api/v1/tokens"),
        (Method::POST, "/api/v1/tokens"),
        (Method::DELETE, "/api/v1/tokens/1"),
        (Method::GET, "/api/v1/invitations"),
        (Method::POST, "/api/v1/invitations"),
        (Method::GET, "/api/v1/audit"),
    ] {
        let r = app
            .request(
                method.clone(),
                path,
                &[("content-type", "application/json")],
                Body::from("{}"),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_eq!(api_error(&r).0, "unauthorized");
    }
    for (method, path) in [
        (Method::GET, "/account"),
        (Method::POST, "/account/password"),
        (Method::POST, "/account/tokens"),
        (Method::POST, "/account/tokens/1/revoke"),
        (Method::GET, "/invitations"),
        (Method::POST, "/invitations"),
        (Method::GET, "/admin/audit"),
    ] {
        let r = app
            .request(
                method.clone(),
                path,
                &[("content-type", "application/x-www-form-urlencoded")],
                Body::empty(),
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{method} {path}");
        let location = r.header("location").unwrap();
        assert!(location.starts_with("/login?next=%2F"), "{location}");
    }
    // Signing out without a session just goes home.
    let r = app
        .request(
            Method::POST,
            "/logout",
            &[("content-type", "application/x-www-form-urlencoded")],
            Body::empty(),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[db_test]
async fn bad_input_gets_a_clear_answer_and_stores_nothing(db: TestDb) {
    let t = tree(&db.db).await;
    account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let app = TestApp::new(db);

    for (body, status) in [
        (r#"{"username": "worker""#, 400),
        (r#"{"username": "worker"}"#, 422),
        (r#"{"username": "worker", "password": 1}"#, 422),
        (
            r#"{"username": "worker", "password": "x", "extra": 1}"#,
            422,
        ),
    ] {
        let r = app.json(Method::POST, "/api/v1/session", body).await;
        assert_eq!(r.status.as_u16(), status, "{body}");
        api_error(&r);
    }
    let session = signed_in(&app, "worker").await;
    for (method, path, body, status) in [
        (Method::PUT, "/api/v1/account/password", "{", 400),
        (
            Method::PUT,
            "/api/v1/account/password",
            r#"{"new_password": "long-enough"}"#,
            422,
        ),
        (Method::POST, "/api/v1/tokens", "[1]", 422),
        (
            Method::POST,
            "/api/v1/tokens",
            r#"{"can_write": true}"#,
            422,
        ),
        (Method::POST, "/api/v1/tokens", r#"{"name": ""}"#, 422),
        (
            Method::POST,
            "/api/v1/tokens",
            &format!(r#"{{"name": "{}"}}"#, "x".repeat(65)),
            422,
        ),
        (Method::POST, "/api/v1/invitations", "nope", 400),
        (
            Method::POST,
            "/api/v1/invitations",
            r#"{"role": "resident"}"#,
            422,
        ),
        (
            Method::POST,
            "/api/v1/invitations",
            r#"{"role": "resident", "place_id": "x", "invitee_name": "a"}"#,
            422,
        ),
        (
            Method::POST,
            "/api/v1/invitations",
            &format!(
                r#"{{"role": "king", "place_id": {}, "invitee_name": "a"}}"#,
                t.compound.compound
            ),
            422,
        ),
    ] {
        let r = call(&app, &session, method.clone(), path, Some(body), true).await;
        assert_eq!(
            r.status.as_u16(),
            status,
            "{method} {path} {body}: {}",
            r.text()
        );
        let (_, message) = api_error(&r);
        assert!(has_cjk(&message), "{message}");
    }
    let not_json = app
        .request(
            Method::POST,
            "/api/v1/tokens",
            &[
                ("cookie", &session.cookie),
                ("x-csrf-token", &session.csrf),
                ("content-type", "text/plain"),
            ],
            Body::from(r#"{"name": "x"}"#),
        )
        .await;
    assert_eq!(not_json.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let not_a_form = app
        .request(
            Method::POST,
            "/account/tokens",
            &[
                ("cookie", &session.cookie),
                ("content-type", "application/json"),
            ],
            Body::from("{}"),
        )
        .await;
    assert_eq!(not_a_form.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(not_a_form.text().contains("<html"));

    let conn = app.db.db.conn();
    assert_eq!(api_token::Entity::find().count(conn).await.unwrap(), 0);
    assert_eq!(invitation::Entity::find().count(conn).await.unwrap(), 0);
    assert_eq!(count_actions(&app, "account.password_change").await, 0);
    assert!(
        api_login(&app, "worker", PASSWORD)
            .await
            .status
            .is_success()
    );
}

#[db_test]
async fn the_openapi_document_lists_the_accounts_api(db: TestDb) {
    let app = TestApp::new(db);
    let doc = app.get("/api/v1/openapi.json").await.json();
    for (path, method) in [
        ("/api/v1/session", "post"),
        ("/api/v1/session", "get"),
        ("/api/v1/session", "delete"),
        ("/api/v1/account/password", "put"),
        ("/api/v1/tokens", "get"),
        ("/api/v1/tokens", "post"),
        ("/api/v1/tokens/{id}", "delete"),
        ("/api/v1/invitations", "get"),
        ("/api/v1/invitations", "post"),
        ("/api/v1/invitations/{token}/accept", "post"),
        ("/api/v1/audit", "get"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
    }
    assert!(doc["components"]["schemas"]["SessionView"].is_object());
}
