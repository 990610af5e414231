//! Compound party organisations (branches and groups) with their members and
//! cross-membership, owners' committees and property service companies.

pub mod api;
pub mod entity;
pub mod pages;
pub mod rules;
pub mod seed;
pub mod store;

use jinlin_kernel::web::Routes;

pub fn routes() -> Routes {
    Routes {
        api: api::router(),
        pages: pages::router(),
    }
}

pub use seed::{SeedSummary, seed_demo};
