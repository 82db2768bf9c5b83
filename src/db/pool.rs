//! The connection pool and the one path by which queries run.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::web::Bytes;
use diesel::Connection;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection, Pool, PooledConnection, R2D2Connection};
use diesel::sqlite::SqliteConnection;

use super::{ACQUIRE_TIMEOUT, Backend, DatabaseTarget, DbConnection, SQLITE_BUSY_TIMEOUT};
use crate::error::ApiError;

/// Opens connections for the pool, establishing each through its own backend so that the real
/// error (libpq's, SQLite's) reaches the operator, and preparing SQLite connections.
///
/// It checks a connection on checkout only when the connection may have died unseen: a
/// connection the pool took back less than [`TRUSTED_FOR`] ago, since when no connection was
/// seen lost, is handed out as it is; any other gets a `SELECT 1` first. Under load the pool
/// hands out the connection returned last, so a request saves that round trip, while one that
/// sat idle, or any after a connection was seen lost (a restart, a terminated backend), is
/// still checked. A connection whose statement failed because it was lost is discarded when
/// returned.
#[derive(Debug)]
pub struct ConnectionFactory {
    target: DatabaseTarget,
    trusted_for: Duration,
    /// When a connection was last seen lost.
    last_loss: Mutex<Option<Instant>>,
}

/// How long after its return a connection is handed out without a check.
pub const TRUSTED_FOR: Duration = Duration::from_secs(1);

/// Whether a connection the pool took back at `returned_at` needs a check before it is handed
/// out at `now`, when a connection was last seen lost at `last_loss`.
fn needs_check(
    returned_at: Option<Instant>,
    last_loss: Option<Instant>,
    now: Instant,
    trusted_for: Duration,
) -> bool {
    match returned_at {
        None => true,
        Some(returned) => {
            now.saturating_duration_since(returned) >= trusted_for
                || last_loss.is_some_and(|lost| lost >= returned)
        }
    }
}

impl ConnectionFactory {
    fn establish(&self) -> Result<DbConnection, r2d2::Error> {
        match &self.target {
            DatabaseTarget::Postgres { url } => {
                let mut conn = PgConnection::establish(url)?;
                super::statements::instrument(&mut conn);
                Ok(DbConnection::Pg(conn))
            }
            DatabaseTarget::Sqlite { path } => {
                let path = path.to_string_lossy();
                let mut conn = SqliteConnection::establish(&path)?;
                super::statements::instrument(&mut conn);
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {};
                     PRAGMA journal_mode = WAL;
                     PRAGMA synchronous = NORMAL;
                     PRAGMA foreign_keys = ON;",
                    SQLITE_BUSY_TIMEOUT.as_millis()
                ))?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

impl ManageConnection for ConnectionFactory {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        self.establish()
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        let returned_at = super::statements::watch(conn).and_then(|w| w.returned_at);
        let last_loss = self.last_loss.lock().map(|at| *at).unwrap_or(None);
        if needs_check(returned_at, last_loss, Instant::now(), self.trusted_for) {
            conn.ping().map_err(r2d2::Error::QueryError)
        } else {
            Ok(())
        }
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        let now = Instant::now();
        let lost = match super::statements::watch(conn) {
            Some(watch) => {
                watch.returned_at = Some(now);
                watch.lost
            }
            None => false,
        };
        if lost && let Ok(mut last) = self.last_loss.lock() {
            *last = Some(now);
        }
        lost || std::thread::panicking() || conn.is_broken()
    }
}

/// Sends the pool's connection failures to the log instead of the `log` crate's default sink,
/// and notes when the last one happened.
#[derive(Debug)]
struct TracingErrorHandler(Arc<AcquireFailures>);

impl r2d2::HandleError<r2d2::Error> for TracingErrorHandler {
    fn handle_error(&self, error: r2d2::Error) {
        tracing::warn!(%error, "database connection failed");
        if let Ok(mut last) = self.0.last_connect_failure.lock() {
            *last = Some(Instant::now());
        }
    }
}

/// A pooled connection, for command-line tools and tests that run outside a request.
pub type DbPooledConnection = PooledConnection<ConnectionFactory>;

/// A snapshot of the pool, for the metrics endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolState {
    pub max_size: u32,
    pub connections: u32,
    pub idle_connections: u32,
    /// Requests that found every connection in use until the acquire timeout (answered 503
    /// `busy`), since start.
    pub acquire_busy: u64,
    /// Requests that got no connection because none could be opened (answered 503
    /// `database-unavailable`), since start.
    pub acquire_unavailable: u64,
}

