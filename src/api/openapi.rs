//! `GET /openapi.json`: the contract as OpenAPI 3.1, like FastAPI publishes for the original.
//!
//! Written by hand rather than derived by a macro crate: the error bodies follow FastAPI's
//! shapes, which no derive describes better than these few lines. Each route's operation sits
//! beside its handler and is listed in the route table (`routes::table`), so the paths here
//! are the router's by construction; schemathesis checks every answer against it.

use serde_json::{Value, json};

use super::routes::{Doc, Route};

/// What an operation's entry may depend on: the deployment's settings.
pub(crate) struct Settings {
    /// `MAX_NUMBER`, the `maximum` of `/calculate`'s `{number}`.
    pub(crate) max_number: u64,
    /// Whether the operations need a bearer token (a JWT authorizer is configured): the
    /// document then names the scheme, so that Swagger UI offers "Authorize" and sends it.
    pub(crate) bearer_auth: bool,
}

/// The security scheme's name, FastAPI's for `HTTPBearer`.
const BEARER_SCHEME: &str = "HTTPBearer";

/// A `200` answer whose body is the component schema `schema`.
pub(crate) fn ok(schema: &str, description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } }
    })
}

/// One of the shared error answers under `components/responses`.
pub(crate) fn error(name: &str) -> Value {
    json!({ "$ref": format!("#/components/responses/{name}") })
}

