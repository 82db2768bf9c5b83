//! Short-lived HS256 access tokens.

use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

use super::Role;
use crate::error::ApiError;

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user's id.
    pub sub: String,
    pub role: Role,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issue time, seconds since the epoch.
    pub iat: i64,
    /// A unique id for this token.
    pub jti: String,
}

/// Signs and checks access tokens with the configured secret.
pub struct AccessTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl_seconds: i64,
}

impl AccessTokens {
    pub fn new(secret: &[u8], ttl_minutes: u32) -> AccessTokens {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "iat", "sub"]);
        validation.leeway = 5;
        AccessTokens {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl_seconds: i64::from(ttl_minutes) * 60,
        }
    }

    /// How long an access token lives, in seconds.
    pub fn ttl_seconds(&self) -> i64 {
        self.ttl_seconds
    }

    /// A new access token for `user_id` acting as `role`.
    pub fn issue(&self, user_id: &str, role: Role) -> Result<String, ApiError> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: user_id.to_owned(),
            role,
            exp: now + self.ttl_seconds,
            iat: now,
            jti: uuid::Uuid::new_v4().to_string(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::internal(anyhow::anyhow!("cannot sign an access token: {e}")))
    }

    /// The claims of a valid, unexpired token signed with our secret; 401 otherwise.
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| {
                let reason = match e.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                        "The access token has expired."
                    }
                    _ => "The access token is invalid.",
                };
                ApiError::Unauthorized(reason.to_owned())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issued_token_verifies_with_its_claims() {
        let tokens = AccessTokens::new(b"0123456789abcdef0123456789abcdef", 15);
        let token = tokens.issue("user-1", Role::Vendor).unwrap();
        let claims = tokens.verify(&token).unwrap();
        assert_eq!(claims.sub, "user-1");
        assert_eq!(claims.role, Role::Vendor);
        assert_eq!(claims.exp - claims.iat, 15 * 60);
        assert!(uuid::Uuid::parse_str(&claims.jti).is_ok());
    }

    #[test]
    fn tokens_signed_with_another_secret_or_tampered_are_refused() {
        let ours = AccessTokens::new(b"0123456789abcdef0123456789abcdef", 15);
        let theirs = AccessTokens::new(b"another-secret-another-secret-xx", 15);
        let token = theirs.issue("user-1", Role::Admin).unwrap();
        assert!(matches!(
            ours.verify(&token),
            Err(ApiError::Unauthorized(_))
        ));
        let mut tampered = ours.issue("user-1", Role::Sme).unwrap();
        tampered.push('x');
        assert!(ours.verify(&tampered).is_err());
        assert!(ours.verify("not.a.token").is_err());
    }

    #[test]
    fn an_expired_token_is_refused() {
        let tokens = AccessTokens::new(b"0123456789abcdef0123456789abcdef", 15);
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: "u".into(),
            role: Role::Sme,
            exp: now - 60,
            iat: now - 120,
            jti: "j".into(),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &tokens.encoding).unwrap();
        let err = tokens.verify(&token).unwrap_err();
        assert!(err.to_string().contains("expired"), "{err}");
    }
}
