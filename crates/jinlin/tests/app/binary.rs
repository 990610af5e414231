//! The `jinlin` binary as a person runs it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_jinlin");

#[test]
fn help_explains_each_command() {
    let output = Command::new(BIN).arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    for command in ["serve", "migrate"] {
        assert!(text.contains(command), "{text}");
    }
}

#[test]
fn print_config_hides_secrets_and_honours_precedence() {
    let output = Command::new(BIN)
        .args(["serve", "--print-config", "--listen", "127.0.0.1:9999"])
        .env("JINLIN_LISTEN", "127.0.0.1:7777")
        .env("JINLIN_DATABASE_URL", "postgres://jinlin:hunter2@db/jinlin")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("listen = \"127.0.0.1:9999\""), "{text}");
    assert!(text.contains("postgres://jinlin:***@db/jinlin"), "{text}");
    assert!(!text.contains("hunter2"));
}

#[test]
fn an_unusable_database_url_is_a_clear_error() {
    let output = Command::new(BIN)
        .args(["migrate", "--database-url", "mysql://x@y/z"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("unsupported database URL"), "{err}");
}

/// Serves the demo on a free port, answers /healthz, and stops cleanly on
/// SIGTERM (graceful shutdown exits 0).
#[test]
fn serve_demo_answers_health_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("JINLIN_DEMO_SCALE", "small")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut printed = Vec::new();
    let url = loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("server ended early: {printed:?}"))
            .unwrap();
        if let Some(url) = line.strip_prefix("jinlin listening on ") {
            break url.to_string();
        }
        printed.push(line);
    };
    assert!(
        printed.iter().any(|l| l.contains("demo data loaded")),
        "{printed:?}"
    );

    let addr = url.trim_start_matches("http://");
    let health = http_get(addr, "/healthz");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.contains("\"database\""));

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = wait_for(&mut child, Duration::from_secs(20));
    assert!(exit.success(), "exit status {exit:?}");
    assert!(dir.path().join("jinlin.sqlite").exists());
}

fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

fn wait_for(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > limit {
            child.kill().ok();
            panic!("server did not stop within {limit:?} of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
