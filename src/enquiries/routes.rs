//! `POST/GET /sme/enquiries`, `GET /vendor/enquiries`, and the vendor's confirm and decline.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use diesel::OptionalExtension;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use super::model::{
    ChosenOption, ConfirmEnquiry, DeclineEnquiry, Enquiry, EnquiryStatus, NewEnquiry,
};
use super::store::{self, NewRow, Party};
use crate::applications::emails;
use crate::audit::{self, NewEvent};
use crate::auth::{ActiveLater, AuthUser, RequestMeta, SmeUser, VendorUser};
use crate::db::{Db, DbConnection};
use crate::error::ApiError;
use crate::error::responses;
use crate::extract::{OptionalJson, ValidJson};
use crate::idempotency::idempotent_create;
use crate::money::Money;
use crate::outbox;
use crate::pagination::{self, Page};
use crate::programme::quoting::{self, Ask};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_enquiry)
        .service(sme_enquiries)
        .service(vendor_enquiries)
        .service(confirm_enquiry)
        .service(decline_enquiry);
}

/// Ask the vendor of a listed package for it, with chosen add-ons and term. The SME must be
/// eligible (403 gives the reasons). Accepts `Idempotency-Key`.
#[utoipa::path(
    tag = "sme journey",
    request_body = NewEnquiry,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for a repeat.")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The enquiry, open.", body = Enquiry),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
    )
)]
#[post("/api/v1/sme/enquiries")]
pub async fn create_enquiry(
    req: HttpRequest,
    db: web::Data<Db>,
    sme: ActiveLater<SmeUser>,
    meta: RequestMeta,
    body: ValidJson<NewEnquiry>,
) -> Result<HttpResponse, ApiError> {
    idempotent_create(&db, &req, sme, body.into_inner(), move |tx, sme, form| {
        enquire(tx, &meta, sme, form)
    })
    .await
}

fn enquire(
    conn: &mut DbConnection,
    meta: &RequestMeta,
    caller: &ActiveLater<SmeUser>,
    form: &NewEnquiry,
) -> Result<Enquiry, ApiError> {
    let (SmeUser(user), applicant) = crate::smes::store::applicant_profile_of(conn, caller)?;
    let sme = applicant.sme;
    let ((package, revision, (vendor_id, _, _)), options) =
        crate::catalogue::store::find(conn, &form.package_id).map_err(|e| match e {
            diesel::result::Error::NotFound => {
                ApiError::NotFound("No listed package has this id.".to_owned())
            }
            other => other.into(),
        })?;
    let mut chosen = Vec::new();
    for (i, id) in form.option_ids.iter().enumerate() {
        let option = options.iter().find(|o| &o.id == id).ok_or_else(|| {
            ApiError::invalid(
                format!("option_ids[{i}]"),
                "is not an add-on of this package",
            )
        })?;
        if chosen.iter().any(|c: &ChosenOption| &c.id == id) {
            return Err(ApiError::invalid(
                format!("option_ids[{i}]"),
                format!("{id} is chosen twice; each add-on is counted once"),
            ));
        }
        chosen.push(ChosenOption {
            id: option.id.clone(),
            name_en: option.name_en.clone(),
            name_zh: option.name_zh.clone(),
            price: option.price_cents,
        });
    }
    let term = form
        .term_months
        .map(|t| u32::try_from(t).map_err(|_| ApiError::invalid("term_months", "is out of range")))
        .transpose()?;
    let rules = crate::programme::store::current_rules(conn)?;
    let add_ons: Vec<Money> = chosen.iter().map(|c| c.price).collect();
    let pricing = revision.pricing();
    let ask = Ask {
        pricing: &pricing,
        add_ons: &add_ons,
        term_months: term,
    };
    let q = quoting::quote(&ask, &rules, rules.per_sme_cap)?;
    if store::open_exists(conn, &sme.id, &package.id)? {
        return Err(ApiError::Conflict(
            "You already have an enquiry awaiting the vendor's answer on this package.".to_owned(),
        ));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let now = crate::time::now();
    let options_json = serde_json::to_string(&chosen).map_err(ApiError::internal)?;
    store::insert(
        conn,
        &NewRow {
            id: &id,
            sme_id: &sme.id,
            package_id: &package.id,
            vendor_id: &vendor_id,
            revision_id: &revision.id,
            options_json: &options_json,
            term_months: form.term_months,
            message: form
                .message
                .as_deref()
                .map(str::trim)
                .filter(|m| !m.is_empty()),
            status: EnquiryStatus::Open,
            eligible_cost_cents: q.eligible_cost.cents(),
            created_at: now,
            updated_at: now,
        },
    )?;
    let enquiry = Enquiry::from(store::find(conn, &id)?);
    audit::record(
        conn,
        meta,
        NewEvent::new("enquiry.created", "enquiry", Some(&id))
            .by(&user.user_id, user.role)
            .after(&enquiry),
    )?;
    let (vendor, email) = crate::vendors::store::find_with_email(conn, &vendor_id)?;
    outbox::enqueue(
        conn,
        emails::enquiry_received(
            &email,
            &vendor.company_name_en,
            &sme.business_name_en,
            &revision.name_en,
        ),
    )?;
    Ok(enquiry)
}

/// Which enquiries to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EnquiryQuery {
    /// One status; all when absent.
    #[param(value_type = Option<EnquiryStatus>)]
    pub status: Option<String>,
    #[param(inline, value_type = Option<crate::pagination::PageCursor>)]
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(inline, value_type = Option<crate::pagination::PageLimit>)]
    pub limit: Option<i64>,
}

