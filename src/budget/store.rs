//! Guarded money movements and the ledger. Every function runs in the caller's transaction;
//! a guard that does not hold leaves the balances untouched and says so.

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use super::model::{Balances, EntryKind, LedgerRow};
use crate::db::schema::{budget_ledger, budget_pools, intake_batches, smes};
use crate::db::together::{self, Write};
use crate::db::{Backend, DbConnection, Prepare};
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
    /// A newcomer's escrow shard was drained between its read and its reservation: contention,
    /// for the transaction to run again ([`super::escrow::place_newcomer`]).
    #[error("the escrow shard was drained by a concurrent reservation")]
    ShardDrained,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// The id of the programme's root budget row; its escrow shards are `programme/NN`
/// ([`super::escrow`]).
pub const POOL: &str = "programme";

/// Who or what moved the money, for which application and batch, and on which budget row.
#[derive(Debug, Clone, Copy)]
pub struct Movement<'a> {
    pub application_id: &'a str,
    pub batch_id: &'a str,
    pub amount: Money,
    /// `None` for the system (expiry, a promotion caused by someone else's release).
    pub actor_id: Option<&'a str>,
    /// The budget row holding the application's money: [`POOL`] or an escrow shard
    /// ([`pool_of`]).
    pub pool: &'a str,
}

/// The programme's balances now: the sums over its budget rows.
pub fn balances(conn: &mut DbConnection) -> QueryResult<Balances> {
    diesel::sql_query(
        "SELECT CAST(SUM(total_cents) AS BIGINT) AS total_cents, \
         CAST(SUM(available_cents) AS BIGINT) AS available_cents, \
         CAST(SUM(reserved_cents) AS BIGINT) AS reserved_cents, \
         CAST(SUM(committed_cents) AS BIGINT) AS committed_cents, \
         CAST(SUM(disbursed_cents) AS BIGINT) AS disbursed_cents FROM budget_pools",
    )
    .prepared()
    .get_result(conn)
}

#[derive(QueryableByName)]
struct Cents {
    #[diesel(sql_type = BigInt)]
    cents: i64,
}

/// Locks the root budget row and returns its available balance; every movement of the root's
/// money waits for the caller's commit from here on.
pub fn lock_root(conn: &mut DbConnection) -> QueryResult<i64> {
    let lock = for_update(conn);
    let row: Cents = diesel::sql_query(format!(
        "SELECT available_cents AS cents FROM budget_pools WHERE id = $1{lock}"
    ))
    .bind::<Text, _>(POOL)
    .prepared()
    .get_result(conn)?;
    Ok(row.cents)
}

/// ` FOR UPDATE` on PostgreSQL; nothing on SQLite, whose write transactions hold the database.
pub(super) fn for_update(conn: &DbConnection) -> &'static str {
    match conn.backend() {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    }
}

/// One ledger row to append.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub kind: EntryKind,
    /// Signed only for `adjust` and `transfer`.
    pub amount_cents: i64,
    /// The budget row whose buckets the entry changes.
    pub pool_id: &'a str,
    pub application_id: Option<&'a str>,
    pub batch_id: Option<&'a str>,
    pub actor_id: Option<&'a str>,
    /// By this instance's clock; the ledger's order is `seq`, not this.
    pub occurred_at: chrono::NaiveDateTime,
}

impl<'a> Movement<'a> {
    /// The ledger row of this movement, dated now.
    fn entry(&self, kind: EntryKind) -> Entry<'a> {
        Entry {
            kind,
            amount_cents: self.amount.cents(),
            pool_id: self.pool,
            application_id: Some(self.application_id),
            batch_id: Some(self.batch_id),
            actor_id: self.actor_id,
            occurred_at: crate::time::now(),
        }
    }
}

/// Appends a ledger row. On PostgreSQL it is not numbered yet (`seq` 0): [`number_entries`]
/// numbers it once it has committed, so no movement of money waits on a ledger counter. On
/// SQLite, whose writers are serial, it takes the next number at once: numbers are then in
/// commit order, and reading the ledger stays a read.
pub fn append(conn: &mut DbConnection, entry: &Entry<'_>) -> QueryResult<()> {
    together::execute(conn, appending(conn.backend(), entry))?;
    Ok(())
}

