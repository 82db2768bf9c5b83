//! One error type for every handler, rendered as RFC 9457 `application/problem+json`.
//!
//! Client errors say what was wrong. Server errors are opaque: the body says only that
//! something failed and gives the request id, while the cause is logged in full in the
//! request's span, which carries the same id.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid input field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    /// The field's path in the request, e.g. `email` or `components[0].quantity`.
    pub field: String,
    /// What is wrong with it, in English.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An RFC 9457 problem details body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem, e.g. `urn:dtspp:problem:validation-failed`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short, stable summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this occurrence.
    pub detail: String,
    /// The request's id, also in the `X-Request-Id` header and in the server's logs.
    pub request_id: String,
    /// Per-field failures, present on 422 responses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl Problem {
    /// A problem of kind `slug` (its type URI is `urn:dtspp:problem:{slug}`).
    pub fn new(status: StatusCode, slug: &str, detail: impl Into<String>) -> Problem {
        Problem {
            problem_type: format!("urn:dtspp:problem:{slug}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            request_id: String::new(),
            errors: Vec::new(),
        }
    }

    /// The problem for an error response that did not come from [`ApiError`], such as a
    /// framework's own 405 or 413: its status alone, with nothing of its original body.
    pub fn for_status(status: StatusCode) -> Problem {
        let reason = status.canonical_reason().unwrap_or("Error");
        let slug = reason.to_ascii_lowercase().replace([' ', '\''], "-");
        let detail = if status.is_server_error() {
            "The server could not complete the request.".to_owned()
        } else {
            format!("{reason}.")
        };
        Problem::new(status, &slug, detail)
    }

    /// The JSON body.
    pub fn to_body(&self) -> Vec<u8> {
        // A struct of strings and numbers always serialises.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the body is not well-formed JSON, or the request cannot be read.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 401: no credentials, or bad ones.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// 403: authenticated, but not allowed.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// 403 with a problem type of its own (`urn:dtspp:problem:{slug}`), for refusals the caller
    /// can act on, such as `email-unverified`.
    #[error("forbidden ({slug}): {detail}")]
    ForbiddenOf { slug: &'static str, detail: String },
    /// 404: no such resource, or not the caller's.
    #[error("not found: {0}")]
    NotFound(String),
    /// 405: the path exists, but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed { allowed: Vec<String> },
    /// 409: the resource's state forbids the request, or it would duplicate another.
    #[error("conflict: {0}")]
    Conflict(String),
    /// 409 with a problem type of its own (`urn:dtspp:problem:{slug}`), for conflicts a client
    /// acts on differently, such as `vendor-suspended`.
    #[error("conflict ({slug}): {detail}")]
    ConflictOf { slug: &'static str, detail: String },
    /// 413: the body is larger than `limit` bytes.
    #[error("payload too large")]
    PayloadTooLarge { limit: usize },
    /// 415: the body is not of a media type the endpoint accepts.
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// 422: the input is well-formed but invalid, field by field.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// 429: too many requests; retry after the given number of seconds.
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    /// 503 `busy`: every pooled connection stayed in use for the acquire timeout, or the
    /// database kept refusing the transaction for contention (serialization failures,
    /// deadlocks, a guarded balance that moved), even after retries. Not an outage.
    #[error("contention: {0}")]
    Busy(#[source] anyhow::Error),
    /// 503: a dependency (the database) cannot serve the request now.
    #[error("service unavailable: {0}")]
    Unavailable(#[source] anyhow::Error),
    /// 503, like [`ApiError::Unavailable`]: the database connection was lost before the
    /// transaction reached COMMIT, so nothing was written and [`crate::db::Db::write`] may run
    /// it once more on a fresh connection.
    #[error("database connection lost: {0}")]
    ConnectionLost(#[source] anyhow::Error),
    /// 500: a bug or an unexpected failure. Opaque to the client; the cause is logged.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    /// A 500 whose cause is logged, never shown.
    pub fn internal(cause: impl Into<anyhow::Error>) -> ApiError {
        ApiError::Internal(cause.into())
    }

    /// A 503 for a database that cannot be reached or gave no connection in time.
    pub fn database_unavailable(cause: impl Into<anyhow::Error>) -> ApiError {
        ApiError::Unavailable(cause.into().context("database unavailable"))
    }

    /// The same error again, for a second caller that waited on the first's work (a
    /// coalesced cache miss). Causes are carried as their messages.
    pub fn duplicate(&self) -> ApiError {
        let cause = |c: &anyhow::Error| anyhow::anyhow!("{c:#}");
        match self {
            ApiError::BadRequest(d) => ApiError::BadRequest(d.clone()),
            ApiError::Unauthorized(d) => ApiError::Unauthorized(d.clone()),
            ApiError::Forbidden(d) => ApiError::Forbidden(d.clone()),
            ApiError::ForbiddenOf { slug, detail } => ApiError::ForbiddenOf {
                slug,
                detail: detail.clone(),
            },
            ApiError::NotFound(d) => ApiError::NotFound(d.clone()),
            ApiError::MethodNotAllowed { allowed } => ApiError::MethodNotAllowed {
                allowed: allowed.clone(),
            },
            ApiError::Conflict(d) => ApiError::Conflict(d.clone()),
            ApiError::ConflictOf { slug, detail } => ApiError::ConflictOf {
                slug,
                detail: detail.clone(),
            },
            ApiError::PayloadTooLarge { limit } => ApiError::PayloadTooLarge { limit: *limit },
            ApiError::UnsupportedMediaType(d) => ApiError::UnsupportedMediaType(d.clone()),
            ApiError::Validation(errors) => ApiError::Validation(errors.clone()),
            ApiError::TooManyRequests { retry_after_secs } => ApiError::TooManyRequests {
                retry_after_secs: *retry_after_secs,
            },
            ApiError::Busy(c) => ApiError::Busy(cause(c)),
            ApiError::Unavailable(c) => ApiError::Unavailable(cause(c)),
            ApiError::ConnectionLost(c) => ApiError::ConnectionLost(cause(c)),
            ApiError::Internal(c) => ApiError::Internal(cause(c)),
        }
    }

    /// A 422 for one field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }

    /// The problem body for this error, without its request id (the request-context
    /// middleware fills that in).
    pub fn problem(&self) -> Problem {
        let status = self.status_code();
        match self {
            ApiError::BadRequest(detail) => Problem::new(status, "bad-request", detail.clone()),
            ApiError::Unauthorized(detail) => Problem::new(status, "unauthorized", detail.clone()),
            ApiError::Forbidden(detail) => Problem::new(status, "forbidden", detail.clone()),
            ApiError::ForbiddenOf { slug, detail } => Problem::new(status, slug, detail.clone()),
            ApiError::NotFound(detail) => Problem::new(status, "not-found", detail.clone()),
            ApiError::MethodNotAllowed { allowed } => Problem::new(
                status,
                "method-not-allowed",
                format!("This path accepts {}.", allowed.join(", ")),
            ),
            ApiError::Conflict(detail) => Problem::new(status, "conflict", detail.clone()),
            ApiError::ConflictOf { slug, detail } => Problem::new(status, slug, detail.clone()),
            ApiError::PayloadTooLarge { limit } => Problem::new(
                status,
                "payload-too-large",
                format!(
                    "The request body is larger than the limit of {} KiB.",
                    limit / 1024
                ),
            ),
            ApiError::UnsupportedMediaType(detail) => {
                Problem::new(status, "unsupported-media-type", detail.clone())
            }
            ApiError::Validation(errors) => Problem {
                errors: errors.clone(),
                ..Problem::new(
                    status,
                    "validation-failed",
                    "The request has invalid fields; see `errors`.",
                )
            },
            ApiError::TooManyRequests { retry_after_secs } => Problem::new(
                status,
                "rate-limited",
                format!("Too many requests; retry after {retry_after_secs} seconds."),
            ),
            ApiError::Busy(_) => Problem::new(
                status,
                "busy",
                "The service is too busy to complete the request now; retry shortly.",
            ),
            ApiError::Unavailable(_) | ApiError::ConnectionLost(_) => Problem::new(
                status,
                "database-unavailable",
                "The service cannot reach its database; retry shortly.",
            ),
            ApiError::Internal(_) => Problem::new(
                status,
                "internal-error",
                "The server could not complete the request. Quote the request id when reporting it.",
            ),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::ForbiddenOf { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) | ApiError::ConflictOf { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Busy(_) | ApiError::Unavailable(_) | ApiError::ConnectionLost(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiError::Internal(cause) => {
                tracing::error!(
                    error = format!("{cause:#}"),
                    "request failed with an internal error"
                );
            }
            ApiError::Busy(cause) => {
                tracing::warn!(
                    error = format!("{cause:#}"),
                    "request failed: busy (no database connection free, or contention)"
                );
            }
            ApiError::Unavailable(cause) | ApiError::ConnectionLost(cause) => {
                tracing::warn!(
                    error = format!("{cause:#}"),
                    "request failed: database unavailable"
                );
            }
            _ => {}
        }
        let problem = self.problem();
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        match self {
            ApiError::MethodNotAllowed { allowed } => {
                response.insert_header((header::ALLOW, allowed.join(", ")));
            }
            ApiError::TooManyRequests { retry_after_secs } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            ApiError::Busy(_) | ApiError::Unavailable(_) | ApiError::ConnectionLost(_) => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            ApiError::Unauthorized(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            _ => {}
        }
        let mut response = response.body(problem.to_body());
        response.extensions_mut().insert(problem);
        response
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match error {
            Error::NotFound => ApiError::NotFound("No such resource.".to_owned()),
            Error::DatabaseError(..) if means_connection_lost(&error) => {
                ApiError::ConnectionLost(error.into())
            }
            Error::DatabaseError(kind, ref info) if is_contention(&kind, info.message()) => {
                ApiError::Busy(error.into())
            }
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => ApiError::Conflict(
                "It would duplicate an existing record; reload and retry.".to_owned(),
            ),
            other => ApiError::internal(other),
        }
    }
}

/// Whether `error` means the connection it happened on is gone ([`is_connection_lost`]).
pub(crate) fn means_connection_lost(error: &diesel::result::Error) -> bool {
    matches!(error, diesel::result::Error::DatabaseError(kind, info)
        if is_connection_lost(kind, info.message()))
}

/// Whether a database error means the connection is gone: the server closed it, restarted, or
/// terminated the session (SQLSTATE 57P01 "terminating connection due to administrator
/// command", 57P02, 57P03).
fn is_connection_lost(kind: &diesel::result::DatabaseErrorKind, message: &str) -> bool {
    matches!(kind, diesel::result::DatabaseErrorKind::ClosedConnection)
        || [
            "terminating connection",
            "server closed the connection",
            "no connection to the server",
            "could not receive data from server",
            "could not send data to server",
            "the database system is shutting down",
            "the database system is starting up",
            "the database system is in recovery mode",
        ]
        .iter()
        .any(|m| message.contains(m))
}

/// Whether a database error is transient contention, worth retrying the transaction for:
/// PostgreSQL serialization failures and deadlocks, SQLite's busy lock.
fn is_contention(kind: &diesel::result::DatabaseErrorKind, message: &str) -> bool {
    matches!(
        kind,
        diesel::result::DatabaseErrorKind::SerializationFailure
    ) || message.contains("deadlock detected")
        || message.contains("database is locked")
}

impl From<validator::ValidationErrors> for ApiError {
    fn from(errors: validator::ValidationErrors) -> Self {
        ApiError::Validation(crate::extract::field_errors(&errors))
    }
}

/// The shared problem+json responses of the OpenAPI document, each a component operations
/// refer to by name.
pub mod responses {
    use super::Problem;

    /// The body is not well-formed JSON, or cannot be read.
    #[derive(utoipa::ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct BadRequest(pub Problem);

    /// No access token, or an invalid or expired one, or a disabled account's.
    #[derive(utoipa::ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct Unauthorized(pub Problem);

    /// The caller's role may not do this, or its account may not yet (`email-unverified`).
    #[derive(utoipa::ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct Forbidden(pub Problem);

    /// No such resource, or not the caller's.
    #[derive(utoipa::ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct NotFound(pub Problem);

    /// The resource's state forbids this, or it would duplicate another.
    #[derive(utoipa::ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct Conflict(pub Problem);

    /// The body is larger than 256 KiB.
    #[derive(utoipa::ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct PayloadTooLarge(pub Problem);

    /// The body is not JSON (`Content-Type: application/json`).
    #[derive(utoipa::ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct UnsupportedMediaType(pub Problem);

    /// The input is invalid; `errors` lists each field.
    #[derive(utoipa::ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct ValidationFailed(pub Problem);

    /// Rate limited; `Retry-After` gives the seconds to wait.
    #[derive(utoipa::ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct TooManyRequests(pub Problem);

    /// An unexpected failure; the body gives only the request id, the cause is logged.
    #[derive(utoipa::ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct InternalError(pub Problem);

    /// `database-unavailable` (the database cannot be reached) or `busy` (contention or a full
    /// connection pool persisted); `Retry-After` gives the seconds to wait.
    #[derive(utoipa::ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct Unavailable(pub Problem);
}

/// Attaches to `operation` (at `path`) the problem responses it can really give, decided once
/// here from what the operation is: any can fail (500); one under `/api/` uses the database
/// (503); one with a body can get a malformed (400), oversized (413), non-JSON (415) or invalid
/// (422) one; one with query parameters can get invalid ones (422); one that needs a token can
/// get none or a bad one (401) or the wrong role (403); one with a path id can name nothing
/// (404). Operations add their own (409, 429) in their `#[utoipa::path]`.
pub fn declare_problem_responses(path: &str, operation: &mut utoipa::openapi::path::Operation) {
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::{Ref, RefOr};
    let mut add = vec![("500", "InternalError")];
    if path.starts_with("/api/") || path == "/readyz" {
        add.push(("503", "Unavailable"));
    }
    if operation.request_body.is_some() {
        add.extend([
            ("400", "BadRequest"),
            ("413", "PayloadTooLarge"),
            ("415", "UnsupportedMediaType"),
            ("422", "ValidationFailed"),
        ]);
    }
    let parameters = operation.parameters.as_deref().unwrap_or_default();
    if parameters
        .iter()
        .any(|p| matches!(p.parameter_in, ParameterIn::Query))
    {
        add.push(("422", "ValidationFailed"));
    }
    if path.contains('{') {
        add.push(("404", "NotFound"));
    }
    let needs_token = operation
        .security
        .as_ref()
        .is_some_and(|s| s.iter().any(|r| r != &Default::default()));
    if needs_token {
        add.extend([("401", "Unauthorized"), ("403", "Forbidden")]);
    }
    for (status, name) in add {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(error: &ApiError) -> (u16, String) {
        let response = error.error_response();
        let status = response.status().as_u16();
        let bytes = actix_web::body::to_bytes(response.into_body());
        let bytes = futures_util::FutureExt::now_or_never(bytes)
            .and_then(Result::ok)
            .unwrap_or_default();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    #[test]
    fn internal_errors_never_show_their_cause() {
        let error = ApiError::internal(anyhow::anyhow!("password=hunter2 at db.internal:5432"));
        let (status, body) = body_of(&error);
        assert_eq!(status, 500);
        assert!(
            !body.contains("hunter2") && !body.contains("db.internal"),
            "{body}"
        );
        assert!(body.contains("urn:dtspp:problem:internal-error"));
        let (status, body) = body_of(&ApiError::database_unavailable(anyhow::anyhow!(
            "connection refused"
        )));
        assert_eq!(status, 503);
        assert!(!body.contains("refused"), "{body}");
    }

    #[test]
    fn diesel_not_found_is_a_404_and_other_diesel_errors_are_opaque_500s() {
        assert_eq!(
            ApiError::from(diesel::result::Error::NotFound).status_code(),
            StatusCode::NOT_FOUND
        );
        let other = ApiError::from(diesel::result::Error::BrokenTransactionManager);
        assert_eq!(other.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        let deadlock = diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::Unknown,
            Box::new("deadlock detected".to_owned()),
        );
        assert!(matches!(ApiError::from(deadlock), ApiError::Busy(_)));
        let serialization = diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::SerializationFailure,
            Box::new("could not serialize access".to_owned()),
        );
        assert!(matches!(ApiError::from(serialization), ApiError::Busy(_)));
        let terminated = diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::Unknown,
            Box::new("terminating connection due to administrator command".to_owned()),
        );
        let lost = ApiError::from(terminated);
        assert!(matches!(lost, ApiError::ConnectionLost(_)));
        let (status, body) = body_of(&lost);
        assert_eq!(status, 503);
        assert!(
            body.contains("urn:dtspp:problem:database-unavailable"),
            "{body}"
        );
        assert_eq!(
            lost.error_response()
                .headers()
                .get("retry-after")
                .map(|v| v.as_bytes()),
            Some(&b"1"[..])
        );
    }

    #[test]
    fn problems_for_foreign_errors_use_the_status_alone() {
        let problem = Problem::for_status(StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(problem.problem_type, "urn:dtspp:problem:payload-too-large");
        assert_eq!(problem.status, 413);
        let problem = Problem::for_status(StatusCode::BAD_GATEWAY);
        assert_eq!(problem.detail, "The server could not complete the request.");
    }
}
