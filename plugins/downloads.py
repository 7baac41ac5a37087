"""``/data``: the data and downloads page; ``/data/<file>``: each of its files, saved in one click.

Every file is made at request time from the database the site serves, by the code that makes
it for ``timeline export`` (``timeline.formats``): the page, the command and the files cannot
disagree. The Atom file is the site's own Atom feed, fetched through ``datasette.client``.
Each answer names its file (``Content-Disposition: attachment``), so a browser saves it
instead of showing raw text in the tab.

The CSV starts with a UTF-8 byte-order mark: Excel reads a CSV without one in the computer's
legacy code page, garbling every dash and accented name; LibreOffice, Google Sheets and
Python's ``utf-8-sig`` take the mark for what it is. Cells a spreadsheet would run as formulas
are neutralised, as in every CSV the site serves (``timeline.csvsafe``).

The SQLite database is Datasette's own download, linked only where the server sends it
(``database_download_url``, from ``site_vocab``): the development server serves a database
that may change under the reader and refuses to send it.
"""

import asyncio
import datetime as dt
import io
import threading
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import yaml
from datasette import NotFound, hookimpl
from datasette.utils.asgi import Response

from timeline import filters
from timeline.export import Filters
from timeline.formats import citation_file, last_updated, render
from timeline.site import DATABASE, ROUTES, query_string, refused
from timeline.store import INPUT_KEY

ROUTE = ROUTES["data"]
# A saved file's name says where it came from, e.g. turkey-ukraine-timeline-events.csv.
FILE_PREFIX = "turkey-ukraine-timeline-"
CSV_BOM = "\ufeff"
# Made files kept for the next reader, keyed by the database file (at 10,000 events
# the files take 2-7 s each to make, and 80 MB together; at the real size 0.1 s and 1 MB).
CACHE_BYTES = 96 * 2**20


@dataclass(frozen=True)
class Download:
    name: str  # its address under /data/
    label: str
    media_type: str
    about: str  # what it holds, for the page
    format: str = ""  # the timeline.formats format that makes it ...
    feed: str = ""  # ... or the site's feed (canned query) it saves
    zipped: bool = False  # the format's files in one zip archive
    filename: str = ""  # the saved file's name, when not FILE_PREFIX + name
    filtered: bool = True  # takes the site's filters (?actor=, ?from=, …: timeline.filters)

    @property
    def saved_as(self) -> str:
        return self.filename or FILE_PREFIX + self.name


DOWNLOADS = (
    Download("events.csv", "Events (CSV)", "text/csv; charset=utf-8",
             "one row per event for a spreadsheet; lists (countries, tags, actors as "
             "actor:role, systems, sources) are joined with “;”", format="csv"),
    Download("events.json", "Events (JSON)", "application/json",
             "one object per event with its actors, systems, citations and related events",
             format="json"),
    Download("calendar.ics", "Calendar (iCalendar)", "text/calendar; charset=utf-8",
             "every event as an all-day entry; a month or year spans its month or year",
             format="ics"),
    Download("events.atom", "Atom feed", "application/atom+xml; charset=utf-8",
             "the latest 100 events, newest first, as the site's Atom feed gives them",
             feed="atom_feed"),
    Download("datapackage.zip", "Frictionless data package (ZIP)", "application/zip",
             "every table as CSV with exact values, described by datapackage.json (columns, "
             "types, keys)", format="datapackage", zipped=True),
    Download("CITATION.cff", "Citation file (CFF)", "application/yaml; charset=utf-8",
             "how to cite the dataset, in the Citation File Format", format="cff",
             filename="CITATION.cff", filtered=False),
)  # fmt: skip
BY_NAME = {d.name: d for d in DOWNLOADS}


def site_url(datasette, request) -> str:
    """The site's absolute address, as readers reached it (files carry absolute links)."""
    return f"{request.scheme}://{request.host}{datasette.urls.path('/')}"


def database_path(datasette) -> Path:
    db = datasette.get_database(DATABASE)
    if not db.path:
        raise NotFound("This site serves no database file to make downloads from.")
    return Path(db.path)


