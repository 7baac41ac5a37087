"""Where each event sits in ``events.yaml``, so that a rebuild can tell which events changed.

A full build records the file as consecutive segments, from the YAML parser's marks:
the head (everything before the first event), one segment per event (from the line of
its ``-`` to the line of the next event's), and the tail (after the last event). Each
segment is kept as its length in bytes and a digest, beside the event ids.

The next build walks the new file through those segments. A segment whose bytes are
unchanged, at its old offset shifted by what the changes before it added or removed, is
an unchanged event. Where one differs, an island of changes starts: its new events are
read one by one from the parser's event stream until one of them is an old event with
unchanged bytes, found by its id, and the walk goes on from there. Only the islands'
events are checked and written again (``timeline.changes``).

An island parsed alone reads as it does inside the file. The bytes before it end an
event (unchanged, or the last of an island that parsed as whole events), so the parser
reaches it in the same state: between two items of the events list, at the start of an
item's line. After it come unchanged bytes that start an item at the same indentation
(or the tail), which ends whatever the island's last item holds. Anything else (an
island that is not a list of items at the events' indentation, an alias, a change to
the tail or to the head that ``changed_head`` does not read, too many changes) leaves the
update to a full build.

The head (sources, actors, systems, up to the events' first item) is kept as one segment
and, in ``Spans.head``, as the pieces ``timeline.load.read_records`` cuts it into: the
text before the first key, each key's own lines, and each record. When the head's digest
differs, ``changed_head`` cuts the new head the same way and matches each record by its
digest: a record whose bytes were there before is the same record, one whose bytes are
new is read alone, and the ids of the old records left over are those whose bytes went. A
key's own lines must not change. The events' walk then starts where the new head ends.

Example::

    spans = record_spans(document, raw)               # after a full build's parse
    changes = changed_events(spans, new_raw, path, head_too=True)  # None: in full
    changes.removed(spans), changes.reparsed.items
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from array import array
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

import yaml

from .digest import DIGEST_SIZE, digest, split_digests
from .files import BOM_BYTES
from .load import (
    Document,
    LoadError,
    decode,
    item_cuts,
    load_text,
    one_item,
    read_piece,
    section_starts,
)
from .provenance import fingerprints_of

PRINT_SIZE = 20  # SHA-1, as the edit history fingerprints an event
# What may stand on an event's line before the event itself: indentation and the dash.
_ITEM_LEAD = {str: re.compile(r"( *)- +"), bytes: re.compile(rb"( *)- +")}


def _item_lead(text: str | bytes) -> re.Pattern:
    """``_ITEM_LEAD`` for a text or for bytes (a document read in batches keeps the bytes:
    ``timeline.batches``)."""
    return _ITEM_LEAD[type(text)]


# A stretch parsed alone is parsed as the value of this one key.
_REGION_HEAD = b"events:\n"


@dataclass(frozen=True)
class Head:
    """The head's pieces as the database keeps them: three blobs, unpacked only when the
    head changed (an edit of events alone never looks at them)."""

    lengths: bytes  # each piece's byte length, as 64-bit integers
    digests: bytes  # each piece's digest, DIGEST_SIZE bytes each
    names: bytes  # each piece's "section<TAB>record", one a line

    @property
    def length(self) -> int:
        """The head's length in bytes."""
        return sum(_integers(self.lengths))

    def piece_lengths(self) -> list[int]:
        return list(_integers(self.lengths))

    def piece_names(self) -> list[tuple[str, str]]:
        """Each piece's section and record id ("" for a key's own lines)."""
        return [tuple(name.split("\t")) for name in self.names.decode().split("\n")]

    def piece_numbers(self) -> dict[bytes, int]:
        """Each piece's number by its name (``piece_name``), without decoding the names."""
        return {name: number for number, name in enumerate(self.names.split(b"\n"))}


def piece_name(section: str, record: str = "") -> bytes:
    """A head piece's name as ``Head.names`` keeps it: a record's section and id, or a
    section's key alone (its own lines)."""
    return f"{section}\t{record}".encode()


