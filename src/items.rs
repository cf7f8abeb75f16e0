//! The seed's commented-out `await async_db.fetch_one(...)`, made real: item `id = 1` of the
//! DynamoDB table `ITEMS_TABLE`, read with the AWS SDK configured by `aws-config` from the
//! environment (`AWS_REGION`, the credentials chain, `AWS_ENDPOINT_URL_DYNAMODB`).
//!
//! The client is built once, on first use, and shared by every concurrent request. Building it
//! reads the system CA store (milliseconds of file I/O), so it happens on the blocking pool and
//! never on the cold-start path.

use std::collections::HashMap;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::value::RawValue;
use tokio::sync::OnceCell;
use tokio::time::Instant;

use crate::telemetry::metrics::Metrics;
use crate::telemetry::{FailureKind, dependency_call};

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
pub enum DbError {
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

impl FailureKind for DbError {
    fn kind(&self) -> &'static str {
        match self {
            Self::Timeout(_) => "database_timeout",
            Self::Throttled => "database_throttled",
            Self::TableNotFound => "database_table_not_found",
            Self::Unreachable => "database_unreachable",
            Self::Service(_) => "database_service",
            Self::InvalidResponse => "database_invalid_response",
            Self::Setup => "database_setup",
        }
    }
}

impl DbError {
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

/// The items table and its lazily built client.
#[derive(Debug)]
pub struct Items {
    table: String,
    timeout: Duration,
    client: OnceCell<Client>,
    metrics: Metrics,
}

impl Items {
    pub fn new(table: String, timeout: Duration, metrics: Metrics) -> Self {
        Self {
            table,
            timeout,
            client: OnceCell::new(),
            metrics,
        }
    }

    /// Item `id = 1` as plain JSON (`null` when there is none), within `DB_TIMEOUT_MS` (SDK
    /// retries included) or the request's `deadline`, whichever comes first.
    pub async fn item_one(&self, deadline: Instant) -> Result<Box<RawValue>, DbError> {
        dependency_call(
            "database call",
            &self.metrics,
            self.timeout,
            deadline,
            |allowed_ms| self.get_item_one(allowed_ms),
            DbError::Timeout,
        )
        .await
    }

    async fn get_item_one(&self, allowed_ms: u128) -> Result<Box<RawValue>, DbError> {
        let client = self.client().await?;
        let output = client
            .get_item()
            .table_name(&self.table)
            .key("id", AttributeValue::N("1".to_owned()))
            .send()
            .await
            .map_err(|e| DbError::from_sdk(&e, allowed_ms))?;
        let mut json = String::new();
        match output.item() {
            Some(item) => write_map(item, &mut json),
            None => json.push_str("null"),
        }
        RawValue::from_string(json).map_err(|_| DbError::InvalidResponse)
    }

    async fn client(&self) -> Result<&Client, DbError> {
        let timeout = self.timeout;
        self.client
            .get_or_try_init(|| async move {
                let runtime = tokio::runtime::Handle::current();
                tokio::task::spawn_blocking(move || runtime.block_on(build_client(timeout)))
                    .await
                    .map_err(|_| DbError::Setup)
            })
            .await
    }
}

/// An SDK client whose every call ends within `timeout`: `BehaviorVersion::latest()` alone
/// sets only a connect timeout, so a server that accepts and never answers would hang it.
/// Retries back off briefly (the defaults would spend ~1.5 s on a refused connection).
async fn build_client(timeout: Duration) -> Client {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(timeout.min(Duration::from_secs(1)))
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
    Client::new(&config)
}

/// Writes a DynamoDB item as plain JSON: `N` → number (exactly as stored), `S` → string,
/// `BOOL`, `NULL` → null, `L`/`M` → array/object (keys sorted), `SS`/`NS` → arrays, `B`/`BS`
/// → base64 strings.
pub fn write_map(map: &HashMap<String, AttributeValue>, out: &mut String) {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    out.push('{');
    for (i, key) in keys.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(key, out);
        out.push(':');
        write_value(&map[key], out);
    }
    out.push('}');
}

