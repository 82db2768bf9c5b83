//! Request-body extraction: JSON bodies that are parsed, then validated, with precise errors.
//!
//! [`ValidJson`] is the only way handlers read a JSON body. It answers 415 for another media
//! type, 413 past [`BODY_LIMIT`] (or the larger limit a route names, for forms whose valid
//! bodies can be larger), 400 for malformed JSON, and 422 with per-field `errors` for a
//! well-formed body of the wrong shape or one that fails its `validator` rules.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::web::{self, BytesMut};
use actix_web::{FromRequest, HttpRequest, ResponseError};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use validator::{Validate, ValidationError, ValidationErrors, ValidationErrorsKind};

use crate::error::{ApiError, FieldError};

/// The largest request body accepted: 256 KiB.
pub const BODY_LIMIT: usize = 256 * 1024;

/// A JSON request body of type `T`, deserialised and validated, read up to `LIMIT` bytes.
#[derive(Debug)]
pub struct ValidJson<T, const LIMIT: usize = BODY_LIMIT>(pub T);

impl<T, const LIMIT: usize> ValidJson<T, LIMIT> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T, const LIMIT: usize> FromRequest for ValidJson<T, LIMIT>
where
    T: DeserializeOwned + Validate + 'static,
{
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_body(req, payload, LIMIT);
        Box::pin(async move {
            let (bytes, media_type_ok) = body.await?;
            parse_valid(&bytes, media_type_ok).map(ValidJson)
        })
    }
}

/// An optional JSON body: `None` when the request has no body at all, otherwise exactly as
/// [`ValidJson`] (415, 413, 400 and 422 included).
#[derive(Debug)]
pub struct OptionalJson<T>(pub Option<T>);

impl<T> OptionalJson<T> {
    pub fn into_inner(self) -> Option<T> {
        self.0
    }
}

impl<T> FromRequest for OptionalJson<T>
where
    T: DeserializeOwned + Validate + 'static,
{
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_body(req, payload, BODY_LIMIT);
        Box::pin(async move {
            let (bytes, media_type_ok) = body.await?;
            if bytes.is_empty() {
                return Ok(OptionalJson(None));
            }
            parse_valid(&bytes, media_type_ok).map(|v| OptionalJson(Some(v)))
        })
    }
}

/// Reads the body up to `limit` bytes (413 beyond), and says whether its media type is JSON.
fn read_body(
    req: &HttpRequest,
    payload: &mut Payload,
    limit: usize,
) -> impl Future<Output = Result<(BytesMut, bool), ApiError>> + 'static {
    let media_type_ok = is_json(req);
    let declared_length = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let mut payload = payload.take();
    async move {
        if declared_length.is_some_and(|n| n > limit) {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| {
                ApiError::BadRequest(format!("The request body could not be read: {e}."))
            })?;
            if body.len() + chunk.len() > limit {
                return Err(ApiError::PayloadTooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok((body, media_type_ok))
    }
}

/// Refuses text holding U+0000 before it reaches a handler: a query parameter answers 422 naming
/// the parameter, a path segment 404 (no resource has such a name). JSON bodies are checked in
/// [`parse_json`]; headers cannot carry it.
pub async fn refuse_nul(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let refusal = if req.uri().path().contains("%00") {
        Some(ApiError::NotFound(
            "No resource exists at this path.".to_owned(),
        ))
    } else {
        nul_query_parameter(req.query_string()).map(|name| ApiError::invalid(name, NUL_MESSAGE))
    };
    match refusal {
        Some(error) => Ok(req.into_response(error.error_response())),
        None => Ok(next.call(req).await?.map_into_boxed_body()),
    }
}

/// The name of the first query parameter whose decoded name or value holds U+0000.
fn nul_query_parameter(query: &str) -> Option<String> {
    if !query.contains("%00") {
        return None;
    }
    let pairs = web::Query::<Vec<(String, String)>>::from_query(query).ok()?;
    pairs
        .into_inner()
        .into_iter()
        .find(|(name, value)| name.contains('\0') || value.contains('\0'))
        .map(|(name, _)| name)
}

/// 415 unless the media type is JSON; then parses and validates.
fn parse_valid<T: DeserializeOwned + Validate>(
    body: &[u8],
    media_type_ok: bool,
) -> Result<T, ApiError> {
    if !media_type_ok {
        return Err(ApiError::UnsupportedMediaType(
            "The request body must be JSON, sent with `Content-Type: application/json`.".to_owned(),
        ));
    }
    let value: T = parse_json(body)?;
    value.validate()?;
    Ok(value)
}

/// `application/json`, or any `+json` suffix type, is accepted.
fn is_json(req: &HttpRequest) -> bool {
    let Some(Ok(content_type)) = req.headers().get(header::CONTENT_TYPE).map(|v| v.to_str()) else {
        return false;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses `body` as one JSON object of type `T`: 400 when it is not JSON at all, 422 naming the
/// field when it is JSON of the wrong shape (another kind of value than an object, such as
/// `[null, null]`, is a 422 on `body`).
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest(
            "The request body is empty; a JSON object is required.".to_owned(),
        ));
    }
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| malformed(&e))?;
    if !value.is_object() {
        return Err(ApiError::invalid("body", "must be a JSON object"));
    }
    if let Some(path) = nul_path(&value, "") {
        return Err(ApiError::invalid(path, NUL_MESSAGE));
    }
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        shape_error(&path, &inner)
    })
}

