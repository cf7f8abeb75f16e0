//! The SDK's HTTP client: our reqwest stack ([`super::super::http_client`]) behind the SDK's
//! `HttpClient` trait, in place of its `default-https-client`.
//!
//! Hand-written, for size: the SDK's own client is a second HTTP stack beside reqwest's (its
//! own hyper client with HTTP/2, the h2 crate and hyper-rustls), 1.46 MiB of the bootstrap and
//! 0.62 MiB of the zip (docs/performance.md, "A smaller artifact"). Through this adapter the
//! DynamoDB calls use the same hyper, rustls and trust store as the external API.
//!
//! The SDK keeps everything above the wire: signing, retries, and the operation and attempt
//! timeouts, which bound every call (the connect timeout is the reqwest client's own).

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;

/// The HTTP client the SDK is configured with; connectors share its connection pool.
#[derive(Debug, Clone)]
pub(super) struct ReqwestHttpClient(reqwest::Client);

impl ReqwestHttpClient {
    pub(super) fn new(client: reqwest::Client) -> Self {
        Self(client)
    }
}

impl HttpClient for ReqwestHttpClient {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

impl HttpConnector for ReqwestHttpClient {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.0.clone();
        HttpConnectorFuture::new(async move {
            let response = client
                .execute(to_reqwest(request)?)
                .await
                .map_err(connector_error)?;
            from_reqwest(response).await
        })
    }
}

/// The SDK's request as reqwest's. DynamoDB's requests are JSON documents held in memory;
/// a streaming body (which no operation used here sends) is refused, not half-sent.
fn to_reqwest(request: HttpRequest) -> Result<reqwest::Request, ConnectorError> {
    let request = request
        .try_into_http1x()
        .map_err(|e| ConnectorError::user(e.into()))?;
    let (parts, body) = request.into_parts();
    let body = body
        .bytes()
        .ok_or_else(|| ConnectorError::user("streaming request bodies are not supported".into()))?
        .to_vec();
    reqwest::Request::try_from(http::Request::from_parts(parts, body))
        .map_err(|e| ConnectorError::user(e.into()))
}

/// reqwest's response, read whole, as the SDK's.
async fn from_reqwest(mut response: reqwest::Response) -> Result<HttpResponse, ConnectorError> {
    let status = response.status();
    let headers = std::mem::take(response.headers_mut());
    let body = response.bytes().await.map_err(connector_error)?;
    let mut http = http::Response::new(SdkBody::from(body));
    *http.status_mut() = status;
    *http.headers_mut() = headers;
    HttpResponse::try_from(http).map_err(|e| ConnectorError::other(e.into(), None))
}

/// The SDK's retry policy and our error mapping read these kinds: a timeout or an I/O failure
/// (refused, reset, closed mid-response) is transient and retried; anything else is not.
fn connector_error(e: reqwest::Error) -> ConnectorError {
    if e.is_timeout() {
        ConnectorError::timeout(e.into())
    } else if e.is_connect() || e.is_request() || e.is_body() {
        ConnectorError::io(e.into())
    } else if e.is_builder() {
        ConnectorError::user(e.into())
    } else {
        ConnectorError::other(e.into(), None)
    }
}
