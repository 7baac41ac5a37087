"""What a reader meets on the site's edges: canned-query pages, the map, error pages, the
footer, sharing tags, facets and the database download."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest
from markupsafe import escape
from test_site_support import METADATA

pytestmark = pytest.mark.asyncio


def queries() -> dict[str, dict]:
    return json.loads(METADATA.read_text(encoding="utf-8"))["databases"]["timeline"]["queries"]


def texts(html: str) -> str:
    """Visible-ish text of a page: tags dropped, entities decoded, spaces collapsed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


# --- 1. canned-query pages show the question, not the SQL ------------------------------------


async def test_every_query_has_a_title_and_a_plain_words_description():
    for name, query in queries().items():
        assert query["title"] and query["description"], name
        assert query.get("hide_sql") is True, name
        # Addresses and ?name=value examples aside, no file names or code identifiers.
        words = re.sub(r"[/?]\S+", "", query["description"])
        assert not re.search(r"\b[a-z]+_[a-z_]+\b|\.(ya?ml|py|json|db)\b|`", words), (name, words)


@pytest.mark.parametrize("name", list(queries()))
async def test_canned_query_pages_hide_their_sql(ds, name):
    query = queries()[name]
    html = (await ds.client.get(f"/timeline/{name}")).text
    assert 'id="sql-query"' not in html and 'id="sql-editor"' not in html
    assert str(escape(query["sql"])) not in html and query["sql"] not in html
    assert f"<title>{escape(query['title'])}</title>" in html
    # The toggle stays: one click shows the SQL.
    assert f'href="/timeline/{name}?_show_sql=1"' in html
    shown = (await ds.client.get(f"/timeline/{name}?_show_sql=1")).text
    assert 'id="sql-query"' in shown or 'id="sql-editor"' in shown


async def test_a_custom_sql_page_is_titled_without_its_sql(ds):
    html = (await ds.client.get("/timeline?sql=select+count(*)+from+events")).text
    assert "<title>SQL query</title>" in html
    assert "select count(*) from events" in html  # the SQL itself is still shown
