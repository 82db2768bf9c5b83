//! Counts the SQL statements (round trips, `BEGIN` and `COMMIT` included) each request runs.
//!
//! Every pooled connection reports each statement it starts ([`instrument`]) to a counter of
//! the thread it runs on; [`super::run_blocking`] hands what a closure ran on its blocking
//! thread to the request it ran for ([`in_request`], scoped by the outermost middleware), which
//! records it per route in `dtspp_db_statements_per_request`. With the log filter
//! `dtspp::db::statements=trace` each statement's SQL is logged too, never the values bound
//! to it.

use std::cell::Cell;
use std::future::Future;

use diesel::Connection;
use diesel::connection::{Instrumentation, InstrumentationEvent};

thread_local! {
    static ON_THIS_THREAD: Cell<u64> = const { Cell::new(0) };
}

tokio::task_local! {
    static IN_REQUEST: Cell<u64>;
}

/// Makes `conn` count the statements it starts on the thread that runs them, and keep the
/// [`Watch`] the pool reads.
pub(super) fn instrument(conn: &mut impl Connection) {
    conn.set_instrumentation(Watch::default());
}

/// The instrumentation of every pooled connection (diesel's instrumentation is the one state
/// it lets us attach to a connection): it counts the statements the connection starts, and
/// keeps what the pool needs to know of it between checkouts.
#[derive(Debug, Default)]
pub(super) struct Watch {
    /// When the pool last took the connection back.
    pub(super) returned_at: Option<std::time::Instant>,
    /// Whether a statement on it failed because the connection was lost.
    pub(super) lost: bool,
}

impl Instrumentation for Watch {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartQuery { query, .. } => {
                ON_THIS_THREAD.with(|n| n.set(n.get() + 1));
                if tracing::enabled!(target: "dtspp::db::statements", tracing::Level::TRACE) {
                    // The SQL alone: the values bound to it (password hashes, token hashes)
                    // never reach the logs.
                    let text = query.to_string();
                    let sql = text.split(" -- binds: ").next().unwrap_or_default();
                    tracing::trace!(target: "dtspp::db::statements", sql, "statement");
                }
            }
            InstrumentationEvent::FinishQuery {
                error: Some(error), ..
            } if crate::error::means_connection_lost(error) => self.lost = true,
            _ => {}
        }
    }
}

/// The [`Watch`] of a connection [`instrument`] set up.
pub(super) fn watch(conn: &mut impl Connection) -> Option<&mut Watch> {
    conn.instrumentation().downcast_mut::<Watch>()
}

/// Statements started on this thread so far.
pub fn on_this_thread() -> u64 {
    ON_THIS_THREAD.with(Cell::get)
}

/// Runs `f`, returning its value and the statements it started on this thread.
pub fn counting<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let before = on_this_thread();
    let value = f();
    (value, on_this_thread() - before)
}

/// Adds `n` statements to the request being served, if any.
pub(super) fn add_to_request(n: u64) {
    // Outside a request (a job, a command) there is nothing to add to.
    let _ = IN_REQUEST.try_with(|count| count.set(count.get() + n));
}

/// Runs a request's future, returning its output and the statements it ran.
pub async fn in_request<F: Future>(fut: F) -> (F::Output, u64) {
    IN_REQUEST
        .scope(Cell::new(0), async move {
            let output = fut.await;
            let n = IN_REQUEST.with(Cell::get);
            (output, n)
        })
        .await
}
