//! Escrow shards of the programme budget (O'Neil's escrow method, as ledgers such as
//! TigerBeetle shard a hot balance): besides the root row `programme`, the budget may hold
//! shard rows `programme/NN`, each with its own buckets. A newcomer reserves on the shard its
//! SME hashes to, so that applications of different SMEs update different rows instead of all
//! queueing on one.
//!
//! - A shard that cannot fund an application is refilled from the root with a chunk of
//!   [`CHUNK_SUBSIDIES`] largest subsidies, while the root keeps at least the *floor*: the
//!   largest subsidy × shards × [`FLOOR_MARGIN`].
//! - When the root cannot refill a shard, the shards' available money is gathered back into
//!   the root, and the application takes the global path: the root row locked, the waitlist
//!   checked, the money taken from the root. Near exhaustion the shards are therefore empty and
//!   every application goes through the one root row, so first come, first served stays
//!   exact, as it was before shards.
//! - Money released on a shard returns to the root ([`super::store::release`]), where the
//!   waitlist is promoted from; a promotion that finds the root short gathers first.
//! - Every move between rows is a pair of `transfer` ledger entries, so the ledger still
//!   accounts for every row's buckets, and the rows' totals sum to the programme's.
//!
//! SQLite keeps one row: its writers are serial anyway.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::store::{self, BudgetError, POOL, Reservation};
use crate::db::together::{Changed, Slot, Together};
use crate::db::{DbConnection, Prepare};
use crate::money::Money;

/// How many largest subsidies a refill moves from the root to a shard.
pub const CHUNK_SUBSIDIES: i64 = 16;

/// The root keeps at least the largest subsidy × shards × this, so that the shards collapse
/// back into it well before the money runs out.
pub const FLOOR_MARGIN: i64 = 2;

/// The most shards a budget may be split into.
pub const MAX_SHARDS: u16 = 64;

/// How the budget is split for newcomers: into `shards` rows besides the root; 1 means the
/// root alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sharding {
    shards: u16,
}

impl Sharding {
    /// The root alone.
    pub const ONE: Sharding = Sharding { shards: 1 };

    /// `shards` rows (1 to [`MAX_SHARDS`]; out of range is clamped).
    pub fn new(shards: u16) -> Sharding {
        Sharding {
            shards: shards.clamp(1, MAX_SHARDS),
        }
    }

    pub fn shards(self) -> u16 {
        self.shards
    }

    /// The shard row an SME reserves on (a stable hash of its id), or `None` for the root.
    pub fn shard_for(self, sme_id: &str) -> Option<String> {
        if self.shards <= 1 {
            return None;
        }
        // FNV-1a: stable across processes and releases, unlike the std hasher.
        let hash = sme_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        Some(shard_id(hash % u64::from(self.shards)))
    }

    /// What the root keeps when refilling a shard, for subsidies of at most `largest`.
    fn floor(self, largest: Money) -> i64 {
        largest
            .cents()
            .saturating_mul(i64::from(self.shards))
            .saturating_mul(FLOOR_MARGIN)
    }
}

/// The id of shard `n`.
pub fn shard_id(n: u64) -> String {
    format!("{POOL}/{n:02}")
}

/// Where a newcomer's subsidy was placed, and whether its take still rides with the caller's
/// writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub placement: Placement,
    /// The shard's take, added to the caller's writes: it must change one row.
    take: Option<Slot>,
}

impl Placed {
    /// Whether the take sent with the caller's writes went through: [`BudgetError::ShardDrained`]
    /// when a concurrent newcomer took the shard's money first (the transaction, its writes
    /// included, must roll back and run again; then it sees the shard short).
    pub fn check(&self, changed: &Changed) -> Result<(), BudgetError> {
        match self.take {
            Some(slot) if changed[slot] != 1 => Err(BudgetError::ShardDrained),
            _ => Ok(()),
        }
    }
}

impl From<Placement> for Placed {
    fn from(placement: Placement) -> Placed {
        Placed {
            placement,
            take: None,
        }
    }
}

/// Where a newcomer's subsidy was placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// Reserved on budget row `pool` (the root [`POOL`] or a shard). The caller logs it
    /// ([`store::log_reservation`]) once the application's row exists.
    Reserved { pool: String },
    /// The budget or the batch quota cannot fund it now, or earlier applications wait: it
    /// joins the waitlist.
    Waitlisted,
}

