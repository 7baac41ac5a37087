"""Atom and iCalendar feeds: one entry per event, timezone-aware, valid when empty."""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path

import feedparser
import icalendar
import pytest
from support import SMALL, build, load_yaml, site, write_yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from generate import write_realistic

pytestmark = [
    pytest.mark.asyncio,
]


@pytest.fixture
async def empty_ds(tmp_path):
    data = load_yaml(SMALL)
    data["events"] = []
    return await site(build(write_yaml(data, tmp_path / "events.yaml"), tmp_path))


def event_ids():
    return {e["id"] for e in load_yaml(SMALL)["events"]}


async def test_atom_feed_has_one_entry_per_event(ds):
    response = await ds.client.get("/record/atom_feed.atom")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    headers = {**response.headers, "content-location": str(response.url)}
    feed = feedparser.parse(response.content, response_headers=headers)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.feed.title == "Turkey–Ukraine defence cooperation: events"
    ids = [entry.id for entry in feed.entries]
    assert len(ids) == len(set(ids)) == len(event_ids())
    assert {i.rsplit("/", 1)[1] for i in ids} == event_ids()
    # Newest first, and every timestamp carries a timezone (UTC).
    assert feed.entries[0].id.endswith("/fleet-destroyed-claim")
    for entry in feed.entries:
        assert re.search(r"(Z|[+-]\d\d:\d\d)$", entry.updated), entry.updated
        assert entry.link.startswith("http://localhost/record/events/")
    by_id = {e.id.rsplit("/", 1)[1]: e for e in feed.entries}
    year_only = by_id["baykar-ukrspecexport-2019"]
    assert year_only.title == "2019: Baykar and Ukrspecexport sign a cooperation agreement"
    assert "Date: 2019 (known to the year)" in year_only.summary
    assert "Status: refuted" in by_id["fleet-destroyed-claim"].summary


