"""``/timeline``: events in chronological order, grouped by year, with filters and paging.

A route of this plugin's (``register_routes``) renders ``timeline.html``. The database
is published under another name (``timeline.site.DATABASE``), so Datasette's database
page and its arbitrary SQL keep their own address, and old ``/timeline?sql=`` links
are redirected there.

Filters come from the query string and go into parameterised SQL only; they are
``timeline.filters``'s, the same as the feeds', the downloads' and ``timeline export``'s::

    /timeline?actor=baykar&type=delivery&tag=bayraktar-tb2&status=confirmed&from=2019&to=2022-06

A value no event could have (an unknown type, an unreadable date) is named on the page
and left out of the query.

A page holds at most PAGE_SIZE events: ``start=<event id>`` begins a page at an event,
``before=<event id>`` shows the page that ends just before one, ``around=<event id>``
shows the page that holds an event when paging from the start (the event page's
"back" link), and ``year=2019`` begins at a year. Year links jump within the page
or to the page holding the year.
"""

import json
from dataclasses import dataclass, field
from itertools import groupby
from urllib.parse import urlencode

from datasette import hookimpl
from datasette.utils import tilde_encode
from datasette.utils.asgi import Response

from timeline import filters
from timeline.site import (
    DATABASE,
    ROUTES,
    TIMELINE_TEMPLATE,
    ensure_readable,
    events_links,
    nameless,
)

PAGE_SIZE = 100
# Position parameters: they page through a filtered list without changing it.
POSITION = ("start", "before", "around", "year")


@dataclass(frozen=True)
class Source:
    """Where a page's events are read from, and the columns that order them."""

    tables: str = "events e"
    condition: str = ""
    sort_key: str = "e.sort_key"
    event_id: str = "e.id"


EVERY_EVENT = Source()
# One actor's events, read in date order from scope_events: the first page is a range read
# however many events the actor has (at 100,000 events, 85 ms for an actor in 40 % of the
# events and 39 ms for one with three, when the events were probed or listed instead).
ONE_ACTORS_EVENTS = Source(
    "scope_events s join events e on e.id = s.event_id",
    "s.scope = 'actor' and s.scope_id = :actor_id",
    "s.sort_key",
    "s.event_id",
)
COLUMNS_SQL = """
select e.id, e.date, e.date_label, e.date_start, e.date_end, e.precision, e.approximate,
       e.uncertain, e.year, e.sort_key, e.title, e.summary, e.type, e.status, e.location,
       e.tags, e.citation_count, e.source_count,
       (select json_group_array(json_object('id', a.id, 'name', a.name, 'role', ea.role))
          from event_actors ea join actors a on a.id = ea.actor_id
         where ea.event_id = e.id) as actors_roles
from {tables}
"""
# Forward from a position (inclusive), or backward from one (exclusive); one row more
# than a page tells whether there is a next page. The fields are a Query's.
FORWARD_SQL = f"""{COLUMNS_SQL}
where {{where}} and ({{sort_key}}, {{event_id}}) >= (:key, :id)
order by {{sort_key}}, {{event_id}} limit :limit"""
BACKWARD_SQL = f"""{COLUMNS_SQL}
where {{where}} and ({{sort_key}}, {{event_id}}) < (:key, :id)
order by {{sort_key}} desc, {{event_id}} desc limit :limit"""
YEARS_SQL = """select e.year, count(*) as n
from {tables} where {where} group by e.year order by e.year"""
# Unfiltered, or filtered by one actor only, the counts per year are the build's: at
# 100,000 events grouping the matching events took 110 ms unfiltered and 190 ms for the
# busiest actor, reading these rows well under 1 ms.
COUNTED_YEARS_SQL = """select year, sum(events) as n from event_counts
where scope = :scope and scope_id = :scope_id group by year order by year"""
# The actors a reader's word names (an id, a name or an alias): the actor filter's own SQL.
ACTOR_IDS_SQL = filters.named_ids("actor", "actor")
POSITION_SQL = "select sort_key, id from events where id = :id"
# The page an event falls on when paging from the start: the first event of that page.
PAGE_START_SQL = """select {sort_key} as sort_key, {event_id} as id from {tables} where {where}
order by {sort_key}, {event_id} limit 1 offset (
  select count(*) - count(*) % :page from {tables}
   where {where} and ({sort_key}, {event_id}) < (:key, :id))"""


