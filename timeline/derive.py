"""Derive: the tables counted over many records, in SQL from the records' rows.

Each derived table has one SQL that fills it for some keys: the keys the events a build
takes out counted towards (read before they go) and those of the events it writes (read
after they come). A build from an empty database writes every event, so the same SQL
fills each table whole; an edit recounts only what the edited events touch. The list
values' counts are kept by adding what the written events hold and taking out what the
removed ones held: from empty, that too counts every value. Nothing is counted in Python,
so no count can differ between a full build and an edit.

The events' own derived rows (their actors and systems by scope, their list values,
their full-text entries, their dates from the edit history) follow the events written.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from . import schema
from .filters import register_functions
from .forks import held_stops
from .places import LOCATED
from .rows import GONE, NEW, PYTHON_TYPES
from .views import VIEWS

if TYPE_CHECKING:
    import sqlite_utils

    from .model import Dataset

# How many of a pair of actors' shared events actor_pairs names (the first, by date).
PAIR_EVENT_IDS = 10

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
    # an event's actors and systems from its id alone: the pairs of actors are found here
    "scope_events": (["event_id", "scope", "scope_id"],),
}
# The events and sources `validate` warns about from the rows (one source, a summary repeating
# a quote; never cited), stated once: a query must state them as idx_events_warned and
# idx_sources_uncited have them for SQLite to use the indexes.
WARNED_EVENTS = "source_count = 1 or summary_repeats_quote = 1"
UNCITED_SOURCES = "citation_count = 0"
# Expression indexes for the site's queries: an event's day of the year (MM-DD) when it is
# dated to the day, so on_this_day and its "next days with events" seek instead of scanning.
EXPRESSION_INDEXES = {
    "idx_events_month_day": "events (substr(date_start, 6, 5)) where precision = 'day'",
    # The map groups the located events by place; at 100,000 events scanning the events
    # for them took 105 ms a page (past the time limit under load), this index 16 ms.
    "idx_events_located": f"events (location, latitude, longitude, sort_key) where {LOCATED}",
    # `validate` of the file the last build read: its events' and sources' warnings without
    # reading every row (the scans took 130–140 and 40 ms at 100,000 events).
    "idx_events_warned": f"events (id, source_count, summary_repeats_quote) where {WARNED_EVENTS}",
    "idx_sources_uncited": f"sources (id) where {UNCITED_SOURCES}",
    # The busiest actors (the home page's chart, /timeline's actor choices) without sorting
    # every actor: 4–19 ms at 100,000 events, 0.4 ms with this index.
    "idx_actors_by_events": "actors (event_count desc, name) where event_count > 0",
    # recently_added and its feed: the newest first_added without sorting every event.
    "idx_events_recently_added": "events (first_added, sort_key) where first_added is not null",
    # An actor named by its name in any case (/timeline?actor=Baykar, actor_events,
    # actors_together), first by id: 9–10 ms a lookup scanning 21,600 actors at 100,000 events.
    "idx_actors_lower_name": "actors (lower(name), id)",
}
# The full-text indexes: a table's searchable columns (FTS5 over the table's own rows).
FTS_COLUMNS = {
    "events": ("title", "summary", "notes", "quotes"),
    "citations": ("quote", "translation", "note"),
}

# Columns of the events table counted per value in event_counts (scope = the column,
# scope_id = the value): with the 'all' rows (year and type) they are the events table's
# column facets, read from a few rows instead of every event.
COUNTED_COLUMNS = ("status", "precision")
# The events table's column facets that event_counts answers for the whole table, and the
# scope whose rows hold them: year and type in the overall rows, the counted columns in
# their own.
FACET_COUNTS = {"year": "all", "type": "all", **{c: c for c in COUNTED_COLUMNS}}


def list_columns() -> tuple[str, ...]:
    """The events columns holding lists of values: the declared list facets."""
    return tuple(c.name for c in schema.table_columns("events") if c.facet == "array")


# -- the tables ------------------------------------------------------------------------------


def create_tables(db: sqlite_utils.Database) -> None:
    """The derived tables, empty, with the full-text indexes and the views."""
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
    declared = {**schema.LIST_TABLES, **schema.NAME_TABLES}
    keys = {"event_list_counts": ("list", "value"), "record_names": ("kind", "name", "id")}
    for table, (_, columns) in declared.items():
        db[table].create(
            {c.name: PYTHON_TYPES[c.type] for c in columns},
            pk=keys.get(table),
            not_null={c.name for c in columns if c.not_null},
            foreign_keys=[("event_id", "events", "id")] if table == "event_list_values" else [],
        )
    for table, columns in FTS_COLUMNS.items():
        db[table].enable_fts(list(columns), tokenize="porter", create_triggers=False)
    for name, sql in VIEWS.items():
        db.create_view(name, sql.strip())


def create_indexes(db: sqlite_utils.Database) -> None:
    """The indexes: created once the first rows are in, which is faster than keeping
    them up to date row by row."""
    db["event_list_values"].create_index(["list", "value", "event_id"])
    db["event_list_values"].create_index(["event_id"])
    declared = {t: schema.declared_columns(t)
                for t in (*schema.SECTION_TABLE.values(), *schema.LINK_TABLES)}  # fmt: skip
    # A composite index (or primary key) serves every search of an id its first column's
    # own index would: that one would only cost the build its time and the file its pages.
    # A facet column keeps its own: a filter by it matches many rows, which its own index
    # gives in the table's order and a composite in another, so reading them took longer
    # (a system's rows of event_systems: 30 ms against 22 ms at 100,000 events).
    led = {(table, columns[0]) for table, composites in COMPOSITE_INDEXES.items()
           for columns in composites}  # fmt: skip
    led |= {(table, db[table].pks[0]) for table in declared}
    # A list column (facet "array") gets none: its values are indexed in event_list_values,
    # which its facet and filters read; an index of its JSON text would serve no search.
    for table, columns in declared.items():
        for column in columns:
            if column.facet == "column" or (column.index and (table, column.name) not in led):
                db[table].create_index([column.name])
    for table, composites in COMPOSITE_INDEXES.items():
        for composite in composites:
            db[table].create_index(composite)
    for name, target in EXPRESSION_INDEXES.items():
        db.execute(f"create index [{name}] on {target}")
    _index_references(db)


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


# -- each event's own derived rows -----------------------------------------------------------

# Each actor's and each weapon system's events, keyed to be read in date order: with the
# primary key (scope, scope_id, sort_key, event_id) the first page of an actor's events is
# a range read, however many events the actor has (grouping and sorting an actor's rows of
# event_actors took 190 ms for an actor in 40 % of 100,000 events). An event counts once
# per actor, whatever its roles.
SCOPE_EVENTS_SQL = f"""insert into scope_events (scope, scope_id, sort_key, event_id)
select distinct 'actor', l.actor_id, e.sort_key, e.id
from event_actors l join events e on e.id = l.event_id where e.id in ({NEW})
union select distinct 'system', l.system_id, e.sort_key, e.id
from event_systems l join events e on e.id = l.event_id where e.id in ({NEW})"""
# Each value of each list column of events (actors, countries, tags, systems, …) as a row:
# list facets and filters read these through an index instead of parsing every event's
# JSON array per request.
LIST_VALUES_SQL = f"""insert into event_list_values (event_id, list, value)
select e.id, :list, j.value from events e, json_each(e.[{{column}}]) j where e.id in ({NEW})"""
# First added and last changed, from the edit history: of the events written and of those
# whose history the build moved (``temp.dated``).
DATES_SQL = f"""update events set first_added = h.first_added, last_changed = h.last_changed
from edit_history h where h.event_id = events.id
and events.id in ({NEW} union select id from temp.dated)"""


def forget_events(db: sqlite_utils.Database) -> None:
    """Take the removed events' own derived rows out (before their rows go: the full-text
    indexes read the rows to take their text out)."""
    _index_text(db, GONE, delete=True)
    db.execute(LIST_COUNTS_TAKEN_SQL)
    for table in ("event_list_values", "scope_events"):
        db.execute(f"delete from [{table}] where event_id in ({GONE})")


def derive_events(db: sqlite_utils.Database, dated: list[str]) -> None:
    """The written events' own derived rows, and the dates of ``dated`` events."""
    db.execute(SCOPE_EVENTS_SQL)
    for column in list_columns():
        db.execute(LIST_VALUES_SQL.format(column=column), {"list": column})
    _index_text(db, NEW)
    db.execute("create temp table dated (id text primary key)")
    db.conn.executemany("insert into temp.dated values (?)", ((i,) for i in sorted(dated)))
    db.execute(DATES_SQL)


