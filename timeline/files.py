"""Every file the tool writes goes through here: locked, atomic, identity kept.

* **Locked**: a writer of ``events.yaml`` holds an exclusive lock on a sibling
  lock file for its whole read-modify-write, so two ``timeline add`` runs
  started together both land. Just before the rename it re-reads the file; if
  something that does not take the lock (an editor) changed it meanwhile, the
  edit is redone on the new content, or refused.
* **Atomic**: the new content goes to a temporary file in the same directory,
  is flushed to disk and renamed over the target; a reader (or a crash) sees
  the old file or the new one, never a mix.
* **Identity kept**: a symlink is written through (the link stays a link), and
  the byte-order mark, line endings and permissions of the file are kept.
* **Outputs guarded**: every write names the kind of file it writes, and an output
  is judged by what it is (symlinks resolved, content read), not by the name it was
  given: one that is an input, or an existing file of another kind, is refused before
  anything is written. A YAML file is replaced only by ``add``/``fmt`` (kind "yaml") or
  over an earlier ``export --format yaml``; JSON only by JSON, CSV by CSV, a database by a
  database, other text only by text of the same extension.
* **Not renamed over what is not a file**: a FIFO, a device or a socket (``/dev/stdout``)
  is written to as a stream; a database must be a regular file.
* **Cleaned up**: a write that fails (a full disk) removes its temporary files, replaces
  nothing and says why; a command writing several files stages them all first. New files
  get the usual mode for the umask (0644 under umask 022), not mkstemp's 0600.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import sqlite3
import stat
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import BinaryIO

from filelock import FileLock, Timeout

from .digest import hex_digest, hex_digest_of_file, hex_digest_of_parts
from .load import MappedFile, decode

LOCK_TIMEOUT_S = 30.0
ATTEMPTS = 3
BOM = "\ufeff"
BOM_BYTES = BOM.encode()
# YAML's line breaks (the parser counts lines by these); a file keeps the first it uses.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_LINE_BREAK_BYTES = re.compile(rb"\r\n|\r|\n")


def line_ending(text: str | bytes) -> str:
    """The line break ``text`` (or the bytes of a file) ends its first line with:
    ``"\\r\\n"``, ``"\\r"`` (an old Mac file, which YAML reads as line breaks too) or
    ``"\\n"`` (also for a single line), so that an edit writes its new lines the way the
    file's other lines are written.

    Example: ``line_ending("a: 1\\rb: 2\\r") == "\\r"``.
    """
    found = (_LINE_BREAK if isinstance(text, str) else _LINE_BREAK_BYTES).search(text)
    if found is None:
        return "\n"
    return found.group() if isinstance(text, str) else found.group().decode()


def with_line_ending(text: str, newline: str) -> str:
    """``text`` with ``newline`` ending every line (``"\\r\\n"``, ``"\\r"`` or ``"\\n"``)."""
    if newline == "\n":
        return text
    return text.replace("\r\n", "\n").replace("\n", newline)


# How long ago a file must have last changed for its stamp to be trusted: a write in the
# same tick of the file system's clock as the build's read could leave the stamp unchanged.
SETTLED_NS = 1_000_000_000


def file_stamp(path: Path) -> str:
    """The file's device, inode, size, modification and change times, or "" when it last
    changed less than ``SETTLED_NS`` ago. Its change time is set by the kernel on every
    write, rename or copy over it, and no program can set it back: an unchanged stamp is an
    unchanged file, as make and git assume, without reading it."""
    st = os.stat(path)
    if time.time_ns() - st.st_ctime_ns < SETTLED_NS:
        return ""
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


class WriteRefused(Exception):
    """Nothing was written; ``str(exc)`` says why and ``hint`` how to proceed."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class Spliced:
    """New bytes for a file: its old bytes (``base``) with ``insert`` put in at byte ``at``.
    Written piece by piece and never joined: joining would copy the whole file once more
    (at 100,000 events, 290 MiB made only to be written).

    Example::

        write_atomically(Path("events.yaml"), Spliced(old, 120, b"  - id: new\n"))
    """

    base: bytes
    at: int
    insert: bytes

    @contextmanager
    def pieces(self) -> Iterator[list[bytes | memoryview]]:
        """The new bytes in order, the old ones as views of ``base`` (released on leaving,
        so that a mapped ``base`` can be closed)."""
        with memoryview(self.base) as whole, whole[: self.at] as head, whole[self.at :] as tail:
            yield [head, self.insert, tail]

    def joined(self) -> bytes:
        """The new bytes as one copy."""
        with self.pieces() as pieces:
            return b"".join(pieces)


