//! Helpers for tests, written once (the `test-support` feature, which the tests turn on): a
//! [`Config`](crate::Config) from pairs is [`Config::from_pairs`](crate::Config::from_pairs);
//! here, sending one request through a router and reading the whole [`Answer`].

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request};
use tower::ServiceExt;

/// What a router answered to one request.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    /// The header's (first) value, if it is set and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The names of the `access-control-*` headers.
    pub fn cors_headers(&self) -> Vec<&str> {
        self.headers
            .keys()
            .map(|name| name.as_str())
            .filter(|name| name.starts_with("access-control-"))
            .collect()
    }
}

/// Sends `request` through `router`, as either transport would hand it over, and collects the
/// whole answer (a UTF-8 body).
pub async fn send(router: &Router, request: Request<Body>) -> Answer {
    let Ok(response) = router.clone().oneshot(request).await;
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .expect("an in-memory body");
    Answer {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: String::from_utf8(body.to_vec()).expect("a UTF-8 body"),
    }
}
