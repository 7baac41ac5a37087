"""Compile a validated Dataset into SQLite with sqlite-utils.

The build is atomic (written to a temporary file next to the target, then
renamed over it), deterministic (same YAML → same rows) and incremental (the
input hash is stored in ``build_info``; an unchanged input is not rebuilt).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import os
import sqlite3
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import Timeout

from . import __version__, schema
from .dates import ParsedDate
from .files import WriteRefused, check_output, lock_for, replace_durably
from .filters import register_functions
from .load import paused_gc
from .provenance import History, Progress, Tracked, event_history, fingerprints_of, last_commit

if TYPE_CHECKING:  # the no-op check stays fast: validation and sqlite-utils load on demand
    import sqlite_utils

    from .model import Dataset, Event
    from .spans import Spans
    from .validate import Result

# The modules whose code decides what a database holds: the build and every module of
# this package it imports, directly or not (a test derives the list from their imports).
# Their source is the schema's fingerprint: any change to a declaration, a view, an index
# or the code that writes rows makes the next build start from an empty database, with no
# version number to remember to bump.
DATABASE_MODULES = ("build", "catalog", "dates", "fastload", "files", "filters", "load", "model",
                    "provenance", "schema", "spans", "update", "validate")  # fmt: skip


@functools.cache
def schema_fingerprint() -> str:
    """A hash of the source of ``DATABASE_MODULES``."""
    digest = hashlib.sha256()
    for name in DATABASE_MODULES:
        digest.update(Path(__file__).with_name(f"{name}.py").read_bytes())
    return digest.hexdigest()[:16]


# How many of a pair of actors' shared events actor_pairs names (the first, by date).
PAIR_EVENT_IDS = 10
# The database's name in Datasette (its file name's stem): not "timeline", which is the
# address of the site's timeline page.
DATABASE_NAME = "record"
DEFAULT_DB_NAME = f"{DATABASE_NAME}.db"

VIEWS = {
    # One row per event and actor, with roles: "what did X do, when?"
    "actor_timeline": """
        select a.id as actor_id, a.name as actor, ea.role, e.id as event_id, e.date,
               e.date_label, e.title, e.type, e.status, e.sort_key
        from event_actors ea
        join actors a on a.id = ea.actor_id
        join events e on e.id = ea.event_id
        order by a.name, e.sort_key""",
    # Every claim that is not confirmed, with who makes it and the evidence.
    "claims": """
        select e.id as event_id, e.date_label, e.title, e.status,
               (select group_concat(a.name, '; ') from event_actors ea
                  join actors a on a.id = ea.actor_id
                 where ea.event_id = e.id and ea.role = 'claimant') as claimants,
               c.stance, c.quote, c.note, s.title as source, s.url as source_url, e.sort_key
        from events e
        join citations c on c.event_id = e.id
        join sources s on s.id = c.source_id
        where e.status != 'confirmed'
        order by e.sort_key, c.position""",
    # Citations with their source, for reading the evidence of an event.
    "evidence": """
        select c.event_id, e.title as event, e.date_label, c.position, c.stance, c.quote,
               c.note, s.id as source_id, s.title as source, s.publisher, s.url,
               s.published_label
        from citations c
        join events e on e.id = c.event_id
        join sources s on s.id = c.source_id
        order by e.sort_key, c.position""",
    "events_per_year_type": """
        select year, type, count(*) as events from events group by year, type
        order by year, type""",
    # The transfers register: every step of a deal (plan, pledge, order, delivery, running
    # total), supplier → recipient, with the quote that states its figure. ``counted`` is 1
    # for the figures the totals add (schema.COUNTED_ACTIONS, a confirmed event, an exact
    # number); the rest are listed beside the totals, never summed into them.
    "transfers": """
        select sup.country as supplier_country, es.supplier_id, sup.name as supplier,
               rec.country as recipient_country, es.recipient_id, rec.name as recipient,
               es.system_id, sy.name as system, sy.kind as system_kind, es.deal_id, es.action,
               es.deal, es.quantity,
               coalesce(es.quantity_qualifier, 'exact') as quantity_qualifier, es.as_of,
               es.as_of_label,
               case when es.action in ({counted}) and e.status = 'confirmed'
                     and es.quantity is not null
                     and coalesce(es.quantity_qualifier, 'exact') = 'exact'
                    then 1 else 0 end as counted,
               es.value, es.currency, e.id as event_id, e.date, e.date_label, e.precision,
               e.year, e.status, e.title, es.source_id,
               -- the quote that states the number, else the event's first supporting one
               coalesce((select c.quote from citations c where c.event_id = e.id
                            and c.source_id = es.source_id order by c.position limit 1),
                        (select c.quote from citations c where c.event_id = e.id
                            and c.stance = 'supports' order by c.position limit 1)) as quote,
               es.note, e.sort_key
        from event_systems es
        join events e on e.id = es.event_id
        join systems sy on sy.id = es.system_id
        left join actors sup on sup.id = es.supplier_id
        left join actors rec on rec.id = es.recipient_id
        where es.action in ({steps})
        order by sup.country, rec.country, sy.name, e.sort_key, es.position""",
    # Totals per supplier country, recipient country and system, as in an arms-transfers
    # register: ordered and delivered add the counted figures only; every figure, counted
    # or not, is listed by step with its date and, for a claim, its status.
    "transfer_totals": """
        select supplier_country, recipient_country, system_id, system, system_kind,
               {totals_suppliers} as suppliers, {totals_recipients} as recipients,
               sum(case when action = 'order' and counted then quantity end) as ordered,
               sum(case when action = 'delivery' and counted then quantity end) as delivered,
               {figures_order} as orders,
               {figures_delivery} as deliveries,
               {figures_plan} as plans,
               {figures_pledge} as pledges,
               {figures_running_total} as running_totals,
               count(distinct deal_id) as deals,
               count(distinct event_id) as events
        from transfers t
        group by supplier_country, recipient_country, system_id
        order by supplier_country, recipient_country, system""",
    # One row per deal and system: what was ordered, delivered so far (in all and by year)
    # and is outstanding, from the counted figures; plans, pledges, running totals and the
    # figures not counted (claims, approximate numbers) beside them.
    # The steps are read once (t); each per-deal list is one grouped pass over them, not a
    # subquery per deal, so the view costs what its steps do however many deals there are.
    "deals": """
        with t as materialized (select * from transfers),
        {deal_names},
        firsts as (select deal_id, system_id, date_label as first_step from (
            select deal_id, system_id, date_label, row_number() over (
                partition by deal_id, system_id order by sort_key) as n from t) where n = 1),
        years as (select deal_id, system_id, group_concat(year || ': ' || n, '; ')
                         as delivered_by_year from (
            select deal_id, system_id, year, sum(quantity) as n from t
            where action = 'delivery' and counted
            group by deal_id, system_id, year order by deal_id, system_id, year)
          group by deal_id, system_id),
        sums as (
          select deal_id, system_id, system, system_kind,
               sum(case when action = 'order' and counted then quantity end) as ordered,
               sum(case when action = 'delivery' and counted then quantity end) as delivered,
               -- unknown (empty) when any delivery of the deal has no counted number
               case when sum(case when action = 'order' and counted then 1 end) > 0
                     and not max(action = 'delivery' and not counted)
                    then max(sum(case when action = 'order' and counted then quantity end)
                             - coalesce(sum(case when action = 'delivery' and counted
                                            then quantity end), 0), 0) end as outstanding,
               case when sum(case when action = 'delivery' and counted then quantity end)
                         > sum(case when action = 'order' and counted then quantity end)
                    then 'more delivered than ordered' end as conflict,
               {figures_order} as orders,
               {figures_delivery} as deliveries,
               {figures_plan} as plans,
               {figures_pledge} as pledges,
               {figures_running_total} as running_totals,
               {figures_uncounted} as not_counted,
               count(distinct event_id) as events,
               min(sort_key) as sort_key
          from t group by deal_id, system_id)
        select s.deal_id, s.system_id, s.system, s.system_kind,
               suppliers.names as suppliers, recipients.names as recipients,
               supplier_countries.names as supplier_countries,
               recipient_countries.names as recipient_countries,
               f.first_step, s.ordered, s.delivered, y.delivered_by_year, s.outstanding,
               s.conflict, s.orders, s.deliveries, s.plans, s.pledges, s.running_totals,
               s.not_counted, s.events, s.sort_key
        from sums s
        join firsts f using (deal_id, system_id)
        left join years y using (deal_id, system_id)
        left join suppliers using (deal_id, system_id)
        left join recipients using (deal_id, system_id)
        left join supplier_countries using (deal_id, system_id)
        left join recipient_countries using (deal_id, system_id)
        order by s.sort_key, s.deal_id, s.system""",
}


def _figures(action: str | None) -> str:
    """SQL listing every figure of one step as stated: '6 (12 January 2019); up to 50
    (28 June 2022); number unknown (March 2019, reported)'; with None, the order and
    delivery figures the totals leave out."""
    where = f"action = '{action}'" if action else f"action in ({_COUNTED}) and not counted"
    return f"""group_concat(case when {where} then
                   case when quantity is null then 'number unknown'
                        when quantity_qualifier = 'exact' then cast(quantity as text)
                        else replace(quantity_qualifier, '-', ' ') || ' ' || quantity end
                   || case when action = 'running-total' and as_of_label is not null
                           then ' over ' || as_of_label else '' end
                   || ' (' || date_label || case when status != 'confirmed'
                   then ', ' || status else '' end || ')' end, '; ')"""


def _distinct(column: str, group: tuple[str, ...]) -> str:
    """SQL joining the distinct values of ``column`` in the current group of the transfers
    view with '; ' (group_concat(distinct …) can only join with commas, which names hold)."""
    match = " and ".join(f"t2.{c} is t.{c}" for c in group)
    return f"""(select group_concat({column}, '; ') from (select distinct t2.{column}
                   from transfers t2 where {match} and t2.{column} is not null))"""


def _deal_names(name: str, column: str) -> str:
    """A CTE joining each deal's distinct values of ``column`` with '; ', in the order
    they first appear (group_concat(distinct …) can only join with commas, which names
    hold)."""
    return f"""{name} as (select deal_id, system_id, group_concat({column}, '; ') as names
          from (select deal_id, system_id, {column}, min(sort_key) as first from t
                where {column} is not null group by deal_id, system_id, {column}
                order by deal_id, system_id, first, {column})
          group by deal_id, system_id)"""


def _sql_list(values: Iterable[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


_COUNTED = _sql_list(schema.COUNTED_ACTIONS)
_FIGURES = {f"figures_{a.replace('-', '_')}": _figures(a) for a in schema.TRANSFER_ACTIONS}
_TOTALS = ("supplier_country", "recipient_country", "system_id")
_FIGURES |= {
    "deal_names": ",\n        ".join(
        _deal_names(name, column)
        for name, column in (
            ("suppliers", "supplier"),
            ("recipients", "recipient"),
            ("supplier_countries", "supplier_country"),
            ("recipient_countries", "recipient_country"),
        )
    ),
    "totals_suppliers": _distinct("supplier", _TOTALS),
    "totals_recipients": _distinct("recipient", _TOTALS),
}
VIEWS = {
    name: sql.format(counted=_COUNTED, steps=_sql_list(schema.TRANSFER_ACTIONS),
                     figures_uncounted=_figures(None), **_FIGURES)
    if name in ("transfers", "transfer_totals", "deals") else sql
    for name, sql in VIEWS.items()
}  # fmt: skip

# Indexes over several columns; single columns come from the declarations (facet/index).
COMPOSITE_INDEXES = {
    # (year, sort_key, id) covers /timeline's jump-to-year counts and each year's first event.
    # The paged canned queries seek to a page's first event by (sort_key, id), and by
    # (status, sort_key, id) for the claims; the dates ride along so that reading down the
    # index to the first event of a date range never opens a row.
    "events": (
        ["year", "month"],
        ["year", "sort_key", "id"],
        ["sort_key", "id", "date_end", "date_start"],
        ["status", "sort_key", "id"],
        # per_year_and_type counts down this index instead of reading every event
        ["year", "type", "precision"],
    ),
    "event_actors": (["actor_id", "role"],),
    "citations": (["event_id", "position"],),
    # (events) ranks every pair; (actor_id, events) one actor's partners, busiest first
    "actor_pairs": (["events"], ["actor_id", "events"]),
    "event_systems": (["system_id", "action"], ["event_id", "position"]),
}
# Expression indexes for the site's queries: an event's day of the year (MM-DD) when it is
# dated to the day, so on_this_day and its "next days with events" seek instead of scanning.
EXPRESSION_INDEXES = {
    "idx_events_month_day": "events (substr(date_start, 6, 5)) where precision = 'day'",
    # The map groups the located events by place; at 100,000 events scanning the events
    # for them took 105 ms a page (past the time limit under load), this index 16 ms.
    "idx_events_located": "events (location, latitude, longitude, sort_key)"
    " where latitude is not null and longitude is not null",
    # The busiest actors (the home page's chart, /timeline's actor choices) without sorting
    # every actor: 4–19 ms at 100,000 events, 0.4 ms with this index.
    "idx_actors_by_events": "actors (event_count desc, name) where event_count > 0",
    # recently_added and its feed: the newest first_added without sorting every event.
    "idx_events_recently_added": "events (first_added, sort_key) where first_added is not null",
    # An actor named by its name in any case (/timeline?actor=Baykar, actor_events,
    # actors_together), first by id: 9–10 ms a lookup scanning 21,600 actors at 100,000 events.
    "idx_actors_lower_name": "actors (lower(name), id)",
}
PYTHON_TYPES = {"text": str, "integer": int, "real": float}
# The full-text indexes: a table's searchable columns (FTS5 over the table's own rows).
FTS_COLUMNS = {
    "events": ("title", "summary", "notes", "quotes"),
    "citations": ("quote", "translation", "note"),
}
# The database is written to a private temporary file that only a rename makes live, so
# SQLite's own crash safety (a rollback journal, a sync per commit) protects nothing: a
# build that dies leaves a temporary file to delete, never a damaged database. Without
# them, and with a 64 MiB page cache instead of 2 MiB, the write takes ~40 % less time.
# The file is synced once before the rename instead. Each page is written once, so there
# is nothing for a VACUUM to compact (it used to rewrite the whole file: 1.7 s of 6.4 s
# at 10,000 events).
BUILD_PRAGMAS = ("foreign_keys = on", "journal_mode = off", "synchronous = off",
                 "cache_size = -65536")  # fmt: skip


# The tables whose row counts a build reports and keeps in build_info.
COUNTED_TABLES = ("events", "actors", "sources", "systems", "citations", "event_actors",
                  "event_relations", "event_systems")  # fmt: skip


@dataclass(frozen=True)
class BuildResult:
    db_path: Path
    skipped: bool
    counts: dict[str, int]
    updated: int | None = None  # events re-read when only they changed (None: a full build)


def input_hash(yaml_bytes: bytes, commit: str = "") -> str:
    """What determines the database: the YAML, its last commit (for the edit history),
    the tool version and the schema version."""
    digest = hashlib.sha256(yaml_bytes)
    digest.update(f"\0{commit}\0{__version__}\0{schema_fingerprint()}".encode())
    return digest.hexdigest()


def read_only(db_path: Path) -> closing[sqlite3.Connection]:
    """A read-only connection to ``db_path``, closed when the ``with`` block ends."""
    return closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True))


def stored_progress(db_path: Path, info: dict[str, str]) -> Progress | None:
    """The edit history's progress kept by the last build (None when there is none)."""
    commit = info.get("history_commit")
    if not commit or info.get("schema_version") != schema_fingerprint():
        return None
    try:
        with read_only(db_path) as conn:
            rows = conn.execute(
                "select event_id, first_added, added_in, last_changed, changed_in, fingerprint"
                " from edit_history"
            ).fetchall()
    except sqlite3.Error:
        return None
    return Progress(commit, {row[0]: Tracked(*row[1:]) for row in rows})


