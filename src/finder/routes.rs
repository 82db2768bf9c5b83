//! `POST /solution-finder`: the best subsidised bundles for an SME's needs and budget.

use actix_web::{HttpResponse, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use super::explain::{self, Facts, NeedName};
use super::optimise::{self, Candidate, Limits, MAX_NEEDS};
use super::store::{self, Offer, Prefer};
use crate::auth::SmeUser;
use crate::db::{Db, DbConnection};
use crate::error::{ApiError, responses};
use crate::extract::ValidJson;
use crate::guides::model::GuideLink;
use crate::money::Money;
use crate::programme::quoting;

/// The most bundles one answer holds.
pub const MAX_BUNDLES: usize = 5;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(find_solutions);
}

/// Which pricing to consider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PreferInput {
    OneOff,
    Subscription,
    Any,
}

/// The language of `explanation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    #[default]
    En,
    Zh,
}

/// The needs: one to eight category codes, the most important first.
fn needs_schema() -> utoipa::openapi::schema::Array {
    crate::validation::short_strings(
        1,
        MAX_NEEDS,
        serde_json::json!(["e_payment_pos", "crm_loyalty"]),
    )
}

/// `POST /solution-finder`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FinderRequest {
    /// The sector code. Required without an SME's token; with one, the SME's own sector applies
    /// and may be left out (another sector is refused).
    #[validate(length(min = 1, max = 64))]
    #[schema(example = "food_and_beverage", min_length = 1, max_length = 64)]
    pub sector: Option<String>,
    /// Category codes, the most important first, each once.
    #[validate(length(min = 1, max = 8))]
    #[schema(schema_with = needs_schema)]
    pub needs: Vec<String>,
    /// The most the SME will pay itself for the whole bundle.
    #[schema(example = "60000.00")]
    pub budget: Money,
    /// Which pricing to consider: `any` by default.
    pub prefer: Option<PreferInput>,
    /// For subscriptions: the highest monthly price considered.
    #[schema(example = "1500.00")]
    pub max_monthly: Option<Money>,
    /// The language of `explanation`: `en` by default. Both languages are always given too.
    pub language: Option<Language>,
}

/// One package of a bundle, with its share of the subsidy.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BundlePackage {
    pub package_id: String,
    pub category: String,
    pub name_en: String,
    pub name_zh: String,
    /// Its default quote: no add-ons, a subscription at its minimum term.
    pub eligible_cost: Money,
    /// Its share of the subsidy, the bundle's packages funded cheapest first.
    pub subsidy: Money,
    pub sme_pays: Money,
}

/// A ranked bundle.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FinderBundle {
    /// 1 for the best.
    pub rank: u32,
    /// At most one package per need, in the order of the needs.
    pub packages: Vec<BundlePackage>,
    /// The category codes it covers, in the order of the needs.
    pub needs_covered: Vec<String>,
    pub eligible_cost: Money,
    /// Within the SME's remaining cap.
    pub subsidy: Money,
    /// Within the budget.
    pub sme_pays: Money,
    pub explanation_en: String,
    pub explanation_zh: String,
    /// The explanation in the requested `language`.
    pub explanation: String,
    /// Guides on its categories for the sector, at most three: the earlier needs' first, then
    /// the newest.
    pub guides: Vec<GuideLink>,
}

/// The finder's answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FinderResponse {
    /// The sector the packages were chosen for.
    pub sector: String,
    /// The cap the bundles were allocated against: the SME's remaining cap, or the per-SME cap
    /// for anonymous callers.
    pub remaining_cap: Money,
    /// At most five, best first; none when nothing listed fits.
    pub bundles: Vec<FinderBundle>,
}

/// The sector to search: the SME's own with its token, otherwise the one given (422 when
/// missing or unknown).
fn sector_of(
    conn: &mut DbConnection,
    given: Option<&str>,
    own: Option<&str>,
) -> Result<String, ApiError> {
    match (given, own) {
        (Some(given), Some(own)) if given != own => Err(ApiError::invalid(
            "sector",
            format!("is {own} for this SME, as registered; leave it out or give {own}"),
        )),
        (_, Some(own)) => Ok(own.to_owned()),
        (None, None) => Err(ApiError::invalid(
            "sector",
            "is required unless an SME's token is sent",
        )),
        (Some(given), None) => match crate::programme::store::sector_active(conn, given)? {
            Some(_) => Ok(given.to_owned()),
            None => Err(ApiError::invalid("sector", "is not a sector code")),
        },
    }
}

/// The needs' names for the explanations; 422 naming `needs[i]` for an unknown code or one
/// given twice.
fn need_names(conn: &mut DbConnection, needs: &[String]) -> Result<Vec<NeedName>, ApiError> {
    let categories = crate::programme::store::categories(conn)?;
    let mut names = Vec::with_capacity(needs.len());
    for (i, code) in needs.iter().enumerate() {
        if needs[..i].contains(code) {
            return Err(ApiError::invalid(
                format!("needs[{i}]"),
                format!("{code} is given twice; each need is counted once"),
            ));
        }
        let category = categories
            .iter()
            .find(|c| &c.code == code)
            .ok_or_else(|| ApiError::invalid(format!("needs[{i}]"), "is not a category code"))?;
        names.push(NeedName {
            en: category.name_en.clone(),
            zh: category.name_zh.clone(),
        });
    }
    Ok(names)
}

fn cents(amount: i64) -> Result<Money, ApiError> {
    Money::from_cents(amount).map_err(ApiError::internal)
}

/// The most guides linked from one bundle.
const MAX_GUIDES: usize = 3;

