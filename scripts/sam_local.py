#!/usr/bin/env python3
"""Checks for scripts/sam-local: answers of `sam local invoke`, `cargo lambda invoke` and
`sam local start-api` against tests/fixtures.json. Standard library only.

  sam_local.py env-vars FIXTURE BASE OUT   write the --env-vars file FIXTURE runs with
  sam_local.py invoke FIXTURE OUTPUT [ENV]  OUTPUT is what the invoke printed on stdout; ENV
                                            the --env-vars file it ran with (none: no env)
  sam_local.py http BASE_URL [ENV]          the start-api requests, each checked
  sam_local.py wait BASE_URL SECONDS        until BASE_URL answers anything over HTTP
  sam_local.py traces SPANS SERVICE         the spans scripts/otlp_receiver.py wrote to SPANS
                                            for one traced invoke of /mixed, SERVICE's

Exit status 0 when every answer is the expected one; otherwise each difference is printed.

A fixture's entry (tests/fixtures.json, read by the Rust tests too): file, status, body, and
  env             {NAME: value}: the function's settings for that fixture, on top of the base
                  env file; env-vars merges them, and an answer from a run without them is
                  not taken as that fixture's (invoke, http);
  headers         {name: value}: each in the response with that value (names in any case);
                  without content-type here, a non-empty body must be application/json;
  absent_headers  [name]: none of them in the response;
  content_encoding
                  "gzip": the response's content-encoding; a Lambda answer is then base64
                  (isBase64Encoded) and its body, gunzipped, is `body`. Without it, no
                  content-encoding, and a Lambda answer is text;
  caller,         the `caller` and `correlation_id` of the function's access log line: not
  correlation_id  checked here (the log goes to sam's stderr, mixed with the RIE's), the Rust
                  tests check them.
"""

import base64
import gzip
import http.client
import json
import pathlib
import re
import sys
import time
import urllib.parse

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from upstream_stub import TODO  # noqa: E402  (the stub's /todos/1 document)

# The seed's /call-external-api answer: the upstream document relayed compactly, key order kept.
EXTERNAL = (
    '{"external":'
    + json.dumps(json.loads(TODO), separators=(",", ":"))
    + ',"message":"Data fetched"}'
)


FIELDS = {
    "file", "status", "body", "env", "headers", "absent_headers", "caller", "correlation_id",
    "content_encoding",
}
# What content_encoding may name: what the function writes and the standard library reads.
ENCODINGS = {"gzip"}


def table() -> dict:
    fixtures = json.loads((ROOT / "tests" / "fixtures.json").read_text())["fixtures"]
    return {f["file"]: f for f in fixtures}


def entry_problems(want: dict) -> list:
    """What is wrong with a table entry itself: a misspelt field would skip its check."""
    out = [f"unknown field {k!r}" for k in sorted(set(want) - FIELDS - {"header"})]
    if "header" in want:
        out.append('"header": [name, value] is now "headers": {name: value}')
    if not isinstance(want.get("headers", {}), dict):
        out.append('"headers" must be an object {name: value}')
    if not isinstance(want.get("absent_headers", []), list):
        out.append('"absent_headers" must be a list of names')
    env = want.get("env", {})
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        out.append('"env" must be an object {NAME: "value"}')
    if "content_encoding" in want and want["content_encoding"] not in ENCODINGS:
        out.append(f'"content_encoding" must be one of {sorted(ENCODINGS)}')
    return out


def decoded(raw: bytes, encoding) -> str:
    """The body as text, undoing its content-encoding (ValueError if it cannot be)."""
    if encoding == "gzip":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise ValueError(f"content-encoding gzip, but the body does not gunzip: {e}") from e
    elif encoding is not None:
        raise ValueError(f"content-encoding {encoding!r}, which this check cannot decode")
    try:
        return raw.decode()
    except UnicodeDecodeError as e:
        raise ValueError(f"body is not UTF-8 ({e}): {raw[:60]!r}") from e


