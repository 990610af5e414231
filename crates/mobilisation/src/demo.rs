//! Demo mobilisations.

use jinlin_kernel::ApiError;
use sea_orm::ConnectionTrait;

pub async fn seed_demo(_db: &impl ConnectionTrait) -> Result<usize, ApiError> {
    Ok(0)
}
