//! iCalendar (RFC 5545) text of a feed: a list of `CalendarEvent`s rendered
//! as one VCALENDAR.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

/// When an event takes place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// From `start` to `end`, written in UTC.
    Timed {
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },
    /// One whole day (a `DATE` value), for records that know no time of day.
    Day(NaiveDate),
}

impl When {
    /// The instant the event starts, a day starting at midnight in China.
    pub fn start(&self) -> DateTime<Utc> {
        match *self {
            When::Timed { start, .. } => start,
            When::Day(d) => jinlin_kernel::time::china()
                .from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
                .single()
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarEvent {
    /// Globally unique and stable across renders, e.g.
    /// `venue-booking-12@jinlin`.
    pub uid: String,
    pub when: When,
    pub summary: String,
    pub location: Option<String>,
    pub description: Option<String>,
    pub cancelled: bool,
    /// Last change, for SEQUENCE-less updates (LAST-MODIFIED).
    pub updated: Option<DateTime<Utc>>,
}

/// Escapes a TEXT value (RFC 5545 §3.3.11).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds a content line at 75 octets (§3.1), never inside a UTF-8
/// character, and ends it with CRLF.
pub fn fold(line: &str, out: &mut String) {
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        // Continuation lines start with a space, which counts.
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// The VCALENDAR text of `events`, named `name`.
pub fn render(name: &str, events: &[CalendarEvent], now: DateTime<Utc>) -> String {
    let mut out = String::new();
    let mut line = |s: String| fold(&s, &mut out);
    line("BEGIN:VCALENDAR".into());
    line("VERSION:2.0".into());
    line("PRODID:-//jinlin//calendars//ZH".into());
    line("CALSCALE:GREGORIAN".into());
    line("METHOD:PUBLISH".into());
    line(format!("X-WR-CALNAME:{}", escape(name)));
    line("X-WR-TIMEZONE:Asia/Shanghai".into());
    for e in events {
        line("BEGIN:VEVENT".into());
        line(format!("UID:{}", escape(&e.uid)));
        line(format!("DTSTAMP:{}", stamp(now)));
        match e.when {
            When::Timed { start, end } => {
                line(format!("DTSTART:{}", stamp(start)));
                line(format!("DTEND:{}", stamp(end)));
            }
            When::Day(d) => {
                // DTEND of a day is exclusive: the next day.
                line(format!("DTSTART;VALUE=DATE:{}", d.format("%Y%m%d")));
                line(format!(
                    "DTEND;VALUE=DATE:{}",
                    (d + Duration::days(1)).format("%Y%m%d")
                ));
            }
        }
        line(format!("SUMMARY:{}", escape(&e.summary)));
        if let Some(l) = &e.location {
            line(format!("LOCATION:{}", escape(l)));
        }
        if let Some(d) = &e.description {
            line(format!("DESCRIPTION:{}", escape(d)));
        }
        if let Some(u) = e.updated {
            line(format!("LAST-MODIFIED:{}", stamp(u)));
        }
        line(format!(
            "STATUS:{}",
            if e.cancelled {
                "CANCELLED"
            } else {
                "CONFIRMED"
            }
        ));
        line("END:VEVENT".into());
    }
    line("END:VCALENDAR".into());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("a,b;c\\d\ne\r\nf"), "a\\,b\\;c\\\\d\\ne\\nf");
    }

    #[test]
    fn a_calendar_has_crlf_lines_and_the_required_properties() {
        let t = DateTime::parse_from_rfc3339("2026-03-02T01:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let text = render(
            "金山社区",
            &[CalendarEvent {
                uid: "venue-booking-1@jinlin".into(),
                when: When::Timed {
                    start: t,
                    end: t + chrono::Duration::hours(2),
                },
                summary: "党员大会; 第一次".into(),
                location: Some("金山社区党群服务中心".into()),
                description: None,
                cancelled: true,
                updated: None,
            }],
            t,
        );
        assert!(text.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
        assert!(text.ends_with("END:VCALENDAR\r\n"));
        assert!(!text.replace("\r\n", "").contains('\n'));
        assert!(text.contains("DTSTART:20260302T010000Z\r\n"));
        assert!(text.contains("DTEND:20260302T030000Z\r\n"));
        assert!(text.contains("SUMMARY:党员大会\\; 第一次\r\n"));
        assert!(text.contains("STATUS:CANCELLED\r\n"));
    }

    #[test]
    fn a_day_is_a_date_value_ending_the_next_day() {
        let t = DateTime::parse_from_rfc3339("2026-12-31T01:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let day = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
        let text = render(
            "萤火虫巡逻队",
            &[CalendarEvent {
                uid: "volunteer-activity-1@jinlin".into(),
                when: When::Day(day),
                summary: "楼道清理".into(),
                location: None,
                description: None,
                cancelled: false,
                updated: None,
            }],
            t,
        );
        assert!(text.contains("DTSTART;VALUE=DATE:20261231\r\n"));
        assert!(text.contains("DTEND;VALUE=DATE:20270101\r\n"));
        assert!(text.contains("STATUS:CONFIRMED\r\n"));
        // Midnight in China is 16:00 UTC the day before.
        assert_eq!(
            When::Day(day).start(),
            DateTime::parse_from_rfc3339("2026-12-30T16:00:00Z").unwrap()
        );
    }

    proptest! {
        #[test]
        fn folded_lines_are_at_most_75_octets_and_unfold_to_the_original(s in "\\PC{0,200}") {
            let mut out = String::new();
            fold(&s, &mut out);
            for l in out.split("\r\n") {
                prop_assert!(l.len() <= 75);
            }
            let unfolded = out.trim_end_matches("\r\n").replace("\r\n ", "");
            prop_assert_eq!(unfolded, s);
        }
    }
}
