//! Running CPU-bound work off the async runtime, cancellably.
//!
//! `spawn_blocking` keeps the loop off the async workers, so a long calculation never delays
//! other requests' awaits. If the request is abandoned (client gone, deadline hit), the future
//! awaiting the work is dropped; [`CancelOnDrop`] then raises the job's flag and the loop stops
//! at its next check, freeing the blocking thread instead of computing for nobody.
//!
//! The job runs inside the request's span ([`crate::telemetry::spawn_blocking`]), so whatever
//! it logs carries the request's id like every other line of that request. With tracing on,
//! the wait for a slot and the job itself are spans of the request's trace, so a trace shows
//! how long a calculation queued and how long it ran.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::sync::Semaphore;
use tokio::time::Instant;
use tracing::Instrument;
use tracing::field::Empty;

use crate::telemetry::spans;

/// Why a calculation gave no result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CpuError {
    /// Every slot stayed taken until the request's deadline.
    #[error("too many calculations in progress, retry later")]
    Busy,
    /// The job panicked; the panic hook has logged where.
    #[error("the calculation panicked")]
    Panicked,
    /// The job returned without a result although nobody cancelled it.
    #[error("the calculation stopped without a result")]
    Stopped,
    /// The runtime is shutting down and dropped the job before it ran.
    #[error("the calculation was dropped by the runtime")]
    Dropped,
}

/// At most `CPU_WORKERS` calculations run at once; more would only share the same cores,
/// slowing every one of them and the rest of the process with them. The others wait for a
/// slot until their deadline, then get a 503.
///
/// A slot is held by the blocking job itself, not by the request: a job that is still
/// winding down after its request was abandoned keeps its slot until its thread is free.
#[derive(Debug)]
pub(crate) struct CpuPool {
    slots: Arc<Semaphore>,
    running: Arc<Gauges>,
}

/// Jobs running on blocking threads now, and the most ever running at once. Counted always
/// (two atomic operations per job); read only by tests, through the `test-support` feature.
#[derive(Debug, Default)]
pub struct Gauges {
    now: AtomicUsize,
    peak: AtomicUsize,
}

#[cfg(feature = "test-support")]
impl Gauges {
    /// Calculations executing on blocking threads right now.
    pub fn running(&self) -> usize {
        self.now.load(Ordering::SeqCst)
    }

    /// The most calculations that ever executed at once.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

/// Counts one job as running for as long as it lives.
struct Running(Arc<Gauges>);

impl Running {
    fn enter(gauges: &Arc<Gauges>) -> Self {
        let now = gauges.now.fetch_add(1, Ordering::SeqCst) + 1;
        gauges.peak.fetch_max(now, Ordering::SeqCst);
        Self(Arc::clone(gauges))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

impl CpuPool {
    pub(crate) fn new(workers: usize) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(workers)),
            running: Arc::default(),
        }
    }

    #[cfg(feature = "test-support")]
    pub(crate) fn gauges(&self) -> &Gauges {
        &self.running
    }

    /// Waits for a slot until `deadline` ([`CpuError::Busy`] then), and runs `job` in it with
    /// [`run_cancellable`].
    pub(crate) async fn run<T, F>(&self, deadline: Instant, job: F) -> Result<T, CpuError>
    where
        T: Send + 'static,
        F: FnOnce(&AtomicBool) -> Option<T> + Send + 'static,
    {
        let waiting = tracing::info_span!(
            target: spans::TARGET,
            "cpu slot wait",
            "otel.status_code" = Empty,
            "error.type" = Empty,
        );
        let slot = tokio::time::timeout_at(deadline, Arc::clone(&self.slots).acquire_owned())
            .instrument(waiting.clone())
            .await
            .inspect_err(|_| spans::failed(&waiting, "busy"))
            .map_err(|_| CpuError::Busy)?
            // Only a closed semaphore fails here, and this one is never closed; were it, the
            // job could not run, as when the runtime drops it.
            .map_err(|_| CpuError::Dropped)?;
        let gauges = Arc::clone(&self.running);
        run_cancellable(move |cancelled| {
            let _slot = slot;
            let _running = Running::enter(&gauges);
            job(cancelled)
        })
        .await
    }
}

