//! Operations endpoints: liveness, readiness and metrics. No prefix, no authentication.

use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::db::Db;
use crate::error::{ApiError, Problem};
use crate::metrics::Metrics;

/// How long readiness waits for the database before answering 503.
const READINESS_TIMEOUT: Duration = Duration::from_secs(2);

/// Registers the operations routes.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(healthz).service(readyz).service(metrics);
}

/// The process is alive.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    #[schema(example = "ok")]
    pub status: String,
}

/// The service can serve requests.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Readiness {
    /// Always `ready`.
    #[schema(example = "ready")]
    pub status: String,
    /// The database backend that answered: `postgres` or `sqlite`.
    #[schema(example = "sqlite")]
    pub database: String,
}

/// Liveness: 200 while the process is alive.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "The process is alive.", body = Health))
)]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok".to_owned(),
    })
}

/// Readiness: 200 when the database answers a query, 503 otherwise.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, description = "The database answers.", body = Readiness),
        (status = 503, description = "The database cannot be reached.", body = Problem,
         content_type = "application/problem+json"),
    )
)]
#[get("/readyz")]
pub async fn readyz(db: web::Data<Db>) -> Result<HttpResponse, ApiError> {
    db.check_ready(READINESS_TIMEOUT).await?;
    Ok(HttpResponse::Ok().json(Readiness {
        status: "ready".to_owned(),
        database: db.backend().to_string(),
    }))
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "Request counters, latency histograms by route pattern, and database pool gauges.",
               body = String, content_type = "text/plain; version=0.0.4"))
)]
#[get("/metrics")]
pub async fn metrics(
    metrics: web::Data<Metrics>,
    db: web::Data<Db>,
    cache: web::Data<crate::catalogue::cache::CatalogueCache>,
) -> Result<HttpResponse, ApiError> {
    let text = metrics
        .render(db.state(), cache.stats())
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}
