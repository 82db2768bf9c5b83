//! The waitlist: applications the budget (or their batch's quota) could not fund in full when
//! they applied, promoted first come first served whenever money is released, in the releasing
//! transaction.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Text, Timestamp};

use super::store::{Movement, Reservation, reserve};
use crate::applications::model::{ApplicationRow, Changes};
use crate::applications::transitions::{Actor, perform};
use crate::applications::workflow::Action;
use crate::auth::RequestMeta;
use crate::db::schema::applications;
use crate::db::{Backend, DbConnection};
use crate::error::ApiError;

/// How many waiting applications are locked and tried at a time.
const CHUNK: i64 = 50;

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
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let ids: Vec<Id> = diesel::sql_query(format!(
        "SELECT id FROM applications WHERE status = 'waitlisted' \
         AND (queued_at > $1 OR (queued_at = $1 AND id > $2)) \
         ORDER BY queued_at, id LIMIT {CHUNK}{lock}"
    ))
    .bind::<Timestamp, _>(after.0)
    .bind::<Text, _>(&after.1)
    .load(conn)?;
    let ids: Vec<String> = ids.into_iter().map(|i| i.id).collect();
    applications::table
        .filter(applications::id.eq_any(&ids))
        .order((applications::queued_at, applications::id))
        .select(ApplicationRow::as_select())
        .load(conn)
}

/// Promotes waiting applications in queue order while the budget can fund the next one; one
/// blocked only by its own batch's quota is passed over. Returns the ids promoted.
pub fn promote(conn: &mut DbConnection, meta: &RequestMeta) -> Result<Vec<String>, ApiError> {
    let mut promoted = Vec::new();
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
                amount_cents: app.subsidy_cents,
                actor_id: None,
            };
            match reserve(conn, movement)? {
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
