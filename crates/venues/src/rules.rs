//! The venue rules, pure: kinds and purposes, weekly opening hours in China
//! time, booking durations, overlap, and usage figures.
//!
//! Times are stored in UTC; opening hours are a weekly schedule in local
//! China time (UTC+8, no daylight saving). An interval is half-open,
//! `[start, end)`, so a booking ending at 10:00 and one starting at 10:00
//! do not conflict.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub const MIN_CAPACITY: i64 = 1;
pub const MAX_CAPACITY: i64 = 10_000;
pub const MIN_BOOKING_MINUTES: i64 = 15;
pub const MAX_BOOKING_HOURS: i64 = 12;
pub const MAX_FACILITIES: usize = 30;
pub const MAX_SLOTS: usize = 28;

/// Why an input is refused; `key` names the message in the locale file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid {
    pub key: &'static str,
}

fn invalid<T>(key: &'static str) -> Result<T, Invalid> {
    Err(Invalid { key })
}

/// China Standard Time.
pub fn china() -> FixedOffset {
    jinlin_kernel::time::china()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VenueKind {
    /// Party-community service centre 党群活动服务中心.
    ServiceCentre,
    /// Open ground floor 架空层.
    OpenGroundFloor,
    PublicRoom,
    /// Day-care centre for the elderly 日间照料中心.
    ElderDayCare,
    /// Elder canteen 长者食堂.
    ElderCanteen,
    Other,
}

impl VenueKind {
    pub const ALL: [VenueKind; 6] = [
        VenueKind::ServiceCentre,
        VenueKind::OpenGroundFloor,
        VenueKind::PublicRoom,
        VenueKind::ElderDayCare,
        VenueKind::ElderCanteen,
        VenueKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VenueKind::ServiceCentre => "service_centre",
            VenueKind::OpenGroundFloor => "open_ground_floor",
            VenueKind::PublicRoom => "public_room",
            VenueKind::ElderDayCare => "elder_day_care",
            VenueKind::ElderCanteen => "elder_canteen",
            VenueKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<VenueKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// What a booking is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = BookingPurpose)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// A service session (e.g. a social organisation's course).
    Session,
    Meeting,
    Activity,
}

impl Purpose {
    pub const ALL: [Purpose; 3] = [Purpose::Session, Purpose::Meeting, Purpose::Activity];

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Session => "session",
            Purpose::Meeting => "meeting",
            Purpose::Activity => "activity",
        }
    }

    pub fn parse(s: &str) -> Option<Purpose> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = BookingState)]
#[serde(rename_all = "snake_case")]
pub enum BookingState {
    Confirmed,
    Cancelled,
}

impl BookingState {
    pub fn as_str(self) -> &'static str {
        match self {
            BookingState::Confirmed => "confirmed",
            BookingState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<BookingState> {
        match s {
            "confirmed" => Some(BookingState::Confirmed),
            "cancelled" => Some(BookingState::Cancelled),
            _ => None,
        }
    }
}

/// A trimmed, non-empty text of at most `max` characters.
pub fn check_text(text: &str, max: usize) -> Result<String, Invalid> {
    let t = text.trim();
    if t.is_empty() {
        return invalid("venues.error.empty");
    }
    if t.chars().count() > max {
        return invalid("venues.error.too_long_text");
    }
    Ok(t.to_string())
}

pub fn check_capacity(capacity: i64) -> Result<i32, Invalid> {
    if !(MIN_CAPACITY..=MAX_CAPACITY).contains(&capacity) {
        return invalid("venues.error.capacity");
    }
    Ok(capacity as i32)
}

/// Facilities: short texts, trimmed, empty ones dropped, duplicates once.
pub fn check_facilities(items: &[String]) -> Result<Vec<String>, Invalid> {
    let mut out: Vec<String> = Vec::new();
    for i in items {
        let t = i.trim();
        if t.is_empty() {
            continue;
        }
        if t.chars().count() > 32 {
            return invalid("venues.error.facility");
        }
        if !out.iter().any(|o| o == t) {
            out.push(t.to_string());
        }
    }
    if out.len() > MAX_FACILITIES {
        return invalid("venues.error.facility");
    }
    Ok(out)
}

// ---------------------------------------------------------------- hours

/// One open interval of a weekday, in China time: `open`–`close` as
/// "HH:MM", weekday 1 (Monday) to 7 (Sunday); "24:00" closes at midnight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Slot {
    pub weekday: u8,
    pub open: String,
    pub close: String,
}

