//! The OpenAPI document: served, documented, and identical to the committed copy.

use serde_json::Value;

use crate::test_on_both_backends;

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");

/// The JSON pointer of the first place where `a` and `b` differ, if any.
fn first_difference(a: &Value, b: &Value, at: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|k| match (x.get(k), y.get(k)) {
                (Some(p), Some(q)) => first_difference(p, q, &format!("{at}/{k}")),
                _ => Some(format!("{at}/{k}")),
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| first_difference(p, q, &format!("{at}/{i}"))),
        _ if a == b => None,
        _ => Some(if at.is_empty() {
            "/".to_owned()
        } else {
            at.to_owned()
        }),
    }
}

test_on_both_backends! {
    async fn the_served_spec_matches_the_committed_openapi_json(app) {
        let served: Value = app.get("/openapi.json").await.json().await.unwrap();
        let committed_text = std::fs::read_to_string(COMMITTED).unwrap_or_default();
        let committed: Value = serde_json::from_str(&committed_text).unwrap_or(Value::Null);
        if let Some(at) = first_difference(&served, &committed, "") {
            panic!(
                "openapi/openapi.json differs from the spec the code serves (first difference at \
                 {at}).\nIf the API change is intended, refresh the committed copy with\n\n    \
                 cargo run -- openapi > openapi/openapi.json\n\nand commit it with the change."
            );
        }
    }

    async fn the_spec_is_openapi_3_1_with_shared_errors_and_bearer_auth(app) {
        let spec: Value = app.get("/openapi.json").await.json().await.unwrap();
        assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
        let components = &spec["components"];
        assert_eq!(components["securitySchemes"]["bearer"]["scheme"], "bearer");
        assert_eq!(components["securitySchemes"]["bearer"]["bearerFormat"], "JWT");
        let problem = &components["schemas"]["Problem"]["properties"];
        for field in ["type", "title", "status", "detail", "request_id", "errors"] {
            assert!(problem.get(field).is_some(), "Problem lacks {field}");
        }
        assert!(components["responses"]["ValidationFailed"]["content"]["application/problem+json"].is_object());
        for path in ["/healthz", "/readyz", "/metrics"] {
            assert!(spec["paths"][path]["get"].is_object(), "{path} is not documented");
        }
        // Every reference resolves: a parameter typed by a schema that no body uses is not
        // collected into the components (utoipa), and the validators refuse the document.
        let mut refs = Vec::new();
        collect_refs(&spec, &mut refs);
        for r in refs {
            let pointer = r.trim_start_matches('#');
            assert!(spec.pointer(pointer).is_some(), "{r} does not resolve");
        }
    }

    async fn swagger_ui_is_served_without_any_download(app) {
        let res = app.get("/docs/").await;
        assert_eq!(res.status(), 200);
        let html = res.text().await.unwrap();
        assert!(html.contains("swagger-ui"), "{html}");
        let res = app.get("/docs/swagger-ui-bundle.js").await;
        assert_eq!(res.status(), 200);
        let redirect = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .get(app.url("/docs"))
            .send()
            .await
            .unwrap();
        assert_eq!(redirect.status(), 307);
        assert_eq!(redirect.headers()["location"], "/docs/");
    }
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r.clone());
            }
            map.values().for_each(|x| collect_refs(x, out));
        }
        Value::Array(items) => items.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

#[test]
fn first_difference_names_the_json_pointer() {
    let a = serde_json::json!({"paths": {"x": {"get": 1}}, "info": {"title": "t"}});
    let b = serde_json::json!({"paths": {"x": {"get": 2}}, "info": {"title": "t"}});
    assert_eq!(
        first_difference(&a, &b, ""),
        Some("/paths/x/get".to_owned())
    );
    assert_eq!(first_difference(&a, &a, ""), None);
}
