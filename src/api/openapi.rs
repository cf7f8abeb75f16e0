//! `GET /openapi.json`: the contract as OpenAPI 3.1, like FastAPI publishes for the original.
//!
//! Written by hand rather than derived by a macro crate: the error bodies follow FastAPI's
//! shapes, which no derive describes better than these few lines. Each route's [`Operation`]
//! (its operation object and the schemas of its answers) sits beside its handler and is
//! listed in the route table (`routes::table`), which hands them here, so the paths are the
//! router's by construction; schemathesis checks every answer against it. This module knows
//! no route: it is below `routes`, which uses its helpers, and holds only what every route
//! shares (the error bodies and answers, the bearer scheme).

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

/// What one route brings to the document.
pub(crate) struct Operation {
    /// The operation object, under the route's path and method.
    pub(crate) object: Value,
    /// The component schemas its answers refer to that the shared ones are not (name,
    /// schema); routes that share one give the same schema.
    pub(crate) schemas: Vec<(&'static str, Value)>,
}

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

/// The document of `operations` (path, method, what the route brings), for a deployment's
/// `settings`. A schema a route brings never replaces a shared one of the same name.
pub(crate) fn document<'a>(
    operations: impl IntoIterator<Item = (&'a str, &'a Method, Operation)>,
    settings: &Settings,
) -> Value {
    let mut route_schemas = serde_json::Map::new();
    let paths = operations
        .into_iter()
        .map(
            |(
                path,
                method,
                Operation {
                    object: mut operation,
                    schemas,
                },
            )| {
                route_schemas.extend(
                    schemas
                        .into_iter()
                        .map(|(name, schema)| (name.into(), schema)),
                );
                if settings.bearer_auth {
                    operation["security"] = json!([{ BEARER_SCHEME: [] }]);
                    operation["responses"]["401"] = error("NotAuthenticated");
                }
                let method = method.as_str().to_ascii_lowercase();
                (path.to_owned(), json!({ method: operation }))
            },
        )
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
    if let Some(shared) = document["components"]["schemas"].as_object_mut() {
        for (name, schema) in route_schemas {
            shared.entry(name).or_insert(schema);
        }
    }
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
