//! The feeds: a place's (compound, community or street), a volunteer
//! team's and the reader's own. Each is served with the session cookie and
//! under the reader's feed token, and answers with exactly what that
//! reader may see; a place or team outside the reader's scope, a place of
//! another kind and an unknown token are all 404.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use jinlin_kernel::ApiError;
use jinlin_kernel::auth::{AuthVia, Principal, User, load};
use jinlin_kernel::i18n::{self, Lang};
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::web::AppState;
use sea_orm::ConnectionTrait;

use crate::ical;
use crate::records::{self, Window};
use crate::token;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/calendars/me.ics", get(me_signed_in))
        .route("/calendars/places/{file}", get(place_signed_in))
        .route("/calendars/teams/{file}", get(team_signed_in))
        .route("/calendars/{token}/me.ics", get(me_by_token))
        .route("/calendars/{token}/places/{file}", get(place_by_token))
        .route("/calendars/{token}/teams/{file}", get(team_by_token))
}

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
fn file_id(file: &str) -> Result<i64, ApiError> {
    file.strip_suffix(".ics")
        .and_then(|id| id.parse().ok())
        .ok_or_else(ApiError::not_found)
}

/// The feed of a compound or community (bookings, sessions, shifts and
/// activities at or under it) or of a street (its joint meetings).
pub async fn place_feed(
    db: &impl ConnectionTrait,
    user: &Principal,
    place_id: i64,
    lang: Lang,
) -> Result<String, ApiError> {
    let Some(p) = jinlin_places::store::find(db, place_id).await? else {
        return Err(ApiError::not_found());
    };
    let now = Utc::now();
    let w = Window::around(now);
    let (name, rows) = match PlaceKind::parse(&p.kind) {
        Some(PlaceKind::Compound | PlaceKind::Community) => {
            // The place must be one whose venues the reader sees.
            let p = jinlin_venues::api::visible_place(db, user, p.id).await?;
            let rows = records::of_place(db, user, &p, w).await?;
            (p.name, rows)
        }
        Some(PlaceKind::Street) => (p.name, records::of_street(db, user, p.id, w).await?),
        _ => return Err(ApiError::not_found()),
    };
    let events = rows.events(db, lang).await?;
    let name = format!("{name} · {}", lang.t("calendars.feed"));
    Ok(ical::render(&name, &events, now))
}

/// The feed of a volunteer team: its patrol shifts and activities.
pub async fn team_feed(
    db: &impl ConnectionTrait,
    user: &Principal,
    team_id: i64,
    lang: Lang,
) -> Result<String, ApiError> {
    let team = jinlin_volunteers::api::team_access(db, user, team_id).await?;
    let now = Utc::now();
    let events = records::of_team(db, &team, Window::around(now))
        .await?
        .events(db, lang)
        .await?;
    let name = format!("{} · {}", team.team.name, lang.t("calendars.feed"));
    Ok(ical::render(&name, &events, now))
}

/// The reader's own feed.
pub async fn my_feed(
    db: &impl ConnectionTrait,
    user: &Principal,
    lang: Lang,
) -> Result<String, ApiError> {
    let now = Utc::now();
    let events = records::of_person(db, user, Window::around(now))
        .await?
        .events(db, lang)
        .await?;
    let name = format!("{} · {}", user.display_name, lang.t("calendars.mine"));
    Ok(ical::render(&name, &events, now))
}

/// The principal of a feed token's owner, reading only (404 for an
/// unknown token, as for a feed that does not exist), with the language
/// the owner chose.
async fn token_principal(
    db: &impl ConnectionTrait,
    token: &str,
) -> Result<(Principal, Lang), ApiError> {
    let Some(account) = token::owner(db, token).await? else {
        return Err(ApiError::not_found());
    };
    let user = load(db, account, AuthVia::Token { can_write: false })
        .await?
        .ok_or_else(ApiError::not_found)?;
    let lang = user.language.unwrap_or_else(i18n::current);
    Ok((user, lang))
}

async fn me_signed_in(State(state): State<AppState>, user: User) -> Result<Response, ApiError> {
    Ok(ics(my_feed(state.db.conn(), &user, i18n::current()).await?))
}

async fn place_signed_in(
    State(state): State<AppState>,
    user: User,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let id = file_id(&file)?;
    Ok(ics(
        place_feed(state.db.conn(), &user, id, i18n::current()).await?
    ))
}

async fn team_signed_in(
    State(state): State<AppState>,
    user: User,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let id = file_id(&file)?;
    Ok(ics(
        team_feed(state.db.conn(), &user, id, i18n::current()).await?
    ))
}

async fn me_by_token(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let db = state.db.conn();
    let (user, lang) = token_principal(db, &token).await?;
    Ok(ics(my_feed(db, &user, lang).await?))
}

async fn place_by_token(
    State(state): State<AppState>,
    Path((token, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let db = state.db.conn();
    let id = file_id(&file)?;
    let (user, lang) = token_principal(db, &token).await?;
    Ok(ics(place_feed(db, &user, id, lang).await?))
}

async fn team_by_token(
    State(state): State<AppState>,
    Path((token, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let db = state.db.conn();
    let id = file_id(&file)?;
    let (user, lang) = token_principal(db, &token).await?;
    Ok(ics(team_feed(db, &user, id, lang).await?))
}
