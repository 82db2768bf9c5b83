//! Risk review for admins: the flags (list, detail, dismiss, confirm), the scan, the summary, a
//! vendor's risk profile, and conflicts of interest.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, get, post, web};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use super::engine::{self, Indicator, Severity, Subject, SubjectType};
use super::review;
use super::scan::{self, ScanReport};
use crate::auth::{AdminUser, RequestMeta};
use crate::db::schema::{admin_conflicts, risk_flag_applications, risk_flags, vendors};
use crate::db::{Db, DbConnection};
use crate::error::ApiError;
use crate::error::responses;
use crate::extract::ValidJson;
use crate::money::Money;
use crate::pagination::{self, Page};
use crate::text_enum::text_enum;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_flags)
        .service(get_flag)
        .service(dismiss_flag)
        .service(confirm_flag)
        .service(run_scan)
        .service(summary)
        .service(vendor_risk)
        .service(declare_conflict)
        .service(list_conflicts);
}

text_enum! {
    /// Where a risk flag stands: awaiting review, dismissed, or confirmed.
    pub enum FlagStatus {
        Open => "open",
        Dismissed => "dismissed",
        Confirmed => "confirmed",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = risk_flags)]
struct FlagRow {
    id: String,
    indicator: String,
    severity: String,
    status: String,
    subject_type: String,
    subject_id: String,
    vendor_id: Option<String>,
    evidence_json: String,
    raised_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    resolved_by: Option<String>,
    resolved_at: Option<NaiveDateTime>,
    resolution_comment: Option<String>,
}

/// A signal of possible fraud for an admin to review: never a verdict.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RiskFlag {
    pub id: String,
    pub indicator: Indicator,
    pub severity: Severity,
    pub status: FlagStatus,
    pub subject: Subject,
    /// The applications it concerns; later ones join an open flag.
    pub application_ids: Vec<String>,
    /// The vendor concerned, where there is one.
    pub vendor_id: Option<String>,
    /// The facts that fired the indicator.
    #[schema(value_type = Object)]
    pub evidence: serde_json::Value,
    #[schema(value_type = String, example = "2026-01-31T09:00:00Z")]
    #[serde(serialize_with = "crate::time::serialize")]
    pub raised_at: NaiveDateTime,
    #[schema(value_type = String, example = "2026-01-31T09:00:00Z")]
    #[serde(serialize_with = "crate::time::serialize")]
    pub updated_at: NaiveDateTime,
    pub resolved_by: Option<String>,
    #[schema(value_type = Option<String>, example = "2026-02-02T09:00:00Z")]
    #[serde(serialize_with = "crate::time::serialize_option")]
    pub resolved_at: Option<NaiveDateTime>,
    pub resolution_comment: Option<String>,
}

fn parse<T: std::str::FromStr<Err = String>>(value: &str) -> Result<T, ApiError> {
    value
        .parse()
        .map_err(|e: String| ApiError::internal(anyhow::anyhow!("a stored flag: {e}")))
}

fn to_view(row: FlagRow, application_ids: Vec<String>) -> Result<RiskFlag, ApiError> {
    Ok(RiskFlag {
        indicator: parse(&row.indicator)?,
        severity: parse(&row.severity)?,
        status: parse(&row.status)?,
        subject: Subject {
            kind: parse::<SubjectType>(&row.subject_type)?,
            id: row.subject_id,
        },
        application_ids,
        vendor_id: row.vendor_id,
        evidence: serde_json::from_str(&row.evidence_json).unwrap_or(serde_json::Value::Null),
        raised_at: row.raised_at,
        updated_at: row.updated_at,
        resolved_by: row.resolved_by,
        resolved_at: row.resolved_at,
        resolution_comment: row.resolution_comment,
        id: row.id,
    })
}

