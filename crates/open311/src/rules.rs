//! The pure parts of GeoReport v2: how a matter's state reads as `open` or
//! `closed`, the filters of `GET requests`, the fields of `POST requests`,
//! and the tokens handed back for a created request.

use chrono::{DateTime, Duration, NaiveDate, Utc};

/// The longest description the spec's schema allows.
pub const MAX_DESCRIPTION: usize = 4000;
/// The spec's default window when no dates are given, and its cap on rows.
pub const DEFAULT_WINDOW_DAYS: i64 = 90;
pub const MAX_RESULTS: u64 = 1000;

/// `open` or `closed`, as the spec knows a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Open,
    Closed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        match s.trim() {
            "open" => Some(Status::Open),
            "closed" => Some(Status::Closed),
            _ => None,
        }
    }

    /// Open while the matter still needs someone's work (a reply still
    /// waits for the reporter's verdict); closed once closed, merged into
    /// another or withdrawn.
    pub fn of_state(state: &str) -> Status {
        match jinlin_resident_matters::rules::State::parse(state) {
            Some(s) if !s.is_open() => Status::Closed,
            _ => Status::Open,
        }
    }
}

/// Why a request's input was refused; each is a locale key under
/// `open311.error.`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputError {
    ServiceCodeMissing,
    LocationMissing,
    LatLongPair,
    LatLongRange,
    DescriptionTooLong,
    MediaUrl,
    Attribute,
    Repeated(String),
    RequestIds,
    Status,
    Date,
    DateOrder,
}

impl InputError {
    pub fn key(&self) -> &'static str {
        match self {
            InputError::ServiceCodeMissing => "service_code_missing",
            InputError::LocationMissing => "location_missing",
            InputError::LatLongPair => "lat_long_pair",
            InputError::LatLongRange => "lat_long_range",
            InputError::DescriptionTooLong => "description_too_long",
            InputError::MediaUrl => "media_url",
            InputError::Attribute => "attribute",
            InputError::Repeated(_) => "repeated",
            InputError::RequestIds => "request_ids",
            InputError::Status => "status",
            InputError::Date => "date",
            InputError::DateOrder => "date_order",
        }
    }
}

/// The filters of `GET requests`, checked.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `service_request_id=1,2,3` overrides every other filter.
    Ids(Vec<i64>),
    Search {
        service_codes: Vec<String>,
        statuses: Vec<Status>,
        start: DateTime<Utc>,
        end: Option<DateTime<Utc>>,
    },
}

/// The raw query of `GET requests`.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct RequestsQuery {
    pub service_request_id: Option<String>,
    pub service_code: Option<String>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub status: Option<String>,
    pub api_key: Option<String>,
    pub jurisdiction_id: Option<String>,
}

fn list(s: &str) -> impl Iterator<Item = &str> {
    s.split(',').map(str::trim).filter(|p| !p.is_empty())
}

/// A W3C date-time (`2010-01-01T00:00:00Z`, any offset) or a plain date,
/// taken as the start of that day in China time (UTC+8).
pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    parse_bound(s, false)
}

/// The offset plain dates are read in: the district's own day.
const CHINA_OFFSET_SECONDS: i32 = 8 * 3600;

/// As [`parse_datetime`]; with `end`, a plain date is the last moment of
/// that day in China time, so `end_date` includes the whole day.
pub fn parse_bound(s: &str, end: bool) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let china = chrono::FixedOffset::east_opt(CHINA_OFFSET_SECONDS)?;
    let day = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    let day = if end { day.succ_opt()? } else { day };
    let midnight = day
        .and_hms_opt(0, 0, 0)?
        .and_local_timezone(china)
        .single()?
        .with_timezone(&Utc);
    Some(if end {
        midnight - Duration::microseconds(1)
    } else {
        midnight
    })
}

