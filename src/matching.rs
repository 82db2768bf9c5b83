//! The matching engine: what a package costs, how much of it the programme funds, and what the
//! SME pays. Pure arithmetic on exact decimals; no I/O.
//!
//! - eligible cost = basic price + chosen add-ons, where a subscription's basic price is its
//!   monthly price times the term, counted to at most the fundable months (24 by default);
//! - subsidy = the lowest of: the eligible cost times the matching ratio (rounded half-up to
//!   the cent, so a half cent goes to the SME), the per-SME cap, and the SME's remaining cap;
//! - the SME pays the rest of the eligible cost. Months beyond the fundable ones are outside
//!   the programme and not part of these figures.

use rust_decimal::Decimal;

use crate::money::{Money, MoneyError};

/// How a package is priced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pricing {
    OneOff {
        price: Money,
    },
    Subscription {
        monthly_price: Money,
        min_term_months: u32,
    },
}

/// The programme parameters the engine needs, from one version of the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parameters {
    /// The share of the eligible cost the programme funds, from 0 to 1 (0.5 for 1:1).
    pub matching_ratio: Decimal,
    pub per_sme_cap: Money,
    /// Subscription months beyond this are not subsidised.
    pub fundable_months: u32,
}

/// What an SME asks for: the package's pricing, the add-ons it chose, and, for a
/// subscription, the term (the minimum term when absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    pub pricing: Pricing,
    pub add_ons: &'a [Money],
    pub term_months: Option<u32>,
}

/// The engine's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quote {
    pub eligible_cost: Money,
    pub subsidy: Money,
    pub sme_pays: Money,
    /// The subscription months counted (0 for a one-off price).
    pub months_counted: u32,
}

/// Why a request cannot be quoted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuoteError {
    #[error("the term of {term} months is shorter than the minimum of {minimum}")]
    TermTooShort { term: u32, minimum: u32 },
    #[error("a one-off package takes no term")]
    TermOnOneOff,
    #[error("the amounts are too large: {0}")]
    Overflow(#[from] MoneyError),
}

