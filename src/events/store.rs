//! Events and registrations in the database. Every change to an event's registrations locks the
//! event's row first ([`crate::db::lock_row`]) and changes its seat counts in the same
//! transaction, so that the counts and the registrations always agree and exactly `capacity`
//! are confirmed however many register at once.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::emails;
use super::model::{EventForm, EventRow, RegistrationRow};
use crate::auth::Role;
use crate::db::DbConnection;
use crate::db::schema::{event_registrations, event_topics, events, smes, users, vendors};
use crate::error::ApiError;
use crate::outbox;

pub const SCHEDULED: &str = "scheduled";
pub const CANCELLED: &str = "cancelled";
pub const CONFIRMED: &str = "confirmed";
pub const WAITLISTED: &str = "waitlisted";
pub const CANCELLED_REGISTRATION: &str = "cancelled";

/// The most events one listing holds.
pub const MAX_LISTED: i64 = 100;

pub fn not_found() -> ApiError {
    ApiError::NotFound("No event has this id.".to_owned())
}

/// The event `id`, if any.
pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<EventRow>> {
    events::table
        .find(id)
        .select(EventRow::as_select())
        .first(conn)
        .optional()
}

/// The event `id` with its row locked until the transaction ends; 404 when there is none.
fn locked(conn: &mut DbConnection, id: &str) -> Result<EventRow, ApiError> {
    crate::db::lock_row(conn, "events", id)?;
    find(conn, id)?.ok_or_else(not_found)
}

/// Each event's topics.
pub fn topics_of(
    conn: &mut DbConnection,
    ids: &[String],
) -> QueryResult<BTreeMap<String, Vec<String>>> {
    let rows: Vec<(String, String)> = event_topics::table
        .filter(event_topics::event_id.eq_any(ids))
        .order((event_topics::event_id, event_topics::code))
        .select((event_topics::event_id, event_topics::code))
        .load(conn)?;
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (id, code) in rows {
        out.entry(id).or_default().push(code);
    }
    Ok(out)
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Events ending at or after this time.
    pub from: NaiveDateTime,
    pub topic: Option<String>,
    pub language: Option<String>,
}

/// Events matching `filter`, soonest first; at most [`MAX_LISTED`].
pub fn list(conn: &mut DbConnection, filter: &Filter) -> QueryResult<Vec<EventRow>> {
    let mut q = events::table
        .filter(events::ends_at.ge(filter.from))
        .select(EventRow::as_select())
        .into_boxed();
    if let Some(topic) = &filter.topic {
        q = q.filter(
            events::id.eq_any(
                event_topics::table
                    .filter(event_topics::code.eq(topic.clone()))
                    .select(event_topics::event_id),
            ),
        );
    }
    if let Some(language) = &filter.language {
        q = q.filter(events::language.eq(language.clone()));
    }
    q.order((events::starts_at, events::id))
        .limit(MAX_LISTED)
        .load(conn)
}

