//! `GET /admin/reports/drawdown` (JSON or CSV), `GET /admin/reports/drawdown.svg` and
//! `GET /admin/reports/grants` (360Giving, JSON or CSV).

use actix_web::web::Bytes;
use actix_web::{HttpResponse, get, web};
use chrono::{Duration, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::csv_out::{self, Cell, CsvRow};
use super::drawdown::{self, Burn, Group, GroupBy};
use super::grants::{self, Grant};
use super::store::{self, Window};
use crate::auth::AdminUser;
use crate::db::Db;
use crate::error::ApiError;
use crate::error::responses;
use crate::money::Money;
use crate::text_enum::text_enum;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(drawdown_report)
        .service(drawdown_chart)
        .service(grants_export);
}

text_enum! {
    /// How a report is written.
    pub enum Format {
        Json => "json",
        Csv => "csv",
    }
}

/// The earliest and latest dates a report accepts.
const FIRST_DAY: (i32, u32, u32) = (2000, 1, 1);
const LAST_DAY: (i32, u32, u32) = (2099, 12, 31);

/// The longest listing of periods a report gives.
const MAX_PERIODS: i64 = 1_200;

/// Which drawdown, and how.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DrawdownQuery {
    /// How to group: by `week` or `month` (when the money moved), or by `batch`, `category`,
    /// `sector`, `vendor` or `district`. Default `month`.
    #[param(value_type = Option<GroupBy>)]
    pub group_by: Option<String>,
    /// The first day (Hong Kong time) of the window. Periods before it are not listed (their
    /// movements open the balances); attribute groups count applications made from this day.
    #[param(value_type = Option<String>, format = Date, example = "2026-01-01")]
    pub from: Option<String>,
    /// The last day (Hong Kong time) of the window: balances are as at the end of this day.
    #[param(value_type = Option<String>, format = Date, example = "2026-12-31")]
    pub to: Option<String>,
    /// `json` (default) or `csv`.
    #[param(inline, value_type = Option<Format>)]
    pub format: Option<String>,
}

/// The drawdown report.
#[derive(Debug, Serialize, ToSchema)]
pub struct DrawdownReport {
    #[schema(value_type = String, example = "2026-01-31T09:00:00Z")]
    #[serde(serialize_with = "crate::time::serialize")]
    pub as_of: NaiveDateTime,
    pub group_by: GroupBy,
    /// The budget's total as at `as_of`.
    pub budget_total: Money,
    /// What was still available for new applications as at `as_of`.
    pub available: Money,
    /// All groups together. For periods, the balances at the end and the flows of the listed
    /// periods; otherwise the groups' sums (SMEs counted once).
    pub totals: Group,
    pub groups: Vec<Group>,
    pub burn: Burn,
}

fn parse_day(field: &'static str, value: Option<&str>) -> Result<Option<NaiveDate>, ApiError> {
    let Some(value) = value else { return Ok(None) };
    let bounds = |(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN);
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .filter(|d| value.len() == 10 && (bounds(FIRST_DAY)..=bounds(LAST_DAY)).contains(d))
        .map(Some)
        .ok_or_else(|| {
            ApiError::invalid(
                field,
                "must be a date YYYY-MM-DD between 2000-01-01 and 2099-12-31",
            )
        })
}

fn parse_enum<T: std::str::FromStr<Err = String>>(
    field: &'static str,
    value: Option<&str>,
    default: T,
) -> Result<T, ApiError> {
    value
        .map(|v| v.parse::<T>().map_err(|m| ApiError::invalid(field, m)))
        .transpose()
        .map(|v| v.unwrap_or(default))
}

/// A checked report request.
#[derive(Debug, Clone, Copy)]
struct Request {
    group_by: GroupBy,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
}

impl Request {
    fn parse(q: &DrawdownQuery) -> Result<Request, ApiError> {
        let group_by = parse_enum("group_by", q.group_by.as_deref(), GroupBy::Month)?;
        let from = parse_day("from", q.from.as_deref())?;
        let to = parse_day("to", q.to.as_deref())?;
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                return Err(ApiError::invalid("from", "must not be after to"));
            }
            let days = (t - f).num_days();
            let periods = match group_by {
                GroupBy::Week => days / 7,
                _ => days / 28,
            };
            if group_by.is_time() && periods > MAX_PERIODS {
                return Err(ApiError::invalid(
                    "from",
                    "the window holds too many periods",
                ));
            }
        }
        Ok(Request { group_by, from, to })
    }
}

