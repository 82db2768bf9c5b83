//! Seminars and events: the public listing, detail and calendar file; registration by SMEs and
//! vendors; and the admins' scheduling, cancelling, attendee lists and attendance.

use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use super::model::{
    AdminRegistration, Event, EventForm, EventRow, MyRegistration, Registration, RegistrationRow,
};
use super::store::not_found;
use super::{ics, store};
use crate::audit::{self, NewEvent};
use crate::auth::{AdminUser, AuthUser, RequestMeta, Role};
use crate::db::{Db, DbConnection};
use crate::error::{ApiError, responses};
use crate::extract::ValidJson;
use crate::reports::csv_out::{self, Cell, CsvRow};
use crate::reports::routes::Format;
use crate::text_enum::text_enum;
use crate::validation::non_blank;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_events)
        .service(get_event)
        .service(event_calendar)
        .service(register)
        .service(cancel_registration)
        .service(my_registrations)
        .service(create_event)
        .service(update_event)
        .service(cancel_event)
        .service(event_registrations)
        .service(mark_attendance)
        .service(attendance_report)
        .service(sme_attendance);
}

fn view(conn: &mut DbConnection, row: EventRow) -> Result<Event, ApiError> {
    let mut topics = store::topics_of(conn, std::slice::from_ref(&row.id))?;
    let mine = topics.remove(&row.id).unwrap_or_default();
    Ok(Event::of(row, mine))
}

/// Which events to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    /// Events still running at or after this time (RFC 3339); now by default.
    #[param(value_type = Option<String>, example = "2026-12-01T00:00:00Z")]
    pub from: Option<String>,
    /// Only events on this category code.
    #[param(example = "e_payment_pos")]
    pub topic: Option<String>,
    /// `en`, `zh` or `bilingual`.
    #[param(example = "bilingual")]
    pub language: Option<String>,
}

/// A listing of events.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventList {
    /// Soonest first; at most 100.
    pub items: Vec<Event>,
}

/// Upcoming seminars and events (cancelled ones too, marked so), soonest first.
#[utoipa::path(
    tag = "events",
    params(EventQuery),
    responses(
        (status = 200, description = "The events.", body = EventList),
        (status = 422, response = responses::ValidationFailed),
    )
)]
#[get("/api/v1/events")]
pub async fn list_events(
    db: web::Data<Db>,
    query: web::Query<EventQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let from = match query.from.as_deref() {
        Some(text) => DateTime::parse_from_rfc3339(text)
            .map_err(|_| ApiError::invalid("from", "must be an RFC 3339 time"))?
            .with_timezone(&Utc)
            .naive_utc(),
        None => crate::time::now(),
    };
    if let Some(language) = &query.language
        && !["en", "zh", "bilingual"].contains(&language.as_str())
    {
        return Err(ApiError::invalid("language", "must be en, zh or bilingual"));
    }
    let items = db
        .run(move |conn| {
            if let Some(topic) = &query.topic
                && crate::programme::store::category_active(conn, topic)?.is_none()
            {
                return Err(ApiError::invalid("topic", "is not a category code"));
            }
            let rows = store::list(
                conn,
                &store::Filter {
                    from,
                    topic: query.topic,
                    language: query.language,
                },
            )?;
            let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
            let mut topics = store::topics_of(conn, &ids)?;
            Ok(rows
                .into_iter()
                .map(|row| {
                    let mine = topics.remove(&row.id).unwrap_or_default();
                    Event::of(row, mine)
                })
                .collect())
        })
        .await?;
    Ok(HttpResponse::Ok().json(EventList { items }))
}

/// One event.
#[utoipa::path(
    tag = "events",
    params(("id" = String, Path, description = "The event's id.")),
    responses(
        (status = 200, description = "The event.", body = Event),
        (status = 404, response = responses::NotFound),
    )
)]
#[get("/api/v1/events/{id}")]
pub async fn get_event(db: web::Data<Db>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let event = db
        .run(move |conn| {
            let row = store::find(conn, &id)?.ok_or_else(not_found)?;
            view(conn, row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(event))
}

/// The event as an RFC 5545 calendar with one VEVENT, to add to a calendar.
#[utoipa::path(
    tag = "events",
    params(("id" = String, Path, description = "The event's id.")),
    responses(
        (status = 200, description = "The calendar.", content_type = "text/calendar", body = String),
        (status = 404, response = responses::NotFound),
    )
)]
#[get("/api/v1/events/{id}/calendar.ics")]
pub async fn event_calendar(
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let row = db
        .run(move |conn| store::find(conn, &id)?.ok_or_else(not_found))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type(ics::CONTENT_TYPE)
        .insert_header((
            header::CONTENT_DISPOSITION,
            ContentDisposition {
                disposition: DispositionType::Attachment,
                parameters: vec![DispositionParam::Filename(format!("event-{}.ics", row.id))],
            },
        ))
        .body(ics::calendar(&row)))
}

