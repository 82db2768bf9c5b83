//! Writes sent together: statements whose results nothing reads before they all commit (an
//! application's row, its ledger entry, its audit event, its emails) go to the database at the
//! end of the transaction's work, in one round trip on PostgreSQL.
//!
//! - On PostgreSQL several statements become one, each a data-modifying `WITH` query of the
//!   last: `WITH w0 AS (… RETURNING 1), w1 AS (… RETURNING 1) SELECT ARRAY[count(w0), …]`.
//!   PostgreSQL runs every one of them to completion, on one snapshot, and fires their
//!   constraint and `AFTER` triggers at the end of the whole statement, so a row may refer to
//!   one inserted beside it. The statements must not touch the same row twice (their order is
//!   not defined), and no statement may read what another writes.
//! - SQLite has no data-modifying `WITH` queries, and no round trips to save: it runs the
//!   statements one after another.
//!
//! Either way [`Together::run`] returns how many rows each statement changed, in the order
//! they were added, so a guarded update that changed nothing is still noticed.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt};
use diesel::sqlite::Sqlite;
use diesel::{QueryResult, RunQueryDsl};

use super::{DbConnection, Prepare};

/// A statement that can run on either backend (any insert, update or delete written with
/// diesel's DSL, whose bind parameters the query builder numbers). Raw SQL with its own `$1`
/// placeholders cannot be combined with others.
pub trait Write {
    fn pg(&self) -> &dyn QueryFragment<Pg>;
    fn sqlite(&self) -> &dyn QueryFragment<Sqlite>;
}

impl<T: QueryFragment<Pg> + QueryFragment<Sqlite>> Write for T {
    fn pg(&self) -> &dyn QueryFragment<Pg> {
        self
    }

    fn sqlite(&self) -> &dyn QueryFragment<Sqlite> {
        self
    }
}

/// Statements to run together; see the module.
#[derive(Default)]
pub struct Together<'a> {
    writes: Vec<Box<dyn Write + 'a>>,
}

/// Where a statement's count is in [`Together::run`]'s answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot(usize);

impl<'a> Together<'a> {
    pub fn new() -> Together<'a> {
        Together::default()
    }

    /// `statement`, to run with the others; its count will be at the returned slot.
    pub fn add(&mut self, statement: impl Write + 'a) -> Slot {
        self.writes.push(Box::new(statement));
        Slot(self.writes.len() - 1)
    }

    /// Runs every statement, prepared once per connection and shape; the rows each changed.
    pub fn run(self, conn: &mut DbConnection) -> QueryResult<Changed> {
        let counts = match (conn, self.writes.as_slice()) {
            (_, []) => Vec::new(),
            (DbConnection::Pg(pg), [one]) => vec![one.pg().prepared().execute(pg)?],
            (DbConnection::Pg(pg), writes) => Combined(writes)
                .prepared()
                .get_result::<Vec<i64>>(pg)?
                .into_iter()
                .map(|n| usize::try_from(n).unwrap_or(0))
                .collect(),
            (DbConnection::Sqlite(sqlite), writes) => writes
                .iter()
                .map(|w| w.sqlite().prepared().execute(sqlite))
                .collect::<QueryResult<_>>()?,
        };
        Ok(Changed(counts))
    }
}

/// Runs `statement` alone; the rows it changed.
pub fn execute(conn: &mut DbConnection, statement: impl Write) -> QueryResult<usize> {
    let mut together = Together::new();
    let slot = together.add(statement);
    Ok(together.run(conn)?[slot])
}

/// How many rows each statement of a [`Together`] changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed(Vec<usize>);

impl std::ops::Index<Slot> for Changed {
    type Output = usize;

    fn index(&self, slot: Slot) -> &usize {
        &self.0[slot.0]
    }
}

/// The statements as one PostgreSQL statement.
struct Combined<'s, 'a>(&'s [Box<dyn Write + 'a>]);

impl QueryFragment<Pg> for Combined<'_, '_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        for (i, write) in self.0.iter().enumerate() {
            out.push_sql(if i == 0 { "WITH " } else { ", " });
            out.push_sql(&format!("w{i} AS ("));
            write.pg().walk_ast(out.reborrow())?;
            out.push_sql(" RETURNING 1)");
        }
        out.push_sql(" SELECT ARRAY[");
        for i in 0..self.0.len() {
            if i > 0 {
                out.push_sql(", ");
            }
            out.push_sql(&format!("(SELECT count(*) FROM w{i})"));
        }
        out.push_sql("]");
        Ok(())
    }
}

