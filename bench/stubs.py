#!/usr/bin/env python3
"""The benchmark's Lambda Runtime API stand-in, on 127.0.0.1 only. (The external API is the
project's one Python upstream stub, scripts/upstream_stub.py, whose HTTP server this shares.)

    stubs.py lambda --binary PATH --event FILE [--runs N] [--warm K] [--env K=V ...]
        Runs PATH N times as Lambda would (AWS_LAMBDA_RUNTIME_API pointed at this process),
        each time handing it FILE's event first and then K more, and prints one JSON line:
        per run, spawn -> first GET /next, spawn -> first response, the first invocation
        (event handed out -> response posted), and the warm invocations.

Standard library only (uvloop is used when installed): scripts/upstream_stub.py's HTTP/1.1
server, which times each request when its last byte arrives with time.perf_counter_ns, the
clock the spawn is timed with. What is measured includes this stub's own event-loop turn
(tens of us).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from upstream_stub import HttpServerProtocol, http_response  # noqa: E402

RUNTIME = "/2018-06-01/runtime"


def now() -> int:
    return time.perf_counter_ns()


class RuntimeApi:
    """The Runtime API for one function process at a time: a queue of events, timestamps."""

    def __init__(self):
        self.reset([])

    def reset(self, events):
        self.events = list(events)
        self.next_calls = []  # arrival of each GET /next
        self.handed = {}  # request id -> when its event was written
        self.posted = {}  # request id -> (when the response arrived, status, body)
        self.waiting = None  # a GET /next that found the queue empty
        self.finished = asyncio.get_running_loop().create_future()
        self.init_error = None

    def handler(self, method, path, body, arrived):
        if method == "GET" and path == f"{RUNTIME}/invocation/next":
            self.next_calls.append(arrived)
            if self.events:
                return self._hand_out()
            return self._hold()
        if method == "POST" and path.startswith(f"{RUNTIME}/invocation/"):
            request_id, kind = path[len(f"{RUNTIME}/invocation/") :].split("/", 1)
            self.posted[request_id] = (arrived, kind, body)
            if len(self.posted) == len(self.handed) and not self.events:
                if not self.finished.done():
                    self.finished.set_result(None)
            return http_response(202, b'{"status":"OK"}')
        if method == "POST" and path == f"{RUNTIME}/init/error":
            self.init_error = body.decode("utf-8", "replace")
            if not self.finished.done():
                self.finished.set_result(None)
            return http_response(202, b'{"status":"OK"}')
        return http_response(404, b"{}", reason="Not Found")

    async def _hold(self):
        self.waiting = asyncio.get_running_loop().create_future()
        await self.waiting  # only cancelled: the process is killed once all is posted
        return None

    def _hand_out(self):
        request_id = f"req-{len(self.handed) + 1}"
        event = self.events.pop(0)
        deadline_ms = int(time.time() * 1000) + 60_000
        headers = {
            "content-type": "application/json",
            "lambda-runtime-aws-request-id": request_id,
            "lambda-runtime-deadline-ms": str(deadline_ms),
            "lambda-runtime-invoked-function-arn": (
                "arn:aws:lambda:us-east-1:123456789012:function:lambda-async-api"
            ),
            "lambda-runtime-trace-id": (
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
            ),
        }
        response = http_response(200, event, headers)
        self.handed[request_id] = now()
        return response


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


def spawn(path: str, env: dict[str, str], stdout_path: str, cpu: int | None) -> int:
    """posix_spawn `path`, pinned to `cpu` (inherited from this thread's mask)."""
    before = os.sched_getaffinity(0)
    out = os.open(stdout_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})
        return os.posix_spawn(
            path,
            [path],
            env,
            file_actions=[(os.POSIX_SPAWN_DUP2, out, 1), (os.POSIX_SPAWN_CLOSE, out)],
        )
    finally:
        if cpu is not None:
            os.sched_setaffinity(0, before)
        os.close(out)


async def run_lambda(args):
    loop = asyncio.get_running_loop()
    api = RuntimeApi()
    server = await loop.create_server(
        lambda: HttpServerProtocol(api.handler), "127.0.0.1", 0, backlog=64
    )
    addr = "127.0.0.1:%d" % server.sockets[0].getsockname()[1]
    with open(args.event, "rb") as f:
        first = f.read()
    warm_event = first
    if args.warm_event:
        with open(args.warm_event, "rb") as f:
            warm_event = f.read()
    extra = dict(kv.split("=", 1) for kv in args.env)
    runs = []
    for run in range(args.runs):
        api.reset([first] + [warm_event] * args.warm)
        log = os.path.join(args.log_dir, f"lambda-{args.label}-{run}.log")
        started = now()
        pid = spawn(args.binary, lambda_env(addr, extra), log, args.cpu)
        try:
            await asyncio.wait_for(api.finished, timeout=args.timeout)
        except asyncio.TimeoutError:
            pass
        finally:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            if api.waiting is not None and not api.waiting.done():
                api.waiting.cancel()
        runs.append(summarise_run(api, started, log))
        await asyncio.sleep(args.pause)
    server.close()
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
        status = None
        try:
            status = json.loads(body).get("statusCode")
        except (ValueError, AttributeError):
            pass
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
