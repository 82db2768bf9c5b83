//! The assembled OpenAPI 3.1 document. Routes register their own operations (utoipa-actix-web),
//! so the document and the router are built from the same calls and cannot drift.

use actix_web::App;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as OpenApiDoc, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{FieldError, PROBLEM_JSON, Problem};

/// The document's fixed parts: info, tags, shared schemas, the bearer scheme.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "DTSPP marketplace API",
        description = "The marketplace backend of Hong Kong's Digital Transformation Support Pilot \
                       Programme: vendors list digital-solution packages, SMEs apply for 1:1 \
                       matching subsidies, and programme admins vet, approve and disburse.\n\n\
                       Money is a decimal string with two decimals (`\"25000.00\"`). Errors are \
                       RFC 9457 `application/problem+json`. Every response carries `X-Request-Id`.",
    ),
    components(schemas(Problem, FieldError)),
    modifiers(&SharedComponents),
    tags((name = "operations", description = "Liveness, readiness and metrics.")),
)]
pub struct ApiDoc;

/// Declares the bearer security scheme and the shared error responses.
struct SharedComponents;

impl Modify for SharedComponents {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("An access token from `POST /api/v1/auth/login`."))
                    .build(),
            ),
        );
        for (name, description) in [
            ("BadRequest", "The body is not well-formed JSON."),
            (
                "Unauthorized",
                "No access token, or an invalid or expired one.",
            ),
            ("Forbidden", "The caller's role may not do this."),
            ("NotFound", "No such resource, or not the caller's."),
            (
                "Conflict",
                "The resource's state forbids this, or it would duplicate another.",
            ),
            ("PayloadTooLarge", "The body is larger than 256 KiB."),
            (
                "UnsupportedMediaType",
                "The body is not `application/json`.",
            ),
            (
                "ValidationFailed",
                "The input is invalid; `errors` lists each field.",
            ),
            ("TooManyRequests", "Rate limited; see `Retry-After`."),
            (
                "InternalError",
                "An unexpected failure; the body gives only the request id.",
            ),
        ] {
            components.responses.insert(
                name.to_owned(),
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        PROBLEM_JSON,
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("Problem")))
                            .build(),
                    )
                    .build()
                    .into(),
            );
        }
    }
}

/// Registers every documented route. The server and [`document`] both call this.
pub fn configure_routes(cfg: &mut ServiceConfig) {
    crate::ops::configure(cfg);
}

/// The full document, without starting a server.
pub fn document() -> OpenApiDoc {
    let (_, doc) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(configure_routes)
        .split_for_parts();
    doc
}

/// The document as pretty JSON with a trailing newline: what `dtspp openapi` prints and
/// `openapi/openapi.json` holds.
pub fn document_json() -> String {
    let mut json = document().to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}