/// A validated slot in minutes of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct OpenSlot {
    pub weekday: u8,
    pub open: u32,
    pub close: u32,
}

/// A weekly schedule: open slots that do not overlap, sorted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OpeningHours {
    pub slots: Vec<OpenSlot>,
}

fn minutes(hhmm: &str) -> Option<u32> {
    let (h, m) = hhmm.trim().split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let h: u32 = h.parse().ok()?;
    let m: u32 = m.parse().ok()?;
    if m >= 60 || h > 24 || h == 24 && m > 0 {
        return None;
    }
    Some(h * 60 + m)
}

fn hhmm(min: u32) -> String {
    format!("{:02}:{:02}", min / 60, min % 60)
}

impl OpeningHours {
    /// Validates a schedule: weekdays 1–7, open before close, no overlap on
    /// one day (touching slots are allowed).
    pub fn parse(slots: &[Slot]) -> Result<OpeningHours, Invalid> {
        if slots.len() > MAX_SLOTS {
            return invalid("venues.error.hours");
        }
        let mut out = Vec::with_capacity(slots.len());
        for s in slots {
            let (Some(open), Some(close)) = (minutes(&s.open), minutes(&s.close)) else {
                return invalid("venues.error.hours_time");
            };
            if !(1..=7).contains(&s.weekday) {
                return invalid("venues.error.hours_weekday");
            }
            if open >= close {
                return invalid("venues.error.hours_order");
            }
            out.push(OpenSlot {
                weekday: s.weekday,
                open,
                close,
            });
        }
        out.sort();
        for w in out.windows(2) {
            if w[0].weekday == w[1].weekday && w[1].open < w[0].close {
                return invalid("venues.error.hours_overlap");
            }
        }
        Ok(OpeningHours { slots: out })
    }

    pub fn to_slots(&self) -> Vec<Slot> {
        self.slots
            .iter()
            .map(|s| Slot {
                weekday: s.weekday,
                open: hhmm(s.open),
                close: hhmm(s.close),
            })
            .collect()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.to_slots()).unwrap_or_else(|_| "[]".into())
    }

    /// A stored schedule; a damaged one reads as never open.
    pub fn from_json(json: &str) -> OpeningHours {
        serde_json::from_str::<Vec<Slot>>(json)
            .ok()
            .and_then(|s| OpeningHours::parse(&s).ok())
            .unwrap_or_default()
    }

    /// The open intervals (UTC) of one local date.
    fn day_intervals(&self, day: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let wd = day.weekday().number_from_monday() as u8;
        let midnight = china()
            .from_local_datetime(&day.and_time(NaiveTime::MIN))
            .single()
            .expect("fixed offset")
            .with_timezone(&Utc);
        self.slots
            .iter()
            .filter(|s| s.weekday == wd)
            .map(|s| {
                (
                    midnight + Duration::minutes(s.open as i64),
                    midnight + Duration::minutes(s.close as i64),
                )
            })
            .collect()
    }

    /// The open intervals (UTC) meeting `[from, to)`, clipped to it, merged
    /// where they touch across midnight, in order.
    pub fn open_intervals(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let mut out: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
        if to <= from {
            return out;
        }
        let mut day = from.with_timezone(&china()).date_naive();
        let last = to.with_timezone(&china()).date_naive();
        while day <= last {
            for (s, e) in self.day_intervals(day) {
                let (s, e) = (s.max(from), e.min(to));
                if s >= e {
                    continue;
                }
                match out.last_mut() {
                    Some(prev) if prev.1 >= s => prev.1 = prev.1.max(e),
                    _ => out.push((s, e)),
                }
            }
            day = day.succ_opt().expect("date in range");
        }
        out
    }

    /// Whether every instant of `[start, end)` is inside an open slot.
    pub fn covers(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        if end <= start {
            return false;
        }
        // Merged, clipped intervals: covered iff one of them is the whole.
        self.open_intervals(start, end)
            .first()
            .is_some_and(|&(s, e)| s == start && e == end)
    }

    /// Open time within `[from, to)`, in seconds.
    pub fn open_seconds(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        self.open_intervals(from, to)
            .iter()
            .map(|(s, e)| (*e - *s).num_seconds())
            .sum()
    }
}

// ---------------------------------------------------------------- bookings

