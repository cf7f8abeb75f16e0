"""/docs (Swagger UI) and /redoc (ReDoc) in headless Chromium, locally and under the RIE on
stage `prod`: one test per check, each on pages of its own, each failing on its own.

Run by scripts/docs-browser (which installs what they need; see tests/browser/conftest.py for
what they run against). The operations the pages must show are the API's routes as
tests/routes.json lists them, which tests/it/route_list.rs holds against the route table (not
the served document, which would be compared with itself). Screenshots go to
target/docs-browser/.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from stand_ins import AUDIENCE, ISSUER, REDOC_JS, STAGE, SWAGGER_UI_JS, b64url

ROOT = Path(__file__).resolve().parent.parent.parent
API_ROUTES = json.loads((ROOT / "tests/routes.json").read_text())["routes"]
OPERATIONS = {(route["method"], route["path"]) for route in API_ROUTES}
OPERATION_IDS = {route["operationId"] for route in API_ROUTES}
SEVEN = {"number": 7, "result": 43160950}
CALCULATE_LOG = 'route="/calculate/{number}"'
CALCULATE_ROUTE = "/calculate/{number}"
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


# --- on the pages ------------------------------------------------------------------------


def swagger_operations(page) -> set[tuple[str, str]]:
    blocks = page.locator(".opblock")
    expect(blocks).to_have_count(len(OPERATIONS))
    found = set()
    for i in range(blocks.count()):
        block = blocks.nth(i)
        method = block.locator(".opblock-summary-method").inner_text().strip().upper()
        path = block.locator(".opblock-summary-path").get_attribute("data-path")
        found.add((method, path))
    return found


def swagger_page(tab, url: str):
    """A new tab on Swagger UI at `url`, once it shows the operations."""
    page = tab()
    page.goto(url)
    swagger_operations(page)
    return page


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


def redoc_page(tab, url: str):
    """A new tab on ReDoc at `url`, once it shows an operation's section for each."""
    page = tab()
    page.goto(url)
    expect(page.locator('[data-section-id^="operation/"]')).to_have_count(len(OPERATION_IDS))
    return page


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def compact(value) -> str:
    return json.dumps(value, separators=(",", ":"))


def sri(path: Path) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(path.read_bytes()).digest()).decode()


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=20) as response:
        return json.load(response)


def access_lines(log, route: str) -> list[dict]:
    """The function's access lines for `route` among its JSON log lines (the RIE's own lines
    are text)."""
    found = []
    for line in log.lines():
        line = line.strip()
        if line.startswith("{"):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("message") == "request" and record.get("route") == route:
                found.append(record)
    return found


# --- Swagger UI and ReDoc on the local server ----------------------------------------------


def test_swagger_ui_renders_the_operations(local, tab, records):
    """/docs: Swagger UI renders the API's operations, from /openapi.json."""
    page = tab()
    page.goto(f"{local.api}/docs")
    found = swagger_operations(page)
    assert found == OPERATIONS, f"operations shown: {sorted(found)}"
    assert "/openapi.json" in records.requested(f"{local.api}/"), records.requested(f"{local.api}/")


def test_swagger_ui_lists_the_422_schema(local, tab):
    """/docs: the 422 schema is listed under GET /calculate/{number}'s Responses."""
    block = calculate_block(swagger_page(tab, f"{local.api}/docs"))
    row = block.locator('.responses-table tr.response[data-code="422"]')
    expect(row).to_be_visible()
    expect(row.locator(".response-col_description")).to_contain_text("Validation Error")
    row.locator('button.tablinks[data-name="model"]').click()
    expect(row.locator(".model-box")).to_contain_text("HTTPValidationError")


