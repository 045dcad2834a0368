"""Real headless Chromium (Debian's) driven by Playwright, against a live server in demo mode,
with a real django-q2 worker (`manage.py qcluster`) on the test database."""

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.db import connection
from playwright.sync_api import Browser, Page, Playwright, Route, sync_playwright

from catalog.models import SyncRun
from catalog.services import sync_run_execute
from tests.browser.support import ROOT, STAFF_PASSWORD, STAFF_USERNAME

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Every request to the fake's slow paths waits this long, so that a sync lasts a few seconds.
WORKER_FAKE_CONFIG = {"slow_seconds": 1.5}

# Spotify (and the fake) accept loopback IPs, never `localhost`, as OAuth redirect hosts.
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")
# Playwright's sync API keeps an event loop in this thread; the ORM calls the tests make here
# (set-up and assertions) are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"The browser tests need Debian's headless Chromium at {CHROMIUM}, and it is missing. "
            "Run scripts/ensure-chromium (as root it installs chromium and chromium-driver), "
            "or set CHROMIUM_PATH.",
            pytrace=False,
        )
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    # Playwright's own browser download is never used: it is Debian's Chromium or nothing.
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Browser, live_server: Any) -> Iterator[Page]:
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}, locale="en-GB"
    )
    context.set_default_timeout(15_000)
    # No network here: album art from Spotify's CDN is answered with a local placeholder.
    context.route("https://**/*", _placeholder_image)
    page = context.new_page()
    # Every scenario also proves our pages run under our own CSP: Chromium reports each blocked
    # inline script or style on the console.
    csp_violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            csp_violations.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )
    yield page
    context.close()
    assert csp_violations == []


def _placeholder_image(route: Route) -> None:
    if route.request.resource_type != "image":
        route.abort()
        return
    hue = sum(route.request.url.encode()) % 360
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
        f'<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">'
        f'<stop offset="0" stop-color="hsl({hue} 70% 55%)"/>'
        f'<stop offset="1" stop-color="hsl({(hue + 60) % 360} 60% 30%)"/></linearGradient></defs>'
        '<rect width="10" height="10" fill="url(#g)"/></svg>'
    )
    route.fulfill(status=200, content_type="image/svg+xml", body=svg)


@pytest.fixture
def demo_mode(settings: Any, live_server: Any) -> None:
    settings.SPOTIFY_CLIENT_ID = ""
    settings.SPOTIFY_CLIENT_SECRET = ""
    settings.SPOTIFY_REDIRECT_URI = f"{live_server.url}/auth/callback/"


@pytest.fixture
def synced(demo_mode: None) -> SyncRun:
    """Today's demo releases, as a first sync stores them."""
    run = sync_run_execute(trigger=SyncRun.Trigger.CLI)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    return run


@pytest.fixture
def staff_user(transactional_db: None) -> Any:
    return get_user_model().objects.create_user(
        STAFF_USERNAME, password=STAFF_PASSWORD, is_staff=True
    )


@pytest.fixture
def worker(demo_mode: None, live_server: Any) -> Iterator[subprocess.Popen[bytes]]:
    """`manage.py qcluster` on the test database, in demo mode, as `make run` starts it."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "postgres", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "SPOTIFY_CLIENT_ID": "",
        "SPOTIFY_CLIENT_SECRET": "",
        # Tokens are encrypted with a key derived from it: both processes must agree.
        "SECRET_KEY": django_settings.SECRET_KEY,
        "FAKE_SPOTIFY_CONFIG": json.dumps(WORKER_FAKE_CONFIG),
        "Q_WORKERS": "1",
        "Q_SYNC": "0",
        "DEBUG": "1",
    }
    env.pop("TEST_DATABASE_NAME", None)
    log = (ROOT / "test-results").joinpath("worker.log")
    log.parent.mkdir(exist_ok=True)
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "qcluster"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM lets the cluster stop its own worker processes; its session goes if it hangs."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
