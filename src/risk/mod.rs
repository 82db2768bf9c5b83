//! Risk indicators: the fraud patterns of PROGRAMME-RULES.md, raised as flags for admins to
//! review, with holds on the money they concern and maker-checker review.
//!
//! `engine` (the indicators) and `normalise` (contact keys) are pure. `store` gathers facts and
//! raises flags; the cheap indicators run in the transaction of the event that changes their
//! facts (`store::after_*`). `scan` runs every indicator over the population, periodically and
//! on demand. `review` decides flags, holds money and refuses conflicted admins. `routes` is
//! the HTTP edge.

pub mod engine;
pub mod normalise;
pub mod review;
pub mod routes;
pub mod scan;
pub mod store;
