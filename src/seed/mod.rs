//! `dtspp seed`: loads the demo fixtures (vendors in every status, packages in every review
//! state, and optionally three demo accounts) so that a newcomer has a catalogue to browse.
//!
//! Idempotent: a vendor whose BR number exists and an account whose email exists are left as
//! they are, so running it twice changes nothing. Everything goes in one transaction.

use serde::Deserialize;

pub mod applicants;
mod events;
mod guides;
pub mod oversight;

use crate::audit::{self, NewEvent};
use crate::auth::{RequestMeta, Role, password, store as accounts};
use crate::db::{Db, DbConnection};
use crate::error::ApiError;
use crate::packages::model::PackageContent;
use crate::packages::store::{self as packages, NewState};
use crate::packages::workflow::{PackageStatus, RevisionStatus};
use crate::smes::eligibility::{self, Facts};
use crate::smes::model::{Declarations, RegisterSme};
use crate::vendors::model::RegisterVendor;
use crate::vendors::workflow::VendorStatus;

/// The fixtures shipped in `fixtures/catalogue.json`, built into the binary.
pub const BUILT_IN: &str = include_str!("../../fixtures/catalogue.json");

#[derive(Debug, Deserialize)]
struct Fixtures {
    demo_accounts: DemoAccounts,
    vendors: Vec<VendorFixture>,
}

#[derive(Debug, Deserialize)]
struct DemoAccounts {
    admin: Login,
    vendor: Login,
    sme: SmeFixture,
}

#[derive(Debug, Deserialize)]
struct Login {
    email: String,
    password: String,
}

#[derive(Debug, Deserialize)]
struct SmeFixture {
    email: String,
    password: String,
    business_name_en: String,
    business_name_zh: Option<String>,
    br_number: String,
    sector: String,
    full_time_employees: u32,
    district: String,
    address: String,
    phone: String,
    contact_name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct VendorFixture {
    email: String,
    company_name_en: String,
    company_name_zh: Option<String>,
    br_number: String,
    contact_name: String,
    phone: String,
    address: String,
    track_record: String,
    status: VendorStatus,
    status_reason: Option<String>,
    packages: Vec<PackageFixture>,
}

#[derive(Debug, Deserialize)]
struct PackageFixture {
    category: String,
    target_sector: String,
    state: PackageStatus,
    #[serde(flatten)]
    content: PackageContent,
}

/// What a seed run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SeedReport {
    pub vendors_created: usize,
    pub vendors_existing: usize,
    pub packages_created: usize,
    pub accounts_created: usize,
    pub batches_created: usize,
    pub guides_created: usize,
    pub events_created: usize,
    /// The oversight demo (with the demo accounts, on a database without applications): ring
    /// and honest applications, and the flags the risk scan raised over them.
    pub ring_applications: usize,
    pub honest_applications: usize,
    pub flags_raised: i64,
}

/// The demo checker: a second admin, so that disbursement (maker-checker) can be shown. It
/// shares the demo admin's published password.
pub const DEMO_CHECKER: &str = "checker@dtspp.demo";

/// The demo intake batch: open from a day before seeding for 90 days, without a quota, unless
/// some batch's window already covers that time (seeding again adds none).
fn seed_open_batch(conn: &mut DbConnection, report: &mut SeedReport) -> Result<(), ApiError> {
    let now = crate::time::now();
    let (opens, closes) = (
        now - chrono::Duration::days(1),
        now + chrono::Duration::days(90),
    );
    if crate::programme::batches::overlapping(conn, opens, closes)?.is_none() {
        crate::programme::batches::insert(
            conn,
            "Demo intake batch 示範申請期",
            opens,
            closes,
            None,
            None,
        )?;
        report.batches_created += 1;
    }
    Ok(())
}

