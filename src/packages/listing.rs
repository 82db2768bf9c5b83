//! Listing packages a page at a time, for vendors (their own) and admins (all).

use diesel::prelude::*;
use serde::Deserialize;
use utoipa::IntoParams;

use super::model::{Package, PackageRow};
use super::store;
use super::workflow::PackageStatus;
use crate::db::Db;
use crate::error::ApiError;
use crate::pagination::{self, Page};

/// Which of the vendor's packages to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PackageQuery {
    /// Only packages in this status.
    #[param(value_type = Option<super::workflow::PackageStatus>)]
    pub status: Option<String>,
    /// From a previous page's `next_cursor`.
    #[param(inline, value_type = Option<crate::pagination::PageCursor>)]
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(inline, value_type = Option<crate::pagination::PageLimit>)]
    pub limit: Option<i64>,
}

/// Lists packages for `vendor_id` (all vendors when `None`), newest first: shared with the
/// admin listing.
pub async fn page_of_packages(
    db: &Db,
    vendor_id: Option<String>,
    query: PackageQuery,
) -> Result<Page<Package>, ApiError> {
    let limit = pagination::limit(query.limit)?;
    let status = pagination::status_filter::<PackageStatus>(query.status.as_deref())?;
    let after = pagination::decode_time_cursor(query.cursor.as_deref())?;
    db.run(move |conn| {
        let rows = store::list(conn, vendor_id.as_deref(), status, after, limit + 1)?;
        let keyed: Vec<(String, PackageRow)> = rows
            .into_iter()
            .map(|r| (pagination::time_key(r.created_at, &r.id), r))
            .collect();
        let page = pagination::page(keyed, limit, |(key, _)| key.clone(), |(_, row)| row);
        let items = page
            .items
            .iter()
            .map(|row| store::view(conn, row))
            .collect::<QueryResult<Vec<_>>>()?;
        Ok(Page {
            items,
            next_cursor: page.next_cursor,
        })
    })
    .await
}
