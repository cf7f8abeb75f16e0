"""The bench's Lambda Runtime API stand-in (2018-06-01), on 127.0.0.1 only.

One RuntimeApi serves one function process, as Lambda's endpoint does, for bench/stubs.py
(bench/run.sh's Lambda rows), bench/lambda_sizes.py (bench/run.sh --lambda-sizes) and
bench/isolation.py. invoke(event) queues an event, or hands it at once to a GET /next that
is waiting for one; any number of GET /next may wait at the same time
(AWS_LAMBDA_MAX_CONCURRENCY). It notes, on time.perf_counter_ns:

  next_calls    the arrival of each GET /next
  handed[id]    when the event of request `id` was handed out (its answer written)
  posted[id]    (arrival of its POST .../response or .../error, "response" or "error", body)
  init_error    the body of a POST /init/error, if one came

and until(condition, timeout) waits until a condition on those holds. Arrival is when the
request's last byte came: the server is scripts/upstream_stub.py's HTTP/1.1 server. Standard
library only; the caller picks the event loop (uvloop when installed).
"""

from __future__ import annotations

import asyncio
import collections
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from upstream_stub import HttpServerProtocol, http_response  # noqa: E402

RUNTIME = "/2018-06-01/runtime"
NEXT = f"{RUNTIME}/invocation/next"
INVOCATION = f"{RUNTIME}/invocation/"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:lambda-async-api"
TRACE_ID = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
ACCEPTED = b'{"status":"OK"}'


class RuntimeApi:
    """The Runtime API of one function process: its events, and when things happened."""

    def __init__(self, request_ids: str = "req", deadline_s: int = 60):
        self.request_ids = request_ids  # request ids are f"{request_ids}-{n}", n from 1
        self.deadline_ms = deadline_s * 1000  # each event's deadline, from its hand-out
        self.count = 0
        self.queue = collections.deque()  # (request id, event) no GET /next has taken yet
        self.waiting = collections.deque()  # a future per GET /next that found no event
        self.next_calls: list[int] = []
        self.handed: dict[str, int] = {}
        self.posted: dict[str, tuple[int, str, bytes]] = {}
        self.init_error: str | None = None
        self.watchers: list[tuple] = []  # (condition, future) of until()
        self.server = None
        self.addr = None

    async def start(self, backlog: int) -> str:
        """Listens on a free port of 127.0.0.1; returns AWS_LAMBDA_RUNTIME_API's value."""
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            lambda: HttpServerProtocol(self.handler), "127.0.0.1", 0, backlog=backlog
        )
        self.addr = "127.0.0.1:%d" % self.server.sockets[0].getsockname()[1]
        return self.addr

    def close(self):
        """Stops listening; a GET /next still waiting gets no answer."""
        while self.waiting:
            self.waiting.popleft().cancel()
        if self.server is not None:
            self.server.close()
            self.server = None

    def invoke(self, event: bytes) -> str:
        """Queues `event` for the function (or hands it to a waiting GET /next); its id."""
        self.count += 1
        request_id = f"{self.request_ids}-{self.count}"
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():  # done: cancelled, its connection went away
                waiter.set_result((request_id, event))
                return request_id
        self.queue.append((request_id, event))
        return request_id

    def answered_all(self) -> bool:
        """Whether every event invoke() was given has had its response (or error)."""
        return len(self.posted) >= self.count

    async def until(self, condition, timeout: float) -> None:
        """Returns once condition() holds, else raises asyncio.TimeoutError after `timeout`
        seconds. condition() is checked in the server after each request (keep it cheap)."""
        if condition():
            return
        watcher = (condition, asyncio.get_running_loop().create_future())
        self.watchers.append(watcher)
        try:
            await asyncio.wait_for(watcher[1], timeout)
        finally:
            self.watchers.remove(watcher)

    def handler(self, method, path, body, arrived):
        if method == "GET" and path == NEXT:
            self.next_calls.append(arrived)
            self._changed()
            if self.queue:
                return self._hand_out(*self.queue.popleft())
            # Registered now, not when the coroutine first runs, so that an invoke() in
            # between finds it.
            waiter = asyncio.get_running_loop().create_future()
            self.waiting.append(waiter)
            return self._hand_out_later(waiter)
        if method == "POST" and path.startswith(INVOCATION):
            request_id, _, kind = path[len(INVOCATION) :].partition("/")
            self.posted[request_id] = (arrived, kind, body)
            self._changed()
            return http_response(202, ACCEPTED)
        if method == "POST" and path == f"{RUNTIME}/init/error":
            self.init_error = body.decode("utf-8", "replace")
            self._changed()
            return http_response(202, ACCEPTED)
        return http_response(404, b"{}", reason="Not Found")

    async def _hand_out_later(self, waiter):
        return self._hand_out(*await waiter)

    def _hand_out(self, request_id: str, event: bytes) -> bytes:
        headers = {
            "content-type": "application/json",
            "lambda-runtime-aws-request-id": request_id,
            "lambda-runtime-deadline-ms": str(int(time.time() * 1000) + self.deadline_ms),
            "lambda-runtime-invoked-function-arn": ARN,
            "lambda-runtime-trace-id": TRACE_ID,
        }
        response = http_response(200, event, headers)
        self.handed[request_id] = time.perf_counter_ns()
        return response

    def _changed(self):
        for condition, future in self.watchers:
            if not future.done() and condition():
                future.set_result(None)


def status_code(body: bytes) -> int | None:
    """The statusCode of a function's response (an API Gateway proxy result), if any."""
    try:
        return json.loads(body).get("statusCode")
    except (ValueError, AttributeError):
        return None