@dataclass(frozen=True)
class Query:
    """The SQL of the reader's filters: the source of the events and the WHERE clause."""

    source: Source = EVERY_EVENT
    where: str = "1"

    def sql(self, template: str) -> str:
        source = self.source
        return template.format(
            tables=source.tables,
            where=self.where,
            sort_key=source.sort_key,
            event_id=source.event_id,
        )


# The filter form offers the MAX_CHOICES actors and tags with most events (and the chosen
# one): a select of every actor grows with the data (2,500 options at 10,000 events). Every
# other actor's page links to its timeline.
MAX_CHOICES = 100
CHOICES_SQL = {
    # counts the build stored, instead of grouping every event's actors per request
    # "chosen": the actor the reader named, by id, name or alias (the option to select)
    "actors": """select *, (:actor != '' and value in ({named})) as chosen from (
                   select * from (
                     select id as value, name as label, event_count as n from actors
                     where event_count > 0 order by event_count desc, name limit :limit)
                   union select id, name, event_count from actors
                     where :actor != '' and id in ({named}))
                 order by label""".format(named=filters.named_ids("actor", "actor")),
    # the build's counts again: grouping every event by type or status took 5 ms each
    "types": "select type as value, type as label, sum(events) as n from event_counts "
    "where scope = 'all' group by type order by type",
    "tags": """select * from (
                 select value, value as label, count as n from event_list_counts
                 where list = 'tags' order by count desc, value limit :limit)
               union select value, value, count from event_list_counts
                 where list = 'tags' and value = :tag
               order by label""",
    "statuses": "select scope_id as value, scope_id as label, sum(events) as n from event_counts "
    "where scope = 'status' group by scope_id order by scope_id",
}
# How the events table writes each filter of this page (the actor goes by name).
TABLE_FILTERS = {"type": "type", "status": "status__in", "tag": "_tags", "place": "location",
                 "country": "_countries"}  # fmt: skip
TABLE_DATES = {"from": "date_end__gte", "to": "date_start__lte"}


@dataclass
class Filters:
    """What the reader asked for (``timeline.filters``), the values the query uses and
    what was left out of it, with why."""

    chosen: dict[str, str]
    params: dict[str, str]
    errors: list[str] = field(default_factory=list)
    query: Query = Query()  # the SQL of the active filters (see plan_query)
    actor_ids: list[str] = field(default_factory=list)  # the actors the actor filter names

    @property
    def active(self) -> dict[str, str]:
        return filters.active(self.chosen)


# The page's parameters beside the filters: where its list starts; ``view``, the range of
# the visual timeline (read by static/timeline.js); and ``sql`` (sent on to the database's
# page, where the arbitrary query now lives).
POSITIONS = ("year", "start", "before", "around")
OTHERS = ("view", "sql")


def read_filters(args) -> Filters:
    """Filters from a request's query string; a value no event could have, and a name the
    page does not take, are reported and left out of the query."""
    chosen = filters.chosen(args)
    known = (*filters.NAMES, *POSITIONS, *OTHERS)
    errors = [f"Ignored {problem}." for problem in filters.unknown(args, known)]
    for name, value in filters.active(chosen).items():
        for problem in filters.problems({name: value}):
            errors.append(f"Ignored {problem}.")
            chosen[name] = ""
    return Filters(chosen, filters.parameters(chosen), errors)


async def plan_query(db, wanted: Filters) -> Query:
    """The SQL of the filters that are set (their values stay parameters); one actor's
    events are read from scope_events, in date order."""
    params = wanted.params
    skip: tuple[str, ...] = ()
    source = EVERY_EVENT
    if params["actor"]:
        found = await _rows(db, ACTOR_IDS_SQL, {"actor": params["actor"]})
        wanted.actor_ids = [r["id"] for r in found]
        if len(wanted.actor_ids) == 1:
            params["actor_id"] = wanted.actor_ids[0]
            skip = ("actor",)
            source = ONE_ACTORS_EVENTS
    conditions = [source.condition] if source.condition else []
    conditions.append(filters.where(wanted.chosen, skip=skip))
    return Query(source, " and ".join(conditions))


def query_string(args: dict[str, str]) -> str:
    return ("?" + urlencode(args)) if args else ""


async def _rows(db, sql: str, params: dict) -> list[dict]:
    return [dict(r) for r in (await db.execute(sql, params)).rows]


