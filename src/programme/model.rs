//! Rows of the programme's reference tables.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::programme_rules;
use crate::money::Money;

/// A sector or category: a stable code and its names in English and Traditional Chinese.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Serialize, ToSchema)]
pub struct CodeName {
    #[schema(example = "food_and_beverage")]
    pub code: String,
    #[schema(example = "Food and beverage")]
    pub name_en: String,
    #[schema(example = "餐飲")]
    pub name_zh: String,
    /// Inactive entries stay for history but take no new packages or SMEs.
    pub active: bool,
}

/// One version of the programme's parameters.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = programme_rules)]
pub struct ProgrammeRules {
    pub version: i64,
    #[diesel(column_name = budget_total_cents)]
    pub budget_total: Money,
    pub matching_ratio_bps: i64,
    #[diesel(column_name = per_sme_cap_cents)]
    pub per_sme_cap: Money,
    #[diesel(column_name = one_off_ceiling_cents)]
    pub one_off_ceiling: Money,
    #[diesel(column_name = subscription_ceiling_cents)]
    pub subscription_ceiling: Money,
    pub fundable_months: i64,
    pub implementation_deadline_days: i64,
    pub created_at: NaiveDateTime,
    pub created_by: Option<String>,
    pub risk_thresholds_json: Option<String>,
}

impl ProgrammeRules {
    /// The risk indicators' thresholds of this version (the defaults when none were set).
    pub fn risk_thresholds(&self) -> crate::risk::engine::Thresholds {
        self.risk_thresholds_json
            .as_deref()
            .and_then(|j| serde_json::from_str(j).ok())
            .unwrap_or_default()
    }

    /// The matching ratio as an exact fraction of the eligible cost (5000 bps = 0.50).
    pub fn matching_ratio(&self) -> Decimal {
        Decimal::new(self.matching_ratio_bps, 4)
    }
}