/// Views of `rows`, with their applications (one query for all).
fn views(conn: &mut DbConnection, rows: Vec<FlagRow>) -> Result<Vec<RiskFlag>, ApiError> {
    let ids: Vec<&String> = rows.iter().map(|r| &r.id).collect();
    let links: Vec<(String, String)> = risk_flag_applications::table
        .filter(risk_flag_applications::flag_id.eq_any(ids))
        .select((
            risk_flag_applications::flag_id,
            risk_flag_applications::application_id,
        ))
        .order((
            risk_flag_applications::flag_id,
            risk_flag_applications::application_id,
        ))
        .load(conn)?;
    let mut by_flag: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (flag, app) in links {
        by_flag.entry(flag).or_default().push(app);
    }
    rows.into_iter()
        .map(|r| {
            let apps = by_flag.remove(&r.id).unwrap_or_default();
            to_view(r, apps)
        })
        .collect()
}

/// Which flags to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FlagQuery {
    /// One status; all when absent.
    #[param(value_type = Option<FlagStatus>)]
    pub status: Option<String>,
    /// One indicator.
    #[param(value_type = Option<Indicator>)]
    pub indicator: Option<String>,
    /// One severity.
    #[param(value_type = Option<Severity>)]
    pub severity: Option<String>,
    /// Flags concerning this vendor.
    pub vendor_id: Option<String>,
    /// Flags concerning this application.
    pub application_id: Option<String>,
    #[param(inline, value_type = Option<crate::pagination::PageCursor>)]
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(inline, value_type = Option<crate::pagination::PageLimit>)]
    pub limit: Option<i64>,
}

fn filter<T: std::str::FromStr<Err = String>>(
    field: &'static str,
    value: Option<&str>,
) -> Result<Option<T>, ApiError> {
    value
        .map(|v| v.parse::<T>().map_err(|m| ApiError::invalid(field, m)))
        .transpose()
}

/// Risk flags, newest first.
#[utoipa::path(
    tag = "risk",
    params(FlagQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of flags.", body = Page<RiskFlag>),
        (status = 422, response = responses::ValidationFailed),
    )
)]
#[get("/api/v1/admin/risk-flags")]
pub async fn list_flags(
    db: web::Data<Db>,
    _admin: AdminUser,
    query: web::Query<FlagQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let limit = pagination::limit(q.limit)?;
    let status = filter::<FlagStatus>("status", q.status.as_deref())?;
    let indicator = filter::<Indicator>("indicator", q.indicator.as_deref())?;
    let severity = filter::<Severity>("severity", q.severity.as_deref())?;
    let after = pagination::decode_time_cursor(q.cursor.as_deref())?;
    let page = db
        .run(move |conn| {
            let mut query = risk_flags::table.select(FlagRow::as_select()).into_boxed();
            if let Some(s) = status {
                query = query.filter(risk_flags::status.eq(s.as_str()));
            }
            if let Some(i) = indicator {
                query = query.filter(risk_flags::indicator.eq(i.as_str()));
            }
            if let Some(s) = severity {
                query = query.filter(risk_flags::severity.eq(s.as_str()));
            }
            if let Some(v) = q.vendor_id {
                query = query.filter(risk_flags::vendor_id.eq(v));
            }
            if let Some(a) = q.application_id {
                query = query.filter(
                    risk_flags::id.eq_any(
                        risk_flag_applications::table
                            .filter(risk_flag_applications::application_id.eq(a))
                            .select(risk_flag_applications::flag_id),
                    ),
                );
            }
            if let Some((at, id)) = after {
                query = query.filter(
                    risk_flags::raised_at
                        .lt(at)
                        .or(risk_flags::raised_at.eq(at).and(risk_flags::id.lt(id))),
                );
            }
            let rows = query
                .order((risk_flags::raised_at.desc(), risk_flags::id.desc()))
                .limit(limit + 1)
                .load(conn)?;
            let views = views(conn, rows)?;
            Ok(pagination::page(
                views,
                limit,
                |f: &RiskFlag| pagination::time_key(f.raised_at, &f.id),
                |f| f,
            ))
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

fn find_flag(conn: &mut DbConnection, id: &str) -> Result<RiskFlag, ApiError> {
    let row = risk_flags::table
        .find(id)
        .select(FlagRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::NotFound("No such risk flag.".to_owned()))?;
    let apps = review::application_ids(conn, id)?;
    to_view(row, apps)
}

/// One flag.
#[utoipa::path(
    tag = "risk",
    params(("id" = String, Path, description = "The flag's id.")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The flag.", body = RiskFlag),
        (status = 404, response = responses::NotFound),
    )
)]
#[get("/api/v1/admin/risk-flags/{id}")]
pub async fn get_flag(
    db: web::Data<Db>,
    _admin: AdminUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let flag = db.run(move |conn| find_flag(conn, &id)).await?;
    Ok(HttpResponse::Ok().json(flag))
}

/// A reviewer's reason.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewForm {
    /// Why, in at least 10 characters.
    #[validate(length(min = 10, max = 2000, message = "must be 10 to 2000 characters"))]
    #[schema(
        min_length = 10,
        max_length = 2000,
        example = "Checked the bank statement; the payment is genuine."
    )]
    pub comment: String,
}

