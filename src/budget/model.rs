//! The budget's balances and ledger entries as the API shows them.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::{budget_ledger, budget_pools};
use crate::money::Money;

/// The budget's buckets, in cents: the sums over its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
#[diesel(table_name = budget_pools)]
pub struct Balances {
    pub total_cents: i64,
    pub available_cents: i64,
    pub reserved_cents: i64,
    pub committed_cents: i64,
    pub disbursed_cents: i64,
}

/// `GET /admin/budget`: the drawdown now. `available + reserved + committed + disbursed`
/// always equals `total`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BudgetView {
    pub total: Money,
    pub available: Money,
    pub reserved: Money,
    pub committed: Money,
    pub disbursed: Money,
    /// Applications waiting for money, and the subsidy they would take.
    pub waitlisted_count: i64,
    pub waitlisted_amount: Money,
}

/// What a ledger entry does to the buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// The total (and the available balance) changes by the signed amount: a rules change.
    Adjust,
    /// Available to reserved.
    Reserve,
    /// Reserved to committed (an approval).
    Commit,
    /// Reserved back to available.
    ReleaseReserved,
    /// Committed back to available.
    ReleaseCommitted,
    /// Committed to disbursed.
    Disburse,
    /// Available money moved between two budget rows (the root and an escrow shard): one
    /// entry per row, signed, the pair summing to zero; the programme's total is unchanged.
    Transfer,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Adjust => "adjust",
            EntryKind::Reserve => "reserve",
            EntryKind::Commit => "commit",
            EntryKind::ReleaseReserved => "release_reserved",
            EntryKind::ReleaseCommitted => "release_committed",
            EntryKind::Disburse => "disburse",
            EntryKind::Transfer => "transfer",
        }
    }
}

/// A stored ledger row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = budget_ledger)]
pub struct LedgerRow {
    pub id: String,
    pub pool_id: String,
    pub kind: String,
    pub amount_cents: i64,
    pub application_id: Option<String>,
    pub batch_id: Option<String>,
    pub actor_id: Option<String>,
    pub occurred_at: NaiveDateTime,
    pub seq: i64,
}

/// One money movement.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LedgerEntry {
    pub id: String,
    /// The entry's number, from 1: entries are numbered after they commit, each after every
    /// entry numbered before it, so paging forward by number never skips one.
    pub seq: i64,
    /// `adjust`, `reserve`, `commit`, `release_reserved`, `release_committed`, `disburse` or
    /// `transfer` (between the budget's escrow rows).
    #[schema(example = "reserve")]
    pub kind: String,
    /// The budget row the entry changes: `programme` (the root) or an escrow shard
    /// `programme/NN`.
    #[schema(example = "programme")]
    pub pool: String,
    /// Positive, except an `adjust` that lowered the total or the giving side of a `transfer`.
    pub amount: String,
    pub application_id: Option<String>,
    pub batch_id: Option<String>,
    /// The user who caused it; `null` for the system (expiry, promotion by a release).
    pub actor_id: Option<String>,
    #[schema(value_type = String, example = "2026-01-31T09:00:00Z")]
    #[serde(serialize_with = "crate::time::serialize")]
    pub occurred_at: NaiveDateTime,
}

impl From<LedgerRow> for LedgerEntry {
    fn from(row: LedgerRow) -> Self {
        LedgerEntry {
            id: row.id,
            seq: row.seq,
            kind: row.kind,
            pool: row.pool_id,
            amount: crate::money::signed_cents_text(row.amount_cents),
            application_id: row.application_id,
            batch_id: row.batch_id,
            actor_id: row.actor_id,
            occurred_at: row.occurred_at,
        }
    }
}
