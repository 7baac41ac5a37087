"""Read the built database back as nested records, optionally filtered.

Every export format (``timeline.formats``) starts from :func:`export_events`:
one dict per event, in chronological order, with its actors, systems,
citations and relations. The filters are the site's (:mod:`timeline.filters`):
an event is kept when the span of days its date covers overlaps the range, so
"2019" is kept by ``since=2019-06``; an actor is named by its id, name or alias.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from . import filters, schema

# The flat columns of an exported event: the declarations say which (``export=True``).
EVENT_COLUMNS = tuple(c.name for c in schema.table_columns("events") if c.export)
JSON_ARRAYS = {c.name for c in schema.table_columns("events") if c.facet == "array"}


@dataclass(frozen=True)
class Filters:
    """Which events to export: the site's filters (``timeline.filters``) under the
    command's option names, and one event by id; every filter left as None keeps
    everything."""

    since: str | None = None
    until: str | None = None
    actor: str | None = None
    type: str | None = None
    tag: str | None = None
    status: str | None = None
    system: str | None = None
    id: str | None = None
    country: str | None = None
    place: str | None = None
    source: str | None = None

    @classmethod
    def from_values(cls, values: dict[str, str]) -> Filters:
        """The filters a query string names (``timeline.filters.chosen``)."""
        given = {name: value or None for name, value in values.items()}
        return cls(since=given.pop("from", None), until=given.pop("to", None), **given)

    def values(self) -> dict[str, str]:
        """The filters as the site's query string names them."""
        named = {"from": self.since, "to": self.until} | {
            name: getattr(self, name) for name in filters.NAMES if name not in ("from", "to")
        }
        return {name: value or "" for name, value in named.items()}

    def where(self) -> tuple[str, dict[str, object]]:
        """SQL conditions on ``events e`` and their parameters (ValueError naming every
        value no event could have)."""
        values = self.values()
        wrong = filters.problems(values, called={"from": "--since", "to": "--until"})
        if wrong:
            raise ValueError("; ".join(wrong))
        clause, params = filters.where(values), dict(filters.parameters(values))
        if self.id:
            clause = f"{clause} and e.id = :id"
            params["id"] = self.id
        return clause, params


def names_nothing(conn: sqlite3.Connection, chosen: Filters) -> list[str]:
    """What is wrong with each filter whose value names no actor, system or source in the
    database (``timeline.filters.naming_query``): it would keep no event."""
    filters.register_functions(conn)
    values = chosen.values()
    query = filters.naming_query(values)
    return filters.nameless(values, _cursor(conn).execute(*query).fetchone() if query else None)


def connect(db_path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    filters.register_functions(conn)
    return conn


def _cursor(conn: sqlite3.Connection) -> sqlite3.Cursor:
    """A cursor with named rows, leaving the connection's own row factory alone (the
    site's connections belong to Datasette)."""
    cursor = conn.cursor()
    cursor.row_factory = sqlite3.Row
    return cursor


def _grouped(
    conn: sqlite3.Connection, sql: str, where: str, params: dict[str, object]
) -> dict[str, list[dict]]:
    """A child table's rows for the kept events, by event id. The filter is applied in
    SQL, so one event's record reads only its own rows."""
    grouped: dict[str, list[dict]] = {}
    for row in _cursor(conn).execute(
        sql.format(kept=f"select e.id from events e where {where}"), params
    ):
        item = dict(row)
        grouped.setdefault(item.pop("event_id"), []).append(item)
    return grouped


def entry_fields(table: str, alias: str, skip: tuple[str, ...] = ()) -> str:
    """Every declared field of a link table's entries, as a column under the field's own
    name (``es.system_id as [system]``): a field declared in ``timeline.schema`` reaches
    the nested export, and the event's JSON, without being listed here."""
    link = schema.LINK_TABLES[table]
    return ", ".join(f"{alias}.[{schema.column_name(table, name)}] as [{name}]"
                     for name in schema.RECORDS[link.record] if name not in skip)  # fmt: skip


# Each entry of an event with the names of what it refers to (an actor's id and name,
# a source's title, a system's name) beside its own fields.
ACTORS_SQL = f"""select ea.event_id, a.id, a.name, {entry_fields("event_actors", "ea", ("actor",))}
    from event_actors ea join actors a on a.id = ea.actor_id where ea.event_id in ({{kept}})
    order by ea.event_id, a.name, ea.role"""
CITATIONS_SQL = f"""select c.event_id, {entry_fields("citations", "c")}, s.title as source_title,
    s.publisher, s.url, s.published_label
    from citations c join sources s on s.id = c.source_id where c.event_id in ({{kept}})
    order by c.event_id, c.position"""
RELATED_SQL = f"""select r.event_id, {entry_fields("event_relations", "r")}
    from event_relations r where r.event_id in ({{kept}}) order by r.event_id, r.related_id"""
SYSTEMS_SQL = f"""select es.event_id, {entry_fields("event_systems", "es")}, sy.name
    from event_systems es join systems sy on sy.id = es.system_id
    where es.event_id in ({{kept}}) order by es.event_id, es.position"""


def export_events(db_path: Path, filters: Filters | None = None) -> list[dict]:
    """The (filtered) events in chronological order, with their actors, systems, citations
    and relations.

    Example::

        events = export_events(Path("record.db"), Filters(actor="baykar", since="2021"))
        events[0]["citations"][0]["quote"]
    """
    conn = connect(db_path)
    try:
        return nested_events(conn, filters)
    finally:
        conn.close()


def nested_events(conn: sqlite3.Connection, filters: Filters | None = None) -> list[dict]:
    """:func:`export_events` on an open connection (the site's event JSON uses it).

    Example::

        nested_events(conn, Filters(id="montreux"))[0]["actors"]
    """
    where, params = (filters or Filters()).where()
    rows = (
        _cursor(conn)
        .execute(
            f"select {', '.join(EVENT_COLUMNS)} from events e where {where}"
            " order by e.sort_key, e.id",
            params,
        )
        .fetchall()
    )
    parts = {
        name: _grouped(conn, sql, where, params)
        for name, sql in (
            ("actors", ACTORS_SQL),
            ("systems", SYSTEMS_SQL),
            ("citations", CITATIONS_SQL),
            ("related", RELATED_SQL),
        )
    }
    out = []
    for row in rows:
        event = dict(row)
        event["approximate"], event["uncertain"] = bool(row["approximate"]), bool(row["uncertain"])
        for name in JSON_ARRAYS & set(event):
            event[name] = json.loads(row[name])
        for name, grouped in parts.items():
            event[name] = grouped.get(row["id"], [])
        out.append(event)
    return out


def event_ids(db_path: Path, filters: Filters | None = None) -> set[str]:
    """Ids of the events the filters keep (without reading their entries)."""
    where, params = (filters or Filters()).where()
    conn = connect(db_path)
    try:
        return {row[0] for row in conn.execute(f"select e.id from events e where {where}", params)}
    finally:
        conn.close()


def table_rows(db_path: Path, table: str, event_ids: set[str] | None = None) -> list[dict]:
    """Every row of a table or view (of the given events only, when it has ``event_id``)."""
    conn = connect(db_path)
    try:
        rows = [dict(r) for r in conn.execute(f"select * from [{table}]")]
    finally:
        conn.close()
    if event_ids is not None and rows and "event_id" in rows[0]:
        rows = [r for r in rows if r["event_id"] in event_ids]
    return rows
