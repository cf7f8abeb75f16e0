//! The `{number}` parser (`lambda_async_api::number::parse`), run on every `/calculate`
//! request before anything else.
//!
//! `cargo bench --bench number`

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use lambda_async_api::number::{MAX_DIGITS, parse};

fn inputs() -> Vec<(&'static str, String)> {
    vec![
        ("small", "42".to_owned()),
        ("max_number", "100000".to_owned()),
        ("pydantic_forms", "  +0_07.00 ".to_owned()),
        ("negative_long", format!("-{}", "9".repeat(40))),
        ("invalid", "1.5".to_owned()),
        ("max_digits", "7".repeat(MAX_DIGITS)),
        ("too_many_digits", "7".repeat(MAX_DIGITS + 1)),
    ]
}

fn parser(c: &mut Criterion) {
    let mut group = c.benchmark_group("number::parse");
    for (name, input) in inputs() {
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), &input, |b, input| {
            b.iter(|| parse(black_box(input)));
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    targets = parser
}
criterion_main!(benches);
