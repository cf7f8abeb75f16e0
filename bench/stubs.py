#!/usr/bin/env python3
"""bench/run.sh's Lambda rows: the release binary run as Lambda runs it, on 127.0.0.1 only,
under the bench's Runtime API stand-in (bench/runtime_api.py).

    stubs.py lambda --binary PATH --event FILE [--runs N] [--warm K] [--env K=V ...]
        Runs PATH N times as Lambda would (AWS_LAMBDA_RUNTIME_API pointed at this process),
        each time handing it FILE's event first and then K more, and prints one JSON line:
        per run, spawn -> first GET /next, spawn -> first response, the first invocation
        (event handed out -> response posted), and the warm invocations.

Standard library only (uvloop is used when installed). Requests are timed when their last
byte arrives, with time.perf_counter_ns, the clock the spawn is timed with. What is measured
includes the stand-in's own event-loop turn (tens of us). (The external API is the project's
one Python upstream stub, scripts/upstream_stub.py, whose HTTP server the stand-in shares.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys

from runtime_api import RuntimeApi, status_code

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts"))
from harness import Proc  # noqa: E402


def lambda_env(runtime_addr: str, extra: dict[str, str]) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_LAMBDA_RUNTIME_API": runtime_addr,
        "AWS_LAMBDA_FUNCTION_NAME": "lambda-async-api",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench-stream",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/lambda-async-api",
        "AWS_REGION": "us-east-1",
    }
    env.update(extra)
    return env


async def run_lambda(args):
    with open(args.event, "rb") as f:
        first = f.read()
    warm_event = first
    if args.warm_event:
        with open(args.warm_event, "rb") as f:
            warm_event = f.read()
    extra = dict(kv.split("=", 1) for kv in args.env)
    runs = []
    for run in range(args.runs):
        api = RuntimeApi()
        addr = await api.start(backlog=64)
        for event in [first] + [warm_event] * args.warm:
            api.invoke(event)
        log = os.path.join(args.log_dir, f"lambda-{args.label}-{run}.log")
        # stdout to the log (what summarise_run reads), stderr inherited; pinned to --cpu.
        # Killed below, every run: not listed in $BENCH_PIDFILE (see Proc).
        proc = Proc([args.binary], lambda_env(addr, extra), log, args.cpu, stderr=False, truncate=True,
                    register=False)
        try:
            await api.until(lambda: api.init_error is not None or api.answered_all(), args.timeout)
        except asyncio.TimeoutError:
            pass
        finally:
            proc.kill()
            api.close()
        runs.append(summarise_run(api, proc.started_ns, log))
        await asyncio.sleep(args.pause)
    print(json.dumps({"runs": runs}), flush=True)


def summarise_run(api: RuntimeApi, started: int, log: str) -> dict:
    ms = lambda ns: ns / 1e6  # noqa: E731
    result = {"init_error": api.init_error, "ok": True}
    if not api.next_calls or "req-1" not in api.posted:
        result["ok"] = False
        result["log_tail"] = open(log, errors="replace").read()[-2000:]
        return result
    invocations = []
    for request_id, handed in api.handed.items():
        if request_id not in api.posted:
            result["ok"] = False
            continue
        arrived, kind, body = api.posted[request_id]
        status = status_code(body)
        invocations.append({"ms": ms(arrived - handed), "kind": kind, "status": status})
        if kind != "response" or status != 200:
            result["ok"] = False
    result.update(
        {
            "spawn_to_first_next_ms": ms(api.next_calls[0] - started),
            "spawn_to_first_response_ms": ms(api.posted["req-1"][0] - started),
            "first_invoke_ms": invocations[0]["ms"],
            "warm_invoke_ms": [i["ms"] for i in invocations[1:]],
            "statuses": sorted({i["status"] for i in invocations if i["status"]}),
            "upstream_ms": upstream_durations(log),
        }
    )
    return result


def upstream_durations(log: str) -> list[float]:
    """duration_ms of the function's `upstream call` log lines (JSON log format)."""
    found = []
    with open(log, errors="replace") as f:
        for line in f:
            if "upstream call" not in line:
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            value = record.get("duration_ms")
            if value is None:
                value = (record.get("fields") or {}).get("duration_ms")
            if value is not None:
                found.append(float(value))
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    lam = sub.add_parser("lambda")
    lam.add_argument("--binary", required=True)
    lam.add_argument("--event", required=True)
    lam.add_argument("--warm-event")
    lam.add_argument("--runs", type=int, default=20)
    lam.add_argument("--warm", type=int, default=20)
    lam.add_argument("--env", action="append", default=[])
    lam.add_argument("--cpu", type=int)
    lam.add_argument("--label", default="run")
    lam.add_argument("--log-dir", default=".")
    lam.add_argument("--timeout", type=float, default=10.0)
    lam.add_argument("--pause", type=float, default=0.05)
    args = parser.parse_args()
    try:
        from uvloop import run  # noqa: PLC0415
    except ImportError:
        run = asyncio.run
    run(run_lambda(args))


if __name__ == "__main__":
    sys.exit(main())
