//! The place tree: district → street/town → community/village → compound →
//! building → entrance → dwelling, with the national division codes.

pub mod api;
pub mod divisions;
pub mod entity;
pub mod import_api;
pub mod names;
pub mod pages;
pub mod registry_apply;
pub mod registry_import;
pub mod rules;
pub mod store;

use jinlin_kernel::web::Routes;

pub fn routes() -> Routes {
    Routes {
        api: api::router().merge(import_api::api_router()),
        pages: pages::router().merge(import_api::page_router()),
    }
}