/// A newcomer's subsidy.
#[derive(Debug, Clone, Copy)]
pub struct Newcomer<'a> {
    pub sme_id: &'a str,
    pub batch_id: &'a str,
    /// The batch's quota as read in this transaction.
    pub quota: store::Quota,
    pub amount: Money,
    /// The largest subsidy any application can have (the per-SME cap).
    pub largest: Money,
    pub actor_id: Option<&'a str>,
    /// Whether `waiters_ahead` answered yes when the SME's row was locked: a newcomer that
    /// must queue skips its shard for the global path.
    pub queue_ahead: bool,
    /// The available money of the SME's shard, read (without the shard's lock) when the SME's
    /// row was locked; `None` before the shard's first refill.
    pub shard_available: Option<i64>,
}

/// Reserves a newcomer's subsidy, or says it must wait. `waiters_ahead` answers whether
/// earlier applications wait that a newcomer must not overtake (it lives with the waitlist, in
/// `applications`); on the global path it is asked with the root locked, so that the answer
/// holds until commit. The sharded path goes by the answer the caller read with the SME's
/// lock ([`Newcomer::queue_ahead`]).
///
/// When the SME's shard looked able to fund it and the batch has no quota, the take is one
/// guarded update whose failure can only mean "run again": it is added to `writes`, to go with
/// the application's other writes (one round trip, and the shard's row is locked only from
/// then to commit); the caller runs them and then [`Placed::check`]s it.
///
/// Call it with the SME's row locked (the lock order of `src/budget/mod.rs`: SME, root, shards
/// in order of id, batch).
pub fn place_newcomer(
    conn: &mut DbConnection,
    sharding: Sharding,
    who: Newcomer<'_>,
    waiters_ahead: &mut dyn FnMut(&mut DbConnection) -> QueryResult<bool>,
    writes: &mut Together<'_>,
) -> Result<Placed, BudgetError> {
    let amount = who.amount.cents();
    // The root's available money once it is locked and the shards gathered into it, if the
    // sharded path got that far.
    let mut gathered_root = None;
    if let Some(shard) = sharding.shard_for(who.sme_id)
        && !who.queue_ahead
    {
        if who
            .shard_available
            .is_some_and(|available| available >= amount)
        {
            // The shard looked able to fund it. If a concurrent newcomer took that money
            // meanwhile, the failed update may hold the shard's row (PostgreSQL locks the row
            // version it re-checks after waiting), and locking the root now to refill would
            // invert the lock order and deadlock with a refill or gather (detected only after
            // PostgreSQL's `deadlock_timeout`, 1 s): the transaction runs again instead, and
            // then sees the shard short.
            if who.quota == store::Quota::Read(None) {
                let take = writes.add(store::taking(shard.clone(), amount));
                return Ok(Placed {
                    placement: Placement::Reserved { pool: shard },
                    take: Some(take),
                });
            }
            return Ok(on_shard(conn, &shard, who.batch_id, amount, who.quota)?
                .ok_or(BudgetError::ShardDrained)?
                .into());
        }
        // The shard looked short: refill it first, locking the root before the shard.
        let chunk = who.largest.cents().saturating_mul(CHUNK_SUBSIDIES);
        match refill(
            conn,
            &shard,
            chunk,
            sharding.floor(who.largest),
            who.actor_id,
        )? {
            Refill::Done => {
                // The shard's row is ours until commit, and a chunk covers any subsidy.
                if let Some(placed) = on_shard(conn, &shard, who.batch_id, amount, who.quota)? {
                    return Ok(placed.into());
                }
            }
            Refill::TooNearExhaustion { root_available } => {
                gathered_root = Some(root_available);
            }
        }
    }
    // The global path: exact first come, first served under the root row's lock.
    let root_available = match gathered_root {
        Some(available) => available,
        None => store::lock_root(conn)?,
    };
    if waiters_ahead(conn)? {
        return Ok(Placement::Waitlisted.into());
    }
    if root_available < amount && gathered_root.is_none() {
        gather(conn, who.actor_id)?;
    }
    let placement = match store::take(conn, POOL, who.batch_id, amount, who.quota)? {
        Reservation::Reserved => Placement::Reserved {
            pool: POOL.to_owned(),
        },
        Reservation::BudgetShort | Reservation::QuotaShort => Placement::Waitlisted,
    };
    Ok(placement.into())
}