def test_swagger_ui_rejects_abc_and_sends_nothing(local, tab, records):
    """/docs: Try it out with abc shows Swagger UI's 'Value must be an integer'; nothing is
    sent (neither the browser's requests nor the server's log show it)."""
    block = calculate_block(swagger_page(tab, f"{local.api}/docs"))
    try_it_out(block)
    sent_before = records.requested(f"{local.api}/calculate/")
    logged_before = local.log.count(CALCULATE_LOG)
    enter_number(block, "abc")
    block.locator("button.execute").click()
    field = block.locator('tr[data-param-name="number"] input')
    expect(field).to_have_class(re.compile(r"\binvalid\b"))
    expect(field).to_have_attribute("title", re.compile("Value must be an integer"))
    # The barrier: 7 next. Had `abc` been sent, it would have been sent (and logged by the
    # server) before 7 was even typed; the counters are read once 7 is through.
    enter_number(block, "7")
    execute_and_read(block)
    local.log.wait_for(
        lambda lines: sum(CALCULATE_LOG in line for line in lines) > logged_before,
        10,
        "the server logs the /calculate/7 request",
    )
    sent = records.requested(f"{local.api}/calculate/")[len(sent_before) :]
    logged = local.log.count(CALCULATE_LOG) - logged_before
    assert sent == ["/calculate/7"], f"the browser sent {sent}"
    assert logged == 1, f"the server logged {logged} /calculate requests, not 1"


def test_swagger_ui_try_it_out_with_7(local, tab, common):
    """/docs: Try it out with 7, Execute: 200 and the function's answer."""
    page = swagger_page(tab, f"{local.api}/docs")
    block = calculate_block(page)
    try_it_out(block)
    enter_number(block, "7")
    status, body, url = execute_and_read(block)
    assert status == "200", f"status {status}"
    assert body == SEVEN, f"body {body}"
    assert url == f"{local.api}/calculate/7", f"request URL {url}"
    page_text = normalise(page.locator(".live-responses-table").inner_text())
    assert normalise(json.dumps(SEVEN, indent=2)) in page_text, page_text
    page.screenshot(path=str(common.out / "docs-local.png"), full_page=True)


def test_redoc_renders_the_operations(local, tab):
    """/redoc: ReDoc renders the API's operations."""
    page = tab()
    page.goto(f"{local.api}/redoc")
    sections = page.locator('[data-section-id^="operation/"]')
    expect(sections).to_have_count(len(OPERATION_IDS))
    ids = {
        sections.nth(i).get_attribute("data-section-id").removeprefix("operation/")
        for i in range(len(OPERATION_IDS))
    }
    assert ids == OPERATION_IDS, f"operations: {sorted(ids)}"
    for _method, path in OPERATIONS:
        expect(page.locator("body")).to_contain_text(path)


def test_redoc_shows_the_422_response_and_schema(local, tab, common):
    """/redoc: the 422 response, expanded: detail, Array of objects (ValidationError)."""
    page = redoc_page(tab, f"{local.api}/redoc")
    section = page.locator('[data-section-id="operation/calculate_stuff"]')
    button = section.get_by_role("button").filter(has_text=re.compile(r"422\s*Validation Error"))
    expect(button).to_have_count(1)
    button.click()
    expect(button).to_have_attribute("aria-expanded", "true")
    schema = button.locator("xpath=following-sibling::*[1]")  # the expanded response
    expect(schema).to_contain_text("detail")
    expect(schema).to_contain_text("Array of objects (ValidationError)")
    page.screenshot(path=str(common.out / "redoc-local.png"), full_page=True)


# --- Subresource Integrity: the same pages, their scripts one byte longer -----------------


def refused(tab, common, tampered_local, path: str, package: str, script: str, global_name: str):
    """`path` from the server whose pages load the tampered bundles, in a new tab; the tab once
    the browser has refused the script, for its integrity."""
    url = f"{common.tampered_asset_url}/{package}/{script}"
    computed = sri(common.tampered_assets / package / script).removeprefix("sha384-")
    page = tab(tampered=True)
    with page.expect_console_message(lambda m: "integrity" in m.text and url in m.text) as msg:
        page.goto(f"{tampered_local.api}{path}")
    text = msg.value.text
    assert f"computed SHA-384 integrity '{computed}'" in text, (
        f"the message does not name the tampered file's hash {computed}: {text}"
    )
    assert "has been blocked" in text, text
    served = [status for p, status in common.tampered_served if p == f"/{package}/{script}"]
    assert served and served[-1] == 200, f"the tampered asset server answered {served}"
    assert page.evaluate(f"typeof {global_name}") == "undefined", f"{global_name} is defined"
    return page


