"""Hostile data is shown as text everywhere: tables, event pages, /timeline, queries, feeds."""

from __future__ import annotations

import feedparser
import icalendar
import pytest
from support import (
    IMG,
    SCRIPT,
    assert_no_raw_markup,
    build,
    hostile_timeline,
    site,
    write_yaml,
)

pytestmark = [
    pytest.mark.asyncio,
]

ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
ESCAPED_IMG = "&lt;img src=x onerror=alert(1)&gt;"

HTML_PAGES = [
    "/record/events",
    "/record/events?_search=suspended",
    "/record/events?_full=1",
    "/record/events?actors__arraycontains=Russia",
    "/record/events/flight-suspension",
    "/record/events/baykar-ukrspecexport-2019",  # shows the hostile event as related
    "/timeline",
    "/timeline?actor=russia&from=2021&to=2021",
    "/record/citations",
    "/record/evidence",
    "/record/actor_timeline",
    "/record/events_between?from=2021&to=2021",
    "/record/actor_events?actor=russia",
    "/record/search?q=suspended",
    "/record/search?q=script",  # the highlight lands inside the markup
    "/record/search?q=onerror",
    "/record/event_map",
    "/record/on_this_day?month_day=04-15",
]


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    return build(write_yaml(hostile_timeline(), tmp / "events.yaml"), tmp)


@pytest.fixture(scope="module")
async def ds(hostile_db):
    return await site(hostile_db)


@pytest.mark.parametrize("path", HTML_PAGES)
async def test_html_pages_escape_hostile_text(ds, path):
    response = await ds.client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert_no_raw_markup(html, path)
    # The hostile text is displayed (escaped), not silently dropped.
    assert "alert(1)" in html, path
    assert ESCAPED_SCRIPT in html or ESCAPED_IMG in html or "<mark>" in html, path


async def test_search_highlight_does_not_unescape(ds):
    html = (await ds.client.get("/record/search?q=script")).text
    assert "&lt;<mark>script</mark>&gt;alert(1)&lt;/<mark>script</mark>&gt;" in html


async def test_atom_feed_escapes_hostile_text(ds):
    response = await ds.client.get("/record/atom_feed.atom")
    assert response.status_code == 200
    assert_no_raw_markup(response.text, "atom feed")
    feed = feedparser.parse(response.content, response_headers=dict(response.headers))
    assert not feed.bozo
    entry = next(e for e in feed.entries if e.id.endswith("/flight-suspension"))
    # As data the title is intact text; feedparser would strip any live markup.
    assert "alert(1)" in entry.title
    assert "alert(1)" in entry.summary


async def test_calendar_keeps_hostile_text_as_plain_text(ds):
    response = await ds.client.get("/record/calendar.ics")
    assert response.status_code == 200
    # iCalendar is not HTML: the text is carried verbatim, under a non-HTML content type.
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.text)
    event = next(e for e in calendar.walk("VEVENT") if str(e["UID"]).startswith("flight-"))
    assert str(event["SUMMARY"]) == f"Flights {SCRIPT} suspended {IMG}"
    plain = await ds.client.get("/record/calendar.ics?_plain=1")
    assert plain.headers["content-type"].startswith("text/plain")


async def test_no_template_marks_data_safe():
    from support import ROOT

    for template in (ROOT / "templates").rglob("*.html"):
        assert "|safe" not in template.read_text().replace(" ", ""), template
