//! The database: one schema and one connection type over PostgreSQL and embedded SQLite.
//!
//! Every query goes through [`Db::run`], which takes a pooled connection on the blocking thread
//! pool, never on an async worker, and keeps the caller's tracing span.

mod migrations;
mod money;
mod text_column;
pub(crate) use text_column::text_column;
mod pool;
mod prepared;
pub use prepared::{Prepare, Prepared};
pub mod schema;
pub mod statements;
mod target;
pub mod together;

use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, Connection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;

use crate::error::ApiError;

pub use migrations::run_migrations;
pub use pool::{Db, DbPooledConnection, OpenError, PoolState, run_blocking};
pub use target::{Backend, DatabaseTarget, TargetError};

/// A connection to either backend. Queries written against it run on both.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

impl DbConnection {
    /// Which backend this connection talks to, for the few queries that differ.
    pub fn backend(&self) -> Backend {
        match self {
            DbConnection::Pg(_) => Backend::Postgres,
            DbConnection::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// Runs `f` in a transaction that may write.
///
/// On SQLite it begins `IMMEDIATE`, taking the write lock up front: a deferred transaction that
/// reads and then writes fails at once with `SQLITE_BUSY` when another writer holds the lock,
/// whatever the busy timeout, while an immediate one queues behind it. On PostgreSQL it is an
/// ordinary READ COMMITTED transaction, in which guarded `UPDATE … WHERE` statements re-check
/// their condition after waiting for a row lock.
///
/// A connection lost before COMMIT is [`ApiError::ConnectionLost`] (nothing was written; the
/// work may run again). One lost during COMMIT leaves the outcome unknown, so it is
/// [`ApiError::Unavailable`], which nothing retries.
pub fn write_transaction<T, F>(conn: &mut DbConnection, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError>,
{
    type Manager = <DbConnection as Connection>::TransactionManager;
    match conn {
        DbConnection::Pg(_) => Manager::begin_transaction(conn)?,
        DbConnection::Sqlite(inner) => {
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?
        }
    }
    match f(conn) {
        Ok(value) => match Manager::commit_transaction(conn) {
            Ok(()) => Ok(value),
            Err(e) => match ApiError::from(e) {
                ApiError::ConnectionLost(cause) => Err(ApiError::Unavailable(
                    cause.context("the connection was lost during COMMIT"),
                )),
                other => Err(other),
            },
        },
        Err(e) => {
            // A rollback on a lost connection fails too; the first error is the one to report.
            if let Err(rollback) = Manager::rollback_transaction(conn) {
                tracing::debug!(error = %rollback, "rollback failed");
            }
            Err(e)
        }
    }
}

/// Runs `f` in a read-only transaction that sees one snapshot throughout, so that a report's
/// several queries agree with each other: `REPEATABLE READ READ ONLY` on PostgreSQL; on SQLite
/// (WAL) a deferred transaction reads one snapshot from its first read.
pub fn read_snapshot<T, F>(conn: &mut DbConnection, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError>,
{
    type Manager = <DbConnection as Connection>::TransactionManager;
    match conn {
        DbConnection::Pg(inner) => AnsiTransactionManager::begin_transaction_sql(
            inner,
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        )?,
        DbConnection::Sqlite(inner) => {
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN")?
        }
    }
    let result = f(conn);
    // Nothing was written: ending the transaction either way is the same.
    if let Err(e) = Manager::rollback_transaction(conn) {
        tracing::debug!(error = %e, "ending a read transaction failed");
    }
    result
}

/// Serialises the transactions that check-then-insert intake batches (no overlapping windows):
/// a transaction-scoped advisory lock on PostgreSQL; SQLite's write transactions are already
/// serial.
pub fn lock_for_schedule(conn: &mut DbConnection) -> diesel::QueryResult<()> {
    use diesel::RunQueryDsl;
    if let DbConnection::Pg(_) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(7215001)").execute(conn)?;
    }
    Ok(())
}

/// Locks row `id` of `table` until the transaction ends: `SELECT … FOR UPDATE` on PostgreSQL.
/// A no-op on SQLite, whose write transactions (`BEGIN IMMEDIATE`) already hold the database.
///
/// `table` is one of ours, never input. Take locks in the order `src/budget/mod.rs` gives.
pub fn lock_row(conn: &mut DbConnection, table: &'static str, id: &str) -> diesel::QueryResult<()> {
    use diesel::RunQueryDsl;
    if let DbConnection::Pg(_) = conn {
        diesel::sql_query(format!("SELECT 1 FROM {table} WHERE id = $1 FOR UPDATE"))
            .bind::<diesel::sql_types::Text, _>(id)
            .execute(conn)?;
    }
    Ok(())
}

/// Serialises the transactions that check, then claim, the name `key` in `namespace` (a
/// transaction-scoped advisory lock on PostgreSQL; SQLite's write transactions are serial).
pub fn lock_name(
    conn: &mut DbConnection,
    namespace: &'static str,
    key: &str,
) -> diesel::QueryResult<()> {
    use diesel::RunQueryDsl;
    if let DbConnection::Pg(_) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))")
            .bind::<diesel::sql_types::Text, _>(namespace)
            .bind::<diesel::sql_types::Text, _>(key)
            .execute(conn)?;
    }
    Ok(())
}

/// How many times [`with_retries`] runs a transaction that keeps meeting contention.
pub const MAX_ATTEMPTS: u32 = 5;

/// Runs `attempt` (a whole transaction) again while it fails with [`ApiError::Busy`]
/// (a serialization failure, a deadlock, a guarded balance that moved meanwhile), at most
/// [`MAX_ATTEMPTS`] times with a short jittered pause; then the last error stands (a 503).
/// Call it on a blocking thread, inside [`Db::run`].
pub fn with_retries<T>(mut attempt: impl FnMut() -> Result<T, ApiError>) -> Result<T, ApiError> {
    let mut tries = 0;
    loop {
        tries += 1;
        match attempt() {
            Err(ApiError::Busy(cause)) if tries < MAX_ATTEMPTS => {
                tracing::debug!(
                    error = format!("{cause:#}"),
                    tries,
                    "retrying a transaction"
                );
                let jitter = u64::from(uuid::Uuid::new_v4().as_u128() as u8 % 8);
                std::thread::sleep(Duration::from_millis(u64::from(tries) * 4 + jitter));
            }
            other => return other,
        }
    }
}

/// How long a request waits for a pooled connection before answering 503.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long SQLite waits for another writer's lock before giving up.
pub const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
