//! The SME's and the vendor's side of applications: apply, list, withdraw, deliver, and confirm
//! delivery with proof of payment.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use diesel::OptionalExtension;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use super::apply::apply;
use super::model::{
    Application, ApplicationRow, ApplyForm, Changes, ConfirmDeliveryForm, DeliverForm, ViewOf,
};
use super::store::{self, Filter};
use super::transitions::{Actor, perform};
use super::workflow::{Action, Status, step};
use crate::auth::{ActiveLater, AuthUser, RequestMeta, SmeUser, VendorUser};
use crate::budget::Sharding;
use crate::db::{Db, DbConnection, lock_name};
use crate::error::ApiError;
use crate::error::responses;
use crate::extract::ValidJson;
use crate::idempotency::idempotent_create;
use crate::pagination::{self, Page};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_application)
        .service(sme_applications)
        .service(sme_application)
        .service(withdraw_application)
        .service(confirm_delivery)
        .service(vendor_applications)
        .service(deliver_application);
}

/// Apply for the subsidy on a confirmed enquiry, in the open intake batch. The subsidy is
/// reserved at once (`reserved`) or, when the budget or the batch quota cannot fund all of it,
/// the application joins the first-come-first-served waitlist (`waitlisted`).
///
/// Send an `Idempotency-Key`: a repeat with the same key and body returns the first response
/// (with `Idempotent-Replayed: true`); the same key with another body is a 422.
#[utoipa::path(
    tag = "sme journey",
    request_body = ApplyForm,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: a repeat returns the first response.")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Reserved or waitlisted.", body = Application),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
    )
)]
#[post("/api/v1/sme/applications")]
pub async fn create_application(
    req: HttpRequest,
    db: web::Data<Db>,
    sharding: web::Data<Sharding>,
    sme: ActiveLater<SmeUser>,
    meta: RequestMeta,
    body: ValidJson<ApplyForm>,
) -> Result<HttpResponse, ApiError> {
    let sharding = **sharding;
    idempotent_create(&db, &req, sme, body.into_inner(), move |tx, sme, form| {
        apply(tx, sharding, &meta, sme, form)
    })
    .await
}

/// Which applications to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApplicationQuery {
    /// One status; all when absent.
    #[param(value_type = Option<Status>)]
    pub status: Option<String>,
    #[param(inline, value_type = Option<crate::pagination::PageCursor>)]
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(inline, value_type = Option<crate::pagination::PageLimit>)]
    pub limit: Option<i64>,
}

/// One page of applications matching `filter` (completed from the query) for the caller, each
/// shown as `V` (the parties' view, or the admins').
pub async fn page_of<V: From<ApplicationRow> + Send + 'static>(
    db: &Db,
    owner: impl FnOnce(&mut DbConnection) -> Result<Filter, ApiError> + Send + 'static,
    query: ApplicationQuery,
) -> Result<Page<V>, ApiError> {
    let limit = pagination::limit(query.limit)?;
    let status = pagination::status_filter::<Status>(query.status.as_deref())?;
    let after = pagination::decode_time_cursor(query.cursor.as_deref())?;
    db.run(move |conn| {
        let filter = Filter {
            status,
            ..owner(conn)?
        };
        let rows = store::list(conn, &filter, after, limit + 1)?;
        Ok(pagination::page(
            rows,
            limit,
            |r| pagination::time_key(r.created_at, &r.id),
            V::from,
        ))
    })
    .await
}

fn sme_id_of(conn: &mut DbConnection, user: &AuthUser) -> Result<String, ApiError> {
    Ok(crate::smes::store::profile_of(conn, &user.user_id)?.id)
}

/// Application `id` if it belongs to the calling SME (404 otherwise).
fn own_by_sme(
    conn: &mut DbConnection,
    user: &AuthUser,
    id: &str,
) -> Result<ApplicationRow, ApiError> {
    let sme_id = sme_id_of(conn, user)?;
    store::find(conn, id)
        .optional()?
        .filter(|a| a.sme_id == sme_id)
        .ok_or_else(|| ApiError::NotFound("You have no application with this id.".to_owned()))
}

/// Application `id` if it is for the calling vendor's package (404 otherwise).
fn own_by_vendor(
    conn: &mut DbConnection,
    user: &AuthUser,
    id: &str,
) -> Result<ApplicationRow, ApiError> {
    let vendor = crate::vendors::store::profile_of(conn, &user.user_id)?;
    store::find(conn, id)
        .optional()?
        .filter(|a| a.vendor_id == vendor.id)
        .ok_or_else(|| ApiError::NotFound("No application of yours has this id.".to_owned()))
}

