//! Notifications: an in-app inbox per account, and outbound channels (a
//! webhook for a WeCom or DingTalk bot, or an SMS gateway) reached through
//! the job queue, so a delivery that fails is retried with backoff and a
//! notification is sent only when the write that caused it commits.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::{Deserialize, Serialize};

use crate::jobs::{self, JobHandlers};

pub mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "notification")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub account_id: i64,
        pub kind: String,
        pub title: String,
        pub body: String,
        pub link: Option<String>,
        pub read_at: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

use entity::{Column, Entity, Model};

/// The job kind that delivers an [`Outbound`] message to the webhook.
pub const WEBHOOK_JOB: &str = "notify.webhook";

/// One notification: what happened, in the recipient's words, and where
/// to look.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// What kind of event, e.g. `resident_matter.assigned` (machine-readable).
    pub kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub body: String,
    /// A local path, e.g. `/resident-matters/12`.
    pub link: Option<String>,
    /// The title and body stay in the in-app inbox; outbound channels
    /// (third-party bots, SMS gateways) get only the kind and the link.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub private: bool,
}

impl Message {
    pub fn new(kind: &str, title: impl Into<String>, body: impl Into<String>) -> Self {
        Message {
            kind: kind.to_string(),
            title: title.into(),
            body: body.into(),
            link: None,
            private: false,
        }
    }

    pub fn link(mut self, link: impl Into<String>) -> Self {
        self.link = Some(link.into());
        self
    }

    /// Marks the message private: its title and body are shown only in
    /// the recipients' inboxes, never sent outside the application.
    pub fn private(mut self) -> Self {
        self.private = true;
        self
    }

    /// The message as outbound channels may see it: a private one without
    /// its title and body.
    pub fn outbound(&self) -> Message {
        if self.private {
            Message {
                kind: self.kind.clone(),
                title: String::new(),
                body: String::new(),
                link: self.link.clone(),
                private: true,
            }
        } else {
            self.clone()
        }
    }
}

/// Puts `message` in one account's inbox; returns the notification's id.
pub async fn notify(
    conn: &impl ConnectionTrait,
    account_id: i64,
    message: &Message,
) -> Result<i64, DbErr> {
    let title: String = message.title.chars().take(300).collect();
    let row = entity::ActiveModel {
        account_id: Set(account_id),
        kind: Set(message.kind.clone()),
        title: Set(title),
        body: Set(message.body.clone()),
        link: Set(message.link.clone()),
        read_at: Set(None),
        created_at: Set(Utc::now()),
        ..Default::default()
    };
    Ok(Entity::insert(row).exec(conn).await?.last_insert_id)
}

/// Notifies every party to a matter once each (in the inbox), and enqueues
/// one outbound delivery naming them. Call it on the transaction that
/// makes the change, so both happen only if it commits.
pub async fn notify_parties(
    conn: &impl ConnectionTrait,
    parties: &[i64],
    message: &Message,
) -> Result<(), DbErr> {
    let mut accounts = parties.to_vec();
    accounts.sort_unstable();
    accounts.dedup();
    for account in &accounts {
        notify(conn, *account, message).await?;
    }
    send_outbound(
        conn,
        &Outbound {
            message: message.clone(),
            account_ids: accounts,
        },
    )
    .await?;
    Ok(())
}

/// A message as outbound channels receive it (the webhook's JSON body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outbound {
    #[serde(flatten)]
    pub message: Message,
    /// The accounts it concerns (a gateway maps them to phones or chats).
    pub account_ids: Vec<i64>,
}

/// Enqueues delivery of `outbound` through the outbound channel; retried
/// with backoff until it is accepted. A private message's title and body
/// are dropped here, so they are not even stored in the job queue.
pub async fn send_outbound(
    conn: &impl ConnectionTrait,
    outbound: &Outbound,
) -> Result<Option<i64>, DbErr> {
    let outbound = Outbound {
        message: outbound.message.outbound(),
        account_ids: outbound.account_ids.clone(),
    };
    jobs::enqueue(conn, WEBHOOK_JOB, &outbound, Utc::now(), None).await
}

/// The future a channel's delivery returns.
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// A way to reach people outside the application. `Err` means "try again
/// later"; the job queue retries with backoff.
pub trait OutboundChannel: Send + Sync {
    fn name(&self) -> &str;
    /// Delivers `message`. `key` is the same on every retry of one
    /// delivery, so the receiver can drop a repeat (a retry after a
    /// delivery whose answer was lost).
    fn send<'a>(&'a self, key: &'a str, message: &'a Outbound) -> SendFuture<'a>;
}

