"""Cache lifetimes for a CDN: a hashed stylesheet for a year, pages for minutes when immutable."""

from __future__ import annotations

import json
import re

import pytest
from datasette.app import Datasette
from support import METADATA, ROOT, SMALL, build, site


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return build(SMALL, tmp_path_factory.mktemp("cache"))


async def test_stylesheet_is_linked_by_content_hash_and_cached_for_a_year(db):
    ds = await site(db)
    page = (await ds.client.get("/")).text
    url = re.search(r'href="(/static/site\.css\?h=[0-9a-f]{12})"', page).group(1)
    response = await ds.client.get(url)
    assert response.status_code == 200 and "immutable" in response.headers["cache-control"]
    assert "cache-control" not in (await ds.client.get("/")).headers  # mutable: no lifetime


async def test_immutable_site_pages_may_be_cached(db):
    ds = Datasette(
        immutables=[str(db)],
        metadata=json.loads(METADATA.read_text(encoding="utf-8")),
        template_dir=str(ROOT / "templates"),
        plugins_dir=str(ROOT / "plugins"),
        static_mounts=[("static", str(ROOT / "static"))],
    )
    await ds.invoke_startup()
    for path in ("/", "/timeline", "/record/events.json", "/record/atom_feed.atom"):
        response = await ds.client.get(path)
        assert response.headers["cache-control"].startswith("public, max-age=300"), path
    assert "cache-control" not in (await ds.client.get("/record/events?_sort=nope")).headers
