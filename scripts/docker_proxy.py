#!/usr/bin/env python3
"""dockerd's userland proxy for scripts/sam-local (dockerd --userland-proxy-path), which
publishes a container's TCP port only once the container listens on it. Standard library only.

Why: without iptables (scripts/sam-local never touches the firewall) every published port goes
through this proxy. Docker's own docker-proxy accepts connections as soon as the container
starts; SAM takes a port that accepts as the Runtime Interface Emulator being up and sends the
event at once. Under qemu the arm64 RIE is not listening yet, the proxy resets the connection,
and `sam local invoke` reports "No response from invoke container" (about one arm64 invoke in
two here). This proxy binds the host port at once (so the port is taken, and dockerd is told it
is ready) but listens only after a connection to the container succeeds, so SAM's wait for the
port is a wait for the RIE. UDP is left to Docker's docker-proxy.

Arguments as dockerd passes them: -proto tcp -host-ip IP -host-port N -container-ip IP
-container-port N. Readiness is written to file descriptor 3 ("0\\n", or "1\\n" and the error).
"""

import asyncio
import os
import signal
import socket
import sys
import time

DOCKER_PROXY = "/usr/sbin/docker-proxy"


def args() -> dict:
    out, argv = {}, sys.argv[1:]
    for name, value in zip(argv[::2], argv[1::2]):
        out[name.lstrip("-")] = value
    return out


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:
        pass


async def serve(sock: socket.socket, backend: tuple) -> None:
    async def handle(cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        try:
            br, bw = await asyncio.open_connection(*backend)
        except OSError:
            cw.close()
            return
        await asyncio.gather(pipe(cr, bw), pipe(br, cw))
        bw.close()
        cw.close()

    server = await asyncio.start_server(handle, sock=sock, backlog=128)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main() -> None:
    a = args()
    if a.get("proto") != "tcp":
        os.execv(DOCKER_PROXY, [DOCKER_PROXY, *sys.argv[1:]])
    host = (a["host-ip"], int(a["host-port"]))
    backend = (a["container-ip"], int(a["container-port"]))
    signal_parent = os.fdopen(3, "w")
    try:
        sock = socket.socket(socket.AF_INET6 if ":" in host[0] else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(host)
    except OSError as e:
        signal_parent.write(f"1\n{e}")
        signal_parent.close()
        sys.exit(1)
    signal_parent.write("0\n")
    signal_parent.close()
    # Bound, not listening: a connection to the host port is refused until the container's
    # own listener accepts one.
    while True:
        try:
            socket.create_connection(backend, timeout=1).close()
            break
        except OSError:
            time.sleep(0.02)
    sock.listen(128)
    sock.setblocking(False)
    asyncio.run(serve(sock, backend))


if __name__ == "__main__":
    main()