@dataclass(frozen=True)
class TextFile:
    """A text file as read, with what must survive a rewrite.

    Example::

        current = TextFile.read(Path("events.yaml"))
        current.encode(current.text) == Path("events.yaml").read_bytes()  # True
    """

    path: Path  # as the user named it
    target: Path  # the file actually read and replaced (symlinks resolved)
    bom: bool
    newline: str  # the file's own line ending: "\r\n", "\r" or "\n" (see line_ending)
    digest: str  # timeline.digest's of the bytes read
    raw: bytes = field(default=b"", repr=False)  # the bytes read
    stamp: str = ""  # ``file_stamp`` before the read ("" when it had just changed)

    @classmethod
    def read(cls, path: Path) -> TextFile:
        """Read ``path``; OSError passes through (and LoadError, for a file that is not
        UTF-8, when its ``text`` is first asked for)."""
        target = Path(os.path.realpath(path))
        stamp = file_stamp(target)  # before the bytes: a write after it changes the stamp
        return cls.of(path, target.read_bytes(), stamp)

    @classmethod
    def of(cls, path: Path, raw: bytes, stamp: str = "") -> TextFile:
        """The file at ``path`` as holding ``raw`` (read by the caller, e.g. a mapped copy)."""
        return cls(
            path=Path(path),
            target=Path(os.path.realpath(path)),
            bom=raw.startswith(BOM_BYTES),
            newline=line_ending(raw),
            digest=digest_of(raw),
            raw=raw,
            stamp=stamp,
        )

    @cached_property
    def text(self) -> str:
        """The file decoded, byte-order mark removed (decoded when first asked for: a large
        file's text takes twice its bytes' memory, and fmt works on the bytes)."""
        return decode(self.raw)

    def encode(self, text: str, *, convert_newlines: bool = True) -> bytes:
        """``text`` as bytes in this file's conventions: its BOM and, unless told not
        to (an edit that kept every other byte), its line ending on every line."""
        if convert_newlines:
            text = with_line_ending(text, self.newline)
        return ((BOM if self.bom else "") + text).encode("utf-8")

    def unchanged_on_disk(self) -> bool:
        """Whether the file is still the one read: by its stamp, or else by its bytes."""
        try:
            if self.stamp and file_stamp(self.target) == self.stamp:
                return True
            return hex_digest_of_file(self.target) == self.digest
        except OSError:
            return False


def digest_of(raw: bytes | MappedFile) -> str:
    """``hex_digest`` of a file's bytes; a mapped file's a window at a time, its pages given
    back as it goes (so they are not all held at once)."""
    return hex_digest_of_parts(raw.windows()) if isinstance(raw, MappedFile) else hex_digest(raw)


def lock_for(path: Path) -> FileLock:
    """The exclusive lock that every writer of ``path`` takes (a hidden sibling file)."""
    target = Path(os.path.realpath(path))
    return FileLock(target.with_name(f".{target.name}.lock"), timeout=LOCK_TIMEOUT_S)


@contextmanager
def write_lock(path: Path) -> Iterator[None]:
    """The lock every writer of ``path`` holds (``lock_for``), held for the block;
    WriteRefused when it cannot be had (another command holds it for too long, or no lock
    file can be made beside the file)."""
    if not os.path.isfile(path):
        TextFile.read(path)  # the OSError that says why (missing, a directory), before any lock
    lock = lock_for(path)
    try:
        lock.acquire()
    except Timeout:  # a subclass of OSError: first
        raise WriteRefused(
            f"{path} is locked by another timeline command for over {LOCK_TIMEOUT_S:.0f} s",
            "wait for it to finish and try again",
        ) from None
    except OSError as exc:
        raise _cannot_write(path, exc) from None
    try:
        yield
    finally:
        lock.release()


