//! Where a request is routed: its path without the API Gateway stage, and without a custom
//! domain's base path, with what stood in front of it remembered for the client's URLs.
//!
//! API Gateway puts the stage in front of the path in some payloads and not in others: a REST
//! event's `path` is the resource path (never the stage), an HTTP API event's `rawPath` starts
//! with `/{stage}` for a named stage. We route on the path *without* the stage, so no setting
//! is needed, and keep the prefix ([`TransportContext::public_prefix`]) for redirects and
//! `/openapi.json`.
//!
//! A custom domain's base path (its API mapping key) is reported by REST APIs in
//! `requestContext.path` for sure, and handled like a stage with no setting. Elsewhere AWS's
//! payloads do not say for sure whether the path carries it, so with `BASE_PATH` set a request
//! that came through a custom domain is routed without the base path when its path starts
//! with it, and as it is otherwise; either way the client's URL had it, so it is put back.
//!
//! [`TransportContext::public_prefix`]: crate::TransportContext::public_prefix

use lambda_http::request::RequestContext;
use lambda_http::{Request as LambdaRequest, RequestExt};

/// Where a request is routed, and what the client's URL had in front of that.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct RoutedPath<'a> {
    pub(super) path: &'a str,
    pub(super) prefix: &'a str,
}

/// Where `request` is routed: behind its stage, and behind `base_path` when it came through
/// a custom domain.
pub(super) fn routed_path<'a>(
    request: &'a LambdaRequest,
    base_path: Option<&'a str>,
) -> RoutedPath<'a> {
    let routed = behind_the_stage(request);
    match base_path {
        Some(base_path) if through_custom_domain(request) => RoutedPath {
            path: strip_path_prefix(routed.path, base_path).unwrap_or(routed.path),
            prefix: base_path,
        },
        _ => routed,
    }
}

/// `path` without `prefix` in front, when it starts with it as whole segments (`/api/x` and
/// `/api` without `/api`; not `/apix`).
fn strip_path_prefix<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    match path.strip_prefix(prefix)? {
        "" => Some("/"),
        rest if rest.starts_with('/') => Some(rest),
        _ => None,
    }
}

/// Whether the client called a custom domain: `requestContext.domainName` is not API
/// Gateway's own host (`{api-id}.execute-api.{region}.amazonaws.com`) nor a Function URL's.
fn through_custom_domain(request: &LambdaRequest) -> bool {
    let domain = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => context.domain_name.as_deref(),
        Some(RequestContext::ApiGatewayV2(context)) => context.domain_name.as_deref(),
        _ => None,
    };
    domain
        .is_some_and(|domain| !domain.contains(".execute-api.") && !domain.contains(".lambda-url."))
}

fn behind_the_stage(request: &LambdaRequest) -> RoutedPath<'_> {
    // v1 and ALB: the resource path (never the stage). v2: `rawPath`, which starts with
    // `/{stage}` when the stage is not `$default`.
    let raw = request.raw_http_path();
    let raw = if raw.is_empty() { "/" } else { raw };
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => {
            // `requestContext.path` is the path the client used: stage (or a custom domain's
            // base path) included.
            let prefix = context
                .path
                .as_deref()
                .and_then(|client_path| client_path.strip_suffix(raw))
                .unwrap_or("");
            RoutedPath { path: raw, prefix }
        }
        Some(RequestContext::ApiGatewayV2(context)) => {
            let stage = context.stage.as_deref().unwrap_or("$default");
            if stage == "$default" {
                return RoutedPath {
                    path: raw,
                    prefix: "",
                };
            }
            match strip_path_prefix(raw, &format!("/{stage}")) {
                Some(path) => RoutedPath {
                    path,
                    prefix: &raw[..=stage.len()],
                },
                None => RoutedPath {
                    path: raw,
                    prefix: "",
                },
            }
        }
        _ => RoutedPath {
            path: raw,
            prefix: "",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lambda::test_events::{v1, v2};

    fn routed(event: &str) -> (String, String) {
        let request = lambda_http::request::from_str(event).unwrap();
        let RoutedPath { path, prefix } = routed_path(&request, None);
        (path.to_owned(), prefix.to_owned())
    }

    #[test]
    fn a_vpc_lattice_v2_event_is_read_as_one_routed_on_its_path() {
        let event = include_str!("../../events/vpc-lattice-calculate.json");
        let request = lambda_http::request::from_str(event).unwrap();
        assert!(matches!(
            request.request_context_ref(),
            Some(RequestContext::VpcLattice(_))
        ));
        assert_eq!(routed(event), ("/calculate/7".into(), "".into()));
        // Lattice's default, v1, is no event the function reads: the target group must ask
        // for v2 (the template does).
        let v1 = r#"{"raw_path":"/calculate/7","method":"GET","headers":{},"query_string_parameters":{},"body":"","is_base64_encoded":false}"#;
        assert!(lambda_http::request::from_str(v1).is_err());
    }

    #[test]
    fn v2_named_stage_is_taken_off_and_remembered() {
        assert_eq!(
            routed(&v2("/prod/mixed/", "prod")),
            ("/mixed/".into(), "/prod".into())
        );
        assert_eq!(routed(&v2("/prod", "prod")), ("/".into(), "/prod".into()));
        assert_eq!(
            routed(&v2("/mixed", "$default")),
            ("/mixed".into(), "".into())
        );
        // A path that only looks like the stage is left alone.
        assert_eq!(
            routed(&v2("/production/x", "prod")),
            ("/production/x".into(), "".into())
        );
    }

    #[test]
    fn v1_routes_on_the_resource_path_and_keeps_the_clients_prefix() {
        assert_eq!(
            routed(&v1("/mixed/", Some("/prod/mixed/"), "prod")),
            ("/mixed/".into(), "/prod".into())
        );
        // Custom domain with a base path mapping.
        assert_eq!(
            routed(&v1("/mixed/", Some("/api/mixed/"), "prod")),
            ("/mixed/".into(), "/api".into())
        );
        // Custom domain at the root, or no client path known: nothing in front.
        assert_eq!(
            routed(&v1("/mixed/", Some("/mixed/"), "prod")),
            ("/mixed/".into(), "".into())
        );
        assert_eq!(
            routed(&v1("/mixed/", None, "prod")),
            ("/mixed/".into(), "".into())
        );
    }
}