/// Dismisses an open flag: the review found nothing wrong. An admin who approved or verified
/// an application the flag concerns may not dismiss it (403 `separation-of-duties`).
#[utoipa::path(
    tag = "risk",
    params(("id" = String, Path, description = "The flag's id.")),
    request_body = ReviewForm,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Dismissed.", body = RiskFlag),
        (status = 403, response = responses::Forbidden),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
        (status = 422, response = responses::ValidationFailed),
    )
)]
#[post("/api/v1/admin/risk-flags/{id}/dismiss")]
pub async fn dismiss_flag(
    db: web::Data<Db>,
    admin: AdminUser,
    meta: RequestMeta,
    id: web::Path<String>,
    body: ValidJson<ReviewForm>,
) -> Result<HttpResponse, ApiError> {
    decide(
        &db,
        admin,
        meta,
        id.into_inner(),
        body.into_inner(),
        review::dismiss,
    )
    .await
}

/// A reviewer's decision on a flag ([`review::dismiss`] or [`review::confirm`]), in one
/// transaction, answering the flag as it now stands.
async fn decide(
    db: &Db,
    admin: AdminUser,
    meta: RequestMeta,
    id: String,
    form: ReviewForm,
    decision: fn(
        &mut DbConnection,
        &RequestMeta,
        &crate::auth::AuthUser,
        &str,
        &str,
    ) -> Result<(), ApiError>,
) -> Result<HttpResponse, ApiError> {
    let flag = db
        .write(move |tx| {
            decision(tx, &meta, &admin.0, &id, form.comment.trim())?;
            find_flag(tx, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(flag))
}

/// Confirms an open flag: the applications it concerns are rejected, their money released and
/// the waitlist promoted; one already disbursed is marked for recovery instead.
#[utoipa::path(
    tag = "risk",
    params(("id" = String, Path, description = "The flag's id.")),
    request_body = ReviewForm,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Confirmed.", body = RiskFlag),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
        (status = 422, response = responses::ValidationFailed),
    )
)]
#[post("/api/v1/admin/risk-flags/{id}/confirm")]
pub async fn confirm_flag(
    db: web::Data<Db>,
    admin: AdminUser,
    meta: RequestMeta,
    id: web::Path<String>,
    body: ValidJson<ReviewForm>,
) -> Result<HttpResponse, ApiError> {
    decide(
        &db,
        admin,
        meta,
        id.into_inner(),
        body.into_inner(),
        review::confirm,
    )
    .await
}

/// Runs the periodic scan now: every indicator over the whole population.
#[utoipa::path(
    tag = "risk",
    security(("bearer" = [])),
    responses((status = 200, description = "What the scan did.", body = ScanReport))
)]
#[post("/api/v1/admin/risk/scan")]
pub async fn run_scan(db: web::Data<Db>, _admin: AdminUser) -> Result<HttpResponse, ApiError> {
    let report = scan::run_once(&db).await?;
    Ok(HttpResponse::Ok().json(report))
}

/// Flags and the money they concern, by indicator and status.
#[derive(Debug, Serialize, ToSchema)]
pub struct IndicatorCount {
    pub indicator: Indicator,
    pub status: FlagStatus,
    pub flags: i64,
    /// Applications under these flags, and their subsidies.
    pub applications: i64,
    pub amount: Money,
}

