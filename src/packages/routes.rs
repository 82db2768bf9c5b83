//! The vendor's package endpoints: create drafts, edit, submit for review, withdraw, and read
//! the review history.

use actix_web::{HttpResponse, get, patch, post, web};
use diesel::prelude::*;
use utoipa_actix_web::service_config::ServiceConfig;

use super::listing::{PackageQuery, page_of_packages};
use super::model::{CreatePackage, Package, PackageContent, PatchPackage, Review};
use super::workflow::{Action, apply};
use super::{rules, store, transitions};
use crate::audit::{self, NewEvent};
use crate::auth::{RequestMeta, VendorUser};
use crate::db::schema::package_revisions;
use crate::db::{Db, DbConnection};
use crate::error::responses;
use crate::error::{ApiError, FieldError};
use crate::extract::ValidJson;
use crate::pagination::Page;
use crate::programme::model::ProgrammeRules;
use crate::vendors::model::VendorRow;
use crate::vendors::workflow::VendorStatus;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_package)
        .service(list_packages)
        .service(get_package)
        .service(patch_package)
        .service(submit_package)
        .service(withdraw_package)
        .service(package_reviews);
}

/// The calling vendor's profile; 403 for a vendor account without one.
fn vendor_of(conn: &mut DbConnection, user: &VendorUser) -> Result<VendorRow, ApiError> {
    crate::vendors::store::profile_of(conn, &user.0.user_id)
}

/// Checks `content` for (category, sector) against the rules in force: 422 listing every
/// violation. Returns the rules it was checked against.
fn check_content(
    conn: &mut DbConnection,
    category: &str,
    sector: &str,
    content: &PackageContent,
) -> Result<ProgrammeRules, ApiError> {
    let rules = crate::programme::store::current_rules(conn)?;
    let mut errors: Vec<FieldError> = Vec::new();
    if crate::programme::store::category_active(conn, category)? != Some(true) {
        errors.push(FieldError::new(
            "category",
            "is not an active solution category",
        ));
    }
    if crate::programme::store::sector_active(conn, sector)? != Some(true) {
        errors.push(FieldError::new(
            "target_sector",
            "is not an active target sector",
        ));
    }
    errors.extend(rules::violations(content, &rules));
    if errors.is_empty() {
        Ok(rules)
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// Create a package as a draft. Any vendor may keep drafts; only an approved one can submit
/// them. A vendor has at most one package per (category, target sector): 409 names the one
/// that holds the slot.
#[utoipa::path(
    tag = "packages",
    request_body = CreatePackage,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The new draft.", body = Package),
        (status = 409, response = responses::Conflict),
    )
)]
#[post("/api/v1/vendor/packages")]
pub async fn create_package(
    db: web::Data<Db>,
    user: VendorUser,
    meta: RequestMeta,
    body: ValidJson<CreatePackage>,
) -> Result<HttpResponse, ApiError> {
    let form = body.into_inner();
    let package = db
        .write(move |tx| {
            let vendor = vendor_of(tx, &user)?;
            let rules = check_content(tx, &form.category, &form.target_sector, &form.content)?;
            if let Some(holder) = store::slot_holder(tx, &vendor.id, &form.category, &form.target_sector, None)? {
                return Err(ApiError::Conflict(format!(
                    "Package {holder} already covers this category and target sector; a vendor may have one per pair."
                )));
            }
            let id = store::insert_package(tx, &vendor.id, &form.category, &form.target_sector, &form.content, &rules)?;
            let row = store::find(tx, &id)?;
            let package = store::view(tx, &row)?;
            audit::record(
                tx,
                &meta,
                NewEvent::new("package.created", "package", Some(&id)).by(&user.0.user_id, user.0.role).after(&package),
            )?;
            Ok(package)
        })
        .await?;
    Ok(HttpResponse::Created().json(package))
}

/// The calling vendor's packages, newest first.
#[utoipa::path(
    operation_id = "vendor_list_packages",
    tag = "packages",
    params(PackageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of packages.", body = Page<Package>),
        (status = 422, response = responses::ValidationFailed),
    )
)]
#[get("/api/v1/vendor/packages")]
pub async fn list_packages(
    db: web::Data<Db>,
    user: VendorUser,
    query: web::Query<PackageQuery>,
) -> Result<HttpResponse, ApiError> {
    let vendor = db.run(move |conn| vendor_of(conn, &user)).await?;
    Ok(HttpResponse::Ok().json(page_of_packages(&db, Some(vendor.id), query.into_inner()).await?))
}

