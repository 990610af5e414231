//! The demo data set: loaded once into an empty database by `serve --demo`.
//!
//! The division codes of Cangshan (350104) come from the Fuzhou extract
//! compiled into the binary, so the demo works from any directory; then
//! `jinlin_seed` fills the district at district scale with seed 1.

use std::io::Read;

use anyhow::Context;
use flate2::read::MultiGzDecoder;
use jinlin_kernel::crypto::Secrets;
use jinlin_kernel::{Database, instance};
use jinlin_places::divisions::{self, Level};
use jinlin_seed::{DEMO_PASSWORD, Options, SEEDED_FACT, Scale};

/// The fact recorded once the demo is in; its value lists the demo
/// accounts (one `role<TAB>username<TAB>place` per line).
const DEMO_FACT: &str = "demo_loaded";

/// The district the demo shows.
pub const DEMO_DISTRICT: &str = "350104";

/// The city around it: the reach of the demo at city scale.
pub const DEMO_CITY: &str = "3501";

/// The generator's seed for the demo.
pub const DEMO_SEED: u64 = 1;

/// `small` makes the demo 3 compounds of a dozen dwellings per community
/// instead of the district at full size (for quick starts of a debug build,
/// as the binary and browser tests do); `city` seeds all of Fuzhou (3501,
/// about 3 million dwellings) around the district, for load at city scale.
pub const SCALE_VAR: &str = "JINLIN_DEMO_SCALE";

/// The Fuzhou extract of `data/divisions`, compiled in.
const DIVISIONS: [(Level, &str, &[u8]); 5] = [
    (
        Level::Province,
        "provinces.csv.gz",
        include_bytes!("../../../data/divisions/provinces.csv.gz"),
    ),
    (
        Level::City,
        "cities.csv.gz",
        include_bytes!("../../../data/divisions/cities.csv.gz"),
    ),
    (
        Level::District,
        "areas.csv.gz",
        include_bytes!("../../../data/divisions/areas.csv.gz"),
    ),
    (
        Level::Street,
        "streets.csv.gz",
        include_bytes!("../../../data/divisions/streets.csv.gz"),
    ),
    (
        Level::Community,
        "villages.csv.gz",
        include_bytes!("../../../data/divisions/villages.csv.gz"),
    ),
];

/// What `serve --demo` tells the person who started it.
#[derive(Debug, Default)]
pub struct DemoReport {
    /// False when the database already held the demo (nothing was written).
    pub loaded_now: bool,
    /// Accounts to sign in with.
    pub accounts: Vec<DemoAccount>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoAccount {
    /// The role's code, e.g. `compound_secretary`.
    pub role: String,
    pub username: String,
    pub password: String,
    /// Where the role is held.
    pub place: String,
}

/// The scale named by `JINLIN_DEMO_SCALE` (unset: the district at full size).
pub fn demo_scale() -> anyhow::Result<Scale> {
    match std::env::var(SCALE_VAR) {
        Err(_) => Ok(Scale::District),
        Ok(value) => parse_scale(&value),
    }
}

fn parse_scale(value: &str) -> anyhow::Result<Scale> {
    match value.trim() {
        "" | "district" => Ok(Scale::District),
        "small" => Ok(Scale::Small),
        "city" => Ok(Scale::City),
        other => anyhow::bail!("{SCALE_VAR}={other}: expected small, district or city"),
    }
}

/// The division the demo fills at `scale`: the city at city scale, else
/// the district.
fn reach(scale: &Scale) -> &'static str {
    match scale {
        Scale::City => DEMO_CITY,
        _ => DEMO_DISTRICT,
    }
}

/// Imports the compiled-in division codes of the demo district (and its
/// ancestors); importing again changes nothing.
pub async fn import_divisions(db: &Database) -> anyhow::Result<()> {
    import_divisions_within(db, DEMO_DISTRICT).await
}

/// Imports the compiled-in division codes under `within` (and its
/// ancestors).
async fn import_divisions_within(db: &Database, within: &str) -> anyhow::Result<()> {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for (level, name, bytes) in DIVISIONS {
        let mut text = String::new();
        MultiGzDecoder::new(bytes)
            .read_to_string(&mut text)
            .with_context(|| format!("decompressing the compiled-in {name}"))?;
        let (file, found) = divisions::parse(level, name, text.as_bytes());
        problems.extend(found);
        files.push(file);
    }
    problems.extend(divisions::check_tree(&files));
    if let Some(problem) = problems.first() {
        anyhow::bail!("the compiled-in division codes are invalid: {problem}");
    }
    let plan = divisions::plan(&files, Some(within));
    divisions::write_plan(db, &plan, |_| {}).await?;
    Ok(())
}

/// Loads the demo data set unless this database already has it, or holds
/// data seeded otherwise (then nothing is written). ID numbers are
/// encrypted with `secrets`, the key the server protects personal data
/// with. The scale is the district's own unless `JINLIN_DEMO_SCALE` says
/// `small`.
pub async fn load_once_with(db: &Database, secrets: &Secrets) -> anyhow::Result<DemoReport> {
    load_once_at(db, Some(secrets), demo_scale()?).await
}

