"""Validate a file from the last build's database.

A database whose ``build_info`` says it was built from this very file (its stamp, or the
hash of its bytes, at the same commit, by this tool and schema) was built from a file
without errors: only the warnings are left to find. Each is a fact of the rows (an event
with one source, a source never cited, a system no event names, an actor without a
country) or of an event's own summary and quotes. The records they name are put in the
file's order by the spans the build kept, and each is located, as ``validate`` locates it,
by composing that one record again; only the first of each kind are located at all, and
when the file's stamp says it is the one the build read, only those records and the line
breaks before them are read.

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
from .derive import UNCITED_SOURCES, WARNED_EVENTS
from .files import digest_of, file_stamp
from .load import ReadOnDemand
from .places import LOCATED
from .provenance import last_commit
from .spans import Spans, piece_name
from .store import (
    hashed_as_built,
    read_only,
    stored_build_info,
    stored_counts,
    stored_spans,
    unchanged_since,
)
from .validate import WARNINGS_OF, Found, Result, located_warnings

# The records each warning names, from the rows (``validate.WARNINGS`` for the words): each
# query gives a record's id, then a column per warning it finds, true where it applies. The
# events' two warnings share one query, down the index of the events they apply to.
WARNED_SQL: dict[str, tuple[str, ...]] = {
    f"select id, source_count = 1, summary_repeats_quote = 1 from events where {WARNED_EVENTS}": (
        "single source",
        "copied summary",
    ),
    "select id, 1 from systems where event_count = 0": ("unused system",),
    f"select id, 1 from sources where {UNCITED_SOURCES}": ("uncited source",),
    "select id, 1 from actors where (country is null or country = '')"
    " and kind is not 'organisation'": ("no country",),
    # (LOCATED as the map's partial index idx_events_located has it, so the index is used)
    f"select id, 1 from events where {LOCATED} and location in (select location"
    f" from events where {LOCATED} group by location"
    " having min(latitude) <> max(latitude) or min(longitude) <> max(longitude))": ("other point",),
}


def revalidated(path: Path, db_path: Path) -> Result | None:
    """What ``validate_file(path)`` finds, from the database at ``db_path``: read as it is
    when it was built from this file; else as a build would update it after an edit, in a
    transaction that is rolled back (``build.tried_edit``). None when it was built from
    another file or version of the code, or keeps no record of where each record sits in
    the file. Raises Unsettled when the changed records have errors: the whole file's
    check says where."""
    info = stored_build_info(db_path)
    if not info:
        return None
    try:  # (the stamp and the commit once: the commit is a call of git)
        stamp, commit = file_stamp(path), last_commit(path)
        if unchanged_since(info, stamp, commit):
            return _as_built(path, db_path, info, stamp)
        raw = Path(path).read_bytes()
    except OSError:
        return None
    if hashed_as_built(info, digest_of(raw), commit):
        with read_only(db_path) as conn:
            return _warnings(conn, Path(path), raw, stored_counts(info))
    from .build import tried_edit

    return tried_edit(
        Path(path), raw, db_path, lambda conn, counts: _warnings(conn, Path(path), raw, counts)
    )


def _as_built(path: Path, db_path: Path, info: dict[str, str], stamp: str) -> Result | None:
    """The warnings of the very file the build read, by its ``stamp``: only the records
    listed, and the line breaks before them, are read. None when the file was written
    meanwhile: the whole file's reading says what it holds."""
    with read_only(db_path) as conn, open(path, "rb") as handle:
        result = _warnings(conn, Path(path), ReadOnDemand(handle), stored_counts(info))
    return result if file_stamp(path) == stamp else None


def _warnings(
    conn: sqlite3.Connection, path: Path, raw: bytes | ReadOnDemand, counts: dict[str, int]
) -> Result | None:
    """The warnings of the file ``raw`` (with its counts of records), from the rows and
    spans of a database built from it."""
    spans = stored_spans(conn)
    if spans is None or spans.head is None or spans.lengths[-1]:
        return None  # no head kept, or keys after the events
    warned = _warned(conn)
    return located_warnings(
        path, raw, _found(spans, warned), {s: counts[s] for s in schema.SECTIONS if s in counts}
    )


def _warned(conn: sqlite3.Connection) -> dict[str, dict[str, list[str]]]:
    """The warnings of each record that has any, by section and id, in ``WARNINGS_OF``'s
    order."""
    section_of = {name: section for section, names in WARNINGS_OF.items() for name in names}
    warned: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for sql, names in WARNED_SQL.items():
        for record, *flags in conn.execute(sql):
            for name, flag in zip(names, flags, strict=True):
                if flag:
                    warned[section_of[name]][record].append(name)
    order = {name: i for names in WARNINGS_OF.values() for i, name in enumerate(names)}
    for records in warned.values():
        for names in records.values():
            names.sort(key=order.__getitem__)
    return warned


def _found(spans: Spans, warned: dict[str, dict[str, list[str]]]) -> list[Found]:
    """The warnings of the records, each with its record's section, index and id and where
    its bytes are. Only the warned records are looked up: a head's record by its name's
    line (its section's items follow the section's key, in order), an event by its id."""
    starts = list(itertools.accumulate(
        itertools.chain(spans.head.piece_lengths(), spans.lengths[1:-1]), initial=0))  # fmt: skip
    piece_of = spans.head.piece_numbers()  # (one name a piece: the events' pieces follow)
    event_of = {event_id: index for index, event_id in enumerate(spans.ids)}
    found: list[Found] = []
    for section, records in warned.items():
        for record, names in records.items():
            if section == "events":
                index = event_of[record]
                piece = len(piece_of) + index
            else:
                piece = piece_of[piece_name(section, record)]
                index = piece - piece_of[piece_name(section)] - 1
            stretch = (starts[piece], starts[piece + 1])
            found += [(name, section, index, record, stretch) for name in names]
    return found