/// Why a request got no connection.
#[derive(Debug, Default)]
struct AcquireFailures {
    busy: AtomicU64,
    unavailable: AtomicU64,
    last_connect_failure: Mutex<Option<Instant>>,
}

impl AcquireFailures {
    /// Whether opening a connection failed within `window`.
    fn connect_failed_within(&self, window: Duration) -> bool {
        self.last_connect_failure
            .lock()
            .map(|last| last.is_some_and(|at| at.elapsed() <= window))
            .unwrap_or(false)
    }
}

/// Why the pool could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot create the directory {path} for the SQLite database: {source}")]
    CreateDirectory {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid pool settings: {0}")]
    Pool(#[from] r2d2::PoolError),
}

/// The application's handle on its database: a pool of connections to one backend.
#[derive(Clone)]
pub struct Db {
    pool: Pool<ConnectionFactory>,
    backend: Backend,
    failures: Arc<AcquireFailures>,
    acquire_timeout: Duration,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.backend)
            .field("pool", &self.state())
            .finish()
    }
}

impl Db {
    /// Sets up a pool of at most `max_size` connections that requests wait for up to
    /// [`ACQUIRE_TIMEOUT`]; see [`Db::open_with`].
    pub fn open(target: &DatabaseTarget, max_size: u32) -> Result<Db, OpenError> {
        Db::open_with(target, max_size, ACQUIRE_TIMEOUT)
    }

    /// Sets up a pool of at most `max_size` connections, for which a request queues up to
    /// `acquire_timeout` (`DTSPP_DB_ACQUIRE_TIMEOUT_MS`). Connections open lazily, so the
    /// service can start (and report itself unready) while the database is down; `migrate` and
    /// `serve` fail fast by running the migrations first.
    pub fn open_with(
        target: &DatabaseTarget,
        max_size: u32,
        acquire_timeout: Duration,
    ) -> Result<Db, OpenError> {
        Db::open_trusting(target, max_size, acquire_timeout, TRUSTED_FOR)
    }

    /// [`Db::open_with`], handing out connections unchecked for `trusted_for` after their
    /// return ([`ConnectionFactory`]).
    fn open_trusting(
        target: &DatabaseTarget,
        max_size: u32,
        acquire_timeout: Duration,
        trusted_for: Duration,
    ) -> Result<Db, OpenError> {
        if let DatabaseTarget::Sqlite { path } = target {
            create_parent_dir(path)?;
        }
        let manager = ConnectionFactory {
            target: target.clone(),
            trusted_for,
            last_loss: Mutex::new(None),
        };
        let failures = Arc::new(AcquireFailures::default());
        let pool = Pool::builder()
            .max_size(max_size)
            .min_idle(Some(1))
            .connection_timeout(acquire_timeout)
            .error_handler(Box::new(TracingErrorHandler(failures.clone())))
            .build_unchecked(manager);
        Ok(Db {
            pool,
            backend: target.backend(),
            failures,
            acquire_timeout,
        })
    }

