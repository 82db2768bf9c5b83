//! Catalogue queries: only listed packages of approved vendors, on their live revision.

use crate::packages::workflow::PackageStatus;
use crate::vendors::workflow::VendorStatus;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::search::Query;
use crate::db::schema::{categories, package_revisions, packages, vendors};
use crate::db::{Backend, DbConnection};
use crate::money::Money;
use crate::packages::model::{OptionRow, PackageRow, RevisionRow};

/// What narrows the catalogue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    pub category: Option<String>,
    pub sector: Option<String>,
    pub vendor_id: Option<String>,
    pub min_price: Option<Money>,
    pub max_price: Option<Money>,
    /// A search, with the backend whose index answers it.
    pub search: Option<(Backend, Query)>,
    /// Only these packages (a page of search results).
    pub ids: Option<Vec<String>>,
}

/// How the catalogue is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Newest,
    PriceAsc,
    PriceDesc,
}

impl Sort {
    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Newest => "newest",
            Sort::PriceAsc => "price_asc",
            Sort::PriceDesc => "price_desc",
        }
    }
}

/// A keyset position: the last row of the previous page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    ListedAt(NaiveDateTime, String),
    Price(Money, String),
}

/// A catalogue row: the package, its live revision, and its vendor's id and names.
pub type Row = (PackageRow, RevisionRow, (String, String, Option<String>));

/// Listed packages of approved vendors, joined to their live revision and vendor. The caller
/// imports `packages`, `vendors`, `package_revisions`, `PackageStatus` and `VendorStatus`; the
/// solution finder reads the same packages through it.
macro_rules! visible {
    () => {
        packages::table
            .inner_join(vendors::table)
            .inner_join(
                package_revisions::table.on(package_revisions::id
                    .nullable()
                    .eq(packages::live_revision_id)),
            )
            .filter(packages::status.eq(PackageStatus::Listed))
            .filter(vendors::status.eq(VendorStatus::Approved))
    };
}

pub(crate) use visible;

/// The same packages without their revision, for counts that need no revision column.
macro_rules! visible_without_revision {
    () => {
        packages::table
            .inner_join(vendors::table)
            .filter(packages::status.eq(PackageStatus::Listed))
            .filter(packages::live_revision_id.is_not_null())
            .filter(vendors::status.eq(VendorStatus::Approved))
    };
}

/// Applies `filters` to a boxed catalogue query, leaving out the facet being counted.
macro_rules! filtered {
    ($query:expr, $filters:expr, $skip_category:expr, $skip_sector:expr) => {{
        let filters: &Filters = $filters;
        let mut query = filtered_without_price!($query, filters, $skip_category, $skip_sector);
        if let Some(v) = filters.min_price {
            query = query.filter(package_revisions::reference_price_cents.ge(v));
        }
        if let Some(v) = filters.max_price {
            query = query.filter(package_revisions::reference_price_cents.le(v));
        }
        query
    }};
}

/// Applies every filter but the price range (which needs the revision).
macro_rules! filtered_without_price {
    ($query:expr, $filters:expr, $skip_category:expr, $skip_sector:expr) => {{
        let filters: &Filters = $filters;
        let mut query = $query;
        if let Some(v) = filters.category.as_ref().filter(|_| !$skip_category) {
            query = query.filter(packages::category.eq(v.clone()));
        }
        if let Some(v) = filters.sector.as_ref().filter(|_| !$skip_sector) {
            query = query.filter(packages::target_sector.eq(v.clone()));
        }
        if let Some(v) = &filters.vendor_id {
            query = query.filter(packages::vendor_id.eq(v.clone()));
        }
        if let Some(ids) = &filters.ids {
            query = query.filter(packages::id.eq_any(ids.clone()));
        }
        if let Some((backend, q)) = &filters.search {
            use diesel::dsl::sql;
            use diesel::sql_types::{Bool, Text};
            query = match backend {
                Backend::Postgres => query.filter(
                    sql::<Bool>("packages.search_vector @@ CAST(")
                        .bind::<Text, _>(q.tsquery())
                        .sql(" AS tsquery)"),
                ),
                Backend::Sqlite => query.filter(
                    sql::<Bool>("packages.id IN (SELECT package_id FROM package_search WHERE package_search MATCH ")
                        .bind::<Text, _>(q.fts5())
                        .sql(")"),
                ),
            };
        }
        query
    }};
}