/// Why text holding U+0000 is refused: PostgreSQL cannot store it in `text`, and no field of
/// the programme has a use for it, so it is refused on both backends alike.
pub const NUL_MESSAGE: &str = "must not contain the NUL character (U+0000)";

/// The path of the first string, or object key, that holds U+0000, in the same notation as the
/// shape errors (`items[1].name`; a key names itself).
fn nul_path(value: &serde_json::Value, path: &str) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::String(text) => text.contains('\0').then(|| join_path(path, "")),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_path(item, &format!("{}[{i}]", join_path(path, "")))),
        Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let field = join_path(path, key);
            if key.contains('\0') {
                Some(field)
            } else {
                nul_path(item, &field)
            }
        }),
        Value::Null | Value::Bool(_) | Value::Number(_) => None,
    }
}

fn shape_error(path: &str, error: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    match error.classify() {
        Category::Data => {
            let message = strip_position(&error.to_string());
            // serde reports a missing field at its parent; name the field itself.
            let (field, message) = match missing_field_name(&message) {
                Some(name) => (join_path(path, name), "is required".to_owned()),
                None => (join_path(path, ""), message),
            };
            ApiError::Validation(vec![FieldError::new(field, message)])
        }
        Category::Syntax | Category::Eof | Category::Io => malformed(error),
    }
}

fn malformed(error: &serde_json::Error) -> ApiError {
    ApiError::BadRequest(format!("The request body is not valid JSON: {error}."))
}

fn missing_field_name(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.strip_suffix('`')
}

/// serde_json appends " at line L column C" to data errors; the field path says more.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// Joins a serde path (`.` for the root) and a field name.
fn join_path(path: &str, field: &str) -> String {
    match (path, field) {
        (".", "") | ("", "") => "body".to_owned(),
        (".", f) | ("", f) => f.to_owned(),
        (p, "") => p.to_owned(),
        (p, f) => format!("{p}.{f}"),
    }
}

/// Flattens `validator`'s nested errors into one list of field paths and messages, sorted by
/// field, so that clients and tests see a stable order.
pub fn field_errors(errors: &ValidationErrors) -> Vec<FieldError> {
    let mut out = Vec::new();
    collect(&mut out, "", errors);
    out.sort_by(|a, b| {
        a.field
            .cmp(&b.field)
            .then_with(|| a.message.cmp(&b.message))
    });
    out
}

fn collect(out: &mut Vec<FieldError>, prefix: &str, errors: &ValidationErrors) {
    for (field, kind) in errors.errors() {
        let path = match (prefix, field.as_ref()) {
            ("", "__all__") => "body".to_owned(),
            (p, "__all__") => p.to_owned(),
            ("", f) => f.to_owned(),
            (p, f) => format!("{p}.{f}"),
        };
        match kind {
            ValidationErrorsKind::Field(list) => {
                out.extend(
                    list.iter()
                        .map(|e| FieldError::new(path.clone(), message_of(e))),
                );
            }
            ValidationErrorsKind::Struct(inner) => collect(out, &path, inner),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    collect(out, &format!("{path}[{index}]"), inner);
                }
            }
        }
    }
}

