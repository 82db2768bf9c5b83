//! A short-lived, in-process cache of catalogue responses.
//!
//! Catalogue responses are public and may be cached for 30 seconds by anyone; this cache
//! serves each serialised response for [`FRESH_FOR`], and after that, while one request
//! recomputes it in the background, keeps serving the previous one for up to [`KEEP_FOR`], so
//! that popular listings never wait for the database. Concurrent misses for one key are
//! computed once: the first request computes, the others wait for its answer (moka's
//! `try_get_with`), so a burst of identical requests costs one query. Any change that can alter
//! the catalogue (a package or vendor decision, a rules change) calls
//! [`CatalogueCache::invalidate`] after its transaction commits, which retires every cached
//! response of this instance at once. Other instances over the same PostgreSQL database are
//! told by the database itself ([`super::changes`]: triggers notify at commit, every instance
//! listens) and retire theirs within a few tens of milliseconds; over SQLite, which one instance
//! serves, a change made by another process (a `dtspp seed`) is seen within [`FRESH_FOR`].

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::db::DbConnection;
use crate::error::ApiError;
use crate::programme::model::ProgrammeRules;

/// How long a response is served as it is.
pub const FRESH_FOR: Duration = Duration::from_secs(5);

/// How long a response may be served at all (while a fresh one is computed).
pub const KEEP_FOR: Duration = Duration::from_secs(30);

/// How many bytes of responses (bodies and keys) are kept: about 700 pages of 20 packages.
/// Bounded by size, not count, because pages differ a hundredfold (a category list against a
/// page of 100 packages) and every cursor is a key of its own.
const CAPACITY_BYTES: u64 = 16 * 1024 * 1024;

/// The catalogue's generation in one instance: it changes whenever the catalogue may have, so
/// every cache of catalogue data (the responses here, the solution finder's offers) keys on it.
/// Cloning shares it.
#[derive(Debug, Clone, Default)]
pub struct Generation(Arc<AtomicU64>);

