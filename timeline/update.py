"""Rebuild after an edit by rewriting only the events that changed.

When the last build's database is there and was built by the same tool and schema, from
the same commit or from one whose later commits all hold exactly the bytes being built,
and the file differs from what it was built from only inside the events list, the
changed stretches alone are re-parsed and checked (against the other records, read from
the database; see ``timeline.spans``), and their events' rows are replaced in a copy of
the database: the event, its links, citations, list values and full-text entries, then
the counts that include it (per year and type, per pair of actors, per list value, per
actor, system and source). The edit history moves with such commits: the spans keep
each event's fingerprint, so the events whose dates change are known without parsing a
version. The copy replaces the database as a full build's file does, so a reader sees
the old database or the new one, and a failure leaves the old one.

Anything else (a change to sources, actors or systems, the header, a commit of another
version, an error in the changed events) returns None: the caller builds in full, which
reports errors with their positions in the whole file. The result has the same rows as a
full build (``tests/test_update.py`` compares them after random edits); only the
physical file differs, so ``timeline publish`` always builds in full.

Example::

    updated = update_database(Path("events.yaml"), raw, db_path, info, digest, commit)
    if updated is None:
        ...  # build in full
"""

from __future__ import annotations

import itertools
import json
import shutil
import sqlite3
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import sqlite_utils

from . import __version__, build
from .build import read_only
from .catalog import stored_spans, unchanged_from
from .files import replace_durably
from .load import paused_gc
from .provenance import History, OtherVersion, Tracked, event_history
from .spans import Spans, changed_events
from .validate import validate_changed_events

if TYPE_CHECKING:
    from .model import Event


@dataclass(frozen=True)
class Updated:
    counts: dict[str, int]
    events: int  # how many events were read and written again


def update_database(
    yaml_path: Path, raw: bytes, db_path: Path, info: dict[str, str], digest: str, commit: str
) -> Updated | None:
    """Bring ``db_path`` up to date with ``raw`` by rewriting the changed events only;
    None when that is not possible (the caller then builds in full)."""
    if (info.get("schema_version"), info.get("tool_version")) != (
        build.schema_fingerprint(),
        __version__,
    ):
        return None
    with paused_gc(), read_only(db_path) as conn:
        spans = stored_spans(conn)
        if spans is None or (info.get("input_commit") != commit and not spans.prints):
            return None
        changes = changed_events(spans, raw, yaml_path)
        if changes is None:
            return None
        removed = changes.removed(spans)
        items = changes.reparsed.items
        added = [item.get("id") for item in items if isinstance(item, dict)]
        if len(spans.ids) - len(removed) + len(items) == 0:
            return None  # a file without events keeps no spans
        unchanged = unchanged_from(conn, removed, added)
        result = validate_changed_events(changes.reparsed.doc, unchanged)
        if not result.ok:
            return None
        new_spans = changes.spliced(spans)
    moved = _moved_history(yaml_path, raw, db_path, info, commit, (spans, new_spans))
    if moved is None:
        return None
    try:
        counts = _rewrite(db_path, removed, result.dataset.events, new_spans, digest, moved)
    except sqlite3.DatabaseError:
        # e.g. a removed event that another one relates to (the full build says so), or a
        # database this code cannot update (a full build writes a new one)
        return None
    return Updated(counts, len(added))


@dataclass(frozen=True)
class _History:
    """How the edit history moved since the last build: the events whose dates changed,
    and the commits now read; nothing when the file's last commit is the same."""

    changed: dict[str, Tracked]
    commit: str | None = None  # the last commit read (None: as before)
    input_commit: str | None = None


def _moved_history(
    yaml_path: Path,
    raw: bytes,
    db_path: Path,
    info: dict[str, str],
    commit: str,
    spans: tuple[Spans, Spans],
) -> _History | None:
    """The edit history after the commits since the last build, when each of them holds
    the bytes being built or the bytes built last (their fingerprints are then those of
    the new or the old spans); None when one holds another version, which only a full
    build parses."""
    if info.get("input_commit") == commit:
        return _History({})
    previous = build.stored_progress(db_path, info)
    if previous is None:
        return None
    old, new = spans[0].fingerprints(), spans[1].fingerprints()

    def last_built(blob: bytes) -> dict[str, str] | None:
        built = build.input_hash(blob, info.get("input_commit", "")) == info.get("input_sha256")
        return old if built else None

    try:
        _, progress = event_history(
            yaml_path, previous, (raw, lambda: new), only_current=True, other=last_built
        )
    except OtherVersion:
        return None
    changed = {i: t for i, t in progress.events.items() if previous.events.get(i) != t}
    return _History(changed, progress.commit, commit)


# -- the rewrite -----------------------------------------------------------------------------


