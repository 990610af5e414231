//! `jinlin import divisions`: the national division codes into the place
//! tree, from the Fuzhou extract shipped in `data/divisions`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use jinlin_kernel::Database;
use jinlin_places::divisions::{self, ImportError, ImportReport, Level};
use jinlin_testkit::{TestDb, db_test};
use sea_orm::{ConnectionTrait, Statement};

const BIN: &str = env!("CARGO_BIN_EXE_jinlin");

/// The Fuzhou extract at the root of the repository.
fn fuzhou() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/divisions")
}

async fn import(db: &Database, dir: &Path, within: Option<&str>) -> ImportReport {
    divisions::import(db, dir, within, |_| {})
        .await
        .unwrap_or_else(|e| panic!("import failed: {e}"))
}

async fn count(db: &Database, sql: &str) -> i64 {
    let row = db
        .conn()
        .query_one_raw(Statement::from_string(db.backend(), sql.to_string()))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

async fn text(db: &Database, sql: &str) -> String {
    let row = db
        .conn()
        .query_one_raw(Statement::from_string(db.backend(), sql.to_string()))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<String>(0).unwrap()
}

/// A copy of the Fuzhou extract in which `base` is written as plain CSV
/// after `edit` has changed its text.
fn edited_copy(base: &str, edit: impl FnOnce(String) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut edit = Some(edit);
    for level in Level::ALL {
        let from = divisions::find_file(&fuzhou(), level).unwrap();
        if level.file_base() == base {
            let mut csv = String::new();
            divisions::open(&from)
                .unwrap()
                .read_to_string(&mut csv)
                .unwrap();
            std::fs::write(
                dir.path().join(format!("{base}.csv")),
                edit.take().unwrap()(csv),
            )
            .unwrap();
        } else {
            std::fs::copy(&from, dir.path().join(from.file_name().unwrap())).unwrap();
        }
    }
    dir
}

#[db_test]
async fn cangshan_imports_with_its_ancestors(t: TestDb) {
    let db = &t.db;
    let report = import(db, &fuzhou(), Some("350104")).await;
    let inserted: Vec<usize> = report.levels.iter().map(|l| l.inserted).collect();
    assert_eq!(inserted, [1, 1, 1, 14, 210]);

    let kind = |k: &str| format!("SELECT COUNT(*) FROM place WHERE kind = '{k}'");
    assert_eq!(count(db, &kind("province")).await, 1);
    assert_eq!(count(db, &kind("city")).await, 1);
    assert_eq!(count(db, &kind("district")).await, 1);
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM place WHERE kind = 'street' AND district_code = '350104'"
        )
        .await,
        14
    );
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM place WHERE kind = 'community' AND district_code = '350104'"
        )
        .await,
        210
    );
    assert_eq!(count(db, "SELECT COUNT(*) FROM place").await, 227);

    // Codes padded to 12 digits, names, initials, the district code.
    assert_eq!(
        text(db, "SELECT name FROM place WHERE code = '350000000000'").await,
        "福建省"
    );
    assert_eq!(
        text(db, "SELECT name FROM place WHERE code = '350100000000'").await,
        "福州市"
    );
    assert_eq!(
        text(
            db,
            "SELECT initials FROM place WHERE code = '350104000000' AND kind = 'district'"
        )
        .await,
        "csq"
    );
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM place WHERE kind IN ('province', 'city') \
             AND district_code IS NULL"
        )
        .await,
        2
    );
    // The tree: each row's parent is the row of the code one level up, and a
    // community's street is its parent.
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM place c JOIN place p ON p.id = c.parent_id \
             WHERE c.kind = 'community' AND p.kind = 'street' AND c.street_id = p.id \
             AND substr(c.code, 1, 9) = substr(p.code, 1, 9)"
        )
        .await,
        210
    );
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM place s JOIN place d ON d.id = s.parent_id \
             WHERE s.kind = 'street' AND d.code = '350104000000' AND s.street_id IS NULL"
        )
        .await,
        14
    );
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM place WHERE kind = 'province' AND parent_id IS NULL"
        )
        .await,
        1
    );
}

#[db_test]
async fn importing_again_changes_nothing(t: TestDb) {
    let db = &t.db;
    import(db, &fuzhou(), Some("350104")).await;
    let before = text(
        db,
        "SELECT CAST(MAX(updated_at) AS TEXT) || '/' || CAST(SUM(id) AS TEXT) FROM place",
    )
    .await;
    let again = import(db, &fuzhou(), Some("350104")).await;
    assert_eq!(again.inserted(), 0);
    assert_eq!(again.updated(), 0);
    assert_eq!(again.unchanged(), 227);
    let after = text(
        db,
        "SELECT CAST(MAX(updated_at) AS TEXT) || '/' || CAST(SUM(id) AS TEXT) FROM place",
    )
    .await;
    assert_eq!(before, after);

    // The whole city on top of Cangshan adds the rest and keeps Cangshan.
    let fuzhou_all = import(db, &fuzhou(), None).await;
    assert_eq!(fuzhou_all.unchanged(), 227);
    assert_eq!(fuzhou_all.level(Level::Street).inserted, 186 - 14);
    assert_eq!(fuzhou_all.level(Level::Community).inserted, 3022 - 210);
}