def _integers(blob: bytes) -> array:
    found = array("q")
    found.frombytes(blob)
    return found


@dataclass(frozen=True)
class Spans:
    """The file as segments: head, one per event (in file order), tail.

    ``lengths`` and ``digests`` have one entry per segment, ``ids`` one per event;
    ``column`` is the column of the events' dashes (the list's indentation).
    """

    lengths: tuple[int, ...]
    digests: tuple[bytes, ...]
    ids: tuple[str, ...]
    column: int
    # Each event's fingerprint as the edit history computes it (in a git checkout only):
    # a new commit of exactly these bytes then moves the history without a full parse.
    prints: tuple[bytes, ...] = ()
    # The head cut into its records (sources, actors, systems), when it reads so: an edit
    # of some of them then re-reads only those (``changed_head``).
    head: Head | None = None

    def pack(self) -> dict[str, bytes]:
        """The spans as a few blobs, for the database."""
        parts = {
            "lengths": array("q", self.lengths).tobytes(),
            "digests": b"".join(self.digests),
            "ids": "\n".join(self.ids).encode(),
            "column": str(self.column).encode(),
        }
        if self.head:
            parts |= {"head_lengths": self.head.lengths, "head_digests": self.head.digests,
                      "head_names": self.head.names}  # fmt: skip
        return parts | ({"prints": b"".join(self.prints)} if self.prints else {})

    def with_prints(self, prints: dict[str, str]) -> Spans:
        """These spans with the events' fingerprints (``provenance.fingerprints_of``)."""
        return dataclasses.replace(self, prints=tuple(bytes.fromhex(prints[i]) for i in self.ids))

    def records(self, prints: dict[str, str]) -> dict[bytes, tuple[str, str]]:
        """Each event's digest with its id and fingerprint (``prints``): what the edit
        history need not read again in an older version holding the same bytes."""
        events = zip(self.digests[1 : 1 + len(self.ids)], self.ids, strict=True)
        return {d: (i, prints[i]) for d, i in events if i in prints}

    def fingerprints(self) -> dict[str, str]:
        """The events' fingerprints by id, as ``provenance.fingerprints_of`` gives them."""
        return {i: p.hex() for i, p in zip(self.ids, self.prints, strict=True)}

    @classmethod
    def unpack(cls, parts: dict[str, bytes]) -> Spans:
        lengths = array("q")
        lengths.frombytes(parts["lengths"])
        ids = tuple(parts["ids"].decode().split("\n")) if parts["ids"] else ()
        blob = parts.get("prints", b"")
        prints = tuple(blob[i : i + PRINT_SIZE] for i in range(0, len(blob), PRINT_SIZE))
        spans = cls(tuple(lengths), _cut(parts["digests"]), ids, int(parts["column"]), prints,
                    _unpack_head(parts))  # fmt: skip
        if not len(spans.lengths) == len(spans.digests) == len(spans.ids) + 2:
            raise ValueError("inconsistent spans")
        if prints and len(prints) != len(ids):
            raise ValueError("inconsistent fingerprints")
        if spans.head and spans.head.length != spans.lengths[0]:
            raise ValueError("inconsistent head")
        return spans

    def offsets(self) -> list[int]:
        """Each segment's first byte, and the file's length last."""
        out = [0]
        for length in self.lengths:
            out.append(out[-1] + length)
        return out


def _cut(blob: bytes) -> tuple[bytes, ...]:
    return tuple(split_digests(blob))


def _unpack_head(parts: dict[str, bytes]) -> Head | None:
    if "head_names" not in parts:
        return None
    head = Head(parts["head_lengths"], parts["head_digests"], parts["head_names"])
    count = len(head.lengths) // 8
    if len(head.digests) != count * DIGEST_SIZE or head.names.count(b"\n") + 1 != count:
        raise ValueError("inconsistent head")
    return head


