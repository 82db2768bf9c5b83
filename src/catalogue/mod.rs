//! The public, bilingual catalogue: listed packages of approved vendors, with the subsidy an
//! SME would get shown on each.

pub mod cache;
pub mod changes;
pub mod items;
pub mod model;
pub mod query;
pub mod response;
pub mod routes;
pub mod search;
pub mod store;
pub mod terms;
