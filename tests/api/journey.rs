//! The SME journey: enquiries, applications, the waitlist, the lifecycle to disbursement, and
//! the books balancing after every step.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use serde_json::{Value, json};

use crate::catalogue_helpers::list;
use crate::helpers::{PASSWORD, TestApp, unique_br};
use crate::packages::{approved_vendor, ok, package_form, post};
use crate::test_on_both_backends;

/// A listed package (HK$38,000 with a HK$1,800 add-on) of an approved vendor.
pub struct Market {
    pub vendor: String,
    pub admin: String,
    pub package_id: String,
    pub option_id: String,
}

impl Market {
    /// The vendor's id, which owns the package.
    pub fn vendor_id(&self, app: &TestApp) -> String {
        use dtspp::db::schema::packages;
        packages::table
            .find(&self.package_id)
            .select(packages::vendor_id)
            .first(&mut app.conn())
            .unwrap()
    }
}

pub async fn market(app: &TestApp) -> Market {
    let (vendor, admin) = approved_vendor(app).await;
    let package_id = list(
        app,
        &vendor,
        &admin,
        package_form("e_payment_pos", "food_and_beverage"),
    )
    .await;
    let detail = ok(app
        .get(&format!("/api/v1/catalogue/packages/{package_id}"))
        .await)
    .await;
    let option_id = detail["options"][0]["id"].as_str().unwrap().to_owned();
    Market {
        vendor,
        admin,
        package_id,
        option_id,
    }
}

/// Opens a batch from an hour ago to tomorrow, with an optional quota.
pub async fn open_batch(app: &TestApp, admin: &str, quota: Option<&str>) -> String {
    let now = chrono::Utc::now();
    let body = json!({
        "name": format!("Batch {}", uuid::Uuid::new_v4().simple()),
        "opens_at": (now - chrono::Duration::hours(1)).to_rfc3339(),
        "closes_at": (now + chrono::Duration::days(1)).to_rfc3339(),
        "quota": quota,
    });
    let res = post(app, admin, "/api/v1/admin/batches", Some(body)).await;
    assert_eq!(res.status(), 201);
    ok(res).await["id"].as_str().unwrap().to_owned()
}

/// An SME's enquiry on the market's package (with its add-on), confirmed by the vendor.
pub async fn confirmed_enquiry(app: &TestApp, sme: &str, m: &Market) -> String {
    let body = json!({"package_id": m.package_id, "option_ids": [m.option_id], "message": "Two tablets please."});
    let res = post(app, sme, "/api/v1/sme/enquiries", Some(body)).await;
    let enquiry = ok(res).await;
    assert_eq!(enquiry["status"], "open");
    assert_eq!(enquiry["eligible_cost"], "39800.00");
    let id = enquiry["id"].as_str().unwrap().to_owned();
    let confirmed = ok(post(
        app,
        &m.vendor,
        &format!("/api/v1/vendor/enquiries/{id}/confirm"),
        Some(json!({"note": "Stock ready."})),
    )
    .await)
    .await;
    assert_eq!(confirmed["status"], "confirmed");
    id
}

pub async fn apply(
    app: &TestApp,
    sme: &str,
    enquiry: &str,
    key: Option<&str>,
) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url("/api/v1/sme/applications"))
        .bearer_auth(sme)
        .json(&json!({"enquiry_id": enquiry}));
    if let Some(key) = key {
        req = req.header("Idempotency-Key", key);
    }
    req.send().await.unwrap()
}

pub async fn act(app: &TestApp, token: &str, path: &str, body: Option<Value>) -> reqwest::Response {
    post(app, token, path, body).await
}

#[derive(QueryableByName)]
struct Sum {
    #[diesel(sql_type = Nullable<BigInt>)]
    cents: Option<i64>,
}

fn sum(app: &TestApp, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .get_result::<Sum>(&mut app.conn())
        .unwrap()
        .cents
        .unwrap_or(0)
}

fn cents(v: &Value) -> i64 {
    let s = v.as_str().unwrap();
    let (whole, frac) = s.split_once('.').unwrap();
    whole.parse::<i64>().unwrap() * 100 + frac.parse::<i64>().unwrap()
}

