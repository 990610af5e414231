//! The cockpit (驾驶舱): every figure the system exists to move, at any node
//! of the place tree (district, street, community, compound), each computed
//! from the records by the capability that keeps them, with the node's
//! children ranked by a chosen figure and a drill-down to each.

pub mod api;
pub mod board;
pub mod figures;
pub mod pages;
pub mod rules;
pub mod store;

use jinlin_kernel::web::Routes;

pub fn routes() -> Routes {
    Routes {
        api: api::router(),
        pages: pages::router(),
    }
}

/// The cockpit's recurring job: the maintained figures' refresh.
pub fn job_handlers() -> jinlin_kernel::jobs::JobHandlers {
    figures::job_handlers()
}
