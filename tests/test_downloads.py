"""The data and downloads page: every file it links is saved as a named file with its media
type, and is read back by the tool that consumes it; the footer links the page everywhere."""

from __future__ import annotations

import copy
import csv
import io
import json
import sqlite3
import subprocess
import zipfile
from html.parser import HTMLParser

import feedparser
import icalendar
import pytest
import yaml
from frictionless import Package
from support import REAL, ROOT, SMALL, build, load_yaml, site, write_yaml

from conftest import skip_or_fail
from timeline import schema
from timeline.store import INPUT_KEY

PAGE = "/data"
HOSTILE_TITLE = '=HYPERLINK("http://example.com","click")'


class Links(HTMLParser):
    """The links of a page: (href, class, text), and which of them sit in the footer."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[dict] = []
        self._open: dict | None = None
        self._footer = 0
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "footer":
            self._footer += 1
        if tag == "a":
            self._open = {"href": attrs.get("href"), "class": attrs.get("class") or "",
                          "text": "", "footer": self._footer > 0}  # fmt: skip
            self.links.append(self._open)

    def handle_endtag(self, tag):
        if tag == "footer":
            self._footer -= 1
        if tag == "a":
            self._open = None

    def handle_data(self, data):
        if self._open is not None:
            self._open["text"] += data


def downloads_on(html: str) -> list[str]:
    return [link["href"] for link in Links(html).links if "download" in link["class"].split()]


@pytest.fixture(scope="module")
def real_db(tmp_path_factory):
    return build(REAL, tmp_path_factory.mktemp("downloads"))


@pytest.fixture(scope="module")
async def real(real_db):
    return await site(real_db)


@pytest.fixture(scope="module")
async def files(real) -> dict[str, object]:
    """Every file the page links, fetched once: its name on the page -> the response."""
    page = await real.client.get(PAGE)
    assert page.status_code == 200
    return {href: await real.client.get(href) for href in downloads_on(page.text)}


def events_in(db) -> dict[str, dict]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return {r["id"]: dict(r) for r in conn.execute("select * from events")}
    finally:
        conn.close()


def attachment_name(response) -> str:
    kind, _, name = response.headers["content-disposition"].partition("; filename=")
    assert kind == "attachment", response.headers["content-disposition"]
    return name.strip('"')


async def test_every_file_is_an_attachment_with_its_name_and_media_type(files):
    expected = {
        "/data/events.csv": ("turkey-ukraine-timeline-events.csv", "text/csv"),
        "/data/events.json": ("turkey-ukraine-timeline-events.json", "application/json"),
        "/data/calendar.ics": ("turkey-ukraine-timeline-calendar.ics", "text/calendar"),
        "/data/events.atom": ("turkey-ukraine-timeline-events.atom", "application/atom+xml"),
        "/data/datapackage.zip": ("turkey-ukraine-timeline-datapackage.zip", "application/zip"),
        "/data/CITATION.cff": ("CITATION.cff", "application/yaml"),
    }
    assert set(files) == set(expected)
    for href, response in files.items():
        assert response.status_code == 200, href
        name, media_type = expected[href]
        assert attachment_name(response) == name
        assert response.headers["content-type"].split(";")[0] == media_type, href


async def test_csv_opens_in_a_spreadsheet_with_plain_lists_and_no_internal_columns(files, real_db):
    body = files["/data/events.csv"].content
    # A byte-order mark, so Excel reads UTF-8 rather than the computer's legacy code page.
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    stored = events_in(real_db)
    assert [r["id"] for r in rows] == sorted(stored, key=lambda i: (stored[i]["sort_key"], i))
    header = list(rows[0])
    exported = [c.name for c in schema.table_columns("events") if c.export]
    internal = [c.name for c in schema.table_columns("events") if not c.export]
    assert header[: len(exported)] == exported and "sort_key" in internal
    assert not set(internal) & set(header) - {"actors", "systems"}  # re-made as plain lists
    for row in rows:
        event = stored[row["id"]]
        assert row["title"] == event["title"]
        for column in ("tags", "countries"):
            assert row[column] == ";".join(json.loads(event[column])), (row["id"], column)
        assert not any(row[c].startswith("[") for c in ("tags", "countries", "actors"))
    baykar = next(r for r in rows if "baykar:" in r["actors"])
    assert all(part.count(":") == 1 for part in baykar["actors"].split(";"))


async def test_csv_neutralises_a_formula(tmp_path):
    data = copy.deepcopy(load_yaml(SMALL))
    data["events"][0]["title"] = HOSTILE_TITLE
    ds = await site(build(write_yaml(data, tmp_path / "events.yaml"), tmp_path))
    body = (await ds.client.get("/data/events.csv")).content.decode("utf-8-sig")
    titles = [r["title"] for r in csv.DictReader(io.StringIO(body, newline=""))]
    assert "'" + HOSTILE_TITLE in titles and HOSTILE_TITLE not in titles


async def test_json_holds_every_event_with_its_citations(files, real_db):
    events = json.loads(files["/data/events.json"].content)
    assert {e["id"] for e in events} == set(events_in(real_db))
    assert all(e["citations"] and isinstance(e["tags"], list) for e in events)


async def test_calendar_is_read_by_icalendar(files, real_db):
    calendar = icalendar.Calendar.from_ical(files["/data/calendar.ics"].content)
    entries = calendar.walk("VEVENT")
    assert {str(e["uid"]).split("@")[0] for e in entries} == set(events_in(real_db))
    assert all(str(e["url"]).startswith("http://localhost/record/events/") for e in entries)


async def test_atom_is_the_sites_feed_read_by_feedparser(files, real):
    saved = files["/data/events.atom"]
    feed = feedparser.parse(saved.content)
    assert not feed.bozo, feed.get("bozo_exception")
    live = await real.client.get("/record/atom_feed.atom")
    assert [e.id for e in feed.entries] == [e.id for e in feedparser.parse(live.content).entries]
    assert len(feed.entries) == 100  # the feed's size; the record is larger
    assert all(e.link.startswith("http://localhost/record/events/") for e in feed.entries)


async def test_data_package_is_valid_for_frictionless(files, real_db, tmp_path):
    with zipfile.ZipFile(io.BytesIO(files["/data/datapackage.zip"].content)) as archive:
        archive.extractall(tmp_path)
    package = Package(str(tmp_path / "datapackage.json"))
    report = package.validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:10]
    events = next(r for r in package.resources if r.name == "events")
    assert {row["id"] for row in events.read_rows()} == set(events_in(real_db))


async def test_citation_file_is_read_by_citation_js_and_dated_as_the_page(files, real, tmp_path):
    text = files["/data/CITATION.cff"].content.decode("utf-8")
    cff = yaml.safe_load(text)
    page = (await real.client.get(PAGE)).text
    released = cff["date-released"]
    assert f"{released.day} {released:%B %Y}</strong>" in page
    assert f"({released.year})" in page and cff["title"] in page
    if not (ROOT / "node_modules" / "@citation-js" / "plugin-cff").exists():
        skip_or_fail("Citation.js is not installed (npm ci)")
    (tmp_path / "CITATION.cff").write_text(text, encoding="utf-8")
    proc = subprocess.run(["node", str(ROOT / "tests" / "read_cff.cjs"),
                           str(tmp_path / "CITATION.cff")],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (item,) = json.loads(proc.stdout)
    assert item["type"] == "dataset" and item["title"] == cff["title"]


async def test_an_unknown_file_is_a_404(real):
    response = await real.client.get("/data/events.xlsx")
    assert response.status_code == 404 and "/data" in response.text


async def test_a_changed_database_gives_new_files(tmp_path):
    path = write_yaml(copy.deepcopy(load_yaml(SMALL)), tmp_path / "events.yaml")
    ds = await site(build(path, tmp_path))
    before = (await ds.client.get("/data/events.json")).json()
    data = load_yaml(path)
    data["events"][0]["title"] = "A title changed after the first download"
    build(write_yaml(data, path), tmp_path)  # replaces the database file
    after = (await ds.client.get("/data/events.json")).json()
    assert "A title changed after the first download" in {e["title"] for e in after}
    assert "A title changed after the first download" not in {e["title"] for e in before}


async def test_a_database_without_the_builds_key_is_made_from_each_time(tmp_path):
    """A database no build of this version wrote (no input hash to know it by) is read
    afresh for every download, never from a cache that could be stale."""
    path = write_yaml(copy.deepcopy(load_yaml(SMALL)), tmp_path / "events.yaml")
    db = build(path, tmp_path)
    with sqlite3.connect(db) as conn:
        conn.execute("delete from build_info where key = ?", [INPUT_KEY])
    conn.close()
    ds = await site(db)
    for title in ("First", "Second"):
        with sqlite3.connect(db) as conn:
            conn.execute("update events set title = ? where rowid = 1", [title])
        conn.close()
        response = await ds.client.get("/data/events.json")
        assert response.status_code == 200 and title in {e["title"] for e in response.json()}


# --- the SQLite database: linked where it is sent ------------------------------------------


@pytest.fixture(scope="module")
async def production(small_db):
    """As `timeline serve --production` runs it: the database immutable."""
    return await site(small_db, immutable=True)


async def test_production_links_the_database_and_it_opens_in_sqlite(production, small_db, tmp_path):
    page = (await production.client.get(PAGE)).text
    (href,) = [h for h in downloads_on(page) if h.endswith(".db")]
    response = await production.client.get(href)
    assert response.status_code == 200 and attachment_name(response) == "record.db"
    saved = tmp_path / "record.db"
    saved.write_bytes(response.content)
    assert set(events_in(saved)) == set(events_in(small_db))


async def test_development_says_why_it_does_not_send_the_database(ds):
    page = (await ds.client.get(PAGE)).text
    assert not [h for h in downloads_on(page) if h.endswith(".db")]
    assert "this server does not send it" in page
    assert (await ds.client.get("/record.db")).status_code == 403  # why: served mutable


# --- linked from every page -----------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/", "/timeline", "/record/events", "/record/events/montreux", "/about", "/claims",
     "/register", "/record/disputed_claims", PAGE, "/record/events/no-such-event"],
)  # fmt: skip
async def test_the_footer_links_the_page(ds, path):
    response = await ds.client.get(path)
    assert response.status_code == (404 if "no-such" in path else 200), path
    footer = [link for link in Links(response.text).links if link["footer"]]
    assert {"href": PAGE, "class": "data-link", "text": "Data and downloads",
            "footer": True} in footer, path  # fmt: skip


async def test_home_page_links_the_page(ds):
    body = [link for link in Links((await ds.client.get("/")).text).links if not link["footer"]]
    assert any(link["href"] == PAGE for link in body)


async def test_links_keep_the_base_url(small_db):
    ds = await site(small_db, settings={"base_url": "/prefix/"})
    page = await ds.client.get(PAGE)  # the client adds the prefix, as a proxy would strip it
    assert page.status_code == 200
    assert all(h.startswith("/prefix/data/") for h in downloads_on(page.text))
    footer = [link for link in Links(page.text).links if link["footer"]]
    assert any(link["href"] == "/prefix/data" for link in footer)
    saved = await ds.client.get(downloads_on(page.text)[0].removeprefix("/prefix"))
    assert saved.status_code == 200 and attachment_name(saved)
