//! Rating campaigns of owners' committees and property service companies:
//! residents' and the party organisation's scores, rankings, star bands, red
//! and black lists, and rectification of black-listed companies.

use jinlin_kernel::web::Routes;

pub fn routes() -> Routes {
    Routes {
        api: utoipa_axum::router::OpenApiRouter::new(),
        pages: axum::Router::new(),
    }
}
