"""One filter, one meaning: every filter of ``timeline.filters`` gives the same events on
/timeline, in the Atom feed, in the calendar and in ``timeline export``."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from html import unescape
from urllib.parse import urlencode

import feedparser
import icalendar
import pytest
from support import site
from typer.testing import CliRunner

from timeline import filters
from timeline.cli import app
from timeline.export import Filters, export_events

# Each filter, and the ways a reader may write its value.
CASES = [
    {"actor": "baykar"},
    {"actor": "Baykar"},  # its name, in another case
    {"actor": "baykar makina"},  # an alias
    {"actor": "TÜRKİYE"},  # an alias, folded beyond ASCII
    {"actor": "erdogan"},  # no accent, no case: Erdoğan
    {"system": "bayraktar-tb2"},
    {"system": "TB2"},
    {"type": "visit"},
    {"tag": "bayraktar-tb2"},
    {"status": "disputed,refuted"},
    {"status": "reported"},
    {"country": "lt"},
    {"place": "Kyiv"},
    {"source": "seed-000-antonopoulos-globalresearch"},
    {"from": "2023", "to": "2024-06"},
    {"from": "April 2021"},
    {"to": "2019"},
    {"actor": "recep-tayyip-erdogan", "type": "meeting", "from": "2022"},
    {"status": "confirmed", "tag": "turkish-mediation", "country": "RU"},
]
FEED_SIZE = {"atom_feed": 100, "calendar": 250}


@pytest.fixture(scope="module")
async def ds(real_db):
    return await site(real_db)


def exported(db, case: dict) -> list[str]:
    """The event ids ``timeline export`` keeps, in date order."""
    options = {"since": case.get("from"), "until": case.get("to")}
    options |= {k: v for k, v in case.items() if k not in ("from", "to")}
    return [e["id"] for e in export_events(db, Filters(**options))]


async def timeline_ids(ds, case: dict) -> list[str]:
    """The event ids /timeline lists, following its pages."""
    found: list[str] = []
    url = "/timeline?" + urlencode(case)
    while url:
        html = (await ds.client.get(url)).text
        assert "Ignored" not in html, (case, "a filter was refused")
        found += re.findall(r'<li class="event [^"]*" id="event-([^"]+)"', html)
        following = re.search(r'<a rel="next" href="([^"]+)"', html)
        url = unescape(following.group(1)) if following else None
    return found


async def download_ids(ds, case: dict) -> dict[str, list[str]]:
    """The event ids of the data page's CSV and JSON files, filtered by ``case``."""
    found = {}
    for name in ("events.csv", "events.json"):
        response = await ds.client.get(f"/data/{name}?" + urlencode(case))
        assert response.status_code == 200, response.text[:300]
        if name.endswith(".csv"):
            rows = csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")))
            found[name] = [row["id"] for row in rows]
        else:
            found[name] = [event["id"] for event in json.loads(response.content)]
    return found


async def atom_ids(ds, case: dict) -> list[str]:
    response = await ds.client.get("/record/atom_feed.atom?" + urlencode(case))
    assert response.status_code == 200, response.text[:300]
    entries = feedparser.parse(response.text).entries
    return [e.id.rpartition("/")[2] for e in entries]


async def calendar_ids(ds, case: dict) -> list[str]:
    response = await ds.client.get("/record/calendar.ics?" + urlencode(case))
    assert response.status_code == 200, response.text[:300]
    calendar = icalendar.Calendar.from_ical(response.text)
    return [str(e["uid"]).partition("@")[0] for e in calendar.walk("VEVENT")]


@pytest.mark.parametrize("case", CASES, ids=lambda c: urlencode(c))
async def test_every_consumer_keeps_the_same_events(ds, real_db, case):
    expected = exported(real_db, case)
    assert expected, f"{case} keeps no event: the case tests nothing"
    assert await timeline_ids(ds, case) == expected
    assert await download_ids(ds, case) == {"events.csv": expected, "events.json": expected}
    newest_first = expected[::-1]
    assert await atom_ids(ds, case) == newest_first[: FEED_SIZE["atom_feed"]]
    assert await calendar_ids(ds, case) == newest_first[: FEED_SIZE["calendar"]]


