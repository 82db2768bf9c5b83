//! Carrying out a lifecycle step: the one function every application status change goes
//! through. It checks the step against the state machine, moves the status (guarded on the
//! status it read), moves the money, writes the audit event and emails both parties, and after
//! any release promotes the waitlist, all in the caller's transaction.

use chrono::Duration;
use diesel::prelude::*;

use super::emails;
use super::model::{AdminApplication, ApplicationRow, Changes};
use super::store;
use super::workflow::{Action, Holding, Money, NotAllowed, Status, step};
use crate::audit::{self, NewEvent};
use crate::auth::{AuthUser, RequestMeta};
use crate::budget::store::{Bucket, BudgetError, Movement};
use crate::db::{DbConnection, Prepare};
use crate::error::ApiError;
use crate::outbox;
use diesel::sql_types::Text;

/// Why a step could not be taken. Mapped to HTTP only at the edge (`From` below).
#[derive(Debug, thiserror::Error)]
pub enum TransitionError {
    #[error(transparent)]
    NotAllowed(#[from] NotAllowed),
    /// Someone else moved the application first.
    #[error("The application changed meanwhile; reload it and retry.")]
    Moved,
    #[error(
        "The vendor is suspended; the application's money stays on hold until it is reinstated, or an admin rejects the application."
    )]
    VendorSuspended,
    #[error(
        "The package is suspended; the application's money stays on hold until it is reinstated, or an admin rejects the application."
    )]
    PackageSuspended,
    #[error(transparent)]
    Budget(#[from] BudgetError),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    /// A check outside the state machine refused the step (a risk hold, say), or failed.
    #[error(transparent)]
    Refused(#[from] ApiError),
}

impl From<TransitionError> for ApiError {
    fn from(e: TransitionError) -> Self {
        match e {
            TransitionError::NotAllowed(_) | TransitionError::Moved => {
                ApiError::Conflict(e.to_string())
            }
            TransitionError::VendorSuspended => ApiError::ConflictOf {
                slug: "vendor-suspended",
                detail: e.to_string(),
            },
            TransitionError::PackageSuspended => ApiError::ConflictOf {
                slug: "package-suspended",
                detail: e.to_string(),
            },
            TransitionError::Budget(e) => e.into(),
            TransitionError::Database(e) => e.into(),
            TransitionError::Refused(e) => e,
        }
    }
}

impl From<BudgetError> for ApiError {
    fn from(e: BudgetError) -> Self {
        match e {
            BudgetError::Database(e) => e.into(),
            // Contention: `db::with_retries` runs the transaction again.
            BudgetError::ShardDrained => ApiError::Busy(anyhow::Error::new(e)),
            bug => ApiError::internal(bug),
        }
    }
}

/// Who takes a step.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    User(&'a AuthUser),
    /// A background job or a consequence of another step: `expiry`, `waitlist`.
    System(&'static str),
}

impl Actor<'_> {
    fn user_id(&self) -> Option<&str> {
        match self {
            Actor::User(u) => Some(&u.user_id),
            Actor::System(_) => None,
        }
    }
}

/// Performs `action` on `row` for `actor`, setting `changes` too. 409 when the state machine
/// does not allow it or the application moved meanwhile. A promotion's money must already be
/// reserved by the caller (see [`crate::budget::waitlist`]).
pub fn perform(
    conn: &mut DbConnection,
    meta: &RequestMeta,
    actor: Actor<'_>,
    row: &ApplicationRow,
    action: Action,
    mut changes: Changes,
) -> Result<ApplicationRow, TransitionError> {
    let from = row.status();
    let step = step(from, action)?;
    if action.pays_the_vendor() {
        refuse_if_suspended(conn, row)?;
    }
    let now = crate::time::now();
    if action == Action::Approve {
        let rules = crate::programme::store::rules_version(conn, row.rules_version)?;
        changes.approved_at = Some(now);
        changes.deadline_at = Some(now + Duration::days(rules.implementation_deadline_days));
    }
    if matches!(
        step.to,
        Status::Rejected | Status::Withdrawn | Status::Expired
    ) {
        changes.closed_at = Some(now);
    }
    if !store::move_status(conn, &row.id, from, step.to, &changes)? {
        return Err(TransitionError::Moved);
    }
    // Where the money is, when it moves: the row the application's reservation names.
    let pool = match step.money {
        Money::Commit
        | Money::Disburse
        | Money::Release(Holding::Reserved | Holding::Committed) => {
            crate::budget::store::pool_of(conn, &row.id)?
        }
        _ => crate::budget::POOL.to_owned(),
    };
    let movement = Movement {
        application_id: &row.id,
        batch_id: &row.batch_id,
        amount: row.subsidy_cents,
        actor_id: actor.user_id(),
        pool: &pool,
    };
    match step.money {
        Money::Stays | Money::Reserve => {}
        Money::Commit => crate::budget::store::commit(conn, movement)?,
        Money::Disburse => crate::budget::store::disburse(conn, movement)?,
        Money::Release(held) => {
            // The lock order of src/budget/mod.rs: the SME before the pool.
            if held != Holding::Nothing {
                crate::budget::store::release_sme_cap(conn, &row.sme_id, row.subsidy_cents)?;
            }
            match held {
                Holding::Reserved => {
                    crate::budget::store::release(conn, Bucket::Reserved, movement)?
                }
                Holding::Committed => {
                    crate::budget::store::release(conn, Bucket::Committed, movement)?
                }
                Holding::CapOnly | Holding::Nothing | Holding::Disbursed => {}
            }
        }
    }
    let after = store::find(conn, &row.id)?;
    let mut event = NewEvent::new(
        &format!("application.{}", action.as_str()),
        "application",
        Some(&row.id),
    )
    .before(AdminApplication::from(row.clone()))
    .after(AdminApplication::from(after.clone()));
    event = match actor {
        Actor::User(u) => event.by(&u.user_id, u.role),
        Actor::System(name) => event.by_system(name),
    };
    audit::record(conn, meta, event)?;
    notify(conn, &after, changes.last_comment.as_deref())?;
    // The indicators whose facts this step changed, in the same transaction.
    match action {
        Action::Approve => {
            crate::risk::store::after_approval(conn, meta, &row.vendor_id)?;
        }
        Action::Deliver => {
            crate::risk::store::after_delivery(conn, meta, &row.id)?;
        }
        Action::ConfirmDelivery => {
            crate::risk::store::after_payment(conn, meta, &row.id)?;
        }
        _ => {}
    }
    if matches!(
        step.money,
        Money::Release(Holding::Reserved | Holding::Committed)
    ) {
        crate::applications::waitlist::promote(conn, meta)?;
    }
    Ok(after)
}

