//! Applying: one transaction that computes the subsidy with the matching engine and reserves
//! it against the SME's cap, the programme budget and the batch quota with guarded UPDATEs, or
//! puts the application on the waitlist; it writes the ledger, the audit event and the emails.

use diesel::prelude::*;

use super::model::{Application, ApplyForm};
use super::store::{self, NewRow};
use super::transitions::{Parties, party_emails};
use super::waitlist;
use super::workflow::Status;
use crate::audit::{self, NewEvent};
use crate::auth::{ActiveLater, RequestMeta, SmeUser};
use crate::budget::escrow::{Newcomer, Placement, place_newcomer};
use crate::budget::store::{Movement, Quota, hold_sme_cap, log_reservation};
use crate::budget::{POOL, Sharding};
use crate::db::DbConnection;
use crate::db::schema::package_revisions;
use crate::db::together::Together;
use crate::enquiries::model::{EnquiryRow, EnquiryStatus};
use crate::error::ApiError;
use crate::money::Money;
use crate::outbox;
use crate::packages::model::RevisionRow;
use crate::programme::batches::BatchRow;
use crate::programme::model::ProgrammeRules;
use crate::programme::quoting::{self, Ask};
use crate::risk::engine::Contact;
use crate::risk::store::{ContactRow, contact, vendor_contact_columns};
use crate::smes::store::ApplicantRow;

/// Applies for the calling SME on its confirmed enquiry. Errors: 403 (no profile, ineligible),
/// 404 (no such enquiry of this SME), 409 (enquiry not confirmed, no open batch, package no
/// longer listed, already applied, cap used up).
pub fn apply(
    conn: &mut DbConnection,
    sharding: Sharding,
    meta: &RequestMeta,
    caller: &ActiveLater<SmeUser>,
    form: &ApplyForm,
) -> Result<Application, ApiError> {
    let now = crate::time::now();
    let (applicant, found) = applicant_and_enquiry(conn, &form.enquiry_id, caller.user_id(), now)?;
    let (SmeUser(user), applicant) = crate::smes::store::applicant_from(conn, caller, applicant)?;
    let sme = &applicant.sme;
    let found =
        found.ok_or_else(|| ApiError::NotFound("You have no enquiry with this id.".to_owned()))?;
    let enquiry = &found.enquiry;
    if enquiry.status != EnquiryStatus::Confirmed {
        return Err(ApiError::Conflict(format!(
            "The enquiry is {}; only a confirmed enquiry can be applied on.",
            enquiry.status
        )));
    }
    let rules = found.rules;
    let batch = found.batch.ok_or_else(|| {
        ApiError::Conflict(
            "No intake batch is open; applications are accepted only while one is.".to_owned(),
        )
    })?;
    if !found.listed {
        return Err(ApiError::Conflict(
            "The package is no longer listed.".to_owned(),
        ));
    }
    let revision = &found.revision;
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
            sme_contact: applicant.contact,
            vendor_contact: found.vendor,
        },
    )?;
    let mut checks_took = checking.elapsed();
    // The lock order of src/budget/mod.rs: the SME, then the budget rows and the batch (in
    // `place_newcomer`). The waitlist is read with the SME's lock, to steer the newcomer, and
    // again under the root's on the global path, so a release that commits meanwhile is either
    // seen there or sees this application on its waitlist.
    let shard = sharding.shard_for(&sme.id);
    let locked = waitlist::lock_newcomer(conn, &sme.id, shard.as_deref())?;
    let quote = quoting::quote(
        &ask,
        &rules,
        quoting::remaining_cap(&rules, locked.held_cents)?,
    )?;
    if quote.subsidy == Money::ZERO {
        return Err(ApiError::Conflict(format!(
            "The SME has used its whole cap of {}.",
            rules.per_sme_cap
        )));
    }
    let subsidy = quote.subsidy;
    // The rest is written in one go (one round trip on PostgreSQL): the shard's take when it
    // can go last (`place_newcomer`), the cap hold (the SME's row is locked, so its guard only
    // catches a bug), the application, its ledger entry, the audit event and the emails.
    // Nothing reads them before the transaction commits.
    let mut writes = Together::new();
    let placed = place_newcomer(
        conn,
        sharding,
        Newcomer {
            sme_id: &sme.id,
            batch_id: &batch.id,
            quota: Quota::Read(batch.quota_cents),
            amount: subsidy,
            largest: rules.per_sme_cap,
            actor_id: Some(&user.user_id),
            queue_ahead: locked.queue_ahead,
            shard_available: locked.shard_available,
        },
        &mut waitlist::blocks_newcomers,
        &mut writes,
    )?;
    let (status, pool) = match &placed.placement {
        Placement::Reserved { pool } => (Status::Reserved, pool.as_str()),
        Placement::Waitlisted => (Status::Waitlisted, POOL),
    };
    let reserved = status == Status::Reserved;
    let new = NewRow {
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
    };
    let row = store::stored(&new);
    let held = writes.add(hold_sme_cap(&sme.id, subsidy, rules.per_sme_cap));
    writes.add(store::inserting(&new));
    if reserved {
        writes.add(log_reservation(
            conn.backend(),
            Movement {
                application_id: &id,
                batch_id: &batch.id,
                amount: subsidy,
                actor_id: Some(&user.user_id),
                pool,
            },
        ));
    }
    writes.add(audit::recording(
        meta,
        NewEvent::new("application.applied", "application", Some(&id))
            .by(&user.user_id, user.role)
            .after(Application::from(row.clone())),
    ));
    let parties = Parties {
        package: revision.name_en.clone(),
        sme_name: sme.business_name_en.clone(),
        sme_email: applicant.email,
        vendor_name: found.vendor_name,
        vendor_email: found.vendor_email,
    };
    outbox::queue_all(&mut writes, party_emails(&row, &parties, None));
    // A second live application for the package breaks the unique index on live applications:
    // the transaction rolls back whole (the money taken above included) and the SME gets a 409.
    let changed = writes.run(conn).map_err(store::already_applied)?;
    placed.check(&changed)?;
    if changed[held] != 1 {
        return Err(ApiError::internal(anyhow::anyhow!(
            "the SME's cap moved while its row was locked"
        )));
    }
    let raising = std::time::Instant::now();
    crate::risk::store::raise_all(conn, meta, &hits, Some(&row.vendor_id))?;
    checks_took += raising.elapsed();
    crate::risk::observe_apply_checks(checks_took);
    Ok(Application::from(row))
}

