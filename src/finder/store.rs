//! What the finder reads: the listed packages that could meet the needs, priced as their quote
//! prices them by default.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{package_revisions, packages, vendors};
use crate::error::ApiError;
use crate::money::Money;
use crate::packages::model::{PricingInput, PricingModel};
use crate::packages::workflow::PackageStatus;
use crate::programme::model::ProgrammeRules;
use crate::programme::quoting::{self, Ask};
use crate::vendors::workflow::VendorStatus;

/// Which pricing the SME prefers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Prefer {
    OneOff,
    Subscription,
    #[default]
    Any,
}

/// A listed package that meets one of the needs, with its default quote under the full cap.
#[derive(Debug, Clone)]
pub struct Offer {
    pub package_id: String,
    pub category: String,
    pub name_en: String,
    pub name_zh: String,
    pub listed_at: NaiveDateTime,
    pub eligible_cost: Money,
    /// The subsidy this package alone would get with the whole per-SME cap left.
    pub matched: Money,
}

type OfferRow = (
    String,
    String,
    Option<NaiveDateTime>,
    String,
    String,
    String,
    Option<Money>,
    Option<Money>,
    Option<i64>,
);

/// The listed packages of approved vendors in `categories` for `sector`, of the preferred
/// pricing and, for subscriptions, at most `max_monthly` a month; each quoted as its basic
/// package (no add-ons, the minimum term) under `rules` with the full per-SME cap.
pub fn offers(
    conn: &mut DbConnection,
    rules: &ProgrammeRules,
    categories: &[String],
    sector: &str,
    prefer: Prefer,
    max_monthly: Option<Money>,
) -> Result<Vec<Offer>, ApiError> {
    let mut query = packages::table
        .inner_join(vendors::table)
        .inner_join(
            package_revisions::table.on(package_revisions::id
                .nullable()
                .eq(packages::live_revision_id)),
        )
        .filter(packages::status.eq(PackageStatus::Listed))
        .filter(vendors::status.eq(VendorStatus::Approved))
        .filter(packages::category.eq_any(categories))
        .filter(packages::target_sector.eq(sector))
        .select((
            packages::id,
            packages::category,
            packages::listed_at,
            package_revisions::name_en,
            package_revisions::name_zh,
            package_revisions::pricing_model,
            package_revisions::price_cents,
            package_revisions::monthly_price_cents,
            package_revisions::min_term_months,
        ))
        .into_boxed();
    match prefer {
        Prefer::OneOff => {
            query = query.filter(package_revisions::pricing_model.eq(PricingModel::OneOff.as_str()))
        }
        Prefer::Subscription => {
            query = query
                .filter(package_revisions::pricing_model.eq(PricingModel::Subscription.as_str()))
        }
        Prefer::Any => {}
    }
    if let Some(most) = max_monthly {
        query = query.filter(
            package_revisions::pricing_model
                .ne(PricingModel::Subscription.as_str())
                .or(package_revisions::monthly_price_cents.le(most)),
        );
    }
    let rows: Vec<OfferRow> = query.load(conn)?;
    rows.into_iter()
        .map(
            |(id, category, listed_at, name_en, name_zh, model, price, monthly, term)| {
                let pricing = PricingInput {
                    model: if model == PricingModel::Subscription.as_str() {
                        PricingModel::Subscription
                    } else {
                        PricingModel::OneOff
                    },
                    price,
                    monthly_price: monthly,
                    min_term_months: term.and_then(|m| u32::try_from(m).ok()),
                };
                let quote = quoting::quote(&Ask::basic(&pricing), rules, rules.per_sme_cap)?;
                Ok(Offer {
                    package_id: id,
                    category,
                    name_en,
                    name_zh,
                    // A listed package always has its listing time; the oldest possible
                    // stands in should one ever lack it.
                    listed_at: listed_at.unwrap_or(NaiveDateTime::MIN),
                    eligible_cost: quote.eligible_cost,
                    matched: quote.subsidy,
                })
            },
        )
        .collect()
}
