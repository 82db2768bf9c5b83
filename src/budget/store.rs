//! Guarded money movements and the ledger. Every function runs in the caller's transaction;
//! a guard that does not hold leaves the balances untouched and says so.

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable};

use super::model::{Balances, EntryKind, LedgerRow};
use crate::db::DbConnection;
use crate::db::schema::{budget_ledger, budget_pools, intake_batches, smes};
use crate::money::Money;

/// Why a money movement failed. A guard that does not hold where the application's status says
/// the money is means the books disagree with the applications: a bug, never the caller's
/// fault.
#[derive(Debug, thiserror::Error)]
pub enum BudgetError {
    #[error("books out of step: {0}")]
    OutOfStep(&'static str),
    #[error("no money moves from {from:?} to {to:?}")]
    NoSuchMove { from: Bucket, to: Bucket },
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// The id of the programme's budget pool.
pub const POOL: &str = "programme";

/// Who or what moved the money, and for which application and batch.
#[derive(Debug, Clone, Copy)]
pub struct Movement<'a> {
    pub application_id: &'a str,
    pub batch_id: &'a str,
    pub amount: Money,
    /// `None` for the system (expiry, a promotion caused by someone else's release).
    pub actor_id: Option<&'a str>,
}

/// The balances now.
pub fn balances(conn: &mut DbConnection) -> QueryResult<Balances> {
    budget_pools::table
        .find(POOL)
        .select(Balances::as_select())
        .first(conn)
}

/// Locks the SME's row and returns what its applications hold of its cap.
pub fn lock_sme(conn: &mut DbConnection, sme_id: &str) -> QueryResult<i64> {
    crate::db::lock_row(conn, "smes", sme_id)?;
    smes::table
        .find(sme_id)
        .select(smes::subsidy_held_cents)
        .first(conn)
}

/// Locks the pool and returns its balances; every movement of money waits for the caller's
/// commit from here on.
pub fn lock_pool(conn: &mut DbConnection) -> QueryResult<Balances> {
    crate::db::lock_row(conn, "budget_pools", POOL)?;
    balances(conn)
}

/// One ledger row to append.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub kind: EntryKind,
    /// Signed only for `adjust`.
    pub amount_cents: i64,
    pub application_id: Option<&'a str>,
    pub batch_id: Option<&'a str>,
    pub actor_id: Option<&'a str>,
    /// By this instance's clock; the ledger's order is `seq`, not this.
    pub occurred_at: chrono::NaiveDateTime,
}

impl Movement<'_> {
    /// The ledger row of this movement, dated now.
    fn entry(&self, kind: EntryKind) -> Entry<'_> {
        Entry {
            kind,
            amount_cents: self.amount.cents(),
            application_id: Some(self.application_id),
            batch_id: Some(self.batch_id),
            actor_id: self.actor_id,
            occurred_at: crate::time::now(),
        }
    }
}

/// Appends a ledger row, numbered by the pool's counter. The counter's UPDATE locks the pool
/// row until commit, so entries commit in number order whatever their clocks say: paging
/// forward by number never skips one.
pub fn append(conn: &mut DbConnection, entry: &Entry<'_>) -> QueryResult<()> {
    diesel::update(budget_pools::table.find(POOL))
        .set(budget_pools::ledger_seq.eq(budget_pools::ledger_seq + 1))
        .execute(conn)?;
    let seq: i64 = budget_pools::table
        .find(POOL)
        .select(budget_pools::ledger_seq)
        .first(conn)?;
    diesel::insert_into(budget_ledger::table)
        .values((
            budget_ledger::id.eq(uuid::Uuid::new_v4().to_string()),
            budget_ledger::pool_id.eq(POOL),
            budget_ledger::kind.eq(entry.kind.as_str()),
            budget_ledger::amount_cents.eq(entry.amount_cents),
            budget_ledger::application_id.eq(entry.application_id),
            budget_ledger::batch_id.eq(entry.batch_id),
            budget_ledger::actor_id.eq(entry.actor_id),
            budget_ledger::occurred_at.eq(entry.occurred_at),
            budget_ledger::seq.eq(seq),
        ))
        .execute(conn)?;
    Ok(())
}

