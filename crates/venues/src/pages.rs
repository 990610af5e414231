//! Pages of venues: the venues in the user's scope with this week's
//! bookings, one venue with its week and booking form, a place's venues
//! with the new-venue form. Every write goes through the same functions
//! as the API.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use jinlin_kernel::ApiError;
use jinlin_kernel::auth::{Principal, User};
use jinlin_kernel::i18n::{self, Lang};
use jinlin_kernel::web::{AppState, Ctx, PageError};

use crate::api::{self, BookingInput, BookingView, VenueInput, VenueView};
use crate::rules::{Purpose, Slot, VenueKind, china};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/venues", get(index))
        .route("/venues/calendar", get(calendar))
        .route("/venues/{id}", get(show))
        .route("/venues/{id}/bookings", post(book))
        .route("/venue-bookings/{id}/cancel", post(cancel))
        .route("/places/{id}/venues", get(place).post(create))
}

type Fields = HashMap<String, String>;

fn field<'a>(f: &'a Fields, name: &str) -> &'a str {
    f.get(name).map(|s| s.trim()).unwrap_or("")
}

fn check_csrf(user: &Principal, f: &Fields) -> Result<(), PageError> {
    user.check_csrf(Some(field(f, "csrf")))?;
    Ok(())
}

fn refused(key: &str) -> PageError {
    ApiError::invalid(i18n::current().t(key)).into()
}

fn number(f: &Fields, name: &str) -> Result<i64, PageError> {
    field(f, name)
        .parse()
        .map_err(|_| refused("venues.error.number"))
}

/// A China-time date and time from a form, in UTC.
fn instant(day: &str, time: &str) -> Result<DateTime<Utc>, PageError> {
    let d = NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| refused("venues.error.time"))?;
    let t = NaiveTime::parse_from_str(time, "%H:%M").map_err(|_| refused("venues.error.time"))?;
    Ok(china()
        .from_local_datetime(&d.and_time(t))
        .single()
        .ok_or_else(|| refused("venues.error.time"))?
        .with_timezone(&Utc))
}

/// Opening hours typed one slot a line: "1-5 08:30-12:00" or "6 09:00-17:00".
fn slots(text: &str) -> Result<Vec<Slot>, PageError> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (days, times) = line
            .split_once(char::is_whitespace)
            .ok_or_else(|| refused("venues.error.hours_time"))?;
        let (open, close) = times
            .trim()
            .split_once(['-', '–'])
            .ok_or_else(|| refused("venues.error.hours_time"))?;
        let (a, b) = days.split_once('-').unwrap_or((days, days));
        let (a, b): (u8, u8) = match (a.parse(), b.parse()) {
            (Ok(a), Ok(b)) if a <= b => (a, b),
            _ => return Err(refused("venues.error.hours_weekday")),
        };
        for d in a..=b {
            out.push(Slot {
                weekday: d,
                open: open.trim().into(),
                close: close.trim().into(),
            });
        }
    }
    Ok(out)
}

fn slots_text(slots: &[Slot]) -> String {
    slots
        .iter()
        .map(|s| format!("{} {}-{}", s.weekday, s.open, s.close))
        .collect::<Vec<_>>()
        .join("\n")
}

fn kind_label(lang: Lang, k: VenueKind) -> String {
    lang.t(&format!("venues.kind.{}", k.as_str())).into_owned()
}

struct BookingRow {
    id: i64,
    day: String,
    time: String,
    title: String,
    purpose: String,
    organiser: String,
    cancelled: bool,
    reason: String,
}

