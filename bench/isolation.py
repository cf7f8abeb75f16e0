#!/usr/bin/env python3
"""Isolation under Lambda Managed Instances: do big calculations slow the waiting routes?

Runs the release binary as Lambda runs it with AWS_LAMBDA_MAX_CONCURRENCY=64 (default
CPU_WORKERS: the number of cores) under the bench's Runtime API stand-in, bench/runtime_api.py
(many GET /next may wait at once), and times /mixed and /call-external-api invocations (event
handed out -> response posted): first alone, then with 32 big /calculate invocations in
flight at the same time. Prints one JSON document; exits 1 if a waiting route's p50 grows by
more than 10 ms.

    bench/isolation.py [--binary target/release/lambda-async-api] [--rounds 3] [--cpu-workers N]

Loopback only, bounded, stops what it starts. Standard library only.
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

from runtime_api import RuntimeApi, status_code

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from harness import Proc, upstream_stub  # noqa: E402


def event(path: str) -> bytes:
    doc = json.loads((ROOT / "events/http-v2-mixed.json").read_text())
    doc["rawPath"] = path
    doc["requestContext"]["http"]["path"] = path
    doc["routeKey"] = "$default"
    return json.dumps(doc).encode()


def latency_ms(api: RuntimeApi, request_id: str) -> float:
    """Event handed out -> response posted."""
    return (api.posted[request_id][0] - api.handed[request_id]) / 1e6


def status(api: RuntimeApi, request_id: str) -> int:
    return status_code(api.posted[request_id][2]) or 0


async def measure(api: RuntimeApi, waiting: int, big: int, big_number: int) -> dict:
    bigs = [api.invoke(event(f"/calculate/{big_number}")) for _ in range(big)]
    await asyncio.sleep(0.05 if big else 0)  # let the calculations start first
    mixed = [api.invoke(event("/mixed")) for _ in range(waiting)]
    external = [api.invoke(event("/call-external-api")) for _ in range(waiting)]
    await api.until(lambda: api.init_error is not None or api.answered_all(), 120)
    if api.init_error is not None:
        raise RuntimeError(f"init error: {api.init_error[:500]}")
    result = {}
    for name, ids in (("/mixed", mixed), ("/call-external-api", external), ("/calculate", bigs)):
        if not ids:
            continue
        lat = sorted(latency_ms(api, i) for i in ids)
        result[name] = {
            "n": len(lat),
            "p50_ms": round(statistics.median(lat), 2),
            "max_ms": round(lat[-1], 2),
            "statuses": sorted({status(api, i) for i in ids}),
        }
    return result


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=str(ROOT / "target/release/lambda-async-api"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--big-number", type=int, default=20000, help="/calculate/{N}")
    parser.add_argument("--cpu-workers", type=int, help="CPU_WORKERS (default: the app's)")
    args = parser.parse_args()

    api = RuntimeApi()
    runtime_addr = await api.start(backlog=256)
    logs = tempfile.TemporaryDirectory(prefix="isolation-")
    procs = []
    try:
        stub, ports = upstream_stub(f"{logs.name}/upstream.log")
        procs.append(stub)
        env = {
            "PATH": os.environ.get("PATH", ""),
            "AWS_LAMBDA_RUNTIME_API": runtime_addr,
            "AWS_LAMBDA_FUNCTION_NAME": "lambda-async-api",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "2048",
            "AWS_LAMBDA_FUNCTION_VERSION": "1",
            "AWS_LAMBDA_MAX_CONCURRENCY": "64",
            "EXTERNAL_API_URL": f"http://127.0.0.1:{ports['http']}/todos/1",
            "RUST_LOG": "warn",
        }
        if args.cpu_workers:
            env["CPU_WORKERS"] = str(args.cpu_workers)
        # stdout (the function's log lines) dropped, stderr inherited, as before.
        procs.append(Proc([args.binary], env, None, stderr=False))
        await measure(api, 8, 0, args.big_number)  # warm-up: clients, threads
        rounds = []
        for _ in range(args.rounds):
            alone = await measure(api, 32, 0, args.big_number)
            loaded = await measure(api, 32, 32, args.big_number)
            rounds.append({"alone": alone, "with_32_big_calculations": loaded})
    finally:
        for proc in reversed(procs):
            proc.stop(timeout=30)
        api.close()
        logs.cleanup()

    def p50(kind, route):
        return statistics.median(r[kind][route]["p50_ms"] for r in rounds)

    summary = {
        route: {
            "p50_alone_ms": p50("alone", route),
            "p50_with_big_calculations_ms": p50("with_32_big_calculations", route),
        }
        for route in ("/mixed", "/call-external-api")
    }
    summary["/calculate"] = {
        "p50_ms": statistics.median(r["with_32_big_calculations"]["/calculate"]["p50_ms"] for r in rounds),
        "cpu_workers": args.cpu_workers or os.cpu_count(),
    }
    print(json.dumps({"summary": summary, "rounds": rounds}, indent=2))
    grew = [
        route for route in ("/mixed", "/call-external-api")
        if summary[route]["p50_with_big_calculations_ms"] - summary[route]["p50_alone_ms"] > 10
    ]
    bad_status = [
        (r, k, route) for r in rounds for k in r for route in r[k]
        if r[k][route]["statuses"] != [200]
    ]
    if grew or bad_status:
        print(f"FAIL: latency grew for {grew}; statuses {bad_status}", file=sys.stderr)
        return 1
    print("isolation: passed")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
