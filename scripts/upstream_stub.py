#!/usr/bin/env python3
"""A stand-in for the external API, for scripts (schemathesis, soak, sam local) and the bench.

The path picks the behaviour, as in tests/it/support/upstream.rs (the Rust tests' stub):
  /todos/1        200, jsonplaceholder's document
  /doc/BYTES      200, a JSON list of todos of at least BYTES bytes (the bench's big
                  document; varied titles, so it compresses like real data)
  /status/N       status N, small JSON body
  /bad-json       200, not JSON
  /reset          connection reset instead of an answer
  /hang           no answer (until the client gives up)
  /delay/MS       200 after MS milliseconds
  /cycle          each request the next of: ok, 500, bad JSON, reset, slow (300 ms), hang

HTTP/1.1 with keep-alive on 127.0.0.1 (or --host); with --cert/--key also HTTPS. Prints one
line once ready, "listening on PORT" or "listening on PORT https PORT"; stops on
SIGTERM/SIGINT. Standard library only (uvloop is used when installed, as by the bench).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import json
import random
import signal
import socket
import ssl
import struct
import time

TODO = json.dumps(
    {"userId": 1, "id": 1, "title": "delectus aut autem", "completed": False}, indent=2
).encode()
CYCLE = itertools.cycle(["ok", "500", "bad-json", "reset", "slow", "hang"])
# The words of the /doc/BYTES titles (jsonplaceholder's are lorem ipsum too).
WORDS = (
    "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut "
    "labore et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco "
    "laboris nisi aliquip ex ea commodo consequat duis aute irure in reprehenderit voluptate "
    "velit esse cillum fugiat nulla pariatur excepteur sint occaecat cupidatat non proident "
    "sunt culpa qui officia deserunt mollit anim id est laborum"
).split()


@functools.lru_cache(maxsize=8)
def document(size: int) -> bytes:
    """A JSON list of todos, pretty-printed as jsonplaceholder's /todos, of at least `size`
    bytes; the same for the same size (a fixed seed)."""
    rng = random.Random(size)
    todos, length = [], 2
    while length < size:
        todo = {
            "userId": len(todos) // 20 + 1,
            "id": len(todos) + 1,
            "title": " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 9))),
            "completed": rng.random() < 0.5,
        }
        todos.append(todo)
        length += len(json.dumps(todo, indent=2)) + 6
    return json.dumps(todos, indent=2).encode()


def http_response(
    status: int, body: bytes, headers: dict[str, str] | None = None, reason: str = "Stub"
) -> bytes:
    head = [f"HTTP/1.1 {status} {reason}", f"content-length: {len(body)}"]
    for name, value in (headers or {}).items():
        head.append(f"{name}: {value}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class HttpServerProtocol(asyncio.Protocol):
    """HTTP/1.1 with keep-alive, one request at a time per connection (no pipelining).

    `handler(method, path, body, arrived)` returns the response bytes, None to close the
    connection, RESET to reset it, or a coroutine giving one of those. `arrived` is
    time.perf_counter_ns() when the request's last byte came (the bench times with it).
    """

    RESET = object()

    def __init__(self, handler):
        self.handler = handler
        self.buffer = b""
        self.transport = None
        self.busy = False
        self.pending = None

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.buffer += data
        self._next_request()

    def _next_request(self):
        if self.busy:
            return
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buffer[:end].decode("latin-1").split("\r\n")
        length = 0
        for line in head[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length" and value.strip().isdigit():
                length = int(value.strip())
        if len(self.buffer) < end + 4 + length:
            return
        arrived = time.perf_counter_ns()
        body = self.buffer[end + 4 : end + 4 + length]
        self.buffer = self.buffer[end + 4 + length :]
        parts = head[0].split(" ")
        if len(parts) < 2:
            self._send(None)
            return
        answer = self.handler(parts[0], parts[1], body, arrived)
        if asyncio.iscoroutine(answer):
            self.busy = True
            self.pending = asyncio.ensure_future(self._later(answer))
        else:
            self._send(answer)

    async def _later(self, answer):
        try:
            response = await answer
        except asyncio.CancelledError:
            return
        self.busy = False
        self._send(response)

    def _send(self, response):
        if self.transport is None or self.transport.is_closing():
            return
        if response is None:
            self.transport.close()
            return
        if response is self.RESET:
            sock = self.transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.transport.abort()
            return
        self.transport.write(response)
        self._next_request()

    def connection_lost(self, exc):
        self.transport = None
        if self.pending is not None:
            self.pending.cancel()  # a hanging answer for a client that left


def ok() -> bytes:
    return http_response(200, TODO, {"content-type": "application/json; charset=utf-8"})


async def later(seconds: float, answer):
    await asyncio.sleep(seconds)
    return answer


def upstream_handler(method, path, body, arrived):
    parts = path.split("?", 1)[0].strip("/").split("/")
    if parts == ["cycle"]:
        parts = [next(CYCLE)]
    kind = parts[0]
    number = parts[1] if len(parts) > 1 and parts[1].isdigit() else None
    if kind in ("todos", "ok"):
        return ok()
    if kind == "doc" and number:
        return http_response(
            200, document(int(number)), {"content-type": "application/json; charset=utf-8"}
        )
    if kind == "500":
        return http_response(500, b'{"error":"stub"}', {"content-type": "application/json"})
    if kind == "status" and number:
        return http_response(
            int(number), b'{"error":"stub"}', {"content-type": "application/json"}
        )
    if kind == "bad-json":
        return http_response(200, b"<html>not json</html>", {"content-type": "text/html"})
    if kind == "reset":
        return HttpServerProtocol.RESET
    if kind == "hang":
        return later(3600, None)
    if kind == "slow":
        return later(0.3, ok())
    if kind == "delay" and number:
        return later(int(number) / 1000, ok())
    return http_response(
        404, b'{"error":"no such stub path"}', {"content-type": "application/json"}
    )


async def main(args) -> None:
    loop = asyncio.get_running_loop()

    def factory():
        return HttpServerProtocol(upstream_handler)

    plain = await loop.create_server(factory, args.host, args.port, backlog=1024)
    line = f"listening on {plain.sockets[0].getsockname()[1]}"
    if args.cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
        tls = await loop.create_server(
            factory, args.host, args.https_port, ssl=context, backlog=1024
        )
        line += f" https {tls.sockets[0].getsockname()[1]}"
    print(line, flush=True)
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    await stop


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    # scripts/sam-local binds it to the docker bridge's gateway, the host as its containers see it.
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--https-port", type=int, default=0)
    parser.add_argument("--cert", help="PEM certificate chain: also serve HTTPS")
    parser.add_argument("--key", help="PEM private key for --cert")
    arguments = parser.parse_args()
    try:
        from uvloop import run  # noqa: PLC0415
    except ImportError:
        run = asyncio.run
    run(main(arguments))
