//! In-service party members (在职党员): dual reporting to the residence and
//! the paired compound, the three ones, and service records with points.

pub mod demo;
pub mod entity;
pub mod rules;

use jinlin_kernel::web::Routes;

pub fn routes() -> Routes {
    Routes::default()
}
