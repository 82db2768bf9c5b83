//! Enquiry queries.

use super::model::EnquiryStatus;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::EnquiryRow;
use crate::db::DbConnection;
use crate::db::schema::enquiries;

/// What a new enquiry stores.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = enquiries)]
pub struct NewRow<'a> {
    pub id: &'a str,
    pub sme_id: &'a str,
    pub package_id: &'a str,
    pub vendor_id: &'a str,
    pub revision_id: &'a str,
    pub options_json: &'a str,
    pub term_months: Option<i64>,
    pub message: Option<&'a str>,
    pub status: EnquiryStatus,
    pub eligible_cost_cents: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, row: &NewRow<'_>) -> QueryResult<()> {
    diesel::insert_into(enquiries::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<EnquiryRow> {
    enquiries::table
        .find(id)
        .select(EnquiryRow::as_select())
        .first(conn)
}

/// Whether the SME already has an enquiry awaiting an answer on the package.
pub fn open_exists(conn: &mut DbConnection, sme_id: &str, package_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        enquiries::table
            .filter(enquiries::sme_id.eq(sme_id))
            .filter(enquiries::package_id.eq(package_id))
            .filter(enquiries::status.eq(EnquiryStatus::Open)),
    ))
    .get_result(conn)
}

/// Answers an open enquiry: `confirmed` with an optional note, or `declined` with a reason.
/// False when it was no longer open.
pub fn answer(
    conn: &mut DbConnection,
    id: &str,
    status: EnquiryStatus,
    note: Option<&str>,
    reason: Option<&str>,
    by: &str,
) -> QueryResult<bool> {
    let now = crate::time::now();
    let n = diesel::update(
        enquiries::table
            .find(id)
            .filter(enquiries::status.eq(EnquiryStatus::Open)),
    )
    .set((
        enquiries::status.eq(status),
        enquiries::vendor_note.eq(note),
        enquiries::decline_reason.eq(reason),
        enquiries::answered_by.eq(by),
        enquiries::answered_at.eq(now),
        enquiries::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Whose enquiries to list.
#[derive(Debug, Clone, Copy)]
pub enum Party<'a> {
    Sme(&'a str),
    Vendor(&'a str),
}

/// Enquiries of one party, newest first, optionally by status, before the (time, id) `after`.
pub fn list(
    conn: &mut DbConnection,
    party: Party<'_>,
    status: Option<EnquiryStatus>,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> QueryResult<Vec<EnquiryRow>> {
    let mut query = enquiries::table
        .select(EnquiryRow::as_select())
        .into_boxed();
    query = match party {
        Party::Sme(id) => query.filter(enquiries::sme_id.eq(id.to_owned())),
        Party::Vendor(id) => query.filter(enquiries::vendor_id.eq(id.to_owned())),
    };
    if let Some(status) = status {
        query = query.filter(enquiries::status.eq(status));
    }
    if let Some((at, id)) = after {
        query = query.filter(
            enquiries::created_at
                .lt(at)
                .or(enquiries::created_at.eq(at).and(enquiries::id.lt(id))),
        );
    }
    query
        .order((enquiries::created_at.desc(), enquiries::id.desc()))
        .limit(limit)
        .load(conn)
}