def problems(want: dict, status: int, headers: dict, raw: bytes, base64_encoded=None) -> list:
    """What differs between an answer (header names lowercased, the body's bytes as sent) and
    the table's entry (empty: as expected). base64_encoded: a Lambda answer's isBase64Encoded
    (None over HTTP, where there is no such thing)."""
    out = entry_problems(want)
    want_body = EXTERNAL if want["body"] == "EXTERNAL" else want["body"]
    if status != want["status"]:
        out.append(f"status {status}, want {want['status']}")
    encoding = headers.get("content-encoding")
    if encoding != want.get("content_encoding"):
        out.append(f"content-encoding {encoding!r}, want {want.get('content_encoding')!r}")
    if base64_encoded is not None and bool(base64_encoded) != ("content_encoding" in want):
        out.append(
            f"isBase64Encoded {bool(base64_encoded)}, want {'content_encoding' in want}"
            " (a compressed body goes as binary, text as text)"
        )
    try:
        body = decoded(raw, encoding)
    except ValueError as e:
        out.append(str(e))
        return out
    if body != want_body:
        out.append(f"body {body!r}, want {want_body!r}")
    want_headers = {k.lower(): v for k, v in want.get("headers", {}).items()}
    for name, value in want_headers.items():
        if headers.get(name) != value:
            out.append(f"header {name}: {headers.get(name)!r}, want {value!r}")
    if (
        "content-type" not in want_headers
        and want_body
        and not (headers.get("content-type") or "").startswith("application/json")
    ):
        out.append(f"content-type {headers.get('content-type')!r}, want application/json")
    for name in want.get("absent_headers", []):
        if name.lower() in headers:
            out.append(f"header {name.lower()}: {headers[name.lower()]!r}, want none")
    return out


def declared_env(template: pathlib.Path) -> set:
    """The variables template.yaml declares for the function (Globals' Function Environment):
    sam local passes only those, whatever the --env-vars file says."""
    text = template.read_text()
    block = re.search(r"^    Environment:\n      Variables:\n((?:        .*\n|\s*\n)*)", text, re.M)
    if not block:
        return set()
    return set(re.findall(r"^        ([A-Za-z_][A-Za-z0-9_]*):", block.group(1), re.M))


def env_problems(want: dict, env_file) -> list:
    """A fixture's env that the function did not run with (env_file: its --env-vars file)."""
    env = want.get("env", {})
    if not env:
        return []
    ran = json.loads(pathlib.Path(env_file).read_text()).get("ApiFunction", {}) if env_file else {}
    return [
        f"env {name}={value!r} is this fixture's, but the function ran with {ran.get(name)!r}"
        for name, value in env.items()
        if ran.get(name) != value
    ]


def cmd_env_vars(fixture: str, base: str, out: str) -> int:
    """BASE's settings for ApiFunction with FIXTURE's env on top, written to OUT."""
    want = table().get(fixture)
    if want is None:
        print(f"{fixture}: not in tests/fixtures.json")
        return 1
    bad = entry_problems(want)
    declared = declared_env(ROOT / "template.yaml")
    bad += [
        f"env {name}: template.yaml does not declare it, so sam local would not pass it"
        for name in want.get("env", {})
        if name not in declared
    ]
    for p in bad:
        print(f"{fixture}: {p}")
    if bad:
        return 1
    env = json.loads(pathlib.Path(base).read_text())
    env.setdefault("ApiFunction", {}).update(want.get("env", {}))
    pathlib.Path(out).write_text(json.dumps(env))
    return 0


def lambda_answer(text: str):
    """(status, headers, body) of a Lambda proxy response printed by an invoke, or a reason."""
    text = text.strip()
    if not text:
        return "no answer (empty output: the function failed, see its log above)"
    try:  # cargo lambda invoke prints it indented; sam local invoke on its last line
        answer = json.loads(text)
    except ValueError:
        try:
            answer = json.loads(text.splitlines()[-1])
        except ValueError:
            return f"not JSON: {text[-300:]!r}"
    if not isinstance(answer, dict):
        return f"not an object: {text[-300:]!r}"
    if "errorType" in answer or "errorMessage" in answer:
        return f"function error: {answer.get('errorType')}: {answer.get('errorMessage')}"
    if "statusCode" not in answer:
        return f"no statusCode: {text[-300:]!r}"
    headers = {k.lower(): v for k, v in (answer.get("headers") or {}).items()}
    for k, v in (answer.get("multiValueHeaders") or {}).items():
        headers.setdefault(k.lower(), ",".join(v))
    body = answer.get("body") or ""
    is_base64 = bool(answer.get("isBase64Encoded"))
    raw = base64.b64decode(body) if is_base64 else body.encode()
    return int(answer["statusCode"]), headers, raw, is_base64


