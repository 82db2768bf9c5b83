//! Keyset pagination: `{items, next_cursor}` with an opaque cursor and `limit` from 1 to 100.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDateTime;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;

/// The default and the largest page size.
pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;

/// The spec's schema of a list's `limit` parameter: a whole number from 1 to 100, 20 when
/// absent. Named by `#[param(value_type = Option<PageLimit>)]`; [`limit`] enforces it.
pub struct PageLimit;

impl utoipa::PartialSchema for PageLimit {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, SchemaFormat, Type};
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(1))
            .maximum(Some(MAX_LIMIT))
            .default(Some(DEFAULT_LIMIT.into()))
            .description(Some("Page size, 1 to 100 (default 20)."))
            .into()
    }
}

impl utoipa::ToSchema for PageLimit {}

/// The spec's schema of a list's `cursor` parameter: the `next_cursor` of a previous page,
/// unpadded URL-safe base64 of a versioned key (so it always begins `djE6`, which is `v1:`).
/// Named by `#[param(value_type = Option<PageCursor>)]`; [`decode_cursor`] enforces it.
pub struct PageCursor;

/// The longest cursor any listing issues, with room to spare.
pub const MAX_CURSOR_LEN: usize = 512;

impl utoipa::PartialSchema for PageCursor {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::Type;
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(CURSOR_PATTERN))
            .min_length(Some(5))
            .max_length(Some(MAX_CURSOR_LEN))
            .description(Some(
                "A previous page's `next_cursor`, passed back unchanged.",
            ))
            .into()
    }
}

impl utoipa::ToSchema for PageCursor {}

/// Every cursor this API issues matches it.
pub const CURSOR_PATTERN: &str = "^djE6[A-Za-z0-9_-]+$";

/// One page of a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// The page size a caller asked for: 20 by default, 422 outside 1–100.
pub fn limit(requested: Option<i64>) -> Result<i64, ApiError> {
    match requested {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::invalid(
            "limit",
            format!("must be from 1 to {MAX_LIMIT}"),
        )),
    }
}

/// An opaque cursor for a keyset position.
pub fn encode_cursor(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1:{key}"))
}

/// The keyset position in `cursor`; 422 naming `cursor` when it is not one of ours.
pub fn decode_cursor(cursor: &str) -> Result<String, ApiError> {
    if cursor.len() > MAX_CURSOR_LEN {
        return Err(ApiError::invalid(
            "cursor",
            "is not a cursor this API issued",
        ));
    }
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix("v1:").map(str::to_owned))
        .ok_or_else(|| ApiError::invalid("cursor", "is not a cursor this API issued"))
}

const TIME_KEY_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.f";

/// The keyset key of a row ordered by (timestamp, id), for [`page`].
pub fn time_key(at: NaiveDateTime, id: &str) -> String {
    format!("{}|{id}", at.format(TIME_KEY_FORMAT))
}

/// The (timestamp, id) position in an optional `cursor` made from [`time_key`]; 422 naming
/// `cursor` when it is not one.
pub fn decode_time_cursor(
    cursor: Option<&str>,
) -> Result<Option<(NaiveDateTime, String)>, ApiError> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    let key = decode_cursor(cursor)?;
    key.split_once('|')
        .and_then(|(at, id)| {
            NaiveDateTime::parse_from_str(at, TIME_KEY_FORMAT)
                .ok()
                .map(|at| Some((at, id.to_owned())))
        })
        .ok_or_else(|| ApiError::invalid("cursor", "is not a cursor this API issued"))
}

/// A list's `status` filter parsed as its enum: `None` when absent, 422 naming `status` (with
/// the known words) when it is not one of them.
pub fn status_filter<T>(value: Option<&str>) -> Result<Option<T>, ApiError>
where
    T: std::str::FromStr<Err = String>,
{
    value
        .map(|s| s.parse::<T>().map_err(|m| ApiError::invalid("status", m)))
        .transpose()
}

/// Builds a page from up to `limit + 1` rows: the extra row only signals that more follow.
pub fn page<R, T>(
    mut rows: Vec<R>,
    limit: i64,
    key: impl Fn(&R) -> String,
    map: impl Fn(R) -> T,
) -> Page<T> {
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let next_cursor = if more {
        rows.last().map(|r| encode_cursor(&key(r)))
    } else {
        None
    };
    Page {
        items: rows.into_iter().map(map).collect(),
        next_cursor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        assert_eq!(
            decode_cursor(&encode_cursor("42")).ok(),
            Some("42".to_owned())
        );
        assert!(decode_cursor("42").is_err());
        assert!(decode_cursor(&encode_cursor(&"9".repeat(MAX_CURSOR_LEN))).is_err());
        for key in ["42", "2026-01-31T09:00:00.123456|abc", "seq:17", "x"] {
            let cursor = encode_cursor(key);
            assert!(cursor.starts_with("djE6") && cursor.len() >= 5, "{cursor}");
            assert!(
                cursor
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                "{cursor} matches {CURSOR_PATTERN}"
            );
        }
        assert!(decode_cursor("!!!").is_err());
    }

    #[test]
    fn time_cursors_round_trip() {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 1, 31)
            .and_then(|d| d.and_hms_micro_opt(9, 0, 0, 123_456))
            .unwrap();
        let cursor = encode_cursor(&time_key(at, "abc"));
        assert_eq!(
            decode_time_cursor(Some(&cursor)).ok(),
            Some(Some((at, "abc".to_owned())))
        );
        assert_eq!(decode_time_cursor(None).ok(), Some(None));
        assert!(decode_time_cursor(Some(&encode_cursor("42"))).is_err());
    }

    #[test]
    fn limits_default_to_20_and_stay_within_100() {
        assert_eq!(limit(None).ok(), Some(20));
        assert_eq!(limit(Some(100)).ok(), Some(100));
        assert!(limit(Some(0)).is_err());
        assert!(limit(Some(101)).is_err());
    }

    #[test]
    fn a_page_has_a_cursor_only_when_more_rows_follow() {
        let p = page(vec![5, 4, 3], 2, |r| r.to_string(), |r| r);
        assert_eq!(p.items, vec![5, 4]);
        assert_eq!(
            p.next_cursor
                .as_deref()
                .map(decode_cursor)
                .and_then(Result::ok),
            Some("4".to_owned())
        );
        let p = page(vec![5, 4], 2, |r| r.to_string(), |r| r);
        assert!(p.next_cursor.is_none());
    }
}