def _index_text(db: sqlite_utils.Database, ids_sql: str, *, delete: bool = False) -> None:
    """Add the events' and their citations' text to the full-text indexes, or take it out
    (the indexes read their tables' rows: a row's old text must be taken out before it goes).

    The rows are picked by their rowids, which SQLite then visits in order: the table's
    pages one after the other, and the index's entries in the order it keeps them. Picked
    by event id, every event of a build from empty was a jump to another page."""
    for table, columns in FTS_COLUMNS.items():
        listed = ", ".join(columns)
        key = "id" if table == "events" else "event_id"
        command = (f"{table}_fts, ", "'delete', ") if delete else ("", "")
        db.execute(
            f"insert into {table}_fts ({command[0]}rowid, {listed})"
            f" select {command[1]}rowid, {listed} from {table} where rowid in"
            f" (select rowid from {table} where {key} in ({ids_sql}))"
        )


# -- the counts, by key ----------------------------------------------------------------------

# The keys each counted table is recounted by, as temporary tables. The overall, status and
# precision counts go by their whole key (so an edit recounts one year and type of them,
# not every event); an actor's or system's counts by the actor or system (reading its
# events once, whichever years they fall in).
KEYS = {
    "count_keys": "scope text, scope_id text, year integer, type text,"
    " primary key (scope, scope_id, year, type)",
    "scope_keys": "scope text, scope_id text, primary key (scope, scope_id)",
    "pair_keys": "actor_id text, other_id text, primary key (actor_id, other_id)",
    "used": "tbl text, id text, primary key (tbl, id)",
}


