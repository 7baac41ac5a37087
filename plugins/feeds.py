"""The site's feeds: which canned queries are feeds, Atom feeds with absolute entry links,
and an empty result as an empty feed, not an error.

FEEDS names the canned queries that are feeds rather than questions: the home page lists
them under Feeds (and only the others as questions), and a question whose rows a feed
follows links to it. Templates see them as ``site_feeds``.

The Atom feeds are rendered here, on Datasette's public ``register_output_renderer`` hook,
with feedgen: a query that gives ``atom_id``, ``atom_title`` and ``atom_updated`` (and
optionally ``atom_content`` and ``atom_link``) is a feed, entries in the query's order,
links made absolute, and an empty result is a valid empty feed, not an error.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from datasette import hookimpl
from datasette.utils.asgi import BadRequest, Response
from feedgen.feed import FeedGenerator

from timeline.generated import ATOM_UPDATED


@dataclass(frozen=True)
class Feed:
    query: str  # the canned query behind the feed
    format: str  # its output renderer's extension
    label: str  # how pages name it
    follows: str = ""  # the question whose rows it gives, if any


FEEDS = (
    Feed("atom_feed", "atom", "Atom feed of events"),
    Feed("calendar", "ics", "Calendar of events (iCalendar)"),
    Feed("recently_added_feed", "atom", "Atom feed of newly added events", "recently_added"),
)


@hookimpl
def prepare_jinja2_environment(env):
    env.globals["site_feeds"] = FEEDS


def absolute_links(datasette, request, columns, rows) -> list[dict]:
    """The rows as mappings, ``atom_link`` an absolute URL (feed readers resolve nothing
    else)."""
    base = f"{request.scheme}://{request.host}"
    out = []
    for row in rows:
        item = dict(zip(columns, row, strict=True))
        link = item.get("atom_link") or ""
        if link.startswith("/"):
            item["atom_link"] = base + datasette.urls.path(link)
        out.append(item)
    return out


# The columns a query gives an Atom feed: the entries' id, title and update time, and
# optionally their text and link.
ATOM_COLUMNS = {"atom_id", "atom_title", "atom_updated"}


def can_render_atom(columns) -> bool:
    return set(columns) >= ATOM_COLUMNS


def feed_title(datasette, request, database, table, query_name) -> str:
    """A canned query's configured title, else ``?_feed_title=``, else the table."""
    queries = (datasette.metadata(database=database) or {}).get("queries") or {}
    configured = (queries.get(query_name) or {}).get("title") if query_name else None
    return configured or request.args.get("_feed_title") or table or "Events"


# An empty feed is as new as the record it reads: its newest event's change.
RECORD_UPDATED_SQL = f"select max({ATOM_UPDATED}) from events e"


async def render_atom(datasette, request, columns, rows, database, table, query_name):
    """An Atom feed of the rows, in their order; an empty result is a valid empty feed,
    updated when the record last changed (Atom asks for a date; the epoch for a record
    with no event at all)."""
    if not can_render_atom(columns):
        # raised: Datasette gives a renderer's own Response the query's status (200)
        missing = ", ".join(sorted(ATOM_COLUMNS - set(columns)))
        raise BadRequest(f"An Atom feed needs the columns {missing}.")
    rows = absolute_links(datasette, request, columns, rows)
    feed = FeedGenerator()
    feed.id(request.url)
    feed.link(href=request.url, rel="self")
    feed.title(feed_title(datasette, request, database, table, query_name))
    updates = [row["atom_updated"] for row in rows if row["atom_updated"]]
    if not updates:
        newest = (await datasette.get_database(database).execute(RECORD_UPDATED_SQL)).first()
        updates = [newest[0] if newest and newest[0] else datetime(1970, 1, 1, tzinfo=UTC)]
    feed.updated(max(updates))
    for row in rows:
        entry = feed.add_entry(order="append")
        entry.id(str(row["atom_id"]))
        entry.title(str(row["atom_title"]))
        entry.updated(row["atom_updated"])
        if row.get("atom_content") is not None:
            entry.content(str(row["atom_content"]), type="text")
        if row.get("atom_link"):
            entry.link(href=row["atom_link"])
    return Response(
        feed.atom_str(pretty=True), content_type="application/xml; charset=utf-8", status=200
    )


@hookimpl
def register_output_renderer():
    return {"extension": "atom", "render": render_atom, "can_render": can_render_atom}
