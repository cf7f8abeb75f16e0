//! A real DynamoDB endpoint for the tests: moto's server on 127.0.0.1, started by the tests
//! with the Python that `MOTO_PYTHON` names. `scripts/moto` installs it into the cache (and
//! `scripts/test` sets the variable): the tests install nothing themselves.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};

pub struct Moto {
    child: Child,
    pub port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    /// Starts moto's server, or returns `None` (one line on stderr) when `MOTO_PYTHON` is not
    /// set, unless `REQUIRE_TEST_TOOLS` is: then the test fails.
    pub fn start() -> Option<Self> {
        let Some(python) = std::env::var_os("MOTO_PYTHON") else {
            super::skip_or_fail(
                "MOTO_PYTHON is not set (scripts/test sets it: `MOTO_PYTHON=$(scripts/moto)`)",
            );
            return None;
        };
        let port = super::free_port();
        let child = Command::new(python)
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto server starts");
        let moto = Self { child, port };
        for _ in 0..600 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(moto);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("moto server did not listen on {port}");
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A client for setting up tables, configured explicitly (no environment involved).
    pub fn client(&self) -> Client {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .http_client(lambda_async_api::sdk_http_client())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
            .endpoint_url(self.endpoint())
            .build();
        Client::from_conf(config)
    }

    /// Creates table `name` keyed by `id` (a Number), as the SAM template does.
    pub async fn create_table(&self, name: &str) {
        self.client()
            .create_table()
            .table_name(name)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("id")
                    .attribute_type(ScalarAttributeType::N)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("id")
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .expect("create table");
    }

    pub async fn put_item(&self, table: &str, attributes: &[(&str, AttributeValue)]) {
        let mut put = self.client().put_item().table_name(table);
        for (name, value) in attributes {
            put = put.item(*name, value.clone());
        }
        put.send().await.expect("put item");
    }
}

/// The environment the function needs to reach a DynamoDB endpoint with dummy credentials,
/// and nothing from the developer's own AWS setup.
pub fn function_env(endpoint: &str, table: &str) -> Vec<(&'static str, String)> {
    vec![
        ("ITEMS_TABLE", table.to_owned()),
        ("AWS_ENDPOINT_URL_DYNAMODB", endpoint.to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("AWS_CONFIG_FILE", "/nonexistent".to_owned()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent".to_owned()),
    ]
}

/// A TCP proxy in front of a DynamoDB endpoint that counts connections and holds each one
/// until `release()` is true (bounded), so a test can make two I/O waits meet.
pub struct CountingProxy {
    pub port: u16,
    pub arrived: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl CountingProxy {
    pub async fn start(target: u16, release: Arc<dyn Fn() -> bool + Send + Sync>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let arrived = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&arrived);
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let release = Arc::clone(&release);
                tokio::spawn(async move {
                    for _ in 0..2000 {
                        if release() {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    if let Ok(mut outbound) =
                        tokio::net::TcpStream::connect(("127.0.0.1", target)).await
                    {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Self {
            port,
            arrived,
            task,
        }
    }
}
