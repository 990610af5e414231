//! JSON API of venues, bookings and usage figures.
//!
//! Scope: a venue belongs to a compound or a community. Whoever sees that
//! place sees the venue and its public calendar (titles and times); the
//! residents of a community's compounds also see the community's venues.
//! Community workers, street and district admins above the place, and the
//! compound secretary of a compound manage and book its venues; a compound
//! secretary also books the venues of the community the compound lies in.
//! Outside the scope: 404; inside without the power: 403.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use jinlin_kernel::ApiError;
use jinlin_kernel::audit::{self, Entry};
use jinlin_kernel::auth::{Access, Principal, Role, User};
use jinlin_kernel::error::ErrorBody;
use jinlin_kernel::i18n;
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::place::entity as place;
use jinlin_kernel::web::{ApiJson, ApiQuery, AppState};
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::entity::{venue, venue_booking};
use crate::rules::{self, BookingState, Invalid, OpeningHours, Purpose, Slot, VenueKind, china};
use crate::store;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_venues, create_venue))
        .routes(routes!(get_venue, update_venue))
        .routes(routes!(list_bookings, create_booking))
        .routes(routes!(cancel_booking))
        .routes(routes!(venue_usage))
}

// ---------------------------------------------------------------- errors

pub fn invalid(e: Invalid) -> ApiError {
    ApiError::invalid(i18n::current().t(e.key))
}

fn invalid_key(key: &'static str) -> ApiError {
    invalid(Invalid { key })
}

// ---------------------------------------------------------------- scope

/// Whether the user sees the place's venues: anyone who sees the place,
/// and for a community also anyone holding a role inside it (residents of
/// its compounds see its service centre).
pub fn views(user: &Principal, p: &place::Model) -> bool {
    let pos = p.position();
    if user.sees(&pos) {
        return true;
    }
    pos.kind == Some(PlaceKind::Community)
        && user
            .grants
            .iter()
            .any(|g| g.place.community_id == Some(p.id))
}

/// Whether the user manages the venues of (and reads usage at) the place:
/// community workers, street and district admins above it, and a
/// compound's secretary for the compound.
pub fn manages(user: &Principal, p: &place::Model) -> bool {
    let pos = p.position();
    user.can(Access::Edit, &pos)
        || pos.kind == Some(PlaceKind::Compound)
            && user
                .roles_for(Access::Personal, &pos)
                .contains(&Role::CompoundSecretary)
}

/// Whether the user books the venues of the place: its managers, and the
/// secretaries of the compounds of a community for the community's venues.
pub fn books(user: &Principal, p: &place::Model) -> bool {
    manages(user, p)
        || p.kind == PlaceKind::Community.as_str()
            && user
                .grants
                .iter()
                .any(|g| g.role == Role::CompoundSecretary && g.place.community_id == Some(p.id))
}