def rewrite(
    path: Path, change: Callable[[TextFile], bytes | Spliced | None], *, locked: bool = False
) -> TextFile:
    """Locked read-modify-write of ``path``; returns the file as it was read.

    ``change`` gets the current file and returns the new bytes, or None to leave
    the file alone. If the file changed on disk while ``change`` ran (a writer
    that does not take the lock), ``change`` runs again on the new content; after
    ATTEMPTS tries the write is refused and the file is left as it is. ``locked``: the
    caller holds ``write_lock(path)`` already.

    Example::

        rewrite(Path("events.yaml"), lambda f: f.encode(f.text.replace("a", "b")))
    """
    with nullcontext() if locked else write_lock(path):
        for _ in range(ATTEMPTS):
            current = TextFile.read(path)  # unreadable: OSError as it is, nothing written
            new = change(current)
            if new is None:
                return current
            if current.unchanged_on_disk():
                try:
                    write_atomically(current.target, new)
                except OSError as exc:
                    raise _cannot_write(path, exc) from None
                return current
    raise WriteRefused(
        f"{path} kept changing while it was being rewritten; nothing was written",
        "save your editor's buffer, then run the command again",
    )


def _cannot_write(path: Path, exc: OSError) -> WriteRefused:
    return WriteRefused(
        f"cannot write {path}: {exc.strerror or exc}; the file is unchanged",
        "check the permissions of the file and of its directory",
    )


def write_atomically(
    path: Path, data: bytes | str | Spliced, kind: str | None = None, inputs: Iterable[Path] = ()
) -> None:
    """Replace ``path`` with ``data`` via a flushed temporary sibling and a rename, after
    :func:`check_output` (``kind``: see KINDS; by default judged from the name).

    A symlink is written through to its target; the target's permissions are kept.
    """
    path = Path(path)
    write_files({path: data}, {path: kind} if kind else None, inputs)


def write_files(
    files: dict[Path, bytes | str | Spliced],
    kinds: dict[Path, str] | None = None,
    inputs: Iterable[Path] = (),
) -> None:
    """Write several files all or nothing (as far as renames allow): every output is
    checked (``kinds``: each file's kind, by default judged from its name), then every
    temporary file written, then each renamed over its target.

    Example::

        write_files({Path("out/a.csv"): "x\n", Path("out/b.csv"): "y\n"})
    """
    inputs = list(inputs)
    for path in files:
        check_output(path, (kinds or {}).get(path) or kind_for_name(path), inputs)
    staged: list[tuple[Path, Path]] = []
    try:
        for path, data in files.items():
            raw = data.encode("utf-8") if isinstance(data, str) else data
            if _is_stream(path):  # by the name given: /dev/stdout resolves to no real path
                _stream(path, raw)
                continue
            target = Path(os.path.realpath(path))
            staged.append((_staged(target, raw), target))
        for tmp, target in staged:
            replace_durably(tmp, target)
    except OSError as exc:
        raise _cannot_write(Path(exc.filename or next(iter(files))), exc) from None
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)


