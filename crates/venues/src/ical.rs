//! iCalendar (RFC 5545) text of a feed: a list of `CalendarEvent`s rendered
//! as one VCALENDAR. Other capabilities (sessions, patrol shifts, joint
//! meetings, activities) add their events by building `CalendarEvent`s.

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarEvent {
    /// Globally unique and stable across renders, e.g.
    /// `venue-booking-12@jinlin`.
    pub uid: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
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
    line("PRODID:-//jinlin//venues//ZH".into());
    line("CALSCALE:GREGORIAN".into());
    line("METHOD:PUBLISH".into());
    line(format!("X-WR-CALNAME:{}", escape(name)));
    line("X-WR-TIMEZONE:Asia/Shanghai".into());
    for e in events {
        line("BEGIN:VEVENT".into());
        line(format!("UID:{}", escape(&e.uid)));
        line(format!("DTSTAMP:{}", stamp(now)));
        line(format!("DTSTART:{}", stamp(e.start)));
        line(format!("DTEND:{}", stamp(e.end)));
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
                start: t,
                end: t + chrono::Duration::hours(2),
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
