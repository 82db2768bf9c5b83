//! The programme's rules for a package's content, checked against one version of the
//! parameters. Pure; every violation is its own field error.

use rust_decimal::Decimal;

use super::model::{ComponentKind, PackageContent, PricingModel};
use crate::error::FieldError;
use crate::money::Money;
use crate::programme::model::ProgrammeRules;

/// Longest minimum subscription term accepted, in months.
const MAX_MIN_TERM_MONTHS: u32 = 120;

/// The reference price the catalogue sorts and filters on: the eligible cost of the basic
/// package, a subscription at its minimum term.
pub fn reference_price(content: &PackageContent, rules: &ProgrammeRules) -> Option<Money> {
    crate::programme::quoting::reference_quote(&content.pricing, rules).map(|q| q.eligible_cost)
}

/// Every way `content` breaks the programme's rules in `rules`.
pub fn violations(content: &PackageContent, rules: &ProgrammeRules) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut fail = |field: &str, message: String| errors.push(FieldError::new(field, message));
    let pricing = &content.pricing;
    let positive = |m: Money| m > Money::ZERO;
    match pricing.model {
        PricingModel::OneOff => {
            match pricing.price {
                None => fail(
                    "pricing.price",
                    "is required for one_off pricing".to_owned(),
                ),
                Some(price) if !positive(price) => {
                    fail("pricing.price", "must be more than 0.00".to_owned())
                }
                Some(price) if price > rules.one_off_ceiling => fail(
                    "pricing.price",
                    format!(
                        "must be at most {}, the programme's one-off price ceiling",
                        rules.one_off_ceiling
                    ),
                ),
                Some(_) => {}
            }
            if pricing.monthly_price.is_some() {
                fail(
                    "pricing.monthly_price",
                    "must be absent for one_off pricing".to_owned(),
                );
            }
            if pricing.min_term_months.is_some() {
                fail(
                    "pricing.min_term_months",
                    "must be absent for one_off pricing".to_owned(),
                );
            }
        }
        PricingModel::Subscription => {
            let months = Decimal::from(rules.fundable_months);
            match pricing.monthly_price {
                None => fail(
                    "pricing.monthly_price",
                    "is required for subscription pricing".to_owned(),
                ),
                Some(monthly) if !positive(monthly) => {
                    fail("pricing.monthly_price", "must be more than 0.00".to_owned());
                }
                Some(monthly)
                    if monthly.as_decimal() * months > rules.subscription_ceiling.as_decimal() =>
                {
                    fail(
                        "pricing.monthly_price",
                        format!(
                            "{} times the monthly price must be at most {}, the programme's subscription ceiling",
                            rules.fundable_months, rules.subscription_ceiling
                        ),
                    )
                }
                Some(_) => {}
            }
            match pricing.min_term_months {
                None => fail(
                    "pricing.min_term_months",
                    "is required for subscription pricing".to_owned(),
                ),
                Some(m) if !(1..=MAX_MIN_TERM_MONTHS).contains(&m) => {
                    fail(
                        "pricing.min_term_months",
                        format!("must be from 1 to {MAX_MIN_TERM_MONTHS}"),
                    );
                }
                Some(_) => {}
            }
            if pricing.price.is_some() {
                fail(
                    "pricing.price",
                    "must be absent for subscription pricing".to_owned(),
                );
            }
        }
    }
    if i64::from(content.deployment_days) > rules.implementation_deadline_days {
        fail(
            "deployment_days",
            format!(
                "must be at most {}, the programme's implementation deadline in days",
                rules.implementation_deadline_days
            ),
        );
    }
    if !content
        .components
        .iter()
        .any(|c| matches!(c.kind, ComponentKind::Software | ComponentKind::Service))
    {
        fail(
            "components",
            "must include at least one software or service component".to_owned(),
        );
    }
    for (i, option) in content.options.iter().enumerate() {
        if !positive(option.price) {
            fail(
                &format!("options[{i}].price"),
                "must be more than 0.00".to_owned(),
            );
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packages::model::{Component, OptionInput, PricingInput};

    fn rules() -> ProgrammeRules {
        let m = |s: &str| Money::parse(s).unwrap();
        ProgrammeRules {
            version: 1,
            budget_total: m("500000000"),
            matching_ratio_bps: 5000,
            per_sme_cap: m("50000"),
            one_off_ceiling: m("100000"),
            subscription_ceiling: m("100000"),
            fundable_months: 24,
            implementation_deadline_days: 183,
            created_at: chrono::NaiveDateTime::default(),
            created_by: None,
            risk_thresholds_json: None,
        }
    }

    fn content() -> PackageContent {
        PackageContent {
            name_en: "Cloud POS".into(),
            name_zh: "雲端收銀".into(),
            summary_en: "POS".into(),
            summary_zh: "收銀".into(),
            pricing: PricingInput {
                model: PricingModel::OneOff,
                price: Money::parse("38000").ok(),
                monthly_price: None,
                min_term_months: None,
            },
            components: vec![Component {
                kind: ComponentKind::Software,
                description: "POS".into(),
                quantity: 1,
            }],
            options: vec![],
            deployment_days: 30,
        }
    }

    fn fields(content: &PackageContent) -> Vec<String> {
        violations(content, &rules())
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn a_package_within_the_rules_passes() {
        assert!(fields(&content()).is_empty());
        let mut at_ceiling = content();
        at_ceiling.pricing.price = Money::parse("100000.00").ok();
        at_ceiling.deployment_days = 183;
        assert!(fields(&at_ceiling).is_empty());
    }

    #[test]
    fn each_violation_is_its_own_field_error() {
        let mut c = content();
        c.pricing.price = Money::parse("100000.01").ok();
        c.pricing.min_term_months = Some(12);
        c.deployment_days = 184;
        c.components[0].kind = ComponentKind::Hardware;
        c.options.push(OptionInput {
            name_en: "Free".into(),
            name_zh: None,
            price: Money::ZERO,
        });
        assert_eq!(
            fields(&c),
            [
                "pricing.price",
                "pricing.min_term_months",
                "deployment_days",
                "components",
                "options[0].price"
            ]
        );
    }

    #[test]
    fn a_subscription_is_held_to_the_ceiling_over_the_fundable_months() {
        let mut c = content();
        c.pricing = PricingInput {
            model: PricingModel::Subscription,
            price: None,
            monthly_price: Money::parse("4166.66").ok(),
            min_term_months: Some(12),
        };
        assert!(fields(&c).is_empty(), "24 x 4166.66 = 99999.84");
        c.pricing.monthly_price = Money::parse("4166.67").ok();
        assert_eq!(
            fields(&c),
            ["pricing.monthly_price"],
            "24 x 4166.67 = 100000.08"
        );
        c.pricing.min_term_months = None;
        c.pricing.price = Money::parse("1").ok();
        assert_eq!(
            fields(&c),
            [
                "pricing.monthly_price",
                "pricing.min_term_months",
                "pricing.price"
            ]
        );
    }
}
