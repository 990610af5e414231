//! Open loop (requests sent on a schedule whatever the server does, the
//! latency counted from when each was due) and closed loop (N clients,
//! each sending its next request when the last is answered).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::activity::Activity;
use crate::procstat::{self, Sampler, Usage};
use crate::report::{self, ClassReport, Mix, Outcome, Rng, Samples, Second, Slowness};
use crate::world::{Class, World};

/// Requests in flight from the harness beyond which an open loop counts
/// a due request as failed instead of sending it (the client's own limit).
const MAX_OUTSTANDING: usize = 8_000;

/// A request slower than this counts as slow in a phase's seconds: the
/// p99 target (docs/performance.md, Targets).
const SLOW_MS: f64 = 50.0;

#[derive(Clone)]
pub struct Load {
    pub classes: Vec<Class>,
    pub mix: Mix,
}

impl Load {
    pub fn new(world: &World, weights: &[(Class, u32)]) -> anyhow::Result<Load> {
        let usable: Vec<(Class, u32)> = weights
            .iter()
            .copied()
            .filter(|(c, w)| {
                if *w > 0 && !world.can(*c) {
                    eprintln!("skipping {}: no account or data for it", c.name());
                }
                *w > 0 && world.can(*c)
            })
            .collect();
        let mix = Mix::new(&usable.iter().map(|(_, w)| *w).collect::<Vec<_>>())
            .ok_or_else(|| anyhow::anyhow!("nothing in the mix can be driven"))?;
        Ok(Load {
            classes: usable.into_iter().map(|(c, _)| c).collect(),
            mix,
        })
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// Requests per second.
    Open(f64),
    /// Concurrent clients.
    Closed(usize),
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Phase {
    pub name: String,
    pub shape: String,
    pub seconds: f64,
    /// When the phase began (Unix seconds), to read it beside other records.
    pub started_unix: f64,
    pub classes: Vec<ClassReport>,
    pub all: ClassReport,
    pub server: Option<Usage>,
    pub samples: Vec<procstat::Sample>,
    /// The whole machine's CPU over the phase, the harness's share of it.
    pub machine: Option<procstat::Machine>,
    /// What the database did beside the requests (`None` if unread).
    pub database: Option<Activity>,
    /// Each second's answered requests, by when they were due.
    pub by_second: Vec<Second>,
    /// Where the requests slower than the target fell (`None`: none was).
    pub slowness: Option<Slowness>,
}

/// Each class's samples, and every answered request's (milliseconds from the
/// phase's start, latency in microseconds).
struct Sink {
    classes: Vec<Mutex<Samples>>,
    answered: Mutex<Vec<(u32, u32)>>,
    started: Instant,
}

impl Sink {
    fn record(&self, i: usize, outcome: Outcome, at: Instant, what: String) {
        let latency = at.elapsed();
        if outcome == Outcome::Ok {
            let from_start = at.saturating_duration_since(self.started).as_millis() as u32;
            let micros = latency.as_micros().min(u128::from(u32::MAX)) as u32;
            self.answered
                .lock()
                .expect("answered lock")
                .push((from_start, micros));
        }
        self.classes[i]
            .lock()
            .expect("samples lock")
            .record(outcome, latency, || what);
    }
}

pub async fn run(
    name: &str,
    world: Arc<World>,
    load: &Load,
    shape: Shape,
    duration: Duration,
    pid: Option<u32>,
    seed: u64,
) -> Phase {
    let sampler = pid.map(Sampler::start);
    let before = match &world.meter {
        Some(m) => m
            .read()
            .await
            .map_err(|e| eprintln!("reading the database's counters: {e:#}"))
            .ok(),
        None => None,
    };
    let machine = procstat::MachineClock::now();
    let started = Instant::now();
    let started_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let end = started + duration;
    let sink = Arc::new(Sink {
        classes: load
            .classes
            .iter()
            .map(|_| Mutex::new(Samples::default()))
            .collect(),
        answered: Mutex::new(Vec::new()),
        started,
    });
    match shape {
        Shape::Closed(clients) => {
            let mut tasks = Vec::new();
            for c in 0..clients {
                let (world, load, sink) = (world.clone(), load.clone(), sink.clone());
                tasks.push(tokio::spawn(async move {
                    let mut rng = Rng::new(seed ^ (c as u64 + 1) << 20);
                    while Instant::now() < end {
                        let i = load.mix.pick(&mut rng);
                        let sent = Instant::now();
                        let (outcome, what) = world.exec(load.classes[i], &mut rng).await;
                        sink.record(i, outcome, sent, what);
                    }
                }));
            }
            for t in tasks {
                let _ = t.await;
            }
        }
        Shape::Open(rate) => {
            let outstanding = Arc::new(AtomicUsize::new(0));
            let mut rng = Rng::new(seed);
            let interval = Duration::from_secs_f64(1.0 / rate);
            let mut n: u32 = 0;
            loop {
                let due = started + interval * n;
                if due >= end {
                    break;
                }
                n += 1;
                tokio::time::sleep_until(due.into()).await;
                let i = load.mix.pick(&mut rng);
                if outstanding.load(Ordering::Relaxed) >= MAX_OUTSTANDING {
                    sink.record(
                        i,
                        Outcome::Error,
                        due,
                        "harness: too many requests outstanding".into(),
                    );
                    continue;
                }
                outstanding.fetch_add(1, Ordering::Relaxed);
                let (world, sink, outstanding) = (world.clone(), sink.clone(), outstanding.clone());
                let class = load.classes[i];
                let mut task_rng = Rng::new(rng.next_u64());
                tokio::spawn(async move {
                    let (outcome, what) = world.exec(class, &mut task_rng).await;
                    // From when it was due: a late send counts against the server.
                    sink.record(i, outcome, due, what);
                    outstanding.fetch_sub(1, Ordering::Relaxed);
                });
            }
            let drain = Instant::now() + Duration::from_secs(20);
            while outstanding.load(Ordering::Relaxed) > 0 && Instant::now() < drain {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    let seconds = duration.as_secs_f64();
    let machine = machine.and_then(|m| m.since());
    let samples = sampler.map(Sampler::finish).unwrap_or_default();
    let database = match (&world.meter, &before) {
        (Some(m), Some(b)) => m
            .since(b)
            .await
            .map_err(|e| eprintln!("reading the database's counters: {e:#}"))
            .ok(),
        _ => None,
    };
    let mut all = Samples::default();
    let mut classes = Vec::new();
    let mut by_class: HashMap<usize, Samples> = HashMap::new();
    for (i, m) in sink.classes.iter().enumerate() {
        by_class.insert(i, std::mem::take(&mut *m.lock().expect("samples lock")));
    }
    for (i, class) in load.classes.iter().enumerate() {
        let s = by_class.remove(&i).unwrap_or_default();
        all.merge(s.clone());
        classes.push(report::summarise(class.name(), s, seconds));
    }
    let answered = std::mem::take(&mut *sink.answered.lock().expect("answered lock"));
    let by_second = report::by_second(&answered, SLOW_MS);
    Phase {
        name: name.to_string(),
        shape: match shape {
            Shape::Open(r) => format!("open loop {r:.0}/s"),
            Shape::Closed(c) => format!("closed loop {c} clients"),
        },
        seconds,
        started_unix,
        classes,
        all: report::summarise("all", all, seconds),
        server: procstat::usage(&samples),
        samples,
        machine,
        database,
        slowness: report::slowness(&by_second),
        by_second,
    }
}

/// Where a phase's requests slower than the target fell, in a line.
pub fn describe_slowness(w: &Slowness) -> String {
    let worst: Vec<String> = w
        .worst
        .iter()
        .map(|s| {
            format!(
                "{} in second {} (of {}, p99 {:.0} ms, max {:.0} ms)",
                s.slow, s.at, s.requests, s.p99_ms, s.max_ms
            )
        })
        .collect();
    let seconds = match w.worst.len() {
        1 => "second".to_string(),
        n => format!("{n} seconds"),
    };
    format!(
        "{} requests over {SLOW_MS} ms ({:.2} %), {:.0} % of them in the worst {seconds}: {}",
        w.slow,
        100.0 * w.share,
        100.0 * w.share_in_worst,
        worst.join("; ")
    )
}

pub fn print(phase: &Phase) {
    let began = chrono::DateTime::from_timestamp_millis((phase.started_unix * 1000.0) as i64)
        .map(|t| t.format(", begun %H:%M:%S%.3f").to_string())
        .unwrap_or_default();
    println!(
        "\n## {} ({}, {:.0} s{began})",
        phase.name, phase.shape, phase.seconds
    );
    let mut rows = phase.classes.clone();
    rows.push(phase.all.clone());
    print!("{}", report::table(&rows));
    if let Some(u) = phase.server {
        println!(
            "server: CPU mean {:.2} cores (max {:.2}); RSS start {:.0} MiB, end {:.0} MiB, max {:.0} MiB",
            u.cpu_mean_cores, u.cpu_max_cores, u.rss_start_mib, u.rss_end_mib, u.rss_max_mib
        );
    }
    if let Some(m) = phase.machine {
        let server = phase.server.map_or(0.0, |u| u.cpu_mean_cores);
        println!(
            "machine: {:.2} of {} cores busy: the harness {:.2}, the process measured {:.2}, \
             the rest {:.2} (the database's processes and anything else)",
            m.busy_cores,
            m.cores,
            m.harness_cores,
            server,
            (m.busy_cores - m.harness_cores - server).max(0.0)
        );
    }
    if let Some(a) = &phase.database {
        println!("beside the load: {}", a.describe());
    }
    if let Some(w) = &phase.slowness {
        println!("slow: {}", describe_slowness(w));
    }
}
