#!/usr/bin/env bash
# bench/run.sh --lambda-sizes: ours and the original as Lambda runs them, at its CPU shares.
#
#   bench/run.sh --lambda-sizes            full run: 20 cold starts and 100 warm invocations
#                                          per route, runtime and size (128, 256, 512, 1024,
#                                          1769 MB; well over 20 minutes once
#                                          built); writes bench/results/lambda-sizes-*.md,
#                                          raw results target/bench-results/lambda-sizes-*.json
#   bench/run.sh --lambda-sizes --quick    short run (5 and 20; a few minutes)
#   bench/run.sh --lambda-sizes --smoke    CI's run (.ci/bench): 1769 MB, the light routes, 2
#                                          spawns and 3 warm invocations; fails only on an
#                                          unanswered invocation, timings not judged
#   bench/run.sh --lambda-sizes --help     every option (sizes, targets, --drop-caches, ...)
#
# What it does, once, before anything is timed: builds the release binary (`cargo build
# --release`, honouring CARGO_TARGET_DIR; --binary PATH measures another build), compiles
# bench/lambda/cgexec.c (joins a cgroup, then execs) and trivial_runtime.c (the floor) with
# cc, and makes a virtual environment outside the repository for the original (FastAPI +
# Mangum + awslambdaric, bench/baseline/requirements-lambda.txt). Then bench/lambda_sizes.py
# runs everything in CPU-quota cgroups under a Runtime API stub, with Amazon Linux 2023's
# trust-store layout in a private mount namespace. Exit status 1 when a budget (BUDGETS in
# bench/lambda_sizes.py, printed with the report) is missed.
#
# Needs root (cgroups, mount namespace), cc, openssl, python3 with venv, util-linux' unshare.
# Every process and cgroup it makes is removed at the end, also when it is interrupted.
set -euo pipefail
cd "$(dirname "$0")/../.."

args=()
binary=""
for arg in "$@"; do
  [[ "$arg" == --lambda-sizes ]] && continue
  args+=("$arg")
done
for ((i = 0; i < ${#args[@]}; i++)); do
  [[ "${args[$i]}" == --binary ]] && binary="${args[$((i + 1))]:-}"
  [[ "${args[$i]}" == --binary=* ]] && binary="${args[$i]#--binary=}"
done

if [[ " ${args[*]:-} " == *" --help "* || " ${args[*]:-} " == *" -h "* ]]; then
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
  echo
  exec python3 bench/lambda_sizes.py --help
fi

if ((EUID != 0)); then
  echo "bench/run.sh --lambda-sizes: needs root (cgroups, a private mount namespace)" >&2
  exit 1
fi

cache="${XDG_CACHE_HOME:-$HOME/.cache}/lambda-async-api"
tools="$cache/lambda-sizes"
mkdir -p "$tools"
for tool in cgexec trivial_runtime; do
  if [[ ! -x "$tools/$tool" || "bench/lambda/$tool.c" -nt "$tools/$tool" ]]; then
    cc -O2 -Wall -Wextra -o "$tools/$tool" "bench/lambda/$tool.c"
  fi
done

requirements=bench/baseline/requirements-lambda.txt
venv="$cache/bench-lambda-venv"
stamp="$(sha256sum "$requirements" | cut -c1-16)"
if [[ "$(cat "$venv/.requirements" 2>/dev/null)" != "$stamp" ]]; then
  echo "[bench] creating the original's (Lambda) virtual environment in $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  echo "$stamp" >"$venv/.requirements"
fi

if [[ -z "$binary" ]]; then
  echo "[bench] cargo build --release" >&2
  cargo build --release
  binary="${CARGO_TARGET_DIR:-target}/release/lambda-async-api"
  args+=(--binary "$binary")
fi

# Every function process and stub started is written to the pid file; whatever is still
# alive at the end (the orchestrator killed hard, say) is stopped by its id, and this run's
# cgroups (named after this shell's pid) are removed.
pidfile="$(mktemp -t lambda-async-api-sizes-pids.XXXXXX)"
prefix="lambda-async-api-bench-$$"
cleanup() {
  local pid group
  while read -r pid; do
    kill -9 "$pid" 2>/dev/null || true
  done <"$pidfile"
  rm -f "$pidfile"
  for group in /sys/fs/cgroup/cpu/"$prefix"-* /sys/fs/cgroup/"$prefix"-*; do
    [[ -d "$group" ]] && rmdir "$group" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

BENCH_PIDFILE="$pidfile" BENCH_CGROUP_PREFIX="$prefix" "$venv/bin/python" bench/lambda_sizes.py \
  --cgexec "$tools/cgexec" --trivial "$tools/trivial_runtime" --python-original "$venv/bin/python" \
  --command "bench/run.sh --lambda-sizes${args[*]:+ ${args[*]}}" "${args[@]}"
