//! The ledger summed by Hong Kong day and kind (`ledger_daily`), kept up to date by entry
//! number: entries are numbered after they commit, each after every entry numbered before it
//! (`budget::store::number_entries`), so at any moment the entries not yet summed are exactly
//! those numbered after `through_seq` and those not numbered yet (`seq` 0).
//! A report refreshes the rollup (one short write), then reads it with the few entries since,
//! so its cost follows the number of days, not the number of entries.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

use super::drawdown::{KindSums, hk_date};
use crate::db::{Backend, DbConnection};

/// The SQL for the Hong Kong day (`YYYY-MM-DD`) of timestamp `column`.
pub(super) fn day_sql(backend: Backend, column: &str) -> String {
    match backend {
        Backend::Postgres => format!("CAST(CAST({column} + interval '8 hours' AS date) AS text)"),
        Backend::Sqlite => format!("date({column}, '+8 hours')"),
    }
}

#[derive(QueryableByName)]
struct DayRow {
    #[diesel(sql_type = Text)]
    day: String,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = BigInt)]
    cents: i64,
    #[diesel(sql_type = BigInt)]
    entries: i64,
}

#[derive(QueryableByName)]
struct Seq {
    #[diesel(sql_type = BigInt)]
    seq: i64,
}

/// Sums the entries after `through_seq` into the rollup, in the caller's write transaction.
pub fn refresh(conn: &mut DbConnection) -> QueryResult<()> {
    crate::budget::store::number_entries(conn)?;
    crate::db::lock_row(conn, "ledger_daily_state", "ledger")?;
    let through: Seq =
        diesel::sql_query("SELECT through_seq AS seq FROM ledger_daily_state WHERE id = 'ledger'")
            .get_result(conn)?;
    // Entries up to the highest number are all committed: numbers are given after commit.
    let last: Seq = diesel::sql_query(
        "SELECT CAST(COALESCE(MAX(seq), $1) AS BIGINT) AS seq FROM budget_ledger WHERE seq > $1",
    )
    .bind::<BigInt, _>(through.seq)
    .get_result(conn)?;
    if last.seq <= through.seq {
        return Ok(());
    }
    let day = day_sql(conn.backend(), "occurred_at");
    let rows: Vec<DayRow> = diesel::sql_query(format!(
        "SELECT {day} AS day, kind, CAST(SUM(amount_cents) AS BIGINT) AS cents, \
         CAST(COUNT(*) AS BIGINT) AS entries FROM budget_ledger \
         WHERE seq > $1 AND seq <= $2 GROUP BY {day}, kind"
    ))
    .bind::<BigInt, _>(through.seq)
    .bind::<BigInt, _>(last.seq)
    .load(conn)?;
    for r in rows {
        diesel::sql_query(
            "INSERT INTO ledger_daily (day, kind, cents, entries) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (day, kind) DO UPDATE SET cents = ledger_daily.cents + excluded.cents, \
             entries = ledger_daily.entries + excluded.entries",
        )
        .bind::<Text, _>(&r.day)
        .bind::<Text, _>(&r.kind)
        .bind::<BigInt, _>(r.cents)
        .bind::<BigInt, _>(r.entries)
        .execute(conn)?;
    }
    diesel::sql_query("UPDATE ledger_daily_state SET through_seq = $1 WHERE id = 'ledger'")
        .bind::<BigInt, _>(last.seq)
        .execute(conn)?;
    Ok(())
}

/// One day of the ledger: the applications' money by kind, the total's adjustments, and the
/// change in the number of applications holding money (a reservation starts holding, a release
/// stops).
#[derive(Debug, Clone, Copy, Default)]
pub struct Day {
    pub sums: KindSums,
    pub adjust: i64,
    pub funded_delta: i64,
}

/// Every day's money by kind (applications' movements and the total's adjustments), for
/// movements before `until`: the rollup's days before `until`'s Hong Kong day, and the
/// entries not summed yet. `until` is the start of a Hong Kong day, or later than any entry.
pub fn sums_before(
    conn: &mut DbConnection,
    until: NaiveDateTime,
) -> QueryResult<BTreeMap<NaiveDate, Day>> {
    let until_day = hk_date(until).format("%Y-%m-%d").to_string();
    let rolled: Vec<DayRow> =
        diesel::sql_query("SELECT day, kind, cents, entries FROM ledger_daily WHERE day < $1")
            .bind::<Text, _>(&until_day)
            .load(conn)?;
    let day = day_sql(conn.backend(), "occurred_at");
    // Two index scans, the unnumbered entries and those numbered after the rollup: written as
    // one `seq = 0 OR seq > …`, the condition matched neither partial index and PostgreSQL read
    // the whole ledger (60 ms at 500,000 entries, for none).
    let fresh: Vec<DayRow> = diesel::sql_query(format!(
        "SELECT day, kind, CAST(SUM(amount_cents) AS BIGINT) AS cents, \
         CAST(COUNT(*) AS BIGINT) AS entries FROM ( \
           SELECT {day} AS day, kind, amount_cents FROM budget_ledger \
           WHERE seq = 0 AND occurred_at < $1 \
           UNION ALL \
           SELECT {day} AS day, kind, amount_cents FROM budget_ledger \
           WHERE seq > 0 AND occurred_at < $1 \
           AND seq > (SELECT through_seq FROM ledger_daily_state WHERE id = 'ledger') \
         ) fresh GROUP BY day, kind"
    ))
    .bind::<Timestamp, _>(until)
    .load(conn)?;
    let mut out: BTreeMap<NaiveDate, Day> = BTreeMap::new();
    for r in rolled.into_iter().chain(fresh) {
        let d = NaiveDate::parse_from_str(&r.day, "%Y-%m-%d").map_err(|e| {
            diesel::result::Error::DeserializationError(
                format!("a rollup day that is not a date: {:?}: {e}", r.day).into(),
            )
        })?;
        let slot = out.entry(d).or_default();
        match r.kind.as_str() {
            "adjust" => slot.adjust += r.cents,
            kind => {
                slot.sums.add(kind, r.cents);
                match kind {
                    "reserve" => slot.funded_delta += r.entries,
                    "release_reserved" | "release_committed" => slot.funded_delta -= r.entries,
                    _ => {}
                }
            }
        }
    }
    Ok(out)
}
