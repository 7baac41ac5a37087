"""The event map's data (plugins/event_map.py, timeline/places.py): the located events
grouped by place in SQL, each place's events linked to their pages, the areas the map
shows, and the page without the map when its SQL runs out of time. The map as drawn is
tested in Chromium by test_browser_map.py."""

from __future__ import annotations

import json
import re
import sqlite3
from collections import defaultdict
from html import unescape
from pathlib import Path

import pytest
from support import (
    PAYLOADS,
    REAL,
    ROOT,
    SMALL,
    build,
    hostile_timeline,
    load_yaml,
    site,
    write_yaml,
)

from timeline import places, vendor

MID_ATLANTIC = {"lat": 35.0, "lon": -40.0}


def map_data(html: str) -> dict:
    block = re.search(r'<script type="application/json" id="event-map-data">(.*?)</script>',
                      html, re.S)  # fmt: skip
    return json.loads(unescape(block.group(1)))


@pytest.fixture(scope="module")
def real_db(tmp_path_factory) -> Path:
    return build(REAL, tmp_path_factory.mktemp("real"))


def events_by_place(db: Path) -> dict[tuple, list[str]]:
    """Each place's event ids, latest first, read event by event (no grouping in SQL)."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "select id, location, latitude, longitude, sort_key from events"
            " where latitude is not null and longitude is not null"
        ).fetchall()
    finally:
        conn.close()
    grouped = defaultdict(list)
    for id_, *place, _ in sorted(rows, key=lambda r: (r[4], r[0]), reverse=True):
        grouped[tuple(place)].append(id_)
    return grouped


def test_the_grouped_rows_are_the_events_places(real_db):
    expected = events_by_place(real_db)
    conn = sqlite3.connect(real_db)
    conn.row_factory = sqlite3.Row
    try:
        rows = conn.execute(places.PLACES_SQL, {"listed": places.LISTED,
                                                "limit": places.MAX_PLACES}).fetchall()  # fmt: skip
    finally:
        conn.close()
    assert len(expected) > 20  # the real file has places enough to be a test
    got = {(r["place"], r["latitude"], r["longitude"]): r for r in rows}
    assert {key: r["events"] for key, r in got.items()} == {k: len(v) for k, v in expected.items()}
    for key, ids in expected.items():
        listed = [event[0] for event in json.loads(got[key]["listed"])]
        assert sorted(listed) == sorted(ids[: places.LISTED]), key
    # the busiest first
    assert [r["events"] for r in rows] == sorted((r["events"] for r in rows), reverse=True)


async def test_the_page_lists_every_place_with_its_events_linked(real_db):
    ds = await site(real_db)
    html = (await ds.client.get("/record/event_map")).text
    data = map_data(html)
    expected = events_by_place(real_db)
    assert len(data["places"]) == len(expected)
    for place in data["places"]:
        ids = expected[(place["name"], place["lat"], place["lon"])]
        assert place["events"] == len(ids)
        assert sorted(url for url, _, _ in place["listed"]) == sorted(
            f"/record/events/{i}" for i in ids[: places.LISTED]
        )
    busiest = data["places"][0]
    assert busiest["timeline"] == f"/timeline?place={busiest['name']}"
    for url, _, title in busiest["listed"][:3]:
        page = await ds.client.get(url)
        assert page.status_code == 200 and unescape(title) in unescape(page.text)
    # nothing on the map comes from another server
    assert "http" not in html.split('id="event-map-data">')[1].split("</script>")[0]


async def test_a_place_lists_its_events_in_date_order_and_links_its_timeline(tmp_path):
    data = load_yaml(SMALL)
    for event in data["events"]:
        if event["id"] in ("fleet-destroyed-claim", "flight-suspension"):
            event["location"] = {"name": "Kyiv", "latitude": 50.45, "longitude": 30.52}
    ds = await site(build(write_yaml(data, tmp_path / "events.yaml"), tmp_path))
    found = {p["name"]: p for p in map_data((await ds.client.get("/record/event_map")).text)[
        "places"]}  # fmt: skip
    assert found["Kyiv"]["events"] == 2
    assert [url for url, _, _ in found["Kyiv"]["listed"]] == [
        "/record/events/flight-suspension", "/record/events/fleet-destroyed-claim"]  # fmt: skip
    assert found["Montreux"]["listed"] == [
        ["/record/events/montreux", "20 July 1936", "Montreux Convention signed"]]  # fmt: skip
    timeline = (await ds.client.get(found["Kyiv"]["timeline"])).text
    assert timeline.count('<li class="event ') == 2


async def test_far_places_are_an_area_of_their_own_and_the_ocean_is_in_none(real_db):
    data = map_data((await (await site(real_db)).client.get("/record/event_map")).text)
    main, *others = data["regions"]
    everything = sorted(i for region in data["regions"] for i in region["places"])
    assert everything == list(range(len(data["places"])))  # each place in exactly one area
    for region in data["regions"]:
        (south, west), (north, east) = region["bounds"]
        for i in region["places"]:
            assert south <= data["places"][i]["lat"] <= north
            assert west <= data["places"][i]["lon"] <= east
        assert not (south <= MID_ATLANTIC["lat"] <= north and west <= MID_ATLANTIC["lon"] <= east)
    # the main area has the most events; New York is elsewhere
    events = [sum(data["places"][i]["events"] for i in r["places"]) for r in data["regions"]]
    assert events[0] == max(events)
    names = {data["places"][i]["name"] for i in main["places"]}
    assert "Ankara" in names and "New York" not in names
    assert others


def test_areas_join_places_in_a_chain_and_part_at_the_gap():
    gap = places.REGION_GAP
    chain = [{"lat": 0.0, "lon": lon, "events": 1} for lon in (0.0, gap, 2 * gap)]
    assert [r["places"] for r in places.regions(chain)] == [[0, 1, 2]]
    apart = [{"lat": 0.0, "lon": 0.0, "events": 1}, {"lat": 0.0, "lon": gap + 0.1, "events": 2}]
    assert [r["places"] for r in places.regions(apart)] == [[1], [0]]  # the busiest first
    assert places.regions([]) == []


async def test_markup_in_a_place_or_title_stays_text(tmp_path):
    ds = await site(build(write_yaml(hostile_timeline(), tmp_path / "events.yaml"), tmp_path))
    html = (await ds.client.get("/record/event_map")).text
    block = html.split('id="event-map-data">')[1].split("</script>")[0]
    assert not any(payload in block for payload in PAYLOADS)
    moscow = next(p for p in map_data(html)["places"] if p["name"].startswith("Moscow"))
    assert moscow["name"] == "Moscow <script>alert(1)</script>"


async def test_a_map_out_of_time_leaves_the_page_without_it_not_an_error(real_db, monkeypatch):
    ds = await site(real_db)
    assert 'id="event-map-data"' in (await ds.client.get("/record/event_map")).text
    # a query that runs past the 1 s time limit, in place of the map's
    slow = "with recursive n(i) as (select 1 union all select i + 1 from n) select max(i) from n"
    monkeypatch.setattr(places, "PLACES_SQL", slow)
    response = await ds.client.get("/record/event_map")
    assert response.status_code == 200
    assert 'id="event-map-data"' not in response.text
    assert "The map took too long to prepare just now" in response.text


async def test_only_the_map_page_loads_leaflet_from_the_site_itself(real_db):
    ds = await site(real_db)
    html = (await ds.client.get("/record/event_map")).text
    scripts = re.findall(r'<script type="module" src="(/static/[^"]+)"', html)
    styles = re.findall(r'<link rel="stylesheet" href="(/static/(?:vendor/|map)[^"]+)"', html)
    assert [url.split("?")[0] for url in scripts] == [
        *(f"/static/vendor/{name}" for name in vendor.MAP_SCRIPTS), "/static/map.js"]  # fmt: skip
    assert [url.split("?")[0] for url in styles] == [
        *(f"/static/vendor/{name}" for name in vendor.MAP_STYLES), "/static/map.css"]  # fmt: skip
    for url in scripts + styles:
        response = await ds.client.get(url)
        name = url.split("?")[0].removeprefix("/static/")
        assert response.status_code == 200 and "immutable" in response.headers["cache-control"]
        assert response.content == (ROOT / "static" / name).read_bytes()
        assert url.endswith(f"?h={vendor.content_hash(ROOT / 'static' / name)}")
    assert "vega" not in html  # the map page draws no Vega chart
    home = (await ds.client.get("/")).text
    assert "leaflet" not in home and "map.js" not in home
