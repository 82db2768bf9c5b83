//! What programme admins watch: the budget and its ledger, the audit trail, the email outbox
//! and risk flags.

pub mod budget;
pub mod risk;
pub mod routes;
