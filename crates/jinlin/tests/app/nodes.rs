//! Several `jinlin serve` nodes on one PostgreSQL database behind nginx
//! (Debian's, installed by `scripts/nginx-install`; run with the shipped
//! `deploy/nginx.conf`). Requests land on every node, and still: a session
//! started on one node holds on all, with its CSRF token, and ends on all;
//! queued jobs run once across the nodes; marks sent through different
//! nodes (each with its own group-commit writer) count every household
//! once; ballots cast through different nodes are all tallied and the
//! vote's chain verifies; and when a node is killed with SIGKILL under
//! load, reads are carried on by the others through nginx and every write
//! a client saw acknowledged is stored. A second test starts nodes at once
//! on an empty database: they take turns at the migrations and all come up.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jinlin_kernel::auth::{Role, session};
use jinlin_kernel::notify::{Message, Outbound, send_outbound};
use jinlin_mobilisation::entity::{mobilisation_household, mobilisation_unit};
use jinlin_testkit::TestDb;
use jinlin_testkit::fixtures::{PASSWORD, account};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Statement};
use serde_json::Value;

use crate::deliberation::{
    self, insert_dwelling, link_person, ok, open_vote, propose, register_owner, to_public_review,
};
use crate::hardening::Server;

const NODES: usize = 3;
/// The same key on every node (base64 of 32 bytes).
const SECRET_KEY: &str = "bm9kZXMtdGVzdC1rZXktb2YtdGhpcnR5LXR3by1ieXQ=";

/// Debian's nginx, or a failure that says how to get it (never a skip).
fn nginx_binary() -> PathBuf {
    for candidate in ["/usr/sbin/nginx", "/usr/local/sbin/nginx"] {
        let path = PathBuf::from(candidate);
        if path.exists() {
            return path;
        }
    }
    panic!(
        "nginx is not installed: the several-nodes test needs it as the load balancer; \
         run scripts/nginx-install (scripts/test does)"
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// nginx with `deploy/nginx.conf`, its upstream replaced by `nodes` and
/// its `listen` by a free loopback port; stopped when dropped.
struct Nginx {
    child: Child,
    addr: String,
    dir: tempfile::TempDir,
}

impl Nginx {
    fn start(nodes: &[String]) -> Nginx {
        let binary = nginx_binary();
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let site = include_str!("../../../../deploy/nginx.conf");
        // The shipped upstream block, with this test's nodes in it.
        let start = site.find("upstream jinlin {").unwrap();
        let end = start + site[start..].find("\n}").unwrap() + 2;
        let servers: String = nodes
            .iter()
            .map(|n| format!("    server {n} max_fails=1 fail_timeout=10s;\n"))
            .collect();
        let site = format!(
            "{}upstream jinlin {{\n{servers}    keepalive 32;\n}}{}",
            &site[..start],
            &site[end..]
        );
        assert!(site.contains("    listen 80;"), "{site}");
        let site = site
            .replace("    listen 80;", &format!("    listen 127.0.0.1:{port};"))
            // Name the node that answered, for the test to see where each
            // request landed (a retried one lists every node it tried).
            .replace(
                "    location / {",
                "    location / {\n        add_header X-Upstream $upstream_addr always;",
            );
        let d = dir.path().display();
        // Running as root, nginx's workers would otherwise become `nobody`
        // and could not enter the temporary directory.
        let user = if is_root() { "user root root;" } else { "" };
        let conf = format!(
            "{user}
daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
{site}
}}
"
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let test = Command::new(&binary)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf_path)
            // Before it reads the configuration, nginx logs to this file.
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-t")
            .output()
            .unwrap();
        assert!(
            test.status.success(),
            "nginx refuses the configuration: {}",
            String::from_utf8_lossy(&test.stderr)
        );
        let child = Command::new(&binary)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf_path)
            // Before it reads the configuration, nginx logs to this file.
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let nginx = Nginx {
            child,
            addr: format!("127.0.0.1:{port}"),
            dir,
        };
        for _ in 0..200 {
            if call(&nginx.addr, "GET", "/healthz", &[], "").is_some_and(|r| r.status == 200) {
                return nginx;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("nginx did not answer: {}", nginx.error_log());
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // TERM lets the master stop its workers too.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A whole HTTP answer.
struct Reply {
    status: u16,
    head: String,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {} {}", self.head, self.body))
    }

    /// The node that answered, as nginx names it (the last one tried).
    fn node(&self) -> String {
        let upstream = self
            .header("x-upstream")
            .unwrap_or_else(|| panic!("no X-Upstream: {}", self.head));
        upstream.rsplit(',').next().unwrap().trim().to_string()
    }
}

/// One HTTP/1.0 request on its own connection (so no chunked answers);
/// `None` when the connection failed or the answer was cut off.
fn call(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Option<Reply> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .ok()?;
    let mut head = format!(
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Length: {}\r\n",
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
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    if let Some(length) = head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse::<usize>().ok())?
    }) && body.len() != length
    {
        return None;
    }
    Some(Reply {
        status,
        head: head.to_string(),
        body: body.to_string(),
    })
}

