//! Catalogue changes across instances. On PostgreSQL, statement triggers on every table the
//! catalogue shows (packages, their revisions and options, vendors, categories, the programme
//! rules) notify the channel [`CHANNEL`] when a change commits (migration 000015); every
//! instance listens on its own connection and advances its catalogue generation, which retires
//! its cached responses and the finder's offers. A change committed on one instance is so
//! retired on the others within about [`POLL`], not the cache's 5 seconds.
//!
//! The listener polls its connection's socket for notifications every [`POLL`] (libpq reads
//! what has arrived without a round trip). A lost connection is opened again after
//! [`RECONNECT`]; since notifications sent meanwhile are lost, reconnecting retires everything.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use diesel::pg::PgConnection;
use diesel::{Connection, RunQueryDsl};

use super::cache::Generation;

/// The channel the catalogue's triggers notify.
pub const CHANNEL: &str = "dtspp_catalogue";

/// How often the listener reads the notifications that have arrived.
pub const POLL: Duration = Duration::from_millis(20);

/// How long the listener waits before opening a lost connection again.
pub const RECONNECT: Duration = Duration::from_secs(1);

/// The listening thread; it ends, within about [`POLL`] or one connection attempt, once this
/// is dropped. Nobody waits for it.
#[derive(Debug)]
pub struct Listener {
    stop: Arc<AtomicBool>,
    _thread: Option<JoinHandle<()>>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Listens on the database at `url`, advancing `generation` whenever the catalogue changed.
pub fn listen(url: String, generation: Generation) -> Listener {
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = stop.clone();
    let thread = std::thread::Builder::new()
        .name("catalogue-changes".to_owned())
        .spawn(move || run(&url, &generation, &stopping))
        .ok();
    if thread.is_none() {
        tracing::error!("could not start the catalogue change listener");
    }
    Listener {
        stop,
        _thread: thread,
    }
}

fn run(url: &str, generation: &Generation, stop: &AtomicBool) {
    let mut connected_before = false;
    while !stop.load(Ordering::SeqCst) {
        match PgConnection::establish(url).and_then(|mut conn| {
            diesel::sql_query(format!("LISTEN {CHANNEL}"))
                .execute(&mut conn)
                .map(|_| conn)
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)
        }) {
            Ok(mut conn) => {
                if connected_before {
                    // Whatever changed while the connection was down was not heard.
                    generation.advance();
                }
                connected_before = true;
                tracing::debug!("listening for catalogue changes");
                if let Err(e) = relay(&mut conn, generation, stop) {
                    tracing::warn!(error = %e, "the catalogue change listener lost its connection");
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "the catalogue change listener cannot connect");
            }
        }
        sleep_unless_stopped(RECONNECT, stop);
    }
}

/// Advances `generation` for every batch of notifications, until stopped or the connection
/// fails.
fn relay(
    conn: &mut PgConnection,
    generation: &Generation,
    stop: &AtomicBool,
) -> diesel::QueryResult<()> {
    while !stop.load(Ordering::SeqCst) {
        let mut changed = false;
        for notification in conn.notifications_iter() {
            notification?;
            changed = true;
        }
        if changed {
            generation.advance();
        }
        std::thread::sleep(POLL);
    }
    Ok(())
}

fn sleep_unless_stopped(total: Duration, stop: &AtomicBool) {
    let mut slept = Duration::ZERO;
    while slept < total && !stop.load(Ordering::SeqCst) {
        std::thread::sleep(POLL);
        slept += POLL;
    }
}
