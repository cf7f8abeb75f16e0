//! `AUTH_JWT_ISSUER` and `AUTH_JWT_AUDIENCE`: the JWT authorizer API Gateway runs in front of
//! the API routes, as the template configures it.

use reqwest::Url;

use super::vars::{ConfigError, Vars, web_url};

/// The JWT authorizer in front of the API routes. The function does not verify tokens (API
/// Gateway does, and only API Gateway may invoke it): it needs to know that an authorizer is
/// expected, and documents the scheme in `/openapi.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JwtAuthorizer {
    pub(crate) issuer: Url,
    pub(crate) audience: Vec<String>,
}

impl JwtAuthorizer {
    /// `AUTH_JWT_ISSUER` (the switch) and `AUTH_JWT_AUDIENCE`, which the authorizer needs too.
    pub(crate) fn read(
        vars: &Vars<impl Fn(&str) -> Option<String>>,
    ) -> Result<Option<Self>, ConfigError> {
        let issuer = vars.parse("AUTH_JWT_ISSUER", "", |v| {
            if v.is_empty() {
                return Ok(None);
            }
            // API Gateway's JWT authorizer fetches the issuer's keys over https only.
            let reason = "must be the issuer's https:// URL (the tokens' `iss`)";
            web_url(v, &["https"], reason).map(Some)
        })?;
        let audience = vars.list("AUTH_JWT_AUDIENCE", |entry| Ok(entry.to_owned()))?;
        // Either half alone is refused, as the template's Rules refuse it at deploy: an issuer
        // without an audience is no JWT authorizer, and an audience without an issuer would
        // leave the routes public while looking configured.
        match (issuer, audience.is_empty()) {
            (None, true) => Ok(None),
            (Some(issuer), false) => Ok(Some(Self { issuer, audience })),
            (Some(_), true) => Err(ConfigError::new(
                "AUTH_JWT_AUDIENCE",
                "",
                "must name the tokens' audience when AUTH_JWT_ISSUER is set \
                 (API Gateway's JWT authorizer needs both)",
            )),
            (None, false) => Err(ConfigError::new(
                "AUTH_JWT_ISSUER",
                "",
                "must be set when AUTH_JWT_AUDIENCE is: without it the API routes \
                 would stay public",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::tests::config;

    #[test]
    fn the_jwt_authorizer_needs_issuer_and_audience() {
        assert_eq!(config(&[]).unwrap().jwt_authorizer, None);
        assert_eq!(
            config(&[("AUTH_JWT_ISSUER", ""), ("AUTH_JWT_AUDIENCE", " ")])
                .unwrap()
                .jwt_authorizer,
            None
        );
        let error = config(&[("AUTH_JWT_AUDIENCE", "api")]).unwrap_err();
        assert!(error.starts_with("invalid AUTH_JWT_ISSUER="), "{error}");
        let c = config(&[
            (
                "AUTH_JWT_ISSUER",
                "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc",
            ),
            ("AUTH_JWT_AUDIENCE", "a, b"),
        ])
        .unwrap();
        let jwt = c.jwt_authorizer.unwrap();
        assert_eq!(
            jwt.issuer.as_str(),
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc"
        );
        assert_eq!(jwt.audience, ["a", "b"]);
        let error = config(&[("AUTH_JWT_ISSUER", "https://issuer.example")]).unwrap_err();
        assert!(error.starts_with("invalid AUTH_JWT_AUDIENCE="), "{error}");
        for bad in ["issuer.example", "http://issuer.example"] {
            let error = config(&[("AUTH_JWT_ISSUER", bad)]).unwrap_err();
            assert!(error.starts_with("invalid AUTH_JWT_ISSUER="), "{error}");
        }
    }
}
