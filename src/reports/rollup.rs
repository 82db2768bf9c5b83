//! The drawdown report's application facts, kept incrementally on PostgreSQL, so that a report
//! over a million applications reads a few hundred counter rows instead of every application.
//!
//! Every insert or change of an application appends its contribution to `application_deltas`
//! (a trigger; a change appends the old row's with sign -1 and the new row's with +1). [`fold`]
//! adds the deltas into the counters and deletes them in one transaction, so any snapshot sees
//! each delta exactly once: folded into the counters, or still in the table. A read therefore
//! takes the counters plus what the deltas left in its snapshot add ("fresh" below), and is
//! exact without waiting for a fold.
//!
//! - `report_groups (dimension, key)`: applications and their money as they stand now, by batch,
//!   category, sector, vendor and district; and the distinct SMEs of every group, `all`
//!   (key `''`), and each Hong Kong week and month.
//! - `report_smes (dimension, key, sme_id, first_at)`: each SME's first application in a group
//!   (batch, category, vendor, week, month, and `all`, which stands for the SME's own sector and
//!   district). Applications are never deleted and their keys never change (triggers refuse
//!   both), so the earliest stays exact and a pair, once there, stays.
//! - `report_days (day)`: applications queued, applications joining and leaving the
//!   waitlist, and SMEs making their first application, by Hong Kong day.
//!
//! SQLite computes the same facts from the applications each time (`super::store`); a test
//! holds the two ways to the same answers on PostgreSQL.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use super::drawdown::{GroupBy, PeriodFacts, hk_date, next_period, period_start};
use super::store::{COMMITTED_STATUSES, CountsRow, KeyCount, parse_day, period_sql, waited};
use crate::db::{Backend, DbConnection};

/// Whether `conn`'s backend keeps the rollup (PostgreSQL).
pub fn kept(conn: &DbConnection) -> bool {
    conn.backend() == Backend::Postgres
}

/// The deltas `filter` picks, each with its application's fixed facts. The facts are looked up
/// per delta (a lateral subquery that `OFFSET 0` keeps from being flattened into a join): a
/// few index lookups each, whatever the planner believes of the deltas table's size, which
/// swings from a million rows after a bulk load to none after its fold. (A plain join, planned
/// on such stale statistics, hashed all 1,000,000 applications for a handful of deltas: 4.8 s
/// per report.)
fn deltas_sql(filter: &str) -> String {
    format!(
        "SELECT d.sign, d.is_insert, d.status, d.subsidy_cents, d.reserved_at, d.closed_at, \
         f.sme_id, f.queued_at, f.batch_id, f.vendor_id, f.category, f.sector, f.district \
         FROM application_deltas d CROSS JOIN LATERAL ( \
           SELECT a.sme_id, a.queued_at, a.batch_id, a.vendor_id, p.category, s.sector, s.district \
           FROM applications a JOIN packages p ON p.id = a.package_id JOIN smes s ON s.id = a.sme_id \
           WHERE a.id = d.application_id OFFSET 0) f \
         WHERE {filter}"
    )
}

/// The groups whose money and counts are kept, for a delta `x`.
const ATTRIBUTE_KEYS: &str = "('batch', x.batch_id), ('category', x.category), \
    ('sector', x.sector), ('vendor', x.vendor_id), ('district', x.district)";

/// The groups whose SMEs are kept as pairs, for a delta `x`. An SME's sector and district are
/// its own, so its `all` pair stands for them.
fn pair_keys() -> String {
    format!(
        "('batch', x.batch_id), ('category', x.category), ('vendor', x.vendor_id), ('all', ''), \
         ('week', {}), ('month', {})",
        period_sql(Backend::Postgres, GroupBy::Week, "x.queued_at"),
        period_sql(Backend::Postgres, GroupBy::Month, "x.queued_at"),
    )
}