/// The calling SME's applications, newest first.
#[utoipa::path(
    tag = "sme journey",
    params(ApplicationQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of applications.", body = Page<Application>),
        (status = 422, response = responses::ValidationFailed),
    )
)]
#[get("/api/v1/sme/applications")]
pub async fn sme_applications(
    db: web::Data<Db>,
    sme: SmeUser,
    query: web::Query<ApplicationQuery>,
) -> Result<HttpResponse, ApiError> {
    let owner = move |conn: &mut DbConnection| {
        Ok(Filter {
            sme_id: Some(sme_id_of(conn, &sme.0)?),
            ..Filter::default()
        })
    };
    let page: Page<Application> = page_of(&db, owner, query.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One of the calling SME's applications.
#[utoipa::path(
    tag = "sme journey",
    params(("id" = String, Path, description = "The application's id.")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The application.", body = Application),
        (status = 404, response = responses::NotFound),
    )
)]
#[get("/api/v1/sme/applications/{id}")]
pub async fn sme_application(
    db: web::Data<Db>,
    sme: SmeUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let row = db.run(move |conn| own_by_sme(conn, &sme.0, &id)).await?;
    Ok(HttpResponse::Ok().json(Application::from(row)))
}

/// Runs one lifecycle step on an application the caller may act on, with retries; answers
/// with the application as `V` (the parties' view, or the admins').
pub async fn transition<V: ViewOf + Send + 'static>(
    db: &Db,
    meta: RequestMeta,
    user: AuthUser,
    id: String,
    action: Action,
    prepare: impl Fn(&mut DbConnection, &AuthUser, &ApplicationRow) -> Result<Changes, ApiError>
    + Send
    + 'static,
    find: fn(&mut DbConnection, &AuthUser, &str) -> Result<ApplicationRow, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let view = db
        .write(move |tx| {
            let row = find(tx, &user, &id)?;
            let changes = prepare(tx, &user, &row)?;
            let row = perform(tx, &meta, Actor::User(&user), &row, action, changes)?;
            Ok(V::view_of(tx, row)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Withdraw an application at any point before disbursement: its money is released and the
/// waitlist promoted.
#[utoipa::path(
    tag = "sme journey",
    params(("id" = String, Path, description = "The application's id.")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Withdrawn.", body = Application),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
    )
)]
#[post("/api/v1/sme/applications/{id}/withdraw")]
pub async fn withdraw_application(
    db: web::Data<Db>,
    sme: SmeUser,
    meta: RequestMeta,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let none = |_: &mut DbConnection, _: &AuthUser, _: &ApplicationRow| Ok(Changes::default());
    transition::<Application>(
        &db,
        meta,
        sme.0,
        id.into_inner(),
        Action::Withdraw,
        none,
        own_by_sme,
    )
    .await
}

/// Normalises a payment reference for comparison: full-width characters folded to their
/// ASCII forms, upper case, and no spaces or separators (`-`, `/`, `.`, `_`), so that
/// `ｆｐｓ-001/2` and `FPS0012` are one reference.
pub fn reference_key(reference: &str) -> String {
    reference
        .chars()
        .map(|c| match u32::from(c) {
            // Full-width ASCII variants (U+FF01..U+FF5E) and the ideographic space.
            code @ 0xFF01..=0xFF5E => char::from_u32(code - 0xFEE0).unwrap_or(c),
            0x3000 => ' ',
            _ => c,
        })
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '/' | '.' | '_'))
        .flat_map(char::to_uppercase)
        .collect()
}