async def test_a_name_and_an_alias_mean_the_actor_they_name(real_db):
    by_id = exported(real_db, {"actor": "baykar"})
    assert exported(real_db, {"actor": "BAYKAR"}) == by_id
    assert exported(real_db, {"actor": "Baykar Makina"}) == by_id


async def test_the_filters_mean_what_they_say(real_db):
    """Each filter against the rows it reads, in plain SQL over the tables."""
    conn = sqlite3.connect(real_db)
    try:
        sql = "select e.id from events e, json_each(e.tags) j where j.value = 'bayraktar-tb2'"
        tagged = {r[0] for r in conn.execute(sql)}
        kyiv = {r[0] for r in conn.execute("select id from events where location = 'Kyiv'")}
        spans = conn.execute("select id, date_start, date_end from events").fetchall()
    finally:
        conn.close()
    assert set(exported(real_db, {"tag": "bayraktar-tb2"})) == tagged
    assert set(exported(real_db, {"place": "Kyiv"})) == kyiv
    overlapping = {i for i, start, end in spans if end >= "2023-01-01" and start <= "2024-06-30"}
    assert set(exported(real_db, {"from": "2023", "to": "2024-06"})) == overlapping


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ({"type": "vist"}, "is not an event type"),
        ({"status": "confirmed,rumour"}, "is not a status"),
        ({"country": "XX"}, "is not a country"),
        ({"from": "05-04-2021"}, "ambiguous"),
    ],
)
async def test_a_value_no_event_could_have_is_named_not_silently_dropped(ds, case, message):
    html = (await ds.client.get("/timeline?" + urlencode(case))).text
    assert "Ignored" in html and message in unescape(html)
    with pytest.raises(ValueError, match=message):
        options = {"since": case.get("from")} | {k: v for k, v in case.items() if k != "from"}
        Filters(**options).where()
    assert any(message in p for p in filters.problems(case))
    response = await ds.client.get("/data/events.csv?" + urlencode(case))
    assert response.status_code == 400 and message in response.text
    # the feeds gave no entry, as if no event matched (their SQL read the value as given)
    for feed in ("/record/atom_feed.atom", "/record/calendar.ics", "/record/atom_feed.json"):
        response = await ds.client.get(f"{feed}?{urlencode(case)}")
        assert response.status_code == 400 and message in unescape(response.text), feed


async def test_a_file_of_the_whole_dataset_refuses_filters(ds):
    response = await ds.client.get("/data/CITATION.cff?actor=baykar")
    assert response.status_code == 400 and "takes no filters" in response.text


@pytest.mark.parametrize(
    ("page", "case"),
    [
        ("/record/actors/baykar", {"actor": "baykar"}),
        ("/record/systems/bayraktar-tb2", {"system": "bayraktar-tb2"}),
        ("/record/sources/seed-000-antonopoulos-globalresearch",
         {"source": "seed-000-antonopoulos-globalresearch"}),
    ],
)  # fmt: skip
async def test_an_entity_pages_feeds_hold_its_own_events(ds, real_db, page, case):
    html = unescape((await ds.client.get(page)).text)
    links = dict(re.findall(r'<a href="([^"]+)"[^>]*>(Atom feed|calendar|on the timeline)', html))
    by_label = {label: href for href, label in links.items()}
    expected = exported(real_db, case)
    assert by_label["on the timeline"] == "/timeline?" + urlencode(case)
    feed = feedparser.parse((await ds.client.get(by_label["Atom feed"])).text)
    assert [e.id.rpartition("/")[2] for e in feed.entries] == expected[::-1][:100]
    calendar = icalendar.Calendar.from_ical((await ds.client.get(by_label["calendar"])).text)
    uids = [str(e["uid"]).partition("@")[0] for e in calendar.walk("VEVENT")]
    assert uids == expected[::-1][:250]


