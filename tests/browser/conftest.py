"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server.

Never downloads a browser: `scripts/ensure-chromium.sh` installs the system package.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls our fixtures make
# are ordinary synchronous calls, so Django's async-safety guard does not apply to them.
# (The same loop also moves this thread's database connections to another store while it
# runs: see ``browser``.)
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("BIZLOOM_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
SCREENSHOTS = Path(os.environ.get("BIZLOOM_SCREENSHOTS", "var/screenshots"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


def _close_database_connections() -> None:
    """Close the database connections this thread can reach right now, except one inside a transaction."""
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Chromium, driven through Playwright's sync API for the rest of the session (of this xdist worker).

    While that API is active its asyncio loop counts as running in this thread, so Django keeps
    the thread's database connections in a second store (``connections`` is an asgiref
    ``Local(thread_critical=True)``: a plain thread-local in a sync thread, a context variable
    when a loop runs). A connection is reachable only from the store it was opened in: the
    ones opened before Playwright starts cannot be closed while it runs, and the ones opened
    while it runs (by every later test of the worker) drop out of reach when it stops, still
    open. PostgreSQL then refuses to drop the test database at the end of the session
    ("database ... is being accessed by other users"). So the connections of each store are
    closed on its side of Playwright's lifetime.
    """
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run scripts/ensure-chromium.sh")
    from playwright.sync_api import sync_playwright

    _close_database_connections()
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            yield chromium
            chromium.close()
        finally:
            _close_database_connections()


@pytest.fixture
def page(browser, live_server, request) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=live_server.url, locale="en-US", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def login(page, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    """Sign in through the real form and wait for the home page."""
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/")
