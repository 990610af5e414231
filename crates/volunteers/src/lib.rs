//! Party-and-public volunteer teams (党群志愿服务队) with members and credited
//! activity hours, and patrol teams (e.g. the night "firefly" patrol) with
//! shift rosters, sign-up, check-in and out, and patrol logs whose incidents
//! become residents' matters.

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
