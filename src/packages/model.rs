//! Package rows, the vendor's forms, and the package as the API shows it.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::workflow::{PackageStatus, RevisionStatus};
use crate::db::schema::{package_options, package_reviews, package_revisions, packages};
use crate::money::Money;
use crate::validation::non_blank;

crate::db::text_column!(PackageStatus, RevisionStatus);

/// A row of `packages`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = packages)]
pub struct PackageRow {
    pub id: String,
    pub vendor_id: String,
    pub category: String,
    pub target_sector: String,
    pub status: PackageStatus,
    pub live_revision_id: Option<String>,
    pub current_revision_id: String,
    pub listed_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl PackageRow {
    pub fn status(&self) -> PackageStatus {
        self.status
    }
}

/// A row of `package_revisions`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = package_revisions)]
pub struct RevisionRow {
    pub id: String,
    pub package_id: String,
    pub number: i64,
    pub status: RevisionStatus,
    pub name_en: String,
    pub name_zh: String,
    pub summary_en: String,
    pub summary_zh: String,
    pub pricing_model: String,
    pub price_cents: Option<Money>,
    pub monthly_price_cents: Option<Money>,
    pub min_term_months: Option<i64>,
    pub deployment_days: i64,
    pub components_json: String,
    pub rules_version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub submitted_at: Option<NaiveDateTime>,
    pub decided_at: Option<NaiveDateTime>,
    pub reference_price_cents: Option<Money>,
}

impl RevisionRow {
    pub fn status(&self) -> RevisionStatus {
        self.status
    }

    /// The pricing as the API shows it.
    pub fn pricing(&self) -> PricingInput {
        PricingInput {
            model: if self.pricing_model == "subscription" {
                PricingModel::Subscription
            } else {
                PricingModel::OneOff
            },
            price: self.price_cents,
            monthly_price: self.monthly_price_cents,
            min_term_months: self.min_term_months.and_then(|m| u32::try_from(m).ok()),
        }
    }
}

/// A row of `package_options`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = package_options)]
pub struct OptionRow {
    pub id: String,
    pub revision_id: String,
    pub position: i64,
    pub name_en: String,
    pub name_zh: Option<String>,
    pub price_cents: Money,
}

/// A row of `package_reviews`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = package_reviews)]
pub struct ReviewRow {
    pub id: String,
    pub package_id: String,
    pub revision_id: String,
    pub actor_id: String,
    pub actor_role: String,
    pub action: String,
    pub comment: Option<String>,
    pub from_status: String,
    pub to_status: String,
    pub created_at: NaiveDateTime,
}

/// `one_off` or `subscription`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PricingModel {
    OneOff,
    Subscription,
}

impl PricingModel {
    pub fn as_str(self) -> &'static str {
        match self {
            PricingModel::OneOff => "one_off",
            PricingModel::Subscription => "subscription",
        }
    }
}

/// How a package is priced: a one-off `price`, or a `monthly_price` with a minimum term.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PricingInput {
    pub model: PricingModel,
    /// The one-off price of the basic package.
    #[schema(example = "38000.00")]
    pub price: Option<Money>,
    /// The monthly price of a subscription.
    pub monthly_price: Option<Money>,
    /// The shortest subscription term, in months.
    pub min_term_months: Option<u32>,
}

/// What a component is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ComponentKind {
    Hardware,
    Software,
    Training,
    Support,
    Service,
}

/// One part of a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Validate, ToSchema)]
pub struct Component {
    pub kind: ComponentKind,
    #[validate(length(min = 1, max = 500), custom(function = non_blank))]
    #[schema(example = "Cloud POS licence for one shop")]
    pub description: String,
    #[validate(range(min = 1, max = 10_000))]
    #[schema(example = 1)]
    pub quantity: u32,
}

/// An optional add-on with a fixed price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Validate, ToSchema)]
pub struct OptionInput {
    #[validate(length(min = 1, max = 200), custom(function = non_blank))]
    #[schema(example = "Extra receipt printer")]
    pub name_en: String,
    #[validate(length(min = 1, max = 200), custom(function = non_blank))]
    #[schema(example = "額外收據打印機")]
    pub name_zh: Option<String>,
    #[schema(example = "1800.00")]
    pub price: Money,
}

