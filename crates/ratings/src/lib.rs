//! Rating campaigns of owners' committees and property service companies:
//! residents' and the party organisation's scores, rankings, star bands, red
//! and black lists, and rectification of black-listed companies.

pub mod api;
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