fn write_value(value: &AttributeValue, out: &mut String) {
    match value {
        AttributeValue::S(s) => write_string(s, out),
        AttributeValue::N(n) => write_number(n, out),
        AttributeValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        AttributeValue::B(blob) => write_string(&base64(blob.as_ref()), out),
        AttributeValue::M(map) => write_map(map, out),
        AttributeValue::L(list) => write_list(list, out, write_value),
        AttributeValue::Ss(strings) => write_list(strings, out, |s, out| write_string(s, out)),
        AttributeValue::Ns(numbers) => write_list(numbers, out, |n, out| write_number(n, out)),
        AttributeValue::Bs(blobs) => {
            write_list(blobs, out, |b, out| write_string(&base64(b.as_ref()), out))
        }
        // `NULL`, and any attribute type newer than this code.
        _ => out.push_str("null"),
    }
}

fn write_list<T>(items: &[T], out: &mut String, write: impl Fn(&T, &mut String)) {
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write(item, out);
    }
    out.push(']');
}

fn write_string(s: &str, out: &mut String) {
    // Serializing a &str cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

/// DynamoDB numbers have up to 38 digits: keep the text rather than round through `f64`.
fn write_number(n: &str, out: &mut String) {
    let is_json_number = serde_json::from_str::<&RawValue>(n).is_ok_and(|raw| {
        raw.get()
            .starts_with(|c: char| c == '-' || c.is_ascii_digit())
    });
    if is_json_number {
        out.push_str(n);
    } else {
        write_string(n, out);
    }
}

/// Standard base64 with padding, as the DynamoDB JSON protocol itself encodes binary.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> shift) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::primitives::Blob;

    #[test]
    fn base64_matches_the_standard_alphabet() {
        for (input, expected) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
            (b"\xff\xfe\xfd", "//79"),
        ] {
            assert_eq!(base64(input), expected);
        }
    }

    #[test]
    fn every_attribute_type_becomes_plain_json() {
        let item = HashMap::from([
            ("id".to_owned(), AttributeValue::N("1".into())),
            (
                "big".to_owned(),
                AttributeValue::N("12345678901234567890123456789012345678".into()),
            ),
            ("price".to_owned(), AttributeValue::N("-0.50".into())),
            (
                "name".to_owned(),
                AttributeValue::S("a \"quoted\" ü".into()),
            ),
            ("ok".to_owned(), AttributeValue::Bool(true)),
            ("none".to_owned(), AttributeValue::Null(true)),
            (
                "bin".to_owned(),
                AttributeValue::B(Blob::new(b"hi".to_vec())),
            ),
            (
                "bins".to_owned(),
                AttributeValue::Bs(vec![Blob::new(b"a".to_vec())]),
            ),
            (
                "tags".to_owned(),
                AttributeValue::Ss(vec!["x".into(), "y".into()]),
            ),
            (
                "nums".to_owned(),
                AttributeValue::Ns(vec!["1".into(), "2.5".into()]),
            ),
            (
                "list".to_owned(),
                AttributeValue::L(vec![
                    AttributeValue::S("s".into()),
                    AttributeValue::Null(true),
                ]),
            ),
            (
                "map".to_owned(),
                AttributeValue::M(HashMap::from([
                    ("b".to_owned(), AttributeValue::N("2".into())),
                    ("a".to_owned(), AttributeValue::Bool(false)),
                ])),
            ),
        ]);
        let mut json = String::new();
        write_map(&item, &mut json);
        assert_eq!(
            json,
            r#"{"big":12345678901234567890123456789012345678,"bin":"aGk=","bins":["YQ=="],"id":1,"list":["s",null],"map":{"a":false,"b":2},"name":"a \"quoted\" ü","none":null,"nums":[1,2.5],"ok":true,"price":-0.50,"tags":["x","y"]}"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert!(parsed.is_object());
    }

    #[test]
    fn a_number_that_is_not_json_stays_text() {
        let mut out = String::new();
        write_number("NaN", &mut out);
        assert_eq!(out, r#""NaN""#);
    }
}
