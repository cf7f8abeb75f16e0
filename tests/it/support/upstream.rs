//! A stand-in for the external API on 127.0.0.1, speaking just enough HTTP/1.1 by hand to
//! misbehave in every way the real one might. The path picks the behaviour:
//!
//! | path | answer |
//! |---|---|
//! | `/todos/1` | 200, the jsonplaceholder document, pretty-printed |
//! | `/status/{code}` | that status with a small JSON body |
//! | `/redirect` | 302 to `/todos/1` |
//! | `/bad-json` | 200 `text/html` that is not JSON |
//! | `/big` | 200, a JSON document over 1 MiB with `content-length` |
//! | `/big-chunked` | the same, chunked, so its size is only known while reading |
//! | `/reset` | the connection is reset (RST) instead of an answer |
//! | `/close` | the connection is closed with no answer |
//! | `/hang` | no answer ever (until the test ends) |
//! | `/delay/{ms}` | 200 after `ms` milliseconds |
//! | `/gate` | 200 once [`Upstream::open_gate_at`] requests are in flight at once |
//! | `/gate-partner` | 200 once the partner counter ([`Upstream::set_partner`]) is above 0 |
//!
//! It counts requests in flight and their peak: the tests' proof of concurrency.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

pub const TODO: &str = "{\n  \"userId\": 1,\n  \"id\": 1,\n  \"title\": \"delectus aut autem\",\n  \"completed\": false\n}";
pub const TODO_COMPACT: &str =
    r#"{"userId":1,"id":1,"title":"delectus aut autem","completed":false}"#;

/// How long a held request (`/gate`) waits at most: generous, so only a real failure hits it.
const GATE_CAP: Duration = Duration::from_secs(20);

#[derive(Default)]
struct Counters {
    in_flight: AtomicUsize,
    peak: AtomicUsize,
    total: AtomicUsize,
    gate_at: AtomicUsize,
    /// Once open, the gate stays open: the first released requests leave at once, and the
    /// others must not wait for a peak that has passed.
    gate_open: AtomicBool,
    gate: Notify,
    /// `x-amzn-trace-id` of every request that carried one.
    trace_ids: std::sync::Mutex<Vec<String>>,
    /// `traceparent` of every request that carried one.
    traceparents: std::sync::Mutex<Vec<String>>,
    partner: std::sync::Mutex<Option<Arc<AtomicUsize>>>,
    /// `/gate-partner` requests received so far (only ever grows: a latch, not a level).
    partner_arrivals: AtomicUsize,
}

pub struct Upstream {
    addr: std::net::SocketAddr,
    counters: Arc<Counters>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Upstream {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind stub");
        let addr = listener.local_addr().unwrap();
        let counters = Arc::new(Counters::default());
        let shared = Arc::clone(&counters);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(serve(stream, Arc::clone(&shared)));
            }
        });
        Self {
            addr,
            counters,
            task,
        }
    }

    /// The URL of one of the behaviours in the module table.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `/gate` requests are held until `n` requests are in flight at once.
    pub fn open_gate_at(&self, n: usize) {
        self.counters.gate_at.store(n, Ordering::SeqCst);
    }

    /// `/gate-partner` requests wait until `partner` counts something.
    pub fn set_partner(&self, partner: Arc<AtomicUsize>) {
        *self.counters.partner.lock().unwrap() = Some(partner);
    }

    /// Whether a `/gate-partner` request has arrived. A latch rather than "in flight now":
    /// that request leaves as soon as its partner arrives, possibly between two polls of it.
    pub fn partner_request_probe(&self) -> Arc<dyn Fn() -> bool + Send + Sync> {
        let counters = Arc::clone(&self.counters);
        Arc::new(move || counters.partner_arrivals.load(Ordering::SeqCst) > 0)
    }

    pub fn peak_in_flight(&self) -> usize {
        self.counters.peak.load(Ordering::SeqCst)
    }

    pub fn total(&self) -> usize {
        self.counters.total.load(Ordering::SeqCst)
    }

    /// The X-Ray trace headers received so far.
    pub fn trace_ids(&self) -> Vec<String> {
        self.counters.trace_ids.lock().unwrap().clone()
    }

    /// The W3C `traceparent` headers received so far.
    pub fn traceparents(&self) -> Vec<String> {
        self.counters.traceparents.lock().unwrap().clone()
    }
}

