//! What a transport tells the application about a request beyond HTTP: its ids and deadline,
//! and who called ([`Caller`]).

use std::collections::BTreeMap;

/// The one request extension a transport sets, and the only thing the application reads about
/// its transport. The Lambda transport fills it from the invocation; the local server sets
/// none, and every field then has its meaning for "none".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransportContext {
    /// The transport's id of this request (Lambda's request id), logged as
    /// `function_request_id`.
    pub request_id: Option<String>,
    /// The trace header to continue at dependencies (`x-amzn-trace-id`). Set by the transport
    /// alone, never copied from a client's header.
    pub trace_header: Option<String>,
    /// The front door's id of this request, logged as `correlation_id` to join its line with
    /// the front door's own log: API Gateway's request id, or ALB's and VPC Lattice's
    /// `x-amzn-trace-id` once validated.
    pub correlation_id: Option<String>,
    /// When the transport stops waiting for the answer (Lambda's invocation deadline).
    pub deadline: Option<tokio::time::Instant>,
    /// What the client's URL path had in front of the routed path (an API Gateway stage such
    /// as `/prod`, or a custom domain's base path). A redirect must put it back, or the client
    /// would be sent off the API.
    pub public_prefix: String,
    /// Who called, as the authorizer API Gateway ran on this request established it; `None`
    /// on the local server and wherever no authorizer ran.
    pub caller: Option<Caller>,
}

/// Who called, in one shape whichever authorizer let the request in. Handlers take it as an
/// extractor (`caller: Caller`, or `Option<Caller>`); nothing here checks a token: API
/// Gateway did, before the function was invoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub authorizer: Authorizer,
    /// Who, in one string: a JWT's `sub` (Cognito's too), the IAM caller's ARN, a Lambda
    /// authorizer's `principalId` (REST APIs; an HTTP API's passes only its context). The
    /// access log records this, and nothing else of the caller.
    pub subject: Option<String>,
    /// The token's claims (JWT, Cognito), or the context a Lambda authorizer returned.
    pub claims: BTreeMap<String, serde_json::Value>,
    /// The token's OAuth scopes (an HTTP API's JWT authorizer).
    pub scopes: Vec<String>,
}

/// Which kind of authorizer established the [`Caller`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authorizer {
    /// An HTTP API's JWT authorizer.
    Jwt,
    /// A REST API's Cognito user pool authorizer.
    Cognito,
    /// A Lambda (custom) authorizer.
    Lambda,
    /// IAM (SigV4-signed requests): REST and HTTP APIs, Function URLs with `AWS_IAM` auth.
    Iam,
}

impl Caller {
    /// A caller `authorizer` established as `subject`, with no claims and no scopes (as IAM
    /// establishes one); [`Caller::with_claims`] and [`Caller::with_scopes`] add the rest.
    pub fn new(authorizer: Authorizer, subject: Option<String>) -> Self {
        Self {
            authorizer,
            subject,
            claims: BTreeMap::new(),
            scopes: Vec::new(),
        }
    }

    /// With `claims`: a token's claims, or the context a Lambda authorizer returned.
    #[must_use]
    pub fn with_claims(
        mut self,
        claims: impl IntoIterator<Item = (String, serde_json::Value)>,
    ) -> Self {
        self.claims = claims.into_iter().collect();
        self
    }

    /// With `scopes`: a token's OAuth scopes.
    #[must_use]
    pub fn with_scopes(mut self, scopes: Vec<String>) -> Self {
        self.scopes = scopes;
        self
    }
}

impl TransportContext {
    /// The public prefix of `request`, `""` when its transport set none.
    pub(crate) fn public_prefix_of<B>(request: &axum::http::Request<B>) -> &str {
        request
            .extensions()
            .get::<Self>()
            .map_or("", |transport| transport.public_prefix.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_is_built_in_steps() {
        let iam = Caller::new(Authorizer::Iam, Some("arn:aws:iam::1:user/a".into()));
        assert_eq!(iam.authorizer, Authorizer::Iam);
        assert_eq!(iam.subject.as_deref(), Some("arn:aws:iam::1:user/a"));
        assert!(iam.claims.is_empty() && iam.scopes.is_empty());

        let jwt = Caller::new(Authorizer::Jwt, None)
            .with_claims([("sub".to_owned(), "user-1".into())])
            .with_scopes(vec!["read".into()]);
        assert_eq!(
            jwt.claims,
            BTreeMap::from([("sub".to_owned(), serde_json::Value::from("user-1"))])
        );
        assert_eq!(jwt.scopes, ["read"]);
    }
}
