//! jinlin-load: drives a jinlin server as its users would and measures it
//! against a floor. See docs/performance.md.

mod activity;
mod autovacuum;
mod drive;
mod floor;
mod procstat;
mod report;
mod world;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use jinlin_kernel::Database;
use tokio::process::{Child, Command};

use crate::drive::{Load, Phase, Shape};
use crate::world::{Class, DEFAULT_MIX, Sizes, World};

/// The server's allocator, so the floor it is measured against is built
/// the same way.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "jinlin-load", about = "Load harness for jinlin")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the floor: GET /floor/text and GET /floor/place/{id}.
    Floor {
        #[arg(long, default_value = "127.0.0.1:18081")]
        listen: String,
        #[arg(long)]
        database_url: String,
        /// As the server's `database_max_connections`; default: its default.
        #[arg(long)]
        max_connections: Option<u32>,
    },
    /// One run of a mix, open loop (--rate) or closed loop (--clients).
    Run {
        #[command(flatten)]
        target: Target,
        #[arg(long, default_value = DEFAULT_MIX)]
        mix: String,
        /// Requests per second (open loop); several, comma-separated, run
        /// one after another on the same server, each for --duration.
        #[arg(long, conflicts_with = "clients", value_delimiter = ',')]
        rate: Vec<f64>,
        /// Concurrent clients (closed loop; the default, 32).
        #[arg(long)]
        clients: Option<usize>,
        #[arg(long, default_value = "30s", value_parser = report::parse_duration)]
        duration: Duration,
    },
    /// The standard scenarios: ceilings against the floor, the saturation
    /// search, 80 % of saturation, the soak at 70 %, the overload at 3x.
    Standard {
        #[command(flatten)]
        target: Target,
        #[arg(long, default_value = DEFAULT_MIX)]
        mix: String,
        /// Clients of the closed-loop ceilings.
        #[arg(long, default_value_t = 32)]
        clients: usize,
        /// Length of each ceiling step.
        #[arg(long, default_value = "10s", value_parser = report::parse_duration)]
        step: Duration,
        /// Length of each saturation step (default: --step). A step must
        /// last long enough for a queue that grows slowly to show: on
        /// SQLite the one writer can fall behind by a little a second,
        /// which ten seconds do not reveal and a minute does.
        #[arg(long, value_parser = report::parse_duration)]
        saturation_step: Option<Duration>,
        /// Mix p99 beyond which a rate counts as saturated.
        #[arg(long, default_value_t = 200.0)]
        break_p99_ms: f64,
        /// Idle time between the saturation search and the 80 % phase, so
        /// that the step that broke has drained (its queued requests, the
        /// database's work behind them) and the 80 % phase measures a
        /// server running at that rate, not one recovering from overload
        /// (which the overload phase's recovery measures). `0` for none.
        #[arg(long, default_value = "30s", value_parser = report::parse_pause)]
        settle: Duration,
        #[arg(long, default_value = "60s", value_parser = report::parse_duration)]
        steady: Duration,
        #[arg(long, default_value = "600s", value_parser = report::parse_duration)]
        soak: Duration,
        #[arg(long, default_value = "30s", value_parser = report::parse_duration)]
        overload: Duration,
        /// Where to write every phase as JSON.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Args, Clone)]
struct Target {
    /// An already-running server (no server is started).
    #[arg(long)]
    url: Option<String>,
    /// Its process id, to sample its CPU and memory.
    #[arg(long)]
    server_pid: Option<u32>,
    /// The jinlin binary to start (default: $CARGO_TARGET_DIR/release/jinlin).
    #[arg(long)]
    binary: Option<PathBuf>,
    /// The server's data directory (the SQLite file and key live there).
    #[arg(long, default_value = "/var/cache/jinlin-load/sqlite")]
    data_dir: PathBuf,
    /// A PostgreSQL URL; empty for the SQLite file in --data-dir.
    #[arg(long)]
    database_url: Option<String>,
    #[arg(long, default_value_t = 18080)]
    port: u16,
    #[arg(long, default_value_t = 18081)]
    floor_port: u16,
    /// Do not start the floor.
    #[arg(long)]
    no_floor: bool,
    #[arg(long, default_value_t = 200)]
    residents: usize,
    #[arg(long, default_value_t = 100)]
    secretaries: usize,
    #[arg(long, default_value_t = 40)]
    officials: usize,
}

impl Target {
    fn database_url(&self) -> String {
        match self.database_url.as_deref().filter(|u| !u.is_empty()) {
            Some(url) => url.to_string(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("jinlin.sqlite").display()
            ),
        }
    }

    fn binary(&self) -> PathBuf {
        self.binary.clone().unwrap_or_else(|| {
            let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
            PathBuf::from(target).join("release/jinlin")
        })
    }
}

/// The server and floor this run started, stopped when dropped.
struct Running {
    base: String,
    server_pid: Option<u32>,
    floor_base: Option<String>,
    floor_pid: Option<u32>,
    _children: Vec<Child>,
}

async fn wait_healthy(url: &str, limit: Duration) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        if let Ok(r) = client.get(url).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        if started.elapsed() > limit {
            bail!("{url} did not answer 200 within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn start(t: &Target) -> anyhow::Result<Running> {
    let mut children = Vec::new();
    let (base, server_pid) = match &t.url {
        Some(url) => (url.trim_end_matches('/').to_string(), t.server_pid),
        None => {
            std::fs::create_dir_all(&t.data_dir)?;
            let log = std::fs::File::create(t.data_dir.join("serve.log"))?;
            let mut cmd = Command::new(t.binary());
            cmd.arg("serve")
                .arg("--listen")
                .arg(format!("127.0.0.1:{}", t.port))
                .arg("--data-dir")
                .arg(&t.data_dir)
                .arg("--demo")
                .stdout(log.try_clone()?)
                .stderr(log)
                .kill_on_drop(true);
            if let Some(url) = &t.database_url {
                cmd.arg("--database-url").arg(url);
            }
            let child = cmd
                .spawn()
                .with_context(|| format!("starting {}", t.binary().display()))?;
            let pid = child.id();
            children.push(child);
            let base = format!("http://127.0.0.1:{}", t.port);
            eprintln!(
                "started {} (pid {pid:?}); waiting for {base}/healthz (the demo loads once)",
                t.binary().display()
            );
            wait_healthy(&format!("{base}/healthz"), Duration::from_secs(3600)).await?;
            (base, pid)
        }
    };
    let (floor_base, floor_pid) = if t.no_floor {
        (None, None)
    } else {
        let child = Command::new(std::env::current_exe()?)
            .arg("floor")
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", t.floor_port))
            .arg("--database-url")
            .arg(t.database_url())
            .kill_on_drop(true)
            .spawn()?;
        let pid = child.id();
        children.push(child);
        let base = format!("http://127.0.0.1:{}", t.floor_port);
        wait_healthy(&format!("{base}/floor/text"), Duration::from_secs(60)).await?;
        (Some(base), pid)
    };
    Ok(Running {
        base,
        server_pid,
        floor_base,
        floor_pid,
        _children: children,
    })
}

async fn world(
    t: &Target,
    running: &Running,
    weights: &[(Class, u32)],
) -> anyhow::Result<Arc<World>> {
    let db = Database::connect(&t.database_url(), 4).await?;
    let started = Instant::now();
    let mut w = World::build(
        &db,
        &running.base,
        running.floor_base.clone(),
        &Sizes {
            residents: t.residents,
            secretaries: t.secretaries,
            officials: t.officials,
        },
        weights.iter().any(|(c, w)| *c == Class::Ack && *w > 0),
    )
    .await?;
    db.close().await?;
    eprintln!(
        "signed in {} residents, {} secretaries, {} officials, {} voters in {:.1} s",
        w.residents.len(),
        w.secretaries.len(),
        w.officials.len(),
        w.voters.len(),
        started.elapsed().as_secs_f64()
    );
    let vacuum = activity::VacuumClock::default();
    autovacuum::stand_in(&t.database_url(), vacuum.clone()).await?;
    w.meter = Some(activity::Meter::connect(&t.database_url(), vacuum).await?);
    Ok(Arc::new(w))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Floor {
            listen,
            database_url,
            max_connections,
        } => {
            let max = max_connections
                .unwrap_or_else(|| jinlin_kernel::db::default_max_connections(&database_url));
            floor::serve(&listen, &database_url, max).await
        }
        Cmd::Run {
            target,
            mix,
            rate,
            clients,
            duration,
        } => {
            let weights = world::parse_mix(&mix)?;
            let running = start(&target).await?;
            let world = world(&target, &running, &weights).await?;
            let load = Load::new(&world, &weights)?;
            let floor_only = load
                .classes
                .iter()
                .all(|c| matches!(c, Class::FloorText | Class::FloorLookup));
            let pid = if floor_only {
                running.floor_pid
            } else {
                running.server_pid
            };
            let shapes = if rate.is_empty() {
                vec![Shape::Closed(clients.unwrap_or(32))]
            } else {
                rate.into_iter().map(Shape::Open).collect()
            };
            for (i, shape) in shapes.into_iter().enumerate() {
                let phase = drive::run(
                    "run",
                    world.clone(),
                    &load,
                    shape,
                    duration,
                    pid,
                    1 + i as u64,
                )
                .await;
                drive::print(&phase);
            }
            Ok(())
        }
        Cmd::Standard {
            target,
            mix,
            clients,
            step,
            saturation_step,
            break_p99_ms,
            settle,
            steady,
            soak,
            overload,
            out,
        } => {
            let weights = world::parse_mix(&mix)?;
            let running = start(&target).await?;
            let world = world(&target, &running, &weights).await?;
            let phases = standard(
                &running,
                world,
                &weights,
                Standard {
                    clients,
                    step,
                    saturation_step,
                    break_p99_ms,
                    settle,
                    steady,
                    soak,
                    overload,
                },
            )
            .await?;
            if let Some(out) = out {
                std::fs::write(&out, serde_json::to_string_pretty(&phases)?)?;
                eprintln!("wrote {}", out.display());
            }
            Ok(())
        }
    }
}

struct Standard {
    clients: usize,
    step: Duration,
    saturation_step: Option<Duration>,
    break_p99_ms: f64,
    settle: Duration,
    steady: Duration,
    soak: Duration,
    overload: Duration,
}

/// Whether an open-loop step held: every request answered well, the rate
/// achieved, and the mix's p99 under the limit.
fn held(p: &Phase, rate: f64, break_p99_ms: f64) -> bool {
    p.all.errors == 0
        && p.all.shed == 0
        && p.all.ok_per_sec >= 0.95 * rate
        && p.all.p99_ms <= break_p99_ms
}

async fn standard(
    running: &Running,
    world: Arc<World>,
    weights: &[(Class, u32)],
    s: Standard,
) -> anyhow::Result<Vec<Phase>> {
    let mut phases = Vec::new();
    let server = running.server_pid;
    let mix = Load::new(&world, weights)?;
    let single = |c: Class| Load::new(&world, &[(c, 1)]);

    // Ceilings: the same clients on the floor and on each read class alone.
    println!(
        "# Ceilings: closed loop, {} clients, {:?} each",
        s.clients, s.step
    );
    let mut ceilings = Vec::new();
    for c in [
        Class::FloorText,
        Class::FloorLookup,
        Class::Board,
        Class::Mine,
        Class::Cockpit,
    ] {
        if !world.can(c) {
            continue;
        }
        let pid = if matches!(c, Class::FloorText | Class::FloorLookup) {
            running.floor_pid
        } else {
            server
        };
        let p = drive::run(
            &format!("ceiling {}", c.name()),
            world.clone(),
            &single(c)?,
            Shape::Closed(s.clients),
            s.step,
            pid,
            11,
        )
        .await;
        drive::print(&p);
        ceilings.push((c, p.all.ok_per_sec));
        phases.push(p);
    }
    let p = drive::run(
        "ceiling mix",
        world.clone(),
        &mix,
        Shape::Closed(s.clients),
        s.step,
        server,
        12,
    )
    .await;
    drive::print(&p);
    let mix_ceiling = p.all.ok_per_sec;
    phases.push(p);
    let of = |c: Class| ceilings.iter().find(|(k, _)| *k == c).map(|(_, r)| *r);
    if let Some(lookup) = of(Class::FloorLookup) {
        println!("\n## Read classes as a share of the floor (ok/s)");
        println!(
            "{:<10} {:>9} {:>14} {:>12}",
            "class", "ok/s", "of lookup", "of text"
        );
        for c in [Class::Board, Class::Mine, Class::Cockpit] {
            if let Some(r) = of(c) {
                println!(
                    "{:<10} {:>9.1} {:>13.1}% {:>11.1}%",
                    c.name(),
                    r,
                    100.0 * r / lookup,
                    100.0 * r / of(Class::FloorText).unwrap_or(f64::NAN)
                );
            }
        }
    }

    // Saturation: raise the open-loop rate by a fifth until a step fails.
    let step = s.saturation_step.unwrap_or(s.step);
    println!(
        "\n# Saturation search (open loop, the mix, {step:?} steps, p99 limit {} ms)",
        s.break_p99_ms
    );
    let mut rate = (mix_ceiling * 0.5).max(10.0);
    let mut saturation: Option<f64> = None;
    for i in 0..14 {
        let p = drive::run(
            &format!("saturation step {}", i + 1),
            world.clone(),
            &mix,
            Shape::Open(rate),
            step,
            server,
            20 + i,
        )
        .await;
        drive::print(&p);
        let ok = held(&p, rate, s.break_p99_ms);
        println!("step at {rate:.0}/s: {}", if ok { "held" } else { "broke" });
        phases.push(p);
        if ok {
            saturation = Some(rate);
            rate *= 1.2;
        } else if saturation.is_some() {
            break;
        } else {
            rate /= 1.5;
        }
    }
    let Some(saturation) = saturation else {
        bail!("no rate held; the server cannot be saturated meaningfully");
    };
    println!("\nsaturation: {saturation:.0} requests/s (the last rate that held)");
    if !s.settle.is_zero() {
        println!(
            "settling for {:?} with no load before the 80% phase",
            s.settle
        );
        tokio::time::sleep(s.settle).await;
    }

    let p = drive::run(
        "80% of saturation",
        world.clone(),
        &mix,
        Shape::Open(0.8 * saturation),
        s.steady,
        server,
        40,
    )
    .await;
    drive::print(&p);
    phases.push(p);

    // The soak, in one-minute windows so memory and latency show over time.
    println!(
        "\n# Soak at 70% of saturation ({:.0}/s) for {:?}",
        0.7 * saturation,
        s.soak
    );
    println!(
        "{:>6} {:>9} {:>8} {:>8} {:>7} {:>6} {:>9} {:>9} {:>9}  beside the load",
        "minute", "ok/s", "p50 ms", "p99 ms", "errors", "shed", "RSS MiB", "CPU", "machine"
    );
    let window = Duration::from_secs(60).min(s.soak);
    let windows = (s.soak.as_secs_f64() / window.as_secs_f64()).ceil() as u64;
    for w in 0..windows {
        let p = drive::run(
            &format!("soak minute {}", w + 1),
            world.clone(),
            &mix,
            Shape::Open(0.7 * saturation),
            window,
            server,
            100 + w,
        )
        .await;
        let u = p.server;
        println!(
            "{:>6} {:>9.1} {:>8.2} {:>8.2} {:>7} {:>6} {:>9.0} {:>9.2} {:>9.2}  {}",
            w + 1,
            p.all.ok_per_sec,
            p.all.p50_ms,
            p.all.p99_ms,
            p.all.errors,
            p.all.shed,
            u.map_or(f64::NAN, |u| u.rss_end_mib),
            u.map_or(f64::NAN, |u| u.cpu_mean_cores),
            p.machine.map_or(f64::NAN, |m| m.busy_cores),
            p.database.as_ref().map_or(String::new(), |a| a.describe())
        );
        for c in &p.classes {
            for e in &c.first_errors {
                println!("    {}: {e}", c.class);
            }
        }
        if let Some(slow) = &p.slowness {
            println!("    slow: {}", drive::describe_slowness(slow));
        }
        phases.push(p);
    }

    let p = drive::run(
        "overload 3x saturation",
        world.clone(),
        &mix,
        Shape::Open(3.0 * saturation),
        s.overload,
        server,
        200,
    )
    .await;
    drive::print(&p);
    phases.push(p);
    let p = drive::run(
        "recovery at 50% of saturation",
        world.clone(),
        &mix,
        Shape::Open(0.5 * saturation),
        s.step * 2,
        server,
        201,
    )
    .await;
    drive::print(&p);
    phases.push(p);
    Ok(phases)
}
