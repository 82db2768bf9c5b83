//! Carrying out a review-workflow step: the one function every status change goes through. It
//! checks the step against the state machine, moves the package and revision, appends the
//! review history and the audit event, and emails the vendor, in the caller's transaction.

use super::model::{Package, PackageRow};
use super::store::{self, NewState, ReviewEntry};
use super::workflow::{Action, PackageStatus, RevisionStatus, State, apply};
use crate::audit::{self, NewEvent};
use crate::auth::{AuthUser, RequestMeta};
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::mail::templates;
use crate::outbox;

/// The machine's view of a stored package.
pub fn state_of(conn: &mut DbConnection, row: &PackageRow) -> Result<State, ApiError> {
    let (revision, _) = store::revision(conn, &row.current_revision_id)?;
    Ok(State {
        package: row.status(),
        revision: revision.status(),
        current_is_live: row.live_revision_id.as_deref() == Some(row.current_revision_id.as_str()),
        has_live: row.live_revision_id.is_some(),
    })
}

/// Performs `action` (not an edit) on package `row` for `actor`, with an optional comment to
/// the vendor. 409 when the state machine does not allow it; 422 when a comment is required
/// and missing.
pub fn perform(
    conn: &mut DbConnection,
    meta: &RequestMeta,
    actor: &AuthUser,
    row: &PackageRow,
    action: Action,
    comment: Option<&str>,
) -> Result<Package, ApiError> {
    if action.needs_comment() && comment.is_none() {
        return Err(ApiError::invalid(
            "comment",
            format!("is required to {}", action.as_str().replace('_', " ")),
        ));
    }
    let state = state_of(conn, row)?;
    let outcome = apply(state, action).map_err(ApiError::Conflict)?;
    let before = store::view(conn, row)?;
    let now = crate::time::now();

    let current = row.current_revision_id.as_str();
    let mut live = row.live_revision_id.as_deref();
    let mut next_current = current;
    let mut listed_at = row.listed_at;
    if outcome.goes_live {
        if let Some(old) = live.filter(|old| *old != current) {
            store::set_revision_status(conn, old, RevisionStatus::Superseded)?;
        }
        live = Some(current);
        listed_at = listed_at.or(Some(now));
    }
    if outcome.back_to_live {
        next_current = live.unwrap_or(current);
    }
    if outcome.revision != state.revision {
        store::set_revision_status(conn, current, outcome.revision)?;
    }
    let moved = store::set_state(
        conn,
        row,
        NewState {
            status: outcome.package,
            live_revision_id: live,
            current_revision_id: next_current,
            listed_at,
        },
    )?;
    if !moved {
        return Err(ApiError::Conflict(
            "The package changed meanwhile; reload it and retry.".to_owned(),
        ));
    }
    if outcome.goes_live {
        crate::catalogue::search::reindex(conn, &row.id)?;
    }
    if state.package == PackageStatus::Suspended && outcome.package != PackageStatus::Suspended {
        // Its waiting applications were passed over while it was suspended.
        crate::applications::waitlist::promote(conn, meta)?;
    }
    store::record_review(
        conn,
        ReviewEntry {
            package_id: &row.id,
            revision_id: current,
            actor_id: &actor.user_id,
            actor_role: actor.role,
            action: action.as_str(),
            comment,
            from: state.package,
            to: outcome.package,
        },
    )?;
    let after_row = store::find(conn, &row.id)?;
    let after = store::view(conn, &after_row)?;
    audit::record(
        conn,
        meta,
        NewEvent::new(
            &format!("package.{}", action.as_str()),
            "package",
            Some(&row.id),
        )
        .by(&actor.user_id, actor.role)
        .before(&before)
        .after(&after),
    )?;
    let (vendor, email) = crate::vendors::store::find_with_email(conn, &row.vendor_id)?;
    outbox::enqueue(
        conn,
        templates::package_status(
            &email,
            &vendor.company_name_en,
            &before.revision.name_en,
            action.as_str(),
            after.status.as_str(),
            comment,
        ),
    )?;
    Ok(after)
}
