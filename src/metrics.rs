//! Prometheus metrics: requests and latency by route pattern, and the database pool.

use std::time::Duration;

use std::sync::Mutex;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

use crate::catalogue::cache::CacheStats;
use crate::db::PoolState;

/// Latency buckets in seconds, from 1 ms to 10 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Buckets for the SQL statements a request runs.
const STATEMENT_BUCKETS: &[f64] = &[
    0.0, 1.0, 2.0, 3.0, 5.0, 8.0, 10.0, 12.0, 15.0, 20.0, 25.0, 30.0, 40.0, 60.0, 100.0,
];

/// The process's metrics registry. Cheap to share behind `web::Data`.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    statements: HistogramVec,
    pool_max: IntGauge,
    pool_connections: IntGauge,
    pool_idle: IntGauge,
    acquire_failures: IntCounterVec,
    catalogue_cache: IntCounterVec,
    /// Renders one at a time, so that the pool's counters are copied in exactly once.
    rendering: Mutex<()>,
}

impl Metrics {
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new_custom(Some("dtspp".to_owned()), None)?;
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests answered, by route pattern and status.",
            ),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time to answer HTTP requests, by route pattern.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["method", "route"],
        )?;
        let statements = HistogramVec::new(
            HistogramOpts::new(
                "db_statements_per_request",
                "SQL statements (round trips, BEGIN and COMMIT included) a request ran, by \
                 route pattern.",
            )
            .buckets(STATEMENT_BUCKETS.to_vec()),
            &["method", "route"],
        )?;
        let pool_max = IntGauge::new(
            "db_pool_max_connections",
            "Largest size of the database pool.",
        )?;
        let pool_connections = IntGauge::new(
            "db_pool_connections",
            "Open database connections, idle or in use.",
        )?;
        let pool_idle = IntGauge::new("db_pool_idle_connections", "Idle database connections.")?;
        let acquire_failures = IntCounterVec::new(
            Opts::new(
                "db_acquire_failures_total",
                "Requests that got no database connection: reason=\"busy\" when every \
                 connection stayed in use for the acquire timeout (503 busy), \
                 reason=\"unavailable\" when none could be opened (503 database-unavailable).",
            ),
            &["reason"],
        )?;
        registry.register(Box::new(acquire_failures.clone()))?;
        let catalogue_cache = IntCounterVec::new(
            Opts::new(
                "catalogue_cache_total",
                "Catalogue requests answered from the cache (outcome=\"hit\"), and responses \
                 computed from the database (outcome=\"computed\"; concurrent misses for one \
                 key count once).",
            ),
            &["outcome"],
        )?;
        registry.register(Box::new(catalogue_cache.clone()))?;
        registry.register(Box::new(crate::risk::apply_checks_histogram()?))?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(statements.clone()))?;
        registry.register(Box::new(pool_max.clone()))?;
        registry.register(Box::new(pool_connections.clone()))?;
        registry.register(Box::new(pool_idle.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            latency,
            statements,
            pool_max,
            pool_connections,
            pool_idle,
            acquire_failures,
            catalogue_cache,
            rendering: Mutex::new(()),
        })
    }

    /// Counts one answered request. `route` is the matched pattern, never the raw path, so the
    /// number of series stays bounded.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(elapsed.as_secs_f64());
    }

    /// Records the SQL statements one request ran.
    pub fn observe_statements(&self, method: &str, route: &str, statements: u64) {
        self.statements
            .with_label_values(&[method, route])
            .observe(statements as f64);
    }

    /// The Prometheus text exposition, with the pool gauges as of now.
    pub fn render(&self, pool: PoolState, cache: CacheStats) -> Result<String, prometheus::Error> {
        self.pool_max.set(i64::from(pool.max_size));
        self.pool_connections.set(i64::from(pool.connections));
        self.pool_idle.set(i64::from(pool.idle_connections));
        {
            let _one_at_a_time = self
                .rendering
                .lock()
                .map_err(|_| prometheus::Error::Msg("metrics lock poisoned".to_owned()))?;
            let copy = |family: &IntCounterVec, label: &str, total: u64| {
                let counter = family.with_label_values(&[label]);
                counter.inc_by(total.saturating_sub(counter.get()));
            };
            copy(&self.acquire_failures, "busy", pool.acquire_busy);
            copy(
                &self.acquire_failures,
                "unavailable",
                pool.acquire_unavailable,
            );
            copy(&self.catalogue_cache, "hit", cache.hits);
            copy(&self.catalogue_cache, "computed", cache.computations);
        }
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer)?;
        String::from_utf8(buffer).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}
