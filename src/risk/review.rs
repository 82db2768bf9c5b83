//! Reviewing flags (dismiss or confirm, with maker-checker), conflicts of interest, and the
//! risk hold on an application's money. Each decision is audited.

use diesel::prelude::*;

use crate::applications::store as applications_store;
use crate::applications::transitions::{Actor, perform};
use crate::applications::workflow::{Action, Status};
use crate::audit::{self, NewEvent};
use crate::auth::{AuthUser, RequestMeta};
use crate::db::DbConnection;
use crate::db::schema::{admin_conflicts, applications, risk_flag_applications, risk_flags};
use crate::error::ApiError;

/// 409 `risk-hold` while application `id` has an open medium or high flag, naming the flags.
pub fn refuse_if_held(conn: &mut DbConnection, id: &str) -> Result<(), ApiError> {
    let flags = super::store::holds(conn, id)?;
    if flags.is_empty() {
        return Ok(());
    }
    Err(ApiError::ConflictOf {
        slug: "risk-hold",
        detail: format!(
            "The application's money is on hold while risk flags {} are open; an admin must \
             review them first.",
            flags.join(", ")
        ),
    })
}

/// 403 `conflict-of-interest` when `admin` declared a conflict with vendor `vendor_id`.
pub fn refuse_if_conflicted(
    conn: &mut DbConnection,
    admin_id: &str,
    vendor_id: &str,
) -> Result<(), ApiError> {
    let declared: i64 = admin_conflicts::table
        .filter(admin_conflicts::admin_id.eq(admin_id))
        .filter(admin_conflicts::vendor_id.eq(vendor_id))
        .count()
        .get_result(conn)?;
    if declared > 0 {
        return Err(ApiError::ForbiddenOf {
            slug: "conflict-of-interest",
            detail: "You declared a conflict of interest with this vendor; another admin must \
                     act on its applications and packages."
                .to_owned(),
        });
    }
    Ok(())
}

/// A flag's applications.
pub fn application_ids(conn: &mut DbConnection, flag_id: &str) -> QueryResult<Vec<String>> {
    risk_flag_applications::table
        .filter(risk_flag_applications::flag_id.eq(flag_id))
        .select(risk_flag_applications::application_id)
        .order(risk_flag_applications::application_id)
        .load(conn)
}

/// Checks that flag `id` is open, for a decision (404 when there is no such flag).
fn open_flag(conn: &mut DbConnection, id: &str) -> Result<(), ApiError> {
    let status: String = risk_flags::table
        .find(id)
        .select(risk_flags::status)
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::NotFound("No such risk flag.".to_owned()))?;
    if status != "open" {
        return Err(ApiError::Conflict(format!(
            "The flag is already {status}; only an open flag can be reviewed."
        )));
    }
    Ok(())
}

fn resolve(
    conn: &mut DbConnection,
    meta: &RequestMeta,
    admin: &AuthUser,
    id: &str,
    to: &str,
    comment: &str,
) -> Result<(), ApiError> {
    let now = crate::time::now();
    let moved = diesel::update(
        risk_flags::table
            .find(id)
            .filter(risk_flags::status.eq("open")),
    )
    .set((
        risk_flags::status.eq(to),
        risk_flags::resolved_by.eq(&admin.user_id),
        risk_flags::resolved_at.eq(now),
        risk_flags::resolution_comment.eq(comment),
        risk_flags::updated_at.eq(now),
    ))
    .execute(conn)?;
    if moved != 1 {
        return Err(ApiError::Conflict(
            "The flag changed meanwhile; reload it.".to_owned(),
        ));
    }
    audit::record(
        conn,
        meta,
        NewEvent::new(&format!("risk_flag.{to}"), "risk_flag", Some(id))
            .by(&admin.user_id, admin.role)
            .before(serde_json::json!({"status": "open"}))
            .after(serde_json::json!({"status": to, "comment": comment})),
    )?;
    Ok(())
}

