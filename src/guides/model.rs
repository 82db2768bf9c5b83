//! Guides as stored, as shown, and as admins write them.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

use crate::db::schema::guides;
use crate::validation::non_blank;

/// The longest Markdown text accepted, in characters, per language.
pub const MAX_BODY: u64 = 20_000;
/// The largest request body a guide's form is read from: every form within its schema's
/// lengths fits, even at 12 bytes a character (astral characters as JSON escapes).
pub const FORM_BODY_LIMIT: usize = 1024 * 1024;
/// The most categories or sectors one guide is tagged with.
pub const MAX_TAGS: u64 = 20;

/// A row of `guides`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = guides)]
pub struct GuideRow {
    pub slug: String,
    pub title_en: String,
    pub title_zh: String,
    pub body_markdown_en: String,
    pub body_markdown_zh: String,
    pub body_html_en: String,
    pub body_html_zh: String,
    pub search_document: String,
    pub published_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub author_id: Option<String>,
}

/// A guide as everyone sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Guide {
    #[schema(example = "choosing-a-pos")]
    pub slug: String,
    pub title_en: String,
    pub title_zh: String,
    /// Sanitised HTML rendered from the English Markdown.
    pub body_html_en: String,
    /// Sanitised HTML rendered from the Chinese Markdown.
    pub body_html_zh: String,
    /// Category codes.
    pub categories: Vec<String>,
    /// Sector codes.
    pub sectors: Vec<String>,
    #[schema(value_type = String, example = "2026-01-31T09:00:00Z")]
    #[serde(serialize_with = "crate::time::serialize")]
    pub published_at: NaiveDateTime,
    #[schema(value_type = String, example = "2026-02-03T09:00:00Z")]
    #[serde(serialize_with = "crate::time::serialize")]
    pub updated_at: NaiveDateTime,
}

/// A guide as its admins see it: the Markdown they wrote beside what it renders to.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AdminGuide {
    #[serde(flatten)]
    pub guide: Guide,
    pub body_markdown_en: String,
    pub body_markdown_zh: String,
}

/// Lower-case letters and digits in words joined by single hyphens.
fn slug(value: &str) -> Result<(), ValidationError> {
    let ok = !value.is_empty()
        && value.split('-').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new("slug").with_message(
            "must be lower-case letters and digits in words joined by single hyphens".into(),
        ))
    }
}

/// Up to 20 category codes.
fn category_tags() -> utoipa::openapi::schema::Array {
    crate::validation::short_strings(0, 20, serde_json::json!(["e_payment_pos"]))
}

/// Up to 20 sector codes.
fn sector_tags() -> utoipa::openapi::schema::Array {
    crate::validation::short_strings(0, 20, serde_json::json!(["food_and_beverage"]))
}

/// `POST /admin/guides`, and `PATCH /admin/guides/{slug}` (with the same slug: a guide's slug
/// is its address and does not change).
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GuideForm {
    #[validate(length(min = 1, max = 80), custom(function = slug))]
    #[schema(
        example = "choosing-a-pos",
        pattern = "^[a-z0-9]+(-[a-z0-9]+)*$",
        max_length = 80
    )]
    pub slug: String,
    #[validate(length(min = 1, max = 200), custom(function = non_blank))]
    #[schema(example = "Choosing a POS system", max_length = 200)]
    pub title_en: String,
    #[validate(length(min = 1, max = 200), custom(function = non_blank))]
    #[schema(example = "如何揀選收銀系統", max_length = 200)]
    pub title_zh: String,
    #[validate(length(min = 1, max = MAX_BODY), custom(function = non_blank))]
    #[schema(
        example = "# Choosing a POS\n\nStart from what you sell…",
        max_length = 20000
    )]
    pub body_markdown_en: String,
    #[validate(length(min = 1, max = MAX_BODY), custom(function = non_blank))]
    #[schema(example = "# 揀選收銀系統\n\n先想清楚你賣甚麼…", max_length = 20000)]
    pub body_markdown_zh: String,
    /// Category codes from `GET /api/v1/programme`; may be empty, never left out (the form is
    /// always whole).
    #[validate(length(max = MAX_TAGS))]
    #[schema(schema_with = category_tags)]
    pub categories: Vec<String>,
    /// Sector codes from `GET /api/v1/programme`; may be empty, never left out.
    #[validate(length(max = MAX_TAGS))]
    #[schema(schema_with = sector_tags)]
    pub sectors: Vec<String>,
}

/// A link to a guide, as the solution finder gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct GuideLink {
    #[schema(example = "choosing-a-pos")]
    pub slug: String,
    pub title_en: String,
    pub title_zh: String,
    /// Where to read it.
    #[schema(example = "/api/v1/guides/choosing-a-pos")]
    pub url: String,
}
