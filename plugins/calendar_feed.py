"""The ``.ics`` output of the calendar queries: all-day entries, absolute links.

Any query whose rows carry the events table's ``id``, ``title``, ``status``,
``date_start``, ``date_end``, ``date_label``, ``summary`` and ``type`` columns
renders as iCalendar through :func:`timeline.formats.ics_calendar` (the same code
as ``timeline export --format ics``). A day event is an all-day entry on that
day; a month- or year-only date spans its month or year. ``?_plain=1`` shows the
text as plain text. Any other query's ``.ics`` is a 404: Datasette asks ``can_render``
only to list the formats, and calls ``render`` for whatever the path asks.
"""

from datasette import NotFound, hookimpl
from datasette.utils.asgi import Response

from timeline.formats import ics_calendar

NEEDED = {"id", "title", "status", "date_start", "date_end", "date_label", "summary", "type"}


def can_render(columns):
    return set(columns) >= NEEDED


def render(datasette, request, rows, columns, database, query_name, data):
    if not can_render(columns):
        raise NotFound("This page has no calendar: its rows are not events.")
    base = f"{request.scheme}://{request.host}{datasette.urls.path('/')}"
    queries = (datasette.metadata(database=database) or {}).get("queries") or {}
    title = (queries.get(query_name) or {}).get("title") or "Events"
    text = ics_calendar([dict(zip(columns, row, strict=True)) for row in rows], base, title)
    plain = request.args.get("_plain")
    kind = "text/plain; charset=utf-8" if plain else "text/calendar; charset=utf-8"
    return Response(text, content_type=kind)


@hookimpl
def register_output_renderer(datasette):
    return {"extension": "ics", "render": render, "can_render": can_render}
