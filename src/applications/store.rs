//! Application queries.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{ApplicationRow, Changes};
use super::workflow::Status;
use crate::db::schema::applications;
use crate::db::together::Write;
use crate::db::{DbConnection, Prepare};
use crate::money::Money;

/// What a new application stores.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = applications)]
pub struct NewRow<'a> {
    pub id: &'a str,
    pub sme_id: &'a str,
    pub package_id: &'a str,
    pub vendor_id: &'a str,
    pub enquiry_id: &'a str,
    pub batch_id: &'a str,
    pub rules_version: i64,
    pub status: Status,
    pub eligible_cost_cents: Money,
    pub subsidy_cents: Money,
    pub sme_pays_cents: Money,
    pub queued_at: NaiveDateTime,
    pub reserved_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The client's address ([`crate::client_ip`]), for the risk indicators.
    pub client_ip: Option<&'a str>,
    /// The price ceiling in force for the package's pricing model, for `ceiling_clustering`.
    pub ceiling_cents: Option<i64>,
}

/// The statement that inserts an application, to send with the others of its transaction
/// ([`Together`](crate::db::together::Together)). A second live application of the SME for the
/// package breaks the unique index on live applications: see [`already_applied`].
pub fn inserting<'a>(row: &'a NewRow<'a>) -> impl Write + 'a {
    diesel::insert_into(applications::table).values(row)
}

/// The application `row` inserts, as stored (every column the new row does not set is NULL),
/// without reading it back.
pub fn stored(row: &NewRow<'_>) -> ApplicationRow {
    ApplicationRow {
        id: row.id.to_owned(),
        sme_id: row.sme_id.to_owned(),
        package_id: row.package_id.to_owned(),
        vendor_id: row.vendor_id.to_owned(),
        enquiry_id: row.enquiry_id.to_owned(),
        batch_id: row.batch_id.to_owned(),
        rules_version: row.rules_version,
        status: row.status,
        eligible_cost_cents: row.eligible_cost_cents,
        subsidy_cents: row.subsidy_cents,
        sme_pays_cents: row.sme_pays_cents,
        queued_at: row.queued_at,
        reserved_at: row.reserved_at,
        approved_at: None,
        deadline_at: None,
        delivered_on: None,
        delivery_note: None,
        payment_reference: None,
        amount_paid_cents: None,
        paid_on: None,
        verified_by: None,
        verified_at: None,
        disbursed_by: None,
        disbursed_at: None,
        closed_at: None,
        last_comment: None,
        created_at: row.created_at,
        updated_at: row.updated_at,
        approved_by: None,
    }
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<ApplicationRow> {
    applications::table
        .find(id)
        .select(ApplicationRow::as_select())
        .first(conn)
}

/// The error of a transaction that inserted a newcomer's application ([`inserting`]): a unique
/// violation is the unique index on live applications (`applications_one_live`, the only
/// unique key a new application's statements can break: every other row they write has a new
/// id), answered as the 409 it means.
pub fn already_applied(e: diesel::result::Error) -> crate::error::ApiError {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
            crate::error::ApiError::Conflict(
                "You have already applied for this package.".to_owned(),
            )
        }
        other => other.into(),
    }
}

/// Moves application `id` from `from` to `to`, setting `changes`; false when it was no longer
/// in `from` (someone else moved it first).
pub fn move_status(
    conn: &mut DbConnection,
    id: &str,
    from: Status,
    to: Status,
    changes: &Changes,
) -> QueryResult<bool> {
    let n = diesel::update(
        applications::table
            .find(id)
            .filter(applications::status.eq(from)),
    )
    .set((
        applications::status.eq(to),
        applications::updated_at.eq(crate::time::now()),
        changes,
    ))
    .prepared()
    .execute(conn)?;
    Ok(n == 1)
}

/// The application, other than `except`, that already used a payment reference (normalised).
pub fn payment_reference_user(
    conn: &mut DbConnection,
    key: &str,
    except: &str,
) -> QueryResult<Option<String>> {
    applications::table
        .filter(applications::payment_reference_key.eq(key))
        .filter(applications::id.ne(except))
        .select(applications::id)
        .first(conn)
        .optional()
}

/// Which applications to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub sme_id: Option<String>,
    pub vendor_id: Option<String>,
    pub status: Option<Status>,
}

/// Applications matching `filter`, newest first, before the (time, id) position `after`.
pub fn list(
    conn: &mut DbConnection,
    filter: &Filter,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> QueryResult<Vec<ApplicationRow>> {
    let mut query = applications::table
        .select(ApplicationRow::as_select())
        .into_boxed();
    if let Some(id) = &filter.sme_id {
        query = query.filter(applications::sme_id.eq(id.clone()));
    }
    if let Some(id) = &filter.vendor_id {
        query = query.filter(applications::vendor_id.eq(id.clone()));
    }
    if let Some(status) = filter.status {
        query = query.filter(applications::status.eq(status));
    }
    if let Some((at, id)) = after {
        // `created_at <= at` first, so that an index on (created_at, id) starts its scan at
        // the cursor instead of filtering everything newer.
        query = query.filter(
            applications::created_at
                .le(at)
                .and(applications::created_at.lt(at).or(applications::id.lt(id))),
        );
    }
    query
        .order((applications::created_at.desc(), applications::id.desc()))
        .limit(limit)
        .load(conn)
}

/// Approved applications whose deadline passed before `now`, oldest deadline first.
pub fn overdue(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<ApplicationRow>> {
    applications::table
        .filter(applications::status.eq(Status::Approved))
        .filter(applications::deadline_at.lt(now))
        .order(applications::deadline_at)
        .limit(limit)
        .select(ApplicationRow::as_select())
        .load(conn)
}