def record_spans(doc: Document, raw: bytes) -> Spans | None:
    """The segments of a parsed file, or None when its layout does not allow partial
    rebuilds (events not a block list of items each starting on its dash's line, or
    aliases, which can tie one event to another)."""
    text = doc.text if doc.text is not None else decode(raw)
    found = _event_lines(doc, text) if doc.root is not None else _piece_lines(doc, text)
    if found is None or doc.aliased:
        return None
    starts, events_end = found
    column = None
    for line_start, item_start in starts:
        lead = _item_lead(text).fullmatch(text, line_start, item_start)
        if lead is None or column not in (None, len(lead.group(1))):
            return None
        column = len(lead.group(1))
    if column is None:
        return None
    bounds = [0, *(line_start for line_start, _ in starts), events_end]
    if len(text) > bounds[-1]:
        bounds.append(len(text))
    else:
        bounds.append(bounds[-1])  # an empty tail
    lengths = _byte_lengths(text, bounds)
    if raw.startswith(BOM_BYTES) and isinstance(text, str):
        lengths[0] += len(BOM_BYTES)
    if sum(lengths) != len(raw):
        return None
    digests = _digests(raw, list(itertools.accumulate(lengths, initial=0)))
    ids = tuple(item.get("id") if isinstance(item, dict) else None for item in doc.data["events"])
    if not all(isinstance(i, str) and "\n" not in i for i in ids):
        return None
    head = _head_pieces(doc, text, raw, bounds[1])
    return Spans(tuple(lengths), tuple(digests), ids, column, head=head)


def _head_pieces(doc: Document, text: str, raw: bytes, end: int) -> Head | None:
    """The head (``text`` up to ``end``, where the first event's line starts) cut as
    ``read_records`` cuts, each piece named by the record the parse found there (however
    the file was read); None when the cuts are not the parse's records (an item cut inside
    a value running over lines makes one piece too many) or a record has no id the spans
    can keep."""
    if raw.startswith(BOM_BYTES) or not isinstance(doc.data, dict):
        return None
    try:
        cuts = _head_cuts(text, end)
    except ValueError:
        return None
    names = _named(cuts, doc.data)
    if names is None:
        return None
    bounds = [*(start for _, start in cuts), end]
    return _packed(raw, names, _byte_lengths(text, bounds))


def _named(cuts: list[tuple[bool, int]], data: dict) -> list[tuple[str, str]] | None:
    """Each cut's section and record id, when the cuts are exactly the data's keys and
    their items, up to the events' key (the last, without its items)."""
    keys, names, counts = list(data), [("", "")], []
    for is_item, _ in cuts[1:]:
        if not is_item:
            if len(counts) == len(keys):
                return None
            counts.append(0)
            names.append((keys[len(counts) - 1], ""))
            continue
        section = keys[len(counts) - 1]
        records, index = data[section], counts[-1]
        listed = isinstance(records, list) and index < len(records)
        record = _record_id(records[index]) if listed else None
        if record is None:
            return None
        names.append((section, record))
        counts[-1] += 1
    if not counts or keys[len(counts) - 1] != "events" or counts[-1]:
        return None
    for key, count in zip(keys, counts[:-1], strict=False):
        if count != (len(data[key]) if isinstance(data[key], list) else 0):
            return None
    return names


def _digests(raw: bytes, bounds: list[int]) -> list[bytes]:
    """The digest of each stretch of ``raw`` between consecutive ``bounds``."""
    view = memoryview(raw)
    return [digest(view[a:b]) for a, b in itertools.pairwise(bounds)]


def _record_id(record: object) -> str | None:
    """A record's id, if the spans can keep it (a non-empty text on one line)."""
    found = record.get("id") if isinstance(record, dict) else None
    if isinstance(found, str) and found and not ("\n" in found or "\t" in found):
        return found
    return None


def _packed(raw: bytes, names: list[tuple[str, str]], lengths: list[int]) -> Head:
    """The head's pieces with these names and byte lengths, from the start of ``raw``."""
    return Head(
        array("q", lengths).tobytes(),
        b"".join(_digests(raw, list(itertools.accumulate(lengths, initial=0)))),
        b"\n".join(piece_name(section, record) for section, record in names),
    )


