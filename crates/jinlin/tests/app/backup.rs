//! `jinlin backup`, `jinlin restore` and `jinlin verify`, run as the real
//! binary against a database holding the demo data set.

use std::path::Path;
use std::process::{Command, Output};

use jinlin_kernel::Database;
use jinlin_kernel::audit::{self, chain};
use jinlin_seed::Scale;
use jinlin_testkit::{TestDb, db_test};
use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
use sha2::{Digest, Sha256};

const BIN: &str = env!("CARGO_BIN_EXE_jinlin");

fn jinlin(args: &[&str], url: &str) -> Output {
    Command::new(BIN)
        .args(args)
        .args(["--database-url", url])
        .output()
        .unwrap()
}

fn out(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

async fn exec(db: &Database, sql: &str) -> u64 {
    db.conn()
        .execute_raw(Statement::from_string(db.backend(), sql.to_string()))
        .await
        .unwrap()
        .rows_affected()
}

async fn one_i64(db: &Database, sql: &str) -> i64 {
    db.conn()
        .query_one_raw(Statement::from_string(db.backend(), sql.to_string()))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap()
}

/// The demo at small scale (matters, closed and open votes with ballots,
/// every capability's demo rows), plus audit entries, some sealed into the
/// chain and some written after the last seal.
async fn seeded(db: &Database) {
    jinlin::demo::load_once_at(db, None, Scale::Small)
        .await
        .unwrap();
    for i in 0..5 {
        let entry = audit::Entry::new(None, "test.write", "place")
            .object(i)
            .district(Some("350104".into()))
            .detail(serde_json::json!({"n": i, "note": "第一批"}));
        audit::record(db.conn(), entry).await.unwrap();
    }
    assert!(chain::seal(db).await.unwrap() >= 5);
    for i in 0..3 {
        let entry = audit::Entry::new(None, "test.later", "place")
            .object(i)
            .ip(Some("10.0.0.1".into()));
        audit::record(db.conn(), entry).await.unwrap();
    }
}

/// Row count and SHA-256 of the sorted rows of every table (SQLite's
/// AUTOINCREMENT counters included), and on PostgreSQL every sequence's
/// position, so restored ids continue where the original left off.
async fn digests(db: &Database) -> Vec<(String, usize, String)> {
    let backend = db.backend();
    let rows = |sql: String| async move {
        db.conn()
            .query_all_raw(Statement::from_string(backend, sql))
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get_by_index::<String>(0).unwrap())
            .collect::<Vec<_>>()
    };
    let postgres = backend == DbBackend::Postgres;
    let tables = rows(if postgres {
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = \
         'public' AND table_type = 'BASE TABLE' ORDER BY 1"
            .into()
    } else {
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1".into()
    })
    .await;
    let mut out = Vec::new();
    for table in tables {
        let select = if postgres {
            format!("SELECT t::text FROM \"{table}\" t")
        } else {
            let columns = rows(format!(
                "SELECT name FROM pragma_table_info('{table}') ORDER BY cid"
            ))
            .await;
            let row = columns
                .iter()
                .map(|c| format!("quote(\"{c}\")"))
                .collect::<Vec<_>>()
                .join(" || '|' || ");
            format!("SELECT {row} FROM \"{table}\"")
        };
        let mut found = rows(select).await;
        found.sort();
        let mut hash = Sha256::new();
        for r in &found {
            hash.update(r.as_bytes());
            hash.update([0]);
        }
        out.push((table, found.len(), chain::to_hex(&hash.finalize())));
    }
    if postgres {
        for seq in rows(
            "SELECT sequence_name::text FROM information_schema.sequences \
             WHERE sequence_schema = 'public' ORDER BY 1"
                .into(),
        )
        .await
        {
            let at = rows(format!(
                "SELECT last_value::text || ',' || is_called::text FROM \"{seq}\""
            ))
            .await;
            out.push((format!("sequence {seq}"), 1, at.join("")));
        }
    }
    out
}

/// A fresh, migrated, empty database of the same kind as `db`, and the
/// URL the binary opens it with.
async fn fresh_like(db: &TestDb) -> TestDb {
    if db.is_postgres() {
        TestDb::postgres().await
    } else {
        TestDb::sqlite().await
    }
}

/// The digests of `db` read through a new connection: a SQLite restore
/// renames a new file into place, which connections opened before do not
/// see.
async fn reopened_digests(db: &TestDb) -> Vec<(String, usize, String)> {
    let fresh = Database::connect(&db.url, 1).await.unwrap();
    let found = digests(&fresh).await;
    fresh.close().await.ok();
    found
}