impl Generation {
    pub fn current(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    /// Retires everything keyed on the generation before.
    pub fn advance(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A serialised response and its ETag.
#[derive(Debug, Clone)]
pub struct Cached {
    pub body: Arc<Vec<u8>>,
    pub etag: Arc<str>,
    computed_at: Instant,
    refreshing: Arc<AtomicBool>,
}

impl Cached {
    pub fn new(body: Vec<u8>, etag: String) -> Cached {
        Cached {
            body: Arc::new(body),
            etag: Arc::from(etag),
            computed_at: Instant::now(),
            refreshing: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Whether it is younger than [`FRESH_FOR`].
    pub fn is_fresh(&self) -> bool {
        self.computed_at.elapsed() < FRESH_FOR
    }

    /// Claims the one refresh of a stale response; `false` when another request has it.
    pub fn start_refresh(&self) -> bool {
        !self.refreshing.swap(true, Ordering::SeqCst)
    }

    /// Gives the refresh back after a failed attempt, so that a later request retries.
    pub fn refresh_failed(&self) {
        self.refreshing.store(false, Ordering::SeqCst);
    }
}

/// The cache, shared by the workers of one process.
pub struct CatalogueCache {
    entries: moka::future::Cache<String, Cached>,
    hits: AtomicU64,
    computations: AtomicU64,
    generation: Generation,
    /// Off (`DTSPP_CATALOGUE_CACHE=off`): every request is computed, nothing is kept.
    enabled: bool,
    /// The rules in force as last read, with the generation and time of reading ([`Self::rules`]).
    rules: Mutex<Option<(u64, Instant, ProgrammeRules)>>,
}

/// How the cache has served since start, for the metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Requests answered from a cached response (fresh or stale).
    pub hits: u64,
    /// Responses computed from the database (misses and background refreshes); concurrent
    /// misses for one key count once.
    pub computations: u64,
}

impl Default for CatalogueCache {
    fn default() -> Self {
        CatalogueCache {
            entries: moka::future::Cache::builder()
                .max_capacity(CAPACITY_BYTES)
                .weigher(|key: &String, value: &Cached| {
                    u32::try_from(key.len() + value.body.len() + value.etag.len())
                        .unwrap_or(u32::MAX)
                })
                .time_to_live(KEEP_FOR)
                .build(),
            hits: AtomicU64::new(0),
            computations: AtomicU64::new(0),
            generation: Generation::default(),
            enabled: true,
            rules: Mutex::new(None),
        }
    }
}

impl CatalogueCache {
    /// A cache that keeps nothing: each request computes its response (ETags still work).
    /// For measuring what a miss costs; the generation still serves the finder's offers.
    pub fn disabled() -> CatalogueCache {
        CatalogueCache {
            enabled: false,
            ..CatalogueCache::default()
        }
    }

    /// Whether responses are kept.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// The programme rules in force, read from the database once per catalogue generation (a
    /// rules change advances it, here and, through PostgreSQL, on every instance) and at most
    /// [`FRESH_FOR`] old (a change over SQLite by another process is not told). Every catalogue
    /// computation quotes under them; this spares each one a query, with or without the
    /// response cache.
    pub fn rules(&self, conn: &mut DbConnection) -> Result<ProgrammeRules, ApiError> {
        let generation = self.generation.current();
        let memo = |m: &Option<(u64, Instant, ProgrammeRules)>| {
            m.as_ref()
                .filter(|(g, at, _)| *g == generation && at.elapsed() < FRESH_FOR)
                .map(|(_, _, rules)| rules.clone())
        };
        if let Some(rules) = memo(&self.rules.lock().unwrap_or_else(|e| e.into_inner())) {
            return Ok(rules);
        }
        let rules = crate::programme::store::current_rules(conn)?;
        *self.rules.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((generation, Instant::now(), rules.clone()));
        Ok(rules)
    }

    /// The key of a request: the current generation and the request's path and query.
    pub fn key(&self, path_and_query: &str) -> String {
        format!("{}|{path_and_query}", self.generation.current())
    }

    /// Retires every cached response of this instance. Call after the change has committed.
    pub fn invalidate(&self) {
        self.generation.advance();
    }

    /// This instance's generation, shared.
    pub fn generation(&self) -> Generation {
        self.generation.clone()
    }

    /// The cached response for `key`, if any (counted as a hit).
    pub async fn get(&self, key: &str) -> Option<Cached> {
        let found = self.entries.get(key).await;
        if found.is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        found
    }

    /// Counts one response computed from the database.
    pub fn count_computation(&self) {
        self.computations.fetch_add(1, Ordering::Relaxed);
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            computations: self.computations.load(Ordering::Relaxed),
        }
    }

    pub async fn insert(&self, key: String, value: Cached) {
        self.entries.insert(key, value).await;
    }

    /// The entry for `key`, computing it with `compute` when there is none. Concurrent callers
    /// for the same key wait for one computation and share its result, or its error.
    pub async fn get_or_compute<F>(&self, key: String, compute: F) -> Result<Cached, ApiError>
    where
        F: Future<Output = Result<Cached, ApiError>>,
    {
        self.entries
            .try_get_with(key, async {
                self.count_computation();
                compute.await
            })
            .await
            .map_err(|shared| Arc::try_unwrap(shared).unwrap_or_else(|e| e.duplicate()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn invalidation_changes_every_key() {
        let cache = CatalogueCache::default();
        let key = cache.key("/api/v1/catalogue/packages");
        cache
            .insert(key.clone(), Cached::new(b"[]".to_vec(), "\"x\"".to_owned()))
            .await;
        assert!(cache.get(&key).await.is_some());
        let other = CatalogueCache::default();
        other.invalidate();
        assert_eq!(
            cache.key("/api/v1/catalogue/packages"),
            key,
            "another instance's change"
        );
        cache.invalidate();
        let fresh = cache.key("/api/v1/catalogue/packages");
        assert_ne!(key, fresh);
        assert!(cache.get(&fresh).await.is_none());
    }

    /// Many concurrent misses for one key, each from its own thread: one computation, and
    /// every caller gets its result.
    #[test]
    fn concurrent_misses_for_one_key_compute_once() {
        use std::sync::atomic::AtomicUsize;
        let cache = Arc::new(CatalogueCache::default());
        let computed = Arc::new(AtomicUsize::new(0));
        let barrier = Arc::new(std::sync::Barrier::new(16));
        let threads: Vec<_> = (0..16)
            .map(|_| {
                let (cache, computed, barrier) = (cache.clone(), computed.clone(), barrier.clone());
                std::thread::spawn(move || {
                    actix_web::rt::System::new().block_on(async move {
                        barrier.wait();
                        cache
                            .get_or_compute("k".to_owned(), async {
                                computed.fetch_add(1, Ordering::SeqCst);
                                actix_web::rt::time::sleep(Duration::from_millis(200)).await;
                                Ok(Cached::new(b"body".to_vec(), "\"e\"".to_owned()))
                            })
                            .await
                    })
                })
            })
            .collect();
        for thread in threads {
            let entry = thread.join().unwrap().unwrap();
            assert_eq!(entry.body.as_slice(), b"body");
        }
        assert_eq!(computed.load(Ordering::SeqCst), 1);
        assert_eq!(cache.stats().computations, 1);
    }

    /// Concurrent misses that fail share the one failure, and the next miss computes again.
    #[actix_web::test]
    async fn a_failed_computation_is_shared_then_retried() {
        let cache = CatalogueCache::default();
        let fail = || async {
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
            Err::<Cached, _>(ApiError::Busy(anyhow::anyhow!("no connection")))
        };
        let (a, b) = futures_util::future::join(
            cache.get_or_compute("k".to_owned(), fail()),
            cache.get_or_compute("k".to_owned(), fail()),
        )
        .await;
        assert!(matches!(a, Err(ApiError::Busy(_))));
        assert!(matches!(b, Err(ApiError::Busy(_))));
        let ok = cache
            .get_or_compute("k".to_owned(), async {
                Ok(Cached::new(Vec::new(), String::new()))
            })
            .await;
        assert!(ok.is_ok());
    }

    #[test]
    fn only_one_request_refreshes_a_stale_response() {
        let entry = Cached::new(Vec::new(), String::new());
        assert!(entry.is_fresh());
        assert!(entry.start_refresh());
        assert!(!entry.clone().start_refresh(), "clones share the claim");
        entry.refresh_failed();
        assert!(entry.start_refresh());
    }
}
