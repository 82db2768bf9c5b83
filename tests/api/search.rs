//! Bilingual search: the same queries find the same packages on both backends.

use serde_json::{Value, json};

use crate::catalogue_helpers::list;
use crate::packages::{approved_vendor, ok, package_form};
use crate::test_on_both_backends;

fn named(
    category: &str,
    sector: &str,
    en: &str,
    zh: &str,
    summary_en: &str,
    summary_zh: &str,
) -> Value {
    let mut form = package_form(category, sector);
    form["name_en"] = json!(en);
    form["name_zh"] = json!(zh);
    form["summary_en"] = json!(summary_en);
    form["summary_zh"] = json!(summary_zh);
    form
}

async fn found(app: &crate::helpers::TestApp, q: &str) -> Vec<String> {
    let url = format!("/api/v1/catalogue/packages?q={}", urlencode(q));
    let page = ok(app.get(&url).await).await;
    let mut ids: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

test_on_both_backends! {
    async fn english_and_chinese_queries_find_the_same_packages_on_both_backends(app) {
        let (vendor, admin) = approved_vendor(&app).await;
        let pos = list(&app, &vendor, &admin, named("e_payment_pos", "food_and_beverage", "Cloud POS System", "雲端收銀系統", "Tablet point of sale.", "平板收銀。")).await;
        let loyalty = list(&app, &vendor, &admin, named("crm_loyalty", "retail", "Member Rewards", "會員獎賞計劃", "Collect points on every purchase.", "以手機累積會員積分及兌換優惠。")).await;
        let social = list(&app, &vendor, &admin, named("online_marketing", "retail", "Social Media Booster", "社交媒體推廣", "Managed posts and ads.", "代管帖文及廣告。")).await;
        let mut everything = vec![pos.clone(), loyalty.clone(), social.clone()];
        everything.sort();

        let table: &[(&str, Vec<String>)] = &[
            // The vendor's own name, 雲端收銀方案有限公司, holds 收銀 too.
            ("收銀", everything.clone()),
            ("收銀系統", vec![pos.clone()]),
            ("平板收銀", vec![pos.clone()]),
            // The last word is a prefix while the user types: "pos" finds "POS" and "posts".
            ("pos", vec![pos.clone(), social.clone()]),
            ("purch", vec![loyalty.clone()]),
            ("POS ", vec![pos.clone()]),
            ("pos system", vec![pos.clone()]),
            ("雲端收銀系統", vec![pos.clone()]),
            ("會員 積分", vec![loyalty.clone()]),
            ("積分", vec![loyalty.clone()]),
            ("social booster", vec![social.clone()]),
            ("ＳＯＣＩＡＬ", vec![social.clone()]),
            ("cloud 積分", vec![]),
            ("cloudpos", everything.clone()),
            ("雲端收銀方案", everything.clone()),
            ("xylophone", vec![]),
        ];
        for (q, expected) in table {
            let mut expected = expected.clone();
            expected.sort();
            assert_eq!(found(&app, q).await, expected, "q={q}");
        }

        let facets = ok(app.get(&format!("/api/v1/catalogue/packages?q={}", urlencode("會員"))).await).await;
        assert_eq!(facets["facets"]["category"], json!({"crm_loyalty": 1}), "facets honour the search");
        let res = app.get("/api/v1/catalogue/packages?q=%2C%2E%21").await;
        assert_eq!(res.status(), 422);

        // Relevance pages through every match once.
        let mut seen = Vec::new();
        let mut cursor = String::new();
        loop {
            let page = ok(app.get(&format!("/api/v1/catalogue/packages?q=cloudpos&sort=relevance&limit=1{cursor}")).await).await;
            seen.extend(page["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()));
            match page["next_cursor"].as_str() {
                Some(next) => cursor = format!("&cursor={next}"),
                None => break,
            }
        }
        seen.sort();
        assert_eq!(seen, everything);

        // A new name is searchable once its revision is listed, not before.
        let url = format!("/api/v1/vendor/packages/{pos}");
        let res = app.client.patch(app.url(&url)).bearer_auth(&vendor).json(&json!({"name_en": "Harbour Checkout"})).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(found(&app, "harbour").await.is_empty());
        ok(crate::packages::post(&app, &vendor, &format!("{url}/submit"), None).await).await;
        ok(crate::packages::post(&app, &admin, &format!("/api/v1/admin/packages/{pos}/approve"), None).await).await;
        assert_eq!(found(&app, "harbour").await, vec![pos.clone()]);
        assert!(found(&app, "cloud system").await.is_empty(), "the old name is gone");
    }
}
