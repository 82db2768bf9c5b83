//! The waitlist: applications the budget (or their batch's quota) could not fund in full when
//! they applied, promoted first come first served whenever money is released, in the releasing
//! transaction.
//!
//! First come, first served, across batches: the oldest waiting application the budget could
//! fund goes first, and a newcomer never overtakes it. Two kinds of waiting application are
//! passed over, by the promotion and by newcomers alike: one held back only by its own batch's
//! quota, and one whose vendor or package is suspended (it waits, holding its place, until
//! reinstatement promotes it).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Text, Timestamp};

use super::model::{ApplicationRow, Changes};
use super::transitions::{Actor, TransitionError, perform};
use super::workflow::{Action, Status};
use crate::auth::RequestMeta;
use crate::budget::escrow::gather;
use crate::budget::store::{Movement, Reservation, reserve};
use crate::db::schema::applications;
use crate::db::{Backend, DbConnection, Prepare};
use crate::packages::workflow::PackageStatus;
use crate::vendors::workflow::VendorStatus;

/// How many waiting applications are locked and tried at a time.
const CHUNK: i64 = 50;

/// Waiting applications whose vendor and package are in good standing: the only ones that can
/// be promoted, and so the only ones a newcomer must queue behind. Binds $1 to $3 with
/// [`bind_promotable`].
const PROMOTABLE: &str = "FROM applications a \
     JOIN vendors v ON v.id = a.vendor_id \
     JOIN packages p ON p.id = a.package_id \
     WHERE a.status = $1 AND v.status <> $2 AND p.status <> $3";

/// Binds the statuses [`PROMOTABLE`] names.
macro_rules! bind_promotable {
    ($query:expr) => {
        $query
            .bind::<Text, _>(Status::Waitlisted)
            .bind::<Text, _>(VendorStatus::Suspended.as_str())
            .bind::<Text, _>(PackageStatus::Suspended.as_str())
    };
}

#[derive(QueryableByName)]
struct Found {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    found: bool,
}

/// Whether a newcomer must wait: some promotable application is already waiting and its own
/// batch's quota could take it. Call it with the pool locked, so that the answer holds until
/// commit.
pub fn blocks_newcomers(conn: &mut DbConnection) -> QueryResult<bool> {
    let found: Found = bind_promotable!(diesel::sql_query(format!(
        "SELECT {} AS found",
        queue_ahead()
    )))
    .prepared()
    .get_result(conn)?;
    Ok(found.found)
}

/// The SQL condition "some promotable application waits and its own batch's quota could take
/// it"; binds $1 to $3 with [`bind_promotable`].
fn queue_ahead() -> String {
    format!(
        "EXISTS (SELECT 1 {PROMOTABLE} AND EXISTS (SELECT 1 FROM intake_batches b \
         WHERE b.id = a.batch_id AND (b.quota_cents IS NULL \
         OR b.quota_cents - b.used_cents >= a.subsidy_cents)))"
    )
}

/// A newcomer's SME, locked: what its applications hold of its cap, whether newcomers must
/// queue ([`blocks_newcomers`]), and the available money of its escrow shard.
#[derive(Debug, Clone, Copy, QueryableByName)]
pub struct LockedSme {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub held_cents: i64,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub queue_ahead: bool,
    /// Read without the shard's lock; `None` without a shard or before the shard's first
    /// refill.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    pub shard_available: Option<i64>,
}

/// Locks a newcomer SME's row (its application's first lock, in the order of
/// `src/budget/mod.rs`) and reads what its applications hold of its cap, whether newcomers must
/// queue, and what its escrow shard `shard` has available, in one statement. The queue and the
/// shard are read without the budget rows' locks: they only steer the newcomer
/// ([`crate::budget::escrow::place_newcomer`] checks both again under the locks it takes).
pub fn lock_newcomer(
    conn: &mut DbConnection,
    sme_id: &str,
    shard: Option<&str>,
) -> QueryResult<LockedSme> {
    let lock = match conn.backend() {
        Backend::Postgres => " FOR UPDATE OF s",
        Backend::Sqlite => "",
    };
    // Numbered in order of appearance: SQLite numbers `$N` parameters as it meets them.
    bind_promotable!(diesel::sql_query(format!(
        "SELECT s.subsidy_held_cents AS held_cents, {} AS queue_ahead, \
         (SELECT available_cents FROM budget_pools WHERE id = $4) AS shard_available \
         FROM smes s WHERE s.id = $5{lock}",
        queue_ahead()
    )))
    .bind::<diesel::sql_types::Nullable<Text>, _>(shard)
    .bind::<Text, _>(sme_id)
    .prepared()
    .get_result(conn)
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = Text)]
    id: String,
}

