//! A log sink for tests: what a subscriber writes, kept in memory. (The integration tests get
//! it through the `test-support` feature.)

use std::sync::{Arc, Mutex, OnceLock};

use tracing::Dispatch;
use tracing::subscriber::DefaultGuard;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    /// A sink and, until the guard is dropped, this thread's subscriber writing into it as
    /// the function does with Lambda's JSON log format (every level, no filter).
    pub fn json_subscriber(service: &str) -> (Self, DefaultGuard) {
        let (capture, dispatch) = Self::json_dispatch(service);
        (capture, tracing::dispatcher::set_default(&dispatch))
    }

    /// A sink and a subscriber writing into it, for a future on a multi-threaded runtime
    /// (`tracing::instrument::WithSubscriber::with_subscriber`).
    pub fn json_dispatch(service: &str) -> (Self, Dispatch) {
        keep_every_call_site_wanted();
        let capture = Self::default();
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .fmt_fields(super::json::JsonFields)
                .event_format(super::json::JsonLines::new(service.to_owned()))
                .with_writer(capture.clone()),
        );
        (capture, Dispatch::new(subscriber))
    }

    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }

    /// Every line written so far, each parsed as the one JSON object it must be.
    pub fn lines_as_json(&self) -> Vec<serde_json::Value> {
        self.text()
            .lines()
            .map(|line| serde_json::from_str(line).expect("each line is one JSON object"))
            .collect()
    }
}

/// Keeps one subscriber that wants everything alive for the rest of the test run.
///
/// tracing caches, per call site, what the subscribers alive at its first use wanted. Tests
/// run in parallel: a call site used for the first time on another thread, with no subscriber
/// alive that wants it, while this test's capture is being registered, can be cached as
/// wanted by nobody, and the capture then misses that line or span. With this subscriber
/// alive, no call site is ever cached as unwanted; each line still goes to its thread's
/// subscriber only (this one writes nothing).
pub(crate) fn keep_every_call_site_wanted() {
    static EVERYTHING: OnceLock<Dispatch> = OnceLock::new();
    EVERYTHING.get_or_init(|| Dispatch::new(tracing_subscriber::registry()));
}

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
