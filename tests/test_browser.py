"""A real Chromium, driven by Playwright, against a real `timeline serve` process.

Skips when Playwright or /usr/bin/chromium is missing, except when CI=true:
then a missing browser is a failure, so CI can never pass without running it.
Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from test_site_support import ROOT, SMALL, serving

from conftest import skip_or_fail

pytestmark = pytest.mark.browser

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


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from served(tmp_path_factory, SMALL)


@pytest.fixture(scope="module")
def browser(server):
    yield from chromium()


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


@pytest.fixture
def page(browser):
    yield from checked_page(browser)


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def table_ids(page) -> list[str]:
    """Event ids in the events table's reading view, top to bottom."""
    rows = page.locator("table.events-reading tr.event-row")
    return [rows.nth(i).get_attribute("data-id") for i in range(rows.count())]


def test_events_table_actor_facet(page, server):
    page.goto(f"{server}/record/events")
    assert len(table_ids(page)) == 4
    shot(page, "01-events-table")
    page.locator("#facet-actors a", has_text="Russia").click()
    page.wait_for_url("**_actors=Russia**")
    assert table_ids(page) == ["flight-suspension", "fleet-destroyed-claim"]
    shot(page, "02-events-filtered-by-actor")


def test_search_then_open_an_event(page, server):
    page.goto(f"{server}/record/events")
    page.fill("input[name=_search]", "drones")
    page.press("input[name=_search]", "Enter")
    page.wait_for_url("**_search=drones**")
    assert sorted(table_ids(page)) == ["baykar-ukrspecexport-2019", "fleet-destroyed-claim"]
    shot(page, "03-search")
    page.locator("td.title a", has_text="Claim that the drone fleet was destroyed").click()
    page.wait_for_url("**/record/events/fleet-destroyed-claim")
    assert page.locator("h1").inner_text() == "Claim that the drone fleet was destroyed"
    assert page.locator(".event-date time").inner_text() == "c. February 2022"
    assert page.locator(".event-meta .status").inner_text().lower() == "refuted"
    assert "This event is refuted" in page.locator(".status-explained").inner_text()
    assert page.locator("li.citation").count() == 2
    shot(page, "04-event-page")
    page.locator("ul.actors a", has_text="Russia").first.click()
    page.wait_for_url("**_actors=Russia**")
    assert table_ids(page) == ["flight-suspension", "fleet-destroyed-claim"]
    # Every column is one click away.
    page.locator(".table-view-switch a").click()
    page.wait_for_url("**_full=1**")
    cells = page.locator("table.rows-and-columns tbody td.col-id").all_inner_texts()
    assert cells == ["flight-suspension", "fleet-destroyed-claim"]
    shot(page, "04b-events-all-columns")


def test_timeline_filter(page, server):
    page.goto(f"{server}/timeline")
    assert page.locator("section.year h2").all_inner_texts() == ["1936", "2019", "2021", "2022"]
    assert page.locator("#event-baykar-ukrspecexport-2019 time").inner_text() == "2019"
    page.locator("details.filters summary").click()
    page.select_option("select[name=actor]", "russia")
    page.fill("input[name=from]", "2022")
    page.click("input[type=submit][value=Apply]")
    page.wait_for_url("**from=2022**")
    assert "actor=russia" in page.url
    assert page.locator("li.event h3").all_inner_texts() == [
        "Claim that the drone fleet was destroyed"
    ]
    shot(page, "05-timeline-filtered")
    page.locator("li.event h3 a").click()
    page.wait_for_url("**/record/events/fleet-destroyed-claim")


def test_timeline_on_a_phone(phone, server):
    phone.goto(f"{server}/timeline")
    # Nothing wider than the screen: no sideways scrolling to read the timeline.
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, width
    shot(phone, "06-timeline-phone")
    phone.goto(f"{server}/record/events/baykar-ukrspecexport-2019")
    shot(phone, "07-event-phone")


def test_home_about_and_map(page, server):
    page.goto(f"{server}/")
    shot(page, "08-home")
    page.goto(f"{server}/about")
    assert page.locator("h1").inner_text() == "About this timeline"
    page.goto(f"{server}/record/event_map")
    page.wait_for_selector('#event-map [data-map-state="drawn"]')
    shot(page, "09-map")


@pytest.mark.parametrize(
    ("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)]
)
def test_missing_chromium_skips_locally_and_fails_under_ci(monkeypatch, tmp_path, ci, outcome):
    monkeypatch.setenv("CI", ci)
    monkeypatch.setattr(sys.modules[__name__], "CHROMIUM", tmp_path / "no-chromium")
    with pytest.raises(outcome):
        require_browser()


# --- the reader's edges: the map on a phone, query results, facets ------------------------


@pytest.fixture
def phone(browser):
    yield from checked_page(browser, PHONE_WIDTH, 812)


def test_map_on_a_phone_draws_borders_and_places_that_open_their_event(phone, server):
    phone.goto(f"{server}/record/event_map")
    phone.wait_for_selector('#event-map [data-map-state="drawn"]')
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    assert phone.locator("#sql-query").count() == 0
    assert phone.locator("#event-map .map-view path").count() > 100  # the country borders
    place = phone.locator('#event-map .map-view [aria-label="Montreux: 1 event"]')
    assert place.count() == 1
    shot(phone, "10-map-phone")
    place.click()
    phone.locator(".map-popup a", has_text="Montreux Convention signed").click()
    # the event's page is reached (its scripts and images are another test's)
    phone.wait_for_url("**/record/events/montreux", wait_until="commit")
    assert phone.locator("h1").inner_text().startswith("Montreux Convention signed")


def test_events_facets_on_a_phone_wrap_between_words(phone, server):
    phone.goto(f"{server}/record/events")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    item = phone.locator("#facet-countries li").first
    style = item.evaluate("e => [getComputedStyle(e).wordBreak, getComputedStyle(e).overflowWrap]")
    assert style == ["normal", "break-word"]
    columns = phone.locator(".facet-results").evaluate(
        "e => getComputedStyle(e).gridTemplateColumns.split(' ').length"
    )
    assert columns == 2
    assert item.inner_text().startswith("Türkiye (TR)")
    shot(phone, "11-events-facets-phone")


def test_query_results_show_linked_titles_not_ids(page, server):
    page.goto(f"{server}/record/events_between?from=2019&to=2019")
    title = page.locator("table.rows-and-columns td.col-title a")
    assert title.inner_text() == "Baykar and Ukrspecexport sign a cooperation agreement"
    assert not page.locator("table.rows-and-columns td.col-event_id").first.is_visible()
    assert page.locator("#sql-query").count() == 0
    title.click()
    page.wait_for_url("**/record/events/baykar-ukrspecexport-2019")
