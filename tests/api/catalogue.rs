//! The public catalogue: visibility, filters, sorts, facets, cursors, caching and quotes.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text};
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::packages::{approved_vendor, create, ok, package_form, post};
use crate::test_on_both_backends;

/// Creates, submits and approves a package from `form`; returns its id.
pub async fn list(app: &TestApp, vendor: &str, admin: &str, form: Value) -> String {
    let res = post(app, vendor, "/api/v1/vendor/packages", Some(form)).await;
    let created = ok(res).await;
    let id = created["id"].as_str().unwrap().to_owned();
    ok(post(
        app,
        vendor,
        &format!("/api/v1/vendor/packages/{id}/submit"),
        None,
    )
    .await)
    .await;
    ok(post(
        app,
        admin,
        &format!("/api/v1/admin/packages/{id}/approve"),
        None,
    )
    .await)
    .await;
    id
}

fn priced(category: &str, sector: &str, price: &str) -> Value {
    let mut form = package_form(category, sector);
    form["pricing"]["price"] = json!(price);
    form["name_en"] = json!(format!("Package at {price}"));
    form
}

async fn catalogue(app: &TestApp, query: &str) -> Value {
    ok(app.get(&format!("/api/v1/catalogue/packages{query}")).await).await
}

/// The catalogue columns the triggers keep on `packages` (`visible`, `reference_price_cents`)
/// against what they summarise: status, live revision and vendor. Panics naming each package
/// that disagrees.
pub fn assert_catalogue_columns_agree(app: &TestApp) {
    #[derive(QueryableByName, Debug, PartialEq)]
    struct Row {
        #[diesel(sql_type = Text)]
        id: String,
        #[diesel(sql_type = Bool)]
        visible: bool,
        #[diesel(sql_type = Bool)]
        should_be_visible: bool,
        #[diesel(sql_type = Nullable<BigInt>)]
        price: Option<i64>,
        #[diesel(sql_type = Nullable<BigInt>)]
        live_price: Option<i64>,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT p.id, p.visible, \
                (p.status = 'listed' AND p.live_revision_id IS NOT NULL AND v.status = 'approved') AS should_be_visible, \
                p.reference_price_cents AS price, r.reference_price_cents AS live_price \
         FROM packages p JOIN vendors v ON v.id = p.vendor_id \
         LEFT JOIN package_revisions r ON r.id = p.live_revision_id ORDER BY p.id",
    )
    .load(&mut app.conn())
    .unwrap();
    let wrong: Vec<&Row> = rows
        .iter()
        .filter(|r| r.visible != r.should_be_visible || r.price != r.live_price)
        .collect();
    assert!(wrong.is_empty(), "catalogue columns out of step: {wrong:?}");
    #[derive(QueryableByName, Debug, PartialEq)]
    struct Cell {
        #[diesel(sql_type = Text)]
        category: String,
        #[diesel(sql_type = Text)]
        target_sector: String,
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let kept: Vec<Cell> = diesel::sql_query(
        "SELECT category, target_sector, package_count AS n FROM catalogue_facet_counts \
         WHERE package_count > 0 ORDER BY category, target_sector",
    )
    .load(&mut app.conn())
    .unwrap();
    let counted: Vec<Cell> = diesel::sql_query(
        "SELECT category, target_sector, COUNT(*) AS n FROM packages WHERE visible \
         GROUP BY category, target_sector ORDER BY category, target_sector",
    )
    .load(&mut app.conn())
    .unwrap();
    assert_eq!(
        kept, counted,
        "kept facet counts against a count of visible packages"
    );
    if app.backend == dtspp::db::Backend::Postgres {
        assert_search_terms_agree(app);
    }
}

/// PostgreSQL's search postings (`package_terms`, `package_term_cells`, kept by a trigger)
/// against the visible packages' search documents, expanded here independently of the SQL
/// that keeps them: every prefix of every token, ranked by the document's token count, plus
/// 2^32 where the prefix is no whole token.
fn assert_search_terms_agree(app: &TestApp) {
    use std::collections::{BTreeMap, BTreeSet};
    #[derive(QueryableByName)]
    struct Doc {
        #[diesel(sql_type = Text)]
        id: String,
        #[diesel(sql_type = Text)]
        category: String,
        #[diesel(sql_type = Text)]
        target_sector: String,
        #[diesel(sql_type = Text)]
        document: String,
    }
    #[derive(QueryableByName)]
    struct Term {
        #[diesel(sql_type = Text)]
        term: String,
        #[diesel(sql_type = BigInt)]
        rank: i64,
        #[diesel(sql_type = Text)]
        package_id: String,
        #[diesel(sql_type = Text)]
        category: String,
        #[diesel(sql_type = Text)]
        target_sector: String,
    }
    #[derive(QueryableByName)]
    struct Cell {
        #[diesel(sql_type = Text)]
        term: String,
        #[diesel(sql_type = Text)]
        category: String,
        #[diesel(sql_type = Text)]
        target_sector: String,
        #[diesel(sql_type = BigInt)]
        packages: i64,
        #[diesel(sql_type = BigInt)]
        whole: i64,
    }
    let docs: Vec<Doc> = diesel::sql_query(
        "SELECT id, category, target_sector, COALESCE(search_document, '') AS document \
         FROM packages WHERE visible",
    )
    .load(&mut app.conn())
    .unwrap();
    let mut expected = BTreeSet::new();
    let mut cells: BTreeMap<(String, String, String), (i64, i64)> = BTreeMap::new();
    for doc in &docs {
        let tokens: BTreeSet<&str> = doc.document.split(' ').filter(|t| !t.is_empty()).collect();
        let mut prefixes: BTreeMap<String, bool> = BTreeMap::new();
        for token in &tokens {
            let ends = token
                .char_indices()
                .map(|(i, _)| i)
                .skip(1)
                .chain([token.len()]);
            for end in ends {
                *prefixes.entry(token[..end].to_owned()).or_default() |= end == token.len();
            }
        }
        for (term, whole) in prefixes {
            let rank = tokens.len() as i64 + if whole { 0 } else { 1 << 32 };
            let cell = cells
                .entry((
                    term.clone(),
                    doc.category.clone(),
                    doc.target_sector.clone(),
                ))
                .or_default();
            cell.0 += 1;
            cell.1 += i64::from(whole);
            expected.insert((
                term,
                rank,
                doc.id.clone(),
                doc.category.clone(),
                doc.target_sector.clone(),
            ));
        }
    }
    let kept: BTreeSet<_> = diesel::sql_query(
        "SELECT term, rank, package_id, category, target_sector FROM package_terms",
    )
    .load::<Term>(&mut app.conn())
    .unwrap()
    .into_iter()
    .map(|t| (t.term, t.rank, t.package_id, t.category, t.target_sector))
    .collect();
    assert!(!docs.is_empty() || kept.is_empty());
    assert_eq!(
        kept.symmetric_difference(&expected)
            .take(10)
            .collect::<Vec<_>>(),
        Vec::<&(String, i64, String, String, String)>::new(),
        "search postings against the visible packages' documents"
    );
    let kept_cells: BTreeMap<_, _> = diesel::sql_query(
        "SELECT term, category, target_sector, packages, whole FROM package_term_cells \
         WHERE packages <> 0 OR whole <> 0",
    )
    .load::<Cell>(&mut app.conn())
    .unwrap()
    .into_iter()
    .map(|c| ((c.term, c.category, c.target_sector), (c.packages, c.whole)))
    .collect();
    assert_eq!(
        kept_cells, cells,
        "kept search facet counts against the postings"
    );
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

test_on_both_backends! {
    async fn only_listed_packages_of_approved_vendors_appear_with_their_subsidy(app) {
        let (vendor, admin) = approved_vendor(&app).await;
        let listed = list(&app, &vendor, &admin, priced("e_payment_pos", "food_and_beverage", "38000.00")).await;
        let draft = create(&app, &vendor, "e_payment_pos", "retail").await["id"].as_str().unwrap().to_owned();

        let page = catalogue(&app, "").await;
        assert_eq!(ids(&page), vec![listed.clone()]);
        let item = &page["items"][0];
        assert_eq!(item["eligible_cost"], "38000.00");
        assert_eq!(item["max_subsidy"], "19000.00");
        assert_eq!(item["sme_pays"], "19000.00");
        assert_eq!(item["vendor"]["name_en"], "CloudPOS Solutions Limited");
        assert_eq!(item["pricing"]["model"], "one_off");
        assert!(item["listed_at"].as_str().unwrap().ends_with('Z'));

        let detail = ok(app.get(&format!("/api/v1/catalogue/packages/{listed}")).await).await;
        assert_eq!(detail["components"].as_array().unwrap().len(), 3);
        assert_eq!(detail["options"][0]["price"], "1800.00");
        assert_eq!(detail["revision_number"], 1);
        assert_eq!(app.get(&format!("/api/v1/catalogue/packages/{draft}")).await.status(), 404);

        // Suspending the vendor removes all its packages at once; reinstating restores them.
        let vendor_id = item["vendor"]["id"].as_str().unwrap();
        let res = app.client.post(app.url(&format!("/api/v1/admin/vendors/{vendor_id}/suspend")))
            .bearer_auth(&admin).json(&json!({"reason": "Under investigation"})).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_catalogue_columns_agree(&app);
        assert!(ids(&catalogue(&app, "").await).is_empty());
        assert_eq!(app.get(&format!("/api/v1/catalogue/packages/{listed}")).await.status(), 404);
        let res = app.client.post(app.url(&format!("/api/v1/admin/vendors/{vendor_id}/approve"))).bearer_auth(&admin).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(ids(&catalogue(&app, "").await), vec![listed.clone()]);
        assert_catalogue_columns_agree(&app);

        // An edit under review does not change what the catalogue shows.
        let res = app.client.patch(app.url(&format!("/api/v1/vendor/packages/{listed}"))).bearer_auth(&vendor)
            .json(&json!({"name_en": "Renamed"})).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(catalogue(&app, "").await["items"][0]["name_en"], "Package at 38000.00");
        assert_catalogue_columns_agree(&app);

        // Writes that go around the service still keep the columns: a live revision repriced,
        // a draft's `visible` set by hand.
        diesel::sql_query(
            "UPDATE package_revisions SET reference_price_cents = 4200000 \
             WHERE id = (SELECT live_revision_id FROM packages WHERE id = $1)",
        )
        .bind::<Text, _>(&listed)
        .execute(&mut app.conn())
        .unwrap();
        diesel::sql_query("UPDATE packages SET visible = TRUE WHERE id = $1")
            .bind::<Text, _>(&draft)
            .execute(&mut app.conn())
            .unwrap();
        assert_catalogue_columns_agree(&app);
    }

    async fn filters_sorts_facets_and_cursors_work_together(app) {
        let (vendor, admin) = approved_vendor(&app).await;
        let a = list(&app, &vendor, &admin, priced("e_payment_pos", "food_and_beverage", "20000.00")).await;
        let b = list(&app, &vendor, &admin, priced("e_payment_pos", "retail", "60000.00")).await;
        let c = list(&app, &vendor, &admin, priced("online_marketing", "retail", "40000.00")).await;
        let mut sub = package_form("crm_loyalty", "retail");
        sub["pricing"] = json!({"model": "subscription", "monthly_price": "1000.00", "min_term_months": 12});
        let d = list(&app, &vendor, &admin, sub).await;

        assert_eq!(ids(&catalogue(&app, "?sort=price_asc").await), [d.clone(), a.clone(), c.clone(), b.clone()]);
        assert_eq!(ids(&catalogue(&app, "?sort=price_desc").await), [b.clone(), c.clone(), a.clone(), d.clone()]);
        assert_eq!(ids(&catalogue(&app, "?sort=newest").await), [d.clone(), c.clone(), b.clone(), a.clone()]);
        assert_eq!(ids(&catalogue(&app, "?category=e_payment_pos&sort=price_asc").await), [a.clone(), b.clone()]);
        assert_eq!(ids(&catalogue(&app, "?min_price=15000&max_price=45000&sort=price_asc").await), [a.clone(), c.clone()]);

        let page = catalogue(&app, "?sector=retail").await;
        assert_eq!(page["facets"]["category"], json!({"crm_loyalty": 1, "e_payment_pos": 1, "online_marketing": 1}));
        assert_eq!(page["facets"]["target_sector"], json!({"food_and_beverage": 1, "retail": 3}), "the sector facet ignores the sector filter");
        let page = catalogue(&app, "?category=e_payment_pos").await;
        assert_eq!(page["facets"]["target_sector"], json!({"food_and_beverage": 1, "retail": 1}));

        for sort in ["newest", "price_asc", "price_desc"] {
            let mut seen = Vec::new();
            let mut cursor = String::new();
            loop {
                let page = catalogue(&app, &format!("?sort={sort}&limit=3{cursor}")).await;
                seen.extend(ids(&page));
                match page["next_cursor"].as_str() {
                    Some(next) => cursor = format!("&cursor={next}"),
                    None => break,
                }
            }
            assert_eq!(seen, ids(&catalogue(&app, &format!("?sort={sort}")).await), "{sort}");
        }

        let sub_item = &catalogue(&app, &format!("?vendor_id={}&category=crm_loyalty", page["items"][0]["vendor"]["id"].as_str().unwrap())).await["items"][0];
        assert_eq!(sub_item["eligible_cost"], "12000.00", "a subscription at its minimum term");
        assert_eq!(sub_item["max_subsidy"], "6000.00");
    }

    async fn bad_query_values_are_a_422_naming_the_parameter(app) {
        let page = catalogue(&app, "?limit=1").await;
        assert!(page["next_cursor"].is_null());
        for (query, field) in [
            ("?category=space_mining", "category"),
            ("?sector=moon", "sector"),
            ("?min_price=500&max_price=100", "min_price"),
            ("?min_price=abc", "min_price"),
            ("?max_price=1.234", "max_price"),
            ("?cursor=garbage", "cursor"),
            ("?limit=101", "limit"),
            ("?limit=ten", "limit"),
            ("?sort=cheapest", "sort"),
        ] {
            let res = app.get(&format!("/api/v1/catalogue/packages{query}")).await;
            assert_eq!(res.status(), 422, "{query}");
            let problem: Value = res.json().await.unwrap();
            assert_eq!(problem["errors"][0]["field"], field, "{query}: {problem}");
        }
        assert_eq!(app.get("/api/v1/catalogue/packages?colour=red").await.status(), 422, "unknown parameters are refused");
    }

    async fn responses_carry_an_etag_and_if_none_match_gives_304(app) {
        let first = app.get("/api/v1/catalogue/packages").await;
        assert_eq!(first.headers()["cache-control"], "public, max-age=30");
        let etag = first.headers()["etag"].to_str().unwrap().to_owned();
        let again = app.client.get(app.url("/api/v1/catalogue/packages")).header("if-none-match", &etag).send().await.unwrap();
        assert_eq!(again.status(), 304);
        assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
        let (vendor, admin) = approved_vendor(&app).await;
        list(&app, &vendor, &admin, priced("e_payment_pos", "retail", "10000.00")).await;
        let changed = app.client.get(app.url("/api/v1/catalogue/packages")).header("if-none-match", &etag).send().await.unwrap();
        assert_eq!(changed.status(), 200, "a new listing changes the tag");
        let categories = app.get("/api/v1/catalogue/categories").await;
        assert!(categories.headers().contains_key("etag"));
        let categories: Value = categories.json().await.unwrap();
        let pos = categories.as_array().unwrap().iter().find(|c| c["code"] == "e_payment_pos").unwrap();
        assert_eq!(pos["package_count"], 1);
        assert_eq!(pos["name_zh"], "電子支付及銷售點系統");
    }

    async fn a_quote_counts_add_ons_and_the_fundable_months(app) {
        let (vendor, admin) = approved_vendor(&app).await;
        let mut form = package_form("crm_loyalty", "food_and_beverage");
        form["pricing"] = json!({"model": "subscription", "monthly_price": "1500.00", "min_term_months": 12});
        form["options"] = json!([{"name_en": "Loyalty app", "price": "2000.00"}, {"name_en": "SMS bundle", "price": "500.00"}]);
        let id = list(&app, &vendor, &admin, form).await;
        let detail = ok(app.get(&format!("/api/v1/catalogue/packages/{id}")).await).await;
        let app_option = detail["options"][0]["id"].as_str().unwrap().to_owned();
        let q = ok(app.get(&format!("/api/v1/catalogue/packages/{id}/quote?options={app_option}&term_months=36")).await).await;
        assert_eq!(q, json!({"eligible_cost": "38000.00", "subsidy": "19000.00", "sme_pays": "19000.00", "remaining_cap_after": "31000.00", "months_counted": 24}));
        let plain = ok(app.get(&format!("/api/v1/catalogue/packages/{id}/quote")).await).await;
        assert_eq!(plain["eligible_cost"], "18000.00", "the minimum term, no add-ons");
        for (query, field) in [("?options=nope", "options"), ("?term_months=6", "term_months"), ("?term_months=x", "term_months")] {
            let res = app.get(&format!("/api/v1/catalogue/packages/{id}/quote{query}")).await;
            assert_eq!(res.status(), 422, "{query}");
            let problem: Value = res.json().await.unwrap();
            assert_eq!(problem["errors"][0]["field"], field);
        }
    }
}

/// Two instances over one PostgreSQL database: a change committed through one retires the
/// other's cached catalogue at once (the database notifies every instance), not after the
/// cache's 5 seconds of freshness. The wait allowed here, 3 seconds, is below those 5 seconds,
/// so the test fails without the notifications; the delay seen is printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_change_through_one_instance_retires_the_others_cached_catalogue() {
    if !crate::helpers::postgres_enabled() {
        return;
    }
    let app = crate::helpers::spawn_app(dtspp::db::Backend::Postgres).await;
    let sibling = app.sibling();
    let m = crate::journey::market(&app).await;
    let client = reqwest::Client::new();
    let listed_on_sibling = || async {
        let page: Value = client
            .get(format!("{}/api/v1/catalogue/packages", sibling.address))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == m.package_id.as_str())
    };
    assert!(
        listed_on_sibling().await,
        "listed, and now cached by the sibling"
    );
    assert!(listed_on_sibling().await, "served from its cache");
    let res = post(
        &app,
        &m.admin,
        &format!("/api/v1/admin/packages/{}/suspend", m.package_id),
        Some(json!({"comment": "Under review."})),
    )
    .await;
    assert_eq!(res.status(), 200);
    let suspended = std::time::Instant::now();
    while listed_on_sibling().await {
        assert!(
            suspended.elapsed() < std::time::Duration::from_secs(3),
            "the sibling still serves the package it cached"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    eprintln!(
        "the sibling stopped listing the suspended package {} ms after the change",
        suspended.elapsed().as_millis()
    );
}
