//! The seed's commented-out `await async_db.fetch_one(...)`, made real: item `id = 1` of the
//! DynamoDB table `ITEMS_TABLE`, read with the AWS SDK configured by `aws-config` from the
//! environment (`AWS_REGION`, the credentials chain, `AWS_ENDPOINT_URL_DYNAMODB`).
//!
//! The client is built once, on first use, and shared by every concurrent request: never on
//! the cold-start path. Its HTTP client reads the system CA store (milliseconds of file I/O),
//! so that part is built on the blocking pool; the SDK's configuration is awaited where it is.
//! The item becomes plain JSON in [`item_json`].

mod connector;
mod item_json;

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::RequestId;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::value::RawValue;
use tokio::sync::OnceCell;
use tokio::time::Instant;
use tracing::Span;
use tracing::field::Empty;

use super::{DependencyError, dependency_call};
use crate::telemetry::metrics::Metrics;
use crate::telemetry::spans;

/// Error codes DynamoDB (and the SDK's retry classifier) use for throttling.
const THROTTLING_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "ThrottlingException",
    "Throttling",
];

/// What can fail when reading the item; the messages become the response's `detail` and say
/// what kind of thing failed, never credentials, endpoints or table internals.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DatabaseError {
    #[error("database: no answer within {0} ms")]
    Timeout(u128),
    #[error("database: throttled, retry later")]
    Throttled,
    #[error("database: table not found")]
    TableNotFound,
    #[error("database: could not connect")]
    Unreachable,
    #[error("database: request failed ({0})")]
    Service(String),
    #[error("database: invalid response")]
    InvalidResponse,
    #[error("database: request could not be made")]
    Setup,
}

impl DependencyError for DatabaseError {
    const CALL: &'static str = "database call";
    const ERRORS_METRIC: &'static str = "DatabaseErrors";

    fn timed_out(allowed_ms: u128) -> Self {
        Self::Timeout(allowed_ms)
    }

    fn kind(&self) -> &'static str {
        match self {
            Self::Timeout(_) => "timeout",
            Self::Throttled => "throttled",
            Self::TableNotFound => "table_not_found",
            Self::Unreachable => "unreachable",
            Self::Service(_) => "service",
            Self::InvalidResponse => "invalid_response",
            Self::Setup => "setup",
        }
    }
}

impl DatabaseError {
    fn from_sdk<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>, allowed_ms: u128) -> Self {
        match err {
            SdkError::TimeoutError(_) => Self::Timeout(allowed_ms),
            SdkError::DispatchFailure(failure) if failure.is_timeout() => Self::Timeout(allowed_ms),
            SdkError::DispatchFailure(failure) if failure.is_io() => Self::Unreachable,
            SdkError::ServiceError(service) => match service.err().code() {
                Some(code) if THROTTLING_CODES.contains(&code) => Self::Throttled,
                Some("ResourceNotFoundException") => Self::TableNotFound,
                Some(code) => Self::Service(code.to_owned()),
                None => Self::Service("unknown error".to_owned()),
            },
            SdkError::ResponseError(_) => Self::InvalidResponse,
            _ => Self::Setup,
        }
    }
}

/// The items table (`ITEMS_TABLE`) and its lazily built client.
#[derive(Debug)]
pub(crate) struct Database {
    table: String,
    timeout: Duration,
    client: OnceCell<Client>,
    metrics: Metrics,
}

impl Database {
    pub(crate) fn new(table: String, timeout: Duration, metrics: Metrics) -> Self {
        Self {
            table,
            timeout,
            client: OnceCell::new(),
            metrics,
        }
    }

