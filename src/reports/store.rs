//! Gathers the drawdown report's sums: one pass over the ledger and one over the applications
//! per report, aggregated in SQL, all read from one snapshot.
//!
//! Periods are Hong Kong weeks and months, computed by the database (the expressions differ by
//! backend; [`period_sql`] keeps them side by side).

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

use super::drawdown::{Counts, GroupBy, GroupFacts, KindSums, PeriodFacts, StateMoves};
use crate::db::{Backend, DbConnection};

/// The window a report covers: money moved before `until` (exclusive), and, for attribute
/// groups, applications queued at or after `since`.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub since: NaiveDateTime,
    pub until: NaiveDateTime,
}

/// The SQL for the Hong Kong period (its first day, `YYYY-MM-DD`) holding timestamp `column`.
pub(super) fn period_sql(backend: Backend, unit: GroupBy, column: &str) -> String {
    match (backend, unit) {
        (Backend::Postgres, GroupBy::Month) => {
            format!(
                "CAST(CAST(date_trunc('month', {column} + interval '8 hours') AS date) AS text)"
            )
        }
        (Backend::Postgres, _) => {
            format!("CAST(CAST(date_trunc('week', {column} + interval '8 hours') AS date) AS text)")
        }
        (Backend::Sqlite, GroupBy::Month) => {
            format!("date({column}, '+8 hours', 'start of month')")
        }
        // `weekday 0` moves forward to Sunday (or stays on one); six days back is its Monday.
        (Backend::Sqlite, _) => format!("date({column}, '+8 hours', 'weekday 0', '-6 days')"),
    }
}

/// The grouping key of an attribute report, and the joins it needs.
fn attribute_sql(group_by: GroupBy) -> (&'static str, &'static str) {
    match group_by {
        GroupBy::Category => ("p.category", " JOIN packages p ON p.id = a.package_id"),
        GroupBy::Sector => ("s.sector", " JOIN smes s ON s.id = a.sme_id"),
        GroupBy::District => ("s.district", " JOIN smes s ON s.id = a.sme_id"),
        GroupBy::Vendor => ("a.vendor_id", ""),
        GroupBy::Batch | GroupBy::Week | GroupBy::Month => ("a.batch_id", ""),
    }
}

/// The ledger's money by kind, one column each, in cents.
const KIND_SUMS: &str = "\
    CAST(COALESCE(SUM(CASE WHEN l.kind = 'reserve' THEN l.amount_cents ELSE 0 END), 0) AS BIGINT) AS reserve, \
    CAST(COALESCE(SUM(CASE WHEN l.kind = 'commit' THEN l.amount_cents ELSE 0 END), 0) AS BIGINT) AS commit_, \
    CAST(COALESCE(SUM(CASE WHEN l.kind = 'release_reserved' THEN l.amount_cents ELSE 0 END), 0) AS BIGINT) AS release_reserved, \
    CAST(COALESCE(SUM(CASE WHEN l.kind = 'release_committed' THEN l.amount_cents ELSE 0 END), 0) AS BIGINT) AS release_committed, \
    CAST(COALESCE(SUM(CASE WHEN l.kind = 'disburse' THEN l.amount_cents ELSE 0 END), 0) AS BIGINT) AS disburse";

#[derive(QueryableByName)]
struct SumsRow {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = BigInt)]
    reserve: i64,
    #[diesel(sql_type = BigInt)]
    commit_: i64,
    #[diesel(sql_type = BigInt)]
    release_reserved: i64,
    #[diesel(sql_type = BigInt)]
    release_committed: i64,
    #[diesel(sql_type = BigInt)]
    disburse: i64,
}

impl SumsRow {
    fn sums(&self) -> KindSums {
        KindSums {
            reserve: self.reserve,
            commit: self.commit_,
            release_reserved: self.release_reserved,
            release_committed: self.release_committed,
            disburse: self.disburse,
        }
    }
}

