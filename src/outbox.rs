//! The transactional outbox: email is written in the same transaction as the change that
//! causes it, and a worker ([`crate::mail`]) sends it afterwards, retrying with backoff.
//!
//! Rows are claimed with a lease: a guarded UPDATE that takes only due, unleased rows (with
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite serialises writers), so several instances
//! never send the same row concurrently.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::outbox;
use crate::db::together::Together;
use crate::db::{Backend, DbConnection, Prepare};
use crate::text_enum::text_enum;

text_enum! {
    /// Where an email stands: waiting to be sent (again), sent, or given up on.
    pub enum OutboxStatus {
        Pending => "pending",
        Sent => "sent",
        Dead => "dead",
    }
}

crate::db::text_column!(OutboxStatus);

/// An email to send.
#[derive(Debug, Clone)]
pub struct Email {
    /// The template it was made from, e.g. `verify_email`.
    pub template: &'static str,
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// A file sent with an email, as text (a calendar invitation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The file name, e.g. `event.ics`.
    pub name: String,
    /// Its media type, e.g. `text/calendar; charset=utf-8; method=PUBLISH`.
    pub content_type: String,
    pub body: String,
}

/// Queues `email` in the caller's transaction; returns its id.
pub fn enqueue(conn: &mut DbConnection, email: Email) -> QueryResult<String> {
    let id = uuid::Uuid::new_v4().to_string();
    insert(conn, &id, email, None, None)?;
    Ok(id)
}

/// Queues several emails (no attachment, no dedupe key) in the caller's transaction, in one
/// round trip on PostgreSQL.
pub fn enqueue_all(conn: &mut DbConnection, emails: Vec<Email>) -> QueryResult<()> {
    let mut together = Together::new();
    queue_all(&mut together, emails);
    together.run(conn)?;
    Ok(())
}

/// Queues several emails (no attachment, no dedupe key) with the other statements of
/// `together`.
pub fn queue_all(together: &mut Together<'_>, emails: Vec<Email>) {
    let now = crate::time::now();
    for email in emails {
        together.add(diesel::insert_into(outbox::table).values((
            outbox::id.eq(uuid::Uuid::new_v4().to_string()),
            outbox::template.eq(email.template),
            outbox::recipient.eq(email.to),
            outbox::subject.eq(email.subject),
            outbox::body_text.eq(email.body),
            outbox::status.eq(OutboxStatus::Pending),
            outbox::attempts.eq(0_i64),
            outbox::next_attempt_at.eq(now),
            outbox::created_at.eq(now),
        )));
    }
}

/// Queues `email` with `attachment` in the caller's transaction; returns its id.
pub fn enqueue_with_attachment(
    conn: &mut DbConnection,
    email: Email,
    attachment: Attachment,
) -> QueryResult<String> {
    let id = uuid::Uuid::new_v4().to_string();
    insert(conn, &id, email, None, Some(attachment))?;
    Ok(id)
}

/// Queues `email` unless an email with `key` was ever queued (sent or not): the unique index on
/// `dedupe_key` decides, so two instances racing to queue it queue it once. Whether it was
/// queued now.
pub fn enqueue_once(conn: &mut DbConnection, key: &str, email: Email) -> QueryResult<bool> {
    let id = uuid::Uuid::new_v4().to_string();
    Ok(insert(conn, &id, email, Some(key), None)? == 1)
}

fn insert(
    conn: &mut DbConnection,
    id: &str,
    email: Email,
    key: Option<&str>,
    attachment: Option<Attachment>,
) -> QueryResult<usize> {
    let now = crate::time::now();
    let (name, content_type, body) = match attachment {
        Some(a) => (Some(a.name), Some(a.content_type), Some(a.body)),
        None => (None, None, None),
    };
    // Raw SQL for the ON CONFLICT, which diesel's MultiConnection does not offer: a NULL key
    // never conflicts, so only keyed email is held to once.
    diesel::sql_query(
        "INSERT INTO outbox (id, template, recipient, subject, body_text, status, attempts, \
         next_attempt_at, created_at, dedupe_key, attachment_name, attachment_type, \
         attachment_body) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind::<Text, _>(id)
    .bind::<Text, _>(email.template)
    .bind::<Text, _>(email.to)
    .bind::<Text, _>(email.subject)
    .bind::<Text, _>(email.body)
    .bind::<Text, _>(OutboxStatus::Pending)
    .bind::<Timestamp, _>(now)
    .bind::<Timestamp, _>(now)
    .bind::<Nullable<Text>, _>(key)
    .bind::<Nullable<Text>, _>(name)
    .bind::<Nullable<Text>, _>(content_type)
    .bind::<Nullable<Text>, _>(body)
    .prepared()
    .execute(conn)
}

/// A row claimed for one send attempt.
#[derive(Debug, Clone, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub recipient: String,
    #[diesel(sql_type = Text)]
    pub subject: String,
    #[diesel(sql_type = Text)]
    pub body_text: String,
    /// Attempts so far, this one included.
    #[diesel(sql_type = BigInt)]
    pub attempts: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub attachment_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub attachment_type: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub attachment_body: Option<String>,
}

