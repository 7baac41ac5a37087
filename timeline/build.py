"""Build: one path from ``events.yaml`` to the database, whatever changed.

The stages, in the order the data flows: plan what to write (``timeline.changes``: only
the changed records, parsed and checked, when the last build's database allows; else every
record, into an empty database), then, in one transaction on the database itself, take out
the rows of the records that went (or every table, from empty), write the records' rows a
batch at a time (``timeline.rows``; from empty, each batch is read and checked as the
earlier ones are written: ``timeline.batches``), derive what is counted over many records
in SQL from those rows (``timeline.derive``: the same SQL whether it counts a few keys
again or every key), check the references, and commit. A full build is the same path
starting from an empty database. What the batches cannot settle rolls back, and the whole
file is read and checked instead (``validate``), which says where each error is.

The database is in SQLite's write-ahead-log mode, so the transaction is what makes the
build atomic: a reader (the development server) sees the old database until the commit
and the new one after it, with no copy of the file and no rename under its open
connections; a failure or a killed build leaves the old one (SQLite rolls the unfinished
transaction back). The build is deterministic (same YAML → same rows, however it was
reached) and skipped when ``build_info`` holds the input's stamp or its hash.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from filelock import Timeout

from . import __version__
from .files import WriteRefused, check_output, file_stamp, lock_for
from .provenance import last_commit
from .store import (
    BUILD_PRAGMAS,
    DATABASE_NAME,
    DEFAULT_DB_NAME,
    INPUT_KEY,
    NEW_FILE_PRAGMAS,
    SETTINGS_PRAGMAS,
    STAMP_KEY,
    drop_everything,
    input_hash,
    schema_fingerprint,
    store_spans,
    stored_build_info,
    stored_counts,
    unchanged_since,
    write_history,
)

if TYPE_CHECKING:  # the no-op check stays fast: the stages and sqlite-utils load on demand
    import sqlite_utils

    from .changes import Plan
    from .validate import Result

# The build's public names (some are defined by the stages it runs).
__all__ = ["DATABASE_NAME", "DEFAULT_DB_NAME", "BuildResult", "InvalidInput", "build_file",
           "default_db_path"]  # fmt: skip

T = TypeVar("T")

# The tables whose row counts a build reports and keeps in build_info.
COUNTED_TABLES = ("events", "actors", "sources", "systems", "citations", "event_actors",
                  "event_relations", "event_systems")  # fmt: skip


class InvalidInput(Exception):
    """The YAML has errors; ``result.errors`` lists them with their positions."""

    def __init__(self, result: Result):
        super().__init__(f"{len(result.errors)} error(s)")
        self.result = result


class BrokenReferences(sqlite3.DatabaseError):
    """Rows refer to rows that are gone (an event others relate to was removed)."""


@dataclass(frozen=True)
class Input:
    """What a database is built from, as its build_info keeps it."""

    digest: str  # ``store.input_hash`` of the file's bytes and commit
    commit: str  # the file's last commit ("" outside git)
    stamp: str  # ``files.file_stamp``, taken before the bytes were read


@dataclass(frozen=True)
class BuildResult:
    db_path: Path
    skipped: bool
    counts: dict[str, int]
    updated: int | None = None  # events re-read when only some changed (None: a full build)
    others: int = 0  # sources, actors and systems re-read with them


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
    _read(yaml_path, file_stamp)  # a file that cannot be read is bad input, before the lock
    db_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with lock_for(db_path):  # a second build waits, then finds the database up to date
            return _build_locked(yaml_path, db_path, force)
    except Timeout:
        raise WriteRefused(
            f"{db_path} is being built by another timeline command", "try again when it is done"
        ) from None


def _read(yaml_path: Path, read: Callable[[Path], T]) -> T:
    """``read(yaml_path)``, with an OSError as the one problem of the input."""
    try:
        return read(yaml_path)
    except OSError as exc:
        from .validate import Problem, Result

        raise InvalidInput(Result([Problem.unreadable(yaml_path, exc)])) from None


def _build_locked(yaml_path: Path, db_path: Path, force: bool) -> BuildResult:
    # the stamp before the bytes: a write after it changes it
    stamp, commit = _read(yaml_path, file_stamp), last_commit(yaml_path)
    info = {} if force else stored_build_info(db_path)
    if unchanged_since(info, stamp, commit):  # without reading the file
        return BuildResult(db_path, True, stored_counts(info))
    raw = _read(yaml_path, Path.read_bytes)
    given = Input(input_hash(raw, commit), commit, stamp)
    if info.get(INPUT_KEY) == given.digest:
        return BuildResult(db_path, True, stored_counts(info))
    from .changes import checked_whole, plan_edit, plan_from_empty, plan_whole
    from .load import MappedFile, mapped_copy, paused_gc
    from .validate import Unsettled

    with paused_gc():
        try:  # errors in the changed records, or in a batch: rolled back
            plan = plan_edit(yaml_path, raw, db_path, info, commit) if info else None
            if plan is not None:
                try:
                    counts = write_database(db_path, plan, given)
                    others = sum(len(getattr(batch, s)) for batch in plan.batches
                                 for s in ("sources", "actors", "systems"))  # fmt: skip
                    return BuildResult(db_path, False, counts, plan.reread, others)
                except sqlite3.DatabaseError as exc:
                    # a removed event that another one relates to (the build from empty
                    # says which), or a database this code cannot update (it writes a new
                    # one); a broken constraint of the build's own is a fault, not a reason
                    if isinstance(exc, sqlite3.IntegrityError):
                        raise
            # the records read, checked and written in batches
            plan = plan_from_empty(raw, yaml_path, db_path, commit)
            return BuildResult(db_path, False, write_database(db_path, plan, given))
        except Unsettled as exc:  # the whole file's check says where, or settles it
            refused = exc.refused  # (not the error: its traceback holds the batches' frames)
        # The whole check keeps every record's data: the file is read again as a mapped copy,
        # so that its bytes are not kept beside them (nothing here may hold them).
        raw = plan = None
        with contextlib.ExitStack() as held:
            raw = _read(yaml_path, lambda path: held.enter_context(mapped_copy(path)))
            given = Input(input_hash(raw, commit), commit, stamp)  # the bytes checked
            result = checked_whole(raw, yaml_path, refused=refused)
            if not result.ok:
                raise InvalidInput(result)
            raw = raw[:]  # as bytes, for the spans, before the copy is closed
            if result.document is not None and isinstance(result.document.text, MappedFile):
                result.document.text = raw  # (read record by record from the copy)
        plan = plan_whole(result, raw, yaml_path, db_path, commit)
        return BuildResult(db_path, False, write_database(db_path, plan, given))


def write_database(db_path: Path, plan: Plan, given: Input) -> dict[str, int]:
    """Carry out ``plan`` in one transaction on ``db_path`` (created when missing); returns
    the row counts. A failure rolls the transaction back: the database is as it was."""
    created = not db_path.exists()
    pragmas = NEW_FILE_PRAGMAS if created else BUILD_PRAGMAS
    try:
        with _written(db_path, plan, given, pragmas) as (conn, counts):
            if plan.fresh and conn.execute("pragma foreign_key_check").fetchone():
                raise BrokenReferences("a row refers to a row that is not there")
            try:
                conn.execute("commit")
            except sqlite3.IntegrityError as exc:  # the deferred references
                raise BrokenReferences(str(exc)) from exc
            if created:
                conn.execute("pragma journal_mode = wal")
            else:  # the log's pages now in the file, and the log emptied (unless a reader is in it)
                conn.execute("pragma wal_checkpoint(truncate)")
    except BaseException:
        if created:  # a failed build leaves no database where there was none
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db_path}{suffix}").unlink(missing_ok=True)
        raise
    return counts


def tried_edit(yaml_path: Path, raw: bytes, db_path: Path, look: Callable[..., T]) -> T | None:
    """What ``look(conn, counts)`` finds in the database as a build of ``raw`` would leave
    it after an edit, keeping nothing: the changed records are read, checked and written as
    that build does, in a transaction rolled back after the look (the journal left as it
    is). None where that build would not update the database (built otherwise, or a row
    would refer to one that went), or cannot now (it is being built, or cannot be written
    here). Raises Unsettled when the changed records have errors: the whole file's check
    says where."""
    from .changes import plan_edit
    from .load import paused_gc

    lock = lock_for(db_path)
    try:
        lock.acquire(blocking=False)
    except OSError:  # being built (filelock's Timeout is one), or no lock file can be made
        return None
    try:
        info, commit = stored_build_info(db_path), last_commit(yaml_path)
        with paused_gc():
            plan = plan_edit(yaml_path, raw, db_path, info, commit) if info else None
            if plan is None:
                return None
            given = Input(input_hash(raw, commit), commit, file_stamp(yaml_path))
            with _written(db_path, plan, given, SETTINGS_PRAGMAS) as (conn, counts):
                # the references are checked at the commit, which this never reaches: rows
                # can only refer to records whose rows went and did not come back
                if _went_for_good(plan) and conn.execute("pragma foreign_key_check").fetchone():
                    return None
                return look(conn, counts)
    except (OSError, sqlite3.Error):  # read-only, or locked by a reader mid-checkpoint
        return None
    finally:
        lock.release()


def _went_for_good(plan: Plan) -> bool:
    """Whether some record's rows go and are not written again."""
    from .derive import USED_SECTIONS

    written = {s: {r.id for batch in plan.batches for r in getattr(batch, s)}
               for s in ("events", *USED_SECTIONS)}  # fmt: skip
    gone = {"events": plan.removed, **plan.replaced}
    return any(set(ids) - written[section] for section, ids in gone.items())


