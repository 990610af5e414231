//! `jinlin backup` and `jinlin restore`.
//!
//! - **SQLite**: `VACUUM INTO` copies the database as of one read
//!   transaction, so the backup is consistent while the server keeps
//!   writing (WAL readers do not block writers). It is written to a
//!   temporary file beside the target, checked, then renamed into place.
//!   Restore copies the backup to a temporary file beside the database,
//!   checks it (`PRAGMA integrity_check`, migrations brought up to this
//!   version), and renames it over the database: a crash leaves the old
//!   database or the new one, never half of each.
//! - **PostgreSQL**: `pg_dump --format=custom` (one snapshot, consistent
//!   while the server runs) and `pg_restore --single-transaction` (all or
//!   nothing), with the password passed in the environment rather than on
//!   the command line.
//!
//! Restore refuses a target that holds data unless forced.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use jinlin_kernel::Database;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

/// Where the configured database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Target {
    pub fn of(url: &str) -> anyhow::Result<Target> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Target::Postgres(url.to_string()));
        }
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .with_context(|| {
                format!(
                    "unsupported database URL {}: use postgres://… or leave it empty for the \
                     embedded SQLite file",
                    jinlin_kernel::config::redact_url(url)
                )
            })?;
        let path = rest.split('?').next().unwrap_or_default();
        if path.is_empty() || path == ":memory:" {
            bail!("{url} names no file: give the SQLite database a file path");
        }
        Ok(Target::Sqlite(PathBuf::from(path)))
    }
}

/// `jinlin backup FILE`.
pub async fn backup(url: &str, file: &Path) -> anyhow::Result<()> {
    if file.exists() {
        bail!(
            "{} exists already: choose a new file name (a backup never overwrites one)",
            file.display()
        );
    }
    let started = Instant::now();
    let partial = partial_path(file);
    let result = match Target::of(url)? {
        Target::Sqlite(path) => backup_sqlite(url, &path, &partial).await,
        Target::Postgres(url) => backup_postgres(&url, &partial).await,
    };
    let head = match result {
        Ok(head) => head,
        Err(e) => {
            std::fs::remove_file(&partial).ok();
            return Err(e);
        }
    };
    sync_file(&partial)?;
    std::fs::rename(&partial, file)
        .with_context(|| format!("moving the finished backup to {}", file.display()))?;
    sync_parent(file);
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    println!(
        "backup written to {} ({}) in {:.1} s",
        file.display(),
        human_size(size),
        started.elapsed().as_secs_f64()
    );
    match head {
        Some((seq, hash)) if seq > 0 => println!(
            "audit chain in the backup: sealed up to place {seq}, hash {hash} (keep this line \
             with the backup: `jinlin verify` on a restore must show this place and hash)"
        ),
        _ => println!("audit chain in the backup: nothing sealed yet"),
    }
    println!(
        "restore it with `jinlin restore {}` (the same database options as here)",
        file.display()
    );
    Ok(())
}

async fn backup_sqlite(
    url: &str,
    path: &Path,
    partial: &Path,
) -> anyhow::Result<Option<(i64, String)>> {
    if !path.is_file() {
        bail!(
            "there is no SQLite database at {}: check --data-dir (or --database-url)",
            path.display()
        );
    }
    eprintln!("copying {} as of now (VACUUM INTO)…", path.display());
    let db = Database::connect(url, 1)
        .await
        .with_context(|| format!("opening {}", path.display()))?;
    let target = partial
        .to_str()
        .context("the backup file's path is not valid UTF-8")?;
    db.conn()
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "VACUUM INTO ?",
            [target.into()],
        ))
        .await
        .with_context(|| {
            format!(
                "writing {}: is the directory writable, with room for a copy of the database?",
                partial.display()
            )
        })?;
    db.close().await.ok();

    eprintln!("checking the copy…");
    let copy = Database::connect(&sqlite_url(partial, "rw"), 1).await?;
    integrity_check(&copy).await?;
    let head = chain_head(&copy).await?;
    // Closing folds the copy's write-ahead log (from opening it in WAL
    // mode) back into the one file.
    copy.close().await.ok();
    Ok(head)
}

