//! `GET /openapi.json`: the contract as OpenAPI 3.1, like FastAPI publishes for the original.
//!
//! Written here beside the code rather than derived by a macro crate: the error bodies follow
//! FastAPI's shapes, which no derive describes better than these few lines, and tests keep it
//! honest (its paths are the router's routes; schemathesis checks every answer against it).

use serde_json::{Value, json};

use crate::routes::{API_ROUTES, CALCULATE, CALL_EXTERNAL_API, MIXED};

/// The document for a deployment whose `MAX_NUMBER` is `max_number`.
pub fn document(max_number: u64) -> Value {
    let error = |name: &str| json!({ "$ref": format!("#/components/responses/{name}") });
    let ok = |schema: &str, description: &str| {
        json!({
            "description": description,
            "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } }
        })
    };
    let paths = API_ROUTES
        .iter()
        .map(|route| {
            let operation = match *route {
                CALL_EXTERNAL_API => json!({
                    "summary": "Get External Data",
                    "description": "Awaits the external API (and, with ITEMS_TABLE set, item 1 of that DynamoDB table at the same time), then a further 100 ms non-blocking sleep.",
                    "operationId": "get_external_data",
                    "responses": {
                        "200": ok("ExternalData", "The external API's JSON document"),
                        "502": error("BadGateway"),
                        "503": error("ServiceUnavailable"),
                        "504": error("GatewayTimeout"),
                    }
                }),
                CALCULATE => json!({
                    "summary": "Calculate Stuff",
                    "description": "CPU-bound work: sum of i*i mod 1234 for i below number*10000, computed on a worker thread.",
                    "operationId": "calculate_stuff",
                    "parameters": [{
                        "name": "number",
                        "in": "path",
                        "required": true,
                        "schema": { "type": "integer", "maximum": max_number, "title": "Number" }
                    }],
                    "responses": {
                        "200": ok("Calculation", "The calculation's result"),
                        "404": error("NotFound"),
                        "422": error("ValidationError"),
                        "503": error("ServiceUnavailable"),
                        "504": error("GatewayTimeout"),
                    }
                }),
                MIXED => json!({
                    "summary": "Read Mixed",
                    "description": "A sync and an async dependency, run at the same time, plus a small inline calculation.",
                    "operationId": "read_mixed",
                    "responses": {
                        "200": ok("Mixed", "The dependencies' results"),
                        "504": error("GatewayTimeout"),
                    }
                }),
                _ => json!({}),
            };
            ((*route).to_owned(), json!({ "get": operation }))
        })
        .collect::<serde_json::Map<_, _>>();

    let detail = |description: &str| {
        json!({
            "description": description,
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Detail" } } }
        })
    };
    json!({
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_exactly_the_routers_routes_with_get_only() {
        let doc = document(100_000);
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().unwrap();
        let mut documented: Vec<&str> = paths.keys().map(String::as_str).collect();
        documented.sort_unstable();
        let mut routed = API_ROUTES.to_vec();
        routed.sort_unstable();
        assert_eq!(documented, routed);
        for (path, item) in paths {
            let methods: Vec<&String> = item.as_object().unwrap().keys().collect();
            assert_eq!(methods, ["get"], "{path}");
        }
    }

    #[test]
    fn every_reference_resolves_and_the_limit_is_the_configured_one() {
        let doc = document(42);
        assert_eq!(
            doc["paths"][CALCULATE]["get"]["parameters"][0]["schema"]["maximum"],
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
