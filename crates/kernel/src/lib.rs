//! The shared kernel every capability stands on: configuration, the database
//! (one code path for SQLite and PostgreSQL), errors, languages and the web
//! shell (layout, API conventions, health, metrics).

rust_i18n::i18n!("locales", fallback = "zh-CN");

pub mod audit;
pub mod auth;
pub mod config;
pub mod crypto;
pub mod db;
pub mod error;
pub mod i18n;
pub mod instance;
pub mod jobs;
pub mod notify;
pub mod place;
pub mod telemetry;
pub mod time;
pub mod web;

pub use config::Config;
pub use db::Database;
pub use error::ApiError;
pub use i18n::Lang;
