//! The events' bilingual emails (English, then Traditional Chinese), and the invitation they
//! attach.

use super::ics;
use super::model::EventRow;
use crate::outbox::{Attachment, Email};
use crate::time::rfc3339;

/// The event's calendar as an attachment.
pub fn invitation(event: &EventRow) -> Attachment {
    Attachment {
        name: "event.ics".to_owned(),
        content_type: ics::CONTENT_TYPE.to_owned(),
        body: ics::calendar(event),
    }
}

/// When and where, in both languages.
fn details(event: &EventRow) -> (String, String) {
    let when = format!(
        "{} to {} (UTC)",
        rfc3339(event.starts_at),
        rfc3339(event.ends_at)
    );
    let when_zh = format!(
        "{} 至 {}（協調世界時）",
        rfc3339(event.starts_at),
        rfc3339(event.ends_at)
    );
    let (mut where_en, mut where_zh) = match (&event.venue_en, &event.venue_zh) {
        (Some(en), Some(zh)) => (format!("Venue: {en}"), format!("地點：{zh}")),
        _ => (String::new(), String::new()),
    };
    if let Some(url) = &event.online_url {
        if !where_en.is_empty() {
            where_en.push('\n');
            where_zh.push('\n');
        }
        where_en.push_str(&format!("Online: {url}"));
        where_zh.push_str(&format!("網上參與：{url}"));
    }
    (
        format!("When: {when}\n{where_en}"),
        format!("時間：{when_zh}\n{where_zh}"),
    )
}

fn email(
    template: &'static str,
    to: &str,
    subject: &str,
    event: &EventRow,
    en: &str,
    zh: &str,
) -> Email {
    let (details_en, details_zh) = details(event);
    Email {
        template,
        to: to.to_owned(),
        subject: format!("{subject}: {} — DTSPP", event.title_en),
        body: format!(
            "{en}\n\n{}\n{details_en}\n\n----\n\n{zh}\n\n{}\n{details_zh}\n",
            event.title_en, event.title_zh
        ),
    }
}

/// A seat is confirmed; the invitation is attached.
pub fn confirmed(to: &str, event: &EventRow) -> Email {
    email(
        "event_confirmed",
        to,
        "Registration confirmed 已確認報名",
        event,
        "Your seat is confirmed. The calendar invitation is attached.",
        "你的座位已確認，隨附行事曆邀請。",
    )
}

/// The event is full; the registrant waits.
pub fn waitlisted(to: &str, event: &EventRow) -> Email {
    email(
        "event_waitlisted",
        to,
        "On the waitlist 已列入候補",
        event,
        "The event is full, so you are on the waitlist. We will email you if a seat frees up.",
        "活動已滿額，你已列入候補名單；如有空位，我們會以電郵通知你。",
    )
}

/// A seat freed up and went to the registrant.
pub fn promoted(to: &str, event: &EventRow) -> Email {
    email(
        "event_promoted",
        to,
        "A seat is yours 候補已獲確認",
        event,
        "A seat freed up and is now yours: your registration is confirmed. The calendar \
         invitation is attached.",
        "有座位空出，你的候補報名已獲確認，隨附行事曆邀請。",
    )
}

/// The event's time or place changed; the updated invitation is attached.
pub fn changed(to: &str, event: &EventRow) -> Email {
    email(
        "event_changed",
        to,
        "Event changed 活動有變",
        event,
        "The event's time or place has changed. The updated calendar invitation is attached.",
        "活動的時間或地點有變，隨附更新後的行事曆邀請。",
    )
}

/// The event is cancelled.
pub fn cancelled(to: &str, event: &EventRow, reason: &str) -> Email {
    email(
        "event_cancelled",
        to,
        "Event cancelled 活動取消",
        event,
        &format!("We are sorry: this event is cancelled. Reason: {reason}"),
        &format!("很抱歉，此活動已取消。原因：{reason}"),
    )
}

/// The day before.
pub fn reminder(to: &str, event: &EventRow) -> Email {
    email(
        "event_reminder",
        to,
        "Reminder: tomorrow 活動提示",
        event,
        "A reminder that your event starts within a day.",
        "提提你：你報名的活動將於一天內舉行。",
    )
}
