//! The server's CPU and memory, read from /proc every second.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux).
const TICKS_PER_SEC: f64 = 100.0;

/// User plus system CPU time of `pid`, in seconds.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_cpu(&stat)
}

/// Fields 14 and 15 (utime, stime) of a stat line; the command name in
/// parentheses may hold spaces, so fields are counted after its `)`.
pub fn parse_cpu(stat: &str) -> Option<f64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ")" the first field is the state (field 3).
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_SEC)
}

/// The machine's busy CPU time over all its cores, in seconds, from the
/// first line of /proc/stat: everything but idle and waiting for I/O.
pub fn machine_busy_seconds() -> Option<f64> {
    parse_machine(&std::fs::read_to_string("/proc/stat").ok()?)
}

pub fn parse_machine(stat: &str) -> Option<f64> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let ticks: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal (guest time is in user).
    let busy: f64 = ticks.iter().take(8).sum::<f64>() - ticks.get(3)? - ticks.get(4)?;
    Some(busy / TICKS_PER_SEC)
}

/// Where a phase's CPU went: the machine's busy cores, the harness's own
/// share of them and the server's (the rest is the database's processes
/// and anything else running).
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Machine {
    pub cores: usize,
    pub busy_cores: f64,
    pub harness_cores: f64,
}

/// The machine's and the harness's CPU counters now, to take a phase's
/// [`Machine`] from with [`MachineClock::since`].
pub struct MachineClock {
    at: Instant,
    busy: f64,
    harness: f64,
}

impl MachineClock {
    pub fn now() -> Option<MachineClock> {
        Some(MachineClock {
            at: Instant::now(),
            busy: machine_busy_seconds()?,
            harness: cpu_seconds(std::process::id())?,
        })
    }

    pub fn since(&self) -> Option<Machine> {
        let now = MachineClock::now()?;
        let secs = now.at.duration_since(self.at).as_secs_f64();
        Some(Machine {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            busy_cores: (now.busy - self.busy) / secs,
            harness_cores: (now.harness - self.harness) / secs,
        })
    }
}

/// Resident memory of `pid` in MiB.
pub fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_rss(&status)
}

pub fn parse_rss(status: &str) -> Option<f64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Sample {
    pub at_s: f64,
    /// CPU used over the last second, in cores (2.0 = two cores busy).
    pub cpu_cores: f64,
    pub rss_mib: f64,
}

/// Samples `pid` every second until dropped.
pub struct Sampler {
    samples: Arc<Mutex<Vec<Sample>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Sampler {
    pub fn start(pid: u32) -> Self {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let out = samples.clone();
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let mut last = (Instant::now(), cpu_seconds(pid).unwrap_or(0.0));
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.tick().await;
            loop {
                tick.tick().await;
                let (Some(cpu), Some(rss)) = (cpu_seconds(pid), rss_mib(pid)) else {
                    break;
                };
                let now = Instant::now();
                let cores = (cpu - last.1) / now.duration_since(last.0).as_secs_f64();
                last = (now, cpu);
                out.lock().expect("sampler lock").push(Sample {
                    at_s: started.elapsed().as_secs_f64(),
                    cpu_cores: cores,
                    rss_mib: rss,
                });
            }
        });
        Sampler { samples, task }
    }

    pub fn finish(self) -> Vec<Sample> {
        self.task.abort();
        self.samples.lock().expect("sampler lock").clone()
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Start, end and peak memory and mean CPU of a run.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Usage {
    pub cpu_mean_cores: f64,
    pub cpu_max_cores: f64,
    pub rss_start_mib: f64,
    pub rss_end_mib: f64,
    pub rss_max_mib: f64,
}

pub fn usage(samples: &[Sample]) -> Option<Usage> {
    let first = samples.first()?;
    let last = samples.last()?;
    Some(Usage {
        cpu_mean_cores: samples.iter().map(|s| s.cpu_cores).sum::<f64>() / samples.len() as f64,
        cpu_max_cores: samples.iter().map(|s| s.cpu_cores).fold(0.0, f64::max),
        rss_start_mib: first.rss_mib,
        rss_end_mib: last.rss_mib,
        rss_max_mib: samples.iter().map(|s| s.rss_mib).fold(0.0, f64::max),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_from_a_stat_line_with_spaces_in_the_name() {
        let stat =
            "1234 (jin lin) S 1 1234 1234 0 -1 4194560 500 0 0 0 250 50 0 0 20 0 9 0 100 0 0";
        assert_eq!(parse_cpu(stat), Some(3.0));
    }

    #[test]
    fn machine_busy_leaves_out_idle_and_io_wait() {
        let stat = "cpu  100 5 50 800 40 3 2 0 0 0\ncpu0 50 2 25 400 20 1 1 0 0 0\n";
        assert_eq!(parse_machine(stat), Some(1.6));
        assert_eq!(parse_machine("intr 1 2 3\n"), None);
    }

    #[test]
    fn rss_from_status() {
        let status = "Name:\tjinlin\nVmPeak:\t  900 kB\nVmRSS:\t   102400 kB\n";
        assert_eq!(parse_rss(status), Some(100.0));
    }
}
