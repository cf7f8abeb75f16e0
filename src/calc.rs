//! The seed's CPU-bound `complex_calculation`, kept a real O(n) loop: it stands for CPU work
//! that cannot be awaited, which is why the handlers run it on the blocking pool.
//!
//! `i*i mod 1234` only depends on `i mod 1234`, so the loop walks the input in blocks of one
//! period: within a block the residue is the loop counter itself, which keeps the arithmetic in
//! `u32` (vectorisable, no overflow) while still visiting every `i`. Totals are `u128`: with
//! `n = number * 10000` and `number` up to `u64::MAX`, both `n` and the sum stay exact.
//!
//! Pure: no I/O; the only shared state is the caller's cancellation flag.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};

/// `i*i mod MODULUS` repeats with this period in `i`.
pub const MODULUS: u32 = 1234;

/// `complex_calculation(n) = Σ_{0≤i<n} (i*i mod 1234)`, `0` for `n == 0`.
pub fn complex_calculation(n: u128) -> u128 {
    let never = AtomicBool::new(false);
    complex_calculation_cancellable(n, &never).unwrap_or_default()
}

/// [`complex_calculation`] that gives up (`None`) soon after `cancelled` becomes true.
///
/// The flag is read once per block (1234 iterations, about a microsecond), so a cancelled
/// calculation frees its thread almost at once while the check costs nothing measurable.
pub fn complex_calculation_cancellable(n: u128, cancelled: &AtomicBool) -> Option<u128> {
    let period = u128::from(MODULUS);
    let full_blocks = n / period;
    let tail = (n % period) as u32;

    let mut total: u128 = 0;
    let mut block: u128 = 0;
    while block < full_blocks {
        if cancelled.load(Ordering::Relaxed) {
            return None;
        }
        // `black_box` keeps the optimiser from computing the (identical) block once and
        // multiplying: the point of this function is to do the work.
        total += u128::from(block_sum(black_box(MODULUS)));
        block += 1;
    }
    if cancelled.load(Ordering::Relaxed) {
        return None;
    }
    Some(total + u128::from(block_sum(tail)))
}

/// `Σ_{0≤j<len} (j*j mod 1234)` for `len ≤ 1234`; at most 1234·1233, so `u64` is ample.
#[inline]
fn block_sum(len: u32) -> u64 {
    debug_assert!(len <= MODULUS);
    (0..len).map(|j| u64::from(j * j % MODULUS)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Closed form, the test oracle: whole periods times the period's sum, plus the tail.
    fn closed_form(n: u128) -> u128 {
        let period = u128::from(MODULUS);
        let period_sum: u128 = (0..period).map(|j| j * j % period).sum();
        let tail: u128 = (0..n % period).map(|j| j * j % period).sum();
        n / period * period_sum + tail
    }

    /// The seed's loop, literally, for small `n`.
    fn seed_loop(n: u128) -> u128 {
        (0..n).map(|i| i * i % 1234).sum()
    }

    #[test]
    fn matches_the_values_of_the_issue() {
        for (number, expected) in [
            (0u128, 0u128),
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
    fn matches_the_closed_form_across_block_boundaries() {
        let mut n = 1u128;
        while n < 20_000 {
            for m in [n - 1, n, n + 1, n * 1234, n * 1234 + 1233] {
                assert_eq!(complex_calculation(m), closed_form(m), "n {m}");
            }
            n = n * 3 + 7;
        }
    }

    #[test]
    fn stays_exact_where_u64_would_overflow() {
        // The sum exceeds u64 at n ≈ 3e16; check the arithmetic there without looping:
        // the closed form is computed in u128 and the loop's per-block sum in u64.
        let n = u128::from(u64::MAX) * 10_000;
        assert!(closed_form(n) > u128::from(u64::MAX));
        assert!(u128::from(block_sum(MODULUS)) * (n / 1234) < u128::MAX);
    }

    #[test]
    fn stops_when_cancelled() {
        let cancelled = AtomicBool::new(true);
        assert_eq!(complex_calculation_cancellable(1 << 40, &cancelled), None);
        assert_eq!(complex_calculation_cancellable(5, &cancelled), None);
    }
}
