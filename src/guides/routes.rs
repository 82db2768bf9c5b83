//! `GET /guides`, `GET /guides/{slug}` (public), and the admin's `POST /admin/guides`,
//! `GET` and `PATCH /admin/guides/{slug}`.

use actix_web::{HttpResponse, get, patch, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::model::{AdminGuide, FORM_BODY_LIMIT, Guide, GuideForm};
use super::store::{self, Content, Filter};
use crate::audit::{self, NewEvent};
use crate::auth::{AdminUser, RequestMeta};
use crate::catalogue::search::Query;
use crate::db::{Db, DbConnection};
use crate::error::{ApiError, responses};
use crate::extract::ValidJson;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_guides)
        .service(get_guide)
        .service(create_guide)
        .service(admin_guide)
        .service(update_guide);
}

/// Which guides to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GuideQuery {
    /// Search text, in English or Chinese; every word must match (the last may be a prefix).
    #[param(max_length = 200, example = "收銀")]
    pub q: Option<String>,
    /// Only guides tagged with this category code.
    #[param(example = "e_payment_pos")]
    pub category: Option<String>,
    /// Only guides tagged with this sector code.
    #[param(example = "food_and_beverage")]
    pub sector: Option<String>,
}

/// A listing of guides.
#[derive(Debug, Serialize, ToSchema)]
pub struct GuideList {
    /// By relevance when searching, otherwise newest first; at most 100.
    pub items: Vec<Guide>,
}

fn filter_of(conn: &mut DbConnection, q: GuideQuery) -> Result<Filter, ApiError> {
    let query =
        q.q.as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(Query::parse_input)
            .transpose()?;
    if let Some(code) = &q.category
        && crate::programme::store::category_active(conn, code)?.is_none()
    {
        return Err(ApiError::invalid("category", "is not a category code"));
    }
    if let Some(code) = &q.sector
        && crate::programme::store::sector_active(conn, code)?.is_none()
    {
        return Err(ApiError::invalid("sector", "is not a sector code"));
    }
    Ok(Filter {
        query,
        category: q.category,
        sector: q.sector,
    })
}

/// Guidance articles, searchable in English and Chinese, by category and sector.
#[utoipa::path(
    tag = "guides",
    params(GuideQuery),
    responses(
        (status = 200, description = "The guides.", body = GuideList),
        (status = 422, response = responses::ValidationFailed),
    )
)]
#[get("/api/v1/guides")]
pub async fn list_guides(
    db: web::Data<Db>,
    query: web::Query<GuideQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let items = db
        .run(move |conn| {
            let filter = filter_of(conn, query)?;
            let rows = store::list(conn, &filter)?;
            Ok(store::views(conn, rows)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(GuideList { items }))
}

fn not_found() -> ApiError {
    ApiError::NotFound("No guide has this slug.".to_owned())
}

/// One guide.
#[utoipa::path(
    tag = "guides",
    params(("slug" = String, Path, description = "The guide's slug.")),
    responses(
        (status = 200, description = "The guide.", body = Guide),
        (status = 404, response = responses::NotFound),
    )
)]
#[get("/api/v1/guides/{slug}")]
pub async fn get_guide(
    db: web::Data<Db>,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let slug = slug.into_inner();
    let guide = db
        .run(move |conn| {
            let row = store::find(conn, &slug)?.ok_or_else(not_found)?;
            Ok(store::views(conn, vec![row])?.remove(0))
        })
        .await?;
    Ok(HttpResponse::Ok().json(guide))
}

/// Publish a guide: its Markdown is rendered to sanitised HTML.
#[utoipa::path(
    tag = "guides",
    request_body = GuideForm,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Published.", body = AdminGuide),
        (status = 409, response = responses::Conflict),
        (status = 422, response = responses::ValidationFailed),
    )
)]
#[post("/api/v1/admin/guides")]
pub async fn create_guide(
    db: web::Data<Db>,
    admin: AdminUser,
    meta: RequestMeta,
    body: ValidJson<GuideForm, FORM_BODY_LIMIT>,
) -> Result<HttpResponse, ApiError> {
    let form = body.into_inner();
    let guide = db
        .write(move |tx| {
            if store::find(tx, &form.slug)?.is_some() {
                return Err(ApiError::Conflict(format!(
                    "A guide already has the slug {:?}.",
                    form.slug
                )));
            }
            let content = Content::of(&form);
            store::save(
                tx,
                &form.slug,
                &content,
                store::Write::New {
                    author_id: Some(&admin.0.user_id),
                },
            )?;
            let row = store::find(tx, &form.slug)?.ok_or_else(not_found)?;
            let view = store::admin_view(tx, row)?;
            audit::record(
                tx,
                &meta,
                NewEvent::new("guide.published", "guide", Some(&form.slug))
                    .by(&admin.0.user_id, admin.0.role)
                    .after(&view),
            )?;
            Ok(view)
        })
        .await?;
    Ok(HttpResponse::Created().json(guide))
}

/// One guide with the Markdown it was written in, for editing.
#[utoipa::path(
    tag = "guides",
    params(("slug" = String, Path, description = "The guide's slug.")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The guide.", body = AdminGuide),
        (status = 404, response = responses::NotFound),
    )
)]
#[get("/api/v1/admin/guides/{slug}")]
pub async fn admin_guide(
    db: web::Data<Db>,
    _admin: AdminUser,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let slug = slug.into_inner();
    let guide = db
        .run(move |conn| {
            let row = store::find(conn, &slug)?.ok_or_else(not_found)?;
            Ok(store::admin_view(conn, row)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(guide))
}

/// Edit a guide: the whole form, as for publishing, replaces the stored one (its slug must be
/// the guide's own), and the HTML is rendered again.
#[utoipa::path(
    tag = "guides",
    params(("slug" = String, Path, description = "The guide's slug.")),
    request_body = GuideForm,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated.", body = AdminGuide),
        (status = 404, response = responses::NotFound),
        (status = 422, response = responses::ValidationFailed),
    )
)]
#[patch("/api/v1/admin/guides/{slug}")]
pub async fn update_guide(
    db: web::Data<Db>,
    admin: AdminUser,
    meta: RequestMeta,
    slug: web::Path<String>,
    body: ValidJson<GuideForm, FORM_BODY_LIMIT>,
) -> Result<HttpResponse, ApiError> {
    let slug = slug.into_inner();
    let form = body.into_inner();
    let guide = db
        .write(move |tx| {
            let row = store::find(tx, &slug)?.ok_or_else(not_found)?;
            if form.slug != slug {
                return Err(ApiError::invalid(
                    "slug",
                    format!("must be {slug:?}, the guide's own: a guide's slug does not change"),
                ));
            }
            let before = store::admin_view(tx, row)?;
            let content = Content::of(&form);
            store::save(tx, &slug, &content, store::Write::Existing)?;
            let row = store::find(tx, &slug)?.ok_or_else(not_found)?;
            let view = store::admin_view(tx, row)?;
            audit::record(
                tx,
                &meta,
                NewEvent::new("guide.updated", "guide", Some(&slug))
                    .by(&admin.0.user_id, admin.0.role)
                    .before(&before)
                    .after(&view),
            )?;
            Ok(view)
        })
        .await?;
    Ok(HttpResponse::Ok().json(guide))
}
