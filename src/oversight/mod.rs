//! What programme admins watch: the audit trail, the email outbox and risk flags.

pub mod risk;
pub mod routes;
