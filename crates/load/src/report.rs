//! The pure parts: weighted choice of the next operation, a small
//! deterministic random source, and the per-class summary of latencies.

use std::fmt::Write as _;
use std::time::Duration;

/// Xorshift64*: enough to spread requests over accounts and classes, and
/// the same on every run for a given seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Picks an index with probability proportional to its weight.
#[derive(Debug, Clone)]
pub struct Mix {
    cumulative: Vec<u64>,
}

impl Mix {
    /// None when every weight is zero.
    pub fn new(weights: &[u32]) -> Option<Self> {
        let mut total = 0u64;
        let cumulative: Vec<u64> = weights
            .iter()
            .map(|w| {
                total += u64::from(*w);
                total
            })
            .collect();
        (total > 0).then_some(Mix { cumulative })
    }

    pub fn total(&self) -> u64 {
        *self.cumulative.last().expect("a mix has weights")
    }

    /// The index that `ticket` (in `0..total`) falls on.
    pub fn index_of(&self, ticket: u64) -> usize {
        self.cumulative.partition_point(|c| *c <= ticket)
    }

    pub fn pick(&self, rng: &mut Rng) -> usize {
        self.index_of(rng.next_u64() % self.total())
    }
}

/// The outcome of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// 503 from the load shedder.
    Shed,
    /// Any other failure: a 4xx/5xx, a refused connection, a timeout.
    Error,
}

/// Latencies (microseconds) and outcomes of one class of requests.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    pub ok_micros: Vec<u32>,
    pub shed_micros: Vec<u32>,
    pub errors: u64,
    /// A few error descriptions, to say what went wrong.
    pub first_errors: Vec<String>,
}

impl Samples {
    pub fn record(&mut self, outcome: Outcome, latency: Duration, what: impl FnOnce() -> String) {
        let micros = latency.as_micros().min(u128::from(u32::MAX)) as u32;
        match outcome {
            Outcome::Ok => self.ok_micros.push(micros),
            Outcome::Shed => self.shed_micros.push(micros),
            Outcome::Error => {
                self.errors += 1;
                if self.first_errors.len() < 3 {
                    self.first_errors.push(what());
                }
            }
        }
    }

    pub fn merge(&mut self, other: Samples) {
        self.ok_micros.extend(other.ok_micros);
        self.shed_micros.extend(other.shed_micros);
        self.errors += other.errors;
        for e in other.first_errors {
            if self.first_errors.len() < 3 {
                self.first_errors.push(e);
            }
        }
    }

    pub fn total(&self) -> u64 {
        self.ok_micros.len() as u64 + self.shed_micros.len() as u64 + self.errors
    }
}

/// The value below which `q` (0..=1) of the sorted values lie (nearest
/// rank); 0 for no values.
pub fn percentile(sorted: &[u32], q: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// One class's figures over a run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ClassReport {
    pub class: String,
    pub requests: u64,
    pub ok: u64,
    pub shed: u64,
    pub errors: u64,
    /// Successful requests per second.
    pub ok_per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Median time to a 503 (the shedder should answer at once).
    pub shed_p50_ms: f64,
    pub first_errors: Vec<String>,
}

pub fn summarise(class: &str, mut s: Samples, seconds: f64) -> ClassReport {
    s.ok_micros.sort_unstable();
    s.shed_micros.sort_unstable();
    let ms = |us: u32| f64::from(us) / 1000.0;
    ClassReport {
        class: class.to_string(),
        requests: s.total(),
        ok: s.ok_micros.len() as u64,
        shed: s.shed_micros.len() as u64,
        errors: s.errors,
        ok_per_sec: if seconds > 0.0 {
            s.ok_micros.len() as f64 / seconds
        } else {
            0.0
        },
        p50_ms: ms(percentile(&s.ok_micros, 0.50)),
        p99_ms: ms(percentile(&s.ok_micros, 0.99)),
        max_ms: ms(s.ok_micros.last().copied().unwrap_or(0)),
        shed_p50_ms: ms(percentile(&s.shed_micros, 0.50)),
        first_errors: s.first_errors,
    }
}

