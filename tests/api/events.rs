//! Seminars and events: scheduling, the listing and calendar file, registration with a
//! waitlist held exactly under concurrency, cancellation, reminders exactly once, attendance.

use chrono::{Duration, Utc};
use dtspp::auth::Role;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::packages::{ok, patch, post};
use crate::test_on_both_backends;

fn at(hours_from_now: i64) -> String {
    dtspp::time::rfc3339((Utc::now() + Duration::hours(hours_from_now)).naive_utc())
}

/// An event for SMEs, starting in `starts_in` hours, for two hours, closing an hour before.
fn form(capacity: i64, starts_in: i64) -> Value {
    json!({
        "title_en": "Going cashless: e-payments for restaurants",
        "title_zh": "餐廳無現金支付講座",
        "description_en": "What FPS, Octopus and QR payments cost, and how the subsidy helps.",
        "description_zh": "轉數快、八達通及二維碼支付的成本，以及資助如何幫到你。",
        "starts_at": at(starts_in),
        "ends_at": at(starts_in + 2),
        "venue_en": "Cyberport 1, Auditorium",
        "venue_zh": "數碼港一座演講廳",
        "online_url": null,
        "language": "bilingual",
        "capacity": capacity,
        "registration_closes_at": at(starts_in - 1),
        "audience": "sme",
        "topics": ["e_payment_pos"],
    })
}

async fn schedule(app: &TestApp, admin: &str, form: Value) -> String {
    let event = ok(post(app, admin, "/api/v1/admin/events", Some(form)).await).await;
    event["id"].as_str().unwrap().to_owned()
}

async fn register(app: &TestApp, token: &str, event: &str) -> reqwest::Response {
    post(
        app,
        token,
        &format!("/api/v1/events/{event}/registrations"),
        None,
    )
    .await
}

