//! Enquiry rows, forms and views.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::db::schema::enquiries;
use crate::money::Money;
use crate::text_enum::text_enum;

text_enum! {
    /// Where an enquiry stands: awaiting the vendor's answer, or answered.
    pub enum EnquiryStatus {
        Open => "open",
        Confirmed => "confirmed",
        Declined => "declined",
    }
}

crate::db::text_column!(EnquiryStatus);

/// A stored enquiry.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = enquiries)]
pub struct EnquiryRow {
    pub id: String,
    pub sme_id: String,
    pub package_id: String,
    pub vendor_id: String,
    pub revision_id: String,
    pub options_json: String,
    pub term_months: Option<i64>,
    pub message: Option<String>,
    pub status: EnquiryStatus,
    pub eligible_cost_cents: i64,
    pub vendor_note: Option<String>,
    pub decline_reason: Option<String>,
    pub answered_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl EnquiryRow {
    /// The chosen add-ons, frozen at the time of the enquiry.
    pub fn options(&self) -> Vec<ChosenOption> {
        serde_json::from_str(&self.options_json).unwrap_or_default()
    }
}

/// An add-on as chosen, with its price at the time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChosenOption {
    pub id: String,
    pub name_en: String,
    pub name_zh: Option<String>,
    pub price: Money,
}

/// `POST /sme/enquiries`.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEnquiry {
    pub package_id: String,
    /// Ids of the package's add-ons wanted, each at most once.
    #[serde(default)]
    #[validate(length(max = 50))]
    pub option_ids: Vec<String>,
    /// For a subscription: the months wanted (at least the package's minimum term; the
    /// minimum when absent). None for a one-off package.
    #[validate(range(min = 1, max = 120))]
    pub term_months: Option<i64>,
    /// A note to the vendor.
    #[validate(length(max = 2000))]
    pub message: Option<String>,
}

/// `POST /vendor/enquiries/{id}/confirm`.
#[derive(Debug, Clone, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmEnquiry {
    #[validate(length(max = 2000))]
    pub note: Option<String>,
}

/// `POST /vendor/enquiries/{id}/decline`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclineEnquiry {
    #[validate(length(min = 1, max = 2000), custom(function = crate::validation::non_blank))]
    pub reason: String,
}

/// An enquiry as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Enquiry {
    pub id: String,
    pub status: EnquiryStatus,
    pub sme_id: String,
    pub package_id: String,
    pub vendor_id: String,
    /// The package revision quoted.
    pub revision_id: String,
    pub options: Vec<ChosenOption>,
    pub term_months: Option<i64>,
    pub message: Option<String>,
    /// The basic price (or monthly price times the counted months) plus the add-ons.
    pub eligible_cost: Money,
    pub vendor_note: Option<String>,
    pub decline_reason: Option<String>,
    #[schema(value_type = Option<String>)]
    #[serde(serialize_with = "crate::time::serialize_option")]
    pub answered_at: Option<NaiveDateTime>,
    #[schema(value_type = String)]
    #[serde(serialize_with = "crate::time::serialize")]
    pub created_at: NaiveDateTime,
}

impl From<EnquiryRow> for Enquiry {
    fn from(row: EnquiryRow) -> Self {
        Enquiry {
            options: row.options(),
            eligible_cost: Money::from_cents(row.eligible_cost_cents).unwrap_or(Money::ZERO),
            id: row.id,
            status: row.status,
            sme_id: row.sme_id,
            package_id: row.package_id,
            vendor_id: row.vendor_id,
            revision_id: row.revision_id,
            term_months: row.term_months,
            message: row.message,
            vendor_note: row.vendor_note,
            decline_reason: row.decline_reason,
            answered_at: row.answered_at,
            created_at: row.created_at,
        }
    }
}
