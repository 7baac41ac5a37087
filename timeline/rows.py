"""Write rows: the tables the declarations describe, and each record's rows in them.

A record's rows are what its own YAML says (with the names and dates it refers to
resolved): the sources, actors, systems and events tables and the events' link tables.
What is counted over many records (``timeline.derive``) is not written here.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING

from . import schema
from .dates import ParsedDate
from .model import repeats_a_quote
from .store import insert

if TYPE_CHECKING:
    import sqlite_utils

    from .model import Dataset, Event

PYTHON_TYPES = {"text": str, "integer": int, "real": float}
# The temporary tables of the event ids a build removes and writes (see ``mark``).
GONE = "select id from temp.gone"
NEW = "select id from temp.new"


def create_tables(db: sqlite_utils.Database) -> None:
    """Every table of the records, from the declarations in ``schema``, and the build's own."""
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
    ((_, columns),) = schema.HISTORY_TABLES.values()
    db["edit_history"].create(
        {c.name: PYTHON_TYPES[c.type] for c in columns}, pk="event_id",
        not_null={c.name for c in columns if c.not_null},
    )  # fmt: skip
    db["yaml_spans"].create({"part": str, "value": bytes}, pk="part")


def mark(db: sqlite_utils.Database, removed: Iterable[str]) -> None:
    """The ids of the events a build takes out, and (empty, filled by ``mark_new``) of
    those it writes, as temporary tables (``GONE``, ``NEW``) that the later stages select by."""
    for name, ids in (("gone", set(removed)), ("new", set())):
        db.execute(f"create temp table {name} (id text primary key)")
        db.conn.executemany(f"insert into temp.{name} values (?)", ((i,) for i in sorted(ids)))


def mark_new(db: sqlite_utils.Database, events: list[Event]) -> None:
    """Add the ids of events a build writes to ``NEW``."""
    db.conn.executemany("insert into temp.new values (?)", ((e.id,) for e in events))


def forget(db: sqlite_utils.Database, replaced: dict[str, Iterable[str]]) -> None:
    """Delete the removed events (``GONE``) and their link rows, and the rows of the other
    records ``replaced`` (ids by section)."""
    for table in schema.LINK_TABLES:
        db.execute(f"delete from [{table}] where event_id in ({GONE})")
    db.execute(f"delete from events where id in ({GONE})")
    for section, ids in replaced.items():
        table = schema.SECTION_TABLE[section]
        db.execute(f"delete from [{table}] where id in (select value from json_each(?))",
                   [json.dumps(sorted(ids))])  # fmt: skip


def write(db: sqlite_utils.Database, data: Dataset) -> None:
    """Insert the records' rows: those of each section the data holds, then the events'
    (whose names of actors and systems are read from the rows, written now or before)."""
    by_id = {section: sorted(getattr(data, section), key=lambda r: r.id)
             for section in ("sources", "actors", "systems")}  # fmt: skip
    _insert(db, "sources", (
        _row("sources", s, _published_columns(s.published)
             | dict.fromkeys(("citation_count", "contradicted_count", "against_claim_count")))
        for s in by_id["sources"]
    ))  # fmt: skip
    uses = {"event_count": None}  # counted by ``timeline.derive`` once the events are there
    _insert(db, "actors", (_row("actors", a, uses) for a in by_id["actors"]))
    makers = _read_names(db, "actors", {x.maker for x in by_id["systems"]})
    _insert(db, "systems", (
        _row("systems", x, uses | {"maker_name": makers.get(x.maker)}) for x in by_id["systems"]
    ))  # fmt: skip
    events = sorted(data.events, key=lambda e: (e.date.sort_key, e.id))
    names, kinds = _names(db, events)
    _insert(db, "events", (_row("events", e, _event_derived(e, names, kinds)) for e in events))
    for table in schema.LINK_TABLES:
        _insert(db, table, link_rows(table, events))


def _insert(db: sqlite_utils.Database, table: str, rows: Iterable[list]) -> None:
    """Insert a declared table's rows, each a list of its values in the order of the
    declared columns (the order ``_row`` and ``link_rows`` build them in)."""
    insert(db, table, [c.name for c in schema.declared_columns(table)], rows)


def _read_names(db: sqlite_utils.Database, table: str, ids: set) -> dict[str, str]:
    """The names of the ``table`` rows with these ids (bound as one JSON array)."""
    listed = json.dumps(sorted(i for i in ids if i))
    sql = f"select id, name from [{table}] where id in (select value from json_each(?))"
    return dict(db.execute(sql, [listed]).fetchall())


