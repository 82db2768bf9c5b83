//! Reading the catalogue's query string: filters, order and cursors, each checked with a 422
//! that names the parameter.

use serde::Deserialize;
use utoipa::IntoParams;

use super::store::{Position, Row, Sort};
use crate::error::ApiError;
use crate::money::Money;
use crate::pagination;

/// Filters, order and position in the catalogue.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CatalogueQuery {
    /// Free text, English or Chinese: every word must match; the last English word also
    /// matches as a prefix. `收銀` finds 「雲端收銀系統」, `pos` finds "POS".
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// A category code, e.g. `e_payment_pos`.
    pub category: Option<String>,
    /// A target sector code, e.g. `retail`.
    pub sector: Option<String>,
    /// Only this vendor's packages.
    pub vendor_id: Option<String>,
    /// Lowest eligible cost of the basic package, e.g. `10000.00`.
    #[param(pattern = r"^[0-9]+(\.[0-9]{1,2})?$")]
    pub min_price: Option<String>,
    /// Highest eligible cost of the basic package.
    #[param(pattern = r"^[0-9]+(\.[0-9]{1,2})?$")]
    pub max_price: Option<String>,
    /// `relevance` (the default with `q`; best match first), `newest` (the default without),
    /// `price_asc` or `price_desc`. Without `q`, `relevance` orders as `newest`.
    #[param(inline, value_type = Option<SortParam>)]
    pub sort: Option<String>,
    /// From a previous page's `next_cursor`, with the same filters and sort.
    #[param(inline, value_type = Option<crate::pagination::PageCursor>)]
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(inline, value_type = Option<crate::pagination::PageLimit>)]
    pub limit: Option<String>,
}

pub(super) fn known_code(valid: Option<bool>, field: &str, what: &str) -> Result<(), ApiError> {
    match valid {
        Some(_) => Ok(()),
        None => Err(ApiError::invalid(
            field,
            format!("is not a known {what} code"),
        )),
    }
}

pub(super) fn parse_money(field: &str, value: Option<&str>) -> Result<Option<Money>, ApiError> {
    value
        .map(|v| Money::parse(v).map_err(|e| ApiError::invalid(field, format!("{e}"))))
        .transpose()
}

/// The spec's schema of the catalogue's `sort` parameter; [`parse_order`] enforces it.
pub struct SortParam;

impl utoipa::PartialSchema for SortParam {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(["relevance", "newest", "price_asc", "price_desc"]))
            .into()
    }
}

impl utoipa::ToSchema for SortParam {}

/// How a listing is ordered: by a column, or by search relevance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Order {
    By(Sort),
    Relevance,
}

pub(super) fn parse_order(value: Option<&str>, searching: bool) -> Result<Order, ApiError> {
    match value {
        None | Some("relevance") if searching => Ok(Order::Relevance),
        None | Some("newest") | Some("relevance") => Ok(Order::By(Sort::Newest)),
        Some("price_asc") => Ok(Order::By(Sort::PriceAsc)),
        Some("price_desc") => Ok(Order::By(Sort::PriceDesc)),
        Some(other) => Err(ApiError::invalid(
            "sort",
            format!("must be relevance, price_asc, price_desc or newest, not {other:?}"),
        )),
    }
}

/// A relevance position: the score (as its exact bits) and id of the previous page's last row.
pub(super) fn relevance_key(score: f64, id: &str) -> String {
    format!("{:016x}|{id}|relevance", score.to_bits())
}

pub(super) fn parse_relevance_cursor(cursor: &str) -> Result<(f64, String), ApiError> {
    let bad = || {
        ApiError::invalid(
            "cursor",
            "is not a cursor of this listing (same filters and sort)",
        )
    };
    let key = pagination::decode_cursor(cursor)?;
    let mut parts = key.splitn(3, '|');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(bits), Some(id), Some("relevance")) => {
            let bits = u64::from_str_radix(bits, 16).map_err(|_| bad())?;
            Ok((f64::from_bits(bits), id.to_owned()))
        }
        _ => Err(bad()),
    }
}

pub(super) fn cursor_key(sort: Sort, row: &Row) -> String {
    let (package, revision, _) = row;
    match sort {
        Sort::Newest => format!(
            "{}|{}",
            pagination::time_key(package.listed_at.unwrap_or_default(), &package.id),
            sort.as_str()
        ),
        Sort::PriceAsc | Sort::PriceDesc => format!(
            "{}|{}|{}",
            revision.reference_price_cents.map_or(0, Money::cents),
            package.id,
            sort.as_str()
        ),
    }
}

pub(super) fn parse_cursor(sort: Sort, cursor: &str) -> Result<Position, ApiError> {
    let bad = || {
        ApiError::invalid(
            "cursor",
            "is not a cursor of this listing (same filters and sort)",
        )
    };
    let key = pagination::decode_cursor(cursor)?;
    let (rest, cursor_sort) = key.rsplit_once('|').ok_or_else(bad)?;
    if cursor_sort != sort.as_str() {
        return Err(bad());
    }
    match sort {
        Sort::Newest => {
            let (at, id) = pagination::decode_time_cursor(Some(&pagination::encode_cursor(rest)))
                .map_err(|_| bad())?
                .ok_or_else(bad)?;
            Ok(Position::ListedAt(at, id))
        }
        Sort::PriceAsc | Sort::PriceDesc => {
            let (cents, id) = rest.split_once('|').ok_or_else(bad)?;
            let price = cents
                .parse::<i64>()
                .ok()
                .and_then(|c| Money::from_cents(c).ok())
                .ok_or_else(bad)?;
            Ok(Position::Price(price, id.to_owned()))
        }
    }
}
