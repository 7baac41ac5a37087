"""The visual timeline's data and page parts (plugins/timeline_overview.py): one compact row
per event of the whole record, straight from the database; the spec's rules; where the page
opens. How the marks are laid out and zoomed is test_browser_timeline.py's."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from support import REAL, build, site

from timeline import charts
from timeline.schema import CLAIM_STATUSES, EVENT_TYPES

DATA = "/-/timeline-overview.json"
FIGURE = re.compile(r'<figure class="chart overview" id="visual-timeline"(?P<attrs>[^>]*)>')


@pytest.fixture(scope="module")
def real_db(tmp_path_factory) -> Path:
    return build(REAL, tmp_path_factory.mktemp("overview"))


@pytest.fixture(scope="module")
async def ds(real_db):
    return await site(real_db)


def events_table(db: Path) -> list[sqlite3.Row]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute("select * from events order by sort_key, id").fetchall()
    finally:
        conn.close()


async def test_one_row_per_event_of_the_whole_record_in_date_order(ds, real_db):
    response = await ds.client.get(DATA)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    columns = body["columns"]
    rows = [dict(zip(columns, row, strict=True)) for row in body["rows"]]
    table = events_table(real_db)
    assert len(table) > 250  # the whole record, not a page of it
    assert [r["id"] for r in rows] == [e["id"] for e in table]
    for row, event in zip(rows, table, strict=True):
        for name in ("date_start", "precision", "approximate", "uncertain", "status", "type",
                     "title", "date_label"):  # fmt: skip
            assert row[name] == event[name], (event["id"], name)
        # a single day's end is left out: it is its start
        same = event["date_end"] == event["date_start"]
        assert row["date_end"] == (None if same else event["date_end"]), event["id"]
    assert body["types"] == list(EVENT_TYPES)
    assert body["claims"] == list(CLAIM_STATUSES)
    assert body["event_url"] == "/record/events/"
    assert (await ds.client.get(body["event_url"] + rows[0]["id"])).status_code == 200


async def test_the_data_is_compact_and_sent_compressed(ds):
    plain = await ds.client.get(DATA)
    compact = json.dumps(plain.json(), ensure_ascii=False, separators=(",", ":"))
    assert plain.content == compact.encode()  # no spaces, no escaped letters
    zipped = await ds.client.get(DATA, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"  # the site's datasette-gzip
    assert int(zipped.headers["content-length"]) < len(plain.content) / 3


def listed(html: str) -> list[str]:
    return re.findall(r'<li class="event [^"]*" id="event-([^"]+)"', html)


@pytest.mark.parametrize(
    "query",
    ["actor=baykar", "type=visit", "status=disputed,refuted", "actor=Baykar&type=contract",
     "country=tr&tag=bayraktar-tb2", "system=bayraktar-tb2", "from=2022-02&to=2022-02"],
)  # fmt: skip
async def test_filtered_data_holds_the_events_the_page_lists(ds, query):
    page = (await ds.client.get(f"/timeline?{query}")).text
    assert "next" not in re.findall(r'rel="(next)"', page)  # one page: the whole list
    body = (await ds.client.get(f"{DATA}?{query}")).json()
    ids = [row[0] for row in body["rows"]]
    assert ids == listed(page) and ids, query


async def test_the_page_asks_for_its_filters_but_the_dates(ds):
    query = "?actor=baykar&type=delivery&from=2022&to=2023&view=2022-01-01..2022-12-31"
    attrs = figure_attributes((await ds.client.get("/timeline" + query)).text)
    assert attrs["data-overview-url"] == f"{DATA}?actor=baykar&amp;type=delivery"
    # a value the page ignores (and says so), the chart ignores too
    attrs = figure_attributes((await ds.client.get("/timeline?type=vist&tag=drones")).text)
    assert attrs["data-overview-url"] == f"{DATA}?tag=drones"


@pytest.mark.parametrize(
    ("query", "says"),
    [("type=vist", "type 'vist' is not an event type"), ("from=soon", "from 'soon' is not a date"),
     ("status=rumour", "status 'rumour' is not a status")],
)  # fmt: skip
async def test_a_filter_no_event_could_match_is_refused_with_what_is_wrong(ds, query, says):
    response = await ds.client.get(f"{DATA}?{query}")
    assert response.status_code == 400
    assert says in response.text


def figure_attributes(html: str) -> dict[str, str]:
    match = FIGURE.search(html)
    assert match, "no visual timeline on the page"
    return dict(re.findall(r'(data-[a-z-]+)="([^"]*)"', match["attrs"]))


@pytest.mark.parametrize(
    ("query", "opening"),
    [
        ("", ("", "")),
        ("?from=2022-02&to=2022-02", ("2022-02-01", "2022-02-28")),
        ("?from=2019", ("2019-01-01", "")),
        ("?to=April 2021", ("", "2021-04-30")),
        ("?from=not-a-date&to=2020", ("", "2020-12-31")),  # the page reports the bad one
    ],
)
async def test_the_timeline_opens_on_the_pages_dates(ds, query, opening):
    html = (await ds.client.get("/timeline" + query)).text
    attrs = figure_attributes(html)
    assert (attrs["data-from"], attrs["data-to"]) == opening
    assert attrs["data-overview-url"] == DATA
    assert attrs["data-list-url"] == "/timeline"


async def test_the_page_loads_the_timeline_script_and_its_styles(ds):
    html = (await ds.client.get("/timeline")).text
    for name in ("timeline.js", "timeline.css"):
        url = re.search(rf'"(/static/{re.escape(name)}\?h=[0-9a-f]{{12}})"', html)
        assert url, name
        assert (await ds.client.get(url[1])).status_code == 200
    assert "timeline.js" not in (await ds.client.get("/")).text


async def test_claims_are_layered_last_so_drawn_on_top():
    layers = charts.overview_spec()["layer"]
    events = [layer for layer in layers if layer["data"] == {"name": "events"}]
    tests = [layer["transform"][0]["filter"] for layer in events]
    assert tests == [
        "datum.shape === 'span' && !datum.claim",
        "datum.shape === 'day' && !datum.claim",
        "datum.shape === 'span' && datum.claim",
        "datum.shape === 'day' && datum.claim",
    ]
    assert layers[-2:] == events[-2:]
    for layer in events:
        encoding = layer["encoding"]
        assert encoding["fill"]["scale"]["range"] == list(charts.STATUS_COLOURS.values())
        assert encoding["href"] == {"field": "url"}


async def test_approximate_and_uncertain_dates_are_hollow_and_dashed():
    layer = charts.overview_spec()["layer"][2]
    certainty = layer["transform"][1]
    assert certainty == {
        "calculate": f"datum.vague ? '{charts.APPROXIMATE}' : '{charts.EXACT}'",
        "as": "certainty",
    }
    scales = {name: layer["encoding"][name]["scale"] for name in ("fillOpacity", "strokeDash")}
    assert scales["fillOpacity"]["range"][1] < 0.2 < scales["fillOpacity"]["range"][0]
    assert scales["strokeDash"]["range"] == [[1, 0], [4, 2]]
