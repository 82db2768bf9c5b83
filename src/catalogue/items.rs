//! Turning catalogue rows into what the API shows, with the matching engine's figures.

use super::model::{CatalogueItem, VendorSummary};
use super::store::Row;
use crate::error::ApiError;
use crate::matching::{Request, quote};
use crate::packages::model::PricingInput;
use crate::packages::rules::{parameters, pricing_of};
use crate::programme::model::ProgrammeRules;

/// The engine's view of a listed revision's pricing; a listed revision always has complete
/// pricing, so a gap is a bug (500).
pub fn engine_pricing(pricing: &PricingInput) -> Result<crate::matching::Pricing, ApiError> {
    pricing_of(pricing).ok_or_else(|| {
        ApiError::internal(anyhow::anyhow!("a listed revision has incomplete pricing"))
    })
}

/// A quote that cannot be made, as the 422 naming the field at fault.
pub fn quote_error(e: crate::matching::QuoteError) -> ApiError {
    use crate::matching::QuoteError;
    match e {
        QuoteError::TermTooShort { .. } | QuoteError::TermOnOneOff => {
            ApiError::invalid("term_months", e.to_string())
        }
        QuoteError::Overflow(_) => ApiError::invalid("options", e.to_string()),
    }
}

/// A catalogue item, with the basic package quoted under `rules` for an SME with its full cap.
pub(super) fn item(row: &Row, rules: &ProgrammeRules) -> Result<CatalogueItem, ApiError> {
    let (package, revision, (vendor_id, vendor_en, vendor_zh)) = row;
    let pricing = revision.pricing();
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