/// 409 `vendor-suspended` or `package-suspended` while the application's vendor or package is
/// suspended: its money stays on hold, and only a release (reject, withdraw) may proceed.
fn refuse_if_suspended(
    conn: &mut DbConnection,
    row: &ApplicationRow,
) -> Result<(), TransitionError> {
    use crate::db::schema::{packages, vendors};
    use crate::packages::workflow::PackageStatus;
    use crate::vendors::workflow::VendorStatus;
    let vendor: VendorStatus = vendors::table
        .find(&row.vendor_id)
        .select(vendors::status)
        .first(conn)?;
    if vendor == VendorStatus::Suspended {
        return Err(TransitionError::VendorSuspended);
    }
    let package: PackageStatus = packages::table
        .find(&row.package_id)
        .select(packages::status)
        .first(conn)?;
    if package == PackageStatus::Suspended {
        return Err(TransitionError::PackageSuspended);
    }
    Ok(())
}

/// Emails the SME and the vendor the application's status.
pub fn notify(
    conn: &mut DbConnection,
    row: &ApplicationRow,
    comment: Option<&str>,
) -> QueryResult<()> {
    // SQLite numbers `$n` parameters in the order they first appear: keep them in order.
    let p: Parties = diesel::sql_query(
        "SELECT r.name_en AS package, s.business_name_en AS sme_name, su.email AS sme_email, \
         v.company_name_en AS vendor_name, vu.email AS vendor_email \
         FROM enquiries e JOIN package_revisions r ON e.id = $1 AND r.id = e.revision_id \
         JOIN smes s ON s.id = $2 JOIN users su ON su.id = s.user_id \
         JOIN vendors v ON v.id = $3 JOIN users vu ON vu.id = v.user_id",
    )
    .bind::<Text, _>(&row.enquiry_id)
    .bind::<Text, _>(&row.sme_id)
    .bind::<Text, _>(&row.vendor_id)
    .prepared()
    .get_result(conn)?;
    notify_parties(conn, row, &p, comment)
}

/// Emails the SME and the vendor the application's status, to parties already read.
pub fn notify_parties(
    conn: &mut DbConnection,
    row: &ApplicationRow,
    p: &Parties,
    comment: Option<&str>,
) -> QueryResult<()> {
    outbox::enqueue_all(conn, party_emails(row, p, comment))
}

/// The emails [`notify_parties`] queues.
pub fn party_emails(
    row: &ApplicationRow,
    p: &Parties,
    comment: Option<&str>,
) -> Vec<outbox::Email> {
    let subsidy = row.subsidy_cents.to_string();
    let email = |to: &str, name: &str| {
        emails::application_status(to, name, &p.package, row.status, &subsidy, comment)
    };
    vec![
        email(&p.sme_email, &p.sme_name),
        email(&p.vendor_email, &p.vendor_name),
    ]
}

/// The names and addresses [`notify`] writes to, read in one query.
#[derive(QueryableByName)]
pub struct Parties {
    /// The package's name (English), from the revision the enquiry was made on.
    #[diesel(sql_type = Text)]
    pub package: String,
    #[diesel(sql_type = Text)]
    pub sme_name: String,
    #[diesel(sql_type = Text)]
    pub sme_email: String,
    #[diesel(sql_type = Text)]
    pub vendor_name: String,
    #[diesel(sql_type = Text)]
    pub vendor_email: String,
}
