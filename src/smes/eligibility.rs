//! The SME eligibility rules of PROGRAMME-RULES.md, as a pure function of declared facts.
//! Every failed rule is reported, each with a stable code and an English reason.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// SMEs must have fewer full-time employees than this.
pub const EMPLOYEE_LIMIT: u32 = 50;

/// What an SME declared, as the rules need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    pub has_br_number: bool,
    pub has_hawker_licence: bool,
    /// Whether its sector is a target sector of the current round.
    pub sector_active: bool,
    pub full_time_employees: u32,
    pub listed_company: bool,
    pub statutory_body: bool,
    pub government_subvented: bool,
}

/// The rules, in the order they are reported: (code, reason, whether the facts fail it).
fn failures(f: &Facts) -> [(&'static str, &'static str, bool); 6] {
    [
        (
            "no_business_registration",
            "Not registered under the Business Registration Ordinance and holds no fixed-pitch hawker licence.",
            !f.has_br_number && !f.has_hawker_licence,
        ),
        (
            "listed_company",
            "Listed companies are not eligible.",
            f.listed_company,
        ),
        (
            "statutory_body",
            "Statutory bodies are not eligible.",
            f.statutory_body,
        ),
        (
            "government_subvented",
            "Government-subvented organisations are not eligible.",
            f.government_subvented,
        ),
        (
            "sector_not_eligible",
            "The business's sector is not a target sector of the current round.",
            !f.sector_active,
        ),
        (
            "too_many_employees",
            "The business has 50 or more full-time employees; the programme requires fewer than 50.",
            f.full_time_employees >= EMPLOYEE_LIMIT,
        ),
    ]
}

/// The result of the rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Eligibility {
    pub eligible: bool,
    /// One English sentence per failed rule, in the order of `codes`.
    pub reasons: Vec<String>,
    /// One stable machine code per failed rule, e.g. `too_many_employees`.
    pub codes: Vec<String>,
}

/// Applies every rule to `facts`.
pub fn evaluate(facts: &Facts) -> Eligibility {
    let failed: Vec<_> = failures(facts)
        .into_iter()
        .filter(|(_, _, failed)| *failed)
        .collect();
    Eligibility {
        eligible: failed.is_empty(),
        reasons: failed
            .iter()
            .map(|(_, reason, _)| (*reason).to_owned())
            .collect(),
        codes: failed
            .iter()
            .map(|(code, _, _)| (*code).to_owned())
            .collect(),
    }
}

/// The eligibility recorded from stored failure codes.
pub fn from_codes(codes: &[String]) -> Eligibility {
    let all = failures(&Facts {
        has_br_number: false,
        has_hawker_licence: false,
        sector_active: false,
        full_time_employees: EMPLOYEE_LIMIT,
        listed_company: true,
        statutory_body: true,
        government_subvented: true,
    });
    let reasons = codes
        .iter()
        .map(|code| {
            all.iter()
                .find(|(c, _, _)| c == code)
                .map_or_else(|| code.clone(), |(_, reason, _)| (*reason).to_owned())
        })
        .collect();
    Eligibility {
        eligible: codes.is_empty(),
        reasons,
        codes: codes.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: Facts = Facts {
        has_br_number: true,
        has_hawker_licence: false,
        sector_active: true,
        full_time_employees: 49,
        listed_company: false,
        statutory_body: false,
        government_subvented: false,
    };

    #[test]
    fn a_small_registered_business_in_a_target_sector_is_eligible() {
        assert_eq!(
            evaluate(&GOOD),
            Eligibility {
                eligible: true,
                reasons: vec![],
                codes: vec![]
            }
        );
        let hawker = Facts {
            has_br_number: false,
            has_hawker_licence: true,
            ..GOOD
        };
        assert!(evaluate(&hawker).eligible);
    }

    #[test]
    fn every_failed_rule_is_reported_in_order() {
        let bad = Facts {
            has_br_number: false,
            has_hawker_licence: false,
            sector_active: false,
            full_time_employees: 50,
            listed_company: true,
            statutory_body: true,
            government_subvented: true,
        };
        let result = evaluate(&bad);
        assert!(!result.eligible);
        assert_eq!(
            result.codes,
            [
                "no_business_registration",
                "listed_company",
                "statutory_body",
                "government_subvented",
                "sector_not_eligible",
                "too_many_employees"
            ]
        );
        assert_eq!(result.reasons.len(), 6);
        assert_eq!(from_codes(&result.codes), result);
    }

    #[test]
    fn fifty_employees_is_one_too_many() {
        let result = evaluate(&Facts {
            full_time_employees: 50,
            ..GOOD
        });
        assert_eq!(result.codes, ["too_many_employees"]);
    }
}
