"""Compile a validated Dataset into SQLite with sqlite-utils.

The build is atomic (written to a temporary file next to the target, then
renamed over it), deterministic (same YAML → same rows) and incremental (the
input hash is stored in ``build_info``; an unchanged input is not rebuilt).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils
from filelock import Timeout

from . import __version__
from .files import WriteRefused, check_output, lock_for
from .load import paused_gc
from .model import Dataset, Event
from .provenance import History, event_history, last_commit
from .validate import Problem, Result, validate_bytes

SCHEMA_VERSION = "1"
DATABASE_NAME = "timeline"  # the database's name in Datasette: its file name's stem
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
}

FACET_INDEXES = (
    ["type"],
    ["status"],
    ["year"],
    ["year", "month"],
    ["precision"],
    ["sort_key"],
    ["date_start"],
    ["date_end"],
    ["first_added"],
)


@dataclass(frozen=True)
class BuildResult:
    db_path: Path
    skipped: bool
    counts: dict[str, int]


def input_hash(yaml_bytes: bytes, commit: str = "") -> str:
    """What determines the database: the YAML, its last commit (for the edit history),
    the tool version and the schema version."""
    digest = hashlib.sha256(yaml_bytes)
    digest.update(f"\0{commit}\0{__version__}\0{SCHEMA_VERSION}".encode())
    return digest.hexdigest()


def stored_build_info(db_path: Path) -> dict[str, str]:
    """The build_info of an existing database ({} when there is no usable database)."""
    if not db_path.exists():
        return {}
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            return dict(conn.execute("select key, value from build_info").fetchall())
        finally:
            conn.close()
    except sqlite3.Error:
        return {}


def _event_row(event: Event, names: dict[str, str], history: History | None) -> dict:
    d = event.date
    loc = event.location
    return {
        "id": event.id,
        "date": d.canonical,
        "date_label": d.label,
        "date_start": d.start.isoformat(),
        "date_end": d.end.isoformat(),
        "precision": d.precision,
        "approximate": int(d.approximate),
        "uncertain": int(d.uncertain),
        "year": d.year,
        "month": d.month,
        "sort_key": d.sort_key,
        "title": event.title,
        "summary": event.summary,
        "type": event.type,
        "status": event.status,
        "actors": json.dumps(sorted({names[a.actor] for a in event.actors}), ensure_ascii=False),
        "countries": json.dumps(sorted(event.countries)),
        "tags": json.dumps(sorted(event.tags)),
        "location": loc.name if loc else None,
        "latitude": loc.latitude if loc else None,
        "longitude": loc.longitude if loc else None,
        "citation_count": len(event.citations),
        "source_count": len({c.source for c in event.citations}),
        "quotes": "\n".join(c.quote for c in event.citations),
        "notes": event.notes,
        "first_added": history.first_added if history else None,
        "last_changed": history.last_changed if history else None,
    }


def _create_tables(db: sqlite_utils.Database) -> None:
    db["sources"].create(
        {
            "id": str,
            "title": str,
            "publisher": str,
            "author": str,
            "url": str,
            "published": str,
            "published_label": str,
            "published_start": str,
            "published_precision": str,
            "kind": str,
            "language": str,
            "seed": str,
            "notes": str,
        },
        pk="id",
        not_null={"title", "publisher", "published", "kind", "language"},
    )
    db["actors"].create(
        {
            "id": str,
            "name": str,
            "kind": str,
            "country": str,
            "aliases": str,
            "wikidata": str,
            "event_count": int,
            "notes": str,
        },
        pk="id",
        not_null={"name", "kind"},
    )
    db["events"].create(
        {
            "id": str,
            "date": str,
            "date_label": str,
            "date_start": str,
            "date_end": str,
            "precision": str,
            "approximate": int,
            "uncertain": int,
            "year": int,
            "month": int,
            "sort_key": str,
            "title": str,
            "summary": str,
            "type": str,
            "status": str,
            "actors": str,
            "countries": str,
            "tags": str,
            "location": str,
            "latitude": float,
            "longitude": float,
            "citation_count": int,
            "source_count": int,
            "quotes": str,
            "notes": str,
            "first_added": str,
            "last_changed": str,
        },
        pk="id",
        not_null={
            "date",
            "date_start",
            "date_end",
            "precision",
            "year",
            "sort_key",
            "title",
            "summary",
            "type",
            "status",
        },
    )
    db["event_actors"].create(
        {"event_id": str, "actor_id": str, "role": str},
        pk=("event_id", "actor_id", "role"),
        foreign_keys=[("event_id", "events", "id"), ("actor_id", "actors", "id")],
    )
    db["citations"].create(
        {
            "id": str,
            "event_id": str,
            "position": int,
            "source_id": str,
            "quote": str,
            "stance": str,
            "note": str,
        },
        pk="id",
        foreign_keys=[("event_id", "events", "id"), ("source_id", "sources", "id")],
        not_null={"event_id", "source_id", "quote", "stance"},
    )
    db["event_relations"].create(
        {"event_id": str, "related_id": str, "relation": str},
        pk=("event_id", "related_id", "relation"),
        foreign_keys=[("event_id", "events", "id"), ("related_id", "events", "id")],
    )
    db["build_info"].create({"key": str, "value": str}, pk="key")


def _insert_rows(
    db: sqlite_utils.Database, data: Dataset, history: dict[str, History]
) -> dict[str, int]:
    names = {a.id: a.name for a in data.actors}
    events = sorted(data.events, key=lambda e: (e.date.sort_key, e.id))
    used = {}
    for e in events:
        for a in e.actors:
            used.setdefault(a.actor, set()).add(e.id)
    db["sources"].insert_all(
        {
            "id": s.id,
            "title": s.title,
            "publisher": s.publisher,
            "author": s.author,
            "url": s.url,
            "published": s.published.canonical,
            "published_label": s.published.label,
            "published_start": s.published.start.isoformat(),
            "published_precision": s.published.precision,
            "kind": s.kind,
            "language": s.language,
            "seed": s.seed,
            "notes": s.notes,
        }
        for s in sorted(data.sources, key=lambda s: s.id)
    )
    db["actors"].insert_all(
        {
            "id": a.id,
            "name": a.name,
            "kind": a.kind,
            "country": a.country,
            "aliases": json.dumps(list(a.aliases), ensure_ascii=False),
            "wikidata": a.wikidata,
            "event_count": len(used.get(a.id, ())),
            "notes": a.notes,
        }
        for a in sorted(data.actors, key=lambda a: a.id)
    )
    db["events"].insert_all(_event_row(e, names, history.get(e.id)) for e in events)
    db["event_actors"].insert_all(
        {"event_id": e.id, "actor_id": a.actor, "role": a.role} for e in events for a in e.actors
    )
    db["citations"].insert_all(
        {
            "id": f"{e.id}/{i}",
            "event_id": e.id,
            "position": i,
            "source_id": c.source,
            "quote": c.quote,
            "stance": c.stance,
            "note": c.note,
        }
        for e in events
        for i, c in enumerate(e.citations, start=1)
    )
    db["event_relations"].insert_all(
        {"event_id": e.id, "related_id": r.event, "relation": r.type}
        for e in events
        for r in e.related
    )
    return {
        name: db[name].count
        for name in ("events", "actors", "sources", "citations", "event_actors", "event_relations")
    }


def _index_and_search(db: sqlite_utils.Database) -> None:
    for columns in FACET_INDEXES:
        db["events"].create_index(columns)
    db["event_actors"].create_index(["actor_id", "role"])
    db["event_actors"].create_index(["role"])
    db["citations"].create_index(["event_id", "position"])
    db["citations"].create_index(["source_id"])
    db["citations"].create_index(["stance"])
    db["event_relations"].create_index(["related_id"])
    db["actors"].create_index(["kind"])
    db["actors"].create_index(["country"])
    db["sources"].create_index(["kind"])
    db["events"].enable_fts(
        ["title", "summary", "notes", "quotes"], tokenize="porter", create_triggers=False
    )
    db["citations"].enable_fts(["quote", "note"], tokenize="porter", create_triggers=False)
    for name, sql in VIEWS.items():
        db.create_view(name, sql.strip())


def write_database(
    data: Dataset, db_path: Path, digest: str, history: dict[str, History] | None = None
) -> dict[str, int]:
    """Write ``data`` to ``db_path`` atomically; returns row counts.

    Example::

        counts = write_database(dataset, Path("timeline.db"), input_hash(raw))
    """
    db_path = Path(db_path)
    with _temporary_sibling(db_path) as tmp:
        db = sqlite_utils.Database(tmp)
        try:
            db.execute("pragma foreign_keys = on")
            # One transaction: sqlite-utils would otherwise commit every batch.
            with db.atomic():
                _create_tables(db)
                counts = _insert_rows(db, data, history or {})
                _index_and_search(db)
                info = {
                    "input_sha256": digest,
                    "tool_version": __version__,
                    "schema_version": SCHEMA_VERSION,
                } | {f"count_{k}": str(v) for k, v in counts.items()}
                db["build_info"].insert_all({"key": k, "value": v} for k, v in sorted(info.items()))
            violations = db.execute("pragma foreign_key_check").fetchall()
            if violations:
                raise RuntimeError(f"foreign key violations: {violations[:5]}")
            db.execute("vacuum")
        finally:
            db.close()
        os.replace(tmp, db_path)
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
def _temporary_sibling(target: Path) -> Iterator[Path]:
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
    digest = input_hash(raw, last_commit(yaml_path))
    info = {} if force else stored_build_info(db_path)
    if info.get("input_sha256") == digest:
        counts = {
            k.removeprefix("count_"): int(v) for k, v in info.items() if k.startswith("count_")
        }
        return BuildResult(db_path, True, counts)
    result = validate_bytes(raw, yaml_path)
    if not result.ok:
        raise InvalidInput(result)
    history = event_history(yaml_path)
    with paused_gc():
        counts = write_database(result.dataset, db_path, digest, history)
    return BuildResult(db_path, False, counts)
