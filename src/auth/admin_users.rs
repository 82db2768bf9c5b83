//! Admins disabling and re-enabling accounts. A disabled account cannot log in, its refresh
//! tokens are revoked, and its access tokens are refused at the next request (the extractors
//! check the account on every request).

use actix_web::{HttpResponse, post, web};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use super::model::{User, UserRow};
use super::store;
use super::{AdminUser, RequestMeta};
use crate::audit::{self, NewEvent};
use crate::db::Db;
use crate::error::ApiError;
use crate::error::responses;
use crate::extract::ValidJson;
use crate::validation::non_blank;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(disable_user).service(enable_user);
}

/// `POST /admin/users/{id}/disable`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisableUser {
    /// Why, for the audit trail.
    #[validate(length(min = 1, max = 2000), custom(function = non_blank))]
    #[schema(example = "Filed applications for SMEs it does not represent.")]
    pub reason: String,
}

/// An account as admins manage it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ManagedUser {
    #[serde(flatten)]
    pub user: User,
    /// When it was disabled; `null` while it is active.
    #[schema(value_type = Option<String>)]
    #[serde(serialize_with = "crate::time::serialize_option")]
    pub disabled_at: Option<NaiveDateTime>,
    pub disabled_reason: Option<String>,
}

fn managed(conn: &mut crate::db::DbConnection, id: &str) -> Result<ManagedUser, ApiError> {
    use crate::db::schema::users;
    use diesel::prelude::*;
    let (row, reason): (UserRow, Option<String>) = users::table
        .find(id)
        .select((UserRow::as_select(), users::disabled_reason))
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::NotFound("No user has this id.".to_owned()))?;
    Ok(ManagedUser {
        user: User::from(&row),
        disabled_at: row.disabled_at,
        disabled_reason: reason,
    })
}

/// Disable an account: it cannot log in, every refresh token it holds is revoked, and its
/// access tokens are refused from the next request on. Audited with the reason.
#[utoipa::path(
    tag = "identity",
    params(("id" = String, Path, description = "The user's id.")),
    request_body = DisableUser,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Disabled.", body = ManagedUser),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
    )
)]
#[post("/api/v1/admin/users/{id}/disable")]
pub async fn disable_user(
    db: web::Data<Db>,
    admin: AdminUser,
    meta: RequestMeta,
    id: web::Path<String>,
    body: ValidJson<DisableUser>,
) -> Result<HttpResponse, ApiError> {
    let (id, reason) = (id.into_inner(), body.into_inner().reason.trim().to_owned());
    if id == admin.0.user_id {
        return Err(ApiError::Conflict(
            "An admin cannot disable their own account.".to_owned(),
        ));
    }
    let user = db
        .write(move |tx| {
            let before = managed(tx, &id)?;
            let now = crate::time::now();
            if !store::set_disabled(tx, &id, Some(now), Some(&reason))? {
                return Err(ApiError::Conflict(
                    "The account is already disabled.".to_owned(),
                ));
            }
            let revoked = store::revoke_all_for_user(tx, &id, now)?;
            let after = managed(tx, &id)?;
            audit::record(
                tx,
                &meta,
                NewEvent::new("user.disabled", "user", Some(&id))
                    .by(&admin.0.user_id, admin.0.role)
                    .before(&before)
                    .after(serde_json::json!({"user": &after, "sessions_revoked": revoked})),
            )?;
            Ok(after)
        })
        .await?;
    Ok(HttpResponse::Ok().json(user))
}

/// Re-enable a disabled account. It logs in afresh: the sessions revoked when it was disabled
/// stay revoked. Audited.
#[utoipa::path(
    tag = "identity",
    params(("id" = String, Path, description = "The user's id.")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Enabled.", body = ManagedUser),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
    )
)]
#[post("/api/v1/admin/users/{id}/enable")]
pub async fn enable_user(
    db: web::Data<Db>,
    admin: AdminUser,
    meta: RequestMeta,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let user = db
        .write(move |tx| {
            let before = managed(tx, &id)?;
            if !store::set_disabled(tx, &id, None, None)? {
                return Err(ApiError::Conflict(
                    "The account is not disabled.".to_owned(),
                ));
            }
            let after = managed(tx, &id)?;
            audit::record(
                tx,
                &meta,
                NewEvent::new("user.enabled", "user", Some(&id))
                    .by(&admin.0.user_id, admin.0.role)
                    .before(&before)
                    .after(&after),
            )?;
            Ok(after)
        })
        .await?;
    Ok(HttpResponse::Ok().json(user))
}
