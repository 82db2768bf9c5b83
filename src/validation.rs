//! Input rules shared by several forms, for `validator`'s `custom` attribute.

use std::borrow::Cow;

use validator::ValidationError;

fn error(code: &'static str, message: &'static str) -> ValidationError {
    ValidationError::new(code).with_message(Cow::Borrowed(message))
}

/// The OpenAPI schema of a list of short strings (codes or ids): `min_items` to `max_items`
/// items of 1 to 64 characters each. Bounding the items as well as the list keeps every body
/// the schema allows within the body limit, so that a client keeping to the schema never meets
/// a 413. For `#[schema(schema_with = …)]`, through a function naming the bounds.
pub fn short_strings(
    min_items: usize,
    max_items: usize,
    example: serde_json::Value,
) -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(64)),
        )
        .min_items((min_items > 0).then_some(min_items))
        .max_items(Some(max_items))
        .examples([example])
        .build()
}

/// Not empty once surrounding whitespace is removed.
pub fn non_blank(value: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(error("blank", "must not be blank"));
    }
    Ok(())
}

/// A Hong Kong Business Registration number: exactly 8 digits.
pub fn br_number(value: &str) -> Result<(), ValidationError> {
    if value.len() == 8 && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(error("br_number", "must be exactly 8 digits"))
    }
}

/// A telephone number: an optional `+`, then 8 to 15 digits, with spaces or hyphens allowed
/// between them (Hong Kong numbers have 8 digits; `+852` may precede them).
pub fn phone(value: &str) -> Result<(), ValidationError> {
    let rest = value.trim().strip_prefix('+').unwrap_or(value.trim());
    let digits = rest.bytes().filter(u8::is_ascii_digit).count();
    let only_allowed = rest
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b' ' || b == b'-');
    if only_allowed && (8..=15).contains(&digits) {
        Ok(())
    } else {
        Err(error(
            "phone",
            "must be a telephone number of 8 to 15 digits, such as +852 2345 6789",
        ))
    }
}

/// The smallest and largest password lengths. The maximum bounds the hashing cost.
pub const PASSWORD_MIN: u64 = 12;
pub const PASSWORD_MAX: u64 = 128;

/// A password that is not the account's own email address.
pub fn password_differs_from_email(password: &str, email: &str) -> Result<(), ValidationError> {
    if password.trim().eq_ignore_ascii_case(email.trim()) {
        return Err(error("password_is_email", "must not be the email address"));
    }
    Ok(())
}

/// An email as stored: trimmed and lower-cased.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// The 18 districts of Hong Kong, in English and Traditional Chinese.
pub const DISTRICTS: &[(&str, &str)] = &[
    ("Central and Western", "中西區"),
    ("Wan Chai", "灣仔"),
    ("Eastern", "東區"),
    ("Southern", "南區"),
    ("Yau Tsim Mong", "油尖旺"),
    ("Sham Shui Po", "深水埗"),
    ("Kowloon City", "九龍城"),
    ("Wong Tai Sin", "黃大仙"),
    ("Kwun Tong", "觀塘"),
    ("Kwai Tsing", "葵青"),
    ("Tsuen Wan", "荃灣"),
    ("Tuen Mun", "屯門"),
    ("Yuen Long", "元朗"),
    ("North", "北區"),
    ("Tai Po", "大埔"),
    ("Sha Tin", "沙田"),
    ("Sai Kung", "西貢"),
    ("Islands", "離島"),
];

/// The district's English name, from its English (any case) or Chinese name.
pub fn canonical_district(value: &str) -> Option<&'static str> {
    let value = value.trim();
    let chinese = value.trim_end_matches('區');
    DISTRICTS
        .iter()
        .find(|(en, zh)| en.eq_ignore_ascii_case(value) || zh.trim_end_matches('區') == chinese)
        .map(|(en, _)| *en)
}

/// One of Hong Kong's 18 districts.
pub fn district(value: &str) -> Result<(), ValidationError> {
    canonical_district(value).map(|_| ()).ok_or_else(|| {
        error(
            "district",
            "must be one of Hong Kong's 18 districts, e.g. Wan Chai or 灣仔",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn br_numbers_are_exactly_eight_digits() {
        assert!(br_number("12345678").is_ok());
        for bad in ["1234567", "123456789", "1234567a", "", "1234 5678"] {
            assert!(br_number(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phones_allow_hong_kong_and_international_forms() {
        for good in [
            "23456789",
            "+852 2345 6789",
            "+852-9123-4567",
            "+44 20 7946 0958",
        ] {
            assert!(phone(good).is_ok(), "{good}");
        }
        for bad in ["1234567", "call me", "+852 2345 678x", "1234567890123456"] {
            assert!(phone(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn districts_are_recognised_in_either_language() {
        assert_eq!(canonical_district("wan chai"), Some("Wan Chai"));
        assert_eq!(canonical_district("灣仔區"), Some("Wan Chai"));
        assert_eq!(canonical_district("東區"), Some("Eastern"));
        assert_eq!(canonical_district("Atlantis"), None);
    }

    #[test]
    fn a_password_may_not_be_the_email() {
        assert!(password_differs_from_email("A@Example.org", "a@example.org").is_err());
        assert!(password_differs_from_email("long and different", "a@example.org").is_ok());
    }
}