/// The next waiting applications after `after`, in queue order. On PostgreSQL they are locked,
/// skipping any another transaction holds (it is withdrawing or promoting them).
fn next_waiting(
    conn: &mut DbConnection,
    after: &(NaiveDateTime, String),
) -> QueryResult<Vec<ApplicationRow>> {
    let lock = match conn.backend() {
        Backend::Postgres => " FOR UPDATE OF a SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let ids: Vec<Id> = bind_promotable!(diesel::sql_query(format!(
        "SELECT a.id {PROMOTABLE} \
         AND (a.queued_at > $4 OR (a.queued_at = $4 AND a.id > $5)) \
         ORDER BY a.queued_at, a.id LIMIT {CHUNK}{lock}"
    )))
    .bind::<Timestamp, _>(after.0)
    .bind::<Text, _>(&after.1)
    .prepared()
    .load(conn)?;
    let ids: Vec<String> = ids.into_iter().map(|i| i.id).collect();
    applications::table
        .filter(applications::id.eq_any(&ids))
        .order((applications::queued_at, applications::id))
        .select(ApplicationRow::as_select())
        .load(conn)
}

/// Promotes waiting applications in queue order while the budget can fund the next one; one
/// blocked only by its own batch's quota is passed over. Promoted money comes from the root
/// budget row, which is locked first (the lock order of `src/budget/mod.rs`); when the root is
/// short, the escrow shards' available money is gathered into it once. Returns the ids
/// promoted.
pub fn promote(
    conn: &mut DbConnection,
    meta: &RequestMeta,
) -> Result<Vec<String>, TransitionError> {
    let mut promoted = Vec::new();
    crate::budget::store::lock_root(conn)?;
    let mut gathered = false;
    let mut after = (chrono::DateTime::UNIX_EPOCH.naive_utc(), String::new());
    loop {
        let waiting = next_waiting(conn, &after)?;
        if waiting.is_empty() {
            return Ok(promoted);
        }
        for app in waiting {
            after = (app.queued_at, app.id.clone());
            let movement = Movement {
                application_id: &app.id,
                batch_id: &app.batch_id,
                amount: app.subsidy_cents,
                actor_id: None,
                pool: crate::budget::POOL,
            };
            let mut reserved = reserve(conn, movement)?;
            if reserved == Reservation::BudgetShort && !gathered {
                // The root is short, but the escrow shards may hold money: bring it back once.
                gathered = true;
                if gather(conn, None)? > 0 {
                    reserved = reserve(conn, movement)?;
                }
            }
            match reserved {
                Reservation::BudgetShort => return Ok(promoted),
                Reservation::QuotaShort => continue,
                Reservation::Reserved => {
                    let changes = Changes {
                        reserved_at: Some(crate::time::now()),
                        ..Changes::default()
                    };
                    perform(
                        conn,
                        meta,
                        Actor::System("waitlist"),
                        &app,
                        Action::Promote,
                        changes,
                    )?;
                    promoted.push(app.id);
                }
            }
        }
    }
}

/// Applications waiting for money: how many, and the subsidy they would take.
pub fn totals(conn: &mut DbConnection) -> QueryResult<(i64, i64)> {
    use diesel::dsl::sql;
    use diesel::sql_types::{BigInt, Nullable};
    let (count, sum): (i64, Option<i64>) = applications::table
        .filter(applications::status.eq(Status::Waitlisted))
        .select((
            diesel::dsl::count_star(),
            // SUM of a BIGINT is NUMERIC on PostgreSQL; cast it back for both backends.
            sql::<Nullable<BigInt>>("CAST(SUM(subsidy_cents) AS BIGINT)"),
        ))
        .first(conn)?;
    Ok((count, sum.unwrap_or(0)))
}
