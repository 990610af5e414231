//! Party-building projects (党建项目) an agency runs for its paired
//! compounds: the compound states its needs, the agency plans a project
//! fitted to its function, the street approves it, the agency carries it
//! out with dated updates and completes it, and the compound's party
//! organisation and residents evaluate it.

pub mod api;
pub mod demo;
pub mod entity;
pub mod pages;
pub mod rules;
pub mod store;

use jinlin_kernel::web::Routes;

pub fn routes() -> Routes {
    Routes {
        api: api::router(),
        pages: pages::router(),
    }
}
