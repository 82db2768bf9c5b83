//! Risk indicators end to end: flags raised in the transaction of the event, holds on the
//! money, maker-checker review, conflicts of interest, thresholds in the rules, and a replay of
//! the January 2026 pattern among honest traffic, with its recall and precision.

use diesel::RunQueryDsl;
use serde_json::{Value, json};

use crate::catalogue_helpers::list;
use crate::helpers::{PASSWORD, TestApp, unique_br};
use crate::journey::{act, assert_books_balance, open_batch};
use crate::packages::{ok, package_form, post};
use crate::test_on_both_backends;

/// Registers a vendor from `form` changes, has `admin` approve it, and returns (token, id).
/// The request as if it came through the trusted proxy from `ip`, when one is given.
fn from_ip(req: reqwest::RequestBuilder, ip: Option<&str>) -> reqwest::RequestBuilder {
    match ip {
        Some(ip) => req.header("x-forwarded-for", ip),
        None => req,
    }
}

async fn vendor_with(
    app: &TestApp,
    admin: &str,
    changes: Value,
    ip: Option<&str>,
) -> (String, String) {
    let email = format!("owner@v{}.hk", uuid::Uuid::new_v4().simple());
    let mut form = crate::helpers::vendor_form(&email, &unique_br());
    for (k, v) in changes.as_object().unwrap() {
        form[k] = v.clone();
    }
    let req = from_ip(
        app.client
            .post(app.url("/api/v1/vendors/register"))
            .json(&form),
        ip,
    );
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["vendor"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.verify_email(&email);
    ok(post(
        app,
        admin,
        &format!("/api/v1/admin/vendors/{id}/approve"),
        None,
    )
    .await)
    .await;
    let token = app.login(&email, PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    (token, id)
}

/// Registers an SME with `changes` to the form, from `ip`; returns its token.
async fn sme_with(app: &TestApp, changes: Value, ip: Option<&str>) -> String {
    let email = changes
        .get("email")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| format!("owner@s{}.hk", uuid::Uuid::new_v4().simple()));
    let mut form = crate::helpers::sme_form(&email, &unique_br());
    for (k, v) in changes.as_object().unwrap() {
        form[k] = v.clone();
    }
    let req = from_ip(
        app.client
            .post(app.url("/api/v1/smes/register"))
            .json(&form),
        ip,
    );
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    app.verify_email(&email);
    app.login(&email, PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// An enquiry on `package`, confirmed by `vendor`, applied for from `ip`: the application.
async fn applied(app: &TestApp, sme: &str, vendor: &str, package: &str, ip: Option<&str>) -> Value {
    let enquiry = ok(post(
        app,
        sme,
        "/api/v1/sme/enquiries",
        Some(json!({"package_id": package})),
    )
    .await)
    .await;
    let id = enquiry["id"].as_str().unwrap();
    ok(post(
        app,
        vendor,
        &format!("/api/v1/vendor/enquiries/{id}/confirm"),
        Some(json!({})),
    )
    .await)
    .await;
    let req = from_ip(
        app.client
            .post(app.url("/api/v1/sme/applications"))
            .bearer_auth(sme)
            .json(&json!({"enquiry_id": id})),
        ip,
    );
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

/// Approve, deliver today and confirm payment with `reference`; answers the approval.
async fn to_claim(
    app: &TestApp,
    admin: &str,
    vendor: &str,
    sme: &str,
    application: &Value,
    reference: &str,
) -> Value {
    let id = application["id"].as_str().unwrap();
    let today = dtspp::time::hk_today().to_string();
    let approved = ok(act(
        app,
        admin,
        &format!("/api/v1/admin/applications/{id}/approve"),
        None,
    )
    .await)
    .await;
    ok(act(
        app,
        vendor,
        &format!("/api/v1/vendor/applications/{id}/deliver"),
        Some(json!({"delivered_on": today, "note": "Installed."})),
    )
    .await)
    .await;
    ok(act(app, sme, &format!("/api/v1/sme/applications/{id}/confirm-delivery"), Some(json!({"payment_reference": reference, "amount_paid": application["sme_pays"], "paid_on": today}))).await).await;
    approved
}

async fn flags(app: &TestApp, admin: &str, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/admin/risk-flags?limit=100&{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = ok(app.get_as(&path, admin).await).await;
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

/// How many applications' risk checks /metrics has timed (in this process: tests share it).
async fn apply_checks_timed(app: &TestApp) -> u64 {
    let text = app.get("/metrics").await.text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("dtspp_risk_apply_checks_seconds_count "))
        .unwrap_or_else(|| panic!("no apply-check histogram in {text}"))
        .parse()
        .unwrap()
}

async fn problem(res: reqwest::Response) -> (u16, String, String) {
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap();
    (
        status,
        body["type"].as_str().unwrap_or("").to_owned(),
        body["detail"].as_str().unwrap_or("").to_owned(),
    )
}

test_on_both_backends! {
    async fn a_related_party_holds_the_money_until_another_admin_reviews_it(app) {
        let admin = app.admin_token().await;
        let (vendor, vendor_id) = vendor_with(&app, &admin, json!({"phone": "+852 2811 0000"}), None).await;
        let package = list(&app, &vendor, &admin, package_form("e_payment_pos", "food_and_beverage")).await;
        open_batch(&app, &admin, None).await;
        // The SME gives the vendor's phone, spelt differently.
        let sme = sme_with(&app, json!({"phone": "28110000"}), None).await;
        let checks_before = apply_checks_timed(&app).await;
        let application = applied(&app, &sme, &vendor, &package, None).await;
        assert!(apply_checks_timed(&app).await > checks_before, "the apply-time checks are timed in /metrics");
        let id = application["id"].as_str().unwrap().to_owned();
        let raised = flags(&app, &admin, &format!("application_id={id}")).await;
        assert_eq!(raised.len(), 1, "{raised:?}");
        let flag = &raised[0];
        assert_eq!((flag["indicator"].as_str(), flag["severity"].as_str(), flag["status"].as_str()), (Some("vendor_related_party"), Some("high"), Some("open")));
        assert_eq!(flag["vendor_id"], vendor_id.as_str());
        assert_eq!(flag["evidence"]["shared_with_vendor"], json!(["phone"]));
        let view = ok(app.get_as(&format!("/api/v1/admin/applications/{id}"), &admin).await).await;
        assert_eq!(view["risk_hold"], true);
        assert_eq!(view["open_flag_ids"], json!([flag["id"]]));

        let approved = to_claim(&app, &admin, &vendor, &sme, &application, "FPS-REL-1").await;
        assert_eq!((&approved["status"], &approved["risk_hold"]), (&json!("approved"), &json!(true)), "the transition's answer shows the hold");
        assert_eq!(approved["open_flag_ids"], json!([flag["id"]]));
        let (status, kind, detail) = problem(act(&app, &admin, &format!("/api/v1/admin/applications/{id}/verify-claim"), None).await).await;
        assert_eq!((status, kind.as_str()), (409, "urn:dtspp:problem:risk-hold"));
        assert!(detail.contains(flag["id"].as_str().unwrap()), "names the flag: {detail}");

        let flag_id = flag["id"].as_str().unwrap();
        let dismiss = format!("/api/v1/admin/risk-flags/{flag_id}/dismiss");
        // The authorisation matrix on real resources: admins only.
        let comment = json!({"comment": "Nothing to see here at all."});
        for path in [format!("/api/v1/admin/risk-flags/{flag_id}"), format!("/api/v1/admin/vendors/{vendor_id}/risk")] {
            assert_eq!(app.get(&path).await.status(), 401, "{path}");
            assert_eq!(app.get_as(&path, &sme).await.status(), 403, "{path}");
            assert_eq!(app.get_as(&path, &vendor).await.status(), 403, "{path}");
            assert_eq!(app.get_as(&path, &admin).await.status(), 200, "{path}");
        }
        for path in [dismiss.clone(), format!("/api/v1/admin/risk-flags/{flag_id}/confirm")] {
            assert_eq!(act(&app, &sme, &path, Some(comment.clone())).await.status(), 403, "{path}");
            assert_eq!(act(&app, &vendor, &path, Some(comment.clone())).await.status(), 403, "{path}");
        }
        let profile = ok(app.get_as(&format!("/api/v1/admin/vendors/{vendor_id}/risk"), &admin).await).await;
        assert_eq!(profile["flags"][0]["id"], flag["id"]);
        assert_eq!(profile["applications_by_price_band"].as_array().unwrap().len(), 4);
        let res = act(&app, &admin, &dismiss, Some(json!({"comment": "short"}))).await;
        assert_eq!(res.status(), 422, "a comment of at least 10 characters");
        let (status, kind, _) = problem(act(&app, &admin, &dismiss, Some(json!({"comment": "Checked: a shared switchboard."}))).await).await;
        assert_eq!((status, kind.as_str()), (403, "urn:dtspp:problem:separation-of-duties"), "the approver may not dismiss");
        let reviewer = app.admin_token().await;
        let dismissed = ok(act(&app, &reviewer, &dismiss, Some(json!({"comment": "Checked: a shared switchboard."}))).await).await;
        assert_eq!(dismissed["status"], "dismissed");
        assert_eq!(dismissed["resolution_comment"], "Checked: a shared switchboard.");
        assert!(dismissed["resolved_by"].is_string());
        assert_eq!(act(&app, &reviewer, &dismiss, Some(json!({"comment": "Checked it once more."}))).await.status(), 409);
        let view = ok(app.get_as(&format!("/api/v1/admin/applications/{id}"), &admin).await).await;
        assert_eq!(view["risk_hold"], false);
        let verified = ok(act(&app, &admin, &format!("/api/v1/admin/applications/{id}/verify-claim"), None).await).await;
        assert_eq!((&verified["risk_hold"], &verified["open_flag_ids"]), (&json!(false), &json!([])));
        let audit = ok(app.get_as(&format!("/api/v1/admin/audit-events?entity_type=risk_flag&entity_id={flag_id}"), &admin).await).await;
        let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["risk_flag.dismissed", "risk_flag.raised"]);
    }

    async fn a_contact_name_shared_with_the_vendor_is_a_related_party(app) {
        let admin = app.admin_token().await;
        let (vendor, _) = vendor_with(&app, &admin, json!({"contact_name": "CHAN Tai-man"}), None).await;
        let package = list(&app, &vendor, &admin, package_form("e_payment_pos", "food_and_beverage")).await;
        open_batch(&app, &admin, None).await;
        let stranger = sme_with(&app, json!({"contact_name": "Chan Siu Ming"}), None).await;
        let unrelated = applied(&app, &stranger, &vendor, &package, None).await;
        assert_eq!(flags(&app, &admin, &format!("application_id={}", unrelated["id"].as_str().unwrap())).await.len(), 0);
        let sme = sme_with(&app, json!({"contact_name": "Chan Tai Man"}), None).await;
        let me = ok(app.get_as("/api/v1/me", &sme).await).await;
        assert_eq!(me["sme"]["contact_name"], "Chan Tai Man", "{me}");
        let application = applied(&app, &sme, &vendor, &package, None).await;
        let raised = flags(&app, &admin, &format!("application_id={}", application["id"].as_str().unwrap())).await;
        assert_eq!(raised.len(), 1, "{raised:?}");
        assert_eq!(raised[0]["indicator"], "vendor_related_party");
        assert_eq!(raised[0]["evidence"]["shared_with_vendor"], json!(["contact_name"]));
        // A blank name is refused, not stored as no name.
        let form = {
            let mut f = crate::helpers::sme_form("blank@name.hk", &unique_br());
            f["contact_name"] = json!("   ");
            f
        };
        let res = app.client.post(app.url("/api/v1/smes/register")).json(&form).send().await.unwrap();
        assert_eq!(res.status(), 422);
    }

    async fn applications_to_a_flagged_cluster_join_its_flag(app) {
        let admin = app.admin_token().await;
        let (vendor, _) = vendor_with(&app, &admin, json!({}), None).await;
        let package = list(&app, &vendor, &admin, package_form("e_payment_pos", "food_and_beverage")).await;
        open_batch(&app, &admin, None).await;
        let mut ids = Vec::new();
        let mut smes = Vec::new();
        for _ in 0..4 {
            let sme = sme_with(&app, json!({"phone": "+852 2811 7777"}), None).await;
            let application = applied(&app, &sme, &vendor, &package, None).await;
            ids.push(application["id"].as_str().unwrap().to_owned());
            smes.push(sme);
        }
        let shared: Vec<Value> = flags(&app, &admin, "indicator=shared_contact").await
            .into_iter()
            .filter(|f| f["evidence"]["key"] == "28117777")
            .collect();
        assert_eq!(shared.len(), 1, "one flag for the cluster: {shared:?}");
        let mut flagged: Vec<String> = shared[0]["application_ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
        flagged.sort();
        let mut all = ids.clone();
        all.sort();
        assert_eq!(flagged, all, "the applications made after the flag opened joined it");
        assert_eq!(shared[0]["evidence"]["sme_ids"].as_array().unwrap().len(), 4, "{}", shared[0]["evidence"]);
    }

    async fn confirming_a_flag_rejects_or_marks_for_recovery(app) {
        let admin = app.admin_token().await;
        let checker = app.admin_token().await;
        let (vendor, _) = vendor_with(&app, &admin, json!({}), None).await;
        let package = list(&app, &vendor, &admin, package_form("e_payment_pos", "food_and_beverage")).await;
        open_batch(&app, &admin, None).await;
        // Two SMEs pay with the same reference: the second is refused and flagged, with both.
        let (a, b) = (sme_with(&app, json!({}), None).await, sme_with(&app, json!({}), None).await);
        let first = applied(&app, &a, &vendor, &package, None).await;
        let second = applied(&app, &b, &vendor, &package, None).await;
        to_claim(&app, &admin, &vendor, &a, &first, "HSBC-7731").await;
        let first_id = first["id"].as_str().unwrap();
        ok(act(&app, &admin, &format!("/api/v1/admin/applications/{first_id}/verify-claim"), None).await).await;
        ok(act(&app, &checker, &format!("/api/v1/admin/applications/{first_id}/disburse"), None).await).await;
        let second_id = second["id"].as_str().unwrap();
        let today = dtspp::time::hk_today().to_string();
        ok(act(&app, &admin, &format!("/api/v1/admin/applications/{second_id}/approve"), None).await).await;
        ok(act(&app, &vendor, &format!("/api/v1/vendor/applications/{second_id}/deliver"), Some(json!({"delivered_on": today, "note": "Installed."}))).await).await;
        let res = act(&app, &b, &format!("/api/v1/sme/applications/{second_id}/confirm-delivery"), Some(json!({"payment_reference": "hsbc 7731", "amount_paid": second["sme_pays"], "paid_on": today}))).await;
        assert_eq!(res.status(), 409);
        let raised = flags(&app, &admin, "indicator=payment_reference_reuse").await;
        assert_eq!(raised.len(), 1);
        let mut both = vec![first_id.to_owned(), second_id.to_owned()];
        both.sort();
        assert_eq!(raised[0]["application_ids"], json!(both));
        let before = ok(app.get_as("/api/v1/admin/budget", &admin).await).await;

        let flag_id = raised[0]["id"].as_str().unwrap();
        let confirmed = ok(act(&app, &checker, &format!("/api/v1/admin/risk-flags/{flag_id}/confirm"), Some(json!({"comment": "The bank confirms one payment only."}))).await).await;
        assert_eq!(confirmed["status"], "confirmed");
        let second_view = ok(app.get_as(&format!("/api/v1/admin/applications/{second_id}"), &admin).await).await;
        assert_eq!(second_view["status"], "rejected", "its money is released");
        let first_view = ok(app.get_as(&format!("/api/v1/admin/applications/{first_id}"), &admin).await).await;
        assert_eq!(first_view["status"], "disbursed");
        assert!(first_view["recovery_due_at"].is_string(), "disbursed money is marked for recovery");
        let after = ok(app.get_as("/api/v1/admin/budget", &admin).await).await;
        assert_ne!(before["committed"], after["committed"], "the commitment was released");
        assert_books_balance(&app, &admin).await;
        let report = ok(app.get_as("/api/v1/admin/reports/drawdown?group_by=vendor", &admin).await).await;
        assert_eq!(report["totals"]["amount_on_recovery"], first["subsidy"]);
        let summary = ok(app.get_as("/api/v1/admin/risk/summary", &admin).await).await;
        let row = summary["by_indicator"].as_array().unwrap().iter().find(|r| r["indicator"] == "payment_reference_reuse").unwrap().clone();
        assert_eq!((row["status"].as_str(), row["flags"].as_i64(), row["applications"].as_i64()), (Some("confirmed"), Some(1), Some(2)));
    }

    async fn an_admin_with_a_conflict_may_not_act_for_that_vendor(app) {
        let admin = app.admin_token().await;
        let (vendor, vendor_id) = vendor_with(&app, &admin, json!({}), None).await;
        let package = list(&app, &vendor, &admin, package_form("e_payment_pos", "food_and_beverage")).await;
        open_batch(&app, &admin, None).await;
        let sme = sme_with(&app, json!({}), None).await;
        let application = applied(&app, &sme, &vendor, &package, None).await;
        let conflicted = app.admin_token().await;
        let res = post(&app, &conflicted, "/api/v1/admin/me/conflicts", Some(json!({"vendor_id": vendor_id, "reason": "My cousin owns it."}))).await;
        assert_eq!(res.status(), 201);
        let res = post(&app, &conflicted, "/api/v1/admin/me/conflicts", Some(json!({"vendor_id": vendor_id, "reason": "My cousin owns it."}))).await;
        assert_eq!(res.status(), 409);
        let res = post(&app, &conflicted, "/api/v1/admin/me/conflicts", Some(json!({"vendor_id": "no-such-vendor", "reason": "A typo in the id."}))).await;
        assert_eq!(res.status(), 422);
        let mine = ok(app.get_as("/api/v1/admin/me/conflicts", &conflicted).await).await;
        assert_eq!(mine.as_array().unwrap().len(), 1);
        let id = application["id"].as_str().unwrap();
        let (status, kind, _) = problem(act(&app, &conflicted, &format!("/api/v1/admin/applications/{id}/approve"), None).await).await;
        assert_eq!((status, kind.as_str()), (403, "urn:dtspp:problem:conflict-of-interest"));
        let (status, kind, _) = problem(act(&app, &conflicted, &format!("/api/v1/admin/packages/{package}/suspend"), Some(json!({"comment": "Looking into it."}))).await).await;
        assert_eq!((status, kind.as_str()), (403, "urn:dtspp:problem:conflict-of-interest"));
        ok(act(&app, &admin, &format!("/api/v1/admin/applications/{id}/approve"), None).await).await;
    }

    async fn rows_from_before_the_contact_keys_get_them_on_migration(app) {
        let admin = app.admin_token().await;
        vendor_with(&app, &admin, json!({"phone": "+852 2811 0101"}), None).await;
        sme_with(&app, json!({"phone": "+852-9123-4567", "email": "owner@tea-house.hk"}), None).await;
        // As rows written before migration 000010 would be: no keys.
        for table in ["smes", "vendors"] {
            diesel::sql_query(format!("UPDATE {table} SET phone_key = NULL, address_key = NULL, email_domain = NULL"))
                .execute(&mut app.conn())
                .unwrap();
        }
        let filled = dtspp::risk::store::backfill_keys(&mut app.conn()).unwrap();
        assert_eq!(filled, 2);
        #[derive(diesel::QueryableByName)]
        struct Keys {
            #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
            phone_key: Option<String>,
            #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
            email_domain: Option<String>,
        }
        let sme: Keys = diesel::sql_query("SELECT phone_key, email_domain FROM smes").get_result(&mut app.conn()).unwrap();
        assert_eq!((sme.phone_key.as_deref(), sme.email_domain.as_deref()), (Some("91234567"), Some("tea-house.hk")));
        assert_eq!(dtspp::risk::store::backfill_keys(&mut app.conn()).unwrap(), 0, "nothing left to fill");
    }

    async fn thresholds_are_programme_parameters(app) {
        let admin = app.admin_token().await;
        let rules = ok(app.get_as("/api/v1/admin/programme/rules", &admin).await).await;
        assert_eq!(rules["risk_thresholds"]["ceiling_min_applications"], 20);
        assert_eq!(rules["risk_thresholds"]["velocity_floor"], 50);
        let mut changed = rules.clone();
        changed["risk_thresholds"] = json!({"velocity_floor": 80});
        let res = app.client.put(app.url("/api/v1/admin/programme/rules")).bearer_auth(&admin).json(&changed).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let after: Value = res.json().await.unwrap();
        assert_eq!(after["risk_thresholds"]["velocity_floor"], 80);
        assert_eq!(after["risk_thresholds"]["ceiling_min_applications"], 20, "others keep their defaults");
        changed["risk_thresholds"] = json!({"ceiling_share_bps": 20000, "shared_contact_min_smes": 1});
        let res = app.client.put(app.url("/api/v1/admin/programme/rules")).bearer_auth(&admin).json(&changed).send().await.unwrap();
        assert_eq!(res.status(), 422);
        let body: Value = res.json().await.unwrap();
        let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["risk_thresholds.ceiling_share_bps", "risk_thresholds.shared_contact_min_smes"]);
        // Leaving the object out keeps the thresholds in force.
        changed.as_object_mut().unwrap().remove("risk_thresholds");
        let res = app.client.put(app.url("/api/v1/admin/programme/rules")).bearer_auth(&admin).json(&changed).send().await.unwrap();
        let kept: Value = res.json().await.unwrap();
        assert_eq!(kept["risk_thresholds"]["velocity_floor"], 80);
    }
}

/// What the replay found.
struct Replay {
    ring: usize,
    ring_held: usize,
    honest: usize,
    honest_flagged: usize,
}

/// The January 2026 pattern among honest traffic. A ring vendor's "free help" agents file 30
/// applications at the HK$100,000 ceiling from three addresses, for SMEs registered in batches
/// with the agents' phones, delivered at once and paid with references in sequence. Beside it,
/// 12 honest vendors take 150 applications from SMEs with their own contacts, addresses and
/// bank references, at varied prices.
async fn replay(app: &TestApp) -> Replay {
    let admin = app.admin_token().await;
    open_batch(app, &admin, None).await;
    let mut ring_form = package_form("online_marketing", "retail");
    ring_form["pricing"] = json!({"model": "one_off", "price": "100000.00"});
    ring_form["options"] = json!([]);
    ring_form["deployment_days"] = json!(45);
    let (ring_vendor, _) = vendor_with(app, &admin, json!({}), Some("203.0.113.7")).await;
    let ring_package = list(app, &ring_vendor, &admin, ring_form).await;
    let mut ring = Vec::new();
    for i in 0..30 {
        let ip = format!("198.51.100.{}", 10 + i % 3);
        let agent_phone = format!("+852 6{:03}0000", i % 5);
        let sme = sme_with(
            app,
            json!({"phone": agent_phone, "sector": "retail"}),
            Some(&ip),
        )
        .await;
        let application = applied(app, &sme, &ring_vendor, &ring_package, Some(&ip)).await;
        ring.push((sme, application));
    }
    let mut honest = Vec::new();
    for v in 0..12 {
        let (vendor, _) = vendor_with(
            app,
            &admin,
            json!({}),
            Some(&format!("192.0.2.{}", 100 + v)),
        )
        .await;
        let sector = ["food_and_beverage", "retail"][v % 2];
        let mut form = package_form(
            ["e_payment_pos", "online_marketing", "crm_loyalty"][v % 3],
            sector,
        );
        form["pricing"] =
            json!({"model": "one_off", "price": format!("{}.00", 12_000 + v * 7_300)});
        form["options"] = json!([]);
        let package = list(app, &vendor, &admin, form).await;
        for i in 0..12 + (v % 3) {
            let ip = format!("10.{}.{}.{}", v, i, 20 + i);
            let sme = sme_with(app, json!({"sector": sector}), Some(&ip)).await;
            let application = applied(app, &sme, &vendor, &package, Some(&ip)).await;
            honest.push((vendor.clone(), sme, application));
        }
    }
    // Approvals, deliveries and payments: the ring's references run in sequence.
    for (n, (sme, application)) in ring.iter().enumerate() {
        to_claim(
            app,
            &admin,
            &ring_vendor,
            sme,
            application,
            &format!("FPS-20260105-{:03}", 100 + n),
        )
        .await;
    }
    for (vendor, sme, application) in &honest {
        let reference = format!("FPS-{}", uuid::Uuid::new_v4().as_u128() % 1_000_000_000_000);
        to_claim(app, &admin, vendor, sme, application, &reference).await;
    }
    let scan = ok(app
        .client
        .post(app.url("/api/v1/admin/risk/scan"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap())
    .await;
    assert!(
        scan["applications_scanned"].as_i64().unwrap() >= 180,
        "{scan}"
    );
    let again = ok(app
        .client
        .post(app.url("/api/v1/admin/risk/scan"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap())
    .await;
    assert_eq!(
        (
            again["flags_raised"].as_i64(),
            again["flags_updated"].as_i64()
        ),
        (Some(0), Some(0)),
        "raising is idempotent"
    );

    let open = flags(app, &admin, "status=open").await;
    let held: std::collections::HashSet<String> = open
        .iter()
        .filter(|f| f["severity"] != "low")
        .flat_map(|f| {
            f["application_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
        })
        .collect();
    let flagged: std::collections::HashSet<String> = open
        .iter()
        .flat_map(|f| {
            f["application_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
        })
        .collect();
    // No ring claim can be verified: every one is held.
    for (_, application) in &ring {
        let id = application["id"].as_str().unwrap();
        if held.contains(id) {
            let res = act(
                app,
                &admin,
                &format!("/api/v1/admin/applications/{id}/verify-claim"),
                None,
            )
            .await;
            assert_eq!(res.status(), 409);
        }
    }
    let indicators: std::collections::BTreeSet<&str> = open
        .iter()
        .map(|f| f["indicator"].as_str().unwrap())
        .collect();
    println!("replay: open flags by indicator: {indicators:?}");
    Replay {
        ring: ring.len(),
        ring_held: ring
            .iter()
            .filter(|(_, a)| held.contains(a["id"].as_str().unwrap()))
            .count(),
        honest: honest.len(),
        honest_flagged: honest
            .iter()
            .filter(|(_, _, a)| flagged.contains(a["id"].as_str().unwrap()))
            .count(),
    }
}

macro_rules! replay_on {
    ($name:ident, $backend:expr, $enabled:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            if !$enabled {
                return;
            }
            let app = crate::helpers::spawn_app_with($backend, &[("DTSPP_TRUSTED_PROXIES", "127.0.0.1/32")]).await;
            let r = replay(&app).await;
            let recall = r.ring_held as f64 / r.ring as f64;
            let false_positive_rate = r.honest_flagged as f64 / r.honest as f64;
            let precision = r.ring_held as f64 / (r.ring_held + r.honest_flagged).max(1) as f64;
            println!(
                "replay ({}): recall {:.1}% ({}/{} ring applications held), precision {:.1}%, honest flagged {:.1}% ({}/{})",
                stringify!($name), recall * 100.0, r.ring_held, r.ring, precision * 100.0,
                false_positive_rate * 100.0, r.honest_flagged, r.honest
            );
            assert_eq!(r.ring_held, r.ring, "every ring application is held before its claim can be verified");
            assert!(false_positive_rate <= 0.05, "at most 5% of honest applications flagged");
        }
    };
}

replay_on!(
    the_january_2026_pattern_is_caught_on_sqlite,
    dtspp::db::Backend::Sqlite,
    true
);
replay_on!(
    the_january_2026_pattern_is_caught_on_postgres,
    dtspp::db::Backend::Postgres,
    crate::helpers::postgres_enabled()
);