/// What deltas `filter` picks add to the attribute groups (`$dimension` narrows them).
fn measures_sql(filter: &str, dimension: Option<&str>) -> String {
    const WAITING: &str = "x.reserved_at IS NULL AND x.closed_at IS NULL";
    let only = dimension.map_or(String::new(), |d| format!(" WHERE k.dimension = {d}"));
    format!(
        "SELECT k.dimension, k.key, CAST(SUM(x.sign) AS BIGINT) AS applications, \
         CAST(SUM(CASE WHEN {WAITING} THEN x.sign ELSE 0 END) AS BIGINT) AS waitlisted_count, \
         CAST(SUM(CASE WHEN {WAITING} THEN x.sign * x.subsidy_cents ELSE 0 END) AS BIGINT) AS waitlisted_cents, \
         CAST(SUM(CASE WHEN x.reserved_at IS NOT NULL AND x.closed_at IS NULL THEN x.sign ELSE 0 END) AS BIGINT) AS funded, \
         CAST(SUM(CASE WHEN x.status = 'reserved' THEN x.sign * x.subsidy_cents ELSE 0 END) AS BIGINT) AS reserved_cents, \
         CAST(SUM(CASE WHEN x.status IN {COMMITTED_STATUSES} THEN x.sign * x.subsidy_cents ELSE 0 END) AS BIGINT) AS committed_cents, \
         CAST(SUM(CASE WHEN x.status = 'disbursed' THEN x.sign * x.subsidy_cents ELSE 0 END) AS BIGINT) AS disbursed_cents \
         FROM ({deltas}) x CROSS JOIN LATERAL (VALUES {ATTRIBUTE_KEYS}) k(dimension, key){only} \
         GROUP BY k.dimension, k.key",
        deltas = deltas_sql(filter),
    )
}

/// Each (group, SME) pair that deltas `filter` open, with the SME's earliest application in it
/// and its sector and district.
fn pairs_sql(filter: &str) -> String {
    format!(
        "SELECT k.dimension, k.key, x.sme_id, MIN(x.queued_at) AS first_at, \
         MIN(x.sector) AS sector, MIN(x.district) AS district \
         FROM ({deltas}) x CROSS JOIN LATERAL (VALUES {keys}) k(dimension, key) \
         WHERE x.is_insert GROUP BY k.dimension, k.key, x.sme_id",
        deltas = deltas_sql(filter),
        keys = pair_keys(),
    )
}

/// SMEs that deltas `filter` bring into groups, counting only applications queued before `$1`:
/// pairs whose first application is before `$1` and that were not in a group before `$1` yet.
/// A new `all` pair also counts in the SME's sector and district. `more` narrows the groups.
fn new_smes_sql(filter: &str, more: &str) -> String {
    format!(
        "SELECT c.dimension, c.key, CAST(COUNT(*) AS BIGINT) AS n FROM ({pairs}) f \
         CROSS JOIN LATERAL (VALUES (f.dimension, f.key), \
             ('sector', CASE WHEN f.dimension = 'all' THEN f.sector END), \
             ('district', CASE WHEN f.dimension = 'all' THEN f.district END)) c(dimension, key) \
         WHERE c.key IS NOT NULL AND f.first_at < $1 AND NOT EXISTS (SELECT 1 FROM report_smes p \
             WHERE p.dimension = f.dimension AND p.key = f.key AND p.sme_id = f.sme_id \
             AND p.first_at < $1){more} \
         GROUP BY c.dimension, c.key",
        pairs = pairs_sql(filter),
    )
}

