//! iCalendar (RFC 5545) feeds that calendar apps subscribe to.

use jinlin_kernel::web::Routes;

pub fn routes() -> Routes {
    Routes::default()
}
