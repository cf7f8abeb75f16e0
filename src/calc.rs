//! The seed's CPU-bound `complex_calculation`: a plain loop that stands for CPU work a user
//! replaces with their own. It cannot be awaited, which is why the handlers run it on the
//! blocking pool (see [`crate::dependencies::cpu`]).
//!
//! ```python
//! def complex_calculation(n):
//!     return sum(i * i % 1234 for i in range(n))
//! ```
//!
//! The same loop in integer arithmetic, each value in the type that fits it: the index is a
//! `u64` (the route's `n = number * 10000`, so `MAX_NUMBER` is bounded to fit it), the total a
//! `u128` (up to 1233 per iteration: exact for every `n`), and reducing `i` modulo 1234
//! before squaring keeps the square small (`u32` is ample). The index type is the loop's
//! speed: a `u64` remainder by a constant compiles to a multiply and a shift, a `u128` one to
//! a library call (`__umodti3`): 1.5 to 2.4 times slower per iteration, with how fast the
//! processor divides (docs/performance.md, "The calculation loop").
//!
//! Pure: no I/O; the only shared state is the caller's cancellation flag.

use std::sync::atomic::{AtomicBool, Ordering};

/// How many iterations run between two looks at the cancellation flag: a few microseconds of
/// work, so a cancelled calculation frees its thread almost at once, while the check itself
/// costs nothing measurable.
const CHECK_EVERY: u64 = 4096;

/// `complex_calculation(n) = Σ_{0≤i<n} (i*i mod 1234)`, `0` for `n == 0`.
pub fn complex_calculation(n: u64) -> u128 {
    let never = AtomicBool::new(false);
    complex_calculation_cancellable(n, &never).unwrap_or_default()
}

/// [`complex_calculation`] that gives up (`None`) soon after `cancelled` becomes true.
pub fn complex_calculation_cancellable(n: u64, cancelled: &AtomicBool) -> Option<u128> {
    let mut total: u128 = 0;
    for i in 0..n {
        if i % CHECK_EVERY == 0 && cancelled.load(Ordering::Relaxed) {
            return None;
        }
        let residue = (i % 1234) as u32;
        total += u128::from(residue * residue % 1234);
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Closed form, the test oracle: whole periods of 1234 times the period's sum, plus the
    /// tail (`i*i mod 1234` only depends on `i mod 1234`).
    fn closed_form(n: u64) -> u128 {
        let period_sum: u128 = (0..1234u128).map(|j| j * j % 1234).sum();
        let tail: u128 = (0..u128::from(n % 1234)).map(|j| j * j % 1234).sum();
        u128::from(n / 1234) * period_sum + tail
    }

    /// The seed's loop, literally, for small `n`.
    fn seed_loop(n: u64) -> u128 {
        (0..u128::from(n)).map(|i| i * i % 1234).sum()
    }

    #[test]
    fn matches_the_values_of_the_issue() {
        for (number, expected) in [
            (0u64, 0u128),
            (1, 6_156_266),
            (7, 43_160_950),
            (42, 258_925_136),
            (100, 616_495_466),
        ] {
            assert_eq!(
                complex_calculation(number * 10_000),
                expected,
                "number {number}"
            );
        }
        assert_eq!(complex_calculation(500), 305_172);
    }

    #[test]
    fn matches_the_seed_loop_for_every_small_n() {
        for n in 0..5_000 {
            assert_eq!(complex_calculation(n), seed_loop(n), "n {n}");
        }
    }

    #[test]
    fn matches_the_closed_form_across_periods_and_checks() {
        let mut n = 1u64;
        while n < 2_000 {
            for m in [n * 1234 - 1, n * 1234, n * 1234 + 1, n * 4096 + 4095] {
                assert_eq!(complex_calculation(m), closed_form(m), "n {m}");
            }
            n = n * 3 + 7;
        }
    }

    #[test]
    fn no_u64_count_of_iterations_overflows_the_total() {
        // Each iteration adds at most 1233.
        assert!(u128::from(u64::MAX).checked_mul(1233).is_some());
        let cancelled = AtomicBool::new(true);
        assert_eq!(complex_calculation_cancellable(u64::MAX, &cancelled), None);
    }

    #[test]
    fn stops_when_cancelled() {
        let cancelled = AtomicBool::new(true);
        assert_eq!(complex_calculation_cancellable(1 << 40, &cancelled), None);
        assert_eq!(complex_calculation_cancellable(5, &cancelled), None);
        assert_eq!(complex_calculation_cancellable(0, &cancelled), Some(0));
    }
}
