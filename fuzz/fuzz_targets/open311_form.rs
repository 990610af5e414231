//! Open311: the form body of `POST /open311/v2/requests.{json,xml}` and the
//! query of `GET requests`, read as the handlers read them. Bad input is an
//! `InputError` (a 400 in the caller's format), never a panic.
#![no_main]

use chrono::{TimeZone, Utc};
use jinlin_open311::rules::{NewRequest, RequestsQuery};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(data)
        && let Ok(request) = NewRequest::parse(&pairs)
    {
        // What parse accepted is what the store is handed.
        assert!(!request.service_code.is_empty());
        if let (Some(lat), Some(long)) = (request.lat, request.long) {
            assert!((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&long));
        }
    }
    if let Ok(query) = serde_urlencoded::from_bytes::<RequestsQuery>(data) {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap();
        let _ = query.filter(now);
    }
});