async fn backup_postgres(url: &str, partial: &Path) -> anyhow::Result<Option<(i64, String)>> {
    let db = Database::connect(url, 1)
        .await
        .context("connecting to PostgreSQL: check --database-url")?;
    let server = server_major(&db).await?;
    let pg_dump = pg_tool("pg_dump", server)?;
    let head = chain_head(&db).await?;
    db.close().await.ok();
    eprintln!("dumping the database with {pg_dump} (one snapshot; the server may keep running)…");
    let (conn, password) = split_password(url);
    let mut command = Command::new(&pg_dump);
    command
        .args(["--format=custom", "--no-password", "--file"])
        .arg(partial)
        .arg("--dbname")
        .arg(&conn);
    if let Some(p) = password {
        command.env("PGPASSWORD", p);
    }
    run(command, "pg_dump")?;
    Ok(head)
}

/// `jinlin restore FILE [--force]`.
pub async fn restore(url: &str, file: &Path, force: bool) -> anyhow::Result<()> {
    if !file.is_file() {
        bail!("there is no backup at {}", file.display());
    }
    let started = Instant::now();
    match Target::of(url)? {
        Target::Sqlite(path) => restore_sqlite(url, &path, file, force).await?,
        Target::Postgres(url) => restore_postgres(&url, file, force).await?,
    }
    println!(
        "restored {} in {:.1} s; check it with `jinlin verify`, then start the server",
        file.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn restore_sqlite(url: &str, path: &Path, file: &Path, force: bool) -> anyhow::Result<()> {
    if path.is_file() && std::fs::metadata(path)?.len() > 0 {
        let db = Database::connect(url, 1).await?;
        let holds = holds_data(&db).await;
        db.close().await.ok();
        refuse_unless_forced(holds?, &path.display().to_string(), force)?;
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the data directory {}", dir.display()))?;
    }
    let partial = partial_path(path);
    let staged = stage_sqlite(file, &partial).await;
    if let Err(e) = staged {
        remove_sqlite_files(&partial);
        return Err(e);
    }
    // The old database's write-ahead log must not be replayed into the
    // new file: remove it first (its data is being replaced anyway).
    for suffix in ["-wal", "-shm"] {
        let side = with_suffix(path, suffix);
        if side.exists() {
            std::fs::remove_file(&side)
                .with_context(|| format!("removing {}: is the server stopped?", side.display()))?;
        }
    }
    std::fs::rename(&partial, path)
        .with_context(|| format!("moving the restored database to {}", path.display()))?;
    sync_parent(path);
    println!("database {} replaced by the backup", path.display());
    Ok(())
}

/// Copies the backup to `partial`, checks it and brings its schema up to
/// this version.
async fn stage_sqlite(file: &Path, partial: &Path) -> anyhow::Result<()> {
    remove_sqlite_files(partial);
    eprintln!("copying {}…", file.display());
    std::fs::copy(file, partial)
        .with_context(|| format!("copying {} to {}", file.display(), partial.display()))?;
    eprintln!("checking the copy…");
    let db = Database::connect(&sqlite_url(partial, "rw"), 1)
        .await
        .with_context(|| format!("{} is not a SQLite database", file.display()))?;
    let checked = async {
        integrity_check(&db).await?;
        if !tables(&db).await?.iter().any(|t| t == "seaql_migrations") {
            bail!(
                "{} is a SQLite database but not a jinlin backup (it has no migration table)",
                file.display()
            );
        }
        let ran = db.migrate().await.with_context(|| {
            format!(
                "bringing the backup's schema up to this version: was {} made by a newer \
                 jinlin? restore it with that version",
                file.display()
            )
        })?;
        if ran > 0 {
            eprintln!("{ran} migration(s) applied to the restored copy");
        }
        anyhow::Ok(())
    }
    .await;
    db.close().await.ok();
    checked?;
    sync_file(partial)
}

async fn restore_postgres(url: &str, file: &Path, force: bool) -> anyhow::Result<()> {
    let db = Database::connect(url, 1).await.context(
        "connecting to PostgreSQL: check --database-url, and create the database first \
         (createdb NAME)",
    )?;
    let server = server_major(&db).await?;
    let holds = holds_data(&db).await;
    db.close().await.ok();
    refuse_unless_forced(holds?, &jinlin_kernel::config::redact_url(url), force)?;
    let pg_restore = pg_tool("pg_restore", server)?;
    eprintln!("restoring with {pg_restore} in one transaction…");
    let (conn, password) = split_password(url);
    let mut command = Command::new(&pg_restore);
    // --clean --if-exists: the tables an empty, migrated database already
    // has are replaced; --no-owner/--no-privileges: the restoring role owns
    // everything, whoever owned it where the backup was made.
    command
        .args([
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            "--no-password",
            "--dbname",
        ])
        .arg(&conn)
        .arg(file);
    if let Some(p) = password {
        command.env("PGPASSWORD", p);
    }
    run(command, "pg_restore")?;
    let db = Database::connect(url, 1).await?;
    let ran = db.migrate().await.context(
        "bringing the restored schema up to this version: was the backup made by a newer \
         jinlin? restore it with that version",
    );
    db.close().await.ok();
    if ran? > 0 {
        eprintln!("migrations applied to the restored database");
    }
    println!(
        "database {} replaced by the backup",
        jinlin_kernel::config::redact_url(url)
    );
    Ok(())
}

fn refuse_unless_forced(holds: Option<String>, what: &str, force: bool) -> anyhow::Result<()> {
    match holds {
        Some(table) if !force => bail!(
            "{what} holds data (table {table} has rows): restoring would replace it. Back it \
             up first (`jinlin backup FILE`), stop the server, then run restore again with \
             --force"
        ),
        Some(_) => {
            eprintln!("{what} holds data; replacing it (--force)");
            Ok(())
        }
        None => Ok(()),
    }
}

/// The tables of the database (without SQLite's own).
pub async fn tables(db: &Database) -> anyhow::Result<Vec<String>> {
    let sql = match db.backend() {
        DbBackend::Postgres => {
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1"
        }
        _ => {
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' ORDER BY 1"
        }
    };
    let rows = db
        .conn()
        .query_all_raw(Statement::from_string(db.backend(), sql))
        .await?;
    Ok(rows
        .iter()
        .filter_map(|r| r.try_get_by_index::<String>(0).ok())
        .collect())
}

/// Tables the migrations themselves fill: rows there do not make a
/// database one that holds data. (A table missing here errs on the safe
/// side: restore asks for --force.)
const FILLED_BY_MIGRATIONS: [&str; 3] = [
    "seaql_migrations",
    "resident_matter_category",
    "principal_epoch",
];

/// The first table with a row, other than those the migrations fill.
async fn holds_data(db: &Database) -> anyhow::Result<Option<String>> {
    for table in tables(db).await? {
        if FILLED_BY_MIGRATIONS.contains(&table.as_str()) {
            continue;
        }
        let sql = format!("SELECT 1 FROM {} LIMIT 1", quote_ident(&table));
        if db
            .conn()
            .query_one_raw(Statement::from_string(db.backend(), sql))
            .await?
            .is_some()
        {
            return Ok(Some(table));
        }
    }
    Ok(None)
}

/// The audit chain's last sealed place and hash, when the table has them.
async fn chain_head(db: &Database) -> anyhow::Result<Option<(i64, String)>> {
    if !tables(db).await?.iter().any(|t| t == "audit_log") {
        return Ok(None);
    }
    let row = db
        .conn()
        .query_one_raw(Statement::from_string(
            db.backend(),
            "SELECT chain_seq, chain_hash FROM audit_log WHERE chain_seq IS NOT NULL \
             ORDER BY chain_seq DESC LIMIT 1",
        ))
        .await;
    // A backup of a version before the chain has no such columns.
    let Ok(row) = row else { return Ok(None) };
    Ok(row.and_then(|r| {
        Some((
            r.try_get_by_index::<i64>(0).ok()?,
            r.try_get_by_index::<String>(1).ok()?,
        ))
    }))
}

async fn integrity_check(db: &Database) -> anyhow::Result<()> {
    let rows = db
        .conn()
        .query_all_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA integrity_check",
        ))
        .await
        .context("not a readable SQLite database")?;
    let found: Vec<String> = rows
        .iter()
        .filter_map(|r| r.try_get_by_index::<String>(0).ok())
        .collect();
    if found != ["ok"] {
        bail!(
            "the SQLite integrity check failed: {}",
            found.into_iter().take(5).collect::<Vec<_>>().join("; ")
        );
    }
    Ok(())
}

