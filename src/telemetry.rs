//! Logging: a tracing subscriber, and one span per request carrying its method, route,
//! request id, status and latency.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::RootSpanBuilder;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;
use crate::request_context::RequestId;

/// Installs the global subscriber: `filter` in `EnvFilter` syntax, lines to stdout.
/// Does nothing if a subscriber is already installed (as in tests that start several apps).
pub fn init(filter: &str, format: LogFormat) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    let _already_installed = match format {
        LogFormat::Pretty => registry.with(tracing_subscriber::fmt::layer()).try_init(),
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init(),
    };
}

/// When the request-context middleware first saw the request.
#[derive(Debug, Clone, Copy)]
pub struct RequestStart(pub Instant);

/// Builds the per-request span that every log line of a request is written in.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(|id| id.as_str().to_owned())
            .unwrap_or_default();
        let route = request
            .match_pattern()
            .unwrap_or_else(|| "<unmatched>".to_owned());
        let proxies = request.app_data::<actix_web::web::Data<crate::client_ip::TrustedProxies>>();
        let client_ip = proxies
            .and_then(|p| p.of_request(request.request()))
            .map(|ip| ip.to_string())
            .unwrap_or_default();
        tracing::info_span!(
            "request",
            method = %request.method(),
            client_ip = %client_ip,
            route = %route,
            path = %request.path(),
            request_id = %request_id,
            status = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let (status, started) = match outcome {
            Ok(response) => (
                response.status(),
                response
                    .request()
                    .extensions()
                    .get::<RequestStart>()
                    .copied(),
            ),
            Err(error) => (error.as_response_error().status_code(), None),
        };
        span.record("status", status.as_u16());
        if let Some(RequestStart(started)) = started {
            span.record("latency_ms", started.elapsed().as_secs_f64() * 1000.0);
        }
        span.in_scope(|| {
            if status.is_server_error() {
                tracing::error!("request failed");
            } else {
                tracing::info!("request completed");
            }
        });
    }
}