/// Holds `amount` of an SME's cap `cap`; false when it would exceed the cap.
pub fn hold_sme_cap(
    conn: &mut DbConnection,
    sme_id: &str,
    amount: Money,
    cap: Money,
) -> QueryResult<bool> {
    let (amount_cents, cap_cents) = (amount.cents(), cap.cents());
    let held = diesel::update(
        smes::table
            .find(sme_id)
            .filter((smes::subsidy_held_cents + amount_cents).le(cap_cents)),
    )
    .set(smes::subsidy_held_cents.eq(smes::subsidy_held_cents + amount_cents))
    .execute(conn)?;
    Ok(held == 1)
}

/// Gives `amount` of an SME's cap back.
pub fn release_sme_cap(
    conn: &mut DbConnection,
    sme_id: &str,
    amount: Money,
) -> Result<(), BudgetError> {
    let amount_cents = amount.cents();
    let released = diesel::update(
        smes::table
            .find(sme_id)
            .filter(smes::subsidy_held_cents.ge(amount_cents)),
    )
    .set(smes::subsidy_held_cents.eq(smes::subsidy_held_cents - amount_cents))
    .execute(conn)?;
    expect_one(
        released,
        "the SME's held subsidy is below the amount released",
    )
}

/// Takes `amount_cents` of a batch's quota; true without touching the row when the batch has
/// no quota. False when the quota cannot take it.
fn take_quota(conn: &mut DbConnection, batch_id: &str, amount_cents: i64) -> QueryResult<bool> {
    let quota: Option<i64> = intake_batches::table
        .find(batch_id)
        .select(intake_batches::quota_cents)
        .first(conn)?;
    let Some(quota) = quota else { return Ok(true) };
    let taken = diesel::update(
        intake_batches::table
            .find(batch_id)
            .filter((intake_batches::used_cents + amount_cents).le(quota)),
    )
    .set(intake_batches::used_cents.eq(intake_batches::used_cents + amount_cents))
    .execute(conn)?;
    Ok(taken == 1)
}

/// Gives `amount_cents` back to a batch's quota (nothing to do without a quota).
fn return_quota(
    conn: &mut DbConnection,
    batch_id: &str,
    amount_cents: i64,
) -> Result<(), BudgetError> {
    diesel::update(
        intake_batches::table
            .find(batch_id)
            .filter(intake_batches::quota_cents.is_not_null()),
    )
    .set(intake_batches::used_cents.eq(intake_batches::used_cents - amount_cents))
    .execute(conn)?;
    Ok(())
}

/// How a reservation went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    Reserved,
    /// The programme budget's available balance is below the amount.
    BudgetShort,
    /// The batch's quota cannot take the amount.
    QuotaShort,
}

/// Moves `amount` from available to reserved in the pool and takes it from the batch quota:
/// both or neither.
pub fn reserve(conn: &mut DbConnection, m: Movement<'_>) -> Result<Reservation, BudgetError> {
    let amount = m.amount.cents();
    let moved = diesel::update(
        budget_pools::table
            .find(POOL)
            .filter(budget_pools::available_cents.ge(amount)),
    )
    .set((
        budget_pools::available_cents.eq(budget_pools::available_cents - amount),
        budget_pools::reserved_cents.eq(budget_pools::reserved_cents + amount),
        budget_pools::updated_at.eq(crate::time::now()),
    ))
    .execute(conn)?;
    if moved != 1 {
        return Ok(Reservation::BudgetShort);
    }
    if !take_quota(conn, m.batch_id, amount)? {
        // Undo the pool's move with the opposite relative update; nothing was logged yet.
        move_between(conn, Bucket::Reserved, Bucket::Available, amount)?;
        return Ok(Reservation::QuotaShort);
    }
    append(conn, &m.entry(EntryKind::Reserve))?;
    Ok(Reservation::Reserved)
}

/// Turns a reservation into a commitment (an approval).
pub fn commit(conn: &mut DbConnection, m: Movement<'_>) -> Result<(), BudgetError> {
    move_between(conn, Bucket::Reserved, Bucket::Committed, m.amount.cents())?;
    append(conn, &m.entry(EntryKind::Commit))?;
    Ok(())
}

/// Pays a commitment out.
pub fn disburse(conn: &mut DbConnection, m: Movement<'_>) -> Result<(), BudgetError> {
    move_between(conn, Bucket::Committed, Bucket::Disbursed, m.amount.cents())?;
    append(conn, &m.entry(EntryKind::Disburse))?;
    Ok(())
}

