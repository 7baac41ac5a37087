"""Export the built database as nested JSON (one object per event) or flat CSV."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from . import schema

# The flat columns of an exported event: the declarations say which (``export=True``).
EVENT_COLUMNS = tuple(c.name for c in schema.table_columns("events") if c.export)
JSON_ARRAYS = {c.name for c in schema.table_columns("events") if c.facet == "array"}


def _rows(conn: sqlite3.Connection, sql: str) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for row in conn.execute(sql):
        item = dict(row)
        grouped.setdefault(item.pop("event_id"), []).append(item)
    return grouped


def export_events(db_path: Path) -> list[dict]:
    """Every event in chronological order, with its actors, citations and relations.

    Example::

        events = export_events(Path("timeline.db"))
        events[0]["citations"][0]["quote"]
    """
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        actors = _rows(
            conn,
            """select ea.event_id, a.id, a.name, ea.role from event_actors ea
            join actors a on a.id = ea.actor_id order by ea.event_id, a.name, ea.role""",
        )
        citations = _rows(
            conn,
            """select c.event_id, c.source_id as source, s.title as
            source_title, s.publisher, s.url, c.quote, c.stance, c.note from citations c
            join sources s on s.id = c.source_id order by c.event_id, c.position""",
        )
        related = _rows(
            conn,
            """select event_id, related_id as event, relation as type
            from event_relations order by event_id, related_id""",
        )
        systems = _rows(
            conn,
            """select es.event_id, es.system_id as system, sy.name, es.action, es.quantity,
            es.quantity_qualifier, es.value, es.currency, es.deal, es.supplier_id as supplier,
            es.recipient_id as recipient, es.source_id as source, es.note from event_systems es
            join systems sy on sy.id = es.system_id order by es.event_id, es.position""",
        )
        events = conn.execute(
            f"select {', '.join(EVENT_COLUMNS)} from events order by sort_key, id"
        ).fetchall()
    finally:
        conn.close()
    out = []
    for row in events:
        event = dict(row)
        event["approximate"], event["uncertain"] = bool(row["approximate"]), bool(row["uncertain"])
        for name in JSON_ARRAYS & set(event):
            event[name] = json.loads(row[name])
        event["actors"] = actors.get(row["id"], [])
        event["systems"] = systems.get(row["id"], [])
        event["citations"] = citations.get(row["id"], [])
        event["related"] = related.get(row["id"], [])
        out.append(event)
    return out
