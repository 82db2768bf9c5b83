//! A fixed pool of hashing threads, one per core, each reusing one argon2 memory block for
//! every hash, so that hashing holds at most (cores x 19 MiB) whatever the allocator; at most
//! that many hashes run at once, and the rest queue. The blocks are allocated when the first
//! hash runs, not at start.

use std::sync::{Arc, Mutex, OnceLock, mpsc};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, Version};

use super::{MEMORY_KIB, argon2};
use crate::error::ApiError;

type Job = Box<dyn FnOnce(&mut [Block]) + Send>;

fn pool() -> &'static mpsc::Sender<Job> {
    static POOL: OnceLock<mpsc::Sender<Job>> = OnceLock::new();
    POOL.get_or_init(|| {
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        let threads = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        for i in 0..threads {
            let receiver = receiver.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    let mut blocks = vec![Block::default(); MEMORY_KIB as usize];
                    loop {
                        let job = match receiver.lock() {
                            Ok(receiver) => receiver.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(&mut blocks),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(error) = spawned {
                tracing::error!(%error, "cannot start a hashing thread");
            }
        }
        sender
    })
}

/// Runs `f` on a hashing thread with its memory block.
pub async fn run<T: Send + 'static>(
    f: impl FnOnce(&mut [Block]) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let (reply, answer) = tokio::sync::oneshot::channel();
    let span = tracing::Span::current();
    pool()
        .send(Box::new(move |blocks| {
            let _ = reply.send(span.in_scope(|| f(blocks)));
        }))
        .map_err(|_| ApiError::internal(anyhow::anyhow!("the hashing threads are gone")))?;
    answer
        .await
        .map_err(|_| ApiError::internal(anyhow::anyhow!("a hashing thread died")))?
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(anyhow::anyhow!("password hashing failed: {e}"))
}

/// [`super::hash_blocking`], in `blocks`.
pub fn hash_with(blocks: &mut [Block], password: &str) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let raw_salt = salt.decode_b64(&mut salt_bytes).map_err(internal)?;
    let argon = argon2()?;
    let mut out = [0u8; 32];
    argon
        .hash_password_into_with_memory(password.as_bytes(), raw_salt, &mut out, blocks)
        .map_err(internal)?;
    let hash = PasswordHash {
        algorithm: ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon.params()).map_err(internal)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(internal)?),
    };
    Ok(hash.to_string())
}

/// [`super::verify_blocking`], in `blocks` when the hash's memory cost is ours.
pub fn verify_with(blocks: &mut [Block], password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    if parsed.algorithm != ARGON2ID_IDENT || params.m_cost() as usize != blocks.len() {
        return super::verify_blocking(password, hash);
    }
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(raw_salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into_with_memory(password.as_bytes(), raw_salt, &mut out, blocks)
        .is_ok()
        && Output::new(&out).is_ok_and(|computed| computed == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_in_reused_blocks_are_interchangeable_with_ordinary_ones() {
        let mut blocks = vec![Block::default(); MEMORY_KIB as usize];
        let pooled = hash_with(&mut blocks, "correct horse battery staple").unwrap();
        assert!(super::super::verify_blocking(
            "correct horse battery staple",
            &pooled
        ));
        let ordinary = super::super::hash_blocking("correct horse battery staple").unwrap();
        assert!(verify_with(
            &mut blocks,
            "correct horse battery staple",
            &ordinary
        ));
        assert!(!verify_with(
            &mut blocks,
            "correct horse battery stapler",
            &ordinary
        ));
        assert!(!verify_with(&mut blocks, "anything", "not a hash"));
    }
}