async fn server_major(db: &Database) -> anyhow::Result<u32> {
    let row = db
        .conn()
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT current_setting('server_version_num')::int",
        ))
        .await?
        .context("the server did not say its version")?;
    Ok((row.try_get_by_index::<i32>(0)? / 10_000) as u32)
}

/// Finds `name` (pg_dump, pg_restore) on PATH, no older than the server.
fn pg_tool(name: &str, server_major: u32) -> anyhow::Result<String> {
    let install = format!(
        "install PostgreSQL's client programs, version {server_major} or newer (Debian and \
         Ubuntu: apt install postgresql-client-{server_major}; RHEL: dnf install \
         postgresql{server_major}), and put {name} on PATH"
    );
    let output = match Command::new(name).arg("--version").output() {
        Ok(output) if output.status.success() => output,
        Ok(_) => bail!("{name} --version failed: {install}"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("{name} is not installed: {install}")
        }
        Err(e) => bail!("cannot run {name} ({e}): {install}"),
    };
    let text = String::from_utf8_lossy(&output.stdout);
    let major = text
        .split_whitespace()
        .find_map(|w| w.split('.').next()?.parse::<u32>().ok())
        .unwrap_or(0);
    if major < server_major {
        bail!(
            "{name} is version {major} but the server is {server_major}; {name} must be at \
             least the server's version: {install}"
        );
    }
    Ok(name.to_string())
}

