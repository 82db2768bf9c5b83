//! The marketplace backend of Hong Kong's Digital Transformation Support Pilot Programme.
//!
//! A stateless HTTP service (actix-web) over one relational database (PostgreSQL, or embedded
//! SQLite by default). `main.rs` is a thin command line over this library.

pub mod applications;
pub mod audit;
pub mod auth;
pub mod budget;
pub mod catalogue;
pub mod client_ip;
pub mod config;
pub mod db;
pub mod enquiries;
pub mod error;
pub mod events;
pub mod extract;
pub mod fallback;
pub mod finder;
pub mod guides;
pub mod idempotency;
pub mod mail;
pub mod matching;
pub mod metrics;
pub mod money;
pub mod openapi;
pub mod ops;
pub mod outbox;
pub mod oversight;
pub mod packages;
pub mod pagination;
pub mod programme;
pub mod reports;
pub mod request_context;
pub mod risk;
pub mod seed;
pub mod smes;
pub mod startup;
pub mod telemetry;
pub mod text_enum;
pub mod time;
pub mod validation;
pub mod vendors;
