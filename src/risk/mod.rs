//! Risk indicators: the fraud patterns of PROGRAMME-RULES.md, raised as flags for admins to
//! review, with holds on the money they concern and maker-checker review.
//!
//! `engine` (the indicators) and `normalise` (contact keys) are pure. `store` gathers facts and
//! raises flags; the cheap indicators run in the transaction of the event that changes their
//! facts (`store::after_*`). `scan` runs every indicator over the population, periodically and
//! on demand. `review` decides flags, holds money and refuses conflicted admins. `routes` is
//! the HTTP edge.

pub mod engine;
pub mod normalise;
pub mod review;
pub mod routes;
pub mod scan;
pub mod store;

use std::sync::OnceLock;
use std::time::Duration;

use prometheus::{Histogram, HistogramOpts};

static APPLY_CHECKS_SECONDS: OnceLock<Histogram> = OnceLock::new();

/// How long the risk checks of one application take inside its transaction (reading their
/// facts and raising their flags), so that their cost to applying is measured where it is
/// spent. One per process: every [`crate::metrics::Metrics`] registry exposes it.
pub fn apply_checks_histogram() -> Result<Histogram, prometheus::Error> {
    if let Some(h) = APPLY_CHECKS_SECONDS.get() {
        return Ok(h.clone());
    }
    // 50 µs to about 50 ms: the checks are a few index lookups, and the target is under 2 ms.
    let buckets = prometheus::exponential_buckets(0.000_05, 1.5, 18)?;
    let h = Histogram::with_opts(
        HistogramOpts::new(
            "risk_apply_checks_seconds",
            "Time the risk checks of one application take inside its transaction (reading \
             their facts, raising their flags).",
        )
        .buckets(buckets),
    )?;
    Ok(APPLY_CHECKS_SECONDS.get_or_init(|| h).clone())
}

/// Records the time one application's risk checks took (once metrics exist).
pub fn observe_apply_checks(spent: Duration) {
    if let Some(h) = APPLY_CHECKS_SECONDS.get() {
        h.observe(spent.as_secs_f64());
    }
}
