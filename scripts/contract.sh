#!/usr/bin/env bash
# The published contract, fuzzed: schemathesis drives the local server through its own
# /openapi.json (stub upstream on 127.0.0.1, small MAX_NUMBER so boundary values stay cheap)
# and fails on any 5xx other than the documented upstream ones, or any answer that does not
# match the document. Bounded: MAX_EXAMPLES per operation and phase, and a hard cap of
# MAX_TIME seconds on the whole run.
#
# Usage: scripts/contract.sh [path/to/lambda-async-api]   (default: target/debug build)
set -euo pipefail
cd "$(dirname "$0")/.."

binary=${1:-target/debug/lambda-async-api}
[ -x "$binary" ] || cargo build --locked --quiet
max_examples=${MAX_EXAMPLES:-200}
max_time=${MAX_TIME:-300}

venv=$(scripts/cached-venv st-venv "schemathesis==4.32.5")

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

wait_for_line() { # file pattern → prints the rest of the first matching line
  for _ in $(seq 1 300); do
    if line=$(grep -m1 "$2" "$1" 2>/dev/null); then
      echo "${line##*"$2"}"
      return 0
    fi
    sleep 0.05
  done
  echo "timed out waiting for '$2' in $1" >&2
  cat "$1" >&2
  return 1
}

python3 scripts/upstream_stub.py > "$work/stub.log" 2>&1 &
pids+=($!)
stub_port=$(wait_for_line "$work/stub.log" "listening on ")

EXTERNAL_API_URL="http://127.0.0.1:$stub_port/todos/1" MAX_NUMBER=50 HOST=127.0.0.1 PORT=0 \
  RUST_LOG=warn,lambda_async_api::server=info "$binary" > "$work/server.log" 2>&1 &
pids+=($!)
base=$(wait_for_line "$work/server.log" "listening on ")

timeout "$max_time" "$venv/bin/schemathesis" run "$base/openapi.json" \
  --checks all \
  --max-examples "$max_examples" \
  --request-timeout 10 \
  --workers 2 \
  --no-color
