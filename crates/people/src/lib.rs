//! People: the registry of residents, owners and party members, with their
//! personal data protected (ID numbers encrypted, phones masked).

pub mod api;
pub mod entity;
pub mod rules;
pub mod store;

use jinlin_kernel::web::Routes;

pub fn routes() -> Routes {
    Routes {
        api: api::router(),
        pages: axum::Router::new(),
    }
}