fn booking_rows(lang: Lang, rows: Vec<BookingView>) -> Vec<BookingRow> {
    rows.into_iter()
        .map(|b| {
            let s = b.starts_at.with_timezone(&china());
            let e = b.ends_at.with_timezone(&china());
            BookingRow {
                id: b.id,
                day: format!(
                    "{} {}",
                    s.format("%m-%d"),
                    lang.t(&format!(
                        "venues.weekday.{}",
                        chrono::Datelike::weekday(&s).number_from_monday()
                    ))
                ),
                time: format!("{}–{}", s.format("%H:%M"), e.format("%H:%M")),
                title: b.title,
                purpose: lang
                    .t(&format!("venues.purpose.{}", b.purpose.as_str()))
                    .into_owned(),
                organiser: b.organiser_name.unwrap_or_default(),
                cancelled: b.state == crate::rules::BookingState::Cancelled,
                reason: b.cancel_reason.unwrap_or_default(),
            }
        })
        .collect()
}

fn this_week() -> (NaiveDate, DateTime<Utc>, DateTime<Utc>) {
    let monday = api::week_start(api::today());
    (
        monday,
        api::local_midnight(monday),
        api::local_midnight(monday + Duration::days(7)),
    )
}

// ---------------------------------------------------------------- index

struct VenueCard {
    v: VenueView,
    kind: String,
    bookings: Vec<BookingRow>,
}

#[derive(Template)]
#[template(path = "venues_index.html")]
struct IndexPage {
    lang: Lang,
    venues: Vec<VenueCard>,
    /// Compounds and communities where the user adds venues.
    places: Vec<(i64, String)>,
}

async fn index(ctx: Ctx, user: User, State(state): State<AppState>) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let db = state.db.conn();
    let (_, from, to) = this_week();
    let mut seen = std::collections::HashSet::new();
    let mut venues = Vec::new();
    let mut places = Vec::new();
    for g in &user.grants {
        // Residents' grants are dwellings: their compound and community.
        let anchors = [
            g.place.compound_id.unwrap_or(g.place.id),
            g.place.community_id.unwrap_or(g.place.id),
        ];
        for id in anchors {
            let Ok(p) = api::visible_place(db, &user, id).await else {
                continue;
            };
            if api::manages(&user, &p)
                && (p.kind == "compound" || p.kind == "community")
                && !places.iter().any(|(i, _)| *i == p.id)
            {
                places.push((p.id, p.name.clone()));
            }
            for v in api::venues_under(db, &user, &p).await? {
                if !seen.insert(v.id) {
                    continue;
                }
                let bookings = api::bookings(db, &user, v.id, from, to).await?;
                venues.push(VenueCard {
                    kind: kind_label(lang, v.kind),
                    bookings: booking_rows(lang, bookings),
                    v,
                });
            }
        }
    }
    let body = IndexPage {
        lang,
        venues,
        places,
    };
    Ok(ctx.page(&lang.t("venues.title"), body))
}

// ---------------------------------------------------------------- venue