def _rewrite(
    db_path: Path,
    removed: tuple[str, ...],
    events: list[Event],
    spans: Spans,
    digest: str,
    moved: _History,
) -> dict[str, int]:
    with build.temporary_sibling(db_path) as tmp:
        shutil.copyfile(db_path, tmp)
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            db = sqlite_utils.Database(conn)
            for pragma in build.BUILD_PRAGMAS:
                conn.execute(f"pragma {pragma}")
            conn.execute("begin")
            # An event edited in place is deleted before it is written again, while other
            # events still relate to it: the references are checked at the commit.
            conn.execute("pragma defer_foreign_keys = on")
            _move_history(db, moved)
            counts = _replace_events(db, removed, events, spans, digest)
            _date_moved_events(db, moved, {e.id for e in events})
            conn.execute("commit")
        finally:
            conn.close()
        replace_durably(tmp, db_path)
    return counts


def _move_history(db: sqlite_utils.Database, moved: _History) -> None:
    """The edit history's rows for the events whose dates changed, and the commits read."""
    build.write_history(db, moved.changed)
    for key, value in (("history_commit", moved.commit), ("input_commit", moved.input_commit)):
        if value is not None:
            db.execute("update build_info set value = ? where key = ?", [value, key])


def _date_moved_events(db: sqlite_utils.Database, moved: _History, written: set[str]) -> None:
    """First added and last changed of the events the history moved and the update did
    not write again (those it wrote read the edit history already)."""
    db.conn.executemany(
        "update events set first_added = ?, last_changed = ? where id = ?",
        [(t.first_added, t.last_changed, i)
         for i, t in sorted(moved.changed.items()) if i not in written],
    )  # fmt: skip


def _in_temp(db: sqlite_utils.Database, name: str, columns: str, rows: Iterable) -> str:
    """A temporary table of ``rows``; returns the SQL that selects them."""
    db.execute(f"create temp table {name} ({columns})")
    width = columns.count(",") + 1
    db.conn.executemany(f"insert into temp.{name} values ({', '.join('?' * width)})", rows)
    return f"select * from temp.{name}"


def _replace_events(
    db: sqlite_utils.Database,
    removed: tuple[str, ...],
    events: list[Event],
    spans: Spans,
    digest: str,
) -> dict[str, int]:
    gone = _in_temp(db, "gone", "id text primary key", ((i,) for i in set(removed)))
    new = _in_temp(db, "new", "id text primary key", ((e.id,) for e in events))
    before = _uses(db, gone)
    _forget(db, gone)
    _write_events(db, events, new)
    after = _uses(db, new)
    _recount(db, before, after)
    counts = {name: db[name].count for name in build.COUNTED_TABLES}
    info = {"input_sha256": digest} | {f"count_{k}": str(v) for k, v in counts.items()}
    db.conn.executemany("update build_info set value = ? where key = ?",
                        [(v, k) for k, v in info.items()])  # fmt: skip
    build.store_spans(db, spans)
    return counts


@dataclass
class _Uses:
    """What a set of events counts towards: read before they go, or after they come."""

    counts: Counter  # event_counts keys
    actor_sets: list[list[str]]  # each event's distinct actors
    scoped: dict[str, set[str]]  # actor and system ids
    sources: set[str]
    list_values: Counter  # (list, value): how many of the events hold it


def _uses(db: sqlite_utils.Database, ids_sql: str) -> _Uses:
    scoped: dict[str, dict[str, list[str]]] = {}
    for event_id, scope, scope_id in db.execute(
        "select event_id, scope, scope_id from scope_events"
        f" where event_id in ({ids_sql}) order by event_id, scope, scope_id"
    ):
        scoped.setdefault(event_id, {"actor": [], "system": []})[scope].append(scope_id)
    counted = ", ".join(build.COUNTED_COLUMNS)
    facts = [
        (year, kind, build.count_scopes(scoped.get(event_id, {"actor": [], "system": []}),
                                        dict(zip(build.COUNTED_COLUMNS, values, strict=True))))
        for event_id, year, kind, *values in db.execute(
            f"select id, year, type, {counted} from events where id in ({ids_sql})"
        )
    ]  # fmt: skip
    return _Uses(
        build.event_counts(facts),
        [s["actor"] for _, _, s in facts],
        {scope: {i for _, _, s in facts for i in s[scope]} for scope in ("actor", "system")},
        {row[0] for row in db.execute(
            f"select distinct source_id from citations where event_id in ({ids_sql})")},
        Counter({(list_, value): n for list_, value, n in db.execute(
            build.LIST_VALUE_COUNTS_SQL.format(where=f" where event_id in ({ids_sql})"))}),
    )  # fmt: skip


def _forget(db: sqlite_utils.Database, gone: str) -> None:
    """Delete the removed events, their full-text entries and every row that hangs on them."""
    _index_text(db, gone, delete=True)
    for table in ("event_list_values", "scope_events", *build.schema.LINK_TABLES):
        db.execute(f"delete from [{table}] where event_id in ({gone})")
    db.execute(f"delete from events where id in ({gone})")


