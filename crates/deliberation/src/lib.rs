//! Pure rules of compound deliberations: the five deliberations (五议) as a
//! state machine, and owners' joint decisions under the Civil Code. No
//! database, no I/O.

pub mod process;
pub mod vote;
