//! Rate limits on login, registration and password reset: per client IP and per email.
//!
//! Limits are kept in each process's memory, so with several instances each enforces the
//! limit on its own share of the traffic. Behind a reverse proxy the client IP is the
//! proxy's unless the proxy is configured to pass connections through unchanged.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;

/// Keyed limiters for client IPs and emails; `None` when limiting is off.
pub struct AuthRateLimiter {
    limiters: Option<(
        DefaultKeyedRateLimiter<String>,
        DefaultKeyedRateLimiter<String>,
    )>,
    checks: AtomicU64,
}

/// How many checks pass between sweeps of keys that have recovered their full quota.
const SWEEP_EVERY: u64 = 4096;

impl AuthRateLimiter {
    /// `per_minute` requests per minute for each key; 0 turns limiting off.
    pub fn new(per_minute: u32) -> AuthRateLimiter {
        let limiters = NonZeroU32::new(per_minute).map(|n| {
            let quota = Quota::per_minute(n);
            (RateLimiter::keyed(quota), RateLimiter::keyed(quota))
        });
        AuthRateLimiter {
            limiters,
            checks: AtomicU64::new(0),
        }
    }

    /// Counts one request from `ip` about `email` (when the request names one); 429 with the
    /// seconds to wait when either is over its limit.
    pub fn check(&self, ip: &str, email: Option<&str>) -> Result<(), ApiError> {
        let Some((by_ip, by_email)) = &self.limiters else {
            return Ok(());
        };
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            by_ip.retain_recent();
            by_email.retain_recent();
        }
        let clock = DefaultClock::default();
        let over = |limiter: &DefaultKeyedRateLimiter<String>, key: String| {
            limiter.check_key(&key).err().map(|not_until| {
                let wait = not_until.wait_time_from(clock.now());
                wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
            })
        };
        let wait = over(by_ip, ip.to_owned())
            .into_iter()
            .chain(email.and_then(|e| over(by_email, e.trim().to_lowercase())))
            .max();
        match wait {
            Some(retry_after_secs) => Err(ApiError::TooManyRequests {
                retry_after_secs: retry_after_secs.max(1),
            }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_applies_per_ip_and_per_email() {
        let limiter = AuthRateLimiter::new(3);
        for _ in 0..3 {
            assert!(limiter.check("10.0.0.1", Some("a@example.org")).is_ok());
        }
        let err = limiter.check("10.0.0.1", None).unwrap_err();
        assert!(
            matches!(err, ApiError::TooManyRequests { retry_after_secs } if retry_after_secs >= 1)
        );
        // Another IP may still go, but not about the same email.
        assert!(limiter.check("10.0.0.2", Some("b@example.org")).is_ok());
        assert!(limiter.check("10.0.0.3", Some("A@Example.org")).is_err());
    }

    #[test]
    fn zero_turns_limiting_off() {
        let limiter = AuthRateLimiter::new(0);
        for _ in 0..1000 {
            assert!(limiter.check("10.0.0.1", Some("a@example.org")).is_ok());
        }
    }
}
