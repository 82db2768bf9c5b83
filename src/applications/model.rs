//! Application rows, forms and views.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::workflow::Status;
use crate::db::schema::applications;
use crate::money::Money;

/// A stored application.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = applications)]
pub struct ApplicationRow {
    pub id: String,
    pub sme_id: String,
    pub package_id: String,
    pub vendor_id: String,
    pub enquiry_id: String,
    pub batch_id: String,
    pub rules_version: i64,
    pub status: Status,
    pub eligible_cost_cents: Money,
    pub subsidy_cents: Money,
    pub sme_pays_cents: Money,
    pub queued_at: NaiveDateTime,
    pub reserved_at: Option<NaiveDateTime>,
    pub approved_at: Option<NaiveDateTime>,
    pub deadline_at: Option<NaiveDateTime>,
    pub delivered_on: Option<String>,
    pub delivery_note: Option<String>,
    pub payment_reference: Option<String>,
    pub amount_paid_cents: Option<Money>,
    pub paid_on: Option<String>,
    pub verified_by: Option<String>,
    pub verified_at: Option<NaiveDateTime>,
    pub disbursed_by: Option<String>,
    pub disbursed_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
    pub last_comment: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub approved_by: Option<String>,
}

crate::db::text_column!(Status);

impl ApplicationRow {
    pub fn status(&self) -> Status {
        self.status
    }
}

/// The columns a step sets besides the status (`None` leaves a column as it is).
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = applications)]
pub struct Changes {
    pub reserved_at: Option<NaiveDateTime>,
    pub approved_at: Option<NaiveDateTime>,
    pub deadline_at: Option<NaiveDateTime>,
    pub delivered_on: Option<String>,
    pub delivery_note: Option<String>,
    pub payment_reference: Option<String>,
    pub payment_reference_key: Option<String>,
    pub amount_paid_cents: Option<Money>,
    pub paid_on: Option<String>,
    pub verified_by: Option<String>,
    pub verified_at: Option<NaiveDateTime>,
    pub disbursed_by: Option<String>,
    pub disbursed_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
    pub last_comment: Option<String>,
    pub approved_by: Option<String>,
}

/// `POST /sme/applications`.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyForm {
    /// A confirmed enquiry of the calling SME.
    #[validate(length(min = 1, max = 64))]
    pub enquiry_id: String,
}

/// `POST /vendor/applications/{id}/deliver`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliverForm {
    /// The day the solution was delivered: not in the future, not after the deadline.
    #[schema(value_type = String, example = "2026-03-02")]
    pub delivered_on: NaiveDate,
    #[validate(length(min = 1, max = 2000), custom(function = crate::validation::non_blank))]
    pub note: String,
}

/// `POST /sme/applications/{id}/confirm-delivery`: proof of paying the SME's share.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmDeliveryForm {
    #[validate(length(min = 3, max = 100), custom(function = crate::validation::non_blank))]
    #[schema(example = "FPS-20260302-884213")]
    pub payment_reference: String,
    /// Must equal the application's `sme_pays`.
    pub amount_paid: Money,
    #[schema(value_type = String, example = "2026-03-02")]
    pub paid_on: NaiveDate,
}

/// `POST /admin/applications/{id}/{action}`.
#[derive(Debug, Clone, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionForm {
    #[validate(length(max = 2000))]
    pub comment: Option<String>,
}

/// An application as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Application {
    pub id: String,
    pub status: Status,
    pub sme_id: String,
    pub package_id: String,
    pub vendor_id: String,
    pub enquiry_id: String,
    pub batch_id: String,
    /// The programme rules the subsidy was computed under.
    pub rules_version: i64,
    pub eligible_cost: Money,
    pub subsidy: Money,
    pub sme_pays: Money,
    #[schema(value_type = String)]
    #[serde(serialize_with = "crate::time::serialize")]
    pub created_at: NaiveDateTime,
    #[schema(value_type = Option<String>)]
    #[serde(serialize_with = "crate::time::serialize_option")]
    pub reserved_at: Option<NaiveDateTime>,
    #[schema(value_type = Option<String>)]
    #[serde(serialize_with = "crate::time::serialize_option")]
    pub approved_at: Option<NaiveDateTime>,
    /// Delivery must come by then, or the reservation expires.
    #[schema(value_type = Option<String>)]
    #[serde(serialize_with = "crate::time::serialize_option")]
    pub deadline_at: Option<NaiveDateTime>,
    pub delivered_on: Option<String>,
    pub delivery_note: Option<String>,
    pub payment_reference: Option<String>,
    pub amount_paid: Option<Money>,
    pub paid_on: Option<String>,
    /// When an admin verified the claim. Which admin is shown to admins only.
    #[schema(value_type = Option<String>)]
    #[serde(serialize_with = "crate::time::serialize_option")]
    pub verified_at: Option<NaiveDateTime>,
    #[schema(value_type = Option<String>)]
    #[serde(serialize_with = "crate::time::serialize_option")]
    pub disbursed_at: Option<NaiveDateTime>,
    /// The last admin comment (a rejection's reason, say).
    pub comment: Option<String>,
    #[schema(value_type = String)]
    #[serde(serialize_with = "crate::time::serialize")]
    pub updated_at: NaiveDateTime,
}

