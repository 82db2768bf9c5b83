//! Packages: drafts, the programme's rules, the review workflow with revisions, and history.

use diesel::prelude::*;
use dtspp::db::schema::package_revisions;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, unique_br};
use crate::test_on_both_backends;

pub fn package_form(category: &str, sector: &str) -> Value {
    json!({
        "category": category,
        "target_sector": sector,
        "name_en": "Cloud POS for small restaurants",
        "name_zh": "雲端收銀系統（小型餐廳）",
        "summary_en": "Tablet POS with QR ordering and e-payments.",
        "summary_zh": "平板收銀、二維碼點餐及電子支付。",
        "pricing": {"model": "one_off", "price": "38000.00"},
        "components": [
            {"kind": "hardware", "description": "10-inch POS tablet", "quantity": 2},
            {"kind": "software", "description": "Cloud POS licence, 24 months", "quantity": 1},
            {"kind": "training", "description": "On-site staff training", "quantity": 1}
        ],
        "options": [{"name_en": "Kitchen printer", "name_zh": "廚房打印機", "price": "1800.00"}],
        // Delivered in days, as the tests' journeys deliver at once: a package that declared
        // weeks would be flagged `fast_delivery`, as it should be.
        "deployment_days": 10
    })
}

/// A vendor approved by a fresh admin: (vendor token, admin token).
pub async fn approved_vendor(app: &TestApp) -> (String, String) {
    let email = format!("v-{}@vendor.hk", uuid::Uuid::new_v4().simple());
    let body = app.register_vendor(&email, &unique_br()).await;
    app.verify_email(&email);
    let admin = app.admin_token().await;
    let id = body["vendor"]["id"].as_str().unwrap();
    let res = app
        .client
        .post(app.url(&format!("/api/v1/admin/vendors/{id}/approve")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let token = app.login(&email, PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    (token, admin)
}

pub async fn post(
    app: &TestApp,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut req = app.client.post(app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.unwrap()
}

pub async fn patch(app: &TestApp, token: &str, path: &str, body: Value) -> reqwest::Response {
    app.client
        .patch(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

pub async fn ok(res: reqwest::Response) -> Value {
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert!(status.is_success(), "{status}: {body}");
    body
}

pub async fn create(app: &TestApp, vendor: &str, category: &str, sector: &str) -> Value {
    let res = post(
        app,
        vendor,
        "/api/v1/vendor/packages",
        Some(package_form(category, sector)),
    )
    .await;
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

test_on_both_backends! {
    async fn a_draft_goes_through_review_into_the_catalogue(app) {
        let (vendor, admin) = approved_vendor(&app).await;
        let draft = create(&app, &vendor, "e_payment_pos", "food_and_beverage").await;
        assert_eq!(draft["status"], "draft");
        assert_eq!(draft["revision"]["number"], 1);
        assert_eq!(draft["revision"]["status"], "draft");
        assert_eq!(draft["revision"]["options"][0]["price"], "1800.00");
        assert!(draft["live_revision_number"].is_null());
        let id = draft["id"].as_str().unwrap();

        let submitted = ok(post(&app, &vendor, &format!("/api/v1/vendor/packages/{id}/submit"), None).await).await;
        assert_eq!(submitted["status"], "submitted");
        let res = patch(&app, &vendor, &format!("/api/v1/vendor/packages/{id}"), json!({"deployment_days": 20})).await;
        assert_eq!(res.status(), 409, "no edits while under review");

        let queue = ok(app.get_as("/api/v1/admin/packages?status=submitted", &admin).await).await;
        assert_eq!(queue["items"].as_array().unwrap().len(), 1);
        let path = format!("/api/v1/admin/packages/{id}/request-changes");
        assert_eq!(post(&app, &admin, &path, None).await.status(), 422, "a comment is required");
        let returned = ok(post(&app, &admin, &path, Some(json!({"comment": "List the training hours."}))).await).await;
        assert_eq!(returned["status"], "changes_requested");

        let edited = ok(patch(&app, &vendor, &format!("/api/v1/vendor/packages/{id}"), json!({"summary_en": "Tablet POS; 6 hours of training."})).await).await;
        assert_eq!(edited["revision"]["number"], 1, "edited in place");
        assert_eq!(edited["revision"]["summary_en"], "Tablet POS; 6 hours of training.");
        ok(post(&app, &vendor, &format!("/api/v1/vendor/packages/{id}/submit"), None).await).await;
        let listed = ok(post(&app, &admin, &format!("/api/v1/admin/packages/{id}/approve"), None).await).await;
        assert_eq!(listed["status"], "listed");
        assert_eq!(listed["live_revision_number"], 1);
        assert!(listed["listed_at"].is_string());

        let history = ok(app.get_as(&format!("/api/v1/vendor/packages/{id}/reviews"), &vendor).await).await;
        let steps: Vec<(&str, &str)> = history
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["action"].as_str().unwrap(), r["to_status"].as_str().unwrap()))
            .collect();
        assert_eq!(steps, [("submit", "submitted"), ("request_changes", "changes_requested"), ("submit", "submitted"), ("approve", "listed")]);
        assert_eq!(history[1]["comment"], "List the training hours.");
        assert_eq!(history[1]["actor_role"], "admin");

        let mail = app.deliver_mail().await;
        let about: Vec<_> = mail.iter().filter(|m| m.body.contains("Cloud POS for small restaurants")).collect();
        assert_eq!(about.len(), 4, "the vendor hears of every step");
        assert!(about.iter().any(|m| m.body.contains("List the training hours.")));
    }

    async fn editing_a_listed_package_opens_a_revision_while_the_listed_one_stays_live(app) {
        let (vendor, admin) = approved_vendor(&app).await;
        let id = create(&app, &vendor, "crm_loyalty", "retail").await["id"].as_str().unwrap().to_owned();
        ok(post(&app, &vendor, &format!("/api/v1/vendor/packages/{id}/submit"), None).await).await;
        ok(post(&app, &admin, &format!("/api/v1/admin/packages/{id}/approve"), None).await).await;

        let url = format!("/api/v1/vendor/packages/{id}");
        let edit = ok(patch(&app, &vendor, &url, json!({"name_en": "Loyalty Plus"})).await).await;
        assert_eq!(edit["status"], "listed", "the listed revision stays live");
        assert_eq!(edit["revision"]["number"], 2);
        assert_eq!(edit["revision"]["status"], "draft");
        assert_eq!(edit["live_revision_number"], 1);
        let again = ok(patch(&app, &vendor, &url, json!({"name_zh": "會員積分加強版"})).await).await;
        assert_eq!(again["revision"]["number"], 2, "further edits change the same revision");
        assert_eq!(again["revision"]["name_en"], "Loyalty Plus");

        ok(post(&app, &vendor, &format!("{url}/submit"), None).await).await;
        let rejected = ok(post(&app, &admin, &format!("/api/v1/admin/packages/{id}/reject"), Some(json!({"comment": "Name too vague"}))).await).await;
        assert_eq!(rejected["status"], "listed", "a rejected edit leaves the package listed");
        assert_eq!(rejected["revision"]["number"], 1);
        assert_eq!(rejected["revision"]["name_en"], "Cloud POS for small restaurants");

        let third = ok(patch(&app, &vendor, &url, json!({"name_en": "Loyalty Stamp Card"})).await).await;
        assert_eq!(third["revision"]["number"], 3);
        ok(post(&app, &vendor, &format!("{url}/submit"), None).await).await;
        let approved = ok(post(&app, &admin, &format!("/api/v1/admin/packages/{id}/approve"), None).await).await;
        assert_eq!(approved["live_revision_number"], 3);
        assert_eq!(approved["revision"]["name_en"], "Loyalty Stamp Card");
        crate::catalogue::assert_catalogue_columns_agree(&app);

        let statuses: Vec<(i64, String)> = package_revisions::table
            .filter(package_revisions::package_id.eq(&id))
            .order(package_revisions::number)
            .select((package_revisions::number, package_revisions::status))
            .load(&mut app.conn())
            .unwrap();
        let expected: Vec<(i64, String)> = vec![(1, "superseded".into()), (2, "rejected".into()), (3, "approved".into())];
        assert_eq!(statuses, expected);
    }

    async fn every_rule_a_package_breaks_is_its_own_field_error(app) {
        let (vendor, _) = approved_vendor(&app).await;
        let mut form = package_form("space_mining", "food_and_beverage");
        form["pricing"]["price"] = json!("100000.01");
        form["deployment_days"] = json!(200);
        form["components"] = json!([{"kind": "hardware", "description": "Tablet", "quantity": 1}]);
        form["name_zh"] = json!("  ");
        form["options"][0]["price"] = json!("0.00");
        let res = post(&app, &vendor, "/api/v1/vendor/packages", Some(form)).await;
        assert_eq!(res.status(), 422);
        let problem: Value = res.json().await.unwrap();
        let fields: Vec<&str> = problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["name_zh"], "shape errors come first");

        let mut form = package_form("space_mining", "food_and_beverage");
        form["pricing"]["price"] = json!("100000.01");
        form["deployment_days"] = json!(200);
        form["components"] = json!([{"kind": "hardware", "description": "Tablet", "quantity": 1}]);
        form["options"][0]["price"] = json!("0.00");
        let problem: Value = post(&app, &vendor, "/api/v1/vendor/packages", Some(form)).await.json().await.unwrap();
        let fields: Vec<&str> = problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["category", "pricing.price", "deployment_days", "components", "options[0].price"]);

        let mut form = package_form("online_marketing", "retail");
        form["pricing"] = json!({"model": "subscription", "monthly_price": "4200.00", "min_term_months": 12});
        let problem: Value = post(&app, &vendor, "/api/v1/vendor/packages", Some(form)).await.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "pricing.monthly_price", "24 x 4200 is over the ceiling");
        let mut form = package_form("online_marketing", "retail");
        form["pricing"] = json!({"model": "subscription", "monthly_price": "980.00", "min_term_months": 12});
        assert_eq!(post(&app, &vendor, "/api/v1/vendor/packages", Some(form)).await.status(), 201);
        let mut form = package_form("e_payment_pos", "retail");
        form["pricing"]["price"] = json!("38000.001");
        assert_eq!(post(&app, &vendor, "/api/v1/vendor/packages", Some(form)).await.status(), 422, "at most 2 decimals");
    }

    async fn a_vendor_has_one_package_per_category_and_sector(app) {
        let (vendor, _) = approved_vendor(&app).await;
        let first = create(&app, &vendor, "e_payment_pos", "food_and_beverage").await;
        let res = post(&app, &vendor, "/api/v1/vendor/packages", Some(package_form("e_payment_pos", "food_and_beverage"))).await;
        assert_eq!(res.status(), 409);
        let problem: Value = res.json().await.unwrap();
        assert!(problem["detail"].as_str().unwrap().contains(first["id"].as_str().unwrap()), "{problem}");
        create(&app, &vendor, "e_payment_pos", "retail").await;
        // Another vendor may use the same pair.
        let (other, _) = approved_vendor(&app).await;
        create(&app, &other, "e_payment_pos", "food_and_beverage").await;
        // And cannot see this vendor's package.
        let id = first["id"].as_str().unwrap();
        assert_eq!(app.get_as(&format!("/api/v1/vendor/packages/{id}"), &other).await.status(), 404);
    }

    async fn a_vendor_that_is_not_approved_keeps_drafts_but_cannot_submit(app) {
        app.register_vendor("pending@vendor.hk", &unique_br()).await;
        app.verify_email("pending@vendor.hk");
        let vendor = app.login("pending@vendor.hk", PASSWORD).await["access_token"].as_str().unwrap().to_owned();
        let draft = create(&app, &vendor, "online_marketing", "food_and_beverage").await;
        let id = draft["id"].as_str().unwrap();
        let res = post(&app, &vendor, &format!("/api/v1/vendor/packages/{id}/submit"), None).await;
        assert_eq!(res.status(), 409);
        let problem: Value = res.json().await.unwrap();
        assert!(problem["detail"].as_str().unwrap().contains("pending"));
        let mine = ok(app.get_as("/api/v1/vendor/packages", &vendor).await).await;
        assert_eq!(mine["items"][0]["status"], "draft");
    }

    async fn suspension_reinstatement_and_withdrawal(app) {
        let (vendor, admin) = approved_vendor(&app).await;
        let id = create(&app, &vendor, "e_payment_pos", "tourism").await["id"].as_str().unwrap().to_owned();
        ok(post(&app, &vendor, &format!("/api/v1/vendor/packages/{id}/submit"), None).await).await;
        ok(post(&app, &admin, &format!("/api/v1/admin/packages/{id}/approve"), None).await).await;
        let suspend = format!("/api/v1/admin/packages/{id}/suspend");
        assert_eq!(post(&app, &admin, &suspend, Some(json!({}))).await.status(), 422);
        let suspended = ok(post(&app, &admin, &suspend, Some(json!({"comment": "Complaints under review"}))).await).await;
        assert_eq!(suspended["status"], "suspended");
        crate::catalogue::assert_catalogue_columns_agree(&app);
        assert_eq!(post(&app, &admin, &format!("/api/v1/admin/packages/{id}/reject"), Some(json!({"comment": "x"}))).await.status(), 409);
        let reinstated = ok(post(&app, &admin, &format!("/api/v1/admin/packages/{id}/approve"), None).await).await;
        assert_eq!(reinstated["status"], "listed");
        let withdrawn = ok(post(&app, &vendor, &format!("/api/v1/vendor/packages/{id}/withdraw"), None).await).await;
        assert_eq!(withdrawn["status"], "withdrawn");
        crate::catalogue::assert_catalogue_columns_agree(&app);
        assert_eq!(post(&app, &vendor, &format!("/api/v1/vendor/packages/{id}/withdraw"), None).await.status(), 409);
        // The slot is free again.
        create(&app, &vendor, "e_payment_pos", "tourism").await;
        let trail = ok(app.get_as(&format!("/api/v1/admin/audit-events?entity_type=package&entity_id={id}"), &admin).await).await;
        let actions: Vec<&str> = trail["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["package.withdraw", "package.approve", "package.suspend", "package.approve", "package.submit", "package.created"]);
    }
}
