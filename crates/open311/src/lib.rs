//! Open311 GeoReport v2 at `/open311/v2/`: the matter catalogue as services,
//! residents' matters as service requests, in JSON and XML.

pub mod api;
pub mod format;
pub mod model;
pub mod rules;
pub mod store;
pub mod xml;

use jinlin_kernel::web::Routes;

pub fn routes() -> Routes {
    Routes {
        api: utoipa_axum::router::OpenApiRouter::new(),
        pages: api::router(),
    }
}
