//! Exact HK-dollar amounts.
#![deny(clippy::arithmetic_side_effects)]
//!
//! [`Money`] is a non-negative amount of Hong Kong dollars with exactly two decimals. In code it
//! is a [`rust_decimal::Decimal`]; in the database it is a `BIGINT` of cents; in JSON it is a
//! string such as `"12345.00"`, never a number, so no client ever rounds it through a float.

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The number of decimals every amount carries.
const SCALE: u32 = 2;

/// Why a string or number is not a valid [`Money`] amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("must be a decimal amount such as \"12345.00\"")]
    Malformed,
    #[error("must have at most 2 decimal places")]
    TooManyDecimals,
    #[error("must not be negative")]
    Negative,
    #[error("is too large")]
    Overflow,
}

/// A non-negative amount of HK dollars with exactly two decimals.
///
/// How it is stored and read back as a `BIGINT` of cents lives with the database, in
/// `src/db/money.rs`: this module is part of the pure engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(Decimal);

impl Money {
    /// HK$0.00.
    pub const ZERO: Money = Money(Decimal::from_parts(0, 0, 0, false, SCALE));

    /// The amount of `cents` cents; refuses a negative count.
    pub fn from_cents(cents: i64) -> Result<Money, MoneyError> {
        if cents < 0 {
            return Err(MoneyError::Negative);
        }
        Ok(Money(Decimal::new(cents, SCALE)))
    }

    /// An exact decimal amount: refuses more than two decimals, negatives and amounts whose
    /// cents do not fit the database column.
    pub fn from_decimal(value: Decimal) -> Result<Money, MoneyError> {
        if value.is_sign_negative() && !value.is_zero() {
            return Err(MoneyError::Negative);
        }
        let normalized = value.normalize();
        if normalized.scale() > SCALE {
            return Err(MoneyError::TooManyDecimals);
        }
        Self::fit(normalized)
    }

    /// Rounds a computed amount up to the next cent: a fraction of a cent never goes against
    /// the party receiving it (the SME, for a subsidy). For an exact half cent this is the
    /// programme's half-up rule.
    pub fn round_up(value: Decimal) -> Result<Money, MoneyError> {
        if value.is_sign_negative() && !value.is_zero() {
            return Err(MoneyError::Negative);
        }
        Self::fit(value.round_dp_with_strategy(SCALE, RoundingStrategy::AwayFromZero))
    }

    /// Parses the API's amount syntax: digits, optionally a point and one or two decimals.
    pub fn parse(input: &str) -> Result<Money, MoneyError> {
        let unsigned = match input.strip_prefix('-') {
            Some(rest) if is_amount_syntax(rest) => return Err(MoneyError::Negative),
            Some(_) => return Err(MoneyError::Malformed),
            None => input,
        };
        if !is_amount_syntax(unsigned) {
            return Err(MoneyError::Malformed);
        }
        if let Some((_, decimals)) = unsigned.split_once('.')
            && decimals.len() > SCALE as usize
        {
            return Err(MoneyError::TooManyDecimals);
        }
        let value = Decimal::from_str_exact(unsigned).map_err(|_| MoneyError::Overflow)?;
        Self::fit(value)
    }

    /// The amount in cents, as stored in the database.
    pub fn cents(self) -> i64 {
        // `fit` guarantees the mantissa at scale 2 fits an i64.
        i64::try_from(self.0.mantissa()).unwrap_or(i64::MAX)
    }

    /// The amount as an exact decimal.
    pub fn as_decimal(self) -> Decimal {
        self.0
    }

    /// The sum, or `None` on overflow.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.cents()
            .checked_add(other.cents())
            .and_then(|c| Money::from_cents(c).ok())
    }

    /// The difference, or `None` when it would be negative.
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.cents()
            .checked_sub(other.cents())
            .and_then(|c| Money::from_cents(c).ok())
    }

    fn fit(value: Decimal) -> Result<Money, MoneyError> {
        let mut scaled = value;
        scaled.rescale(SCALE);
        // `rescale` saturates silently when the value cannot carry two decimals.
        if scaled != value {
            return Err(MoneyError::Overflow);
        }
        if i64::try_from(scaled.mantissa()).is_err() {
            return Err(MoneyError::Overflow);
        }
        Ok(Money(scaled))
    }
}

/// Digits, then optionally a point followed by at least one digit.
fn is_amount_syntax(s: &str) -> bool {
    let (whole, decimals) = match s.split_once('.') {
        Some((w, d)) => (w, Some(d)),
        None => (s, None),
    };
    let all_digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    all_digits(whole) && decimals.is_none_or(all_digits)
}

impl Default for Money {
    fn default() -> Self {
        Money::ZERO
    }
}

/// A signed amount of cents as the API writes money, e.g. `-1250.00` (for ledger adjustments,
/// the one place an amount may be negative).
pub fn signed_cents_text(cents: i64) -> String {
    format!("{:.2}", Decimal::new(cents, SCALE))
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2}", self.0)
    }
}

impl FromStr for Money {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Money::parse(s)
    }
}

impl TryFrom<Decimal> for Money {
    type Error = MoneyError;

    fn try_from(value: Decimal) -> Result<Self, Self::Error> {
        Money::from_decimal(value)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MoneyVisitor;

        impl serde::de::Visitor<'_> for MoneyVisitor {
            type Value = Money;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a decimal string with at most 2 decimals, such as \"12345.00\"")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Money, E> {
                Money::parse(v).map_err(|e| E::custom(format_args!("amount {e}")))
            }
        }

        deserializer.deserialize_str(MoneyVisitor)
    }
}

