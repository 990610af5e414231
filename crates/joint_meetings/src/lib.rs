//! Quarterly party-building joint meetings of streets: schedule, invitations, attendance, minutes, resolutions tracked as action items, compliance and reminders.

pub mod demo;

use jinlin_kernel::web::Routes;

pub fn routes() -> Routes {
    Routes::default()
}

/// Reminders of the quarter's joint meeting, run by the job runner.
pub fn job_handlers() -> jinlin_kernel::jobs::JobHandlers {
    jinlin_kernel::jobs::JobHandlers::new()
}
