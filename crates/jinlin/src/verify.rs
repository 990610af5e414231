//! `jinlin verify`: the audit log's hash chain and every owners' vote's
//! ballot log, recomputed from the rows.

use anyhow::Context;
use jinlin_kernel::Database;
use jinlin_kernel::audit::chain;
use sea_orm::{EntityTrait, QueryOrder};

/// Checks everything; prints what was checked and each break; fails when
/// anything does not verify.
pub async fn verify(db: &Database, seal_first: bool) -> anyhow::Result<()> {
    let mut broken = false;
    if seal_first {
        let sealed = chain::seal(db).await.context("sealing the audit log")?;
        println!("audit log    {sealed} new entries sealed first");
    }
    let audit = chain::verify(db).await.context("reading the audit log")?;
    println!(
        "audit log    {} sealed entries checked, head at place {}{}",
        audit.sealed,
        audit.head_seq,
        if audit.head_hash.is_empty() {
            String::new()
        } else {
            format!(", hash {}", audit.head_hash)
        }
    );
    if audit.unsealed > 0 {
        println!(
            "             {} entries not sealed yet (the oldest at {}): the server seals \
             them within a minute; `jinlin verify --seal` seals them now",
            audit.unsealed,
            audit
                .oldest_unsealed
                .map(|t| t.to_rfc3339())
                .unwrap_or_default()
        );
    }
    if audit.ok() {
        println!("             chain valid");
    } else {
        broken = true;
        for b in &audit.breaks {
            println!("             BREAK: {b}");
        }
        if audit.more_breaks > 0 {
            println!("             … and {} more breaks", audit.more_breaks);
        }
    }

    use jinlin_deliberation::entity::vote;
    let votes = vote::Entity::find()
        .order_by_asc(vote::Column::Id)
        .all(db.conn())
        .await
        .context("reading the votes")?;
    let (mut valid, mut ballots) = (0usize, 0usize);
    for v in &votes {
        let report = jinlin_deliberation::votes::verify(db.conn(), v)
            .await
            .map_err(|e| anyhow::anyhow!("vote {}: {}", v.id, e.message))?;
        ballots += report.ballots;
        if report.ok() {
            valid += 1;
            continue;
        }
        broken = true;
        if let Some(fault) = &report.fault {
            println!("votes        BREAK: vote {} ({}): {fault}", v.id, v.state);
        }
        if report.tally_matches == Some(false) {
            println!(
                "votes        BREAK: vote {} ({}): the tally recomputed from the ballots \
                 differs from the published result",
                v.id, v.state
            );
        }
    }
    println!(
        "votes        {} votes and {ballots} ballots checked, {valid} valid",
        votes.len()
    );
    if broken {
        anyhow::bail!(
            "the records do not verify (see BREAK above): restore the affected rows from a \
             backup that verifies, and find out who changed them"
        );
    }
    println!("everything verifies");
    Ok(())
}
