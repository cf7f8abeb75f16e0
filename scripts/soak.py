#!/usr/bin/env python3
"""Soak test: the local server under sustained concurrent load while the upstream misbehaves.

Drives every route at CONCURRENCY keep-alive connections for DURATION seconds, with the
upstream stub cycling through its faults (500, invalid JSON, reset, slow, hang). Passes when:
  - every response has a documented status, and no connection fails;
  - RSS and open file descriptors stay flat (growth under 10 % from warm-up to the end;
    skipped with --quick, which CI uses);
  - the server answers normally afterwards.

Loopback only, bounded in time, stops what it starts. Standard library only.

Usage: scripts/soak.py [--duration 60] [--concurrency 256] [--binary PATH] [--quick]
"""

import argparse
import asyncio
import collections
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

from harness import Proc, upstream_stub

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTED = {200, 307, 404, 422, 502, 503, 504}
PATHS = [
    "/call-external-api",
    "/mixed",
    "/calculate/{n}",
    "/calculate/{n}",
    "/calculate/abc",
    "/calculate/999999",
    "/nope",
    "/mixed/",
]


def sample(pid: int) -> tuple[int, int]:
    """(RSS in KiB, open file descriptors) of a process."""
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


async def fetch(reader, writer, path: str) -> int:
    writer.write(f"GET {path} HTTP/1.1\r\nhost: soak\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def worker(host, port, stop_at, statuses, errors):
    rng = random.Random()
    reader = writer = None
    while time.monotonic() < stop_at:
        path = rng.choice(PATHS).format(n=rng.randint(0, 50))
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            statuses[await fetch(reader, writer, path)] += 1
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as e:
            errors[type(e).__name__] += 1
            if writer is not None:
                writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


async def load(host, port, concurrency, duration, pid, warmup):
    """Runs the load; samples the server's RSS and descriptors after the warm-up and just
    before the end, both while every connection is open."""
    statuses, errors = collections.Counter(), collections.Counter()
    stop_at = time.monotonic() + duration
    samples = []

    async def sampler():
        await asyncio.sleep(warmup)
        samples.append((sample(pid), sum(statuses.values())))
        await asyncio.sleep(max(0.0, stop_at - time.monotonic() - 0.5))
        samples.append((sample(pid), sum(statuses.values())))

    started = time.monotonic()
    await asyncio.gather(
        sampler(),
        *(worker(host, port, stop_at, statuses, errors) for _ in range(concurrency)),
    )
    return statuses, errors, samples, time.monotonic() - started


async def check_after(host, port) -> dict:
    reader, writer = await asyncio.open_connection(host, port)
    result = {p: await fetch(reader, writer, p) for p in ["/mixed", "/calculate/7"]}
    writer.close()
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--binary", default=str(ROOT / "target/release/lambda-async-api"))
    parser.add_argument("--quick", action="store_true", help="statuses and connection errors only")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()

    # Room for the load's sockets, the server's and the upstream's.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    logs = tempfile.TemporaryDirectory(prefix="soak-")
    procs = []
    try:
        stub, ports = upstream_stub(f"{logs.name}/upstream.log")
        procs.append(stub)
        env = dict(
            os.environ,
            EXTERNAL_API_URL=f"http://127.0.0.1:{ports['http']}/cycle",
            EXTERNAL_API_TIMEOUT_MS="1000",
            MAX_NUMBER="100",
            HOST="127.0.0.1",
            PORT="0",
            RUST_LOG="warn,lambda_async_api::server=info",
        )
        # stdout (its log lines) to a file, stderr inherited, as before.
        server = Proc([args.binary], env, f"{logs.name}/server.log", stderr=False)
        procs.append(server)
        base = server.wait_for_line("listening on ")
        host, port = base.removeprefix("http://").rsplit(":", 1)

        warmup = min(5.0, args.duration / 4)
        statuses, errors, samples, elapsed = asyncio.run(
            load(host, port, args.concurrency, args.duration, server.pid, warmup)
        )
        (before, _), (after, _) = samples
        afterwards = asyncio.run(check_after(host, port))
        alive = server.poll() is None
    finally:
        for proc in reversed(procs):
            proc.stop(timeout=30)
        logs.cleanup()

    total = sum(statuses.values())
    undocumented = {s: c for s, c in statuses.items() if s not in DOCUMENTED}
    rss_growth = (after[0] - before[0]) / before[0]
    fd_growth = (after[1] - before[1]) / before[1]
    figures = {
        "duration_s": args.duration,
        "concurrency": args.concurrency,
        "requests": total,
        "requests_per_s": round(total / elapsed, 1),
        "statuses": dict(sorted(statuses.items())),
        "connection_errors": dict(errors),
        "rss_kib_after_warmup": before[0],
        "rss_kib_at_end": after[0],
        "fds_after_warmup": before[1],
        "fds_at_end": after[1],
        "afterwards": afterwards,
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")

    failures = []
    if undocumented:
        failures.append(f"undocumented statuses {undocumented}")
    if errors:
        failures.append(f"connection errors {dict(errors)}")
    if not alive or afterwards != {"/mixed": 200, "/calculate/7": 200}:
        failures.append(f"not serving normally afterwards: {afterwards}, alive={alive}")
    if total == 0:
        failures.append("no requests were made")
    if not args.quick:
        if rss_growth >= 0.10:
            failures.append(f"RSS grew {rss_growth:.1%}")
        if fd_growth >= 0.10:
            failures.append(f"open file descriptors grew {fd_growth:.1%}")
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    print(f"soak: {total} requests, {'FAILED' if failures else 'passed'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