/// The statuses of applications holding committed money.
pub(super) const COMMITTED_STATUSES: &str =
    "('approved', 'delivered', 'delivery_confirmed', 'claim_verified')";

/// Application `alias` waited for money: it was not reserved on arrival (reserved then, it
/// has `reserved_at = queued_at` and never waited).
pub(super) fn waited(alias: &str) -> String {
    format!("({alias}.reserved_at IS NULL OR {alias}.reserved_at > {alias}.queued_at)")
}

/// Where a report's application facts come from: the applications themselves, or the counters
/// PostgreSQL keeps of them (`super::rollup`), which serve the period reports and the attribute
/// reports over every application as of now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Applications,
    Rollup,
}

impl Source {
    /// The rollup where the backend keeps it.
    pub fn for_connection(conn: &DbConnection) -> Source {
        if super::rollup::kept(conn) {
            Source::Rollup
        } else {
            Source::Applications
        }
    }
}

/// The start of time for a window: no `from`.
pub fn epoch() -> NaiveDateTime {
    chrono::DateTime::UNIX_EPOCH.naive_utc()
}

/// One attribute group's counts and money as the applications stand (see [`counts_sql`]).
#[derive(QueryableByName, Debug, Clone)]
pub(super) struct CountsRow {
    #[diesel(sql_type = Text)]
    pub key: String,
    #[diesel(sql_type = BigInt)]
    pub applications: i64,
    #[diesel(sql_type = BigInt)]
    pub smes: i64,
    #[diesel(sql_type = BigInt)]
    pub waitlisted_count: i64,
    #[diesel(sql_type = BigInt)]
    pub waitlisted_cents: i64,
    #[diesel(sql_type = BigInt)]
    pub funded: i64,
    #[diesel(sql_type = BigInt)]
    pub on_recovery_cents: i64,
    #[diesel(sql_type = BigInt)]
    pub reserved_cents: i64,
    #[diesel(sql_type = BigInt)]
    pub committed_cents: i64,
    #[diesel(sql_type = BigInt)]
    pub disbursed_cents: i64,
}

impl CountsRow {
    /// Adds another row's counts and money (not its SMEs, which do not add).
    pub fn add(&mut self, o: &CountsRow) {
        self.applications += o.applications;
        self.waitlisted_count += o.waitlisted_count;
        self.waitlisted_cents += o.waitlisted_cents;
        self.funded += o.funded;
        self.on_recovery_cents += o.on_recovery_cents;
        self.reserved_cents += o.reserved_cents;
        self.committed_cents += o.committed_cents;
        self.disbursed_cents += o.disbursed_cents;
    }

    /// The money the applications hold now, by their status, as ledger sums (every status
    /// change moves exactly the application's subsidy; the books-balance tests hold to it).
    fn sums_now(&self) -> KindSums {
        KindSums {
            reserve: self.reserved_cents + self.committed_cents + self.disbursed_cents,
            commit: self.committed_cents + self.disbursed_cents,
            disburse: self.disbursed_cents,
            ..KindSums::default()
        }
    }

    fn counts(&self) -> Counts {
        Counts {
            applications: self.applications,
            smes: self.smes,
            waitlisted_count: self.waitlisted_count,
            waitlisted_cents: self.waitlisted_cents,
            funded: self.funded,
            on_recovery_cents: self.on_recovery_cents,
        }
    }
}