# Where the head of a file ends, in its bytes: the line of its events key, then the line of
# the first item after it. The key's own lines (from it to that item) are then compared,
# by their digest, with the last build's.
_EVENTS_LINE = b"\nevents:"  # found by bytes.find, at C speed (or at the file's start)
_FIRST_ITEM = re.compile(rb"\n *-(?=[ \n])")


@dataclass(frozen=True)
class HeadChanges:
    """A new file's head against the last build's: its pieces, and its records whose
    bytes are new (read, by section) or gone (their ids, by section: an edited record is
    gone and new under the same id)."""

    head: Head  # the new head's pieces
    digest: bytes  # of the whole new head
    raw: bytes  # the new file
    new: dict[str, list[dict]]
    gone: dict[str, list[str]]

    @property
    def length(self) -> int:
        return self.head.length

    def read(self, section: str, ids: set[str]) -> list[dict]:
        """The records of ``section`` with these ids, read again from the new head."""
        bounds = list(itertools.accumulate(self.head.piece_lengths(), initial=0))
        return [read_piece(self.raw[bounds[i] : bounds[i + 1]].decode())[0]
                for i, (piece_section, record) in enumerate(self.head.piece_names())
                if piece_section == section and record in ids]  # fmt: skip


def changed_head(spans: Spans, raw: bytes) -> HeadChanges | None:
    """The records of ``raw``'s head that differ from the spans' head, read; None when the
    head does not cut into the same keys with the same lines of their own (a changed
    comment there, a new key, another order), a changed record does not read alone as
    one record with an id, or the spans keep no head.

    The new head is cut where ``read_records`` would cut it, in its bytes, and its pieces
    compared by their digests with the old ones: from the start and from the end while
    they are the same pieces in the same places, then, between, by digest wherever they
    are (a piece read alone before reads the same again), the others read alone.
    """
    old = spans.head
    if old is None or raw.startswith(BOM_BYTES):
        return None
    found = _events_line(raw, old)
    key = 0 if raw.startswith(_EVENTS_LINE[1:]) else found + 1 if found >= 0 else None
    item = _FIRST_ITEM.search(raw, key) if key is not None else None
    if item is None:
        return None
    end = item.start() + 1
    try:
        cuts = _head_cuts(raw, end)
    except ValueError:  # not cut as read_records cuts
        return None
    bounds = [*(start for _, start in cuts), end]
    digests = _digests(raw, bounds)
    names = old.names.split(b"\n")
    first, last = _same_ends(digests, old.digests)
    middle = _middle(raw, cuts, bounds, digests, (names, old.digests), (first, last))
    if middle is None:
        return None
    middle_names, new, gone = middle
    kept = len(digests) - last
    head = Head(
        array("q", (b - a for a, b in itertools.pairwise(bounds))).tobytes(),
        b"".join(digests),
        b"\n".join([*names[:first], *middle_names, *names[len(names) - kept :]]),
    )
    return HeadChanges(head, digest(memoryview(raw)[:end]), raw, new, gone)


def _events_line(raw: bytes, old: Head) -> int:
    """Where the events key's line is (the line break before it), looked for from a little
    before where it was (an edit moves it by a little): from the start when it is not
    there. A file has one events key, so the first one found after a point is the one."""
    was = old.length - _integers(old.lengths[-8:])[0]
    found = raw.find(_EVENTS_LINE, max(0, was - EVENTS_LINE_WINDOW))
    return found if found >= 0 else raw.find(_EVENTS_LINE)


# How far before its old place the events key's line is looked for first (bytes).
EVENTS_LINE_WINDOW = 2**20


def _same_ends(digests: list[bytes], old: bytes) -> tuple[int, int]:
    """How many pieces are the same from the start, and up to where from the end (the
    index of the first of the last same pieces), as the old digests have them."""
    count = len(old) // DIGEST_SIZE
    first = 0
    limit = min(count, len(digests))
    while first < limit and digests[first] == old[first * DIGEST_SIZE : (first + 1) * DIGEST_SIZE]:
        first += 1
    kept = 0
    while (
        kept < limit - first
        and digests[-1 - kept]
        == old[(count - 1 - kept) * DIGEST_SIZE : (count - kept) * DIGEST_SIZE]
    ):
        kept += 1
    return first, len(digests) - kept


