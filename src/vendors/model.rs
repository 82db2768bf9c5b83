//! Vendor rows and the registration form.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::model::User;
use crate::db::schema::vendors;
use crate::validation::{PASSWORD_MAX, PASSWORD_MIN, non_blank};

use super::workflow::VendorStatus;

crate::db::text_column!(VendorStatus);

/// A row of `vendors`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = vendors)]
pub struct VendorRow {
    pub id: String,
    pub user_id: String,
    pub company_name_en: String,
    pub company_name_zh: Option<String>,
    pub br_number: String,
    pub contact_name: String,
    pub phone: String,
    pub address: String,
    pub net_equity_positive: bool,
    pub track_record: String,
    pub status: VendorStatus,
    pub status_reason: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// `POST /vendors/register`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct RegisterVendor {
    #[validate(email, length(max = 254))]
    #[schema(example = "sales@cloudpos.hk")]
    pub email: String,
    /// At least 12 characters, and not the email address.
    #[validate(length(min = PASSWORD_MIN, max = PASSWORD_MAX))]
    #[schema(example = "correct horse battery staple")]
    pub password: String,
    #[validate(length(min = 1, max = 200), custom(function = non_blank))]
    #[schema(example = "CloudPOS Solutions Limited")]
    pub company_name_en: String,
    #[validate(length(min = 1, max = 200), custom(function = non_blank))]
    #[schema(example = "雲端收銀方案有限公司")]
    pub company_name_zh: Option<String>,
    /// The 8-digit Business Registration number.
    #[validate(custom(function = crate::validation::br_number))]
    #[schema(example = "12345678")]
    pub br_number: String,
    #[validate(length(min = 1, max = 100), custom(function = non_blank))]
    #[schema(example = "Chan Tai Man")]
    pub contact_name: String,
    #[validate(custom(function = crate::validation::phone))]
    #[schema(example = "+852 2345 6789")]
    pub phone: String,
    #[validate(length(min = 1, max = 300), custom(function = non_blank))]
    #[schema(example = "Unit 1201, 12/F, Cyberport 3, Pok Fu Lam")]
    pub address: String,
    /// Declared positive net equity; vendors without it cannot register.
    pub net_equity_positive: bool,
    /// Supplies of such solutions to F&B and retail businesses so far.
    #[validate(length(min = 1, max = 4000), custom(function = non_blank))]
    #[schema(example = "POS systems for 120 restaurants since 2019.")]
    pub track_record: String,
}

/// A vendor as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Vendor {
    pub id: String,
    pub status: VendorStatus,
    /// The reason given with the latest rejection or suspension.
    pub status_reason: Option<String>,
    pub company_name_en: String,
    pub company_name_zh: Option<String>,
    pub br_number: String,
    pub contact_name: String,
    pub phone: String,
    pub address: String,
    pub net_equity_positive: bool,
    pub track_record: String,
    #[schema(example = "2026-01-31T09:00:00Z")]
    pub created_at: String,
}

impl From<&VendorRow> for Vendor {
    fn from(row: &VendorRow) -> Self {
        Vendor {
            id: row.id.clone(),
            status: row.status,
            status_reason: row.status_reason.clone(),
            company_name_en: row.company_name_en.clone(),
            company_name_zh: row.company_name_zh.clone(),
            br_number: row.br_number.clone(),
            contact_name: row.contact_name.clone(),
            phone: row.phone.clone(),
            address: row.address.clone(),
            net_equity_positive: row.net_equity_positive,
            track_record: row.track_record.clone(),
            created_at: crate::time::rfc3339(row.created_at),
        }
    }
}

/// The answer to a vendor registration.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VendorRegistered {
    pub vendor: Vendor,
    pub user: User,
}

/// A vendor as admins see it: the profile and the account's email.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AdminVendor {
    #[serde(flatten)]
    pub vendor: Vendor,
    #[schema(example = "sales@cloudpos.hk")]
    pub email: String,
}

/// An admin's decision about a vendor. Rejection and suspension need a reason, which the
/// vendor is told.
#[derive(Debug, Clone, Default, Deserialize, Validate, ToSchema)]
pub struct VendorDecisionBody {
    #[validate(length(min = 1, max = 2000), custom(function = non_blank))]
    #[schema(example = "The BR certificate has expired; please upload a current one.")]
    pub reason: Option<String>,
}