/// Quotes `request` under `parameters` for an SME with `remaining_cap` of its cap left.
pub fn quote(
    request: &Request<'_>,
    parameters: &Parameters,
    remaining_cap: Money,
) -> Result<Quote, QuoteError> {
    let (basic, months_counted) = match request.pricing {
        Pricing::OneOff { price } => {
            if request.term_months.is_some() {
                return Err(QuoteError::TermOnOneOff);
            }
            (price.as_decimal(), 0)
        }
        Pricing::Subscription {
            monthly_price,
            min_term_months,
        } => {
            let term = request.term_months.unwrap_or(min_term_months);
            if term < min_term_months {
                return Err(QuoteError::TermTooShort {
                    term,
                    minimum: min_term_months,
                });
            }
            let months = term.min(parameters.fundable_months);
            (monthly_price.as_decimal() * Decimal::from(months), months)
        }
    };
    let add_ons: Decimal = request.add_ons.iter().map(|m| m.as_decimal()).sum();
    let eligible_cost = Money::from_decimal(basic + add_ons)?;
    let matched = Money::round_half_up(eligible_cost.as_decimal() * parameters.matching_ratio)?;
    let subsidy = matched.min(parameters.per_sme_cap).min(remaining_cap);
    let sme_pays = eligible_cost
        .checked_sub(subsidy)
        .ok_or(QuoteError::Overflow(MoneyError::Negative))?;
    Ok(Quote {
        eligible_cost,
        subsidy,
        sme_pays,
        months_counted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    fn dtspp() -> Parameters {
        Parameters {
            matching_ratio: Decimal::new(5, 1),
            per_sme_cap: m("50000"),
            fundable_months: 24,
        }
    }

    fn one_off(price: &str, add_ons: &[Money]) -> Quote {
        let request = Request {
            pricing: Pricing::OneOff { price: m(price) },
            add_ons,
            term_months: None,
        };
        quote(&request, &dtspp(), m("50000")).unwrap()
    }

    #[test]
    fn hand_worked_examples() {
        // HK$30,000 POS package: half is funded.
        let q = one_off("30000", &[]);
        assert_eq!(
            (q.eligible_cost, q.subsidy, q.sme_pays),
            (m("30000"), m("15000"), m("15000"))
        );
        // HK$100,000 package with a HK$8,000 add-on: the HK$50,000 cap binds.
        let q = one_off("100000", &[m("8000")]);
        assert_eq!(
            (q.eligible_cost, q.subsidy, q.sme_pays),
            (m("108000"), m("50000"), m("58000"))
        );
        // An odd cent: the half cent goes to the SME.
        let q = one_off("999.99", &[]);
        assert_eq!((q.subsidy, q.sme_pays), (m("500.00"), m("499.99")));
        // A HK$1,500-a-month subscription over 36 months: only 24 are counted.
        let request = Request {
            pricing: Pricing::Subscription {
                monthly_price: m("1500"),
                min_term_months: 12,
            },
            add_ons: &[m("2000")],
            term_months: Some(36),
        };
        let q = quote(&request, &dtspp(), m("50000")).unwrap();
        assert_eq!(q.months_counted, 24);
        assert_eq!(
            (q.eligible_cost, q.subsidy, q.sme_pays),
            (m("38000"), m("19000"), m("19000"))
        );
        // An SME with HK$4,000 of its cap left gets at most that.
        let q = quote(&request, &dtspp(), m("4000")).unwrap();
        assert_eq!((q.subsidy, q.sme_pays), (m("4000"), m("34000")));
    }

    #[test]
    fn terms_are_checked() {
        let pricing = Pricing::Subscription {
            monthly_price: m("100"),
            min_term_months: 12,
        };
        let short = Request {
            pricing,
            add_ons: &[],
            term_months: Some(6),
        };
        assert_eq!(
            quote(&short, &dtspp(), m("50000")),
            Err(QuoteError::TermTooShort {
                term: 6,
                minimum: 12
            })
        );
        let default_term = Request {
            pricing,
            add_ons: &[],
            term_months: None,
        };
        assert_eq!(
            quote(&default_term, &dtspp(), m("50000"))
                .unwrap()
                .months_counted,
            12
        );
        let one_off = Request {
            pricing: Pricing::OneOff { price: m("1") },
            add_ons: &[],
            term_months: Some(12),
        };
        assert_eq!(
            quote(&one_off, &dtspp(), m("50000")),
            Err(QuoteError::TermOnOneOff)
        );
    }

    fn money(max_cents: i64) -> impl Strategy<Value = Money> {
        (1..=max_cents).prop_map(|c| Money::from_cents(c).unwrap())
    }

    fn pricing() -> impl Strategy<Value = Pricing> {
        prop_oneof![
            money(10_000_000).prop_map(|price| Pricing::OneOff { price }),
            (money(500_000), 1u32..=36).prop_map(|(monthly_price, min_term_months)| {
                Pricing::Subscription {
                    monthly_price,
                    min_term_months,
                }
            }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5_000))]

        #[test]
        fn the_figures_always_add_up_and_respect_every_cap(
            pricing in pricing(),
            add_ons in proptest::collection::vec(money(2_000_000), 0..4),
            extra_months in 0u32..40,
            remaining in 0i64..=5_000_000,
        ) {
            let term = match pricing {
                Pricing::OneOff { .. } => None,
                Pricing::Subscription { min_term_months, .. } => Some(min_term_months + extra_months),
            };
            let remaining = Money::from_cents(remaining).unwrap();
            let request = Request { pricing, add_ons: &add_ons, term_months: term };
            let q = quote(&request, &dtspp(), remaining).unwrap();
            prop_assert_eq!(q.subsidy.checked_add(q.sme_pays), Some(q.eligible_cost));
            prop_assert!(q.subsidy <= dtspp().per_sme_cap);
            prop_assert!(q.subsidy <= remaining);
            prop_assert!(q.months_counted <= 24);
            // At most half, rounded half-up: the subsidy exceeds the exact half by under a cent.
            let half = q.eligible_cost.as_decimal() / Decimal::from(2);
            prop_assert!(q.subsidy.as_decimal() - half < Decimal::new(1, 2));
            // Never in the SME's disfavour: uncapped, the subsidy is never below the exact half.
            if q.subsidy < dtspp().per_sme_cap && q.subsidy < remaining {
                prop_assert!(q.subsidy.as_decimal() >= half);
            }
        }

        #[test]
        fn the_subsidy_never_falls_as_the_price_rises(a in 1i64..=20_000_000, b in 1i64..=20_000_000) {
            let (low, high) = (a.min(b), a.max(b));
            let at = |cents| {
                let request = Request {
                    pricing: Pricing::OneOff { price: Money::from_cents(cents).unwrap() },
                    add_ons: &[],
                    term_months: None,
                };
                quote(&request, &dtspp(), m("50000")).unwrap().subsidy
            };
            prop_assert!(at(low) <= at(high));
        }

        #[test]
        fn months_beyond_the_fundable_ones_add_nothing(monthly in 1i64..=500_000, extra in 1u32..=60) {
            let pricing = Pricing::Subscription { monthly_price: Money::from_cents(monthly).unwrap(), min_term_months: 1 };
            let at = |term| quote(&Request { pricing, add_ons: &[], term_months: Some(term) }, &dtspp(), m("50000")).unwrap();
            prop_assert_eq!(at(24), at(24 + extra));
        }
    }
}
