"""Parse what changed: the records a build must write, and the rows it must take out.

When the last build's database is there and was built by the same tool and schema, from
the same commit or from one whose later commits all hold exactly the bytes being built,
and the file differs from what it was built from only in its records (events, sources,
actors, systems: not in a key's own lines, the text before the first key or after the
events), the changed records alone are re-parsed and checked (against the other records,
read from the database; see ``timeline.spans``): the plan is to take out the rows of the
records whose bytes went and write those of the records read. An actor or system whose
name changed is named in the rows of the events (and systems) that refer to it: those are
read again too. The edit history moves with such commits: the spans keep each event's
fingerprint, so the events whose dates change are known without parsing a version.

Anything else (no database, a change outside the records, a commit of another version,
too many changed records) plans from an empty database: every record is read and checked
in batches as it is written (``timeline.batches``), so no more than a few batches'
records are held at once. What neither can settle (an error in the changed records or in
a batch, a file not cut into records: ``Unsettled``) is settled by the whole file's parse
and check, which reports errors with their positions in it; a file without errors is
then written from it. Every plan is carried out by the same writer (``timeline.build``).

Example::

    plan = plan_edit(Path("events.yaml"), raw, db_path, info, commit)
    if plan is None:
        plan = plan_from_empty(raw, Path("events.yaml"), db_path, commit)
    # on Unsettled: result = checked_whole(raw, path); if result.ok: plan_whole(result, …)
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .catalog import unchanged_from
from .load import Document, paused_gc
from .model import Dataset
from .provenance import OtherVersion, Progress, Tracked, event_history, fingerprints_of
from .store import (
    INPUT_KEY,
    input_hash,
    read_only,
    schema_fingerprint,
    stored_build_info,
    stored_progress,
    stored_spans,
)

if TYPE_CHECKING:
    from .spans import Spans
    from .validate import Result


@dataclass(frozen=True)
class Recorded:
    """What a build keeps beside the rows, known once the records are written."""

    spans: Spans | None  # where each event now sits in the file
    tracked: dict[str, Tracked]  # the edit history's rows to write (replacing theirs)
    history_commit: str  # the last commit the edit history has read


@dataclass(frozen=True)
class Plan:
    """What a build writes: into an empty database (``fresh``) or into the last one."""

    fresh: bool
    # the records to write, a batch at a time: every record, or the changed ones (reading
    # them may raise Unsettled, from empty: the whole file is then checked)
    batches: Iterable[Dataset]
    removed: tuple[str, ...]  # the events whose rows go (their ids may come back)
    recorded: Callable[[], Recorded]  # called once the batches are written
    reread: int | None = None  # how many events were parsed again (None: from empty)
    # by section (sources, actors, systems): the ids whose rows go, before the batches'
    # are written (edited, removed, or read again because they name a renamed record)
    replaced: dict[str, tuple[str, ...]] = field(default_factory=dict)


def checked_whole(raw: bytes, yaml_path: Path, *, refused: bool = False) -> Result:
    """The whole file parsed and checked, with its document (for ``plan_whole``);
    ``refused`` as ``validate_bytes`` takes it."""
    from .validate import validate_bytes

    return validate_bytes(raw, yaml_path, keep_document=True, refused=refused)


def plan_from_empty(raw: bytes, yaml_path: Path, db_path: Path, commit: str) -> Plan:
    """Every record, read and checked in batches (``timeline.batches``) as they are written
    into an empty database. Raises Unsettled (when the batches are made, or as they are
    read) for what only the whole file's check settles: ``plan_whole`` then."""
    from .batches import Batches

    batches = Batches(raw, yaml_path, prints=bool(commit))
    recorded = functools.partial(
        _recorded_from_empty, batches.document, lambda: batches.prints, raw, yaml_path,
        _last_progress(db_path), commit,
    )  # fmt: skip
    return Plan(True, batches, (), recorded)


