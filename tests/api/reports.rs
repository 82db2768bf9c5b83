//! Drawdown reports, the chart and the grants export, over random journeys on both backends:
//! the groups add up to the totals, the totals are `/admin/budget`, a past `to` replays the
//! ledger, and the CSV opens cleanly.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};
use dtspp::auth::Role;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{Value, json};

use crate::catalogue_helpers::list;
use crate::helpers::TestApp;
use crate::journey::{act, apply, assert_books_balance, market, open_batch, set_budget_total};
use crate::packages::{approved_vendor, ok, package_form};
use crate::test_on_both_backends;

const GROUPS: [&str; 7] = [
    "week", "month", "batch", "category", "sector", "vendor", "district",
];

fn cents(v: &Value) -> i64 {
    let s = v.as_str().unwrap_or_else(|| panic!("money, not {v}"));
    let (whole, frac) = s.split_once('.').unwrap();
    assert_eq!(frac.len(), 2, "{s}");
    whole.parse::<i64>().unwrap() * 100 + frac.parse::<i64>().unwrap()
}

/// What happens to one application after it is made.
#[derive(Debug, Clone, Copy)]
enum Fate {
    Stay,
    Withdraw,
    Approve,
    ApproveThenReject,
    Reject,
    Disburse,
}

fn fate() -> impl Strategy<Value = Fate> {
    prop_oneof![
        Just(Fate::Stay),
        Just(Fate::Withdraw),
        Just(Fate::Approve),
        Just(Fate::ApproveThenReject),
        Just(Fate::Reject),
        Just(Fate::Disburse),
    ]
}

struct Scene {
    admin: String,
    checker: String,
    vendors: Vec<String>,
    packages: Vec<String>,
}

/// Two vendors' packages in two categories and sectors; applicants for each, in two districts;
/// a budget that funds about two thirds of them; then each application's random fate.
async fn random_journey(app: &TestApp, fates: &[Fate]) -> Scene {
    let m = market(app).await;
    let (vendor2, _) = approved_vendor(app).await;
    let package2 = list(
        app,
        &vendor2,
        &m.admin,
        package_form("online_marketing", "retail"),
    )
    .await;
    open_batch(app, &m.admin, None).await;
    let room = (fates.len() as i64 * 2 / 3).max(1);
    let total = format!("{}.00", room * 19_000);
    assert_eq!(set_budget_total(app, &m.admin, &total).await.status(), 200);
    let scene = Scene {
        admin: m.admin,
        checker: app.admin_token().await,
        vendors: vec![m.vendor, vendor2],
        packages: vec![m.package_id, package2],
    };
    play(app, &scene, fates).await;
    scene
}

/// New applicants for the scene's two packages (half each, every other one in Wan Chai) apply,
/// then each application meets its fate.
async fn play(app: &TestApp, scene: &Scene, fates: &[Fate]) {
    let half = fates.len() / 2;
    let mut applicants =
        dtspp::seed::applicants::create(&mut app.conn(), &scene.packages[0], half).unwrap();
    applicants.extend(
        dtspp::seed::applicants::create(&mut app.conn(), &scene.packages[1], fates.len() - half)
            .unwrap(),
    );
    for a in applicants.iter().step_by(2) {
        diesel::sql_query("UPDATE smes SET district = 'Wan Chai' WHERE id = $1")
            .bind::<Text, _>(&a.sme_id)
            .execute(&mut app.conn())
            .unwrap();
    }
    let (admin, checker) = (&scene.admin, &scene.checker);
    let today = dtspp::time::hk_today().to_string();
    for (i, (a, fate)) in applicants.iter().zip(fates).enumerate() {
        let sme = app.token_for(&a.user_id, Role::Sme);
        let vendor = &scene.vendors[usize::from(i >= half)];
        let res = apply(app, &sme, &a.enquiry_id, None).await;
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.unwrap();
        let id = body["id"].as_str().unwrap().to_owned();
        let waiting = body["status"] == "waitlisted";
        let admin_path = |step: &str| format!("/api/v1/admin/applications/{id}/{step}");
        let expect = |res: reqwest::Response, what: &str| {
            assert_eq!(res.status(), 200, "{what} of {id} ({fate:?})");
        };
        match (fate, waiting) {
            (Fate::Stay, _) => {}
            (Fate::Withdraw, _) => expect(
                act(
                    app,
                    &sme,
                    &format!("/api/v1/sme/applications/{id}/withdraw"),
                    None,
                )
                .await,
                "withdraw",
            ),
            (Fate::Reject, _) => expect(
                act(
                    app,
                    admin,
                    &admin_path("reject"),
                    Some(json!({"comment": "Not eligible."})),
                )
                .await,
                "reject",
            ),
            (_, true) => {}
            (Fate::Approve, false) => expect(
                act(app, admin, &admin_path("approve"), None).await,
                "approve",
            ),
            (Fate::ApproveThenReject, false) => {
                expect(
                    act(app, admin, &admin_path("approve"), None).await,
                    "approve",
                );
                expect(
                    act(
                        app,
                        admin,
                        &admin_path("reject"),
                        Some(json!({"comment": "Withdrawn by the programme."})),
                    )
                    .await,
                    "reject",
                );
            }
            (Fate::Disburse, false) => {
                expect(
                    act(app, admin, &admin_path("approve"), None).await,
                    "approve",
                );
                expect(
                    act(
                        app,
                        vendor,
                        &format!("/api/v1/vendor/applications/{id}/deliver"),
                        Some(json!({"delivered_on": today, "note": "Installed."})),
                    )
                    .await,
                    "deliver",
                );
                let reference = format!("FPS-{}", uuid::Uuid::new_v4().simple());
                expect(
                    act(app, &sme, &format!("/api/v1/sme/applications/{id}/confirm-delivery"), Some(json!({"payment_reference": reference, "amount_paid": body["sme_pays"], "paid_on": today}))).await,
                    "confirm-delivery",
                );
                expect(
                    act(app, admin, &admin_path("verify-claim"), None).await,
                    "verify-claim",
                );
                expect(
                    act(app, checker, &admin_path("disburse"), None).await,
                    "disburse",
                );
            }
        }
    }
    assert_books_balance(app, admin).await;
}

