"""Designed pages for actors, sources and weapon systems (their row pages).

* An actor: who it is, its events with its role in each, the actors it most often
  appears with, and the claims it makes or is the subject of.
* A source: where and when it was published, every event it is cited for with the
  quote and stance, and its track record: how many of its citations support the
  record and how many contradict it.
* A system: maker and kind, the steps of its deals (plans, pledges, orders, deliveries,
  running totals), a link to its deals in the register (``/register``) and its events.

Everything is fetched with parameterised SQL; the templates escape every value.
Lists stop at LIMIT entries (a page stays small at any size) and link to the full,
paged table.
"""

import json
from urllib.parse import urlencode

from datasette import hookimpl
from datasette.utils import tilde_decode, tilde_encode

from timeline.schema import CODE_LISTS
from timeline.site import DATABASE, events_links

# The first events of an actor or a system are a range read of scope_events; grouping all
# of a busy actor's rows before sorting took 190 ms at 100,000 events.
ACTOR_EVENTS_SQL = """
select e.id, e.date_label, e.title, e.status, e.type, e.precision, e.approximate, e.uncertain,
       (select group_concat(role, ', ') from (select ea.role from event_actors ea
         where ea.event_id = s.event_id and ea.actor_id = s.scope_id order by ea.role)) as roles
from scope_events s join events e on e.id = s.event_id
where s.scope = 'actor' and s.scope_id = :id order by s.sort_key, s.event_id limit :limit
"""
# Whether the actor supplies or receives any step of a deal (its register link).
IN_REGISTER_SQL = """
select exists (select 1 from transfers where supplier_id = :id or recipient_id = :id)
"""
TOGETHER_SQL = """
select a.id, a.name, p.events from actor_pairs p join actors a on a.id = p.other_id
where p.actor_id = :id order by p.events desc, a.name limit 10
"""
SOURCE_CITATIONS_SQL = """
select e.id, e.date_label, e.title, e.status, c.quote, c.translation, c.stance, c.note
from citations c join events e on e.id = c.event_id
where c.source_id = :id order by e.sort_key, e.id, c.position limit :limit
"""
# The system's events in date order (scope_events), each with its transfers: the view
# alone sorted every transfer of the system first (23 ms for one in 26,000 at 100,000).
# "+": each event's transfers are found by the event; left free to use the system's index,
# SQLite read all 26,000 of the system's transfers for every event (840 ms a page).
SYSTEM_TRANSFERS_SQL = """
select t.date_label, t.action, t.quantity_qualifier, t.quantity, t.value, t.currency, t.deal,
       t.supplier, t.recipient, t.status, t.title, t.event_id
from scope_events s
cross join transfers t on t.event_id = s.event_id and +t.system_id = s.scope_id
where s.scope = 'system' and s.scope_id = :id
order by s.sort_key, s.event_id, t.action, t.supplier, t.recipient limit :limit
"""
SYSTEM_EVENTS_SQL = """
select e.id, e.date_label, e.title, e.status,
       (select group_concat(action, ', ') from (select es.action from event_systems es
         where es.event_id = s.event_id and es.system_id = s.scope_id
         order by es.position)) as actions
from scope_events s join events e on e.id = s.event_id
where s.scope = 'system' and s.scope_id = :id order by s.sort_key, s.event_id limit :limit
"""


LIMIT = 200
# Where the full list of a page's entries is, paged: table and the column to filter on.
ALL_ROWS = {
    "actors": ("event_actors", "actor_id"),
    "sources": ("citations", "source_id"),
    "systems": ("event_systems", "system_id"),
}


async def _rows(db, sql, params):
    return [dict(r) for r in (await db.execute(sql, params)).rows]


def _linked(datasette, rows, table="events", key="id"):
    for row in rows:
        row["url"] = datasette.urls.row(DATABASE, table, tilde_encode(row[key]))
    return rows


async def actor_vars(datasette, db, params):
    events = _linked(datasette, await _rows(db, ACTOR_EVENTS_SQL, params))
    return {
        "actor_events": events,
        "actor_together": _linked(datasette, await _rows(db, TOGETHER_SQL, params), "actors"),
        "actor_claims": [e for e in events if e["status"] != "confirmed"],
        "actor_in_register": (await db.execute(IN_REGISTER_SQL, params)).first()[0],
    }


async def source_vars(datasette, db, params):
    # the track record comes from the sources table's citation counts, not from this list
    return {"source_citations": _linked(datasette, await _rows(db, SOURCE_CITATIONS_SQL, params))}


async def system_vars(datasette, db, params):
    transfers = _linked(datasette, await _rows(db, SYSTEM_TRANSFERS_SQL, params), key="event_id")
    return {
        "system_transfers": transfers,
        "system_events": _linked(datasette, await _rows(db, SYSTEM_EVENTS_SQL, params)),
    }


PAGES = {"actors": actor_vars, "sources": source_vars, "systems": system_vars}
# The filter (timeline.filters) that keeps a page's own events.
FILTER = {"actors": "actor", "sources": "source", "systems": "system"}


@hookimpl
def extra_template_vars(view_name, database, table, request, datasette):
    if view_name != "row" or database != DATABASE or table not in PAGES or request is None:
        return None

    async def inner():
        db = datasette.get_database(DATABASE)
        params = {"id": tilde_decode(request.url_vars["pks"]), "limit": LIMIT}
        rows = await _rows(db, f"select * from [{table}] where id = :id", params)
        if not rows:
            return {}
        entity = rows[0]
        if entity.get("country"):
            entity["country_name"] = CODE_LISTS["country"].name(entity["country"])
            # a country's page is the timeline of its events (with their feeds and files)
            entity["country_url"] = events_links(datasette.urls, {"country": entity["country"]})[
                "timeline"
            ]
        if "aliases" in entity:
            entity["aliases"] = json.loads(entity["aliases"] or "[]")
        links_table, column = ALL_ROWS.get(table, ("events", "id"))
        events = events_links(datasette.urls, {FILTER[table]: params["id"]})
        links = {
            "timeline_url": events["timeline"],
            "events_links": events,
            "all_url": datasette.urls.table(DATABASE, links_table)
            + f"?{urlencode({column: params['id']})}",
            "limit": LIMIT,
        }
        return {"entity": entity, **links, **await PAGES[table](datasette, db, params)}

    return inner
