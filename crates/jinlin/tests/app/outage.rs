//! The database goes away under a running server: requests answer 503 in
//! the error shape, `/healthz` says so, and the server recovers by itself
//! when the database returns. The test runs a PostgreSQL cluster of its own
//! (initdb and pg_ctl into a temporary directory, on a free loopback port),
//! so stopping it disturbs nothing else.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::hardening::{Server, json_body};
use crate::support::has_cjk;

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// A throw-away PostgreSQL cluster; stopped and removed when dropped.
pub struct PgCluster {
    dir: tempfile::TempDir,
    pub port: u16,
    /// Run the server tools as `postgres` (they refuse to run as root).
    as_postgres: bool,
}

impl PgCluster {
    pub fn init() -> PgCluster {
        let cluster = PgCluster::empty();
        let data = cluster.data().display().to_string();
        cluster.tool(
            "initdb",
            &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
        );
        cluster
    }

    /// A streaming replica (hot standby) of the running `primary`, copied
    /// with `pg_basebackup -R`; start it with [`PgCluster::start`]. The
    /// primary's defaults serve it: `wal_level=replica`, WAL senders, and
    /// initdb's trust lines for replication over loopback.
    pub fn replica_of(primary: &PgCluster) -> PgCluster {
        let cluster = PgCluster::empty();
        let data = cluster.data().display().to_string();
        let port = primary.port.to_string();
        cluster.tool(
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-D",
                &data,
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
                "--no-sync",
            ],
        );
        cluster
    }

    /// A temporary directory (owned by `postgres` when run as root) and a
    /// free port, with no cluster in it yet.
    fn empty() -> PgCluster {
        let dir = tempfile::tempdir().unwrap();
        let as_postgres = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        if as_postgres {
            let status = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(status.success());
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        PgCluster {
            dir,
            port,
            as_postgres,
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn tool(&self, name: &str, args: &[&str]) {
        let program = Path::new(PG_BIN).join(name);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let output = command.args(args).output().unwrap();
        assert!(
            output.status.success(),
            "{name} {args:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    pub fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let data = self.data().display().to_string();
        let log = self.dir.path().join("log").display().to_string();
        self.tool(
            "pg_ctl",
            &["-D", &data, "-l", &log, "-o", &options, "-w", "start"],
        );
    }

    /// Stops the server the way an operator or a crash would take it away:
    /// `fast` ends every connection at once.
    pub fn stop(&self) {
        let data = self.data().display().to_string();
        self.tool("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"]);
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.data().display().to_string();
        let program = Path::new(PG_BIN).join("pg_ctl");
        let args = ["-D", data.as_str(), "-m", "immediate", "stop"];
        let _ = if self.as_postgres {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&program)
                .args(args)
                .output()
        } else {
            Command::new(&program).args(args).output()
        };
    }
}

/// Polls `check` until it is true (bounded: about `attempts` × 250 ms).
pub fn eventually(attempts: usize, mut check: impl FnMut() -> bool) -> bool {
    for _ in 0..attempts {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    false
}

#[test]
fn postgres_outage_answers_503_and_recovers() {
    let cluster = PgCluster::init();
    cluster.start();
    let data_dir = tempfile::tempdir().unwrap();
    let url = cluster.url();
    let server = Server::start(
        data_dir.path(),
        &["--database-url", &url],
        &[("JINLIN_DATABASE_ACQUIRE_TIMEOUT_SECS", "1")],
    );
    // A bearer token is looked up in the database on every request.
    let token = [("authorization", "Bearer not-a-token")];
    let english = [
        ("authorization", "Bearer not-a-token"),
        ("accept-language", "en"),
    ];

    let (status, health) = server.get("/healthz", &[]);
    assert_eq!(status, 200, "{health}");
    let (status, response) = server.get("/api/v1/notifications", &token);
    assert_eq!(status, 401, "{response}");

    cluster.stop();

    let (status, health) = server.get("/healthz", &[]);
    assert_eq!(status, 503, "{health}");
    let health = json_body(&health);
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["database"]["status"], "unavailable");

    // Every kind of request says the database is away, quickly and in the
    // requester's language: an API call, the same in English, a sign-in (a
    // write), and a page.
    let (status, response) = server.get("/api/v1/notifications", &token);
    assert_eq!(status, 503, "{response}");
    let error = json_body(&response);
    assert_eq!(error["error"]["code"], "database_unavailable");
    assert!(
        has_cjk(error["error"]["message"].as_str().unwrap()),
        "{error}"
    );

    let (status, response) = server.get("/api/v1/notifications", &english);
    assert_eq!(status, 503, "{response}");
    let error = json_body(&response);
    assert_eq!(error["error"]["code"], "database_unavailable");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("database cannot be reached"),
        "{error}"
    );

    let login = r#"{"username": "nobody", "password": "not-the-password"}"#;
    let (status, response) = server.request(
        "POST",
        "/api/v1/session",
        &[("content-type", "application/json")],
        login,
    );
    assert_eq!(status, 503, "{response}");
    assert_eq!(
        json_body(&response)["error"]["code"],
        "database_unavailable"
    );

    let (status, page) = server.get("/notifications", &token);
    assert_eq!(status, 503, "{page}");
    assert!(page.contains("数据库暂时无法连接"), "{page}");

    // The database returns: the server finds it again without a restart.
    cluster.start();
    assert!(
        eventually(120, || server.get("/healthz", &[]).0 == 200),
        "/healthz did not recover"
    );
    let (status, response) = server.get("/api/v1/notifications", &token);
    assert_eq!(status, 401, "{response}");
    let (status, response) = server.request(
        "POST",
        "/api/v1/session",
        &[("content-type", "application/json")],
        login,
    );
    assert_eq!(status, 401, "{response}");
}
