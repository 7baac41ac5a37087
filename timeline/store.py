"""The database file: what a build keeps in it besides the rows, and how it is written.

Every stage of the build reads or writes through these: the build's key and row counts
(``build_info``), the edit history's progress, where each event sat in the file
(``yaml_spans``), the temporary sibling a build writes before a rename makes it live,
and the one prepared insert the row writers share.
"""

from __future__ import annotations

import functools
import hashlib
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .provenance import Progress, Tracked

if TYPE_CHECKING:  # the no-op check stays fast: the parser and sqlite-utils load on demand
    import sqlite_utils

    from .spans import Spans

# The database's name in Datasette (its file name's stem): not "timeline", which is the
# address of the site's timeline page.
DATABASE_NAME = "record"
DEFAULT_DB_NAME = f"{DATABASE_NAME}.db"

# The modules whose code decides what a database holds: the build and every module of
# this package it imports, directly or not (a test derives the list from their imports).
# Their source is the schema's fingerprint: any change to a declaration, a view, an index
# or the code that writes rows makes the next build start from an empty database, with no
# version number to remember to bump.
DATABASE_MODULES = ("build", "catalog", "changes", "dates", "derive", "files", "filters",
                    "load", "model", "provenance", "rows", "schema", "spans", "store",
                    "validate", "views")  # fmt: skip


@functools.cache
def schema_fingerprint() -> str:
    """A hash of the source of ``DATABASE_MODULES``."""
    digest = hashlib.sha256()
    for name in DATABASE_MODULES:
        digest.update(Path(__file__).with_name(f"{name}.py").read_bytes())
    return digest.hexdigest()[:16]


def input_hash(yaml_bytes: bytes, commit: str = "") -> str:
    """What determines the database: the YAML, its last commit (for the edit history),
    the tool version and the schema's fingerprint."""
    digest = hashlib.sha256(yaml_bytes)
    digest.update(f"\0{commit}\0{__version__}\0{schema_fingerprint()}".encode())
    return digest.hexdigest()


# The database is written to a private temporary file that only a rename makes live, so
# SQLite's own crash safety (a rollback journal, a sync per commit) protects nothing: a
# build that dies leaves a temporary file to delete, never a damaged database. Without
# them, and with a 64 MiB page cache instead of 2 MiB, the write takes ~40 % less time.
# The file is synced once before the rename instead. Each page is written once, so there
# is nothing for a VACUUM to compact (it used to rewrite the whole file: 1.7 s of 6.4 s
# at 10,000 events).
BUILD_PRAGMAS = ("foreign_keys = on", "journal_mode = off", "synchronous = off",
                 "cache_size = -65536")  # fmt: skip


def read_only(db_path: Path) -> closing[sqlite3.Connection]:
    """A read-only connection to ``db_path``, closed when the ``with`` block ends."""
    return closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True))


def stored_build_info(db_path: Path) -> dict[str, str]:
    """The build_info of an existing database ({} when there is no usable database)."""
    if not db_path.exists():
        return {}
    try:
        with read_only(db_path) as conn:
            return dict(conn.execute("select key, value from build_info").fetchall())
    except sqlite3.Error:
        return {}


def stored_counts(info: dict[str, str]) -> dict[str, int]:
    """The row counts a build recorded in build_info."""
    return {k.removeprefix("count_"): int(v) for k, v in info.items() if k.startswith("count_")}


def stored_progress(db_path: Path, info: dict[str, str]) -> Progress | None:
    """The edit history's progress kept by the last build (None when there is none)."""
    commit = info.get("history_commit")
    if not commit or info.get("schema_version") != schema_fingerprint():
        return None
    try:
        with read_only(db_path) as conn:
            rows = conn.execute(
                "select event_id, first_added, added_in, last_changed, changed_in, fingerprint"
                " from edit_history"
            ).fetchall()
    except sqlite3.Error:
        return None
    return Progress(commit, {row[0]: Tracked(*row[1:]) for row in rows})


def stored_spans(conn: sqlite3.Connection) -> Spans | None:
    """The spans the last build kept, or None (none kept, or unreadable)."""
    from .spans import Spans

    try:
        parts = dict(conn.execute("select part, value from yaml_spans").fetchall())
        return Spans.unpack(parts) if parts else None
    except (sqlite3.Error, KeyError, ValueError):
        return None


def store_spans(db: sqlite_utils.Database, spans: Spans | None) -> None:
    """Keep where each event sat in the file, for the next build (``timeline.changes``)."""
    db.execute("delete from yaml_spans")
    if spans is not None:
        insert(db, "yaml_spans", ({"part": k, "value": v} for k, v in spans.pack().items()))


def write_history(db: sqlite_utils.Database, tracked: dict[str, Tracked]) -> None:
    """Each event's edit-history row (replacing the one it had)."""
    db.conn.executemany(
        "insert or replace into edit_history values (?, ?, ?, ?, ?, ?)",
        ((event_id, t.first_added, t.added_in, t.last_changed, t.changed_in, t.fingerprint)
         for event_id, t in sorted(tracked.items())),
    )  # fmt: skip


def insert(db: sqlite_utils.Database, table: str, rows: Iterable[dict]) -> None:
    """Insert rows with one prepared statement (sqlite-utils' insert_all rebuilds its SQL
    and re-checks every value per batch, half of a large build's write time). The rows
    hold every column already, as SQLite values."""
    columns = list(db[table].columns_dict)
    sql = f"insert into [{table}] ({', '.join(f'[{c}]' for c in columns)}) values "
    sql += f"({', '.join('?' * len(columns))})"
    db.conn.executemany(sql, ([row.get(c) for c in columns] for row in rows))


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
def temporary_sibling(target: Path) -> Iterator[Path]:
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