/// The guides for the needs a bundle covers, the earlier needs' first.
fn guides_for(covered: &[&String], links: &[(String, GuideLink)]) -> Vec<GuideLink> {
    let mut out: Vec<GuideLink> = Vec::new();
    for need in covered {
        for (_, link) in links.iter().filter(|(category, _)| category == *need) {
            if out.len() < MAX_GUIDES && !out.contains(link) {
                out.push(link.clone());
            }
        }
    }
    out
}

/// The optimiser's bundles as the API shows them, explained, with their guides.
fn bundles_of(
    found: &[optimise::Bundle],
    offers: &[Vec<&Offer>],
    request: &FinderRequest,
    names: &[NeedName],
    cap: Money,
    links: &[(String, GuideLink)],
) -> Result<Vec<FinderBundle>, ApiError> {
    let language = request.language.unwrap_or_default();
    let mut out = Vec::with_capacity(found.len());
    let mut above: Option<Facts> = None;
    for (i, bundle) in found.iter().enumerate() {
        let packages = bundle
            .picks
            .iter()
            .map(|p| {
                let offer = offers[p.need][p.candidate];
                Ok(BundlePackage {
                    package_id: offer.package_id.clone(),
                    category: offer.category.clone(),
                    name_en: offer.name_en.clone(),
                    name_zh: offer.name_zh.clone(),
                    eligible_cost: cents(p.cost)?,
                    subsidy: cents(p.subsidy)?,
                    sme_pays: cents(p.sme_pays)?,
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        let facts = Facts {
            rank: i + 1,
            covered: bundle.picks.iter().map(|p| p.need).collect(),
            subsidy: cents(bundle.subsidy)?,
            sme_pays: cents(bundle.sme_pays)?,
        };
        let (explanation_en, explanation_zh) = explain::explain(&facts, above.as_ref(), names, cap);
        let covered: Vec<&String> = bundle
            .picks
            .iter()
            .map(|p| &request.needs[p.need])
            .collect();
        out.push(FinderBundle {
            guides: guides_for(&covered, links),
            rank: u32::try_from(i + 1).unwrap_or(u32::MAX),
            needs_covered: covered.iter().map(|c| (*c).clone()).collect(),
            packages,
            eligible_cost: cents(bundle.cost)?,
            subsidy: facts.subsidy,
            sme_pays: facts.sme_pays,
            explanation: match language {
                Language::En => explanation_en.clone(),
                Language::Zh => explanation_zh.clone(),
            },
            explanation_en,
            explanation_zh,
        });
        above = Some(facts);
    }
    Ok(out)
}

/// Finds the best subsidised bundles for the needs, most important first, within the budget:
/// at most one listed package per need, each priced by its default quote (no add-ons, a
/// subscription at its minimum term); the subsidy allocated cheapest first as the matching
/// engine would, so that the cap binds on the bundle. Ranked by needs covered (the earlier ones
/// weighing more), then the subsidy used, then what the SME pays, then how long the packages
/// have been listed; no bundle returned is beaten on all three counts by another that fits,
/// and no two are alike in needs and money. Public; with an SME's token its own sector and
/// remaining cap apply.
#[utoipa::path(
    tag = "finder",
    request_body = FinderRequest,
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The best bundles, best first.", body = FinderResponse),
        (status = 422, response = responses::ValidationFailed),
    )
)]
#[post("/api/v1/solution-finder")]
pub async fn find_solutions(
    db: web::Data<Db>,
    cache: web::Data<store::OffersCache>,
    sme: Option<SmeUser>,
    body: ValidJson<FinderRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.into_inner();
    let (request_sector, request_needs) = (request.sector.clone(), request.needs.clone());
    let (sector, names, rules, cap) = db
        .run(move |conn| {
            let own = match &sme {
                Some(sme) => crate::smes::store::find_by_user(conn, &sme.0.user_id)?,
                None => None,
            };
            let sector = sector_of(
                conn,
                request_sector.as_deref(),
                own.as_ref().map(|s| s.sector.as_str()),
            )?;
            let names = need_names(conn, &request_needs)?;
            let rules = crate::programme::store::current_rules(conn)?;
            let cap =
                quoting::remaining_cap(&rules, own.as_ref().map_or(0, |s| s.subsidy_held_cents))?;
            Ok((sector, names, rules, cap))
        })
        .await?;
    let offers = cache.sector_offers(&db, rules, sector.clone()).await?;
    let response = db
        .run(move |conn| {
            let prefer = match request.prefer {
                Some(PreferInput::OneOff) => Prefer::OneOff,
                Some(PreferInput::Subscription) => Prefer::Subscription,
                Some(PreferInput::Any) | None => Prefer::Any,
            };
            let by_need: Vec<Vec<&Offer>> = request
                .needs
                .iter()
                .map(|code| {
                    offers
                        .iter()
                        .filter(|o| &o.category == code && o.suits(prefer, request.max_monthly))
                        .collect()
                })
                .collect();
            let candidates: Vec<Vec<Candidate>> = by_need
                .iter()
                .map(|need| {
                    need.iter()
                        .map(|o| Candidate {
                            package_id: o.package_id.clone(),
                            cost: o.eligible_cost.cents(),
                            matched: o.matched.cents(),
                            listed_at: o.listed_at,
                        })
                        .collect()
                })
                .collect();
            let limits = Limits {
                remaining_cap: cap.cents(),
                budget: request.budget.cents(),
            };
            let found = optimise::best_bundles(&candidates, limits, MAX_BUNDLES);
            let links = crate::guides::store::links(conn, &request.needs, &sector)?;
            Ok(FinderResponse {
                bundles: bundles_of(&found, &by_need, &request, &names, cap, &links)?,
                sector,
                remaining_cap: cap,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(response))
}
