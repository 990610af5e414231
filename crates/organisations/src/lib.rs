//! Compound party organisations (branches and groups) with their members and
//! cross-membership, owners' committees and property service companies.

use jinlin_kernel::web::Routes;

pub fn routes() -> Routes {
    Routes {
        api: utoipa_axum::router::OpenApiRouter::new(),
        pages: axum::Router::new(),
    }
}
