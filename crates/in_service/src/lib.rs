//! In-service party members: dual reporting to the residence and the paired compound, the three ones, and service records with points.

pub mod demo;

use jinlin_kernel::web::Routes;

pub fn routes() -> Routes {
    Routes::default()
}
