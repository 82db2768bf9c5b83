//! Overload is not an outage: a pool with every connection in use answers 503 `busy` after the
//! acquire timeout, a database that cannot be reached answers 503 `database-unavailable`, the
//! metrics count each apart, and requests queue for a connection rather than fail.

use crate::helpers::{TestDatabase, spawn_app_unmigrated_with, spawn_app_with};
use crate::test_on_both_backends;
use dtspp::db::Backend;

/// The value of the metric line that starts with `series`.
async fn metric(app: &crate::helpers::TestApp, series: &str) -> f64 {
    let text = app.get("/metrics").await.text().await.unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(series))
        .and_then(|rest| rest.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
}

const BUSY: &str = r#"dtspp_db_acquire_failures_total{reason="busy"}"#;
const UNAVAILABLE: &str = r#"dtspp_db_acquire_failures_total{reason="unavailable"}"#;

async fn busy_pool_answers_busy(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            ("DTSPP_DB_POOL_SIZE", "1"),
            ("DTSPP_DB_ACQUIRE_TIMEOUT_MS", "300"),
        ],
    )
    .await;
    assert_eq!(app.get("/api/v1/catalogue/categories").await.status(), 200);
    let held = app.conn();
    let started = std::time::Instant::now();
    let res = app.get("/api/v1/catalogue/packages").await;
    let waited = started.elapsed();
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "1");
    let problem: serde_json::Value = res.json().await.unwrap();
    assert_eq!(problem["type"], "urn:dtspp:problem:busy", "{problem}");
    assert!(
        waited >= std::time::Duration::from_millis(300),
        "it queued for the acquire timeout first, not {waited:?}"
    );
    assert!(metric(&app, BUSY).await >= 1.0);
    assert_eq!(metric(&app, UNAVAILABLE).await, 0.0);
    drop(held);
    assert_eq!(app.get("/api/v1/catalogue/packages").await.status(), 200);
}

#[tokio::test]
async fn a_pool_with_every_connection_in_use_answers_503_busy_on_sqlite() {
    busy_pool_answers_busy(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_pool_with_every_connection_in_use_answers_503_busy_on_postgres() {
    if crate::helpers::postgres_enabled() {
        busy_pool_answers_busy(Backend::Postgres).await;
    }
}

#[tokio::test]
async fn an_unreachable_database_answers_503_database_unavailable_not_busy() {
    // Nothing listens on port 1.
    let unreachable = TestDatabase::External {
        url: "postgres://postgres@127.0.0.1:1/dtspp".to_owned(),
    };
    let app = spawn_app_unmigrated_with(unreachable, &[("DTSPP_DB_ACQUIRE_TIMEOUT_MS", "300")]);
    let res = app.get("/api/v1/catalogue/packages").await;
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "1");
    let problem: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        problem["type"], "urn:dtspp:problem:database-unavailable",
        "{problem}"
    );
    assert!(metric(&app, UNAVAILABLE).await >= 1.0);
    assert_eq!(metric(&app, BUSY).await, 0.0);
}

test_on_both_backends! {
    // Many more concurrent requests than connections, each a different catalogue query (so
    // that no cache helps): they queue for the two connections, and every one is answered.
    async fn requests_queue_for_a_small_pool_and_all_succeed(app) {
        let _ = &app;
        let app = spawn_app_with(app.backend, &[("DTSPP_DB_POOL_SIZE", "2")]).await;
        let requests = (0..64).map(|i| {
            let (client, url) = (app.client.clone(), app.url(&format!("/api/v1/catalogue/packages?min_price={i}")));
            async move { client.get(url).send().await.unwrap().status().as_u16() }
        });
        let statuses = futures_util::future::join_all(requests).await;
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
        assert_eq!(metric(&app, BUSY).await, 0.0);
    }

    // Identical concurrent misses are computed once: with one connection held, 20 identical
    // requests wait together, and all are answered from one query when it is freed.
    async fn identical_concurrent_misses_share_one_computation(app) {
        let _ = &app;
        let app = spawn_app_with(app.backend, &[("DTSPP_DB_POOL_SIZE", "1")]).await;
        let held = app.conn();
        let requests = (0..20).map(|_| {
            let (client, url) = (app.client.clone(), app.url("/api/v1/catalogue/packages?sort=newest"));
            async move { client.get(url).send().await.unwrap().status().as_u16() }
        });
        let all = tokio::spawn(futures_util::future::join_all(requests));
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        drop(held);
        let statuses = all.await.unwrap();
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
        assert_eq!(metric(&app, r#"dtspp_catalogue_cache_total{outcome="computed"}"#).await, 1.0);
        let served = metric(&app, r#"dtspp_http_requests_total{method="GET",route="/api/v1/catalogue/packages",status="200"}"#).await;
        assert_eq!(served, 20.0);
    }

    // With the cache turned off every request is computed from the database (the setting the
    // catalogue-miss benchmark runs with), and ETags still answer 304.
    async fn with_the_cache_off_every_request_is_computed(app) {
        let _ = &app;
        let app = spawn_app_with(app.backend, &[("DTSPP_CATALOGUE_CACHE", "off")]).await;
        let mut etags = Vec::new();
        for _ in 0..3 {
            let res = app.get("/api/v1/catalogue/packages?sort=newest").await;
            assert_eq!(res.status(), 200);
            etags.push(res.headers()["etag"].to_str().unwrap().to_owned());
        }
        assert_eq!(metric(&app, r#"dtspp_catalogue_cache_total{outcome="computed"}"#).await, 3.0);
        assert_eq!(metric(&app, r#"dtspp_catalogue_cache_total{outcome="hit"}"#).await, 0.0);
        assert!(etags.iter().all(|e| *e == etags[0]), "{etags:?}");
        let again = app
            .client
            .get(app.url("/api/v1/catalogue/packages?sort=newest"))
            .header("If-None-Match", &etags[0])
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304);
    }
}
