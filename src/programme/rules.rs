//! Changing the programme's parameters: each change is a new version, audited, and moves the
//! budget's total through the ledger. Applications keep the version they were computed under.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::model::ProgrammeRules;
use super::store::current_rules;
use crate::audit::{self, NewEvent};
use crate::auth::{AuthUser, RequestMeta};
use crate::db::DbConnection;
use crate::db::schema::programme_rules;
use crate::error::{ApiError, FieldError};
use crate::money::Money;

/// The parameters in PROGRAMME-RULES.md, as `GET/PUT /admin/programme/rules` carry them.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulesForm {
    #[schema(value_type = String, example = "500000000.00")]
    pub budget_total: Money,
    /// The share of the eligible cost funded, as a decimal string: `"0.50"` for 1:1.
    #[schema(value_type = String, example = "0.50")]
    pub matching_ratio: String,
    #[schema(value_type = String, example = "50000.00")]
    pub per_sme_cap: Money,
    #[schema(value_type = String, example = "100000.00")]
    pub one_off_ceiling: Money,
    /// The ceiling on 24 (the fundable months) times the monthly price.
    #[schema(value_type = String, example = "100000.00")]
    pub subscription_ceiling: Money,
    #[schema(example = 24)]
    pub fundable_months: i64,
    /// Days from approval to the delivery deadline.
    #[schema(example = 183)]
    pub implementation_deadline_days: i64,
    /// The risk indicators' thresholds; fields left out keep PROGRAMME-RULES.md's defaults,
    /// and leaving the object out keeps the thresholds in force.
    #[serde(default)]
    pub risk_thresholds: Option<crate::risk::engine::Thresholds>,
    /// Read-only, as `GET` shows it: ignored here, so that a client may send back the document
    /// it read with its changes.
    #[serde(default)]
    #[schema(read_only, value_type = Option<i64>)]
    pub version: Option<serde_json::Value>,
    /// Read-only, ignored.
    #[serde(default)]
    #[schema(read_only, value_type = Option<String>)]
    pub created_at: Option<serde_json::Value>,
    /// Read-only, ignored.
    #[serde(default)]
    #[schema(read_only, value_type = Option<String>)]
    pub created_by: Option<serde_json::Value>,
}

/// One version of the rules.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RulesView {
    pub version: i64,
    pub budget_total: Money,
    #[schema(example = "0.50")]
    pub matching_ratio: String,
    pub per_sme_cap: Money,
    pub one_off_ceiling: Money,
    pub subscription_ceiling: Money,
    pub fundable_months: i64,
    pub implementation_deadline_days: i64,
    #[schema(value_type = String)]
    #[serde(serialize_with = "crate::time::serialize")]
    pub created_at: NaiveDateTime,
    /// The admin who made this version; `null` for the programme's defaults.
    pub created_by: Option<String>,
    /// The risk indicators' thresholds of this version.
    pub risk_thresholds: crate::risk::engine::Thresholds,
}

impl From<ProgrammeRules> for RulesView {
    fn from(r: ProgrammeRules) -> Self {
        RulesView {
            version: r.version,
            budget_total: r.budget_total,
            matching_ratio: format!("{:.2}", r.matching_ratio().normalize()),
            per_sme_cap: r.per_sme_cap,
            one_off_ceiling: r.one_off_ceiling,
            subscription_ceiling: r.subscription_ceiling,
            fundable_months: r.fundable_months,
            implementation_deadline_days: r.implementation_deadline_days,
            risk_thresholds: r.risk_thresholds(),
            created_at: r.created_at,
            created_by: r.created_by,
        }
    }
}

/// The matching ratio in basis points: above 0, at most 1, and a whole number of basis points.
fn ratio_bps(text: &str) -> Result<i64, String> {
    let ratio: Decimal = text
        .trim()
        .parse()
        .map_err(|_| "must be a decimal string such as \"0.50\"".to_owned())?;
    // The range first: no arithmetic on a value that could overflow it.
    if ratio <= Decimal::ZERO || ratio > Decimal::ONE {
        return Err("must be above 0 and at most 1".to_owned());
    }
    let bps = ratio
        .checked_mul(Decimal::from(10_000))
        .ok_or_else(|| "is out of range".to_owned())?;
    if bps.fract() != Decimal::ZERO {
        return Err("must be a whole number of basis points (at most 4 decimals)".to_owned());
    }
    bps.try_into().map_err(|_| "is out of range".to_owned())
}

/// The largest amount any money parameter may take: HK$1 trillion, far above any programme
/// and far below where sums of cents could overflow the database's BIGINT.
const MAX_AMOUNT_CENTS: i64 = 100_000_000_000_000;

