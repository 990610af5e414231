//! Seeding: deterministic, realistic data on the imported division tree —
//! compounds with their buildings, entrances and dwellings, owners and
//! residents, party members, and an account for every role — for the demo
//! and for measuring the system at the size of a district or a city.
//!
//! [`plan`] is the pure part (same seed, same plan, on every machine);
//! [`seed`] writes a plan in one transaction.

pub mod plan;
pub mod words;
mod write;

pub use plan::{Community, Plan, Scale, Shape};
pub use write::{
    DEMO_PASSWORD, MAX_PARAMS, Options, Progress, Report, SEEDED_FACT, Sample, SeedError,
    load_communities, seed,
};
