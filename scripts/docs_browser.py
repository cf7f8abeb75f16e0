#!/usr/bin/env python3
"""/docs and /redoc in headless Chromium (Playwright), locally and under the RIE on stage prod.

Run by scripts/docs-browser, which installs Chromium, Playwright and the pinned Swagger UI and
ReDoc bundles and passes their paths. Everything runs on 127.0.0.1: the bundles (served from
--assets by this script), the upstream stub, the local server, and the function under AWS's
Runtime Interface Emulator behind a small API Gateway stand-in (HTTP API v2 events, stage
`prod`, one invocation at a time). Prints one line per check, then
`docs-browser: N passed, M failed`; exits non-zero on any failure; stops all it started.
"""

from __future__ import annotations

import argparse
import base64
import copy
import functools
import http.server
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import ClassVar

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
EVENT_TEMPLATE = ROOT / "events/http-v2-stage-mixed-trailing-slash.json"
STAGE = "prod"
OPERATIONS = {("GET", "/call-external-api"), ("GET", "/calculate/{number}"), ("GET", "/mixed")}
OPERATION_IDS = {"get_external_data", "calculate_stuff", "read_mixed"}
SEVEN = {"number": 7, "result": 43160950}
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 20_000
CALCULATE_LOG = 'route="/calculate/{number}"'


class Output:
    """A child's output lines, collected by a thread, waited on without polling sleeps."""

    def __init__(self, stream):
        self.lines: list[str] = []
        self.changed = threading.Condition()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream):
        for line in stream:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()
        with self.changed:
            self.lines.append(None)  # end of output
            self.changed.notify_all()

    def wait_for(self, predicate, timeout: float, what: str) -> list[str]:
        deadline = time.monotonic() + timeout
        with self.changed:
            while not predicate([line for line in self.lines if line is not None]):
                left = deadline - time.monotonic()
                if left <= 0 or (self.lines and self.lines[-1] is None):
                    raise AssertionError(f"{what}; output so far:\n{self.text()}")
                self.changed.wait(left)
            return [line for line in self.lines if line is not None]

    def count(self, needle: str) -> int:
        with self.changed:
            return sum(1 for line in self.lines if line is not None and needle in line)

    def text(self) -> str:
        return "\n".join(line for line in self.lines if line is not None)


class Processes:
    def __init__(self):
        self.procs: list[subprocess.Popen] = []

    def start(self, command, **kwargs) -> tuple[subprocess.Popen, Output]:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            **kwargs,
        )
        self.procs.append(proc)
        return proc, Output(proc.stdout)

    def stop(self):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening(output: Output, what: str) -> str:
    """What follows "listening on " in the first line that has it (a port, or a base URL)."""
    needle = "listening on "
    lines = output.wait_for(lambda lines: any(needle in l for l in lines), 20, f"{what} starts")
    return next(l for l in lines if needle in l).split(needle, 1)[1].split()[0]


def wait_for_port(port: int, proc: subprocess.Popen, output: Output, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode}:\n{output.text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port} after {timeout} s:\n{output.text()}")


