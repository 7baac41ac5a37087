"""Parse and check a file's records in batches, for a build from empty in bounded memory.

The bytes are cut where ``timeline.load.read_records`` cuts them: each top-level key's own
lines, and each item of its block list. The keys' own lines are read first, here, so the
sections are known; their records are then read in batches, in the order the rows need
them (``schema.SECTIONS``: an event's row names its actors and systems, read from theirs).
Each batch is read and checked on its own (``validate.validate_batch``) by two forked
processes, which share the bytes; this process writes each batch's rows as it comes, and
keeps of the records only what the checks across them need (``validate.Index``) and
where each one is (for ``timeline.spans``).

Whatever the batches cannot settle raises ``Unsettled``: a file not cut so (text before
its first key, an anchor, a byte-order mark), a section that is not a block list of
records, any problem in a record, or one across them. The build then reads and checks
the file whole, which says where each problem is.

Example::

    batches = Batches(raw, Path("events.yaml"), prints=True)
    for dataset in batches:  # raises Unsettled, at the end for the checks across records
        write(dataset)
    batches.document()  # the records' ids and places, for ``spans.record_spans``
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from . import schema
from .forks import can_fork, forked
from .load import (
    PARALLEL_BYTES,
    Document,
    LoadError,
    Piece,
    Pieces,
    _Refused,
    one_item,
    one_key,
    paused_gc,
    read_piece_bytes,
    record_cuts,
    section_starts,
)
from .model import Dataset
from .provenance import fingerprints_of
from .validate import (
    CrossCheck,
    Found,
    Index,
    Result,
    Unsettled,
    located_warnings,
    named_at_two_points,
    unused_warnings,
    validate_batch,
)

# About this many bytes of records a batch (a few hundred events): large enough that
# handing a batch to a process costs little beside reading it, small enough that the
# batches in flight hold little.
BATCH_BYTES = 2**20
# How many batches are read ahead of the one being written (half by each reader).
AHEAD = 4


@dataclass(frozen=True)
class _Task:
    """One batch: a section's records, as (start, end) byte offsets in the file, and what
    to hand back of them."""

    section: str
    stretches: list[tuple[int, int]]
    prints: bool
    today: dt.date
    warnings: bool  # what the warnings need, instead of the records' models


@dataclass
class _Read:
    """A batch read and checked: its records' models (none for ``validate``), its index and
    its fingerprints."""

    dataset: Dataset | None
    index: Index
    prints: dict[str, str]


class Batches:
    """The records of a file, read and checked in batches (iterate once; see the module).
    ``warnings``: no models are handed back (``None`` each batch), and ``found`` holds the
    file's warnings once every batch is read (for ``validate.located_warnings``)."""

    def __init__(
        self,
        raw: bytes,
        path: Path,
        *,
        prints: bool,
        today: dt.date | None = None,
        warnings: bool = False,
    ):
        self.raw, self.path = raw, path
        self.checks = CrossCheck()
        self.prints: dict[str, str] = {}  # each event's fingerprint (``prints``)
        self.found: list[Found] = []
        self._want_prints, self._warnings = prints, warnings
        self._today = today or dt.date.today()
        self._sections = _sections(raw)

    def __iter__(self) -> Iterator[Dataset | None]:
        tasks = [_Task(section, batch, self._want_prints, self._today, self._warnings)
                 for section in schema.SECTIONS if section in self._sections
                 for batch in _batched(self._sections[section][1])]  # fmt: skip
        cited: set[str] = set()
        used: set[str] = set()
        places: list[tuple[int, str, str, float, float]] = []  # (number, id, name, point)
        # closed as soon as a check fails: its readers end before the whole file is read
        with contextlib.closing(_map(self.raw, tasks)) as reads:
            for read in reads:
                index = read.index
                first = len(self.checks.ids[index.section])  # the batch's first record's number
                self.checks.add(index)
                self.prints |= read.prints
                self.found += [self._found(name, index.section, first + i, index.ids[i])
                               for name, i in index.warned]  # fmt: skip
                cited |= index.cited
                used |= index.used
                places += [(first + i, index.ids[i], *place) for i, *place in index.places]
                yield read.dataset
        self.checks.finish()
        split = named_at_two_points(place[2:] for place in places)
        self.found += [self._found("other point", "events", number, record)
                       for number, record, name, *_ in places if name in split]  # fmt: skip
        for section in ("systems", "sources") if self._warnings else ():
            ids = list(self.checks.ids[section])
            self.found += [self._found(name, section, i, ids[i])
                           for name, i in unused_warnings(section, ids, cited, used)]  # fmt: skip

    def _found(self, name: str, section: str, i: int, record: str) -> Found:
        return (name, section, i, record, self._sections[section][1][i])

    def document(self) -> Document:
        """The file as a document of its records' ids and where each was read (byte
        offsets): what ``spans.record_spans`` needs of a parse, once the batches are read."""
        pieces, data = Pieces(), {}
        for section, (piece, items) in self._sections.items():
            pieces.sections[section] = piece
            data[section] = [{"id": i} for i in self.checks.ids[section]]
            if items:  # (their lines are not counted: the spans do not need them)
                pieces.items[section] = [Piece(a, b, 0) for a, b in items]
        return Document(data, self.path, text=self.raw, pieces=pieces)


