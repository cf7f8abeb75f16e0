#!/usr/bin/env python3
"""The benchmark: this function against the FastAPI original, same machine, same run.

Started by bench/run.sh (which makes the baseline's virtual environment and pins this
orchestrator to CPU 0); see `bench/run.sh --help` for the options. Everything runs on
127.0.0.1. Every process started here is stopped before exit, also on Ctrl-C.

Prints one table (measure, FastAPI, ours, ratio, budget), saves it as Markdown to
bench/results/<timestamp>.md and the raw results to target/bench-results/<timestamp>.json
(CARGO_TARGET_DIR when set, as for the binary); a full run (not --quick) also writes
bench/results/latest.md and target/bench-results/latest.json.
"""

from __future__ import annotations

import argparse
import atexit
import datetime as dt
import json
import math
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
RESULTS = os.path.join(BENCH, "results")  # the Markdown tables (latest.md is committed)
TARGET_DIR = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
RAW_RESULTS = os.path.join(TARGET_DIR, "bench-results")  # the raw JSON, not committed
CARGO_LAMBDA_VENV = os.path.expanduser("~/.cache/lambda-async-api/venv/bin")

MIB = 1024 * 1024
FULL_VCPU_MB = 1769  # Lambda: one full vCPU at this memory size; less below, in proportion

# The budgets (issue 4; the calculation's and the sleep's re-set by issue 17), checked on
# every run.
BUDGET_EXTERNAL_RPS = 0.95 * 64 / 0.100  # c=64, 100 ms sleep per request
# Tokio's timer ends a 100 ms sleep 0-2 ms late (issue 17 dropped the timerfd that did not);
# 64 requests on one core add their own turns: 2026-12-03 measured 107 ms.
BUDGET_EXTERNAL_P99_MS = 110
BUDGET_MIXED_RPS = 0.95 * 64 / 0.050
BUDGET_MIXED_P99_MS = 55
# The seed's plain loop (issue 17), not the vectorised one these ratios were set for (100x
# and 30x): 2026-12-03 measured 16.7x and 24.5x; the budgets keep a margin below.
BUDGET_CALC100_RATIO = 10
BUDGET_CALC1_RATIO = 15
BUDGET_START_RATIO = 100
BUDGET_COLD_NEXT_MS = 3.0
# GET /calculate/7 is 70 000 iterations of the plain loop on the blocking pool (about
# 0.3 ms), no longer inline: 2026-12-03 measured 1.20 ms.
BUDGET_FIRST_INVOKE_MS = 1.5
BUDGET_FIRST_HTTPS_MS = 10.0  # "no tens-of-milliseconds stall"
BUDGET_PEAK_RSS_MIB = 16


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- processes ---------------------------------------------------------------------------


class Proc:
    """A process started by posix_spawn, pinned to `cpu`, stdout+stderr to `log_path`."""

    live: list["Proc"] = []
    pidfile: str | None = os.environ.get("BENCH_PIDFILE")

    def __init__(self, argv, env, log_path, cpu=None):
        self.argv = argv
        self.log_path = log_path
        before = os.sched_getaffinity(0)
        out = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            if cpu is not None:
                os.sched_setaffinity(0, {cpu})
            self.started_ns = time.perf_counter_ns()
            self.pid = os.posix_spawn(
                argv[0],
                argv,
                env,
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, out, 1),
                    (os.POSIX_SPAWN_DUP2, out, 2),
                    (os.POSIX_SPAWN_CLOSE, out),
                ],
            )
        finally:
            if cpu is not None:
                os.sched_setaffinity(0, before)
            os.close(out)
        self.returncode = None
        Proc.live.append(self)
        if Proc.pidfile:
            with open(Proc.pidfile, "a") as f:
                f.write(f"{self.pid}\n")

    def poll(self):
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def stop(self, timeout=5.0):
        if self.poll() is None:
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + timeout
            while self.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            if self.poll() is None:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
                self.returncode = -9
        if self in Proc.live:
            Proc.live.remove(self)

    def cpu_seconds(self) -> float:
        """User + system CPU time of the whole process (exited threads included)."""
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def status(self) -> dict:
        """VmRSS, VmHWM (peak RSS) and thread count from /proc."""
        fields = {}
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                name, _, value = line.partition(":")
                fields[name] = value.strip()
        kib = lambda name: int(fields[name].split()[0])  # noqa: E731
        return {
            "rss_mib": kib("VmRSS") / 1024,
            "peak_rss_mib": kib("VmHWM") / 1024,
            "threads": int(fields["Threads"]),
        }


