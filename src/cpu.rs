//! Running CPU-bound work off the async runtime, cancellably.
//!
//! `spawn_blocking` keeps the loop off the async workers, so a long calculation never delays
//! other requests' awaits. If the request is abandoned (client gone, deadline hit), the future
//! awaiting the work is dropped; [`CancelOnDrop`] then raises the job's flag and the loop stops
//! at its next check, freeing the blocking thread instead of computing for nobody.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::error::ApiError;

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

    /// Waits for a slot until `deadline` ([`ApiError::Busy`] then), and runs `job` in it with
    /// [`run_cancellable`].
    pub(crate) async fn run<T, F>(&self, deadline: Instant, job: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&AtomicBool) -> Option<T> + Send + 'static,
    {
        let slot = tokio::time::timeout_at(deadline, Arc::clone(&self.slots).acquire_owned())
            .await
            .map_err(|_| ApiError::Busy)?
            .map_err(|_| ApiError::Internal("CPU slots closed"))?;
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
/// A panic inside `job` becomes [`ApiError::Internal`] for this request only.
pub(crate) async fn run_cancellable<T, F>(job: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&AtomicBool) -> Option<T> + Send + 'static,
{
    let cancelled = Arc::new(AtomicBool::new(false));
    let _cancel_on_drop = CancelOnDrop(Arc::clone(&cancelled));
    match tokio::task::spawn_blocking(move || job(&cancelled)).await {
        Ok(Some(value)) => Ok(value),
        // Only our own drop guard raises the flag, and it runs after this await; a `None` here
        // means the job gave up by itself.
        Ok(None) => Err(ApiError::Internal("blocking job stopped without a result")),
        Err(e) if e.is_panic() => Err(ApiError::Internal("blocking job panicked")),
        Err(_) => Err(ApiError::Internal(
            "blocking job was cancelled by the runtime",
        )),
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
    async fn a_panicking_job_is_an_internal_error() {
        let err = run_cancellable(|_| -> Option<()> { panic!("boom") })
            .await
            .unwrap_err();
        assert!(matches!(err, ApiError::Internal(_)));
        // The runtime is unharmed.
        assert_eq!(run_cancellable(|_| Some(1)).await.unwrap(), 1);
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
        assert!(matches!(err, ApiError::Busy), "{err:?}");
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