/// Counts over the applications queued in the window, by `key`: waiting and funded as at the
/// window's end. `$1` is the end, `$2` the start.
fn counts_sql(key: &str, joins: &str) -> String {
    const WAITING: &str = "(a.reserved_at IS NULL OR a.reserved_at >= $1) \
                           AND (a.closed_at IS NULL OR a.closed_at >= $1)";
    const FUNDED: &str = "a.reserved_at < $1 AND (a.closed_at IS NULL OR a.closed_at >= $1)";
    format!(
        "SELECT {key} AS key, CAST(COUNT(*) AS BIGINT) AS applications, \
         CAST(0 AS BIGINT) AS smes, \
         CAST(COALESCE(SUM(CASE WHEN {WAITING} THEN 1 ELSE 0 END), 0) AS BIGINT) AS waitlisted_count, \
         CAST(COALESCE(SUM(CASE WHEN {WAITING} THEN a.subsidy_cents ELSE 0 END), 0) AS BIGINT) AS waitlisted_cents, \
         CAST(COALESCE(SUM(CASE WHEN {FUNDED} THEN 1 ELSE 0 END), 0) AS BIGINT) AS funded, \
         CAST(COALESCE(SUM(CASE WHEN rc.marked_at < $1 THEN rc.amount_cents ELSE 0 END), 0) AS BIGINT) AS on_recovery_cents, \
         CAST(COALESCE(SUM(CASE WHEN a.status = 'reserved' THEN a.subsidy_cents ELSE 0 END), 0) AS BIGINT) AS reserved_cents, \
         CAST(COALESCE(SUM(CASE WHEN a.status IN {COMMITTED_STATUSES} THEN a.subsidy_cents ELSE 0 END), 0) AS BIGINT) AS committed_cents, \
         CAST(COALESCE(SUM(CASE WHEN a.status = 'disbursed' THEN a.subsidy_cents ELSE 0 END), 0) AS BIGINT) AS disbursed_cents \
         FROM applications a LEFT JOIN application_recoveries rc ON rc.application_id = a.id{joins} \
         WHERE a.queued_at < $1 AND a.queued_at >= $2 GROUP BY {key}"
    )
}

#[derive(QueryableByName)]
pub(super) struct KeyCount {
    #[diesel(sql_type = Text)]
    pub key: String,
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

/// Distinct SMEs of the cohort's applications by `key`.
///
/// When SMEs partition the groups (a sector or district is the SME's own), each SME is counted
/// in its group if it has an application in the window: a semi-join from `smes`, about three
/// times cheaper than grouping the applications by key and SME. Otherwise (a vendor, category
/// or batch is the application's) the applications are grouped by key and SME first: a hashed
/// distinct, several times cheaper than `COUNT(DISTINCT …)`'s sort.
fn smes_by(
    conn: &mut DbConnection,
    group_by: GroupBy,
    w: Window,
) -> QueryResult<BTreeMap<String, i64>> {
    let (key, joins) = attribute_sql(group_by);
    let sql = if group_by.partitions_smes() {
        format!(
            "SELECT {key} AS key, CAST(COUNT(*) AS BIGINT) AS n FROM smes s \
             WHERE EXISTS ({IN_WINDOW}) GROUP BY {key}"
        )
    } else {
        format!(
            "SELECT key, CAST(COUNT(*) AS BIGINT) AS n FROM (SELECT {key} AS key, a.sme_id \
             FROM applications a{joins} WHERE a.queued_at < $1 AND a.queued_at >= $2 \
             GROUP BY {key}, a.sme_id) per_sme GROUP BY key"
        )
    };
    let rows: Vec<KeyCount> = diesel::sql_query(sql)
        .bind::<Timestamp, _>(w.until)
        .bind::<Timestamp, _>(w.since)
        .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.key, r.n)).collect())
}

/// An application of SME `s` queued in the window (`$1` its end, `$2` its start).
const IN_WINDOW: &str = "SELECT 1 FROM applications a WHERE a.sme_id = s.id \
                         AND a.queued_at < $1 AND a.queued_at >= $2";

/// Lets the report's aggregates hash and sort in memory (PostgreSQL's default 4 MB spills a
/// 100,000-application sort to disk), for this transaction only.
pub fn tune(conn: &mut DbConnection) -> QueryResult<()> {
    if conn.backend() == Backend::Postgres {
        diesel::sql_query("SET LOCAL work_mem = '64MB'").execute(conn)?;
    }
    Ok(())
}