fn registration(row: RegistrationRow) -> Registration {
    Registration {
        id: row.id,
        event_id: row.event_id,
        status: row.status,
    }
}

/// Register for an event (SMEs and vendors, as its audience allows): `confirmed` while seats
/// are free, `waitlisted` after. The confirmation email carries the calendar invitation.
#[utoipa::path(
    tag = "events",
    params(("id" = String, Path, description = "The event's id.")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Registered.", body = Registration),
        (status = 401, response = responses::Unauthorized),
        (status = 403, response = responses::Forbidden),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
    )
)]
#[post("/api/v1/events/{id}/registrations")]
pub async fn register(
    db: web::Data<Db>,
    user: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if !matches!(user.role, Role::Sme | Role::Vendor) {
        return Err(ApiError::Forbidden(
            "Only SMEs and vendors register for events.".to_owned(),
        ));
    }
    let id = id.into_inner();
    let row = db
        .write(move |tx| store::register(tx, &id, &user.user_id, user.role))
        .await?;
    Ok(HttpResponse::Created().json(registration(row)))
}

/// Cancel the caller's registration; a confirmed seat goes to the first on the waitlist.
#[utoipa::path(
    tag = "events",
    params(("id" = String, Path, description = "The event's id.")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Cancelled.", body = Registration),
        (status = 401, response = responses::Unauthorized),
        (status = 404, response = responses::NotFound),
    )
)]
#[delete("/api/v1/events/{id}/registrations/mine")]
pub async fn cancel_registration(
    db: web::Data<Db>,
    user: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let row = db
        .write(move |tx| store::cancel_registration(tx, &id, &user.user_id))
        .await?;
    Ok(HttpResponse::Ok().json(registration(row)))
}

/// The caller's registrations.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyRegistrations {
    /// Newest first.
    pub items: Vec<MyRegistration>,
}

/// The caller's registrations, with their events.
#[utoipa::path(
    tag = "events",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The registrations.", body = MyRegistrations),
        (status = 401, response = responses::Unauthorized),
    )
)]
#[get("/api/v1/me/registrations")]
pub async fn my_registrations(db: web::Data<Db>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    let rows = db
        .run(move |conn| Ok(store::mine(conn, &user.user_id)?))
        .await?;
    let items = rows
        .into_iter()
        .map(|(r, e)| MyRegistration {
            id: r.id,
            event_id: r.event_id,
            status: r.status,
            title_en: e.title_en,
            title_zh: e.title_zh,
            starts_at: e.starts_at,
            event_status: e.status,
            registered_at: r.created_at,
        })
        .collect();
    Ok(HttpResponse::Ok().json(MyRegistrations { items }))
}

/// Schedule an event.
#[utoipa::path(
    tag = "events",
    request_body = EventForm,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Scheduled.", body = Event),
        (status = 401, response = responses::Unauthorized),
        (status = 403, response = responses::Forbidden),
        (status = 422, response = responses::ValidationFailed),
    )
)]
#[post("/api/v1/admin/events")]
pub async fn create_event(
    db: web::Data<Db>,
    admin: AdminUser,
    meta: RequestMeta,
    body: ValidJson<EventForm>,
) -> Result<HttpResponse, ApiError> {
    let form = body.into_inner();
    let event = db
        .write(move |tx| {
            let id = store::create(tx, &form, Some(&admin.0.user_id))?;
            let row = store::find(tx, &id)?.ok_or_else(not_found)?;
            let event = view(tx, row)?;
            audit::record(
                tx,
                &meta,
                NewEvent::new("event.created", "event", Some(&id))
                    .by(&admin.0.user_id, admin.0.role)
                    .after(&event),
            )?;
            Ok(event)
        })
        .await?;
    Ok(HttpResponse::Created().json(event))
}

