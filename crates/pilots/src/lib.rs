//! Cohesion pilots (邻聚力工程): pilot compounds designated by streets, by type, with tracked indicators compared with the rest.

pub mod demo;

use jinlin_kernel::web::Routes;

pub fn routes() -> Routes {
    Routes::default()
}