def plan_whole(result: Result, raw: bytes, yaml_path: Path, db_path: Path, commit: str) -> Plan:
    """Every record of a file checked whole, without errors (``checked_whole``), to be
    written into an empty database."""
    prints = functools.cache(lambda: fingerprints_of(result.data))

    def document() -> Document:
        doc, result.document = result.document, None  # it holds the whole text, or graph
        return doc

    recorded = functools.partial(_recorded_from_empty, document, prints, raw, yaml_path,
                                 _last_progress(db_path), commit)  # fmt: skip
    return Plan(True, [result.dataset], (), recorded)


def _last_progress(db_path: Path) -> Progress | None:
    """Where the last build left the edit history (even a forced build goes on from it),
    read before the build's transaction: a database file the build creates is locked while
    it writes (a reader would wait for it, then give up)."""
    return stored_progress(db_path, stored_build_info(db_path))


def _recorded_from_empty(
    document: Callable[[], Document],
    prints: Callable[[], dict[str, str]],
    raw: bytes,
    yaml_path: Path,
    previous: Progress | None,
    commit: str,
) -> Recorded:
    """The spans of a file written whole, and its edit history, from ``previous``."""
    from .spans import record_spans

    spans = record_spans(document(), raw)
    records = (lambda: spans.records(prints())) if commit and spans is not None else None
    _, progress = event_history(yaml_path, previous, (raw, prints), records=records)
    if commit and spans is not None:  # in git: the next commit moves the history
        spans = spans.with_prints(prints())
    return Recorded(spans, progress.events, progress.commit)


def plan_edit(
    yaml_path: Path, raw: bytes, db_path: Path, info: dict[str, str], commit: str
) -> Plan | None:
    """Parse and check only the changed records, against the rest as the database has it;
    None when the file changed otherwise. Raises Unsettled when the changed records have
    errors: the whole file's check says where (a build from empty would only find them
    again, later)."""
    from .spans import changed_events
    from .validate import Unsettled, validate_changed

    if (info.get("schema_version"), info.get("tool_version")) != (
        schema_fingerprint(),
        __version__,
    ):
        return None
    with paused_gc(), read_only(db_path) as conn:
        spans = stored_spans(conn)
        if spans is None or (info.get("input_commit") != commit and not spans.prints):
            return None
        changes = changed_events(spans, raw, yaml_path, head_too=True)
        if changes is None:
            return None
        head = changes.head
        new_spans = changes.spliced(spans)
        part = _Part(list(changes.reparsed.items), list(changes.removed(spans)))
        if len(spans.ids) - len(part.removed) + len(part.items) == 0:
            return None  # a file without events keeps no spans
        if head is not None and not _read_dependents(conn, head, new_spans, raw, yaml_path, part):
            return None
        doc = Document({**part.records, "events": part.items}, yaml_path)
        result = validate_changed(doc, unchanged_from(conn, part.gone(), part.added()))
        if not result.ok:
            raise Unsettled("the changed records have errors")
    moved = _moved_history(yaml_path, raw, db_path, info, commit, (spans, new_spans))
    if moved is None:
        return None
    tracked, history_commit = moved
    replaced = {section: tuple(sorted(ids)) for section, ids in part.gone().items()
                if section != "events"}  # fmt: skip
    recorded = Recorded(new_spans, tracked, history_commit)
    return Plan(False, [result.dataset], tuple(part.removed), lambda: recorded, len(part.items),
                replaced)  # fmt: skip


@dataclass
class _Part:
    """The changed part of a file: the events read again (``items``), the ids of the events
    whose rows go (``removed``), and, by section, the other records read again and the ids
    of those whose rows go (an edited record's bytes went and it is read again; so is a
    record that names a renamed one)."""

    items: list
    removed: list[str]
    records: dict[str, list] = field(default_factory=dict)
    went: dict[str, set[str]] = field(default_factory=dict)

    def added(self) -> dict[str, list[str]]:
        sections = {**self.records, "events": self.items}
        return {s: [r.get("id") for r in rs if isinstance(r, dict)] for s, rs in sections.items()}

    def gone(self) -> dict[str, set[str]]:
        """By section, the ids whose rows go (a new record with the id of one that stays is a
        duplicate)."""
        return {**self.went, "events": set(self.removed)}