/// Edit an event: the whole form again. Its calendar SEQUENCE rises; confirmed registrants get
/// the new invitation when the time or place changed; a larger capacity confirms the waitlist
/// in order; a capacity below the seats confirmed is a 409.
#[utoipa::path(
    tag = "events",
    params(("id" = String, Path, description = "The event's id.")),
    request_body = EventForm,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated.", body = Event),
        (status = 401, response = responses::Unauthorized),
        (status = 403, response = responses::Forbidden),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
        (status = 422, response = responses::ValidationFailed),
    )
)]
#[patch("/api/v1/admin/events/{id}")]
pub async fn update_event(
    db: web::Data<Db>,
    admin: AdminUser,
    meta: RequestMeta,
    id: web::Path<String>,
    body: ValidJson<EventForm>,
) -> Result<HttpResponse, ApiError> {
    let (id, form) = (id.into_inner(), body.into_inner());
    let event = db
        .write(move |tx| {
            let before = store::find(tx, &id)?.ok_or_else(not_found)?;
            let before = view(tx, before)?;
            store::update(tx, &id, &form)?;
            let row = store::find(tx, &id)?.ok_or_else(not_found)?;
            let event = view(tx, row)?;
            audit::record(
                tx,
                &meta,
                NewEvent::new("event.updated", "event", Some(&id))
                    .by(&admin.0.user_id, admin.0.role)
                    .before(&before)
                    .after(&event),
            )?;
            Ok(event)
        })
        .await?;
    Ok(HttpResponse::Ok().json(event))
}

/// Why an event is cancelled.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelEvent {
    /// Told to every registrant.
    #[validate(length(min = 1, max = 1000), custom(function = non_blank))]
    #[schema(
        example = "The speaker is unwell; we will reschedule.",
        max_length = 1000
    )]
    pub reason: String,
}

/// Cancel an event: every confirmed and waitlisted registrant is emailed, with the calendar
/// file that removes it.
#[utoipa::path(
    tag = "events",
    params(("id" = String, Path, description = "The event's id.")),
    request_body = CancelEvent,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Cancelled.", body = Event),
        (status = 401, response = responses::Unauthorized),
        (status = 403, response = responses::Forbidden),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
        (status = 422, response = responses::ValidationFailed),
    )
)]
#[post("/api/v1/admin/events/{id}/cancel")]
pub async fn cancel_event(
    db: web::Data<Db>,
    admin: AdminUser,
    meta: RequestMeta,
    id: web::Path<String>,
    body: ValidJson<CancelEvent>,
) -> Result<HttpResponse, ApiError> {
    let (id, reason) = (id.into_inner(), body.into_inner().reason);
    let event = db
        .write(move |tx| {
            let row = store::cancel(tx, &id, &reason)?;
            let event = view(tx, row)?;
            audit::record(
                tx,
                &meta,
                NewEvent::new("event.cancelled", "event", Some(&id))
                    .by(&admin.0.user_id, admin.0.role)
                    .after(serde_json::json!({"event": &event, "reason": &reason})),
            )?;
            Ok(event)
        })
        .await?;
    Ok(HttpResponse::Ok().json(event))
}

/// How to list an event's registrations.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RegistrationsQuery {
    /// `json` (the default) or `csv`.
    #[param(example = "csv")]
    pub format: Option<String>,
}

/// An event's registrations.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminRegistrations {
    /// In order of arrival.
    pub items: Vec<AdminRegistration>,
}

impl CsvRow for AdminRegistration {
    fn cells(&self) -> Vec<Cell<'_>> {
        vec![
            Cell::plain(self.id.as_str()),
            Cell::Text(&self.email),
            Cell::plain(self.role.as_str()),
            Cell::Text(self.organisation.as_deref().unwrap_or("")),
            Cell::plain(self.status.as_str()),
            Cell::plain(crate::time::rfc3339(self.registered_at)),
            Cell::plain(
                self.attended_at
                    .map(crate::time::rfc3339)
                    .unwrap_or_default(),
            ),
        ]
    }
}

const REGISTRATION_HEADER: &[&str] = &[
    "registration_id",
    "email",
    "role",
    "organisation",
    "status",
    "registered_at",
    "attended_at",
];

