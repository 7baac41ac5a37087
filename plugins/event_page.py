"""Extra context for the event page (``row-record-events.html``).

Adds the event's actors with their roles, the weapon systems with quantities and
values as the sources state them, its citations with their sources (and our
translation of a quote in another language) and the related events in both
directions, each fetched with parameterised SQL.
"""

import json
from urllib.parse import urlencode

from datasette import hookimpl
from datasette.utils import tilde_decode, tilde_encode
from datasette.utils.asgi import Response

from timeline.export import Filters, nested_events
from timeline.schema import CODE_LISTS
from timeline.site import DATABASE, ensure_readable

# How a relation reads from the event that declares it, and from the other side.
OUTGOING = {
    "follows": "Follows",
    "responds_to": "Responds to",
    "part_of": "Part of",
    "contradicts": "Contradicts",
}
INCOMING = {
    "follows": "Followed by",
    "responds_to": "Prompted",
    "part_of": "Includes",
    "contradicts": "Contradicted by",
}

ACTORS_SQL = """
select a.id, a.name, a.kind, a.country, group_concat(ea.role, ', ') as roles
from event_actors ea join actors a on a.id = ea.actor_id
where ea.event_id = :id
group by a.id order by a.name
"""

SYSTEMS_SQL = """
select es.position, es.action, es.quantity, es.quantity_qualifier, es.value, es.currency,
       es.deal, es.note, sy.id as system_id, sy.name as system, sy.kind as system_kind,
       sup.name as supplier, rec.name as recipient, src.title as source_title
from event_systems es join systems sy on sy.id = es.system_id
left join actors sup on sup.id = es.supplier_id
left join actors rec on rec.id = es.recipient_id
left join sources src on src.id = es.source_id
where es.event_id = :id order by es.position
"""

CITATIONS_SQL = """
select c.id, c.position, c.quote, c.translation, c.stance, c.note, s.id as source_id,
       s.title as source_title,
       s.publisher, s.author, s.url, s.published_label, s.kind as source_kind, s.language
from citations c join sources s on s.id = c.source_id
where c.event_id = :id order by c.position
"""

RELATED_SQL = """
select 'out' as direction, r.relation, e.id, e.title, e.date_label, e.status, e.sort_key
from event_relations r join events e on e.id = r.related_id where r.event_id = :id
union all
select 'in' as direction, r.relation, e.id, e.title, e.date_label, e.status, e.sort_key
from event_relations r join events e on e.id = r.event_id where r.related_id = :id
order by sort_key, id
"""


NEIGHBOURS_SQL = """
select 'previous' as side, id, title, date_label from (
  select id, title, date_label from events where (sort_key, id) < (:sort_key, :id)
  order by sort_key desc, id desc limit 1)
union all
select 'next' as side, id, title, date_label from (
  select id, title, date_label from events where (sort_key, id) > (:sort_key, :id)
  order by sort_key, id limit 1)
"""


def country_name(code):
    return CODE_LISTS["country"].name(code) or code


def row_url(datasette, table, pk):
    return datasette.urls.row(DATABASE, table, tilde_encode(pk))


def actor_filter_url(datasette, name):
    """The events table filtered to one actor (the actors facet is on by default)."""
    query = urlencode({"_actors": name})
    return datasette.urls.table(DATABASE, "events") + "?" + query


@hookimpl
def extra_template_vars(view_name, database, table, request, datasette):
    if view_name != "row" or database != DATABASE or table != "events" or request is None:
        return None

    async def inner():
        event_id = tilde_decode(request.url_vars["pks"])
        db = datasette.get_database(DATABASE)
        params = {"id": event_id}
        rows = (await db.execute("select * from events where id = :id", params)).rows
        if not rows:
            return {}
        actors = [dict(r) for r in (await db.execute(ACTORS_SQL, params)).rows]
        for actor in actors:
            actor["events_url"] = actor_filter_url(datasette, actor["name"])
            actor["url"] = row_url(datasette, "actors", actor["id"])
            actor["timeline_url"] = datasette.urls.path(
                "/timeline?" + urlencode({"actor": actor["id"]})
            )
        citations = [dict(r) for r in (await db.execute(CITATIONS_SQL, params)).rows]
        for citation in citations:
            citation["source_page"] = row_url(datasette, "sources", citation["source_id"])
            url = citation["url"] or ""
            citation["url"] = url if url.startswith(("https://", "http://")) else None
        systems = []
        for r in (await db.execute(SYSTEMS_SQL, params)).rows:
            entry = dict(r)
            entry["url"] = row_url(datasette, "systems", entry["system_id"])
            systems.append(entry)
        related = []
        for r in (await db.execute(RELATED_SQL, params)).rows:
            item = dict(r)
            labels = OUTGOING if item["direction"] == "out" else INCOMING
            item["label"] = labels.get(item["relation"], item["relation"])
            item["url"] = row_url(datasette, "events", item["id"])
            related.append(item)
        event = dict(rows[0])
        neighbours = {}
        for r in (await db.execute(NEIGHBOURS_SQL, {**params, "sort_key": event["sort_key"]})).rows:
            neighbours[r["side"]] = dict(r) | {"url": row_url(datasette, "events", r["id"])}
        timeline = datasette.urls.path("/timeline")
        return {
            "event": event,
            "event_neighbours": neighbours,
            "event_countries": [
                {"code": c, "name": country_name(c)} for c in json.loads(event["countries"])
            ],
            "event_tags": [
                {"tag": t, "url": f"{timeline}?{urlencode({'tag': t})}"}
                for t in json.loads(event["tags"])
            ],
            "event_actors": actors,
            "event_citations": citations,
            "event_systems": systems,
            "event_related": related,
            "timeline_url": f"{timeline}?{urlencode({'around': event_id})}#event-{event_id}",
            "record_url": datasette.urls.path(f"/event/{tilde_encode(event_id)}.json"),
        }

    return inner


async def event_record(datasette, request):
    """``/event/<id>.json``: one event as a nested record (actors, systems, citations,
    relations), the same shape as ``timeline export --format json``."""
    await ensure_readable(datasette, request)
    event_id = request.url_vars["id"]
    db = datasette.get_database(DATABASE)
    events = await db.execute_fn(lambda conn: nested_events(conn, Filters(id=event_id)))
    if not events:
        return Response.json({"ok": False, "error": f"No event {event_id!r}"}, status=404)
    return Response.json(events[0])


@hookimpl
def register_routes():
    return [(r"^/event/(?P<id>[^/]+)\.json$", event_record)]