fn run(mut command: Command, name: &str) -> anyhow::Result<()> {
    let status = command
        .status()
        .with_context(|| format!("cannot start {name}"))?;
    if !status.success() {
        bail!("{name} failed ({status}); its message is above");
    }
    Ok(())
}

/// The URL without its password, and the password (percent-decoded), so
/// the password travels in the child's environment, not its arguments.
fn split_password(url: &str) -> (String, Option<String>) {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return (url.to_string(), None);
    };
    let authority_end = url[scheme_end..]
        .find(['/', '?'])
        .map_or(url.len(), |i| scheme_end + i);
    let authority = &url[scheme_end..authority_end];
    let Some(at) = authority.rfind('@') else {
        return (url.to_string(), None);
    };
    let Some((user, password)) = authority[..at].split_once(':') else {
        return (url.to_string(), None);
    };
    let stripped = format!(
        "{}{user}{}{}",
        &url[..scheme_end],
        &authority[at..],
        &url[authority_end..]
    );
    (stripped, Some(percent_decode(password)))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn partial_path(file: &Path) -> PathBuf {
    with_suffix(file, &format!(".partial-{}", std::process::id()))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn remove_sqlite_files(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        std::fs::remove_file(with_suffix(path, suffix)).ok();
    }
}

fn sqlite_url(path: &Path, mode: &str) -> String {
    format!("sqlite://{}?mode={mode}", path.display())
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn sync_file(path: &Path) -> anyhow::Result<()> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("flushing {} to disk", path.display()))
}

/// Makes a rename durable (best effort: not every platform can open a
/// directory).
fn sync_parent(path: &Path) {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if let Ok(d) = std::fs::File::open(dir) {
        d.sync_all().ok();
    }
}

fn human_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b => format!("{:.1} KiB", b as f64 / 1024.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url() {
        assert_eq!(
            split_password("postgres://jinlin:p%40ss@db:5432/jinlin?sslmode=require"),
            (
                "postgres://jinlin@db:5432/jinlin?sslmode=require".to_string(),
                Some("p@ss".to_string())
            )
        );
        assert_eq!(
            split_password("postgres://postgres@127.0.0.1/x"),
            ("postgres://postgres@127.0.0.1/x".to_string(), None)
        );
    }

    #[test]
    fn finds_the_target() {
        assert_eq!(
            Target::of("sqlite://./data/jinlin.sqlite?mode=rwc").unwrap(),
            Target::Sqlite("./data/jinlin.sqlite".into())
        );
        assert!(matches!(
            Target::of("postgresql://x@y/z").unwrap(),
            Target::Postgres(_)
        ));
        assert!(Target::of("mysql://x@y/z").is_err());
        assert!(Target::of("sqlite::memory:").is_err());
    }
}
