//! Programme reference data: target sectors, solution categories and the versioned rules.

pub mod model;
pub mod store;
