"""When each event was first added and last changed, read from the git history of the YAML.

Like a changelog: every committed version of ``events.yaml`` is read (all
blobs through one ``git cat-file --batch`` process) and each event's content
is fingerprinted; the first commit that has an event added it, the last
commit that changed its fingerprint changed it. Outside a git checkout, or
without git, there is no history and every value is None.

The work grows with the commits since the last build, not with all of them: the
state after the last commit read (each event's dates and fingerprint, a
``Tracked``) is kept in the database, and a build reads only the newer commits.
A commit whose file is the one being built is not parsed again: the build passes
the data it has already loaded. Within one reading, each version is cut into its records
as a build cuts the file, and a record whose bytes an earlier version held is not parsed
again: most commits change a few events, so the versions after the first cost a few
records each (a version that does not cut so is parsed whole).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import yaml

T = TypeVar("T")


@dataclass(frozen=True)
class History:
    first_added: str  # ISO 8601 commit time, with its offset
    added_in: str  # commit hash
    last_changed: str
    changed_in: str


def _git(cwd: Path, *args: str, stdin: bytes | None = None) -> bytes | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, input=stdin, capture_output=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def _object_id(root: Path, content: bytes) -> str:
    """Git's object id of a blob holding ``content``, in the checkout's hash."""
    found = _git(root, "rev-parse", "--show-object-format")
    algorithm = found.decode().strip() if found else "sha1"
    hashed = hashlib.new(algorithm, b"blob %d\0" % len(content))
    hashed.update(content)
    return hashed.hexdigest()


def _relative(yaml_path: Path) -> tuple[Path, str] | None:
    """The checkout's top directory and the file's path inside it, or None outside git."""
    folder = Path(yaml_path).resolve().parent
    top = _git(folder, "rev-parse", "--show-toplevel")
    if not top:
        return None
    root = Path(top.decode().strip())
    return root, Path(yaml_path).resolve().relative_to(root).as_posix()


def last_commit(yaml_path: Path) -> str:
    """The newest commit touching the file ('' outside git): part of the build's input hash."""
    where = _relative(yaml_path)
    if where is None:
        return ""
    out = _git(where[0], "log", "-1", "--format=%H", "--", where[1])
    return out.decode().strip() if out else ""


@dataclass(frozen=True)
class Tracked:
    """What the history knows of one event after the last commit read."""

    first_added: str
    added_in: str
    last_changed: str
    changed_in: str
    fingerprint: str


@dataclass
class Progress:
    """The history up to a commit: carried from one build to the next."""

    commit: str = ""
    events: dict[str, Tracked] = field(default_factory=dict)


def _fingerprints(blob: bytes, seen: dict[bytes, tuple[str, str] | None]) -> dict[str, str]:
    """Each event's fingerprint in a committed version of the file. Its records are cut
    and read as a build reads them, one at a time; a record whose bytes an earlier version
    held is not read again (``seen``: each record's digest, then its id and fingerprint, or
    None when it has none). A version that does not read so is read whole."""
    try:
        return _fingerprints_by_record(blob, seen)
    except _NotByRecord:
        pass
    try:
        data = yaml.load(blob, Loader=yaml.CSafeLoader)
    except Exception:
        # a broken historical version tells nothing about its events; PyYAML's constructors
        # raise more than YAMLError on one (an unquoted 2021-02-30: ValueError; a bad tag's
        # value: KeyError or AttributeError), which made the build end in a traceback
        return {}
    return fingerprints_of(data)


class _NotByRecord(Exception):
    """A version that does not read record by record: read whole."""


def _fingerprints_by_record(
    blob: bytes, seen: dict[bytes, tuple[str, str] | None]
) -> dict[str, str]:
    from .digest import digest
    from .load import LoadError, one_item, one_key, read_piece_bytes, record_cuts, section_starts

    def read(start: int, end: int, alone: Callable[[object], T]) -> T:
        """The piece's key or item (``alone``), read as the build reads it."""
        try:
            return alone(read_piece_bytes(blob[start:end]))
        except (ValueError, LoadError, yaml.YAMLError):  # not alone, refused, not UTF-8
            raise _NotByRecord from None

    try:
        sections = record_cuts(blob, section_starts(blob))
    except ValueError:  # no key, or text before the first one
        raise _NotByRecord from None
    heads = [(read(start, cuts[0], one_key), cuts) for start, _, cuts in sections]
    found = [(value, cuts) for (key, value), cuts in heads if key == "events"]
    if len(found) != 1:  # none, or a key written twice (read whole: the last one counts)
        raise _NotByRecord
    value, cuts = found[0]
    if len(cuts) == 1:  # no block list of records: the key's own value
        return fingerprints_of({"events": value})
    if value is not None:
        raise _NotByRecord  # a list item after a key with a value
    out = {}
    for start, end in itertools.pairwise(cuts):
        key = digest(blob[start:end])
        if key not in seen:
            prints = fingerprints_of({"events": [read(start, end, one_item)]})
            seen[key] = next(iter(prints.items()), None)
        if seen[key] is not None:
            event_id, print_ = seen[key]
            out[event_id] = print_
    return out


def fingerprints_of(data: object) -> dict[str, str]:
    """Each event's fingerprint in a parsed version of the file."""
    events = data.get("events") if isinstance(data, dict) else None
    out = {}
    for raw in events if isinstance(events, list) else []:
        if isinstance(raw, dict) and isinstance(raw.get("id"), str):
            try:
                canonical = json.dumps(raw, sort_keys=True, default=str, ensure_ascii=False)
            except (TypeError, ValueError, RecursionError):
                # keys of mixed types, an int of thousands of digits, too deep: only an old
                # version holds one (the loader refuses each), and it tells nothing
                continue
            out[raw["id"]] = hashlib.sha1(canonical.encode()).hexdigest()
    return out


