"""Export the built database as nested JSON (one object per event) or flat CSV."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

EVENT_COLUMNS = (
    "id", "date", "date_label", "date_start", "date_end", "precision", "approximate",
    "uncertain", "title", "summary", "type", "status", "countries", "tags", "location",
    "latitude", "longitude", "notes", "first_added", "last_changed",
)  # fmt: skip


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
        events = conn.execute(
            f"select {', '.join(EVENT_COLUMNS)} from events order by sort_key, id"
        ).fetchall()
    finally:
        conn.close()
    out = []
    for row in events:
        event = dict(row)
        event["approximate"], event["uncertain"] = bool(row["approximate"]), bool(row["uncertain"])
        event["countries"], event["tags"] = json.loads(row["countries"]), json.loads(row["tags"])
        event["actors"] = actors.get(row["id"], [])
        event["citations"] = citations.get(row["id"], [])
        event["related"] = related.get(row["id"], [])
        out.append(event)
    return out
