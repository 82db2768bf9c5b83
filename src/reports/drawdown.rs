//! The drawdown report's arithmetic: pure functions from gathered sums to the report.
//!
//! The store (`super::store`) sums the ledger and the applications in SQL, by group and by
//! period; this module turns those sums into balances, flows, averages and the burn rate, and
//! knows nothing of the database. Time is Hong Kong time (UTC+8, no daylight saving): a week
//! starts on Monday and a month on its first day, as a Hong Kong reader would count them.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate};
use serde::Serialize;
use utoipa::ToSchema;

use crate::money::Money;
use crate::text_enum::text_enum;

text_enum! {
    /// How the drawdown report groups applications.
    pub enum GroupBy {
        Week => "week",
        Month => "month",
        Batch => "batch",
        Category => "category",
        Sector => "sector",
        Vendor => "vendor",
        District => "district",
    }
}

impl GroupBy {
    /// Whether groups are periods of time (with flows), rather than attributes.
    pub fn is_time(self) -> bool {
        matches!(self, GroupBy::Week | GroupBy::Month)
    }

    /// Whether every SME falls in exactly one group (an SME has one sector and one district),
    /// so that the groups' SME counts add up to the distinct SMEs of all of them.
    pub fn partitions_smes(self) -> bool {
        matches!(self, GroupBy::Sector | GroupBy::District)
    }
}

pub use crate::time::{hk_date, hk_day_start};

/// The first day of the period of `unit` that holds `day`: its Monday, or its month's first.
pub fn period_start(unit: GroupBy, day: NaiveDate) -> NaiveDate {
    match unit {
        GroupBy::Month => day.with_day(1).unwrap_or(day),
        _ => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
    }
}

/// The first day of the period after the one starting on `start`.
pub fn next_period(unit: GroupBy, start: NaiveDate) -> NaiveDate {
    match unit {
        GroupBy::Month => start
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(start),
        _ => start + Duration::days(7),
    }
}

/// The first days of the periods of `unit` from the one holding `first` to the one holding
/// `last` (at least one).
pub fn period_starts(unit: GroupBy, first: NaiveDate, last: NaiveDate) -> Vec<NaiveDate> {
    let first = period_start(unit, first);
    let last = period_start(unit, last.max(first));
    let mut starts = Vec::new();
    let mut start = first;
    while start <= last {
        starts.push(start);
        let next = next_period(unit, start);
        if next <= start {
            break;
        }
        start = next;
    }
    starts
}

/// A period's key and its labels in English and Chinese.
pub fn period_labels(unit: GroupBy, start: NaiveDate) -> (String, String, String) {
    let key = start.format("%Y-%m-%d").to_string();
    match unit {
        GroupBy::Month => (
            start.format("%Y-%m").to_string(),
            start.format("%B %Y").to_string(),
            format!("{}年{}月", start.year(), start.month()),
        ),
        _ => (
            key,
            format!("Week of {}", start.format("%-d %b %Y")),
            format!("{}年{}月{}日當週", start.year(), start.month(), start.day()),
        ),
    }
}

/// Sums of ledger entries by kind, in cents (as the store reads them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KindSums {
    pub reserve: i64,
    pub commit: i64,
    pub release_reserved: i64,
    pub release_committed: i64,
    pub disburse: i64,
}

impl KindSums {
    /// Adds `cents` of ledger kind `kind`; other kinds (a total's `adjust`) are not held money.
    pub fn add(&mut self, kind: &str, cents: i64) {
        let slot = match kind {
            "reserve" => &mut self.reserve,
            "commit" => &mut self.commit,
            "release_reserved" => &mut self.release_reserved,
            "release_committed" => &mut self.release_committed,
            "disburse" => &mut self.disburse,
            _ => return,
        };
        *slot = slot.saturating_add(cents);
    }

    pub fn plus(self, o: KindSums) -> KindSums {
        KindSums {
            reserve: self.reserve + o.reserve,
            commit: self.commit + o.commit,
            release_reserved: self.release_reserved + o.release_reserved,
            release_committed: self.release_committed + o.release_committed,
            disburse: self.disburse + o.disburse,
        }
    }

    /// The balances these movements leave, starting from nothing.
    pub fn held(self) -> Held {
        Held {
            reserved: self.reserve - self.commit - self.release_reserved,
            committed: self.commit - self.release_committed - self.disburse,
            disbursed: self.disburse,
        }
    }
}

/// Money held by applications, in cents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Held {
    pub reserved: i64,
    pub committed: i64,
    pub disbursed: i64,
}

impl Held {
    pub fn sum(self) -> i64 {
        self.reserved + self.committed + self.disbursed
    }
}

