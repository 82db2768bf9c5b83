//! The expiry job: approved applications past their implementation deadline expire, releasing
//! their money and promoting the waitlist. Safe with several instances: each expiry is a
//! guarded status change in its own transaction, so an application another instance expired
//! first is simply skipped.

use std::time::Duration;

use chrono::NaiveDateTime;

use super::store;
use super::transitions::{Actor, perform};
use super::workflow::Action;
use crate::auth::RequestMeta;
use crate::db::{Db, with_retries, write_transaction};
use crate::error::ApiError;

/// How many overdue applications one pass loads at a time.
const BATCH: i64 = 100;

/// Expires every approved application whose deadline is before `now`; returns how many this
/// call expired.
pub async fn expire_due(db: &Db, now: NaiveDateTime) -> Result<usize, ApiError> {
    db.run(move |conn| {
        let mut expired = 0;
        loop {
            let due = store::overdue(conn, now, BATCH)?;
            if due.is_empty() {
                return Ok(expired);
            }
            let mut progressed = false;
            for row in due {
                let meta = RequestMeta::default();
                let done = with_retries(|| {
                    write_transaction(conn, |tx| {
                        let Ok(current) = store::find(tx, &row.id) else {
                            return Ok(false);
                        };
                        match perform(
                            tx,
                            &meta,
                            Actor::System("expiry"),
                            &current,
                            Action::Expire,
                            Default::default(),
                        ) {
                            Ok(_) => Ok(true),
                            // Another instance (or the vendor's delivery) moved it first.
                            Err(ApiError::Conflict(_)) => Ok(false),
                            Err(e) => Err(e),
                        }
                    })
                })?;
                if done {
                    expired += 1;
                    progressed = true;
                }
            }
            if !progressed {
                return Ok(expired);
            }
        }
    })
    .await
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
