//! The database layer: migration parity, the shared schema, money columns, transactions.

use std::collections::BTreeSet;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use dtspp::db::schema::programme_rules;
use dtspp::db::{Backend, DbConnection, write_transaction};
use dtspp::error::ApiError;
use dtspp::money::Money;
use dtspp::programme::store;

use crate::helpers::{postgres_enabled, spawn_app};
use crate::test_on_both_backends;

#[derive(Debug, QueryableByName, PartialEq, Eq, PartialOrd, Ord)]
struct ColumnInfo {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = BigInt)]
    not_null: i64,
}

/// Every user table's columns as (table, column, type class, not null), where the type class
/// folds each backend's spelling of the types the shared schema allows.
fn columns(conn: &mut DbConnection) -> BTreeSet<(String, String, String, bool)> {
    let query = match conn.backend() {
        Backend::Sqlite => {
            "SELECT m.name AS table_name, p.name AS column_name, p.type AS data_type,
                    p.\"notnull\" AS not_null
             FROM sqlite_master m JOIN pragma_table_info(m.name) p
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
               AND m.name <> '__diesel_schema_migrations'
               -- The FTS5 indexes and their shadow tables stand for PostgreSQL's search postings
               -- (package_terms) and the guides' GIN index.
               AND m.name NOT LIKE 'package_search%' AND m.name NOT LIKE 'guide_search%'"
        }
        Backend::Postgres => {
            "SELECT table_name::text AS table_name, column_name::text AS column_name,
                    data_type::text AS data_type,
                    CASE WHEN is_nullable = 'NO' THEN 1 ELSE 0 END::bigint AS not_null
             FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'
               -- The guides' stored search tsvector stands for SQLite's FTS5 table.
               AND NOT (table_name = 'guides' AND column_name = 'search_vector')
               -- The drawdown report's rollup is PostgreSQL's (src/reports/rollup.rs); SQLite
               -- computes the same facts from the applications.
               AND table_name NOT IN ('application_deltas', 'report_groups', 'report_smes', 'report_days')
               -- The catalogue's search postings stand for SQLite's FTS5 table
               -- (src/catalogue/terms.rs).
               AND table_name NOT IN ('package_terms', 'package_term_cells')"
        }
    };
    let rows: Vec<ColumnInfo> = diesel::sql_query(query).load(conn).unwrap();
    rows.into_iter()
        .map(|c| {
            let class = match c.data_type.to_ascii_lowercase().as_str() {
                "text" => "text",
                // SQLite's 64-bit rowid alias must be spelled INTEGER PRIMARY KEY.
                "bigint" | "integer" => "bigint",
                "boolean" => "boolean",
                "timestamp" | "timestamp without time zone" => "timestamp",
                other => panic!(
                    "{}.{} has type {other}, which the shared schema does not allow",
                    c.table_name, c.column_name
                ),
            };
            (
                c.table_name,
                c.column_name,
                class.to_owned(),
                c.not_null == 1,
            )
        })
        .collect()
}

#[tokio::test]
async fn both_migration_trees_create_the_same_tables_and_columns() {
    if !postgres_enabled() {
        return;
    }
    let sqlite = spawn_app(Backend::Sqlite).await;
    let postgres = spawn_app(Backend::Postgres).await;
    let in_sqlite = columns(&mut sqlite.conn());
    let in_postgres = columns(&mut postgres.conn());
    assert!(!in_sqlite.is_empty());
    let only_sqlite: Vec<_> = in_sqlite.difference(&in_postgres).collect();
    let only_postgres: Vec<_> = in_postgres.difference(&in_sqlite).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "migrations/sqlite and migrations/postgres disagree.\nonly in SQLite: {only_sqlite:#?}\nonly in PostgreSQL: {only_postgres:#?}"
    );
}

fn insert_rules_version(
    conn: &mut DbConnection,
    version: i64,
    budget: Money,
) -> QueryResult<usize> {
    use programme_rules::dsl as r;
    diesel::insert_into(r::programme_rules)
        .values((
            r::version.eq(version),
            r::budget_total_cents.eq(budget),
            r::matching_ratio_bps.eq(5000),
            r::per_sme_cap_cents.eq(Money::parse("50000").unwrap()),
            r::one_off_ceiling_cents.eq(Money::parse("100000").unwrap()),
            r::subscription_ceiling_cents.eq(Money::parse("100000").unwrap()),
            r::fundable_months.eq(24),
            r::implementation_deadline_days.eq(183),
        ))
        .execute(conn)
}

