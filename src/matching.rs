//! The matching engine: what a package costs, how much of it the programme funds, and what the
//! SME pays. Pure arithmetic on exact decimals; no I/O.
//!
//! - eligible cost = basic price + chosen add-ons, where a subscription's basic price is its
//!   monthly price times the term, counted to at most the fundable months (24 by default);
//! - subsidy = the lowest of: the eligible cost times the matching ratio (rounded up to the
//!   cent, so that rounding never goes against the SME at any ratio; at 1:1 this is the
//!   programme's half-up rule, a half cent going to the SME), the per-SME cap, and the SME's
//!   remaining cap;
//! - the SME pays the rest of the eligible cost. Months beyond the fundable ones are outside
//!   the programme and not part of these figures;
//! - [`decide`] then says whether the programme budget and the intake batch can fund that
//!   subsidy in full: if so the application reserves it, if not it joins the waitlist. There is
//!   never a partial grant.
//!
//! No operator here can panic: every sum and product is checked, and an amount too large to
//! carry is a [`QuoteError::Overflow`]. Clippy holds this module to it.
#![deny(clippy::arithmetic_side_effects)]

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
            let basic = monthly_price
                .as_decimal()
                .checked_mul(Decimal::from(months))
                .ok_or(MoneyError::Overflow)?;
            (basic, months)
        }
    };
    let eligible_cost = request
        .add_ons
        .iter()
        .try_fold(basic, |sum, add_on| sum.checked_add(add_on.as_decimal()))
        .ok_or(MoneyError::Overflow)?;
    let eligible_cost = Money::from_decimal(eligible_cost)?;
    let exact = eligible_cost
        .as_decimal()
        .checked_mul(parameters.matching_ratio)
        .ok_or(MoneyError::Overflow)?;
    let matched = Money::round_up(exact)?;
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

/// What the money can fund at the moment of applying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Funding {
    /// What is left of the SME's own cap.
    pub remaining_cap: Money,
    /// The programme budget's available balance.
    pub budget_available: Money,
    /// What is left of the intake batch's quota; `None` when the batch has no quota.
    pub batch_available: Option<Money>,
    /// Whether earlier applications are already waiting: first come, first served, so a
    /// newcomer never overtakes them and waits too.
    pub waitlist_ahead: bool,
}

/// Whether an application reserves its subsidy now or waits for money to be released.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Reserve,
    Waitlist,
}

/// The engine's full answer for an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub eligible_cost: Money,
    pub subsidy: Money,
    pub sme_pays: Money,
    pub months_counted: u32,
    pub outcome: Outcome,
}

