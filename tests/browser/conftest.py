"""The web pages in a real browser: headless Chromium (Debian's `chromium` package, which
`.ci/run` installs) driven by Playwright, against a real `monitor run` process that polls
loopback fixture servers and delivers to a loopback webhook receiver.

Screenshots land in the test's temporary folder, or in $MONITOR_SCREENSHOTS when it is set
(`MONITOR_SCREENSHOTS=docs/screenshots pytest tests/browser` refreshes the README's images).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.fixture_server import FixtureServer, Route
from tests.alerts.conftest import Hook, free_port
from tests.conftest import FIXTURES, ROOT
from tests.test_service import monitor_run

TOKEN = "browser-test-token-5d1c"
# Survives normalisation as text (a lone "<img" with no ">" is not a tag to the normaliser),
# but would become an <img onerror=…> if a page printed it unescaped.
HOSTILE_TITLE = "Biegun: 5 < 6 <img src=x onerror=alert(1)//"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium_path() -> str | None:
    explicit = os.environ.get("MONITOR_TEST_CHROMIUM")
    if explicit:
        return explicit
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


# Module scope: while Playwright's sync API lives it keeps an event loop running in this
# thread, and every asyncio.run() of a later test would fail; pytest tears a module's
# fixtures down before it runs a test of another module (with or without xdist).
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')"
    )
    executable = chromium_path()
    if executable is None:
        pytest.skip(
            "no Chromium on this machine: `apt-get install -y chromium` (.ci/run does it) "
            "or set MONITOR_TEST_CHROMIUM"
        )
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-extensions",
            ],
        )
        yield launched
        launched.close()


def hostile_feed() -> bytes:
    """An RSS feed whose one item has a title that would run script if not escaped."""
    from xml.sax.saxutils import escape

    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Hostile</title><link>https://hostile.example/</link>
<description>x</description>
<item><title>{escape(HOSTILE_TITLE)}</title><link>https://hostile.example/1</link>
<guid>https://hostile.example/1</guid><pubDate>Tue, 01 Dec 2026 09:00:00 GMT</pubDate>
<description>Special Representative Biegun met officials.</description></item>
</channel></rss>""".encode()


def changing_feed(sentence: str) -> bytes:
    """One release whose text the test edits between polls (a new version of it)."""
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Changing</title><link>https://changing.example/</link>
<description>x</description>
<item><title>Readout of the envoy's call</title><link>https://changing.example/readout</link>
<guid>https://changing.example/readout</guid><pubDate>Tue, 01 Dec 2026 08:00:00 GMT</pubDate>
<description>The envoy spoke with his counterpart today. {sentence} Both sides agreed to
keep in close touch.</description></item>
</channel></rss>""".encode()


@dataclass
class Running:
    """A `monitor run` process and what it polls."""

    url: str
    feeds: FixtureServer
    flaky: FixtureServer
    hook: Hook
    workdir: Path
    process: subprocess.Popen[bytes]
    log: Path
    screenshots: Path
    shots: list[Path] = field(default_factory=list)

    def wait_for(self, check: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            if self.process.poll() is not None:
                raise AssertionError(f"monitor run exited:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.2)
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")

    def api(self, path: str) -> Any:
        with httpx.Client(base_url=self.url, timeout=5) as client:
            page = client.get("/login")
            client.post("/login", data={"token": TOKEN, "csrf_token": csrf_of(page.text)})
            response = client.get(path)
            response.raise_for_status()
            return response.json()


def csrf_of(html: str) -> str:
    import re

    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


@pytest.fixture(scope="session")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    workdir = tmp_path_factory.mktemp("browser")
    shots = Path(os.environ.get("MONITOR_SCREENSHOTS") or workdir / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    feeds = FixtureServer().start()
    flaky = FixtureServer().start()
    hook = Hook()
    feeds.routes["/hook"] = hook
    feeds.routes["/state"] = Route(
        body=(FIXTURES / "state/press-releases.rss").read_bytes(),
        content_type="application/rss+xml",
    )
    feeds.routes["/hostile"] = Route(body=hostile_feed(), content_type="application/rss+xml")
    feeds.routes["/changing"] = Route(
        body=changing_feed("The talks will resume in Geneva next week."),
        content_type="application/rss+xml",
    )
    flaky.routes["/yonhap"] = Route(
        body=(FIXTURES / "news/yonhap-nk.rss").read_bytes(), content_type="application/rss+xml"
    )
    config = workdir / "config"
    config.mkdir()
    (config / "sources.yaml").write_text(
        "sources:\n"
        f"  - {{id: state, type: rss, url: '{feeds.url('/state')}', every: 1h, "
        "alert_max_age: 36500d}\n"
        # 10 s, longer than httpx keeps an idle connection: the poll after the flaky server
        # stops opens a new one (every 2 s, a kept-alive connection was still answered).
        f"  - {{id: yonhap, type: rss, url: '{flaky.url('/yonhap')}', every: 10s}}\n"
        f"  - {{id: changing, type: rss, url: '{feeds.url('/changing')}', every: 2s}}\n"
        f"  - {{id: hostile, type: rss, url: '{feeds.url('/hostile')}', every: 1h, "
        "alert_max_age: 36500d}\n"
    )
    (config / "rules.yaml").write_text(
        "rules:\n  - {id: biegun, name: Mentions of Biegun, query: biegun, notify: [hook]}\n"
    )
    (config / "channels.yaml").write_text(
        f"channels:\n  hook: {{type: webhook, url: '{feeds.url('/hook')}'}}\n"
    )
    port = free_port()
    log = workdir / "service.log"
    env = {
        **os.environ,
        "MONITOR_CONFIG_DIR": str(config),
        "MONITOR_HTTP_PORT": str(port),
        "MONITOR_DATABASE_URL": f"sqlite:///{workdir}/monitor.db",
        "MONITOR_HOST_DELAY": "0",
        "MONITOR_FETCH_ATTEMPTS": "1",
        "MONITOR_WEB_TOKEN": TOKEN,
    }
    with log.open("w") as out:
        process = subprocess.Popen(
            # `changing` is polled every 2 s (the floor of `every` lowered in this process):
            # its new version shows within seconds.
            monitor_run(floor=2),
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    running = Running(f"http://127.0.0.1:{port}", feeds, flaky, hook, workdir, process, log, shots)

    def healthy() -> bool:
        try:
            return httpx.get(f"{running.url}/healthz", timeout=2).status_code in (200, 503)
        except httpx.HTTPError:
            return False

    try:
        running.wait_for(healthy, 30, "/healthz to answer")
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        feeds.stop()
        flaky.stop()


@pytest.fixture
def page(browser: Any, running: Running) -> Iterator[Any]:
    """A fresh browser context (no cookies) at 1280 px."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def log_in(page: Any, running: Running) -> None:
    page.goto(f"{running.url}/login")
    page.fill("input[name=token]", TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url(f"{running.url}/")


def shoot(page: Any, running: Running, name: str) -> Path:
    path = running.screenshots / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    running.shots.append(path)
    return path