/// The statement [`append`] runs, to send with others
/// ([`Together`](crate::db::together::Together)); it owns its values, so it may outlive `entry`.
pub fn appending(backend: Backend, entry: &Entry<'_>) -> impl Write + use<> {
    let seq = match backend {
        Backend::Postgres => "0",
        Backend::Sqlite => "(SELECT COALESCE(MAX(seq), 0) + 1 FROM budget_ledger WHERE seq > 0)",
    };
    diesel::insert_into(budget_ledger::table).values((
        budget_ledger::id.eq(uuid::Uuid::new_v4().to_string()),
        budget_ledger::pool_id.eq(entry.pool_id.to_owned()),
        budget_ledger::kind.eq(entry.kind.as_str()),
        budget_ledger::amount_cents.eq(entry.amount_cents),
        budget_ledger::application_id.eq(entry.application_id.map(str::to_owned)),
        budget_ledger::batch_id.eq(entry.batch_id.map(str::to_owned)),
        budget_ledger::actor_id.eq(entry.actor_id.map(str::to_owned)),
        budget_ledger::occurred_at.eq(entry.occurred_at),
        budget_ledger::seq.eq(sql::<BigInt>(seq)),
    ))
}

/// Whether reading the ledger by number must first number entries ([`number_entries`]): on
/// PostgreSQL, where entries are numbered after they commit.
pub fn numbers_after_commit(backend: Backend) -> bool {
    backend == Backend::Postgres
}

/// Numbers the committed entries not yet numbered, after every entry numbered before them, in
/// the order of their clocks. Numberers queue on one lock (an advisory lock on PostgreSQL;
/// SQLite's writers are serial), and an entry is numbered only once it is visible, that is
/// committed: so a reader that numbers, then pages forward by number, never skips an entry,
/// however late it committed. Run it in a write transaction before reading the ledger by number.
pub fn number_entries(conn: &mut DbConnection) -> QueryResult<()> {
    if !numbers_after_commit(conn.backend()) {
        return Ok(());
    }
    crate::db::lock_name(conn, "budget_ledger", "numbering")?;
    let last: Cents = diesel::sql_query(
        "SELECT CAST(COALESCE(MAX(seq), 0) AS BIGINT) AS cents FROM budget_ledger WHERE seq > 0",
    )
    .prepared()
    .get_result(conn)?;
    diesel::sql_query(
        "UPDATE budget_ledger SET seq = numbered.n + $1 \
         FROM (SELECT id, row_number() OVER (ORDER BY occurred_at, id) AS n \
               FROM budget_ledger WHERE seq = 0) AS numbered \
         WHERE budget_ledger.id = numbered.id",
    )
    .bind::<BigInt, _>(last.cents)
    .prepared()
    .execute(conn)?;
    Ok(())
}

/// Holds `amount` of an SME's cap `cap`: a statement to send with others
/// ([`Together`](crate::db::together::Together)), which changes no row when the hold would
/// exceed the cap.
pub fn hold_sme_cap(sme_id: &str, amount: Money, cap: Money) -> impl Write + '_ {
    let (amount_cents, cap_cents) = (amount.cents(), cap.cents());
    diesel::update(
        smes::table
            .find(sme_id)
            .filter((smes::subsidy_held_cents + amount_cents).le(cap_cents)),
    )
    .set(smes::subsidy_held_cents.eq(smes::subsidy_held_cents + amount_cents))
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
    .prepared()
    .execute(conn)?;
    expect_one(
        released,
        "the SME's held subsidy is below the amount released",
    )
}

/// What a reservation knows of its batch's quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quota {
    /// Nothing yet: the reservation reads it.
    Unread,
    /// As the caller read it earlier in the same transaction (`None`: the batch has none).
    Read(Option<i64>),
}

/// Takes `amount_cents` of a batch's quota; true without touching the row when the batch has
/// no quota. False when the quota cannot take it.
fn take_quota(
    conn: &mut DbConnection,
    batch_id: &str,
    amount_cents: i64,
    quota: Quota,
) -> QueryResult<bool> {
    let quota: Option<i64> = match quota {
        Quota::Read(quota) => quota,
        Quota::Unread => intake_batches::table
            .find(batch_id)
            .select(intake_batches::quota_cents)
            .first(conn)?,
    };
    let Some(quota) = quota else { return Ok(true) };
    let taken = diesel::update(
        intake_batches::table
            .find(batch_id)
            .filter((intake_batches::used_cents + amount_cents).le(quota)),
    )
    .set(intake_batches::used_cents.eq(intake_batches::used_cents + amount_cents))
    .prepared()
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
    .prepared()
    .execute(conn)?;
    Ok(())
}