/// Whether two half-open intervals share an instant.
pub fn overlaps(a: (DateTime<Utc>, DateTime<Utc>), b: (DateTime<Utc>, DateTime<Utc>)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// A booking's length: end after start, at least 15 minutes, at most 12 hours.
pub fn check_duration(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<(), Invalid> {
    if end <= start {
        return invalid("venues.error.end_before_start");
    }
    let d = end - start;
    if d < Duration::minutes(MIN_BOOKING_MINUTES) {
        return invalid("venues.error.too_short");
    }
    if d > Duration::hours(MAX_BOOKING_HOURS) {
        return invalid("venues.error.too_long");
    }
    Ok(())
}

pub fn check_attendance(expected: i64, capacity: i32) -> Result<i32, Invalid> {
    if expected < 1 {
        return invalid("venues.error.attendance");
    }
    if expected > capacity as i64 {
        return invalid("venues.error.over_capacity");
    }
    Ok(expected as i32)
}

/// Every rule of a new booking apart from conflicts, in the order a person
/// would fix them.
pub fn check_booking(
    hours: &OpeningHours,
    capacity: i32,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    expected: i64,
) -> Result<i32, Invalid> {
    check_duration(start, end)?;
    if !hours.covers(start, end) {
        return invalid("venues.error.outside_hours");
    }
    check_attendance(expected, capacity)
}

// ---------------------------------------------------------------- usage

/// The first instant of the China-time month holding `t`, as "YYYY-MM".
pub fn month_of(t: DateTime<Utc>) -> String {
    let l = t.with_timezone(&china());
    format!("{:04}-{:02}", l.year(), l.month())
}

/// A booked interval for usage figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Booked {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MonthUsage {
    pub bookings: u64,
    pub booked_seconds: i64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Usage {
    /// Confirmed bookings that start within the period.
    pub bookings: u64,
    /// Booked time within the period (bookings clipped to it).
    pub booked_seconds: i64,
    /// Open time within the period.
    pub open_seconds: i64,
    /// By China-time month of the booking's start ("YYYY-MM").
    pub months: BTreeMap<String, MonthUsage>,
}

impl Usage {
    /// booked / open, none when the venue was never open.
    pub fn utilisation(&self) -> Option<f64> {
        (self.open_seconds > 0).then(|| self.booked_seconds as f64 / self.open_seconds as f64)
    }

    pub fn add(&mut self, other: &Usage) {
        self.bookings += other.bookings;
        self.booked_seconds += other.booked_seconds;
        self.open_seconds += other.open_seconds;
        for (m, u) in &other.months {
            let e = self.months.entry(m.clone()).or_default();
            e.bookings += u.bookings;
            e.booked_seconds += u.booked_seconds;
        }
    }
}

/// Usage of one venue over `[from, to)` from its confirmed bookings.
/// A booking counts in the period (and month) where it starts; its hours
/// count only as far as they lie in the period.
pub fn usage(
    hours: &OpeningHours,
    bookings: &[Booked],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Usage {
    let mut u = Usage {
        open_seconds: hours.open_seconds(from, to),
        ..Default::default()
    };
    for b in bookings {
        let s = b.start.max(from);
        let e = b.end.min(to);
        if s < e {
            u.booked_seconds += (e - s).num_seconds();
        }
        if b.start >= from && b.start < to {
            u.bookings += 1;
            let m = u.months.entry(month_of(b.start)).or_default();
            m.bookings += 1;
            m.booked_seconds += (b.end.min(to) - b.start).num_seconds();
        }
    }
    u
}

/// "12.5" hours from seconds, one decimal.
pub fn hours_text(seconds: i64) -> String {
    format!("{:.1}", seconds as f64 / 3600.0)
}

/// "37.5%", one decimal.
pub fn percent_text(ratio: Option<f64>) -> Option<String> {
    ratio.map(|r| format!("{:.1}%", r * 100.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn slot(weekday: u8, open: &str, close: &str) -> Slot {
        Slot {
            weekday,
            open: open.into(),
            close: close.into(),
        }
    }

    /// Mon–Fri 08:30–12:00 and 14:00–21:00; Saturday 09:00–24:00, Sunday
    /// 00:00–02:00 (a late Saturday runs past midnight).
    fn hours() -> OpeningHours {
        let mut s = Vec::new();
        for d in 1..=5 {
            s.push(slot(d, "08:30", "12:00"));
            s.push(slot(d, "14:00", "21:00"));
        }
        s.push(slot(6, "09:00", "24:00"));
        s.push(slot(7, "00:00", "02:00"));
        OpeningHours::parse(&s).unwrap()
    }

    #[test]
    fn schedules_are_validated() {
        let e = |s: Vec<Slot>| OpeningHours::parse(&s).unwrap_err().key;
        assert_eq!(
            e(vec![slot(0, "08:00", "09:00")]),
            "venues.error.hours_weekday"
        );
        assert_eq!(
            e(vec![slot(8, "08:00", "09:00")]),
            "venues.error.hours_weekday"
        );
        assert_eq!(
            e(vec![slot(1, "09:00", "08:00")]),
            "venues.error.hours_order"
        );
        assert_eq!(e(vec![slot(1, "9", "10:00")]), "venues.error.hours_time");
        assert_eq!(
            e(vec![slot(1, "24:01", "10:00")]),
            "venues.error.hours_time"
        );
        assert_eq!(
            e(vec![slot(1, "08:00", "12:00"), slot(1, "11:00", "13:00")]),
            "venues.error.hours_overlap"
        );
        assert!(
            OpeningHours::parse(&[slot(1, "08:00", "12:00"), slot(1, "12:00", "13:00")]).is_ok()
        );
        let h = hours();
        assert_eq!(OpeningHours::from_json(&h.to_json()), h);
    }

    #[test]
    fn bookings_must_lie_in_open_hours_in_china_time() {
        let h = hours();
        // 2026-03-02 is a Monday; 09:00–11:00 China time is 01:00–03:00 UTC.
        assert!(h.covers(at("2026-03-02T01:00:00Z"), at("2026-03-02T03:00:00Z")));
        // Across the lunch break.
        assert!(!h.covers(at("2026-03-02T03:00:00Z"), at("2026-03-02T07:00:00Z")));
        // Saturday 23:00 to Sunday 01:30 runs over midnight in open hours.
        assert!(h.covers(at("2026-03-07T15:00:00Z"), at("2026-03-07T17:30:00Z")));
        assert!(!h.covers(at("2026-03-07T15:00:00Z"), at("2026-03-07T18:30:00Z")));
        // Before opening.
        assert!(!h.covers(at("2026-03-02T00:00:00Z"), at("2026-03-02T01:00:00Z")));
    }

    #[test]
    fn durations_are_checked() {
        let s = at("2026-03-02T01:00:00Z");
        assert_eq!(
            check_duration(s, s).unwrap_err().key,
            "venues.error.end_before_start"
        );
        assert_eq!(
            check_duration(s, s + Duration::minutes(14))
                .unwrap_err()
                .key,
            "venues.error.too_short"
        );
        assert!(check_duration(s, s + Duration::minutes(15)).is_ok());
        assert!(check_duration(s, s + Duration::hours(12)).is_ok());
        assert_eq!(
            check_duration(s, s + Duration::hours(12) + Duration::seconds(1))
                .unwrap_err()
                .key,
            "venues.error.too_long"
        );
        assert_eq!(
            check_attendance(31, 30).unwrap_err().key,
            "venues.error.over_capacity"
        );
        assert_eq!(
            check_attendance(0, 30).unwrap_err().key,
            "venues.error.attendance"
        );
    }

    #[test]
    fn usage_by_hand() {
        let h = hours();
        // Week of Monday 2026-03-02 (China time): 5 × 10.5 h + 15 h + 2 h
        // on Sunday morning = 69.5 h open.
        let from = at("2026-03-01T16:00:00Z");
        let to = at("2026-03-08T16:00:00Z");
        assert_eq!(h.open_seconds(from, to), 69 * 3600 + 1800);
        let b = [
            // Monday 09:00–11:00: 2 h.
            Booked {
                start: at("2026-03-02T01:00:00Z"),
                end: at("2026-03-02T03:00:00Z"),
            },
            // Saturday 19:00–21:30: 2.5 h.
            Booked {
                start: at("2026-03-07T11:00:00Z"),
                end: at("2026-03-07T13:30:00Z"),
            },
            // The Sunday before the period, outside it.
            Booked {
                start: at("2026-03-01T01:00:00Z"),
                end: at("2026-03-01T02:00:00Z"),
            },
        ];
        let u = usage(&h, &b, from, to);
        assert_eq!(u.bookings, 2);
        assert_eq!(u.booked_seconds, 4 * 3600 + 1800);
        // 4.5 / 69.5 = 6.47…%
        assert_eq!(percent_text(u.utilisation()).unwrap(), "6.5%");
        assert_eq!(u.months["2026-03"].bookings, 2);
        assert_eq!(hours_text(u.booked_seconds), "4.5");
        // A booking at 01:00 China time on 1 April belongs to April.
        assert_eq!(month_of(at("2026-03-31T17:00:00Z")), "2026-04");
    }

    fn base() -> DateTime<Utc> {
        at("2026-03-01T16:00:00Z")
    }

    prop_compose! {
        fn interval()(s in 0i64..2000, len in 1i64..300) -> (DateTime<Utc>, DateTime<Utc>) {
            (base() + Duration::minutes(s), base() + Duration::minutes(s + len))
        }
    }

    prop_compose! {
        fn schedule()(raw in proptest::collection::vec((1u8..=7, 0u32..96, 1u32..40), 0..10))
            -> OpeningHours {
            // Quarter-hour slots; overlapping ones are dropped.
            let mut slots: Vec<OpenSlot> = Vec::new();
            for (weekday, q, len) in raw {
                let open = q * 15;
                let close = (open + len * 15).min(1440);
                if open >= close { continue; }
                let s = OpenSlot { weekday, open, close };
                if slots.iter().any(|o| o.weekday == weekday && o.open < close && open < o.close) {
                    continue;
                }
                slots.push(s);
            }
            slots.sort();
            OpeningHours { slots }
        }
    }

    /// Whether one instant is inside an open slot, by its local weekday
    /// and minute.
    fn open_at(h: &OpeningHours, t: DateTime<Utc>) -> bool {
        let l = t.with_timezone(&china());
        let wd = l.weekday().number_from_monday() as u8;
        let m = l.hour_minute();
        h.slots
            .iter()
            .any(|s| s.weekday == wd && s.open <= m && m < s.close)
    }

    trait HourMinute {
        fn hour_minute(&self) -> u32;
    }

    impl HourMinute for DateTime<FixedOffset> {
        fn hour_minute(&self) -> u32 {
            use chrono::Timelike;
            self.hour() * 60 + self.minute()
        }
    }

    proptest! {
        #[test]
        fn overlap_is_symmetric(a in interval(), b in interval()) {
            prop_assert_eq!(overlaps(a, b), overlaps(b, a));
            prop_assert!(overlaps(a, a));
        }

        #[test]
        fn touching_intervals_do_not_conflict(a in interval(), len in 1i64..300) {
            let b = (a.1, a.1 + Duration::minutes(len));
            prop_assert!(!overlaps(a, b));
            prop_assert!(!overlaps(b, a));
        }

        #[test]
        fn overlap_means_a_shared_minute(a in interval(), b in interval()) {
            // Minute-aligned intervals share an instant iff they share a minute.
            let mut shared = false;
            let mut t = a.0;
            while t < a.1 {
                if b.0 <= t && t < b.1 { shared = true; }
                t += Duration::minutes(1);
            }
            prop_assert_eq!(overlaps(a, b), shared);
        }

        #[test]
        fn a_booking_is_inside_hours_iff_every_minute_is(h in schedule(), a in interval()) {
            let mut every = true;
            let mut t = a.0;
            while t < a.1 {
                every &= open_at(&h, t);
                t += Duration::minutes(1);
            }
            prop_assert_eq!(h.covers(a.0, a.1), every);
        }

        #[test]
        fn open_seconds_count_the_open_minutes(h in schedule(), a in interval()) {
            let mut n = 0i64;
            let mut t = a.0;
            while t < a.1 {
                if open_at(&h, t) { n += 60; }
                t += Duration::minutes(1);
            }
            prop_assert_eq!(h.open_seconds(a.0, a.1), n);
        }

        #[test]
        fn booked_time_never_exceeds_the_period(bs in proptest::collection::vec(interval(), 0..8),
                                                 p in interval()) {
            let booked: Vec<Booked> = bs.iter().map(|&(start, end)| Booked { start, end }).collect();
            let u = usage(&OpeningHours::default(), &booked, p.0, p.1);
            // Bookings here may overlap one another; each is clipped alone.
            prop_assert!(u.booked_seconds <= (p.1 - p.0).num_seconds() * booked.len() as i64);
            prop_assert_eq!(u.months.values().map(|m| m.bookings).sum::<u64>(), u.bookings);
        }
    }
}
