//! Times every ledger of a district and the peak memory of each export,
//! on a database of your own (e.g. the one `serve --demo` fills):
//!
//! ```sh
//! jinlin serve --demo --data-dir /tmp/ledgers-demo   # stop it once it listens
//! cargo run -p jinlin-ledgers --example measure -- sqlite:///tmp/ledgers-demo/jinlin.sqlite [district-account]
//! ```
//!
//! Each ledger is exported for the district as its district admin would
//! export it (the account `district` by default), into a temporary file as
//! the API does. The peak resident set (VmHWM) is reset before each export
//! (`/proc/self/clear_refs`), so each line gives that export's own peak.
//!
//! `measure --rows N` writes N synthetic rows of the matters ledger's 13
//! columns through the same writer, without a database, to show that the
//! writer's memory does not grow with the rows.

use std::time::Instant;

use jinlin_kernel::Database;
use jinlin_kernel::auth::entity::account;
use jinlin_kernel::auth::{AuthVia, load};
use jinlin_kernel::i18n::Lang;
use jinlin_ledgers::api;
use jinlin_ledgers::rules::Ledger;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().map(String::as_str) == Some("--rows") {
        args.next();
        let n: u64 = args.next().and_then(|n| n.parse().ok()).expect("--rows N");
        return synthetic(n).await;
    }
    let url = args
        .next()
        .expect("usage: measure <database-url> [district-account]");
    let username = args.next().unwrap_or_else(|| "district".into());
    let db = Database::connect(&url, 4).await.expect("open the database");
    let acc = account::Entity::find()
        .filter(account::Column::Username.eq(&username))
        .one(db.conn())
        .await
        .expect("read accounts")
        .unwrap_or_else(|| panic!("no account {username}"));
    let user = load(db.conn(), acc.id, AuthVia::Token { can_write: false })
        .await
        .expect("load the principal")
        .expect("an enabled account");
    let scope = api::scope(db.conn(), &user, None)
        .await
        .expect("the account's top node");
    println!(
        "{} ({}), {} build; peak resident set before exporting: {} MiB",
        scope.name,
        scope.kind,
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        peak_kib() / 1024
    );
    println!("ledger | rows | bytes | time | peak resident set");
    for ledger in Ledger::ALL {
        reset_peak();
        let started = Instant::now();
        let done = api::export(db.conn(), &user, Lang::ZhCn, ledger, &scope, false)
            .await
            .expect("export");
        let took = started.elapsed();
        println!(
            "{} | {} | {} | {:.0} ms | {:.1} MiB",
            ledger.as_str(),
            done.rows,
            done.bytes,
            took.as_secs_f64() * 1000.0,
            peak_kib() as f64 / 1024.0
        );
    }
}

async fn synthetic(n: u64) {
    use jinlin_ledgers::export::{Cell, Sheet, Writer};
    let headings = api::headings(Lang::ZhCn, Ledger::Matters);
    println!(
        "{n} synthetic rows, {} columns; peak resident set before: {} MiB",
        headings.len(),
        peak_kib() / 1024
    );
    reset_peak();
    let started = Instant::now();
    let w = Writer::start(Sheet {
        name: "小区事项台账".into(),
        title: "synthetic".into(),
        headings,
        about_name: "说明".into(),
        about: Vec::new(),
        rows_label: "记录数".into(),
    });
    let mut i = 0;
    while i < n {
        let page: Vec<Vec<Cell>> = (i..(i + 2000).min(n))
            .map(|k| {
                vec![
                    Cell::Int(k as i64),
                    Cell::text("金山街道"),
                    Cell::text("金山社区"),
                    Cell::text(format!("小区{}", k / 1000)),
                    Cell::text(format!("楼道灯不亮 {k}")),
                    Cell::text("公共设施"),
                    Cell::text("一般"),
                    Cell::text("已办结"),
                    Cell::text("2026-11-01 09:30"),
                    Cell::text("2026-11-03 09:30"),
                    Cell::text("2026-11-02 16:00"),
                    Cell::text("是"),
                    Cell::text("满意"),
                ]
            })
            .collect();
        i += page.len() as u64;
        w.send(page).await.expect("send");
    }
    let done = w.finish().await.expect("finish");
    println!(
        "rows {} | bytes {} | {:.1} s | peak resident set {:.1} MiB",
        done.rows,
        done.bytes,
        started.elapsed().as_secs_f64(),
        peak_kib() as f64 / 1024.0
    );
}
