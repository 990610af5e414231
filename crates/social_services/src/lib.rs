//! Social organisations (社会组织) admitted by a community's party
//! organisation to serve its compounds, and the services they run there:
//! sessions with a venue and capacity, registration, attendance marked by
//! staff, feedback, and the figures of sessions held and person-times served.

pub mod api;
pub mod demo;
pub mod entity;
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