async def test_calendar_has_one_event_per_event(ds):
    response = await ds.client.get("/record/calendar.ics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.text)
    assert calendar["X-WR-CALNAME"] == "Turkey–Ukraine defence cooperation: events calendar"
    events = {str(e["UID"]).split("@")[0]: e for e in calendar.walk("VEVENT")}
    assert set(events) == event_ids()
    assert len(calendar.walk("VEVENT")) == len(event_ids())
    for event in events.values():
        start, end = event.decoded("DTSTART"), event.decoded("DTEND")
        # all-day dates (VALUE=DATE), never a UTC midnight that shows at 02:00 in Kyiv
        assert type(start) is dt.date and type(end) is dt.date
        assert "VALUE=DATE" in event.to_ical().decode()
        assert end > start
    # A year-only event spans its year; a day event spans its day.
    year_only = events["baykar-ukrspecexport-2019"]
    assert year_only.decoded("DTSTART") == dt.date(2019, 1, 1)
    assert year_only.decoded("DTEND") == dt.date(2020, 1, 1)
    assert "Date: 2019" in str(year_only["DESCRIPTION"])
    day = events["flight-suspension"]
    assert day.decoded("DTEND") - day.decoded("DTSTART") == dt.timedelta(days=1)
    assert str(day["SUMMARY"]) == "Russia suspends flights to Turkey"
    assert "http://localhost/record/events/flight-suspension" in str(day["DESCRIPTION"])


async def test_feeds_are_linked_from_the_query_pages(ds):
    html = (await ds.client.get("/record/atom_feed")).text
    assert 'href="/record/atom_feed.atom"' in html
    html = (await ds.client.get("/record/calendar")).text
    assert 'href="/record/calendar.ics"' in html


async def test_empty_atom_feed_is_valid(empty_ds):
    response = await empty_ds.client.get("/record/atom_feed.atom")
    assert response.status_code == 200
    feed = feedparser.parse(response.content, response_headers=dict(response.headers))
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.entries == []
    assert feed.feed.title == "Turkey–Ukraine defence cooperation: events"
    assert feed.feed.updated.endswith("+00:00")


async def test_empty_calendar_is_valid(empty_ds):
    response = await empty_ds.client.get("/record/calendar.ics")
    assert response.status_code == 200
    calendar = icalendar.Calendar.from_ical(response.text)
    assert calendar.walk("VEVENT") == []


async def test_atom_renderer_still_rejects_queries_without_atom_columns(ds):
    response = await ds.client.get("/record/events_per_year_type.atom")
    assert response.status_code in (400, 404)


async def test_calendar_for_one_actor_or_status(ds):
    one = icalendar.Calendar.from_ical(
        (await ds.client.get("/record/calendar.ics?actor=russia")).text
    )
    ids = {str(e["UID"]).split("@")[0] for e in one.walk("VEVENT")}
    assert ids == {"flight-suspension", "fleet-destroyed-claim"}
    claims = await ds.client.get("/record/calendar.ics?status=refuted")
    assert claims.text.count("BEGIN:VEVENT") == 1


async def test_filtered_timeline_links_its_own_feeds(ds):
    html = (await ds.client.get("/timeline?actor=russia&status=refuted")).text
    assert 'href="/record/atom_feed.atom?actor=russia&amp;status=refuted"' in html
    assert 'href="/record/calendar.ics?actor=russia&amp;status=refuted"' in html
    feed = (await ds.client.get("/record/atom_feed.atom?actor=russia&status=refuted")).text
    assert feed.count("<entry>") == 1 and "fleet-destroyed-claim" in feed


@pytest.fixture(scope="module")
async def generated(tmp_path_factory):
    """400 generated events: the busiest actor has more than a feed holds."""
    tmp = tmp_path_factory.mktemp("feeds")
    return await site(build(write_realistic(400, tmp / "events.yaml", seed=2), tmp))


async def feed_ids(ds, query: str, params: dict) -> list[str]:
    response = await ds.client.get(f"/record/{query}.json", params=params | {"_shape": "array"})
    return [(row.get("id") or row["atom_id"]).rsplit("/", 1)[-1] for row in response.json()]


async def linked(db, sql: str) -> dict[str, set]:
    """Each event's actors or systems."""
    out: dict[str, set] = {}
    for event_id, other in await db.execute(sql):
        out.setdefault(event_id, set()).add(other)
    return out


@pytest.mark.parametrize(("query", "limit"), [("atom_feed", 100), ("calendar", 250)])
async def test_an_actors_or_systems_feed_holds_its_newest_events_that_pass_the_filters(
    generated, query, limit
):
    """With ?actor= or ?system= a feed reads down that actor's or system's own events; it
    must hold what filtering every event gives: the newest of its events that pass the
    other filters."""
    db = generated.get_database("record")
    newest_first = [tuple(r) for r in await db.execute(
        "select id, status from events order by sort_key desc, id desc")]  # fmt: skip
    actors_of = await linked(db, "select event_id, actor_id from event_actors")
    systems_of = await linked(db, "select event_id, system_id from event_systems")
    # the busiest (one with more events than a feed holds) and some rare ones
    actors = [row[0] for row in await db.execute(
        "select id from actors order by event_count desc, id limit 3")]  # fmt: skip
    actors += [row[0] for row in await db.execute(
        "select id from actors where event_count between 1 and 3 order by id limit 3")]  # fmt: skip
    systems = [row[0] for row in await db.execute(
        "select id from systems order by event_count desc, id")]  # fmt: skip
    assert max(sum(a in s for s in actors_of.values()) for a in actors) > 100
    # (a name that names no actor or system is refused: tests/test_filters.py)
    cases = [{"actor": a} for a in actors]
    cases += [{"system": x} for x in [*systems[:2], *systems[-2:]]]
    cases += [{"actor": actors[0], "system": systems[0]}]
    found = 0
    for case in cases:
        for status in ("", "disputed,refuted"):
            ids = await feed_ids(generated, query, case | {"status": status})
            expected = [
                event for event, event_status in newest_first
                if case.get("actor", "") in actors_of.get(event, set()) | {""}
                and case.get("system", "") in systems_of.get(event, set()) | {""}
                and (not status or event_status in status.split(","))
            ][:limit]  # fmt: skip
            assert ids == expected, (case, status)
            found += len(ids)
    assert found > 0


async def test_a_query_without_the_feed_columns_is_a_400_that_names_them(tmp_path):
    from support import SMALL, build, site

    ds = await site(build(SMALL, tmp_path))
    response = await ds.client.get("/record/recently_added.atom")
    assert response.status_code == 400
    assert "atom_id, atom_title, atom_updated" in response.text


async def test_an_empty_feed_is_as_new_as_the_record_not_the_epoch(ds):
    """A feed whose filters match no event said it was last updated in 1970."""
    whole = feedparser.parse((await ds.client.get("/record/atom_feed.atom")).content)
    response = await ds.client.get(
        "/record/atom_feed.atom", params={"type": "treaty", "from": "2030"}
    )
    empty = feedparser.parse(response.content)
    assert response.status_code == 200 and empty.entries == [] and whole.entries
    assert empty.feed.updated == whole.feed.updated == max(e.updated for e in whole.entries)
