//! The one migration source. Migrations run on SQLite and PostgreSQL, so
//! schema code sticks to the subset both share: integer ids, UTC
//! timestamps, text (JSON as text), integers for money and areas. The
//! triggers of m0029, which the two spell differently, are written once per
//! dialect.

pub use sea_orm_migration::prelude::*;

mod m0001_instance;
mod m0002_registry;
mod m0003_accounts;
mod m0004_compound_registry_index;
mod m0005_deliberation;
mod m0006_organisations;
mod m0007_ratings;
mod m0008_jobs;
mod m0009_resident_matters;
mod m0010_agencies;
mod m0011_projects;
mod m0012_joint_meetings;
mod m0013_pilots;
mod m0014_in_service;
mod m0015_micro_grids;
mod m0016_venues;
mod m0017_social_services;
mod m0018_volunteers;
mod m0019_mobilisation;
mod m0020_session_cancellation;
mod m0021_social_figures;
mod m0022_volunteer_figures;
mod m0023_cockpit_figures;
mod m0024_audit_chain;
mod m0025_mobilisation_household_unchecked;
mod m0026_person_erasure;
mod m0027_in_service_by_community;
mod m0028_cockpit_figures_by_kind;
mod m0029_dwelling_reach;
mod m0030_place_community_reach;
mod m0031_principal_epoch;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_instance::Migration),
            Box::new(m0002_registry::Migration),
            Box::new(m0003_accounts::Migration),
            Box::new(m0004_compound_registry_index::Migration),
            Box::new(m0005_deliberation::Migration),
            Box::new(m0006_organisations::Migration),
            Box::new(m0007_ratings::Migration),
            Box::new(m0008_jobs::Migration),
            Box::new(m0009_resident_matters::Migration),
            Box::new(m0010_agencies::Migration),
            Box::new(m0011_projects::Migration),
            Box::new(m0012_joint_meetings::Migration),
            Box::new(m0013_pilots::Migration),
            Box::new(m0014_in_service::Migration),
            Box::new(m0015_micro_grids::Migration),
            Box::new(m0016_venues::Migration),
            Box::new(m0017_social_services::Migration),
            Box::new(m0018_volunteers::Migration),
            Box::new(m0019_mobilisation::Migration),
            Box::new(m0020_session_cancellation::Migration),
            Box::new(m0021_social_figures::Migration),
            Box::new(m0022_volunteer_figures::Migration),
            Box::new(m0023_cockpit_figures::Migration),
            Box::new(m0024_audit_chain::Migration),
            Box::new(m0025_mobilisation_household_unchecked::Migration),
            Box::new(m0026_person_erasure::Migration),
            Box::new(m0027_in_service_by_community::Migration),
            Box::new(m0028_cockpit_figures_by_kind::Migration),
            Box::new(m0029_dwelling_reach::Migration),
            Box::new(m0030_place_community_reach::Migration),
            Box::new(m0031_principal_epoch::Migration),
        ]
    }
}