/// What deltas `filter` add to the days.
fn days_sql(filter: &str) -> String {
    let day = |column: &str| super::daily::day_sql(Backend::Postgres, column);
    let waited = waited("x");
    format!(
        "WITH x AS ({deltas}) \
         SELECT day, CAST(SUM(applications) AS BIGINT) AS applications, \
         CAST(SUM(waitlist_in) AS BIGINT) AS waitlist_in, \
         CAST(SUM(waitlist_in_cents) AS BIGINT) AS waitlist_in_cents, \
         CAST(SUM(waitlist_out) AS BIGINT) AS waitlist_out, \
         CAST(SUM(waitlist_out_cents) AS BIGINT) AS waitlist_out_cents FROM ( \
           SELECT {queued} AS day, x.sign AS applications, \
             CASE WHEN {waited} THEN x.sign ELSE 0 END AS waitlist_in, \
             CASE WHEN {waited} THEN x.sign * x.subsidy_cents ELSE 0 END AS waitlist_in_cents, \
             0 AS waitlist_out, CAST(0 AS BIGINT) AS waitlist_out_cents FROM x \
           UNION ALL \
           SELECT {left}, 0, 0, 0, x.sign, x.sign * x.subsidy_cents FROM x \
           WHERE {waited} AND COALESCE(x.reserved_at, x.closed_at) IS NOT NULL \
         ) m GROUP BY day",
        deltas = deltas_sql(filter),
        queued = day("x.queued_at"),
        left = day("COALESCE(x.reserved_at, x.closed_at)"),
    )
}

/// Adds the deltas committed so far into the counters and deletes them, in the caller's write
/// transaction. Folds take turns (an advisory lock); each statement after the lock sees every
/// fold committed before it. Nothing on SQLite.
pub fn fold(conn: &mut DbConnection) -> QueryResult<usize> {
    if !kept(conn) {
        return Ok(0);
    }
    crate::db::lock_name(conn, "report_rollup", "fold")?;
    // The deltas this fold takes: those committed now. Later ones wait for the next fold.
    let taken = diesel::sql_query("UPDATE application_deltas SET folding = true WHERE NOT folding")
        .execute(conn)?;
    if taken == 0 {
        return Ok(0);
    }
    // A fold after a bulk load groups millions of (group, SME) pairs.
    super::store::tune(conn)?;
    diesel::sql_query(format!(
        "INSERT INTO report_groups (dimension, key, applications, waitlisted_count, \
         waitlisted_cents, funded, reserved_cents, committed_cents, disbursed_cents) {} \
         ON CONFLICT (dimension, key) DO UPDATE SET \
         applications = report_groups.applications + excluded.applications, \
         waitlisted_count = report_groups.waitlisted_count + excluded.waitlisted_count, \
         waitlisted_cents = report_groups.waitlisted_cents + excluded.waitlisted_cents, \
         funded = report_groups.funded + excluded.funded, \
         reserved_cents = report_groups.reserved_cents + excluded.reserved_cents, \
         committed_cents = report_groups.committed_cents + excluded.committed_cents, \
         disbursed_cents = report_groups.disbursed_cents + excluded.disbursed_cents",
        measures_sql("d.folding", None)
    ))
    .execute(conn)?;
    // New SMEs are counted before their pairs go in: a pair already there is not new.
    diesel::sql_query(format!(
        "INSERT INTO report_groups (dimension, key, smes) {} \
         ON CONFLICT (dimension, key) DO UPDATE SET smes = report_groups.smes + excluded.smes",
        new_smes_sql("d.folding", "")
    ))
    .bind::<Timestamp, _>(far_future())
    .execute(conn)?;
    // Each SME's first application by day: a newcomer adds to its first day; an earlier
    // application than the one kept moves the SME to its day.
    let day = |column: &str| super::daily::day_sql(Backend::Postgres, column);
    diesel::sql_query(format!(
        "INSERT INTO report_days (day, new_smes) \
         SELECT day, CAST(SUM(n) AS BIGINT) FROM ( \
           SELECT {new_day} AS day, 1 AS n FROM ({pairs}) f LEFT JOIN report_smes p \
             ON p.dimension = 'all' AND p.key = '' AND p.sme_id = f.sme_id \
           WHERE f.dimension = 'all' AND (p.sme_id IS NULL OR f.first_at < p.first_at) \
           UNION ALL \
           SELECT {old_day}, -1 FROM ({pairs}) f JOIN report_smes p \
             ON p.dimension = 'all' AND p.key = '' AND p.sme_id = f.sme_id \
           WHERE f.dimension = 'all' AND f.first_at < p.first_at \
         ) m GROUP BY day \
         ON CONFLICT (day) DO UPDATE SET new_smes = report_days.new_smes + excluded.new_smes",
        new_day = day("f.first_at"),
        old_day = day("p.first_at"),
        pairs = pairs_sql("d.folding"),
    ))
    .execute(conn)?;
    diesel::sql_query(format!(
        "INSERT INTO report_smes (dimension, key, sme_id, first_at) \
         SELECT dimension, key, sme_id, first_at FROM ({}) f \
         ON CONFLICT (dimension, key, sme_id) \
         DO UPDATE SET first_at = LEAST(report_smes.first_at, excluded.first_at)",
        pairs_sql("d.folding")
    ))
    .execute(conn)?;
    diesel::sql_query(format!(
        "INSERT INTO report_days (day, applications, waitlist_in, waitlist_in_cents, \
         waitlist_out, waitlist_out_cents) {} \
         ON CONFLICT (day) DO UPDATE SET \
         applications = report_days.applications + excluded.applications, \
         waitlist_in = report_days.waitlist_in + excluded.waitlist_in, \
         waitlist_in_cents = report_days.waitlist_in_cents + excluded.waitlist_in_cents, \
         waitlist_out = report_days.waitlist_out + excluded.waitlist_out, \
         waitlist_out_cents = report_days.waitlist_out_cents + excluded.waitlist_out_cents",
        days_sql("d.folding")
    ))
    .execute(conn)?;
    diesel::sql_query("DELETE FROM application_deltas WHERE folding").execute(conn)?;
    Ok(taken)
}

