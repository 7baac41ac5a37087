"""The site's feeds: which canned queries are feeds, Atom feeds with absolute entry links,
and an empty result as an empty feed, not an error.

FEEDS names the canned queries that are feeds rather than questions: the home page lists
them under Feeds (and only the others as questions), and a question whose rows a feed
follows links to it. Templates see them as ``site_feeds``.

datasette-atom 0.9 computes ``max(atom_updated)`` over the rows, which fails when
a query (say, a filtered feed) matches nothing. This renderer is registered after
datasette-atom's (``trylast``), takes over the ``.atom`` extension, answers empty
results itself and hands everything else to datasette-atom unchanged.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from datasette import hookimpl
from datasette.utils.asgi import Response
from datasette_atom import can_render_atom, render_atom
from feedgen.feed import FeedGenerator


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


def absolute_links(datasette, request, columns, rows):
    """Rows whose ``atom_link`` is an absolute URL (feed readers resolve nothing else)."""
    if "atom_link" not in columns:
        return rows
    base = f"{request.scheme}://{request.host}"
    out = []
    for row in rows:
        item = dict(zip(columns, row, strict=True))
        link = item["atom_link"] or ""
        if link.startswith("/"):
            item["atom_link"] = base + datasette.urls.path(link)
        out.append(item)
    return out


def render_atom_or_empty(
    datasette, request, sql, columns, rows, database, table, query_name, view_name, data
):
    rows = absolute_links(datasette, request, columns, rows)
    if rows:
        return render_atom(
            datasette, request, sql, columns, rows, database, table, query_name, view_name, data
        )
    # Same checks and title rules as datasette-atom, minus the entries.
    render_atom_args_ok = can_render_atom(columns)
    if not render_atom_args_ok:
        # Let datasette-atom produce its usual 400 error.
        return render_atom(
            datasette, request, sql, columns, rows, database, table, query_name, view_name, data
        )
    title = request.args.get("_feed_title") or (table or "Events")
    if query_name:
        queries = (datasette.metadata(database=database) or {}).get("queries") or {}
        title = (queries.get(query_name) or {}).get("title") or title
    feed = FeedGenerator()
    feed.id(request.url)
    feed.link(href=request.url, rel="self")
    feed.title(title)
    feed.updated(datetime(1970, 1, 1, tzinfo=UTC))
    return Response(
        feed.atom_str(pretty=True),
        content_type="application/xml; charset=utf-8",
        status=200,
    )


@hookimpl(trylast=True)
def register_output_renderer():
    return {"extension": "atom", "render": render_atom_or_empty, "can_render": can_render_atom}