/// Loads the demo at a given scale (see [`load_once_with`]).
pub async fn load_once_at(
    db: &Database,
    secrets: Option<&Secrets>,
    scale: Scale,
) -> anyhow::Result<DemoReport> {
    if let Some(value) = instance::get(db.conn(), DEMO_FACT).await? {
        return Ok(DemoReport {
            loaded_now: false,
            accounts: parse_accounts(&value),
        });
    }
    if instance::get(db.conn(), SEEDED_FACT).await?.is_some() {
        return Ok(DemoReport::default());
    }
    let within = reach(&scale);
    import_divisions_within(db, within)
        .await
        .with_context(|| format!("importing the division codes of {within}"))?;
    // At city scale the registry is the whole city's; the activity below
    // (organisations, matters, votes, ...) is laid on the district as at
    // district scale, except micro-grids, drawn on every compound.
    let options = Options {
        scale,
        seed: DEMO_SEED,
        within: Some(within.to_string()),
        extra_fact: Some((DEMO_FACT.to_string(), String::new())),
    };
    // A line per phase: at city scale the seed takes minutes.
    let progress = |p: jinlin_seed::Progress| {
        if p.done == p.total {
            tracing::info!(phase = %p.phase, rows = p.total, "demo: phase loaded");
        }
    };
    let report = jinlin_seed::seed(db, secrets, &options, progress).await?;
    let tx = db.write().await?;
    jinlin_organisations::seed_demo(&tx, DEMO_DISTRICT)
        .await
        .context("demo party organisations, owners' committees and property contracts")?;
    jinlin_deliberation::demo::seed_demo(&tx)
        .await
        .map_err(|e| anyhow::anyhow!("demo matters: {}", e.message))?;
    jinlin_resident_matters::seed_demo(&tx)
        .await
        .map_err(|e| anyhow::anyhow!("demo residents' matters: {}", e.message))?;
    jinlin_agencies::demo::seed_demo(&tx)
        .await
        .map_err(|e| anyhow::anyhow!("demo agencies and pairings: {}", e.message))?;
    jinlin_projects::demo::seed_demo(&tx)
        .await
        .map_err(|e| anyhow::anyhow!("demo party-building projects: {}", e.message))?;
    jinlin_joint_meetings::demo::seed_demo(&tx)
        .await
        .map_err(|e| anyhow::anyhow!("demo joint meetings: {}", e.message))?;
    jinlin_pilots::demo::seed_demo(&tx)
        .await
        .map_err(|e| anyhow::anyhow!("demo cohesion pilots: {}", e.message))?;
    jinlin_in_service::demo::seed_demo(&tx)
        .await
        .map_err(|e| anyhow::anyhow!("demo in-service party members: {}", e.message))?;
    jinlin_micro_grids::demo::seed_demo(&tx)
        .await
        .map_err(|e| anyhow::anyhow!("demo micro-grids: {}", e.message))?;
    jinlin_venues::demo::seed_demo(&tx)
        .await
        .map_err(|e| anyhow::anyhow!("demo venues and bookings: {}", e.message))?;
    jinlin_social_services::demo::seed_demo(&tx)
        .await
        .map_err(|e| anyhow::anyhow!("demo social organisations and services: {}", e.message))?;
    jinlin_volunteers::demo::seed_demo(&tx)
        .await
        .map_err(|e| anyhow::anyhow!("demo volunteer teams and patrols: {}", e.message))?;
    let sample_compound = report
        .samples
        .iter()
        .find(|s| s.role == jinlin_kernel::auth::Role::CompoundSecretary)
        .map(|s| s.place_id);
    jinlin_mobilisation::demo::seed_demo(&tx, sample_compound)
        .await
        .map_err(|e| anyhow::anyhow!("demo mobilisations: {}", e.message))?;
    tx.commit().await?;
    // The seed refreshed the statistics before the activity above existed
    // (contact groups alone are hundreds of thousands of rows at district
    // scale, and each raised its dwelling's reach); without a second pass
    // PostgreSQL plans with the empty tables' figures, and reads past the
    // dwellings' old row versions, until autovacuum comes round.
    db.refresh_statistics()
        .await
        .context("refreshing the planner's statistics after the demo")?;
    let listed: String = report
        .samples
        .iter()
        .map(|s| format!("{}\t{}\t{}\n", s.role.as_str(), s.username, s.place))
        .collect();
    instance::set(db.conn(), DEMO_FACT, &listed).await?;
    Ok(DemoReport {
        loaded_now: true,
        accounts: parse_accounts(&listed),
    })
}

/// Accounts as recorded: one `role<TAB>username<TAB>place` per line.
fn parse_accounts(value: &str) -> Vec<DemoAccount> {
    value
        .lines()
        .filter_map(|line| {
            let mut fields = line.splitn(3, '\t');
            Some(DemoAccount {
                role: fields.next()?.to_string(),
                username: fields.next()?.to_string(),
                password: DEMO_PASSWORD.to_string(),
                place: fields.next().unwrap_or("").to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_are_named_and_a_wrong_name_says_what_is_expected() {
        assert_eq!(parse_scale("").unwrap(), Scale::District);
        assert_eq!(parse_scale(" small ").unwrap(), Scale::Small);
        assert_eq!(parse_scale("city").unwrap(), Scale::City);
        assert_eq!(reach(&Scale::City), "3501");
        assert_eq!(reach(&Scale::District), DEMO_DISTRICT);
        let err = parse_scale("nation").unwrap_err().to_string();
        assert!(err.contains("small, district or city"), "{err}");
    }
}
