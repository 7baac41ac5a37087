"""Where each event sits in ``events.yaml``, so that a rebuild can tell which events changed.

A full build records the file as consecutive segments, from the YAML parser's marks:
the head (everything before the first event), one segment per event (from the line of
its ``-`` to the line of the next event's), and the tail (after the last event). Each
segment is kept as its length in bytes and a digest, beside the event ids.

The next build compares the new file with those segments from both ends: segments
whose bytes are unchanged at their old offsets (from the start) or at offsets shifted
by the change in length (from the end) are unchanged events. What is left in the
middle, a whole number of lines that starts where an event started, is re-parsed on
its own, and only its events are checked and written again (``timeline.update``).

Re-parsing the middle alone reads it as the whole file would. The bytes before it are
the same as last time, so the parser reaches it in the same state: between two items of
the events list, at the start of an item's line. After it come unchanged bytes that
start an item at the same indentation (or the tail), which ends whatever the middle's
last item holds. So the region parses to a list of items by itself exactly when it does
inside the file; anything else (a region that is not a list of items at the events'
indentation, an alias, a change outside the events) leaves the update to a full build.

Example::

    spans = record_spans(document, raw)        # after a full build's parse
    region = changed_region(spans, new_raw)    # None: rebuild in full
"""

from __future__ import annotations

import codecs
import hashlib
import itertools
import re
from array import array
from dataclasses import dataclass

import yaml

from .load import Document, LoadError, decode, load_text

DIGEST_SIZE = 16
BOM_BYTES = codecs.BOM_UTF8
# What may stand on an event's line before the event itself: indentation and the dash.
_ITEM_LEAD = re.compile(r"( *)- +")
# The isolated region is parsed as the value of this one key.
_REGION_HEAD = b"events:\n"


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

    def pack(self) -> dict[str, bytes]:
        """The spans as a few blobs, for the database."""
        return {
            "lengths": array("q", self.lengths).tobytes(),
            "digests": b"".join(self.digests),
            "ids": "\n".join(self.ids).encode(),
            "column": str(self.column).encode(),
        }

    @classmethod
    def unpack(cls, parts: dict[str, bytes]) -> Spans:
        lengths = array("q")
        lengths.frombytes(parts["lengths"])
        blob = parts["digests"]
        digests = tuple(blob[i : i + DIGEST_SIZE] for i in range(0, len(blob), DIGEST_SIZE))
        ids = tuple(parts["ids"].decode().split("\n")) if parts["ids"] else ()
        spans = cls(tuple(lengths), digests, ids, int(parts["column"]))
        if not len(spans.lengths) == len(spans.digests) == len(spans.ids) + 2:
            raise ValueError("inconsistent spans")
        return spans

    def offsets(self) -> list[int]:
        """Each segment's first byte, and the file's length last."""
        out = [0]
        for length in self.lengths:
            out.append(out[-1] + length)
        return out


def digest(data: bytes | memoryview) -> bytes:
    """A segment's digest: SHA-256 (hardware-assisted here, twice BLAKE2b's speed), cut."""
    return hashlib.sha256(data).digest()[:DIGEST_SIZE]


def record_spans(doc: Document, raw: bytes) -> Spans | None:
    """The segments of a parsed file, or None when its layout does not allow partial
    rebuilds (events not a block list of items each starting on its dash's line, or
    aliases, which can tie one event to another)."""
    events = _events_node(doc)
    if events is None or doc.aliased:
        return None
    text = decode(raw)
    starts: list[int] = []  # character offset of each event's line
    column = None
    for item in events.value:
        mark = item.start_mark
        line_start = mark.index - mark.column
        lead = _ITEM_LEAD.fullmatch(text, line_start, mark.index)
        if lead is None or column not in (None, len(lead.group(1))):
            return None
        column = len(lead.group(1))
        starts.append(line_start)
    if column is None:
        return None
    bounds = [0, *starts, _events_end(doc, text)]
    if len(text) > bounds[-1]:
        bounds.append(len(text))
    else:
        bounds.append(bounds[-1])  # an empty tail
    lengths = _byte_lengths(text, bounds)
    if raw.startswith(BOM_BYTES):
        lengths[0] += len(BOM_BYTES)
    if sum(lengths) != len(raw):
        return None
    view = memoryview(raw)
    digests, at = [], 0
    for length in lengths:
        digests.append(digest(view[at : at + length]))
        at += length
    ids = tuple(item.get("id") if isinstance(item, dict) else None for item in doc.data["events"])
    if not all(isinstance(i, str) and "\n" not in i for i in ids):
        return None
    return Spans(tuple(lengths), tuple(digests), ids, column)


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


