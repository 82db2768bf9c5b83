//! What the finder reads: the listed packages of a sector, priced as their quote prices them by
//! default, kept briefly in memory: every request of a sector needs the same few thousand rows
//! quoted the same way. They are keyed by the catalogue's generation (any change to the
//! catalogue on this instance retires them at once, as it retires the catalogue's cached
//! responses), the rules version (new rules, new prices) and the sector, and live for the
//! catalogue cache's [`FRESH_FOR`], the staleness other instances' catalogue pages already have.

use std::sync::Arc;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::catalogue::cache::{FRESH_FOR, Generation};
use crate::db::schema::{package_revisions, packages};
use crate::db::{Db, DbConnection};
use crate::error::ApiError;
use crate::money::Money;
use crate::packages::model::{PricingInput, PricingModel};
use crate::programme::model::ProgrammeRules;
use crate::programme::quoting::{self, Ask};

/// Which pricing the SME prefers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Prefer {
    OneOff,
    Subscription,
    #[default]
    Any,
}

/// A listed package of the sector, with its default quote under the full cap.
#[derive(Debug, Clone)]
pub struct Offer {
    pub package_id: String,
    pub category: String,
    pub model: PricingModel,
    /// A subscription's monthly price.
    pub monthly_price: Option<Money>,
    pub name_en: String,
    pub name_zh: String,
    pub listed_at: NaiveDateTime,
    pub eligible_cost: Money,
    /// The subsidy this package alone would get with the whole per-SME cap left.
    pub matched: Money,
}

type OfferRow = (
    String,
    String,
    Option<NaiveDateTime>,
    String,
    String,
    String,
    Option<Money>,
    Option<Money>,
    Option<i64>,
);

impl Offer {
    /// Whether it is of the preferred pricing and, for a subscription, at most `max_monthly` a
    /// month.
    pub fn suits(&self, prefer: Prefer, max_monthly: Option<Money>) -> bool {
        let model_ok = match prefer {
            Prefer::OneOff => self.model == PricingModel::OneOff,
            Prefer::Subscription => self.model == PricingModel::Subscription,
            Prefer::Any => true,
        };
        let monthly_ok = match (max_monthly, self.monthly_price) {
            (Some(most), Some(monthly)) => monthly <= most,
            _ => true,
        };
        model_ok && monthly_ok
    }
}

type Key = (u64, i64, String);

/// The offers of each sector, as recently loaded; one per application (app data), so that
/// instances in one process (as in the tests) never share them.
pub struct OffersCache {
    offers: moka::future::Cache<Key, Arc<Vec<Offer>>>,
    generation: Generation,
}

impl OffersCache {
    /// A cache keyed on the catalogue's `generation` (its instance's).
    pub fn new(generation: Generation) -> OffersCache {
        OffersCache {
            offers: moka::future::Cache::builder()
                .max_capacity(64)
                .time_to_live(FRESH_FOR)
                .build(),
            generation,
        }
    }
}

impl OffersCache {
    /// The offers of `sector` under `rules`, from memory when they are fresh; concurrent
    /// misses load once.
    pub async fn sector_offers(
        &self,
        db: &Db,
        rules: ProgrammeRules,
        sector: String,
    ) -> Result<Arc<Vec<Offer>>, ApiError> {
        let key = (self.generation.current(), rules.version, sector.clone());
        let db = db.clone();
        self.offers
            .try_get_with(key, async move {
                db.run(move |conn| offers(conn, &rules, &sector).map(Arc::new))
                    .await
            })
            .await
            .map_err(|shared| Arc::try_unwrap(shared).unwrap_or_else(|e| e.duplicate()))
    }
}

/// The listed packages of approved vendors for `sector`, each quoted as its basic package (no
/// add-ons, the minimum term) under `rules` with the full per-SME cap.
pub fn offers(
    conn: &mut DbConnection,
    rules: &ProgrammeRules,
    sector: &str,
) -> Result<Vec<Offer>, ApiError> {
    let rows: Vec<OfferRow> = crate::catalogue::store::visible!()
        .filter(packages::target_sector.eq(sector))
        .select((
            packages::id,
            packages::category,
            packages::listed_at,
            package_revisions::name_en,
            package_revisions::name_zh,
            package_revisions::pricing_model,
            package_revisions::price_cents,
            package_revisions::monthly_price_cents,
            package_revisions::min_term_months,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(
            |(id, category, listed_at, name_en, name_zh, model, price, monthly, term)| {
                let pricing = PricingInput {
                    model: if model == PricingModel::Subscription.as_str() {
                        PricingModel::Subscription
                    } else {
                        PricingModel::OneOff
                    },
                    price,
                    monthly_price: monthly,
                    min_term_months: term.and_then(|m| u32::try_from(m).ok()),
                };
                let quote = quoting::quote(&Ask::basic(&pricing), rules, rules.per_sme_cap)?;
                Ok(Offer {
                    package_id: id,
                    category,
                    model: pricing.model,
                    monthly_price: match pricing.model {
                        PricingModel::Subscription => monthly,
                        PricingModel::OneOff => None,
                    },
                    name_en,
                    name_zh,
                    // A listed package always has its listing time; the oldest possible
                    // stands in should one ever lack it.
                    listed_at: listed_at.unwrap_or(NaiveDateTime::MIN),
                    eligible_cost: quote.eligible_cost,
                    matched: quote.subsidy,
                })
            },
        )
        .collect()
}
