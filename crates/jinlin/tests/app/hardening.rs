//! Security headers on every kind of response, cookie flags, and load
//! shedding on the real binary.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use axum::http::{Method, StatusCode};
use jinlin_kernel::Config;
use jinlin_kernel::auth::Role;
use jinlin_kernel::crypto::Secrets;
use jinlin_kernel::web::AppState;
use jinlin_kernel::web::CONTENT_SECURITY_POLICY;
use jinlin_testkit::fixtures::{PASSWORD, account, tree};
use jinlin_testkit::{TestDb, TestResponse, db_test};

use crate::support::{TestApp, api_error, has_cjk};

/// Requests against a router other than `TestApp`'s own.
struct Client<'a>(&'a axum::Router);

impl Client<'_> {
    async fn get(&self, path: &str) -> TestResponse {
        self.json(Method::GET, path, "").await
    }

    async fn json(&self, method: Method, path: &str, body: &str) -> TestResponse {
        let mut request = axum::http::Request::builder().method(method).uri(path);
        if !body.is_empty() {
            request = request.header("content-type", "application/json");
        }
        let request = request
            .body(axum::body::Body::from(body.to_string()))
            .unwrap();
        jinlin_testkit::send(self.0, request).await
    }
}

fn assert_security_headers(response: &TestResponse, what: &str, tls: bool) {
    let csp = response
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no Content-Security-Policy"));
    assert_eq!(csp, CONTENT_SECURITY_POLICY, "{what}");
    assert!(csp.contains("script-src 'self';"), "{what}: {csp}");
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert_eq!(
        response.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(response.header("x-frame-options"), Some("DENY"), "{what}");
    assert_eq!(
        response.header("referrer-policy"),
        Some("same-origin"),
        "{what}"
    );
    assert_eq!(
        response.header("strict-transport-security").is_some(),
        tls,
        "{what}: HSTS only behind TLS"
    );
}

fn set_cookies(response: &TestResponse) -> Vec<String> {
    response
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

/// Every response carries the headers: a page, an API answer, an API error,
/// a page error, an asset and the health check.
#[db_test]
async fn every_response_carries_security_headers(db: TestDb) {
    let app = TestApp::new(db);

    let page = app.get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_security_headers(&page, "page", false);
    // Pages load scripts from /assets only: nothing inline to allow.
    let html = page.text();
    assert!(
        html.contains("<script src=\"/assets/htmx.min.js\""),
        "{html}"
    );
    assert!(!html.contains("<script>"), "{html}");

    let api = app.get("/api/v1/meta").await;
    assert_eq!(api.status, StatusCode::OK);
    assert_security_headers(&api, "API", false);

    let api_missing = app.get("/api/v1/no-such-thing").await;
    assert_eq!(api_missing.status, StatusCode::NOT_FOUND);
    assert_eq!(api_error(&api_missing).0, "not_found");
    assert_security_headers(&api_missing, "API error", false);

    let page_missing = app.get("/no-such-page").await;
    assert_eq!(page_missing.status, StatusCode::NOT_FOUND);
    assert_security_headers(&page_missing, "page error", false);

    let asset = app.get("/assets/app.css").await;
    assert_eq!(asset.status, StatusCode::OK);
    assert_security_headers(&asset, "asset", false);

    let health = app.get("/healthz").await;
    assert_security_headers(&health, "health", false);
}

/// Behind TLS: HSTS, and every cookie Secure besides HttpOnly and SameSite
/// (the sign-in form's token, the session, the language).
#[db_test]
async fn behind_tls_cookies_are_secure_and_hsts_is_sent(db: TestDb) {
    let t = tree(&db.db).await;
    account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let plain = TestApp::new(db);
    let tls = jinlin::app(AppState::new(
        plain.db.db.clone(),
        Config {
            behind_tls: true,
            ..Config::default()
        },
        Secrets::from_bytes([7; 32]),
    ));

    for (router, secure) in [(&plain.router, false), (&tls, true)] {
        let app = Client(router);
        let login_page = app.get("/login").await;
        assert_eq!(login_page.status, StatusCode::OK);
        assert_security_headers(&login_page, "login page", secure);

        let body = serde_json::json!({ "username": "worker", "password": PASSWORD }).to_string();
        let session = app.json(Method::POST, "/api/v1/session", &body).await;
        assert_eq!(session.status, StatusCode::OK, "{}", session.text());
        assert_security_headers(&session, "sign-in", secure);

        let language = app
            .json(
                Method::PUT,
                "/api/v1/preferences/language",
                "{\"language\": \"en\"}",
            )
            .await;
        assert_eq!(language.status, StatusCode::OK);

        let cookies: Vec<String> = [&login_page, &session, &language]
            .into_iter()
            .flat_map(set_cookies)
            .collect();
        for name in ["jinlin_login_csrf=", "jinlin_session=", "jinlin_lang="] {
            assert!(
                cookies.iter().any(|c| c.starts_with(name)),
                "no {name} in {cookies:?}"
            );
        }
        for cookie in &cookies {
            let attrs: Vec<String> = cookie
                .split(';')
                .skip(1)
                .map(|a| a.trim().to_ascii_lowercase())
                .collect();
            assert!(attrs.iter().any(|a| a == "httponly"), "{cookie}");
            assert!(attrs.iter().any(|a| a == "samesite=lax"), "{cookie}");
            assert_eq!(attrs.iter().any(|a| a == "secure"), secure, "{cookie}");
        }
    }
}

const BIN: &str = env!("CARGO_BIN_EXE_jinlin");

/// A `jinlin serve` process on a free loopback port; killed when dropped.
pub struct Server {
    child: Child,
    pub addr: String,
}

impl Server {
    /// Starts `jinlin serve` on `data_dir` with extra arguments and
    /// environment, and waits until it listens.
    pub fn start(data_dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut command = Command::new(BIN);
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut printed = Vec::new();
        let addr = loop {
            let Some(line) = lines.next() else {
                let _ = child.kill();
                panic!("server ended early: {printed:?}");
            };
            let line = line.unwrap();
            if let Some(url) = line.strip_prefix("jinlin listening on ") {
                break url.trim_start_matches("http://").to_string();
            }
            printed.push(line);
        };
        // Keep reading stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { child, addr }
    }

    /// One request on its own connection: (status, headers and body).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String) {
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body.as_bytes()).unwrap();
        read_response(stream)
    }

    /// As `request`, to `addr`, but `None` when the server is gone (the
    /// connection refused or cut before a whole answer arrived).
    pub fn try_request(
        addr: &str,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Option<(u16, String)> {
        let mut stream = TcpStream::connect(addr).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .ok()?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).ok()?;
        stream.write_all(body.as_bytes()).ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        let status = response.split(' ').nth(1)?.parse().ok()?;
        // A cut-off answer has no complete body to acknowledge anything.
        let (_, body) = response.split_once("\r\n\r\n")?;
        if body.is_empty() {
            return None;
        }
        Some((status, response))
    }

    /// Kills the server without warning (SIGKILL) and reaps it.
    pub fn sigkill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
        self.request("GET", path, headers, "")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn read_response(mut stream: TcpStream) -> (u16, String) {
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
    (status, response)
}

/// The JSON body of a response read by `Server::request`.
pub fn json_body(response: &str) -> serde_json::Value {
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    // Chunked bodies: the JSON is the one line that starts with `{`.
    let json = body
        .lines()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON in {response}"));
    serde_json::from_str(json).unwrap()
}

/// A request whose body has not all arrived: its handler is running and
/// holds one of the server's in-flight places until `finish`.
struct Held(TcpStream);

impl Held {
    fn start(addr: &str) -> Held {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let body = "{\"language\": \"en\"}";
        write!(
            stream,
            "PUT /api/v1/preferences/language HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
            body.len(),
            &body[..5]
        )
        .unwrap();
        stream.flush().unwrap();
        Held(stream)
    }

    /// What the server has already sent on this connection, if anything
    /// (it should send nothing before the body is whole).
    fn early_answer(&self) -> String {
        let mut buf = [0u8; 512];
        self.0.set_nonblocking(true).unwrap();
        let read = (&self.0).read(&mut buf);
        self.0.set_nonblocking(false).unwrap();
        match read {
            Ok(0) => "closed".to_string(),
            Ok(n) => String::from_utf8_lossy(&buf[..n]).into_owned(),
            Err(e) => e.kind().to_string(),
        }
    }

    fn finish(mut self) -> (u16, String) {
        self.0.write_all(&b"{\"language\": \"en\"}"[5..]).unwrap();
        read_response(self.0)
    }
}

/// The value of `http_requests_in_flight` in a Prometheus scrape.
fn in_flight(metrics: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("http_requests_in_flight "))
        .and_then(|v| v.trim().parse().ok())
}