/// How a reservation went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    Reserved,
    /// The budget row's available balance is below the amount.
    BudgetShort,
    /// The batch's quota cannot take the amount.
    QuotaShort,
}

/// Moves `amount_cents` from available to reserved on budget row `pool_id` and takes it from
/// batch `batch_id`'s quota: both or neither. Writes no ledger entry: the caller appends the
/// `reserve` entry once the application's row exists.
pub(super) fn take(
    conn: &mut DbConnection,
    pool_id: &str,
    batch_id: &str,
    amount_cents: i64,
    quota: Quota,
) -> Result<Reservation, BudgetError> {
    let moved = together::execute(conn, taking(pool_id.to_owned(), amount_cents))?;
    if moved != 1 {
        return Ok(Reservation::BudgetShort);
    }
    if !take_quota(conn, batch_id, amount_cents, quota)? {
        // Undo the row's move with the opposite relative update; nothing was logged.
        move_between(
            conn,
            pool_id,
            Bucket::Reserved,
            Bucket::Available,
            amount_cents,
        )?;
        return Ok(Reservation::QuotaShort);
    }
    Ok(Reservation::Reserved)
}

/// The guarded update of [`take`] on budget row `pool_id`, without the batch's quota: it changes
/// no row when the row's available money is short. To send with other writes
/// ([`Together`](crate::db::together::Together)) where the batch has no quota.
pub(super) fn taking(pool_id: String, amount_cents: i64) -> impl Write {
    diesel::update(
        budget_pools::table
            .filter(budget_pools::id.eq(pool_id))
            .filter(budget_pools::available_cents.ge(amount_cents)),
    )
    .set((
        budget_pools::available_cents.eq(budget_pools::available_cents - amount_cents),
        budget_pools::reserved_cents.eq(budget_pools::reserved_cents + amount_cents),
        budget_pools::updated_at.eq(crate::time::now()),
    ))
}

/// Moves `amount` from available to reserved on the movement's budget row and takes it from
/// the batch quota, both or neither, and logs it.
pub fn reserve(conn: &mut DbConnection, m: Movement<'_>) -> Result<Reservation, BudgetError> {
    let taken = take(conn, m.pool, m.batch_id, m.amount.cents(), Quota::Unread)?;
    if taken == Reservation::Reserved {
        append(conn, &m.entry(EntryKind::Reserve))?;
    }
    Ok(taken)
}

/// The budget row holding application `application_id`'s money: the row its `reserve` entry
/// names (an application is reserved once at most; its money stays there until released).
pub fn pool_of(conn: &mut DbConnection, application_id: &str) -> QueryResult<String> {
    budget_ledger::table
        .filter(budget_ledger::application_id.eq(application_id))
        .filter(budget_ledger::kind.eq(EntryKind::Reserve.as_str()))
        .select(budget_ledger::pool_id)
        .first(conn)
}

/// Logs a reservation [`take`] made for an application whose row is written beside it: a
/// statement to send with the row ([`Together`](crate::db::together::Together)).
pub fn log_reservation(backend: Backend, m: Movement<'_>) -> impl Write + use<> {
    appending(backend, &m.entry(EntryKind::Reserve))
}

/// Turns a reservation into a commitment (an approval), on the application's budget row.
pub fn commit(conn: &mut DbConnection, m: Movement<'_>) -> Result<(), BudgetError> {
    move_between(
        conn,
        m.pool,
        Bucket::Reserved,
        Bucket::Committed,
        m.amount.cents(),
    )?;
    append(conn, &m.entry(EntryKind::Commit))?;
    Ok(())
}

/// Pays a commitment out.
pub fn disburse(conn: &mut DbConnection, m: Movement<'_>) -> Result<(), BudgetError> {
    move_between(
        conn,
        m.pool,
        Bucket::Committed,
        Bucket::Disbursed,
        m.amount.cents(),
    )?;
    append(conn, &m.entry(EntryKind::Disburse))?;
    Ok(())
}