def test_swagger_ui_bundle_one_byte_longer_is_refused(tampered_local, common, tab, records):
    """/docs with swagger-ui-bundle.js one byte longer: the browser refuses it, nothing
    renders ('SwaggerUIBundle is not defined')."""
    page = refused(tab, common, tampered_local, "/docs", common.swagger_ui_package, SWAGGER_UI_JS, "SwaggerUIBundle")
    # The page's inline script runs after the refused one: its error says nothing rendered,
    # nor will.
    expect(page.locator("#swagger-ui")).to_be_attached()
    errors = [e for e in records.expected_errors if "SwaggerUIBundle is not defined" in e]
    assert errors, f"no 'SwaggerUIBundle is not defined' error: {records.expected_errors}"
    children = page.locator("#swagger-ui > *").count()
    assert children == 0, f"#swagger-ui has {children} children"
    assert page.locator(".opblock").count() == 0, "operations are shown"
    page.screenshot(path=str(common.out / "docs-tampered.png"), full_page=True)


def test_redoc_bundle_one_byte_longer_is_refused(tampered_local, common, tab):
    """/redoc with redoc.standalone.js one byte longer: the browser refuses it, nothing
    renders."""
    page = refused(tab, common, tampered_local, "/redoc", common.redoc_package, REDOC_JS, "Redoc")
    children = page.locator("redoc > *").count()
    assert children == 0, f"<redoc> has {children} children"
    assert page.locator("[data-section-id]").count() == 0, "sections are shown"


# --- the document without AUTH_JWT_* ------------------------------------------------------


def test_without_auth_no_security_and_no_authorize_button(local, tab):
    """Without AUTH_JWT_*: /openapi.json names no security scheme, /docs no Authorize."""
    document = get_json(f"{local.api}/openapi.json")
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
    page = swagger_page(tab, f"{local.api}/docs")
    buttons = page.locator("button.authorize").count()
    assert buttons == 0, f"/docs shows {buttons} Authorize buttons"


# --- CORS: a page on another origin calls the API, locally and under the RIE ---------------


@pytest.mark.parametrize("where", ["local", "prod"])
def test_cors_the_allowed_origins_page_reads_calculate_7(where, request, common, tab):
    """A page on the allowed origin fetches /calculate/7 and reads its JSON; under the RIE,
    its Origin reaches the event and the function's header comes back through the stand-in."""
    api = request.getfixturevalue(where)
    page = tab()
    page.goto(f"{common.allowed_origin}/")
    url = f"{api.api}/calculate/7"
    with page.expect_response(url) as response:
        result = page.evaluate(FETCH_JS, url)
    assert result.get("status") == 200, f"the page got {result}"
    assert json.loads(result["body"]) == SEVEN, f"the page got {result}"
    acao = response.value.all_headers().get("access-control-allow-origin")
    assert acao == common.allowed_origin, f"access-control-allow-origin: {acao}"
    if api.records is not None:
        event, exchange = api.records.events[-1], api.records.seen[-1]
        origin = event["headers"].get("origin")
        assert origin == common.allowed_origin, f"the event's origin: {origin}"
        sent = exchange["response_headers"].get("access-control-allow-origin")
        assert sent == common.allowed_origin, f"the stand-in sent back {sent}"