def _middle(raw, cuts, bounds, digests, old, ends):
    """The names of the new pieces between the same ends, the records read and the ids
    gone, by section; None when the keys' own lines differ or a record does not read."""
    (names, old_digests), (first, last) = old, ends
    count = len(names)
    kept = len(digests) - last
    unchanged: dict[tuple[str, bytes], list[str]] = defaultdict(list)
    keys: list[tuple[str, bytes]] = []
    for i in range(first, count - kept):
        section, record = names[i].decode().split("\t")
        found = old_digests[i * DIGEST_SIZE : (i + 1) * DIGEST_SIZE]
        (unchanged[(section, found)].append(record) if record else keys.append((section, found)))
    section = names[first - 1].decode().split("\t")[0] if first else ""
    middle, new = [], defaultdict(list)
    for i in range(first, last):
        is_item, found = cuts[i][0], digests[i]
        if not is_item:
            if not keys or keys[0][1] != found:
                return None
            section = keys.pop(0)[0]
            middle.append(piece_name(section))
            continue
        same = unchanged.get((section, found))
        if same:
            middle.append(piece_name(section, same.pop()))
            continue
        record = _read_alone(raw[bounds[i] : bounds[i + 1]])
        if record is None:
            return None
        new[section].append(record)
        middle.append(piece_name(section, record["id"]))
    if keys:
        return None
    gone = defaultdict(list)
    for (section, _), ids in unchanged.items():
        gone[section] += ids
    return middle, dict(new), dict(gone)


def _head_cuts(text: str | bytes, end: int) -> list[tuple[bool, int]]:
    """(an item?, where it starts) of each piece of a head (``text`` up to ``end``), as
    ``read_records`` cuts; the first is the text before the first key."""
    starts = section_starts(text, end)
    cuts = [(False, 0)]
    for start, stop in itertools.pairwise(starts):
        items = item_cuts(text, start, stop)
        cuts.append((False, start))
        cuts += [(True, at) for at in items[:-1]]
    return cuts


def _read_alone(piece: bytes) -> dict | None:
    """A record read alone from its bytes (a list item with an id), or None."""
    try:
        record = one_item(read_piece(piece.decode("utf-8")))
    except ValueError:  # not UTF-8, not one item, or not read alone
        return None
    return record if _record_id(record) is not None else None


def _event_lines(doc: Document, text: str) -> tuple[list[tuple[int, int]], int] | None:
    """Each event's line start and its node's start, and where the events list ends, from
    PyYAML's node graph."""
    events = _events_node(doc)
    if events is None:
        return None
    starts = [(item.start_mark.index - item.start_mark.column, item.start_mark.index)
              for item in events.value]  # fmt: skip
    return starts, _events_end(doc, text)


def _piece_lines(doc: Document, text: str) -> tuple[list[tuple[int, int]], int] | None:
    """The same from a document read record by record (``Document.pieces``): an item's node
    starts after its dash and spaces, where PyYAML's mark of it is when it starts on that
    line (a comment or a line break there gives a position no lead matches, as from the
    graph)."""
    pieces = doc.pieces
    items = pieces.items.get("events") if pieces is not None else None
    if not items:
        return None
    starts = []
    for piece in items:
        lead = _item_lead(text).match(text, piece.start, piece.end)
        item_start = lead.end() if lead else piece.start
        if lead and text[item_start : item_start + 1] in ("#", "\n", b"#", b"\n"):
            item_start = piece.start  # not on the dash's line: no partial rebuilds
        starts.append((piece.start, item_start))
    keys = list(pieces.sections)
    following = keys.index("events") + 1
    events_end = pieces.sections[keys[following]].start if following < len(keys) else len(text)
    return starts, events_end


