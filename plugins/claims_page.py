"""``/claims``: one card per claim with its claimant, verdict and the evidence for and
against it side by side (the ``claims`` view), fetched with parameterised SQL."""

from datasette import hookimpl
from datasette.utils.asgi import Response

from timeline.build import DATABASE_NAME as DATABASE

CLAIMS_SQL = """
select c.event_id, c.date_label, c.title, c.status, c.claimants, c.stance, c.quote, c.note,
       c.source, c.source_url, e.summary
from claims c join events e on e.id = c.event_id
order by c.sort_key, c.event_id, c.stance desc
"""


async def claims(datasette, request):
    db = datasette.get_database(DATABASE)
    rows = [dict(r) for r in (await db.execute(CLAIMS_SQL)).rows]
    html = await datasette.render_template("claims.html", {"rows": rows}, request=request)
    return Response.html(html)


@hookimpl
def register_routes():
    return [(r"^/claims$", claims)]
