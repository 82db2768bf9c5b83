//! The events every seeded database starts with: three upcoming seminars, dated from the day
//! of seeding, so that a newcomer finds something to register for. Seeding again adds none
//! twice (an event of the same English title is left alone).

use chrono::{Duration, NaiveTime};
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::events;
use crate::error::ApiError;
use crate::events::model::{Audience, EventForm, EventLanguage};
use crate::events::store;

struct Seeded {
    title_en: &'static str,
    title_zh: &'static str,
    description_en: &'static str,
    description_zh: &'static str,
    /// Days from seeding; each starts at 14:30 Hong Kong time (06:30 UTC) for two hours.
    in_days: i64,
    venue: Option<(&'static str, &'static str)>,
    online_url: Option<&'static str>,
    language: EventLanguage,
    capacity: i64,
    audience: Audience,
    topics: &'static [&'static str],
}

const EVENTS: &[Seeded] = &[
    Seeded {
        title_en: "Going cashless: e-payments for restaurants",
        title_zh: "餐廳無現金支付講座",
        description_en: "What FPS, Octopus, card and QR payments cost per transaction, how a POS \
                         system ties them together, and how the programme's 1:1 subsidy applies.",
        description_zh: "轉數快、八達通、信用卡及二維碼支付的每筆成本，收銀系統如何整合，以及計劃\
                         一對一資助如何適用。",
        in_days: 7,
        venue: Some(("Cyberport 1, Auditorium", "數碼港一座演講廳")),
        online_url: None,
        language: EventLanguage::Bilingual,
        capacity: 120,
        audience: Audience::Sme,
        topics: &["e_payment_pos"],
    },
    Seeded {
        title_en: "Loyalty schemes that shoppers use",
        title_zh: "顧客真正會用的會員計劃",
        description_en: "Stamps, points and coupons: which keep customers coming back, and how to \
                         read a vendor's CRM quote.",
        description_zh: "印花、積分定優惠券？邊種最能留住熟客，以及點樣睇懂供應商的客戶管理系統報價。",
        in_days: 14,
        venue: None,
        online_url: Some("https://events.dtspp.example/loyalty-webinar"),
        language: EventLanguage::Zh,
        capacity: 300,
        audience: Audience::Sme,
        topics: &["crm_loyalty"],
    },
    Seeded {
        title_en: "Vendor briefing: listing packages and the claims process",
        title_zh: "供應商簡介會：上架方案及申領程序",
        description_en: "How packages are vetted, what the price ceilings mean, and what the \
                         programme checks before it disburses.",
        description_zh: "方案如何審核、價格上限的意思，以及計劃發放資助前會查核甚麼。",
        in_days: 21,
        venue: Some(("Cyberport 3, Seminar Room 2", "數碼港三座研討室二")),
        online_url: Some("https://events.dtspp.example/vendor-briefing"),
        language: EventLanguage::En,
        capacity: 60,
        audience: Audience::Vendor,
        topics: &["e_payment_pos", "online_marketing", "crm_loyalty"],
    },
];

/// Schedules the seeded events that are not there yet; returns how many it scheduled.
pub fn load(conn: &mut DbConnection) -> Result<usize, ApiError> {
    let today = crate::time::hk_today();
    let start_time = NaiveTime::from_hms_opt(6, 30, 0).unwrap_or_default();
    let mut created = 0;
    for e in EVENTS {
        let exists: i64 = events::table
            .filter(events::title_en.eq(e.title_en))
            .count()
            .get_result(conn)?;
        if exists > 0 {
            continue;
        }
        let starts = (today + Duration::days(e.in_days))
            .and_time(start_time)
            .and_utc();
        let form = EventForm {
            title_en: e.title_en.to_owned(),
            title_zh: e.title_zh.to_owned(),
            description_en: e.description_en.to_owned(),
            description_zh: e.description_zh.to_owned(),
            starts_at: starts,
            ends_at: starts + Duration::hours(2),
            venue_en: e.venue.map(|v| v.0.to_owned()),
            venue_zh: e.venue.map(|v| v.1.to_owned()),
            online_url: e.online_url.map(str::to_owned),
            language: e.language,
            capacity: e.capacity,
            registration_closes_at: starts - Duration::days(1),
            audience: e.audience,
            topics: e.topics.iter().map(|t| (*t).to_owned()).collect(),
        };
        store::create(conn, &form, None)?;
        created += 1;
    }
    Ok(created)
}