    /// The backend this pool connects to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A connection from the pool, waiting up to the acquire timeout. When none comes, tells a
    /// busy pool (every connection in use: 503 `busy`, [`ApiError::Busy`]) from a database
    /// that cannot be reached (no connection could be opened: 503 `database-unavailable`), and
    /// counts each for the metrics.
    fn acquire(&self) -> Result<DbPooledConnection, ApiError> {
        self.pool.get().map_err(|error| {
            // A pool that is merely busy has all its connections open and none to give, and
            // opened every connection it tried to while this request waited.
            let state = self.pool.state();
            if state.connections >= self.pool.max_size()
                && !self.failures.connect_failed_within(self.acquire_timeout)
            {
                self.failures.busy.fetch_add(1, Ordering::Relaxed);
                ApiError::Busy(anyhow::Error::new(error).context(format!(
                    "all {} database connections stayed in use for the acquire timeout",
                    state.connections
                )))
            } else {
                self.failures.unavailable.fetch_add(1, Ordering::Relaxed);
                ApiError::database_unavailable(error)
            }
        })
    }

    /// Runs `f` with a pooled connection on the blocking thread pool, in the caller's span.
    ///
    /// Every query in a request goes through here, so no async worker ever blocks on the
    /// database. When no connection can be had in time the request fails with 503
    /// ([`Db::acquire`] says which).
    pub async fn run<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let db = self.clone();
        run_blocking(move || {
            let mut conn = db.acquire()?;
            f(&mut conn)
        })
        .await
    }

    /// Runs `f` as one write transaction ([`super::write_transaction`]) with a pooled
    /// connection on the blocking thread pool, in the caller's span. The whole transaction runs
    /// again, after a short jittered pause, while it meets contention ([`super::with_retries`]),
    /// and once more on a fresh connection when the connection was lost before COMMIT. A
    /// connection lost during COMMIT is never retried: its outcome is unknown (a 503).
    ///
    /// Every handler that writes goes through here.
    pub async fn write<T, F>(&self, mut f: F) -> Result<T, ApiError>
    where
        F: FnMut(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let db = self.clone();
        run_blocking(move || {
            let mut fresh_connections = 1;
            loop {
                let mut conn = db.acquire()?;
                match super::with_retries(|| super::write_transaction(&mut conn, &mut f)) {
                    Err(ApiError::ConnectionLost(cause)) if fresh_connections > 0 => {
                        fresh_connections -= 1;
                        tracing::warn!(
                            error = format!("{cause:#}"),
                            "database connection lost before COMMIT; running the transaction again on a fresh connection"
                        );
                    }
                    other => return other,
                }
            }
        })
        .await
    }

    /// Runs `produce` with a pooled connection on a blocking thread, streaming what it emits:
    /// a body that is written while it is read, never held whole. `produce` calls its sink with
    /// each chunk; the sink answers false once the client has gone, and `produce` should stop.
    ///
    /// Failing to get a connection is an error before any byte is sent (a 503 as for
    /// [`Db::run`]). A failure once streaming has begun ends the body with an error, so the
    /// client sees a broken transfer rather than a silently short file. The channel holds a
    /// few chunks, so a slow reader holds one connection, not memory.
    pub async fn stream<F>(
        &self,
        produce: F,
    ) -> Result<impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + 'static, ApiError>
    where
        F: FnOnce(&mut DbConnection, &mut dyn FnMut(Bytes) -> bool) -> Result<(), ApiError>
            + Send
            + 'static,
    {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<Result<(), ApiError>>();
        let db = self.clone();
        let span = tracing::Span::current();
        // The handle is dropped: the task runs to its end on its own, and the channel is how it
        // reports.
        drop(actix_web::rt::task::spawn_blocking(move || {
            span.in_scope(|| {
                let mut conn = match db.acquire() {
                    Ok(conn) => conn,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                if ready_tx.send(Ok(())).is_err() {
                    return;
                }
                let mut sink = |chunk: Bytes| tx.blocking_send(Ok(chunk)).is_ok();
                if let Err(e) = produce(&mut conn, &mut sink) {
                    tracing::error!(
                        error = format!("{e:#}"),
                        "a streamed response failed part way"
                    );
                    let _ = tx.blocking_send(Err(std::io::Error::other(
                        "the response could not be completed",
                    )));
                }
            })
        }));
        ready_rx
            .await
            .map_err(|_| ApiError::internal(anyhow::anyhow!("the streaming task ended early")))??;
        Ok(futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        }))
    }

    /// Answers whether the database can run a query within `timeout`.
    pub async fn check_ready(&self, timeout: Duration) -> Result<(), ApiError> {
        let pool = self.pool.clone();
        run_blocking(move || {
            let mut conn = pool
                .get_timeout(timeout)
                .map_err(ApiError::database_unavailable)?;
            conn.ping().map_err(ApiError::database_unavailable)
        })
        .await
    }

    /// A connection for code that runs outside a request (command-line tools, tests). Blocks.
    pub fn connection(&self) -> Result<DbPooledConnection, r2d2::PoolError> {
        self.pool.get()
    }

    /// The pool's current size and idle count.
    pub fn state(&self) -> PoolState {
        let state = self.pool.state();
        PoolState {
            max_size: self.pool.max_size(),
            connections: state.connections,
            idle_connections: state.idle_connections,
            acquire_busy: self.failures.busy.load(Ordering::Relaxed),
            acquire_unavailable: self.failures.unavailable.load(Ordering::Relaxed),
        }
    }
}