@pytest.mark.parametrize(
    ("case", "message"),
    [({"actor": "nobody"}, "actor 'nobody' names no actor: use an actor's id, name or alias"),
     ({"system": "TB9", "type": "contract"}, "system 'TB9' names no weapon system"),
     ({"actor": "baykar", "system": "TB9"}, "system 'TB9' names no weapon system"),
     ({"source": "no-such-source"}, "source 'no-such-source' names no source: use a source's id")],
)  # fmt: skip
async def test_a_value_that_names_no_record_is_said_not_shown_as_no_event(
    ds, real_db, case, message
):
    """Each of these answered with no event, as if none matched: a typo'd actor's feed
    stayed empty for good."""
    query = urlencode(case)
    html = unescape((await ds.client.get(f"/timeline?{query}")).text)
    assert message in html and '<li class="event' not in html  # kept: nothing matches
    for path in ("/data/events.csv", "/-/timeline-overview.json", "/record/atom_feed.atom",
                 "/record/calendar.ics"):  # fmt: skip
        response = await ds.client.get(f"{path}?{query}")
        assert response.status_code == 400 and message in unescape(response.text), path
    if set(case) == {"actor"}:  # (the one filter that canned query takes)
        response = await ds.client.get(f"/record/actor_events?{query}")
        assert response.status_code == 400 and message in unescape(response.text)
    options = [f"--{name}={value}" for name, value in case.items()]
    result = CliRunner().invoke(app, ["export", "--db", str(real_db), *options])
    assert result.exit_code == 1 and message in result.stderr and result.stdout == ""


def test_export_offers_every_filter_of_the_site():
    """`timeline export` lists its options by hand: each of the site's filters needs one
    (from and to are --since and --until), or a filter the pages take cannot be exported."""
    import typer.main

    command = typer.main.get_command(app).commands["export"]
    options = {opt for param in command.params for opt in param.opts}
    called = {"from": "--since", "to": "--until"}
    assert {called.get(name, f"--{name}") for name in filters.NAMES} <= options


def test_export_keeps_the_events_citing_a_source(real_db):
    source = "seed-000-antonopoulos-globalresearch"
    result = CliRunner().invoke(app, ["export", "--db", str(real_db), "--format", "jsonl",
                                      "--source", source])  # fmt: skip
    assert result.exit_code == 0, result.output
    kept = [json.loads(line) for line in result.stdout.splitlines()]
    citing = [e["id"] for e in export_events(real_db)
              if source in {c["source"] for c in e["citations"]}]  # fmt: skip
    assert [e["id"] for e in kept] == citing and 0 < len(citing) < len(export_events(real_db))


async def test_a_range_the_wrong_way_round_says_so(ds, real_db):
    """from after to kept no event, as if none matched, and said nothing of why."""
    said = "from '2022' starts after to '2019-06' ends: no event can fall between them"
    case = urlencode({"from": "2022", "to": "2019-06"})
    html = unescape((await ds.client.get(f"/timeline?{case}")).text)
    assert f"{said}." in html and '<li class="event' not in html  # kept: nothing matches
    for path in ("/data/events.csv", "/-/timeline-overview.json", "/record/atom_feed.atom",
                 "/record/events_between"):  # fmt: skip
        response = await ds.client.get(f"{path}?{case}")
        assert response.status_code == 400 and said in unescape(response.text), path
    result = CliRunner().invoke(app, ["export", "--db", str(real_db), "--since", "2022",
                                      "--until", "2019-06"])  # fmt: skip
    assert (
        result.exit_code == 1 and "--since '2022' starts after --until '2019-06'" in result.stderr
    )
    # a range whose ends are one day (a month from its first day) is not the wrong way round
    response = await ds.client.get("/data/events.csv?from=2022-03&to=2022-03-01")
    assert response.status_code == 200
