"""Validate a file from the last build's database.

A database whose ``build_info`` says it was built from this very file (its stamp, or the
hash of its bytes, at the same commit, by this tool and schema) was built from a file
without errors: only the warnings are left to find. Each is a fact of the rows (an event
with one source, a source never cited, a system no event names, an actor without a
country) or of an event's own summary and quotes. The records they name are put in the
file's order by the spans the build kept, and each is located, as ``validate`` locates it,
by composing that one record again; only the first of each kind are located at all.

A database built from an earlier version of the file is first updated as a build would
update it after an edit (only the changed records read and checked against the rest), in
a transaction rolled back once the warnings are found. Changed records with errors leave
the check to the whole file's reading, which says where each error is.

Example::

    result = revalidated(Path("events.yaml"), Path("record.db"))
    if result is None:  # no database built from this file
        result = validate_file(Path("events.yaml"))
"""

from __future__ import annotations

import itertools
import sqlite3
from collections import defaultdict
from pathlib import Path

from . import schema
from .places import LOCATED
from .spans import Spans
from .store import built_from, read_only, stored_build_info, stored_counts, stored_spans
from .validate import WARNINGS_OF, Result, located_warnings

# The records each warning names, from the rows (``validate.WARNINGS`` for the words).
WARNED_SQL = {
    "single source": "select id from events where source_count = 1",
    "copied summary": "select id from events where summary_repeats_quote = 1",
    "unused system": "select id from systems where event_count = 0",
    "uncited source": "select id from sources where citation_count = 0",
    "no country": "select id from actors where (country is null or country = '')"
    " and kind is not 'organisation'",
    # (LOCATED as the map's partial index idx_events_located has it, so the index is used)
    "other point": f"select id from events where {LOCATED} and location in (select location"
    f" from events where {LOCATED} group by location"
    " having min(latitude) <> max(latitude) or min(longitude) <> max(longitude))",
}


def revalidated(path: Path, db_path: Path) -> Result | None:
    """What ``validate_file(path)`` finds, from the database at ``db_path``: read as it is
    when it was built from this file; else as a build would update it after an edit, in a
    transaction that is rolled back (``build.tried_edit``). None when it was built from
    another file or version of the code, or keeps no record of where each record sits in
    the file. Raises Unsettled when the changed records have errors: the whole file's
    check says where."""
    try:
        raw = Path(path).read_bytes()
    except OSError:
        return None
    info = stored_build_info(db_path)
    if built_from(info, path, raw):
        with read_only(db_path) as conn:
            return _warnings(conn, Path(path), raw, stored_counts(info))
    if not info:
        return None
    from .build import tried_edit

    return tried_edit(
        Path(path), raw, db_path, lambda conn, counts: _warnings(conn, Path(path), raw, counts)
    )


def _warnings(
    conn: sqlite3.Connection, path: Path, raw: bytes, counts: dict[str, int]
) -> Result | None:
    """The warnings of the file ``raw`` (with its counts of records), from the rows and
    spans of a database built from it."""
    spans = stored_spans(conn)
    if spans is None or spans.head is None or spans.lengths[-1]:
        return None  # no head kept, or keys after the events
    warned = {name: {row[0] for row in conn.execute(sql)} for name, sql in WARNED_SQL.items()}
    ids, bounds = _records(spans)
    found = [(name, section, index, record, (bounds[piece], bounds[piece + 1]))
             for section in WARNINGS_OF for index, (record, piece) in enumerate(ids[section])
             for name in WARNINGS_OF[section] if record in warned[name]]  # fmt: skip
    return located_warnings(
        path, raw, found, {s: counts[s] for s in schema.SECTIONS if s in counts}
    )


def _records(spans: Spans) -> tuple[dict[str, list[tuple[str, int]]], list[int]]:
    """Each section's records as (id, piece number), in file order, and where each piece
    of the file (the head's, then the events') starts, in bytes, then where they end."""
    names = [*spans.head.piece_names(), *(("events", event_id) for event_id in spans.ids)]
    bounds = list(itertools.accumulate([*spans.head.piece_lengths(), *spans.lengths[1:-1]],
                                       initial=0))  # fmt: skip
    ids: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for piece, (section, record) in enumerate(names):
        if record:
            ids[section].append((record, piece))
    return ids, bounds
