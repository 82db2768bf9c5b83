//! Oversight endpoints (admin only).

use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::audit::{self, AuditEvent};
use crate::auth::AdminUser;
use crate::db::Db;
use crate::error::ApiError;
use crate::error::responses;
use crate::outbox::{self, OutboxEntry};
use crate::pagination::{self, Page};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_audit_events).service(list_outbox);
}

/// Filters and position for the audit trail.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only events about this kind of entity, e.g. `vendor`.
    pub entity_type: Option<String>,
    /// Only events about this entity.
    pub entity_id: Option<String>,
    /// Only events by this user.
    pub actor_id: Option<String>,
    /// Only this action, e.g. `auth.refresh_token_reused`.
    pub action: Option<String>,
    /// From a previous page's `next_cursor`.
    #[param(inline, value_type = Option<crate::pagination::PageCursor>)]
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(inline, value_type = Option<crate::pagination::PageLimit>)]
    pub limit: Option<i64>,
}

/// The audit trail, newest first.
#[utoipa::path(
    tag = "oversight",
    params(AuditQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of events.", body = Page<AuditEvent>),
        (status = 422, response = responses::ValidationFailed),
    )
)]
#[get("/api/v1/admin/audit-events")]
pub async fn list_audit_events(
    db: web::Data<Db>,
    _admin: AdminUser,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let limit = pagination::limit(query.limit)?;
    let before_id = match &query.cursor {
        Some(cursor) => Some(
            pagination::decode_cursor(cursor)?
                .parse::<i64>()
                .map_err(|_| ApiError::invalid("cursor", "is not a cursor this API issued"))?,
        ),
        None => None,
    };
    let filter = audit::Filter {
        entity_type: query.entity_type,
        entity_id: query.entity_id,
        actor_id: query.actor_id,
        action: query.action,
    };
    let rows = db
        .run(move |conn| Ok(audit::list(conn, &filter, before_id, limit + 1)?))
        .await?;
    let page = pagination::page(rows, limit, |row| row.id.to_string(), AuditEvent::from);
    Ok(HttpResponse::Ok().json(page))
}

/// Filters and position for the outbox.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutboxQuery {
    /// One status; all when absent.
    #[param(value_type = Option<crate::outbox::OutboxStatus>)]
    pub status: Option<String>,
    /// From a previous page's `next_cursor`.
    #[param(inline, value_type = Option<crate::pagination::PageCursor>)]
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(inline, value_type = Option<crate::pagination::PageLimit>)]
    pub limit: Option<i64>,
}

/// The email outbox, newest first: what is waiting, what was sent, and what was given up on.
#[utoipa::path(
    tag = "oversight",
    params(OutboxQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of outbox rows.", body = Page<OutboxEntry>),
        (status = 422, response = responses::ValidationFailed),
    )
)]
#[get("/api/v1/admin/outbox")]
pub async fn list_outbox(
    db: web::Data<Db>,
    _admin: AdminUser,
    query: web::Query<OutboxQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let limit = pagination::limit(query.limit)?;
    let status = pagination::status_filter::<outbox::OutboxStatus>(query.status.as_deref())?;
    let after = pagination::decode_time_cursor(query.cursor.as_deref())?;
    let rows = db
        .run(move |conn| Ok(outbox::list(conn, status, after, limit + 1)?))
        .await?;
    let page = pagination::page(
        rows,
        limit,
        |row| pagination::time_key(row.created_at, &row.id),
        |row| row,
    );
    Ok(HttpResponse::Ok().json(page))
}
