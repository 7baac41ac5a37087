"""The published site's names and addresses, in one place for every plugin and page.

A page that offers "these events" elsewhere (the timeline, a feed, a calendar, a file)
builds each address here from the same filters (``timeline.filters``), so a page and
its own feed cannot disagree about what "these" means.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import urlencode

from . import filters, vendor
from .store import DATABASE_NAME

DATABASE = DATABASE_NAME
# The site's own pages (beyond Datasette's database, table and row pages).
ROUTES = {
    "timeline": "/timeline",
    "register": "/register",
    "claims": "/claims",
    "data": "/data",
    "about": "/about",
}
# The timeline page's template (plugins/timeline_page.py renders it; others add to it).
TIMELINE_TEMPLATE = "timeline.html"
# The site's static files (served at /static/).
STATIC = Path(__file__).resolve().parent.parent / "static"
# An event's page (its id is a slug: nothing to escape).
EVENTS_PATH = f"/{DATABASE}/events/"
# The addresses the site had when the database shared the timeline page's name: they
# redirect to the database's address (plugins/old_addresses.py).
OLD_DATABASE = "timeline"


# A canned query that reads a page of events at a time takes the id of the event its page
# starts after (plugins/query_pages.py): its SQL names the magic parameter ``:_page_after``.
PAGE_AFTER = "after"
_PAGED = re.compile(r":_page_after\b")


def query_parameters(config: Mapping | str) -> list[str]:
    """The parameters a canned query (its configuration in the metadata) takes by name:
    those it declares, and ``after`` when it pages."""
    sql = config.get("sql", "") if isinstance(config, Mapping) else config
    declared = list(config.get("params", [])) if isinstance(config, Mapping) else []
    return declared + ([PAGE_AFTER] if pages(sql) else [])


def pages(sql: str) -> bool:
    """Whether a query's SQL reads a page at a time (it takes ``:_page_after``)."""
    return _PAGED.search(sql) is not None


async def nameless(db, values: Mapping[str, str]) -> list[str]:
    """What is wrong with each set filter whose value names no record (on a Datasette
    database, whose connections have the filters' SQL functions)."""
    query = filters.naming_query(values)
    return filters.nameless(values, (await db.execute(*query)).first() if query else None)


async def refused(db, args: Mapping, known: Iterable[str] = filters.NAMES) -> list[str]:
    """What a list that takes the filters (and ``known`` parameters in all) cannot honour
    in a query string: a name it does not take, a value no event could have, a value that
    names no record. Empty when it can answer."""
    known = tuple(known)
    given = {name: value for name, value in filters.chosen(args).items() if name in known}
    wrong = filters.unknown(args, known) + filters.problems(given)
    return wrong or await nameless(db, given)


def event_path(event_id: str) -> str:
    return EVENTS_PATH + event_id


# The canned queries that are feeds of events, and the renderer each is read with.
EVENT_FEEDS = {"atom": ("atom_feed", "atom"), "calendar": ("calendar", "ics")}
# The events as a file, by the data page's route (plugins/downloads.py).
EVENTS_CSV = "events.csv"


def query_string(args: Mapping[str, str]) -> str:
    return ("?" + urlencode(dict(args))) if args else ""


def events_links(urls, chosen: Mapping[str, str]) -> dict[str, str]:
    """The same events on the timeline, in the Atom feed, in the calendar and as a CSV
    file: ``chosen`` are the filters' values (``timeline.filters``), passed under their
    own names to each."""
    args = query_string(filters.active(chosen))
    links = {"timeline": urls.path(ROUTES["timeline"]) + args}
    for name, (query, renderer) in EVENT_FEEDS.items():
        links[name] = urls.query(DATABASE, query, format=renderer) + args
    links["csv"] = urls.path(f"{ROUTES['data']}/{EVENTS_CSV}") + args
    return links


async def ensure_readable(datasette, request) -> None:
    """The permission checks Datasette makes for the database's own pages: a page of
    this site's that reads the database makes them too (403 when they fail)."""
    await datasette.ensure_permissions(
        request.actor, [("view-database", DATABASE), "view-instance"]
    )


def static_url(urls, name: str) -> str:
    """A static file's address with its content hash (``?h=``): the address changes when
    the file does, so it may be cached for a year (plugins/cache_headers.py)."""
    return urls.path(f"/static/{name}?h={vendor.content_hash(STATIC / name)}")
