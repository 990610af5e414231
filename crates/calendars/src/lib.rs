//! iCalendar (RFC 5545) feeds that calendar apps subscribe to: a
//! compound's or community's venue bookings, service sessions, patrol
//! shifts and volunteer activities; a street's joint meetings; a volunteer
//! team's shifts and activities; and a person's own calendar. Each feed is
//! served with the session cookie and under the reader's secret feed token,
//! and shows exactly what its reader sees in the app.

pub mod api;
pub mod feed;
pub mod ical;
pub mod pages;
pub mod records;
pub mod token;

use jinlin_kernel::web::Routes;

pub fn routes() -> Routes {
    Routes {
        api: api::router(),
        pages: pages::router().merge(feed::router()),
    }
}
