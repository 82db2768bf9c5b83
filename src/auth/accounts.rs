//! Creating accounts: shared by vendor and SME registration and by `dtspp admin create`.

use super::model::UserRow;
use super::store::{self, EmailPurpose};
use super::{RequestMeta, Role};
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::mail::templates;
use crate::outbox;

/// Settings the identity endpoints need beyond the access-token keys.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub refresh_ttl: chrono::Duration,
    /// Base of the links in emails.
    pub public_url: String,
}

/// Refuses a password equal to the account's email, as a 422 on `password`.
pub fn check_password_not_email(password: &str, email: &str) -> Result<(), ApiError> {
    crate::validation::password_differs_from_email(password, email)
        .map_err(|_| ApiError::invalid("password", "must not be the email address"))
}

/// Creates a user of `role` registering from `meta`'s client address and queues its
/// verification email, in the caller's transaction. 409 when the email is taken.
pub fn create_account(
    conn: &mut DbConnection,
    meta: &RequestMeta,
    email: &str,
    password_hash: &str,
    role: Role,
    public_url: &str,
) -> Result<UserRow, ApiError> {
    if store::email_taken(conn, email)? {
        return Err(ApiError::Conflict(
            "An account with this email address already exists.".to_owned(),
        ));
    }
    let id = store::insert_user(conn, email, password_hash, role, None, meta.ip.as_deref())?;
    let token = store::issue_email_token(conn, &id, EmailPurpose::VerifyEmail)?;
    outbox::enqueue(conn, templates::verify_email(email, public_url, &token))?;
    Ok(store::find_user(conn, &id)?)
}

/// Creates an admin account (the command line's `admin create`), email already verified.
/// Refuses an invalid email, a weak password or a taken email, with a one-line reason.
pub async fn create_admin(
    db: &crate::db::Db,
    email: &str,
    password: &str,
) -> anyhow::Result<String> {
    use validator::ValidateEmail;
    let email = crate::validation::normalize_email(email);
    if !email.validate_email() {
        anyhow::bail!("--email {email:?} is not a valid email address");
    }
    let length = password.chars().count() as u64;
    if !(crate::validation::PASSWORD_MIN..=crate::validation::PASSWORD_MAX).contains(&length) {
        anyhow::bail!(
            "--password must be {} to {} characters long",
            crate::validation::PASSWORD_MIN,
            crate::validation::PASSWORD_MAX
        );
    }
    if crate::validation::password_differs_from_email(password, &email).is_err() {
        anyhow::bail!("--password must not be the email address");
    }
    let hash = super::password::hash(password.to_owned())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let id = db
        .write(move |tx| {
            if store::email_taken(tx, &email)? {
                return Err(ApiError::Conflict(format!(
                    "an account with the email {email} already exists"
                )));
            }
            let id = store::insert_user(
                tx,
                &email,
                &hash,
                Role::Admin,
                Some(crate::time::now()),
                None,
            )?;
            crate::audit::record(
                tx,
                &super::RequestMeta::default(),
                crate::audit::NewEvent::new("admin.created", "user", Some(&id))
                    .by_system("cli")
                    .after(serde_json::json!({"email": email, "role": "admin"})),
            )?;
            Ok(id)
        })
        .await
        .map_err(|e| match e {
            ApiError::Conflict(message) => anyhow::anyhow!(message),
            other => anyhow::anyhow!("{other}"),
        })?;
    Ok(id)
}