def _staged(target: Path, data: bytes | Spliced) -> Path:
    """``data`` in a temporary sibling of ``target``, with the mode ``target`` will have."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            _write(handle, data)
        if target.exists():
            shutil.copymode(target, tmp)
        else:
            os.chmod(tmp, 0o666 & ~_umask())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def pieces_of(data: bytes | Spliced) -> AbstractContextManager[list[bytes | memoryview]]:
    """New bytes for a file as the pieces to write in order (``Spliced.pieces``)."""
    return data.pieces() if isinstance(data, Spliced) else nullcontext([data])


def _write(handle: BinaryIO, data: bytes | Spliced) -> None:
    with pieces_of(data) as pieces:
        for piece in pieces:
            handle.write(piece)


def _umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return mask


def _is_stream(target: Path) -> bool:
    try:
        mode = target.stat().st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def _stream(target: Path, data: bytes | Spliced) -> None:
    """Write to a FIFO, device or socket in place: renaming over it would replace it."""
    try:
        fd = os.open(target, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a FIFO nobody reads would block forever
            raise WriteRefused(
                f"{target} is a pipe that no process is reading", "start its reader first"
            ) from None
        raise
    try:
        os.set_blocking(fd, True)
        with os.fdopen(fd, "wb", closefd=False) as handle:
            _write(handle, data)
    finally:
        os.close(fd)


def replace_durably(written: Path, target: Path) -> None:
    """Sync a finished temporary file to disk, rename it over ``target``, sync the rename."""
    with open(written, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(written, target)
    _fsync_dir(target.parent)


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (best effort: not every filesystem allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- output guards -----------------------------------------------------------

KINDS = {
    "sqlite": "an SQLite database",
    "json": "a JSON file",
    "csv": "a CSV file",
    "yaml": "a YAML file",
    "yaml export": "a YAML file written by timeline export",
}
YAML_EXPORT_MARK = "exported from the database by timeline export."
TEXT = "text "  # + the extension: "text .md" is a Markdown file
SAME_FORMAT = {".markdown": ".md", ".ndjson": ".jsonl", ".ical": ".ics", ".yml": ".yaml"}


def describe(kind: str) -> str:
    return KINDS.get(kind) or f"a {kind.removeprefix(TEXT) or 'plain'} text file"


def kind_for_name(path: Path) -> str:
    """The kind of file a name says it is, for a writer that names its own files."""
    suffix = SAME_FORMAT.get(Path(path).suffix.lower(), Path(path).suffix.lower())
    named = {".json": "json", ".csv": "csv", ".tsv": "csv", ".yaml": "yaml", ".yml": "yaml"}
    return named.get(suffix) or ("sqlite" if suffix == ".db" else TEXT + suffix)


def kind_of(path: Path) -> str:
    """What an existing regular file holds: judged by its content, and by the name of the
    file itself (symlinks resolved), never by the name of a link to it."""
    real = Path(os.path.realpath(path))
    with open(real, "rb") as handle:
        head = handle.read(4096)
    suffix = SAME_FORMAT.get(real.suffix.lower(), real.suffix.lower())
    if head.startswith(b"SQLite format 3\x00"):
        return "sqlite"
    if suffix in (".yaml", ".yml"):
        first_line = head.split(b"\n", 1)[0].decode("utf-8", "replace")
        return "yaml export" if YAML_EXPORT_MARK in first_line else "yaml"
    if suffix not in (".jsonl", ".ndjson") and head.lstrip()[:1] in (b"{", b"["):
        try:
            json.loads(real.read_bytes())
            return "json"
        except ValueError:
            pass
    return "csv" if suffix in (".csv", ".tsv") else TEXT + suffix


def check_output(output: Path, kind: str, inputs: Iterable[Path] = ()) -> None:
    """Refuse to write ``output`` over an input or over an existing file of another kind.

    Example::

        check_output(Path("record.db"), "sqlite", inputs=[Path("events.yaml")])
    """
    output = Path(output)
    if output.is_dir():
        raise WriteRefused(f"{output} is a directory", "give a file name")
    if not output.exists():
        return
    for source in inputs:
        if Path(source).exists() and os.path.samefile(output, source):
            raise WriteRefused(
                f"{output} is the input file {source}; writing there would destroy it",
                "choose another output path",
            )
    if _is_stream(output):  # written to as a stream, never renamed over
        if kind == "sqlite":
            raise WriteRefused(
                f"{output} is not a regular file; a database cannot be written to it",
                "give a file name",
            )
        return
    if output.stat().st_size == 0:
        return
    found = kind_of(output)
    if found != kind and not (kind == "yaml" and found == "yaml export"):
        raise WriteRefused(
            f"{output} exists and is {describe(found)}, not {describe(kind)}; "
            "it would be overwritten",
            "choose another output path, or remove that file first",
        )
    if kind == "sqlite" and not _is_readable_sqlite(output):
        raise WriteRefused(
            f"{output} exists but is not a readable SQLite database",
            "choose another output path, or remove that file first",
        )


def _is_readable_sqlite(path: Path) -> bool:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            conn.execute("select count(*) from sqlite_master").fetchone()
        finally:
            conn.close()
        return True
    except sqlite3.Error:
        return False
