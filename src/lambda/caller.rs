//! Who called, from what the authorizer the front door ran put in the event, as one
//! [`Caller`] whichever authorizer it was. Nothing here checks a token or a signature: the
//! front door did, before the function was invoked; this only reads what it established.
//!
//! Each shape maps to one [`Authorizer`]: a REST API's Cognito claims, Lambda authorizer
//! (`principalId` and context) or IAM caller; an HTTP API's or Function URL's JWT claims and
//! scopes, IAM caller or Lambda authorizer context; a VPC Lattice service's IAM principal.

use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayProxyRequestContext, ApiGatewayRequestAuthorizer,
};
use lambda_http::request::RequestContext;

use crate::api::{Authorizer, Caller};

/// Who called, from the event's request context; `None` where no authorizer established
/// anyone (ALB runs none; a route or a Lattice service may have no auth).
pub(super) fn from_request_context(context: &RequestContext) -> Option<Caller> {
    match context {
        RequestContext::ApiGatewayV1(context) => rest_api_caller(context),
        RequestContext::ApiGatewayV2(context) => http_api_caller(context.authorizer.as_ref()?),
        // A Lattice service with IAM auth has checked the caller's signature.
        RequestContext::VpcLattice(context) => {
            let identity = context.identity.as_ref()?;
            if identity.identity_type.as_deref() != Some("AWS_IAM") {
                return None;
            }
            Some(Caller::new(
                Authorizer::Iam,
                Some(identity.principal.clone()?),
            ))
        }
        _ => None,
    }
}

fn rest_api_caller(context: &ApiGatewayProxyRequestContext) -> Option<Caller> {
    let fields = &context.authorizer.fields;
    if let Some(serde_json::Value::Object(claims)) = fields.get("claims") {
        let subject = claims
            .get("sub")
            .and_then(|sub| sub.as_str())
            .map(str::to_owned);
        return Some(Caller::new(Authorizer::Cognito, subject).with_claims(claims.clone()));
    }
    if let Some(principal) = fields.get("principalId").and_then(|p| p.as_str()) {
        let context = fields
            .iter()
            .filter(|(key, _)| !matches!(key.as_str(), "principalId" | "integrationLatency"))
            .map(|(key, value)| (key.clone(), value.clone()));
        return Some(
            Caller::new(Authorizer::Lambda, Some(principal.to_owned())).with_claims(context),
        );
    }
    let arn = context.identity.user_arn.as_ref()?;
    Some(Caller::new(Authorizer::Iam, Some(arn.clone())))
}

fn http_api_caller(authorizer: &ApiGatewayRequestAuthorizer) -> Option<Caller> {
    if let Some(jwt) = &authorizer.jwt {
        let claims = jwt
            .claims
            .iter()
            .map(|(key, value)| (key.clone(), value.clone().into()));
        return Some(
            Caller::new(Authorizer::Jwt, jwt.claims.get("sub").cloned())
                .with_claims(claims)
                .with_scopes(jwt.scopes.clone().unwrap_or_default()),
        );
    }
    if let Some(iam) = &authorizer.iam {
        return Some(Caller::new(Authorizer::Iam, iam.user_arn.clone()));
    }
    if authorizer.fields.is_empty() {
        return None;
    }
    let context = authorizer
        .fields
        .iter()
        .map(|(key, value)| (key.clone(), value.clone()));
    Some(Caller::new(Authorizer::Lambda, None).with_claims(context))
}