test_on_both_backends! {
    async fn migrations_seed_the_programme_defaults_and_reference_data(app) {
        let mut conn = app.conn();
        let rules = store::current_rules(&mut conn).unwrap();
        assert_eq!(rules.version, 1);
        assert_eq!(rules.budget_total.to_string(), "500000000.00");
        assert_eq!(rules.per_sme_cap.to_string(), "50000.00");
        assert_eq!(rules.one_off_ceiling.to_string(), "100000.00");
        assert_eq!(rules.subscription_ceiling.to_string(), "100000.00");
        assert_eq!(rules.matching_ratio().to_string(), "0.5000");
        assert_eq!(rules.fundable_months, 24);
        let sectors: Vec<String> = store::sectors(&mut conn).unwrap().into_iter().map(|s| s.code).collect();
        assert_eq!(sectors, ["food_and_beverage", "retail", "tourism", "personal_services"]);
        let categories = store::categories(&mut conn).unwrap();
        let codes: Vec<&str> = categories.iter().map(|c| c.code.as_str()).collect();
        assert_eq!(codes, ["e_payment_pos", "online_marketing", "crm_loyalty"]);
        assert!(categories.iter().all(|c| c.active && !c.name_zh.is_empty()));
    }

    async fn money_is_stored_as_exact_cents_and_read_back_unchanged(app) {
        let mut conn = app.conn();
        let odd = Money::parse("123456789.07").unwrap();
        insert_rules_version(&mut conn, 2, odd).unwrap();
        let rules = store::current_rules(&mut conn).unwrap();
        assert_eq!(rules.version, 2);
        assert_eq!(rules.budget_total, odd);
        let cents: i64 = programme_rules::table
            .filter(programme_rules::version.eq(2))
            .select(programme_rules::budget_total_cents)
            .first(&mut conn)
            .unwrap();
        assert_eq!(cents, 12_345_678_907);
    }

    async fn check_constraints_refuse_impossible_parameters(app) {
        let mut conn = app.conn();
        let result = insert_rules_version(&mut conn, 3, Money::ZERO);
        assert!(
            matches!(
                result,
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::CheckViolation,
                    _
                ))
            ),
            "a zero budget must violate its CHECK constraint: {result:?}"
        );
    }

    async fn a_failed_write_transaction_leaves_nothing_behind(app) {
        let mut conn = app.conn();
        let result: Result<(), ApiError> = write_transaction(&mut conn, |tx| {
            insert_rules_version(tx, 2, Money::parse("1.00").unwrap())?;
            Err(ApiError::Conflict("changed my mind".to_owned()))
        });
        assert!(result.is_err());
        assert_eq!(store::current_rules(&mut conn).unwrap().version, 1);

        write_transaction(&mut conn, |tx| {
            insert_rules_version(tx, 2, Money::parse("1.00").unwrap())?;
            // A nested transaction becomes a savepoint, on both backends.
            let inner: QueryResult<()> = tx.transaction(|tx| {
                insert_rules_version(tx, 3, Money::parse("1.00").unwrap())?;
                Err(diesel::result::Error::RollbackTransaction)
            });
            assert!(inner.is_err());
            Ok(())
        })
        .unwrap();
        assert_eq!(store::current_rules(&mut conn).unwrap().version, 2);
    }
}

/// SQLite write transactions begin IMMEDIATE: concurrent read-then-write transactions queue
/// on the write lock instead of failing with "database is locked".
#[tokio::test]
async fn concurrent_sqlite_writers_queue_instead_of_failing() {
    let app = spawn_app(Backend::Sqlite).await;
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let db = app.db.clone();
            std::thread::spawn(move || {
                let mut conn = db.connection().unwrap();
                let mut failures = Vec::new();
                for _ in 0..50 {
                    let result = write_transaction(&mut conn, |tx| {
                        let latest = store::current_rules(tx)?.version;
                        Ok(insert_rules_version(
                            tx,
                            latest + 1,
                            Money::parse("10.00").unwrap(),
                        )?)
                    });
                    if let Err(e) = result {
                        failures.push(e.to_string());
                    }
                }
                failures
            })
        })
        .collect();
    let failures: Vec<String> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert!(
        failures.is_empty(),
        "{} failures, e.g. {:?}",
        failures.len(),
        failures.first()
    );
    let latest = store::current_rules(&mut app.conn()).unwrap().version;
    assert_eq!(latest, 1 + 4 * 50);
}
