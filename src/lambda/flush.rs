//! Each invocation's spans sent before the environment may be frozen.
//!
//! Classic Lambda freezes the execution environment as soon as the runtime asks for the next
//! event (`GET /next`), and may never thaw it: whatever is still queued then is lost, and an
//! export in flight stops mid-request. The runtime's service for one invocation ends when the
//! answer has been posted, and the runtime asks for the next event only after that service's
//! future completes; a layer around it (added through `Runtime::layer`, which
//! `lambda_http::runtime_concurrent` gives access to) runs exactly in between. There it awaits
//! the export: the runtime is single-threaded under classic Lambda, so a blocking flush would
//! stop the very request it waits for. The export is bounded by its timeout, so a collector
//! that hangs delays the next invocation by that much at most; the client has its answer
//! already.
//!
//! lambda_runtime's own `OpenTelemetryLayer` hooks the same place, but calls a synchronous
//! flush and is not `Clone`, which `run_concurrent` needs; and it opens a span of its own,
//! with no parent from the invocation's X-Ray header.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use lambda_runtime::LambdaInvocation;
use tower::{Layer, Service};

use crate::SpanExport;

/// Wraps the runtime's per-invocation service in [`FlushAfter`].
pub(super) struct FlushAfterLayer(pub(super) SpanExport);

impl<S> Layer<S> for FlushAfterLayer {
    type Service = FlushAfter<S>;

    fn layer(&self, inner: S) -> Self::Service {
        FlushAfter {
            inner,
            spans: self.0.clone(),
        }
    }
}

/// The runtime's service for one invocation (handle it, post the answer), then the export.
#[derive(Clone)]
pub(super) struct FlushAfter<S> {
    inner: S,
    spans: SpanExport,
}

impl<S> Service<LambdaInvocation> for FlushAfter<S>
where
    S: Service<LambdaInvocation, Response = (), Error = lambda_runtime::Error>,
    S::Future: Send + 'static,
{
    type Response = ();
    type Error = lambda_runtime::Error;
    type Future = Pin<Box<dyn Future<Output = Result<(), Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, invocation: LambdaInvocation) -> Self::Future {
        let answered = self.inner.call(invocation);
        let spans = self.spans.clone();
        Box::pin(async move {
            let outcome = answered.await;
            spans.flush().await;
            outcome
        })
    }
}