/// The invariants after any scenario: the buckets sum to the total; the ledger summed by kind
/// equals the balances; the balances equal the applications' subsidies by status; each SME's
/// held cap equals its live applications' subsidies.
pub async fn assert_books_balance(app: &TestApp, admin: &str) {
    let budget = ok(app.get_as("/api/v1/admin/budget", admin).await).await;
    let (total, available, reserved, committed, disbursed) = (
        cents(&budget["total"]),
        cents(&budget["available"]),
        cents(&budget["reserved"]),
        cents(&budget["committed"]),
        cents(&budget["disbursed"]),
    );
    assert_eq!(
        available + reserved + committed + disbursed,
        total,
        "{budget}"
    );
    let sums: std::collections::HashMap<String, i64> =
        dtspp::budget::store::ledger_sums(&mut app.conn())
            .unwrap()
            .into_iter()
            .collect();
    let k = |kind: &str| sums.get(kind).copied().unwrap_or(0);
    assert_eq!(k("adjust"), total, "ledger adjustments sum to the total");
    assert_eq!(
        k("reserve") - k("commit") - k("release_reserved"),
        reserved,
        "{sums:?}"
    );
    assert_eq!(
        k("commit") - k("release_committed") - k("disburse"),
        committed,
        "{sums:?}"
    );
    assert_eq!(k("disburse"), disbursed, "{sums:?}");
    let by = |statuses: &str| {
        sum(
            app,
            &format!(
                "SELECT CAST(SUM(subsidy_cents) AS BIGINT) AS cents FROM applications WHERE status IN ({statuses})"
            ),
        )
    };
    assert_eq!(by("'reserved'"), reserved);
    assert_eq!(
        by("'approved','delivered','delivery_confirmed','claim_verified'"),
        committed
    );
    assert_eq!(by("'disbursed'"), disbursed);
    let waitlisted = by("'waitlisted'");
    assert_eq!(cents(&budget["waitlisted_amount"]), waitlisted);
    assert_rows_balance(app);
    let held = sum(
        app,
        "SELECT CAST(SUM(subsidy_held_cents) AS BIGINT) AS cents FROM smes",
    );
    assert_eq!(
        held,
        reserved + committed + disbursed + waitlisted,
        "SME caps hold the live subsidies"
    );
    #[derive(QueryableByName)]
    struct Mismatch {
        #[diesel(sql_type = Text)]
        id: String,
    }
    let wrong: Vec<Mismatch> = diesel::sql_query(
        "SELECT s.id FROM smes s WHERE s.subsidy_held_cents <> COALESCE((SELECT SUM(a.subsidy_cents) FROM applications a \
         WHERE a.sme_id = s.id AND a.status NOT IN ('rejected','withdrawn','expired')), 0)",
    )
    .load(&mut app.conn())
    .unwrap();
    assert!(
        wrong.is_empty(),
        "SMEs whose held cap is off: {:?}",
        wrong.iter().map(|w| &w.id).collect::<Vec<_>>()
    );
    // Each batch with a quota has used exactly what its applications hold (reserved,
    // committed or disbursed); a batch without one never counts.
    let wrong: Vec<Mismatch> = diesel::sql_query(
        "SELECT b.id FROM intake_batches b WHERE b.used_cents <> CASE WHEN b.quota_cents IS NULL THEN 0 \
         ELSE COALESCE((SELECT SUM(a.subsidy_cents) FROM applications a WHERE a.batch_id = b.id \
         AND a.status NOT IN ('waitlisted','rejected','withdrawn','expired')), 0) END",
    )
    .load(&mut app.conn())
    .unwrap();
    assert!(
        wrong.is_empty(),
        "batches whose used quota is off: {:?}",
        wrong.iter().map(|w| &w.id).collect::<Vec<_>>()
    );
}

/// Sets the programme budget's total, keeping the other rules.
pub async fn set_budget_total(app: &TestApp, admin: &str, total: &str) -> reqwest::Response {
    // What GET shows, read-only fields included, goes back with the one change.
    let mut rules = ok(app.get_as("/api/v1/admin/programme/rules", admin).await).await;
    let rules = rules.as_object_mut().unwrap();
    rules.insert("budget_total".to_owned(), json!(total));
    app.client
        .put(app.url("/api/v1/admin/programme/rules"))
        .bearer_auth(admin)
        .json(&rules)
        .send()
        .await
        .unwrap()
}

async fn status_of(app: &TestApp, sme: &str, id: &str) -> String {
    let body = ok(app
        .get_as(&format!("/api/v1/sme/applications/{id}"), sme)
        .await)
    .await;
    body["status"].as_str().unwrap().to_owned()
}