/// Refuses topics that are not category codes, naming the field (`topics[1]`), and the
/// inconsistent times and places a form can hold.
pub fn check_form(conn: &mut DbConnection, form: &EventForm) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    for (i, code) in form.topics.iter().enumerate() {
        if crate::programme::store::category_active(conn, code)?.is_none() {
            errors.push(crate::error::FieldError::new(
                format!("topics[{i}]"),
                "is not a category code",
            ));
        } else if form.topics[..i].contains(code) {
            errors.push(crate::error::FieldError::new(
                format!("topics[{i}]"),
                "is given twice",
            ));
        }
    }
    if form.ends_at <= form.starts_at {
        errors.push(crate::error::FieldError::new(
            "ends_at",
            "must be after starts_at",
        ));
    }
    if form.registration_closes_at > form.starts_at {
        errors.push(crate::error::FieldError::new(
            "registration_closes_at",
            "must be at or before starts_at",
        ));
    }
    if form.venue_en.is_some() != form.venue_zh.is_some() {
        errors.push(crate::error::FieldError::new(
            "venue_zh",
            "a venue is given in both languages or not at all",
        ));
    }
    if form.venue_en.is_none() && form.online_url.is_none() {
        errors.push(crate::error::FieldError::new(
            "online_url",
            "is required when there is no venue",
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// The columns an admin's form sets, alike for scheduling and for editing.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = events)]
#[diesel(treat_none_as_null = true)]
struct FormColumns<'a> {
    title_en: &'a str,
    title_zh: &'a str,
    description_en: &'a str,
    description_zh: &'a str,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    venue_en: Option<&'a str>,
    venue_zh: Option<&'a str>,
    online_url: Option<&'a str>,
    language: &'a str,
    capacity: i64,
    registration_closes_at: NaiveDateTime,
    audience: &'a str,
}

impl<'a> FormColumns<'a> {
    fn of(form: &'a EventForm) -> FormColumns<'a> {
        FormColumns {
            title_en: &form.title_en,
            title_zh: &form.title_zh,
            description_en: &form.description_en,
            description_zh: &form.description_zh,
            starts_at: form.starts_at.naive_utc(),
            ends_at: form.ends_at.naive_utc(),
            venue_en: form.venue_en.as_deref(),
            venue_zh: form.venue_zh.as_deref(),
            online_url: form.online_url.as_deref(),
            language: form.language.as_str(),
            capacity: form.capacity,
            registration_closes_at: form.registration_closes_at.naive_utc(),
            audience: form.audience.as_str(),
        }
    }
}

fn set_topics(conn: &mut DbConnection, id: &str, topics: &[String]) -> QueryResult<()> {
    diesel::delete(event_topics::table.filter(event_topics::event_id.eq(id))).execute(conn)?;
    for code in topics {
        diesel::insert_into(event_topics::table)
            .values((event_topics::event_id.eq(id), event_topics::code.eq(code)))
            .execute(conn)?;
    }
    Ok(())
}

/// Creates a scheduled event from `form`; returns its id.
pub fn create(
    conn: &mut DbConnection,
    form: &EventForm,
    admin_id: Option<&str>,
) -> Result<String, ApiError> {
    check_form(conn, form)?;
    let id = uuid::Uuid::new_v4().to_string();
    let now = crate::time::now();
    diesel::insert_into(events::table)
        .values((
            FormColumns::of(form),
            events::id.eq(&id),
            events::status.eq(SCHEDULED),
            events::created_by.eq(admin_id),
            events::created_at.eq(now),
            events::updated_at.eq(now),
        ))
        .execute(conn)?;
    set_topics(conn, &id, &form.topics)?;
    Ok(id)
}

/// Replaces a scheduled event's details with `form`. The capacity may not drop below the
/// seats already confirmed (409); raised, it confirms the waitlist in order of arrival, and
/// each promoted registrant is emailed. Every confirmed registrant is sent the updated
/// invitation when the time or place changed.
pub fn update(conn: &mut DbConnection, id: &str, form: &EventForm) -> Result<(), ApiError> {
    let before = locked(conn, id)?;
    if before.status == CANCELLED {
        return Err(ApiError::Conflict(
            "This event is cancelled; it can no longer be edited.".to_owned(),
        ));
    }
    check_form(conn, form)?;
    if form.capacity < before.confirmed_count {
        return Err(ApiError::Conflict(format!(
            "{} registrations are confirmed; the capacity cannot drop below that.",
            before.confirmed_count
        )));
    }
    diesel::update(events::table.find(id))
        .set((
            FormColumns::of(form),
            events::sequence.eq(before.sequence + 1),
            events::updated_at.eq(crate::time::now()),
        ))
        .execute(conn)?;
    set_topics(conn, id, &form.topics)?;
    let after = find(conn, id)?.ok_or_else(not_found)?;
    let moved = (
        before.starts_at,
        before.ends_at,
        &before.venue_en,
        &before.online_url,
    ) != (
        after.starts_at,
        after.ends_at,
        &after.venue_en,
        &after.online_url,
    );
    if moved {
        for (_, email) in live_registrants(conn, id, &[CONFIRMED])? {
            outbox::enqueue_with_attachment(
                conn,
                emails::changed(&email, &after),
                emails::invitation(&after),
            )?;
        }
    }
    promote(conn, &after)?;
    Ok(())
}

/// Cancels a scheduled event and emails every confirmed and waitlisted registrant.
pub fn cancel(conn: &mut DbConnection, id: &str, reason: &str) -> Result<EventRow, ApiError> {
    let before = locked(conn, id)?;
    if before.status == CANCELLED {
        return Err(ApiError::Conflict(
            "This event is already cancelled.".to_owned(),
        ));
    }
    diesel::update(events::table.find(id))
        .set((
            events::status.eq(CANCELLED),
            events::cancel_reason.eq(reason),
            events::sequence.eq(before.sequence + 1),
            events::updated_at.eq(crate::time::now()),
        ))
        .execute(conn)?;
    let after = find(conn, id)?.ok_or_else(not_found)?;
    for (_, email) in live_registrants(conn, id, &[CONFIRMED, WAITLISTED])? {
        outbox::enqueue_with_attachment(
            conn,
            emails::cancelled(&email, &after, reason),
            emails::invitation(&after),
        )?;
    }
    Ok(after)
}

/// The registrations of `event_id` in `statuses`, with their emails, in order of arrival.
fn live_registrants(
    conn: &mut DbConnection,
    event_id: &str,
    statuses: &[&str],
) -> QueryResult<Vec<(RegistrationRow, String)>> {
    event_registrations::table
        .inner_join(users::table)
        .filter(event_registrations::event_id.eq(event_id))
        .filter(event_registrations::status.eq_any(statuses))
        .order((event_registrations::created_at, event_registrations::id))
        .select((RegistrationRow::as_select(), users::email))
        .load(conn)
}

/// Confirms the waitlist, in order of arrival, into the free seats of a scheduled event that
/// has not started, emailing each one promoted. The event's row must be locked.
fn promote(conn: &mut DbConnection, event: &EventRow) -> Result<usize, ApiError> {
    if event.status != SCHEDULED || event.starts_at <= crate::time::now() {
        return Ok(0);
    }
    let free = event.capacity - event.confirmed_count;
    if free <= 0 || event.waitlisted_count == 0 {
        return Ok(0);
    }
    let next: Vec<(RegistrationRow, String)> = event_registrations::table
        .inner_join(users::table)
        .filter(event_registrations::event_id.eq(&event.id))
        .filter(event_registrations::status.eq(WAITLISTED))
        .order((event_registrations::created_at, event_registrations::id))
        .limit(free)
        .select((RegistrationRow::as_select(), users::email))
        .load(conn)?;
    let now = crate::time::now();
    let promoted = i64::try_from(next.len()).unwrap_or(i64::MAX);
    for (registration, email) in &next {
        diesel::update(event_registrations::table.find(&registration.id))
            .set((
                event_registrations::status.eq(CONFIRMED),
                event_registrations::updated_at.eq(now),
            ))
            .execute(conn)?;
        outbox::enqueue_with_attachment(
            conn,
            emails::promoted(email, event),
            emails::invitation(event),
        )?;
    }
    diesel::update(events::table.find(&event.id))
        .set((
            events::confirmed_count.eq(events::confirmed_count + promoted),
            events::waitlisted_count.eq(events::waitlisted_count - promoted),
        ))
        .execute(conn)?;
    Ok(next.len())
}

/// Registers `user` for `event_id`: confirmed while seats are free, waitlisted after. 409 for
/// an event that is cancelled, started or closed to registration, or a second registration;
/// 403 for an event not meant for the caller's role. The confirmation carries the invitation.
pub fn register(
    conn: &mut DbConnection,
    event_id: &str,
    user_id: &str,
    role: Role,
) -> Result<RegistrationRow, ApiError> {
    let event = locked(conn, event_id)?;
    let now = crate::time::now();
    if event.status == CANCELLED {
        return Err(ApiError::Conflict("This event is cancelled.".to_owned()));
    }
    if event.starts_at <= now {
        return Err(ApiError::Conflict(
            "This event has already started.".to_owned(),
        ));
    }
    if event.registration_closes_at <= now {
        return Err(ApiError::Conflict(
            "Registration for this event has closed.".to_owned(),
        ));
    }
    let admitted = match event.audience.as_str() {
        "sme" => role == Role::Sme,
        "vendor" => role == Role::Vendor,
        _ => matches!(role, Role::Sme | Role::Vendor),
    };
    if !admitted {
        return Err(ApiError::Forbidden(format!(
            "This event is for the {} audience; the caller is {role}.",
            event.audience
        )));
    }
    let taken: i64 = event_registrations::table
        .filter(event_registrations::event_id.eq(event_id))
        .filter(event_registrations::user_id.eq(user_id))
        .filter(event_registrations::status.ne(CANCELLED_REGISTRATION))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(ApiError::Conflict(
            "You are already registered for this event.".to_owned(),
        ));
    }
    let status = if event.confirmed_count < event.capacity {
        CONFIRMED
    } else {
        WAITLISTED
    };
    let id = uuid::Uuid::new_v4().to_string();
    diesel::insert_into(event_registrations::table)
        .values((
            event_registrations::id.eq(&id),
            event_registrations::event_id.eq(event_id),
            event_registrations::user_id.eq(user_id),
            event_registrations::status.eq(status),
            event_registrations::created_at.eq(now),
            event_registrations::updated_at.eq(now),
        ))
        .execute(conn)?;
    if status == CONFIRMED {
        diesel::update(events::table.find(event_id))
            .set(events::confirmed_count.eq(events::confirmed_count + 1))
            .execute(conn)?;
    } else {
        diesel::update(events::table.find(event_id))
            .set(events::waitlisted_count.eq(events::waitlisted_count + 1))
            .execute(conn)?;
    }
    let email: String = users::table
        .find(user_id)
        .select(users::email)
        .first(conn)?;
    if status == CONFIRMED {
        outbox::enqueue_with_attachment(
            conn,
            emails::confirmed(&email, &event),
            emails::invitation(&event),
        )?;
    } else {
        outbox::enqueue(conn, emails::waitlisted(&email, &event))?;
    }
    event_registrations::table
        .find(&id)
        .select(RegistrationRow::as_select())
        .first(conn)
        .map_err(ApiError::from)
}

/// Cancels `user`'s live registration for `event_id` (404 when there is none). A confirmed
/// seat freed goes to the first on the waitlist.
pub fn cancel_registration(
    conn: &mut DbConnection,
    event_id: &str,
    user_id: &str,
) -> Result<RegistrationRow, ApiError> {
    let event = locked(conn, event_id)?;
    let mine: RegistrationRow = event_registrations::table
        .filter(event_registrations::event_id.eq(event_id))
        .filter(event_registrations::user_id.eq(user_id))
        .filter(event_registrations::status.ne(CANCELLED_REGISTRATION))
        .select(RegistrationRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::NotFound("You have no registration for this event.".to_owned()))?;
    diesel::update(event_registrations::table.find(&mine.id))
        .set((
            event_registrations::status.eq(CANCELLED_REGISTRATION),
            event_registrations::updated_at.eq(crate::time::now()),
        ))
        .execute(conn)?;
    if mine.status == CONFIRMED {
        diesel::update(events::table.find(event_id))
            .set(events::confirmed_count.eq(events::confirmed_count - 1))
            .execute(conn)?;
    } else {
        diesel::update(events::table.find(event_id))
            .set(events::waitlisted_count.eq(events::waitlisted_count - 1))
            .execute(conn)?;
    }
    let event = find(conn, &event.id)?.ok_or_else(not_found)?;
    promote(conn, &event)?;
    event_registrations::table
        .find(&mine.id)
        .select(RegistrationRow::as_select())
        .first(conn)
        .map_err(ApiError::from)
}

/// The caller's registrations with their events, newest first.
pub fn mine(
    conn: &mut DbConnection,
    user_id: &str,
) -> QueryResult<Vec<(RegistrationRow, EventRow)>> {
    event_registrations::table
        .inner_join(events::table)
        .filter(event_registrations::user_id.eq(user_id))
        .order((
            event_registrations::created_at.desc(),
            event_registrations::id,
        ))
        .limit(500)
        .select((RegistrationRow::as_select(), EventRow::as_select()))
        .load(conn)
}

/// A registration with its registrant's email, role and organisation (the SME's or vendor's
/// English name).
pub type Registrant = (RegistrationRow, String, String, Option<String>);

/// An event's registrations for admins, in order of arrival.
pub fn registrations(conn: &mut DbConnection, event_id: &str) -> QueryResult<Vec<Registrant>> {
    let rows: Vec<(RegistrationRow, String, String)> = event_registrations::table
        .inner_join(users::table)
        .filter(event_registrations::event_id.eq(event_id))
        .order((event_registrations::created_at, event_registrations::id))
        .select((RegistrationRow::as_select(), users::email, users::role))
        .load(conn)?;
    let ids: Vec<&String> = rows.iter().map(|(r, _, _)| &r.user_id).collect();
    let sme_names: BTreeMap<String, String> = smes::table
        .filter(smes::user_id.eq_any(&ids))
        .select((smes::user_id, smes::business_name_en))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let vendor_names: BTreeMap<String, String> = vendors::table
        .filter(vendors::user_id.eq_any(&ids))
        .select((vendors::user_id, vendors::company_name_en))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|(r, email, role)| {
            let name = sme_names
                .get(&r.user_id)
                .or_else(|| vendor_names.get(&r.user_id))
                .cloned();
            (r, email, role, name)
        })
        .collect())
}

