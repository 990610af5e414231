//! Reminders, idempotent: from the reminder date of a quarter (two weeks
//! before it ends) to its last day, the admins of every street that has
//! not held the quarter's meeting are told once — a row per street and
//! quarter under a unique key records it — and the bodies owning an
//! action item that went past its due date are told once per item. The
//! job runner calls [`remind`] every hour; tests call it with the `now`
//! they choose.

use chrono::{DateTime, Utc};
use jinlin_kernel::Database;
use jinlin_kernel::auth::Role;
use jinlin_kernel::i18n::Lang;
use jinlin_kernel::notify::{self, Message, Outbound};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait};
use serde::Serialize;

use crate::entity::{joint_meeting_action, joint_meeting_reminder};
use crate::rules::{self, Compliance, MeetingState, Quarter};
use crate::store;

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RemindReport {
    /// Streets reminded of the quarter's meeting.
    pub streets: usize,
    /// Overdue action items whose owners were told.
    pub overdue: usize,
    /// Notifications written.
    pub notifications: usize,
}

/// The job kind of the hourly reminder.
pub const REMIND_JOB: &str = "joint_meetings.remind";

/// How often the reminder runs.
pub const REMIND_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// The capability's job handlers: the reminder every [`REMIND_EVERY`].
pub fn job_handlers() -> jinlin_kernel::jobs::JobHandlers {
    jinlin_kernel::jobs::JobHandlers::new().every(REMIND_JOB, REMIND_EVERY, |db, _| async move {
        remind(&db, Utc::now())
            .await
            .map(|r| {
                tracing::info!(
                    streets = r.streets,
                    overdue = r.overdue,
                    "joint meeting reminders"
                )
            })
            .map_err(|e| e.to_string())
    })
}

/// Sends what is due at `now`: the quarter's reminders and the overdue
/// notices, each at most once.
pub async fn remind(db: &Database, now: DateTime<Utc>) -> Result<RemindReport, DbErr> {
    let mut report = RemindReport::default();
    let today = rules::china_date(now);
    let q = Quarter::of(now);
    if q.reminder_due(today) {
        let tx = db.write().await?;
        for street in store::all_streets(&tx).await? {
            let states: Vec<MeetingState> = store::meetings_in_quarter(&tx, &[street.id], q)
                .await?
                .iter()
                .filter_map(|m| MeetingState::parse(&m.state))
                .collect();
            if rules::compliance(states) == Compliance::Held {
                continue;
            }
            // The unique key decides which run reminds; the others insert
            // nothing and move on.
            let inserted =
                joint_meeting_reminder::Entity::insert(joint_meeting_reminder::ActiveModel {
                    district_code: Set(street.district_code.clone().unwrap_or_default()),
                    street_id: Set(street.id),
                    year: Set(q.year),
                    quarter: Set(i16::from(q.q)),
                    sent_at: Set(now),
                    ..Default::default()
                })
                .on_conflict(
                    OnConflict::columns([
                        joint_meeting_reminder::Column::StreetId,
                        joint_meeting_reminder::Column::Year,
                        joint_meeting_reminder::Column::Quarter,
                    ])
                    .do_nothing()
                    .to_owned(),
                )
                .exec_without_returning(&tx)
                .await?;
            if inserted == 0 {
                continue;
            }
            report.streets += 1;
            let to = store::accounts_with_role(&tx, Role::StreetAdmin, &[street.id]).await?;
            let last = q.last_day().format("%Y-%m-%d").to_string();
            let quarter = q.to_string();
            report.notifications += send(
                &tx,
                &to,
                "joint_meeting.reminder",
                |lang| {
                    (
                        lang.t("joint_meetings.notify.reminder_title").into_owned(),
                        lang.tf(
                            "joint_meetings.notify.reminder_body",
                            &[
                                ("street", &street.name),
                                ("quarter", &quarter),
                                ("last", &last),
                            ],
                        ),
                    )
                },
                &format!("/places/{}/joint-meetings", street.id),
            )
            .await?;
        }
        tx.commit().await?;
    }

    // Most hours nothing is newly overdue: look before taking the write lock.
    if store::overdue_unnotified(db.conn(), today)
        .await?
        .is_empty()
    {
        return Ok(report);
    }
    let tx = db.write().await?;
    for a in store::overdue_unnotified(&tx, today).await? {
        if !store::claim_overdue_notice(&tx, a.id, now).await? {
            continue;
        }
        report.overdue += 1;
        let owner = store::invitees_by_id(&tx, [a.owner_invitee_id]).await?;
        let owner = owner.get(&a.owner_invitee_id);
        let mut to = match owner {
            Some(o) => store::owner_accounts(&tx, o).await?,
            None => Vec::new(),
        };
        // A body without an account: the street's admins follow it up.
        if to.is_empty() {
            to = store::accounts_with_role(&tx, Role::StreetAdmin, &[a.street_id]).await?;
        }
        let owner_name = owner.map(|o| o.name.clone()).unwrap_or_default();
        report.notifications += send(
            &tx,
            &to,
            "joint_meeting.action_overdue",
            |lang| overdue_text(lang, &a, &owner_name),
            &format!("/joint-meetings/{}", a.meeting_id),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(report)
}

fn overdue_text(lang: Lang, a: &joint_meeting_action::Model, owner: &str) -> (String, String) {
    let due = a.due_on.format("%Y-%m-%d").to_string();
    (
        lang.t("joint_meetings.notify.overdue_title").into_owned(),
        lang.tf(
            "joint_meetings.notify.overdue_body",
            &[("text", &a.text), ("owner", owner), ("due", &due)],
        ),
    )
}

/// Puts a message in each recipient's inbox in the language the account
/// chose (Chinese by default), and enqueues one outbound delivery.
async fn send(
    db: &impl ConnectionTrait,
    to: &[i64],
    kind: &str,
    text: impl Fn(Lang) -> (String, String),
    link: &str,
) -> Result<usize, DbErr> {
    if to.is_empty() {
        return Ok(0);
    }
    let languages = store::languages(db, to).await?;
    for account in to {
        let lang = languages
            .get(account)
            .and_then(|l| l.as_deref())
            .and_then(Lang::from_tag)
            .unwrap_or_default();
        let (title, body) = text(lang);
        notify::notify(db, *account, &Message::new(kind, title, body).link(link)).await?;
    }
    let (title, body) = text(Lang::default());
    notify::send_outbound(
        db,
        &Outbound {
            message: Message::new(kind, title, body).link(link),
            account_ids: to.to_vec(),
        },
    )
    .await?;
    Ok(to.len())
}