/// The content of a package: everything a revision holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Validate, ToSchema)]
pub struct PackageContent {
    #[validate(length(min = 1, max = 200), custom(function = non_blank))]
    #[schema(example = "Cloud POS for small restaurants")]
    pub name_en: String,
    #[validate(length(min = 1, max = 200), custom(function = non_blank))]
    #[schema(example = "雲端收銀系統（小型餐廳）")]
    pub name_zh: String,
    #[validate(length(min = 1, max = 2000), custom(function = non_blank))]
    pub summary_en: String,
    #[validate(length(min = 1, max = 2000), custom(function = non_blank))]
    pub summary_zh: String,
    pub pricing: PricingInput,
    #[validate(length(min = 1, max = 50), nested)]
    pub components: Vec<Component>,
    #[validate(length(max = 20), nested)]
    #[serde(default)]
    pub options: Vec<OptionInput>,
    #[validate(range(min = 1, max = 3650))]
    #[schema(example = 30)]
    pub deployment_days: u32,
}

/// `POST /vendor/packages`: a new draft.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CreatePackage {
    /// A category code, e.g. `e_payment_pos`.
    #[schema(example = "e_payment_pos")]
    pub category: String,
    /// A sector code, e.g. `food_and_beverage`.
    #[schema(example = "food_and_beverage")]
    pub target_sector: String,
    #[serde(flatten)]
    pub content: PackageContent,
}

