//! Applying: one transaction that computes the subsidy with the matching engine and reserves
//! it against the SME's cap, the programme budget and the batch quota with guarded UPDATEs, or
//! puts the application on the waitlist; it writes the ledger, the audit event and the emails.

use diesel::prelude::*;

use super::model::{Application, ApplyForm};
use super::store::{self, NewRow};
use super::transitions::notify;
use super::waitlist;
use super::workflow::Status;
use crate::audit::{self, NewEvent};
use crate::auth::{AuthUser, RequestMeta};
use crate::budget::escrow::{Newcomer, Placement, place_newcomer};
use crate::budget::store::{Movement, hold_sme_cap, lock_sme, log_reservation};
use crate::budget::{POOL, Sharding};
use crate::db::DbConnection;
use crate::db::schema::package_revisions;
use crate::enquiries::model::EnquiryStatus;
use crate::error::ApiError;
use crate::money::Money;
use crate::packages::model::RevisionRow;
use crate::programme::quoting::{self, Ask};

/// Applies for the calling SME on its confirmed enquiry. Errors: 403 (no profile, ineligible),
/// 404 (no such enquiry of this SME), 409 (enquiry not confirmed, no open batch, package no
/// longer listed, already applied, cap used up).
pub fn apply(
    conn: &mut DbConnection,
    sharding: Sharding,
    meta: &RequestMeta,
    user: &AuthUser,
    form: &ApplyForm,
) -> Result<Application, ApiError> {
    let sme = crate::smes::store::applicant_profile_of(conn, &user.user_id)?;
    let enquiry = crate::enquiries::store::find(conn, &form.enquiry_id)
        .optional()?
        .filter(|e| e.sme_id == sme.id)
        .ok_or_else(|| ApiError::NotFound("You have no enquiry with this id.".to_owned()))?;
    if enquiry.status != EnquiryStatus::Confirmed {
        return Err(ApiError::Conflict(format!(
            "The enquiry is {}; only a confirmed enquiry can be applied on.",
            enquiry.status
        )));
    }
    let now = crate::time::now();
    let batch = crate::programme::batches::open_at(conn, now)?.ok_or_else(|| {
        ApiError::Conflict(
            "No intake batch is open; applications are accepted only while one is.".to_owned(),
        )
    })?;
    if !crate::catalogue::store::is_listed(conn, &enquiry.package_id)? {
        return Err(ApiError::Conflict(
            "The package is no longer listed.".to_owned(),
        ));
    }
    let rules = crate::programme::store::current_rules(conn)?;
    let revision: RevisionRow = package_revisions::table
        .find(&enquiry.revision_id)
        .select(RevisionRow::as_select())
        .first(conn)?;
    let add_ons: Vec<Money> = enquiry.options().into_iter().map(|o| o.price).collect();
    let term = enquiry.term_months.and_then(|t| u32::try_from(t).ok());
    let pricing = revision.pricing();
    let ask = Ask {
        pricing: &pricing,
        add_ons: &add_ons,
        term_months: term,
    };
    // The risk checks a new application triggers read their facts now, before the locks; their
    // flags are raised below, once the application row exists.
    let id = uuid::Uuid::new_v4().to_string();
    let ceiling_cents = if revision.pricing_model == "subscription" {
        rules.subscription_ceiling.cents()
    } else {
        rules.one_off_ceiling.cents()
    };
    let checking = std::time::Instant::now();
    let hits = crate::risk::store::before_apply(
        conn,
        &rules.risk_thresholds(),
        &crate::risk::store::NewApplication {
            id: id.clone(),
            sme_id: sme.id.clone(),
            vendor_id: enquiry.vendor_id.clone(),
            client_ip: meta.ip.clone(),
            eligible_cost_cents: enquiry.eligible_cost_cents,
            ceiling_cents,
        },
    )?;
    let mut checks_took = checking.elapsed();
    // The lock order of src/budget/mod.rs: the SME, then the budget rows and the batch (in
    // `place_newcomer`). The waitlist is read under those locks, so a release that commits
    // meanwhile is either seen here or sees this application on its waitlist.
    let held = lock_sme(conn, &sme.id)?;
    let quote = quoting::quote(&ask, &rules, quoting::remaining_cap(&rules, held)?)?;
    if quote.subsidy == Money::ZERO {
        return Err(ApiError::Conflict(format!(
            "The SME has used its whole cap of {}.",
            rules.per_sme_cap
        )));
    }
    let subsidy = quote.subsidy;
    if !hold_sme_cap(conn, &sme.id, subsidy, rules.per_sme_cap)? {
        return Err(ApiError::internal(anyhow::anyhow!(
            "the SME's cap moved while its row was locked"
        )));
    }
    let placement = place_newcomer(
        conn,
        sharding,
        Newcomer {
            sme_id: &sme.id,
            batch_id: &batch.id,
            amount: subsidy,
            largest: rules.per_sme_cap,
            actor_id: Some(&user.user_id),
        },
        &mut waitlist::blocks_newcomers,
    )?;
    let (status, pool) = match &placement {
        Placement::Reserved { pool } => (Status::Reserved, pool.as_str()),
        Placement::Waitlisted => (Status::Waitlisted, POOL),
    };
    let reserved = status == Status::Reserved;
    // A second live application for the package breaks the unique index on live applications:
    // the transaction rolls back whole (the money taken above included) and the SME gets a 409.
    let row = store::insert_new(
        conn,
        &NewRow {
            id: &id,
            sme_id: &sme.id,
            package_id: &enquiry.package_id,
            vendor_id: &enquiry.vendor_id,
            enquiry_id: &enquiry.id,
            batch_id: &batch.id,
            rules_version: rules.version,
            status,
            eligible_cost_cents: quote.eligible_cost,
            subsidy_cents: subsidy,
            sme_pays_cents: quote.sme_pays,
            queued_at: now,
            reserved_at: reserved.then_some(now),
            created_at: now,
            updated_at: now,
            client_ip: meta.ip.as_deref(),
            ceiling_cents: Some(ceiling_cents),
        },
    )?;
    if reserved {
        log_reservation(
            conn,
            Movement {
                application_id: &id,
                batch_id: &batch.id,
                amount: subsidy,
                actor_id: Some(&user.user_id),
                pool,
            },
        )?;
    }
    audit::record(
        conn,
        meta,
        NewEvent::new("application.applied", "application", Some(&id))
            .by(&user.user_id, user.role)
            .after(Application::from(row.clone())),
    )?;
    notify(conn, &row, None)?;
    let raising = std::time::Instant::now();
    crate::risk::store::raise_all(conn, meta, &hits, Some(&row.vendor_id))?;
    checks_took += raising.elapsed();
    crate::risk::observe_apply_checks(checks_took);
    Ok(Application::from(row))
}
