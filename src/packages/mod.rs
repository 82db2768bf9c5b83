//! Solution packages: vendors' drafts, the review workflow with revisions, and the rules a
//! package must meet.

pub mod admin_routes;
pub mod listing;
pub mod model;
pub mod routes;
pub mod rules;
pub mod store;
pub mod transitions;
pub mod workflow;