def stored_build_info(db_path: Path) -> dict[str, str]:
    """The build_info of an existing database ({} when there is no usable database)."""
    if not db_path.exists():
        return {}
    try:
        with read_only(db_path) as conn:
            return dict(conn.execute("select key, value from build_info").fetchall())
    except sqlite3.Error:
        return {}


# -- rows ------------------------------------------------------------------------------------


def _stored(value: object, fld: schema.Field) -> object:
    """A declared field's value as stored: canonical dates, lists as JSON arrays."""
    if isinstance(value, ParsedDate):
        return value.canonical
    if isinstance(value, tuple):
        items = sorted(value) if fld.facet == "array" else list(value)
        return json.dumps(items, ensure_ascii=False)
    return value


def _row(table: str, record: object, derived: dict[str, object]) -> dict:
    """One row of a section's table: declared fields from the record, the rest derived."""
    fields = schema.RECORDS[schema.TABLE_RECORD[table]]
    return {
        c.name: derived[c.name] if c.name in derived else _stored(getattr(record, c.name),
                                                                     fields[c.name])
        for c in schema.table_columns(table)
    }  # fmt: skip


def _published_columns(d: ParsedDate) -> dict[str, object]:
    return {
        "published_label": d.label,
        "published_start": d.start.isoformat(),
        "published_precision": d.precision,
    }


