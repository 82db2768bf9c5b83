//! SMEs: registration and eligibility now; the application journey builds on it.

pub mod eligibility;
pub mod model;
pub mod routes;
pub mod store;
