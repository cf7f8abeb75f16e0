//! The seed's CPU-bound `complex_calculation`, kept a real O(n) loop: it stands for CPU work
//! that cannot be awaited, which is why the handlers run it on the blocking pool.
//!
//! `i*i mod 1234` only depends on `i mod 1234`, so the loop walks the input in blocks of one
//! period: within a block the residue is that of the loop counter `j < 1234` itself, while
//! every `i` is still visited: each step squares its `j` and reduces it modulo 1234. Totals are
//! `u128`: with `n = number * 10000` and `number` up to `u64::MAX`, both `n` and the sum stay
//! exact.
//!
//! Each step is done in `f32`, 16 steps side by side, because that is what the vector units of
//! every CPU we ship to do fastest (baseline x86-64 has no 32-bit integer vector multiply, and
//! reducing modulo a constant needs two of them). It is exact: `j² < 1234² < 2²⁴`, so every
//! value involved is an integer that `f32` holds exactly, and the quotient `⌊j²/1234⌋` is
//! rounded from `(j² − 617)/1234` with the `1.5·2²³` trick; a test checks all 1234
//! residues against integer arithmetic. On x86-64 CPUs with AVX2 the same loop runs in 256-bit
//! registers (checked at run time: the shipped build targets baseline x86-64).
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
/// The flag is read once per block (1234 iterations, well under a microsecond), so a
/// cancelled calculation frees its thread almost at once while the check costs nothing
/// measurable.
pub(crate) fn complex_calculation_cancellable(n: u128, cancelled: &AtomicBool) -> Option<u128> {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: `walk_avx2` only needs AVX2, which the CPU was just seen to have.
        return unsafe { walk_avx2(n, cancelled) };
    }
    walk(n, cancelled)
}

/// [`walk`] compiled for AVX2 (twice the vector width of baseline x86-64's SSE2).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn walk_avx2(n: u128, cancelled: &AtomicBool) -> Option<u128> {
    walk(n, cancelled)
}

#[inline(always)]
fn walk(n: u128, cancelled: &AtomicBool) -> Option<u128> {
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

/// Steps done side by side: four 128-bit registers of `f32` (two of 256 bits with AVX2),
/// enough independent additions to keep the vector units busy.
const LANES: usize = 16;

/// `Σ_{0≤j<len} (j*j mod 1234)` for `len ≤ 1234`: at most 1234·1233, so `u32` is ample.
#[inline(always)]
fn block_sum(len: u32) -> u32 {
    debug_assert!(len <= MODULUS);
    let mut sums = [0.0f32; LANES];
    let mut js: [f32; LANES] = std::array::from_fn(|lane| lane as f32);
    let rounds = len / LANES as u32;
    for _ in 0..rounds {
        for (sum, j) in sums.iter_mut().zip(js.iter_mut()) {
            *sum += residue(*j);
            *j += LANES as f32;
        }
    }
    // Each lane added at most 77 residues below 1234: integers far below 2²⁴, so exact.
    let mut total: u32 = sums.iter().map(|&sum| sum as u32).sum();
    for j in rounds * LANES as u32..len {
        total += residue(j as f32) as u32;
    }
    total
}

/// `j*j mod 1234` for an integer `0 ≤ j < 1234`, exactly, in `f32` arithmetic.
#[inline(always)]
fn residue(j: f32) -> f32 {
    const M: f32 = MODULUS as f32;
    const INVERSE: f32 = 1.0 / MODULUS as f32;
    /// Adding 1.5·2²³ leaves no bits below the units: the sum is rounded to an integer.
    const ROUND: f32 = 12_582_912.0;
    let square = j * j;
    // ⌊x/1234⌋ = round((x − 617)/1234): 617 is half the modulus. The product is off by
    // far less than the 1/1234 that separates the candidates, so the rounding is right.
    let quotient = ((square - 617.0) * INVERSE + ROUND) - ROUND;
    square - quotient * M
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

    /// The `f32` step against integer arithmetic, for every residue the loop can meet.
    #[test]
    fn residue_is_exact() {
        for j in 0..MODULUS {
            assert_eq!(residue(j as f32), (j * j % MODULUS) as f32, "j {j}");
        }
    }

    #[test]
    fn every_block_length_matches_integer_arithmetic() {
        for len in 0..=MODULUS {
            let expected: u32 = (0..len).map(|j| j * j % MODULUS).sum();
            assert_eq!(block_sum(len), expected, "len {len}");
        }
    }

    /// The portable loop and the one the CPU picked (AVX2 where there is one) agree.
    #[test]
    fn every_code_path_agrees() {
        let never = AtomicBool::new(false);
        for n in [0u128, 1, 1233, 1234, 1235, 10_000, 1_000_000, 12_345_677] {
            assert_eq!(walk(n, &never), Some(closed_form(n)), "n {n}");
            assert_eq!(
                complex_calculation_cancellable(n, &never),
                Some(closed_form(n)),
                "n {n}"
            );
        }
    }

    #[test]
    fn stops_when_cancelled() {
        let cancelled = AtomicBool::new(true);
        assert_eq!(complex_calculation_cancellable(1 << 40, &cancelled), None);
        assert_eq!(complex_calculation_cancellable(5, &cancelled), None);
    }
}