/// Validates the flattened content under its own field names (`name_zh`, not
/// `content.name_zh`), with the two codes.
impl Validate for CreatePackage {
    fn validate(&self) -> Result<(), validator::ValidationErrors> {
        let mut errors = self.content.validate().err().unwrap_or_default();
        for (field, code) in [
            ("category", &self.category),
            ("target_sector", &self.target_sector),
        ] {
            if code.is_empty() || code.len() > 64 {
                errors.add(
                    field,
                    validator::ValidationError::new("length")
                        .with_message("must be a code of 1 to 64 characters".into()),
                );
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// `PATCH /vendor/packages/{id}`: the fields to change; the rest stay as they are.
#[derive(Debug, Clone, Default, Deserialize, Validate, ToSchema)]
pub struct PatchPackage {
    pub name_en: Option<String>,
    pub name_zh: Option<String>,
    pub summary_en: Option<String>,
    pub summary_zh: Option<String>,
    pub pricing: Option<PricingInput>,
    pub components: Option<Vec<Component>>,
    pub options: Option<Vec<OptionInput>>,
    pub deployment_days: Option<u32>,
}

impl PatchPackage {
    /// `content` with this patch applied.
    pub fn apply_to(self, content: PackageContent) -> PackageContent {
        PackageContent {
            name_en: self.name_en.unwrap_or(content.name_en),
            name_zh: self.name_zh.unwrap_or(content.name_zh),
            summary_en: self.summary_en.unwrap_or(content.summary_en),
            summary_zh: self.summary_zh.unwrap_or(content.summary_zh),
            pricing: self.pricing.unwrap_or(content.pricing),
            components: self.components.unwrap_or(content.components),
            options: self.options.unwrap_or(content.options),
            deployment_days: self.deployment_days.unwrap_or(content.deployment_days),
        }
    }
}

/// An add-on as stored, with its id for quotes and applications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PackageOption {
    pub id: String,
    pub name_en: String,
    pub name_zh: Option<String>,
    pub price: Money,
}

/// One revision of a package, in full.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Revision {
    pub id: String,
    /// 1 for the first version; each edit of a listed package adds one.
    pub number: i64,
    pub status: RevisionStatus,
    pub name_en: String,
    pub name_zh: String,
    pub summary_en: String,
    pub summary_zh: String,
    pub pricing: PricingInput,
    pub components: Vec<Component>,
    pub options: Vec<PackageOption>,
    pub deployment_days: u32,
    /// The programme rules version it was validated against.
    pub rules_version: i64,
    pub submitted_at: Option<String>,
    pub decided_at: Option<String>,
}

impl Revision {
    pub fn from_rows(row: &RevisionRow, options: &[OptionRow]) -> Revision {
        Revision {
            id: row.id.clone(),
            number: row.number,
            status: row.status(),
            name_en: row.name_en.clone(),
            name_zh: row.name_zh.clone(),
            summary_en: row.summary_en.clone(),
            summary_zh: row.summary_zh.clone(),
            pricing: row.pricing(),
            components: serde_json::from_str(&row.components_json).unwrap_or_default(),
            options: options
                .iter()
                .map(|o| PackageOption {
                    id: o.id.clone(),
                    name_en: o.name_en.clone(),
                    name_zh: o.name_zh.clone(),
                    price: o.price_cents,
                })
                .collect(),
            deployment_days: u32::try_from(row.deployment_days).unwrap_or(0),
            rules_version: row.rules_version,
            submitted_at: row.submitted_at.map(crate::time::rfc3339),
            decided_at: row.decided_at.map(crate::time::rfc3339),
        }
    }

    /// The content, as a vendor would send it again.
    pub fn content(&self) -> PackageContent {
        PackageContent {
            name_en: self.name_en.clone(),
            name_zh: self.name_zh.clone(),
            summary_en: self.summary_en.clone(),
            summary_zh: self.summary_zh.clone(),
            pricing: self.pricing.clone(),
            components: self.components.clone(),
            options: self
                .options
                .iter()
                .map(|o| OptionInput {
                    name_en: o.name_en.clone(),
                    name_zh: o.name_zh.clone(),
                    price: o.price,
                })
                .collect(),
            deployment_days: self.deployment_days,
        }
    }
}

/// A package as its vendor and admins see it: its status and its current revision, with the
/// live revision's number when one is listed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Package {
    pub id: String,
    pub vendor_id: String,
    pub status: PackageStatus,
    #[schema(example = "e_payment_pos")]
    pub category: String,
    #[schema(example = "food_and_beverage")]
    pub target_sector: String,
    /// The revision being edited or reviewed (the live one when there is no other).
    pub revision: Revision,
    /// The number of the revision the catalogue shows, if any.
    pub live_revision_number: Option<i64>,
    pub listed_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// One entry of a package's review history.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Review {
    pub revision_id: String,
    /// Who acted. In the vendor's view an admin's id is withheld (`null`): vendors see the
    /// step, the role and the time, never which officer.
    pub actor_id: Option<String>,
    #[schema(example = "admin")]
    pub actor_role: String,
    #[schema(example = "request_changes")]
    pub action: String,
    pub comment: Option<String>,
    pub from_status: String,
    pub to_status: String,
    pub at: String,
}

impl From<&ReviewRow> for Review {
    fn from(row: &ReviewRow) -> Self {
        Review {
            revision_id: row.revision_id.clone(),
            actor_id: Some(row.actor_id.clone()),
            actor_role: row.actor_role.clone(),
            action: row.action.clone(),
            comment: row.comment.clone(),
            from_status: row.from_status.clone(),
            to_status: row.to_status.clone(),
            at: crate::time::rfc3339(row.created_at),
        }
    }
}

impl Review {
    /// The entry as the vendor sees it: an admin's id withheld.
    pub fn for_vendor(row: &ReviewRow) -> Review {
        let mut review = Review::from(row);
        if row.actor_role == crate::auth::Role::Admin.as_str() {
            review.actor_id = None;
        }
        review
    }
}

/// An admin's decision on a package. Request-changes, reject and suspend need a comment.
#[derive(Debug, Clone, Default, Deserialize, Validate, ToSchema)]
pub struct PackageDecision {
    #[validate(length(min = 1, max = 4000), custom(function = non_blank))]
    #[schema(example = "Please list the training hours in the components.")]
    pub comment: Option<String>,
}
