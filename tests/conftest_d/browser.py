"""Headless Chromium with every host unreachable, for the tests of self-contained pages.

``chromium`` launches Debian's ``/usr/bin/chromium`` through Playwright (its own browsers are
never downloaded) with every host name unresolvable (``--host-resolver-rules``) and a dead
proxy, so a page that needs the network fails for real; :class:`OfflineLog` also records,
through Playwright's routing, every request that is not a ``file:``, ``data:`` or ``blob:``
URL and aborts it. Locally a missing requirement skips the test; under CI (``CI`` set) it
fails it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
#: Arguments of the offline browser: no host resolves, the proxy is a closed local port.
OFFLINE_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=http://127.0.0.1:9",
]
#: The projector the atelier is used on.
PROJECTOR = {"width": 1400, "height": 1000}


def browser_unavailable(reason: str) -> None:
    """Skip locally, fail under CI."""
    if os.environ.get("CI"):
        pytest.fail(f"browser test requirement missing under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def playwright_session():
    """The process's one Playwright (sync API: a second instance cannot start beside it)."""
    if not CHROMIUM.is_file():
        browser_unavailable(f"{CHROMIUM} not found (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        browser_unavailable("the playwright Python package is not installed")
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def chromium(playwright_session):
    """Headless Chromium, every host unreachable."""
    b = playwright_session.chromium.launch(executable_path=str(CHROMIUM), args=OFFLINE_ARGS)
    yield b
    b.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory) -> Path:
    """Folder of the screenshots: ``$GEOATTRACT_SCREENSHOTS`` when set, else a temporary one."""
    folder = os.environ.get("GEOATTRACT_SCREENSHOTS")
    out = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    out.mkdir(parents=True, exist_ok=True)
    return out


class OfflineLog:
    """Console errors, uncaught exceptions, dialogs and outside requests of one page."""

    LOCAL = ("file:", "data:", "blob:")

    def __init__(self, page):
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.outside: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        page.on("dialog", self._dialog)
        page.route("**/*", self._route)

    def _route(self, route):
        url = route.request.url
        if url.startswith(self.LOCAL):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()


def open_offline(browser, path: Path, viewport=None, timeout_ms: int = 30_000):
    """Open a local page in a new tab (downloads accepted); returns (page, log)."""
    page = browser.new_page(viewport=viewport or PROJECTOR, accept_downloads=True)
    page.set_default_timeout(timeout_ms)
    log = OfflineLog(page)
    page.goto(path.as_uri())
    return page, log