/// The rule's own message, or an English sentence built from its code and parameters.
fn message_of(error: &ValidationError) -> String {
    if let Some(message) = &error.message {
        return message.to_string();
    }
    let param = |name: &str| error.params.get(name).map(|v| v.to_string());
    match (error.code.as_ref(), param("min"), param("max")) {
        ("length", Some(min), Some(max)) => {
            format!("must be between {min} and {max} characters long")
        }
        ("length", Some(min), None) => format!("must be at least {min} characters long"),
        ("length", None, Some(max)) => format!("must be at most {max} characters long"),
        ("range", Some(min), Some(max)) => format!("must be between {min} and {max}"),
        ("range", Some(min), None) => format!("must be at least {min}"),
        ("range", None, Some(max)) => format!("must be at most {max}"),
        ("email", ..) => "must be a valid email address".to_owned(),
        ("url", ..) => "must be a valid URL".to_owned(),
        ("required", ..) => "is required".to_owned(),
        (code, ..) => format!("is invalid ({})", Cow::<str>::from(code.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Problem;
    use actix_web::{App, HttpResponse, test, web};
    use serde::Deserialize;

    #[derive(Debug, Deserialize, Validate)]
    struct Probe {
        #[validate(email)]
        email: String,
        #[validate(length(min = 12))]
        password: String,
        #[validate(nested)]
        #[serde(default)]
        items: Vec<Item>,
    }

    #[derive(Debug, Deserialize, Validate)]
    struct Item {
        #[validate(range(min = 1))]
        quantity: u32,
    }

    async fn probe(body: ValidJson<Probe>) -> HttpResponse {
        HttpResponse::Ok().body(body.into_inner().email)
    }

    async fn call(content_type: &str, body: impl Into<Vec<u8>>) -> (u16, Problem) {
        let app = test::init_service(App::new().route("/probe", web::post().to(probe))).await;
        let req = test::TestRequest::post()
            .uri("/probe")
            .insert_header((header::CONTENT_TYPE, content_type))
            .set_payload(body.into())
            .to_request();
        let res = test::call_service(&app, req).await;
        let status = res.status().as_u16();
        if status == 200 {
            return (status, Problem::for_status(res.status()));
        }
        let content_type = res.headers().get(header::CONTENT_TYPE).cloned();
        assert_eq!(
            content_type.as_ref().and_then(|v| v.to_str().ok()),
            Some(crate::error::PROBLEM_JSON)
        );
        let problem: Problem = test::read_body_json(res).await;
        (status, problem)
    }

    const GOOD: &str = r#"{"email":"a@example.org","password":"correct horse battery"}"#;

    #[actix_web::test]
    async fn a_valid_body_reaches_the_handler() {
        assert_eq!(call("application/json", GOOD).await.0, 200);
        assert_eq!(call("application/json; charset=utf-8", GOOD).await.0, 200);
    }

    #[actix_web::test]
    async fn malformed_json_is_400() {
        let (status, problem) = call("application/json", "{").await;
        assert_eq!(status, 400);
        assert!(problem.detail.contains("not valid JSON"), "{problem:?}");
        assert_eq!(call("application/json", "").await.0, 400);
        assert_eq!(
            call("application/json", format!("{GOOD} trailing")).await.0,
            400
        );
    }

    #[actix_web::test]
    async fn another_media_type_is_415() {
        assert_eq!(call("text/plain", GOOD).await.0, 415);
        assert_eq!(
            call("application/x-www-form-urlencoded", "email=a").await.0,
            415
        );
    }

    #[actix_web::test]
    async fn a_body_over_256_kib_is_413() {
        let padding = "x".repeat(BODY_LIMIT);
        let body = format!(r#"{{"email":"a@example.org","password":"{padding}"}}"#);
        assert_eq!(call("application/json", body).await.0, 413);
    }

    #[actix_web::test]
    async fn the_wrong_shape_is_422_naming_the_field() {
        let (status, problem) = call("application/json", r#"{"email":"a@example.org"}"#).await;
        assert_eq!(status, 422);
        assert_eq!(
            problem.errors,
            vec![FieldError::new("password", "is required")]
        );

        let body = r#"{"email":"a@example.org","password":"correct horse battery","items":[{"quantity":"two"}]}"#;
        let (status, problem) = call("application/json", body).await;
        assert_eq!(status, 422);
        assert_eq!(problem.errors.len(), 1);
        assert_eq!(problem.errors[0].field, "items[0].quantity");
    }

    #[actix_web::test]
    async fn the_nul_character_is_422_naming_where_it_is() {
        let body = r#"{"email":"a@example.org","password":"correct\u0000horse battery"}"#;
        let (status, problem) = call("application/json", body).await;
        assert_eq!(status, 422);
        assert_eq!(
            problem.errors,
            vec![FieldError::new("password", NUL_MESSAGE)]
        );

        let body = r#"{"email":"a@example.org","password":"correct horse battery","items":[{"quantity":1},{"quantity":1,"note":"\u0000"}]}"#;
        assert_eq!(
            call("application/json", body).await.1.errors[0].field,
            "items[1].note"
        );

        let body = r#"{"email":"a@example.org","password":"correct horse battery","x\u0000":[]}"#;
        assert_eq!(
            call("application/json", body).await.1.errors[0].field,
            "x\u{0}"
        );

        // An escaped backslash followed by `u0000` is six ordinary characters.
        let body = r#"{"email":"a@example.org","password":"correct \\u0000 battery"}"#;
        assert_eq!(call("application/json", body).await.0, 200);
    }

    #[actix_web::test]
    async fn validator_failures_are_422_with_every_field() {
        let body = r#"{"email":"nope","password":"short","items":[{"quantity":1},{"quantity":0}]}"#;
        let (status, problem) = call("application/json", body).await;
        assert_eq!(status, 422);
        assert_eq!(problem.problem_type, "urn:dtspp:problem:validation-failed");
        let fields: Vec<&str> = problem.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["email", "items[1].quantity", "password"]);
        assert_eq!(
            problem.errors[2].message,
            "must be at least 12 characters long"
        );
    }
}