async fn list_for(
    db: &Db,
    party: impl FnOnce(&mut DbConnection) -> Result<String, ApiError> + Send + 'static,
    is_vendor: bool,
    query: EnquiryQuery,
) -> Result<Page<Enquiry>, ApiError> {
    let limit = pagination::limit(query.limit)?;
    let status = pagination::status_filter::<EnquiryStatus>(query.status.as_deref())?;
    let after = pagination::decode_time_cursor(query.cursor.as_deref())?;
    db.run(move |conn| {
        let id = party(conn)?;
        let party = if is_vendor {
            Party::Vendor(&id)
        } else {
            Party::Sme(&id)
        };
        let rows = store::list(conn, party, status, after, limit + 1)?;
        Ok(pagination::page(
            rows,
            limit,
            |r| pagination::time_key(r.created_at, &r.id),
            Enquiry::from,
        ))
    })
    .await
}

/// The calling SME's enquiries, newest first.
#[utoipa::path(
    tag = "sme journey",
    params(EnquiryQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of enquiries.", body = Page<Enquiry>),
        (status = 422, response = responses::ValidationFailed),
    )
)]
#[get("/api/v1/sme/enquiries")]
pub async fn sme_enquiries(
    db: web::Data<Db>,
    sme: SmeUser,
    query: web::Query<EnquiryQuery>,
) -> Result<HttpResponse, ApiError> {
    let user_id = sme.0.user_id;
    let party =
        move |conn: &mut DbConnection| Ok(crate::smes::store::profile_of(conn, &user_id)?.id);
    Ok(HttpResponse::Ok().json(list_for(&db, party, false, query.into_inner()).await?))
}

/// Enquiries on the calling vendor's packages, newest first: the queue is `?status=open`.
#[utoipa::path(
    tag = "sme journey",
    params(EnquiryQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of enquiries.", body = Page<Enquiry>),
        (status = 422, response = responses::ValidationFailed),
    )
)]
#[get("/api/v1/vendor/enquiries")]
pub async fn vendor_enquiries(
    db: web::Data<Db>,
    vendor: VendorUser,
    query: web::Query<EnquiryQuery>,
) -> Result<HttpResponse, ApiError> {
    let user_id = vendor.0.user_id;
    let party =
        move |conn: &mut DbConnection| Ok(crate::vendors::store::profile_of(conn, &user_id)?.id);
    Ok(HttpResponse::Ok().json(list_for(&db, party, true, query.into_inner()).await?))
}