/// A fold that took at least this many deltas leaves as many dead rows behind, which every read
/// of the deltas would scan until vacuumed: [`vacuum`] right after it.
pub const VACUUM_AFTER: usize = 10_000;

/// Clears the dead rows a large fold left in `application_deltas` (measured after the fold of a
/// 1,000,000-application load: reports 200 ms until autovacuum came round, as each read scanned
/// them). Outside any transaction; nothing on SQLite.
pub fn vacuum(conn: &mut DbConnection) -> QueryResult<()> {
    if kept(conn) {
        diesel::sql_query("VACUUM (ANALYZE) application_deltas").execute(conn)?;
    }
    Ok(())
}

/// Recomputes the rollup from the applications, for a history written behind the service's
/// back (a bulk load; a test that moves applications in time). Run it with no writer in flight.
pub fn rebuild(conn: &mut DbConnection) -> QueryResult<usize> {
    if !kept(conn) {
        return Ok(0);
    }
    crate::db::lock_name(conn, "report_rollup", "fold")?;
    diesel::sql_query("TRUNCATE report_groups, report_smes, report_days, application_deltas")
        .execute(conn)?;
    diesel::sql_query(
        "INSERT INTO application_deltas (application_id, sign, is_insert, status, reserved_at, \
         closed_at, subsidy_cents) \
         SELECT id, 1, true, status, reserved_at, closed_at, subsidy_cents FROM applications",
    )
    .execute(conn)?;
    fold(conn)
}

/// Later than any timestamp the programme holds: "no cut-off".
pub fn far_future() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or(NaiveDateTime::MAX)
}

