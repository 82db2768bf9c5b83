//! The admin's side of applications: the list, and approve, reject, verify-claim and disburse
//! (maker-checker: whoever verified a claim cannot disburse it).

use actix_web::{HttpResponse, get, post, web};
use utoipa_actix_web::service_config::ServiceConfig;

use super::model::{AdminApplication, ApplicationRow, Changes, DecisionForm, ViewOf};
use super::routes::{ApplicationQuery, page_of, transition};
use super::store::{self, Filter};
use super::workflow::Action;
use crate::auth::{AdminUser, AuthUser, RequestMeta};
use crate::db::{Db, DbConnection};
use crate::error::ApiError;
use crate::error::responses;
use crate::extract::OptionalJson;
use crate::pagination::Page;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(admin_applications)
        .service(admin_application)
        .service(approve_application)
        .service(reject_application)
        .service(verify_claim)
        .service(disburse_application);
}

/// All applications, newest first, optionally by status.
#[utoipa::path(
    tag = "sme journey",
    params(ApplicationQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of applications.", body = Page<AdminApplication>),
        (status = 422, response = responses::ValidationFailed),
    )
)]
#[get("/api/v1/admin/applications")]
pub async fn admin_applications(
    db: web::Data<Db>,
    _admin: AdminUser,
    query: web::Query<ApplicationQuery>,
) -> Result<HttpResponse, ApiError> {
    let owner = |_: &mut DbConnection| Ok(Filter::default());
    let page: Page<AdminApplication> = page_of(&db, owner, query.into_inner()).await?;
    let Page { items, next_cursor } = page;
    let items = db
        .run(move |conn| Ok(AdminApplication::with_flags(conn, items)?))
        .await?;
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

/// One application.
#[utoipa::path(
    tag = "sme journey",
    params(("id" = String, Path, description = "The application's id.")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The application.", body = AdminApplication),
        (status = 404, response = responses::NotFound),
    )
)]
#[get("/api/v1/admin/applications/{id}")]
pub async fn admin_application(
    db: web::Data<Db>,
    _admin: AdminUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let view = db
        .run(move |conn| {
            let row = store::find(conn, &id)?;
            Ok(AdminApplication::view_of(conn, row)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

fn any_application(
    conn: &mut DbConnection,
    _: &AuthUser,
    id: &str,
) -> Result<ApplicationRow, ApiError> {
    store::find(conn, id).map_err(|e| match e {
        diesel::result::Error::NotFound => {
            ApiError::NotFound("No application has this id.".to_owned())
        }
        other => other.into(),
    })
}

fn comment_of(body: OptionalJson<DecisionForm>) -> Result<Option<String>, ApiError> {
    let form = body.into_inner().unwrap_or_default();
    validator::Validate::validate(&form)?;
    Ok(form
        .comment
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty()))
}

async fn decide(
    db: &Db,
    admin: AdminUser,
    meta: RequestMeta,
    id: String,
    action: Action,
    body: OptionalJson<DecisionForm>,
) -> Result<HttpResponse, ApiError> {
    let comment = comment_of(body)?;
    if action == Action::Reject && comment.is_none() {
        return Err(ApiError::invalid("comment", "is required to reject"));
    }
    let prepare = move |conn: &mut DbConnection, user: &AuthUser, row: &ApplicationRow| {
        let now = crate::time::now();
        if matches!(
            action,
            Action::Approve | Action::VerifyClaim | Action::Disburse
        ) {
            crate::risk::review::refuse_if_conflicted(conn, &user.user_id, &row.vendor_id)?;
        }
        if matches!(action, Action::VerifyClaim | Action::Disburse) {
            crate::risk::review::refuse_if_held(conn, &row.id)?;
        }
        let mut changes = Changes {
            last_comment: comment.clone(),
            ..Changes::default()
        };
        match action {
            Action::Approve => changes.approved_by = Some(user.user_id.clone()),
            Action::VerifyClaim => {
                changes.verified_by = Some(user.user_id.clone());
                changes.verified_at = Some(now);
            }
            Action::Disburse => {
                if row.verified_by.as_deref() == Some(user.user_id.as_str()) {
                    return Err(ApiError::Forbidden(
                        "The admin who verified the claim cannot also disburse it.".to_owned(),
                    ));
                }
                changes.disbursed_by = Some(user.user_id.clone());
                changes.disbursed_at = Some(now);
            }
            _ => {}
        }
        Ok(changes)
    };
    transition::<AdminApplication>(db, meta, admin.0, id, action, prepare, any_application).await
}

macro_rules! decision_route {
    ($name:ident, $path:literal, $action:expr, $doc:literal, $ok:literal) => {
        #[doc = $doc]
        #[utoipa::path(
            tag = "sme journey",
            params(("id" = String, Path, description = "The application's id.")),
            request_body(content = Option<DecisionForm>, description = "A comment (required to reject)."),
            security(("bearer" = [])),
            responses(
                (status = 200, description = $ok, body = AdminApplication),
                (status = 404, response = responses::NotFound),
                (status = 409, response = responses::Conflict),
            )
        )]
        #[post($path)]
        pub async fn $name(
            db: web::Data<Db>,
            admin: AdminUser,
            meta: RequestMeta,
            id: web::Path<String>,
            body: OptionalJson<DecisionForm>,
        ) -> Result<HttpResponse, ApiError> {
            decide(&db, admin, meta, id.into_inner(), $action, body).await
        }
    };
}

decision_route!(
    approve_application,
    "/api/v1/admin/applications/{id}/approve",
    Action::Approve,
    "Approve a reserved application: the reservation becomes a commitment and the \
     implementation deadline starts.",
    "Approved."
);
decision_route!(
    reject_application,
    "/api/v1/admin/applications/{id}/reject",
    Action::Reject,
    "Reject an application before disbursement, with a comment: its money is released and the \
     waitlist promoted.",
    "Rejected."
);
decision_route!(
    verify_claim,
    "/api/v1/admin/applications/{id}/verify-claim",
    Action::VerifyClaim,
    "Verify the claim of an application whose delivery and payment the SME confirmed.",
    "Claim verified."
);
decision_route!(
    disburse_application,
    "/api/v1/admin/applications/{id}/disburse",
    Action::Disburse,
    "Disburse a verified claim: the commitment becomes disbursed money. The admin who verified \
     the claim gets 403 (maker-checker).",
    "Disbursed."
);
