//! The solution finder: bundles ranked and allocated as the matching engine would, the SME's
//! own sector and cap, filters, and 422s that name the field.

use serde_json::{Value, json};

use crate::catalogue_helpers::list;
use crate::helpers::TestApp;
use crate::packages::{approved_vendor, ok, package_form, post};
use crate::test_on_both_backends;

fn priced(category: &str, sector: &str, name: &str, pricing: Value) -> Value {
    let mut form = package_form(category, sector);
    form["pricing"] = pricing;
    form["name_en"] = json!(name);
    form
}

fn one_off(price: &str) -> Value {
    json!({"model": "one_off", "price": price})
}

/// Lists each (category, sector, name, pricing) from a vendor of its own; returns the ids.
async fn catalogue(app: &TestApp, packages: &[(&str, &str, &str, Value)]) -> Vec<String> {
    let mut ids = Vec::new();
    for (category, sector, name, pricing) in packages {
        let (vendor, admin) = approved_vendor(app).await;
        ids.push(
            list(
                app,
                &vendor,
                &admin,
                priced(category, sector, name, pricing.clone()),
            )
            .await,
        );
    }
    ids
}

async fn find(app: &TestApp, token: Option<&str>, body: Value) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url("/api/v1/solution-finder"))
        .json(&body);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().await.unwrap()
}

async fn bundles(app: &TestApp, token: Option<&str>, body: Value) -> Value {
    let res = find(app, token, body).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// Each bundle as the names of its packages.
fn names(answer: &Value) -> Vec<Vec<String>> {
    answer["bundles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            b["packages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["name_en"].as_str().unwrap().to_owned())
                .collect()
        })
        .collect()
}

