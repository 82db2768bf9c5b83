//! The programme budget: the one place money moves.
//!
//! Every movement is a guarded, relative `UPDATE` (`SET available = available - x WHERE
//! available >= x`), never a balance read into Rust and written back, followed by an
//! append-only ledger row, in the caller's transaction. CHECK constraints on every balance back
//! the guards, so even a bug cannot overdraw. Lock order, everywhere: application, SME, budget
//! pool, intake batch; the hottest lock (the pool) is taken as late as possible, so that it is
//! held for the shortest time.

pub mod model;
pub mod routes;
pub mod store;
pub mod waitlist;

pub use store::POOL;