# What the page says when a position it is asked for cannot be honoured.
NOT_A_YEAR = "write a year of at most four digits 0-9 (2019); the page starts at the first event."
NO_SUCH_EVENT = "no event has this id; the page starts at the first event."


async def _found(db, wanted: Filters, name: str, event_id: str) -> list[dict]:
    """The event a page is asked to start, end or centre at (``name``), or none, with
    that said on the page."""
    position = await _rows(db, POSITION_SQL, {"id": event_id})
    if not position:
        wanted.errors.append(f"Ignored {name} {event_id!r}: {NO_SUCH_EVENT}")
    return position


async def page_of_events(db, wanted: Filters, args) -> tuple[list[dict], dict | None, bool]:
    """One page of matching events, the event that starts the next page, and whether
    events come before this page. A position that names no event, or a year that is no
    number, is reported in ``wanted.errors`` and the page starts at the first event."""
    params = dict(wanted.params, key="", id="", limit=PAGE_SIZE + 1)
    forward, backward, page_start = map(
        wanted.query.sql, (FORWARD_SQL, BACKWARD_SQL, PAGE_START_SQL)
    )
    if args.get("before"):
        position = await _found(db, wanted, "before", args["before"])
        if position:
            params.update(key=position[0]["sort_key"], id=position[0]["id"])
            rows = (await _rows(db, backward, params))[::-1]
            earlier = len(rows) > PAGE_SIZE
            rows = rows[-PAGE_SIZE:]
            after = await _rows(db, forward, dict(params, limit=1))
            return rows, (after[0] if after else None), earlier
    if args.get("start") or args.get("around"):
        name = "start" if args.get("start") else "around"
        position = await _found(db, wanted, name, args[name])
        if position and args.get("around"):
            found = dict(params, key=position[0]["sort_key"], id=position[0]["id"], page=PAGE_SIZE)
            position = await _rows(db, page_start, found)
        if position:
            params.update(key=position[0]["sort_key"], id=position[0]["id"])
    elif args.get("year"):
        year = args["year"]
        if year.isascii() and year.isdigit() and int(year) <= 9999:
            # sort keys begin with the ISO start day (00002019 is 2019, not before 1936)
            params["key"] = str(int(year)).zfill(4)
        else:
            wanted.errors.append(f"Ignored year {args['year']!r}: {NOT_A_YEAR}")
    rows = await _rows(db, forward, params)
    earlier = bool(params["key"]) and bool(await _rows(db, backward, dict(params, limit=1)))
    return rows[:PAGE_SIZE], (rows[PAGE_SIZE] if len(rows) > PAGE_SIZE else None), earlier


async def year_counts(db, wanted: Filters) -> list[dict]:
    """How many events match per year, from the build's counts when they answer it."""
    active = wanted.active
    if not active:
        return await _rows(db, COUNTED_YEARS_SQL, {"scope": "all", "scope_id": ""})
    # (an id and another actor's name would count their shared events twice)
    if set(active) == {"actor"} and len(wanted.actor_ids) == 1:
        scope = {"scope": "actor", "scope_id": wanted.actor_ids[0]}
        return await _rows(db, COUNTED_YEARS_SQL, scope)
    return await _rows(db, wanted.query.sql(YEARS_SQL), wanted.params)


def year_links(
    years: list[dict], rows: list[dict], base_query: dict[str, str], path: str
) -> list[dict]:
    """Jump-to-year links: an anchor when the year is on this page, else the page (at
    ``path``) that begins with the year's first event."""
    on_page = {row["year"] for row in rows}
    links = []
    for year in years:
        anchor = f"#y{year['year']}"
        if year["year"] in on_page:
            url = anchor
        else:
            url = path + query_string(base_query | {"year": str(year["year"])}) + anchor
        links.append({"year": year["year"], "n": year["n"], "url": url})
    return links


def describe(wanted: Filters, actor_name: str) -> str:
    """A page title that says what is shown: 'Timeline: Baykar, delivery, from 2019'."""
    active = wanted.active
    if not active:
        return "Timeline"
    parts = []
    for name, value in active.items():
        if name == "actor":
            parts.append(actor_name)
        elif name in ("from", "to"):
            parts.append(f"{name} {value}")
        elif name == "status":
            parts.append(" or ".join(value.split(",")))
        else:
            parts.append(value)
    return "Timeline: " + ", ".join(parts)