/// Dismisses an open flag. An admin may not dismiss a flag on an application they approved or
/// verified (403 `separation-of-duties`).
pub fn dismiss(
    conn: &mut DbConnection,
    meta: &RequestMeta,
    admin: &AuthUser,
    id: &str,
    comment: &str,
) -> Result<(), ApiError> {
    open_flag(conn, id)?;
    let apps = application_ids(conn, id)?;
    let own: i64 = applications::table
        .filter(applications::id.eq_any(&apps))
        .filter(
            applications::approved_by
                .eq(&admin.user_id)
                .or(applications::verified_by.eq(&admin.user_id)),
        )
        .count()
        .get_result(conn)?;
    if own > 0 {
        return Err(ApiError::ForbiddenOf {
            slug: "separation-of-duties",
            detail: "You approved or verified an application this flag concerns; another admin \
                     must dismiss it."
                .to_owned(),
        });
    }
    resolve(conn, meta, admin, id, "dismissed", comment)
}

/// Confirms an open flag: each application it concerns that still holds money is rejected
/// (its money released and the waitlist promoted); one already disbursed is marked for
/// recovery instead. Applications already closed are left as they are.
pub fn confirm(
    conn: &mut DbConnection,
    meta: &RequestMeta,
    admin: &AuthUser,
    id: &str,
    comment: &str,
) -> Result<(), ApiError> {
    open_flag(conn, id)?;
    resolve(conn, meta, admin, id, "confirmed", comment)?;
    let now = crate::time::now();
    for app in application_ids(conn, id)? {
        let row = applications_store::find(conn, &app)?;
        match row.status() {
            Status::Disbursed => {
                use crate::db::schema::application_recoveries as r;
                let marked: i64 = r::table
                    .filter(r::application_id.eq(&app))
                    .count()
                    .get_result(conn)?;
                if marked == 0 {
                    diesel::insert_into(r::table)
                        .values((
                            r::application_id.eq(&app),
                            r::flag_id.eq(id),
                            r::amount_cents.eq(row.subsidy_cents.cents()),
                            r::marked_by.eq(&admin.user_id),
                            r::marked_at.eq(now),
                        ))
                        .execute(conn)?;
                    audit::record(
                        conn,
                        meta,
                        NewEvent::new("application.recovery_due", "application", Some(&app))
                            .by(&admin.user_id, admin.role)
                            .after(serde_json::json!({"risk_flag_id": id, "amount": row.subsidy_cents})),
                    )?;
                }
            }
            s if Status::RELEASED.contains(&s) => {}
            _ => {
                let changes = crate::applications::model::Changes {
                    last_comment: Some(format!("Rejected on a confirmed risk flag: {comment}")),
                    ..Default::default()
                };
                perform(
                    conn,
                    meta,
                    Actor::User(admin),
                    &row,
                    Action::Reject,
                    changes,
                )?;
            }
        }
    }
    Ok(())
}

/// Declares `admin`'s conflict of interest with a vendor (409 when already declared).
pub fn declare_conflict(
    conn: &mut DbConnection,
    meta: &RequestMeta,
    admin: &AuthUser,
    vendor_id: &str,
    reason: &str,
) -> Result<String, ApiError> {
    use crate::db::schema::vendors;
    let exists: i64 = vendors::table
        .filter(vendors::id.eq(vendor_id))
        .count()
        .get_result(conn)?;
    if exists == 0 {
        return Err(ApiError::invalid("vendor_id", "is not a vendor"));
    }
    let already: i64 = admin_conflicts::table
        .filter(admin_conflicts::admin_id.eq(&admin.user_id))
        .filter(admin_conflicts::vendor_id.eq(vendor_id))
        .count()
        .get_result(conn)?;
    if already > 0 {
        return Err(ApiError::Conflict(
            "You already declared a conflict of interest with this vendor.".to_owned(),
        ));
    }
    let id = uuid::Uuid::new_v4().to_string();
    diesel::insert_into(admin_conflicts::table)
        .values((
            admin_conflicts::id.eq(&id),
            admin_conflicts::admin_id.eq(&admin.user_id),
            admin_conflicts::vendor_id.eq(vendor_id),
            admin_conflicts::reason.eq(reason),
            admin_conflicts::declared_at.eq(crate::time::now()),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        meta,
        NewEvent::new("admin.conflict_declared", "vendor", Some(vendor_id))
            .by(&admin.user_id, admin.role)
            .after(serde_json::json!({"reason": reason})),
    )?;
    Ok(id)
}