/// Distinct SMEs among the cohort's applications (the totals' `smes`; the other totals are
/// the groups' sums): by a semi-join from `smes`, or from the rollup for a window from the
/// start.
pub fn cohort_smes(conn: &mut DbConnection, w: Window, source: Source) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    if source == Source::Rollup && w.since <= epoch() {
        return super::rollup::cohort_smes(conn, w.until);
    }
    let row: Count = diesel::sql_query(format!(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM smes s WHERE EXISTS ({IN_WINDOW})"
    ))
    .bind::<Timestamp, _>(w.until)
    .bind::<Timestamp, _>(w.since)
    .get_result(conn)?;
    Ok(row.n)
}

/// Disbursed money marked for recovery before `until`, by attribute group.
pub(super) fn on_recovery_by(
    conn: &mut DbConnection,
    group_by: GroupBy,
    until: NaiveDateTime,
) -> QueryResult<BTreeMap<String, i64>> {
    let (key, joins) = attribute_sql(group_by);
    let rows: Vec<KeyCount> = diesel::sql_query(format!(
        "SELECT {key} AS key, CAST(SUM(rc.amount_cents) AS BIGINT) AS n \
         FROM application_recoveries rc JOIN applications a ON a.id = rc.application_id{joins} \
         WHERE rc.marked_at < $1 GROUP BY {key}"
    ))
    .bind::<Timestamp, _>(until)
    .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.key, r.n)).collect())
}

/// The attribute groups' counts and money over the cohort's applications.
fn live_counts(
    conn: &mut DbConnection,
    group_by: GroupBy,
    w: Window,
) -> QueryResult<Vec<CountsRow>> {
    let (key, joins) = attribute_sql(group_by);
    let mut counts: Vec<CountsRow> = diesel::sql_query(counts_sql(key, joins))
        .bind::<Timestamp, _>(w.until)
        .bind::<Timestamp, _>(w.since)
        .load(conn)?;
    let smes = smes_by(conn, group_by, w)?;
    for row in &mut counts {
        row.smes = smes.get(&row.key).copied().unwrap_or(0);
    }
    Ok(counts)
}

/// Attribute groups: the ledger's money and the applications' counts by batch, category,
/// sector, vendor or district, with labels. The rollup serves a report as of now over every
/// application (`now`, no `since`); any other window reads the applications.
pub fn attribute_facts(
    conn: &mut DbConnection,
    group_by: GroupBy,
    w: Window,
    now: bool,
    source: Source,
) -> QueryResult<Vec<GroupFacts>> {
    let (key, joins) = attribute_sql(group_by);
    let counts = if source == Source::Rollup && now && w.since <= epoch() {
        super::rollup::attribute_counts(conn, group_by)?
    } else {
        live_counts(conn, group_by, w)?
    };
    let labels = labels(conn, group_by)?;
    let label = |key: &str| {
        labels
            .get(key)
            .cloned()
            .unwrap_or_else(|| (key.to_owned(), key.to_owned()))
    };
    if now {
        // As of now, each application's money is where its status says: one pass over the
        // applications, no pass over the ledger.
        return Ok(counts
            .into_iter()
            .map(|row| {
                let (label_en, label_zh) = label(&row.key);
                GroupFacts {
                    sums: row.sums_now(),
                    counts: row.counts(),
                    key: row.key,
                    label_en,
                    label_zh,
                }
            })
            .collect());
    }
    let money: Vec<SumsRow> = diesel::sql_query(format!(
        "SELECT {key} AS key, {KIND_SUMS} \
         FROM budget_ledger l JOIN applications a ON a.id = l.application_id{joins} \
         WHERE l.occurred_at < $1 AND a.queued_at >= $2 \
         GROUP BY {key}"
    ))
    .bind::<Timestamp, _>(w.until)
    .bind::<Timestamp, _>(w.since)
    .load(conn)?;
    let mut groups: BTreeMap<String, GroupFacts> = BTreeMap::new();
    let entry = |key: &str| -> GroupFacts {
        let (en, zh) = label(key);
        GroupFacts {
            key: key.to_owned(),
            label_en: en,
            label_zh: zh,
            ..Default::default()
        }
    };
    for row in counts {
        let mut g = entry(&row.key);
        g.counts = row.counts();
        groups.insert(row.key, g);
    }
    for row in money {
        let g = match groups.get_mut(&row.key) {
            Some(g) => g,
            None => groups
                .entry(row.key.clone())
                .or_insert_with(|| entry(&row.key)),
        };
        g.sums = row.sums();
    }
    Ok(groups.into_values().collect())
}

