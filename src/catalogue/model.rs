//! What the catalogue shows.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::money::Money;
use crate::packages::model::{Component, PackageOption, PricingInput};

/// The vendor of a catalogue package.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VendorSummary {
    pub id: String,
    #[schema(example = "CloudPOS Solutions Limited")]
    pub name_en: String,
    #[schema(example = "雲端收銀方案有限公司")]
    pub name_zh: Option<String>,
}

/// A listed package, with what the programme would fund of its basic price.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CatalogueItem {
    pub id: String,
    pub vendor: VendorSummary,
    #[schema(example = "e_payment_pos")]
    pub category: String,
    #[schema(example = "food_and_beverage")]
    pub target_sector: String,
    pub name_en: String,
    pub name_zh: String,
    pub summary_en: String,
    pub summary_zh: String,
    pub pricing: PricingInput,
    /// The basic package's eligible cost (a subscription at its minimum term, to 24 months).
    #[schema(example = "38000.00")]
    pub eligible_cost: Money,
    /// The most the programme funds of it: 50%, up to the per-SME cap.
    #[schema(example = "19000.00")]
    pub max_subsidy: Money,
    /// What the SME pays of the eligible cost.
    #[schema(example = "19000.00")]
    pub sme_pays: Money,
    #[schema(example = "2026-01-31T09:00:00Z")]
    pub listed_at: String,
}

/// Counts of matching packages by category and by target sector. Each honours every other
/// filter in force, so that choosing a value never shows a dead end.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct Facets {
    pub category: BTreeMap<String, i64>,
    pub target_sector: BTreeMap<String, i64>,
}

/// One page of the catalogue.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CataloguePage {
    pub items: Vec<CatalogueItem>,
    /// Pass as `cursor` (with the same filters and sort) for the next page; `null` at the end.
    pub next_cursor: Option<String>,
    pub facets: Facets,
}

/// A listed package in full: its components and add-ons too.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CataloguePackage {
    #[serde(flatten)]
    pub item: CatalogueItem,
    pub components: Vec<Component>,
    /// Add-ons; pass their ids to the quote.
    pub options: Vec<PackageOption>,
    pub deployment_days: u32,
    /// The listed revision; an application refers to exactly this one.
    pub revision_id: String,
    pub revision_number: i64,
}

/// What a package with chosen add-ons and term would cost and be funded.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct QuoteResponse {
    pub eligible_cost: Money,
    pub subsidy: Money,
    pub sme_pays: Money,
    /// What would remain of the SME's cap after this subsidy.
    pub remaining_cap_after: Money,
    /// Subscription months counted (at most the fundable months); 0 for a one-off price.
    pub months_counted: u32,
}

/// A solution category with its count of listed packages.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CategoryCount {
    #[schema(example = "e_payment_pos")]
    pub code: String,
    pub name_en: String,
    pub name_zh: String,
    pub package_count: i64,
}
