//! `GET /admin/budget` and `GET /admin/budget/ledger`: the admins' view of the money.

use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::AdminUser;
use crate::budget::model::{BudgetView, LedgerEntry};
use crate::budget::store;
use crate::db::Db;
use crate::error::ApiError;
use crate::error::responses;
use crate::money::Money;
use crate::pagination::{self, Page};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(get_budget).service(list_ledger);
}

/// The budget's drawdown now: `available + reserved + committed + disbursed == total`, and the
/// waitlist.
#[utoipa::path(
    tag = "budget",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The balances.", body = BudgetView),
    )
)]
#[get("/api/v1/admin/budget")]
pub async fn get_budget(db: web::Data<Db>, _admin: AdminUser) -> Result<HttpResponse, ApiError> {
    let view = db
        .run(|conn| {
            let b = store::balances(conn)?;
            let (waitlisted_count, waitlisted_cents) = crate::applications::waitlist::totals(conn)?;
            let m = |c: i64| Money::from_cents(c).map_err(ApiError::internal);
            Ok(BudgetView {
                total: m(b.total_cents)?,
                available: m(b.available_cents)?,
                reserved: m(b.reserved_cents)?,
                committed: m(b.committed_cents)?,
                disbursed: m(b.disbursed_cents)?,
                waitlisted_count,
                waitlisted_amount: m(waitlisted_cents)?,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Where the ledger listing starts.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LedgerQuery {
    #[param(inline, value_type = Option<crate::pagination::PageCursor>)]
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(inline, value_type = Option<crate::pagination::PageLimit>)]
    pub limit: Option<i64>,
}

/// The append-only ledger of money movements, in number order (`seq`): entries are numbered
/// after they commit, each after every entry numbered before it, so paging forward never skips
/// an entry, even one that committed after the page before was read.
#[utoipa::path(
    tag = "budget",
    params(LedgerQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of entries.", body = Page<LedgerEntry>),
        (status = 422, response = responses::ValidationFailed),
    )
)]
#[get("/api/v1/admin/budget/ledger")]
pub async fn list_ledger(
    db: web::Data<Db>,
    _admin: AdminUser,
    query: web::Query<LedgerQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = pagination::limit(query.limit)?;
    let after = query
        .cursor
        .as_deref()
        .map(|c| {
            pagination::decode_cursor(c)?
                .strip_prefix("seq:")
                .and_then(|n| n.parse::<i64>().ok())
                .ok_or_else(|| ApiError::invalid("cursor", "is not a cursor of this listing"))
        })
        .transpose()?;
    // On PostgreSQL, numbering the entries committed since the last reader is a short write.
    let rows = if store::numbers_after_commit(db.backend()) {
        db.write(move |tx| {
            store::number_entries(tx)?;
            Ok(store::ledger(tx, after, limit)?)
        })
        .await?
    } else {
        db.run(move |conn| Ok(store::ledger(conn, after, limit)?))
            .await?
    };
    let page = pagination::page(rows, limit, |r| format!("seq:{}", r.seq), LedgerEntry::from);
    Ok(HttpResponse::Ok().json(page))
}
