//! Demo data, loaded once by `serve --demo` after the places, accounts and
//! the capabilities before this one.

use jinlin_kernel::ApiError;
use sea_orm::ConnectionTrait;

/// Fills the demo district; returns how many records it wrote.
pub async fn seed_demo(_db: &impl ConnectionTrait) -> Result<usize, ApiError> {
    Ok(0)
}