def _byte_lengths(text: str, bounds: list[int]) -> list[int]:
    """The UTF-8 length of each stretch of ``text`` between consecutive ``bounds``."""
    if text.isascii():
        return [b - a for a, b in itertools.pairwise(bounds)]
    return [len(text[a:b].encode()) for a, b in itertools.pairwise(bounds)]


@dataclass(frozen=True)
class Region:
    """The changed middle of a file: old segments ``first`` to ``stop`` (exclusive, both
    segment numbers of events) were replaced by the new bytes ``start`` to ``end``."""

    first: int
    stop: int
    start: int
    end: int


def changed_region(spans: Spans, raw: bytes) -> Region | None:
    """The events that differ between the spans' file and ``raw``, or None when the head
    or the tail changed (a full build is needed)."""
    offsets = spans.offsets()
    count = len(spans.lengths)  # head + events + tail
    shift = len(raw) - offsets[-1]
    view = memoryview(raw)

    def same(segment: int, moved: int) -> bool:
        start, end = offsets[segment] + moved, offsets[segment + 1] + moved
        inside = start >= 0 and end <= len(raw)
        return inside and digest(view[start:end]) == spans.digests[segment]

    if not same(0, 0) or not same(count - 1, shift):
        return None
    first = 1
    while first < count - 1 and same(first, 0):
        first += 1
    stop = count - 1
    # the unchanged end may not reach back into the unchanged start
    while stop > first and offsets[stop - 1] + shift >= offsets[first] and same(stop - 1, shift):
        stop -= 1
    start, end = offsets[first], offsets[stop] + shift
    if end < start:
        return None
    return Region(first, stop, start, end)


def widened(region: Region, spans: Spans) -> Region | None:
    """The region with the event before it included (None when there is none): a region
    that starts with comments or blank lines, not an event, belongs to the event before."""
    if region.first <= 1:
        return None
    previous = spans.lengths[region.first - 1]
    return Region(region.first - 1, region.stop, region.start - previous, region.end)


@dataclass(frozen=True)
class Reparsed:
    """The events of a changed region: the parsed items and their segments."""

    doc: Document
    items: list
    spans: Spans | None  # None when the region holds no event


class NotAList(Exception):
    """The region is not a list of events at the file's indentation on its own."""


def reparse(region_bytes: bytes, column: int, path) -> Reparsed:
    """Parse a region alone, as the value of the events key.

    Raises NotAList when the region does not start with an event at the events'
    indentation, or holds anything but that list; LoadError when it is not valid YAML
    by itself (the full build then says where).
    """
    raw = _REGION_HEAD + region_bytes
    doc = load_text(decode(raw), path)
    if not isinstance(doc.data, dict) or list(doc.data) != ["events"]:
        raise NotAList("the region is not part of the events list")
    items = doc.data["events"]
    if items is None:
        if region_bytes.strip():
            raise NotAList("the region holds no event, only comments or blank lines")
        return Reparsed(doc, [], None)
    spans = record_spans(doc, raw)
    if spans is None or spans.column != column or spans.lengths[0] != len(_REGION_HEAD):
        raise NotAList("the region does not start with an event at the events' indentation")
    return Reparsed(doc, items, spans)


__all__ = ["LoadError", "NotAList", "Region", "Reparsed", "Spans", "changed_region", "reparse"]
