#!/usr/bin/env python3
"""bench/run.sh --lambda-sizes: ours and the original at Lambda's CPU shares, side by side.

Started by bench/run.sh --lambda-sizes (which builds the function, the two C helpers in
bench/lambda/ and the original's virtual environment); `bench/run.sh --lambda-sizes --help`
lists the options. Everything runs on 127.0.0.1.

Lambda gives CPU in proportion to memory: 1769 MB is one vCPU. Each function process runs in
a cgroup of its own with that share as a CFS quota (cgroup v1 `cpu.cfs_quota_us` per
`cpu.cfs_period_us`, or cgroup v2 `cpu.max`): 128 MB = 7200 µs per 100 ms, 256 MB = 14500, 512 MB = 28900,
1024 MB = 57900, 1769 MB = 100000, and 128 MB once more with a 20 ms period (Lambda does not
publish its period: a sensitivity row). bench/lambda/cgexec joins the group, notes the time
and execs the function, so the cold start is timed from the exec, inside the quota.

Three runtimes under the same Runtime API stub (bench/runtime_api.py, as in bench/stubs.py):
  ours      the release binary (provided.al2023 runs it as `bootstrap`)
  original  bench/baseline/app.py wrapped by Mangum, run by `python -m awslambdaric
            lambda_handler.handler`: how the Python runtime runs the seed
  trivial   bench/lambda/trivial_runtime.c: GET /next, POST a fixed answer; the floor

For each: init (exec -> first GET /next) over N spawns, and in each of those processes the
first invocation of each route (/call-external-api first: client set-up and TLS handshake
with the HTTPS upstream stub included); then warm invocations (>= 100 per route, a random
pause of 0-100 ms between them), their CPU time and response size, their peak RSS. Other
routes of ours (e.g. /openapi.json) can be timed warm too (--warm-routes), every event can
carry other request headers (--header 'accept-encoding: gzip', or 'accept-encoding:' for
none; the events are a browser's, with accept-encoding: gzip, deflate, br), and the
upstream can answer a big document (--upstream-path /doc/102400): what compression costs.
The whole run sees Amazon Linux 2023's trust-store layout (bench/lambda/al2023-trust-store.sh,
a private mount namespace); ours finds its roots there as on Lambda, the original uses
certifi's bundle (plus the stub's CA).

Prints the tables, writes them to bench/results/lambda-sizes-<timestamp>.md and the raw
results to target/bench-results/lambda-sizes-<timestamp>.json (CARGO_TARGET_DIR when set);
a full run also writes lambda-sizes-latest.md and lambda-sizes-latest.json beside them.
Exits 1 when a budget (BUDGETS, printed with the report) is missed; a --smoke run, when an
invocation went unanswered.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import datetime as dt
import errno
import fcntl
import json
import math
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
RESULTS = os.path.join(BENCH, "results")  # the Markdown tables (lambda-sizes-latest.md is committed)
sys.path.insert(0, os.path.join(ROOT, "scripts"))
sys.path.insert(0, BENCH)
import run as bench_run  # noqa: E402  (event_for, make_certs, zip_size, machine)
from harness import Proc, free_port, stop_all, stop_on_signals, upstream_stub  # noqa: E402
from runtime_api import RuntimeApi, status_code  # noqa: E402

MIB = 1024 * 1024

# (label, memory MB, CFS quota µs, period µs); the quota is memory / 1769 of one CPU.
SIZES = [
    ("128 MB", 128, 7200, 100_000),
    ("256 MB", 256, 14500, 100_000),
    ("512 MB", 512, 28900, 100_000),
    ("1024 MB", 1024, 57900, 100_000),
    ("1769 MB", 1769, 100_000, 100_000),
]
SENSITIVITY = ("128 MB, 20 ms period", 128, 1440, 20_000)

SLEEP_MS = {"/call-external-api": 100.0, "/mixed": 50.0}
WARM_ROUTES = ["/call-external-api", "/mixed", "/calculate/100", "/calculate/1000", "/calculate/100000"]
# The routes whose warm samples are spread over several environments side by side (each in
# its own cgroup, the same quota, their shares adding up to at most PARALLEL_SHARE of a CPU),
# because one request takes seconds at small shares. Only CPU-bound routes, where a neighbour
# in another group changes the phase within a period, not the share.
HEAVY = {"ours": {"/calculate/100000"}, "original": {"/calculate/100", "/calculate/1000"}}
# Also measured without a pause: the next event as soon as the function asks for it. At small
# shares such a run spends the period's quota and waits for the next period.
BACK_TO_BACK = {"ours": ["/calculate/100", "/calculate/1000"]}
B2B = "back-to-back"
PARALLEL_SHARE = 0.75
MAX_PARALLEL = 10

# The budgets live in one table, BUDGETS (below, beside `budgets`), which the report prints.
# The warm p99 each route must meet at a memory size, which also picks the size
# (`choose_memory`); /calculate/{MaxNumber}'s is the template's Timeout, with ROOM.
P99_BUDGET_MS = {"/call-external-api": 110.0, "/mixed": 60.0, "/calculate/100": 50.0}
P99_WHY = {
    "/call-external-api": "the 100 ms sleep and the upstream call, as on a whole core",
    "/mixed": "the 50 ms sleep, and 10 ms for its 1,500 iterations and the runtime's turns at a small share",
    "/calculate/100": "10⁶ iterations (1.5 ms of a core) and a period's wait when a small share's quota runs out",
}
# /calculate/{MaxNumber} must end within this share of the template's Timeout: a slower
# neighbour or a colder CPU must not turn a deployment's largest request into a timeout.
ROOM = 0.75

# Lambda prices, us-east-1, first tier: USD per GB-second and per request. As published on
# AWS's Lambda pricing page (aws.amazon.com/lambda/pricing), unchanged since arm64 came in
# 2021 as far as known on PRICES_DATE; not checked online from this machine: check them.
PRICES_DATE = "2025-06 (to be checked)"
PRICE_GB_S = {"x86_64": 0.0000166667, "arm64": 0.0000133334}
PRICE_REQUEST = 0.20 / 1e6


def log(message: str) -> None:
    print(f"[lambda-sizes {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def median(xs):
    return statistics.median(xs) if xs else None


def percentile(xs, p):
    return bench_run.percentile(xs, p)


# --- cgroups -----------------------------------------------------------------------------


class CpuGroups:
    """CPU-quota cgroups for this run, all removed by remove_all (also at exit)."""

    V1 = "/sys/fs/cgroup/cpu"
    V2 = "/sys/fs/cgroup"

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.made: list[str] = []
        if os.access(os.path.join(self.V1, "cpu.cfs_quota_us"), os.W_OK) or os.path.exists(
            os.path.join(self.V1, "cpu.cfs_period_us")
        ):
            self.version = 1
        elif "cpu" in open(os.path.join(self.V2, "cgroup.controllers")).read().split():
            self.version = 2
            control = os.path.join(self.V2, "cgroup.subtree_control")
            if "cpu" not in open(control).read().split():
                with open(control, "w") as f:
                    f.write("+cpu")
        else:
            raise RuntimeError("no writable cgroup cpu controller (v1 cpu or v2 cpu.max)")
        atexit.register(self.remove_all)

    def make(self, name: str, quota_us: int, period_us: int) -> str:
        base = self.V1 if self.version == 1 else self.V2
        path = os.path.join(base, f"{self.prefix}-{name}")
        os.makedirs(path, exist_ok=True)
        if path not in self.made:
            self.made.append(path)
        if self.version == 1:
            # Lower the quota first: a period below the current quota would be refused.
            with open(os.path.join(path, "cpu.cfs_quota_us"), "w") as f:
                f.write("-1")
            with open(os.path.join(path, "cpu.cfs_period_us"), "w") as f:
                f.write(str(period_us))
            with open(os.path.join(path, "cpu.cfs_quota_us"), "w") as f:
                f.write(str(quota_us))
        else:
            with open(os.path.join(path, "cpu.max"), "w") as f:
                f.write(f"{quota_us} {period_us}")
        return os.path.join(path, "cgroup.procs")

    def throttled(self, procs: str) -> dict:
        stat = os.path.join(os.path.dirname(procs), "cpu.stat")
        out = {}
        try:
            for line in open(stat):
                k, v = line.split()
                out[k] = int(v)
        except OSError:
            pass
        return out

    def remove_all(self):
        for path in reversed(self.made):
            for _ in range(50):
                try:
                    os.rmdir(path)
                    break
                except FileNotFoundError:
                    break
                except OSError as e:
                    if e.errno != errno.EBUSY:
                        log(f"could not remove {path}: {e}")
                        break
                    time.sleep(0.02)
        self.made.clear()


# --- one execution environment -----------------------------------------------------------


class Env:
    """One function process under its own Runtime API endpoint, in a CPU-quota cgroup."""

    def __init__(self, label: str, log_path: str):
        self.label = label
        self.log_path = log_path
        self.proc = None
        self.api = RuntimeApi(request_ids=label, deadline_s=900)
        self.stamp_fd = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    async def open(self):
        await self.api.start(backlog=16)

    def spawn(self, argv: list[str], env: dict[str, str], cpu: int | None, drop_caches=False):
        """argv (cgexec first) spawned with fd 3 a pipe for the exec time stamp."""
        env = dict(env, AWS_LAMBDA_RUNTIME_API=self.api.addr)
        r, w = os.pipe()
        w_hi = fcntl.fcntl(w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(w)
        if drop_caches:
            os.sync()
            with open("/proc/sys/vm/drop_caches", "w") as f:
                f.write("3")
        try:
            self.proc = Proc(argv, env, self.log_path, cpu, fds={3: w_hi})
        finally:
            os.close(w_hi)
        self.spawned = self.proc.started_ns
        self.stamp_fd = r

    async def ready(self, timeout: float) -> float:
        """Milliseconds from the exec (cgexec's stamp) to the first GET /next."""
        api = self.api
        await api.until(lambda: api.next_calls or api.init_error is not None, timeout)
        if not api.next_calls:
            raise RuntimeError(f"init error: {api.init_error[:500]}")
        arrived = api.next_calls[0]
        data = b""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while not data.endswith(b"\n") and loop.time() < deadline:
            chunk = os.read(self.stamp_fd, 64)
            if not chunk:
                break
            data += chunk
        os.close(self.stamp_fd)
        self.stamp_fd = None
        if not data.strip():
            raise RuntimeError(f"{self.label}: no exec stamp from cgexec, see {self.log_path}")
        words = data.split()
        self.exec_ns = int(words[0])
        self.launcher_cpu_ms = int(words[1]) / 1e6 if len(words) > 1 else 0.0
        return (arrived - self.exec_ns) / 1e6

    async def invoke(self, event: bytes, timeout: float) -> dict:
        api = self.api
        following = len(api.next_calls) + 1  # the GET /next after this invocation
        request_id = api.invoke(event)
        await api.until(lambda: request_id in api.posted, timeout)
        arrived, kind, body = api.posted[request_id]
        handed = api.handed[request_id]
        try:
            await api.until(lambda: len(api.next_calls) >= following, 10)
            nxt = api.next_calls[following - 1]
        except asyncio.TimeoutError:
            nxt = arrived
        status = status_code(body)
        return {
            # The response document as posted (a base64 body counts 4/3 of its bytes).
            "bytes": len(body),
            "ms": (arrived - handed) / 1e6,
            # Lambda bills the invoke phase until the runtime asks for the next event.
            "billed_ms": (nxt - handed) / 1e6,
            "kind": kind,
            "status": status,
        }

    def cpu_ms(self) -> float | None:
        """CPU time of the process so far, every live thread's (schedstat, ns resolution)."""
        total = 0
        try:
            for tid in os.listdir(f"/proc/{self.pid}/task"):
                with open(f"/proc/{self.pid}/task/{tid}/schedstat") as f:
                    total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        return total / 1e6 - getattr(self, "launcher_cpu_ms", 0.0)

    def faults(self) -> tuple[int, int] | None:
        """(minor, major) page faults of the process so far."""
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return int(fields[7]), int(fields[9])
        except (OSError, ValueError, IndexError):
            return None

    def peak_rss_mib(self) -> float | None:
        try:
            for line in open(f"/proc/{self.pid}/status"):
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None

    def close(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc = None
        if self.stamp_fd is not None:
            os.close(self.stamp_fd)
            self.stamp_fd = None
        self.api.close()


# --- the runtimes ------------------------------------------------------------------------


def lambda_env(memory_mb: int, extra: dict[str, str]) -> dict[str, str]:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "AWS_LAMBDA_FUNCTION_NAME": "lambda-async-api",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench-stream",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/lambda-async-api",
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_LAMBDA_LOG_LEVEL": "INFO",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    env.update(extra)
    return env


def runtime_command(target: str, args, procs: str) -> tuple[list[str], dict[str, str]]:
    cg = [args.cgexec, procs]
    url = f"https://127.0.0.1:{args.upstream_https}{args.upstream_path}"
    if target == "ours":
        extra = {
            "EXTERNAL_API_URL": url,
            "POWERTOOLS_SERVICE_NAME": "lambda-async-api",
            "POWERTOOLS_METRICS_NAMESPACE": "LambdaAsyncApi",
        }
        extra.update(args.ours_env)
        return cg + [args.binary], extra
    if target == "original":
        extra = {
            "EXTERNAL_API_URL": url,
            # httpx's default is certifi's bundle; this one is certifi's roots plus the
            # stub's CA, so it loads as many roots as it would on Lambda.
            "SSL_CERT_FILE": args.original_bundle,
            "PYTHONPATH": os.path.join(BENCH, "baseline"),
            "LAMBDA_TASK_ROOT": os.path.join(BENCH, "baseline"),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        return cg + [args.python_original, "-m", "awslambdaric", "lambda_handler.handler"], extra
    return cg + [args.trivial], {}


class Runner:
    def __init__(self, args, tmp: str, groups: CpuGroups):
        self.args = args
        self.tmp = tmp
        self.groups = groups
        self.events = {}
        self.serial = 0

    def event(self, path: str) -> bytes:
        if path not in self.events:
            with open(bench_run.event_for(path, self.tmp)) as f:
                event = json.load(f)
            # The fixture's headers are a browser's (accept-encoding: gzip, deflate, br among
            # them); --header replaces one, or with no value removes it.
            headers = {k: v for k, v in event.get("headers", {}).items() if k.lower() not in self.args.headers}
            headers.update({k: v for k, v in self.args.headers.items() if v})
            event["headers"] = headers
            self.events[path] = json.dumps(event).encode()
        return self.events[path]

    async def new_env(self, target, size, slot=0, cpu=None, drop_caches=False) -> Env:
        label, mb, quota, period = size
        self.serial += 1
        procs = self.groups.make(f"{target}-{mb}-{period // 1000}ms-{slot}", quota, period)
        env = Env(f"{target}-{self.serial}", os.path.join(self.tmp, f"{target}-{mb}-{period}-{self.serial}.log"))
        await env.open()
        argv, extra = runtime_command(target, self.args, procs)
        env.spawn(argv, lambda_env(mb, extra), self.args.target_cpu if cpu is None else cpu, drop_caches)
        return env

    def cold_routes(self, target: str) -> list[str]:
        if target == "trivial":
            return ["/call-external-api"]
        if target == "original":
            return ["/call-external-api", "/mixed", "/calculate/100"]
        return ["/call-external-api", "/mixed", "/calculate/100", "/calculate/1000"]

    async def cold(self, target: str, size, n: int, drop_caches=False) -> dict:
        """n spawns: init, and the first invocation of each route in each process."""
        init, first, failures = [], {r: [] for r in self.cold_routes(target)}, []
        init_cpu, first_cpu, init_faults, db_first = [], [], [], []
        parallel = self.parallel(target, size) if target == "original" else 1

        async def one(slot: int, cpu: int):
            await asyncio.sleep(random.uniform(0, size[3] / 1e6) if parallel > 1 else 0)
            env = await self.new_env(target, size, slot, cpu, drop_caches)
            try:
                init.append(await env.ready(self.args.init_timeout))
                init_cpu.append(env.cpu_ms())
                init_faults.append(env.faults())
                for i, route in enumerate(self.cold_routes(target)):
                    r = await env.invoke(self.event(route), self.args.invoke_timeout)
                    if i == 0:
                        first_cpu.append(env.cpu_ms())
                    if r["kind"] != "response" or r["status"] != 200:
                        failures.append(f"{route}: {r['kind']} {r['status']}")
                    first[route].append(r["ms"])
            except (asyncio.TimeoutError, RuntimeError) as e:
                failures.append(f"{type(e).__name__}: {e}")
            finally:
                env.close()
            db_first.extend(dependency_durations(env.log_path, "database call")[:1])
            await asyncio.sleep(max(0.05, 1.5 * size[3] / 1e6))

        queue = list(range(n))

        async def worker(slot: int, cpu: int):
            while queue:
                queue.pop()
                await one(slot, cpu)

        await asyncio.gather(*(worker(s, c) for s, c in self.slots(parallel)))
        out = {
            "n": len(init),
            "parallel": parallel,
            "init_ms": init,
            "init_median_ms": median(init),
            "init_p90_ms": percentile(init, 90),
            # CPU time since the exec (all threads) at the first GET /next, and that of the
            # first invocation.
            "init_cpu_median_ms": median([c for c in init_cpu if c is not None]),
            "init_minor_faults_median": median([f[0] for f in init_faults if f]),
            "init_major_faults_median": median([f[1] for f in init_faults if f]),
            "first_invoke_cpu_median_ms": median(
                [b - a for a, b in zip(init_cpu, first_cpu) if a is not None and b is not None]
            ),
            "first": {
                r: {"median_ms": median(v), "p90_ms": percentile(v, 90), "n": len(v), "samples": v}
                for r, v in first.items()
            },
            "failures": failures,
        }
        if db_first:
            out["first_database_call_median_ms"] = median(db_first)
        ext = out["first"].get("/call-external-api", {}).get("median_ms")
        log(
            f"{target} {size[0]}: init median {fmt(out['init_median_ms'])} ms, p90 "
            f"{fmt(out['init_p90_ms'])} ms over {len(init)} spawns (CPU {fmt(out['init_cpu_median_ms'])} ms, "
            f"first invocation's CPU {fmt(out['first_invoke_cpu_median_ms'])} ms, "
            f"{fmt(out['init_minor_faults_median'], 0)}+{fmt(out['init_major_faults_median'], 0)} faults)"
            + (f"; first /call-external-api {fmt(ext)} ms" if ext and target != "trivial" else "")
            + (f"; {len(failures)} failures: {failures[:3]}" if failures else "")
        )
        return out

    def parallel(self, target: str, size) -> int:
        share = size[2] / size[3]
        per_cpu = max(1, int(PARALLEL_SHARE / share + 1e-9))
        return max(1, min(self.args.max_parallel, per_cpu * len(self.args.parallel_cpus)))

    def slots(self, k: int):
        cpus = self.args.parallel_cpus
        return [(slot, cpus[slot % len(cpus)]) for slot in range(k)]

    async def warm(self, target: str, size, routes: list[str], n: int) -> dict:
        """>= n warm invocations of each route; heavy routes over several environments."""
        results: dict = {}
        peak = []
        light = [r for r in routes if r not in HEAVY.get(target, set())]
        heavy = [r for r in routes if r in HEAVY.get(target, set())]

        async def serve(env: Env, route: str, count: int, samples: list, failures: list, gap=True):
            for _ in range(count):
                if gap:
                    await asyncio.sleep(random.uniform(0, self.args.max_gap))
                before = env.cpu_ms()
                r = await env.invoke(self.event(route), self.args.invoke_timeout)
                after = env.cpu_ms()
                r["cpu_ms"] = after - before if before is not None and after is not None else None
                if r["kind"] != "response" or r["status"] != 200:
                    failures.append(f"{r['kind']} {r['status']}")
                samples.append(r)

        if light:
            env = await self.new_env(target, size)
            try:
                await env.ready(self.args.init_timeout)
                for route in light:  # one warm-up call of each
                    await env.invoke(self.event(route), self.args.invoke_timeout)
                for route in light:
                    samples, failures = [], []
                    await serve(env, route, n, samples, failures)
                    results[route] = summarise(samples, failures, 1)
                    log_warm(target, size, route, results[route])
                for route in [r for r in BACK_TO_BACK.get(target, []) if r in self.args.warm_routes]:
                    samples, failures = [], []
                    await serve(env, route, n, samples, failures, gap=False)
                    results[route + " " + B2B] = summarise(samples, failures, 1)
                    log_warm(target, size, route + " " + B2B, results[route + " " + B2B])
                peak.append(env.peak_rss_mib())
            finally:
                env.close()
            db = dependency_durations(env.log_path, "database call")[1:]
            if db:
                results["database call"] = {"n": len(db), "median_ms": median(db), "p90_ms": percentile(db, 90),
                                            "p99_ms": percentile(db, 99)}
                log(f"{target} {size[0]} warm database call: median {fmt(median(db))} ms, "
                    f"p99 {fmt(percentile(db, 99))} ms ({len(db)})")
        for route in heavy:
            k = self.parallel(target, size)
            per = math.ceil(n / k)
            samples, failures = [], []
            envs = []
            try:
                for slot, cpu in self.slots(k):
                    envs.append(await self.new_env(target, size, slot, cpu))
                await asyncio.gather(*(e.ready(self.args.init_timeout) for e in envs))
                await asyncio.gather(*(serve(e, route, per, samples, failures) for e in envs))
                peak.extend(e.peak_rss_mib() for e in envs)
            finally:
                for e in envs:
                    e.close()
            results[route] = summarise(samples, failures, k)
            log_warm(target, size, route, results[route])
        peaks = [p for p in peak if p is not None]
        return {"routes": results, "peak_rss_mib": max(peaks) if peaks else None}


def warm_routes(res: dict) -> list[str]:
    """WARM_ROUTES, then the other routes ours was timed on warm (--warm-routes), in order."""
    extra = []
    for entry in res["sizes"].values():
        for route in ((entry.get("ours") or {}).get("warm") or {}).get("routes", {}):
            if route.startswith("/") and B2B not in route and route not in WARM_ROUTES + extra:
                extra.append(route)
    return WARM_ROUTES + extra


def dependency_durations(log_path: str, what: str) -> list[float]:
    """duration_ms of the function's `what` log lines (JSON log format), in order."""
    found = []
    try:
        lines = open(log_path, errors="replace").readlines()
    except OSError:
        return found
    for line in lines:
        if what not in line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        value = record.get("duration_ms", (record.get("fields") or {}).get("duration_ms"))
        if value is not None:
            found.append(float(value))
    return found


def summarise(samples: list[dict], failures: list[str], parallel: int) -> dict:
    ms = [s["ms"] for s in samples]
    billed = [s["billed_ms"] for s in samples]
    cpu = [s["cpu_ms"] for s in samples if s.get("cpu_ms") is not None]
    size = [s["bytes"] for s in samples]
    return {
        # CPU time of the whole process (every thread) from the event's hand-out to the
        # response's POST: the invocation's own work, at the quota's pace or not.
        "cpu_median_ms": median(cpu),
        "cpu_p90_ms": percentile(cpu, 90) if cpu else None,
        "response_bytes_median": median(size),
        "n": len(ms),
        "parallel": parallel,
        "median_ms": median(ms),
        "p90_ms": percentile(ms, 90),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms) if ms else None,
        "billed_mean_ms": statistics.fmean(math.ceil(b) for b in billed) if billed else None,
        "billed_median_ms": median(billed),
        "failures": failures,
        "samples_ms": ms,
    }


def log_warm(target, size, route, r):
    log(
        f"{target} {size[0]} {route}: median {fmt(r['median_ms'])} ms, p90 {fmt(r['p90_ms'])}, "
        f"p99 {fmt(r['p99_ms'])}, CPU median {fmt(r.get('cpu_median_ms'))} ms, "
        f"response {fmt(r.get('response_bytes_median'), 0)} bytes ({r['n']} invocations"
        + (f" over {r['parallel']} environments" if r["parallel"] > 1 else "")
        + (f", {len(r['failures'])} failed" if r["failures"] else "")
        + ")"
    )


def fmt(value, digits=None):
    if value is None:
        return "–"
    if digits is None:
        digits = 0 if abs(value) >= 1000 else 1 if abs(value) >= 10 else 2 if abs(value) >= 1 else 3
    return f"{value:,.{digits}f}"


# --- derived figures ---------------------------------------------------------------------


def estimate_100000(original_sizes: dict):
    """The original's /calculate/100000 as its /calculate/1000 x 100 (the loop is linear)."""
    for entry in original_sizes.values():
        routes = entry.get("warm", {}).get("routes", {})
        base = routes.get("/calculate/1000")
        if not base or not base.get("n"):
            continue
        routes["/calculate/100000"] = {
            "estimate": "/calculate/1000 x 100",
            "n": base["n"],
            "parallel": base["parallel"],
            **{k: base[k] * 100 for k in ("median_ms", "p90_ms", "p99_ms", "max_ms", "billed_mean_ms")},
            "failures": [],
        }


def template_timeout_s() -> float:
    text = open(os.path.join(ROOT, "template.yaml")).read()
    m = re.search(r"^  Timeout:\n(?:    .*\n)*?    Default: (\d+)", text, re.M)
    return float(m.group(1)) if m else 10.0


def template_memory() -> int | None:
    text = open(os.path.join(ROOT, "template.yaml")).read()
    m = re.search(r"^  MemorySize:\n(?:    .*\n)*?    Default: (\d+)", text, re.M)
    return int(m.group(1)) if m else None


def costs(res: dict) -> list[dict]:
    """GB-s and USD per million requests of each route at each size, ours and the original.

    Billed duration per request: the invoke phase (event handed out -> the runtime's next
    GET /next), rounded up to the millisecond, averaged over the warm invocations. Durations
    are measured on x86_64 here; the arm64 columns price the same durations.
    """
    table = []
    for label, mb, _q, period in SIZES:
        for target in ("ours", "original"):
            warm = res["sizes"].get(label, {}).get(target, {}).get("warm", {}).get("routes", {})
            for route in WARM_ROUTES:
                r = warm.get(route)
                if not r or r.get("billed_mean_ms") is None:
                    continue
                gb_s = r["billed_mean_ms"] / 1000 * mb / 1024
                table.append(
                    {
                        "size": label,
                        "memory_mb": mb,
                        "target": target,
                        "route": route,
                        "estimate": r.get("estimate"),
                        "billed_ms": r["billed_mean_ms"],
                        "gb_s_per_million": gb_s * 1e6,
                        "usd_per_million": {
                            arch: gb_s * 1e6 * price + PRICE_REQUEST * 1e6 for arch, price in PRICE_GB_S.items()
                        },
                    }
                )
    return table


def choose_memory(res: dict, timeout_s: float) -> dict:
    """The cheapest size at which every route's warm p99 (ours) meets its budget.

    Cheapest for every route alike: sizes are ranked by the geometric mean, over the routes,
    of each route's price at that size relative to its price at its own cheapest size. A plain
    sum of the routes' prices would let `/calculate/100000` (about 40 times a waiting route's
    price, and the same at any size) decide alone, and pick a size that doubles what every
    waiting request costs.
    """
    budgets = dict(P99_BUDGET_MS, **{"/calculate/100000": timeout_s * 1000 * ROOM})
    ours = [c for c in res["cost"] if c["target"] == "ours"]
    floor = {route: c["usd_per_million"]["x86_64"] for route, c in cheapest(res, "ours").items()}
    rows = []
    for label, mb, _q, _p in SIZES:
        warm = res["sizes"].get(label, {}).get("ours", {}).get("warm", {}).get("routes", {})
        if not warm:
            continue
        misses = []
        for route, budget in budgets.items():
            p99 = (warm.get(route) or {}).get("p99_ms")
            if p99 is None or p99 > budget:
                misses.append(f"{route} p99 {fmt(p99)} ms > {fmt(budget)} ms")
        relative = [c["usd_per_million"]["x86_64"] / floor[c["route"]] for c in ours if c["size"] == label]
        rows.append({
            "size": label,
            "memory_mb": mb,
            "meets_p99": not misses,
            "misses": misses,
            "relative_cost": math.prod(relative) ** (1 / len(relative)) if relative else None,
            "usd_all_routes": sum(c["usd_per_million"]["x86_64"] for c in ours if c["size"] == label),
        })
    fitting = [r for r in rows if r["meets_p99"] and r["relative_cost"] is not None]
    chosen = min(fitting, key=lambda r: r["relative_cost"]) if fitting else None
    return {"budgets_ms": budgets, "rows": rows, "chosen_mb": chosen and chosen["memory_mb"]}


def cheapest(res: dict, target: str) -> dict[str, dict]:
    """Each route's cheapest size for `target` (x86 USD per million), whatever its p99."""
    best: dict[str, dict] = {}
    for c in res.get("cost", []):
        if c["target"] == target and (c["route"] not in best or
                                      c["usd_per_million"]["x86_64"] < best[c["route"]]["usd_per_million"]["x86_64"]):
            best[c["route"]] = c
    return best


# --- budgets -----------------------------------------------------------------------------

def _cold(res, label, target):
    return ((res["sizes"].get(label, {}).get(target) or {}).get("cold") or {})


def _warm(res, label, target):
    return ((res["sizes"].get(label, {}).get(target) or {}).get("warm") or {})


def init_over_trivial(res):
    o, t = _cold(res, "128 MB", "ours").get("init_median_ms"), _cold(res, "128 MB", "trivial").get("init_median_ms")
    return [("128 MB", o - t)] if o is not None and t is not None else []


def init_ratio(mb):
    def measure(res):
        label = f"{mb} MB"
        o, b = _cold(res, label, "ours").get("init_median_ms"), _cold(res, label, "original").get("init_median_ms")
        return [("", b / o)] if o and b else []
    return measure


def first_external_over_sleep(res):
    m = (_cold(res, "128 MB", "ours").get("first", {}).get("/call-external-api") or {}).get("median_ms")
    return [("128 MB", m - SLEEP_MS["/call-external-api"])] if m is not None else []


def warm_over_sleep(res):
    out = []
    for label, *_ in SIZES:
        for route, sleep in SLEEP_MS.items():
            m = (_warm(res, label, "ours").get("routes", {}).get(route) or {}).get("median_ms")
            if m is not None:
                out.append((f"{route}, {label}", m - sleep))
    return out


def p99_at_template_size(route):
    def measure(res):
        label = f"{res.get('template_memory')} MB"
        p99 = (_warm(res, label, "ours").get("routes", {}).get(route) or {}).get("p99_ms")
        if p99 is None:
            return []
        if route == "/calculate/100000":  # judged as a share of the Timeout
            return [(label, p99 / (res["template_timeout_s"] * 1000))]
        return [(label, p99)]
    return measure


def peak_rss(res):
    peaks = [_warm(res, label, "ours").get("peak_rss_mib") for label, *_ in SIZES + [SENSITIVITY]]
    peaks = [p for p in peaks if p is not None]
    return [("largest of every size", max(peaks))] if peaks else []


# One row per budget: (name, "≥"/"≤", limit, unit, why, measure). `measure(res)` gives the
# (where, value) pairs judged against the limit: none when the run did not measure it.
BUDGETS = [
    ("init − the trivial runtime's (medians)", "≤", 1.0, " ms",
     "what the function adds to the least a runtime does, at the smallest share", init_over_trivial),
    ("the original's init ÷ ours, 128 MB", "≥", 500, "×", "a native start against CPython's imports", init_ratio(128)),
    ("the original's init ÷ ours, 1769 MB", "≥", 50, "×", "the same on a whole vCPU", init_ratio(1769)),
    ("first /call-external-api after a cold start − its 100 ms sleep", "≤", 10.0, " ms",
     "the client's set-up, AL2023's trust store and a TLS handshake at 128 MB", first_external_over_sleep),
    ("warm waiting route − its sleep (median)", "≤", 4.0, " ms",
     "Tokio's timer ends a sleep 0–2 ms late, and the rest runs at the size's share", warm_over_sleep),
    *[(f"warm {route} p99 at the template's MemorySize", "≤", limit, " ms", P99_WHY[route], p99_at_template_size(route))
      for route, limit in P99_BUDGET_MS.items()],
    ("warm /calculate/100000 p99 ÷ the template's Timeout", "≤", ROOM, "",
     "the deployment's largest request ends with room under its Timeout", p99_at_template_size("/calculate/100000")),
    ("ours: peak RSS", "≤", 16, " MiB", "64 KiB buffers and a small heap, at every size", peak_rss),
]


def derive(res: dict) -> None:
    """The figures worked out from the measurements: costs, the memory size, the budgets."""
    res["cost"] = costs(res)
    res["template_timeout_s"] = template_timeout_s()
    res["template_memory"] = template_memory()
    if any((entry.get("ours") or {}).get("warm") for entry in res["sizes"].values()):
        res["memory_choice"] = choose_memory(res, res["template_timeout_s"])
    res["budgets"] = budgets(res)


def invocation_failures(res: dict) -> list[tuple[str, str, str]]:
    """(size, failure, runtime) for every invocation that was not answered with a 200."""
    out = []
    for label, entry in res["sizes"].items():
        for target in ("trivial", "ours", "original"):
            t = entry.get(target) or {}
            out += [(label, f, target) for f in (t.get("cold") or {}).get("failures", [])]
            for route, r in ((t.get("warm") or {}).get("routes") or {}).items():
                out += [(label, f"{route}: {f}", target) for f in r.get("failures", [])]
                if not r.get("n"):
                    out.append((label, f"{route}: no invocation answered", target))
    return out


def budgets(res: dict) -> list[dict]:
    out = []
    for name, sign, limit, unit, _why, measure in BUDGETS:
        for where, value in measure(res):
            ok = value >= limit if sign == "≥" else value <= limit
            out.append({"budget": f"{name} ({where})" if where else name, "value": value, "limit": f"{sign} {limit:g}{unit}", "ok": ok})
    return out


# --- report ------------------------------------------------------------------------------


def md_table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def ratio_text(a, b):
    if not a or not b:
        return "–"
    r = a / b
    return f"{r:,.0f}×" if r >= 100 else f"{r:,.1f}×" if r >= 10 else f"{r:.2f}×"


def render(res: dict) -> str:
    sizes = res["sizes"]
    labels = [s[0] for s in SIZES + [SENSITIVITY] if s[0] in sizes]
    parts = []

    rows = []
    for label in labels:
        c = {t: (sizes[label].get(t) or {}).get("cold", {}) for t in ("trivial", "ours", "original")}
        cell = lambda t: (  # noqa: E731
            f"{fmt(c[t].get('init_median_ms'))} / {fmt(c[t].get('init_p90_ms'))}" if c[t] else "–"
        )
        o, t, b = (c[k].get("init_median_ms") for k in ("ours", "trivial", "original"))
        rows.append([label, cell("trivial"), cell("ours"), cell("original"),
                     fmt(o - t, 2) if o is not None and t is not None else "–", ratio_text(b, o),
                     str(c["ours"].get("n", "–"))])
    parts.append("**Init** (exec → first `GET /next`), median / p90 in ms:\n\n" + md_table(
        ["size", "trivial runtime", "ours", "original", "ours − trivial", "original ÷ ours", "spawns"], rows))

    routes = ["/call-external-api", "/mixed", "/calculate/100", "/calculate/1000"]
    rows = []
    for label in labels:
        for t in ("ours", "original"):
            first = (sizes[label].get(t) or {}).get("cold", {}).get("first", {})
            if not first:
                continue
            cells = [fmt((first.get(r) or {}).get("median_ms")) for r in routes]
            o = (sizes[label].get("ours") or {}).get("cold", {}).get("first", {}).get("/call-external-api", {})
            rows.append([label, t] + cells)
            b = first.get("/call-external-api", {}).get("median_ms")
            if t == "original" and b and o.get("median_ms"):
                rows[-1].append(ratio_text(b - 100, o["median_ms"] - 100))
            else:
                rows[-1].append("")
    parts.append(
        "**First invocation of each route after a cold start** (median ms; in each new process "
        "`/call-external-api` comes first, so its figure includes the HTTP client's set-up, the "
        "trust store and the TLS handshake with the HTTPS stub; the original's first "
        "`/calculate/1000` is not run):\n\n"
        + md_table(["size", "runtime"] + [f"`{r}`" for r in routes] + ["`/call-external-api` beyond its sleep: original ÷ ours"], rows)
    )

    rows = []
    for label in labels:
        for route in warm_routes(res) + [f"{r} {B2B}" for r in BACK_TO_BACK["ours"]]:
            o = ((sizes[label].get("ours") or {}).get("warm", {}).get("routes", {}) or {}).get(route)
            b = ((sizes[label].get("original") or {}).get("warm", {}).get("routes", {}) or {}).get(route)
            if not o and not b:
                continue
            cell = lambda r: "–" if not r else (  # noqa: E731
                f"{fmt(r['median_ms'])} / {fmt(r['p90_ms'])} / {fmt(r['p99_ms'])}"
                + (" (estimate: `/calculate/1000` × 100)" if r.get("estimate") else "")
            )
            n = lambda r: "–" if not r else str(r["n"]) + (f" in {r['parallel']}" if r.get("parallel", 1) > 1 else "")  # noqa: E731
            name = f"`{route}`" if B2B not in route else f"`{route.split()[0]}` {B2B}"
            rows.append([label, name, cell(o), cell(b), ratio_text(b and b["median_ms"], o and o["median_ms"]),
                         n(o), n(b)])
    parts.append(
        "**Warm invocations** (event handed out → response posted), median / p90 / p99 in ms, "
        "a random pause of 0–100 ms between invocations (\"back-to-back\": none); n = "
        "invocations (\"in K\": spread over K environments side by side, each in its own "
        "cgroup with the same quota):\n\n"
        + md_table(["size", "route", "ours", "original", "original ÷ ours (median)", "n ours", "n original"], rows)
    )

    rows = []
    for label in labels:
        for route in warm_routes(res):
            o = ((sizes[label].get("ours") or {}).get("warm", {}).get("routes", {}) or {}).get(route)
            if o and o.get("response_bytes_median") is not None:
                rows.append([label, f"`{route}`", fmt(o.get("cpu_median_ms"), 2), fmt(o.get("cpu_p90_ms"), 2),
                             fmt(o["response_bytes_median"], 0)])
    if rows:
        parts.append(
            "**Ours per warm invocation**: CPU time of the process (every thread) from the event's "
            "hand-out to the response's POST, median and p90 in ms, and the response document's "
            "size (median bytes; a base64 body counts 4/3)"
            + (f"; every event with {', '.join(f'`{k}: {v}`' if v else f'no `{k}`' for k, v in res['headers'].items())}"
               if res.get("headers") else "")
            + (f"; upstream `{res['upstream_path']}`" if res.get("upstream_path", "/todos/1") != "/todos/1" else "")
            + ":\n\n" + md_table(["size", "route", "CPU median", "CPU p90", "response bytes"], rows)
        )

    rows = []
    for label in labels:
        o = (sizes[label].get("ours") or {}).get("warm", {}).get("peak_rss_mib")
        b = (sizes[label].get("original") or {}).get("warm", {}).get("peak_rss_mib")
        rows.append([label, fmt(o, 1), fmt(b, 1), ratio_text(b, o)])
    parts.append("**Peak RSS** (VmHWM of the warm environments, MiB):\n\n" + md_table(
        ["size", "ours", "original", "original ÷ ours"], rows))

    # One table of ratios (original ÷ ours; higher is better for ours), every size a column.
    cols = [lab for lab in labels]
    measures = [("init (median)", lambda t: (t.get("cold") or {}).get("init_median_ms"))]
    measures.append(("first `/call-external-api` beyond its 100 ms sleep", lambda t: (
        lambda m: m - 100 if m is not None else None)(((t.get("cold") or {}).get("first", {}).get("/call-external-api") or {}).get("median_ms"))))
    for route in WARM_ROUTES:
        measures.append((f"warm `{route}` (median)", lambda t, r=route: (((t.get("warm") or {}).get("routes") or {}).get(r) or {}).get("median_ms")))
    measures.append(("peak RSS", lambda t: (t.get("warm") or {}).get("peak_rss_mib")))
    rows = []
    for name, get in measures:
        cells = []
        for lab in cols:
            o, b = sizes[lab].get("ours") or {}, sizes[lab].get("original") or {}
            cells.append(ratio_text(get(b) if b else None, get(o) if o else None))
        rows.append([name] + cells)
    parts.insert(0, "**Original ÷ ours** (how many times longer, or larger, the original is; "
                 "`/calculate/100000` of the original estimated as `/calculate/1000` × 100):\n\n"
                 + md_table(["measure"] + cols, rows))

    if res.get("cost"):
        rows = []
        for route in WARM_ROUTES:
            for label, mb, _q, _p in SIZES:
                cs = {c["target"]: c for c in res["cost"] if c["size"] == label and c["route"] == route}
                if not cs:
                    continue
                o, b = cs.get("ours"), cs.get("original")
                cell = lambda c, k: "–" if not c else k(c)  # noqa: E731
                rows.append([
                    f"`{route}`", label,
                    cell(o, lambda c: fmt(c["billed_ms"], 1)), cell(b, lambda c: fmt(c["billed_ms"], 0) + (" (est.)" if c["estimate"] else "")),
                    cell(o, lambda c: f"{c['gb_s_per_million']:,.0f}"), cell(b, lambda c: f"{c['gb_s_per_million']:,.0f}"),
                    cell(o, lambda c: f"{c['usd_per_million']['x86_64']:,.2f}"), cell(b, lambda c: f"{c['usd_per_million']['x86_64']:,.2f}"),
                    cell(o, lambda c: f"{c['usd_per_million']['arm64']:,.2f}"), cell(b, lambda c: f"{c['usd_per_million']['arm64']:,.2f}"),
                ])
        parts.append(
            "**Cost per million requests** (warm; billed ms = mean of the invoke phase rounded up "
            "to the ms; USD include the $0.20 request charge; prices us-east-1, "
            f"x86_64 ${PRICE_GB_S['x86_64']:.10f}/GB-s, arm64 ${PRICE_GB_S['arm64']:.10f}/GB-s, as of "
            f"{PRICES_DATE}; the arm64 columns use the x86_64 durations measured here):\n\n"
            + md_table(["route", "size", "billed ms ours", "billed ms original", "GB-s ours", "GB-s original",
                        "USD x86 ours", "USD x86 original", "USD arm64 ours", "USD arm64 original"], rows)
        )
        size = (res.get("memory_choice") or {}).get("chosen_mb") or res.get("template_memory")
        original = cheapest(res, "original")
        rows = []
        for route in WARM_ROUTES:
            o = next((c for c in res["cost"] if c["target"] == "ours" and c["route"] == route
                      and c["memory_mb"] == size), None)
            b = original.get(route)
            if not o and not b:
                continue
            usd = lambda c, arch: "–" if not c else f"{c['usd_per_million'][arch]:,.2f}"  # noqa: E731
            rows.append([f"`{route}`", usd(o, "x86_64"), usd(o, "arm64"),
                         "–" if not b else b["size"] + (" (est.)" if b["estimate"] else ""),
                         usd(b, "x86_64"), usd(b, "arm64"),
                         ratio_text(b and b["usd_per_million"]["x86_64"], o and o["usd_per_million"]["x86_64"])])
        parts.append(
            f"**USD per million requests: ours at {size} MB against the original at its own cheapest size** "
            "(request charge included; arm64 priced from the x86_64 durations measured here, not measured):\n\n"
            + md_table(["route", "ours x86_64", "ours arm64 (priced)", "original's cheapest size",
                        "original x86_64", "original arm64 (priced)", "original ÷ ours"], rows)
        )
    if res.get("memory_choice"):
        mc = res["memory_choice"]
        rows = [[r["size"], "yes" if r["meets_p99"] else "no: " + "; ".join(r["misses"]),
                 fmt(r.get("relative_cost"), 2) + "×", f"{r['usd_all_routes']:,.2f}"] for r in mc["rows"]]
        parts.append(
            "**Memory size** (ours: every route's warm p99 within "
            + ", ".join(f"`{k}` ≤ {fmt(v)} ms" for k, v in mc["budgets_ms"].items())
            + "; ranked by the geometric mean of each route's x86 price relative to its cheapest "
            "size, so that every route counts alike):\n\n"
            + md_table(["size", "every p99 within budget", "price relative to each route's cheapest (geometric mean)",
                        "USD per million, one request of each route"], rows)
            + f"\n\nChosen: **{mc['chosen_mb']} MB** (template.yaml's default: {res.get('template_memory')} MB)."
        )
    if res.get("budgets"):
        rows = [[b["budget"], fmt(b["value"], 2), b["limit"], "yes" if b["ok"] else "**NO**"] for b in res["budgets"]]
        parts.append("**Budgets, as measured**:\n\n" + md_table(["budget", "measured", "limit", "ok"], rows))
    parts.append("**The budgets and why** (`BUDGETS` in bench/lambda_sizes.py):\n\n" + md_table(
        ["budget", "limit", "why"], [[name, f"{sign} {limit:g}{unit}", why] for name, sign, limit, unit, why, _ in BUDGETS]))
    return "\n\n".join(parts)


# --- main --------------------------------------------------------------------------------


def start_moto(args, tmp: str) -> Proc:
    """moto's DynamoDB server on 127.0.0.1 (scripts/moto), table `items` with item id = 1;
    our function reads it on /call-external-api (ITEMS_TABLE) over plain HTTP."""
    python = subprocess.run([os.path.join(ROOT, "scripts", "moto")], capture_output=True, text=True,
                            check=True).stdout.strip()
    port = free_port()
    moto = Proc([python, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], None,
                os.path.join(tmp, "moto.log"), set(args.stub_cpus), truncate=True)
    endpoint = f"http://127.0.0.1:{port}"
    setup = (
        "import boto3, sys, time\n"
        "db = boto3.client('dynamodb', endpoint_url=sys.argv[1], region_name='us-east-1',"
        " aws_access_key_id='x', aws_secret_access_key='x')\n"
        "for _ in range(200):\n"
        "    try:\n"
        "        db.list_tables(); break\n"
        "    except Exception:\n"
        "        time.sleep(0.05)\n"
        "db.create_table(TableName='items', BillingMode='PAY_PER_REQUEST',"
        " AttributeDefinitions=[{'AttributeName': 'id', 'AttributeType': 'N'}],"
        " KeySchema=[{'AttributeName': 'id', 'KeyType': 'HASH'}])\n"
        "db.put_item(TableName='items', Item={'id': {'N': '1'}, 'name': {'S': 'widget'}})\n"
    )
    subprocess.run([python, "-c", setup, endpoint], check=True, timeout=60)
    args.ours_env.update({
        "ITEMS_TABLE": "items",
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": "bench",
    })
    return moto


async def measure(args, tmp: str, groups: CpuGroups) -> dict:
    runner = Runner(args, tmp, groups)
    stub, ports = upstream_stub(os.path.join(tmp, "upstream.log"), args.certs["cert"], args.certs["key"],
                                set(args.stub_cpus))
    try:
        args.upstream_https = ports["https"]
        if args.dynamodb:
            moto = start_moto(args, tmp)
        res = {"sizes": {}}
        rows = [s for s in SIZES if s[1] in args.sizes]
        if args.sensitivity:
            rows.append(SENSITIVITY)
        for size in rows:
            entry = res["sizes"].setdefault(size[0], {"memory_mb": size[1], "quota_us": size[2], "period_us": size[3]})
            for target in args.targets:
                t = entry[target] = {}
                n = args.spawns if target != "original" else args.original_spawns
                t["cold"] = await runner.cold(target, size, n, args.drop_caches)
                if target == "trivial" or args.no_warm or (size is SENSITIVITY and target == "original"):
                    continue
                # Ours: any route asked for (its own order); the original: those it has.
                routes = [r for r in args.warm_routes if target == "ours" or r in WARM_ROUTES[:4]]
                t["warm"] = await runner.warm(target, size, routes, args.warm)
        return res
    finally:
        if args.dynamodb and "moto" in locals():
            moto.stop(timeout=30)
        stub.stop(timeout=5)


def parse_args():
    parser = argparse.ArgumentParser(prog="bench/run.sh --lambda-sizes", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short run: 5 spawns, 20 warm invocations")
    parser.add_argument("--smoke", action="store_true",
                        help="CI's run: 2 spawns, 3 warm invocations of the light routes at 1769 MB; proves "
                             "the harness end to end (tables printed, every invocation answered) without "
                             "judging timings")
    parser.add_argument("--spawns", type=int, help="cold starts per runtime and size (default 20)")
    parser.add_argument("--original-spawns", type=int, help="cold starts of the original (default: --spawns)")
    parser.add_argument("--warm", type=int, help="warm invocations per route (default 100)")
    parser.add_argument("--sizes", default="128,256,512,1024,1769", help="memory sizes (MB) to run")
    parser.add_argument("--no-sensitivity", dest="sensitivity", action="store_false", help="skip the 20 ms row")
    parser.add_argument("--targets", default="trivial,ours,original", help="runtimes to run")
    parser.add_argument("--no-warm", action="store_true", help="cold starts only")
    parser.add_argument("--warm-routes", default=",".join(WARM_ROUTES),
                        help="routes timed warm; ours also takes others, e.g. /openapi.json")
    parser.add_argument("--header", action="append", default=[], metavar="'NAME: VALUE'",
                        help="a request header on every event (repeatable), e.g. 'accept-encoding: gzip'; "
                             "'NAME:' removes it (the events carry accept-encoding: gzip, deflate, br)")
    parser.add_argument("--upstream-path", default="/todos/1",
                        help="what /call-external-api fetches from the upstream stub, e.g. /doc/102400 "
                             "(a JSON document of 100 KiB; scripts/upstream_stub.py lists the paths)")
    parser.add_argument("--parallel-cpus", default="target",
                        help="CPUs for environments side by side: 'target' (the targets' CPU) or 'all'")
    parser.add_argument("--drop-caches", action="store_true", help="echo 3 > /proc/sys/vm/drop_caches before each spawn")
    parser.add_argument("--max-gap", type=float, default=0.1, help="longest pause between warm invocations, s")
    parser.add_argument("--max-parallel", type=int, default=MAX_PARALLEL, help="environments side by side, at most")
    parser.add_argument("--init-timeout", type=float, default=60.0, help="longest init, s")
    parser.add_argument("--invoke-timeout", type=float, default=120.0, help="longest invocation, s")
    parser.add_argument("--binary", required=True)
    parser.add_argument("--cgexec", required=True)
    parser.add_argument("--trivial", required=True)
    parser.add_argument("--python-original", required=True, help="the python of the original's venv")
    parser.add_argument("--env", action="append", default=[], help="K=V for our function (repeatable)")
    parser.add_argument("--label", default="", help="a note for the report (e.g. the build option measured)")
    parser.add_argument("--dynamodb", action="store_true",
                        help="ours reads item 1 from moto's DynamoDB on /call-external-api (ITEMS_TABLE)")
    parser.add_argument("--no-trust-store", action="store_true", help="keep this machine's /etc (no AL2023 layout)")
    parser.add_argument("--command", default="bench/run.sh --lambda-sizes")
    parser.add_argument("--inside", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.smoke:
        args.quick, args.sensitivity = True, False
        args.spawns, args.warm = args.spawns or 2, args.warm or 3
        if args.sizes == parser.get_default("sizes"):
            args.sizes = "1769"
        if args.warm_routes == parser.get_default("warm_routes"):
            args.warm_routes = "/call-external-api,/mixed,/calculate/100"
    args.spawns = args.spawns or (5 if args.quick else 20)
    args.original_spawns = args.original_spawns or args.spawns
    args.warm = args.warm or (20 if args.quick else 100)
    args.sizes = [int(s) for s in args.sizes.split(",") if s]
    args.targets = [t for t in args.targets.split(",") if t]
    args.ours_env = dict(kv.split("=", 1) for kv in args.env)
    args.warm_routes = [r for r in args.warm_routes.split(",") if r]
    args.headers = {}
    for header in args.header:
        name, sep, value = header.partition(":")
        if not sep or not name.strip():
            parser.error(f"--header {header!r}: write 'NAME: VALUE'")
        args.headers[name.strip().lower()] = value.strip()
    return args


def main() -> int:
    if sys.argv[1:2] == ["render"]:
        # bench/lambda_sizes.py render target/bench-results/lambda-sizes-*.json: the Markdown
        # tables of a saved run again, its derived figures (costs, the memory size, the
        # budgets) worked out anew from its measurements against today's rules and template.
        res = json.load(open(sys.argv[2]))
        derive(res)
        print(render(res))
        return 0
    args = parse_args()
    if not args.inside:
        # Outside the mount namespace: the stub's certificates, then this same command again
        # under `unshare -m` with AL2023's layout laid over /etc (exec: same pid).
        tmp = tempfile.mkdtemp(prefix="lambda-async-api-sizes-")
        certs = bench_run.make_certs(tmp)
        with open(os.path.join(tmp, "certs.json"), "w") as f:
            json.dump(certs, f)
        argv = [sys.executable, os.path.abspath(__file__), *sys.argv[1:], "--inside", tmp]
        if args.no_trust_store:
            os.execv(argv[0], argv)
        os.execvp("unshare", ["unshare", "-m", "--propagation", "private", "bash",
                              os.path.join(BENCH, "lambda", "al2023-trust-store.sh"), certs["bundle"], "--", *argv])
    tmp = args.inside
    args.certs = json.load(open(os.path.join(tmp, "certs.json")))
    # The original's trust store: certifi's roots plus the stub's CA.
    args.original_bundle = os.path.join(tmp, "certifi-plus-ca.pem")
    certifi = subprocess.run([args.python_original, "-c", "import certifi; print(certifi.where())"],
                             capture_output=True, text=True, check=True).stdout.strip()
    with open(args.original_bundle, "w") as out:
        out.write(open(certifi).read())
        out.write(open(args.certs["ca"]).read())

    cpus = sorted(os.sched_getaffinity(0))
    args.target_cpu = cpus[-1] if len(cpus) > 1 else None
    args.stub_cpus = [c for c in cpus if c != args.target_cpu] or cpus
    if args.parallel_cpus == "all" or args.target_cpu is None:
        args.parallel_cpus = [args.target_cpu] + [c for c in cpus if c != args.target_cpu] if args.target_cpu is not None else cpus
    else:
        args.parallel_cpus = [args.target_cpu]
    if len(cpus) > 1:
        os.sched_setaffinity(0, set(args.stub_cpus))
    stop_on_signals()
    groups = CpuGroups(os.environ.get("BENCH_CGROUP_PREFIX", f"lambda-async-api-bench-{os.getpid()}"))
    started = time.monotonic()
    res = {
        "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": args.command,
        "label": args.label,
        "quick": args.quick,
        "headers": args.headers,
        "upstream_path": args.upstream_path,
        "cgroup": f"v{groups.version}",
        "settings": {k: getattr(args, k) for k in ("spawns", "original_spawns", "warm", "sizes", "targets",
                                                   "drop_caches", "max_gap", "max_parallel", "target_cpu", "parallel_cpus", "warm_routes",
                                                   "stub_cpus", "ours_env")},
        "trust_store": "this machine's" if args.no_trust_store else "Amazon Linux 2023 layout (private mount namespace)",
        "machine": bench_run.machine(),
        "load_before": open("/proc/loadavg").read().split()[:3],
        "binary": {"path": args.binary, "bytes": os.path.getsize(args.binary),
                   "zip_bytes": bench_run.zip_size(args.binary, tmp, "bootstrap")},
    }
    random.seed(13)
    try:
        try:
            from uvloop import run as arun  # noqa: PLC0415
        except ImportError:
            arun = asyncio.run
        res.update(arun(measure(args, tmp, groups)))
    finally:
        stop_all()  # a group holding a process cannot be removed
        groups.remove_all()
    res["load_after"] = open("/proc/loadavg").read().split()[:3]
    if "original" in args.targets:
        estimate_100000({k: v.get("original", {}) for k, v in res["sizes"].items()})
    derive(res)
    res["elapsed_s"] = round(time.monotonic() - started, 1)
    if args.smoke:
        # Timings are not judged here; every invocation must have been answered.
        failed = [f"{label} {target}: {f}" for label, f, target in invocation_failures(res)]
    else:
        failed = [b["budget"] for b in res["budgets"] if not b["ok"]]
    res["budgets_met"] = not failed
    body = render(res)
    head = (
        f"Command: `{args.command}` ({'smoke run' if args.smoke else 'quick run' if args.quick else 'full run'}, {res['elapsed_s']:.0f} s, "
        f"{res['started']}{', ' + args.label if args.label else ''}). Load average before/after: "
        f"{' '.join(res['load_before'])} / {' '.join(res['load_after'])}. cgroup {res['cgroup']}, trust store: "
        f"{res['trust_store']}. Binary {res['binary']['bytes'] / MIB:.2f} MiB, zip "
        f"{res['binary']['zip_bytes'] / MIB:.2f} MiB.\n\nMachine: "
        + ", ".join(f"{k}: {v}" for k, v in res["machine"].items())
    )
    print()
    print(head + "\n\n" + body)
    print()
    verdict = "every invocation answered (timings not judged)" if args.smoke else "all met"
    print("budgets: " + (verdict if not failed else "NOT met: " + "; ".join(failed)))
    os.makedirs(RESULTS, exist_ok=True)
    os.makedirs(bench_run.RAW_RESULTS, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    full = not args.quick and set(args.targets) == {"trivial", "ours", "original"} and len(args.sizes) == len(SIZES)
    for name in [f"lambda-sizes-{stamp}"] + (["lambda-sizes-latest"] if full else []):
        with open(os.path.join(bench_run.RAW_RESULTS, name + ".json"), "w") as f:
            json.dump(res, f, indent=1)
            f.write("\n")
        with open(os.path.join(RESULTS, name + ".md"), "w") as f:
            f.write(head + "\n\n" + body + "\n")
    log(
        f"results: {bench_run.shown(os.path.join(bench_run.RAW_RESULTS, f'lambda-sizes-{stamp}.json'))} and "
        f"{bench_run.shown(os.path.join(RESULTS, f'lambda-sizes-{stamp}.md'))}; {res['elapsed_s']:.0f} s"
    )
    shutil.rmtree(tmp, ignore_errors=True)
    return 0 if not failed else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        log("interrupted")
        sys.exit(130)
    finally:
        # The run's directory (certificates, logs) also goes when the run fails.
        inside = sys.argv[sys.argv.index("--inside") + 1] if "--inside" in sys.argv[:-1] else None
        if inside and os.path.basename(inside).startswith("lambda-async-api-sizes-"):
            shutil.rmtree(inside, ignore_errors=True)