def zipped(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


class Made:
    """Files made from the database, at most CACHE_BYTES of them kept. One file is made at a
    time, in a worker thread: a burst of downloads waits in turn instead of taking every core
    from the pages, and readers asking for the same file at once share its one making."""

    def __init__(self) -> None:
        self._files: OrderedDict[tuple, bytes] = OrderedDict()
        self._making = threading.Lock()

    def get(self, key: tuple, make) -> bytes:
        with self._making:
            if key in self._files:
                self._files.move_to_end(key)
                return self._files[key]
            body = self._files[key] = make()
            while sum(map(len, self._files.values())) > CACHE_BYTES:
                self._files.popitem(last=False)
            return body


MADE = Made()


def made_file(download: Download, db: Path, base: str, wanted: Filters) -> bytes:
    files = render(download.format, db, wanted, base)
    if download.zipped:
        return zipped(files)
    text = files[download.name]
    if download.media_type.startswith("text/csv"):
        text = CSV_BOM + text
    return text.encode("utf-8")


async def content(
    datasette, request, download: Download, chosen: dict[str, str]
) -> bytes | Response:
    """The file's bytes, of the events the filters keep (or the feed's own refusal,
    passed on)."""
    active = filters.active(chosen)
    if download.feed:
        path = datasette.urls.query(DATABASE, download.feed, format="atom") + query_string(active)
        # The feed's links are absolute: made for the host the reader asked.
        feed = await datasette.client.get(path, headers={"host": request.host})
        if feed.status_code != 200:
            return Response.text(feed.text, status=feed.status_code)
        return feed.content
    db, base = database_path(datasette), site_url(datasette, request)
    # What the making will read: the database as its last build left it, known by the
    # hash of the input that build read (the file itself changes in place, in its log).
    built = await datasette.get_database(DATABASE).execute(
        "select value from build_info where key = ?", [INPUT_KEY]
    )
    wanted, row = Filters.from_values(chosen), built.first()
    if row is None:  # a database no build of this version wrote: made, never cached
        return await asyncio.to_thread(made_file, download, db, base, wanted)
    key = (download.name, str(db), base, row[0], tuple(sorted(active.items())))
    return await asyncio.to_thread(MADE.get, key, lambda: made_file(download, db, base, wanted))


async def download_file(datasette, request):
    await datasette.ensure_permissions(
        request.actor, [("view-database", DATABASE), "view-instance"]
    )
    download = BY_NAME.get(request.url_vars["name"])
    if download is None:
        raise NotFound(f"No such download. The files are listed at {ROUTE}.")
    chosen = filters.chosen(request.args)
    if filters.active(chosen) and not download.filtered:
        wrong = [f"{download.saved_as} describes the whole dataset and takes no filters"]
    else:
        wrong = await refused(datasette.get_database(DATABASE), request.args)
    if wrong:  # a filter that cannot be honoured is refused, never ignored
        return Response.text(filters.said(wrong) + "\n", status=400)
    body = await content(datasette, request, download, chosen)
    if isinstance(body, Response):
        return body
    disposition = f'attachment; filename="{download.saved_as}"'
    return Response(body, content_type=download.media_type,
                    headers={"content-disposition": disposition})  # fmt: skip


def long_date(day: str) -> str:
    """``2026-12-05`` as ``5 December 2026`` ('' stays '')."""
    if not day:
        return ""
    date = dt.date.fromisoformat(day)
    return f"{date.day} {date:%B %Y}"


async def data_page(datasette, request):
    await datasette.ensure_permissions(
        request.actor, [("view-database", DATABASE), "view-instance"]
    )
    db = datasette.get_database(DATABASE)
    rows = (await db.execute("select first_added, last_changed from events")).rows
    info = dict((await db.execute("select key, value from build_info")).rows)
    updated = last_updated(rows)
    citation = yaml.safe_load(citation_file(len(rows), updated, site_url(datasette, request)))
    context = {
        "downloads": [(d, datasette.urls.path(f"{ROUTE}/{d.name}")) for d in DOWNLOADS],
        "updated": long_date(updated),
        "counts": {k.removeprefix("count_"): int(v) for k, v in info.items() if k[:6] == "count_"},
        "citation": citation,
        "citation_year": str(citation.get("date-released") or "")[:4],
        "citation_url": datasette.urls.path(f"{ROUTE}/CITATION.cff"),
    }
    html = await datasette.render_template("data.html", context, request=request)
    return Response.html(html)


@hookimpl
def register_routes():
    return [(f"^{ROUTE}$", data_page), (f"^{ROUTE}/(?P<name>[^/]+)$", download_file)]
