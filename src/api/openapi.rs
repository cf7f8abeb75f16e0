//! `GET /openapi.json`: the contract as OpenAPI 3.1, like FastAPI publishes for the original.
//!
//! Written by hand rather than derived by a macro crate: the error bodies follow FastAPI's
//! shapes, which no derive describes better than these few lines. Each route's operation sits
//! beside its handler and is listed in the route table (`routes::table`), which hands them
//! here, so the paths are the router's by construction; schemathesis checks every answer
//! against it. This module knows no route: it is below `routes`, which uses its helpers.

use axum::http::Method;
use serde_json::{Value, json};

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

/// The document of `operations` (path, method, operation object), for a deployment's
/// `settings`.
pub(crate) fn document<'a>(
    operations: impl IntoIterator<Item = (&'a str, &'a Method, Value)>,
    settings: &Settings,
) -> Value {
    let paths = operations
        .into_iter()
        .map(|(path, method, mut operation)| {
            if settings.bearer_auth {
                operation["security"] = json!([{ BEARER_SCHEME: [] }]);
                operation["responses"]["401"] = error("NotAuthenticated");
            }
            let method = method.as_str().to_ascii_lowercase();
            (path.to_owned(), json!({ method: operation }))
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
