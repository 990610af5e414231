//! Ledgers (台账): every register of the system exported to Excel (.xlsx)
//! for a district, street, community or compound, with the reader's scope
//! applied, headings in the reader's language, phones masked unless asked
//! for and allowed, and each export written to the audit log.
//!
//! An export is written row by row in rust_xlsxwriter's constant-memory
//! mode on a blocking thread, fed page by page from the database (one page
//! of compounds at a time), saved to an anonymous temporary file and then
//! streamed to the client; memory stays flat however large the scope.

pub mod api;
pub mod export;
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