def validated(path: Path, today: dt.date | None = None) -> Result | None:
    """What ``validate`` finds in the file at ``path`` when its batches settle it (no
    errors): its warnings, located, and its counts of records; None when they do not (or
    the file cannot be read: ``validate_file`` says why). Raises Unsettled when a record's
    value is refused (``Unsettled.refused``: ``validate_file`` takes it).

    Example::

        result = validated(Path("events.yaml")) or validate_file(Path("events.yaml"))
    """
    try:
        raw = path.read_bytes()
        batches = Batches(raw, path, prints=False, today=today, warnings=True)
        for _ in batches:
            pass
    except OSError:
        return None
    except Unsettled as exc:
        if exc.refused:
            raise
        return None
    totals = {section: len(ids) for section, ids in batches.checks.ids.items()}
    return located_warnings(path, raw, batches.found, totals)


def _sections(raw: bytes) -> dict[str, tuple[Piece, list[tuple[int, int]]]]:
    """Each section's piece and the (start, end) of each of its records, in file order;
    Unsettled unless every top-level key is a section, once, each a block list of records
    (or an empty list), and every required section is there."""
    try:
        cuts = record_cuts(raw, section_starts(raw))
    except ValueError:  # not cut so: read whole
        raise Unsettled("a file not cut into records") from None
    found: dict[str, tuple[Piece, list[tuple[int, int]]]] = {}
    for start, end, items in cuts:
        try:
            key, value = one_key(read_piece_bytes(raw[start : items[0]]))
        except ValueError:  # not UTF-8, too deep, or not one key that reads alone
            raise Unsettled("a key that does not read alone") from None
        if key not in schema.SECTIONS or key in found:
            raise Unsettled(f"the key {key!r}")
        if value != ([] if len(items) == 1 else None):
            raise Unsettled(f"the section {key!r} is not a block list")
        found[key] = (Piece(start, end, 0), list(itertools.pairwise(items)))
    missing = set(schema.SECTIONS) - set(schema.OPTIONAL_SECTIONS) - set(found)
    if missing:
        raise Unsettled(f"no section {min(missing)!r}")
    return found


def _batched(records: list[tuple[int, int]]) -> Iterator[list[tuple[int, int]]]:
    """The records in runs of about BATCH_BYTES."""
    batch: list[tuple[int, int]] = []
    size = 0
    for record in records:
        batch.append(record)
        size += record[1] - record[0]
        if size >= BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


# -- the reading, in this process or in two forked ones --------------------------------------


def _map(raw: bytes, tasks: list[_Task]) -> Iterator[_Read]:
    """Each task read, in order: by two forked readers when the file is large and processes
    can be forked (alternate tasks each, AHEAD tasks ahead of the one being written at
    most), else here."""
    if len(raw) < PARALLEL_BYTES or not can_fork():
        for task in tasks:
            yield _read(raw, task)
        return
    works = [functools.partial(_read_each, raw, tasks[first::2]) for first in (0, 1)]
    with forked(works, ahead=AHEAD // 2) as readers:  # ended when this generator ends, or is closed
        for reader in itertools.islice(itertools.cycle(readers), len(tasks)):
            yield next(reader)


def _read_each(raw: bytes, tasks: list[_Task]) -> Iterator[_Read]:
    """In a forked reader: its tasks read in turn."""
    return (_read(raw, task) for task in tasks)


def _read(raw: bytes, task: _Task) -> _Read:
    """One batch's records read alone, each by the loader's checks, then checked."""
    items = []
    with paused_gc():
        for start, end in task.stretches:
            try:
                items.append(one_item(read_piece_bytes(raw[start:end])))
            except _Refused:
                raise Unsettled("a record's value is refused", refused=True) from None
            except (ValueError, LoadError):  # not UTF-8, too deep, not one item read alone
                raise Unsettled("a record that does not read alone") from None
        dataset, index = validate_batch(
            task.section, items, Path(), task.today, warnings=task.warnings
        )
        wanted = task.prints and task.section == "events"
        prints = fingerprints_of({"events": items}) if wanted else {}
    return _Read(dataset, index, prints)
