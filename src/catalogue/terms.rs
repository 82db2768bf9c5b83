//! The catalogue's search on PostgreSQL, over `package_terms` (migration 000018): one row per
//! visible package and every prefix of every token of its search document, keyed by
//! (term, rank, package id) and carrying the package's category and sector.
//!
//! - Every query term is one equality lookup: a whole word or CJK token needs a row whose rank
//!   is below [`PREFIX_ONLY`]; the last word typed, a prefix, takes any row of its term.
//! - A one-term search (most broad searches) reads its page as the first rows of its term in
//!   key order and its facets from `package_term_cells`: a few index pages however many
//!   packages match, where a GIN match read every match's package row.
//! - A search of several terms intersects their rows (every term must match) and ranks the
//!   intersection.
//!
//! Rank, lower first: the number of tokens of the package's document, plus [`PREFIX_ONLY`]
//! where the prefix typed is not a whole word there. So "pos" puts packages with the word
//! "POS" before those with only "posts", and among them the shorter documents (about fewer
//! things) first; ties go by id. A page's score is the rank negated (higher is better, as on
//! SQLite, whose BM25 scores the same cursors carry), an exact integer in an `f64`.

use diesel::prelude::*;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{BigInt, Nullable, Text};

use super::search::Query;
use super::store::Filters;
use crate::db::{Backend, DbConnection, MultiBackend, Prepare};

/// Added to a package's rank where the term is only a prefix of its words (2^32; a document's
/// token count stays far below it). `package_terms_of` in the migration adds the same.
pub const PREFIX_ONLY: i64 = 1 << 32;

/// A page of ranked packages: (id, score), best first.
pub type Page = Vec<(String, f64)>;

/// Facet cells: (category, sector, packages).
pub type Cells = Vec<(String, String, i64)>;

/// The score a page carries for a rank: higher is better.
pub fn score(rank: i64) -> f64 {
    -(rank as f64)
}

/// The packages that match every term of a search, with their category, sector and rank, as
/// SQL around three binds: the query's tokens joined by spaces (tokens hold none), the 1-based
/// position of the token that is a prefix (0: none), and the number of tokens. A token meets at
/// most one row of a package (one row per term and package), so a package matches when it
/// meets as many rows as there are tokens. Its rank is its highest: only the prefix can add
/// [`PREFIX_ONLY`].
pub const MATCHES: [&str; 3] = [
    "SELECT t.package_id, t.category, t.target_sector, MAX(t.rank) AS rank \
     FROM unnest(string_to_array(",
    ", ' ')) WITH ORDINALITY AS q(term, n) \
     JOIN package_terms t ON t.term = q.term AND (q.n = ",
    " OR t.rank < 4294967296) \
     GROUP BY t.package_id, t.category, t.target_sector HAVING COUNT(*) = ",
];

/// The values [`MATCHES`] binds, in order.
pub fn matches_binds(query: &Query) -> (String, i64, i64) {
    let n = i64::try_from(query.tokens.len()).unwrap_or(i64::MAX);
    (
        query.tokens.join(" "),
        if query.prefix_last { n } else { 0 },
        n,
    )
}

/// The term of a one-term search, and whether it must be a whole token (not the prefix typed).
pub fn single(query: &Query) -> Option<(&str, bool)> {
    match query.tokens.as_slice() {
        [term] => Some((term.as_str(), !query.prefix_last)),
        _ => None,
    }
}

/// Whether `filters` narrow a search by nothing but category and sector, which the terms carry.
pub fn counted(filters: &Filters) -> bool {
    filters.vendor_id.is_none()
        && filters.min_price.is_none()
        && filters.max_price.is_none()
        && filters.ids.is_none()
}

/// A statement's text and its values, numbered as they are pushed.
#[derive(Default)]
struct Statement {
    sql: String,
    values: Vec<Value>,
}

enum Value {
    Text(String),
    Int(i64),
}

impl Statement {
    fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    fn value(&mut self, value: Value) -> &mut Self {
        self.values.push(value);
        let n = self.values.len();
        self.sql.push_str(&format!("${n}"));
        self
    }