#[derive(QueryableByName)]
struct Entry {
    #[diesel(sql_type = Text)]
    id: String,
}

#[derive(QueryableByName)]
struct Sql {
    #[diesel(sql_type = Text)]
    sql: String,
}

/// Spreads the ledger over the last `weeks` weeks, in its own order, so that periods differ.
/// The ledger is append-only (a trigger refuses updates); the test lifts the trigger for this
/// backdating and puts it back, which the application itself never does, and rebuilds the
/// daily rollup that the application derives from it.
fn spread_ledger(app: &TestApp, weeks: i64) {
    let mut conn = app.conn();
    dtspp::budget::store::number_entries(&mut conn).unwrap();
    let ids: Vec<Entry> = diesel::sql_query("SELECT id FROM budget_ledger ORDER BY seq")
        .load(&mut conn)
        .unwrap();
    let start = dtspp::time::now() - chrono::Duration::weeks(weeks);
    let step = chrono::Duration::weeks(weeks) / (ids.len() as i32 + 1);
    let (lift, restore) = match conn.backend() {
        dtspp::db::Backend::Postgres => (
            "ALTER TABLE budget_ledger DISABLE TRIGGER budget_ledger_no_update".to_owned(),
            "ALTER TABLE budget_ledger ENABLE TRIGGER budget_ledger_no_update".to_owned(),
        ),
        dtspp::db::Backend::Sqlite => {
            // The trigger is put back exactly as the migrations made it.
            let made: Sql = diesel::sql_query(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'budget_ledger_no_update'",
            )
            .get_result(&mut conn)
            .unwrap();
            ("DROP TRIGGER budget_ledger_no_update".to_owned(), made.sql)
        }
    };
    diesel::sql_query(&lift).execute(&mut conn).unwrap();
    for (i, e) in ids.iter().enumerate() {
        diesel::sql_query("UPDATE budget_ledger SET occurred_at = $1 WHERE id = $2")
            .bind::<Timestamp, _>(start + step * (i as i32 + 1))
            .bind::<Text, _>(&e.id)
            .execute(&mut conn)
            .unwrap();
    }
    diesel::sql_query(&restore).execute(&mut conn).unwrap();
    // The daily rollup is derived from the ledger on the premise that entries never change;
    // having rewritten history, the test rebuilds it from scratch.
    diesel::sql_query("DELETE FROM ledger_daily")
        .execute(&mut conn)
        .unwrap();
    diesel::sql_query("UPDATE ledger_daily_state SET through_seq = 0")
        .execute(&mut conn)
        .unwrap();
}

async fn report(app: &TestApp, admin: &str, query: &str) -> Value {
    ok(app
        .get_as(&format!("/api/v1/admin/reports/drawdown?{query}"), admin)
        .await)
    .await
}

