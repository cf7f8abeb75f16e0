"""The processes the Python tools start, in one place: start, wait, stop.

Used by scripts/soak.py, the browser tests (tests/browser/), bench/run.py, bench/stubs.py,
bench/isolation.py and bench/lambda_sizes.py (bench/ and tests/ put scripts/ on sys.path).
Why one module: every tool needs the same few things done right, and each had its own copy:

  - `Proc`: one process, started with posix_spawn (no fork of a big Python, and the spawn
    time stamp taken right before it), optionally pinned to a CPU or a set of CPUs (the
    parent's mask is set around the spawn, so the child starts pinned), its stdout and stderr
    appended to a log file (never a pipe: a pipe nobody drains blocks the child), extra file
    descriptors handed down by number, its pid appended to $BENCH_PIDFILE when set (so that
    bench/run.sh can stop what a killed run left). `stop()` sends SIGTERM, waits, then
    SIGKILL; `kill()` is SIGKILL at once.
  - `stop_all()`: every live Proc stopped; run at exit (registered on import) and, after
    `stop_on_signals()`, on SIGTERM too (it becomes a KeyboardInterrupt, which unwinds
    `finally` blocks and fixtures before the exit handler runs).
  - `Log`: a process's log file read as lines, waited on for a line (`wait_for`).
  - `free_port()`, `http_get()`, `wait_listening()` (a port accepts), `wait_first_good()`
    (the first 200 on a path, timed from the spawn), `upstream_stub()` (scripts/upstream_stub.py
    started and its ports read).

Loopback only. Standard library only.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Log:
    """A log file, read whole each time (the tools' logs are small)."""

    def __init__(self, path: str):
        self.path = path

    def text(self) -> str:
        try:
            with open(self.path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def lines(self) -> list[str]:
        return self.text().splitlines()

    def count(self, needle: str) -> int:
        return sum(needle in line for line in self.lines())

    def wait_for(self, predicate, timeout: float, what: str, proc: Proc | None = None) -> list[str]:
        """The lines once `predicate(lines)` holds; AssertionError (with the log) when it does
        not within `timeout` s, or when `proc` exits first."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.lines()
            if predicate(lines):
                return lines
            if time.monotonic() >= deadline or (proc is not None and proc.poll() is not None):
                raise AssertionError(f"{what}: not within {timeout} s; {self.path}:\n{self.text()[-4000:]}")
            time.sleep(0.02)


class Proc:
    """One process started by posix_spawn; see the module's doc."""

    live: list[Proc] = []
    pidfile: str | None = os.environ.get("BENCH_PIDFILE")

    def __init__(self, argv, env=None, log_path=None, cpu=None, *, stderr=True, truncate=False, fds=None,
                 register=True):
        """`argv[0]` is looked up on PATH unless it has a slash; `env` defaults to this
        process's; `log_path` (default /dev/null) gets stdout, and stderr unless `stderr` is
        False (then inherited), appended to unless `truncate`; `cpu` is a CPU number or a set
        of them; `fds` maps a child's descriptor number to one of ours to hand down (closed in
        the child under its own number). `register=False` keeps the pid out of $BENCH_PIDFILE:
        for the many short runs a caller always stops itself, whose pids would only come back
        as other processes' (pid_max can be 32768) when bench/run.sh stops what is listed."""
        self.argv = list(argv)
        if os.sep not in self.argv[0]:
            found = shutil.which(self.argv[0])
            if found is None:
                raise FileNotFoundError(f"{self.argv[0]} is not on PATH")
            self.argv[0] = found
        self.log_path = log_path or os.devnull
        flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if truncate else os.O_APPEND)
        out = os.open(self.log_path, flags, 0o644)
        actions = [(os.POSIX_SPAWN_DUP2, out, 1)]
        if stderr:
            actions.append((os.POSIX_SPAWN_DUP2, out, 2))
        for number, fd in (fds or {}).items():
            actions.append((os.POSIX_SPAWN_DUP2, fd, number))
        actions.append((os.POSIX_SPAWN_CLOSE, out))
        actions += [(os.POSIX_SPAWN_CLOSE, fd) for fd in (fds or {}).values() if fd not in (fds or {})]
        before = os.sched_getaffinity(0)
        try:
            if cpu is not None:
                os.sched_setaffinity(0, {cpu} if isinstance(cpu, int) else set(cpu))
            self.started_ns = time.perf_counter_ns()
            self.pid = os.posix_spawn(
                self.argv[0], self.argv, dict(os.environ) if env is None else env, file_actions=actions
            )
        finally:
            if cpu is not None:
                os.sched_setaffinity(0, before)
            os.close(out)
        self.returncode = None
        Proc.live.append(self)
        if register and Proc.pidfile:
            with open(Proc.pidfile, "a") as f:
                f.write(f"{self.pid}\n")

    @property
    def log(self) -> Log:
        return Log(self.log_path)

    def poll(self):
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere
                self.returncode = -1
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def stop(self, timeout=5.0):
        """SIGTERM, up to `timeout` s to exit, then SIGKILL."""
        if self.poll() is None:
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + timeout
            while self.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            if self.poll() is None:
                self.kill()
        if self in Proc.live:
            Proc.live.remove(self)

    def kill(self):
        """SIGKILL at once, and reaped."""
        if self.poll() is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
            self.returncode = -9
        if self in Proc.live:
            Proc.live.remove(self)

    def wait_for_line(self, needle: str, timeout: float = 30) -> str:
        """What follows `needle` in the first log line that has it, stripped."""
        lines = self.log.wait_for(lambda ls: any(needle in ln for ln in ls), timeout,
                                  f"{os.path.basename(self.argv[0])} prints {needle!r}", self)
        return next(ln for ln in lines if needle in ln).split(needle, 1)[1].strip()

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


def stop_all(timeout=2.0):
    """Every live Proc stopped, the last started first."""
    for proc in reversed(list(Proc.live)):
        try:
            proc.stop(timeout=timeout)
        except Exception as e:  # noqa: BLE001  (the others must still be stopped)
            print(f"harness: could not stop pid {proc.pid}: {e}", file=sys.stderr, flush=True)


atexit.register(stop_all)


def _interrupt(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def stop_on_signals(*signums):
    """SIGTERM (or `signums`) raises KeyboardInterrupt: `finally` blocks run, then stop_all."""
    for signum in signums or (signal.SIGTERM,):
        signal.signal(signum, _interrupt)


# --- waiting -----------------------------------------------------------------------------


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


def wait_listening(port: int, proc: Proc, timeout: float = 20) -> None:
    """Until 127.0.0.1:`port` accepts a connection; RuntimeError (with the log) when `proc`
    exits first or nothing listens within `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.argv[0]} exited ({proc.returncode}):\n{proc.log.text()[-4000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port} after {timeout} s:\n{proc.log.text()[-4000:]}")


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


def upstream_stub(log_path: str, cert=None, key=None, cpu=None, python=None, env=None) -> tuple[Proc, dict]:
    """scripts/upstream_stub.py started (HTTPS too with `cert` and `key`); it and its ports,
    {"http": P} or {"http": P, "https": Q}, read from its "listening on" line."""
    argv = [python or sys.executable, os.path.join(ROOT, "scripts", "upstream_stub.py")]
    if cert:
        argv += ["--cert", cert, "--key", key]
    stub = Proc(argv, env, log_path, cpu, truncate=True)  # a line from an earlier run is not its
    words = stub.wait_for_line("listening on ", timeout=10).split()
    ports = {"http": int(words[0])}
    if len(words) == 3 and words[1] == "https":
        ports["https"] = int(words[2])
    elif cert or len(words) != 1:
        raise RuntimeError(f"upstream stub: unexpected first line {words}, see {log_path}")
    return stub, ports
