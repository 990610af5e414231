//! Compound matters through the five deliberations (五议), and owners' joint
//! decisions under the Civil Code.
//!
//! `process` and `vote` are the pure rules: no database, no I/O. The rest
//! keeps matters and votes in the database and serves them.

pub mod process;
pub mod vote;

use jinlin_kernel::web::Routes;

pub fn routes() -> Routes {
    Routes {
        api: utoipa_axum::router::OpenApiRouter::new(),
        pages: axum::Router::new(),
    }
}
