//! SME endpoints.

use actix_web::{HttpResponse, post, web};
use utoipa_actix_web::service_config::ServiceConfig;

use super::eligibility::{self, Facts};
use super::model::{RegisterSme, Sme, SmeRegistered};
use super::store;
use crate::audit::{self, NewEvent};
use crate::auth::accounts::{self, AuthSettings};
use crate::auth::rate_limit::AuthRateLimiter;
use crate::auth::{RequestMeta, Role, password};
use crate::db::Db;
use crate::error::ApiError;
use crate::error::responses;
use crate::extract::ValidJson;
use crate::validation::{canonical_district, normalize_email};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(register_sme);
}

/// Register an SME: creates an `sme` user and its profile, evaluates eligibility, and emails a
/// verification link. An ineligible SME is registered too, so that it can see why; it cannot
/// apply.
#[utoipa::path(
    tag = "identity",
    request_body = RegisterSme,
    responses(
        (status = 201, description = "Registered, with the eligibility verdict and the reason for each failed rule.", body = SmeRegistered),
        (status = 409, response = responses::Conflict),
        (status = 429, response = responses::TooManyRequests),
    )
)]
#[post("/api/v1/smes/register")]
pub async fn register_sme(
    db: web::Data<Db>,
    settings: web::Data<AuthSettings>,
    limiter: web::Data<AuthRateLimiter>,
    meta: RequestMeta,
    body: ValidJson<RegisterSme>,
) -> Result<HttpResponse, ApiError> {
    let mut form = body.into_inner();
    form.email = normalize_email(&form.email);
    limiter.check(meta.ip_or_unknown(), Some(&form.email))?;
    accounts::check_password_not_email(&form.password, &form.email)?;
    if form.br_number.is_none() && form.hawker_licence.is_none() {
        return Err(ApiError::invalid(
            "br_number",
            "give a BR number, or a fixed-pitch hawker licence in hawker_licence",
        ));
    }
    let district = canonical_district(&form.district).unwrap_or_default();
    let hash = password::hash(std::mem::take(&mut form.password)).await?;
    let public_url = settings.public_url.clone();
    let (user, sme) = db
        .write(move |tx| {
            let Some(sector_active) = crate::programme::store::sector_active(tx, &form.sector)?
            else {
                return Err(ApiError::invalid("sector", "is not a known sector code"));
            };
            if let Some(br) = &form.br_number
                && store::br_number_taken(tx, br)?
            {
                return Err(ApiError::Conflict(
                    "An SME with this BR number is already registered.".to_owned(),
                ));
            }
            if let Some(licence) = &form.hawker_licence
                && store::hawker_licence_taken(tx, licence.trim())?
            {
                return Err(ApiError::Conflict(
                    "An SME with this hawker licence is already registered.".to_owned(),
                ));
            }
            let verdict = eligibility::evaluate(&Facts {
                has_br_number: form.br_number.is_some(),
                has_hawker_licence: form.hawker_licence.is_some(),
                sector_active,
                full_time_employees: form.full_time_employees,
                listed_company: form.declarations.listed_company,
                statutory_body: form.declarations.statutory_body,
                government_subvented: form.declarations.government_subvented,
            });
            let user =
                accounts::create_account(tx, &meta, &form.email, &hash, Role::Sme, &public_url)?;
            let sme = store::insert_sme(tx, &user.id, &form, district, &verdict)?;
            audit::record(
                tx,
                &meta,
                NewEvent::new("sme.registered", "sme", Some(&sme.id))
                    .by(&user.id, Role::Sme)
                    .after(Sme::from(&sme)),
            )?;
            crate::risk::store::after_registration(tx, &meta, &sme.id)?;
            Ok((user, sme))
        })
        .await?;
    let sme = Sme::from(&sme);
    Ok(HttpResponse::Created().json(SmeRegistered {
        eligibility: sme.eligibility.clone(),
        sme,
        user: (&user).into(),
    }))
}
