//! Error bodies, request ids and response headers, as every endpoint shares them.

use crate::test_on_both_backends;
use dtspp::error::Problem;

async fn problem_of(res: reqwest::Response) -> (u16, reqwest::header::HeaderMap, Problem) {
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    assert_eq!(
        headers["content-type"], "application/problem+json",
        "status {status}"
    );
    let problem: Problem = res.json().await.expect("a problem+json body");
    assert_eq!(problem.status, status);
    (status, headers, problem)
}

test_on_both_backends! {
    async fn an_unknown_route_is_a_404_problem_even_with_a_broken_body(app) {
        let res = app
            .client
            .post(app.url("/api/v1/nope"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("{")
            .send()
            .await
            .unwrap();
        let (status, headers, problem) = problem_of(res).await;
        assert_eq!(status, 404);
        assert_eq!(problem.problem_type, "urn:dtspp:problem:not-found");
        assert_eq!(problem.title, "Not Found");
        assert_eq!(headers["x-request-id"].to_str().unwrap(), problem.request_id);
    }

    async fn a_known_path_with_the_wrong_method_is_a_405_problem_with_allow(app) {
        let res = app.client.post(app.url("/healthz")).send().await.unwrap();
        let (status, headers, problem) = problem_of(res).await;
        assert_eq!(status, 405);
        assert_eq!(headers["allow"], "GET");
        assert_eq!(problem.problem_type, "urn:dtspp:problem:method-not-allowed");
        let res = app.client.delete(app.url("/openapi.json")).send().await.unwrap();
        assert_eq!(res.status(), 405);
    }

    async fn a_sane_caller_request_id_is_echoed_in_header_and_problem(app) {
        let res = app
            .client
            .get(app.url("/missing"))
            .header("x-request-id", "trace-abc-123")
            .send()
            .await
            .unwrap();
        let (_, headers, problem) = problem_of(res).await;
        assert_eq!(headers["x-request-id"], "trace-abc-123");
        assert_eq!(problem.request_id, "trace-abc-123");
    }

    async fn a_missing_or_unsafe_request_id_is_replaced_by_a_fresh_one(app) {
        let first = app.get("/healthz").await;
        let second = app.get("/healthz").await;
        let a = first.headers()["x-request-id"].to_str().unwrap().to_owned();
        let b = second.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert!(uuid::Uuid::parse_str(&a).is_ok(), "{a}");
        assert_ne!(a, b);
        let long = "x".repeat(500);
        let res = app.client.get(app.url("/healthz")).header("x-request-id", &long).send().await.unwrap();
        let id = res.headers()["x-request-id"].to_str().unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "an overlong id is replaced, got {id}");
    }

    async fn responses_carry_the_security_headers(app) {
        let res = app.get("/healthz").await;
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        assert_eq!(res.headers()["referrer-policy"], "no-referrer");
        assert_eq!(res.headers()["x-frame-options"], "DENY");
    }
}

#[tokio::test]
async fn cors_admits_only_the_configured_origins() {
    let app = crate::helpers::spawn_app_with(
        dtspp::db::Backend::Sqlite,
        &[("DTSPP_CORS_ORIGINS", "https://portal.example.org")],
    )
    .await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/auth/login"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let allowed = preflight("https://portal.example.org").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://portal.example.org"
    );
    let other = preflight("https://evil.example.com").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
    let simple = app
        .client
        .get(app.url("/healthz"))
        .header("origin", "https://portal.example.org")
        .send()
        .await
        .unwrap();
    assert_eq!(
        simple.headers()["access-control-allow-origin"],
        "https://portal.example.org"
    );
    assert!(
        simple.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .contains("x-request-id")
    );
}

test_on_both_backends! {
    async fn json_of_the_wrong_shape_is_a_422_and_broken_json_a_400(app) {
        let sme = app.sme_token().await;
        let send = |body: &'static str| {
            app.client
                .post(app.url("/api/v1/sme/applications"))
                .bearer_auth(&sme)
                .header("content-type", "application/json")
                .body(body)
                .send()
        };
        for body in ["[null, null]", "[]", "42", "\"text\"", "null"] {
            let (status, _, problem) = problem_of(send(body).await.unwrap()).await;
            assert_eq!(status, 422, "{body}");
            assert_eq!(problem.errors[0].field, "body", "{body}");
        }
        for body in ["{", "[null,", "{} {}", "{\"enquiry_id\": 1,}"] {
            let (status, _, _) = problem_of(send(body).await.unwrap()).await;
            assert_eq!(status, 400, "{body}");
        }
        let (status, _, problem) = problem_of(send("{\"enquiry_id\": 7}").await.unwrap()).await;
        assert_eq!((status, problem.errors[0].field.as_str()), (422, "enquiry_id"));
    }

    // PostgreSQL cannot store U+0000 in text; schemathesis sent it in a query parameter and in
    // a JSON body, and both were 500s there. Now both backends refuse it before any handler.
    async fn the_nul_character_is_refused_wherever_text_arrives(app) {
        let vendor = app.register_vendor("nul@example.org", "51234567").await;
        let vendor_id = vendor["vendor"]["id"].as_str().unwrap();
        for (query, field) in [
            (format!("?vendor_id={vendor_id}&category=crm%00"), "category"),
            ("?q=pos%00terminal".to_owned(), "q"),
            ("?sort=price_desc&sector=%00".to_owned(), "sector"),
        ] {
            let res = app.get(&format!("/api/v1/catalogue/packages{query}")).await;
            let (status, _, problem) = problem_of(res).await;
            assert_eq!((status, problem.errors[0].field.as_str()), (422, field), "{query}");
            assert!(problem.errors[0].message.contains("NUL"), "{problem:?}");
        }
        let (status, _, _) = problem_of(app.get("/api/v1/catalogue/packages/ab%00cd").await).await;
        assert_eq!(status, 404);

        let admin = app.admin_token().await;
        let res = app.client.post(app.url(&format!("/api/v1/admin/vendors/{vendor_id}/suspend")))
            .bearer_auth(&admin).json(&serde_json::json!({"reason": "Under\u{0}investigation"})).send().await.unwrap();
        let (status, _, problem) = problem_of(res).await;
        assert_eq!((status, problem.errors[0].field.as_str()), (422, "reason"));
        let audit = app.get_as("/api/v1/admin/audit", &admin).await.text().await.unwrap();
        assert!(!audit.contains("vendor.suspended"), "nothing was written: {audit}");
    }
}
