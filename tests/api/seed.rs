//! `dtspp seed`: the demo fixtures load once, and give a browsable catalogue.

use serde_json::Value;

use crate::test_on_both_backends;

test_on_both_backends! {
    async fn seeding_twice_changes_nothing_and_fills_the_catalogue(app) {
        let first = dtspp::seed::seed(&app.db, dtspp::seed::BUILT_IN, true).await.unwrap();
        // On PostgreSQL the seed builds the search postings once, at its end.
        crate::catalogue_helpers::assert_catalogue_columns_agree(&app);
        let (pos, _) = crate::search::ranked(&app, "q=pos").await;
        assert!(!pos.is_empty(), "the seeded catalogue answers a search");
        assert_eq!(first.vendors_created, 44);
        assert!(first.packages_created >= 150);
        assert_eq!(first.accounts_created, 3, "admin, checker and SME; the demo vendor is a fixture vendor");
        assert_eq!((first.ring_applications, first.honest_applications), (24, 36), "the oversight demo");
        assert!(first.flags_raised > 0);
        assert_eq!(first.batches_created, 1, "an open intake batch");
        assert_eq!(first.guides_created, 6, "six bilingual guides");
        assert_eq!(first.events_created, 3, "three upcoming seminars");
        let events: Value = app.get("/api/v1/events").await.json().await.unwrap();
        assert_eq!(events["items"].as_array().unwrap().len(), 3, "{events}");
        let guides: Value = app.get("/api/v1/guides").await.json().await.unwrap();
        let guides = guides["items"].as_array().unwrap();
        assert_eq!(guides.len(), 6);
        assert!(guides.iter().all(|g| g["title_zh"].as_str().is_some_and(|t| !t.is_empty()) && g["body_html_zh"].as_str().unwrap().starts_with('<')), "{guides:?}");
        let programme: Value = app.get("/api/v1/programme").await.json().await.unwrap();
        assert!(programme["open_batch"]["id"].is_string(), "{programme}");
        let again = dtspp::seed::seed(&app.db, dtspp::seed::BUILT_IN, true).await.unwrap();
        assert_eq!(
            again,
            dtspp::seed::SeedReport { vendors_created: 0, vendors_existing: 44, packages_created: 0, accounts_created: 0, batches_created: 0, guides_created: 0, events_created: 0, ring_applications: 0, honest_applications: 0, flags_raised: 0 }
        );

        crate::catalogue_helpers::assert_catalogue_columns_agree(&app);

        let page: Value = app.get("/api/v1/catalogue/packages?limit=100").await.json().await.unwrap();
        let total: i64 = page["facets"]["category"].as_object().unwrap().values().map(|v| v.as_i64().unwrap()).sum();
        assert!(total >= 150, "{total} listed packages");
        for sector in ["food_and_beverage", "retail", "tourism", "personal_services"] {
            assert!(page["facets"]["target_sector"][sector].as_i64().unwrap() > 0, "{sector}");
        }

        for (email, password) in [
            ("admin@dtspp.demo", "demo admin passphrase"),
            ("vendor@dtspp.demo", "demo vendor passphrase"),
            ("sme@dtspp.demo", "demo sme passphrase"),
        ] {
            app.login(email, password).await;
        }
        let admin = app.login("admin@dtspp.demo", "demo admin passphrase").await["access_token"].as_str().unwrap().to_owned();
        let suspended: Value = app.get_as("/api/v1/admin/vendors?status=suspended", &admin).await.json().await.unwrap();
        let suspended_ids: Vec<&str> = suspended["items"].as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap()).collect();
        assert_eq!(suspended_ids.len(), 3);
        for id in suspended_ids {
            let theirs: Value = app.get(&format!("/api/v1/catalogue/packages?vendor_id={id}")).await.json().await.unwrap();
            assert!(theirs["items"].as_array().unwrap().is_empty(), "a suspended vendor's packages are hidden");
        }
        let queue: Value = app.get_as("/api/v1/admin/packages?status=submitted", &admin).await.json().await.unwrap();
        assert_eq!(queue["items"].as_array().unwrap().len(), 3);
    }
}
