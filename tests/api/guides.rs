//! Guides: admins publish bilingual Markdown, everyone reads sanitised HTML, searchable in both
//! languages and filterable by category and sector.

use serde_json::{Value, json};

use crate::packages::{ok, patch, post};
use crate::test_on_both_backends;

fn form(slug: &str) -> Value {
    json!({
        "slug": slug,
        "title_en": "Choosing a cloud POS",
        "title_zh": "揀選雲端收銀系統",
        "body_markdown_en": "# Cloud POS\n\nAccept **FPS** and Octopus. <script>alert(1)</script>[x](javascript:alert(2))",
        "body_markdown_zh": "# 雲端收銀\n\n支援**轉數快**及八達通。",
        "categories": ["e_payment_pos"],
        "sectors": ["food_and_beverage"],
    })
}

async fn slugs(app: &crate::helpers::TestApp, query: &str) -> Vec<String> {
    let list = ok(app.get(&format!("/api/v1/guides?{query}")).await).await;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["slug"].as_str().unwrap().to_owned())
        .collect()
}

test_on_both_backends! {
    async fn admins_publish_guides_that_everyone_reads_as_safe_html(app) {
        let admin = app.admin_token().await;
        let created = ok(post(&app, &admin, "/api/v1/admin/guides", Some(form("cloud-pos"))).await).await;
        assert_eq!(created["slug"], "cloud-pos");
        let html = created["body_html_en"].as_str().unwrap();
        assert!(html.contains("<h1>Cloud POS</h1>") && html.contains("<strong>FPS</strong>"), "{html}");
        assert!(!html.contains("<script") && !html.contains("javascript:"), "sanitised: {html}");
        assert!(created["body_html_zh"].as_str().unwrap().contains("<strong>轉數快</strong>"));
        assert!(created["body_markdown_en"].as_str().unwrap().starts_with("# Cloud POS"), "admins see the Markdown");

        let public = ok(app.get("/api/v1/guides/cloud-pos").await).await;
        assert_eq!(public["categories"], json!(["e_payment_pos"]));
        assert_eq!(public["sectors"], json!(["food_and_beverage"]));
        assert!(public.get("body_markdown_en").is_none(), "the public view is the HTML");
        assert_eq!(app.get("/api/v1/guides/no-such-guide").await.status(), 404);

        let again = post(&app, &admin, "/api/v1/admin/guides", Some(form("cloud-pos"))).await;
        assert_eq!(again.status(), 409, "slugs are unique");

        // Searching, in either language, and filtering.
        let mut other = form("shop-loyalty");
        other["title_en"] = json!("Loyalty schemes for shops");
        other["title_zh"] = json!("零售會員計劃");
        other["body_markdown_en"] = json!("Stamps and points.");
        other["body_markdown_zh"] = json!("印花及積分。");
        other["categories"] = json!(["crm_loyalty"]);
        other["sectors"] = json!(["retail"]);
        ok(post(&app, &admin, "/api/v1/admin/guides", Some(other)).await).await;
        assert_eq!(slugs(&app, "q=收銀").await, ["cloud-pos"]);
        assert_eq!(slugs(&app, "q=octo").await, ["cloud-pos"], "the last word is a prefix");
        assert_eq!(slugs(&app, "q=積分").await, ["shop-loyalty"], "words of the body match");
        assert_eq!(slugs(&app, "category=crm_loyalty").await, ["shop-loyalty"]);
        assert_eq!(slugs(&app, "sector=food_and_beverage").await, ["cloud-pos"]);
        assert_eq!(slugs(&app, "q=loyalty&sector=food_and_beverage").await, Vec::<String>::new());
        assert_eq!(slugs(&app, "").await, ["shop-loyalty", "cloud-pos"], "newest first");

        // Editing renders again, retags, and re-indexes.
        let mut edit = form("cloud-pos");
        edit["body_markdown_zh"] = json!("支援*支付寶*。");
        edit["sectors"] = json!(["retail", "tourism"]);
        let edited = ok(patch(&app, &admin, "/api/v1/admin/guides/cloud-pos", edit.clone()).await).await;
        assert_eq!(edited["body_html_zh"], "<p>支援<em>支付寶</em>。</p>\n");
        assert_eq!(edited["title_en"], "Choosing a cloud POS");
        assert_eq!(edited["sectors"], json!(["retail", "tourism"]));
        assert_eq!(slugs(&app, "q=支付寶").await, ["cloud-pos"]);
        assert_eq!(slugs(&app, "q=轉數快").await, Vec::<String>::new(), "the old text is no longer indexed");
        assert_eq!(slugs(&app, "sector=food_and_beverage").await, Vec::<String>::new());

        let audit = ok(app.get_as("/api/v1/admin/audit-events?entity_type=guide&entity_id=cloud-pos", &admin).await).await;
        let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["guide.updated", "guide.published"]);
    }

    async fn bad_guides_and_filters_are_refused_naming_the_field(app) {
        let admin = app.admin_token().await;
        let mut bad = form("Not A Slug");
        bad["categories"] = json!(["e_payment_pos", "astrology"]);
        let res = post(&app, &admin, "/api/v1/admin/guides", Some(bad)).await;
        assert_eq!(res.status(), 422);
        let body: Value = res.json().await.unwrap();
        assert!(body.to_string().contains("slug"), "{body}");
        let mut bad = form("fine-slug");
        bad["categories"] = json!(["e_payment_pos", "astrology"]);
        bad["sectors"] = json!(["mining"]);
        let res = post(&app, &admin, "/api/v1/admin/guides", Some(bad)).await;
        assert_eq!(res.status(), 422);
        let body: Value = res.json().await.unwrap();
        let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["categories[1]", "sectors[0]"], "{body}");
        assert_eq!(app.get("/api/v1/guides/fine-slug").await.status(), 404, "nothing half-written");
        let mut blank = form("blank-title");
        blank["title_zh"] = json!("   ");
        assert_eq!(post(&app, &admin, "/api/v1/admin/guides", Some(blank)).await.status(), 422);
        for query in ["category=astrology", "sector=mining", &format!("q={}", "x".repeat(201))] {
            let res = app.get(&format!("/api/v1/guides?{query}")).await;
            assert_eq!(res.status(), 422, "{query}");
        }
        ok(post(&app, &admin, "/api/v1/admin/guides", Some(form("real-one"))).await).await;
        let res = patch(&app, &admin, "/api/v1/admin/guides/real-one", form("renamed")).await;
        assert_eq!(res.status(), 422, "the slug does not change");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["errors"][0]["field"], "slug", "{body}");
        let res = patch(&app, &admin, "/api/v1/admin/guides/real-one", json!({"title_en": "X"})).await;
        assert_eq!(res.status(), 422, "an edit is the whole form");
        let res = patch(&app, &admin, "/api/v1/admin/guides/no-such", form("no-such")).await;
        assert_eq!(res.status(), 404);

        // Every form within the schema's lengths is read, even at 4 bytes a character (well
        // past the 256 KiB other bodies may take); one character more is a 422, never a 413.
        let mut long = form("real-one");
        long["body_markdown_en"] = json!("😀".repeat(20_000));
        long["body_markdown_zh"] = json!("😀".repeat(20_000));
        ok(patch(&app, &admin, "/api/v1/admin/guides/real-one", long.clone()).await).await;
        // A word no one could search for (PostgreSQL refuses lexemes over 2 KB) is left out of
        // the search document, not a 500.
        long["body_markdown_en"] = json!("0".repeat(20_000));
        ok(patch(&app, &admin, "/api/v1/admin/guides/real-one", long.clone()).await).await;
        long["body_markdown_zh"] = json!("😀".repeat(20_001));
        let res = patch(&app, &admin, "/api/v1/admin/guides/real-one", long).await;
        assert_eq!(res.status(), 422);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["errors"][0]["field"], "body_markdown_zh", "{body}");
        // Only admins write.
        let sme = app.sme_token().await;
        let vendor = app.vendor_token().await;
        for token in [&sme, &vendor] {
            assert_eq!(post(&app, token, "/api/v1/admin/guides", Some(form("by-others"))).await.status(), 403);
            assert_eq!(patch(&app, token, "/api/v1/admin/guides/real-one", form("real-one")).await.status(), 403);
        }
        assert_eq!(app.client.post(app.url("/api/v1/admin/guides")).json(&form("anon")).send().await.unwrap().status(), 401);
    }
}