/// A signed-in client: its session cookie and CSRF token.
#[derive(Clone)]
struct Session {
    cookie: String,
    csrf: String,
}

impl Session {
    fn headers(&self) -> [(&str, &str); 3] {
        [
            ("cookie", self.cookie.as_str()),
            ("x-csrf-token", self.csrf.as_str()),
            ("content-type", "application/json"),
        ]
    }

    fn from_new(s: &session::NewSession) -> Session {
        Session {
            cookie: format!("{}={}", session::SESSION_COOKIE, s.token),
            csrf: s.csrf_token.clone(),
        }
    }
}

fn sign_in(addr: &str, username: &str) -> Session {
    let body = format!(r#"{{"username": "{username}", "password": "{PASSWORD}"}}"#);
    let r = call(
        addr,
        "POST",
        "/api/v1/session",
        &[("content-type", "application/json")],
        &body,
    )
    .expect("an answer to the sign-in");
    assert_eq!(r.status, 200, "{} {}", r.head, r.body);
    let cookie = r
        .head
        .lines()
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            (n.eq_ignore_ascii_case("set-cookie") && v.trim().starts_with("jinlin_session="))
                .then(|| v.trim().split(';').next().unwrap().to_string())
        })
        .expect("a session cookie");
    let csrf = r.json()["csrf_token"].as_str().unwrap().to_string();
    Session { cookie, csrf }
}

/// Receives the outbound channel's webhook POSTs: each idempotency key and
/// message kind, in arrival order. Answers slowly, so a node's batch of
/// deliveries takes a while and the other nodes claim jobs meanwhile.
struct Webhook {
    url: String,
    received: Arc<Mutex<Vec<(String, String)>>>,
}

impl Webhook {
    fn start() -> Webhook {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let log = log.clone();
                std::thread::spawn(move || serve_hook(stream, &log));
            }
        });
        Webhook { url, received }
    }

    fn of_kind(&self, kind: &str) -> Vec<String> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, k)| k == kind)
            .map(|(key, _)| key.clone())
            .collect()
    }
}

