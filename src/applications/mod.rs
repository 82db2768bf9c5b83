//! Applications: an SME's request for the subsidy on a confirmed enquiry, from reservation
//! (or the waitlist) through approval, delivery, claim and disbursement, or release.

pub mod admin_routes;
pub mod apply;
pub mod emails;
pub mod expiry;
pub mod model;
pub mod routes;
pub mod store;
pub mod transitions;
pub mod waitlist;
pub mod workflow;
