//! What programme admins watch: the audit trail and the email outbox.

pub mod routes;
