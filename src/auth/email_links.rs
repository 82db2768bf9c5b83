//! The routes behind email links: address verification and password reset.

use actix_web::{HttpResponse, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::accounts::{self, AuthSettings};
use super::model::{Accepted, PasswordResetConfirm, PasswordResetRequest, VerifyEmailRequest};
use super::rate_limit::AuthRateLimiter;
use super::store::{self, EmailPurpose};
use super::{RequestMeta, password};
use crate::audit::{self, NewEvent};
use crate::db::Db;
use crate::error::ApiError;
use crate::error::responses;
use crate::extract::ValidJson;
use crate::mail::templates;
use crate::outbox;
use crate::validation::normalize_email;

/// Whether the email is now verified.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Verified {
    pub verified: bool,
}

/// Confirm an email address with the token from the verification email. Each token works once
/// and expires after 48 hours.
#[utoipa::path(
    tag = "identity",
    request_body = VerifyEmailRequest,
    responses(
        (status = 200, description = "The address is verified.", body = Verified),
    )
)]
#[post("/api/v1/auth/verify-email")]
pub async fn verify_email(
    db: web::Data<Db>,
    meta: RequestMeta,
    body: ValidJson<VerifyEmailRequest>,
) -> Result<HttpResponse, ApiError> {
    let token = body.into_inner().token;
    db.write(move |tx| {
        let now = crate::time::now();
        let Some(user_id) = store::consume_email_token(tx, &token, EmailPurpose::VerifyEmail, now)?
        else {
            return Err(ApiError::invalid(
                "token",
                "is invalid, already used or expired",
            ));
        };
        store::mark_email_verified(tx, &user_id, now)?;
        let user = store::find_user(tx, &user_id)?;
        audit::record(
            tx,
            &meta,
            NewEvent::new("user.email_verified", "user", Some(&user_id)).by(&user_id, user.role()),
        )?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::Ok().json(Verified { verified: true }))
}

/// Ask for a password-reset link. The answer is the same whether or not the address has an
/// account, so that it reveals nothing; the link, when sent, works once within an hour.
#[utoipa::path(
    tag = "identity",
    request_body = PasswordResetRequest,
    responses(
        (status = 202, description = "Accepted.", body = Accepted),
        (status = 429, response = responses::TooManyRequests),
    )
)]
#[post("/api/v1/auth/password-reset")]
pub async fn request_password_reset(
    db: web::Data<Db>,
    settings: web::Data<AuthSettings>,
    limiter: web::Data<AuthRateLimiter>,
    meta: RequestMeta,
    body: ValidJson<PasswordResetRequest>,
) -> Result<HttpResponse, ApiError> {
    let email = normalize_email(&body.into_inner().email);
    limiter.check(meta.ip_or_unknown(), Some(&email))?;
    db.write(move |tx| {
        if let Some(user) = store::find_user_by_email(tx, &email)? {
            let token = store::issue_email_token(tx, &user.id, EmailPurpose::PasswordReset)?;
            outbox::enqueue(
                tx,
                templates::password_reset(&user.email, &settings.public_url, &token),
            )?;
            audit::record(
                tx,
                &meta,
                NewEvent::new("auth.password_reset_requested", "user", Some(&user.id)),
            )?;
        }
        Ok(())
    })
    .await?;
    Ok(HttpResponse::Accepted().json(Accepted {
        message: "If the address belongs to an account, a reset link is on its way.".to_owned(),
    }))
}

/// Set a new password with the token from the reset email. Every session of the account is
/// revoked, and every other reset link sent to it stops working.
#[utoipa::path(
    tag = "identity",
    request_body = PasswordResetConfirm,
    responses(
        (status = 204, description = "The password is changed."),
        (status = 429, response = responses::TooManyRequests),
    )
)]
#[post("/api/v1/auth/password-reset/confirm")]
pub async fn confirm_password_reset(
    db: web::Data<Db>,
    limiter: web::Data<AuthRateLimiter>,
    meta: RequestMeta,
    body: ValidJson<PasswordResetConfirm>,
) -> Result<HttpResponse, ApiError> {
    limiter.check(meta.ip_or_unknown(), None)?;
    let form = body.into_inner();
    let hash = password::hash(form.new_password.clone()).await?;
    db.write(move |tx| {
        let now = crate::time::now();
        let Some(user_id) =
            store::consume_email_token(tx, &form.token, EmailPurpose::PasswordReset, now)?
        else {
            return Err(ApiError::invalid(
                "token",
                "is invalid, already used or expired",
            ));
        };
        let user = store::find_user(tx, &user_id)?;
        accounts::check_password_not_email(&form.new_password, &user.email)?;
        store::set_password_hash(tx, &user_id, &hash)?;
        let revoked = store::revoke_all_for_user(tx, &user_id, now)?;
        let links_spent =
            store::spend_all_email_tokens(tx, &user_id, EmailPurpose::PasswordReset, now)?;
        audit::record(
            tx,
            &meta,
            NewEvent::new("auth.password_reset", "user", Some(&user_id))
                .by(&user_id, user.role())
                .after(serde_json::json!({
                    "sessions_revoked": revoked,
                    "other_reset_links_spent": links_spent,
                })),
        )?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
