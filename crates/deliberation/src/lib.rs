//! Compound matters through the five deliberations (五议), and owners' joint
//! decisions under the Civil Code.
//!
//! `process` and `vote` are the pure rules: no database, no I/O. `matters`
//! and `votes` keep them in the database; `api` and `pages` serve them.

pub mod api;
pub mod demo;
pub mod entity;
pub mod error;
pub mod matters;
pub mod pages;
pub mod process;
pub mod settings;
pub mod vote;
pub mod votes;

use chrono::{DateTime, FixedOffset, Utc};
use jinlin_kernel::web::Routes;

pub fn routes() -> Routes {
    Routes {
        api: api::router(),
        pages: pages::router(),
    }
}

/// China Standard Time, in which residents read and enter times.
pub fn china() -> FixedOffset {
    jinlin_kernel::time::china()
}

/// A time as residents read it: `2026-12-01 14:05` in China Standard Time.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&china())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}
