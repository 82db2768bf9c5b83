//! Identity: password hashing, access tokens, refresh and email tokens, rate limits, and the
//! extractors that tell handlers who is acting.

pub mod accounts;
pub mod admin_users;
pub mod email_links;
pub mod extract;
pub mod jwt;
pub mod model;
pub mod password;
pub mod rate_limit;
pub mod routes;
pub mod store;
pub mod tokens;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use extract::{ActiveLater, AdminUser, AuthUser, Caller, RequestMeta, SmeUser, VendorUser};

/// What a user is to the programme. A user has exactly one role for life: a vendor account can
/// never act as an SME, nor the reverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Vendor,
    Sme,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Vendor => "vendor",
            Role::Sme => "sme",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "vendor" => Ok(Role::Vendor),
            "sme" => Ok(Role::Sme),
            "admin" => Ok(Role::Admin),
            other => Err(format!("unknown role {other:?}")),
        }
    }
}
