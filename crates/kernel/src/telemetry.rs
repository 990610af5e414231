//! Structured logs with `tracing`: readable lines for people, JSON lines
//! for collectors. `RUST_LOG` overrides the default filter.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Keeps the log's writer thread; dropped at exit, it writes out the lines
/// still queued.
#[must_use = "the logs stop when this is dropped"]
pub struct Logs(#[allow(dead_code)] Option<tracing_appender::non_blocking::WorkerGuard>);

/// Lines that may wait for the writer thread before a logging request waits
/// for it too (none is dropped).
const QUEUED_LINES: usize = 128_000;

/// Logs to stderr through a thread of their own: a write to a file or a
/// pipe can block for a moment (a full pipe, a file system committing its
/// journal), and written from the request's own thread it would stop that
/// thread, and every other one at the next line, while it lasts.
pub fn init(format: LogFormat) -> Logs {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn"));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .buffered_lines_limit(QUEUED_LINES)
        .thread_name("jinlin-logs")
        .finish(std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    // A second init (tests, embedded use) keeps the first subscriber, and
    // its writer thread.
    let first = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
    Logs(first.is_ok().then_some(guard))
}