/// Runs blocking work (a query, a password hash) on the blocking thread pool, keeping the
/// current tracing span, so that async workers stay free.
pub async fn run_blocking<T, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    let span = tracing::Span::current();
    let (result, statements) =
        actix_web::web::block(move || super::statements::counting(|| span.in_scope(f)))
            .await
            .map_err(|e| ApiError::internal(anyhow::anyhow!("blocking task failed: {e}")))?;
    super::statements::add_to_request(statements);
    result
}

fn create_parent_dir(path: &Path) -> Result<(), OpenError> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.exists() => std::fs::create_dir_all(dir)
            .map_err(|source| OpenError::CreateDirectory {
                path: dir.display().to_string(),
                source,
            }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_is_checked_unless_returned_lately_and_since_no_loss() {
        let now = Instant::now();
        let ago = |ms| now - Duration::from_millis(ms);
        let trusted = Duration::from_millis(1000);
        // Never returned (new), or returned too long ago: checked.
        assert!(needs_check(None, None, now, trusted));
        assert!(needs_check(Some(ago(1000)), None, now, trusted));
        // Returned lately: handed out as it is.
        assert!(!needs_check(Some(ago(999)), None, now, trusted));
        assert!(!needs_check(Some(ago(10)), Some(ago(20)), now, trusted));
        // A connection seen lost since (or when) it was returned: checked.
        assert!(needs_check(Some(ago(10)), Some(ago(5)), now, trusted));
        assert!(needs_check(Some(ago(10)), Some(ago(10)), now, trusted));
    }

    /// Statements a checkout of `db` ran (the check's `SELECT 1`, if any).
    fn checkout(db: &Db) -> (DbPooledConnection, u64) {
        let (conn, ran) = super::super::statements::counting(|| db.connection());
        (conn.unwrap(), ran)
    }

    #[test]
    fn the_pool_checks_only_connections_that_may_have_died_unseen() {
        let dir = tempfile::tempdir().unwrap();
        let target = DatabaseTarget::Sqlite {
            path: dir.path().join("pool.db"),
        };
        let open = |trusted_for| {
            Db::open_trusting(&target, 2, Duration::from_secs(5), trusted_for).unwrap()
        };
        let db = open(Duration::from_secs(60));
        // A new connection is checked; once returned, it is trusted.
        let (first, ran) = checkout(&db);
        assert_eq!(ran, 1);
        drop(first);
        let (mut again, ran) = checkout(&db);
        assert_eq!(ran, 0);
        // A connection seen lost is discarded when returned, and the others are checked again.
        let (second, _) = checkout(&db);
        drop(second);
        super::super::statements::watch(&mut *again).unwrap().lost = true;
        drop(again);
        assert_eq!(db.state().connections, 1);
        let (_third, ran) = checkout(&db);
        assert_eq!(ran, 1);

        // Trusted for no time: every checkout is checked.
        let db = open(Duration::ZERO);
        drop(checkout(&db).0);
        assert_eq!(checkout(&db).1, 1);
    }
}