def cmd_invoke(fixture: str, output: str, env_file: str = "") -> int:
    want = table().get(fixture)
    if want is None:
        print(f"{fixture}: not in tests/fixtures.json")
        return 1
    bad = env_problems(want, env_file)
    got = lambda_answer(pathlib.Path(output).read_text())
    if isinstance(got, str):
        for p in bad + [got]:
            print(f"{fixture}: {p}")
        return 1
    status, headers, raw, is_base64 = got
    bad += problems(want, status, headers, raw, is_base64)
    for p in bad:
        print(f"{fixture}: {p}")
    if not bad:
        body = decoded(raw, headers.get("content-encoding"))
        how = f" ({headers['content-encoding']}, base64)" if "content-encoding" in headers else ""
        print(f"{status}{how} {body[:60]}{'…' if len(body) > 60 else ''}")
    return 1 if bad else 0


# The origin start-api's function allows (CORS_ALLOW_ORIGINS in its env file, scripts/sam-local).
APP = "https://app.example"

# start-api: method, path, request headers, and the fixture whose expected answer applies, or
# one of its own ({"fixture": name, ...} adds to that fixture's, headers merged).
HTTP_CASES = [
    ("GET", "/call-external-api", {}, "http-v2-call-external-api.json"),
    # As `curl --compressed` asks: gzip through start-api (whose function has
    # COMPRESSION_MIN_BYTES=64, as this fixture's env), gunzipped here.
    (
        "GET",
        "/call-external-api",
        {"Accept-Encoding": "gzip"},
        "http-v2-call-external-api-gzip.json",
    ),
    ("GET", "/calculate/7", {}, "rest-v1-calculate.json"),
    ("GET", "/mixed", {}, "http-v2-mixed.json"),
    ("GET", "/calculate/abc", {}, "http-v2-calculate-bad-number.json"),
    ("GET", "/calculate/100001", {}, "http-v2-calculate-too-big.json"),
    ("GET", "/no/such/path", {}, "rest-v1-unknown-path.json"),
    ("POST", "/mixed", {}, "http-v2-mixed-wrong-method.json"),
    # $default stage: no stage in front of the location.
    ("GET", "/mixed/", {}, {"status": 307, "body": "", "headers": {"location": "/mixed"}}),
    # CORS, answered by the function. The API has no CorsConfiguration, so sam local does not
    # answer preflights itself: OPTIONS matches no GET route and goes to the $default route.
    (
        "OPTIONS",
        "/calculate/7",
        {"Origin": APP, "Access-Control-Request-Method": "GET"},
        {
            "status": 200,
            "body": "OK",
            "headers": {
                "access-control-allow-origin": APP,
                "content-type": "text/plain; charset=utf-8",
            },
        },
    ),
    (
        "GET",
        "/calculate/7",
        {"Origin": APP},
        {"fixture": "rest-v1-calculate.json", "headers": {"access-control-allow-origin": APP}},
    ),
]


def case_want(fixtures: dict, want) -> dict:
    """The expected answer of an HTTP_CASES entry, as a table entry."""
    if isinstance(want, str):
        return fixtures[want]
    if "fixture" not in want:
        return want
    base = fixtures[want["fixture"]]
    merged = {**base, **{k: v for k, v in want.items() if k != "fixture"}}
    merged["headers"] = {**base.get("headers", {}), **want.get("headers", {})}
    # A header the case adds (a CORS header the fixture's own run must not have) is no longer
    # absent.
    added = {name.lower() for name in want.get("headers", {})}
    merged["absent_headers"] = [
        name for name in base.get("absent_headers", []) if name.lower() not in added
    ]
    return merged