/// Brings the ledger's daily rollup and the applications' rollup up to date (a short write;
/// after a large fold, a vacuum of the deltas it left), then gathers the report from one
/// snapshot.
async fn report(db: &Db, request: Request) -> Result<Gathered, ApiError> {
    let folded = db
        .write(|tx| {
            super::daily::refresh(tx)?;
            Ok(super::rollup::fold(tx)?)
        })
        .await?;
    if folded >= super::rollup::VACUUM_AFTER {
        db.run(|conn| Ok(super::rollup::vacuum(conn)?)).await?;
    }
    db.run(move |conn| gather(conn, request)).await
}

/// Everything one report needs, read from one snapshot.
struct Gathered {
    report: DrawdownReport,
    budgets: Vec<(NaiveDate, i64)>,
}

fn gather(conn: &mut crate::db::DbConnection, r: Request) -> Result<Gathered, ApiError> {
    let now = crate::time::now();
    // With no `to`, nothing is cut off: the totals are exactly today's books.
    let until =
        r.to.map(|t| drawdown::hk_day_start(t + Duration::days(1)))
            .unwrap_or(NaiveDateTime::MAX);
    let as_of = until.min(now);
    let since = r
        .from
        .filter(|_| !r.group_by.is_time())
        .map(drawdown::hk_day_start)
        .unwrap_or_else(store::epoch);
    // PostgreSQL's timestamps end in year 294276; SQLite compares text. Both take year 9999.
    let until = until.min(super::rollup::far_future());
    let window = Window { since, until };
    let source = store::Source::for_connection(conn);
    crate::db::read_snapshot(conn, |conn| {
        store::tune(conn)?;
        let books = |e: drawdown::BooksError| ApiError::internal(e);
        let as_of_day = drawdown::hk_date(as_of);
        let ledger = store::books_at(conn, until, as_of_day)?;
        // Today's books are the pool's balances; a past day's are the ledger's up to then.
        let (total, available) = match r.to {
            None => {
                let b = crate::budget::store::balances(conn)?;
                (b.total_cents, b.available_cents)
            }
            Some(_) => (ledger.total, ledger.total - ledger.held.held().sum()),
        };
        let burn =
            drawdown::burn(ledger.committed_last_4_weeks, available, as_of_day).map_err(books)?;
        let (groups, totals, budgets) = if r.group_by.is_time() {
            let facts = store::period_facts(conn, r.group_by, until, source)?;
            let first = r
                .from
                .or_else(|| facts.keys().next().copied())
                .unwrap_or(as_of_day)
                .min(as_of_day);
            let smes = store::cohort_smes(
                conn,
                Window {
                    since: store::epoch(),
                    until,
                },
                source,
            )?;
            let (groups, totals) =
                drawdown::time_groups(r.group_by, &facts, first, as_of_day, smes).map_err(books)?;
            let budgets = drawdown::period_budgets(r.group_by, &facts, first, as_of_day, total);
            (groups, totals, budgets)
        } else {
            let facts = store::attribute_facts(conn, r.group_by, window, r.to.is_none(), source)?;
            let smes = if r.group_by.partitions_smes() {
                facts.iter().map(|f| f.counts.smes).sum()
            } else {
                store::cohort_smes(conn, window, source)?
            };
            let (groups, totals) = drawdown::attribute_groups(facts, smes).map_err(books)?;
            (groups, totals, Vec::new())
        };
        let money = |c: i64| Money::from_cents(c).map_err(ApiError::internal);
        Ok(Gathered {
            report: DrawdownReport {
                as_of,
                group_by: r.group_by,
                budget_total: money(total)?,
                available: money(available)?,
                totals,
                groups,
                burn,
            },
            budgets,
        })
    })
}

/// A group as a CSV row: attribute groups have the first 12 columns, periods all 16.
struct GroupRow(Group);

