"""What a reader reads on the pages made for readers: plain words, not Datasette's own
("Custom SQL query returning", "Run SQL", a column called sort_key), on the real record.
(The event page's previous and next links as seen: test_browser_pages.py.)"""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser

import pytest
from support import METADATA, REAL, build, site

DATASETTE_WORDS = ("Custom SQL query", "Run SQL", "Edit SQL", "Query parameters", "sort_key",
                   "This data as")  # fmt: skip
# Every canned query with a page of its own (the feeds are files, not pages)
QUERIES = [name for name, query in json.loads(METADATA.read_text())["databases"]["record"]
           ["queries"].items() if not name.endswith("_feed") and name not in ("atom_feed",
           "calendar")]  # fmt: skip
READER_PAGES = [
    *(f"/record/{name}" for name in QUERIES),
    "/record/search?q=Bayraktar",
    "/record/disputed_claims?status=refuted",
    "/record/on_this_day?month_day=07-20",
    "/record/events_between?from=2019&to=2020",
]


class Text(HTMLParser):
    """What a page says: its text outside scripts and styles, its buttons' words, and its
    title, each a line."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self._skip = 0
        self._in_title = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._skip += tag in ("script", "style")
        self._in_title = tag == "title"
        if tag == "input" and attrs.get("type") == "submit":
            self.parts.append(f" {attrs.get('value') or ''} ")

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style")
        self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        elif not self._skip:
            self.parts.append(data)

    @property
    def text(self) -> str:
        return re.sub(r"\s+", " ", " ".join([self.title, "".join(self.parts)]))


@pytest.fixture(scope="module")
async def ds(tmp_path_factory):
    return await site(build(REAL, tmp_path_factory.mktemp("plain")))


async def text_of(ds, path: str) -> Text:
    response = await ds.client.get(path)
    assert response.status_code == 200, path
    return Text(response.text)


@pytest.mark.parametrize("path", READER_PAGES)
async def test_a_canned_query_page_speaks_plain_words(ds, path):
    page = await text_of(ds, path)
    for words in DATASETTE_WORDS:
        assert words not in page.text, (path, words)
    assert " Show " in page.parts or "?" not in path  # a query with parameters has a form


async def test_a_query_page_counts_its_results_and_offers_its_downloads(ds):
    page = await text_of(ds, "/record/search?q=Bayraktar")
    count = re.search(r"(\d+) results\. Download them: JSON, CSV\.", page.text)
    assert count and int(count[1]) > 0
    assert "Words to find" in page.text and "Event id" in page.text


async def test_the_sql_stays_one_click_away(ds):
    response = await ds.client.get("/record/search?q=Bayraktar")
    link = re.search(r'<a href="([^"]+)">The database query behind this list</a>', response.text)
    shown = await ds.client.get(link[1].replace("&amp;", "&"))
    assert "events_fts match" in shown.text and "Hide the query" in Text(shown.text).text


async def test_typed_sql_keeps_datasettes_page(ds):
    """Not a reader's page: a query someone wrote gets Datasette's editor and button."""
    page = await text_of(ds, "/record?sql=select+1")
    assert "Custom SQL query" in page.text and " Run SQL " in page.parts


@pytest.mark.parametrize(
    ("path", "order"),
    [("/record/events", "rows in date order"),
     ("/record/events?_sort_desc=sort_key", "rows in date order, latest first"),
     ("/record/events?type=agreement", 'where type = "agreement" in date order'),
     ("/record/sources", "rows sorted by published start, descending"),
     # no order chosen: the primary key's, which Datasette does not describe
     ("/record/systems?kind=combat-drone", 'where kind = "combat-drone" sorted by id'),
     ("/record/citations?stance=supports", 'where stance = "supports" sorted by id')],
)  # fmt: skip
async def test_a_table_says_its_order_in_words(ds, path, order):
    page = await text_of(ds, path)
    assert order in page.title
    heading = re.search(r"<h3>\s*([\d,]+ rows[^<]*)", (await ds.client.get(path)).text)
    said = re.sub(r"\s+", " ", html.unescape(heading[1])).strip()
    assert said.endswith(order.removeprefix("rows "))
    assert "sorted by sort_key" not in page.text and "sort_key descending" not in page.text


async def test_plain_order_refuses_a_description_it_does_not_recognise(ds):
    plain_order = ds.jinja_env.filters["plain_order"]  # plugins/plain_words.py
    assert plain_order("where a = 1 sorted by sort_key", "sort_key", None) == (
        "where a = 1 in date order"
    )
    assert plain_order("", None, None) == ""
    assert plain_order("where a = 1", "id", None) == "where a = 1 sorted by id"
    with pytest.raises(ValueError, match="does not end with 'sorted by name'"):
        plain_order("where a = 1 sorted by title", "name", None)


async def test_an_event_page_labels_its_previous_and_next_events(ds):
    event = "/record/events/2019-01-12-ukrspecexport-baykar-tb2-contract"
    source = (await ds.client.get(event)).text
    nav = re.search(r"<nav class=\"event-neighbours\".*?</nav>", source, re.S)[0]
    page = Text(nav)
    assert re.search(r"Previous event ← .+ Next event .+ →", page.text)
    boxes = re.findall(r'<p class="neighbour (previous|next)">.*?</p>', nav, re.S)
    assert boxes == ["previous", "next"]  # one box each, never one run of text
