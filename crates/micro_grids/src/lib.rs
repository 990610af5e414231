//! Micro-grids of compounds: a community worker, a party work group and owner contact groups per grid, each dwelling's reachability, and coverage per grid, community and street.

pub mod demo;

use jinlin_kernel::web::Routes;

pub fn routes() -> Routes {
    Routes::default()
}