/// Tries to reserve on `shard`: `None` when the shard is short (try elsewhere), a placement
/// otherwise (a batch quota that cannot take it is a wait wherever the money is).
fn on_shard(
    conn: &mut DbConnection,
    shard: &str,
    batch_id: &str,
    amount: i64,
    quota: store::Quota,
) -> Result<Option<Placement>, BudgetError> {
    Ok(match store::take(conn, shard, batch_id, amount, quota)? {
        Reservation::Reserved => Some(Placement::Reserved {
            pool: shard.to_owned(),
        }),
        Reservation::QuotaShort => Some(Placement::Waitlisted),
        Reservation::BudgetShort => None,
    })
}

/// How a refill went.
enum Refill {
    Done,
    /// The root, with every shard gathered into it, cannot give a chunk and keep its floor:
    /// the root is locked and holds `root_available`.
    TooNearExhaustion {
        root_available: i64,
    },
}

/// Locks the root and moves `chunk` cents from it to `shard` (created on first use), keeping
/// `floor` on the root; when the root alone cannot, gathers the shards into it first.
fn refill(
    conn: &mut DbConnection,
    shard: &str,
    chunk: i64,
    floor: i64,
    actor_id: Option<&str>,
) -> Result<Refill, BudgetError> {
    let mut root_available = store::lock_root(conn)?;
    let needed = chunk.saturating_add(floor);
    if root_available < needed {
        root_available = root_available.saturating_add(gather(conn, actor_id)?);
        if root_available < needed {
            return Ok(Refill::TooNearExhaustion { root_available });
        }
    }
    diesel::sql_query(
        "INSERT INTO budget_pools (id, total_cents, available_cents, reserved_cents, \
         committed_cents, disbursed_cents, updated_at) VALUES ($1, 0, 0, 0, 0, 0, $2) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind::<Text, _>(shard)
    .bind::<diesel::sql_types::Timestamp, _>(crate::time::now())
    .prepared()
    .execute(conn)?;
    if !store::transfer(conn, POOL, shard, chunk, floor, actor_id)? {
        return Err(BudgetError::OutOfStep(
            "the locked root's available money moved",
        ));
    }
    Ok(Refill::Done)
}

#[derive(QueryableByName)]
struct ShardRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = BigInt)]
    available_cents: i64,
}

/// Moves every shard's available money back into the root (the shards collapse into one row),
/// locking the shards in order of id. Returns the cents moved. The root must be locked.
pub fn gather(conn: &mut DbConnection, actor_id: Option<&str>) -> Result<i64, BudgetError> {
    let lock = store::for_update(conn);
    let shards: Vec<ShardRow> = diesel::sql_query(format!(
        "SELECT id, available_cents FROM budget_pools \
         WHERE id <> $1 AND available_cents > 0 ORDER BY id{lock}"
    ))
    .bind::<Text, _>(POOL)
    .load(conn)?;
    let mut moved = 0_i64;
    for shard in shards {
        if !store::transfer(conn, &shard.id, POOL, shard.available_cents, 0, actor_id)? {
            return Err(BudgetError::OutOfStep(
                "a locked shard's available money moved",
            ));
        }
        moved = moved.saturating_add(shard.available_cents);
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_shard_is_the_root_alone() {
        assert_eq!(Sharding::ONE.shard_for("sme-1"), None);
        assert_eq!(Sharding::new(0), Sharding::ONE);
    }

    #[test]
    fn smes_spread_over_every_shard_and_always_hash_alike() {
        let sharding = Sharding::new(16);
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..2_000 {
            let id = uuid::Uuid::from_u128(i).to_string();
            let shard = sharding.shard_for(&id).unwrap();
            assert_eq!(sharding.shard_for(&id).unwrap(), shard);
            seen.insert(shard);
        }
        assert_eq!(seen.len(), 16, "{seen:?}");
        assert!(seen.contains("programme/00") && seen.contains("programme/15"));
        assert_eq!(Sharding::new(1_000).shards(), MAX_SHARDS);
    }

    #[test]
    fn the_floor_grows_with_the_shards_and_the_largest_subsidy() {
        let largest = Money::from_cents(5_000_000).unwrap();
        assert_eq!(
            Sharding::new(16).floor(largest),
            5_000_000 * 16 * FLOOR_MARGIN
        );
        assert_eq!(Sharding::ONE.floor(largest), 5_000_000 * FLOOR_MARGIN);
    }
}