/// The SMEs of `dimension`'s groups (`only` one of them), counting applications queued before
/// `until`: the kept counters, or with a cut-off the pairs before it (for a week or month: a
/// period's pairs are few; sector and district have none of their own), plus the fresh
/// deltas' new pairs.
fn smes_by_key(
    conn: &mut DbConnection,
    dimension: &str,
    until: NaiveDateTime,
    only: Option<&str>,
) -> QueryResult<BTreeMap<String, i64>> {
    let kept: Vec<KeyCount> = if until >= far_future() {
        diesel::sql_query(
            "SELECT key, smes AS n FROM report_groups \
             WHERE dimension = $1 AND ($2 IS NULL OR key = $2)",
        )
        .bind::<Text, _>(dimension)
        .bind::<Nullable<Text>, _>(only)
        .load(conn)?
    } else {
        diesel::sql_query(
            "SELECT key, CAST(COUNT(*) AS BIGINT) AS n FROM report_smes \
             WHERE dimension = $1 AND ($2 IS NULL OR key = $2) AND first_at < $3 GROUP BY key",
        )
        .bind::<Text, _>(dimension)
        .bind::<Nullable<Text>, _>(only)
        .bind::<Timestamp, _>(until)
        .load(conn)?
    };
    let mut out = fresh_smes(conn, dimension, until, only)?;
    for r in kept {
        *out.entry(r.key).or_insert(0) += r.n;
    }
    Ok(out)
}

/// The SMEs that the deltas in this snapshot bring into `dimension`'s groups (`only` one),
/// counting applications queued before `until`.
fn fresh_smes(
    conn: &mut DbConnection,
    dimension: &str,
    until: NaiveDateTime,
    only: Option<&str>,
) -> QueryResult<BTreeMap<String, i64>> {
    let fresh: Vec<KeyCount> = diesel::sql_query(new_smes_sql(
        "true",
        " AND c.dimension = $2 AND ($3 IS NULL OR c.key = $3)",
    ))
    .bind::<Timestamp, _>(until)
    .bind::<Text, _>(dimension)
    .bind::<Nullable<Text>, _>(only)
    .load(conn)?;
    Ok(fresh.into_iter().map(|r| (r.key, r.n)).collect())
}

/// Distinct SMEs with an application queued before `until` (a Hong Kong day's start, or
/// [`far_future`]): the kept count, or before a cut-off the SMEs whose first application came
/// on an earlier day; plus the fresh deltas' newcomers.
pub fn cohort_smes(conn: &mut DbConnection, until: NaiveDateTime) -> QueryResult<i64> {
    if until >= far_future() {
        return Ok(smes_by_key(conn, "all", until, Some(""))?.values().sum());
    }
    let kept: KeyCount = diesel::sql_query(
        "SELECT '' AS key, CAST(COALESCE(SUM(new_smes), 0) AS BIGINT) AS n \
         FROM report_days WHERE day < $1",
    )
    .bind::<Text, _>(hk_date(until).to_string())
    .get_result(conn)?;
    let fresh: i64 = fresh_smes(conn, "all", until, Some(""))?.values().sum();
    Ok(kept.n + fresh)
}

/// The attribute groups as they stand now, over every application: the kept counters plus the
/// fresh deltas, with the money marked for recovery (a small table) counted live.
pub(super) fn attribute_counts(
    conn: &mut DbConnection,
    group_by: GroupBy,
) -> QueryResult<Vec<CountsRow>> {
    let dimension = group_by.as_str();
    let mut rows: BTreeMap<String, CountsRow> = BTreeMap::new();
    let kept: Vec<CountsRow> = diesel::sql_query(
        "SELECT key, applications, smes, waitlisted_count, waitlisted_cents, funded, \
         CAST(0 AS BIGINT) AS on_recovery_cents, reserved_cents, committed_cents, disbursed_cents \
         FROM report_groups WHERE dimension = $1",
    )
    .bind::<Text, _>(dimension)
    .load(conn)?;
    let fresh: Vec<CountsRow> = diesel::sql_query(format!(
        "SELECT key, applications, CAST(0 AS BIGINT) AS smes, waitlisted_count, \
         waitlisted_cents, funded, CAST(0 AS BIGINT) AS on_recovery_cents, reserved_cents, \
         committed_cents, disbursed_cents FROM ({}) m",
        measures_sql("true", Some("$1"))
    ))
    .bind::<Text, _>(dimension)
    .load(conn)?;
    for r in kept.into_iter().chain(fresh) {
        match rows.get_mut(&r.key) {
            Some(row) => row.add(&r),
            None => {
                rows.insert(r.key.clone(), r);
            }
        }
    }
    let smes = smes_by_key(conn, dimension, far_future(), None)?;
    let recovery = super::store::on_recovery_by(conn, group_by, far_future())?;
    Ok(rows
        .into_values()
        .filter(|r| r.applications != 0)
        .map(|mut r| {
            r.smes = smes.get(&r.key).copied().unwrap_or(0);
            r.on_recovery_cents = recovery.get(&r.key).copied().unwrap_or(0);
            r
        })
        .collect())
}