def _event_derived(
    event: Event, names: dict[str, dict[str, str]], history: History | None, kinds: dict[str, str]
) -> dict[str, object]:
    d, loc = event.date, event.location
    return {
        "date_label": d.label,
        "date_start": d.start.isoformat(),
        "date_end": d.end.isoformat(),
        "precision": d.precision,
        "approximate": int(d.approximate),
        "uncertain": int(d.uncertain),
        "year": d.year,
        "month": d.month,
        "sort_key": d.sort_key,
        "actors": _names(names["actors"], (a.actor for a in event.actors)),
        "systems": _names(names["systems"], (x.system for x in event.systems)),
        "system_kinds": json.dumps(sorted({kinds[x.system] for x in event.systems})),
        "location": loc.name if loc else None,
        "latitude": loc.latitude if loc else None,
        "longitude": loc.longitude if loc else None,
        "citation_count": len(event.citations),
        "source_count": len({c.source for c in event.citations}),
        "quotes": "\n".join(
            c.quote + (f"\n{c.translation}" if c.translation else "") for c in event.citations
        ),
        "first_added": history.first_added if history else None,
        "last_changed": history.last_changed if history else None,
    }


def event_rows(
    events: Iterable[Event],
    names: dict[str, dict[str, str]],
    history: dict[str, History],
    kinds: dict[str, str],
):
    """The events table's rows; ``names``: actors' and systems' names by id."""
    for e in events:
        yield _row("events", e, _event_derived(e, names, history.get(e.id), kinds))