/// One page of the catalogue after `after`, at most `limit` rows.
pub fn page(
    conn: &mut DbConnection,
    filters: &Filters,
    sort: Sort,
    after: Option<Position>,
    limit: i64,
) -> QueryResult<Vec<Row>> {
    let query = visible!()
        .select((
            PackageRow::as_select(),
            RevisionRow::as_select(),
            (
                vendors::id,
                vendors::company_name_en,
                vendors::company_name_zh,
            ),
        ))
        .into_boxed();
    let mut query = filtered!(query, filters, false, false);
    let price = package_revisions::reference_price_cents;
    match (sort, after) {
        (Sort::Newest, Some(Position::ListedAt(at, id))) => {
            query = query.filter(
                packages::listed_at
                    .lt(at)
                    .or(packages::listed_at.eq(at).and(packages::id.lt(id))),
            );
        }
        (Sort::PriceAsc, Some(Position::Price(p, id))) => {
            query = query.filter(price.gt(p).or(price.eq(p).and(packages::id.gt(id))));
        }
        (Sort::PriceDesc, Some(Position::Price(p, id))) => {
            query = query.filter(price.lt(p).or(price.eq(p).and(packages::id.lt(id))));
        }
        _ => {}
    }
    let query = match sort {
        Sort::Newest => query.order((packages::listed_at.desc(), packages::id.desc())),
        Sort::PriceAsc => query.order((price.asc(), packages::id.asc())),
        Sort::PriceDesc => query.order((price.desc(), packages::id.desc())),
    };
    query.limit(limit).load(conn)
}

/// The ids of every package matching `filters`, in no order (for ranking search results).
pub fn matching_ids(conn: &mut DbConnection, filters: &Filters) -> QueryResult<Vec<String>> {
    let query = visible!().select(packages::id).into_boxed();
    filtered!(query, filters, false, false).load(conn)
}

/// Counts by category (`by_category`) or by target sector, under every other filter. Without a
/// price range the count skips the revision join.
pub fn facet(
    conn: &mut DbConnection,
    filters: &Filters,
    by_category: bool,
) -> QueryResult<Vec<(String, i64)>> {
    let priced = filters.min_price.is_some() || filters.max_price.is_some();
    /// Counts the visible packages from `source` by `column`, through `filter`.
    macro_rules! count_by {
        ($source:ident, $filter:ident, $column:expr) => {{
            let query = $source!()
                .group_by($column)
                .select(($column, diesel::dsl::count_star()))
                .into_boxed();
            $filter!(query, filters, by_category, !by_category).load(conn)
        }};
    }
    match (by_category, priced) {
        (true, true) => count_by!(visible, filtered, packages::category),
        (true, false) => count_by!(
            visible_without_revision,
            filtered_without_price,
            packages::category
        ),
        (false, true) => count_by!(visible, filtered, packages::target_sector),
        (false, false) => {
            count_by!(
                visible_without_revision,
                filtered_without_price,
                packages::target_sector
            )
        }
    }
}

/// One visible package with its add-ons; NotFound when it is not in the catalogue.
pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<(Row, Vec<OptionRow>)> {
    let row: Row = visible!()
        .filter(packages::id.eq(id))
        .select((
            PackageRow::as_select(),
            RevisionRow::as_select(),
            (
                vendors::id,
                vendors::company_name_en,
                vendors::company_name_zh,
            ),
        ))
        .first(conn)?;
    let (_, options) = crate::packages::store::revision(conn, &row.1.id)?;
    Ok((row, options))
}

/// Whether package `id` is listed in the catalogue now (one query).
pub fn is_listed(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        visible_without_revision!().filter(packages::id.eq(id)),
    ))
    .get_result(conn)
}

/// Active categories in display order, with their counts of visible packages.
pub fn category_counts(conn: &mut DbConnection) -> QueryResult<Vec<(String, String, String, i64)>> {
    let counts: Vec<(String, i64)> = visible_without_revision!()
        .group_by(packages::category)
        .select((packages::category, diesel::dsl::count_star()))
        .load(conn)?;
    let all: Vec<(String, String, String)> = categories::table
        .filter(categories::active.eq(true))
        .order((categories::sort_order, categories::code))
        .select((categories::code, categories::name_en, categories::name_zh))
        .load(conn)?;
    Ok(all
        .into_iter()
        .map(|(code, en, zh)| {
            let count = counts
                .iter()
                .find(|(c, _)| *c == code)
                .map_or(0, |(_, n)| *n);
            (code, en, zh, count)
        })
        .collect())
}