const GROUP_HEADER: &[&str] = &[
    "key",
    "label_en",
    "label_zh",
    "applications",
    "smes",
    "reserved",
    "committed",
    "disbursed",
    "waitlisted_count",
    "waitlisted_amount",
    "average_subsidy",
    "amount_on_recovery",
    "reserved_in",
    "released_in",
    "committed_in",
    "disbursed_in",
];

impl CsvRow for GroupRow {
    fn cells(&self) -> Vec<Cell<'_>> {
        let g = &self.0;
        let mut cells = vec![
            Cell::Text(&g.key),
            Cell::Text(&g.label_en),
            Cell::Text(&g.label_zh),
            Cell::plain(g.applications.to_string()),
            Cell::plain(g.smes.to_string()),
            Cell::plain(g.reserved.to_string()),
            Cell::plain(g.committed.to_string()),
            Cell::plain(g.disbursed.to_string()),
            Cell::plain(g.waitlisted_count.to_string()),
            Cell::plain(g.waitlisted_amount.to_string()),
            Cell::plain(g.average_subsidy.to_string()),
            Cell::plain(g.amount_on_recovery.to_string()),
        ];
        for flow in [g.reserved_in, g.released_in, g.committed_in, g.disbursed_in]
            .into_iter()
            .flatten()
        {
            cells.push(Cell::plain(flow.to_string()));
        }
        cells
    }
}

/// The budget's drawdown by period or by attribute, as JSON or as a CSV download.
///
/// Periods are dated by when the money moved (the ledger), in Hong Kong time; each shows its
/// balances at its end and its flows. The groups' money adds up to `totals`, and with no `to`
/// the totals are exactly `GET /admin/budget`'s.
#[utoipa::path(
    tag = "reports",
    params(DrawdownQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The report: JSON, or CSV (UTF-8 with a BOM) as an attachment.",
         content(
            (DrawdownReport = "application/json"),
            (String = "text/csv"),
         )),
        (status = 422, response = responses::ValidationFailed),
    )
)]
#[get("/api/v1/admin/reports/drawdown")]
pub async fn drawdown_report(
    db: web::Data<Db>,
    _admin: AdminUser,
    query: web::Query<DrawdownQuery>,
) -> Result<HttpResponse, ApiError> {
    let request = Request::parse(&query)?;
    let format = parse_enum("format", query.format.as_deref(), Format::Json)?;
    let gathered = report(&db, request).await?;
    let report = gathered.report;
    match format {
        Format::Json => Ok(HttpResponse::Ok().json(report)),
        Format::Csv => {
            let columns = if report.group_by.is_time() { 16 } else { 12 };
            let filename = format!(
                "dtspp-drawdown-by-{}-{}.csv",
                report.group_by,
                drawdown::hk_date(report.as_of)
            );
            let rows = report.groups.into_iter().map(GroupRow).collect();
            Ok(csv_out::response(
                &filename,
                csv_out::stream_rows(&GROUP_HEADER[..columns], rows),
            ))
        }
    }
}

/// Which chart.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChartQuery {
    /// `week` or `month` (default).
    #[param(inline, value_type = Option<ChartPeriod>)]
    pub group_by: Option<String>,
    /// The first day shown (Hong Kong time).
    #[param(value_type = Option<String>, format = Date, example = "2026-01-01")]
    pub from: Option<String>,
    /// The last day shown (Hong Kong time).
    #[param(value_type = Option<String>, format = Date, example = "2026-12-31")]
    pub to: Option<String>,
}

text_enum! {
    /// A chart's period.
    pub enum ChartPeriod {
        Week => "week",
        Month => "month",
    }
}

