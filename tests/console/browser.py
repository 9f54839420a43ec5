"""Playwright with Debian's Chromium (``executable_path``, no browser download) for the console tests.

``browser_page`` yields a page that records console errors and failed requests; screenshots go to
``test-artifacts/console/`` (or ``$TEST_ARTIFACTS``). Without Chromium the tests skip, unless ``CI`` is set.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ARTIFACTS = (
    Path(os.environ.get("TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts")) / "console"
)


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "Chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI is set, so the browser tests must run")
        pytest.skip(message)
    return found


@dataclass
class BrowserPage:
    """A Playwright page plus what went wrong in it."""

    page: Any
    errors: list[str] = field(default_factory=list)

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def browser_page() -> Iterator[BrowserPage]:
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            recorded = BrowserPage(page)
            page.on("console", lambda msg: recorded.errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: recorded.errors.append(str(exc)))
            page.on(
                "requestfailed",
                lambda request: (
                    recorded.errors.append(f"request failed: {request.url}")
                    if "/console/events" not in request.url
                    else None
                ),
            )
            yield recorded
            context.close()
        finally:
            browser.close()
