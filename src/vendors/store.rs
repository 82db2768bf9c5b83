//! Queries over vendors.

use diesel::prelude::*;

use super::model::{RegisterVendor, VendorRow};
use crate::db::DbConnection;
use crate::db::schema::vendors;

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
            vendors::status.eq("pending"),
            vendors::created_at.eq(now),
            vendors::updated_at.eq(now),
        ))
        .execute(conn)?;
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
