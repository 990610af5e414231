//! Venues (阵地) of compounds and communities: capacity, opening hours and
//! facilities, bookings with conflict detection and usage figures. Their
//! bookings appear in the iCalendar feeds of `jinlin-calendars`.

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
