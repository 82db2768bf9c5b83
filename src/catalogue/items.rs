//! Turning catalogue rows into what the API shows, with the matching engine's figures.

use super::model::{CatalogueItem, VendorSummary};
use super::store::Row;
use crate::error::ApiError;
use crate::programme::model::ProgrammeRules;
use crate::programme::quoting::{self, Ask};

/// A catalogue item, with the basic package quoted under `rules` for an SME with its full cap.
pub(super) fn item(row: &Row, rules: &ProgrammeRules) -> Result<CatalogueItem, ApiError> {
    let (package, revision, (vendor_id, vendor_en, vendor_zh)) = row;
    let pricing = revision.pricing();
    let q = quoting::quote(&Ask::basic(&pricing), rules, rules.per_sme_cap)?;
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