impl QueryId for Combined<'_, '_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Combined<'_, '_> {
    type SqlType = Array<BigInt>;
}

impl<Conn> RunQueryDsl<Conn> for Combined<'_, '_> {}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::pg::PgConnection;
    use diesel::prelude::*;
    use diesel::sqlite::SqliteConnection;

    use super::*;

    diesel::table! {
        parents (id) {
            id -> Text,
            n -> BigInt,
        }
    }

    diesel::table! {
        children (id) {
            id -> Text,
            parent_id -> Text,
        }
    }

    allow_tables_to_appear_in_same_query!(parents, children);

    const TABLES: &str = "CREATE TABLE parents (id TEXT PRIMARY KEY, n BIGINT NOT NULL);
        CREATE TABLE children (id TEXT PRIMARY KEY, parent_id TEXT NOT NULL REFERENCES parents);
        INSERT INTO parents (id, n) VALUES ('old', 5);";

    /// A parent inserted, a child referring to it, a guarded update that changes a row and one
    /// that changes none.
    fn writes<'a>() -> (Together<'a>, [Slot; 4]) {
        let mut together = Together::new();
        let slots = [
            together.add(
                diesel::insert_into(parents::table)
                    .values((parents::id.eq("new"), parents::n.eq(1_i64))),
            ),
            together.add(
                diesel::insert_into(children::table)
                    .values((children::id.eq("c"), children::parent_id.eq("new"))),
            ),
            together.add(
                diesel::update(parents::table.find("old").filter(parents::n.ge(5_i64)))
                    .set(parents::n.eq(parents::n - 5)),
            ),
            together.add(
                diesel::update(parents::table.find("old").filter(parents::n.ge(100_i64)))
                    .set(parents::n.eq(parents::n - 100)),
            ),
        ];
        (together, slots)
    }

    fn check(conn: &mut DbConnection) {
        let (together, slots) = writes();
        let changed = together.run(conn).unwrap();
        assert_eq!(slots.map(|s| changed[s]), [1, 1, 1, 0]);
        let mut rows: Vec<(String, i64)> = parents::table
            .select((parents::id, parents::n))
            .order(parents::id)
            .load(conn)
            .unwrap();
        rows.sort();
        assert_eq!(rows, [("new".to_owned(), 1), ("old".to_owned(), 0)]);
        let child: String = children::table
            .select(children::parent_id)
            .first(conn)
            .unwrap();
        assert_eq!(child, "new");
        // A failing statement fails the whole, and its error is the statement's own.
        let mut again = Together::new();
        again.add(
            diesel::insert_into(children::table)
                .values((children::id.eq("d"), children::parent_id.eq("new"))),
        );
        again.add(
            diesel::insert_into(parents::table)
                .values((parents::id.eq("new"), parents::n.eq(2_i64))),
        );
        let err = again.run(conn).unwrap_err();
        assert!(
            matches!(
                err,
                diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _
                )
            ),
            "{err:?}"
        );
        assert_eq!(Together::new().run(conn).unwrap(), Changed(Vec::new()));
    }

    #[test]
    fn runs_every_statement_and_counts_their_rows_on_sqlite() {
        let mut conn = DbConnection::Sqlite(SqliteConnection::establish(":memory:").unwrap());
        conn.batch_execute(&format!("PRAGMA foreign_keys = ON; {TABLES}"))
            .unwrap();
        check(&mut conn);
    }

    /// On PostgreSQL (with `TEST_DATABASE_URL`), in a temporary schema of a transaction that
    /// never commits.
    #[test]
    fn runs_every_statement_as_one_and_counts_their_rows_on_postgres() {
        let Ok(url) = std::env::var("TEST_DATABASE_URL") else {
            return;
        };
        let mut conn = DbConnection::Pg(PgConnection::establish(&url).unwrap());
        conn.test_transaction::<_, diesel::result::Error, _>(|conn| {
            conn.batch_execute(&format!(
                "CREATE SCHEMA together_test; SET LOCAL search_path = together_test; {TABLES}"
            ))?;
            check(conn);
            Ok(())
        });
    }
}