#[derive(Template)]
#[template(path = "venues_show.html")]
struct VenuePage<'a> {
    lang: Lang,
    csrf: &'a str,
    v: VenueView,
    kind: String,
    hours: Vec<(String, String)>,
    days: Vec<(String, Vec<BookingRow>)>,
    purposes: Vec<(&'static str, String)>,
    kinds: Vec<(&'static str, String)>,
    hours_text: String,
    default_day: String,
}

async fn show(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let db = state.db.conn();
    let (v, p) = api::visible_venue(db, &user, id).await?;
    let v = api::venue_view(&user, v, &p);
    let (monday, from, _) = this_week();
    // This week and next, grouped by day.
    let rows = booking_rows(
        lang,
        api::bookings(db, &user, id, from, from + Duration::days(14)).await?,
    );
    let mut days: Vec<(String, Vec<BookingRow>)> = Vec::new();
    for r in rows {
        match days.last_mut() {
            Some((d, list)) if *d == r.day => list.push(r),
            _ => days.push((r.day.clone(), vec![r])),
        }
    }
    let hours = (1..=7u8)
        .map(|d| {
            let spans: Vec<String> = v
                .opening_hours
                .iter()
                .filter(|s| s.weekday == d)
                .map(|s| format!("{}–{}", s.open, s.close))
                .collect();
            (
                lang.t(&format!("venues.weekday.{d}")).into_owned(),
                if spans.is_empty() {
                    lang.t("venues.closed").into_owned()
                } else {
                    spans.join(", ")
                },
            )
        })
        .collect();
    let body = VenuePage {
        lang,
        csrf: ctx.csrf(),
        kind: kind_label(lang, v.kind),
        hours,
        days,
        purposes: Purpose::ALL
            .into_iter()
            .map(|p| {
                (
                    p.as_str(),
                    lang.t(&format!("venues.purpose.{}", p.as_str()))
                        .into_owned(),
                )
            })
            .collect(),
        kinds: VenueKind::ALL
            .into_iter()
            .map(|k| (k.as_str(), kind_label(lang, k)))
            .collect(),
        hours_text: slots_text(&v.opening_hours),
        default_day: api::today().max(monday).format("%Y-%m-%d").to_string(),
        v,
    };
    let title = body.v.name.clone();
    Ok(ctx.page(&title, body))
}

fn venue_input(f: &Fields) -> Result<VenueInput, PageError> {
    Ok(VenueInput {
        name: field(f, "name").into(),
        kind: VenueKind::parse(field(f, "kind")).unwrap_or(VenueKind::Other),
        capacity: number(f, "capacity")?,
        opening_hours: slots(field(f, "hours"))?,
        facilities: field(f, "facilities")
            .split([',', '，', '、', '\n'])
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        active: f.contains_key("active"),
    })
}

async fn book(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    if f.contains_key("update") {
        let input = venue_input(&f)?;
        let tx = state.db.write().await?;
        api::update(&tx, &user, id, &input).await?;
        tx.commit().await?;
        return Ok(Redirect::to(&format!("/venues/{id}")).into_response());
    }
    let day = field(&f, "day");
    let input = BookingInput {
        starts_at: instant(day, field(&f, "start"))?,
        ends_at: instant(day, field(&f, "end"))?,
        purpose: Purpose::parse(field(&f, "purpose")).unwrap_or(Purpose::Activity),
        title: field(&f, "title").into(),
        organiser_name: field(&f, "organiser_name").into(),
        expected_attendance: number(&f, "expected_attendance")?,
    };
    let tx = state.db.write().await?;
    api::book(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/venues/{id}")).into_response())
}

async fn cancel(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let tx = state.db.write().await?;
    let venue = api::cancel(&tx, &user, id, field(&f, "reason")).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/venues/{venue}")).into_response())
}

// ---------------------------------------------------------------- place

#[derive(Template)]
#[template(path = "venues_place.html")]
struct PlacePage<'a> {
    lang: Lang,
    csrf: &'a str,
    place_id: i64,
    name: String,
    venues: Vec<(VenueView, String)>,
    can_add: bool,
    kinds: Vec<(&'static str, String)>,
}

async fn place(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let db = state.db.conn();
    let p = api::visible_place(db, &user, id).await?;
    let venues = api::venues_under(db, &user, &p)
        .await?
        .into_iter()
        .map(|v| {
            let k = kind_label(lang, v.kind);
            (v, k)
        })
        .collect();
    let title = format!("{} · {}", p.name, lang.t("venues.title"));
    let body = PlacePage {
        lang,
        csrf: ctx.csrf(),
        place_id: p.id,
        can_add: api::manages(&user, &p) && (p.kind == "compound" || p.kind == "community"),
        name: p.name,
        venues,
        kinds: VenueKind::ALL
            .into_iter()
            .map(|k| (k.as_str(), kind_label(lang, k)))
            .collect(),
    };
    Ok(ctx.page(&title, body))
}

async fn create(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let input = venue_input(&f)?;
    let tx = state.db.write().await?;
    let venue = api::create(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/venues/{venue}")).into_response())
}

// ---------------------------------------------------------------- calendar

/// The feed URLs moved to the calendars page.
async fn calendar() -> Redirect {
    Redirect::permanent("/calendars")
}
