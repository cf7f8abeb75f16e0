"""What the browser tests run against, as pytest fixtures; run by scripts/docs-browser.

scripts/docs-browser installs Chromium (Debian's), pytest, pytest-playwright and the pinned
Swagger UI and ReDoc bundles, then runs pytest on this folder with their paths as options
(below). pytest-playwright gives each test a fresh browser context of one Chromium (this
machine's /usr/bin/chromium, never a downloaded one: `browser_type_launch_args`); `tab` opens
pages in it and records every request, error and console line they make.

The servers are session fixtures, started when a test first needs them and stopped after the
last (processes through scripts/harness.py, which also stops them at exit and on SIGTERM):
  - `common`: the bundles (to any origin, as a CDN serves them) and a tampered copy (one byte
    appended to each script), two pages on origins of their own (one in CORS_ALLOW_ORIGINS, one
    not), the upstream stub;
  - `local`: the local server; `tampered_local`: one whose pages load the tampered bundles;
  - `prod`, `prod_auth`: the function under AWS's Runtime Interface Emulator behind an API
    Gateway stand-in (HTTP API v2 events, stage `prod`, one invocation at a time), once open,
    once with AUTH_JWT_ISSUER/AUTH_JWT_AUDIENCE (the stand-in plays the JWT authorizer).
Everything listens on 127.0.0.1. The processes' logs go to <--screenshot-dir>/logs/.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from stand_ins import (
    AUDIENCE,
    ISSUER,
    REDOC_JS,
    STAGE,
    SWAGGER_UI_CSS,
    SWAGGER_UI_JS,
    AssetHandler,
    OriginPage,
    serve,
    stand_in,
)

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import harness  # noqa: E402

# As the browser was launched before the tests moved to pytest: headless, no sandbox (root in
# a container), nothing fetched in the background.
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


def pytest_addoption(parser):
    group = parser.getgroup("docs-browser", "the browser tests (scripts/docs-browser passes these)")
    group.addoption("--binary", required=True, help="the lambda-async-api binary")
    group.addoption("--rie", required=True, help="AWS's Runtime Interface Emulator (scripts/rie)")
    group.addoption("--chromium", default="/usr/bin/chromium", help="the Chromium to drive")
    group.addoption("--assets", required=True, help="the DOCS_ASSET_URL layout to serve")
    group.addoption("--swagger-ui-package", required=True, help="swagger-ui-dist@VERSION")
    group.addoption("--redoc-package", required=True, help="redoc@VERSION")
    group.addoption("--screenshot-dir", default="target/docs-browser", help="screenshots (and logs/) go here")


def pytest_configure(config):
    # A TERM (scripts/docs-browser's time limit) unwinds the fixtures; harness stops the rest.
    harness.stop_on_signals()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """The line scripts/test's readers look for, as before the move to pytest."""
    stats = terminalreporter.stats
    passed = len(stats.get("passed", []))
    failed = len(stats.get("failed", [])) + len(stats.get("error", []))
    out = config.getoption("screenshot_dir")
    terminalreporter.write_line(f"docs-browser: screenshots in {out}/, the processes' logs in {out}/logs/")
    terminalreporter.write_line(f"docs-browser: {passed} passed, {failed} failed")


# --- the browser -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args, pytestconfig):
    return {
        **browser_type_launch_args,
        "executable_path": pytestconfig.getoption("chromium"),
        "headless": True,
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1280, "height": 900}}


