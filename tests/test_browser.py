"""A real Chromium against a real `timeline serve` of the small test file: the events
table, the timeline, the event map and the home page (helpers: browsing.py)."""

from __future__ import annotations

import browsing
import pytest
from browsing import PHONE_WIDTH, open_popup, served, shot
from support import SMALL

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from served(tmp_path_factory, SMALL)


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
    monkeypatch.setattr(browsing, "CHROMIUM", tmp_path / "no-chromium")
    with pytest.raises(outcome):
        browsing.require_browser()


# --- the reader's edges: the map on a phone, query results, facets ------------------------


def test_map_on_a_phone_draws_borders_and_places_that_open_their_event(phone, server):
    phone.goto(f"{server}/record/event_map")
    phone.wait_for_selector('#event-map [data-map-state="drawn"]')
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    assert phone.locator("#sql-query").count() == 0
    assert phone.locator("#event-map .map-view path").count() > 100  # the country borders
    place = phone.locator('#event-map .map-view [aria-label="Montreux: 1 event"]')
    assert place.count() == 1
    shot(phone, "10-map-phone")
    open_popup(phone, place)
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
