//! Queries over users and their tokens.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::Role;
use super::model::UserRow;
use super::tokens::{hash_token, random_token};
use crate::db::DbConnection;
use crate::db::schema::{email_tokens, refresh_tokens, users};

/// The user with this (normalised) email.
pub fn find_user_by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::email.eq(email))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

/// The user with this id.
pub fn find_user(conn: &mut DbConnection, id: &str) -> QueryResult<UserRow> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
}

/// Whether any user has this email.
pub fn email_taken(conn: &mut DbConnection, email: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        users::table.filter(users::email.eq(email)),
    ))
    .get_result(conn)
}

/// Creates a user; returns its id. `registration_ip` is the registering client's address
/// ([`crate::client_ip`]), `None` for accounts made by tools.
pub fn insert_user(
    conn: &mut DbConnection,
    email: &str,
    password_hash: &str,
    role: Role,
    verified_at: Option<NaiveDateTime>,
    registration_ip: Option<&str>,
) -> QueryResult<String> {
    let id = uuid::Uuid::new_v4().to_string();
    let now = crate::time::now();
    diesel::insert_into(users::table)
        .values((
            users::id.eq(&id),
            users::email.eq(email),
            users::password_hash.eq(password_hash),
            users::role.eq(role.as_str()),
            users::email_verified_at.eq(verified_at),
            users::registration_ip.eq(registration_ip),
            users::created_at.eq(now),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Replaces a user's password hash.
pub fn set_password_hash(conn: &mut DbConnection, user_id: &str, hash: &str) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set((
            users::password_hash.eq(hash),
            users::updated_at.eq(crate::time::now()),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Marks the user's email verified (once).
pub fn mark_email_verified(
    conn: &mut DbConnection,
    user_id: &str,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(
        users::table
            .find(user_id)
            .filter(users::email_verified_at.is_null()),
    )
    .set((users::email_verified_at.eq(at), users::updated_at.eq(at)))
    .execute(conn)
    .map(|_| ())
}

/// A refresh token as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshRow {
    pub id: String,
    pub user_id: String,
    pub family_id: String,
    pub token_hash: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub rotated_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

/// Issues a refresh token in `family_id`, valid for `ttl`; returns the token itself, which
/// only the caller ever sees.
pub fn issue_refresh_token(
    conn: &mut DbConnection,
    user_id: &str,
    family_id: &str,
    ttl: Duration,
) -> QueryResult<String> {
    let token = random_token();
    let now = crate::time::now();
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::id.eq(uuid::Uuid::new_v4().to_string()),
            refresh_tokens::user_id.eq(user_id),
            refresh_tokens::family_id.eq(family_id),
            refresh_tokens::token_hash.eq(hash_token(&token)),
            refresh_tokens::created_at.eq(now),
            refresh_tokens::expires_at.eq(now + ttl),
        ))
        .execute(conn)?;
    Ok(token)
}

/// The stored refresh token matching `token`.
pub fn find_refresh_token(conn: &mut DbConnection, token: &str) -> QueryResult<Option<RefreshRow>> {
    refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(hash_token(token)))
        .select(RefreshRow::as_select())
        .first(conn)
        .optional()
}

/// Marks a live token rotated; `false` if it was already rotated or revoked (a reuse, or a
/// concurrent refresh that won).
pub fn mark_rotated(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> QueryResult<bool> {
    let updated = diesel::update(
        refresh_tokens::table
            .find(id)
            .filter(refresh_tokens::rotated_at.is_null())
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::rotated_at.eq(at))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Revokes the live (unrotated, unrevoked) token of a family; returns how many.
pub fn revoke_family(
    conn: &mut DbConnection,
    family_id: &str,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::rotated_at.is_null())
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(at))
    .execute(conn)
}

/// Revokes every live (unrotated, unrevoked) token of a user; returns how many.
pub fn revoke_all_for_user(
    conn: &mut DbConnection,
    user_id: &str,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::user_id.eq(user_id))
            .filter(refresh_tokens::rotated_at.is_null())
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(at))
    .execute(conn)
}

/// What an email token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailPurpose {
    VerifyEmail,
    PasswordReset,
}

impl EmailPurpose {
    fn as_str(self) -> &'static str {
        match self {
            EmailPurpose::VerifyEmail => "verify_email",
            EmailPurpose::PasswordReset => "password_reset",
        }
    }

    /// How long a token of this purpose lives.
    pub fn ttl(self) -> Duration {
        match self {
            EmailPurpose::VerifyEmail => Duration::hours(48),
            EmailPurpose::PasswordReset => Duration::hours(1),
        }
    }
}

