//! The assembled OpenAPI 3.1 document. Routes register their own operations (utoipa-actix-web),
//! so the document and the router are built from the same calls and cannot drift.

use actix_web::App;
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::error::{FieldError, Problem, responses};

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
    components(
        schemas(Problem, FieldError),
        responses(
            responses::BadRequest,
            responses::Unauthorized,
            responses::Forbidden,
            responses::NotFound,
            responses::Conflict,
            responses::ValidationFailed,
            responses::TooManyRequests,
            responses::PayloadTooLarge,
            responses::UnsupportedMediaType,
            responses::InternalError,
            responses::Unavailable,
        ),
    ),
    servers((url = "/", description = "This server")),
    modifiers(&SharedComponents),
    tags(
        (name = "operations", description = "Liveness, readiness and metrics."),
        (name = "identity", description = "Registration, login, tokens, email verification and password reset."),
        (name = "vendors", description = "Vendor profiles and their verification by admins."),
        (name = "packages", description = "Vendors' solution packages and their review, revision by revision."),
        (name = "catalogue", description = "The public catalogue: listed packages and the subsidy each would get."),
        (name = "programme", description = "The programme's rules, intake batches and live figures."),
        (name = "sme journey", description = "Enquiries, applications and their lifecycle, from reservation to disbursement."),
        (name = "budget", description = "The budget's drawdown and its append-only ledger."),
        (name = "oversight", description = "What programme admins watch: the audit trail and the outbox."),
        (name = "risk", description = "Risk flags raised by the fraud indicators, their review (maker-checker), the scan, and conflicts of interest."),
        (name = "finder", description = "The solution finder: the best subsidised bundles for an SME's needs and budget."),
        (name = "reports", description = "The budget's drawdown (JSON, CSV, chart) and the grants in 360Giving's fields."),
        (name = "events", description = "Seminars and events: the listing and calendar files, registration with a waitlist, reminders, and attendance."),
        (name = "guides", description = "Bilingual guidance articles for SMEs, written by admins in Markdown and served as sanitised HTML."),
    ),
)]
pub struct ApiDoc;

/// Declares the bearer security scheme.
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
    }
}

/// The full document, without starting a server.
pub fn document() -> OpenApiDoc {
    use utoipa::openapi::security::SecurityRequirement;
    let (_, mut doc) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::startup::configure_routes)
        .split_for_parts();
    for (path, operation) in operations_mut(&mut doc) {
        // No security declared means public: say so (`security: [{}]`), so that clients and
        // linters know it rather than guess.
        operation
            .security
            .get_or_insert_with(|| vec![SecurityRequirement::default()]);
        crate::error::declare_problem_responses(path, operation);
    }
    doc
}

/// Every operation of `doc`, with its path.
fn operations_mut(doc: &mut OpenApiDoc) -> impl Iterator<Item = (&str, &mut Operation)> {
    doc.paths.paths.iter_mut().flat_map(|(path, item)| {
        [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
            &mut item.head,
        ]
        .into_iter()
        .flatten()
        .map(move |operation| (path.as_str(), operation))
    })
}

/// The document as pretty JSON with a trailing newline: what `dtspp openapi` prints and
/// `openapi/openapi.json` holds.
pub fn document_json() -> String {
    let mut json = document().to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}

#[cfg(test)]
mod tests {
    /// Generated clients name their methods after operationIds, and validators refuse a
    /// document that repeats one.
    #[test]
    fn every_operation_id_is_unique() {
        let mut doc = super::document();
        let mut seen = std::collections::HashMap::new();
        for (path, operation) in super::operations_mut(&mut doc) {
            let id = operation
                .operation_id
                .clone()
                .expect("every operation has an id");
            if let Some(other) = seen.insert(id.clone(), path.to_owned()) {
                panic!("operationId {id} is used by {other} and {path}");
            }
        }
        assert!(seen.len() > 60, "{} operations", seen.len());
    }
}