/// With every in-flight place taken, further requests are answered 503 at
/// once in the error shape (with Retry-After), in the requester's language,
/// while health and metrics still answer; once the slow requests finish the
/// server serves again.
#[test]
fn overload_is_shed_with_503_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[], &[("JINLIN_MAX_IN_FLIGHT_REQUESTS", "4")]);
    let (status, _) = server.get("/api/v1/meta", &[]);
    assert_eq!(status, 200);

    let held: Vec<Held> = (0..4).map(|_| Held::start(&server.addr)).collect();
    // The held requests take their places as the server reads their heads
    // (allow for a machine busy with other tests); the gauge says when.
    let mut metrics = String::new();
    for _ in 0..1200 {
        metrics = server.get("/metrics", &[]).1;
        if in_flight(&metrics) == Some(4.0) {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert_eq!(
        in_flight(&metrics),
        Some(4.0),
        "four held requests in flight; held answered early: {:?}\n{metrics}",
        held.iter().map(Held::early_answer).collect::<Vec<_>>()
    );
    let (status, shed) = server.get("/api/v1/meta", &[]);
    assert_eq!(
        status, 503,
        "a fifth request is shed while four are in flight"
    );
    assert!(
        shed.to_ascii_lowercase().contains("retry-after: 1"),
        "{shed}"
    );
    assert!(
        shed.to_ascii_lowercase()
            .contains("content-security-policy"),
        "{shed}"
    );
    let error = json_body(&shed);
    assert_eq!(error["error"]["code"], "overloaded");
    assert!(
        has_cjk(error["error"]["message"].as_str().unwrap()),
        "{error}"
    );

    // Many clients at once: every one is answered, each with 503.
    let clients: Vec<_> = (0..40)
        .map(|i| {
            let addr = server.addr.clone();
            std::thread::spawn(move || {
                let path = if i % 2 == 0 { "/api/v1/meta" } else { "/" };
                let mut stream = TcpStream::connect(&addr).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(60)))
                    .unwrap();
                write!(
                    stream,
                    "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept-Language: en\r\nConnection: close\r\n\r\n"
                )
                .unwrap();
                read_response(stream)
            })
        })
        .collect();
    for client in clients {
        let (status, response) = client.join().unwrap();
        assert_eq!(status, 503, "{response}");
        assert!(response.contains("The server is busy"), "{response}");
    }

    // Health and metrics are never shed.
    let (status, _) = server.get("/healthz", &[]);
    assert_eq!(status, 200);
    let (status, metrics) = server.get("/metrics", &[]);
    assert_eq!(status, 200);
    assert!(metrics.contains("http_requests_shed_total"), "{metrics}");

    // The slow requests complete normally, and the server recovers.
    for request in held {
        let (status, response) = request.finish();
        assert_eq!(status, 200, "{response}");
    }
    let (status, response) = server.get("/api/v1/meta", &[]);
    assert_eq!(status, 200, "{response}");
}