/// Marks the confirmed registrations `ids` of `event_id` as attended (once: a second mark
/// keeps the first time). 422 naming `registration_ids[i]` for one that is not a confirmed
/// registration of this event. Returns how many were newly marked.
pub fn mark_attended(
    conn: &mut DbConnection,
    event_id: &str,
    ids: &[String],
) -> Result<usize, ApiError> {
    locked(conn, event_id)?;
    let confirmed: Vec<(String, Option<NaiveDateTime>)> = event_registrations::table
        .filter(event_registrations::event_id.eq(event_id))
        .filter(event_registrations::status.eq(CONFIRMED))
        .filter(event_registrations::id.eq_any(ids))
        .select((event_registrations::id, event_registrations::attended_at))
        .load(conn)?;
    let errors: Vec<crate::error::FieldError> = ids
        .iter()
        .enumerate()
        .filter(|(_, id)| !confirmed.iter().any(|(c, _)| c == *id))
        .map(|(i, _)| {
            crate::error::FieldError::new(
                format!("registration_ids[{i}]"),
                "is not a confirmed registration for this event",
            )
        })
        .collect();
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let fresh: Vec<String> = confirmed
        .iter()
        .filter(|(_, at)| at.is_none())
        .map(|(id, _)| id.clone())
        .collect();
    let marked =
        diesel::update(event_registrations::table.filter(event_registrations::id.eq_any(&fresh)))
            .set(event_registrations::attended_at.eq(crate::time::now()))
            .execute(conn)?;
    Ok(marked)
}

