//! Agencies (机关单位) and their pairing with compounds (挂钩联系): directed
//! pairing by district and street admins, two-way selection rounds solved by
//! a stable matching with capacities, and the pairing history.

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
