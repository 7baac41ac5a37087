"""Parse what changed: the records a build must write, and the rows it must take out.

When the last build's database is there and was built by the same tool and schema, from
the same commit or from one whose later commits all hold exactly the bytes being built,
and the file differs from what it was built from only inside the events list, the
changed stretches alone are re-parsed and checked (against the other records, read from
the database; see ``timeline.spans``): the plan is to take out the events they held and
write the events they hold now. The edit history moves with such commits: the spans keep
each event's fingerprint, so the events whose dates change are known without parsing a
version.

Anything else (no database, a change to sources, actors or systems, the header, a commit
of another version, an error in the changed events) plans from an empty database: the
whole file is parsed and checked, which reports errors with their positions in it, and
every record is written. Both plans are carried out by the same writer
(``timeline.build``).

Example::

    plan = plan_edit(Path("events.yaml"), raw, db_path, info, commit)
    if plan is None:
        result = checked_whole(raw, Path("events.yaml"))  # result.ok: no errors
        plan = plan_from_empty(result, raw, Path("events.yaml"), db_path, commit)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .catalog import unchanged_from
from .load import paused_gc
from .model import Dataset
from .provenance import OtherVersion, Tracked, event_history, fingerprints_of
from .store import (
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
class Plan:
    """What a build writes: into an empty database (``fresh``) or into a copy of the last."""

    fresh: bool
    data: Dataset  # the records to write: every record, or the changed events
    removed: tuple[str, ...]  # the events whose rows go (their ids may come back)
    spans: Spans | None  # where each event now sits in the file
    tracked: dict[str, Tracked]  # the edit history's rows to write (replacing theirs)
    history_commit: str  # the last commit the edit history has read
    reread: int | None = None  # how many events were parsed again (None: from empty)


def checked_whole(raw: bytes, yaml_path: Path) -> Result:
    """The whole file parsed and checked, with its document (for ``plan_from_empty``)."""
    from .validate import validate_bytes

    return validate_bytes(raw, yaml_path, keep_document=True)


def plan_from_empty(
    result: Result, raw: bytes, yaml_path: Path, db_path: Path, commit: str
) -> Plan:
    """Every record of a file without errors (``checked_whole``), to be written into an
    empty database."""
    from .spans import record_spans

    spans = record_spans(result.document, raw)
    result.document = None  # it holds the whole text (and a whole node graph, read whole)
    # the edit history goes on from where the last build left it (even a forced build)
    previous = stored_progress(db_path, stored_build_info(db_path))
    prints = functools.cache(lambda: fingerprints_of(result.data))
    _, progress = event_history(yaml_path, previous, (raw, prints))
    if commit and spans is not None:  # in git: the next commit moves the history
        spans = spans.with_prints(prints())
    return Plan(True, result.dataset, (), spans, progress.events, progress.commit)


def plan_edit(
    yaml_path: Path, raw: bytes, db_path: Path, info: dict[str, str], commit: str
) -> Plan | None:
    """Parse and check only the changed events, against the rest as the database has it;
    None when the file changed otherwise or the changed events have errors."""
    from .spans import changed_events
    from .validate import validate_changed_events

    if (info.get("schema_version"), info.get("tool_version")) != (
        schema_fingerprint(),
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
        result = validate_changed_events(changes.reparsed.doc, unchanged_from(conn, removed, added))
        if not result.ok:
            return None
        new_spans = changes.spliced(spans)
    moved = _moved_history(yaml_path, raw, db_path, info, commit, (spans, new_spans))
    if moved is None:
        return None
    tracked, history_commit = moved
    data = Dataset(events=result.dataset.events)
    return Plan(False, data, removed, new_spans, tracked, history_commit, len(added))


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
        built = input_hash(blob, info.get("input_commit", "")) == info.get("input_sha256")
        return old if built else None

    try:
        _, progress = event_history(
            yaml_path, previous, (raw, lambda: new), only_current=True, other=last_built
        )
    except OtherVersion:
        return None
    changed = {i: t for i, t in progress.events.items() if previous.events.get(i) != t}
    return changed, progress.commit