def serve(handler_class) -> http.server.ThreadingHTTPServer:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class ApiGatewayStandIn(http.server.BaseHTTPRequestHandler):
    """HTTP → an HTTP API v2 event on stage `prod` → the RIE → the response document → HTTP.

    One invocation at a time (the RIE's classic mode crashes on parallel invokes, and a browser
    loads in parallel). Paths outside the stage get API Gateway's own 404, as there.
    """

    server_version = "api-gateway-stand-in"
    sys_version = ""
    invoke_url = ""
    template: ClassVar[dict] = {}  # events/http-v2-stage-mixed-trailing-slash.json
    lock = threading.Lock()
    received: ClassVar[list[str]] = []  # every path as the browser sent it
    events: ClassVar[list[dict]] = []  # every event sent to the function

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.relay()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    def relay(self):
        self.received.append(self.path)
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        if path != f"/{STAGE}" and not path.startswith(f"/{STAGE}/"):
            self.answer(404, {"content-type": "application/json"}, b'{"message":"Not Found"}')
            return
        event = self.event(path, query, body)
        with self.lock:
            self.events.append(event)
            request = urllib.request.Request(
                self.invoke_url, data=json.dumps(event).encode(), method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    document = json.load(response)
            except (urllib.error.URLError, OSError, ValueError) as e:
                self.answer(502, {"content-type": "text/plain"}, f"RIE: {e}".encode())
                return
        if "statusCode" not in document:
            self.answer(502, {"content-type": "application/json"}, json.dumps(document).encode())
            return
        headers = [(k, v) for k, v in (document.get("headers") or {}).items()]
        for name, values in (document.get("multiValueHeaders") or {}).items():
            headers += [(name, value) for value in values]
        headers += [("set-cookie", cookie) for cookie in document.get("cookies") or []]
        payload = document.get("body") or ""
        payload = base64.b64decode(payload) if document.get("isBase64Encoded") else payload.encode()
        self.answer(document["statusCode"], headers, payload)

    def event(self, path: str, query: str, body: bytes) -> dict:
        event = copy.deepcopy(self.template)
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            name = name.lower()
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        cookies = headers.pop("cookie", None)
        headers.update({"x-forwarded-for": "127.0.0.1", "x-forwarded-proto": "http"})
        headers["x-forwarded-port"] = str(self.server.server_address[1])
        event["rawPath"] = path
        event["rawQueryString"] = query
        event["headers"] = headers
        parameters = urllib.parse.parse_qs(query, keep_blank_values=True)
        if parameters:
            event["queryStringParameters"] = {k: ",".join(v) for k, v in parameters.items()}
        else:
            event.pop("queryStringParameters", None)
        if cookies:
            event["cookies"] = [c.strip() for c in cookies.split(";")]
        context = event["requestContext"]
        context["stage"] = STAGE
        context["domainName"] = headers.get("host", "127.0.0.1")
        context["http"].update(
            method=self.command,
            path=urllib.parse.unquote(path),
            sourceIp="127.0.0.1",
            userAgent=headers.get("user-agent", ""),
        )
        context["requestId"] = str(uuid.uuid4())
        context["timeEpoch"] = int(time.time() * 1000)
        context["time"] = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime())
        event["body"] = base64.b64encode(body).decode() if body else None
        event["isBase64Encoded"] = bool(body)
        return event

    def answer(self, status: int, headers, payload: bytes):
        self.send_response(status)
        items = headers.items() if isinstance(headers, dict) else headers
        for name, value in items:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def run(self, name: str, check, needs: bool = True) -> bool:
        """Runs `check`; one that `needs` an earlier check that failed fails unrun."""
        try:
            if not needs:
                raise AssertionError("not run: the check it builds on failed")
            detail = check()
        except (AssertionError, PlaywrightError, RuntimeError, OSError, ValueError) as e:
            self.failed += 1
            message = str(e).strip() or traceback.format_exc()
            print(f"FAIL {name}\n     {message.replace(chr(10), chr(10) + '     ')}", flush=True)
            return False
        self.passed += 1
        print(f"ok   {name}" + (f" ({detail})" if detail else ""), flush=True)
        return True


