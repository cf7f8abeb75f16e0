#!/usr/bin/env bash
# The benchmark suite, one command: this function against the FastAPI original, side by side.
#
#   bench/run.sh            full run (about 4 minutes once built), writes the table to
#                           bench/results/<timestamp>.md and latest.md, the raw results to
#                           target/bench-results/<timestamp>.json and latest.json
#   bench/run.sh --quick    short run (about 1 minute), budgets judged
#   bench/run.sh --smoke    CI's run (.ci/bench): shorter still, proves the harness end to end
#                           (its tables printed, every request answered), timings not judged
#   bench/run.sh --help     every option (durations, repeats, --only, --no-cargo-lambda, ...)
#   bench/run.sh --lambda-sizes [--quick] [--help]
#                           ours and the original as Lambda runs them, at Lambda's CPU shares
#                           (128/512/1024/1769 MB), under a Runtime API stub: cold starts,
#                           first and warm invocations, peak RSS, cost per million requests,
#                           the memory size to choose (about 20 minutes once built; see
#                           bench/lambda/run-sizes.sh)
#
# What it does: makes (once, then reuses) a virtual environment for the FastAPI baseline
# outside the repository, builds the release binary (and `cargo lambda build --release` when
# cargo-lambda is installed), starts an upstream stub (HTTP and HTTPS), our server and the
# baseline under uvicorn (one worker) on 127.0.0.1, drives both with wrk, then times our
# binary's cold start under a Lambda Runtime API stub, in turns with a bare lambda_http
# function (bench/bare) and a trivial runtime (bench/lambda/trivial_runtime.c). Targets run on
# the last CPU, wrk and the stubs on the others. Exit status 1 when a budget (BUDGETS in
# bench/run.py, printed with the report) is not met.
#
# The builds come first and are not counted: a first `cargo build --release` or `cargo lambda
# build --release` (x86-64, into target/bench-lambda) takes about 5 minutes each on 2 cores,
# bench/bare about 2; --no-cargo-lambda skips the cargo lambda one.
#
# Needs: a Rust toolchain, a C compiler, python3 (3.9+, with venv), wrk, openssl, file; the
# last three are installed from Debian when missing (as root).
set -euo pipefail
cd "$(dirname "$0")/.."

lambda_sizes=0
for arg in "$@"; do [[ "$arg" == --lambda-sizes ]] && lambda_sizes=1; done

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
  echo
  exec python3 bench/run.py --help
fi

cache="${XDG_CACHE_HOME:-$HOME/.cache}/lambda-async-api"
requirements=bench/baseline/requirements.txt
venv="$cache/bench-venv"
stamp="$(sha256sum "$requirements" | cut -c1-16)"

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v openssl >/dev/null || missing+=(openssl)
command -v file >/dev/null || missing+=(file)
if ((${#missing[@]})); then
  echo "[bench] installing ${missing[*]} from Debian" >&2
  if ! apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; then
    apt-get update -qq >/dev/null && apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi

if ((lambda_sizes)); then
  exec bash bench/lambda/run-sizes.sh "$@"
fi

if [[ "$(cat "$venv/.requirements" 2>/dev/null)" != "$stamp" ]]; then
  echo "[bench] creating the baseline's virtual environment in $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  echo "$stamp" >"$venv/.requirements"
fi

# Every process run.py starts is written here; whatever is still alive when this script
# ends (run.py killed hard, say) is stopped by its id.
pidfile="$(mktemp -t lambda-async-api-bench-pids.XXXXXX)"
cleanup() {
  local pid
  while read -r pid; do
    kill "$pid" 2>/dev/null || true
  done <"$pidfile"
  rm -f "$pidfile"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pin=()
if (($(nproc --all) >= 2)) && command -v taskset >/dev/null; then
  # The orchestrator, wrk and the stubs on every CPU but the last; the targets on the last.
  pin=(taskset -c "0-$(($(nproc --all) - 2))")
fi

BENCH_PIDFILE="$pidfile" "${pin[@]}" "$venv/bin/python" bench/run.py \
  --python "$venv/bin/python" --command "bench/run.sh${*:+ $*}" "$@"
