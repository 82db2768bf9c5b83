//! The programme itself: target sectors, solution categories, the versioned rules, intake
//! batches and the public figures.

pub mod batches;
pub mod model;
pub mod quoting;
pub mod routes;
pub mod rules;
pub mod store;