test_on_both_backends! {
    async fn an_sme_goes_from_enquiry_to_disbursement(app) {
        let m = market(&app).await;
        let programme = ok(app.get("/api/v1/programme").await).await;
        assert!(programme["open_batch"].is_null());
        assert_eq!(programme["budget_total"], "500000000.00");
        let batch = open_batch(&app, &m.admin, None).await;
        let programme = ok(app.get("/api/v1/programme").await).await;
        assert_eq!(programme["open_batch"]["id"], batch.as_str());
        assert_eq!(programme["matching_ratio"], "0.50");

        let sme = app.sme_token().await;
        let enquiry = confirmed_enquiry(&app, &sme, &m).await;
        let other_vendor = app.vendor_token().await;
        let res = act(&app, &other_vendor, &format!("/api/v1/vendor/enquiries/{enquiry}/decline"), Some(json!({"reason": "not mine"}))).await;
        assert_eq!(res.status(), 404, "only the package's vendor may answer");

        let res = apply(&app, &sme, &enquiry, Some("apply-1")).await;
        assert_eq!(res.status(), 201);
        let first: Value = res.json().await.unwrap();
        assert_eq!(first["status"], "reserved");
        assert_eq!((first["eligible_cost"].as_str(), first["subsidy"].as_str(), first["sme_pays"].as_str()), (Some("39800.00"), Some("19900.00"), Some("19900.00")));
        assert_eq!(first["rules_version"], 1);
        let id = first["id"].as_str().unwrap().to_owned();

        let res = apply(&app, &sme, &enquiry, Some("apply-1")).await;
        assert_eq!(res.status(), 201, "a repeat replays");
        assert_eq!(res.headers()["idempotent-replayed"], "true");
        assert_eq!(res.json::<Value>().await.unwrap(), first);
        let other = app.client.post(app.url("/api/v1/sme/applications")).bearer_auth(&sme)
            .header("Idempotency-Key", "apply-1").json(&json!({"enquiry_id": "another"})).send().await.unwrap();
        assert_eq!(other.status(), 422, "same key, other body");
        assert_eq!(apply(&app, &sme, &enquiry, Some("apply-2")).await.status(), 409, "one application per package");
        let quote = ok(app.get_as(&format!("/api/v1/catalogue/packages/{}/quote", m.package_id), &sme).await).await;
        assert_eq!(quote["remaining_cap_after"], "11100.00", "an SME's quote uses its remaining cap");
        assert_books_balance(&app, &m.admin).await;

        let approved = ok(act(&app, &m.admin, &format!("/api/v1/admin/applications/{id}/approve"), None).await).await;
        assert_eq!(approved["status"], "approved");
        assert!(approved["deadline_at"].is_string());
        assert_books_balance(&app, &m.admin).await;
        let today = dtspp::time::hk_today().to_string();
        let res = act(&app, &m.vendor, &format!("/api/v1/vendor/applications/{id}/deliver"), Some(json!({"delivered_on": "2999-01-01", "note": "Installed"}))).await;
        assert_eq!(res.status(), 422);
        let delivered = ok(act(&app, &m.vendor, &format!("/api/v1/vendor/applications/{id}/deliver"), Some(json!({"delivered_on": today, "note": "Installed two tablets."}))).await).await;
        assert_eq!(delivered["status"], "delivered");
        let path = format!("/api/v1/sme/applications/{id}/confirm-delivery");
        let res = act(&app, &sme, &path, Some(json!({"payment_reference": "FPS-1", "amount_paid": "19899.99", "paid_on": today}))).await;
        assert_eq!(res.status(), 422, "the amount must equal sme_pays");
        let confirmed = ok(act(&app, &sme, &path, Some(json!({"payment_reference": "FPS-20260302-1", "amount_paid": "19900.00", "paid_on": today}))).await).await;
        assert_eq!(confirmed["status"], "delivery_confirmed");
        assert_eq!(act(&app, &m.admin, &format!("/api/v1/admin/applications/{id}/disburse"), None).await.status(), 409, "not verified yet");
        let verified = ok(act(&app, &m.admin, &format!("/api/v1/admin/applications/{id}/verify-claim"), None).await).await;
        assert_eq!(verified["status"], "claim_verified");
        let res = act(&app, &m.admin, &format!("/api/v1/admin/applications/{id}/disburse"), None).await;
        assert_eq!(res.status(), 403, "maker-checker");
        let checker = app.admin_token().await;
        let disbursed = ok(act(&app, &checker, &format!("/api/v1/admin/applications/{id}/disburse"), None).await).await;
        assert_eq!(disbursed["status"], "disbursed");
        assert_eq!(act(&app, &sme, &format!("/api/v1/sme/applications/{id}/withdraw"), None).await.status(), 409, "too late to withdraw");
        assert_books_balance(&app, &m.admin).await;
        let budget = ok(app.get_as("/api/v1/admin/budget", &m.admin).await).await;
        assert_eq!(budget["disbursed"], "19900.00");
        // The whole ledger, two entries a page.
        let mut entries: Vec<Value> = Vec::new();
        let mut path = "/api/v1/admin/budget/ledger?limit=2".to_owned();
        loop {
            let page = ok(app.get_as(&path, &m.admin).await).await;
            entries.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(next) => path = format!("/api/v1/admin/budget/ledger?limit=2&cursor={next}"),
                None => break,
            }
        }
        let seqs: Vec<i64> = entries.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
        assert_eq!(seqs, (1..=entries.len() as i64).collect::<Vec<_>>(), "numbered from 1, none skipped");
        let moves: Vec<(&str, &str)> = entries
            .iter()
            .filter(|e| e["kind"] != "transfer")
            .map(|e| (e["kind"].as_str().unwrap(), e["pool"].as_str().unwrap()))
            .collect();
        let pool = moves[1].1;
        assert_eq!(moves, [("adjust", "programme"), ("reserve", pool), ("commit", pool), ("disburse", pool)]);
        if app.backend == dtspp::db::Backend::Postgres {
            // A full budget: the reservation was made on the SME's escrow shard, refilled from
            // the root by a pair of transfers.
            assert!(pool.starts_with("programme/"), "{pool}");
            let mut transfers: Vec<(&str, bool)> = entries
                .iter()
                .filter(|e| e["kind"] == "transfer")
                .map(|e| (e["pool"].as_str().unwrap(), e["amount"].as_str().unwrap().starts_with('-')))
                .collect();
            transfers.sort();
            assert_eq!(transfers, [("programme", true), (pool, false)]);
        } else {
            assert_eq!(pool, "programme", "SQLite keeps one budget row");
        }

        let audit = ok(app.get_as(&format!("/api/v1/admin/audit-events?entity_type=application&entity_id={id}"), &m.admin).await).await;
        assert_eq!(audit["items"].as_array().unwrap().len(), 6, "applied, approve, deliver, confirm, verify, disburse");
        let mail = app.deliver_mail().await;
        assert!(mail.iter().any(|m| m.body.contains("is now disbursed") && m.body.contains("資助款項已發放")));
        assert!(mail.iter().any(|m| m.body.contains("confirmed your enquiry")));

        // A disabled account never hears a replay: its account is checked before its key.
        let me = ok(app.get_as("/api/v1/me", &sme).await).await;
        let disable = format!("/api/v1/admin/users/{}/disable", me["user"]["id"].as_str().unwrap());
        assert_eq!(act(&app, &m.admin, &disable, Some(json!({"reason": "Agent filing."}))).await.status(), 200);
        assert_eq!(apply(&app, &sme, &enquiry, Some("apply-1")).await.status(), 401, "no replay once disabled");
    }

    async fn applying_needs_an_eligible_sme_a_confirmed_enquiry_and_an_open_batch(app) {
        let m = market(&app).await;
        let email = format!("big-{}@shop.hk", uuid::Uuid::new_v4().simple());
        let mut form = crate::helpers::sme_form(&email, &unique_br());
        form["full_time_employees"] = json!(80);
        assert_eq!(app.post_json("/api/v1/smes/register", &form).await.status(), 201);
        let big = app.login(&email, PASSWORD).await["access_token"].as_str().unwrap().to_owned();
        let res = act(&app, &big, "/api/v1/sme/enquiries", Some(json!({"package_id": m.package_id}))).await;
        assert_eq!(res.status(), 403);
        assert!(res.text().await.unwrap().contains("employees"), "the reasons are given");

        let sme = app.sme_token().await;
        let res = act(&app, &sme, "/api/v1/sme/enquiries", Some(json!({"package_id": m.package_id, "option_ids": ["nope"]}))).await;
        assert_eq!(res.status(), 422);
        let open = ok(act(&app, &sme, "/api/v1/sme/enquiries", Some(json!({"package_id": m.package_id}))).await).await;
        let open_id = open["id"].as_str().unwrap();
        assert_eq!(act(&app, &sme, "/api/v1/sme/enquiries", Some(json!({"package_id": m.package_id}))).await.status(), 409);
        assert_eq!(apply(&app, &sme, open_id, None).await.status(), 409, "not confirmed yet");
        let declined = ok(act(&app, &m.vendor, &format!("/api/v1/vendor/enquiries/{open_id}/decline"), Some(json!({"reason": "Out of stock until May."}))).await).await;
        assert_eq!(declined["status"], "declined");
        assert_eq!(act(&app, &m.vendor, &format!("/api/v1/vendor/enquiries/{open_id}/confirm"), None).await.status(), 409);

        let enquiry = confirmed_enquiry(&app, &sme, &m).await;
        let res = apply(&app, &sme, &enquiry, None).await;
        assert_eq!(res.status(), 409);
        assert!(res.text().await.unwrap().contains("No intake batch is open"));
        let stranger = app.sme_token().await;
        assert_eq!(apply(&app, &stranger, &enquiry, None).await.status(), 404, "not the stranger's enquiry");
        let mine = ok(app.get_as("/api/v1/sme/enquiries?status=confirmed", &sme).await).await;
        assert_eq!(mine["items"].as_array().unwrap().len(), 1);
        let queue = ok(app.get_as("/api/v1/vendor/enquiries", &m.vendor).await).await;
        assert_eq!(queue["items"].as_array().unwrap().len(), 2);
        assert_books_balance(&app, &m.admin).await;
    }

    async fn the_waitlist_is_served_in_order_when_money_is_released(app) {
        let m = market(&app).await;
        open_batch(&app, &m.admin, None).await;
        // Room for exactly two subsidies of HK$19,900.
        let res = set_budget_total(&app, &m.admin, "39800.00").await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.json::<Value>().await.unwrap()["version"], 2);
        let mut smes = Vec::new();
        let mut ids = Vec::new();
        for _ in 0..4 {
            let sme = app.sme_token().await;
            let enquiry = confirmed_enquiry(&app, &sme, &m).await;
            let body: Value = apply(&app, &sme, &enquiry, None).await.json().await.unwrap();
            assert_eq!(body["rules_version"], 2);
            ids.push(body["id"].as_str().unwrap().to_owned());
            smes.push(sme);
        }
        let statuses: Vec<String> = futures_util::future::join_all(ids.iter().zip(&smes).map(|(id, s)| status_of(&app, s, id))).await;
        assert_eq!(statuses, ["reserved", "reserved", "waitlisted", "waitlisted"]);
        let budget = ok(app.get_as("/api/v1/admin/budget", &m.admin).await).await;
        assert_eq!((budget["available"].as_str(), budget["waitlisted_count"].as_i64()), (Some("0.00"), Some(2)));
        let res = set_budget_total(&app, &m.admin, "30000.00").await;
        assert_eq!(res.status(), 409, "the total cannot go below what is reserved");
        assert_books_balance(&app, &m.admin).await;

        ok(act(&app, &smes[0], &format!("/api/v1/sme/applications/{}/withdraw", ids[0]), None).await).await;
        assert_eq!(status_of(&app, &smes[2], &ids[2]).await, "reserved", "the first in line is promoted");
        assert_eq!(status_of(&app, &smes[3], &ids[3]).await, "waitlisted");
        ok(act(&app, &m.admin, &format!("/api/v1/admin/applications/{}/approve", ids[1]), None).await).await;
        let res = act(&app, &m.admin, &format!("/api/v1/admin/applications/{}/reject", ids[1]), None).await;
        assert_eq!(res.status(), 422, "a rejection needs a comment");
        ok(act(&app, &m.admin, &format!("/api/v1/admin/applications/{}/reject", ids[1]), Some(json!({"comment": "Duplicate of an earlier grant."}))).await).await;
        assert_eq!(status_of(&app, &smes[3], &ids[3]).await, "reserved", "a rejection releases committed money too");
        assert_books_balance(&app, &m.admin).await;
        let raised = set_budget_total(&app, &m.admin, "500000000.00").await;
        assert_eq!(raised.status(), 200);
        let mail = app.deliver_mail().await;
        assert!(mail.iter().any(|m| m.body.contains("is now reserved") && m.body.contains("預留")));
        let audit = ok(app.get_as("/api/v1/admin/audit-events?action=application.promote", &m.admin).await).await;
        assert_eq!(audit["items"].as_array().unwrap().len(), 2);
        assert_books_balance(&app, &m.admin).await;
    }

    async fn a_batch_quota_is_enforced_like_the_budget(app) {
        let m = market(&app).await;
        let batch = open_batch(&app, &m.admin, Some("20000.00")).await;
        let (a, b) = (app.sme_token().await, app.sme_token().await);
        let ea = confirmed_enquiry(&app, &a, &m).await;
        let eb = confirmed_enquiry(&app, &b, &m).await;
        let first = ok(apply(&app, &a, &ea, None).await).await;
        let second = ok(apply(&app, &b, &eb, None).await).await;
        assert_eq!((first["status"].as_str(), second["status"].as_str()), (Some("reserved"), Some("waitlisted")));
        let batches = ok(app.get_as("/api/v1/admin/batches", &m.admin).await).await;
        assert_eq!(batches["items"][0]["id"], batch.as_str());
        assert_eq!(batches["items"][0]["held"], "19900.00");
        let overlapping = json!({"name": "Overlap", "opens_at": chrono::Utc::now().to_rfc3339(), "closes_at": (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339()});
        assert_eq!(act(&app, &m.admin, "/api/v1/admin/batches", Some(overlapping)).await.status(), 409);
        let id = first["id"].as_str().unwrap();
        ok(act(&app, &m.admin, &format!("/api/v1/admin/applications/{id}/reject"), Some(json!({"comment": "Incomplete."}))).await).await;
        assert_eq!(status_of(&app, &b, second["id"].as_str().unwrap()).await, "reserved");
        assert_books_balance(&app, &m.admin).await;
    }

    async fn overdue_approvals_expire_and_release_their_money(app) {
        let m = market(&app).await;
        open_batch(&app, &m.admin, None).await;
        let sme = app.sme_token().await;
        let enquiry = confirmed_enquiry(&app, &sme, &m).await;
        let id = ok(apply(&app, &sme, &enquiry, None).await).await["id"].as_str().unwrap().to_owned();
        ok(act(&app, &m.admin, &format!("/api/v1/admin/applications/{id}/approve"), None).await).await;
        let now = dtspp::time::now();
        assert_eq!(dtspp::applications::expiry::expire_due(&app.db, now).await.unwrap(), 0, "not due yet");
        {
            use dtspp::db::schema::applications;
            diesel::update(applications::table.find(&id))
                .set(applications::deadline_at.eq(now - chrono::Duration::days(1)))
                .execute(&mut app.conn())
                .unwrap();
        }
        let today = dtspp::time::hk_today().to_string();
        let res = act(&app, &m.vendor, &format!("/api/v1/vendor/applications/{id}/deliver"), Some(json!({"delivered_on": today, "note": "late"}))).await;
        assert_eq!(res.status(), 409, "past the deadline");
        assert_eq!(dtspp::applications::expiry::expire_due(&app.db, now).await.unwrap(), 1);
        assert_eq!(dtspp::applications::expiry::expire_due(&app.db, now).await.unwrap(), 0, "once only");
        assert_eq!(status_of(&app, &sme, &id).await, "expired");
        let budget = ok(app.get_as("/api/v1/admin/budget", &m.admin).await).await;
        assert_eq!((budget["committed"].as_str(), budget["available"].as_str()), (Some("0.00"), Some("500000000.00")));
        assert_books_balance(&app, &m.admin).await;
    }

    async fn a_reused_payment_reference_is_refused_and_flagged(app) {
        let m = market(&app).await;
        open_batch(&app, &m.admin, None).await;
        let today = dtspp::time::hk_today().to_string();
        let mut delivered = Vec::new();
        for _ in 0..2 {
            let sme = app.sme_token().await;
            let enquiry = confirmed_enquiry(&app, &sme, &m).await;
            let id = ok(apply(&app, &sme, &enquiry, None).await).await["id"].as_str().unwrap().to_owned();
            ok(act(&app, &m.admin, &format!("/api/v1/admin/applications/{id}/approve"), None).await).await;
            ok(act(&app, &m.vendor, &format!("/api/v1/vendor/applications/{id}/deliver"), Some(json!({"delivered_on": today, "note": "done"}))).await).await;
            delivered.push((sme, id));
        }
        let proof = |reference: &str| Some(json!({"payment_reference": reference, "amount_paid": "19900.00", "paid_on": today}));
        let (a, b) = (&delivered[0], &delivered[1]);
        ok(act(&app, &a.0, &format!("/api/v1/sme/applications/{}/confirm-delivery", a.1), proof("FPS-7788")).await).await;
        let res = act(&app, &b.0, &format!("/api/v1/sme/applications/{}/confirm-delivery", b.1), proof("fps 7788")).await;
        assert_eq!(res.status(), 409);
        let flags = ok(app.get_as("/api/v1/admin/risk-flags?status=open", &m.admin).await).await;
        assert_eq!(flags["items"].as_array().unwrap().len(), 1);
        assert_eq!(flags["items"][0]["indicator"], "payment_reference_reuse");
        assert_eq!(flags["items"][0]["severity"], "high");
        assert_eq!(flags["items"][0]["subject"], json!({"type": "application", "id": b.1}));
        let mut both = vec![a.1.clone(), b.1.clone()];
        both.sort();
        assert_eq!(flags["items"][0]["application_ids"], json!(both), "both applications");
        assert_eq!(status_of(&app, &b.0, &b.1).await, "delivered");
        assert_books_balance(&app, &m.admin).await;
    }
}

