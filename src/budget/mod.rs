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
//! 2. the SME (its held cap: [`store::lock_sme`], [`store::hold_sme_cap`],
//!    [`store::release_sme_cap`]);
//! 3. the budget pool ([`store::lock_pool`] or the first guarded pool update);
//! 4. the intake batch (its quota).
//!
//! The pool comes last because it is the hottest row: every application in the programme
//! serialises on it, so it is held for the shortest time. Two exceptions cannot deadlock: a
//! release's waitlist promotion locks the waiting applications after the pool, but with `SKIP
//! LOCKED`, so it never waits for them; and a newcomer's application row is new, so nobody
//! else can hold it.
//!
//! This module moves money and never imports a slice: who is promoted from the waitlist is
//! decided in `applications::waitlist`.

pub mod model;

pub mod store;

pub use store::POOL;