impl utoipa::PartialSchema for Money {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(r"^\d+\.\d{2}$"))
            .description(Some(
                "An amount of HK dollars as a decimal string with two decimals.",
            ))
            .examples(["25000.00"])
            .into()
    }
}

impl utoipa::ToSchema for Money {}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)] // Tests may panic; the code under test may not.
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn money(s: &str) -> Money {
        Money::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn parses_whole_and_fractional_amounts_to_two_decimals() {
        assert_eq!(money("12345").to_string(), "12345.00");
        assert_eq!(money("12345.5").to_string(), "12345.50");
        assert_eq!(money("0.01").cents(), 1);
        assert_eq!(money("0").to_string(), "0.00");
        assert_eq!(money("500000000.00").cents(), 50_000_000_000);
    }

    #[test]
    fn rejects_more_than_two_decimals() {
        assert_eq!(Money::parse("1.001"), Err(MoneyError::TooManyDecimals));
        assert_eq!(Money::parse("1.500"), Err(MoneyError::TooManyDecimals));
        assert_eq!(
            Money::from_decimal(Decimal::new(1001, 3)),
            Err(MoneyError::TooManyDecimals)
        );
    }

    #[test]
    fn rejects_negative_amounts() {
        assert_eq!(Money::parse("-1.00"), Err(MoneyError::Negative));
        assert_eq!(Money::from_cents(-1), Err(MoneyError::Negative));
        assert_eq!(
            Money::from_decimal(Decimal::new(-5, 0)),
            Err(MoneyError::Negative)
        );
    }

    #[test]
    fn rejects_amounts_beyond_the_cents_column() {
        assert_eq!(
            Money::parse("92233720368547758.08"),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            Money::parse("99999999999999999999999999999999999"),
            Err(MoneyError::Overflow)
        );
        assert_eq!(money("92233720368547758.07").cents(), i64::MAX);
    }

    #[test]
    fn rejects_anything_that_is_not_plain_decimal_syntax() {
        for bad in [
            "", ".", "1.", ".5", "+1", "1e5", " 1", "1 ", "1,000", "--1", "-", "NaN", "HK$1",
        ] {
            assert_eq!(Money::parse(bad), Err(MoneyError::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn json_is_a_string_never_a_number() {
        assert_eq!(
            serde_json::to_string(&money("25000")).ok(),
            Some("\"25000.00\"".into())
        );
        assert_eq!(
            serde_json::from_str::<Money>("\"25000.50\"").ok(),
            Some(money("25000.50"))
        );
        let err = serde_json::from_str::<Money>("25000")
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("decimal string")));
        let err = serde_json::from_str::<Money>("\"1.234\"")
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("at most 2 decimal places")));
    }

    #[test]
    fn rounds_up_to_the_cent() {
        assert_eq!(Money::round_up(Decimal::new(12345, 3)), Ok(money("12.35")));
        assert_eq!(Money::round_up(Decimal::new(12341, 3)), Ok(money("12.35")));
        assert_eq!(Money::round_up(Decimal::new(1234, 2)), Ok(money("12.34")));
        assert_eq!(Money::round_up(Decimal::new(5, 3)), Ok(money("0.01")));
        assert_eq!(Money::round_up(Decimal::MAX), Err(MoneyError::Overflow));
    }

    #[test]
    fn checked_arithmetic_never_goes_negative_or_overflows() {
        assert_eq!(money("1.00").checked_sub(money("1.01")), None);
        assert_eq!(
            money("1.00").checked_sub(money("0.01")),
            Some(money("0.99"))
        );
        let max = Money::from_cents(i64::MAX).ok();
        assert_eq!(max.and_then(|m| m.checked_add(money("0.01"))), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn cents_round_trip_through_text_and_json(cents in 0..=i64::MAX) {
            let m = Money::from_cents(cents).unwrap();
            prop_assert_eq!(m.cents(), cents);
            let text = m.to_string();
            prop_assert_eq!(Money::parse(&text), Ok(m));
            let json = serde_json::to_string(&m).unwrap();
            prop_assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), m);
            prop_assert_eq!(Money::from_decimal(m.as_decimal()), Ok(m));
        }

        #[test]
        fn any_amount_with_at_most_two_decimals_parses_exactly(
            whole in 0u64..1_000_000_000_000,
            decimals in proptest::option::of("[0-9]{1,2}"),
        ) {
            let text = match &decimals {
                Some(d) => format!("{whole}.{d}"),
                None => whole.to_string(),
            };
            let m = Money::parse(&text).unwrap();
            prop_assert_eq!(m.as_decimal(), Decimal::from_str_exact(&text).unwrap());
        }

        #[test]
        fn three_or_more_decimals_are_always_refused(
            whole in 0u64..1_000_000,
            decimals in "[0-9]{3,8}",
        ) {
            prop_assert_eq!(
                Money::parse(&format!("{whole}.{decimals}")),
                Err(MoneyError::TooManyDecimals)
            );
        }

        #[test]
        fn negative_amounts_are_always_refused(cents in 1..=i64::MAX) {
            let text = format!("-{}", Money::from_cents(cents).unwrap());
            prop_assert_eq!(Money::parse(&text), Err(MoneyError::Negative));
        }
    }
}