/// Issues a single-use email token; returns the token itself.
pub fn issue_email_token(
    conn: &mut DbConnection,
    user_id: &str,
    purpose: EmailPurpose,
) -> QueryResult<String> {
    let token = random_token();
    let now = crate::time::now();
    diesel::insert_into(email_tokens::table)
        .values((
            email_tokens::id.eq(uuid::Uuid::new_v4().to_string()),
            email_tokens::user_id.eq(user_id),
            email_tokens::purpose.eq(purpose.as_str()),
            email_tokens::token_hash.eq(hash_token(&token)),
            email_tokens::created_at.eq(now),
            email_tokens::expires_at.eq(now + purpose.ttl()),
        ))
        .execute(conn)?;
    Ok(token)
}

/// Uses up a live token of `purpose`; returns its user, or `None` when the token is unknown,
/// used or expired. The guarded update makes each token work exactly once.
pub fn consume_email_token(
    conn: &mut DbConnection,
    token: &str,
    purpose: EmailPurpose,
    now: NaiveDateTime,
) -> QueryResult<Option<String>> {
    let hash = hash_token(token);
    let used = diesel::update(
        email_tokens::table
            .filter(email_tokens::token_hash.eq(&hash))
            .filter(email_tokens::purpose.eq(purpose.as_str()))
            .filter(email_tokens::used_at.is_null())
            .filter(email_tokens::expires_at.gt(now)),
    )
    .set(email_tokens::used_at.eq(now))
    .execute(conn)?;
    if used == 0 {
        return Ok(None);
    }
    email_tokens::table
        .filter(email_tokens::token_hash.eq(&hash))
        .select(email_tokens::user_id)
        .first(conn)
        .map(Some)
}

/// Spends every unused token of `purpose` the user still holds (after a password reset, the
/// other reset links in the user's mailbox must stop working); returns how many.
pub fn spend_all_email_tokens(
    conn: &mut DbConnection,
    user_id: &str,
    purpose: EmailPurpose,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        email_tokens::table
            .filter(email_tokens::user_id.eq(user_id))
            .filter(email_tokens::purpose.eq(purpose.as_str()))
            .filter(email_tokens::used_at.is_null()),
    )
    .set(email_tokens::used_at.eq(now))
    .execute(conn)
}

/// Disables or re-enables a user (`at` = `None` enables); false when it was already so.
pub fn set_disabled(
    conn: &mut DbConnection,
    user_id: &str,
    at: Option<NaiveDateTime>,
    reason: Option<&str>,
) -> QueryResult<bool> {
    let target = users::table.find(user_id);
    let changed = match at {
        Some(_) => diesel::update(target.filter(users::disabled_at.is_null()))
            .set((
                users::disabled_at.eq(at),
                users::disabled_reason.eq(reason),
                users::updated_at.eq(crate::time::now()),
            ))
            .execute(conn)?,
        None => diesel::update(target.filter(users::disabled_at.is_not_null()))
            .set((
                users::disabled_at.eq(None::<NaiveDateTime>),
                users::disabled_reason.eq(None::<String>),
                users::updated_at.eq(crate::time::now()),
            ))
            .execute(conn)?,
    };
    Ok(changed == 1)
}

/// Whether the user may act now: it exists and is not disabled. Checked on every
/// authenticated request, so that disabling takes effect at once.
pub fn is_active(conn: &mut DbConnection, user_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        users::table
            .find(user_id)
            .filter(users::disabled_at.is_null()),
    ))
    .get_result(conn)
}

/// 403 `email-unverified` until the user has confirmed its email address: enquiring, applying
/// and submitting a package all need an address the programme can reach.
pub fn require_verified_email(
    conn: &mut DbConnection,
    user_id: &str,
) -> Result<(), crate::error::ApiError> {
    let verified: Option<NaiveDateTime> = users::table
        .find(user_id)
        .select(users::email_verified_at)
        .first(conn)?;
    if verified.is_some() {
        Ok(())
    } else {
        Err(email_unverified())
    }
}

/// The 403 `email-unverified` of [`require_verified_email`].
pub fn email_unverified() -> crate::error::ApiError {
    crate::error::ApiError::ForbiddenOf {
        slug: "email-unverified",
        detail: "Confirm your email address first: follow the link in the email sent when the \
                 account was registered."
            .to_owned(),
    }
}
