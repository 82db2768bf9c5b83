//! Login, token refresh and logout, and the caller's own profile. The routes behind email
//! links live in `email_links`.

use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::accounts::AuthSettings;
use super::email_links;
use super::jwt::AccessTokens;
use super::model::{LoginRequest, LogoutRequest, RefreshRequest, TokenPair, User, UserRow};
use super::rate_limit::AuthRateLimiter;
use super::store;
use super::tokens::hash_token;
use super::{AuthUser, RequestMeta, Role, password};
use crate::audit::{self, NewEvent};
use crate::db::{Db, DbConnection, schema::audit_events};
use crate::error::ApiError;
use crate::error::responses;
use crate::extract::{OptionalJson, ValidJson};
use crate::smes::model::Sme;
use crate::validation::normalize_email;
use crate::vendors::model::Vendor;
use crate::{smes, vendors};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(login)
        .service(refresh)
        .service(logout)
        .service(me)
        .service(email_links::verify_email)
        .service(email_links::request_password_reset)
        .service(email_links::confirm_password_reset);
}

/// Failed logins for one email within this window that make a burst worth an audit event.
const BURST_WINDOW_MINUTES: i64 = 15;
const BURST_THRESHOLD: i64 = 5;

const WRONG_CREDENTIALS: &str = "The email address or password is not correct.";

/// Starts a new token family for `user`: an access token and a refresh token.
fn start_session(
    conn: &mut DbConnection,
    tokens: &AccessTokens,
    settings: &AuthSettings,
    user_id: &str,
    role: Role,
    family_id: &str,
) -> Result<TokenPair, ApiError> {
    let refresh_token = store::issue_refresh_token(conn, user_id, family_id, settings.refresh_ttl)?;
    Ok(TokenPair {
        access_token: tokens.issue(user_id, role)?,
        refresh_token,
        token_type: "Bearer".to_owned(),
        expires_in: tokens.ttl_seconds(),
        role,
    })
}

/// Records a failed login, and a burst event when failures for the email reach the threshold.
fn record_login_failure(
    conn: &mut DbConnection,
    meta: &RequestMeta,
    email: &str,
    user: Option<&UserRow>,
) -> Result<(), ApiError> {
    use diesel::prelude::*;
    // The email itself is kept out of the trail; its hash links the failures together.
    let subject = hash_token(email);
    audit::record(
        conn,
        meta,
        NewEvent::new("auth.login_failed", "login", Some(&subject))
            .after(serde_json::json!({"user_id": user.map(|u| u.id.clone())})),
    )?;
    let since = crate::time::now() - chrono::Duration::minutes(BURST_WINDOW_MINUTES);
    let recent: i64 = audit_events::table
        .filter(audit_events::action.eq("auth.login_failed"))
        .filter(audit_events::entity_id.eq(&subject))
        .filter(audit_events::occurred_at.gt(since))
        .count()
        .get_result(conn)?;
    if recent == BURST_THRESHOLD {
        tracing::warn!(failures = recent, "burst of failed logins for one email");
        audit::record(
            conn,
            meta,
            NewEvent::new("auth.login_failure_burst", "login", Some(&subject)).after(
                serde_json::json!({
                    "failures": recent,
                    "window_minutes": BURST_WINDOW_MINUTES,
                    "user_id": user.map(|u| u.id.clone()),
                }),
            ),
        )?;
    }
    Ok(())
}

/// Log in with email and password. Returns a short-lived access token and a single-use
/// refresh token. A failure never says whether the email or the password was wrong.
#[utoipa::path(
    tag = "identity",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in.", body = TokenPair),
        (status = 401, response = responses::Unauthorized),
        (status = 403, response = responses::Forbidden),
        (status = 429, response = responses::TooManyRequests),
    )
)]
#[post("/api/v1/auth/login")]
pub async fn login(
    db: web::Data<Db>,
    tokens: web::Data<AccessTokens>,
    settings: web::Data<AuthSettings>,
    limiter: web::Data<AuthRateLimiter>,
    meta: RequestMeta,
    body: ValidJson<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let form = body.into_inner();
    let email = normalize_email(&form.email);
    limiter.check(meta.ip_or_unknown(), Some(&email))?;
    let lookup = email.clone();
    let user = db
        .run(move |conn| Ok(store::find_user_by_email(conn, &lookup)?))
        .await?;
    let valid = password::verify(
        form.password,
        user.as_ref().map(|u| u.password_hash.clone()),
    )
    .await?;
    let pair = db
        .write(move |tx| match user.clone() {
            Some(user) if valid && user.disabled_at.is_some() => {
                audit::record(
                    tx,
                    &meta,
                    NewEvent::new("auth.login_refused_disabled", "user", Some(&user.id))
                        .by(&user.id, user.role()),
                )?;
                Ok(Err(ApiError::ForbiddenOf {
                    slug: "account-disabled",
                    detail: "This account is disabled. Contact the programme office.".to_owned(),
                }))
            }
            Some(user) if valid => {
                let family = uuid::Uuid::new_v4().to_string();
                let pair = start_session(tx, &tokens, &settings, &user.id, user.role(), &family)?;
                audit::record(
                    tx,
                    &meta,
                    NewEvent::new("auth.login", "user", Some(&user.id)).by(&user.id, user.role()),
                )?;
                Ok(Ok(Some(pair)))
            }
            user => {
                record_login_failure(tx, &meta, &email, user.as_ref())?;
                Ok(Ok(None))
            }
        })
        .await??;
    match pair {
        Some(pair) => Ok(HttpResponse::Ok().json(pair)),
        None => Err(ApiError::Unauthorized(WRONG_CREDENTIALS.to_owned())),
    }
}