/// Returns reserved or committed money to available and to the batch quota.
pub fn release(conn: &mut DbConnection, from: Bucket, m: Movement<'_>) -> Result<(), BudgetError> {
    let kind = match from {
        Bucket::Reserved => EntryKind::ReleaseReserved,
        Bucket::Committed => EntryKind::ReleaseCommitted,
        other => {
            return Err(BudgetError::NoSuchMove {
                from: other,
                to: Bucket::Available,
            });
        }
    };
    move_between(conn, from, Bucket::Available, m.amount.cents())?;
    return_quota(conn, m.batch_id, m.amount.cents())?;
    append(conn, &m.entry(kind))?;
    Ok(())
}

/// Changes the total by `delta_cents` (a rules change); false when it would take more than is
/// available, i.e. cut into money already reserved, committed or disbursed.
pub fn adjust_total(
    conn: &mut DbConnection,
    delta_cents: i64,
    actor_id: &str,
) -> Result<bool, BudgetError> {
    if delta_cents == 0 {
        return Ok(true);
    }
    let moved = diesel::update(
        budget_pools::table
            .find(POOL)
            .filter((budget_pools::available_cents + delta_cents).ge(0)),
    )
    .set((
        budget_pools::total_cents.eq(budget_pools::total_cents + delta_cents),
        budget_pools::available_cents.eq(budget_pools::available_cents + delta_cents),
        budget_pools::updated_at.eq(crate::time::now()),
    ))
    .execute(conn)?;
    if moved != 1 {
        return Ok(false);
    }
    append(
        conn,
        &Entry {
            kind: EntryKind::Adjust,
            amount_cents: delta_cents,
            application_id: None,
            batch_id: None,
            actor_id: Some(actor_id),
            occurred_at: crate::time::now(),
        },
    )?;
    Ok(true)
}

/// A bucket of the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    Available,
    Reserved,
    Committed,
    Disbursed,
}

/// Moves `amount` from one bucket to another, guarded on the source's balance; a failed guard
/// means the books disagree with the application, which is a bug, so it is a 500.
fn move_between(
    conn: &mut DbConnection,
    from: Bucket,
    to: Bucket,
    amount: i64,
) -> Result<(), BudgetError> {
    use budget_pools::dsl as b;
    let target = budget_pools::table.find(POOL);
    let now = crate::time::now();
    // Each arm names its columns: diesel's column types differ, so no shared helper.
    macro_rules! shift {
        ($from:ident, $to:ident) => {
            diesel::update(target.filter(b::$from.ge(amount)))
                .set((
                    b::$from.eq(b::$from - amount),
                    b::$to.eq(b::$to + amount),
                    b::updated_at.eq(now),
                ))
                .execute(conn)?
        };
    }
    let moved = match (from, to) {
        (Bucket::Reserved, Bucket::Available) => shift!(reserved_cents, available_cents),
        (Bucket::Reserved, Bucket::Committed) => shift!(reserved_cents, committed_cents),
        (Bucket::Committed, Bucket::Available) => shift!(committed_cents, available_cents),
        (Bucket::Committed, Bucket::Disbursed) => shift!(committed_cents, disbursed_cents),
        (from, to) => return Err(BudgetError::NoSuchMove { from, to }),
    };
    expect_one(moved, "the budget bucket holds less than the amount moved")
}

fn expect_one(rows: usize, what: &'static str) -> Result<(), BudgetError> {
    if rows == 1 {
        Ok(())
    } else {
        Err(BudgetError::OutOfStep(what))
    }
}

/// Ledger entries in order of commit, after entry number `after`.
pub fn ledger(
    conn: &mut DbConnection,
    after: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<LedgerRow>> {
    budget_ledger::table
        .select(LedgerRow::as_select())
        .filter(budget_ledger::seq.gt(after.unwrap_or(0)))
        .order(budget_ledger::seq)
        .limit(limit + 1)
        .load(conn)
}

/// The ledger summed by kind: what each kind of movement amounts to, in cents.
pub fn ledger_sums(conn: &mut DbConnection) -> QueryResult<Vec<(String, i64)>> {
    let rows: Vec<(String, Option<i64>)> = budget_ledger::table
        .group_by(budget_ledger::kind)
        .select((
            budget_ledger::kind,
            sql::<Nullable<BigInt>>("CAST(SUM(amount_cents) AS BIGINT)"),
        ))
        .load(conn)?;
    Ok(rows.into_iter().map(|(k, s)| (k, s.unwrap_or(0))).collect())
}