/// Keeps `in_flight` true to the requests really being answered, however the task ends.
struct InFlight(Arc<Counters>);

impl InFlight {
    fn enter(counters: &Arc<Counters>) -> Self {
        let now = counters.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        counters.peak.fetch_max(now, Ordering::SeqCst);
        counters.total.fetch_add(1, Ordering::SeqCst);
        Self(Arc::clone(counters))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn serve(mut stream: TcpStream, counters: Arc<Counters>) {
    // One request per connection keeps the stub simple; the client reconnects as needed.
    let Some((path, trace_id, traceparent)) = read_request(&mut stream).await else {
        return;
    };
    if let Some(trace_id) = trace_id {
        counters.trace_ids.lock().unwrap().push(trace_id);
    }
    if let Some(traceparent) = traceparent {
        counters.traceparents.lock().unwrap().push(traceparent);
    }
    let _in_flight = InFlight::enter(&counters);
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let response = match segments.as_slice() {
        ["todos", "1"] => ok_json(TODO),
        ["status", code] => {
            let code: u16 = code.parse().unwrap_or(500);
            response(code, "application/json", r#"{"error":"stub"}"#, &[])
        }
        ["redirect"] => response(302, "text/plain", "", &[("location", "/todos/1")]),
        ["bad-json"] => response(200, "text/html", "<html>not json</html>", &[]),
        ["big"] => ok_json(&big_document()),
        ["big-chunked"] => chunked_json(&big_document()),
        ["reset"] => {
            let _ = stream.set_zero_linger();
            return;
        }
        ["close"] => return,
        ["hang"] => std::future::pending().await,
        ["delay", ms] => {
            tokio::time::sleep(Duration::from_millis(ms.parse().unwrap_or(0))).await;
            ok_json(TODO)
        }
        ["gate"] => {
            let wait = async {
                loop {
                    let mut notified = std::pin::pin!(counters.gate.notified());
                    notified.as_mut().enable();
                    let target = counters.gate_at.load(Ordering::SeqCst);
                    if counters.in_flight.load(Ordering::SeqCst) >= target {
                        counters.gate_open.store(true, Ordering::SeqCst);
                        counters.gate.notify_waiters();
                    }
                    if counters.gate_open.load(Ordering::SeqCst) {
                        return;
                    }
                    notified.await;
                }
            };
            let _ = tokio::time::timeout(GATE_CAP, wait).await;
            ok_json(TODO)
        }
        ["gate-partner"] => {
            counters.partner_arrivals.fetch_add(1, Ordering::SeqCst);
            let partner = counters.partner.lock().unwrap().clone();
            for _ in 0..2000 {
                if partner
                    .as_ref()
                    .is_some_and(|p| p.load(Ordering::SeqCst) > 0)
                {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            ok_json(TODO)
        }
        _ => response(
            404,
            "application/json",
            r#"{"error":"no such stub path"}"#,
            &[],
        ),
    };
    let _ = stream.write_all(&response).await;
    let _ = stream.shutdown().await;
}

/// The request's path (query dropped), its `x-amzn-trace-id` and its `traceparent`.
async fn read_request(stream: &mut TcpStream) -> Option<(String, Option<String>, Option<String>)> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 || head.len() > 64 * 1024 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head);
    let target = head.lines().next()?.split(' ').nth(1)?;
    let path = target.split('?').next().unwrap_or(target).to_owned();
    let header = |wanted: &str| {
        head.lines().skip(1).find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case(wanted)
                .then(|| value.trim().to_owned())
        })
    };
    Some((path, header("x-amzn-trace-id"), header("traceparent")))
}

fn big_document() -> String {
    format!("{{\"padding\":\"{}\"}}", "x".repeat(1024 * 1024))
}

fn ok_json(body: &str) -> Vec<u8> {
    response(200, "application/json", body, &[])
}

fn response(status: u16, content_type: &str, body: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut head = format!(
        "HTTP/1.1 {status} Stub\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (name, value) in extra {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body.as_bytes());
    bytes
}

fn chunked_json(body: &str) -> Vec<u8> {
    let mut bytes = b"HTTP/1.1 200 Stub\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n".to_vec();
    for chunk in body.as_bytes().chunks(64 * 1024) {
        bytes.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        bytes.extend_from_slice(chunk);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"0\r\n\r\n");
    bytes
}