impl RequestsQuery {
    /// Checks the filters; without dates the window is the last 90 days,
    /// with only `end_date` the 90 days before it.
    pub fn filter(&self, now: DateTime<Utc>) -> Result<Filter, InputError> {
        if let Some(ids) = self
            .service_request_id
            .as_deref()
            .filter(|s| !s.trim().is_empty())
        {
            let ids = list(ids)
                .map(|p| p.parse::<i64>().ok().filter(|&id| id > 0))
                .collect::<Option<Vec<_>>>()
                .filter(|ids| !ids.is_empty() && ids.len() <= MAX_RESULTS as usize)
                .ok_or(InputError::RequestIds)?;
            return Ok(Filter::Ids(ids));
        }
        let service_codes = self
            .service_code
            .as_deref()
            .map(|s| list(s).map(str::to_string).collect())
            .unwrap_or_default();
        let statuses = match self.status.as_deref() {
            Some(s) => list(s)
                .map(Status::parse)
                .collect::<Option<Vec<_>>>()
                .ok_or(InputError::Status)?,
            None => Vec::new(),
        };
        let date = |s: &Option<String>, end: bool| -> Result<Option<DateTime<Utc>>, InputError> {
            match s.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                Some(s) => parse_bound(s, end).map(Some).ok_or(InputError::Date),
                None => Ok(None),
            }
        };
        let start = date(&self.start_date, false)?;
        let end = date(&self.end_date, true)?;
        if let (Some(start), Some(end)) = (start, end)
            && start > end
        {
            return Err(InputError::DateOrder);
        }
        let window = Duration::days(DEFAULT_WINDOW_DAYS);
        let start = start.unwrap_or_else(|| end.unwrap_or(now) - window);
        Ok(Filter::Search {
            service_codes,
            statuses,
            start,
            end,
        })
    }
}

/// The fields of `POST requests`, checked. The reporter's name, email and
/// phone are read so they can be refused or kept, never echoed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewRequest {
    pub service_code: String,
    pub lat: Option<f64>,
    pub long: Option<f64>,
    pub address_string: Option<String>,
    pub address_id: Option<String>,
    pub description: Option<String>,
    pub media_url: Option<String>,
    /// `attribute[CODE]=value`, and `attribute[CODE][]=value` repeated for
    /// multi-valued lists.
    pub attributes: Vec<(String, String)>,
    pub api_key: Option<String>,
    pub jurisdiction_id: Option<String>,
    pub device_id: Option<String>,
    pub account_id: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
}

/// `attribute[CODE]` or `attribute[CODE][]` → `CODE`.
fn attribute_code(key: &str) -> Option<Result<&str, InputError>> {
    let rest = key.strip_prefix("attribute[")?;
    let rest = rest.strip_suffix("[]").unwrap_or(rest);
    let code = rest.strip_suffix(']');
    Some(match code {
        Some(code) if !code.is_empty() && !code.contains(['[', ']']) => Ok(code),
        _ => Err(InputError::Attribute),
    })
}

fn is_http_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or("");
        !host.is_empty() && !r.chars().any(char::is_whitespace)
    })
}

impl NewRequest {
    /// Reads the form's fields (query and body together). Unknown fields
    /// are ignored, as the spec allows jurisdictions to add their own.
    pub fn parse(pairs: &[(String, String)]) -> Result<NewRequest, InputError> {
        let mut r = NewRequest::default();
        let mut seen: Vec<&str> = Vec::new();
        for (key, value) in pairs {
            if let Some(code) = attribute_code(key) {
                let code = code?;
                r.attributes.push((code.to_string(), value.clone()));
                continue;
            }
            const FIELDS: [&str; 15] = [
                "service_code",
                "lat",
                "long",
                "address_string",
                "address_id",
                "description",
                "media_url",
                "api_key",
                "jurisdiction_id",
                "device_id",
                "account_id",
                "email",
                "first_name",
                "last_name",
                "phone",
            ];
            if !FIELDS.contains(&key.as_str()) {
                continue;
            }
            if seen.contains(&key.as_str()) {
                return Err(InputError::Repeated(key.clone()));
            }
            seen.push(key);
            let value = value.trim();
            let text = (!value.is_empty()).then(|| value.to_string());
            let coordinate = || -> Result<Option<f64>, InputError> {
                text.as_deref()
                    .map(|v| v.parse().map_err(|_| InputError::LatLongRange))
                    .transpose()
            };
            match key.as_str() {
                "service_code" => r.service_code = value.to_string(),
                "lat" => r.lat = coordinate()?,
                "long" => r.long = coordinate()?,
                "address_string" => r.address_string = text,
                "address_id" => r.address_id = text,
                "description" => r.description = text,
                "media_url" => r.media_url = text,
                "api_key" => r.api_key = text,
                "jurisdiction_id" => r.jurisdiction_id = text,
                "device_id" => r.device_id = text,
                "account_id" => r.account_id = text,
                "email" => r.email = text,
                "first_name" => r.first_name = text,
                "last_name" => r.last_name = text,
                _ => r.phone = text,
            }
        }
        r.check()?;
        Ok(r)
    }

