"""The in-process HTTP servers the browser tests run against, each on a port of its own on
127.0.0.1 (tests/browser/conftest.py starts them):

  - `AssetHandler`: the pinned Swagger UI and ReDoc bundles (and a tampered copy), served as
    a CDN serves them: to any origin;
  - `OriginPage`: a tiny page on an origin of its own, from which the browser calls the API;
  - `ApiGatewayStandIn`: HTTP -> an HTTP API v2 event on stage `prod` -> AWS's Runtime
    Interface Emulator -> HTTP, playing API Gateway's JWT authorizer too (`stand_in()`).

Standard library only.
"""

from __future__ import annotations

import base64
import copy
import http.server
import json
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import ClassVar

ROOT = Path(__file__).resolve().parent.parent.parent
EVENT_TEMPLATE = ROOT / "events/http-v2-stage-mixed-trailing-slash.json"
STAGE = "prod"
# The bundles' files, under their package@version folders.
SWAGGER_UI_JS = "swagger-ui-bundle.js"
SWAGGER_UI_CSS = "swagger-ui.css"
REDOC_JS = "bundles/redoc.standalone.js"
# The function under the RIE with AUTH on: what it is told to expect of a token.
ISSUER = "https://issuer.example"
AUDIENCE = "lambda-async-api"


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