def request(base: str, method: str, path: str, headers=None, timeout: float = 60):
    """(status, headers with lowercased names, the body's bytes as sent); a header sent twice
    is joined with ", ". Unless `headers` says otherwise, asks for no compression
    (http.client sends Accept-Encoding: identity)."""
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
    try:
        conn.request(method, path, body=b"" if method == "POST" else None, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read()
        got = {}
        for k, v in resp.getheaders():
            got[k.lower()] = f"{got[k.lower()]}, {v}" if k.lower() in got else v
        return resp.status, got, body
    finally:
        conn.close()


def cmd_http(base: str, env_file: str = "") -> int:
    fixtures = table()
    failed = 0
    for method, path, send, want in HTTP_CASES:
        want = case_want(fixtures, want)
        label = f"{method} {path}" + "".join(f" [{k}: {v}]" for k, v in send.items())
        start = time.monotonic()
        try:
            status, headers, body = request(base, method, path, send)
        except OSError as e:
            print(f"FAIL {label}: {e}")
            failed += 1
            continue
        took = time.monotonic() - start
        bad = env_problems(want, env_file) + problems(want, status, headers, body)
        shown = "".join(f" {k.lower()}: {headers.get(k.lower())}" for k in want.get("headers", {}))
        if "content-encoding" in headers:
            shown += f" content-encoding: {headers['content-encoding']}"
        print(f"{'FAIL' if bad else 'ok  '} {label} -> {status}{shown} ({took:.2f} s)")
        for p in bad:
            print(f"     {p}")
        failed += bool(bad)
    print(f"start-api: {len(HTTP_CASES) - failed} passed, {failed} failed")
    return 1 if failed else 0


def cmd_wait(base: str, seconds: str) -> int:
    deadline = time.monotonic() + float(seconds)
    while time.monotonic() < deadline:
        try:
            request(base, "GET", "/mixed", timeout=5)
            return 0
        except OSError:
            time.sleep(0.2)
    print(f"{base} did not answer within {seconds} s")
    return 1


# /mixed's span tree: the server span and, under it, the sync dependency on the blocking pool
# and the async dependency's sleep (tests/it/traces.rs checks the same tree under the Runtime
# API stand-in).
MIXED_SPAN = "GET /mixed"
MIXED_CHILDREN = ["calculation", "sleep"]
SERVER_KIND = 2  # OTLP's SPAN_KIND_SERVER
STATUS_ERROR = 2  # OTLP's STATUS_CODE_ERROR


def trace_problems(spans: list, service: str, now: float) -> list:
    """What differs between the spans of one invocation of /mixed and its expected tree.
    Under sam local the RIE sends no X-Ray header, so the request is a trace of its own:
    no parent, and an X-Ray-shaped trace id (its first 8 hex digits are the time)."""
    out = [s["error"] for s in spans if "error" in s]
    spans = [s for s in spans if "error" not in s]
    servers = [s for s in spans if s["name"] == MIXED_SPAN]
    if len(servers) != 1:
        return out + [f"{len(servers)} spans named {MIXED_SPAN!r}, want 1: {spans}"]
    server = servers[0]
    attributes = server["attributes"]
    for key, value in [
        ("http.route", "/mixed"),
        ("http.response.status_code", "200"),
        ("faas.coldstart", "true"),
    ]:
        if attributes.get(key) != value:
            out.append(f"{MIXED_SPAN}: {key} {attributes.get(key)!r}, want {value!r}")
    if server["kind"] != SERVER_KIND:
        out.append(f"{MIXED_SPAN}: kind {server['kind']}, want {SERVER_KIND} (server)")
    if server["parent_span_id"]:
        out.append(f"{MIXED_SPAN}: parent {server['parent_span_id']}, want none")
    try:
        started = int(server["trace_id"][:8], 16)
    except ValueError:
        started = 0
    if abs(now - started) > 300:
        out.append(f"trace id {server['trace_id']} is not X-Ray-shaped (time {started}, now {now:.0f})")
    children = sorted(s["name"] for s in spans if s["parent_span_id"] == server["span_id"])
    if children != MIXED_CHILDREN:
        out.append(f"{MIXED_SPAN}'s children {children}, want {MIXED_CHILDREN}")
    for s in spans:
        if s["trace_id"] != server["trace_id"]:
            out.append(f"span {s['name']!r} in trace {s['trace_id']}, not the request's")
        if s["service"] != service:
            out.append(f"span {s['name']!r} of service {s['service']!r}, want {service!r}")
        if s["status"] == STATUS_ERROR:
            out.append(f"span {s['name']!r} has an error status")
    return out


def cmd_traces(path: str, service: str) -> int:
    lines = pathlib.Path(path).read_text().splitlines()
    spans = [json.loads(line) for line in lines if line.strip()]
    bad = trace_problems(spans, service, time.time())
    for p in bad:
        print(f"traces: {p}")
    if bad:
        return 1
    server = next(s for s in spans if s["name"] == MIXED_SPAN)
    print(f"{len(spans)} spans of trace {server['trace_id']}: {MIXED_SPAN} > {', '.join(MIXED_CHILDREN)}")
    return 0


def main() -> int:
    commands = {
        "env-vars": cmd_env_vars,
        "invoke": cmd_invoke,
        "http": cmd_http,
        "wait": cmd_wait,
        "traces": cmd_traces,
    }
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]](*sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