/// One second of a phase: the requests answered that were due (sent, in a
/// closed loop) in it, and how long they took.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Second {
    /// Seconds from the phase's start.
    pub at: u32,
    pub requests: u64,
    /// Those that took longer than the limit `slow` was given.
    pub slow: u64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Each second of a phase from `(milliseconds from the start, latency in
/// microseconds)` of its answered requests; seconds with none are left out.
/// `slow_ms` is the latency a request counts as slow beyond.
pub fn by_second(answered: &[(u32, u32)], slow_ms: f64) -> Vec<Second> {
    let mut buckets: std::collections::BTreeMap<u32, Vec<u32>> = Default::default();
    for &(at_ms, micros) in answered {
        buckets.entry(at_ms / 1000).or_default().push(micros);
    }
    let ms = |us: u32| f64::from(us) / 1000.0;
    buckets
        .into_iter()
        .map(|(at, mut v)| {
            v.sort_unstable();
            Second {
                at,
                requests: v.len() as u64,
                slow: v.iter().filter(|us| ms(**us) > slow_ms).count() as u64,
                p99_ms: ms(percentile(&v, 0.99)),
                max_ms: ms(v.last().copied().unwrap_or(0)),
            }
        })
        .collect()
}

/// Where a phase's slow requests were due: a stall puts most of them in a
/// few seconds, a server near its limit spreads them over the phase.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Slowness {
    pub slow: u64,
    /// Of all the answered requests.
    pub share: f64,
    /// The seconds with the most slow requests, most first (at most three).
    pub worst: Vec<Second>,
    /// The share of the slow requests that fell in `worst`.
    pub share_in_worst: f64,
}

pub fn slowness(seconds: &[Second]) -> Option<Slowness> {
    let slow: u64 = seconds.iter().map(|s| s.slow).sum();
    let requests: u64 = seconds.iter().map(|s| s.requests).sum();
    if slow == 0 {
        return None;
    }
    let mut worst: Vec<Second> = seconds.iter().filter(|s| s.slow > 0).cloned().collect();
    worst.sort_by(|a, b| b.slow.cmp(&a.slow).then(a.at.cmp(&b.at)));
    worst.truncate(3);
    let in_worst: u64 = worst.iter().map(|s| s.slow).sum();
    Some(Slowness {
        slow,
        share: slow as f64 / requests as f64,
        share_in_worst: in_worst as f64 / slow as f64,
        worst,
    })
}

/// A fixed-width table of class reports.
pub fn table(rows: &[ClassReport]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<14} {:>8} {:>9} {:>8} {:>8} {:>8} {:>6} {:>6} {:>8}",
        "class", "requests", "ok/s", "p50 ms", "p99 ms", "max ms", "errors", "shed", "shed p50"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:<14} {:>8} {:>9.1} {:>8.2} {:>8.2} {:>8.1} {:>6} {:>6} {:>8.2}",
            r.class,
            r.requests,
            r.ok_per_sec,
            r.p50_ms,
            r.p99_ms,
            r.max_ms,
            r.errors,
            r.shed,
            r.shed_p50_ms
        );
        for e in &r.first_errors {
            let _ = writeln!(out, "    error: {e}");
        }
    }
    out
}

