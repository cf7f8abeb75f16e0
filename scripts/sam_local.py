#!/usr/bin/env python3
"""Checks for scripts/sam-local: answers of `sam local invoke`, `cargo lambda invoke` and
`sam local start-api` against tests/fixtures.json. Standard library only.

  sam_local.py invoke FIXTURE OUTPUT   OUTPUT is what the invoke printed on stdout
  sam_local.py http BASE_URL           the start-api requests, each checked
  sam_local.py wait BASE_URL SECONDS   until BASE_URL answers anything over HTTP

Exit status 0 when every answer is the expected one; otherwise each difference is printed.
"""

import base64
import http.client
import json
import pathlib
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


def table() -> dict:
    fixtures = json.loads((ROOT / "tests" / "fixtures.json").read_text())["fixtures"]
    return {f["file"]: f for f in fixtures}


def problems(want: dict, status: int, headers: dict, body: str) -> list:
    """What differs between an answer and the table's entry (empty: as expected)."""
    out = []
    want_body = EXTERNAL if want["body"] == "EXTERNAL" else want["body"]
    if status != want["status"]:
        out.append(f"status {status}, want {want['status']}")
    if body != want_body:
        out.append(f"body {body!r}, want {want_body!r}")
    if "header" in want:
        name, value = want["header"]
        if headers.get(name.lower()) != value:
            out.append(f"header {name}: {headers.get(name.lower())!r}, want {value!r}")
    elif want_body and not (headers.get("content-type") or "").startswith("application/json"):
        out.append(f"content-type {headers.get('content-type')!r}, want application/json")
    return out


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
    if answer.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return int(answer["statusCode"]), headers, body


def cmd_invoke(fixture: str, output: str) -> int:
    want = table().get(fixture)
    if want is None:
        print(f"{fixture}: not in tests/fixtures.json")
        return 1
    got = lambda_answer(pathlib.Path(output).read_text())
    if isinstance(got, str):
        print(f"{fixture}: {got}")
        return 1
    status, headers, body = got
    bad = problems(want, status, headers, body)
    for p in bad:
        print(f"{fixture}: {p}")
    if not bad:
        print(f"{status} {body[:60]}{'…' if len(body) > 60 else ''}")
    return 1 if bad else 0


# start-api: method, path, and the fixture whose expected answer applies (or one of its own).
HTTP_CASES = [
    ("GET", "/call-external-api", "http-v2-call-external-api.json"),
    ("GET", "/calculate/7", "rest-v1-calculate.json"),
    ("GET", "/mixed", "http-v2-mixed.json"),
    ("GET", "/calculate/abc", "http-v2-calculate-bad-number.json"),
    ("GET", "/calculate/100001", "http-v2-calculate-too-big.json"),
    ("GET", "/no/such/path", "rest-v1-unknown-path.json"),
    ("POST", "/mixed", "http-v2-mixed-wrong-method.json"),
    # $default stage: no stage in front of the location.
    ("GET", "/mixed/", {"status": 307, "body": "", "header": ["location", "/mixed"]}),
]


def request(base: str, method: str, path: str, timeout: float = 60):
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
    try:
        conn.request(method, path, body=b"" if method == "POST" else None)
        resp = conn.getresponse()
        body = resp.read().decode()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
    finally:
        conn.close()


def cmd_http(base: str) -> int:
    fixtures = table()
    failed = 0
    for method, path, want in HTTP_CASES:
        want = fixtures[want] if isinstance(want, str) else want
        start = time.monotonic()
        try:
            status, headers, body = request(base, method, path)
        except OSError as e:
            print(f"FAIL {method} {path}: {e}")
            failed += 1
            continue
        took = time.monotonic() - start
        bad = problems(want, status, headers, body)
        extra = f" {want['header'][0]}: {headers.get(want['header'][0])}" if "header" in want else ""
        print(f"{'FAIL' if bad else 'ok  '} {method} {path} -> {status}{extra} ({took:.2f} s)")
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


def main() -> int:
    commands = {"invoke": cmd_invoke, "http": cmd_http, "wait": cmd_wait}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]](*sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