/// Runs `job` on the blocking pool. `job` must return `None` soon after its flag is raised.
///
/// A panic inside `job` becomes [`CpuError::Panicked`] for this request only.
pub(crate) async fn run_cancellable<T, F>(job: F) -> Result<T, CpuError>
where
    T: Send + 'static,
    F: FnOnce(&AtomicBool) -> Option<T> + Send + 'static,
{
    let cancelled = Arc::new(AtomicBool::new(false));
    let _cancel_on_drop = CancelOnDrop(Arc::clone(&cancelled));
    let outcome = crate::telemetry::spawn_blocking(move || {
        // Opened on the blocking thread: the span is the job's run, not its wait for a thread.
        let running = tracing::info_span!(
            target: spans::TARGET,
            "calculation",
            "otel.status_code" = Empty,
            "error.type" = Empty,
        );
        let _panicked = FailOnPanic(&running);
        let value = running.in_scope(|| job(&cancelled));
        if value.is_none() {
            spans::failed(&running, "stopped");
        }
        value
    })
    .await;
    match outcome {
        Ok(Some(value)) => Ok(value),
        // Only our own drop guard raises the flag, and it runs after this await; a `None` here
        // means the job gave up by itself.
        Ok(None) => Err(CpuError::Stopped),
        Err(e) if e.is_panic() => Err(CpuError::Panicked),
        Err(_) => Err(CpuError::Dropped),
    }
}

/// Marks the job's span failed when the job panics (the span then closes as the thread
/// unwinds).
struct FailOnPanic<'a>(&'a tracing::Span);

impl Drop for FailOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            spans::failed(self.0, "panic");
        }
    }
}

/// Raises the flag when the request's future is dropped, whether it finished or not.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn returns_the_jobs_value() {
        assert_eq!(run_cancellable(|_| Some(42)).await.unwrap(), 42);
    }

    #[tokio::test]
    async fn a_panicking_job_is_that_jobs_error_only() {
        let err = run_cancellable(|_| -> Option<()> { panic!("boom") })
            .await
            .unwrap_err();
        assert_eq!(err, CpuError::Panicked);
        assert_eq!(err.to_string(), "the calculation panicked");
        // The runtime is unharmed.
        assert_eq!(run_cancellable(|_| Some(1)).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn a_line_logged_inside_a_job_names_its_request() {
        use tracing::Instrument;
        let (capture, _guard) = crate::telemetry::capture::Capture::json_subscriber("svc");
        let pool = CpuPool::new(1);
        let far = Instant::now() + Duration::from_secs(600);
        let span = crate::telemetry::request_span(Some("req-7"), None, false);
        let job = pool.run(far, |_| {
            tracing::info!("inside the calculation");
            Some(())
        });
        job.instrument(span).await.unwrap();
        let lines = capture.lines_as_json();
        assert_eq!(lines.len(), 1, "{}", capture.text());
        assert_eq!(lines[0]["message"], "inside the calculation");
        assert_eq!(lines[0]["function_request_id"], "req-7");
    }

    #[tokio::test]
    async fn a_job_that_gives_up_by_itself_is_not_a_panic() {
        let err = run_cancellable(|_| None::<()>).await.unwrap_err();
        assert_eq!(err, CpuError::Stopped);
    }

    #[tokio::test]
    async fn a_full_pool_answers_busy_at_the_deadline() {
        let pool = Arc::new(CpuPool::new(1));
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let holder = tokio::spawn({
            let pool = Arc::clone(&pool);
            async move {
                let far = Instant::now() + Duration::from_secs(600);
                pool.run(far, move |cancelled| {
                    let _ = started_tx.send(());
                    while !cancelled.load(Ordering::Relaxed) {
                        std::hint::spin_loop();
                    }
                    None::<()>
                })
                .await
            }
        });
        started_rx.await.unwrap();
        let soon = Instant::now() + Duration::from_millis(50);
        let err = pool.run(soon, |_| Some(())).await.unwrap_err();
        assert_eq!(err, CpuError::Busy);
        #[cfg(feature = "test-support")]
        assert_eq!(pool.gauges().running(), 1);
        holder.abort();
    }

    #[tokio::test]
    async fn dropping_the_request_stops_the_job() {
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let (stopped_tx, stopped_rx) = std::sync::mpsc::channel();
        let request = tokio::spawn(run_cancellable(move |cancelled| {
            let _ = started_tx.send(());
            while !cancelled.load(Ordering::Relaxed) {
                std::hint::spin_loop();
            }
            let _ = stopped_tx.send("stopped by the flag");
            None::<()>
        }));
        started_rx.await.unwrap();
        request.abort();
        // The job can only leave its loop through the flag; wait for it (bounded, not timed).
        let seen =
            tokio::task::spawn_blocking(move || stopped_rx.recv_timeout(Duration::from_secs(30)))
                .await
                .unwrap();
        assert_eq!(seen, Ok("stopped by the flag"));
    }
}
