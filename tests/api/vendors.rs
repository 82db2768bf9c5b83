//! Vendor verification by admins, and the vendor's view of it.

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, unique_br};
use crate::test_on_both_backends;

test_on_both_backends! {
    async fn an_admin_approves_suspends_and_reinstates_a_vendor_who_is_told_each_time(app) {
        let registered = app.register_vendor("verify@vendor.hk", &unique_br()).await;
        let id = registered["vendor"]["id"].as_str().unwrap().to_owned();
        let admin = app.admin_token().await;
        let vendor = app.login("verify@vendor.hk", PASSWORD).await["access_token"].as_str().unwrap().to_owned();

        let queue: Value = app.get_as("/api/v1/admin/vendors?status=pending", &admin).await.json().await.unwrap();
        let listed = queue["items"].as_array().unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0]["id"], id.as_str());
        assert_eq!(listed[0]["email"], "verify@vendor.hk");

        let decide = |action: &'static str, body: Value| {
            let app = &app;
            let admin = admin.clone();
            let id = id.clone();
            async move {
                app.client
                    .post(app.url(&format!("/api/v1/admin/vendors/{id}/{action}")))
                    .bearer_auth(admin)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
            }
        };
        let res = app.client.post(app.url(&format!("/api/v1/admin/vendors/{id}/approve"))).bearer_auth(&admin).send().await.unwrap();
        assert_eq!(res.status(), 200, "approve needs no body");
        let approved: Value = res.json().await.unwrap();
        assert_eq!(approved["status"], "approved");
        let profile: Value = app.get_as("/api/v1/vendor/profile", &vendor).await.json().await.unwrap();
        assert_eq!(profile["status"], "approved");

        assert_eq!(decide("suspend", json!({})).await.status(), 422, "suspension needs a reason");
        assert_eq!(decide("suspend", json!({"reason": "   "})).await.status(), 422);
        let res = decide("suspend", json!({"reason": "Payment proofs under review"})).await;
        assert_eq!(res.status(), 200);
        let profile: Value = app.get_as("/api/v1/vendor/profile", &vendor).await.json().await.unwrap();
        assert_eq!(profile["status"], "suspended");
        assert_eq!(profile["status_reason"], "Payment proofs under review");

        assert_eq!(decide("reject", json!({"reason": "late"})).await.status(), 409, "only a pending vendor can be rejected");
        assert_eq!(decide("suspend", json!({"reason": "again"})).await.status(), 409);
        let res = decide("approve", json!({})).await;
        assert_eq!(res.status(), 200, "a suspended vendor is reinstated");

        // Mail files carry no order; tell the three decisions apart by their content.
        let mail = app.deliver_mail().await;
        let told: Vec<_> = mail
            .iter()
            .filter(|m| m.to == "verify@vendor.hk" && m.body.contains("Your vendor registration"))
            .collect();
        assert_eq!(told.len(), 3, "approved, suspended, reinstated");
        assert_eq!(told.iter().filter(|m| m.body.contains("has been approved")).count(), 2);
        assert!(told.iter().any(|m| m.body.contains("Payment proofs under review") && m.body.contains("暫停")));

        let trail: Value = app
            .get_as(&format!("/api/v1/admin/audit-events?entity_type=vendor&entity_id={id}"), &admin)
            .await
            .json()
            .await
            .unwrap();
        let actions: Vec<&str> = trail["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["vendor.reinstated", "vendor.suspended", "vendor.approved", "vendor.registered"]);
        assert_eq!(trail["items"][1]["before"]["status"], "approved");
        assert_eq!(trail["items"][1]["after"]["status"], "suspended");
    }

    async fn rejection_needs_a_reason_and_is_final_for_a_pending_vendor(app) {
        let registered = app.register_vendor("reject@vendor.hk", &unique_br()).await;
        let id = registered["vendor"]["id"].as_str().unwrap();
        let admin = app.admin_token().await;
        let url = app.url(&format!("/api/v1/admin/vendors/{id}/reject"));
        let res = app.client.post(&url).bearer_auth(&admin).json(&json!({})).send().await.unwrap();
        assert_eq!(res.status(), 422);
        let res = app.client.post(&url).bearer_auth(&admin).json(&json!({"reason": "No track record in F&B or retail"})).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["status"], "rejected");
        assert_eq!(body["status_reason"], "No track record in F&B or retail");
        let res = app.client.post(&url).bearer_auth(&admin).json(&json!({"reason": "again"})).send().await.unwrap();
        assert_eq!(res.status(), 409);
        let bad = app.get_as("/api/v1/admin/vendors?status=archived", &admin).await;
        assert_eq!(bad.status(), 422);
        let malformed = app.client
            .post(app.url(&format!("/api/v1/admin/vendors/{id}/approve")))
            .bearer_auth(&admin)
            .header("content-type", "application/json")
            .body("{")
            .send()
            .await
            .unwrap();
        assert_eq!(malformed.status(), 400, "a malformed optional body is still an error");
    }
}

#[tokio::test]
async fn the_vendor_list_pages_newest_first() {
    let app = crate::helpers::spawn_app(dtspp::db::Backend::Sqlite).await;
    for i in 0..5 {
        app.register_vendor(&format!("page{i}@vendor.hk"), &unique_br())
            .await;
    }
    let admin = app.admin_token().await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/admin/vendors?limit=2&cursor={c}"),
            None => "/api/v1/admin/vendors?limit=2".to_owned(),
        };
        let page: Value = app.get_as(&path, &admin).await.json().await.unwrap();
        for item in page["items"].as_array().unwrap() {
            seen.push(item["email"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        seen,
        [
            "page4@vendor.hk",
            "page3@vendor.hk",
            "page2@vendor.hk",
            "page1@vendor.hk",
            "page0@vendor.hk"
        ]
    );
}