#[db_test]
async fn a_backup_restores_every_table(db: TestDb) {
    seeded(&db.db).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(if db.is_postgres() {
        "jinlin.pgdump"
    } else {
        "jinlin.sqlite.bak"
    });
    let file_arg = file.to_str().unwrap();

    let backup = jinlin(&["backup", file_arg], &db.url);
    assert!(backup.status.success(), "{}", out(&backup));
    let said = out(&backup);
    assert!(said.contains("backup written to"), "{said}");
    assert!(said.contains("sealed up to place"), "{said}");
    assert!(said.contains("secret.key"), "{said}");
    // A backup never overwrites a file.
    let again = jinlin(&["backup", file_arg], &db.url);
    assert!(!again.status.success());
    assert!(out(&again).contains("exists already"), "{}", out(&again));

    let original = digests(&db.db).await;

    // Into an empty database (migrated, as `serve` leaves it).
    let target = fresh_like(&db).await;
    let restore = jinlin(&["restore", file_arg], &target.url);
    assert!(restore.status.success(), "{}", out(&restore));
    let restored = reopened_digests(&target).await;
    assert_eq!(restored, original);
    let count = |table: &str| {
        restored
            .iter()
            .find(|(t, _, _)| t == table)
            .map(|(_, n, _)| *n)
            .unwrap_or_else(|| panic!("no table {table}"))
    };
    assert!(restored.len() > 40, "{restored:?}");
    for table in [
        "place",
        "dwelling",
        "person",
        "vote_ballot",
        "audit_log",
        "job",
    ] {
        assert!(count(table) > 0, "{table} is empty: {restored:?}");
    }

    // The restored database holds data now: a second restore needs --force.
    let refused = jinlin(&["restore", file_arg], &target.url);
    assert!(!refused.status.success());
    assert!(out(&refused).contains("--force"), "{}", out(&refused));
    let forced = jinlin(&["restore", file_arg, "--force"], &target.url);
    assert!(forced.status.success(), "{}", out(&forced));
    assert_eq!(reopened_digests(&target).await, original);
    let verify = jinlin(&["verify"], &target.url);
    assert!(verify.status.success(), "{}", out(&verify));
}

#[test]
fn restore_explains_a_missing_or_foreign_file() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("jinlin.sqlite").display()
    );
    let missing = jinlin(&["restore", "/nonexistent/backup"], &url);
    assert!(!missing.status.success());
    assert!(out(&missing).contains("there is no backup at"));

    let foreign = dir.path().join("notes.txt");
    std::fs::write(&foreign, "not a database at all, just some words").unwrap();
    let refused = jinlin(&["restore", foreign.to_str().unwrap()], &url);
    assert!(!refused.status.success());
    assert!(!Path::new(&dir.path().join("jinlin.sqlite")).exists());
}

