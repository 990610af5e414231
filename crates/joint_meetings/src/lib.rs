//! Quarterly party-building joint meetings (党建联席会议) of streets:
//! schedule, invitations, attendance, minutes, resolutions tracked as
//! action items with an owner and a due date, compliance per quarter and
//! reminders two weeks before the quarter ends.

pub mod api;
pub mod demo;
pub mod entity;
pub mod pages;
pub mod remind;
pub mod rules;
pub mod store;

use jinlin_kernel::web::Routes;

pub use remind::{RemindReport, remind};

pub fn routes() -> Routes {
    Routes {
        api: api::router(),
        pages: pages::router(),
    }
}

/// Reminders of the quarter's joint meeting and of overdue action items,
/// run by the job runner.
pub fn job_handlers() -> jinlin_kernel::jobs::JobHandlers {
    remind::job_handlers()
}
