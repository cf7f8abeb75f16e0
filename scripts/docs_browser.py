#!/usr/bin/env python3
"""/docs and /redoc in headless Chromium (Playwright), locally and under the RIE on stage prod.

Run by scripts/docs-browser, which installs Chromium, Playwright and the pinned Swagger UI and
ReDoc bundles and passes their paths. Everything runs on 127.0.0.1, each on a port of its own:
  - the bundles (served from --assets by this script, to any origin: the pages load them with
    `crossorigin="anonymous"` and an SRI hash), and a tampered copy (one byte appended to each
    script) that a second local server's pages load, to show the browser refuses it;
  - two tiny pages on origins of their own: one in CORS_ALLOW_ORIGINS, one not;
  - the upstream stub, the local server;
  - the function under AWS's Runtime Interface Emulator twice, each behind a small API Gateway
    stand-in (HTTP API v2 events, stage `prod`, one invocation at a time): once open, once with
    AUTH_JWT_ISSUER/AUTH_JWT_AUDIENCE, where the stand-in plays API Gateway's JWT authorizer.
Prints one line per check, then `docs-browser: N passed, M failed`; exits non-zero on any
failure; stops all it started.
"""

from __future__ import annotations

import argparse
import base64
import copy
import functools
import hashlib
import http.server
import json
import os
import re
import shutil
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
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
EVENT_TEMPLATE = ROOT / "events/http-v2-stage-mixed-trailing-slash.json"
STAGE = "prod"
# The operations the pages must show: the API's routes as tests/routes.json lists them, which
# tests/it/route_list.rs holds against the route table (not the served document, which would
# be compared with itself).
API_ROUTES = json.loads((ROOT / "tests/routes.json").read_text())["routes"]
OPERATIONS = {(route["method"], route["path"]) for route in API_ROUTES}
OPERATION_IDS = {route["operationId"] for route in API_ROUTES}
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
CALCULATE_ROUTE = "/calculate/{number}"
SWAGGER_UI_JS = "swagger-ui-bundle.js"
SWAGGER_UI_CSS = "swagger-ui.css"
REDOC_JS = "bundles/redoc.standalone.js"
# The function under the RIE with AUTH on: what it reads, and the token Swagger UI is given.
ISSUER = "https://issuer.example"
AUDIENCE = "lambda-async-api"
CALLER = "user-1"
BEARER = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
NOT_AUTHENTICATED = {"detail": "Not authenticated"}
# fetch() from a page on another origin: the answer as the page sees it, or the error thrown.
FETCH_JS = """async (url) => {
  try {
    const response = await fetch(url);
    return {status: response.status, body: await response.text()};
  } catch (error) {
    return {error: error.name, message: error.message};
  }
}"""


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


class Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a tab closed mid-answer
            super().handle_error(request, client_address)


def serve(handler_class) -> http.server.ThreadingHTTPServer:
    server = Server(("127.0.0.1", 0), handler_class)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class AssetHandler(http.server.SimpleHTTPRequestHandler):
    """The bundles, as a CDN serves them: to any origin (the pages' tags carry
    `crossorigin="anonymous"` so that the browser can check their SRI hashes, and a cross-origin
    CORS load needs Access-Control-Allow-Origin). Records what it served, with the status."""

    def end_headers(self):
        self.send_header("Access-Control-Allow-Origin", "*")
        super().end_headers()

    def log_request(self, code="-", size="-"):
        self.server.served.append((self.path, int(code) if str(code).isdigit() else code))

    def log_message(self, *args):
        pass