@pytest.mark.parametrize("where", ["local", "prod"])
def test_cors_another_origins_page_gets_nothing(where, request, common, tab):
    """A page on an origin not allowed: its fetch of /calculate/7 fails with a TypeError and
    the page reads nothing, though the API answered it (its log; under the RIE, the stand-in
    saw the function answer without access-control-allow-origin)."""
    api = request.getfixturevalue(where)
    page = tab()
    page.goto(f"{common.other_origin}/")
    url = f"{api.api}/calculate/7"
    logged_before = api.log.count(CALCULATE_LOG)
    seen_before = len(api.records.seen) if api.records else 0
    with page.expect_console_message(lambda m: "CORS policy" in m.text) as blocked:
        result = page.evaluate(FETCH_JS, url)
    assert result.get("error") == "TypeError", f"the page got {result}"
    assert "body" not in result and "status" not in result, f"the page got {result}"
    assert common.other_origin in blocked.value.text, blocked.value.text
    api.log.wait_for(
        lambda lines: sum(CALCULATE_LOG in line for line in lines) > logged_before,
        10,
        "the API logs the cross-origin request",
    )
    if api.records is not None:
        new = api.records.seen[seen_before:]
        assert [e["path"] for e in new] == [f"/{STAGE}/calculate/7"], new
        origin = new[0]["headers"].get("origin")
        assert origin == common.other_origin, f"the request's origin: {origin}"
        sent = new[0]["response_headers"].get("access-control-allow-origin")
        assert sent is None, f"the function sent access-control-allow-origin {sent}"


# --- Swagger UI through the Lambda transport, stage prod -----------------------------------


def test_prod_docs_render_from_the_stage(prod, tab, records):
    """/prod/docs under the RIE: renders, from /prod/openapi.json."""
    page = tab()
    page.goto(f"{prod.api}/docs")
    found = swagger_operations(page)
    assert found == OPERATIONS, f"operations shown: {sorted(found)}"
    requested = records.requested(f"{prod.url}/")
    assert f"/{STAGE}/openapi.json" in requested, f"the page requested {requested}"
    assert f"/{STAGE}/openapi.json" in prod.records.received, f"the stand-in received {prod.records.received}"


def test_prod_try_it_out_with_7_reaches_the_function(prod, tab, common):
    """/prod/docs: Try it out with 7 reaches the function's /calculate/{number}, 200."""
    page = swagger_page(tab, f"{prod.api}/docs")
    block = calculate_block(page)
    try_it_out(block)
    received = prod.records.received
    received_before = len(received)
    logged_before = prod.log.count(CALCULATE_LOG)
    enter_number(block, "7")
    status, body, url = execute_and_read(block)
    assert status == "200", f"status {status}"
    assert body == SEVEN, f"body {body}"
    assert url == f"{prod.api}/calculate/7", f"request URL {url}"
    new = received[received_before:]
    assert new == [f"/{STAGE}/calculate/7"], f"the stand-in received {new}"
    event = prod.records.events[-1]
    assert event["rawPath"] == f"/{STAGE}/calculate/7", event["rawPath"]
    assert event["requestContext"]["stage"] == STAGE
    prod.log.wait_for(
        lambda lines: sum(CALCULATE_LOG in line and "status=200" in line for line in lines) > logged_before,
        10,
        "the function logs GET /calculate/{number} 200",
    )
    page.screenshot(path=str(common.out / "docs-prod.png"), full_page=True)


# --- Swagger UI's Authorize, on the function with AUTH_JWT_*, behind the JWT authorizer ----


def token() -> str:
    """A JWT the stand-in's authorizer reads (and, as a stand-in, does not verify)."""
    return ".".join(
        [
            b64url(compact({"alg": "HS256", "typ": "JWT"}).encode()),
            b64url(compact({"sub": CALLER, "iss": ISSUER, "aud": AUDIENCE}).encode()),
            b64url(b"stand-in: not checked"),
        ]
    )


def test_auth_document_has_http_bearer_and_authorize(prod_auth, tab):
    """With AUTH_JWT_*: /prod/openapi.json has HTTPBearer on every operation, Swagger UI an
    Authorize button."""
    document = get_json(f"{prod_auth.api}/openapi.json")
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
    page = tab()
    page.goto(f"{prod_auth.api}/docs")
    found = swagger_operations(page)
    assert found == OPERATIONS, f"operations shown: {sorted(found)}"
    expect(page.locator(".auth-wrapper button.authorize")).to_be_visible()


