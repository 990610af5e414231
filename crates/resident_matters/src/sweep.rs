//! Warnings and escalations of running deadlines. Idempotent: a matter is
//! warned once per clock and escalated only to a level it has not reached,
//! so the job runner may call [`sweep_deadlines`] as often as it likes and
//! tests call it with the `now` they choose. The holder is notified of a
//! warning; the holder and the level escalated to of an escalation.

use chrono::{DateTime, Utc};
use jinlin_kernel::Database;
use sea_orm::DbErr;
use serde::Serialize;

use crate::rules::{Escalation, escalation_level};
use crate::store::{self, EventNew};

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    pub warned: usize,
    pub escalated: usize,
}

const BATCH: u64 = 500;

/// Warns about matters whose warning time has come and escalates those
/// past their deadline, each with a timeline entry, in batches of one
/// write transaction each.
pub async fn sweep_deadlines(db: &Database, now: DateTime<Utc>) -> Result<SweepReport, DbErr> {
    let mut report = SweepReport::default();
    let mut after = 0;
    loop {
        let tx = db.write().await?;
        let batch = store::due_for_sweep(&tx, now, after, BATCH).await?;
        let Some(last) = batch.last() else {
            tx.commit().await?;
            break;
        };
        after = last.id;
        let full = batch.len() as u64 == BATCH;
        for mut m in batch {
            let (Some(started), Some(due)) = (m.dispatched_at, m.due_at) else {
                continue;
            };
            let mut warn = false;
            if m.warned_at.is_none() && m.warn_at.is_some_and(|w| w <= now) && now < due {
                m.warned_at = Some(now);
                warn = true;
            }
            let level = escalation_level(started, due, now);
            let before = m.escalation_level;
            let escalate = level.level() > before;
            if escalate {
                m.escalation_level = level.level();
                // A late matter needs no separate warning any more.
                m.warned_at.get_or_insert(now);
            }
            if !warn && !escalate {
                continue;
            }
            let m = store::save(&tx, m).await?;
            if warn {
                let to = crate::matters::holder_accounts(&tx, &m).await?;
                if !to.is_empty() {
                    crate::matters::notify(&tx, &to, "warned", &m).await?;
                }
                report.warned += 1;
                store::record(
                    &tx,
                    &m,
                    EventNew {
                        at: now,
                        actor_account_id: None,
                        actor_role: None,
                        action: "warn",
                        from_state: None,
                        to_state: None,
                        note: None,
                        reason: None,
                        detail: serde_json::json!({"due_at": due}),
                    },
                )
                .await?;
            }
            if escalate {
                let mut to = crate::matters::holder_accounts(&tx, &m).await?;
                // A sweep that comes late may pass several levels at once:
                // every level passed is told, not only the top one.
                for l in (before + 1)..=level.level() {
                    let passed = Escalation::from_level(l);
                    to.extend(crate::matters::escalation_accounts(&tx, &m, passed).await?);
                }
                to.sort_unstable();
                to.dedup();
                if !to.is_empty() {
                    crate::matters::notify(&tx, &to, "escalated", &m).await?;
                }
                report.escalated += 1;
                store::record(
                    &tx,
                    &m,
                    EventNew {
                        at: now,
                        actor_account_id: None,
                        actor_role: None,
                        action: "escalate",
                        from_state: None,
                        to_state: None,
                        note: None,
                        reason: None,
                        detail: serde_json::json!({
                            "level": level.level(),
                            "to": level.as_str(),
                            "due_at": due,
                        }),
                    },
                )
                .await?;
            }
        }
        tx.commit().await?;
        if !full {
            break;
        }
    }
    Ok(report)
}

/// The job kind of the periodic sweep.
pub const SWEEP_JOB: &str = "resident_matters.sweep_deadlines";

/// How often the sweep runs: warnings and escalations are late by at most
/// this much.
pub const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5 * 60);

/// The capability's job handlers, for the node's runner: the deadline
/// sweep every [`SWEEP_EVERY`].
pub fn job_handlers() -> jinlin_kernel::jobs::JobHandlers {
    jinlin_kernel::jobs::JobHandlers::new().every(SWEEP_JOB, SWEEP_EVERY, |db, _| async move {
        sweep_deadlines(&db, Utc::now())
            .await
            .map(|r| tracing::info!(warned = r.warned, escalated = r.escalated, "deadline sweep"))
            .map_err(|e| e.to_string())
    })
}

/// The level a matter would be at, for display.
pub fn level_at(m: &crate::entity::matter::Model, now: DateTime<Utc>) -> Escalation {
    match (m.dispatched_at, m.due_at) {
        (Some(s), Some(d)) => escalation_level(s, d, now),
        _ => Escalation::None,
    }
}