def _names(names: dict[str, str], ids) -> str:
    return json.dumps(sorted({names[i] for i in ids}), ensure_ascii=False)


# Defaults of an event's system entry, from the event's actors and their roles.
_ENTRY_DEFAULTS = {
    "supplier": ("supplier", "manufacturer"),
    "recipient": ("buyer", "recipient"),
}


def link_rows(table: str, events: Iterable[Event]):
    """Rows of a link table, from the entries of each event (see ``schema.LINK_TABLES``)."""
    link = schema.LINK_TABLES[table]
    fields = schema.RECORDS[link.record]
    for event in events:
        for position, entry in enumerate(getattr(event, link.field), start=1):
            row: dict[str, object] = {"event_id": event.id}
            if link.positioned:
                row = {"id": f"{event.id}/{position}", "event_id": event.id, "position": position}
            for name, fld in fields.items():
                value = getattr(entry, name)
                if value is None and link.record == "event_system" and name in _ENTRY_DEFAULTS:
                    value = event.actor_with_role(*_ENTRY_DEFAULTS[name])
                row[schema.column_name(table, name)] = _stored(value, fld)
                if fld.type == "date":
                    row[f"{name}_label"] = value.label if value else None
            yield row


def _scoped_ids(event: Event) -> dict[str, list[str]]:
    """An event's actors and weapon systems, each once and sorted, by scope: an event
    counts once per actor, whatever its roles."""
    return {
        "actor": sorted({a.actor for a in event.actors}),
        "system": sorted({x.system for x in event.systems}),
    }