def _events_node(doc: Document) -> yaml.SequenceNode | None:
    root = doc.root
    if not isinstance(root, yaml.MappingNode) or root.flow_style:
        return None
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "events":
            if isinstance(value, yaml.SequenceNode) and not value.flow_style and value.value:
                return value
            return None
    return None


def _events_end(doc: Document, text: str) -> int:
    """Where the events list ends: the line of the next top-level key, or the file's end."""
    keys = [key for key, _ in doc.root.value]
    at = next(i for i, key in enumerate(keys) if key.value == "events")
    if at + 1 < len(keys):
        mark = keys[at + 1].start_mark
        return mark.index - mark.column
    return len(text)


def _byte_lengths(text: str | bytes, bounds: list[int]) -> list[int]:
    """The UTF-8 length of each stretch of ``text`` between consecutive ``bounds``."""
    if isinstance(text, bytes) or text.isascii():
        return [b - a for a, b in itertools.pairwise(bounds)]
    return [len(text[a:b].encode()) for a, b in itertools.pairwise(bounds)]


@dataclass(frozen=True)
class Island:
    """One changed stretch: old segments ``first`` to ``stop`` (exclusive; segment numbers,
    so events ``first - 1`` …) were replaced by the new bytes ``start`` to ``end``, which
    hold ``items`` events."""

    first: int
    stop: int
    start: int
    end: int
    items: int


@dataclass(frozen=True)
class Changes:
    """Every changed stretch of a file, in order, and their events parsed together."""

    islands: tuple[Island, ...]
    reparsed: Reparsed
    head: HeadChanges | None = None  # the head's records, when they changed

    def removed(self, spans: Spans) -> tuple[str, ...]:
        """The ids of the old events the islands replace."""
        return tuple(i for x in self.islands for i in spans.ids[x.first - 1 : x.stop - 1])

    def spliced(self, spans: Spans) -> Spans:
        """The spans of the new file: the old ones with each island's events replaced."""
        new, head = self.reparsed.spans, self.head
        lengths = [head.length] if head else list(spans.lengths[:1])
        digests, ids = [head.digest] if head else list(spans.digests[:1]), []
        at, item = 1, 1  # next old segment, next segment of the reparsed islands
        for x in self.islands:
            lengths += spans.lengths[at : x.first]
            digests += spans.digests[at : x.first]
            ids += spans.ids[at - 1 : x.first - 1]
            lengths += new.lengths[item : item + x.items] if new else ()
            digests += new.digests[item : item + x.items] if new else ()
            ids += new.ids[item - 1 : item - 1 + x.items] if new else ()
            at, item = x.stop, item + x.items
        lengths += spans.lengths[at:]
        digests += spans.digests[at:]
        ids += spans.ids[at - 1 :]
        kept = head.head if head else spans.head
        spliced = Spans(tuple(lengths), tuple(digests), tuple(ids), spans.column, head=kept)
        if not spans.prints:
            return spliced
        prints = spans.fingerprints() | fingerprints_of({"events": self.reparsed.items})
        return spliced.with_prints(prints)


class _Widen(Exception):
    """The island starts with lines that belong to the event before it."""