    fn text(&mut self, value: &str) -> &mut Self {
        self.value(Value::Text(value.to_owned()))
    }

    fn int(&mut self, value: i64) -> &mut Self {
        self.value(Value::Int(value))
    }

    fn query(self) -> BoxedSqlQuery<'static, MultiBackend, SqlQuery> {
        let mut query = diesel::sql_query(self.sql).into_boxed();
        for value in self.values {
            query = match value {
                Value::Text(v) => query.bind::<Text, _>(v),
                Value::Int(v) => query.bind::<BigInt, _>(v),
            };
        }
        query
    }
}

/// The kept cells of a term: its packages per (category, sector), of the whole token when
/// `whole`, else of every word it begins.
fn push_cells(statement: &mut Statement, term: &str, whole: bool) {
    let column = if whole { "whole" } else { "packages" };
    statement
        .push(&format!(
            "SELECT category, target_sector, {column} AS n, \
             CAST(NULL AS TEXT) AS package_id, CAST(NULL AS BIGINT) AS rank \
             FROM package_term_cells WHERE term = "
        ))
        .text(term)
        .push(&format!(" AND {column} > 0"));
}

/// Where a page starts among a term's rows, from the previous page's last score and id.
enum Start {
    First,
    /// After this rank and id (a score this service gave: a whole rank).
    After(i64, String),
    /// From this rank on (a score between ranks, from a cursor made by hand).
    From(i64),
    /// Past every rank.
    Past,
}

impl Start {
    fn of(after: Option<(f64, String)>) -> Start {
        let Some((score, id)) = after else {
            return Start::First;
        };
        let rank = -score;
        if rank.is_nan() || rank >= PREFIX_ONLY as f64 * 2.0 {
            Start::Past
        } else if rank < 0.0 {
            Start::First
        } else if rank.fract() == 0.0 {
            Start::After(rank as i64, id)
        } else {
            Start::From(rank.ceil() as i64)
        }
    }
}

/// The best `limit` packages of a one-term search in the category and sector asked for, from
/// `start`: the first rows of the term in key order.
fn push_first(
    statement: &mut Statement,
    (term, whole): (&str, bool),
    filters: &Filters,
    start: Start,
    limit: usize,
) {
    statement
        .push(
            "SELECT CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS BIGINT), package_id, rank \
             FROM package_terms WHERE term = ",
        )
        .text(term);
    if whole {
        statement.push(&format!(" AND rank < {PREFIX_ONLY}"));
    }
    if let Some(category) = &filters.category {
        statement.push(" AND category = ").text(category);
    }
    if let Some(sector) = &filters.sector {
        statement.push(" AND target_sector = ").text(sector);
    }
    match start {
        Start::After(rank, id) => {
            statement
                .push(" AND (rank, package_id) > (")
                .int(rank)
                .push(", ")
                .text(&id)
                .push(")");
        }
        Start::From(rank) => {
            statement.push(" AND rank >= ").int(rank);
        }
        Start::First | Start::Past => {}
    }
    statement
        .push(" ORDER BY rank, package_id LIMIT ")
        .int(i64::try_from(limit).unwrap_or(i64::MAX));
}

/// A row of a one-term search's statement: a facet cell, or a ranked package.
#[derive(QueryableByName)]
struct Found {
    #[diesel(sql_type = Nullable<Text>)]
    category: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    target_sector: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    n: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    package_id: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    rank: Option<i64>,
}

/// The kept facet cells of a one-term search: (category, sector, packages).
pub fn cells(conn: &mut DbConnection, (term, whole): (&str, bool)) -> QueryResult<Cells> {
    let mut statement = Statement::default();
    push_cells(&mut statement, term, whole);
    Ok(split(statement.query().prepared().load(conn)?).1)
}

/// A one-term search's page ([`push_first`]) and kept facet cells, in one statement.
pub fn first(
    conn: &mut DbConnection,
    term: (&str, bool),
    filters: &Filters,
    after: Option<(f64, String)>,
    limit: usize,
) -> QueryResult<(Page, Cells)> {
    let mut statement = Statement::default();
    push_cells(&mut statement, term.0, term.1);
    let start = Start::of(after);
    if !matches!(start, Start::Past) {
        statement.push(" UNION ALL (");
        push_first(&mut statement, term, filters, start, limit);
        statement.push(")");
    }
    Ok(split(statement.query().prepared().load(conn)?))
}

