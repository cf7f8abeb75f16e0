//! AWS's Lambda Runtime Interface Emulator (RIE) running the function binary on this machine,
//! no container: the same emulator `sam local` runs inside its images. `scripts/rie` puts it in
//! the cache and `scripts/test` passes its path as `LAMBDA_RIE`.
//!
//! Two modes, as the RIE has them:
//! - [`Mode::Classic`]: one invocation at a time, `AWS_LAMBDA_FUNCTION_TIMEOUT` enforced by
//!   killing the runtime. Never send it two invocations at once: it crashes (upstream issues
//!   #97 and #131).
//! - [`Mode::ManagedInstances`]: `AWS_LAMBDA_MAX_CONCURRENCY` set, N invocations in flight.
//!   The RIE then only runs `/var/task/bootstrap` (or `/var/runtime`, `/opt`) and starts it as
//!   another user, so it runs in a private mount namespace with our binary bound there.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The RIE binary, or `None` (with one line on stderr, once) when `LAMBDA_RIE` is not set,
/// unless `REQUIRE_TEST_TOOLS` is set: then the test fails.
pub fn path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("LAMBDA_RIE") {
        return Some(PathBuf::from(path));
    }
    super::skip_or_fail(
        "LAMBDA_RIE is not set (scripts/test sets it: `LAMBDA_RIE=$(scripts/rie)`)",
    );
    None
}

#[derive(Clone, Copy, Debug)]
pub enum Mode {
    Classic,
    ManagedInstances { max_concurrency: usize },
}

/// What one invocation returned.
#[derive(Debug)]
pub struct Invocation {
    /// The RIE's HTTP status: 200 for an answer or an error the function reported, 502 when
    /// the runtime exited (with a `Runtime.ExitError` document) or never started (no body).
    pub status: u16,
    /// The function's response document, the error document, or `Null`.
    pub body: Value,
    /// `errorType` of a failed invocation.
    pub error_type: Option<String>,
}

impl Invocation {
    /// The response document; panics on an invocation error.
    pub fn response(self) -> Value {
        assert!(
            self.status == 200 && self.error_type.is_none(),
            "invocation failed ({}): {}",
            self.status,
            self.body
        );
        self.body
    }
}

pub struct Rie {
    child: Child,
    url: String,
    client: reqwest::Client,
    output: Arc<Mutex<Vec<String>>>,
    /// Holds the `bootstrap` bound into `/var/task` (Managed Instances mode).
    _task_dir: Option<TempDir>,
}

impl Rie {
    /// Starts the RIE in `mode` with `binary` as the function and `env` in its environment
    /// (the RIE passes its environment on to the function). Returns once it accepts invokes,
    /// or has exited (see [`Self::exit_status`]).
    pub async fn start(rie: &Path, binary: &Path, mode: Mode, env: &[(&str, &str)]) -> Self {
        // The ports are free when picked, but another test may take one before the RIE binds
        // it: then the RIE exits at once saying so, and it is started again on new ones.
        for _ in 0..5 {
            let rie = Self::try_start(rie, binary, mode, env).await;
            if !rie.output().contains("address already in use") {
                return rie;
            }
        }
        panic!("the RIE found no free port in 5 tries")
    }

    async fn try_start(rie: &Path, binary: &Path, mode: Mode, env: &[(&str, &str)]) -> Self {
        let port = super::free_port();
        let address = format!("127.0.0.1:{port}");
        // Its own Runtime API port (the default is 9001), so that several run at once.
        let runtime_api = format!("127.0.0.1:{}", super::free_port());
        let (mut command, task_dir) = match mode {
            Mode::Classic => {
                let mut command = Command::new(rie);
                command
                    .arg("--runtime-interface-emulator-address")
                    .arg(&address)
                    .arg("--runtime-api-address")
                    .arg(&runtime_api)
                    .arg(binary);
                (command, None)
            }
            Mode::ManagedInstances { max_concurrency } => {
                let dir = TempDir::new();
                // A link, not a symlink: the function's user may not reach the binary's
                // folder (a clone in a private temp dir, say). A copy where links can't go.
                let bootstrap = dir.0.join("bootstrap");
                if std::fs::hard_link(binary, &bootstrap).is_err() {
                    std::fs::copy(binary, &bootstrap).expect("the binary is copied");
                }
                let mut command = private_mount_namespace();
                command
                    .arg("sh")
                    .arg("-c")
                    .arg(
                        "mount -t tmpfs tmpfs /var && mkdir /var/task \
                         && mount --bind \"$0\" /var/task \
                         && exec \"$1\" --runtime-interface-emulator-address \"$2\" \
                         --runtime-api-address \"$3\"",
                    )
                    .arg(&dir.0)
                    .arg(rie)
                    .arg(&address)
                    .arg(&runtime_api)
                    .env("AWS_LAMBDA_MAX_CONCURRENCY", max_concurrency.to_string());
                (command, Some(dir))
            }
        };
        command
            .env("AWS_REGION", "us-east-1")
            .env("AWS_LAMBDA_FUNCTION_NAME", "lambda-async-api")
            .env_remove("AWS_LAMBDA_RUNTIME_API")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("the RIE starts");
        let output = Arc::new(Mutex::new(Vec::new()));
        let readers = [
            collect(child.stdout.take().unwrap(), Arc::clone(&output)),
            collect(child.stderr.take().unwrap(), Arc::clone(&output)),
        ];
        // An exit is the test's to judge (a failed init ends the RIE in Managed Instances mode);
        // its last words are read to the end first.
        if !super::wait_for_port(port, &mut child).await {
            for reader in readers {
                let _ = tokio::time::timeout(Duration::from_secs(5), reader).await;
            }
        }
        Self {
            child,
            url: format!("http://{address}/2015-03-31/functions/function/invocations"),
            client: super::http_client(),
            output,
            _task_dir: task_dir,
        }
    }

