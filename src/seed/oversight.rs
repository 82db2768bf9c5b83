//! The oversight demo: a small fraud ring beside honest traffic, so that a newcomer finds the
//! reports and the risk views populated. Loaded with the demo accounts, once (an existing
//! application means it was loaded already).
//!
//! The ring copies the January 2026 pattern: one vendor's "free help" agents file for SMEs
//! registered in batches from three addresses with the agents' phones, at the vendor's most
//! expensive package, delivered at once and paid with references in sequence. The honest SMEs
//! have their own contacts, addresses and bank references. Everything goes through the same
//! code as the API (apply, the lifecycle steps, the risk checks), then the scan runs.

use diesel::prelude::*;

use super::applicants::{self, Applicant};
use crate::applications::model::{ApplyForm, Changes};
use crate::applications::store as app_store;
use crate::applications::transitions::{Actor, perform};
use crate::applications::workflow::Action;
use crate::auth::{ActiveLater, AuthUser, RequestMeta, Role, SmeUser};
use crate::db::schema::{applications, package_revisions, packages, smes, users, vendors};
use crate::db::{Db, DbConnection};
use crate::error::ApiError;

/// What the oversight demo created.
#[derive(Debug, Clone, Default)]
pub struct OversightDemo {
    pub ring_applications: usize,
    pub honest_applications: usize,
    /// Open flags once the demo is loaded (raised at event time and by the scan).
    pub flags_raised: i64,
}

/// Ring applications, and honest vendors with their applicants.
const RING: usize = 24;
const HONEST_VENDORS: i64 = 6;
const HONEST_PER_VENDOR: usize = 6;

/// Listed one-off packages, most expensive first, one per vendor: (package, vendor's user).
fn packages_by_price(conn: &mut DbConnection) -> QueryResult<Vec<(String, String, String)>> {
    let rows: Vec<(String, String, String)> = packages::table
        .inner_join(
            package_revisions::table.on(package_revisions::id
                .nullable()
                .eq(packages::live_revision_id)),
        )
        .inner_join(vendors::table.on(vendors::id.eq(packages::vendor_id)))
        .filter(packages::status.eq("listed"))
        .filter(package_revisions::pricing_model.eq("one_off"))
        .order((package_revisions::price_cents.desc(), packages::id))
        .select((packages::id, packages::vendor_id, vendors::user_id))
        .load(conn)?;
    let mut seen = std::collections::HashSet::new();
    Ok(rows
        .into_iter()
        .filter(|(_, vendor, _)| seen.insert(vendor.clone()))
        .collect())
}

fn user(user_id: &str, role: Role) -> AuthUser {
    AuthUser {
        user_id: user_id.to_owned(),
        role,
    }
}

fn meta(ip: &str) -> RequestMeta {
    RequestMeta {
        request_id: None,
        ip: Some(ip.to_owned()),
    }
}

/// Applies for `a` from `ip`, then takes it as far as `steps` go. Each application is its own
/// transaction, as each request is.
#[allow(clippy::too_many_arguments)]
async fn journey(
    db: &Db,
    a: &Applicant,
    ip: String,
    admin: &str,
    vendor_user: String,
    steps: usize,
    reference: String,
    checker: &str,
) -> Result<(), ApiError> {
    let (admin, checker, a) = (admin.to_owned(), checker.to_owned(), a.clone());
    db.write(move |tx| {
        let m = meta(&ip);
        let sme = user(&a.user_id, Role::Sme);
        // The demo's few applications reserve on the root row.
        let applied = crate::applications::apply::apply(
            tx,
            crate::budget::Sharding::ONE,
            &m,
            &ActiveLater::<SmeUser>::admit(sme.clone())?,
            &ApplyForm {
                enquiry_id: a.enquiry_id.clone(),
            },
        )?;
        let admin = user(&admin, Role::Admin);
        let vendor = user(&vendor_user, Role::Vendor);
        let checker = user(&checker, Role::Admin);
        let today = crate::time::hk_today();
        let mut row = app_store::find(tx, &applied.id)?;
        if row.status() != crate::applications::workflow::Status::Reserved {
            return Ok(());
        }
        let admin_meta = RequestMeta::default();
        let plan: Vec<(Action, &AuthUser, Changes)> = vec![
            (
                Action::Approve,
                &admin,
                Changes {
                    approved_by: Some(admin.user_id.clone()),
                    ..Changes::default()
                },
            ),
            (
                Action::Deliver,
                &vendor,
                Changes {
                    delivered_on: Some(today.to_string()),
                    delivery_note: Some("Installed and staff trained.".to_owned()),
                    ..Changes::default()
                },
            ),
            (
                Action::ConfirmDelivery,
                &sme,
                Changes {
                    payment_reference_key: Some(crate::applications::routes::reference_key(
                        &reference,
                    )),
                    payment_reference: Some(reference.clone()),
                    amount_paid_cents: Some(row.sme_pays_cents),
                    paid_on: Some(today.to_string()),
                    ..Changes::default()
                },
            ),
            (
                Action::VerifyClaim,
                &admin,
                Changes {
                    verified_by: Some(admin.user_id.clone()),
                    verified_at: Some(crate::time::now()),
                    ..Changes::default()
                },
            ),
            (
                Action::Disburse,
                &checker,
                Changes {
                    disbursed_by: Some(checker.user_id.clone()),
                    disbursed_at: Some(crate::time::now()),
                    ..Changes::default()
                },
            ),
        ];
        for (action, actor, changes) in plan.into_iter().take(steps) {
            if matches!(action, Action::VerifyClaim | Action::Disburse)
                && !crate::risk::store::holds(tx, &row.id)?.is_empty()
            {
                break;
            }
            row = perform(tx, &admin_meta, Actor::User(actor), &row, action, changes)?;
        }
        Ok(())
    })
    .await
}