def _keys_sql(events: str) -> list[str]:
    """SQL adding to the key tables what the rows of the events in ``temp.<events>`` count
    towards. The joins go in the order written (cross join), from the few events to their
    rows: without statistics SQLite may otherwise walk every actor's rows per event."""
    x = f"temp.{events} x cross join events e on e.id = x.id"
    scoped = f"temp.{events} x cross join scope_events s on s.event_id = x.id"
    return [
        f"insert or ignore into temp.count_keys select 'all', '', e.year, e.type from {x}",
        *(f"insert or ignore into temp.count_keys select '{c}', e.{c}, e.year, e.type from {x}"
          for c in COUNTED_COLUMNS),
        f"insert or ignore into temp.scope_keys select s.scope, s.scope_id from {scoped}",
        # each pair once, the smaller id first
        "insert or ignore into temp.pair_keys select s.scope_id, b.scope_id"
        f" from {scoped} cross join scope_events b on b.event_id = x.id"
        " and +b.scope = 'actor' and b.scope_id > s.scope_id where +s.scope = 'actor'",
        f"insert or ignore into temp.used select s.scope || 's', s.scope_id from {scoped}",
        "insert or ignore into temp.used select 'sources', c.source_id"
        f" from temp.{events} x cross join citations c on c.event_id = x.id",
    ]  # fmt: skip


# The sections whose records' counts and names a build derives again when their rows are
# written or go (each section's table has its name).
USED_SECTIONS = ("actors", "systems", "sources")


