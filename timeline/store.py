"""The database file: what a build keeps in it besides the rows, and how it is written.

Every stage of the build reads or writes through these: the build's key and row counts
(``build_info``), the edit history's progress, where each event sat in the file
(``yaml_spans``), the settings a build writes with, the emptying of the schema a build
from empty starts with, and the one prepared insert the row writers share.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .digest import hex_digest, hex_digest_of_file, modules_fingerprint
from .files import digest_of, file_stamp
from .provenance import Progress, Tracked, last_commit

if TYPE_CHECKING:  # the no-op check stays fast: the parser and sqlite-utils load on demand
    import sqlite_utils

    from .load import MappedFile
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
DATABASE_MODULES = ("batches", "build", "catalog", "changes", "dates", "derive", "digest",
                    "figures", "files", "filters", "forks", "load", "model", "places",
                    "provenance", "rows", "schema", "spans", "store", "validate",
                    "views")  # fmt: skip


@functools.cache
def schema_fingerprint() -> str:
    """A hash of the source of ``DATABASE_MODULES``."""
    return modules_fingerprint(DATABASE_MODULES)


# The key of build_info holding the input's hash (``input_hash``) of the last build.
INPUT_KEY = "input_hash"
# The key holding the input file's stamp when it was read (``file_stamp``).
STAMP_KEY = "input_stamp"


def built_from(info: dict[str, str], path: Path, raw: bytes | None = None) -> bool:
    """Whether the build that kept ``info`` read this very file, whose bytes are ``raw`` (read
    here when needed): by its stamp, or by the hash of its bytes at its last commit (with this
    tool and schema)."""
    try:
        stamp = file_stamp(path)
        commit = last_commit(path)
        if not info or unchanged_since(info, stamp, commit):
            return bool(info)
        digest = hex_digest_of_file(path) if raw is None else digest_of(raw)
    except OSError:
        return False
    return hashed_as_built(info, digest, commit)


def hashed_as_built(info: dict[str, str], digest: str, commit: str) -> bool:
    """Whether the build that kept ``info`` read bytes of this digest at ``commit`` (with
    this tool and schema)."""
    return input_hash_of(digest, commit) == info.get(INPUT_KEY)


def unchanged_since(info: dict[str, str], stamp: str, commit: str) -> bool:
    """Whether the last build (``info``) read the file that now has ``stamp``, at the same
    commit, with this tool and schema."""
    return bool(stamp) and (
        info.get(STAMP_KEY), info.get("input_commit"), info.get("tool_version"),
        info.get("schema_version"),
    ) == (stamp, commit, __version__, schema_fingerprint())  # fmt: skip


def input_hash(yaml_bytes: bytes | MappedFile, commit: str = "") -> str:
    """What determines the database: the YAML, its last commit (for the edit history),
    the tool version and the schema's fingerprint."""
    return input_hash_of(digest_of(yaml_bytes), commit)


def input_hash_of(digest: str, commit: str = "") -> str:
    """``input_hash`` of the YAML whose bytes' ``hex_digest`` is ``digest``."""
    given = f"{digest}\0{commit}\0{__version__}\0{schema_fingerprint()}"
    return hex_digest(given.encode())


# The database is written in place, in one transaction, in write-ahead-log mode: readers
# keep the last committed database while a build writes, and a build that dies is rolled
# back when the file is next opened. NORMAL syncing never corrupts the file in this mode (a
# power cut may lose the last build, which the next one redoes), and a 64 MiB page cache
# instead of 2 MiB takes ~40 % off a large write. Each page of a build from empty is written
# once, so there is nothing for a VACUUM to compact (it used to rewrite the whole file).
# A build's settings of its connection, whatever the journal.
SETTINGS_PRAGMAS = ("synchronous = normal", "cache_size = -65536", "journal_size_limit = 67108864")
BUILD_PRAGMAS = ("journal_mode = wal", *SETTINGS_PRAGMAS)
# A database file the build creates is written with a rollback journal instead, and put in
# write-ahead-log mode once committed: no reader can have a new file open, and a rollback
# journal keeps only the pages the file held before (none), where the log would take every
# page once and the checkpoint write it again.
NEW_FILE_PRAGMAS = ("journal_mode = delete", *SETTINGS_PRAGMAS)


def standalone(db_path: Path) -> None:
    """Take the database out of write-ahead-log mode: a copy that is served immutable,
    published or downloaded is then one file, readable where no log can be written."""
    with closing(sqlite3.connect(db_path)) as conn:
        conn.execute("pragma journal_mode = delete")


def drop_everything(conn: sqlite3.Connection) -> None:
    """Drop every view, table and index of the database (inside the build's transaction),
    so that a build from empty starts from an empty schema in the same file."""
    master = "select name from sqlite_master where type = ? and name not like 'sqlite_%'"
    for (name,) in conn.execute(master, ["view"]).fetchall():
        conn.execute(f"drop view [{name}]")
    # a full-text table drops its own shadow tables, so each table is looked up again
    virtual = master.replace("type = ?", "type = ? and sql like 'create virtual table%'")
    for kind in (virtual, master):
        for (name,) in conn.execute(kind, ["table"]).fetchall():
            conn.execute(f"drop table if exists [{name}]")


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
        insert(db, "yaml_spans", ["part", "value"], spans.pack().items())


def write_history(db: sqlite_utils.Database, tracked: dict[str, Tracked]) -> None:
    """Each event's edit-history row (replacing the one it had)."""
    db.conn.executemany(
        "insert or replace into edit_history values (?, ?, ?, ?, ?, ?)",
        ((event_id, t.first_added, t.added_in, t.last_changed, t.changed_in, t.fingerprint)
         for event_id, t in sorted(tracked.items())),
    )  # fmt: skip


def insert(db: sqlite_utils.Database, table: str, columns: list[str], rows: Iterable) -> None:
    """Insert rows, each a sequence of the values of ``columns`` as SQLite takes them, with
    one prepared statement (sqlite-utils' insert_all rebuilds its SQL and re-checks every
    value per batch, half of a large build's write time)."""
    sql = f"insert into [{table}] ({', '.join(f'[{c}]' for c in columns)}) values "
    sql += f"({', '.join('?' * len(columns))})"
    db.conn.executemany(sql, rows)