/// Parses `30s`, `10m`, `1h` or a plain number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = match s.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: f64 = number
        .parse()
        .map_err(|_| format!("not a duration: {s:?}"))?;
    let seconds = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("unknown unit in {s:?} (ms, s, m, h)")),
    };
    if !(seconds.is_finite() && seconds > 0.0) {
        return Err(format!("not a positive duration: {s:?}"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// A pause, which may be none (`0`).
pub fn parse_pause(s: &str) -> Result<Duration, String> {
    let number = s.trim().trim_end_matches(|c: char| c.is_ascii_alphabetic());
    match number.parse::<f64>() {
        Ok(0.0) => Ok(Duration::ZERO),
        _ => parse_duration(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_follows_the_weights() {
        let mix = Mix::new(&[3, 0, 1]).unwrap();
        assert_eq!(mix.total(), 4);
        assert_eq!(
            (0..4).map(|t| mix.index_of(t)).collect::<Vec<_>>(),
            [0, 0, 0, 2]
        );
        let mut rng = Rng::new(7);
        let mut counts = [0u32; 3];
        for _ in 0..40_000 {
            counts[mix.pick(&mut rng)] += 1;
        }
        assert_eq!(counts[1], 0);
        // 3:1 within a few per cent.
        let ratio = f64::from(counts[0]) / f64::from(counts[2]);
        assert!((2.8..3.2).contains(&ratio), "{counts:?}");
    }

    #[test]
    fn no_weight_is_no_mix() {
        assert!(Mix::new(&[0, 0]).is_none());
        assert!(Mix::new(&[]).is_none());
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.50), 50);
        assert_eq!(percentile(&v, 0.99), 99);
        assert_eq!(percentile(&v, 1.0), 100);
        assert_eq!(percentile(&v, 0.0), 1);
        assert_eq!(percentile(&[], 0.5), 0);
        assert_eq!(percentile(&[42], 0.99), 42);
    }

    #[test]
    fn a_summary_counts_every_outcome() {
        let mut s = Samples::default();
        for ms in [1u64, 2, 3, 4] {
            s.record(Outcome::Ok, Duration::from_millis(ms), String::new);
        }
        s.record(Outcome::Shed, Duration::from_micros(300), String::new);
        s.record(Outcome::Error, Duration::ZERO, || "500".into());
        let r = summarise("board", s, 2.0);
        assert_eq!((r.requests, r.ok, r.shed, r.errors), (6, 4, 1, 1));
        assert_eq!(r.ok_per_sec, 2.0);
        assert_eq!(r.p50_ms, 2.0);
        assert_eq!(r.p99_ms, 4.0);
        assert_eq!(r.shed_p50_ms, 0.3);
        assert_eq!(r.first_errors, ["500"]);
    }

    #[test]
    fn seconds_bucket_by_when_a_request_was_due() {
        let answered = [(10, 1_000), (999, 80_000), (1_000, 2_000), (3_500, 60_000)];
        let s = by_second(&answered, 50.0);
        assert_eq!(
            s.iter()
                .map(|s| (s.at, s.requests, s.slow))
                .collect::<Vec<_>>(),
            [(0, 2, 1), (1, 1, 0), (3, 1, 1)]
        );
        assert_eq!(s[0].max_ms, 80.0);
        let w = slowness(&s).unwrap();
        assert_eq!((w.slow, w.share, w.share_in_worst), (2, 0.5, 1.0));
        assert_eq!(w.worst.iter().map(|s| s.at).collect::<Vec<_>>(), [0, 3]);
        assert_eq!(slowness(&by_second(&[(5, 1_000)], 50.0)), None);
    }

    proptest::proptest! {
        #[test]
        fn seconds_keep_every_request_and_the_slowest(
            answered in proptest::collection::vec((0u32..120_000, 0u32..500_000), 1..400),
            slow_ms in 1.0f64..300.0,
        ) {
            let s = by_second(&answered, slow_ms);
            let total: u64 = s.iter().map(|s| s.requests).sum();
            proptest::prop_assert_eq!(total, answered.len() as u64);
            let max = answered.iter().map(|a| a.1).max().unwrap();
            let top = s.iter().map(|s| s.max_ms).fold(0.0, f64::max);
            proptest::prop_assert_eq!(top, f64::from(max) / 1000.0);
            proptest::prop_assert!(s.windows(2).all(|w| w[0].at < w[1].at));
            let slow = answered.iter().filter(|a| f64::from(a.1) / 1000.0 > slow_ms).count() as u64;
            match slowness(&s) {
                None => proptest::prop_assert_eq!(slow, 0),
                Some(w) => {
                    proptest::prop_assert_eq!(w.slow, slow);
                    proptest::prop_assert!(w.worst.len() <= 3);
                    proptest::prop_assert!(w.worst.windows(2).all(|p| p[0].slow >= p[1].slow));
                    proptest::prop_assert!(w.share_in_worst > 0.0 && w.share_in_worst <= 1.0);
                    // No second outside the worst has more slow requests than the last of them.
                    let least = w.worst.last().unwrap().slow;
                    let outside = s.iter().filter(|x| !w.worst.iter().any(|y| y.at == x.at));
                    proptest::prop_assert!(outside.into_iter().all(|x| x.slow <= least));
                }
            }
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("3d").is_err());
    }

    #[test]
    fn pauses_may_be_none() {
        assert_eq!(parse_pause("0"), Ok(Duration::ZERO));
        assert_eq!(parse_pause("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_pause("30s"), Ok(Duration::from_secs(30)));
        assert!(parse_pause("-1s").is_err());
        assert!(parse_pause("soon").is_err());
    }
}
