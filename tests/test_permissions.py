"""The site's own pages make the permission checks Datasette's pages make: a database
a reader may not view is not shown to them through /claims, /register or an event's JSON."""

from __future__ import annotations

import json

import pytest
from support import METADATA, SMALL, build, site

PAGES = ("/claims", "/register", "/event/montreux.json", "/timeline", "/record/events")


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("permissions")
    return build(SMALL, tmp)


@pytest.mark.parametrize("path", PAGES)
async def test_a_database_nobody_may_view_is_refused_on_every_page(db, path):
    metadata = json.loads(METADATA.read_text(encoding="utf-8"))
    metadata["databases"]["record"]["allow"] = False
    ds = await site(db, metadata=metadata)
    assert (await ds.client.get(path)).status_code == 403


@pytest.mark.parametrize("path", PAGES)
async def test_the_same_pages_answer_when_the_database_may_be_viewed(db, path):
    assert (await (await site(db)).client.get(path)).status_code == 200
