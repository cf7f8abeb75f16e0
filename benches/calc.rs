//! `complex_calculation`, the loop behind `/calculate/{number}` and `/mixed`.
//!
//! Throughput is in loop iterations (`i` values visited), so criterion's `thrpt` line reads
//! directly as iterations per second: 1 / thrpt is the time per iteration. The `reference`
//! group runs the previous formulations in the same process, for the ratio.
//!
//! `cargo bench --bench calc`

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use lambda_async_api::calc::{MODULUS, complex_calculation};

/// The sizes the routes use: `/mixed` (500 inline, 1000 as its dependency) and
/// `/calculate/{1, 100, 1000}` (`number * 10000`).
const SIZES: [u128; 5] = [500, 1_000, 10_000, 1_000_000, 10_000_000];

fn current(c: &mut Criterion) {
    let mut group = c.benchmark_group("complex_calculation");
    for n in SIZES {
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            b.iter(|| complex_calculation(black_box(n)));
        });
    }
    group.finish();
}

/// The block walk as it was before the `f32` lanes: integer `j*j % 1234`, summed in `u64`.
fn integer_blocks(n: u128) -> u128 {
    let period = u128::from(MODULUS);
    let block = |len: u32| -> u64 { (0..len).map(|j| u64::from(j * j % MODULUS)).sum() };
    let mut total = 0u128;
    for _ in 0..n / period {
        total += u128::from(block(black_box(MODULUS)));
    }
    total + u128::from(block((n % period) as u32))
}

/// The seed's loop, literally (`u128` arithmetic, no blocks).
fn seed_loop(n: u128) -> u128 {
    (0..n).map(|i| i * i % 1234).sum()
}

fn reference(c: &mut Criterion) {
    let mut group = c.benchmark_group("reference");
    for n in [10_000u128, 1_000_000] {
        assert_eq!(integer_blocks(n), complex_calculation(n));
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("integer_blocks", n), &n, |b, &n| {
            b.iter(|| integer_blocks(black_box(n)));
        });
    }
    let n = 10_000u128;
    assert_eq!(seed_loop(n), complex_calculation(n));
    group.throughput(Throughput::Elements(n as u64));
    group.bench_with_input(BenchmarkId::new("seed_loop_u128", n), &n, |b, &n| {
        b.iter(|| seed_loop(black_box(n)));
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = current, reference
}
criterion_main!(benches);
