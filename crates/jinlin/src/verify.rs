//! `jinlin verify`: the audit log's hash chain and every owners' vote's
//! ballot log, recomputed from the rows.

use anyhow::Context;
use jinlin_kernel::Database;
use jinlin_kernel::audit::{chain, entity as audit_log};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

/// A chain head an operator recorded earlier, off the machine: its hash
/// and, when given, its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedHead {
    pub place: Option<i64>,
    /// 64 lower-case hex digits.
    pub hash: String,
}

impl RecordedHead {
    /// `PLACE:HASH` or `HASH`; the place as `jinlin verify` prints it.
    pub fn parse(text: &str) -> Result<RecordedHead, String> {
        let text = text.trim();
        let (place, hash) = match text.split_once(':') {
            Some((place, hash)) => {
                let place = place
                    .trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| format!("{place:?} is not a chain place (1, 2, …)"))?;
                (Some(place), hash.trim())
            }
            None => (None, text),
        };
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "{hash:?} is not a chain hash (64 hex digits, as `jinlin verify` prints it)"
            ));
        }
        Ok(RecordedHead {
            place,
            hash: hash.to_ascii_lowercase(),
        })
    }
}

/// Checks everything; prints what was checked and each break; fails when
/// anything does not verify, or when the chain no longer holds `expected`.
pub async fn verify(
    db: &Database,
    seal_first: bool,
    expected: Option<&RecordedHead>,
) -> anyhow::Result<()> {
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
             them within about ten seconds; `jinlin verify --seal` seals them now",
            audit.unsealed,
            audit
                .oldest_unsealed
                .map(|t| t.to_rfc3339())
                .unwrap_or_default()
        );
    }
    if let Some(head) = expected {
        // Hashes chain from the first place on, so a sealed entry holding
        // the recorded hash at the recorded place, in a chain that
        // verifies, means nothing up to it was cut off or rewritten.
        let found = audit_log::Entity::find()
            .filter(audit_log::Column::ChainHash.eq(head.hash.as_str()))
            .filter(audit_log::Column::ChainSeq.is_not_null())
            .one(db.conn())
            .await
            .context("looking for the recorded head")?
            .and_then(|row| row.chain_seq);
        match (found, head.place) {
            (Some(at), Some(place)) if at != place => {
                broken = true;
                println!(
                    "             BREAK: the recorded head {} was at place {place} and is now \
                     at place {at}: entries before it were removed or the chain rewritten",
                    head.hash
                );
            }
            (Some(at), _) => println!(
                "             recorded head found at place {at}: nothing up to it was cut off \
                 or rewritten"
            ),
            (None, place) => {
                broken = true;
                println!(
                    "             BREAK: the recorded head {}{} is not in the chain: the log was \
                     cut off or rewritten before it",
                    place.map(|p| format!("{p}:")).unwrap_or_default(),
                    head.hash
                );
            }
        }
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
