//! Venues (阵地) of compounds and communities: capacity, opening hours and
//! facilities, bookings with conflict detection, usage figures and
//! iCalendar feeds that calendar apps subscribe to.

pub mod api;
pub mod demo;
pub mod entity;
pub mod feed;
pub mod ical;
pub mod pages;
pub mod rules;
pub mod store;

use jinlin_kernel::web::Routes;

pub fn routes() -> Routes {
    Routes {
        api: api::router(),
        pages: pages::router().merge(feed::router()),
    }
}