#[db_test]
async fn verify_finds_a_changed_audit_entry_and_a_changed_ballot(db: TestDb) {
    seeded(&db.db).await;
    let ok = jinlin(&["verify", "--seal"], &db.url);
    let said = out(&ok);
    assert!(ok.status.success(), "{said}");
    assert!(said.contains("3 new entries sealed first"), "{said}");
    assert!(said.contains("chain valid"), "{said}");
    assert!(said.contains("everything verifies"), "{said}");
    let votes = one_i64(&db.db, "SELECT COUNT(*) FROM owner_vote").await;
    assert!(votes >= 2, "the demo has votes");
    assert!(said.contains(&format!("{votes} votes and ")), "{said}");

    // An audit entry's detail changed after sealing.
    let id = one_i64(
        &db.db,
        "SELECT id FROM audit_log WHERE action = 'test.write' ORDER BY id LIMIT 1 OFFSET 2",
    )
    .await;
    let seq = one_i64(
        &db.db,
        &format!("SELECT chain_seq FROM audit_log WHERE id = {id}"),
    )
    .await;
    exec(
        &db.db,
        &format!("UPDATE audit_log SET detail = '{{\"n\": 20}}' WHERE id = {id}"),
    )
    .await;
    let changed = jinlin(&["verify"], &db.url);
    let said = out(&changed);
    assert!(!changed.status.success(), "{said}");
    assert!(
        said.contains(&format!("BREAK: audit entry {id} (chain place {seq})")),
        "{said}"
    );
    // Only that entry: the ones after it still verify against its hash.
    assert_eq!(said.matches("BREAK:").count(), 1, "{said}");
    exec(
        &db.db,
        &format!(
            "UPDATE audit_log SET detail = '{}' WHERE id = {id}",
            serde_json::json!({"n": 2, "note": "第一批"})
        ),
    )
    .await;
    let put_back = jinlin(&["verify"], &db.url);
    assert!(put_back.status.success(), "{}", out(&put_back));

    // An entry removed.
    exec(&db.db, &format!("DELETE FROM audit_log WHERE id = {id}")).await;
    let removed = jinlin(&["verify"], &db.url);
    let said = out(&removed);
    assert!(!removed.status.success(), "{said}");
    assert!(
        said.contains(&format!("chain place {seq} is missing")),
        "{said}"
    );

    // A ballot changed: the vote's chain names it. (Audit entry removed
    // above stays removed; the vote's break is reported beside it.)
    let (ballot, vote) = {
        let row = db
            .db
            .conn()
            .query_one_raw(Statement::from_string(
                db.db.backend(),
                "SELECT id, vote_id, choice FROM vote_ballot ORDER BY id LIMIT 1",
            ))
            .await
            .unwrap()
            .unwrap();
        let choice: String = row.try_get_by_index(2).unwrap();
        let flipped = if choice == "against" {
            "for"
        } else {
            "against"
        };
        (
            (row.try_get_by_index::<i64>(0).unwrap(), flipped.to_string()),
            row.try_get_by_index::<i64>(1).unwrap(),
        )
    };
    exec(
        &db.db,
        &format!(
            "UPDATE vote_ballot SET choice = '{}' WHERE id = {}",
            ballot.1, ballot.0
        ),
    )
    .await;
    let flipped = jinlin(&["verify"], &db.url);
    let said = out(&flipped);
    assert!(!flipped.status.success(), "{said}");
    assert!(said.contains(&format!("BREAK: vote {vote} (")), "{said}");
}

/// PostgreSQL commits out of id order: an entry written by a transaction
/// that commits after a later entry was sealed is sealed in the next pass,
/// after it, and the chain still verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_committed_late_is_sealed_in_the_next_pass() {
    let db = TestDb::postgres().await;
    let slow = db.db.conn().begin().await.unwrap();
    audit::record(&slow, audit::Entry::new(None, "test.slow", "place"))
        .await
        .unwrap();
    audit::record(db.db.conn(), audit::Entry::new(None, "test.fast", "place"))
        .await
        .unwrap();
    assert_eq!(chain::seal(&db.db).await.unwrap(), 1);
    slow.commit().await.unwrap();
    assert_eq!(chain::seal(&db.db).await.unwrap(), 1);
    let order = |action: &str| format!("SELECT chain_seq FROM audit_log WHERE action = '{action}'");
    assert_eq!(one_i64(&db.db, &order("test.fast")).await, 1);
    assert_eq!(one_i64(&db.db, &order("test.slow")).await, 2);
    assert!(
        one_i64(&db.db, "SELECT MIN(id) FROM audit_log").await
            == one_i64(
                &db.db,
                "SELECT id FROM audit_log WHERE action = 'test.slow'"
            )
            .await
    );
    let report = chain::verify(&db.db).await.unwrap();
    assert!(report.ok(), "{:?}", report.breaks);
    assert_eq!((report.sealed, report.unsealed), (2, 0));
}

/// The head `jinlin verify` printed: `(place, hash)`.
fn printed_head(said: &str) -> (i64, String) {
    let line = said
        .lines()
        .find(|l| l.contains("head at place"))
        .unwrap_or_else(|| panic!("no head in {said}"));
    let rest = line.split("head at place ").nth(1).unwrap();
    let (place, hash) = rest.split_once(", hash ").unwrap();
    (place.trim().parse().unwrap(), hash.trim().to_string())
}

async fn write_entries(db: &Database, action: &str, n: i64) {
    for i in 0..n {
        let entry = audit::Entry::new(None, action, "place")
            .object(i)
            .district(Some("350104".into()))
            .detail(serde_json::json!({"n": i, "note": "值班记录"}));
        audit::record(db.conn(), entry).await.unwrap();
    }
}

