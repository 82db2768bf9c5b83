//! Catalogue queries: only listed packages of approved vendors, on their live revision.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::Facets;
use super::search::Query;
use super::terms;
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

/// The packages the catalogue shows, joined to their live revision. `packages.visible` (listed,
/// with a live revision, of an approved vendor) and `packages.reference_price_cents` are kept by
/// triggers (migration 000016), so that pages and counts read one table through the partial
/// indexes over visible packages. It filters on the bare column: a partial index `WHERE visible`
/// serves only a query that says `visible` itself, not `visible = $1`. The caller imports
/// `packages` and `package_revisions`; the solution finder reads the same packages through it.
macro_rules! visible {
    () => {
        packages::table
            .inner_join(
                package_revisions::table.on(package_revisions::id
                    .nullable()
                    .eq(packages::live_revision_id)),
            )
            .filter(packages::visible)
    };
}

pub(crate) use visible;

/// Applies `filters` to a boxed query over packages. `facets` leaves out category and sector:
/// the facet counts group by both and apply them afterwards ([`facets`]).
macro_rules! filtered {
    ($query:expr, $filters:expr, $facets:expr) => {{
        let filters: &Filters = $filters;
        let mut query = $query;
        if !$facets {
            if let Some(v) = &filters.category {
                query = query.filter(packages::category.eq(v.clone()));
            }
            if let Some(v) = &filters.sector {
                query = query.filter(packages::target_sector.eq(v.clone()));
            }
        }
        if let Some(v) = &filters.vendor_id {
            query = query.filter(packages::vendor_id.eq(v.clone()));
        }
        if let Some(v) = filters.min_price {
            query = query.filter(packages::reference_price_cents.ge(v.cents()));
        }
        if let Some(v) = filters.max_price {
            query = query.filter(packages::reference_price_cents.le(v.cents()));
        }
        if let Some(ids) = &filters.ids {
            query = query.filter(packages::id.eq_any(ids.clone()));
        }
        if let Some((backend, q)) = &filters.search {
            use diesel::dsl::sql;
            use diesel::sql_types::{Bool, Text};
            query = match backend {
                Backend::Postgres => {
                    use $crate::catalogue::terms;
                    use diesel::sql_types::BigInt;
                    let (tokens, prefix, n) = terms::matches_binds(q);
                    let [a, b, c] = terms::MATCHES;
                    query.filter(
                        sql::<Bool>(&format!("packages.id IN (SELECT package_id FROM ({a}"))
                            .bind::<Text, _>(tokens)
                            .sql(b)
                            .bind::<BigInt, _>(prefix)
                            .sql(c)
                            .bind::<BigInt, _>(n)
                            .sql(") AS m)"),
                    )
                }
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
        .inner_join(vendors::table)
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
    let mut query = filtered!(query, filters, false);
    let price = packages::reference_price_cents;
    match (sort, after) {
        (Sort::Newest, Some(Position::ListedAt(at, id))) => {
            query = query.filter(
                packages::listed_at
                    .lt(at)
                    .or(packages::listed_at.eq(at).and(packages::id.lt(id))),
            );
        }
        (Sort::PriceAsc, Some(Position::Price(p, id))) => {
            let p = p.cents();
            query = query.filter(price.gt(p).or(price.eq(p).and(packages::id.gt(id))));
        }
        (Sort::PriceDesc, Some(Position::Price(p, id))) => {
            let p = p.cents();
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

/// The page and both facets of the search in `filters` (none without a search): best first,
/// ties by id, after `after` (the previous page's last score and id), at most `limit`, in the
/// category and sector asked for; each facet under every filter but its own.
/// - PostgreSQL ([`terms`]): a one-term search narrowed at most by category and sector reads
///   the first rows of its term and the term's kept counts. Otherwise every match, with its
///   score (rank negated), is read once, as on SQLite.
/// - SQLite: every visible match under the filters but category and sector, scored by BM25
///   (negated: higher is better; it favours shorter documents), from one FTS5 query; the facets
///   are counted from those rows and the page ranked from those in the category and sector.
pub fn search_page(
    conn: &mut DbConnection,
    filters: &Filters,
    after: Option<(f64, String)>,
    limit: usize,
) -> QueryResult<(Vec<(String, f64)>, Facets)> {
    use crate::db::schema::package_search;
    use diesel::dsl::sql;
    use diesel::sql_types::{Bool, Double, Text};
    let Some((_, query)) = &filters.search else {
        return Ok((Vec::new(), Facets::default()));
    };
    let matches: Vec<(String, String, String, f64)> = match conn.backend() {
        // A one-term search reads its page and facets from a few index pages.
        Backend::Postgres => {
            if let Some(term) = terms::single(query)
                && terms::counted(filters)
            {
                let (page, cells) = terms::first(conn, term, filters, after, limit)?;
                return Ok((page, facets_of(&cells, filters)));
            }
            terms::matches(conn, query, filters)?
        }
        // BM25 needs the FTS5 table joined and matched here, so the filters' `IN (…)` match is
        // left out.
        Backend::Sqlite => {
            let others = Filters {
                search: None,
                ..filters.clone()
            };
            let q = packages::table
                .inner_join(package_search::table.on(package_search::package_id.eq(packages::id)))
                .filter(packages::visible)
                .filter(sql::<Bool>("package_search MATCH ").bind::<Text, _>(query.fts5()))
                .select((
                    packages::id,
                    packages::category,
                    packages::target_sector,
                    sql::<Double>("-bm25(package_search)"),
                ))
                .into_boxed();
            filtered!(q, &others, true).load(conn)?
        }
    };
    let mut cells: std::collections::BTreeMap<(String, String), i64> = Default::default();
    for (_, category, sector, _) in &matches {
        *cells.entry((category.clone(), sector.clone())).or_default() += 1;
    }
    let cells: Vec<(String, String, i64)> =
        cells.into_iter().map(|((c, s), n)| (c, s, n)).collect();
    let facets = facets_of(&cells, filters);
    let mut ranked: Vec<(String, f64)> = matches
        .into_iter()
        .filter(|(_, category, sector, _)| {
            filters.category.as_ref().is_none_or(|c| c == category)
                && filters.sector.as_ref().is_none_or(|s| s == sector)
        })
        .map(|(id, _, _, score)| (id, score))
        .filter(|(id, score)| {
            after
                .as_ref()
                .is_none_or(|(s, i)| *score < *s || (*score == *s && id > i))
        })
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranked.truncate(limit);
    Ok((ranked, facets))
}

/// Both facets in one pass: the visible packages under every filter but category and sector,
/// counted by (category, sector) with an index-only scan of `packages_visible_facets`, or,
/// when no other filter applies, those counts as the triggers keep them. Each facet is then
/// summed from those cells (a few dozen at most) under the other facet's filter, so that it
/// honours every filter but its own.
pub fn facets(conn: &mut DbConnection, filters: &Filters) -> QueryResult<Facets> {
    let by_facets_alone = filters.vendor_id.is_none()
        && filters.min_price.is_none()
        && filters.max_price.is_none()
        && filters.ids.is_none()
        && filters.search.is_none();
    if let Some((Backend::Postgres, query)) = &filters.search
        && let Some(term) = terms::single(query)
        && terms::counted(filters)
    {
        return Ok(facets_of(&terms::cells(conn, term)?, filters));
    }
    if by_facets_alone {
        // Kept by triggers on `packages` (migration 000016): a dozen rows.
        use crate::db::schema::catalogue_facet_counts as counts;
        let cells: Vec<(String, String, i64)> = counts::table
            .filter(counts::package_count.gt(0))
            .select((
                counts::category,
                counts::target_sector,
                counts::package_count,
            ))
            .load(conn)?;
        return Ok(facets_of(&cells, filters));
    }
    let query = packages::table
        .filter(packages::visible)
        .group_by((packages::category, packages::target_sector))
        .select((
            packages::category,
            packages::target_sector,
            diesel::dsl::count_star(),
        ))
        .into_boxed();
    let cells: Vec<(String, String, i64)> = filtered!(query, filters, true).load(conn)?;
    Ok(facets_of(&cells, filters))
}

fn facets_of(cells: &[(String, String, i64)], filters: &Filters) -> Facets {
    let mut facets = Facets::default();
    for (category, sector, n) in cells {
        if filters.sector.as_ref().is_none_or(|s| s == sector) {
            *facets.category.entry(category.clone()).or_default() += n;
        }
        if filters.category.as_ref().is_none_or(|c| c == category) {
            *facets.target_sector.entry(sector.clone()).or_default() += n;
        }
    }
    facets
}

/// One visible package with its add-ons; NotFound when it is not in the catalogue.
pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<(Row, Vec<OptionRow>)> {
    let row: Row = visible!()
        .inner_join(vendors::table)
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

/// Active categories in display order, with their counts of visible packages.
pub fn category_counts(conn: &mut DbConnection) -> QueryResult<Vec<(String, String, String, i64)>> {
    let counts: Vec<(String, i64)> = packages::table
        .filter(packages::visible)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cells() -> Vec<(String, String, i64)> {
        [
            ("pos", "fnb", 3),
            ("pos", "retail", 2),
            ("crm", "retail", 4),
            ("marketing", "fnb", 1),
        ]
        .into_iter()
        .map(|(c, s, n)| (c.to_owned(), s.to_owned(), n))
        .collect()
    }

    fn counts(pairs: &[(&str, i64)]) -> std::collections::BTreeMap<String, i64> {
        pairs.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect()
    }

    #[test]
    fn each_facet_honours_the_other_facets_filter_but_not_its_own() {
        let none = facets_of(&cells(), &Filters::default());
        assert_eq!(
            none.category,
            counts(&[("crm", 4), ("marketing", 1), ("pos", 5)])
        );
        assert_eq!(none.target_sector, counts(&[("fnb", 4), ("retail", 6)]));

        let retail = Filters {
            sector: Some("retail".to_owned()),
            ..Filters::default()
        };
        let f = facets_of(&cells(), &retail);
        assert_eq!(
            f.category,
            counts(&[("crm", 4), ("pos", 2)]),
            "no zero entries"
        );
        assert_eq!(
            f.target_sector, none.target_sector,
            "its own filter left out"
        );

        let pos_retail = Filters {
            category: Some("pos".to_owned()),
            ..retail
        };
        let f = facets_of(&cells(), &pos_retail);
        assert_eq!(f.category, counts(&[("crm", 4), ("pos", 2)]));
        assert_eq!(f.target_sector, counts(&[("fnb", 3), ("retail", 2)]));
    }
}
