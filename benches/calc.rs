//! `complex_calculation`, the loop behind `/calculate/{number}` and `/mixed`.
//!
//! Throughput is in loop iterations (`i` values visited), so criterion's `thrpt` line reads
//! directly as iterations per second: 1 / thrpt is the time per iteration.
//!
//! `cargo bench --bench calc`

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use lambda_async_api::calc::complex_calculation;

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

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = current
}
criterion_main!(benches);