/// An event's registrations, attended or not: JSON, or CSV (UTF-8 with a BOM, formula-safe) as
/// an attachment.
#[utoipa::path(
    tag = "events",
    params(("id" = String, Path, description = "The event's id."), RegistrationsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The registrations: JSON, or CSV (UTF-8 with a BOM) as an attachment.",
         content(
            (AdminRegistrations = "application/json"),
            (String = "text/csv"),
         )),
        (status = 401, response = responses::Unauthorized),
        (status = 403, response = responses::Forbidden),
        (status = 404, response = responses::NotFound),
        (status = 422, response = responses::ValidationFailed),
    )
)]
#[get("/api/v1/admin/events/{id}/registrations")]
pub async fn event_registrations(
    db: web::Data<Db>,
    _admin: AdminUser,
    id: web::Path<String>,
    query: web::Query<RegistrationsQuery>,
) -> Result<HttpResponse, ApiError> {
    let format = match query.into_inner().format.as_deref() {
        None => Format::Json,
        Some(text) => text
            .parse::<Format>()
            .map_err(|m| ApiError::invalid("format", m))?,
    };
    let id = id.into_inner();
    let event_id = id.clone();
    let items: Vec<AdminRegistration> = db
        .run(move |conn| {
            store::find(conn, &id)?.ok_or_else(not_found)?;
            Ok(store::registrations(conn, &id)?
                .into_iter()
                .map(|(r, email, role, organisation)| AdminRegistration {
                    id: r.id,
                    user_id: r.user_id,
                    email,
                    role,
                    organisation,
                    status: r.status,
                    registered_at: r.created_at,
                    attended_at: r.attended_at,
                })
                .collect())
        })
        .await?;
    Ok(match format {
        Format::Json => HttpResponse::Ok().json(AdminRegistrations { items }),
        Format::Csv => csv_out::response(
            &format!("dtspp-event-{event_id}-registrations.csv"),
            csv_out::stream_rows(REGISTRATION_HEADER, items),
        ),
    })
}

/// The most registrations marked in one request.
const MAX_MARKED: usize = 200;

/// One to 200 registration ids.
fn registration_ids_schema() -> utoipa::openapi::schema::Array {
    crate::validation::short_strings(
        1,
        MAX_MARKED,
        serde_json::json!(["0b1d7a52-5c1e-4f7e-9a55-0d6c3f1e2b44"]),
    )
}

/// Who attended.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Attendance {
    /// Confirmed registrations of this event, at most 200 at a time.
    #[validate(length(min = 1, max = 200))]
    #[schema(schema_with = registration_ids_schema)]
    pub registration_ids: Vec<String>,
}

/// How many registrations were newly marked.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttendanceMarked {
    pub marked: usize,
}

/// Mark confirmed registrations as attended (a second mark keeps the first time).
#[utoipa::path(
    tag = "events",
    params(("id" = String, Path, description = "The event's id.")),
    request_body = Attendance,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Marked.", body = AttendanceMarked),
        (status = 401, response = responses::Unauthorized),
        (status = 403, response = responses::Forbidden),
        (status = 404, response = responses::NotFound),
        (status = 422, response = responses::ValidationFailed),
    )
)]
#[post("/api/v1/admin/events/{id}/attendance")]
pub async fn mark_attendance(
    db: web::Data<Db>,
    admin: AdminUser,
    meta: RequestMeta,
    id: web::Path<String>,
    body: ValidJson<Attendance>,
) -> Result<HttpResponse, ApiError> {
    let (id, ids) = (id.into_inner(), body.into_inner().registration_ids);
    let marked = db
        .write(move |tx| {
            let marked = store::mark_attended(tx, &id, &ids)?;
            audit::record(
                tx,
                &meta,
                NewEvent::new("event.attendance_marked", "event", Some(&id))
                    .by(&admin.0.user_id, admin.0.role)
                    .after(serde_json::json!({"registration_ids": ids, "marked": marked})),
            )?;
            Ok(marked)
        })
        .await?;
    Ok(HttpResponse::Ok().json(AttendanceMarked { marked }))
}

text_enum! {
    /// How the attendance report groups.
    pub enum AttendanceGroup {
        Event => "event",
        Topic => "topic",
    }
}

/// The attendance report's options.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AttendanceQuery {
    /// `event` (the default) or `topic` (an event counts under each of its topics).
    #[param(example = "topic")]
    pub by: Option<String>,
}

/// One group of the attendance report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttendanceRow {
    /// The event's id, or the topic's category code.
    pub key: String,
    pub label_en: String,
    pub label_zh: String,
    /// Events in the group (1 for an event).
    pub events: i64,
    /// Cancelled events among them.
    pub cancelled: i64,
    pub capacity: i64,
    pub confirmed: i64,
    pub waitlisted: i64,
    /// Confirmed registrants marked as attended.
    pub attended: i64,
}

/// Attendance by event or by topic.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttendanceReport {
    /// `event` or `topic`.
    pub by: String,
    /// By event: the latest first (at most 1,000 events). By topic: in the programme's order.
    pub rows: Vec<AttendanceRow>,
}

