//! China Standard Time: UTC+8 all year, no daylight saving. Every date a
//! user sees or types (deadlines, quarters, "today") is a day in this zone.

use chrono::FixedOffset;

/// The offset of China Standard Time.
pub fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}