def _read_blobs(root: Path, specs: list[str], known: bytes | None = None) -> Iterator[bytes | None]:
    """Contents of ``commit:path`` specs, in order, one at a time; None for a blob that
    holds exactly ``known`` (found by its object id, without reading it: a large file's last
    commit is the file being built). Ends early if git does."""
    listed = None
    if known is not None and specs:
        listed = _git(root, "cat-file", "--batch-check=%(objectname)",
                      stdin="".join(f"{s}\n" for s in specs).encode())  # fmt: skip
    if listed is None:
        yield from _blob_contents(root, specs)
        return
    same = _object_id(root, known)
    ids = listed.decode().splitlines()  # an id, or "<spec> missing"
    with contextlib.closing(
        _blob_contents(root, [s for s, i in zip(specs, ids, strict=False) if i != same])
    ) as read:
        for object_id in ids:
            blob = None if object_id == same else next(read, None)
            if blob is None and object_id != same:
                return
            yield blob
            del blob  # before the next one is read (see _blob_contents)


def _blob_contents(root: Path, specs: list[str]) -> Iterator[bytes]:
    """Contents of ``commit:path`` specs, in order, through one git process (b"" for one
    that is missing), asked for and read one at a time: only one version is held at once
    (each is as large as the file). Ends early if git does."""
    if not specs:
        return
    try:
        git = subprocess.Popen(["git", "cat-file", "--batch"], cwd=root, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)  # fmt: skip
    except OSError:
        return
    with git:  # (closes the pipes and waits for it)
        try:
            for spec in specs:
                git.stdin.write(f"{spec}\n".encode())
                git.stdin.flush()  # git answers each line as it comes (no --buffer)
                header = git.stdout.readline().split()
                if not header:
                    return
                if len(header) != 3:  # "<name> missing" (or ambiguous): nothing to read
                    yield b""
                    continue
                size = int(header[2])
                blob = git.stdout.read(size)
                if len(blob) != size or git.stdout.read(1) != b"\n":  # git ended midway
                    return
                yield blob
                del blob  # a version is as large as the file: one at a time
        except OSError:  # git is gone
            return
        finally:
            git.kill()  # it waits for more names; a reader that ended early leaves it too


_ENDED = object()  # git gave no more versions


class OtherVersion(Exception):
    """A commit to read holds a version the caller cannot fingerprint (``only_current``)."""


def event_history(
    yaml_path: Path,
    previous: Progress | None = None,
    current: tuple[bytes, Callable[[], dict[str, str]]] | None = None,
    *,
    only_current: bool = False,
    other: Callable[[bytes], dict[str, str] | None] | None = None,
    records: Callable[[], dict[bytes, tuple[str, str]]] | None = None,
) -> tuple[dict[str, History], Progress]:
    """``{event id: History}`` for the events committed in git ({} outside git), and the
    progress to hand to the next build.

    ``previous``: the progress of the last build (only newer commits are read when its
    commit is still in the file's history). ``current``: the bytes being built and what
    gives their events' fingerprints (called if a commit holds exactly those bytes).
    ``other``: the fingerprints of another version the caller knows (the one it built
    last), or None. ``only_current``: raise OtherVersion instead of parsing a commit that
    holds neither (a partial rebuild has no time to parse whole versions). ``records``: what
    gives the ids and fingerprints of records the caller has read, by the digest of their
    bytes (the file being built's; called if a version is to be parsed): an older version's
    record with the same bytes is not read again.

    Example::

        history, progress = event_history(Path("events.yaml"))
        history["2019-01-12-ukrspecexport-baykar-tb2-contract"].first_added
    """
    where = _relative(yaml_path)
    if where is None:
        return {}, Progress()
    root, rel = where
    log = _git(root, "log", "--reverse", "--format=%H %cI", "--", rel)
    if not log:
        return {}, Progress()
    commits = [line.split(" ", 1) for line in log.decode().splitlines() if line]
    shas = [sha for sha, _ in commits]
    state = Progress()
    if previous and previous.commit in shas:
        state = Progress(previous.commit, dict(previous.events))
        commits = commits[shas.index(previous.commit) + 1 :]
    specs = [f"{sha}:{rel}" for sha, _ in commits]
    seen: dict[bytes, tuple[str, str] | None] | None = None  # the records read, or known
    with contextlib.closing(_read_blobs(root, specs, current and current[0])) as blobs:
        for sha, when in commits:
            blob = next(blobs, _ENDED)
            if blob is _ENDED:
                break
            prints = current[1]() if current and (blob is None or blob == current[0]) else None
            if prints is None and other is not None:
                prints = other(blob)
            if prints is None and only_current:
                raise OtherVersion(sha)
            if prints is None:
                seen = dict(records() if records else {}) if seen is None else seen
                prints = _fingerprints(blob, seen)
            for event_id, print_ in prints.items():
                known = state.events.get(event_id)
                if known is None:
                    state.events[event_id] = Tracked(when, sha, when, sha, print_)
                elif known.fingerprint != print_:
                    state.events[event_id] = Tracked(known.first_added, known.added_in, when,
                                                     sha, print_)  # fmt: skip
            state.commit = sha
            del blob  # before the next version is read: each is as large as the file
    history = {
        event_id: History(t.first_added, t.added_in, t.last_changed, t.changed_in)
        for event_id, t in state.events.items()
    }
    return history, state
