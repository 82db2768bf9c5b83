//! The outbox and the mail it sends, against a real SMTP server.

use std::time::Duration;

use diesel::prelude::*;
use dtspp::db::schema::outbox;
use serde_json::{Value, json};

use crate::helpers::{SmtpServer, spawn_app_with, unique_br};

/// Runs `scenario` on both backends with an app whose SMTP server is `port`.
macro_rules! on_both_backends_with_smtp {
    ($(async fn $name:ident($app:ident, $port:ident) $body:block)*) => {$(
        mod $name {
            use super::*;

            async fn scenario(backend: dtspp::db::Backend) {
                let $port = SmtpServer::free_port();
                let url = format!("smtp://127.0.0.1:{}", $port);
                let $app = spawn_app_with(backend, &[("DTSPP_SMTP_URL", url.as_str())]).await;
                $body
            }

            #[tokio::test]
            async fn sqlite() {
                scenario(dtspp::db::Backend::Sqlite).await
            }

            #[tokio::test]
            async fn postgres() {
                if crate::helpers::postgres_enabled() {
                    scenario(dtspp::db::Backend::Postgres).await
                }
            }
        }
    )*};
}

fn outbox_rows(app: &crate::helpers::TestApp) -> Vec<(String, i64)> {
    outbox::table
        .select((outbox::status, outbox::attempts))
        .load(&mut app.conn())
        .unwrap()
}

on_both_backends_with_smtp! {
    async fn the_verification_email_arrives_over_smtp_with_a_working_link(app, port) {
        let smtp = SmtpServer::start(port);
        app.register_sme("welcome@tea-house.hk", &unique_br()).await;
        let mail = smtp.wait_for(1, 15).await;
        assert_eq!(mail.len(), 1, "one verification email");
        assert_eq!(mail[0].to, "welcome@tea-house.hk");
        assert!(mail[0].message_id.ends_with("@outbox.dtspp>"), "{}", mail[0].message_id);
        assert!(mail[0].body.contains("Confirm your email") || mail[0].body.contains("confirm your email"));
        let res = app.post_json("/api/v1/auth/verify-email", &json!({"token": mail[0].link_token()})).await;
        assert_eq!(res.status(), 200);
        assert_eq!(outbox_rows(&app), vec![("sent".to_owned(), 1)]);
    }

    async fn email_queued_during_an_smtp_outage_is_delivered_once_when_it_returns(app, port) {
        // Nothing listens on the port: the first attempt fails and the row waits for a retry.
        app.register_vendor("patient@vendor.hk", &unique_br()).await;
        // Wait for the failure to be recorded, not merely for the claim (which counts the attempt
        // before it is made, while the SMTP connection may still be under way).
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        let failed = |app: &crate::helpers::TestApp| -> Option<String> {
            outbox::table.select(outbox::last_error).first::<Option<String>>(&mut app.conn()).ok().flatten()
        };
        while failed(&app).is_none() {
            assert!(std::time::Instant::now() < deadline, "no attempt failed");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(outbox_rows(&app)[0].0, "pending");

        let smtp = SmtpServer::start(port);
        let mail = smtp.wait_for(1, 20).await;
        assert_eq!(mail.len(), 1);
        // Later passes must not send it again.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(smtp.mail().len(), 1, "delivered exactly once");
        let rows = outbox_rows(&app);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].0, "sent");
        assert!(rows[0].1 >= 2, "{rows:?}");
    }
}

#[tokio::test]
async fn mail_that_keeps_failing_goes_dead_and_admins_can_see_it() {
    let port = SmtpServer::free_port();
    let url = format!("smtp://127.0.0.1:{port}");
    let app = spawn_app_with(
        dtspp::db::Backend::Sqlite,
        &[
            ("DTSPP_SMTP_URL", url.as_str()),
            ("DTSPP_OUTBOX_MAX_ATTEMPTS", "2"),
            ("DTSPP_OUTBOX_POLL_MS", "600000"),
        ],
    )
    .await;
    let admin = app.admin_token().await;
    app.register_sme("doomed@shop.hk", &unique_br()).await;
    let first = app.outbox.deliver_due(dtspp::time::now()).await.unwrap();
    assert_eq!((first.retrying, first.dead), (1, 0));
    let later = dtspp::time::now() + chrono::Duration::hours(2);
    let second = app.outbox.deliver_due(later).await.unwrap();
    assert_eq!((second.retrying, second.dead), (0, 1));

    let page: Value = app
        .get_as("/api/v1/admin/outbox?status=dead", &admin)
        .await
        .json()
        .await
        .unwrap();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["recipient"], "doomed@shop.hk");
    assert_eq!(items[0]["attempts"], 2);
    assert!(
        items[0]["last_error"]
            .as_str()
            .is_some_and(|e| !e.is_empty())
    );
    assert!(
        items[0].get("body_text").is_none(),
        "the body holds a single-use link"
    );
    let bad = app.get_as("/api/v1/admin/outbox?status=lost", &admin).await;
    assert_eq!(bad.status(), 422);
}

crate::test_on_both_backends! {
    async fn two_workers_on_one_database_send_each_email_exactly_once(app) {
        use dtspp::mail::{Mailer, OutboxWorker};
        let mut conn = app.conn();
        for i in 0..30 {
            dtspp::outbox::enqueue(
                &mut conn,
                dtspp::outbox::Email {
                    template: "test",
                    to: format!("r{i}@example.org"),
                    subject: format!("message {i}"),
                    body: "hello".to_owned(),
                },
            )
            .unwrap();
        }
        drop(conn);
        let out = tempfile::tempdir().unwrap();
        let from: lettre::message::Mailbox = "DTSPP <no-reply@dtspp.test>".parse().unwrap();
        // Two instances: separate pools on the same database, as two processes would have.
        let target = dtspp::db::DatabaseTarget::parse(app.database.url()).unwrap();
        let workers: Vec<OutboxWorker> = (0..2)
            .map(|_| {
                let db = dtspp::db::Db::open(&target, 2).unwrap();
                OutboxWorker::new(db, Mailer::files(out.path()).unwrap(), from.clone(), 5)
            })
            .collect();
        // The app's own worker polls too: three instances compete for the same rows.
        let now = dtspp::time::now();
        for _ in 0..2 {
            let (a, b) = tokio::join!(workers[0].deliver_due(now), workers[1].deliver_due(now));
            a.unwrap();
            b.unwrap();
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while outbox_rows(&app).iter().any(|(status, _)| status != "sent") {
            assert!(std::time::Instant::now() < deadline, "not everything was sent");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut delivered = crate::helpers::read_mail(out.path());
        delivered.extend(crate::helpers::read_mail(app.mail_dir.path()));
        assert_eq!(delivered.len(), 30, "each email once");
        let mut recipients: Vec<String> = delivered.iter().map(|m| m.to.clone()).collect();
        recipients.sort();
        recipients.dedup();
        assert_eq!(recipients.len(), 30);
    }
}
