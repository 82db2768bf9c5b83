//! Statements prepared once per connection, whatever diesel thinks of their SQL.
//!
//! diesel prepares a statement and keeps it in the connection's cache only when it can prove
//! that the statement's type always writes the same SQL. It gives up on every `UPDATE` (a
//! changeset may skip `None` fields), every insert with an optional column (`DEFAULT` in
//! place of a `None`), and all raw SQL (`sql_query`). Such statements are sent as unnamed
//! statements: PostgreSQL parses, analyses and plans each of them on every execution, which
//! was a quarter of its CPU in an application (`perf`, `scripts/bench-applications`).
//!
//! [`Prepared`] keys the cache by the SQL text itself (and the bind types), so it is right for
//! any statement: one whose SQL varies gets one entry per variant. Wrap only statements whose
//! SQL takes a few shapes (not an `IN` list of any length, which SQLite writes out), so the
//! cache stays small.

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::{QueryResult, RunQueryDsl};

/// `Q`, prepared once per connection and its SQL text; see the module.
#[derive(Debug, Clone, Copy)]
pub struct Prepared<Q>(Q);

impl<Q, DB> QueryFragment<DB> for Prepared<Q>
where
    DB: Backend,
    Q: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        if writes_or_binds(&mut pass) {
            return self.0.walk_ast(pass);
        }
        // The pass that asks whether the statement may be cached (the statement says yes:
        // its cache key is its SQL text), or whether it is empty (it is not). diesel asks the
        // first through `&Prepared` as well, which forwards only `walk_ast`, so overriding
        // `is_safe_to_cache_prepared` alone would not reach it.
        pass.push_sql("");
        Ok(())
    }

    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        Ok(true)
    }
}

/// Whether `pass` writes SQL, collects bind values or prints them: every pass but the two that
/// only ask a yes or no of the statement. diesel keeps its passes private; recasting a pass to
/// its own backend (the helper its `MultiConnection` derive uses, so public) calls the query
/// builder's conversion only for a pass that writes SQL.
fn writes_or_binds<DB: Backend>(pass: &mut AstPass<'_, '_, DB>) -> bool {
    use diesel::internal::derives::multiconnection::AstPassHelper;
    if pass.bind_collector().is_some() || pass.debug_binds().is_some() {
        return true;
    }
    let writes = std::cell::Cell::new(false);
    let _ = pass.reborrow().cast_database::<DB>(
        |collector| collector,
        |builder| {
            writes.set(true);
            builder
        },
        |backend| backend,
        |lookup| lookup,
    );
    writes.get()
}

impl<Q> QueryId for Prepared<Q> {
    type QueryId = ();
    // Keyed by SQL text, never by type: the type does not fix the SQL.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, Conn> RunQueryDsl<Conn> for Prepared<Q> {}

/// `.prepared()` on any statement.
pub trait Prepare: Sized {
    /// This statement, prepared once per connection (see [`Prepared`]).
    fn prepared(self) -> Prepared<Self> {
        Prepared(self)
    }
}

impl<Q> Prepare for Q {}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use diesel::connection::{Connection, InstrumentationEvent, SimpleConnection};
    use diesel::prelude::*;
    use diesel::sql_types::{BigInt, Text};
    use diesel::sqlite::SqliteConnection;

    use super::*;
    use crate::db::DbConnection;

    /// A connection (through the two-backend connection type, as the service runs them) with a
    /// table, and the SQL of every statement it prepares for its cache.
    fn connection() -> (DbConnection, Arc<Mutex<Vec<String>>>) {
        let mut conn = DbConnection::Sqlite(SqliteConnection::establish(":memory:").unwrap());
        conn.batch_execute("CREATE TABLE t (id TEXT PRIMARY KEY, n BIGINT NOT NULL)")
            .unwrap();
        let cached = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&cached);
        conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::CacheQuery { sql, .. } = event {
                seen.lock().unwrap().push(sql.to_owned());
            }
        });
        (conn, cached)
    }

    diesel::table! {
        t (id) {
            id -> Text,
            n -> BigInt,
        }
    }

    #[test]
    fn wrapped_statements_are_prepared_once_and_the_others_every_time() {
        let (mut conn, cached) = connection();
        let insert = |conn: &mut DbConnection, id: &str| {
            diesel::sql_query("INSERT INTO t (id, n) VALUES ($1, 0)")
                .bind::<Text, _>(id)
                .prepared()
                .execute(conn)
                .unwrap()
        };
        let bump = |conn: &mut DbConnection, by: i64| {
            diesel::update(t::table.filter(t::n.ge(0)))
                .set(t::n.eq(t::n + by))
                .prepared()
                .execute(conn)
                .unwrap()
        };
        assert_eq!(insert(&mut conn, "a"), 1);
        assert_eq!(insert(&mut conn, "b"), 1);
        assert_eq!(bump(&mut conn, 2), 2);
        assert_eq!(bump(&mut conn, 3), 2);
        #[derive(diesel::QueryableByName)]
        struct Sum {
            #[diesel(sql_type = BigInt)]
            total: i64,
        }
        let read = |conn: &mut DbConnection| {
            diesel::sql_query("SELECT CAST(SUM(n) AS BIGINT) AS total FROM t")
                .prepared()
                .get_result::<Sum>(conn)
                .unwrap()
                .total
        };
        assert_eq!(read(&mut conn), 10);
        assert_eq!(read(&mut conn), 10);
        // Each wrapped statement was prepared once, however often it ran, and ran right.
        let prepared = cached.lock().unwrap().clone();
        assert_eq!(prepared.len(), 3, "{prepared:?}");
        // The same statements unwrapped are never cached: diesel prepares them each time.
        diesel::update(t::table.filter(t::n.ge(0)))
            .set(t::n.eq(t::n + 1))
            .execute(&mut conn)
            .unwrap();
        diesel::sql_query("INSERT INTO t (id, n) VALUES ($1, 0)")
            .bind::<Text, _>("c")
            .execute(&mut conn)
            .unwrap();
        assert_eq!(cached.lock().unwrap().len(), 3);
        // The cache is keyed by the SQL text: another shape of a wrapped statement is another
        // entry, never the first one's statement.
        let bumped = diesel::update(t::table.filter(t::id.eq("a")))
            .set(t::n.eq(t::n + 1))
            .prepared()
            .execute(&mut conn)
            .unwrap();
        assert_eq!(bumped, 1);
        assert_eq!(cached.lock().unwrap().len(), 4);
    }
}