/// The webhook's JSON body: the outbound message and its idempotency key.
#[derive(Serialize)]
struct WebhookBody<'a> {
    idempotency_key: &'a str,
    #[serde(flatten)]
    outbound: &'a Outbound,
}

/// POSTs each message as JSON to a URL (a bot of WeCom or DingTalk behind
/// a small adapter, or an SMS gateway). Any 2xx answer is a delivery.
#[derive(Clone)]
pub struct WebhookChannel {
    url: String,
    client: reqwest::Client,
}

impl WebhookChannel {
    pub fn new(url: &str) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("jinlin/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(WebhookChannel {
            url: url.to_string(),
            client,
        })
    }
}

impl OutboundChannel for WebhookChannel {
    fn name(&self) -> &str {
        "webhook"
    }

    fn send<'a>(&'a self, key: &'a str, message: &'a Outbound) -> SendFuture<'a> {
        Box::pin(async move {
            let response = self
                .client
                .post(&self.url)
                .header("Idempotency-Key", key)
                .json(&WebhookBody {
                    idempotency_key: key,
                    outbound: message,
                })
                .send()
                .await
                .map_err(|e| format!("webhook unreachable: {e}"))?;
            let status = response.status();
            if status.is_success() {
                Ok(())
            } else {
                Err(format!("webhook answered {status}"))
            }
        })
    }
}

/// The job handler that delivers [`WEBHOOK_JOB`] jobs through `channel`,
/// keyed by the job's id; with no channel configured they are dropped
/// (done, logged).
pub fn job_handlers(channel: Option<Arc<dyn OutboundChannel>>) -> JobHandlers {
    JobHandlers::new().add_with_id(WEBHOOK_JOB, move |_db, id, payload| {
        let channel = channel.clone();
        async move {
            let outbound: Outbound =
                serde_json::from_value(payload).map_err(|e| format!("bad payload: {e}"))?;
            match channel {
                Some(channel) => channel.send(&id.to_string(), &outbound).await,
                None => {
                    tracing::debug!(kind = %outbound.message.kind, "no outbound channel configured; not sent");
                    Ok(())
                }
            }
        }
    })
}

/// The handlers for the configured channel (`notify_webhook_url`).
pub fn handlers_for(config: &crate::Config) -> Result<JobHandlers, String> {
    let channel = match config.notify_webhook_url.as_deref().map(str::trim) {
        Some(url) if !url.is_empty() => {
            Some(Arc::new(WebhookChannel::new(url)?) as Arc<dyn OutboundChannel>)
        }
        _ => None,
    };
    Ok(job_handlers(channel))
}

/// An account's newest notifications (at most `limit`) and how many of
/// all its notifications are unread.
pub async fn inbox(
    conn: &impl ConnectionTrait,
    account_id: i64,
    unread_only: bool,
    limit: u64,
) -> Result<(Vec<Model>, u64), DbErr> {
    let mut items = Entity::find().filter(Column::AccountId.eq(account_id));
    if unread_only {
        items = items.filter(Column::ReadAt.is_null());
    }
    let items = items
        .order_by_desc(Column::Id)
        .limit(limit)
        .all(conn)
        .await?;
    let unread = Entity::find()
        .filter(Column::AccountId.eq(account_id))
        .filter(Column::ReadAt.is_null())
        .count(conn)
        .await?;
    Ok((items, unread))
}

/// Marks one of the account's own notifications read (reading twice keeps
/// the first time). `None` if it has no such notification.
pub async fn mark_read(
    conn: &impl ConnectionTrait,
    account_id: i64,
    id: i64,
    now: DateTime<Utc>,
) -> Result<Option<Model>, DbErr> {
    Entity::update_many()
        .col_expr(Column::ReadAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::AccountId.eq(account_id))
        .filter(Column::ReadAt.is_null())
        .exec(conn)
        .await?;
    Entity::find_by_id(id)
        .filter(Column::AccountId.eq(account_id))
        .one(conn)
        .await
}

/// Marks all the account's notifications read; returns how many changed.
pub async fn mark_all_read(
    conn: &impl ConnectionTrait,
    account_id: i64,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let r = Entity::update_many()
        .col_expr(Column::ReadAt, Expr::value(now))
        .filter(Column::AccountId.eq(account_id))
        .filter(Column::ReadAt.is_null())
        .exec(conn)
        .await?;
    Ok(r.rows_affected)
}
