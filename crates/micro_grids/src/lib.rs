//! Micro-grids of compounds (微网格): a community worker, a party work group
//! and owner contact groups per grid, each dwelling's reachability, and
//! coverage per grid, compound, community, street and district.

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
