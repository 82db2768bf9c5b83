//! Public catalogue endpoints (no authentication). Responses carry an `ETag` and
//! `Cache-Control: public, max-age=30`; `If-None-Match` with the current tag answers 304.

use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use super::cache::CatalogueCache;
use super::items::item;
use super::model::{CataloguePackage, CataloguePage, CategoryCount, QuoteResponse};
use super::query::{
    CatalogueQuery, Order, cursor_key, known_code, parse_cursor, parse_money, parse_order,
    parse_relevance_cursor, relevance_key,
};
use super::response::{cached, to_json};
use super::search::Query;
use super::store::{self, Filters, Position, Row, Sort};
use crate::db::Db;
use crate::error::ApiError;
use crate::error::responses;
use crate::money::Money;
use crate::packages::model::{Component, PackageOption};
use crate::pagination;
use crate::programme::quoting::{self, Ask};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_categories)
        .service(list_packages)
        .service(get_package)
        .service(quote_package);
}

/// Solution categories with the number of packages listed in each.
#[utoipa::path(
    tag = "catalogue",
    responses(
        (status = 200, description = "Active categories, in display order.", body = Vec<CategoryCount>,
         headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 304, description = "Not modified since the ETag given in If-None-Match."),
    )
)]
#[get("/api/v1/catalogue/categories")]
pub async fn list_categories(
    req: HttpRequest,
    db: web::Data<Db>,
    cache: web::Data<CatalogueCache>,
) -> Result<HttpResponse, ApiError> {
    cached(&req, &cache, || categories_body(db)).await
}

async fn categories_body(db: web::Data<Db>) -> Result<Vec<u8>, ApiError> {
    let counts = db.run(|conn| Ok(store::category_counts(conn)?)).await?;
    let body: Vec<CategoryCount> = counts
        .into_iter()
        .map(|(code, name_en, name_zh, package_count)| CategoryCount {
            code,
            name_en,
            name_zh,
            package_count,
        })
        .collect();
    to_json(&body)
}

/// Browse the catalogue: listed packages of approved vendors, each with the eligible cost of
/// its basic package, the most the programme funds of it, and what the SME pays. Facet counts
/// honour the other filters in force.
#[utoipa::path(
    operation_id = "catalogue_list_packages",
    tag = "catalogue",
    params(CatalogueQuery),
    responses(
        (status = 200, description = "One page of packages, with facets.", body = CataloguePage,
         headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 304, description = "Not modified since the ETag given in If-None-Match."),
        (status = 422, response = responses::ValidationFailed),
    )
)]
#[get("/api/v1/catalogue/packages")]
pub async fn list_packages(
    req: HttpRequest,
    db: web::Data<Db>,
    cache: web::Data<CatalogueCache>,
    query: web::Query<CatalogueQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let search = query.q.as_deref().map(Query::parse_input).transpose()?;
    let order = parse_order(query.sort.as_deref(), search.is_some())?;
    let limit =
        match &query.limit {
            Some(v) => pagination::limit(Some(v.parse::<i64>().map_err(|_| {
                ApiError::invalid("limit", "must be a whole number from 1 to 100")
            })?))?,
            None => pagination::limit(None)?,
        };
    let mut filters = Filters {
        category: query.category,
        sector: query.sector,
        vendor_id: query.vendor_id,
        min_price: parse_money("min_price", query.min_price.as_deref())?,
        max_price: parse_money("max_price", query.max_price.as_deref())?,
        search: None,
        ids: None,
    };
    if let (Some(min), Some(max)) = (filters.min_price, filters.max_price)
        && min > max
    {
        return Err(ApiError::invalid(
            "min_price",
            "must not be more than max_price",
        ));
    }
    enum After {
        Column(Position),
        Relevance(f64, String),
    }
    let after = match (&query.cursor, order) {
        (None, _) => None,
        (Some(c), Order::By(sort)) => Some(After::Column(parse_cursor(sort, c)?)),
        (Some(c), Order::Relevance) => {
            let (score, id) = parse_relevance_cursor(c)?;
            Some(After::Relevance(score, id))
        }
    };
    let memo = cache.clone();
    let compute = move || async move {
        let page = db
            .run(move |conn| {
                if let Some(code) = &filters.category {
                    known_code(
                        crate::programme::store::category_active(conn, code)?,
                        "category",
                        "category",
                    )?;
                }
                if let Some(code) = &filters.sector {
                    known_code(
                        crate::programme::store::sector_active(conn, code)?,
                        "sector",
                        "sector",
                    )?;
                }
                filters.search = search.clone().map(|q| (conn.backend(), q));
                let rules = memo.rules(conn)?;
                let (rows, next_cursor, facets) = match (order, &search) {
                    (Order::Relevance, Some(_)) => {
                        let after = match after {
                            Some(After::Relevance(score, id)) => Some((score, id)),
                            _ => None,
                        };
                        let size = usize::try_from(limit + 1).unwrap_or(usize::MAX);
                        let (ranked, facets) = store::search_page(conn, &filters, after, size)?;
                        let window = Filters {
                            ids: Some(ranked.iter().map(|(id, _)| id.clone()).collect()),
                            ..Filters::default()
                        };
                        let mut rows = store::page(conn, &window, Sort::Newest, None, limit + 1)?;
                        // In ranked order, each row with its score.
                        let keyed: Vec<(f64, Row)> = ranked
                            .iter()
                            .filter_map(|(id, score)| {
                                let at = rows.iter().position(|row| row.0.id == *id)?;
                                Some((*score, rows.swap_remove(at)))
                            })
                            .collect();
                        let page = pagination::page(
                            keyed,
                            limit,
                            |(score, row)| relevance_key(*score, &row.0.id),
                            |(_, row)| row,
                        );
                        (page.items, page.next_cursor, facets)
                    }
                    _ => {
                        let sort = match order {
                            Order::By(sort) => sort,
                            Order::Relevance => Sort::Newest,
                        };
                        let position = match after {
                            Some(After::Column(position)) => Some(position),
                            _ => None,
                        };
                        let facets = store::facets(conn, &filters)?;
                        let rows = store::page(conn, &filters, sort, position, limit + 1)?;
                        let page =
                            pagination::page(rows, limit, |row| cursor_key(sort, row), |row| row);
                        (page.items, page.next_cursor, facets)
                    }
                };
                let items = rows
                    .iter()
                    .map(|row| item(row, &rules))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(CataloguePage {
                    items,
                    next_cursor,
                    facets,
                })
            })
            .await?;
        to_json(&page)
    };
    cached(&req, &cache, compute).await
}