const MONEY: [&str; 4] = ["reserved", "committed", "disbursed", "waitlisted_amount"];
const FLOWS: [&str; 4] = ["reserved_in", "released_in", "committed_in", "disbursed_in"];

/// Every grouping adds up, and its totals are `/admin/budget`.
async fn assert_reports_agree(app: &TestApp, admin: &str) {
    let budget = ok(app.get_as("/api/v1/admin/budget", admin).await).await;
    for group_by in GROUPS {
        let r = report(app, admin, &format!("group_by={group_by}")).await;
        let totals = &r["totals"];
        let groups = r["groups"].as_array().unwrap();
        for field in ["reserved", "committed", "disbursed", "waitlisted_amount"] {
            assert_eq!(totals[field], budget[field], "{group_by}: totals.{field}");
        }
        assert_eq!(
            totals["waitlisted_count"], budget["waitlisted_count"],
            "{group_by}"
        );
        assert_eq!(r["budget_total"], budget["total"]);
        assert_eq!(r["available"], budget["available"]);
        let sum = |field: &str| groups.iter().map(|g| cents(&g[field])).sum::<i64>();
        if group_by == "week" || group_by == "month" {
            for flow in FLOWS {
                assert_eq!(sum(flow), cents(&totals[flow]), "{group_by}: {flow}");
            }
            let last = groups.last().unwrap();
            for field in MONEY {
                assert_eq!(
                    last[field], totals[field],
                    "{group_by}: the last period ends at the totals"
                );
            }
            let mut held = 0;
            let mut disbursed = 0;
            for g in groups {
                held += cents(&g["reserved_in"]) - cents(&g["released_in"]);
                disbursed += cents(&g["disbursed_in"]);
                let end = cents(&g["reserved"]) + cents(&g["committed"]) + cents(&g["disbursed"]);
                assert_eq!(
                    end, held,
                    "{group_by} {}: balances follow the flows",
                    g["key"]
                );
                assert_eq!(cents(&g["disbursed"]), disbursed);
            }
        } else {
            for field in MONEY {
                assert_eq!(sum(field), cents(&totals[field]), "{group_by}: {field}");
            }
            let count = groups
                .iter()
                .map(|g| g["waitlisted_count"].as_i64().unwrap())
                .sum::<i64>();
            assert_eq!(count, totals["waitlisted_count"].as_i64().unwrap());
            let apps = groups
                .iter()
                .map(|g| g["applications"].as_i64().unwrap())
                .sum::<i64>();
            assert_eq!(apps, totals["applications"].as_i64().unwrap());
            assert!(groups.iter().all(|g| g.get("reserved_in").is_none()));
            for g in groups {
                let key = g["key"].as_str().unwrap();
                assert_eq!(
                    g["smes"].as_i64().unwrap(),
                    distinct_smes(app, Some((group_by, key))),
                    "{group_by} {key}: smes"
                );
            }
        }
        assert_eq!(
            totals["smes"].as_i64().unwrap(),
            distinct_smes(app, None),
            "{group_by}: totals.smes"
        );
    }
}

