//! `Idempotency-Key`: a POST that creates something, sent again with the same key and body,
//! returns the first response instead of creating twice; the same key with another body is a
//! 422. Keys are scoped to the user.
//!
//! The key row is inserted first in the creating transaction, so a concurrent repeat waits on
//! it (PostgreSQL's unique index; SQLite's single writer), then finds the stored response. A
//! failed request stores nothing: the key can be used again.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::auth::{ActiveLater, Caller};
use crate::db::schema::idempotency_keys;
use crate::db::{Db, DbConnection};
use crate::error::ApiError;

/// The request header.
pub const HEADER: &str = "Idempotency-Key";

/// The longest key accepted.
const MAX_KEY_LEN: usize = 255;

/// A request's key and fingerprint, taken from the request before the work starts.
#[derive(Debug, Clone)]
pub struct Claim {
    pub user_id: String,
    pub key: Option<String>,
    fingerprint: String,
}

impl Claim {
    /// The claim of `user_id` for `req` with `body` (any serialisable form of it): 422 when the
    /// header is present but not a usable key.
    pub fn of(
        req: &HttpRequest,
        user_id: &str,
        body: &impl serde::Serialize,
    ) -> Result<Claim, ApiError> {
        let key = match req.headers().get(HEADER) {
            None => None,
            Some(value) => {
                let key = value
                    .to_str()
                    .ok()
                    .map(str::trim)
                    .filter(|k| !k.is_empty() && k.len() <= MAX_KEY_LEN)
                    .ok_or_else(|| {
                        ApiError::invalid(HEADER, "must be 1 to 255 visible ASCII characters")
                    })?;
                Some(key.to_owned())
            }
        };
        let canonical =
            serde_json::to_vec(&serde_json::to_value(body).map_err(ApiError::internal)?)
                .map_err(ApiError::internal)?;
        let mut hasher = Sha256::new();
        hasher.update(req.method().as_str().as_bytes());
        hasher.update(b" ");
        hasher.update(req.path().as_bytes());
        hasher.update(b"\n");
        hasher.update(&canonical);
        Ok(Claim {
            user_id: user_id.to_owned(),
            key,
            fingerprint: format!("{:x}", hasher.finalize()),
        })
    }
}

/// A response to send: made now, or replayed from the first request with the same key.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: StatusCode,
    pub body: serde_json::Value,
    pub replayed: bool,
}

impl Outcome {
    pub fn into_response(self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if self.replayed {
            response.insert_header(("Idempotent-Replayed", "true"));
        }
        response.json(self.body)
    }
}

/// Runs `create` under `claim` in the caller's transaction: replays a stored response, refuses
/// a reused key with another body (422), or creates and stores the response.
pub fn run<F>(conn: &mut DbConnection, claim: &Claim, create: F) -> Result<Outcome, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<(StatusCode, serde_json::Value), ApiError>,
{
    let Some(key) = &claim.key else {
        let (status, body) = create(conn)?;
        return Ok(Outcome {
            status,
            body,
            replayed: false,
        });
    };
    let stored: Option<(String, Option<i64>, Option<String>)> = idempotency_keys::table
        .find((&claim.user_id, key))
        .select((
            idempotency_keys::request_hash,
            idempotency_keys::status_code,
            idempotency_keys::response_body,
        ))
        .first(conn)
        .optional()?;
    if let Some((hash, status, body)) = stored {
        if hash != claim.fingerprint {
            return Err(ApiError::invalid(
                HEADER,
                "was already used with a different request; use a new key",
            ));
        }
        let (Some(status), Some(body)) = (status, body) else {
            return Err(ApiError::Busy(anyhow::anyhow!(
                "idempotency key without a response"
            )));
        };
        return Ok(Outcome {
            status: u16::try_from(status)
                .ok()
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::OK),
            body: serde_json::from_str(&body).map_err(ApiError::internal)?,
            replayed: true,
        });
    }
    let inserted = diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::user_id.eq(&claim.user_id),
            idempotency_keys::key.eq(key),
            idempotency_keys::request_hash.eq(&claim.fingerprint),
            idempotency_keys::created_at.eq(crate::time::now()),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => {}
        // A concurrent request with the same key committed first: retry, and replay it.
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            info,
        )) => {
            return Err(ApiError::Busy(anyhow::anyhow!(
                "idempotency key taken concurrently: {}",
                info.message()
            )));
        }
        Err(other) => return Err(other.into()),
    }
    let (status, body) = create(conn)?;
    diesel::update(idempotency_keys::table.find((&claim.user_id, key)))
        .set((
            idempotency_keys::status_code.eq(i64::from(status.as_u16())),
            idempotency_keys::response_body.eq(body.to_string()),
        ))
        .execute(conn)?;
    Ok(Outcome {
        status,
        body,
        replayed: false,
    })
}

/// Creates something with `create` in one write transaction under the request's
/// `Idempotency-Key` (when it has one): 201 with the created resource, or the first response
/// again for a repeat. Applications and enquiries are created this way.
///
/// The caller's account is confirmed active first, in that transaction
/// ([`ActiveLater::confirm`]): a disabled account gets 401, never a replay.
pub async fn idempotent_create<C, T, V, F>(
    db: &Db,
    req: &HttpRequest,
    caller: ActiveLater<C>,
    form: T,
    mut create: F,
) -> Result<HttpResponse, ApiError>
where
    C: Caller + Send,
    T: serde::Serialize + Send + 'static,
    V: serde::Serialize,
    F: FnMut(&mut DbConnection, &ActiveLater<C>, &T) -> Result<V, ApiError> + Send + 'static,
{
    let claim = Claim::of(req, caller.user_id(), &form)?;
    let outcome = db
        .write(move |tx| {
            // A replay must never reach a disabled account: with a key the account is confirmed
            // before the key is looked up; without one, `create` confirms it (in its first
            // read, where it can).
            if claim.key.is_some() {
                caller.confirm(tx)?;
            }
            run(tx, &claim, |tx| {
                let created = create(tx, &caller, &form)?;
                let body = serde_json::to_value(&created).map_err(ApiError::internal)?;
                Ok((StatusCode::CREATED, body))
            })
        })
        .await?;
    Ok(outcome.into_response())
}
