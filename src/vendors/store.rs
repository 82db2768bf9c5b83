//! Queries over vendors.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{RegisterVendor, VendorRow};
use super::workflow::VendorStatus;
use crate::db::DbConnection;
use crate::db::schema::{users, vendors};

/// Whether a vendor has this BR number.
pub fn br_number_taken(conn: &mut DbConnection, br_number: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        vendors::table.filter(vendors::br_number.eq(br_number)),
    ))
    .get_result(conn)
}

/// Creates a `pending` vendor profile for `user_id`.
pub fn insert_vendor(
    conn: &mut DbConnection,
    user_id: &str,
    form: &RegisterVendor,
) -> QueryResult<VendorRow> {
    let id = uuid::Uuid::new_v4().to_string();
    let now = crate::time::now();
    diesel::insert_into(vendors::table)
        .values((
            vendors::id.eq(&id),
            vendors::user_id.eq(user_id),
            vendors::company_name_en.eq(form.company_name_en.trim()),
            vendors::company_name_zh.eq(form.company_name_zh.as_deref().map(str::trim)),
            vendors::br_number.eq(&form.br_number),
            vendors::contact_name.eq(form.contact_name.trim()),
            vendors::phone.eq(form.phone.trim()),
            vendors::address.eq(form.address.trim()),
            vendors::net_equity_positive.eq(form.net_equity_positive),
            vendors::track_record.eq(form.track_record.trim()),
            vendors::status.eq(VendorStatus::Pending),
            vendors::created_at.eq(now),
            vendors::updated_at.eq(now),
        ))
        .execute(conn)?;
    crate::risk::store::set_vendor_keys(
        conn,
        &id,
        &form.phone,
        &form.address,
        &form.email,
        &form.contact_name,
    )?;
    vendors::table
        .find(&id)
        .select(VendorRow::as_select())
        .first(conn)
}

/// The vendor profile of a user, if it has one.
pub fn find_by_user(conn: &mut DbConnection, user_id: &str) -> QueryResult<Option<VendorRow>> {
    vendors::table
        .filter(vendors::user_id.eq(user_id))
        .select(VendorRow::as_select())
        .first(conn)
        .optional()
}

/// The vendor profile of a calling vendor user; 403 for an account without one.
pub fn profile_of(
    conn: &mut DbConnection,
    user_id: &str,
) -> Result<VendorRow, crate::error::ApiError> {
    find_by_user(conn, user_id)?.ok_or_else(|| {
        crate::error::ApiError::Forbidden("This account has no vendor profile.".to_owned())
    })
}

/// A vendor and its account's email.
pub fn find_with_email(conn: &mut DbConnection, id: &str) -> QueryResult<(VendorRow, String)> {
    vendors::table
        .inner_join(users::table)
        .filter(vendors::id.eq(id))
        .select((VendorRow::as_select(), users::email))
        .first(conn)
}

/// Vendors in `status` (all when `None`), newest first, after the keyset position `after`.
pub fn list(
    conn: &mut DbConnection,
    status: Option<VendorStatus>,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> QueryResult<Vec<(VendorRow, String)>> {
    let mut query = vendors::table
        .inner_join(users::table)
        .select((VendorRow::as_select(), users::email))
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(vendors::status.eq(status));
    }
    if let Some((created_at, id)) = after {
        query = query.filter(
            vendors::created_at
                .lt(created_at)
                .or(vendors::created_at.eq(created_at).and(vendors::id.lt(id))),
        );
    }
    query
        .order((vendors::created_at.desc(), vendors::id.desc()))
        .limit(limit)
        .load(conn)
}

/// Moves a vendor from `from` to `to` with `reason`, only if it is still in `from`; returns
/// whether it moved (a concurrent decision may have got there first).
pub fn set_status(
    conn: &mut DbConnection,
    id: &str,
    from: VendorStatus,
    to: VendorStatus,
    reason: Option<&str>,
) -> QueryResult<bool> {
    let updated = diesel::update(
        vendors::table
            .filter(vendors::id.eq(id))
            .filter(vendors::status.eq(from)),
    )
    .set((
        vendors::status.eq(to),
        vendors::status_reason.eq(reason),
        vendors::updated_at.eq(crate::time::now()),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}
