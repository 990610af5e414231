//! Pages of mobilisations.

use axum::Router;
use jinlin_kernel::web::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
}