/// Computes the subsidy for `request` under `parameters` and the SME's remaining cap, and
/// whether the budget and the batch can fund all of it ([`Outcome::Reserve`]) or the
/// application must wait ([`Outcome::Waitlist`]).
pub fn decide(
    request: &Request<'_>,
    parameters: &Parameters,
    funding: &Funding,
) -> Result<Decision, QuoteError> {
    let quote = quote(request, parameters, funding.remaining_cap)?;
    let fundable = !funding.waitlist_ahead
        && quote.subsidy <= funding.budget_available
        && funding
            .batch_available
            .is_none_or(|left| quote.subsidy <= left);
    Ok(Decision {
        eligible_cost: quote.eligible_cost,
        subsidy: quote.subsidy,
        sme_pays: quote.sme_pays,
        months_counted: quote.months_counted,
        outcome: if fundable {
            Outcome::Reserve
        } else {
            Outcome::Waitlist
        },
    })
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)] // Tests may panic; the code under test may not.
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
    fn a_third_rounds_up_for_the_sme() {
        // HK$100.00 at a ratio of 0.3333 is 33.33 exactly; HK$100.01 is 33.333333: half-up would
        // give 33.33 and take the 0.3 cent from the SME, so it rounds up to 33.34.
        let parameters = Parameters {
            matching_ratio: Decimal::new(3333, 4),
            ..dtspp()
        };
        let at = |price: &str| {
            let request = Request {
                pricing: Pricing::OneOff { price: m(price) },
                add_ons: &[],
                term_months: None,
            };
            quote(&request, &parameters, m("50000")).unwrap()
        };
        assert_eq!(at("100.00").subsidy, m("33.33"));
        assert_eq!(
            (at("100.01").subsidy, at("100.01").sme_pays),
            (m("33.34"), m("66.67"))
        );
    }

    #[test]
    fn amounts_too_large_are_errors_not_panics() {
        let huge = Money::from_cents(i64::MAX).unwrap();
        let request = Request {
            pricing: Pricing::Subscription {
                monthly_price: huge,
                min_term_months: 1,
            },
            add_ons: &[huge, huge],
            term_months: Some(24),
        };
        assert!(matches!(
            quote(&request, &dtspp(), m("50000")),
            Err(QuoteError::Overflow(_))
        ));
        let parameters = Parameters {
            matching_ratio: Decimal::MAX,
            ..dtspp()
        };
        let one_off = Request {
            pricing: Pricing::OneOff { price: huge },
            add_ons: &[],
            term_months: None,
        };
        assert!(quote(&one_off, &parameters, m("50000")).is_err());
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

    fn funding(remaining: &str, budget: &str, batch: Option<&str>) -> Funding {
        Funding {
            remaining_cap: m(remaining),
            budget_available: m(budget),
            batch_available: batch.map(m),
            waitlist_ahead: false,
        }
    }

    #[test]
    fn decisions_reserve_only_what_can_be_funded_in_full() {
        let request = Request {
            pricing: Pricing::OneOff { price: m("60000") },
            add_ons: &[m("1000")],
            term_months: None,
        };
        // (remaining cap, budget available, batch left) -> (subsidy, SME pays, outcome)
        let table = [
            (
                ("50000", "500000000", None),
                ("30500", "30500", Outcome::Reserve),
            ),
            (
                ("50000", "30500", Some("30500")),
                ("30500", "30500", Outcome::Reserve),
            ),
            // A cent short in the budget: the whole application waits, no partial grant.
            (
                ("50000", "30499.99", None),
                ("30500", "30500", Outcome::Waitlist),
            ),
            (
                ("50000", "1000000", Some("30499.99")),
                ("30500", "30500", Outcome::Waitlist),
            ),
            // The SME's remaining cap binds before the budget is asked.
            (
                ("20000", "20000", Some("20000")),
                ("20000", "41000", Outcome::Reserve),
            ),
            (
                ("20000", "19999.99", None),
                ("20000", "41000", Outcome::Waitlist),
            ),
        ];
        for ((cap, budget, batch), (subsidy, pays, outcome)) in table {
            let d = decide(&request, &dtspp(), &funding(cap, budget, batch)).unwrap();
            assert_eq!(
                (d.eligible_cost, d.subsidy, d.sme_pays, d.outcome),
                (m("61000"), m(subsidy), m(pays), outcome),
                "cap {cap}, budget {budget}, batch {batch:?}"
            );
        }
        // Money enough, but others wait already: the newcomer queues behind them.
        let queued = Funding {
            waitlist_ahead: true,
            ..funding("50000", "500000000", None)
        };
        assert_eq!(
            decide(&request, &dtspp(), &queued).unwrap().outcome,
            Outcome::Waitlist
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
        fn rounding_never_goes_against_the_sme_at_any_ratio(
            pricing in pricing(),
            add_ons in proptest::collection::vec(money(2_000_000), 0..4),
            ratio_bps in 100i64..=10_000,
            remaining in 0i64..=50_000_000,
        ) {
            let parameters = Parameters {
                matching_ratio: Decimal::new(ratio_bps, 4),
                per_sme_cap: m("500000"),
                fundable_months: 24,
            };
            let term = match pricing {
                Pricing::OneOff { .. } => None,
                Pricing::Subscription { min_term_months, .. } => Some(min_term_months),
            };
            let remaining = Money::from_cents(remaining).unwrap();
            let request = Request { pricing, add_ons: &add_ons, term_months: term };
            let q = quote(&request, &parameters, remaining).unwrap();
            let exact = q.eligible_cost.as_decimal() * parameters.matching_ratio;
            prop_assert_eq!(q.subsidy.checked_add(q.sme_pays), Some(q.eligible_cost));
            // Over the exact share by less than a cent, never under it unless a cap binds.
            prop_assert!(q.subsidy.as_decimal() - exact < Decimal::new(1, 2));
            if q.subsidy < parameters.per_sme_cap && q.subsidy < remaining {
                prop_assert!(q.subsidy.as_decimal() >= exact, "{} < {}", q.subsidy, exact);
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
        fn decisions_never_grant_part_of_a_subsidy(
            pricing in pricing(),
            add_ons in proptest::collection::vec(money(2_000_000), 0..4),
            remaining in 0i64..=5_000_000,
            budget in 0i64..=10_000_000,
            batch in proptest::option::of(0i64..=10_000_000),
            ahead in any::<bool>(),
        ) {
            let term = match pricing {
                Pricing::OneOff { .. } => None,
                Pricing::Subscription { min_term_months, .. } => Some(min_term_months),
            };
            let request = Request { pricing, add_ons: &add_ons, term_months: term };
            let cents = |c: i64| Money::from_cents(c).unwrap();
            let funding = Funding {
                remaining_cap: cents(remaining),
                budget_available: cents(budget),
                batch_available: batch.map(cents),
                waitlist_ahead: ahead,
            };
            let d = decide(&request, &dtspp(), &funding).unwrap();
            let q = quote(&request, &dtspp(), funding.remaining_cap).unwrap();
            // The same figures whatever the budget: waiting never shrinks the grant.
            prop_assert_eq!((d.eligible_cost, d.subsidy, d.sme_pays), (q.eligible_cost, q.subsidy, q.sme_pays));
            prop_assert!(d.subsidy.cents() >= 0 && d.sme_pays.cents() >= 0);
            let fits = !ahead && d.subsidy.cents() <= budget && batch.is_none_or(|b| d.subsidy.cents() <= b);
            prop_assert_eq!(d.outcome == Outcome::Reserve, fits);
        }

        #[test]
        fn months_beyond_the_fundable_ones_add_nothing(monthly in 1i64..=500_000, extra in 1u32..=60) {
            let pricing = Pricing::Subscription { monthly_price: Money::from_cents(monthly).unwrap(), min_term_months: 1 };
            let at = |term| quote(&Request { pricing, add_ons: &[], term_months: Some(term) }, &dtspp(), m("50000")).unwrap();
            prop_assert_eq!(at(24), at(24 + extra));
        }
    }
}
