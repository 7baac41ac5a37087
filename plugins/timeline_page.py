"""``/timeline``: every event in chronological order, grouped by year, with filters.

Filters come from the query string and go into parameterised SQL only::

    /timeline?actor=baykar&type=delivery&tag=bayraktar-tb2&status=confirmed&from=2019&to=2022-06

``status`` takes several values (``status=disputed,refuted`` or the parameter repeated).
``from``/``to`` accept a year, a year-month or a day; an event matches when the
span of days its date covers (``date_start``..``date_end``) overlaps the range,
so an event known only as "2019" is kept by ``from=2019-06`` and never pretends
to be 1 January.

Requests carrying ``sql=`` are arbitrary queries against the database, whose
page shares this URL: they are handed to Datasette's own database view.
"""

import json
from itertools import groupby
from urllib.parse import urlencode

from datasette import hookimpl
from datasette.utils import tilde_encode
from datasette.utils.asgi import Response

from timeline.build import DATABASE_NAME as DATABASE
from timeline.dates import DateError, parse_date

EVENTS_SQL = """
select e.id, e.date, e.date_label, e.date_start, e.date_end, e.precision, e.approximate,
       e.uncertain, e.year, e.title, e.summary, e.type, e.status, e.location, e.tags,
       e.citation_count, e.source_count,
       (select group_concat(a.name || ' (' || ea.role || ')', '; ')
          from event_actors ea join actors a on a.id = ea.actor_id
         where ea.event_id = e.id) as actors_roles
from events e
where (:actor = '' or exists (
         select 1 from event_actors ea join actors a on a.id = ea.actor_id
          where ea.event_id = e.id and (a.id = :actor or lower(a.name) = lower(:actor))))
  and (:type = '' or e.type = :type)
  and (:tag = '' or exists (select 1 from json_each(e.tags) where value = :tag))
  and (:status = '' or e.status in (select value from json_each(:status)))
  and (:start = '' or e.date_end >= :start)
  and (:end = '' or e.date_start <= :end)
order by e.sort_key, e.id
"""

CHOICES_SQL = {
    "actors": """select a.id as value, a.name as label, count(distinct ea.event_id) as n
                 from actors a join event_actors ea on ea.actor_id = a.id
                 group by a.id order by a.name""",
    "types": "select type as value, type as label, count(*) as n from events "
    "group by type order by type",
    "tags": """select j.value as value, j.value as label, count(*) as n
               from events e, json_each(e.tags) j group by j.value order by j.value""",
    "statuses": "select status as value, status as label, count(*) as n from events "
    "group by status order by status",
}

FILTERS = ("actor", "type", "tag", "status", "from", "to")


def date_bound(text, *, end):
    """'2019' -> '2019-01-01' (or '2019-12-31' when ``end``); None when unparseable.

    The date rules are timeline.dates'; a filter accepts whatever events.yaml does.
    """
    try:
        parsed = parse_date(text)
    except DateError:
        return None
    return (parsed.end if end else parsed.start).isoformat()


async def timeline(datasette, request, send):
    if "sql" in request.args:
        from datasette.views.database import DatabaseView

        request.scope["url_route"]["kwargs"].setdefault("format", None)
        return await DatabaseView.as_view(datasette)(request, send)

    db = datasette.get_database(DATABASE)
    chosen = {name: (request.args.get(name) or "").strip() for name in FILTERS}
    # status=disputed,refuted and status=disputed&status=refuted both mean either
    statuses = [v.strip() for arg in request.args.getlist("status") for v in arg.split(",")]
    statuses = list(dict.fromkeys(v for v in statuses if v))
    chosen["status"] = ",".join(statuses)
    errors = []
    params = {name: chosen[name] for name in ("actor", "type", "tag")}
    params["status"] = json.dumps(statuses) if statuses else ""
    for name, key, end in (("from", "start", False), ("to", "end", True)):
        params[key] = ""
        if chosen[name]:
            bound = date_bound(chosen[name], end=end)
            if bound is None:
                errors.append(
                    f"Ignored {name}={chosen[name]!r}: use a year (2019), "
                    "a month (2021-04) or a day (2021-04-15)."
                )
            else:
                params[key] = bound

    rows = [dict(r) for r in (await db.execute(EVENTS_SQL, params)).rows]
    for row in rows:
        row["url"] = datasette.urls.row(DATABASE, "events", tilde_encode(row["id"]))
    years = [
        {"year": year, "events": list(events)}
        for year, events in groupby(rows, lambda r: r["year"])
    ]
    choices = {
        name: [dict(r) for r in (await db.execute(sql)).rows] for name, sql in CHOICES_SQL.items()
    }
    active = {name: value for name, value in chosen.items() if value}
    removal_links = [
        {
            "name": name,
            "value": value,
            "url": datasette.urls.path(
                "/timeline" + _query({k: v for k, v in active.items() if k != name})
            ),
        }
        for name, value in active.items()
    ]
    return Response.html(
        await datasette.render_template(
            "timeline.html",
            {
                "years": years,
                "count": len(rows),
                "chosen": chosen,
                "active": removal_links,
                "errors": errors,
                "choices": choices,
                "table_url": datasette.urls.table(DATABASE, "events"),
                "feed_query": _query(
                    {
                        k: chosen[k]
                        for k in ("actor", "tag", "status")
                        if chosen[k] and "," not in chosen[k]
                    }
                ),
            },
            request=request,
        )
    )


def _query(args):
    return ("?" + urlencode(args)) if args else ""


@hookimpl
def register_routes():
    return [(r"^/(?P<database>timeline)$", timeline)]
