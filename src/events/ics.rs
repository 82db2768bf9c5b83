//! An event as an RFC 5545 calendar (one VEVENT), made with the `icalendar` crate: the file
//! `GET /events/{id}/calendar.ics` serves and confirmation emails attach.

use chrono::{DateTime, Utc};
use icalendar::{Calendar, Component, EventLike, EventStatus};

use super::model::EventRow;
use super::store::CANCELLED;

/// The media type of the file.
pub const CONTENT_TYPE: &str = "text/calendar; charset=utf-8";

fn utc(at: chrono::NaiveDateTime) -> DateTime<Utc> {
    at.and_utc()
}

/// The calendar for `event`. Its UID is stable and its SEQUENCE rises with every edit, so a
/// calendar that imported it takes the change (or the cancellation) as the same event.
pub fn calendar(event: &EventRow) -> String {
    let location = match (&event.venue_en, &event.venue_zh) {
        (Some(en), Some(zh)) => Some(format!("{en} / {zh}")),
        (Some(en), None) => Some(en.clone()),
        _ => event.online_url.clone(),
    };
    let mut description = format!("{}\n\n{}", event.description_en, event.description_zh);
    if let Some(url) = &event.online_url {
        description.push_str(&format!("\n\nOnline / 網上: {url}"));
    }
    let mut vevent = icalendar::Event::new();
    vevent
        .uid(&format!("{}@events.dtspp", event.id))
        .summary(&format!("{} / {}", event.title_en, event.title_zh))
        .description(&description)
        .starts(utc(event.starts_at))
        .ends(utc(event.ends_at))
        .timestamp(utc(event.updated_at))
        .sequence(u32::try_from(event.sequence).unwrap_or(u32::MAX))
        .status(if event.status == CANCELLED {
            EventStatus::Cancelled
        } else {
            EventStatus::Confirmed
        });
    if let Some(location) = location {
        vevent.location(&location);
    }
    if let Some(url) = &event.online_url {
        vevent.url(url);
    }
    let mut calendar = Calendar::new();
    calendar
        .name("DTSPP events / 數碼轉型支援先導計劃活動")
        .push(vevent.done());
    calendar.done().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> EventRow {
        let at = |h: u32| {
            chrono::NaiveDate::from_ymd_opt(2026, 12, 10)
                .and_then(|d| d.and_hms_opt(h, 30, 0))
                .unwrap_or_default()
        };
        EventRow {
            id: "e1".into(),
            title_en: "Going cashless; a seminar".into(),
            title_zh: "無現金支付講座".into(),
            description_en: "Bring, your questions.".into(),
            description_zh: "歡迎提問。".into(),
            starts_at: at(6),
            ends_at: at(8),
            venue_en: Some("Cyberport 1".into()),
            venue_zh: Some("數碼港一座".into()),
            online_url: None,
            language: "bilingual".into(),
            capacity: 10,
            confirmed_count: 0,
            waitlisted_count: 0,
            registration_closes_at: at(5),
            audience: "sme".into(),
            status: "scheduled".into(),
            sequence: 2,
            cancel_reason: None,
            created_by: None,
            created_at: at(1),
            updated_at: at(2),
        }
    }

    #[test]
    fn one_vevent_with_stable_uid_times_in_utc_and_escaped_text() {
        let text = calendar(&event());
        let unfolded = text.replace("\r\n ", "");
        assert!(unfolded.starts_with("BEGIN:VCALENDAR\r\n"), "{text}");
        assert_eq!(unfolded.matches("BEGIN:VEVENT").count(), 1);
        assert!(unfolded.contains("UID:e1@events.dtspp\r\n"), "{text}");
        assert!(unfolded.contains("DTSTART:20261210T063000Z\r\n"), "{text}");
        assert!(unfolded.contains("DTEND:20261210T083000Z\r\n"), "{text}");
        assert!(unfolded.contains("SEQUENCE:2\r\n"), "{text}");
        assert!(unfolded.contains("STATUS:CONFIRMED\r\n"), "{text}");
        assert!(
            unfolded.contains("SUMMARY:Going cashless\\; a seminar / 無現金支付講座\r\n"),
            "{text}"
        );
        assert!(
            unfolded.contains("LOCATION:Cyberport 1 / 數碼港一座\r\n"),
            "{text}"
        );
        let mut cancelled = event();
        cancelled.status = "cancelled".into();
        assert!(calendar(&cancelled).contains("STATUS:CANCELLED"));
    }
}