fn serve_hook(stream: TcpStream, log: &Mutex<Vec<(String, String)>>) {
    let mut reader = BufReader::new(stream);
    // One connection may carry several requests (keep-alive).
    loop {
        let mut length = 0;
        let mut line = String::new();
        let mut first = true;
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if first {
                first = false;
                continue;
            }
            if line == "\r\n" {
                break;
            }
            if let Some((n, v)) = line.split_once(':')
                && n.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let v: Value = serde_json::from_slice(&body).unwrap_or_default();
        std::thread::sleep(Duration::from_millis(300));
        log.lock().unwrap().push((
            v["idempotency_key"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            v["kind"].as_str().unwrap_or_default().to_string(),
        ));
        let stream = reader.get_mut();
        if stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .is_err()
        {
            return;
        }
    }
}

/// Starts `count` nodes at once on `url`, sharing one data directory (the
/// uploads live there) and one secret key.
fn start_nodes(count: usize, data_dir: &std::path::Path, url: &str, hook: &str) -> Vec<Server> {
    let starting: Vec<_> = (0..count)
        .map(|_| {
            let (dir, url, hook) = (data_dir.to_path_buf(), url.to_string(), hook.to_string());
            std::thread::spawn(move || {
                Server::start(
                    &dir,
                    &["--database-url", &url],
                    &[
                        ("JINLIN_SECRET_KEY", SECRET_KEY),
                        ("JINLIN_NOTIFY_WEBHOOK_URL", &hook),
                    ],
                )
            })
        })
        .collect();
    starting.into_iter().map(|t| t.join().unwrap()).collect()
}

async fn scalar(db: &TestDb, sql: &str) -> i64 {
    db.db
        .conn()
        .query_one_raw(Statement::from_string(db.db.backend(), sql))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_behind_nginx_share_sessions_jobs_marks_and_votes_and_outlive_a_sigkill() {
    nginx_binary();
    let s = deliberation::setup(TestDb::postgres().await).await;
    let (t, app) = (&s.t, &s.app);
    let db = &app.db;
    let c = t.compound.compound;
    // Twenty more flats, each with an owner who has an account.
    let mut voters = vec![s.owner_a, s.owner_b];
    for i in 0..20 {
        let flat = insert_dwelling(app, t, &format!("3{i:02}")).await;
        let person = register_owner(app, flat, c, 9000 + i, &format!("业主{i}")).await;
        let acc = account(&db.db, &format!("owner-{i}"), Role::Resident, flat).await;
        link_person(app, acc, person).await;
        voters.push(acc);
    }
    account(&db.db, "district", Role::DistrictAdmin, t.district).await;

    let hook = Webhook::start();
    let data_dir = tempfile::tempdir().unwrap();
    let mut nodes: Vec<Option<Server>> = start_nodes(NODES, data_dir.path(), &db.url, &hook.url)
        .into_iter()
        .map(Some)
        .collect();
    let addrs: Vec<String> = nodes
        .iter()
        .map(|n| n.as_ref().unwrap().addr.clone())
        .collect();
    let nginx = Nginx::start(&addrs);
    let lb = nginx.addr.clone();
    let all_nodes: BTreeSet<String> = addrs.iter().cloned().collect();

    // Sessions: signed in through nginx, the session holds on every node.
    let street = sign_in(&lb, "street");
    let mut seen = BTreeSet::new();
    for _ in 0..30 {
        let r = call(&lb, "GET", "/api/v1/session", &street.headers(), "").unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["account"]["username"], "street", "{}", r.body);
        assert_eq!(r.json()["csrf_token"], street.csrf.as_str());
        seen.insert(r.node());
        if seen == all_nodes {
            break;
        }
    }
    assert_eq!(seen, all_nodes, "round-robin reaches every node");
    // On each node: the session, its CSRF token required and accepted.
    for addr in &addrs {
        let r = call(addr, "GET", "/api/v1/session", &street.headers(), "").unwrap();
        assert_eq!(r.status, 200, "{addr}: {}", r.body);
        let cookie_only = [("cookie", street.cookie.as_str())];
        let r = call(
            addr,
            "POST",
            "/api/v1/notifications/read-all",
            &cookie_only,
            "",
        )
        .unwrap();
        assert_eq!(
            r.status, 403,
            "{addr}: a write without the token: {}",
            r.body
        );
        assert_eq!(r.json()["error"]["code"], "csrf", "{}", r.body);
        let r = call(
            addr,
            "POST",
            "/api/v1/notifications/read-all",
            &street.headers(),
            "",
        )
        .unwrap();
        assert!(
            (200..300).contains(&r.status),
            "{addr}: {} {}",
            r.status,
            r.body
        );
    }
    // Signing out through one node ends the session on all.
    let worker = sign_in(&lb, "worker");
    for addr in &addrs {
        let r = call(addr, "GET", "/api/v1/session", &worker.headers(), "").unwrap();
        assert_eq!(r.status, 200, "{addr}: {}", r.body);
    }
    let r = call(&lb, "DELETE", "/api/v1/session", &worker.headers(), "").unwrap();
    assert_eq!(r.status, 204, "{}", r.body);
    for addr in &addrs {
        let r = call(addr, "GET", "/api/v1/session", &worker.headers(), "").unwrap();
        assert_eq!(r.status, 401, "{addr}: signed out elsewhere: {}", r.body);
    }

    // Jobs: queued deliveries run once across the nodes, not once per node.
    const JOBS: usize = 60;
    let mut job_ids = BTreeSet::new();
    for i in 0..JOBS {
        let outbound = Outbound {
            message: Message::new("nodes.test", format!("第{i}条"), "多节点测试"),
            account_ids: vec![i as i64],
        };
        job_ids.insert(
            send_outbound(db.db.conn(), &outbound)
                .await
                .unwrap()
                .unwrap(),
        );
    }
    let mut claimants = BTreeSet::new();
    for _ in 0..1200 {
        if hook.of_kind("nodes.test").len() >= JOBS {
            break;
        }
        for row in db
            .db
            .conn()
            .query_all_raw(Statement::from_string(
                db.db.backend(),
                "SELECT DISTINCT locked_by FROM job
                 WHERE kind = 'notify.webhook' AND locked_by IS NOT NULL",
            ))
            .await
            .unwrap()
        {
            claimants.insert(row.try_get_by_index::<String>(0).unwrap());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A few more polls by every node: nothing runs a second time.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut deliveries: HashMap<String, usize> = HashMap::new();
    for key in hook.of_kind("nodes.test") {
        *deliveries.entry(key).or_default() += 1;
    }
    let expected: HashMap<String, usize> = job_ids.iter().map(|id| (id.to_string(), 1)).collect();
    assert_eq!(deliveries, expected, "each job delivered exactly once");
    assert!(
        claimants.len() >= 2,
        "the jobs were claimed by more than one node: {claimants:?}"
    );
    let ids: Vec<String> = job_ids.iter().map(i64::to_string).collect();
    let ids = ids.join(",");
    assert_eq!(
        scalar(
            db,
            &format!("SELECT COUNT(*) FROM job WHERE id IN ({ids}) AND done_at IS NOT NULL AND attempts = 1")
        )
        .await,
        JOBS as i64,
        "each done at its first attempt"
    );
    // Every node schedules the recurring audit sealing each poll: one job per
    // period, each run once.
    assert_eq!(
        scalar(
            db,
            "SELECT COUNT(*) FROM job WHERE kind = 'audit.seal'
             AND (attempts > 1 OR dedupe_key IS NULL)"
        )
        .await,
        0
    );
    assert!(scalar(db, "SELECT COUNT(*) FROM job WHERE kind = 'audit.seal'").await >= 1);

    // Mobilisation: single-household marks through every node, each
    // household named three times, and the household's own acknowledgement.
    let district = sign_in(&lb, "district");
    let r = call(
        &lb,
        "POST",
        "/api/v1/mobilisations",
        &district.headers(),
        &format!(
            r#"{{"place_id": {}, "title": "台风防御紧急通知", "body": "今晚台风登陆，请关好门窗。"}}"#,
            t.street
        ),
    )
    .unwrap();
    assert_eq!(r.status, 201, "{}", r.body);
    let m = r.json()["id"].as_i64().unwrap();
    let households: Vec<i64> = mobilisation_household::Entity::find()
        .filter(mobilisation_household::Column::MobilisationId.eq(m))
        .all(db.db.conn())
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.dwelling_id)
        .collect();
    assert!(households.len() >= 20, "{}", households.len());
    assert!(households.contains(&t.compound.dwellings[0]));
    let owner_a = sign_in(&lb, "owner-a");
    let reached = format!("/api/v1/mobilisations/{m}/reached");
    let mut work: Vec<(String, Session, String)> = Vec::new();
    for (round, method) in ["phone", "door", "group"].iter().enumerate() {
        for d in &households {
            work.push((
                reached.clone(),
                street.clone(),
                format!(r#"{{"dwelling_ids": [{d}], "method": "{method}"}}"#),
            ));
        }
        if round == 1 {
            let ack = format!("/api/v1/mobilisations/{m}/acknowledge");
            work.push((ack, owner_a.clone(), String::new()));
        }
    }
    let answers = in_parallel(&lb, work, 6);
    let marks = answers.len();
    let mut marked = 0;
    let mut mark_nodes = BTreeSet::new();
    for r in &answers {
        assert_eq!(r.status, 200, "{}", r.body);
        let v = r.json();
        let (one, already) = (
            v["marked"].as_u64().unwrap(),
            v["already"].as_u64().unwrap(),
        );
        assert!(one + already >= 1, "{v}");
        marked += one;
        mark_nodes.insert(r.node());
    }
    assert_eq!(mark_nodes, all_nodes, "marks went through every node");
    assert_eq!(
        marked,
        households.len() as u64,
        "each household counted once"
    );
    let units = mobilisation_unit::Entity::find()
        .filter(mobilisation_unit::Column::MobilisationId.eq(m))
        .all(db.db.conn())
        .await
        .unwrap();
    assert!(units.len() >= 2);
    for u in &units {
        let recount = mobilisation_household::Entity::find()
            .filter(mobilisation_household::Column::UnitId.eq(u.id))
            .filter(mobilisation_household::Column::ReachedAt.is_not_null())
            .count(db.db.conn())
            .await
            .unwrap();
        assert_eq!(u.reached as u64, recount, "unit {}", u.id);
        assert_eq!(u.reached, u.households, "unit {}", u.id);
        assert!(u.full_at.is_some(), "unit {}", u.id);
    }

    // Votes: ballots cast through every node, all tallied, the chain whole.
    let owner_client = app.client(s.owner_a).await;
    let matter = propose(&owner_client, c).await;
    to_public_review(&s, matter, Some(4)).await;
    let sec = app.client(s.secretary).await;
    let vote_id = ok(
        &open_vote(&sec, matter).await,
        axum::http::StatusCode::CREATED,
    )["id"]
        .as_i64()
        .unwrap();
    let mut work = Vec::new();
    for voter in &voters {
        let new = session::create(db.db.conn(), *voter, None, None)
            .await
            .unwrap();
        let choice = if voter % 3 == 0 { "against" } else { "for" };
        work.push((
            format!("/api/v1/votes/{vote_id}/ballots"),
            Session::from_new(&new),
            format!(r#"{{"choice": "{choice}"}}"#),
        ));
    }
    let for_count = voters.iter().filter(|v| *v % 3 != 0).count();
    let answers = in_parallel(&lb, work, 6);
    let mut ballot_nodes = BTreeSet::new();
    for r in &answers {
        assert_eq!(r.status, 201, "{}", r.body);
        ballot_nodes.insert(r.node());
    }
    assert_eq!(ballot_nodes, all_nodes, "ballots went through every node");
    let secretary = sign_in(&lb, "secretary");
    let mut heads = BTreeSet::new();
    for addr in &addrs {
        let r = call(
            addr,
            "GET",
            &format!("/api/v1/votes/{vote_id}/verify"),
            &secretary.headers(),
            "",
        )
        .unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        let v = r.json();
        assert_eq!(v["chain_valid"], true, "{v}");
        assert_eq!(v["ballots"], voters.len(), "{v}");
        heads.insert(v["head_hash"].to_string());
    }
    assert_eq!(
        heads.len(),
        1,
        "every node verifies the same chain: {heads:?}"
    );
    let r = call(
        &lb,
        "POST",
        &format!("/api/v1/votes/{vote_id}/close"),
        &secretary.headers(),
        "",
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let result = r.json()["result"].clone();
    assert_eq!(
        result["cast"]["participating"]["heads"],
        voters.len(),
        "{result}"
    );
    let approval = &result["cast"]["approval_heads"]["fraction"];
    assert_eq!(approval["numerator"], for_count, "{result}");
    assert_eq!(approval["denominator"], voters.len(), "{result}");
    let verify = Command::new(env!("CARGO_BIN_EXE_jinlin"))
        .args(["verify-vote", "--database-url", &db.url])
        .arg(vote_id.to_string())
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&verify.stdout);
    assert!(
        verify.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(
        printed.contains("matches the published result"),
        "{printed}"
    );

    // A node killed with SIGKILL under load.
    let stop = Arc::new(AtomicBool::new(false));
    let killed = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(Mutex::new(Vec::<i64>::new()));
    let after_kill = Arc::new(AtomicUsize::new(0));
    let reads_after_kill = Arc::new(AtomicUsize::new(0));
    let read_failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let answered_by = Arc::new(Mutex::new(BTreeMap::<String, usize>::new()));
    let place = t.compound.dwellings[0];
    let mut clients = Vec::new();
    for w in 0..3 {
        let (lb, owner_a, stop, killed) =
            (lb.clone(), owner_a.clone(), stop.clone(), killed.clone());
        let (acknowledged, after_kill) = (acknowledged.clone(), after_kill.clone());
        clients.push(std::thread::spawn(move || {
            let mut refused = Vec::new();
            for n in 0.. {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let body = format!(
                    r#"{{"category": "utilities", "title": "{w}-{n} 停水", "description": "从早上起没有自来水。", "place_id": {place}}}"#
                );
                let was_killed = killed.load(Ordering::SeqCst);
                match call(&lb, "POST", "/api/v1/resident-matters", &owner_a.headers(), &body) {
                    Some(r) if r.status == 201 => {
                        acknowledged.lock().unwrap().push(r.json()["id"].as_i64().unwrap());
                        if was_killed {
                            after_kill.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    // The write was on the node when it died: not
                    // acknowledged, and not passed on by nginx.
                    Some(r) if r.status == 502 => refused.push(r.status),
                    Some(r) => panic!("{} {}", r.head, r.body),
                    None => refused.push(0),
                }
            }
            refused
        }));
    }
    for _ in 0..2 {
        let (lb, owner_a, stop, killed) =
            (lb.clone(), owner_a.clone(), stop.clone(), killed.clone());
        let (reads_after_kill, read_failures, answered_by) = (
            reads_after_kill.clone(),
            read_failures.clone(),
            answered_by.clone(),
        );
        clients.push(std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let was_killed = killed.load(Ordering::SeqCst);
                match call(&lb, "GET", "/api/v1/session", &owner_a.headers(), "") {
                    Some(r) if r.status == 200 => {
                        if was_killed {
                            reads_after_kill.fetch_add(1, Ordering::SeqCst);
                            *answered_by.lock().unwrap().entry(r.node()).or_default() += 1;
                        }
                    }
                    Some(r) => read_failures
                        .lock()
                        .unwrap()
                        .push(format!("{} {}", r.head, r.body)),
                    None => read_failures.lock().unwrap().push("no whole answer".into()),
                }
            }
            Vec::new()
        }));
    }
    for _ in 0..2400 {
        if acknowledged.lock().unwrap().len() >= 15 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let victim = nodes[0].take().unwrap();
    let victim_addr = victim.addr.clone();
    killed.store(true, Ordering::SeqCst);
    victim.sigkill();
    for _ in 0..2400 {
        if after_kill.load(Ordering::SeqCst) >= 30 && reads_after_kill.load(Ordering::SeqCst) >= 30
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    stop.store(true, Ordering::SeqCst);
    let mut cut_writes = 0;
    for client in clients {
        cut_writes += client.join().unwrap().len();
    }
    let read_failures = read_failures.lock().unwrap().clone();
    assert!(
        read_failures.is_empty(),
        "reads through nginx failed: {read_failures:?}"
    );
    assert!(
        reads_after_kill.load(Ordering::SeqCst) >= 30,
        "reads served after the kill: {}",
        reads_after_kill.load(Ordering::SeqCst)
    );
    assert!(
        after_kill.load(Ordering::SeqCst) >= 30,
        "writes acknowledged after the kill: {}",
        after_kill.load(Ordering::SeqCst)
    );
    let answered_by = answered_by.lock().unwrap().clone();
    assert!(!answered_by.contains_key(&victim_addr), "{answered_by:?}");
    assert_eq!(
        answered_by.len(),
        NODES - 1,
        "the others carry on: {answered_by:?}"
    );
    let acknowledged = acknowledged.lock().unwrap().clone();
    let ids: Vec<String> = acknowledged.iter().map(i64::to_string).collect();
    let stored = scalar(
        db,
        &format!(
            "SELECT COUNT(*) FROM resident_matter m WHERE m.id IN ({})
             AND EXISTS (SELECT 1 FROM resident_matter_reporter r WHERE r.matter_id = m.id)
             AND EXISTS (SELECT 1 FROM resident_matter_event e WHERE e.matter_id = m.id)",
            ids.join(",")
        ),
    )
    .await;
    assert_eq!(
        stored,
        acknowledged.len() as i64,
        "every acknowledged write is stored whole"
    );
    for node in nodes.iter().flatten() {
        assert_eq!(
            call(&node.addr, "GET", "/healthz", &[], "").unwrap().status,
            200
        );
    }
    println!(
        "{NODES} nodes behind nginx: {} marks, {} ballots, {JOBS} jobs by {} nodes; after the \
         SIGKILL {} reads served, {} writes acknowledged ({} in all, all stored), {cut_writes} \
         writes cut off unacknowledged",
        marks,
        voters.len(),
        claimants.len(),
        reads_after_kill.load(Ordering::SeqCst),
        after_kill.load(Ordering::SeqCst),
        acknowledged.len(),
    );
    drop(nginx);
}

/// Sends every `(path, session, body)` POST through `lb` from `threads`
/// clients at once; the answers in no particular order.
fn in_parallel(lb: &str, work: Vec<(String, Session, String)>, threads: usize) -> Vec<Reply> {
    let queue = Arc::new(Mutex::new(work));
    let answers = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (queue, answers, lb) = (queue.clone(), answers.clone(), lb.to_string());
            std::thread::spawn(move || {
                loop {
                    let Some((path, session, body)) = queue.lock().unwrap().pop() else {
                        return;
                    };
                    let r = call(&lb, "POST", &path, &session.headers(), &body)
                        .unwrap_or_else(|| panic!("no answer to POST {path}"));
                    answers.lock().unwrap().push(r);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    Arc::try_unwrap(answers).ok().unwrap().into_inner().unwrap()
}

/// Nodes started at once on a database with no tables: they take turns at
/// the migrations (an advisory lock), and every one comes up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_started_at_once_on_an_empty_database_all_come_up() {
    let admin_url = std::env::var(jinlin_testkit::POSTGRES_URL_VAR).unwrap_or_else(|_| {
        panic!(
            "{} is not set: this test needs PostgreSQL",
            jinlin_testkit::POSTGRES_URL_VAR
        )
    });
    let name = format!("jinlin_nodes_{}", std::process::id());
    let admin = jinlin_kernel::Database::connect(&admin_url, 1)
        .await
        .unwrap();
    let run = |sql: String| {
        let admin = admin.clone();
        async move {
            admin
                .conn()
                .execute_raw(Statement::from_string(admin.backend(), sql))
                .await
                .unwrap();
        }
    };
    run(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
    run(format!("CREATE DATABASE {name}")).await;
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    let url = format!("{base}/{name}");
    let data_dir = tempfile::tempdir().unwrap();
    let u = url.clone();
    let nodes = std::thread::spawn(move || start_nodes(NODES, data_dir.path(), &u, "")).join();
    let started = nodes.as_ref().map(Vec::len).unwrap_or(0);
    drop(nodes);
    run(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
    assert_eq!(started, NODES, "every node started");
}
