//! Mobilisation through micro-grids (网格动员): an urgent notice sent to every
//! household of a scope (a compound up to the whole district), each grid's
//! community worker marking households reached (in the app, by phone, at the
//! door) and following up the rest, and live coverage by grid and level with
//! the time each grid took to reach every household.

pub mod api;
pub mod demo;
pub mod entity;
pub mod group;
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