/// Confirm the vendor's delivery and give proof of paying the SME's share: the reference, the
/// amount (it must equal `sme_pays`) and the date. A payment reference another application
/// already used raises a risk flag for admins and is refused (409
/// `payment-reference-refused`). References compare with full-width characters folded, case
/// ignored, and spaces and the separators `- / . _` dropped.
#[utoipa::path(
    tag = "sme journey",
    params(("id" = String, Path, description = "The application's id.")),
    request_body = ConfirmDeliveryForm,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Delivery confirmed.", body = Application),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
    )
)]
#[post("/api/v1/sme/applications/{id}/confirm-delivery")]
pub async fn confirm_delivery(
    db: web::Data<Db>,
    sme: SmeUser,
    meta: RequestMeta,
    id: web::Path<String>,
    body: ValidJson<ConfirmDeliveryForm>,
) -> Result<HttpResponse, ApiError> {
    let form = body.into_inner();
    // Dates the parties declare are Hong Kong dates.
    if form.paid_on > crate::time::hk_today() {
        return Err(ApiError::invalid("paid_on", "cannot be in the future"));
    }
    let id = id.into_inner();
    let outcome = db
        .write(move |tx| {
            let row = own_by_sme(tx, &sme.0, &id)?;
            // Only a confirmation the application could take may raise a flag.
            step(row.status(), Action::ConfirmDelivery)
                .map_err(|e| ApiError::Conflict(e.to_string()))?;
            if form.amount_paid != row.sme_pays_cents {
                return Err(ApiError::invalid(
                    "amount_paid",
                    format!("must equal the SME's share, {}", row.sme_pays_cents),
                ));
            }
            let key = reference_key(&form.payment_reference);
            if key.is_empty() {
                return Err(ApiError::invalid(
                    "payment_reference",
                    "must hold letters or digits",
                ));
            }
            // Two confirmations with one reference take turns here, so the second
            // sees the first and is flagged, rather than meeting the unique index.
            lock_name(tx, "payment_reference", &key)?;
            if let Some(other) = store::payment_reference_user(tx, &key, &row.id)? {
                // The flag must outlive the refusal: commit it, then answer 409. The
                // answer does not say that another SME used the reference.
                crate::risk::store::payment_reuse(
                    tx,
                    &meta,
                    &row.id,
                    &row.vendor_id,
                    std::slice::from_ref(&other),
                    &key,
                )?;
                return Ok(Err(ApiError::ConflictOf {
                    slug: "payment-reference-refused",
                    detail: "This payment reference cannot be accepted. The programme \
                             office will be in touch."
                        .to_owned(),
                }));
            }
            let changes = Changes {
                payment_reference: Some(form.payment_reference.trim().to_owned()),
                payment_reference_key: Some(key),
                amount_paid_cents: Some(form.amount_paid),
                paid_on: Some(form.paid_on.to_string()),
                ..Changes::default()
            };
            Ok(Ok(perform(
                tx,
                &meta,
                Actor::User(&sme.0),
                &row,
                Action::ConfirmDelivery,
                changes,
            )?))
        })
        .await??;
    Ok(HttpResponse::Ok().json(Application::from(outcome)))
}

/// Applications for the calling vendor's packages, newest first.
#[utoipa::path(
    tag = "sme journey",
    params(ApplicationQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of applications.", body = Page<Application>),
        (status = 422, response = responses::ValidationFailed),
    )
)]
#[get("/api/v1/vendor/applications")]
pub async fn vendor_applications(
    db: web::Data<Db>,
    vendor: VendorUser,
    query: web::Query<ApplicationQuery>,
) -> Result<HttpResponse, ApiError> {
    let owner = move |conn: &mut DbConnection| {
        let vendor = crate::vendors::store::profile_of(conn, &vendor.0.user_id)?;
        Ok(Filter {
            vendor_id: Some(vendor.id),
            ..Filter::default()
        })
    };
    let page: Page<Application> = page_of(&db, owner, query.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Report delivery of an approved application: on a day not in the future, not before the
/// approval, and within the implementation deadline.
#[utoipa::path(
    tag = "sme journey",
    params(("id" = String, Path, description = "The application's id.")),
    request_body = DeliverForm,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Delivered.", body = Application),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
    )
)]
#[post("/api/v1/vendor/applications/{id}/deliver")]
pub async fn deliver_application(
    db: web::Data<Db>,
    vendor: VendorUser,
    meta: RequestMeta,
    id: web::Path<String>,
    body: ValidJson<DeliverForm>,
) -> Result<HttpResponse, ApiError> {
    let form = body.into_inner();
    let prepare = move |_: &mut DbConnection, _: &AuthUser, row: &ApplicationRow| {
        // Dates the parties declare are Hong Kong dates; stored instants are UTC.
        let now = crate::time::now();
        let hk = crate::time::hk_date;
        if let Some(deadline) = row.deadline_at {
            if now > deadline {
                return Err(ApiError::Conflict(
                    "The implementation deadline has passed; the application expires.".to_owned(),
                ));
            }
            if form.delivered_on > hk(deadline) {
                return Err(ApiError::invalid(
                    "delivered_on",
                    "is after the implementation deadline",
                ));
            }
        }
        if form.delivered_on > hk(now) {
            return Err(ApiError::invalid("delivered_on", "cannot be in the future"));
        }
        if row.approved_at.is_some_and(|a| form.delivered_on < hk(a)) {
            return Err(ApiError::invalid(
                "delivered_on",
                "cannot be before the approval",
            ));
        }
        Ok(Changes {
            delivered_on: Some(form.delivered_on.to_string()),
            delivery_note: Some(form.note.trim().to_owned()),
            ..Changes::default()
        })
    };
    transition::<Application>(
        &db,
        meta,
        vendor.0,
        id.into_inner(),
        Action::Deliver,
        prepare,
        own_by_vendor,
    )
    .await
}
