"""``/claims``: one card per claim with its claimant, verdict and the evidence for and
against it side by side (the ``claims`` view), fetched with parameterised SQL.

A page holds PAGE_SIZE claims in date order; ``?start=<event id>`` begins a page at a
claim, so a page stays small however many claims the timeline records.
"""

import json
from urllib.parse import urlencode

from datasette import hookimpl
from datasette.utils.asgi import Response

from timeline import filters
from timeline.site import DATABASE, ROUTES, ensure_readable

PAGE_SIZE = 50
NO_SUCH_CLAIM = "no claim has this event id; the page starts at the first claim."
POSITION_SQL = "select sort_key, id from events where id = :id and status != 'confirmed'"
PAGE_SQL = """
select id from events
where status != 'confirmed' and (sort_key, id) >= (:key, :id)
order by sort_key, id limit :limit
"""
EARLIER_SQL = """
select id from events where status != 'confirmed' and (sort_key, id) < (:key, :id)
order by sort_key desc, id desc limit :limit
"""
COUNT_SQL = "select count(*) from events where status != 'confirmed'"
CLAIMS_SQL = """
select c.event_id, c.date_label, c.title, c.status, c.claimants, c.stance, c.quote, c.note,
       c.source, c.source_url, e.summary
from claims c join events e on e.id = c.event_id
where c.event_id in (select value from json_each(:ids))
order by c.sort_key, c.event_id, c.stance desc
"""


async def _column(db, sql: str, params: dict) -> list:
    return [row[0] for row in (await db.execute(sql, params)).rows]


async def claims(datasette, request):
    await ensure_readable(datasette, request)
    db = datasette.get_database(DATABASE)
    position = {"key": "", "id": ""}
    errors = [f"Ignored {problem}." for problem in filters.unknown(request.args, ("start",))]
    if request.args.get("start"):
        found = (await db.execute(POSITION_SQL, {"id": request.args["start"]})).rows
        if found:
            position = {"key": found[0]["sort_key"], "id": found[0]["id"]}
        else:  # said on the page: a stale link would otherwise pass for the claim asked for
            errors.append(f"Ignored start {request.args['start']!r}: {NO_SUCH_CLAIM}")
    ids = await _column(db, PAGE_SQL, position | {"limit": PAGE_SIZE + 1})
    shown = ids[:PAGE_SIZE]
    earlier = await _column(db, EARLIER_SQL, position | {"limit": PAGE_SIZE})
    rows = [dict(r) for r in (await db.execute(CLAIMS_SQL, {"ids": json.dumps(shown)})).rows]
    path = datasette.urls.path(ROUTES["claims"])
    context = {
        "rows": rows,
        "errors": errors,
        "count": (await db.execute(COUNT_SQL)).first()[0],
        "shown": len(shown),
        "next_url": f"{path}?{urlencode({'start': ids[PAGE_SIZE]})}"
        if len(ids) > PAGE_SIZE
        else None,
        # the page before: it starts PAGE_SIZE claims earlier (or at the first claim)
        "previous_url": (f"{path}?{urlencode({'start': earlier[-1]})}" if earlier else None),
    }
    html = await datasette.render_template("claims.html", context, request=request)
    return Response.html(html)


@hookimpl
def register_routes():
    return [(f"^{ROUTES['claims']}$", claims)]
