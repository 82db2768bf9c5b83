//! A short-lived, in-process cache of catalogue responses.
//!
//! Catalogue responses are public and may be cached for 30 seconds by anyone; this cache
//! serves each serialised response for [`FRESH_FOR`], and after that, while one request
//! recomputes it in the background, keeps serving the previous one for up to [`KEEP_FOR`], so
//! that popular listings never wait for the database. Any change that can alter the catalogue
//! (a package or vendor decision, a seed) calls [`invalidate`] after its transaction commits,
//! which retires every cached response of this process at once. Other instances see the change
//! within [`FRESH_FOR`], or [`KEEP_FOR`] for a listing nobody has asked for meanwhile.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long a response is served as it is.
pub const FRESH_FOR: Duration = Duration::from_secs(5);

/// How long a response may be served at all (while a fresh one is computed).
pub const KEEP_FOR: Duration = Duration::from_secs(30);

/// How many responses are kept.
const CAPACITY: u64 = 10_000;

static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Retires every cached catalogue response. Call after the change has committed.
pub fn invalidate() {
    GENERATION.fetch_add(1, Ordering::SeqCst);
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
    entries: moka::sync::Cache<String, Cached>,
}

impl Default for CatalogueCache {
    fn default() -> Self {
        CatalogueCache {
            entries: moka::sync::Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(KEEP_FOR)
                .build(),
        }
    }
}

impl CatalogueCache {
    /// The key of a request: the current generation and the request's path and query.
    pub fn key(path_and_query: &str) -> String {
        format!("{}|{path_and_query}", GENERATION.load(Ordering::SeqCst))
    }

    pub fn get(&self, key: &str) -> Option<Cached> {
        self.entries.get(key)
    }

    pub fn insert(&self, key: String, value: Cached) {
        self.entries.insert(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalidation_changes_every_key() {
        let cache = CatalogueCache::default();
        let key = CatalogueCache::key("/api/v1/catalogue/packages");
        cache.insert(key.clone(), Cached::new(b"[]".to_vec(), "\"x\"".to_owned()));
        assert!(cache.get(&key).is_some());
        invalidate();
        let fresh = CatalogueCache::key("/api/v1/catalogue/packages");
        assert_ne!(key, fresh);
        assert!(cache.get(&fresh).is_none());
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