# The rows that hold the names of other records (``timeline.rows``): an event's, those of
# its actors and systems (and its systems' kinds); a system's, that of its maker.
DEPENDENT_EVENTS_SQL = """select event_id from event_actors
where actor_id in (select value from json_each(:actors)) union select event_id
from event_systems where system_id in (select value from json_each(:systems))"""
DEPENDENT_SYSTEMS_SQL = "select id from systems where maker in (select value from json_each(?))"


def _read_dependents(conn, head, spans: Spans, raw: bytes, path: Path, part: _Part) -> bool:
    """Add to ``part`` the head's changed records, and the unchanged records whose rows name
    an actor or system renamed by them (read again from the new file); False when they are
    too many (a full build is then as fast) or do not read."""
    from .spans import most_reread, read_events

    part.records = {section: list(records) for section, records in head.new.items()}
    part.went = {section: set(ids) for section, ids in head.gone.items()}
    renamed = {section: _renamed(conn, section, part.records.get(section, []))
               for section in ("actors", "systems")}  # fmt: skip
    if not any(renamed.values()):
        return True
    listed = {section: json.dumps(sorted(ids)) for section, ids in renamed.items()}
    events = {row[0] for row in conn.execute(DEPENDENT_EVENTS_SQL, listed)}
    events -= set(part.removed) | set(part.added()["events"])
    systems = {row[0] for row in conn.execute(DEPENDENT_SYSTEMS_SQL, [listed["actors"]])}
    systems -= set(part.added().get("systems", ()))
    if len(events) + len(part.items) > most_reread(spans):
        return False
    try:
        part.items += read_events(spans, raw, path, events)
        part.records.setdefault("systems", []).extend(head.read("systems", systems))
    except ValueError:
        return False
    part.removed += sorted(events)
    part.went.setdefault("systems", set()).update(systems)
    return True


def _renamed(conn, section: str, records: list) -> set[str]:
    """The ids of ``records`` (read again) whose name (and for a system, kind) differs from
    their row's (a record without a row yet is named by no row)."""
    columns = "name, kind" if section == "systems" else "name"
    ids = json.dumps([r.get("id") for r in records if isinstance(r, dict)])
    rows = conn.execute(
        f"select id, {columns} from {section} where id in (select value from json_each(?))", [ids]
    )
    stored = {row[0]: row[1:] for row in rows}
    fields = columns.split(", ")
    return {r["id"] for r in records if isinstance(r, dict) and r.get("id") in stored
            and tuple(r.get(f) for f in fields) != stored[r["id"]]}  # fmt: skip


def _moved_history(
    yaml_path: Path,
    raw: bytes,
    db_path: Path,
    info: dict[str, str],
    commit: str,
    spans: tuple[Spans, Spans],
) -> tuple[dict[str, Tracked], str] | None:
    """The edit history's rows that the commits since the last build changed, and the
    last commit read, when each of those commits holds the bytes being built or the
    bytes built last (their fingerprints are then those of the new or the old spans);
    None when one holds another version, which only a build from empty parses."""
    if info.get("input_commit") == commit:
        return {}, info.get("history_commit", "")
    previous = stored_progress(db_path, info)
    if previous is None:
        return None
    old, new = spans[0].fingerprints(), spans[1].fingerprints()

    def last_built(blob: bytes) -> dict[str, str] | None:
        built = input_hash(blob, info.get("input_commit", "")) == info.get(INPUT_KEY)
        return old if built else None

    try:
        _, progress = event_history(
            yaml_path, previous, (raw, lambda: new), only_current=True, other=last_built
        )
    except OtherVersion:
        return None
    changed = {i: t for i, t in progress.events.items() if previous.events.get(i) != t}
    return changed, progress.commit
