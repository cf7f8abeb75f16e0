#!/usr/bin/env python3
"""Isolation under Lambda Managed Instances: do big calculations slow the waiting routes?

Runs the release binary as Lambda runs it with AWS_LAMBDA_MAX_CONCURRENCY=64 (default
CPU_WORKERS: the number of cores) under a Runtime API stub that serves many GET /next at once,
and times /mixed and /call-external-api invocations (event handed out -> response posted):
first alone, then with 32 big /calculate invocations in flight at the same time. Prints
one JSON document; exits 1 if a waiting route's p50 grows by more than 10 ms.

    bench/isolation.py [--binary target/release/lambda-async-api] [--rounds 3] [--cpu-workers N]

Loopback only, bounded, stops what it starts. Standard library only.
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNTIME = "/2018-06-01/runtime"


def event(path: str) -> bytes:
    doc = json.loads((ROOT / "events/http-v2-mixed.json").read_text())
    doc["rawPath"] = path
    doc["requestContext"]["http"]["path"] = path
    doc["routeKey"] = "$default"
    return json.dumps(doc).encode()


class RuntimeApi:
    """Hands queued events to any number of concurrent GET /next; records post times."""

    def __init__(self):
        self.queue: asyncio.Queue = asyncio.Queue()
        self.handed: dict[str, float] = {}
        self.posted: dict[str, tuple[float, int]] = {}
        self.done: dict[str, asyncio.Future] = {}
        self.ids = 0

    def invoke(self, body: bytes) -> str:
        self.ids += 1
        request_id = f"req-{self.ids}"
        self.done[request_id] = asyncio.get_running_loop().create_future()
        self.queue.put_nowait((request_id, body))
        return request_id

    async def serve(self, reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path = lines[0].split(" ")[:2]
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                body = await reader.readexactly(length) if length else b""
                if method == "GET" and path == f"{RUNTIME}/invocation/next":
                    request_id, event_body = await self.queue.get()
                    self.handed[request_id] = time.perf_counter()
                    deadline = int(time.time() * 1000) + 60_000
                    headers = (
                        f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                        f"lambda-runtime-aws-request-id: {request_id}\r\n"
                        f"lambda-runtime-deadline-ms: {deadline}\r\n"
                        f"lambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:123456789012:function:f\r\n"
                        f"content-length: {len(event_body)}\r\n\r\n"
                    )
                    writer.write(headers.encode() + event_body)
                else:
                    request_id = path[len(f"{RUNTIME}/invocation/"):].split("/")[0]
                    status = json.loads(body or b"{}").get("statusCode", 0)
                    self.posted[request_id] = (time.perf_counter(), status)
                    future = self.done.get(request_id)
                    if future is not None and not future.done():
                        future.set_result(None)
                    writer.write(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            writer.close()

    def latency_ms(self, request_id: str) -> float:
        return (self.posted[request_id][0] - self.handed[request_id]) * 1000


async def measure(api: RuntimeApi, waiting: int, big: int, big_number: int) -> dict:
    bigs = [api.invoke(event(f"/calculate/{big_number}")) for _ in range(big)]
    await asyncio.sleep(0.05 if big else 0)  # let the calculations start first
    mixed = [api.invoke(event("/mixed")) for _ in range(waiting)]
    external = [api.invoke(event("/call-external-api")) for _ in range(waiting)]
    await asyncio.wait_for(
        asyncio.gather(*(api.done[i] for i in mixed + external + bigs)), timeout=120
    )
    result = {}
    for name, ids in (("/mixed", mixed), ("/call-external-api", external), ("/calculate", bigs)):
        if not ids:
            continue
        lat = sorted(api.latency_ms(i) for i in ids)
        result[name] = {
            "n": len(lat),
            "p50_ms": round(statistics.median(lat), 2),
            "max_ms": round(lat[-1], 2),
            "statuses": sorted({api.posted[i][1] for i in ids}),
        }
    return result


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=str(ROOT / "target/release/lambda-async-api"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--big-number", type=int, default=20000, help="/calculate/{N}")
    parser.add_argument("--cpu-workers", type=int, help="CPU_WORKERS (default: the app's)")
    args = parser.parse_args()

    procs = []
    api = RuntimeApi()
    server = await asyncio.start_server(api.serve, "127.0.0.1", 0, backlog=256)
    runtime_port = server.sockets[0].getsockname()[1]
    try:
        stub = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts/upstream_stub.py")],
            stdout=subprocess.PIPE, text=True,
        )
        procs.append(stub)
        stub_port = stub.stdout.readline().split()[-1]
        env = {
            "PATH": os.environ.get("PATH", ""),
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{runtime_port}",
            "AWS_LAMBDA_FUNCTION_NAME": "lambda-async-api",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "2048",
            "AWS_LAMBDA_FUNCTION_VERSION": "1",
            "AWS_LAMBDA_MAX_CONCURRENCY": "64",
            "EXTERNAL_API_URL": f"http://127.0.0.1:{stub_port}/todos/1",
            "RUST_LOG": "warn",
        }
        if args.cpu_workers:
            env["CPU_WORKERS"] = str(args.cpu_workers)
        procs.append(subprocess.Popen([args.binary], env=env, stdout=subprocess.DEVNULL))
        await measure(api, 8, 0, args.big_number)  # warm-up: clients, threads
        rounds = []
        for _ in range(args.rounds):
            alone = await measure(api, 32, 0, args.big_number)
            loaded = await measure(api, 32, 32, args.big_number)
            rounds.append({"alone": alone, "with_32_big_calculations": loaded})
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        server.close()

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
