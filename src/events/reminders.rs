//! Reminders: a day before an event, each confirmed registrant is emailed once. The outbox's
//! unique `dedupe_key` (`event-reminder:{registration}`) makes it once, however many passes
//! or instances queue it; only confirmed registrations of scheduled events are reminded, never
//! the waitlisted or the cancelled.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::emails;
use super::model::EventRow;
use super::store::{CONFIRMED, SCHEDULED};
use crate::db::Db;
use crate::db::schema::{event_registrations, events, outbox, users};
use crate::error::ApiError;

/// How long before an event its reminder goes.
pub const AHEAD: chrono::Duration = chrono::Duration::hours(24);

/// The key that holds one registration's reminder to once.
pub fn key(registration_id: &str) -> String {
    format!("event-reminder:{registration_id}")
}

/// Queues the reminders due at `now`: confirmed registrations of scheduled events that start
/// within [`AHEAD`] and have not started. Returns how many this call queued.
pub async fn queue_due(db: &Db, now: NaiveDateTime) -> Result<usize, ApiError> {
    db.write(move |tx| {
        let due: Vec<(String, String, EventRow)> = event_registrations::table
            .inner_join(events::table)
            .inner_join(users::table)
            .filter(event_registrations::status.eq(CONFIRMED))
            .filter(events::status.eq(SCHEDULED))
            .filter(events::starts_at.gt(now))
            .filter(events::starts_at.le(now + AHEAD))
            .select((event_registrations::id, users::email, EventRow::as_select()))
            .load(tx)?;
        let keys: Vec<String> = due.iter().map(|(id, _, _)| key(id)).collect();
        let queued: Vec<Option<String>> = outbox::table
            .filter(outbox::dedupe_key.eq_any(&keys))
            .select(outbox::dedupe_key)
            .load(tx)?;
        let mut count = 0;
        for (id, email, event) in &due {
            let key = key(id);
            if queued.iter().flatten().any(|k| *k == key) {
                continue;
            }
            if crate::outbox::enqueue_once(tx, &key, emails::reminder(email, event))? {
                count += 1;
            }
        }
        Ok(count)
    })
    .await
}

/// Queues due reminders every `every` until the task is aborted.
pub async fn run(db: Db, every: Duration) {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        match queue_due(&db, crate::time::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(queued = n, "event reminders queued"),
            Err(error) => tracing::warn!(error = %error, "event reminder pass failed"),
        }
    }
}