/// One of the calling vendor's packages, with its current revision.
#[utoipa::path(
    operation_id = "vendor_get_package",
    tag = "packages",
    params(("id" = String, Path, description = "The package's id.")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The package.", body = Package),
        (status = 404, response = responses::NotFound),
    )
)]
#[get("/api/v1/vendor/packages/{id}")]
pub async fn get_package(
    db: web::Data<Db>,
    user: VendorUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let package = db
        .run(move |conn| {
            let vendor = vendor_of(conn, &user)?;
            let row = store::find_for_vendor(conn, &vendor.id, &id)?;
            Ok(store::view(conn, &row)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(package))
}

/// Edit a package. A draft, or one returned for changes, is edited in place. Editing a listed
/// package opens a new revision that goes through review while the listed revision stays live
/// and unchanged; further edits change that new revision until it is submitted.
#[utoipa::path(
    tag = "packages",
    params(("id" = String, Path, description = "The package's id.")),
    request_body = PatchPackage,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The package, with the edited revision.", body = Package),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
    )
)]
#[patch("/api/v1/vendor/packages/{id}")]
pub async fn patch_package(
    db: web::Data<Db>,
    user: VendorUser,
    meta: RequestMeta,
    id: web::Path<String>,
    body: ValidJson<PatchPackage>,
) -> Result<HttpResponse, ApiError> {
    let (id, patch) = (id.into_inner(), body.into_inner());
    let package = db
        .write(move |tx| {
            let vendor = vendor_of(tx, &user)?;
            let row = store::find_for_vendor(tx, &vendor.id, &id)?;
            let outcome = apply(transitions::state_of(tx, &row)?, Action::Edit)
                .map_err(ApiError::Conflict)?;
            let before = store::view(tx, &row)?;
            let content = patch.clone().apply_to(before.revision.content());
            validator::Validate::validate(&content)?;
            let rules = check_content(tx, &row.category, &row.target_sector, &content)?;
            if outcome.new_revision {
                let number: Option<i64> = package_revisions::table
                    .filter(package_revisions::package_id.eq(&row.id))
                    .select(diesel::dsl::max(package_revisions::number))
                    .first(tx)?;
                let revision_id = uuid::Uuid::new_v4().to_string();
                store::insert_revision(
                    tx,
                    &revision_id,
                    &row.id,
                    number.unwrap_or(0) + 1,
                    &content,
                    &rules,
                )?;
                let moved = store::set_state(
                    tx,
                    &row,
                    store::NewState {
                        status: outcome.package,
                        live_revision_id: row.live_revision_id.as_deref(),
                        current_revision_id: &revision_id,
                        listed_at: row.listed_at,
                    },
                )?;
                if !moved {
                    return Err(ApiError::Conflict(
                        "The package changed meanwhile; reload it and retry.".to_owned(),
                    ));
                }
            } else {
                store::replace_content(tx, &row.current_revision_id, &content, &rules)?;
            }
            let after_row = store::find(tx, &row.id)?;
            let after = store::view(tx, &after_row)?;
            audit::record(
                tx,
                &meta,
                NewEvent::new("package.edited", "package", Some(&row.id))
                    .by(&user.0.user_id, user.0.role)
                    .before(&before)
                    .after(&after),
            )?;
            Ok(after)
        })
        .await?;
    Ok(HttpResponse::Ok().json(package))
}

/// Submit the current revision for review. Only an approved vendor can; the content is checked
/// again against the rules in force.
#[utoipa::path(
    tag = "packages",
    params(("id" = String, Path, description = "The package's id.")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Submitted.", body = Package),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
        (status = 422, response = responses::ValidationFailed),
    )
)]
#[post("/api/v1/vendor/packages/{id}/submit")]
pub async fn submit_package(
    db: web::Data<Db>,
    user: VendorUser,
    meta: RequestMeta,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let package = db
        .write(move |tx| {
            let vendor = vendor_of(tx, &user)?;
            let row = store::find_for_vendor(tx, &vendor.id, &id)?;
            crate::auth::store::require_verified_email(tx, &user.0.user_id)?;
            if vendor.status != VendorStatus::Approved {
                return Err(ApiError::Conflict(format!(
                    "Only an approved vendor can submit packages; this vendor is {}.",
                    vendor.status
                )));
            }
            let current = store::view(tx, &row)?;
            check_content(
                tx,
                &row.category,
                &row.target_sector,
                &current.revision.content(),
            )?;
            transitions::perform(tx, &meta, &user.0, &row, Action::Submit, None)
        })
        .await?;
    Ok(HttpResponse::Ok().json(package))
}

/// Withdraw a package from the programme for good; it leaves the catalogue at once.
#[utoipa::path(
    tag = "packages",
    params(("id" = String, Path, description = "The package's id.")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Withdrawn.", body = Package),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
    )
)]
#[post("/api/v1/vendor/packages/{id}/withdraw")]
pub async fn withdraw_package(
    db: web::Data<Db>,
    cache: web::Data<crate::catalogue::cache::CatalogueCache>,
    user: VendorUser,
    meta: RequestMeta,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let package = db
        .write(move |tx| {
            let vendor = vendor_of(tx, &user)?;
            let row = store::find_for_vendor(tx, &vendor.id, &id)?;
            transitions::perform(tx, &meta, &user.0, &row, Action::Withdraw, None)
        })
        .await?;
    cache.invalidate();
    Ok(HttpResponse::Ok().json(package))
}

/// The review history of one of the vendor's packages, oldest first: who did what, when, and
/// the admins' comments.
#[utoipa::path(
    tag = "packages",
    params(("id" = String, Path, description = "The package's id.")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The history.", body = Vec<Review>),
        (status = 404, response = responses::NotFound),
    )
)]
#[get("/api/v1/vendor/packages/{id}/reviews")]
pub async fn package_reviews(
    db: web::Data<Db>,
    user: VendorUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let history = db
        .run(move |conn| {
            let vendor = vendor_of(conn, &user)?;
            let row = store::find_for_vendor(conn, &vendor.id, &id)?;
            Ok(store::reviews(conn, &row.id)?
                .iter()
                .map(Review::for_vendor)
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(HttpResponse::Ok().json(history))
}