    fn check(&self) -> Result<(), InputError> {
        if self.service_code.is_empty() {
            return Err(InputError::ServiceCodeMissing);
        }
        match (self.lat, self.long) {
            (Some(lat), Some(long)) => {
                if !(lat.is_finite()
                    && long.is_finite()
                    && (-90.0..=90.0).contains(&lat)
                    && (-180.0..=180.0).contains(&long))
                {
                    return Err(InputError::LatLongRange);
                }
            }
            (None, None) => {}
            _ => return Err(InputError::LatLongPair),
        }
        if self.lat.is_none() && self.address_string.is_none() && self.address_id.is_none() {
            return Err(InputError::LocationMissing);
        }
        if self
            .description
            .as_deref()
            .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION)
        {
            return Err(InputError::DescriptionTooLong);
        }
        if self.media_url.as_deref().is_some_and(|u| !is_http_url(u)) {
            return Err(InputError::MediaUrl);
        }
        Ok(())
    }
}

/// The token of a created request: its id and a keyed digest of it, so a
/// token cannot be guessed from an id and needs no table. `mac` is the
/// instance's keyed digest (`Secrets::digest`).
pub fn token_for(id: i64, mac: impl Fn(&str) -> String) -> String {
    let digest = mac(&format!("open311.token:{id}"));
    format!("{id}-{}", &digest[..digest.len().min(32)])
}

/// The request id a token stands for, if the token is genuine.
pub fn request_of_token(token: &str, mac: impl Fn(&str) -> String) -> Option<i64> {
    let (id, _) = token.split_once('-')?;
    let id: i64 = id.parse().ok().filter(|&id| id > 0)?;
    let expected = token_for(id, mac);
    // Compared in full, without stopping at the first difference.
    let same = expected.len() == token.len()
        && expected
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    same.then_some(id)
}

