//! Social organisations admitted to serve compounds and the services they run: sessions with venue, capacity, registration, check-in and feedback, and their figures.

pub mod demo;

use jinlin_kernel::web::Routes;

pub fn routes() -> Routes {
    Routes::default()
}