/// Distinct SMEs with applications, in all or in one attribute group: a plain
/// `COUNT(DISTINCT …)`, independent of the report's own SQL.
fn distinct_smes(app: &TestApp, group: Option<(&str, &str)>) -> i64 {
    let (column, joins) = match group.map(|g| g.0) {
        None => ("''", ""),
        Some("batch") => ("a.batch_id", ""),
        Some("vendor") => ("a.vendor_id", ""),
        Some("category") => ("p.category", " JOIN packages p ON p.id = a.package_id"),
        Some("sector") => ("s.sector", " JOIN smes s ON s.id = a.sme_id"),
        Some("district") => ("s.district", " JOIN smes s ON s.id = a.sme_id"),
        Some(other) => panic!("no attribute {other}"),
    };
    diesel::sql_query(format!(
        "SELECT CAST(COUNT(DISTINCT a.sme_id) AS BIGINT) AS n FROM applications a{joins} \
         WHERE CAST({column} AS TEXT) = $1"
    ))
    .bind::<Text, _>(group.map_or("", |g| g.1))
    .get_result::<Count>(&mut app.conn())
    .unwrap()
    .n
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Held {
    #[diesel(sql_type = BigInt)]
    cents: i64,
}

/// Money held as at the end of Hong Kong day `day`, replayed from the ledger by hand.
fn held_at_end_of(app: &TestApp, day: chrono::NaiveDate) -> i64 {
    let until = day.succ_opt().unwrap().and_hms_opt(0, 0, 0).unwrap() - chrono::Duration::hours(8);
    diesel::sql_query(
        "SELECT CAST(COALESCE(SUM(CASE WHEN kind = 'reserve' THEN amount_cents \
         WHEN kind IN ('release_reserved', 'release_committed') THEN -amount_cents ELSE 0 END), 0) AS BIGINT) AS cents \
         FROM budget_ledger WHERE occurred_at < $1",
    )
    .bind::<Timestamp, _>(until)
    .get_result::<Held>(&mut app.conn())
    .unwrap()
    .cents
}

test_on_both_backends! {
    async fn drawdown_reports_add_up_over_random_journeys(app) {
        let mut runner = TestRunner::default();
        let fates = proptest::collection::vec(fate(), 8..16)
            .new_tree(&mut runner)
            .unwrap()
            .current();
        println!("fates: {fates:?}");
        let scene = random_journey(&app, &fates).await;
        assert_reports_agree(&app, &scene.admin).await;

        // Spread over 10 weeks, periods differ; everything still adds up.
        spread_ledger(&app, 10);
        assert_reports_agree(&app, &scene.admin).await;
        let weeks = report(&app, &scene.admin, "group_by=week").await;
        assert!(weeks["groups"].as_array().unwrap().len() >= 10, "{weeks}");

        // A past `to` is the ledger replayed up to the end of that day.
        let to = dtspp::time::hk_today() - chrono::Duration::weeks(5);
        let past = report(&app, &scene.admin, &format!("group_by=month&to={to}")).await;
        let t = &past["totals"];
        assert_eq!(cents(&t["reserved"]) + cents(&t["committed"]) + cents(&t["disbursed"]), held_at_end_of(&app, to));
        let by_vendor = report(&app, &scene.admin, &format!("group_by=vendor&to={to}")).await;
        let vt = &by_vendor["totals"];
        assert_eq!(cents(&vt["reserved"]) + cents(&vt["committed"]) + cents(&vt["disbursed"]), held_at_end_of(&app, to));

        // `from` lists only the periods from then, carrying earlier money into the balances.
        let from = dtspp::time::hk_today() - chrono::Duration::weeks(3);
        let recent = report(&app, &scene.admin, &format!("group_by=week&from={from}")).await;
        let groups = recent["groups"].as_array().unwrap();
        assert!((3..=5).contains(&groups.len()), "{recent}");
        let budget = ok(app.get_as("/api/v1/admin/budget", &scene.admin).await).await;
        assert_eq!(groups.last().unwrap()["disbursed"], budget["disbursed"]);
        let _ = (&scene.checker, &scene.vendors);
    }

    async fn the_drawdown_csv_opens_cleanly_and_matches_the_json(app) {
        let m = market(&app).await;
        // A vendor whose name a spreadsheet would run as a formula.
        let email = format!("v-{}@vendor.hk", uuid::Uuid::new_v4().simple());
        let mut form = crate::helpers::vendor_form(&email, &crate::helpers::unique_br());
        form["company_name_en"] = json!("=HYPERLINK(\"http://evil\",\"x\")");
        form["company_name_zh"] = json!("@惡意公司");
        let res = app.post_json("/api/v1/vendors/register", &form).await;
        assert_eq!(res.status(), 201);
        let vendor_id = res.json::<Value>().await.unwrap()["vendor"]["id"].as_str().unwrap().to_owned();
        app.verify_email(&email);
        assert_eq!(act(&app, &m.admin, &format!("/api/v1/admin/vendors/{vendor_id}/approve"), None).await.status(), 200);
        let token = app.login(&email, crate::helpers::PASSWORD).await["access_token"].as_str().unwrap().to_owned();
        let package = list(&app, &token, &m.admin, package_form("crm_loyalty", "retail")).await;
        open_batch(&app, &m.admin, None).await;
        for p in [&m.package_id, &package] {
            for a in dtspp::seed::applicants::create(&mut app.conn(), p, 2).unwrap() {
                let sme = app.token_for(&a.user_id, Role::Sme);
                assert_eq!(apply(&app, &sme, &a.enquiry_id, None).await.status(), 201);
            }
        }

        let res = app.get_as("/api/v1/admin/reports/drawdown?group_by=vendor&format=csv", &m.admin).await;
        assert_eq!(res.status(), 200);
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        let disposition = res.headers()["content-disposition"].to_str().unwrap().to_owned();
        assert!(disposition.starts_with("attachment") && disposition.contains(".csv"), "{disposition}");
        let bytes = res.bytes().await.unwrap();
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "a BOM for Excel");
        let mut reader = csv::Reader::from_reader(&bytes[3..]);
        let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
        assert_eq!(header, ["key", "label_en", "label_zh", "applications", "smes", "reserved", "committed", "disbursed", "waitlisted_count", "waitlisted_amount", "average_subsidy", "amount_on_recovery"]);
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        let json = report(&app, &m.admin, "group_by=vendor").await;
        let groups = json["groups"].as_array().unwrap();
        assert_eq!(rows.len(), groups.len());
        let by_key: HashMap<&str, &Value> = groups.iter().map(|g| (g["key"].as_str().unwrap(), g)).collect();
        for row in &rows {
            let g = by_key[&row[0]];
            assert_eq!(&row[5], g["reserved"].as_str().unwrap(), "money is written 1234.50");
            assert_eq!(&row[10], g["average_subsidy"].as_str().unwrap());
        }
        let evil = rows.iter().find(|r| r[0] == *vendor_id).unwrap();
        assert_eq!(&evil[1], "'=HYPERLINK(\"http://evil\",\"x\")", "defused");
        assert_eq!(&evil[2], "'@惡意公司");
        let honest = rows.iter().find(|r| r[0] != *vendor_id).unwrap();
        assert!(!honest[1].starts_with('\''));

        let weeks = app.get_as("/api/v1/admin/reports/drawdown?group_by=week&format=csv", &m.admin).await;
        let bytes = weeks.bytes().await.unwrap();
        let mut reader = csv::Reader::from_reader(&bytes[3..]);
        assert_eq!(reader.headers().unwrap().len(), 16, "periods carry their flows");
    }

    async fn bad_report_parameters_answer_422_naming_the_field(app) {
        let admin = app.admin_token().await;
        for (query, field) in [
            ("group_by=year", "group_by"),
            ("format=xlsx", "format"),
            ("from=2026-13-01", "from"),
            ("to=yesterday", "to"),
            ("from=2026-02-01&to=2026-01-01", "from"),
            ("from=1900-01-01", "from"),
        ] {
            let res = app.get_as(&format!("/api/v1/admin/reports/drawdown?{query}"), &admin).await;
            assert_eq!(res.status(), 422, "{query}");
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["errors"][0]["field"], field, "{query}: {body}");
        }
        let res = app.get_as("/api/v1/admin/reports/drawdown.svg?group_by=vendor", &admin).await;
        assert_eq!(res.status(), 422, "a chart is over time");
        let res = app.get_as("/api/v1/admin/reports/grants?format=pdf", &admin).await;
        assert_eq!(res.status(), 422);
    }

    async fn the_chart_draws_spending_against_the_budget(app) {
        let fates = [Fate::Disburse, Fate::Approve, Fate::Stay, Fate::Disburse];
        let scene = random_journey(&app, &fates).await;
        spread_ledger(&app, 6);
        let res = app.get_as("/api/v1/admin/reports/drawdown.svg?group_by=week", &scene.admin).await;
        assert_eq!(res.status(), 200);
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("image/svg+xml"));
        let svg = res.text().await.unwrap();
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let points = |id: &str| -> Vec<(f64, f64)> {
            doc.descendants().find(|n| n.attribute("id") == Some(id)).unwrap()
                .attribute("points").unwrap().split(' ')
                .map(|p| { let (x, y) = p.split_once(',').unwrap(); (x.parse().unwrap(), y.parse().unwrap()) })
                .collect()
        };
        let spent = points("series-committed-disbursed");
        let budget = points("budget-line");
        assert!(spent.len() >= 6, "one point a week: {svg}");
        assert_eq!(spent.len(), budget.len());
        assert!(spent.iter().zip(&budget).all(|(s, b)| s.1 >= b.1), "spending stays under the budget line");
        assert!(svg.contains("預算") && svg.contains("Budget"));
        let month = app.get_as("/api/v1/admin/reports/drawdown.svg", &scene.admin).await;
        assert_eq!(month.status(), 200);
        roxmltree::Document::parse(&month.text().await.unwrap()).unwrap();
    }

    async fn grants_are_exported_in_360giving_fields(app) {
        let fates = [Fate::Disburse, Fate::Approve, Fate::Stay, Fate::Withdraw, Fate::ApproveThenReject, Fate::Disburse];
        let scene = random_journey(&app, &fates).await;
        let res = app.get_as("/api/v1/admin/reports/grants", &scene.admin).await;
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        let grants = body["grants"].as_array().unwrap();
        #[derive(QueryableByName)]
        struct N { #[diesel(sql_type = BigInt)] n: i64 }
        let awarded = diesel::sql_query("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM applications WHERE status IN ('approved', 'delivered', 'delivery_confirmed', 'claim_verified', 'disbursed')")
            .get_result::<N>(&mut app.conn()).unwrap().n;
        assert_eq!(grants.len() as i64, awarded);
        assert!(awarded >= 2, "the journey awarded grants");
        let disbursed: Vec<&Value> = grants.iter().filter(|g| g["amountDisbursed"] != "0.00").collect();
        assert!(!disbursed.is_empty());
        for g in grants {
            assert!(g["id"].as_str().unwrap().starts_with("360G-dtspp-"));
            assert_eq!(g["currency"], "HKD");
            assert_eq!(g["recipientOrganization"].as_array().unwrap().len(), 1);
            assert_eq!(g["fundingOrganization"][0]["id"], "HK-CYBERPORT");
            assert_eq!(g["grantProgramme"].as_array().unwrap().len(), 1);
            let vocabularies: Vec<&str> = g["classifications"].as_array().unwrap().iter().map(|c| c["vocabulary"].as_str().unwrap()).collect();
            assert_eq!(vocabularies, ["dtspp:sector", "dtspp:category"]);
            assert!(g["awardDate"].as_str().unwrap().len() == 10);
            cents(&g["amountAwarded"]);
        }
        for g in &disbursed {
            assert_eq!(g["amountDisbursed"], g["amountAwarded"]);
        }

        let res = app.get_as("/api/v1/admin/reports/grants?format=csv", &scene.admin).await;
        assert_eq!(res.status(), 200);
        let bytes = res.bytes().await.unwrap();
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
        let mut reader = csv::Reader::from_reader(&bytes[3..]);
        let header = reader.headers().unwrap().clone();
        assert_eq!(&header[0], "Identifier");
        assert!(header.iter().any(|h| h == "Recipient Org:Identifier"));
        assert_eq!(reader.records().count(), grants.len());
    }
}