def path_of(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


class Browser:
    """One Chromium profile; every request any page makes is recorded. A request to a host
    other than 127.0.0.1 that leaves the browser is aborted (so such a page fails fast) and
    fails the check; one that the page's own Content-Security-Policy blocks never leaves it."""

    def __init__(self, playwright, chromium: str, profile: str):
        self.requests: list[str] = []
        self.failures: dict[str, str] = {}
        self.aborted: list[str] = []
        self.page_errors: list[str] = []
        self.context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        self.context.set_default_timeout(WAIT_MS)
        self.context.on("request", lambda request: self.requests.append(request.url))
        self.context.on(
            "requestfailed",
            lambda request: self.failures.setdefault(request.url, request.failure or ""),
        )
        self.context.route(lambda url: not self.local(url), self.abort)

    @staticmethod
    def local(url: str) -> bool:
        parts = urllib.parse.urlsplit(url)
        return parts.scheme in ("data", "blob", "about") or parts.hostname == "127.0.0.1"

    def abort(self, route):
        self.aborted.append(f"{route.request.url} (from {route.request.frame.url})")
        route.abort()

    def page(self):
        page = self.context.new_page()
        page.on("pageerror", lambda error: self.page_errors.append(f"{page.url}: {error}"))
        return page

    def requested(self, prefix: str) -> list[str]:
        return [path_of(url) for url in self.requests if url.startswith(prefix)]


def swagger_operations(page) -> set[tuple[str, str]]:
    blocks = page.locator(".opblock")
    expect(blocks).to_have_count(3)
    found = set()
    for i in range(blocks.count()):
        block = blocks.nth(i)
        method = block.locator(".opblock-summary-method").inner_text().strip().upper()
        path = block.locator(".opblock-summary-path").get_attribute("data-path")
        found.add((method, path))
    return found


def calculate_block(page):
    block = page.locator(".opblock").filter(
        has=page.locator('.opblock-summary-path[data-path="/calculate/{number}"]')
    )
    expect(block).to_have_count(1)
    if not block.locator(".opblock-body").count():
        block.locator(".opblock-summary").click()
    expect(block.locator(".opblock-body")).to_be_visible()
    return block


def try_it_out(block):
    button = block.locator("button.try-out__btn")
    if button.inner_text().strip() == "Try it out":
        button.click()
    expect(button).to_have_text("Cancel")


def enter_number(block, value: str):
    field = block.locator('tr[data-param-name="number"] input')
    field.fill(value)
    field.press("Enter")  # Swagger UI's input is debounced; Enter commits it at once
    expect(field).to_have_value(value)


def execute_and_read(block) -> tuple[str, object, str]:
    block.locator("button.execute").click()
    live = block.locator(".live-responses-table")
    status = live.locator("tbody .response .response-col_status")
    expect(status).to_be_visible()
    body = live.locator(".response-col_description pre").first.inner_text()
    url = block.locator(".request-url pre").inner_text().strip()
    return status.inner_text().strip(), json.loads(body), url


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--rie", required=True)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--assets", required=True, help="the DOCS_ASSET_URL layout to serve")
    parser.add_argument("--out", default="target/docs-browser", help="screenshots go here")
    args = parser.parse_args()
    binary = str(Path(args.binary).resolve())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    # A TERM (scripts/docs-browser's timeout) unwinds through the finally blocks below.
    def stopped(*_):
        print("docs-browser: stopped by SIGTERM (time limit?), cleaning up", file=sys.stderr)
        sys.exit(143)

    signal.signal(signal.SIGTERM, stopped)

    checks = Checks()
    procs = Processes()
    servers: list[http.server.ThreadingHTTPServer] = []
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="docs-browser-") as tmp:
            assets = serve(functools.partial(QuietHandler, directory=args.assets))
            servers.append(assets)
            asset_url = f"http://127.0.0.1:{assets.server_address[1]}"

            _, stub_log = procs.start([sys.executable, str(ROOT / "scripts/upstream_stub.py")])
            stub_url = f"http://127.0.0.1:{listening(stub_log, 'the stub')}/todos/1"

            env = {
                k: v
                for k, v in os.environ.items()
                if not k.startswith("AWS_") and k not in ("DOCS", "HOST", "PORT", "RUST_LOG")
            }
            env.update(
                EXTERNAL_API_URL=stub_url,
                DOCS_ASSET_URL=asset_url,
                RUST_LOG="info",
                NO_COLOR="1",
            )

            # The local server.
            _, server_log = procs.start([binary], env=dict(env, HOST="127.0.0.1", PORT="0"))
            base = listening(server_log, "the local server")

            # The function under the RIE (classic mode: one invocation at a time), behind the
            # API Gateway stand-in.
            rie_port, runtime_port = free_port(), free_port()
            rie, rie_log = procs.start(
                [
                    "timeout",
                    "--signal=TERM",
                    "280",
                    args.rie,
                    "--runtime-interface-emulator-address",
                    f"127.0.0.1:{rie_port}",
                    "--runtime-api-address",
                    f"127.0.0.1:{runtime_port}",
                    binary,
                ],
                env=dict(env, AWS_REGION="us-east-1", AWS_LAMBDA_FUNCTION_NAME="lambda-async-api"),
            )
            wait_for_port(rie_port, rie, rie_log)
            ApiGatewayStandIn.invoke_url = (
                f"http://127.0.0.1:{rie_port}/2015-03-31/functions/function/invocations"
            )
            ApiGatewayStandIn.template = json.loads(EVENT_TEMPLATE.read_text())
            gateway = serve(ApiGatewayStandIn)
            servers.append(gateway)
            gateway_url = f"http://127.0.0.1:{gateway.server_address[1]}"

            with sync_playwright() as playwright:
                browser = Browser(playwright, args.chromium, str(Path(tmp) / "profile"))
                try:
                    run_checks(checks, browser, base, server_log, gateway_url, rie_log, out)
                finally:
                    browser.context.close()
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
        procs.stop()
    print(f"docs-browser: took {time.monotonic() - started:.1f} s; screenshots in {out}/")
    print(f"docs-browser: {checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


def run_checks(checks, browser, base, server_log, gateway_url, rie_log, out):
    # --- Swagger UI on the local server.
    docs = browser.page()

    def swagger_renders():
        docs.goto(f"{base}/docs")
        found = swagger_operations(docs)
        assert found == OPERATIONS, f"operations shown: {sorted(found)}"
        assert "/openapi.json" in browser.requested(base), browser.requested(base)
        return "GET /call-external-api, GET /calculate/{number}, GET /mixed"

    rendered = checks.run("/docs: Swagger UI renders the three operations", swagger_renders)

    def swagger_422():
        block = calculate_block(docs)
        row = block.locator('.responses-table tr.response[data-code="422"]')
        expect(row).to_be_visible()
        expect(row.locator(".response-col_description")).to_contain_text("Validation Error")
        row.locator('button.tablinks[data-name="model"]').click()
        expect(row.locator(".model-box")).to_contain_text("HTTPValidationError")
        return "422 Validation Error, schema HTTPValidationError"

    checks.run(
        "/docs: the 422 schema is listed under GET /calculate/{number}'s Responses", swagger_422
    )

    seven = {}  # what Execute with 7 showed, read by swagger_seven

    def swagger_rejects_abc():
        block = calculate_block(docs)
        try_it_out(block)
        sent_before = browser.requested(f"{base}/calculate/")
        logged_before = server_log.count(CALCULATE_LOG)
        enter_number(block, "abc")
        block.locator("button.execute").click()
        field = block.locator('tr[data-param-name="number"] input')
        expect(field).to_have_class(re.compile(r"\binvalid\b"))
        expect(field).to_have_attribute("title", re.compile("Value must be an integer"))
        # The barrier: 7 next. Had `abc` been sent, it would have been sent (and logged by the
        # server) before 7 was even typed; the counters are read once 7 is through.
        enter_number(block, "7")
        status, body, url = execute_and_read(block)
        server_log.wait_for(
            lambda lines: sum(CALCULATE_LOG in l for l in lines) > logged_before,
            10,
            "the server logs the /calculate/7 request",
        )
        sent = browser.requested(f"{base}/calculate/")[len(sent_before) :]
        logged = server_log.count(CALCULATE_LOG) - logged_before
        assert sent == ["/calculate/7"], f"the browser sent {sent}"
        assert logged == 1, f"the server logged {logged} /calculate requests, not 1"
        seven.update(status=status, body=body, url=url)
        return "title 'Value must be an integer', 0 requests for abc (browser and server log)"

    rejected = checks.run(
        "/docs: Try it out with abc shows Swagger UI's 'Value must be an integer', sends nothing",
        swagger_rejects_abc,
        rendered,
    )

    def swagger_seven():
        status, body, url = seven["status"], seven["body"], seven["url"]
        assert status == "200", f"status {status}"
        assert body == SEVEN, f"body {body}"
        assert url == f"{base}/calculate/7", f"request URL {url}"
        page_text = normalise(docs.locator(".live-responses-table").inner_text())
        assert normalise(json.dumps(SEVEN, indent=2)) in page_text, page_text
        return f"200 {json.dumps(body, separators=(',', ':'))}"

    checks.run(
        "/docs: Try it out with 7, Execute: 200 and the function's answer", swagger_seven, rejected
    )
    docs.screenshot(path=str(out / "docs-local.png"), full_page=True)

    # --- ReDoc on the local server.
    redoc = browser.page()

    def redoc_renders():
        redoc.goto(f"{base}/redoc")
        sections = redoc.locator('[data-section-id^="operation/"]')
        expect(sections).to_have_count(3)
        ids = {
            sections.nth(i).get_attribute("data-section-id").removeprefix("operation/")
            for i in range(3)
        }
        assert ids == OPERATION_IDS, f"operations: {sorted(ids)}"
        for method, path in OPERATIONS:
            expect(redoc.locator("body")).to_contain_text(path)
        return ", ".join(sorted(ids))

    checks.run("/redoc: ReDoc renders the three operations", redoc_renders)

    def redoc_422():
        section = redoc.locator('[data-section-id="operation/calculate_stuff"]')
        button = section.get_by_role("button").filter(
            has_text=re.compile(r"422\s*Validation Error")
        )
        expect(button).to_have_count(1)
        button.click()
        expect(button).to_have_attribute("aria-expanded", "true")
        schema = button.locator("xpath=following-sibling::*[1]")  # the expanded response
        expect(schema).to_contain_text("detail")
        expect(schema).to_contain_text("Array of objects (ValidationError)")
        return "422 Validation Error, expanded: detail, Array of objects (ValidationError)"

    checks.run("/redoc: the 422 response and its schema", redoc_422)
    redoc.screenshot(path=str(out / "redoc-local.png"), full_page=True)

    # --- Swagger UI through the Lambda transport, stage prod.
    prod = browser.page()
    received = ApiGatewayStandIn.received

    def prod_renders():
        prod.goto(f"{gateway_url}/{STAGE}/docs")
        found = swagger_operations(prod)
        assert found == OPERATIONS, f"operations shown: {sorted(found)}"
        requested = browser.requested(gateway_url)
        assert f"/{STAGE}/openapi.json" in requested, f"the page requested {requested}"
        assert f"/{STAGE}/openapi.json" in received, f"the stand-in received {received}"
        return f"the page fetched /{STAGE}/openapi.json"

    prod_ok = checks.run(
        f"/{STAGE}/docs under the RIE: renders, from /{STAGE}/openapi.json", prod_renders
    )

    def prod_seven():
        block = calculate_block(prod)
        try_it_out(block)
        received_before = len(received)
        logged_before = rie_log.count(CALCULATE_LOG)
        enter_number(block, "7")
        status, body, url = execute_and_read(block)
        assert status == "200", f"status {status}"
        assert body == SEVEN, f"body {body}"
        assert url == f"{gateway_url}/{STAGE}/calculate/7", f"request URL {url}"
        new = received[received_before:]
        assert new == [f"/{STAGE}/calculate/7"], f"the stand-in received {new}"
        event = ApiGatewayStandIn.events[-1]
        assert event["rawPath"] == f"/{STAGE}/calculate/7", event["rawPath"]
        assert event["requestContext"]["stage"] == STAGE
        rie_log.wait_for(
            lambda lines: (
                sum(CALCULATE_LOG in l and "status=200" in l for l in lines) > logged_before
            ),
            10,
            "the function logs GET /calculate/{number} 200",
        )
        return f"/{STAGE}/calculate/7, stage {STAGE}: the function's /calculate/{{number}}, 200"

    checks.run(f"/{STAGE}/docs: Try it out with 7 reaches the function, 200", prod_seven, prod_ok)
    prod.screenshot(path=str(out / "docs-prod.png"), full_page=True)

    def only_local():
        foreign = [url for url in browser.requests if not browser.local(url)]
        left = [url for url in foreign if browser.failures.get(url) != "csp"]
        assert not left, f"requests to other hosts: {sorted(set(browser.aborted or left))}"
        hosts = sorted({urllib.parse.urlsplit(url).netloc for url in browser.requests} - {""})
        blocked = f", {len(foreign)} blocked by the page's CSP" if foreign else ""
        return f"{len(browser.requests)} requests, to {', '.join(hosts)}{blocked}"

    checks.run("the pages load nothing from any host but 127.0.0.1", only_local)

    def no_page_errors():
        assert not browser.page_errors, "\n".join(browser.page_errors)

    checks.run("no uncaught JavaScript error on any page", no_page_errors)


if __name__ == "__main__":
    sys.exit(main())