test_on_both_backends! {
    async fn bundles_rank_by_needs_then_subsidy_within_the_budget(app) {
        catalogue(&app, &[
            ("e_payment_pos", "retail", "POS 30k", one_off("30000.00")),
            ("e_payment_pos", "retail", "POS 20k", one_off("20000.00")),
            ("crm_loyalty", "retail", "CRM 12k", one_off("12000.00")),
            ("e_payment_pos", "food_and_beverage", "POS for restaurants", one_off("10000.00")),
            ("online_marketing", "retail", "Ads by the month",
             json!({"model": "subscription", "monthly_price": "900.00", "min_term_months": 12})),
        ]).await;

        // Guides: one on CRM for shops, one on CRM for restaurants, one on POS for any sector.
        let admin = app.admin_token().await;
        for (slug, category, sectors) in [
            ("crm-for-shops", "crm_loyalty", json!(["retail"])),
            ("crm-for-restaurants", "crm_loyalty", json!(["food_and_beverage"])),
            ("pos-basics", "e_payment_pos", json!([])),
        ] {
            let guide = json!({
                "slug": slug, "title_en": slug, "title_zh": slug, "body_markdown_en": "Text.",
                "body_markdown_zh": "內文。", "categories": [category], "sectors": sectors,
            });
            ok(post(&app, &admin, "/api/v1/admin/guides", Some(guide)).await).await;
        }

        let answer = bundles(&app, None, json!({
            "sector": "retail", "needs": ["e_payment_pos", "crm_loyalty"], "budget": "60000.00"
        })).await;
        assert_eq!(answer["sector"], "retail");
        assert_eq!(answer["remaining_cap"], "50000.00");
        assert_eq!(names(&answer), vec![
            vec!["POS 30k", "CRM 12k"],
            vec!["POS 20k", "CRM 12k"],
            vec!["POS 30k"],
            vec!["POS 20k"],
            vec!["CRM 12k"],
        ]);
        let first = &answer["bundles"][0];
        assert_eq!(first["rank"], 1);
        assert_eq!(first["needs_covered"], json!(["e_payment_pos", "crm_loyalty"]));
        assert_eq!((first["eligible_cost"].as_str(), first["subsidy"].as_str(), first["sme_pays"].as_str()),
                   (Some("42000.00"), Some("21000.00"), Some("21000.00")));
        assert_eq!(first["explanation_en"],
                   "Covers 2 of 2 needs (E-payment and point-of-sale systems + Customer management, loyalty and coupons); uses HK$21,000 of your HK$50,000 cap; you pay HK$21,000; the best match for your needs and budget.",
                   "{first}");
        assert_eq!(first["explanation"], first["explanation_en"]);
        let guides: Vec<&str> = first["guides"].as_array().unwrap().iter().map(|g| g["slug"].as_str().unwrap()).collect();
        assert_eq!(guides, ["pos-basics", "crm-for-shops"], "the needs' order; the retail guide only");
        assert_eq!(first["guides"][0]["url"], "/api/v1/guides/pos-basics");
        assert_eq!(answer["bundles"][4]["guides"][0]["slug"], "crm-for-shops", "CRM alone");
        assert!(answer["bundles"][1]["explanation_zh"].as_str().unwrap().contains("排在第 1 位之後"), "{answer}");

        // A budget of HK$16,000 leaves the dearer POS out of any pair.
        let answer = bundles(&app, None, json!({
            "sector": "retail", "needs": ["e_payment_pos", "crm_loyalty"], "budget": "16000.00", "language": "zh"
        })).await;
        assert_eq!(names(&answer)[0], vec!["POS 20k", "CRM 12k"]);
        for bundle in answer["bundles"].as_array().unwrap() {
            assert!(bundle["sme_pays"].as_str().unwrap().parse::<f64>().unwrap() <= 16000.0, "{bundle}");
        }
        assert_eq!(answer["bundles"][0]["explanation"], answer["bundles"][0]["explanation_zh"]);

        // Preferences: subscriptions only, and none dearer than HK$800 a month.
        let answer = bundles(&app, None, json!({
            "sector": "retail", "needs": ["online_marketing", "e_payment_pos"], "budget": "90000.00", "prefer": "subscription"
        })).await;
        assert_eq!(names(&answer), vec![vec!["Ads by the month"]]);
        assert_eq!(answer["bundles"][0]["eligible_cost"], "10800.00", "the minimum term, 12 months");
        let answer = bundles(&app, None, json!({
            "sector": "retail", "needs": ["online_marketing"], "budget": "90000.00", "max_monthly": "800.00"
        })).await;
        assert_eq!(answer["bundles"], json!([]));
    }

    async fn the_cap_binds_on_the_bundle_cheapest_first(app) {
        catalogue(&app, &[
            ("e_payment_pos", "food_and_beverage", "POS 90k", one_off("90000.00")),
            ("crm_loyalty", "food_and_beverage", "CRM 12k", one_off("12000.00")),
        ]).await;
        // An SME's own sector (food and beverage) and cap apply.
        let sme = app.sme_token().await;
        let answer = bundles(&app, Some(&sme), json!({
            "needs": ["e_payment_pos", "crm_loyalty"], "budget": "100000.00"
        })).await;
        assert_eq!(answer["sector"], "food_and_beverage");
        let first = &answer["bundles"][0];
        assert_eq!((first["subsidy"].as_str(), first["sme_pays"].as_str()), (Some("50000.00"), Some("52000.00")), "{first}");
        let shares: Vec<(&str, &str)> = first["packages"].as_array().unwrap().iter()
            .map(|p| (p["name_en"].as_str().unwrap(), p["subsidy"].as_str().unwrap()))
            .collect();
        // The cheaper package is funded in full (6,000); the dearer gets the 44,000 left.
        assert_eq!(shares, vec![("POS 90k", "44000.00"), ("CRM 12k", "6000.00")]);
        let res = find(&app, Some(&sme), json!({"sector": "retail", "needs": ["crm_loyalty"], "budget": "1.00"})).await;
        let problem: Value = res.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "sector", "{problem}");
    }

    async fn bad_requests_are_a_422_naming_the_field(app) {
        for (body, field) in [
            (json!({"needs": ["crm_loyalty"], "budget": "100.00"}), "sector"),
            (json!({"sector": "moon", "needs": ["crm_loyalty"], "budget": "100.00"}), "sector"),
            (json!({"sector": "retail", "needs": ["crm_loyalty", "space_mining"], "budget": "100.00"}), "needs[1]"),
            (json!({"sector": "retail", "needs": ["crm_loyalty", "crm_loyalty"], "budget": "100.00"}), "needs[1]"),
            (json!({"sector": "retail", "needs": [], "budget": "100.00"}), "needs"),
            (json!({"sector": "retail", "needs": ["crm_loyalty"], "budget": "-1.00"}), "budget"),
            (json!({"sector": "retail", "needs": ["crm_loyalty"], "budget": "100.00", "prefer": "cheap"}), "prefer"),
            (json!({"sector": "retail", "needs": ["crm_loyalty"]}), "budget"),
        ] {
            let res = find(&app, None, body.clone()).await;
            assert_eq!(res.status(), 422, "{body}");
            let problem: Value = res.json().await.unwrap();
            assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
        }
    }
}