/// Claims up to `batch` due rows for `lease`, counting the attempt.
pub fn claim_due(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    lease: Duration,
    batch: i64,
) -> QueryResult<Vec<Claimed>> {
    let lease_until =
        now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(5));
    let sql = match conn.backend() {
        Backend::Postgres => {
            "UPDATE outbox SET locked_until = $1, attempts = attempts + 1
             WHERE id IN (
                 SELECT id FROM outbox
                 WHERE status = $4 AND next_attempt_at <= $2
                   AND (locked_until IS NULL OR locked_until <= $2)
                 ORDER BY next_attempt_at, id
                 LIMIT $3
                 FOR UPDATE SKIP LOCKED)
             RETURNING id, recipient, subject, body_text, attempts,
                       attachment_name, attachment_type, attachment_body"
        }
        Backend::Sqlite => {
            "UPDATE outbox SET locked_until = ?1, attempts = attempts + 1
             WHERE id IN (
                 SELECT id FROM outbox
                 WHERE status = ?4 AND next_attempt_at <= ?2
                   AND (locked_until IS NULL OR locked_until <= ?2)
                 ORDER BY next_attempt_at, id
                 LIMIT ?3)
             RETURNING id, recipient, subject, body_text, attempts,
                       attachment_name, attachment_type, attachment_body"
        }
    };
    diesel::sql_query(sql)
        .bind::<Timestamp, _>(lease_until)
        .bind::<Timestamp, _>(now)
        .bind::<BigInt, _>(batch)
        .bind::<Text, _>(OutboxStatus::Pending)
        .prepared()
        .load(conn)
}

/// Records a successful send.
pub fn mark_sent(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::status.eq(OutboxStatus::Sent),
            outbox::sent_at.eq(now),
            outbox::locked_until.eq(None::<NaiveDateTime>),
            outbox::last_error.eq(None::<String>),
        ))
        .prepared()
        .execute(conn)
        .map(|_| ())
}

/// The wait before retry `attempts + 1`: 1 s, 2 s, 4 s, … up to an hour.
pub fn backoff(attempts: i64) -> Duration {
    let exponent = u32::try_from(attempts.clamp(1, 13) - 1).unwrap_or(12);
    Duration::from_secs((1u64 << exponent).min(3600))
}

/// Records a failed send: retried after [`backoff`], or dead once `max_attempts` are spent.
/// Returns whether the row is now dead.
pub fn mark_failed(
    conn: &mut DbConnection,
    row: &Claimed,
    max_attempts: u32,
    error: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let dead = row.attempts >= i64::from(max_attempts);
    let next = now
        + chrono::Duration::from_std(backoff(row.attempts)).unwrap_or(chrono::Duration::hours(1));
    diesel::update(outbox::table.find(&row.id))
        .set((
            outbox::status.eq(if dead {
                OutboxStatus::Dead
            } else {
                OutboxStatus::Pending
            }),
            outbox::next_attempt_at.eq(next),
            outbox::locked_until.eq(None::<NaiveDateTime>),
            outbox::last_error.eq(error.chars().take(1000).collect::<String>()),
        ))
        .prepared()
        .execute(conn)?;
    Ok(dead)
}

/// An outbox row as admins see it (without the body, which may hold a single-use link).
#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = outbox)]
pub struct OutboxEntry {
    pub id: String,
    #[schema(example = "verify_email")]
    pub template: String,
    pub recipient: String,
    pub subject: String,
    pub status: OutboxStatus,
    pub attempts: i64,
    pub last_error: Option<String>,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String, example = "2026-01-31T09:00:00Z")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::time::serialize_option")]
    #[schema(value_type = Option<String>)]
    pub sent_at: Option<NaiveDateTime>,
}

/// Rows in `status` (all when `None`), newest first, after the `after_id` keyset position.
pub fn list(
    conn: &mut DbConnection,
    status: Option<OutboxStatus>,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> QueryResult<Vec<OutboxEntry>> {
    let mut query = outbox::table.select(OutboxEntry::as_select()).into_boxed();
    if let Some(status) = status {
        query = query.filter(outbox::status.eq(status));
    }
    if let Some((created_at, id)) = after {
        query = query.filter(
            outbox::created_at
                .lt(created_at)
                .or(outbox::created_at.eq(created_at).and(outbox::id.lt(id))),
        );
    }
    query
        .order((outbox::created_at.desc(), outbox::id.desc()))
        .limit(limit)
        .load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_second_up_to_an_hour() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(5), Duration::from_secs(16));
        assert_eq!(backoff(50), Duration::from_secs(3600));
    }
}