/// Loads `fixtures` (JSON in the built-in format); with `demo_accounts`, also the demo admin,
/// vendor and SME logins documented in the README.
pub async fn seed(db: &Db, fixtures: &str, demo_accounts: bool) -> anyhow::Result<SeedReport> {
    let fixtures: Fixtures = serde_json::from_str(fixtures)
        .map_err(|e| anyhow::anyhow!("the fixtures are not valid: {e}"))?;
    let fixtures_admin = fixtures.demo_accounts.admin.email.clone();
    // Fixture vendors cannot log in: their hash is of a random secret nobody knows.
    let unusable = password::hash(crate::auth::tokens::random_token()).await?;
    let demo = if demo_accounts {
        let d = &fixtures.demo_accounts;
        Some((
            password::hash(d.admin.password.clone()).await?,
            password::hash(d.vendor.password.clone()).await?,
            password::hash(d.sme.password.clone()).await?,
        ))
    } else {
        None
    };
    let report = db
        .write(move |tx| {
            let mut report = SeedReport::default();
            // Thousands of packages: their search postings are built once, at the end.
            crate::catalogue::terms::defer(tx)?;
            for (index, vendor) in fixtures.vendors.iter().enumerate() {
                seed_vendor(tx, vendor, &unusable, index, &mut report)?;
            }
            seed_open_batch(tx, &mut report)?;
            report.guides_created = guides::load(tx)?;
            report.events_created = events::load(tx)?;
            if let Some((admin, vendor, sme)) = &demo {
                seed_demo_accounts(tx, &fixtures.demo_accounts, admin, vendor, sme, &mut report)?;
            }
            crate::catalogue::terms::rebuild(tx)?;
            audit::record(
                tx,
                &RequestMeta::default(),
                NewEvent::new("seed.loaded", "fixtures", None)
                    .by_system("cli")
                    .after(serde_json::json!({
                        "vendors_created": report.vendors_created,
                        "vendors_existing": report.vendors_existing,
                        "packages_created": report.packages_created,
                        "accounts_created": report.accounts_created,
                        "batches_created": report.batches_created,
                        "guides_created": report.guides_created,
                        "events_created": report.events_created,
                    })),
            )?;
            Ok(report)
        })
        .await
        .map_err(|e: ApiError| anyhow::anyhow!("seeding failed: {e}"))?;
    // A bulk load leaves the planner's statistics stale (on PostgreSQL, a 600 ms nested loop
    // where a 20 ms hash join belongs); refresh them. On PostgreSQL also VACUUM: it marks the
    // freshly written pages all-visible, without which the catalogue's facet counts cannot be
    // index-only scans (a 16 ms sequential scan of 10,000 packages instead of 4 ms) until
    // autovacuum comes by.
    db.run(|conn| {
        use diesel::RunQueryDsl;
        let statement = match conn.backend() {
            crate::db::Backend::Postgres => "VACUUM ANALYZE",
            crate::db::Backend::Sqlite => "ANALYZE",
        };
        diesel::sql_query(statement).execute(conn)?;
        Ok(())
    })
    .await
    .map_err(|e| anyhow::anyhow!("VACUUM ANALYZE after seeding failed: {e}"))?;
    // A running instance's cached catalogue: on PostgreSQL the tables' triggers have told it;
    // `serve --seed-if-empty` seeds before it caches anything.
    let mut report = report;
    if demo_accounts {
        let admin_email = fixtures_admin.clone();
        let ids = db
            .run(move |conn| {
                let admin = accounts::find_user_by_email(conn, &admin_email)?;
                let checker = accounts::find_user_by_email(conn, DEMO_CHECKER)?;
                Ok(admin.zip(checker).map(|(a, c)| (a.id, c.id)))
            })
            .await
            .map_err(|e| anyhow::anyhow!("finding the demo admins failed: {e}"))?;
        if let Some((admin, checker)) = ids {
            let demo = oversight::load(db, &admin, &checker)
                .await
                .map_err(|e| anyhow::anyhow!("loading the oversight demo failed: {e}"))?;
            report.ring_applications = demo.ring_applications;
            report.honest_applications = demo.honest_applications;
            report.flags_raised = demo.flags_raised;
        }
    }
    Ok(report)
}

fn seed_vendor(
    tx: &mut DbConnection,
    fixture: &VendorFixture,
    password_hash: &str,
    index: usize,
    report: &mut SeedReport,
) -> Result<(), ApiError> {
    if crate::vendors::store::br_number_taken(tx, &fixture.br_number)?
        || accounts::email_taken(tx, &fixture.email)?
    {
        report.vendors_existing += 1;
        return Ok(());
    }
    let user_id = accounts::insert_user(
        tx,
        &fixture.email,
        password_hash,
        Role::Vendor,
        Some(crate::time::now()),
        None,
    )?;
    let form = RegisterVendor {
        email: fixture.email.clone(),
        password: String::new(),
        company_name_en: fixture.company_name_en.clone(),
        company_name_zh: fixture.company_name_zh.clone(),
        br_number: fixture.br_number.clone(),
        contact_name: fixture.contact_name.clone(),
        phone: fixture.phone.clone(),
        address: fixture.address.clone(),
        net_equity_positive: true,
        track_record: fixture.track_record.clone(),
    };
    let vendor = crate::vendors::store::insert_vendor(tx, &user_id, &form)?;
    if fixture.status != VendorStatus::Pending {
        crate::vendors::store::set_status(
            tx,
            &vendor.id,
            VendorStatus::Pending,
            fixture.status,
            fixture.status_reason.as_deref(),
        )?;
    }
    report.vendors_created += 1;
    let rules = crate::programme::store::current_rules(tx)?;
    for (n, package) in fixture.packages.iter().enumerate() {
        let broken = crate::packages::rules::violations(&package.content, &rules);
        if !broken.is_empty() {
            return Err(ApiError::Validation(broken));
        }
        let id = packages::insert_package(
            tx,
            &vendor.id,
            &package.category,
            &package.target_sector,
            &package.content,
            &rules,
        )?;
        let row = packages::find(tx, &id)?;
        let revision = match package.state {
            PackageStatus::Listed => RevisionStatus::Approved,
            PackageStatus::Submitted => RevisionStatus::Submitted,
            PackageStatus::ChangesRequested => RevisionStatus::ChangesRequested,
            _ => RevisionStatus::Draft,
        };
        if revision != RevisionStatus::Draft {
            packages::set_revision_status(tx, &row.current_revision_id, revision)?;
        }
        let listed = package.state == PackageStatus::Listed;
        // Spread the listing times, so that "newest" has an order to show.
        let minutes = i64::try_from(index * 10 + n).unwrap_or(0);
        packages::set_state(
            tx,
            &row,
            NewState {
                status: package.state,
                live_revision_id: listed.then_some(row.current_revision_id.as_str()),
                current_revision_id: &row.current_revision_id,
                listed_at: listed.then(|| crate::time::now() - chrono::Duration::minutes(minutes)),
            },
        )?;
        if listed {
            crate::catalogue::search::reindex(tx, &id)?;
        }
        report.packages_created += 1;
    }
    Ok(())
}

