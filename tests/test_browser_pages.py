"""Chromium on the real data: entity pages, the claims page, a reader's path from a
timeline card to an actor and back, and no sideways scrolling on a phone anywhere.

A screenshot of every page at desktop and phone width goes to test-artifacts/.
"""

from __future__ import annotations

import pytest
from browsing import ARTIFACTS, PHONE_WIDTH, open_page, served, shot
from support import REAL

pytestmark = pytest.mark.browser


# Every kind of page a reader meets, on the real data.
PAGES = {
    "home": "/",
    "timeline": "/timeline",
    "timeline-filtered": "/timeline?actor=baykar&from=2019",
    "events-table": "/record/events",
    "event": "/record/events/2019-01-12-ukrspecexport-baykar-tb2-contract",
    "actors-table": "/record/actors",
    "actor": "/record/actors/baykar",
    "sources-table": "/record/sources",
    "source": "/record/sources/seed-000-antonopoulos-globalresearch",
    "systems-table": "/record/systems",
    "system": "/record/systems/bayraktar-tb2",
    "claims": "/claims",
    "register": "/register",
    "register-system": "/register?system=bayraktar-tb2",
    "data": "/data",
    "about": "/about",
    "map": "/record/event_map",
    "query-disputed": "/record/disputed_claims",
    "query-between": "/record/events_between?from=2019&to=2020",
    "search": "/record/events?_search=Bayraktar",
    "not-found": "/record/events/no-such-event",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from served(tmp_path_factory, REAL)


def test_actor_page(page, server):
    page.goto(f"{server}/record/actors/baykar")
    assert page.locator("h1").inner_text() == "Baykar"
    assert page.locator(".entity-meta").inner_text().startswith("company · Türkiye")
    assert page.locator("ol.mini-timeline li").count() >= 10
    assert page.locator("ul.together li").count() > 0
    shot(page, "20-actor")
    page.locator("ul.together a").first.click()
    page.wait_for_url("**/record/actors/**")
    assert page.locator("article.actor-page h1").count() == 1


def test_source_page_shows_quotes_and_track_record(page, server):
    page.goto(f"{server}/record/sources/seed-000-antonopoulos-globalresearch")
    assert page.locator("li.citation blockquote").count() >= 1
    assert "Cited" in page.locator("article").inner_text()
    shot(page, "21-source")


def test_system_page_shows_transfers(page, server):
    page.goto(f"{server}/record/systems/bayraktar-tb2")
    assert "Bayraktar TB2" in page.locator("h1").inner_text()
    assert page.locator("article").inner_text().count("Baykar") >= 1
    shot(page, "22-system")


def test_claims_page_sets_evidence_side_by_side(page, server):
    page.goto(f"{server}/claims")
    cards = page.locator("article.claim-card")
    assert cards.count() > 0
    card = cards.first
    items = card.locator(".evidence-item")
    assert items.count() >= 1
    # For and against sit side by side on a desktop: same top, different left.
    against = page.locator("article.claim-card:has(.stance-contradicts):has(.stance-supports)")
    if against.count():
        boxes = [
            against.first.locator(f".stance-{s}").first.bounding_box()
            for s in ("supports", "contradicts")
        ]
        assert boxes[0]["x"] != boxes[1]["x"]
    shot(page, "23-claims")


def test_from_a_card_to_an_actor_and_back(page, server):
    page.goto(f"{server}/timeline")
    card = page.locator("li.event:has(p.who a)").nth(5)
    card.scroll_into_view_if_needed()
    event_id = card.get_attribute("id")
    link = card.locator("p.who a").first
    name = link.inner_text()
    y_before = page.evaluate("window.scrollY")
    link.click()
    page.wait_for_url("**/record/actors/**")
    assert page.locator("h1").inner_text() == name
    page.go_back()
    page.wait_for_url(f"{server}/timeline")
    assert page.locator(f"#{event_id}").is_visible()
    assert abs(page.evaluate("window.scrollY") - y_before) < 50  # the reader's place is kept
    # And from the card's type link to the timeline filtered by that type.
    event_type = card.locator("p.meta a").first.inner_text()
    card.locator("p.meta a").first.click()
    page.wait_for_url(f"**type={event_type}**")
    assert page.locator("li.event").count() > 0


def visit(browser, url: str, name: str, width: int) -> tuple[int, list[int], list[str]]:
    """Open a page; its status, [scrollWidth, innerWidth] and console errors (a missing
    page's own 404 is expected). A screenshot is kept."""
    context, page, errors = open_page(browser, width)
    try:
        status = page.goto(url).status
        page.wait_for_load_state("networkidle")
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        shot(page, name)
    finally:
        context.close()
    expected_404 = "the server responded with a status of 404"
    return status, widths, [e for e in errors if not (status == 404 and expected_404 in e)]


@pytest.mark.parametrize("name", sorted(PAGES))
def test_no_sideways_scroll_on_a_phone(browser, server, name):
    _, (width, inner), errors = visit(
        browser, f"{server}{PAGES[name]}", f"phone-{name}", PHONE_WIDTH
    )
    assert width <= inner, f"{name}: {width}px wide on a {inner}px screen"
    assert not errors, errors


@pytest.mark.parametrize("name", sorted(PAGES))
def test_every_page_renders_on_a_desktop(browser, server, name):
    status, _, errors = visit(
        browser,
        f"{server}{PAGES[name]}",
        f"desktop-{name}",
        1280,
    )
    assert status == (404 if name == "not-found" else 200)
    assert not errors, errors


def overlap(a: dict, b: dict) -> bool:
    """Whether two bounding boxes share any area."""
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


@pytest.mark.parametrize("width", [PHONE_WIDTH, 1280])
def test_filter_boxes_are_usable_and_do_not_overlap(browser, server, width):
    context, page, errors = open_page(browser, width)
    try:
        page.goto(f"{server}/timeline?from=2019")
        boxes = [
            page.locator(f"form.timeline-filters label:has([name={name}])").bounding_box()
            for name in ("actor", "type", "tag", "status", "from", "to")
        ]
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                assert not overlap(a, b), (a, b)
        for name in ("from", "to"):
            assert page.locator(f"input[name={name}]").bounding_box()["width"] >= 120
    finally:
        context.close()
    assert not errors, errors


@pytest.mark.parametrize("width", [PHONE_WIDTH, 1280])
def test_an_event_pages_previous_and_next_events_stand_apart(browser, server, width):
    """Two labelled boxes, side by side or one above the other, never one run of text."""
    context, page, errors = open_page(browser, width)
    try:
        page.goto(f"{server}{PAGES['event']}")
        previous = page.locator(".event-neighbours .previous")
        following = page.locator(".event-neighbours .next")
        assert previous.locator(".neighbour-label").inner_text() == "Previous event"
        assert following.locator(".neighbour-label").inner_text() == "Next event"
        a, b = previous.bounding_box(), following.bounding_box()
        assert not overlap(a, b), (a, b)
        apart = max(b["x"] - (a["x"] + a["width"]), b["y"] - (a["y"] + a["height"]))
        assert apart >= 8, (a, b)  # a visible space between them, across or down
        for box in (previous, following):  # each link stays inside its box
            link, outer = box.locator("a").bounding_box(), box.bounding_box()
            assert (
                outer["x"] <= link["x"]
                and link["x"] + link["width"] <= outer["x"] + outer["width"] + 0.5
            )
        page.locator(".event-neighbours").screenshot(
            path=str(ARTIFACTS / f"event-neighbours-{width}.png")
        )
    finally:
        context.close()
    assert not errors, errors


@pytest.mark.parametrize("width", [PHONE_WIDTH, 1280])
def test_the_register_from_the_navigation_to_a_figures_quote(browser, server, width):
    """A reader finds the register in the navigation, opens a deal's figure's quote, and
    reaches the event that states it, where the same quote is cited."""
    context, page, errors = open_page(browser, width)
    try:
        page.goto(f"{server}/")
        page.locator("p.site-links a", has_text="Register").click()
        page.wait_for_url(f"{server}/register")
        assert page.locator("article.deal-card").count() > 5
        shot(page, f"register-from-navigation-{width}")
        step = page.locator("article.deal-card li.step:has(details)").first
        step.locator("details summary").click()
        quote = step.locator("blockquote").inner_text()
        assert quote and step.locator("blockquote").is_visible()
        step.locator("a").first.click()
        page.wait_for_url(f"{server}/record/events/**")
        assert quote in page.locator("section.content").inner_text()
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
    finally:
        context.close()
    assert not errors, errors