class OriginPage(http.server.BaseHTTPRequestHandler):
    """A page on an origin of its own, from which the browser calls the API (CORS)."""

    PAGE = b"<!DOCTYPE html><title>another origin</title><p>a page on another origin</p>\n"

    def do_GET(self):
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(self.PAGE)))
        self.end_headers()
        self.wfile.write(self.PAGE)

    def log_message(self, *args):
        pass


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_claims(authorization: str | None) -> dict[str, str] | None:
    """What API Gateway's JWT authorizer puts into the event for `Authorization: Bearer <jwt>`:
    the payload's claims, each value as a string (an array as `[a b]`). No signature, issuer,
    audience or expiry check: a stand-in. None when there is no such header or no JWT in it."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    parts = token.strip().split(".")
    if scheme.lower() != "bearer" or len(parts) != 3:
        return None
    try:
        payload = json.loads(unb64url(parts[1]))
    except ValueError:
        return None
    if not isinstance(payload, dict):
        return None

    def text(value) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, list):
            return "[" + " ".join(text(v) for v in value) + "]"
        return json.dumps(value, separators=(",", ":"))

    return {name: text(value) for name, value in payload.items()}


class ApiGatewayStandIn(http.server.BaseHTTPRequestHandler):
    """HTTP → an HTTP API v2 event on stage `prod` → the RIE → the response document → HTTP.

    One invocation at a time (the RIE's classic mode crashes on parallel invokes, and a browser
    loads in parallel). Paths outside the stage get API Gateway's own 404, as there. The
    request's headers (Origin, Authorization, ...) go into the event, the function's response
    headers back to the client, as API Gateway passes them.

    It also plays API Gateway's JWT authorizer: a request with `Authorization: Bearer <jwt>`
    gets the JWT's claims as `requestContext.authorizer.jwt` (unverified). One without a token,
    or with one that is no JWT, is forwarded without them, so the function's own 401 answers
    it (API Gateway would answer its own `401 {"message":"Unauthorized"}` on routes with the
    authorizer: the function's is what this tests). `stand_in()` makes one per function.
    """

    server_version = "api-gateway-stand-in"
    sys_version = ""
    invoke_url = ""
    template: ClassVar[dict] = {}  # events/http-v2-stage-mixed-trailing-slash.json
    lock = threading.Lock()
    received: ClassVar[list[str]] = []  # every path as the browser sent it
    events: ClassVar[list[dict]] = []  # every event sent to the function
    # every exchange: path, the request's headers, the status and headers sent back
    seen: ClassVar[list[dict]] = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.relay()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    def relay(self):
        self.received.append(self.path)
        self.exchange = {
            "path": self.path,
            "headers": {name.lower(): value for name, value in self.headers.items()},
        }
        self.seen.append(self.exchange)
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
        claims = jwt_claims(headers.get("authorization"))
        if claims is None:
            context.pop("authorizer", None)
        else:
            context["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
        context["requestId"] = str(uuid.uuid4())
        context["timeEpoch"] = int(time.time() * 1000)
        context["time"] = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime())
        event["body"] = base64.b64encode(body).decode() if body else None
        event["isBase64Encoded"] = bool(body)
        return event

    def answer(self, status: int, headers, payload: bytes):
        self.send_response(status)
        items = list(headers.items() if isinstance(headers, dict) else headers)
        sent: dict[str, str] = {}
        for name, value in items:
            name = name.lower()
            sent[name] = f"{sent[name]},{value}" if name in sent else value
        self.exchange.update(status=status, response_headers=sent)
        for name, value in items:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)


def stand_in(invoke_url: str) -> tuple[http.server.ThreadingHTTPServer, type]:
    """An API Gateway stand-in in front of one RIE, with records of its own."""
    handler = type(
        "ApiGatewayStandIn",
        (ApiGatewayStandIn,),
        {
            "invoke_url": invoke_url,
            "template": json.loads(EVENT_TEMPLATE.read_text()),
            "lock": threading.Lock(),
            "received": [],
            "events": [],
            "seen": [],
        },
    )
    return serve(handler), handler


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
        self.expected_errors: list[str] = []  # from the pages whose bundles are tampered
        self.console: list[tuple[bool, str, str]] = []  # (tampered page?, page URL, text)
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

    def page(self, tampered: bool = False):
        """A new tab. On a `tampered` one (its bundles altered), uncaught errors are expected."""
        page = self.context.new_page()
        errors = self.expected_errors if tampered else self.page_errors
        page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
        page.on("console", lambda message: self.console.append((tampered, page.url, message.text)))
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
    clear = block.locator("button.btn-clear")
    if clear.count():  # an earlier answer: gone first, so that the one read is this one's
        clear.click()
        expect(block.locator(".live-responses-table")).to_have_count(0)
    block.locator("button.execute").click()
    live = block.locator(".live-responses-table")
    status = live.locator("tbody .response .response-col_status")
    expect(status).to_be_visible()
    body = live.locator(".response-col_description pre").first.inner_text()
    url = block.locator(".request-url pre").inner_text().strip()
    return status.inner_text().strip(), json.loads(body), url


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def compact(value) -> str:
    return json.dumps(value, separators=(",", ":"))


def sri(path: Path) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(path.read_bytes()).digest()).decode()


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=20) as response:
        return json.load(response)


def json_lines(output: Output) -> list[dict]:
    """The JSON objects among a child's output lines (the RIE's own lines are text)."""
    found = []
    for line in output.text().splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                found.append(json.loads(line))
            except ValueError:
                pass
    return found


def access_lines(output: Output, route: str) -> list[dict]:
    return [
        line
        for line in json_lines(output)
        if line.get("message") == "request" and line.get("route") == route
    ]


@dataclass
class Setup:
    """What the checks run against: the URLs of everything started, and its output."""

    base: str  # the local server
    server_log: Output
    tampered_base: str  # a local server whose DOCS_ASSET_URL serves tampered bundles
    assets: Path  # the pinned files
    tampered_assets: Path
    tampered_asset_url: str
    tampered_served: list  # (path, status) the tampered asset server answered
    swagger_ui_package: str  # swagger-ui-dist@5.35.0
    redoc_package: str  # redoc@2.5.4
    allowed_origin: str  # in CORS_ALLOW_ORIGINS
    other_origin: str  # not in it
    gateway_url: str  # the stand-in in front of the open function
    gateway: type  # its handler class, with its records
    rie_log: Output
    auth_gateway_url: str  # the stand-in in front of the function with AUTH_JWT_*
    auth_gateway: type
    auth_rie_log: Output


def start_rie(procs, rie: str, binary: str, env: dict) -> tuple[subprocess.Popen, Output, str]:
    """The function under the RIE; returns it, its output and its invoke URL."""
    rie_port, runtime_port = free_port(), free_port()
    proc, output = procs.start(
        [
            "timeout",
            "--signal=TERM",
            "280",
            rie,
            "--runtime-interface-emulator-address",
            f"127.0.0.1:{rie_port}",
            "--runtime-api-address",
            f"127.0.0.1:{runtime_port}",
            binary,
        ],
        env=env,
    )
    return proc, output, f"http://127.0.0.1:{rie_port}/2015-03-31/functions/function/invocations"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--rie", required=True)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--assets", required=True, help="the DOCS_ASSET_URL layout to serve")
    parser.add_argument("--swagger-ui-package", required=True, help="swagger-ui-dist@VERSION")
    parser.add_argument("--redoc-package", required=True, help="redoc@VERSION")
    parser.add_argument("--out", default="target/docs-browser", help="screenshots go here")
    args = parser.parse_args()
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
            # A copy: the RIE starts the function at its first invocation, and a build that
            # replaces the binary meanwhile would have the two transports run different code.
            binary = str(Path(tmp) / "lambda-async-api")
            shutil.copy2(args.binary, binary)
            asset_dir = Path(args.assets)
            assets = serve(functools.partial(AssetHandler, directory=str(asset_dir)))
            assets.served = []
            servers.append(assets)
            asset_url = f"http://127.0.0.1:{assets.server_address[1]}"

            # The same layout with each script one byte longer (the stylesheet as pinned).
            tampered_dir = Path(tmp) / "tampered-assets"
            for package, name, alter in [
                (args.swagger_ui_package, SWAGGER_UI_JS, True),
                (args.swagger_ui_package, SWAGGER_UI_CSS, False),
                (args.redoc_package, REDOC_JS, True),
            ]:
                target = tampered_dir / package / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(asset_dir / package / name, target)
                if alter:
                    with target.open("ab") as file:
                        file.write(b"\n")
            tampered = serve(functools.partial(AssetHandler, directory=str(tampered_dir)))
            tampered.served = []
            servers.append(tampered)
            tampered_asset_url = f"http://127.0.0.1:{tampered.server_address[1]}"

            # The pages on other origins; their ports are known before the API starts.
            allowed_page, other_page = serve(OriginPage), serve(OriginPage)
            servers += [allowed_page, other_page]
            allowed_origin = f"http://127.0.0.1:{allowed_page.server_address[1]}"
            other_origin = f"http://127.0.0.1:{other_page.server_address[1]}"

            _, stub_log = procs.start([sys.executable, str(ROOT / "scripts/upstream_stub.py")])
            stub_url = f"http://127.0.0.1:{listening(stub_log, 'the stub')}/todos/1"

            env = {
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("AWS_", "AUTH_", "CORS_"))
                and k not in ("DOCS", "HOST", "PORT", "RUST_LOG")
            }
            env.update(
                EXTERNAL_API_URL=stub_url,
                DOCS_ASSET_URL=asset_url,
                CORS_ALLOW_ORIGINS=allowed_origin,
                RUST_LOG="info",
                NO_COLOR="1",
            )

            # The local server, and one whose pages load the tampered bundles.
            local = dict(env, HOST="127.0.0.1", PORT="0")
            _, server_log = procs.start([binary], env=local)
            _, tampered_log = procs.start(
                [binary], env=dict(local, DOCS_ASSET_URL=tampered_asset_url)
            )

            # The function under the RIE (classic mode: one invocation at a time), behind the
            # API Gateway stand-in: once open, once with AUTH_JWT_* (and JSON log lines, as
            # the access line's `caller` is read from them). Two starts: the open one's
            # answers are what the existing checks and the cross-origin fetch read.
            lambda_env = dict(
                env, AWS_REGION="us-east-1", AWS_LAMBDA_FUNCTION_NAME="lambda-async-api"
            )
            rie, rie_log, invoke_url = start_rie(procs, args.rie, binary, lambda_env)
            auth_rie, auth_rie_log, auth_invoke_url = start_rie(
                procs,
                args.rie,
                binary,
                dict(
                    lambda_env,
                    AUTH_JWT_ISSUER=ISSUER,
                    AUTH_JWT_AUDIENCE=AUDIENCE,
                    AWS_LAMBDA_LOG_FORMAT="JSON",
                ),
            )
            base = listening(server_log, "the local server")
            tampered_base = listening(tampered_log, "the local server with tampered bundles")
            for proc, log, url in [
                (rie, rie_log, invoke_url),
                (auth_rie, auth_rie_log, auth_invoke_url),
            ]:
                wait_for_port(urllib.parse.urlsplit(url).port, proc, log)
            gateway, gateway_handler = stand_in(invoke_url)
            auth_gateway, auth_handler = stand_in(auth_invoke_url)
            servers += [gateway, auth_gateway]

            setup = Setup(
                base=base,
                server_log=server_log,
                tampered_base=tampered_base,
                assets=asset_dir,
                tampered_assets=tampered_dir,
                tampered_asset_url=tampered_asset_url,
                tampered_served=tampered.served,
                swagger_ui_package=args.swagger_ui_package,
                redoc_package=args.redoc_package,
                allowed_origin=allowed_origin,
                other_origin=other_origin,
                gateway_url=f"http://127.0.0.1:{gateway.server_address[1]}",
                gateway=gateway_handler,
                rie_log=rie_log,
                auth_gateway_url=f"http://127.0.0.1:{auth_gateway.server_address[1]}",
                auth_gateway=auth_handler,
                auth_rie_log=auth_rie_log,
            )

            with sync_playwright() as playwright:
                browser = Browser(playwright, args.chromium, str(Path(tmp) / "profile"))
                try:
                    run_checks(checks, browser, setup, out)
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


def run_checks(checks, browser, setup: Setup, out: Path):
    base, server_log = setup.base, setup.server_log
    # --- Swagger UI on the local server.
    docs = browser.page()

    def swagger_renders():
        docs.goto(f"{base}/docs")
        found = swagger_operations(docs)
        assert found == OPERATIONS, f"operations shown: {sorted(found)}"
        assert "/openapi.json" in browser.requested(base), browser.requested(base)
        return ", ".join(f"{method} {path}" for method, path in sorted(OPERATIONS))

    rendered = checks.run("/docs: Swagger UI renders the API's operations", swagger_renders)

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
        return f"200 {compact(body)}"

    checks.run(
        "/docs: Try it out with 7, Execute: 200 and the function's answer", swagger_seven, rejected
    )
    docs.screenshot(path=str(out / "docs-local.png"), full_page=True)

    # --- ReDoc on the local server.
    redoc = browser.page()

    def redoc_renders():
        redoc.goto(f"{base}/redoc")
        sections = redoc.locator('[data-section-id^="operation/"]')
        expect(sections).to_have_count(len(OPERATION_IDS))
        ids = {
            sections.nth(i).get_attribute("data-section-id").removeprefix("operation/")
            for i in range(len(OPERATION_IDS))
        }
        assert ids == OPERATION_IDS, f"operations: {sorted(ids)}"
        for method, path in OPERATIONS:
            expect(redoc.locator("body")).to_contain_text(path)
        return ", ".join(sorted(ids))

    checks.run("/redoc: ReDoc renders the API's operations", redoc_renders)

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

    # --- Subresource Integrity: the same pages, their scripts one byte longer.
    def refused(path: str, package: str, script: str, global_name: str) -> tuple[object, str]:
        """Loads `path` from the server whose pages load the tampered bundles; returns the page
        and the browser's integrity message, once the script is refused."""
        url = f"{setup.tampered_asset_url}/{package}/{script}"
        computed = sri(setup.tampered_assets / package / script).removeprefix("sha384-")
        page = browser.page(tampered=True)
        with page.expect_console_message(lambda m: "integrity" in m.text and url in m.text) as msg:
            page.goto(f"{setup.tampered_base}{path}")
        text = msg.value.text
        assert f"computed SHA-384 integrity '{computed}'" in text, (
            f"the message does not name the tampered file's hash {computed}: {text}"
        )
        assert "has been blocked" in text, text
        served = [status for p, status in setup.tampered_served if p == f"/{package}/{script}"]
        assert served and served[-1] == 200, f"the tampered asset server answered {served}"
        assert page.evaluate(f"typeof {global_name}") == "undefined", f"{global_name} is defined"
        return page, f"served 200, blocked: computed SHA-384 {computed[:10]}... is not the page's"

    def swagger_tampered():
        package = setup.swagger_ui_package
        page, message = refused("/docs", package, SWAGGER_UI_JS, "SwaggerUIBundle")
        # The page's inline script runs after the refused one: its error says nothing rendered,
        # nor will.
        expect(page.locator("#swagger-ui")).to_be_attached()
        errors = [e for e in browser.expected_errors if "SwaggerUIBundle is not defined" in e]
        assert errors, f"no 'SwaggerUIBundle is not defined' error: {browser.expected_errors}"
        children = page.locator("#swagger-ui > *").count()
        assert children == 0, f"#swagger-ui has {children} children"
        assert page.locator(".opblock").count() == 0, "operations are shown"
        page.screenshot(path=str(out / "docs-tampered.png"), full_page=True)
        return f"{message}; #swagger-ui empty, 'SwaggerUIBundle is not defined'"

    checks.run(
        f"/docs with {SWAGGER_UI_JS} one byte longer: the browser refuses it, nothing renders",
        swagger_tampered,
    )

    def redoc_tampered():
        page, message = refused("/redoc", setup.redoc_package, REDOC_JS, "Redoc")
        children = page.locator("redoc > *").count()
        assert children == 0, f"<redoc> has {children} children"
        assert page.locator("[data-section-id]").count() == 0, "sections are shown"
        return f"{message}; <redoc> empty"

    checks.run(
        "/redoc with redoc.standalone.js one byte longer: the browser refuses it, nothing renders",
        redoc_tampered,
    )

    # --- The document without AUTH_JWT_*: no security scheme, no Authorize button.
    def open_document():
        document = get_json(f"{base}/openapi.json")
        schemes = document.get("components", {}).get("securitySchemes")
        assert schemes is None, f"securitySchemes: {schemes}"
        assert "security" not in document, f"security: {document['security']}"
        secured = [
            f"{method.upper()} {path}"
            for path, item in document["paths"].items()
            for method, operation in item.items()
            if "security" in operation
        ]
        assert not secured, f"operations with security: {secured}"
        buttons = docs.locator("button.authorize").count()
        assert buttons == 0, f"/docs shows {buttons} Authorize buttons"
        return "no securitySchemes, no security, /docs has no Authorize button"

    checks.run("without AUTH_JWT_*: /openapi.json names no security, no Authorize", open_document)

    # --- CORS: a page on another origin calls the API.
    allowed, other = browser.page(), browser.page()

    def cors_allowed(api: str, records: type | None):
        def check():
            if allowed.url == "about:blank":
                allowed.goto(f"{setup.allowed_origin}/")
            url = f"{api}/calculate/7"
            with allowed.expect_response(url) as response:
                result = allowed.evaluate(FETCH_JS, url)
            assert result.get("status") == 200, f"the page got {result}"
            assert json.loads(result["body"]) == SEVEN, f"the page got {result}"
            headers = response.value.all_headers()
            acao = headers.get("access-control-allow-origin")
            assert acao == setup.allowed_origin, f"access-control-allow-origin: {acao}"
            detail = f"the page read 200 {result['body']}; access-control-allow-origin {acao}"
            if "vary" in headers:
                detail += f", vary {headers['vary']}"
            if records is not None:
                event, exchange = records.events[-1], records.seen[-1]
                origin = event["headers"].get("origin")
                assert origin == setup.allowed_origin, f"the event's origin: {origin}"
                sent = exchange["response_headers"].get("access-control-allow-origin")
                assert sent == setup.allowed_origin, f"the stand-in sent back {sent}"
                detail += "; Origin in the event, the function's header passed back"
            return detail

        return check

    def cors_other(api: str, records: type | None, log: Output, needle: str):
        def check():
            if other.url == "about:blank":
                other.goto(f"{setup.other_origin}/")
            url = f"{api}/calculate/7"
            logged_before = log.count(needle)
            seen_before = len(records.seen) if records else 0
            with other.expect_console_message(lambda m: "CORS policy" in m.text) as blocked:
                result = other.evaluate(FETCH_JS, url)
            assert result.get("error") == "TypeError", f"the page got {result}"
            assert "body" not in result and "status" not in result, f"the page got {result}"
            assert setup.other_origin in blocked.value.text, blocked.value.text
            log.wait_for(
                lambda lines: sum(needle in l for l in lines) > logged_before,
                10,
                "the API logs the cross-origin request",
            )
            detail = f"the page got {result['error']}: {result['message']}"
            if records is not None:
                new = records.seen[seen_before:]
                assert [e["path"] for e in new] == [f"/{STAGE}/calculate/7"], new
                exchange = new[0]
                origin = exchange["headers"].get("origin")
                assert origin == setup.other_origin, f"the request's origin: {origin}"
                sent = exchange["response_headers"].get("access-control-allow-origin")
                assert sent is None, f"the function sent access-control-allow-origin {sent}"
                status = exchange["status"]
                detail += f"; the function answered {status} without access-control-allow-origin"
            else:
                detail += "; the server answered it (logged), the browser kept it from the page"
            return detail

        return check

    checks.run(
        "CORS, local: the allowed origin's page fetches /calculate/7, reads its JSON",
        cors_allowed(base, None),
    )
    checks.run(
        "CORS, local: another origin's page: the fetch fails, the page gets nothing",
        cors_other(base, None, server_log, CALCULATE_LOG),
    )

    # --- Swagger UI through the Lambda transport, stage prod.
    gateway_url, rie_log = setup.gateway_url, setup.rie_log
    prod = browser.page()
    received = setup.gateway.received

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
        event = setup.gateway.events[-1]
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

    checks.run(
        f"CORS, /{STAGE} under the RIE: the allowed origin's page fetches /calculate/7, reads it",
        cors_allowed(f"{gateway_url}/{STAGE}", setup.gateway),
    )
    checks.run(
        f"CORS, /{STAGE} under the RIE: another origin's page: the fetch fails, gets nothing",
        cors_other(f"{gateway_url}/{STAGE}", setup.gateway, rie_log, CALCULATE_LOG),
    )

    # --- Swagger UI's Authorize, on the function with AUTH_JWT_*, behind the JWT authorizer.
    auth_url, auth_log, auth_records = (
        setup.auth_gateway_url,
        setup.auth_rie_log,
        setup.auth_gateway,
    )
    secured = browser.page()
    token = ".".join(
        [
            b64url(compact({"alg": "HS256", "typ": "JWT"}).encode()),
            b64url(compact({"sub": CALLER, "iss": ISSUER, "aud": AUDIENCE}).encode()),
            b64url(b"stand-in: not checked"),
        ]
    )

    def auth_document():
        document = get_json(f"{auth_url}/{STAGE}/openapi.json")
        schemes = document.get("components", {}).get("securitySchemes")
        assert schemes == {"HTTPBearer": BEARER}, f"securitySchemes: {schemes}"
        security = {
            (method.upper(), path): operation.get("security")
            for path, item in document["paths"].items()
            for method, operation in item.items()
        }
        assert set(security) == OPERATIONS, f"operations: {sorted(security)}"
        wrong = {k: v for k, v in security.items() if v != [{"HTTPBearer": []}]}
        assert not wrong, f"security: {wrong}"
        secured.goto(f"{auth_url}/{STAGE}/docs")
        found = swagger_operations(secured)
        assert found == OPERATIONS, f"operations shown: {sorted(found)}"
        expect(secured.locator(".auth-wrapper button.authorize")).to_be_visible()
        locks = secured.locator(".opblock button.authorization__btn").count()
        bearer = compact(schemes["HTTPBearer"])
        return (
            f"HTTPBearer {bearer}, security on {len(security)} operations; Authorize shown, "
            f"{locks} locks"
        )

    auth_ok = checks.run(
        f"with AUTH_JWT_*: /{STAGE}/openapi.json has HTTPBearer, Swagger UI an Authorize button",
        auth_document,
    )

    def auth_401():
        block = calculate_block(secured)
        try_it_out(block)
        seen_before = len(auth_records.seen)
        enter_number(block, "7")
        status, body, _ = execute_and_read(block)
        assert status == "401", f"status {status}, body {body}"
        assert body == NOT_AUTHENTICATED, f"body {body}"
        new = [e for e in auth_records.seen[seen_before:] if "/calculate/" in e["path"]]
        assert len(new) == 1, f"the stand-in received {[e['path'] for e in new]}"
        exchange = new[0]
        assert "authorization" not in exchange["headers"], exchange["headers"]
        assert "authorizer" not in auth_records.events[-1]["requestContext"]
        challenge = exchange["response_headers"].get("www-authenticate")
        assert challenge == "Bearer", f"www-authenticate: {challenge}"
        return f"401 {compact(body)}, www-authenticate: {challenge}, no Authorization sent"

    checks.run(
        f"/{STAGE}/docs with AUTH_JWT_*: Try it out with 7, not authorized: the function's 401",
        auth_401,
        auth_ok,
    )

    def auth_200():
        secured.locator(".auth-wrapper button.authorize").click()
        modal = secured.locator(".dialog-ux .modal-ux")
        expect(modal).to_be_visible()
        expect(modal).to_contain_text("HTTPBearer")
        modal.locator("input").fill(token)
        modal.locator(".auth-btn-wrapper button.authorize").click()
        expect(modal.locator(".auth-btn-wrapper button.authorize")).to_have_count(0)  # Logout
        modal.locator(".auth-btn-wrapper button.btn-done").click()
        expect(modal).to_have_count(0)
        block = calculate_block(secured)
        try_it_out(block)
        seen_before = len(auth_records.seen)
        lines_before = len(access_lines(auth_log, CALCULATE_ROUTE))
        enter_number(block, "7")
        status, body, _ = execute_and_read(block)
        new = [e for e in auth_records.seen[seen_before:] if "/calculate/" in e["path"]]
        assert len(new) == 1, f"the stand-in received {[e['path'] for e in new]}"
        sent = new[0]["headers"].get("authorization")
        assert sent == f"Bearer {token}", f"the stand-in received Authorization: {sent}"
        assert status == "200", f"status {status}, body {body}"
        assert body == SEVEN, f"body {body}"
        event = auth_records.events[-1]
        claims = event["requestContext"].get("authorizer", {}).get("jwt", {}).get("claims", {})
        assert claims.get("sub") == CALLER, f"the event's claims: {claims}"
        auth_log.wait_for(
            lambda _: len(access_lines(auth_log, CALCULATE_ROUTE)) > lines_before,
            10,
            "the function logs its access line",
        )
        line = access_lines(auth_log, CALCULATE_ROUTE)[-1]
        assert line.get("status") == 200, f"access line: {compact(line)}"
        assert line.get("caller") == CALLER, f"access line: {compact(line)}"
        secured.screenshot(path=str(out / "docs-prod-authorized.png"), full_page=True)
        return (
            f"the stand-in got Authorization: Bearer {token[:12]}...{token[-6:]},"
            f" put claims sub {claims['sub']} in the event;"
            f" 200 {compact(body)}; access line caller {line['caller']}"
        )

    checks.run(
        f"/{STAGE}/docs: Authorize with a JWT, Try it out with 7: token sent, 200, caller {CALLER}",
        auth_200,
        auth_ok,
    )

    def only_local():
        foreign = [url for url in browser.requests if not browser.local(url)]
        left = [url for url in foreign if browser.failures.get(url) != "csp"]
        assert not left, f"requests to other hosts: {sorted(set(browser.aborted or left))}"
        hosts = sorted({urllib.parse.urlsplit(url).netloc for url in browser.requests} - {""})
        blocked = f", {len(foreign)} blocked by the page's CSP" if foreign else ""
        return f"{len(browser.requests)} requests, to {len(hosts)} ports of 127.0.0.1{blocked}"

    checks.run("the pages load nothing from any host but 127.0.0.1", only_local)

    def no_page_errors():
        assert not browser.page_errors, "\n".join(browser.page_errors)
        integrity = [
            f"{url}: {text}"
            for tampered, url, text in browser.console
            if not tampered and "integrity" in text
        ]
        assert not integrity, "\n".join(integrity)
        return "nor an integrity error but on the tampered pages"

    checks.run("no uncaught JavaScript error on any page", no_page_errors)


if __name__ == "__main__":
    sys.exit(main())
