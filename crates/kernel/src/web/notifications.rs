//! The in-app inbox: `GET /api/v1/notifications`, marking read, and the
//! page `/notifications`. Everyone sees only their own notifications.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiJson, ApiQuery, AppState, Ctx, PageError};
use crate::auth::User;
use crate::error::{ApiError, ErrorBody};
use crate::i18n::Lang;
use crate::notify::{self, entity::Model};

const PAGE_SIZE: u64 = 100;

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(read_one))
        .routes(routes!(read_all))
}

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/notifications", get(page))
        .route("/notifications/read-all", post(page_read_all))
        .route("/notifications/{id}/read", post(page_read_one))
}

/// One notification in the inbox.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    pub id: i64,
    /// What kind of event, e.g. `resident_matter.assigned`.
    pub kind: String,
    pub title: String,
    pub body: String,
    /// A local path to what it is about.
    pub link: Option<String>,
    pub read_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<Model> for NotificationView {
    fn from(m: Model) -> Self {
        NotificationView {
            id: m.id,
            kind: m.kind,
            title: m.title,
            body: m.body,
            link: m.link,
            read_at: m.read_at,
            created_at: m.created_at,
        }
    }
}

/// The reader's inbox, newest first (the latest 100).
#[derive(Debug, Serialize, ToSchema)]
pub struct Inbox {
    /// How many of all the reader's notifications are unread.
    pub unread: u64,
    pub items: Vec<NotificationView>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct InboxQuery {
    /// Only unread notifications.
    #[serde(default)]
    pub unread: bool,
}

/// How many were marked read.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = NotificationsMarked)]
pub struct Marked {
    pub marked: u64,
}

/// The reader's own notifications and the unread count.
#[utoipa::path(get, path = "/notifications", tag = "notifications", params(InboxQuery),
    responses((status = 200, body = Inbox), (status = 401, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    user: User,
    ApiQuery(q): ApiQuery<InboxQuery>,
) -> Result<ApiJson<Inbox>, ApiError> {
    let (items, unread) =
        notify::inbox(state.db.conn(), user.account_id, q.unread, PAGE_SIZE).await?;
    Ok(ApiJson(Inbox {
        unread,
        items: items.into_iter().map(Into::into).collect(),
    }))
}

/// Marks one of the reader's notifications read (someone else's: 404).
#[utoipa::path(post, path = "/notifications/{id}/read", tag = "notifications",
    params(("id" = i64, Path, description = "Notification id")),
    responses((status = 200, body = NotificationView), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn read_one(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<NotificationView>, ApiError> {
    notify::mark_read(state.db.conn(), user.account_id, id, Utc::now())
        .await?
        .map(|m| ApiJson(m.into()))
        .ok_or_else(ApiError::not_found)
}

/// Marks all the reader's notifications read.
#[utoipa::path(post, path = "/notifications/read-all", tag = "notifications",
    responses((status = 200, body = Marked), (status = 401, body = ErrorBody)))]
async fn read_all(State(state): State<AppState>, user: User) -> Result<ApiJson<Marked>, ApiError> {
    let marked = notify::mark_all_read(state.db.conn(), user.account_id, Utc::now()).await?;
    Ok(ApiJson(Marked { marked }))
}

struct Row {
    id: i64,
    title: String,
    body: String,
    link: Option<String>,
    unread: bool,
    when: String,
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct InboxPage<'a> {
    lang: Lang,
    csrf: &'a str,
    unread: u64,
    unread_label: String,
    rows: Vec<Row>,
}

fn china_time(t: DateTime<Utc>) -> String {
    let china = crate::time::china();
    t.with_timezone(&china).format("%Y-%m-%d %H:%M").to_string()
}

async fn page(ctx: Ctx, State(state): State<AppState>, user: User) -> Result<Response, PageError> {
    let (items, unread) = notify::inbox(state.db.conn(), user.account_id, false, PAGE_SIZE).await?;
    let rows = items
        .into_iter()
        .map(|m| Row {
            id: m.id,
            title: m.title,
            body: m.body,
            link: m
                .link
                .filter(|l| super::local_path(Some(l)) == *l && l != "/"),
            unread: m.read_at.is_none(),
            when: china_time(m.created_at),
        })
        .collect();
    let body = InboxPage {
        lang: ctx.lang,
        csrf: ctx.csrf(),
        unread,
        unread_label: ctx.lang.tf(
            "notification.unread_count",
            &[("count", &unread.to_string())],
        ),
        rows,
    };
    Ok(ctx.page(&ctx.lang.t("notification.title"), body))
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn page_read_one(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<CsrfForm>,
) -> Result<Response, PageError> {
    user.check_csrf(Some(&form.csrf))?;
    notify::mark_read(state.db.conn(), user.account_id, id, Utc::now())
        .await?
        .ok_or_else(PageError::not_found)?;
    Ok(Redirect::to("/notifications").into_response())
}

async fn page_read_all(
    State(state): State<AppState>,
    user: User,
    axum::Form(form): axum::Form<CsrfForm>,
) -> Result<Response, PageError> {
    user.check_csrf(Some(&form.csrf))?;
    notify::mark_all_read(state.db.conn(), user.account_id, Utc::now()).await?;
    Ok(Redirect::to("/notifications").into_response())
}