impl From<ApplicationRow> for Application {
    fn from(r: ApplicationRow) -> Self {
        Application {
            eligible_cost: r.eligible_cost_cents,
            subsidy: r.subsidy_cents,
            sme_pays: r.sme_pays_cents,
            amount_paid: r.amount_paid_cents,
            id: r.id,
            status: r.status,
            sme_id: r.sme_id,
            package_id: r.package_id,
            vendor_id: r.vendor_id,
            enquiry_id: r.enquiry_id,
            batch_id: r.batch_id,
            rules_version: r.rules_version,
            created_at: r.created_at,
            reserved_at: r.reserved_at,
            approved_at: r.approved_at,
            deadline_at: r.deadline_at,
            delivered_on: r.delivered_on,
            delivery_note: r.delivery_note,
            payment_reference: r.payment_reference,
            paid_on: r.paid_on,
            verified_at: r.verified_at,
            disbursed_at: r.disbursed_at,
            comment: r.last_comment,
            updated_at: r.updated_at,
        }
    }
}

/// An application as admins see it: everything the SME and the vendor see, which admins
/// approved, verified and disbursed it (never shown to SMEs or vendors), and its risk hold.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AdminApplication {
    #[serde(flatten)]
    pub application: Application,
    pub approved_by: Option<String>,
    pub verified_by: Option<String>,
    pub disbursed_by: Option<String>,
    /// True while an open flag of severity medium or high concerns it: it can then be neither
    /// claim-verified nor disbursed.
    pub risk_hold: bool,
    /// The open risk flags that concern it.
    pub open_flag_ids: Vec<String>,
    /// Set when a confirmed flag marked its disbursed money for recovery.
    #[schema(value_type = Option<String>)]
    #[serde(serialize_with = "crate::time::serialize_option")]
    pub recovery_due_at: Option<NaiveDateTime>,
}

impl From<ApplicationRow> for AdminApplication {
    fn from(r: ApplicationRow) -> Self {
        let (approved_by, verified_by, disbursed_by) = (
            r.approved_by.clone(),
            r.verified_by.clone(),
            r.disbursed_by.clone(),
        );
        AdminApplication {
            application: Application::from(r),
            approved_by,
            verified_by,
            disbursed_by,
            risk_hold: false,
            open_flag_ids: Vec::new(),
            recovery_due_at: None,
        }
    }
}

/// What a transition answers, made from the row it left, in its transaction.
pub trait ViewOf: Serialize + Sized {
    fn view_of(
        conn: &mut crate::db::DbConnection,
        row: ApplicationRow,
    ) -> diesel::QueryResult<Self>;
}

impl ViewOf for Application {
    fn view_of(_: &mut crate::db::DbConnection, row: ApplicationRow) -> diesel::QueryResult<Self> {
        Ok(Application::from(row))
    }
}

impl ViewOf for AdminApplication {
    /// With its open flags and hold, as the admin's GET shows them.
    fn view_of(
        conn: &mut crate::db::DbConnection,
        row: ApplicationRow,
    ) -> diesel::QueryResult<Self> {
        let mut views = AdminApplication::with_flags(conn, vec![AdminApplication::from(row)])?;
        Ok(views.swap_remove(0))
    }
}

impl AdminApplication {
    /// Fills in the open flags and the hold of each of `views`, in one query.
    pub fn with_flags(
        conn: &mut crate::db::DbConnection,
        mut views: Vec<AdminApplication>,
    ) -> diesel::QueryResult<Vec<AdminApplication>> {
        let ids: Vec<String> = views.iter().map(|v| v.application.id.clone()).collect();
        for (app, flag, severity) in crate::risk::store::open_flags_of(conn, &ids)? {
            if let Some(v) = views.iter_mut().find(|v| v.application.id == app) {
                v.open_flag_ids.push(flag);
                v.risk_hold |= severity != "low";
            }
        }
        for (app, at) in crate::risk::store::recoveries_of(conn, &ids)? {
            if let Some(v) = views.iter_mut().find(|v| v.application.id == app) {
                v.recovery_due_at = Some(at);
            }
        }
        Ok(views)
    }
}