/// What a refresh attempt found.
enum Refreshed {
    Pair(TokenPair),
    Reused,
    Invalid,
}

/// Exchange a refresh token for a new pair. The old refresh token dies; presenting a dead one
/// again revokes its whole family, since one of its holders must be an attacker.
#[utoipa::path(
    tag = "identity",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair.", body = TokenPair),
        (status = 401, response = responses::Unauthorized),
    )
)]
#[post("/api/v1/auth/refresh")]
pub async fn refresh(
    db: web::Data<Db>,
    tokens: web::Data<AccessTokens>,
    settings: web::Data<AuthSettings>,
    meta: RequestMeta,
    body: ValidJson<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let presented = body.into_inner().refresh_token;
    let outcome = db
        .write(move |tx| {
            let now = crate::time::now();
            let Some(row) = store::find_refresh_token(tx, &presented)? else {
                return Ok(Refreshed::Invalid);
            };
            if row.revoked_at.is_some() || row.expires_at <= now {
                return Ok(Refreshed::Invalid);
            }
            if row.rotated_at.is_some() || !store::mark_rotated(tx, &row.id, now)? {
                let revoked = store::revoke_family(tx, &row.family_id, now)?;
                audit::record(
                    tx,
                    &meta,
                    NewEvent::new("auth.refresh_token_reused", "user", Some(&row.user_id))
                        .after(serde_json::json!({"family_id": row.family_id, "revoked": revoked})),
                )?;
                return Ok(Refreshed::Reused);
            }
            let user = store::find_user(tx, &row.user_id)?;
            let pair = start_session(
                tx,
                &tokens,
                &settings,
                &user.id,
                user.role(),
                &row.family_id,
            )?;
            Ok(Refreshed::Pair(pair))
        })
        .await?;
    match outcome {
        Refreshed::Pair(pair) => Ok(HttpResponse::Ok().json(pair)),
        Refreshed::Reused => {
            tracing::warn!("a rotated refresh token was presented again; its family is revoked");
            Err(ApiError::Unauthorized(
                "This refresh token was already used; every session from that login is now revoked.".to_owned(),
            ))
        }
        Refreshed::Invalid => Err(ApiError::Unauthorized(
            "The refresh token is invalid or expired.".to_owned(),
        )),
    }
}

/// Log out: revokes the given refresh token's family, or, with no body, every session of the
/// caller. Access tokens already issued lapse within their short lifetime.
#[utoipa::path(
    tag = "identity",
    request_body(content = Option<LogoutRequest>, description = "The refresh token to revoke; omit to revoke every session."),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Logged out."),
    )
)]
#[post("/api/v1/auth/logout")]
pub async fn logout(
    db: web::Data<Db>,
    user: AuthUser,
    meta: RequestMeta,
    body: OptionalJson<LogoutRequest>,
) -> Result<HttpResponse, ApiError> {
    let form = body.into_inner().unwrap_or_default();
    db.write(move |tx| {
        let now = crate::time::now();
        let revoked = match &form.refresh_token {
            Some(token) => match store::find_refresh_token(tx, token)? {
                Some(row) if row.user_id == user.user_id => store::revoke_family(tx, &row.family_id, now)?,
                _ => 0,
            },
            None => store::revoke_all_for_user(tx, &user.user_id, now)?,
        };
        audit::record(
            tx,
            &meta,
            NewEvent::new("auth.logout", "user", Some(&user.user_id))
                .by(&user.user_id, user.role)
                .after(serde_json::json!({"revoked": revoked, "everywhere": form.refresh_token.is_none()})),
        )?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller and its vendor or SME profile.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Me {
    pub user: User,
    /// Present for vendors.
    pub vendor: Option<Vendor>,
    /// Present for SMEs.
    pub sme: Option<Sme>,
}

/// The caller's account and profile.
#[utoipa::path(
    tag = "identity",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller.", body = Me),
    )
)]
#[get("/api/v1/me")]
pub async fn me(db: web::Data<Db>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    let me = db
        .run(move |conn| {
            let row = store::find_user(conn, &user.user_id).map_err(|e| match e {
                diesel::result::Error::NotFound => {
                    ApiError::Unauthorized("The account no longer exists.".to_owned())
                }
                other => other.into(),
            })?;
            let vendor = vendors::store::find_by_user(conn, &row.id)?;
            let sme = smes::store::find_by_user(conn, &row.id)?;
            Ok(Me {
                user: (&row).into(),
                vendor: vendor.as_ref().map(Vendor::from),
                sme: sme.as_ref().map(Sme::from),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(me))
}