class _Walk:
    """Compares a new file with the old segments, from the start, island by island."""

    def __init__(self, spans: Spans, raw: bytes, limit: int):
        self.spans, self.raw, self.limit = spans, raw, limit
        self.offsets = spans.offsets()
        self.view = memoryview(raw)
        self.tail_start = len(raw) - spans.lengths[-1]
        self.by_id = {event_id: n + 1 for n, event_id in enumerate(spans.ids)}

    def same(self, segment: int, shift: int) -> bool:
        start, end = self.offsets[segment] + shift, self.offsets[segment + 1] + shift
        inside = start >= 0 and end <= len(self.raw)
        return inside and digest(self.view[start:end]) == self.spans.digests[segment]

    def islands(self, head_length: int) -> list[Island] | None:
        """The changed stretches of the events list, after a head of ``head_length`` bytes
        (the old one's, or the new one's that ``changed_head`` read)."""
        count = len(self.spans.lengths)
        shift = head_length - self.spans.lengths[0]
        if not self.same(count - 1, self.tail_start - self.offsets[-2]):
            return None  # the tail changed
        found: list[Island] = []
        segment, budget = 1, self.limit
        while True:
            while segment < count - 1 and self.same(segment, shift):
                segment += 1
            if segment == count - 1 and self.offsets[segment] + shift == self.tail_start:
                return found
            try:
                island, shift = self._island(segment, shift, budget)
            except _Widen:
                if segment - 1 < 1 or (found and found[-1].stop >= segment):
                    return None
                segment -= 1  # an unchanged event, read again with the lines after it
                island, shift = self._island(segment, shift, budget)
            if island is None:
                return None
            budget -= island.items + island.stop - island.first
            if budget < 0:
                return None
            found.append(island)
            segment = island.stop

    def _island(self, first: int, shift: int, budget: int) -> tuple[Island | None, int]:
        """The island starting at old segment ``first``: read its new events one by one
        until one of them is an old event with unchanged bytes (where the walk goes on)."""
        start = self.offsets[first] + shift
        stream = _Stream(self.view, start, self.tail_start)
        parser = yaml.CSafeLoader(stream)
        items, line, at, pending = 0, 0, start, None  # ``pending``: the item's start
        try:
            for event, depth, key in _items(parser):
                if isinstance(event, yaml.AliasEvent):
                    return None, shift
                if depth == 2 and key is None:  # an item of the events list starts
                    while line < event.start_mark.line - 1:
                        at = self.raw.find(b"\n", at, self.tail_start) + 1
                        line += 1
                        if at == 0:
                            return None, shift
                    end = at + event.start_mark.column
                    lead = _item_lead(self.raw).fullmatch(self.raw, at, end)
                    if lead is None or len(lead.group(1)) != self.spans.column:
                        return None, shift
                    if items == 0 and at != start:
                        raise _Widen
                    items, pending = items + 1, at
                    if items > budget:
                        return None, shift
                elif depth == 3 and key == "id" and isinstance(event, yaml.ScalarEvent):
                    old = self.by_id.get(event.value, 0)
                    # not the island's own first event (read again with the lines after it)
                    later = old > first or (old == first and pending != start)
                    if later and self.same(old, pending - self.offsets[old]):
                        island = Island(first, old, start, pending, items - 1)
                        return island, pending - self.offsets[old]
        except yaml.YAMLError:
            return None, shift
        finally:
            parser.dispose()
        if items == 0 and start != self.tail_start:
            raise _Widen  # comments or blank lines after the last event are part of it
        count = len(self.spans.lengths)
        island = Island(first, count - 1, start, self.tail_start, items)
        return island, self.tail_start - self.offsets[count - 1]


class _Stream:
    """A stretch of the file, read by the parser piece by piece, after ``events:``."""

    def __init__(self, view: memoryview, start: int, end: int):
        self.view, self.at, self.end, self.head = view, start, end, _REGION_HEAD

    def read(self, size: int = -1) -> bytes:
        if self.head:
            out, self.head = self.head, b""
            return out
        size = self.end - self.at if size < 0 else min(size, self.end - self.at)
        out = bytes(self.view[self.at : self.at + size])
        self.at += size
        return out


@dataclass
class _Frame:
    mapping: bool
    key: str | None = None  # in a mapping: the key whose value comes next
    want_key: bool = True


def _items(parser) -> Iterator[tuple[yaml.Event, int, str | None]]:
    """The parser's node events that are values or list items, with their depth and,
    in a mapping, their key: depth 2 is the events list's items, 3 their fields."""
    stack: list[_Frame] = []
    while parser.check_event():
        event = parser.get_event()
        if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            stack.pop()
            continue
        if not isinstance(event, yaml.NodeEvent):
            continue  # stream and document markers
        frame = stack[-1] if stack else None
        if frame and frame.mapping and frame.want_key:
            frame.key = event.value if isinstance(event, yaml.ScalarEvent) else None
            frame.want_key = False
        else:
            yield event, len(stack), frame.key if frame else None
            if frame and frame.mapping:
                frame.key, frame.want_key = None, True
        if isinstance(event, yaml.CollectionStartEvent):
            stack.append(_Frame(isinstance(event, yaml.MappingStartEvent)))