@contextlib.contextmanager
def _written(
    db_path: Path, plan: Plan, given: Input, pragmas: tuple[str, ...]
) -> Iterator[tuple[sqlite3.Connection, dict[str, int]]]:
    """A connection to ``db_path`` in a transaction that has carried out ``plan``, and the
    row counts; the transaction is rolled back unless it was committed."""
    import sqlite_utils

    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        for pragma in pragmas:
            conn.execute(f"pragma {pragma}")
        # From empty, the tables are dropped and refilled with the references checked once
        # at the end: with foreign keys on, SQLite would delete a dropped table's rows one
        # by one. An edit keeps them on, deferred to the commit: an event edited in place is
        # deleted before it is written again while other events still relate to it.
        conn.execute(f"pragma foreign_keys = {'off' if plan.fresh else 'on'}")
        conn.execute("begin immediate")  # one transaction: a failure leaves nothing half-written
        try:
            conn.execute("pragma defer_foreign_keys = on")
            yield conn, _write(sqlite_utils.Database(conn), plan, given)
        finally:
            if conn.in_transaction:
                conn.execute("rollback")
    finally:
        conn.close()


def _write(db: sqlite_utils.Database, plan: Plan, given: Input) -> dict[str, int]:
    from . import derive, rows

    if plan.fresh:
        drop_everything(db.conn)
        rows.create_tables(db)
        derive.create_tables(db)
    rows.mark(db, plan.removed)
    # the records whose rows go: their counts and names are derived again (so are those of
    # the records written, as each batch is)
    derive.start_keys(db, plan.replaced)
    derive.forget_events(db)
    rows.forget(db, plan.replaced)
    for batch in plan.batches:
        rows.mark_new(db, batch.events)
        derive.note_written(db, batch)
        rows.write(db, batch)
    recorded = plan.recorded()
    write_history(db, recorded.tracked)
    if plan.fresh:
        derive.create_indexes(db)
    derive.derive_events(db, list(recorded.tracked))
    derive.recount(db)
    counts = {name: db[name].count for name in COUNTED_TABLES}
    info = {
        INPUT_KEY: given.digest,
        STAMP_KEY: given.stamp,
        "tool_version": __version__,
        "schema_version": schema_fingerprint(),
        "history_commit": recorded.history_commit,
        "input_commit": given.commit,
    } | {f"count_{k}": str(v) for k, v in counts.items()}
    db.conn.executemany("insert or replace into build_info values (?, ?)", sorted(info.items()))
    store_spans(db, recorded.spans)
    return counts