def _write_events(db: sqlite_utils.Database, events: list[Event], new: str) -> None:
    """Insert the events and their rows, as the full build makes them."""
    names, kinds = _names(db, events)
    history = {
        row[0]: History(*row[1:])
        for row in db.execute(
            "select event_id, first_added, added_in, last_changed, changed_in"
            f" from edit_history where event_id in ({new})"
        )
    }
    build.insert(db, "events", build.event_rows(events, names, history, kinds))
    for table in build.schema.LINK_TABLES:
        build.insert(db, table, build.link_rows(table, events))
    build.insert(db, "scope_events", build.scope_event_rows(events))
    for column in build.list_columns():
        sql = build.LIST_VALUES_SQL.format(column=column, where=f" where e.id in ({new})")
        db.execute(sql, {"list": column})
    _index_text(db, new)


def _index_text(db: sqlite_utils.Database, ids_sql: str, *, delete: bool = False) -> None:
    """Add the events' and their citations' text to the full-text indexes, or take it out
    (the indexes read their tables' rows: a row's old text must be taken out before it goes)."""
    for table, columns in build.FTS_COLUMNS.items():
        listed = ", ".join(columns)
        key = "id" if table == "events" else "event_id"
        command = (f"{table}_fts, ", "'delete', ") if delete else ("", "")
        db.execute(
            f"insert into {table}_fts ({command[0]}rowid, {listed})"
            f" select {command[1]}rowid, {listed} from {table} where {key} in ({ids_sql})"
        )


def _names(db: sqlite_utils.Database, events: list[Event]):
    """The names of the actors and systems the events name, and the systems' kinds."""
    actor_ids = json.dumps(sorted({a.actor for e in events for a in e.actors}))
    system_ids = json.dumps(sorted({x.system for e in events for x in e.systems}))
    actors = dict(db.execute(f"select id, name from actors where id in {_LISTED}", [actor_ids]))
    systems = db.execute(
        f"select id, name, kind from systems where id in {_LISTED}", [system_ids]
    ).fetchall()
    names = {"actors": actors, "systems": {i: name for i, name, _ in systems}}
    return names, {i: kind for i, _, kind in systems}


# Ids bound as one JSON array (no limit on how many).
_LISTED = "(select value from json_each(?))"


def _recount(db: sqlite_utils.Database, before: _Uses, after: _Uses) -> None:
    """The counts that include the removed or the added events."""
    _add_counts(db, "event_counts", ("scope", "scope_id", "year", "type"), "events",
                _changes(before.counts, after.counts))  # fmt: skip
    _add_counts(db, "event_list_counts", ("list", "value"), "count",
                _changes(before.list_values, after.list_values))  # fmt: skip
    _recount_pairs(db, before.actor_sets + after.actor_sets)
    build.count_uses(db, {
        "actors": before.scoped["actor"] | after.scoped["actor"],
        "systems": before.scoped["system"] | after.scoped["system"],
        "sources": before.sources | after.sources,
    })  # fmt: skip


def _add_counts(db, table: str, keys: tuple[str, ...], column: str, changes: list) -> None:
    """Add each change to its key's count (a new row when there is none); a count that
    reaches zero goes, as a full build would not write it."""
    listed, marks = ", ".join(keys), ", ".join("?" * (len(keys) + 1))
    matches = " and ".join(f"{key} = ?" for key in keys)
    for key, change in changes:
        db.execute(
            f"insert into {table} ({listed}, {column}) values ({marks})"
            f" on conflict do update set {column} = {column} + excluded.{column}",
            [*key, change],
        )
        db.execute(f"delete from {table} where {matches} and {column} = 0", list(key))


def _changes(before: Counter, after: Counter) -> list[tuple[object, int]]:
    """What each count gains (or loses) when ``before``'s events give way to ``after``'s."""
    delta = Counter(after)
    delta.subtract(before)
    return [(key, change) for key, change in sorted(delta.items()) if change]


def _recount_pairs(db: sqlite_utils.Database, actor_sets: list[list[str]]) -> None:
    """Count again each pair of actors that a removed or an added event holds."""
    pairs = sorted({pair for actors in actor_sets for pair in itertools.combinations(actors, 2)})
    for first, second in pairs:
        for pair in ((first, second), (second, first)):  # by the primary key, each way
            db.execute("delete from actor_pairs where actor_id = ? and other_id = ?", pair)
        shared = db.execute(
            "select a.event_id from scope_events a join scope_events b"
            " on b.scope = 'actor' and b.scope_id = ? and b.sort_key = a.sort_key"
            " and b.event_id = a.event_id"
            " where a.scope = 'actor' and a.scope_id = ? order by a.sort_key, a.event_id",
            [second, first],
        )
        build.insert(
            db, "actor_pairs", build.actor_pair_rows((row[0], [first, second]) for row in shared)
        )