@dataclass(frozen=True)
class Reparsed:
    """The events of changed stretches, parsed on their own, and their segments."""

    doc: Document
    items: list
    spans: Spans | None  # None when there is no event


class NotAList(Exception):
    """The stretch is not a list of events at the file's indentation on its own."""


def reparse(region_bytes: bytes, column: int, path) -> Reparsed:
    """Parse a stretch of whole events alone, as the value of the events key.

    Raises NotAList when it does not start with an event at the events' indentation,
    or holds anything but that list; LoadError when it is not valid YAML by itself (the
    full build then says where).
    """
    raw = _REGION_HEAD + region_bytes
    doc = load_text(decode(raw), path)
    if not isinstance(doc.data, dict) or list(doc.data) != ["events"]:
        raise NotAList("the stretch is not part of the events list")
    items = doc.data["events"]
    if items is None:
        if region_bytes.strip():
            raise NotAList("the stretch holds no event, only comments or blank lines")
        return Reparsed(doc, [], None)
    spans = record_spans(doc, raw)
    if spans is None or spans.column != column or spans.lengths[0] != len(_REGION_HEAD):
        raise NotAList("the stretch does not start with an event at the events' indentation")
    return Reparsed(doc, items, spans)


def read_events(spans: Spans, raw: bytes, path, ids: set[str]) -> list:
    """The events of ``spans`` with these ids, read again from ``raw`` (the spans' file);
    ValueError when they do not read as those events."""
    if not ids:
        return []
    offsets = spans.offsets()
    fragment = b"".join(raw[offsets[n + 1] : offsets[n + 2]]
                        for n, event_id in enumerate(spans.ids) if event_id in ids)  # fmt: skip
    try:
        items = reparse(fragment, spans.column, path).items
    except (NotAList, LoadError) as exc:
        raise ValueError(str(exc)) from None
    if {e.get("id") for e in items if isinstance(e, dict)} != ids or len(items) != len(ids):
        raise ValueError("not the events asked for")
    return items


# A change this large is rebuilt in full: as fast then, and simpler.
MAX_CHANGED_SHARE = 10  # percent of the events


def most_reread(spans: Spans) -> int:
    """How many events a partial build reads again at most (more: a full build)."""
    return max(1_000, len(spans.ids) * MAX_CHANGED_SHARE // 100)


def changed_events(spans: Spans, raw: bytes, path, *, head_too: bool = False) -> Changes | None:
    """What changed between the spans' file and ``raw``, parsed, or None when a full build
    is needed (the tail changed; the head changed and ``head_too`` is not given, or
    ``changed_head`` cannot read its changes; a changed stretch is not a list of events
    at the events' indentation on its own, an alias, or too many events changed).

    The walk goes through the segments: an unchanged one is at its old offset shifted by
    what the islands before it added or removed. At a changed one an island starts; its
    new events are read one by one (the parser's events, lazily) until one is an old
    event whose bytes are unchanged: the walk goes on from there. An island that starts
    with comments or blank lines starts one event earlier, since they belong to the
    event before.
    """
    walk, head = _Walk(spans, raw, most_reread(spans)), None
    if not walk.same(0, 0):
        head = changed_head(spans, raw) if head_too else None
        if head is None:
            return None
    islands = walk.islands(head.length if head else spans.lengths[0])
    if islands is None:
        return None
    fragment = b"".join(raw[x.start : x.end] for x in islands)
    try:
        reparsed = reparse(fragment, spans.column, path)
    except (NotAList, LoadError):
        return None
    if len(reparsed.items) != sum(x.items for x in islands):
        return None
    return Changes(tuple(islands), reparsed, head)
