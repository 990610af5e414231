//! Accounts: signing in and out, sessions, passwords, API tokens,
//! invitations and the audit log viewer.
//!
//! `rules` holds the pure policy (lockout, usernames, who may invite whom,
//! the audit log's reach), `store` the data access, `service` the
//! operations both the JSON API (`api`) and the pages (`pages`) perform.

use std::sync::Arc;

use axum::Extension;
use jinlin_kernel::web::Routes;

mod api;
mod common;
mod pages;
pub mod rules;
mod service;
mod store;

pub use common::LOGIN_CSRF_COOKIE;

/// The capability's routes. Each call has its own limit on sign-in
/// attempts per client address, shared by the API and the sign-in form.
pub fn routes() -> Routes {
    let limiter = Arc::new(common::LoginLimiter::default());
    Routes {
        api: api::router().layer(Extension(limiter.clone())),
        pages: pages::router().layer(Extension(limiter)),
    }
}