/// Each budget row (the root and any escrow shards) on its own: its buckets sum to its total,
/// its ledger entries account for each bucket, every transfer has its opposite, and its
/// reserved and committed money is exactly its applications' subsidies.
pub fn assert_rows_balance(app: &TestApp) {
    #[derive(QueryableByName, Debug)]
    struct Row {
        #[diesel(sql_type = Text)]
        id: String,
        #[diesel(sql_type = BigInt)]
        total_cents: i64,
        #[diesel(sql_type = BigInt)]
        available_cents: i64,
        #[diesel(sql_type = BigInt)]
        reserved_cents: i64,
        #[diesel(sql_type = BigInt)]
        committed_cents: i64,
        #[diesel(sql_type = BigInt)]
        disbursed_cents: i64,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT id, total_cents, available_cents, reserved_cents, committed_cents, disbursed_cents \
         FROM budget_pools ORDER BY id",
    )
    .load(&mut app.conn())
    .unwrap();
    for r in &rows {
        assert_eq!(
            r.available_cents + r.reserved_cents + r.committed_cents + r.disbursed_cents,
            r.total_cents,
            "{r:?}"
        );
        let k = |kinds: &str| {
            sum(
                app,
                &format!(
                    "SELECT CAST(SUM(amount_cents) AS BIGINT) AS cents FROM budget_ledger \
                     WHERE pool_id = '{}' AND kind IN ({kinds})",
                    r.id
                ),
            )
        };
        assert_eq!(k("'adjust','transfer'"), r.total_cents, "{r:?}");
        assert_eq!(
            k("'reserve'") - k("'commit'") - k("'release_reserved'"),
            r.reserved_cents,
            "{r:?}"
        );
        assert_eq!(
            k("'commit'") - k("'release_committed'") - k("'disburse'"),
            r.committed_cents,
            "{r:?}"
        );
        assert_eq!(k("'disburse'"), r.disbursed_cents, "{r:?}");
        // An application's money is on the row its reservation names.
        let held = |statuses: &str| {
            sum(
                app,
                &format!(
                    "SELECT CAST(SUM(a.subsidy_cents) AS BIGINT) AS cents FROM applications a \
                     JOIN budget_ledger l ON l.application_id = a.id AND l.kind = 'reserve' \
                     WHERE l.pool_id = '{}' AND a.status IN ({statuses})",
                    r.id
                ),
            )
        };
        assert_eq!(held("'reserved'"), r.reserved_cents, "{r:?}");
        assert_eq!(
            held("'approved','delivered','delivery_confirmed','claim_verified'"),
            r.committed_cents,
            "{r:?}"
        );
    }
    let unpaired = sum(
        app,
        "SELECT CAST(SUM(amount_cents) AS BIGINT) AS cents FROM budget_ledger WHERE kind = 'transfer'",
    );
    assert_eq!(unpaired, 0, "transfers come in opposite pairs");
}