/// Loads the oversight demo unless applications exist already. `admin` approves and verifies;
/// `checker` disburses (maker-checker).
pub async fn load(db: &Db, admin: &str, checker: &str) -> Result<OversightDemo, ApiError> {
    let existing: i64 = db
        .run(|conn| Ok(applications::table.count().get_result(conn)?))
        .await?;
    if existing > 0 {
        return Ok(OversightDemo::default());
    }
    let choices = db.run(|conn| Ok(packages_by_price(conn)?)).await?;
    let Some((ring_package, _, ring_vendor_user)) = choices.first().cloned() else {
        return Ok(OversightDemo::default());
    };
    let mut demo = OversightDemo::default();

    // The ring: SMEs registered in batches from three addresses, with five agents' phones.
    let ring = db
        .run(move |conn| applicants::create(conn, &ring_package, RING))
        .await?;
    let ring_ids: Vec<(String, String)> = ring
        .iter()
        .map(|a| (a.user_id.clone(), a.sme_id.clone()))
        .collect();
    db.write(move |tx| {
        for (i, (user_id, sme_id)) in ring_ids.iter().enumerate() {
            let phone = format!("+852 6{:03}0000", i % 5);
            diesel::update(users::table.find(user_id))
                .set(users::registration_ip.eq(format!("198.51.100.{}", 10 + i % 3)))
                .execute(tx)?;
            diesel::update(smes::table.find(sme_id))
                .set(smes::phone.eq(&phone))
                .execute(tx)?;
            let (address, email): (String, String) = smes::table
                .inner_join(users::table)
                .filter(smes::id.eq(sme_id))
                .select((smes::address, users::email))
                .first(tx)?;
            crate::risk::store::set_sme_keys(tx, sme_id, &phone, &address, &email)?;
        }
        Ok(())
    })
    .await?;
    for (i, a) in ring.iter().enumerate() {
        let ip = format!("198.51.100.{}", 10 + i % 3);
        let reference = format!("FPS-20260105-{:03}", 100 + i);
        journey(
            db,
            a,
            ip,
            admin,
            ring_vendor_user.clone(),
            5,
            reference,
            checker,
        )
        .await?;
        demo.ring_applications += 1;
    }

    // Honest traffic: other vendors' packages, each SME with its own address and bank.
    for (v, (package, _, vendor_user)) in choices
        .iter()
        .skip(1)
        .take(HONEST_VENDORS as usize)
        .cloned()
        .enumerate()
    {
        let people = db
            .run(move |conn| applicants::create(conn, &package, HONEST_PER_VENDOR))
            .await?;
        for (i, a) in people.iter().enumerate() {
            let ip = format!("10.{v}.{i}.{}", 20 + i);
            let reference = format!(
                "HSBC {:012}",
                uuid::Uuid::new_v4().as_u128() % 1_000_000_000_000
            );
            // Some approved, some delivered, some paid out.
            let steps = [1, 2, 3, 5, 5, 0][i % 6];
            journey(
                db,
                a,
                ip,
                admin,
                vendor_user.clone(),
                steps,
                reference,
                checker,
            )
            .await?;
            demo.honest_applications += 1;
        }
    }
    crate::risk::scan::run_once(db).await?;
    demo.flags_raised = db
        .run(|conn| {
            use crate::db::schema::risk_flags;
            Ok(risk_flags::table
                .filter(risk_flags::status.eq("open"))
                .count()
                .get_result(conn)?)
        })
        .await?;
    Ok(demo)
}