def test_auth_try_it_out_without_a_token_gets_the_functions_401(prod_auth, tab):
    """/prod/docs with AUTH_JWT_*: Try it out with 7, not authorized: the function's 401,
    www-authenticate: Bearer, no Authorization sent."""
    block = calculate_block(swagger_page(tab, f"{prod_auth.api}/docs"))
    try_it_out(block)
    seen_before = len(prod_auth.records.seen)
    enter_number(block, "7")
    status, body, _ = execute_and_read(block)
    assert status == "401", f"status {status}, body {body}"
    assert body == NOT_AUTHENTICATED, f"body {body}"
    new = [e for e in prod_auth.records.seen[seen_before:] if "/calculate/" in e["path"]]
    assert len(new) == 1, f"the stand-in received {[e['path'] for e in new]}"
    exchange = new[0]
    assert "authorization" not in exchange["headers"], exchange["headers"]
    assert "authorizer" not in prod_auth.records.events[-1]["requestContext"]
    challenge = exchange["response_headers"].get("www-authenticate")
    assert challenge == "Bearer", f"www-authenticate: {challenge}"


def test_auth_authorize_with_a_jwt_then_try_it_out_gets_200(prod_auth, tab, common):
    """/prod/docs: Authorize with a JWT, Try it out with 7: the token reaches the stand-in,
    its claims the event, 200, and the access line names the caller."""
    page = swagger_page(tab, f"{prod_auth.api}/docs")
    jwt = token()
    page.locator(".auth-wrapper button.authorize").click()
    modal = page.locator(".dialog-ux .modal-ux")
    expect(modal).to_be_visible()
    expect(modal).to_contain_text("HTTPBearer")
    modal.locator("input").fill(jwt)
    modal.locator(".auth-btn-wrapper button.authorize").click()
    expect(modal.locator(".auth-btn-wrapper button.authorize")).to_have_count(0)  # Logout
    modal.locator(".auth-btn-wrapper button.btn-done").click()
    expect(modal).to_have_count(0)
    block = calculate_block(page)
    try_it_out(block)
    records, log = prod_auth.records, prod_auth.log
    seen_before = len(records.seen)
    lines_before = len(access_lines(log, CALCULATE_ROUTE))
    enter_number(block, "7")
    status, body, _ = execute_and_read(block)
    new = [e for e in records.seen[seen_before:] if "/calculate/" in e["path"]]
    assert len(new) == 1, f"the stand-in received {[e['path'] for e in new]}"
    sent = new[0]["headers"].get("authorization")
    assert sent == f"Bearer {jwt}", f"the stand-in received Authorization: {sent}"
    assert status == "200", f"status {status}, body {body}"
    assert body == SEVEN, f"body {body}"
    claims = records.events[-1]["requestContext"].get("authorizer", {}).get("jwt", {}).get("claims", {})
    assert claims.get("sub") == CALLER, f"the event's claims: {claims}"
    log.wait_for(
        lambda _: len(access_lines(log, CALCULATE_ROUTE)) > lines_before,
        10,
        "the function logs its access line",
    )
    line = access_lines(log, CALCULATE_ROUTE)[-1]
    assert line.get("status") == 200, f"access line: {compact(line)}"
    assert line.get("caller") == CALLER, f"access line: {compact(line)}"
    page.screenshot(path=str(common.out / "docs-prod-authorized.png"), full_page=True)


# --- over every page the tests above opened (so these two run last) ------------------------


def test_pages_load_nothing_but_from_127_0_0_1(records):
    """The pages load nothing from any host but 127.0.0.1 (what the page's own CSP blocks
    never leaves the browser, and is allowed)."""
    assert records.requests, "no page was opened before this test: run it after the others"
    foreign = records.foreign()
    left = [url for url in foreign if records.failures.get(url) != "csp"]
    assert not left, f"requests to other hosts: {sorted(set(records.aborted or left))}"


def test_no_uncaught_javascript_error(records):
    """No uncaught JavaScript error on any page, nor an integrity error but on the pages whose
    bundles were tampered with."""
    assert records.requests, "no page was opened before this test: run it after the others"
    assert not records.page_errors, "\n".join(records.page_errors)
    integrity = [f"{url}: {text}" for tampered, url, text in records.console if not tampered and "integrity" in text]
    assert not integrity, "\n".join(integrity)
