//! Admin verification of vendors: list them, approve, reject, suspend and reinstate.

use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use super::model::{AdminVendor, Vendor, VendorDecisionBody};
use super::store;
use super::workflow::{VendorDecision, VendorStatus, next_status};
use crate::audit::{self, NewEvent};
use crate::auth::{AdminUser, RequestMeta};
use crate::catalogue::cache::CatalogueCache;
use crate::db::Db;
use crate::error::ApiError;
use crate::error::responses;
use crate::extract::{OptionalJson, ValidJson};
use crate::mail::templates;
use crate::outbox;
use crate::pagination::{self, Page};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_vendors)
        .service(approve_vendor)
        .service(reject_vendor)
        .service(suspend_vendor);
}

/// Which vendors to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VendorQuery {
    /// One status; all when absent.
    #[param(value_type = Option<VendorStatus>)]
    pub status: Option<String>,
    /// From a previous page's `next_cursor`.
    #[param(inline, value_type = Option<crate::pagination::PageCursor>)]
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(inline, value_type = Option<crate::pagination::PageLimit>)]
    pub limit: Option<i64>,
}

/// Vendors, newest first, optionally by status: the verification queue is `?status=pending`.
#[utoipa::path(
    tag = "vendors",
    params(VendorQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of vendors.", body = Page<AdminVendor>),
        (status = 422, response = responses::ValidationFailed),
    )
)]
#[get("/api/v1/admin/vendors")]
pub async fn list_vendors(
    db: web::Data<Db>,
    _admin: AdminUser,
    query: web::Query<VendorQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let limit = pagination::limit(query.limit)?;
    let status = pagination::status_filter::<VendorStatus>(query.status.as_deref())?;
    let after = pagination::decode_time_cursor(query.cursor.as_deref())?;
    let rows = db
        .run(move |conn| Ok(store::list(conn, status, after, limit + 1)?))
        .await?;
    let page = pagination::page(
        rows,
        limit,
        |(row, _)| pagination::time_key(row.created_at, &row.id),
        |(row, email)| AdminVendor {
            vendor: Vendor::from(&row),
            email,
        },
    );
    Ok(HttpResponse::Ok().json(page))
}

/// Applies `decision` to vendor `id`: checks the transition (409 otherwise), records it in the
/// audit trail and emails the vendor, all in one transaction.
async fn decide(
    db: &Db,
    cache: &CatalogueCache,
    admin: AdminUser,
    meta: RequestMeta,
    id: String,
    decision: VendorDecision,
    body: VendorDecisionBody,
) -> Result<HttpResponse, ApiError> {
    let reason = body.reason.map(|r| r.trim().to_owned());
    if decision.needs_reason() && reason.is_none() {
        return Err(ApiError::invalid(
            "reason",
            format!("is required to {} a vendor", decision.as_str()),
        ));
    }
    let vendor = db
        .write(move |tx| {
            let (before, email) = store::find_with_email(tx, &id)?;
            let from = before.status;
            let to = next_status(from, decision).ok_or_else(|| {
                ApiError::Conflict(format!(
                    "A {from} vendor cannot be {}.",
                    decision.past_tense()
                ))
            })?;
            if !store::set_status(tx, &id, from, to, reason.as_deref())? {
                return Err(ApiError::Conflict(
                    "The vendor changed meanwhile; reload and retry.".to_owned(),
                ));
            }
            if from == VendorStatus::Suspended {
                // Its waiting applications were passed over while it was suspended.
                crate::applications::waitlist::promote(tx, &meta)?;
            }
            let (after, _) = store::find_with_email(tx, &id)?;
            audit::record(
                tx,
                &meta,
                NewEvent::new(decision.audit_action(from), "vendor", Some(&id))
                    .by(&admin.0.user_id, admin.0.role)
                    .before(Vendor::from(&before))
                    .after(Vendor::from(&after)),
            )?;
            outbox::enqueue(
                tx,
                templates::vendor_status(
                    &email,
                    &after.company_name_en,
                    to.as_str(),
                    reason.as_deref(),
                ),
            )?;
            Ok(AdminVendor {
                vendor: Vendor::from(&after),
                email,
            })
        })
        .await?;
    // The vendor's packages may have left or returned to the catalogue.
    cache.invalidate();
    Ok(HttpResponse::Ok().json(vendor))
}

/// Approve a pending vendor, or reinstate a suspended one (its packages return to the
/// catalogue). The vendor is emailed.
#[utoipa::path(
    tag = "vendors",
    params(("id" = String, Path, description = "The vendor's id.")),
    request_body(content = Option<VendorDecisionBody>, description = "An optional note to the vendor."),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Approved.", body = AdminVendor),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
    )
)]
#[post("/api/v1/admin/vendors/{id}/approve")]
pub async fn approve_vendor(
    db: web::Data<Db>,
    cache: web::Data<CatalogueCache>,
    admin: AdminUser,
    meta: RequestMeta,
    id: web::Path<String>,
    body: OptionalJson<VendorDecisionBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner().unwrap_or_default();
    decide(
        &db,
        &cache,
        admin,
        meta,
        id.into_inner(),
        VendorDecision::Approve,
        body,
    )
    .await
}

/// Reject a pending vendor, with the reason it is told.
#[utoipa::path(
    tag = "vendors",
    params(("id" = String, Path, description = "The vendor's id.")),
    request_body = VendorDecisionBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Rejected.", body = AdminVendor),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
    )
)]
#[post("/api/v1/admin/vendors/{id}/reject")]
pub async fn reject_vendor(
    db: web::Data<Db>,
    cache: web::Data<CatalogueCache>,
    admin: AdminUser,
    meta: RequestMeta,
    id: web::Path<String>,
    body: ValidJson<VendorDecisionBody>,
) -> Result<HttpResponse, ApiError> {
    decide(
        &db,
        &cache,
        admin,
        meta,
        id.into_inner(),
        VendorDecision::Reject,
        body.into_inner(),
    )
    .await
}

/// Suspend an approved vendor, with the reason it is told. Its packages leave the catalogue at
/// once, and return if it is reinstated.
#[utoipa::path(
    tag = "vendors",
    params(("id" = String, Path, description = "The vendor's id.")),
    request_body = VendorDecisionBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Suspended.", body = AdminVendor),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
    )
)]
#[post("/api/v1/admin/vendors/{id}/suspend")]
pub async fn suspend_vendor(
    db: web::Data<Db>,
    cache: web::Data<CatalogueCache>,
    admin: AdminUser,
    meta: RequestMeta,
    id: web::Path<String>,
    body: ValidJson<VendorDecisionBody>,
) -> Result<HttpResponse, ApiError> {
    decide(
        &db,
        &cache,
        admin,
        meta,
        id.into_inner(),
        VendorDecision::Suspend,
        body.into_inner(),
    )
    .await
}
