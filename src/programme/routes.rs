//! `GET /programme` (public), the rules (`GET/PUT /admin/programme/rules`) and intake batches
//! (`GET/POST /admin/batches`).

use actix_web::{HttpResponse, get, post, put, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::batches::{self, Batch, NewBatch};
use super::model::CodeName;
use super::rules::{RulesForm, RulesView, update};
use super::store;
use crate::audit::{self, NewEvent};
use crate::auth::{AdminUser, RequestMeta};
use crate::db::Db;
use crate::error::ApiError;
use crate::error::responses;
use crate::extract::ValidJson;
use crate::money::Money;
use crate::pagination::{self, Page};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(get_programme)
        .service(get_rules)
        .service(put_rules)
        .service(list_batches)
        .service(create_batch);
}

/// The batch open now, as `GET /programme` shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OpenBatch {
    pub id: String,
    pub name: String,
    #[schema(value_type = String)]
    #[serde(serialize_with = "crate::time::serialize")]
    pub closes_at: chrono::NaiveDateTime,
}

/// Public programme facts and live figures.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Programme {
    #[schema(example = "Digital Transformation Support Pilot Programme")]
    pub name: String,
    #[schema(example = "數碼轉型支援先導計劃")]
    pub name_zh: String,
    pub budget_total: Money,
    pub budget_available: Money,
    #[schema(example = "0.50")]
    pub matching_ratio: String,
    pub per_sme_cap: Money,
    pub rules_version: i64,
    pub open_batch: Option<OpenBatch>,
    pub categories: Vec<CodeName>,
    pub sectors: Vec<CodeName>,
}

/// The programme: its budget and what is left of it, the matching terms, the batch open now,
/// and the categories and sectors.
#[utoipa::path(
    tag = "programme",
    responses((status = 200, description = "The programme now.", body = Programme))
)]
#[get("/api/v1/programme")]
pub async fn get_programme(db: web::Data<Db>) -> Result<HttpResponse, ApiError> {
    let programme = db
        .run(|conn| {
            let rules = RulesView::from(store::current_rules(conn)?);
            let balances = crate::budget::store::balances(conn)?;
            let open = batches::open_at(conn, crate::time::now())?;
            Ok(Programme {
                name: "Digital Transformation Support Pilot Programme".to_owned(),
                name_zh: "數碼轉型支援先導計劃".to_owned(),
                budget_total: Money::from_cents(balances.total_cents)
                    .map_err(ApiError::internal)?,
                budget_available: Money::from_cents(balances.available_cents)
                    .map_err(ApiError::internal)?,
                matching_ratio: rules.matching_ratio,
                per_sme_cap: rules.per_sme_cap,
                rules_version: rules.version,
                open_batch: open.map(|b| OpenBatch {
                    id: b.id,
                    name: b.name,
                    closes_at: b.closes_at,
                }),
                categories: store::categories(conn)?,
                sectors: store::sectors(conn)?,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(programme))
}

/// The rules in force.
#[utoipa::path(
    tag = "programme",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The current version.", body = RulesView),
    )
)]
#[get("/api/v1/admin/programme/rules")]
pub async fn get_rules(db: web::Data<Db>, _admin: AdminUser) -> Result<HttpResponse, ApiError> {
    let rules = db
        .run(|conn| Ok(RulesView::from(store::current_rules(conn)?)))
        .await?;
    Ok(HttpResponse::Ok().json(rules))
}

/// Change the rules: writes the next version (audited). The budget total moves by the
/// difference through the ledger; lowering it below what is already reserved, committed or
/// disbursed is refused (409). Raising it promotes waitlisted applications.
#[utoipa::path(
    tag = "programme",
    request_body = RulesForm,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The new version.", body = RulesView),
        (status = 409, response = responses::Conflict),
    )
)]
#[put("/api/v1/admin/programme/rules")]
pub async fn put_rules(
    db: web::Data<Db>,
    cache: web::Data<crate::catalogue::cache::CatalogueCache>,
    admin: AdminUser,
    meta: RequestMeta,
    body: ValidJson<RulesForm>,
) -> Result<HttpResponse, ApiError> {
    let form = body.into_inner();
    let rules = db
        .write(move |tx| update(tx, &meta, &admin.0, &form))
        .await?;
    cache.invalidate();
    Ok(HttpResponse::Ok().json(rules))
}

/// Which batches to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BatchQuery {
    #[param(inline, value_type = Option<crate::pagination::PageCursor>)]
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(inline, value_type = Option<crate::pagination::PageLimit>)]
    pub limit: Option<i64>,
}

/// Intake batches, latest window first.
#[utoipa::path(
    tag = "programme",
    params(BatchQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of batches.", body = Page<Batch>),
        (status = 422, response = responses::ValidationFailed),
    )
)]
#[get("/api/v1/admin/batches")]
pub async fn list_batches(
    db: web::Data<Db>,
    _admin: AdminUser,
    query: web::Query<BatchQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = pagination::limit(query.limit)?;
    let after = pagination::decode_time_cursor(query.cursor.as_deref())?;
    let page = db
        .run(move |conn| {
            let now = crate::time::now();
            let rows = batches::list(conn, after, limit + 1)?;
            let rows = rows
                .into_iter()
                .map(|row| batches::view(conn, row, now))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(pagination::page(
                rows,
                limit,
                |b| pagination::time_key(b.opens_at, &b.id),
                |b| b,
            ))
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Open an intake batch: a window (`opens_at` before `closes_at`) that overlaps no other, and an
/// optional quota of subsidy.
#[utoipa::path(
    tag = "programme",
    request_body = NewBatch,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The batch.", body = Batch),
        (status = 409, response = responses::Conflict),
    )
)]
#[post("/api/v1/admin/batches")]
pub async fn create_batch(
    db: web::Data<Db>,
    admin: AdminUser,
    meta: RequestMeta,
    body: ValidJson<NewBatch>,
) -> Result<HttpResponse, ApiError> {
    let form = body.into_inner();
    let opens_at = form.opens_at.naive_utc();
    let closes_at = form.closes_at.naive_utc();
    if closes_at <= opens_at {
        return Err(ApiError::invalid("closes_at", "must be after opens_at"));
    }
    if form.quota == Some(Money::ZERO) {
        return Err(ApiError::invalid("quota", "must be above 0.00"));
    }
    let batch = db
        .write(move |tx| {
            crate::db::lock_for_schedule(tx)?;
            if let Some(other) = batches::overlapping(tx, opens_at, closes_at)? {
                return Err(ApiError::Conflict(format!(
                    "The window overlaps batch {} ({}).",
                    other.id, other.name
                )));
            }
            let id = batches::insert(
                tx,
                form.name.trim(),
                opens_at,
                closes_at,
                form.quota,
                Some(&admin.0.user_id),
            )?;
            let row = batches::find(tx, &id)?;
            let batch = batches::view(tx, row, crate::time::now())?;
            audit::record(
                tx,
                &meta,
                NewEvent::new("batch.created", "intake_batch", Some(&id))
                    .by(&admin.0.user_id, admin.0.role)
                    .after(&batch),
            )?;
            Ok(batch)
        })
        .await?;
    Ok(HttpResponse::Created().json(batch))
}
