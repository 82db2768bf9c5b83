//! Events as stored, as shown, and as admins write them.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

use crate::db::schema::{event_registrations, events};
use crate::validation::non_blank;

/// A row of `events`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = events)]
pub struct EventRow {
    pub id: String,
    pub title_en: String,
    pub title_zh: String,
    pub description_en: String,
    pub description_zh: String,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub venue_en: Option<String>,
    pub venue_zh: Option<String>,
    pub online_url: Option<String>,
    pub language: String,
    pub capacity: i64,
    pub confirmed_count: i64,
    pub waitlisted_count: i64,
    pub registration_closes_at: NaiveDateTime,
    pub audience: String,
    pub status: String,
    pub sequence: i64,
    pub cancel_reason: Option<String>,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A row of `event_registrations`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = event_registrations)]
pub struct RegistrationRow {
    pub id: String,
    pub event_id: String,
    pub user_id: String,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub attended_at: Option<NaiveDateTime>,
}

/// The language an event is held in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventLanguage {
    En,
    Zh,
    Bilingual,
}

impl EventLanguage {
    pub fn as_str(self) -> &'static str {
        match self {
            EventLanguage::En => "en",
            EventLanguage::Zh => "zh",
            EventLanguage::Bilingual => "bilingual",
        }
    }
}

/// Who an event is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    Sme,
    Vendor,
    All,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Sme => "sme",
            Audience::Vendor => "vendor",
            Audience::All => "all",
        }
    }
}

/// An event as everyone sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Event {
    pub id: String,
    pub title_en: String,
    pub title_zh: String,
    pub description_en: String,
    pub description_zh: String,
    #[schema(value_type = String, example = "2026-12-10T06:30:00Z")]
    #[serde(serialize_with = "crate::time::serialize")]
    pub starts_at: NaiveDateTime,
    #[schema(value_type = String, example = "2026-12-10T08:30:00Z")]
    #[serde(serialize_with = "crate::time::serialize")]
    pub ends_at: NaiveDateTime,
    pub venue_en: Option<String>,
    pub venue_zh: Option<String>,
    pub online_url: Option<String>,
    /// `en`, `zh` or `bilingual`.
    #[schema(example = "bilingual")]
    pub language: String,
    pub capacity: i64,
    pub confirmed_count: i64,
    pub waitlisted_count: i64,
    #[schema(value_type = String, example = "2026-12-09T16:00:00Z")]
    #[serde(serialize_with = "crate::time::serialize")]
    pub registration_closes_at: NaiveDateTime,
    /// `sme`, `vendor` or `all`.
    #[schema(example = "sme")]
    pub audience: String,
    /// Category codes.
    pub topics: Vec<String>,
    /// `scheduled` or `cancelled`.
    #[schema(example = "scheduled")]
    pub status: String,
}

impl Event {
    pub fn of(row: EventRow, topics: Vec<String>) -> Event {
        Event {
            id: row.id,
            title_en: row.title_en,
            title_zh: row.title_zh,
            description_en: row.description_en,
            description_zh: row.description_zh,
            starts_at: row.starts_at,
            ends_at: row.ends_at,
            venue_en: row.venue_en,
            venue_zh: row.venue_zh,
            online_url: row.online_url,
            language: row.language,
            capacity: row.capacity,
            confirmed_count: row.confirmed_count,
            waitlisted_count: row.waitlisted_count,
            registration_closes_at: row.registration_closes_at,
            audience: row.audience,
            topics,
            status: row.status,
        }
    }
}

/// The most seats an event may have.
pub const MAX_CAPACITY: i64 = 100_000;

/// Up to 10 category codes.
fn topics_schema() -> utoipa::openapi::schema::Array {
    crate::validation::short_strings(0, 10, serde_json::json!(["e_payment_pos"]))
}

/// An `http` or `https` address.
fn web_address(value: &str) -> Result<(), ValidationError> {
    let ok = (value.starts_with("https://") || value.starts_with("http://"))
        && value.len() > "https://".len()
        && !value.chars().any(char::is_whitespace);
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new("url").with_message("must be an http or https address".into()))
    }
}

