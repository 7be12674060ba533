"""Playwright for Python driving Debian's Chromium (no browser download).

Set ``STATION_SCREENSHOTS=docs/screenshots`` to write the README's screenshots.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from station import runtime
from station.testing import LiveServer
from tests.conftest import need

CHROMIUM = os.environ.get("STATION_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    need("Chromium", Path(CHROMIUM).exists(), CHROMIUM)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    pg = context.new_page()
    yield pg
    context.close()


@pytest.fixture
def live(app: Any) -> Iterator[LiveServer]:
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def station_runtime(app: Any, live: LiveServer, demo_station: Any) -> Iterator[Any]:
    """The station runtime with every device of the demo simulated (printers, cameras, LED
    displays, the smoke meter), as `station demo` runs it. Progress URLs point at the live
    server."""
    config = app.extensions["station.config"]
    config.simulate_devices = True
    config.public_url = live.url
    rt = runtime.start(app)
    try:
        assert rt.active, "the test process must win the runtime lock"
        yield rt
    finally:
        rt.stop()


def topbar_misfits(page: Any) -> list[Any]:
    """The top bar's name and links that wrap onto a second line, and whether the page is
    wider than the window (nothing may stick out sideways)."""
    wrapped = page.evaluate("""() => [...document.querySelectorAll('.topbar .brand, .topbar nav > *')]
        .map(e => [e.textContent.trim(), e.getBoundingClientRect().height]).filter(([, h]) => h >= 34)""")
    return wrapped + (["page wider than the window"]
                      if page.evaluate("document.documentElement.scrollWidth > innerWidth") else [])


def screenshot(page: Any, tmp_path: Path, name: str) -> Path:
    """Save a screenshot (in tmp, and in STATION_SCREENSHOTS when set) and return its path."""
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    target = os.environ.get("STATION_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(target) / f"{name}.png"), full_page=True)
    return path


def log_in(page: Any, live: LiveServer, username: str, next_path: str) -> None:
    """Sign in as a demo staff member on the login page, landing on ``next_path``."""
    from station.services.demo import DEMO_PASSWORD

    page.goto(f"{live.url}/login?next={next_path}")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"**{next_path.split('?')[0]}*")
