//! Seminars and events (issue 12, part B): admins schedule them; SMEs and vendors register,
//! confirmed up to the capacity and waitlisted after, the count held on the event's row under
//! a lock as the budget's is; emails carry the calendar invitation (`ics`); reminders go a day
//! ahead, once per registration, through the outbox; admins mark attendance.

pub mod emails;
pub mod ics;
pub mod model;
pub mod reminders;
pub mod routes;
pub mod store;
