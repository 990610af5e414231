//! Personal data rights (PIPL art. 45 and 47): everything the system holds
//! about one person, exported as JSON and as a page, and the erasure of a
//! person's personal data on their request, keeping what the law requires
//! (ballots counted, ownership shares, the audit log).

pub mod api;
pub mod catalogue;
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
