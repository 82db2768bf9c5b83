//! Risk flags: signals of possible fraud for admins to review. The journey raises them where
//! the programme's rules name a pattern (a reused payment reference, for one).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::applications::model::ApplicationRow;
use crate::audit::{self, NewEvent};
use crate::auth::{AdminUser, AuthUser, RequestMeta};
use crate::db::schema::risk_flags;
use crate::db::{Db, DbConnection};
use crate::error::ApiError;
use crate::error::responses;
use crate::pagination::{self, Page};
use crate::text_enum::text_enum;
use actix_web::{HttpResponse, get, web};

text_enum! {
    /// Where a risk flag stands: awaiting review, dismissed, or confirmed.
    pub enum FlagStatus {
        Open => "open",
        Dismissed => "dismissed",
        Confirmed => "confirmed",
    }
}

crate::db::text_column!(FlagStatus);

/// A stored flag.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = risk_flags)]
pub struct RiskFlag {
    pub id: String,
    /// What pattern it is, e.g. `payment_reference_reuse`.
    pub kind: String,
    pub status: FlagStatus,
    pub application_id: Option<String>,
    pub vendor_id: Option<String>,
    pub sme_id: Option<String>,
    pub detail: String,
    #[schema(value_type = String)]
    #[serde(serialize_with = "crate::time::serialize")]
    pub created_at: NaiveDateTime,
}

/// Flags that `row`'s SME tried a payment reference already used by application `other`.
pub fn flag_payment_reuse(
    conn: &mut DbConnection,
    meta: &RequestMeta,
    actor: &AuthUser,
    row: &ApplicationRow,
    other: &str,
) -> Result<(), ApiError> {
    let id = uuid::Uuid::new_v4().to_string();
    let detail = format!(
        "Application {} gave a payment reference already used by application {other}.",
        row.id
    );
    diesel::insert_into(risk_flags::table)
        .values((
            risk_flags::id.eq(&id),
            risk_flags::kind.eq("payment_reference_reuse"),
            risk_flags::status.eq(FlagStatus::Open),
            risk_flags::application_id.eq(&row.id),
            risk_flags::vendor_id.eq(&row.vendor_id),
            risk_flags::sme_id.eq(&row.sme_id),
            risk_flags::detail.eq(&detail),
            risk_flags::created_at.eq(crate::time::now()),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        meta,
        NewEvent::new("risk_flag.raised", "risk_flag", Some(&id))
            .by(&actor.user_id, actor.role)
            .after(serde_json::json!({"kind": "payment_reference_reuse", "application_id": row.id, "other_application_id": other})),
    )?;
    Ok(())
}

/// Which flags to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RiskQuery {
    /// One status; all when absent.
    #[param(value_type = Option<FlagStatus>)]
    pub status: Option<String>,
    #[param(inline, value_type = Option<crate::pagination::PageCursor>)]
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(inline, value_type = Option<crate::pagination::PageLimit>)]
    pub limit: Option<i64>,
}

/// Risk flags, newest first.
#[utoipa::path(
    tag = "oversight",
    params(RiskQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of flags.", body = Page<RiskFlag>),
        (status = 422, response = responses::ValidationFailed),
    )
)]
#[get("/api/v1/admin/risk-flags")]
pub async fn list_risk_flags(
    db: web::Data<Db>,
    _admin: AdminUser,
    query: web::Query<RiskQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let limit = pagination::limit(query.limit)?;
    let status = pagination::status_filter::<FlagStatus>(query.status.as_deref())?;
    let after = pagination::decode_time_cursor(query.cursor.as_deref())?;
    let page: Page<RiskFlag> = db
        .run(move |conn| {
            let mut q = risk_flags::table.select(RiskFlag::as_select()).into_boxed();
            if let Some(s) = status {
                q = q.filter(risk_flags::status.eq(s));
            }
            if let Some((at, id)) = after {
                q = q.filter(
                    risk_flags::created_at
                        .lt(at)
                        .or(risk_flags::created_at.eq(at).and(risk_flags::id.lt(id))),
                );
            }
            let rows = q
                .order((risk_flags::created_at.desc(), risk_flags::id.desc()))
                .limit(limit + 1)
                .load(conn)?;
            Ok(pagination::page(
                rows,
                limit,
                |r: &RiskFlag| pagination::time_key(r.created_at, &r.id),
                |r| r,
            ))
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}