/// Returns reserved or committed money to available and to the batch quota. Money released on
/// a shard goes on to the root, where the waitlist is promoted from: the root is locked first,
/// in the lock order of `src/budget/mod.rs`.
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
    let amount = m.amount.cents();
    let on_shard = m.pool != POOL;
    if on_shard {
        lock_root(conn)?;
    }
    move_between(conn, m.pool, from, Bucket::Available, amount)?;
    return_quota(conn, m.batch_id, amount)?;
    append(conn, &m.entry(kind))?;
    if on_shard && !transfer(conn, m.pool, POOL, amount, 0, m.actor_id)? {
        return Err(BudgetError::OutOfStep(
            "the shard's released money is no longer available",
        ));
    }
    Ok(())
}

/// Moves `amount_cents` of available money from budget row `from` to row `to`, keeping at least
/// `keep_cents` available on `from`: both rows' totals change with it, and two `transfer`
/// entries (−amount on `from`, +amount on `to`) log it. False, with nothing moved, when `from`
/// has too little.
pub(super) fn transfer(
    conn: &mut DbConnection,
    from: &str,
    to: &str,
    amount_cents: i64,
    keep_cents: i64,
    actor_id: Option<&str>,
) -> Result<bool, BudgetError> {
    use budget_pools::dsl as b;
    let now = crate::time::now();
    let taken = diesel::update(
        budget_pools::table
            .find(from)
            .filter(b::available_cents.ge(amount_cents.saturating_add(keep_cents))),
    )
    .set((
        b::available_cents.eq(b::available_cents - amount_cents),
        b::total_cents.eq(b::total_cents - amount_cents),
        b::updated_at.eq(now),
    ))
    .prepared()
    .execute(conn)?;
    if taken != 1 {
        return Ok(false);
    }
    let given = diesel::update(budget_pools::table.find(to))
        .set((
            b::available_cents.eq(b::available_cents + amount_cents),
            b::total_cents.eq(b::total_cents + amount_cents),
            b::updated_at.eq(now),
        ))
        .prepared()
        .execute(conn)?;
    expect_one(given, "the budget row a transfer goes to does not exist")?;
    for (pool_id, signed) in [(from, -amount_cents), (to, amount_cents)] {
        append(
            conn,
            &Entry {
                kind: EntryKind::Transfer,
                amount_cents: signed,
                pool_id,
                application_id: None,
                batch_id: None,
                actor_id,
                occurred_at: now,
            },
        )?;
    }
    Ok(true)
}

/// Changes the total by `delta_cents` (a rules change), on the root; false when it would take
/// more than is available, i.e. cut into money already reserved, committed or disbursed. A cut
/// that the root alone cannot take first gathers the shards' available money into the root.
pub fn adjust_total(
    conn: &mut DbConnection,
    delta_cents: i64,
    actor_id: &str,
) -> Result<bool, BudgetError> {
    if delta_cents == 0 {
        return Ok(true);
    }
    let root_available = lock_root(conn)?;
    if root_available.saturating_add(delta_cents) < 0 {
        super::escrow::gather(conn, Some(actor_id))?;
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
    .prepared()
    .execute(conn)?;
    if moved != 1 {
        return Ok(false);
    }
    append(
        conn,
        &Entry {
            kind: EntryKind::Adjust,
            amount_cents: delta_cents,
            pool_id: POOL,
            application_id: None,
            batch_id: None,
            actor_id: Some(actor_id),
            occurred_at: crate::time::now(),
        },
    )?;
    Ok(true)
}

/// A bucket of a budget row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    Available,
    Reserved,
    Committed,
    Disbursed,
}

/// Moves `amount` from one bucket to another of budget row `pool_id`, guarded on the source's
/// balance; a failed guard means the books disagree with the application, which is a bug, so
/// it is a 500.
fn move_between(
    conn: &mut DbConnection,
    pool_id: &str,
    from: Bucket,
    to: Bucket,
    amount: i64,
) -> Result<(), BudgetError> {
    use budget_pools::dsl as b;
    let target = budget_pools::table.find(pool_id);
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
                .prepared()
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

/// Numbered ledger entries in number order, after entry number `after`; number the committed
/// ones first ([`number_entries`]), in the same transaction.
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