/// One listed package in full, with its components and add-ons.
#[utoipa::path(
    operation_id = "catalogue_get_package",
    tag = "catalogue",
    params(("id" = String, Path, description = "The package's id.")),
    responses(
        (status = 200, description = "The package.", body = CataloguePackage,
         headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 304, description = "Not modified since the ETag given in If-None-Match."),
        (status = 404, response = responses::NotFound),
    )
)]
#[get("/api/v1/catalogue/packages/{id}")]
pub async fn get_package(
    req: HttpRequest,
    db: web::Data<Db>,
    cache: web::Data<CatalogueCache>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let memo = cache.clone();
    let compute = move || async move {
        let package = db
            .run(move |conn| {
                let (row, options) = store::find(conn, &id)?;
                let rules = memo.rules(conn)?;
                let revision = &row.1;
                Ok(CataloguePackage {
                    item: item(&row, &rules)?,
                    components: serde_json::from_str::<Vec<Component>>(&revision.components_json)
                        .unwrap_or_default(),
                    options: options
                        .iter()
                        .map(|o| PackageOption {
                            id: o.id.clone(),
                            name_en: o.name_en.clone(),
                            name_zh: o.name_zh.clone(),
                            price: o.price_cents,
                        })
                        .collect(),
                    deployment_days: u32::try_from(revision.deployment_days).unwrap_or(0),
                    revision_id: revision.id.clone(),
                    revision_number: revision.number,
                })
            })
            .await?;
        to_json(&package)
    };
    cached(&req, &cache, compute).await
}

/// The add-ons and term to quote.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct QuoteQuery {
    /// Comma-separated add-on ids from the package.
    pub options: Option<String>,
    /// For a subscription: the term in months (the minimum term by default).
    #[param(pattern = "^[0-9]+$")]
    pub term_months: Option<String>,
}

/// Quote a package with chosen add-ons and term: the eligible cost, the subsidy under the
/// programme's rules and the SME's cap, and what the SME pays. Anonymous callers get the full
/// per-SME cap; with an SME's own bearer token, the subsidy its live applications already hold
/// (waitlisted ones included) comes off the cap first.
#[utoipa::path(
    tag = "catalogue",
    params(("id" = String, Path, description = "The package's id."), QuoteQuery),
    responses(
        (status = 200, description = "The quote.", body = QuoteResponse),
        (status = 404, response = responses::NotFound),
        (status = 422, response = responses::ValidationFailed),
    )
)]
#[get("/api/v1/catalogue/packages/{id}/quote")]
pub async fn quote_package(
    db: web::Data<Db>,
    id: web::Path<String>,
    query: web::Query<QuoteQuery>,
    sme: Option<crate::auth::SmeUser>,
) -> Result<HttpResponse, ApiError> {
    let (id, query) = (id.into_inner(), query.into_inner());
    let term = query
        .term_months
        .as_deref()
        .map(|t| {
            t.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| t.parse::<u32>().ok())
                .flatten()
                .ok_or_else(|| ApiError::invalid("term_months", "must be a whole number of months"))
        })
        .transpose()?;
    let wanted: Vec<String> = query
        .options
        .as_deref()
        .map(|o| {
            o.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let mut seen = std::collections::HashSet::new();
    if let Some(twice) = wanted.iter().find(|id| !seen.insert(id.as_str())) {
        return Err(ApiError::invalid(
            "options",
            format!("{twice} is chosen twice; each add-on is counted once"),
        ));
    }
    let response = db
        .run(move |conn| {
            let (row, options) = store::find(conn, &id)?;
            let rules = crate::programme::store::current_rules(conn)?;
            let mut add_ons = Vec::new();
            for wanted_id in &wanted {
                let option = options.iter().find(|o| o.id == *wanted_id).ok_or_else(|| {
                    ApiError::invalid(
                        "options",
                        format!("{wanted_id} is not an add-on of this package"),
                    )
                })?;
                add_ons.push(option.price_cents);
            }
            let pricing = row.1.pricing();
            let ask = Ask {
                pricing: &pricing,
                add_ons: &add_ons,
                term_months: term,
            };
            // An SME's own token: what its live applications already hold comes off its cap.
            let held = match &sme {
                Some(sme) => crate::smes::store::find_by_user(conn, &sme.0.user_id)?
                    .map_or(0, |s| s.subsidy_held_cents),
                None => 0,
            };
            let cap = quoting::remaining_cap(&rules, held)?;
            let q = quoting::quote(&ask, &rules, cap)?;
            Ok(QuoteResponse {
                eligible_cost: q.eligible_cost,
                subsidy: q.subsidy,
                sme_pays: q.sme_pays,
                remaining_cap_after: cap.checked_sub(q.subsidy).unwrap_or(Money::ZERO),
                months_counted: q.months_counted,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(response))
}
