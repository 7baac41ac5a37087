"""Chromium for the browser tests: Debian's, driven by Playwright, against a real
`timeline serve` process; pages that record every console problem; screenshots in
test-artifacts/.

A missing Playwright or /usr/bin/chromium skips the browser tests, except when CI=true:
then it is a failure, so CI can never pass without running them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from support import ROOT, serving

from conftest import skip_or_fail

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def require_browser():
    """The Playwright sync API, or skip/fail when it or Chromium is unavailable."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed")
    if not CHROMIUM.exists():
        skip_or_fail(f"{CHROMIUM} is missing (apt-get install chromium)")
    return sync_playwright


def served(tmp_path_factory, yaml_path: Path):
    """A real `timeline serve` of a copy of ``yaml_path`` (a generator for a module fixture)."""
    require_browser()
    site_dir = tmp_path_factory.mktemp("served")
    shutil.copy(yaml_path, site_dir / "events.yaml")
    with serving(site_dir) as base:
        yield base


def chromium():
    """Debian's Chromium, headless, closed afterwards (a generator for a module fixture)."""
    sync_playwright = require_browser()
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


# How long a browser test waits for a page, an element or a navigation: CI runs these
# tests beside the others on two cores, where a page can take seconds.
TIMEOUT_MS = 30_000
PHONE_WIDTH = 375


def open_page(browser, width: int = 1280, height: int = 900):
    """A context and a page that record console errors and warnings, script errors, failed
    requests and anything the Content-Security-Policy blocks; below 500 px wide, a touch
    phone. Returns (context, page, problems)."""
    phone = width < 500
    context = browser.new_context(viewport={"width": width, "height": height}, is_mobile=phone,
                                  has_touch=phone)  # fmt: skip
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"{m.type}: {m.text}")
            if m.type in ("error", "warning") else None)  # fmt: skip
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation',"
        " e => console.error('blocked by the policy: ' + e.violatedDirective));"
    )
    return context, page, problems


def checked_page(browser, width: int = 1280, height: int = 900):
    """A page from open_page, closed afterwards with nothing reported (a generator for a
    fixture)."""
    context, page, problems = open_page(browser, width, height)
    yield page
    context.close()
    assert problems == []


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


# Resolves once a marker's popup is open and the map has stopped panning to show it:
# Leaflet fires autopanstart (then moveend when the pan ends) before popupopen.
_POPUP_SETTLED = """map => { window.popupSettled = new Promise(resolve => {
    let panning = false;
    map.once('autopanstart', () => { panning = true; map.once('moveend', resolve); });
    map.once('popupopen', () => { if (!panning) resolve(); });
}); }"""


def open_popup(page, marker, view: str = "#event-map .map-view") -> None:
    """Click a map marker and wait until its popup is open and still: a click on the popup
    while the map pans to show it can land on the map itself, which closes the popup."""
    page.locator(view).evaluate(f"view => ({_POPUP_SETTLED})(view.leafletMap)")
    marker.click()
    page.evaluate("() => window.popupSettled")


# The visual timeline's data (plugins/timeline_overview.py), for page.route.
OVERVIEW_DATA = "**/-/timeline-overview.json*"


def enlarged_overview(times: int, limit: int | None = None):
    """A page.route handler answering the visual timeline's data with each event ``times``
    times (new ids, each copy beside its original, so still in date order), cut at ``limit``
    rows: what the script does with a record that large, without building one."""

    def handler(route) -> None:
        response = route.fetch()
        body = response.json()
        rows = [[f"{row[0]}-{n}", *row[1:]] for row in body["rows"] for n in range(times)]
        body["rows"] = rows[:limit]
        route.fulfill(response=response, json=body)

    return handler