/// Every grouping's facts, read once from the applications and once from the rollup, in one
/// snapshot, at `until` (a Hong Kong day's start, or none).
fn assert_rollup_agrees(app: &TestApp, until: Option<chrono::NaiveDate>) {
    use dtspp::reports::drawdown::GroupBy;
    use dtspp::reports::store::{self, Source, Window};
    let until = until.map_or_else(
        dtspp::reports::rollup::far_future,
        dtspp::time::hk_day_start,
    );
    let mut conn = app.conn();
    dtspp::db::read_snapshot(&mut conn, |conn| {
        let whole = Window {
            since: store::epoch(),
            until,
        };
        for unit in [GroupBy::Week, GroupBy::Month] {
            let live = store::period_facts(conn, unit, until, Source::Applications).unwrap();
            let kept = store::period_facts(conn, unit, until, Source::Rollup).unwrap();
            assert!(!live.is_empty(), "{unit:?} until {until}");
            assert_eq!(kept, live, "{unit:?} until {until}");
        }
        assert_eq!(
            store::cohort_smes(conn, whole, Source::Rollup).unwrap(),
            store::cohort_smes(conn, whole, Source::Applications).unwrap(),
            "SMEs until {until}"
        );
        if until == dtspp::reports::rollup::far_future() {
            for group_by in [
                GroupBy::Batch,
                GroupBy::Category,
                GroupBy::Sector,
                GroupBy::Vendor,
                GroupBy::District,
            ] {
                let mut sorted = |source| {
                    let mut facts =
                        store::attribute_facts(conn, group_by, whole, true, source).unwrap();
                    facts.sort_by(|a, b| a.key.cmp(&b.key));
                    facts
                };
                let live = sorted(Source::Applications);
                assert!(!live.is_empty());
                assert_eq!(sorted(Source::Rollup), live, "{group_by:?}");
            }
        }
        Ok(())
    })
    .unwrap();
}