#[derive(QueryableByName, Default)]
struct DayRow {
    #[diesel(sql_type = Text)]
    day: String,
    #[diesel(sql_type = BigInt)]
    applications: i64,
    #[diesel(sql_type = BigInt)]
    waitlist_in: i64,
    #[diesel(sql_type = BigInt)]
    waitlist_in_cents: i64,
    #[diesel(sql_type = BigInt)]
    waitlist_out: i64,
    #[diesel(sql_type = BigInt)]
    waitlist_out_cents: i64,
}

/// The applications made in each period of `unit` before `until` (a Hong Kong day's start, or
/// [`far_future`]), their distinct SMEs, and the waitlist's comings and goings: into `facts`,
/// as `super::store::period_facts` gathers them from the applications.
pub fn period_applications(
    conn: &mut DbConnection,
    unit: GroupBy,
    until: NaiveDateTime,
    facts: &mut BTreeMap<NaiveDate, PeriodFacts>,
) -> QueryResult<()> {
    let until_day = (until < far_future()).then(|| hk_date(until));
    // `far_future`'s own day is past every real one.
    let until_text = hk_date(until).to_string();
    let kept: Vec<DayRow> = diesel::sql_query(
        "SELECT day, applications, waitlist_in, waitlist_in_cents, waitlist_out, \
         waitlist_out_cents FROM report_days WHERE day < $1",
    )
    .bind::<Text, _>(&until_text)
    .load(conn)?;
    let fresh: Vec<DayRow> = diesel::sql_query(format!(
        "SELECT * FROM ({}) f WHERE day < $1",
        days_sql("true")
    ))
    .bind::<Text, _>(&until_text)
    .load(conn)?;
    let mut periods: BTreeMap<NaiveDate, DayRow> = BTreeMap::new();
    for r in kept.into_iter().chain(fresh) {
        let p = periods
            .entry(period_start(unit, parse_day(&r.day)?))
            .or_default();
        p.applications += r.applications;
        p.waitlist_in += r.waitlist_in;
        p.waitlist_in_cents += r.waitlist_in_cents;
        p.waitlist_out += r.waitlist_out;
        p.waitlist_out_cents += r.waitlist_out_cents;
    }
    // Every period's SMEs; the one that `until` cuts counted up to it, and none after it.
    let mut smes = smes_by_key(conn, unit.as_str(), far_future(), None)?;
    if let Some(day) = until_day {
        let end = day.to_string();
        smes.retain(|start, _| *start < end);
        let cut = period_start(unit, day - Duration::days(1));
        if next_period(unit, cut) > day {
            let key = cut.to_string();
            let upto = smes_by_key(conn, unit.as_str(), until, Some(&key))?;
            smes.insert(key.clone(), upto.get(&key).copied().unwrap_or(0));
        }
    }
    // A period is listed where the applications give it something, as the live queries do.
    for (start, p) in periods {
        if p.applications != 0 {
            facts.entry(start).or_default().applications = p.applications;
        }
        if p.waitlist_in != 0 {
            facts.entry(start).or_default().moves.waitlist_in =
                (p.waitlist_in, p.waitlist_in_cents);
        }
        if p.waitlist_out != 0 {
            facts.entry(start).or_default().moves.waitlist_out =
                (p.waitlist_out, p.waitlist_out_cents);
        }
    }
    for (key, n) in smes {
        if n != 0 {
            facts.entry(parse_day(&key)?).or_default().smes = n;
        }
    }
    Ok(())
}
