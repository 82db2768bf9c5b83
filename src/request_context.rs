//! The outermost middleware: gives every request an id, times and counts it, and guarantees
//! that every error response is `application/problem+json` carrying that id.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, web};

use crate::error::{PROBLEM_JSON, Problem};
use crate::metrics::Metrics;
use crate::telemetry::RequestStart;

/// The header that carries the request id, in and out.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The longest caller-supplied request id that is kept.
const MAX_REQUEST_ID_LEN: usize = 128;

/// The id of one request: the caller's `X-Request-Id` if it is sane, otherwise a new UUID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    /// Keeps a caller's id of 1 to 128 visible ASCII characters; otherwise makes a new one.
    pub fn from_header(value: Option<&HeaderValue>) -> RequestId {
        value
            .and_then(|v| v.to_str().ok())
            .filter(|v| {
                !v.is_empty()
                    && v.len() <= MAX_REQUEST_ID_LEN
                    && v.bytes().all(|b| b.is_ascii_graphic())
            })
            .map(|v| RequestId(v.to_owned()))
            .unwrap_or_else(|| RequestId(uuid::Uuid::new_v4().to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// See the module documentation. Wrapped last, so that it runs first and sees every response.
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let request_id = RequestId::from_header(req.headers().get(&REQUEST_ID_HEADER));
    req.extensions_mut().insert(request_id.clone());
    req.extensions_mut().insert(RequestStart(started));
    let method = req.method().clone();
    let route = req.match_pattern();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let observe = |status: StatusCode, statements: u64| {
        if let Some(metrics) = &metrics {
            let route = route.as_deref().unwrap_or("<unmatched>");
            metrics.observe_request(method.as_str(), route, status.as_u16(), started.elapsed());
            metrics.observe_statements(method.as_str(), route, statements);
        }
    };

    let (outcome, statements) = crate::db::statements::in_request(next.call(req)).await;
    match outcome {
        Ok(response) => {
            let (request, response) = response.map_into_boxed_body().into_parts();
            let response = finish(response, &request_id);
            observe(response.status(), statements);
            Ok(ServiceResponse::new(request, response))
        }
        // An inner middleware failed before any handler answered. The request is gone with the
        // error, so answer through the error itself, with the same treatment.
        Err(error) => {
            let response = finish(error.error_response(), &request_id);
            observe(response.status(), statements);
            Err(InternalError::from_response(error, response).into())
        }
    }
}

/// Adds the request id header and, for an error, rewrites the body as problem+json with the
/// request id: the [`Problem`] an `ApiError` left in the response's extensions, or a generic
/// one for the status when the error came from elsewhere (the framework's own 404/405/413, a
/// middleware), whose original body is dropped so that nothing internal leaks.
fn finish(mut response: HttpResponse<BoxBody>, request_id: &RequestId) -> HttpResponse<BoxBody> {
    let status = response.status();
    if status.is_client_error() || status.is_server_error() {
        let mut problem = response
            .extensions_mut()
            .remove::<Problem>()
            .unwrap_or_else(|| Problem::for_status(status));
        problem.request_id = request_id.as_str().to_owned();
        response = response.set_body(BoxBody::new(problem.to_body()));
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        headers.remove(header::CONTENT_LENGTH);
    }
    if let Ok(value) = HeaderValue::from_str(request_id.as_str()) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sane_caller_id_is_kept() {
        let id = RequestId::from_header(Some(&HeaderValue::from_static("abc-123_XYZ.789")));
        assert_eq!(id.as_str(), "abc-123_XYZ.789");
    }

    #[test]
    fn a_missing_overlong_or_odd_id_is_replaced_by_a_uuid() {
        let long = "a".repeat(MAX_REQUEST_ID_LEN + 1);
        for value in [
            None,
            Some(HeaderValue::from_static("")),
            Some(HeaderValue::from_static("has space")),
            HeaderValue::from_str(&long).ok(),
        ] {
            let id = RequestId::from_header(value.as_ref());
            assert!(
                uuid::Uuid::parse_str(id.as_str()).is_ok(),
                "{value:?} gave {id:?}"
            );
        }
        let exactly_max = "b".repeat(MAX_REQUEST_ID_LEN);
        let id = RequestId::from_header(HeaderValue::from_str(&exactly_max).ok().as_ref());
        assert_eq!(id.as_str(), exactly_max);
    }
}