def feed_and_table_links(datasette, wanted: Filters, actor_name: str) -> dict[str, str]:
    """The same filters on the table, the Atom feed, the calendar and the download (a
    value left out of this page is left out of them too)."""
    chosen = wanted.chosen
    table = {"_actors": actor_name} if chosen["actor"] else {}
    table |= {TABLE_FILTERS[name]: chosen[name] for name in TABLE_FILTERS if chosen[name]}
    table |= {
        column: filters.date_bound(chosen[name], end=name == "to")
        for name, column in TABLE_DATES.items()
        if chosen[name]
    }
    # The feeds and the download take every filter of this page, under the same names.
    links = events_links(datasette.urls, chosen)
    return {
        "table_url": datasette.urls.table(DATABASE, "events") + query_string(table),
        "atom_url": links["atom"],
        "calendar_url": links["calendar"],
        "csv_url": links["csv"],
        "feed_filtered": bool(wanted.active),
    }


def card(datasette, row: dict) -> dict:
    """An event row with the links its card shows."""
    row["url"] = datasette.urls.row(DATABASE, "events", tilde_encode(row["id"]))
    row["actors"] = [
        dict(actor, url=datasette.urls.row(DATABASE, "actors", tilde_encode(actor["id"])))
        for actor in json.loads(row.pop("actors_roles") or "[]")
    ]
    row["tags"] = json.loads(row["tags"] or "[]")
    return row


async def timeline_context(datasette, request) -> dict:
    db = datasette.get_database(DATABASE)
    wanted = read_filters(request.args)
    # kept: no event is the answer, and the page says why
    said = filters.crossed(wanted.chosen) + await nameless(db, wanted.chosen)
    wanted.errors += [f"{problem}." for problem in said]
    wanted.query = await plan_query(db, wanted)
    rows, next_row, earlier = await page_of_events(db, wanted, request.args)
    rows = [card(datasette, row) for row in rows]
    years = await year_counts(db, wanted)
    asked = {"limit": MAX_CHOICES, "actor": wanted.chosen["actor"], "tag": wanted.chosen["tag"]}
    choices = {name: await _rows(db, sql, asked) for name, sql in CHOICES_SQL.items()}
    active = wanted.active
    actor = wanted.chosen["actor"]  # as the reader wrote it, when it names no actor
    actor_name = next((c["label"] for c in choices["actors"] if c["chosen"]), actor)
    path = datasette.urls.path(ROUTES["timeline"])
    removal_links = [
        {"name": filters.FILTERS[name].label, "value": value,
         "url": path + query_string({k: v for k, v in active.items() if k != name})}
        for name, value in active.items()
    ]  # fmt: skip
    return {
        "timeline_title": describe(wanted, actor_name),
        "years": [
            {"year": year, "events": list(events)}
            for year, events in groupby(rows, lambda r: r["year"])
        ],
        "year_links": year_links(years, rows, active, path),
        "count": sum(year["n"] for year in years),
        # what the page says when its place in the list holds none of the matching events
        "span": [min(y["year"] for y in years), max(y["year"] for y in years)] if years else [],
        "first_url": path + query_string(active),
        "shown": len(rows),
        "next_url": path + query_string(active | {"start": next_row["id"]}) if next_row else None,
        "previous_url": path + query_string(active | {"before": rows[0]["id"]})
        if earlier and rows
        else None,
        "chosen": wanted.chosen,
        "active": removal_links,
        "errors": wanted.errors,
        "choices": choices,
        **feed_and_table_links(datasette, wanted, actor_name),
    }


async def timeline_view(datasette, request):
    """The page. ``?sql=`` was the database's arbitrary query when the database had this
    page's address: it is sent to the database's own address, where it now lives."""
    if request.args.get("sql"):  # a blank sql= is the page, as it was
        target = datasette.urls.database(DATABASE) + "?" + request.query_string
        return Response.redirect(target, status=301)
    await ensure_readable(datasette, request)
    context = await timeline_context(datasette, request)
    html = await datasette.render_template(
        TIMELINE_TEMPLATE, context, request=request, view_name="timeline"
    )
    return Response.html(html)


@hookimpl
def register_routes():
    return [(f"^{ROUTES['timeline']}$", timeline_view)]
