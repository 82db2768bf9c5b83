//! Solution vendors: registration now; verification and packages build on it.

pub mod model;
pub mod routes;
pub mod store;
