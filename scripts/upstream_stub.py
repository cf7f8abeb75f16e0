#!/usr/bin/env python3
"""A stand-in for the external API on 127.0.0.1 (or --host), for scripts (schemathesis, soak, benchmarks).

The path picks the behaviour, as in tests/support/upstream.rs:
  /todos/1        200, jsonplaceholder's document
  /status/N       status N, small JSON body
  /bad-json       200, not JSON
  /reset          connection reset instead of an answer
  /hang           no answer (until the client gives up)
  /delay/MS       200 after MS milliseconds
  /cycle          each request the next of: ok, 500, bad JSON, reset, slow (300 ms), hang

Prints "listening on PORT" once ready. Standard library only; stops on SIGTERM/SIGINT.
"""

import argparse
import asyncio
import itertools
import json
import signal
import socket
import struct

TODO = json.dumps(
    {"userId": 1, "id": 1, "title": "delectus aut autem", "completed": False}, indent=2
).encode()
CYCLE = itertools.cycle(["ok", "500", "bad-json", "reset", "slow", "hang"])


def response(status: int, body: bytes, content_type: str = "application/json") -> bytes:
    head = (
        f"HTTP/1.1 {status} Stub\r\ncontent-type: {content_type}\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


async def behave(kind: str, writer: asyncio.StreamWriter) -> None:
    parts = kind.strip("/").split("/")
    if parts == ["cycle"]:
        parts = [next(CYCLE)]
    if parts[0] in ("todos", "ok"):
        writer.write(response(200, TODO))
    elif parts[0] == "500":
        writer.write(response(500, b'{"error":"stub"}'))
    elif parts[0] == "status" and len(parts) > 1 and parts[1].isdigit():
        writer.write(response(int(parts[1]), b'{"error":"stub"}'))
    elif parts[0] == "bad-json":
        writer.write(response(200, b"<html>not json</html>", "text/html"))
    elif parts[0] == "reset":
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()
        return
    elif parts[0] == "hang":
        await asyncio.sleep(3600)
    elif parts[0] == "slow":
        await asyncio.sleep(0.3)
        writer.write(response(200, TODO))
    elif parts[0] == "delay" and len(parts) > 1 and parts[1].isdigit():
        await asyncio.sleep(int(parts[1]) / 1000)
        writer.write(response(200, TODO))
    else:
        writer.write(response(404, b'{"error":"no such stub path"}'))
    await writer.drain()
    writer.close()


async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        target = head.split(b"\r\n", 1)[0].split(b" ")[1].decode("latin-1")
        await behave(target.split("?", 1)[0], writer)
    except (asyncio.IncompleteReadError, ConnectionError, IndexError, asyncio.LimitOverrunError):
        writer.close()
    except asyncio.CancelledError:  # shutting down with requests still hanging
        writer.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    # scripts/sam-local binds it to the docker bridge's gateway, the host as its containers see it.
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    server = await asyncio.start_server(serve, args.host, args.port, backlog=1024)
    print(f"listening on {server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
