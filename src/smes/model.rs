//! SME rows and the registration form.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::eligibility::{self, Eligibility};
use crate::auth::model::User;
use crate::db::schema::smes;
use crate::validation::{PASSWORD_MAX, PASSWORD_MIN, non_blank};

/// A row of `smes`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = smes)]
pub struct SmeRow {
    pub id: String,
    pub user_id: String,
    pub business_name_en: String,
    pub business_name_zh: Option<String>,
    pub br_number: Option<String>,
    pub hawker_licence: Option<String>,
    pub sector: String,
    pub full_time_employees: i64,
    pub district: String,
    pub address: String,
    pub phone: String,
    pub declared_listed_company: bool,
    pub declared_statutory_body: bool,
    pub declared_government_subvented: bool,
    pub eligible: bool,
    pub ineligibility_codes: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// What the SME's live applications hold of its cap, in cents.
    pub subsidy_held_cents: i64,
    pub contact_name: Option<String>,
}

/// What the SME declares about itself.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
pub struct Declarations {
    pub listed_company: bool,
    pub statutory_body: bool,
    pub government_subvented: bool,
}

/// `POST /smes/register`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct RegisterSme {
    #[validate(email, length(max = 254))]
    #[schema(example = "owner@tea-house.hk")]
    pub email: String,
    /// At least 12 characters, and not the email address.
    #[validate(length(min = PASSWORD_MIN, max = PASSWORD_MAX))]
    #[schema(example = "correct horse battery staple")]
    pub password: String,
    #[validate(length(min = 1, max = 200), custom(function = non_blank))]
    #[schema(example = "Lucky Tea House")]
    pub business_name_en: String,
    #[validate(length(min = 1, max = 200), custom(function = non_blank))]
    #[schema(example = "好運茶餐廳")]
    pub business_name_zh: Option<String>,
    /// The 8-digit BR number; a fixed-pitch hawker licence may stand instead.
    #[validate(custom(function = crate::validation::br_number))]
    #[schema(example = "87654321")]
    pub br_number: Option<String>,
    #[validate(length(min = 1, max = 50), custom(function = non_blank))]
    pub hawker_licence: Option<String>,
    /// A sector code from `GET /api/v1/programme`, e.g. `food_and_beverage`.
    #[validate(length(min = 1, max = 64))]
    #[schema(example = "food_and_beverage")]
    pub sector: String,
    #[validate(range(max = 1_000_000))]
    #[schema(example = 12)]
    pub full_time_employees: u32,
    /// One of Hong Kong's 18 districts, in English or Chinese.
    #[validate(custom(function = crate::validation::district))]
    #[schema(example = "Wan Chai")]
    pub district: String,
    #[validate(length(min = 1, max = 300), custom(function = non_blank))]
    #[schema(example = "G/F, 8 Spring Garden Lane, Wan Chai")]
    pub address: String,
    #[validate(custom(function = crate::validation::phone))]
    #[schema(example = "+852 2345 6789")]
    pub phone: String,
    /// The person to contact about the business (optional).
    #[validate(length(min = 1, max = 200), custom(function = non_blank))]
    #[schema(example = "Chan Tai Man")]
    pub contact_name: Option<String>,
    pub declarations: Declarations,
}

/// An SME as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Sme {
    pub id: String,
    pub business_name_en: String,
    pub business_name_zh: Option<String>,
    pub br_number: Option<String>,
    pub hawker_licence: Option<String>,
    pub sector: String,
    pub full_time_employees: i64,
    pub district: String,
    pub address: String,
    pub phone: String,
    pub contact_name: Option<String>,
    pub declarations: Declarations,
    pub eligibility: Eligibility,
    #[schema(example = "2026-01-31T09:00:00Z")]
    pub created_at: String,
}

impl From<&SmeRow> for Sme {
    fn from(row: &SmeRow) -> Self {
        let codes: Vec<String> = serde_json::from_str(&row.ineligibility_codes).unwrap_or_default();
        Sme {
            id: row.id.clone(),
            business_name_en: row.business_name_en.clone(),
            business_name_zh: row.business_name_zh.clone(),
            br_number: row.br_number.clone(),
            hawker_licence: row.hawker_licence.clone(),
            sector: row.sector.clone(),
            full_time_employees: row.full_time_employees,
            district: row.district.clone(),
            address: row.address.clone(),
            phone: row.phone.clone(),
            contact_name: row.contact_name.clone(),
            declarations: Declarations {
                listed_company: row.declared_listed_company,
                statutory_body: row.declared_statutory_body,
                government_subvented: row.declared_government_subvented,
            },
            eligibility: eligibility::from_codes(&codes),
            created_at: crate::time::rfc3339(row.created_at),
        }
    }
}

/// The answer to an SME registration.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SmeRegistered {
    pub sme: Sme,
    pub user: User,
    pub eligibility: Eligibility,
}