/// Counts over a group's applications, as the store reads them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub applications: i64,
    pub smes: i64,
    pub waitlisted_count: i64,
    pub waitlisted_cents: i64,
    /// Applications holding money (reserved, committed or disbursed): the divisor of the
    /// average subsidy.
    pub funded: i64,
    /// Disbursed money a confirmed risk flag marked for recovery, in cents.
    pub on_recovery_cents: i64,
}

/// What the store gathered for one attribute group (a batch, a vendor, …).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupFacts {
    pub key: String,
    pub label_en: String,
    pub label_zh: String,
    pub sums: KindSums,
    pub counts: Counts,
}

/// Waitlist and funding changes in one period: applications joining and leaving each state,
/// and the subsidy they carry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateMoves {
    pub waitlist_in: (i64, i64),
    pub waitlist_out: (i64, i64),
    /// Applications that started holding money less those that stopped.
    pub funded_delta: i64,
    /// Disbursed money marked for recovery in the period, in cents.
    pub recovery_in: i64,
}

/// What the store gathered for one period, keyed by the period's first (Hong Kong) day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeriodFacts {
    pub sums: KindSums,
    /// Distinct applications and SMEs whose money moved in the period.
    pub applications: i64,
    pub smes: i64,
    pub moves: StateMoves,
    /// Changes to the budget's total (rules changes) in the period.
    pub adjust: i64,
}

/// One group of the report.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Group {
    /// The group's code: a period's first day (`2026-01-26`) or month (`2026-01`), a batch or
    /// vendor id, a category or sector code, or a district's English name.
    pub key: String,
    pub label_en: String,
    pub label_zh: String,
    /// Applications in the group; for a period, those whose money moved in it.
    pub applications: i64,
    /// Distinct SMEs among them.
    pub smes: i64,
    /// Balances at the report's end, or at the period's end.
    pub reserved: Money,
    pub committed: Money,
    pub disbursed: Money,
    /// Applications waiting for money then, and the subsidy they would take.
    pub waitlisted_count: i64,
    pub waitlisted_amount: Money,
    /// Money held divided by the applications holding it, rounded half-up to the cent.
    pub average_subsidy: Money,
    /// Disbursed money that a confirmed risk flag marked for recovery (part of `disbursed`).
    pub amount_on_recovery: Money,
    /// Periods only: money that moved into reservations in the period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserved_in: Option<Money>,
    /// Periods only: reservations and commitments released back to the budget.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub released_in: Option<Money>,
    /// Periods only: reservations approved into commitments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub committed_in: Option<Money>,
    /// Periods only: commitments paid out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disbursed_in: Option<Money>,
}

/// The burn rate and when the money would run out at that rate.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Burn {
    /// New commitments per week, averaged over the 4 weeks before `as_of`.
    pub weekly_average: Money,
    /// The day the available money runs out if commitments continue at `weekly_average`;
    /// `null` when nothing was committed in those 4 weeks. The report's own day when nothing is
    /// available any more.
    #[schema(value_type = Option<String>, format = Date, example = "2027-03-31")]
    pub projected_exhaustion_date: Option<NaiveDate>,
}