def stop_all():
    for proc in list(Proc.live):
        try:
            proc.stop(timeout=2.0)
        except Exception as e:  # noqa: BLE001
            log(f"could not stop pid {proc.pid}: {e}")


def on_signal(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


# --- HTTP helpers ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """One GET on a fresh connection; (status, body). Raises OSError when nothing listens."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def wait_first_good(proc: Proc, port: int, path: str, limit_s: float) -> float:
    """Milliseconds from the spawn of `proc` to its first 200 answer on `path`."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.argv[0]} exited ({proc.returncode}), see {proc.log_path}")
        try:
            status, _ = http_get(port, path)
        except OSError:
            time.sleep(0.0001)
            continue
        if status == 200:
            return (time.perf_counter_ns() - proc.started_ns) / 1e6
    raise RuntimeError(f"no 200 from {path} within {limit_s} s, see {proc.log_path}")


# --- wrk ---------------------------------------------------------------------------------


def wrk(port: int, path: str, connections: int, seconds: float) -> dict:
    argv = [
        shutil.which("wrk") or "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-s",
        os.path.join(BENCH, "wrk_json.lua"),
        f"http://127.0.0.1:{port}{path}",
    ]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result: {out.stdout}\n{out.stderr}")
    raw = json.loads(line[len("WRKJSON ") :])
    lat = raw["latency_us"]
    errors = sum(raw["errors"].values())
    seconds_run = raw["duration_us"] / 1e6
    return {
        "connections": connections,
        "requests": raw["requests"],
        "seconds": seconds_run,
        "rps": raw["requests"] / seconds_run if seconds_run else 0.0,
        "p50_ms": lat["p50"] / 1000,
        "p90_ms": lat["p90"] / 1000,
        "p99_ms": lat["p99"] / 1000,
        "max_ms": lat["max"] / 1000,
        "mean_ms": lat["mean"] / 1000,
        "errors": errors,
        "errors_by_kind": raw["errors"],
    }


# --- the two targets ---------------------------------------------------------------------


def base_env() -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    if "HOME" in os.environ:
        env["HOME"] = os.environ["HOME"]
    return env


def target_argv(name: str, args, port: int) -> tuple[list[str], dict[str, str]]:
    env = base_env()
    env["EXTERNAL_API_URL"] = f"http://127.0.0.1:{args.upstream_http}/todos/1"
    if name == "ours":
        env.update({"HOST": "127.0.0.1", "PORT": str(port)})
        return [args.binary], env
    argv = [
        args.python,
        "-m",
        "uvicorn",
        "app:app",
        "--app-dir",
        os.path.join(BENCH, "baseline"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    return argv, env


ROUTES = ["/call-external-api", "/mixed", "/calculate/1"]
SINGLE = ["/calculate/100", "/calculate/1000"]


def cpu_per_request(proc: Proc, before: float, run: dict) -> float | None:
    """The target's CPU time per request over one wrk run, in ms (clock-tick resolution)."""
    if not run["requests"]:
        return None
    return (proc.cpu_seconds() - before) * 1000 / run["requests"]


def measure_target(name: str, args, tmp: str) -> dict:
    result: dict = {"start_ms": [], "routes": {}, "single": {}}
    log_path = os.path.join(tmp, f"{name}.log")
    limit = 30.0

    log(f"{name}: process start to first good response, {args.start_runs} runs")
    for _ in range(args.start_runs):
        port = free_port()
        argv, env = target_argv(name, args, port)
        proc = Proc(argv, env, log_path, cpu=args.target_cpu)
        try:
            result["start_ms"].append(wait_first_good(proc, port, "/calculate/1", limit))
        finally:
            proc.stop()
        time.sleep(0.1)

    port = free_port()
    argv, env = target_argv(name, args, port)
    proc = Proc(argv, env, log_path, cpu=args.target_cpu)
    try:
        wait_first_good(proc, port, "/calculate/1", limit)
        time.sleep(0.2)
        result["idle"] = proc.status()
        for path in ROUTES:
            result["routes"][path] = {}
            for connections in (1, 64):
                wrk(port, path, connections, args.warmup)
                cpu_before = proc.cpu_seconds()
                run = wrk(port, path, connections, args.duration)
                run["cpu_ms_per_request"] = cpu_per_request(proc, cpu_before, run)
                result["routes"][path][str(connections)] = run
                log(
                    f"{name} {path} c={connections}: {run['rps']:.1f} req/s, "
                    f"p50 {run['p50_ms']:.2f} ms, p99 {run['p99_ms']:.2f} ms, "
                    f"{run['errors']} errors"
                )
                time.sleep(0.3)
        for path in SINGLE:
            wrk(port, path, 1, min(args.warmup, 1))
            cpu_before = proc.cpu_seconds()
            run = wrk(port, path, 1, args.single_duration)
            run["cpu_ms_per_request"] = cpu_per_request(proc, cpu_before, run)
            result["single"][path] = run
            log(f"{name} {path} one at a time: p50 {run['p50_ms']:.3f} ms ({run['requests']} requests)")
        result["after_load"] = proc.status()
        if proc.poll() is not None:
            raise RuntimeError(f"{name} died during the load, see {log_path}")
    finally:
        proc.stop()
    log(
        f"{name}: RSS {result['after_load']['rss_mib']:.1f} MiB after the load, "
        f"peak {result['after_load']['peak_rss_mib']:.1f} MiB"
    )
    return result


# --- Lambda (ours only) ------------------------------------------------------------------


def event_for(path: str, tmp: str) -> str:
    """An HTTP API (v2) event for GET `path`, from the fixture of /calculate/42."""
    with open(os.path.join(ROOT, "events", "http-v2-calculate.json")) as f:
        event = json.load(f)
    event["rawPath"] = path
    event["requestContext"]["http"]["path"] = path
    if path.startswith("/calculate/"):
        event["pathParameters"] = {"number": path.rsplit("/", 1)[1]}
    else:
        event["routeKey"] = event["requestContext"]["routeKey"] = f"GET {path}"
        event.pop("pathParameters", None)
    name = os.path.join(tmp, "event" + path.replace("/", "_") + ".json")
    with open(name, "w") as f:
        json.dump(event, f)
    return name


def lambda_runs(args, tmp, binary, label, event, runs, warm, env=None) -> dict:
    argv = [
        args.python,
        os.path.join(BENCH, "stubs.py"),
        "lambda",
        "--binary",
        binary,
        "--event",
        event,
        "--runs",
        str(runs),
        "--warm",
        str(warm),
        "--label",
        label,
        "--log-dir",
        tmp,
    ]
    if args.target_cpu is not None:
        argv += ["--cpu", str(args.target_cpu)]
    for name, value in (env or {}).items():
        argv += ["--env", f"{name}={value}"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60 + runs * 15)
    if out.returncode != 0:
        raise RuntimeError(f"Runtime API stub failed: {out.stderr}")
    data = json.loads(out.stdout.strip().splitlines()[-1])
    good = [r for r in data["runs"] if r["ok"]]
    if len(good) < len(data["runs"]):
        bad = next(r for r in data["runs"] if not r["ok"])
        log(f"lambda {label}: {len(data['runs']) - len(good)} run(s) failed: {json.dumps(bad)[:800]}")
    if not good:
        raise RuntimeError(f"lambda {label}: no run succeeded")
    median = lambda xs: statistics.median(xs) if xs else None  # noqa: E731
    warm_all = [ms for r in good for ms in r["warm_invoke_ms"]]
    summary = {
        "runs": len(data["runs"]),
        "ok_runs": len(good),
        "spawn_to_first_next_ms": median([r["spawn_to_first_next_ms"] for r in good]),
        "spawn_to_first_next_ms_min": min(r["spawn_to_first_next_ms"] for r in good),
        "spawn_to_first_response_ms": median([r["spawn_to_first_response_ms"] for r in good]),
        "first_invoke_ms": median([r["first_invoke_ms"] for r in good]),
        "warm_invoke_ms": median(warm_all),
        "warm_invoke_p99_ms": percentile(warm_all, 99),
        "first_upstream_ms": median([r["upstream_ms"][0] for r in good if r["upstream_ms"]]),
        "warm_upstream_ms": median([ms for r in good for ms in r["upstream_ms"][1:]]),
        "raw": data["runs"],
    }
    log(
        f"lambda {label}: spawn->first /next {summary['spawn_to_first_next_ms']:.2f} ms, "
        f"->first response {summary['spawn_to_first_response_ms']:.2f} ms, first invoke "
        f"{summary['first_invoke_ms']:.3f} ms, warm {summary['warm_invoke_ms']:.3f} ms"
        + (
            f", upstream first {summary['first_upstream_ms']:.2f} ms"
            if summary["first_upstream_ms"] is not None
            else ""
        )
    )
    return summary


def shown(path: str) -> str:
    """`path` relative to the repository when inside it, for messages."""
    path = os.path.abspath(path)
    return os.path.relpath(path, ROOT) if path.startswith(ROOT + os.sep) else path


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    k = max(0, min(len(values) - 1, math.ceil(p / 100 * len(values)) - 1))
    return values[k]


def make_certs(tmp: str) -> dict:
    """A throwaway CA and a leaf for 127.0.0.1 signed by it; a trust bundle of the system's
    roots plus that CA (what SSL_CERT_FILE then names, so the client still loads a full
    store, as it does in production)."""
    names = ("ca.key", "ca.pem", "leaf.key", "leaf.csr", "leaf.pem")
    ca_key, ca, key, csr, cert = (os.path.join(tmp, n) for n in names)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run = lambda *a: subprocess.run(["openssl", *a], check=True, capture_output=True)  # noqa: E731
    run("req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=bench CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
    run("req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    ext = os.path.join(tmp, "leaf.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
        "-days", "2", "-extfile", ext)
    bundle = os.path.join(tmp, "trust-bundle.pem")
    candidates = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")
    system = next((p for p in candidates if os.path.exists(p)), None)
    with open(bundle, "w") as out:
        if system:
            out.write(open(system).read())
        out.write(open(ca).read())
    return {"ca": ca, "cert": cert, "key": key, "bundle": bundle, "system_bundle": system}


# --- sizes -------------------------------------------------------------------------------


def zip_size(binary: str, tmp: str, name: str) -> int:
    path = os.path.join(tmp, f"{name}.zip")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(binary, "rb") as f:
            z.writestr(info, f.read(), compresslevel=9)
    return os.path.getsize(path)


def is_stripped(binary: str) -> bool | None:
    out = subprocess.run(["file", "-b", binary], capture_output=True, text=True)
    if out.returncode != 0:
        return None
    return "not stripped" not in out.stdout


# --- builds ------------------------------------------------------------------------------


def build(args) -> None:
    log("cargo build --release")
    subprocess.run(["cargo", "build", "--release"], cwd=ROOT, check=True)


def cargo_lambda(args) -> str | None:
    """`cargo lambda build --release` (x86_64, so it can also be run here), into its own
    directory so it does not replace a deployment build in target/lambda."""
    env = dict(os.environ)
    if shutil.which("cargo-lambda") is None and os.path.exists(os.path.join(CARGO_LAMBDA_VENV, "cargo-lambda")):
        env["PATH"] = CARGO_LAMBDA_VENV + os.pathsep + env["PATH"]
    if shutil.which("cargo-lambda", path=env["PATH"]) is None:
        log("cargo-lambda not found: skipping the cargo lambda build")
        return None
    out_dir = os.path.join(TARGET_DIR, "bench-lambda")
    log("cargo lambda build --release (x86_64)")
    done = subprocess.run(
        ["cargo", "lambda", "build", "--release", "--x86-64", "--lambda-dir", out_dir],
        cwd=ROOT,
        env=env,
    )
    if done.returncode != 0:
        log("cargo lambda build failed: its row is left out")
        return None
    path = os.path.join(out_dir, "lambda-async-api", "bootstrap")
    return path if os.path.exists(path) else None


# --- report ------------------------------------------------------------------------------


def fmt(value, unit="", digits=None):
    if value is None:
        return "–"
    if digits is None:
        digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2 if abs(value) >= 1 else 3
    return f"{value:,.{digits}f}{unit}"


def rows(res: dict) -> list[dict]:
    base, ours, lam = res.get("baseline"), res["ours"], res.get("lambda", {})
    out = []

    def row(measure, b, o, unit, higher_better, budget=None, ok=None, digits=None, note=None):
        ratio = None
        if b is not None and o is not None and b > 0 and o > 0:
            ratio = o / b if higher_better else b / o
        out.append(
            {
                "measure": measure,
                "fastapi": b,
                "ours": o,
                "unit": unit,
                "ratio": ratio,
                "budget": budget,
                "ok": ok,
                "fastapi_text": fmt(b, unit, digits),
                "ours_text": fmt(o, unit, digits) + (f" {note}" if note else ""),
            }
        )
        return ratio

    get = lambda r, path, c: (r or {}).get("routes", {}).get(path, {}).get(str(c))  # noqa: E731
    for path in ROUTES:
        for c in (1, 64):
            b, o = get(base, path, c), get(ours, path, c)
            errs = lambda run: None if run is None else run["errors"]  # noqa: E731
            rps_budget = rps_ok = p99_budget = p99_ok = None
            if c == 64 and path == "/call-external-api":
                rps_budget, rps_ok = f"≥ {BUDGET_EXTERNAL_RPS:.0f} req/s", o["rps"] >= BUDGET_EXTERNAL_RPS
                p99_budget, p99_ok = f"≤ {BUDGET_EXTERNAL_P99_MS} ms", o["p99_ms"] <= BUDGET_EXTERNAL_P99_MS
            if c == 64 and path == "/mixed":
                rps_budget, rps_ok = f"≥ {BUDGET_MIXED_RPS:.0f} req/s", o["rps"] >= BUDGET_MIXED_RPS
                p99_budget, p99_ok = f"≤ {BUDGET_MIXED_P99_MS} ms", o["p99_ms"] <= BUDGET_MIXED_P99_MS
            ratio = row(
                f"`{path}` c={c}: requests/s",
                b and b["rps"],
                o["rps"],
                "",
                True,
                rps_budget,
                rps_ok,
            )
            if c == 64 and path == "/calculate/1" and ratio is not None:
                out[-1]["budget"] = f"≥ {BUDGET_CALC1_RATIO}×"
                out[-1]["ok"] = ratio >= BUDGET_CALC1_RATIO
            row(f"`{path}` c={c}: p50", b and b["p50_ms"], o["p50_ms"], " ms", False)
            row(f"`{path}` c={c}: p99", b and b["p99_ms"], o["p99_ms"], " ms", False, p99_budget, p99_ok)
            eb, eo = errs(b), errs(o)
            out.append(
                {
                    "measure": f"`{path}` c={c}: errors",
                    "fastapi": eb,
                    "ours": eo,
                    "unit": "",
                    "ratio": None,
                    "budget": "0",
                    "ok": eo == 0,
                    "fastapi_text": "–" if eb is None else str(eb),
                    "ours_text": str(eo),
                }
            )
    for path in SINGLE:
        b = (base or {}).get("single", {}).get(path)
        o = ours["single"][path]
        ratio = row(f"`{path}`, one request (p50)", b and b["p50_ms"], o["p50_ms"], " ms", False)
        if path == "/calculate/100" and ratio is not None:
            out[-1]["budget"] = f"≥ {BUDGET_CALC100_RATIO}× faster"
            out[-1]["ok"] = ratio >= BUDGET_CALC100_RATIO
    med = lambda xs: statistics.median(xs) if xs else None  # noqa: E731
    ratio = row(
        "start to first response (median)",
        med((base or {}).get("start_ms")),
        med(ours["start_ms"]),
        " ms",
        False,
    )
    if ratio is not None:
        out[-1]["budget"] = f"≥ {BUDGET_START_RATIO}× faster"
        out[-1]["ok"] = ratio >= BUDGET_START_RATIO
    row("RSS idle, after start", base and base["idle"]["rss_mib"], ours["idle"]["rss_mib"], " MiB", False)
    row("RSS after the load", base and base["after_load"]["rss_mib"], ours["after_load"]["rss_mib"], " MiB", False)
    peak = ours["after_load"]["peak_rss_mib"]
    row(
        "peak RSS (during the load)",
        base and base["after_load"]["peak_rss_mib"],
        peak,
        " MiB",
        False,
        f"≤ {BUDGET_PEAK_RSS_MIB} MiB",
        peak <= BUDGET_PEAK_RSS_MIB,
    )
    cold = lam.get("cold")
    if cold:
        row("Lambda cold start: spawn → first `GET /next` (median)", None, cold["spawn_to_first_next_ms"], " ms",
            False, f"≤ {BUDGET_COLD_NEXT_MS} ms", cold["spawn_to_first_next_ms"] <= BUDGET_COLD_NEXT_MS)
        row("Lambda cold start: spawn → first response", None, cold["spawn_to_first_response_ms"], " ms", False)
        row("Lambda first invoke, `GET /calculate/7`", None, cold["first_invoke_ms"], " ms", False,
            f"≤ {BUDGET_FIRST_INVOKE_MS} ms", cold["first_invoke_ms"] <= BUDGET_FIRST_INVOKE_MS)
        row("Lambda warm invoke, `GET /calculate/7` (median)", None, cold["warm_invoke_ms"], " ms", False)
    https = lam.get("https")
    if https and https["first_upstream_ms"] is not None:
        row("first HTTPS upstream call of a fresh process (trust store: /etc/ssl/certs)", None,
            https["first_upstream_ms"], " ms", False, f"≤ {BUDGET_FIRST_HTTPS_MS:.0f} ms",
            https["first_upstream_ms"] <= BUDGET_FIRST_HTTPS_MS)
        for key, label in (
            ("https_bundle_file", "  same, trust store one bundle file (as on Lambda)"),
            ("https_ca_only", "  same, trust store only the stub's CA"),
            ("http", "  first plain-HTTP call instead (same store: client set-up, no handshake)"),
        ):
            if lam.get(key) and lam[key]["first_upstream_ms"] is not None:
                row(label, None, lam[key]["first_upstream_ms"], " ms", False)
        row("  warm HTTPS call (connection reused, median)", None, https["warm_upstream_ms"], " ms", False)
    cl = lam.get("cargo_lambda_cold")
    if cl:
        row("`cargo lambda build` binary: spawn → first `GET /next`", None, cl["spawn_to_first_next_ms"], " ms",
            False, f"≤ {BUDGET_COLD_NEXT_MS} ms", cl["spawn_to_first_next_ms"] <= BUDGET_COLD_NEXT_MS)
    sizes = res.get("sizes", {})
    for key, label in (
        ("binary", "binary (`cargo build --release`, stripped)"),
        ("zip", "deployment zip of it (`bootstrap`, deflate -9)"),
        ("cargo_lambda_binary", "binary (`cargo lambda build --release`)"),
        ("cargo_lambda_zip", "deployment zip of that"),
    ):
        if key in sizes:
            row(label, None, sizes[key] / MIB, " MiB", False, digits=2)
    return out


def lambda_cost(res: dict, memory_sizes=(128, 512, FULL_VCPU_MB)) -> list[dict]:
    """GB-s per million requests on classic Lambda (one request per environment at a time).

    A request's duration at a memory size is its one-at-a-time latency measured here on a
    whole core (wrk c=1, p50) plus its CPU time (measured from /proc over the same run) times
    (1769 / memory - 1): below 1769 MB Lambda gives that share of one vCPU, so the CPU part
    stretches while waiting does not. Billed duration is rounded up to the millisecond.
    """
    table = []
    for path in ROUTES + SINGLE:
        entry = {"route": path}
        for name in ("baseline", "ours"):
            target = res.get(name)
            if not target:
                continue
            run = target["routes"].get(path, {}).get("1") if path in ROUTES else target["single"].get(path)
            latency = run["p50_ms"]
            cpu = min(run.get("cpu_ms_per_request") or 0.0, latency)
            for mb in memory_sizes:
                duration = latency + cpu * max(0.0, FULL_VCPU_MB / mb - 1)
                billed = math.ceil(duration)
                entry[f"{name}_{mb}"] = {
                    "duration_ms": duration,
                    "billed_ms": billed,
                    "cpu_ms": cpu,
                    "gb_s_per_million": billed / 1000 * mb / 1024 * 1e6,
                }
        table.append(entry)
    return table


def render(res: dict, markdown: bool) -> str:
    table = res["table"]
    headers = ["measure", "FastAPI", "ours", "ratio", "budget", "ok"]
    body = []
    for r in table:
        ratio = "–" if r["ratio"] is None else f"{r['ratio']:,.1f}×" if r["ratio"] >= 10 else f"{r['ratio']:.2f}×"
        ok = "" if r["ok"] is None else ("yes" if r["ok"] else "**NO**" if markdown else "NO")
        body.append([r["measure"], r["fastapi_text"], r["ours_text"], ratio, r["budget"] or "", ok])
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        lines += ["| " + " | ".join(cells) + " |" for cells in body]
        return "\n".join(lines)
    plain = [[c.replace("`", "") for c in cells] for cells in body]
    widths = [max(len(h), *(len(c[i]) for c in plain)) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(c) for c in plain])


def render_cost(res: dict, markdown: bool) -> str:
    lines = []
    sizes = sorted({int(k.rsplit("_", 1)[1]) for e in res["cost"] for k in e if k.startswith("ours_")})
    head = ["route"] + [f"{who} @ {mb} MB" for mb in sizes for who in ("FastAPI", "ours")]
    rows_ = []
    for e in res["cost"]:
        cells = [e["route"]]
        for mb in sizes:
            for who in ("baseline", "ours"):
                c = e.get(f"{who}_{mb}")
                cells.append("–" if c is None else f"{c['gb_s_per_million']:,.0f}")
        rows_.append(cells)
    if markdown:
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "---|" * len(head))
        lines += ["| " + " | ".join(r) + " |" for r in rows_]
    else:
        widths = [max(len(h), *(len(r[i]) for r in rows_)) for i, h in enumerate(head)]
        lines.append("  ".join(h.rjust(w) for h, w in zip(head, widths)))
        lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows_]
    return "\n".join(lines)


