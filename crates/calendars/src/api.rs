//! JSON API of calendar feeds: issuing the feed token. The feeds themselves
//! are `text/calendar` documents outside `/api/v1` (see `feed.rs`).

use axum::extract::State;
use axum::http::StatusCode;
use jinlin_kernel::ApiError;
use jinlin_kernel::audit::{self, Entry};
use jinlin_kernel::auth::User;
use jinlin_kernel::error::ErrorBody;
use jinlin_kernel::web::{ApiJson, AppState};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::token;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(new_calendar_token))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CalendarToken {
    /// Shown once; only its SHA-256 is kept.
    pub token: String,
    /// The account's own feed: bookings, sessions, shifts, activities and
    /// joint meetings.
    pub me_url: String,
    /// Feed URL pattern of a place: replace `{id}` with a compound,
    /// community or street id.
    pub place_url: String,
    /// Feed URL pattern of a volunteer team: replace `{id}` with its id.
    pub team_url: String,
}

pub fn token_urls(token: &str) -> CalendarToken {
    CalendarToken {
        token: token.to_string(),
        me_url: format!("/calendars/{token}/me.ics"),
        place_url: format!("/calendars/{token}/places/{{id}}.ics"),
        team_url: format!("/calendars/{token}/teams/{{id}}.ics"),
    }
}

/// Issues a new feed token in a write transaction, audited.
pub async fn issue(
    tx: &impl sea_orm::ConnectionTrait,
    user: &jinlin_kernel::auth::Principal,
) -> Result<String, ApiError> {
    let token = token::issue(tx, user.account_id).await?;
    audit::record(
        tx,
        Entry::new(Some(user), "calendar_token.issue", "account").object(user.account_id),
    )
    .await?;
    Ok(token)
}

/// Issues the account's calendar feed token, replacing any earlier one
/// (whose feed URLs stop working). The token is shown only in this answer.
/// The feeds are `text/calendar` (RFC 5545) documents at the URLs given.
#[utoipa::path(post, path = "/calendar-token", tag = "calendars",
    responses((status = 201, body = CalendarToken), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn new_calendar_token(
    State(state): State<AppState>,
    user: User,
) -> Result<(StatusCode, ApiJson<CalendarToken>), ApiError> {
    let tx = state.db.write().await?;
    let token = issue(&tx, &user).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(token_urls(&token))))
}
