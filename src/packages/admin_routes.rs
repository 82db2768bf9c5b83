//! Admin review of packages: the queue, each package and its history, and the decisions.

use actix_web::{HttpResponse, get, post, web};
use utoipa_actix_web::service_config::ServiceConfig;

use super::listing::{PackageQuery, page_of_packages};
use super::model::{Package, PackageDecision, Review};
use super::workflow::Action;
use super::{store, transitions};
use crate::auth::{AdminUser, RequestMeta};
use crate::catalogue::cache::CatalogueCache;
use crate::db::Db;
use crate::error::ApiError;
use crate::error::responses;
use crate::extract::OptionalJson;
use crate::pagination::Page;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(admin_list_packages)
        .service(admin_get_package)
        .service(admin_package_reviews)
        .service(approve_package)
        .service(request_package_changes)
        .service(reject_package)
        .service(suspend_package);
}

/// All packages, newest first; the review queue is `?status=submitted` (a listed package with
/// an edit under review stays `listed`: its `revision.status` is `submitted`).
#[utoipa::path(
    tag = "packages",
    params(PackageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of packages.", body = Page<Package>),
        (status = 422, response = responses::ValidationFailed),
    )
)]
#[get("/api/v1/admin/packages")]
pub async fn admin_list_packages(
    db: web::Data<Db>,
    _admin: AdminUser,
    query: web::Query<PackageQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(page_of_packages(&db, None, query.into_inner()).await?))
}

/// One package, with its current revision.
#[utoipa::path(
    tag = "packages",
    params(("id" = String, Path, description = "The package's id.")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The package.", body = Package),
        (status = 404, response = responses::NotFound),
    )
)]
#[get("/api/v1/admin/packages/{id}")]
pub async fn admin_get_package(
    db: web::Data<Db>,
    _admin: AdminUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let package = db
        .run(move |conn| {
            let row = store::find(conn, &id)?;
            Ok(store::view(conn, &row)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(package))
}

/// A package's review history, oldest first.
#[utoipa::path(
    tag = "packages",
    params(("id" = String, Path, description = "The package's id.")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The history.", body = Vec<Review>),
        (status = 404, response = responses::NotFound),
    )
)]
#[get("/api/v1/admin/packages/{id}/reviews")]
pub async fn admin_package_reviews(
    db: web::Data<Db>,
    _admin: AdminUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let history = db
        .run(move |conn| {
            let row = store::find(conn, &id)?;
            Ok(store::reviews(conn, &row.id)?
                .iter()
                .map(Review::from)
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(HttpResponse::Ok().json(history))
}

async fn decide(
    db: &Db,
    cache: &CatalogueCache,
    admin: AdminUser,
    meta: RequestMeta,
    id: String,
    action: Action,
    body: OptionalJson<PackageDecision>,
) -> Result<HttpResponse, ApiError> {
    let comment = body
        .into_inner()
        .and_then(|b| b.comment)
        .map(|c| c.trim().to_owned());
    let package = db
        .write(move |tx| {
            let row = store::find(tx, &id)?;
            crate::risk::review::refuse_if_conflicted(tx, &admin.0.user_id, &row.vendor_id)?;
            transitions::perform(tx, &meta, &admin.0, &row, action, comment.as_deref())
        })
        .await?;
    cache.invalidate();
    Ok(HttpResponse::Ok().json(package))
}

/// Approve the submitted revision: it goes live in the catalogue, replacing any earlier live
/// revision. On a suspended package, reinstates it.
#[utoipa::path(
    tag = "packages",
    params(("id" = String, Path, description = "The package's id.")),
    request_body(content = Option<PackageDecision>, description = "An optional comment to the vendor."),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Listed.", body = Package),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
    )
)]
#[post("/api/v1/admin/packages/{id}/approve")]
pub async fn approve_package(
    db: web::Data<Db>,
    cache: web::Data<CatalogueCache>,
    admin: AdminUser,
    meta: RequestMeta,
    id: web::Path<String>,
    body: OptionalJson<PackageDecision>,
) -> Result<HttpResponse, ApiError> {
    decide(
        &db,
        &cache,
        admin,
        meta,
        id.into_inner(),
        Action::Approve,
        body,
    )
    .await
}

/// Return the submitted revision to the vendor for changes, with a comment.
#[utoipa::path(
    tag = "packages",
    params(("id" = String, Path, description = "The package's id.")),
    request_body = PackageDecision,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Returned for changes.", body = Package),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
    )
)]
#[post("/api/v1/admin/packages/{id}/request-changes")]
pub async fn request_package_changes(
    db: web::Data<Db>,
    cache: web::Data<CatalogueCache>,
    admin: AdminUser,
    meta: RequestMeta,
    id: web::Path<String>,
    body: OptionalJson<PackageDecision>,
) -> Result<HttpResponse, ApiError> {
    decide(
        &db,
        &cache,
        admin,
        meta,
        id.into_inner(),
        Action::RequestChanges,
        body,
    )
    .await
}

/// Reject the submitted revision, with a comment. A package never listed is rejected for good;
/// a rejected edit leaves the listed revision live.
#[utoipa::path(
    tag = "packages",
    params(("id" = String, Path, description = "The package's id.")),
    request_body = PackageDecision,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Rejected.", body = Package),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
    )
)]
#[post("/api/v1/admin/packages/{id}/reject")]
pub async fn reject_package(
    db: web::Data<Db>,
    cache: web::Data<CatalogueCache>,
    admin: AdminUser,
    meta: RequestMeta,
    id: web::Path<String>,
    body: OptionalJson<PackageDecision>,
) -> Result<HttpResponse, ApiError> {
    decide(
        &db,
        &cache,
        admin,
        meta,
        id.into_inner(),
        Action::Reject,
        body,
    )
    .await
}

/// Suspend a listed package, with a comment: it leaves the catalogue until approved again.
#[utoipa::path(
    tag = "packages",
    params(("id" = String, Path, description = "The package's id.")),
    request_body = PackageDecision,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Suspended.", body = Package),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
    )
)]
#[post("/api/v1/admin/packages/{id}/suspend")]
pub async fn suspend_package(
    db: web::Data<Db>,
    cache: web::Data<CatalogueCache>,
    admin: AdminUser,
    meta: RequestMeta,
    id: web::Path<String>,
    body: OptionalJson<PackageDecision>,
) -> Result<HttpResponse, ApiError> {
    decide(
        &db,
        &cache,
        admin,
        meta,
        id.into_inner(),
        Action::Suspend,
        body,
    )
    .await
}
