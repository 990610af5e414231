//! The query strings of list endpoints, read into the handlers' own query
//! types (as `ApiQuery` does) and checked by the same functions the
//! handlers call before touching the database: venue date ranges, cockpit
//! periods and figures, the audit log's days. A bad filter is an error (a
//! 400 or 422), never a panic.
#![no_main]

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use jinlin_accounts::rules::day_bounds;
use jinlin_cockpit::api::{OpenDataQuery, TrendQuery, open_period, trend_by, trend_key};
use jinlin_places::api::{PageQuery, SearchQuery};
use jinlin_venues::api::{Range, period};
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;

/// The audit log's day filters (`GET /api/v1/audit?from=&to=`).
#[derive(Deserialize)]
struct AuditDays {
    from: Option<String>,
    to: Option<String>,
}

fuzz_target!(|data: &[u8]| {
    let now = Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();

    if let Ok(range) = serde_urlencoded::from_bytes::<Range>(data) {
        // The two callers: a fortnight's calendar and a year's figures.
        let _ = period(&range, (today, today + Duration::days(13)), 92);
        let _ = period(&range, (today, today + Duration::days(365)), 366);
    }
    if let Ok(q) = serde_urlencoded::from_bytes::<OpenDataQuery>(data)
        && let Ok(p) = open_period(q.period.as_deref(), now)
    {
        let _ = (p.label(), p.days(), p.prev().start());
    }
    if let Ok(q) = serde_urlencoded::from_bytes::<TrendQuery>(data) {
        let _ = trend_key(q.figure.as_deref());
        let _ = trend_by(q.by.as_deref());
    }
    if let Ok(q) = serde_urlencoded::from_bytes::<AuditDays>(data) {
        let day = |s: &Option<String>| {
            s.as_deref()
                .and_then(|s| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok())
        };
        let _ = day_bounds(day(&q.from), day(&q.to));
    }
    let _ = serde_urlencoded::from_bytes::<PageQuery>(data);
    let _ = serde_urlencoded::from_bytes::<SearchQuery>(data);
});
