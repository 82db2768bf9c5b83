//! Turning catalogue rows into what the API shows, with the matching engine's figures.

use super::model::{CatalogueItem, VendorSummary};
use super::store::Row;
use crate::error::ApiError;
use crate::matching::{Request, quote};
use crate::packages::model::{PricingInput, PricingModel};
use crate::packages::rules::parameters;
use crate::programme::model::ProgrammeRules;

pub(super) fn pricing_of(row: &crate::packages::model::RevisionRow) -> PricingInput {
    PricingInput {
        model: if row.pricing_model == "subscription" {
            PricingModel::Subscription
        } else {
            PricingModel::OneOff
        },
        price: row.price_cents,
        monthly_price: row.monthly_price_cents,
        min_term_months: row.min_term_months.and_then(|m| u32::try_from(m).ok()),
    }
}

pub(super) fn engine_pricing(pricing: &PricingInput) -> Result<crate::matching::Pricing, ApiError> {
    let incomplete =
        || ApiError::internal(anyhow::anyhow!("a listed revision has incomplete pricing"));
    match pricing.model {
        PricingModel::OneOff => Ok(crate::matching::Pricing::OneOff {
            price: pricing.price.ok_or_else(incomplete)?,
        }),
        PricingModel::Subscription => Ok(crate::matching::Pricing::Subscription {
            monthly_price: pricing.monthly_price.ok_or_else(incomplete)?,
            min_term_months: pricing.min_term_months.ok_or_else(incomplete)?,
        }),
    }
}

/// A catalogue item, with the basic package quoted under `rules` for an SME with its full cap.
pub(super) fn item(row: &Row, rules: &ProgrammeRules) -> Result<CatalogueItem, ApiError> {
    let (package, revision, (vendor_id, vendor_en, vendor_zh)) = row;
    let pricing = pricing_of(revision);
    let request = Request {
        pricing: engine_pricing(&pricing)?,
        add_ons: &[],
        term_months: None,
    };
    let q = quote(&request, &parameters(rules), rules.per_sme_cap)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("{e}")))?;
    Ok(CatalogueItem {
        id: package.id.clone(),
        vendor: VendorSummary {
            id: vendor_id.clone(),
            name_en: vendor_en.clone(),
            name_zh: vendor_zh.clone(),
        },
        category: package.category.clone(),
        target_sector: package.target_sector.clone(),
        name_en: revision.name_en.clone(),
        name_zh: revision.name_zh.clone(),
        summary_en: revision.summary_en.clone(),
        summary_zh: revision.summary_zh.clone(),
        pricing,
        eligible_cost: q.eligible_cost,
        max_subsidy: q.subsidy,
        sme_pays: q.sme_pays,
        listed_at: package
            .listed_at
            .map(crate::time::rfc3339)
            .unwrap_or_default(),
    })
}