def machine() -> dict:
    info = {"kernel": platform.release(), "cores": os.cpu_count()}
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            name, _, value = line.partition(":")
            if name.strip() in ("Model name", "CPU family", "Model", "Hypervisor vendor", "CPU max MHz"):
                info[name.strip()] = value.strip()
    except OSError:
        pass
    with open("/proc/meminfo") as f:
        info["memory_gib"] = round(int(f.readline().split()[1]) / 1024 / 1024, 1)
    return info


def versions(args) -> dict:
    def first_line(argv):
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=20)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return None

    git = first_line(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain"], capture_output=True, text=True).stdout
    return {
        "rustc": first_line(["rustc", "--version"]),
        "python": first_line([args.python, "--version"]),
        "wrk": (first_line(["wrk", "--version"]) or "").split(" [")[0] or None,
        "fastapi/uvicorn": first_line(
            [args.python, "-c", "import fastapi, uvicorn; print(fastapi.__version__ + ' / ' + uvicorn.__version__)"]
        ),
        "git": f"{git}{' (dirty work tree)' if dirty.strip() else ''}",
    }


# --- main --------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke test: short runs, few repeats")
    parser.add_argument("--duration", type=float, help="seconds per measured load run (default 10)")
    parser.add_argument("--warmup", type=float, help="seconds of warm-up before each (default 2)")
    parser.add_argument("--single-duration", type=float, help="seconds per one-at-a-time run (default 5)")
    parser.add_argument("--start-runs", type=int, help="process starts timed per target (default 10)")
    parser.add_argument("--lambda-runs", type=int, help="Lambda cold starts timed (default 30)")
    parser.add_argument("--only", choices=["ours", "baseline"], help="measure one target only")
    parser.add_argument("--no-build", action="store_true", help="use the binary as built")
    parser.add_argument("--no-cargo-lambda", action="store_true", help="skip cargo lambda build")
    parser.add_argument("--binary", help="the binary to measure (default target/release/...)")
    parser.add_argument("--python", default=sys.executable, help="the baseline's Python")
    parser.add_argument("--command", default="bench/run.sh", help="how this run was started, for the report")
    args = parser.parse_args()
    quick = args.quick
    args.duration = args.duration or (2 if quick else 10)
    args.warmup = args.warmup if args.warmup is not None else (1 if quick else 2)
    args.single_duration = args.single_duration or (2 if quick else 5)
    args.start_runs = args.start_runs or (3 if quick else 10)
    args.lambda_runs = args.lambda_runs or (5 if quick else 30)

    cpus = sorted(os.sched_getaffinity(0))
    all_cpus = os.cpu_count() or 1
    args.target_cpu = (all_cpus - 1) if all_cpus >= 2 else None
    if args.target_cpu is not None and args.target_cpu in cpus and len(cpus) > 1:
        # Keep the load generator and the stubs off the target's core.
        os.sched_setaffinity(0, set(cpus) - {args.target_cpu})
    log(
        f"targets on CPU {args.target_cpu}, load generator and stubs on CPU "
        f"{sorted(os.sched_getaffinity(0))}"
        if args.target_cpu is not None
        else "one CPU: nothing pinned (numbers will be pessimistic)"
    )

    signal.signal(signal.SIGTERM, on_signal)
    atexit.register(stop_all)
    started = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="lambda-async-api-bench-")
    res: dict = {
        "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": args.command,
        "quick": quick,
        "settings": {
            k: getattr(args, k)
            for k in ("duration", "warmup", "single_duration", "start_runs", "lambda_runs", "target_cpu")
        },
        "machine": machine(),
    }
    try:
        if not args.no_build and not args.binary:
            build(args)
        args.binary = os.path.abspath(args.binary or os.path.join(TARGET_DIR, "release", "lambda-async-api"))
        cargo_lambda_binary = None if args.no_cargo_lambda else cargo_lambda(args)
        res["versions"] = versions(args)

        certs = make_certs(tmp)
        stub = Proc(
            [
                args.python,
                os.path.join(ROOT, "scripts", "upstream_stub.py"),
                "--cert",
                certs["cert"],
                "--key",
                certs["key"],
            ],
            base_env(),
            os.path.join(tmp, "upstream.log"),
        )
        ports = None
        for _ in range(500):
            try:
                with open(stub.log_path) as f:
                    # "listening on PORT https PORT"
                    words = f.readline().split()
            except OSError:
                words = []
            if len(words) == 5 and words[3] == "https":
                ports = {"http": int(words[2]), "https": int(words[4])}
                break
            if stub.poll() is not None:
                raise RuntimeError(f"upstream stub exited, see {stub.log_path}")
            time.sleep(0.01)
        if not ports:
            raise RuntimeError("upstream stub did not start")
        args.upstream_http, args.upstream_https = ports["http"], ports["https"]

        for name in ("baseline", "ours"):
            if args.only and args.only != name:
                continue
            res[name] = measure_target(name, args, tmp)

        if args.only != "baseline":
            lam = res["lambda"] = {}
            cold_event = event_for("/calculate/7", tmp)
            lam["cold"] = lambda_runs(args, tmp, args.binary, "cold", cold_event, args.lambda_runs, 20)
            external = event_for("/call-external-api", tmp)
            https_url = f"https://127.0.0.1:{args.upstream_https}/todos/1"
            http_url = f"http://127.0.0.1:{args.upstream_http}/todos/1"
            # Trust stores: Debian's layout (the bundle and every file of /etc/ssl/certs, what
            # the platform verifier reads here by default), one bundle file (what it finds on
            # Lambda's Amazon Linux 2023), and nothing but the test CA (no system roots).
            stores = {
                "https": (https_url, {"SSL_CERT_FILE": certs["bundle"], "SSL_CERT_DIR": "/etc/ssl/certs"}),
                "https_bundle_file": (https_url, {"SSL_CERT_FILE": certs["bundle"]}),
                "https_ca_only": (https_url, {"SSL_CERT_FILE": certs["ca"]}),
                "http": (http_url, {"SSL_CERT_FILE": certs["bundle"], "SSL_CERT_DIR": "/etc/ssl/certs"}),
            }
            for label, (url, store) in stores.items():
                env = {"AWS_LAMBDA_LOG_FORMAT": "JSON", "EXTERNAL_API_URL": url, **store}
                lam[label] = lambda_runs(args, tmp, args.binary, label, external, 3 if quick else 10, 3, env)
            if cargo_lambda_binary:
                lam["cargo_lambda_cold"] = lambda_runs(
                    args, tmp, cargo_lambda_binary, "cargo-lambda", cold_event, args.lambda_runs, 20
                )
            sizes = res["sizes"] = {
                "binary": os.path.getsize(args.binary),
                "binary_stripped": is_stripped(args.binary),
                "zip": zip_size(args.binary, tmp, "bootstrap"),
            }
            if cargo_lambda_binary:
                sizes["cargo_lambda_binary"] = os.path.getsize(cargo_lambda_binary)
                sizes["cargo_lambda_zip"] = zip_size(cargo_lambda_binary, tmp, "cargo-lambda-bootstrap")
        stub.stop()
    finally:
        stop_all()

    if "ours" not in res:
        print(json.dumps(res, indent=2))
        return 0
    res["table"] = rows(res)
    res["cost"] = lambda_cost(res)
    res["elapsed_s"] = round(time.monotonic() - started, 1)
    failed = [r["measure"] for r in res["table"] if r["ok"] is False]
    res["budgets_met"] = not failed

    print()
    print(render(res, markdown=False))
    print()
    print("Lambda GB-s per million requests (classic Lambda, CPU share = memory / 1769 MB):")
    print(render_cost(res, markdown=False))
    print()
    print("budgets: " + ("all met" if not failed else "NOT met: " + "; ".join(f.replace("`", "") for f in failed)))

    os.makedirs(RESULTS, exist_ok=True)
    os.makedirs(RAW_RESULTS, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    names = [stamp] + ([] if quick or args.only else ["latest"])
    md = "\n\n".join(
        [
            f"Command: `{args.command}` ({'quick smoke run' if quick else 'full run'}, "
            f"{res['elapsed_s']:.0f} s, {res['started']})",
            "Machine: " + ", ".join(f"{k}: {v}" for k, v in res["machine"].items()),
            "Versions: " + ", ".join(f"{k}: {v}" for k, v in res.get("versions", {}).items()),
            render(res, markdown=True),
            "Lambda GB-s per million requests:",
            render_cost(res, markdown=True),
        ]
    )
    for name in names:
        with open(os.path.join(RAW_RESULTS, f"{name}.json"), "w") as f:
            json.dump(res, f, indent=2)
            f.write("\n")
        with open(os.path.join(RESULTS, f"{name}.md"), "w") as f:
            f.write(md + "\n")
    log(
        f"raw results: {shown(os.path.join(RAW_RESULTS, stamp + '.json'))} (table: "
        f"{shown(os.path.join(RESULTS, stamp + '.md'))}); {res['elapsed_s']:.0f} s in all"
    )
    shutil.rmtree(tmp, ignore_errors=True)
    return 0 if not failed else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        log("interrupted: stopping what was started")
        stop_all()
        sys.exit(130)
