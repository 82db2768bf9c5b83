//! The integration suite: one binary that drives the real application over HTTP (and its
//! command line), on SQLite always and on PostgreSQL when `TEST_DATABASE_URL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod audit;
mod catalogue;
use catalogue as catalogue_helpers;
mod cli;
mod concurrency;
mod database;
mod errors;
mod events;
mod finder;
mod guides;
mod identity;
mod journey;
mod layers;
mod mail;
mod money_path;
mod openapi;
mod ops;
mod overload;
mod packages;
mod proxies;
mod reports;
mod risk;
mod search;
mod security;
mod seed;
mod vendors;
