//! Solution vendors: registration, their own profile, and admin verification.

pub mod admin_routes;
pub mod model;
pub mod routes;
pub mod store;
pub mod workflow;