fn waiting_deltas(app: &TestApp) -> i64 {
    diesel::sql_query("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM application_deltas")
        .get_result::<Count>(&mut app.conn())
        .unwrap()
        .n
}

fn fold(app: &TestApp) -> usize {
    let mut conn = app.conn();
    conn.transaction(|tx| dtspp::reports::rollup::fold(tx))
        .unwrap()
}

/// Moves application `i` (in queue order) back `i * 9` days, every timestamp alike, so that
/// applications fall in different weeks and months; the test lifts the trigger that refuses
/// this and rebuilds the rollup, which the application itself never does.
fn spread_applications(app: &TestApp) {
    let mut conn = app.conn();
    diesel::sql_query("ALTER TABLE applications DISABLE TRIGGER applications_report_deltas")
        .execute(&mut conn)
        .unwrap();
    diesel::sql_query(
        "UPDATE applications a SET queued_at = a.queued_at - o.shift, \
         reserved_at = a.reserved_at - o.shift, closed_at = a.closed_at - o.shift \
         FROM (SELECT id, row_number() OVER (ORDER BY queued_at, id) * interval '9 days' AS shift \
               FROM applications) o WHERE o.id = a.id",
    )
    .execute(&mut conn)
    .unwrap();
    diesel::sql_query("ALTER TABLE applications ENABLE TRIGGER applications_report_deltas")
        .execute(&mut conn)
        .unwrap();
    conn.transaction(|tx| dtspp::reports::rollup::rebuild(tx))
        .unwrap();
}