#[derive(QueryableByName)]
struct IndicatorRow {
    #[diesel(sql_type = Text)]
    indicator: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = BigInt)]
    flags: i64,
    #[diesel(sql_type = BigInt)]
    applications: i64,
    #[diesel(sql_type = BigInt)]
    cents: i64,
}

/// A vendor's exposure to open flags.
#[derive(Debug, Serialize, ToSchema)]
pub struct VendorExposure {
    pub vendor_id: String,
    pub company_name_en: String,
    pub open_flags: i64,
    /// Applications under open flags, and their subsidies.
    pub flagged_applications: i64,
    pub open_flagged_amount: Money,
}

/// Counts and amounts by indicator and status, and the vendors with the most money under open
/// flags.
#[derive(Debug, Serialize, ToSchema)]
pub struct RiskSummary {
    pub by_indicator: Vec<IndicatorCount>,
    pub top_vendors: Vec<VendorExposure>,
}

#[derive(QueryableByName)]
struct ExposureRow {
    #[diesel(sql_type = Text)]
    vendor_id: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = BigInt)]
    applications: i64,
    #[diesel(sql_type = BigInt)]
    cents: i64,
}

/// The programme's risk at a glance.
#[utoipa::path(
    tag = "risk",
    security(("bearer" = [])),
    responses((status = 200, description = "The summary.", body = RiskSummary))
)]
#[get("/api/v1/admin/risk/summary")]
pub async fn summary(db: web::Data<Db>, _admin: AdminUser) -> Result<HttpResponse, ApiError> {
    let summary = db
        .run(|conn| {
            crate::db::read_snapshot(conn, |conn| {
                let rows: Vec<IndicatorRow> = diesel::sql_query(
                    "SELECT f.indicator, f.status, CAST(COUNT(DISTINCT f.id) AS BIGINT) AS flags, \
                     CAST(COUNT(l.application_id) AS BIGINT) AS applications, \
                     CAST(COALESCE(SUM(a.subsidy_cents), 0) AS BIGINT) AS cents \
                     FROM risk_flags f LEFT JOIN risk_flag_applications l ON l.flag_id = f.id \
                     LEFT JOIN applications a ON a.id = l.application_id \
                     GROUP BY f.indicator, f.status ORDER BY f.indicator, f.status",
                )
                .load(conn)?;
                let by_indicator = rows
                    .into_iter()
                    .map(|r| {
                        Ok(IndicatorCount {
                            indicator: parse(&r.indicator)?,
                            status: parse(&r.status)?,
                            flags: r.flags,
                            applications: r.applications,
                            amount: Money::from_cents(r.cents).map_err(ApiError::internal)?,
                        })
                    })
                    .collect::<Result<Vec<_>, ApiError>>()?;
                let rows: Vec<ExposureRow> = diesel::sql_query(
                    "SELECT a.vendor_id, v.company_name_en AS name, \
                     CAST(COUNT(*) AS BIGINT) AS applications, \
                     CAST(COALESCE(SUM(a.subsidy_cents), 0) AS BIGINT) AS cents \
                     FROM applications a JOIN vendors v ON v.id = a.vendor_id \
                     WHERE a.id IN (SELECT l.application_id FROM risk_flag_applications l \
                       JOIN risk_flags f ON f.id = l.flag_id WHERE f.status = 'open') \
                     GROUP BY a.vendor_id, v.company_name_en ORDER BY cents DESC, a.vendor_id LIMIT 10",
                )
                .load(conn)?;
                let mut top_vendors = Vec::new();
                for r in rows {
                    let open_flags: i64 = risk_flags::table
                        .filter(risk_flags::vendor_id.eq(&r.vendor_id))
                        .filter(risk_flags::status.eq("open"))
                        .count()
                        .get_result(conn)?;
                    top_vendors.push(VendorExposure {
                        vendor_id: r.vendor_id,
                        company_name_en: r.name,
                        open_flags,
                        flagged_applications: r.applications,
                        open_flagged_amount: Money::from_cents(r.cents)
                            .map_err(ApiError::internal)?,
                    });
                }
                Ok(RiskSummary {
                    by_indicator,
                    top_vendors,
                })
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(summary))
}

/// Applications whose eligible cost falls in a band of the price ceiling.
#[derive(Debug, Serialize, ToSchema, QueryableByName)]
pub struct PriceBand {
    /// `below_50`, `50_to_80`, `80_to_95` or `95_and_above` (percent of the ceiling).
    #[diesel(sql_type = Text)]
    pub band: String,
    #[diesel(sql_type = BigInt)]
    pub applications: i64,
}

/// A vendor's applications in the velocity window, against the programme's fence.
#[derive(Debug, Serialize, ToSchema)]
pub struct Velocity {
    pub applications_last_30_days: i64,
    /// max(floor, Q3 + 3 x IQR) over every vendor's count.
    pub fence: f64,
}

/// One vendor's risk profile.
#[derive(Debug, Serialize, ToSchema)]
pub struct VendorRisk {
    pub vendor_id: String,
    pub company_name_en: String,
    /// Live applications of the last 90 days by eligible cost against the ceiling in force.
    pub applications_by_price_band: Vec<PriceBand>,
    /// The share (percent) of those at or above 95% of the ceiling.
    pub ceiling_share_percent: f64,
    pub velocity: Velocity,
    /// The flags concerning the vendor, newest first (at most 100).
    pub flags: Vec<RiskFlag>,
}

#[derive(QueryableByName)]
struct VendorCount {
    #[diesel(sql_type = Text)]
    vendor_id: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// A vendor's applications by price band, its ceiling share, its velocity against its peers,
/// and its flags.
#[utoipa::path(
    tag = "risk",
    params(("id" = String, Path, description = "The vendor's id.")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The vendor's risk profile.", body = VendorRisk),
        (status = 404, response = responses::NotFound),
    )
)]
#[get("/api/v1/admin/vendors/{id}/risk")]
pub async fn vendor_risk(
    db: web::Data<Db>,
    _admin: AdminUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let view = db
        .run(move |conn| {
            crate::db::read_snapshot(conn, |conn| {
                let name: String = vendors::table
                    .find(&id)
                    .select(vendors::company_name_en)
                    .first(conn)
                    .optional()?
                    .ok_or_else(|| ApiError::NotFound("No such vendor.".to_owned()))?;
                let t = super::store::thresholds(conn)?;
                let now = crate::time::now();
                let since = now - chrono::Duration::days(t.ceiling_window_days);
                let pct = "a.eligible_cost_cents * 100";
                let mut bands: Vec<PriceBand> = diesel::sql_query(format!(
                    "SELECT CASE WHEN {pct} < a.ceiling_cents * 50 THEN 'below_50' \
                       WHEN {pct} < a.ceiling_cents * 80 THEN '50_to_80' \
                       WHEN {pct} < a.ceiling_cents * 95 THEN '80_to_95' \
                       ELSE '95_and_above' END AS band, CAST(COUNT(*) AS BIGINT) AS applications \
                     FROM applications a WHERE a.vendor_id = $1 AND a.created_at >= $2 \
                     AND a.ceiling_cents IS NOT NULL AND {} GROUP BY 1",
                    super::store::LIVE
                ))
                .bind::<Text, _>(&id)
                .bind::<diesel::sql_types::Timestamp, _>(since)
                .load(conn)?;
                let order = ["below_50", "50_to_80", "80_to_95", "95_and_above"];
                for b in order {
                    if !bands.iter().any(|x| x.band == b) {
                        bands.push(PriceBand {
                            band: b.to_owned(),
                            applications: 0,
                        });
                    }
                }
                bands.sort_by_key(|b| order.iter().position(|o| *o == b.band));
                let total: i64 = bands.iter().map(|b| b.applications).sum();
                let top = bands.last().map(|b| b.applications).unwrap_or(0);
                let ceiling_share_percent = if total == 0 {
                    0.0
                } else {
                    (top as f64 * 10_000.0 / total as f64).round() / 100.0
                };
                let counts: Vec<VendorCount> = diesel::sql_query(
                    "SELECT a.vendor_id, CAST(COUNT(*) AS BIGINT) AS n FROM applications a \
                     WHERE a.created_at >= $1 GROUP BY a.vendor_id",
                )
                .bind::<diesel::sql_types::Timestamp, _>(
                    now - chrono::Duration::days(t.velocity_window_days),
                )
                .load(conn)?;
                let all: Vec<i64> = counts.iter().map(|c| c.n).collect();
                let mine = counts
                    .iter()
                    .find(|c| c.vendor_id == id)
                    .map(|c| c.n)
                    .unwrap_or(0);
                let rows: Vec<FlagRow> = risk_flags::table
                    .filter(risk_flags::vendor_id.eq(&id))
                    .order((risk_flags::raised_at.desc(), risk_flags::id.desc()))
                    .limit(100)
                    .select(FlagRow::as_select())
                    .load(conn)?;
                Ok(VendorRisk {
                    vendor_id: id.clone(),
                    company_name_en: name,
                    applications_by_price_band: bands,
                    ceiling_share_percent,
                    velocity: Velocity {
                        applications_last_30_days: mine,
                        fence: engine::velocity_fence(&t, &all),
                    },
                    flags: views(conn, rows)?,
                })
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// A conflict of interest to declare.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConflictForm {
    #[validate(length(min = 1, max = 64, message = "must be a vendor id"))]
    #[schema(min_length = 1, max_length = 64)]
    pub vendor_id: String,
    #[validate(length(min = 10, max = 2000, message = "must be 10 to 2000 characters"))]
    #[schema(
        min_length = 10,
        max_length = 2000,
        example = "My brother-in-law is a director."
    )]
    pub reason: String,
}

/// A declared conflict of interest.
#[derive(Debug, Serialize, ToSchema, Queryable)]
pub struct Conflict {
    pub id: String,
    pub vendor_id: String,
    pub reason: String,
    #[schema(value_type = String, example = "2026-01-31T09:00:00Z")]
    #[serde(serialize_with = "crate::time::serialize")]
    pub declared_at: NaiveDateTime,
}

/// Declares the calling admin's conflict of interest with a vendor: from then on they may not
/// approve, verify or disburse its applications, nor review its packages.
#[utoipa::path(
    tag = "risk",
    request_body = ConflictForm,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Declared.", body = Conflict),
        (status = 409, response = responses::Conflict),
        (status = 422, response = responses::ValidationFailed),
    )
)]
#[post("/api/v1/admin/me/conflicts")]
pub async fn declare_conflict(
    db: web::Data<Db>,
    admin: AdminUser,
    meta: RequestMeta,
    body: ValidJson<ConflictForm>,
) -> Result<HttpResponse, ApiError> {
    let form = body.into_inner();
    let conflict = db
        .write(move |tx| {
            let id =
                review::declare_conflict(tx, &meta, &admin.0, &form.vendor_id, form.reason.trim())?;
            Ok(admin_conflicts::table
                .find(&id)
                .select((
                    admin_conflicts::id,
                    admin_conflicts::vendor_id,
                    admin_conflicts::reason,
                    admin_conflicts::declared_at,
                ))
                .first::<Conflict>(tx)?)
        })
        .await?;
    Ok(HttpResponse::Created().json(conflict))
}

/// The calling admin's declared conflicts of interest.
#[utoipa::path(
    tag = "risk",
    security(("bearer" = [])),
    responses((status = 200, description = "The conflicts.", body = Vec<Conflict>))
)]
#[get("/api/v1/admin/me/conflicts")]
pub async fn list_conflicts(db: web::Data<Db>, admin: AdminUser) -> Result<HttpResponse, ApiError> {
    let list: Vec<Conflict> = db
        .run(move |conn| {
            Ok(admin_conflicts::table
                .filter(admin_conflicts::admin_id.eq(&admin.0.user_id))
                .order(admin_conflicts::declared_at.desc())
                .select((
                    admin_conflicts::id,
                    admin_conflicts::vendor_id,
                    admin_conflicts::reason,
                    admin_conflicts::declared_at,
                ))
                .load(conn)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(list))
}