    /// Invokes the function with `event` and waits for the answer.
    pub async fn invoke(&self, event: &str) -> Invocation {
        let response = self
            .client
            .post(&self.url)
            .body(event.to_owned())
            .timeout(Duration::from_secs(60))
            .send()
            .await
            .unwrap_or_else(|e| panic!("the RIE answers: {e}; its output:\n{}", self.output()));
        let status = response.status();
        let header_error = response
            .headers()
            .get("error-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = response.text().await.expect("the RIE's answer is read");
        let body = match text.as_str() {
            "" => Value::Null,
            _ => serde_json::from_str(&text).unwrap_or(Value::String(text)),
        };
        // Classic mode reports a failed invocation in the body only, Managed Instances mode
        // also in an `Error-Type` header.
        let error_type = header_error.or_else(|| body["errorType"].as_str().map(str::to_owned));
        Invocation {
            status: status.as_u16(),
            body,
            error_type,
        }
    }

    /// The process id of the function's runtime process (the RIE's child), once it runs.
    pub async fn function_pid(&self) -> u32 {
        let rie = self.child.id().expect("the RIE is running");
        for _ in 0..500 {
            if let Some(pid) = children(rie).into_iter().next() {
                return pid;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "the RIE started no runtime process; its output:\n{}",
            self.output()
        )
    }

    /// Waits for the RIE itself to exit, up to `cap`.
    pub async fn exit_status(&mut self, cap: Duration) -> Option<std::process::ExitStatus> {
        tokio::time::timeout(cap, self.child.wait())
            .await
            .ok()
            .map(|status| status.expect("wait on the RIE"))
    }

    /// Everything the RIE and the function printed so far, one line per entry.
    pub fn output(&self) -> String {
        self.output.lock().unwrap().join("\n")
    }

    /// The function's JSON log lines after the first `from`, once one of them is its access
    /// line (`"message":"request"`). The function writes that line before it posts its answer,
    /// but this side reads the pipe on a task of its own: it may not have read it yet.
    /// Bounded: after 10 s, whatever has arrived.
    pub async fn access_lines_after(&self, from: usize) -> Vec<Value> {
        for _ in 0..1000 {
            let lines = self.function_json_lines();
            let after = lines.get(from..).unwrap_or_default();
            if after.iter().any(|line| line["message"] == "request") {
                return after.to_vec();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.function_json_lines().get(from..).unwrap_or_default().to_vec()
    }

    /// The function's own log lines: those that are JSON objects (the RIE's are not).
    pub fn function_json_lines(&self) -> Vec<Value> {
        self.output
            .lock()
            .unwrap()
            .iter()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(Value::is_object)
            .collect()
    }
}

/// Reads `stream` line by line into `into` until it ends.
fn collect(
    stream: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    into: Arc<Mutex<Vec<String>>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            into.lock().unwrap().push(line);
        }
    })
}

/// `unshare` into a mount namespace of our own, so that `/var/task` can be bound without
/// touching the machine's. Root needs nothing more; anyone else maps themselves to root in a
/// user namespace, with their subordinate ids for the user the RIE starts the function as.
///
/// And a PID namespace whose first process is the RIE: when the test drops it (`unshare`
/// killed, `--kill-child` passing that on), the kernel ends every process in the namespace,
/// the function too. An orphaned function would otherwise outlive the test: with its Runtime
/// API gone, the runtime crate's concurrent workers retry `GET /next` in a loop, at full CPU.
fn private_mount_namespace() -> Command {
    let mut command = Command::new("unshare");
    if !is_root() {
        command.args(["--user", "--map-root-user", "--map-auto"]);
    }
    command.args(["--mount", "--propagation", "private"]);
    command.args(["--pid", "--fork", "--kill-child"]);
    command
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

/// Child processes of `pid`, from `/proc/<pid>/task/*/children`.
fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .filter_map(|pid| pid.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// A directory under the system temp dir, removed on drop, readable by every user (the RIE
/// starts the function as another user in Managed Instances mode).
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        use std::os::unix::fs::PermissionsExt;
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("lambda-async-api-rie-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
