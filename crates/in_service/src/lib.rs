//! In-service party members (在职党员): dual reporting to the residence and
//! the paired compound, the three ones, and service records with points.

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
