"""Cell rendering for query results and views.

* ``event_id`` / ``related_id`` columns link to the event page (tables already
  link foreign keys; canned queries and views do not).
* ``snippet`` columns from the search query: FTS5 marks matches with ⟦ and ⟧;
  the text is escaped first, then the markers become ``<mark>``.
"""

from datasette import hookimpl
from datasette.utils import tilde_encode
from markupsafe import Markup, escape

from timeline.build import DATABASE_NAME as DATABASE

LINKED_TABLES = {"events", "event_actors", "citations", "event_relations"}
OPEN, CLOSE = "\u27e6", "\u27e7"


@hookimpl
def render_cell(value, column, table, database, datasette):
    if database != DATABASE or not isinstance(value, str):
        return None
    if column in ("event_id", "related_id") and table not in LINKED_TABLES:
        url = datasette.urls.row(DATABASE, "events", tilde_encode(value))
        return Markup('<a href="{}">{}</a>').format(url, value)
    if column == "snippet" and OPEN in value:
        escaped = str(escape(value))
        return Markup(escaped.replace(OPEN, "<mark>").replace(CLOSE, "</mark>"))
    return None