/// A chart of money committed plus disbursed over time, against the budget line, with labels
/// in English and Chinese.
#[utoipa::path(
    tag = "reports",
    params(ChartQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The chart.", content_type = "image/svg+xml", body = String),
        (status = 422, response = responses::ValidationFailed),
    )
)]
#[get("/api/v1/admin/reports/drawdown.svg")]
pub async fn drawdown_chart(
    db: web::Data<Db>,
    _admin: AdminUser,
    query: web::Query<ChartQuery>,
) -> Result<HttpResponse, ApiError> {
    let period = parse_enum("group_by", query.group_by.as_deref(), ChartPeriod::Month)?;
    let group_by = match period {
        ChartPeriod::Week => GroupBy::Week,
        ChartPeriod::Month => GroupBy::Month,
    };
    let request = Request::parse(&DrawdownQuery {
        group_by: Some(group_by.as_str().to_owned()),
        from: query.from.clone(),
        to: query.to.clone(),
        format: None,
    })?;
    let gathered = report(&db, request).await?;
    let points: Vec<super::chart::Point> = gathered
        .report
        .groups
        .iter()
        .zip(&gathered.budgets)
        .map(|(g, (start, budget))| super::chart::Point {
            tick: match period {
                ChartPeriod::Week => start.format("%-d %b").to_string(),
                ChartPeriod::Month => start.format("%b %Y").to_string(),
            },
            spent_cents: g.committed.cents() + g.disbursed.cents(),
            budget_cents: *budget,
        })
        .collect();
    let (en, zh) = match period {
        ChartPeriod::Week => ("week", "週"),
        ChartPeriod::Month => ("month", "月"),
    };
    let as_of = drawdown::hk_date(gathered.report.as_of).to_string();
    let svg = super::chart::render(&points, en, zh, &as_of);
    Ok(HttpResponse::Ok()
        .content_type("image/svg+xml; charset=utf-8")
        .body(svg))
}

/// How to write the grants.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GrantsQuery {
    /// `json` (default) or `csv`.
    #[param(inline, value_type = Option<Format>)]
    pub format: Option<String>,
}

/// The 360Giving package: `{grants: [...]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct GrantsPackage {
    pub grants: Vec<Grant>,
}

/// Grants in a keyset page while streaming.
const GRANTS_PAGE: i64 = 500;

/// Every application approved or later, as a grant in the 360Giving data standard's fields,
/// for publishing what the programme funded. Streamed from one snapshot; the CSV uses
/// 360Giving's column titles.
#[utoipa::path(
    tag = "reports",
    params(GrantsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The grants: JSON, or CSV (UTF-8 with a BOM) as an attachment.",
         content(
            (GrantsPackage = "application/json"),
            (String = "text/csv"),
         )),
        (status = 422, response = responses::ValidationFailed),
    )
)]
#[get("/api/v1/admin/reports/grants")]
pub async fn grants_export(
    db: web::Data<Db>,
    _admin: AdminUser,
    query: web::Query<GrantsQuery>,
) -> Result<HttpResponse, ApiError> {
    let format = parse_enum("format", query.format.as_deref(), Format::Json)?;
    let body = db
        .stream(move |conn, sink| {
            crate::db::read_snapshot(conn, |conn| {
                let opening = match format {
                    Format::Json => b"{\"grants\":[".to_vec(),
                    Format::Csv => {
                        csv_out::preamble(grants::CSV_HEADER).map_err(ApiError::internal)?
                    }
                };
                if !sink(Bytes::from(opening)) {
                    return Ok(());
                }
                let mut after = String::new();
                let mut first = true;
                loop {
                    let page = grants::page(conn, &after, GRANTS_PAGE)?;
                    let Some(last) = page.last() else { break };
                    after = last.id.trim_start_matches("360G-dtspp-").to_owned();
                    let mut out = Vec::new();
                    match format {
                        Format::Json => {
                            for g in &page {
                                if !first {
                                    out.push(b',');
                                }
                                first = false;
                                serde_json::to_writer(&mut out, g).map_err(ApiError::internal)?;
                            }
                        }
                        Format::Csv => {
                            csv_out::encode(page.iter(), &mut out).map_err(ApiError::internal)?
                        }
                    }
                    if !sink(Bytes::from(out)) {
                        return Ok(());
                    }
                    if (page.len() as i64) < GRANTS_PAGE {
                        break;
                    }
                }
                if format == Format::Json {
                    sink(Bytes::from_static(b"]}"));
                }
                Ok(())
            })
        })
        .await?;
    let today = crate::time::hk_today();
    Ok(match format {
        Format::Json => HttpResponse::Ok()
            .content_type("application/json")
            .streaming(body),
        Format::Csv => csv_out::response(&format!("dtspp-grants-360giving-{today}.csv"), body),
    })
}