/// A place the user sees venues of (404 otherwise).
pub async fn visible_place(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<place::Model, ApiError> {
    match jinlin_places::store::find(db, id).await? {
        Some(p) if views(user, &p) => Ok(p),
        _ => Err(ApiError::not_found()),
    }
}

/// A venue the user may see, with its place (404 otherwise).
pub async fn visible_venue(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<(venue::Model, place::Model), ApiError> {
    let Some(v) = venue::Entity::find_by_id(id).one(db).await? else {
        return Err(ApiError::not_found());
    };
    match jinlin_places::store::find(db, v.place_id).await? {
        Some(p) if views(user, &p) => Ok((v, p)),
        _ => Err(ApiError::not_found()),
    }
}

// ---------------------------------------------------------------- shapes

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = VenueCreated)]
pub struct Created {
    pub id: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VenueInput {
    pub name: String,
    pub kind: VenueKind,
    /// 1–10,000 people.
    pub capacity: i64,
    /// Weekly open slots in China time (UTC+8).
    pub opening_hours: Vec<Slot>,
    #[serde(default)]
    pub facilities: Vec<String>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VenueView {
    pub id: i64,
    pub place_id: i64,
    pub place_name: String,
    pub name: String,
    pub kind: VenueKind,
    pub capacity: i64,
    pub opening_hours: Vec<Slot>,
    pub facilities: Vec<String>,
    pub active: bool,
    /// Whether the reader may change the venue.
    pub can_manage: bool,
    /// Whether the reader may book it.
    pub can_book: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookingInput {
    /// UTC (or any RFC 3339 offset).
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub purpose: Purpose,
    pub title: String,
    /// The organising body, e.g. a social organisation or party branch.
    pub organiser_name: String,
    pub expected_attendance: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BookingView {
    pub id: i64,
    pub venue_id: i64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub purpose: Purpose,
    pub title: String,
    pub state: BookingState,
    pub cancel_reason: Option<String>,
    /// Shown only to those who book the venue.
    pub organiser_name: Option<String>,
    pub organiser_account_id: Option<i64>,
    pub expected_attendance: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelInput {
    pub reason: String,
}

/// A range of China-time dates, both inclusive.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Range {
    /// First day, YYYY-MM-DD (China time).
    pub from: Option<NaiveDate>,
    /// Last day, YYYY-MM-DD (China time), inclusive.
    pub to: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MonthLine {
    /// "YYYY-MM", China time.
    pub month: String,
    pub bookings: u64,
    pub booked_hours: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UsageLine {
    /// A venue id, or a place id for a place's line.
    pub id: i64,
    pub name: String,
    pub venues: u64,
    pub bookings: u64,
    pub booked_hours: f64,
    pub open_hours: f64,
    /// booked ÷ open hours, e.g. "12.5%"; none without open hours.
    pub utilisation: Option<String>,
    pub months: Vec<MonthLine>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VenueUsage {
    pub place_id: i64,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The place as a whole.
    pub total: UsageLine,
    /// The next level down (streets, communities, compounds) holding venues.
    pub children: Vec<UsageLine>,
    pub venues: Vec<UsageLine>,
}

// ---------------------------------------------------------------- venues

pub fn venue_view(user: &Principal, v: venue::Model, p: &place::Model) -> VenueView {
    VenueView {
        id: v.id,
        place_id: v.place_id,
        place_name: p.name.clone(),
        kind: VenueKind::parse(&v.kind).unwrap_or(VenueKind::Other),
        capacity: v.capacity as i64,
        opening_hours: OpeningHours::from_json(&v.opening_hours).to_slots(),
        facilities: serde_json::from_str(&v.facilities).unwrap_or_default(),
        active: v.active,
        can_manage: manages(user, p),
        can_book: books(user, p),
        name: v.name,
    }
}

/// Venues of a place and of the places under it the user sees.
pub async fn venues_under(
    db: &impl ConnectionTrait,
    user: &Principal,
    p: &place::Model,
) -> Result<Vec<VenueView>, ApiError> {
    let rows = store::venues_under(db, p).await?;
    let ids: Vec<i64> = rows.iter().map(|v| v.place_id).collect();
    let places = store::places(db, &ids).await?;
    Ok(rows
        .into_iter()
        .filter_map(|v| {
            let vp = places.get(&v.place_id)?;
            views(user, vp).then(|| venue_view(user, v, vp))
        })
        .collect())
}

struct Checked {
    name: String,
    capacity: i32,
    hours: OpeningHours,
    facilities: Vec<String>,
}

fn checked(input: &VenueInput) -> Result<Checked, ApiError> {
    Ok(Checked {
        name: rules::check_text(&input.name, 128).map_err(invalid)?,
        capacity: rules::check_capacity(input.capacity).map_err(invalid)?,
        hours: OpeningHours::parse(&input.opening_hours).map_err(invalid)?,
        facilities: rules::check_facilities(&input.facilities).map_err(invalid)?,
    })
}

pub async fn create(
    db: &impl ConnectionTrait,
    user: &Principal,
    place_id: i64,
    input: &VenueInput,
) -> Result<i64, ApiError> {
    let p = visible_place(db, user, place_id).await?;
    if !manages(user, &p) {
        return Err(ApiError::forbidden());
    }
    if p.kind != PlaceKind::Compound.as_str() && p.kind != PlaceKind::Community.as_str() {
        return Err(invalid_key("venues.error.place_kind"));
    }
    let c = checked(input)?;
    let pos = p.position();
    let now = Utc::now();
    let code = p.district_code.clone().unwrap_or_default();
    let id = venue::Entity::insert(venue::ActiveModel {
        district_code: Set(code.clone()),
        place_id: Set(p.id),
        street_id: Set(pos.ancestor_id(PlaceKind::Street)),
        community_id: Set(pos.ancestor_id(PlaceKind::Community)),
        compound_id: Set(pos.ancestor_id(PlaceKind::Compound)),
        name: Set(c.name),
        kind: Set(input.kind.as_str().into()),
        capacity: Set(c.capacity),
        opening_hours: Set(c.hours.to_json()),
        facilities: Set(serde_json::to_string(&c.facilities).unwrap_or_else(|_| "[]".into())),
        active: Set(input.active),
        created_by: Set(Some(user.account_id)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec(db)
    .await?
    .last_insert_id;
    audit::record(
        db,
        Entry::new(Some(user), "venue.create", "venue")
            .object(id)
            .district(Some(code)),
    )
    .await?;
    Ok(id)
}

pub async fn update(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
    input: &VenueInput,
) -> Result<(), ApiError> {
    let (v, p) = visible_venue(db, user, id).await?;
    if !manages(user, &p) {
        return Err(ApiError::forbidden());
    }
    let c = checked(input)?;
    let code = v.district_code.clone();
    let mut m: venue::ActiveModel = v.into();
    m.name = Set(c.name);
    m.kind = Set(input.kind.as_str().into());
    m.capacity = Set(c.capacity);
    m.opening_hours = Set(c.hours.to_json());
    m.facilities = Set(serde_json::to_string(&c.facilities).unwrap_or_else(|_| "[]".into()));
    m.active = Set(input.active);
    m.updated_at = Set(Utc::now());
    venue::Entity::update(m).exec(db).await?;
    audit::record(
        db,
        Entry::new(Some(user), "venue.update", "venue")
            .object(id)
            .district(Some(code)),
    )
    .await?;
    Ok(())
}

/// Venues of a place (a compound or community) and the places under it.
#[utoipa::path(get, path = "/places/{id}/venues", tag = "venues",
    params(("id" = i64, Path, description = "Place id")),
    responses((status = 200, body = Vec<VenueView>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_venues(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<Vec<VenueView>>, ApiError> {
    let db = state.db.conn();
    let p = visible_place(db, &user, id).await?;
    Ok(ApiJson(venues_under(db, &user, &p).await?))
}

/// Registers a venue of a compound or community (its managers).
#[utoipa::path(post, path = "/places/{id}/venues", tag = "venues", request_body = VenueInput,
    params(("id" = i64, Path, description = "Compound or community id")),
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_venue(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<VenueInput>,
) -> Result<(StatusCode, ApiJson<Created>), ApiError> {
    let tx = state.db.write().await?;
    let id = create(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(Created { id })))
}

/// One venue.
#[utoipa::path(get, path = "/venues/{id}", tag = "venues",
    params(("id" = i64, Path, description = "Venue id")),
    responses((status = 200, body = VenueView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_venue(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<VenueView>, ApiError> {
    let (v, p) = visible_venue(state.db.conn(), &user, id).await?;
    Ok(ApiJson(venue_view(&user, v, &p)))
}

/// Changes a venue (its managers).
#[utoipa::path(put, path = "/venues/{id}", tag = "venues", request_body = VenueInput,
    params(("id" = i64, Path, description = "Venue id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_venue(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<VenueInput>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    update(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- bookings

/// The UTC instant of a China-time date's midnight.
pub fn local_midnight(day: NaiveDate) -> DateTime<Utc> {
    china()
        .from_local_datetime(&day.and_time(NaiveTime::MIN))
        .single()
        .expect("fixed offset")
        .with_timezone(&Utc)
}

/// Today in China time.
pub fn today() -> NaiveDate {
    Utc::now().with_timezone(&china()).date_naive()
}

/// Monday of the China-time week holding `day`.
pub fn week_start(day: NaiveDate) -> NaiveDate {
    day - Duration::days(day.weekday().num_days_from_monday() as i64)
}

/// `[from, to)` in UTC of a date range, with a default and a longest span.
pub fn period(
    range: &Range,
    default: (NaiveDate, NaiveDate),
    max_days: i64,
) -> Result<(NaiveDate, NaiveDate, DateTime<Utc>, DateTime<Utc>), ApiError> {
    let from = range.from.unwrap_or(default.0);
    let to = range.to.unwrap_or(default.1);
    if to < from || (to - from).num_days() >= max_days {
        return Err(invalid_key("venues.error.range"));
    }
    Ok((
        from,
        to,
        local_midnight(from),
        local_midnight(to + Duration::days(1)),
    ))
}

pub fn booking_view(b: venue_booking::Model, full: bool) -> BookingView {
    BookingView {
        id: b.id,
        venue_id: b.venue_id,
        starts_at: b.starts_at,
        ends_at: b.ends_at,
        purpose: Purpose::parse(&b.purpose).unwrap_or(Purpose::Activity),
        title: b.title,
        state: BookingState::parse(&b.state).unwrap_or(BookingState::Cancelled),
        cancel_reason: b.cancel_reason,
        organiser_name: full.then_some(b.organiser_name),
        organiser_account_id: if full { b.organiser_account_id } else { None },
        expected_attendance: full.then_some(b.expected_attendance as i64),
    }
}

pub async fn bookings(
    db: &impl ConnectionTrait,
    user: &Principal,
    venue_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<BookingView>, ApiError> {
    let (v, p) = visible_venue(db, user, venue_id).await?;
    let full = books(user, &p);
    Ok(store::bookings_between(db, &[v.id], from, to, true)
        .await?
        .into_iter()
        .map(|b| booking_view(b, full))
        .collect())
}

/// "2026-03-02 09:00–11:00" in China time.
pub fn span_text(start: DateTime<Utc>, end: DateTime<Utc>) -> String {
    let s = start.with_timezone(&china());
    let e = end.with_timezone(&china());
    if s.date_naive() == e.date_naive() {
        format!("{}–{}", s.format("%Y-%m-%d %H:%M"), e.format("%H:%M"))
    } else {
        format!(
            "{}–{}",
            s.format("%Y-%m-%d %H:%M"),
            e.format("%Y-%m-%d %H:%M")
        )
    }
}

/// Books a venue. The venue's row lock (PostgreSQL; SQLite's write
/// transaction holds the database) makes the conflict check and the
/// insert one step, so two bookings of one slot never both succeed.
pub async fn book(
    db: &impl ConnectionTrait,
    user: &Principal,
    venue_id: i64,
    input: &BookingInput,
) -> Result<i64, ApiError> {
    let (v, p) = visible_venue(db, user, venue_id).await?;
    if !books(user, &p) {
        return Err(ApiError::forbidden());
    }
    if !v.active {
        return Err(ApiError::with_message(
            StatusCode::CONFLICT,
            "venue_inactive",
            i18n::current().t("venues.error.inactive"),
        ));
    }
    let title = rules::check_text(&input.title, 128).map_err(invalid)?;
    let organiser = rules::check_text(&input.organiser_name, 128).map_err(invalid)?;
    let hours = OpeningHours::from_json(&v.opening_hours);
    let expected = rules::check_booking(
        &hours,
        v.capacity,
        input.starts_at,
        input.ends_at,
        input.expected_attendance,
    )
    .map_err(invalid)?;
    store::lock_venue(db, v.id).await?;
    let clash = store::bookings_between(db, &[v.id], input.starts_at, input.ends_at, false)
        .await?
        .into_iter()
        .find(|b| rules::overlaps((b.starts_at, b.ends_at), (input.starts_at, input.ends_at)));
    if let Some(b) = clash {
        return Err(ApiError::with_message(
            StatusCode::CONFLICT,
            "booking_conflict",
            i18n::current().tf(
                "venues.error.conflict",
                &[
                    ("title", &b.title),
                    ("time", &span_text(b.starts_at, b.ends_at)),
                ],
            ),
        ));
    }
    let id = venue_booking::Entity::insert(venue_booking::ActiveModel {
        venue_id: Set(v.id),
        district_code: Set(v.district_code.clone()),
        place_id: Set(v.place_id),
        starts_at: Set(input.starts_at),
        ends_at: Set(input.ends_at),
        purpose: Set(input.purpose.as_str().into()),
        title: Set(title),
        organiser_account_id: Set(Some(user.account_id)),
        organiser_name: Set(organiser),
        expected_attendance: Set(expected),
        state: Set(BookingState::Confirmed.as_str().into()),
        cancel_reason: Set(None),
        cancelled_at: Set(None),
        cancelled_by: Set(None),
        created_by: Set(Some(user.account_id)),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(db)
    .await?
    .last_insert_id;
    audit::record(
        db,
        Entry::new(Some(user), "venue_booking.create", "venue_booking")
            .object(id)
            .district(Some(v.district_code)),
    )
    .await?;
    Ok(id)
}

pub async fn cancel(
    db: &impl ConnectionTrait,
    user: &Principal,
    booking_id: i64,
    reason: &str,
) -> Result<i64, ApiError> {
    let Some(b) = venue_booking::Entity::find_by_id(booking_id)
        .one(db)
        .await?
    else {
        return Err(ApiError::not_found());
    };
    let (v, p) = visible_venue(db, user, b.venue_id).await?;
    if !books(user, &p) {
        return Err(ApiError::forbidden());
    }
    let reason = rules::check_text(reason, 500).map_err(invalid)?;
    store::lock_venue(db, v.id).await?;
    if b.state != BookingState::Confirmed.as_str() {
        return Err(ApiError::with_message(
            StatusCode::CONFLICT,
            "already_cancelled",
            i18n::current().t("venues.error.already_cancelled"),
        ));
    }
    let code = b.district_code.clone();
    let mut m: venue_booking::ActiveModel = b.into();
    m.state = Set(BookingState::Cancelled.as_str().into());
    m.cancel_reason = Set(Some(reason));
    m.cancelled_at = Set(Some(Utc::now()));
    m.cancelled_by = Set(Some(user.account_id));
    venue_booking::Entity::update(m).exec(db).await?;
    audit::record(
        db,
        Entry::new(Some(user), "venue_booking.cancel", "venue_booking")
            .object(booking_id)
            .district(Some(code)),
    )
    .await?;
    Ok(v.id)
}

/// A venue's bookings, confirmed and cancelled, in a range of China-time
/// days (this week and next by default; at most 92 days). Organisers are
/// shown to those who book the venue.
#[utoipa::path(get, path = "/venues/{id}/bookings", tag = "venues",
    params(("id" = i64, Path, description = "Venue id"), Range),
    responses((status = 200, body = Vec<BookingView>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_bookings(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiQuery(range): ApiQuery<Range>,
) -> Result<ApiJson<Vec<BookingView>>, ApiError> {
    let monday = week_start(today());
    let (_, _, from, to) = period(&range, (monday, monday + Duration::days(13)), 92)?;
    Ok(ApiJson(
        bookings(state.db.conn(), &user, id, from, to).await?,
    ))
}

/// Books a venue: inside its opening hours, 15 minutes to 12 hours, no
/// more people than it holds, and no overlap with a confirmed booking
/// (409 naming it).
#[utoipa::path(post, path = "/venues/{id}/bookings", tag = "venues", request_body = BookingInput,
    params(("id" = i64, Path, description = "Venue id")),
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_booking(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<BookingInput>,
) -> Result<(StatusCode, ApiJson<Created>), ApiError> {
    let tx = state.db.write().await?;
    let id = book(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(Created { id })))
}

/// Cancels a confirmed booking, with a reason.
#[utoipa::path(post, path = "/venue-bookings/{id}/cancel", tag = "venues", request_body = CancelInput,
    params(("id" = i64, Path, description = "Booking id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn cancel_booking(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<CancelInput>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    cancel(&tx, &user, id, &input.reason).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- usage

fn line(id: i64, name: String, venues: u64, u: &rules::Usage) -> UsageLine {
    let h = |s: i64| (s as f64 / 360.0).round() / 10.0;
    UsageLine {
        id,
        name,
        venues,
        bookings: u.bookings,
        booked_hours: h(u.booked_seconds),
        open_hours: h(u.open_seconds),
        utilisation: rules::percent_text(u.utilisation()),
        months: u
            .months
            .iter()
            .map(|(m, x)| MonthLine {
                month: m.clone(),
                bookings: x.bookings,
                booked_hours: h(x.booked_seconds),
            })
            .collect(),
    }
}

/// Usage of the venues at or under a place over China-time days.
pub async fn usage(
    db: &impl ConnectionTrait,
    user: &Principal,
    place_id: i64,
    range: &Range,
) -> Result<VenueUsage, ApiError> {
    let p = match jinlin_places::store::find(db, place_id).await? {
        Some(p) if views(user, &p) => p,
        _ => return Err(ApiError::not_found()),
    };
    if !manages(user, &p) {
        return Err(ApiError::forbidden());
    }
    let first = today().with_day(1).expect("first of month");
    let last = (first + Duration::days(32)).with_day(1).expect("month") - Duration::days(1);
    let (from_day, to_day, from, to) = period(range, (first, last), 366)?;
    let venues = store::venues_under(db, &p).await?;
    let ids: Vec<i64> = venues.iter().map(|v| v.id).collect();
    let mut by_venue: HashMap<i64, Vec<rules::Booked>> = HashMap::new();
    for b in store::bookings_between(db, &ids, from, to, false).await? {
        by_venue.entry(b.venue_id).or_default().push(rules::Booked {
            start: b.starts_at,
            end: b.ends_at,
        });
    }
    // The level under the place that groups its venues.
    let child_of = |v: &venue::Model| -> Option<i64> {
        match PlaceKind::parse(&p.kind) {
            Some(PlaceKind::Province | PlaceKind::City | PlaceKind::District) => v.street_id,
            Some(PlaceKind::Street) => v.community_id,
            Some(PlaceKind::Community) => Some(v.compound_id.unwrap_or(v.place_id)),
            _ => None,
        }
    };
    let mut total = rules::Usage::default();
    let mut children: HashMap<i64, (u64, rules::Usage)> = HashMap::new();
    let mut lines = Vec::new();
    for v in &venues {
        let u = rules::usage(
            &OpeningHours::from_json(&v.opening_hours),
            by_venue.get(&v.id).map(Vec::as_slice).unwrap_or(&[]),
            from,
            to,
        );
        total.add(&u);
        if let Some(c) = child_of(v) {
            let e = children.entry(c).or_default();
            e.0 += 1;
            e.1.add(&u);
        }
        lines.push(line(v.id, v.name.clone(), 1, &u));
    }
    let child_ids: Vec<i64> = children.keys().copied().collect();
    let names = store::places(db, &child_ids).await?;
    let mut children: Vec<UsageLine> = children
        .into_iter()
        .map(|(id, (n, u))| {
            line(
                id,
                names.get(&id).map(|p| p.name.clone()).unwrap_or_default(),
                n,
                &u,
            )
        })
        .collect();
    children.sort_by_key(|l| l.id);
    Ok(VenueUsage {
        place_id: p.id,
        from: from_day,
        to: to_day,
        total: line(p.id, p.name.clone(), venues.len() as u64, &total),
        children,
        venues: lines,
    })
}

/// Bookings, booked and open hours and utilisation of the venues at or
/// under a place (compound, community, street or district), by venue, by
/// the next level down and by month; this month by default, at most a year.
#[utoipa::path(get, path = "/places/{id}/venue-usage", tag = "venues",
    params(("id" = i64, Path, description = "Place id"), Range),
    responses((status = 200, body = VenueUsage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn venue_usage(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiQuery(range): ApiQuery<Range>,
) -> Result<ApiJson<VenueUsage>, ApiError> {
    Ok(ApiJson(usage(state.db.conn(), &user, id, &range).await?))
}

/// Venues by id.
pub async fn venues_by_id(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, venue::Model>, ApiError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(venue::Entity::find()
        .filter(venue::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|v| (v.id, v))
        .collect())
}
