//! Running CPU-bound work off the async runtime, cancellably.
//!
//! `spawn_blocking` keeps the loop off the async workers, so a long calculation never delays
//! other requests' awaits. If the request is abandoned (client gone, deadline hit), the future
//! awaiting the work is dropped; [`CancelOnDrop`] then raises the job's flag and the loop stops
//! at its next check, freeing the blocking thread instead of computing for nobody.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::ApiError;

/// Runs `job` on the blocking pool. `job` must return `None` soon after its flag is raised.
///
/// A panic inside `job` becomes [`ApiError::Internal`] for this request only.
pub async fn run_cancellable<T, F>(job: F) -> Result<T, ApiError>
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