def local_url(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme in ("data", "blob", "about") or parts.hostname == "127.0.0.1"


def path_of(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@dataclass
class Records:
    """Every request any page of the session made, and what went wrong. A request to a host
    other than 127.0.0.1 that leaves the browser is aborted (so such a page fails fast) and
    fails test_pages_load_only_from_127_0_0_1; one that the page's own Content-Security-Policy
    blocks never leaves it."""

    requests: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    aborted: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    expected_errors: list[str] = field(default_factory=list)  # pages with tampered bundles
    console: list[tuple[bool, str, str]] = field(default_factory=list)  # (tampered?, URL, text)

    def foreign(self) -> list[str]:
        """The requests to any host but 127.0.0.1."""
        return [url for url in self.requests if not local_url(url)]

    def requested(self, prefix: str) -> list[str]:
        return [path_of(url) for url in self.requests if url.startswith(prefix)]

    def abort(self, route):
        self.aborted.append(f"{route.request.url} (from {route.request.frame.url})")
        route.abort()


@pytest.fixture(scope="session")
def records() -> Records:
    return Records()


@pytest.fixture
def tab(context, records):
    """Opens a page in this test's browser context: `tab()`, or `tab(tampered=True)` for one
    whose bundles are altered (its uncaught errors are expected, kept apart)."""
    context.set_default_timeout(WAIT_MS)
    context.on("request", lambda request: records.requests.append(request.url))
    context.on("requestfailed", lambda request: records.failures.setdefault(request.url, request.failure or ""))
    context.route(lambda url: not local_url(url), records.abort)

    def new(tampered: bool = False):
        page = context.new_page()
        errors = records.expected_errors if tampered else records.page_errors
        page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
        page.on("console", lambda message: records.console.append((tampered, page.url, message.text)))
        return page

    return new


# --- the servers -------------------------------------------------------------------------


@dataclass
class Common:
    binary: str  # a copy: the RIE starts it at its first invocation, and a build meanwhile
    # would have the two transports run different code
    out: Path  # screenshots
    logs: Path
    env: dict  # what every function process gets
    assets: Path  # the pinned files
    asset_url: str
    tampered_assets: Path
    tampered_asset_url: str
    tampered_served: list  # (path, status) the tampered asset server answered
    swagger_ui_package: str  # swagger-ui-dist@5.35.0
    redoc_package: str  # redoc@2.5.4
    allowed_origin: str  # in CORS_ALLOW_ORIGINS
    other_origin: str  # not in it


@dataclass
class Api:
    """One running API the browser calls: its base URL (with the stage, under the RIE), its
    log, and for one under the RIE the base without the stage and the stand-in's records."""

    api: str
    log: harness.Log
    url: str = ""  # the stand-in, without the stage
    records: type | None = None  # its handler class: received, events, seen


@pytest.fixture(scope="session")
def common(pytestconfig, tmp_path_factory):
    option = pytestconfig.getoption
    out = Path(option("screenshot_dir"))
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path_factory.mktemp("docs-browser")
    binary = str(tmp / "lambda-async-api")
    shutil.copy2(option("binary"), binary)
    swagger_ui, redoc = option("swagger_ui_package"), option("redoc_package")

    servers = []
    asset_dir = Path(option("assets"))
    assets = serve(functools.partial(AssetHandler, directory=str(asset_dir)))
    assets.served = []
    servers.append(assets)
    # The same layout with each script one byte longer (the stylesheet as pinned).
    tampered_dir = tmp / "tampered-assets"
    for package, name, alter in [
        (swagger_ui, SWAGGER_UI_JS, True),
        (swagger_ui, SWAGGER_UI_CSS, False),
        (redoc, REDOC_JS, True),
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
    # The pages on other origins; their ports are known before the API starts.
    allowed_page, other_page = serve(OriginPage), serve(OriginPage)
    servers += [allowed_page, other_page]
    url = lambda server: f"http://127.0.0.1:{server.server_address[1]}"  # noqa: E731

    stub, ports = harness.upstream_stub(str(logs / "upstream.log"))
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "AUTH_", "CORS_")) and k not in ("DOCS", "HOST", "PORT", "RUST_LOG")
    }
    env.update(
        EXTERNAL_API_URL=f"http://127.0.0.1:{ports['http']}/todos/1",
        DOCS_ASSET_URL=url(assets),
        CORS_ALLOW_ORIGINS=url(allowed_page),
        RUST_LOG="info",
        NO_COLOR="1",
    )
    try:
        yield Common(
            binary=binary,
            out=out,
            logs=logs,
            env=env,
            assets=asset_dir,
            asset_url=url(assets),
            tampered_assets=tampered_dir,
            tampered_asset_url=url(tampered),
            tampered_served=tampered.served,
            swagger_ui_package=swagger_ui,
            redoc_package=redoc,
            allowed_origin=url(allowed_page),
            other_origin=url(other_page),
        )
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
        stub.stop()


def local_server(common: Common, name: str, **env) -> tuple[harness.Proc, Api]:
    log = str(common.logs / f"{name}.log")
    proc = harness.Proc([common.binary], dict(common.env, HOST="127.0.0.1", PORT="0", **env), log, truncate=True)
    try:
        base = proc.wait_for_line("listening on ", timeout=20).split()[0]
    except BaseException:
        proc.stop()
        raise
    return proc, Api(api=base, log=proc.log)


@pytest.fixture(scope="session")
def local(common):
    """The local server."""
    proc, api = local_server(common, "local")
    yield api
    proc.stop()


@pytest.fixture(scope="session")
def tampered_local(common):
    """A local server whose pages load the tampered bundles."""
    proc, api = local_server(common, "local-tampered", DOCS_ASSET_URL=common.tampered_asset_url)
    yield api
    proc.stop()


def under_rie(common: Common, rie: str, name: str, **env):
    """The function under the RIE (classic mode: one invocation at a time) behind the API
    Gateway stand-in; the RIE and the stand-in, stopped after the last test."""
    rie_port, runtime_port = harness.free_port(), harness.free_port()
    argv = [
        "timeout", "--signal=TERM", "280", rie,  # a guard of its own
        "--runtime-interface-emulator-address", f"127.0.0.1:{rie_port}",
        "--runtime-api-address", f"127.0.0.1:{runtime_port}",
        common.binary,
    ]
    env = dict(common.env, AWS_REGION="us-east-1", AWS_LAMBDA_FUNCTION_NAME="lambda-async-api", **env)
    proc = harness.Proc(argv, env, str(common.logs / f"{name}.log"), truncate=True)
    try:
        harness.wait_listening(rie_port, proc)
        gateway, handler = stand_in(f"http://127.0.0.1:{rie_port}/2015-03-31/functions/function/invocations")
    except BaseException:
        proc.stop()
        raise
    url = f"http://127.0.0.1:{gateway.server_address[1]}"
    yield Api(api=f"{url}/{STAGE}", log=proc.log, url=url, records=handler)
    gateway.shutdown()
    gateway.server_close()
    proc.stop()


@pytest.fixture(scope="session")
def prod(common, pytestconfig):
    """The function under the RIE, open, behind the stage `prod` stand-in."""
    yield from under_rie(common, pytestconfig.getoption("rie"), "rie")


@pytest.fixture(scope="session")
def prod_auth(common, pytestconfig):
    """The same with AUTH_JWT_* (and JSON log lines: the access line's `caller` is read)."""
    yield from under_rie(
        common,
        pytestconfig.getoption("rie"),
        "rie-auth",
        AUTH_JWT_ISSUER=ISSUER,
        AUTH_JWT_AUDIENCE=AUDIENCE,
        AWS_LAMBDA_LOG_FORMAT="JSON",
    )
