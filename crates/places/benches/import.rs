//! Times the division import on SQLite: reading and checking the files,
//! the first import into an empty database, and importing again (nothing
//! changes).
//!
//! cargo bench -p jinlin-places --bench import [-- DIR]
//!
//! DIR defaults to the Fuzhou extract in data/divisions; the national files
//! (/work/shared/data/divisions in development) give the real figures.

use std::path::PathBuf;
use std::time::Instant;

use jinlin_kernel::Database;
use jinlin_places::divisions::{self, ImportReport};

fn main() {
    let dir = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/divisions"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(dir));
}

async fn run(dir: PathBuf) {
    let started = Instant::now();
    let plan = divisions::load_plan(&dir, None).unwrap_or_else(|e| panic!("{e}"));
    let rows: usize = plan.levels.iter().map(Vec::len).sum();
    println!(
        "read and check {rows} rows from {}: {:.2} s",
        dir.display(),
        started.elapsed().as_secs_f64()
    );

    let temp = tempfile::tempdir().expect("temporary directory");
    let url = format!(
        "sqlite://{}?mode=rwc",
        temp.path().join("bench.sqlite").display()
    );
    let db = Database::connect(&url, 4).await.expect("open SQLite");
    db.migrate().await.expect("migrate");

    for round in ["first import", "import again"] {
        let started = Instant::now();
        let report = divisions::write_plan(&db, &plan, |_| {})
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        println!(
            "{round}: {:.2} s ({})",
            started.elapsed().as_secs_f64(),
            summary(&report)
        );
    }
    db.close().await.ok();
}

fn summary(report: &ImportReport) -> String {
    format!(
        "{} inserted, {} updated, {} unchanged",
        report.inserted(),
        report.updated(),
        report.unchanged()
    )
}
