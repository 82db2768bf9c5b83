//! Password hashing with argon2id at OWASP's recommended cost (19 MiB, 2 passes, 1 lane).
//!
//! Hashing and verifying take tens of milliseconds of CPU, so they run on the blocking pool.
//! A login for an unknown email verifies a dummy hash, so that it takes as long as a wrong
//! password and does not reveal which emails exist.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::db::run_blocking;
use crate::error::ApiError;

#[cfg(feature = "argon2-block-pool")]
mod block_pool;

/// OWASP's first recommended argon2id configuration: m = 19 MiB, t = 2, p = 1.
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;

fn argon2() -> Result<Argon2<'static>, ApiError> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes `password` into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`). Blocks.
pub fn hash_blocking(password: &str) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| ApiError::internal(anyhow::anyhow!("password hashing failed: {e}")))
}

/// Whether `password` matches the PHC string `hash`. Blocks.
pub fn verify_blocking(password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    argon2().is_ok_and(|a| a.verify_password(password.as_bytes(), &parsed).is_ok())
}

/// At most this many hashes run at once (one per core), so that a burst of logins queues
/// instead of taking every core and 19 MiB per hash.
#[cfg(not(feature = "argon2-block-pool"))]
fn hashing_permits() -> &'static Semaphore {
    static PERMITS: OnceLock<Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| {
        Semaphore::new(std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get))
    })
}

#[cfg(not(feature = "argon2-block-pool"))]
async fn run_hashing<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let _permit = hashing_permits()
        .acquire()
        .await
        .map_err(|e| ApiError::internal(anyhow::anyhow!("hashing semaphore closed: {e}")))?;
    run_blocking(f).await
}

/// Hashes `password` on the blocking pool.
#[cfg(not(feature = "argon2-block-pool"))]
pub async fn hash(password: String) -> Result<String, ApiError> {
    run_hashing(move || hash_blocking(&password)).await
}

/// Hashes `password` on a hashing thread, in its reused memory block.
#[cfg(feature = "argon2-block-pool")]
pub async fn hash(password: String) -> Result<String, ApiError> {
    block_pool::run(move |blocks| block_pool::hash_with(blocks, &password)).await
}

/// Verifies `password` against `hash` on the blocking pool; with no hash (an unknown email),
/// verifies against a dummy so that the answer takes the same time, and is `false`.
#[cfg(not(feature = "argon2-block-pool"))]
pub async fn verify(password: String, hash: Option<String>) -> Result<bool, ApiError> {
    run_hashing(move || match hash {
        Some(hash) => Ok(verify_blocking(&password, &hash)),
        None => {
            let _ = verify_blocking(&password, dummy_hash());
            Ok(false)
        }
    })
    .await
}

/// [`verify`], on a hashing thread in its reused memory block.
#[cfg(feature = "argon2-block-pool")]
pub async fn verify(password: String, hash: Option<String>) -> Result<bool, ApiError> {
    block_pool::run(move |blocks| match hash {
        Some(hash) => Ok(block_pool::verify_with(blocks, &password, &hash)),
        None => {
            let _ = block_pool::verify_with(blocks, &password, dummy_hash());
            Ok(false)
        }
    })
    .await
}

/// A hash of a random password, made once per process at the real cost.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let random = crate::auth::tokens::random_token();
        hash_blocking(&random).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hash = hash_blocking("correct horse battery staple").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_blocking("correct horse battery staple", &hash));
        assert!(!verify_blocking("correct horse battery stapler", &hash));
        assert!(!verify_blocking("anything", "not a hash"));
    }

    #[test]
    fn the_same_password_gets_a_different_salt_each_time() {
        assert_ne!(
            hash_blocking("same password!").unwrap(),
            hash_blocking("same password!").unwrap()
        );
    }
}