def start_keys(db: sqlite_utils.Database, replaced: dict[str, Iterable[str]]) -> None:
    """Create the key tables, with what the removed events counted towards and the ids of
    the records whose rows go (``replaced``: ids by section)."""
    for name, columns in KEYS.items():
        db.execute(f"create temp table {name} ({columns})")
    for section in USED_SECTIONS:
        _use(db, section, replaced.get(section, ()))
    for sql in _keys_sql("gone"):
        db.execute(sql)


def note_written(db: sqlite_utils.Database, data: Dataset) -> None:
    """Add the ids of the records written (actors, systems, sources) to those recounted."""
    for section in USED_SECTIONS:
        _use(db, section, (r.id for r in getattr(data, section)))


def _use(db: sqlite_utils.Database, section: str, ids: Iterable[str]) -> None:
    db.conn.executemany("insert or ignore into temp.used values (?, ?)",
                        ((section, i) for i in ids))  # fmt: skip


# Events per year and type: overall (scope 'all'), per actor and per system, and per
# status and date precision. The charts read these few rows instead of grouping every
# event and link row on each request (at 100,000 events the twelve busiest actors' years
# took ~0.4 s per request even with covering indexes).
EVENT_COUNTS_SQL = [
    "insert into event_counts select k.scope, k.scope_id, k.year, k.type, count(*)"
    " from temp.count_keys k cross join events e on e.year = k.year and e.type = k.type"
    " where k.scope = 'all' group by k.year, k.type",
    *(f"insert into event_counts select k.scope, k.scope_id, k.year, k.type, count(*)"
      f" from temp.count_keys k cross join events e on e.year = k.year and e.type = k.type"
      f" and e.{c} = k.scope_id where k.scope = '{c}' group by k.scope_id, k.year, k.type"
      for c in COUNTED_COLUMNS),
    "insert into event_counts select k.scope, k.scope_id, e.year, e.type, count(*)"
    " from temp.scope_keys k cross join scope_events s on s.scope = k.scope"
    " and s.scope_id = k.scope_id cross join events e on e.id = s.event_id"
    " group by k.scope, k.scope_id, e.year, e.type",
]  # fmt: skip
# For each two actors that share events: how many, and the first PAIR_EVENT_IDS of them
# by date, counted once per pair. One row per direction, so an actor's partners are an
# indexed read (the site joining event_actors with itself per request ran past the time
# limit at 100,000 events).
# Each pair is read from the events of whichever of the two has fewer (actors.event_count,
# counted before): walking the busiest actor's events once per partner took seconds at
# 10,000 events. Each such actor's events are walked once for all its pairs, each event's
# actors read from its id (an index covers them) and kept where they make a pair asked
# for: looking each event up in each partner's events made about nine lookups per shared
# event at 100,000 events.
PAIR_SIDES_TABLE = """create temp table pair_sides (fewer text, more text, actor_id text,
other_id text, primary key (fewer, more)) without rowid"""
PAIR_SIDES_SQL = """insert into temp.pair_sides (fewer, more, actor_id, other_id)
select iif(x.event_count <= y.event_count, p.actor_id, p.other_id),
    iif(x.event_count <= y.event_count, p.other_id, p.actor_id), p.actor_id, p.other_id
from temp.pair_keys p cross join actors x on x.id = p.actor_id
cross join actors y on y.id = p.other_id
order by 1, 2"""  # in the key's order: at 100,000 events 0.46 s against 0.74 s unsorted
ACTOR_PAIRS_SQL = """insert into actor_pairs (actor_id, other_id, events, event_ids)
with shared as materialized (select actor_id, other_id, count(*) as events,
        {first_ids} as event_ids
    from (select k.actor_id, k.other_id, a.event_id, row_number() over (
            partition by k.actor_id, k.other_id order by a.sort_key, a.event_id) as n
        from (select distinct fewer from temp.pair_sides) d
        cross join scope_events a on a.scope = 'actor' and a.scope_id = d.fewer
        cross join scope_events b on b.event_id = a.event_id and b.scope = 'actor'
        cross join temp.pair_sides k on k.fewer = d.fewer and k.more = b.scope_id)
    group by actor_id, other_id)
select actor_id, other_id, events, event_ids from shared
union all select other_id, actor_id, events, event_ids from shared"""