/// One event's figures for the attendance report: the event, and how many attended.
pub fn attendance_by_event(conn: &mut DbConnection) -> QueryResult<Vec<(EventRow, i64)>> {
    let rows: Vec<EventRow> = events::table
        .order((events::starts_at.desc(), events::id))
        .limit(1000)
        .select(EventRow::as_select())
        .load(conn)?;
    let ids: Vec<&String> = rows.iter().map(|r| &r.id).collect();
    let attended: Vec<(String, i64)> = event_registrations::table
        .filter(event_registrations::event_id.eq_any(&ids))
        .filter(event_registrations::attended_at.is_not_null())
        .group_by(event_registrations::event_id)
        .select((event_registrations::event_id, diesel::dsl::count_star()))
        .load(conn)?;
    let attended: BTreeMap<String, i64> = attended.into_iter().collect();
    Ok(rows
        .into_iter()
        .map(|r| {
            let n = attended.get(&r.id).copied().unwrap_or(0);
            (r, n)
        })
        .collect())
}

/// An SME's registrations with their events, for its admin view; `None` for an unknown SME.
pub fn sme_registrations(
    conn: &mut DbConnection,
    sme_id: &str,
) -> QueryResult<Option<Vec<(RegistrationRow, EventRow)>>> {
    let user: Option<String> = smes::table
        .find(sme_id)
        .select(smes::user_id)
        .first(conn)
        .optional()?;
    match user {
        Some(user_id) => mine(conn, &user_id).map(Some),
        None => Ok(None),
    }
}
