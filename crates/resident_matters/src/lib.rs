//! Residents' matters (事项/诉求): raised by a resident, owner, party member,
//! community worker or patrol, dispatched, handled on time, escalated when
//! late, and closed on the reporter's verdict.

pub mod api;
pub mod demo;
pub mod entity;
pub mod matters;
pub mod pages;
pub mod photos;
pub mod rules;
pub mod store;
pub mod sweep;

pub use demo::seed_demo;
pub use sweep::{SweepReport, job_handlers, sweep_deadlines};

use jinlin_kernel::web::Routes;

pub fn routes() -> Routes {
    Routes {
        api: api::router(),
        pages: pages::router(),
    }
}
