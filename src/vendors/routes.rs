//! Vendor endpoints.

use actix_web::{HttpResponse, get, post, web};
use utoipa_actix_web::service_config::ServiceConfig;

use super::model::{RegisterVendor, Vendor, VendorRegistered};
use super::store;
use crate::audit::{self, NewEvent};
use crate::auth::accounts::{self, AuthSettings};
use crate::auth::rate_limit::AuthRateLimiter;
use crate::auth::{RequestMeta, Role, VendorUser, password};
use crate::db::Db;
use crate::error::ApiError;
use crate::error::responses;
use crate::extract::ValidJson;
use crate::validation::normalize_email;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(register_vendor).service(vendor_profile);
}

/// The calling vendor's profile: its verification status and the reason given with the latest
/// rejection or suspension.
#[utoipa::path(
    tag = "vendors",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The vendor's profile.", body = Vendor),
    )
)]
#[get("/api/v1/vendor/profile")]
pub async fn vendor_profile(
    db: web::Data<Db>,
    vendor: VendorUser,
) -> Result<HttpResponse, ApiError> {
    let row = db
        .run(move |conn| {
            store::find_by_user(conn, &vendor.0.user_id)?
                .ok_or_else(|| ApiError::NotFound("This account has no vendor profile.".to_owned()))
        })
        .await?;
    Ok(HttpResponse::Ok().json(Vendor::from(&row)))
}

/// Register a solution vendor: creates a `vendor` user and a `pending` vendor profile, and
/// emails a verification link. An admin must approve the vendor before it can list packages.
#[utoipa::path(
    tag = "identity",
    request_body = RegisterVendor,
    responses(
        (status = 201, description = "Registered; the vendor awaits verification.", body = VendorRegistered),
        (status = 409, response = responses::Conflict),
        (status = 429, response = responses::TooManyRequests),
    )
)]
#[post("/api/v1/vendors/register")]
pub async fn register_vendor(
    db: web::Data<Db>,
    settings: web::Data<AuthSettings>,
    limiter: web::Data<AuthRateLimiter>,
    meta: RequestMeta,
    body: ValidJson<RegisterVendor>,
) -> Result<HttpResponse, ApiError> {
    let mut form = body.into_inner();
    form.email = normalize_email(&form.email);
    limiter.check(meta.ip_or_unknown(), Some(&form.email))?;
    accounts::check_password_not_email(&form.password, &form.email)?;
    if !form.net_equity_positive {
        return Err(ApiError::invalid(
            "net_equity_positive",
            "must be true: the programme lists only vendors with positive net equity",
        ));
    }
    let hash = password::hash(std::mem::take(&mut form.password)).await?;
    let public_url = settings.public_url.clone();
    let (user, vendor) = db
        .write(move |tx| {
            if store::br_number_taken(tx, &form.br_number)? {
                return Err(ApiError::Conflict(
                    "A vendor with this BR number is already registered.".to_owned(),
                ));
            }
            let user =
                accounts::create_account(tx, &meta, &form.email, &hash, Role::Vendor, &public_url)?;
            let vendor = store::insert_vendor(tx, &user.id, &form)?;
            audit::record(
                tx,
                &meta,
                NewEvent::new("vendor.registered", "vendor", Some(&vendor.id))
                    .by(&user.id, Role::Vendor)
                    .after(Vendor::from(&vendor)),
            )?;
            Ok((user, vendor))
        })
        .await?;
    Ok(HttpResponse::Created().json(VendorRegistered {
        vendor: Vendor::from(&vendor),
        user: (&user).into(),
    }))
}
