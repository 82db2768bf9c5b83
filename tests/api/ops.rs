//! Liveness, readiness and metrics.

use crate::helpers::{TestDatabase, postgres_enabled, spawn_app, spawn_app_unmigrated};
use crate::test_on_both_backends;
use dtspp::db::Backend;
use dtspp::error::Problem;

test_on_both_backends! {
    async fn healthz_answers_ok(app) {
        let res = app.get("/healthz").await;
        assert_eq!(res.status(), 200);
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["status"], "ok");
    }

    async fn readyz_answers_ready_with_the_backend_in_use(app) {
        let res = app.get("/readyz").await;
        assert_eq!(res.status(), 200);
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["status"], "ready");
        assert_eq!(body["database"], app.backend.as_str());
    }

    async fn metrics_count_requests_by_route_pattern_and_show_the_pool(app) {
        for _ in 0..3 {
            assert_eq!(app.get("/healthz").await.status(), 200);
        }
        assert_eq!(app.get("/no/such/page").await.status(), 404);
        let res = app.get("/metrics").await;
        assert_eq!(res.status(), 200);
        let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
        let text = res.text().await.unwrap();
        assert!(
            text.contains(r#"dtspp_http_requests_total{method="GET",route="/healthz",status="200"} 3"#),
            "{text}"
        );
        assert!(text.contains(r#"route="<unmatched>",status="404"} 1"#), "{text}");
        assert!(!text.contains("/no/such/page"), "raw paths must not become labels");
        assert!(text.contains(r#"dtspp_http_request_duration_seconds_count{method="GET",route="/healthz"} 3"#));
        assert!(text.contains("dtspp_db_pool_max_connections 4"), "{text}");
        assert!(text.contains("dtspp_db_pool_connections "));
        assert!(text.contains("dtspp_db_pool_idle_connections "));
    }
}

async fn assert_unready(app: &crate::helpers::TestApp) {
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let problem: Problem = res.json().await.unwrap();
    assert_eq!(problem.status, 503);
    assert!(!problem.request_id.is_empty());
    // Liveness does not depend on the database.
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn readyz_is_503_when_the_database_cannot_be_reached() {
    // Nothing listens on port 1: the app starts (it opens connections lazily) but is not ready.
    let unreachable = TestDatabase::External {
        url: "postgres://postgres@127.0.0.1:1/dtspp".to_owned(),
    };
    let app = spawn_app_unmigrated(unreachable);
    assert_unready(&app).await;
}

#[tokio::test]
async fn readyz_goes_503_when_a_live_postgres_database_disappears() {
    if !postgres_enabled() {
        return;
    }
    let app = spawn_app(Backend::Postgres).await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    app.database.drop_now();
    assert_unready(&app).await;
}