def _first_ids(count: int) -> str:
    """SQL joining the event ids numbered 1 to ``count`` (n) of a group with commas, in
    that order whatever order the group's rows come in (group_concat keeps no order)."""
    ids = [f"max(iif(n = {i}, event_id, null))" for i in range(1, count + 1)]
    return " || ".join([ids[0], *(f"coalesce(',' || {i}, '')" for i in ids[1:])])


# How many events hold each value of each list column: what the removed events held is
# taken out (before their rows go) and what the written ones hold is added, then the values
# no event holds go. From empty the same SQL counts every value; after an edit it touches
# only the edited events' values, without counting again a value most events hold (a
# country of most events took 0.14 s of a one-event rebuild at 100,000 events).
LIST_COUNTS_TAKEN_SQL = f"""update event_list_counts set count = count - g.events from (
select v.list, v.value, count(distinct v.event_id) as events from event_list_values v
where v.event_id in ({GONE}) group by v.list, v.value) g
where event_list_counts.list = g.list and event_list_counts.value = g.value"""
LIST_COUNTS_ADDED_SQL = f"""insert into event_list_counts (list, value, count)
select v.list, v.value, count(distinct v.event_id) from event_list_values v
where v.event_id in ({NEW}) group by v.list, v.value
on conflict (list, value) do update set count = count + excluded.count"""
# Each actor's and system's id, name and aliases, folded as the filters fold a reader's word.
RECORD_NAMES_SQL = """insert into record_names (kind, id, name)
select '{kind}', id, timeline_fold(id) from {table} where {where}
union select '{kind}', id, timeline_fold(name) from {table} where {where}
union select '{kind}', t.id, timeline_fold(j.value) from {table} t, json_each(t.aliases) j
where t.{where}"""
# How many events refer to each actor and each system, and how many citations quote each
# source. A source's citation that contradicts a confirmed event was contradicted by the
# record; one that contradicts a claim the record does not establish was evidence against
# the claim, and counts for the source, not against it.
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
_USED = "id in (select id from temp.used where tbl = '{table}')"


def recount(db: sqlite_utils.Database) -> None:
    """Add what the written events count towards to the keys, then count every key again:
    its rows go and the SQL writes them anew (none when nothing counts towards it)."""
    for sql in _keys_sql("new"):
        db.execute(sql)
    for table, keys, key_table, selected in (
        ("event_counts", "scope, scope_id, year, type", "count_keys", None),
        ("event_counts", "scope, scope_id", "scope_keys", None),
        ("actor_pairs", "actor_id, other_id", "pair_keys", None),
        ("actor_pairs", "actor_id, other_id", "pair_keys", "other_id, actor_id"),  # both ways
    ):
        db.execute(f"delete from {table} where ({keys})"
                   f" in (select {selected or keys} from temp.{key_table})")  # fmt: skip
    for sql in EVENT_COUNTS_SQL:
        db.execute(sql)
    for table, sql in USE_COUNTS_SQL.items():  # before the pairs, which read them
        db.execute(f"{sql} where {_USED.format(table=table)}")
    db.execute(PAIR_SIDES_TABLE)
    db.execute(PAIR_SIDES_SQL)
    db.execute(ACTOR_PAIRS_SQL.format(first_ids=_first_ids(PAIR_EVENT_IDS)))
    db.execute(LIST_COUNTS_ADDED_SQL)
    db.execute("delete from event_list_counts where count = 0")
    register_functions(db.conn)
    for kind, table in (("actor", "actors"), ("system", "systems")):
        used = _USED.format(table=table)
        db.execute(f"delete from record_names where kind = '{kind}' and {used}")
        with held_stops():  # a Ctrl-C inside timeline_fold would become an SQLite error
            db.execute(RECORD_NAMES_SQL.format(kind=kind, table=table, where=used))