#[derive(QueryableByName)]
struct Queued {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Timestamp)]
    queued_at: chrono::NaiveDateTime,
}

/// Gives the latest application the SME of the earliest one on another package (lifting the
/// trigger that refuses it); returns (id, queued_at) of the earliest and of the latest.
fn two_applications_one_sme(
    app: &TestApp,
) -> (
    (String, chrono::NaiveDateTime),
    (String, chrono::NaiveDateTime),
) {
    let mut conn = app.conn();
    let ends: Vec<Queued> = diesel::sql_query(
        "(SELECT id, queued_at FROM applications ORDER BY queued_at LIMIT 1) UNION ALL \
         (SELECT id, queued_at FROM applications a WHERE a.package_id <> \
            (SELECT package_id FROM applications ORDER BY queued_at LIMIT 1) \
          ORDER BY queued_at DESC LIMIT 1)",
    )
    .load(&mut conn)
    .unwrap();
    let [earlier, later] = &ends[..] else {
        panic!("two applications");
    };
    diesel::sql_query("ALTER TABLE applications DISABLE TRIGGER applications_report_deltas")
        .execute(&mut conn)
        .unwrap();
    diesel::sql_query(
        "UPDATE applications SET sme_id = (SELECT sme_id FROM applications WHERE id = $1) \
         WHERE id = $2",
    )
    .bind::<Text, _>(&earlier.id)
    .bind::<Text, _>(&later.id)
    .execute(&mut conn)
    .unwrap();
    diesel::sql_query("ALTER TABLE applications ENABLE TRIGGER applications_report_deltas")
        .execute(&mut conn)
        .unwrap();
    (
        (earlier.id.clone(), earlier.queued_at),
        (later.id.clone(), later.queued_at),
    )
}

