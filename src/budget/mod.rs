//! The programme budget: the one place money moves.
//!
//! Every movement is a guarded, relative `UPDATE` (`SET available = available - x WHERE
//! available >= x`), never a balance read into Rust and written back, followed by an
//! append-only ledger row, in the caller's transaction. CHECK constraints on every balance back
//! the guards, so even a bug cannot overdraw.
//!
//! # Lock order
//!
//! Every transaction that moves money takes its row locks in this one order:
//!
//! 1. the application (its guarded status update);
//! 2. the SME (its held cap: a newcomer's `applications::waitlist::lock_newcomer`, whose
//!    [`store::hold_sme_cap`] is written last, on the row it locked; [`store::release_sme_cap`]);
//! 3. the root budget row ([`store::lock_root`] or the first guarded update of it);
//! 4. the escrow shard rows ([`escrow`]), in order of id;
//! 5. the intake batch (its quota).
//!
//! The budget rows come late because they are the hottest: a newcomer that reserves on its
//! shard locks that shard and the batch only, never the root; the root is locked to refill a
//! shard, to gather the shards back, and on the global path near exhaustion. Two exceptions
//! cannot deadlock: a release's waitlist promotion locks the waiting applications after the
//! root, but with `SKIP LOCKED`, so it never waits for them; and a newcomer's application row
//! is new, so nobody else can hold it. One can: a newcomer's guarded update of its shard that
//! fails after waiting for a concurrent writer keeps that row locked (PostgreSQL's re-check
//! locks it) before the newcomer locks the root to refill; PostgreSQL then aborts one side as a
//! deadlock and [`crate::db::with_retries`] runs it again.
//!
//! This module moves money and never imports a slice: who is promoted from the waitlist is
//! decided in `applications::waitlist`.

pub mod escrow;
pub mod model;
pub mod store;

pub use escrow::Sharding;
pub use store::POOL;