/// Attendance by event or by topic, so that outreach can be followed.
#[utoipa::path(
    tag = "events",
    params(AttendanceQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The report.", body = AttendanceReport),
        (status = 401, response = responses::Unauthorized),
        (status = 403, response = responses::Forbidden),
        (status = 422, response = responses::ValidationFailed),
    )
)]
#[get("/api/v1/admin/reports/attendance")]
pub async fn attendance_report(
    db: web::Data<Db>,
    _admin: AdminUser,
    query: web::Query<AttendanceQuery>,
) -> Result<HttpResponse, ApiError> {
    let by = match query.into_inner().by.as_deref() {
        None => AttendanceGroup::Event,
        Some(text) => text
            .parse::<AttendanceGroup>()
            .map_err(|m| ApiError::invalid("by", m))?,
    };
    let rows = db
        .run(move |conn| {
            let events = store::attendance_by_event(conn)?;
            let row_of = |e: &EventRow, attended: i64| AttendanceRow {
                key: e.id.clone(),
                label_en: e.title_en.clone(),
                label_zh: e.title_zh.clone(),
                events: 1,
                cancelled: i64::from(e.status == store::CANCELLED),
                capacity: e.capacity,
                confirmed: e.confirmed_count,
                waitlisted: e.waitlisted_count,
                attended,
            };
            if by == AttendanceGroup::Event {
                return Ok(events.iter().map(|(e, n)| row_of(e, *n)).collect());
            }
            let ids: Vec<String> = events.iter().map(|(e, _)| e.id.clone()).collect();
            let topics = store::topics_of(conn, &ids)?;
            let categories = crate::programme::store::categories(conn)?;
            Ok(categories
                .iter()
                .map(|c| {
                    let mut row = AttendanceRow {
                        key: c.code.clone(),
                        label_en: c.name_en.clone(),
                        label_zh: c.name_zh.clone(),
                        events: 0,
                        cancelled: 0,
                        capacity: 0,
                        confirmed: 0,
                        waitlisted: 0,
                        attended: 0,
                    };
                    for (e, n) in &events {
                        if topics.get(&e.id).is_some_and(|t| t.contains(&c.code)) {
                            let one = row_of(e, *n);
                            row.events += 1;
                            row.cancelled += one.cancelled;
                            row.capacity += one.capacity;
                            row.confirmed += one.confirmed;
                            row.waitlisted += one.waitlisted;
                            row.attended += one.attended;
                        }
                    }
                    row
                })
                .collect())
        })
        .await?;
    Ok(HttpResponse::Ok().json(AttendanceReport {
        by: by.as_str().to_owned(),
        rows,
    }))
}

/// One of an SME's registrations, as its admin view shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SmeRegistration {
    #[serde(flatten)]
    pub registration: MyRegistration,
    #[schema(value_type = Option<String>)]
    #[serde(serialize_with = "crate::time::serialize_option")]
    pub attended_at: Option<chrono::NaiveDateTime>,
}

/// An SME's seminars: what it registered for and what it attended.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SmeAttendance {
    pub sme_id: String,
    /// Events it was marked as attending.
    pub events_attended: usize,
    /// Newest first.
    pub registrations: Vec<SmeRegistration>,
}

/// An SME's event registrations and attendance, for outreach to follow.
#[utoipa::path(
    tag = "events",
    params(("id" = String, Path, description = "The SME's id.")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The SME's registrations.", body = SmeAttendance),
        (status = 401, response = responses::Unauthorized),
        (status = 403, response = responses::Forbidden),
        (status = 404, response = responses::NotFound),
    )
)]
#[get("/api/v1/admin/smes/{id}/attendance")]
pub async fn sme_attendance(
    db: web::Data<Db>,
    _admin: AdminUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let sme_id = id.into_inner();
    let lookup = sme_id.clone();
    let rows = db
        .run(move |conn| {
            store::sme_registrations(conn, &lookup)?
                .ok_or_else(|| ApiError::NotFound("No SME has this id.".to_owned()))
        })
        .await?;
    let registrations: Vec<SmeRegistration> = rows
        .into_iter()
        .map(|(r, e)| SmeRegistration {
            attended_at: r.attended_at,
            registration: MyRegistration {
                id: r.id,
                event_id: r.event_id,
                status: r.status,
                title_en: e.title_en,
                title_zh: e.title_zh,
                starts_at: e.starts_at,
                event_status: e.status,
                registered_at: r.created_at,
            },
        })
        .collect();
    Ok(HttpResponse::Ok().json(SmeAttendance {
        sme_id,
        events_attended: registrations
            .iter()
            .filter(|r| r.attended_at.is_some())
            .count(),
        registrations,
    }))
}
