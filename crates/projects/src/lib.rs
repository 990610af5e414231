//! Party-building projects an agency runs for its paired compounds: plan, street approval, progress, completion and evaluation.

pub mod demo;

use jinlin_kernel::web::Routes;

pub fn routes() -> Routes {
    Routes::default()
}