def event_counts(facts: Iterable[tuple[int, str, dict[str, list[str]]]]) -> Counter:
    """Events per year and type: overall (scope 'all'), per actor and per system, and per
    status and date precision, from each event's (year, type, ``count_scopes``).

    The charts read these few rows instead of grouping every event and link row on each
    request (at 100,000 events the twelve busiest actors' years took ~0.4 s per request
    even with covering indexes). An event counts once per actor, whatever its roles.
    """
    counts: Counter[tuple[str, str, int, str]] = Counter()
    for year, kind, scoped in facts:
        counts["all", "", year, kind] += 1
        for scope, ids in scoped.items():
            for scope_id in ids:
                counts[scope, scope_id, year, kind] += 1
    return counts


# Columns of the events table counted per value in event_counts (scope = the column,
# scope_id = the value): with the 'all' rows (year and type) they are the events table's
# column facets, read from a few rows instead of every event.
COUNTED_COLUMNS = ("status", "precision")
# The events table's column facets that event_counts answers for the whole table, and the
# scope whose rows hold them: year and type in the overall rows, the counted columns in
# their own.
FACET_COUNTS = {"year": "all", "type": "all", **{c: c for c in COUNTED_COLUMNS}}


def count_scopes(scoped: dict[str, list[str]], counted: dict[str, str]) -> dict:
    """What an event counts towards beyond 'all': its actors and systems, and the value of
    each of COUNTED_COLUMNS (``counted``: column -> the event's value)."""
    return scoped | {column: [counted[column]] for column in COUNTED_COLUMNS}


def event_count_facts(events: Iterable[Event]):
    return (
        (
            e.date.year,
            e.type,
            count_scopes(_scoped_ids(e), {"status": e.status, "precision": e.date.precision}),
        )
        for e in events
    )


def event_count_row(key: tuple[str, str, int, str], n: int) -> dict:
    scope, scope_id, year, kind = key
    return {"scope": scope, "scope_id": scope_id, "year": year, "type": kind, "events": n}


def actor_pair_rows(shared: Iterable[tuple[str, list[str]]]):
    """For each two actors that share events: how many, and the first PAIR_EVENT_IDS of them.

    ``shared``: each event's id and sorted distinct actors, in date order. One row per
    direction, so an actor's partners are an indexed read. The site asked SQLite to join
    event_actors with itself per request instead: at 100,000 events that ran past the
    time limit.
    """
    counts: Counter[tuple[str, str]] = Counter()
    first_ids: dict[tuple[str, str], list[str]] = {}
    for event_id, actors in shared:
        for pair in itertools.combinations(actors, 2):
            counts[pair] += 1
            ids = first_ids.setdefault(pair, [])
            if len(ids) < PAIR_EVENT_IDS:
                ids.append(event_id)
    for (first, second), count in sorted(counts.items()):
        shared = {"events": count, "event_ids": ",".join(first_ids[first, second])}
        yield {"actor_id": first, "other_id": second, **shared}
        yield {"actor_id": second, "other_id": first, **shared}


def scope_event_rows(events: Iterable[Event]):
    """Each actor's and each weapon system's events, keyed to be read in date order.

    With the primary key (scope, scope_id, sort_key, event_id) the first page of an
    actor's events is a range read, however many events the actor has: grouping and
    sorting an actor's rows of event_actors took 190 ms for an actor in 40 % of 100,000
    events.
    """
    for e in events:
        for scope, ids in _scoped_ids(e).items():
            for scope_id in ids:
                yield {"scope": scope, "scope_id": scope_id, "sort_key": e.date.sort_key,
                       "event_id": e.id}  # fmt: skip


# -- tables ----------------------------------------------------------------------------------


def _create_tables(db: sqlite_utils.Database) -> None:
    """Every table from the declarations in ``schema``."""
    for section, table in schema.SECTION_TABLE.items():
        columns = schema.table_columns(table)
        record = schema.RECORDS[schema.SECTION_RECORD[section]]
        db[table].create(
            {c.name: PYTHON_TYPES[c.type] for c in columns},
            pk="id",
            not_null={c.name for c in columns if c.not_null},
            foreign_keys=[(n, schema.SECTION_TABLE[f.refers_to], "id")
                          for n, f in record.items() if f.refers_to and f.column],
        )  # fmt: skip
    for table, link in schema.LINK_TABLES.items():
        columns = schema.link_columns(table)
        record = schema.RECORDS[link.record]
        references = [
            (schema.column_name(table, n), schema.SECTION_TABLE[f.refers_to], "id")
            for n, f in record.items()
            if f.refers_to
        ]
        db[table].create(
            {c.name: PYTHON_TYPES[c.type] for c in columns},
            pk=schema.link_primary_key(table),
            not_null={c.name for c in columns if c.not_null},
            foreign_keys=[("event_id", "events", "id"), *references],
        )
    db["build_info"].create({"key": str, "value": str}, pk="key")
    db["actor_pairs"].create(
        {"actor_id": str, "other_id": str, "events": int, "event_ids": str},
        pk=("actor_id", "other_id"),
        not_null={"actor_id", "other_id", "events", "event_ids"},
        foreign_keys=[("actor_id", "actors", "id"), ("other_id", "actors", "id")],
    )
    db["event_counts"].create(
        {"scope": str, "scope_id": str, "year": int, "type": str, "events": int},
        pk=("scope", "scope_id", "year", "type"),
        not_null={"scope", "scope_id", "year", "type", "events"},
    )
    db["scope_events"].create(
        {"scope": str, "scope_id": str, "sort_key": str, "event_id": str},
        pk=("scope", "scope_id", "sort_key", "event_id"),
        not_null={"scope", "scope_id", "sort_key", "event_id"},
        foreign_keys=[("event_id", "events", "id")],
    )