/// `verify --expect-head` passes while the chain still holds a head
/// recorded earlier at its place, and fails once the log was cut off
/// before it or rewritten from an entry before it, though the shorter or
/// rewritten chain verifies on its own.
#[db_test]
async fn verify_expect_head_finds_a_cut_off_or_rewritten_log(db: TestDb) {
    write_entries(&db.db, "test.write", 8).await;
    let sealed = jinlin(&["verify", "--seal"], &db.url);
    let said = out(&sealed);
    assert!(sealed.status.success(), "{said}");
    let (place, hash) = printed_head(&said);
    assert_eq!(place, 8, "{said}");
    let recorded = format!("{place}:{hash}");

    // The log grows: the recorded head is still there, with or without
    // its place, in upper-case hex too.
    write_entries(&db.db, "test.later", 4).await;
    for head in [recorded.clone(), hash.clone(), hash.to_uppercase()] {
        let ok = jinlin(&["verify", "--seal", "--expect-head", &head], &db.url);
        let said = out(&ok);
        assert!(ok.status.success(), "{head}: {said}");
        assert!(
            said.contains(&format!("recorded head found at place {place}")),
            "{said}"
        );
    }
    let (now, _) = printed_head(&out(&jinlin(&["verify"], &db.url)));
    assert_eq!(now, 12);

    // A head at another place than recorded.
    let moved = jinlin(
        &["verify", "--expect-head", &format!("{}:{hash}", place + 1)],
        &db.url,
    );
    let said = out(&moved);
    assert!(!moved.status.success(), "{said}");
    assert!(
        said.contains(&format!(
            "was at place {} and is now at place {place}",
            place + 1
        )),
        "{said}"
    );

    // Malformed heads are refused before anything is read.
    for bad in ["abc", "0:abc", &format!("x:{hash}"), &hash[..63]] {
        let refused = jinlin(&["verify", "--expect-head", bad], &db.url);
        let said = out(&refused);
        assert!(!refused.status.success(), "{bad}: {said}");
        assert!(
            said.contains("is not a chain hash") || said.contains("is not a chain place"),
            "{bad}: {said}"
        );
    }

    // Rewritten from place 5 on (entries unsealed, one changed, sealed
    // again): the chain verifies, but the recorded head is gone.
    exec(
        &db.db,
        "UPDATE audit_log SET chain_seq = NULL, chain_hash = NULL WHERE chain_seq >= 5",
    )
    .await;
    exec(
        &db.db,
        "UPDATE audit_log SET detail = '{\"n\": 40}' WHERE chain_seq IS NULL \
         AND action = 'test.write' AND detail LIKE '{\"n\":4,%'",
    )
    .await;
    assert_eq!(chain::seal(&db.db).await.unwrap(), 8);
    let plain = jinlin(&["verify"], &db.url);
    assert!(plain.status.success(), "{}", out(&plain));
    let rewritten = jinlin(&["verify", "--expect-head", &recorded], &db.url);
    let said = out(&rewritten);
    assert!(!rewritten.status.success(), "{said}");
    assert!(
        said.contains(&format!(
            "BREAK: the recorded head {recorded} is not in the chain"
        )),
        "{said}"
    );

    // Cut off before the recorded head: a shorter chain that verifies.
    let (_, new_hash) = printed_head(&out(&plain));
    exec(&db.db, "DELETE FROM audit_log WHERE chain_seq >= 3").await;
    let cut = jinlin(
        &["verify", "--expect-head", &format!("12:{new_hash}")],
        &db.url,
    );
    let said = out(&cut);
    assert!(!cut.status.success(), "{said}");
    assert!(said.contains("chain valid"), "{said}");
    assert!(said.contains("is not in the chain"), "{said}");
}

/// Sealing writes the hashes many rows per statement: a pass over more
/// entries than one transaction seals, with text that needs quoting,
/// gives the chain verify recomputes, in id order.
#[db_test]
async fn sealing_in_batches_gives_the_chain_verify_computes(db: TestDb) {
    for i in 0..2_600i64 {
        let entry = audit::Entry::new(None, "test.bulk", "place")
            .object(i)
            .ip((i % 3 == 0).then(|| "10.0.0.1".to_string()))
            .detail(serde_json::json!({"n": i, "note": "引号 ' 和 \" 与 $1 ?"}));
        audit::record(db.db.conn(), entry).await.unwrap();
    }
    assert_eq!(chain::seal(&db.db).await.unwrap(), 2_600);
    assert_eq!(chain::seal(&db.db).await.unwrap(), 0);
    let report = chain::verify(&db.db).await.unwrap();
    assert!(report.ok(), "{:?}", report.breaks);
    assert_eq!(
        (report.sealed, report.unsealed, report.head_seq),
        (2_600, 0, 2_600)
    );
    // In id order, one place each.
    assert_eq!(
        one_i64(
            &db.db,
            "SELECT COUNT(*) FROM audit_log a JOIN audit_log b ON b.chain_seq = a.chain_seq + 1 \
             WHERE b.id < a.id"
        )
        .await,
        0
    );
}
