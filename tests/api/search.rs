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

/// The ids a search finds on its first page, sorted.
async fn found(app: &crate::helpers::TestApp, q: &str) -> Vec<String> {
    let (mut ids, _) = ranked(app, &format!("q={}", urlencode(q))).await;
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

/// The ids of a page of search results, in the order served.
pub async fn ranked(app: &crate::helpers::TestApp, query: &str) -> (Vec<String>, Value) {
    let page = ok(app
        .get(&format!("/api/v1/catalogue/packages?{query}"))
        .await)
    .await;
    let ids = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    (ids, page)
}

test_on_both_backends! {
    async fn a_search_ranks_pages_and_counts_its_matches(app) {
        let (vendor, admin) = approved_vendor(&app).await;
        // "pos" is a whole word of the first two (the first the shorter document) and only
        // the beginning of a word of the third.
        let short = list(&app, &vendor, &admin, named("e_payment_pos", "food_and_beverage", "POS", "收銀", "Tablet till.", "平板。")).await;
        let long = list(&app, &vendor, &admin, named("e_payment_pos", "retail", "POS Terminal Suite", "收銀套裝", "Counter terminal, receipt printer, cash drawer and stock reports for every branch.", "櫃台終端機、收據打印機、錢箱及各分店存貨報表。")).await;
        let posters = list(&app, &vendor, &admin, named("online_marketing", "retail", "Posters", "海報", "Shop window prints.", "櫥窗印刷。")).await;
        crate::catalogue_helpers::assert_catalogue_columns_agree(&app);

        let (all, page) = ranked(&app, "q=pos").await;
        if app.backend == dtspp::db::Backend::Postgres {
            assert_eq!(all, vec![short.clone(), long.clone(), posters.clone()], "whole word first, then the shorter document");
        } else {
            let mut sorted = all.clone();
            sorted.sort();
            let mut expected = vec![short.clone(), long.clone(), posters.clone()];
            expected.sort();
            assert_eq!(sorted, expected);
        }
        assert_eq!(page["facets"]["category"], json!({"e_payment_pos": 2, "online_marketing": 1}));
        assert_eq!(page["facets"]["target_sector"], json!({"food_and_beverage": 1, "retail": 2}));

        // One at a time, the cursor walks the same order.
        let mut walked = Vec::new();
        let mut cursor = String::new();
        loop {
            let (ids, page) = ranked(&app, &format!("q=pos&limit=1{cursor}")).await;
            walked.extend(ids);
            match page["next_cursor"].as_str() {
                Some(next) => cursor = format!("&cursor={next}"),
                None => break,
            }
        }
        assert_eq!(walked, all);

        // Each facet honours the other's filter, not its own.
        let (ids, page) = ranked(&app, "q=pos&sector=retail").await;
        let mut ids = ids;
        ids.sort();
        let mut expected = vec![long.clone(), posters.clone()];
        expected.sort();
        assert_eq!(ids, expected);
        assert_eq!(page["facets"]["category"], json!({"e_payment_pos": 1, "online_marketing": 1}));
        assert_eq!(page["facets"]["target_sector"], json!({"food_and_beverage": 1, "retail": 2}));

        // A finished word is whole: "posters" no longer matches, nor is it counted.
        let (ids, page) = ranked(&app, "q=pos%20").await;
        let mut ids = ids;
        ids.sort();
        let mut expected = vec![short.clone(), long.clone()];
        expected.sort();
        assert_eq!(ids, expected);
        assert_eq!(page["facets"]["category"], json!({"e_payment_pos": 2}));

        // Several terms: every one must match, and other sorts keep the same matches.
        let (ids, _) = ranked(&app, "q=pos%20suite").await;
        assert_eq!(ids, vec![long.clone()]);
        let (ids, page) = ranked(&app, "q=pos&sort=newest").await;
        assert_eq!(ids, vec![posters.clone(), long.clone(), short.clone()]);
        assert_eq!(page["facets"]["category"], json!({"e_payment_pos": 2, "online_marketing": 1}));
        let (ids, page) = ranked(&app, "q=%E6%94%B6%E9%8A%80&sort=price_asc&category=e_payment_pos").await;
        // The vendor's name, 雲端收銀方案有限公司, puts every package in the category facet.
        assert_eq!(ids.len(), 2);
        assert_eq!(page["facets"]["category"], json!({"e_payment_pos": 2, "online_marketing": 1}));
        assert_eq!(page["facets"]["target_sector"], json!({"food_and_beverage": 1, "retail": 1}));

        // A suspended vendor's packages leave the search at once, and come back with it.
        let vendor_id = page["items"][0]["vendor"]["id"].as_str().unwrap().to_owned();
        let res = app.client.post(app.url(&format!("/api/v1/admin/vendors/{vendor_id}/suspend")))
            .bearer_auth(&admin).json(&json!({"reason": "Under investigation"})).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let (ids, page) = ranked(&app, "q=pos").await;
        assert!(ids.is_empty());
        assert_eq!(page["facets"]["category"], json!({}));
        crate::catalogue_helpers::assert_catalogue_columns_agree(&app);
        let res = app.client.post(app.url(&format!("/api/v1/admin/vendors/{vendor_id}/approve"))).bearer_auth(&admin).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(ranked(&app, "q=pos").await.0, all);
        crate::catalogue_helpers::assert_catalogue_columns_agree(&app);

        // Narrowed by vendor or price, a search reads every match and ranks it the same way.
        let (ids, page) = ranked(&app, &format!("q=pos&vendor_id={vendor_id}")).await;
        if app.backend == dtspp::db::Backend::Postgres {
            assert_eq!(ids, all);
        } else {
            assert_eq!(ids.len(), 3);
        }
        assert_eq!(page["facets"]["category"], json!({"e_payment_pos": 2, "online_marketing": 1}));
        let (ids, page) = ranked(&app, "q=pos&min_price=99999999").await;
        assert!(ids.is_empty());
        assert_eq!(page["facets"]["category"], json!({}));
    }
}