def insert(db: sqlite_utils.Database, table: str, rows: Iterable[dict]) -> None:
    """Insert rows with one prepared statement (sqlite-utils' insert_all rebuilds its SQL
    and re-checks every value per batch, half of a large build's write time). The rows
    hold every column already, as SQLite values."""
    columns = list(db[table].columns_dict)
    sql = f"insert into [{table}] ({', '.join(f'[{c}]' for c in columns)}) values "
    sql += f"({', '.join('?' * len(columns))})"
    db.conn.executemany(sql, ([row.get(c) for c in columns] for row in rows))


def _insert_rows(
    db: sqlite_utils.Database, data: Dataset, history: dict[str, History]
) -> dict[str, int]:
    events = sorted(data.events, key=lambda e: (e.date.sort_key, e.id))
    names = {
        "actors": {a.id: a.name for a in data.actors},
        "systems": {x.id: x.name for x in data.systems},
    }
    kinds = {x.id: x.kind for x in data.systems}
    uses = {"event_count": None}  # counted by count_uses once the rows that use them exist
    insert(db, "sources", (
        _row("sources", s, _published_columns(s.published)
             | dict.fromkeys(("citation_count", "contradicted_count", "against_claim_count")))
        for s in sorted(data.sources, key=lambda s: s.id)
    ))  # fmt: skip
    insert(db, "actors", (_row("actors", a, uses) for a in sorted(data.actors, key=lambda a: a.id)))
    insert(db, "systems", (
        _row("systems", x, uses | {"maker_name": names["actors"].get(x.maker)})
        for x in sorted(data.systems, key=lambda x: x.id)
    ))  # fmt: skip
    insert(db, "events", event_rows(events, names, history, kinds))
    for table in schema.LINK_TABLES:
        insert(db, table, link_rows(table, events))
    counts = event_counts(event_count_facts(events))
    insert(db, "event_counts", (event_count_row(k, n) for k, n in sorted(counts.items())))
    insert(db, "actor_pairs", actor_pair_rows((e.id, _scoped_ids(e)["actor"]) for e in events))
    insert(db, "scope_events", scope_event_rows(events))
    return {name: db[name].count for name in COUNTED_TABLES}


# How many events refer to each actor and each system, and how many citations quote each
# source, counted from the built rows. A source's citation that contradicts a confirmed
# event was contradicted by the record; one that contradicts a claim the record does not
# establish was evidence against the claim, and counts for the source, not against it.
USE_COUNTS_SQL = {
    "actors": """update actors set event_count = (select count(*) from scope_events s
        where s.scope = 'actor' and s.scope_id = actors.id)""",
    "systems": """update systems set event_count = (select count(*) from scope_events s
        where s.scope = 'system' and s.scope_id = systems.id)""",
    # One pass over each source's citations (by the source_id index) for both counts: a
    # separate subquery for the contradicting ones chose the stance index and took minutes.
    "sources": """update sources set
        (citation_count, contradicted_count, against_claim_count) = (
        select count(*),
               count(*) filter (where c.stance = 'contradicts' and e.status = 'confirmed'),
               count(*) filter (where c.stance = 'contradicts' and e.status != 'confirmed')
        from citations c join events e on e.id = c.event_id
        where c.source_id = sources.id)""",
}


def count_uses(db: sqlite_utils.Database, only: dict[str, Iterable[str]] | None = None) -> None:
    """Fill the use counts of actors, systems and sources once the rows that use them and
    their indexes exist; ``only``: the ids to count again, by table (an update)."""
    for table, sql in USE_COUNTS_SQL.items():
        if only is None:
            db.execute(sql)
        elif only.get(table):
            ids = json.dumps(sorted(only[table]))
            db.execute(f"{sql} where id in (select value from json_each(?))", [ids])


# Each value of each list column of events (actors, countries, tags, systems, …) as a row,
# and each value's count over all events: list facets and filters read these through an
# index instead of parsing every event's JSON array per request.
LIST_VALUES_SQL = (
    "insert into event_list_values (event_id, list, value) "
    "select e.id, :list, j.value from events e, json_each(e.[{column}]) j{where}"
)
# How many events hold each value; ``{where}`` narrows it to some events (an update adds
# the counts of the events it writes and takes away those of the events it removes).
LIST_VALUE_COUNTS_SQL = """select list, value, count(distinct event_id)
from event_list_values{where} group by list, value"""
LIST_COUNTS_SQL = "insert into event_list_counts (list, value, count) " + LIST_VALUE_COUNTS_SQL


