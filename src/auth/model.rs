//! Users, and the bodies of the authentication endpoints.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

use super::Role;
use crate::db::schema::users;
use crate::validation::{PASSWORD_MAX, PASSWORD_MIN};

/// A row of `users`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub email_verified_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub disabled_at: Option<NaiveDateTime>,
}

impl UserRow {
    /// The stored role; the CHECK constraint keeps it one of the three.
    pub fn role(&self) -> Role {
        self.role.parse().unwrap_or(Role::Sme)
    }
}

/// A user as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: String,
    #[schema(example = "owner@tea-house.hk")]
    pub email: String,
    pub role: Role,
    pub email_verified: bool,
    #[schema(example = "2026-01-31T09:00:00Z")]
    pub created_at: String,
}

impl From<&UserRow> for User {
    fn from(row: &UserRow) -> Self {
        User {
            id: row.id.clone(),
            email: row.email.clone(),
            role: row.role(),
            email_verified: row.email_verified_at.is_some(),
            created_at: crate::time::rfc3339(row.created_at),
        }
    }
}

/// `POST /auth/login`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct LoginRequest {
    #[validate(length(min = 3, max = 254))]
    #[schema(example = "owner@tea-house.hk")]
    pub email: String,
    #[validate(length(min = 1, max = 128))]
    #[schema(example = "correct horse battery staple")]
    pub password: String,
}

/// A fresh access token and refresh token.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenPair {
    /// A JWT to send as `Authorization: Bearer …`.
    pub access_token: String,
    /// An opaque token for `POST /auth/refresh`; single use.
    pub refresh_token: String,
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    pub expires_in: i64,
    pub role: Role,
}

/// `POST /auth/refresh`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct RefreshRequest {
    #[validate(length(min = 1, max = 256))]
    pub refresh_token: String,
}

/// `POST /auth/logout`: the refresh token to revoke; without one, every session of the user.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
pub struct LogoutRequest {
    #[validate(length(min = 1, max = 256))]
    pub refresh_token: Option<String>,
}

/// `POST /auth/verify-email`: the token from the verification email.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct VerifyEmailRequest {
    #[validate(length(min = 1, max = 256))]
    pub token: String,
}

/// `POST /auth/password-reset`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct PasswordResetRequest {
    #[validate(length(min = 3, max = 254))]
    #[schema(example = "owner@tea-house.hk")]
    pub email: String,
}

/// `POST /auth/password-reset/confirm`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct PasswordResetConfirm {
    #[validate(length(min = 1, max = 256))]
    pub token: String,
    #[validate(length(min = PASSWORD_MIN, max = PASSWORD_MAX))]
    pub new_password: String,
}

/// A plain acknowledgement.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Accepted {
    #[schema(example = "If the address belongs to an account, a reset link is on its way.")]
    pub message: String,
}

/// Fails unless `password` differs from `email`; for `#[validate(schema)]`.
pub fn password_not_email(password: &str, email: &str) -> Result<(), ValidationError> {
    crate::validation::password_differs_from_email(password, email)
}
