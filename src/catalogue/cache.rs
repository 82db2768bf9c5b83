//! A short-lived, in-process cache of catalogue responses.
//!
//! Catalogue responses are public and may be cached for 30 seconds by anyone; this cache keeps
//! each serialised response for at most [`TTL`] so that popular listings are served without
//! the database. Any change that can alter the catalogue (a package or vendor decision, a
//! seed) calls [`invalidate`] after its transaction commits, which retires every cached
//! response of this process at once. Other instances see the change within [`TTL`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How long a response is served from the cache.
pub const TTL: Duration = Duration::from_secs(5);

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
                .time_to_live(TTL)
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
        cache.insert(
            key.clone(),
            Cached {
                body: Arc::new(b"[]".to_vec()),
                etag: Arc::from("\"x\""),
            },
        );
        assert!(cache.get(&key).is_some());
        invalidate();
        let fresh = CatalogueCache::key("/api/v1/catalogue/packages");
        assert_ne!(key, fresh);
        assert!(cache.get(&fresh).is_none());
    }
}