def list_columns() -> tuple[str, ...]:
    """The events columns holding lists of values: the declared list facets."""
    return tuple(c.name for c in schema.table_columns("events") if c.facet == "array")


def _list_values(db: sqlite_utils.Database) -> None:
    for table, (_, columns) in schema.LIST_TABLES.items():
        db[table].create(
            {c.name: PYTHON_TYPES[c.type] for c in columns},
            pk=("list", "value") if table == "event_list_counts" else None,
            not_null={c.name for c in columns if c.not_null},
            foreign_keys=[("event_id", "events", "id")] if table == "event_list_values" else [],
        )
    for column in list_columns():
        db.execute(LIST_VALUES_SQL.format(column=column, where=""), {"list": column})
    db.execute(LIST_COUNTS_SQL.format(where=""))
    db["event_list_values"].create_index(["list", "value", "event_id"])
    db["event_list_values"].create_index(["event_id"])


# Each actor's and system's id, name and aliases, folded as the filters fold a reader's word.
RECORD_NAMES_SQL = """insert into record_names (kind, id, name)
select '{kind}', id, timeline_fold(id) from {table}
union select '{kind}', id, timeline_fold(name) from {table}
union select '{kind}', t.id, timeline_fold(j.value) from {table} t, json_each(t.aliases) j"""


def _record_names(db: sqlite_utils.Database) -> None:
    ((_, columns),) = schema.NAME_TABLES.values()
    db["record_names"].create(
        {c.name: PYTHON_TYPES[c.type] for c in columns}, pk=("kind", "name", "id"),
        not_null={c.name for c in columns if c.not_null},
    )  # fmt: skip
    register_functions(db.conn)
    for kind, table in (("actor", "actors"), ("system", "systems")):
        db.execute(RECORD_NAMES_SQL.format(kind=kind, table=table))


def _edit_history(db: sqlite_utils.Database, progress: Progress) -> None:
    ((_, columns),) = schema.HISTORY_TABLES.values()
    db["edit_history"].create(
        {c.name: PYTHON_TYPES[c.type] for c in columns}, pk="event_id",
        not_null={c.name for c in columns if c.not_null},
    )  # fmt: skip
    write_history(db, progress.events)


def write_history(db: sqlite_utils.Database, tracked: dict[str, Tracked]) -> None:
    """Each event's edit-history row (replacing the one it had)."""
    db.conn.executemany(
        "insert or replace into edit_history values (?, ?, ?, ?, ?, ?)",
        ((event_id, t.first_added, t.added_in, t.last_changed, t.changed_in, t.fingerprint)
         for event_id, t in sorted(tracked.items())),
    )  # fmt: skip


def _index_and_search(db: sqlite_utils.Database) -> None:
    declared = {t: schema.table_columns(t) for t in schema.SECTION_TABLE.values()}
    declared |= {t: schema.link_columns(t) for t in schema.LINK_TABLES}
    for table, columns in declared.items():
        for column in columns:
            if (column.facet or column.index) and column.name != "id":
                db[table].create_index([column.name])
    for table, composites in COMPOSITE_INDEXES.items():
        for composite in composites:
            db[table].create_index(composite)
    for name, target in EXPRESSION_INDEXES.items():
        db.execute(f"create index [{name}] on {target}")
    _index_references(db)
    for table, columns in FTS_COLUMNS.items():
        db[table].enable_fts(list(columns), tokenize="porter", create_triggers=False)
    for name, sql in VIEWS.items():
        db.create_view(name, sql.strip())


def store_spans(db: sqlite_utils.Database, spans: Spans | None) -> None:
    """Keep where each event sat in the file, for the next build (``timeline.update``)."""
    if "yaml_spans" not in db.table_names():
        db["yaml_spans"].create({"part": str, "value": bytes}, pk="part")
    db.execute("delete from yaml_spans")
    if spans is not None:
        insert(db, "yaml_spans", ({"part": k, "value": v} for k, v in spans.pack().items()))


def _index_references(db: sqlite_utils.Database) -> None:
    """Index every foreign key column that no index or primary key starts with.

    Datasette's row page counts the rows of each table that refer to the row: without an
    index each count reads the whole table (29 ms for scope_events on every event page at
    100,000 events, 19 ms for actor_pairs on every actor page).
    """
    for table in db.tables:
        leading = {index.columns[0] for index in table.indexes} | {table.pks[0]}
        for column in sorted({fk.column for fk in table.foreign_keys} - leading):
            table.create_index([column])


