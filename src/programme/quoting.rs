//! The one adapter between stored data and the matching engine: a revision's pricing, the
//! chosen add-ons and term, one version of the programme rules, and what is left of the SME's
//! cap, turned into the engine's [`Request`], [`Parameters`] and [`Funding`]. The catalogue, the
//! quote, enquiries, applications and the content checks all quote through here, so that the
//! figures an SME sees are the figures it applies for.

use crate::error::ApiError;
use crate::matching::{self, Parameters, Pricing, Quote, QuoteError, Request};
use crate::money::Money;
use crate::packages::model::PricingInput;
use crate::programme::model::ProgrammeRules;

/// What is asked for: a revision's pricing, the chosen add-ons' prices, and for a subscription
/// the term (the minimum when absent).
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    pub pricing: &'a PricingInput,
    pub add_ons: &'a [Money],
    pub term_months: Option<u32>,
}

impl<'a> Ask<'a> {
    /// The basic package: no add-ons, the minimum term.
    pub fn basic(pricing: &'a PricingInput) -> Ask<'a> {
        Ask {
            pricing,
            add_ons: &[],
            term_months: None,
        }
    }

    /// The engine's request; `None` while the pricing is incomplete (a draft).
    fn request(&self) -> Option<Request<'a>> {
        Some(Request {
            pricing: pricing_of(self.pricing)?,
            add_ons: self.add_ons,
            term_months: self.term_months,
        })
    }

    /// The engine's request for pricing that must be complete (a listed revision): a gap is a
    /// bug, so a 500.
    fn listed_request(&self) -> Result<Request<'a>, ApiError> {
        self.request().ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!("a listed revision has incomplete pricing"))
        })
    }
}

/// The pricing as the matching engine takes it, when complete.
pub fn pricing_of(p: &PricingInput) -> Option<Pricing> {
    use crate::packages::model::PricingModel;
    match p.model {
        PricingModel::OneOff => p.price.map(|price| Pricing::OneOff { price }),
        PricingModel::Subscription => match (p.monthly_price, p.min_term_months) {
            (Some(monthly_price), Some(min_term_months)) => Some(Pricing::Subscription {
                monthly_price,
                min_term_months,
            }),
            _ => None,
        },
    }
}

/// The engine's parameters from one version of the rules.
pub fn parameters(rules: &ProgrammeRules) -> Parameters {
    Parameters {
        matching_ratio: rules.matching_ratio(),
        per_sme_cap: rules.per_sme_cap,
        fundable_months: u32::try_from(rules.fundable_months).unwrap_or(24),
    }
}

/// What an SME may still receive under `rules`, when its applications hold `held_cents` of its
/// cap: never below zero.
pub fn remaining_cap(rules: &ProgrammeRules, held_cents: i64) -> Result<Money, ApiError> {
    let left = rules.per_sme_cap.cents().saturating_sub(held_cents).max(0);
    Money::from_cents(left).map_err(ApiError::internal)
}

/// A quote that cannot be made, as the 422 naming the field at fault.
fn quote_error(e: QuoteError) -> ApiError {
    match e {
        QuoteError::TermTooShort { .. } | QuoteError::TermOnOneOff => {
            ApiError::invalid("term_months", e.to_string())
        }
        QuoteError::Overflow(_) => ApiError::invalid("options", e.to_string()),
    }
}

/// Quotes a listed revision for an SME with `remaining_cap` left (the full cap for anyone not
/// logged in as an SME).
pub fn quote(
    ask: &Ask<'_>,
    rules: &ProgrammeRules,
    remaining_cap: Money,
) -> Result<Quote, ApiError> {
    matching::quote(&ask.listed_request()?, &parameters(rules), remaining_cap).map_err(quote_error)
}

/// The basic package quoted under `rules` with the full cap, for content that may still be a
/// draft: `None` while the pricing is incomplete or cannot be quoted.
pub fn reference_quote(pricing: &PricingInput, rules: &ProgrammeRules) -> Option<Quote> {
    let ask = Ask::basic(pricing);
    matching::quote(&ask.request()?, &parameters(rules), rules.per_sme_cap).ok()
}
