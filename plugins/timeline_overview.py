"""The visual timeline of the whole record on ``/timeline``: its data and its script.

``/-/timeline-overview.json`` answers one compact row per event of the whole record (one
SQL query, in date order), the columns named once in ``columns``; day-precision events
leave ``date_end`` empty (it is their ``date_start``). ``static/timeline.js`` lays the rows
out at the zoom the reader chose and draws them with the Vega-Lite spec of
``timeline.charts.overview_spec``; the list under the chart is the page's own, and the
chart links it to the range in view (``?from=&to=``).

It takes the site's filters (``timeline.filters``: ``?actor=baykar&status=disputed``…); a
value no event could have is refused (400) with what is wrong. The page asks it for the
filters the page applies, but for ``from`` and ``to``: the chart keeps every date of the
matching events, so the reader can zoom out of the range the list shows. It opens on
``?view=2022-02-01..2022-02-28`` (what the script writes into the address as the reader
zooms), else on the page's ``from``/``to``, else on the run of years where most events
start, between gaps of more than ``gap_years`` empty years (saying what it leaves out),
else on all of it.
"""

import json
from urllib.parse import urlencode

from datasette import hookimpl
from datasette.utils.asgi import Response

from timeline import charts, filters
from timeline.schema import CLAIM_STATUSES, EVENT_TYPES
from timeline.site import (
    DATABASE,
    ROUTES,
    TIMELINE_TEMPLATE,
    ensure_readable,
    refused,
    static_url,
)

ROUTE = "/-/timeline-overview.json"
SCRIPT = "timeline.js"
STYLESHEET = "timeline.css"
COLUMNS = ("id", "date_start", "date_end", "precision", "approximate", "uncertain", "status",
           "type", "title", "date_label")  # fmt: skip
OVERVIEW_SQL = """
select id, date_start, nullif(date_end, date_start) as date_end, precision, approximate,
       uncertain, status, type, title, date_label
from events e where {where} order by sort_key, id
"""
DATES = ("from", "to")  # what the page keeps for itself (see above)


async def overview(datasette, request):
    """Every event as one short row: what the visual timeline needs, nothing more."""
    await ensure_readable(datasette, request)
    wanted = filters.active(filters.chosen(request.args))
    db = datasette.get_database(DATABASE)
    problems = await refused(db, request.args)
    if problems:
        return Response.text(filters.said(problems) + "\n", status=400)
    sql = OVERVIEW_SQL.format(where=filters.where(wanted))
    rows = [list(row) for row in (await db.execute(sql, filters.parameters(wanted))).rows]
    body = {
        "columns": COLUMNS,
        "rows": rows,
        "types": list(EVENT_TYPES),
        "claims": CLAIM_STATUSES,
        # the chart opens on the run of years between gaps longer than this (timeline.js)
        "gap_years": charts.MAX_EMPTY_YEARS,
        # ids are slugs (timeline.schema.SLUG): a row's address is this plus its id
        "event_url": datasette.urls.table(DATABASE, "events") + "/",
    }
    # 2.1 MB at 10,000 events, mostly titles and ids; the site's datasette-gzip sends 0.25 MB
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return Response(text, content_type="application/json; charset=utf-8")


@hookimpl
def register_routes():
    return [(f"^{ROUTE}$", overview)]


def chart_filters(args) -> dict[str, str]:
    """The page's filters the chart applies: those the page applies (it leaves out, and
    reports, a value no event could have), but the dates."""
    wanted = filters.active(filters.chosen(args))
    return {name: value for name, value in wanted.items()
            if name not in DATES and not filters.problems({name: value})}  # fmt: skip


def opening_range(args) -> dict[str, str]:
    """The ``from``/``to`` filters as the first and last day they cover (left out when
    unset or unreadable: the page reports a date it cannot read)."""
    bounds = {name: filters.date_bound(args.get(name), end=name == "to") for name in DATES}
    return {name: day for name, day in bounds.items() if day}


@hookimpl
def extra_template_vars(template, request, datasette):
    if template != TIMELINE_TEMPLATE or request is None:
        return None
    wanted = chart_filters(request.args)
    return {
        "overview": {
            "data_url": datasette.urls.path(ROUTE) + (f"?{urlencode(wanted)}" if wanted else ""),
            "filtered": bool(wanted),
            "list_url": datasette.urls.path(ROUTES["timeline"]),
            "spec": charts.overview_spec(),
            "brush_spec": charts.brush_spec(),
            "opening": opening_range(request.args),
        }
    }


@hookimpl
def extra_js_urls(template, datasette):
    if template != TIMELINE_TEMPLATE:
        return []
    return [{"url": static_url(datasette.urls, SCRIPT), "module": True}]


@hookimpl
def extra_css_urls(template, datasette):
    if template != TIMELINE_TEMPLATE:
        return []
    return [static_url(datasette.urls, STYLESHEET)]