#[derive(QueryableByName)]
struct LabelRow {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = Text)]
    en: String,
    #[diesel(sql_type = Text)]
    zh: String,
}

/// Each group key's English and Chinese label.
fn labels(
    conn: &mut DbConnection,
    group_by: GroupBy,
) -> QueryResult<BTreeMap<String, (String, String)>> {
    let sql = match group_by {
        GroupBy::Batch => "SELECT id AS key, name AS en, name AS zh FROM intake_batches",
        GroupBy::Category => "SELECT code AS key, name_en AS en, name_zh AS zh FROM categories",
        GroupBy::Sector => "SELECT code AS key, name_en AS en, name_zh AS zh FROM sectors",
        GroupBy::Vendor => {
            "SELECT id AS key, company_name_en AS en, \
             COALESCE(company_name_zh, company_name_en) AS zh FROM vendors"
        }
        GroupBy::District | GroupBy::Week | GroupBy::Month => {
            return Ok(crate::validation::DISTRICTS
                .iter()
                .map(|(en, zh)| ((*en).to_owned(), ((*en).to_owned(), (*zh).to_owned())))
                .collect());
        }
    };
    let rows: Vec<LabelRow> = diesel::sql_query(sql).load(conn)?;
    Ok(rows.into_iter().map(|r| (r.key, (r.en, r.zh))).collect())
}

#[derive(QueryableByName)]
struct PeriodRow {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = BigInt)]
    applications: i64,
    #[diesel(sql_type = BigInt)]
    smes: i64,
}

#[derive(QueryableByName)]
struct MoveRow {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = BigInt)]
    cents: i64,
}

pub(super) fn parse_day(key: &str) -> QueryResult<NaiveDate> {
    NaiveDate::parse_from_str(key, "%Y-%m-%d").map_err(|e| {
        diesel::result::Error::DeserializationError(
            format!("a period key that is not a date: {key:?}: {e}").into(),
        )
    })
}

/// Records one kind of state change (its count and subsidy) in a period's facts.
type SetMove = fn(&mut StateMoves, i64, i64);

/// Time groups: every period's ledger flows (dated by when the money moved), the applications
/// and SMEs whose money moved in it, and the waitlist and funding changes, up to `until`.
pub fn period_facts(
    conn: &mut DbConnection,
    unit: GroupBy,
    until: NaiveDateTime,
    source: Source,
) -> QueryResult<BTreeMap<NaiveDate, PeriodFacts>> {
    let backend = conn.backend();
    let mut facts: BTreeMap<NaiveDate, PeriodFacts> = BTreeMap::new();
    for (day, d) in super::daily::sums_before(conn, until)? {
        let p = facts
            .entry(super::drawdown::period_start(unit, day))
            .or_default();
        p.sums = p.sums.plus(d.sums);
        p.adjust += d.adjust;
        p.moves.funded_delta += d.funded_delta;
    }
    match source {
        Source::Rollup => super::rollup::period_applications(conn, unit, until, &mut facts)?,
        Source::Applications => live_period_applications(conn, unit, until, &mut facts)?,
    }
    let marked = period_sql(backend, unit, "marked_at");
    let recoveries: Vec<MoveRow> = diesel::sql_query(format!(
        "SELECT {marked} AS key, CAST(COUNT(*) AS BIGINT) AS n, \
         CAST(COALESCE(SUM(amount_cents), 0) AS BIGINT) AS cents \
         FROM application_recoveries WHERE marked_at < $1 GROUP BY {marked}"
    ))
    .bind::<Timestamp, _>(until)
    .load(conn)?;
    for r in recoveries {
        facts
            .entry(parse_day(&r.key)?)
            .or_default()
            .moves
            .recovery_in = r.cents;
    }
    Ok(facts)
}