/// The document of `routes` (each under its method), for a deployment's `settings`.
pub(crate) fn document(routes: &[Route], settings: &Settings) -> Value {
    let paths = routes
        .iter()
        .filter_map(|route| match route.doc {
            Doc::Operation(operation) => {
                let method = route.method.as_str().to_ascii_lowercase();
                let mut operation = operation(settings);
                if settings.bearer_auth {
                    operation["security"] = json!([{ BEARER_SCHEME: [] }]);
                    operation["responses"]["401"] = error("NotAuthenticated");
                }
                Some((route.path.to_owned(), json!({ method: operation })))
            }
            Doc::Excluded => None,
        })
        .collect::<serde_json::Map<_, _>>();

    let detail = |description: &str| {
        json!({
            "description": description,
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Detail" } } }
        })
    };
    let mut document = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "lambda-async-api",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "FastAPI's async-operations tutorial as a Rust AWS Lambda function."
        },
        "paths": paths,
        "components": {
            "schemas": {
                "ExternalData": {
                    "type": "object",
                    "required": ["external", "message"],
                    "properties": {
                        "external": { "description": "The external API's document, as sent" },
                        "message": { "type": "string", "const": "Data fetched" },
                        "db": { "description": "Item 1 of ITEMS_TABLE as plain JSON, null if absent; only when ITEMS_TABLE is set" }
                    }
                },
                "Calculation": {
                    "type": "object",
                    "required": ["number", "result"],
                    "properties": {
                        "number": { "type": "integer" },
                        "result": { "type": "integer", "minimum": 0 }
                    }
                },
                "Dependency": {
                    "type": "object",
                    "required": ["dep"],
                    "properties": { "dep": { "type": "string" } }
                },
                "Mixed": {
                    "type": "object",
                    "required": ["sync_dep", "async_dep", "sync_calc"],
                    "properties": {
                        "sync_dep": { "$ref": "#/components/schemas/Dependency" },
                        "async_dep": { "$ref": "#/components/schemas/Dependency" },
                        "sync_calc": { "type": "integer" }
                    }
                },
                "Detail": {
                    "type": "object",
                    "required": ["detail"],
                    "properties": { "detail": { "type": "string" } }
                },
                "HTTPValidationError": {
                    "type": "object",
                    "required": ["detail"],
                    "properties": {
                        "detail": { "type": "array", "items": { "$ref": "#/components/schemas/ValidationError" } }
                    }
                },
                "ValidationError": {
                    "type": "object",
                    "required": ["type", "loc", "msg", "input"],
                    "properties": {
                        "type": { "type": "string", "enum": ["int_parsing", "int_parsing_size", "less_than_equal"] },
                        "loc": { "type": "array", "items": { "anyOf": [{ "type": "string" }, { "type": "integer" }] } },
                        "msg": { "type": "string" },
                        "input": { "type": "string" },
                        "ctx": { "type": "object" }
                    }
                }
            },
            "responses": {
                "NotFound": detail("Not Found"),
                "MethodNotAllowed": {
                    "description": "Method Not Allowed (every route answers GET and HEAD only)",
                    "headers": { "Allow": { "schema": { "type": "string" } } },
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Detail" } } }
                },
                "ValidationError": {
                    "description": "Validation Error",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/HTTPValidationError" } } }
                },
                "BadGateway": detail("The external API or the database failed: status, body, or connection"),
                "ServiceUnavailable": {
                    "description": "Every calculation slot stayed busy until the request's deadline, or the database is throttling",
                    "headers": { "Retry-After": { "schema": { "type": "integer" } } },
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Detail" } } }
                },
                "GatewayTimeout": detail("The external API, the database or the request itself ran out of time")
            }
        }
    });
    if settings.bearer_auth {
        document["components"]["securitySchemes"] = json!({
            BEARER_SCHEME: { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" }
        });
        document["components"]["responses"]["NotAuthenticated"] = json!({
            "description": "No caller: the request did not come through the API's authorizer",
            "headers": { "WWW-Authenticate": { "schema": { "type": "string", "const": "Bearer" } } },
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Detail" } } }
        });
    }
    document
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::docs::DocsPages;
    use crate::api::routes::table;

    fn doc(max_number: u64) -> Value {
        document_with(max_number, false)
    }

    fn document_with(max_number: u64, bearer_auth: bool) -> Value {
        document(
            &table(Some(&DocsPages::new("https://a.example"))),
            &Settings {
                max_number,
                bearer_auth,
            },
        )
    }

    #[test]
    fn a_jwt_authorizer_adds_the_bearer_scheme_to_every_operation_and_nothing_else() {
        let (plain, bearer) = (doc(7), document_with(7, true));
        assert!(!plain.to_string().contains("security"));
        assert_eq!(
            bearer["components"]["securitySchemes"],
            json!({ "HTTPBearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" } })
        );
        let mut without = bearer.clone();
        for (_, item) in without["paths"].as_object_mut().unwrap() {
            let operation = item["get"].as_object_mut().unwrap();
            assert_eq!(
                operation.remove("security"),
                Some(json!([{ "HTTPBearer": [] }]))
            );
            let responses = operation["responses"].as_object_mut().unwrap();
            assert!(responses.remove("401").is_some());
        }
        let components = without["components"].as_object_mut().unwrap();
        components.remove("securitySchemes");
        components["responses"]
            .as_object_mut()
            .unwrap()
            .remove("NotAuthenticated");
        assert_eq!(without, plain);
    }

    #[test]
    fn documents_exactly_the_routed_paths_not_excluded_under_their_method() {
        let doc = doc(100_000);
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().unwrap();
        let mut documented: Vec<&str> = paths.keys().map(String::as_str).collect();
        documented.sort_unstable();
        let mut routed: Vec<&str> = table(None)
            .iter()
            .filter(|route| matches!(route.doc, Doc::Operation(_)))
            .map(|route| route.path)
            .collect();
        routed.sort_unstable();
        assert_eq!(documented, routed);
        assert_eq!(
            documented,
            ["/calculate/{number}", "/call-external-api", "/mixed"]
        );
        for (path, item) in paths {
            let methods: Vec<&String> = item.as_object().unwrap().keys().collect();
            assert_eq!(methods, ["get"], "{path}");
            assert!(item["get"]["operationId"].is_string(), "{path}");
        }
    }

    #[test]
    fn every_reference_resolves_and_the_limit_is_the_configured_one() {
        let doc = doc(42);
        assert_eq!(
            doc["paths"]["/calculate/{number}"]["get"]["parameters"][0]["schema"]["maximum"],
            42
        );
        let text = doc.to_string();
        for reference in text.split("\"$ref\":\"#/").skip(1) {
            let pointer = reference.split('"').next().unwrap();
            assert!(
                doc.pointer(&format!("/{pointer}")).is_some(),
                "dangling $ref {pointer}"
            );
        }
    }
}
