"""Canned queries that read a page of events at a time (plugins/query_pages.py).

Each paged query, followed page by page through its "next" links, must give exactly the
rows of the same question asked of the database in one go: every event once, in date
order, none split across two pages.
"""

from __future__ import annotations

import re
import sqlite3
import sys
from html import unescape
from pathlib import Path

import httpx
import pytest
from datasette.plugins import pm
from support import build, site

from timeline.build import DATABASE_NAME

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
from generate import write_realistic

SMALL_PAGE = 4
# The same questions, asked of the database without pages: (event_id, what tells a
# row of the event from another) in the order the query must give them.
UNPAGED = {
    "events_between": (
        {"from": "", "to": ""},
        "select id, '' from events order by sort_key, id",
    ),
    "actor_events": (
        {"actor": "turkey"},
        """select ea.event_id, ea.role from event_actors ea join events e on e.id = ea.event_id
           where ea.actor_id = 'turkey' order by e.sort_key, e.id, ea.role""",
    ),
    "disputed_claims": (
        {"status": "confirmed"},
        """select c.event_id, c.position from citations c join events e on e.id = c.event_id
           where e.status = 'confirmed' order by e.sort_key, e.id, c.position""",
    ),
    "event_map": (
        {},
        """select id, '' from events where latitude is not null and longitude is not null
           order by sort_key, id""",
    ),
    "system_transfers": (
        {"system": "bayraktar-tb2"},
        """select t.event_id, t.action from transfers t where t.system_id = 'bayraktar-tb2'
           order by t.sort_key, t.event_id, t.action, t.supplier, t.recipient""",
    ),
}
ROW_PART = {"events_between": None, "event_map": None, "actor_events": "role",
            "disputed_claims": "position", "system_transfers": "action"}  # fmt: skip


@pytest.fixture(scope="module")
def generated_db(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("pages")
    # large enough that the rarest question, the TB2's transfers, runs to three pages
    return build(write_realistic(500, tmp / "events.yaml", seed=5), tmp)


def page_plugin():
    """The plugin module as Datasette loaded it (a site must have been started)."""
    module = pm.get_plugin("query_pages.py")
    assert module is not None, "plugins/query_pages.py is not loaded"
    return module


@pytest.fixture
async def ds(generated_db):
    return await site(generated_db)


@pytest.fixture
def small_pages(ds, monkeypatch):
    """The site with pages of SMALL_PAGE events, so that a small file runs to many pages."""
    monkeypatch.setattr(page_plugin(), "PAGE_SIZE", SMALL_PAGE)
    monkeypatch.setattr(page_plugin(), "PAGE_SIZES", {})
    return ds


def next_link(html: str) -> str | None:
    found = re.search(r'<a rel="next" href="([^"]+)"', html)
    return unescape(found.group(1)) if found else None


async def follow_pages(ds, name: str, params: dict) -> list[list[dict]]:
    """Every page of a query, reached through each page's "next" link."""
    response = await ds.client.get(f"/{DATABASE_NAME}/{name}", params=params)
    path, pages = response.request.url.raw_path.decode(), []
    while path:
        html = (await ds.client.get(path)).text
        url = httpx.URL(path)
        json_url = url.copy_with(path=url.path + ".json").copy_merge_params({"_shape": "array"})
        pages.append((await ds.client.get(str(json_url))).json())
        path = next_link(html)
        assert len(pages) < 200, "the pages never end"
    return pages


@pytest.mark.parametrize("name", list(UNPAGED))
async def test_following_the_pages_gives_every_row_once_in_order(generated_db, small_pages, name):
    ds = small_pages
    params, sql = UNPAGED[name]
    conn = sqlite3.connect(generated_db)
    expected = [(str(a), str(b)) for a, b in conn.execute(sql)]
    conn.close()
    assert len({event for event, _ in expected}) > 2 * SMALL_PAGE, "too few for three pages"
    pages = await follow_pages(ds, name, params)
    part = ROW_PART[name]
    got = [(row["event_id"], str(row[part]) if part else "") for page in pages for row in page]
    assert got == expected
    events_per_page = [len({row["event_id"] for row in page}) for page in pages]
    assert all(n == SMALL_PAGE for n in events_per_page[:-1]), events_per_page
    # a full last page cannot know it is the last: its "next" page is empty
    total = len({event for event, _ in expected})
    assert events_per_page[-1] == (0 if total % SMALL_PAGE == 0 else total % SMALL_PAGE)
    # no event is split between two pages
    page_of = {}
    for number, page in enumerate(pages):
        for row in page:
            assert page_of.setdefault(row["event_id"], number) == number, row["event_id"]


async def test_pages_link_back_and_say_where_they_start(small_pages):
    ds = small_pages
    first = (await ds.client.get(f"/{DATABASE_NAME}/events_between")).text
    assert f"Events are shown {SMALL_PAGE} at a time" in first
    assert "First page" not in first
    # the position is not a form field: a new question starts from the first page
    assert 'name="after"' not in first and "_page_" not in first
    second_path = next_link(first)
    second = (await ds.client.get(second_path)).text
    after = second_path.split("after=")[1]
    assert f"This page starts after the event <code>{after}</code>" in second
    assert '<a href="/record/events_between">← First page</a>' in second


async def test_an_unknown_event_to_start_after_gives_an_empty_page_that_says_so(small_pages):
    ds = small_pages
    response = await ds.client.get(f"/{DATABASE_NAME}/events_between?after=no-such-event")
    assert response.status_code == 200
    assert "Nothing comes after <code>no-such-event</code>" in response.text
    rows = await ds.client.get(
        f"/{DATABASE_NAME}/events_between.json?after=no-such-event&_shape=array"
    )
    assert rows.json() == []


async def test_a_page_holds_the_plugins_page_size(ds):
    module = page_plugin()
    assert module.PAGE_SIZE < 120, "the generated file must run past one page"
    rows = (await ds.client.get(f"/{DATABASE_NAME}/events_between.json?_shape=array")).json()
    assert len(rows) == module.PAGE_SIZE
    html = (await ds.client.get(f"/{DATABASE_NAME}/events_between")).text
    assert f"Events are shown {module.PAGE_SIZE} at a time" in html
    assert next_link(html).endswith(f"after={rows[-1]['event_id']}")


async def test_a_query_can_hold_fewer_events_a_page(ds):
    module = page_plugin()
    size = module.PAGE_SIZES["disputed_claims"]
    assert size < module.PAGE_SIZE
    rows = (await ds.client.get(f"/{DATABASE_NAME}/disputed_claims.json?status=confirmed"
                                "&_shape=array")).json()  # fmt: skip
    assert len({row["event_id"] for row in rows}) == size
    html = (await ds.client.get(f"/{DATABASE_NAME}/disputed_claims?status=confirmed")).text
    assert f"Events are shown {size} at a time" in html and next_link(html)


async def test_queries_that_do_not_page_show_no_pager(ds):
    html = (await ds.client.get(f"/{DATABASE_NAME}/recently_added")).text
    assert "at a time" not in html and 'rel="next"' not in html
