//! `complex_calculation`, the loop behind `/calculate/{number}` and `/mixed`, beside the same
//! loop with a `u128` index (what it was until issue 23), so one run shows what the index's
//! type costs.
//!
//! Throughput is in loop iterations (`i` values visited), so criterion's `thrpt` line reads
//! directly as iterations per second: 1 / thrpt is the time per iteration.
//!
//! `cargo bench --bench calc`

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use lambda_async_api::calc::complex_calculation;

/// The sizes the routes use: `/mixed` (500 inline, 1000 as its dependency) and
/// `/calculate/{1, 100, 1000}` (`number * 10000`).
const SIZES: [u64; 5] = [500, 1_000, 10_000, 1_000_000, 10_000_000];

/// The loop as it was before issue 23: the same body, the index a `u128`, whose remainders
/// are library calls (`__umodti3`). Only here, for comparison.
fn u128_index(n: u128, cancelled: &AtomicBool) -> Option<u128> {
    let mut total: u128 = 0;
    for i in 0..n {
        if i % 4096 == 0 && cancelled.load(Ordering::Relaxed) {
            return None;
        }
        let residue = (i % 1234) as u32;
        total += u128::from(residue * residue % 1234);
    }
    Some(total)
}

fn current(c: &mut Criterion) {
    let mut group = c.benchmark_group("complex_calculation");
    for n in SIZES {
        group.throughput(Throughput::Elements(n));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            b.iter(|| complex_calculation(black_box(n)));
        });
    }
    group.finish();
}

fn before(c: &mut Criterion) {
    let never = AtomicBool::new(false);
    let mut group = c.benchmark_group("u128_index_before_issue_23");
    for n in SIZES {
        assert_eq!(u128_index(n.into(), &never), Some(complex_calculation(n)));
        group.throughput(Throughput::Elements(n));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            b.iter(|| u128_index(black_box(n.into()), &never));
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = current, before
}
criterion_main!(benches);
