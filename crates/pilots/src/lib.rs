//! Cohesion pilots (邻聚力工程): pilot compounds designated by streets, by
//! type, with indicators computed from the records and compared with the
//! other compounds of the same scope.

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
