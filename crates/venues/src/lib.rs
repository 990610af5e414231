//! Venues of compounds and communities: capacity, opening hours and facilities, bookings with conflict detection, usage figures and iCalendar feeds.

pub mod demo;

use jinlin_kernel::web::Routes;

pub fn routes() -> Routes {
    Routes::default()
}
