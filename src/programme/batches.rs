//! Intake batches: the windows in which SMEs may apply, each with an optional quota of subsidy
//! enforced exactly like the budget (see [`crate::budget`]).

use crate::applications::workflow::Status;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::db::DbConnection;
use crate::db::schema::{applications, intake_batches};
use crate::money::Money;

/// A stored batch.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = intake_batches)]
pub struct BatchRow {
    pub id: String,
    pub name: String,
    pub opens_at: NaiveDateTime,
    pub closes_at: NaiveDateTime,
    pub quota_cents: Option<i64>,
    pub used_cents: i64,
    pub created_at: NaiveDateTime,
}

/// `POST /admin/batches`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBatch {
    #[validate(length(min = 1, max = 200), custom(function = crate::validation::non_blank))]
    #[schema(example = "Batch 3 (2026 Q1)")]
    pub name: String,
    #[schema(value_type = String, example = "2026-01-05T01:00:00Z")]
    pub opens_at: DateTime<Utc>,
    #[schema(value_type = String, example = "2026-03-31T15:59:59Z")]
    pub closes_at: DateTime<Utc>,
    /// The most subsidy the batch's applications may hold; unlimited (only the budget) when
    /// absent.
    pub quota: Option<Money>,
}

/// A batch as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Batch {
    pub id: String,
    pub name: String,
    #[schema(value_type = String)]
    #[serde(serialize_with = "crate::time::serialize")]
    pub opens_at: NaiveDateTime,
    #[schema(value_type = String)]
    #[serde(serialize_with = "crate::time::serialize")]
    pub closes_at: NaiveDateTime,
    pub quota: Option<Money>,
    /// Subsidy held by the batch's live applications (reserved, committed or disbursed).
    pub held: Money,
    /// Whether the window is open now.
    pub open: bool,
    #[schema(value_type = String)]
    #[serde(serialize_with = "crate::time::serialize")]
    pub created_at: NaiveDateTime,
}

/// The batch open at `now`, if any (windows never overlap).
pub fn open_at(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<Option<BatchRow>> {
    intake_batches::table
        .filter(intake_batches::opens_at.le(now))
        .filter(intake_batches::closes_at.gt(now))
        .select(BatchRow::as_select())
        .first(conn)
        .optional()
}

/// A batch whose window overlaps [opens_at, closes_at), if any.
pub fn overlapping(
    conn: &mut DbConnection,
    opens_at: NaiveDateTime,
    closes_at: NaiveDateTime,
) -> QueryResult<Option<BatchRow>> {
    intake_batches::table
        .filter(intake_batches::opens_at.lt(closes_at))
        .filter(intake_batches::closes_at.gt(opens_at))
        .select(BatchRow::as_select())
        .first(conn)
        .optional()
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<BatchRow> {
    intake_batches::table
        .find(id)
        .select(BatchRow::as_select())
        .first(conn)
}

/// Inserts a batch; returns its id.
pub fn insert(
    conn: &mut DbConnection,
    name: &str,
    opens_at: NaiveDateTime,
    closes_at: NaiveDateTime,
    quota: Option<Money>,
    created_by: Option<&str>,
) -> QueryResult<String> {
    let id = uuid::Uuid::new_v4().to_string();
    diesel::insert_into(intake_batches::table)
        .values((
            intake_batches::id.eq(&id),
            intake_batches::name.eq(name),
            intake_batches::opens_at.eq(opens_at),
            intake_batches::closes_at.eq(closes_at),
            intake_batches::quota_cents.eq(quota.map(Money::cents)),
            intake_batches::used_cents.eq(0),
            intake_batches::created_by.eq(created_by),
            intake_batches::created_at.eq(crate::time::now()),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Batches, latest window first, after the (opens_at, id) position `after`.
pub fn list(
    conn: &mut DbConnection,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> QueryResult<Vec<BatchRow>> {
    let mut query = intake_batches::table
        .select(BatchRow::as_select())
        .into_boxed();
    if let Some((at, id)) = after {
        query = query.filter(
            intake_batches::opens_at.lt(at).or(intake_batches::opens_at
                .eq(at)
                .and(intake_batches::id.lt(id))),
        );
    }
    query
        .order((intake_batches::opens_at.desc(), intake_batches::id.desc()))
        .limit(limit)
        .load(conn)
}

/// The subsidy a batch's live applications hold, in cents.
pub fn held_cents(conn: &mut DbConnection, batch_id: &str) -> QueryResult<i64> {
    let sum: Option<i64> = applications::table
        .filter(applications::batch_id.eq(batch_id))
        .filter(applications::status.eq_any(Status::HOLDING_MONEY))
        .select(sql::<Nullable<BigInt>>(
            "CAST(SUM(subsidy_cents) AS BIGINT)",
        ))
        .first(conn)?;
    Ok(sum.unwrap_or(0))
}

/// The API view of `row` at `now`.
pub fn view(conn: &mut DbConnection, row: BatchRow, now: NaiveDateTime) -> QueryResult<Batch> {
    let held = held_cents(conn, &row.id)?;
    Ok(Batch {
        open: row.opens_at <= now && now < row.closes_at,
        held: Money::from_cents(held).unwrap_or(Money::ZERO),
        quota: row.quota_cents.and_then(|c| Money::from_cents(c).ok()),
        id: row.id,
        name: row.name,
        opens_at: row.opens_at,
        closes_at: row.closes_at,
        created_at: row.created_at,
    })
}