/// On PostgreSQL the drawdown report reads the rollup: it gives what the applications give,
/// with deltas folded and with deltas still waiting, today and at past cut-offs.
#[tokio::test]
async fn the_report_rollup_agrees_with_the_applications() {
    if !crate::helpers::postgres_enabled() {
        return;
    }
    let app = crate::helpers::spawn_app(dtspp::db::Backend::Postgres).await;
    // The first eight fill the budget; the rest wait, and two leave the waitlist unfunded.
    let fates = [
        Fate::Stay,
        Fate::Disburse,
        Fate::Stay,
        Fate::Approve,
        Fate::Stay,
        Fate::Stay,
        Fate::Stay,
        Fate::Disburse,
        Fate::Stay,
        Fate::Stay,
        Fate::Withdraw,
        Fate::Reject,
    ];
    let scene = random_journey(&app, &fates).await;
    // A reservation released: the first in the queue is funded from the waitlist.
    let first: Entry = diesel::sql_query(
        "SELECT id FROM applications WHERE status = 'reserved' ORDER BY queued_at LIMIT 1",
    )
    .get_result(&mut app.conn())
    .unwrap();
    let path = format!("/api/v1/admin/applications/{}/reject", first.id);
    let res = act(
        &app,
        &scene.admin,
        &path,
        Some(json!({"comment": "Not eligible."})),
    )
    .await;
    assert_eq!(res.status(), 200);
    let live = dtspp::reports::store::period_facts(
        &mut app.conn(),
        dtspp::reports::drawdown::GroupBy::Month,
        dtspp::reports::rollup::far_future(),
        dtspp::reports::store::Source::Applications,
    )
    .unwrap();
    let moves = live.values().next().unwrap().moves;
    assert!(
        moves.waitlist_in.0 >= 4 && moves.waitlist_out.0 >= 3,
        "{moves:?}"
    );
    // Nothing folded yet: the rollup is all deltas.
    assert_rollup_agrees(&app, None);
    assert!(fold(&app) > fates.len());
    assert_eq!(fold(&app), 0, "a second fold finds nothing");
    assert_rollup_agrees(&app, None);

    spread_applications(&app);
    let today = dtspp::time::hk_today();
    let monday = today
        - chrono::Duration::days(i64::from(
            chrono::Datelike::weekday(&today).num_days_from_monday(),
        ));
    for cut in [
        None,
        Some(today - chrono::Duration::days(40)),
        Some(monday - chrono::Duration::weeks(3)),
        Some(today - chrono::Duration::days(100)),
    ] {
        assert_rollup_agrees(&app, cut);
    }

    // An SME's earlier application folded after its later one (commits can land out of queue
    // order): the SME's first day moves back. Made by hand: the later application is given the
    // earlier one's SME, and the rollup rebuilt with the earlier one folded last.
    let (earlier, later) = two_applications_one_sme(&app);
    let mut conn = app.conn();
    diesel::sql_query("TRUNCATE report_groups, report_smes, report_days, application_deltas")
        .execute(&mut conn)
        .unwrap();
    let deltas = "INSERT INTO application_deltas (application_id, sign, is_insert, status, \
                  reserved_at, closed_at, subsidy_cents) SELECT id, 1, true, status, reserved_at, \
                  closed_at, subsidy_cents FROM applications";
    diesel::sql_query(format!("{deltas} WHERE id <> $1"))
        .bind::<Text, _>(&earlier.0)
        .execute(&mut conn)
        .unwrap();
    assert!(
        conn.transaction(|tx| dtspp::reports::rollup::fold(tx))
            .unwrap()
            > 0
    );
    diesel::sql_query(format!("{deltas} WHERE id = $1"))
        .bind::<Text, _>(&earlier.0)
        .execute(&mut conn)
        .unwrap();
    assert_eq!(
        conn.transaction(|tx| dtspp::reports::rollup::fold(tx))
            .unwrap(),
        1
    );
    drop(conn);
    let between = dtspp::time::hk_date(earlier.1) + chrono::Duration::days(1);
    assert!(between <= dtspp::time::hk_date(later.1));
    assert_rollup_agrees(&app, Some(between));
    assert_rollup_agrees(&app, None);

    // More applications and changes after the fold: the reads add the waiting deltas.
    play(
        &app,
        &scene,
        &[Fate::Stay, Fate::Withdraw, Fate::Approve, Fate::Disburse],
    )
    .await;
    assert!(waiting_deltas(&app) > 4);
    assert_rollup_agrees(&app, None);
    assert_rollup_agrees(&app, Some(today - chrono::Duration::days(20)));
    // A report folds them first.
    assert_reports_agree(&app, &scene.admin).await;
    assert_eq!(waiting_deltas(&app), 0);
    assert_rollup_agrees(&app, None);
}

test_on_both_backends! {
    async fn applications_are_never_deleted_nor_moved(app) {
        let _ = random_journey(&app, &[Fate::Stay, Fate::Withdraw]).await;
        let mut conn = app.conn();
        for sql in [
            "DELETE FROM applications",
            "UPDATE applications SET queued_at = created_at - interval '1 day'",
            "UPDATE applications SET vendor_id = (SELECT id FROM vendors ORDER BY id DESC LIMIT 1) \
             WHERE vendor_id <> (SELECT id FROM vendors ORDER BY id DESC LIMIT 1)",
            "UPDATE smes SET district = 'Islands' WHERE id IN (SELECT sme_id FROM applications)",
            "UPDATE packages SET category = 'crm_loyalty' WHERE id IN (SELECT package_id FROM applications)",
        ] {
            let sql = match conn.backend() {
                dtspp::db::Backend::Postgres => sql.to_owned(),
                dtspp::db::Backend::Sqlite => sql.replace("created_at - interval '1 day'", "datetime(created_at, '-1 day')"),
            };
            let err = diesel::sql_query(&sql).execute(&mut conn).unwrap_err();
            assert!(err.to_string().contains("never"), "{sql}: {err}");
        }
        let count: Count = diesel::sql_query("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM applications")
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(count.n, 2);
        // The rest of an application still changes, and an SME without applications may move.
        diesel::sql_query("UPDATE applications SET last_comment = 'noted'").execute(&mut conn).unwrap();
        diesel::sql_query("UPDATE smes SET district = 'Islands' WHERE id NOT IN (SELECT sme_id FROM applications)")
            .execute(&mut conn)
            .unwrap();
    }
}