fn seed_demo_accounts(
    tx: &mut DbConnection,
    demo: &DemoAccounts,
    admin_hash: &str,
    vendor_hash: &str,
    sme_hash: &str,
    report: &mut SeedReport,
) -> Result<(), ApiError> {
    let verified = Some(crate::time::now());
    for email in [demo.admin.email.as_str(), DEMO_CHECKER] {
        if !accounts::email_taken(tx, email)? {
            accounts::insert_user(tx, email, admin_hash, Role::Admin, verified, None)?;
            report.accounts_created += 1;
        }
    }
    // The demo vendor is the first fixture vendor; it gets a known password.
    if let Some(user) = accounts::find_user_by_email(tx, &demo.vendor.email)? {
        accounts::set_password_hash(tx, &user.id, vendor_hash)?;
    }
    let s = &demo.sme;
    if !accounts::email_taken(tx, &s.email)?
        && !crate::smes::store::br_number_taken(tx, &s.br_number)?
    {
        let user_id = accounts::insert_user(tx, &s.email, sme_hash, Role::Sme, verified, None)?;
        let form = RegisterSme {
            email: s.email.clone(),
            password: String::new(),
            business_name_en: s.business_name_en.clone(),
            business_name_zh: s.business_name_zh.clone(),
            br_number: Some(s.br_number.clone()),
            hawker_licence: None,
            sector: s.sector.clone(),
            full_time_employees: s.full_time_employees,
            district: s.district.clone(),
            address: s.address.clone(),
            phone: s.phone.clone(),
            contact_name: s.contact_name.clone(),
            declarations: Declarations {
                listed_company: false,
                statutory_body: false,
                government_subvented: false,
            },
        };
        let sector_active = crate::programme::store::sector_active(tx, &s.sector)?.unwrap_or(false);
        let verdict = eligibility::evaluate(&Facts {
            has_br_number: true,
            has_hawker_licence: false,
            sector_active,
            full_time_employees: s.full_time_employees,
            listed_company: false,
            statutory_body: false,
            government_subvented: false,
        });
        let district = crate::validation::canonical_district(&s.district).unwrap_or("Wan Chai");
        crate::smes::store::insert_sme(tx, &user_id, &form, district, &verdict)?;
        report.accounts_created += 1;
    }
    Ok(())
}

/// Whether the database has no vendor yet (for `serve --seed-if-empty`).
pub async fn is_empty(db: &Db) -> anyhow::Result<bool> {
    use diesel::prelude::*;
    db.run(|conn| {
        let vendors: i64 = crate::db::schema::vendors::table.count().get_result(conn)?;
        Ok(vendors == 0)
    })
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_fixtures_are_rich_enough_to_browse() {
        let fixtures: Fixtures = serde_json::from_str(BUILT_IN).unwrap();
        let approved = fixtures
            .vendors
            .iter()
            .filter(|v| v.status == VendorStatus::Approved)
            .count();
        assert!(fixtures.vendors.len() >= 40 && approved > fixtures.vendors.len() / 2);
        for status in [
            VendorStatus::Pending,
            VendorStatus::Rejected,
            VendorStatus::Suspended,
        ] {
            assert!(
                fixtures.vendors.iter().any(|v| v.status == status),
                "no {status} vendor"
            );
        }
        let listed: Vec<&PackageFixture> = fixtures
            .vendors
            .iter()
            .filter(|v| v.status == VendorStatus::Approved)
            .flat_map(|v| v.packages.iter())
            .filter(|p| p.state == PackageStatus::Listed)
            .collect();
        assert!(listed.len() >= 150, "{} listed", listed.len());
        for state in [
            PackageStatus::Draft,
            PackageStatus::Submitted,
            PackageStatus::ChangesRequested,
        ] {
            assert!(
                fixtures
                    .vendors
                    .iter()
                    .flat_map(|v| v.packages.iter())
                    .any(|p| p.state == state),
                "no {state}"
            );
        }
        assert!(
            listed
                .iter()
                .any(|p| p.content.pricing.model
                    == crate::packages::model::PricingModel::Subscription)
        );
        assert!(listed.iter().any(|p| !p.content.options.is_empty()));
    }
}