def write_database(
    data: Dataset,
    db_path: Path,
    digest: str,
    history: dict[str, History] | None = None,
    progress: Progress | None = None,
    spans: Spans | None = None,
    commit: str = "",
) -> dict[str, int]:
    """Write ``data`` to ``db_path`` atomically; returns row counts.

    Example::

        counts = write_database(dataset, Path("record.db"), input_hash(raw))
    """
    db_path = Path(db_path)
    with temporary_sibling(db_path) as tmp:
        import sqlite_utils

        db = sqlite_utils.Database(tmp)
        try:
            for pragma in BUILD_PRAGMAS:
                db.execute(f"pragma {pragma}")
            # One transaction: sqlite-utils would otherwise commit every batch.
            with db.atomic():
                _create_tables(db)
                counts = _insert_rows(db, data, history or {})
                _list_values(db)
                _record_names(db)
                _edit_history(db, progress or Progress())
                _index_and_search(db)
                count_uses(db)
                info = {
                    "input_sha256": digest,
                    "tool_version": __version__,
                    "schema_version": schema_fingerprint(),
                    "history_commit": (progress or Progress()).commit,
                    "input_commit": commit,
                } | {f"count_{k}": str(v) for k, v in counts.items()}
                db["build_info"].insert_all({"key": k, "value": v} for k, v in sorted(info.items()))
                store_spans(db, spans)
            violations = db.execute("pragma foreign_key_check").fetchall()
            if violations:
                raise RuntimeError(f"foreign key violations: {violations[:5]}")
        finally:
            db.close()
        replace_durably(tmp, db_path)  # BUILD_PRAGMAS leave the syncing to this
    return counts


STALE_AFTER_SECONDS = 3600


def _remove_stale_temporaries(target: Path) -> None:
    """Delete temp files left by builds killed long ago (a running build's file is recent)."""
    now = time.time()
    for leftover in target.parent.glob(f".{target.name}.*.tmp"):
        try:
            if now - leftover.stat().st_mtime > STALE_AFTER_SECONDS:
                leftover.unlink()
        except OSError:
            pass  # another process removed or renamed it meanwhile


@contextmanager
def temporary_sibling(target: Path) -> Iterator[Path]:
    """A temp path in the target's directory (so rename is atomic); removed on failure."""
    _remove_stale_temporaries(target)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    tmp.unlink()  # sqlite creates it afresh
    try:
        yield tmp
    finally:
        for leftover in (tmp, Path(f"{tmp}-journal")):
            leftover.unlink(missing_ok=True)


class InvalidInput(Exception):
    """The YAML has errors; ``result.errors`` lists them with their positions."""

    def __init__(self, result: Result):
        super().__init__(f"{len(result.errors)} error(s)")
        self.result = result


def default_db_path(yaml_path: Path) -> Path:
    """The database lives next to the YAML it is built from."""
    return Path(yaml_path).parent / DEFAULT_DB_NAME


def build_file(yaml_path: Path, db_path: Path | None = None, *, force: bool = False) -> BuildResult:
    """Validate ``yaml_path`` and (re)build the database if the input changed.

    Raises InvalidInput (database untouched) when the YAML has errors.

    Example::

        result = build_file(Path("events.yaml"))
        print(result.db_path, result.skipped, result.counts["events"])
    """
    yaml_path = Path(yaml_path)
    db_path = Path(os.path.realpath(db_path or default_db_path(yaml_path)))
    check_output(db_path, "sqlite", inputs=[yaml_path])
    try:
        raw = yaml_path.read_bytes()
    except OSError as exc:
        from .validate import Problem, Result

        raise InvalidInput(Result([Problem.unreadable(yaml_path, exc)])) from None
    db_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with lock_for(db_path):  # a second build waits, then finds the database up to date
            return _build_locked(yaml_path, raw, db_path, force)
    except Timeout:
        raise WriteRefused(
            f"{db_path} is being built by another timeline command", "try again when it is done"
        ) from None


def _build_locked(yaml_path: Path, raw: bytes, db_path: Path, force: bool) -> BuildResult:
    commit = last_commit(yaml_path)
    digest = input_hash(raw, commit)
    info = {} if force else stored_build_info(db_path)
    if info.get("input_sha256") == digest:
        return BuildResult(db_path, True, stored_counts(info))
    if info:
        from .update import update_database

        updated = update_database(yaml_path, raw, db_path, info, digest, commit)
        if updated is not None:
            return BuildResult(db_path, False, updated.counts, updated.events)
    from .spans import record_spans
    from .validate import validate_bytes

    result = validate_bytes(raw, yaml_path, keep_document=True)
    if not result.ok:
        raise InvalidInput(result)
    spans = record_spans(result.document, raw)
    result.document = None  # its node graph is most of the memory a large file takes
    # the edit history goes on from where the last build left it (even a forced build)
    previous = stored_progress(db_path, stored_build_info(db_path))
    with paused_gc():
        prints = functools.cache(lambda: fingerprints_of(result.data))
        history, progress = event_history(yaml_path, previous, (raw, prints))
        if commit and spans is not None:  # in git: the next commit moves the history
            spans = spans.with_prints(prints())
        counts = write_database(result.dataset, db_path, digest, history, progress, spans, commit)
    return BuildResult(db_path, False, counts)


def stored_counts(info: dict[str, str]) -> dict[str, int]:
    """The row counts a build recorded in build_info."""
    return {k.removeprefix("count_"): int(v) for k, v in info.items() if k.startswith("count_")}
