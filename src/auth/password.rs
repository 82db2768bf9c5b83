//! Password hashing with argon2id at OWASP's recommended cost (19 MiB, 2 passes, 1 lane).
//!
//! Hashing and verifying take tens of milliseconds of CPU and 19 MiB, so they run on a fixed
//! pool of hashing threads, one per core, each reusing one memory block for every hash
//! ([`block_pool`]): a burst of logins queues instead of taking every core, and the memory
//! stays at (cores x 19 MiB) whatever the allocator does with freed blocks (glibc's malloc
//! kept one such block in each blocking thread's arena: README.md, "Memory"). A login for an
//! unknown email verifies a dummy hash, so that it takes as long as a wrong password and does
//! not reveal which emails exist.

use std::sync::OnceLock;

use crate::error::ApiError;
use argon2::password_hash::{PasswordHash, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

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

/// Hashes `password` into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) in memory of its
/// own. Blocks. The service hashes on the pool ([`hash`]); this is the reference it matches.
#[cfg(test)]
pub fn hash_blocking(password: &str) -> Result<String, ApiError> {
    use argon2::password_hash::rand_core::OsRng;
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut OsRng);
    argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| ApiError::internal(anyhow::anyhow!("password hashing failed: {e}")))
}

/// Whether `password` matches the PHC string `hash`, in memory of its own. Blocks. The pool
/// uses it for a hash made with other parameters than ours.
pub fn verify_blocking(password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    argon2().is_ok_and(|a| a.verify_password(password.as_bytes(), &parsed).is_ok())
}

/// Hashes `password` on a hashing thread, in its reused memory block.
pub async fn hash(password: String) -> Result<String, ApiError> {
    block_pool::run(move |blocks| block_pool::hash_with(blocks, &password)).await
}

/// Verifies `password` against `hash` on a hashing thread, in its reused memory block; with
/// no hash (an unknown email), verifies against a dummy so that the answer takes the same
/// time, and is `false`.
pub async fn verify(password: String, hash: Option<String>) -> Result<bool, ApiError> {
    block_pool::run(move |blocks| match hash {
        Some(hash) => Ok(block_pool::verify_with(blocks, &password, &hash)),
        None => {
            let dummy = dummy_hash(blocks)?;
            let _ = block_pool::verify_with(blocks, &password, dummy);
            Ok(false)
        }
    })
    .await
}

/// A hash of a random password, made once per process at the real cost, in `blocks`.
fn dummy_hash(blocks: &mut [argon2::Block]) -> Result<&'static str, ApiError> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(dummy) = DUMMY.get() {
        return Ok(dummy);
    }
    let made = block_pool::hash_with(blocks, &crate::auth::tokens::random_token())?;
    Ok(DUMMY.get_or_init(|| made))
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
