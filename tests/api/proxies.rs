//! The client's address: `X-Forwarded-For` counts only through a trusted proxy
//! (`DTSPP_TRUSTED_PROXIES`), and rate limits, the audit trail, registrations and
//! applications all use the address so found.

use diesel::prelude::*;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, sme_form, spawn_app_with, unique_br};
use crate::journey::{confirmed_enquiry, market, open_batch};
use dtspp::db::Backend;
use dtspp::db::schema::{applications, audit_events, users};

const TRUST_LOOPBACK: (&str, &str) = ("DTSPP_TRUSTED_PROXIES", "127.0.0.1/32, ::1");

async fn register_from(app: &TestApp, forwarded_for: &str) -> String {
    let email = format!("sme-{}@dtspp.test", uuid::Uuid::new_v4().simple());
    let res = app
        .client
        .post(app.url("/api/v1/smes/register"))
        .header("X-Forwarded-For", forwarded_for)
        .json(&sme_form(&email, &unique_br()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    email
}

fn registration_ip(app: &TestApp, email: &str) -> Option<String> {
    users::table
        .filter(users::email.eq(email))
        .select(users::registration_ip)
        .first(&mut app.conn())
        .unwrap()
}

fn audited_ip(app: &TestApp, action: &str, entity_id: &str) -> Option<String> {
    audit_events::table
        .filter(audit_events::action.eq(action))
        .filter(audit_events::entity_id.eq(entity_id))
        .select(audit_events::ip)
        .first(&mut app.conn())
        .unwrap()
}

async fn through_a_trusted_proxy(backend: Backend) {
    let app = spawn_app_with(backend, &[TRUST_LOOPBACK]).await;
    // The proxy appended the client's address to what the client sent (a forgery).
    let email = register_from(&app, "10.9.9.9, 198.51.100.23").await;
    assert_eq!(
        registration_ip(&app, &email).as_deref(),
        Some("198.51.100.23")
    );

    app.verify_email(&email);
    let sme = app.login(&email, PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let m = market(&app).await;
    open_batch(&app, &m.admin, None).await;
    let enquiry = confirmed_enquiry(&app, &sme, &m).await;
    let res = app
        .client
        .post(app.url("/api/v1/sme/applications"))
        .bearer_auth(&sme)
        .header("X-Forwarded-For", "198.51.100.24")
        .json(&json!({"enquiry_id": enquiry}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let id = res.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let recorded: Option<String> = applications::table
        .find(&id)
        .select(applications::client_ip)
        .first(&mut app.conn())
        .unwrap();
    assert_eq!(recorded.as_deref(), Some("198.51.100.24"));
    assert_eq!(
        audited_ip(&app, "application.applied", &id).as_deref(),
        Some("198.51.100.24")
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_is_recorded_on_sqlite() {
    through_a_trusted_proxy(Backend::Sqlite).await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_is_recorded_on_postgres() {
    if crate::helpers::postgres_enabled() {
        through_a_trusted_proxy(Backend::Postgres).await;
    }
}

#[tokio::test]
async fn without_trusted_proxies_the_header_is_ignored() {
    let app = spawn_app_with(Backend::Sqlite, &[]).await;
    let email = register_from(&app, "198.51.100.23").await;
    assert_eq!(registration_ip(&app, &email).as_deref(), Some("127.0.0.1"));
}

/// Four failed logins, each for a different email, from `forwarded_for(i)`.
async fn login_statuses(app: &TestApp, forwarded_for: impl Fn(usize) -> String) -> Vec<u16> {
    let mut statuses = Vec::new();
    for i in 0..4 {
        let res = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .header("X-Forwarded-For", forwarded_for(i))
            .json(&json!({"email": format!("nobody-{i}-{}@dtspp.test", uuid::Uuid::new_v4().simple()), "password": "wrong wrong wrong"}))
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
    }
    statuses
}

#[tokio::test]
async fn rate_limits_count_the_forwarded_client_only_through_a_trusted_proxy() {
    let limit = ("DTSPP_AUTH_RATE_LIMIT", "3");
    let trusting = spawn_app_with(Backend::Sqlite, &[TRUST_LOOPBACK, limit]).await;
    // One client behind the proxy is limited; another behind the same proxy is not.
    assert_eq!(
        login_statuses(&trusting, |_| "198.51.100.1".to_owned()).await,
        [401, 401, 401, 429]
    );
    assert_eq!(
        login_statuses(&trusting, |_| "198.51.100.2".to_owned()).await[0],
        401
    );

    // Talking directly, a client cannot dodge its limit by inventing addresses.
    let direct = spawn_app_with(Backend::Sqlite, &[limit]).await;
    assert_eq!(
        login_statuses(&direct, |i| format!("203.0.113.{i}")).await,
        [401, 401, 401, 429]
    );
}
