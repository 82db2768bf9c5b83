//! The budget's balances and ledger entries as the API shows them.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::{budget_ledger, budget_pools};
use crate::money::Money;

/// The budget's buckets, in cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Queryable, Selectable)]
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
        }
    }
}

/// A stored ledger row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = budget_ledger)]
pub struct LedgerRow {
    pub id: String,
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
    /// The entry's number: entries are numbered in the order they commit, from 1.
    pub seq: i64,
    /// `adjust`, `reserve`, `commit`, `release_reserved`, `release_committed` or `disburse`.
    #[schema(example = "reserve")]
    pub kind: String,
    /// Positive, except an `adjust` that lowered the total.
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
            amount: crate::money::signed_cents_text(row.amount_cents),
            application_id: row.application_id,
            batch_id: row.batch_id,
            actor_id: row.actor_id,
            occurred_at: row.occurred_at,
        }
    }
}
