//! Registration, login, tokens, email verification and password reset.

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, sme_form, unique_br, vendor_form};
use crate::test_on_both_backends;
use dtspp::error::Problem;

async fn problem_of(res: reqwest::Response) -> Problem {
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    res.json().await.unwrap()
}

fn fields(problem: &Problem) -> Vec<&str> {
    problem.errors.iter().map(|e| e.field.as_str()).collect()
}

test_on_both_backends! {
    async fn a_vendor_registers_pending_and_is_sent_a_verification_link(app) {
        let body = app.register_vendor("Sales@CloudPOS.hk", "12345678").await;
        assert_eq!(body["vendor"]["status"], "pending");
        assert_eq!(body["vendor"]["br_number"], "12345678");
        assert_eq!(body["vendor"]["company_name_zh"], "雲端收銀方案有限公司");
        assert_eq!(body["user"]["email"], "sales@cloudpos.hk");
        assert_eq!(body["user"]["role"], "vendor");
        assert_eq!(body["user"]["email_verified"], false);
        assert!(body.to_string().find("password").is_none(), "{body}");

        let mail = app.deliver_mail().await;
        assert_eq!(mail.len(), 1);
        assert_eq!(mail[0].to, "sales@cloudpos.hk");
        assert!(mail[0].body.contains("https://portal.dtspp.test/verify-email?token="));
        assert!(mail[0].body.contains("確認您的電郵地址"));

        let token = mail[0].link_token();
        let res = app.post_json("/api/v1/auth/verify-email", &json!({"token": token})).await;
        assert_eq!(res.status(), 200);
        let again = app.post_json("/api/v1/auth/verify-email", &json!({"token": token})).await;
        assert_eq!(again.status(), 422, "a verification token works once");

        let access = app.login("sales@cloudpos.hk", PASSWORD).await["access_token"].as_str().unwrap().to_owned();
        let me: Value = app.get_as("/api/v1/me", &access).await.json().await.unwrap();
        assert_eq!(me["user"]["email_verified"], true);
        assert_eq!(me["vendor"]["id"], body["vendor"]["id"]);
        assert!(me["sme"].is_null());
    }

    async fn vendor_registration_reports_every_invalid_field(app) {
        let mut form = vendor_form("not-an-email", "1234567");
        form["password"] = json!("short");
        form["phone"] = json!("call me");
        form["company_name_en"] = json!("   ");
        let res = app.post_json("/api/v1/vendors/register", &form).await;
        assert_eq!(res.status(), 422);
        let problem = problem_of(res).await;
        assert_eq!(fields(&problem), ["br_number", "company_name_en", "email", "password", "phone"]);

        let mut form = vendor_form("same@example.org", "12345678");
        form["password"] = json!("SAME@example.org");
        let problem = problem_of(app.post_json("/api/v1/vendors/register", &form).await).await;
        assert_eq!(fields(&problem), ["password"]);

        let mut form = vendor_form("equity@example.org", "12345678");
        form["net_equity_positive"] = json!(false);
        let problem = problem_of(app.post_json("/api/v1/vendors/register", &form).await).await;
        assert_eq!(fields(&problem), ["net_equity_positive"]);
    }

    async fn a_duplicate_email_or_br_number_is_a_conflict(app) {
        app.register_vendor("first@example.org", "11112222").await;
        let res = app.post_json("/api/v1/vendors/register", &vendor_form("FIRST@example.org", "33334444")).await;
        assert_eq!(res.status(), 409);
        let res = app.post_json("/api/v1/vendors/register", &vendor_form("second@example.org", "11112222")).await;
        assert_eq!(res.status(), 409);
        assert!(problem_of(res).await.detail.contains("BR number"));
        // The refused registrations left nothing behind: no user, no event, no email.
        let res = app.post_json("/api/v1/auth/login", &json!({"email": "second@example.org", "password": PASSWORD})).await;
        assert_eq!(res.status(), 401);
        assert_eq!(app.deliver_mail().await.len(), 1);
    }

    async fn an_eligible_sme_registers_with_no_reasons(app) {
        let body = app.register_sme("owner@tea-house.hk", "87654321").await;
        assert_eq!(body["eligibility"], json!({"eligible": true, "reasons": [], "codes": []}));
        assert_eq!(body["sme"]["district"], "Wan Chai");
        assert_eq!(body["sme"]["sector"], "food_and_beverage");
        assert_eq!(body["user"]["role"], "sme");
    }

    async fn an_ineligible_sme_is_registered_with_each_reason(app) {
        let mut form = sme_form("big@listed.hk", "87654322");
        form["full_time_employees"] = json!(50);
        form["declarations"]["listed_company"] = json!(true);
        form["district"] = json!("灣仔");
        let res = app.post_json("/api/v1/smes/register", &form).await;
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["eligibility"]["eligible"], false);
        assert_eq!(body["eligibility"]["codes"], json!(["listed_company", "too_many_employees"]));
        assert_eq!(body["eligibility"]["reasons"].as_array().unwrap().len(), 2);
        assert_eq!(body["sme"]["district"], "Wan Chai");
    }

    async fn sme_registration_checks_sector_identity_and_duplicates(app) {
        let mut form = sme_form("a@shop.hk", "12121212");
        form["sector"] = json!("space_mining");
        let problem_body = problem_of(app.post_json("/api/v1/smes/register", &form).await).await;
        assert_eq!(fields(&problem_body), ["sector"]);

        let mut form = sme_form("b@shop.hk", "12121212");
        form.as_object_mut().unwrap().remove("br_number");
        let problem_body = problem_of(app.post_json("/api/v1/smes/register", &form).await).await;
        assert_eq!(fields(&problem_body), ["br_number"]);
        form["hawker_licence"] = json!("FP-123456");
        assert_eq!(app.post_json("/api/v1/smes/register", &form).await.status(), 201);

        app.register_sme("c@shop.hk", "34343434").await;
        let res = app.post_json("/api/v1/smes/register", &sme_form("d@shop.hk", "34343434")).await;
        assert_eq!(res.status(), 409, "one SME per BR number");
    }

    async fn a_failed_login_never_says_which_part_was_wrong(app) {
        app.register_sme("owner@shop.hk", &unique_br()).await;
        let wrong_password = app
            .post_json("/api/v1/auth/login", &json!({"email": "owner@shop.hk", "password": "not the password"}))
            .await;
        let unknown_email = app
            .post_json("/api/v1/auth/login", &json!({"email": "nobody@shop.hk", "password": PASSWORD}))
            .await;
        assert_eq!(wrong_password.status(), 401);
        assert_eq!(unknown_email.status(), 401);
        assert_eq!(wrong_password.headers()["www-authenticate"], "Bearer");
        assert_eq!(problem_of(wrong_password).await.detail, problem_of(unknown_email).await.detail);
    }

    async fn login_gives_a_short_lived_jwt_with_the_required_claims(app) {
        app.register_vendor("claims@vendor.hk", &unique_br()).await;
        let pair = app.login("claims@vendor.hk", PASSWORD).await;
        assert_eq!(pair["token_type"], "Bearer");
        assert_eq!(pair["expires_in"], 900);
        assert_eq!(pair["role"], "vendor");
        let access = pair["access_token"].as_str().unwrap();
        let payload = access.split('.').nth(1).unwrap();
        use base64::Engine;
        let claims: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap(),
        )
        .unwrap();
        for claim in ["sub", "role", "exp", "iat", "jti"] {
            assert!(!claims[claim].is_null(), "missing {claim} in {claims}");
        }
        assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 900);
    }

    async fn refresh_rotates_and_reusing_a_rotated_token_revokes_the_family(app) {
        app.register_sme("rotate@shop.hk", &unique_br()).await;
        let first = app.login("rotate@shop.hk", PASSWORD).await;
        let old = first["refresh_token"].as_str().unwrap().to_owned();
        let res = app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": old})).await;
        assert_eq!(res.status(), 200);
        let second: Value = res.json().await.unwrap();
        let newer = second["refresh_token"].as_str().unwrap().to_owned();
        assert_ne!(old, newer);

        // An attacker replays the old token: refused, and the whole family dies with it.
        let replay = app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": old})).await;
        assert_eq!(replay.status(), 401);
        let legit = app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": newer})).await;
        assert_eq!(legit.status(), 401, "the family is revoked");

        let admin = app.admin_token().await;
        let events: Value = app
            .get_as("/api/v1/admin/audit-events?action=auth.refresh_token_reused", &admin)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(events["items"].as_array().unwrap().len(), 1);
        assert_eq!(events["items"][0]["after"]["revoked"], 1);

        // A separate login is a separate family and still works.
        let other = app.login("rotate@shop.hk", PASSWORD).await;
        let res = app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": other["refresh_token"]})).await;
        assert_eq!(res.status(), 200);
    }

    async fn logout_revokes_the_refresh_token(app) {
        app.register_sme("bye@shop.hk", &unique_br()).await;
        let pair = app.login("bye@shop.hk", PASSWORD).await;
        let res = app
            .client
            .post(app.url("/api/v1/auth/logout"))
            .bearer_auth(pair["access_token"].as_str().unwrap())
            .json(&json!({"refresh_token": pair["refresh_token"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
        let res = app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": pair["refresh_token"]})).await;
        assert_eq!(res.status(), 401);
        let res = app.client.post(app.url("/api/v1/auth/logout")).send().await.unwrap();
        assert_eq!(res.status(), 401, "logout needs an access token");
    }

    async fn a_password_reset_link_sets_a_new_password_once_and_ends_every_session(app) {
        app.register_vendor("forgot@vendor.hk", &unique_br()).await;
        let session = app.login("forgot@vendor.hk", PASSWORD).await;
        let res = app.post_json("/api/v1/auth/password-reset", &json!({"email": "forgot@vendor.hk"})).await;
        assert_eq!(res.status(), 202);
        let unknown = app.post_json("/api/v1/auth/password-reset", &json!({"email": "ghost@vendor.hk"})).await;
        assert_eq!(unknown.status(), 202, "the answer reveals nothing");

        let mail = app.deliver_mail().await;
        let reset = mail.iter().find(|m| m.body.contains("/reset-password?token=")).expect("a reset email");
        assert_eq!(reset.to, "forgot@vendor.hk");
        assert!(reset.body.contains("重設您的"));
        let token = reset.link_token();

        let weak = app
            .post_json("/api/v1/auth/password-reset/confirm", &json!({"token": token, "new_password": "short"}))
            .await;
        assert_eq!(weak.status(), 422);
        let body = json!({"token": token, "new_password": "a brand new passphrase"});
        let res = app.post_json("/api/v1/auth/password-reset/confirm", &body).await;
        assert_eq!(res.status(), 204);
        let again = app.post_json("/api/v1/auth/password-reset/confirm", &body).await;
        assert_eq!(again.status(), 422, "a reset token works once");

        app.login("forgot@vendor.hk", "a brand new passphrase").await;
        let old = app.post_json("/api/v1/auth/login", &json!({"email": "forgot@vendor.hk", "password": PASSWORD})).await;
        assert_eq!(old.status(), 401);
        let refresh = app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": session["refresh_token"]})).await;
        assert_eq!(refresh.status(), 401, "sessions from before the reset are revoked");
    }

    async fn every_protected_endpoint_answers_each_role_as_it_should(app) {
        let vendor = app.vendor_token().await;
        let sme = app.sme_token().await;
        let admin = app.admin_token().await;
        // (method, path, [anonymous, vendor, sme, admin])
        let matrix: &[(&str, &str, [u16; 4])] = &[
            ("GET", "/api/v1/me", [401, 200, 200, 200]),
            ("POST", "/api/v1/auth/logout", [401, 204, 204, 204]),
            ("GET", "/api/v1/admin/audit-events", [401, 403, 403, 200]),
            ("GET", "/api/v1/admin/outbox", [401, 403, 403, 200]),
            ("GET", "/api/v1/vendor/profile", [401, 200, 403, 403]),
            ("GET", "/api/v1/admin/vendors", [401, 403, 403, 200]),
            ("GET", "/api/v1/vendor/packages", [401, 200, 403, 403]),
            ("POST", "/api/v1/vendor/packages", [401, 422, 403, 403]),
            ("GET", "/api/v1/vendor/packages/00000000-0000-0000-0000-000000000000", [401, 404, 403, 403]),
            ("PATCH", "/api/v1/vendor/packages/00000000-0000-0000-0000-000000000000", [401, 404, 403, 403]),
            ("POST", "/api/v1/vendor/packages/00000000-0000-0000-0000-000000000000/submit", [401, 404, 403, 403]),
            ("POST", "/api/v1/vendor/packages/00000000-0000-0000-0000-000000000000/withdraw", [401, 404, 403, 403]),
            ("GET", "/api/v1/vendor/packages/00000000-0000-0000-0000-000000000000/reviews", [401, 404, 403, 403]),
            ("GET", "/api/v1/admin/packages", [401, 403, 403, 200]),
            ("GET", "/api/v1/admin/packages/00000000-0000-0000-0000-000000000000", [401, 403, 403, 404]),
            ("GET", "/api/v1/admin/packages/00000000-0000-0000-0000-000000000000/reviews", [401, 403, 403, 404]),
            ("POST", "/api/v1/admin/packages/00000000-0000-0000-0000-000000000000/approve", [401, 403, 403, 404]),
            ("POST", "/api/v1/admin/packages/00000000-0000-0000-0000-000000000000/request-changes", [401, 403, 403, 404]),
            ("POST", "/api/v1/admin/packages/00000000-0000-0000-0000-000000000000/reject", [401, 403, 403, 404]),
            ("POST", "/api/v1/admin/packages/00000000-0000-0000-0000-000000000000/suspend", [401, 403, 403, 404]),
            ("POST", "/api/v1/admin/vendors/00000000-0000-0000-0000-000000000000/approve", [401, 403, 403, 404]),
            ("POST", "/api/v1/admin/vendors/00000000-0000-0000-0000-000000000000/reject", [401, 403, 403, 422]),
            ("POST", "/api/v1/admin/vendors/00000000-0000-0000-0000-000000000000/suspend", [401, 403, 403, 422]),
            ("POST", "/api/v1/sme/enquiries", [401, 403, 422, 403]),
            ("GET", "/api/v1/sme/enquiries", [401, 403, 200, 403]),
            ("GET", "/api/v1/vendor/enquiries", [401, 200, 403, 403]),
            ("POST", "/api/v1/vendor/enquiries/00000000-0000-0000-0000-000000000000/confirm", [401, 404, 403, 403]),
            ("POST", "/api/v1/vendor/enquiries/00000000-0000-0000-0000-000000000000/decline", [401, 422, 403, 403]),
            ("POST", "/api/v1/sme/applications", [401, 403, 422, 403]),
            ("GET", "/api/v1/sme/applications", [401, 403, 200, 403]),
            ("GET", "/api/v1/sme/applications/00000000-0000-0000-0000-000000000000", [401, 403, 404, 403]),
            ("POST", "/api/v1/sme/applications/00000000-0000-0000-0000-000000000000/withdraw", [401, 403, 404, 403]),
            ("POST", "/api/v1/sme/applications/00000000-0000-0000-0000-000000000000/confirm-delivery", [401, 403, 422, 403]),
            ("GET", "/api/v1/vendor/applications", [401, 200, 403, 403]),
            ("POST", "/api/v1/vendor/applications/00000000-0000-0000-0000-000000000000/deliver", [401, 422, 403, 403]),
            ("GET", "/api/v1/admin/applications", [401, 403, 403, 200]),
            ("GET", "/api/v1/admin/applications/00000000-0000-0000-0000-000000000000", [401, 403, 403, 404]),
            ("POST", "/api/v1/admin/applications/00000000-0000-0000-0000-000000000000/approve", [401, 403, 403, 404]),
            ("POST", "/api/v1/admin/applications/00000000-0000-0000-0000-000000000000/reject", [401, 403, 403, 422]),
            ("POST", "/api/v1/admin/applications/00000000-0000-0000-0000-000000000000/verify-claim", [401, 403, 403, 404]),
            ("POST", "/api/v1/admin/applications/00000000-0000-0000-0000-000000000000/disburse", [401, 403, 403, 404]),
            ("GET", "/api/v1/admin/budget", [401, 403, 403, 200]),
            ("GET", "/api/v1/admin/budget/ledger", [401, 403, 403, 200]),
            ("GET", "/api/v1/admin/risk-flags", [401, 403, 403, 200]),
            ("GET", "/api/v1/admin/risk-flags/00000000-0000-0000-0000-000000000000", [401, 403, 403, 404]),
            ("POST", "/api/v1/admin/risk-flags/00000000-0000-0000-0000-000000000000/dismiss", [401, 403, 403, 422]),
            ("POST", "/api/v1/admin/risk-flags/00000000-0000-0000-0000-000000000000/confirm", [401, 403, 403, 422]),
            ("POST", "/api/v1/admin/risk/scan", [401, 403, 403, 200]),
            ("GET", "/api/v1/admin/risk/summary", [401, 403, 403, 200]),
            ("GET", "/api/v1/admin/vendors/00000000-0000-0000-0000-000000000000/risk", [401, 403, 403, 404]),
            ("GET", "/api/v1/admin/me/conflicts", [401, 403, 403, 200]),
            ("POST", "/api/v1/admin/me/conflicts", [401, 403, 403, 422]),
            ("GET", "/api/v1/admin/reports/drawdown", [401, 403, 403, 200]),
            ("GET", "/api/v1/admin/reports/drawdown?format=csv&group_by=district", [401, 403, 403, 200]),
            ("GET", "/api/v1/admin/reports/drawdown.svg", [401, 403, 403, 200]),
            ("GET", "/api/v1/admin/reports/grants", [401, 403, 403, 200]),
            ("GET", "/api/v1/admin/batches", [401, 403, 403, 200]),
            ("POST", "/api/v1/admin/batches", [401, 403, 403, 422]),
            ("GET", "/api/v1/admin/programme/rules", [401, 403, 403, 200]),
            ("PUT", "/api/v1/admin/programme/rules", [401, 403, 403, 422]),
            ("GET", "/api/v1/guides", [200, 200, 200, 200]),
            ("GET", "/api/v1/guides/no-such-guide", [404, 404, 404, 404]),
            ("POST", "/api/v1/admin/guides", [401, 403, 403, 422]),
            ("GET", "/api/v1/admin/guides/no-such-guide", [401, 403, 403, 404]),
            ("PATCH", "/api/v1/admin/guides/no-such-guide", [401, 403, 403, 422]),
            ("POST", "/api/v1/solution-finder", [422, 422, 422, 422]),
            ("GET", "/api/v1/events", [200, 200, 200, 200]),
            ("GET", "/api/v1/events/no-such-event", [404, 404, 404, 404]),
            ("GET", "/api/v1/events/no-such-event/calendar.ics", [404, 404, 404, 404]),
            ("POST", "/api/v1/events/no-such-event/registrations", [401, 404, 404, 403]),
            ("DELETE", "/api/v1/events/no-such-event/registrations/mine", [401, 404, 404, 404]),
            ("GET", "/api/v1/me/registrations", [401, 200, 200, 200]),
            ("POST", "/api/v1/admin/events", [401, 403, 403, 422]),
            ("PATCH", "/api/v1/admin/events/no-such-event", [401, 403, 403, 422]),
            ("POST", "/api/v1/admin/events/no-such-event/cancel", [401, 403, 403, 422]),
            ("GET", "/api/v1/admin/events/no-such-event/registrations", [401, 403, 403, 404]),
            ("POST", "/api/v1/admin/events/no-such-event/attendance", [401, 403, 403, 422]),
            ("GET", "/api/v1/admin/reports/attendance", [401, 403, 403, 200]),
            ("GET", "/api/v1/admin/smes/no-such-sme/attendance", [401, 403, 403, 404]),
        ];
        for (method, path, expected) in matrix {
            for (token, want) in [None, Some(&vendor), Some(&sme), Some(&admin)].into_iter().zip(expected) {
                let mut req = app.client.request(method.parse().unwrap(), app.url(path));
                if ["POST", "PATCH", "PUT"].contains(method) {
                    req = req.json(&json!({}));
                }
                if let Some(token) = token {
                    req = req.bearer_auth(token);
                }
                let status = req.send().await.unwrap().status().as_u16();
                assert_eq!(status, *want, "{method} {path} with {token:?}");
            }
        }
    }
}

#[tokio::test]
async fn auth_endpoints_are_rate_limited_with_retry_after() {
    let app = crate::helpers::spawn_app_with(
        dtspp::db::Backend::Sqlite,
        &[("DTSPP_AUTH_RATE_LIMIT", "3")],
    )
    .await;
    let body = json!({"email": "brute@force.hk", "password": "guess guess guess"});
    for _ in 0..3 {
        assert_eq!(
            app.post_json("/api/v1/auth/login", &body).await.status(),
            401
        );
    }
    let res = app.post_json("/api/v1/auth/login", &body).await;
    assert_eq!(res.status(), 429);
    let retry_after: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let problem: Problem = res.json().await.unwrap();
    assert_eq!(problem.problem_type, "urn:dtspp:problem:rate-limited");
    // Registration and password reset share the limiter's per-IP budget.
    let res = app
        .post_json(
            "/api/v1/auth/password-reset",
            &json!({"email": "other@x.hk"}),
        )
        .await;
    assert_eq!(res.status(), 429);
}