/// A sign-in attempt as "nobody" sent with `X-Forwarded-For: forwarded`.
fn failed_sign_in(server: &Server, forwarded: &str) -> u16 {
    let body = r#"{"username":"nobody","password":"not-the-password"}"#;
    let headers = [
        ("Content-Type", "application/json"),
        ("X-Forwarded-For", forwarded),
    ];
    server.request("POST", "/api/v1/session", &headers, body).0
}

/// Behind a trusted load balancer the client's address comes from
/// `X-Forwarded-For`: the sign-in limit counts each client apart and the
/// audit log names the client, not the balancer, nor an address the
/// client wrote in the header itself. A server that trusts no proxy
/// ignores the header, so forging it gains no fresh attempts.
#[test]
fn clients_behind_a_trusted_proxy_are_told_apart_and_forgers_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &["--demo", "--trusted-proxy", "127.0.0.1"],
        &[("JINLIN_DEMO_SCALE", "small")],
    );
    for _ in 0..10 {
        assert_eq!(failed_sign_in(&server, "198.51.100.1"), 401);
    }
    assert_eq!(failed_sign_in(&server, "198.51.100.1"), 429);
    // Another client behind the same balancer still has its attempts, and
    // a forged first hop does not move the first client's count elsewhere.
    assert_eq!(failed_sign_in(&server, "198.51.100.2"), 401);
    assert_eq!(failed_sign_in(&server, "203.0.113.5, 198.51.100.1"), 429);

    // The district administrator signs in through the balancer.
    let body = r#"{"username":"district","password":"jinlin-demo-2026"}"#;
    let headers = [
        ("Content-Type", "application/json"),
        ("X-Forwarded-For", "203.0.113.9, 198.51.100.3"),
    ];
    let (status, response) = server.request("POST", "/api/v1/session", &headers, body);
    assert_eq!(status, 200, "{response}");
    let cookie = response
        .lines()
        .filter_map(|l| {
            l.split_once(": ")
                .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        })
        .map(|(_, v)| v.split(';').next().unwrap().to_string())
        .find(|c| c.starts_with("jinlin_session="))
        .expect("a session cookie");
    let (status, response) = server.get(
        "/api/v1/audit?action=auth.",
        &[("Cookie", &cookie), ("Accept-Language", "en")],
    );
    assert_eq!(status, 200, "{response}");
    let page = json_body(&response);
    let addresses = |action: &str| -> Vec<String> {
        page["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == action)
            .map(|e| e["actor_ip"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(addresses("auth.login"), ["198.51.100.3"]);
    let failed = addresses("auth.login_failed");
    assert!(failed.iter().any(|a| a == "198.51.100.1"), "{failed:?}");
    assert!(failed.iter().any(|a| a == "198.51.100.2"), "{failed:?}");
    assert!(
        failed.iter().all(|a| a.starts_with("198.51.100.")),
        "neither the balancer nor a forged hop is recorded: {failed:?}"
    );
    drop(server);

    // Trusting no proxy: the header is the client's own words.
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[], &[]);
    for i in 0..10 {
        assert_eq!(failed_sign_in(&server, &format!("198.51.100.{i}")), 401);
    }
    assert_eq!(failed_sign_in(&server, "198.51.100.99"), 429);
}

/// A trusted proxy that is not an address is refused at start, by name.
#[test]
fn a_malformed_trusted_proxy_stops_the_server_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--trusted-proxy",
            "nginx.local",
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("nginx.local"), "{err}");
}