    /// Item `id = 1` as plain JSON (`null` when there is none), within `DB_TIMEOUT_MS` (SDK
    /// retries included) or the request's `deadline`, whichever comes first. `trace` is the
    /// X-Ray trace header to continue at DynamoDB, if any.
    pub(crate) async fn item_one(
        &self,
        trace: Option<&str>,
        deadline: Instant,
    ) -> Result<Box<RawValue>, DatabaseError> {
        let span = tracing::info_span!(
            target: spans::TARGET,
            "DynamoDB.GetItem",
            "otel.kind" = "client",
            "db.system" = "dynamodb",
            "db.operation.name" = "GetItem",
            "aws.dynamodb.table_names" = self.table.as_str(),
            "rpc.system" = "aws-api",
            "rpc.service" = "DynamoDB",
            "rpc.method" = "GetItem",
            "aws.request_id" = Empty,
            "otel.status_code" = Empty,
            "error.type" = Empty,
        );
        dependency_call(
            &self.metrics,
            self.timeout,
            deadline,
            span.clone(),
            |allowed_ms| self.get_item_one(trace, allowed_ms, span),
        )
        .await
    }

    async fn get_item_one(
        &self,
        trace: Option<&str>,
        allowed_ms: u128,
        span: Span,
    ) -> Result<Box<RawValue>, DatabaseError> {
        let client = self.client().await?;
        // The request's own trace header. The SDK would take one from `_X_AMZN_TRACE_ID`, which
        // the Lambda runtime sets for one invocation at a time only: under Managed Instances'
        // concurrent invocations there is none (or another invocation's).
        let trace = trace.map(str::to_owned);
        let output = client
            .get_item()
            .table_name(&self.table)
            .key("id", AttributeValue::N("1".to_owned()))
            .customize()
            .mutate_request(move |request| {
                if let Some(trace) = &trace {
                    request
                        .headers_mut()
                        .insert("x-amzn-trace-id", trace.clone());
                }
            })
            .send()
            .await;
        // DynamoDB's id of the request, which AWS support asks for, answered or not.
        let request_id = match &output {
            Ok(output) => output.request_id(),
            Err(e) => e.request_id(),
        };
        span.record("aws.request_id", request_id);
        let output = output.map_err(|e| DatabaseError::from_sdk(&e, allowed_ms))?;
        item_json::item(output.item()).ok_or(DatabaseError::InvalidResponse)
    }

    async fn client(&self) -> Result<&Client, DatabaseError> {
        self.client
            .get_or_try_init(|| build_client(self.timeout))
            .await
    }
}

/// The SDK HTTP client the function uses, for the tests' own SDK clients (which set up and
/// fill the tables): with the SDK's `default-https-client` off, they need one too.
#[cfg(feature = "test-support")]
pub fn sdk_http_client() -> impl aws_smithy_runtime_api::client::http::HttpClient {
    let client = super::http_client::build(|builder| builder).expect("an HTTP client");
    connector::ReqwestHttpClient::new(client)
}

/// An SDK client whose every call ends within `timeout`: `BehaviorVersion::latest()` alone
/// sets only a connect timeout, so a server that accepts and never answers would hang it.
/// Retries back off briefly (the defaults would spend ~1.5 s on a refused connection).
///
/// Loading the configuration reads only the environment under Lambda (`AWS_REGION` and the
/// credentials are set there; a profile file is looked for only without them, and the
/// credentials are resolved on the first call), so it is awaited on the runtime.
async fn build_client(timeout: Duration) -> Result<Client, DatabaseError> {
    let connect_timeout = timeout.min(Duration::from_secs(1));
    // No redirects followed: the SDK reads every answer itself, as its own client leaves them.
    let http = crate::telemetry::spawn_blocking(move || {
        super::http_client::build(|builder| {
            builder
                .connect_timeout(connect_timeout)
                .redirect(reqwest::redirect::Policy::none())
        })
    })
    .await
    .map_err(|_| DatabaseError::Setup)?
    .map_err(|e| {
        tracing::error!(error = %e, "building the DynamoDB HTTP client failed");
        DatabaseError::Setup
    })?;
    let config = aws_config::defaults(BehaviorVersion::latest())
        .http_client(connector::ReqwestHttpClient::new(http))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(connect_timeout)
                .operation_attempt_timeout(timeout)
                .operation_timeout(timeout)
                .build(),
        )
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(20))
                .with_max_backoff(Duration::from_millis(200)),
        )
        .load()
        .await;
    Ok(Client::new(&config))
}