/// Every field's problem at once.
fn check(form: &RulesForm) -> Result<i64, ApiError> {
    let mut errors = Vec::new();
    let bps = ratio_bps(&form.matching_ratio)
        .map_err(|m| errors.push(FieldError::new("matching_ratio", m)))
        .ok();
    for (field, value) in [
        ("budget_total", form.budget_total),
        ("per_sme_cap", form.per_sme_cap),
        ("one_off_ceiling", form.one_off_ceiling),
        ("subscription_ceiling", form.subscription_ceiling),
    ] {
        if value == Money::ZERO {
            errors.push(FieldError::new(field, "must be above 0.00"));
        } else if value.cents() > MAX_AMOUNT_CENTS {
            errors.push(FieldError::new(field, "must be at most 1000000000000.00"));
        }
    }
    if !(1..=120).contains(&form.fundable_months) {
        errors.push(FieldError::new("fundable_months", "must be from 1 to 120"));
    }
    if !(1..=3650).contains(&form.implementation_deadline_days) {
        errors.push(FieldError::new(
            "implementation_deadline_days",
            "must be from 1 to 3650",
        ));
    }
    if let Some(t) = &form.risk_thresholds {
        for (field, message) in t.problems() {
            errors.push(FieldError::new(format!("risk_thresholds.{field}"), message));
        }
    }
    match bps {
        Some(bps) if errors.is_empty() => Ok(bps),
        _ => Err(ApiError::Validation(errors)),
    }
}

/// Writes `form` as the next version, moving the budget total by the difference (409 when
/// that would cut into money reserved, committed or disbursed), and promotes the waitlist
/// when the total grew. In the caller's transaction.
pub fn update(
    conn: &mut DbConnection,
    meta: &RequestMeta,
    admin: &AuthUser,
    form: &RulesForm,
) -> Result<RulesView, ApiError> {
    let bps = check(form)?;
    let before = current_rules(conn)?;
    // Both are at most MAX_AMOUNT_CENTS (checked above, and when stored).
    let delta = form
        .budget_total
        .cents()
        .saturating_sub(before.budget_total.cents());
    if !crate::budget::store::adjust_total(conn, delta, &admin.user_id)? {
        let held = crate::budget::store::balances(conn)?;
        let in_use = held.total_cents - held.available_cents;
        return Err(ApiError::Conflict(format!(
            "The budget total cannot go below the {} already reserved, committed or disbursed.",
            Money::from_cents(in_use).unwrap_or(Money::ZERO)
        )));
    }
    let version = before.version + 1;
    let thresholds_json = match &form.risk_thresholds {
        Some(t) => Some(serde_json::to_string(t).map_err(ApiError::internal)?),
        None => before.risk_thresholds_json.clone(),
    };
    diesel::insert_into(programme_rules::table)
        .values((
            programme_rules::version.eq(version),
            programme_rules::budget_total_cents.eq(form.budget_total.cents()),
            programme_rules::matching_ratio_bps.eq(bps),
            programme_rules::per_sme_cap_cents.eq(form.per_sme_cap.cents()),
            programme_rules::one_off_ceiling_cents.eq(form.one_off_ceiling.cents()),
            programme_rules::subscription_ceiling_cents.eq(form.subscription_ceiling.cents()),
            programme_rules::fundable_months.eq(form.fundable_months),
            programme_rules::implementation_deadline_days.eq(form.implementation_deadline_days),
            programme_rules::created_at.eq(crate::time::now()),
            programme_rules::created_by.eq(&admin.user_id),
            programme_rules::risk_thresholds_json.eq(thresholds_json),
        ))
        .execute(conn)?;
    let after = RulesView::from(current_rules(conn)?);
    audit::record(
        conn,
        meta,
        NewEvent::new(
            "programme.rules_changed",
            "programme_rules",
            Some(&version.to_string()),
        )
        .by(&admin.user_id, admin.role)
        .before(RulesView::from(before))
        .after(&after),
    )?;
    if delta > 0 {
        crate::applications::waitlist::promote(conn, meta)?;
    }
    Ok(after)
}

#[cfg(test)]
mod tests {
    use super::ratio_bps;

    #[test]
    fn ratios_are_exact_basis_points_in_range() {
        assert_eq!(ratio_bps("0.50"), Ok(5000));
        assert_eq!(ratio_bps("1"), Ok(10_000));
        assert_eq!(ratio_bps("0.3333"), Ok(3333));
        assert!(ratio_bps("0.33333").is_err());
        assert!(ratio_bps("0").is_err());
        assert!(ratio_bps("1.01").is_err());
        assert!(ratio_bps("half").is_err());
        // Once a panic inside rust_decimal (a 500).
        assert!(ratio_bps("79228162514264337593543950335").is_err());
        assert!(ratio_bps("-79228162514264337593543950335").is_err());
        assert!(ratio_bps("0.0000000000000000000000000001").is_err());
    }
}
