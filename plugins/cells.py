"""Cell rendering for query results and views.

* ``title`` in a row that also carries an ``event_id`` links to the event page: readers
  follow titles, not slugs. The ``event_id`` column stays in the results (CSV and JSON
  need it); the stylesheet hides it beside a linked title on query pages.
* ``event_id`` / ``related_id`` columns link to the event page (tables already
  link foreign keys; canned queries and views do not).
* ``event_ids`` (comma-separated, as ``actors_together`` gives them) become the events'
  titles, linked, at most MAX_TITLES of them.
* ``snippet`` columns from the search query: FTS5 marks matches with ⟦ and ⟧;
  the text is escaped first, then the markers become ``<mark>``.
"""

import json

from datasette import hookimpl
from datasette.utils import tilde_encode
from markupsafe import Markup, escape

from timeline.site import DATABASE

LINKED_TABLES = {"events", "event_actors", "citations", "event_relations"}
OPEN, CLOSE = "\u27e6", "\u27e7"
MAX_TITLES = 5
TITLES_SQL = "select id, title from events where id in (select value from json_each(:ids))"


def event_link(datasette, event_id: str, text: str) -> Markup:
    url = datasette.urls.row(DATABASE, "events", tilde_encode(event_id))
    return Markup('<a href="{}">{}</a>').format(url, text)


def event_of(row) -> str | None:
    """The event a result row is about, when it has an ``event_id`` column."""
    columns = row.keys() if hasattr(row, "keys") else ()
    value = row["event_id"] if "event_id" in columns else None
    return value if isinstance(value, str) and value else None


async def linked_titles(datasette, text: str) -> Markup:
    """'a,b,c' as the events' titles, linked, in the given order; unknown ids stay as text."""
    ids = [i for i in text.split(",") if i]
    shown = ids[:MAX_TITLES]
    db = datasette.get_database(DATABASE)
    titles = dict((await db.execute(TITLES_SQL, {"ids": json.dumps(shown)})).rows)
    links = [event_link(datasette, i, titles[i]) if i in titles else escape(i) for i in shown]
    more = f"; and {len(ids) - len(shown)} more" if len(ids) > len(shown) else ""
    return Markup("; ").join(links) + more


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    if database != DATABASE or not isinstance(value, str):
        return None
    if column == "title" and (event_id := event_of(row)):
        return event_link(datasette, event_id, value)
    if column in ("event_id", "related_id") and table not in LINKED_TABLES:
        return event_link(datasette, value, value)
    if column == "event_ids" and table is None:
        return linked_titles(datasette, value)
    if column == "snippet" and OPEN in value:
        escaped = str(escape(value))
        return Markup(escaped.replace(OPEN, "<mark>").replace(CLOSE, "</mark>"))
    return None
