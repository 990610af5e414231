//! iCalendar feeds: a compound's or community's venue bookings and the
//! bookings an account organises. Calendar apps cannot send cookies, so
//! each feed is also served under the account's secret feed token and
//! answers with exactly what that account may see (404 otherwise).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{Duration, Utc};
use jinlin_kernel::ApiError;
use jinlin_kernel::auth::{AuthVia, Principal, User, load};
use jinlin_kernel::i18n;
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::web::AppState;
use sea_orm::ConnectionTrait;

use crate::api::{self, views};
use crate::entity::venue_booking;
use crate::ical::{self, CalendarEvent};
use crate::store;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/calendars/me.ics", get(me_signed_in))
        .route("/calendars/places/{file}", get(place_signed_in))
        .route("/calendars/{token}/me.ics", get(me_by_token))
        .route("/calendars/{token}/places/{file}", get(place_by_token))
}

/// How far back and ahead a feed reaches.
const PAST_DAYS: i64 = 90;
const AHEAD_DAYS: i64 = 366;

fn ics(text: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (header::CACHE_CONTROL, "private, max-age=300"),
        ],
        text,
    )
        .into_response()
}

/// "12.ics" → 12.
fn place_id(file: &str) -> Result<i64, ApiError> {
    file.strip_suffix(".ics")
        .and_then(|id| id.parse().ok())
        .ok_or_else(ApiError::not_found)
}

/// Events of bookings; organisers are left out, as the public calendar.
pub async fn booking_events(
    db: &impl ConnectionTrait,
    rows: Vec<venue_booking::Model>,
) -> Result<Vec<CalendarEvent>, ApiError> {
    let ids: Vec<i64> = rows.iter().map(|b| b.venue_id).collect();
    let venues = api::venues_by_id(db, &ids).await?;
    let place_ids: Vec<i64> = venues.values().map(|v| v.place_id).collect();
    let places = store::places(db, &place_ids).await?;
    let lang = i18n::current();
    Ok(rows
        .into_iter()
        .map(|b| {
            let v = venues.get(&b.venue_id);
            let location = v.map(|v| match places.get(&v.place_id) {
                Some(p) => format!("{} · {}", v.name, p.name),
                None => v.name.clone(),
            });
            CalendarEvent {
                uid: format!("venue-booking-{}@jinlin", b.id),
                start: b.starts_at,
                end: b.ends_at,
                summary: b.title,
                location,
                description: Some(
                    lang.t(&format!("venues.purpose.{}", b.purpose))
                        .into_owned(),
                ),
                cancelled: b.state != "confirmed",
                updated: Some(b.cancelled_at.unwrap_or(b.created_at)),
            }
        })
        .collect())
}

/// The feed of the venues at or under a compound or community that the
/// user sees.
pub async fn place_feed(
    db: &impl ConnectionTrait,
    user: &Principal,
    place_id: i64,
) -> Result<String, ApiError> {
    let p = api::visible_place(db, user, place_id).await?;
    if !matches!(
        PlaceKind::parse(&p.kind),
        Some(PlaceKind::Compound | PlaceKind::Community)
    ) {
        return Err(ApiError::not_found());
    }
    let venues = store::venues_under(db, &p).await?;
    let vplaces = store::places(db, &venues.iter().map(|v| v.place_id).collect::<Vec<_>>()).await?;
    let ids: Vec<i64> = venues
        .iter()
        .filter(|v| vplaces.get(&v.place_id).is_some_and(|vp| views(user, vp)))
        .map(|v| v.id)
        .collect();
    let now = Utc::now();
    let rows = store::bookings_between(
        db,
        &ids,
        now - Duration::days(PAST_DAYS),
        now + Duration::days(AHEAD_DAYS),
        true,
    )
    .await?;
    let events = booking_events(db, rows).await?;
    let name = format!("{} · {}", p.name, i18n::current().t("venues.nav"));
    Ok(ical::render(&name, &events, now))
}

/// The feed of the bookings the user organises.
pub async fn my_feed(db: &impl ConnectionTrait, user: &Principal) -> Result<String, ApiError> {
    let now = Utc::now();
    let rows = store::bookings_of_organiser(
        db,
        user.account_id,
        now - Duration::days(PAST_DAYS),
        now + Duration::days(AHEAD_DAYS),
    )
    .await?;
    let events = booking_events(db, rows).await?;
    let name = format!(
        "{} · {}",
        user.display_name,
        i18n::current().t("venues.my_calendar")
    );
    Ok(ical::render(&name, &events, now))
}

/// The principal of a feed token's owner, reading only (404 for an
/// unknown token, as for a feed that does not exist).
async fn token_principal(db: &impl ConnectionTrait, token: &str) -> Result<Principal, ApiError> {
    let Some(account) = store::token_owner(db, token).await? else {
        return Err(ApiError::not_found());
    };
    load(db, account, AuthVia::Token { can_write: false })
        .await?
        .ok_or_else(ApiError::not_found)
}

async fn me_signed_in(State(state): State<AppState>, user: User) -> Result<Response, ApiError> {
    Ok(ics(my_feed(state.db.conn(), &user).await?))
}

async fn place_signed_in(
    State(state): State<AppState>,
    user: User,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let id = place_id(&file)?;
    Ok(ics(place_feed(state.db.conn(), &user, id).await?))
}

async fn me_by_token(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let db = state.db.conn();
    let user = token_principal(db, &token).await?;
    Ok(ics(my_feed(db, &user).await?))
}

async fn place_by_token(
    State(state): State<AppState>,
    Path((token, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let db = state.db.conn();
    let id = place_id(&file)?;
    let user = token_principal(db, &token).await?;
    Ok(ics(place_feed(db, &user, id).await?))
}
