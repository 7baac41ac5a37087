"""The visual timeline and the charts: their data, and the scripts that draw them.

* The visual timeline of ``/timeline`` is ``timeline_overview.py``'s (data and script).
* The home page gets events per year by type and the busiest actors' events per year;
  an actor's or a system's page gets its own events per year by type. Every count comes
  from the ``event_counts`` table the build writes, so a chart costs a few indexed rows
  at any number of events.
* Pages with charts load Vega, Vega-Lite, vega-embed (``static/vendor/``, copied from
  node_modules at set-up) and ``static/charts.js``, each linked by content hash so a CDN
  may keep it for a year (``cache_headers.py``). Other pages load nothing.
"""

from urllib.parse import urlencode

from datasette import hookimpl
from datasette.database import QueryInterrupted
from datasette.utils import tilde_decode, tilde_encode

from timeline import charts, vendor
from timeline.site import DATABASE, ROUTES, TIMELINE_TEMPLATE, static_url

SCRIPTS = [f"vendor/{name}" for name in vendor.SCRIPTS] + ["charts.js"]
CHART_TEMPLATES = {"index.html", TIMELINE_TEMPLATE}
ENTITY_TABLES = {"actors": "actor", "systems": "system"}
TOP_ACTORS = 12

PER_YEAR_SQL = """
select year, type, events from event_counts
where scope = :scope and scope_id = :id order by year, type
"""
# "cross join": read the few busiest actors' counts by key; left to itself SQLite read
# every actor's counts and looked each up among the few (19 ms at 100,000 events).
ACTOR_YEARS_SQL = """
select a.id, a.name, c.year, sum(c.events) as events
from (select id, name, event_count from actors where event_count > 0
      order by event_count desc, name limit :top) a
cross join event_counts c on c.scope = 'actor' and c.scope_id = a.id
group by a.id, c.year
order by a.event_count desc, a.name, c.year
"""


def _draws_charts(template: str, view_name: str, database: str, table: str) -> bool:
    if template in CHART_TEMPLATES:
        return True
    return view_name == "row" and database == DATABASE and table in ENTITY_TABLES


@hookimpl
def extra_js_urls(template, view_name, database, table, datasette):
    if not _draws_charts(template, view_name, database, table):
        return []
    # type=module: deferred, run in order once the page is parsed, without blocking its
    # first paint; the libraries' UMD builds attach vega, vegaLite, vegaEmbed to globalThis.
    return [{"url": static_url(datasette.urls, name), "module": True} for name in SCRIPTS]


async def _rows(db, sql: str, params: dict) -> list[dict]:
    return [dict(r) for r in (await db.execute(sql, params)).rows]


def _timeline_url(datasette, year: int, **filters: str) -> str:
    """The /timeline page filtered to one year (events whose dates overlap it) and more."""
    query = urlencode(filters | {"from": year, "to": year})
    return datasette.urls.path(ROUTES["timeline"]) + "?" + query


async def home_charts(datasette) -> dict:
    db = datasette.get_database(DATABASE)
    per_year = await _rows(db, PER_YEAR_SQL, {"scope": "all", "id": ""})
    for row in per_year:
        row["url"] = _timeline_url(datasette, type=row["type"], year=row["year"])
    actors = await _rows(db, ACTOR_YEARS_SQL, {"top": TOP_ACTORS})
    for row in actors:
        row["url"] = datasette.urls.row(DATABASE, "actors", tilde_encode(row["id"]))
    # both charts span the record's years, so their columns line up
    years = {row["year"] for row in per_year}
    return {
        "per_year_chart": charts.per_year_spec(
            per_year, "Events per year, stacked by type of event.", years
        ),
        "actor_years_chart": charts.actor_years_spec(
            actors, f"Events per year of the {TOP_ACTORS} actors with the most events.", years
        ),
    }


async def entity_chart(datasette, table: str, entity_id: str) -> dict:
    db = datasette.get_database(DATABASE)
    scope = ENTITY_TABLES[table]
    rows = await _rows(db, PER_YEAR_SQL, {"scope": scope, "id": entity_id})
    if scope == "actor":  # the timeline filters by actor, not by system
        for row in rows:
            row["url"] = _timeline_url(datasette, actor=entity_id, type=row["type"],
                                       year=row["year"])  # fmt: skip
    return {"entity_chart": charts.per_year_spec(rows, "Its events per year, by type.")}


async def or_no_chart(chart, *names: str) -> dict:
    """A chart's template variables, or the page without it (and a note) when its SQL ran
    out of time: under heavy load a quick query can wait past the time limit, and that is
    no reason for an error page."""
    try:
        return await chart
    except QueryInterrupted:
        return dict.fromkeys(names) | {"chart_unavailable": True}


@hookimpl
def extra_template_vars(template, view_name, database, table, request, datasette):
    if template == "index.html":
        return or_no_chart(home_charts(datasette), "per_year_chart", "actor_years_chart")
    if view_name == "row" and database == DATABASE and table in ENTITY_TABLES and request:
        entity_id = tilde_decode(request.url_vars["pks"])
        return or_no_chart(entity_chart(datasette, table, entity_id), "entity_chart")
    return None