/// Answers enquiry `id` for the calling vendor: 404 unless it is on one of its packages, 409
/// unless it is open (and, to confirm, the package is still listed).
fn answer(
    conn: &mut DbConnection,
    meta: &RequestMeta,
    user: &AuthUser,
    id: &str,
    confirm: Option<Option<&str>>,
    reason: Option<&str>,
) -> Result<Enquiry, ApiError> {
    let vendor = crate::vendors::store::profile_of(conn, &user.user_id)?;
    let row = store::find(conn, id)?;
    if row.vendor_id != vendor.id {
        return Err(ApiError::NotFound("No such enquiry.".to_owned()));
    }
    if row.status != EnquiryStatus::Open {
        return Err(ApiError::Conflict(format!(
            "The enquiry is already {}.",
            row.status
        )));
    }
    let status = if confirm.is_some() {
        EnquiryStatus::Confirmed
    } else {
        EnquiryStatus::Declined
    };
    if confirm.is_some() {
        let listed = crate::catalogue::store::find(conn, &row.package_id)
            .optional()?
            .map(|((_, revision, _), _)| revision.id);
        if listed.as_deref() != Some(row.revision_id.as_str()) {
            return Err(ApiError::Conflict(
                "The package is no longer listed as quoted; the SME must enquire again.".to_owned(),
            ));
        }
    }
    let before = Enquiry::from(row.clone());
    if !store::answer(conn, id, status, confirm.flatten(), reason, &user.user_id)? {
        return Err(ApiError::Conflict(
            "The enquiry was answered meanwhile.".to_owned(),
        ));
    }
    let after = Enquiry::from(store::find(conn, id)?);
    audit::record(
        conn,
        meta,
        NewEvent::new(&format!("enquiry.{status}"), "enquiry", Some(id))
            .by(&user.user_id, user.role)
            .before(&before)
            .after(&after),
    )?;
    let (sme, email) = crate::smes::store::find_with_email(conn, &row.sme_id)?;
    outbox::enqueue(
        conn,
        emails::enquiry_answered(
            &email,
            &sme.business_name_en,
            &vendor.company_name_en,
            status.as_str(),
            reason,
        ),
    )?;
    Ok(after)
}

/// Confirm an open enquiry: the vendor can supply the package with the chosen add-ons and term,
/// at the quoted price. The SME may then apply.
#[utoipa::path(
    tag = "sme journey",
    params(("id" = String, Path, description = "The enquiry's id.")),
    request_body(content = Option<ConfirmEnquiry>, description = "An optional note to the SME."),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Confirmed.", body = Enquiry),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
    )
)]
#[post("/api/v1/vendor/enquiries/{id}/confirm")]
pub async fn confirm_enquiry(
    db: web::Data<Db>,
    vendor: VendorUser,
    meta: RequestMeta,
    id: web::Path<String>,
    body: OptionalJson<ConfirmEnquiry>,
) -> Result<HttpResponse, ApiError> {
    let form = body.into_inner().unwrap_or_default();
    validator::Validate::validate(&form)?;
    let note = form
        .note
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty());
    let id = id.into_inner();
    let enquiry = db
        .write(move |tx| answer(tx, &meta, &vendor.0, &id, Some(note.as_deref()), None))
        .await?;
    Ok(HttpResponse::Ok().json(enquiry))
}

/// Decline an open enquiry, with a reason for the SME.
#[utoipa::path(
    tag = "sme journey",
    params(("id" = String, Path, description = "The enquiry's id.")),
    request_body = DeclineEnquiry,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Declined.", body = Enquiry),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
    )
)]
#[post("/api/v1/vendor/enquiries/{id}/decline")]
pub async fn decline_enquiry(
    db: web::Data<Db>,
    vendor: VendorUser,
    meta: RequestMeta,
    id: web::Path<String>,
    body: ValidJson<DeclineEnquiry>,
) -> Result<HttpResponse, ApiError> {
    let reason = body.into_inner().reason.trim().to_owned();
    let id = id.into_inner();
    let enquiry = db
        .write(move |tx| answer(tx, &meta, &vendor.0, &id, None, Some(&reason)))
        .await?;
    Ok(HttpResponse::Ok().json(enquiry))
}