/// `POST /admin/events`, and `PATCH /admin/events/{id}` (the whole form again).
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventForm {
    #[validate(length(min = 1, max = 200), custom(function = non_blank))]
    #[schema(
        example = "Going cashless: e-payments for restaurants",
        max_length = 200
    )]
    pub title_en: String,
    #[validate(length(min = 1, max = 200), custom(function = non_blank))]
    #[schema(example = "餐廳無現金支付講座", max_length = 200)]
    pub title_zh: String,
    #[validate(length(min = 1, max = 5000), custom(function = non_blank))]
    #[schema(max_length = 5000)]
    pub description_en: String,
    #[validate(length(min = 1, max = 5000), custom(function = non_blank))]
    #[schema(max_length = 5000)]
    pub description_zh: String,
    #[schema(value_type = String, example = "2026-12-10T06:30:00Z")]
    pub starts_at: DateTime<Utc>,
    /// After `starts_at`.
    #[schema(value_type = String, example = "2026-12-10T08:30:00Z")]
    pub ends_at: DateTime<Utc>,
    /// The venue in English, or `null` for an online event. Every field of the form is sent,
    /// `null` where there is nothing to say: the form is always whole.
    #[validate(length(min = 1, max = 300), custom(function = non_blank))]
    #[serde(deserialize_with = "Option::deserialize")]
    #[schema(required = true, example = "Cyberport 1, Auditorium", max_length = 300)]
    pub venue_en: Option<String>,
    /// The venue in Chinese: given exactly when `venue_en` is.
    #[validate(length(min = 1, max = 300), custom(function = non_blank))]
    #[serde(deserialize_with = "Option::deserialize")]
    #[schema(required = true, example = "數碼港一座演講廳", max_length = 300)]
    pub venue_zh: Option<String>,
    /// The link to join online, or `null`; required when there is no venue.
    #[validate(length(min = 1, max = 500), custom(function = web_address))]
    #[serde(deserialize_with = "Option::deserialize")]
    #[schema(
        required = true,
        example = "https://meet.example.org/dtspp-seminar",
        max_length = 500
    )]
    pub online_url: Option<String>,
    pub language: EventLanguage,
    #[validate(range(min = 1, max = MAX_CAPACITY))]
    #[schema(minimum = 1, maximum = 100000, example = 120)]
    pub capacity: i64,
    /// At or before `starts_at`.
    #[schema(value_type = String, example = "2026-12-09T16:00:00Z")]
    pub registration_closes_at: DateTime<Utc>,
    pub audience: Audience,
    /// Category codes from `GET /api/v1/programme`; may be empty.
    #[validate(length(max = 10))]
    #[schema(schema_with = topics_schema)]
    pub topics: Vec<String>,
}

/// A registration as its owner sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Registration {
    pub id: String,
    pub event_id: String,
    /// `confirmed`, `waitlisted` or `cancelled`.
    #[schema(example = "confirmed")]
    pub status: String,
}

/// One of the caller's registrations, with its event.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyRegistration {
    pub id: String,
    pub event_id: String,
    #[schema(example = "waitlisted")]
    pub status: String,
    pub title_en: String,
    pub title_zh: String,
    #[schema(value_type = String)]
    #[serde(serialize_with = "crate::time::serialize")]
    pub starts_at: NaiveDateTime,
    /// The event's own status: `scheduled` or `cancelled`.
    pub event_status: String,
    #[schema(value_type = String)]
    #[serde(serialize_with = "crate::time::serialize")]
    pub registered_at: NaiveDateTime,
}

/// A registration as admins see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AdminRegistration {
    pub id: String,
    pub user_id: String,
    pub email: String,
    /// `sme` or `vendor`.
    pub role: String,
    /// The SME's or vendor's name in English.
    pub organisation: Option<String>,
    pub status: String,
    #[schema(value_type = String)]
    #[serde(serialize_with = "crate::time::serialize")]
    pub registered_at: NaiveDateTime,
    #[schema(value_type = Option<String>)]
    #[serde(serialize_with = "crate::time::serialize_option")]
    pub attended_at: Option<NaiveDateTime>,
}
