//! Answering catalogue requests from the cache, with ETags and 304s.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::cache::{Cached, CatalogueCache};
use crate::error::ApiError;

/// The strong ETag of a body: the first 128 bits of its SHA-256.
fn etag_of(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    format!(
        "\"{}\"",
        digest
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

/// Serves the response for this request from the cache, or computes (and caches) it: JSON with
/// a strong ETag of its bytes, or 304 when the caller already has them. A stale response is
/// served once more while this request's `compute` refreshes it in the background.
pub async fn cached<F, Fut>(
    req: &HttpRequest,
    cache: &web::Data<CatalogueCache>,
    compute: F,
) -> Result<HttpResponse, ApiError>
where
    F: FnOnce() -> Fut + 'static,
    Fut: std::future::Future<Output = Result<Vec<u8>, ApiError>> + 'static,
{
    if !cache.is_enabled() {
        cache.count_computation();
        let body = compute().await?;
        let etag = etag_of(&body);
        return Ok(respond(req, &Cached::new(body, etag)));
    }
    // The key is taken before computing: a change committed meanwhile retires it.
    let key = cache.key(&req.uri().to_string());
    let entry = match cache.get(&key).await {
        Some(entry) if entry.is_fresh() => entry,
        Some(entry) => {
            if entry.start_refresh() {
                let (cache, stale) = (cache.clone(), entry.clone());
                actix_web::rt::spawn(async move {
                    cache.count_computation();
                    match compute().await {
                        Ok(body) => {
                            let etag = etag_of(&body);
                            cache.insert(key, Cached::new(body, etag)).await;
                        }
                        Err(error) => {
                            tracing::warn!(%error, "refreshing a cached catalogue response failed");
                            stale.refresh_failed();
                        }
                    }
                });
            }
            entry
        }
        None => {
            cache
                .get_or_compute(key, async move {
                    let body = compute().await?;
                    let etag = etag_of(&body);
                    Ok(Cached::new(body, etag))
                })
                .await?
        }
    };
    Ok(respond(req, &entry))
}

/// The response of `entry`: its body with its ETag, or 304 when the caller already has it.
fn respond(req: &HttpRequest, entry: &Cached) -> HttpResponse {
    let etag = entry.etag.to_string();
    let cache_control = (header::CACHE_CONTROL, "public, max-age=30");
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == etag || t.trim() == "*" || t.trim() == format!("W/{etag}"))
        });
    if matches {
        return HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header(cache_control)
            .finish();
    }
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag))
        .insert_header(cache_control)
        .content_type("application/json")
        .body(entry.body.as_ref().clone())
}

pub fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(ApiError::internal)
}
