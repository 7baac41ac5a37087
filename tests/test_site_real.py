"""End to end over the real, curated events.yaml (whatever it holds today)."""

from __future__ import annotations

import re
from html import unescape

import pytest
from markupsafe import escape
from support import REAL, assert_facets_match, build, expected_facets, load_yaml, site

from timeline.build import InvalidInput
from timeline.dates import parse_date


@pytest.fixture(scope="module")
def real_db(tmp_path_factory):
    try:
        return build(REAL, tmp_path_factory.mktemp("real"))
    except InvalidInput as exc:
        problems = "\n".join(str(p) for p in exc.result.errors[:20])
        pytest.fail(f"{REAL} does not validate, so the site cannot be built:\n{problems}")


@pytest.fixture(scope="module")
async def ds(real_db):
    return await site(real_db)


async def test_every_event_has_a_working_page(ds):
    data = load_yaml(REAL)
    for event in data.get("events") or []:
        response = await ds.client.get(f"/record/events/{event['id']}")
        assert response.status_code == 200, event["id"]
        assert str(escape(event["title"])) in response.text, event["id"]
        assert "According to" in response.text


async def test_timeline_lists_every_event(ds):
    """Page by page, through each page's "Later events" link."""
    data = load_yaml(REAL)
    pages, url = [], "/timeline"
    while url:
        pages.append((await ds.client.get(url)).text)
        found = re.search(r'<a rel="next" href="([^"]+)"', pages[-1])
        url = unescape(found.group(1)) if found else None
    everything = "".join(pages)
    for event in data.get("events") or []:
        assert everything.count(f'id="event-{event["id"]}"') == 1, event["id"]


async def test_facet_counts_match_the_yaml(ds):
    await assert_facets_match(ds, expected_facets(load_yaml(REAL)))


@pytest.mark.parametrize(
    "path",
    ["/", "/about", "/record/events", "/record/atom_feed.atom", "/record/calendar.ics"],
)
async def test_site_pages_work_over_the_real_data(ds, path):
    assert (await ds.client.get(path)).status_code == 200


async def test_feeds_have_one_entry_per_real_event(ds):
    import re

    import feedparser
    import icalendar

    ids = {e["id"] for e in load_yaml(REAL).get("events") or []}
    response = await ds.client.get("/record/atom_feed.atom")
    feed = feedparser.parse(response.content, response_headers=dict(response.headers))
    assert not feed.bozo, feed.get("bozo_exception")
    latest = sorted(
        load_yaml(REAL)["events"],
        key=lambda e: (parse_date(e["date"]).sort_key, e["id"]),
        reverse=True,
    )[:100]
    assert {e.id.rsplit("/", 1)[1] for e in feed.entries} == {e["id"] for e in latest}
    assert len(feed.entries) == min(100, len(ids))
    assert all(e.link.startswith("http://localhost/record/events/") for e in feed.entries)
    for entry in feed.entries:
        assert re.search(r"(Z|[+-]\d\d:\d\d)$", entry.updated), entry.updated
    calendar = icalendar.Calendar.from_ical((await ds.client.get("/record/calendar.ics")).text)
    newest = sorted(
        load_yaml(REAL)["events"], key=lambda e: (parse_date(e["date"]).sort_key, e["id"])
    )[-250:]  # the calendar holds the latest 250
    assert {str(e["UID"]).split("@")[0] for e in calendar.walk("VEVENT")} == {
        e["id"] for e in newest
    }