/// RFC 3339 in UTC with seconds, as the spec's examples write times.
pub fn datetime(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn mac(s: &str) -> String {
        use std::hash::{DefaultHasher, Hash, Hasher};
        let mut h = DefaultHasher::new();
        s.hash(&mut h);
        format!("{:016x}{:016x}{:016x}", h.finish(), h.finish() ^ 1, 7)
    }

    #[test]
    fn status_from_state() {
        assert_eq!(Status::of_state("closed"), Status::Closed);
        for s in [
            "intake",
            "dispatched",
            "accepted",
            "handling",
            "replied",
            "reopened",
        ] {
            assert_eq!(Status::of_state(s), Status::Open, "{s}");
        }
    }

    #[test]
    fn ids_override_other_filters() {
        let now = Utc::now();
        let q = RequestsQuery {
            service_request_id: Some("3, 5".into()),
            status: Some("bogus".into()),
            ..Default::default()
        };
        assert_eq!(q.filter(now), Ok(Filter::Ids(vec![3, 5])));
        let q = RequestsQuery {
            service_request_id: Some("3,x".into()),
            ..Default::default()
        };
        assert_eq!(q.filter(now), Err(InputError::RequestIds));
    }

    #[test]
    fn plain_dates_are_china_days() {
        let q = RequestsQuery {
            start_date: Some("2026-05-02".into()),
            end_date: Some("2026-05-02".into()),
            ..Default::default()
        };
        let now = parse_datetime("2026-06-01T00:00:00Z").unwrap();
        let Filter::Search { start, end, .. } = q.filter(now).unwrap() else {
            panic!()
        };
        // 2026-05-02 in Fuzhou runs from 05-01 16:00 UTC to 05-02 16:00 UTC.
        assert_eq!(start, parse_datetime("2026-05-01T16:00:00Z").unwrap());
        let end = end.unwrap();
        assert!(end > parse_datetime("2026-05-02T15:59:59Z").unwrap());
        assert!(end < parse_datetime("2026-05-02T16:00:00Z").unwrap());
    }

    #[test]
    fn default_window_and_dates() {
        let now = parse_datetime("2026-06-01T00:00:00Z").unwrap();
        let Filter::Search { start, end, .. } = RequestsQuery::default().filter(now).unwrap()
        else {
            panic!()
        };
        assert_eq!(start, now - Duration::days(90));
        assert_eq!(end, None);
        let q = RequestsQuery {
            start_date: Some("2026-05-02".into()),
            end_date: Some("2026-05-03T00:00:00+08:00".into()),
            status: Some("open,closed".into()),
            ..Default::default()
        };
        let Filter::Search {
            start, statuses, ..
        } = q.filter(now).unwrap()
        else {
            panic!()
        };
        assert_eq!(start, parse_datetime("2026-05-01T16:00:00Z").unwrap());
        assert_eq!(statuses, vec![Status::Open, Status::Closed]);
        let q = RequestsQuery {
            start_date: Some("2026-05-02".into()),
            end_date: Some("2026-05-01".into()),
            ..Default::default()
        };
        assert_eq!(q.filter(now), Err(InputError::DateOrder));
        let q = RequestsQuery {
            start_date: Some("yesterday".into()),
            ..Default::default()
        };
        assert_eq!(q.filter(now), Err(InputError::Date));
        let q = RequestsQuery {
            status: Some("pending".into()),
            ..Default::default()
        };
        assert_eq!(q.filter(now), Err(InputError::Status));
    }

    #[test]
    fn post_fields() {
        let r = NewRequest::parse(&pairs(&[
            ("service_code", "noise"),
            ("lat", "26.05"),
            ("long", "119.31"),
            ("description", " 夜间施工 "),
            ("attribute[floor]", "3"),
            ("attribute[kind][]", "a"),
            ("attribute[kind][]", "b"),
            ("email", "x@example.com"),
            ("unknown", "ignored"),
        ]))
        .unwrap();
        assert_eq!(r.service_code, "noise");
        assert_eq!(r.description.as_deref(), Some("夜间施工"));
        assert_eq!(r.attributes.len(), 3);
        assert_eq!(r.email.as_deref(), Some("x@example.com"));

        let refuse = |items: &[(&str, &str)]| NewRequest::parse(&pairs(items)).unwrap_err();
        assert_eq!(
            refuse(&[("address_id", "1")]),
            InputError::ServiceCodeMissing
        );
        assert_eq!(
            refuse(&[("service_code", "n")]),
            InputError::LocationMissing
        );
        assert_eq!(
            refuse(&[("service_code", "n"), ("lat", "1")]),
            InputError::LatLongPair
        );
        assert_eq!(
            refuse(&[("service_code", "n"), ("lat", "91"), ("long", "0")]),
            InputError::LatLongRange
        );
        assert_eq!(
            refuse(&[("service_code", "n"), ("lat", "NaN"), ("long", "0")]),
            InputError::LatLongRange
        );
        assert_eq!(
            refuse(&[
                ("service_code", "n"),
                ("address_id", "1"),
                ("media_url", "ftp://x")
            ]),
            InputError::MediaUrl
        );
        assert_eq!(
            refuse(&[
                ("service_code", "n"),
                ("address_id", "1"),
                ("attribute[]", "x")
            ]),
            InputError::Attribute
        );
        assert_eq!(
            refuse(&[
                ("service_code", "n"),
                ("service_code", "m"),
                ("address_id", "1")
            ]),
            InputError::Repeated("service_code".into())
        );
        let long = "字".repeat(MAX_DESCRIPTION + 1);
        assert_eq!(
            refuse(&[
                ("service_code", "n"),
                ("address_id", "1"),
                ("description", &long)
            ]),
            InputError::DescriptionTooLong
        );
    }

    #[test]
    fn tokens() {
        let t = token_for(42, mac);
        assert!(t.starts_with("42-"));
        assert_eq!(request_of_token(&t, mac), Some(42));
        assert_eq!(request_of_token("42-0000", mac), None);
        assert_eq!(request_of_token(&t.replacen("42", "43", 1), mac), None);
        assert_eq!(request_of_token("x", mac), None);
    }

    proptest! {
        /// Every genuine token leads back to its id, and no other id's
        /// prefix makes it valid.
        #[test]
        fn tokens_round_trip(id in 1i64..i64::MAX, other in 1i64..i64::MAX) {
            let t = token_for(id, mac);
            prop_assert_eq!(request_of_token(&t, mac), Some(id));
            if other != id {
                let forged = format!("{other}-{}", t.split_once('-').unwrap().1);
                prop_assert_eq!(request_of_token(&forged, mac), None);
            }
        }

        /// A date written back in the spec's form parses to the same instant.
        #[test]
        fn datetimes_round_trip(secs in 0i64..4_000_000_000) {
            let t = DateTime::from_timestamp(secs, 0).unwrap();
            prop_assert_eq!(parse_datetime(&datetime(t)), Some(t));
        }

        /// Parsing never panics, whatever the form holds.
        #[test]
        fn parse_is_total(items in proptest::collection::vec(("[a-z_\\[\\]]{0,12}", ".{0,8}"), 0..8)) {
            let _ = NewRequest::parse(&items);
        }
    }
}