async fn status_of(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// `count` fresh SME accounts' (email, token), written directly: registering through the API
/// hashes a password each time, which only slows these tests down.
fn people(app: &TestApp, count: usize) -> Vec<(String, String)> {
    use diesel::prelude::*;
    use dtspp::db::schema::users;
    let now = dtspp::time::now();
    (0..count)
        .map(|_| {
            let id = uuid::Uuid::new_v4().to_string();
            let email = format!("sme-{}@dtspp.test", uuid::Uuid::new_v4().simple());
            diesel::insert_into(users::table)
                .values((
                    users::id.eq(&id),
                    users::email.eq(&email),
                    users::password_hash.eq("!"),
                    users::role.eq("sme"),
                    users::email_verified_at.eq(now),
                    users::created_at.eq(now),
                    users::updated_at.eq(now),
                ))
                .execute(&mut app.conn())
                .unwrap();
            (email, app.token_for(&id, Role::Sme))
        })
        .collect()
}

fn smes(app: &TestApp, count: usize) -> Vec<String> {
    people(app, count)
        .into_iter()
        .map(|(_, token)| token)
        .collect()
}

test_on_both_backends! {
    async fn admins_schedule_events_that_everyone_lists_and_adds_to_a_calendar(app) {
        let admin = app.admin_token().await;
        let id = schedule(&app, &admin, form(30, 72)).await;
        let mut online = form(500, 24 * 9);
        online["venue_en"] = Value::Null;
        online["venue_zh"] = Value::Null;
        online["online_url"] = json!("https://meet.example.org/crm");
        online["language"] = json!("zh");
        online["topics"] = json!(["crm_loyalty"]);
        let webinar = schedule(&app, &admin, online).await;

        let event = ok(app.get(&format!("/api/v1/events/{id}")).await).await;
        assert_eq!((event["capacity"].as_i64(), event["confirmed_count"].as_i64()), (Some(30), Some(0)));
        assert_eq!(event["status"], "scheduled");
        assert_eq!(event["topics"], json!(["e_payment_pos"]));
        let ids = |list: &Value| -> Vec<String> {
            list["items"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect()
        };
        assert_eq!(ids(&ok(app.get("/api/v1/events").await).await), [id.clone(), webinar.clone()], "soonest first");
        assert_eq!(ids(&ok(app.get("/api/v1/events?topic=crm_loyalty").await).await), std::slice::from_ref(&webinar));
        assert_eq!(ids(&ok(app.get("/api/v1/events?language=bilingual").await).await), std::slice::from_ref(&id));
        let later = urlencode(&at(24 * 5));
        assert_eq!(ids(&ok(app.get(&format!("/api/v1/events?from={later}")).await).await), std::slice::from_ref(&webinar));
        for query in ["topic=astrology", "language=fr", "from=yesterday"] {
            assert_eq!(app.get(&format!("/api/v1/events?{query}")).await.status(), 422, "{query}");
        }

        let res = app.get(&format!("/api/v1/events/{id}/calendar.ics")).await;
        assert_eq!(res.status(), 200);
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/calendar"));
        let ics = res.text().await.unwrap().replace("\r\n ", "");
        assert_eq!(ics.matches("BEGIN:VEVENT").count(), 1, "{ics}");
        assert!(ics.contains(&format!("UID:{id}@events.dtspp")), "{ics}");
        assert!(ics.contains("SEQUENCE:0"), "{ics}");
        assert_eq!(app.get("/api/v1/events/no-such-event").await.status(), 404);

        // Refusals, naming the field.
        for (change, field) in [
            (json!({"ends_at": at(71)}), "ends_at"),
            (json!({"registration_closes_at": at(73)}), "registration_closes_at"),
            (json!({"venue_en": null, "venue_zh": null}), "online_url"),
            (json!({"venue_zh": null}), "venue_zh"),
            (json!({"topics": ["astrology"]}), "topics[0]"),
            (json!({"online_url": "ftp://files.example.org"}), "online_url"),
            (json!({"capacity": 0}), "capacity"),
            (json!({"topics": null}), "topics"),
        ] {
            let mut bad = form(30, 72);
            for (k, v) in change.as_object().unwrap() {
                bad[k] = v.clone();
            }
            let (status, problem) = status_of(post(&app, &admin, "/api/v1/admin/events", Some(bad)).await).await;
            assert_eq!(status, 422, "{change}");
            assert_eq!(problem["errors"][0]["field"], field, "{change}: {problem}");
        }
        // The form is always whole: a field left out is a 422 even where null is allowed.
        let mut missing = form(30, 72);
        missing.as_object_mut().unwrap().remove("online_url");
        let (status, problem) = status_of(post(&app, &admin, "/api/v1/admin/events", Some(missing)).await).await;
        assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("online_url")), "{problem}");
        let sme = app.sme_token().await;
        assert_eq!(post(&app, &sme, "/api/v1/admin/events", Some(form(30, 72))).await.status(), 403);

        // An edit is the whole form; the calendar's SEQUENCE rises.
        let mut edit = form(40, 72);
        edit["title_en"] = json!("Going cashless (updated)");
        let edited = ok(patch(&app, &admin, &format!("/api/v1/admin/events/{id}"), edit).await).await;
        assert_eq!((edited["title_en"].as_str(), edited["capacity"].as_i64()), (Some("Going cashless (updated)"), Some(40)));
        let ics = app.get(&format!("/api/v1/events/{id}/calendar.ics")).await.text().await.unwrap();
        assert!(ics.contains("SEQUENCE:1"), "{ics}");
    }

    async fn seats_are_confirmed_to_capacity_then_waitlisted_and_a_cancellation_promotes(app) {
        let admin = app.admin_token().await;
        let id = schedule(&app, &admin, form(2, 48)).await;
        let tokens: Vec<String> = smes(&app, 3);
        let mut regs = Vec::new();
        for token in &tokens {
            let (status, body) = status_of(register(&app, token, &id).await).await;
            assert_eq!(status, 201, "{body}");
            regs.push(body);
        }
        let statuses: Vec<&str> = regs.iter().map(|r| r["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["confirmed", "confirmed", "waitlisted"]);
        let (status, _) = status_of(register(&app, &tokens[0], &id).await).await;
        assert_eq!(status, 409, "a second registration");
        let vendor = app.vendor_token().await;
        assert_eq!(register(&app, &vendor, &id).await.status(), 403, "an event for SMEs");
        assert_eq!(register(&app, &admin, &id).await.status(), 403);

        // The first cancels: the waitlisted third is confirmed, and told so.
        let res = app.client.delete(app.url(&format!("/api/v1/events/{id}/registrations/mine")))
            .bearer_auth(&tokens[0]).send().await.unwrap();
        let (status, body) = status_of(res).await;
        assert_eq!((status, body["status"].as_str()), (200, Some("cancelled")));
        let mine = ok(app.get_as("/api/v1/me/registrations", &tokens[2]).await).await;
        assert_eq!(mine["items"][0]["status"], "confirmed");
        let event = ok(app.get(&format!("/api/v1/events/{id}")).await).await;
        assert_eq!((event["confirmed_count"].as_i64(), event["waitlisted_count"].as_i64()), (Some(2), Some(0)));
        let res = app.client.delete(app.url(&format!("/api/v1/events/{id}/registrations/mine")))
            .bearer_auth(&tokens[0]).send().await.unwrap();
        assert_eq!(res.status(), 404, "nothing left to cancel");
        // Registering again after cancelling is allowed: the event is full, so it waits.
        let (status, body) = status_of(register(&app, &tokens[0], &id).await).await;
        assert_eq!((status, body["status"].as_str()), (201, Some("waitlisted")));

        // The emails: confirmations carry the invitation; the promotion too; the waitlist not.
        let mail = app.deliver_mail().await;
        let invitations: Vec<_> = mail.iter().filter(|m| !m.attachments.is_empty()).collect();
        assert_eq!(invitations.len(), 3, "two confirmations and one promotion");
        for m in &invitations {
            let file = &m.attachments[0];
            assert_eq!(file.name, "event.ics");
            assert!(file.content_type.starts_with("text/calendar"), "{file:?}");
            assert!(file.body.contains("BEGIN:VEVENT") && file.body.contains(&format!("UID:{id}@events.dtspp")), "{file:?}");
        }
        assert_eq!(mail.iter().filter(|m| m.body.contains("waitlist")).count(), 2);
        assert_eq!(mail.iter().filter(|m| m.body.contains("freed up")).count(), 1);

        // Attendance: confirmed registrations only; the list as CSV.
        let list = ok(app.get_as(&format!("/api/v1/admin/events/{id}/registrations"), &admin).await).await;
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 4);
        let id_of = |status: &str| items.iter().filter(|r| r["status"] == status).map(|r| r["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
        let confirmed = id_of("confirmed");
        let waitlisted = id_of("waitlisted");
        let url = format!("/api/v1/admin/events/{id}/attendance");
        let (status, problem) = status_of(post(&app, &admin, &url, Some(json!({"registration_ids": [confirmed[0], waitlisted[0]]}))).await).await;
        assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("registration_ids[1]")));
        let marked = ok(post(&app, &admin, &url, Some(json!({"registration_ids": confirmed}))).await).await;
        assert_eq!(marked["marked"], 2);
        let again = ok(post(&app, &admin, &url, Some(json!({"registration_ids": confirmed}))).await).await;
        assert_eq!(again["marked"], 0, "the first mark stands");
        let res = app.get_as(&format!("/api/v1/admin/events/{id}/registrations?format=csv"), &admin).await;
        assert_eq!(res.status(), 200);
        let csv = res.bytes().await.unwrap();
        assert!(csv.starts_with(b"\xEF\xBB\xBFregistration_id,email,role,organisation,status,registered_at,attended_at\r\n"));
        assert_eq!(String::from_utf8_lossy(&csv).lines().count(), 5);

        // Attendance reported by event and by topic.
        let report = ok(app.get_as("/api/v1/admin/reports/attendance", &admin).await).await;
        let row = report["rows"].as_array().unwrap().iter().find(|r| r["key"] == id.as_str()).unwrap().clone();
        assert_eq!((row["capacity"].as_i64(), row["confirmed"].as_i64(), row["waitlisted"].as_i64(), row["attended"].as_i64()),
                   (Some(2), Some(2), Some(1), Some(2)), "{row}");
        let report = ok(app.get_as("/api/v1/admin/reports/attendance?by=topic", &admin).await).await;
        let pos = report["rows"].as_array().unwrap().iter().find(|r| r["key"] == "e_payment_pos").unwrap().clone();
        assert_eq!((pos["events"].as_i64(), pos["attended"].as_i64()), (Some(1), Some(2)), "{pos}");
        let crm = report["rows"].as_array().unwrap().iter().find(|r| r["key"] == "crm_loyalty").unwrap().clone();
        assert_eq!(crm["events"], 0);
        assert_eq!(app.get_as("/api/v1/admin/reports/attendance?by=district", &admin).await.status(), 422);
        assert_eq!(app.get_as("/api/v1/admin/reports/attendance", &tokens[0]).await.status(), 403);
    }

    async fn an_smes_admin_view_shows_what_it_attended(app) {
        let admin = app.admin_token().await;
        let id = schedule(&app, &admin, form(5, 30)).await;
        let sme = app.sme_token().await;
        let me = ok(app.get_as("/api/v1/me", &sme).await).await;
        let sme_id = me["sme"]["id"].as_str().unwrap().to_owned();
        let registration = ok(register(&app, &sme, &id).await).await;
        let url = format!("/api/v1/admin/smes/{sme_id}/attendance");
        let view = ok(app.get_as(&url, &admin).await).await;
        assert_eq!((view["events_attended"].as_i64(), view["registrations"][0]["status"].as_str()), (Some(0), Some("confirmed")));
        ok(post(&app, &admin, &format!("/api/v1/admin/events/{id}/attendance"), Some(json!({"registration_ids": [registration["id"]]}))).await).await;
        let view = ok(app.get_as(&url, &admin).await).await;
        assert_eq!(view["events_attended"], 1);
        assert!(view["registrations"][0]["attended_at"].is_string(), "{view}");
        assert_eq!(view["registrations"][0]["event_id"], id.as_str());
        assert_eq!(app.get_as("/api/v1/admin/smes/no-such-sme/attendance", &admin).await.status(), 404);
        assert_eq!(app.get_as(&url, &sme).await.status(), 403);
    }

    async fn closed_cancelled_and_past_events_refuse_registration_with_409(app) {
        let admin = app.admin_token().await;
        let sme = smes(&app, 2);
        let mut closed = form(10, 5);
        closed["registration_closes_at"] = json!(at(-1));
        let closed = schedule(&app, &admin, closed).await;
        assert_eq!(register(&app, &sme[0], &closed).await.status(), 409);
        let mut past = form(10, -3);
        past["registration_closes_at"] = json!(at(-4));
        let past = schedule(&app, &admin, past).await;
        assert_eq!(register(&app, &sme[0], &past).await.status(), 409);
        assert_eq!(register(&app, &sme[0], "no-such-event").await.status(), 404);

        let id = schedule(&app, &admin, form(1, 30)).await;
        assert_eq!(register(&app, &sme[0], &id).await.status(), 201);
        assert_eq!(register(&app, &sme[1], &id).await.status(), 201);
        let url = format!("/api/v1/admin/events/{id}/cancel");
        let (status, _) = status_of(post(&app, &admin, &url, Some(json!({"reason": "   "}))).await).await;
        assert_eq!(status, 422);
        let cancelled = ok(post(&app, &admin, &url, Some(json!({"reason": "The speaker is unwell."}))).await).await;
        assert_eq!(cancelled["status"], "cancelled");
        assert_eq!(post(&app, &admin, &url, Some(json!({"reason": "Again."}))).await.status(), 409);
        let mail = app.deliver_mail().await;
        let told: Vec<_> = mail.iter().filter(|m| m.body.contains("The speaker is unwell.")).collect();
        assert_eq!(told.len(), 2, "the confirmed and the waitlisted are both told");
        assert!(told.iter().all(|m| m.attachments[0].body.contains("STATUS:CANCELLED")));
        let sme3 = smes(&app, 1);
        assert_eq!(register(&app, &sme3[0], &id).await.status(), 409, "cancelled");
        assert_eq!(patch(&app, &admin, &format!("/api/v1/admin/events/{id}"), form(1, 30)).await.status(), 409);
    }

    async fn reminders_go_once_a_day_ahead_and_only_to_the_confirmed(app) {
        let admin = app.admin_token().await;
        let soon = schedule(&app, &admin, form(2, 20)).await;
        let later = schedule(&app, &admin, form(2, 60)).await;
        let people = people(&app, 5);
        let t: Vec<String> = people.iter().map(|(_, token)| token.clone()).collect();
        for token in &t[..4] {
            assert_eq!(register(&app, token, &soon).await.status(), 201);
        }
        // t0 and t1 confirmed, t2 and t3 waitlisted; t1 cancels, so t2 is promoted.
        let res = app.client.delete(app.url(&format!("/api/v1/events/{soon}/registrations/mine")))
            .bearer_auth(&t[1]).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(register(&app, &t[4], &later).await.status(), 201);

        // Two passes at once (two instances), then another: one reminder per confirmed seat.
        let now = dtspp::time::now();
        let (a, b) = tokio::join!(
            dtspp::events::reminders::queue_due(&app.db, now),
            dtspp::events::reminders::queue_due(&app.db, now),
        );
        assert_eq!(a.unwrap() + b.unwrap(), 2);
        assert_eq!(dtspp::events::reminders::queue_due(&app.db, now).await.unwrap(), 0);
        let mail = app.deliver_mail().await;
        let reminded: Vec<&str> = mail.iter().filter(|m| m.body.contains("starts within a day")).map(|m| m.to.as_str()).collect();
        assert_eq!(reminded.len(), 2, "t0 and the promoted t2; never the cancelled t1, the waitlisted t3, or the later event");
        for (email, _) in [&people[0], &people[2]] {
            assert!(reminded.iter().any(|r| r.contains(email.as_str())), "{email} in {reminded:?}");
        }
    }

    async fn exactly_capacity_seats_are_confirmed_however_many_register_at_once(app) {
        let admin = app.admin_token().await;
        let id = schedule(&app, &admin, form(7, 48)).await;
        let sibling = app.sibling();
        let bases = [app.address.clone(), sibling.address.clone()];
        let tokens = smes(&app, 40);
        let client = reqwest::Client::new();
        let tasks: Vec<_> = tokens.iter().enumerate().map(|(i, token)| {
            let url = format!("{}/api/v1/events/{id}/registrations", bases[i % 2]);
            let (client, token) = (client.clone(), token.clone());
            tokio::spawn(async move {
                let res = client.post(url).bearer_auth(token).send().await.unwrap();
                let status = res.status().as_u16();
                (status, res.json::<Value>().await.unwrap())
            })
        }).collect();
        let mut confirmed = 0;
        let mut waitlisted = 0;
        for task in tasks {
            let (status, body) = task.await.unwrap();
            assert_eq!(status, 201, "{body}");
            match body["status"].as_str() {
                Some("confirmed") => confirmed += 1,
                Some("waitlisted") => waitlisted += 1,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!((confirmed, waitlisted), (7, 33));
        let event = ok(app.get(&format!("/api/v1/events/{id}")).await).await;
        assert_eq!((event["confirmed_count"].as_i64(), event["waitlisted_count"].as_i64()), (Some(7), Some(33)));
        let list = ok(app.get_as(&format!("/api/v1/admin/events/{id}/registrations"), &admin).await).await;
        let stored = list["items"].as_array().unwrap().iter().filter(|r| r["status"] == "confirmed").count();
        assert_eq!(stored, 7, "the rows agree with the count");
    }
}

fn urlencode(text: &str) -> String {
    text.replace(':', "%3A").replace('+', "%2B")
}
