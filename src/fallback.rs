//! Answers requests no route takes: 405 with `Allow` when the path exists under other methods,
//! 404 otherwise. The route table comes from the OpenAPI document, which is built from the
//! routes themselves, so the two cannot disagree.

use actix_web::{HttpRequest, HttpResponse, web};
use utoipa::openapi::OpenApi;

use crate::error::ApiError;

enum Segment {
    Literal(String),
    Parameter,
}

/// Every documented path template and the methods it accepts.
pub struct RouteTable {
    routes: Vec<(Vec<Segment>, Vec<&'static str>)>,
}

impl RouteTable {
    /// Reads the templates and methods out of `doc`, plus the routes that serve the document.
    pub fn from_openapi(doc: &OpenApi) -> RouteTable {
        let mut routes: Vec<(Vec<Segment>, Vec<&'static str>)> = doc
            .paths
            .paths
            .iter()
            .map(|(template, item)| {
                let methods = [
                    ("GET", item.get.is_some()),
                    ("PUT", item.put.is_some()),
                    ("POST", item.post.is_some()),
                    ("DELETE", item.delete.is_some()),
                    ("OPTIONS", item.options.is_some()),
                    ("HEAD", item.head.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("TRACE", item.trace.is_some()),
                ]
                .into_iter()
                .filter_map(|(name, present)| present.then_some(name))
                .collect();
                (parse_template(template), methods)
            })
            .collect();
        routes.push((parse_template("/openapi.json"), vec!["GET"]));
        RouteTable { routes }
    }

    /// The methods some route accepts at `path`, or `None` when no route has that path.
    pub fn allowed_methods(&self, path: &str) -> Option<Vec<&'static str>> {
        let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        let mut allowed: Vec<&'static str> = self
            .routes
            .iter()
            .filter(|(template, _)| matches(template, &segments))
            .flat_map(|(_, methods)| methods.iter().copied())
            .collect();
        allowed.sort_unstable();
        allowed.dedup();
        (!allowed.is_empty()).then_some(allowed)
    }
}

fn parse_template(template: &str) -> Vec<Segment> {
    template
        .trim_end_matches('/')
        .split('/')
        .map(|s| {
            if s.starts_with('{') && s.ends_with('}') {
                Segment::Parameter
            } else {
                Segment::Literal(s.to_owned())
            }
        })
        .collect()
}

fn matches(template: &[Segment], segments: &[&str]) -> bool {
    template.len() == segments.len()
        && template.iter().zip(segments).all(|(t, s)| match t {
            Segment::Literal(l) => l == s,
            Segment::Parameter => !s.is_empty(),
        })
}

/// The default service: 405 or 404, as problem+json.
pub async fn unmatched_route(
    req: HttpRequest,
    routes: web::Data<RouteTable>,
) -> Result<HttpResponse, ApiError> {
    match routes.allowed_methods(req.path()) {
        Some(allowed) => Err(ApiError::MethodNotAllowed {
            allowed: allowed.into_iter().map(str::to_owned).collect(),
        }),
        None => Err(ApiError::NotFound(
            "No resource exists at this path.".to_owned(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem, PathsBuilder};
    use utoipa::openapi::{InfoBuilder, OpenApiBuilder};

    #[test]
    fn templates_match_by_segment_and_collect_methods() {
        let paths = PathsBuilder::new()
            .path(
                "/api/v1/things/{id}",
                PathItem::new(HttpMethod::Get, OperationBuilder::new()),
            )
            .path(
                "/api/v1/things/{id}/submit",
                PathItem::new(HttpMethod::Post, OperationBuilder::new()),
            )
            .build();
        let doc = OpenApiBuilder::new()
            .info(InfoBuilder::new().title("t").version("1").build())
            .paths(paths)
            .build();
        let table = RouteTable::from_openapi(&doc);
        assert_eq!(
            table.allowed_methods("/api/v1/things/42"),
            Some(vec!["GET"])
        );
        assert_eq!(
            table.allowed_methods("/api/v1/things/42/"),
            Some(vec!["GET"])
        );
        assert_eq!(
            table.allowed_methods("/api/v1/things/42/submit"),
            Some(vec!["POST"])
        );
        assert_eq!(table.allowed_methods("/api/v1/things"), None);
        assert_eq!(table.allowed_methods("/api/v1/things//submit"), None);
        assert_eq!(table.allowed_methods("/openapi.json"), Some(vec!["GET"]));
    }
}