/// A confirmed enquiry's facts that applying needs: the enquiry, the revision it was made on,
/// whether the package is listed, the vendor's contact keys, name and email address, and the
/// programme's rules in force with the intake batch open at `now`.
struct ToApply {
    enquiry: EnquiryRow,
    revision: RevisionRow,
    listed: bool,
    vendor: Contact,
    vendor_name: String,
    vendor_email: String,
    rules: ProgrammeRules,
    batch: Option<BatchRow>,
}

/// The calling SME user's profile with its account (`None`: no profile; see
/// [`crate::smes::store::applicant_from`]) and its enquiry `id` with what applying needs
/// (`None`: the SME has no such enquiry), read in one query.
fn applicant_and_enquiry(
    conn: &mut DbConnection,
    id: &str,
    user_id: &str,
    now: chrono::NaiveDateTime,
) -> Result<(Option<ApplicantRow>, Option<ToApply>), ApiError> {
    use crate::db::schema::{
        enquiries, intake_batches, packages, programme_rules, smes, users, vendors,
    };
    type Found = (
        ApplicantRow,
        Option<EnquiryRow>,
        Option<RevisionRow>,
        Option<bool>,
        Option<ContactRow>,
        Option<String>,
        Option<String>,
        Option<ProgrammeRules>,
        Option<BatchRow>,
    );
    // The rules in force are the latest version.
    let versions = diesel::alias!(programme_rules as versions);
    let in_force = versions
        .select(diesel::dsl::max(versions.field(programme_rules::version)))
        .single_value();
    let vendor_users = diesel::alias!(users as vendor_users);
    let found: Option<Found> = smes::table
        .inner_join(users::table)
        .left_join(
            // (Owned: a join's ON clause must not borrow.)
            enquiries::table.on(enquiries::id
                .eq(id.to_owned())
                .and(enquiries::sme_id.eq(smes::id))),
        )
        .left_join(package_revisions::table.on(package_revisions::id.eq(enquiries::revision_id)))
        .left_join(packages::table.on(packages::id.eq(enquiries::package_id)))
        .left_join(vendors::table.on(vendors::id.eq(enquiries::vendor_id)))
        .left_join(vendor_users.on(vendor_users.field(users::id).eq(vendors::user_id)))
        .left_join(programme_rules::table.on(programme_rules::version.nullable().eq(in_force)))
        .left_join(
            intake_batches::table.on(intake_batches::opens_at
                .le(now)
                .and(intake_batches::closes_at.gt(now))),
        )
        .filter(smes::user_id.eq(user_id))
        .select((
            ApplicantRow::as_select(),
            Option::<EnquiryRow>::as_select(),
            Option::<RevisionRow>::as_select(),
            packages::visible.nullable(),
            vendor_contact_columns().nullable(),
            vendors::company_name_en.nullable(),
            vendor_users.field(users::email).nullable(),
            Option::<ProgrammeRules>::as_select(),
            Option::<BatchRow>::as_select(),
        ))
        .first(conn)
        .optional()?;
    let Some((
        applicant,
        enquiry,
        revision,
        listed,
        vendor,
        vendor_name,
        vendor_email,
        rules,
        batch,
    )) = found
    else {
        return Ok((None, None));
    };
    let Some(enquiry) = enquiry else {
        return Ok((Some(applicant), None));
    };
    // An enquiry has its revision, package and vendor (foreign keys), and the programme its
    // rules (the first version is made with the schema).
    let missing =
        |what: &str| ApiError::internal(anyhow::anyhow!("enquiry {id} without its {what}"));
    let to_apply = ToApply {
        revision: revision.ok_or_else(|| missing("revision"))?,
        listed: listed.ok_or_else(|| missing("package"))?,
        vendor: contact(vendor.ok_or_else(|| missing("vendor"))?),
        vendor_name: vendor_name.ok_or_else(|| missing("vendor"))?,
        vendor_email: vendor_email.ok_or_else(|| missing("vendor's account"))?,
        rules: rules.ok_or_else(|| missing("programme rules"))?,
        batch,
        enquiry,
    };
    Ok((Some(applicant), Some(to_apply)))
}
