//! The routes' own waits (`/call-external-api`'s 100 ms, `/mixed`'s 50 ms), kept to the
//! microsecond.
//!
//! Hand-written, for latency: Tokio's timer counts whole milliseconds. It rounds a deadline up
//! to the next tick and parks the thread until a tick, so `tokio::time::sleep(100 ms)` ends
//! 0–2 ms late, about 1 ms on average, and every request of these routes waits (and is billed)
//! that much more than the seed's sleep asks. On Linux a one-shot `timerfd`, awaited through
//! Tokio's own reactor, ends within microseconds of its time, for a few system calls per wait
//! (docs/performance.md, "The routes' sleeps"). Elsewhere, or when no timerfd can be had
//! (out of file descriptors, say), Tokio's timer.
//!
//! Registering a descriptor with Tokio's reactor is an `unsafe` call since Tokio 1.54 (it
//! cannot check that the descriptor outlives the registration); the one here is owned by the
//! registration itself.

use std::time::Duration;

use tokio::time::Instant;

/// Waits `duration` without blocking the thread, and never less.
pub(crate) async fn sleep(duration: Duration) {
    let until = Instant::now() + duration;
    #[cfg(target_os = "linux")]
    if linux::sleep(duration).await.is_ok() {
        return;
    }
    // Whatever part of the wait the timerfd did not cover.
    tokio::time::sleep_until(until).await;
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::time::Duration;

    use rustix::time::{
        Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags, Timespec, timerfd_create,
        timerfd_settime,
    };
    use tokio::io::Interest;
    use tokio::io::unix::AsyncFd;

    /// Arms a timerfd for `duration` on the monotonic clock (the one `Instant` reads) and
    /// waits until the reactor sees it readable, i.e. expired. Dropping the future closes the
    /// descriptor, which disarms the timer.
    pub(super) async fn sleep(duration: Duration) -> io::Result<()> {
        if duration.is_zero() {
            // A zero `it_value` disarms a timerfd: it would never fire.
            return Ok(());
        }
        let timer = timerfd_create(
            TimerfdClockId::Monotonic,
            TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
        )?;
        let once = Itimerspec {
            it_interval: Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: Timespec::try_from(duration)
                .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?,
        };
        timerfd_settime(&timer, TimerfdTimerFlags::empty(), &once)?;
        // SAFETY: `timer` is an `OwnedFd` the `AsyncFd` takes and owns: nothing else can
        // close it or hand out its number, so it stays open and the same file description
        // until the `AsyncFd` is dropped, which is what registration requires.
        let timer = unsafe { AsyncFd::register_with_interest(timer, Interest::READABLE) }?;
        let _expired = timer.readable().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Correctness only (never short, zero allowed, both runtime flavours); how close to
    // its time a wait ends is measured by the benchmark.

    #[tokio::test(flavor = "current_thread")]
    async fn waits_at_least_the_time_asked() {
        for ms in [0, 1, 7, 30] {
            let start = std::time::Instant::now();
            sleep(Duration::from_millis(ms)).await;
            assert!(start.elapsed() >= Duration::from_millis(ms), "{ms} ms");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_waits_at_once_all_end() {
        let start = std::time::Instant::now();
        let waits = (0..64).map(|i| tokio::spawn(sleep(Duration::from_millis(10 + i % 5))));
        for wait in waits {
            wait.await.unwrap();
        }
        assert!(start.elapsed() >= Duration::from_millis(14));
    }

    #[cfg(target_os = "linux")]
    #[tokio::test(flavor = "current_thread")]
    async fn the_linux_timer_itself_is_used_and_ends() {
        let start = std::time::Instant::now();
        linux::sleep(Duration::from_millis(5)).await.unwrap();
        assert!(start.elapsed() >= Duration::from_millis(5));
    }
}
