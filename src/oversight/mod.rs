//! What programme admins watch: the budget and its ledger, the audit trail, the email outbox.
//! Risk flags live in `crate::risk`.

pub mod budget;
pub mod routes;
