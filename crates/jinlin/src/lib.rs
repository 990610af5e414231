//! The application: which capabilities make up jinlin, the command line,
//! and the demo data set.

pub mod backup;
pub mod cli;
pub mod demo;
pub mod verify;

use axum::Router;
use jinlin_kernel::web::{self, AppState, Routes};

/// Every capability's routes, in the order they are mounted.
pub fn capabilities() -> Vec<Routes> {
    vec![
        jinlin_places::routes(),
        jinlin_people::routes(),
        jinlin_accounts::routes(),
        jinlin_deliberation::routes(),
        jinlin_organisations::routes(),
        jinlin_ratings::routes(),
        jinlin_resident_matters::routes(),
        jinlin_open311::routes(),
        jinlin_agencies::routes(),
        jinlin_projects::routes(),
        jinlin_joint_meetings::routes(),
        jinlin_pilots::routes(),
        jinlin_in_service::routes(),
        jinlin_micro_grids::routes(),
        jinlin_venues::routes(),
        jinlin_social_services::routes(),
        jinlin_volunteers::routes(),
        jinlin_mobilisation::routes(),
        jinlin_calendars::routes(),
        jinlin_ledgers::routes(),
        jinlin_cockpit::routes(),
        jinlin_privacy::routes(),
    ]
}

/// Every capability's job handlers (deadlines, escalations, reminders,
/// outbound notifications), run by one `JobRunner` per node.
pub fn job_handlers(
    config: &jinlin_kernel::Config,
) -> Result<jinlin_kernel::jobs::JobHandlers, String> {
    Ok(jinlin_kernel::jobs::kernel_handlers()
        .merge(jinlin_kernel::notify::handlers_for(config)?)
        .merge(jinlin_resident_matters::job_handlers())
        .merge(jinlin_joint_meetings::job_handlers())
        .merge(jinlin_cockpit::job_handlers()))
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    web::app(state, capabilities())
}