/// The ranked packages, best first, and the cells of a search's rows.
fn split(rows: Vec<Found>) -> (Page, Cells) {
    let mut ranked = Vec::new();
    let mut cells = Vec::new();
    for row in rows {
        match row {
            Found {
                package_id: Some(id),
                rank: Some(rank),
                ..
            } => ranked.push((rank, id)),
            Found {
                category: Some(category),
                target_sector: Some(sector),
                n: Some(n),
                ..
            } => cells.push((category, sector, n)),
            _ => {}
        }
    }
    ranked.sort();
    let ranked = ranked
        .into_iter()
        .map(|(rank, id)| (id, score(rank)))
        .collect();
    (ranked, cells)
}

#[derive(QueryableByName)]
struct Match {
    #[diesel(sql_type = Text)]
    package_id: String,
    #[diesel(sql_type = Text)]
    category: String,
    #[diesel(sql_type = Text)]
    target_sector: String,
    #[diesel(sql_type = BigInt)]
    rank: i64,
}

/// Every package that matches `query` under the filters but category and sector, with its
/// category, sector and score: what a search of several terms, or one narrowed by vendor or
/// price, ranks and counts.
pub fn matches(
    conn: &mut DbConnection,
    query: &Query,
    filters: &Filters,
) -> QueryResult<Vec<(String, String, String, f64)>> {
    let (tokens, prefix, n) = matches_binds(query);
    let [a, b, c] = MATCHES;
    let mut statement = Statement::default();
    statement
        .push("SELECT m.package_id, m.category, m.target_sector, m.rank FROM (")
        .push(a)
        .text(&tokens)
        .push(b)
        .int(prefix)
        .push(c)
        .int(n)
        .push(") AS m");
    if !counted(filters) {
        statement.push(" JOIN packages p ON p.id = m.package_id WHERE p.visible");
        if let Some(vendor) = &filters.vendor_id {
            statement.push(" AND p.vendor_id = ").text(vendor);
        }
        if let Some(min) = filters.min_price {
            statement
                .push(" AND p.reference_price_cents >= ")
                .int(min.cents());
        }
        if let Some(max) = filters.max_price {
            statement
                .push(" AND p.reference_price_cents <= ")
                .int(max.cents());
        }
        if let Some(ids) = &filters.ids {
            if ids.is_empty() {
                statement.push(" AND FALSE");
            } else {
                statement.push(" AND p.id IN (");
                for (i, id) in ids.iter().enumerate() {
                    statement.push(if i == 0 { "" } else { ", " }).text(id);
                }
                statement.push(")");
            }
        }
    }
    // Prepared once per shape, unless it lists ids (one shape per length of the list).
    let rows: Vec<Match> = match filters.ids {
        None => statement.query().prepared().load(conn)?,
        Some(_) => statement.query().load(conn)?,
    };
    Ok(rows
        .into_iter()
        .map(|m| (m.package_id, m.category, m.target_sector, score(m.rank)))
        .collect())
}

/// Defers the postings' trigger to the end of this transaction, a bulk load that must then call
/// [`rebuild`] (PostgreSQL; nothing on SQLite, whose FTS5 table is written as packages are).
pub fn defer(conn: &mut DbConnection) -> QueryResult<()> {
    if conn.backend() == Backend::Postgres {
        diesel::sql_query("SELECT set_config('dtspp.package_terms', 'deferred', true)")
            .execute(conn)?;
    }
    Ok(())
}

/// Rebuilds the postings and their counts from the visible packages, and keeps them by trigger
/// again for the rest of the transaction.
pub fn rebuild(conn: &mut DbConnection) -> QueryResult<()> {
    if conn.backend() == Backend::Postgres {
        diesel::sql_query("SELECT package_terms_rebuild()").execute(conn)?;
        diesel::sql_query("SELECT set_config('dtspp.package_terms', '', true)").execute(conn)?;
    }
    Ok(())
}