/// A report's arithmetic went wrong: the ledger gave a negative balance, which only corrupt
/// books can.
#[derive(Debug, thiserror::Error)]
#[error("the ledger gives a negative or oversized amount ({0} cents) for {1}")]
pub struct BooksError(pub i64, pub &'static str);

fn money(cents: i64, what: &'static str) -> Result<Money, BooksError> {
    Money::from_cents(cents).map_err(|_| BooksError(cents, what))
}

/// `held / count`, rounded half-up to the cent; zero when nothing is held.
pub fn average(held_cents: i64, count: i64) -> i64 {
    if count <= 0 || held_cents <= 0 {
        return 0;
    }
    let (q, r) = (held_cents / count, held_cents % count);
    if r * 2 >= count { q + 1 } else { q }
}

fn group(
    key: String,
    label_en: String,
    label_zh: String,
    held: Held,
    counts: Counts,
    flows: Option<KindSums>,
) -> Result<Group, BooksError> {
    let flow = |cents: i64, what| flows.map(|_| money(cents, what)).transpose();
    let f = flows.unwrap_or_default();
    Ok(Group {
        key,
        label_en,
        label_zh,
        applications: counts.applications,
        smes: counts.smes,
        reserved: money(held.reserved, "reserved")?,
        committed: money(held.committed, "committed")?,
        disbursed: money(held.disbursed, "disbursed")?,
        waitlisted_count: counts.waitlisted_count,
        waitlisted_amount: money(counts.waitlisted_cents, "waitlisted_amount")?,
        average_subsidy: money(average(held.sum(), counts.funded), "average_subsidy")?,
        amount_on_recovery: money(counts.on_recovery_cents, "amount_on_recovery")?,
        reserved_in: flow(f.reserve, "reserved_in")?,
        released_in: flow(f.release_reserved + f.release_committed, "released_in")?,
        committed_in: flow(f.commit, "committed_in")?,
        disbursed_in: flow(f.disburse, "disbursed_in")?,
    })
}

/// The `totals` row of a report.
fn total_group(held: Held, counts: Counts, flows: Option<KindSums>) -> Result<Group, BooksError> {
    group(
        "total".into(),
        "Total".into(),
        "總計".into(),
        held,
        counts,
        flows,
    )
}

/// Attribute groups and their totals. The groups are ordered by money held, most first, then
/// by key; the totals are the groups' sums, but for `smes`, the cohort's distinct SMEs (which
/// do not add up across groups).
pub fn attribute_groups(
    facts: Vec<GroupFacts>,
    smes: i64,
) -> Result<(Vec<Group>, Group), BooksError> {
    let mut all = KindSums::default();
    let mut totals = Counts {
        smes,
        ..Counts::default()
    };
    let mut groups = facts
        .into_iter()
        .map(|f| {
            all = all.plus(f.sums);
            totals.applications += f.counts.applications;
            totals.waitlisted_count += f.counts.waitlisted_count;
            totals.waitlisted_cents += f.counts.waitlisted_cents;
            totals.funded += f.counts.funded;
            totals.on_recovery_cents += f.counts.on_recovery_cents;
            group(f.key, f.label_en, f.label_zh, f.sums.held(), f.counts, None)
        })
        .collect::<Result<Vec<_>, _>>()?;
    groups.sort_by(|a, b| {
        let held = |g: &Group| g.reserved.cents() + g.committed.cents() + g.disbursed.cents();
        held(b).cmp(&held(a)).then_with(|| a.key.cmp(&b.key))
    });
    let totals = total_group(all.held(), totals, None)?;
    Ok((groups, totals))
}

/// Periods from the one holding `first` to the one holding `last`, each with its balances at
/// its end and its flows. `facts` may hold periods before `first`: their movements are carried
/// into the opening balances. The totals count every application made and `smes` distinct
/// SMEs; their balances are those at the end, and their flows the listed periods' sum.
pub fn time_groups(
    unit: GroupBy,
    facts: &BTreeMap<NaiveDate, PeriodFacts>,
    first: NaiveDate,
    last: NaiveDate,
    smes: i64,
) -> Result<(Vec<Group>, Group), BooksError> {
    let totals = Counts {
        applications: facts.values().map(|p| p.applications).sum(),
        smes,
        ..Counts::default()
    };
    let starts = period_starts(unit, first, last);
    let first = starts.first().copied().unwrap_or(first);
    let mut running = KindSums::default();
    let mut waitlist = (0i64, 0i64);
    let mut funded = 0i64;
    let mut recovery = 0i64;
    let mut listed = KindSums::default();
    let mut carry = |p: &PeriodFacts, running: &mut KindSums| {
        *running = running.plus(p.sums);
        waitlist.0 += p.moves.waitlist_in.0 - p.moves.waitlist_out.0;
        waitlist.1 += p.moves.waitlist_in.1 - p.moves.waitlist_out.1;
        funded += p.moves.funded_delta;
        recovery += p.moves.recovery_in;
        (waitlist, funded, recovery)
    };
    let mut state = ((0, 0), 0, 0);
    for (_, p) in facts.range(..first) {
        state = carry(p, &mut running);
    }
    let mut groups = Vec::new();
    for start in starts {
        let p = facts.get(&start).copied().unwrap_or_default();
        state = carry(&p, &mut running);
        listed = listed.plus(p.sums);
        let (key, en, zh) = period_labels(unit, start);
        let counts = Counts {
            applications: p.applications,
            smes: p.smes,
            waitlisted_count: state.0.0,
            waitlisted_cents: state.0.1,
            funded: state.1,
            on_recovery_cents: state.2,
        };
        groups.push(group(key, en, zh, running.held(), counts, Some(p.sums))?);
    }
    let totals = Counts {
        waitlisted_count: state.0.0,
        waitlisted_cents: state.0.1,
        funded: state.1,
        on_recovery_cents: state.2,
        ..totals
    };
    let totals = total_group(running.held(), totals, Some(listed))?;
    Ok((groups, totals))
}

/// The periods listed by [`time_groups`] for the same arguments, each with its first day and
/// the budget's total at its end, given the total at the report's end.
pub fn period_budgets(
    unit: GroupBy,
    facts: &BTreeMap<NaiveDate, PeriodFacts>,
    first: NaiveDate,
    last: NaiveDate,
    total_at_end: i64,
) -> Vec<(NaiveDate, i64)> {
    let starts = period_starts(unit, first, last);
    // Walk back from the end, undoing each later period's adjustments.
    let mut total = total_at_end;
    let mut out: Vec<(NaiveDate, i64)> = starts
        .iter()
        .rev()
        .map(|s| {
            let here = (*s, total);
            total -= facts.get(s).map(|p| p.adjust).unwrap_or(0);
            here
        })
        .collect();
    out.reverse();
    out
}

/// The burn rate over the 4 weeks before `as_of` and the projected exhaustion date.
pub fn burn(
    committed_last_4_weeks: i64,
    available: i64,
    as_of: NaiveDate,
) -> Result<Burn, BooksError> {
    let weekly = average(committed_last_4_weeks, 4);
    let projected_exhaustion_date = if available <= 0 {
        Some(as_of)
    } else if weekly <= 0 {
        None
    } else {
        // Days until `available` is gone at `weekly` per 7 days, rounded up to a whole day.
        let (num, den) = (i128::from(available) * 7, i128::from(weekly));
        let days = (num + den - 1) / den;
        i64::try_from(days)
            .ok()
            .and_then(|d| as_of.checked_add_signed(Duration::days(d)))
    };
    Ok(Burn {
        weekly_average: money(weekly, "weekly_average")?,
        projected_exhaustion_date,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        assert_eq!(
            period_start(GroupBy::Week, d("2026-11-28")),
            d("2026-11-23")
        );
        assert_eq!(
            period_start(GroupBy::Week, d("2026-11-23")),
            d("2026-11-23")
        );
        assert_eq!(
            period_start(GroupBy::Week, d("2026-11-29")),
            d("2026-11-23")
        );
        assert_eq!(
            period_start(GroupBy::Month, d("2026-11-28")),
            d("2026-11-01")
        );
        assert_eq!(
            next_period(GroupBy::Month, d("2026-12-01")),
            d("2027-01-01")
        );
        assert_eq!(next_period(GroupBy::Week, d("2026-12-28")), d("2027-01-04"));
    }

    #[test]
    fn hong_kong_days_begin_at_16_00_utc() {
        let start = hk_day_start(d("2026-02-01"));
        assert_eq!(start.to_string(), "2026-01-31 16:00:00");
        assert_eq!(hk_date(start), d("2026-02-01"));
        assert_eq!(hk_date(start - Duration::seconds(1)), d("2026-01-31"));
    }

    #[test]
    fn labels_are_bilingual() {
        assert_eq!(
            period_labels(GroupBy::Month, d("2026-01-01")),
            ("2026-01".into(), "January 2026".into(), "2026年1月".into())
        );
        assert_eq!(
            period_labels(GroupBy::Week, d("2026-01-26")),
            (
                "2026-01-26".into(),
                "Week of 26 Jan 2026".into(),
                "2026年1月26日當週".into()
            )
        );
    }

    #[test]
    fn the_average_rounds_half_up_to_the_cent() {
        assert_eq!(average(10, 4), 3); // 2.5 → 3
        assert_eq!(average(9, 4), 2); // 2.25 → 2
        assert_eq!(average(0, 0), 0);
        assert_eq!(average(100, 0), 0);
    }

    #[test]
    fn burn_projects_the_day_the_money_runs_out() {
        // HK$7,000 committed a week on average; HK$1,000 left: one more day.
        let b = burn(2_800_000, 100_000, d("2026-03-01")).unwrap();
        assert_eq!(b.weekly_average.to_string(), "7000.00");
        assert_eq!(b.projected_exhaustion_date, Some(d("2026-03-02")));
        assert_eq!(
            burn(0, 100, d("2026-03-01"))
                .unwrap()
                .projected_exhaustion_date,
            None
        );
        assert_eq!(
            burn(400, 0, d("2026-03-01"))
                .unwrap()
                .projected_exhaustion_date,
            Some(d("2026-03-01"))
        );
    }

    fn sums(reserve: i64, commit: i64, rr: i64, rc: i64, disburse: i64) -> KindSums {
        KindSums {
            reserve,
            commit,
            release_reserved: rr,
            release_committed: rc,
            disburse,
        }
    }

    #[test]
    fn periods_carry_earlier_movements_and_fill_gaps() {
        let mut facts = BTreeMap::new();
        facts.insert(
            d("2026-01-05"),
            PeriodFacts {
                sums: sums(1000, 0, 0, 0, 0),
                applications: 1,
                smes: 1,
                moves: StateMoves {
                    funded_delta: 1,
                    ..Default::default()
                },
                adjust: 0,
            },
        );
        facts.insert(
            d("2026-01-19"),
            PeriodFacts {
                sums: sums(0, 1000, 0, 0, 400),
                applications: 1,
                smes: 1,
                moves: StateMoves::default(),
                adjust: 0,
            },
        );
        let (groups, totals) =
            time_groups(GroupBy::Week, &facts, d("2026-01-14"), d("2026-01-20"), 0).unwrap();
        assert_eq!(groups.len(), 2, "the weeks of 12 and 19 January");
        assert_eq!(groups[0].key, "2026-01-12");
        assert_eq!(
            groups[0].reserved.to_string(),
            "10.00",
            "carried from before"
        );
        assert_eq!(groups[0].reserved_in.unwrap().to_string(), "0.00");
        assert_eq!(groups[1].committed.to_string(), "6.00");
        assert_eq!(groups[1].disbursed.to_string(), "4.00");
        assert_eq!(groups[1].average_subsidy.to_string(), "10.00");
        assert_eq!(totals.committed_in.unwrap().to_string(), "10.00");
        assert_eq!(
            totals.reserved_in.unwrap().to_string(),
            "0.00",
            "before the window"
        );
    }

    proptest! {
        /// Whatever the movements, each period's balances are the last one's plus its flows, the
        /// listed flows add up to the totals' and the last period's balances are the totals'.
        #[test]
        fn periods_add_up(journeys in proptest::collection::vec((0i64..100, 0i64..20, 0i64..20, 1i64..10_000, 0u8..5), 0..40)) {
            let base = d("2026-01-01");
            let mut facts: BTreeMap<NaiveDate, PeriodFacts> = BTreeMap::new();
            let mut add = |day: i64, kind: &str, cents: i64| {
                let start = period_start(GroupBy::Week, base + Duration::days(day));
                facts.entry(start).or_default().sums.add(kind, cents);
            };
            // Each application's money moves as the lifecycle allows, so the books stay sound.
            for (day, d1, d2, cents, fate) in &journeys {
                add(*day, "reserve", *cents);
                match fate {
                    1 => add(day + d1, "release_reserved", *cents),
                    2 => add(day + d1, "commit", *cents),
                    3 => {
                        add(day + d1, "commit", *cents);
                        add(day + d1 + d2, "release_committed", *cents);
                    }
                    4 => {
                        add(day + d1, "commit", *cents);
                        add(day + d1 + d2, "disburse", *cents);
                    }
                    _ => {}
                }
            }
            let last = base + Duration::days(150);
            let (groups, totals) =
                time_groups(GroupBy::Week, &facts, base, last, 0).unwrap();
            let mut prev = Held::default();
            let mut flows = 0i64;
            for g in &groups {
                let held = g.reserved.cents() + g.committed.cents() + g.disbursed.cents();
                let delta = g.reserved_in.unwrap().cents() - g.released_in.unwrap().cents();
                prop_assert_eq!(held, prev.sum() + delta);
                prop_assert_eq!(g.disbursed.cents(), prev.disbursed + g.disbursed_in.unwrap().cents());
                prev = Held { reserved: g.reserved.cents(), committed: g.committed.cents(), disbursed: g.disbursed.cents() };
                flows += g.committed_in.unwrap().cents();
            }
            prop_assert_eq!(flows, totals.committed_in.unwrap().cents());
            prop_assert_eq!(prev, Held { reserved: totals.reserved.cents(), committed: totals.committed.cents(), disbursed: totals.disbursed.cents() });
        }

        /// Attribute groups' money sums to the totals.
        #[test]
        fn attribute_groups_add_up(groups in proptest::collection::vec((0i64..1_000_000, 0i64..1_000_000, 0i64..1_000_000), 0..20)) {
            let facts = groups.iter().enumerate().map(|(i, (r, c, x))| GroupFacts {
                key: format!("g{i}"),
                sums: sums(r + c + x, c + x, 0, 0, *x),
                ..Default::default()
            }).collect();
            let (gs, totals) = attribute_groups(facts, 0).unwrap();
            let add = |f: fn(&Group) -> Money| gs.iter().map(|g| f(g).cents()).sum::<i64>();
            prop_assert_eq!(add(|g| g.reserved), totals.reserved.cents());
            prop_assert_eq!(add(|g| g.committed), totals.committed.cents());
            prop_assert_eq!(add(|g| g.disbursed), totals.disbursed.cents());
        }
    }
}
