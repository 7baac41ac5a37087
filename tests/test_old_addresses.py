"""The database is published as ``record`` so that ``/timeline`` is the timeline page's own
route; the addresses of the database's old name redirect to the same thing under the new
one, and the templates named after the database follow its name."""

from __future__ import annotations

import json
import re

import pytest
from support import METADATA, ROOT, SMALL, build, site

from timeline.site import DATABASE, EVENTS_PATH

# Datasette's template conventions that carry a database's name (its docs: "Custom
# templates"): database-<db>.html, table-<db>-<table>.html, row-<db>-<table>.html,
# query-<db>-<query>.html and _table-<db>-<table>.html.
NAMED = re.compile(r"^(?:database|table|row|query|_table)-(?P<db>[^-.]+)[-.]")


@pytest.fixture(scope="module")
async def ds(tmp_path_factory):
    return await site(build(SMALL, tmp_path_factory.mktemp("old")))


def test_every_template_named_after_a_database_names_this_one():
    named = [p.name for p in (ROOT / "templates").glob("*.html") if NAMED.match(p.name)]
    assert named  # the convention is in use: the event, actor, source and system pages
    assert {NAMED.match(name)["db"] for name in named} == {DATABASE}, named


def test_every_feed_links_its_entries_to_the_event_pages_of_this_database():
    """The feeds' SQL in the metadata writes the events' address (generated or by hand)."""
    queries = json.loads(METADATA.read_text(encoding="utf-8"))["databases"][DATABASE]["queries"]
    links = {name: q["sql"] for name, q in queries.items() if "as atom_link" in q["sql"]}
    assert len(links) >= 2  # the Atom feed and the recent additions
    for name, sql in links.items():
        assert f"'{EVENTS_PATH}' || " in sql, name


@pytest.mark.parametrize(
    "old, new",
    [
        ("/timeline/events/montreux", "/record/events/montreux"),
        (
            "/timeline/events?_facet=type&status=refuted",
            "/record/events?_facet=type&status=refuted",
        ),
        ("/timeline/atom_feed.atom?actor=baykar", "/record/atom_feed.atom?actor=baykar"),
        ("/timeline/calendar.ics", "/record/calendar.ics"),
        ("/timeline/actors/russia.json", "/record/actors/russia.json"),
        ("/timeline.json", "/record.json"),
        ("/timeline?sql=select+1", "/record?sql=select+1"),
    ],
)
async def test_an_old_address_redirects_to_the_same_thing(ds, old, new):
    response = await ds.client.get(old)
    assert response.status_code == 301
    assert response.headers["location"] == new
    assert (await ds.client.get(new)).status_code == 200


async def test_a_redirect_keeps_an_encoded_address_encoded(ds):
    response = await ds.client.get("/timeline/events/no%20such%20event")
    assert response.headers["location"] == "/record/events/no%20such%20event"
    moved = await ds.client.get(response.headers["location"], follow_redirects=True)
    assert moved.status_code == 404


async def test_the_timeline_page_and_its_neighbours_are_not_redirected(ds):
    page = await ds.client.get("/timeline?actor=baykar")
    assert page.status_code == 200 and 'class="event' in page.text
    assert (await ds.client.get("/timelines")).status_code == 404
    assert (await ds.client.get("/record")).status_code == 200  # Datasette's own page


async def test_a_redirect_respects_the_sites_base_url(tmp_path):
    prefixed = await site(build(SMALL, tmp_path), settings={"base_url": "/pre/"})
    response = await prefixed.client.get("/timeline/events/montreux")  # the client adds /pre
    assert response.status_code == 301
    assert response.headers["location"] == "/pre/record/events/montreux"