def _names(db: sqlite_utils.Database, events: list[Event]):
    """The names of the actors and systems the events name, and the systems' kinds."""
    actors = _read_names(db, "actors", {a.actor for e in events for a in e.actors})
    system_ids = json.dumps(sorted({x.system for e in events for x in e.systems}))
    systems = db.execute(
        "select id, name, kind from systems where id in (select value from json_each(?))",
        [system_ids],
    ).fetchall()
    names = {"actors": actors, "systems": {i: name for i, name, _ in systems}}
    return names, {i: kind for i, _, kind in systems}


def _stored(value: object, fld: schema.Field) -> object:
    """A declared field's value as stored: canonical dates, lists as JSON arrays."""
    if isinstance(value, ParsedDate):
        return value.canonical
    if isinstance(value, tuple):
        items = sorted(value) if fld.facet == "array" else list(value)
        return json.dumps(items, ensure_ascii=False)
    return value


def _row(table: str, record: object, derived: dict[str, object]) -> list:
    """One row of a section's table, in column order: declared fields from the record,
    the rest derived."""
    return [
        derived[name] if name in derived else _stored(getattr(record, name), fld)
        for name, fld in _row_plan(table)
    ]


@functools.cache
def _row_plan(table: str) -> tuple[tuple[str, schema.Field | None], ...]:
    """Each column of a section's table, with its field (None: a derived column)."""
    fields = schema.RECORDS[schema.TABLE_RECORD[table]]
    return tuple((c.name, fields.get(c.name)) for c in schema.table_columns(table))


def _published_columns(d: ParsedDate) -> dict[str, object]:
    return {
        "published_label": d.label,
        "published_start": d.start.isoformat(),
        "published_precision": d.precision,
    }


def _event_derived(
    event: Event, names: dict[str, dict[str, str]], kinds: dict[str, str]
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
        "actors": _joined(names["actors"], (a.actor for a in event.actors)),
        "systems": _joined(names["systems"], (x.system for x in event.systems)),
        "system_kinds": json.dumps(sorted({kinds[x.system] for x in event.systems})),
        "location": loc.name if loc else None,
        "latitude": loc.latitude if loc else None,
        "longitude": loc.longitude if loc else None,
        "citation_count": len(event.citations),
        "source_count": len({c.source for c in event.citations}),
        "summary_repeats_quote": int(
            repeats_a_quote(event.summary, (c.quote for c in event.citations))
        ),
        "quotes": "\n".join(
            c.quote + (f"\n{c.translation}" if c.translation else "") for c in event.citations
        ),
        # from the edit history's rows, by ``timeline.derive``
        "first_added": None,
        "last_changed": None,
    }


def _joined(names: dict[str, str], ids) -> str:
    return json.dumps(sorted({names[i] for i in ids}), ensure_ascii=False)


# Defaults of an event's system entry, from the event's actors and their roles.
_ENTRY_DEFAULTS = {
    "supplier": ("supplier", "manufacturer"),
    "recipient": ("buyer", "recipient"),
}


def link_rows(table: str, events: Iterable[Event]):
    """Rows of a link table, from the entries of each event (see ``schema.LINK_TABLES``),
    each in the order of ``schema.link_columns``."""
    link = schema.LINK_TABLES[table]
    plan = _link_plan(table)
    for event in events:
        for position, entry in enumerate(getattr(event, link.field), start=1):
            row: list[object] = [event.id]
            if link.positioned:
                row = [f"{event.id}/{position}", event.id, position]
            for name, fld, roles in plan:
                value = getattr(entry, name)
                if value is None and roles:
                    value = event.actor_with_role(*roles)
                row.append(_stored(value, fld))
                if fld.type == "date":
                    row.append(value.label if value else None)
            yield row


@functools.cache
def _link_plan(table: str) -> tuple[tuple[str, schema.Field, tuple[str, ...]], ...]:
    """Each field of a link table's record: its name, its declaration, and the roles of
    the event's actor that stand for it when it is not given."""
    link = schema.LINK_TABLES[table]
    defaults = _ENTRY_DEFAULTS if link.record == "event_system" else {}
    return tuple((name, fld, defaults.get(name, ()))
                 for name, fld in schema.RECORDS[link.record].items())  # fmt: skip
