//! Timestamps: naive UTC in the database, RFC 3339 with a `Z` in the API.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, Timelike, Utc};

/// The current time as stored in the database: naive UTC, to the microsecond (PostgreSQL's
/// precision), so that a value reads back equal on both backends.
pub fn now() -> NaiveDateTime {
    let now = Utc::now().naive_utc();
    now.with_nanosecond(now.nanosecond() / 1_000 * 1_000)
        .unwrap_or(now)
}

/// Hong Kong's offset from UTC, in hours. Hong Kong has not observed daylight saving since 1979.
pub const HK_OFFSET_HOURS: i64 = 8;

/// The UTC instant at which Hong Kong day `day` begins.
pub fn hk_day_start(day: NaiveDate) -> NaiveDateTime {
    day.and_time(NaiveTime::MIN) - Duration::hours(HK_OFFSET_HOURS)
}

/// The Hong Kong date of UTC instant `at`.
pub fn hk_date(at: NaiveDateTime) -> NaiveDate {
    (at + Duration::hours(HK_OFFSET_HOURS)).date()
}

/// Today in Hong Kong: the calendar the programme's dates (delivery, payment, approval) use.
/// From 16:00 UTC it is already tomorrow there.
pub fn hk_today() -> NaiveDate {
    hk_date(now())
}

/// A stored timestamp as the API shows it, e.g. `2026-01-31T09:00:00Z`.
pub fn rfc3339(at: NaiveDateTime) -> String {
    at.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Serialises a stored timestamp as RFC 3339 (for `#[serde(serialize_with)]`).
pub fn serialize<S: serde::Serializer>(at: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*at))
}

/// Serialises an optional stored timestamp as RFC 3339 or `null`.
pub fn serialize_option<S: serde::Serializer>(
    at: &Option<NaiveDateTime>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => s.serialize_str(&rfc3339(*at)),
        None => s.serialize_none(),
    }
}