/// The applications made in each period of `unit` before `until`, their distinct SMEs, and
/// when applications joined and left the waitlist, read from the applications.
fn live_period_applications(
    conn: &mut DbConnection,
    unit: GroupBy,
    until: NaiveDateTime,
    facts: &mut BTreeMap<NaiveDate, PeriodFacts>,
) -> QueryResult<()> {
    let backend = conn.backend();
    // Applications made in each period, and their distinct SMEs.
    let made = period_sql(backend, unit, "a.queued_at");
    let rows: Vec<PeriodRow> = diesel::sql_query(format!(
        "SELECT key, CAST(SUM(n) AS BIGINT) AS applications, CAST(COUNT(*) AS BIGINT) AS smes \
         FROM (SELECT {made} AS key, a.sme_id, COUNT(*) AS n FROM applications a \
               WHERE a.queued_at < $1 GROUP BY {made}, a.sme_id) per_sme GROUP BY key"
    ))
    .bind::<Timestamp, _>(until)
    .load(conn)?;
    for r in rows {
        let p = facts.entry(parse_day(&r.key)?).or_default();
        p.applications = r.applications;
        p.smes = r.smes;
    }
    // When applications joined and left the waitlist, and started and stopped holding money.
    // An application reserved on arrival has `reserved_at = queued_at` and never waited.
    let waited = waited("a");
    let moves: [(&str, &str, SetMove); 2] = [
        ("a.queued_at", waited.as_str(), |m, n, c| {
            m.waitlist_in = (n, c)
        }),
        (
            "COALESCE(a.reserved_at, a.closed_at)",
            waited.as_str(),
            |m, n, c| m.waitlist_out = (n, c),
        ),
    ];
    for (at, condition, set) in moves {
        let period = period_sql(backend, unit, at);
        let rows: Vec<MoveRow> = diesel::sql_query(format!(
            "SELECT {period} AS key, CAST(COUNT(*) AS BIGINT) AS n, \
             CAST(COALESCE(SUM(a.subsidy_cents), 0) AS BIGINT) AS cents \
             FROM applications a WHERE {condition} AND {at} < $1 GROUP BY {period}"
        ))
        .bind::<Timestamp, _>(until)
        .load(conn)?;
        for r in rows {
            set(
                &mut facts.entry(parse_day(&r.key)?).or_default().moves,
                r.n,
                r.cents,
            );
        }
    }
    Ok(())
}

/// The ledger as at `until`, from the daily rollup: money held by all applications (whatever
/// the cohort), the budget's total (its adjustments, the opening balance among them), and the
/// money committed in the 28 Hong Kong days before `until`'s day.
pub struct Books {
    pub held: KindSums,
    pub total: i64,
    pub committed_last_4_weeks: i64,
}

pub fn books_at(
    conn: &mut DbConnection,
    until: NaiveDateTime,
    as_of: NaiveDate,
) -> QueryResult<Books> {
    let since = as_of - chrono::Duration::days(27);
    let mut books = Books {
        held: KindSums::default(),
        total: 0,
        committed_last_4_weeks: 0,
    };
    for (day, d) in super::daily::sums_before(conn, until)? {
        books.held = books.held.plus(d.sums);
        books.total += d.adjust;
        if day >= since && day <= as_of {
            books.committed_last_4_weeks += d.sums.commit;
        }
    }
    Ok(books)
}
