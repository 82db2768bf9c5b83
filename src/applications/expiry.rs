//! The expiry job: approved applications past their implementation deadline expire, releasing
//! their money and promoting the waitlist. Safe with several instances: each expiry is a
//! guarded status change in its own transaction, so an application another instance expired
//! first is simply skipped.

use std::time::Duration;

use chrono::NaiveDateTime;

use super::store;
use super::transitions::{Actor, TransitionError, perform};
use super::workflow::{Action, Status};
use crate::auth::RequestMeta;
use crate::db::{Db, with_retries, write_transaction};
use crate::error::ApiError;

/// How many overdue applications one pass loads at a time.
const BATCH: i64 = 100;

/// Expires every approved application whose deadline is before `now`; returns how many this
/// call expired. Each expiry is its own transaction, committed whole or not at all: an
/// application that moved on meanwhile is skipped, and one whose expiry fails is rolled back,
/// logged and tried again on the next pass, without holding up the others.
pub async fn expire_due(db: &Db, now: NaiveDateTime) -> Result<usize, ApiError> {
    db.run(move |conn| {
        let mut expired = 0;
        let mut failed = std::collections::HashSet::new();
        loop {
            let due = store::overdue(conn, now, BATCH)?;
            let mut progressed = false;
            let due: Vec<_> = due.into_iter().filter(|r| !failed.contains(&r.id)).collect();
            for row in due {
                let attempt = || {
                    write_transaction(conn, |tx| expire_one(tx, &row.id).map_err(ApiError::from))
                };
                match with_retries(attempt) {
                    Ok(true) => {
                        expired += 1;
                        progressed = true;
                    }
                    Ok(false) => {}
                    // The database itself is failing: stop this pass.
                    Err(
                        e @ (ApiError::Internal(_)
                        | ApiError::Unavailable(_)
                        | ApiError::ConnectionLost(_)),
                    ) => return Err(e),
                    Err(e) => {
                        tracing::warn!(application = %row.id, error = %e, "could not expire an application; rolled back");
                        failed.insert(row.id);
                    }
                }
            }
            if !progressed {
                return Ok(expired);
            }
        }
    })
    .await
}

/// Expires application `id` if it is still approved (false when it moved on meanwhile: another
/// instance expired it, or the vendor delivered). Any error rolls the whole expiry back.
fn expire_one(tx: &mut crate::db::DbConnection, id: &str) -> Result<bool, TransitionError> {
    use diesel::OptionalExtension;
    let Some(current) = store::find(tx, id).optional()? else {
        return Ok(false);
    };
    if current.status() != Status::Approved {
        return Ok(false);
    }
    perform(
        tx,
        &RequestMeta::default(),
        Actor::System("expiry"),
        &current,
        Action::Expire,
        Default::default(),
    )?;
    Ok(true)
}

/// Runs [`expire_due`] every `interval` until the process stops.
pub async fn run(db: Db, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        match expire_due(&db, crate::time::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "expired overdue applications"),
            Err(e) => tracing::warn!(error = %e, "the expiry pass failed"),
        }
    }
}