#[db_test]
async fn a_changed_name_updates_the_same_row(t: TestDb) {
    let db = &t.db;
    import(db, &fuzhou(), Some("350104")).await;
    let code = "350104001003";
    let id_sql = format!("SELECT id FROM place WHERE code = '{code}'");
    let id = count(db, &id_sql).await;
    let old_name = text(db, &format!("SELECT name FROM place WHERE code = '{code}'")).await;

    let copy = edited_copy("villages", |csv| {
        assert!(csv.contains(&format!("{code},\"{old_name}\"")));
        csv.replace(
            &format!("{code},\"{old_name}\""),
            &format!("{code},\"新港社区\""),
        )
    });
    let report = import(db, copy.path(), Some("350104")).await;
    assert_eq!(report.inserted(), 0);
    assert_eq!(report.updated(), 1);
    assert_eq!(report.level(Level::Community).updated, 1);
    assert_eq!(report.unchanged(), 226);

    assert_eq!(count(db, &id_sql).await, id);
    assert_eq!(
        text(db, &format!("SELECT name FROM place WHERE id = {id}")).await,
        "新港社区"
    );
    assert_eq!(
        text(db, &format!("SELECT initials FROM place WHERE id = {id}")).await,
        "xgsq"
    );
    assert_eq!(count(db, "SELECT COUNT(*) FROM place").await, 227);
}

#[db_test]
async fn malformed_rows_name_file_and_line_and_write_nothing(t: TestDb) {
    let db = &t.db;
    import(db, &fuzhou(), Some("350104")).await;
    let rows = "SELECT CAST(COUNT(*) AS TEXT) || '/' || CAST(MAX(updated_at) AS TEXT) FROM place";
    let before = text(db, rows).await;

    // streets.csv: a header and 186 rows (lines 2..=187), then two bad rows;
    // villages.csv gains a new community that alone would be fine.
    let copy = edited_copy("streets", |mut csv| {
        assert_eq!(csv.lines().count(), 187);
        csv.push_str("35010400x,\"坏街道\",350104,35,3501\n");
        csv.push_str("350199001,\"无区街道\",350199,35,3501\n");
        csv
    });
    let err = divisions::import(db, copy.path(), Some("350104"), |_| {})
        .await
        .unwrap_err();
    let ImportError::Invalid(problems) = &err else {
        panic!("expected problems, got {err}");
    };
    let listed: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(
        listed,
        [
            "streets.csv:188: code \"35010400x\" is not a street code (9 digits)",
            "streets.csv:189: unknown parent: district 350199 is not in areas.csv.gz",
        ]
    );
    let message = err.to_string();
    assert!(message.contains("nothing was imported"), "{message}");
    assert!(message.contains("streets.csv:188:"), "{message}");
    assert_eq!(text(db, rows).await, before);
}

#[db_test]
async fn a_malformed_file_into_an_empty_database_writes_nothing(t: TestDb) {
    let db = &t.db;
    let copy = edited_copy("villages", |mut csv| {
        csv.push_str("350104001999,\"\",350104001,35,3501,350104\n");
        csv
    });
    let err = divisions::import(db, copy.path(), None, |_| {})
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("villages.csv:3024: empty name"),
        "{err}"
    );
    assert_eq!(count(db, "SELECT COUNT(*) FROM place").await, 0);
}

/// A failure inside the transaction (here a code already held by a row of
/// another kind) leaves nothing of the import behind.
#[db_test]
async fn a_failing_write_rolls_everything_back(t: TestDb) {
    let db = &t.db;
    db.conn()
        .execute_raw(Statement::from_string(
            db.backend(),
            "INSERT INTO place (kind, code, name, initials, created_at, updated_at) \
             VALUES ('compound', '350104001003', 'x', 'x', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                .to_string(),
        ))
        .await
        .unwrap();
    let err = divisions::import(db, &fuzhou(), Some("350104"), |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, ImportError::Db(_)), "{err}");
    assert_eq!(count(db, "SELECT COUNT(*) FROM place").await, 1);
}

#[test]
fn the_binary_imports_cangshan() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(BIN)
        .args(["import", "divisions"])
        .arg(fuzhou())
        .args(["--within", "350104", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let words = |prefix: &str| -> Vec<String> {
        stdout
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} line: {stdout}"))
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    assert_eq!(words("streets"), ["streets", "14", "0", "0", "0"]);
    assert_eq!(words("communities"), ["communities", "210", "0", "0", "0"]);
    assert_eq!(words("total"), ["total", "227", "0", "0", "0"]);
    assert!(stderr.contains("communities: 210/210"), "{stderr}");
    assert!(dir.path().join("jinlin.sqlite").exists());

    let bad = Command::new(BIN)
        .args(["import", "divisions"])
        .arg(fuzhou())
        .args(["--within", "99", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("--within 99"), "{err}");
}
