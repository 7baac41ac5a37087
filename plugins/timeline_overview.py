"""The visual timeline of the whole record on ``/timeline``: its data and its script.

``/-/timeline-overview.json`` answers one compact row per event of the whole record (one
SQL query, in date order), the columns named once in ``columns``; day-precision events
leave ``date_end`` empty (it is their ``date_start``). ``static/timeline.js`` lays the rows
out at the zoom the reader chose and draws them with the Vega-Lite spec of
``timeline.charts.overview_spec``; the list under the chart is the page's own, and the
chart links it to the range in view (``?from=&to=``).

The page tells the script where it opens: ``?view=2022-02-01..2022-02-28`` (what the
script writes into the address as the reader zooms), else the page's ``from``/``to``
filters, read by the site's date rules, else the whole record.
"""

import json
from pathlib import Path

from datasette import hookimpl
from datasette.utils.asgi import Response

from timeline import charts, vendor
from timeline.build import DATABASE_NAME as DATABASE
from timeline.dates import DateError, parse_date
from timeline.schema import CLAIM_STATUSES, EVENT_TYPES

STATIC = Path(__file__).resolve().parent.parent / "static"
ROUTE = "/-/timeline-overview.json"
TEMPLATE = f"database-{DATABASE}.html"  # /timeline (see timeline_page.py)
SCRIPT = "timeline.js"
STYLESHEET = "timeline.css"
COLUMNS = ("id", "date_start", "date_end", "precision", "approximate", "uncertain", "status",
           "type", "title", "date_label")  # fmt: skip
OVERVIEW_SQL = """
select id, date_start, nullif(date_end, date_start) as date_end, precision, approximate,
       uncertain, status, type, title, date_label
from events order by sort_key, id
"""


async def overview(datasette, request):
    """Every event as one short row: what the visual timeline needs, nothing more."""
    await datasette.ensure_permissions(
        request.actor, [("view-database", DATABASE), "view-instance"]
    )
    db = datasette.get_database(DATABASE)
    rows = [list(row) for row in (await db.execute(OVERVIEW_SQL)).rows]
    body = {
        "columns": COLUMNS,
        "rows": rows,
        "types": list(EVENT_TYPES),
        "claims": CLAIM_STATUSES,
        # ids are slugs (timeline.schema.SLUG): a row's address is this plus its id
        "event_url": datasette.urls.table(DATABASE, "events") + "/",
    }
    # 2.1 MB at 10,000 events, mostly titles and ids; the site's datasette-gzip sends 0.25 MB
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return Response(text, content_type="application/json; charset=utf-8")


@hookimpl
def register_routes():
    return [(f"^{ROUTE}$", overview)]


def opening_range(args) -> dict[str, str]:
    """The ``from``/``to`` filters as the first and last day they cover (empty when unset
    or unreadable: the page reports a date it cannot read)."""
    bounds = {}
    for name, end in (("from", False), ("to", True)):
        try:
            parsed = parse_date((args.get(name) or "").strip())
        except DateError:
            continue
        bounds[name] = (parsed.end if end else parsed.start).isoformat()
    return bounds


@hookimpl
def extra_template_vars(template, request, datasette):
    if template != TEMPLATE or request is None or request.args.get("sql"):
        return None
    return {
        "overview": {
            "data_url": datasette.urls.path(ROUTE),
            "list_url": datasette.urls.path("/timeline"),
            "spec": charts.overview_spec(),
            "brush_spec": charts.brush_spec(),
            "opening": opening_range(request.args),
        }
    }


def _static(datasette, name: str) -> str:
    """A static file's address with its content hash (cached for a year: cache_headers)."""
    return datasette.urls.path(f"/static/{name}?h={vendor.content_hash(STATIC / name)}")


@hookimpl
def extra_js_urls(template, datasette):
    if template != TEMPLATE:
        return []
    return [{"url": _static(datasette, SCRIPT), "module": True}]


@hookimpl
def extra_css_urls(template, datasette):
    if template != TEMPLATE:
        return []
    return [_static(datasette, STYLESHEET)]
